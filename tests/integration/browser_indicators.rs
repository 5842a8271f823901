//! A new indicator from the console's form (/console/indicators, "New indicator"): a value
//! the hub cannot read is refused next to its field and nothing is stored; then a TLP:RED
//! indicator shared under an agreement, naming one person of the partner, opens its own page
//! and reaches that person only.
//!
//! Needs `frontend/dist` (scripts/build-frontend.sh), Chromium and chromedriver.

use crate::browser::Browser;
use crate::harness::*;
use crate::onward::agreed_titled;
use cirhub_shared::Role;
use serde_json::json;

#[tokio::test]
async fn the_console_adds_a_red_indicator_that_reaches_the_person_it_names() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    app.user(&c.org_id, "bo@acme.test", Role::Analyst);
    let bo = app.login("bo@acme.test").await;
    let feed = agreed_titled(
        &app,
        (&p, &c),
        ("Nimbus to Acme", "red"),
        ["provider", "customer"],
        "none",
    )
    .await;
    let browser = Browser::start().await;
    let b = &browser;
    b.open_as(&app, "/console/indicators", &p.email).await;
    b.click("#new-indicator summary").await;
    b.element(&format!(".new-share[value='{feed}']")).await;

    // 1. An address that is not one: refused, said where, nothing stored.
    b.element("#new-kind")
        .await
        .select_by_value("ipv4")
        .await
        .unwrap();
    b.type_into("#new-value", "192.0.2.300").await;
    b.type_into("#new-name", "Exfiltration host").await;
    b.click("#new-submit").await;
    b.wait_for_text("#new-indicator .field-error, #new-error", "192.0.2.300")
        .await;
    assert_eq!(app.get("/api/v1/stix-objects", &p).await.1["total"], 0);

    // 2. TLP:RED, shared under the agreement, naming Ana (acme's admin) only.
    b.type_into("#new-value", "192.0.2.30").await;
    b.type_into("#new-confidence", "85").await;
    b.element("#new-tlp")
        .await
        .select_by_value("red")
        .await
        .unwrap();
    b.type_into("#new-named", &c.email).await;
    b.click(&format!(".new-share[value='{feed}']")).await;
    b.click("#new-submit").await;
    b.wait_for_text("#indicator-summary", "[ipv4-addr:value = '192.0.2.30']")
        .await;
    b.wait_for_text(".tlp", "TLP:RED").await;
    b.snapshot("indicator-new-red").await;
    let (_, own) = app.get("/api/v1/stix-objects", &p).await;
    assert_eq!(own["total"], 1, "{own}");
    let o = &own["items"][0];
    assert_eq!(
        (&o["tlp"], &o["agreements"], &o["named_recipients"]),
        (&json!("red"), &json!([feed]), &json!([c.email])),
        "{o}"
    );
    assert_eq!(
        (&o["object"]["name"], &o["object"]["confidence"]),
        (&json!("Exfiltration host"), &json!(85)),
        "{o}"
    );
    let key = o["key"].as_str().unwrap();
    let path = format!("/api/v1/stix-objects/{key}");
    assert_eq!(app.get(&path, &c).await.0, 200, "the person it names");
    assert_eq!(
        app.get(&path, &bo).await.0,
        404,
        "a colleague it does not name"
    );
    browser.stop().await;
}
