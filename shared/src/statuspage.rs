//! The Statuspage v2 public JSON documents (`/api/v2/summary.json` and friends), field for
//! field, so existing Statuspage clients and widgets read a cirhub provider page unchanged.
//! Optional fields serialise as `null`, as Statuspage does, never omitted.

use serde::{Deserialize, Serialize};

/// The `page` object heading every document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub id: String,
    pub name: String,
    pub url: String,
    pub time_zone: String,
    pub updated_at: String,
}

/// Roll-up indicator: `none`, `minor`, `major`, `critical` or `maintenance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub indicator: String,
    pub description: String,
}

/// A component, or a group of components when `group` is true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub position: i64,
    pub description: Option<String>,
    pub showcase: bool,
    pub start_date: Option<String>,
    pub group_id: Option<String>,
    pub page_id: String,
    pub group: bool,
    pub only_show_if_degraded: bool,
    /// Member component ids; present on groups only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
}

/// A component whose status an incident update changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedComponent {
    pub code: String,
    pub name: String,
    pub old_status: String,
    pub new_status: String,
}

/// One entry of an incident's update timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    pub id: String,
    pub status: String,
    pub body: String,
    pub incident_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub display_at: String,
    pub affected_components: Option<Vec<AffectedComponent>>,
    pub deliver_notifications: bool,
    pub custom_tweet: Option<String>,
    pub tweet_id: Option<String>,
}

/// An incident or, with `scheduled_for`/`scheduled_until`, a scheduled maintenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub name: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub monitoring_at: Option<String>,
    pub resolved_at: Option<String>,
    pub impact: String,
    pub shortlink: String,
    pub started_at: String,
    pub page_id: String,
    pub incident_updates: Vec<IncidentUpdate>,
    pub components: Vec<Component>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_until: Option<String>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub page: Page,
    pub components: Vec<Component>,
    pub incidents: Vec<Incident>,
    pub scheduled_maintenances: Vec<Incident>,
    pub status: Status,
}

/// `status.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDoc {
    pub page: Page,
    pub status: Status,
}

/// `components.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentsDoc {
    pub page: Page,
    pub components: Vec<Component>,
}

/// `incidents.json` and `incidents/unresolved.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentsDoc {
    pub page: Page,
    pub incidents: Vec<Incident>,
}

/// `scheduled-maintenances*.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaintenancesDoc {
    pub page: Page,
    pub scheduled_maintenances: Vec<Incident>,
}

/// cirhub's own addition beside the Statuspage documents (`/status/{provider}/uptime.json`):
/// where each component runs and its daily uptime over the last 90 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UptimeDoc {
    pub page: Page,
    pub days: u32,
    pub components: Vec<ComponentUptime>,
}

/// Placement and 90-day history of one component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentUptime {
    pub id: String,
    pub name: String,
    pub service: String,
    pub region: Option<String>,
    pub group: Option<String>,
    pub status: String,
    /// Percentage of the whole window the component was operational (maintenance counts as up).
    pub uptime_percent: f64,
    /// Oldest first, one per UTC day.
    pub history: Vec<DayUptime>,
}

/// One day of a component's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayUptime {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub uptime_percent: f64,
    /// The worst status seen that day.
    pub worst: String,
}
