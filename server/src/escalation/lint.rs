//! What a policy leaves uncovered or can never use, reported when it is saved and read:
//! gaps (a priority x category, in or out of business hours, that no rule routes for every
//! incident, or whose rule reaches nobody), rules an earlier rule always takes first, levels
//! after one that waits for good, and targets that no channel or nobody answers to.

use super::policy::{Directory, Stored};
use cirhub_shared::escalation::*;
use cirhub_shared::{Category, Priority};

/// Every finding of a policy, in the order of the policy.
pub fn lint(p: &Stored, dir: &Directory) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, rule) in p.rules.iter().enumerate() {
        targets(i, rule, dir, &mut out);
        levels(i, rule, &mut out);
        if let Some(j) = p.rules[..i]
            .iter()
            .position(|e| covers(&e.when, &rule.when))
        {
            out.push(Finding {
                code: FindingCode::UnreachableRule,
                path: format!("/rules/{i}"),
                message: format!(
                    "rule {} (\"{}\") matches every incident this rule matches, so this rule never routes one",
                    j + 1,
                    p.rules[j].name
                ),
            });
        }
    }
    gaps(p, dir, &mut out);
    out
}

fn targets(i: usize, rule: &Rule, dir: &Directory, out: &mut Vec<Finding>) {
    for (k, level) in rule.levels.iter().enumerate() {
        for (m, t) in level.targets.iter().enumerate() {
            let path = format!("/rules/{i}/levels/{k}/targets/{m}");
            if dir.usable(t).is_empty() {
                let message = if t.channels.is_empty() {
                    "names no channel: add email or websocket".to_owned()
                } else {
                    "only names the webhook, and the organisation has none: add email or websocket"
                        .to_owned()
                };
                out.push(Finding {
                    code: FindingCode::NoChannel,
                    path: path.clone(),
                    message,
                });
            }
            let undelivered: Vec<&str> = t
                .channels
                .iter()
                .filter(|c| !super::run::DELIVERED.contains(c))
                .map(|c| c.as_str())
                .collect();
            if !undelivered.is_empty() {
                out.push(Finding {
                    code: FindingCode::Undelivered,
                    path: path.clone(),
                    message: format!(
                        "escalations deliver e-mail and WebSocket so far: {} reaches nobody{}",
                        undelivered.join(" and "),
                        if t.channels.iter().any(|c| super::run::DELIVERED.contains(c)) {
                            ""
                        } else {
                            "; add email or websocket"
                        }
                    ),
                });
            }
            // Contacts are the incident's: who they are is known only when a step runs.
            if t.kind != TargetKind::Contact && dir.resolve(t).next().is_none() {
                out.push(Finding {
                    code: FindingCode::NoOne,
                    path,
                    message: match t.kind {
                        TargetKind::Role => {
                            format!("nobody in the organisation holds the role {}", t.id)
                        }
                        TargetKind::User => "the user no longer exists".to_owned(),
                        TargetKind::Contact => String::new(),
                    },
                });
            }
        }
    }
}

fn levels(i: usize, rule: &Rule, out: &mut Vec<Finding>) {
    let Some(last) = rule.levels.iter().position(|l| l.wait_minutes.is_none()) else {
        return;
    };
    for k in last + 1..rule.levels.len() {
        out.push(Finding {
            code: FindingCode::UnreachableLevel,
            path: format!("/rules/{i}/levels/{k}"),
            message: format!(
                "level {} waits for good (no wait_minutes), so level {} is never reached",
                last + 1,
                k + 1
            ),
        });
    }
    if rule.repeat > 0 {
        out.push(Finding {
            code: FindingCode::UnreachableLevel,
            path: format!("/rules/{i}/repeat"),
            message: format!(
                "the ladder never starts again: level {} waits for good",
                last + 1
            ),
        });
    }
}

/// Whether every incident `inner` matches is matched by `outer`.
fn covers(outer: &RuleMatch, inner: &RuleMatch) -> bool {
    fn list<T: PartialEq>(o: &[T], i: &[T]) -> bool {
        o.is_empty() || (!i.is_empty() && i.iter().all(|x| o.contains(x)))
    }
    list(&outer.priorities, &inner.priorities)
        && list(&outer.categories, &inner.categories)
        && list(&outer.services, &inner.services)
        && list(&outer.regions, &inner.regions)
        && list(&outer.visibility, &inner.visibility)
        && (outer.in_scope.is_none() || outer.in_scope == inner.in_scope)
        && (outer.hours == Hours::Any || outer.hours == inner.hours)
}

/// Whether a rule with levels reaches someone at any of them.
fn reaches_anyone(rule: &Rule, dir: &Directory) -> bool {
    rule.levels.iter().any(|l| {
        !super::route::recipients(l, dir).is_empty()
            || l.targets
                .iter()
                .any(|t| t.kind == TargetKind::Contact && !dir.usable(t).is_empty())
    })
}

/// Why incidents of one priority x category at one part of the week reach nobody, if they
/// may: no rule routes all of them, or a rule that routes some reaches nobody.
fn gap_of(p: &Stored, reach: &[bool], pr: Priority, c: Category, h: Hours) -> Option<String> {
    for (i, rule) in p.rules.iter().enumerate() {
        let m = &rule.when;
        let applies = (m.priorities.is_empty() || m.priorities.contains(&pr))
            && (m.categories.is_empty() || m.categories.contains(&c))
            && (m.hours == Hours::Any || m.hours == h);
        if !applies {
            continue;
        }
        // A rule without levels routes to nobody on purpose (e.g. P5: no response needed).
        if !rule.levels.is_empty() && !reach[i] {
            return Some(format!("rule {} (\"{}\") reaches nobody", i + 1, rule.name));
        }
        let all = m.services.is_empty()
            && m.regions.is_empty()
            && m.visibility.is_empty()
            && m.in_scope.is_none();
        if all {
            return None;
        }
    }
    Some("no rule routes every such incident".to_owned())
}

fn gaps(p: &Stored, dir: &Directory, out: &mut Vec<Finding>) {
    let reach: Vec<bool> = p.rules.iter().map(|r| reaches_anyone(r, dir)).collect();
    for pr in Priority::ALL {
        for (h, when) in [
            (Hours::Business, "in business hours"),
            (Hours::OutsideBusiness, "outside business hours"),
        ] {
            // Categories with the same reason form one finding.
            let mut by_reason: Vec<(String, Vec<Category>)> = Vec::new();
            for c in Category::ALL {
                if let Some(reason) = gap_of(p, &reach, *pr, *c, h) {
                    match by_reason.iter_mut().find(|(r, _)| *r == reason) {
                        Some((_, cs)) => cs.push(*c),
                        None => by_reason.push((reason, vec![*c])),
                    }
                }
            }
            for (reason, cs) in by_reason {
                let names = |list: Vec<&Category>| {
                    list.iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let others: Vec<&Category> =
                    Category::ALL.iter().filter(|c| !cs.contains(c)).collect();
                let which = if others.is_empty() {
                    "every category".to_owned()
                } else if others.len() < cs.len() {
                    format!("every category but {}", names(others))
                } else {
                    names(cs.iter().collect())
                };
                out.push(Finding {
                    code: FindingCode::Gap,
                    path: "/rules".into(),
                    message: format!("{pr} {when}, {which}: {reason}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::policy::Person;
    use cirhub_shared::Role;

    fn level(kind: TargetKind, id: &str, channels: &[NotifyChannel], wait: Option<u32>) -> Level {
        Level {
            targets: vec![Target {
                kind,
                id: id.into(),
                channels: channels.to_vec(),
            }],
            wait_minutes: wait,
            repeat: 0,
        }
    }

    fn rule(name: &str, when: RuleMatch, levels: Vec<Level>) -> Rule {
        Rule {
            name: name.into(),
            when,
            levels,
            repeat: 0,
        }
    }

    #[test]
    fn gaps_unreachable_rules_and_levels_and_silent_targets_are_found() {
        let dir = Directory {
            people: vec![Person {
                id: "ana".into(),
                name: "Ana".into(),
                email: "ana@example.com".into(),
                role: Role::Analyst,
                contact: None,
            }],
            webhook: false,
        };
        let email = [NotifyChannel::Email];
        let p = Stored {
            rules: vec![
                // P1 and P2 in business hours go to the analysts.
                rule(
                    "urgent by day",
                    RuleMatch {
                        priorities: vec![Priority::P1, Priority::P2],
                        hours: Hours::Business,
                        ..RuleMatch::default()
                    },
                    vec![
                        level(TargetKind::Role, "analyst", &email, None),
                        level(TargetKind::User, "ana", &email, Some(5)),
                    ],
                ),
                // P1 out of hours goes to the operators, and there are none.
                rule(
                    "urgent at night",
                    RuleMatch {
                        priorities: vec![Priority::P1],
                        hours: Hours::OutsideBusiness,
                        ..RuleMatch::default()
                    },
                    vec![level(TargetKind::Role, "operator", &email, Some(5))],
                ),
                // Never reached: the first rule takes every P2 in business hours.
                rule(
                    "P2 by day",
                    RuleMatch {
                        priorities: vec![Priority::P2],
                        categories: vec![Category::Ransomware],
                        hours: Hours::Business,
                        ..RuleMatch::default()
                    },
                    vec![level(
                        TargetKind::User,
                        "ana",
                        &[NotifyChannel::Webhook],
                        Some(5),
                    )],
                ),
                // P5: nobody, on purpose.
                rule(
                    "P5",
                    RuleMatch {
                        priorities: vec![Priority::P5],
                        ..RuleMatch::default()
                    },
                    vec![],
                ),
            ],
            ..Stored::empty()
        };
        let found: Vec<(FindingCode, String)> = lint(&p, &dir)
            .into_iter()
            .map(|f| (f.code, format!("{} {}", f.path, f.message)))
            .collect();
        let has = |code: FindingCode, text: &str| {
            assert!(
                found.iter().any(|(c, m)| *c == code && m.contains(text)),
                "no {code} finding with {text:?} in {found:#?}"
            )
        };
        has(
            FindingCode::UnreachableLevel,
            "/rules/0/levels/1 level 1 waits for good",
        );
        has(
            FindingCode::NoOne,
            "/rules/1/levels/0/targets/0 nobody in the organisation holds the role operator",
        );
        has(
            FindingCode::UnreachableRule,
            "/rules/2 rule 1 (\"urgent by day\")",
        );
        has(
            FindingCode::NoChannel,
            "/rules/2/levels/0/targets/0 only names the webhook",
        );
        has(
            FindingCode::Undelivered,
            "/rules/2/levels/0/targets/0 escalations deliver e-mail and WebSocket so far: webhook reaches nobody; add email or websocket",
        );
        has(FindingCode::Gap, "P1 outside business hours, every category: rule 2 (\"urgent at night\") reaches nobody");
        has(
            FindingCode::Gap,
            "P2 outside business hours, every category: no rule routes every such incident",
        );
        has(
            FindingCode::Gap,
            "P3 in business hours, every category: no rule",
        );
        // Covered cases are not gaps: P1 and P2 by day, P5 at any time.
        for text in ["P1 in business hours", "P2 in business hours", "P5"] {
            assert!(
                !found
                    .iter()
                    .any(|(c, m)| *c == FindingCode::Gap && m.contains(text)),
                "{text} reported as a gap: {found:#?}"
            );
        }
        // A policy that routes everything to someone reachable has no findings.
        let fine = Stored {
            rules: vec![rule(
                "all",
                RuleMatch::default(),
                vec![level(TargetKind::Role, "analyst", &email, Some(10))],
            )],
            ..Stored::empty()
        };
        assert_eq!(lint(&fine, &dir), []);
    }
}
