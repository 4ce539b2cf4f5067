//! End-to-end ports of upstream Kubernetes' `test/e2e/apps/statefulset.go`: "Non-retain
//! StatefulSetPersistentVolumeClaimPolicy" and "Automatically recreate PVC for pending pod when
//! PVC is missing", on the simulated node with ordo's `local-path` provisioner serving the
//! claim templates. Each test is named after its upstream title; see `docs/compatibility.md`.

mod common;
use common::sts::*;
use common::Server;
use serde_json::{json, Value};

fn start() -> Server {
    Server::start_with(&["--sim-start-delay-ms", "300"])
}

/// The claim names of set `ss` for these ordinals.
fn claims(ords: &[usize]) -> Vec<String> {
    let mut v: Vec<String> = ords.iter().map(|i| format!("datadir-ss-{i}")).collect();
    v.sort();
    v
}

/// Upstream's `verifyStatefulSetPVCsExist`: exactly the claims of these ordinals exist.
fn verify_claims_exist(s: &Server, ords: &[usize]) {
    let want = claims(ords);
    s.eventually(60, &format!("claims {want:?}"), || claim_names(s) == want);
}

fn owner_refs(s: &Server, claim: &str) -> Value {
    let c: Value = serde_json::from_str(&s.ok(&["get", "pvc", claim, "-o", "json"])).unwrap();
    c["metadata"]["ownerReferences"].clone()
}

/// Upstream's `verifyStatefulSetPVCsExistWithOwnerRefs(wantSetRef, wantPodRef)`.
fn verify_claims_with_owner_refs(s: &Server, ords: &[usize], want_set: bool, want_pod: bool) {
    let set_uid = set_field(s, "ss", ".metadata.uid");
    verify_claims_exist(s, ords);
    s.eventually(60, "claims' owner references", || {
        ords.iter().all(|i| {
            let refs = owner_refs(s, &format!("datadir-ss-{i}"));
            let refs = refs.as_array().cloned().unwrap_or_default();
            let set_ref = refs
                .iter()
                .any(|r| r["kind"] == "StatefulSet" && r["uid"] == set_uid.as_str());
            let pod_uid = s.ok(&[
                "get",
                "pod",
                &format!("ss-{i}"),
                "-o",
                "jsonpath={.metadata.uid}",
            ]);
            let pod_ref = refs
                .iter()
                .any(|r| r["kind"] == "Pod" && r["uid"] == pod_uid.as_str());
            set_ref == want_set && pod_ref == want_pod
        })
    });
}

fn create_set(s: &Server, replicas: i64, policy: Option<Value>) {
    create_headless_service(s, &labels());
    let mut ss = new_stateful_set("ss", replicas, true, &labels());
    if let Some(p) = policy {
        ss["spec"]["persistentVolumeClaimRetentionPolicy"] = p;
    }
    create(s, &ss);
}

/// Upstream's `e2estatefulset.Scale`: sets the replicas and waits for that many pods.
fn scale(s: &Server, n: usize) {
    s.ok(&["scale", "sts", "ss", &format!("--replicas={n}")]);
    s.eventually(60, &format!("{n} pods"), || {
        active_pod_names(s, SELECTOR).len() == n && pods(s, SELECTOR).len() == n
    });
}

fn orphan_pod_2(s: &Server) {
    s.ok(&[
        "patch",
        "pod",
        "ss-2",
        "--type=strategic",
        "-p",
        r#"{"metadata":{"ownerReferences":[]}}"#,
    ]);
}

#[test]
fn should_delete_pvcs_with_a_when_deleted_policy() {
    let s = start();
    create_set(&s, 3, Some(json!({"whenDeleted": "Delete"})));
    verify_claims_with_owner_refs(&s, &[0, 1, 2], true, false);
    s.ok(&["delete", "sts", "ss", "--wait=false"]);
    verify_claims_exist(&s, &[]);
}

#[test]
fn should_delete_pvcs_with_a_on_scaledown_policy() {
    let s = start();
    create_set(&s, 3, Some(json!({"whenScaled": "Delete"})));
    verify_claims_exist(&s, &[0, 1, 2]);
    wait_running_and_ready(&s, "ss", SELECTOR, 3, 60);
    scale(&s, 1);
    verify_claims_exist(&s, &[0]);
}

fn create_config_map(s: &Server, name: &str) -> String {
    s.ok(&["create", "configmap", name]);
    s.ok(&["get", "configmap", name, "-o", "jsonpath={.metadata.uid}"])
}

fn set_owner_refs(s: &Server, claim: &str, refs: &Value) {
    s.ok(&[
        "patch",
        "pvc",
        claim,
        "--type=merge",
        "-p",
        &json!({"metadata": {"ownerReferences": refs}}).to_string(),
    ]);
}

#[test]
fn should_not_delete_pvc_with_on_scaledown_policy_if_another_controller_owns_the_pvc() {
    let s = start();
    create_set(&s, 3, None);
    verify_claims_exist(&s, &[0, 1, 2]);
    wait_running_and_ready(&s, "ss", SELECTOR, 3, 60);
    let cm_uid = create_config_map(&s, "dummy-controller");
    set_owner_refs(
        &s,
        "datadir-ss-1",
        &json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "dummy-controller", "uid": cm_uid, "controller": true}]),
    );
    patch_set(
        &s,
        "ss",
        &json!({"spec": {"persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete"}}}),
    );
    scale(&s, 0);
    verify_claims_exist(&s, &[1]);
    set_owner_refs(&s, "datadir-ss-1", &Value::Null);
    scale(&s, 2);
    verify_claims_exist(&s, &[0, 1]);
    wait_running_and_ready(&s, "ss", SELECTOR, 2, 60);
    scale(&s, 1);
    verify_claims_exist(&s, &[0]);
}

#[test]
fn should_delete_pvcs_after_adopting_pod_when_deleted() {
    let s = start();
    create_set(&s, 3, Some(json!({"whenDeleted": "Delete"})));
    verify_claims_with_owner_refs(&s, &[0, 1, 2], true, false);
    orphan_pod_2(&s);
    s.ok(&["delete", "sts", "ss", "--wait=false"]);
    verify_claims_exist(&s, &[]);
}

#[test]
fn should_delete_pvcs_after_adopting_pod_when_scaled() {
    let s = start();
    create_set(&s, 3, Some(json!({"whenScaled": "Delete"})));
    verify_claims_exist(&s, &[0, 1, 2]);
    wait_running_and_ready(&s, "ss", SELECTOR, 3, 60);
    orphan_pod_2(&s);
    scale(&s, 1);
    verify_claims_exist(&s, &[0]);
}

#[test]
fn should_not_delete_pvcs_when_there_is_another_controller() {
    let s = start();
    create_set(&s, 4, None);
    verify_claims_exist(&s, &[0, 1, 2, 3]);
    let cm_uid = create_config_map(&s, "random-owner");
    let external =
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "random-owner", "uid": cm_uid}]);
    set_owner_refs(&s, "datadir-ss-1", &external);
    let stale = json!([{
        "apiVersion": "apps/v1", "kind": "StatefulSet", "name": "unknown",
        "uid": "9d86d6ae-4e06-4ff1-bc55-f77f52e272e9", "controller": true, "blockOwnerDeletion": true
    }]);
    s.ok(&[
        "patch",
        "pvc",
        "datadir-ss-3",
        "--type=merge",
        "-p",
        &json!({"metadata": {"ownerReferences": stale, "finalizers": ["keep-with/stale-ref"]}})
            .to_string(),
    ]);
    s.eventually(30, "references updated", || {
        owner_refs(&s, "datadir-ss-1") == external && owner_refs(&s, "datadir-ss-3") == stale
    });
    patch_set(
        &s,
        "ss",
        &json!({"spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete"}}}),
    );
    let set_uid = set_field(&s, "ss", ".metadata.uid");
    let owner = json!([{
        "apiVersion": "apps/v1", "kind": "StatefulSet", "name": "ss",
        "uid": set_uid, "controller": true, "blockOwnerDeletion": true
    }]);
    let mut external_and_owner = external.as_array().unwrap().clone();
    external_and_owner.extend(owner.as_array().unwrap().iter().cloned());
    let external_and_owner = Value::Array(external_and_owner);
    s.eventually(
        60,
        "claims 0 and 2 owned by the set, 1 also, 3 left stale",
        || {
            owner_refs(&s, "datadir-ss-0") == owner
                && owner_refs(&s, "datadir-ss-2") == owner
                && owner_refs(&s, "datadir-ss-1") == external_and_owner
                && owner_refs(&s, "datadir-ss-3") == stale
        },
    );
    // The controller flag removed from claim 0 comes back.
    let mut not_controller = owner.clone();
    not_controller[0]["controller"] = json!(false);
    set_owner_refs(&s, "datadir-ss-0", &not_controller);
    patch_set(
        &s,
        "ss",
        &json!({"spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"}}}),
    );
    s.eventually(60, "claim 0's controller flag reconciled", || {
        owner_refs(&s, "datadir-ss-0") == owner
    });
    // Claim 1 has an external owner and 3 a finalizer: they stay.
    s.ok(&["delete", "sts", "ss", "--wait=false"]);
    verify_claims_exist(&s, &[1, 3]);
    s.ok(&[
        "patch",
        "pvc",
        "datadir-ss-3",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
}

#[test]
fn pvc_should_be_recreated_when_pod_is_pending_due_to_missing_pvc() {
    let s = start();
    let node = s.ok(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    let host = s.ok(&[
        "get",
        "node",
        &node,
        "-o",
        r"jsonpath={.metadata.labels.kubernetes\.io/hostname}",
    ]);
    assert!(!host.is_empty(), "node {node} has no hostname label");
    let mut ss = new_stateful_set("ss", 1, true, &labels());
    let spec = &mut ss["spec"]["template"]["spec"];
    spec["containers"][0]["volumeMounts"] = json!([{"name": "datadir", "mountPath": "/data/"}]);
    spec.as_object_mut().unwrap().remove("volumes");
    spec["nodeSelector"] = json!({"kubernetes.io/hostname": host});
    create(&s, &ss);
    verify_claims_exist(&s, &[0]);
    s.eventually(60, "1 ready replica", || {
        set_field(&s, "ss", ".status.readyReplicas") == "1"
    });
    let pod_node = |s: &Server| s.ok(&["get", "pod", "ss-0", "-o", "jsonpath={.spec.nodeName}"]);
    assert_eq!(pod_node(&s), node);
    s.ok(&["cordon", &node]);
    let old_uid = s.ok(&["get", "pod", "ss-0", "-o", "jsonpath={.metadata.uid}"]);
    s.ok(&["delete", "pod", "ss-0"]);
    // Upstream's waitForStatusCurrentReplicas(1): the pod is re-created (and stays Pending).
    s.eventually(60, "ss-0 re-created", || {
        let uid = s.kubectl(&["get", "pod", "ss-0", "-o", "jsonpath={.metadata.uid}"]);
        uid.status.success()
            && !uid.stdout.is_empty()
            && uid.stdout != old_uid.as_bytes()
            && set_field(&s, "ss", ".status.currentReplicas") == "1"
    });
    assert_eq!(claim_names(&s), claims(&[0]));
    let claim_uid = |s: &Server| {
        let out = s.kubectl(&[
            "get",
            "pvc",
            "datadir-ss-0",
            "-o",
            "jsonpath={.metadata.uid}",
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let old_claim = claim_uid(&s);
    // The pending pod is not scheduled, so the claim is not protected: it goes.
    s.ok(&["delete", "pvc", "datadir-ss-0", "--wait=false"]);
    s.ok(&["uncordon", &node]);
    // Confirming the claim re-created (a new one).
    s.eventually(60, "a new claim datadir-ss-0", || {
        let uid = claim_uid(&s);
        !uid.is_empty() && uid != old_claim
    });
    verify_claims_exist(&s, &[0]);
    s.eventually(60, "1 ready replica after the claim was re-created", || {
        set_field(&s, "ss", ".status.readyReplicas") == "1"
            && s.ok(&["get", "pod", "ss-0", "-o", "jsonpath={.status.phase}"]) == "Running"
    });
    assert_eq!(pod_node(&s), node);
}
