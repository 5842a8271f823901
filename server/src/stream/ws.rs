//! `GET /api/v1/stream`: the WebSocket endpoint. Authenticated like the REST API (an
//! `Authorization: Bearer` header, or — for browsers, which cannot set headers on a
//! WebSocket — the sub-protocol list `cirhub.v1, bearer.<token>`). `?since=SEQ` replays
//! missed events from the database before live ones; nothing is skipped or sent twice; a
//! replay that cannot finish says `resync` and closes, never `live`. The connection closes
//! when its credential ends (see [`super::ends`]).

use super::ends::{Credential, Ended, Watch};
use super::{Filter, Prepared};
use crate::auth::caller::authenticate;
use crate::auth::API_TOKEN_PREFIX;
use crate::error::AppError;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use cirhub_shared::customer::{ClientFrame, StreamFrame, StreamQuery};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The sub-protocol the server speaks.
pub const PROTOCOL: &str = "cirhub.v1";

fn bearer(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    header.or_else(|| {
        req.headers()
            .get_all(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|p| p.trim().strip_prefix("bearer.").map(str::to_owned))
    })
}

fn frame(f: &StreamFrame) -> String {
    serde_json::to_string(f).unwrap_or_default()
}

pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let query = web::Query::<StreamQuery>::from_query(req.query_string())
        .map_err(|_| AppError::field("since", "must be a sequence number (0 or more)"))?
        .into_inner();
    if query.since.is_some_and(|s| s < 0) {
        return Err(AppError::field(
            "since",
            "must be a sequence number (0 or more)",
        ));
    }
    let token = bearer(&req).filter(|t| !t.is_empty()).ok_or_else(|| {
        AppError::Unauthorized(
            "Send Authorization: Bearer <token>, or the sub-protocols 'cirhub.v1, bearer.<token>'."
                .into(),
        )
    })?;
    let seen = state.hub.ends().seen(&state.db).await?;
    let expires = access_expiry(&state, &token);
    let caller = authenticate(&state, token).await?;
    let credential = Credential::of(&caller)
        .ok_or_else(|| AppError::Unauthorized("Use an access token or an API token.".into()))?;
    if let Some(since) = query.since {
        // Refused, not clamped: a cursor from the future means the client holds another
        // database's numbers, and answering `live` would leave it waiting for them forever.
        let newest = state.db.read(|c| Ok(super::newest(c)?)).await?;
        if since > newest {
            return Err(AppError::field(
                "since",
                format!(
                    "is beyond the newest event, {newest}: resume from {newest} or less, \
                     or leave since out to start with live events"
                ),
            ));
        }
    }
    let (org, user, role) = (
        caller.org_id.clone(),
        caller.user_id().map(str::to_owned),
        caller.role,
    );
    let subscriptions = state
        .db
        .read(move |c| crate::customers::subscriptions::live_filter(c, &org, user.as_deref(), role))
        .await?;
    let filter = Filter {
        org_id: caller.org_id.clone(),
        user_id: caller.user_id().map(str::to_owned),
        subscriptions,
    };
    // Register before reading the backlog, so nothing committed meanwhile is missed.
    let registration = state
        .hub
        .register(filter, super::delivery::recipient(&caller));
    let watch = state
        .hub
        .ends()
        .watch(&state.db, credential, seen, expires)
        .await?;
    let start = state.hub.last_seq();
    let (response, session, messages) = actix_ws::handle_with_protocols(&req, body, &[PROTOCOL])
        .map_err(|e| AppError::field("upgrade", format!("not a WebSocket handshake: {e}")))?;
    state.metrics.stream_connections.inc();
    let state = state.into_inner();
    actix_web::rt::spawn(async move {
        let caller = Arc::new(caller);
        let _ = run(
            &state,
            caller,
            registration,
            watch,
            session,
            messages,
            query.since,
            start,
        )
        .await;
        state.metrics.stream_connections.dec();
    });
    Ok(response)
}

#[allow(clippy::too_many_arguments)]
async fn run(
    state: &AppState,
    caller: Arc<crate::auth::Caller>,
    mut registration: super::Registration,
    mut watch: Watch,
    mut session: actix_ws::Session,
    mut messages: actix_ws::MessageStream,
    since: Option<i64>,
    start: i64,
) -> Result<(), actix_ws::Closed> {
    let filter = registration.filter.clone();
    let newest = state
        .db
        .read(|c| Ok(super::newest(c)?))
        .await
        .unwrap_or(start);
    session
        .text(frame(&StreamFrame::Hello {
            organisation_id: caller.org_id.clone(),
            last_seq: newest,
        }))
        .await?;
    let mut cursor = since.unwrap_or(start.max(0));
    if since.is_some() {
        loop {
            if let Some(e) = watch.ended() {
                end(session, e).await;
                return Ok(());
            }
            let after = cursor;
            let rows = match state
                .db
                .read(move |c| Ok(super::since(c, after, 500)?))
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    // Saying `live` now would hide a gap: have the client resume from here.
                    tracing::warn!(error = %e, after, "stream replay cannot read events");
                    let why = "replay failed; reconnect with since";
                    resync(state, session, cursor, actix_ws::CloseCode::Error, why).await;
                    return Ok(());
                }
            };
            if rows.is_empty() {
                break;
            }
            for row in rows {
                cursor = row.seq;
                if let Some(p) = Prepared::from_row(row) {
                    if filter.admits(&p) {
                        send(state, &caller, &mut session, &Arc::new(p)).await?;
                    }
                }
            }
        }
    }
    session
        .text(frame(&StreamFrame::Live { last_seq: cursor }))
        .await?;
    let beat = Duration::from_secs(state.config.stream_heartbeat_secs);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            e = watch.wait() => {
                end(session, e).await;
                return Ok(());
            }
            next = registration.rx.recv() => match next {
                Some(p) => {
                    if p.seq > cursor {
                        cursor = p.seq;
                        send(state, &caller, &mut session, &p).await?;
                    }
                }
                None => {
                    // The hub dropped us: our queue overflowed.
                    let why = "fell behind; reconnect with since";
                    resync(state, session, cursor, actix_ws::CloseCode::Again, why).await;
                    return Ok(());
                }
            },
            msg = messages.recv() => match msg {
                Some(Ok(actix_ws::Message::Ping(b))) => {
                    heard = Instant::now();
                    session.pong(&b).await?;
                }
                Some(Ok(actix_ws::Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = session.close(None).await;
                    return Ok(());
                }
                Some(Ok(actix_ws::Message::Text(text))) => {
                    heard = Instant::now();
                    if let Some(reply) = answer(state, &caller, &text).await {
                        session.text(frame(&reply)).await?;
                    }
                }
                Some(Ok(_)) => heard = Instant::now(),
            },
            _ = ticker.tick() => {
                if heard.elapsed() > beat * 3 {
                    let _ = session.close(None).await;
                    return Ok(());
                }
                session.text(frame(&StreamFrame::Heartbeat { last_seq: cursor })).await?;
                session.ping(b"").await?;
            }
        }
    }
}

/// Asks the client to reconnect with `since` (a `resync` frame), then closes.
async fn resync(
    state: &AppState,
    mut session: actix_ws::Session,
    since: i64,
    code: actix_ws::CloseCode,
    why: &str,
) {
    state.metrics.stream_resyncs.inc();
    let _ = session.text(frame(&StreamFrame::Resync { since })).await;
    let _ = session
        .close(Some(actix_ws::CloseReason {
            code,
            description: Some(why.into()),
        }))
        .await;
}

/// When the access token expires (none for an API token; an invalid token is refused by
/// `authenticate` right after).
fn access_expiry(state: &AppState, token: &str) -> Option<tokio::time::Instant> {
    if token.starts_with(API_TOKEN_PREFIX) {
        return None;
    }
    let exp_ms = state.jwt.verify(token).ok()?.exp.saturating_mul(1000);
    let left = u64::try_from(exp_ms - crate::db::rows::now_ms()).unwrap_or(0);
    Some(tokio::time::Instant::now() + Duration::from_millis(left))
}

/// Closes the connection because its credential ended.
async fn end(session: actix_ws::Session, e: Ended) {
    let _ = session
        .close(Some(actix_ws::CloseReason {
            code: e.code.into(),
            description: Some(e.reason.into()),
        }))
        .await;
}

async fn send(
    state: &AppState,
    caller: &Arc<crate::auth::Caller>,
    session: &mut actix_ws::Session,
    p: &Arc<Prepared>,
) -> Result<(), actix_ws::Closed> {
    if !p.recorded.contains(&super::delivery::recipient(caller)) {
        // Outside the pump's committed audience (a replay, or joined meanwhile): this frame's
        // disclosure is committed before it leaves.
        let record = super::delivery::disclosure(caller, p);
        if let Err(e) = state.journal.commit(vec![record]).await {
            tracing::error!(error = %e, "cannot record a frame; closing the stream");
            let _ = session
                .clone()
                .close(Some(actix_ws::CloseReason {
                    code: actix_ws::CloseCode::Error,
                    description: Some("cannot record the delivery; reconnect with since".into()),
                }))
                .await;
            return Err(actix_ws::Closed);
        }
    }
    session.text(p.frame.clone()).await?;
    state.metrics.stream_frames.inc();
    if let Some(n) = p.event.escalation.clone() {
        let now = crate::db::rows::now_ms();
        if let Err(e) = state
            .db
            .write(move |c| crate::escalation::ack::handed_off(c, &n, now))
            .await
        {
            tracing::warn!(error = %e, "cannot record an escalation frame as handed off");
        }
    }
    if let Some(a) = p.event.clock_alert.clone() {
        let now = crate::db::rows::now_ms();
        if let Err(e) = state
            .db
            .write(move |c| crate::escalation::alerts::handed_off(c, &a, now))
            .await
        {
            tracing::warn!(error = %e, "cannot record a clock alert frame as handed off");
        }
    }
    Ok(())
}

/// What the server answers a client's frame: nothing for a receipt taken, `acknowledged` or
/// `refused` (with the status the REST API would give) otherwise.
async fn answer(
    state: &AppState,
    caller: &Arc<crate::auth::Caller>,
    text: &str,
) -> Option<StreamFrame> {
    use actix_web::ResponseError;
    let refused = |e: AppError| StreamFrame::Refused {
        status: e.status_code().as_u16(),
        detail: e.problem().detail,
    };
    let f: ClientFrame = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            return Some(refused(AppError::BadRequest {
                code: "bad_frame",
                detail: format!(
                    "Not a client frame ({e}). Send {{\"type\":\"received\",\"seq\":N}} or \
                     {{\"type\":\"acknowledge\",\"incident_id\":\"...\"}}."
                ),
            }))
        }
    };
    let who = caller.clone();
    let now = crate::db::rows::now_ms();
    match f {
        ClientFrame::Received { seq } => state
            .exec
            .run(move |c| crate::escalation::ack::delivered(c, &who, seq, now))
            .await
            .err()
            .map(refused),
        ClientFrame::Acknowledge { incident_id } => {
            if let Err(e) = caller.require(cirhub_shared::Role::Analyst) {
                return Some(refused(e));
            }
            let id = incident_id.clone();
            Some(
                match state
                    .exec
                    .run(move |c| {
                        crate::escalation::ack::acknowledge_own(c, &who, &id, "websocket")
                    })
                    .await
                {
                    Ok(e) => StreamFrame::Acknowledged {
                        incident_id,
                        state: e.state,
                    },
                    Err(e) => refused(e),
                },
            )
        }
    }
}
