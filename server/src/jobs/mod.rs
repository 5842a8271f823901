//! One runner for everything durable that happens later: a row in the `jobs` table per
//! piece of work, queued in the transaction of the change that caused it (so it commits, or
//! vanishes, with that change) and run after commit by whichever instance claims it first.
//!
//! - **Kinds** today: `mail.send` (one per outbox mail, key = the mail's id; `crate::mail`),
//!   `delivery.reached` (one per stream fan-out, queued with its disclosure;
//!   `crate::customers::acknowledgements`),
//!   `escalation.step` (one per step of an escalation, key = escalation and step;
//!   `crate::escalation::run`),
//!   `digest.compose` (recurring, every `CIRHUB_DIGEST_INTERVAL_SECS`), `journal.seal`
//!   (recurring, every 2 s; `crate::audit::journal`), `identity.prune` (recurring, hourly:
//!   login attempts, used refresh tokens and credential changes nobody needs any more;
//!   `crate::identity::sessions`) and `jobs.prune` (recurring, hourly: done jobs are kept 7
//!   days, failed ones 30).
//! - **Claiming** takes a lease (`lease_until`, `leased_by`) and counts the attempt; a lease
//!   that expires without the run being settled — its instance crashed — makes the job
//!   claimable again, so work is done at least once and, short of a crash mid-run, once.
//! - **Retries** back off exponentially up to the kind's limit, then the job is `failed`; a
//!   recurring job is one row that goes back to `pending` one period after each run.
//! - **Time** is the [`Clock`]: system time, which only a test server may move forward.
//!
//! Not everything that happens later is a job: the stream pump (`crate::stream`) and the
//! credential reader (`crate::stream::ends`) only notify live connections of what is already
//! committed; they hold nothing that a restart could lose, so they stay in-memory loops.
//!
//! This module sits below the web layer: it knows the database, the metrics and its kinds'
//! handlers, never the HTTP state or extractors.

mod clock;
mod runner;
pub mod store;

pub use clock::Clock;
pub use runner::{Job, Kind, Outcome, Retry, Runner, MAX_SLEEP, PRUNE};
pub use store::{enqueue, NewJob, Settled};

use crate::db::Db;
use crate::metrics::Metrics;
use std::sync::Arc;
use tokio::sync::Notify;

/// Handle to the running job runner; cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    wake: Arc<Notify>,
    clock: Clock,
    db: Db,
    metrics: Metrics,
}

impl Jobs {
    /// After a commit that queued jobs: look at the table now rather than at the next due
    /// time.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The runner's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Moves the runner's clock forward and wakes it (test servers only: the caller checks
    /// the setting).
    pub fn advance(&self, ms: i64) -> i64 {
        let offset = self.clock.advance(ms);
        self.wake();
        offset
    }

    /// Sets the queue's gauges from the table (one grouped query; at scrape time).
    pub async fn observe(&self) -> Result<(), crate::error::AppError> {
        let store::Stats { counts, oldest_due } = self.db.read(store::stats).await?;
        let now = self.clock.now_ms();
        self.metrics.jobs.reset();
        for (kind, state, n) in counts {
            self.metrics.jobs.with_label_values(&[&kind, &state]).set(n);
        }
        let age_ms = oldest_due.map(|due| (now - due).max(0)).unwrap_or(0);
        self.metrics.jobs_oldest_due_age.set(age_ms as f64 / 1000.0);
        Ok(())
    }
}
