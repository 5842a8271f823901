//! Adding a person: an admin invites an address, the invitation is mailed (real SMTP server),
//! and whoever holds the link accepts it. Nothing in the admin's answers tells whether the
//! address has an account anywhere.

use crate::harness::*;
use crate::mail::{for_recipient, spawn_with_smtp, text_body, Smtp};
use cirhub_shared::Role;
use diesel::connection::SimpleConnection;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The invitation link's path (`/invitations/<token>`) in a mail.
fn invitation_path(msg: &str) -> String {
    let body = text_body(msg);
    let start = body.find("/invitations/").expect("an invitation link");
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
        .collect()
}

/// The key set of a JSON object, to compare shapes.
fn shape(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}

async fn accept(app: &TestApp, path: &str, name: &str, password: &str) -> (StatusCode, String) {
    let res = app
        .client
        .post(app.url(path))
        .form(&[("name", name), ("password", password)])
        .send()
        .await
        .expect("accept request");
    (res.status(), res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn inviting_an_address_reveals_nothing_about_accounts_elsewhere() {
    let smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let alpha = app.provider("alpha", Role::Admin).await;
    let bravo = app.org("bravo", false, true);
    app.user(&bravo, "taken@elsewhere.test", Role::Viewer);

    let (s_taken, taken) = app
        .post(
            "/api/v1/invitations",
            &alpha,
            json!({"email": "Taken@Elsewhere.test", "role": "viewer"}),
        )
        .await;
    let (s_fresh, fresh) = app
        .post(
            "/api/v1/invitations",
            &alpha,
            json!({"email": "fresh@elsewhere.test", "role": "operator"}),
        )
        .await;
    assert_eq!(s_taken, StatusCode::CREATED, "{taken}");
    assert_eq!(
        s_fresh, s_taken,
        "same status whether or not the address is registered"
    );
    assert_eq!(
        shape(&taken),
        shape(&fresh),
        "same body shape: {taken} / {fresh}"
    );
    assert_eq!(taken["email"], "taken@elsewhere.test");
    assert!(!taken.to_string().contains("already"), "{taken}");

    // Both addresses get an invitation mail; the inviting organisation is named.
    let msgs = smtp.wait_for(2).await;
    let to_taken = for_recipient(&msgs, "taken@elsewhere.test");
    let to_fresh = for_recipient(&msgs, "fresh@elsewhere.test");
    assert_eq!((to_taken.len(), to_fresh.len()), (1, 1), "one mail each");
    assert!(
        text_body(to_fresh[0]).contains("Org alpha"),
        "{}",
        to_fresh[0]
    );
    let fresh_link = invitation_path(to_fresh[0]);
    let taken_link = invitation_path(to_taken[0]);

    // Following the link (as a mail scanner does) shows a page and accepts nothing.
    for _ in 0..2 {
        let (status, page) = app.public(&fresh_link).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(
            page.contains("Org alpha") && page.contains("<form"),
            "{page}"
        );
    }
    let (status, body) = accept(&app, &fresh_link, "Fresh Person", "short").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("password"), "names the field: {body}");
    let (status, body) = accept(
        &app,
        &fresh_link,
        "Fresh Person",
        "a long enough passphrase",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let person = app
        .login_with("fresh@elsewhere.test", "a long enough passphrase")
        .await;
    assert_eq!(
        person.org_id, alpha.org_id,
        "joins the inviting organisation"
    );
    let (_, me) = app.get("/api/v1/me", &person).await;
    assert_eq!(me["role"], "operator");
    assert_eq!(me["user"]["name"], "Fresh Person");
    // The link works once.
    let (status, body) = accept(&app, &fresh_link, "Again", "a long enough passphrase").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(app.public(&fresh_link).await.0, StatusCode::NOT_FOUND);

    // The holder of the other link learns (only they) that it cannot be used.
    let (status, body) = accept(&app, &taken_link, "Taken", "a long enough passphrase").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("already has an account"), "{body}");
    let still = app.login("taken@elsewhere.test").await;
    assert_eq!(still.org_id, bravo, "the existing account is untouched");

    // The admin's list shows the unused invitation as pending, like any other.
    let (status, list) = app.get("/api/v1/invitations", &alpha).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let emails: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["taken@elsewhere.test"], "{list}");
    assert_eq!(list["items"][0]["id"], taken["id"]);
}

#[tokio::test]
async fn invitations_are_listed_and_revoked_by_their_own_organisation_only() {
    let smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let alpha = app.provider("alpha", Role::Admin).await;
    let bravo = app.provider("bravo", Role::Admin).await;
    let viewer = app.colleague(&alpha, "viewer", Role::Viewer).await;
    let inv: Value = app
        .create(
            "/api/v1/invitations",
            &alpha,
            json!({"email": "new@alpha.test", "role": "analyst"}),
        )
        .await;
    let id = inv["id"].as_str().unwrap();
    let link = invitation_path(smtp.wait_for(1).await[0].as_str());

    // Another organisation's admin neither sees nor revokes it.
    let (status, list) = app.get("/api/v1/invitations", &bravo).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 0, "{list}");
    assert!(!list.to_string().contains(id));
    let (status, body) = app
        .delete(&format!("/api/v1/invitations/{id}"), &bravo)
        .await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not_found");
    // Nor does a non-admin of the organisation.
    for (method, path) in [
        (Method::GET, "/api/v1/invitations".to_string()),
        (Method::DELETE, format!("/api/v1/invitations/{id}")),
    ] {
        let (status, body) = app.call(method, &path, Some(&viewer.token), None).await;
        assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    let (status, body) = app
        .post(
            "/api/v1/invitations",
            &viewer,
            json!({"email": "x@alpha.test", "role": "viewer"}),
        )
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");

    // The admin revokes it: the link stops working and the list is empty.
    let (status, list) = app.get("/api/v1/invitations", &alpha).await;
    assert_eq!(list["total"], 1, "{status} {list}");
    let (status, _) = app
        .delete(&format!("/api/v1/invitations/{id}"), &alpha)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.public(&link).await.0, StatusCode::NOT_FOUND);
    let (status, body) = accept(&app, &link, "New", "a long enough passphrase").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, list) = app.get("/api/v1/invitations", &alpha).await;
    assert_eq!(list["total"], 0, "{list}");
    let (status, _) = app
        .delete(&format!("/api/v1/invitations/{id}"), &alpha)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked once");
}

#[tokio::test]
async fn an_expired_invitation_cannot_be_accepted_and_bad_input_is_named() {
    let smtp = Smtp::start();
    let app = spawn_with_smtp(&smtp).await;
    let alpha = app.provider("alpha", Role::Admin).await;
    let _: Value = app
        .create(
            "/api/v1/invitations",
            &alpha,
            json!({"email": "late@alpha.test", "role": "viewer"}),
        )
        .await;
    let link = invitation_path(smtp.wait_for(1).await[0].as_str());
    app.state
        .db
        .conn()
        .unwrap()
        .batch_execute("UPDATE invitations SET expires_at = 1")
        .unwrap();
    assert_eq!(app.public(&link).await.0, StatusCode::NOT_FOUND);
    let (status, body) = accept(&app, &link, "Late", "a long enough passphrase").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, list) = app.get("/api/v1/invitations", &alpha).await;
    assert_eq!(
        list["total"], 0,
        "expired invitations are not pending: {list}"
    );

    let (status, body) = app
        .post(
            "/api/v1/invitations",
            &alpha,
            json!({"email": "not an address", "role": "viewer"}),
        )
        .await;
    let p = assert_problem(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(p.errors[0].field, "email");
    let (status, body) = accept(
        &app,
        "/invitations/no-such-token",
        "X",
        "a long enough passphrase",
    )
    .await;
    assert_problem(
        status,
        &serde_json::from_str(&body).unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    );
}
