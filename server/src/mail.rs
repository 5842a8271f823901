//! Mail delivery: the `mail.send` job (one per outbox row, queued by
//! `delivery::notify::queue_mail` with the change the mail announces) sends its row over SMTP
//! with lettre, or into an outbox folder when no SMTP server is configured; and the recurring
//! `digest.compose` job that bundles digest subscribers' waiting events into mails. The job
//! runner (`crate::jobs`) claims, retries with exponential backoff
//! (`CIRHUB_MAIL_RETRY_BASE_MS`, at most `CIRHUB_MAIL_MAX_ATTEMPTS` attempts) and settles;
//! the row's `status`, `attempts`, `last_error`, `next_attempt_at` and `sent_at` are written
//! in the transaction that settles the job, so they always say what the job did. The
//! Message-ID is fixed in the row, so a retry of a mail the server did accept is recognisably
//! the same mail.

use crate::audit::journal::Disclosure;
use crate::audit::{Event, Journal};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::{Db, DbConn};
use crate::delivery::notify::{BASE, MAIL_SEND};
use crate::error::AppError;
use crate::jobs::{self, Job, Kind, Outcome, Retry, Settled};
use crate::metrics::Metrics;
use cirhub_shared::Channel;
use diesel::prelude::*;
use lettre::message::header::{self, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Kind of the recurring job that composes digest mails.
pub const DIGEST: &str = "digest.compose";
/// The longest wait between two attempts at a mail.
const MAX_RETRY_DELAY_MS: i64 = 600_000;

/// Where mails go.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

/// The `mail.send` job kind: sends one outbox row per run.
pub fn send_kind(
    db: Db,
    journal: Journal,
    config: Arc<Config>,
    metrics: Metrics,
) -> anyhow::Result<Kind> {
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
    let retry = Retry {
        base_ms: config.mail_retry_base_ms as i64,
        max_delay_ms: MAX_RETRY_DELAY_MS,
        max_attempts: config.mail_max_attempts,
    };
    let sender = Arc::new(Sender {
        db,
        journal,
        config,
        metrics,
        transport,
        from,
    });
    Ok(Kind::once(MAIL_SEND, retry, move |job| {
        let sender = sender.clone();
        Box::pin(async move { sender.deliver(job).await })
    }))
}

/// The `digest.compose` job kind, every `every`.
pub fn digest_kind(exec: crate::executor::Executor, every: Duration) -> Kind {
    Kind::recurring(DIGEST, every, move |_job| {
        let exec = exec.clone();
        Box::pin(async move {
            match exec.run(crate::delivery::notify::compose_digests).await {
                Ok(_) => Outcome::ok(),
                Err(e) => Outcome::failed(e),
            }
        })
    })
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

struct Sender {
    db: Db,
    journal: Journal,
    config: Arc<Config>,
    metrics: Metrics,
    transport: Transport,
    from: Mailbox,
}

impl Sender {
    fn message(&self, row: &MailRow) -> anyhow::Result<Message> {
        let base = &self.config.public_url;
        let fill = |s: &str| s.replace(BASE, base);
        let to: Mailbox = row.mail.recipient.parse()?;
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&row.mail.subject)
            .message_id(Some(row.mail.message_id.clone()))
            .date(std::time::UNIX_EPOCH + Duration::from_millis(row.created_at.max(0) as u64));
        if let Some(t) = &row.mail.thread_id {
            b = b.in_reply_to(t.clone()).references(t.clone());
        }
        if let Some(u) = &row.mail.unsubscribe_url {
            b = b
                .header(ListUnsubscribe(format!("<{}>", fill(u))))
                .header(ListUnsubscribePost);
        }
        Ok(b.multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(fill(&row.mail.body_text)))
                .singlepart(SinglePart::html(fill(&row.mail.body_html))),
        )?)
    }

    async fn send(&self, msg: Message, row: &MailRow) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Smtp(t) => {
                t.send(msg).await?;
            }
            Transport::Folder(dir) => {
                let name: String = row
                    .mail
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

    async fn deliver(&self, job: Job) -> Outcome {
        let id = job.key.clone();
        let row = self
            .db
            .read(move |c| {
                Ok(mail_outbox::table
                    .find(&id)
                    .select(MailRow::as_select())
                    .first(c)
                    .optional()?)
            })
            .await;
        let row = match row {
            Ok(Some(row)) if row.status == "pending" => row,
            // Gone, or already sent by a run whose job was not settled: nothing to send.
            Ok(_) => return Outcome::ok(),
            Err(e) => return Outcome::failed(e),
        };
        // Write-ahead: the attempt's disclosure is committed before the mail leaves.
        let result = match self.message(&row) {
            Ok(msg) => match self
                .journal
                .commit(vec![disclosure(&row, job.attempt)])
                .await
            {
                Ok(()) => self.send(msg, &row).await,
                Err(e) => Err(anyhow::anyhow!("{e}")),
            },
            Err(e) => Err(e),
        };
        let outcome = match &result {
            Ok(()) => "sent",
            Err(_) if job.attempt >= job.max_attempts => "failed",
            Err(_) => "retry",
        };
        self.metrics.mails.with_label_values(&[outcome]).inc();
        let out = match result {
            Ok(()) => Outcome::ok(),
            Err(e) => {
                tracing::warn!(message_id = %row.mail.message_id, attempt = job.attempt, error = %format!("{e:#}"), "mail not sent");
                Outcome::failed(format!("{e:#}"))
            }
        };
        out.with_record(move |c, settled| record(c, &row, settled))
    }
}

/// The disclosure of one attempt to send a mail, committed before the mail is handed over.
fn disclosure(row: &MailRow, attempt: i32) -> Disclosure {
    let actor = Actor::User {
        id: row.mail.user_id.clone().unwrap_or_default(),
        name: row.mail.recipient.clone(),
    };
    Disclosure::from_event(
        &Event::disclosure(
            &actor,
            &row.mail.organisation_id,
            &row.mail.object_type,
            &row.mail.object_id,
            row.mail.object_version,
            row.mail.object_hash.clone(),
            Channel::Email,
        )
        .detail(serde_json::json!({
            "message_id": row.mail.message_id,
            "recipient": row.mail.recipient,
            "attempt": attempt,
        })),
    )
}

/// Writes what the job's run did into the mail's row: sent (and its incident reached by the
/// recipient's organisation), waiting for the retry the runner scheduled, or failed.
fn record(conn: &mut DbConn, row: &MailRow, s: &Settled) -> Result<(), AppError> {
    let sent = s.state == jobs::store::DONE;
    let status = match s.state {
        jobs::store::DONE => "sent",
        jobs::store::FAILED => "failed",
        _ => "pending",
    };
    diesel::update(mail_outbox::table.find(&row.id))
        .set((
            mail_outbox::status.eq(status),
            mail_outbox::attempts.eq(s.attempts),
            mail_outbox::next_attempt_at.eq(s.due_at),
            mail_outbox::claimed_until.eq(None::<i64>),
            mail_outbox::sent_at.eq(sent.then_some(s.at)),
            mail_outbox::last_error.eq(s
                .error
                .as_ref()
                .map(|e| e.chars().take(1000).collect::<String>())),
        ))
        .execute(conn)?;
    if sent && row.mail.object_type == "incident" {
        crate::customers::acknowledgements::mark_reached(
            conn,
            &row.mail.object_id,
            &row.mail.organisation_id,
            Channel::Email,
        )?;
    }
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
