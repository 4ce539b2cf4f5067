//! Pod, container and ObjectMeta rules, and Pod update immutability.

use super::*;
use crate::defaults::apply_defaults;
use serde_json::json;

fn msgs(causes: &[Cause]) -> Vec<String> {
    causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

fn create(mut v: Value) -> Vec<String> {
    apply_defaults("Pod", &mut v);
    msgs(&validate_create("Pod", &v))
}

fn update(mut new: Value, mut old: Value) -> Vec<String> {
    apply_defaults("Pod", &mut old);
    apply_defaults("Pod", &mut new);
    msgs(&validate_update("Pod", &new, &old))
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80, "name": "http"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}]
        }
    })
}

fn with(mut v: Value, pointer: &str, value: Value) -> Value {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = value;
    v
}

fn container(c: Value) -> Value {
    with(pod(), "/spec/containers", json!([c]))
}

#[test]
fn valid_pod_passes() {
    assert_eq!(create(pod()), Vec::<String>::new());
}

#[test]
fn containers_are_required() {
    assert_eq!(
        create(with(pod(), "/spec/containers", json!([]))),
        vec!["spec.containers: Required value"]
    );
}

#[test]
fn container_names_and_images() {
    let e = create(container(json!({"name": "Web", "image": "nginx"})));
    assert_eq!(e, vec!["spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]);
    let e = create(with(
        pod(),
        "/spec/containers",
        json!([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]),
    ));
    assert_eq!(e, vec!["spec.containers[1].name: Duplicate value: \"a\""]);
    let e = create(with(
        pod(),
        "/spec/containers",
        json!([{"name": "a"}, {"image": "y"}]),
    ));
    assert_eq!(
        e,
        vec![
            "spec.containers[0].image: Required value",
            "spec.containers[1].name: Required value"
        ]
    );
    let e = create(container(json!({"name": "a", "image": " nginx"})));
    assert_eq!(e, vec!["spec.containers[0].image: Invalid value: \" nginx\": must not have leading or trailing whitespace"]);
    let mut v = pod();
    v["spec"]["initContainers"] = json!([{"name": "web", "image": "busybox"}]);
    let e = create(v);
    assert_eq!(
        e,
        vec!["spec.initContainers[0].name: Duplicate value: \"web\""]
    );
}

#[test]
fn container_ports() {
    let e = create(container(json!({"name": "a", "image": "x", "ports": [
        {"containerPort": 0}, {"containerPort": 70000}, {"containerPort": 81, "name": "8080"},
        {"containerPort": 82, "name": "web"}, {"containerPort": 83, "name": "web"}, {"containerPort": 84, "protocol": "ICMP"}
    ]})));
    assert_eq!(
        e,
        vec![
            "spec.containers[0].ports[0].containerPort: Required value",
            "spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.containers[0].ports[2].name: Invalid value: \"8080\": must contain at least one letter (a-z)",
            "spec.containers[0].ports[4].name: Duplicate value: \"web\"",
            "spec.containers[0].ports[5].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        ]
    );
    let e = create(with(
        pod(),
        "/spec/containers",
        json!([
            {"name": "a", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]},
            {"name": "b", "image": "x", "ports": [{"containerPort": 81, "hostPort": 8080}]}
        ]),
    ));
    assert_eq!(
        e,
        vec!["spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//8080\""]
    );
}

#[test]
fn volumes_and_mounts() {
    let v = with(pod(), "/spec/containers/0/volumeMounts/0/name", json!("x"));
    let mut v2 = v.clone();
    apply_defaults("Pod", &mut v2);
    let c = validate_create("Pod", &v2);
    assert_eq!(
        msgs(&c),
        vec!["spec.containers[0].volumeMounts[0].name: Not found: \"x\""]
    );
    assert_eq!(c[0].reason, "FieldValueNotFound");
    let e = create(with(
        pod(),
        "/spec/volumes",
        json!([{"name": "data"}, {"name": "data", "emptyDir": {}}]),
    ));
    assert_eq!(e, vec!["spec.volumes[1].name: Duplicate value: \"data\""]);
    let e = create(with(
        pod(),
        "/spec/volumes",
        json!([{"name": "data", "emptyDir": {}, "hostPath": {"path": "/x"}}]),
    ));
    assert_eq!(
        e,
        vec![
            "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
        ]
    );
    let e = create(with(
        pod(),
        "/spec/volumes",
        json!([{"name": "data", "secret": {"defaultMode": 1000}}]),
    ));
    assert_eq!(
        e,
        vec![
            "spec.volumes[0].secret.secretName: Required value",
            "spec.volumes[0].secret.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
        ]
    );
    let e = create(with(
        pod(),
        "/spec/containers/0/volumeMounts",
        json!([{"name": "data", "mountPath": "/a"}, {"name": "data", "mountPath": "/a", "subPath": "../x"}]),
    ));
    assert_eq!(
        e,
        vec![
            "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/a\": must be unique",
            "spec.containers[0].volumeMounts.subPath: Invalid value: \"../x\": must not contain '..'",
        ]
    );
}

#[test]
fn downward_api_volume_items_have_no_key() {
    let items = json!([
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "web", "resource": "limits.cpu", "divisor": "1m"}},
    ]);
    let ok = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "data", "downwardAPI": {"items": items}}]),
    );
    assert_eq!(create(ok), Vec::<String>::new());
    let bad = with(
        pod(),
        "/spec/volumes",
        json!([{"name": "data", "downwardAPI": {"items": [{"path": "..x", "fieldRef": {"fieldPath": "spec.nodeName"}}]}}]),
    );
    let e = create(bad);
    assert!(
        e.iter()
            .any(|m| m.starts_with("spec.volumes[0].downwardAPI.items[0].path: Invalid value")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.starts_with("spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath")),
        "{e:?}"
    );
}

#[test]
fn restart_and_dns_policy_values() {
    let e = create(with(pod(), "/spec", {
        let mut s = pod()["spec"].clone();
        s["restartPolicy"] = json!("Sometimes");
        s["dnsPolicy"] = json!("Custom");
        s
    }));
    assert_eq!(
        e,
        vec![
            "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
            "spec.dnsPolicy: Unsupported value: \"Custom\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
        ]
    );
    let mut v = pod();
    v["spec"]["containers"][0]["imagePullPolicy"] = json!("Sometimes");
    let e = create(v);
    assert_eq!(e, vec!["spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\""]);
}

#[test]
fn resources_requests_not_above_limits() {
    let e = create(container(json!({"name": "a", "image": "x", "resources": {
        "limits": {"cpu": "0.5", "memory": "1Gi"}, "requests": {"cpu": "2", "memory": "-1", "gpu": "1"}
    }})));
    assert_eq!(
        e,
        vec![
            "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 500m",
            "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
            "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0",
        ]
    );
    let e = create(container(
        json!({"name": "a", "image": "x", "resources": {"requests": {"example.com/gpu": "1"}}}),
    ));
    assert_eq!(e, vec!["spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"]);
}

#[test]
fn env_and_probes() {
    let e = create(container(json!({"name": "a", "image": "x", "env": [
        {"name": "A=B", "value": "1"}, {"name": ""},
        {"name": "C", "valueFrom": {}},
        {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "spec.foo"}}},
        {"name": "E", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}}
    ]})));
    assert_eq!(
        e,
        vec![
            "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
            "spec.containers[0].env[1].name: Required value",
            "spec.containers[0].env[2].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            "spec.containers[0].env[3].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.foo\": error converting fieldPath: field label not supported: spec.foo",
            "spec.containers[0].env[4].valueFrom.fieldRef.fieldPath: Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
        ]
    );
    let e = create(container(json!({"name": "a", "image": "x",
        "livenessProbe": {"successThreshold": 2, "httpGet": {"port": 0}},
        "readinessProbe": {},
        "startupProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": "http"}}
    })));
    assert_eq!(
        e,
        vec![
            "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
            "spec.containers[0].readinessProbe: Required value: must specify a handler type",
            "spec.containers[0].startupProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
        ]
    );
}

#[test]
fn object_meta_rules() {
    let mut v = pod();
    v["metadata"] = json!({"namespace": "default"});
    assert_eq!(
        create(v),
        vec!["metadata.name: Required value: name or generateName is required"]
    );
    let mut v = pod();
    v["metadata"]["generateName"] = json!("Web-");
    assert!(create(v)[0].starts_with(
        "metadata.generateName: Invalid value: \"Web-\": a lowercase RFC 1123 subdomain"
    ));
    let mut v = pod();
    v["metadata"].as_object_mut().unwrap().remove("namespace");
    assert_eq!(create(v), vec!["metadata.namespace: Required value"]);
    let mut v = pod();
    v["metadata"]["labels"] = json!({"app": "web", "bad key": "v", "k": "bad value"});
    let e = create(v);
    assert_eq!(e.len(), 2);
    assert!(e[0].starts_with("metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters"), "{e:?}");
    assert!(
        e[1].starts_with(
            "metadata.labels: Invalid value: \"bad value\": a valid label must be an empty string"
        ),
        "{e:?}"
    );
    let mut v = pod();
    v["metadata"]["annotations"] = json!({"big": "x".repeat(256 * 1024)});
    let mut d = v.clone();
    apply_defaults("Pod", &mut d);
    let c = validate_create("Pod", &d);
    assert_eq!(
        msgs(&c),
        vec!["metadata.annotations: Too long: may not be more than 262144 bytes"]
    );
    assert_eq!(c[0].reason, "FieldValueTooLong");
    let mut v = pod();
    v["metadata"]["finalizers"] = json!(["custom"]);
    assert_eq!(create(v), vec!["metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified"]);
}

#[test]
fn pod_update_allows_images_and_metadata() {
    assert!(update(
        with(pod(), "/spec/containers/0/image", json!("nginx:1.26")),
        pod()
    )
    .is_empty());
    assert!(update(
        with(pod(), "/metadata/labels", json!({"app": "web", "x": "y"})),
        pod()
    )
    .is_empty());
    let mut new = pod();
    new["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists"}]);
    assert!(update(new, pod()).is_empty());
    let mut new = pod();
    new["spec"]["activeDeadlineSeconds"] = json!(100);
    assert!(update(new, pod()).is_empty());
}

#[test]
fn pod_update_forbids_other_spec_changes() {
    let e = update(
        with(pod(), "/spec/containers/0/ports/0/containerPort", json!(81)),
        pod(),
    );
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n  core.PodSpec{\n- \tContainers:"), "{e:?}");
    let mut new = pod();
    new["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "b", "image": "x"}));
    assert_eq!(
        update(new, pod()),
        vec!["spec.containers: Forbidden: pod updates may not add or remove containers"]
    );
    let mut old = pod();
    old["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists"}]);
    let mut new = pod();
    new["spec"]["tolerations"] = json!([{"key": "j", "operator": "Exists"}]);
    assert_eq!(update(new, old), vec!["spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"]);
    let mut old = pod();
    old["spec"]["activeDeadlineSeconds"] = json!(10);
    let mut new = pod();
    new["spec"]["activeDeadlineSeconds"] = json!(20);
    assert_eq!(update(new, old), vec!["spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value"]);
    let e = update(with(pod(), "/metadata/namespace", json!("other")), pod());
    assert_eq!(
        e,
        vec!["metadata.namespace: Invalid value: \"other\": field is immutable"]
    );
}

#[test]
fn pod_update_message_has_a_diff() {
    let mut new = pod();
    new["spec"]["restartPolicy"] = json!("Never");
    assert_eq!(
        update(new, pod()),
        vec!["spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n  core.PodSpec{\n- \tRestartPolicy: \"Always\",\n+ \tRestartPolicy: \"Never\",\n  }\n"]
    );
}

fn debugger(extra: Value) -> Value {
    let mut c = json!({"name": "debugger", "image": "busybox:1.28", "stdin": true, "tty": true,
                       "targetContainerName": "web"});
    if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    c
}

/// The pod with `ephemeral` as its ephemeral containers, written through the subresource.
fn ephemeral_update(ephemeral: Value, old_ephemeral: Value) -> Vec<String> {
    let mut old = with(pod(), "/spec/containers/0/ports", json!([]));
    old["spec"]["ephemeralContainers"] = old_ephemeral;
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = ephemeral;
    apply_defaults("Pod", &mut old);
    apply_defaults("Pod", &mut new);
    msgs(&validate_ephemeral_containers_update(&new, &old))
}

#[test]
fn ephemeral_containers_may_be_added() {
    assert_eq!(
        ephemeral_update(json!([debugger(json!({}))]), json!([])),
        Vec::<String>::new()
    );
    assert_eq!(
        ephemeral_update(
            json!([debugger(json!({})), debugger(json!({"name": "second"}))]),
            json!([debugger(json!({}))])
        ),
        Vec::<String>::new()
    );
}

#[test]
fn ephemeral_containers_may_not_be_removed_or_changed() {
    assert_eq!(
        ephemeral_update(json!([]), json!([debugger(json!({}))])),
        vec!["spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger\" may not be removed\n"]
    );
    let changed = ephemeral_update(
        json!([debugger(json!({"image": "busybox:1.36"}))]),
        json!([debugger(json!({}))]),
    );
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0].starts_with(
            "spec.ephemeralContainers.debugger: Forbidden: existing ephemeral containers \"debugger\" may not be changed\n"
        ),
        "{changed:?}"
    );
    assert!(changed[0].contains("busybox:1.36"), "{changed:?}");
}

#[test]
fn ephemeral_containers_refuse_fields_outside_the_allow_list() {
    let probe = json!({"exec": {"command": ["true"]}});
    let got = ephemeral_update(
        json!([debugger(json!({
            "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": "1"}},
            "readinessProbe": probe,
            "lifecycle": {"postStart": probe},
            "volumeMounts": [{"name": "data", "mountPath": "/data", "subPath": "x"}],
        }))]),
        json!([]),
    );
    let p = "spec.ephemeralContainers[0]";
    let forbidden = "Forbidden: cannot be set for an Ephemeral Container";
    assert_eq!(
        got,
        vec![
            format!("{p}.ports: {forbidden}"),
            format!("{p}.resources: {forbidden}"),
            format!("{p}.readinessProbe: {forbidden}"),
            format!("{p}.lifecycle: {forbidden}"),
            format!("{p}.volumeMounts[0].subPath: {forbidden}"),
        ]
    );
}

#[test]
fn ephemeral_container_names_and_targets() {
    assert_eq!(
        ephemeral_update(
            json!([debugger(
                json!({"name": "web", "targetContainerName": "nope"})
            )]),
            json!([])
        ),
        vec![
            "spec.ephemeralContainers[0].name: Duplicate value: \"web\"",
            "spec.ephemeralContainers[0].targetContainerName: Not found: \"nope\"",
        ]
    );
    assert_eq!(
        ephemeral_update(
            json!([
                debugger(json!({})),
                debugger(json!({"targetContainerName": null}))
            ]),
            json!([])
        ),
        vec!["spec.ephemeralContainers[1].name: Duplicate value: \"debugger\""]
    );
}

#[test]
fn ephemeral_containers_cannot_be_created_with_the_pod_or_changed_by_a_pod_update() {
    let mut p = pod();
    p["spec"]["ephemeralContainers"] = json!([debugger(json!({}))]);
    assert_eq!(
        create(p.clone()),
        vec!["spec.ephemeralContainers: Forbidden: cannot be set on create"]
    );
    let got = update(p.clone(), pod());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("spec: Forbidden: pod updates may not change fields other than"),
        "{got:?}"
    );
}
