//! The OpenAPI 3 document (generated from the handlers' annotations) and its reference page.

use super::openapi_public::PublicDocs;
use super::{
    accounts, audit, catalogue, clocks, customers, escalation, imports, incidents, invitations,
    lookup, record, response_metrics, sharing,
};
use actix_web::HttpResponse;
use serde_json::Value;
use std::sync::LazyLock;
use utoipa::openapi::link::Link;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or API token")
                    .build(),
            ),
        );
    }
}

/// OpenAPI links from a creating `POST` on `{path}` to every operation on `{path}/{id}…`, so
/// that clients and stateful fuzzers follow the new object's id instead of guessing one.
struct ItemLinks;

/// Where the id of the object a response describes sits: `/id`, or `/<field>/id` for a
/// wrapper such as `{ "token": {...}, "secret": ... }`.
fn id_pointer(doc: &Value, schema: &Value) -> Option<String> {
    let schema = resolve(doc, schema);
    let props = schema.get("properties")?.as_object()?;
    if props.contains_key("id") {
        return Some("/id".into());
    }
    props.iter().find_map(|(name, s)| {
        let inner = resolve(doc, s);
        let has_id = inner.get("properties")?.as_object()?.contains_key("id");
        has_id.then(|| format!("/{name}/id"))
    })
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null),
        None => schema,
    }
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

impl Modify for ItemLinks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Ok(doc) = serde_json::to_value(&*openapi) else {
            return;
        };
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            return;
        };
        // (source path, status, link name, target operation id, id expression). Only from
        // creations: a link from a list's first item would point clients (and fuzzers) at
        // objects they did not make, such as their own account.
        let mut links = Vec::new();
        for (path, item) in paths {
            let prefix = format!("{path}/{{id}}");
            let targets: Vec<(String, String)> = paths
                .iter()
                .filter(|(q, _)| *q == &prefix || q.starts_with(&format!("{prefix}/")))
                .flat_map(|(q, it)| {
                    let rest = q[prefix.len()..].trim_start_matches('/').replace('/', "_");
                    METHODS.into_iter().filter_map(move |m| {
                        let id = it.get(m)?.get("operationId")?.as_str()?.to_owned();
                        let name = if rest.is_empty() {
                            m.to_owned()
                        } else {
                            format!("{m}_{rest}")
                        };
                        Some((name, id))
                    })
                })
                .collect();
            for status in ["201", "200"] {
                let pointer = item
                    .pointer(&format!(
                        "/post/responses/{status}/content/application~1json/schema"
                    ))
                    .and_then(|schema| id_pointer(&doc, schema));
                let Some(pointer) = pointer else { continue };
                for (name, op) in &targets {
                    links.push((
                        path.clone(),
                        status,
                        name.clone(),
                        op.clone(),
                        format!("$response.body#{pointer}"),
                    ));
                }
            }
        }
        for (path, status, name, op, expr) in links {
            let post = openapi
                .paths
                .paths
                .get_mut(&path)
                .and_then(|i| i.post.as_mut());
            if let Some(RefOr::T(response)) =
                post.and_then(|o| o.responses.responses.get_mut(status))
            {
                let link = Link::builder()
                    .operation_id(op)
                    .parameter("id", expr)
                    .build();
                response.links.insert(name, RefOr::T(link));
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "cirhub API", description = "Cloud incident coordination hub. Errors are RFC 9457 problem details (application/problem+json). Public Statuspage v2 documents live under /status/{provider}/api/v2/."),
    paths(
        accounts::login, accounts::refresh, accounts::logout, accounts::me, accounts::patch_me,
        accounts::list_users, accounts::get_user, accounts::update_user, accounts::delete_user,
        accounts::list_tokens, accounts::create_token, accounts::revoke_token,
        invitations::create, invitations::list, invitations::revoke,
        catalogue::list_regions, catalogue::create_region, catalogue::list_services, catalogue::create_service,
        catalogue::list_groups, catalogue::create_group, catalogue::list_components, catalogue::create_component,
        catalogue::get_component, catalogue::update_component, catalogue::get_policy, catalogue::put_policy,
        incidents::list, incidents::create, incidents::get, incidents::patch, incidents::post_update, incidents::create_maintenance,
        audit::list, audit::verify, audit::disclosures,
        customers::list_relationships, customers::invite, customers::get_relationship, customers::accept,
        customers::set_scopes, customers::end, customers::dashboard_list, customers::dashboard_get,
        customers::acknowledge, customers::add_note, customers::dashboard_components, customers::receipts,
        customers::list_mappings, customers::create_mapping, customers::delete_mapping,
        customers::get_layout, customers::put_layout,
        customers::list_subscriptions, customers::create_subscription, customers::get_subscription,
        customers::replace_subscription, customers::delete_subscription,
        customers::list_feed_tokens, customers::create_feed_token, customers::revoke_feed_token,
        sharing::list, sharing::propose, sharing::get, sharing::amend, sharing::accept,
        sharing::decline, sharing::suspend, sharing::resume, sharing::terminate,
        sharing::list_objects, sharing::put_object, sharing::get_object, sharing::object_versions,
        sharing::share_object, sharing::unshare_object, sharing::pass_on_object, sharing::stop_passing_on, sharing::object_receipts, sharing::received,
        lookup::one, lookup::batch, lookup::report, lookup::list, lookup::export,
        imports::create, imports::get, imports::list,
        escalation::get, escalation::put, escalation::version, escalation::lint, escalation::simulate,
        escalation::escalation, escalation::acknowledge, escalation::seen, escalation::unacknowledge, escalation::reassign,
        clocks::templates, clocks::list, clocks::decide, clocks::start, clocks::file,
        response_metrics::aggregate, response_metrics::samples, response_metrics::edits,
        record::get, record::put, record::comments, record::comment,
    ),
    modifiers(&BearerAuth, &PublicDocs, &ItemLinks),
)]
pub struct ApiDoc;

/// The document, built (modifiers included) once per process.
pub(crate) static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);
static DOCUMENT_JSON: LazyLock<String> =
    LazyLock::new(|| serde_json::to_string(&*DOCUMENT).unwrap_or_default());

/// `GET /api/v1/openapi.json`.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT_JSON.as_str())
}

/// The rendered reference at `/api/docs/` (assets vendored into the binary; works offline).
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/api/docs/{_:.*}").url("/api/docs/openapi.json", DOCUMENT.clone())
}
