//! The conformance suite against a real etcd started by the test on loopback.
//!
//! Needs `/usr/bin/etcd` (Debian package `etcd-server`), or the binary named by `ORDO_ETCD_BIN`.
//! Without it the test FAILS, unless `ORDO_SKIP_ETCD=1`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ordo_store::{conformance, EtcdStore, Store, StoreError};

/// An etcd process that is killed when dropped (also when the test panics).
struct Etcd {
    child: Child,
    endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Etcd {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts etcd, or returns `None` if it is missing and `ORDO_SKIP_ETCD=1`.
fn start_etcd() -> Option<Etcd> {
    let bin = std::env::var("ORDO_ETCD_BIN").unwrap_or_else(|_| "/usr/bin/etcd".into());
    if !std::path::Path::new(&bin).exists() {
        if std::env::var("ORDO_SKIP_ETCD").as_deref() == Ok("1") {
            eprintln!("SKIPPED: {bin} not found and ORDO_SKIP_ETCD=1");
            return None;
        }
        panic!(
            "etcd binary {bin} not found: install it (apt-get install -y etcd-server), point \
             ORDO_ETCD_BIN at one, or set ORDO_SKIP_ETCD=1 to skip this test"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("etcd.log");
    let client = format!("http://127.0.0.1:{}", free_port());
    let peer = format!("http://127.0.0.1:{}", free_port());
    let mut cmd = Command::new(&bin);
    for (name, _) in std::env::vars() {
        if name.starts_with("ETCD_") {
            cmd.env_remove(name);
        }
    }
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let child = cmd
        .arg("--name=default")
        .arg(format!("--data-dir={}", dir.path().join("data").display()))
        .arg(format!("--listen-client-urls={client}"))
        .arg(format!("--advertise-client-urls={client}"))
        .arg(format!("--listen-peer-urls={peer}"))
        .arg(format!("--initial-advertise-peer-urls={peer}"))
        .arg(format!("--initial-cluster=default={peer}"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    Some(Etcd {
        child,
        endpoint: client,
        log,
        _dir: dir,
    })
}

async fn connect(etcd: &mut Etcd, prefix: &str) -> EtcdStore {
    let endpoints = vec![etcd.endpoint.clone()];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match EtcdStore::connect(&endpoints, prefix).await {
            Ok(store) => return store,
            Err(e) => {
                if let Some(status) = etcd.child.try_wait().unwrap() {
                    panic!("etcd exited ({status}):\n{}", etcd.log());
                }
                if Instant::now() > deadline {
                    panic!("etcd did not answer: {e}\n{}", etcd.log());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_conformance() {
    let Some(mut etcd) = start_etcd() else {
        return;
    };
    let probe = connect(&mut etcd, "/probe/").await;
    assert!(probe.current_revision().await.unwrap() >= 1);

    // Prefixes isolate stores sharing one etcd.
    let other = connect(&mut etcd, "/other/").await;
    other.create("a/1", b"x".to_vec()).await.unwrap();
    assert_eq!(probe.get("a/1").await.unwrap(), None);
    assert!(matches!(
        probe.delete("a/1", None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(probe.list("", None, 0).await.unwrap().items.is_empty());

    let mut stores = Vec::new();
    for case in conformance::CASES {
        stores.push(connect(&mut etcd, &format!("/ordo-test/{case}/")).await);
    }
    let mut stores = stores.into_iter();
    conformance::run_all(|_case| {
        let store = stores.next().unwrap();
        async move { Arc::new(store) as Arc<dyn Store> }
    })
    .await;
    drop(etcd);
}

#[tokio::test]
async fn connect_fails_when_nothing_listens() {
    let endpoints = vec![format!("http://127.0.0.1:{}", free_port())];
    let started = Instant::now();
    assert!(EtcdStore::connect(&endpoints, "/x/").await.is_err());
    assert!(started.elapsed() < Duration::from_secs(30));
}
