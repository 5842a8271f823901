//! The floor: a bare tokio-tungstenite broadcast server — no authentication, no filtering,
//! no audit. It keeps every connection open for the whole run, sends each one a text
//! heartbeat and a ping every `heartbeat` seconds as cirhub's stream does, and is driven by
//! line commands on its control port: `send N` broadcasts one message carrying the marker of
//! update N (padded to the size of cirhub's frames) to the receivers; `count` answers the
//! number of WebSocket connections open right now, so a lost client cannot go unnoticed.

use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

/// The message of update `n`: its marker, padded with `x` to `bytes`.
pub fn payload(n: usize, bytes: usize) -> String {
    let mut s = format!("{}{n}]", crate::clients::MARK);
    let pad = bytes.saturating_sub(s.len());
    s.push_str(&"x".repeat(pad));
    s
}

/// Decrements the open-connection count when a connection's task ends, however it ends.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub fn serve(port: u16, control: u16, bytes: usize, heartbeat: u64) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?
        .block_on(async move {
            let (tx, _) = broadcast::channel::<Message>(64);
            let open = Arc::new(AtomicUsize::new(0));
            let ws = TcpListener::bind(("127.0.0.1", port)).await?;
            let ctl = TcpListener::bind(("127.0.0.1", control)).await?;
            let (trigger, count) = (tx.clone(), open.clone());
            tokio::spawn(async move {
                while let Ok((s, _)) = ctl.accept().await {
                    let (r, mut w) = s.into_split();
                    let mut lines = BufReader::new(r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let answer = match line.split_once(' ') {
                            Some(("send", n)) => match n.trim().parse::<usize>() {
                                Ok(n) => {
                                    let _ = trigger.send(Message::text(payload(n, bytes)));
                                    "ok".to_string()
                                }
                                Err(_) => "bad".to_string(),
                            },
                            _ if line == "count" => count.load(Ordering::SeqCst).to_string(),
                            _ => "bad".to_string(),
                        };
                        if w.write_all(format!("{answer}\n").as_bytes()).await.is_err() {
                            break;
                        }
                    }
                }
            });
            let beat = Duration::from_secs(heartbeat.max(1));
            loop {
                let (stream, _) = ws.accept().await?;
                // As actix-web does for cirhub: no Nagle delay on small frames.
                let _ = stream.set_nodelay(true);
                let rx = tx.subscribe();
                let open = open.clone();
                tokio::spawn(async move {
                    // Connections to `/quiet` get no broadcast (the same share of
                    // non-receivers as the cirhub run) but stay open and get heartbeats.
                    let mut quiet = false;
                    #[allow(clippy::result_large_err)] // the handshake callback's signature
                    let cb = |req: &Request, res: Response| {
                        quiet = req.uri().path() == "/quiet";
                        Ok(res)
                    };
                    let Ok(conn) = tokio_tungstenite::accept_hdr_async(stream, cb).await else {
                        return;
                    };
                    open.fetch_add(1, Ordering::SeqCst);
                    let _open = Open(open);
                    let mut rx = (!quiet).then_some(rx);
                    let (mut sink, mut read) = conn.split();
                    let mut ticker =
                        tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
                    loop {
                        tokio::select! {
                            m = async {
                                match rx.as_mut() {
                                    Some(rx) => rx.recv().await,
                                    None => std::future::pending().await,
                                }
                            } => match m {
                                Ok(m) => if sink.send(m).await.is_err() { return },
                                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                                Err(_) => return,
                            },
                            _ = ticker.tick() => {
                                let beat = Message::text(r#"{"type":"heartbeat","last_seq":0}"#);
                                if sink.send(beat).await.is_err()
                                    || sink.send(Message::Ping(Vec::new().into())).await.is_err()
                                {
                                    return;
                                }
                            }
                            r = read.next() => if !matches!(r, Some(Ok(_))) { return },
                        }
                    }
                });
            }
        })
}
