//! Response metrics (CSA CIR 5.4.1.1) from the recorded instants: the incident's lifecycle
//! milestones, the provider's escalation acknowledgement, the first time each customer was
//! reached and each customer's acknowledgement. Exercises are left out. A provider sees its
//! own incidents and every customer's side of them; a customer sees its providers' incidents
//! that reached it and only its own side. Formulas: [`Measure::formula`].

use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use crate::identity::Caller;
use cirhub_shared::metrics::*;
use cirhub_shared::time::from_millis;
use cirhub_shared::{Channel, IncidentKind};
use diesel::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Incidents detected in `[from, to)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Range {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

const CHUNK: usize = 500;

/// Every incident's instants and measures the caller may see (its provenance view).
pub fn samples(
    conn: &mut DbConn,
    caller: &Caller,
    range: Range,
    channel: Channel,
) -> Result<Samples, AppError> {
    let org: OrgRow = organisations::table
        .find(&caller.org_id)
        .select(OrgRow::as_select())
        .first(conn)?;
    let provider = org.is_provider;
    let rows: Vec<IncidentRow> = if provider {
        let mut q = incidents::table
            .filter(incidents::provider_id.eq(&org.id))
            .filter(incidents::kind.eq(IncidentKind::Incident.as_str()))
            .into_boxed();
        if let Some(f) = range.from {
            q = q.filter(incidents::detected_at.ge(f));
        }
        if let Some(t) = range.to {
            q = q.filter(incidents::detected_at.lt(t));
        }
        q.select(IncidentRow::as_select()).load(conn)?
    } else {
        // What reached the customer, or what it acknowledged.
        let mut ids: HashSet<String> = incident_reach::table
            .filter(incident_reach::customer_id.eq(&org.id))
            .select(incident_reach::incident_id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        ids.extend(
            incident_acks::table
                .filter(incident_acks::customer_id.eq(&org.id))
                .select(incident_acks::incident_id)
                .load::<String>(conn)?,
        );
        let ids: Vec<String> = ids.into_iter().collect();
        let mut rows = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            rows.extend(
                incidents::table
                    .filter(incidents::id.eq_any(chunk))
                    .filter(incidents::kind.eq(IncidentKind::Incident.as_str()))
                    .select(IncidentRow::as_select())
                    .load::<IncidentRow>(conn)?,
            );
        }
        rows.retain(|r| {
            let d = r.detected_at.unwrap_or(r.created_at);
            range.from.is_none_or(|f| d >= f) && range.to.is_none_or(|t| d < t)
        });
        // Only what it may see today (an incident made internal since is gone), and each
        // non-public incident's version shown is a disclosure.
        let mut seen = Vec::with_capacity(rows.len());
        for r in rows {
            if crate::customers::visibility::customer_sees(conn, &org.id, &r)?.is_some() {
                seen.push(r);
            }
        }
        disclose(conn, caller, &seen, channel)?;
        seen
    };
    let (exercises, mut rows): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.exercise);
    rows.sort_by(|a, b| {
        (a.detected_at.unwrap_or(a.created_at), &a.id)
            .cmp(&(b.detected_at.unwrap_or(b.created_at), &b.id))
    });
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let only = (!provider).then_some(org.id.as_str());
    let escalated = escalation_acks(conn, &ids)?;
    let reach = reaches(conn, &ids, only)?;
    let acks = customer_acks(conn, &ids, only)?;
    let edits = super::milestones::counts(conn, &ids)?;
    let mut orgs: HashSet<String> = rows.iter().map(|r| r.provider_id.clone()).collect();
    orgs.extend(reach.keys().map(|(_, c)| c.clone()));
    orgs.extend(acks.keys().map(|(_, c)| c.clone()));
    let names = names(conn, orgs.into_iter().collect())?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let detected = row.detected_at.unwrap_or(row.created_at);
        let (acknowledged, source) = match row.acknowledged_at {
            Some(a) => (Some(a), Some("milestone")),
            None => match escalated.get(&(row.id.clone(), row.provider_id.clone())) {
                Some(a) => (Some(*a), Some("escalation")),
                None => (None, None),
            },
        };
        let mut customers: Vec<String> = reach
            .keys()
            .chain(acks.keys())
            .filter(|(i, _)| *i == row.id)
            .map(|(_, c)| c.clone())
            .collect();
        customers.sort();
        customers.dedup();
        let customers = customers
            .into_iter()
            .map(|c| {
                let key = (row.id.clone(), c.clone());
                let reached = reach.get(&key);
                let acked = acks.get(&key).copied();
                CustomerSample {
                    customer_name: names.get(&c).cloned().unwrap_or_default(),
                    customer_id: c,
                    reached_at: reached.map(|r| from_millis(r.1)),
                    reached_by: reached.and_then(|r| r.0),
                    acknowledged_at: acked.map(from_millis),
                    notify_secs: reached.map(|r| secs(detected, r.1)),
                    acknowledge_secs: reached.zip(acked).map(|(r, a)| secs(r.1, a.max(r.1))),
                }
            })
            .collect();
        let detect = row.occurred_at.map(|o| secs(o, detected));
        let ack = acknowledged.map(|a| secs(detected, a));
        let recover = acknowledged.zip(row.recovered_at).map(|(a, r)| secs(a, r));
        out.push(Sample {
            incident_id: row.id.clone(),
            incident_version: row.version,
            title: row.title.clone(),
            provider_id: row.provider_id.clone(),
            provider_name: names.get(&row.provider_id).cloned().unwrap_or_default(),
            priority: parse_stored(&row.priority, "priority")?,
            month: month(detected),
            occurred_at: row.occurred_at.map(from_millis),
            detected_at: from_millis(detected),
            acknowledged_at: acknowledged.map(from_millis),
            acknowledged_source: source.map(Into::into),
            contained_at: row.contained_at.map(from_millis),
            recovered_at: row.recovered_at.map(from_millis),
            resolved_at: row.resolved_at.map(from_millis),
            milestone_edits: edits.get(&row.id).copied().unwrap_or(0),
            detect_secs: detect,
            acknowledge_secs: ack,
            recover_secs: recover,
            contain_secs: match (detect, ack, recover) {
                (Some(d), Some(a), Some(r)) => Some(d + a + r),
                _ => None,
            },
            customers,
        });
    }
    Ok(Samples {
        perspective: perspective(provider).into(),
        exercises_excluded: exercises.len() as u32,
        samples: out,
    })
}

fn disclose(
    conn: &mut DbConn,
    caller: &Caller,
    rows: &[IncidentRow],
    channel: Channel,
) -> Result<(), AppError> {
    use crate::audit::{versions, Event};
    let shown: Vec<&IncidentRow> = rows
        .iter()
        .filter(|r| r.visibility != cirhub_shared::Visibility::Public.as_str())
        .collect();
    let keys: Vec<(&str, i32)> = shown.iter().map(|r| (r.id.as_str(), r.version)).collect();
    let hashes = versions::hashes(conn, versions::INCIDENT, &keys)?;
    let events: Vec<Event<'_>> = shown
        .iter()
        .map(|r| {
            Event::disclosure(
                &caller.actor,
                &caller.org_id,
                versions::INCIDENT,
                &r.id,
                Some(r.version),
                hashes.get(&(r.id.clone(), r.version)).cloned(),
                channel,
            )
        })
        .collect();
    crate::audit::journal::stage(&events, false)
}

/// The aggregate of [`samples`], grouped.
pub fn aggregate(
    conn: &mut DbConn,
    caller: &Caller,
    by: GroupBy,
    range: Range,
    channel: Channel,
) -> Result<ResponseMetrics, AppError> {
    let s = samples(conn, caller, range, channel)?;
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    let mut total = Acc::new("total".into(), "All incidents".into());
    for x in &s.samples {
        total.add(x, None);
        match by {
            GroupBy::Month => group(&mut groups, &x.month, &x.month).add(x, None),
            GroupBy::Priority => {
                group(&mut groups, x.priority.as_str(), x.priority.as_str()).add(x, None)
            }
            GroupBy::Provider => group(&mut groups, &x.provider_id, &x.provider_name).add(x, None),
            GroupBy::Customer => {
                for c in &x.customers {
                    group(&mut groups, &c.customer_id, &c.customer_name)
                        .add(x, Some(&c.customer_id));
                }
            }
        }
    }
    let mut groups: Vec<Group> = groups.into_values().map(Acc::finish).collect();
    match by {
        GroupBy::Month | GroupBy::Priority => groups.sort_by(|a, b| a.key.cmp(&b.key)),
        GroupBy::Provider | GroupBy::Customer => {
            groups.sort_by(|a, b| (&a.label, &a.key).cmp(&(&b.label, &b.key)))
        }
    }
    Ok(ResponseMetrics {
        organisation_id: caller.org_id.clone(),
        perspective: s.perspective,
        by,
        from: range.from.map(from_millis),
        to: range.to.map(from_millis),
        exercises_excluded: s.exercises_excluded,
        definitions: definitions(),
        total: total.finish(),
        groups,
    })
}

pub fn definitions() -> Vec<Definition> {
    Measure::ALL
        .iter()
        .map(|m| Definition {
            measure: *m,
            abbrev: m.abbrev().into(),
            name: m.name().into(),
            formula: m.formula().into(),
        })
        .collect()
}

fn perspective(provider: bool) -> &'static str {
    if provider {
        "provider"
    } else {
        "customer"
    }
}

fn group<'g>(groups: &'g mut BTreeMap<String, Acc>, key: &str, label: &str) -> &'g mut Acc {
    groups
        .entry(key.to_string())
        .or_insert_with(|| Acc::new(key.into(), label.into()))
}

/// Seconds from `a` to `b` (milliseconds).
fn secs(a: i64, b: i64) -> f64 {
    (b - a) as f64 / 1000.0
}

fn month(ms: i64) -> String {
    from_millis(ms).format("%Y-%m").to_string()
}

/// A group's samples while they are collected.
struct Acc {
    key: String,
    label: String,
    incidents: HashSet<String>,
    open: HashSet<String>,
    values: HashMap<Measure, Vec<f64>>,
    pending: HashMap<Measure, u32>,
}

impl Acc {
    fn new(key: String, label: String) -> Acc {
        Acc {
            key,
            label,
            incidents: HashSet::new(),
            open: HashSet::new(),
            values: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Adds an incident's samples: all of them, or (`customer`) only that customer's side.
    fn add(&mut self, x: &Sample, customer: Option<&str>) {
        self.incidents.insert(x.incident_id.clone());
        let open = x.resolved_at.is_none();
        if open {
            self.open.insert(x.incident_id.clone());
        }
        let mut put = |m: Measure, v: Option<f64>, started: bool| match v {
            Some(v) => self.values.entry(m).or_default().push(v),
            None if started && open => *self.pending.entry(m).or_default() += 1,
            None => {}
        };
        if customer.is_none() {
            put(Measure::Detect, x.detect_secs, false);
            put(Measure::ProviderAcknowledge, x.acknowledge_secs, true);
            put(
                Measure::Recover,
                x.recover_secs,
                x.acknowledged_at.is_some(),
            );
            put(Measure::Contain, x.contain_secs, x.occurred_at.is_some());
        }
        for c in x
            .customers
            .iter()
            .filter(|c| customer.is_none_or(|id| id == c.customer_id))
        {
            put(Measure::Notify, c.notify_secs, false);
            put(
                Measure::CustomerAcknowledge,
                c.acknowledge_secs,
                c.reached_at.is_some(),
            );
        }
    }

    fn finish(mut self) -> Group {
        let stats = Measure::ALL
            .iter()
            .map(|m| {
                let mut v = self.values.remove(m).unwrap_or_default();
                stat(*m, &mut v, self.pending.get(m).copied().unwrap_or(0))
            })
            .collect();
        Group {
            key: self.key,
            label: self.label,
            incidents: self.incidents.len() as u32,
            open: self.open.len() as u32,
            stats,
        }
    }
}

/// Mean, median and nearest-rank p90 of `values`.
pub fn stat(measure: Measure, values: &mut [f64], pending: u32) -> Stat {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let (mean, median, p90) = if n == 0 {
        (None, None, None)
    } else {
        let mean = values.iter().sum::<f64>() / n as f64;
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        let rank = (n * 9).div_ceil(10).max(1);
        (Some(mean), Some(median), Some(values[rank - 1]))
    };
    Stat {
        measure,
        n: n as u32,
        pending,
        mean_secs: mean.map(round),
        median_secs: median.map(round),
        p90_secs: p90.map(round),
    }
}

/// The provider's own escalation acknowledgement per incident, where it has one.
fn escalation_acks(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<HashMap<(String, String), i64>, AppError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, String, Option<i64>)> = escalations::table
            .inner_join(incidents::table.on(incidents::id.eq(escalations::incident_id)))
            .filter(escalations::incident_id.eq_any(chunk))
            .filter(escalations::organisation_id.eq(incidents::provider_id))
            .filter(escalations::state.eq("acknowledged"))
            .select((
                escalations::incident_id,
                escalations::organisation_id,
                escalations::ended_at,
            ))
            .load(conn)?;
        for (i, o, at) in rows {
            if let Some(at) = at {
                out.insert((i, o), at);
            }
        }
    }
    Ok(out)
}

type Reach = HashMap<(String, String), (Option<Channel>, i64)>;

fn reaches(conn: &mut DbConn, ids: &[String], only: Option<&str>) -> Result<Reach, AppError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut q = incident_reach::table
            .filter(incident_reach::incident_id.eq_any(chunk))
            .into_boxed();
        if let Some(c) = only {
            q = q.filter(incident_reach::customer_id.eq(c));
        }
        let rows: Vec<(String, String, String, i64)> = q
            .select((
                incident_reach::incident_id,
                incident_reach::customer_id,
                incident_reach::channel,
                incident_reach::reached_at,
            ))
            .load(conn)?;
        for (i, c, ch, at) in rows {
            out.insert((i, c), (ch.parse().ok(), at));
        }
    }
    Ok(out)
}

fn customer_acks(
    conn: &mut DbConn,
    ids: &[String],
    only: Option<&str>,
) -> Result<HashMap<(String, String), i64>, AppError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut q = incident_acks::table
            .filter(incident_acks::incident_id.eq_any(chunk))
            .into_boxed();
        if let Some(c) = only {
            q = q.filter(incident_acks::customer_id.eq(c));
        }
        let rows: Vec<(String, String, i64)> = q
            .select((
                incident_acks::incident_id,
                incident_acks::customer_id,
                incident_acks::acknowledged_at,
            ))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(i, c, at)| ((i, c), at)));
    }
    Ok(out)
}

fn names(conn: &mut DbConn, ids: Vec<String>) -> Result<HashMap<String, String>, AppError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, String)> = organisations::table
            .filter(organisations::id.eq_any(chunk))
            .select((organisations::id, organisations::name))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// A text cell that a spreadsheet would not run as a formula.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn io(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("cannot write CSV: {e}"))
}

/// The aggregate as CSV: one row per group and measure, the total first.
pub fn aggregate_csv(m: &ResponseMetrics) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "group",
        "label",
        "incidents",
        "open",
        "measure",
        "abbrev",
        "n",
        "pending",
        "mean_secs",
        "median_secs",
        "p90_secs",
    ])
    .map_err(io)?;
    for g in std::iter::once(&m.total).chain(&m.groups) {
        for s in &g.stats {
            w.write_record([
                cell(&g.key),
                cell(&g.label),
                g.incidents.to_string(),
                g.open.to_string(),
                s.measure.as_str().into(),
                s.measure.abbrev().into(),
                s.n.to_string(),
                s.pending.to_string(),
                num(s.mean_secs),
                num(s.median_secs),
                num(s.p90_secs),
            ])
            .map_err(io)?;
        }
    }
    w.into_inner().map_err(io)
}

/// The samples as CSV: one row per incident and customer (one row with empty customer
/// columns for an incident that reached none).
pub fn samples_csv(s: &Samples) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "incident_id",
        "incident_version",
        "title",
        "provider",
        "priority",
        "month",
        "occurred_at",
        "detected_at",
        "acknowledged_at",
        "acknowledged_source",
        "contained_at",
        "recovered_at",
        "resolved_at",
        "milestone_edits",
        "detect_secs",
        "provider_acknowledge_secs",
        "recover_secs",
        "contain_secs",
        "customer",
        "reached_at",
        "reached_by",
        "customer_acknowledged_at",
        "notify_secs",
        "customer_acknowledge_secs",
    ])
    .map_err(io)?;
    for x in &s.samples {
        let head = [
            x.incident_id.clone(),
            x.incident_version.to_string(),
            cell(&x.title),
            cell(&x.provider_name),
            x.priority.as_str().into(),
            x.month.clone(),
            time(x.occurred_at),
            time(Some(x.detected_at)),
            time(x.acknowledged_at),
            x.acknowledged_source.clone().unwrap_or_default(),
            time(x.contained_at),
            time(x.recovered_at),
            time(x.resolved_at),
            x.milestone_edits.to_string(),
            num(x.detect_secs),
            num(x.acknowledge_secs),
            num(x.recover_secs),
            num(x.contain_secs),
        ];
        let none = [
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ];
        let tails: Vec<[String; 6]> = if x.customers.is_empty() {
            vec![none]
        } else {
            x.customers
                .iter()
                .map(|c| {
                    [
                        cell(&c.customer_name),
                        time(c.reached_at),
                        c.reached_by
                            .map(|b| b.as_str().to_string())
                            .unwrap_or_default(),
                        time(c.acknowledged_at),
                        num(c.notify_secs),
                        num(c.acknowledge_secs),
                    ]
                })
                .collect()
        };
        for tail in tails {
            w.write_record(head.iter().chain(tail.iter())).map_err(io)?;
        }
    }
    w.into_inner().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_p90() {
        let s = stat(Measure::Recover, &mut [5.0, 1.0, 3.0, 2.0], 1);
        assert_eq!(s.n, 4);
        assert_eq!(s.pending, 1);
        assert_eq!(s.mean_secs, Some(2.8));
        assert_eq!(s.median_secs, Some(2.5));
        // ⌈0.9·4⌉ = 4: the largest.
        assert_eq!(s.p90_secs, Some(5.0));
        let mut ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let s = stat(Measure::Recover, &mut ten, 0);
        assert_eq!((s.median_secs, s.p90_secs), (Some(5.5), Some(9.0)));
        let s = stat(Measure::Recover, &mut [7.0], 0);
        assert_eq!(
            (s.mean_secs, s.median_secs, s.p90_secs),
            (Some(7.0), Some(7.0), Some(7.0))
        );
        let s = stat(Measure::Recover, &mut [], 3);
        assert_eq!((s.n, s.mean_secs, s.pending), (0, None, 3));
    }

    #[test]
    fn spreadsheet_formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-1+1"), "'-1+1");
        assert_eq!(cell("Outage"), "Outage");
    }
}
