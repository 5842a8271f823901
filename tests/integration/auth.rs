//! Login, sessions, token rejection, API tokens and roles.

use crate::harness::*;
use cirhub_shared::Role;
use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn forge(secret: &str, claims: serde_json::Value, alg: jsonwebtoken::Algorithm) -> String {
    encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

fn claims(s: &Session, exp_offset: i64) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    let sid = session_id(s);
    json!({"sub": s.user_id, "sid": sid, "org": s.org_id, "iat": now, "exp": now + exp_offset, "iss": "cirhub"})
}

/// The session id inside a real access token.
fn session_id(s: &Session) -> String {
    use base64::Engine;
    let payload = s.token.split('.').nth(1).expect("jwt payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("b64");
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    v["sid"].as_str().expect("sid").to_string()
}

#[tokio::test]
async fn login_gives_tokens_that_work_and_me_describes_the_caller() {
    let app = TestApp::spawn().await;
    let s = app.provider("acme-cloud", Role::Operator).await;
    let (status, me) = app.get("/api/v1/me", &s).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["organisation"]["slug"], "acme-cloud");
    assert_eq!(me["role"], "operator");
    assert_eq!(me["user"]["email"], "operator@acme-cloud.test");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = TestApp::spawn().await;
    let org = app.org("p", true, false);
    app.user(&org, "a@p.test", Role::Admin);
    let (s1, b1) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "a@p.test", "password": "wrong password!!"})),
        )
        .await;
    let (s2, b2) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "nobody@p.test", "password": "wrong password!!"})),
        )
        .await;
    assert_problem(s1, &b1, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_problem(s2, &b2, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(
        b1, b2,
        "responses must not reveal whether the account exists"
    );
}

#[tokio::test]
async fn login_is_rate_limited_per_email() {
    let app = TestApp::spawn().await;
    let org = app.org("p", true, false);
    app.user(&org, "a@p.test", Role::Admin);
    for _ in 0..5 {
        let (s, _) = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"email": "a@p.test", "password": "not the password"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused while the limit holds.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "a@p.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    // Another account is not affected.
    app.user(&org, "b@p.test", Role::Admin);
    app.login("b@p.test").await;
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_are_rejected_with_401() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Admin).await;
    let valid_hs256 = forge(JWT_SECRET, claims(&s, 600), jsonwebtoken::Algorithm::HS256);
    let (ok, _) = app
        .call(Method::GET, "/api/v1/me", Some(&valid_hs256), None)
        .await;
    assert_eq!(
        ok,
        StatusCode::OK,
        "a correctly signed token must work (control)"
    );

    let none_alg = {
        use base64::Engine;
        let e = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.",
            e(json!({"alg": "none", "typ": "JWT"})),
            e(claims(&s, 600))
        )
    };
    let cases = [
        ("alg none", none_alg),
        (
            "wrong key",
            forge(
                "another-secret-another-secret-another-secret",
                claims(&s, 600),
                jsonwebtoken::Algorithm::HS256,
            ),
        ),
        (
            "HS512 with the right key",
            forge(JWT_SECRET, claims(&s, 600), jsonwebtoken::Algorithm::HS512),
        ),
        (
            "expired",
            forge(JWT_SECRET, claims(&s, -5), jsonwebtoken::Algorithm::HS256),
        ),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (name, token) in cases {
        let (status, body) = app
            .call(Method::GET, "/api/v1/me", Some(&token), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["code"], "unauthenticated", "{name}");
    }
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let res = app.client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_revokes_access_and_refresh_tokens_at_once() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Viewer).await;
    let (status, _) = app
        .call(Method::POST, "/api/v1/auth/logout", Some(&s.token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/me", &s).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "access token of a revoked session"
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": s.refresh})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "refresh token of a revoked session"
    );
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_stops_working() {
    let app = TestApp::spawn().await;
    let s = app.provider("p", Role::Viewer).await;
    let (status, pair) = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": s.refresh})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let new_access = pair["access_token"].as_str().unwrap();
    let (status, _) = app
        .call(Method::GET, "/api/v1/me", Some(new_access), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": s.refresh})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_change_ends_every_other_session() {
    let app = TestApp::spawn().await;
    let admin = app.provider("p", Role::Admin).await;
    let elsewhere = app.login(&admin.email).await;
    // Changing one's own password keeps the session that did it and ends the others.
    let (status, _) = app
        .patch(
            &format!("/api/v1/users/{}", admin.user_id),
            &admin,
            json!({"password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me", &admin).await.0, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/me", &elsewhere).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": elsewhere.refresh})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.login_with(&admin.email, "a brand new passphrase").await;
    // An admin resetting someone else's password ends all of that person's sessions.
    let other_id = app.user(&admin.org_id, "other@p.test", Role::Operator);
    let other = app.login("other@p.test").await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/users/{other_id}"),
            &admin,
            json!({"password": "reset by the admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/me", &other).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/api/v1/me", &admin).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_deleted_user_is_locked_out_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.provider("p", Role::Admin).await;
    let victim_id = app.user(&admin.org_id, "victim@p.test", Role::Operator);
    let victim = app.login("victim@p.test").await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{victim_id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/me", &victim).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A token forged with the right key for the deleted user fails too.
    let forged = forge(
        JWT_SECRET,
        claims(&victim, 600),
        jsonwebtoken::Algorithm::HS256,
    );
    let (status, _) = app
        .call(Method::GET, "/api/v1/me", Some(&forged), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_tokens_are_shown_once_scoped_and_revocable() {
    let app = TestApp::spawn().await;
    let admin = app.provider("p", Role::Admin).await;
    let (status, created) = app
        .post(
            "/api/v1/api-tokens",
            &admin,
            json!({"name": "ci bot", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("cirhub_"));
    let id = created["token"]["id"].as_str().unwrap().to_string();
    // The secret is never listed again.
    let (_, list) = app.get("/api/v1/api-tokens", &admin).await;
    assert!(!list.to_string().contains(&secret));
    // It works, with its own role: a viewer token cannot open incidents.
    let (status, me) = app
        .call(Method::GET, "/api/v1/me", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "viewer");
    assert!(me["user"].is_null());
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/incidents",
            Some(&secret),
            Some(json!({"title": "x", "body": "y", "impact": "minor"})),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    // Revoked: 401 at once.
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/api-tokens/{id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .call(Method::GET, "/api/v1/me", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn roles_are_ordered_and_enforced() {
    let app = TestApp::spawn().await;
    let admin = app.provider("p", Role::Admin).await;
    app.user(&admin.org_id, "viewer@p.test", Role::Viewer);
    app.user(&admin.org_id, "analyst@p.test", Role::Analyst);
    app.user(&admin.org_id, "auditor@p.test", Role::Auditor);
    let viewer = app.login("viewer@p.test").await;
    let analyst = app.login("analyst@p.test").await;
    let auditor = app.login("auditor@p.test").await;
    for s in [&viewer, &analyst, &auditor] {
        let (status, body) = app
            .post("/api/v1/regions", s, json!({"code": "x-1", "name": "X"}))
            .await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, _) = app.get("/api/v1/regions", s).await;
        assert_eq!(status, StatusCode::OK, "every role reads the catalogue");
    }
    let (status, _) = app.get("/api/v1/audit", &viewer).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "viewers do not read the audit log"
    );
    let (status, _) = app.get("/api/v1/audit", &auditor).await;
    assert_eq!(status, StatusCode::OK, "auditors do");
    let (status, _) = app
        .post(
            "/api/v1/invitations",
            &analyst,
            json!({"email": "n@p.test", "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post(
            "/api/v1/invitations",
            &admin,
            json!({"email": "n@p.test", "role": "owner"}),
        )
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "role");
}

async fn login_from(app: &TestApp, email: &str, password: &str, forwarded_for: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_login_budget() {
    let app = TestApp::spawn_with(&[("CIRHUB_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let org = app.org("p", true, false);
    app.user(&org, "real@p.test", Role::Admin);
    // 20 failures (4 x the per-e-mail limit) from one client, each on another e-mail.
    for i in 0..20 {
        let status = login_from(
            &app,
            &format!("u{i}@p.test"),
            "not the password",
            "203.0.113.7",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login_from(&app, "real@p.test", PASSWORD, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy keeps its own budget.
    assert_eq!(
        login_from(&app, "real@p.test", PASSWORD, "198.51.100.9, 127.0.0.1").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit() {
    let app = TestApp::spawn().await;
    let org = app.org("p", true, false);
    app.user(&org, "real@p.test", Role::Admin);
    for i in 0..20 {
        let status = login_from(
            &app,
            &format!("u{i}@p.test"),
            "not the password",
            &format!("192.0.2.{i}"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login_from(&app, "real@p.test", PASSWORD, "192.0.2.200").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_burst_of_concurrent_wrong_passwords_gets_no_more_checks_than_the_limit() {
    let app = TestApp::spawn().await;
    let org = app.org("p", true, false);
    app.user(&org, "a@p.test", Role::Admin);
    let attempt = || {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "a@p.test", "password": "not the password"}))
            .send()
    };
    let answers = futures_util::future::join_all((0..16).map(|_| attempt())).await;
    let mut wrong = 0;
    let mut limited = 0;
    for res in answers {
        let res = res.expect("login request");
        let status = res.status();
        let body: serde_json::Value = res.json().await.expect("problem body");
        match status {
            StatusCode::UNAUTHORIZED => {
                assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
                wrong += 1;
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_problem(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
                limited += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        wrong <= 5,
        "{wrong} of 16 concurrent attempts had their password checked; the limit is 5"
    );
    assert_eq!(wrong + limited, 16);
    // The right password is refused too while the limit holds.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "a@p.test", "password": PASSWORD})),
        )
        .await;
    assert_problem(status, &body, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

async fn refresh_with(app: &TestApp, refresh: &str) -> (StatusCode, serde_json::Value) {
    app.call(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh})),
    )
    .await
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_ends_the_session_it_rotated_into() {
    let app = TestApp::spawn().await;
    let admin = app.provider("p", Role::Admin).await;
    let other = app.login(&admin.email).await;
    let (status, pair) = refresh_with(&app, &admin.refresh).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let b_access = pair["access_token"].as_str().unwrap().to_string();
    let b_refresh = pair["refresh_token"].as_str().unwrap().to_string();
    // A second rotation: reuse of the first token must reach the whole family.
    let (status, pair) = refresh_with(&app, &b_refresh).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let c_access = pair["access_token"].as_str().unwrap().to_string();
    let c_refresh = pair["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        app.call(Method::GET, "/api/v1/me", Some(&c_access), None)
            .await
            .0,
        StatusCode::OK
    );

    // The old refresh token comes back (a thief, or the victim after the thief): refused...
    let (status, body) = refresh_with(&app, &admin.refresh).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthenticated");
    // ...and every token the session rotated into stops working.
    for (name, token) in [("B access", &b_access), ("C access", &c_access)] {
        let (status, _) = app.call(Method::GET, "/api/v1/me", Some(token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
    }
    for (name, token) in [("B refresh", &b_refresh), ("C refresh", &c_refresh)] {
        let (status, _) = refresh_with(&app, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
    }
    // Another session of the same person is not part of that family.
    assert_eq!(app.get("/api/v1/me", &other).await.0, StatusCode::OK);
    // The theft is on the record.
    let (status, log) = app
        .get("/api/v1/audit?action=session.refresh_reuse", &other)
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["total"], 1, "{log}");
}

#[tokio::test]
async fn a_person_chooses_the_time_zone_the_console_shows() {
    let app = TestApp::spawn().await;
    let admin = app.provider("p", Role::Admin).await;
    let (status, me) = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&admin.token),
            Some(json!({"time_zone": "Asia/Tokyo"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["time_zone"], "Asia/Tokyo");
    assert_eq!(
        app.get("/api/v1/me", &admin).await.1["user"]["time_zone"],
        "Asia/Tokyo"
    );
    // Not a zone: refused naming the field, nothing changes.
    let (status, body) = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&admin.token),
            Some(json!({"time_zone": "Mars/Olympus"})),
        )
        .await;
    assert_eq!(refused_fields(status, &body), ["time_zone"], "{body}");
    assert_eq!(
        app.get("/api/v1/me", &admin).await.1["user"]["time_zone"],
        "Asia/Tokyo"
    );
    // A colleague's setting is their own; null goes back to the browser's.
    let other = app.colleague(&admin, "lee", Role::Viewer).await;
    assert!(app.get("/api/v1/me", &other).await.1["user"]["time_zone"].is_null());
    let (status, me) = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&admin.token),
            Some(json!({"time_zone": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert!(me["user"]["time_zone"].is_null());
    // An API token is no person: it has no settings.
    let (_, created) = app
        .post(
            "/api/v1/api-tokens",
            &admin,
            json!({"name": "bot", "role": "viewer"}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_string();
    let (status, _) = app
        .call(
            Method::PATCH,
            "/api/v1/me",
            Some(&secret),
            Some(json!({"time_zone": "UTC"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
