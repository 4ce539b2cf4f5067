use super::*;
use serde_json::json;

fn node() -> NodeAllocatable {
    NodeAllocatable {
        cpu_millis: 2000,
        memory_bytes: 4 << 30,
        ephemeral_storage_bytes: 100 << 30,
    }
}

fn pod(volumes: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {
            "name": "web-0", "namespace": "prod", "uid": "u-1",
            "labels": {"app": "web", "tier": "front"},
            "annotations": {"note": "say \"hi\"\n"},
            "creationTimestamp": "2026-11-25T17:00:00Z",
        },
        "spec": {
            "serviceAccountName": "robot",
            "containers": [{
                "name": "c",
                "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m"}},
            }, {"name": "free"}],
            "volumes": volumes,
        }
    }))
    .unwrap()
}

fn objects() -> Objects {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "cfg", "namespace": "prod"},
        "data": {"greeting": "hello", "other": "x"},
        "binaryData": {"bin": "AAE="},
    }))
    .unwrap();
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": "creds", "namespace": "prod"},
        "data": {"password": "czNjcjN0"},
    }))
    .unwrap();
    Objects {
        config_maps: [("cfg".to_string(), cm)].into(),
        secrets: [("creds".to_string(), s)].into(),
        tokens: [("vault|3600".to_string(), b"signed.jwt.token".to_vec())].into(),
    }
}

fn files(p: &Payload) -> Vec<(String, String, u32)> {
    p.iter()
        .map(|(k, f)| {
            (
                k.clone(),
                String::from_utf8_lossy(&f.data).into_owned(),
                f.mode,
            )
        })
        .collect()
}

fn one(volume: serde_json::Value, objects: &Objects) -> anyhow::Result<Payload> {
    let p = pod(json!([volume]));
    let v = &p.spec.as_ref().unwrap().volumes.as_ref().unwrap()[0];
    Ok(payload(&p, v, objects, &node())?.expect("a projected volume"))
}

#[test]
fn downward_api_shows_metadata_and_resources() {
    let p = one(
        json!({"name": "info", "downwardAPI": {"defaultMode": 0o600, "items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}, "mode": 0o644},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "meta/ns", "fieldRef": {"fieldPath": "metadata.namespace"}},
            {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
            {"path": "app", "fieldRef": {"fieldPath": "metadata.labels['app']"}},
            {"path": "cpu_limit", "resourceFieldRef": {"containerName": "c", "resource": "limits.cpu", "divisor": "1m"}},
            {"path": "cpu_request", "resourceFieldRef": {"containerName": "c", "resource": "requests.cpu", "divisor": "1m"}},
            {"path": "cpu_cores", "resourceFieldRef": {"containerName": "c", "resource": "limits.cpu"}},
            {"path": "mem_limit", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}},
            {"path": "mem_request", "resourceFieldRef": {"containerName": "c", "resource": "requests.memory"}},
            {"path": "free_mem", "resourceFieldRef": {"containerName": "free", "resource": "limits.memory", "divisor": "1Gi"}},
            {"path": "free_cpu", "resourceFieldRef": {"containerName": "free", "resource": "limits.cpu"}},
        ]}}),
        &Objects::default(),
    )
    .unwrap();
    let s = |v: &str| v.to_string();
    assert_eq!(
        files(&p),
        [
            (s("annotations"), s(r#"note="say \"hi\"\n""#), 0o644),
            (s("app"), s("web"), 0o600),
            (s("cpu_cores"), s("1"), 0o600),
            (s("cpu_limit"), s("500"), 0o600),
            (s("cpu_request"), s("250"), 0o600),
            (s("free_cpu"), s("2"), 0o600),
            (s("free_mem"), s("4"), 0o600),
            (s("labels"), s("app=\"web\"\ntier=\"front\""), 0o600),
            (s("mem_limit"), s("64"), 0o600),
            (s("mem_request"), s("67108864"), 0o600),
            (s("meta/ns"), s("prod"), 0o600),
            (s("name"), s("web-0"), 0o600),
            (s("uid"), s("u-1"), 0o600),
        ]
    );
    let bad = one(
        json!({"name": "info", "downwardAPI": {"items": [
            {"path": "ip", "fieldRef": {"fieldPath": "status.podIP"}},
        ]}}),
        &Objects::default(),
    );
    assert!(bad.is_err());
    let no_container = one(
        json!({"name": "info", "downwardAPI": {"items": [
            {"path": "x", "resourceFieldRef": {"containerName": "nope", "resource": "limits.cpu"}},
        ]}}),
        &Objects::default(),
    );
    assert!(no_container.is_err());
}

#[test]
fn projected_combines_sources_with_one_default_mode() {
    let p = one(
        json!({"name": "all", "projected": {"defaultMode": 0o440, "sources": [
            {"configMap": {"name": "cfg", "items": [{"key": "greeting", "path": "cfg/greeting"}]}},
            {"secret": {"name": "creds", "items": [{"key": "password", "path": "pw", "mode": 0o400}]}},
            {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
            {"configMap": {"name": "absent", "optional": true}},
            {"serviceAccountToken": {"path": "token", "audience": "vault"}},
        ]}}),
        &objects(),
    )
    .unwrap();
    let names: Vec<(String, u32)> = p.iter().map(|(k, f)| (k.clone(), f.mode)).collect();
    assert_eq!(
        names,
        [
            ("cfg/greeting".to_string(), 0o440),
            ("labels".into(), 0o440),
            ("pw".into(), 0o400),
            ("token".into(), 0o440),
        ]
    );
    assert_eq!(p["cfg/greeting"].data, b"hello");
    assert_eq!(p["pw"].data, b"s3cr3t");
    // The token is the one the API issued for the projection's audience and lifetime.
    assert_eq!(p["token"].data, b"signed.jwt.token");
    let no_token = one(
        json!({"name": "t", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "audience": "other"}},
        ]}}),
        &objects(),
    );
    assert!(no_token
        .unwrap_err()
        .to_string()
        .contains("failed to fetch token"));
    // Missing non-optional sources are errors.
    let missing = one(
        json!({"name": "all", "projected": {"sources": [{"secret": {"name": "absent"}}]}}),
        &objects(),
    );
    assert!(missing.is_err());
}

#[test]
fn config_maps_and_secrets_follow_items_optional_and_modes() {
    let all = one(
        json!({"name": "c", "configMap": {"name": "cfg"}}),
        &objects(),
    )
    .unwrap();
    assert_eq!(
        files(&all)
            .into_iter()
            .map(|(k, _, m)| (k, m))
            .collect::<Vec<_>>(),
        [
            ("bin".to_string(), 0o644),
            ("greeting".into(), 0o644),
            ("other".into(), 0o644)
        ]
    );
    assert_eq!(all["bin"].data, [0u8, 1]);
    let some = one(
        json!({"name": "c", "configMap": {"name": "cfg", "defaultMode": 0o600, "items": [
            {"key": "greeting", "path": "a/b"}, {"key": "other", "path": "o", "mode": 0o755}]}}),
        &objects(),
    )
    .unwrap();
    assert_eq!(
        files(&some),
        [
            ("a/b".to_string(), "hello".to_string(), 0o600),
            ("o".into(), "x".into(), 0o755)
        ]
    );
    let no_key =
        json!({"name": "c", "configMap": {"name": "cfg", "items": [{"key": "nope", "path": "n"}]}});
    assert!(one(no_key, &objects()).is_err());
    let optional_key = json!({"name": "c", "configMap": {"name": "cfg", "optional": true,
        "items": [{"key": "nope", "path": "n"}]}});
    assert!(one(optional_key, &objects()).unwrap().is_empty());
    assert!(one(
        json!({"name": "s", "secret": {"secretName": "gone"}}),
        &objects()
    )
    .is_err());
    let optional = json!({"name": "s", "secret": {"secretName": "gone", "optional": true}});
    assert!(one(optional, &objects()).unwrap().is_empty());
    let escape = json!({"name": "c", "configMap": {"name": "cfg", "items": [{"key": "other", "path": "../o"}]}});
    assert!(one(escape, &objects()).is_err());
    let sec = one(
        json!({"name": "s", "secret": {"secretName": "creds"}}),
        &objects(),
    )
    .unwrap();
    assert_eq!(sec["password"].data, b"s3cr3t");
}

#[test]
fn volume_kinds_and_what_they_read() {
    let p = pod(json!([
        {"name": "e", "emptyDir": {}},
        {"name": "s", "secret": {"secretName": "creds"}},
        {"name": "p", "projected": {"sources": [
            {"configMap": {"name": "cfg"}}, {"secret": {"name": "more"}},
            {"downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}},
        {"name": "d", "downwardAPI": {"items": [
            {"path": "c", "resourceFieldRef": {"containerName": "c", "resource": "limits.cpu"}}]}},
    ]));
    let v = p.spec.as_ref().unwrap().volumes.as_ref().unwrap();
    assert_eq!(
        v.iter().map(is_projected).collect::<Vec<_>>(),
        [false, true, true, true]
    );
    assert_eq!(
        v.iter().map(on_tmpfs).collect::<Vec<_>>(),
        [false, true, true, false]
    );
    assert_eq!(
        v.iter().map(reads_pod_metadata).collect::<Vec<_>>(),
        [false, false, true, false]
    );
    assert_eq!(
        references(&v[2]),
        (vec!["cfg".to_string()], vec!["more".to_string()])
    );
    assert!(payload(&p, &v[0], &Objects::default(), &node())
        .unwrap()
        .is_none());
}

#[test]
fn labels_are_quoted_as_go_does() {
    assert_eq!(go_quote("plain"), "\"plain\"");
    assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(go_quote("tab\there\n"), r#""tab\there\n""#);
    assert_eq!(go_quote("\u{1}é"), "\"\\x01é\"");
    assert_eq!(format_map(None), "");
}
