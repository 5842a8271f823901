//! Daily uptime of a provider's components over the last 90 days, computed from the
//! component status history that is public: direct changes and those of public incidents
//! (see [`crate::publishing::status_view`]).

use crate::db::schema::{component_status_events, incidents};
use crate::db::DbConn;
use crate::error::AppError;
use crate::publishing::statuspage::PublicData;
use cirhub_shared::statuspage as sp;
use cirhub_shared::time::from_millis;
use cirhub_shared::{ComponentStatus, Visibility};
use diesel::prelude::*;
use std::collections::HashMap;

/// Days of uptime history.
pub const UPTIME_DAYS: u32 = 90;

/// Share of a day a status counts as down: major outage fully, partial outage 30%
/// (Statuspage's weighting); degraded performance and maintenance count as up.
fn downtime_weight(status: &str) -> f64 {
    match status {
        "major_outage" => 1.0,
        "partial_outage" => 0.3,
        _ => 0.0,
    }
}

/// Daily uptime of every component over the last [`UPTIME_DAYS`] UTC days, from the status
/// history.
pub fn uptime(
    conn: &mut DbConn,
    data: &PublicData,
    now_ms: i64,
) -> Result<sp::UptimeDoc, AppError> {
    const DAY: i64 = 86_400_000;
    let today_start = now_ms - now_ms.rem_euclid(DAY);
    let window_start = today_start - DAY * (i64::from(UPTIME_DAYS) - 1);
    let ids: Vec<String> = data.components.iter().map(|c| c.id.clone()).collect();
    let mut events: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    let public = || {
        component_status_events::incident_id
            .is_null()
            .or(component_status_events::incident_id.eq_any(
                incidents::table
                    .filter(incidents::visibility.eq(Visibility::Public.as_str()))
                    .select(incidents::id.nullable()),
            ))
    };
    for (cid, at, status) in component_status_events::table
        .filter(component_status_events::component_id.eq_any(&ids))
        .filter(public())
        .filter(component_status_events::at.ge(window_start))
        .order((
            component_status_events::component_id.asc(),
            component_status_events::at.asc(),
        ))
        .select((
            component_status_events::component_id,
            component_status_events::at,
            component_status_events::status,
        ))
        .load::<(String, i64, String)>(conn)?
    {
        events.entry(cid).or_default().push((at, status));
    }
    let groups: HashMap<&str, &str> = data
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.name.as_str()))
        .collect();
    let mut out = Vec::with_capacity(data.components.len());
    for c in &data.components {
        // The status in force when the window opened: the last event before it.
        let before: Option<String> = component_status_events::table
            .filter(component_status_events::component_id.eq(&c.id))
            .filter(component_status_events::at.lt(window_start))
            .filter(public())
            .order(component_status_events::at.desc())
            .select(component_status_events::status)
            .first(conn)
            .optional()?;
        let evs = events.remove(&c.id).unwrap_or_default();
        let first_seen = evs.first().map(|e| e.0).unwrap_or(c.created_at);
        let mut current = before.clone();
        let mut idx = 0;
        let mut days = Vec::with_capacity(UPTIME_DAYS as usize);
        let (mut total_down, mut total_len) = (0.0f64, 0.0f64);
        for d in 0..i64::from(UPTIME_DAYS) {
            let start = window_start + d * DAY;
            let end = (start + DAY).min(now_ms);
            let mut t = start;
            let (mut down, mut known, mut worst) = (0.0f64, 0.0f64, ComponentStatus::Operational);
            let mut account =
                |from: i64, to: i64, status: &Option<String>, worst: &mut ComponentStatus| {
                    if let Some(s) = status {
                        let len = (to - from).max(0) as f64;
                        down += len * downtime_weight(s);
                        known += len;
                        if let Ok(st) = s.parse::<ComponentStatus>() {
                            if st.severity() > worst.severity() {
                                *worst = st;
                            }
                        }
                    }
                };
            while idx < evs.len() && evs[idx].0 < end {
                account(t, evs[idx].0, &current, &mut worst);
                t = evs[idx].0.max(start);
                current = Some(evs[idx].1.clone());
                idx += 1;
            }
            account(t, end, &current, &mut worst);
            let pct = if known > 0.0 {
                100.0 * (1.0 - down / known)
            } else {
                100.0
            };
            total_down += down;
            total_len += known;
            let recorded = known > 0.0 || start >= first_seen;
            days.push(sp::DayUptime {
                date: from_millis(start).format("%Y-%m-%d").to_string(),
                uptime_percent: (pct * 100.0).round() / 100.0,
                worst: if recorded {
                    worst.as_str().into()
                } else {
                    "no_data".into()
                },
            });
        }
        let pct = if total_len > 0.0 {
            100.0 * (1.0 - total_down / total_len)
        } else {
            100.0
        };
        out.push(sp::ComponentUptime {
            id: c.id.clone(),
            name: c.name.clone(),
            service: data
                .services
                .get(&c.service_id)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            region: c
                .region_id
                .as_ref()
                .and_then(|r| data.regions.get(r))
                .map(|r| r.code.clone()),
            group: c
                .group_id
                .as_deref()
                .and_then(|g| groups.get(g))
                .map(|g| g.to_string()),
            status: c.status.clone(),
            uptime_percent: (pct * 1000.0).round() / 1000.0,
            history: days,
        });
    }
    // Pages show groups in their order, then the components within each.
    let group_pos: HashMap<&str, i32> = data
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.position))
        .collect();
    out.sort_by_key(|c| {
        c.group
            .as_deref()
            .and_then(|g| group_pos.get(g).copied())
            .unwrap_or(i32::MAX)
    });
    Ok(sp::UptimeDoc {
        page: data.page(),
        days: UPTIME_DAYS,
        components: out,
    })
}
