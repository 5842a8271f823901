//! Building and running the HTTP server.

use crate::auth::jwt::JwtKeys;
use crate::cache::PublicCache;
use crate::config::Config;
use crate::db::Db;
use crate::extract;
use crate::metrics::Metrics;
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// A bound, not yet running server: `port()` is known before `run()`, so tests bind port 0.
pub struct Application {
    port: u16,
    server: Server,
    pub state: AppState,
}

impl Application {
    /// Connects, migrates, binds and prepares the server.
    pub fn build(mut config: Config) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.addr)?;
        let port = listener.local_addr()?.port();
        if config.addr.port() == 0 && config.public_url.ends_with(":0") {
            // Port 0 picked a free port: public links must name the real one.
            config.public_url = format!("{}{port}", config.public_url.trim_end_matches('0'));
        }
        let db = Db::connect(&config)?;
        let applied = db.migrate()?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied migrations");
        }
        if applied
            .iter()
            .any(|m| m == crate::sharing::lookup::INDEX_MIGRATION)
        {
            let n = db.write_blocking(crate::sharing::lookup::backfill_index)?;
            tracing::info!(
                objects = n,
                "indexed the values of objects stored before the value index"
            );
        }
        let backfilled = db.write_blocking(crate::incidents::backfill_versions)?;
        if backfilled > 0 {
            tracing::info!(
                records = backfilled,
                "stored the current version of older records"
            );
        }
        let adopted = db.write_blocking(crate::delivery::notify::adopt_pending)?;
        if adopted > 0 {
            tracing::warn!(mails = adopted, "queued pending mails that had no job");
        }
        let secret = match &config.jwt_secret {
            Some(s) => s.expose().to_string(),
            None => db.write_blocking(crate::identity::sessions::jwt_secret)?,
        };
        let config = Arc::new(config);
        let metrics = Metrics::new();
        let journal = crate::audit::Journal::spawn(db.clone());
        let runner =
            crate::jobs::Runner::new(db.clone(), crate::jobs::Clock::new(), metrics.clone());
        let jobs = runner.handle();
        journal.wake_jobs_with(jobs.clone());
        let hub = crate::stream::Hub::new(config.stream_queue);
        hub.spawn_pump(
            db.clone(),
            journal.clone(),
            Duration::from_millis(config.stream_poll_ms),
        );
        let cache = PublicCache::new(Duration::from_millis(config.public_cache_ttl_ms));
        // Timers call services as handlers do: through the executor, so their effects apply.
        let exec =
            crate::executor::Executor::new(db.clone(), cache.clone(), hub.clone(), jobs.clone());
        runner
            .kind(crate::mail::send_kind(
                db.clone(),
                journal.clone(),
                config.clone(),
                metrics.clone(),
            )?)
            .kind(crate::mail::digest_kind(
                exec.clone(),
                Duration::from_secs(config.digest_interval_secs.max(1)),
            ))
            .kind(crate::customers::acknowledgements::reached_kind(db.clone()))
            .kind(crate::timers::escalation_step_kind(
                exec.clone(),
                metrics.clone(),
            ))
            .kind(crate::timers::clock_alert_kind(exec.clone()))
            .kind(crate::timers::import_kind(exec.clone()))
            .kind(crate::timers::review_kind(exec.clone()))
            .kind(crate::sharing::imports::sweep_kind(db.clone()))
            .kind(crate::identity::sessions::prune_kind(
                db.clone(),
                (config.refresh_ttl_secs as i64).saturating_mul(1000),
            ))
            .kind(crate::audit::journal::seal_kind(
                journal.clone(),
                // Each seal writes the database every reader maps; SQLite makes every
                // connection drop its cache and memory map after such a change.
                Duration::from_secs(config.seal_interval_secs.max(1)),
            ))
            .spawn()?;
        let state = AppState {
            jwt: JwtKeys::new(secret.as_bytes(), config.access_ttl_secs),
            exec,
            cache,
            jobs,
            journal,
            hub,
            metrics,
            db,
            config,
        };
        let data = web::Data::new(state.clone());
        let test_clock = state.config.test_clock;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::QueryConfig::default().error_handler(extract::query_error))
                .app_data(web::PathConfig::default().error_handler(extract::path_error))
                .wrap(actix_web::middleware::from_fn(extract::reject_nul))
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("Referrer-Policy", "no-referrer")),
                )
                .wrap(actix_web::middleware::from_fn(
                    crate::access_log::middleware,
                ))
                .configure(|cfg| crate::routes::configure(cfg, test_clock))
                .default_service(web::to(crate::routes::ops::not_found))
        })
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server is stopped.
    pub async fn run(self) -> std::io::Result<()> {
        let out = self.server.await;
        // A graceful stop seals what the disclosure journal committed; after a crash the
        // next start's sealer does.
        if let Err(e) = self.state.journal.seal().await {
            tracing::error!(error = %e, "cannot seal disclosures at shutdown");
        }
        out
    }
}

/// Installs the tracing subscriber (JSON lines, or human-readable with
/// `CIRHUB_LOG_FORMAT=pretty`); `RUST_LOG` filters, default `info`. Lines are handed to a
/// writer thread that writes them in buffered batches, as nginx does with its access log, so
/// a request never waits for the terminal or the disk; keep the returned guard alive until
/// exit (dropping it flushes what is pending).
pub fn init_tracing(json: bool) -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Not lossy: when the writer falls 128k lines behind, requests wait rather than lines
    // vanish; short of that, logging costs a request only the formatting of its line.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("cirhub-log")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    // One line per request from `access_log`, carrying request id, route, status, tenant
    // and actor.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal: escape codes in a log file are noise
        // (and cost formatting on every line).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    guard
}
