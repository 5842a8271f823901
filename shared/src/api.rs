//! Request and response bodies of the `/api/v1` REST API.
//!
//! Ids are opaque strings (UUIDs) on the wire. Timestamps are UTC (see [`crate::time`]).

use crate::domain::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A page of a list. Every list endpoint takes `?page=` (from 1) and `?per_page=` (1..=100).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

// ---------------------------------------------------------------- auth

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Issued by login and refresh. The access token is a short-lived JWT; the refresh token is
/// opaque, single-use, and dies with the session on logout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub refresh_token: String,
    pub me: Me,
}

/// `POST /api/v1/auth/refresh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The caller: user (absent for API tokens) and organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Me {
    pub user: Option<User>,
    pub organisation: Organisation,
    /// Effective role of this credential.
    pub role: Role,
}

// ---------------------------------------------------------------- tenancy

/// A tenant. One organisation can act as provider, customer, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Organisation {
    pub id: String,
    /// URL name, e.g. the `{provider}` of `/status/{provider}`.
    pub slug: String,
    pub name: String,
    pub is_provider: bool,
    pub is_customer: bool,
    pub created_at: DateTime<Utc>,
}

/// A person who can log in. Belongs to exactly one organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct User {
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// The person's chosen IANA time zone (the console shows times in it; the browser's
    /// when unset).
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// `PATCH /api/v1/me`: the calling person's settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    /// IANA time zone (e.g. `Asia/Tokyo`); `null` for the browser's.
    pub time_zone: Option<String>,
}

/// A user created directly by an operator (`cirhub admin create-user`, the demo seed). Over
/// HTTP a person is added by an [`Invitation`] instead, which reveals nothing about accounts
/// elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateUser {
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 254, pattern = r"^\s*[^\s@]*@[^\s]*\s*$")
    )]
    pub email: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
    pub role: Role,
    /// At least 12 characters and at most 1024 bytes (the schema's 256 characters always fit).
    #[cfg_attr(feature = "openapi", schema(min_length = 12, max_length = 256))]
    pub password: String,
}

/// `PATCH /api/v1/users/{id}` (admin).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UpdateUser {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: Option<String>,
    pub role: Option<Role>,
    #[cfg_attr(feature = "openapi", schema(min_length = 12, max_length = 256))]
    pub password: Option<String>,
}

/// `POST /api/v1/invitations` (admin): invites an address to join the caller's organisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateInvitation {
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 254, pattern = r"^\s*[^\s@]*@[^\s]*\s*$")
    )]
    pub email: String,
    /// The role the person will have.
    pub role: Role,
}

/// An invitation to join an organisation, mailed to the address. The answer is the same
/// whether or not the address already has an account somewhere; only the person holding the
/// link learns, when accepting, that it cannot be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Invitation {
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub role: Role,
    /// The user who sent it (none when an operator did).
    pub invited_by: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The link works once, until this time.
    pub expires_at: DateTime<Utc>,
}

/// `POST /invitations/{token}` (form fields, as the page's form sends them): accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AcceptInvitation {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
    /// At least 12 characters and at most 1024 bytes.
    #[cfg_attr(feature = "openapi", schema(min_length = 12, max_length = 256))]
    pub password: String,
}

/// An API token for machines. The secret is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// First characters of the secret, to recognise it in lists.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/api-tokens`. The role may not exceed the creator's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateApiToken {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 100, pattern = r"\S")
    )]
    pub name: String,
    pub role: Role,
}

/// Answer to token creation: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedApiToken {
    pub token: ApiToken,
    pub secret: String,
}

// ---------------------------------------------------------------- catalogue

/// A region the provider operates in, e.g. `ap-northeast-1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Region {
    pub id: String,
    pub code: String,
    pub name: String,
}

/// `POST /api/v1/regions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateRegion {
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^\s*\S+\s*$",
            example = "ap-northeast-1"
        )
    )]
    pub code: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
}

/// A service the provider sells, e.g. Compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Service {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// `POST /api/v1/services`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateService {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: String,
}

/// A display group of components on the status page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ComponentGroup {
    pub id: String,
    pub name: String,
    pub position: i32,
}

/// `POST /api/v1/component-groups`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateComponentGroup {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
    #[serde(default)]
    pub position: i32,
}

/// A service as run in one region: the unit whose status is published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Component {
    pub id: String,
    pub name: String,
    pub description: String,
    pub service_id: String,
    pub region_id: Option<String>,
    pub group_id: Option<String>,
    pub status: ComponentStatus,
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/components`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateComponent {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: String,
    pub service_id: String,
    pub region_id: Option<String>,
    pub group_id: Option<String>,
    pub status: Option<ComponentStatus>,
    #[serde(default)]
    pub position: i32,
}

/// `PATCH /api/v1/components/{id}`: only the fields present change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UpdateComponent {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: Option<String>,
    pub group_id: Option<String>,
    pub status: Option<ComponentStatus>,
    pub position: Option<i32>,
}

/// A component and the status it should take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ComponentStatusChange {
    pub component_id: String,
    pub status: ComponentStatus,
}

/// A status change an incident update made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ComponentChange {
    pub component_id: String,
    pub name: String,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

// ---------------------------------------------------------------- priority policy

/// Per-provider priority policy: the impact x urgency matrix and the targets per priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PriorityPolicy {
    pub matrix: Vec<PriorityRule>,
    pub targets: Vec<PriorityTarget>,
}

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PriorityRule {
    pub impact: Impact,
    pub urgency: Urgency,
    pub priority: Priority,
}

/// Target response and resolution times of a priority; `None` means no target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PriorityTarget {
    pub priority: Priority,
    pub response_minutes: Option<u32>,
    pub resolution_minutes: Option<u32>,
}

impl PriorityPolicy {
    /// The defaults of the CSA CIR framework (figure 4): P1 5 min / 1 h; P2 15 min / 4 h;
    /// P3 15 min / 8 h; P4 15 min / 24 h; P5 no response needed.
    pub fn default_policy() -> Self {
        use Impact as I;
        use Priority as P;
        use Urgency as U;
        let cell = |impact, urgency, priority| PriorityRule {
            impact,
            urgency,
            priority,
        };
        let target = |priority, response_minutes, resolution_minutes| PriorityTarget {
            priority,
            response_minutes,
            resolution_minutes,
        };
        PriorityPolicy {
            matrix: vec![
                cell(I::Critical, U::High, P::P1),
                cell(I::Critical, U::Medium, P::P1),
                cell(I::Critical, U::Low, P::P2),
                cell(I::Major, U::High, P::P2),
                cell(I::Major, U::Medium, P::P2),
                cell(I::Major, U::Low, P::P3),
                cell(I::Minor, U::High, P::P3),
                cell(I::Minor, U::Medium, P::P4),
                cell(I::Minor, U::Low, P::P4),
                cell(I::None, U::High, P::P4),
                cell(I::None, U::Medium, P::P5),
                cell(I::None, U::Low, P::P5),
            ],
            targets: vec![
                target(P::P1, Some(5), Some(60)),
                target(P::P2, Some(15), Some(240)),
                target(P::P3, Some(15), Some(480)),
                target(P::P4, Some(15), Some(1440)),
                target(P::P5, None, None),
            ],
        }
    }

    /// Priority for an impact x urgency pair; P5 where the matrix has no cell.
    pub fn priority(&self, impact: Impact, urgency: Urgency) -> Priority {
        self.matrix
            .iter()
            .find(|r| r.impact == impact && r.urgency == urgency)
            .map(|r| r.priority)
            .unwrap_or(Priority::P5)
    }

    /// Targets of a priority.
    pub fn target(&self, priority: Priority) -> Option<&PriorityTarget> {
        self.targets.iter().find(|t| t.priority == priority)
    }
}

// ---------------------------------------------------------------- incidents

/// An incident or a scheduled maintenance, with its update timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Incident {
    pub id: String,
    pub provider_id: String,
    pub kind: IncidentKind,
    pub title: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub urgency: Urgency,
    pub priority: Priority,
    pub category: Category,
    pub visibility: Visibility,
    /// Platform/service layer or the application layer (for shared responsibility).
    pub layer: Layer,
    /// With visibility `named`: the customer organisations that see it.
    pub audience: Vec<String>,
    /// Affected components (each is one service in one region).
    pub component_ids: Vec<String>,
    /// Grows by one with every change; the audit log names versions.
    pub version: i32,
    pub occurred_at: Option<DateTime<Utc>>,
    pub detected_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub contained_at: Option<DateTime<Utc>>,
    pub recovered_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// First time the incident entered `monitoring`.
    pub monitoring_at: Option<DateTime<Utc>>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
    /// Response target from the provider's priority policy, counted from detection.
    pub response_due_at: Option<DateTime<Utc>>,
    /// Resolution target from the provider's priority policy, counted from detection.
    pub resolution_due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An exercise (drill, tabletop): handled like any incident, kept out of the response
    /// metrics.
    #[serde(default)]
    pub exercise: bool,
    /// Newest first.
    pub updates: Vec<IncidentUpdate>,
}

/// One entry of the update timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentUpdate {
    pub id: String,
    pub incident_id: String,
    pub status: IncidentStatus,
    pub body: String,
    pub author_id: Option<String>,
    pub author_name: String,
    pub component_changes: Vec<ComponentChange>,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/incidents`: opens an incident with its first update.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateIncident {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub title: String,
    /// The first update's message.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 20000, pattern = r"\S")
    )]
    pub body: String,
    pub impact: Impact,
    #[serde(default = "default_urgency")]
    pub urgency: Urgency,
    #[serde(default = "default_category")]
    pub category: Category,
    #[serde(default = "default_visibility")]
    pub visibility: Visibility,
    /// With visibility `named`: the customer organisations (ids or slugs) that see it.
    #[serde(default)]
    pub audience: Vec<String>,
    #[serde(default = "default_layer")]
    pub layer: Layer,
    /// Defaults to `investigating`.
    pub status: Option<IncidentStatus>,
    /// Affected components and the status each takes now.
    #[serde(default)]
    pub components: Vec<ComponentStatusChange>,
    pub occurred_at: Option<DateTime<Utc>>,
    /// Defaults to now.
    pub detected_at: Option<DateTime<Utc>>,
    /// An exercise: handled like any incident, kept out of the response metrics.
    #[serde(default)]
    pub exercise: bool,
    /// The 5W intake (what, where, when, who, why): starts the provider's own record of
    /// the incident (`GET /incidents/{id}/record`).
    #[serde(default)]
    pub intake: Option<crate::record::Intake>,
}

fn default_urgency() -> Urgency {
    Urgency::Medium
}
fn default_category() -> Category {
    Category::Unknown
}
fn default_visibility() -> Visibility {
    Visibility::Public
}
fn default_layer() -> Layer {
    Layer::Platform
}

/// `POST /api/v1/maintenances`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateMaintenance {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub title: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 20000, pattern = r"\S")
    )]
    pub body: String,
    #[serde(default = "default_visibility")]
    pub visibility: Visibility,
    /// With visibility `named`: the customer organisations (ids or slugs) that see it.
    #[serde(default)]
    pub audience: Vec<String>,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    #[serde(default)]
    pub component_ids: Vec<String>,
}

/// `POST /api/v1/incidents/{id}/updates`: a new timeline entry, optionally moving component
/// statuses, impact or urgency with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PostUpdate {
    pub status: IncidentStatus,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 20000, pattern = r"\S")
    )]
    pub body: String,
    #[serde(default)]
    pub components: Vec<ComponentStatusChange>,
    pub impact: Option<Impact>,
    pub urgency: Option<Urgency>,
}

/// `PATCH /api/v1/incidents/{id}`: classification, visibility and lifecycle timestamps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PatchIncident {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub title: Option<String>,
    pub impact: Option<Impact>,
    pub urgency: Option<Urgency>,
    pub category: Option<Category>,
    pub visibility: Option<Visibility>,
    /// Replaces the named audience (with visibility `named`).
    pub audience: Option<Vec<String>>,
    pub layer: Option<Layer>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub detected_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub contained_at: Option<DateTime<Utc>>,
    pub recovered_at: Option<DateTime<Utc>>,
    /// Marks or unmarks the incident as an exercise.
    pub exercise: Option<bool>,
    /// Why the lifecycle milestones change: required when one of `occurred_at`,
    /// `detected_at`, `acknowledged_at`, `contained_at` or `recovered_at` is changed after
    /// the fact (it was set already, or is set more than 5 minutes away from now).
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub reason: Option<String>,
}

// ---------------------------------------------------------------- audit

/// One entry of the append-only, hash-chained audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `user`, `api_token`, `system` or `anonymous`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    /// e.g. `incident.create`, `component.update`, `disclose`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub object_version: Option<i32>,
    /// SHA-256 of the object's version as stored or disclosed.
    pub object_hash: Option<String>,
    pub channel: Option<Channel>,
    /// The entry's detail as stored and hashed (JSON text): e.g. a milestone edit's reason,
    /// an acknowledgement's route (`via`).
    #[serde(default)]
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// One who was sent a fan-out (a stream frame to many connections).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Recipient {
    pub organisation_id: String,
    /// `user`, `api_token` or `feed_token`.
    pub actor_type: String,
    pub actor_id: Option<String>,
}

/// One row of the disclosure journal: who was shown or sent which stored version of a
/// non-public record, when, through which channel. Committed before the data left the server
/// and sealed into the audit chain in batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Disclosure {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `user`, `api_token`, `feed_token`, or `audience` for a fan-out.
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub object_type: String,
    pub object_id: String,
    pub object_version: Option<i32>,
    /// SHA-256 of the stored version (canonical JSON) that was disclosed.
    pub object_hash: Option<String>,
    pub channel: Channel,
    /// A fan-out's recipients (only your organisation's, unless the record is yours).
    pub recipients: Option<Vec<Recipient>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub detail: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_covers_every_cell_with_csa_targets() {
        let p = PriorityPolicy::default_policy();
        for i in Impact::ALL {
            for u in Urgency::ALL {
                assert_eq!(
                    p.matrix
                        .iter()
                        .filter(|r| r.impact == *i && r.urgency == *u)
                        .count(),
                    1
                );
            }
        }
        assert_eq!(p.priority(Impact::Critical, Urgency::High), Priority::P1);
        assert_eq!(p.priority(Impact::None, Urgency::Low), Priority::P5);
        let p1 = p.target(Priority::P1).unwrap();
        assert_eq!(
            (p1.response_minutes, p1.resolution_minutes),
            (Some(5), Some(60))
        );
        assert_eq!(
            p.target(Priority::P4).unwrap().resolution_minutes,
            Some(24 * 60)
        );
        assert_eq!(p.target(Priority::P5).unwrap().response_minutes, None);
    }
}
