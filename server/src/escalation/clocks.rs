//! The regimes' clocks as data, and the date arithmetic they count with. Pure: no database.
//!
//! A deadline is due at the earliest of its terms whose anchor exists; a term counts from a
//! decision of the party or from the filing of an earlier report. Offsets:
//! - hours: elapsed time (a daylight-saving change does not stretch or shrink it);
//! - days and months: on the clock's local calendar, at the same wall-clock time (one month
//!   after 31 January is the last day of February); a wall-clock time that a DST change
//!   skips moves forward by the gap, one it repeats takes the earlier instant;
//! - business days: the end (local midnight) of the n-th business day after the anchor's
//!   local date, skipping weekends, the calendar's holidays and the clock's own holidays.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, TimeZone, Utc,
    Weekday,
};
use chrono_tz::Tz;
use cirhub_shared::clocks::*;
use std::collections::HashMap;

/// What a term counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Decision(DecisionKind),
    /// The filing of the clock's deadline with this key.
    Filed(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    Minutes(i64),
    Hours(i64),
    Days(u64),
    BusinessDays(u32),
    Months(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub anchor: Anchor,
    pub offset: Offset,
}

/// One deadline of a regime.
#[derive(Debug, Clone)]
pub struct Def {
    pub key: &'static str,
    pub name: &'static str,
    pub terms: Vec<Term>,
    pub contents: &'static [&'static str],
}

/// The parameters a clock was started with that change its deadlines.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub contract_hours: Option<u32>,
    pub malicious: bool,
    /// The provider's targets for the incident's priority, in minutes from detection.
    pub response_minutes: Option<u32>,
    pub resolution_minutes: Option<u32>,
}

fn after(anchor: Anchor, offset: Offset) -> Term {
    Term { anchor, offset }
}

use Anchor::{Decision as D, Filed as F};
use DecisionKind::*;

/// A regime's name, default time zone and calendar.
pub fn header(r: Regime) -> (&'static str, &'static str, Calendar) {
    match r {
        Regime::GdprArt33 => (
            "GDPR Art. 33 (controller to the supervisory authority)",
            "UTC",
            Calendar::Weekends,
        ),
        Regime::GdprProcessor => (
            "GDPR Art. 33(2) (processor to its controller)",
            "UTC",
            Calendar::Weekends,
        ),
        Regime::Nis2Art23 => (
            "NIS2 Art. 23 (significant incident)",
            "UTC",
            Calendar::Weekends,
        ),
        Regime::Dora => (
            "DORA major ICT-related incident (RTS 2025/301)",
            "UTC",
            Calendar::Weekends,
        ),
        Regime::Sec8k105 => (
            "SEC Form 8-K Item 1.05",
            "America/New_York",
            Calendar::UsFederal,
        ),
        Regime::Appi => (
            "APPI (report to the Personal Information Protection Commission)",
            "Asia/Tokyo",
            Calendar::Weekends,
        ),
        Regime::ProviderTargets => (
            "Provider's priority targets (first customer notification, resolution)",
            "UTC",
            Calendar::Weekends,
        ),
    }
}

/// The deadlines of a regime as shipped, with a clock's parameters applied.
pub fn defs(r: Regime, p: &Params) -> Vec<Def> {
    match r {
        Regime::GdprArt33 => vec![Def {
            key: "authority",
            name: "Notification to the supervisory authority",
            terms: vec![after(D(Aware), Offset::Hours(72))],
            contents: &[
                "the nature of the breach: categories and approximate number of data subjects and of records concerned",
                "name and contact details of the data protection officer or other contact point",
                "the likely consequences of the breach",
                "the measures taken or proposed, including those to mitigate its possible adverse effects",
                "when later than 72 hours: the reasons for the delay (information may be given in phases)",
            ],
        }],
        Regime::GdprProcessor => vec![Def {
            key: "controller",
            name: "Notice to the controller (without undue delay; the contract's hours)",
            terms: vec![after(D(Aware), Offset::Hours(i64::from(p.contract_hours.unwrap_or(24))))],
            contents: &[
                "what happened and when the processor became aware of it",
                "the personal data and data subjects concerned, as far as known",
                "the measures taken and a contact point",
            ],
        }],
        Regime::Nis2Art23 => vec![
            Def {
                key: "early_warning",
                name: "Early warning",
                terms: vec![after(D(ClassifiedSignificant), Offset::Hours(24))],
                contents: &[
                    "whether the incident is suspected of being caused by unlawful or malicious acts",
                    "whether it could have a cross-border impact",
                ],
            },
            Def {
                key: "notification",
                name: "Incident notification",
                terms: vec![after(D(ClassifiedSignificant), Offset::Hours(72))],
                contents: &[
                    "an update of the early warning",
                    "an initial assessment of the incident: its severity and impact",
                    "indicators of compromise, where available",
                ],
            },
            Def {
                key: "final_report",
                name: "Final report",
                terms: vec![after(F("notification"), Offset::Months(1))],
                contents: &[
                    "a detailed description of the incident, its severity and impact",
                    "the type of threat or root cause that likely triggered it",
                    "applied and ongoing mitigation measures",
                    "the cross-border impact, where applicable",
                ],
            },
        ],
        Regime::Dora => vec![
            Def {
                key: "initial",
                name: "Initial notification",
                terms: vec![
                    after(D(ClassifiedMajor), Offset::Hours(4)),
                    after(D(Aware), Offset::Hours(24)),
                ],
                contents: &[
                    "general information on the financial entity and the incident",
                    "the classification criteria that made it major",
                    "when it was detected and when it was classified",
                    "the services and functions affected",
                ],
            },
            Def {
                key: "intermediate",
                name: "Intermediate report",
                terms: vec![after(F("initial"), Offset::Hours(72))],
                contents: &[
                    "updated classification and impact",
                    "the root cause, if known",
                    "actions taken and the status of recovery",
                ],
            },
            Def {
                key: "final",
                name: "Final report",
                terms: vec![after(F("intermediate"), Offset::Months(1))],
                contents: &[
                    "the root cause analysis",
                    "lessons learned and improvements",
                    "direct and indirect costs and losses",
                ],
            },
        ],
        Regime::Sec8k105 => vec![Def {
            key: "form_8k",
            name: "Form 8-K Item 1.05 filing",
            terms: vec![after(D(DeterminedMaterial), Offset::BusinessDays(4))],
            contents: &[
                "the material aspects of the nature, scope and timing of the incident",
                "its material impact or reasonably likely material impact on the registrant, including its financial condition and results of operations",
            ],
        }],
        Regime::Appi => vec![
            Def {
                key: "preliminary",
                name: "Preliminary report (promptly: in practice within 3 to 5 days)",
                terms: vec![after(D(Aware), Offset::Days(5))],
                contents: &[
                    "an outline of the situation, as far as known",
                    "the items of personal data concerned and the number of persons",
                    "the cause",
                    "whether secondary damage exists or may arise",
                    "the response to the persons concerned, and publication",
                    "measures to prevent recurrence",
                ],
            },
            Def {
                key: "confirmed",
                name: if p.malicious {
                    "Confirmed report (60 days: a malicious act)"
                } else {
                    "Confirmed report"
                },
                terms: vec![after(D(Aware), Offset::Days(if p.malicious { 60 } else { 30 }))],
                contents: &[
                    "every item of the preliminary report, complete and confirmed",
                ],
            },
        ],
        // Met by the incident itself: the first time a customer is sent or shown it, and its
        // resolution. A priority without a target has no such deadline.
        Regime::ProviderTargets => {
            let mut out = Vec::new();
            if let Some(m) = p.response_minutes {
                out.push(Def {
                    key: "response",
                    name: "First customer notification (the priority's response target)",
                    terms: vec![after(D(Detected), Offset::Minutes(i64::from(m)))],
                    contents: &["an update sent or shown to a customer the incident affects"],
                });
            }
            if let Some(m) = p.resolution_minutes {
                out.push(Def {
                    key: "resolution",
                    name: "Resolution (the priority's resolution target)",
                    terms: vec![after(D(Detected), Offset::Minutes(i64::from(m)))],
                    contents: &["the incident resolved"],
                });
            }
            out
        }
    }
}

/// A term in words: "72 h after aware", "1 month after the filing of notification".
pub fn describe(terms: &[Term]) -> String {
    let one = |t: &Term| {
        let offset = match t.offset {
            Offset::Minutes(m) => format!("{m} min"),
            Offset::Hours(h) => format!("{h} h"),
            Offset::Days(d) => format!("{d} days"),
            Offset::BusinessDays(d) => format!("the end of the {d}th business day"),
            Offset::Months(1) => "1 month".to_owned(),
            Offset::Months(m) => format!("{m} months"),
        };
        let anchor = match t.anchor {
            Anchor::Decision(k) => format!("the decision {k}"),
            Anchor::Filed(key) => format!("the filing of {key}"),
        };
        format!("{offset} after {anchor}")
    };
    match terms {
        [t] => one(t),
        _ => format!(
            "the earlier of {}",
            terms.iter().map(one).collect::<Vec<_>>().join(" and ")
        ),
    }
}

/// The instant of a local wall-clock time: a time a DST change skips moves forward by the
/// gap; one it repeats takes the earlier instant.
fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut t = local;
    for _ in 0..4 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) => return x.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => t += Duration::minutes(30),
        }
    }
    Utc.from_utc_datetime(&local)
}

/// Observed US federal holidays of `year` (5 U.S.C. 6103): a fixed date falling on a
/// Saturday is observed the Friday before, on a Sunday the Monday after.
fn us_federal(year: i32) -> Vec<NaiveDate> {
    let fixed = |m, d| {
        let date = NaiveDate::from_ymd_opt(year, m, d).expect("valid date");
        match date.weekday() {
            Weekday::Sat => date - Duration::days(1),
            Weekday::Sun => date + Duration::days(1),
            _ => date,
        }
    };
    let nth = |m, wd, n| NaiveDate::from_weekday_of_month_opt(year, m, wd, n).expect("valid date");
    let last_monday_may = {
        let mut d = NaiveDate::from_ymd_opt(year, 5, 31).expect("valid date");
        while d.weekday() != Weekday::Mon {
            d -= Duration::days(1);
        }
        d
    };
    vec![
        fixed(1, 1),
        nth(1, Weekday::Mon, 3),
        nth(2, Weekday::Mon, 3),
        last_monday_may,
        fixed(6, 19),
        fixed(7, 4),
        nth(9, Weekday::Mon, 1),
        nth(10, Weekday::Mon, 2),
        fixed(11, 11),
        nth(11, Weekday::Thu, 4),
        fixed(12, 25),
    ]
}

/// Whether `d` is a business day on `calendar` with the clock's own `holidays`.
pub fn is_business_day(d: NaiveDate, calendar: Calendar, holidays: &[NaiveDate]) -> bool {
    if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) || holidays.contains(&d) {
        return false;
    }
    match calendar {
        Calendar::Weekends => true,
        // Next year's New Year's Day can be observed on 31 December.
        Calendar::UsFederal => ![d.year(), d.year() + 1]
            .iter()
            .any(|y| us_federal(*y).contains(&d)),
    }
}

/// Where a clock counts: its zone, calendar and own holidays.
#[derive(Debug, Clone)]
pub struct Place {
    pub tz: Tz,
    pub calendar: Calendar,
    pub holidays: Vec<NaiveDate>,
}

impl Place {
    /// `from` moved by `offset`.
    pub fn add(&self, from: DateTime<Utc>, offset: Offset) -> DateTime<Utc> {
        let local = from.with_timezone(&self.tz).naive_local();
        match offset {
            Offset::Minutes(m) => from + Duration::minutes(m),
            Offset::Hours(h) => from + Duration::hours(h),
            Offset::Days(d) => resolve(self.tz, local + chrono::Days::new(d)),
            Offset::Months(m) => resolve(
                self.tz,
                local
                    .checked_add_months(Months::new(m))
                    .unwrap_or(NaiveDateTime::MAX),
            ),
            Offset::BusinessDays(n) => {
                let mut day = local.date();
                let mut counted = 0;
                while counted < n {
                    day = day.succ_opt().unwrap_or(NaiveDate::MAX);
                    if is_business_day(day, self.calendar, &self.holidays) {
                        counted += 1;
                    }
                }
                let end = day.succ_opt().unwrap_or(NaiveDate::MAX);
                resolve(self.tz, end.and_hms_opt(0, 0, 0).expect("midnight"))
            }
        }
    }
}

/// A filed report of a deadline.
#[derive(Debug, Clone)]
pub struct Filing {
    pub filed_at: DateTime<Utc>,
    pub filed_by: Option<String>,
    pub reference: Option<String>,
    pub late_reason: Option<String>,
}

/// When a deadline is due and when its time started (the anchor of the earliest term), or
/// `None` while none of its terms' anchors exists.
pub fn due(
    def: &Def,
    place: &Place,
    decisions: &HashMap<DecisionKind, DateTime<Utc>>,
    filings: &HashMap<String, Filing>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    def.terms
        .iter()
        .filter_map(|t| {
            let start = match t.anchor {
                Anchor::Decision(k) => *decisions.get(&k)?,
                Anchor::Filed(key) => filings.get(key)?.filed_at,
            };
            Some((place.add(start, t.offset), start))
        })
        .min()
}

/// A clock's deadlines as they stand at `now`.
pub fn evaluate(
    defs: &[Def],
    place: &Place,
    decisions: &HashMap<DecisionKind, DateTime<Utc>>,
    filings: &HashMap<String, Filing>,
    now: DateTime<Utc>,
) -> Vec<Deadline> {
    defs.iter()
        .map(|def| {
            let when = due(def, place, decisions, filings);
            let filing = filings.get(def.key);
            let state = match (when, filing) {
                (Some((due, _)), Some(f)) if f.filed_at > due => DeadlineState::Late,
                (_, Some(_)) => DeadlineState::Met,
                (None, None) => DeadlineState::Waiting,
                (Some((due, _)), None) if now > due => DeadlineState::Missed,
                (Some(_), None) => DeadlineState::Open,
            };
            let warn_at = match when {
                Some((due, start)) if due > start => {
                    let span = due - start;
                    vec![start + span / 2, start + span * 4 / 5]
                }
                _ => vec![],
            };
            Deadline {
                key: def.key.to_owned(),
                name: def.name.to_owned(),
                rule: describe(&def.terms),
                contents: def.contents.iter().map(|c| (*c).to_owned()).collect(),
                due_at: when.map(|w| w.0),
                warn_at,
                state,
                filed_at: filing.map(|f| f.filed_at),
                filed_by: filing.and_then(|f| f.filed_by.clone()),
                reference: filing.and_then(|f| f.reference.clone()),
                late_reason: filing.and_then(|f| f.late_reason.clone()),
                alerts: Vec::new(),
            }
        })
        .collect()
}

/// Every regime's clock as shipped (default parameters).
pub fn templates() -> Vec<Template> {
    Regime::ALL
        .iter()
        .map(|r| {
            let (name, tz, calendar) = header(*r);
            Template {
                regime: *r,
                name: name.to_owned(),
                time_zone: tz.to_owned(),
                calendar,
                deadlines: defs(*r, &Params::default())
                    .into_iter()
                    .map(|d| TemplateDeadline {
                        key: d.key.to_owned(),
                        name: d.name.to_owned(),
                        rule: describe(&d.terms),
                        contents: d.contents.iter().map(|c| (*c).to_owned()).collect(),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn place(tz: &str, calendar: Calendar, holidays: &[&str]) -> Place {
        Place {
            tz: tz.parse().unwrap(),
            calendar,
            holidays: holidays.iter().map(|d| d.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let sec = place("America/New_York", Calendar::UsFederal, &[]);
        // Determined Thursday 2026-11-19, 15:00 New York: Fri, Mon, Tue, Wed -> end of Wed 25th.
        let d = sec.add(at("2026-11-19T20:00:00Z"), Offset::BusinessDays(4));
        assert_eq!(d, at("2026-11-26T05:00:00Z"));
        // Over Thanksgiving (Thu 26 Nov 2026): Mon 23 -> Tue, Wed, Fri, Mon 30 -> end of 30th.
        let d = sec.add(at("2026-11-23T15:00:00Z"), Offset::BusinessDays(4));
        assert_eq!(d, at("2026-12-01T05:00:00Z"));
        // Christmas 2027 falls on a Saturday: observed Friday 24th. Wed 22 -> Thu 23, Mon 27,
        // Tue 28, Wed 29.
        let d = sec.add(at("2027-12-22T15:00:00Z"), Offset::BusinessDays(4));
        assert_eq!(d, at("2027-12-30T05:00:00Z"));
        // New Year's Day 2028 is a Saturday: observed Friday 31 December 2027.
        assert!(!is_business_day(
            "2027-12-31".parse().unwrap(),
            Calendar::UsFederal,
            &[]
        ));
        assert!(is_business_day(
            "2027-12-31".parse().unwrap(),
            Calendar::Weekends,
            &[]
        ));
        // A clock's own holiday counts too.
        let own = place("America/New_York", Calendar::UsFederal, &["2026-11-20"]);
        let d = own.add(at("2026-11-19T20:00:00Z"), Offset::BusinessDays(4));
        assert_eq!(
            d,
            at("2026-11-28T05:00:00Z"),
            "Fri 20 off, Thu 26 federal: Mon, Tue, Wed, Fri"
        );
        // The day counted from is the local date: 23:30 in New York on Thursday is Friday in UTC.
        let d = sec.add(at("2026-11-20T04:30:00Z"), Offset::BusinessDays(1));
        assert_eq!(
            d,
            at("2026-11-21T05:00:00Z"),
            "Thursday's next business day is Friday"
        );
    }

    #[test]
    fn one_month_ends_at_month_ends() {
        let utc = place("UTC", Calendar::Weekends, &[]);
        let m = Offset::Months(1);
        assert_eq!(
            utc.add(at("2026-01-31T10:00:00Z"), m),
            at("2026-02-28T10:00:00Z")
        );
        assert_eq!(
            utc.add(at("2028-01-31T10:00:00Z"), m),
            at("2028-02-29T10:00:00Z")
        );
        assert_eq!(
            utc.add(at("2026-03-31T10:00:00Z"), m),
            at("2026-04-30T10:00:00Z")
        );
        assert_eq!(
            utc.add(at("2026-12-15T10:00:00Z"), m),
            at("2027-01-15T10:00:00Z")
        );
    }

    #[test]
    fn hours_are_elapsed_time_and_days_keep_the_wall_clock_over_dst() {
        let berlin = place("Europe/Berlin", Calendar::Weekends, &[]);
        // Aware Saturday 28 March 2026, 12:00 CET (11:00Z); clocks go forward on the 29th.
        let aware = at("2026-03-28T11:00:00Z");
        assert_eq!(
            berlin.add(aware, Offset::Hours(72)),
            at("2026-03-31T11:00:00Z"),
            "13:00 CEST"
        );
        assert_eq!(
            berlin.add(aware, Offset::Days(5)),
            at("2026-04-02T10:00:00Z"),
            "12:00 CEST"
        );
        // A month from 28 February 02:30 is 28 March 02:30... and 29 March 02:30 does not exist.
        let gap = berlin.add(at("2026-02-28T01:30:00Z"), Offset::Months(1));
        assert_eq!(gap, at("2026-03-28T01:30:00Z"));
        let skipped = berlin.add(at("2026-02-28T01:30:00Z"), Offset::Days(29));
        assert_eq!(
            skipped,
            at("2026-03-29T01:00:00Z"),
            "02:30 skipped: 03:00 CEST"
        );
        // New York: business-day ends are local midnight on either side of the change.
        let sec = place("America/New_York", Calendar::UsFederal, &[]);
        let d = sec.add(at("2026-11-02T15:00:00Z"), Offset::BusinessDays(4));
        assert_eq!(d, at("2026-11-07T05:00:00Z"), "EST after 1 November");
        let d = sec.add(at("2026-10-26T15:00:00Z"), Offset::BusinessDays(4));
        assert_eq!(d, at("2026-10-31T04:00:00Z"), "EDT before");
    }

    #[test]
    fn dora_initial_is_the_earlier_of_its_terms_and_later_reports_wait_for_filings() {
        let defs = defs(Regime::Dora, &Params::default());
        let utc = place("UTC", Calendar::Weekends, &[]);
        let mut decisions = HashMap::new();
        let mut filings = HashMap::new();
        let now = at("2026-06-01T00:00:00Z");
        let d = evaluate(&defs, &utc, &decisions, &filings, now);
        assert!(d.iter().all(|x| x.state == DeadlineState::Waiting));
        decisions.insert(Aware, at("2026-06-01T00:00:00Z"));
        decisions.insert(ClassifiedMajor, at("2026-06-01T22:00:00Z"));
        let d = evaluate(&defs, &utc, &decisions, &filings, now);
        // 24 h after aware (June 2, 00:00) comes before 4 h after classification (02:00).
        assert_eq!(d[0].due_at, Some(at("2026-06-02T00:00:00Z")));
        assert_eq!(
            d[0].warn_at,
            vec![at("2026-06-01T12:00:00Z"), at("2026-06-01T19:12:00Z")]
        );
        assert_eq!(
            (d[0].state, d[1].state),
            (DeadlineState::Open, DeadlineState::Waiting)
        );
        filings.insert(
            "initial".to_owned(),
            Filing {
                filed_at: at("2026-06-02T01:00:00Z"),
                filed_by: None,
                reference: None,
                late_reason: Some("x".into()),
            },
        );
        let d = evaluate(
            &defs,
            &utc,
            &decisions,
            &filings,
            at("2026-06-06T00:00:00Z"),
        );
        assert_eq!(d[0].state, DeadlineState::Late);
        assert_eq!(d[1].due_at, Some(at("2026-06-05T01:00:00Z")));
        assert_eq!(d[1].state, DeadlineState::Missed);
    }
}
