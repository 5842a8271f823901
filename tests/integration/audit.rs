//! The audit log: every change recorded with the hash of the new version, every read of a
//! non-public record recorded as a disclosure, and a hash chain that exposes tampering.

use crate::harness::*;
use cirhub_shared::api::{AuditEntry, Incident, Paged};
use cirhub_shared::Role;
use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use serde_json::json;

async fn entries(app: &TestApp, s: &Session, query: &str) -> Vec<AuditEntry> {
    let (status, v) = app
        .get(&format!("/api/v1/audit?per_page=100&{query}"), s)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    serde_json::from_value::<Paged<AuditEntry>>(v)
        .unwrap()
        .items
}

fn cli_verify(app: &TestApp) -> (bool, String) {
    cli_audit(app, &["audit", "verify"])
}

fn cli_audit(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cirhub"))
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("CIRHUB_LOG_FORMAT", "pretty")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run cirhub");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test]
async fn changes_are_recorded_with_the_hash_of_the_new_version() {
    let app = TestApp::spawn().await;
    let ops = app.provider("p", Role::Operator).await;
    app.user(&ops.org_id, "auditor@p.test", Role::Auditor);
    let auditor = app.login("auditor@p.test").await;
    let cat = app.catalogue(&ops).await;
    let inc = app.incident(&ops, &cat, "Audited", "public").await;
    let updated: Incident = app
        .create(
            &format!("/api/v1/incidents/{}/updates", inc.id),
            &ops,
            json!({"status": "identified", "body": "x"}),
        )
        .await;
    let log = entries(&app, &auditor, &format!("object_id={}", inc.id)).await;
    let actions: Vec<(&str, Option<i32>)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.object_version))
        .collect();
    assert_eq!(
        actions,
        [("incident.update", Some(2)), ("incident.create", Some(1))]
    );
    assert_eq!(
        log[0].object_hash.as_deref(),
        Some(cirhub::audit::object_hash(&updated).unwrap().as_str()),
        "hash of version 2 as served"
    );
    assert_eq!(
        log[1].object_hash.as_deref(),
        Some(cirhub::audit::object_hash(&inc).unwrap().as_str())
    );
    assert_eq!(log[0].actor_type, "user");
    assert_eq!(log[0].actor_id.as_deref(), Some(ops.user_id.as_str()));
    let comp_log = entries(
        &app,
        &auditor,
        &format!("object_id={}", cat.components[0].id),
    )
    .await;
    assert!(comp_log.iter().any(|e| e.action == "component.create"));
}

#[tokio::test]
async fn reading_a_non_public_incident_is_a_recorded_disclosure() {
    let app = TestApp::spawn().await;
    let ops = app.provider("p", Role::Operator).await;
    app.user(&ops.org_id, "analyst@p.test", Role::Analyst);
    app.user(&ops.org_id, "auditor@p.test", Role::Auditor);
    let analyst = app.login("analyst@p.test").await;
    let auditor = app.login("auditor@p.test").await;
    let cat = app.catalogue(&ops).await;
    let internal = app.incident(&ops, &cat, "Internal", "internal").await;
    let public = app.incident(&ops, &cat, "Public", "public").await;
    let (_, shown) = app
        .get(&format!("/api/v1/incidents/{}", internal.id), &analyst)
        .await;
    let shown: Incident = serde_json::from_value(shown).unwrap();
    app.get(&format!("/api/v1/incidents/{}", public.id), &analyst)
        .await;
    app.get("/api/v1/incidents", &analyst).await;

    let disclosures = entries(&app, &auditor, "action=disclose").await;
    let to_analyst: Vec<&AuditEntry> = disclosures
        .iter()
        .filter(|e| e.actor_id.as_deref() == Some(analyst.user_id.as_str()))
        .collect();
    assert_eq!(
        to_analyst.len(),
        2,
        "one for the detail read, one for the list; none for the public incident"
    );
    for e in &to_analyst {
        assert_eq!(e.object_id, internal.id);
        assert_eq!(e.object_version, Some(1));
        assert_eq!(e.channel, Some(cirhub_shared::Channel::Http));
        assert_eq!(
            e.object_hash.as_deref(),
            Some(cirhub::audit::object_hash(&shown).unwrap().as_str()),
            "exactly what was shown"
        );
    }
}

#[tokio::test]
async fn audit_verify_passes_clean_and_names_the_tampered_entry() {
    let app = TestApp::spawn().await;
    let ops = app.provider("p", Role::Admin).await;
    let cat = app.catalogue(&ops).await;
    app.incident(&ops, &cat, "Chained", "internal").await;
    let (ok, out) = cli_verify(&app);
    assert!(ok, "clean chain must verify: {out}");
    assert!(out.contains("intact"), "{out}");
    let (status, v) = app.get("/api/v1/audit/verify", &ops).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["ok"], true);

    // The database refuses in-place changes...
    let refused = app
        .state
        .db
        .conn()
        .unwrap()
        .batch_execute("UPDATE audit_log SET action = 'x' WHERE seq = 5");
    assert!(refused.is_err(), "audit rows must be append-only");
    // ...so a tamperer must first remove the guard, then edit entry 5.
    let drop_guard = if on_postgres() {
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"
    } else {
        "DROP TRIGGER audit_log_no_update"
    };
    let mut conn = app.state.db.conn().unwrap();
    conn.batch_execute(drop_guard).unwrap();
    conn.batch_execute("UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 5")
        .unwrap();
    let (ok, out) = cli_verify(&app);
    assert!(!ok, "tampered chain must fail: {out}");
    assert!(out.contains("broken at entry 5"), "names the entry: {out}");
    let (_, v) = app.get("/api/v1/audit/verify", &ops).await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 5);
}

#[tokio::test]
async fn concurrent_writers_on_two_instances_keep_one_unbroken_chain() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_sharing(&first).await;
    let ops = first.provider("p", Role::Operator).await;
    let cat = first.catalogue(&ops).await;
    // The same session works on both instances: they share the signing key and sessions.
    let (status, _) = second.get("/api/v1/me", &ops).await;
    assert_eq!(status, StatusCode::OK);
    let writes = (0..12).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        let (ops, cat) = (&ops, &cat);
        async move {
            app.incident(ops, cat, &format!("Concurrent {i}"), "internal")
                .await
        }
    });
    let created = futures_util::future::join_all(writes).await;
    assert_eq!(created.len(), 12);
    let (_, list) = second.get("/api/v1/incidents?per_page=100", &ops).await;
    assert_eq!(list["total"], 12);
    let (ok, out) = cli_verify(&first);
    assert!(
        ok,
        "chain written by two instances at once must verify: {out}"
    );
}

#[tokio::test]
async fn an_anchor_kept_outside_reveals_a_chain_cut_back() {
    let app = TestApp::spawn().await;
    let ops = app.provider("p", Role::Operator).await;
    let cat = app.catalogue(&ops).await;
    let (ok, head) = cli_audit(&app, &["audit", "head"]);
    assert!(ok, "{head}");
    let head = head.trim().to_string();
    let seq: i64 = head.split(':').next().unwrap().parse().unwrap();
    assert!(seq > 5, "{head}");
    app.incident(&ops, &cat, "After the anchor", "internal")
        .await;
    let (ok, out) = cli_audit(&app, &["audit", "verify", "--anchor", &head]);
    assert!(ok, "a growing chain keeps its anchor: {out}");

    // Remove the newest entries, the anchored one included: what is left still chains.
    let drop_guard = if on_postgres() {
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"
    } else {
        "DROP TRIGGER audit_log_no_delete"
    };
    let mut conn = app.state.db.conn().unwrap();
    conn.batch_execute(drop_guard).unwrap();
    conn.batch_execute(&format!("DELETE FROM audit_log WHERE seq >= {}", seq - 1))
        .unwrap();
    let (ok, out) = cli_verify(&app);
    assert!(ok, "without an anchor a cut-back chain looks intact: {out}");
    let (ok, out) = cli_audit(&app, &["audit", "verify", "--anchor", &head]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("broken at entry {seq}")) && out.contains("cut back"),
        "{out}"
    );
    let (ok, out) = cli_audit(&app, &["audit", "verify", "--anchor", "nonsense"]);
    assert!(!ok && out.contains("SEQ:HASH"), "{out}");
}

#[test]
fn what_cannot_be_serialised_gets_no_hash() {
    // A map with non-string keys has no JSON form: hashing it must fail, not hash nothing.
    let mut m = std::collections::HashMap::new();
    m.insert((1, 2), "x");
    let outcome = format!("{:?}", cirhub::audit::object_hash(&m));
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert!(!outcome.contains(empty), "hashed empty bytes: {outcome}");
    assert!(outcome.starts_with("Err"), "{outcome}");
}

#[tokio::test]
async fn each_tenant_verifies_its_own_entries_only() {
    let app = TestApp::spawn().await;
    let a = app.provider("alpha", Role::Admin).await;
    let cat = app.catalogue(&a).await;
    app.incident(&a, &cat, "Alpha internal", "internal").await;
    let b = app.provider("bravo", Role::Admin).await;
    let b_cat = app.catalogue(&b).await;
    app.incident(&b, &b_cat, "Bravo internal", "internal").await;
    let a_auditor = app.colleague(&a, "auditor", Role::Auditor).await;
    let a_entries = entries(&app, &a, "").await;
    let b_entries = entries(&app, &b, "").await;

    let (status, v) = app.get("/api/v1/audit/verify", &a_auditor).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        v["entries"],
        a_entries.len() as i64,
        "counts the caller's entries only: {v}"
    );
    let (_, vb) = app.get("/api/v1/audit/verify", &b).await;
    assert_eq!(vb["entries"], b_entries.len() as i64, "{vb}");

    let drop_guard = if on_postgres() {
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"
    } else {
        "DROP TRIGGER audit_log_no_update"
    };
    let mut conn = app.state.db.conn().unwrap();
    conn.batch_execute(drop_guard).unwrap();
    // Another tenant's entry is edited: not A's business, A's verification is unaffected.
    let b_seq = b_entries[b_entries.len() / 2].seq;
    conn.batch_execute(&format!(
        "UPDATE audit_log SET action = 'x' WHERE seq = {b_seq}"
    ))
    .unwrap();
    let (_, v) = app.get("/api/v1/audit/verify", &a).await;
    assert_eq!(v["ok"], true, "B's entries are not A's to check: {v}");
    assert_eq!(v["entries"], a_entries.len() as i64);
    for secret in [&b.org_id, &b_seq.to_string()] {
        assert!(!v.to_string().contains(secret.as_str()), "{v}");
    }
    let (_, vb) = app.get("/api/v1/audit/verify", &b).await;
    assert_eq!(vb["ok"], false, "{vb}");
    assert_eq!(vb["first_bad_seq"], b_seq);

    // One of A's own entries is edited: A finds it.
    let a_seq = a_entries[a_entries.len() / 2].seq;
    conn.batch_execute(&format!(
        "UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = {a_seq}"
    ))
    .unwrap();
    let (_, v) = app.get("/api/v1/audit/verify", &a_auditor).await;
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_bad_seq"], a_seq);
}
