//! End-to-end with the real kubectl on the simulated runtime: resource metrics and the
//! HorizontalPodAutoscaler. Simulated containers use what their pod's `sim.ordo.dev/cpu` and
//! `sim.ordo.dev/memory` annotations say; the server scrapes them every second
//! (`--metric-resolution 1s`) for `metrics.k8s.io`, which `kubectl top` and the HPA controller
//! (synced every second here) read.

mod common;
use common::*;

const FAST: &[&str] = &[
    "--metric-resolution",
    "1s",
    "--horizontal-pod-autoscaler-sync-period",
    "1s",
];

const PODS: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: busy
  labels: {app: busy}
  annotations: {sim.ordo.dev/cpu: "250m", sim.ordo.dev/memory: "64Mi"}
spec:
  containers:
  - {name: main, image: busybox}
  - {name: side, image: busybox}
---
apiVersion: v1
kind: Pod
metadata:
  name: idle
  labels: {app: idle}
  annotations: {sim.ordo.dev/cpu: "10m", sim.ordo.dev/memory: "16Mi"}
spec:
  containers: [{name: main, image: busybox}]
"#;

/// The row of `name` in a kubectl table.
fn row(out: &str, name: &str) -> Option<Vec<String>> {
    table(out)
        .into_iter()
        .find(|r| r.first().map(String::as_str) == Some(name))
}

#[test]
fn kubectl_top_shows_the_simulated_usage() {
    let s = Server::start_with(FAST);
    s.apply(PODS);
    s.eventually(30, "kubectl top pods to show both pods", || {
        let out = s.kubectl(&["top", "pods"]);
        let out = String::from_utf8_lossy(&out.stdout).to_string();
        row(&out, "busy").is_some() && row(&out, "idle").is_some()
    });
    let out = s.ok(&["top", "pods"]);
    assert_eq!(
        table(&out)[0],
        ["NAME", "CPU(cores)", "MEMORY(bytes)"],
        "{out}"
    );
    // Two containers at 250m and 64Mi each.
    assert_eq!(
        row(&out, "busy").unwrap(),
        ["busy", "500m", "128Mi"],
        "{out}"
    );
    assert_eq!(row(&out, "idle").unwrap(), ["idle", "10m", "16Mi"], "{out}");

    let out = s.ok(&["top", "pods", "--containers", "-l", "app=busy"]);
    let rows = table(&out);
    assert_eq!(
        rows[0],
        ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"],
        "{out}"
    );
    assert_eq!(
        rows[1..],
        [
            vec!["busy", "main", "250m", "64Mi"],
            vec!["busy", "side", "250m", "64Mi"],
        ],
        "{out}"
    );

    let out = s.ok(&["top", "pods", "-A"]);
    assert_eq!(
        table(&out)[0],
        ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"],
        "{out}"
    );
    assert!(
        table(&out).iter().any(|r| r[..2] == ["default", "busy"]),
        "{out}"
    );

    let out = s.ok(&["top", "pod", "idle"]);
    assert_eq!(row(&out, "idle").unwrap(), ["idle", "10m", "16Mi"], "{out}");
    let err = s.fails(&["top", "pod", "nope"]);
    assert!(
        err.contains("podmetrics.metrics.k8s.io \"default/nope\" not found"),
        "{err}"
    );

    // The simulated node uses what its pods use.
    let out = s.ok(&["top", "nodes"]);
    let rows = table(&out);
    assert_eq!(
        rows[0],
        ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"],
        "{out}"
    );
    let cpu: i64 = rows[1][1].trim_end_matches('m').parse().unwrap();
    assert!((505..=515).contains(&cpu), "{out}");
    assert_eq!(rows[1][3], "144Mi", "{out}");

    // Changing the annotation changes the figures at the next scrapes.
    s.ok(&[
        "annotate",
        "pod",
        "idle",
        "sim.ordo.dev/cpu=40m",
        "--overwrite",
    ]);
    s.eventually(20, "the new CPU figure", || {
        let out = String::from_utf8_lossy(&s.kubectl(&["top", "pod", "idle"]).stdout).to_string();
        row(&out, "idle").is_some_and(|r| r[1] == "40m")
    });
    // The metrics API in discovery and as kubectl get reads it.
    let out = s.ok(&["api-resources", "--api-group=metrics.k8s.io"]);
    assert!(out.contains("nodes") && out.contains("PodMetrics"), "{out}");
    let out = s.ok(&[
        "get",
        "podmetrics",
        "busy",
        "-o",
        "jsonpath={.containers[0].usage.cpu}",
    ]);
    assert_eq!(out, "250m");
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {sim.ordo.dev/cpu: "50m"}
    spec:
      containers:
      - name: web
        image: nginx
        resources: {requests: {cpu: 100m}}
"#;

fn replicas(s: &Server) -> String {
    s.ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ])
}

#[test]
fn hpa_scales_a_deployment_up_and_back_down() {
    let s = Server::start_with(FAST);
    s.apply(DEPLOYMENT);
    // kubectl autoscale sends an autoscaling/v1 object in protobuf.
    let out = s.ok(&[
        "autoscale",
        "deployment",
        "web",
        "--cpu-percent=50",
        "--min=1",
        "--max=5",
    ]);
    assert!(
        out.contains("horizontalpodautoscaler.autoscaling/web autoscaled"),
        "{out}"
    );
    // Seen as v2 with the CPU metric; a short scale-down window keeps the test short.
    assert_eq!(
        s.ok(&[
            "get",
            "hpa",
            "web",
            "-o",
            "jsonpath={.apiVersion} {.spec.metrics[0].resource.target.averageUtilization}"
        ]),
        "autoscaling/v2 50"
    );
    s.ok(&[
        "patch",
        "hpa",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":3}}}}"#,
    ]);
    assert_eq!(
        s.ok(&["get", "hpa", "web", "-o", "jsonpath={.spec.behavior.scaleDown.policies[0].type} {.spec.behavior.scaleUp.stabilizationWindowSeconds} {.spec.behavior.scaleUp.selectPolicy}"]),
        "Percent 0 Max"
    );
    // v1 shows the same object with its CPU target, and the behavior in an annotation.
    let v1 = s.ok(&[
        "get",
        "horizontalpodautoscalers.v1.autoscaling",
        "web",
        "-o",
        "jsonpath={.apiVersion} {.spec.targetCPUUtilizationPercentage} {.spec.minReplicas}",
    ]);
    assert_eq!(v1, "autoscaling/v1 50 1");

    // 50m of 100m requested: at the 50 % target.
    s.eventually(30, "the HPA to see 50 %", || {
        s.ok(&["get", "hpa", "web"]).contains("cpu: 50%/50%")
    });
    let out = s.ok(&["get", "hpa", "web"]);
    let rows = table(&out);
    assert_eq!(
        rows[0],
        [
            "NAME",
            "REFERENCE",
            "TARGETS",
            "MINPODS",
            "MAXPODS",
            "REPLICAS",
            "AGE"
        ],
        "{out}"
    );
    assert_eq!(
        rows[1][..7],
        ["web", "Deployment/web", "cpu:", "50%/50%", "1", "5", "1"],
        "{out}"
    );
    assert_eq!(replicas(&s), "1");
    assert!(s
        .ok(&["get", "all"])
        .contains("horizontalpodautoscaler.autoscaling/web"));

    // Load: 200 % of the request, four times the target: 4 replicas, then the new pods' own
    // (lower) use keeps the average above target, up to the maximum.
    s.ok(&[
        "annotate",
        "pods",
        "-l",
        "app=web",
        "sim.ordo.dev/cpu=200m",
        "--overwrite",
    ]);
    s.eventually(30, "the scale-up", || replicas(&s) != "1");
    s.eventually(10, "the SuccessfulRescale event to 4", || {
        rescales(&s).contains(
            "New size: 4; reason: cpu resource utilization (percentage of request) above target",
        )
    });
    s.eventually(30, "the maximum", || replicas(&s) == "5");
    s.eventually(20, "ScalingLimited TooManyReplicas", || {
        s.ok(&[
            "get",
            "hpa",
            "web",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"ScalingLimited\")].reason}",
        ]) == "TooManyReplicas"
    });
    assert_eq!(
        s.ok(&[
            "get",
            "hpa",
            "web",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"ScalingActive\")].reason}"
        ]),
        "ValidMetricFound"
    );

    // Idle: 10 % of the request; after the 3 s window, down to one replica.
    s.ok(&[
        "annotate",
        "pods",
        "-l",
        "app=web",
        "sim.ordo.dev/cpu=10m",
        "--overwrite",
    ]);
    s.eventually(40, "the scale-down", || replicas(&s) == "1");
    s.eventually(10, "the SuccessfulRescale event to 1", || {
        rescales(&s).contains("New size: 1; reason: All metrics below target")
    });
}

/// The messages of the HPA's `SuccessfulRescale` events.
fn rescales(s: &Server) -> String {
    s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale",
        "-o",
        "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
    ])
}

#[test]
fn hpa_validation_uses_upstream_texts() {
    let s = Server::start_with(FAST);
    let out = s.kubectl_stdin(
        &["apply", "-f", "-"],
        Some(
            r#"apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: bad}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 2
"#,
        ),
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("The HorizontalPodAutoscaler \"bad\" is invalid: spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"),
        "{err}"
    );
    // Without metrics the default is 80 % CPU.
    s.ok_stdin(
        &["apply", "-f", "-"],
        r#"apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: plain}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 3
"#,
    );
    assert_eq!(
        s.ok(&["get", "hpa", "plain", "-o", "jsonpath={.spec.minReplicas} {.spec.metrics[0].resource.name} {.spec.metrics[0].resource.target.averageUtilization}"]),
        "1 cpu 80"
    );
    // Its target does not exist: AbleToScale False.
    s.eventually(40, "FailedGetScale", || {
        s.ok(&[
            "get",
            "hpa",
            "plain",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"AbleToScale\")].reason}",
        ]) == "FailedGetScale"
    });
}
