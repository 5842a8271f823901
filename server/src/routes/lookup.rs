//! Lookups of observable values and sightings reported back to an object's owner.

use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::ApiJson;
use crate::sharing::lookup;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::sharing::*;
use cirhub_shared::{Problem, Role};

type State = web::Data<AppState>;

/// `GET /api/v1/lookup?value=`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct One {
    /// An IPv4/IPv6 address or network, domain, URL, e-mail address or file hash; defanged
    /// values (`hxxp`, `[.]`) are read as meant.
    pub value: String,
}

#[utoipa::path(get, path = "/api/v1/lookup", tag = "indicators", operation_id = "lookup_value",
    params(One),
    responses((status = 200, body = LookupAnswer), (status = 422, body = Problem)), security(("bearer" = [])))]
/// Looks one value up: the objects the caller may see whose values match it (an address
/// also matches the networks holding it, a domain its parent domains, a network what lies
/// inside it), with source, TLP, confidence, first and last seen and sighting counts.
pub async fn one(
    state: State,
    caller: Caller,
    q: web::Query<One>,
) -> Result<HttpResponse, AppError> {
    let value = q.into_inner().value;
    // One value is a few indexed reads: on SQLite it runs on the calling thread.
    let mut answers = state
        .journal
        .read_point(move |c| lookup::lookup(c, &caller, std::slice::from_ref(&value)))
        .await?;
    let answer = answers.pop().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("a lookup of one value gave no answer"))
    })?;
    if let Some(e) = &answer.error {
        return Err(AppError::field("value", e.clone()));
    }
    Ok(HttpResponse::Ok().json(answer))
}

#[utoipa::path(post, path = "/api/v1/lookup", tag = "indicators", operation_id = "lookup_values",
    request_body = LookupRequest,
    responses((status = 200, body = Vec<LookupAnswer>), (status = 422, body = Problem)), security(("bearer" = [])))]
/// Looks up to 1,000 values up at once; each answer in the order asked, a value that cannot
/// be read answered with its error and no matches.
pub async fn batch(
    state: State,
    caller: Caller,
    body: ApiJson<LookupRequest>,
) -> Result<HttpResponse, AppError> {
    let values = body.0.values;
    Ok(HttpResponse::Ok().json(
        state
            .journal
            .read(move |c| lookup::lookup(c, &caller, &values))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/stix-objects/{key}/sightings", tag = "indicators", operation_id = "report_sighting",
    request_body = ReportSighting,
    responses((status = 201, body = Sighting), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// A recipient reports sightings of another organisation's object it may see, back to the
/// owner, under the agreement it received it by. Analyst or above.
pub async fn report(
    state: State,
    caller: Caller,
    key: web::Path<String>,
    body: ApiJson<ReportSighting>,
) -> Result<HttpResponse, AppError> {
    caller.require(Role::Analyst)?;
    let out = state
        .exec
        .run(move |c| lookup::report_sighting(c, &caller, &key, &body.0))
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[utoipa::path(get, path = "/api/v1/stix-objects/{key}/sightings", tag = "indicators", operation_id = "list_sightings",
    responses((status = 200, body = Vec<Sighting>), (status = 404, body = Problem)), security(("bearer" = [])))]
/// The sightings of an object: every one for its owner (reporters named as their agreement
/// allows), the caller's own for a recipient.
pub async fn list(
    state: State,
    caller: Caller,
    key: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| lookup::sightings(c, &caller, &key))
            .await?,
    ))
}

/// `GET /api/v1/stix-objects/export` query.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `stix` (a STIX 2.1 bundle), `misp` (a MISP JSON event), `csv` or `blocklist`.
    pub format: String,
    /// For a block list: the kind of value (ipv4, ipv6, domain, url, email, md5, sha1,
    /// sha256, sha512).
    pub kind: Option<ValueKind>,
    /// STIX type, e.g. `indicator`.
    #[serde(rename = "type")]
    pub stix_type: Option<String>,
    pub tlp: Option<Tlp>,
    pub own: Option<bool>,
    pub category: Option<DataCategory>,
    pub agreement: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/stix-objects/export", tag = "indicators", operation_id = "export_stix_objects",
    params(ExportQuery),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Exports what the caller may see (its own and what agreements let reach it), narrowed by
/// the filters, as a STIX 2.1 bundle, a MISP JSON event, CSV or a block list of one kind of
/// value; each other organisation's object in it is a disclosure through channel export.
pub async fn export(
    state: State,
    caller: Caller,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    use crate::sharing::exports::{self, Format};
    let q = q.into_inner();
    let format = match (q.format.as_str(), q.kind) {
        ("stix", _) => Format::Stix,
        ("misp", _) => Format::Misp,
        ("csv", _) => Format::Csv,
        ("blocklist", Some(k)) => Format::BlockList(k),
        ("blocklist", None) => {
            return Err(AppError::field(
                "kind",
                "a block list is of one kind: ipv4, ipv6, domain, url, email, md5, sha1, sha256 or sha512",
            ))
        }
        _ => return Err(AppError::field("format", "stix, misp, csv or blocklist")),
    };
    let filter = crate::sharing::reads::ListFilter {
        stix_type: q.stix_type,
        tlp: q.tlp,
        own: q.own,
        category: q.category,
        agreement: q.agreement,
    };
    let file = state
        .journal
        .read(move |c| exports::export(c, &caller, &filter, format))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{}\"", file.file_name),
        ))
        .insert_header(("x-object-count", file.objects.to_string()))
        .body(file.body))
}
