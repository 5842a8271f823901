//! Indicator exchange in headless Chromium: a customer's admin proposes a sharing agreement
//! on /console/agreements (an unknown slug first, refused next to its field), the provider's
//! admin accepts it there; two indicators the provider shares under it through the API show
//! on the customer's /console/indicators with their TLP 2.0 badges in their colours, and one
//! it keeps to itself does not; the detail page shows the STIX JSON and reports a sighting
//! back; the lookup finds a defanged value; a CSV uploaded on /console/import runs to its
//! counts and names the refused record's line (the upload's bytes shown as they go). On an object's detail page the owner shares
//! it under an agreement, and a recipient passes one on under its own, sees why another
//! agreement cannot take it, and stops passing it on.
//!
//! Needs `frontend/dist` (scripts/build-frontend.sh), Chromium and chromedriver.

use crate::browser::Browser;
use crate::harness::*;
use crate::onward::agreed_titled;
use cirhub_shared::sharing::Tlp;
use cirhub_shared::Role;
use fantoccini::Locator;
use serde_json::{json, Value};

/// Four records; the third (line 4 with the header) is refused: not an MD5 hash.
const CSV: &str = "type,value,tlp,category,comment
ipv4,198.51.100.23,amber,,scanner
,bad[.]example.org,green,,phishing domain
md5,not-a-hash,,,
url,hxxp://dropper.example.net/x,amber,,
";

/// Installed before the upload: every text of the upload's progress, and every state and
/// progress text of the import, that the page shows, in order.
const WATCH_IMPORT: &str = r#"
window.__cirhubImport = [];
window.__cirhubUpload = [];
new MutationObserver(() => {
  const sending = document.querySelector('#import-upload-text');
  const sent = window.__cirhubUpload;
  if (sending && sent[sent.length - 1] !== sending.textContent) sent.push(sending.textContent);
  const state = document.querySelector('#import-state');
  const progress = document.querySelector('#import-progress-text');
  if (!state || !progress) return;
  const now = state.textContent + '|' + progress.textContent;
  const seen = window.__cirhubImport;
  if (seen[seen.length - 1] !== now) seen.push(now);
}).observe(document.body, { subtree: true, childList: true, characterData: true });
return null;
"#;

fn indicator(tlp: Tlp, ip: &str) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1",
        "id": format!("indicator--{}", uuid::Uuid::new_v4()),
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "name": format!("C2 server {ip}"), "indicator_types": ["malicious-activity"],
        "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
        "valid_from": "2026-12-01T10:00:00Z", "confidence": 80,
        "object_marking_refs": [tlp.marking_definition_id()]
    })
}

impl Browser {
    /// The badge in `row`: its text, colour and background.
    async fn badge(&self, row: &str) -> (String, String, String) {
        let b = self.element(&format!("{row} .tlp")).await;
        (
            b.text().await.unwrap(),
            b.css_value("color").await.unwrap(),
            b.css_value("background-color").await.unwrap(),
        )
    }
}

#[tokio::test]
async fn agreements_indicators_lookup_and_import_work_in_the_console() {
    let app = TestApp::spawn().await;
    let p = app.provider("nimbus", Role::Admin).await;
    let c = app.customer("acme", Role::Admin).await;
    let browser = Browser::start().await;
    let b = &browser;

    // 1. The customer's admin proposes; an unknown slug is named next to its field.
    b.open_as(&app, "/console/agreements", &c.email).await;
    b.wait_for_text("#agreements-empty", "No agreement yet")
        .await;
    b.type_into("#agreement-party", "no-such-org").await;
    b.type_into("#agreement-title", "Nimbus indicators").await;
    b.element("#agreement-tlp")
        .await
        .select_by_value("amber")
        .await
        .unwrap();
    b.click(".agreement-category[value='sightings']").await;
    b.type_into("#agreement-retention", "30").await;
    b.type_into("#agreement-purpose", "Detect attacks on our tenancy")
        .await;
    b.click("#agreement-submit").await;
    b.wait_for_text(
        ".field-error[data-field='parties[1].organisation']",
        "no organisation has this slug",
    )
    .await;
    assert_eq!(app.get("/api/v1/agreements", &c).await.1["total"], 0);
    b.type_into("#agreement-party", "nimbus").await;
    b.click("#agreement-submit").await;
    b.wait_for_text(".agreement .agreement-state", "proposed")
        .await;
    b.wait_for_text(".agreement .agreement-title", "Nimbus indicators")
        .await;
    let (_, list) = app.get("/api/v1/agreements", &c).await;
    assert_eq!(list["total"], 1, "{list}");
    let agreement = list["items"][0].clone();
    let id = agreement["id"].as_str().unwrap().to_string();
    let terms = &agreement["pending"];
    assert_eq!(terms["categories"], json!(["indicators", "sightings"]));
    assert_eq!(
        (&terms["tlp_ceiling"], &terms["retention_days"]),
        (&json!("amber"), &json!(30))
    );
    assert_eq!(terms["purpose"], "Detect attacks on our tenancy");
    let roles: Vec<(String, String)> = terms["parties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["organisation_slug"].as_str().unwrap().into(),
                x["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        roles.contains(&("acme".into(), "customer".into()))
            && roles.contains(&("nimbus".into(), "provider".into())),
        "{roles:?}"
    );
    assert!(
        b.client
            .find_all(Locator::Css(".agreement-accept"))
            .await
            .unwrap()
            .is_empty(),
        "the proposer accepted by proposing"
    );
    b.snapshot("agreements-proposed").await;

    // 2. The provider's admin accepts it in the browser.
    b.log_out().await;
    b.open_as(&app, "/console/agreements", &p.email).await;
    let row = format!(".agreement[data-id='{id}']");
    b.wait_for_text(&format!("{row} .agreement-accept"), "Accept version 1")
        .await;
    b.click(&format!("{row} .agreement-accept")).await;
    b.wait_for_text(&format!("{row} .agreement-state"), "active")
        .await;
    assert_eq!(
        app.get(&format!("/api/v1/agreements/{id}"), &p).await.1["state"],
        "active"
    );
    b.snapshot("agreements-active").await;

    // 3. The provider shares two indicators under it through the API and keeps a third.
    let amber = indicator(Tlp::Amber, "203.0.113.7");
    let mut keys = Vec::new();
    for (object, under) in [
        (amber.clone(), json!([id])),
        (indicator(Tlp::Green, "192.0.2.55"), json!([id])),
        (indicator(Tlp::Amber, "198.51.100.99"), json!([])),
    ] {
        let o: Value = app
            .create(
                "/api/v1/stix-objects",
                &p,
                json!({"object": object, "share_under": under}),
            )
            .await;
        keys.push(o["key"].as_str().unwrap().to_string());
    }

    // 4. The customer sees both, badged in TLP 2.0 colours on black; not the third.
    b.log_out().await;
    b.open_as(&app, "/console/indicators", &c.email).await;
    let amber_row = format!(".indicator-row[data-key='{}']", keys[0]);
    let green_row = format!(".indicator-row[data-key='{}']", keys[1]);
    b.wait_for_text(
        &format!("{amber_row} .indicator-value"),
        "[ipv4-addr:value = '203.0.113.7']",
    )
    .await;
    b.wait_for_text(
        &format!("{green_row} .indicator-value"),
        "[ipv4-addr:value = '192.0.2.55']",
    )
    .await;
    b.wait_for_text(&format!("{amber_row} .indicator-source"), "nimbus")
        .await;
    let black = "rgba(0, 0, 0, 1)".to_string();
    assert_eq!(
        b.badge(&amber_row).await,
        (
            "TLP:AMBER".to_string(),
            "rgba(255, 192, 0, 1)".to_string(),
            black.clone()
        )
    );
    assert_eq!(
        b.badge(&green_row).await,
        (
            "TLP:GREEN".to_string(),
            "rgba(51, 255, 0, 1)".to_string(),
            black
        )
    );
    b.wait_for_text("#indicators-page", "2 objects").await;
    assert!(!b.client.source().await.unwrap().contains("198.51.100.99"));
    b.snapshot("indicators").await;

    // 5. The detail page: the STIX JSON, and a sighting reported back to the owner.
    b.click(&format!("{amber_row} .indicator-link")).await;
    b.wait_for_text("#stix-json", amber["id"].as_str().unwrap())
        .await;
    b.wait_for_text(".version-row", "2026-12-01T10:00:00.000Z")
        .await;
    b.type_into("#sighting-count", "3").await;
    b.type_into("#sighting-note", "Seen at our edge").await;
    b.click("#sighting-submit").await;
    b.wait_for_text(".sighting-row", "Seen at our edge").await;
    b.snapshot("indicator").await;
    let (_, seen) = app
        .get(&format!("/api/v1/stix-objects/{}/sightings", keys[0]), &p)
        .await;
    assert_eq!(
        (&seen[0]["count"], &seen[0]["reporter"]),
        (&json!(3), &json!("acme")),
        "{seen}"
    );

    // 6. The lookup reads a defanged value and says why another cannot be read.
    b.click("#lookup-link").await;
    b.type_into("#lookup-values", "203.0.113[.]7\nnot a value")
        .await;
    b.click("#lookup-submit").await;
    let found = ".lookup-answer[data-value='203.0.113[.]7']";
    b.wait_for_text(
        &format!("{found} .lookup-kind"),
        "read as ipv4: 203.0.113.7",
    )
    .await;
    b.wait_for_text(&format!("{found} .lookup-source"), "nimbus")
        .await;
    b.wait_for_text(&format!("{found} .lookup-match .tlp"), "TLP:AMBER")
        .await;
    b.element(".lookup-answer[data-value='not a value'] .lookup-error")
        .await;
    b.snapshot("lookup").await;

    // 7. A CSV uploaded in the browser, shared under the agreement: progress, then counts
    // and the refused record's line.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("iocs.csv");
    std::fs::write(&file, CSV).unwrap();
    b.click("#import-link").await;
    b.element("#import-file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    b.element(&format!("#import-agreement option[value='{id}']"))
        .await;
    b.element("#import-agreement")
        .await
        .select_by_value(&id)
        .await
        .unwrap();
    b.client.execute(WATCH_IMPORT, vec![]).await.unwrap();
    b.click("#import-submit").await;
    b.wait_for_text("#import-state", "done").await;
    let seen = b
        .client
        .execute("return window.__cirhubImport;", vec![])
        .await
        .unwrap();
    let size = CSV.len();
    let sent = b
        .client
        .execute("return window.__cirhubUpload;", vec![])
        .await
        .unwrap();
    assert_eq!(
        sent.as_array().and_then(|s| s.last()),
        Some(&json!(format!(
            "Sending the file: {size} of {size} bytes (100%)"
        ))),
        "the upload's own progress, to its last byte: {sent}"
    );
    assert_eq!(
        seen[0],
        json!(format!("queued|0 of {size} bytes (0%)")),
        "the page shows the import queued at once: {seen}"
    );
    assert_eq!(
        seen.as_array().unwrap().last().unwrap(),
        &json!(format!("done|{size} of {size} bytes (100%)")),
        "and follows it to the end: {seen}"
    );
    for (count, n) in [("read", "4"), ("created", "3"), ("rejected", "1")] {
        b.wait_for_text(&format!("#import-count-{count}"), n).await;
    }
    b.wait_for_text(".import-error-position", "line 4").await;
    b.wait_for_text(".import-error", "hash").await;
    let bar = b
        .client
        .execute(
            "const b = document.querySelector('#import-progress'); return [b.value, b.max];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bar, json!([CSV.len(), CSV.len()]), "the bar is full");
    b.wait_for_text(".import-row", "iocs.csv").await;
    b.snapshot("import").await;
    let (_, imports) = app.get("/api/v1/imports", &c).await;
    assert_eq!(imports["items"][0]["share_under"], json!([id]), "{imports}");
    // Shared under the agreement: the provider finds the customer's value.
    let (_, answers) = app
        .post("/api/v1/lookup", &p, json!({"values": ["198.51.100.23"]}))
        .await;
    assert_eq!(answers[0]["matches"][0]["source"], "acme", "{answers}");
    browser.stop().await;
}

impl Browser {
    /// Chooses `agreement` in the detail page's agreement list once it is offered, and
    /// submits.
    async fn spread_under(&self, agreement: &str) {
        self.element(&format!("#spread-agreement option[value='{agreement}']"))
            .await;
        self.element("#spread-agreement")
            .await
            .select_by_value(agreement)
            .await
            .unwrap();
        self.click("#spread-submit").await;
    }
}

/// The owner shares an object from its detail page; a recipient passes one on under an
/// agreement of its own there, is told why one agreement cannot take it, and stops again:
/// each step reaches (or stops reaching) the third organisation on its next request.
#[tokio::test]
async fn the_indicator_page_shares_passes_on_and_stops() {
    let app = TestApp::spawn().await;
    let a = app.provider("nimbus", Role::Admin).await;
    let msp = app.org("msp", true, true);
    app.user(&msp, "admin@msp.test", Role::Admin);
    let b = app.login("admin@msp.test").await;
    let c = app.customer("client", Role::Admin).await;
    let d = app.customer("peer", Role::Admin).await;
    let ab = agreed_titled(
        &app,
        (&a, &b),
        ("Nimbus to MSP", "amber+strict"),
        ["provider", "customer"],
        "clients",
    )
    .await;
    let bc = agreed_titled(
        &app,
        (&b, &c),
        ("MSP to Client", "amber+strict"),
        ["provider", "customer"],
        "none",
    )
    .await;
    let bd = agreed_titled(
        &app,
        (&b, &d),
        ("MSP and Peer", "amber+strict"),
        ["member", "member"],
        "none",
    )
    .await;
    let key = |v: Value| v["key"].as_str().unwrap().to_string();
    let kept = key(app
        .create(
            "/api/v1/stix-objects",
            &a,
            json!({"object": indicator(Tlp::Green, "192.0.2.80"), "share_under": []}),
        )
        .await);
    let amber = key(app
        .create(
            "/api/v1/stix-objects",
            &a,
            json!({"object": indicator(Tlp::Amber, "192.0.2.81"), "share_under": [ab]}),
        )
        .await);
    let sees = |k: &str| format!("/api/v1/stix-objects/{k}");
    let browser = Browser::start().await;
    let b_ = &browser;

    // 1. The owner shares what it kept to itself under an agreement in force.
    assert_eq!(app.get(&sees(&kept), &b).await.0, 404);
    b_.open_as(&app, &format!("/console/indicators/{kept}"), &a.email)
        .await;
    b_.wait_for_text("#spread-none", "None").await;
    b_.spread_under(&ab).await;
    b_.wait_for_text(".spread-row", "Nimbus to MSP").await;
    assert_eq!(
        app.get(&sees(&kept), &b).await.0,
        200,
        "shared from the page"
    );

    // 2. The recipient: a peer agreement cannot take AMBER (clients only); the reason shows
    // next to the list, and nothing reaches the peer.
    b_.log_out().await;
    b_.open_as(&app, &format!("/console/indicators/{amber}"), &b.email)
        .await;
    b_.wait_for_text("main h2", "Passed on under").await;
    let (s, refused) = app
        .post(
            &format!("/api/v1/stix-objects/{amber}/onward"),
            &b,
            json!({"agreement_id": bd}),
        )
        .await;
    assert_eq!(s, 422, "{refused}");
    let why = refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    b_.spread_under(&bd).await;
    b_.wait_for_text(".field-error[data-field='agreement_id']", &why)
        .await;
    assert_eq!(app.get(&sees(&amber), &d).await.0, 404);
    b_.snapshot("indicator-onward-refused").await;

    // 3. Passed on to its client: the client reads it at once; stopped: the next read is a
    // 404 and the page says it goes nowhere.
    assert_eq!(app.get(&sees(&amber), &c).await.0, 404);
    b_.spread_under(&bc).await;
    b_.wait_for_text(".spread-row", "MSP to Client").await;
    assert_eq!(
        app.get(&sees(&amber), &c).await.0,
        200,
        "passed on from the page"
    );
    let (_, seen) = app.get(&sees(&amber), &b).await;
    assert_eq!(seen["passed_on_under"], json!([bc]), "{seen}");
    b_.snapshot("indicator-onward").await;
    b_.click(".spread-stop").await;
    b_.wait_for_text("#spread-none", "None").await;
    assert_eq!(
        app.get(&sees(&amber), &c).await.0,
        404,
        "stopped from the page"
    );
    browser.stop().await;
}
