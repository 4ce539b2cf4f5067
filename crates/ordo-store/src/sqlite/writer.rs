//! The single writer thread: owns the write connection and commits queued writes in groups.
//!
//! Every loop iteration takes all requests that are queued (up to `max_batch`), applies them one
//! after the other in ONE `BEGIN IMMEDIATE` transaction (each successful write gets the next
//! revision), commits (one fsync for the whole group), publishes the group's events to watchers
//! and only then answers the callers. While one group is being fsynced the next one queues up,
//! so throughput grows with concurrency.
//!
//! WAL checkpoints are mostly done by another thread (see `checkpoint.rs`).
//!
//! Compaction only records the compacted revision; the history rows at and below it are then
//! purged in small chunks, one chunk per transaction, between the groups of writes.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::checkpoint::Checkpointer;

use crate::{KeyValue, Result, Revision, StoreError, WatchEvent};

/// History rows deleted per transaction while purging compacted history.
const PURGE_CHUNK: i64 = 1000;

/// The events of one committed group, in revision order.
pub(super) type EventBatch = Arc<[WatchEvent]>;

/// One write asked of the writer thread.
pub(super) enum WriteOp {
    Create {
        key: String,
        value: Vec<u8>,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: Revision,
    },
    Delete {
        key: String,
        expected: Option<Revision>,
    },
    Compact {
        revision: Revision,
    },
}

/// The result of a successful [`WriteOp`].
pub(super) enum WriteOutcome {
    Put(KeyValue),
    Deleted(KeyValue, Revision),
    Compacted,
}

pub(super) struct WriteRequest {
    pub(crate) op: WriteOp,
    pub(crate) reply: oneshot::Sender<Result<WriteOutcome>>,
}

/// State the writer publishes to readers.
#[derive(Default)]
pub(super) struct Shared {
    /// Last committed revision; stored after the commit and before the events are published.
    pub(crate) revision: AtomicI64,
    /// Compacted revision (history at and below it is gone or going).
    pub(crate) compacted: AtomicI64,
    /// Number of committed transactions that contained writes.
    pub(crate) commits: AtomicU64,
    /// Number of successful writes.
    pub(crate) writes: AtomicU64,
}

pub(super) struct Writer {
    pub(crate) conn: Connection,
    pub(crate) rx: mpsc::UnboundedReceiver<WriteRequest>,
    pub(crate) events: broadcast::Sender<EventBatch>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) max_batch: usize,
    pub(crate) revision: Revision,
    pub(crate) compacted: Revision,
    pub(crate) purge_pending: bool,
    pub(crate) checkpointer: Option<Checkpointer>,
}

impl Writer {
    /// Runs until every request sender is dropped.
    pub(crate) fn run(mut self) {
        super::priority::set_thread_nice(super::priority::WRITER_NICE);
        let mut batch: Vec<WriteRequest> = Vec::with_capacity(self.max_batch);
        loop {
            if self.purge_pending {
                match self.rx.try_recv() {
                    Ok(req) => batch.push(req),
                    Err(mpsc::error::TryRecvError::Empty) => {}
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                }
            } else {
                if self.rx.is_empty() {
                    if let Some(checkpointer) = &mut self.checkpointer {
                        checkpointer.restart_if_large(&self.conn, true);
                    }
                }
                match self.rx.blocking_recv() {
                    Some(req) => batch.push(req),
                    None => break,
                }
            }
            while batch.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(req) => batch.push(req),
                    Err(_) => break,
                }
            }
            self.commit(&mut batch);
        }
        if let Some(checkpointer) = self.checkpointer.take() {
            checkpointer.stop();
        }
        tracing::debug!(revision = self.revision, "sqlite writer stopped");
    }

    fn commit(&mut self, batch: &mut Vec<WriteRequest>) {
        if let Some(checkpointer) = &mut self.checkpointer {
            checkpointer.restart_if_large(&self.conn, false);
        }
        let (ops, replies): (Vec<WriteOp>, Vec<_>) =
            batch.drain(..).map(|r| (r.op, r.reply)).unzip();
        let mut state = GroupState {
            revision: self.revision,
            compacted: self.compacted,
            events: Vec::new(),
        };
        let purge = self.purge_pending;
        match commit_group(
            &mut self.conn,
            ops,
            &mut state,
            self.revision,
            self.compacted,
            purge,
        ) {
            Ok((outcomes, purge_more)) => {
                let writes = state.revision - self.revision;
                self.purge_pending = purge_more;
                self.revision = state.revision;
                self.compacted = state.compacted;
                self.shared
                    .compacted
                    .store(state.compacted, Ordering::SeqCst);
                self.shared.revision.store(state.revision, Ordering::SeqCst);
                if writes > 0 {
                    if let Some(checkpointer) = &mut self.checkpointer {
                        checkpointer.wrote(writes as u64);
                    }
                    self.shared.commits.fetch_add(1, Ordering::Relaxed);
                    self.shared
                        .writes
                        .fetch_add(writes as u64, Ordering::Relaxed);
                }
                if !state.events.is_empty() {
                    // No receivers is fine: nobody watches.
                    let _ = self.events.send(state.events.into());
                }
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // A caller that went away still had its write committed.
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, writes = replies.len(), "sqlite group commit failed");
                self.purge_pending = false;
                for reply in replies {
                    let _ = reply.send(Err(super::schema::db_error(&e)));
                }
            }
        }
    }
}

struct GroupState {
    revision: Revision,
    compacted: Revision,
    events: Vec<WatchEvent>,
}

/// Applies `ops` in one transaction; returns each op's outcome and whether purging must go on.
fn commit_group(
    conn: &mut Connection,
    ops: Vec<WriteOp>,
    state: &mut GroupState,
    base_revision: Revision,
    base_compacted: Revision,
    purge: bool,
) -> rusqlite::Result<(Vec<Result<WriteOutcome>>, bool)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in ops {
        outcomes.push(apply(&tx, op, state)?);
    }
    if state.revision != base_revision {
        set_meta(&tx, "revision", state.revision)?;
    }
    let newly_compacted = state.compacted != base_compacted;
    if newly_compacted {
        set_meta(&tx, "compacted", state.compacted)?;
    }
    let purge_more = if purge || newly_compacted {
        purge_chunk(&tx, state.compacted)?
    } else {
        false
    };
    tx.commit()?;
    Ok((outcomes, purge_more))
}

fn set_meta(conn: &Connection, name: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE meta SET value = ?2 WHERE name = ?1")?
        .execute(params![name, value])?;
    Ok(())
}

/// Deletes up to [`PURGE_CHUNK`] history rows at or below `upto`; true if more may remain.
fn purge_chunk(conn: &Connection, upto: Revision) -> rusqlite::Result<bool> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM history WHERE rev IN \
             (SELECT rev FROM history WHERE rev <= ?1 ORDER BY rev LIMIT ?2)",
        )?
        .execute(params![upto, PURGE_CHUNK])?;
    if deleted > 0 {
        tracing::debug!(deleted, upto, "purged compacted history");
    }
    Ok(deleted as i64 == PURGE_CHUNK)
}

fn current(conn: &Connection, key: &str) -> rusqlite::Result<Option<KeyValue>> {
    conn.prepare_cached("SELECT value, create_rev, mod_rev FROM kv WHERE key = ?1")?
        .query_row([key.as_bytes()], |r| {
            Ok(KeyValue {
                key: key.to_owned(),
                value: r.get(0)?,
                create_revision: r.get(1)?,
                mod_revision: r.get(2)?,
            })
        })
        .optional()
}

/// Checks `expected` against the current value of `key`.
fn check(key: &str, cur: Option<KeyValue>, expected: Option<Revision>) -> Result<KeyValue> {
    match cur {
        None => Err(StoreError::NotFound(key.to_owned())),
        Some(cur) => match expected {
            Some(expected) if expected != cur.mod_revision => Err(StoreError::Conflict {
                key: key.to_owned(),
                current: cur.mod_revision,
            }),
            _ => Ok(cur),
        },
    }
}

fn insert_history(
    conn: &Connection,
    rev: Revision,
    key: &str,
    value: &[u8],
    deleted: bool,
    create_rev: Revision,
    prev_mod_rev: Option<Revision>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO history (rev, key, value, deleted, create_rev, prev_mod_rev) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        rev,
        key.as_bytes(),
        value,
        deleted,
        create_rev,
        prev_mod_rev
    ])?;
    Ok(())
}

/// Applies one op. The outer error (SQLite failed) aborts the group; the inner one is the op's.
fn apply(
    conn: &Connection,
    op: WriteOp,
    state: &mut GroupState,
) -> rusqlite::Result<Result<WriteOutcome>> {
    let next = state.revision + 1;
    match op {
        WriteOp::Create { key, value } => {
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (?1, ?2, ?3, ?3) \
                     ON CONFLICT (key) DO NOTHING",
                )?
                .execute(params![key.as_bytes(), value, next])?;
            if inserted == 0 {
                return Ok(Err(StoreError::AlreadyExists(key)));
            }
            insert_history(conn, next, &key, &value, false, next, None)?;
            state.revision = next;
            let kv = KeyValue {
                key,
                value,
                create_revision: next,
                mod_revision: next,
            };
            state.events.push(WatchEvent::Put {
                kv: kv.clone(),
                prev: None,
            });
            Ok(Ok(WriteOutcome::Put(kv)))
        }
        WriteOp::Update {
            key,
            value,
            expected,
        } => {
            let prev = match check(&key, current(conn, &key)?, Some(expected)) {
                Ok(prev) => prev,
                Err(e) => return Ok(Err(e)),
            };
            conn.prepare_cached("UPDATE kv SET value = ?2, mod_rev = ?3 WHERE key = ?1")?
                .execute(params![key.as_bytes(), value, next])?;
            insert_history(
                conn,
                next,
                &key,
                &value,
                false,
                prev.create_revision,
                Some(prev.mod_revision),
            )?;
            state.revision = next;
            let kv = KeyValue {
                key,
                value,
                create_revision: prev.create_revision,
                mod_revision: next,
            };
            state.events.push(WatchEvent::Put {
                kv: kv.clone(),
                prev: Some(prev),
            });
            Ok(Ok(WriteOutcome::Put(kv)))
        }
        WriteOp::Delete { key, expected } => {
            let prev = match check(&key, current(conn, &key)?, expected) {
                Ok(prev) => prev,
                Err(e) => return Ok(Err(e)),
            };
            conn.prepare_cached("DELETE FROM kv WHERE key = ?1")?
                .execute([key.as_bytes()])?;
            insert_history(
                conn,
                next,
                &key,
                &prev.value,
                true,
                prev.create_revision,
                Some(prev.mod_revision),
            )?;
            state.revision = next;
            state.events.push(WatchEvent::Delete {
                prev: prev.clone(),
                revision: next,
            });
            Ok(Ok(WriteOutcome::Deleted(prev, next)))
        }
        WriteOp::Compact { revision } => {
            let target = revision.min(state.revision);
            if target > state.compacted {
                state.compacted = target;
            }
            Ok(Ok(WriteOutcome::Compacted))
        }
    }
}

/// Maps a dropped reply channel (the writer thread is gone) to an error.
pub(super) fn writer_gone<T>(_: T) -> StoreError {
    StoreError::Unavailable("sqlite writer thread has stopped".into())
}
