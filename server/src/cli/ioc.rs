//! `cirhub ioc import FILE`: streams a STIX 2.1 bundle, MISP JSON event or CSV file into an
//! organisation's indicators, with a progress bar on a terminal (a line every few seconds
//! otherwise), each refused record on stderr (or in `--errors FILE`) with its position and
//! reason, and a summary on stdout. Exit status: 0 every record stored or already held,
//! 3 some records refused, 1 the import stopped (a broken file, a database error).

use crate::auth::{Actor, Caller};
use crate::db::Db;
use crate::identity::accounts;
use crate::sharing::formats::Format;
use crate::sharing::import::{self, Outcome, Spec};
use cirhub_shared::sharing::Tlp;
use cirhub_shared::Role;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `cirhub ioc` subcommands.
#[derive(clap::Subcommand)]
pub enum IocCommand {
    /// Import a file of indicators (STIX 2.1 bundle or JSON lines, MISP JSON event, CSV with
    /// a header `type,value,tlp,category,comment`) into an organisation, streamed.
    Import {
        /// The file to import.
        file: PathBuf,
        /// Organisation slug or id that will own the objects.
        #[arg(long)]
        org: String,
        /// stix, misp or csv (default: told by the file's name and first bytes).
        #[arg(long)]
        format: Option<String>,
        /// TLP for records that carry none: clear, green, amber, amber+strict, red.
        #[arg(long, default_value = "amber")]
        tlp: String,
        /// Share every imported object under this agreement in force (repeatable).
        #[arg(long = "share-under")]
        share_under: Vec<String>,
        /// Write refused records here (one `position<TAB>reason` line each) instead of stderr.
        #[arg(long)]
        errors: Option<PathBuf>,
        /// No progress output.
        #[arg(long)]
        quiet: bool,
    },
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    n: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

fn bar(done: u64, total: u64) -> String {
    let width = 30;
    let filled = (done.min(total) * width).checked_div(total).unwrap_or(0) as usize;
    format!(
        "[{}{}] {:>3}%",
        "#".repeat(filled),
        "-".repeat(width as usize - filled),
        (done.min(total) * 100).checked_div(total).unwrap_or(0)
    )
}

/// Runs `cirhub ioc import`.
pub fn run(db: &Db, command: IocCommand) -> anyhow::Result<ExitCode> {
    let IocCommand::Import {
        file,
        org,
        format,
        tlp,
        share_under,
        errors,
        quiet,
    } = command;
    let tlp: Tlp = tlp.parse().map_err(|e| anyhow::anyhow!("--tlp: {e}"))?;
    let format = match format {
        Some(f) => f
            .parse::<Format>()
            .map_err(|e| anyhow::anyhow!("--format: {e}"))?,
        None => {
            let mut head = vec![0u8; 8192];
            let n = File::open(&file)?.read(&mut head)?;
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            Format::guess(name, &head[..n]).ok_or_else(|| {
                anyhow::anyhow!(
                    "cannot tell the format of {}: pass --format stix, misp or csv",
                    file.display()
                )
            })?
        }
    };
    let total = std::fs::metadata(&file)?.len();
    let org = accounts::find_org(&mut *db.conn()?, &org)?;
    let caller = Caller {
        org_id: org.id.clone(),
        role: Role::Admin,
        actor: Actor::System,
        session_id: None,
    };
    let counter = Arc::new(AtomicU64::new(0));
    let mut open = {
        let (file, counter) = (file.clone(), counter.clone());
        move || -> std::io::Result<Box<dyn BufRead>> {
            counter.store(0, Ordering::Relaxed);
            Ok(Box::new(BufReader::with_capacity(
                1 << 20,
                Counting {
                    inner: File::open(&file)?,
                    n: counter.clone(),
                },
            )))
        }
    };
    let mut sink: Box<dyn Write> = match &errors {
        Some(p) => Box::new(std::io::BufWriter::new(File::create(p)?)),
        None => Box::new(std::io::stderr()),
    };
    let tty = std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut shown = Instant::now();
    let import_id = crate::db::rows::new_id();
    let spec = Spec {
        format,
        tlp,
        share_under,
    };
    let bytes = {
        let counter = counter.clone();
        move || counter.load(Ordering::Relaxed)
    };
    let mut progress = |o: &mut Outcome| -> Result<(), crate::error::AppError> {
        for e in o.fresh.drain(..) {
            let _ = writeln!(sink, "{}\t{}", e.position, e.reason);
        }
        let every = if tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        if !quiet && shown.elapsed() >= every {
            shown = Instant::now();
            let rate = o.counts.read as f64 / start.elapsed().as_secs_f64().max(1e-3);
            let line = format!(
                "{} {} records, {} refused, {:.0}/s",
                bar(o.counts.bytes_read, total),
                o.counts.read,
                o.counts.rejected,
                rate
            );
            if tty {
                eprint!("\r{line}");
            } else {
                eprintln!("{line}");
            }
        }
        Ok(())
    };
    // No live parts here: a running server's stream pump finds the notices by polling.
    let out = import::run(
        db,
        &|_| {},
        &caller,
        &import_id,
        &spec,
        &mut open,
        &bytes,
        &mut progress,
    )?;
    sink.flush()?;
    if tty && !quiet {
        eprintln!();
    }
    let secs = start.elapsed().as_secs_f64();
    let c = &out.counts;
    println!(
        "imported {} into {}: {} records read, {} created, {} new versions, {} unchanged, {} duplicate values, {} refused, in {:.1} s ({:.0} records/s)",
        file.display(),
        org.slug,
        c.read,
        c.created,
        c.updated,
        c.unchanged,
        c.duplicates,
        c.rejected,
        secs,
        c.read as f64 / secs.max(1e-3)
    );
    if let Some(f) = &out.failure {
        println!("stopped: {f}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(if c.rejected > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
