//! How an incident reached each customer and how each answered: reached marks (first
//! time someone of the customer was shown or sent it), acknowledgements, private notes, and
//! the provider's receipts per customer.

use crate::audit::{self, Event};
use crate::customers::dashboard::{ack_to_api, detail, visible_one};
use crate::customers::visibility::{self};
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use cirhub_shared::customer::*;
use cirhub_shared::time::from_millis;
use cirhub_shared::Channel;
use diesel::prelude::*;

/// Records that someone of `customer` was shown or sent an incident, the first time.
pub fn mark_reached(
    conn: &mut DbConn,
    incident_id: &str,
    customer_id: &str,
    channel: Channel,
) -> Result<(), AppError> {
    mark_reached_at(conn, incident_id, customer_id, channel, now_ms())
}

/// [`mark_reached`] at a given time (a frame's fan-out, recorded by a job after it).
pub fn mark_reached_at(
    conn: &mut DbConn,
    incident_id: &str,
    customer_id: &str,
    channel: Channel,
    at: i64,
) -> Result<(), AppError> {
    // The first mark stays; a concurrent one (a job and a read at once) is not an error.
    let q = diesel::insert_into(incident_reach::table)
        .values((
            incident_reach::incident_id.eq(incident_id),
            incident_reach::customer_id.eq(customer_id),
            incident_reach::channel.eq(channel.as_str()),
            incident_reach::reached_at.eq(at),
        ))
        .on_conflict_do_nothing();
    match conn {
        DbConn::Sqlite(c) => q.execute(c)?,
        DbConn::Postgres(c) => q.execute(c)?,
    };
    Ok(())
}

/// Job that marks an incident reached by the customers a stream fan-out went to. It is
/// queued in the transaction that commits the fan-out's disclosure, before the frames go out,
/// so no frame leaves without its receipt following.
pub const REACHED: &str = "delivery.reached";

/// Queues [`REACHED`] for a fan-out of `incident_id` at `at` to `customers`.
pub fn queue_reached(
    conn: &mut DbConn,
    incident_id: &str,
    customers: &[&str],
    channel: Channel,
    at: i64,
) -> Result<(), AppError> {
    if customers.is_empty() {
        return Ok(());
    }
    // One job per incident and audience: later fan-outs to the same customers would mark
    // nothing new (the first mark stays), so they queue nothing.
    let key = format!(
        "{incident_id}:{}",
        &crate::auth::sha256_hex(customers.join("\n").as_bytes())[..32]
    );
    crate::jobs::enqueue(
        conn,
        &crate::jobs::NewJob {
            kind: REACHED,
            key: &key,
            payload: serde_json::json!({
                "incident_id": incident_id,
                "customers": customers,
                "channel": channel,
                "at": at,
            }),
            due_at: at,
            max_attempts: None,
        },
    )?;
    Ok(())
}

/// The [`REACHED`] job: marks each customer reached (idempotent: the first mark stays).
pub fn reached_kind(db: crate::db::Db) -> crate::jobs::Kind {
    use crate::jobs::{Kind, Outcome, Retry};
    #[derive(serde::Deserialize)]
    struct Payload {
        incident_id: String,
        customers: Vec<String>,
        channel: Channel,
        at: i64,
    }
    let retry = Retry {
        base_ms: 1_000,
        max_delay_ms: 600_000,
        max_attempts: 10,
    };
    Kind::once(REACHED, retry, move |job| {
        let db = db.clone();
        Box::pin(async move {
            let p: Payload = match serde_json::from_value(job.payload) {
                Ok(p) => p,
                Err(e) => return Outcome::failed(e),
            };
            let done = db
                .write(move |c| {
                    for customer in &p.customers {
                        mark_reached_at(c, &p.incident_id, customer, p.channel, p.at)?;
                    }
                    Ok(())
                })
                .await;
            match done {
                Ok(()) => Outcome::ok(),
                Err(e) => Outcome::failed(e),
            }
        })
    })
}

/// Acknowledges an incident for the customer: who, when, and which version they saw.
pub fn acknowledge(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &AckRequest,
) -> Result<CustomerIncident, AppError> {
    let (_, row) = visible_one(conn, &caller.org_id, id)?;
    let version = input.version.unwrap_or(row.version);
    Check::new()
        .ensure(
            (1..=row.version).contains(&version),
            "version",
            &format!("must be between 1 and the current version {}", row.version),
        )
        .done()?;
    let existing: i64 = incident_acks::table
        .filter(incident_acks::incident_id.eq(id))
        .filter(incident_acks::customer_id.eq(&caller.org_id))
        .count()
        .get_result(conn)?;
    if existing == 0 {
        let ack = AckRow {
            incident_id: id.into(),
            customer_id: caller.org_id.clone(),
            user_id: caller.user_id().map(str::to_owned),
            user_name: caller.actor.display_name().into(),
            incident_version: version,
            acknowledged_at: now_ms(),
        };
        diesel::insert_into(incident_acks::table)
            .values(&ack)
            .execute(conn)?;
        let api = ack_to_api(&ack);
        audit::append(
            conn,
            Event::change(
                &caller.actor,
                &caller.org_id,
                "incident.acknowledge",
                "incident",
                id,
            )
            .version(Some(version), &api)?,
        )?;
        crate::delivery::events::acknowledged(conn, &row.provider_id, &api)?;
        mark_reached(conn, id, &caller.org_id, Channel::Http)?;
        // The customer's own escalation of the incident, if one climbs, stops here.
        crate::escalation::ack::acknowledge(conn, id, caller, ack.acknowledged_at)?;
    }
    detail(conn, caller, id)
}

/// Adds a private note (never shown to the provider).
pub fn add_note(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    input: &CreateNote,
) -> Result<Note, AppError> {
    visible_one(conn, &caller.org_id, id)?;
    Check::new().text(&input.body, "body", 10_000).done()?;
    let row = NoteRow {
        id: new_id(),
        incident_id: id.into(),
        customer_id: caller.org_id.clone(),
        author_id: caller.actor.id().map(str::to_owned),
        author_name: caller.actor.display_name().into(),
        body: input.body.trim().into(),
        created_at: now_ms(),
    };
    diesel::insert_into(incident_notes::table)
        .values(&row)
        .execute(conn)?;
    let note = Note {
        id: row.id.clone(),
        incident_id: row.incident_id,
        author_name: row.author_name,
        body: row.body,
        created_at: from_millis(row.created_at),
    };
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "note.create",
            "note",
            &row.id,
        )
        .version(Some(1), &note)?,
    )?;
    Ok(note)
}

/// The provider's view of one incident: per customer that may see it, reached and
/// acknowledged, and who drives the response.
pub fn receipts(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Vec<Receipt>, AppError> {
    let row: IncidentRow = incidents::table
        .find(id)
        .filter(incidents::provider_id.eq(&caller.org_id))
        .select(IncidentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("incident"))?;
    let audience = visibility::incident_audience(conn, &row)?;
    let layer = parse_stored(&row.layer, "layer")?;
    let mut out = Vec::new();
    for link in visibility::customers_of(conn, &caller.org_id)? {
        let cid = link.rel.customer_id.clone();
        let reach: Option<(String, i64)> = incident_reach::table
            .filter(incident_reach::incident_id.eq(id))
            .filter(incident_reach::customer_id.eq(&cid))
            .select((incident_reach::channel, incident_reach::reached_at))
            .first(conn)
            .optional()?;
        let ack: Option<AckRow> = incident_acks::table
            .filter(incident_acks::incident_id.eq(id))
            .filter(incident_acks::customer_id.eq(&cid))
            .select(AckRow::as_select())
            .first(conn)
            .optional()?;
        if !audience.contains(&cid) && reach.is_none() && ack.is_none() {
            continue;
        }
        let name: String = organisations::table
            .find(&cid)
            .select(organisations::name)
            .first(conn)?;
        out.push(Receipt {
            customer_id: cid,
            customer_name: name,
            service_model: link.model,
            driver: link.model.driver(layer),
            reached_at: reach.as_ref().map(|r| from_millis(r.1)),
            reached_by: reach.map(|r| parse_stored(&r.0, "channel")).transpose()?,
            acknowledgement: ack.as_ref().map(ack_to_api),
        });
    }
    out.sort_by(|a, b| a.customer_name.cmp(&b.customer_name));
    Ok(out)
}
