//! The escalation policy of an organisation as a versioned record: `escalation_policies`
//! holds the version in force, `record_versions` every version's canonical body.

use super::lint;
use crate::audit::{self, versions, Event};
use crate::db::rows::{now_ms, parse_stored};
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use chrono::NaiveTime;
use cirhub_shared::escalation::*;
use cirhub_shared::time::from_millis;
use cirhub_shared::Role;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Object type of policy versions in `record_versions` (id: the organisation).
pub const POLICY: &str = "escalation_policy";

/// What a version stores: the policy without its edit bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub time_zone: String,
    pub business_hours: BusinessHours,
    pub rules: Vec<Rule>,
}

impl Stored {
    /// The policy an organisation has before it saves one: no rules (every case a gap).
    pub fn empty() -> Stored {
        Stored {
            time_zone: "UTC".into(),
            business_hours: BusinessHours::default(),
            rules: Vec::new(),
        }
    }

    fn of(input: &PolicyInput) -> Stored {
        Stored {
            time_zone: input.time_zone.trim().to_owned(),
            business_hours: input.business_hours.clone(),
            rules: input.rules.clone(),
        }
    }
}

/// A person of the organisation, as targets resolve to them.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// A contact of an incident's record (no account): its role there.
    pub contact: Option<cirhub_shared::record::ContactRole>,
}

/// The notice id of an incident contact (they have no user id): `contact:` and the address.
pub const CONTACT: &str = "contact:";

/// The organisation's people (not deleted) and what its channels can reach.
#[derive(Debug, Clone)]
pub struct Directory {
    pub people: Vec<Person>,
    /// Whether the organisation has a webhook to call (none can be configured yet).
    pub webhook: bool,
}

impl Directory {
    pub fn load(conn: &mut DbConn, org: &str) -> Result<Directory, AppError> {
        let rows: Vec<(String, String, String, String)> = users::table
            .filter(users::organisation_id.eq(org))
            .filter(users::deleted_at.is_null())
            .order(users::email.asc())
            .select((users::id, users::name, users::email, users::role))
            .load(conn)?;
        let mut people = Vec::with_capacity(rows.len());
        for (id, name, email, role) in rows {
            people.push(Person {
                id,
                name,
                email,
                role: parse_stored(&role, "role")?,
                contact: None,
            });
        }
        Ok(Directory {
            people,
            webhook: false,
        })
    }

    /// The persons a target names.
    pub fn resolve<'a>(&'a self, t: &'a Target) -> impl Iterator<Item = &'a Person> + 'a {
        self.people.iter().filter(move |p| match t.kind {
            TargetKind::User => p.contact.is_none() && p.id == t.id,
            TargetKind::Role => p.contact.is_none() && p.role.as_str() == t.id,
            TargetKind::Contact => p.contact.is_some_and(|c| c.as_str() == t.id),
        })
    }

    /// With the contacts (that have an e-mail address) of the organisation's own record of
    /// an incident, for its contact targets.
    pub fn with_contacts(
        mut self,
        conn: &mut DbConn,
        org: &str,
        incident_id: &str,
    ) -> Result<Directory, AppError> {
        for c in crate::incidents::record::contacts(conn, org, incident_id)? {
            if let Some(email) = c.email {
                self.people.push(Person {
                    id: format!("{CONTACT}{email}"),
                    name: c.name,
                    email,
                    role: Role::Viewer,
                    contact: Some(c.role),
                });
            }
        }
        Ok(self)
    }

    /// The channels of a target that can reach someone.
    pub fn usable(&self, t: &Target) -> Vec<NotifyChannel> {
        t.channels
            .iter()
            .copied()
            .filter(|c| *c != NotifyChannel::Webhook || self.webhook)
            // A contact has no account to stream to: e-mail only.
            .filter(|c| t.kind != TargetKind::Contact || *c == NotifyChannel::Email)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

/// "HH:MM" as a time of day.
pub fn time_of_day(text: &str) -> Option<NaiveTime> {
    (text.len() == 5)
        .then(|| NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten()
}

/// The organisations whose catalogue a policy may name services and regions of: the
/// organisation itself and the providers it has an active relationship with.
fn catalogue_owners(conn: &mut DbConn, org: &str) -> Result<Vec<String>, AppError> {
    let mut owners: Vec<String> = relationships::table
        .filter(relationships::customer_id.eq(org))
        .filter(relationships::status.eq("active"))
        .select(relationships::provider_id)
        .load(conn)?;
    owners.push(org.to_owned());
    Ok(owners)
}

/// Refuses (422, every problem named by its field) what cannot be stored; what can be stored
/// but leaves cases uncovered is the lint's to report.
fn validate(
    conn: &mut DbConn,
    org: &str,
    input: &PolicyInput,
    dir: &Directory,
) -> Result<(), AppError> {
    let mut check = Check::new();
    check.ensure(
        input.time_zone.trim().parse::<chrono_tz::Tz>().is_ok(),
        "time_zone",
        "must be an IANA time zone, e.g. Europe/Berlin, Asia/Tokyo or UTC",
    );
    let bh = &input.business_hours;
    check.ensure(
        !bh.days.is_empty(),
        "business_hours.days",
        "must name at least one day (mon … sun)",
    );
    check.ensure(
        bh.days.iter().collect::<BTreeSet<_>>().len() == bh.days.len(),
        "business_hours.days",
        "must not name a day twice",
    );
    let (start, end) = (time_of_day(&bh.start), time_of_day(&bh.end));
    check.ensure(
        start.is_some(),
        "business_hours.start",
        "must be a time of day as HH:MM, e.g. 09:00",
    );
    check.ensure(
        end.is_some(),
        "business_hours.end",
        "must be a time of day as HH:MM, e.g. 17:00",
    );
    if let (Some(s), Some(e)) = (start, end) {
        check.ensure(e > s, "business_hours.end", "must be after start");
    }
    check.ensure(
        input.rules.len() <= MAX_RULES,
        "rules",
        &format!("must hold at most {MAX_RULES} rules"),
    );
    let owners = catalogue_owners(conn, org)?;
    for (i, rule) in input.rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        check.text(&rule.name, &format!("{at}.name"), 200);
        check.ensure(
            rule.repeat <= MAX_REPEAT,
            &format!("{at}.repeat"),
            &format!("must be between 0 and {MAX_REPEAT}"),
        );
        check.ensure(
            rule.levels.len() <= MAX_LEVELS,
            &format!("{at}.levels"),
            &format!("must hold at most {MAX_LEVELS} levels (none: the rule routes to nobody on purpose)"),
        );
        for (field, n) in [
            ("priorities", rule.when.priorities.len()),
            ("categories", rule.when.categories.len()),
            ("services", rule.when.services.len()),
            ("regions", rule.when.regions.len()),
            ("visibility", rule.when.visibility.len()),
        ] {
            check.ensure(
                n <= MAX_CONDITIONS,
                &format!("{at}.match.{field}"),
                &format!("must hold at most {MAX_CONDITIONS} values"),
            );
        }
        for (j, id) in rule.when.services.iter().take(MAX_CONDITIONS).enumerate() {
            let known: i64 = services::table
                .filter(services::id.eq(id))
                .filter(services::provider_id.eq_any(&owners))
                .count()
                .get_result(conn)?;
            check.ensure(
                known == 1,
                &format!("{at}.match.services[{j}]"),
                "is not a service of this organisation or of a provider it has an active relationship with",
            );
        }
        for (j, id) in rule.when.regions.iter().take(MAX_CONDITIONS).enumerate() {
            let known: i64 = regions::table
                .filter(regions::id.eq(id))
                .filter(regions::provider_id.eq_any(&owners))
                .count()
                .get_result(conn)?;
            check.ensure(
                known == 1,
                &format!("{at}.match.regions[{j}]"),
                "is not a region of this organisation or of a provider it has an active relationship with",
            );
        }
        for (k, level) in rule.levels.iter().enumerate() {
            let at = format!("{at}.levels[{k}]");
            check.ensure(
                !level.targets.is_empty() && level.targets.len() <= MAX_TARGETS,
                &format!("{at}.targets"),
                &format!("must name between 1 and {MAX_TARGETS} targets"),
            );
            if let Some(w) = level.wait_minutes {
                check.ensure(
                    (1..=MAX_WAIT_MINUTES).contains(&w),
                    &format!("{at}.wait_minutes"),
                    &format!("must be between 1 and {MAX_WAIT_MINUTES} minutes (absent: the level waits for good)"),
                );
            }
            check.ensure(
                level.repeat <= MAX_REPEAT,
                &format!("{at}.repeat"),
                &format!("must be between 0 and {MAX_REPEAT}"),
            );
            check.ensure(
                level.repeat == 0 || level.wait_minutes.is_some(),
                &format!("{at}.repeat"),
                "needs wait_minutes: repeats are that far apart",
            );
            for (m, t) in level.targets.iter().enumerate() {
                let at = format!("{at}.targets[{m}]");
                match t.kind {
                    TargetKind::User => check.ensure(
                        dir.people.iter().any(|p| p.id == t.id),
                        &format!("{at}.id"),
                        "is not a user of this organisation",
                    ),
                    TargetKind::Role => check.ensure(
                        t.id.parse::<Role>().is_ok(),
                        &format!("{at}.id"),
                        "must be a role: admin, operator, analyst, viewer or auditor",
                    ),
                    TargetKind::Contact => check.ensure(
                        t.id.parse::<cirhub_shared::record::ContactRole>().is_ok(),
                        &format!("{at}.id"),
                        "must be a contact role: system_owner, provider_contact, customer_contact, dpo, legal or other",
                    ),
                };
                check.ensure(
                    t.channels.iter().collect::<BTreeSet<_>>().len() == t.channels.len(),
                    &format!("{at}.channels"),
                    "must not name a channel twice",
                );
            }
        }
    }
    check.done()
}

/// The version in force and its body; the empty policy (version 0) before the first save.
pub fn in_force(conn: &mut DbConn, org: &str) -> Result<(i32, Stored), AppError> {
    let version: Option<i32> = escalation_policies::table
        .find(org)
        .select(escalation_policies::version)
        .first(conn)
        .optional()?;
    match version {
        None => Ok((0, Stored::empty())),
        Some(v) => Ok((v, stored(conn, org, v)?)),
    }
}

pub(super) fn stored(conn: &mut DbConn, org: &str, version: i32) -> Result<Stored, AppError> {
    let (body, _) = versions::stored_or_fail(conn, POLICY, org, version)?;
    serde_json::from_str(&body).map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "stored escalation policy {org} v{version}: {e}"
        ))
    })
}

fn view(
    conn: &mut DbConn,
    org: &str,
    version: i32,
    body: Stored,
    updated: Option<(i64, Option<String>)>,
) -> Result<EscalationPolicy, AppError> {
    let dir = Directory::load(conn, org)?;
    let hash = if version == 0 {
        versions::sha256(versions::canonical(&body)?.as_bytes())
    } else {
        versions::hash_of(conn, POLICY, org, version)?
    };
    let (at, by) = updated.unwrap_or((0, None));
    Ok(EscalationPolicy {
        organisation_id: org.to_owned(),
        version,
        hash,
        lint: lint::lint(&body, &dir),
        people: dir
            .people
            .iter()
            .map(|p| PolicyPerson {
                id: p.id.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                role: p.role,
            })
            .collect(),
        time_zone: body.time_zone,
        business_hours: body.business_hours,
        rules: body.rules,
        updated_at: from_millis(at),
        updated_by: by,
    })
}

/// The caller's policy in force, with its lint.
pub fn get(conn: &mut DbConn, caller: &Caller) -> Result<EscalationPolicy, AppError> {
    let org = &caller.org_id;
    let row: Option<(i32, i64, Option<String>)> = escalation_policies::table
        .find(org)
        .select((
            escalation_policies::version,
            escalation_policies::updated_at,
            escalation_policies::updated_by,
        ))
        .first(conn)
        .optional()?;
    match row {
        None => view(conn, org, 0, Stored::empty(), None),
        Some((v, at, by)) => {
            let body = stored(conn, org, v)?;
            view(conn, org, v, body, Some((at, by)))
        }
    }
}

/// One stored version of the caller's policy (404 if it has no such version).
pub fn version(conn: &mut DbConn, caller: &Caller, v: i32) -> Result<EscalationPolicy, AppError> {
    let org = &caller.org_id;
    if versions::stored(conn, POLICY, org, v)?.is_none() {
        return Err(AppError::NotFound("escalation policy version"));
    }
    let body = stored(conn, org, v)?;
    view(conn, org, v, body, None)
}

/// Saves a new version (admin): validated, checked against the version the edit started
/// from, stored with its hash, audited; answers with the lint of what was saved.
pub fn put(
    conn: &mut DbConn,
    caller: &Caller,
    input: &PolicyInput,
) -> Result<EscalationPolicy, AppError> {
    let org = caller.org_id.clone();
    let dir = Directory::load(conn, &org)?;
    validate(conn, &org, input, &dir)?;
    let current: Option<i32> = crate::on_concrete!(conn, |c| escalation_policies::table
        .find(&org)
        .select(escalation_policies::version)
        .first(c)
        .optional())?;
    // Version 0 is the empty policy every organisation starts from.
    if input.version.filter(|v| *v != 0) != current {
        return Err(AppError::Conflict(format!(
            "the policy is at version {}, not {}: reload it and apply the edit again",
            current.unwrap_or(0),
            input.version.unwrap_or(0)
        )));
    }
    let next = current.unwrap_or(0) + 1;
    let body = Stored::of(input);
    let hash = versions::record(conn, POLICY, &org, next, &body)?;
    let now = now_ms();
    let by = caller.actor.id().map(str::to_owned);
    match current {
        None => {
            diesel::insert_into(escalation_policies::table)
                .values((
                    escalation_policies::organisation_id.eq(&org),
                    escalation_policies::version.eq(next),
                    escalation_policies::updated_at.eq(now),
                    escalation_policies::updated_by.eq(&by),
                ))
                .execute(conn)?;
        }
        Some(v) => {
            let changed = diesel::update(
                escalation_policies::table
                    .find(&org)
                    .filter(escalation_policies::version.eq(v)),
            )
            .set((
                escalation_policies::version.eq(next),
                escalation_policies::updated_at.eq(now),
                escalation_policies::updated_by.eq(&by),
            ))
            .execute(conn)?;
            if changed != 1 {
                return Err(AppError::Conflict(
                    "the policy changed while this edit was saved: reload it and apply the edit again".into(),
                ));
            }
        }
    }
    let out = view(conn, &org, next, body, Some((now, by)))?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &org,
            "escalation_policy.update",
            POLICY,
            &org,
        )
        .snapshot(next, hash)
        .detail(serde_json::json!({
            "rules": out.rules.len(),
            "lint": out.lint.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
        })),
    )?;
    Ok(out)
}

/// A draft as it would be stored, validated against the caller's organisation (for the
/// simulator and the editor's lint), without saving it, and the directory it resolves in.
pub fn draft(
    conn: &mut DbConn,
    caller: &Caller,
    input: &PolicyInput,
) -> Result<(Stored, Directory), AppError> {
    let dir = Directory::load(conn, &caller.org_id)?;
    validate(conn, &caller.org_id, input, &dir)?;
    Ok((Stored::of(input), dir))
}
