//! Regulatory and contractual clocks. A party records the decisions that start clocks
//! ("aware", "classified significant", ...) on an incident; a clock runs one regime's
//! template on that party's decisions, and each of its deadlines is due at an offset from a
//! decision or from the filing of an earlier report. Filing after the due time is late and
//! needs a reason.

use crate::domain::string_enum;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

string_enum! {
    /// A decision that starts clocks, recorded by a party on an incident.
    DecisionKind {
        /// The party became aware of the incident (GDPR, NIS2 and DORA count from it).
        Aware = "aware",
        /// Classified as a significant incident (NIS2 Art. 23).
        ClassifiedSignificant = "classified_significant",
        /// Classified as a major ICT-related incident (DORA).
        ClassifiedMajor = "classified_major",
        /// Determined to be material (SEC Form 8-K Item 1.05).
        DeterminedMaterial = "determined_material",
        /// The incident's detection: its own `detected_at`, which the provider's targets
        /// count from (not recorded as a decision).
        Detected = "detected",
    }
}

string_enum! {
    /// A regime whose clock a party can run on an incident.
    Regime {
        /// GDPR Art. 33: the controller tells the supervisory authority.
        GdprArt33 = "gdpr_art33",
        /// GDPR Art. 33(2): a processor tells its controller, within the contract's hours.
        GdprProcessor = "gdpr_processor",
        /// NIS2 Art. 23: early warning, notification, final report.
        Nis2Art23 = "nis2_art23",
        /// DORA (RTS 2025/301): initial, intermediate and final reports.
        Dora = "dora",
        /// SEC Form 8-K Item 1.05: four business days from the materiality determination.
        Sec8k105 = "sec_8k_1_05",
        /// Japan's Act on the Protection of Personal Information: preliminary and confirmed
        /// reports to the Personal Information Protection Commission.
        Appi = "appi",
        /// The provider's own targets from its priority policy: first customer notification
        /// and resolution, counted from detection (met by the incident itself).
        ProviderTargets = "provider_targets",
    }
}

string_enum! {
    /// Days that are not business days besides weekends.
    Calendar {
        /// Weekends only.
        Weekends = "weekends",
        /// United States federal holidays (as observed), the SEC's business days.
        UsFederal = "us_federal",
    }
}

string_enum! {
    /// Where one deadline stands.
    DeadlineState {
        /// What it counts from has not happened yet (no decision, or the earlier report is
        /// not filed).
        Waiting = "waiting",
        /// Due in the future, not filed.
        Open = "open",
        /// Filed by its due time.
        Met = "met",
        /// Filed after its due time (with the reason given).
        Late = "late",
        /// Past due and not filed.
        Missed = "missed",
    }
}

string_enum! {
    /// How close a deadline is when its alert goes out through the escalation matrix.
    AlertKind {
        /// Half of its time is gone: the first level of the party's ladder is told.
        Half = "half",
        /// 80 % of its time is gone: the first two levels are told.
        Eighty = "eighty",
        /// It passed without a filing: every level is told.
        Missed = "missed",
    }
}

/// One alert of a deadline sent to one person through one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AlertSent {
    pub kind: AlertKind,
    pub user_id: String,
    pub user_name: String,
    /// `email` or `websocket`.
    pub channel: String,
    pub queued_at: DateTime<Utc>,
    /// `queued`, `handed_off` (the SMTP server accepted the mail / the frame was written to
    /// the person's connection) or `failed`.
    pub state: crate::escalation::DeliveryState,
    pub handed_off_at: Option<DateTime<Utc>>,
}

/// What a `clock.alert` stream event tells its person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClockAlert {
    pub clock_id: String,
    pub organisation_id: String,
    pub incident_id: String,
    pub incident_version: i32,
    pub title: String,
    pub regime: Regime,
    pub deadline_key: String,
    pub deadline_name: String,
    pub kind: AlertKind,
    pub due_at: DateTime<Utc>,
    /// The person told (only their connections receive the frame).
    pub user_id: String,
}

/// `POST /api/v1/incidents/{id}/decisions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub kind: DecisionKind,
    /// When it was decided (default: now); not in the future.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// Why: what the decision rests on (required).
    pub reason: String,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Decision {
    pub id: String,
    pub kind: DecisionKind,
    pub at: DateTime<Utc>,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decided_by_name: String,
    pub recorded_at: DateTime<Utc>,
}

/// `POST /api/v1/incidents/{id}/clocks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClockInput {
    pub regime: Regime,
    /// IANA time zone in which days, business days and months are counted (default: the
    /// regime's: America/New_York for the SEC, Asia/Tokyo for APPI, else UTC).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Extra non-business days (company or regional holidays), besides the regime's calendar.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    /// GDPR processor: the contract's hours to tell the controller (default 24).
    #[serde(default)]
    pub contract_hours: Option<u32>,
    /// APPI: the breach stems from a malicious act (the confirmed report is due in 60 days
    /// instead of 30).
    #[serde(default)]
    pub malicious: bool,
}

/// `POST /api/v1/incidents/{id}/clocks/{clock}/deadlines/{key}/filing`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FilingInput {
    /// When the report was filed (default: now); not in the future.
    #[serde(default)]
    pub filed_at: Option<DateTime<Utc>>,
    /// The authority's reference or where the report is kept.
    #[serde(default)]
    pub reference: Option<String>,
    /// Required when filed after the due time.
    #[serde(default)]
    pub late_reason: Option<String>,
}

/// One deadline of a clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Deadline {
    pub key: String,
    pub name: String,
    /// How it is counted, in words ("72 h after aware").
    pub rule: String,
    /// What the report must contain.
    pub contents: Vec<String>,
    pub due_at: Option<DateTime<Utc>>,
    /// Warnings before it: at half and at 80 % of the time from its start.
    pub warn_at: Vec<DateTime<Utc>>,
    pub state: DeadlineState,
    pub filed_at: Option<DateTime<Utc>>,
    pub filed_by: Option<String>,
    pub reference: Option<String>,
    pub late_reason: Option<String>,
    /// Alerts sent for it through the escalation matrix, oldest first.
    #[serde(default)]
    pub alerts: Vec<AlertSent>,
}

/// A clock one party runs on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Clock {
    pub id: String,
    pub incident_id: String,
    pub organisation_id: String,
    pub regime: Regime,
    pub name: String,
    pub time_zone: String,
    pub calendar: Calendar,
    pub holidays: Vec<NaiveDate>,
    pub contract_hours: Option<u32>,
    pub malicious: bool,
    pub started_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub deadlines: Vec<Deadline>,
}

/// `GET /api/v1/incidents/{id}/clocks`: the party's decisions and clocks on the incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Clocks {
    pub decisions: Vec<Decision>,
    pub clocks: Vec<Clock>,
}

/// One deadline of a regime's template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TemplateDeadline {
    pub key: String,
    pub name: String,
    pub rule: String,
    pub contents: Vec<String>,
}

/// `GET /api/v1/clock-templates`: a regime's clock as shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Template {
    pub regime: Regime,
    pub name: String,
    pub time_zone: String,
    pub calendar: Calendar,
    pub deadlines: Vec<TemplateDeadline>,
}
