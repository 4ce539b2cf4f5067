//! WAL checkpoints without stalling the writer.
//!
//! Automatic checkpoints are off (they would run inside the writer's commits). Instead:
//! - every [`CHECKPOINT_EVERY`] writes the writer asks the checkpointer thread for a PASSIVE
//!   checkpoint on its own connection: it copies WAL frames into the database file while the
//!   writer goes on appending;
//! - SQLite only starts the WAL file over when a write begins with the WAL fully copied, which
//!   never happens under sustained writes. So once the WAL exceeds [`RESTART_FRAMES`], the writer
//!   itself runs a RESTART checkpoint when its queue is empty (nobody waits for it), or between
//!   two groups once the WAL exceeds [`FORCE_RESTART_FRAMES`]: little is left to copy, and it
//!   waits at most [`RESTART_WAIT`] for readers still on old snapshots (else it retries later).
//! - SQLite syncs the database file only after a checkpoint that copied the whole WAL, which
//!   under sustained writes is only the writer's RESTART: it then flushed everything the
//!   PASSIVE checkpoints had copied since the last one (up to [`RESTART_FRAMES`] pages, 5-13 ms
//!   at 20k objects), with every write waiting. So the checkpointer flushes the database file
//!   itself after each PASSIVE checkpoint, and the RESTART finds little left to flush.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::schema::BUSY_TIMEOUT;

/// Writes after which the checkpointer thread is asked for a checkpoint.
const CHECKPOINT_EVERY: u64 = 256;
/// WAL size (in pages) from which the writer restarts the WAL when idle.
const RESTART_FRAMES: i64 = 8192;
/// WAL size (in pages) from which the writer restarts the WAL even when writes are waiting.
const FORCE_RESTART_FRAMES: i64 = 65536;
/// Longest the writer waits for readers when restarting the WAL.
const RESTART_WAIT: Duration = Duration::from_millis(5);
/// Writes to wait before trying a restart again after readers prevented one.
const RESTART_BACKOFF: u64 = 128;

pub(super) struct Checkpointer {
    tx: SyncSender<()>,
    handle: JoinHandle<()>,
    /// Held while a checkpoint runs: the writer never waits for the checkpointer.
    running: Arc<Mutex<()>>,
    /// WAL size in pages, as of the last checkpoint.
    wal_frames: Arc<AtomicI64>,
    since_checkpoint: u64,
    restart_backoff: u64,
}

impl Checkpointer {
    /// Starts the checkpointer thread on `conn`, a connection to the database file `path`.
    pub(crate) fn start(conn: Connection, path: &Path) -> std::io::Result<Checkpointer> {
        let db = File::open(path)?;
        let (tx, rx) = sync_channel(1);
        let running = Arc::new(Mutex::new(()));
        let wal_frames = Arc::new(AtomicI64::new(0));
        let (r, w) = (running.clone(), wal_frames.clone());
        let handle = std::thread::Builder::new()
            .name("ordo-sqlite-checkpoint".into())
            .spawn(move || {
                super::priority::set_thread_nice(super::priority::CHECKPOINTER_NICE);
                checkpoint_loop(conn, db, rx, r, w)
            })?;
        Ok(Checkpointer {
            tx,
            handle,
            running,
            wal_frames,
            since_checkpoint: 0,
            restart_backoff: 0,
        })
    }

    /// Called by the writer after a commit of `writes` writes.
    pub(crate) fn wrote(&mut self, writes: u64) {
        self.since_checkpoint += writes;
        self.restart_backoff = self.restart_backoff.saturating_sub(writes);
        // A full channel means a checkpoint is already asked for.
        if self.since_checkpoint >= CHECKPOINT_EVERY && self.tx.try_send(()).is_ok() {
            self.since_checkpoint = 0;
        }
    }

    /// Called by the writer between groups, on its connection; `idle` when no write is queued.
    pub(crate) fn restart_if_large(&mut self, conn: &Connection, idle: bool) {
        let limit = if idle {
            RESTART_FRAMES
        } else {
            FORCE_RESTART_FRAMES
        };
        if self.restart_backoff > 0 || self.wal_frames.load(Ordering::Relaxed) < limit {
            return;
        }
        let Ok(_running) = self.running.try_lock() else {
            return;
        };
        let _ = conn.busy_timeout(RESTART_WAIT);
        let result = checkpoint(conn, "RESTART");
        let _ = conn.busy_timeout(BUSY_TIMEOUT);
        match result {
            Ok((false, frames, _)) => {
                tracing::debug!(frames, "wal restarted");
                self.wal_frames.store(0, Ordering::Relaxed);
            }
            Ok((true, frames, _)) => {
                tracing::debug!(frames, "wal restart deferred: readers on old snapshots");
                self.restart_backoff = RESTART_BACKOFF;
            }
            Err(e) => {
                tracing::warn!(error = %e, "wal restart failed");
                self.restart_backoff = RESTART_BACKOFF;
            }
        }
    }

    pub(crate) fn stop(self) {
        drop(self.tx);
        if self.handle.join().is_err() {
            tracing::error!("sqlite checkpointer panicked");
        }
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)`; returns (busy, WAL pages, pages copied).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(bool, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get::<_, i64>(0)? != 0, r.get(1)?, r.get(2)?))
    })
}

fn checkpoint_loop(
    conn: Connection,
    db: File,
    rx: Receiver<()>,
    running: Arc<Mutex<()>>,
    wal_frames: Arc<AtomicI64>,
) {
    while rx.recv().is_ok() {
        let _running = running.lock().unwrap_or_else(|e| e.into_inner());
        match checkpoint(&conn, "PASSIVE") {
            Ok((_, frames, copied)) => {
                wal_frames.store(frames, Ordering::Relaxed);
                tracing::trace!(frames, copied, "wal checkpoint");
                // Flush what the checkpoints have copied into the database file, off the
                // writer's path (see the module doc). `copied` counts the WAL frames copied
                // since the WAL last started over: none means nothing to flush.
                if copied > 0 {
                    if let Err(e) = db.sync_data() {
                        tracing::warn!(error = %e, "flushing the database file failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "wal checkpoint failed"),
        }
    }
}
