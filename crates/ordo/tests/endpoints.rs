//! End-to-end: EndpointSlices and Endpoints kept by the EndpointSlice controller, read with
//! the real kubectl (`get endpointslices`, `get ep`, `describe svc`): pod addresses and
//! resolved ports, hostnames, not-ready pods and `publishNotReadyAddresses`, scale-down,
//! the `kubernetes` Service, clean-up on Service deletion.

mod common;
use common::{table, Server, WALKTHROUGH};
use serde_json::Value;

fn json(s: &Server, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    serde_json::from_str(&s.ok(&a)).unwrap()
}

fn pod_ips(s: &Server) -> Vec<String> {
    (0..3)
        .map(|i| {
            s.ok(&[
                "get",
                "pod",
                &format!("nginx-statefulset-{i}"),
                "-o",
                "jsonpath={.status.podIP}",
            ])
        })
        .collect()
}

/// `ip` in the Endpoints' addresses or notReadyAddresses.
fn listed(ep: &Value, field: &str, ip: &str) -> bool {
    ep["subsets"].as_array().into_iter().flatten().any(|ss| {
        ss[field]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["ip"] == ip)
    })
}

/// A pod of the StatefulSet's label bound to a node no agent runs, so the test writes its
/// status itself.
const GHOST: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: ghost, labels: {app: nginx-stateful}}
spec:
  nodeName: nowhere
  containers: [{name: c, image: nginx:1.25.4, ports: [{containerPort: 80, name: web-port}]}]
"#;

#[test]
fn endpoints_follow_pods_and_readiness() {
    let s = Server::start();
    s.apply(WALKTHROUGH);
    s.eventually(60, "3 ready endpoints", || {
        let ep = s.ok(&[
            "get",
            "ep",
            "nginx-stateful-service",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
            "--ignore-not-found",
        ]);
        ep.split_whitespace().count() == 3
    });
    let ips = pod_ips(&s);
    let mut sorted = ips.clone();
    sorted.sort_by_key(|ip| ip.parse::<std::net::Ipv4Addr>().unwrap());
    let with_port: Vec<String> = sorted.iter().map(|ip| format!("{ip}:80")).collect();

    // kubectl get ep / describe svc show the pod addresses with the resolved port.
    let rows = table(&s.ok(&["get", "ep", "nginx-stateful-service"]));
    assert_eq!(rows[0], ["NAME", "ENDPOINTS", "AGE"]);
    assert_eq!(rows[1][1], with_port.join(","));
    let describe = s.ok(&["describe", "svc", "nginx-stateful-service"]);
    let line = describe
        .lines()
        .find(|l| l.starts_with("Endpoints:"))
        .unwrap_or_else(|| panic!("{describe}"));
    assert_eq!(
        line.split_whitespace().nth(1),
        Some(with_port.join(",").as_str()),
        "{describe}"
    );
    assert!(
        describe
            .lines()
            .any(|l| l.starts_with("IP:") && l.contains("None")),
        "{describe}"
    );

    // The slice: labels, owner, endpoints with hostname and targetRef.
    let rows = table(&s.ok(&[
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=nginx-stateful-service",
    ]));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[1][1..4],
        ["IPv4".to_string(), "80".into(), sorted.join(",")]
    );
    let list = json(
        &s,
        &[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=nginx-stateful-service",
        ],
    );
    let es = &list["items"][0];
    assert_eq!(
        es["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io"
    );
    assert_eq!(es["metadata"]["ownerReferences"][0]["kind"], "Service");
    assert_eq!(es["ports"][0]["name"], "web-port");
    for e in es["endpoints"].as_array().unwrap() {
        let pod = e["targetRef"]["name"].as_str().unwrap();
        assert_eq!(e["hostname"], pod);
        assert_eq!(e["conditions"]["ready"], true);
    }
    // Nothing is rewritten while nothing changes.
    let rv = es["metadata"]["resourceVersion"].clone();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let again = json(
        &s,
        &[
            "get",
            "endpointslices",
            es["metadata"]["name"].as_str().unwrap(),
        ],
    );
    assert_eq!(again["metadata"]["resourceVersion"], rv);

    // A not-ready pod: in notReadyAddresses and ready=false in the slice...
    s.apply(GHOST);
    let status = r#"{"status":{"phase":"Running","podIP":"10.244.9.9","podIPs":[{"ip":"10.244.9.9"}],"conditions":[{"type":"Ready","status":"False"}]}}"#;
    s.ok(&[
        "patch",
        "pod",
        "ghost",
        "--subresource=status",
        "--type=merge",
        "-p",
        status,
    ]);
    s.eventually(10, "the not-ready address", || {
        listed(
            &json(&s, &["get", "ep", "nginx-stateful-service"]),
            "notReadyAddresses",
            "10.244.9.9",
        )
    });
    let ep = json(&s, &["get", "ep", "nginx-stateful-service"]);
    assert!(!listed(&ep, "addresses", "10.244.9.9"));
    let ready_of_ghost = |s: &Server| {
        let list = json(
            s,
            &[
                "get",
                "endpointslices",
                "-l",
                "kubernetes.io/service-name=nginx-stateful-service",
            ],
        );
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|es| es["endpoints"].as_array().cloned().unwrap_or_default())
            .find(|e| e["addresses"][0] == "10.244.9.9")
            .map(|e| e["conditions"]["ready"].clone())
    };
    assert_eq!(ready_of_ghost(&s), Some(Value::Bool(false)));
    // ...and among the addresses with publishNotReadyAddresses.
    s.ok(&[
        "patch",
        "svc",
        "nginx-stateful-service",
        "--type=merge",
        "-p",
        r#"{"spec":{"publishNotReadyAddresses":true}}"#,
    ]);
    s.eventually(10, "the published address", || {
        listed(
            &json(&s, &["get", "ep", "nginx-stateful-service"]),
            "addresses",
            "10.244.9.9",
        )
    });
    assert_eq!(ready_of_ghost(&s), Some(Value::Bool(true)));
    s.ok(&["delete", "pod", "ghost", "--grace-period=0", "--force"]);
    s.eventually(10, "the ghost to go", || ready_of_ghost(&s).is_none());

    // Scale down: the pod leaves the endpoints.
    s.ok(&["scale", "statefulset", "nginx-statefulset", "--replicas=1"]);
    s.eventually(30, "one endpoint", || {
        s.ok(&[
            "get",
            "ep",
            "nginx-stateful-service",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
        ])
        .split_whitespace()
        .count()
            == 1
    });

    // The kubernetes Service points at the API server's port.
    let ep = json(&s, &["get", "ep", "kubernetes"]);
    assert_eq!(ep["subsets"][0]["ports"][0]["port"], s.port);
    assert!(
        json(&s, &["get", "endpointslice", "kubernetes"])["endpoints"][0]["addresses"][0]
            .is_string()
    );

    // Deleting the Service deletes its Endpoints and slices.
    s.ok(&["delete", "svc", "nginx-stateful-service"]);
    s.eventually(15, "endpoints and slices to go", || {
        s.ok(&["get", "ep", "nginx-stateful-service", "--ignore-not-found"])
            .trim()
            .is_empty()
            && s.ok(&[
                "get",
                "endpointslices",
                "-l",
                "kubernetes.io/service-name=nginx-stateful-service",
                "-o",
                "name",
            ])
            .trim()
            .is_empty()
    });
}
