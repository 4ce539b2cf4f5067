//! End-to-end (needs root, to mount a small tmpfs): `ordo server`'s data directory on a
//! filesystem that fills up. Writes fail with a clear 503 Status while it is full, reads keep
//! working, nothing stored before is damaged, writes resume by themselves once space returns,
//! and a restart finds everything that was acknowledged.

mod common;
use common::*;
use std::process::Command;

/// A tmpfs mounted on a fresh directory, unmounted (lazily) when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "mounting a tmpfs needs root");
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

fn create_cm(s: &Server, name: &str, size: usize) -> std::process::Output {
    s.kubectl(&[
        "create",
        "configmap",
        name,
        &format!("--from-literal=v={}", "x".repeat(size)),
    ])
}

#[test]
#[ignore = "needs root to mount a tmpfs (scripts/test.sh runs these as root with --include-ignored)"]
fn a_full_data_filesystem_fails_writes_clearly_and_recovers() {
    let fs = Tmpfs::mount("32m");
    let data = tempfile::tempdir_in(fs.0.path()).unwrap();
    let mut s = Server::start_in(data, &[]);
    s.eventually(30, "the default namespace", || {
        s.kubectl(&["get", "sa", "default"]).status.success()
    });
    for i in 0..5 {
        assert!(create_cm(&s, &format!("before-{i}"), 2000).status.success());
    }
    // Fill what is left of the filesystem.
    let filler = fs.0.path().join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=1M", "count=64"])
        .arg(format!("of={}", filler.display()))
        .output()
        .unwrap();
    let out = create_cm(&s, "during", 30_000);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("database or disk is full: the write was not stored; free space on the filesystem of ordo's data directory and retry"),
        "{err}"
    );
    // The answer is a 503 Status.
    let verbose = s.kubectl(&["-v=6", "create", "configmap", "during-2"]);
    assert!(
        String::from_utf8_lossy(&verbose.stderr).contains("503 Service Unavailable"),
        "{}",
        String::from_utf8_lossy(&verbose.stderr)
    );
    // Reads keep working and show what was stored.
    let names = s.ok(&["get", "configmaps", "-o", "name"]);
    for i in 0..5 {
        assert!(names.contains(&format!("configmap/before-{i}")), "{names}");
    }
    assert!(!names.contains("configmap/during"), "{names}");
    // Space returns: writes resume without a restart.
    std::fs::remove_file(&filler).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = create_cm(&s, "after", 2000);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "writes did not resume: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // Nothing acknowledged is lost, nothing is damaged: a restart opens the database (its
    // integrity is checked at start) and serves it all.
    let dir = s.kill9();
    s = Server::start_in(dir, &[]);
    let names = s.ok(&["get", "configmaps", "-o", "name"]);
    for n in ["before-0", "before-4", "after"] {
        assert!(names.contains(&format!("configmap/{n}")), "{names}");
    }
    assert_eq!(
        s.ok(&["get", "configmap", "before-3", "-o", "jsonpath={.data.v}"])
            .len(),
        2000
    );
    drop(s);
    drop(fs);
}
