//! WebSocket fan-out benchmark: N subscribers across M customer organisations with varied
//! subscriptions, connected to one `cirhub serve` run with a user's settings
//! (`scripts/run.sh`); provider updates published; delivery latency (p50, p99, time to the
//! last delivery) measured at the clients, and the time by which the server had recorded a
//! disclosure for every frame. In the same run, the same number of clients on a bare
//! tokio-tungstenite broadcast server (no auth, no filter, no audit) give the floor.
//!
//! Two scenarios: single updates in alternating rounds (cirhub, floor, cirhub, …), then a
//! burst of updates posted back to back (default 20, 100 ms apart) on each side. Every client
//! of both sides stays connected for the whole run, which is checked on both ends (the
//! clients' own count, cirhub's `cirhub_stream_connections` gauge, the floor's count); memory
//! per connection is read after the frames have flowed. The process exits non-zero when a
//! target is missed.
//!
//! `ws-fanout [--connections N] [--orgs M] [--rounds R] [--burst K] [--gap-ms MS]
//! [--cirhub PATH] [--server-cpus LIST] [--log PATH]`; `ws-fanout floor-server PORT
//! CONTROL_PORT BYTES HEARTBEAT_SECS` is the floor, started by the benchmark as a child.

mod clients;
mod disclosures;
mod floor;
mod report;
mod run;
mod seed;
mod servers;

use std::path::PathBuf;

pub struct Args {
    connections: usize,
    orgs: usize,
    rounds: usize,
    burst: usize,
    gap_ms: u64,
    cirhub: PathBuf,
    /// CPUs for cirhub and the floor (`taskset -c` list); the clients run where this
    /// process was placed.
    server_cpus: Option<String>,
    log: PathBuf,
}

const USAGE: &str = "usage: ws-fanout [--connections N] [--orgs M] [--rounds R] [--burst K] \
    [--gap-ms MS] [--cirhub PATH] [--server-cpus LIST] [--log PATH]";

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        connections: 10_000,
        orgs: 100,
        rounds: 5,
        burst: 20,
        gap_ms: 100,
        cirhub: "target/release/cirhub".into(),
        server_cpus: None,
        log: "target/bench/ws-fanout-cirhub.log".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{k} needs a value\n{USAGE}"))?;
        match k.as_str() {
            "--connections" => a.connections = v.parse()?,
            "--orgs" => a.orgs = v.parse::<usize>()?.max(1),
            "--rounds" => a.rounds = v.parse::<usize>()?.max(1),
            "--burst" => a.burst = v.parse::<usize>()?.max(1),
            "--gap-ms" => a.gap_ms = v.parse()?,
            "--cirhub" => a.cirhub = v.into(),
            "--server-cpus" => a.server_cpus = Some(v).filter(|v| !v.is_empty()),
            "--log" => a.log = v.into(),
            _ => anyhow::bail!(USAGE),
        }
    }
    Ok(a)
}

fn main() -> anyhow::Result<()> {
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some("floor-server") {
        let mut num = || -> anyhow::Result<u64> { Ok(raw.next().unwrap_or_default().parse()?) };
        let (port, control, bytes, beat) = (num()?, num()?, num()?, num()?);
        rlimit::increase_nofile_limit(u64::MAX)?;
        return floor::serve(port as u16, control as u16, bytes as usize, beat);
    }
    let a = args()?;
    rlimit::increase_nofile_limit(u64::MAX)?;
    // As many threads as this process has CPUs (taskset narrows that).
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let passed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?
        .block_on(run::run(a))?;
    if !passed {
        std::process::exit(1);
    }
    Ok(())
}
