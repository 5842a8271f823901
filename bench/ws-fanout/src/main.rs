//! WebSocket fan-out benchmark: N subscribers across M customer organisations with varied
//! subscriptions, connected to one `cirhub serve`; one provider update published; delivery
//! latency (p50, p99, max = time to the last delivery) measured at the clients. In the same
//! run, the same number of clients on a bare tokio-tungstenite broadcast server (no auth, no
//! filter, no audit) give the floor. Also: the server's resident memory per idle connection.
//!
//! Both sets of clients stay connected while rounds alternate (cirhub, floor, cirhub, …), so
//! both sides see the same machine; the report gives every round and the medians.
//!
//! `ws-fanout [--connections N] [--orgs M] [--rounds R] [--cirhub PATH]`; `ws-fanout floor-server PORT
//! CONTROL_PORT BYTES` is the floor, started by the benchmark as a child process (each side
//! then has its own open-file limit).

mod floor;
mod seed;

use futures_util::StreamExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    connections: usize,
    orgs: usize,
    rounds: usize,
    cirhub: String,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        connections: 10_000,
        orgs: 100,
        rounds: 5,
        cirhub: "target/release/cirhub".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{k} needs a value"))?;
        match k.as_str() {
            "--connections" => a.connections = v.parse()?,
            "--orgs" => a.orgs = v.parse()?,
            "--rounds" => a.rounds = v.parse::<usize>()?.max(1),
            "--cirhub" => a.cirhub = v,
            _ => anyhow::bail!(
                "usage: ws-fanout [--connections N] [--orgs M] [--rounds R] [--cirhub PATH]"
            ),
        }
    }
    Ok(a)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Latency statistics of one run.
struct Stats {
    received: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| {
        if ms.is_empty() {
            return f64::NAN;
        }
        let i = ((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1;
        ms[i]
    };
    Stats {
        received: ms.len(),
        p50: at(0.50),
        p99: at(0.99),
        max: ms.last().copied().unwrap_or(f64::NAN),
    }
}

/// What each client reports: its index, when the first event arrived, and its size.
type Arrival = (usize, Instant, usize);

/// Connects `n` clients (URL and optional bearer token per client); each reports the arrival
/// of every `event` frame (cirhub) or text message (floor). Returns once all are connected
/// and ready; the clients live until `stop` changes.
async fn connect_all(
    n: usize,
    url: &dyn Fn(usize) -> String,
    tokens: &[String],
    cirhub: bool,
    arrivals: mpsc::UnboundedSender<Arrival>,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let gate = Arc::new(Semaphore::new(200));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Result<(), String>>();
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
        handles.push(tokio::spawn(async move {
            let ws = match tokio_tungstenite::connect_async(req).await {
                Ok((ws, _)) => ws,
                Err(e) => {
                    let _ = ready.send(Err(e.to_string()));
                    return;
                }
            };
            let (_sink, mut read) = ws.split();
            let mut announced = !cirhub;
            if announced {
                let _ = ready.send(Ok(()));
            }
            drop(permit);
            loop {
                tokio::select! {
                    msg = read.next() => match msg {
                        Some(Ok(Message::Text(t))) => {
                            let at = Instant::now();
                            if !announced {
                                if t.contains("\"type\":\"live\"") {
                                    announced = true;
                                    let _ = ready.send(Ok(()));
                                }
                                continue;
                            }
                            if !cirhub || t.starts_with("{\"type\":\"event\"") {
                                let _ = arrivals.send((i, at, t.len()));
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => {
                            if !announced {
                                let _ = ready.send(Err("closed before live".into()));
                            }
                            return;
                        }
                    },
                    _ = stop.changed() => return,
                }
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
    Ok(handles)
}

/// Collects arrivals until `expected` came in or `wait` passed (then a grace period).
async fn collect(
    rx: &mut mpsc::UnboundedReceiver<Arrival>,
    t0: Instant,
    expected: usize,
    wait: Duration,
) -> Vec<(usize, f64, usize)> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while got.len() < expected {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((i, at, n))) => got.push((i, at.duration_since(t0).as_secs_f64() * 1000.0, n)),
            _ => break,
        }
    }
    // Anything that should not have come?
    while let Ok(Some((i, at, n))) =
        tokio::time::timeout(Duration::from_millis(500), rx.recv()).await
    {
        got.push((i, at.duration_since(t0).as_secs_f64() * 1000.0, n));
    }
    got
}

fn main() -> anyhow::Result<()> {
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some("floor-server") {
        let port: u16 = raw.next().unwrap_or_default().parse()?;
        let control: u16 = raw.next().unwrap_or_default().parse()?;
        let bytes: usize = raw.next().unwrap_or_default().parse()?;
        rlimit::increase_nofile_limit(u64::MAX)?;
        return floor::serve(port, control, bytes);
    }
    let a = args()?;
    rlimit::increase_nofile_limit(u64::MAX)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(a))
}

/// One round on one side: what arrived, and its statistics.
struct Round {
    stats: Stats,
    unexpected: usize,
    bytes: usize,
}

/// Starts a round with `trigger`, then collects its arrivals.
async fn round(
    rx: &mut mpsc::UnboundedReceiver<Arrival>,
    receives: &[bool],
    expected: usize,
    trigger: impl std::future::Future<Output = anyhow::Result<()>>,
    t0: Instant,
) -> anyhow::Result<Round> {
    trigger.await?;
    let got = collect(rx, t0, expected, Duration::from_secs(30)).await;
    let unexpected = got
        .iter()
        .filter(|(i, _, _)| !receives[i % receives.len()])
        .count();
    Ok(Round {
        bytes: got.first().map(|g| g.2).unwrap_or(0),
        stats: stats(
            got.iter()
                .filter(|(i, _, _)| receives[i % receives.len()])
                .map(|(_, ms, _)| *ms)
                .collect(),
        ),
        unexpected,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn worst(v: impl Iterator<Item = f64>) -> f64 {
    v.fold(f64::NAN, f64::max)
}

async fn run(a: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("cirhub.db");
    eprintln!("seeding {} customer organisations…", a.orgs);
    let world = seed::seed(&db, a.orgs)?;
    let expected = (0..a.connections)
        .filter(|i| world.receives[i % a.orgs])
        .count();

    // ---- cirhub: heartbeats far apart, so that none falls into a round (all 10,000 clients
    // connect within seconds, so their heartbeats would come as one burst).
    let port = free_port()?;
    let server = Proc(
        Command::new(&a.cirhub)
            .arg("serve")
            .env("CIRHUB_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &db)
            .env("CIRHUB_DATA_DIR", dir.path())
            .env("CIRHUB_JWT_SECRET", seed::JWT_SECRET)
            .env("CIRHUB_STREAM_HEARTBEAT_SECS", "600")
            .env("CIRHUB_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/readyz")).send().await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "cirhub did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_kib(server.0.id());
    eprintln!("connecting {} clients to cirhub…", a.connections);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (tx, mut crx) = mpsc::unbounded_channel();
    let url = format!("ws://127.0.0.1:{port}/api/v1/stream");
    let mut handles = connect_all(
        a.connections,
        &|_| url.clone(),
        &world.tokens,
        true,
        tx,
        &stop_rx,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss_kib(server.0.id());

    // ---- floor: started once the frame size is known (from cirhub's first update, which,
    // like the floor's first broadcast, is not measured: first sends allocate buffers).
    let warm = round(
        &mut crx,
        &world.receives,
        expected,
        publish(&http, &base, &world, 0),
        Instant::now(),
    )
    .await?;
    anyhow::ensure!(warm.bytes > 0, "the warm-up update reached no client");
    let fport = free_port()?;
    let cport = free_port()?;
    let me = std::env::current_exe()?;
    let _floor = Proc(
        Command::new(me)
            .args([
                "floor-server",
                &fport.to_string(),
                &cport.to_string(),
                &warm.bytes.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", cport)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "floor server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("connecting {} clients to the floor…", a.connections);
    let (tx, mut frx) = mpsc::unbounded_channel();
    let receives = world.receives.clone();
    let orgs = a.orgs;
    let furl = move |i: usize| {
        let path = if receives[i % orgs] { "all" } else { "quiet" };
        format!("ws://127.0.0.1:{fport}/{path}")
    };
    handles.extend(connect_all(a.connections, &furl, &[], false, tx, &stop_rx).await?);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The floor's first, unmeasured broadcast, as cirhub had its first update.
    round(
        &mut frx,
        &world.receives,
        expected,
        trigger(cport),
        Instant::now(),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // ---- rounds, alternating; a pause after each lets the server finish its delivery records.
    let (mut ours, mut floors) = (Vec::new(), Vec::new());
    for r in 1..=a.rounds {
        eprintln!("round {r} of {}…", a.rounds);
        let t0 = Instant::now();
        ours.push(
            round(
                &mut crx,
                &world.receives,
                expected,
                publish(&http, &base, &world, r),
                t0,
            )
            .await?,
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t0 = Instant::now();
        floors.push(round(&mut frx, &world.receives, expected, trigger(cport), t0).await?);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    drop(server);

    let per_conn = rss_after.saturating_sub(rss_before) as f64 / a.connections as f64;
    let med = |rs: &[Round], f: fn(&Stats) -> f64| median(rs.iter().map(|r| f(&r.stats)).collect());
    let (c50, c99, cmax) = (
        med(&ours, |s| s.p50),
        med(&ours, |s| s.p99),
        med(&ours, |s| s.max),
    );
    let (f50, f99, fmax) = (
        med(&floors, |s| s.p50),
        med(&floors, |s| s.p99),
        med(&floors, |s| s.max),
    );
    let ratio = cmax / fmax;
    let unexpected: usize = ours.iter().map(|r| r.unexpected).sum();
    let complete = ours.iter().all(|r| r.stats.received == expected)
        && floors.iter().all(|r| r.stats.received == expected);
    let yes = |b: bool| if b { "yes" } else { "NO" };
    let mut report = format!(
        "ws-fanout: {} connections, {} customer organisations, {} expected receivers per update, \
         event frame ~{} bytes, {} rounds\n",
        a.connections, a.orgs, expected, warm.bytes, a.rounds
    );
    for (r, (c, f)) in ours.iter().zip(&floors).enumerate() {
        report += &format!(
            "round {}: cirhub got {} (unexpected {}), p50 {:.1} ms, p99 {:.1} ms, last {:.1} ms | \
             floor got {}, p50 {:.1} ms, p99 {:.1} ms, last {:.1} ms\n",
            r + 1,
            c.stats.received,
            c.unexpected,
            c.stats.p50,
            c.stats.p99,
            c.stats.max,
            f.stats.received,
            f.stats.p50,
            f.stats.p99,
            f.stats.max,
        );
    }
    report += &format!(
        "cirhub (median of rounds): p50 {c50:.1} ms, p99 {c99:.1} ms, time to last {cmax:.1} ms; \
         worst round: p99 {:.1} ms, time to last {:.1} ms\n\
         floor  (median of rounds): p50 {f50:.1} ms, p99 {f99:.1} ms, time to last {fmax:.1} ms; \
         worst round: p99 {:.1} ms, time to last {:.1} ms\n\
         ratio (cirhub/floor, medians of the time to last delivery): {ratio:.2}\n\
         memory:  cirhub RSS {:.1} MiB before, {:.1} MiB with all connected and idle: {per_conn:.1} KiB per idle connection\n\
         targets: p99 < 250 ms: {}; time to last <= 1.5x floor: {}; < 32 KiB per idle connection: {}; \
         every receiver got every update and no one else: {}\n",
        worst(ours.iter().map(|r| r.stats.p99)),
        worst(ours.iter().map(|r| r.stats.max)),
        worst(floors.iter().map(|r| r.stats.p99)),
        worst(floors.iter().map(|r| r.stats.max)),
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        yes(c99 < 250.0),
        yes(ratio <= 1.5),
        yes(per_conn < 32.0),
        yes(unexpected == 0 && complete),
    );
    print!("{report}");
    Ok(())
}

/// Makes the floor server broadcast once.
async fn trigger(control: u16) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut ctl = tokio::net::TcpStream::connect(("127.0.0.1", control)).await?;
    ctl.write_all(b"!").await?;
    Ok(())
}

/// Posts update number `n` of the benchmark's incident.
async fn publish(
    http: &reqwest::Client,
    base: &str,
    world: &seed::World,
    n: usize,
) -> anyhow::Result<()> {
    let res = http
        .post(format!("{base}/api/v1/incidents/{}/updates", world.incident_id))
        .bearer_auth(&world.provider_token)
        .json(&serde_json::json!({
            "status": "identified",
            "body": format!("Update {n}: the cause was found, a faulty switch in one Tokyo zone. Traffic is being moved."),
        }))
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "publish failed: {}",
        res.status()
    );
    Ok(())
}
