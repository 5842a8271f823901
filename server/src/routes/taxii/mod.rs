//! TAXII 2.1 (OASIS): discovery, one API root, collections, objects, manifest, versions,
//! status. `application/taxii+json;version=2.1` in and out, the TAXII error message format,
//! HTTP Basic (the API token as password, or as user name with an empty password) or Bearer
//! authentication with cirhub credentials.

mod protocol;

use crate::error::AppError;
use crate::identity::Caller;
use crate::sharing::taxii::{self, Added, Query};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use protocol::{taxii_json, Result};
pub use protocol::{TaxiiCaller, TaxiiError, TAXII};
use serde_json::{json, Value};

const ROOT: &str = "/taxii2/api/";

/// `GET /taxii2/`: the discovery resource.
pub async fn discovery(_: TaxiiCaller) -> Result<HttpResponse> {
    Ok(taxii_json(
        StatusCode::OK,
        &json!({
            "title": "cirhub TAXII 2.1",
            "description": "Indicators and their context shared under sharing agreements.",
            "default": ROOT,
            "api_roots": [ROOT],
        }),
    ))
}

/// `GET /taxii2/api/`: the API root.
pub async fn api_root(_: TaxiiCaller) -> Result<HttpResponse> {
    Ok(taxii_json(
        StatusCode::OK,
        &json!({
            "title": "cirhub",
            "description": "Your organisation's own collection, and one per agreement in force.",
            "versions": [TAXII],
            "max_content_length": taxii::MAX_CONTENT_LENGTH,
        }),
    ))
}

/// `GET /taxii2/api/collections/`.
pub async fn collections(state: web::Data<AppState>, who: TaxiiCaller) -> Result<HttpResponse> {
    let caller = who.0;
    let list = state
        .db
        .read(move |c| taxii::collections(c, &caller))
        .await?;
    Ok(taxii_json(StatusCode::OK, &json!({ "collections": list })))
}

/// `GET /taxii2/api/collections/{id}/`.
pub async fn collection(
    state: web::Data<AppState>,
    who: TaxiiCaller,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = who.0;
    let (_, resource) = state
        .db
        .read(move |c| taxii::collection(c, &caller, &id))
        .await?;
    Ok(taxii_json(StatusCode::OK, &resource))
}

/// Parses the filter parameters of objects, manifest and versions requests.
fn query(params: &[(String, String)]) -> Result<Query> {
    let mut q = Query {
        limit: 100,
        ..Query::default()
    };
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for (k, v) in params {
        if v.contains('\0') {
            return Err(TaxiiError::bad(format!("{k} must not contain NUL")));
        }
        match k.as_str() {
            "added_after" => {
                let t = chrono::DateTime::parse_from_rfc3339(v).map_err(|_| {
                    TaxiiError::bad("added_after must be a timestamp such as 2026-12-03T10:00:00.000Z")
                })?;
                q.added_after = Some(t.timestamp_millis());
            }
            "limit" => {
                q.limit = v
                    .parse::<i64>()
                    .ok()
                    .filter(|l| *l > 0)
                    .ok_or_else(|| TaxiiError::bad("limit must be a positive whole number"))?;
            }
            "next" => {
                q.next = Some(
                    v.parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 0)
                        .ok_or_else(|| TaxiiError::bad("next must be a value this server returned"))?,
                );
            }
            "match[id]" => q.ids.extend(list(v)),
            "match[type]" => q.types.extend(list(v)),
            "match[version]" => q.versions.extend(list(v)),
            "match[spec_version]" => q.spec_versions.extend(list(v)),
            other => {
                return Err(TaxiiError::bad(format!(
                    "unknown parameter {other}: use added_after, limit, next, match[id], match[type], match[version], match[spec_version]"
                )))
            }
        }
    }
    Ok(q)
}

/// Reads one page of a collection (its disclosures committed before the answer leaves).
async fn read_page(
    state: &AppState,
    caller: Caller,
    collection_id: String,
    q: Query,
    bodies: bool,
) -> Result<taxii::Page> {
    Ok(state
        .journal
        .read(move |c| {
            let (collection, _) = taxii::collection(c, &caller, &collection_id)?;
            taxii::page(c, &caller, &collection, &q, bodies)
        })
        .await?)
}

/// The date-added headers of a page.
fn page_headers(res: &mut actix_web::HttpResponseBuilder, page: &taxii::Page) {
    if let (Some(first), Some(last)) = (page.entries.first(), page.entries.last()) {
        res.insert_header((
            "X-TAXII-Date-Added-First",
            taxii::taxii_time(first.added_at),
        ));
        res.insert_header(("X-TAXII-Date-Added-Last", taxii::taxii_time(last.added_at)));
    }
}

/// A page as TAXII answers it: `more`, `next` when there is more, and the page's items
/// under `key` (left out when there are none, as the specification's examples do).
fn paged(page: &taxii::Page, key: &str, items: Vec<Value>) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.content_type(TAXII);
    page_headers(&mut res, page);
    let mut body = json!({ "more": page.next.is_some() });
    if let Some(n) = page.next {
        body["next"] = Value::String(n.to_string());
    }
    if !items.is_empty() {
        body[key] = Value::Array(items);
    }
    res.body(body.to_string())
}

/// The version name of an entry: its `modified`, or when it was added (observables).
fn version_name(e: &taxii::Entry) -> String {
    e.modified
        .clone()
        .unwrap_or_else(|| taxii::taxii_time(e.added_at))
}

fn envelope(mut page: taxii::Page) -> HttpResponse {
    let objects: Vec<Value> = page
        .entries
        .iter_mut()
        .filter_map(|e| e.object.take())
        .collect();
    paged(&page, "objects", objects)
}

/// `GET /taxii2/api/collections/{id}/objects/`.
pub async fn get_objects(
    state: web::Data<AppState>,
    who: TaxiiCaller,
    id: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse> {
    let q = query(&params)?;
    Ok(envelope(
        read_page(&state, who.0, id.into_inner(), q, true).await?,
    ))
}

/// `GET /taxii2/api/collections/{id}/objects/{object_id}/`: its versions as selected (the
/// newest by default), or 404.
pub async fn get_object(
    state: web::Data<AppState>,
    who: TaxiiCaller,
    path: web::Path<(String, String)>,
    params: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse> {
    let (collection, object_id) = path.into_inner();
    let mut q = query(&params)?;
    q.ids = vec![object_id];
    let page = read_page(&state, who.0, collection, q, true).await?;
    if page.entries.is_empty() {
        return Err(AppError::NotFound("STIX object").into());
    }
    Ok(envelope(page))
}

/// `GET /taxii2/api/collections/{id}/objects/{object_id}/versions/`.
pub async fn get_versions(
    state: web::Data<AppState>,
    who: TaxiiCaller,
    path: web::Path<(String, String)>,
    params: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse> {
    let (collection, object_id) = path.into_inner();
    let mut q = query(&params)?;
    q.ids = vec![object_id];
    q.versions = vec!["all".into()];
    let page = read_page(&state, who.0, collection, q, false).await?;
    if page.entries.is_empty() {
        return Err(AppError::NotFound("STIX object").into());
    }
    let versions = page
        .entries
        .iter()
        .map(|e| Value::String(version_name(e)))
        .collect();
    Ok(paged(&page, "versions", versions))
}

/// `GET /taxii2/api/collections/{id}/manifest/`.
pub async fn get_manifest(
    state: web::Data<AppState>,
    who: TaxiiCaller,
    id: web::Path<String>,
    params: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse> {
    let q = query(&params)?;
    let page = read_page(&state, who.0, id.into_inner(), q, false).await?;
    let entries = page
        .entries
        .iter()
        .map(|e| {
            json!({
                "id": e.stix_id,
                "date_added": taxii::taxii_time(e.added_at),
                "version": version_name(e),
                "media_type": "application/stix+json;version=2.1",
            })
        })
        .collect();
    Ok(paged(&page, "objects", entries))
}

/// `POST /taxii2/api/collections/{id}/objects/`: an envelope of objects; answers 202 with
/// the status resource (processing is done by then: `complete`, every object a success or a
/// failure with its reason).
pub async fn add_objects(
    state: web::Data<AppState>,
    who: TaxiiCaller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
        .replace(' ', "");
    if !content_type.starts_with("application/taxii+json") {
        return Err(TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("Send an envelope as {TAXII}."),
        ));
    }
    if body.windows(6).any(|w| w == b"\\u0000") {
        return Err(TaxiiError::bad(
            "The envelope must not contain NUL characters.",
        ));
    }
    let envelope: Value = serde_json::from_slice(&body)
        .map_err(|e| TaxiiError::bad(format!("The body is not a JSON envelope: {e}")))?;
    let objects = match envelope.get("objects") {
        Some(Value::Array(o)) => o.clone(),
        None => Vec::new(),
        Some(_) => return Err(TaxiiError::bad("objects must be a list of STIX objects")),
    };
    let caller = who.0;
    caller.require(cirhub_shared::Role::Analyst)?;
    let requested_at = crate::db::rows::now_ms();
    let collection_id = id.into_inner();
    let status = state
        .exec
        .run(move |c| {
            let (collection, _) = taxii::collection(c, &caller, &collection_id)?;
            let added: Vec<Added> = taxii::add(c, &caller, &collection, objects)?;
            taxii::record_status(c, &caller, &added, requested_at)
        })
        .await?;
    Ok(taxii_json(StatusCode::ACCEPTED, &status))
}

/// `DELETE /taxii2/api/collections/{id}/objects/{object_id}/`.
pub async fn delete_object(
    state: web::Data<AppState>,
    who: TaxiiCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let caller = who.0;
    caller.require(cirhub_shared::Role::Analyst)?;
    let (collection_id, object_id) = path.into_inner();
    state
        .exec
        .run(move |c| {
            let (collection, _) = taxii::collection(c, &caller, &collection_id)?;
            taxii::delete(c, &caller, &collection, &object_id)
        })
        .await?;
    Ok(HttpResponse::Ok().content_type(TAXII).finish())
}

/// `GET /taxii2/api/status/{id}/`.
pub async fn status(
    state: web::Data<AppState>,
    who: TaxiiCaller,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let caller = who.0;
    let status = state
        .db
        .read(move |c| taxii::status(c, &caller, &id))
        .await?;
    Ok(taxii_json(StatusCode::OK, &status))
}

/// Every TAXII path, under `/taxii2`; an unknown one answers a TAXII 404.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/taxii2")
            .app_data(web::PayloadConfig::new(taxii::MAX_CONTENT_LENGTH))
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                actix_web::Error::from(TaxiiError::bad(format!("bad query string: {e}")))
            }))
            .route("/", web::get().to(discovery))
            .route("/api/", web::get().to(api_root))
            .route("/api/status/{id}/", web::get().to(status))
            // taxii2-client builds a status URL without the trailing slash.
            .route("/api/status/{id}", web::get().to(status))
            .route("/api/collections/", web::get().to(collections))
            .route("/api/collections/{id}/", web::get().to(collection))
            .route("/api/collections/{id}/objects/", web::get().to(get_objects))
            .route(
                "/api/collections/{id}/objects/",
                web::post().to(add_objects),
            )
            .route(
                "/api/collections/{id}/objects/{object_id}/",
                web::get().to(get_object),
            )
            .route(
                "/api/collections/{id}/objects/{object_id}/",
                web::delete().to(delete_object),
            )
            .route(
                "/api/collections/{id}/objects/{object_id}/versions/",
                web::get().to(get_versions),
            )
            .route(
                "/api/collections/{id}/manifest/",
                web::get().to(get_manifest),
            )
            .default_service(web::to(|| async {
                TaxiiError::new(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "No TAXII resource has this path.",
                )
                .error_response()
            })),
    );
}
