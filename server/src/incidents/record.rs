//! A party's own record of an incident (CSA): the 5W intake, contacts, related incidents and
//! planned next steps, saved whole as a new version (a stored record version named by its
//! hash, and an audit entry), plus handler comments. The provider and each customer that
//! sees the incident keep their own; another organisation's record does not exist for it.

use crate::audit::{self, versions, Event};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use cirhub_shared::record::*;
use cirhub_shared::time::from_millis;
use cirhub_shared::Role;
use diesel::prelude::*;

/// Record versions are stored under this object type, as `{incident}/{organisation}`.
pub const RECORD: &str = "incident_record";

const MAX_TEXT: usize = 2000;
const MAX_CONTACTS: usize = 50;
const MAX_RELATED: usize = 50;
const MAX_STEPS: usize = 100;

/// The incident, if the caller's organisation is its provider or a customer that sees it.
pub fn party_incident(conn: &mut DbConn, org: &str, id: &str) -> Result<IncidentRow, AppError> {
    match super::incident_row(conn, org, id) {
        Err(AppError::NotFound(_)) => {
            Ok(crate::customers::dashboard::visible_one(conn, org, id)?.1)
        }
        other => other,
    }
}

fn key(incident: &str, org: &str) -> String {
    format!("{incident}/{org}")
}

/// The contacts of `org`'s own record of an incident (the escalation matrix's contact
/// targets).
pub fn contacts(conn: &mut DbConn, org: &str, id: &str) -> Result<Vec<Contact>, AppError> {
    Ok(load(conn, org, id)?.contacts)
}

/// The caller's organisation's record of an incident (version 0 before its first save).
pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<IncidentRecord, AppError> {
    party_incident(conn, &caller.org_id, id)?;
    load(conn, &caller.org_id, id)
}

fn load(conn: &mut DbConn, org: &str, id: &str) -> Result<IncidentRecord, AppError> {
    let row: Option<(i32, String, i64, Option<String>)> = incident_records::table
        .find((id, org))
        .select((
            incident_records::version,
            incident_records::body,
            incident_records::updated_at,
            incident_records::updated_by,
        ))
        .first(conn)
        .optional()?;
    let Some((version, body, at, by)) = row else {
        return Ok(IncidentRecord {
            incident_id: id.into(),
            organisation_id: org.into(),
            version: 0,
            intake: Intake::default(),
            contacts: Vec::new(),
            related: Vec::new(),
            next_steps: Vec::new(),
            updated_at: None,
            updated_by: None,
        });
    };
    let input: RecordInput = serde_json::from_str(&body).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("record of {id} for {org} unreadable: {e}"))
    })?;
    // A title only of what the party can still see: a related incident made internal
    // since, or no longer in its scope, shows as its id alone.
    let mut related = input.related;
    for r in &mut related {
        r.title = match party_incident(conn, org, &r.incident_id) {
            Ok(row) => Some(row.title),
            Err(AppError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
    }
    Ok(IncidentRecord {
        incident_id: id.into(),
        organisation_id: org.into(),
        version,
        intake: input.intake,
        contacts: input.contacts,
        related,
        next_steps: input.next_steps,
        updated_at: Some(from_millis(at)),
        updated_by: by,
    })
}

fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !crate::text::is_blank(s))
        .map(String::from)
}

/// Checks and normalises a record (blank answers become absent).
fn clean(
    conn: &mut DbConn,
    org: &str,
    id: &str,
    input: &RecordInput,
) -> Result<RecordInput, AppError> {
    let mut check = Check::new();
    let i = &input.intake;
    for (field, v) in [
        ("intake.what", &i.what),
        ("intake.where", &i.where_),
        ("intake.when", &i.when),
        ("intake.who", &i.who),
        ("intake.why", &i.why),
    ] {
        check.max_len(v.as_deref().unwrap_or("").trim(), field, MAX_TEXT);
    }
    check.ensure(
        input.contacts.len() <= MAX_CONTACTS,
        "contacts",
        &format!("must hold at most {MAX_CONTACTS} contacts"),
    );
    for (n, c) in input.contacts.iter().enumerate() {
        let at = format!("contacts[{n}]");
        check.text(&c.name, &format!("{at}.name"), 200);
        if let Some(e) = trimmed(&c.email) {
            check.max_len(&e, &format!("{at}.email"), 254);
            check.ensure(
                e.len() <= 254
                    && e.split_once('@')
                        .is_some_and(|(a, b)| !a.is_empty() && b.contains('.')),
                &format!("{at}.email"),
                "must be an e-mail address such as soc@example.com",
            );
        }
        check.max_len(
            c.phone.as_deref().unwrap_or("").trim(),
            &format!("{at}.phone"),
            50,
        );
        check.max_len(
            c.organisation.as_deref().unwrap_or("").trim(),
            &format!("{at}.organisation"),
            200,
        );
    }
    check.ensure(
        input.related.len() <= MAX_RELATED,
        "related",
        &format!("must hold at most {MAX_RELATED} incidents"),
    );
    for (n, r) in input.related.iter().enumerate() {
        let field = format!("related[{n}].incident_id");
        check.ensure(
            r.incident_id != id,
            &field,
            "must be another incident than this one",
        );
        check.ensure(
            input.related[..n]
                .iter()
                .all(|o| o.incident_id != r.incident_id),
            &field,
            "names the same incident twice",
        );
        // An id with a character no id has (PostgreSQL refuses NUL in text) names nothing.
        check.max_len(&r.incident_id, &field, 64);
        let plausible = r.incident_id.len() <= 64 && !r.incident_id.contains('\0');
        let seen = r.incident_id != id
            && plausible
            && match party_incident(conn, org, &r.incident_id) {
                Ok(_) => true,
                Err(AppError::NotFound(_)) => false,
                Err(e) => return Err(e),
            };
        check.ensure(
            seen || r.incident_id == id,
            &field,
            "no incident you can see has this id",
        );
    }
    check.ensure(
        input.next_steps.len() <= MAX_STEPS,
        "next_steps",
        &format!("must hold at most {MAX_STEPS} steps"),
    );
    for (n, s) in input.next_steps.iter().enumerate() {
        check.text(&s.text, &format!("next_steps[{n}].text"), MAX_TEXT);
        check.max_len(
            s.owner.as_deref().unwrap_or("").trim(),
            &format!("next_steps[{n}].owner"),
            200,
        );
    }
    check.done()?;
    Ok(RecordInput {
        version: None,
        intake: Intake {
            what: trimmed(&i.what),
            where_: trimmed(&i.where_),
            when: trimmed(&i.when),
            who: trimmed(&i.who),
            why: trimmed(&i.why),
        },
        contacts: input
            .contacts
            .iter()
            .map(|c| Contact {
                role: c.role,
                name: c.name.trim().into(),
                email: trimmed(&c.email),
                phone: trimmed(&c.phone),
                organisation: trimmed(&c.organisation),
            })
            .collect(),
        related: input
            .related
            .iter()
            .map(|r| RelatedIncident {
                incident_id: r.incident_id.clone(),
                relation: r.relation,
                title: None,
            })
            .collect(),
        next_steps: input
            .next_steps
            .iter()
            .map(|s| NextStep {
                text: s.text.trim().into(),
                owner: trimmed(&s.owner),
                due_at: s.due_at,
                done: s.done,
            })
            .collect(),
    })
}

/// Saves the caller's organisation's record as a new version (analyst or above); `version`
/// must be the version the edit started from (absent or 0 for the first save), else 409.
pub fn put(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &RecordInput,
) -> Result<IncidentRecord, AppError> {
    caller.require(Role::Analyst)?;
    party_incident(conn, &caller.org_id, id)?;
    save(conn, caller, id, input)
}

/// [`put`] without the role and visibility checks (the incident's creation, by its provider).
pub(super) fn save(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &RecordInput,
) -> Result<IncidentRecord, AppError> {
    let org = caller.org_id.as_str();
    let body = clean(conn, org, id, input)?;
    let current = load(conn, org, id)?.version;
    if input.version.unwrap_or(0) != current {
        return Err(AppError::Conflict(format!(
            "The record changed meanwhile: it is at version {current}; read it again and redo the edit."
        )));
    }
    let version = current + 1;
    let text = serde_json::to_string(&body).map_err(anyhow::Error::from)?;
    let now = now_ms();
    let by = caller.actor.display_name().to_string();
    if current == 0 {
        diesel::insert_into(incident_records::table)
            .values((
                incident_records::incident_id.eq(id),
                incident_records::organisation_id.eq(org),
                incident_records::version.eq(version),
                incident_records::body.eq(&text),
                incident_records::updated_at.eq(now),
                incident_records::updated_by.eq(&by),
            ))
            .execute(conn)?;
    } else {
        // Guarded by the version read: a concurrent save of the same version loses here.
        let n = diesel::update(
            incident_records::table
                .find((id, org))
                .filter(incident_records::version.eq(current)),
        )
        .set((
            incident_records::version.eq(version),
            incident_records::body.eq(&text),
            incident_records::updated_at.eq(now),
            incident_records::updated_by.eq(&by),
        ))
        .execute(conn)?;
        if n != 1 {
            return Err(AppError::Conflict(
                "The record changed meanwhile; read it again and redo the edit.".into(),
            ));
        }
    }
    let record = load(conn, org, id)?;
    let hash = versions::record(conn, RECORD, &key(id, org), version, &record)?;
    audit::append(
        conn,
        Event::change(&caller.actor, org, "record.update", RECORD, &key(id, org))
            .snapshot(version, hash),
    )?;
    Ok(record)
}

/// The caller's organisation's handler comments on an incident, oldest first.
pub fn comments(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Vec<Comment>, AppError> {
    party_incident(conn, &caller.org_id, id)?;
    let rows: Vec<(String, String, String, i64)> = incident_notes::table
        .filter(incident_notes::incident_id.eq(id))
        .filter(incident_notes::customer_id.eq(&caller.org_id))
        .order((incident_notes::created_at.asc(), incident_notes::id.asc()))
        .select((
            incident_notes::id,
            incident_notes::author_name,
            incident_notes::body,
            incident_notes::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(cid, author_name, body, at)| Comment {
            id: cid,
            incident_id: id.into(),
            author_name,
            body,
            created_at: from_millis(at),
        })
        .collect())
}

/// Adds a handler comment (analyst or above), an audit entry naming its hash.
pub fn comment(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    body: &str,
) -> Result<Comment, AppError> {
    caller.require(Role::Analyst)?;
    party_incident(conn, &caller.org_id, id)?;
    Check::new().text(body, "body", 10_000).done()?;
    let c = Comment {
        id: new_id(),
        incident_id: id.into(),
        author_name: caller.actor.display_name().into(),
        body: body.trim().into(),
        created_at: from_millis(now_ms()),
    };
    diesel::insert_into(incident_notes::table)
        .values((
            incident_notes::id.eq(&c.id),
            incident_notes::incident_id.eq(id),
            incident_notes::customer_id.eq(&caller.org_id),
            incident_notes::author_id.eq(caller.actor.id()),
            incident_notes::author_name.eq(&c.author_name),
            incident_notes::body.eq(&c.body),
            incident_notes::created_at.eq(c.created_at.timestamp_millis()),
        ))
        .execute(conn)?;
    audit::append(
        conn,
        Event::change(&caller.actor, &caller.org_id, "note.create", "note", &c.id)
            .version(Some(1), &c)?,
    )?;
    Ok(c)
}
