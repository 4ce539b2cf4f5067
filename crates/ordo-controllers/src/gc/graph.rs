//! Pure garbage-collection decisions (upstream `garbagecollector.go`: `attemptToDeleteItem`,
//! `processDeletingDependentsItem`, `attemptToOrphan`) over a snapshot of every object's
//! identity, owner references, finalizers and deletion state.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::{HashMap, HashSet};

pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

/// One object of the snapshot.
#[derive(Clone, Debug, Default)]
pub struct Node {
    /// Index of its resource in the collector's resource table.
    pub resource: usize,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub owners: Vec<OwnerReference>,
    pub finalizers: Vec<String>,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    pub resource_version: Option<String>,
    /// For a pod controlled by a StatefulSet (named `<set>-<n>`): `n`.
    pub ordinal: Option<i32>,
}

impl Node {
    fn has(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }
}

/// Deletion propagation for a delete the collector issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Background,
    Foreground,
    Orphan,
}

/// One write of the collector; `node` indexes the snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Drop the owner references with these uids.
    RemoveOwners { node: usize, uids: Vec<String> },
    /// Delete the object (with a uid precondition).
    Delete { node: usize, policy: Policy },
    /// Remove a finalizer (the API server deletes the object when it was the last one).
    RemoveFinalizer {
        node: usize,
        finalizer: &'static str,
    },
}

/// Owner references whose uid is not in the snapshot: the caller checks each against the
/// API (the owner may be newer than the snapshot) before calling [`decide`].
pub fn unknown_owners(nodes: &[Node]) -> Vec<(usize, OwnerReference)> {
    let known: HashSet<&str> = nodes.iter().map(|n| n.uid.as_str()).collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.deleting {
            continue;
        }
        for r in &n.owners {
            if !known.contains(r.uid.as_str()) && seen.insert(r.uid.clone()) {
                out.push((i, r.clone()));
            }
        }
    }
    out
}

#[derive(PartialEq)]
enum Owner {
    Solid,
    Dangling,
    WaitingForDependents,
}

/// The controller reference of a node, if any.
fn controller(n: &Node) -> Option<&OwnerReference> {
    n.owners.iter().find(|r| r.controller == Some(true))
}

/// ordo's ordered deletion (beyond upstream): of the pods of an OrderedReady StatefulSet
/// (`ordered` holds the uids of such sets, gone or being deleted), only the highest ordinal is
/// deleted, and only once no pod of the set is terminating, so a deleted set's pods go in
/// descending ordinal order, each after the one above it is gone. Other deletions are kept.
pub fn order_deletions(
    nodes: &[Node],
    actions: Vec<Action>,
    ordered: &HashSet<String>,
) -> Vec<Action> {
    fn set_of<'a>(n: &'a Node, ordered: &HashSet<String>) -> Option<&'a str> {
        n.ordinal?;
        controller(n)
            .filter(|r| r.kind == "StatefulSet" && ordered.contains(&r.uid))
            .map(|r| r.uid.as_str())
    }
    /// Per ordered set: a pod is terminating; the highest (ordinal, node) to be deleted.
    #[derive(Clone, Copy, Default)]
    struct Members {
        terminating: bool,
        top: Option<(i32, usize)>,
    }
    let mut sets: HashMap<&str, Members> = HashMap::new();
    for n in nodes.iter().filter(|n| n.deleting) {
        if let Some(uid) = set_of(n, ordered) {
            sets.entry(uid).or_default().terminating = true;
        }
    }
    for a in &actions {
        if let Action::Delete { node, .. } = a {
            let n = &nodes[*node];
            if let (Some(uid), Some(ord)) = (set_of(n, ordered), n.ordinal) {
                let top = &mut sets.entry(uid).or_default().top;
                if top.is_none_or(|(o, _)| ord > o) {
                    *top = Some((ord, *node));
                }
            }
        }
    }
    actions
        .into_iter()
        .filter(|a| match a {
            Action::Delete { node, .. } => match set_of(&nodes[*node], ordered) {
                Some(uid) => {
                    let m = sets[uid];
                    !m.terminating && m.top.is_some_and(|(_, n)| n == *node)
                }
                None => true,
            },
            _ => true,
        })
        .collect()
}

/// Decides the collector's writes. `absent` holds owner uids confirmed gone; owners that
/// are neither in the snapshot nor confirmed gone count as present.
pub fn decide(nodes: &[Node], absent: &HashSet<String>) -> Vec<Action> {
    let by_uid: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.uid.as_str(), i))
        .collect();
    // owner uid -> (dependent, blockOwnerDeletion)
    let mut dependents: HashMap<&str, Vec<(usize, bool)>> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for r in &n.owners {
            dependents
                .entry(r.uid.as_str())
                .or_default()
                .push((i, r.block_owner_deletion == Some(true)));
        }
    }
    let mut out = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let deps = dependents
            .get(n.uid.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        if n.deleting && n.has(ORPHAN) {
            // Orphan: drop our reference from every dependent, then our finalizer.
            for (d, _) in deps {
                out.push(Action::RemoveOwners {
                    node: *d,
                    uids: vec![n.uid.clone()],
                });
            }
            if deps.is_empty() {
                out.push(Action::RemoveFinalizer {
                    node: i,
                    finalizer: ORPHAN,
                });
            }
            continue;
        }
        if n.deleting && n.has(FOREGROUND) {
            // Foreground: wait until no blocking dependent is left.
            if !deps.iter().any(|(_, block)| *block) {
                out.push(Action::RemoveFinalizer {
                    node: i,
                    finalizer: FOREGROUND,
                });
            }
            continue;
        }
        if n.deleting || n.owners.is_empty() {
            continue;
        }
        let state = |r: &OwnerReference| match by_uid.get(r.uid.as_str()) {
            Some(o) if nodes[*o].deleting && nodes[*o].has(FOREGROUND) => {
                Owner::WaitingForDependents
            }
            Some(_) => Owner::Solid,
            None if absent.contains(&r.uid) => Owner::Dangling,
            None => Owner::Solid,
        };
        let states: Vec<Owner> = n.owners.iter().map(state).collect();
        if states.contains(&Owner::Solid) {
            let uids: Vec<String> = n
                .owners
                .iter()
                .zip(&states)
                .filter(|(_, s)| **s != Owner::Solid)
                .map(|(r, _)| r.uid.clone())
                .collect();
            if !uids.is_empty() {
                out.push(Action::RemoveOwners { node: i, uids });
            }
        } else if states.contains(&Owner::WaitingForDependents) && !deps.is_empty() {
            out.push(Action::Delete {
                node: i,
                policy: Policy::Foreground,
            });
        } else {
            let policy = if n.has(ORPHAN) {
                Policy::Orphan
            } else if n.has(FOREGROUND) {
                Policy::Foreground
            } else {
                Policy::Background
            };
            out.push(Action::Delete { node: i, policy });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, owners: &[(&str, bool)]) -> Node {
        Node {
            name: name.into(),
            uid: format!("uid-{name}"),
            owners: owners
                .iter()
                .map(|(o, block)| OwnerReference {
                    uid: format!("uid-{o}"),
                    name: o.to_string(),
                    block_owner_deletion: Some(*block),
                    controller: Some(true),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn deleting(mut n: Node, fin: &str) -> Node {
        n.deleting = true;
        if !fin.is_empty() {
            n.finalizers.push(fin.into());
        }
        n
    }

    #[test]
    fn background_deletes_dependents_of_vanished_owner() {
        // Deployment gone: its RS is dangling -> deleted; pods wait for the RS to go.
        let nodes = vec![
            node("rs", &[("deploy", true)]),
            node("pod", &[("rs", true)]),
        ];
        let absent: HashSet<String> = ["uid-deploy".to_string()].into();
        assert_eq!(
            decide(&nodes, &absent),
            vec![Action::Delete {
                node: 0,
                policy: Policy::Background
            }]
        );
        // Unverified unknown owners are presumed present.
        assert!(decide(&nodes, &HashSet::new()).is_empty());
        assert_eq!(unknown_owners(&nodes).len(), 1);
    }

    #[test]
    fn foreground_deletes_dependents_first() {
        let nodes = vec![
            deleting(node("deploy", &[]), FOREGROUND),
            node("rs", &[("deploy", true)]),
            node("pod", &[("rs", true)]),
        ];
        // RS has dependents itself: deleted in foreground too; owner keeps its finalizer.
        assert_eq!(
            decide(&nodes, &HashSet::new()),
            vec![Action::Delete {
                node: 1,
                policy: Policy::Foreground
            }]
        );
        // RS now deleting in foreground: its pod is deleted, nobody is finalized yet.
        let nodes = vec![
            deleting(node("deploy", &[]), FOREGROUND),
            deleting(node("rs", &[("deploy", true)]), FOREGROUND),
            node("pod", &[("rs", true)]),
        ];
        assert_eq!(
            decide(&nodes, &HashSet::new()),
            vec![Action::Delete {
                node: 2,
                policy: Policy::Background
            }]
        );
        // Pod terminating: still blocks.
        let nodes = vec![
            deleting(node("deploy", &[]), FOREGROUND),
            deleting(node("rs", &[("deploy", true)]), FOREGROUND),
            deleting(node("pod", &[("rs", true)]), ""),
        ];
        assert!(decide(&nodes, &HashSet::new()).is_empty());
        // Pod gone: the RS's finalizer goes, then the deployment's.
        let nodes = vec![
            deleting(node("deploy", &[]), FOREGROUND),
            deleting(node("rs", &[("deploy", true)]), FOREGROUND),
        ];
        assert_eq!(
            decide(&nodes, &HashSet::new()),
            vec![Action::RemoveFinalizer {
                node: 1,
                finalizer: FOREGROUND
            }]
        );
        let nodes = vec![deleting(node("deploy", &[]), FOREGROUND)];
        assert_eq!(
            decide(&nodes, &HashSet::new()),
            vec![Action::RemoveFinalizer {
                node: 0,
                finalizer: FOREGROUND
            }]
        );
    }

    #[test]
    fn foreground_does_not_wait_for_non_blocking_dependents() {
        let nodes = vec![
            deleting(node("owner", &[]), FOREGROUND),
            node("cm", &[("owner", false)]),
        ];
        let acts = decide(&nodes, &HashSet::new());
        assert!(acts.contains(&Action::RemoveFinalizer {
            node: 0,
            finalizer: FOREGROUND
        }));
        assert!(acts.contains(&Action::Delete {
            node: 1,
            policy: Policy::Background
        }));
    }

    #[test]
    fn orphan_removes_owner_refs_then_finalizer() {
        let nodes = vec![
            deleting(node("deploy", &[]), ORPHAN),
            node("rs", &[("deploy", true)]),
            node("pod", &[("rs", true)]),
        ];
        assert_eq!(
            decide(&nodes, &HashSet::new()),
            vec![Action::RemoveOwners {
                node: 1,
                uids: vec!["uid-deploy".into()]
            }]
        );
        let nodes = vec![
            deleting(node("deploy", &[]), ORPHAN),
            node("rs", &[]),
            node("pod", &[("rs", true)]),
        ];
        assert_eq!(
            decide(&nodes, &HashSet::new()),
            vec![Action::RemoveFinalizer {
                node: 0,
                finalizer: ORPHAN
            }]
        );
    }

    #[test]
    fn solid_owner_keeps_dependent_and_drops_dangling_refs() {
        let nodes = vec![
            node("a", &[]),
            node("pvc", &[("a", false), ("gone", false)]),
        ];
        let absent: HashSet<String> = ["uid-gone".to_string()].into();
        assert_eq!(
            decide(&nodes, &absent),
            vec![Action::RemoveOwners {
                node: 1,
                uids: vec!["uid-gone".into()]
            }]
        );
    }

    /// A pod `set-<ord>` controlled by the StatefulSet `set`.
    fn member(ord: i32) -> Node {
        let mut n = node(&format!("set-{ord}"), &[("set", true)]);
        n.owners[0].kind = "StatefulSet".into();
        n.ordinal = Some(ord);
        n
    }

    #[test]
    fn ordered_set_pods_go_highest_first_one_at_a_time() {
        let absent: HashSet<String> = ["uid-set".to_string()].into();
        let ordered = absent.clone();
        let mut nodes = vec![
            member(0),
            member(2),
            member(1),
            node("cm", &[("set", true)]),
        ];
        let acts = order_deletions(&nodes, decide(&nodes, &absent), &ordered);
        let deleted: Vec<&str> = acts
            .iter()
            .filter_map(|a| match a {
                Action::Delete { node, .. } => Some(nodes[*node].name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            deleted,
            ["set-2", "cm"],
            "other dependents are not held back"
        );
        // set-2 terminating: nobody else goes.
        nodes[1].deleting = true;
        let acts = order_deletions(&nodes, decide(&nodes, &absent), &ordered);
        assert!(acts
            .iter()
            .all(|a| !matches!(a, Action::Delete { node, .. } if nodes[*node].ordinal.is_some())));
        // set-2 gone: set-1 next.
        nodes.remove(1);
        let acts = order_deletions(&nodes, decide(&nodes, &absent), &ordered);
        assert!(acts.contains(&Action::Delete {
            node: 1,
            policy: Policy::Background
        }));
        assert!(!acts
            .iter()
            .any(|a| matches!(a, Action::Delete { node: 0, .. })));
        // Not an ordered set (Parallel, opted out, or unknown): all at once, as upstream.
        let nodes = vec![member(0), member(1)];
        let acts = order_deletions(&nodes, decide(&nodes, &absent), &HashSet::new());
        assert_eq!(acts.len(), 2);
    }

    #[test]
    fn ordered_foreground_deletion_keeps_the_set_until_its_last_pod_is_gone() {
        let mut set = deleting(node("set", &[]), FOREGROUND);
        set.uid = "uid-set".into();
        let ordered: HashSet<String> = ["uid-set".to_string()].into();
        let nodes = vec![set.clone(), member(0), member(1)];
        let acts = order_deletions(&nodes, decide(&nodes, &HashSet::new()), &ordered);
        assert_eq!(
            acts,
            vec![Action::Delete {
                node: 2,
                policy: Policy::Background
            }]
        );
        let nodes = vec![set];
        assert_eq!(
            order_deletions(&nodes, decide(&nodes, &HashSet::new()), &ordered),
            vec![Action::RemoveFinalizer {
                node: 0,
                finalizer: FOREGROUND
            }]
        );
    }

    #[test]
    fn dangling_dependent_with_own_finalizers_keeps_its_policy() {
        let mut n = node("rs", &[("gone", true)]);
        n.finalizers.push(ORPHAN.into());
        let absent: HashSet<String> = ["uid-gone".to_string()].into();
        assert_eq!(
            decide(&[n], &absent),
            vec![Action::Delete {
                node: 0,
                policy: Policy::Orphan
            }]
        );
    }
}
