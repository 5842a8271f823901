//! Escalation: each organisation's policy of who is told of an incident, through which
//! channel, and whom next when nobody acknowledges.
//!
//! - [`policy`]: the policy as a versioned record (each saved version is a record version
//!   named by its hash, so an escalation in flight names the exact version it runs on), its
//!   validation, and the directory of the organisation's people it resolves targets against.
//! - [`lint`]: what a saved policy leaves uncovered (gaps in priority x category, in and out
//!   of business hours), rules and levels that can never be reached, targets that reach nobody.
//! - [`route`]: which rule routes an incident, and the timeline of its ladder if nobody
//!   acknowledges (the simulator, and the escalations themselves).
//! - [`run`]: escalations in flight: started with an incident, one job row per step,
//!   ended by the party's acknowledgement or the incident's resolution.
//! - [`ack`]: acknowledging (API, console, WebSocket frame, the mail's single-use link) and
//!   "seen"; [`view`]: a party's escalation with each notice's delivery state.
//! - [`clocks`] (the regimes' deadline rules, pure) and [`deadlines`] (a party's decisions,
//!   clocks and filings); [`alerts`]: each deadline's warnings at half and 80 % of its time
//!   and its miss, sent to the party's ladder.
//!
//! Loops cannot be written down: a level waits at least a minute, and repeats of a level or
//! of a ladder are bounded (at most 9, as PagerDuty bounds a policy's repeats).

pub mod ack;
pub mod alerts;
pub mod clocks;
pub mod deadlines;
pub mod lint;
pub mod policy;
pub mod route;
pub mod run;
pub mod view;

/// An audit entry of the caller's organisation about an incident.
fn audit(
    conn: &mut crate::db::DbConn,
    caller: &crate::identity::Caller,
    action: &str,
    incident_id: &str,
    detail: serde_json::Value,
) -> Result<(), crate::error::AppError> {
    crate::audit::append(
        conn,
        crate::audit::Event::change(
            &caller.actor,
            &caller.org_id,
            action,
            "incident",
            incident_id,
        )
        .detail(detail),
    )?;
    Ok(())
}
