//! Service, storage, ConfigMap/Secret, Namespace, Node, Endpoints, Event and Lease rules.

use super::*;
use crate::defaults::apply_defaults;
use serde_json::json;

fn msgs(causes: &[Cause]) -> Vec<String> {
    causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

fn create(kind: &str, mut v: Value) -> Vec<String> {
    apply_defaults(kind, &mut v);
    msgs(&validate_create(kind, &v))
}

fn update(kind: &str, mut new: Value, mut old: Value) -> Vec<String> {
    apply_defaults(kind, &mut old);
    apply_defaults(kind, &mut new);
    msgs(&validate_update(kind, &new, &old))
}

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "default"})
}

fn svc(spec: Value) -> Value {
    json!({"metadata": meta("web"), "spec": spec})
}

#[test]
fn service_create_rules() {
    assert!(create(
        "Service",
        svc(json!({"selector": {"app": "web"}, "ports": [{"port": 80}]}))
    )
    .is_empty());
    assert!(
        create("Service", svc(json!({"clusterIP": "None"}))).is_empty(),
        "headless needs no ports"
    );
    let e = create(
        "Service",
        json!({"metadata": meta("1web"), "spec": {"ports": [{"port": 80}]}}),
    );
    assert_eq!(e, vec!["metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]);
    assert_eq!(
        create("Service", svc(json!({}))),
        vec!["spec.ports: Required value"]
    );
    let e = create(
        "Service",
        svc(json!({"ports": [{"port": 0}, {"port": 80, "name": "http"}]})),
    );
    assert_eq!(
        e,
        vec![
            "spec.ports[0].name: Required value",
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        ]
    );
    let e = create(
        "Service",
        svc(json!({"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "a"}]})),
    );
    assert_eq!(
        e,
        vec![
            "spec.ports[1].name: Duplicate value: \"a\"",
            "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
        ]
    );
    let e = create(
        "Service",
        svc(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]})),
    );
    assert_eq!(e, vec!["spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"]);
    let e = create(
        "Service",
        svc(json!({"ports": [{"port": 80, "nodePort": 30080}]})),
    );
    assert_eq!(
        e,
        vec!["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]
    );
    let e = create(
        "Service",
        svc(json!({"type": "Cluster", "ports": [{"port": 80}]})),
    );
    assert_eq!(e, vec!["spec.type: Unsupported value: \"Cluster\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""]);
    let e = create(
        "Service",
        svc(json!({"clusterIP": "abc", "ports": [{"port": 80}]})),
    );
    assert_eq!(e, vec!["spec.clusterIPs[0]: Invalid value: \"abc\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]);
    let e = create(
        "Service",
        svc(json!({"selector": {"app": "-x"}, "ports": [{"port": 80}]})),
    );
    assert!(e[0].starts_with(
        "spec.selector: Invalid value: \"-x\": a valid label must be an empty string"
    ));
    let e = create(
        "Service",
        svc(json!({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]})),
    );
    assert_eq!(e, vec!["spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"]);
    assert!(create(
        "Service",
        svc(json!({"type": "ExternalName", "externalName": "db.example.com."}))
    )
    .is_empty());
    assert_eq!(
        create("Service", svc(json!({"type": "ExternalName"}))),
        vec!["spec.externalName: Required value"]
    );
}

#[test]
fn service_cluster_ip_is_immutable() {
    let old =
        svc(json!({"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80}]}));
    let new =
        svc(json!({"clusterIP": "10.0.0.2", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80}]}));
    assert_eq!(
        update("Service", new, old.clone()),
        vec!["spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.2\"}: may not change once set"]
    );
    let new = svc(json!({"ports": [{"port": 80, "name": "http"}]}));
    assert!(
        update("Service", new, old.clone()).is_empty(),
        "an omitted clusterIP keeps the allocated one"
    );
    let new =
        svc(json!({"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 81}]}));
    assert!(update("Service", new, old).is_empty());
}

fn pvc(spec: Value) -> Value {
    json!({"metadata": meta("data"), "spec": spec})
}

#[test]
fn pvc_rules() {
    let good =
        json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}});
    assert!(create("PersistentVolumeClaim", pvc(good.clone())).is_empty());
    assert_eq!(
        create("PersistentVolumeClaim", pvc(json!({}))),
        vec![
            "spec.accessModes: Required value: at least 1 access mode is required",
            "spec.resources[storage]: Required value"
        ]
    );
    let e = create(
        "PersistentVolumeClaim",
        pvc(json!({"accessModes": ["ReadWriteAll"], "resources": {"requests": {"storage": "0"}}})),
    );
    assert_eq!(
        e,
        vec![
            "spec.accessModes: Unsupported value: \"ReadWriteAll\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
            "spec.resources[storage]: Invalid value: \"0\": must be greater than zero",
        ]
    );
    let bigger =
        json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}});
    let e = update(
        "PersistentVolumeClaim",
        pvc(bigger.clone()),
        pvc(good.clone()),
    );
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"), "{e:?}");
    let mut bound_old = pvc(good.clone());
    bound_old["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
    let mut bound_new = pvc(bigger);
    bound_new["status"] = bound_old["status"].clone();
    assert!(
        update("PersistentVolumeClaim", bound_new, bound_old).is_empty(),
        "bound claims may grow"
    );
    let mut named = good.clone();
    named["volumeName"] = json!("pv-1");
    assert!(
        update("PersistentVolumeClaim", pvc(named), pvc(good)).is_empty(),
        "volumeName may be set once"
    );
}

#[test]
fn pv_and_storage_class_rules() {
    let pv = json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"}}});
    assert!(create("PersistentVolume", pv.clone()).is_empty());
    let e = create(
        "PersistentVolume",
        json!({"metadata": {"name": "pv1", "namespace": "x"}, "spec": {"accessModes": ["ReadWriteOnce"]}}),
    );
    assert_eq!(
        e,
        vec![
            "metadata.namespace: Forbidden: not allowed on this type",
            "spec.capacity: Required value",
            "spec.capacity: Unsupported value: core.ResourceList(nil): supported values: \"storage\"",
            "spec: Required value: must specify a volume type",
        ]
    );
    let mut moved = pv.clone();
    moved["spec"]["hostPath"]["path"] = json!("/other");
    let e = update("PersistentVolume", moved, pv);
    assert!(e[0].starts_with("spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation\n"), "{e:?}");
    let sc = json!({"metadata": {"name": "fast"}, "provisioner": "example.com/disk"});
    assert!(create("StorageClass", sc.clone()).is_empty());
    let e = create(
        "StorageClass",
        json!({"metadata": {"name": "fast"}, "provisioner": "x", "reclaimPolicy": "Recycle", "volumeBindingMode": "Later"}),
    );
    assert_eq!(
        e,
        vec![
            "reclaimPolicy: Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"",
            "volumeBindingMode: Unsupported value: \"Later\": supported values: \"Immediate\", \"WaitForFirstConsumer\"",
        ]
    );
    let mut changed = sc.clone();
    changed["provisioner"] = json!("other.io/disk");
    assert_eq!(
        update("StorageClass", changed, sc),
        vec!["provisioner: Forbidden: updates to provisioner are forbidden."]
    );
}

#[test]
fn config_map_and_secret_rules() {
    let e = create(
        "ConfigMap",
        json!({"metadata": meta("cfg"), "data": {"good.key": "1", "bad key": "2"}}),
    );
    assert_eq!(e, vec!["data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]);
    let e = create(
        "ConfigMap",
        json!({"metadata": meta("cfg"), "data": {"a": "1"}, "binaryData": {"a": "MQ=="}}),
    );
    assert_eq!(
        e,
        vec!["data[a]: Invalid value: \"a\": duplicate of key present in binaryData"]
    );
    let old = json!({"metadata": meta("cfg"), "immutable": true, "data": {"a": "1"}});
    let new = json!({"metadata": meta("cfg"), "immutable": true, "data": {"a": "2"}});
    assert_eq!(
        update("ConfigMap", new, old),
        vec!["data: Forbidden: field is immutable when `immutable` is set"]
    );
    assert!(create(
        "Secret",
        json!({"metadata": meta("s"), "data": {"k": "dg=="}})
    )
    .is_empty());
    let e = create(
        "Secret",
        json!({"metadata": meta("s"), "type": "kubernetes.io/tls", "stringData": {"tls.crt": "x"}}),
    );
    assert_eq!(e, vec!["data[tls.key]: Required value"]);
    let e = create(
        "Secret",
        json!({"metadata": meta("s"), "stringData": {"a/b": "x"}}),
    );
    assert!(e[0].starts_with("data[a/b]: Invalid value: \"a/b\": a valid config key"));
    let old = json!({"metadata": meta("s"), "type": "Opaque"});
    let new = json!({"metadata": meta("s"), "type": "kubernetes.io/basic-auth", "data": {"username": "dQ=="}});
    assert_eq!(
        update("Secret", new, old),
        vec!["type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"]
    );
}

#[test]
fn namespace_node_and_misc_rules() {
    assert!(create("Namespace", json!({"metadata": {"name": "dev"}})).is_empty());
    let e = create("Namespace", json!({"metadata": {"name": "Dev"}}));
    assert!(
        e[0].starts_with("metadata.name: Invalid value: \"Dev\": a lowercase RFC 1123 label"),
        "{e:?}"
    );
    assert!(create("Node", json!({"metadata": {"name": "node-1.example.com"}})).is_empty());
    let e = create(
        "Node",
        json!({"metadata": {"name": "n"}, "spec": {"taints": [
            {"key": "k", "effect": "NoSchedule"}, {"key": "k", "value": "v", "effect": "NoSchedule"}, {"key": "j", "effect": "Sometimes"}
        ]}}),
    );
    assert_eq!(
        e,
        vec![
            "metadata.taints[1]: Duplicate value: core.Taint{Key:\"k\", Value:\"v\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair",
            "metadata.taints[2].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        ]
    );
    let old = json!({"metadata": {"name": "n"}, "spec": {"podCIDRs": ["10.244.0.0/24"]}});
    let new = json!({"metadata": {"name": "n"}, "spec": {"podCIDRs": ["10.244.1.0/24"]}});
    assert_eq!(update("Node", new, old), vec!["spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid"]);
    let e = create(
        "Endpoints",
        json!({"metadata": meta("web"), "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80}]}]}),
    );
    assert_eq!(e, vec!["subsets[0].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)"]);
    let e = create(
        "EndpointSlice",
        json!({"metadata": meta("web-abc"), "endpoints": [{"addresses": []}]}),
    );
    assert_eq!(
        e,
        vec![
            "addressType: Required value",
            "endpoints[0].addresses: Required value: must contain at least 1 address"
        ]
    );
    let es = json!({"metadata": meta("web-abc"), "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.0.5"]}], "ports": [{"port": 80}]});
    assert!(create("EndpointSlice", es.clone()).is_empty());
    let mut es6 = es.clone();
    es6["addressType"] = json!("IPv6");
    assert!(update("EndpointSlice", es6, es)
        .iter()
        .any(|e| e == "addressType: Invalid value: \"IPv6\": field is immutable"));
    let ev = json!({"metadata": meta("web.1"), "involvedObject": {"kind": "Pod", "namespace": "other", "name": "web"}, "reason": "X"});
    assert_eq!(
        create("Event", ev),
        vec!["involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"]
    );
    let node_ev = json!({"metadata": meta("n.1"), "involvedObject": {"kind": "Node", "name": "n"}, "reason": "X"});
    assert!(create("Event", node_ev).is_empty());
    let lease = json!({"metadata": {"name": "n", "namespace": "kube-node-lease"}, "spec": {"leaseDurationSeconds": 0}});
    assert_eq!(
        create("Lease", lease),
        vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    );
    assert!(create("ServiceAccount", json!({"metadata": meta("default")})).is_empty());
    assert_eq!(
        create("Widget", json!({"metadata": {"name": "a_b"}})).len(),
        1,
        "unknown kinds get object-meta rules"
    );
    let e = update(
        "Widget",
        json!({"metadata": {"name": "a", "creationTimestamp": "2024-01-02T00:00:00Z"}}),
        json!({"metadata": {"name": "a", "creationTimestamp": "2024-01-01T00:00:00Z"}}),
    );
    assert_eq!(e, vec!["metadata.creationTimestamp: Invalid value: 2024-01-02 00:00:00 +0000 UTC: field is immutable"]);
}
