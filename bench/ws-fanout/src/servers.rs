//! The two servers under test, as child processes: `cirhub serve` with the settings
//! `scripts/run.sh` gives a user, and the floor; each optionally pinned to CPUs with
//! `taskset`, and each asked how many stream connections it holds.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A child process killed on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `program args…`, through `taskset -c CPUS` when CPUs are given.
fn pinned(cpus: Option<&str>, program: &Path) -> Command {
    match cpus {
        Some(c) => {
            let mut cmd = Command::new("taskset");
            cmd.args(["-c", c]).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

pub struct Cirhub {
    pub proc: Proc,
    pub base: String,
    pub port: u16,
    pub log: PathBuf,
    /// The settings it runs with, for the report.
    pub settings: String,
}

/// Starts `cirhub serve` as `scripts/run.sh` does: default stream settings (heartbeat 20 s),
/// `RUST_LOG` as the caller's environment has it (unset: the server's default, `info`), the
/// log format of run.sh (`CIRHUB_LOG_FORMAT`, default `pretty`), its output to `log`.
pub async fn cirhub(
    bin: &Path,
    db: &Path,
    dir: &Path,
    cpus: Option<&str>,
    log: PathBuf,
) -> anyhow::Result<Cirhub> {
    let port = free_port()?;
    let format = std::env::var("CIRHUB_LOG_FORMAT").unwrap_or_else(|_| "pretty".into());
    let rust_log = std::env::var("RUST_LOG").ok();
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let out = std::fs::File::create(&log)?;
    let mut cmd = pinned(cpus, bin);
    cmd.arg("serve")
        .env("CIRHUB_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", db)
        .env("CIRHUB_DATA_DIR", dir)
        .env("CIRHUB_JWT_SECRET", crate::seed::JWT_SECRET)
        .env("CIRHUB_LOG_FORMAT", &format)
        .env_remove("CIRHUB_STREAM_HEARTBEAT_SECS")
        .env_remove("CIRHUB_STREAM_QUEUE")
        .env_remove("CIRHUB_STREAM_POLL_MS")
        .stdout(out.try_clone()?)
        .stderr(out);
    let proc = Proc(cmd.spawn()?);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/readyz")).send().await.is_err() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "cirhub did not start; see {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settings = format!(
        "default stream settings (heartbeat 20 s), RUST_LOG={}, CIRHUB_LOG_FORMAT={format}, \
         log written to {}",
        rust_log.as_deref().unwrap_or("unset (default info)"),
        log.display()
    );
    Ok(Cirhub {
        proc,
        base,
        port,
        log,
        settings,
    })
}

/// cirhub's own count of open stream connections (the `cirhub_stream_connections` gauge).
pub async fn stream_connections(http: &reqwest::Client, base: &str) -> anyhow::Result<i64> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    text.lines()
        .find_map(|l| l.strip_prefix("cirhub_stream_connections "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as i64)
        .ok_or_else(|| anyhow::anyhow!("/metrics has no cirhub_stream_connections"))
}

/// Waits up to `wait` for `read` to give `n`; returns the last value read.
pub async fn settle<F, Fut>(n: i64, wait: Duration, mut read: F) -> anyhow::Result<i64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<i64>>,
{
    let deadline = Instant::now() + wait;
    loop {
        let v = read().await?;
        if v == n || Instant::now() >= deadline {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub struct Floor {
    pub proc: Proc,
    pub port: u16,
    control: u16,
}

/// Starts the floor (this same binary as `floor-server`), pinned like cirhub.
pub async fn floor(cpus: Option<&str>, bytes: usize) -> anyhow::Result<Floor> {
    let (port, control) = (free_port()?, free_port()?);
    let me = std::env::current_exe()?;
    let proc = Proc(
        pinned(cpus, &me)
            .args([
                "floor-server",
                &port.to_string(),
                &control.to_string(),
                &bytes.to_string(),
                "20",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", control)).is_err() {
        anyhow::ensure!(Instant::now() < deadline, "floor server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Floor {
        proc,
        port,
        control,
    })
}

impl Floor {
    async fn command(&self, line: &str) -> anyhow::Result<String> {
        let s = tokio::net::TcpStream::connect(("127.0.0.1", self.control)).await?;
        let (r, mut w) = s.into_split();
        w.write_all(format!("{line}\n").as_bytes()).await?;
        let answer = BufReader::new(r)
            .lines()
            .next_line()
            .await?
            .unwrap_or_default();
        anyhow::ensure!(answer != "bad", "the floor refused {line:?}");
        Ok(answer)
    }

    /// Broadcasts update `n` to the floor's receivers.
    pub async fn send(&self, n: usize) -> anyhow::Result<()> {
        self.command(&format!("send {n}")).await.map(drop)
    }

    /// The floor's count of open WebSocket connections.
    pub async fn connections(&self) -> anyhow::Result<i64> {
        Ok(self.command("count").await?.parse()?)
    }
}
