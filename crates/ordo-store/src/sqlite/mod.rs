//! The embedded engine: one SQLite file in WAL mode.
//!
//! - Writes go to ONE writer thread that group-commits them (see `writer.rs`); `synchronous=FULL`
//!   makes every acknowledged write durable.
//! - Reads run on a small pool of read connections on tokio's blocking threads; WAL lets them run
//!   while the writer commits.
//! - Watches subscribe to the writer's live broadcast and replay the `history` table to catch up
//!   (see `watch.rs`).
//!
//! The file must be used by one process (one `SqliteStore`) at a time: the current revision is
//! kept in memory by the writer.

mod checkpoint;
mod priority;
mod schema;
mod watch;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::{broadcast, mpsc, oneshot, Semaphore};

use self::checkpoint::Checkpointer;
use self::schema::{db_err, kv_row};
use self::writer::{writer_gone, EventBatch, Shared, WriteOp, WriteOutcome, WriteRequest, Writer};
use crate::{
    prefix_end, range_start, KeyValue, ListPage, Result, Revision, Store, StoreError, WatchStream,
};

/// Tuning knobs of [`SqliteStore`]; `Default` is what production uses.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Most writes committed in one transaction (group commit).
    pub max_batch: usize,
    /// Committed groups buffered for live watchers; a watcher that falls further behind catches
    /// up from the history table instead.
    pub watch_buffer: usize,
    /// Reads running at once, each on its own connection and blocking thread; more reads wait
    /// for a free slot (keeps the CPU for the writer on small machines).
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            max_batch: 512,
            watch_buffer: 1024,
            readers: 4,
        }
    }
}

/// Counters of a [`SqliteStore`], for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteStats {
    /// Last committed revision.
    pub revision: Revision,
    /// Compacted revision.
    pub compacted: Revision,
    /// Transactions committed that contained writes (since open).
    pub commits: u64,
    /// Successful writes (since open); `writes / commits` is the mean group size.
    pub writes: u64,
}

/// The SQLite engine. Cheap to clone; all clones share one writer thread.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writes: Option<mpsc::UnboundedSender<WriteRequest>>,
    writer: Option<JoinHandle<()>>,
    readers: Mutex<Vec<Connection>>,
    read_slots: Arc<Semaphore>,
    events: broadcast::Sender<EventBatch>,
    shared: Arc<Shared>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue stops the writer once it has committed what was queued.
        self.writes.take();
        if let Some(handle) = self.writer.take() {
            if handle.join().is_err() {
                tracing::error!("sqlite writer thread panicked");
            }
        }
    }
}

impl Inner {
    /// A read connection from the pool, if one is free.
    fn pooled_reader(&self) -> Option<Connection> {
        self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// Runs `f` on `conn`, then puts `conn` back in the pool.
    fn run_reader<T>(
        &self,
        mut conn: Connection,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let result = f(&mut conn);
        self.readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
        result.map_err(db_err)
    }

    /// Runs `f` on a pooled read connection, opening one if none is free (blocking).
    fn with_reader<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = match self.pooled_reader() {
            Some(conn) => conn,
            None => schema::open_connection(&self.path).map_err(db_err)?,
        };
        self.run_reader(conn, f)
    }

    /// Runs a point read (one indexed row, microseconds) on the calling thread when a read
    /// slot and a pooled connection are free right now, saving the two thread hand-offs of
    /// [`Inner::read`]; otherwise it goes through [`Inner::read`].
    async fn read_point<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        if let Ok(_slot) = self.read_slots.try_acquire() {
            if let Some(conn) = self.pooled_reader() {
                return self.run_reader(conn, f);
            }
        }
        self.read(f).await
    }

    /// Runs `f` on a pooled read connection on a blocking thread, once a read slot is free.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let slot = self
            .read_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("sqlite store closed".into()))?;
        let inner = self.clone();
        // The slot moves into the task: it is held until the read ends, even if the caller
        // stops waiting.
        tokio::task::spawn_blocking(move || {
            let result = inner.with_reader(f);
            drop(slot);
            result
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("sqlite read task failed: {e}")))?
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with default options.
    ///
    /// Blocks briefly (opens the file, creates the schema); call it at startup.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the database at `path` with explicit options.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open_connection(&path).map_err(|e| schema::open_err(&path, e))?;
        schema::check_integrity(&conn, &path)?;
        let (revision, compacted) = schema::init(&conn).map_err(|e| schema::open_err(&path, e))?;
        let shared = Arc::new(Shared::default());
        shared.revision.store(revision, Ordering::SeqCst);
        shared.compacted.store(compacted, Ordering::SeqCst);
        let (events, _) = broadcast::channel(options.watch_buffer.max(1));
        let (tx, rx) = mpsc::unbounded_channel();
        let checkpointer = schema::open_connection(&path)
            .map_err(db_err)
            .and_then(|conn| {
                Checkpointer::start(conn, &path).map_err(|e| {
                    StoreError::Unavailable(format!("cannot start sqlite checkpointer: {e}"))
                })
            })?;
        let writer = Writer {
            conn,
            rx,
            events: events.clone(),
            shared: shared.clone(),
            max_batch: options.max_batch.max(1),
            revision,
            compacted,
            // Finish purging history that a previous run compacted but did not delete yet.
            purge_pending: compacted > 0,
            checkpointer: Some(checkpointer),
        };
        let handle = std::thread::Builder::new()
            .name("ordo-sqlite-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Unavailable(format!("cannot start sqlite writer: {e}")))?;
        tracing::info!(path = %path.display(), revision, compacted, "opened sqlite store");
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writes: Some(tx),
                writer: Some(handle),
                readers: Mutex::new(Vec::new()),
                read_slots: Arc::new(Semaphore::new(options.readers.max(1))),
                events,
                shared,
            }),
        })
    }

    /// Counters: revision, compacted revision, commits and writes since open.
    pub fn stats(&self) -> SqliteStats {
        let s = &self.inner.shared;
        SqliteStats {
            revision: s.revision.load(Ordering::SeqCst),
            compacted: s.compacted.load(Ordering::SeqCst),
            commits: s.commits.load(Ordering::Relaxed),
            writes: s.writes.load(Ordering::Relaxed),
        }
    }

    /// Compacts every `every`, keeping the last `keep` revisions of history. The task stops when
    /// the store is dropped. Must be called inside a tokio runtime.
    pub fn spawn_compactor(&self, keep: i64, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                let store = SqliteStore { inner };
                let stats = store.stats();
                let target = stats.revision - keep;
                if target > stats.compacted {
                    match store.compact(target).await {
                        Ok(()) => tracing::debug!(revision = target, "auto-compacted"),
                        Err(e) => tracing::warn!(error = %e, "auto-compaction failed"),
                    }
                }
            }
        })
    }

    async fn write(&self, op: WriteOp) -> Result<WriteOutcome> {
        let (reply, rx) = oneshot::channel();
        let queue = self.inner.writes.as_ref().ok_or_else(|| writer_gone(()))?;
        queue
            .send(WriteRequest { op, reply })
            .map_err(writer_gone)?;
        rx.await.map_err(writer_gone)?
    }

    async fn write_put(&self, op: WriteOp) -> Result<KeyValue> {
        match self.write(op).await? {
            WriteOutcome::Put(kv) => Ok(kv),
            _ => Err(unexpected()),
        }
    }
}

fn unexpected() -> StoreError {
    StoreError::Unavailable("sqlite writer returned an unexpected outcome".into())
}

#[async_trait]
impl Store for SqliteStore {
    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.inner.shared.revision.load(Ordering::SeqCst))
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = key.to_owned();
        self.inner
            .read_point(move |conn| {
                conn.prepare_cached(
                    "SELECT key, value, create_rev, mod_rev FROM kv WHERE key = ?1",
                )?
                .query_row([key.as_bytes()], kv_row)
                .optional()
            })
            .await
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListPage> {
        let start = range_start(prefix.as_bytes(), start_after.map(str::as_bytes));
        // Keys are UTF-8, which never contains 0xff: a fine upper bound for "no bound".
        let end = prefix_end(prefix.as_bytes()).unwrap_or_else(|| vec![0xff]);
        let fetch: i64 = if limit == 0 { -1 } else { limit as i64 + 1 };
        self.inner
            .read(move |conn| {
                // One read transaction: the revision and the rows come from the same snapshot.
                let tx = conn.transaction()?;
                let revision = schema::meta(&tx, "revision")?;
                let mut items = tx
                    .prepare_cached(
                        "SELECT key, value, create_rev, mod_rev FROM kv \
                     WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3",
                    )?
                    .query_map(params![start, end, fetch], kv_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                tx.commit()?;
                let more = limit > 0 && items.len() > limit;
                items.truncate(if limit == 0 { items.len() } else { limit });
                Ok(ListPage {
                    items,
                    revision,
                    more,
                })
            })
            .await
    }

    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        self.write_put(WriteOp::Create {
            key: key.to_owned(),
            value,
        })
        .await
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue> {
        self.write_put(WriteOp::Update {
            key: key.to_owned(),
            value,
            expected,
        })
        .await
    }

    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)> {
        match self
            .write(WriteOp::Delete {
                key: key.to_owned(),
                expected,
            })
            .await?
        {
            WriteOutcome::Deleted(prev, revision) => Ok((prev, revision)),
            _ => Err(unexpected()),
        }
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        watch::start(self.inner.clone(), prefix, after)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        match self.write(WriteOp::Compact { revision }).await? {
            WriteOutcome::Compacted => Ok(()),
            _ => Err(unexpected()),
        }
    }
}
