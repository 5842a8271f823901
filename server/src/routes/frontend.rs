//! Serves the built WebAssembly frontend: `index.html` for the app's own routes, the wasm
//! bundle and stylesheet as files.

use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// The app loads only its own script, wasm, styles and API: nothing inline, nothing from
/// elsewhere, never framed.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
                   img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

/// The single-page app shell.
pub async fn index(state: web::Data<AppState>) -> HttpResponse {
    let path = state.config.frontend_dir.join("index.html");
    match tokio::fs::read(&path).await {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-cache"))
            .insert_header(("Content-Security-Policy", CSP))
            .insert_header(("X-Frame-Options", "DENY"))
            .body(body),
        Err(_) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body(format!(
            "The frontend is not built ({} is missing). Build it with scripts/build-frontend.sh; \
             the JSON API and status documents work without it.",
            path.display()
        )),
    }
}

/// `/pkg/*` and `/style.css` from the frontend directory.
pub async fn asset(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> actix_web::Result<actix_files::NamedFile> {
    let rel = req.path().trim_start_matches('/');
    if rel.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return Err(actix_web::error::ErrorNotFound("not found"));
    }
    let file = actix_files::NamedFile::open_async(state.config.frontend_dir.join(rel)).await?;
    Ok(file.use_etag(true).use_last_modified(true))
}
