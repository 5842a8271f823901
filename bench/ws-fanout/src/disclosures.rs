//! The server's records of the deliveries: a round is over only when cirhub has recorded a
//! disclosure for everyone it sent the frame to. Counted through the product's own interface,
//! as an auditor of each customer organisation would: `GET /api/v1/audit/disclosures?
//! object_id=INCIDENT&channel=websocket`, whose rows are the journal's: one row per fan-out
//! naming its recipients (an organisation sees its own), or one per replayed frame. A
//! recipient is a credential (all the connections of one API token are one recipient), so an
//! organisation whose clients share one token has one record per update. The newest row's
//! `at` gives when the last record was committed; the journal commits it before the frames
//! go out, so the time is read from the rows, not from when this poll happened to see them.

use cirhub_shared::api::{Disclosure, Paged};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct Auditor {
    pub http: reqwest::Client,
    pub base: String,
    pub incident_id: String,
    /// An auditor API token per customer organisation.
    pub tokens: Vec<String>,
    /// Records (recipients) each organisation gets per update.
    pub per_update: Vec<u64>,
}

/// What the server had recorded when the wait ended.
pub struct Recorded {
    /// Counts per organisation, the baseline of the next wait.
    pub counts: Vec<u64>,
    /// Records expected and found (found may exceed expected: duplicates).
    pub expected: u64,
    pub found: u64,
    /// Milliseconds from the round's start to the newest record's time, if any was new.
    pub last_ms: Option<f64>,
}

impl Recorded {
    pub fn exact(&self) -> bool {
        self.found == self.expected
    }
}

/// Milliseconds since the epoch, on the same clock the server stamps its entries with.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Auditor {
    async fn count(&self, org: usize) -> anyhow::Result<(u64, Option<i64>)> {
        let (mut n, mut newest, mut page) = (0u64, None::<i64>, 1u32);
        loop {
            let rows: Paged<Disclosure> = self
                .http
                .get(format!("{}/api/v1/audit/disclosures", self.base))
                .query(&[
                    ("object_id", self.incident_id.as_str()),
                    ("channel", "websocket"),
                    ("per_page", "100"),
                    ("page", &page.to_string()),
                ])
                .bearer_auth(&self.tokens[org])
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            for r in &rows.items {
                n += r.recipients.as_ref().map_or(1, |v| v.len() as u64);
                newest = newest.max(Some(r.at.timestamp_millis()));
            }
            if rows.items.len() < 100 {
                return Ok((n, newest));
            }
            page += 1;
        }
    }

    /// Current counts per organisation.
    pub async fn counts(&self) -> anyhow::Result<Vec<u64>> {
        let mut out = Vec::with_capacity(self.tokens.len());
        for org in 0..self.tokens.len() {
            out.push(self.count(org).await?.0);
        }
        Ok(out)
    }

    /// Waits (up to `wait`) until every organisation has `updates` more records per receiving
    /// client than `base`, started at `t0_ms` (wall clock). Organisations that receive nothing
    /// are checked once at the end, so a record for someone who got nothing shows as a surplus.
    pub async fn wait(
        &self,
        base: &[u64],
        updates: u64,
        t0_ms: i64,
        wait: Duration,
    ) -> anyhow::Result<Recorded> {
        let target: Vec<u64> = base
            .iter()
            .zip(&self.per_update)
            .map(|(b, p)| b + p * updates)
            .collect();
        let mut counts = base.to_vec();
        let mut newest: Option<i64> = None;
        let mut pending: Vec<usize> = (0..base.len())
            .filter(|&o| self.per_update[o] > 0)
            .collect();
        let deadline = Instant::now() + wait;
        while !pending.is_empty() {
            let mut still = Vec::new();
            for &org in &pending {
                let (n, at) = self.count(org).await?;
                counts[org] = n;
                if n > base[org] {
                    newest = newest.max(at);
                }
                if n < target[org] {
                    still.push(org);
                }
            }
            pending = still;
            if pending.is_empty() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for org in (0..base.len()).filter(|&o| self.per_update[o] == 0) {
            counts[org] = self.count(org).await?.0;
        }
        let sum = |v: &[u64]| v.iter().sum::<u64>();
        Ok(Recorded {
            expected: sum(&target) - sum(base),
            found: sum(&counts) - sum(base),
            last_ms: newest.map(|at| (at - t0_ms) as f64),
            counts,
        })
    }
}
