//! A past incident recorded as it happened (history brought from another tool, the demo's
//! months of resolved incidents): its row with its own instants, its components, its updates
//! at their times, one stored version and its audit entry. Nothing is delivered and nothing
//! escalates: it is over.

use super::{apply_policy, link_components, to_api};
use crate::audit::versions::INCIDENT;
use crate::audit::{self, Event};
use crate::catalogue::{priority_policy, provider_org};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use cirhub_shared::api;
use cirhub_shared::*;
use diesel::prelude::*;

/// What a past incident was, with its instants (milliseconds).
pub struct Past {
    pub title: String,
    pub impact: Impact,
    pub urgency: Urgency,
    pub category: Category,
    pub component_ids: Vec<String>,
    pub occurred_at: Option<i64>,
    pub detected_at: i64,
    pub acknowledged_at: Option<i64>,
    pub contained_at: Option<i64>,
    pub recovered_at: Option<i64>,
    pub resolved_at: i64,
    pub exercise: bool,
    /// Its timeline, oldest first: (status, message, at).
    pub updates: Vec<(IncidentStatus, String, i64)>,
}

/// Records a resolved public incident of the caller's (provider) organisation.
pub fn record_past(
    conn: &mut DbConn,
    caller: &Caller,
    past: &Past,
) -> Result<api::Incident, AppError> {
    let org = provider_org(conn, &caller.org_id)?;
    let mut check = Check::new();
    check.text(&past.title, "title", 200);
    for (_, body, at) in &past.updates {
        check.text(body, "updates", 20_000);
        check.ensure(
            *at >= past.detected_at && *at <= past.resolved_at,
            "updates",
            "must fall between detection and resolution",
        );
    }
    check.ensure(
        past.occurred_at.is_none_or(|o| o <= past.detected_at),
        "occurred_at",
        "must not be after detected_at",
    );
    check.done()?;
    let ids: Vec<&str> = past.component_ids.iter().map(String::as_str).collect();
    super::check_components(conn, &org.id, "component_ids", &ids)?;
    let mut row = super::new_row(
        &org.id,
        IncidentKind::Incident,
        &past.title,
        IncidentStatus::Resolved,
        Visibility::Public,
        past.detected_at,
    );
    row.impact = past.impact.as_str().into();
    row.urgency = past.urgency.as_str().into();
    row.category = past.category.as_str().into();
    row.occurred_at = past.occurred_at;
    row.detected_at = Some(past.detected_at);
    row.acknowledged_at = past.acknowledged_at;
    row.contained_at = past.contained_at;
    row.recovered_at = past.recovered_at;
    row.resolved_at = Some(past.resolved_at);
    row.monitoring_at = past
        .updates
        .iter()
        .find(|(s, _, _)| *s == IncidentStatus::Monitoring)
        .map(|(_, _, at)| *at);
    row.updated_at = past.resolved_at;
    row.exercise = past.exercise;
    apply_policy(&mut row, &priority_policy(&org))?;
    diesel::insert_into(incidents::table)
        .values(&row)
        .execute(conn)?;
    link_components(conn, &row.id, &past.component_ids)?;
    for (status, body, at) in &past.updates {
        super::insert_update(conn, caller, &row.id, *status, body, &[], *at)?;
    }
    let incident = to_api(conn, &row)?;
    let hash = audit::versions::record(conn, INCIDENT, &row.id, row.version, &incident)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "incident.record_past",
            INCIDENT,
            &row.id,
        )
        .snapshot(row.version, hash),
    )?;
    Ok(incident)
}
