//! The provider catalogue. Reading needs any role; changing needs operator or above.

use crate::auth::Caller;
use crate::catalogue as svc;
use crate::error::AppError;
use crate::extract::{ApiJson, Pagination};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::api::*;
use cirhub_shared::Role;

type State = web::Data<AppState>;

/// Runs a change for an operator as one unit of work (its effects, such as dropping the
/// provider's cached public documents, follow the commit).
pub async fn publish<T, F>(
    state: &AppState,
    caller: Caller,
    created: bool,
    f: F,
) -> Result<HttpResponse, AppError>
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&mut crate::db::DbConn, &Caller) -> Result<T, AppError> + Send + 'static,
{
    caller.require(Role::Operator)?;
    let out = state.exec.run(move |c| f(c, &caller)).await?;
    Ok(if created {
        HttpResponse::Created().json(out)
    } else {
        HttpResponse::Ok().json(out)
    })
}

macro_rules! lister {
    ($name:ident, $svc:path, $path:literal, $ty:ty, $tag:literal) => {
        #[utoipa::path(get, path = $path, tag = $tag, params(crate::paging::Pagination),
                    responses((status = 200, body = Paged<$ty>)), security(("bearer" = [])))]
        pub async fn $name(
            state: State,
            caller: Caller,
            page: web::Query<Pagination>,
        ) -> Result<HttpResponse, AppError> {
            let page = page.into_inner().validate()?;
            Ok(HttpResponse::Ok().json(state.db.read(move |c| $svc(c, &caller, page)).await?))
        }
    };
}

lister!(
    list_regions,
    svc::list_regions,
    "/api/v1/regions",
    Region,
    "catalogue"
);
lister!(
    list_services,
    svc::list_services,
    "/api/v1/services",
    Service,
    "catalogue"
);
lister!(
    list_groups,
    svc::list_groups,
    "/api/v1/component-groups",
    ComponentGroup,
    "catalogue"
);
lister!(
    list_components,
    svc::list_components,
    "/api/v1/components",
    Component,
    "catalogue"
);

#[utoipa::path(post, path = "/api/v1/regions", tag = "catalogue", request_body = CreateRegion,
    responses((status = 201, body = Region), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
pub async fn create_region(
    state: State,
    caller: Caller,
    body: ApiJson<CreateRegion>,
) -> Result<HttpResponse, AppError> {
    publish(&state, caller, true, move |c, who| {
        svc::create_region(c, who, &body.0)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/services", tag = "catalogue", request_body = CreateService,
    responses((status = 201, body = Service), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
pub async fn create_service(
    state: State,
    caller: Caller,
    body: ApiJson<CreateService>,
) -> Result<HttpResponse, AppError> {
    publish(&state, caller, true, move |c, who| {
        svc::create_service(c, who, &body.0)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/component-groups", tag = "catalogue", request_body = CreateComponentGroup,
    responses((status = 201, body = ComponentGroup), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
pub async fn create_group(
    state: State,
    caller: Caller,
    body: ApiJson<CreateComponentGroup>,
) -> Result<HttpResponse, AppError> {
    publish(&state, caller, true, move |c, who| {
        svc::create_group(c, who, &body.0)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/components", tag = "catalogue", request_body = CreateComponent,
    responses((status = 201, body = Component), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
pub async fn create_component(
    state: State,
    caller: Caller,
    body: ApiJson<CreateComponent>,
) -> Result<HttpResponse, AppError> {
    publish(&state, caller, true, move |c, who| {
        svc::create_component(c, who, &body.0)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/components/{id}", tag = "catalogue",
    responses((status = 200, body = Component), (status = 404, body = cirhub_shared::Problem)), security(("bearer" = [])))]
pub async fn get_component(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| svc::get_component(c, &caller, &id))
            .await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/components/{id}", tag = "catalogue", request_body = UpdateComponent,
    responses((status = 200, body = Component), (status = 404, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// Renames, regroups or moves a component to a new status (kept in its history).
pub async fn update_component(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: ApiJson<UpdateComponent>,
) -> Result<HttpResponse, AppError> {
    publish(&state, caller, false, move |c, who| {
        svc::update_component(c, who, &id, &body.0)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/priority-policy", tag = "catalogue", responses((status = 200, body = PriorityPolicy)), security(("bearer" = [])))]
/// The impact x urgency matrix and target times of the caller's provider organisation.
pub async fn get_policy(state: State, caller: Caller) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(state.db.read(move |c| svc::get_policy(c, &caller)).await?))
}

#[utoipa::path(put, path = "/api/v1/priority-policy", tag = "catalogue", request_body = PriorityPolicy,
    responses((status = 200, body = PriorityPolicy), (status = 422, body = cirhub_shared::Problem)), security(("bearer" = [])))]
/// Replaces the priority policy (admin).
pub async fn put_policy(
    state: State,
    caller: Caller,
    body: ApiJson<PriorityPolicy>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Admin)?;
    publish(&state, caller, false, move |c, who| {
        svc::put_policy(c, who, &body.0)
    })
    .await
}
