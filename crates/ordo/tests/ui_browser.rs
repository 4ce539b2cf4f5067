//! End-to-end: the web view at `/ui/` in Debian's Chromium, driven headless by
//! `tests/ui/driver.mjs` (playwright-core): sign in with the admin token, apply the walkthrough,
//! tiles appear in ordinal order, scale to 5 in the page, a `kubectl set image` changes the
//! tiles' revision from the highest ordinal down, roll back and delete a pod from the page, and
//! ServiceAccounts with `view` only or no rights see the API's 403 messages (the page's requests
//! carry the signed-in identity). Screenshots go to `target/ui-screenshots/`.
//!
//! Needs `/usr/bin/chromium` and the driver's `node_modules` (`scripts/install-deps.sh`); the
//! test fails, not passes, without them. `web_view_model_unit_tests` runs the page's pure
//! functions under Node's test runner (`tests/ui/model.test.mjs`).

mod common;
use common::{Server, WALKTHROUGH};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn driver_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ui")
}

/// Fails the test unless the browser and the driver's library are installed.
fn require_browser() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run scripts/install-deps.sh"
    );
    assert!(
        driver_dir().join("node_modules/playwright-core").exists(),
        "crates/ordo/tests/ui/node_modules is missing: run scripts/install-deps.sh"
    );
}

/// A token of a new ServiceAccount `name` in `default`, bound to ClusterRole `role` if any.
fn sa_token(s: &Server, name: &str, role: Option<&str>) -> String {
    s.ok(&["create", "serviceaccount", name]);
    if let Some(role) = role {
        s.ok(&[
            "create",
            "rolebinding",
            name,
            &format!("--clusterrole={role}"),
            &format!("--serviceaccount=default:{name}"),
        ]);
    }
    s.ok(&["create", "token", name]).trim().to_string()
}

/// Runs the driver; returns its `RESULT name json` lines, panicking with its output on failure.
/// On a `REQUEST restart` line the server is killed and started again on the same data directory
/// and port, and the driver is told `done` on its standard input.
fn run_driver(
    server: &mut Option<Server>,
    mode: &str,
    manifest: &str,
    envs: &[(&str, String)],
) -> Vec<(String, String)> {
    let s = server.as_ref().unwrap();
    let shots = workspace().join("target/ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let manifest_path = s.data_dir().join("ui-manifest.yaml");
    std::fs::write(&manifest_path, manifest).unwrap();
    let mut child = Command::new("node")
        .arg(driver_dir().join("driver.mjs"))
        .current_dir(driver_dir())
        .env("ORDO_URL", format!("https://127.0.0.1:{}/ui/", s.port))
        .env("ADMIN_TOKEN", s.token())
        .env("KUBECONFIG", &s.kubeconfig)
        .env("KUBECTL", &s.kubectl_bin)
        .env("MANIFEST", &manifest_path)
        .env("SCREENSHOTS", &shots)
        .env("MODE", mode)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("running node");
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut input = child.stdin.take().unwrap();
    let started = Instant::now();
    let mut lines = Vec::new();
    // Bounded in time: a stuck browser ends the test (by the driver's PID) rather than hanging.
    let pid = child.id();
    let limit = Duration::from_secs(if mode == "measure" { 900 } else { 240 });
    let watchdog = std::thread::spawn(move || {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    for line in out.lines() {
        let line = line.unwrap();
        eprintln!("[driver {:>6.1}s] {line}", started.elapsed().as_secs_f64());
        if line == "REQUEST restart" {
            let old = server.take().unwrap();
            let port = old.port;
            let dir = old.kill9();
            *server = Some(Server::start_on_port(dir, port, "sim", &SERVER_FLAGS));
            use std::io::Write;
            writeln!(input, "done").unwrap();
            eprintln!("[test] server restarted on port {port}");
        }
        lines.push(line);
    }
    let s = server.as_ref().unwrap();
    let status = child.wait().unwrap();
    let _ = watchdog.join();
    assert!(
        status.success() && lines.iter().any(|l| l == "DRIVER OK"),
        "the browser driver failed ({status}):\n{}\nserver log tail:\n{}",
        lines.join("\n"),
        common::tail(&s.log())
    );
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("RESULT "))
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn get<'a>(results: &'a [(String, String)], name: &str) -> &'a str {
    results
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("the driver reported no {name}: {results:?}"))
}

const SERVER_FLAGS: [&str; 2] = ["--sim-start-delay-ms", "300"];

#[test]
#[ignore = "needs chromium and the driver's node_modules (scripts/install-deps.sh)"]
fn web_view_walkthrough_in_chromium() {
    require_browser();
    let s = Server::start_with(&SERVER_FLAGS);
    // The assets need no credentials; the data does.
    let page = Command::new("curl")
        .args(["-sk", "-D-", &format!("https://127.0.0.1:{}/ui/", s.port)])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(
        page.starts_with("HTTP/2 200") || page.starts_with("HTTP/1.1 200"),
        "{page}"
    );
    assert!(
        page.contains("content-security-policy: default-src 'self'"),
        "{page}"
    );
    let pods = Command::new("curl")
        .args([
            "-sk",
            &format!(
                "https://127.0.0.1:{}/api/v1/namespaces/default/pods",
                s.port
            ),
        ])
        .output()
        .unwrap();
    let pods = String::from_utf8_lossy(&pods.stdout);
    assert!(pods.contains("\"code\":403"), "anonymous pod list: {pods}");

    let view = sa_token(&s, "viewer", Some("view"));
    let none = sa_token(&s, "nobody", None);
    let mut server = Some(s);
    let results = run_driver(
        &mut server,
        "walkthrough",
        WALKTHROUGH,
        &[("VIEW_TOKEN", view), ("NONE_TOKEN", none)],
    );
    assert_eq!(get(&results, "appeared"), "[0,1,2]");
    assert_eq!(get(&results, "update_order"), "[4,3,2,1,0]");
    assert_eq!(get(&results, "rolled_back_image"), "\"nginx:1.25.4\"");
    assert!(get(&results, "view_scale_error").contains("forbidden"));
    eprintln!("first load: {}", get(&results, "first_load"));
    let s = server.unwrap();
    // What kubectl sees after the page's actions: 5 replicas (the view user's scale was
    // refused), the rolled-back image.
    let sts = |path: &str| common::sts::set_field(&s, "nginx-statefulset", path);
    assert_eq!(sts(".spec.replicas"), "5");
    assert_eq!(
        sts(".spec.template.spec.containers[0].image"),
        "nginx:1.25.4"
    );
}

/// The page's pure functions (`ordo-apiserver/ui/model.js`: tiles, states, ranges, history,
/// events, endpoints, the restart patch) under Node's test runner.
#[test]
fn web_view_model_unit_tests() {
    let out = Command::new("node")
        .args(["--experimental-detect-module", "--test", "model.test.mjs"])
        .current_dir(driver_dir())
        .output()
        .expect("running node (scripts/install-deps.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let count = |what: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("# {what} ")))
            .and_then(|n| n.trim().parse::<usize>().ok())
    };
    assert!(
        out.status.success() && count("fail") == Some(0) && count("pass") >= Some(8),
        "model.test.mjs failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The walkthrough's set with Parallel pod management (immutable, so in the manifest) for the
/// 1000-replica measurement.
const PARALLEL: &str = "  podManagementPolicy: Parallel\n  replicas: 3\n";

#[test]
#[ignore = "measurement for docs/performance.md (MODE=measure), not a check"]
fn measure_web_view_with_1000_pods() {
    require_browser();
    let s = Server::start_with(&["--sim-start-delay-ms", "0"]);
    let manifest = WALKTHROUGH.replace("  replicas: 3\n", PARALLEL);
    let results = run_driver(&mut Some(s), "measure", &manifest, &[]);
    for (k, v) in &results {
        println!("{k}: {v}");
    }
}
