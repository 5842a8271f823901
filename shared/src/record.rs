//! A party's own record of an incident, as the CSA framework asks it be kept: the 5W
//! intake, the contacts of every party (system owners, provider and customer contacts),
//! related incidents, planned next steps. Each party keeps its own on a shared incident; it
//! is versioned, and no other organisation sees it. Handler comments are its running notes.

use crate::domain::string_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The 5W intake taken when an incident is opened (each answer optional, at most 2,000
/// characters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Intake {
    /// What happened, as first reported.
    #[serde(default)]
    pub what: Option<String>,
    /// Where: systems, services, regions, sites.
    #[serde(default, rename = "where")]
    pub where_: Option<String>,
    /// When it started or was noticed.
    #[serde(default)]
    pub when: Option<String>,
    /// Who reported it, who is affected, who is acting.
    #[serde(default)]
    pub who: Option<String>,
    /// Why: suspected cause or motive.
    #[serde(default)]
    pub why: Option<String>,
}

string_enum! {
    /// What a contact is to the incident.
    ContactRole {
        /// Owns an affected system or business service.
        SystemOwner = "system_owner",
        /// The provider's contact for this incident.
        ProviderContact = "provider_contact",
        /// A customer's contact for this incident.
        CustomerContact = "customer_contact",
        /// Data protection officer.
        Dpo = "dpo",
        /// Legal counsel.
        Legal = "legal",
        Other = "other",
    }
}

/// A person to reach about the incident (need not have an account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub role: ContactRole,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Whom they work for (free text).
    #[serde(default)]
    pub organisation: Option<String>,
}

string_enum! {
    /// How another incident relates to this one.
    Relation {
        Related = "related",
        /// The same incident recorded twice.
        DuplicateOf = "duplicate_of",
        /// This incident was caused by the other.
        CausedBy = "caused_by",
        /// This incident follows up the other (the same root cause again).
        FollowUpOf = "follow_up_of",
    }
}

/// A link to another incident the party can see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RelatedIncident {
    pub incident_id: String,
    pub relation: Relation,
    /// Its title (filled in by the server).
    #[serde(default)]
    pub title: Option<String>,
}

/// A planned next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NextStep {
    pub text: String,
    /// Who does it (free text).
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub done: bool,
}

/// `PUT /api/v1/incidents/{id}/record`: the whole record; `version` is the one the edit
/// started from (absent for the first save), else 409.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    #[serde(default)]
    pub version: Option<i32>,
    #[serde(default)]
    pub intake: Intake,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub related: Vec<RelatedIncident>,
    #[serde(default)]
    pub next_steps: Vec<NextStep>,
}

/// `GET /api/v1/incidents/{id}/record`: the caller's organisation's record (version 0,
/// empty, before its first save).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentRecord {
    pub incident_id: String,
    pub organisation_id: String,
    pub version: i32,
    pub intake: Intake,
    pub contacts: Vec<Contact>,
    pub related: Vec<RelatedIncident>,
    pub next_steps: Vec<NextStep>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

/// A handler comment: the party's internal running note on the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Comment {
    pub id: String,
    pub incident_id: String,
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}
