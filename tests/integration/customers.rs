//! Provider-customer relationships, targeted visibility, the customer dashboard (mappings,
//! layout, acknowledgement, notes), receipts, personal feeds and subscriptions.

use crate::harness::*;
use cirhub_shared::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn a_provider_invites_and_the_customer_admin_accepts() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let c_viewer = app.colleague(&c, "viewer", Role::Viewer).await;
    let p_ops = app.colleague(&p, "ops", Role::Operator).await;
    let cat = app.catalogue(&p).await;
    let invite = json!({"customer": "acme", "service_model": "paas",
        "scopes": [{"service_id": cat.service.id, "region_id": cat.region.id}]});

    // Only a provider admin invites; the slug must be a customer organisation.
    let (s, b) = app
        .post("/api/v1/relationships", &p_ops, invite.clone())
        .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "forbidden");
    let (s, b) = app
        .post(
            "/api/v1/relationships",
            &p,
            json!({"customer": "nobody", "service_model": "paas"}),
        )
        .await;
    assert_eq!(
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").errors[0]
            .field,
        "customer"
    );
    let (s, b) = app
        .post(
            "/api/v1/relationships",
            &p,
            json!({"customer": "acme", "service_model": "paas",
            "scopes": [{"service_id": "missing"}]}),
        )
        .await;
    assert_eq!(
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").errors[0]
            .field,
        "scopes[0].service_id"
    );
    let (s, b) = app
        .post(
            "/api/v1/relationships",
            &p,
            json!({"customer": "acme", "service_model": "cloud"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(
        app.get("/api/v1/relationships", &p).await.1["total"],
        0,
        "refused requests wrote nothing"
    );

    let rel: Value = app
        .create("/api/v1/relationships", &p, invite.clone())
        .await;
    assert_eq!(rel["status"], "invited");
    assert_eq!(rel["scopes"][0]["region_id"], cat.region.id.as_str());
    let id = rel["id"].as_str().unwrap();
    let (s, b) = app.post("/api/v1/relationships", &p, invite).await;
    assert_problem(s, &b, StatusCode::CONFLICT, "conflict");

    // The provider cannot accept for the customer; a customer viewer cannot accept either.
    let (s, b) = app
        .post(&format!("/api/v1/relationships/{id}/accept"), &p, json!({}))
        .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "forbidden");
    let (s, b) = app
        .post(
            &format!("/api/v1/relationships/{id}/accept"),
            &c_viewer,
            json!({}),
        )
        .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "forbidden");
    let (s, b) = app
        .post(&format!("/api/v1/relationships/{id}/accept"), &c, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "active");
    assert_eq!(b["provider_slug"], "nimbus");
    // Both sides list it.
    assert_eq!(
        app.get("/api/v1/relationships", &c_viewer).await.1["items"][0]["id"],
        id
    );
    assert_eq!(app.get("/api/v1/relationships", &p).await.1["total"], 1);
    // Only the provider changes the scopes; the customer may end it.
    let (s, b) = app
        .put(
            &format!("/api/v1/relationships/{id}/scopes"),
            &c,
            json!({"scopes": []}),
        )
        .await;
    assert_problem(s, &b, StatusCode::FORBIDDEN, "forbidden");
    let (s, b) = app
        .put(
            &format!("/api/v1/relationships/{id}/scopes"),
            &p,
            json!({"scopes": [], "service_model": "iaas"}),
        )
        .await;
    assert_eq!(
        (s, b["service_model"].as_str()),
        (StatusCode::OK, Some("iaas")),
        "{b}"
    );
    let (s, b) = app.delete(&format!("/api/v1/relationships/{id}"), &c).await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("ended")));
}

#[tokio::test]
async fn each_customer_sees_only_what_touches_it_and_what_it_was_named_for() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let p = &w.provider;
    app.open(p, &w.compute_tokyo, "Public Tokyo compute", "public", &[])
        .await;
    app.open(
        p,
        &w.compute_osaka,
        "Affected Osaka compute",
        "affected",
        &[],
    )
    .await;
    app.open(p, &w.storage_tokyo, "Named for acme", "named", &["acme"])
        .await;
    app.open(p, &w.compute_tokyo, "Internal only", "internal", &[])
        .await;
    // A customer without a relationship sees nothing at all.
    let stranger = app.customer("initech", Role::Admin).await;

    assert_eq!(
        app.dashboard_titles(&w.acme).await,
        ["Named for acme", "Public Tokyo compute"]
    );
    assert_eq!(
        app.dashboard_titles(&w.globex).await,
        ["Affected Osaka compute"]
    );
    assert!(app.dashboard_titles(&stranger).await.is_empty());
    // The public page still shows only the public one.
    let (_, summary) = app.public("/status/nimbus/api/v2/summary.json").await;
    assert!(summary.contains("Public Tokyo compute"));
    for hidden in ["Affected Osaka", "Named for acme", "Internal only"] {
        assert!(
            !summary.contains(hidden),
            "{hidden} leaked to the public page"
        );
    }
    // A named audience must be customers with an active relationship.
    let (s, b) = app
        .post(
            "/api/v1/incidents",
            p,
            json!({"title": "x", "body": "y", "impact": "minor",
            "visibility": "named", "audience": ["initech"]}),
        )
        .await;
    assert_eq!(
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").errors[0]
            .field,
        "audience[0]"
    );
    let (s, b) = app
        .post(
            "/api/v1/incidents",
            p,
            json!({"title": "x", "body": "y", "impact": "minor",
            "visibility": "public", "audience": ["acme"]}),
        )
        .await;
    assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Narrowing a named incident to globex takes it off acme's dashboard at once.
    let named = app.get("/api/v1/incidents?visibility=named", p).await.1["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, b) = app
        .patch(
            &format!("/api/v1/incidents/{named}"),
            p,
            json!({"audience": ["globex"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["audience"][0], w.globex.org_id.as_str());
    assert_eq!(
        app.dashboard_titles(&w.acme).await,
        ["Public Tokyo compute"]
    );
    let (s, _) = app
        .get(&format!("/api/v1/dashboard/incidents/{named}"), &w.acme)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_dashboard_speaks_the_customers_words_and_records_acknowledgement() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let analyst = app.colleague(&w.acme, "analyst", Role::Analyst).await;
    let viewer = app.colleague(&w.acme, "viewer", Role::Viewer).await;
    // Mapping onto a component acme does not contract is refused.
    let (s, b) = app
        .post(
            "/api/v1/resource-mappings",
            &analyst,
            json!({"name": "payments-prod", "component_id": w.storage_tokyo.id}),
        )
        .await;
    assert_eq!(
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").errors[0]
            .field,
        "component_id"
    );
    let m: Value = app
        .create(
            "/api/v1/resource-mappings",
            &analyst,
            json!({"name": "payments-prod", "component_id": w.compute_tokyo.id}),
        )
        .await;
    assert_eq!(m["component"]["region_code"], "ap-northeast-1");
    assert_eq!(m["component"]["service_name"], "Compute");
    let (s, _) = app
        .post(
            "/api/v1/resource-mappings",
            &viewer,
            json!({"name": "x", "component_id": w.compute_tokyo.id}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let inc = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "VM start failures",
            "affected",
            &[],
        )
        .await;
    let (_, list) = app.get("/api/v1/dashboard/incidents", &viewer).await;
    let item = &list["items"][0];
    assert_eq!(item["affected_resources"], json!(["payments-prod"]));
    assert_eq!(item["provider_name"], "Org nimbus");
    // IaaS platform layer: provider and customer drive it jointly.
    assert_eq!(
        (item["service_model"].as_str(), item["driver"].as_str()),
        (Some("iaas"), Some("joint"))
    );

    // Private notes stay with acme; acknowledgement is recorded once, with the version.
    let note: Value = app
        .create(
            &format!("/api/v1/dashboard/incidents/{}/notes", inc.id),
            &analyst,
            json!({"body": "Failover to Osaka prepared"}),
        )
        .await;
    assert_eq!(note["author_name"], "User analyst@acme.test");
    let (s, _) = app
        .post(
            &format!("/api/v1/dashboard/incidents/{}/ack", inc.id),
            &viewer,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "viewers cannot acknowledge");
    let (s, b) = app
        .post(
            &format!("/api/v1/dashboard/incidents/{}/ack", inc.id),
            &analyst,
            json!({"version": 9}),
        )
        .await;
    assert_eq!(
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").errors[0]
            .field,
        "version"
    );
    let (s, detail) = app
        .post(
            &format!("/api/v1/dashboard/incidents/{}/ack", inc.id),
            &analyst,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    assert_eq!(
        detail["acknowledgement"]["user_name"],
        "User analyst@acme.test"
    );
    assert_eq!(detail["acknowledgement"]["incident_version"], 1);
    assert_eq!(detail["notes"][0]["body"], "Failover to Osaka prepared");
    assert_eq!(
        detail["updates"][0]["body"],
        "VM start failures: investigating"
    );

    // The provider sees acme reached and acknowledged, globex not concerned; never the notes.
    let (s, receipts) = app
        .get(
            &format!("/api/v1/incidents/{}/receipts", inc.id),
            &w.provider,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{receipts}");
    let r = receipts.as_array().unwrap();
    assert_eq!(r.len(), 1, "{receipts}");
    assert_eq!(r[0]["customer_id"], w.acme.org_id.as_str());
    assert!(r[0]["reached_at"].is_string());
    assert_eq!(
        r[0]["acknowledgement"]["user_name"],
        "User analyst@acme.test"
    );
    assert_eq!(r[0]["driver"], "joint");
    assert!(!receipts.to_string().contains("Failover"));
    // Every dashboard read is a disclosure in the audit log.
    let (_, audit) = app.get("/api/v1/audit?per_page=100", &w.provider).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["organisation_id"] != w.acme.org_id.as_str()),
        "the provider's auditors see their own organisation's entries only"
    );

    // Layout is per user and survives.
    let layout = json!({"pinned_service_ids": [w.compute.id], "provider_ids": [], "min_priority": "P2", "show_resolved": true});
    let (s, b) = app.put("/api/v1/me/layout", &viewer, layout.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(app.get("/api/v1/me/layout", &viewer).await.1, layout);
    assert_eq!(
        app.get("/api/v1/me/layout", &analyst).await.1["pinned_service_ids"],
        json!([])
    );
}

#[tokio::test]
async fn personal_feeds_show_only_what_affects_the_customer_and_die_with_their_token() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.open(
        &w.provider,
        &w.compute_tokyo,
        "Tokyo compute degraded",
        "affected",
        &[],
    )
    .await;
    app.open(
        &w.provider,
        &w.compute_osaka,
        "Osaka compute degraded",
        "public",
        &[],
    )
    .await;
    let created: Value = app
        .create("/api/v1/feed-tokens", &w.acme, json!({"name": "widget"}))
        .await;
    let base = created["statuspage_url"].as_str().unwrap().to_string();
    assert!(
        base.starts_with(&app.base) && base.ends_with("/api/v2/"),
        "{base}"
    );
    let path = base.trim_start_matches(&app.base).to_string();

    let (s, summary) = app.public(&format!("{path}summary.json")).await;
    assert_eq!(s, StatusCode::OK, "{summary}");
    assert!(summary.contains("Tokyo compute degraded"), "{summary}");
    assert!(
        !summary.contains("Osaka compute degraded"),
        "globex's scope leaked to acme"
    );
    let doc: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(doc["page"]["name"], "Org acme");
    assert_eq!(doc["status"]["indicator"], "major");
    let names: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Compute Tokyo") && !names.contains(&"Storage Tokyo"),
        "{names:?}"
    );
    let (s, atom) = app
        .public(
            created["atom_url"]
                .as_str()
                .unwrap()
                .trim_start_matches(&app.base),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(atom.contains("Tokyo compute degraded") && !atom.contains("Osaka"));
    // Reading through the feed is recorded as a disclosure to the token.
    let (_, audit) = app
        .get("/api/v1/audit/disclosures?per_page=100", &w.acme)
        .await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["channel"] == "feed" && e["actor_type"] == "feed_token"),
        "{audit}"
    );

    // Globex cannot see or revoke acme's token; acme's revocation is immediate.
    let id = created["token"]["id"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/feed-tokens", &w.globex).await.1["total"],
        0
    );
    assert_eq!(
        app.delete(&format!("/api/v1/feed-tokens/{id}"), &w.globex)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.public(&format!("{path}summary.json")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.delete(&format!("/api/v1/feed-tokens/{id}"), &w.acme)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (s, body) = app.public(&format!("{path}summary.json")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        app.public(&format!("{path}incidents.json")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.public("/feeds/cirfeed_guess/api/v2/summary.json")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn subscriptions_are_personal_or_per_role_and_validated() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let viewer = app.colleague(&w.acme, "viewer", Role::Viewer).await;
    let mine: Value = app
        .create(
            "/api/v1/subscriptions",
            &viewer,
            json!({"name": "Tokyo P2+", "region_ids": [w.tokyo.id],
            "min_priority": "P2", "channels": ["email", "websocket"]}),
        )
        .await;
    assert_eq!(mine["user_id"], viewer.user_id.as_str());
    assert_eq!(mine["mode"], "immediate");
    // Only an admin subscribes a whole role.
    let (s, b) = app
        .post(
            "/api/v1/subscriptions",
            &viewer,
            json!({"name": "all", "role": "viewer", "channels": ["email"]}),
        )
        .await;
    assert_eq!(
        assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").errors[0]
            .field,
        "role"
    );
    let role_wide: Value = app
        .create(
            "/api/v1/subscriptions",
            &w.acme,
            json!({"name": "Everyone", "role": "viewer",
            "channels": ["email"], "mode": "digest"}),
        )
        .await;
    assert_eq!(role_wide["user_id"], Value::Null);
    // Bad input names the field; another provider's ids are not "yours".
    for (body, field) in [
        (json!({"name": "x", "channels": []}), "channels"),
        (json!({"name": "x", "channels": ["feed"]}), "channels[0]"),
        (
            json!({"name": "x", "channels": ["email"], "provider_ids": [w.globex.org_id]}),
            "provider_ids[0]",
        ),
        (
            json!({"name": "x", "channels": ["email"], "service_ids": ["nope"]}),
            "service_ids[0]",
        ),
        (json!({"name": "", "channels": ["email"]}), "name"),
    ] {
        let (s, b) = app.post("/api/v1/subscriptions", &viewer, body).await;
        assert_eq!(
            assert_problem(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").errors[0]
                .field,
            field
        );
    }
    let (s, b) = app
        .post(
            "/api/v1/subscriptions",
            &viewer,
            json!({"name": "x", "channels": ["email"], "min_priority": "P9"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    // The viewer lists its own and its role's; the admin lists all.
    assert_eq!(
        app.get("/api/v1/subscriptions", &viewer).await.1["total"],
        2
    );
    assert_eq!(
        app.get("/api/v1/subscriptions", &w.acme).await.1["total"],
        2
    );
    let id = mine["id"].as_str().unwrap();
    let (s, b) = app
        .put(
            &format!("/api/v1/subscriptions/{id}"),
            &viewer,
            json!({"name": "Tokyo P1", "region_ids": [w.tokyo.id],
            "min_priority": "P1", "channels": ["websocket"]}),
        )
        .await;
    assert_eq!(
        (s, b["min_priority"].as_str()),
        (StatusCode::OK, Some("P1")),
        "{b}"
    );
    // Globex's admin does not see it.
    assert_eq!(
        app.get(&format!("/api/v1/subscriptions/{id}"), &w.globex)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&format!("/api/v1/subscriptions/{id}"), &viewer)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/subscriptions", &viewer).await.1["total"],
        1
    );
}

#[tokio::test]
async fn another_tenants_customer_objects_do_not_exist_for_you() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let other_provider = app.provider("stratus", Role::Admin).await;
    let inc = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Acme only",
            "named",
            &["acme"],
        )
        .await;
    let rel = app.get("/api/v1/relationships", &w.acme).await.1["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mapping: Value = app
        .create(
            "/api/v1/resource-mappings",
            &w.acme,
            json!({"name": "db", "component_id": w.compute_tokyo.id}),
        )
        .await;
    let sub: Value = app
        .create(
            "/api/v1/subscriptions",
            &w.acme,
            json!({"name": "s", "channels": ["email"]}),
        )
        .await;
    let token: Value = app
        .create("/api/v1/feed-tokens", &w.acme, json!({"name": "t"}))
        .await;
    let missing = "00000000-0000-7000-8000-000000000000";
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/relationships/{id}".into(), None),
        (
            Method::POST,
            "/api/v1/relationships/{id}/accept".into(),
            Some(json!({})),
        ),
        (
            Method::PUT,
            "/api/v1/relationships/{id}/scopes".into(),
            Some(json!({"scopes": []})),
        ),
        (Method::DELETE, "/api/v1/relationships/{id}".into(), None),
    ];
    let inc_cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/dashboard/incidents/{id}".into(), None),
        (
            Method::POST,
            "/api/v1/dashboard/incidents/{id}/ack".into(),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/dashboard/incidents/{id}/notes".into(),
            Some(json!({"body": "x"})),
        ),
        (Method::GET, "/api/v1/incidents/{id}/receipts".into(), None),
    ];
    let other_cases = vec![
        (
            Method::DELETE,
            "/api/v1/resource-mappings/{id}".to_string(),
            None,
            mapping["id"].as_str().unwrap().to_string(),
        ),
        (
            Method::GET,
            "/api/v1/subscriptions/{id}".to_string(),
            None,
            sub["id"].as_str().unwrap().to_string(),
        ),
        (
            Method::PUT,
            "/api/v1/subscriptions/{id}".to_string(),
            Some(json!({"name": "x", "channels": ["email"]})),
            sub["id"].as_str().unwrap().to_string(),
        ),
        (
            Method::DELETE,
            "/api/v1/subscriptions/{id}".to_string(),
            None,
            sub["id"].as_str().unwrap().to_string(),
        ),
        (
            Method::DELETE,
            "/api/v1/feed-tokens/{id}".to_string(),
            None,
            token["token"]["id"].as_str().unwrap().to_string(),
        ),
    ];
    let all = cases
        .into_iter()
        .map(|(m, p, b)| (m, p, b, rel.clone()))
        .chain(
            inc_cases
                .into_iter()
                .map(|(m, p, b)| (m, p, b, inc.id.clone())),
        )
        .chain(other_cases);
    for (method, template, body, id) in all {
        for outsider in [&w.globex, &other_provider] {
            let theirs = app
                .call(
                    method.clone(),
                    &template.replace("{id}", &id),
                    Some(&outsider.token),
                    body.clone(),
                )
                .await;
            let nowhere = app
                .call(
                    method.clone(),
                    &template.replace("{id}", missing),
                    Some(&outsider.token),
                    body.clone(),
                )
                .await;
            assert_eq!(
                theirs.0,
                StatusCode::NOT_FOUND,
                "{method} {template} as {}: {}",
                outsider.slug,
                theirs.1
            );
            assert_eq!(
                theirs, nowhere,
                "{method} {template}: another tenant's id must look missing"
            );
        }
    }
    // Lists leave other tenants' objects out.
    for path in [
        "/api/v1/resource-mappings",
        "/api/v1/subscriptions",
        "/api/v1/feed-tokens",
        "/api/v1/dashboard/incidents",
    ] {
        let (_, b) = app.get(path, &w.globex).await;
        assert_eq!(b["total"], 0, "{path}: {b}");
    }
    assert_eq!(
        app.get("/api/v1/relationships", &other_provider).await.1["total"],
        0
    );
    // The acme objects are all still there.
    assert_eq!(
        app.get(&format!("/api/v1/dashboard/incidents/{}", inc.id), &w.acme)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/resource-mappings", &w.acme).await.1["total"],
        1
    );
}

#[tokio::test]
async fn the_demo_world_shows_each_customer_its_own_view() {
    let app = TestApp::spawn().await;
    std::env::set_var("CIRHUB_DEMO_PASSWORD", "demo-password-for-tests");
    cirhub::demo::seed_if_empty(&app.state).expect("demo seed");
    let acme = app
        .login_with("analyst@acme.example", "demo-password-for-tests")
        .await;
    let globex = app
        .login_with("admin@globex.example", "demo-password-for-tests")
        .await;
    let (_, list) = app.get("/api/v1/dashboard/incidents", &acme).await;
    let packet = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("Packet loss"))
        .unwrap_or_else(|| panic!("acme sees the targeted incident: {list}"));
    assert_eq!(packet["affected_resources"], json!(["payments-prod"]));
    assert_eq!(packet["driver"], "joint");
    assert!(!app
        .dashboard_titles(&globex)
        .await
        .iter()
        .any(|t| t.starts_with("Packet loss")));
    let (_, summary) = app.public("/status/nimbus/api/v2/summary.json").await;
    assert!(!summary.contains("Packet loss"));
    assert_eq!(app.get("/api/v1/subscriptions", &acme).await.1["total"], 1);

    // Months of resolved history for the response metrics, the exercise left out; each
    // customer sees its own side of what reached it.
    let admin = app
        .login_with("admin@nimbus.example", "demo-password-for-tests")
        .await;
    let (_, m) = app.get("/api/v1/metrics/response?by=month", &admin).await;
    assert_eq!(m["exercises_excluded"], 1, "{m}");
    let with_recovery = m["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["stats"][4]["measure"] == "recover" && g["stats"][4]["n"].as_u64() > Some(0))
        .count();
    assert!(with_recovery >= 4, "{m}");
    // The internal investigation carries the provider's own record (5W, contacts).
    let (_, list) = app.get("/api/v1/incidents?per_page=100", &admin).await;
    let investigation = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["title"]
                .as_str()
                .unwrap()
                .starts_with("Suspicious API key usage")
        })
        .unwrap_or_else(|| panic!("{list}"));
    let (_, record) = app
        .get(
            &format!(
                "/api/v1/incidents/{}/record",
                investigation["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert_eq!(
        record["contacts"].as_array().map(Vec::len),
        Some(2),
        "{record}"
    );
    for customer in [&acme, &globex] {
        let (_, m) = app.get("/api/v1/metrics/response", customer).await;
        assert_eq!(m["perspective"], "customer");
        assert!(m["total"]["stats"][3]["n"].as_u64() > Some(3), "{m}");
    }
}

#[tokio::test]
async fn the_closed_history_filters_before_it_pages_and_counts_what_it_shows() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let closed = |title: &str, visibility: &str, audience: &[&str]| {
        json!({"title": title, "body": "over", "impact": "minor", "urgency": "low",
               "status": "resolved", "visibility": visibility, "audience": audience,
               "components": [{"component_id": w.compute_tokyo.id, "status": "operational"}]})
    };
    for i in 0..3 {
        app.create::<Value>(
            "/api/v1/incidents",
            &w.provider,
            closed(&format!("Acme history {i}"), "affected", &[]),
        )
        .await;
    }
    // Then more closed records than one page of history holds, none of them for acme.
    for i in 0..205 {
        app.create::<Value>(
            "/api/v1/incidents",
            &w.provider,
            closed(&format!("Globex only {i}"), "named", &["globex"]),
        )
        .await;
    }
    let (s, page) = app
        .get("/api/v1/dashboard/incidents?open=false&per_page=2", &w.acme)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3, "{page}");
    let titles = |p: &Value| -> Vec<String> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(titles(&page), ["Acme history 2", "Acme history 1"]);
    let (_, next) = app
        .get(
            "/api/v1/dashboard/incidents?open=false&per_page=2&page=2",
            &w.acme,
        )
        .await;
    assert_eq!(titles(&next), ["Acme history 0"]);
    assert_eq!(next["total"], 3);
    let (_, theirs) = app
        .get(
            "/api/v1/dashboard/incidents?open=false&per_page=100",
            &w.globex,
        )
        .await;
    assert_eq!(theirs["total"], 205, "globex counts all of its own");
    assert_eq!(theirs["items"].as_array().unwrap().len(), 100);
}
