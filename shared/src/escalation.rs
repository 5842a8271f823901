//! Escalation policies: each organisation's matrix of who is told of an incident, how, and
//! when nobody has acknowledged it. A policy holds ordered rules; the first rule whose
//! conditions match an incident routes it to its ladder of levels. Each level names targets
//! (persons or roles), the channels per target, how long to wait for an acknowledgement
//! before the next level, and how many times to notify again at the level first.

use crate::domain::{string_enum, Category, Priority, Visibility};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Most rules in one policy, levels in one rule, targets in one level.
pub const MAX_RULES: usize = 100;
pub const MAX_LEVELS: usize = 20;
pub const MAX_TARGETS: usize = 50;
/// Most values in one condition list of a rule.
pub const MAX_CONDITIONS: usize = 100;
/// Most repeats of a level or of a whole ladder (PagerDuty's bound for a policy's repeats).
pub const MAX_REPEAT: u32 = 9;
/// Longest wait at a level: one week, in minutes.
pub const MAX_WAIT_MINUTES: u32 = 7 * 24 * 60;

string_enum! {
    /// How a target is told.
    NotifyChannel { Email = "email", WebSocket = "websocket", Webhook = "webhook" }
}

string_enum! {
    /// When a rule applies, in the policy's time zone and business hours.
    #[derive(Default)]
    Hours { #[default] Any = "any", Business = "business", OutsideBusiness = "outside_business" }
}

string_enum! {
    /// What a target names: one person of the organisation, or everyone holding a role.
    TargetKind {
        User = "user",
        Role = "role",
        /// The incident's contacts of a role in the party's own record (`id`: `system_owner`,
        /// `provider_contact`, `customer_contact`, `dpo`, `legal` or `other`), by e-mail;
        /// who they are is read when the step runs.
        Contact = "contact",
    }
}

string_enum! {
    /// The day of the week (ISO order).
    Weekday { Mon = "mon", Tue = "tue", Wed = "wed", Thu = "thu", Fri = "fri", Sat = "sat", Sun = "sun" }
}

/// The organisation's working week: days, and a start and end time of day ("HH:MM", end
/// after start), in the policy's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    pub days: Vec<Weekday>,
    #[cfg_attr(feature = "openapi", schema(example = "09:00"))]
    pub start: String,
    #[cfg_attr(feature = "openapi", schema(example = "17:00"))]
    pub end: String,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            start: "09:00".into(),
            end: "17:00".into(),
        }
    }
}

/// The conditions of a rule; an empty list matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    #[serde(default)]
    pub priorities: Vec<Priority>,
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Service ids of the provider's catalogue (the organisation's own, or its providers').
    #[serde(default)]
    pub services: Vec<String>,
    /// Region ids, as services.
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub visibility: Vec<Visibility>,
    /// `true`: only incidents that touch what the organisation subscribed to or mapped (its
    /// contracted scope); `false`: only those that do not; absent: either.
    #[serde(default)]
    pub in_scope: Option<bool>,
    #[serde(default)]
    pub hours: Hours,
}

/// Who is told at a level, and through which channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub kind: TargetKind,
    /// A user id of the organisation (`user`) or a role (`role`: admin, operator, analyst,
    /// viewer, auditor).
    pub id: String,
    pub channels: Vec<NotifyChannel>,
}

/// One step of a ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub targets: Vec<Target>,
    /// Minutes to wait for an acknowledgement after each notification at this level before
    /// the next one (1 to 10080); absent: the level is the last and waits for good.
    #[serde(default)]
    pub wait_minutes: Option<u32>,
    /// How many times the level is notified again, `wait_minutes` apart, before the ladder
    /// moves on (0 to 9).
    #[serde(default)]
    pub repeat: u32,
}

/// Conditions and the ladder they lead to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(default, rename = "match")]
    pub when: RuleMatch,
    pub levels: Vec<Level>,
    /// How many times the whole ladder starts again from its first level when its last
    /// level's wait ends unacknowledged (0 to 9).
    #[serde(default)]
    pub repeat: u32,
}

/// `PUT /api/v1/escalation-policy`: the whole policy. `version` is the version the edit
/// started from (0 or absent for the first); a stale one is refused with 409, so two
/// editors never overwrite each other unseen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    #[serde(default)]
    pub version: Option<i32>,
    /// IANA time zone of the business hours, e.g. `Asia/Tokyo`.
    pub time_zone: String,
    #[serde(default)]
    pub business_hours: BusinessHours,
    pub rules: Vec<Rule>,
}

string_enum! {
    /// What a lint finding is about.
    FindingCode {
        /// A priority x category (in or out of business hours) that no rule routes, or whose
        /// rule reaches nobody.
        Gap = "gap",
        /// A rule that the rules before it match in every case.
        UnreachableRule = "unreachable_rule",
        /// A level after one that waits for good.
        UnreachableLevel = "unreachable_level",
        /// A target that no channel reaches: no channels, or only the webhook of an
        /// organisation that has none.
        NoChannel = "no_channel",
        /// A target that names nobody: a role no one of the organisation holds.
        NoOne = "no_one",
        /// A channel escalations do not deliver yet (only e-mail is): the target is told
        /// through its other channels only.
        Undelivered = "undelivered",
    }
}

/// One result of the lint; `path` is a JSON pointer into the policy (`/rules/0/levels/1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Finding {
    pub code: FindingCode,
    pub path: String,
    pub message: String,
}

/// A stored version of an organisation's policy, with the lint of that version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EscalationPolicy {
    pub organisation_id: String,
    pub version: i32,
    /// SHA-256 of the version's canonical JSON: what an escalation snapshots names.
    pub hash: String,
    pub time_zone: String,
    pub business_hours: BusinessHours,
    pub rules: Vec<Rule>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub lint: Vec<Finding>,
    /// The organisation's people the policy can name (user targets by id), so that an
    /// editor shows names.
    #[serde(default)]
    pub people: Vec<PolicyPerson>,
}

/// One person of the organisation, as the policy editor shows a user target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PolicyPerson {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: crate::Role,
}

/// `POST /api/v1/escalation-policy/simulate`: an incident to route. `policy`: a draft to
/// simulate instead of the version in force (the editor simulates before saving).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    pub priority: Priority,
    pub category: Category,
    #[serde(default)]
    pub service_id: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
    #[serde(default = "public_visibility")]
    pub visibility: Visibility,
    #[serde(default)]
    pub in_scope: bool,
    /// When the incident starts escalating; now if absent.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub policy: Option<PolicyInput>,
}

fn public_visibility() -> Visibility {
    Visibility::Public
}

/// A person a step reaches, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Recipient {
    pub user_id: String,
    pub name: String,
    pub email: String,
    /// The target that named the person (`user` or `role:analyst`).
    pub via: String,
    pub channels: Vec<NotifyChannel>,
}

/// One notification of the timeline: when, which level and attempt, whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Step {
    pub at: DateTime<Utc>,
    /// Minutes after the escalation started.
    pub after_minutes: u64,
    /// 1-based level.
    pub level: usize,
    /// 1-based notification at the level (1 + its repeats), within one pass of the ladder.
    pub attempt: u32,
    /// 1-based pass over the ladder (1 + the rule's repeats).
    pub pass: u32,
    pub recipients: Vec<Recipient>,
}

/// The answer of a simulation: the rule that routes the case (none: a gap), the steps if
/// nobody acknowledges, and when the escalation ends (None: it waits at its last level for
/// good).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Simulation {
    pub rule: Option<usize>,
    pub rule_name: Option<String>,
    /// Whether the start falls in business hours.
    pub business_hours: bool,
    pub steps: Vec<Step>,
    pub exhausted_at: Option<DateTime<Utc>>,
    pub policy_version: Option<i32>,
}

string_enum! {
    /// Where an incident's escalation for one party stands.
    EscalationState {
        /// Climbing its ladder.
        Active = "active",
        /// The party acknowledged: its escalation stopped.
        Acknowledged = "acknowledged",
        /// The incident was resolved: every escalation stopped.
        Resolved = "resolved",
        /// The ladder ran out unacknowledged.
        Exhausted = "exhausted",
    }
}

string_enum! {
    /// How far one notice got, the furthest of its states.
    DeliveryState {
        /// Written down, waiting for its channel.
        Queued = "queued",
        /// The channel took it: the SMTP server accepted the mail, or a connection wrote
        /// the frame.
        HandedOff = "handed_off",
        /// The person's client confirmed receipt of the frame (WebSocket only).
        Delivered = "delivered",
        /// The person opened the escalation (console or the mail's link).
        Seen = "seen",
        /// The party acknowledged the incident.
        Acknowledged = "acknowledged",
        /// The channel gave up (the mail could not be sent after every attempt).
        Failed = "failed",
    }
}

/// One person told at one step through one channel, with how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Notice {
    /// 0-based step of the plan.
    pub step: usize,
    pub user_id: String,
    pub user_name: String,
    pub channel: NotifyChannel,
    /// When the step was due, and when the notice was queued for its channel.
    pub due_at: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    pub state: DeliveryState,
    pub handed_off_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub seen_at: Option<DateTime<Utc>>,
    /// When the party acknowledged, if after this notice was queued.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// What an `escalation.notice` stream event tells its person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EscalationNotice {
    pub escalation_id: String,
    pub organisation_id: String,
    pub incident_id: String,
    pub incident_version: i32,
    pub title: String,
    pub priority: Priority,
    /// The person told (only their connections receive the frame).
    pub user_id: String,
    pub step: usize,
    pub level: usize,
    pub attempt: u32,
    pub pass: u32,
    pub due_at: DateTime<Utc>,
}

/// `GET /api/v1/incidents/{id}/escalation`: the caller's organisation's escalation of an
/// incident: the policy version it runs on, the rule that routed it, its plan (the steps
/// from its start if nobody acknowledges) and the notices sent so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Escalation {
    pub id: String,
    pub incident_id: String,
    pub organisation_id: String,
    pub policy_version: i32,
    pub policy_hash: String,
    /// 0-based index of the rule in that version.
    pub rule: usize,
    pub rule_name: String,
    pub state: EscalationState,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_by: Option<String>,
    /// The global step number of the plan's first step: 0, until an un-acknowledgement
    /// starts the ladder again (notices keep their global step numbers).
    pub step_base: usize,
    pub plan: Vec<Step>,
    pub notices: Vec<Notice>,
    /// The person it was reassigned to: the first level of its current round is that person
    /// alone.
    #[serde(default)]
    pub assignee_id: Option<String>,
    #[serde(default)]
    pub assignee_name: Option<String>,
}

/// `POST /api/v1/incidents/{id}/escalation/reassign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReassignInput {
    /// A person of the caller's organisation.
    pub user_id: String,
}
