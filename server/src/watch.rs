//! `cirhub watch`: tails `/api/v1/stream` in a terminal (one line per event) or as JSON lines
//! for scripts. It remembers the last sequence number and, after a dropped connection or a
//! resync request, reconnects with `since` so no event is lost or repeated.

use cirhub_shared::customer::{StreamEvent, StreamFrame};
use futures_util::{SinkExt, StreamExt};
use std::io::Write;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// What to watch and how to print it.
pub struct Watch {
    pub url: String,
    pub token: String,
    pub since: Option<i64>,
    pub json: bool,
    /// Stop after this many events (scripts, tests).
    pub count: Option<usize>,
}

/// One human-readable line for an event.
pub fn line(ev: &StreamEvent) -> String {
    let at = ev.at.format("%Y-%m-%d %H:%M:%S");
    match (&ev.incident, &ev.component, &ev.acknowledgement) {
        (Some(i), _, _) => {
            let update = i
                .latest_update
                .as_ref()
                .map(|u| format!(" — {}", u.body.lines().next().unwrap_or_default()))
                .unwrap_or_default();
            format!(
                "#{} {at} {} [{}] {} ({}, {}){update}",
                ev.seq, ev.kind, i.provider_name, i.title, i.status, i.priority
            )
        }
        (None, Some(c), _) => format!(
            "#{} {at} {} {} / {} {} -> {}",
            ev.seq,
            ev.kind,
            c.service_name,
            c.region_code.as_deref().unwrap_or("global"),
            c.name,
            c.status
        ),
        (None, None, Some(a)) => format!(
            "#{} {at} {} incident {} acknowledged by {} (version {})",
            ev.seq, ev.kind, a.incident_id, a.user_name, a.incident_version
        ),
        _ => format!("#{} {at} {}", ev.seq, ev.kind),
    }
}

fn stream_url(base: &str, since: Option<i64>) -> String {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    match since {
        Some(s) => format!("{ws}/api/v1/stream?since={s}"),
        None => format!("{ws}/api/v1/stream"),
    }
}

/// Runs until `count` events were printed (or forever).
pub async fn run(w: Watch) -> anyhow::Result<()> {
    let mut last = w.since;
    let mut printed = 0usize;
    let mut failures = 0u32;
    let out = std::io::stdout();
    loop {
        let mut req = stream_url(&w.url, last).into_client_request()?;
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {}", w.token))?,
        );
        let (mut ws, _) = match tokio_tungstenite::connect_async(req).await {
            Ok(c) => c,
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                let body = res
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                anyhow::bail!("the server refused the stream ({}): {body}", res.status());
            }
            Err(e) => {
                failures += 1;
                if failures > 30 {
                    return Err(e.into());
                }
                eprintln!("watch: cannot connect ({e}); retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        failures = 0;
        while let Some(msg) = ws.next().await {
            let text = match msg {
                Ok(Message::Text(t)) => t,
                Ok(Message::Ping(p)) => {
                    let _ = ws.send(Message::Pong(p)).await;
                    continue;
                }
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => continue,
            };
            let Ok(frame) = serde_json::from_str::<StreamFrame>(&text) else {
                continue;
            };
            match frame {
                StreamFrame::Event(ev) => {
                    last = Some(ev.seq);
                    let mut o = out.lock();
                    if w.json {
                        writeln!(o, "{text}")?;
                    } else {
                        writeln!(o, "{}", line(&ev))?;
                    }
                    o.flush()?;
                    printed += 1;
                    if w.count.is_some_and(|c| printed >= c) {
                        let _ = ws.close(None).await;
                        return Ok(());
                    }
                }
                StreamFrame::Hello { last_seq, .. } if last.is_none() => last = Some(last_seq),
                StreamFrame::Resync { since } => {
                    last = Some(since);
                    break;
                }
                _ => {}
            }
        }
        eprintln!("watch: disconnected; resuming after #{}", last.unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
