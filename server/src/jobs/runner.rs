//! The runner: claims due jobs with a lease, runs each through its kind's handler (several
//! at once, so a slow SMTP server does not hold up sealing), and settles it: done, retried
//! after an exponential backoff, failed after its last attempt, or — for a recurring job —
//! rescheduled one period later. Between runs it sleeps until the earliest due time or lease
//! expiry (at most [`MAX_SLEEP`]: another instance may queue work it is not told about), or
//! until woken.

use super::store::{self, Settled, DONE, FAILED, PENDING};
use super::{Clock, Jobs};
use crate::db::rows::JobRow;
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::metrics::Metrics;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// The longest the runner sleeps without looking at the table.
pub const MAX_SLEEP: Duration = Duration::from_secs(30);
/// How long a claimed job is this instance's; a crashed instance's jobs are run again after.
const LEASE_MS: i64 = 120_000;
/// Jobs run at once by one instance.
const CONCURRENCY: usize = 8;
/// Kind of the built-in job that deletes old finished jobs.
pub const PRUNE: &str = "jobs.prune";

/// One run of a job, as its handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub key: String,
    pub payload: serde_json::Value,
    /// This run's number, from 1.
    pub attempt: i32,
    /// The run after which a failure is final.
    pub max_attempts: i32,
    /// When the run started (runner clock).
    pub now_ms: i64,
}

/// Writes the handler's own record of a run in the transaction that settles the job, so the
/// two never disagree (e.g. a mail row says "sent" exactly when its job is done). It may be
/// called again when that transaction has to be retried.
pub type Record = Arc<dyn Fn(&mut DbConn, &Settled) -> Result<(), AppError> + Send + Sync>;

/// What a handler reports.
pub struct Outcome {
    pub error: Option<String>,
    pub record: Option<Record>,
}

impl Outcome {
    pub fn ok() -> Outcome {
        Outcome {
            error: None,
            record: None,
        }
    }

    pub fn failed(error: impl std::fmt::Display) -> Outcome {
        Outcome {
            error: Some(error.to_string()),
            record: None,
        }
    }

    /// The same outcome, with a record written when the job settles.
    pub fn with_record(
        mut self,
        f: impl Fn(&mut DbConn, &Settled) -> Result<(), AppError> + Send + Sync + 'static,
    ) -> Outcome {
        self.record = Some(Arc::new(f));
        self
    }
}

type Handler = Arc<dyn Fn(Job) -> BoxFuture<'static, Outcome> + Send + Sync>;

/// Retries of a one-off kind: `base_ms` doubling per attempt up to `max_delay_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub base_ms: i64,
    pub max_delay_ms: i64,
    pub max_attempts: i32,
}

impl Retry {
    /// The delay after failed attempt `attempt` (from 1).
    pub fn delay_ms(&self, attempt: i32) -> i64 {
        self.base_ms
            .saturating_mul(1 << (attempt - 1).clamp(0, 20))
            .min(self.max_delay_ms)
    }
}

/// A kind of job and how to run it.
#[derive(Clone)]
pub struct Kind {
    pub name: &'static str,
    handler: Handler,
    retry: Retry,
    every_ms: Option<i64>,
}

impl Kind {
    /// Jobs queued one by one ([`super::enqueue`]), retried per `retry`.
    pub fn once<F>(name: &'static str, retry: Retry, handler: F) -> Kind
    where
        F: Fn(Job) -> BoxFuture<'static, Outcome> + Send + Sync + 'static,
    {
        Kind {
            name,
            handler: Arc::new(handler),
            retry,
            every_ms: None,
        }
    }

    /// One row run every `every`; a failed run is logged and tried again at the next one.
    pub fn recurring<F>(name: &'static str, every: Duration, handler: F) -> Kind
    where
        F: Fn(Job) -> BoxFuture<'static, Outcome> + Send + Sync + 'static,
    {
        let never_fails = Retry {
            base_ms: 0,
            max_delay_ms: 0,
            max_attempts: i32::MAX,
        };
        Kind {
            every_ms: Some((every.as_millis() as i64).max(1)),
            ..Kind::once(name, never_fails, handler)
        }
    }

    /// [`Kind::recurring`] whose run is one write transaction given the runner's clock
    /// (upkeep: pruning, sweeping).
    pub fn recurring_write<T, F>(name: &'static str, every: Duration, db: Db, work: F) -> Kind
    where
        T: Send + 'static,
        F: Fn(&mut DbConn, i64) -> Result<T, AppError> + Copy + Send + Sync + 'static,
    {
        Kind::recurring(name, every, move |job| {
            let db = db.clone();
            Box::pin(async move {
                match db.write(move |c| work(c, job.now_ms)).await {
                    Ok(_) => Outcome::ok(),
                    Err(e) => Outcome::failed(e),
                }
            })
        })
    }
}

/// Builds the runner from its kinds, then [`Runner::spawn`]s it.
pub struct Runner {
    db: Db,
    clock: Clock,
    metrics: Metrics,
    kinds: HashMap<&'static str, Kind>,
    wake: Arc<Notify>,
}

struct Inner {
    db: Db,
    clock: Clock,
    metrics: Metrics,
    kinds: HashMap<&'static str, Kind>,
    names: Vec<&'static str>,
    /// This instance's name, the first part of each claim's token in `leased_by`.
    me: String,
    /// Jobs whose runs are in progress in this process: never claimed again while they run.
    running: std::sync::Mutex<std::collections::HashSet<String>>,
    wake: Arc<Notify>,
}

impl Runner {
    /// A runner with the built-in prune job (hourly).
    pub fn new(db: Db, clock: Clock, metrics: Metrics) -> Runner {
        let prune =
            Kind::recurring_write(PRUNE, Duration::from_secs(3600), db.clone(), store::prune);
        Runner {
            db,
            clock,
            metrics,
            kinds: HashMap::from([(PRUNE, prune)]),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The handle of the runner this will be, before it starts: kinds whose handlers call
    /// services through the executor need it, and the executor needs the handle to wake the
    /// runner.
    pub fn handle(&self) -> Jobs {
        Jobs {
            wake: self.wake.clone(),
            clock: self.clock.clone(),
            db: self.db.clone(),
            metrics: self.metrics.clone(),
        }
    }

    pub fn kind(mut self, kind: Kind) -> Runner {
        self.kinds.insert(kind.name, kind);
        self
    }

    /// Creates the recurring jobs' rows if missing and starts the loop.
    pub fn spawn(self) -> Result<Jobs, AppError> {
        let now = self.clock.now_ms();
        let recurring: Vec<(&'static str, i64)> = self
            .kinds
            .values()
            .filter_map(|k| k.every_ms.map(|e| (k.name, e)))
            .collect();
        self.db.write_blocking(|c| {
            for (name, every) in &recurring {
                store::ensure_recurring(c, name, now, *every)?;
            }
            Ok(())
        })?;
        let mut names: Vec<&'static str> = self.kinds.keys().copied().collect();
        names.sort_unstable();
        let jobs = self.handle();
        let wake = self.wake;
        let inner = Arc::new(Inner {
            db: self.db.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            kinds: self.kinds,
            names,
            me: format!("instance-{}", crate::db::rows::new_id()),
            running: Default::default(),
            wake: wake.clone(),
        });
        tokio::spawn(inner.run());
        Ok(jobs)
    }
}

impl Inner {
    async fn run(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        loop {
            let free = slots.available_permits();
            if free == 0 {
                self.sleep(MAX_SLEEP).await; // a finishing job wakes the loop
                continue;
            }
            // Look (a read) before claiming (a write): on SQLite a claim takes the one writer.
            let wait = self.until_next().await;
            if !wait.is_zero() {
                self.sleep(wait).await;
                continue;
            }
            let me = self.clone();
            let now = self.clock.now_ms();
            let token = format!("{}/{}", self.me, crate::db::rows::new_id());
            let running = self.running_ids();
            let rows = self
                .db
                .write(move |c| {
                    store::claim(c, &token, &me.names, &running, now, LEASE_MS, free as i64)
                })
                .await;
            let rows = match rows {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "job runner cannot claim jobs");
                    self.sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if rows.is_empty() {
                // Due but not claimable: another instance holds the row locked mid-claim.
                self.sleep(Duration::from_millis(20)).await;
            }
            self.lock_running()
                .extend(rows.iter().map(|r| r.id.clone()));
            for row in rows {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let me = self.clone();
                let wake = self.wake.clone();
                tokio::spawn(async move {
                    me.execute(row).await;
                    drop(slot);
                    wake.notify_one();
                });
            }
        }
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn running_ids(&self) -> Vec<String> {
        self.lock_running().iter().cloned().collect()
    }

    /// Sleeps up to `pause`, or until woken.
    async fn sleep(&self, pause: Duration) {
        let _ = tokio::time::timeout(pause, self.wake.notified()).await;
    }

    /// Time until something may become claimable (zero: now), at most [`MAX_SLEEP`].
    async fn until_next(self: &Arc<Self>) -> Duration {
        let me = self.clone();
        let running = self.running_ids();
        match self
            .db
            .read(move |c| store::next_wake(c, &me.names, &running))
            .await
        {
            Ok(Some(at)) => {
                Duration::from_millis((at - self.clock.now_ms()).max(0) as u64).min(MAX_SLEEP)
            }
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::warn!(error = %e, "job runner cannot read the queue");
                Duration::from_secs(1)
            }
        }
    }

    async fn execute(self: Arc<Self>, row: JobRow) {
        let Some(kind) = self.kinds.get(row.kind.as_str()).cloned() else {
            return; // claim() only takes known kinds
        };
        let max = row.max_attempts.unwrap_or(kind.retry.max_attempts);
        let job = Job {
            id: row.id.clone(),
            kind: row.kind.clone(),
            key: row.key.clone(),
            payload: serde_json::from_str(&row.payload).unwrap_or_default(),
            attempt: row.attempts,
            max_attempts: max,
            now_ms: self.clock.now_ms(),
        };
        // A panicking handler fails its run instead of leaving the row leased.
        let outcome = tokio::spawn((kind.handler)(job))
            .await
            .unwrap_or_else(|e| Outcome::failed(format!("the handler panicked: {e}")));
        let at = self.clock.now_ms();
        let settled = match (outcome.error, kind.every_ms) {
            (None, Some(every)) => Settled {
                state: PENDING,
                attempts: 0,
                due_at: at + every,
                at,
                error: None,
            },
            (error, Some(every)) => Settled {
                state: PENDING,
                attempts: row.attempts,
                due_at: at + every,
                at,
                error,
            },
            (None, None) => Settled {
                state: DONE,
                attempts: row.attempts,
                due_at: row.due_at,
                at,
                error: None,
            },
            (error, None) if row.attempts >= max => Settled {
                state: FAILED,
                attempts: row.attempts,
                due_at: row.due_at,
                at,
                error,
            },
            (error, None) => Settled {
                state: PENDING,
                attempts: row.attempts,
                due_at: at + kind.retry.delay_ms(row.attempts),
                at,
                error,
            },
        };
        let outcome_label = match (&settled.error, settled.state) {
            (None, _) => "done",
            (Some(_), FAILED) => "failed",
            (Some(_), _) => "retry",
        };
        if let Some(e) = &settled.error {
            tracing::warn!(job = %row.id, kind = %row.kind, key = %row.key, attempt = row.attempts, error = %e, outcome = outcome_label, "job run failed");
        }
        self.metrics
            .job_runs
            .with_label_values(&[&row.kind, outcome_label])
            .inc();
        let token = row.leased_by.clone().unwrap_or_default();
        let record = outcome.record;
        // Recorded with a few retries; a run that still cannot be recorded stays leased until
        // its lease expires, and is then claimed again (here too: it is no longer running).
        let mut written = Err(AppError::Internal(anyhow::anyhow!("not attempted")));
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
            let (id, token, settled, record) = (
                row.id.clone(),
                token.clone(),
                settled.clone(),
                record.clone(),
            );
            written = self
                .db
                .write(move |c| {
                    let ours = store::settle(c, &id, &token, &settled)?;
                    if let (true, Some(record)) = (ours, record) {
                        record(c, &settled)?;
                    }
                    Ok(ours)
                })
                .await;
            if written.is_ok() {
                break;
            }
        }
        self.lock_running().remove(&row.id);
        match written {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = %row.id, kind = %row.kind, "job lease expired before the run ended; another claim took it over")
            }
            Err(e) => {
                tracing::error!(job = %row.id, kind = %row.kind, error = %e, "cannot record a job run; it runs again once its lease expires")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Retry;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let r = Retry {
            base_ms: 2000,
            max_delay_ms: 600_000,
            max_attempts: 20,
        };
        assert_eq!(r.delay_ms(1), 2000);
        assert_eq!(r.delay_ms(2), 4000);
        assert_eq!(r.delay_ms(4), 16_000);
        assert_eq!(r.delay_ms(12), 600_000);
        assert_eq!(r.delay_ms(40), 600_000);
    }
}
