//! StatefulSet helpers shared by the end-to-end tests: a `kubectl get pods -w` event stream to
//! assert ordering on, reads of a set's fields and of its pods, and the waits upstream's
//! `test/e2e/framework/statefulset` offers (running and ready, status observed, rolling update
//! done), all through the real kubectl.

use super::Server;
use serde_json::Value;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The simulated runtime's annotation that makes a pod's containers not ready while "false".
pub const SIM_READY: &str = "sim.ordo.dev/ready";

/// One pod watch event, reduced to what the ordering checks need.
#[derive(Debug, Clone)]
pub struct Ev {
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub ready: bool,
    pub terminating: bool,
    pub image: String,
    pub phase: String,
}

/// `kubectl get <kind> -w -o json --output-watch-events` in the background: the raw events.
pub struct JsonWatch {
    child: Child,
    buf: Arc<Mutex<Vec<u8>>>,
}

impl JsonWatch {
    /// A watch of `kind` with extra `kubectl get` arguments (a label or field selector).
    pub fn start(s: &Server, kind: &str, extra: &[&str]) -> JsonWatch {
        let mut child = Command::new(&s.kubectl_bin)
            .arg("--kubeconfig")
            .arg(&s.kubeconfig)
            .args(["get", kind, "-w", "-o", "json", "--output-watch-events"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = buf.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = out.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                b.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        std::thread::sleep(Duration::from_millis(700));
        JsonWatch { child, buf }
    }

    /// The events so far (`{"type": ..., "object": ...}`).
    pub fn values(&self) -> Vec<Value> {
        let buf = self.buf.lock().unwrap().clone();
        serde_json::Deserializer::from_slice(&buf)
            .into_iter::<Value>()
            .map_while(Result::ok)
            .collect()
    }
}

impl Drop for JsonWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pod watch (`kubectl get pods -w`), its events reduced to what ordering checks need.
pub struct PodWatch(JsonWatch);

impl PodWatch {
    pub fn start(s: &Server) -> PodWatch {
        Self::start_with(s, &[])
    }

    /// A watch with extra `kubectl get` arguments (a label or field selector).
    pub fn start_with(s: &Server, extra: &[&str]) -> PodWatch {
        PodWatch(JsonWatch::start(s, "pods", extra))
    }

    pub fn events(&self) -> Vec<Ev> {
        self.0
            .values()
            .into_iter()
            .map(|e| {
                let o = &e["object"];
                Ev {
                    kind: e["type"].as_str().unwrap_or_default().into(),
                    name: o["metadata"]["name"].as_str().unwrap_or_default().into(),
                    uid: o["metadata"]["uid"].as_str().unwrap_or_default().into(),
                    ready: is_running_and_ready(o),
                    terminating: !o["metadata"]["deletionTimestamp"].is_null(),
                    image: o["spec"]["containers"][0]["image"]
                        .as_str()
                        .unwrap_or_default()
                        .into(),
                    phase: o["status"]["phase"].as_str().unwrap_or_default().into(),
                }
            })
            .collect()
    }

    /// The names of the pods in the order of their first `kind` event (ADDED, DELETED).
    pub fn order_of(&self, kind: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for e in self.events().into_iter().filter(|e| e.kind == kind) {
            if !names.contains(&e.name) {
                names.push(e.name);
            }
        }
        names
    }
}

/// Index of the first event matching `f`.
pub fn first(evs: &[Ev], f: impl Fn(&Ev) -> bool) -> Option<usize> {
    evs.iter().position(f)
}

/// Phase Running and condition Ready True.
pub fn is_running_and_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// A field of the StatefulSet `name` (a jsonpath without braces, e.g. `.status.replicas`).
pub fn set_field(s: &Server, name: &str, path: &str) -> String {
    s.ok(&["get", "sts", name, "-o", &format!("jsonpath={{{path}}}")])
}

/// The StatefulSet as JSON.
pub fn get_set(s: &Server, name: &str) -> Value {
    serde_json::from_str(&s.ok(&["get", "sts", name, "-o", "json"])).unwrap()
}

/// One pod of a set, as the tests look at it.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub name: String,
    pub uid: String,
    pub image: String,
    pub revision: String,
    pub phase: String,
    pub ready: bool,
    pub terminating: bool,
    pub json: Value,
}

/// The pods matching `selector` (`-l`), by ordinal (upstream's `GetPodList` + `SortStatefulPods`).
pub fn pods(s: &Server, selector: &str) -> Vec<PodInfo> {
    let list: Value =
        serde_json::from_str(&s.ok(&["get", "pods", "-l", selector, "-o", "json"])).unwrap();
    let mut out: Vec<PodInfo> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PodInfo {
            name: p["metadata"]["name"].as_str().unwrap().into(),
            uid: p["metadata"]["uid"].as_str().unwrap().into(),
            image: p["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or_default()
                .into(),
            revision: p["metadata"]["labels"]["controller-revision-hash"]
                .as_str()
                .unwrap_or_default()
                .into(),
            phase: p["status"]["phase"].as_str().unwrap_or_default().into(),
            ready: is_running_and_ready(p),
            terminating: !p["metadata"]["deletionTimestamp"].is_null(),
            json: p.clone(),
        })
        .collect();
    out.sort_by_key(|p| ordinal(&p.name));
    out
}

/// The ordinal at the end of a pod name.
pub fn ordinal(name: &str) -> i64 {
    name.rsplit('-')
        .next()
        .and_then(|o| o.parse().ok())
        .unwrap_or(-1)
}

/// Upstream's `WaitForRunningAndReady`: `n` pods of the set, all Running and Ready, and the
/// status saying so.
pub fn wait_running_and_ready(s: &Server, name: &str, selector: &str, n: usize, secs: u64) {
    s.eventually(
        secs,
        &format!("{n} pods of {name} running and ready"),
        || {
            let ps = pods(s, selector);
            ps.len() == n
                && ps.iter().all(|p| p.ready && !p.terminating)
                && set_field(s, name, ".status.readyReplicas") == n.to_string()
        },
    );
}

/// Upstream's `WaitForRunning(numPodsRunning, numPodsReady)`: exactly that many pods Running and
/// that many Ready.
pub fn wait_running(s: &Server, selector: &str, running: usize, ready: usize, secs: u64) {
    s.eventually(
        secs,
        &format!("{running} running and {ready} ready pods"),
        || {
            let ps = pods(s, selector);
            ps.len() == running
                && ps.iter().all(|p| p.phase == "Running" && !p.terminating)
                && ps.iter().filter(|p| p.ready).count() == ready
        },
    );
}

/// Upstream's `waitForStatus`: the controller has seen the latest generation.
pub fn wait_for_status(s: &Server, name: &str) -> Value {
    let mut set = Value::Null;
    s.eventually(
        30,
        &format!("{name}'s status to observe its generation"),
        || {
            set = get_set(s, name);
            set["status"]["observedGeneration"].as_i64() >= set["metadata"]["generation"].as_i64()
        },
    );
    set
}

/// Upstream's `waitForRollingUpdate`: currentRevision is updateRevision and every pod is at it.
pub fn wait_for_rolling_update(s: &Server, name: &str, selector: &str, secs: u64) -> Value {
    let mut set = Value::Null;
    s.eventually(
        secs,
        &format!("{name}'s rolling update to complete"),
        || {
            set = get_set(s, name);
            let st = &set["status"];
            let update = st["updateRevision"].as_str().unwrap_or_default();
            let want = set["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
            let ps = pods(s, selector);
            st["observedGeneration"] == set["metadata"]["generation"]
                && st["currentRevision"] == st["updateRevision"]
                && ps.len() == want
                && ps.iter().all(|p| p.revision == update && p.ready)
        },
    );
    set
}

/// Upstream's `waitForPartitionedRollingUpdate`: the pods at or above the partition are at the
/// update revision and Ready, the ones below at the current revision.
pub fn wait_for_partitioned_rolling_update(
    s: &Server,
    name: &str,
    selector: &str,
    secs: u64,
) -> (Value, Vec<PodInfo>) {
    let mut set = Value::Null;
    let mut ps = Vec::new();
    s.eventually(secs, &format!("{name}'s partitioned update"), || {
        set = get_set(s, name);
        let st = &set["status"];
        let partition = set["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
            .as_i64()
            .unwrap_or(0);
        let replicas = set["spec"]["replicas"].as_i64().unwrap_or(1);
        ps = pods(s, selector);
        st["observedGeneration"] == set["metadata"]["generation"]
            && st["updatedReplicas"].as_i64().unwrap_or(0) == replicas - partition
            && ps.len() as i64 == replicas
            && ps.iter().all(|p| {
                p.ready
                    && if ordinal(&p.name) >= partition {
                        p.revision == st["updateRevision"]
                    } else {
                        p.revision == st["currentRevision"]
                    }
            })
    });
    (set, ps)
}

/// Makes a simulated pod not ready (upstream: `breakPodHTTPProbe`).
pub fn break_pod(s: &Server, pod: &str) {
    s.ok(&[
        "annotate",
        "pod",
        pod,
        &format!("{SIM_READY}=false"),
        "--overwrite",
    ]);
}

/// Makes a simulated pod ready again (upstream: `restorePodHTTPProbe`).
pub fn restore_pod(s: &Server, pod: &str) {
    s.ok(&[
        "annotate",
        "pod",
        pod,
        &format!("{SIM_READY}=true"),
        "--overwrite",
    ]);
}

/// Waits until the pod exists, Running and not Ready.
pub fn wait_pod_not_ready(s: &Server, pod: &str, secs: u64) {
    s.eventually(secs, &format!("{pod} running and not ready"), || {
        let out = s.kubectl(&["get", "pod", pod, "-o", "json"]);
        out.status.success() && {
            let p: Value = serde_json::from_slice(&out.stdout).unwrap();
            p["status"]["phase"] == "Running" && !is_running_and_ready(&p)
        }
    });
}

/// Waits until the pod exists, Running and Ready.
pub fn wait_pod_ready(s: &Server, pod: &str, secs: u64) {
    s.eventually(secs, &format!("{pod} running and ready"), || {
        let out = s.kubectl(&["get", "pod", pod, "-o", "json"]);
        out.status.success() && is_running_and_ready(&serde_json::from_slice(&out.stdout).unwrap())
    });
}

/// Upstream's `confirmStatefulPodCount(hard)`: the set keeps exactly `count` pods for `secs`.
pub fn confirm_pod_count(s: &Server, selector: &str, count: usize, secs: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        let names: Vec<String> = pods(s, selector).into_iter().map(|p| p.name).collect();
        assert_eq!(
            names.len(),
            count,
            "the set scaled unexpectedly from {count} pods: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Upstream's `deleteStatefulPodAtIndex`: deletes the pod with no grace period.
pub fn delete_pod_now(s: &Server, pod: &str) {
    s.ok(&[
        "delete",
        "pod",
        pod,
        "--grace-period=0",
        "--force",
        "--wait=false",
    ]);
}

/// Upstream's `WebserverImage` and `NewWebserverImage` (the simulated node needs no image).
pub const WEBSERVER_IMAGE: &str = "httpd:2.4.38-4";
pub const NEW_WEBSERVER_IMAGE: &str = "httpd:2.4.39-4";

/// Upstream's `NewStatefulSet` labels and their selector.
pub fn labels() -> Value {
    serde_json::json!({"foo": "bar", "baz": "blah"})
}
pub const SELECTOR: &str = "baz=blah,foo=bar";

/// Upstream's `NewStatefulSet(name, ns, "test", replicas, statefulPodMounts, podMounts, labels)`:
/// one `webserver` container; with `claims`, a `datadir` claim template mounted at `/data/` and
/// a `home` hostPath volume at `/home`.
pub fn new_stateful_set(name: &str, replicas: i64, claims: bool, labels: &Value) -> Value {
    let mut set = serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels},
            "replicas": replicas,
            "serviceName": "test",
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "webserver", "image": WEBSERVER_IMAGE}]}
            }
        }
    });
    if claims {
        set["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = serde_json::json!([
            {"name": "datadir", "mountPath": "/data/"},
            {"name": "home", "mountPath": "/home"}
        ]);
        set["spec"]["template"]["spec"]["volumes"] =
            serde_json::json!([{"name": "home", "hostPath": {"path": format!("/tmp/{name}")}}]);
        set["spec"]["volumeClaimTemplates"] = serde_json::json!([{
            "metadata": {"name": "datadir"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}}
        }]);
    }
    set
}

/// Upstream's `PauseNewPods` on the simulated node: new pods start not ready.
pub fn pause_new_pods(set: &mut Value) {
    set["spec"]["template"]["metadata"]["annotations"] = serde_json::json!({SIM_READY: "false"});
}

/// Upstream's `ResumeNextPod`: the one pod that is Running and not Ready is made ready.
pub fn resume_next_pod(s: &Server, selector: &str) {
    let paused: Vec<PodInfo> = pods(s, selector)
        .into_iter()
        .filter(|p| p.phase == "Running" && !p.ready)
        .collect();
    assert_eq!(paused.len(), 1, "one paused pod expected: {paused:?}");
    restore_pod(s, &paused[0].name);
}

/// Upstream's `Saturate`: resumes the set's pods one at a time, each once it is the only new one.
pub fn saturate(s: &Server, selector: &str, replicas: usize) {
    for i in 0..replicas {
        wait_running(s, selector, i + 1, i, 60);
        resume_next_pod(s, selector);
    }
    wait_running(s, selector, replicas, replicas, 60);
}

/// Creates an object given as JSON.
pub fn create(s: &Server, obj: &Value) {
    s.ok_stdin(&["create", "-f", "-"], &obj.to_string());
}

/// Upstream's `CreateServiceSpec("test", "", true, labels)`: the headless governing Service.
pub fn create_headless_service(s: &Server, labels: &Value) {
    create(
        s,
        &serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "test"},
            "spec": {"clusterIP": "None", "selector": labels, "ports": [{"port": 80, "name": "http"}]}
        }),
    );
}

/// A merge patch of the set (upstream's `updateStatefulSetWithRetries`).
pub fn patch_set(s: &Server, name: &str, patch: &Value) {
    s.ok(&[
        "patch",
        "sts",
        name,
        "--type=merge",
        "-p",
        &patch.to_string(),
    ]);
}

/// The names of the claims that exist (all of them, sorted).
pub fn claim_names(s: &Server) -> Vec<String> {
    let mut names: Vec<String> = s
        .ok(&["get", "pvc", "-o", "jsonpath={.items[*].metadata.name}"])
        .split_whitespace()
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

/// The names of the active (not terminating) pods, by ordinal (upstream's `expectPodNames`).
pub fn active_pod_names(s: &Server, selector: &str) -> Vec<String> {
    pods(s, selector)
        .into_iter()
        .filter(|p| !p.terminating && p.phase != "Failed" && p.phase != "Succeeded")
        .map(|p| p.name)
        .collect()
}
