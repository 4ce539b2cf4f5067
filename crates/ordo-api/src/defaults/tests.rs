use super::pod::pull_policy;
use super::*;
use serde_json::json;

fn defaulted(kind: &str, mut v: Value) -> Value {
    apply_defaults(kind, &mut v);
    let once = v.clone();
    apply_defaults(kind, &mut v);
    assert_eq!(once, v, "defaults of {kind} must be idempotent");
    v
}

fn minimal_sts() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "serviceName": "nginx",
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80, "name": "web"}]}]}
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "www"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    })
}

#[test]
fn statefulset_gets_all_defaults() {
    let v = defaulted("StatefulSet", minimal_sts());
    let s = &v["spec"];
    assert_eq!(s["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        s["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 1}})
    );
    assert_eq!(
        s["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(s["replicas"], 1);
    assert_eq!(s["revisionHistoryLimit"], 10);
    assert!(s.get("minReadySeconds").is_none() && s.get("ordinals").is_none());
    let ps = &s["template"]["spec"];
    assert_eq!(ps["restartPolicy"], "Always");
    assert_eq!(ps["dnsPolicy"], "ClusterFirst");
    assert_eq!(ps["schedulerName"], "default-scheduler");
    assert_eq!(ps["terminationGracePeriodSeconds"], 30);
    assert_eq!(ps["securityContext"], json!({}));
    assert!(
        ps.get("enableServiceLinks").is_none(),
        "only Pods get enableServiceLinks"
    );
    let c = &ps["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["terminationMessagePolicy"], "File");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    let vct = &s["volumeClaimTemplates"][0];
    assert_eq!(vct["apiVersion"], "v1");
    assert_eq!(vct["kind"], "PersistentVolumeClaim");
    assert_eq!(vct["spec"]["volumeMode"], "Filesystem");
    assert_eq!(vct["status"], json!({"phase": "Pending"}));
}

#[test]
fn statefulset_update_strategy_variants() {
    let mut v = minimal_sts();
    v["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
    let v = defaulted("StatefulSet", v);
    assert_eq!(v["spec"]["updateStrategy"], json!({"type": "OnDelete"}));
    let mut v = minimal_sts();
    v["spec"]["updateStrategy"] = json!({"type": "RollingUpdate"});
    let v = defaulted("StatefulSet", v);
    assert_eq!(
        v["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate"}),
        "R2: rollingUpdate stays nil"
    );
    let mut v = minimal_sts();
    v["spec"]["updateStrategy"] = json!({"rollingUpdate": {"partition": 2}});
    v["spec"]["replicas"] = json!(0);
    v["spec"]["persistentVolumeClaimRetentionPolicy"] = json!({"whenScaled": "Delete"});
    let v = defaulted("StatefulSet", v);
    assert_eq!(
        v["spec"]["updateStrategy"]["rollingUpdate"],
        json!({"partition": 2, "maxUnavailable": 1})
    );
    assert_eq!(v["spec"]["replicas"], 0);
    assert_eq!(
        v["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenScaled": "Delete", "whenDeleted": "Retain"})
    );
}

#[test]
fn deployment_and_replicaset_defaults() {
    let d = defaulted(
        "Deployment",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "nginx"}]}}}}),
    );
    let s = &d["spec"];
    assert_eq!(s["replicas"], 1);
    assert_eq!(
        s["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(s["revisionHistoryLimit"], 10);
    assert_eq!(s["progressDeadlineSeconds"], 600);
    assert_eq!(
        s["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    let d = defaulted(
        "Deployment",
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
    let rs = defaulted("ReplicaSet", json!({"spec": {"template": {"spec": {}}}}));
    assert_eq!(rs["spec"]["replicas"], 1);
    assert_eq!(rs["spec"]["template"]["spec"]["restartPolicy"], "Always");
}

#[test]
fn pod_defaults() {
    let p = defaulted(
        "Pod",
        json!({"spec": {
            "containers": [{
                "name": "a", "image": "busybox:latest",
                "resources": {"limits": {"cpu": "1"}, "requests": {"memory": "1Gi"}},
                "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "livenessProbe": {"httpGet": {"port": 80}},
                "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 5},
                "lifecycle": {"preStop": {"httpGet": {"port": 8080}}}
            }],
            "initContainers": [{"name": "i", "image": "registry.example.com:5000/init@sha256:abc"}],
            "volumes": [
                {"name": "e"},
                {"name": "s", "secret": {"secretName": "x"}},
                {"name": "c", "configMap": {"name": "x", "defaultMode": 256}},
                {"name": "p", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}, {"downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}}]}},
                {"name": "h", "hostPath": {"path": "/tmp"}}
            ]
        }}),
    );
    let s = &p["spec"];
    assert_eq!(s["enableServiceLinks"], true);
    assert!(
        s.get("priority").is_none(),
        "the Priority admission sets it"
    );
    let c = &s["containers"][0];
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(
        c["resources"]["requests"],
        json!({"memory": "1Gi", "cpu": "1"})
    );
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(c["readinessProbe"]["periodSeconds"], 5);
    assert_eq!(c["readinessProbe"]["grpc"]["service"], "");
    assert_eq!(c["lifecycle"]["preStop"]["httpGet"]["path"], "/");
    assert_eq!(s["initContainers"][0]["imagePullPolicy"], "IfNotPresent");
    let v = &s["volumes"];
    assert_eq!(v[0]["emptyDir"], json!({}));
    assert_eq!(v[1]["secret"]["defaultMode"], 420);
    assert_eq!(v[2]["configMap"]["defaultMode"], 256);
    assert_eq!(v[3]["projected"]["defaultMode"], 420);
    assert_eq!(
        v[3]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        3600
    );
    assert_eq!(
        v[3]["projected"]["sources"][1]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"],
        "v1"
    );
    assert_eq!(v[4]["hostPath"]["type"], "");
}

#[test]
fn host_network_ports_default_to_container_ports() {
    let p = defaulted(
        "Pod",
        json!({"spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 8080}]}]}}),
    );
    assert_eq!(p["spec"]["containers"][0]["ports"][0]["hostPort"], 8080);
}

#[test]
fn image_pull_policy_from_tag() {
    assert_eq!(pull_policy("nginx"), "Always");
    assert_eq!(pull_policy("nginx:latest"), "Always");
    assert_eq!(pull_policy("nginx:1.25"), "IfNotPresent");
    assert_eq!(pull_policy("localhost:5000/nginx"), "Always");
    assert_eq!(pull_policy("localhost:5000/nginx:v1"), "IfNotPresent");
    assert_eq!(pull_policy("nginx@sha256:abcd"), "IfNotPresent");
    assert_eq!(pull_policy(""), "IfNotPresent");
    assert_eq!(pull_policy("Nginx"), "IfNotPresent");
}

#[test]
fn service_defaults() {
    let s = defaulted(
        "Service",
        json!({"spec": {"selector": {"app": "a"}, "ports": [{"port": 80}, {"port": 443, "targetPort": "https", "protocol": "UDP"}]}}),
    );
    let sp = &s["spec"];
    assert_eq!(sp["type"], "ClusterIP");
    assert_eq!(sp["sessionAffinity"], "None");
    assert_eq!(
        sp["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(sp["ports"][1]["targetPort"], "https");
    assert_eq!(sp["ports"][1]["protocol"], "UDP");
    assert_eq!(sp["internalTrafficPolicy"], "Cluster");
    assert!(sp.get("externalTrafficPolicy").is_none());
    assert_eq!(sp["ipFamilyPolicy"], "SingleStack");
    assert_eq!(sp["ipFamilies"], json!(["IPv4"]));
    let lb = defaulted(
        "Service",
        json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.9", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]}}),
    );
    let sp = &lb["spec"];
    assert_eq!(sp["externalTrafficPolicy"], "Cluster");
    assert_eq!(sp["allocateLoadBalancerNodePorts"], true);
    assert_eq!(sp["clusterIPs"], json!(["10.0.0.9"]));
    assert_eq!(
        sp["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
        10800
    );
    let headless = defaulted("Service", json!({"spec": {"clusterIP": "None"}}));
    assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
    let ext = defaulted(
        "Service",
        json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
    );
    assert!(
        ext["spec"].get("ipFamilies").is_none()
            && ext["spec"].get("internalTrafficPolicy").is_none()
    );
}

#[test]
fn storage_and_core_defaults() {
    let pvc = defaulted("PersistentVolumeClaim", json!({"spec": {}}));
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert!(pvc.get("status").is_none(), "PVC status is the server's");
    let pv = defaulted(
        "PersistentVolume",
        json!({"spec": {"hostPath": {"path": "/x"}}}),
    );
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pv["status"]["phase"], "Pending");
    let sc = defaulted("StorageClass", json!({"provisioner": "x"}));
    assert_eq!(sc["reclaimPolicy"], "Delete");
    assert_eq!(sc["volumeBindingMode"], "Immediate");
    assert_eq!(defaulted("Secret", json!({}))["type"], "Opaque");
    assert_eq!(
        defaulted("Secret", json!({"type": "kubernetes.io/tls"}))["type"],
        "kubernetes.io/tls"
    );
    let ns = defaulted("Namespace", json!({"metadata": {"name": "dev"}}));
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "dev"
    );
    let ns = defaulted(
        "Namespace",
        json!({"metadata": {"name": "dev", "deletionTimestamp": "2024-01-01T00:00:00Z"}, "spec": {}}),
    );
    assert!(
        ns["spec"].get("finalizers").is_none(),
        "a terminating namespace keeps its finalizers"
    );
    let node = defaulted("Node", json!({"status": {"capacity": {"cpu": "2"}}}));
    assert_eq!(node["status"]["allocatable"], json!({"cpu": "2"}));
    let ep = defaulted("Endpoints", json!({"subsets": [{"ports": [{"port": 80}]}]}));
    assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");
    let es = defaulted("EndpointSlice", json!({"ports": [{"port": 80}]}));
    assert_eq!(
        es["ports"][0],
        json!({"port": 80, "name": "", "protocol": "TCP"})
    );
    let ev = defaulted("Event", json!({"reason": "x"}));
    assert_eq!(ev, json!({"reason": "x"}));
}

#[test]
fn daemonset_defaults() {
    let d = defaulted(
        "DaemonSet",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "nginx:1"}]}}}}),
    );
    let s = &d["spec"];
    assert_eq!(
        s["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(s["revisionHistoryLimit"], 10);
    assert_eq!(s["template"]["spec"]["restartPolicy"], "Always");
    let d = defaulted(
        "DaemonSet",
        json!({"spec": {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "10%"}}}}),
    );
    assert_eq!(
        d["spec"]["updateStrategy"]["rollingUpdate"],
        json!({"maxUnavailable": 1, "maxSurge": "10%"})
    );
    let d = defaulted(
        "DaemonSet",
        json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}),
    );
    assert_eq!(d["spec"]["updateStrategy"], json!({"type": "OnDelete"}));
}
