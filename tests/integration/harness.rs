//! Test harness: every test gets its own database (a SQLite file, or a fresh PostgreSQL
//! database when `CIRHUB_TEST_PG_URL` is set) and the real server bound to port 0.

use cirhub::app::Application;
use cirhub::auth::{password, Actor};
use cirhub::config::Config;
use cirhub::identity::accounts;
use cirhub::state::AppState;
use cirhub_shared::api;
use cirhub_shared::Role;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The JWT secret every test server uses, so tests can forge tokens signed with it.
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
/// Password of every user the harness creates.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub database_url: String,
    _dir: tempfile::TempDir,
}

/// A logged-in user of an organisation.
#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub refresh: String,
    pub org_id: String,
    pub slug: String,
    pub user_id: String,
    pub email: String,
}

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash(PASSWORD).expect("hash"))
        .clone()
}

/// A fresh database URL for one test.
fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("CIRHUB_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(admin_url) => {
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn =
                diesel::PgConnection::establish(&admin_url).expect("connect to CIRHUB_TEST_PG_URL");
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create test database");
            let (prefix, _) = admin_url
                .rsplit_once('/')
                .expect("URL with a database name");
            format!("{prefix}/{name}")
        }
        None => dir.join("cirhub.db").to_string_lossy().into_owned(),
    }
}

/// True when the suite runs on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("CIRHUB_TEST_PG_URL").is_ok_and(|u| !u.is_empty())
}

impl TestApp {
    /// Starts a server with default settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts a second instance on the same database, as a multi-instance deployment does.
    pub async fn spawn_sharing(other: &TestApp) -> TestApp {
        Self::spawn_with(&[("DATABASE_URL", other.database_url.as_str())]).await
    }

    /// Starts a server with extra configuration variables.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = match extra.iter().find(|(k, _)| *k == "DATABASE_URL") {
            Some((_, url)) => url.to_string(),
            None => fresh_database(dir.path()),
        };
        let mut vars: HashMap<String, String> = HashMap::from([
            ("CIRHUB_ADDR".into(), "127.0.0.1:0".into()),
            ("DATABASE_URL".into(), database_url.clone()),
            (
                "CIRHUB_DATA_DIR".into(),
                dir.path().to_string_lossy().into_owned(),
            ),
            ("CIRHUB_JWT_SECRET".into(), JWT_SECRET.into()),
            ("CIRHUB_DB_POOL".into(), "4".into()),
            (
                "CIRHUB_FRONTEND_DIR".into(),
                concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/dist").into(),
            ),
        ]);
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
        let app = Application::build(config).expect("build app");
        let port = app.port();
        let state = app.state.clone();
        tokio::spawn(app.run());
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            base,
            client,
            state,
            database_url,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates an organisation (as the CLI does).
    pub fn org(&self, slug: &str, provider: bool, customer: bool) -> String {
        let name = format!("Org {slug}");
        self.state
            .db
            .write_blocking(|c| {
                accounts::create_org(c, &Actor::System, slug, &name, provider, customer)
            })
            .expect("create org")
            .id
    }

    /// Creates a user in an organisation.
    pub fn user(&self, org_id: &str, email: &str, role: Role) -> String {
        let input = api::CreateUser {
            email: email.into(),
            name: format!("User {email}"),
            role,
            password: PASSWORD.into(),
        };
        self.state
            .db
            .write_blocking(|c| {
                accounts::create_user(c, &Actor::System, org_id, &input, password_hash())
            })
            .expect("create user")
            .id
    }

    /// Logs a user in over HTTP.
    pub async fn login(&self, email: &str) -> Session {
        self.login_with(email, PASSWORD).await
    }

    /// Logs a user in over HTTP with a given password.
    pub async fn login_with(&self, email: &str, password: &str) -> Session {
        let res = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "login of {email} failed: {}",
            res.text().await.unwrap_or_default()
        );
        let pair: api::TokenPair = res.json().await.expect("token pair");
        Session {
            token: pair.access_token,
            refresh: pair.refresh_token,
            org_id: pair.me.organisation.id.clone(),
            slug: pair.me.organisation.slug.clone(),
            user_id: pair.me.user.map(|u| u.id).unwrap_or_default(),
            email: email.into(),
        }
    }

    /// A provider organisation `slug` with a user of `role`, logged in.
    pub async fn provider(&self, slug: &str, role: Role) -> Session {
        let org = self.org(slug, true, false);
        let email = format!("{}@{slug}.test", role.as_str());
        self.user(&org, &email, role);
        self.login(&email).await
    }

    /// Sends a request with a bearer token and an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str, s: &Session) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(&s.token), None).await
    }

    pub async fn post(&self, path: &str, s: &Session, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(&s.token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, s: &Session, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(&s.token), Some(body))
            .await
    }

    /// POSTs and insists on 201, returning the body as `T`.
    pub async fn create<T: DeserializeOwned>(&self, path: &str, s: &Session, body: Value) -> T {
        let (status, value) = self.post(path, s, body).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {value}");
        serde_json::from_value(value).expect("typed body")
    }

    /// A public document as text.
    pub async fn public(&self, path: &str) -> (StatusCode, String) {
        let res = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        (res.status(), res.text().await.unwrap_or_default())
    }
}

/// A small catalogue: one region, one service, one group, two components.
pub struct Catalogue {
    pub region: api::Region,
    pub service: api::Service,
    pub group: api::ComponentGroup,
    pub components: Vec<api::Component>,
}

impl TestApp {
    pub async fn catalogue(&self, s: &Session) -> Catalogue {
        let region: api::Region = self
            .create(
                "/api/v1/regions",
                s,
                json!({"code": "ap-northeast-1", "name": "Tokyo"}),
            )
            .await;
        let service: api::Service = self
            .create(
                "/api/v1/services",
                s,
                json!({"name": "Compute", "description": "VMs"}),
            )
            .await;
        let group: api::ComponentGroup = self
            .create(
                "/api/v1/component-groups",
                s,
                json!({"name": "Compute", "position": 1}),
            )
            .await;
        let mut components = Vec::new();
        for (i, name) in ["Compute (ap-northeast-1)", "Compute API"]
            .iter()
            .enumerate()
        {
            components.push(
                self.create(
                    "/api/v1/components",
                    s,
                    json!({"name": name, "service_id": service.id, "region_id": region.id, "group_id": group.id, "position": i}),
                )
                .await,
            );
        }
        Catalogue {
            region,
            service,
            group,
            components,
        }
    }

    /// Opens an incident on the first component with the given visibility.
    pub async fn incident(
        &self,
        s: &Session,
        cat: &Catalogue,
        title: &str,
        visibility: &str,
    ) -> api::Incident {
        self.create(
            "/api/v1/incidents",
            s,
            json!({
                "title": title,
                "body": format!("{title}: investigating"),
                "impact": "major",
                "urgency": "high",
                "category": "software_bug",
                "visibility": visibility,
                "components": [{"component_id": cat.components[0].id, "status": "partial_outage"}]
            }),
        )
        .await
    }
}

/// Asserts a problem-details body with the given status and code; returns it.
pub fn assert_problem(
    status: StatusCode,
    body: &Value,
    want: StatusCode,
    code: &str,
) -> cirhub_shared::Problem {
    assert_eq!(status, want, "unexpected status; body: {body}");
    let p: cirhub_shared::Problem = serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("not a problem document ({e}): {body}"));
    assert_eq!(p.code, code, "problem code; body: {body}");
    assert_eq!(p.status, want.as_u16());
    assert!(!p.detail.is_empty() && !p.title.is_empty());
    p
}

/// The fields a 422 names, asserting it is one.
pub fn refused_fields(status: StatusCode, body: &Value) -> Vec<String> {
    assert_problem(
        status,
        body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .errors
    .into_iter()
    .map(|e| e.field)
    .collect()
}

impl TestApp {
    pub async fn put(&self, path: &str, s: &Session, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(&s.token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, s: &Session) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(&s.token), None).await
    }

    /// A customer organisation `slug` with a user of `role`, logged in.
    pub async fn customer(&self, slug: &str, role: Role) -> Session {
        let org = self.org(slug, false, true);
        let email = format!("{}@{slug}.test", role.as_str());
        self.user(&org, &email, role);
        self.login(&email).await
    }

    /// Another logged-in user in the same organisation.
    pub async fn colleague(&self, of: &Session, name: &str, role: Role) -> Session {
        let email = format!("{name}@{}.test", of.slug);
        self.user(&of.org_id, &email, role);
        self.login(&email).await
    }

    /// Invites a customer and has its admin accept; returns the relationship id.
    pub async fn relate(
        &self,
        provider: &Session,
        customer: &Session,
        model: &str,
        scopes: Value,
    ) -> String {
        let rel: Value = self
            .create(
                "/api/v1/relationships",
                provider,
                json!({"customer": customer.slug, "service_model": model, "scopes": scopes}),
            )
            .await;
        let id = rel["id"].as_str().expect("relationship id").to_string();
        let (status, body) = self
            .post(
                &format!("/api/v1/relationships/{id}/accept"),
                customer,
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "accept: {body}");
        id
    }
}

/// A provider with two services in two regions and two customers contracting different
/// parts of it:
/// - acme (IaaS): Compute in Tokyo;
/// - globex (SaaS): Storage everywhere and Compute in Osaka.
pub struct World {
    pub provider: Session,
    pub acme: Session,
    pub globex: Session,
    pub compute: api::Service,
    pub tokyo: api::Region,
    /// Compute/Tokyo, Compute/Osaka, Storage/Tokyo.
    pub compute_tokyo: api::Component,
    pub compute_osaka: api::Component,
    pub storage_tokyo: api::Component,
}

impl TestApp {
    pub async fn world(&self) -> World {
        let provider = self.provider("nimbus", Role::Admin).await;
        let acme = self.customer("acme", Role::Admin).await;
        let globex = self.customer("globex", Role::Admin).await;
        let p = &provider;
        let tokyo: api::Region = self
            .create(
                "/api/v1/regions",
                p,
                json!({"code": "ap-northeast-1", "name": "Tokyo"}),
            )
            .await;
        let osaka: api::Region = self
            .create(
                "/api/v1/regions",
                p,
                json!({"code": "ap-northeast-3", "name": "Osaka"}),
            )
            .await;
        let compute: api::Service = self
            .create(
                "/api/v1/services",
                p,
                json!({"name": "Compute", "description": "VMs"}),
            )
            .await;
        let storage: api::Service = self
            .create(
                "/api/v1/services",
                p,
                json!({"name": "Storage", "description": "Objects"}),
            )
            .await;
        let mut comps = Vec::new();
        for (name, s, r) in [
            ("Compute Tokyo", &compute, &tokyo),
            ("Compute Osaka", &compute, &osaka),
            ("Storage Tokyo", &storage, &tokyo),
        ] {
            let c: api::Component = self
                .create(
                    "/api/v1/components",
                    p,
                    json!({"name": name, "service_id": s.id, "region_id": r.id}),
                )
                .await;
            comps.push(c);
        }
        self.relate(
            p,
            &acme,
            "iaas",
            json!([{"service_id": compute.id, "region_id": tokyo.id}]),
        )
        .await;
        self.relate(
            p,
            &globex,
            "saas",
            json!([{"service_id": storage.id}, {"service_id": compute.id, "region_id": osaka.id}]),
        )
        .await;
        let storage_tokyo = comps.pop().unwrap();
        let compute_osaka = comps.pop().unwrap();
        let compute_tokyo = comps.pop().unwrap();
        World {
            provider,
            acme,
            globex,
            compute,
            tokyo,
            compute_tokyo,
            compute_osaka,
            storage_tokyo,
        }
    }

    /// Opens an incident on one component with a visibility (and named audience).
    pub async fn open(
        &self,
        s: &Session,
        component: &api::Component,
        title: &str,
        visibility: &str,
        audience: &[&str],
    ) -> api::Incident {
        self.create(
            "/api/v1/incidents",
            s,
            json!({
                "title": title,
                "body": format!("{title}: investigating"),
                "impact": "major",
                "urgency": "high",
                "visibility": visibility,
                "audience": audience,
                "components": [{"component_id": component.id, "status": "partial_outage"}]
            }),
        )
        .await
    }

    /// Posts an update to an incident.
    pub async fn update(&self, s: &Session, id: &str, status: &str, body: &str) -> api::Incident {
        self.create(
            &format!("/api/v1/incidents/{id}/updates"),
            s,
            json!({"status": status, "body": body}),
        )
        .await
    }

    /// Titles on a customer's dashboard (open and closed).
    pub async fn dashboard_titles(&self, s: &Session) -> Vec<String> {
        let (status, body) = self
            .get("/api/v1/dashboard/incidents?open=false&per_page=100", s)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, open) = self
            .get("/api/v1/dashboard/incidents?per_page=100", s)
            .await;
        assert_eq!(status, StatusCode::OK, "{open}");
        let mut titles: Vec<String> = open["items"]
            .as_array()
            .unwrap()
            .iter()
            .chain(body["items"].as_array().unwrap())
            .map(|i| i["title"].as_str().unwrap().to_string())
            .collect();
        titles.sort();
        titles
    }
}

/// A tokio-tungstenite client of `/api/v1/stream`.
pub struct StreamClient {
    pub ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl TestApp {
    /// Connects to the stream with a bearer header (and `since`, if given).
    pub async fn stream(&self, token: &str, since: Option<i64>) -> StreamClient {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut url = format!("{}/api/v1/stream", self.base.replace("http://", "ws://"));
        if let Some(s) = since {
            url.push_str(&format!("?since={s}"));
        }
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("stream connects");
        StreamClient { ws }
    }
}

impl TestApp {
    /// A stream client with a tiny receive buffer, to play a client that stops reading.
    pub async fn stream_small_buffer(&self, token: &str) -> StreamClient {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/api/v1/stream", self.base.replace("http://", "ws://"));
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let addr: std::net::SocketAddr = self.base.trim_start_matches("http://").parse().unwrap();
        let tcp = socket.connect(addr).await.unwrap();
        let (ws, _) =
            tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
                .await
                .expect("stream connects");
        StreamClient { ws }
    }
}

impl StreamClient {
    /// The next frame, or `None` after `wait` without one.
    pub async fn frame_within(&mut self, wait: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
            match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) => return None,
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Some(serde_json::from_str(&t).expect("JSON frame"))
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next frame of type `event` (skipping hello/live/heartbeat), within 10 s.
    pub async fn event(&mut self) -> Value {
        loop {
            let f = self
                .frame_within(std::time::Duration::from_secs(10))
                .await
                .expect("an event frame within 10 s");
            if f["type"] == "event" {
                return f;
            }
        }
    }

    /// Events until nothing arrives for `quiet`.
    pub async fn events_until_quiet(&mut self, quiet: std::time::Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(f) = self.frame_within(quiet).await {
            if f["type"] == "event" {
                out.push(f);
            }
        }
        out
    }

    /// Sends a client frame.
    pub async fn send(&mut self, frame: Value) {
        use futures_util::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                frame.to_string().into(),
            ))
            .await
            .expect("send a client frame");
    }

    /// The next frame of type `kind` (skipping others), within 10 s.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let f = self
                .frame_within(std::time::Duration::from_secs(10))
                .await
                .unwrap_or_else(|| panic!("a {kind} frame within 10 s"));
            if f["type"] == kind {
                return f;
            }
        }
    }

    /// Waits for the `live` frame (end of replay) and returns its last_seq.
    pub async fn live(&mut self) -> (Vec<Value>, i64) {
        let mut replayed = Vec::new();
        loop {
            let f = self
                .frame_within(std::time::Duration::from_secs(10))
                .await
                .expect("frames until live");
            match f["type"].as_str() {
                Some("event") => replayed.push(f),
                Some("live") => return (replayed, f["last_seq"].as_i64().unwrap()),
                _ => {}
            }
        }
    }
}

/// Waits up to 30 s for a server (a `cirhub serve` child process) to answer `/readyz`.
pub async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "cirhub serve did not come up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

impl TestApp {
    /// `cirhub serve` as a child process on this app's database, on a free port (returned
    /// with its base URL); callers add their settings and spawn it.
    pub fn serve_command(&self, data_dir: &std::path::Path) -> (std::process::Command, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cirhub"));
        cmd.arg("serve")
            .env("DATABASE_URL", &self.database_url)
            .env("CIRHUB_ADDR", format!("127.0.0.1:{port}"))
            .env("CIRHUB_DATA_DIR", data_dir)
            .env("CIRHUB_JWT_SECRET", JWT_SECRET)
            .env(
                "CIRHUB_FRONTEND_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/dist"),
            )
            .stdout(std::process::Stdio::null());
        (cmd, format!("http://127.0.0.1:{port}"))
    }
}

impl TestApp {
    /// A bilateral provider-customer sharing agreement in force (the provider proposes, the
    /// customer's admin accepts); returns its id.
    pub async fn agreement(
        &self,
        provider: &Session,
        customer: &Session,
        ceiling: &str,
        categories: Value,
    ) -> String {
        let a: Value = self
            .create(
                "/api/v1/agreements",
                provider,
                json!({"kind": "bilateral", "title": "IoCs", "tlp_ceiling": ceiling,
                    "parties": [{"organisation": provider.slug, "role": "provider"},
                                {"organisation": customer.slug, "role": "customer"}],
                    "categories": categories, "onward": "none", "attribution": "named",
                    "retention_days": 90}),
            )
            .await;
        let id = a["id"].as_str().expect("agreement id").to_string();
        let (status, body) = self
            .post(
                &format!("/api/v1/agreements/{id}/accept"),
                customer,
                json!({"version": 1}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "accept: {body}");
        id
    }
}

/// The Python of the test tools (scripts/setup.sh test installs taxii2-client,
/// stix2-validator and pymisp there).
pub fn test_python() -> std::path::PathBuf {
    let venv =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/setup.sh test (it installs taxii2-client, stix2-validator and pymisp)",
        venv.display()
    );
    venv
}
