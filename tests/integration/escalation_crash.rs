//! Escalation steps are durable: the real binary is killed with SIGKILL while steps are
//! due, restarted on the same database, and every step is sent exactly once (one notice
//! and one outbox mail per person and step; each mail reaches the SMTP server, a mail the
//! server took in the instant before the kill again under the same Message-ID). Two
//! instances on one database fire each step once.

use crate::crash::Server;
use crate::escalation_run::save_policy;
use crate::harness::*;
use crate::jobs::spawn;
use crate::mail::{header, Smtp};
use cirhub::db::schema::{escalation_notices, jobs, mail_outbox};
use cirhub_shared::Role;
use diesel::prelude::*;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// Moves a `cirhub serve` child's job clock forward.
async fn advance_on(app: &TestApp, base: &str, secs: i64) {
    let res = app
        .client
        .post(format!("{base}/api/v1/ops/clock"))
        .json(&json!({ "advance_secs": secs }))
        .send()
        .await
        .expect("advance the clock");
    assert!(res.status().is_success(), "{}", res.status());
}

/// Level 1 tells `first` at once; level 2, ten minutes later, every one of `second`.
async fn setup(app: &TestApp, people: usize) -> (Session, Vec<Session>) {
    let admin = app.provider("nimbus", Role::Admin).await;
    let first = app.colleague(&admin, "first", Role::Analyst).await;
    let mut second = Vec::new();
    for n in 0..people {
        second.push(app.colleague(&admin, &format!("r{n}"), Role::Analyst).await);
    }
    let targets: Vec<_> = second
        .iter()
        .map(|s| json!({"kind": "user", "id": s.user_id, "channels": ["email"]}))
        .collect();
    let policy = json!({"time_zone": "UTC", "rules": [{"name": "All", "match": {}, "levels": [
        {"targets": [{"kind": "user", "id": first.user_id, "channels": ["email"]}], "wait_minutes": 10},
        {"targets": targets, "wait_minutes": 60}]}]});
    save_policy(app, &admin, policy).await;
    (admin, second)
}

/// Notices and outbox mails of level 2 (step 1), from the database.
fn level_two(app: &TestApp) -> (i64, i64) {
    let mut conn = app.state.db.conn().unwrap();
    let notices = escalation_notices::table
        .filter(escalation_notices::step.eq(1))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let mails = mail_outbox::table
        .filter(mail_outbox::subject.like("%Escalation, level 2:%"))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    (notices, mails)
}

/// How many times each level-2 Message-ID reached the SMTP server.
fn level_two_arrivals(smtp: &Smtp) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for m in smtp.messages() {
        if header(&m, "Subject").is_some_and(|s| s.contains("level 2")) {
            *seen.entry(header(&m, "Message-ID").unwrap()).or_insert(0) += 1;
        }
    }
    seen
}

async fn wait_for_level_two(smtp: &Smtp, n: usize) -> HashMap<String, usize> {
    for _ in 0..600 {
        let got = level_two_arrivals(smtp);
        if got.len() >= n {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            return level_two_arrivals(smtp);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "only {} of {n} level-2 mails arrived",
        level_two_arrivals(smtp).len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_while_steps_are_due_loses_and_doubles_none() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let (people, incidents) = (6, 15);
    let (admin, _) = setup(&app, people).await;
    let cat = app.catalogue(&admin).await;
    for n in 0..incidents {
        app.incident(&admin, &cat, &format!("Incident {n}"), "internal")
            .await;
    }
    smtp.wait_for(incidents).await;
    let expected = people * incidents;

    // A server whose clock reaches level 2 of every escalation at once: killed mid-way.
    let env = [
        ("CIRHUB_SMTP_URL", smtp.url()),
        ("CIRHUB_TEST_CLOCK", "1".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = Server::start_with(&app, &env).await;
    advance_on(&app, &server.base, 10 * 60 + 1).await;
    // Killed once a third of the level-2 mails are out: steps, mails and their jobs in flight.
    for _ in 0..2000 {
        if level_two_arrivals(&smtp).len() >= expected / 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let before = level_two_arrivals(&smtp).len();
    eprintln!("level-2 mails before the kill: {before} of {expected}");
    assert!(before < expected, "the kill came after every step had run");

    // Restarted on the same database, with a clock past the dead instance's leases.
    let again = Server::start_with(&app, &env).await;
    advance_on(&app, &again.base, 10 * 60 + 1 + 130).await;
    let arrivals = wait_for_level_two(&smtp, expected).await;
    assert_eq!(
        level_two(&app),
        (expected as i64, expected as i64),
        "one notice and one mail per person and step"
    );
    assert_eq!(arrivals.len(), expected, "every step's mail arrived");
    let again_sent: usize = arrivals.values().map(|n| n - 1).sum();
    eprintln!("mails the SMTP server took twice (same Message-ID): {again_sent}");
    // Only a mail in flight at the kill can be offered again: at most one per job slot.
    assert!(again_sent <= 8, "{arrivals:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_fire_each_step_once() {
    let smtp = Smtp::start();
    let app = spawn(&smtp, &[]).await;
    let (people, incidents) = (4, 10);
    let (admin, _) = setup(&app, people).await;
    let cat = app.catalogue(&admin).await;
    let env = [
        ("CIRHUB_SMTP_URL", smtp.url()),
        ("CIRHUB_TEST_CLOCK", "1".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = Server::start_with(&app, &env).await;
    let b = Server::start_with(&app, &env).await;
    for n in 0..incidents {
        app.incident(&admin, &cat, &format!("Incident {n}"), "internal")
            .await;
    }
    smtp.wait_for(incidents).await;
    // Both instances' clocks reach level 2 together: both race for every step.
    let (ra, rb) = tokio::join!(
        advance_on(&app, &a.base, 10 * 60 + 1),
        advance_on(&app, &b.base, 10 * 60 + 1)
    );
    let _ = (ra, rb);
    let expected = people * incidents;
    let arrivals = wait_for_level_two(&smtp, expected).await;
    assert_eq!(arrivals.len(), expected);
    assert!(arrivals.values().all(|n| *n == 1), "{arrivals:#?}");
    assert_eq!(level_two(&app), (expected as i64, expected as i64));
    // Each step job was claimed and run once.
    let mut conn = app.state.db.conn().unwrap();
    let attempts: Vec<i32> = jobs::table
        .filter(jobs::kind.eq("escalation.step"))
        .select(jobs::attempts)
        .load(&mut *conn)
        .unwrap();
    // Levels 1 and 2 ran; the end of each ladder is not due yet.
    let ran: Vec<i32> = attempts.into_iter().filter(|a| *a > 0).collect();
    assert_eq!(ran.len(), 2 * incidents, "{ran:?}");
    assert!(ran.iter().all(|a| *a == 1), "{ran:?}");
}
