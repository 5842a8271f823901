//! The job table's queries: enqueue (insert-or-ignore by kind and key), claim with a lease,
//! settle, and what the runner and `/metrics` need to know about the queue.

use crate::db::rows::{new_id, JobRow};
use crate::db::schema::jobs;
use crate::db::DbConn;
use crate::error::AppError;
use diesel::prelude::*;

pub const PENDING: &str = "pending";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

/// Done jobs are kept this long (they answer "did it run?"), failed ones longer.
pub const KEEP_DONE_MS: i64 = 7 * 24 * 3600 * 1000;
pub const KEEP_FAILED_MS: i64 = 30 * 24 * 3600 * 1000;

/// A job to run later.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    /// Idempotency key: a second job of the same kind and key is not queued.
    pub key: &'a str,
    pub payload: serde_json::Value,
    /// When it is due, in epoch milliseconds.
    pub due_at: i64,
    /// Attempts before it is marked failed; `None`: the kind's configured limit.
    pub max_attempts: Option<i32>,
}

/// Queues a job in the caller's transaction, so it commits with the change that caused it;
/// returns false when a job of that kind and key already exists. Wake the runner
/// ([`super::Jobs::wake`]) after the commit.
pub fn enqueue(conn: &mut DbConn, job: &NewJob<'_>) -> Result<bool, AppError> {
    let row = JobRow {
        id: new_id(),
        kind: job.kind.into(),
        key: job.key.into(),
        payload: job.payload.to_string(),
        due_at: job.due_at,
        state: PENDING.into(),
        attempts: 0,
        max_attempts: job.max_attempts,
        lease_until: None,
        leased_by: None,
        last_error: None,
        created_at: crate::db::rows::now_ms(),
        finished_at: None,
    };
    let q = diesel::insert_into(jobs::table)
        .values(&row)
        .on_conflict_do_nothing();
    let n = match conn {
        DbConn::Sqlite(c) => q.execute(c)?,
        DbConn::Postgres(c) => q.execute(c)?,
    };
    if n == 1 {
        crate::effects::note(|e| e.jobs = true);
    }
    Ok(n == 1)
}

/// The first `limit` (due time, id) of the pending rows of `kinds` that are due at `now`.
macro_rules! due {
    ($now:expr, $kinds:expr, $limit:expr) => {
        jobs::table
            .filter(jobs::state.eq(PENDING))
            .filter(jobs::due_at.le($now))
            .filter(jobs::kind.eq_any($kinds))
            .select((jobs::due_at, jobs::id))
            .order(jobs::due_at.asc())
            .limit($limit)
    };
}

/// The same of the rows of `kinds` running under a lease that has expired (their instance
/// crashed, lost its database, or could not record the run) — except the runs still in
/// progress here.
macro_rules! expired {
    ($now:expr, $running:expr, $kinds:expr, $limit:expr) => {
        jobs::table
            .filter(jobs::state.eq(RUNNING))
            .filter(jobs::lease_until.lt($now))
            .filter(jobs::id.ne_all($running))
            .filter(jobs::kind.eq_any($kinds))
            .select((jobs::due_at, jobs::id))
            .order(jobs::due_at.asc())
            .limit($limit)
    };
}

/// Claims up to `limit` rows of `kinds` until `now + lease_ms` under `token` (one per claim:
/// only the run that holds it may settle the row, so a stale run of an earlier claim cannot
/// overwrite a newer one), counting the attempt: the earliest due of the pending rows that
/// are due and of the running rows whose lease expired. Two queries, not one with `OR`: each
/// walks the `(state, due_at)` index in order and stops after `limit` rows, where the `OR`
/// made the database collect and sort every due row for each claim (100,000 pending steps
/// cost 13 ms a claim). On PostgreSQL the candidates are locked with `FOR UPDATE SKIP
/// LOCKED`, so instances claiming at once take different rows without waiting for each
/// other; on SQLite the caller's write transaction is the one `IMMEDIATE` writer.
pub fn claim(
    conn: &mut DbConn,
    token: &str,
    kinds: &[&str],
    running: &[String],
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<JobRow>, AppError> {
    let mut candidates: Vec<(i64, String)> = match conn {
        DbConn::Postgres(c) => {
            let mut v: Vec<(i64, String)> =
                due!(now, kinds, limit).for_update().skip_locked().load(c)?;
            v.extend(
                expired!(now, running, kinds, limit)
                    .for_update()
                    .skip_locked()
                    .load::<(i64, String)>(c)?,
            );
            v
        }
        DbConn::Sqlite(c) => {
            let mut v: Vec<(i64, String)> = due!(now, kinds, limit).load(c)?;
            v.extend(expired!(now, running, kinds, limit).load::<(i64, String)>(c)?);
            v
        }
    };
    candidates.sort();
    candidates.truncate(limit.max(0) as usize);
    let ids: Vec<String> = candidates.into_iter().map(|(_, id)| id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(jobs::table.filter(jobs::id.eq_any(&ids)))
        .set((
            jobs::state.eq(RUNNING),
            jobs::lease_until.eq(Some(now + lease_ms)),
            jobs::leased_by.eq(Some(token)),
            jobs::attempts.eq(jobs::attempts + 1),
        ))
        .execute(conn)?;
    Ok(jobs::table
        .filter(jobs::id.eq_any(&ids))
        .order(jobs::due_at.asc())
        .select(JobRow::as_select())
        .load(conn)?)
}

/// How a run ended, as written to the job's row.
#[derive(Debug, Clone)]
pub struct Settled {
    /// [`PENDING`] (a retry, or a recurring job's next run), [`DONE`] or [`FAILED`].
    pub state: &'static str,
    pub attempts: i32,
    /// The next run, when pending.
    pub due_at: i64,
    /// When the run ended (runner clock).
    pub at: i64,
    pub error: Option<String>,
}

/// Records a run's end, if its claim's `token` still holds the lease; returns whether it did
/// (a lease that expired and was claimed again belongs to that claim now).
pub fn settle(conn: &mut DbConn, id: &str, token: &str, s: &Settled) -> Result<bool, AppError> {
    let finished = (s.state != PENDING).then_some(s.at);
    let n = diesel::update(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::state.eq(RUNNING))
            .filter(jobs::leased_by.eq(token)),
    )
    .set((
        jobs::state.eq(s.state),
        jobs::attempts.eq(s.attempts),
        jobs::due_at.eq(s.due_at),
        jobs::lease_until.eq(None::<i64>),
        jobs::leased_by.eq(None::<String>),
        jobs::last_error.eq(s
            .error
            .as_ref()
            .map(|e| e.chars().take(1000).collect::<String>())),
        jobs::finished_at.eq(finished),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The earliest time something may become claimable here: a pending job's due time or the
/// expiry of a lease not held by a run in progress here (`running`).
pub fn next_wake(
    conn: &mut DbConn,
    kinds: &[&str],
    running: &[String],
) -> Result<Option<i64>, AppError> {
    let due: Option<i64> = jobs::table
        .filter(jobs::state.eq(PENDING))
        .filter(jobs::kind.eq_any(kinds))
        .select(diesel::dsl::min(jobs::due_at))
        .first(conn)?;
    let lease: Option<i64> = jobs::table
        .filter(jobs::state.eq(RUNNING))
        .filter(jobs::kind.eq_any(kinds))
        .filter(jobs::id.ne_all(running))
        .select(diesel::dsl::min(jobs::lease_until))
        .first(conn)?;
    Ok(match (due, lease) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

/// Makes sure the one row of a recurring job exists and runs within `every_ms` of `now`
/// (a shorter period set since the last start applies at once).
pub fn ensure_recurring(
    conn: &mut DbConn,
    kind: &str,
    now: i64,
    every_ms: i64,
) -> Result<(), AppError> {
    let next = now + every_ms;
    let job = NewJob {
        kind,
        key: kind,
        payload: serde_json::json!({}),
        due_at: next,
        max_attempts: None,
    };
    if enqueue(conn, &job)? {
        return Ok(());
    }
    let this = || {
        jobs::table
            .filter(jobs::kind.eq(kind))
            .filter(jobs::key.eq(kind))
    };
    diesel::update(this().filter(jobs::state.eq_any([DONE, FAILED])))
        .set((
            jobs::state.eq(PENDING),
            jobs::due_at.eq(next),
            jobs::finished_at.eq(None::<i64>),
        ))
        .execute(conn)?;
    diesel::update(
        this()
            .filter(jobs::state.eq(PENDING))
            .filter(jobs::due_at.gt(next)),
    )
    .set(jobs::due_at.eq(next))
    .execute(conn)?;
    Ok(())
}

/// What `/metrics` shows of the queue.
pub struct Stats {
    /// Jobs per (kind, state).
    pub counts: Vec<(String, String, i64)>,
    /// The due time of the oldest pending job.
    pub oldest_due: Option<i64>,
}

/// The queue's [`Stats`].
pub fn stats(conn: &mut DbConn) -> Result<Stats, AppError> {
    let counts = jobs::table
        .group_by((jobs::kind, jobs::state))
        .select((jobs::kind, jobs::state, diesel::dsl::count_star()))
        .load(conn)?;
    let oldest_due = jobs::table
        .filter(jobs::state.eq(PENDING))
        .select(diesel::dsl::min(jobs::due_at))
        .first(conn)?;
    Ok(Stats { counts, oldest_due })
}

/// Deletes done jobs older than [`KEEP_DONE_MS`] and failed ones older than
/// [`KEEP_FAILED_MS`]; returns how many.
pub fn prune(conn: &mut DbConn, now: i64) -> Result<usize, AppError> {
    let mut n = 0;
    for (state, keep) in [(DONE, KEEP_DONE_MS), (FAILED, KEEP_FAILED_MS)] {
        n += diesel::delete(
            jobs::table
                .filter(jobs::state.eq(state))
                .filter(jobs::finished_at.lt(now - keep)),
        )
        .execute(conn)?;
    }
    Ok(n)
}
