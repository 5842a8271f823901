//! Response metrics (CSA CIR 5.4.1.1): how long detection, acknowledgement, notification,
//! recovery and containment took, per incident and aggregated, from the incidents' lifecycle
//! milestones, the customers' acknowledgements and the first time each customer was reached.

use crate::{Channel, Priority};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// One response measure; each sample is the time between two recorded instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// TTD: `detected_at − occurred_at` (needs the occurrence to be known).
    Detect,
    /// TTA of the provider: `acknowledged_at − detected_at`.
    ProviderAcknowledge,
    /// The provider's time to notify a customer: `reached_at(customer) − detected_at`.
    Notify,
    /// TTA of a customer: `acknowledged_at(customer) − reached_at(customer)`.
    CustomerAcknowledge,
    /// TTR: `recovered_at − acknowledged_at` (taking ownership starts the recovery clock).
    Recover,
    /// TTC as the CSA defines it: `TTD + TTA + TTR` of the incident (so
    /// `recovered_at − occurred_at`), needing all three.
    Contain,
}

impl Measure {
    pub const ALL: [Measure; 6] = [
        Measure::Detect,
        Measure::ProviderAcknowledge,
        Measure::Notify,
        Measure::CustomerAcknowledge,
        Measure::Recover,
        Measure::Contain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Detect => "detect",
            Measure::ProviderAcknowledge => "provider_acknowledge",
            Measure::Notify => "notify",
            Measure::CustomerAcknowledge => "customer_acknowledge",
            Measure::Recover => "recover",
            Measure::Contain => "contain",
        }
    }

    /// Short name as the field writes it (the means are MTTD, MTTA, ...).
    pub fn abbrev(self) -> &'static str {
        match self {
            Measure::Detect => "TTD",
            Measure::ProviderAcknowledge => "TTA provider",
            Measure::Notify => "TTN",
            Measure::CustomerAcknowledge => "TTA customer",
            Measure::Recover => "TTR",
            Measure::Contain => "TTC",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Measure::Detect => "Time to detect",
            Measure::ProviderAcknowledge => "Provider's time to acknowledge",
            Measure::Notify => "Provider's time to notify the customer",
            Measure::CustomerAcknowledge => "Customer's time to acknowledge",
            Measure::Recover => "Time to recover",
            Measure::Contain => "Time to contain (CSA: TTD + TTA + TTR)",
        }
    }

    pub fn formula(self) -> &'static str {
        match self {
            Measure::Detect => "detected_at - occurred_at",
            Measure::ProviderAcknowledge => {
                "acknowledged_at - detected_at (acknowledged_at: the incident's milestone, else the provider's escalation acknowledgement)"
            }
            Measure::Notify => "reached_at(customer) - detected_at (reached_at: first time someone of the customer was sent or shown the incident)",
            Measure::CustomerAcknowledge => "acknowledged_at(customer) - reached_at(customer)",
            Measure::Recover => "recovered_at - acknowledged_at",
            Measure::Contain => "(detected_at - occurred_at) + (acknowledged_at - detected_at) + (recovered_at - acknowledged_at)",
        }
    }

    /// Whether a sample belongs to a (provider, customer) pair rather than to the incident.
    pub fn per_customer(self) -> bool {
        matches!(self, Measure::Notify | Measure::CustomerAcknowledge)
    }
}

/// How the aggregate is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Calendar month (UTC) of detection, `YYYY-MM`.
    #[default]
    Month,
    Priority,
    /// The provider (a customer's view of its providers).
    Provider,
    /// The customer (a provider's view of notification and customers' acknowledgement).
    Customer,
}

/// A measure's definition as the API states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Definition {
    pub measure: Measure,
    pub abbrev: String,
    pub name: String,
    pub formula: String,
}

/// Statistics of one measure over a group's samples (seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Stat {
    pub measure: Measure,
    /// Samples with both instants recorded.
    pub n: u32,
    /// Samples whose start is recorded and whose end is not yet (still open).
    pub pending: u32,
    pub mean_secs: Option<f64>,
    /// Middle value; the mean of the two middle values for an even count.
    pub median_secs: Option<f64>,
    /// Nearest-rank 90th percentile: the value at rank ⌈0.9·n⌉.
    pub p90_secs: Option<f64>,
}

/// One group of the aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Group {
    pub key: String,
    pub label: String,
    /// Incidents in the group.
    pub incidents: u32,
    /// Of those, not resolved yet.
    pub open: u32,
    /// One per measure, in [`Measure::ALL`] order.
    pub stats: Vec<Stat>,
}

impl Group {
    pub fn stat(&self, m: Measure) -> Option<&Stat> {
        self.stats.iter().find(|s| s.measure == m)
    }
}

/// `GET /api/v1/metrics/response`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ResponseMetrics {
    pub organisation_id: String,
    /// `provider` (its own incidents) or `customer` (its providers' incidents that reached it).
    pub perspective: String,
    pub by: GroupBy,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Incidents marked as exercises in the range, left out of every figure.
    pub exercises_excluded: u32,
    pub definitions: Vec<Definition>,
    pub total: Group,
    /// Ordered by key (months and priorities ascending, names alphabetically).
    pub groups: Vec<Group>,
}

/// A customer's side of one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CustomerSample {
    pub customer_id: String,
    pub customer_name: String,
    pub reached_at: Option<DateTime<Utc>>,
    pub reached_by: Option<Channel>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub notify_secs: Option<f64>,
    pub acknowledge_secs: Option<f64>,
}

/// One incident's instants and measures: the provenance of every aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Sample {
    pub incident_id: String,
    /// The incident version the instants were read from.
    pub incident_version: i32,
    pub title: String,
    pub provider_id: String,
    pub provider_name: String,
    pub priority: Priority,
    /// Month of detection (UTC), `YYYY-MM`.
    pub month: String,
    pub occurred_at: Option<DateTime<Utc>>,
    pub detected_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// `milestone` (the incident's own) or `escalation` (the provider's acknowledgement of
    /// its escalation, when the milestone is not set).
    pub acknowledged_source: Option<String>,
    pub contained_at: Option<DateTime<Utc>>,
    pub recovered_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Milestone edits after the fact (see `GET /incidents/{id}/milestones`).
    pub milestone_edits: u32,
    pub detect_secs: Option<f64>,
    pub acknowledge_secs: Option<f64>,
    pub recover_secs: Option<f64>,
    pub contain_secs: Option<f64>,
    /// The customers it reached or that acknowledged it (only the caller, for a customer).
    pub customers: Vec<CustomerSample>,
}

/// `GET /api/v1/metrics/response/samples`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Samples {
    pub perspective: String,
    pub exercises_excluded: u32,
    pub samples: Vec<Sample>,
}

/// One milestone change after the fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MilestoneEdit {
    pub milestone: String,
    pub old_at: Option<DateTime<Utc>>,
    pub new_at: DateTime<Utc>,
    pub reason: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub at: DateTime<Utc>,
    /// The version the edit produced.
    pub incident_version: i32,
}
