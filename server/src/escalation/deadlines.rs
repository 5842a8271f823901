//! A party's decisions and clocks on an incident: record a decision (one of each kind, with
//! who, when and why, an audit entry), start a regime's clock, file a deadline's report (a
//! late one needs its reason). Each party runs its own: another organisation's decisions
//! and clocks do not exist for it, and an incident a party cannot see is a 404.

use super::audit;
use super::clocks::{self as rules, Filing, Params, Place};
use crate::db::rows::{new_id, parse_stored, IncidentRow};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use cirhub_shared::clocks::*;
use cirhub_shared::time::from_millis;
use cirhub_shared::{IncidentKind, Role};
use diesel::prelude::*;
use std::collections::HashMap;

/// Longest decision reason, filing reference and late reason.
const MAX_TEXT: usize = 4000;
/// Most extra holidays of one clock.
const MAX_HOLIDAYS: usize = 366;
/// How far ahead of the server's clock a stated time may be (clients' clocks drift).
const SKEW_MS: i64 = 60_000;

/// The incident, if the caller's organisation is its provider or a customer that sees it.
fn party_incident(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<IncidentRow, AppError> {
    let row = crate::incidents::record::party_incident(conn, &caller.org_id, id)?;
    if row.kind != IncidentKind::Incident.as_str() {
        return Err(AppError::Conflict(
            "Clocks run on incidents; this is a maintenance.".into(),
        ));
    }
    Ok(row)
}

fn stated_time(
    check: &mut Check,
    at: Option<chrono::DateTime<chrono::Utc>>,
    field: &str,
    now: i64,
) -> i64 {
    let t = at.map_or(now, |t| t.timestamp_millis());
    check.ensure(
        t <= now + SKEW_MS,
        field,
        "must not be in the future (leave it out for now)",
    );
    check.ensure(t >= 0, field, "must be after 1970");
    t
}

/// Records a decision of the caller's organisation (analyst or above); a second decision
/// of the same kind is a 409 naming the first.
pub fn decide(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    input: &DecisionInput,
    now: i64,
) -> Result<Clocks, AppError> {
    caller.require(Role::Analyst)?;
    party_incident(conn, caller, incident_id)?;
    let mut check = Check::new();
    let at = stated_time(&mut check, input.at, "at", now);
    check.ensure(
        input.kind != DecisionKind::Detected,
        "kind",
        "detected is the incident's own detected_at (its provider changes it on the incident); record aware, classified_significant, classified_major or determined_material",
    );
    check.text(&input.reason, "reason", MAX_TEXT).done()?;
    let earlier: Option<i64> = clock_decisions::table
        .filter(clock_decisions::incident_id.eq(incident_id))
        .filter(clock_decisions::organisation_id.eq(&caller.org_id))
        .filter(clock_decisions::kind.eq(input.kind.as_str()))
        .select(clock_decisions::at)
        .first(conn)
        .optional()?;
    if let Some(t) = earlier {
        return Err(AppError::Conflict(format!(
            "Your organisation already recorded {} on this incident, at {}.",
            input.kind,
            from_millis(t).to_rfc3339()
        )));
    }
    let id = new_id();
    diesel::insert_into(clock_decisions::table)
        .values((
            clock_decisions::id.eq(&id),
            clock_decisions::incident_id.eq(incident_id),
            clock_decisions::organisation_id.eq(&caller.org_id),
            clock_decisions::kind.eq(input.kind.as_str()),
            clock_decisions::at.eq(at),
            clock_decisions::reason.eq(input.reason.trim()),
            clock_decisions::decided_by.eq(caller.actor.id()),
            clock_decisions::decided_by_name.eq(caller.actor.display_name()),
            clock_decisions::recorded_at.eq(now),
        ))
        .execute(conn)?;
    audit(
        conn,
        caller,
        "clock.decision",
        incident_id,
        serde_json::json!({
            "decision_id": id, "kind": input.kind, "at": from_millis(at), "reason": input.reason.trim(),
        }),
    )?;
    super::alerts::schedule(conn, &caller.org_id, incident_id, now)?;
    list(conn, caller, incident_id, now)
}

/// Starts a regime's clock for the caller's organisation (analyst or above); one per
/// regime and incident.
pub fn start(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    input: &ClockInput,
    now: i64,
) -> Result<Clocks, AppError> {
    caller.require(Role::Analyst)?;
    let incident = party_incident(conn, caller, incident_id)?;
    let (_, default_tz, _) = rules::header(input.regime);
    let tz = input
        .time_zone
        .as_deref()
        .map(str::trim)
        .unwrap_or(default_tz);
    let mut check = Check::new();
    check.ensure(
        tz.parse::<chrono_tz::Tz>().is_ok(),
        "time_zone",
        "must be an IANA time zone such as Europe/Berlin or America/New_York",
    );
    check.ensure(
        input.holidays.len() <= MAX_HOLIDAYS,
        "holidays",
        &format!("may list at most {MAX_HOLIDAYS} days"),
    );
    match (input.regime, input.contract_hours) {
        (Regime::GdprProcessor, Some(h)) => check.ensure(
            (1..=720).contains(&h),
            "contract_hours",
            "must be between 1 and 720 hours",
        ),
        (_, Some(_)) => check.ensure(
            false,
            "contract_hours",
            "applies only to the gdpr_processor regime; leave it out",
        ),
        _ => &mut check,
    };
    if input.regime == Regime::ProviderTargets {
        check.ensure(
            incident.provider_id == caller.org_id,
            "regime",
            "provider_targets are the incident's provider's own; choose a regulatory regime",
        );
        check.ensure(
            incident.response_due_at.is_some() || incident.resolution_due_at.is_some(),
            "regime",
            &format!(
                "your priority policy sets no target for {}; set one (PUT /priority-policy) first",
                incident.priority
            ),
        );
    }
    check
        .ensure(
            !input.malicious || input.regime == Regime::Appi,
            "malicious",
            "applies only to the appi regime; leave it out",
        )
        .done()?;
    let taken: i64 = clocks::table
        .filter(clocks::incident_id.eq(incident_id))
        .filter(clocks::organisation_id.eq(&caller.org_id))
        .filter(clocks::regime.eq(input.regime.as_str()))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(AppError::Conflict(format!(
            "Your organisation already runs the {} clock on this incident.",
            input.regime
        )));
    }
    let mut holidays = input.holidays.clone();
    holidays.sort();
    holidays.dedup();
    let id = new_id();
    diesel::insert_into(clocks::table)
        .values((
            clocks::id.eq(&id),
            clocks::incident_id.eq(incident_id),
            clocks::organisation_id.eq(&caller.org_id),
            clocks::regime.eq(input.regime.as_str()),
            clocks::time_zone.eq(tz),
            clocks::holidays.eq(serde_json::to_string(&holidays).map_err(anyhow::Error::from)?),
            clocks::contract_hours.eq(input.contract_hours.map(|h| h as i32)),
            clocks::malicious.eq(input.malicious),
            clocks::started_by.eq(caller.actor.id()),
            clocks::created_at.eq(now),
        ))
        .execute(conn)?;
    audit(
        conn,
        caller,
        "clock.start",
        incident_id,
        serde_json::json!({"clock_id": id, "regime": input.regime, "time_zone": tz}),
    )?;
    super::alerts::schedule(conn, &caller.org_id, incident_id, now)?;
    list(conn, caller, incident_id, now)
}

/// Files the report of deadline `key` of one of the caller's organisation's clocks
/// (analyst or above). Filed after its due time, it needs `late_reason`; a deadline whose
/// start has not happened cannot be filed yet (409), nor one filed already.
pub fn file(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    clock_id: &str,
    key: &str,
    input: &FilingInput,
    now: i64,
) -> Result<Clocks, AppError> {
    caller.require(Role::Analyst)?;
    let incident = party_incident(conn, caller, incident_id)?;
    let row = load_clock(conn, &caller.org_id, incident_id, clock_id)?
        .ok_or(AppError::NotFound("clock"))?;
    let (defs, place) = setup(&row, &incident)?;
    let def = defs
        .iter()
        .find(|d| d.key == key)
        .ok_or(AppError::NotFound("deadline"))?;
    if row.1 == Regime::ProviderTargets.as_str() {
        return Err(AppError::Conflict(
            "The provider's targets are met by the incident itself: the response when a customer is first sent or shown it, the resolution when it is resolved.".into(),
        ));
    }
    let decisions = anchors(conn, &caller.org_id, &incident)?;
    let filings = filings(conn, &row, &incident)?;
    if filings.contains_key(key) {
        return Err(AppError::Conflict(format!(
            "The {key} report is filed already."
        )));
    }
    let Some((due, _)) = rules::due(def, &place, &decisions, &filings) else {
        return Err(AppError::Conflict(format!(
            "The {key} deadline has not started: it counts from {}.",
            rules::describe(&def.terms)
        )));
    };
    let mut check = Check::new();
    let filed_at = stated_time(&mut check, input.filed_at, "filed_at", now);
    let reference = input
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    check.max_len(reference.unwrap_or_default(), "reference", MAX_TEXT);
    let late_reason = input
        .late_reason
        .as_deref()
        .filter(|r| !crate::text::is_blank(r))
        .map(str::trim);
    check.max_len(late_reason.unwrap_or_default(), "late_reason", MAX_TEXT);
    let late = filed_at > due.timestamp_millis();
    check
        .ensure(
            !late || late_reason.is_some(),
            "late_reason",
            &format!(
                "is required: the report is filed after its due time {}; say why",
                due.to_rfc3339()
            ),
        )
        .done()?;
    diesel::insert_into(clock_filings::table)
        .values((
            clock_filings::clock_id.eq(clock_id),
            clock_filings::deadline_key.eq(key),
            clock_filings::filed_at.eq(filed_at),
            clock_filings::filed_by.eq(caller.actor.id()),
            clock_filings::reference.eq(reference),
            clock_filings::late_reason.eq(late_reason),
            clock_filings::recorded_at.eq(now),
        ))
        .execute(conn)?;
    audit(
        conn,
        caller,
        "clock.file",
        incident_id,
        serde_json::json!({
            "clock_id": clock_id, "deadline": key, "due_at": due, "filed_at": from_millis(filed_at),
            "late": late, "late_reason": late_reason,
        }),
    )?;
    super::alerts::schedule(conn, &caller.org_id, incident_id, now)?;
    list(conn, caller, incident_id, now)
}

pub(super) type ClockRow = (
    String,
    String,
    String,
    Option<i32>,
    bool,
    Option<String>,
    i64,
    String,
);

fn load_clock(
    conn: &mut DbConn,
    org: &str,
    incident_id: &str,
    id: &str,
) -> Result<Option<ClockRow>, AppError> {
    Ok(clocks::table
        .find(id)
        .filter(clocks::organisation_id.eq(org))
        .filter(clocks::incident_id.eq(incident_id))
        .select(columns())
        .first(conn)
        .optional()?)
}

#[allow(clippy::type_complexity)]
pub(super) fn columns() -> (
    clocks::id,
    clocks::regime,
    clocks::time_zone,
    clocks::contract_hours,
    clocks::malicious,
    clocks::started_by,
    clocks::created_at,
    clocks::holidays,
) {
    (
        clocks::id,
        clocks::regime,
        clocks::time_zone,
        clocks::contract_hours,
        clocks::malicious,
        clocks::started_by,
        clocks::created_at,
        clocks::holidays,
    )
}

/// A stored clock's deadlines and where it counts (the provider's targets are those of
/// the incident's priority as it stands).
pub(super) fn setup(
    row: &ClockRow,
    incident: &IncidentRow,
) -> Result<(Vec<rules::Def>, Place), AppError> {
    let regime: Regime = parse_stored(&row.1, "regime")?;
    let minutes = |due: Option<i64>| {
        due.zip(incident.detected_at)
            .map(|(due, from)| ((due - from) / 60_000).max(0) as u32)
    };
    let params = Params {
        contract_hours: row.3.map(|h| h as u32),
        malicious: row.4,
        response_minutes: minutes(incident.response_due_at),
        resolution_minutes: minutes(incident.resolution_due_at),
    };
    let (_, _, calendar) = rules::header(regime);
    let tz: chrono_tz::Tz = row.2.parse().map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "clock {} time zone {:?}: {e}",
            row.0,
            row.2
        ))
    })?;
    let holidays = serde_json::from_str(&row.7)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("clock {} holidays: {e}", row.0)))?;
    Ok((
        rules::defs(regime, &params),
        Place {
            tz,
            calendar,
            holidays,
        },
    ))
}

/// What `org`'s clocks on an incident count from: its decisions, and for the incident's
/// provider the incident's own detection.
pub(super) fn anchors(
    conn: &mut DbConn,
    org: &str,
    incident: &IncidentRow,
) -> Result<HashMap<DecisionKind, chrono::DateTime<chrono::Utc>>, AppError> {
    let mut out = decisions_of(conn, org, &incident.id)?;
    if let Some(d) = incident.detected_at.filter(|_| incident.provider_id == org) {
        out.insert(DecisionKind::Detected, from_millis(d));
    }
    Ok(out)
}

/// A clock's filings: those recorded, and for the provider's targets what the incident
/// itself did — the first time a customer was sent or shown it, its resolution.
pub(super) fn filings(
    conn: &mut DbConn,
    row: &ClockRow,
    incident: &IncidentRow,
) -> Result<HashMap<String, Filing>, AppError> {
    let mut out = filings_of(conn, &row.0)?;
    if row.1 == Regime::ProviderTargets.as_str() {
        let reached: Option<i64> = incident_reach::table
            .filter(incident_reach::incident_id.eq(&incident.id))
            .select(diesel::dsl::min(incident_reach::reached_at))
            .first(conn)?;
        let done = [
            (
                "response",
                reached,
                "a customer was first sent or shown the incident",
            ),
            (
                "resolution",
                incident.resolved_at,
                "the incident was resolved",
            ),
        ];
        for (key, at, what) in done {
            if let Some(at) = at {
                out.insert(
                    key.into(),
                    Filing {
                        filed_at: from_millis(at),
                        filed_by: None,
                        reference: Some(what.into()),
                        late_reason: None,
                    },
                );
            }
        }
    }
    Ok(out)
}

fn decisions_of(
    conn: &mut DbConn,
    org: &str,
    incident_id: &str,
) -> Result<HashMap<DecisionKind, chrono::DateTime<chrono::Utc>>, AppError> {
    let rows: Vec<(String, i64)> = clock_decisions::table
        .filter(clock_decisions::incident_id.eq(incident_id))
        .filter(clock_decisions::organisation_id.eq(org))
        .select((clock_decisions::kind, clock_decisions::at))
        .load(conn)?;
    rows.into_iter()
        .map(|(k, at)| Ok((parse_stored(&k, "decision kind")?, from_millis(at))))
        .collect()
}

fn filings_of(conn: &mut DbConn, clock_id: &str) -> Result<HashMap<String, Filing>, AppError> {
    type FilingRow = (String, i64, Option<String>, Option<String>, Option<String>);
    let rows: Vec<FilingRow> = clock_filings::table
        .filter(clock_filings::clock_id.eq(clock_id))
        .select((
            clock_filings::deadline_key,
            clock_filings::filed_at,
            clock_filings::filed_by,
            clock_filings::reference,
            clock_filings::late_reason,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(key, at, by, reference, late_reason)| {
            (
                key,
                Filing {
                    filed_at: from_millis(at),
                    filed_by: by,
                    reference,
                    late_reason,
                },
            )
        })
        .collect())
}

/// The caller's organisation's decisions and clocks on an incident, as they stand at `now`.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    incident_id: &str,
    now: i64,
) -> Result<Clocks, AppError> {
    let incident = party_incident(conn, caller, incident_id)?;
    type DecisionRow = (String, String, i64, String, Option<String>, String, i64);
    let rows: Vec<DecisionRow> = clock_decisions::table
        .filter(clock_decisions::incident_id.eq(incident_id))
        .filter(clock_decisions::organisation_id.eq(&caller.org_id))
        .order(clock_decisions::at.asc())
        .select((
            clock_decisions::id,
            clock_decisions::kind,
            clock_decisions::at,
            clock_decisions::reason,
            clock_decisions::decided_by,
            clock_decisions::decided_by_name,
            clock_decisions::recorded_at,
        ))
        .load(conn)?;
    let mut decisions = Vec::with_capacity(rows.len());
    for (id, kind, at, reason, by, by_name, recorded) in rows {
        decisions.push(Decision {
            id,
            kind: parse_stored(&kind, "decision kind")?,
            at: from_millis(at),
            reason,
            decided_by: by,
            decided_by_name: by_name,
            recorded_at: from_millis(recorded),
        });
    }
    let anchors = anchors(conn, &caller.org_id, &incident)?;
    let stored: Vec<ClockRow> = clocks::table
        .filter(clocks::incident_id.eq(incident_id))
        .filter(clocks::organisation_id.eq(&caller.org_id))
        .order(clocks::created_at.asc())
        .select(columns())
        .load(conn)?;
    let mut out = Vec::with_capacity(stored.len());
    for row in stored {
        let (defs, place) = setup(&row, &incident)?;
        let filings = filings(conn, &row, &incident)?;
        let regime: Regime = parse_stored(&row.1, "regime")?;
        let mut alerts = super::alerts::sent(conn, &row.0)?;
        let mut deadlines = rules::evaluate(&defs, &place, &anchors, &filings, from_millis(now));
        for d in &mut deadlines {
            d.alerts = alerts.remove(&d.key).unwrap_or_default();
        }
        out.push(Clock {
            deadlines,
            id: row.0,
            incident_id: incident_id.to_owned(),
            organisation_id: caller.org_id.clone(),
            regime,
            name: rules::header(regime).0.to_owned(),
            time_zone: row.2,
            calendar: place.calendar,
            holidays: place.holidays,
            contract_hours: row.3.map(|h| h as u32),
            malicious: row.4,
            started_by: row.5,
            created_at: from_millis(row.6),
        });
    }
    Ok(Clocks {
        decisions,
        clocks: out,
    })
}
