//! Decisions of the binder, provisioner, protection and expansion on hand-made snapshots.

use super::binder::{find_best_match, MSG_WAIT_FOR_FIRST_CONSUMER};
use super::*;
use serde_json::{json, Value};
use std::path::Path;

fn obj<T: serde::de::DeserializeOwned>(v: Value) -> Arc<T> {
    Arc::new(serde_json::from_value(v).unwrap())
}

fn claim(name: &str, size: &str, class: Option<&str>) -> Value {
    let mut c = json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "resourceVersion": "7",
                     "finalizers": [PVC_PROTECTION]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"}
    });
    if let Some(cl) = class {
        c["spec"]["storageClassName"] = json!(cl);
    }
    c
}

fn volume(name: &str, size: &str, class: &str) -> Value {
    json!({
        "metadata": {"name": name, "resourceVersion": "3", "finalizers": [PV_PROTECTION]},
        "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}, "storageClassName": class,
                 "hostPath": {"path": format!("/srv/{name}")}, "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"},
        "status": {"phase": "Available"}
    })
}

fn local_path_class() -> Arc<StorageClass> {
    obj(
        json!({"metadata": {"name": "local-path"}, "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
               "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true}),
    )
}

fn pod(name: &str, claim: &str, node: Option<&str>) -> Arc<Pod> {
    obj(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("pod-{name}")},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}],
                 "volumes": [{"name": "www", "persistentVolumeClaim": {"claimName": claim}}]},
        "status": {"phase": "Running"}
    }))
}

fn world() -> World {
    World {
        classes: vec![local_path_class()],
        volumes_dir: "/data/volumes".into(),
        ..Default::default()
    }
}

fn pvc(v: Value) -> PersistentVolumeClaim {
    serde_json::from_value(v).unwrap()
}

fn pv(v: Value) -> PersistentVolume {
    serde_json::from_value(v).unwrap()
}

#[test]
fn quantities_and_host_paths() {
    assert_eq!(quantity_value(&Quantity("1Gi".into())), Some(1073741824.0));
    assert_eq!(
        quantity_value(&Quantity("1073741824".into())),
        Some(1073741824.0)
    );
    assert_eq!(quantity_value(&Quantity("500M".into())), Some(5e8));
    assert_eq!(quantity_value(&Quantity("1.5e3".into())), Some(1500.0));
    assert_eq!(quantity_value(&Quantity("1Qi".into())), None);
    assert_eq!(
        host_path(&pv(volume("a", "1Gi", "x"))),
        Some(PathBuf::from("/srv/a"))
    );
    let local = json!({"metadata": {"name": "l"}, "spec": {"local": {"path": "/mnt/l"}}});
    assert_eq!(host_path(&pv(local)), Some(PathBuf::from("/mnt/l")));
    assert_eq!(
        host_path(&pv(
            json!({"metadata": {"name": "n"}, "spec": {"nfs": {"server": "s", "path": "/"}}})
        )),
        None
    );
}

#[test]
fn matching_picks_the_smallest_fitting_available_volume() {
    let c = pvc(claim("c", "1Gi", Some("manual")));
    let vols = [
        pv(volume("small", "500Mi", "manual")),
        pv(volume("big", "10Gi", "manual")),
        pv(volume("fit", "2Gi", "manual")),
        pv(volume("other-class", "1Gi", "fast")),
    ];
    assert_eq!(
        find_best_match(&c, &vols, None, false)
            .unwrap()
            .metadata
            .name
            .as_deref(),
        Some("fit")
    );
    // Access modes must all be offered; phase must be Available; no claimRef to others.
    let mut rwx = pvc(claim("c", "1Gi", Some("manual")));
    rwx.spec.as_mut().unwrap().access_modes = Some(vec!["ReadWriteMany".into()]);
    assert!(find_best_match(&rwx, &vols, None, false).is_none());
    let mut released = volume("fit", "2Gi", "manual");
    released["status"]["phase"] = json!("Released");
    assert!(find_best_match(&c, &[pv(released)], None, false).is_none());
    // Selector.
    let mut sel = claim("c", "1Gi", Some("manual"));
    sel["spec"]["selector"] = json!({"matchLabels": {"tier": "db"}});
    let mut labelled = volume("db", "5Gi", "manual");
    labelled["metadata"]["labels"] = json!({"tier": "db"});
    let both = [pv(volume("fit", "2Gi", "manual")), pv(labelled)];
    assert_eq!(
        find_best_match(&pvc(sel), &both, None, false)
            .unwrap()
            .metadata
            .name
            .as_deref(),
        Some("db")
    );
}

#[test]
fn prebound_volumes_win_and_delayed_binding_needs_a_node() {
    let c = pvc(claim("c", "1Gi", Some("manual")));
    let mut pre = volume("pre", "5Gi", "manual");
    pre["spec"]["claimRef"] = json!({"name": "c", "namespace": "default", "uid": "uid-c"});
    pre["status"]["phase"] = json!("Pending");
    let vols = [pv(volume("fit", "1Gi", "manual")), pv(pre)];
    assert_eq!(
        find_best_match(&c, &vols, None, true)
            .unwrap()
            .metadata
            .name
            .as_deref(),
        Some("pre")
    );
    let unbound = [pv(volume("fit", "1Gi", "manual"))];
    assert!(find_best_match(&c, &unbound, None, true).is_none());
    let mut pinned = volume("pinned", "1Gi", "manual");
    pinned["spec"]["nodeAffinity"] = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-a"]}]}]}});
    let pinned = [pv(pinned)];
    let node = |n: &'static str| binder::NodeView {
        name: n,
        labels: [("kubernetes.io/hostname".to_string(), n.to_string())].into(),
    };
    assert!(find_best_match(&c, &pinned, Some(&node("node-a")), true).is_some());
    assert!(find_best_match(&c, &pinned, Some(&node("node-b")), true).is_none());
}

#[test]
fn wait_for_first_consumer_then_provision_on_its_node() {
    let mut w = world();
    w.claims = vec![obj(claim("www-web-0", "1Gi", Some("local-path")))];
    let steps = plan(&w);
    assert!(
        matches!(&steps[0][0], Action::Event { reason: "WaitForFirstConsumer", message, .. } if message == MSG_WAIT_FOR_FIRST_CONSUMER)
    );
    w.pods = vec![pod("web-0", "www-web-0", Some("node-1"))];
    let steps = binder::plan_claims(&w);
    let Action::AnnotateClaim {
        annotations, rv, ..
    } = &steps[0][0]
    else {
        panic!("{steps:?}")
    };
    assert_eq!(rv.as_deref(), Some("7"));
    assert_eq!(annotations[ANN_SELECTED_NODE], "node-1");
    assert_eq!(annotations[ANN_STORAGE_PROVISIONER], PROVISIONER);
    assert!(matches!(
        &steps[0][1],
        Action::Event {
            reason: "ExternalProvisioning",
            ..
        }
    ));
    let Action::Provision { volume, claim } = &steps[0][2] else {
        panic!("{steps:?}")
    };
    assert_eq!(claim.uid.as_deref(), Some("uid-www-web-0"));
    assert_eq!(volume.metadata.name.as_deref(), Some("pvc-uid-www-web-0"));
    assert_eq!(
        host_path(volume),
        Some(Path::new("/data/volumes/pvc-uid-www-web-0").to_path_buf())
    );
    let spec = volume.spec.as_ref().unwrap();
    assert_eq!(
        spec.claim_ref.as_ref().unwrap().uid.as_deref(),
        Some("uid-www-web-0")
    );
    assert_eq!(
        spec.persistent_volume_reclaim_policy.as_deref(),
        Some("Delete")
    );
    assert_eq!(spec.capacity.as_ref().unwrap()["storage"].0, "1Gi");
    let affinity = serde_json::to_value(&spec.node_affinity).unwrap();
    assert_eq!(
        affinity.pointer("/required/nodeSelectorTerms/0/matchExpressions/0/values/0"),
        Some(&json!("node-1"))
    );
}

#[test]
fn provisioned_volume_is_bound_and_phases_follow() {
    let mut w = world();
    w.claims = vec![obj(claim("c", "1Gi", Some("local-path")))];
    let c = pvc(claim("c", "1Gi", Some("local-path")));
    let mut v = serde_json::to_value(provision::volume_for(
        &c,
        &local_path_class(),
        "n",
        Path::new("/d"),
    ))
    .unwrap();
    v["metadata"]["resourceVersion"] = json!("9");
    v["metadata"]["finalizers"] = json!([PV_PROTECTION]);
    v["status"] = json!({"phase": "Pending"});
    w.volumes = vec![obj(v.clone())];
    let steps = binder::plan_claims(&w);
    let names: Vec<String> = steps[0]
        .iter()
        .map(|a| {
            format!("{a:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        ["VolumePhase", "BindClaim", "ClaimPhase"],
        "pre-bound: no claimRef write"
    );
    assert!(
        matches!(&steps[0][1], Action::BindClaim { by_controller: true, volume, .. } if volume == "pvc-uid-c")
    );
    assert!(
        matches!(&steps[0][2], Action::ClaimPhase { phase: "Bound", capacity: Some(c), .. } if c["storage"].0 == "1Gi")
    );

    // Once both sides are bound nothing is left to do.
    let mut bound = claim("c", "1Gi", Some("local-path"));
    bound["spec"]["volumeName"] = json!("pvc-uid-c");
    bound["metadata"]["annotations"] = json!({ANN_BIND_COMPLETED: "yes"});
    bound["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
    v["status"]["phase"] = json!("Bound");
    w.claims = vec![obj(bound)];
    w.volumes = vec![obj(v.clone())];
    assert!(plan(&w).is_empty(), "{:?}", plan(&w));

    // The claim goes: the volume is Released and, as a local-path volume with Delete, reclaimed.
    w.claims.clear();
    let steps = binder::plan_volumes(&w);
    assert!(matches!(
        &steps[0][0],
        Action::VolumePhase {
            phase: "Released",
            ..
        }
    ));
    assert!(
        matches!(&steps[0][1], Action::Reclaim { path: Some(p), .. } if p == Path::new("/d/pvc-uid-c"))
    );
}

#[test]
fn static_volumes_bind_and_reclaim_by_policy() {
    let mut w = world();
    w.claims = vec![obj(claim("c", "1Gi", Some("")))];
    let mut fresh = volume("static", "1Gi", "");
    fresh["status"]["phase"] = json!("Pending");
    w.volumes = vec![obj(fresh)];
    assert!(matches!(
        &binder::plan_volumes(&w)[0][0],
        Action::VolumePhase {
            phase: "Available",
            ..
        }
    ));
    w.volumes = vec![obj(volume("static", "1Gi", ""))];
    let steps = binder::plan_claims(&w);
    assert!(
        matches!(&steps[0][0], Action::BindVolume { by_controller: true, rv: Some(rv), .. } if rv == "3")
    );
    // No class and no volume: FailedBinding.
    w.volumes.clear();
    assert!(matches!(
        &binder::plan_claims(&w)[0][0],
        Action::Event {
            reason: "FailedBinding",
            ..
        }
    ));
    // Released: Retain keeps it, Delete on a non-provisioned volume fails as upstream.
    let mut released = volume("static", "1Gi", "");
    released["spec"]["claimRef"] = json!({"name": "gone", "namespace": "default", "uid": "old"});
    released["status"]["phase"] = json!("Bound");
    w.volumes = vec![obj(released.clone())];
    let steps = binder::plan_volumes(&w);
    assert_eq!(
        steps,
        vec![vec![Action::VolumePhase {
            name: "static".into(),
            phase: "Released",
            message: None
        }]]
    );
    released["spec"]["persistentVolumeReclaimPolicy"] = json!("Delete");
    w.volumes = vec![obj(released)];
    let steps = binder::plan_volumes(&w);
    assert!(
        matches!(&steps[0][1], Action::VolumePhase { phase: "Failed", message: Some(m), .. } if m.ends_with("no deletable volume plugin matched"))
    );
}

#[test]
fn lost_claims() {
    let mut w = world();
    let mut c = claim("c", "1Gi", Some("local-path"));
    c["spec"]["volumeName"] = json!("missing");
    c["metadata"]["annotations"] = json!({ANN_BIND_COMPLETED: "yes"});
    c["status"]["phase"] = json!("Bound");
    w.claims = vec![obj(c)];
    let steps = binder::plan_claims(&w);
    assert!(matches!(
        &steps[0][0],
        Action::ClaimPhase { phase: "Lost", .. }
    ));
    assert!(
        matches!(&steps[0][1], Action::Event { reason: "ClaimLost", message, .. } if message == binder::MSG_CLAIM_LOST)
    );
    let mut c = claim("c", "1Gi", Some("local-path"));
    c["metadata"]["annotations"] = json!({ANN_BIND_COMPLETED: "yes"});
    w.claims = vec![obj(c.clone())];
    let steps = binder::plan_claims(&w);
    assert!(
        matches!(&steps[0][1], Action::Event { message, .. } if message == binder::MSG_CLAIM_LOST_REFERENCE)
    );
    c["status"]["phase"] = json!("Lost");
    w.claims = vec![obj(c)];
    assert!(binder::plan_claims(&w).is_empty(), "reported once");
}

#[test]
fn protection_finalizers() {
    let mut w = world();
    let mut deleting = claim("c", "1Gi", Some("local-path"));
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    w.claims = vec![obj(deleting)];
    w.pods = vec![pod("p", "c", Some("node-1"))];
    assert!(protection::plan(&w).is_empty(), "in use by a scheduled pod");
    w.pods = vec![pod("p", "c", None)];
    assert!(matches!(
        &protection::plan(&w)[0][0],
        Action::Finalizer {
            add: false,
            finalizer: PVC_PROTECTION,
            ..
        }
    ));
    let mut bare = claim("d", "1Gi", None);
    bare["metadata"]["finalizers"] = json!([]);
    w.claims = vec![obj(bare)];
    assert!(matches!(
        &protection::plan(&w)[0][0],
        Action::Finalizer { add: true, .. }
    ));
    let mut v = volume("v", "1Gi", "");
    v["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    v["status"]["phase"] = json!("Bound");
    w.claims.clear();
    w.volumes = vec![obj(v.clone())];
    assert!(protection::plan(&w).is_empty(), "bound volume stays");
    v["status"]["phase"] = json!("Released");
    w.volumes = vec![obj(v)];
    assert!(matches!(
        &protection::plan(&w)[0][0],
        Action::Finalizer {
            add: false,
            finalizer: PV_PROTECTION,
            ..
        }
    ));
}

fn bound_pair(request: &str, capacity: &str) -> (Value, Value) {
    let mut c = claim("www-web-0", request, Some("local-path"));
    c["spec"]["volumeName"] = json!("pvc-1");
    c["metadata"]["annotations"] = json!({ANN_BIND_COMPLETED: "yes"});
    c["status"] = json!({"phase": "Bound", "capacity": {"storage": capacity}});
    let mut v = volume("pvc-1", capacity, "local-path");
    v["spec"]["claimRef"] =
        json!({"name": "www-web-0", "namespace": "default", "uid": "uid-www-web-0"});
    v["status"]["phase"] = json!("Bound");
    (c, v)
}

#[test]
fn expansion_only_in_classes_that_allow_it() {
    let mut w = world();
    let (c, v) = bound_pair("2Gi", "1Gi");
    w.claims = vec![obj(c)];
    w.volumes = vec![obj(v)];
    let steps = expand::plan(&w);
    let reasons: Vec<String> = steps[0]
        .iter()
        .map(|a| match a {
            Action::Event { reason, .. } => reason.to_string(),
            Action::ResizeVolume { size, .. } => format!("volume {}", size.0),
            Action::ClaimResized { size, .. } => format!("claim {}", size.0),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "Resizing",
            "volume 2Gi",
            "claim 2Gi",
            "VolumeResizeSuccessful"
        ]
    );
    w.classes = vec![obj(
        json!({"metadata": {"name": "local-path"}, "provisioner": PROVISIONER}),
    )];
    assert!(expand::plan(&w).is_empty());
    let (c, v) = bound_pair("1Gi", "1Gi");
    w.classes = vec![local_path_class()];
    w.claims = vec![obj(c)];
    w.volumes = vec![obj(v)];
    assert!(expand::plan(&w).is_empty());
}

#[test]
fn kep_4650_template_growth_raises_the_sets_bound_claims() {
    assert!(expand::is_set_claim("www-web-0", "www", "web"));
    assert!(expand::is_set_claim("www-web-12", "www", "web"));
    assert!(!expand::is_set_claim("www-web-x", "www", "web"));
    assert!(!expand::is_set_claim("www-webby-0", "www", "web"));
    let mut w = world();
    w.sets = vec![obj(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "set"},
        "spec": {"selector": {}, "serviceName": "s", "template": {},
                 "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {"resources": {"requests": {"storage": "2Gi"}}}}]}
    }))];
    let (c0, _) = bound_pair("1Gi", "1Gi");
    let mut c1 = c0.clone();
    c1["metadata"]["name"] = json!("www-web-1");
    c1["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
    let mut other = c0.clone();
    other["metadata"]["name"] = json!("www-webby-0");
    w.claims = vec![obj(c0), obj(c1), obj(other)];
    let steps = expand::plan(&w);
    let grown: Vec<String> = steps
        .iter()
        .flatten()
        .filter_map(|a| match a {
            Action::GrowClaim { name, size, .. } => Some(format!("{name}={}", size.0)),
            _ => None,
        })
        .collect();
    assert_eq!(grown, ["www-web-0=2Gi"]);
}
