//! Personal feeds: Atom and RSS that name their own URL and ids of their own, served from a
//! cache that follows every change touching them.

use crate::harness::*;
use cirhub_shared::{api, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Every text between `<tag>` and `</tag>`.
fn all_between(doc: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    doc.split(&open)
        .skip(1)
        .filter_map(|rest| {
            let body = rest.split_once('>')?.1;
            Some(body.split_once(&close)?.0.to_string())
        })
        .collect()
}

#[tokio::test]
async fn personal_feeds_name_their_own_url_and_have_ids_of_their_own() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.open(&w.provider, &w.compute_tokyo, "Tokyo public", "public", &[])
        .await;
    let created: Value = app
        .create("/api/v1/feed-tokens", &w.acme, json!({"name": "reader"}))
        .await;
    let atom_url = created["atom_url"].as_str().unwrap().to_string();
    let base = atom_url.trim_end_matches("/history.atom").to_string();
    let local = |u: &str| u.trim_start_matches(&app.base).to_string();
    let (s, atom) = app.public(&local(&atom_url)).await;
    assert_eq!(s, StatusCode::OK, "{atom}");
    assert!(
        atom.contains(&format!(
            "<link rel=\"self\" type=\"application/atom+xml\" href=\"{atom_url}\"/>"
        )),
        "{atom}"
    );
    let (s, rss) = app.public(&local(&format!("{base}/history.rss"))).await;
    assert_eq!(s, StatusCode::OK, "{rss}");
    assert!(
        rss.contains(&format!(
            "<atom:link href=\"{base}/history.rss\" rel=\"self\""
        )),
        "{rss}"
    );
    // The same public incident is an entry of both feeds, under different ids.
    let (_, public_atom) = app.public("/status/nimbus/history.atom").await;
    let (_, public_rss) = app.public("/status/nimbus/history.rss").await;
    assert!(atom.contains("Tokyo public") && public_atom.contains("Tokyo public"));
    let public_ids = all_between(&public_atom, "id");
    let ids = all_between(&atom, "id");
    assert_eq!(ids.len(), 2, "{ids:?}");
    for id in &ids {
        assert!(!public_ids.contains(id), "{id} is also a public feed's id");
        assert!(
            !id.contains("/status/"),
            "{id} looks like a status page's id"
        );
    }
    let public_guids = all_between(&public_rss, "guid");
    for guid in all_between(&rss, "guid") {
        assert!(
            !public_guids.contains(&guid),
            "{guid} is also a public guid"
        );
    }
}

#[tokio::test]
async fn personal_feeds_are_served_from_a_cache_that_follows_changes() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.open(&w.provider, &w.compute_tokyo, "Tokyo one", "affected", &[])
        .await;
    let (api, id) = feed_api(&app, &w.acme).await;
    let summary = format!("{api}summary.json");
    let (s, first) = app.public(&summary).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert!(first.contains("Tokyo one"));

    // A long write holds the writer; a feed answered before does not wait for it.
    let db = app.state.db.clone();
    let holder = std::thread::spawn(move || {
        db.write_blocking(|c| {
            cirhub::audit::lock_chain(c)?;
            std::thread::sleep(Duration::from_secs(3));
            Ok(())
        })
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, again) = tokio::time::timeout(Duration::from_secs(2), app.public(&summary))
        .await
        .expect("a feed answered before must not queue behind a write");
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again, first);
    holder.join().unwrap().unwrap();

    // Every change that touches the feed shows at once: an incident, a resource name.
    let two = app
        .open(&w.provider, &w.compute_tokyo, "Tokyo two", "affected", &[])
        .await;
    let (_, after) = app.public(&summary).await;
    assert!(after.contains("Tokyo two"), "{after}");
    app.create::<Value>(
        "/api/v1/resource-mappings",
        &w.acme,
        json!({"name": "payments-prod", "component_id": w.compute_tokyo.id}),
    )
    .await;
    let (_, named) = app.public(&format!("{api}components.json")).await;
    assert!(named.contains("payments-prod"), "{named}");
    // What left was recorded as disclosed to the token.
    let (_, audit) = app
        .get("/api/v1/audit/disclosures?per_page=100", &w.acme)
        .await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["channel"] == "feed"
                && e["object_id"] == two.id.as_str()
                && e["actor_type"] == "feed_token"),
        "{audit}"
    );
    // Revocation still takes effect at once.
    revoke_then_refused(&app, &w.acme, &id, &summary).await;
}

/// Revokes the feed token `id` of `customer`; its `summary` is refused at once.
async fn revoke_then_refused(app: &TestApp, customer: &Session, id: &str, summary: &str) {
    assert_eq!(
        app.delete(&format!("/api/v1/feed-tokens/{id}"), customer)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.public(summary).await.0, StatusCode::UNAUTHORIZED);
}

/// How many personal feed documents were served `served` (hit, rendered, shared).
fn served(app: &TestApp, served: &str) -> u64 {
    app.state
        .metrics
        .personal_feeds
        .with_label_values(&[served])
        .get()
}

/// The path of a new personal feed's Statuspage API for `customer`, and the token's id.
async fn feed_api(app: &TestApp, customer: &Session) -> (String, String) {
    let created: Value = app
        .create("/api/v1/feed-tokens", customer, json!({"name": "widget"}))
        .await;
    let api = created["statuspage_url"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_string();
    let id = created["token"]["id"].as_str().unwrap().to_string();
    (api, id)
}

/// The path of a new personal feed's `summary.json` for `customer`, and the token's id.
async fn feed_summary(app: &TestApp, customer: &Session) -> (String, String) {
    let (api, id) = feed_api(app, customer).await;
    (format!("{api}summary.json"), id)
}

#[tokio::test]
async fn a_cached_personal_feed_goes_only_with_changes_that_touch_it() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let other = app.provider("elsewhere", Role::Admin).await;
    let (summary, _) = feed_summary(&app, &w.acme).await;
    let (s, first) = app.public(&summary).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let rendered = served(&app, "rendered");
    let hits = served(&app, "hit");
    assert_eq!(app.public(&summary).await.1, first);
    assert_eq!(served(&app, "hit"), hits + 1, "a second read is a hit");

    // A provider the customer has no relationship with changes: the feed stays cached.
    let (other, far) = other_component(&app, &other).await;
    app.open(&other, &far, "Far away", "public", &[]).await;
    assert_eq!(app.public(&summary).await.1, first);
    assert_eq!(
        served(&app, "rendered"),
        rendered,
        "an unrelated change re-rendered"
    );
    assert_eq!(served(&app, "hit"), hits + 2);

    // Another customer's change does not touch it either.
    app.create::<Value>(
        "/api/v1/resource-mappings",
        &w.globex,
        json!({"name": "globex-db", "component_id": w.compute_osaka.id}),
    )
    .await;
    assert_eq!(app.public(&summary).await.1, first);
    assert_eq!(
        served(&app, "rendered"),
        rendered,
        "another customer's change re-rendered"
    );

    // Its provider's change does, and concurrent misses render it once.
    app.open(
        &w.provider,
        &w.compute_tokyo,
        "Tokyo three",
        "affected",
        &[],
    )
    .await;
    let reads = (0..16).map(|_| app.public(&summary));
    let docs = futures_util::future::join_all(reads).await;
    for (s, doc) in &docs {
        assert_eq!(*s, StatusCode::OK);
        assert!(doc.contains("Tokyo three"), "{doc}");
    }
    assert_eq!(
        served(&app, "rendered"),
        rendered + 1,
        "16 concurrent misses of one document rendered it more than once"
    );
}

/// A component of a provider with no customers, for changes nobody else depends on.
async fn other_component(app: &TestApp, p: &Session) -> (Session, api::Component) {
    let region: api::Region = app
        .create(
            "/api/v1/regions",
            p,
            json!({"code": "eu-far-1", "name": "Far"}),
        )
        .await;
    let service: api::Service = app
        .create(
            "/api/v1/services",
            p,
            json!({"name": "Far", "description": "far"}),
        )
        .await;
    let c: api::Component = app
        .create(
            "/api/v1/components",
            p,
            json!({"name": "Far", "service_id": service.id, "region_id": region.id}),
        )
        .await;
    (p.clone(), c)
}

#[tokio::test]
async fn a_cached_personal_feed_is_not_served_after_revocation_or_the_relationship_end() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    app.open(&w.provider, &w.compute_tokyo, "Tokyo one", "affected", &[])
        .await;
    let (summary, token) = feed_summary(&app, &w.acme).await;
    let (s, cached) = app.public(&summary).await;
    assert_eq!(s, StatusCode::OK);
    assert!(cached.contains("Tokyo one"));
    assert_eq!(app.public(&summary).await.1, cached);
    let hits = served(&app, "hit");
    assert!(hits > 0);

    // The relationship ends: the provider's records leave the feed at once.
    let (_, rels) = app.get("/api/v1/relationships", &w.acme).await;
    let rel = rels["items"][0]["id"].as_str().unwrap().to_string();
    let (s, body) = app
        .delete(&format!("/api/v1/relationships/{rel}"), &w.provider)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, after) = app.public(&summary).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!after.contains("Tokyo one"), "{after}");
    assert_ne!(after, cached);

    // Cached again, then revoked: refused at once, not served from the cache.
    assert_eq!(app.public(&summary).await.1, after);
    revoke_then_refused(&app, &w.acme, &token, &summary).await;
}
