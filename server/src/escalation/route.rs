//! Which rule of a policy routes an incident, and the timeline of that rule's ladder if
//! nobody acknowledges: the simulator's answer, and the plan an escalation follows.

use super::policy::{time_of_day, Directory, Stored};
use chrono::{DateTime, Datelike, Duration, Utc};
use cirhub_shared::escalation::*;
use cirhub_shared::{Category, Priority, Visibility};
use std::collections::BTreeMap;

/// What routing looks at in an incident, from one party's side.
#[derive(Debug, Clone)]
pub struct Case {
    pub priority: Priority,
    pub category: Category,
    /// The services and regions of the components the incident affects.
    pub services: Vec<String>,
    pub regions: Vec<String>,
    pub visibility: Visibility,
    /// Whether the incident touches what the party subscribed to or mapped.
    pub in_scope: bool,
}

/// Whether `at` falls in the policy's business hours, in its time zone (daylight saving
/// included: the zone's offset on that date).
pub fn in_business_hours(policy: &Stored, at: DateTime<Utc>) -> bool {
    let tz: chrono_tz::Tz = policy.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = at.with_timezone(&tz);
    let day = match local.weekday() {
        chrono::Weekday::Mon => Weekday::Mon,
        chrono::Weekday::Tue => Weekday::Tue,
        chrono::Weekday::Wed => Weekday::Wed,
        chrono::Weekday::Thu => Weekday::Thu,
        chrono::Weekday::Fri => Weekday::Fri,
        chrono::Weekday::Sat => Weekday::Sat,
        chrono::Weekday::Sun => Weekday::Sun,
    };
    let bh = &policy.business_hours;
    let (Some(start), Some(end)) = (time_of_day(&bh.start), time_of_day(&bh.end)) else {
        return false;
    };
    let t = local.time();
    bh.days.contains(&day) && t >= start && t < end
}

/// Whether a list condition holds: empty matches anything, otherwise one of the values.
fn within<T: PartialEq>(list: &[T], values: &[T]) -> bool {
    list.is_empty() || values.iter().any(|v| list.contains(v))
}

/// Whether a rule's conditions hold for a case at a time in or out of business hours.
pub fn matches(m: &RuleMatch, case: &Case, business: bool) -> bool {
    within(&m.priorities, &[case.priority])
        && within(&m.categories, &[case.category])
        && within(&m.services, &case.services)
        && within(&m.regions, &case.regions)
        && within(&m.visibility, &[case.visibility])
        && m.in_scope.is_none_or(|s| s == case.in_scope)
        && match m.hours {
            Hours::Any => true,
            Hours::Business => business,
            Hours::OutsideBusiness => !business,
        }
}

/// The first rule that matches (its index), if any.
pub fn route(policy: &Stored, case: &Case, business: bool) -> Option<usize> {
    policy
        .rules
        .iter()
        .position(|r| matches(&r.when, case, business))
}

/// The persons one level reaches and how: each person once, with every usable channel of
/// every target naming them.
pub fn recipients(level: &Level, dir: &Directory) -> Vec<Recipient> {
    let mut by_person: BTreeMap<&str, Recipient> = BTreeMap::new();
    for t in &level.targets {
        let channels = dir.usable(t);
        if channels.is_empty() {
            continue;
        }
        let via = match t.kind {
            TargetKind::User => "user".to_owned(),
            TargetKind::Role => format!("role:{}", t.id),
            TargetKind::Contact => format!("contact:{}", t.id),
        };
        for p in dir.resolve(t) {
            let r = by_person.entry(&p.id).or_insert_with(|| Recipient {
                user_id: p.id.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                via: via.clone(),
                channels: Vec::new(),
            });
            for c in &channels {
                if !r.channels.contains(c) {
                    r.channels.push(*c);
                }
            }
        }
    }
    by_person.into_values().collect()
}

/// The steps of a rule's ladder from `start` if nobody acknowledges, and when it is
/// exhausted (None: it waits at a last level for good).
pub fn timeline(
    rule: &Rule,
    dir: &Directory,
    start: DateTime<Utc>,
) -> (Vec<Step>, Option<DateTime<Utc>>) {
    let mut steps = Vec::new();
    let mut after: u64 = 0;
    for pass in 1..=rule.repeat + 1 {
        for (k, level) in rule.levels.iter().enumerate() {
            for attempt in 1..=level.repeat + 1 {
                steps.push(Step {
                    at: start + Duration::minutes(after as i64),
                    after_minutes: after,
                    level: k + 1,
                    attempt,
                    pass,
                    recipients: recipients(level, dir),
                });
                match level.wait_minutes {
                    Some(w) => after += u64::from(w),
                    None => return (steps, None),
                }
            }
        }
    }
    (steps, Some(start + Duration::minutes(after as i64)))
}

/// The simulator: the rule that routes the case at `start` and its timeline.
pub fn simulate(
    policy: &Stored,
    version: Option<i32>,
    dir: &Directory,
    case: &Case,
    start: DateTime<Utc>,
) -> Simulation {
    let business = in_business_hours(policy, start);
    let rule = route(policy, case, business);
    let (steps, exhausted_at) = match rule {
        Some(i) => timeline(&policy.rules[i], dir, start),
        None => (Vec::new(), Some(start)),
    };
    Simulation {
        rule,
        rule_name: rule.map(|i| policy.rules[i].name.clone()),
        business_hours: business,
        steps,
        exhausted_at,
        policy_version: version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::policy::Person;
    use chrono::TimeZone;
    use cirhub_shared::Role;

    fn dir() -> Directory {
        let person = |id: &str, role| Person {
            id: id.into(),
            name: id.to_uppercase(),
            email: format!("{id}@example.com"),
            role,
            contact: None,
        };
        Directory {
            people: vec![
                person("ana", Role::Analyst),
                person("bob", Role::Analyst),
                person("cho", Role::Admin),
            ],
            webhook: false,
        }
    }

    fn target(kind: TargetKind, id: &str, channels: &[NotifyChannel]) -> Target {
        Target {
            kind,
            id: id.into(),
            channels: channels.to_vec(),
        }
    }

    fn tokyo(rules: Vec<Rule>) -> Stored {
        Stored {
            time_zone: "Asia/Tokyo".into(),
            business_hours: BusinessHours::default(),
            rules,
        }
    }

    #[test]
    fn business_hours_are_read_in_the_policy_zone_across_daylight_saving() {
        let p = tokyo(vec![]);
        // 00:30 UTC on a Monday is 09:30 in Tokyo.
        let monday = Utc.with_ymd_and_hms(2026, 12, 7, 0, 30, 0).unwrap();
        assert!(in_business_hours(&p, monday));
        // 08:30 UTC is 17:30 there: closed; Saturday morning too.
        assert!(!in_business_hours(&p, monday + Duration::hours(8)));
        let saturday = Utc.with_ymd_and_hms(2026, 12, 5, 1, 0, 0).unwrap();
        assert!(!in_business_hours(&p, saturday));
        // Berlin: 08:30 UTC is 09:30 in winter (CET) and 10:30 in summer (CEST); 07:30 UTC
        // is 08:30 in winter (closed) and 09:30 in summer (open).
        let berlin = Stored {
            time_zone: "Europe/Berlin".into(),
            ..tokyo(vec![])
        };
        let winter = Utc.with_ymd_and_hms(2026, 3, 27, 7, 30, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 3, 30, 7, 30, 0).unwrap();
        assert!(!in_business_hours(&berlin, winter));
        assert!(in_business_hours(&berlin, summer));
    }

    #[test]
    fn the_first_matching_rule_routes_and_the_ladder_climbs_with_repeats() {
        let p1 = Rule {
            name: "P1 security".into(),
            when: RuleMatch {
                priorities: vec![Priority::P1],
                categories: vec![Category::Ransomware],
                ..RuleMatch::default()
            },
            levels: vec![
                Level {
                    targets: vec![target(
                        TargetKind::Role,
                        "analyst",
                        &[NotifyChannel::Email, NotifyChannel::WebSocket],
                    )],
                    wait_minutes: Some(5),
                    repeat: 1,
                },
                Level {
                    targets: vec![
                        target(TargetKind::User, "cho", &[NotifyChannel::Email]),
                        // A webhook the organisation lacks reaches nobody.
                        target(TargetKind::User, "ana", &[NotifyChannel::Webhook]),
                    ],
                    wait_minutes: Some(15),
                    repeat: 0,
                },
            ],
            repeat: 1,
        };
        let rest = Rule {
            name: "everything else".into(),
            when: RuleMatch::default(),
            levels: vec![Level {
                targets: vec![target(TargetKind::User, "bob", &[NotifyChannel::Email])],
                wait_minutes: None,
                repeat: 0,
            }],
            repeat: 0,
        };
        let p = tokyo(vec![p1, rest]);
        let case = Case {
            priority: Priority::P1,
            category: Category::Ransomware,
            services: Vec::new(),
            regions: Vec::new(),
            visibility: Visibility::Public,
            in_scope: true,
        };
        let start = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
        let s = simulate(&p, Some(3), &dir(), &case, start);
        assert_eq!(s.rule, Some(0));
        let at: Vec<(u64, usize, u32, u32)> = s
            .steps
            .iter()
            .map(|x| (x.after_minutes, x.level, x.attempt, x.pass))
            .collect();
        // Level 1 twice 5 min apart, level 2 after 10 min, then the ladder once more.
        assert_eq!(
            at,
            [
                (0, 1, 1, 1),
                (5, 1, 2, 1),
                (10, 2, 1, 1),
                (25, 1, 1, 2),
                (30, 1, 2, 2),
                (35, 2, 1, 2)
            ]
        );
        assert_eq!(s.exhausted_at, Some(start + Duration::minutes(50)));
        let first: Vec<&str> = s.steps[0]
            .recipients
            .iter()
            .map(|r| r.user_id.as_str())
            .collect();
        assert_eq!(first, ["ana", "bob"]);
        assert_eq!(
            s.steps[0].recipients[0].channels,
            [NotifyChannel::Email, NotifyChannel::WebSocket]
        );
        let second: Vec<&str> = s.steps[2]
            .recipients
            .iter()
            .map(|r| r.user_id.as_str())
            .collect();
        assert_eq!(second, ["cho"]);
        // Another case falls to the catch-all, whose only level waits for good.
        let other = Case {
            priority: Priority::P3,
            ..case
        };
        let s = simulate(&p, Some(3), &dir(), &other, start);
        assert_eq!((s.rule, s.steps.len(), s.exhausted_at), (Some(1), 1, None));
    }
}
