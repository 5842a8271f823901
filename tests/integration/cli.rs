//! The `cirhub` binary's own subcommands, run as a process against the test's database.

use crate::harness::*;
use reqwest::StatusCode;
use serde_json::json;
use std::process::Command;

fn cirhub(app: &TestApp, args: &[&str], password: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cirhub"));
    cmd.args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .env_remove("CIRHUB_NEW_PASSWORD");
    if let Some(p) = password {
        cmd.env("CIRHUB_NEW_PASSWORD", p);
    }
    let out = cmd.output().expect("run cirhub");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test]
async fn admin_commands_create_tenants_users_and_tokens_that_work_over_http() {
    let app = TestApp::spawn().await;
    let (ok, out) = cirhub(&app, &["migrate"], None);
    assert!(
        ok && out.contains("applied 0 migration"),
        "already migrated at start: {out}"
    );

    let (ok, out) = cirhub(
        &app,
        &[
            "admin",
            "create-org",
            "--slug",
            "stratus",
            "--name",
            "Stratus",
            "--provider",
        ],
        None,
    );
    assert!(ok, "{out}");
    let (ok, out) = cirhub(
        &app,
        &["admin", "create-org", "--slug", "Bad Slug", "--name", "X"],
        None,
    );
    assert!(
        !ok && out.contains("slug"),
        "a bad slug is refused, naming the field: {out}"
    );

    let (ok, out) = cirhub(
        &app,
        &[
            "admin",
            "create-user",
            "--org",
            "stratus",
            "--email",
            "boss@stratus.test",
            "--name",
            "Boss",
            "--role",
            "admin",
        ],
        Some("first password 123"),
    );
    assert!(ok, "{out}");
    let (ok, out) = cirhub(
        &app,
        &[
            "admin",
            "create-user",
            "--org",
            "stratus",
            "--email",
            "x@stratus.test",
            "--name",
            "X",
            "--role",
            "emperor",
        ],
        None,
    );
    assert!(
        !ok && out.contains("admin, operator"),
        "unknown role lists the choices: {out}"
    );

    let login = |password: &'static str| {
        let client = app.client.clone();
        let url = app.url("/api/v1/auth/login");
        async move {
            client
                .post(url)
                .json(&json!({"email": "boss@stratus.test", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(login("first password 123").await, StatusCode::OK);
    let session = app
        .login_with("boss@stratus.test", "first password 123")
        .await;

    // A generated password is printed once; the old one stops working and sessions end.
    let (ok, out) = cirhub(
        &app,
        &["admin", "reset-password", "--email", "boss@stratus.test"],
        None,
    );
    assert!(ok, "{out}");
    let generated = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("printed password")
        .to_string();
    assert_eq!(login("first password 123").await, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/api/v1/me", &session).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "reset ends existing sessions"
    );
    app.login_with("boss@stratus.test", &generated).await;

    let (ok, out) = cirhub(
        &app,
        &[
            "admin",
            "create-token",
            "--org",
            "stratus",
            "--name",
            "deploy bot",
            "--role",
            "operator",
        ],
        None,
    );
    assert!(ok, "{out}");
    let secret = out.lines().last().unwrap().trim().to_string();
    let (status, me) = app
        .call(reqwest::Method::GET, "/api/v1/me", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["organisation"]["slug"], "stratus");
    assert_eq!(me["role"], "operator");
}
