//! Cross-checks with k8s-pb's prost structs: bodies prost encodes decode to the expected JSON,
//! and what the codec encodes prost decodes back to the same struct.

use super::*;
use k8s_pb::api::batch::v1 as batch;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::policy::v1 as policy;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::json;

/// The body kubectl sends for `msg`: magic and `Unknown`.
fn body_of(api_version: &str, kind: &str, msg: &impl Message) -> Vec<u8> {
    let unknown = k8s_pb::apimachinery::pkg::runtime::Unknown {
        type_meta: Some(k8s_pb::apimachinery::pkg::runtime::TypeMeta {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
        }),
        raw: Some(msg.encode_to_vec()),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    [MAGIC.to_vec(), unknown.encode_to_vec()].concat()
}

/// The object message inside an encoded body.
fn raw_of(encoded: &[u8]) -> (String, String, Vec<u8>) {
    let u = k8s_pb::apimachinery::pkg::runtime::Unknown::decode(&encoded[MAGIC.len()..]).unwrap();
    let tm = u.type_meta.unwrap();
    (tm.api_version.unwrap(), tm.kind.unwrap(), u.raw.unwrap())
}

fn meta_named(name: &str) -> Option<meta::ObjectMeta> {
    Some(meta::ObjectMeta {
        name: Some(name.into()),
        ..Default::default()
    })
}

fn pod_spec(image: &str, restart: &str) -> Option<core::PodSpec> {
    Some(core::PodSpec {
        containers: vec![core::Container {
            name: Some("c".into()),
            image: Some(image.into()),
            resources: Some(core::ResourceRequirements {
                limits: [(
                    "memory".to_string(),
                    Quantity {
                        string: Some("64Mi".into()),
                    },
                )]
                .into(),
                ..Default::default()
            }),
            ..Default::default()
        }],
        restart_policy: Some(restart.into()),
        termination_grace_period_seconds: Some(0),
        ..Default::default()
    })
}

/// A CronJob as `kubectl create cronjob` builds it: decoded, then encoded back to the same struct.
#[test]
fn a_cronjob_round_trips_through_k8s_pb() {
    let cj = batch::CronJob {
        metadata: meta_named("tick"),
        spec: Some(batch::CronJobSpec {
            schedule: Some("*/5 * * * *".into()),
            suspend: Some(false),
            job_template: Some(batch::JobTemplateSpec {
                metadata: meta_named("tick"),
                spec: Some(batch::JobSpec {
                    backoff_limit: Some(0),
                    template: Some(core::PodTemplateSpec {
                        metadata: None,
                        spec: pod_spec("busybox", "OnFailure"),
                    }),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }),
        status: None,
    };
    let v = decode(&body_of("batch/v1", "CronJob", &cj)).unwrap();
    assert_eq!(v["spec"]["schedule"], "*/5 * * * *");
    assert_eq!(v["spec"]["suspend"], false);
    let job = &v["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["backoffLimit"], 0);
    assert_eq!(job["template"]["spec"]["terminationGracePeriodSeconds"], 0);
    assert_eq!(
        job["template"]["spec"]["containers"][0]["resources"],
        json!({"limits": {"memory": "64Mi"}})
    );
    let encoded = encode(&v).unwrap();
    let (api_version, kind, raw) = raw_of(&encoded);
    assert_eq!(
        (api_version.as_str(), kind.as_str()),
        ("batch/v1", "CronJob")
    );
    assert_eq!(batch::CronJob::decode(raw.as_slice()).unwrap(), cj);
}

/// A PodDisruptionBudget (IntOrString) and a ResourceQuota (map of quantities) round trip.
#[test]
fn int_or_string_and_quantity_maps_round_trip() {
    let pdb = policy::PodDisruptionBudget {
        metadata: meta_named("pdb"),
        spec: Some(policy::PodDisruptionBudgetSpec {
            min_available: Some(IntOrString {
                r#type: Some(1),
                int_val: Some(0),
                str_val: Some("50%".into()),
            }),
            max_unavailable: None,
            selector: Some(meta::LabelSelector {
                match_labels: [("app".to_string(), "web".to_string())].into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: None,
    };
    let v = decode(&body_of("policy/v1", "PodDisruptionBudget", &pdb)).unwrap();
    assert_eq!(
        v["spec"],
        json!({"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}})
    );
    let (_, _, raw) = raw_of(&encode(&v).unwrap());
    assert_eq!(
        policy::PodDisruptionBudget::decode(raw.as_slice()).unwrap(),
        pdb
    );

    let quota = core::ResourceQuota {
        metadata: meta_named("q"),
        spec: Some(core::ResourceQuotaSpec {
            hard: [
                (
                    "pods".to_string(),
                    Quantity {
                        string: Some("10".into()),
                    },
                ),
                (
                    "requests.cpu".to_string(),
                    Quantity {
                        string: Some("2".into()),
                    },
                ),
            ]
            .into(),
            scopes: vec!["BestEffort".into()],
            ..Default::default()
        }),
        status: None,
    };
    let v = decode(&body_of("v1", "ResourceQuota", &quota)).unwrap();
    assert_eq!(
        v["spec"],
        json!({"hard": {"pods": "10", "requests.cpu": "2"}, "scopes": ["BestEffort"]})
    );
    let (_, _, raw) = raw_of(&encode(&v).unwrap());
    assert_eq!(core::ResourceQuota::decode(raw.as_slice()).unwrap(), quota);
}

/// Times, inline structs (a volume's source, a probe's handler), RawExtension and lists.
#[test]
fn times_inline_structs_raw_extensions_and_lists_round_trip() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "p", "namespace": "default", "uid": "u-1", "resourceVersion": "7",
            "creationTimestamp": "2023-11-14T22:13:20Z",
            "labels": {"app": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-0", "controller": true}],
            "managedFields": [{"manager": "kubectl", "operation": "Update", "time": "2023-11-14T22:13:20Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]
        },
        "spec": {
            "volumes": [{"name": "cfg", "configMap": {"name": "my-config", "defaultMode": 420}}],
            "containers": [{
                "name": "c", "image": "nginx",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "initialDelaySeconds": 5},
                "resources": {}
            }],
            "securityContext": {"supplementalGroups": [1, 2, 3]}
        },
        "status": {
            "phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}],
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2023-11-14T22:13:21Z"}],
            "containerStatuses": [{"name": "c", "ready": true, "restartCount": 0, "image": "nginx", "imageID": "", "started": true,
                "state": {"running": {"startedAt": "2023-11-14T22:13:21Z"}}}]
        }
    });
    let list = json!({
        "apiVersion": "v1", "kind": "PodList",
        "metadata": {"resourceVersion": "9"},
        "items": [pod.clone()]
    });
    let encoded = encode(&list).unwrap();
    // prost reads what the codec wrote.
    let (_, kind, raw) = raw_of(&encoded);
    assert_eq!(kind, "PodList");
    let typed = core::PodList::decode(raw.as_slice()).unwrap();
    let p = &typed.items[0];
    let m = p.metadata.as_ref().unwrap();
    assert_eq!(
        m.creation_timestamp.as_ref().unwrap().seconds,
        Some(1_700_000_000)
    );
    assert_eq!(
        m.managed_fields[0]
            .fields_v1
            .as_ref()
            .unwrap()
            .raw
            .as_deref(),
        Some(&br#"{"f:metadata":{}}"#[..])
    );
    let vol = &p.spec.as_ref().unwrap().volumes[0];
    let cm = vol
        .volume_source
        .as_ref()
        .unwrap()
        .config_map
        .as_ref()
        .unwrap();
    assert_eq!(cm.default_mode, Some(420));
    assert_eq!(
        p.status.as_ref().unwrap().pod_ip.as_deref(),
        Some("10.0.0.5")
    );
    // And decoding gives the JSON back, with each item's apiVersion/kind left out as upstream.
    let mut back = decode(&encoded).unwrap();
    let mut expected = list.clone();
    expected["items"][0]
        .as_object_mut()
        .unwrap()
        .remove("apiVersion");
    expected["items"][0].as_object_mut().unwrap().remove("kind");
    // `imageID: ""` is required in the API and kept; `restartCount: 0` likewise.
    back["items"][0]["status"]["containerStatuses"][0]
        .as_object_mut()
        .unwrap()
        .remove("imageID");
    expected["items"][0]["status"]["containerStatuses"][0]
        .as_object_mut()
        .unwrap()
        .remove("imageID");
    assert_eq!(back, expected);
}

/// A watch frame: length, then a `WatchEvent` whose object is a full protobuf body.
#[test]
fn watch_frames_hold_an_embedded_object() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
    let frame = watch_frame("ADDED", &cm).unwrap();
    let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
    assert_eq!(len, frame.len() - 4);
    let ev = meta::WatchEvent::decode(&frame[4..]).unwrap();
    assert_eq!(ev.r#type.as_deref(), Some("ADDED"));
    let inner = ev.object.unwrap().raw.unwrap();
    assert_eq!(decode(&inner).unwrap(), cm);
}

/// Status (errors) encode under `v1`, as upstream serves them to protobuf clients.
#[test]
fn statuses_and_accept_headers() {
    let st = json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
        "message": "pods \"x\" not found", "reason": "NotFound", "details": {"name": "x", "kind": "pods"}, "code": 404});
    let (_, _, raw) = raw_of(&encode(&st).unwrap());
    let s = meta::Status::decode(raw.as_slice()).unwrap();
    assert_eq!((s.code, s.reason.as_deref()), (Some(404), Some("NotFound")));
    assert!(encode(&json!({"apiVersion": "meta.k8s.io/v1", "kind": "Table"})).is_err());
    assert_eq!(
        accept("application/vnd.kubernetes.protobuf, */*"),
        Accept::Protobuf
    );
    assert_eq!(
        accept("application/vnd.kubernetes.protobuf"),
        Accept::ProtobufOnly
    );
    assert_eq!(
        accept("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"),
        Accept::Json
    );
    assert_eq!(
        accept("application/json, application/vnd.kubernetes.protobuf"),
        Accept::Json
    );
    assert_eq!(accept(""), Accept::Json);
}
