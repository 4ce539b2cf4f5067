use super::*;
use serde_json::json;

fn schema() -> serde_json::Value {
    json!({"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
            "size": {"type": "string", "enum": ["small", "large"]},
            "name": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2, "maxLength": 5},
            "port": {"x-kubernetes-int-or-string": true},
            "tags": {"type": "array", "maxItems": 2, "x-kubernetes-list-type": "set",
                     "items": {"type": "string"}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "properties": {
                          "name": {"type": "string"}, "port": {"type": "integer"}}}},
            "when": {"type": "string", "format": "date-time"},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                         "properties": {"spec": {"type": "object"}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "nested": {"type": "object", "default": {}, "properties": {
                "mode": {"type": "string", "default": "fast"}}}
        }},
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
    }})
}

fn messages(obj: serde_json::Value) -> Vec<String> {
    let mut o = obj;
    prepare(&schema(), &mut o, None)
        .into_iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect()
}

#[test]
fn type_errors_read_as_upstream() {
    assert_eq!(
        messages(json!({"spec": {"size": "small", "replicas": "three"}})),
        ["spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""]
    );
    assert_eq!(
        messages(json!({"spec": {"size": "small", "port": true}})),
        ["spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\""]
    );
    assert!(messages(json!({"spec": {"size": "small", "port": "http"}})).is_empty());
    assert!(messages(json!({"spec": {"size": "small", "port": 80}})).is_empty());
}

#[test]
fn value_rules_read_as_upstream() {
    assert_eq!(
        messages(json!({"spec": {"size": "medium"}})),
        ["spec.size: Unsupported value: \"medium\": supported values: \"small\", \"large\""]
    );
    assert_eq!(messages(json!({"spec": {}})), ["spec.size: Required value"]);
    assert_eq!(
        messages(json!({"spec": {"size": "small", "replicas": 0}})),
        ["spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"]
    );
    assert_eq!(
        messages(json!({"spec": {"size": "small", "replicas": 11}})),
        ["spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"]
    );
    assert_eq!(
        messages(json!({"spec": {"size": "small", "name": "A1"}})),
        ["spec.name: Invalid value: \"A1\": spec.name in body should match '^[a-z]+$'"]
    );
    assert_eq!(
        messages(json!({"spec": {"size": "small", "name": "a"}})),
        ["spec.name: Invalid value: \"a\": spec.name in body should be at least 2 chars long"]
    );
    assert_eq!(
        messages(json!({"spec": {"size": "small", "name": "abcdef"}})),
        ["spec.name: Too long: may not be more than 5 bytes"]
    );
    assert_eq!(
        messages(json!({"spec": {"size": "small", "when": "yesterday"}})),
        ["spec.when: Invalid value: \"yesterday\": spec.when in body must be of type date-time: \"yesterday\""]
    );
    assert_eq!(
        messages(json!({"spec": {"size": "small", "tags": ["a", "b", "c"]}})),
        ["spec.tags: Too many: 3: must have at most 2 items"]
    );
}

#[test]
fn list_types_and_embedded_resources() {
    assert_eq!(
        messages(json!({"spec": {"size": "small", "tags": ["a", "a"]}})),
        ["spec.tags[1]: Duplicate value: \"a\""]
    );
    assert_eq!(
        messages(json!({"spec": {"size": "small",
            "ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]}})),
        ["spec.ports[1]: Duplicate value: map[string]interface {}{\"name\":\"a\"}"]
    );
    assert_eq!(
        messages(json!({"spec": {"size": "small", "template": {"spec": {}}}})),
        [
            "spec.template.apiVersion: Required value",
            "spec.template.kind: Required value"
        ]
    );
}

#[test]
fn pruning_keeps_declared_and_preserved_fields() {
    let mut o = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
        "unknown": 1,
        "spec": {"size": "small", "bogus": true, "extra": {"anything": {"goes": 1}},
                 "labels": {"a": "b"},
                 "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                              "spec": {}, "junk": 1}},
        "status": {"ready": true, "other": 1}});
    let pruned = prune(&schema(), &mut o);
    assert_eq!(
        pruned,
        [
            "unknown",
            "spec.bogus",
            "spec.template.junk",
            "status.other"
        ]
    );
    assert_eq!(
        o,
        json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"size": "small", "extra": {"anything": {"goes": 1}}, "labels": {"a": "b"},
                     "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                  "spec": {}}},
            "status": {"ready": true}})
    );
}

#[test]
fn defaults_fill_missing_fields() {
    let mut o = json!({"spec": {"size": "small", "replicas": null}});
    assert!(prepare(&schema(), &mut o, None).is_empty());
    assert_eq!(o["spec"]["replicas"], 1);
    assert_eq!(o["spec"]["nested"], json!({"mode": "fast"}));
    let mut kept = json!({"spec": {"size": "small", "replicas": 3, "nested": {"mode": "slow"}}});
    apply_defaults(&schema(), &mut kept);
    assert_eq!(kept["spec"]["replicas"], 3);
    assert_eq!(kept["spec"]["nested"]["mode"], "slow");
}

#[test]
fn go_floats() {
    use super::validate::go_float;
    assert_eq!(go_float(1.0), "1");
    assert_eq!(go_float(1.5), "1.5");
    assert_eq!(go_float(0.00001), "1e-05");
    assert_eq!(go_float(1000000.0), "1e+06");
    assert_eq!(go_float(123456.0), "123456");
}

#[test]
fn cel_rules_read_as_upstream() {
    let s = json!({"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [
            {"rule": "self.min <= self.max", "message": "min must not exceed max"},
            {"rule": "self.max <= 100"},
            {"rule": "self.max >= oldSelf.max", "message": "max may not shrink", "fieldPath": ".max",
             "reason": "FieldValueForbidden"}],
        "properties": {"min": {"type": "integer"}, "max": {"type": "integer"},
                       "name": {"type": "string", "x-kubernetes-validations": [
                           {"rule": "self.startsWith('w')", "messageExpression": "'name ' + self + ' must start with w'"}]}}}}});
    let msgs = |o: serde_json::Value, old: Option<serde_json::Value>| -> Vec<String> {
        let mut o = o;
        prepare(&s, &mut o, old.as_ref())
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    };
    assert!(msgs(json!({"spec": {"min": 1, "max": 2}}), None).is_empty());
    assert_eq!(
        msgs(json!({"spec": {"min": 300, "max": 200, "name": "x"}}), None),
        [
            "spec: Invalid value: \"object\": min must not exceed max",
            "spec: Invalid value: \"object\": failed rule: self.max <= 100",
            "spec.name: Invalid value: \"string\": name x must start with w",
        ]
    );
    assert_eq!(
        msgs(
            json!({"spec": {"min": 1, "max": 5}}),
            Some(json!({"spec": {"min": 1, "max": 9}}))
        ),
        ["spec.max: Forbidden: max may not shrink"]
    );
}
