//! The audit log: every change recorded with the hash of the new version, every read of a
//! non-public record recorded as a disclosure, and a hash chain that exposes tampering.

use crate::harness::*;
use cirhub_shared::api::{AuditEntry, Disclosure, Incident, Paged};
use cirhub_shared::Role;
use diesel::connection::SimpleConnection;
use reqwest::StatusCode;
use serde_json::json;

/// SHA-256 of an incident's canonical JSON (RFC 8785), as its version is stored.
fn stored_hash(i: &Incident) -> String {
    use cirhub::audit::versions;
    versions::sha256(versions::canonical(i).unwrap().as_bytes())
}

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
        Some(stored_hash(&updated).as_str()),
        "hash of the stored version 2, which is what the API served"
    );
    assert_eq!(
        log[1].object_hash.as_deref(),
        Some(stored_hash(&inc).as_str())
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

    let (_, disclosures) = app
        .get("/api/v1/audit/disclosures?per_page=100", &auditor)
        .await;
    let disclosures: Vec<Disclosure> =
        serde_json::from_value(disclosures["items"].clone()).unwrap();
    let to_analyst: Vec<&Disclosure> = disclosures
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
        assert_eq!(e.channel, cirhub_shared::Channel::Http);
        assert_eq!(
            e.object_hash.as_deref(),
            Some(stored_hash(&shown).as_str()),
            "the stored version that was shown"
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

#[tokio::test]
async fn disclosures_are_committed_before_the_response_and_sealed_into_the_chain() {
    let app = TestApp::spawn().await;
    let ops = app.provider("p", Role::Admin).await;
    let cat = app.catalogue(&ops).await;
    let inc = app.incident(&ops, &cat, "Sealed", "internal").await;
    let count = |app: &TestApp| -> i64 {
        use diesel::prelude::*;
        let mut conn = app.state.db.conn().unwrap();
        cirhub::db::schema::disclosures::table
            .count()
            .get_result(&mut *conn)
            .unwrap()
    };
    for n in 1..=5 {
        app.get(&format!("/api/v1/incidents/{}", inc.id), &ops)
            .await;
        assert_eq!(count(&app), n, "committed before the response arrived");
    }
    // Sealed now (the periodic sealer may have sealed some already).
    app.state.journal.seal().await.unwrap();
    // A read after the seal is committed, not yet sealed: the chain still verifies.
    app.get(&format!("/api/v1/incidents/{}", inc.id), &ops)
        .await;
    let (ok, out) = cli_verify(&app);
    assert!(ok, "{out}");
    let (_, v) = app.get("/api/v1/audit/verify", &ops).await;
    assert_eq!(v["ok"], true, "{v}");

    // Journal rows are append-only; a tamperer who removes the guard and edits a sealed row
    // is caught by the seal.
    let mut conn = app.state.db.conn().unwrap();
    assert!(conn
        .batch_execute("UPDATE disclosures SET actor_id = 'x' WHERE seq = 2")
        .is_err());
    assert!(conn
        .batch_execute("DELETE FROM disclosures WHERE seq = 2")
        .is_err());
    conn.batch_execute(if on_postgres() {
        "ALTER TABLE disclosures DISABLE TRIGGER disclosures_no_update"
    } else {
        "DROP TRIGGER disclosures_no_update"
    })
    .unwrap();
    conn.batch_execute("UPDATE disclosures SET actor_id = 'someone-else' WHERE seq = 2")
        .unwrap();
    let (ok, out) = cli_verify(&app);
    assert!(!ok, "{out}");
    assert!(out.contains("do not match their seal"), "{out}");
    let (_, v) = app.get("/api/v1/audit/verify", &ops).await;
    assert_eq!(v["ok"], false, "{v}");
}

/// SQLite keeps the disclosure journal in a file of its own: the migration that moves it there
/// keeps every row with its number, so the seals over them still verify, and its revert
/// moves them back the same way.
#[tokio::test]
async fn the_journal_moves_to_its_own_file_keeping_every_row_and_seal() {
    use diesel::migration::MigrationSource;
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness;
    if on_postgres() {
        return;
    }
    let app = TestApp::spawn().await;
    let ops = app.provider("p", Role::Admin).await;
    let cat = app.catalogue(&ops).await;
    let inc = app.incident(&ops, &cat, "Moved", "internal").await;
    let path = format!("/api/v1/incidents/{}", inc.id);
    for _ in 0..3 {
        app.get(&path, &ops).await;
    }
    app.state.journal.seal().await.unwrap();
    let rows = |conn: &mut cirhub::db::DbConn, schema: &str| -> Vec<(i64, String)> {
        diesel::sql_query(format!(
            "SELECT seq, object_id FROM {schema}.disclosures ORDER BY seq"
        ))
        .load::<Row>(conn)
        .map(|r| r.into_iter().map(|r| (r.seq, r.object_id)).collect())
        .unwrap_or_default()
    };
    let mut conn = app.state.db.conn().unwrap();
    let before = rows(&mut conn, "journal");
    assert_eq!(
        before.len(),
        3,
        "the reads are journalled in the journal's file"
    );
    assert!(rows(&mut conn, "main").is_empty());
    let file = cirhub::db::journal_path(&app.state.config.database_url);
    assert!(std::path::Path::new(&file).exists(), "{file}");

    let migration = cirhub::db::SQLITE_MIGRATIONS
        .migrations()
        .unwrap()
        .into_iter()
        .find(|m| m.name().to_string().ends_with("_journal_file"))
        .expect("the journal_file migration");
    let cirhub::db::DbConn::Sqlite(c) = &mut *conn else {
        unreachable!()
    };
    c.revert_migration(&migration).unwrap();
    assert_eq!(
        rows(&mut conn, "main"),
        before,
        "reverted into the database"
    );
    assert!(rows(&mut conn, "journal").is_empty());
    assert!(
        cli_verify(&app).0,
        "the seals hold over the rows moved back"
    );
    drop(conn);
    app.state.db.migrate().unwrap();
    let mut conn = app.state.db.conn().unwrap();
    assert_eq!(
        rows(&mut conn, "journal"),
        before,
        "moved again, numbers kept"
    );
    let (ok, out) = cli_verify(&app);
    assert!(ok, "{out}");
    // The writer goes on numbering after the moved rows.
    app.get(&path, &ops).await;
    let after = rows(&mut conn, "journal");
    assert_eq!(after.len(), 4);
    assert!(after[3].0 > before[2].0, "{after:?}");
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    object_id: String,
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

/// The disclosure journal is per tenant: another organisation's disclosures do not exist for
/// you, whether listed whole or asked for by the object's id.
#[tokio::test]
async fn another_tenants_disclosures_do_not_exist_for_you() {
    let app = TestApp::spawn().await;
    let a = app.provider("alpha", Role::Admin).await;
    let cat = app.catalogue(&a).await;
    let secret = app.incident(&a, &cat, "Alpha internal", "internal").await;
    let (status, _) = app
        .get(&format!("/api/v1/incidents/{}", secret.id), &a)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, own) = app
        .get(
            &format!("/api/v1/audit/disclosures?object_id={}", secret.id),
            &a,
        )
        .await;
    assert!(own["total"].as_i64().unwrap() >= 1, "{own}");

    let b = app.provider("bravo", Role::Admin).await;
    let b_cat = app.catalogue(&b).await;
    let mine = app.incident(&b, &b_cat, "Bravo internal", "internal").await;
    app.get(&format!("/api/v1/incidents/{}", mine.id), &b).await;
    let (status, all) = app.get("/api/v1/audit/disclosures?per_page=100", &b).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let items: Vec<Disclosure> = serde_json::from_value(all["items"].clone()).unwrap();
    assert!(!items.is_empty(), "B sees its own disclosures: {all}");
    assert!(
        items
            .iter()
            .all(|d| d.object_id != secret.id && d.organisation_id.as_deref() != Some(&a.org_id)),
        "B sees none of A's: {all}"
    );
    let (status, by_id) = app
        .get(
            &format!("/api/v1/audit/disclosures?object_id={}", secret.id),
            &b,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_id}");
    assert_eq!(by_id["total"], 0, "{by_id}");
    assert_eq!(by_id["items"], json!([]), "{by_id}");
}
