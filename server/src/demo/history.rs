//! Four months of resolved incidents for the demo's response metrics: each with its
//! occurrence, detection, acknowledgement, containment, recovery and resolution, the
//! customers it reached (when, by what) and their acknowledgements, getting faster over the
//! months; one of them an exercise, which the metrics leave out.

use crate::auth::Caller;
use crate::customers::acknowledgements::mark_reached_at;
use crate::db::rows::AckRow;
use crate::db::schema::incident_acks;
use crate::error::AppError;
use crate::incidents::history::{record_past, Past};
use cirhub_shared::api::Component;
use cirhub_shared::*;
use diesel::prelude::*;

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// (title, impact, urgency, category, component).
const KINDS: &[(&str, Impact, Urgency, Category, &str)] = &[
    (
        "Elevated latency for the Compute API in us-east-1",
        Impact::Minor,
        Urgency::Medium,
        Category::SoftwareBug,
        "Compute (us-east-1)",
    ),
    (
        "Object Storage PUT errors in ap-northeast-1",
        Impact::Major,
        Urgency::High,
        Category::HardwareFailure,
        "Object Storage (ap-northeast-1)",
    ),
    (
        "Managed Database failovers in eu-west-1",
        Impact::Major,
        Urgency::Medium,
        Category::SoftwareBug,
        "Managed Database (eu-west-1)",
    ),
    (
        "Sign-in failures for Identity",
        Impact::Critical,
        Urgency::High,
        Category::CarrierOutage,
        "Identity (global)",
    ),
    (
        "DNS resolution delays",
        Impact::Minor,
        Urgency::Low,
        Category::CarrierOutage,
        "DNS (global)",
    ),
    (
        "Instance launch failures in ap-northeast-1",
        Impact::Major,
        Urgency::High,
        Category::SoftwareBug,
        "Compute (ap-northeast-1)",
    ),
    (
        "Dropped packets on hosts in eu-west-1",
        Impact::Minor,
        Urgency::Medium,
        Category::HardwareFailure,
        "Compute (eu-west-1)",
    ),
    (
        "Credential stuffing against the Identity API",
        Impact::Major,
        Urgency::High,
        Category::HackingDos,
        "Identity (global)",
    ),
];

/// Which demo customer runs on a component, and who of it acknowledges.
fn customer_of(component: &str) -> Option<(&'static str, Channel)> {
    match component {
        "Compute (ap-northeast-1)" | "Compute (us-east-1)" | "Object Storage (ap-northeast-1)" => {
            Some(("analyst@acme.example", Channel::Email))
        }
        "Managed Database (eu-west-1)" | "Identity (global)" | "DNS (global)" => {
            Some(("admin@globex.example", Channel::WebSocket))
        }
        _ => None,
    }
}

pub fn seed(
    c: &mut crate::db::DbConn,
    ops: &Caller,
    people: &[(&str, Caller)],
    comps: &[Component],
    now: i64,
) -> Result<(), AppError> {
    const N: i64 = 28;
    for i in 0..N {
        let (title, impact, urgency, category, component) = KINDS[i as usize % KINDS.len()];
        let Some(comp) = comps.iter().find(|x| x.name == component) else {
            continue;
        };
        // From 1.6 times today's pace four months ago down to 0.8 now.
        let f = 1.6 - 0.8 * i as f64 / (N - 1) as f64;
        let mins =
            |base: i64, spread: i64, k: i64| ((base + (i * k) % spread) as f64 * f) as i64 * MIN;
        let detected = now - (120 - i * 4 + i % 3) * DAY + (7 + i % 10) * 3_600_000;
        let occurred = detected - mins(12, 70, 37);
        let acknowledged = detected + mins(4, 25, 13);
        let contained = acknowledged + mins(15, 90, 29);
        let recovered = contained + mins(20, 240, 41);
        let resolved = recovered + 30 * MIN;
        let exercise = i == 13;
        let title = if exercise {
            format!("Exercise: {title}")
        } else {
            title.to_string()
        };
        let incident = record_past(
            c,
            ops,
            &Past {
                title,
                impact,
                urgency,
                category,
                component_ids: vec![comp.id.clone()],
                occurred_at: Some(occurred),
                detected_at: detected,
                acknowledged_at: Some(acknowledged),
                contained_at: Some(contained),
                recovered_at: Some(recovered),
                resolved_at: resolved,
                exercise,
                updates: vec![
                    (
                        IncidentStatus::Investigating,
                        "We are investigating reports of this issue.".into(),
                        detected,
                    ),
                    (
                        IncidentStatus::Identified,
                        "The cause is identified and a fix is being applied.".into(),
                        contained,
                    ),
                    (
                        IncidentStatus::Monitoring,
                        "Service is recovered; we are monitoring.".into(),
                        recovered,
                    ),
                    (
                        IncidentStatus::Resolved,
                        "This incident is resolved.".into(),
                        resolved,
                    ),
                ],
            },
        )?;
        let Some((email, channel)) = customer_of(component) else {
            continue;
        };
        let Some((_, who)) = people.iter().find(|(e, _)| *e == email) else {
            continue;
        };
        let reached = detected + mins(3, 20, 7);
        mark_reached_at(c, &incident.id, &who.org_id, channel, reached)?;
        // Every fifth one was never acknowledged by the customer.
        if i % 5 != 0 {
            diesel::insert_into(incident_acks::table)
                .values(&AckRow {
                    incident_id: incident.id.clone(),
                    customer_id: who.org_id.clone(),
                    user_id: who.user_id().map(Into::into),
                    user_name: who.actor.display_name().into(),
                    incident_version: incident.version,
                    acknowledged_at: reached + mins(5, 50, 11),
                })
                .execute(c)?;
        }
    }
    Ok(())
}
