//! One run: seed, start cirhub, connect its clients, start the floor, connect its clients,
//! then the alternating rounds and the bursts, checking after each that nobody was lost.

use crate::clients::{collect, connect_all, Arrival, Side, MARK};
use crate::disclosures::{wall_ms, Auditor};
use crate::report::{self, median, worst, Burst, Round, Targets};
use crate::servers::{self, rss_kib, settle, Floor};
use crate::{seed, Args};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, UnboundedReceiver};

/// The CPUs a process may run on (`Cpus_allowed_list`).
fn cpus_of(pid: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

/// Connections held by each end of each side, compared with `n`; one report line.
async fn check(
    label: &str,
    n: usize,
    http: &reqwest::Client,
    base: &str,
    ours: &Side,
    floor: Option<(&Floor, &Side)>,
) -> anyhow::Result<(String, bool)> {
    let wait = Duration::from_secs(2);
    let held = settle(n as i64, wait, || servers::stream_connections(http, base)).await?;
    let mut ok = held == n as i64 && ours.live() == n;
    let mut line = format!("{label}: cirhub holds {held}, its clients {}", ours.live());
    if let Some((f, side)) = floor {
        let fheld = settle(n as i64, wait, || f.connections()).await?;
        ok &= fheld == n as i64 && side.live() == n;
        line += &format!("; floor holds {fheld}, its clients {}", side.live());
    }
    for loss in [Some(ours), floor.map(|f| f.1)].into_iter().flatten() {
        if let Some(l) = loss.first_loss() {
            line += &format!(" (first loss: {l})");
        }
    }
    Ok((line, ok))
}

/// Posts update number `n` of the benchmark's incident; its body carries the marker of `n`.
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
            "body": format!("{MARK}{n}] The cause was found, a faulty switch in one Tokyo zone. Traffic is being moved."),
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

/// Which side an update goes to.
enum To<'a> {
    Cirhub(&'a reqwest::Client, &'a str, &'a seed::World),
    Floor(&'a Floor),
}

impl To<'_> {
    async fn send(&self, n: usize) -> anyhow::Result<()> {
        match self {
            To::Cirhub(http, base, world) => publish(http, base, world, n).await,
            To::Floor(f) => f.send(n).await,
        }
    }
}

/// One update, timed from just before it is sent.
async fn single(
    to: &To<'_>,
    rx: &mut UnboundedReceiver<Arrival>,
    receives: &[bool],
    expected: usize,
    n: usize,
) -> anyhow::Result<(Round, i64)> {
    let (t0, w0) = (Instant::now(), wall_ms());
    to.send(n).await?;
    let got = collect(rx, t0, expected, Duration::from_secs(30)).await;
    Ok((report::round(&got, receives, n), w0))
}

/// `count` updates from `first` on, each `gap` after the previous one's start (or right after
/// it, if posting took longer), timed from the first.
async fn burst(
    to: &To<'_>,
    rx: &mut UnboundedReceiver<Arrival>,
    receives: &[bool],
    expected: usize,
    (first, count, gap): (usize, usize, Duration),
) -> anyhow::Result<(Burst, i64)> {
    let (t0, w0) = (Instant::now(), wall_ms());
    let mut starts = Vec::with_capacity(count);
    for k in 0..count {
        tokio::time::sleep_until((t0 + gap * k as u32).into()).await;
        starts.push(t0.elapsed().as_secs_f64() * 1000.0);
        to.send(first + k).await?;
    }
    let got = collect(rx, t0, expected * count, Duration::from_secs(60)).await;
    Ok((report::burst(&got, receives, first, &starts), w0))
}

pub async fn run(a: Args) -> anyhow::Result<bool> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("cirhub.db");
    eprintln!("seeding {} customer organisations…", a.orgs);
    let world = seed::seed(&db, a.orgs)?;
    let n = a.connections;
    let per_update: Vec<u64> = (0..a.orgs)
        .map(|o| {
            let clients = (0..n).filter(|i| i % a.orgs == o).count() as u64;
            if world.receives[o] {
                clients
            } else {
                0
            }
        })
        .collect();
    let expected = per_update.iter().sum::<u64>() as usize;
    let rcv = &world.receives;
    let cpus = a.server_cpus.as_deref();

    let server = servers::cirhub(&a.cirhub, &db, dir.path(), cpus, a.log.clone()).await?;
    let base = server.base.clone();
    let pid = server.proc.0.id();
    let http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_kib(pid);
    let auditor = Auditor {
        http: http.clone(),
        base: base.clone(),
        incident_id: world.incident_id.clone(),
        tokens: world.auditor_tokens.clone(),
        // One recipient per organisation that receives: its clients share its viewer's token.
        per_update: per_update.iter().map(|&c| u64::from(c > 0)).collect(),
    };
    let mut counts = auditor.counts().await?;
    let mut targets = Targets(Vec::new());
    let mut checks = Vec::new();
    let mut connected = true;
    let mut records_ok = true;

    eprintln!("connecting {n} clients to cirhub…");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (tx, mut crx) = mpsc::unbounded_channel();
    let url = format!("ws://127.0.0.1:{}/api/v1/stream", server.port);
    let ours = connect_all(n, &|_| url.clone(), &world.tokens, true, tx, &stop_rx).await?;
    let (line, ok) = check("connected", n, &http, &base, &ours, None).await?;
    connected &= ok;
    checks.push(line);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_connected = rss_kib(pid);

    // cirhub's first update is not measured (first sends allocate buffers); it gives the
    // frame size the floor pads its messages to.
    let cirhub = To::Cirhub(&http, &base, &world);
    let (warm, w0) = single(&cirhub, &mut crx, rcv, expected, 0).await?;
    anyhow::ensure!(warm.bytes > 0, "the warm-up update reached no client");
    let rec = auditor
        .wait(&counts, 1, w0, Duration::from_secs(30))
        .await?;
    records_ok &= rec.exact();
    counts = rec.counts;

    let floor = servers::floor(cpus, warm.bytes).await?;
    eprintln!("connecting {n} clients to the floor…");
    let (tx, mut frx) = mpsc::unbounded_channel();
    let fport = floor.port;
    let furl = |i: usize| {
        let path = if rcv[i % a.orgs] { "all" } else { "quiet" };
        format!("ws://127.0.0.1:{fport}/{path}")
    };
    let theirs = connect_all(n, &furl, &[], false, tx, &stop_rx).await?;
    let both = Some((&floor, &theirs));
    let (line, ok) = check("floor connected", n, &http, &base, &ours, both).await?;
    connected &= ok;
    checks.push(line);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let to_floor = To::Floor(&floor);
    single(&to_floor, &mut frx, rcv, expected, 0).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // ---- scenario 1: single updates, alternating. A cirhub round ends when the server has
    // recorded a disclosure for every frame it sent.
    let (mut ours_r, mut floor_r) = (Vec::new(), Vec::new());
    for r in 1..=a.rounds {
        eprintln!("round {r} of {}…", a.rounds);
        let (mut round, w0) = single(&cirhub, &mut crx, rcv, expected, r).await?;
        let rec = auditor
            .wait(&counts, 1, w0, Duration::from_secs(30))
            .await?;
        records_ok &= rec.exact();
        counts = rec.counts.clone();
        round.records = Some(rec);
        ours_r.push(round);
        tokio::time::sleep(Duration::from_secs(1)).await;
        floor_r.push(single(&to_floor, &mut frx, rcv, expected, r).await?.0);
        let (line, ok) = check(&format!("after round {r}"), n, &http, &base, &ours, both).await?;
        connected &= ok;
        checks.push(line);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // ---- scenario 2: a burst of updates posted back to back on each side.
    eprintln!("burst of {} updates, {} ms apart…", a.burst, a.gap_ms);
    let plan = (1000, a.burst, Duration::from_millis(a.gap_ms));
    let (mut ob, w0) = burst(&cirhub, &mut crx, rcv, expected, plan).await?;
    let rec = auditor
        .wait(&counts, a.burst as u64, w0, Duration::from_secs(60))
        .await?;
    records_ok &= rec.exact();
    ob.records = Some(rec);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (fb, _) = burst(&to_floor, &mut frx, rcv, expected, plan).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss_kib(pid);
    let (line, ok) = check("at the end", n, &http, &base, &ours, both).await?;
    connected &= ok;
    checks.push(line);

    let placement = format!(
        "cores: cirhub serve (pid {pid}) on CPU {}; floor server (pid {}) on CPU {}; \
         clients (this process, {} threads) on CPU {}",
        cpus_of(&pid.to_string()),
        floor.proc.0.id(),
        cpus_of(&floor.proc.0.id().to_string()),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpus_of("self"),
    );
    let _ = stop_tx.send(true);
    for h in ours.handles.into_iter().chain(theirs.handles) {
        let _ = h.await;
    }
    drop(floor);
    drop(server.proc);
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();

    // ---- report
    let med = |rs: &[Round], f: fn(&report::Stats) -> f64| {
        median(rs.iter().map(|r| f(&r.stats)).collect())
    };
    let (c50, c99, cmax) = (
        med(&ours_r, |s| s.p50),
        med(&ours_r, |s| s.p99),
        med(&ours_r, |s| s.max),
    );
    let (f50, f99, fmax) = (
        med(&floor_r, |s| s.p50),
        med(&floor_r, |s| s.p99),
        med(&floor_r, |s| s.max),
    );
    let crec = median(
        ours_r
            .iter()
            .filter_map(|r| r.records.as_ref()?.last_ms)
            .collect(),
    );
    let per_conn = rss_after.saturating_sub(rss_before) as f64 / n as f64;
    let mut out = format!(
        "ws-fanout: {n} connections, {} customer organisations, {expected} expected receivers \
         per update, event frame ~{} bytes, {} rounds, burst of {} updates {} ms apart\n\
         cirhub: {}; {} log lines, {} KiB\n{placement}\n",
        a.orgs,
        warm.bytes,
        a.rounds,
        a.burst,
        a.gap_ms,
        server.settings,
        log.lines().count(),
        log.len() / 1024,
    );
    out += "scenario 1, single updates (records: recipients disclosed found/expected, and when the newest was committed):\n";
    for (r, (c, f)) in ours_r.iter().zip(&floor_r).enumerate() {
        out += &format!(
            "round {}: {} | {}\n",
            r + 1,
            report::line("cirhub", c),
            report::line("floor", f)
        );
    }
    out += &format!(
        "cirhub (median of rounds): p50 {c50:.1} ms, p99 {c99:.1} ms, time to last {cmax:.1} ms, \
         all disclosures recorded at {crec:.1} ms; worst round: p99 {:.1} ms, time to last {:.1} ms\n\
         floor  (median of rounds): p50 {f50:.1} ms, p99 {f99:.1} ms, time to last {fmax:.1} ms; \
         worst round: p99 {:.1} ms, time to last {:.1} ms\n\
         ratio (cirhub/floor, medians of the time to last delivery): {:.2}\n",
        worst(ours_r.iter().map(|r| r.stats.p99)),
        worst(ours_r.iter().map(|r| r.stats.max)),
        worst(floor_r.iter().map(|r| r.stats.p99)),
        worst(floor_r.iter().map(|r| r.stats.max)),
        cmax / fmax,
    );
    out += &format!(
        "scenario 2, {} updates {} ms apart (latency of each update from its own post; time to last from the first post):\n{}\n{}\n",
        a.burst,
        a.gap_ms,
        report::burst_line("cirhub", &ob, expected),
        report::burst_line("floor ", &fb, expected),
    );
    out += &format!(
        "memory: cirhub RSS {:.1} MiB before, {:.1} MiB connected and idle, {:.1} MiB after the \
         rounds and the burst: {per_conn:.1} KiB per connection (after frames flowed)\n\
         connections (each end of each side):\n  {}\n",
        rss_before as f64 / 1024.0,
        rss_connected as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        checks.join("\n  "),
    );
    let complete = |rs: &[Round]| {
        rs.iter()
            .all(|r| r.stats.received == expected && r.unexpected == 0)
    };
    targets.add(
        "every client of both sides stayed connected for the whole run",
        connected,
    );
    targets.add(
        "every receiver got every update and no one else (both sides, both scenarios)",
        complete(&ours_r)
            && complete(&floor_r)
            && [&ob, &fb]
                .iter()
                .all(|b| b.received == expected * a.burst && b.unexpected == 0),
    );
    targets.add(
        "cirhub recorded exactly one disclosure per recipient and update, every round",
        records_ok,
    );
    targets.add("p99 < 250 ms (median of rounds)", c99 < 250.0);
    targets.add(
        "time to last delivery <= 1.5x the floor's (medians)",
        cmax <= 1.5 * fmax,
    );
    targets.add(
        "burst: every update's p99 < 250 ms",
        worst(ob.p99s.iter().copied()) < 250.0,
    );
    targets.add(
        "burst: time to last delivery <= 1.5x the floor's",
        ob.last <= 1.5 * fb.last,
    );
    targets.add(
        "< 32 KiB of server memory per connection after frames flowed",
        per_conn < 32.0,
    );
    out += &targets.render();
    print!("{out}");
    Ok(targets.all_held())
}
