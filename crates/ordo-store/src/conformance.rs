//! The engine-independent test suite (cargo feature `conformance`).
//!
//! Every case is a `pub async fn(Arc<dyn Store>)` that panics on failure. It must get a store that
//! is EMPTY as far as it can see (a new SQLite file, or an etcd store with a unique prefix). The
//! cases assume nothing about absolute revision numbers (etcd's are shared by all prefixes) and
//! only compact below revisions they wrote themselves, but a case compacts the WHOLE store, so
//! cases sharing one etcd must run one after the other ([`run_all`] does).
//!
//! ```text
//! ordo_store::conformance::run_all(|case| async move {
//!     Arc::new(SqliteStore::open(dir.join(case)).unwrap()) as Arc<dyn Store>
//! }).await;
//! ```

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;

use crate::{KeyValue, Revision, Store, StoreError, WatchEvent, WatchStream};

type Case = fn(Arc<dyn Store>) -> BoxFuture<'static, ()>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// Names of all cases, in the order [`run_all`] runs them.
        pub const CASES: &[&str] = &[$(stringify!($name)),*];
        const CASE_FNS: &[Case] = &[$(|s| Box::pin($name(s))),*];
    };
}

cases!(
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

/// Runs the case called `name` (one of [`CASES`]) on `store`.
pub async fn run_case(name: &str, store: Arc<dyn Store>) {
    let index = CASES
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("no conformance case {name:?}"));
    CASE_FNS[index](store).await
}

/// Runs every case, one after the other, each on a store from `make(case_name)`.
pub async fn run_all<F, Fut>(mut make: F)
where
    F: FnMut(&'static str) -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    for name in CASES {
        tracing::info!(case = name, "conformance case");
        let store = make(name).await;
        run_case(name, store).await;
    }
}

const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

fn v(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// The next event of `w`; panics on timeout, end or error.
pub async fn next_event(w: &mut WatchStream) -> WatchEvent {
    match tokio::time::timeout(EVENT_TIMEOUT, w.next()).await {
        Err(_) => panic!("no watch event within {EVENT_TIMEOUT:?}"),
        Ok(None) => panic!("watch ended"),
        Ok(Some(Err(e))) => panic!("watch failed: {e}"),
        Ok(Some(Ok(event))) => event,
    }
}

/// Panics if `w` yields anything within a short while.
pub async fn assert_quiet(w: &mut WatchStream) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(300), w.next()).await {
        panic!("unexpected watch item: {item:?}");
    }
}

fn put_kv(event: &WatchEvent) -> &KeyValue {
    match event {
        WatchEvent::Put { kv, .. } => kv,
        other => panic!("expected a put, got {other:?}"),
    }
}

fn keys(items: &[KeyValue]) -> Vec<&str> {
    items.iter().map(|kv| kv.key.as_str()).collect()
}

/// create/get/AlreadyExists.
pub async fn create_get(s: Arc<dyn Store>) {
    assert_eq!(s.get("a/1").await.unwrap(), None);
    let kv = s.create("a/1", v("one")).await.unwrap();
    assert_eq!(kv.key, "a/1");
    assert_eq!(kv.value, v("one"));
    assert!(kv.mod_revision > 0);
    assert_eq!(kv.create_revision, kv.mod_revision);
    assert_eq!(s.get("a/1").await.unwrap(), Some(kv.clone()));
    match s.create("a/1", v("again")).await {
        Err(StoreError::AlreadyExists(key)) => assert_eq!(key, "a/1"),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(s.get("a/1").await.unwrap(), Some(kv));
    assert_eq!(s.get("a/2").await.unwrap(), None);
    // Empty values and unusual keys round-trip.
    let empty = s.create("a/é ü/\u{1F600}", Vec::new()).await.unwrap();
    assert_eq!(s.get("a/é ü/\u{1F600}").await.unwrap(), Some(empty));
}

/// update with the right revision, a stale one and on a missing key.
pub async fn update_with_expected_revision(s: Arc<dyn Store>) {
    let created = s.create("k", v("1")).await.unwrap();
    let updated = s.update("k", v("2"), created.mod_revision).await.unwrap();
    assert!(updated.mod_revision > created.mod_revision);
    assert_eq!(updated.create_revision, created.create_revision);
    assert_eq!(updated.value, v("2"));
    assert_eq!(s.get("k").await.unwrap(), Some(updated.clone()));
    match s.update("k", v("3"), created.mod_revision).await {
        Err(StoreError::Conflict { key, current }) => {
            assert_eq!(key, "k");
            assert_eq!(current, updated.mod_revision);
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(s.get("k").await.unwrap(), Some(updated.clone()));
    match s.update("missing", v("x"), updated.mod_revision).await {
        Err(StoreError::NotFound(key)) => assert_eq!(key, "missing"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match s.update("missing", v("x"), 0).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected NotFound for expected revision 0, got {other:?}"),
    }
    assert_eq!(s.get("missing").await.unwrap(), None);
    let third = s.update("k", v("3"), updated.mod_revision).await.unwrap();
    assert_eq!(third.create_revision, created.create_revision);
    assert!(third.mod_revision > updated.mod_revision);
}

/// delete with and without an expected revision; NotFound and Conflict.
pub async fn delete_cases(s: Arc<dyn Store>) {
    match s.delete("nope", None).await {
        Err(StoreError::NotFound(key)) => assert_eq!(key, "nope"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match s.delete("nope", Some(5)).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    let a = s.create("d/a", v("a")).await.unwrap();
    let a2 = s.update("d/a", v("a2"), a.mod_revision).await.unwrap();
    match s.delete("d/a", Some(a.mod_revision)).await {
        Err(StoreError::Conflict { current, .. }) => assert_eq!(current, a2.mod_revision),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(s.get("d/a").await.unwrap(), Some(a2.clone()));
    let (prev, rev) = s.delete("d/a", Some(a2.mod_revision)).await.unwrap();
    assert_eq!(prev, a2);
    assert!(rev > a2.mod_revision);
    assert_eq!(s.get("d/a").await.unwrap(), None);
    assert!(matches!(
        s.delete("d/a", None).await,
        Err(StoreError::NotFound(_))
    ));

    let b = s.create("d/b", v("b")).await.unwrap();
    let (prev, rev_b) = s.delete("d/b", None).await.unwrap();
    assert_eq!(prev, b);
    assert!(rev_b > b.mod_revision);

    // Re-creating a deleted key starts a new life.
    let again = s.create("d/a", v("new")).await.unwrap();
    assert!(again.create_revision > rev);
    assert_eq!(again.create_revision, again.mod_revision);
}

/// Every write gets a larger revision; the current revision follows.
pub async fn revisions_strictly_increase(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let mut last = start;
    let mut latest = Vec::new();
    for i in 0..10 {
        let kv = s.create(&format!("r/{i}"), v("x")).await.unwrap();
        assert!(kv.mod_revision > last, "{} after {last}", kv.mod_revision);
        last = kv.mod_revision;
        let kv = s.update(&format!("r/{i}"), v("y"), last).await.unwrap();
        assert!(kv.mod_revision > last);
        last = kv.mod_revision;
        assert!(s.current_revision().await.unwrap() >= last);
        latest.push(kv);
    }
    let (_, rev) = s.delete("r/0", None).await.unwrap();
    assert!(rev > last);
    assert!(s.current_revision().await.unwrap() >= rev);
    // Failed writes change nothing.
    let _ = s.create("r/1", v("dup")).await.unwrap_err();
    let _ = s.update("r/2", v("bad"), 1).await.unwrap_err();
    assert_eq!(s.get("r/1").await.unwrap().as_ref(), Some(&latest[1]));
    assert_eq!(s.get("r/2").await.unwrap().as_ref(), Some(&latest[2]));
    let next = s.create("r/next", v("z")).await.unwrap();
    assert!(next.mod_revision > rev);
}

/// list: prefix, ordering, limit, start_after, more.
pub async fn list_prefix_paging(s: Arc<dyn Store>) {
    for k in ["a/3", "a/1", "ab/1", "a/2", "a/10", "b/1", "a", "a/"] {
        s.create(k, v(k)).await.unwrap();
    }
    let all = s.list("a/", None, 0).await.unwrap();
    assert_eq!(keys(&all.items), ["a/", "a/1", "a/10", "a/2", "a/3"]);
    assert!(!all.more);
    assert_eq!(all.items[1].value, v("a/1"));

    let page = s.list("a/", None, 2).await.unwrap();
    assert_eq!(keys(&page.items), ["a/", "a/1"]);
    assert!(page.more);
    let page = s.list("a/", Some("a/1"), 2).await.unwrap();
    assert_eq!(keys(&page.items), ["a/10", "a/2"]);
    assert!(page.more);
    let page = s.list("a/", Some("a/2"), 2).await.unwrap();
    assert_eq!(keys(&page.items), ["a/3"]);
    assert!(!page.more);
    let page = s.list("a/", Some("a/3"), 2).await.unwrap();
    assert!(page.items.is_empty());
    assert!(!page.more);
    // Exactly `limit` left: no more.
    let page = s.list("a/", Some("a/10"), 2).await.unwrap();
    assert_eq!(keys(&page.items), ["a/2", "a/3"]);
    assert!(!page.more);
    // start_after before the prefix is ignored; after it yields nothing.
    assert_eq!(s.list("a/", Some("0"), 0).await.unwrap().items.len(), 5);
    assert!(s.list("a/", Some("b"), 0).await.unwrap().items.is_empty());

    // Paging through everything with limit 1 visits each key once, in order.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list("", after.as_deref(), 1).await.unwrap();
        seen.extend(page.items.iter().map(|kv| kv.key.clone()));
        if !page.more {
            break;
        }
        after = page.items.last().map(|kv| kv.key.clone());
    }
    assert_eq!(
        seen,
        ["a", "a/", "a/1", "a/10", "a/2", "a/3", "ab/1", "b/1"]
    );

    assert_eq!(keys(&s.list("ab/", None, 0).await.unwrap().items), ["ab/1"]);
    assert_eq!(s.list("a", None, 0).await.unwrap().items.len(), 7);
    assert!(s.list("c/", None, 0).await.unwrap().items.is_empty());
}

/// list reports the revision it read at.
pub async fn list_revision(s: Arc<dyn Store>) {
    let a = s.create("l/a", v("1")).await.unwrap();
    let page = s.list("l/", None, 0).await.unwrap();
    assert!(page.revision >= a.mod_revision);
    let b = s.create("l/b", v("2")).await.unwrap();
    let page = s.list("l/", None, 0).await.unwrap();
    assert!(page.revision >= b.mod_revision);
    assert_eq!(page.items, vec![a, b]);
    let empty = s.list("none/", None, 0).await.unwrap();
    assert!(empty.revision >= page.revision);
}

/// A watch from an old revision replays history, then continues live, in order, once each.
pub async fn watch_replay_then_live(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let a = s.create("w/a", v("1")).await.unwrap();
    let a2 = s.update("w/a", v("2"), a.mod_revision).await.unwrap();
    let b = s.create("w/b", v("b")).await.unwrap();

    let mut w = s.watch("w/", start).await.unwrap();
    assert_eq!(put_kv(&next_event(&mut w).await), &a);
    let e = next_event(&mut w).await;
    assert_eq!(
        e,
        WatchEvent::Put {
            kv: a2.clone(),
            prev: Some(a.clone())
        }
    );
    assert_eq!(put_kv(&next_event(&mut w).await), &b);
    let c = s.create("w/c", v("c")).await.unwrap();
    let (_, del) = s.delete("w/b", Some(b.mod_revision)).await.unwrap();
    assert_eq!(put_kv(&next_event(&mut w).await), &c);
    let e = next_event(&mut w).await;
    assert_eq!(e.revision(), del);
    assert_eq!(e.key(), "w/b");
    assert_quiet(&mut w).await;

    // From the middle: only later revisions.
    let mut w2 = s.watch("w/", a2.mod_revision).await.unwrap();
    let revs = [
        next_event(&mut w2).await.revision(),
        next_event(&mut w2).await.revision(),
        next_event(&mut w2).await.revision(),
    ];
    assert_eq!(revs, [b.mod_revision, c.mod_revision, del]);
    assert_quiet(&mut w2).await;
}

/// A watch sees only its prefix ("a/" does not match "ab/").
pub async fn watch_prefix_isolation(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch("p/a/", start).await.unwrap();
    let mut expected = Vec::new();
    for (i, k) in ["p/a/1", "p/ab/1", "p/b/1", "p/a/2", "p/a", "q/a/1"]
        .iter()
        .enumerate()
    {
        let kv = s.create(k, v(&i.to_string())).await.unwrap();
        if k.starts_with("p/a/") {
            expected.push(kv);
        }
    }
    for kv in &expected {
        assert_eq!(put_kv(&next_event(&mut w).await), kv);
    }
    assert_quiet(&mut w).await;
    // Replayed history is filtered the same way.
    let mut w = s.watch("p/a/", start).await.unwrap();
    for kv in &expected {
        assert_eq!(put_kv(&next_event(&mut w).await), kv);
    }
    assert_quiet(&mut w).await;
}

/// Update events carry the previous value; delete events carry the last value.
pub async fn watch_delete_carries_prev(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let a = s.create("x/a", v("1")).await.unwrap();
    let mut live = s.watch("x/", a.mod_revision).await.unwrap();
    let a2 = s.update("x/a", v("2"), a.mod_revision).await.unwrap();
    let (prev, rev) = s.delete("x/a", None).await.unwrap();
    assert_eq!(prev, a2);
    let mut replay = s.watch("x/", start).await.unwrap();
    assert_eq!(put_kv(&next_event(&mut replay).await), &a);
    for w in [&mut live, &mut replay] {
        assert_eq!(
            next_event(w).await,
            WatchEvent::Put {
                kv: a2.clone(),
                prev: Some(a.clone())
            }
        );
        assert_eq!(
            next_event(w).await,
            WatchEvent::Delete {
                prev: a2.clone(),
                revision: rev
            }
        );
        assert_quiet(w).await;
    }
}

/// A watch that starts after the current revision sees only later writes.
pub async fn watch_from_future_revision(s: Arc<dyn Store>) {
    let a = s.create("f/a", v("1")).await.unwrap();
    let mut w = s.watch("f/", a.mod_revision).await.unwrap();
    assert_quiet(&mut w).await;
    let b = s.create("f/b", v("2")).await.unwrap();
    assert_eq!(put_kv(&next_event(&mut w).await), &b);
    let mut ahead = s.watch("f/", b.mod_revision + 1).await.unwrap();
    let c = s.create("f/c", v("3")).await.unwrap();
    let d = s.create("f/d", v("4")).await.unwrap();
    assert_eq!(put_kv(&next_event(&mut w).await), &c);
    assert_eq!(put_kv(&next_event(&mut w).await), &d);
    // `ahead` started after b+1: it sees whatever follows b+1 only.
    let expected = [c.mod_revision, d.mod_revision]
        .into_iter()
        .find(|r| *r > b.mod_revision + 1)
        .unwrap();
    assert_eq!(next_event(&mut ahead).await.revision(), expected);
}

/// Watching from a compacted revision fails with `Compacted`; later revisions still work.
pub async fn watch_compacted(s: Arc<dyn Store>) {
    let before = s.current_revision().await.unwrap();
    let a = s.create("c/a", v("1")).await.unwrap();
    let a2 = s.update("c/a", v("2"), a.mod_revision).await.unwrap();
    let b = s.create("c/b", v("b")).await.unwrap();
    let mut live = s.watch("c/", b.mod_revision).await.unwrap();
    s.compact(b.mod_revision).await.unwrap();
    // Compacting again at or below is harmless.
    s.compact(a.mod_revision).await.unwrap();
    s.compact(b.mod_revision).await.unwrap();

    for after in [before, a.mod_revision - 1] {
        match s.watch("c/", after).await {
            Err(StoreError::Compacted {
                requested,
                compacted,
            }) => {
                assert_eq!(requested, after);
                assert!(compacted > after, "compacted {compacted} <= {after}");
            }
            Ok(_) => panic!("watch from compacted revision {after} succeeded"),
            Err(e) => panic!("expected Compacted, got {e}"),
        }
    }
    // Current values survive compaction.
    assert_eq!(s.get("c/a").await.unwrap(), Some(a2.clone()));
    assert_eq!(s.list("c/", None, 0).await.unwrap().items.len(), 2);

    let mut w = s.watch("c/", b.mod_revision).await.unwrap();
    let a3 = s.update("c/a", v("3"), a2.mod_revision).await.unwrap();
    for w in [&mut w, &mut live] {
        let e = next_event(w).await;
        assert_eq!(put_kv(&e), &a3);
        assert_quiet(w).await;
    }
    // A watch from the compacted revision itself replays what followed.
    let mut w = s.watch("c/", b.mod_revision).await.unwrap();
    assert_eq!(put_kv(&next_event(&mut w).await), &a3);
}

/// 8 concurrent writers x 50 creates get 400 distinct revisions.
pub async fn concurrent_writers(s: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut revs = Vec::new();
                for i in 0..50 {
                    let kv = s.create(&format!("cw/{t}/{i:02}"), v("x")).await.unwrap();
                    revs.push(kv.mod_revision);
                }
                revs
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        let revs = task.await.unwrap();
        assert!(revs.windows(2).all(|w| w[0] < w[1]), "per-task order");
        all.extend(revs);
    }
    let distinct: HashSet<Revision> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 400);
    let page = s.list("cw/", None, 0).await.unwrap();
    assert_eq!(page.items.len(), 400);
    assert!(page.revision >= *all.iter().max().unwrap());
    let revs: HashSet<Revision> = page.items.iter().map(|kv| kv.mod_revision).collect();
    assert_eq!(revs, distinct);
}

/// A watch during concurrent writes sees every write exactly once, in revision order.
pub async fn watch_concurrent_writers(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch("wc/", start).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let kv = s.create(&format!("wc/{t}/{i}"), v("1")).await.unwrap();
                    s.update(&kv.key, v("2"), kv.mod_revision).await.unwrap();
                }
            })
        })
        .collect();
    // Keep reading while the writers run.
    let mut events = Vec::new();
    while events.len() < 200 {
        events.push(next_event(&mut w).await);
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_quiet(&mut w).await;
    assert!(events.windows(2).all(|p| p[0].revision() < p[1].revision()));
    let puts: HashSet<(String, Vec<u8>)> = events
        .iter()
        .map(|e| (put_kv(e).key.clone(), put_kv(e).value.clone()))
        .collect();
    assert_eq!(puts.len(), 200);
}

/// A watcher that is not polled while many writes happen still gets all of them, in order.
pub async fn watch_slow_consumer(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch("slow/", start).await.unwrap();
    let mut other = s.watch("slow/", start).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..75 {
                    s.create(&format!("slow/{t}/{i}"), v("x")).await.unwrap();
                }
            })
        })
        .collect();
    // `other` reads one event early so its replay is over before the flood.
    next_event(&mut other).await;
    for task in tasks {
        task.await.unwrap();
    }
    for (w, want) in [(&mut w, 300), (&mut other, 299)] {
        let mut last = start;
        let mut keys = HashSet::new();
        for _ in 0..want {
            let e = next_event(w).await;
            assert!(
                e.revision() > last,
                "out of order: {} after {last}",
                e.revision()
            );
            last = e.revision();
            keys.insert(e.key().to_owned());
        }
        assert_eq!(keys.len(), want);
        assert_quiet(w).await;
    }
}
