//! Indicator exchange under sharing agreements: TLP 2.0, data categories, and the agreement
//! records (bilateral or community) that every exit of shared data is checked against.

use crate::domain::string_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

string_enum! {
    /// FIRST Traffic Light Protocol 2.0, least to most restrictive. CLEAR: anyone; GREEN: the
    /// community; AMBER: the recipient organisation and its clients, need-to-know;
    /// AMBER+STRICT: the recipient organisation only; RED: named recipient persons only.
    Tlp {
        Clear = "clear",
        Green = "green",
        Amber = "amber",
        AmberStrict = "amber+strict",
        Red = "red",
    }
}

impl Tlp {
    /// 0 (CLEAR) to 4 (RED): a marking is within a ceiling when its rank is not above it.
    pub fn rank(self) -> u8 {
        match self {
            Tlp::Clear => 0,
            Tlp::Green => 1,
            Tlp::Amber => 2,
            Tlp::AmberStrict => 3,
            Tlp::Red => 4,
        }
    }

    /// Whether a marking at this level may pass an agreement whose ceiling is `ceiling`.
    pub fn within(self, ceiling: Tlp) -> bool {
        self.rank() <= ceiling.rank()
    }

    /// The id of the OASIS TLP 2.0 marking definition (STIX 2.1 `object_marking_refs`).
    pub fn marking_definition_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// The level of an OASIS TLP 2.0 marking definition id.
    pub fn from_marking_definition_id(id: &str) -> Option<Tlp> {
        Tlp::ALL
            .iter()
            .copied()
            .find(|t| t.marking_definition_id() == id)
    }

    /// The label TLP 2.0 prescribes, e.g. `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }
}

string_enum! {
    /// What kind of information an object is; an agreement lists the categories it allows.
    /// Derived from the STIX type, never chosen by the sender.
    DataCategory {
        /// Indicators and the observables their patterns name.
        Indicators = "indicators",
        /// Malware and attack patterns: what the adversary uses and how.
        ThreatContext = "threat-context",
        /// Vulnerabilities (details of an exploited one may be withheld: a separate category).
        Vulnerabilities = "vulnerabilities",
        /// Sightings reported back to the owner.
        Sightings = "sightings",
        /// Reports and groupings that tie objects to an incident, and relationships.
        Reports = "reports",
    }
}

impl DataCategory {
    /// The category of a STIX 2.1 object type; None for a type the hub does not exchange.
    pub fn of_stix_type(stix_type: &str) -> Option<DataCategory> {
        Some(match stix_type {
            "indicator" | "ipv4-addr" | "ipv6-addr" | "domain-name" | "url" | "file"
            | "email-addr" => DataCategory::Indicators,
            "malware" | "attack-pattern" => DataCategory::ThreatContext,
            "vulnerability" => DataCategory::Vulnerabilities,
            "sighting" => DataCategory::Sightings,
            "report" | "grouping" | "relationship" => DataCategory::Reports,
            _ => return None,
        })
    }
}

string_enum! {
    /// Two parties, or a community (an ISAC and its members).
    AgreementKind { Bilateral = "bilateral", Community = "community" }
}

string_enum! {
    /// A party's role in an agreement. A community has exactly one coordinator; onward
    /// sharing "to clients" follows provider -> customer.
    PartyRole {
        Provider = "provider",
        Customer = "customer",
        Member = "member",
        Coordinator = "coordinator",
    }
}

string_enum! {
    /// Where an agreement stands. `proposed` until every party's admin accepted; `expired`
    /// is never stored: an active agreement past its `effective_until` reads as expired.
    AgreementState {
        Proposed = "proposed",
        Active = "active",
        Suspended = "suspended",
        Terminated = "terminated",
        Expired = "expired",
    }
}

string_enum! {
    /// What a recipient may do with what it received: keep it (`none`), pass it to its own
    /// clients (`clients`), or to the communities it is a party to (`community`). TLP limits
    /// this further: AMBER only to clients, AMBER+STRICT and RED never.
    OnwardSharing { None = "none", Clients = "clients", Community = "community" }
}

string_enum! {
    /// Whether recipients see who shared an object, or a pseudonym stable per agreement.
    Attribution { Named = "named", Pseudonymous = "pseudonymous" }
}

/// A party in proposed terms: an organisation (by slug) and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PartyInput {
    /// The organisation's slug.
    pub organisation: String,
    pub role: PartyRole,
}

/// `POST /api/v1/agreements` (admin): proposes an agreement; the proposer's organisation must
/// be among the parties, and accepts by proposing. Also the body of an amendment
/// (`PUT /api/v1/agreements/{id}/terms`), which every party accepts again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AgreementTermsInput {
    pub kind: AgreementKind,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub title: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub purpose: String,
    /// Exactly two for a bilateral agreement; up to 500 for a community, one coordinator.
    #[cfg_attr(feature = "openapi", schema(min_items = 2, max_items = 500))]
    pub parties: Vec<PartyInput>,
    /// When it starts applying once in force (default: at once).
    pub effective_from: Option<DateTime<Utc>>,
    /// When it ends by itself (absent: until terminated).
    pub effective_until: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub categories: Vec<DataCategory>,
    pub tlp_ceiling: Tlp,
    pub onward: OnwardSharing,
    pub attribution: Attribution,
    /// How long a recipient keeps what it received.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub retention_days: i64,
}

/// A party as a reader of the agreement may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Party {
    pub organisation_id: String,
    pub organisation_slug: String,
    pub organisation_name: String,
    pub role: PartyRole,
    /// When this party's admin accepted the version these terms belong to.
    pub accepted_at: Option<DateTime<Utc>>,
}

/// The terms of one version of an agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AgreementTerms {
    pub version: i32,
    pub kind: AgreementKind,
    pub title: String,
    pub purpose: String,
    /// The parties the reader may see: every party of a bilateral agreement; in a community,
    /// all members when attribution is named, otherwise the coordinator and the reader.
    pub parties: Vec<Party>,
    /// How many parties there are, including those not listed.
    pub party_count: i64,
    pub effective_from: DateTime<Utc>,
    pub effective_until: Option<DateTime<Utc>>,
    pub categories: Vec<DataCategory>,
    pub tlp_ceiling: Tlp,
    pub onward: OnwardSharing,
    pub attribution: Attribution,
    pub retention_days: i64,
    /// SHA-256 of the canonical (RFC 8785) form of these terms as stored.
    pub hash: String,
}

/// A sharing agreement as one of its parties sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Agreement {
    pub id: String,
    pub state: AgreementState,
    /// The reader's own role.
    pub my_role: PartyRole,
    /// The terms in force (absent until every party accepted a first version).
    pub in_force: Option<AgreementTerms>,
    /// A version waiting for acceptance: the first proposal, or an amendment (the terms in
    /// force stay in force until every party accepted it).
    pub pending: Option<AgreementTerms>,
    /// The organisation that suspended it, when suspended.
    pub suspended_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/agreements/{id}/accept`: accepts the pending version named (so an admin
/// never accepts terms that changed after they read them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AcceptAgreement {
    pub version: i32,
}

/// The body of suspend, resume, terminate and decline: why, for the audit log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AgreementAction {
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub reason: String,
}

/// `POST /api/v1/stix-objects`: a STIX 2.1 object of the caller's organisation (a new one,
/// or a new version: same id, later `modified`), and the agreements to share it under.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PutStixObject {
    /// The STIX 2.1 object: indicator, malware, attack-pattern, vulnerability, sighting,
    /// relationship, report, grouping, or an observable (ipv4-addr, ipv6-addr, domain-name,
    /// url, file, email-addr), marked with one TLP 2.0 marking definition.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub object: serde_json::Value,
    /// Ids of agreements in force the organisation is a party to; added to those the object
    /// is already shared under.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub share_under: Vec<String>,
    /// TLP:RED only: the e-mail addresses of the persons it may reach (a RED object reaches
    /// named persons only, through channels of their own: their API reads and lookups, never
    /// a TAXII collection, an export or the organisation-wide stream). Replaces the list;
    /// omit it to keep the list as it is.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub named_recipients: Option<Vec<String>>,
}

/// `POST /api/v1/stix-objects/{key}/shares`: share an object under one more agreement.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ShareObject {
    pub agreement_id: String,
}

/// A STIX object as a reader may see it: its newest version the reader may see, with the
/// facts the hub keeps about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StixObject {
    /// The hub's key of the object (STIX ids are unique per owner, not across owners).
    pub key: String,
    /// The STIX id.
    pub id: String,
    pub stix_type: String,
    pub category: DataCategory,
    pub tlp: Tlp,
    /// Whether the reader's organisation owns it.
    pub own: bool,
    /// The owner's organisation slug, when the owner is named to the reader.
    pub owner: Option<String>,
    /// The hub's version number (1, 2, ...) and the STIX `modified` it carries.
    pub version: i32,
    pub modified: Option<String>,
    pub revoked: bool,
    /// SHA-256 of the stored canonical (RFC 8785) form of this version.
    pub hash: String,
    /// The owner sees every agreement it shares the object under; a recipient the one it
    /// received it by.
    pub agreements: Vec<String>,
    /// TLP:RED: the persons the owner named as its recipients (shown to the owner only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named_recipients: Vec<String>,
    /// A recipient: the agreements of its own it passes the object on under.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_on_under: Vec<String>,
    pub added_at: DateTime<Utc>,
    /// The STIX object itself (for a pseudonymous source, `created_by_ref` is the
    /// agreement's pseudonym of the owner).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub object: serde_json::Value,
}

/// One version of an object, as listed by `GET /api/v1/stix-objects/{key}/versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StixVersion {
    pub version: i32,
    pub modified: Option<String>,
    pub revoked: bool,
    pub hash: String,
    pub added_at: DateTime<Utc>,
}

/// One disclosure of a STIX object version: to whom (for its owner), under which agreement,
/// through which channel, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Receipt {
    pub object_key: String,
    pub stix_id: String,
    pub version: i32,
    pub hash: String,
    /// The recipient organisation's slug (in the owner's listing only).
    pub recipient: Option<String>,
    pub agreement_id: String,
    pub agreement_version: i32,
    pub channel: crate::Channel,
    pub at: DateTime<Utc>,
}

/// `POST /api/v1/lookup`: up to 1,000 values of any kind (IP address or network, domain,
/// URL, e-mail address, MD5/SHA-1/SHA-256/SHA-512 hash), defanged or not.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LookupRequest {
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub values: Vec<String>,
}

/// The answer for one looked-up value: what it was read as, and every object the caller
/// may see whose values match it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LookupAnswer {
    /// The value as asked.
    pub value: String,
    pub kind: Option<ValueKind>,
    /// The value refanged and normalised.
    pub normalised: Option<String>,
    /// Why the value could not be read (the other values of a batch are still answered).
    pub error: Option<String>,
    pub matches: Vec<LookupMatch>,
}

/// One object matching a looked-up value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LookupMatch {
    /// The hub's key of the object and its STIX id and type.
    pub key: String,
    pub id: String,
    pub stix_type: String,
    /// The indexed value that matched: the value itself, a network holding the address, a
    /// parent domain, an address inside the network, or the host of a URL.
    pub matched_kind: ValueKind,
    pub matched: String,
    pub own: bool,
    /// The source's organisation slug when the agreement names it.
    pub source: Option<String>,
    /// The source as the object shows it: the owner's STIX identity, or the agreement's
    /// pseudonym of it.
    pub source_identity: String,
    /// The agreement the object reached the caller under (none for its own).
    pub agreement_id: Option<String>,
    pub tlp: Tlp,
    pub confidence: Option<i64>,
    pub revoked: bool,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    /// When the hub first held the object, or the earliest sighting, whichever is first.
    pub first_seen: DateTime<Utc>,
    /// The newest version or the latest sighting, whichever is later.
    pub last_seen: DateTime<Utc>,
    /// Sightings reported to the owner (their counts summed).
    pub sightings: i64,
    pub version: i32,
    pub hash: String,
}

/// `POST /api/v1/stix-objects/{key}/sightings`: a recipient reports seeing an object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ReportSighting {
    /// How many times it was seen (default 1).
    #[serde(default = "one")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000000000))]
    pub count: i32,
    /// First and last time seen (default: now).
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub note: String,
}

fn one() -> i32 {
    1
}

/// A sighting as a reader may see it: the owner sees every one, attributed as the agreement
/// allows; a reporter its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Sighting {
    pub id: String,
    pub object_key: String,
    /// The reporter's slug when the agreement names sources, otherwise none.
    pub reporter: Option<String>,
    /// The reporter's STIX identity, or the agreement's pseudonym of it.
    pub reporter_identity: String,
    pub agreement_id: String,
    pub count: i32,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub note: String,
    pub reported_at: DateTime<Utc>,
}

string_enum! {
    /// Where an import stands.
    ImportState {
        /// The file is being received.
        Uploading = "uploading",
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

/// One record an import refused: where it is in the file and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportError {
    /// e.g. `line 12`, `objects[3]`, `Event.Attribute[17]`.
    pub position: String,
    pub reason: String,
}

/// The counts of an import, as it goes and when it is done.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ImportCounts {
    /// Records read from the file.
    pub read: u64,
    /// New objects stored.
    pub created: u64,
    /// New versions of objects already held.
    pub updated: u64,
    /// Versions already held (same id and content): nothing written.
    pub unchanged: u64,
    /// New objects whose values the organisation already holds in another object.
    pub duplicates: u64,
    /// Records refused (each listed in `errors`, up to the first 1,000).
    pub rejected: u64,
    /// Bytes of the file read so far, and its size when known.
    pub bytes_read: u64,
    pub bytes_total: Option<u64>,
}

/// An import of a file of indicators (STIX bundle, MISP event, CSV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Import {
    pub id: String,
    pub state: ImportState,
    pub format: String,
    pub file_name: Option<String>,
    pub tlp: Tlp,
    pub share_under: Vec<String>,
    pub counts: ImportCounts,
    /// Why a failed import stopped (the records stored before it stand).
    pub failure: Option<String>,
    pub errors: Vec<ImportError>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A STIX object version announced on the stream: shared with the receiver, or revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IndicatorNotice {
    pub key: String,
    pub stix_id: String,
    pub stix_type: String,
    pub tlp: Tlp,
    pub version: i32,
    pub revoked: bool,
    /// SHA-256 of the stored version announced.
    pub hash: String,
    /// Set on an `indicator.revoked` notice that withdraws the object from the receiver
    /// because the agreement it reached the receiver under stopped covering it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
}

string_enum! {
    /// Why an agreement stopped covering objects shared under it.
    WithdrawalCause {
        Suspended = "suspended",
        Terminated = "terminated",
        Expired = "expired",
        Amended = "amended",
        /// It was passed on to the receiver, and the terms it reached the one who passed it
        /// on under stopped letting it go on.
        Upstream = "upstream",
    }
}

/// An object withdrawn from a receiver: the agreement (as the receiver knows it, being a
/// party) and why it no longer covers the object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Withdrawal {
    pub agreement_id: String,
    pub cause: WithdrawalCause,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_order_and_marking_ids_round_trip() {
        for (i, t) in Tlp::ALL.iter().enumerate() {
            assert_eq!(t.rank() as usize, i);
            assert_eq!(
                Tlp::from_marking_definition_id(t.marking_definition_id()),
                Some(*t)
            );
        }
        assert!(Tlp::Amber.within(Tlp::AmberStrict));
        assert!(!Tlp::Red.within(Tlp::AmberStrict));
        assert_eq!("amber+strict".parse::<Tlp>(), Ok(Tlp::AmberStrict));
    }

    #[test]
    fn categories_come_from_the_stix_type() {
        assert_eq!(
            DataCategory::of_stix_type("indicator"),
            Some(DataCategory::Indicators)
        );
        assert_eq!(
            DataCategory::of_stix_type("sighting"),
            Some(DataCategory::Sightings)
        );
        assert_eq!(DataCategory::of_stix_type("x-custom"), None);
    }
}

string_enum! {
    /// The kind of an observable value the hub indexes for lookups.
    ValueKind {
        Ipv4 = "ipv4",
        Ipv6 = "ipv6",
        Domain = "domain",
        Url = "url",
        Email = "email",
        Md5 = "md5",
        Sha1 = "sha1",
        Sha256 = "sha256",
        Sha512 = "sha512",
    }
}

impl ValueKind {
    /// The STIX object path a pattern compares for this kind.
    pub fn stix_path(self) -> &'static str {
        match self {
            ValueKind::Ipv4 => "ipv4-addr:value",
            ValueKind::Ipv6 => "ipv6-addr:value",
            ValueKind::Domain => "domain-name:value",
            ValueKind::Url => "url:value",
            ValueKind::Email => "email-addr:value",
            ValueKind::Md5 => "file:hashes.MD5",
            ValueKind::Sha1 => "file:hashes.'SHA-1'",
            ValueKind::Sha256 => "file:hashes.'SHA-256'",
            ValueKind::Sha512 => "file:hashes.'SHA-512'",
        }
    }

    /// A STIX pattern that matches one value of this kind (a network by `ISSUBSET`), the
    /// value quoted as STIX patterning requires.
    pub fn pattern(self, value: &str) -> String {
        let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
        let op = if matches!(self, ValueKind::Ipv4 | ValueKind::Ipv6) && value.contains('/') {
            "ISSUBSET"
        } else {
            "="
        };
        format!("[{} {op} '{quoted}']", self.stix_path())
    }
}
