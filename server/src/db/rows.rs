//! Row structs, one per table, in storage form (ids as text, times as epoch milliseconds).
//! Conversion to the API types of `cirhub_shared::api` happens in the services.

use super::schema::*;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = organisations)]
pub struct OrgRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub is_provider: bool,
    pub is_customer: bool,
    pub priority_policy: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub refresh_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    pub id: String,
    pub organisation_id: String,
    pub created_by: Option<String>,
    pub name: String,
    pub role: String,
    pub prefix: String,
    pub secret_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = regions)]
pub struct RegionRow {
    pub id: String,
    pub provider_id: String,
    pub code: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = services)]
pub struct ServiceRow {
    pub id: String,
    pub provider_id: String,
    pub name: String,
    pub description: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = component_groups)]
pub struct GroupRow {
    pub id: String,
    pub provider_id: String,
    pub name: String,
    pub position: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = components, treat_none_as_null = true)]
pub struct ComponentRow {
    pub id: String,
    pub provider_id: String,
    pub service_id: String,
    pub region_id: Option<String>,
    pub group_id: Option<String>,
    pub name: String,
    pub description: String,
    pub status: String,
    pub position: i32,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = component_status_events)]
pub struct StatusEventRow {
    pub id: String,
    pub component_id: String,
    pub status: String,
    pub at: i64,
    pub incident_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = incidents, treat_none_as_null = true)]
pub struct IncidentRow {
    pub id: String,
    pub provider_id: String,
    pub kind: String,
    pub title: String,
    pub status: String,
    pub impact: String,
    pub urgency: String,
    pub priority: String,
    pub category: String,
    pub visibility: String,
    pub version: i32,
    pub occurred_at: Option<i64>,
    pub detected_at: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub contained_at: Option<i64>,
    pub recovered_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub monitoring_at: Option<i64>,
    pub scheduled_for: Option<i64>,
    pub scheduled_until: Option<i64>,
    pub response_due_at: Option<i64>,
    pub resolution_due_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub layer: String,
    pub exercise: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = incident_updates)]
pub struct UpdateRow {
    pub id: String,
    pub incident_id: String,
    pub status: String,
    pub body: String,
    pub author_id: Option<String>,
    pub author_name: String,
    pub component_changes: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub object_version: Option<i32>,
    pub object_hash: Option<String>,
    pub channel: Option<String>,
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = relationships, treat_none_as_null = true)]
pub struct RelationshipRow {
    pub id: String,
    pub provider_id: String,
    pub customer_id: String,
    pub service_model: String,
    pub status: String,
    pub invited_by: Option<String>,
    pub accepted_by: Option<String>,
    pub invited_at: i64,
    pub accepted_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub version: i32,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = agreements, treat_none_as_null = true)]
pub struct AgreementRow {
    pub id: String,
    pub kind: String,
    pub state: String,
    pub in_force_version: Option<i32>,
    pub pending_version: Option<i32>,
    pub latest_version: i32,
    pub effective_from: Option<i64>,
    pub effective_until: Option<i64>,
    pub suspended_by: Option<String>,
    pub proposed_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = agreement_parties)]
pub struct AgreementPartyRow {
    pub agreement_id: String,
    pub version: i32,
    pub organisation_id: String,
    pub role: String,
    pub accepted_at: Option<i64>,
    pub accepted_by: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = imports)]
pub struct ImportRow {
    pub id: String,
    pub organisation_id: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub state: String,
    pub format: String,
    pub file_name: Option<String>,
    pub tlp: String,
    pub share_under: String,
    pub counts: String,
    pub errors: String,
    pub failure: Option<String>,
    pub bytes_total: i64,
    pub heartbeat_at: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = stix_objects, treat_none_as_null = true, primary_key(key))]
pub struct StixObjectRow {
    pub key: String,
    pub stix_id: String,
    pub owner_id: String,
    pub stix_type: String,
    pub category: String,
    pub tlp: String,
    pub version: i32,
    pub modified: Option<String>,
    pub revoked: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// TLP:RED only: the persons it may reach (JSON array of lower-case e-mail addresses).
    pub named_recipients: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = resource_mappings)]
pub struct MappingRow {
    pub id: String,
    pub customer_id: String,
    pub name: String,
    pub component_id: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = incident_notes)]
pub struct NoteRow {
    pub id: String,
    pub incident_id: String,
    pub customer_id: String,
    pub author_id: Option<String>,
    pub author_name: String,
    pub body: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = incident_acks)]
pub struct AckRow {
    pub incident_id: String,
    pub customer_id: String,
    pub user_id: Option<String>,
    pub user_name: String,
    pub incident_version: i32,
    pub acknowledged_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = feed_tokens)]
pub struct FeedTokenRow {
    pub id: String,
    pub customer_id: String,
    pub created_by: Option<String>,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = subscriptions, treat_none_as_null = true)]
pub struct SubscriptionRow {
    pub id: String,
    pub organisation_id: String,
    pub user_id: Option<String>,
    pub role: Option<String>,
    pub name: String,
    pub provider_ids: String,
    pub service_ids: String,
    pub region_ids: String,
    pub min_priority: String,
    pub channels: String,
    pub mode: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub provider_id: String,
    pub object_type: String,
    pub object_id: String,
    pub object_version: Option<i32>,
    pub provider_only: bool,
    pub audience: String,
    pub payload: String,
    /// Hash of the stored version the event announces (versioned records only).
    pub object_hash: Option<String>,
}

/// An outbox mail's content: what it says, to whom, and which stored record it discloses.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct MailContent {
    pub message_id: String,
    pub organisation_id: String,
    pub user_id: Option<String>,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub thread_id: Option<String>,
    pub unsubscribe_url: Option<String>,
    pub object_type: String,
    pub object_id: String,
    pub object_version: Option<i32>,
    pub object_hash: Option<String>,
}

/// An outbox row: the content, and where its delivery stands (written by its `mail.send`
/// job as it settles).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox)]
pub struct MailRow {
    pub id: String,
    #[diesel(embed)]
    pub mail: MailContent,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

impl MailRow {
    /// A mail queued at `now`, not yet attempted.
    pub fn pending(id: String, mail: MailContent, now: i64) -> MailRow {
        MailRow {
            id,
            mail,
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            claimed_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct InvitationRow {
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub role: String,
    pub token_hash: String,
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub user_id: Option<String>,
}

/// A row of the job table (`crate::jobs`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub key: String,
    pub payload: String,
    pub due_at: i64,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: Option<i32>,
    pub lease_until: Option<i64>,
    pub leased_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A new random id (UUID v7: time-ordered, so recent rows cluster in indexes).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Now, in storage form.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Parses a stored enum; a bad stored value is a server bug, not a client error.
pub fn parse_stored<T: std::str::FromStr<Err = String>>(
    value: &str,
    what: &str,
) -> Result<T, crate::error::AppError> {
    value.parse().map_err(|e| {
        crate::error::AppError::Internal(anyhow::anyhow!("stored {what} {value:?}: {e}"))
    })
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = disclosures)]
pub struct DisclosureRow {
    pub seq: i64,
    pub at: i64,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub object_type: String,
    pub object_id: String,
    pub object_version: Option<i32>,
    pub object_hash: Option<String>,
    pub channel: String,
    pub recipients: Option<String>,
    pub detail: Option<String>,
}

/// A journal row before the database numbers it. Absent values are NULL (not DEFAULT), so
/// many rows go in one multi-row INSERT on both backends.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = disclosures, treat_none_as_default_value = false)]
pub struct NewDisclosureRow {
    pub at: i64,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub object_type: String,
    pub object_id: String,
    pub object_version: Option<i32>,
    pub object_hash: Option<String>,
    pub channel: String,
    pub recipients: Option<String>,
    pub detail: Option<String>,
}

/// A lifecycle milestone changed after the fact, with who and why.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = milestone_edits)]
pub struct MilestoneEditRow {
    pub id: String,
    pub incident_id: String,
    pub incident_version: i32,
    pub milestone: String,
    pub old_at: Option<i64>,
    pub new_at: i64,
    pub reason: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub at: i64,
}
