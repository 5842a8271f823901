//! Every URL of the server, in one table.

pub mod accounts;
pub mod audit;
pub mod catalogue;
pub mod clocks;
pub mod customers;
pub mod escalation;
pub mod frontend;
pub mod imports;
pub mod incidents;
pub mod invitations;
pub mod lookup;
pub mod openapi;
pub mod openapi_public;
pub mod ops;
pub mod public;
pub mod record;
pub mod response_metrics;
pub mod sharing;
pub mod taxii;

use actix_web::web;

/// Registers all routes; the test clock's only on a server started with `CIRHUB_TEST_CLOCK=1`
/// (otherwise its path is unknown, like any other).
pub fn configure(cfg: &mut web::ServiceConfig, test_clock: bool) {
    if test_clock {
        // Before the `/api/v1` scope, whose default service answers every other path in it.
        cfg.route("/api/v1/ops/clock", web::post().to(ops::advance_clock));
    }
    taxii::configure(cfg);
    cfg.route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .route("/api/v1/openapi.json", web::get().to(openapi::document))
        .service(openapi::swagger_ui())
        .service(
            web::scope("/api/v1")
                .route("/auth/login", web::post().to(accounts::login))
                .route("/auth/refresh", web::post().to(accounts::refresh))
                .route("/auth/logout", web::post().to(accounts::logout))
                .route("/me", web::get().to(accounts::me))
                .route("/me", web::patch().to(accounts::patch_me))
                .route("/users", web::get().to(accounts::list_users))
                .route("/invitations", web::get().to(invitations::list))
                .route("/invitations", web::post().to(invitations::create))
                .route("/invitations/{id}", web::delete().to(invitations::revoke))
                .route("/users/{id}", web::get().to(accounts::get_user))
                .route("/users/{id}", web::patch().to(accounts::update_user))
                .route("/users/{id}", web::delete().to(accounts::delete_user))
                .route("/api-tokens", web::get().to(accounts::list_tokens))
                .route("/api-tokens", web::post().to(accounts::create_token))
                .route("/api-tokens/{id}", web::delete().to(accounts::revoke_token))
                .route("/regions", web::get().to(catalogue::list_regions))
                .route("/regions", web::post().to(catalogue::create_region))
                .route("/services", web::get().to(catalogue::list_services))
                .route("/services", web::post().to(catalogue::create_service))
                .route("/component-groups", web::get().to(catalogue::list_groups))
                .route("/component-groups", web::post().to(catalogue::create_group))
                .route("/components", web::get().to(catalogue::list_components))
                .route("/components", web::post().to(catalogue::create_component))
                .route("/components/{id}", web::get().to(catalogue::get_component))
                .route(
                    "/components/{id}",
                    web::patch().to(catalogue::update_component),
                )
                .route("/priority-policy", web::get().to(catalogue::get_policy))
                .route("/priority-policy", web::put().to(catalogue::put_policy))
                .route("/escalation-policy", web::get().to(escalation::get))
                .route("/escalation-policy", web::put().to(escalation::put))
                .route(
                    "/escalation-policy/versions/{version}",
                    web::get().to(escalation::version),
                )
                .route("/escalation-policy/lint", web::post().to(escalation::lint))
                .route(
                    "/escalation-policy/simulate",
                    web::post().to(escalation::simulate),
                )
                .route("/incidents", web::get().to(incidents::list))
                .route("/incidents", web::post().to(incidents::create))
                .route("/incidents/{id}", web::get().to(incidents::get))
                .route("/incidents/{id}", web::patch().to(incidents::patch))
                .route(
                    "/incidents/{id}/updates",
                    web::post().to(incidents::post_update),
                )
                .route(
                    "/maintenances",
                    web::post().to(incidents::create_maintenance),
                )
                .route(
                    "/incidents/{id}/escalation",
                    web::get().to(escalation::escalation),
                )
                .route(
                    "/incidents/{id}/escalation/acknowledge",
                    web::post().to(escalation::acknowledge),
                )
                .route(
                    "/incidents/{id}/escalation/seen",
                    web::post().to(escalation::seen),
                )
                .route(
                    "/incidents/{id}/escalation/unacknowledge",
                    web::post().to(escalation::unacknowledge),
                )
                .route(
                    "/incidents/{id}/escalation/reassign",
                    web::post().to(escalation::reassign),
                )
                .route("/incidents/{id}/record", web::get().to(record::get))
                .route("/incidents/{id}/record", web::put().to(record::put))
                .route("/incidents/{id}/comments", web::get().to(record::comments))
                .route("/incidents/{id}/comments", web::post().to(record::comment))
                .route(
                    "/metrics/response",
                    web::get().to(response_metrics::aggregate),
                )
                .route(
                    "/metrics/response/samples",
                    web::get().to(response_metrics::samples),
                )
                .route(
                    "/incidents/{id}/milestones",
                    web::get().to(response_metrics::edits),
                )
                .route("/clock-templates", web::get().to(clocks::templates))
                .route("/incidents/{id}/clocks", web::get().to(clocks::list))
                .route("/incidents/{id}/clocks", web::post().to(clocks::start))
                .route("/incidents/{id}/decisions", web::post().to(clocks::decide))
                .route(
                    "/incidents/{id}/clocks/{clock}/deadlines/{key}/filing",
                    web::post().to(clocks::file),
                )
                .route(
                    "/incidents/{id}/receipts",
                    web::get().to(customers::receipts),
                )
                .route(
                    "/relationships",
                    web::get().to(customers::list_relationships),
                )
                .route("/relationships", web::post().to(customers::invite))
                .route("/agreements", web::get().to(sharing::list))
                .route("/agreements", web::post().to(sharing::propose))
                .route("/agreements/{id}", web::get().to(sharing::get))
                .route("/agreements/{id}/terms", web::put().to(sharing::amend))
                .route("/agreements/{id}/accept", web::post().to(sharing::accept))
                .route("/agreements/{id}/decline", web::post().to(sharing::decline))
                .route("/agreements/{id}/suspend", web::post().to(sharing::suspend))
                .route("/agreements/{id}/resume", web::post().to(sharing::resume))
                .route("/stix-objects", web::get().to(sharing::list_objects))
                .route("/stix-objects", web::post().to(sharing::put_object))
                .route("/stix-objects/received", web::get().to(sharing::received))
                .route("/stix-objects/export", web::get().to(lookup::export))
                .route("/imports", web::get().to(imports::list))
                .route("/imports", web::post().to(imports::create))
                .route("/imports/{id}", web::get().to(imports::get))
                .route("/lookup", web::get().to(lookup::one))
                .route("/lookup", web::post().to(lookup::batch))
                .route("/stix-objects/{key}/sightings", web::get().to(lookup::list))
                .route(
                    "/stix-objects/{key}/sightings",
                    web::post().to(lookup::report),
                )
                .route("/stix-objects/{key}", web::get().to(sharing::get_object))
                .route(
                    "/stix-objects/{key}/receipts",
                    web::get().to(sharing::object_receipts),
                )
                .route(
                    "/stix-objects/{key}/versions",
                    web::get().to(sharing::object_versions),
                )
                .route(
                    "/stix-objects/{key}/shares",
                    web::post().to(sharing::share_object),
                )
                .route(
                    "/stix-objects/{key}/shares/{agreement_id}",
                    web::delete().to(sharing::unshare_object),
                )
                .route(
                    "/stix-objects/{key}/onward",
                    web::post().to(sharing::pass_on_object),
                )
                .route(
                    "/stix-objects/{key}/onward/{agreement_id}",
                    web::delete().to(sharing::stop_passing_on),
                )
                .route(
                    "/agreements/{id}/terminate",
                    web::post().to(sharing::terminate),
                )
                .route(
                    "/relationships/{id}",
                    web::get().to(customers::get_relationship),
                )
                .route("/relationships/{id}", web::delete().to(customers::end))
                .route(
                    "/relationships/{id}/accept",
                    web::post().to(customers::accept),
                )
                .route(
                    "/relationships/{id}/scopes",
                    web::put().to(customers::set_scopes),
                )
                .route(
                    "/dashboard/incidents",
                    web::get().to(customers::dashboard_list),
                )
                .route(
                    "/dashboard/incidents/{id}",
                    web::get().to(customers::dashboard_get),
                )
                .route(
                    "/dashboard/incidents/{id}/ack",
                    web::post().to(customers::acknowledge),
                )
                .route(
                    "/dashboard/incidents/{id}/notes",
                    web::post().to(customers::add_note),
                )
                .route(
                    "/dashboard/components",
                    web::get().to(customers::dashboard_components),
                )
                .route(
                    "/resource-mappings",
                    web::get().to(customers::list_mappings),
                )
                .route(
                    "/resource-mappings",
                    web::post().to(customers::create_mapping),
                )
                .route(
                    "/resource-mappings/{id}",
                    web::delete().to(customers::delete_mapping),
                )
                .route("/me/layout", web::get().to(customers::get_layout))
                .route("/me/layout", web::put().to(customers::put_layout))
                .route(
                    "/subscriptions",
                    web::get().to(customers::list_subscriptions),
                )
                .route(
                    "/subscriptions",
                    web::post().to(customers::create_subscription),
                )
                .route(
                    "/subscriptions/{id}",
                    web::get().to(customers::get_subscription),
                )
                .route(
                    "/subscriptions/{id}",
                    web::put().to(customers::replace_subscription),
                )
                .route(
                    "/subscriptions/{id}",
                    web::delete().to(customers::delete_subscription),
                )
                .route("/feed-tokens", web::get().to(customers::list_feed_tokens))
                .route("/feed-tokens", web::post().to(customers::create_feed_token))
                .route(
                    "/feed-tokens/{id}",
                    web::delete().to(customers::revoke_feed_token),
                )
                .route("/stream", web::get().to(crate::stream::ws::stream))
                .route("/audit", web::get().to(audit::list))
                .route("/audit/verify", web::get().to(audit::verify))
                .route("/audit/disclosures", web::get().to(audit::disclosures))
                .default_service(web::to(ops::not_found)),
        )
        .route(
            "/status/{slug}/api/v2/{doc:.*}",
            web::get().to(public::statuspage),
        )
        .route("/feeds/{secret}/{doc:.*}", web::get().to(public::feed))
        .route(
            "/unsubscribe/{token}",
            web::get().to(customers::unsubscribe_page),
        )
        .route(
            "/unsubscribe/{token}",
            web::post().to(customers::unsubscribe),
        )
        .route("/ack/{token}", web::get().to(escalation::ack_page))
        .route("/ack/{token}", web::post().to(escalation::ack))
        .route("/invitations/{token}", web::get().to(invitations::form))
        .route("/invitations/{token}", web::post().to(invitations::accept))
        .route("/status/{slug}/uptime.json", web::get().to(public::uptime))
        .route("/status/{slug}/history.atom", web::get().to(public::atom))
        .route("/status/{slug}/history.rss", web::get().to(public::rss))
        .route("/status/{slug}", web::get().to(frontend::index))
        .route("/console", web::get().to(frontend::index))
        .route("/console/{tail:.*}", web::get().to(frontend::index))
        .route("/", web::get().to(frontend::index))
        .route("/style.css", web::get().to(frontend::asset))
        .route("/boot.js", web::get().to(frontend::asset))
        .service(
            // The wasm bundle is large and static: compress it for browsers.
            web::scope("/pkg")
                .wrap(actix_web::middleware::Compress::default())
                .route("/{file}", web::get().to(frontend::asset)),
        );
}

#[cfg(test)]
mod tests {
    /// `(method, path, handler)` of every `.route(...)` in the table above, with the
    /// `/api/v1` scope's prefix applied. Read from this file's source, so a route added to
    /// the table is seen without anyone updating a list.
    fn routes() -> Vec<(String, String, String)> {
        let source = include_str!("mod.rs");
        let table = &source[..source.find("#[cfg(test)]").expect("test module")];
        let scope = table.find("web::scope(\"/api/v1\")").expect("api scope");
        let scope_end = scope + table[scope..].find(".default_service").expect("scope end");
        let quoted = |s: &str| -> (String, usize) {
            let start = s.find('"').expect("quote") + 1;
            let len = s[start..].find('"').expect("closing quote");
            (s[start..start + len].to_owned(), start + len + 1)
        };
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(found) = table[at..].find(".route(") {
            let start = at + found;
            let (path, used) = quoted(&table[start..]);
            let rest = &table[start + used..];
            let method = rest[rest.find("web::").expect("method") + 5..]
                .split('(')
                .next()
                .unwrap_or_default()
                .to_owned();
            let handler = rest[rest.find(".to(").expect("handler") + 4..]
                .split(')')
                .next()
                .unwrap_or_default()
                .to_owned();
            let prefix = if start > scope && start < scope_end {
                "/api/v1"
            } else {
                ""
            };
            out.push((method, format!("{prefix}{path}"), handler));
            at = start + used;
        }
        out
    }

    #[test]
    fn every_route_is_described_in_the_openapi_document() {
        let doc = serde_json::to_value(&*super::openapi::DOCUMENT).expect("document");
        let paths = doc["paths"].as_object().expect("paths");
        let table = routes();
        assert!(table.len() > 60, "the route table was not read: {table:?}");
        for (method, path, handler) in table {
            // The web UI's pages and assets are not API operations.
            if handler.starts_with("frontend::") {
                continue;
            }
            let described = match path.split_once(":.*}") {
                // `{doc:.*}` serves several documents: each must be described.
                Some(_) => {
                    let prefix = &path[..path.rfind('{').expect("brace")];
                    paths
                        .iter()
                        .any(|(p, item)| p.starts_with(prefix) && item.get(&method).is_some())
                }
                None => paths.get(&path).and_then(|i| i.get(&method)).is_some(),
            };
            assert!(
                described,
                "{method} {path} ({handler}) is missing from the OpenAPI document"
            );
        }
    }
}
