//! Unit tests of the Deployment planner: rolling arithmetic, proportional scaling,
//! Recreate, revisions and conditions.

use super::*;
use k8s_openapi::api::apps::v1::{DeploymentStrategy, ReplicaSetStatus, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

fn template(image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some([("app".to_string(), "x".to_string())].into()),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some(image.into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

fn deploy(replicas: i32, image: &str, surge: IntOrString, unavail: IntOrString) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            uid: Some("d-uid".into()),
            generation: Some(2),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some([("app".to_string(), "x".to_string())].into()),
                ..Default::default()
            },
            template: template(image),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(surge),
                    max_unavailable: Some(unavail),
                }),
            }),
            revision_history_limit: Some(10),
            progress_deadline_seconds: Some(600),
            ..Default::default()
        }),
        status: Some(DeploymentStatus {
            observed_generation: Some(1),
            ..Default::default()
        }),
    }
}

/// A ReplicaSet of `d` for `image` with `spec` replicas of which `avail` are available.
#[allow(clippy::too_many_arguments)]
fn rs(
    d: &Deployment,
    image: &str,
    spec: i32,
    avail: i32,
    revision: i64,
    age: i64,
    desired: i32,
    max: i32,
) -> ReplicaSet {
    let t = template(image);
    let hash = compute_hash(&t, None);
    let mut tl = t.clone();
    tl.metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .insert(HASH_LABEL.into(), hash.clone());
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!("web-{hash}")),
            uid: Some(format!("uid-{image}")),
            creation_timestamp: Some(Time(Timestamp::from_second(1_700_000_000 - age).unwrap())),
            annotations: Some(
                [
                    (REVISION.to_string(), revision.to_string()),
                    (DESIRED_REPLICAS.to_string(), desired.to_string()),
                    (MAX_REPLICAS.to_string(), max.to_string()),
                ]
                .into(),
            ),
            owner_references: Some(vec![controller_ref("apps/v1", "Deployment", &d.metadata)]),
            generation: Some(1),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(spec),
            template: Some(tl),
            ..Default::default()
        }),
        status: Some(ReplicaSetStatus {
            replicas: spec,
            ready_replicas: Some(avail),
            available_replicas: Some(avail),
            observed_generation: Some(1),
            ..Default::default()
        }),
    }
}

fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

fn scales(p: &Plan) -> Vec<(String, i32)> {
    p.steps
        .iter()
        .filter_map(|s| match s {
            Step::UpdateRs {
                name,
                replicas,
                event: Some(_),
                ..
            } => Some((name.clone(), *replicas)),
            Step::CreateRs { rs, .. } => Some((
                rs.metadata.name.clone().unwrap(),
                rs.spec.as_ref().unwrap().replicas.unwrap(),
            )),
            _ => None,
        })
        .collect()
}

fn events(p: &Plan) -> Vec<String> {
    p.steps
        .iter()
        .filter_map(|s| match s {
            Step::UpdateRs { event, .. } | Step::CreateRs { event, .. } => event.clone(),
            _ => None,
        })
        .collect()
}

fn last_status(p: &Plan) -> DeploymentStatus {
    p.steps
        .iter()
        .rev()
        .find_map(|s| {
            if let Step::Status(st) = s {
                Some(st.clone())
            } else {
                None
            }
        })
        .expect("a status write")
}

fn cond<'a>(st: &'a DeploymentStatus, ty: &str) -> (&'a str, &'a str) {
    let c = get_condition(st, ty).expect("condition");
    (c.status.as_str(), c.reason.as_deref().unwrap())
}

#[test]
fn first_sync_creates_new_rs_at_full_size() {
    let d = deploy(
        3,
        "nginx:1",
        IntOrString::String("25%".into()),
        IntOrString::String("25%".into()),
    );
    let p = plan(&d, &[], &[], now());
    let hash = compute_hash(&template("nginx:1"), None);
    let Step::CreateRs { rs, event } = &p.steps[0] else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(
        rs.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    assert_eq!(rs.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(
        rs.spec
            .as_ref()
            .unwrap()
            .selector
            .match_labels
            .as_ref()
            .unwrap()[HASH_LABEL],
        hash
    );
    let a = rs.metadata.annotations.as_ref().unwrap();
    assert_eq!(
        (
            a[REVISION].as_str(),
            a[DESIRED_REPLICAS].as_str(),
            a[MAX_REPLICAS].as_str()
        ),
        ("1", "3", "4")
    );
    assert_eq!(
        event.as_deref(),
        Some(format!("Scaled up replica set web-{hash} from 0 to 3").as_str())
    );
    assert!(p.steps.contains(&Step::SetRevision("1".into())));
    let st = last_status(&p);
    assert_eq!(cond(&st, "Progressing"), ("True", NEW_RS_CREATED));
    assert_eq!(cond(&st, "Available"), ("False", MIN_UNAVAILABLE));
    assert_eq!(st.observed_generation, Some(2));
}

#[test]
fn rolling_update_surge_then_scale_down_by_availability() {
    // 10 replicas, maxSurge 3, maxUnavailable 2; old RS fully available.
    let d = deploy(10, "nginx:2", IntOrString::Int(3), IntOrString::Int(2));
    let old = rs(&d, "nginx:1", 10, 10, 1, 100, 10, 13);
    let p = plan(&d, std::slice::from_ref(&old), &[], now());
    let new_name = format!("web-{}", compute_hash(&template("nginx:2"), None));
    // New RS created with the surge (3), then old shrinks by 13 - 8 - 3 (unavailable new) = 2.
    assert_eq!(
        scales(&p),
        vec![
            (new_name.clone(), 3),
            (old.metadata.name.clone().unwrap(), 8)
        ]
    );
    assert_eq!(
        events(&p)[1],
        format!(
            "Scaled down replica set {} from 10 to 8",
            old.metadata.name.clone().unwrap()
        )
    );
    let mut new = rs(&d, "nginx:2", 3, 0, 2, 10, 10, 13);
    let mut old8 = old.clone();
    old8.spec.as_mut().unwrap().replicas = Some(8);
    // Then: total 11 < 13, new grows by 2 to 5.
    old8.status.as_mut().unwrap().available_replicas = Some(8);
    let p = plan(&d, &[old8.clone(), new.clone()], &[], now());
    assert_eq!(scales(&p), vec![(new_name.clone(), 5)]);
    // New pods available: old shrinks by available - minAvailable = 13 - 8 = 5 -> 3.
    new.spec.as_mut().unwrap().replicas = Some(5);
    new.status = Some(ReplicaSetStatus {
        replicas: 5,
        available_replicas: Some(5),
        ready_replicas: Some(5),
        ..Default::default()
    });
    let p = plan(&d, &[old8.clone(), new.clone()], &[], now());
    assert_eq!(scales(&p), vec![(old.metadata.name.clone().unwrap(), 3)]);
}

#[test]
fn percentages_round_surge_up_unavailable_down() {
    // 3 replicas, 25%/25%: surge 1, unavailable 0 -> never below 3 available.
    let d = deploy(
        3,
        "nginx:2",
        IntOrString::String("25%".into()),
        IntOrString::String("25%".into()),
    );
    let old = rs(&d, "nginx:1", 3, 3, 1, 100, 3, 4);
    let p = plan(&d, std::slice::from_ref(&old), &[], now());
    let new_name = format!("web-{}", compute_hash(&template("nginx:2"), None));
    assert_eq!(scales(&p), vec![(new_name, 1)]);
    let new = rs(&d, "nginx:2", 1, 0, 2, 10, 3, 4);
    let p = plan(&d, &[old.clone(), new.clone()], &[], now());
    assert!(
        scales(&p).is_empty(),
        "no scale-down while the new pod is unavailable: {:?}",
        p.steps
    );
    let mut new_ok = new.clone();
    new_ok.status.as_mut().unwrap().available_replicas = Some(1);
    let p = plan(&d, &[old.clone(), new_ok], &[], now());
    assert_eq!(scales(&p), vec![(old.metadata.name.clone().unwrap(), 2)]);
}

#[test]
fn proportional_scaling_mid_rollout() {
    // Mid-rollout at 10 replicas (maxSurge 3 -> 13 pods): old 8, new 5. Scale to 20.
    let d = deploy(20, "nginx:2", IntOrString::Int(3), IntOrString::Int(2));
    let old = rs(&d, "nginx:1", 8, 8, 1, 100, 10, 13);
    let new = rs(&d, "nginx:2", 5, 0, 2, 10, 10, 13);
    let p = plan(&d, &[old.clone(), new.clone()], &[], now());
    // allowed 23, to add 10: old 8*23/13=14.15 -> +6, new 5*23/13=8.8 -> +4 (leftover 0).
    let mut got = scales(&p);
    got.sort();
    let mut want = vec![
        (old.metadata.name.clone().unwrap(), 14),
        (new.metadata.name.clone().unwrap(), 9),
    ];
    want.sort();
    assert_eq!(got, want);
    // Annotations record the new desired/max sizes.
    for s in &p.steps {
        if let Step::UpdateRs { annotations, .. } = s {
            assert_eq!(
                (
                    annotations[DESIRED_REPLICAS].as_str(),
                    annotations[MAX_REPLICAS].as_str()
                ),
                ("20", "23")
            );
        }
    }
    // Scaling down to 5 (max 8): to remove 5 from 13 proportionally, larger (old) first.
    let d = deploy(5, "nginx:2", IntOrString::Int(3), IntOrString::Int(2));
    let p = plan(&d, &[old.clone(), new.clone()], &[], now());
    let mut got = scales(&p);
    got.sort();
    let mut want = vec![
        (old.metadata.name.clone().unwrap(), 5),
        (new.metadata.name.clone().unwrap(), 3),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn only_active_rs_takes_full_scale() {
    let d = deploy(5, "nginx:1", IntOrString::Int(1), IntOrString::Int(0));
    let cur = rs(&d, "nginx:1", 3, 3, 1, 100, 3, 4);
    let p = plan(&d, std::slice::from_ref(&cur), &[], now());
    assert_eq!(scales(&p), vec![(cur.metadata.name.clone().unwrap(), 5)]);
    assert_eq!(
        events(&p),
        vec![format!(
            "Scaled up replica set {} from 3 to 5",
            cur.metadata.name.clone().unwrap()
        )]
    );
}

#[test]
fn rollback_reuses_old_rs_and_bumps_revision() {
    // Template back to nginx:1 (as `rollout undo` sends it): RS rev 1 becomes rev 3.
    let mut d = deploy(3, "nginx:1", IntOrString::Int(1), IntOrString::Int(0));
    d.metadata.annotations = Some(
        [(
            "kubernetes.io/change-cause".to_string(),
            "first".to_string(),
        )]
        .into(),
    );
    let first = rs(&d, "nginx:1", 0, 0, 1, 100, 3, 4);
    let second = rs(&d, "nginx:2", 3, 3, 2, 50, 3, 4);
    let p = plan(&d, &[first.clone(), second.clone()], &[], now());
    assert!(
        !p.steps.iter().any(|s| matches!(s, Step::CreateRs { .. })),
        "{:?}",
        p.steps
    );
    let Step::UpdateRs {
        name, annotations, ..
    } = &p.steps[0]
    else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(name, first.metadata.name.as_ref().unwrap());
    assert_eq!(
        (
            annotations[REVISION].as_str(),
            annotations[REVISION_HISTORY].as_str()
        ),
        ("3", "1")
    );
    assert_eq!(annotations["kubernetes.io/change-cause"], "first");
    assert!(p.steps.contains(&Step::SetRevision("3".into())));
    assert_eq!(scales(&p), vec![(first.metadata.name.clone().unwrap(), 1)]);
}

#[test]
fn change_cause_copied_after_rollout() {
    let mut d = deploy(3, "nginx:1", IntOrString::Int(1), IntOrString::Int(0));
    d.metadata.annotations = Some(
        [
            ("kubernetes.io/change-cause".to_string(), "late".to_string()),
            (REVISION.to_string(), "1".to_string()),
        ]
        .into(),
    );
    let cur = rs(&d, "nginx:1", 3, 3, 1, 100, 3, 4);
    let p = plan(&d, &[cur], &[], now());
    let Step::UpdateRs {
        annotations,
        event: None,
        ..
    } = &p.steps[0]
    else {
        panic!("{:?}", p.steps)
    };
    assert_eq!(annotations["kubernetes.io/change-cause"], "late");
}

#[test]
fn complete_rollout_conditions_and_cleanup() {
    let mut d = deploy(3, "nginx:2", IntOrString::Int(1), IntOrString::Int(0));
    d.spec.as_mut().unwrap().revision_history_limit = Some(1);
    d.metadata.annotations = Some([(REVISION.to_string(), "3".to_string())].into());
    let mut st = DeploymentStatus {
        observed_generation: Some(2),
        replicas: Some(3),
        updated_replicas: Some(3),
        available_replicas: Some(3),
        ready_replicas: Some(3),
        ..Default::default()
    };
    set_condition(
        &mut st,
        new_condition("Progressing", "True", RS_UPDATED, "x".into(), now()),
    );
    d.status = Some(st);
    let a = rs(&d, "nginx:0", 0, 0, 1, 300, 3, 4);
    let b = rs(&d, "nginx:1", 0, 0, 2, 200, 3, 4);
    let c = rs(&d, "nginx:2", 3, 3, 3, 100, 3, 4);
    let p = plan(&d, &[a.clone(), b, c], &[], now());
    assert_eq!(
        p.steps
            .iter()
            .filter(|s| matches!(s, Step::DeleteRs { .. }))
            .count(),
        1
    );
    assert!(p.steps.contains(&Step::DeleteRs {
        name: a.metadata.name.clone().unwrap(),
        uid: a.metadata.uid.clone()
    }));
    let st = last_status(&p);
    assert_eq!(cond(&st, "Progressing"), ("True", NEW_RS_AVAILABLE));
    assert_eq!(cond(&st, "Available"), ("True", MIN_AVAILABLE));
}

#[test]
fn progress_deadline_exceeded() {
    let mut d = deploy(3, "nginx:2", IntOrString::Int(1), IntOrString::Int(0));
    d.spec.as_mut().unwrap().progress_deadline_seconds = Some(60);
    let old = rs(&d, "nginx:1", 3, 3, 1, 1000, 3, 4);
    let new = rs(&d, "nginx:2", 1, 0, 2, 500, 3, 4);
    let mut st = DeploymentStatus {
        observed_generation: Some(2),
        replicas: Some(4),
        updated_replicas: Some(1),
        available_replicas: Some(3),
        ready_replicas: Some(3),
        ..Default::default()
    };
    let then = Timestamp::from_second(now().as_second() - 120).unwrap();
    set_condition(
        &mut st,
        new_condition("Progressing", "True", RS_UPDATED, "x".into(), then),
    );
    set_condition(
        &mut st,
        new_condition(
            "Available",
            "True",
            MIN_AVAILABLE,
            "Deployment has minimum availability.".into(),
            then,
        ),
    );
    d.status = Some(st);
    let p = plan(&d, &[old, new], &[], now());
    let st = last_status(&p);
    assert_eq!(cond(&st, "Progressing"), ("False", TIMED_OUT));
    assert_eq!(
        get_condition(&st, "Progressing")
            .unwrap()
            .message
            .as_deref(),
        Some(
            format!(
                "ReplicaSet \"web-{}\" has timed out progressing.",
                compute_hash(&template("nginx:2"), None)
            )
            .as_str()
        )
    );
}

#[test]
fn paused_does_not_roll_but_scales() {
    let mut d = deploy(4, "nginx:2", IntOrString::Int(1), IntOrString::Int(0));
    d.spec.as_mut().unwrap().paused = Some(true);
    let old = rs(&d, "nginx:1", 3, 3, 1, 100, 3, 4);
    let p = plan(&d, std::slice::from_ref(&old), &[], now());
    assert!(!p.steps.iter().any(|s| matches!(s, Step::CreateRs { .. })));
    assert_eq!(scales(&p), vec![(old.metadata.name.clone().unwrap(), 4)]);
    assert_eq!(cond(&last_status(&p), "Progressing"), ("Unknown", PAUSED));
}

#[test]
fn recreate_scales_old_to_zero_then_new_up() {
    let mut d = deploy(2, "nginx:2", IntOrString::Int(1), IntOrString::Int(0));
    d.spec.as_mut().unwrap().strategy = Some(DeploymentStrategy {
        type_: Some("Recreate".into()),
        rolling_update: None,
    });
    let old = rs(&d, "nginx:1", 2, 2, 1, 100, 2, 2);
    let p = plan(&d, std::slice::from_ref(&old), &[], now());
    assert_eq!(scales(&p), vec![(old.metadata.name.clone().unwrap(), 0)]);
    // Old RS at 0 but its pod still there: wait.
    let mut old0 = old.clone();
    old0.spec.as_mut().unwrap().replicas = Some(0);
    old0.status = Some(ReplicaSetStatus {
        replicas: 0,
        ..Default::default()
    });
    let pod = Pod {
        metadata: ObjectMeta {
            owner_references: Some(vec![controller_ref("apps/v1", "ReplicaSet", &old.metadata)]),
            ..Default::default()
        },
        ..Default::default()
    };
    let p = plan(&d, &[old0.clone()], std::slice::from_ref(&pod), now());
    assert!(scales(&p).is_empty());
    assert_eq!(p.requeue_after, Some(Duration::from_secs(1)));
    let p = plan(&d, &[old0], &[], now());
    let new_name = format!("web-{}", compute_hash(&template("nginx:2"), None));
    assert_eq!(scales(&p), vec![(new_name, 2)]);
}

#[test]
fn replica_failure_condition_is_copied_from_the_new_rs() {
    let d = deploy(3, "nginx:1", IntOrString::Int(1), IntOrString::Int(0));
    let mut cur = rs(&d, "nginx:1", 3, 0, 1, 100, 3, 4);
    cur.status.as_mut().unwrap().conditions =
        Some(vec![k8s_openapi::api::apps::v1::ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some("FailedCreate".into()),
            message: Some("pods \"x\" is forbidden: quota".into()),
            last_transition_time: Some(Time(now())),
        }]);
    let p = plan(&d, std::slice::from_ref(&cur), &[], now());
    assert_eq!(
        cond(&last_status(&p), "ReplicaFailure"),
        ("True", "FailedCreate")
    );
}
