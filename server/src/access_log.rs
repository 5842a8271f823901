//! One middleware per request for what operators watch: the access log line and the HTTP
//! metrics. A request gets an id, echoed in `x-request-id`; when the response is ready one
//! event (target `cirhub::access`) carries it with method, route, path, status, duration,
//! and the tenant and actor once the `Caller` extractor has authenticated them. No span is
//! opened per request: creating, entering and closing one cost a third of the public page's
//! rate (bench/status-summary.sh, scenario A), so a log line costs one formatting, as an nginx
//! access-log line does. A handler's own log lines are matched to their request by time and
//! route.

use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Who made the request, once authenticated; the extractor leaves it in the request's
/// extensions for the log line.
#[derive(Clone)]
pub struct Principal {
    pub tenant_id: String,
    pub actor: String,
}

static REQUEST_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A request id unique within this process and distinct across restarts: the start time's
/// low bits and a counter.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static EPOCH: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() & 0xff_ffff)
            .unwrap_or_default()
    });
    format!("{epoch:06x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Prefixes of links whose next segment is a secret.
const SECRET_PREFIXES: &[&str] = &["/feeds/", "/unsubscribe/", "/invitations/"];

/// What of a path may be logged: paths that carry a secret (feed, unsubscribe and invitation
/// links) only by their route, or, when no route matched (a malformed link), by their prefix.
/// The query string is never logged.
fn loggable<'a>(route: &'a str, path: &'a str) -> std::borrow::Cow<'a, str> {
    if route.contains("{secret}") || route.contains("{token}") {
        return route.into();
    }
    match SECRET_PREFIXES.iter().find(|p| path.starts_with(**p)) {
        Some(prefix) => format!("{prefix}…").into(),
        None => path.into(),
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().clone();
    let path = req.path().to_owned();
    let query = !req.query_string().is_empty();
    let mut res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.http_requests
            .with_label_values(&[&route, method.as_str(), &status.to_string()])
            .inc();
        m.http_duration
            .with_label_values(&[&route])
            .observe(elapsed.as_secs_f64());
    }
    let path = loggable(&route, &path);
    let who = res.request().extensions().get::<Principal>().cloned();
    let (tenant, actor) = who
        .as_ref()
        .map(|p| (p.tenant_id.as_str(), p.actor.as_str()))
        .unwrap_or(("", ""));
    tracing::info!(
        target: "cirhub::access",
        request_id = %id,
        method = %method,
        route = %route,
        path = %path,
        query,
        status,
        ms = elapsed.as_secs_f64() * 1000.0,
        tenant_id = tenant,
        actor,
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_HEADER.clone(), v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::loggable;

    #[test]
    fn secrets_in_links_never_reach_the_log() {
        assert_eq!(
            loggable("/feeds/{secret}/{doc:.*}", "/feeds/cirfeed_x/summary.json"),
            "/feeds/{secret}/{doc:.*}"
        );
        for malformed in [
            "/feeds/cirfeed_x",
            "/unsubscribe/tok/",
            "/invitations/tok/accept",
        ] {
            let logged = loggable("unmatched", malformed);
            assert!(
                !logged.contains("tok") && !logged.contains("cirfeed"),
                "{logged}"
            );
        }
        assert_eq!(loggable("unmatched", "/api/v1/nope"), "/api/v1/nope");
    }
}
