//! Public status documents: Statuspage v2 JSON, uptime, Atom and RSS. Served from the
//! [`crate::cache::PublicCache`]; a miss renders from the database once.

use crate::cache::Cached;
use crate::error::AppError;
use crate::publishing::{feeds, statuspage};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;

const JSON: &str = "application/json; charset=utf-8";

/// Renders one public document of a provider.
fn render(
    conn: &mut crate::db::DbConn,
    slug: &str,
    doc: &str,
    base: &str,
) -> Result<(String, Bytes, &'static str), AppError> {
    let data = statuspage::load(conn, slug, base)?;
    render_data(conn, data, doc)
}

/// Renders one document (Statuspage v2 path, `uptime.json`, `history.atom|rss`) of a data set.
pub fn render_data(
    conn: &mut crate::db::DbConn,
    data: statuspage::PublicData,
    doc: &str,
) -> Result<(String, Bytes, &'static str), AppError> {
    let json = |v: serde_json::Result<Vec<u8>>| {
        v.map(Bytes::from).map_err(|e| AppError::Internal(e.into()))
    };
    let page = data.page();
    let body = match doc {
        "summary.json" => (json(serde_json::to_vec(&data.summary()))?, JSON),
        "status.json" => (
            json(serde_json::to_vec(&cirhub_shared::statuspage::StatusDoc {
                page,
                status: data.status(),
            }))?,
            JSON,
        ),
        "components.json" => (
            json(serde_json::to_vec(
                &cirhub_shared::statuspage::ComponentsDoc {
                    page,
                    components: data.components(),
                },
            ))?,
            JSON,
        ),
        "incidents.json" => (
            json(serde_json::to_vec(
                &cirhub_shared::statuspage::IncidentsDoc {
                    page,
                    incidents: data.incidents(),
                },
            ))?,
            JSON,
        ),
        "incidents/unresolved.json" => (
            json(serde_json::to_vec(
                &cirhub_shared::statuspage::IncidentsDoc {
                    page,
                    incidents: data.unresolved(),
                },
            ))?,
            JSON,
        ),
        "scheduled-maintenances.json" => (
            json(serde_json::to_vec(
                &cirhub_shared::statuspage::MaintenancesDoc {
                    page,
                    scheduled_maintenances: data.maintenances(),
                },
            ))?,
            JSON,
        ),
        "scheduled-maintenances/upcoming.json" => (
            json(serde_json::to_vec(
                &cirhub_shared::statuspage::MaintenancesDoc {
                    page,
                    scheduled_maintenances: data.upcoming(),
                },
            ))?,
            JSON,
        ),
        "scheduled-maintenances/active.json" => (
            json(serde_json::to_vec(
                &cirhub_shared::statuspage::MaintenancesDoc {
                    page,
                    scheduled_maintenances: data.active_maintenance(),
                },
            ))?,
            JSON,
        ),
        "uptime.json" => (
            json(serde_json::to_vec(&crate::publishing::uptime::uptime(
                conn,
                &data,
                crate::db::rows::now_ms(),
            )?))?,
            JSON,
        ),
        "history.atom" => (
            Bytes::from(feeds::atom(&data)),
            "application/atom+xml; charset=utf-8",
        ),
        "history.rss" => (
            Bytes::from(feeds::rss(&data)),
            "application/rss+xml; charset=utf-8",
        ),
        _ => return Err(AppError::NotFound("status document")),
    };
    Ok((data.org.id, body.0, body.1))
}

async fn serve(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: String,
    doc: String,
) -> Result<HttpResponse, AppError> {
    let cached = match state.cache.get(&slug, &doc) {
        Some(c) => c,
        None => {
            let base = state.config.public_url.clone();
            let (s, d) = (slug.clone(), doc.clone());
            let (org_id, body, ct) = state.db.read(move |c| render(c, &s, &d, &base)).await?;
            state.cache.put(&slug, &org_id, &doc, body, ct)
        }
    };
    Ok(respond(&req, cached))
}

/// Answers with a document, or 304 when the client's ETag matches.
pub fn respond(req: &HttpRequest, c: Cached) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == c.etag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, c.etag.clone()))
        .insert_header((
            header::CACHE_CONTROL,
            if c.private {
                "private, max-age=0, must-revalidate"
            } else {
                "public, max-age=0, must-revalidate"
            },
        ))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    if fresh {
        res.finish()
    } else {
        res.content_type(c.content_type).body(c.body)
    }
}

/// `/status/{slug}/api/v2/{doc}`.
pub async fn statuspage(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (slug, doc) = path.into_inner();
    if doc == "uptime.json" || doc.starts_with("history.") {
        return Err(AppError::NotFound("status document"));
    }
    serve(state, req, slug, doc).await
}

/// `/status/{slug}/uptime.json`.
pub async fn uptime(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    serve(state, req, slug.into_inner(), "uptime.json".into()).await
}

/// `/status/{slug}/history.atom`.
pub async fn atom(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    serve(state, req, slug.into_inner(), "history.atom".into()).await
}

/// `/status/{slug}/history.rss`.
pub async fn rss(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    serve(state, req, slug.into_inner(), "history.rss".into()).await
}

/// `/feeds/{secret}/api/v2/{doc}`, `/feeds/{secret}/history.atom|rss`: a customer's
/// personal documents. The token is checked against the database on every request (a read,
/// never cached), so revocation is immediate; the documents come from the cache, which any
/// change of the customer or of one of its providers invalidates. A document is rendered in
/// a journal read only on a miss (once for all the requests missing it at the same time):
/// the journal commits the disclosure of every version in it before the document is stored
/// or sent, so a cached copy carries nothing that was not recorded as disclosed to this
/// token.
pub async fn feed(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (secret, doc) = path.into_inner();
    let doc = match doc.strip_prefix("api/v2/") {
        Some(d) if d != "uptime.json" && !d.starts_with("history.") => d.to_owned(),
        None if doc == "history.atom" || doc == "history.rss" => doc,
        _ => return Err(AppError::NotFound("feed document")),
    };
    let s = secret.clone();
    let token = state
        .db
        .read_point(move |c| crate::customers::feed_tokens::resolve(c, &s))
        .await?;
    if crate::customers::feed_tokens::needs_touch(&token, crate::db::rows::now_ms()) {
        let id = token.id.clone();
        state
            .exec
            .run(move |c| crate::customers::feed_tokens::touch(c, &id))
            .await?;
    }
    let (cached, served) = state
        .cache
        .personal(&token.id, &doc, |mark| {
            let base = state.config.public_url.clone();
            let (t, d) = (token.clone(), doc.clone());
            let (state, token_id, doc) = (state.clone(), token.id.clone(), doc.clone());
            async move {
                // A miss renders in a read whose disclosures the journal commits before the
                // document leaves (and before it is cached).
                let (deps, body, ct) = state
                    .journal
                    .read(move |c| {
                        let deps = crate::customers::feed_tokens::depends_on(c, &t)?;
                        let data = crate::customers::feed_tokens::data(c, &t, &secret, &base)?;
                        let (_, body, ct) = render_data(c, data, &d)?;
                        Ok((deps, body, ct))
                    })
                    .await?;
                Ok(state
                    .cache
                    .put_personal(&token_id, &doc, deps, mark, body, ct))
            }
        })
        .await?;
    state
        .metrics
        .personal_feeds
        .with_label_values(&[served.as_str()])
        .inc();
    Ok(respond(&req, cached))
}
