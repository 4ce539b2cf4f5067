//! Watch streams of the SQLite engine.
//!
//! A watcher subscribes to the writer's broadcast FIRST, then replays the `history` table for
//! revisions after its start, then follows the broadcast. `scanned` is the revision up to which
//! every event has been looked at; anything at or below it is skipped, so replay and live events
//! never duplicate. The writer publishes a group only after committing it, so whatever was not
//! in the replayed snapshot arrives through the broadcast: no gaps.
//!
//! A watcher that falls more than the broadcast buffer behind gets `Lagged` and catches up from
//! the history table again; if that history was compacted meanwhile the stream ends with
//! [`StoreError::Compacted`].

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::StreamExt;
use rusqlite::params;
use tokio::sync::broadcast::{self, error::RecvError};

use super::schema::{history_event, meta, HISTORY_SQL};
use super::writer::EventBatch;
use super::Inner;
use crate::{Result, Revision, StoreError, WatchEvent, WatchStream};

/// History rows read per catch-up query.
const CHUNK: usize = 512;

pub(super) fn start(inner: Arc<Inner>, prefix: &str, after: Revision) -> Result<WatchStream> {
    let after = after.max(0);
    // Subscribe before looking at the revision: nothing committed later can be missed.
    let rx = inner.events.subscribe();
    let current = inner.shared.revision.load(Ordering::SeqCst);
    let compacted = inner.shared.compacted.load(Ordering::SeqCst);
    if after < compacted {
        return Err(StoreError::Compacted {
            requested: after,
            compacted,
        });
    }
    let state = WatchState {
        inner,
        lo: prefix.as_bytes().to_vec(),
        hi: crate::prefix_end(prefix.as_bytes()).unwrap_or_else(|| vec![0xff]),
        prefix: prefix.to_owned(),
        scanned: after,
        rx,
        pending: VecDeque::new(),
        // Nothing to replay when starting at (or after) the current revision.
        catching_up: after < current,
        done: false,
    };
    Ok(futures::stream::unfold(state, WatchState::step).boxed())
}

struct WatchState {
    inner: Arc<Inner>,
    prefix: String,
    lo: Vec<u8>,
    hi: Vec<u8>,
    /// Every event at or below this revision has been considered.
    scanned: Revision,
    rx: broadcast::Receiver<EventBatch>,
    pending: VecDeque<WatchEvent>,
    catching_up: bool,
    done: bool,
}

impl WatchState {
    async fn step(mut self) -> Option<(Result<WatchEvent>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.done {
                return None;
            }
            if self.catching_up {
                if let Err(e) = self.catch_up().await {
                    self.done = true;
                    return Some((Err(e), self));
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(batch) => self.take_live(&batch),
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(
                        missed,
                        prefix = %self.prefix,
                        "watcher lagged; catching up from history"
                    );
                    self.catching_up = true;
                }
                Err(RecvError::Closed) => {
                    self.done = true;
                    let e = StoreError::Unavailable("sqlite store closed".into());
                    return Some((Err(e), self));
                }
            }
        }
    }

    fn take_live(&mut self, batch: &[WatchEvent]) {
        for event in batch {
            if event.revision() > self.scanned && event.key().starts_with(&self.prefix) {
                self.pending.push_back(event.clone());
            }
        }
        if let Some(last) = batch.last() {
            self.scanned = self.scanned.max(last.revision());
        }
    }

    /// Reads the next chunk of history after `scanned`.
    async fn catch_up(&mut self) -> Result<()> {
        let (lo, hi, after) = (self.lo.clone(), self.hi.clone(), self.scanned);
        let inner = self.inner.clone();
        let read = inner
            .read(move |conn| {
                // One snapshot: compaction mark, revision and rows agree.
                let tx = conn.transaction()?;
                let compacted = meta(&tx, "compacted")?;
                if compacted > after {
                    return Ok(Err(compacted));
                }
                let revision = meta(&tx, "revision")?;
                let events = tx
                    .prepare_cached(HISTORY_SQL)?
                    .query_map(params![after, lo, hi, CHUNK as i64], history_event)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(Ok((events, revision)))
            })
            .await?;
        let (events, revision) = read.map_err(|compacted| StoreError::Compacted {
            requested: after,
            compacted,
        })?;
        if events.len() == CHUNK {
            // More may follow: everything up to the last row returned has been seen.
            self.scanned = events.last().map_or(self.scanned, WatchEvent::revision);
        } else {
            self.scanned = self.scanned.max(revision);
            self.catching_up = false;
        }
        self.pending.extend(events);
        Ok(())
    }
}
