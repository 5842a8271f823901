//! Escalation policies over HTTP: versioned saves with a stale-edit check, validation that
//! names each field and stores nothing, the lint of what was saved, the simulator on the
//! version in force and on a draft, and each organisation seeing only its own policy.

use crate::harness::*;
use cirhub_shared::api::{AuditEntry, Paged};
use cirhub_shared::escalation::{EscalationPolicy, FindingCode, Simulation};
use cirhub_shared::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn policy(app: &TestApp, s: &Session) -> EscalationPolicy {
    let (status, v) = app.get("/api/v1/escalation-policy", s).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

async fn simulate(app: &TestApp, s: &Session, case: Value) -> Simulation {
    let (status, v) = app
        .post("/api/v1/escalation-policy/simulate", s, case)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    serde_json::from_value(v).unwrap()
}

/// The provider's matrix: P1/P2 to the on-call analyst by e-mail and live, then to the
/// admin after 15 minutes, twice over; ransomware at any priority to the admin at once;
/// everything else by day to the analysts, out of hours to the operators (there are none).
pub(crate) fn provider_policy(
    version: Option<i32>,
    analyst: &str,
    admin: &str,
    service: &str,
) -> Value {
    json!({
        "version": version,
        "time_zone": "Asia/Tokyo",
        "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"},
        "rules": [
            {"name": "Urgent on Compute", "match": {"priorities": ["P1", "P2"], "services": [service]},
             "levels": [
                {"targets": [{"kind": "user", "id": analyst, "channels": ["email", "webhook"]}], "wait_minutes": 15},
                {"targets": [{"kind": "user", "id": admin, "channels": ["email"]}], "wait_minutes": 30}
             ], "repeat": 1},
            {"name": "Ransomware", "match": {"categories": ["ransomware"]},
             "levels": [{"targets": [{"kind": "role", "id": "admin", "channels": ["email"]}]}]},
            {"name": "By day", "match": {"hours": "business"},
             "levels": [{"targets": [{"kind": "role", "id": "analyst", "channels": ["email"]}], "wait_minutes": 60}]},
            {"name": "At night", "match": {"hours": "outside_business"},
             "levels": [{"targets": [{"kind": "role", "id": "operator", "channels": ["email"]}], "wait_minutes": 60}]}
        ]
    })
}

#[tokio::test]
async fn a_policy_is_versioned_validated_linted_and_simulated() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let admin = &w.provider;
    let analyst = app.colleague(admin, "kenji", Role::Analyst).await;

    // Before the first save: version 0, no rules, every case a gap.
    let empty = policy(&app, &analyst).await;
    assert_eq!((empty.version, empty.rules.len()), (0, 0));
    assert!(empty.lint.iter().any(|f| f.code == FindingCode::Gap
        && f.message.contains("P1 in business hours, every category")));

    // Bad input: every field named, nothing stored.
    let bad = json!({
        "time_zone": "Mars/Olympus",
        "business_hours": {"days": ["mon", "mon"], "start": "9am", "end": "08:00"},
        "rules": [{"name": "  ", "match": {"services": ["no-such-service"]},
                   "levels": [{"targets": [{"kind": "user", "id": "nobody", "channels": ["email", "email"]},
                                           {"kind": "role", "id": "boss", "channels": ["email"]}],
                               "wait_minutes": 0, "repeat": 10},
                              {"targets": [], "repeat": 1}],
                   "repeat": 12}]
    });
    let (status, body) = app.put("/api/v1/escalation-policy", admin, bad).await;
    let fields = refused_fields(status, &body);
    for f in [
        "time_zone",
        "business_hours.days",
        "business_hours.start",
        "rules[0].name",
        "rules[0].repeat",
        "rules[0].match.services[0]",
        "rules[0].levels[0].wait_minutes",
        "rules[0].levels[0].repeat",
        "rules[0].levels[0].targets[0].id",
        "rules[0].levels[0].targets[0].channels",
        "rules[0].levels[0].targets[1].id",
        "rules[0].levels[1].targets",
        "rules[0].levels[1].repeat",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} not named in {fields:?}");
    }
    // An unknown field is refused too, by name.
    let mut typo = provider_policy(None, &analyst.user_id, &admin.user_id, &w.compute.id);
    typo["rules"][0]["levels"][0]["wait_mins"] = json!(5);
    let (status, body) = app.put("/api/v1/escalation-policy", admin, typo).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(body.to_string().contains("wait_mins"), "{body}");
    assert_eq!(policy(&app, admin).await.version, 0);

    // Only an admin saves.
    let good = provider_policy(None, &analyst.user_id, &admin.user_id, &w.compute.id);
    let (status, _) = app
        .put("/api/v1/escalation-policy", &analyst, good.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, v) = app.put("/api/v1/escalation-policy", admin, good).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let v1: EscalationPolicy = serde_json::from_value(v).unwrap();
    assert_eq!((v1.version, v1.rules.len()), (1, 4));
    // The lint of what was saved: the operators' rule reaches nobody, so every case out of
    // hours that the first two rules leave is a gap; "Ransomware" waits at its only level
    // for good, which is allowed.
    let codes: Vec<(FindingCode, &str)> =
        v1.lint.iter().map(|f| (f.code, f.path.as_str())).collect();
    assert!(
        codes.contains(&(FindingCode::NoOne, "/rules/3/levels/0/targets/0")),
        "{codes:?}"
    );
    assert!(
        v1.lint.iter().any(|f| f.code == FindingCode::Gap
            && f.message
                == "P3 outside business hours, every category but ransomware: rule 4 (\"At night\") reaches nobody"),
        "{:#?}",
        v1.lint
    );
    assert!(
        !v1.lint
            .iter()
            .any(|f| f.message.starts_with("P3 in business hours")),
        "{:#?}",
        v1.lint
    );

    // A stale edit is refused; the next one from version 1 makes version 2.
    let again = provider_policy(None, &analyst.user_id, &admin.user_id, &w.compute.id);
    let (status, body) = app.put("/api/v1/escalation-policy", admin, again).await;
    assert_problem(status, &body, StatusCode::CONFLICT, "conflict");
    let mut v2 = provider_policy(Some(1), &analyst.user_id, &admin.user_id, &w.compute.id);
    v2["rules"][3]["levels"][0]["targets"][0]["id"] = json!("admin");
    let (status, v) = app.put("/api/v1/escalation-policy", admin, v2).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let v2: EscalationPolicy = serde_json::from_value(v).unwrap();
    assert_eq!(v2.version, 2);
    assert!(
        !v2.lint.iter().any(|f| f.code == FindingCode::Gap),
        "{:#?}",
        v2.lint
    );
    // Version 1 is kept as it was, with its own hash; there is no version 3.
    let (status, old) = app.get("/api/v1/escalation-policy/versions/1", admin).await;
    assert_eq!(status, StatusCode::OK, "{old}");
    let old: EscalationPolicy = serde_json::from_value(old).unwrap();
    assert_eq!(
        (
            old.hash.as_str(),
            old.rules[3].levels[0].targets[0].id.as_str()
        ),
        (v1.hash.as_str(), "operator")
    );
    assert_ne!(v1.hash, v2.hash);
    let (status, _) = app.get("/api/v1/escalation-policy/versions/3", admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Each save is an audit entry naming the version's hash.
    let (status, v) = app
        .get(
            "/api/v1/audit?per_page=100&object_type=escalation_policy",
            admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let entries = serde_json::from_value::<Paged<AuditEntry>>(v)
        .unwrap()
        .items;
    let saved: Vec<(Option<i32>, Option<String>)> = entries
        .iter()
        .filter(|e| e.action == "escalation_policy.update")
        .map(|e| (e.object_version, e.object_hash.clone()))
        .collect();
    assert_eq!(saved.len(), 2, "{entries:?}");
    assert!(saved.contains(&(Some(1), Some(v1.hash.clone()))));
    assert!(saved.contains(&(Some(2), Some(v2.hash.clone()))));

    // Simulation on the version in force: a P2 on Compute on a Saturday in Tokyo.
    let saturday = "2026-12-05T03:00:00Z";
    let s = simulate(
        &app,
        &analyst,
        json!({"priority": "P2", "category": "hacking_dos", "service_id": w.compute.id, "at": saturday}),
    )
    .await;
    assert_eq!(
        (s.rule, s.policy_version, s.business_hours),
        (Some(0), Some(2), false)
    );
    let plan: Vec<(u64, usize, u32, Vec<String>)> = s
        .steps
        .iter()
        .map(|x| {
            (
                x.after_minutes,
                x.level,
                x.pass,
                x.recipients.iter().map(|r| r.email.clone()).collect(),
            )
        })
        .collect();
    let (kenji, boss) = (analyst.email.clone(), admin.email.clone());
    assert_eq!(
        plan,
        [
            (0, 1, 1, vec![kenji.clone()]),
            (15, 2, 1, vec![boss.clone()]),
            (45, 1, 2, vec![kenji]),
            (60, 2, 2, vec![boss]),
        ]
    );
    assert_eq!(
        s.exhausted_at.unwrap().to_rfc3339(),
        "2026-12-05T04:30:00+00:00"
    );
    // The same P2 elsewhere falls to the night rule, now the admins.
    let s = simulate(
        &app,
        &analyst,
        json!({"priority": "P2", "category": "hacking_dos", "at": saturday}),
    )
    .await;
    assert_eq!(
        (s.rule_name.as_deref(), s.steps.len()),
        (Some("At night"), 1)
    );
    assert!(
        s.steps[0].recipients.iter().any(|r| r.email == admin.email),
        "{s:?}"
    );

    // A draft is simulated without being saved, and validated like a save.
    let draft = json!({"time_zone": "UTC", "rules": [{"name": "all", "levels": [
        {"targets": [{"kind": "role", "id": "analyst", "channels": ["websocket"]}], "wait_minutes": 5}]}]});
    let s = simulate(
        &app,
        &analyst,
        json!({"priority": "P4", "category": "unknown", "policy": draft}),
    )
    .await;
    assert_eq!(
        (s.rule, s.policy_version, s.steps.len()),
        (Some(0), None, 1)
    );
    assert_eq!(policy(&app, admin).await.version, 2);
    // The editor's lint of a draft: findings, nothing saved; a bad draft is a 422.
    let night_only = json!({"time_zone": "UTC", "rules": [{"name": "night", "match": {"hours": "outside_business"},
        "levels": [{"targets": [{"kind": "role", "id": "analyst", "channels": []}], "wait_minutes": 5}]}]});
    let (status, v) = app
        .post("/api/v1/escalation-policy/lint", &analyst, night_only)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let findings: Vec<cirhub_shared::escalation::Finding> = serde_json::from_value(v).unwrap();
    assert!(
        findings.iter().any(|f| f.code == FindingCode::NoChannel),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|f| f
            .message
            .starts_with("P1 in business hours, every category: no rule")),
        "{findings:?}"
    );
    let (status, body) = app
        .post(
            "/api/v1/escalation-policy/lint",
            &analyst,
            json!({"time_zone": "Nowhere", "rules": []}),
        )
        .await;
    assert_eq!(refused_fields(status, &body), ["time_zone"]);
    assert_eq!(policy(&app, admin).await.version, 2);
    let (status, body) = app
        .post(
            "/api/v1/escalation-policy/simulate",
            &analyst,
            json!({"priority": "P9", "category": "unknown"}),
        )
        .await;
    assert!(
        status.is_client_error() && body.to_string().contains("priority"),
        "{status} {body}"
    );
}

#[tokio::test]
async fn each_organisation_sees_and_names_only_its_own() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let kenji = app.colleague(&w.provider, "kenji", Role::Analyst).await;
    let good = provider_policy(None, &kenji.user_id, &w.provider.user_id, &w.compute.id);
    let (status, v) = app
        .put("/api/v1/escalation-policy", &w.provider, good)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // A customer reads its own (none yet), never the provider's, nor its versions.
    let mine = policy(&app, &w.acme).await;
    assert_eq!(
        (mine.version, mine.organisation_id.as_str()),
        (0, w.acme.org_id.as_str())
    );
    let (status, _) = app
        .get("/api/v1/escalation-policy/versions/1", &w.acme)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // It cannot name the provider's people; it can route on its provider's services.
    let theirs = json!({"time_zone": "Europe/Berlin", "rules": [{"name": "x", "levels": [
        {"targets": [{"kind": "user", "id": kenji.user_id, "channels": ["email"]}]}]}]});
    let (status, body) = app.put("/api/v1/escalation-policy", &w.acme, theirs).await;
    assert_eq!(
        refused_fields(status, &body),
        ["rules[0].levels[0].targets[0].id"]
    );
    let own = json!({"time_zone": "Europe/Berlin", "rules": [{"name": "Compute", "match": {"services": [w.compute.id], "in_scope": true},
        "levels": [{"targets": [{"kind": "user", "id": w.acme.user_id, "channels": ["email"]}]}]}]});
    let (status, v) = app.put("/api/v1/escalation-policy", &w.acme, own).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // An organisation without a relationship to the provider cannot name its services.
    let stranger = app.customer("initech", Role::Admin).await;
    let (status, body) = app
        .put(
            "/api/v1/escalation-policy",
            &stranger,
            json!({"time_zone": "UTC", "rules": [{"name": "x", "match": {"services": [w.compute.id]}, "levels": []}]}),
        )
        .await;
    assert_eq!(
        refused_fields(status, &body),
        ["rules[0].match.services[0]"]
    );
    // The provider's policy is unchanged by any of this; the customer's simulation runs on
    // the customer's own policy.
    assert_eq!(policy(&app, &w.provider).await.version, 1);
    let s = simulate(
        &app,
        &w.acme,
        json!({"priority": "P1", "category": "ransomware", "service_id": w.compute.id, "in_scope": true}),
    )
    .await;
    assert_eq!(s.steps[0].recipients[0].email, w.acme.email);
}
