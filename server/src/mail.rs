//! The mail worker: drains the transactional outbox (`mail_outbox`, written with the change a
//! mail announces) over SMTP with lettre, or into an outbox folder when no SMTP server is
//! configured. Rows are claimed with a compare-and-set on `claimed_until`, so several
//! instances share the work without sending a row twice; a failed attempt is retried with
//! exponential backoff. The Message-ID is fixed in the row, so a retry of a mail the server
//! did accept is recognisably the same mail.

use crate::audit::journal::Disclosure;
use crate::audit::{Event, Journal};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::{Db, DbConn};
use crate::delivery::notify::BASE;
use crate::error::AppError;
use crate::metrics::Metrics;
use cirhub_shared::Channel;
use diesel::prelude::*;
use lettre::message::header::{self, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Where mails go.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

/// Handle to wake the worker after a commit that wrote outbox rows.
#[derive(Clone)]
pub struct Mailer {
    wake: Arc<Notify>,
}

impl Mailer {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts the worker (and the digest composer).
    pub fn spawn(
        db: Db,
        journal: Journal,
        config: Arc<Config>,
        metrics: Metrics,
    ) -> anyhow::Result<Mailer> {
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(smtp(url.expose(), config.smtp_ca_file.as_deref())?),
            None => {
                let dir = config.data_dir.join("outbox");
                std::fs::create_dir_all(&dir)?;
                tracing::warn!(
                    folder = %dir.display(),
                    "no SMTP server configured (CIRHUB_SMTP_URL): alert mails are written to the outbox folder"
                );
                Transport::Folder(dir)
            }
        };
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("CIRHUB_MAIL_FROM: {e}"))?;
        let wake = Arc::new(Notify::new());
        let mailer = Mailer { wake: wake.clone() };
        let worker = Worker {
            db: db.clone(),
            journal,
            config: config.clone(),
            metrics,
            transport,
            from,
        };
        tokio::spawn(async move { worker.run(wake).await });
        let digest_db = db;
        let mailer2 = mailer.clone();
        tokio::spawn(async move {
            let period = Duration::from_secs(config.digest_interval_secs.max(1));
            loop {
                tokio::time::sleep(period).await;
                match digest_db
                    .write(crate::delivery::notify::compose_digests)
                    .await
                {
                    Ok(n) if n > 0 => mailer2.wake(),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "cannot compose digests"),
                }
            }
        });
        Ok(mailer)
    }
}

/// The SMTP transport of a URL: `smtps://` is TLS from the start, `?tls=required` demands
/// STARTTLS, plain `smtp://` uses STARTTLS when offered; credentials come from the URL's user
/// info. A private CA, if given, is trusted for the server's certificate.
fn smtp(
    url: &str,
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    let bad = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("CIRHUB_SMTP_URL is not a usable SMTP URL: {e}")
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| bad(&e))?;
    if let Some(ca) = ca_file {
        let parsed = url::Url::parse(url).map_err(|e| bad(&e))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| bad(&"no host"))?
            .to_string();
        let pem = std::fs::read(ca)?;
        let params = TlsParameters::builder(host)
            .add_root_certificate(
                Certificate::from_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("CIRHUB_SMTP_CA_FILE: {e}"))?,
            )
            .build_rustls()?;
        let tls = if parsed.scheme() == "smtps" {
            Tls::Wrapper(params)
        } else if parsed
            .query_pairs()
            .any(|(k, v)| k == "tls" && v == "required")
        {
            Tls::Required(params)
        } else {
            Tls::Opportunistic(params)
        };
        builder = builder.tls(tls);
    }
    Ok(builder.timeout(Some(Duration::from_secs(20))).build())
}

struct Worker {
    db: Db,
    journal: Journal,
    config: Arc<Config>,
    metrics: Metrics,
    transport: Transport,
    from: Mailbox,
}

/// Claims up to `limit` due rows for this worker.
fn claim(conn: &mut DbConn, limit: i64) -> Result<Vec<MailRow>, AppError> {
    let now = now_ms();
    let due = || {
        mail_outbox::table
            .filter(mail_outbox::status.eq("pending"))
            .filter(mail_outbox::next_attempt_at.le(now))
            .filter(
                mail_outbox::claimed_until
                    .is_null()
                    .or(mail_outbox::claimed_until.lt(now)),
            )
    };
    let candidates: Vec<MailRow> = due()
        .order(mail_outbox::next_attempt_at.asc())
        .limit(limit)
        .select(MailRow::as_select())
        .load(conn)?;
    let mut mine = Vec::new();
    for row in candidates {
        let n = diesel::update(due().filter(mail_outbox::id.eq(&row.id)))
            .set(mail_outbox::claimed_until.eq(now + 120_000))
            .execute(conn)?;
        if n == 1 {
            mine.push(row);
        }
    }
    Ok(mine)
}

impl Worker {
    async fn run(self, wake: Arc<Notify>) {
        loop {
            let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
            loop {
                let rows = match self.db.write(|c| claim(c, 20)).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "mail worker cannot claim rows");
                        break;
                    }
                };
                if rows.is_empty() {
                    break;
                }
                for row in rows {
                    self.deliver(row).await;
                }
            }
        }
    }

    fn message(&self, row: &MailRow) -> anyhow::Result<Message> {
        let base = &self.config.public_url;
        let fill = |s: &str| s.replace(BASE, base);
        let to: Mailbox = row.recipient.parse()?;
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&row.subject)
            .message_id(Some(row.message_id.clone()))
            .date(std::time::UNIX_EPOCH + Duration::from_millis(row.created_at.max(0) as u64));
        if let Some(t) = &row.thread_id {
            b = b.in_reply_to(t.clone()).references(t.clone());
        }
        if let Some(u) = &row.unsubscribe_url {
            b = b
                .header(ListUnsubscribe(format!("<{}>", fill(u))))
                .header(ListUnsubscribePost);
        }
        Ok(b.multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(fill(&row.body_text)))
                .singlepart(SinglePart::html(fill(&row.body_html))),
        )?)
    }

    async fn send(&self, msg: Message, row: &MailRow) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Smtp(t) => {
                t.send(msg).await?;
            }
            Transport::Folder(dir) => {
                let name: String = row
                    .message_id
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                tokio::fs::write(dir.join(format!("{name}.eml")), msg.formatted()).await?;
            }
        }
        Ok(())
    }

    async fn deliver(&self, row: MailRow) {
        // Write-ahead: the attempt's disclosure is committed before the mail leaves.
        let result = match self.message(&row) {
            Ok(msg) => match self.journal.commit(vec![disclosure(&row)]).await {
                Ok(()) => self.send(msg, &row).await,
                Err(e) => Err(anyhow::anyhow!("{e}")),
            },
            Err(e) => Err(e),
        };
        let max = self.config.mail_max_attempts;
        let base = self.config.mail_retry_base_ms as i64;
        let outcome = match &result {
            Ok(()) => "sent",
            Err(_) if row.attempts + 1 >= max => "failed",
            Err(_) => "retry",
        };
        self.metrics.mails.with_label_values(&[outcome]).inc();
        let error = result.err().map(|e| format!("{e:#}"));
        if let Some(e) = &error {
            tracing::warn!(message_id = %row.message_id, attempt = row.attempts + 1, error = %e, "mail not sent");
        }
        let id = row.id.clone();
        let done = self
            .db
            .write(move |c| record(c, &row, error.as_deref(), max, base))
            .await;
        if let Err(e) = done {
            tracing::error!(mail = %id, error = %e, "cannot record mail outcome");
        }
    }
}

/// The disclosure of one attempt to send a mail, committed before the mail is handed over.
fn disclosure(row: &MailRow) -> Disclosure {
    let actor = Actor::User {
        id: row.user_id.clone().unwrap_or_default(),
        name: row.recipient.clone(),
    };
    Disclosure::from_event(
        &Event::disclosure(
            &actor,
            &row.organisation_id,
            &row.object_type,
            &row.object_id,
            row.object_version,
            row.object_hash.clone(),
            Channel::Email,
        )
        .detail(serde_json::json!({
            "message_id": row.message_id,
            "recipient": row.recipient,
            "attempt": row.attempts + 1,
        })),
    )
}

/// Marks a row sent (and its incident reached) or schedules its retry.
fn record(
    conn: &mut DbConn,
    row: &MailRow,
    error: Option<&str>,
    max: i32,
    base_ms: i64,
) -> Result<(), AppError> {
    let now = now_ms();
    let attempts = row.attempts + 1;
    let Some(error) = error else {
        diesel::update(mail_outbox::table.find(&row.id))
            .set((
                mail_outbox::status.eq("sent"),
                mail_outbox::attempts.eq(attempts),
                mail_outbox::sent_at.eq(now),
                mail_outbox::claimed_until.eq(None::<i64>),
                mail_outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)?;
        if row.object_type == "incident" {
            crate::customers::acknowledgements::mark_reached(
                conn,
                &row.object_id,
                &row.organisation_id,
                Channel::Email,
            )?;
        }
        return Ok(());
    };
    let backoff = base_ms
        .saturating_mul(1 << (attempts - 1).clamp(0, 20))
        .min(600_000);
    diesel::update(mail_outbox::table.find(&row.id))
        .set((
            mail_outbox::status.eq(if attempts >= max { "failed" } else { "pending" }),
            mail_outbox::attempts.eq(attempts),
            mail_outbox::next_attempt_at.eq(now + backoff),
            mail_outbox::claimed_until.eq(None::<i64>),
            mail_outbox::last_error.eq(Some(error.chars().take(1000).collect::<String>())),
        ))
        .execute(conn)?;
    Ok(())
}

/// `List-Unsubscribe` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.into()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl header::Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}
