//! The runner's clock: system time plus an offset. Only a server started with
//! `CIRHUB_TEST_CLOCK=1` lets anyone move it (`POST /api/v1/ops/clock`), so tests can make an
//! hour pass without waiting for it; it only ever moves forward.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Milliseconds since the epoch as the job runner sees them; cheap to clone, clones share
/// the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// System time, not advanced.
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Now, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        crate::db::rows::now_ms().saturating_add(self.offset_ms())
    }

    /// How far this clock is ahead of system time.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `ms`; returns the new offset.
    pub fn advance(&self, ms: i64) -> i64 {
        let ms = ms.max(0);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst) + ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone_and_never_backwards() {
        let clock = Clock::new();
        let other = clock.clone();
        let before = other.now_ms();
        assert_eq!(clock.advance(60_000), 60_000);
        assert!(other.now_ms() >= before + 60_000);
        assert_eq!(clock.advance(-5_000), 60_000);
    }
}
