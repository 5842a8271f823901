//! End to end in headless Chromium (driven over WebDriver by chromedriver): the WebAssembly
//! status page shows an incident created through the API, and the provider console logs in
//! and posts an update that then shows on the public page.
//!
//! Needs `frontend/dist` (scripts/build-frontend.sh), Chromium and chromedriver
//! (`CHROME`, `CHROMEDRIVER`; Debian's paths by default).

use crate::harness::*;
use cirhub_shared::Role;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) const WAIT: Duration = Duration::from_secs(30);

pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn start() -> Browser {
        let dist = concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/dist/index.html");
        assert!(
            std::path::Path::new(dist).exists(),
            "frontend not built: run scripts/build-frontend.sh ({dist} missing)"
        );
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chrome = std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {chromedriver}: {e} (install chromium-driver)")
            });
        let profile = tempfile::tempdir().unwrap();
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chrome,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--window-size=1280,1600",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        });
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => unreachable!(),
        };
        let mut last_err = None;
        for _ in 0..50 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    }
                }
                Err(e) => last_err = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("chromedriver did not accept a session: {last_err:?}");
    }

    /// Waits until an element matching `css` contains `text`; returns the page text on timeout.
    pub(crate) async fn wait_for_text(&self, css: &str, text: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                for e in elements {
                    if e.text().await.map(|t| t.contains(text)).unwrap_or(false) {
                        return;
                    }
                }
            }
            if tokio::time::Instant::now() > deadline {
                let body = self.client.source().await.unwrap_or_default();
                panic!("no {css} containing {text:?} within {WAIT:?}; page was:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Saves a screenshot when `CIRHUB_SCREENSHOT_DIR` is set (for looking at the UI).
    pub(crate) async fn snapshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("CIRHUB_SCREENSHOT_DIR") {
            if let Ok(png) = self.client.screenshot().await {
                let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png);
            }
        }
    }

    pub(crate) async fn element(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    /// Every element matching `css`, once at least one does.
    pub(crate) async fn elements(&self, css: &str) -> Vec<Element> {
        self.element(css).await;
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    pub(crate) async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap();
    }

    /// Replaces an input's text.
    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let e = self.element(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    pub(crate) async fn log_out(&self) {
        self.click("#logout").await;
        self.element("#login-email").await;
    }

    /// Opens `path` and logs in on the form it shows.
    /// Sets an input's value as a person would (an `input` event follows), for inputs whose
    /// typing depends on the browser's locale (`datetime-local`).
    pub(crate) async fn set_value(&self, css: &str, value: &str) {
        self.element(css).await;
        self.client
            .execute(
                "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
                 e.dispatchEvent(new Event('input', {bubbles: true}));",
                vec![css.into(), value.into()],
            )
            .await
            .unwrap();
    }

    /// Opens a page of the console in the session already signed in.
    pub(crate) async fn goto(&self, app: &TestApp, path: &str) {
        self.client.goto(&app.url(path)).await.unwrap();
    }

    pub(crate) async fn open_as(&self, app: &TestApp, path: &str, email: &str) {
        self.client.goto(&app.url(path)).await.unwrap();
        self.fill_login(email).await;
    }

    pub(crate) async fn stop(self) {
        // The session ends here; the driver with `self`.
        let _ = self.client.clone().close().await;
    }
}

/// A test that fails before [`Browser::stop`] still ends its chromedriver (and the Chromium
/// it started), so failed runs leave no drivers behind.
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test]
async fn status_page_shows_api_incidents_and_console_updates_reach_it() {
    let app = TestApp::spawn().await;
    let ops = app.provider("nimbus", Role::Operator).await;
    let cat = app.catalogue(&ops).await;
    let incident = app
        .incident(&ops, &cat, "Browser-visible storage outage", "public")
        .await;
    app.incident(&ops, &cat, "Hidden internal matter", "internal")
        .await;
    let browser = Browser::start().await;
    let c = &browser.client;

    // 1. The WASM status page renders the incident created through the API.
    c.goto(&app.url(&format!("/status/{}", ops.slug)))
        .await
        .unwrap();
    browser
        .wait_for_text(".incident-title", "Browser-visible storage outage")
        .await;
    browser
        .wait_for_text("#overall-status", "Partial System Outage")
        .await;
    let page = c.source().await.unwrap();
    assert!(
        !page.contains("Hidden internal matter"),
        "internal incident on the public page"
    );
    assert!(
        c.find(Locator::Css(".uptime-bar")).await.is_ok(),
        "uptime bars are drawn"
    );

    // 2. The console logs in and posts an update.
    c.goto(&app.url("/console")).await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#login-email"))
        .await
        .unwrap()
        .send_keys(&ops.email)
        .await
        .unwrap();
    c.find(Locator::Css("#login-password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("#login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let link = format!(".incident-link[data-id='{}']", incident.id);
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(&link))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.snapshot("console-incident").await;
    let body = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#update-body"))
        .await
        .unwrap();
    body.send_keys("Fix rolled out from the console")
        .await
        .unwrap();
    c.find(Locator::Css("#update-status"))
        .await
        .unwrap()
        .select_by_value("monitoring")
        .await
        .unwrap();
    c.find(Locator::Css("#update-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The API has it (the console really posted)...
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, v) = app
            .get(&format!("/api/v1/incidents/{}", incident.id), &ops)
            .await;
        if v["status"] == "monitoring" {
            assert_eq!(v["updates"][0]["body"], "Fix rolled out from the console");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the console's update never reached the API: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // ...and the public page follows.
    c.goto(&app.url(&format!("/status/{}", ops.slug)))
        .await
        .unwrap();
    browser
        .wait_for_text(".incident-update-body", "Fix rolled out from the console")
        .await;
    browser.snapshot("status-page").await;
    browser.stop().await;
}

impl Browser {
    async fn login(&self, app: &TestApp, email: &str) {
        self.client.goto(&app.url("/console")).await.unwrap();
        self.fill_login(email).await;
    }

    /// Logs in through the form of the page already shown.
    pub(crate) async fn fill_login(&self, email: &str) {
        let c = &self.client;
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#login-email"))
            .await
            .unwrap()
            .send_keys(email)
            .await
            .unwrap();
        c.find(Locator::Css("#login-password"))
            .await
            .unwrap()
            .send_keys(PASSWORD)
            .await
            .unwrap();
        c.find(Locator::Css("#login-submit"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_customer_dashboard_shows_a_new_update_live_in_the_customers_words() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.create::<serde_json::Value>(
        "/api/v1/resource-mappings",
        &w.acme,
        serde_json::json!({"name": "payments-prod", "component_id": w.compute_tokyo.id}),
    )
    .await;
    let inc = app
        .open(
            &w.provider,
            &w.compute_tokyo,
            "Elevated API errors",
            "affected",
            &[],
        )
        .await;
    app.open(
        &w.provider,
        &w.compute_osaka,
        "Osaka only (globex)",
        "affected",
        &[],
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;
    browser.login(&app, &w.acme.email).await;
    // A customer lands on its dashboard: only what touches it, in its own words.
    browser
        .wait_for_text(".dash-incident", "Elevated API errors")
        .await;
    browser
        .wait_for_text(".dash-resources", "payments-prod")
        .await;
    browser.wait_for_text("#live-indicator", "live").await;
    assert!(!c.source().await.unwrap().contains("Osaka only"));
    // Mark the page: a reload would lose the mark.
    c.execute("window.__cirhubMark = 42; return null;", vec![])
        .await
        .unwrap();
    let marker_url = c.current_url().await.unwrap();

    // The provider posts an update and opens a new incident; both appear without reload.
    app.update(
        &w.provider,
        &inc.id,
        "identified",
        "A faulty switch in ap-northeast-1 was found",
    )
    .await;
    browser
        .wait_for_text(
            ".dash-update",
            "A faulty switch in ap-northeast-1 was found",
        )
        .await;
    app.open(
        &w.provider,
        &w.compute_tokyo,
        "Second Tokyo issue",
        "affected",
        &[],
    )
    .await;
    browser
        .wait_for_text(".dash-incident", "Second Tokyo issue")
        .await;
    let mark = c
        .execute("return window.__cirhubMark || null;", vec![])
        .await
        .unwrap();
    assert_eq!(mark, serde_json::json!(42), "the page reloaded");
    assert_eq!(c.current_url().await.unwrap(), marker_url);
    browser.snapshot("customer-dashboard").await;

    // The layout is saved on the server: P1 only hides these P2 incidents, after a reload too.
    c.find(Locator::Css("#layout-min-priority"))
        .await
        .unwrap()
        .select_by_value("P1")
        .await
        .unwrap();
    browser
        .wait_for_text("#dash-empty", "Nothing affects you")
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.get("/api/v1/me/layout", &w.acme).await.1["min_priority"] != "P1" {
        assert!(tokio::time::Instant::now() < deadline, "layout not saved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.refresh().await.unwrap();
    browser
        .wait_for_text("#dash-empty", "Nothing affects you")
        .await;

    // The detail page acknowledges; the provider's receipts show it.
    c.goto(&app.url(&format!("/console/dashboard/{}", inc.id)))
        .await
        .unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#ack-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text("#ack-state", "User admin@acme.test")
        .await;
    browser.snapshot("customer-incident").await;
    let (_, receipts) = app
        .get(
            &format!("/api/v1/incidents/{}/receipts", inc.id),
            &w.provider,
        )
        .await;
    assert_eq!(
        receipts[0]["acknowledgement"]["user_name"], "User admin@acme.test",
        "{receipts}"
    );
    browser.stop().await;
}

#[tokio::test]
async fn a_customer_accepts_an_invitation_and_names_a_resource_in_the_console() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let cat = app.catalogue(&p).await;
    let c = app.customer("initech", Role::Admin).await;
    let rel: serde_json::Value = app
        .create(
            "/api/v1/relationships",
            &p,
            serde_json::json!({"customer": "initech", "service_model": "paas"}),
        )
        .await;
    let browser = Browser::start().await;
    let b = &browser.client;
    browser.login(&app, &c.email).await;
    browser.wait_for_text("#settings-link", "Providers").await;
    b.goto(&app.url("/console/customers")).await.unwrap();
    browser
        .wait_for_text(".relationship-status", "invited")
        .await;
    b.find(Locator::Css(".accept-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text(".relationship-status", "active")
        .await;
    let (_, now) = app
        .get(
            &format!("/api/v1/relationships/{}", rel["id"].as_str().unwrap()),
            &p,
        )
        .await;
    assert_eq!(now["status"], "active");
    // Name a resource through the form; the component list comes from the relationship.
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(&format!(
            "#mapping-component option[value='{}']",
            cat.components[0].id
        )))
        .await
        .unwrap();
    b.find(Locator::Css("#mapping-component"))
        .await
        .unwrap()
        .select_by_value(&cat.components[0].id)
        .await
        .unwrap();
    b.find(Locator::Css("#mapping-name"))
        .await
        .unwrap()
        .send_keys("billing-api")
        .await
        .unwrap();
    b.find(Locator::Css("#mapping-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for_text(".mapping", "billing-api").await;
    browser.snapshot("customer-settings").await;
    let (_, maps) = app.get("/api/v1/resource-mappings", &c).await;
    assert_eq!(maps["items"][0]["name"], "billing-api");
    browser.stop().await;
}
