//! The benchmark's WebSocket clients. Each stays connected until the run stops it, answers
//! pings (tungstenite replies while reading), and reports every update frame it gets with the
//! marker of the update it carries. A client whose connection ends before the stop is counted
//! as lost, with the reason, so a run that quietly loses clients cannot pass.

use futures_util::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Every published update and every floor message carries `[bench-update-N]`.
pub const MARK: &str = "[bench-update-";

/// The update number a frame carries, if any.
pub fn marker(text: &str) -> Option<usize> {
    let rest = &text[text.find(MARK)? + MARK.len()..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// One update frame at one client.
pub struct Arrival {
    pub client: usize,
    pub at: Instant,
    pub bytes: usize,
    pub marker: Option<usize>,
}

/// One side's clients: how many are connected now, and why the lost ones ended.
pub struct Side {
    pub live: Arc<AtomicUsize>,
    pub lost: Arc<Mutex<Vec<String>>>,
    pub handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Side {
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    pub fn first_loss(&self) -> Option<String> {
        self.lost.lock().ok()?.first().cloned()
    }
}

/// Connects `n` clients (URL and optional bearer token per client) and returns once all are
/// connected and ready (cirhub: after `live`). They live until `stop` changes.
pub async fn connect_all(
    n: usize,
    url: &dyn Fn(usize) -> String,
    tokens: &[String],
    cirhub: bool,
    arrivals: mpsc::UnboundedSender<Arrival>,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Side> {
    let gate = Arc::new(Semaphore::new(200));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Result<(), String>>();
    let live = Arc::new(AtomicUsize::new(0));
    let lost = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let mut req = url(i).into_client_request()?;
        if cirhub {
            let token = &tokens[i % tokens.len()];
            req.headers_mut()
                .insert("Authorization", format!("Bearer {token}").parse()?);
        }
        let ready = ready_tx.clone();
        let arrivals = arrivals.clone();
        let mut stop = stop.clone();
        let (live, lost) = (live.clone(), lost.clone());
        handles.push(tokio::spawn(async move {
            let ws = match tokio_tungstenite::connect_async(req).await {
                Ok((ws, _)) => ws,
                Err(e) => {
                    let _ = ready.send(Err(e.to_string()));
                    return;
                }
            };
            // The write half must live as long as the read half: tungstenite sends its pong
            // replies through the shared stream while reading.
            let (_sink, mut read) = ws.split();
            let mut announced = false;
            if !cirhub {
                announced = true;
                live.fetch_add(1, Ordering::SeqCst);
                let _ = ready.send(Ok(()));
            }
            drop(permit);
            let why = loop {
                tokio::select! {
                    msg = read.next() => match msg {
                        Some(Ok(Message::Text(t))) => {
                            let at = Instant::now();
                            if !announced {
                                if t.contains("\"type\":\"live\"") {
                                    announced = true;
                                    live.fetch_add(1, Ordering::SeqCst);
                                    let _ = ready.send(Ok(()));
                                }
                                continue;
                            }
                            let update = if cirhub {
                                t.starts_with("{\"type\":\"event\"")
                            } else {
                                t.contains(MARK)
                            };
                            if update {
                                let marker = marker(&t);
                                let _ = arrivals.send(Arrival { client: i, at, bytes: t.len(), marker });
                            }
                        }
                        Some(Ok(Message::Close(c))) => break format!("closed by the server: {c:?}"),
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break format!("error: {e}"),
                        None => break "connection ended".to_string(),
                    },
                    _ = stop.changed() => return,
                }
            };
            if announced {
                live.fetch_sub(1, Ordering::SeqCst);
                if let Ok(mut l) = lost.lock() {
                    l.push(format!("client {i}: {why}"));
                }
            } else {
                let _ = ready.send(Err(format!("before live: {why}")));
            }
        }));
    }
    let mut ok = 0;
    let mut failed = Vec::new();
    while ok + failed.len() < n {
        match ready_rx.recv().await {
            Some(Ok(())) => ok += 1,
            Some(Err(e)) => failed.push(e),
            None => break,
        }
    }
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {n} connections failed, e.g. {}",
            failed.len(),
            failed[0]
        );
    }
    Ok(Side {
        live,
        lost,
        handles,
    })
}

/// One received frame: client, milliseconds after the round's start, bytes, marker.
pub type Got = (usize, f64, usize, Option<usize>);

/// Collects arrivals until `expected` came in or `wait` passed, then for a grace period
/// anything that should not have come.
pub async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Arrival>,
    t0: Instant,
    expected: usize,
    wait: Duration,
) -> Vec<Got> {
    let ms = |a: &Arrival| a.at.saturating_duration_since(t0).as_secs_f64() * 1000.0;
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while got.len() < expected {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(a)) => got.push((a.client, ms(&a), a.bytes, a.marker)),
            _ => break,
        }
    }
    while let Ok(Some(a)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
        got.push((a.client, ms(&a), a.bytes, a.marker));
    }
    got
}
