//! End-to-end with the real kubectl: CustomResourceDefinitions (`apiextensions.k8s.io/v1`)
//! and their custom resources: discovery, printer columns, structural schema validation with
//! upstream's messages, pruning, defaulting, the status and scale subresources, selectors,
//! watches, finalizers, OpenAPI (`kubectl explain`), garbage collection and the removal of a
//! CRD's objects when it is deleted.

mod common;
use common::*;
use serde_json::Value;

const WIDGETS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    selectableFields:
    - jsonPath: .spec.size
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    additionalPrinterColumns:
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Size
      type: string
      jsonPath: .spec.size
    - name: Ready
      type: string
      jsonPath: .status.conditions[?(@.type=="Ready")].status
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What a widget should be.
            required: [size]
            x-kubernetes-validations:
            - rule: self.replicas <= 10
              message: at most 10 replicas
            properties:
              replicas:
                type: integer
                minimum: 0
                default: 1
              size:
                type: string
                enum: [small, large]
              color:
                type: string
                pattern: '^[a-z]+$'
                default: blue
          status:
            type: object
            properties:
              replicas:
                type: integer
              selector:
                type: string
              conditions:
                type: array
                items:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
"#;

fn widget(name: &str, spec: &str) -> String {
    format!("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\nspec:\n{spec}")
}

fn json_of(s: &Server, args: &[&str]) -> Value {
    serde_json::from_str(&s.ok(args)).unwrap()
}

fn stderr_of_apply(s: &Server, manifest: &str, extra: &[&str]) -> String {
    let mut args = vec!["apply", "-f", "-"];
    args.extend_from_slice(extra);
    let out = s.kubectl_stdin(&args, Some(manifest));
    assert!(!out.status.success(), "apply unexpectedly succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn custom_resources_are_served_validated_and_removed_with_their_crd() {
    let s = Server::start();
    s.apply(WIDGETS);
    s.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=10s",
    ]);
    let crd = json_of(&s, &["get", "crd", "widgets.example.com", "-o", "json"]);
    let conditions = crd["status"]["conditions"].as_array().unwrap();
    assert!(conditions.iter().any(|c| c["type"] == "NamesAccepted"
        && c["status"] == "True"
        && c["reason"] == "NoConflicts"));
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    assert_eq!(crd["status"]["storedVersions"], serde_json::json!(["v1"]));
    assert_eq!(crd["spec"]["names"]["listKind"], "WidgetList");
    let rows = table(&s.ok(&["get", "crd"]));
    assert_eq!(rows[0], ["NAME", "CREATED", "AT"]);
    assert_eq!(rows[1][0], "widgets.example.com");

    // Discovery: api-resources, short name, category.
    let rows = table(&s.ok(&["api-resources", "--api-group=example.com"]));
    assert_eq!(
        rows[1],
        ["widgets", "wd", "example.com/v1", "true", "Widget"]
    );

    // CRD validation with upstream's messages.
    let bad = WIDGETS.replace("name: widgets.example.com", "name: widget.example.com");
    let err = stderr_of_apply(&s, &bad, &[]);
    assert!(
        err.contains("metadata.name: Invalid value: \"widget.example.com\": must be spec.names.plural+\".\"+spec.group"),
        "{err}"
    );
    let bad = WIDGETS.replace("storage: true", "storage: false");
    let err = stderr_of_apply(&s, &bad, &[]);
    assert!(
        err.contains("must have exactly one version marked as storage version"),
        "{err}"
    );

    // Objects: printer columns, defaults.
    s.apply(&widget("w1", "  size: small\n  replicas: 2\n"));
    let rows = table(&s.ok(&["get", "wd"]));
    assert_eq!(rows[0], ["NAME", "REPLICAS", "SIZE", "READY", "AGE"]);
    // No Ready condition yet: an empty cell, as upstream's nil.
    assert_eq!(rows[1].len(), 4, "{rows:?}");
    assert_eq!(&rows[1][..3], ["w1", "2", "small"]);
    let w1 = json_of(&s, &["get", "widget", "w1", "-o", "json"]);
    assert_eq!(w1["spec"]["color"], "blue", "defaulted");
    assert_eq!(w1["metadata"]["generation"], 1);

    // Invalid objects get upstream's messages.
    let err = stderr_of_apply(
        &s,
        &widget("bad", "  size: small\n  replicas: three\n"),
        &[],
    );
    assert!(
        err.contains("The Widget \"bad\" is invalid: spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""),
        "{err}"
    );
    let err = stderr_of_apply(&s, &widget("bad", "  size: medium\n"), &[]);
    assert!(
        err.contains(
            "spec.size: Unsupported value: \"medium\": supported values: \"small\", \"large\""
        ),
        "{err}"
    );
    let err = stderr_of_apply(&s, &widget("bad", "  replicas: 1\n"), &[]);
    assert!(err.contains("spec.size: Required value"), "{err}");
    let err = stderr_of_apply(&s, &widget("bad", "  size: small\n  color: Red\n"), &[]);
    assert!(
        err.contains(
            "spec.color: Invalid value: \"Red\": spec.color in body should match '^[a-z]+$'"
        ),
        "{err}"
    );
    let err = stderr_of_apply(&s, &widget("bad", "  size: small\n  replicas: -1\n"), &[]);
    assert!(
        err.contains("spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"),
        "{err}"
    );

    let err = stderr_of_apply(&s, &widget("bad", "  size: small\n  replicas: 11\n"), &[]);
    assert!(
        err.contains(
            "The Widget \"bad\" is invalid: spec: Invalid value: \"object\": at most 10 replicas"
        ),
        "{err}"
    );

    // Unknown fields: refused with strict validation, pruned otherwise.
    let err = stderr_of_apply(&s, &widget("w2", "  size: large\n  bogus: 1\n"), &[]);
    assert!(err.contains("unknown field \"spec.bogus\""), "{err}");
    s.ok_stdin(
        &["apply", "--validate=false", "-f", "-"],
        &widget("w2", "  size: large\n  bogus: 1\n"),
    );
    let w2 = json_of(&s, &["get", "wd", "w2", "-o", "json"]);
    assert!(w2["spec"].get("bogus").is_none(), "{w2}");
    assert_eq!(w2["spec"]["replicas"], 1);

    // Selectors.
    let names = s.ok(&["get", "widgets", "-l", "app=w2", "-o", "name"]);
    assert_eq!(names.trim(), "widget.example.com/w2");
    let names = s.ok(&[
        "get",
        "widgets",
        "--field-selector",
        "metadata.name=w1",
        "-o",
        "name",
    ]);
    assert_eq!(names.trim(), "widget.example.com/w1");
    assert!(s.ok(&["get", "all"]).contains("widget.example.com/w1"));
    let names = s.ok(&[
        "get",
        "widgets",
        "--field-selector",
        "spec.size=large",
        "-o",
        "name",
    ]);
    assert_eq!(names.trim(), "widget.example.com/w2");
    let err = s.fails(&["get", "widgets", "--field-selector", "spec.color=blue"]);
    assert!(
        err.contains("field label not supported: spec.color"),
        "{err}"
    );

    // Scale and status subresources; generation follows spec changes only.
    s.ok(&["scale", "widget", "w1", "--replicas=5"]);
    let w1 = json_of(&s, &["get", "wd", "w1", "-o", "json"]);
    assert_eq!(w1["spec"]["replicas"], 5);
    assert_eq!(w1["metadata"]["generation"], 2);
    s.ok(&[
        "patch",
        "widget",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":5,"selector":"app=w1","conditions":[{"type":"Ready","status":"True"}]}}"#,
    ]);
    let w1 = json_of(&s, &["get", "wd", "w1", "-o", "json"]);
    assert_eq!(w1["metadata"]["generation"], 2);
    assert_eq!(w1["status"]["replicas"], 5);
    let scale = json_of(
        &s,
        &[
            "get",
            "--raw",
            "/apis/example.com/v1/namespaces/default/widgets/w1/scale",
        ],
    );
    assert_eq!(scale["status"]["selector"], "app=w1");
    assert_eq!(scale["spec"]["replicas"], 5);
    let rows = table(&s.ok(&["get", "wd", "w1"]));
    assert_eq!(&rows[1][..4], ["w1", "5", "small", "True"]);
    // The main resource does not write status.
    s.ok(&[
        "patch",
        "wd",
        "w1",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":9}}"#,
    ]);
    assert_eq!(
        s.ok(&["get", "wd", "w1", "-o", "jsonpath={.status.replicas}"]),
        "5"
    );

    // Client-side apply again (a merge patch), describe, delete -f.
    let out = s.apply(&widget("w3", "  size: small\n"));
    assert!(out.contains("widget.example.com/w3 created"), "{out}");
    let out = s.apply(&widget("w3", "  size: large\n"));
    assert!(out.contains("widget.example.com/w3 configured"), "{out}");
    assert_eq!(
        s.ok(&["get", "wd", "w3", "-o", "jsonpath={.spec.size}"]),
        "large"
    );
    s.ok(&["label", "wd", "w3", "tier=gold"]);
    s.ok(&["annotate", "wd", "w3", "note=kept"]);
    assert_eq!(
        s.ok(&[
            "get",
            "wd",
            "-l",
            "tier=gold",
            "-o",
            "jsonpath={.items[*].metadata.annotations.note}"
        ]),
        "kept"
    );
    let out = s.ok_stdin(
        &["apply", "--server-side", "-f", "-"],
        &widget("w4", "  size: small\n"),
    );
    assert!(
        out.contains("widget.example.com/w4 serverside-applied"),
        "{out}"
    );
    assert_eq!(
        s.ok(&["get", "wd", "w4", "-o", "jsonpath={.spec.color}"]),
        "blue"
    );
    let described = s.ok(&["describe", "wd", "w1"]);
    assert!(described.contains("Kind:         Widget"), "{described}");
    let out = s.ok_stdin(&["delete", "-f", "-"], &widget("w3", "  size: large\n"));
    assert!(out.contains("widget.example.com \"w3\" deleted"), "{out}");

    // OpenAPI: kubectl explain.
    let explain = s.ok(&["explain", "widgets.spec"]);
    assert!(explain.contains("What a widget should be."), "{explain}");
    assert!(explain.contains("replicas"), "{explain}");

    // Finalizers and deletionTimestamp.
    s.apply(&widget("held", "  size: small\n").replace(
        "metadata:\n",
        "metadata:\n  finalizers: [example.com/hold]\n",
    ));
    s.ok(&["delete", "wd", "held", "--wait=false"]);
    let held = json_of(&s, &["get", "wd", "held", "-o", "json"]);
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    s.ok(&[
        "patch",
        "wd",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    s.eventually(10, "the held widget to go", || {
        !s.kubectl(&["get", "wd", "held"]).status.success()
    });

    // Garbage collection of a ConfigMap owned by a widget.
    let uid = s.ok(&["get", "wd", "w2", "-o", "jsonpath={.metadata.uid}"]);
    s.apply(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n  ownerReferences:\n  - apiVersion: example.com/v1\n    kind: Widget\n    name: w2\n    uid: {uid}\n"
    ));
    s.ok(&["delete", "wd", "w2"]);
    s.eventually(20, "the owned ConfigMap to be collected", || {
        !s.kubectl(&["get", "configmap", "owned"]).status.success()
    });
    // ... and of a widget owned by a ConfigMap.
    s.ok(&["create", "configmap", "owner"]);
    let uid = s.ok(&[
        "get",
        "configmap",
        "owner",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    s.apply(&widget("dependent", "  size: small\n").replace(
        "metadata:\n",
        &format!("metadata:\n  ownerReferences:\n  - {{apiVersion: v1, kind: ConfigMap, name: owner, uid: {uid}}}\n"),
    ));
    s.ok(&["delete", "configmap", "owner"]);
    s.eventually(20, "the dependent widget to be collected", || {
        !s.kubectl(&["get", "wd", "dependent"]).status.success()
    });

    // A namespace's custom objects go with it.
    s.ok(&["create", "namespace", "scratch"]);
    s.ok_stdin(
        &["apply", "-n", "scratch", "-f", "-"],
        &widget("w9", "  size: small\n"),
    );
    s.ok(&["delete", "namespace", "scratch", "--timeout=30s"]);
    assert!(!s.kubectl(&["get", "namespace", "scratch"]).status.success());

    // Strategic merge patches are refused for custom resources, as upstream.
    let err = s.fails(&["patch", "wd", "w1", "-p", r#"{"spec":{"replicas":3}}"#]);
    assert!(
        err.contains("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
        "{err}"
    );

    // Deleting the CRD deletes its objects, then the CRD, and the resource goes.
    s.ok(&["delete", "crd", "widgets.example.com", "--timeout=30s"]);
    s.eventually(10, "widgets to leave discovery", || {
        !s.ok(&["api-resources", "--api-group=example.com"])
            .contains("widgets")
    });
    s.apply(WIDGETS);
    s.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=10s",
    ]);
    assert_eq!(s.ok(&["get", "wd", "-o", "name"]).trim(), "");
}

#[test]
fn cluster_scoped_resources_and_watches() {
    let s = Server::start();
    s.apply(
        r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gizmos.tools.example.org
spec:
  group: tools.example.org
  scope: Cluster
  names: {plural: gizmos, kind: Gizmo}
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#,
    );
    s.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/gizmos.tools.example.org",
        "--timeout=10s",
    ]);
    let watch = common::sts::JsonWatch::start(&s, "gizmos", &[]);
    let beta_watch = common::sts::JsonWatch::start(&s, "gizmos.v1beta1.tools.example.org", &[]);
    s.apply("apiVersion: tools.example.org/v1\nkind: Gizmo\nmetadata: {name: g1}\nanything: {goes: 1}\n");
    let rows = table(&s.ok(&["get", "gizmos"]));
    assert_eq!(rows[0], ["NAME", "AGE"]);
    assert_eq!(rows[1][0], "g1");
    let g1 = json_of(&s, &["get", "gizmo", "g1", "-o", "json"]);
    assert_eq!(g1["anything"]["goes"], 1);
    assert!(g1["metadata"].get("namespace").is_none());
    // The other served version reads the same object, its apiVersion rewritten.
    let beta = json_of(
        &s,
        &["get", "--raw", "/apis/tools.example.org/v1beta1/gizmos/g1"],
    );
    assert_eq!(beta["apiVersion"], "tools.example.org/v1beta1");
    // The storage version moves to v1beta1: stored versions grow, objects read in any version.
    s.ok(&[
        "patch",
        "crd",
        "gizmos.tools.example.org",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/versions/0/storage","value":true},{"op":"replace","path":"/spec/versions/1/storage","value":false}]"#,
    ]);
    assert_eq!(
        s.ok(&[
            "get",
            "crd",
            "gizmos.tools.example.org",
            "-o",
            "jsonpath={.status.storedVersions}"
        ]),
        r#"["v1","v1beta1"]"#
    );
    let beta = json_of(
        &s,
        &["get", "--raw", "/apis/tools.example.org/v1beta1/gizmos/g1"],
    );
    assert_eq!(beta["apiVersion"], "tools.example.org/v1beta1");
    let v1 = json_of(&s, &["get", "gizmo", "g1", "-o", "json"]);
    assert_eq!(v1["apiVersion"], "tools.example.org/v1");
    assert_eq!(v1["anything"]["goes"], 1);
    s.eventually(10, "the watch to see g1", || {
        watch
            .values()
            .iter()
            .any(|e| e["type"] == "ADDED" && e["object"]["metadata"]["name"] == "g1")
    });
    s.eventually(10, "the v1beta1 watch to see g1 in its version", || {
        beta_watch.values().iter().any(|e| {
            e["type"] == "ADDED" && e["object"]["apiVersion"] == "tools.example.org/v1beta1"
        })
    });
    s.ok(&["delete", "gizmo", "g1"]);
    s.eventually(10, "the watch to see g1 deleted", || {
        watch
            .values()
            .iter()
            .any(|e| e["type"] == "DELETED" && e["object"]["metadata"]["name"] == "g1")
    });
}

#[test]
fn names_must_not_conflict_and_crds_survive_a_restart() {
    let s = Server::start();
    s.apply(WIDGETS);
    s.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.com",
        "--timeout=10s",
    ]);
    s.apply(&widget("w1", "  size: small\n"));
    // A second CRD of the group may not take a name in use.
    s.apply(
        r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, kind: Gadget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#,
    );
    let crd = json_of(&s, &["get", "crd", "gadgets.example.com", "-o", "json"]);
    let cond = |t: &str| {
        crd["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == t)
            .cloned()
            .unwrap()
    };
    assert_eq!(cond("NamesAccepted")["status"], "False");
    assert_eq!(cond("NamesAccepted")["reason"], "NameConflict");
    assert_eq!(cond("NamesAccepted")["message"], "\"wd\" is already in use");
    assert_eq!(cond("Established")["status"], "False");
    assert!(!s.kubectl(&["get", "gadgets"]).status.success());

    // A change of names is served at once.
    s.ok(&[
        "patch",
        "crd",
        "widgets.example.com",
        "--type=merge",
        "-p",
        r#"{"spec":{"names":{"shortNames":["wd","wdg"]}}}"#,
    ]);
    assert_eq!(
        s.ok(&["get", "wdg", "-o", "name"]).trim(),
        "widget.example.com/w1"
    );

    // After a restart the CRD is served again with its objects.
    let dir = s.kill9();
    let s = Server::start_in(dir, &[]);
    s.eventually(20, "widgets to be served after the restart", || {
        s.kubectl(&["get", "wd", "w1"]).status.success()
    });

    // A DELETE of the CRD collection cleans up each CRD as a DELETE of one does.
    s.ok(&[
        "delete",
        "--raw",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    ]);
    s.eventually(20, "every CRD to go", || {
        s.ok(&["get", "crd", "-o", "name"]).trim().is_empty()
    });
    assert!(!s.kubectl(&["get", "wd"]).status.success());
}
