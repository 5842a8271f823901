//! The job runner: mail retried after its backoff, digests on their interval, a crashed
//! instance's job run once its lease expires, the queue in `/metrics` — driven by the test
//! clock (`CIRHUB_TEST_CLOCK=1`, `POST /api/v1/ops/clock`) instead of waiting.

use crate::harness::*;
use crate::mail::{header, text_body, Smtp};
use cirhub::db::rows::{JobRow, MailContent, MailRow};
use cirhub::db::schema::{jobs, mail_outbox};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A server on `smtp` with the test clock and `extra` settings.
pub(crate) async fn spawn(smtp: &Smtp, extra: &[(&str, &str)]) -> TestApp {
    let url = smtp.url();
    let mut vars = vec![
        ("CIRHUB_SMTP_URL", url.as_str()),
        ("CIRHUB_TEST_CLOCK", "1"),
    ];
    vars.extend_from_slice(extra);
    TestApp::spawn_with(&vars).await
}

/// Moves the server's job clock forward over HTTP.
pub(crate) async fn advance(app: &TestApp, secs: i64) {
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/ops/clock",
            None,
            Some(json!({ "advance_secs": secs })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A mail to someone at `org`, as a test queues it.
fn test_mail(org: &str, subject: &str, message_id: &str) -> MailContent {
    MailContent {
        message_id: message_id.into(),
        organisation_id: org.into(),
        user_id: None,
        recipient: "someone@acme.test".into(),
        subject: subject.into(),
        body_text: "text".into(),
        body_html: "<p>html</p>".into(),
        thread_id: None,
        unsubscribe_url: None,
        object_type: "test".into(),
        object_id: "1".into(),
        object_version: None,
        object_hash: None,
    }
}

/// The outbox rows, oldest first.
fn outbox(app: &TestApp) -> Vec<MailRow> {
    app.state
        .db
        .write_blocking(|c| {
            Ok(mail_outbox::table
                .order(mail_outbox::created_at.asc())
                .select(MailRow::as_select())
                .load(c)?)
        })
        .unwrap()
}

/// The job rows of a kind.
fn jobs_of(app: &TestApp, kind: &'static str) -> Vec<JobRow> {
    app.state
        .db
        .write_blocking(move |c| {
            Ok(jobs::table
                .filter(jobs::kind.eq(kind))
                .select(JobRow::as_select())
                .load(c)?)
        })
        .unwrap()
}

/// Waits (real time, at most 15 s) until `ok` holds.
async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A provider, a customer following it by mail, and one incident that mails the customer.
async fn one_alert(app: &TestApp, mode: &str) -> World {
    let w = app.world().await;
    app.create::<Value>(
        "/api/v1/subscriptions",
        &w.acme,
        json!({"name": "All", "channels": ["email"], "mode": mode}),
    )
    .await;
    app.open(&w.provider, &w.compute_tokyo, "Job drill", "affected", &[])
        .await;
    w
}

#[tokio::test]
async fn a_mail_refused_at_first_is_retried_after_its_backoff_and_delivered_once() {
    let mut smtp = Smtp::start();
    smtp.down();
    // First retry ten minutes after the failure: only the clock can make that pass here.
    let app = spawn(&smtp, &[("CIRHUB_MAIL_RETRY_BASE_MS", "600000")]).await;
    one_alert(&app, "immediate").await;
    until("the first attempt fails", || {
        outbox(&app).first().is_some_and(|m| m.attempts == 1)
    })
    .await;
    let mail = outbox(&app).remove(0);
    assert_eq!(mail.status, "pending", "waiting for its retry");
    assert!(mail.last_error.is_some(), "the failure is recorded");
    assert!(
        mail.next_attempt_at >= mail.created_at + 600_000,
        "the retry waits out the backoff"
    );
    let job = jobs_of(&app, "mail.send").remove(0);
    assert_eq!(
        (job.state.as_str(), job.attempts, job.due_at),
        ("pending", 1, mail.next_attempt_at),
        "the job and its mail agree"
    );

    // The server is back, but the backoff has not passed: nothing is sent yet.
    smtp.up();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(smtp.messages().is_empty(), "retried before its backoff");

    advance(&app, 601).await;
    let msgs = smtp.wait_for(1).await;
    assert_eq!(msgs.len(), 1, "delivered once");
    assert_eq!(
        header(&msgs[0], "Message-ID").as_deref(),
        Some(mail.mail.message_id.as_str())
    );
    let sent = outbox(&app).remove(0);
    assert_eq!((sent.status.as_str(), sent.attempts), ("sent", 2));
    assert!(sent.sent_at.is_some() && sent.last_error.is_none());
    let job = jobs_of(&app, "mail.send").remove(0);
    assert_eq!((job.state.as_str(), job.attempts), ("done", 2));
    let metrics = app.public("/metrics").await.1;
    for line in [
        "cirhub_job_runs_total{kind=\"mail.send\",outcome=\"retry\"} 1",
        "cirhub_job_runs_total{kind=\"mail.send\",outcome=\"done\"} 1",
        "cirhub_mails_total{outcome=\"sent\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from {metrics}");
    }
}

#[tokio::test]
async fn a_digest_is_composed_when_the_clock_passes_the_interval() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[("CIRHUB_DIGEST_INTERVAL_SECS", "3600")]).await;
    one_alert(&app, "digest").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(smtp.messages().is_empty(), "no digest before the interval");
    assert!(outbox(&app).is_empty());

    advance(&app, 3601).await;
    let msgs = smtp.wait_for(1).await;
    assert_eq!(msgs.len(), 1, "one digest");
    assert!(header(&msgs[0], "Subject").unwrap().contains("1 change(s)"));
    assert!(text_body(&msgs[0]).contains("Job drill"));
    // The recurring job is one row, waiting for the next interval.
    let digest = jobs_of(&app, "digest.compose");
    assert_eq!(digest.len(), 1);
    assert_eq!(digest[0].state, "pending");
    let next = digest[0].due_at - app.state.jobs.clock().now_ms();
    assert!(
        (3_500_000..=3_600_000).contains(&next),
        "next digest in about an hour, not {next} ms"
    );
}

#[tokio::test]
async fn a_job_leased_by_a_crashed_instance_runs_once_after_its_lease_expires() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let second = TestApp::spawn_with(&[
        ("DATABASE_URL", app.database_url.as_str()),
        ("CIRHUB_SMTP_URL", smtp.url().as_str()),
        ("CIRHUB_TEST_CLOCK", "1"),
    ])
    .await;
    let org = app.org("acme", false, true);
    // A mail whose job an instance claimed for a minute, then died before settling it.
    let lease_until = app.state.jobs.clock().now_ms() + 60_000;
    app.state
        .db
        .write_blocking(|c| {
            cirhub::delivery::notify::queue_mail(
                c,
                test_mail(&org, "Left behind", "<crashed.1@cirhub.mail>"),
            )?;
            diesel::update(jobs::table.filter(jobs::kind.eq("mail.send")))
                .set((
                    jobs::state.eq("running"),
                    jobs::attempts.eq(1),
                    jobs::leased_by.eq(Some("instance-that-crashed")),
                    jobs::lease_until.eq(Some(lease_until)),
                ))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    app.state.jobs.wake();
    second.state.jobs.wake();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(smtp.messages().is_empty(), "taken over while leased");

    // Both live instances see the lease expire at once; one of them runs the job.
    advance(&app, 61).await;
    advance(&second, 61).await;
    let msgs = smtp.wait_for(1).await;
    advance(&app, 3600).await;
    advance(&second, 3600).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp.messages().len(), 1, "run exactly once: {msgs:?}");
    let job = jobs_of(&app, "mail.send").remove(0);
    assert_eq!((job.state.as_str(), job.attempts), ("done", 2));
    assert!(job.leased_by.is_none() && job.lease_until.is_none());
    let mail = outbox(&app).remove(0);
    assert_eq!((mail.status.as_str(), mail.attempts), ("sent", 2));
}

#[tokio::test]
async fn metrics_show_the_queue_by_kind_and_state() {
    let app = TestApp::spawn().await;
    one_alert(&app, "immediate").await;
    until("the mail is sent", || {
        jobs_of(&app, "mail.send")
            .first()
            .is_some_and(|j| j.state == "done")
    })
    .await;
    // A job no instance of this version runs, due an hour ago.
    app.state
        .db
        .write_blocking(|c| {
            cirhub::jobs::enqueue(
                c,
                &cirhub::jobs::NewJob {
                    kind: "report.unknown",
                    key: "1",
                    payload: json!({}),
                    due_at: cirhub::db::rows::now_ms() - 3_600_000,
                    max_attempts: None,
                },
            )
        })
        .unwrap();
    let (status, text) = app.public("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "cirhub_jobs{kind=\"mail.send\",state=\"done\"} 1",
        "cirhub_jobs{kind=\"digest.compose\",state=\"pending\"} 1",
        "cirhub_jobs{kind=\"jobs.prune\",state=\"pending\"} 1",
        "cirhub_jobs{kind=\"report.unknown\",state=\"pending\"} 1",
        "cirhub_job_runs_total{kind=\"mail.send\",outcome=\"done\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from {text}");
    }
    let age: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("cirhub_jobs_oldest_due_age_seconds "))
        .expect("oldest due age")
        .parse()
        .unwrap();
    assert!((3600.0..3700.0).contains(&age), "oldest due age {age}");
}

#[tokio::test]
async fn the_clock_exists_only_on_a_test_server_and_checks_its_input() {
    let app = TestApp::spawn().await;
    let body = Some(json!({"advance_secs": 60}));
    let unknown = app
        .call(Method::POST, "/api/v1/ops/nothing", None, body.clone())
        .await;
    for method in [Method::POST, Method::GET] {
        let (status, problem) = app
            .call(method.clone(), "/api/v1/ops/clock", None, body.clone())
            .await;
        assert_problem(status, &problem, StatusCode::NOT_FOUND, "not_found");
        assert_eq!((status, problem), unknown, "{method}: like an unknown path");
    }

    let smtp = Smtp::start();
    let test = spawn(&smtp, &[]).await;
    let before = test.state.jobs.clock().now_ms();
    for (bad, code) in [
        (
            json!({"advance_secs": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"advance_secs": "60"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"advance_secs": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"advance_secs": 400_000_000}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"advance_secs": 1, "x": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, problem) = test
            .call(Method::POST, "/api/v1/ops/clock", None, Some(bad.clone()))
            .await;
        assert_eq!(status, code, "{bad}: {problem}");
        assert!(problem["code"].is_string(), "{bad}: {problem}");
    }
    let res = test
        .client
        .post(test.url("/api/v1/ops/clock"))
        .header("content-type", "application/json")
        .body("{\"advance_secs\": 1} trailing")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        test.state.jobs.clock().now_ms() - before < 10_000,
        "a refused request moves nothing"
    );
    let (status, moved) = test
        .call(
            Method::POST,
            "/api/v1/ops/clock",
            None,
            Some(json!({"advance_secs": 86400})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["offset_secs"], 86400);
    assert!(test.state.jobs.clock().now_ms() - before >= 86_400_000);
}

/// The hourly `identity.prune` job forgets login attempts outside the counting window, used
/// refresh tokens past their lifetime and old credential changes, but never the newest
/// change (the next one is numbered after it).
#[tokio::test]
async fn the_hourly_prune_forgets_what_sessions_no_longer_need() {
    use cirhub::db::schema::{credential_changes, login_attempts, used_refresh_tokens};
    let app = TestApp::spawn_with(&[("CIRHUB_TEST_CLOCK", "1")]).await;
    app.provider("nimbus", cirhub_shared::Role::Admin).await; // a session to refer to
    let now = app.state.jobs.clock().now_ms();
    let hour = 3_600_000;
    let day = 24 * hour;
    app.state
        .db
        .write_blocking(move |c| {
            for (id, at) in [("old", now - 2 * hour), ("fresh", now + hour)] {
                diesel::insert_into(login_attempts::table)
                    .values((
                        login_attempts::id.eq(id),
                        login_attempts::email.eq("x@acme.test"),
                        login_attempts::ip.eq("127.0.0.1"),
                        login_attempts::at.eq(at),
                    ))
                    .execute(c)?;
            }
            let session: String = cirhub::db::schema::sessions::table
                .select(cirhub::db::schema::sessions::id)
                .first(c)?;
            for (hash, at) in [("old", now - 30 * day), ("fresh", now)] {
                diesel::insert_into(used_refresh_tokens::table)
                    .values((
                        used_refresh_tokens::refresh_hash.eq(hash),
                        used_refresh_tokens::session_id.eq(&session),
                        used_refresh_tokens::used_at.eq(at),
                    ))
                    .execute(c)?;
            }
            for seq in [1_i64, 2] {
                diesel::insert_into(credential_changes::table)
                    .values((
                        credential_changes::seq.eq(seq),
                        credential_changes::at.eq(now - 3 * day),
                        credential_changes::kind.eq("logout"),
                    ))
                    .execute(c)?;
            }
            Ok(())
        })
        .unwrap();
    let left = |app: &TestApp| {
        app.state
            .db
            .write_blocking(|c| {
                let attempts: Vec<String> = login_attempts::table
                    .select(login_attempts::id)
                    .order(login_attempts::id)
                    .load(c)?;
                let used: Vec<String> = used_refresh_tokens::table
                    .select(used_refresh_tokens::refresh_hash)
                    .order(used_refresh_tokens::refresh_hash)
                    .load(c)?;
                let changes: Vec<i64> = credential_changes::table
                    .select(credential_changes::seq)
                    .order(credential_changes::seq)
                    .load(c)?;
                Ok((attempts, used, changes))
            })
            .unwrap()
    };
    advance(&app, 3601).await;
    until("the prune ran", || left(&app).0.len() == 1).await;
    let (attempts, used, changes) = left(&app);
    assert_eq!(attempts, ["fresh"]);
    assert_eq!(used, ["fresh"]);
    assert_eq!(changes, [2], "the newest change stays");
}

/// A pending outbox mail that has no job (queued by an instance of an older version) is
/// given one when an instance starts, and is sent once.
#[tokio::test]
async fn a_pending_mail_without_a_job_is_adopted_at_start() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let org = app.org("acme", false, true);
    app.state
        .db
        .write_blocking(|c| {
            diesel::insert_into(mail_outbox::table)
                .values(&MailRow::pending(
                    "orphan-1".into(),
                    test_mail(&org, "Orphan", "<orphan.1@cirhub.mail>"),
                    cirhub::db::rows::now_ms(),
                ))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    assert!(jobs_of(&app, "mail.send").is_empty());
    let url = smtp.url();
    let _second = TestApp::spawn_with(&[
        ("DATABASE_URL", app.database_url.as_str()),
        ("CIRHUB_SMTP_URL", url.as_str()),
    ])
    .await;
    until("the orphan is sent", || smtp.messages().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1, "sent once");
    assert_eq!(jobs_of(&app, "mail.send").len(), 1);
}
