//! The conformance suite against SQLite, plus SQLite-only tests: reopen, crash safety (kill -9 of
//! a writer process), group commit and compaction.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ordo_store::conformance::{self, next_event};
use ordo_store::{SqliteOptions, SqliteStore, Store, StoreError, WatchEvent};

fn open(dir: &tempfile::TempDir, name: &str) -> SqliteStore {
    SqliteStore::open(dir.path().join(name)).unwrap()
}

macro_rules! conformance_cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let dir = tempfile::tempdir().unwrap();
                conformance::$name(Arc::new(open(&dir, "db.sqlite"))).await;
            }
        )*

        #[test]
        fn every_conformance_case_runs_here() {
            assert_eq!(conformance::CASES, &[$(stringify!($name)),*]);
        }
    };
}

conformance_cases!(
    create_get,
    update_with_expected_revision,
    delete_cases,
    revisions_strictly_increase,
    list_prefix_paging,
    list_revision,
    watch_replay_then_live,
    watch_prefix_isolation,
    watch_delete_carries_prev,
    watch_from_future_revision,
    watch_compacted,
    concurrent_writers,
    watch_concurrent_writers,
    watch_slow_consumer,
);

/// The whole suite again with tiny buffers: every watcher lags and catches up from history, and
/// groups are small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_suite_with_tiny_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    conformance::run_all(|case| {
        let path = root.join(format!("{case}.sqlite"));
        async move {
            let options = SqliteOptions {
                max_batch: 3,
                watch_buffer: 1,
                readers: 1,
            };
            Arc::new(SqliteStore::open_with(path, options).unwrap()) as Arc<dyn Store>
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_data_history_and_revision() {
    let dir = tempfile::tempdir().unwrap();
    let (a, a2, del, rev) = {
        let s = open(&dir, "db.sqlite");
        let a = s.create("k/a", b"1".to_vec()).await.unwrap();
        let a2 = s
            .update("k/a", b"2".to_vec(), a.mod_revision)
            .await
            .unwrap();
        s.create("k/b", b"b".to_vec()).await.unwrap();
        let (_, del) = s.delete("k/b", None).await.unwrap();
        s.compact(a.mod_revision).await.unwrap();
        let rev = s.current_revision().await.unwrap();
        assert_eq!(rev, del);
        (a, a2, del, rev)
    };
    let s = open(&dir, "db.sqlite");
    assert_eq!(s.current_revision().await.unwrap(), rev);
    assert_eq!(s.stats().compacted, a.mod_revision);
    assert_eq!(s.get("k/a").await.unwrap(), Some(a2.clone()));
    assert_eq!(s.get("k/b").await.unwrap(), None);
    let c = s.create("k/c", b"c".to_vec()).await.unwrap();
    assert_eq!(c.mod_revision, rev + 1);

    let mut w = s.watch("k/", a.mod_revision).await.unwrap();
    // The previous value lived at the compacted revision: gone, as in etcd.
    assert_eq!(
        next_event(&mut w).await,
        WatchEvent::Put {
            kv: a2.clone(),
            prev: None
        }
    );
    assert_eq!(next_event(&mut w).await.revision(), a2.mod_revision + 1);
    assert_eq!(next_event(&mut w).await.revision(), del);
    assert_eq!(next_event(&mut w).await.revision(), c.mod_revision);
    match s.watch("k/", 0).await {
        Err(StoreError::Compacted { compacted, .. }) => assert_eq!(compacted, a.mod_revision),
        other => panic!("expected Compacted, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_store_starts_at_revision_zero() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, "db.sqlite");
    assert_eq!(s.current_revision().await.unwrap(), 0);
    let page = s.list("", None, 0).await.unwrap();
    assert_eq!((page.items.len(), page.revision, page.more), (0, 0, false));
    assert_eq!(s.create("x", vec![]).await.unwrap().mod_revision, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_batches_concurrent_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, "db.sqlite");
    let started = Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    s.create(&format!("g/{t}/{i}"), vec![0; 512]).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = s.stats();
    eprintln!(
        "800 writes from 32 tasks: {} commits in {:?}",
        stats.commits,
        started.elapsed()
    );
    assert_eq!(stats.writes, 800);
    assert!(
        stats.commits < stats.writes,
        "no write was grouped: {stats:?}"
    );
}

fn history_rows(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM history", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_purges_history_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let s = SqliteStore::open(&path).unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..160 {
                    s.create(&format!("h/{t}/{i}"), b"v".to_vec())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let last = s.create("h/last", b"v".to_vec()).await.unwrap();
    assert_eq!(history_rows(&path), 2561);
    s.compact(last.mod_revision - 1).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while history_rows(&path) > 1 {
        assert!(Instant::now() < deadline, "history not purged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut w = s.watch("h/", last.mod_revision - 1).await.unwrap();
    assert_eq!(next_event(&mut w).await.revision(), last.mod_revision);
    assert_eq!(s.list("h/", None, 0).await.unwrap().items.len(), 2561);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactor_keeps_recent_history() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, "db.sqlite");
    let compactor = s.spawn_compactor(10, Duration::from_millis(20));
    for i in 0..50 {
        s.create(&format!("c/{i}"), vec![]).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.stats().compacted < 40 {
        assert!(Instant::now() < deadline, "compactor did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(s.watch("", 39).await.is_err());
    assert!(s.watch("", 40).await.is_ok());
    drop(s);
    // The compactor ends with the store.
    tokio::time::timeout(Duration::from_secs(5), compactor)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_history_ends_a_lagging_watch() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions {
        watch_buffer: 1,
        ..SqliteOptions::default()
    };
    let s = SqliteStore::open_with(dir.path().join("db.sqlite"), options).unwrap();
    let mut w = s.watch("", 0).await.unwrap();
    let mut last = 0;
    for i in 0..20 {
        last = s
            .create(&format!("z/{i}"), vec![])
            .await
            .unwrap()
            .mod_revision;
    }
    s.compact(last).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), w.next()).await {
        Ok(Some(Err(StoreError::Compacted {
            requested,
            compacted,
        }))) => {
            assert_eq!((requested, compacted), (0, last));
        }
        other => panic!("expected a Compacted error, got {other:?}"),
    }
    assert!(w.next().await.is_none(), "the stream ends after the error");
}

const CHILD_DB: &str = "ORDO_STORE_CRASH_CHILD_DB";

/// Run by `acknowledged_writes_survive_kill_9` in a child process: writes until killed and
/// prints every acknowledged write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of acknowledged_writes_survive_kill_9"]
async fn crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let s = SqliteStore::open(PathBuf::from(path)).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    for t in 0..8 {
        let (s, tx) = (s.clone(), tx.clone());
        tokio::spawn(async move {
            for i in 0.. {
                let key = format!("crash/{t}/{i}");
                let kv = s.create(&key, vec![7; 256]).await.unwrap();
                let _ = tx.send(format!("ACK {key} {}", kv.mod_revision));
            }
        });
    }
    let mut out = std::io::stdout().lock();
    while let Some(line) = rx.recv().await {
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child_writer", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 300 {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(rest) = line.strip_prefix("ACK ") {
            let (key, rev) = rest.split_once(' ').unwrap();
            acked.push((key.to_owned(), rev.parse::<i64>().unwrap()));
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no clean shutdown
    child.wait().unwrap();

    let s = SqliteStore::open(&path).unwrap();
    let current = s.current_revision().await.unwrap();
    for (key, rev) in &acked {
        let kv = s
            .get(key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{key} lost"));
        assert_eq!(kv.mod_revision, *rev);
        assert!(*rev <= current);
    }
    // Revisions continue after the crash, without reuse.
    let next = s.create("after-crash", vec![]).await.unwrap();
    assert_eq!(next.mod_revision, current + 1);
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Latency check: 20k objects, 16 concurrent clients doing GET and PATCH (get + update).
/// Run with `cargo test -p ordo-store --release --test sqlite -- --ignored --nocapture bench`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark"]
async fn bench_get_patch_16_clients() {
    const OBJECTS: usize = 20_000;
    const CLIENTS: usize = 16;
    const OPS: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir, "db.sqlite");
    let value = vec![b'x'; 2048];
    let loaders: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (s, value) = (s.clone(), value.clone());
            tokio::spawn(async move {
                for i in (c..OBJECTS).step_by(CLIENTS) {
                    s.create(&format!("/registry/pods/ns/p{i:05}"), value.clone())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    let started = Instant::now();
    for l in loaders {
        l.await.unwrap();
    }
    eprintln!("loaded {OBJECTS} objects in {:?}", started.elapsed());
    let _watch = s
        .watch("/registry/pods/", s.current_revision().await.unwrap())
        .await
        .unwrap();

    for patch in [false, true] {
        let started = Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (s, value) = (s.clone(), value.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(OPS);
                    for i in 0..OPS {
                        let key = format!(
                            "/registry/pods/ns/p{:05}",
                            (i * 7919 + c * 104_729) % OBJECTS
                        );
                        let t = Instant::now();
                        let kv = s.get(&key).await.unwrap().unwrap();
                        if patch {
                            match s.update(&key, value.clone(), kv.mod_revision).await {
                                Ok(_) | Err(StoreError::Conflict { .. }) => {}
                                Err(e) => panic!("{e}"),
                            }
                        }
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in clients {
            all.extend(c.await.unwrap());
        }
        let elapsed = started.elapsed();
        all.sort();
        eprintln!(
            "{}: {} ops in {elapsed:?} ({:.0}/s), p50 {:?}, p99 {:?}, max {:?}",
            if patch { "PATCH" } else { "GET" },
            all.len(),
            all.len() as f64 / elapsed.as_secs_f64(),
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            all.last().unwrap()
        );
    }
    let page_started = Instant::now();
    let page = s.list("/registry/pods/", None, 0).await.unwrap();
    eprintln!(
        "list of {} in {:?}; {:?}",
        page.items.len(),
        page_started.elapsed(),
        s.stats()
    );
    let wal = std::fs::metadata(dir.path().join("db.sqlite-wal")).map_or(0, |m| m.len());
    eprintln!("WAL file: {} KiB", wal / 1024);
}

/// The message of a store that refused to open.
fn refusal(path: &Path) -> String {
    match SqliteStore::open(path) {
        Ok(_) => panic!("a damaged database was opened"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let s = open(&dir, "db.sqlite");
        for i in 0..2000 {
            s.create(&format!("k/{i:05}"), vec![b'x'; 1000])
                .await
                .unwrap();
        }
    }
    // Reopened and closed: the WAL is checkpointed into the main file.
    drop(open(&dir, "db.sqlite"));
    let _ = std::fs::remove_file(dir.path().join("db.sqlite-wal"));
    let _ = std::fs::remove_file(dir.path().join("db.sqlite-shm"));
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 1_000_000, "{} bytes", bytes.len());
    // Garbage over pages in the middle (the tables' b-tree pages), header intact.
    let mid = bytes.len() / 2;
    for (i, b) in bytes[mid..mid + 64 * 1024].iter_mut().enumerate() {
        *b = (i * 7 % 251) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let msg = refusal(&path);
    assert!(
        msg.contains(&format!("the database {} is damaged", path.display())),
        "{msg}"
    );
    assert!(msg.contains("ordo will not serve from it"), "{msg}");
    // Not a database at all.
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "x".repeat(8192)).unwrap();
    let msg = refusal(&other);
    assert!(msg.contains("is damaged (file is not a database)"), "{msg}");
}
