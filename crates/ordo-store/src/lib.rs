//! The store behind the ordo API server: a revisioned key-value map with watch.
//!
//! Every successful write advances one global revision; that revision is the `resourceVersion`
//! of the object written. History is kept for watches until it is compacted; a watch that starts
//! at a compacted revision fails with [`StoreError::Compacted`] (the API server turns it into
//! `410 Gone`, reason `Expired`).
//!
//! Engines: [`SqliteStore`] (embedded, the default) and [`EtcdStore`], chosen and
//! opened by [`open`]. Both pass the shared suite in `conformance` (cargo feature
//! `conformance`).

#![warn(missing_docs)]

use async_trait::async_trait;
use futures::stream::BoxStream;

#[cfg(feature = "conformance")]
pub mod conformance;
mod engine;
mod etcd;
mod sqlite;

pub use engine::{open, Engine, OpenError};
pub use etcd::EtcdStore;
pub use sqlite::{SqliteOptions, SqliteStats, SqliteStore};

/// A store revision. Revision 0 means "before any write".
pub type Revision = i64;

/// One key with its value and revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value (an object's JSON, for the API server).
    pub value: Vec<u8>,
    /// Revision at which this key was created (since its last deletion).
    pub create_revision: Revision,
    /// Revision of the last write of this key: the object's `resourceVersion`.
    pub mod_revision: Revision,
}

/// A change seen by a watch, in revision order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The key was created (`prev` is `None`) or updated (`prev` is the value before, or `None`
    /// when a replayed event's previous revision has been compacted, as in etcd).
    Put {
        /// The key as written.
        kv: KeyValue,
        /// The key before the write.
        prev: Option<KeyValue>,
    },
    /// The key was deleted at `revision`; `prev` is its last value.
    Delete {
        /// The key's last value.
        prev: KeyValue,
        /// The revision of the deletion.
        revision: Revision,
    },
}

impl WatchEvent {
    /// The revision at which this change happened.
    pub fn revision(&self) -> Revision {
        match self {
            WatchEvent::Put { kv, .. } => kv.mod_revision,
            WatchEvent::Delete { revision, .. } => *revision,
        }
    }
    /// The key this change is about.
    pub fn key(&self) -> &str {
        match self {
            WatchEvent::Put { kv, .. } => &kv.key,
            WatchEvent::Delete { prev, .. } => &prev.key,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// Keys in ascending order.
    pub items: Vec<KeyValue>,
    /// The store revision the page was read at.
    pub revision: Revision,
    /// True when more keys with the prefix follow the last item.
    pub more: bool,
}

/// Errors of every engine.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A create found the key present.
    #[error("key {0:?} already exists")]
    AlreadyExists(String),
    /// The key is absent.
    #[error("key {0:?} not found")]
    NotFound(String),
    /// The key's current mod revision is not the expected one.
    #[error("key {key:?} was modified (current revision {current})")]
    Conflict {
        /// The key written.
        key: String,
        /// Its current mod revision.
        current: Revision,
    },
    /// The requested revision has been compacted away.
    #[error("revision {requested} has been compacted (oldest available {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The oldest revision still available.
        compacted: Revision,
    },
    /// The engine cannot answer (I/O error, etcd unreachable, a closed store).
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// The result of a store operation.
pub type Result<T> = std::result::Result<T, StoreError>;

/// A stream of watch events; it ends with an error if the watch cannot continue.
pub type WatchStream = BoxStream<'static, Result<WatchEvent>>;

/// The storage seam of ordo: implemented by the SQLite and etcd engines.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The current revision of the whole store.
    async fn current_revision(&self) -> Result<Revision>;
    /// One key, if present.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;
    /// Keys starting with `prefix`, in ascending order, strictly after `start_after` if given,
    /// at most `limit` of them (0 = no limit).
    async fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize)
        -> Result<ListPage>;
    /// Create `key`; fails with `AlreadyExists` if it exists.
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue>;
    /// Replace `key` if its mod revision is `expected`; `NotFound` or `Conflict` otherwise.
    async fn update(&self, key: &str, value: Vec<u8>, expected: Revision) -> Result<KeyValue>;
    /// Delete `key`, if `expected` is given only when its mod revision is `expected`.
    /// Returns the deleted value and the revision of the deletion.
    async fn delete(&self, key: &str, expected: Option<Revision>) -> Result<(KeyValue, Revision)>;
    /// Changes of keys starting with `prefix` at revisions strictly greater than `after`.
    /// Fails with `Compacted` if `after` is older than the compacted history.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;
    /// Drop history at and below `revision` (current values are kept).
    async fn compact(&self, revision: Revision) -> Result<()>;
}

/// The smallest byte string greater than every string starting with `prefix`, or `None` when no
/// such bound exists (empty prefix or all `0xff`).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The smallest byte string strictly greater than `key`.
pub(crate) fn key_successor(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

/// The inclusive start of a range scan over `prefix`, strictly after `start_after` if given.
pub(crate) fn range_start(prefix: &[u8], start_after: Option<&[u8]>) -> Vec<u8> {
    match start_after {
        Some(after) if after >= prefix => key_successor(after),
        _ => prefix.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(prefix_end(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b""), None);
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }

    #[test]
    fn range_start_respects_start_after() {
        assert_eq!(range_start(b"a/", None), b"a/".to_vec());
        assert_eq!(range_start(b"a/", Some(b"a/x")), b"a/x\0".to_vec());
        assert_eq!(range_start(b"a/", Some(b"0")), b"a/".to_vec());
    }
}
