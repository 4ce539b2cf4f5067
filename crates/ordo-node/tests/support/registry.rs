//! A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution) on a free
//! loopback port, with its config and storage in a temporary directory. Dropping it stops the
//! process by its PID and removes the directory. Images get into it by importing a test
//! archive into a scratch [`ImageStore`] and pushing from there with `oci-client`;
//! [`LocalRegistry::require_password`] then restarts it on the same port and storage with
//! htpasswd auth (a bcrypt line written by `htpasswd` of `apache2-utils`).
//!
//! Shared by `ordo-node`'s and `ordo`'s tests (included with `#[path]`).

#![allow(dead_code)]

use ordo_node::image::registry::RegistryConfig;
use ordo_node::image::ImageStore;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The registry binary of Debian's `docker-registry` package.
const BINARY: &str = "/usr/bin/docker-registry";

/// A running registry on `127.0.0.1:<port>`.
pub struct LocalRegistry {
    child: Child,
    /// Whether `GET /v2/` answers 401 (htpasswd auth) rather than 200.
    auth: bool,
    dir: Option<tempfile::TempDir>,
    /// `127.0.0.1:PORT`, the registry part of image references.
    pub addr: String,
}

impl LocalRegistry {
    /// Starts a registry and waits until it answers `GET /v2/`.
    pub fn start() -> LocalRegistry {
        assert!(
            Path::new(BINARY).exists(),
            "{BINARY} is missing: install the docker-registry package (scripts/install-deps.sh)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = spawn(dir.path(), &addr, "");
        let mut reg = LocalRegistry {
            child,
            auth: false,
            dir: Some(dir),
            addr,
        };
        reg.wait_ready();
        reg
    }

    /// Restarts the registry on the same address and storage requiring `user`'s `password`
    /// (HTTP basic auth against an htpasswd file).
    pub fn require_password(&mut self, user: &str, password: &str) {
        let dir = self.dir.take().unwrap();
        self.stop();
        let out = Command::new("htpasswd")
            .args(["-Bbn", user, password])
            .output()
            .expect("htpasswd is missing: install apache2-utils (scripts/install-deps.sh)");
        assert!(out.status.success(), "htpasswd: {out:?}");
        let file = dir.path().join("htpasswd");
        std::fs::write(&file, &out.stdout).unwrap();
        let auth = format!(
            "auth:\n  htpasswd:\n    realm: ordo-test\n    path: {}\n",
            file.display()
        );
        self.child = spawn(dir.path(), &self.addr, &auth);
        self.dir = Some(dir);
        self.auth = true;
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("docker-registry exited ({st}):\n{}", self.log());
            }
            if self.get_v2() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not answer on {}:\n{}",
                self.addr,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// True when `GET /v2/` answers 200 (401 once it requires a password).
    fn get_v2(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(&self.addr) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let req = format!(
            "GET /v2/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out.starts_with(if self.auth {
            "HTTP/1.1 401"
        } else {
            "HTTP/1.1 200"
        })
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        self.dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.path().join("registry.log")).ok())
            .unwrap_or_default()
    }

    /// Imports `archive` into a scratch store and pushes its image `local` to this registry as
    /// `<addr>/<repo_tag>`. Returns the manifest digest.
    pub fn push_archive(&self, archive: &Path, local: &str, repo_tag: &str) -> String {
        let scratch = tempfile::tempdir().unwrap();
        let store = Arc::new(ImageStore::open(scratch.path()).unwrap());
        store.import(archive).unwrap();
        let remote = format!("{}/{repo_tag}", self.addr);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(store.push(local, &remote, &RegistryConfig::default()))
            .unwrap_or_else(|e| panic!("pushing {remote}: {e:#}\n{}", self.log()))
    }

    /// Stops the registry (SIGTERM to its PID, then SIGKILL) and removes its directory.
    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(d) = self.dir.take() {
            let _ = d.close();
        }
    }
}

/// Writes the registry's config in `dir` (with `extra` sections) and starts it on `addr`,
/// logging to `dir/registry.log`.
fn spawn(dir: &Path, addr: &str, extra: &str) -> Child {
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n{extra}",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("registry.log"))
        .unwrap();
    Command::new(BINARY)
        .arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}
