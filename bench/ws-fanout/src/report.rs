//! Statistics of the rounds and the report, with the targets that make the run fail.

use crate::clients::Got;
use crate::disclosures::Recorded;

/// Latency statistics of one set of arrivals, in milliseconds.
pub struct Stats {
    pub received: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn stats(mut ms: Vec<f64>) -> Stats {
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

/// One update on one side.
pub struct Round {
    pub stats: Stats,
    /// Frames at clients that should get nothing, or carrying another update's marker.
    pub unexpected: usize,
    pub bytes: usize,
    /// cirhub only: its disclosure records of the round.
    pub records: Option<Recorded>,
}

/// Sorts one update's arrivals into expected and unexpected ones.
pub fn round(got: &[Got], receives: &[bool], marker: usize) -> Round {
    let ok = |(i, _, _, m): &&Got| receives[i % receives.len()] && *m == Some(marker);
    Round {
        bytes: got.first().map_or(0, |g| g.2),
        stats: stats(got.iter().filter(ok).map(|g| g.1).collect()),
        unexpected: got.iter().filter(|g| !ok(g)).count(),
        records: None,
    }
}

/// Updates posted back to back on one side.
pub struct Burst {
    /// p99 of each update, measured from its own post.
    pub p99s: Vec<f64>,
    /// From the first post to the last delivery of any update.
    pub last: f64,
    /// From the first post to the start of the last one.
    pub span: f64,
    pub received: usize,
    pub unexpected: usize,
    pub records: Option<Recorded>,
}

/// `got` is timed from the first post; `starts[k]` is when update `first + k` was posted.
pub fn burst(got: &[Got], receives: &[bool], first: usize, starts: &[f64]) -> Burst {
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); starts.len()];
    let mut unexpected = 0;
    for (i, ms, _, m) in got {
        match m
            .and_then(|m| m.checked_sub(first))
            .filter(|k| *k < starts.len())
        {
            Some(k) if receives[i % receives.len()] => per[k].push(ms - starts[k]),
            _ => unexpected += 1,
        }
    }
    Burst {
        received: per.iter().map(Vec::len).sum(),
        p99s: per.into_iter().map(|v| stats(v).p99).collect(),
        last: got.iter().map(|g| g.1).fold(f64::NAN, f64::max),
        span: starts.last().copied().unwrap_or(0.0),
        unexpected,
        records: None,
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn worst(v: impl Iterator<Item = f64>) -> f64 {
    v.fold(f64::NAN, f64::max)
}

pub fn records(r: &Option<Recorded>) -> String {
    match r {
        None => String::new(),
        Some(r) => format!(
            ", records {}/{} at {}",
            r.found,
            r.expected,
            r.last_ms
                .map_or("-".to_string(), |ms| format!("{ms:.1} ms"))
        ),
    }
}

pub fn line(side: &str, r: &Round) -> String {
    format!(
        "{side} got {} (unexpected {}), p50 {:.1} ms, p99 {:.1} ms, last {:.1} ms{}",
        r.stats.received,
        r.unexpected,
        r.stats.p50,
        r.stats.p99,
        r.stats.max,
        records(&r.records)
    )
}

pub fn burst_line(side: &str, b: &Burst, expected: usize) -> String {
    format!(
        "{side}: got {}/{} (unexpected {}), per-update p99 median {:.1} ms, worst {:.1} ms; \
         posts spanned {:.0} ms; time to last delivery {:.1} ms{}\n  per-update p99 (ms): {}",
        b.received,
        expected * b.p99s.len(),
        b.unexpected,
        median(b.p99s.clone()),
        worst(b.p99s.iter().copied()),
        b.span,
        b.last,
        records(&b.records),
        b.p99s
            .iter()
            .map(|p| format!("{p:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// The verdicts: each target with whether it held.
pub struct Targets(pub Vec<(String, bool)>);

impl Targets {
    pub fn add(&mut self, name: impl Into<String>, held: bool) {
        self.0.push((name.into(), held));
    }

    pub fn all_held(&self) -> bool {
        self.0.iter().all(|(_, ok)| *ok)
    }

    pub fn render(&self) -> String {
        let mut s = String::from("targets:\n");
        for (name, ok) in &self.0 {
            s += &format!("  {}: {name}\n", if *ok { "yes" } else { "NO " });
        }
        s += &format!(
            "verdict: {}\n",
            if self.all_held() {
                "PASS"
            } else {
                "FAIL (a target was missed)"
            }
        );
        s
    }
}
