//! The OpenAPI 3 document (generated from the handlers' annotations) and its reference page.

use super::{accounts, audit, catalogue, customers, incidents};
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

#[derive(OpenApi)]
#[openapi(
    info(title = "cirhub API", description = "Cloud incident coordination hub. Errors are RFC 9457 problem details (application/problem+json). Public Statuspage v2 documents live under /status/{provider}/api/v2/."),
    paths(
        accounts::login, accounts::refresh, accounts::logout, accounts::me,
        accounts::list_users, accounts::create_user, accounts::get_user, accounts::update_user, accounts::delete_user,
        accounts::list_tokens, accounts::create_token, accounts::revoke_token,
        catalogue::list_regions, catalogue::create_region, catalogue::list_services, catalogue::create_service,
        catalogue::list_groups, catalogue::create_group, catalogue::list_components, catalogue::create_component,
        catalogue::get_component, catalogue::update_component, catalogue::get_policy, catalogue::put_policy,
        incidents::list, incidents::create, incidents::get, incidents::patch, incidents::post_update, incidents::create_maintenance,
        audit::list, audit::verify,
        customers::list_relationships, customers::invite, customers::get_relationship, customers::accept,
        customers::set_scopes, customers::end, customers::dashboard_list, customers::dashboard_get,
        customers::acknowledge, customers::add_note, customers::dashboard_components, customers::receipts,
        customers::list_mappings, customers::create_mapping, customers::delete_mapping,
        customers::get_layout, customers::put_layout,
        customers::list_subscriptions, customers::create_subscription, customers::get_subscription,
        customers::replace_subscription, customers::delete_subscription,
        customers::list_feed_tokens, customers::create_feed_token, customers::revoke_feed_token,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// The rendered reference at `/api/docs/` (assets vendored into the binary; works offline).
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/api/docs/{_:.*}").url("/api/docs/openapi.json", ApiDoc::openapi())
}
