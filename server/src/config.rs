//! Configuration: one struct, built from defaults and `CIRHUB_*` / `DATABASE_URL` environment
//! variables, validated once at start-up and passed in (never read from globals).

use anyhow::{bail, Context};
use std::net::SocketAddr;
use std::path::PathBuf;

/// A secret string that never shows in logs or debug output.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which database the URL names; chosen from the scheme, never by trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// `CIRHUB_ADDR`, default `127.0.0.1:8080`; port 0 picks a free port.
    pub addr: SocketAddr,
    /// `DATABASE_URL`: `postgres://…` for PostgreSQL, else a SQLite file path
    /// (default `<data dir>/cirhub.db`).
    pub database_url: String,
    pub backend: Backend,
    /// `CIRHUB_DATA_DIR`, default `./data`.
    pub data_dir: PathBuf,
    /// `CIRHUB_DB_POOL`, connections in the pool (default 8).
    pub db_pool: u32,
    /// `CIRHUB_JWT_SECRET`; when absent one is generated and kept in the database, so all
    /// instances sharing it agree.
    pub jwt_secret: Option<Secret>,
    /// `CIRHUB_ACCESS_TTL_SECS`, access-token lifetime (default 900).
    pub access_ttl_secs: u64,
    /// `CIRHUB_REFRESH_TTL_SECS`, session lifetime (default 14 days).
    pub refresh_ttl_secs: u64,
    /// `CIRHUB_PUBLIC_URL`, the base URL used in feeds and Statuspage `page.url`.
    pub public_url: String,
    /// `CIRHUB_FRONTEND_DIR`, the built frontend (default `frontend/dist`).
    pub frontend_dir: PathBuf,
    /// `CIRHUB_LOG_FORMAT`: `json` (default) or `pretty`.
    pub log_json: bool,
    /// `CIRHUB_LOGIN_MAX_FAILURES`: failed logins per e-mail in 15 minutes before 429 (default 5).
    pub login_max_failures: i64,
    /// `CIRHUB_MAX_BODY_BYTES`: request body limit (default 262144).
    pub max_body_bytes: usize,
    /// `CIRHUB_TRUSTED_PROXIES`: comma-separated addresses of reverse proxies whose
    /// `X-Forwarded-For` names the client (for the login limiter); empty: the TCP peer is the
    /// client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `CIRHUB_PUBLIC_CACHE_TTL_MS`: how long another instance's change may take to show on
    /// this instance's public pages (default 2000); local changes show at once.
    pub public_cache_ttl_ms: u64,
    /// `CIRHUB_SMTP_URL`: `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS). Absent: mails are written as `.eml`
    /// files into `<data dir>/outbox`.
    pub smtp_url: Option<Secret>,
    /// `CIRHUB_SMTP_CA_FILE`: PEM certificate(s) of a private CA that signed the SMTP
    /// server's certificate (otherwise the public web roots are trusted).
    pub smtp_ca_file: Option<PathBuf>,
    /// `CIRHUB_MAIL_FROM`, the From of alert mails (default `cirhub <alerts@localhost>`).
    pub mail_from: String,
    /// `CIRHUB_MAIL_RETRY_BASE_MS`: first retry delay, doubling per attempt up to 10 minutes
    /// (default 2000).
    pub mail_retry_base_ms: u64,
    /// `CIRHUB_MAIL_MAX_ATTEMPTS`: attempts before a mail is marked failed (default 20).
    pub mail_max_attempts: i32,
    /// `CIRHUB_DIGEST_INTERVAL_SECS`: how often digest subscribers get their digest (3600).
    pub digest_interval_secs: u64,
    /// `CIRHUB_SEAL_INTERVAL_SECS`: how often the disclosures committed since the last seal
    /// are sealed into the audit chain (default 10).
    pub seal_interval_secs: u64,
    /// `CIRHUB_STREAM_HEARTBEAT_SECS`: heartbeat period of the WebSocket stream (default 20).
    pub stream_heartbeat_secs: u64,
    /// `CIRHUB_STREAM_QUEUE`: events a slow stream client may lag behind before it is told
    /// to resynchronise (default 256).
    pub stream_queue: usize,
    /// `CIRHUB_STREAM_POLL_MS`: how soon another instance's events reach this instance's
    /// stream clients (default 1000); local events go out at once.
    pub stream_poll_ms: u64,
    /// `CIRHUB_TEST_CLOCK=1`: tests may move the job runner's clock forward through
    /// `POST /api/v1/ops/clock` (otherwise that path does not exist). Never in production.
    pub test_clock: bool,
}

impl Config {
    /// Reads the environment; fails with a message naming the variable on bad values.
    pub fn from_env() -> anyhow::Result<Config> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the configuration from any key lookup (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let var = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let num = |k: &str, default: u64| -> anyhow::Result<u64> {
            match var(k) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .with_context(|| format!("{k} must be a whole number, got {v:?}")),
            }
        };
        let addr: SocketAddr = var("CIRHUB_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .context("CIRHUB_ADDR must be host:port, e.g. 127.0.0.1:8080")?;
        let data_dir = PathBuf::from(var("CIRHUB_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| data_dir.join("cirhub.db").to_string_lossy().into_owned());
        let public_url = var("CIRHUB_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}"));
        let log_json = match var("CIRHUB_LOG_FORMAT").as_deref() {
            None | Some("json") => true,
            Some("pretty") => false,
            Some(other) => bail!("CIRHUB_LOG_FORMAT must be json or pretty, got {other:?}"),
        };
        let mut config = Config {
            addr,
            backend: Backend::Sqlite,
            database_url,
            data_dir,
            db_pool: num("CIRHUB_DB_POOL", 8)? as u32,
            jwt_secret: var("CIRHUB_JWT_SECRET").map(Secret::new),
            access_ttl_secs: num("CIRHUB_ACCESS_TTL_SECS", 900)?,
            refresh_ttl_secs: num("CIRHUB_REFRESH_TTL_SECS", 14 * 24 * 3600)?,
            public_url,
            frontend_dir: PathBuf::from(
                var("CIRHUB_FRONTEND_DIR").unwrap_or_else(|| "frontend/dist".into()),
            ),
            log_json,
            login_max_failures: num("CIRHUB_LOGIN_MAX_FAILURES", 5)? as i64,
            max_body_bytes: num("CIRHUB_MAX_BODY_BYTES", 256 * 1024)? as usize,
            public_cache_ttl_ms: num("CIRHUB_PUBLIC_CACHE_TTL_MS", 2000)?,
            trusted_proxies: var("CIRHUB_TRUSTED_PROXIES")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    a.parse().with_context(|| {
                        format!("CIRHUB_TRUSTED_PROXIES must list IP addresses, got {a:?}")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            smtp_url: None,
            smtp_ca_file: None,
            mail_from: "cirhub <alerts@localhost>".into(),
            mail_retry_base_ms: 2000,
            mail_max_attempts: 20,
            digest_interval_secs: 3600,
            seal_interval_secs: 10,
            stream_heartbeat_secs: 20,
            stream_queue: 256,
            stream_poll_ms: 1000,
            test_clock: match var("CIRHUB_TEST_CLOCK").as_deref().map(str::trim) {
                None | Some("0") | Some("false") => false,
                Some("1") | Some("true") => true,
                Some(other) => bail!("CIRHUB_TEST_CLOCK must be 1 or 0, got {other:?}"),
            },
        };
        config.smtp_url = var("CIRHUB_SMTP_URL").map(Secret::new);
        config.smtp_ca_file = var("CIRHUB_SMTP_CA_FILE").map(PathBuf::from);
        if let Some(from) = var("CIRHUB_MAIL_FROM") {
            config.mail_from = from;
        }
        config.mail_retry_base_ms = num("CIRHUB_MAIL_RETRY_BASE_MS", 2000)?;
        config.mail_max_attempts = num("CIRHUB_MAIL_MAX_ATTEMPTS", 20)? as i32;
        config.digest_interval_secs = num("CIRHUB_DIGEST_INTERVAL_SECS", 3600)?;
        config.seal_interval_secs = num("CIRHUB_SEAL_INTERVAL_SECS", 10)?;
        config.stream_heartbeat_secs = num("CIRHUB_STREAM_HEARTBEAT_SECS", 20)?;
        config.stream_queue = num("CIRHUB_STREAM_QUEUE", 256)? as usize;
        config.stream_poll_ms = num("CIRHUB_STREAM_POLL_MS", 1000)?;
        config.finish()?;
        Ok(config)
    }

    /// Derives the backend from the URL and checks cross-field rules.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        self.backend = backend_of(&self.database_url);
        if let Some(s) = &self.jwt_secret {
            if s.expose().len() < 32 {
                bail!("CIRHUB_JWT_SECRET must be at least 32 characters");
            }
        }
        if self.db_pool == 0 {
            bail!("CIRHUB_DB_POOL must be at least 1");
        }
        self.public_url = self.public_url.trim_end_matches('/').to_string();
        if self.stream_heartbeat_secs == 0 || self.stream_queue == 0 || self.stream_poll_ms == 0 {
            bail!("CIRHUB_STREAM_HEARTBEAT_SECS, CIRHUB_STREAM_QUEUE and CIRHUB_STREAM_POLL_MS must be at least 1");
        }
        if let Some(ca) = &self.smtp_ca_file {
            if !ca.is_file() {
                bail!(
                    "CIRHUB_SMTP_CA_FILE {} is not a readable file",
                    ca.display()
                );
            }
        }
        if self.mail_max_attempts < 1 {
            bail!("CIRHUB_MAIL_MAX_ATTEMPTS must be at least 1");
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            bail!("CIRHUB_MAIL_FROM must be a mailbox such as 'cirhub <alerts@example.com>'");
        }
        Ok(())
    }
}

/// PostgreSQL for `postgres://` and `postgresql://` URLs, SQLite for anything else.
pub fn backend_of(url: &str) -> Backend {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}
