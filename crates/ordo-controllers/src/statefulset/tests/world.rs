//! A tiny simulated cluster for the planner: pods appear Pending on create, become Ready when
//! told, go Terminating on delete and vanish when told; revisions are handled like the shell does.

use super::super::plan::{self, Action, Input, Plan, RevisionRef};
use super::super::revision::{self, UpdateChoice};
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use std::collections::BTreeMap;

/// A set manifest with `replicas` and optional extra spec fields merged in.
pub fn set(replicas: i32, extra: serde_json::Value) -> StatefulSet {
    let mut v = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "set-uid", "generation": 1},
        "spec": {
            "replicas": replicas,
            "serviceName": "nginx",
            "selector": {"matchLabels": {"app": "nginx"}},
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 1}},
            "revisionHistoryLimit": 10,
            "template": {"metadata": {"labels": {"app": "nginx"}},
                         "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}
        }
    });
    merge(&mut v["spec"], &extra);
    serde_json::from_value(v).unwrap()
}

fn merge(dst: &mut serde_json::Value, src: &serde_json::Value) {
    match (dst, src) {
        (serde_json::Value::Object(d), serde_json::Value::Object(s)) => {
            for (k, v) in s {
                if v.is_null() {
                    d.remove(k);
                } else {
                    merge(d.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (d, s) => *d = s.clone(),
    }
}

pub struct World {
    pub set: StatefulSet,
    pub pods: BTreeMap<String, Pod>,
    pub claims: BTreeMap<String, PersistentVolumeClaim>,
    pub revisions: Vec<ControllerRevision>,
    pub now_ms: i64,
    /// "create web-0", "delete web-2", "update web-1", "claim www-web-0", "owners www-web-0".
    pub log: Vec<String>,
    /// Pods whose deletion fails (the API answers an error): logged as "failed delete web-2".
    pub failing_deletes: Vec<String>,
    uid: u32,
}

impl World {
    pub fn new(set: StatefulSet) -> World {
        World {
            set,
            pods: BTreeMap::new(),
            claims: BTreeMap::new(),
            revisions: Vec::new(),
            now_ms: 1_000_000,
            log: Vec::new(),
            failing_deletes: Vec::new(),
            uid: 0,
        }
    }

    /// Changes the spec like an API write (generation bump).
    pub fn edit(&mut self, patch: serde_json::Value) {
        let mut v = serde_json::to_value(&self.set).unwrap();
        merge(&mut v["spec"], &patch);
        self.set = serde_json::from_value(v).unwrap();
        self.set.metadata.generation = Some(self.set.metadata.generation.unwrap_or(1) + 1);
    }

    pub fn set_image(&mut self, image: &str) {
        self.edit(serde_json::json!({"template": {"spec": {"containers": [{"name": "nginx", "image": image}]}}}));
    }

    fn next_uid(&mut self) -> String {
        self.uid += 1;
        format!("uid-{}", self.uid)
    }

    /// One sync, as the shell does it; actions applied to the world.
    pub fn sync(&mut self) -> Plan {
        revision::sort_revisions(&mut self.revisions);
        let mut cc = self
            .set
            .status
            .as_ref()
            .and_then(|s| s.collision_count)
            .unwrap_or(0);
        let update_name = match revision::choose_update(&self.set, &self.revisions, cc) {
            UpdateChoice::Latest(n) => n,
            UpdateChoice::Bump { name, revision } => {
                self.revisions
                    .iter_mut()
                    .find(|r| r.metadata.name.as_deref() == Some(&name))
                    .unwrap()
                    .revision = revision;
                revision::sort_revisions(&mut self.revisions);
                name
            }
            UpdateChoice::Create(cr) => {
                let mut cr = *cr;
                while self
                    .revisions
                    .iter()
                    .any(|r| r.metadata.name == cr.metadata.name)
                {
                    cc += 1;
                    cr = revision::new_revision(&self.set, cr.revision, cc);
                }
                let n = cr.metadata.name.clone().unwrap();
                cr.metadata.creation_timestamp =
                    Some(Time(Timestamp::from_millisecond(self.now_ms).unwrap()));
                self.revisions.push(cr);
                n
            }
        };
        if let Some(cause) =
            revision::change_cause_refresh(&self.set, &self.revisions, &update_name)
        {
            let r = self
                .revisions
                .iter_mut()
                .find(|r| r.metadata.name.as_deref() == Some(&update_name))
                .unwrap();
            r.metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(revision::CHANGE_CAUSE.into(), cause);
        }
        let cur_name = self
            .set
            .status
            .as_ref()
            .and_then(|s| s.current_revision.clone());
        let find = |n: &str| {
            self.revisions
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(n))
                .cloned()
        };
        let update = find(&update_name).unwrap();
        let current = cur_name
            .as_deref()
            .and_then(find)
            .unwrap_or_else(|| update.clone());
        let (ut, ct) = (
            revision::revision_template(&update).unwrap(),
            revision::revision_template(&current).unwrap(),
        );
        let (un, cn) = (
            update.metadata.name.clone().unwrap(),
            current.metadata.name.clone().unwrap(),
        );
        let pods: Vec<Pod> = self.pods.values().cloned().collect();
        let planned = plan::plan(&Input {
            set: &self.set,
            pods: &pods,
            claims: &self.claims,
            current: RevisionRef {
                name: &cn,
                template: &ct,
                created_ms: created_ms(&current),
            },
            update: RevisionRef {
                name: &un,
                template: &ut,
                created_ms: created_ms(&update),
            },
            collision_count: cc,
            now_ms: self.now_ms,
        });
        let mut done = 0;
        for a in planned.actions.clone() {
            let for_update = matches!(
                a,
                Action::DeletePod {
                    for_update: true,
                    ..
                }
            );
            if !self.apply(a) {
                break;
            }
            done += i32::from(for_update);
        }
        self.set.status = Some(planned.status_after(done));
        let prune = revision::revisions_to_prune(&self.set, &pods, &self.revisions, &cn, &un);
        self.revisions
            .retain(|r| !prune.contains(r.metadata.name.as_ref().unwrap()));
        planned
    }

    /// Applies one action; false when it failed (the shell stops there).
    fn apply(&mut self, a: Action) -> bool {
        match a {
            Action::CreatePod(p) => {
                let mut p = *p;
                let name = p.metadata.name.clone().unwrap();
                assert!(!self.pods.contains_key(&name), "duplicate create of {name}");
                p.metadata.uid = Some(self.next_uid());
                p.metadata.creation_timestamp =
                    Some(Time(Timestamp::from_millisecond(self.now_ms).unwrap()));
                p.status = Some(PodStatus {
                    phase: Some("Pending".into()),
                    ..Default::default()
                });
                self.log.push(format!("create {name}"));
                self.pods.insert(name, p);
            }
            Action::ClaimTerminating { pod, claim } => {
                self.log.push(format!("blocked {pod} on {claim}"));
                return false;
            }
            Action::DeletePod { name, .. } if self.failing_deletes.contains(&name) => {
                self.log.push(format!("failed delete {name}"));
                return false;
            }
            Action::DeletePod { name, .. } => {
                let p = self.pods.get_mut(&name).expect("delete of a missing pod");
                assert!(
                    p.metadata.deletion_timestamp.is_none(),
                    "double delete of {name}"
                );
                p.metadata.deletion_timestamp =
                    Some(Time(Timestamp::from_millisecond(self.now_ms).unwrap()));
                self.log.push(format!("delete {name}"));
            }
            Action::UpdatePod(p) => {
                let name = p.metadata.name.clone().unwrap();
                self.log.push(format!("update {name}"));
                self.pods.insert(name, *p);
            }
            Action::CreateClaim { claim, .. } => {
                let name = claim.metadata.name.clone().unwrap();
                self.log.push(format!("claim {name}"));
                self.claims.insert(name, claim);
            }
            Action::SetClaimOwners { claim, .. } => {
                let name = claim.metadata.name.clone().unwrap();
                self.log.push(format!("owners {name}"));
                self.claims.insert(name, claim);
            }
        }
        true
    }

    /// Marks a pod Running and Ready as of now.
    pub fn ready(&mut self, name: &str) {
        let now = Time(Timestamp::from_millisecond(self.now_ms).unwrap());
        let p = self.pods.get_mut(name).unwrap();
        p.status = Some(PodStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(now),
                ..Default::default()
            }]),
            ..Default::default()
        });
    }

    /// Marks a pod Running but not Ready.
    pub fn unready(&mut self, name: &str) {
        let p = self.pods.get_mut(name).unwrap();
        p.status = Some(PodStatus {
            phase: Some("Running".into()),
            ..Default::default()
        });
    }

    pub fn fail(&mut self, name: &str) {
        let p = self.pods.get_mut(name).unwrap();
        p.status = Some(PodStatus {
            phase: Some("Failed".into()),
            ..Default::default()
        });
    }

    /// Readies every Pending pod.
    pub fn ready_pending(&mut self) {
        let pending: Vec<String> = self
            .pods
            .iter()
            .filter(|(_, p)| phase(p) == "Pending")
            .map(|(n, _)| n.clone())
            .collect();
        for n in pending {
            self.ready(&n);
        }
    }

    /// Removes terminating pods (the kubelet finished).
    pub fn reap(&mut self) {
        self.pods
            .retain(|_, p| p.metadata.deletion_timestamp.is_none());
    }

    /// Syncs, readies and reaps until nothing happens; returns the number of syncs.
    pub fn settle(&mut self) -> usize {
        for i in 0..500 {
            let p = self.sync();
            self.ready_pending();
            self.reap();
            if p.actions.is_empty() && self.sync().actions.is_empty() {
                return i;
            }
            self.now_ms += 1000;
        }
        panic!("did not settle: {:?}", self.log);
    }

    pub fn revision_of(&self, pod: &str) -> String {
        super::super::identity::pod_revision(&self.pods[pod]).to_string()
    }

    pub fn image_of(&self, pod: &str) -> String {
        self.pods[pod].spec.as_ref().unwrap().containers[0]
            .image
            .clone()
            .unwrap()
    }

    pub fn status(&self) -> k8s_openapi::api::apps::v1::StatefulSetStatus {
        self.set.status.clone().unwrap()
    }

    /// Log entries since the mark, then a new mark.
    pub fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }
}

fn created_ms(r: &ControllerRevision) -> Option<i64> {
    r.metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.as_millisecond())
}

pub fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}
