//! Storage: one diesel codebase over SQLite (embedded default) and PostgreSQL (production,
//! several instances). The backend is picked from the URL scheme; queries are written once
//! against [`DbConn`], a diesel `MultiConnection`.

pub mod keys;
pub mod rows;
pub mod schema;

/// PostgreSQL advisory lock keys, one per thing they serialise across instances (in one place,
/// so two never share a key by accident).
pub mod locks {
    /// The audit hash chain and everything numbered under it (events, credential changes).
    pub const AUDIT_CHAIN: i64 = 7305001;
    /// The disclosure journal: shared by group commits, exclusive for the sealer.
    pub const JOURNAL: i64 = 7305002;
    /// Counting and reserving a login attempt.
    pub const LOGIN_ATTEMPTS: i64 = 7305003;
}

use crate::config::{Backend, Config};
use crate::error::AppError;
use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Migrations per backend, with identical names, compiled into the binary (the SQLite ones
/// public for the test of a migration and its revert).
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// SQLite: copies the write-ahead log into the database file twice a second, beside the
/// writers (a passive checkpoint waits for nobody), instead of inside whichever commit
/// crossed the log's size limit; that commit, often the disclosure journal's group, would
/// hold every reader waiting on it for the whole copy. Not a job row: it is storage upkeep
/// with nothing to retry, like SQLite's own automatic checkpoint it replaces.
fn checkpointer(url: String, alive: std::sync::Weak<()>) {
    let manager = Manager {
        url,
        backend: Backend::Sqlite,
    };
    let mut conn: Option<DbConn> = None;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        if alive.strong_count() == 0 {
            return;
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match manager.connect() {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    tracing::warn!(error = %e, "checkpointer cannot open the database");
                    continue;
                }
            },
        };
        // Without a schema name, every attached file: the database and the journal.
        if let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::warn!(error = %e, "checkpoint failed");
            conn = None;
        }
    }
}

/// The SQLite file of the disclosure journal beside the database file:
/// `cirhub.db` -> `cirhub-disclosures.db`.
pub fn journal_path(database: &str) -> String {
    let path = std::path::Path::new(database);
    let stem = path
        .file_stem()
        .map_or_else(|| "cirhub".into(), |s| s.to_string_lossy());
    path.with_file_name(format!("{stem}-disclosures.db"))
        .to_string_lossy()
        .into_owned()
}

/// Runs one query expression on the concrete connection of either backend. Through the
/// multi-backend connection diesel rebuilds a statement's SQL text on every execution to find
/// it in the statement cache; on the concrete one a statement of a fixed shape is found by its
/// type. For the point reads on every request's path (credential, record, snapshot).
#[macro_export]
macro_rules! on_concrete {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgres($c) => $body,
        }
    };
}

/// Loads `$query` limited to the rows whose `$column` is one of `$keys` (a slice), on the
/// concrete connection. One key is an `=`: a statement prepared once per connection and
/// found again by its type; more are a padded IN list ([`keys::InKeys`]), prepared once per
/// size class. For lookups, which mostly ask for one value.
#[macro_export]
macro_rules! load_keyed {
    ($conn:expr, $query:expr, $column:expr, $keys:expr) => {
        $crate::on_concrete!($conn, |c| match $keys {
            [one] => $query.filter($column.eq(one)).load(c),
            keys => $query
                .filter($crate::db::keys::InKeys::new($column, keys))
                .load(c),
        })
    };
}

/// Opens connections of the configured backend only, so a PostgreSQL error is reported as
/// such instead of being hidden behind a failed SQLite attempt.
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConn::Postgres)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://");
                let mut c =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the one writer; busy_timeout makes a second
                // process (the CLI) wait for the lock instead of failing. The memory map
                // serves the pages of a large database (a million indicators) from the OS
                // page cache, shared by every connection, instead of a read() per page
                // missing from each connection's own cache; the whole file (up to the 64 GiB
                // SQLITE_MAX_MMAP_SIZE of .cargo/config.toml).
                c.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 68719476736;",
                )
                .map_err(r2d2::Error::QueryError)?;
                // The disclosure journal lives in a file of its own (see the migration
                // `journal_file`): its table resolves by name, as if it were in this one.
                use diesel::RunQueryDsl as _;
                diesel::sql_query("ATTACH DATABASE ? AS journal")
                    .bind::<diesel::sql_types::Text, _>(journal_path(path))
                    .execute(&mut c)
                    .map_err(r2d2::Error::QueryError)?;
                c.batch_execute("PRAGMA journal.synchronous = NORMAL;")
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection dropped while its thread unwinds may sit inside an open transaction:
    /// the pool discards it instead of handing it to the next request.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// The connection pool plus what writers need to serialise.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    /// SQLite only: connections for [`Db::read_point`], used on the async worker threads
    /// themselves (one per worker at most is ever in use), apart from the blocking pool so
    /// that a point read never waits behind long reads and writes.
    point: Option<r2d2::Pool<Manager>>,
    url: Arc<str>,
    pub backend: Backend,
    /// SQLite has one writer at a time; queueing writers here avoids busy-waiting in SQLite.
    write_lock: Arc<Mutex<()>>,
    /// Held by every clone; SQLite's checkpointer thread ends when the last one is dropped.
    _alive: Arc<()>,
}

impl Db {
    /// Connects (creating the SQLite data directory if needed) without migrating.
    pub fn connect(config: &Config) -> anyhow::Result<Db> {
        if config.backend == Backend::Sqlite {
            let path = std::path::Path::new(config.database_url.trim_start_matches("sqlite://"));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create data directory {}", dir.display()))?;
            }
        }
        let manager = Manager {
            url: config.database_url.clone(),
            backend: config.backend,
        };
        if config.backend == Backend::Sqlite {
            // WAL is a property of the file: set it once, before the pool opens connections
            // in parallel (switching needs an exclusive lock).
            let mut first = manager.connect().context("cannot open SQLite database")?;
            first
                .batch_execute("PRAGMA main.journal_mode = WAL; PRAGMA journal.journal_mode = WAL;")
                .context("cannot enable WAL")?;
        }
        // A SQLite file does not drop a connection: testing one on every checkout (a
        // `SELECT 1` each time) only costs the read; PostgreSQL's may have gone away.
        let pool = r2d2::Pool::builder()
            .max_size(config.db_pool)
            .test_on_check_out(config.backend == Backend::Postgres)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .with_context(|| match config.backend {
                Backend::Postgres => "cannot connect to PostgreSQL (DATABASE_URL)".to_string(),
                Backend::Sqlite => format!("cannot open SQLite database {}", config.database_url),
            })?;
        let point = match config.backend {
            Backend::Sqlite => Some(
                r2d2::Pool::builder()
                    .max_size(
                        std::thread::available_parallelism()
                            .map_or(2, |n| u32::try_from(n.get()).unwrap_or(64).max(2)),
                    )
                    .min_idle(Some(0))
                    .test_on_check_out(false)
                    .connection_timeout(Duration::from_secs(10))
                    .build_unchecked(Manager {
                        url: config.database_url.clone(),
                        backend: config.backend,
                    }),
            ),
            Backend::Postgres => None,
        };
        let alive = Arc::new(());
        if config.backend == Backend::Sqlite {
            let url = config.database_url.clone();
            let weak = Arc::downgrade(&alive);
            std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn(move || checkpointer(url, weak))
                .context("cannot start the SQLite checkpointer")?;
        }
        Ok(Db {
            _alive: alive,
            pool,
            point,
            url: config.database_url.as_str().into(),
            backend: config.backend,
            write_lock: Arc::new(Mutex::new(())),
        })
    }

    /// Applies pending migrations; returns the names applied.
    pub fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let mut conn = self.pool.get()?;
        let applied = match &mut *conn {
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
            DbConn::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(applied.iter().map(|m| m.to_string()).collect())
    }

    /// A pooled connection for blocking code (CLI, start-up).
    pub fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, AppError> {
        self.pool.get().map_err(AppError::from)
    }

    /// Runs read-only work on the blocking thread pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// A short read bounded by a few indexed lookups (a credential, one record by its key).
    /// On SQLite it runs at once on the calling thread: an in-process WAL read of a few
    /// microseconds costs less than the hop to the blocking pool and back, and it never
    /// waits for the writer. On PostgreSQL (a network round trip) it is [`Db::read`].
    pub async fn read_point<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        match &self.point {
            Some(point) => {
                let mut conn = point.get().map_err(AppError::from)?;
                f(&mut conn)
            }
            None => self.read(f).await,
        }
    }

    /// Runs `f` in one transaction on the blocking thread pool: the change, its audit record
    /// and any outbox rows commit together or not at all.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write_blocking(f))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// [`Db::write`] for blocking callers.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError>,
    {
        self.write_with(false, f)
    }

    fn write_with<T, F>(&self, durable: bool, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError>,
    {
        let mut conn = self.conn()?;
        self.transaction_on(&mut conn, durable, f)
    }

    /// A connection of its own, outside the pool, whose every commit is synced to disk
    /// (`synchronous = FULL` on SQLite; PostgreSQL commits are synced anyway): for a writer
    /// that commits durable records all the time ([`crate::audit::Journal`]), so that its
    /// transactions need neither a pool checkout nor a switch of the sync level.
    pub fn open_durable(&self) -> Result<DbConn, AppError> {
        let mut conn = Manager {
            url: self.url.to_string(),
            backend: self.backend,
        }
        .connect()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot open a connection: {e}")))?;
        if self.backend == Backend::Sqlite {
            // Its commits copy no pages into the database file: the checkpointer does that
            // beside it, so a durable commit waits for its own sync only. A log that was
            // copied in full starts again from its beginning, cut back to 16 MiB.
            conn.batch_execute(
                "PRAGMA main.synchronous = FULL; PRAGMA journal.synchronous = FULL; \
                 PRAGMA wal_autocheckpoint = 0; PRAGMA journal.journal_size_limit = 16777216;",
            )?;
        }
        Ok(conn)
    }

    /// [`Db::write_blocking`] on a connection of [`Db::open_durable`]: one transaction,
    /// queued with every other writer of this instance, synced on commit.
    pub fn write_durable_on<T, F>(&self, conn: &mut DbConn, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError>,
    {
        self.transaction_on(conn, false, f)
    }

    fn transaction_on<T, F>(&self, conn: &mut DbConn, durable: bool, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError>,
    {
        match self.backend {
            Backend::Postgres => conn.transaction(f),
            Backend::Sqlite => {
                let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
                if durable {
                    conn.batch_execute("PRAGMA synchronous = FULL")?;
                }
                // BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads
                // before it writes (the audit chain does) never fails to upgrade its lock.
                conn.batch_execute("BEGIN IMMEDIATE")?;
                let out = match f(conn) {
                    Ok(v) => conn
                        .batch_execute("COMMIT")
                        .map(|_| v)
                        .map_err(AppError::from),
                    Err(e) => {
                        let _ = conn.batch_execute("ROLLBACK");
                        Err(e)
                    }
                };
                if durable {
                    conn.batch_execute("PRAGMA synchronous = NORMAL")?;
                }
                out
            }
        }
    }
}
