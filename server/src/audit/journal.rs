//! The disclosure journal. A disclosure (who was shown or sent which stored version of a
//! non-public record, when, through which channel) is committed BEFORE the data leaves the
//! server: a handler, the stream or the mailer hands it to the writer task and awaits the
//! commit (write-ahead: a crash never leaves a delivery without its record). The writer
//! commits everything pending in one transaction (group commit) and never takes the audit
//! chain's lock, so reads do not queue behind changes. Committed rows are sealed into the hash
//! chain in batches ([`seal`], run every 2 s by the job runner): one chain entry names a batch's range and a digest over its
//! rows, which [`verify_seals`] recomputes.

use super::{chain, versions, Event};
use crate::config::Backend;
use crate::db::rows::{now_ms, DisclosureRow, NewDisclosureRow};
use crate::db::schema::{audit_log, disclosures};
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::identity::Actor;
use cirhub_shared::api::Recipient;
use cirhub_shared::Channel;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Action of the chain entry that seals a batch of journal rows.
pub const SEAL: &str = "disclosures.seal";
/// Kind of the job that seals committed rows into the chain.
pub const SEAL_JOB: &str = "journal.seal";
/// PostgreSQL advisory lock: journal writers hold it shared, the sealer briefly exclusive, so
/// every row numbered below the sealer's bound has committed before it is sealed.
const JOURNAL_LOCK: i64 = crate::db::locks::JOURNAL;
/// Rows per group commit at most, and per seal.
const MAX_BATCH: usize = 20_000;

/// One disclosure, before it is committed.
#[derive(Debug, Clone)]
pub struct Disclosure {
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub organisation_id: Option<String>,
    pub object_type: String,
    pub object_id: String,
    pub object_version: Option<i32>,
    pub object_hash: Option<String>,
    pub channel: Channel,
    /// A fan-out: everyone it was sent to, in one row.
    pub recipients: Option<Vec<Recipient>>,
    pub detail: Option<serde_json::Value>,
    /// Also mark the incident reached by `organisation_id` (a customer's receipt), in the
    /// same commit.
    pub reach: bool,
}

impl Disclosure {
    /// The journal form of a disclosure event ([`Event::disclosure`]).
    pub fn from_event(e: &Event<'_>) -> Disclosure {
        Disclosure {
            actor_type: e.actor.kind().to_string(),
            actor_id: e.actor.id().map(str::to_owned),
            organisation_id: e.organisation_id.map(str::to_owned),
            object_type: e.object_type.to_string(),
            object_id: e.object_id.to_string(),
            object_version: e.object_version,
            object_hash: e.object_hash.clone(),
            channel: e.channel.unwrap_or(Channel::Http),
            recipients: None,
            detail: e.detail.clone(),
            reach: false,
        }
    }

    fn row(&self, at: i64) -> Result<NewDisclosureRow, AppError> {
        Ok(NewDisclosureRow {
            at,
            actor_type: self.actor_type.clone(),
            actor_id: self.actor_id.clone(),
            organisation_id: self.organisation_id.clone(),
            object_type: self.object_type.clone(),
            object_id: self.object_id.clone(),
            object_version: self.object_version,
            object_hash: self.object_hash.clone(),
            channel: self.channel.as_str().to_string(),
            recipients: match &self.recipients {
                Some(r) => Some(serde_json::to_string(r).map_err(anyhow::Error::from)?),
                None => None,
            },
            detail: self.detail.as_ref().map(|d| d.to_string()),
        })
    }
}

thread_local! {
    /// Disclosures staged by the read running on this thread ([`Journal::read`]).
    static STAGED: RefCell<Option<Vec<Disclosure>>> = const { RefCell::new(None) };
}

/// Stages disclosures of the read in progress; [`Journal::read`] commits them before the
/// response leaves. With `reach`, each also marks the incident reached by the caller's
/// organisation. Outside [`Journal::read`] this is an error: a disclosure is never dropped.
pub fn stage(events: &[Event<'_>], reach: bool) -> Result<(), AppError> {
    STAGED.with(|s| match s.borrow_mut().as_mut() {
        Some(staged) => {
            staged.extend(events.iter().map(|e| Disclosure {
                reach,
                ..Disclosure::from_event(e)
            }));
            Ok(())
        }
        None => Err(AppError::Internal(anyhow::anyhow!(
            "a disclosure outside a journal scope would leave unrecorded"
        ))),
    })
}

/// Runs `f` with a staging area on this thread; returns its result and what it staged.
fn scoped<T>(f: impl FnOnce() -> Result<T, AppError>) -> Result<(T, Vec<Disclosure>), AppError> {
    STAGED.with(|s| *s.borrow_mut() = Some(Vec::new()));
    let out = f();
    let staged = STAGED.with(|s| s.borrow_mut().take()).unwrap_or_default();
    Ok((out?, staged))
}

struct Pending {
    rows: Vec<Disclosure>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Handle to the journal's writer; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::UnboundedSender<Pending>,
    db: Db,
    /// Woken after a group that queued jobs (a fan-out's `delivery.reached`) commits.
    jobs: Arc<OnceLock<crate::jobs::Jobs>>,
}

/// Copy the journal's write-ahead log into its file at most this often (SQLite).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The writer's connection, and when it last checkpointed the journal.
struct Slot {
    conn: Option<DbConn>,
    checkpointed: Instant,
}

impl Slot {
    /// SQLite: copies the journal's log into its file once in a while, after the waiters
    /// were answered. The writer is the journal's only writer, so its own checkpoint copies
    /// the whole log and the next commit starts the log again from its beginning: commits
    /// overwrite blocks the file already has instead of growing it (the sync of a grown file
    /// also syncs its size), and the log stays small. The database's checkpointer never gets
    /// there under a steady stream of disclosures: a group always lands while it copies.
    fn checkpoint_if_due(&mut self, db: &Db) {
        if db.backend != Backend::Sqlite || self.checkpointed.elapsed() < CHECKPOINT_EVERY {
            return;
        }
        self.checkpointed = Instant::now();
        if let Some(c) = self.conn.as_mut() {
            use diesel::connection::SimpleConnection as _;
            if let Err(e) = c.batch_execute("PRAGMA journal.wal_checkpoint(PASSIVE)") {
                tracing::warn!(error = %e, "cannot checkpoint the disclosure journal");
                self.conn = None;
            }
        }
    }
}

fn internal(msg: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("disclosure journal: {msg}"))
}

impl Journal {
    /// Starts the writer. Sealing is the recurring job [`seal_kind`].
    pub fn spawn(db: Db) -> Journal {
        let (tx, rx) = mpsc::unbounded_channel();
        let own = db.clone();
        let jobs: Arc<OnceLock<crate::jobs::Jobs>> = Arc::default();
        let wake = jobs.clone();
        std::thread::Builder::new()
            .name("disclosure-journal".into())
            .spawn(move || writer(own, rx, wake))
            .expect("cannot start the disclosure journal's writer thread");
        Journal { tx, db, jobs }
    }

    /// The job runner to wake when a group queued jobs (set once, when the runner exists).
    pub fn wake_jobs_with(&self, jobs: crate::jobs::Jobs) {
        let _ = self.jobs.set(jobs);
    }

    /// Returns once `rows` are committed; only then may the data they record leave.
    pub async fn commit(&self, rows: Vec<Disclosure>) -> Result<(), AppError> {
        if rows.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending { rows, done })
            .map_err(|_| internal("the writer is not running"))?;
        wait.await
            .map_err(|_| internal("the writer stopped"))?
            .map_err(internal)
    }

    /// Runs a read on the blocking pool, commits the disclosures it staged ([`stage`]), then
    /// returns its result.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let (out, staged) = self.db.read(move |c| scoped(|| f(c))).await?;
        self.commit(staged).await?;
        Ok(out)
    }

    /// [`Journal::read`] for a read of one record by its key ([`Db::read_point`]: on SQLite
    /// it runs on the calling thread); its disclosures are committed the same way.
    pub async fn read_point<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let (out, staged) = self.db.read_point(move |c| scoped(|| f(c))).await?;
        self.commit(staged).await?;
        Ok(out)
    }

    /// Seals every committed row now (tests, shutdown); returns how many.
    pub async fn seal(&self) -> Result<usize, AppError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || seal(&db))
            .await
            .map_err(internal)?
    }
}

/// The recurring job that seals what the journal committed, every `every`.
pub fn seal_kind(journal: Journal, every: Duration) -> crate::jobs::Kind {
    crate::jobs::Kind::recurring(SEAL_JOB, every, move |_job| {
        let journal = journal.clone();
        Box::pin(async move {
            match journal.seal().await {
                Ok(_) => crate::jobs::Outcome::ok(),
                Err(e) => crate::jobs::Outcome::failed(e),
            }
        })
    })
}

/// Group commit, on a thread and a connection of its own: takes everything pending, commits
/// it in one durable transaction, then answers every waiter. While it syncs, new disclosures
/// queue up and form the next group.
fn writer(
    db: Db,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    jobs: Arc<OnceLock<crate::jobs::Jobs>>,
) {
    let mut slot = Slot {
        conn: None,
        checkpointed: Instant::now(),
    };
    while let Some(first) = rx.blocking_recv() {
        let mut n = first.rows.len();
        let mut batch = vec![first];
        while n < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => {
                    n += p.rows.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        let rows: Vec<Disclosure> = batch
            .iter_mut()
            .flat_map(|p| std::mem::take(&mut p.rows))
            .collect();
        let result = crate::effects::collect(|| commit_group(&db, &mut slot.conn, &rows))
            .map(|done| {
                if done.effects.jobs {
                    if let Some(jobs) = jobs.get() {
                        jobs.wake();
                    }
                }
            })
            .map_err(|e| {
                tracing::error!(error = %e, rows = n, "cannot commit disclosures");
                // The next group opens a fresh connection.
                slot.conn = None;
                e.to_string()
            });
        for p in batch {
            let _ = p.done.send(result.clone());
        }
        slot.checkpoint_if_due(&db);
    }
}

/// Commits the rows, then, in a second transaction, the receipts they mark (`reach`). On
/// SQLite the journal is a file of its own, and a transaction over two files in WAL mode is
/// atomic per file only: committing the disclosures first means a crash between the two
/// leaves a disclosure without its receipt (and nothing sent: no waiter has been answered),
/// never a receipt for something not recorded.
fn commit_group(db: &Db, conn: &mut Option<DbConn>, rows: &[Disclosure]) -> Result<(), AppError> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(db.open_durable()?),
    };
    let at = now_ms();
    db.write_durable_on(c, |c| insert(c, rows, at))?;
    if rows.iter().any(|d| d.reach) {
        db.write_durable_on(c, |c| mark_reached(c, rows, at))?;
    }
    Ok(())
}

fn insert(conn: &mut DbConn, rows: &[Disclosure], at: i64) -> Result<(), AppError> {
    if chain::backend(conn) == Backend::Postgres {
        diesel::sql_query(format!(
            "SELECT pg_advisory_xact_lock_shared({JOURNAL_LOCK})"
        ))
        .execute(conn)?;
    }
    let new = rows
        .iter()
        .map(|d| d.row(at))
        .collect::<Result<Vec<_>, _>>()?;
    match conn {
        // SQLite runs in-process: one prepared single-row INSERT, kept in the statement
        // cache and stepped once per row, costs less than building, parsing and planning
        // a multi-row statement of a new width for every group.
        DbConn::Sqlite(c) => {
            for row in &new {
                diesel::insert_into(disclosures::table)
                    .values(row)
                    .execute(c)?;
            }
        }
        // PostgreSQL is a round trip away: one multi-row INSERT per chunk.
        DbConn::Postgres(c) => {
            for chunk in new.chunks(500) {
                diesel::insert_into(disclosures::table)
                    .values(chunk)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// The receipts of the rows marked `reach`: the incident reached the organisation.
fn mark_reached(conn: &mut DbConn, rows: &[Disclosure], at: i64) -> Result<(), AppError> {
    let mut reached = std::collections::HashSet::new();
    for d in rows.iter().filter(|d| d.reach) {
        if let (versions::INCIDENT, Some(recipients)) = (d.object_type.as_str(), &d.recipients) {
            // A fan-out: the customers in its audience are marked by a job, so the frames
            // are not held up; the job commits here, with the disclosure.
            let mut customers: Vec<&str> = recipients
                .iter()
                .map(|r| r.organisation_id.as_str())
                .filter(|o| Some(*o) != d.organisation_id.as_deref())
                .collect();
            customers.sort_unstable();
            customers.dedup();
            crate::customers::acknowledgements::queue_reached(
                conn,
                &d.object_id,
                &customers,
                d.channel,
                at,
            )?;
            continue;
        }
        if let (versions::INCIDENT, Some(org)) = (d.object_type.as_str(), &d.organisation_id) {
            if reached.insert((&d.object_id, org)) {
                crate::customers::acknowledgements::mark_reached(
                    conn,
                    &d.object_id,
                    org,
                    d.channel,
                )?;
            }
        }
    }
    Ok(())
}

/// The canonical encoding of a journal row, as sealed: a JSON array of its columns in RFC
/// 8785 form. An array of integers, strings and nulls has no keys to sort and no floats, so
/// serde_json's compact form is already canonical (the test below holds it to the scheme);
/// it is written straight into the digest, without building a JSON value per row.
fn canonical_into<W: std::io::Write>(r: &DisclosureRow, out: W) -> Result<(), AppError> {
    serde_json::to_writer(
        out,
        &(
            r.seq,
            r.at,
            &r.actor_type,
            &r.actor_id,
            &r.organisation_id,
            &r.object_type,
            &r.object_id,
            r.object_version,
            &r.object_hash,
            &r.channel,
            &r.recipients,
            &r.detail,
        ),
    )
    .map_err(|e| internal(format!("cannot encode a journal row: {e}")))
}

/// Feeds a hasher through `std::io::Write`.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// SHA-256 over the rows' canonical encodings, one per line, in sequence order.
fn digest(rows: &[DisclosureRow]) -> Result<String, AppError> {
    let mut h = Sha256::new();
    for r in rows {
        canonical_into(r, HashWriter(&mut h))?;
        h.update(b"\n");
    }
    Ok(hex::encode(h.finalize()))
}

fn rows_in(conn: &mut DbConn, after: i64, upto: i64) -> Result<Vec<DisclosureRow>, AppError> {
    Ok(disclosures::table
        .filter(disclosures::seq.gt(after))
        .filter(disclosures::seq.le(upto))
        .order(disclosures::seq.asc())
        .select(DisclosureRow::as_select())
        .load(conn)?)
}

/// A seal's range `(from, to]` and row count, from its entry's detail.
fn range(detail: Option<&str>) -> Option<(i64, i64, usize)> {
    let d: serde_json::Value = serde_json::from_str(detail?).ok()?;
    Some((
        d["from"].as_i64()?,
        d["to"].as_i64()?,
        usize::try_from(d["rows"].as_u64()?).ok()?,
    ))
}

/// The end of the newest seal's range (0 before the first).
fn sealed_to(conn: &mut DbConn) -> Result<i64, AppError> {
    let detail: Option<Option<String>> = audit_log::table
        .filter(audit_log::action.eq(SEAL))
        .order(audit_log::seq.desc())
        .select(audit_log::detail)
        .first(conn)
        .optional()?;
    Ok(detail
        .map(|d| range(d.as_deref()).map(|r| r.1).unwrap_or(i64::MAX))
        .unwrap_or(0))
}

/// Seals committed journal rows into the chain, one entry per batch; returns rows sealed.
pub fn seal(db: &Db) -> Result<usize, AppError> {
    // Every writer that numbered a row below the bound has committed once the exclusive lock
    // is granted (SQLite writers are serialised anyway).
    let bound: i64 = db.write_blocking(|c| {
        if chain::backend(c) == Backend::Postgres {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({JOURNAL_LOCK})"))
                .execute(c)?;
        }
        Ok(disclosures::table
            .select(diesel::dsl::max(disclosures::seq))
            .first::<Option<i64>>(c)?
            .unwrap_or(0))
    })?;
    let mut total = 0;
    loop {
        match seal_batch(db, bound)? {
            // Another instance sealed the same rows first: read again from its end.
            None => continue,
            Some(n) => {
                total += n;
                if n < MAX_BATCH {
                    return Ok(total);
                }
            }
        }
    }
}

/// Seals the next batch of rows up to `bound`; `None` when another sealer got there first.
/// The rows are read and hashed outside the write lock (committed rows below the bound never
/// change), so the journal's group commits wait for the chain append only, not for the
/// reading and hashing of two seconds' worth of disclosures.
fn seal_batch(db: &Db, bound: i64) -> Result<Option<usize>, AppError> {
    let (from, rows) = {
        let mut conn = db.conn()?;
        let from = sealed_to(&mut conn)?;
        if bound <= from {
            return Ok(Some(0));
        }
        let rows: Vec<DisclosureRow> = disclosures::table
            .filter(disclosures::seq.gt(from))
            .filter(disclosures::seq.le(bound))
            .order(disclosures::seq.asc())
            .limit(MAX_BATCH as i64)
            .select(DisclosureRow::as_select())
            .load(&mut *conn)?;
        (from, rows)
    };
    let Some(last) = rows.last() else {
        return Ok(Some(0));
    };
    let to = if rows.len() == MAX_BATCH {
        last.seq
    } else {
        bound
    };
    let id = format!("{}..{}", from + 1, to);
    let mut entry = Event::change(&Actor::System, "", SEAL, "disclosures", &id)
        .detail(serde_json::json!({"from": from, "to": to, "rows": rows.len()}));
    entry.organisation_id = None;
    entry.object_hash = Some(digest(&rows)?);
    db.write_blocking(|c| {
        chain::lock_chain(c)?;
        if sealed_to(c)? != from {
            return Ok(None);
        }
        chain::append(c, entry)?;
        Ok(Some(rows.len()))
    })
}

/// Checks every seal against the journal: the seals cover one contiguous range from the
/// first row, and each one's digest and count match the rows now in its range (a row
/// changed, removed or slipped in below a seal fails). Returns the first bad seal's entry.
pub fn verify_seals(conn: &mut DbConn) -> Result<Option<(i64, String)>, AppError> {
    verify_seals_concerning(conn, None)
}

/// Whether any row in `(from, to]` names `org` as its organisation or among its recipients.
fn concerns(conn: &mut DbConn, org: &str, from: i64, to: i64) -> Result<bool, AppError> {
    let quoted = format!("%\"{org}\"%");
    let n: i64 = disclosures::table
        .filter(disclosures::seq.gt(from))
        .filter(disclosures::seq.le(to))
        .filter(
            disclosures::organisation_id
                .eq(org)
                .or(disclosures::recipients.like(quoted)),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// [`verify_seals`] limited to the seals whose batch holds a disclosure to `org` (or every
/// seal with `None`). A batch is checked whole — its digest covers every row in it — but
/// nothing of the other rows is returned: a tenant learns only whether its batches hold.
pub fn verify_seals_concerning(
    conn: &mut DbConn,
    org: Option<&str>,
) -> Result<Option<(i64, String)>, AppError> {
    let seals: Vec<(i64, Option<String>, Option<String>)> = audit_log::table
        .filter(audit_log::action.eq(SEAL))
        .order(audit_log::seq.asc())
        .select((audit_log::seq, audit_log::object_hash, audit_log::detail))
        .load(conn)?;
    let mut expected_from = 0;
    for (seq, hash, detail) in seals {
        let Some((from, to, n)) = range(detail.as_deref()) else {
            return Ok(Some((
                seq,
                "a disclosure seal has no readable range".into(),
            )));
        };
        if from != expected_from {
            return Ok(Some((
                seq,
                "a disclosure seal does not continue the previous one".into(),
            )));
        }
        if let Some(org) = org {
            if !concerns(conn, org, from, to)? {
                expected_from = to;
                continue;
            }
        }
        let rows = rows_in(conn, from, to)?;
        if rows.len() != n || hash.as_deref() != Some(digest(&rows)?.as_str()) {
            return Ok(Some((
                seq,
                format!("disclosures {}..{to} do not match their seal", from + 1),
            )));
        }
        expected_from = to;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sealed encoding is the RFC 8785 form of the row's columns, escapes included, so
    /// seals written by either encoder verify.
    #[test]
    fn sealed_encoding_is_the_canonical_json_of_the_columns() {
        let row = DisclosureRow {
            seq: 42,
            at: 1_764_000_000_123,
            actor_type: "user".into(),
            actor_id: Some("u\u{1}\t\"\\/é\u{7f}\u{2028}😀".into()),
            organisation_id: None,
            object_type: "incident".into(),
            object_id: "i-1".into(),
            object_version: Some(3),
            object_hash: None,
            channel: "http".into(),
            recipients: Some(r#"[{"organisation_id":"o"}]"#.into()),
            detail: Some("\u{0}\r\n\u{8}\u{c}".into()),
        };
        let mut ours = Vec::new();
        canonical_into(&row, &mut ours).unwrap();
        let scheme = versions::canonical(&serde_json::json!([
            row.seq,
            row.at,
            row.actor_type,
            row.actor_id,
            row.organisation_id,
            row.object_type,
            row.object_id,
            row.object_version,
            row.object_hash,
            row.channel,
            row.recipients,
            row.detail,
        ]))
        .unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), scheme);
    }
}
