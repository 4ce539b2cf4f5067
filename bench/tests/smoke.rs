//! The harness works: a tiny store run on SQLite prints its RESULT lines. No timing is checked.

use std::process::Command;

#[test]
fn tiny_store_run_prints_results() {
    let out = Command::new(env!("CARGO_BIN_EXE_ordo-bench"))
        .args([
            "store",
            "--engine",
            "sqlite",
            "--sizes",
            "20,40",
            "--clients",
            "2",
            "--ops",
            "5",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("RESULT store engine=sqlite"))
        .collect();
    // create, get, get+update and list for each of the two sizes.
    assert_eq!(results.len(), 8, "{stdout}");
    assert!(
        results.iter().any(|l| l.contains("op=list objects=40")),
        "{stdout}"
    );
}
