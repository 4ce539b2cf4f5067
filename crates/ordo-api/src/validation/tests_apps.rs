//! StatefulSet (R7–R18), Deployment, ReplicaSet and ControllerRevision rules.

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

fn sts() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {
            "serviceName": "nginx",
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{
                    "name": "nginx", "image": "nginx:1.25",
                    "ports": [{"containerPort": 80, "name": "web"}],
                    "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]
                }]}
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "www"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    })
}

fn with(mut v: Value, pointer: &str, value: Value) -> Value {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = value;
    v
}

fn set(mut v: Value, parent: &str, key: &str, value: Value) -> Value {
    v.pointer_mut(parent).unwrap()[key] = value;
    v
}

#[test]
fn valid_statefulset_passes() {
    assert_eq!(create("StatefulSet", sts()), Vec::<String>::new());
}

#[test]
fn r7_name_is_a_dns_label() {
    let e = create("StatefulSet", with(sts(), "/metadata/name", json!("Web")));
    assert_eq!(e, vec!["metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]);
    let e = create(
        "StatefulSet",
        with(sts(), "/metadata/name", json!("web.v1")),
    );
    assert_eq!(
        e,
        vec!["metadata.name: Invalid value: \"web.v1\": must not contain dots"]
    );
}

#[test]
fn r8_selector_required_and_non_empty() {
    let mut v = sts();
    v["spec"].as_object_mut().unwrap().remove("selector");
    assert_eq!(
        create("StatefulSet", v),
        vec![
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"nginx\"}: `selector` does not match template `labels`",
        ]
    );
    let e = create("StatefulSet", with(sts(), "/spec/selector", json!({})));
    assert_eq!(e, vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset"]);
    let e = create(
        "StatefulSet",
        with(
            sts(),
            "/spec/selector",
            json!({"matchExpressions": [{"key": "app", "operator": "Bad"}]}),
        ),
    );
    assert_eq!(e[0], "spec.selector.matchExpressions[0].operator: Invalid value: \"Bad\": not a valid selector operator");
    assert!(e[1].starts_with("spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"app\", Operator:\"Bad\", Values:[]string(nil)}}}"));
}

#[test]
fn r9_selector_must_match_template_labels() {
    let e = create(
        "StatefulSet",
        with(
            sts(),
            "/spec/template/metadata/labels",
            json!({"app": "other"}),
        ),
    );
    assert_eq!(e, vec!["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`"]);
    let v = with(
        sts(),
        "/spec/selector",
        json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["nginx", "x"]}]}),
    );
    assert!(create("StatefulSet", v).is_empty());
}

#[test]
fn r10_restart_policy_always_and_no_active_deadline() {
    let e = create(
        "StatefulSet",
        set(
            sts(),
            "/spec/template/spec",
            "restartPolicy",
            json!("Never"),
        ),
    );
    assert_eq!(e, vec!["spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""]);
    let e = create(
        "StatefulSet",
        set(
            sts(),
            "/spec/template/spec",
            "activeDeadlineSeconds",
            json!(10),
        ),
    );
    assert_eq!(e, vec!["spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported"]);
}

#[test]
fn r11_policies_and_strategies() {
    let e = create(
        "StatefulSet",
        set(sts(), "/spec", "podManagementPolicy", json!("Burst")),
    );
    assert_eq!(e, vec!["spec.podManagementPolicy: Invalid value: \"Burst\": must be 'OrderedReady' or 'Parallel'"]);
    let e = create(
        "StatefulSet",
        set(sts(), "/spec", "updateStrategy", json!({"type": "Rolling"})),
    );
    assert_eq!(e, vec!["spec.updateStrategy: Invalid value: apps.StatefulSetUpdateStrategy{Type:\"Rolling\", RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}: must be 'RollingUpdate' or 'OnDelete'"]);
    let e = create(
        "StatefulSet",
        set(
            sts(),
            "/spec",
            "updateStrategy",
            json!({"type": "OnDelete", "rollingUpdate": {"partition": 1}}),
        ),
    );
    assert_eq!(e, vec!["spec.updateStrategy.rollingUpdate: Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:1, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'"]);
    assert!(create(
        "StatefulSet",
        set(sts(), "/spec", "podManagementPolicy", json!("Parallel"))
    )
    .is_empty());
    assert!(create(
        "StatefulSet",
        set(
            sts(),
            "/spec",
            "updateStrategy",
            json!({"type": "OnDelete"})
        )
    )
    .is_empty());
}

#[test]
fn r12_non_negative_counts_and_max_unavailable() {
    let e = create("StatefulSet", set(sts(), "/spec", "replicas", json!(-1)));
    assert_eq!(
        e,
        vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
    );
    let e = create(
        "StatefulSet",
        set(sts(), "/spec", "minReadySeconds", json!(-5)),
    );
    assert_eq!(
        e,
        vec!["spec.minReadySeconds: Invalid value: -5: must be greater than or equal to 0"]
    );
    let e = create(
        "StatefulSet",
        set(sts(), "/spec", "ordinals", json!({"start": -1})),
    );
    assert_eq!(
        e,
        vec!["spec.ordinals.start: Invalid value: -1: must be greater than or equal to 0"]
    );
    let ru = |r: Value| {
        create(
            "StatefulSet",
            set(
                sts(),
                "/spec",
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": r}),
            ),
        )
    };
    assert_eq!(ru(json!({"partition": -2})), vec!["spec.updateStrategy.rollingUpdate.partition: Invalid value: -2: must be greater than or equal to 0"]);
    assert_eq!(ru(json!({"maxUnavailable": 0})), vec!["spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: cannot be 0"]);
    assert_eq!(ru(json!({"maxUnavailable": "0%"})), vec!["spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"0%\"}: cannot be 0"]);
    assert_eq!(ru(json!({"maxUnavailable": "150%"})), vec!["spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%"]);
    assert_eq!(
        ru(json!({"maxUnavailable": "x%"}))[0],
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"x%\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
    );
    assert!(ru(json!({"maxUnavailable": "50%", "partition": 3})).is_empty());
}

#[test]
fn r13_retention_policy_values() {
    let e = create(
        "StatefulSet",
        set(
            sts(),
            "/spec",
            "persistentVolumeClaimRetentionPolicy",
            json!({"whenDeleted": "Keep", "whenScaled": "Delete"}),
        ),
    );
    assert_eq!(e, vec!["spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\""]);
}

#[test]
fn r14_service_name_is_optional_but_a_label() {
    let mut v = sts();
    v["spec"].as_object_mut().unwrap().remove("serviceName");
    assert!(create("StatefulSet", v).is_empty());
    let e = create(
        "StatefulSet",
        with(sts(), "/spec/serviceName", json!("Nginx_svc")),
    );
    assert!(
        e[0].starts_with(
            "spec.serviceName: Invalid value: \"Nginx_svc\": a lowercase RFC 1123 label"
        ),
        "{e:?}"
    );
}

#[test]
fn template_and_claim_templates_are_validated() {
    let mut v = set(sts(), "/spec", "replicas", json!(-1));
    v["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("image");
    assert_eq!(
        create("StatefulSet", v),
        vec![
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "spec.template.spec.containers[0].image: Required value",
        ]
    );
    let v = with(
        sts(),
        "/spec/template/spec/containers/0/volumeMounts/0/name",
        json!("data"),
    );
    let c = {
        let mut v = v;
        apply_defaults("StatefulSet", &mut v);
        validate_create("StatefulSet", &v)
    };
    assert_eq!(
        msgs(&c),
        vec!["spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"data\""]
    );
    assert_eq!(c[0].reason, "FieldValueNotFound");
    let v = with(sts(), "/spec/volumeClaimTemplates/0/spec", json!({}));
    assert_eq!(
        create("StatefulSet", v),
        vec![
            "spec.volumeClaimTemplates[0].spec.accessModes: Required value: at least 1 access mode is required",
            "spec.volumeClaimTemplates[0].spec.resources[storage]: Required value",
        ]
    );
}

#[test]
fn r15_only_some_spec_fields_may_change() {
    const FORBIDDEN: &str = "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
    let ok = [
        set(sts(), "/spec", "replicas", json!(5)),
        set(sts(), "/spec", "minReadySeconds", json!(10)),
        set(sts(), "/spec", "ordinals", json!({"start": 3})),
        set(
            sts(),
            "/spec",
            "updateStrategy",
            json!({"type": "OnDelete"}),
        ),
        set(
            sts(),
            "/spec",
            "persistentVolumeClaimRetentionPolicy",
            json!({"whenScaled": "Delete"}),
        ),
        with(
            sts(),
            "/spec/template/spec/containers/0/image",
            json!("nginx:1.26"),
        ),
    ];
    for new in ok {
        assert_eq!(update("StatefulSet", new, sts()), Vec::<String>::new());
    }
    let forbidden = [
        with(sts(), "/spec/serviceName", json!("other")),
        set(sts(), "/spec", "podManagementPolicy", json!("Parallel")),
        set(sts(), "/spec", "revisionHistoryLimit", json!(3)),
        with(
            sts(),
            "/spec/volumeClaimTemplates/0/spec/accessModes",
            json!(["ReadWriteMany"]),
        ),
    ];
    for new in forbidden {
        assert_eq!(update("StatefulSet", new, sts()), vec![FORBIDDEN]);
    }
    let new = with(
        with(sts(), "/spec/selector/matchLabels", json!({"app": "x"})),
        "/spec/template/metadata/labels",
        json!({"app": "x"}),
    );
    assert_eq!(update("StatefulSet", new, sts()), vec![FORBIDDEN]);
    let mut new = sts();
    new["spec"]["volumeClaimTemplates"][0]["metadata"]["creationTimestamp"] = Value::Null;
    assert!(
        update("StatefulSet", new, sts()).is_empty(),
        "kubectl's creationTimestamp: null is not a change"
    );
}

#[test]
fn kep_4650_claim_template_storage_may_only_grow() {
    const STORAGE: &str = "/spec/volumeClaimTemplates/0/spec/resources/requests/storage";
    assert!(update("StatefulSet", with(sts(), STORAGE, json!("2Gi")), sts()).is_empty());
    assert!(update("StatefulSet", with(sts(), STORAGE, json!("1024Mi")), sts()).is_empty());
    assert_eq!(
        update("StatefulSet", with(sts(), STORAGE, json!("512Mi")), sts()),
        vec!["spec.volumeClaimTemplates[0].spec.resources.requests.storage: Forbidden: field can not be less than previous value"]
    );
}

#[test]
fn update_validates_new_spec_and_metadata() {
    let e = update(
        "StatefulSet",
        set(sts(), "/spec", "replicas", json!(-1)),
        sts(),
    );
    assert_eq!(
        e,
        vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
    );
    let e = update(
        "StatefulSet",
        with(sts(), "/metadata/uid", json!("u2")),
        sts(),
    );
    assert_eq!(
        e,
        vec!["metadata.uid: Invalid value: \"u2\": field is immutable"]
    );
    let e = update(
        "StatefulSet",
        with(sts(), "/metadata/name", json!("db")),
        sts(),
    );
    assert_eq!(
        e,
        vec!["metadata.name: Invalid value: \"db\": field is immutable"]
    );
    let mut old = sts();
    old["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
    let new = set(old.clone(), "/spec", "replicas", json!(2));
    assert!(
        update("StatefulSet", new, old).is_empty(),
        "an invalid stored template does not block other updates"
    );
}

#[test]
fn r16_status_counters() {
    let mut old = sts();
    old["status"] = json!({"replicas": 2, "collisionCount": 2});
    let mut new = old.clone();
    new["status"] =
        json!({"replicas": 1, "readyReplicas": 2, "availableReplicas": 2, "collisionCount": 1});
    assert_eq!(
        update("StatefulSet", new, old),
        vec![
            "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
            "status.availableReplicas: Invalid value: 2: cannot be greater than status.replicas",
            "status.collisionCount: Invalid value: 1: cannot be decremented",
        ]
    );
}

#[test]
fn r18_controller_revision() {
    let cr = json!({"metadata": {"name": "web-6d4b7c", "namespace": "default"}, "revision": 1, "data": {"spec": {}}});
    assert!(create("ControllerRevision", cr.clone()).is_empty());
    let e = create(
        "ControllerRevision",
        json!({"metadata": {"name": "web-1", "namespace": "default"}, "revision": -1}),
    );
    assert_eq!(
        e,
        vec![
            "data: Required value: data is mandatory",
            "revision: Invalid value: -1: must be greater than or equal to 0"
        ]
    );
    let bumped = with(cr.clone(), "/revision", json!(3));
    assert!(update("ControllerRevision", bumped, cr.clone()).is_empty());
    let changed = with(cr.clone(), "/data", json!({"a": 1}));
    let e = update("ControllerRevision", changed, cr);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("data: Invalid value: runtime.RawExtension{Raw:[]uint8{0x7b,")
            && e[0].ends_with(": field is immutable"),
        "{e:?}"
    );
}

fn deploy() -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
        }
    })
}

#[test]
fn deployment_rules() {
    assert!(create("Deployment", deploy()).is_empty());
    let mut v = deploy();
    v["spec"].as_object_mut().unwrap().remove("selector");
    assert_eq!(
        create("Deployment", v),
        vec![
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        ]
    );
    let e = create("Deployment", with(deploy(), "/spec/selector", json!({})));
    assert_eq!(e, vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"]);
    assert_eq!(
        create("Deployment", set(deploy(), "/spec", "replicas", json!(-1))),
        vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
    );
    let rolling = |r: Value| {
        create(
            "Deployment",
            set(
                deploy(),
                "/spec",
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": r}),
            ),
        )
    };
    assert_eq!(
        rolling(json!({"maxSurge": 0, "maxUnavailable": 0})),
        vec!["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0"]
    );
    assert_eq!(
        rolling(json!({"maxSurge": "0%", "maxUnavailable": "0%"})),
        vec!["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"0%\"}: may not be 0 when `maxSurge` is 0"]
    );
    assert_eq!(
        rolling(json!({"maxUnavailable": "120%"})),
        vec!["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"120%\"}: must not be greater than 100%"]
    );
    assert!(rolling(json!({"maxUnavailable": "25"}))[0]
        .contains("a valid percent string must be a numeric string followed by an ending '%'"));
    assert_eq!(rolling(json!({"maxSurge": -1}))[0], "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0");
    let e = create(
        "Deployment",
        set(
            deploy(),
            "/spec",
            "strategy",
            json!({"type": "Recreate", "rollingUpdate": {}}),
        ),
    );
    assert_eq!(e, vec!["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]);
    let e = create(
        "Deployment",
        set(deploy(), "/spec", "strategy", json!({"type": "BlueGreen"})),
    );
    assert_eq!(e, vec!["spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"BlueGreen\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\""]);
    assert_eq!(
        create(
            "Deployment",
            set(deploy(), "/spec", "revisionHistoryLimit", json!(-1))
        ),
        vec!["spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"]
    );
    let v = set(
        set(deploy(), "/spec", "minReadySeconds", json!(30)),
        "/spec",
        "progressDeadlineSeconds",
        json!(30),
    );
    assert_eq!(
        create("Deployment", v),
        vec![
            "spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds"
        ]
    );
    let e = create(
        "Deployment",
        with(
            deploy(),
            "/spec/template/metadata/labels",
            json!({"app": "web", "tier": "-bad"}),
        ),
    );
    assert!(
        e[0].starts_with(
            "spec.template.labels: Invalid value: \"-bad\": a valid label must be an empty string"
        ),
        "{e:?}"
    );
    let e = create(
        "Deployment",
        set(
            deploy(),
            "/spec/template/spec",
            "restartPolicy",
            json!("OnFailure"),
        ),
    );
    assert_eq!(e, vec!["spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\""]);
}

#[test]
fn workload_selectors_are_immutable() {
    let new = with(
        with(deploy(), "/spec/selector/matchLabels", json!({"app": "x"})),
        "/spec/template/metadata/labels",
        json!({"app": "x"}),
    );
    assert_eq!(
        update("Deployment", new.clone(), deploy()),
        vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"]
    );
    assert_eq!(update("ReplicaSet", new, deploy()).len(), 1);
    assert!(update(
        "Deployment",
        set(deploy(), "/spec", "replicas", json!(7)),
        deploy()
    )
    .is_empty());
}

#[test]
fn replicaset_rules() {
    assert!(create("ReplicaSet", deploy()).is_empty());
    let e = create(
        "ReplicaSet",
        with(deploy(), "/spec/selector", json!({"matchLabels": {}})),
    );
    assert_eq!(e, vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"]);
    let e = create(
        "ReplicaSet",
        set(deploy(), "/spec", "minReadySeconds", json!(-1)),
    );
    assert_eq!(
        e,
        vec!["spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"]
    );
    let e = create(
        "ReplicaSet",
        set(
            deploy(),
            "/spec/template/spec",
            "activeDeadlineSeconds",
            json!(5),
        ),
    );
    assert_eq!(e, vec!["spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"]);
}

#[test]
fn statefulset_names_longer_than_52_are_refused() {
    let mut sts = serde_json::json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "a".repeat(53), "namespace": "default"},
        "spec": {"serviceName": "s", "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    crate::defaults::apply_defaults("StatefulSet", &mut sts);
    let errs = crate::validation::validate_create("StatefulSet", &sts);
    assert!(
        errs.iter().any(|c| c.field == "metadata.name"
            && c.message.contains("must be no more than 52 characters")),
        "{errs:?}"
    );
    sts["metadata"]["name"] = serde_json::json!("a".repeat(52));
    assert!(crate::validation::validate_create("StatefulSet", &sts).is_empty());
}
