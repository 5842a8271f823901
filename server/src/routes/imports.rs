//! Imports of indicator files through the API: the body is the file itself (any media
//! type), streamed into the database in chunks; the import then runs as a job whose progress
//! `GET /api/v1/imports/{id}` shows.

use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::Pagination;
use crate::sharing::formats::Format;
use crate::sharing::imports::{self, Request, CHUNK_BYTES, MAX_BYTES};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use cirhub_shared::api::Paged;
use cirhub_shared::sharing::{Import, Tlp};
use cirhub_shared::Problem;
use futures_util::StreamExt;

type State = web::Data<AppState>;

/// `POST /api/v1/imports` query.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Upload {
    /// `stix` (a STIX 2.1 bundle or JSON lines of objects), `misp` (a MISP JSON event) or
    /// `csv` (header `type,value,tlp,category,comment`); told by the file name and first
    /// bytes when absent.
    pub format: Option<String>,
    /// TLP for records that carry none (default amber).
    pub tlp: Option<Tlp>,
    /// Agreements in force to share every imported object under, comma-separated.
    pub share_under: Option<String>,
    /// The file's name, shown with the import.
    pub file_name: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/imports", tag = "indicators", operation_id = "create_import",
    params(Upload),
    request_body(content = String, content_type = "application/octet-stream", description = "The file: a STIX 2.1 bundle, MISP JSON event or CSV"),
    responses((status = 202, body = Import), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Imports a file of indicators into the caller's organisation, as a job: 202 with the
/// import, whose counts, progress and refused records (position and reason) then show at
/// its URL. Each record is checked like an object sent to the API; a refused record never
/// stops the others. Analyst or above.
pub async fn create(
    state: State,
    caller: Caller,
    q: web::Query<Upload>,
    mut body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let format = q
        .format
        .as_deref()
        .map(|f| {
            f.parse::<Format>()
                .map_err(|e| AppError::field("format", e))
        })
        .transpose()?;
    let req = Request {
        format,
        tlp: q.tlp.unwrap_or(Tlp::Amber),
        share_under: q
            .share_under
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        file_name: q.file_name,
    };
    // The first chunk tells the format when the request does not.
    let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
    let mut more = true;
    while chunk.len() < CHUNK_BYTES && more {
        match body.next().await {
            Some(b) => chunk.extend_from_slice(&b.map_err(bad_body)?),
            None => more = false,
        }
    }
    let mut total = chunk.len() as u64;
    let first = std::mem::take(&mut chunk);
    let id = {
        let (caller, req) = (caller.clone(), req.clone());
        state
            .db
            .write(move |c| imports::begin(c, &caller, &req, &first))
            .await?
    };
    // Dropped with the request if the client goes away before the end (actix then drops
    // this handler at its next await): the upload is removed instead of left half there.
    let mut unfinished = Unfinished {
        db: state.db.clone(),
        id: Some(id.clone()),
    };
    let mut n = 1;
    let received: Result<(), AppError> = async {
        while more {
            match body.next().await {
                Some(b) => {
                    let b = b.map_err(bad_body)?;
                    total += b.len() as u64;
                    if total > MAX_BYTES {
                        return Err(AppError::PayloadTooLarge(MAX_BYTES as usize));
                    }
                    chunk.extend_from_slice(&b);
                }
                None => more = false,
            }
            if chunk.len() >= CHUNK_BYTES || (!more && !chunk.is_empty()) {
                let (data, id2, k) = (std::mem::take(&mut chunk), id.clone(), n);
                state
                    .db
                    .write(move |c| imports::add_chunk(c, &id2, k, &data))
                    .await?;
                n += 1;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = received {
        unfinished.discard().await;
        return Err(e);
    }
    let out = {
        let (caller, id2) = (caller.clone(), id.clone());
        state
            .exec
            .run(move |c| {
                imports::queue(c, &id2, total)?;
                imports::get(c, &caller, &id2)
            })
            .await?
    };
    unfinished.id = None;
    state.jobs.wake();
    Ok(HttpResponse::Accepted()
        .insert_header(("location", format!("/api/v1/imports/{id}")))
        .json(out))
}

/// An upload under way: dropped before it was queued, it is removed.
struct Unfinished {
    db: crate::db::Db,
    id: Option<String>,
}

impl Unfinished {
    /// Removes the upload now, before the answer goes out.
    async fn discard(mut self) {
        if let Some(id) = self.id.take() {
            discard(self.db.clone(), id).await;
        }
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            actix_web::rt::spawn(discard(self.db.clone(), id));
        }
    }
}

async fn discard(db: crate::db::Db, id: String) {
    if let Err(e) = db.write(move |c| imports::discard(c, &id)).await {
        tracing::warn!(error = %e, "cannot drop an unfinished upload");
    }
}

fn bad_body(e: actix_web::error::PayloadError) -> AppError {
    AppError::BadRequest {
        code: "bad_body",
        detail: format!("The file did not arrive whole: {e}"),
    }
}

#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "indicators", operation_id = "get_import",
    responses((status = 200, body = Import), (status = 404, body = Problem)), security(("bearer" = [])))]
/// One import of the caller's organisation: state, counts, progress, refused records.
pub async fn get(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| imports::get(c, &caller, &id))
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/imports", tag = "indicators", operation_id = "list_imports",
    params(crate::paging::Pagination),
    responses((status = 200, body = Paged<Import>)), security(("bearer" = [])))]
/// The imports of the caller's organisation, newest first.
pub async fn list(
    state: State,
    caller: Caller,
    page: web::Query<Pagination>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner().validate()?;
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| imports::list(c, &caller, page))
            .await?,
    ))
}
