//! Pacing of readers that recompute everything after a change (the garbage collector, the
//! DNS zone, the service proxy, the volume controllers): changes arriving during a rest are
//! folded into one pass, and the rest grows with the time a pass takes, so such a reader takes
//! a bounded share of a core however large the cluster and however fast it changes.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Waits for changes and rests between passes.
pub struct Pacer {
    changed: Arc<Notify>,
    min: Duration,
    max: Duration,
    per_pass: u32,
    pause: Duration,
    idle: Duration,
}

impl Pacer {
    /// A pacer woken by `changed`: after a change it rests at least `min` (to fold a burst of
    /// changes into one pass), and after a pass that took `t` it rests `per_pass × t`, between
    /// `min` and `max`.
    pub fn new(changed: Arc<Notify>, min: Duration, max: Duration, per_pass: u32) -> Pacer {
        Pacer {
            changed,
            min,
            max,
            per_pass,
            pause: min,
            idle: Duration::MAX,
        }
    }

    /// Also wakes after `idle` without any change (for readers that re-check the world now
    /// and then, like the garbage collector's owner lookups).
    pub fn with_idle(mut self, idle: Duration) -> Pacer {
        self.idle = idle;
        self
    }

    /// The `Notify` that wakes this pacer (hand it to [`crate::cache::Shared::on_change`]).
    pub fn notify(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Waits for the next change (or the idle limit), then rests. Returns whether a change
    /// woke it (`false`: the idle limit did).
    pub async fn next(&mut self) -> bool {
        let woke = if self.idle == Duration::MAX {
            self.changed.notified().await;
            true
        } else {
            tokio::time::timeout(self.idle, self.changed.notified())
                .await
                .is_ok()
        };
        tokio::time::sleep(self.pause).await;
        woke
    }

    /// Records that a pass computed for `computed` (its waits for requests left out), which
    /// sets the next rest.
    pub fn passed(&mut self, computed: Duration) {
        self.pause = (computed * self.per_pass).clamp(self.min, self.max);
    }

    /// Times `pass` and records it ([`Pacer::passed`]).
    pub fn timed<T>(&mut self, pass: impl FnOnce() -> T) -> T {
        let began = Instant::now();
        let out = pass();
        self.passed(began.elapsed());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rests_grow_with_the_pass_and_stay_bounded() {
        let n = Arc::new(Notify::new());
        let mut p = Pacer::new(
            n.clone(),
            Duration::from_millis(50),
            Duration::from_secs(2),
            9,
        );
        p.passed(Duration::from_millis(1));
        assert_eq!(p.pause, Duration::from_millis(50));
        p.passed(Duration::from_millis(100));
        assert_eq!(p.pause, Duration::from_millis(900));
        p.passed(Duration::from_secs(1));
        assert_eq!(p.pause, Duration::from_secs(2));
        n.notify_one();
        let t = tokio::time::Instant::now();
        assert!(p.next().await);
        assert_eq!(t.elapsed(), Duration::from_secs(2));
        let mut p = p.with_idle(Duration::from_secs(5));
        let t = tokio::time::Instant::now();
        assert!(!p.next().await);
        assert_eq!(t.elapsed(), Duration::from_secs(7));
    }
}
