//! The one way a change is made: run the service in one transaction, commit, then apply the
//! effects it noted (see [`crate::effects`]) to this instance's live parts — drop stale cached
//! documents, wake the stream pump, the job runner and the credential reader. Handlers, the
//! stream's acknowledgement frames, background work and the CLI all call services through
//! an [`Executor`], so none of them repeats that sequence.
//!
//! Layering: the executor sits above the services and below the web layer; it knows the live
//! parts (cache, stream hub, job runner) but nothing of actix.

use crate::cache::PublicCache;
use crate::db::{Db, DbConn};
use crate::effects::{self, Done, Effects};
use crate::error::AppError;

/// What effects are applied to; absent in a process without live parts (the CLI).
#[derive(Clone)]
struct Live {
    cache: PublicCache,
    hub: crate::stream::Hub,
    jobs: crate::jobs::Jobs,
}

/// Runs units of work; cheap to clone.
#[derive(Clone)]
pub struct Executor {
    db: Db,
    live: Option<Live>,
}

impl Executor {
    /// An executor of a serving instance.
    pub fn new(
        db: Db,
        cache: PublicCache,
        hub: crate::stream::Hub,
        jobs: crate::jobs::Jobs,
    ) -> Executor {
        Executor {
            db,
            live: Some(Live { cache, hub, jobs }),
        }
    }

    /// An executor of a process that serves nothing (the CLI): a running server notices
    /// the committed rows by itself (its pumps poll, its caches expire).
    pub fn offline(db: Db) -> Executor {
        Executor { db, live: None }
    }

    /// The database it commits to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Runs `f` as one unit of work and returns its result once committed and applied. The
    /// effects are applied on the blocking thread right after the commit, so a request that
    /// is dropped meanwhile (its client went away) still leaves no stale cache behind.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.run_blocking(f))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// [`Executor::run`] for blocking callers.
    pub fn run_blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError>,
    {
        let done = self.db.write_blocking(|c| effects::collect(|| f(c)))?;
        Ok(self.finish(done))
    }

    fn finish<T>(&self, done: Done<T>) -> T {
        self.apply(&done.effects);
        done.value
    }

    /// Applies committed effects to this instance.
    pub fn apply(&self, effects: &Effects) {
        let Some(live) = &self.live else { return };
        for org in &effects.stale_organisations {
            live.cache.invalidate(org);
        }
        for token in &effects.stale_feed_tokens {
            live.cache.invalidate_token(token);
        }
        if effects.events {
            live.hub.wake();
        }
        if effects.jobs {
            live.jobs.wake();
        }
        if effects.credentials {
            live.hub.ends().wake();
        }
    }
}
