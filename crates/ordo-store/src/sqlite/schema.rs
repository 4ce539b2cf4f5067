//! Connection setup, schema and row decoding of the SQLite engine.
//!
//! Tables:
//! - `kv`: the current value of every key (`key` is a BLOB so that byte order is the order; a
//!   rowid table because values are large).
//! - `history`: one row per revision, serving watches, trimmed by compaction: the new value, or
//!   for a deletion (`deleted = 1`) the last value. The previous value of an update is the
//!   history row at `prev_mod_rev` (gone if compacted, as in etcd), so values are stored once.
//! - `meta`: `revision` (the last assigned revision) and `compacted` (history at and below it is
//!   gone).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};

use crate::{KeyValue, Revision, StoreError, WatchEvent};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    id         INTEGER PRIMARY KEY,
    key        BLOB NOT NULL UNIQUE,
    value      BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    mod_rev    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    rev          INTEGER PRIMARY KEY,
    key          BLOB NOT NULL,
    value        BLOB NOT NULL,
    deleted      INTEGER NOT NULL,
    create_rev   INTEGER NOT NULL,
    prev_mod_rev INTEGER
);
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', 1), ('revision', 0), ('compacted', 0);
";

/// How long a connection waits for a lock before failing with "database is locked".
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn db_err(e: rusqlite::Error) -> StoreError {
    db_error(&e)
}

/// [`db_err`] of a borrowed error (one failed commit answers several writers).
pub(super) fn db_error(e: &rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        return StoreError::Unavailable(format!(
            "sqlite: {e}: the write was not stored; free space on the filesystem of ordo's data \
             directory and retry (ordo resumes by itself)"
        ));
    }
    StoreError::Unavailable(format!("sqlite: {e}"))
}

/// Whether `e` says the file is not a (sound) SQLite database.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// The error for a damaged database file: ordo refuses to serve from it and says what to do.
fn damaged(path: &Path, detail: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "the database {} is damaged ({detail}): ordo will not serve from it. Restore the file \
         from a backup, or move it (with its -wal and -shm files) away to start with an empty store",
        path.display()
    ))
}

/// [`db_err`] for errors at opening, where damage gets [`damaged`]'s message.
pub(super) fn open_err(path: &Path, e: rusqlite::Error) -> StoreError {
    if is_damage(&e) {
        damaged(path, &e.to_string())
    } else {
        db_err(e)
    }
}

/// Checks the database's structure (`PRAGMA quick_check`: every page and index, not the
/// contents' meaning) before anything is served from it.
pub(super) fn check_integrity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(5)")
        .map_err(|e| open_err(path, e))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| open_err(path, e))?;
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(());
    }
    Err(damaged(
        path,
        &format!("sqlite quick_check: {}", rows.join("; ")),
    ))
}

/// Opens a connection with the pragmas every connection of the engine uses.
pub(super) fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer; FULL: every commit is fsynced before it is
    // acknowledged, so an acknowledged write survives a crash or a power loss.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "sqlite did not switch to WAL mode");
    }
    // No automatic checkpoints: they would run inside the writer's commits and stall them; the
    // checkpointer thread does them instead (see `writer.rs`).
    conn.execute_batch(
        "PRAGMA synchronous=FULL;
         PRAGMA foreign_keys=OFF;
         PRAGMA temp_store=MEMORY;
         PRAGMA cache_size=-16384;
         PRAGMA journal_size_limit=67108864;
         PRAGMA wal_autocheckpoint=0;",
    )?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// Creates the tables if needed; returns `(revision, compacted)`.
pub(super) fn init(conn: &Connection) -> rusqlite::Result<(Revision, Revision)> {
    conn.execute_batch(SCHEMA)?;
    let meta_rev = meta(conn, "revision")?;
    // Defensive: never hand out a revision that is already used, even if `meta` lagged.
    let hist_rev: Option<Revision> =
        conn.query_row("SELECT max(rev) FROM history", [], |r| r.get(0))?;
    let kv_rev: Option<Revision> =
        conn.query_row("SELECT max(mod_rev) FROM kv", [], |r| r.get(0))?;
    let revision = meta_rev.max(hist_rev.unwrap_or(0)).max(kv_rev.unwrap_or(0));
    Ok((revision, meta(conn, "compacted")?))
}

pub(super) fn meta(conn: &Connection, name: &str) -> rusqlite::Result<Revision> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

pub(super) fn key_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Decodes `key, value, create_rev, mod_rev`.
pub(super) fn kv_row(row: &Row<'_>) -> rusqlite::Result<KeyValue> {
    Ok(KeyValue {
        key: key_string(row.get(0)?),
        value: row.get(1)?,
        create_revision: row.get(2)?,
        mod_revision: row.get(3)?,
    })
}

/// Reads history rows `rev > after` of keys in `[lo, hi)`, oldest first, with their previous
/// values; decoded by [`history_event`].
pub(super) const HISTORY_SQL: &str = "\
    SELECT h.rev, h.key, h.value, h.deleted, h.create_rev, h.prev_mod_rev, p.value, p.create_rev \
    FROM history h LEFT JOIN history p ON p.rev = h.prev_mod_rev AND h.deleted = 0 \
    WHERE h.rev > ?1 AND h.key >= ?2 AND h.key < ?3 ORDER BY h.rev LIMIT ?4";

/// Decodes a row of [`HISTORY_SQL`].
pub(super) fn history_event(row: &Row<'_>) -> rusqlite::Result<WatchEvent> {
    let rev: Revision = row.get(0)?;
    let key = key_string(row.get(1)?);
    let value: Vec<u8> = row.get(2)?;
    let deleted: bool = row.get(3)?;
    let create_revision: Revision = row.get(4)?;
    let prev_mod: Option<Revision> = row.get(5)?;
    if deleted {
        return Ok(WatchEvent::Delete {
            prev: KeyValue {
                key,
                value,
                create_revision,
                mod_revision: prev_mod.unwrap_or(0),
            },
            revision: rev,
        });
    }
    let prev_value: Option<Vec<u8>> = row.get(6)?;
    let prev = match (prev_mod, prev_value) {
        (Some(mod_revision), Some(value)) => Some(KeyValue {
            key: key.clone(),
            value,
            create_revision: row.get(7)?,
            mod_revision,
        }),
        _ => None,
    };
    Ok(WatchEvent::Put {
        kv: KeyValue {
            key,
            value,
            create_revision,
            mod_revision: rev,
        },
        prev,
    })
}
