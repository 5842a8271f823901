//! E-mail alerts against a real SMTP server (aiosmtpd, started by the test into a Maildir):
//! content, threading, one-click unsubscribe, and a server that is down for a while.

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A real SMTP server (aiosmtpd) delivering into a Maildir.
pub(crate) struct Smtp {
    child: Option<std::process::Child>,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

fn python() -> String {
    std::env::var("CIRHUB_TEST_PYTHON").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/tools/venv/bin/python"
        )
        .into()
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Smtp {
    pub(crate) fn start() -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail");
        let mut s = Smtp {
            child: None,
            port: free_port(),
            maildir,
            _dir: dir,
        };
        s.up();
        s
    }

    /// Starts (or restarts) the server on its port and waits until it answers.
    pub(crate) fn up(&mut self) {
        let child = std::process::Command::new(python())
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
                self.maildir.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("aiosmtpd (installed by scripts/setup.sh test into target/tools/venv)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far (raw RFC 5322 text).
    pub(crate) fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in rd.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }

    /// Waits until at least `n` messages arrived, then a moment more for strays.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.messages().len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} mails arrived",
                self.messages().len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.messages()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.down();
    }
}

/// A header's value (unfolded) from a raw message.
pub(crate) fn header(msg: &str, name: &str) -> Option<String> {
    let head = msg
        .split("\r\n\r\n")
        .next()
        .unwrap_or(msg)
        .split("\n\n")
        .next()
        .unwrap_or(msg);
    let unfolded = head
        .replace("\r\n ", " ")
        .replace("\n ", " ")
        .replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// The plain-text part, quoted-printable decoded enough for assertions.
pub(crate) fn text_body(msg: &str) -> String {
    msg.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=E2=80=94", "\u{2014}")
        .replace("=C2=B7", "\u{b7}")
}

pub(crate) fn for_recipient<'a>(msgs: &'a [String], to: &str) -> Vec<&'a String> {
    let mut v: Vec<&String> = msgs
        .iter()
        .filter(|m| header(m, "To").is_some_and(|t| t.contains(to)))
        .collect();
    v.sort_by_key(|m| header(m, "Date").unwrap_or_default());
    v
}

pub(crate) async fn spawn_with_smtp(smtp: &Smtp) -> TestApp {
    let url = smtp.url();
    TestApp::spawn_with(&[
        ("CIRHUB_SMTP_URL", url.as_str()),
        ("CIRHUB_MAIL_FROM", "Nimbus alerts <alerts@cirhub.test>"),
        ("CIRHUB_MAIL_RETRY_BASE_MS", "200"),
    ])
    .await
}

#[tokio::test]
async fn alert_mails_carry_the_update_in_the_customers_words_and_thread_together() {
    let smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let w = app.world().await;
    let analyst = app.colleague(&w.acme, "analyst", Role::Analyst).await;
    app.create::<Value>(
        "/api/v1/resource-mappings",
        &w.acme,
        json!({"name": "payments-prod", "component_id": w.compute_tokyo.id}),
    )
    .await;
    app.create::<Value>(
        "/api/v1/subscriptions",
        &analyst,
        json!({"name": "Compute", "service_ids": [w.compute.id], "channels": ["email"]}),
    )
    .await;
    // globex subscribes too, but the incident is not in its scope.
    app.create::<Value>(
        "/api/v1/subscriptions",
        &w.globex,
        json!({"name": "All", "channels": ["email"]}),
    )
    .await;

    let inc = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Instance launches failing",
            "affected",
            &[],
        )
        .await;
    app.update(
        &w.provider,
        &inc.id,
        "identified",
        "A faulty host pool was identified.",
    )
    .await;
    let msgs = smtp.wait_for(2).await;
    assert_eq!(
        msgs.len(),
        2,
        "exactly one mail per update for the one subscriber"
    );
    let mine = for_recipient(&msgs, "analyst@acme.test");
    assert_eq!(mine.len(), 2);
    let by_status = |s: &str| {
        *mine
            .iter()
            .find(|m| header(m, "Subject").unwrap().contains(s))
            .unwrap()
    };
    let (first, second) = (by_status("investigating"), by_status("identified"));
    assert_eq!(
        header(first, "From").unwrap(),
        "\"Nimbus alerts\" <alerts@cirhub.test>"
    );
    let subject = header(first, "Subject").unwrap();
    assert!(
        subject.contains("Instance launches failing") && subject.contains("P2"),
        "{subject}"
    );
    let root = header(first, "Message-ID").unwrap();
    assert!(header(first, "In-Reply-To").is_none());
    assert_eq!(
        header(second, "In-Reply-To").unwrap(),
        root,
        "updates thread under the first mail"
    );
    assert_eq!(header(second, "References").unwrap(), root);
    assert_ne!(header(second, "Message-ID").unwrap(), root);
    assert!(
        first.contains("multipart/alternative")
            && first.contains("text/html")
            && first.contains("text/plain")
    );
    let body = text_body(second);
    assert!(
        body.contains("A faulty host pool was identified."),
        "{body}"
    );
    assert!(
        body.contains("payments-prod (Compute / ap-northeast-1)"),
        "the customer's words: {body}"
    );
    assert!(
        body.contains("provider and customer jointly"),
        "shared responsibility: {body}"
    );
    assert_eq!(
        header(second, "List-Unsubscribe-Post").unwrap(),
        "List-Unsubscribe=One-Click"
    );

    // Each mail accepted by the SMTP server is a disclosure: who, which version, by e-mail.
    let (_, audit) = app
        .get("/api/v1/audit/disclosures?per_page=100", &w.acme)
        .await;
    let mails: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["channel"] == "email" && e["object_id"] == inc.id.as_str())
        .collect();
    assert_eq!(mails.len(), 2, "{audit}");
    assert!(mails
        .iter()
        .all(|e| e["actor_id"] == analyst.user_id.as_str()));
    let mut versions: Vec<i64> = mails
        .iter()
        .map(|e| e["object_version"].as_i64().unwrap())
        .collect();
    versions.sort();
    assert_eq!(versions, [1, 2]);
}

fn unsubscribe_link(msg: &str) -> String {
    let v = header(msg, "List-Unsubscribe").expect("List-Unsubscribe header");
    v.trim_start_matches('<').trim_end_matches('>').to_string()
}

#[tokio::test]
async fn the_unsubscribe_link_works_without_logging_in() {
    let smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let w = app.world().await;
    let viewer = app.colleague(&w.acme, "viewer", Role::Viewer).await;
    // A role-wide subscription (admin-made) reaches the viewer; the viewer opts out alone.
    app.create::<Value>(
        "/api/v1/subscriptions",
        &w.acme,
        json!({"name": "Viewers", "role": "viewer", "channels": ["email"]}),
    )
    .await;
    let other = app.colleague(&w.acme, "viewer2", Role::Viewer).await;
    let inc = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Network flaps",
            "affected",
            &[],
        )
        .await;
    let msgs = smtp.wait_for(2).await;
    let link = unsubscribe_link(for_recipient(&msgs, &viewer.email)[0]);
    assert!(link.starts_with(&app.base), "{link}");
    let plain = reqwest::Client::new();
    // GET shows a confirmation (mail scanners follow links); POST unsubscribes, no login.
    let page = plain.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form method=\"post\""));
    let flipped = if link.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{flipped}", &link[..link.len() - 1]);
    assert_eq!(
        plain.post(&tampered).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let done = plain
        .post(&link)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("unsubscribed"));
    assert_eq!(
        plain.post(&link).send().await.unwrap().status(),
        StatusCode::OK,
        "idempotent"
    );

    app.update(&w.provider, &inc.id, "monitoring", "Recovering")
        .await;
    let msgs = smtp.wait_for(3).await;
    assert_eq!(
        for_recipient(&msgs, &viewer.email).len(),
        1,
        "no more mail for the viewer"
    );
    assert_eq!(
        for_recipient(&msgs, &other.email).len(),
        2,
        "the colleague still gets them"
    );
}

#[tokio::test]
async fn mails_wait_out_an_smtp_outage_and_arrive_once() {
    let mut smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let w = app.world().await;
    app.create::<Value>(
        "/api/v1/subscriptions",
        &w.acme,
        json!({"name": "All", "channels": ["email"]}),
    )
    .await;
    smtp.down();
    let inc = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Outage drill",
            "affected",
            &[],
        )
        .await;
    for i in 1..=3 {
        app.update(&w.provider, &inc.id, "identified", &format!("Update {i}"))
            .await;
    }
    // Let the worker fail a few times.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(smtp.messages().is_empty());
    let failed = app.state.metrics.render();
    assert!(
        failed.contains("cirhub_mails_total{outcome=\"retry\"}"),
        "retries are counted"
    );
    smtp.up();
    let msgs = smtp.wait_for(4).await;
    assert_eq!(msgs.len(), 4, "every mail arrives, once");
    let mut ids: Vec<String> = msgs
        .iter()
        .map(|m| header(m, "Message-ID").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
}

#[tokio::test]
async fn without_smtp_mails_land_in_the_outbox_folder() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.create::<Value>(
        "/api/v1/subscriptions",
        &w.acme,
        json!({"name": "All", "channels": ["email"]}),
    )
    .await;
    app.open(
        &w.provider,
        &w.compute_tokyo,
        "Folder delivery",
        "affected",
        &[],
    )
    .await;
    let dir: &Path = &app.state.config.data_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let files: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        if let Some(f) = files.first() {
            let text = std::fs::read_to_string(f.path()).unwrap();
            assert!(text.contains("Folder delivery"));
            assert!(f.path().extension().is_some_and(|e| e == "eml"));
            break;
        }
        assert!(Instant::now() < deadline, "no mail in {}", dir.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn digest_subscribers_get_one_mail_bundling_the_changes() {
    let smtp = Smtp::start();
    let url = smtp.url();
    let app = TestApp::spawn_with(&[
        ("CIRHUB_SMTP_URL", url.as_str()),
        ("CIRHUB_DIGEST_INTERVAL_SECS", "2"),
    ])
    .await;
    let w = app.world().await;
    app.create::<Value>(
        "/api/v1/subscriptions",
        &w.acme,
        json!({"name": "Daily", "channels": ["email"], "mode": "digest"}),
    )
    .await;
    let inc = app
        .open(&w.provider, &w.compute_tokyo, "Digest one", "affected", &[])
        .await;
    app.update(&w.provider, &inc.id, "resolved", "Fixed").await;
    let msgs = smtp.wait_for(1).await;
    assert_eq!(msgs.len(), 1, "one digest, not one mail per change");
    let body = text_body(&msgs[0]);
    assert!(header(&msgs[0], "Subject").unwrap().contains("2 change(s)"));
    assert!(
        body.contains("Digest one") && body.contains("resolved"),
        "{body}"
    );
    assert!(header(&msgs[0], "List-Unsubscribe").is_some());
}

/// A private CA and a server certificate for 127.0.0.1 / localhost it signed (openssl).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=cirhub test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// Starts the TLS-capable aiosmtpd of `tests/fixtures/smtp` in `mode`.
fn start_tls_server(
    mode: &str,
    port: u16,
    maildir: &Path,
    cert: &Path,
    key: &Path,
) -> std::process::Child {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/smtp/tls_server.py"
    );
    let child = std::process::Command::new(python())
        .args([
            script,
            mode,
            &port.to_string(),
            maildir.to_str().unwrap(),
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
            "alerts",
            "s3cret-pass",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python with aiosmtpd");
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "TLS SMTP server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn maildir_count(maildir: &Path) -> usize {
    ["new", "cur"]
        .iter()
        .map(|s| {
            std::fs::read_dir(maildir.join(s))
                .map(|d| d.count())
                .unwrap_or(0)
        })
        .sum()
}

#[tokio::test]
async fn mail_goes_over_starttls_and_tls_with_authentication_verified_against_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    for (mode, scheme, query) in [
        ("starttls", "smtp", "?tls=required"),
        ("smtps", "smtps", ""),
    ] {
        let maildir = dir.path().join(format!("mail-{mode}"));
        let port = free_port();
        let mut server = start_tls_server(mode, port, &maildir, &cert, &key);
        let url = format!("{scheme}://alerts:s3cret-pass@127.0.0.1:{port}{query}");
        // Without the private CA the certificate is not trusted: nothing is sent.
        let untrusted = TestApp::spawn_with(&[
            ("CIRHUB_SMTP_URL", url.as_str()),
            ("CIRHUB_MAIL_RETRY_BASE_MS", "200"),
        ])
        .await;
        let w = untrusted.world().await;
        untrusted
            .create::<Value>(
                "/api/v1/subscriptions",
                &w.acme,
                json!({"name": "All", "channels": ["email"]}),
            )
            .await;
        untrusted
            .open(&w.provider, &w.compute_tokyo, "Untrusted", "affected", &[])
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            maildir_count(&maildir),
            0,
            "{mode}: a mail went to an unverified server"
        );
        assert!(untrusted
            .state
            .metrics
            .render()
            .contains("cirhub_mails_total{outcome=\"retry\"}"));
        // With it (and the right password), the mail is delivered.
        let ca_path = ca.to_str().unwrap();
        let app = TestApp::spawn_with(&[
            ("CIRHUB_SMTP_URL", url.as_str()),
            ("CIRHUB_SMTP_CA_FILE", ca_path),
        ])
        .await;
        let w = app.world().await;
        app.create::<Value>(
            "/api/v1/subscriptions",
            &w.acme,
            json!({"name": "All", "channels": ["email"]}),
        )
        .await;
        app.open(
            &w.provider,
            &w.compute_tokyo,
            &format!("Over {mode}"),
            "affected",
            &[],
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while maildir_count(&maildir) < 1 {
            assert!(Instant::now() < deadline, "{mode}: no mail arrived");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // A wrong password is refused by the server: nothing more arrives.
        let wrong = url.replace("s3cret-pass", "wrong-pass");
        let denied = TestApp::spawn_with(&[
            ("CIRHUB_SMTP_URL", wrong.as_str()),
            ("CIRHUB_SMTP_CA_FILE", ca_path),
        ])
        .await;
        let w = denied.world().await;
        denied
            .create::<Value>(
                "/api/v1/subscriptions",
                &w.acme,
                json!({"name": "All", "channels": ["email"]}),
            )
            .await;
        denied
            .open(&w.provider, &w.compute_tokyo, "Denied", "affected", &[])
            .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            maildir_count(&maildir),
            1,
            "{mode}: a wrong password must not deliver"
        );
        let _ = server.kill();
        let _ = server.wait();
    }
}

/// Mails in the outbox folder (no SMTP server configured) addressed to `to`, once there are
/// at least `n` of them.
async fn outbox_mails(app: &TestApp, to: &str, n: usize) -> Vec<String> {
    let dir = app.state.config.data_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mails: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
                    .filter(|m| header(m, "To").is_some_and(|t| t.contains(to)))
                    .collect()
            })
            .unwrap_or_default();
        if mails.len() >= n {
            return mails;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} mails to {to}",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn unsubscribing_from_mail_ends_the_mail_only_and_never_widens_the_stream() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    // One person takes P3 and above by mail and live; another by mail only.
    let analyst = app.colleague(&w.acme, "analyst", Role::Analyst).await;
    let reader = app.colleague(&w.acme, "reader", Role::Analyst).await;
    let both: Value = app
        .create(
            "/api/v1/subscriptions",
            &analyst,
            json!({"name": "P3+", "min_priority": "P3", "channels": ["email", "websocket"]}),
        )
        .await;
    let mail_only: Value = app
        .create(
            "/api/v1/subscriptions",
            &reader,
            json!({"name": "P3+ by mail", "min_priority": "P3", "channels": ["email"]}),
        )
        .await;
    app.open(&w.provider, &w.compute_tokyo, "Tokyo P2", "affected", &[])
        .await;
    let plain = reqwest::Client::new();
    for who in [&analyst, &reader] {
        let mail = outbox_mails(&app, &who.email, 1).await;
        let link = unsubscribe_link(&mail[0]);
        let done = plain
            .post(&link)
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::OK, "{link}");
    }
    // The live channel stays; a subscription that only mailed ends.
    let (s, kept) = app
        .get(
            &format!("/api/v1/subscriptions/{}", both["id"].as_str().unwrap()),
            &analyst,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the websocket channel must stay: {kept}");
    assert_eq!(kept["channels"], json!(["websocket"]));
    assert_eq!(kept["min_priority"], "P3");
    let (s, gone) = app
        .get(
            &format!(
                "/api/v1/subscriptions/{}",
                mail_only["id"].as_str().unwrap()
            ),
            &reader,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{gone}");

    // Live, the analyst still gets P3 and above only: no P5 after leaving the mail.
    let mut live = app.stream(&analyst.token, None).await;
    live.live().await;
    app.create::<Value>(
        "/api/v1/incidents",
        &w.provider,
        json!({"title": "Tokyo P5", "body": "cosmetic", "impact": "none", "urgency": "low",
               "visibility": "affected",
               "components": [{"component_id": w.compute_tokyo.id, "status": "operational"}]}),
    )
    .await;
    app.open(
        &w.provider,
        &w.compute_tokyo,
        "Tokyo P2 again",
        "affected",
        &[],
    )
    .await;
    let got: Vec<String> = live
        .events_until_quiet(Duration::from_millis(1500))
        .await
        .iter()
        .filter_map(|e| e["incident"]["title"].as_str().map(str::to_string))
        .collect();
    assert_eq!(got, ["Tokyo P2 again"]);
    // And no more mail for either of them.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(outbox_mails(&app, &analyst.email, 1).await.len(), 1);
    assert_eq!(outbox_mails(&app, &reader.email, 1).await.len(), 1);
}
