//! The customer side of the API: provider-customer relationships, the customer dashboard,
//! subscriptions, personal feed tokens and the events of the `/api/v1/stream` WebSocket.

use crate::api::IncidentUpdate;
use crate::domain::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

// ---------------------------------------------------------------- relationships

/// One contracted service in one region (`region_id` absent: every region).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Scope {
    pub service_id: String,
    pub region_id: Option<String>,
}

/// A provider-customer relationship, as both sides see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Relationship {
    pub id: String,
    pub provider_id: String,
    pub provider_slug: String,
    pub provider_name: String,
    pub customer_id: String,
    pub customer_slug: String,
    pub customer_name: String,
    pub service_model: ServiceModel,
    pub status: RelationshipStatus,
    pub scopes: Vec<Scope>,
    pub invited_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub version: i32,
}

/// `POST /api/v1/relationships` (provider admin): invites a customer organisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct InviteCustomer {
    /// The customer organisation's slug.
    pub customer: String,
    pub service_model: ServiceModel,
    #[serde(default)]
    pub scopes: Vec<Scope>,
}

/// `PUT /api/v1/relationships/{id}/scopes` (provider admin): the contracted services x regions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SetScopes {
    pub service_model: Option<ServiceModel>,
    pub scopes: Vec<Scope>,
}

// ---------------------------------------------------------------- dashboard

/// A provider component as a customer sees it, with the customer's own names for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ComponentRef {
    pub id: String,
    pub name: String,
    pub provider_id: String,
    pub service_id: String,
    pub service_name: String,
    pub region_id: Option<String>,
    pub region_code: Option<String>,
    pub status: ComponentStatus,
}

/// An acknowledgement by a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Acknowledgement {
    pub incident_id: String,
    pub customer_id: String,
    pub user_id: Option<String>,
    pub user_name: String,
    /// The incident version the acknowledging person had in front of them.
    pub incident_version: i32,
    pub acknowledged_at: DateTime<Utc>,
}

/// A customer's private note on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Note {
    pub id: String,
    pub incident_id: String,
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/dashboard/incidents/{id}/notes`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateNote {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 10000, pattern = r"\S")
    )]
    pub body: String,
}

/// `POST /api/v1/dashboard/incidents/{id}/ack`: the version being acknowledged.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AckRequest {
    pub version: Option<i32>,
}

/// An incident or maintenance of one of the customer's providers, in the customer's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CustomerIncident {
    pub id: String,
    pub provider_id: String,
    pub provider_name: String,
    pub kind: IncidentKind,
    pub title: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub priority: Priority,
    pub category: Category,
    pub layer: Layer,
    pub visibility: Visibility,
    pub version: i32,
    pub components: Vec<ComponentRef>,
    /// The customer's resource names mapped onto the affected components.
    pub affected_resources: Vec<String>,
    /// Who drives the response, by the relationship's service model and the incident layer.
    pub driver: Driver,
    pub service_model: ServiceModel,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Newest first (only in the detail view; lists carry the latest update only).
    pub updates: Vec<IncidentUpdate>,
    pub acknowledgement: Option<Acknowledgement>,
    /// Private to the customer, newest first (detail view only).
    pub notes: Vec<Note>,
}

/// A customer's name for a provider component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ResourceMapping {
    pub id: String,
    pub name: String,
    pub component: ComponentRef,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/resource-mappings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateMapping {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
    pub component_id: String,
}

/// A user's dashboard layout, kept on the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Layout {
    /// Services shown first.
    #[serde(default)]
    pub pinned_service_ids: Vec<String>,
    /// Only these providers (empty: all).
    #[serde(default)]
    pub provider_ids: Vec<String>,
    /// Hide incidents below this priority (P1 highest).
    pub min_priority: Option<Priority>,
    /// Show resolved incidents too.
    #[serde(default)]
    pub show_resolved: bool,
}

/// What the provider sees per customer for one incident: reached, acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Receipt {
    pub customer_id: String,
    pub customer_name: String,
    pub service_model: ServiceModel,
    pub driver: Driver,
    /// First time anyone of the customer was shown or sent the incident.
    pub reached_at: Option<DateTime<Utc>>,
    pub reached_by: Option<Channel>,
    pub acknowledgement: Option<Acknowledgement>,
}

// ---------------------------------------------------------------- subscriptions

/// An alert subscription: of one user, or of every user with a role in the organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Subscription {
    pub id: String,
    pub name: String,
    /// The subscribing user; absent for a role-wide subscription.
    pub user_id: Option<String>,
    /// Every user with this role; absent for a personal subscription.
    pub role: Option<Role>,
    /// Empty: every provider (likewise services and regions).
    pub provider_ids: Vec<String>,
    pub service_ids: Vec<String>,
    pub region_ids: Vec<String>,
    /// Only incidents at this priority or more pressing (P1 is the most pressing).
    pub min_priority: Priority,
    pub channels: Vec<Channel>,
    pub mode: DeliveryMode,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/subscriptions` and `PUT /api/v1/subscriptions/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SubscriptionInput {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
    /// Set (admin only) for a role-wide subscription; otherwise it is the caller's own.
    pub role: Option<Role>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 200))]
    pub provider_ids: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 200))]
    pub service_ids: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 200))]
    pub region_ids: Vec<String>,
    #[serde(default = "default_min_priority")]
    pub min_priority: Priority,
    /// `websocket` and/or `email`.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 2))]
    pub channels: Vec<Channel>,
    #[serde(default = "default_mode")]
    pub mode: DeliveryMode,
}

fn default_min_priority() -> Priority {
    Priority::P5
}
fn default_mode() -> DeliveryMode {
    DeliveryMode::Immediate
}

// ---------------------------------------------------------------- feed tokens

/// A personal feed token (its secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FeedToken {
    pub id: String,
    pub name: String,
    /// First characters of the secret, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/feed-tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreateFeedToken {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: String,
}

/// A new feed token with its secret and the URLs it opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CreatedFeedToken {
    pub token: FeedToken,
    pub secret: String,
    /// Base of the Statuspage v2 documents: append `summary.json` and so on.
    pub statuspage_url: String,
    pub atom_url: String,
}

// ---------------------------------------------------------------- stream

/// An incident as carried by a stream event: enough to show it without another request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct IncidentSummary {
    pub id: String,
    pub provider_id: String,
    pub provider_name: String,
    pub kind: IncidentKind,
    pub title: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    pub priority: Priority,
    pub layer: Layer,
    pub visibility: Visibility,
    pub version: i32,
    pub components: Vec<ComponentRef>,
    pub latest_update: Option<IncidentUpdate>,
    pub updated_at: DateTime<Utc>,
}

/// One event of the stream. `seq` only grows; a client resumes with the last one it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StreamEvent {
    pub seq: i64,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub provider_id: String,
    pub incident: Option<IncidentSummary>,
    pub component: Option<ComponentRef>,
    pub acknowledgement: Option<Acknowledgement>,
    /// For `indicator.*` events: the object and the version announced (`provider_id` is
    /// empty: a notice never names the source; the object, read through the API, shows it
    /// as its agreement allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator: Option<crate::sharing::IndicatorNotice>,
    /// For `escalation.notice` events: the step and the person it tells (only that
    /// person's connections receive it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<crate::escalation::EscalationNotice>,
    /// For `clock.alert` events: the deadline and the person it tells (only that person's
    /// connections receive it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_alert: Option<crate::clocks::ClockAlert>,
}

/// A frame the server sends on `/api/v1/stream`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamFrame {
    /// Sent first: who is listening and the newest sequence number at connection time.
    Hello {
        organisation_id: String,
        last_seq: i64,
    },
    /// A missed or new event.
    Event(Box<StreamEvent>),
    /// Replay of missed events is complete; live events follow.
    Live { last_seq: i64 },
    /// Sent when nothing else was for a while; carries the newest sequence number.
    Heartbeat { last_seq: i64 },
    /// The client fell behind and its queue overflowed: reconnect with `since`.
    Resync { since: i64 },
    /// Answer to an `acknowledge` frame: the organisation's escalation as it now stands.
    Acknowledged {
        incident_id: String,
        state: crate::escalation::EscalationState,
    },
    /// A client frame was refused: why, with the HTTP status the same request through the
    /// REST API would get (nothing changed).
    Refused { status: u16, detail: String },
}

/// A frame the client may send on `/api/v1/stream`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// The client has the event with this sequence number: an escalation notice in it is
    /// recorded as delivered.
    Received { seq: i64 },
    /// Acknowledge an incident for the person's organisation (analyst or above), as
    /// `POST /api/v1/incidents/{id}/escalation/acknowledge`.
    Acknowledge { incident_id: String },
}

/// Query of `/api/v1/stream`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StreamQuery {
    /// Resume after this sequence number (replayed from the database).
    pub since: Option<i64>,
}
