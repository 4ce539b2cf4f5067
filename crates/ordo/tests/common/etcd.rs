//! A real etcd for the tests of the etcd store engine and of several servers on one etcd.

use super::free_port;
use std::process::{Child, Command, Stdio};

/// A one-member etcd on loopback ports, killed (by PID) when dropped.
pub struct Etcd {
    child: Child,
    _dir: tempfile::TempDir,
    /// Its client URL.
    pub url: String,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Debian's `/usr/bin/etcd` with its data in a temporary directory and waits until it
/// is healthy.
pub fn start_etcd() -> Etcd {
    assert!(
        std::path::Path::new("/usr/bin/etcd").exists(),
        "etcd is not installed: run scripts/install-deps.sh (Debian package etcd-server)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (client, peer) = (free_port(), free_port());
    let url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let mut child = Command::new("/usr/bin/etcd")
        .args(["--name", "default", "--data-dir"])
        .arg(dir.path().join("etcd"))
        .args([
            "--listen-client-urls",
            &url,
            "--advertise-client-urls",
            &url,
            "--listen-peer-urls",
            &peer_url,
            "--initial-advertise-peer-urls",
            &peer_url,
        ])
        .args(["--initial-cluster", &format!("default={peer_url}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let ok = Command::new("curl")
            .args(["-s", &format!("{url}/health")])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("true"))
            .unwrap_or(false);
        if ok {
            return Etcd {
                child,
                _dir: dir,
                url,
            };
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("etcd did not become healthy");
}
