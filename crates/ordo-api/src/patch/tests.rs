use super::*;
use serde_json::json;

fn smp(kind: &str, original: Value, patch: Value) -> Value {
    strategic_merge_patch(kind, &original, &patch).unwrap_or_else(|e| panic!("patch failed: {e}"))
}

fn smp_err(kind: &str, original: Value, patch: Value) -> String {
    strategic_merge_patch(kind, &original, &patch).expect_err("patch should fail")
}

fn sts() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "nginx"},
                     "annotations": {"a": "1"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}, "annotations": {"old": "x"}},
                "spec": {
                    "containers": [{
                        "name": "nginx-container", "image": "nginx:1.25",
                        "ports": [{"containerPort": 80, "name": "web"}],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]
                    }],
                    "tolerations": [{"key": "k1", "operator": "Exists"}]
                }
            },
            "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                      "spec": {"accessModes": ["ReadWriteOnce"]}}]
        }
    })
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[test]
fn maps_merge_and_null_deletes() {
    let out = smp(
        "ConfigMap",
        json!({"metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}}),
        json!({"metadata": {"labels": {"a": null, "c": "3", "zz": null}}, "data": {"y": "2"}}),
    );
    assert_eq!(
        out,
        json!({"metadata": {"name": "c", "labels": {"b": "2", "c": "3"}}, "data": {"x": "1", "y": "2"}})
    );
}

#[test]
fn new_values_are_cleaned_of_nulls() {
    let out = smp(
        "ConfigMap",
        json!({}),
        json!({"data": {"a": "1", "b": null}}),
    );
    assert_eq!(out, json!({"data": {"a": "1"}}));
}

#[test]
fn lists_without_strategy_are_replaced() {
    let patch = json!({"spec": {"template": {"spec": {
        "tolerations": [{"key": "k2", "operator": "Exists"}],
        "containers": [{"name": "nginx-container", "args": ["-g"], "command": ["nginx"]}]
    }}}});
    let out = smp("StatefulSet", sts(), patch);
    let spec = &out["spec"]["template"]["spec"];
    assert_eq!(
        spec["tolerations"],
        json!([{"key": "k2", "operator": "Exists"}])
    );
    assert_eq!(spec["containers"][0]["command"], json!(["nginx"]));
    assert_eq!(spec["containers"][0]["image"], "nginx:1.25");
    // Unknown kinds: lists replace, maps merge.
    let out = smp(
        "Widget",
        json!({"spec": {"items": [{"name": "a"}], "m": {"x": 1}}}),
        json!({"spec": {"items": [{"name": "b"}], "m": {"y": 2}}}),
    );
    assert_eq!(
        out,
        json!({"spec": {"items": [{"name": "b"}], "m": {"x": 1, "y": 2}}})
    );
}

#[test]
fn kubectl_set_image() {
    let patch = json!({"spec":{"template":{"spec":{
        "$setElementOrder/containers":[{"name":"nginx-container"}],
        "containers":[{"image":"nginx:1.26.1","name":"nginx-container"}]}}}});
    let out = smp("StatefulSet", sts(), patch);
    let mut expected = sts();
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26.1");
    assert_eq!(out, expected);
}

#[test]
fn kubectl_rollout_undo_replaces_template() {
    let patch = json!({"spec":{"template":{"$patch":"replace",
        "metadata":{"creationTimestamp":null,"labels":{"app":"nginx"}},
        "spec":{"containers":[{"image":"nginx:1.24","name":"nginx-container"}]}}}});
    let out = smp("StatefulSet", sts(), patch);
    assert_eq!(
        out["spec"]["template"],
        json!({"metadata":{"labels":{"app":"nginx"}},
               "spec":{"containers":[{"image":"nginx:1.24","name":"nginx-container"}]}})
    );
    assert_eq!(out["spec"]["replicas"], 2);
}

#[test]
fn kubectl_apply_three_way_patch() {
    let patch = json!({
        "metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"x\":1}\n"}},
        "spec":{"replicas":3,"volumeClaimTemplates":[{"metadata":{"name":"www"},
            "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}});
    let out = smp("StatefulSet", sts(), patch);
    assert_eq!(out["spec"]["replicas"], 3);
    assert_eq!(out["metadata"]["annotations"]["a"], "1");
    assert_eq!(
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        "{\"x\":1}\n"
    );
    assert_eq!(
        out["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
}

#[test]
fn kubectl_rollout_restart_and_scale_style_patches() {
    let at = "2026-11-25T14:24:49Z";
    let patch = json!({"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":at}}}}});
    let out = smp("StatefulSet", sts(), patch);
    let ann = &out["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(
        ann,
        &json!({"old": "x", "kubectl.kubernetes.io/restartedAt": at})
    );
    let out = smp("StatefulSet", sts(), json!({"spec":{"replicas":5}}));
    assert_eq!(out["spec"]["replicas"], 5);
}

#[test]
fn delete_container_by_name() {
    let pod =
        json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
    let out = smp(
        "Pod",
        pod,
        json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}),
    );
    assert_eq!(
        out,
        json!({"spec": {"containers": [{"name": "b", "image": "y"}]}})
    );
}

#[test]
fn env_merges_by_name() {
    let patch = json!({"spec":{"template":{"spec":{"containers":[{"name":"nginx-container",
        "env":[{"name":"B","value":"20"},{"name":"C","value":"3"}]}]}}}});
    let out = smp("Deployment", sts(), patch);
    let env = &out["spec"]["template"]["spec"]["containers"][0]["env"];
    // Upstream order: patch items first unless the live order says otherwise.
    assert_eq!(
        env,
        &json!([{"name":"A","value":"1"},{"name":"B","value":"20"},{"name":"C","value":"3"}])
    );
    let patch = json!({"spec":{"template":{"spec":{"containers":[{"name":"nginx-container",
        "env":[{"name":"A","value":null,"valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}]}]}}}});
    let out = smp("Deployment", sts(), patch);
    let env = &out["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0],
        json!({"name":"A","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}})
    );
    assert_eq!(env[1], json!({"name":"B","value":"2"}));
}

#[test]
fn new_list_items_go_first_like_upstream() {
    let out = smp(
        "Pod",
        json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}),
        json!({"spec": {"containers": [{"name": "c"}]}}),
    );
    assert_eq!(names(&out["spec"]["containers"]), ["c", "a", "b"]);
}

#[test]
fn finalizers_are_unioned() {
    let out = smp(
        "ConfigMap",
        json!({"metadata": {"finalizers": ["a", "b"]}}),
        json!({"metadata": {"finalizers": ["b", "c"]}}),
    );
    assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
    let out = smp(
        "Pod",
        json!({"spec": {"template": {"metadata": {"finalizers": ["x"]}}}}),
        json!({"spec": {"template": {"metadata": {"finalizers": ["y"]}}}}),
    );
    // Not a PodTemplateSpec path for a Pod: an ordinary list, replaced.
    assert_eq!(
        out["spec"]["template"]["metadata"]["finalizers"],
        json!(["y"])
    );
    let out = smp(
        "Deployment",
        json!({"spec": {"template": {"metadata": {"finalizers": ["x"]}}}}),
        json!({"spec": {"template": {"metadata": {"finalizers": ["y"]}}}}),
    );
    assert_eq!(
        out["spec"]["template"]["metadata"]["finalizers"],
        json!(["y", "x"])
    );
}

#[test]
fn delete_from_primitive_list() {
    let out = smp(
        "Pod",
        json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}}),
    );
    assert_eq!(out, json!({"metadata": {"finalizers": ["a", "c"]}}));
    // With an order list and additions, as kubectl apply sends it.
    let out = smp(
        "Pod",
        json!({"metadata": {"finalizers": ["a", "b"]}}),
        json!({"metadata": {"$setElementOrder/finalizers": ["c", "a"],
                            "$deleteFromPrimitiveList/finalizers": ["b"],
                            "finalizers": ["c"]}}),
    );
    assert_eq!(out, json!({"metadata": {"finalizers": ["c", "a"]}}));
}

#[test]
fn owner_references_merge_by_uid() {
    let out = smp(
        "Pod",
        json!({"metadata": {"ownerReferences": [
            {"uid": "u1", "kind": "ReplicaSet", "name": "rs1", "controller": true},
            {"uid": "u2", "kind": "Foo", "name": "f"}]}}),
        json!({"metadata": {"ownerReferences": [{"uid": "u1", "controller": false},
                                                {"uid": "u2", "$patch": "delete"}]}}),
    );
    assert_eq!(
        out["metadata"]["ownerReferences"],
        json!([{"uid": "u1", "kind": "ReplicaSet", "name": "rs1", "controller": false}])
    );
}

#[test]
fn service_ports_merge_by_port() {
    let svc = json!({"spec": {"ports": [{"port": 80, "name": "web", "targetPort": 8080},
                                        {"port": 443, "name": "tls"}]}});
    let out = smp(
        "Service",
        svc,
        json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
    );
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 80, "name": "web", "targetPort": 9090}, {"port": 443, "name": "tls"}])
    );
}

#[test]
fn container_ports_merge_by_container_port() {
    let patch = json!({"spec":{"template":{"spec":{"containers":[{"name":"nginx-container",
        "ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":8443}]}]}}}});
    let out = smp("StatefulSet", sts(), patch);
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort":80,"name":"web","protocol":"TCP"},{"containerPort":8443}])
    );
}

#[test]
fn volume_mounts_merge_by_mount_path() {
    let patch = json!({"spec":{"template":{"spec":{"containers":[{"name":"nginx-container",
        "volumeMounts":[{"mountPath":"/usr/share/nginx/html","readOnly":true}]}]}}}});
    let out = smp("StatefulSet", sts(), patch);
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["volumeMounts"],
        json!([{"name":"www","mountPath":"/usr/share/nginx/html","readOnly":true}])
    );
}

#[test]
fn retain_keys() {
    let deploy = json!({"spec": {"strategy": {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxSurge": 1}}}});
    let out = smp(
        "Deployment",
        deploy.clone(),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    );
    assert_eq!(out, json!({"spec": {"strategy": {"type": "Recreate"}}}));
    let err = smp_err(
        "Deployment",
        deploy,
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
    );
    assert!(err.contains("retainKeys"), "{err}");
}

#[test]
fn set_element_order_orders_the_merged_list() {
    let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "sidecar"}, {"name": "b"}]}});
    let out = smp(
        "Pod",
        pod.clone(),
        json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "c"}, {"name": "a"}],
                        "containers": [{"name": "c", "image": "c"}]}}),
    );
    // Listed items follow the order list; the server-only sidecar is slotted in by live
    // order (it was before "b"), exactly as upstream's mergeSortedSlice does.
    assert_eq!(
        names(&out["spec"]["containers"]),
        ["sidecar", "b", "c", "a"]
    );
    // Order only, without a patch list.
    let out = smp(
        "Pod",
        pod.clone(),
        json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "sidecar"}, {"name": "a"}]}}),
    );
    assert_eq!(names(&out["spec"]["containers"]), ["b", "sidecar", "a"]);
    // The patch list must follow the order list.
    let err = smp_err(
        "Pod",
        pod,
        json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                        "containers": [{"name": "b"}, {"name": "a"}]}}),
    );
    assert!(err.contains("doesn't match"), "{err}");
}

#[test]
fn replace_directive_in_list() {
    let out = smp(
        "Pod",
        json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}}),
        json!({"spec": {"containers": [{"name": "z", "image": null}, {"$patch": "replace"}]}}),
    );
    assert_eq!(out, json!({"spec": {"containers": [{"name": "z"}]}}));
}

#[test]
fn delete_and_replace_directives_on_maps() {
    let orig = json!({"metadata": {"labels": {"a": "1"}, "annotations": {"x": "1", "y": "2"}}});
    let out = smp(
        "Pod",
        orig.clone(),
        json!({"metadata": {"labels": {"$patch": "delete"}}}),
    );
    assert_eq!(
        out,
        json!({"metadata": {"annotations": {"x": "1", "y": "2"}}})
    );
    let out = smp(
        "Pod",
        orig.clone(),
        json!({"metadata": {"annotations": {"$patch": "replace", "z": "3"}}}),
    );
    assert_eq!(out["metadata"]["annotations"], json!({"z": "3"}));
    let out = smp(
        "Pod",
        orig.clone(),
        json!({"metadata": {"annotations": {"$patch": "merge", "z": "3"}}}),
    );
    assert_eq!(
        out["metadata"]["annotations"],
        json!({"x": "1", "y": "2", "z": "3"})
    );
    assert_eq!(
        smp("Pod", orig.clone(), json!({"$patch": "delete"})),
        json!({})
    );
    let err = smp_err("Pod", orig, json!({"metadata": {"$patch": "explode"}}));
    assert!(err.contains("unknown patch type: explode"), "{err}");
}

#[test]
fn status_lists() {
    let pod = json!({"status": {"phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "False"}],
        "containerStatuses": [{"name": "a", "ready": false}, {"name": "b", "ready": false}]}});
    let out = smp(
        "Pod",
        pod,
        json!({"status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "a", "ready": true}]}}),
    );
    assert_eq!(
        out["status"]["conditions"],
        json!([{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}])
    );
    assert_eq!(
        out["status"]["containerStatuses"],
        json!([{"name": "a", "ready": true}])
    );
    let node = json!({"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"},
                                               {"type": "Hostname", "address": "n1"}],
                                 "images": [{"names": ["a"]}]}});
    let out = smp(
        "Node",
        node,
        json!({"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"}],
                          "images": [{"names": ["b"]}]}}),
    );
    assert_eq!(out["status"]["addresses"][0]["address"], "10.0.0.2");
    assert_eq!(out["status"]["addresses"][1]["address"], "n1");
    assert_eq!(out["status"]["images"], json!([{"names": ["b"]}]));
    let out = smp(
        "PersistentVolumeClaim",
        json!({"status": {"conditions": [{"type": "Resizing", "status": "True"}]}}),
        json!({"status": {"conditions": [{"type": "Resizing", "status": "False"}]}}),
    );
    assert_eq!(
        out["status"]["conditions"],
        json!([{"type": "Resizing", "status": "False"}])
    );
}

#[test]
fn cron_job_pod_spec_path() {
    let cj = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}}}}});
    let out = smp(
        "CronJob",
        cj,
        json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "b", "image": "z"}]}}}}}}),
    );
    let containers = &out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0], json!({"name": "a", "image": "x"}));
    assert_eq!(containers[1], json!({"name": "b", "image": "z"}));
}

#[test]
fn errors() {
    let err = smp_err("Pod", json!({}), json!([{"op": "add"}]));
    assert!(err.contains("must be a JSON object"), "{err}");
    let err = smp_err(
        "Pod",
        json!({"spec": {"containers": [{"name": "a"}]}}),
        json!({"spec": {"containers": [{"image": "x"}]}}),
    );
    assert!(
        err.contains("does not contain declared merge key: name"),
        "{err}"
    );
    let err = smp_err(
        "Pod",
        json!({"spec": {"containers": [{"name": "a"}]}}),
        json!({"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}}),
    );
    assert!(err.contains("unknown patch type"), "{err}");
}

#[test]
fn original_is_untouched_and_null_original_is_empty() {
    let orig = sts();
    let _ = smp(
        "StatefulSet",
        orig.clone(),
        json!({"spec": {"replicas": 9}}),
    );
    assert_eq!(orig, sts());
    assert_eq!(smp("Pod", Value::Null, json!({"a": 1})), json!({"a": 1}));
}

#[test]
fn json_merge_patch_rfc7386_examples() {
    let cases = [
        (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
        (json!({"a":"b"}), json!({"a":null}), json!({})),
        (
            json!({"a":"b","b":"c"}),
            json!({"a":null}),
            json!({"b":"c"}),
        ),
        (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
        (
            json!({"a":{"b":"c"}}),
            json!({"a":{"b":"d","c":null}}),
            json!({"a":{"b":"d"}}),
        ),
        (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a":"b"}), json!(["c"]), json!(["c"])),
        (json!({"a":"foo"}), json!(null), json!(null)),
        (json!({"a":"foo"}), json!("bar"), json!("bar")),
        (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
        (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
        (
            json!({}),
            json!({"a":{"bb":{"ccc":null}}}),
            json!({"a":{"bb":{}}}),
        ),
    ];
    for (orig, patch, want) in cases {
        assert_eq!(json_merge_patch(&orig, &patch), want, "{orig} + {patch}");
    }
    // kubectl scale / annotate.
    let out = json_merge_patch(
        &sts(),
        &json!({"metadata":{"annotations":{"kubernetes.io/change-cause":"x"}}}),
    );
    assert_eq!(
        out["metadata"]["annotations"],
        json!({"a":"1","kubernetes.io/change-cause":"x"})
    );
}

#[test]
fn json_patch_ops() {
    // kubectl rollout undo deployment.
    let patch = json!([
        {"op":"replace","path":"/spec/template","value":{"metadata":{"creationTimestamp":null,
            "labels":{"app":"nginx-d"}},"spec":{"containers":[{"name":"n","image":"nginx:1"}]}}},
        {"op":"replace","path":"/metadata/annotations","value":{"deployment.kubernetes.io/revision":"2"}}
    ]);
    let out = json_patch(&sts(), &patch).unwrap();
    assert_eq!(
        out["spec"]["template"]["metadata"]["labels"]["app"],
        "nginx-d"
    );
    assert_eq!(
        out["metadata"]["annotations"],
        json!({"deployment.kubernetes.io/revision":"2"})
    );
    let out = json_patch(
        &json!({"a": [1, 2]}),
        &json!([{"op":"add","path":"/a/-","value":3},{"op":"remove","path":"/a/0"},
                {"op":"test","path":"/a","value":[2,3]},{"op":"copy","from":"/a","path":"/b"},
                {"op":"move","from":"/b","path":"/c"}]),
    )
    .unwrap();
    assert_eq!(out, json!({"a": [2, 3], "c": [2, 3]}));
    assert!(json_patch(
        &json!({"a":1}),
        &json!([{"op":"test","path":"/a","value":2}])
    )
    .is_err());
    assert!(json_patch(&json!({"a":1}), &json!([{"op":"remove","path":"/b"}])).is_err());
    assert!(json_patch(&json!({"a":1}), &json!({"op":"remove"})).is_err());
}

#[test]
fn json_patch_copies_are_bounded() {
    // Each copy doubles the document: 40 of them would need terabytes.
    let mut ops = vec![json!({"op": "add", "path": "/a", "value": "x".repeat(1000)})];
    for i in 0..40 {
        ops.push(json!({"op": "copy", "from": "", "path": format!("/k{i}")}));
    }
    let err = json_patch(&json!({}), &json!(ops)).unwrap_err();
    assert!(
        err.starts_with("Unable to complete the copy, the accumulated size increase of copy is "),
        "{err}"
    );
    assert!(err.ends_with("exceeding the limit 3145728"), "{err}");
    // Copies under the limit apply, and errors name the failing operation.
    let out = json_patch(
        &json!({"a": 1}),
        &json!([{"op": "copy", "from": "/a", "path": "/b"}, {"op": "copy", "from": "/b", "path": "/c"}]),
    )
    .unwrap();
    assert_eq!(out, json!({"a": 1, "b": 1, "c": 1}));
    let err = json_patch(
        &json!({"a": 1}),
        &json!([{"op": "test", "path": "/a", "value": 1}, {"op": "remove", "path": "/x"}]),
    )
    .unwrap_err();
    assert!(err.contains("operation '/1'"), "{err}");
}
