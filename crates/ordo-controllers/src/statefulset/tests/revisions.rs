//! ControllerRevisions: data, hash, naming, reuse, rollback, pruning, change-cause (R42–R48).

use super::world::{set, World};
use crate::statefulset::revision;
use serde_json::json;

#[test]
fn fnv1_and_safe_encoding_match_go() {
    // Go: fnv.New32() of "" and "a".
    assert_eq!(revision::fnv32(&[b""]), 0x811c9dc5);
    assert_eq!(revision::fnv32(&[b"a"]), 0x050c5d7e);
    assert_eq!(
        revision::fnv32(&[b"fo", b"obar"]),
        revision::fnv32(&[b"foobar"])
    );
    assert_eq!(revision::safe_encode("0123456789"), "456789bcdf");
    let h = revision::hash(b"{}", Some(0));
    assert_eq!(h.len(), 10.min(h.len()));
    assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    assert_ne!(
        revision::hash(b"{}", Some(0)),
        revision::hash(b"{}", Some(1))
    );
}

#[test]
fn revision_object_shape() {
    let mut s = set(1, json!({}));
    s.metadata.annotations = Some(
        [(
            "kubernetes.io/change-cause".to_string(),
            "initial".to_string(),
        )]
        .into(),
    );
    let cr = revision::new_revision(&s, 1, 0);
    let data = &cr.data.as_ref().unwrap().0;
    let text = String::from_utf8(revision::canonical_bytes(data)).unwrap();
    assert!(text.starts_with(r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"nginx"}},"spec":{"containers":[{"#), "{text}");
    let hash = revision::hash(text.as_bytes(), Some(0));
    assert_eq!(
        cr.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    let labels = cr.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["app"], "nginx");
    assert_eq!(labels[revision::HASH_LABEL], hash);
    assert_eq!(
        cr.metadata.annotations.as_ref().unwrap()["kubernetes.io/change-cause"],
        "initial"
    );
    let r = &cr.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((r.kind.as_str(), r.controller), ("StatefulSet", Some(true)));
    assert_eq!(cr.revision, 1);
    // The template round-trips.
    assert_eq!(
        revision::revision_template(&cr).unwrap(),
        s.spec.unwrap().template
    );
}

#[test]
fn non_template_changes_make_no_revision_and_rollback_reuses_the_old_one() {
    let mut w = World::new(set(2, json!({})));
    w.settle();
    assert_eq!(w.revisions.len(), 1);
    let r1 = w.revisions[0].metadata.name.clone().unwrap();
    w.edit(json!({"replicas": 3, "minReadySeconds": 0, "updateStrategy": {"rollingUpdate": {"partition": 0}}}));
    w.settle();
    assert_eq!(
        w.revisions.len(),
        1,
        "replicas/strategy changes are not revisions"
    );
    w.set_image("nginx:1.26");
    w.settle();
    assert_eq!(w.revisions.len(), 2);
    let r2 = w.status().update_revision.unwrap();
    assert_eq!(
        w.revisions
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(&r2))
            .unwrap()
            .revision,
        2
    );
    // Roll back: the old revision is reused with revision 3; no third object.
    w.set_image("nginx:1.25");
    w.settle();
    assert_eq!(w.revisions.len(), 2);
    assert_eq!(w.status().update_revision.as_deref(), Some(r1.as_str()));
    assert_eq!(w.status().current_revision.as_deref(), Some(r1.as_str()));
    let numbers: Vec<(String, i64)> = w
        .revisions
        .iter()
        .map(|r| (r.metadata.name.clone().unwrap(), r.revision))
        .collect();
    assert_eq!(numbers, [(r2.clone(), 2), (r1.clone(), 3)]);
    assert!(w.pods.keys().all(|p| w.revision_of(p) == r1));
}

#[test]
fn history_is_pruned_to_the_limit_keeping_live_revisions() {
    let mut w = World::new(set(1, json!({"revisionHistoryLimit": 2})));
    w.settle();
    for i in 0..5 {
        w.set_image(&format!("nginx:{i}"));
        w.settle();
    }
    // Live: current == update (1 object); plus at most 2 historic.
    assert_eq!(
        w.revisions.len(),
        3,
        "{:?}",
        w.revisions.iter().map(|r| r.revision).collect::<Vec<_>>()
    );
    let nums: Vec<i64> = w.revisions.iter().map(|r| r.revision).collect();
    assert_eq!(nums, [4, 5, 6]);
    // Pods keep their revision alive.
    assert_eq!(
        revision::revisions_to_prune(&w.set, &[], &w.revisions, "x", "y").len(),
        1
    );
    let pods = vec![w.pods["web-0"].clone()];
    assert!(revision::revisions_to_prune(&w.set, &pods, &w.revisions, "x", "y").is_empty());
}

#[test]
fn name_collision_bumps_collision_count() {
    let mut w = World::new(set(1, json!({})));
    // Occupy the name the first revision would get with different data.
    let mut squatter = revision::new_revision(&w.set, 1, 0);
    squatter.data = Some(k8s_openapi::apimachinery::pkg::runtime::RawExtension(
        json!({"other": true}),
    ));
    squatter.revision = 0;
    let squatted = squatter.metadata.name.clone().unwrap();
    w.revisions.push(squatter);
    w.settle();
    let st = w.status();
    assert_eq!(st.collision_count, Some(1));
    assert_ne!(st.update_revision.as_deref(), Some(squatted.as_str()));
    assert_eq!(
        st.update_revision,
        Some(revision::new_revision(&w.set, 1, 1).metadata.name.unwrap())
    );
}

#[test]
fn change_cause_set_after_the_update_is_recorded_on_the_update_revision() {
    let mut w = World::new(set(1, json!({})));
    w.settle();
    w.set_image("nginx:1.26");
    w.settle();
    let cause = |w: &World, n: i64| {
        w.revisions.iter().find(|r| r.revision == n).and_then(|r| {
            r.metadata
                .annotations
                .as_ref()?
                .get(revision::CHANGE_CAUSE)
                .cloned()
        })
    };
    assert_eq!(cause(&w, 2), None);
    w.set.metadata.annotations = Some(
        [(
            revision::CHANGE_CAUSE.to_string(),
            "downgraded to 1.26.1".to_string(),
        )]
        .into(),
    );
    w.sync();
    assert_eq!(cause(&w, 2).as_deref(), Some("downgraded to 1.26.1"));
    assert_eq!(cause(&w, 1), None);
    // Rollback: the reused revision keeps its own (absent) cause.
    w.set_image("nginx:1.25");
    w.settle();
    assert_eq!(cause(&w, 3), None);
    assert_eq!(cause(&w, 2).as_deref(), Some("downgraded to 1.26.1"));
    // A new cause after that goes to the (rolled back) update revision.
    w.set.metadata.annotations = Some(
        [(
            revision::CHANGE_CAUSE.to_string(),
            "rolled back".to_string(),
        )]
        .into(),
    );
    w.sync();
    assert_eq!(cause(&w, 3).as_deref(), Some("rolled back"));
}

/// Two revisions published by upstream (its StatefulSet compatibility test): the same template
/// as a 1.33 and as a 1.34 kube-controller-manager encode it, and the names they got.
#[test]
fn revision_hash_matches_names_published_by_upstream() {
    let v133 = r#"{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"creationTimestamp":null,"labels":{"app":"foo"}},"spec":{"containers":[{"image":"test","imagePullPolicy":"Always","name":"test","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}"#;
    let v134 = v133.replace(r#""creationTimestamp":null,"#, "");
    assert_eq!(revision::hash(v133.as_bytes(), Some(0)), "c77f6d978");
    assert_eq!(revision::hash(v134.as_bytes(), Some(0)), "776999688b");
    // ordo writes the 1.33 encoding, byte for byte.
    let data: serde_json::Value = serde_json::from_str(v133).unwrap();
    let template = revision::revision_template(&k8s_openapi::api::apps::v1::ControllerRevision {
        data: Some(k8s_openapi::apimachinery::pkg::runtime::RawExtension(data)),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        revision::canonical_bytes(&revision::patch_data(&template)),
        v133.as_bytes()
    );
}

/// A fixture of `testdata/` (see its README).
fn kcm_fixture(version: &str) -> serde_json::Value {
    let path = format!(
        "{}/src/statefulset/tests/testdata/kcm-{version}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn kcm_fixture_names_are_the_hash_of_their_bytes() {
    for v in ["1.33", "1.34"] {
        let f = kcm_fixture(v);
        let bytes = f["dataBytes"].as_str().unwrap();
        let name = f["controllerRevision"]["metadata"]["name"]
            .as_str()
            .unwrap();
        let hash = revision::hash(bytes.as_bytes(), Some(0));
        assert_eq!(name, format!("kcm-web-{hash}"), "{v}");
        assert_eq!(
            revision::canonical_bytes(&f["controllerRevision"]["data"]),
            bytes.as_bytes(),
            "{v}"
        );
    }
}

/// Defect 6 of #14: a set whose revision and pods were written by kube-controller-manager
/// (1.33 or 1.34 encoding) is taken over by ordo with its pods up to date: no new revision, no
/// deletion, the recorded revision names kept.
#[test]
fn revisions_written_by_kcm_are_adopted_without_restarting_pods() {
    use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
    use k8s_openapi::api::core::v1::Pod;
    for v in ["1.33", "1.34"] {
        let f = kcm_fixture(v);
        let mut set_json = f["statefulSet"].clone();
        ordo_api::defaults::apply_defaults("StatefulSet", &mut set_json);
        let set: StatefulSet = serde_json::from_value(set_json).unwrap();
        let mut w = World::new(set);
        let cr: ControllerRevision =
            serde_json::from_value(f["controllerRevision"].clone()).unwrap();
        let name = cr.metadata.name.clone().unwrap();
        w.revisions.push(cr);
        let pod: Pod = serde_json::from_value(f["pod"].clone()).unwrap();
        w.pods.insert("kcm-web-0".into(), pod);
        w.ready("kcm-web-0");
        let planned = w.sync();
        assert!(planned.actions.is_empty(), "{v}: {:?}", planned.actions);
        assert_eq!(w.revisions.len(), 1, "{v}: no new revision");
        let st = w.status();
        assert_eq!(st.update_revision.as_deref(), Some(name.as_str()), "{v}");
        assert_eq!(st.current_revision.as_deref(), Some(name.as_str()), "{v}");
        assert_eq!(
            (st.updated_replicas, st.current_replicas),
            (Some(1), Some(1)),
            "{v}"
        );
        // A real change after the take-over still rolls out, from that revision.
        w.set_image("nginx:1.26.1");
        w.sync();
        assert_eq!(w.take_log(), ["delete kcm-web-0"], "{v}");
        assert_eq!(w.revisions.len(), 2, "{v}");
    }
}
