//! The authorizers' in-memory view of the store: roles, bindings indexed by subject, and the
//! node graph's pods and claims, kept current by store watches so that no request reads the
//! store to be authorized.

use super::rules::Rule;
use futures::StreamExt;
use ordo_store::{Store, WatchEvent};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// A subject as authorization matches it: a user name (ServiceAccounts as
/// `system:serviceaccount:NS:NAME`) or a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// A user name.
    User(String),
    /// A group name.
    Group(String),
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Its name.
    pub name: String,
    /// Its namespace (empty for a ClusterRoleBinding).
    pub namespace: String,
    /// `Role` or `ClusterRole`.
    pub role_kind: String,
    /// The role's name.
    pub role_name: String,
    /// The subjects, as matched, with upstream's description of each (`Group "g"`).
    pub subjects: Vec<(Subject, String)>,
}

/// A Role or ClusterRole.
#[derive(Debug, Clone, Default)]
pub struct RoleEntry {
    /// Its rules.
    pub rules: Arc<Vec<Rule>>,
    /// Its labels (what aggregation selects on).
    pub labels: BTreeSet<(String, String)>,
}

/// The objects one pod references, for the node graph.
#[derive(Debug, Clone, Default)]
pub struct PodRefs {
    /// The node it is bound to.
    pub node: String,
    /// Secrets, ConfigMaps, claims and the ServiceAccount it uses: (resource, name).
    pub refs: BTreeSet<(&'static str, String)>,
}

/// What the index holds.
#[derive(Debug, Default)]
pub struct State {
    /// Roles by (namespace, name).
    pub roles: HashMap<(String, String), RoleEntry>,
    /// ClusterRoles by name.
    pub cluster_roles: HashMap<String, RoleEntry>,
    /// ClusterRoleBindings by name.
    pub cluster_bindings: HashMap<String, Binding>,
    /// RoleBindings by (namespace, name).
    pub bindings: HashMap<(String, String), Binding>,
    /// ClusterRoleBinding names by subject.
    pub cluster_by_subject: HashMap<Subject, BTreeSet<String>>,
    /// RoleBinding names by (namespace, subject).
    pub by_subject: HashMap<(String, Subject), BTreeSet<String>>,
    /// Pods by (namespace, name).
    pub pods: HashMap<(String, String), PodRefs>,
    /// The volume each claim is bound to, by (namespace, name).
    pub claims: HashMap<(String, String), String>,
    /// The last revision each watched prefix has delivered.
    pub seen: HashMap<&'static str, i64>,
}

/// The watched resources: store prefix and short name.
const WATCHED: &[(&str, &str)] = &[
    ("/registry/roles.rbac.authorization.k8s.io/", "roles"),
    (
        "/registry/clusterroles.rbac.authorization.k8s.io/",
        "clusterroles",
    ),
    (
        "/registry/rolebindings.rbac.authorization.k8s.io/",
        "rolebindings",
    ),
    (
        "/registry/clusterrolebindings.rbac.authorization.k8s.io/",
        "clusterrolebindings",
    ),
    ("/registry/pods/", "pods"),
    (
        "/registry/persistentvolumeclaims/",
        "persistentvolumeclaims",
    ),
];

/// The index and how to wait for it.
#[derive(Default)]
pub struct Index {
    state: RwLock<State>,
    changed: Notify,
}

impl Index {
    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Lists every watched prefix, then follows it; relists when a watch ends.
    pub fn start(self: &Arc<Self>, store: Arc<dyn Store>) {
        for (prefix, resource) in WATCHED {
            let (index, store) = (self.clone(), store.clone());
            tokio::spawn(async move {
                loop {
                    if let Err(e) = index.follow(&store, prefix, resource).await {
                        tracing::warn!(resource, "authorization index watch ended: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
        }
    }

    async fn follow(
        &self,
        store: &Arc<dyn Store>,
        prefix: &str,
        resource: &'static str,
    ) -> Result<(), ordo_store::StoreError> {
        let page = store.list(prefix, None, 0).await?;
        {
            let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
            st.clear(resource);
            for kv in &page.items {
                if let Ok(v) = serde_json::from_slice::<Value>(&kv.value) {
                    st.put(resource, &kv.key, &v);
                }
            }
            st.seen.insert(resource, page.revision);
        }
        self.changed.notify_waiters();
        let mut stream = store.watch(prefix, page.revision).await?;
        while let Some(ev) = stream.next().await {
            let ev = ev?;
            {
                let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
                match &ev {
                    WatchEvent::Put { kv, .. } => {
                        if let Ok(v) = serde_json::from_slice::<Value>(&kv.value) {
                            st.put(resource, &kv.key, &v);
                        }
                    }
                    WatchEvent::Delete { prev, .. } => st.delete(resource, &prev.key),
                }
                st.seen.insert(resource, ev.revision());
            }
            self.changed.notify_waiters();
        }
        Ok(())
    }

    /// Waits (at most five seconds) until `done` holds, e.g. until the index has seen a write.
    pub async fn wait_until(&self, done: impl Fn(&State) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let notified = self.changed.notified();
            if self.read(&done) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                tracing::warn!("authorization index did not catch up within 5 s");
                return;
            }
        }
    }
}

impl Index {
    /// Waits until the index shows a write of this server: an object of `resource` written at
    /// `revision`, or (`None`) deleted, so that the next request is authorized by it.
    pub async fn settle(&self, resource: &str, ns: &str, name: &str, revision: Option<i64>) {
        let Some((_, res)) = WATCHED.iter().find(|(_, r)| *r == resource) else {
            return;
        };
        let (ns, name) = (ns.to_string(), name.to_string());
        self.wait_until(|st| match revision {
            Some(rev) => st.seen.get(res).is_some_and(|s| *s >= rev),
            None => !st.contains(res, &ns, &name),
        })
        .await
    }
}

/// `(namespace, name)` of a store key `/registry/RES/[NS/]NAME`.
fn key_parts(key: &str, namespaced: bool) -> (String, String) {
    let parts: Vec<&str> = key.trim_start_matches('/').split('/').collect();
    let name = parts.last().copied().unwrap_or("").to_string();
    let ns = if namespaced && parts.len() >= 4 {
        parts[2].to_string()
    } else {
        String::new()
    };
    (ns, name)
}

fn labels(v: &Value) -> BTreeSet<(String, String)> {
    v.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// A binding's subjects as matched and described (upstream `appliesToUser`, `describeSubject`).
fn subjects(v: &Value, binding_ns: &str) -> Vec<(Subject, String)> {
    let mut out = Vec::new();
    for sub in v
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s(sub, "/name");
        match s(sub, "/kind") {
            "User" => out.push((Subject::User(name.into()), format!("User {:?}", name))),
            "Group" => out.push((Subject::Group(name.into()), format!("Group {:?}", name))),
            "ServiceAccount" => {
                let ns = match s(sub, "/namespace") {
                    "" => binding_ns,
                    ns => ns,
                };
                out.push((
                    Subject::User(format!("system:serviceaccount:{ns}:{name}")),
                    format!("ServiceAccount {:?}", format!("{name}/{ns}")),
                ));
            }
            _ => {}
        }
    }
    out
}

/// What a pod references: its Secrets (volumes, env, image pull secrets), ConfigMaps, claims
/// and ServiceAccount.
pub fn pod_refs(pod: &Value) -> PodRefs {
    let mut refs = BTreeSet::new();
    let spec = pod.get("spec").cloned().unwrap_or_default();
    let sa = match s(&spec, "/serviceAccountName") {
        "" => "default",
        n => n,
    };
    refs.insert(("serviceaccounts", sa.to_string()));
    for p in spec
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        refs.insert(("secrets", s(p, "/name").to_string()));
    }
    for vol in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add_volume_refs(vol, &mut refs);
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
                let from = e.get("valueFrom").cloned().unwrap_or_default();
                if let Some(n) = from.pointer("/secretKeyRef/name").and_then(Value::as_str) {
                    refs.insert(("secrets", n.to_string()));
                }
                if let Some(n) = from
                    .pointer("/configMapKeyRef/name")
                    .and_then(Value::as_str)
                {
                    refs.insert(("configmaps", n.to_string()));
                }
            }
            for e in c
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = e.pointer("/secretRef/name").and_then(Value::as_str) {
                    refs.insert(("secrets", n.to_string()));
                }
                if let Some(n) = e.pointer("/configMapRef/name").and_then(Value::as_str) {
                    refs.insert(("configmaps", n.to_string()));
                }
            }
        }
    }
    PodRefs {
        node: s(pod, "/spec/nodeName").to_string(),
        refs,
    }
}

fn add_volume_refs(vol: &Value, refs: &mut BTreeSet<(&'static str, String)>) {
    if let Some(n) = vol.pointer("/secret/secretName").and_then(Value::as_str) {
        refs.insert(("secrets", n.to_string()));
    }
    if let Some(n) = vol.pointer("/configMap/name").and_then(Value::as_str) {
        refs.insert(("configmaps", n.to_string()));
    }
    if let Some(n) = vol
        .pointer("/persistentVolumeClaim/claimName")
        .and_then(Value::as_str)
    {
        refs.insert(("persistentvolumeclaims", n.to_string()));
    }
    for src in vol
        .pointer("/projected/sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(n) = src.pointer("/secret/name").and_then(Value::as_str) {
            refs.insert(("secrets", n.to_string()));
        }
        if let Some(n) = src.pointer("/configMap/name").and_then(Value::as_str) {
            refs.insert(("configmaps", n.to_string()));
        }
    }
}

impl State {
    fn clear(&mut self, resource: &str) {
        match resource {
            "roles" => self.roles.clear(),
            "clusterroles" => self.cluster_roles.clear(),
            "rolebindings" => {
                self.bindings.clear();
                self.by_subject.clear();
            }
            "clusterrolebindings" => {
                self.cluster_bindings.clear();
                self.cluster_by_subject.clear();
            }
            "pods" => self.pods.clear(),
            "persistentvolumeclaims" => self.claims.clear(),
            _ => {}
        }
    }

    fn put(&mut self, resource: &str, key: &str, v: &Value) {
        match resource {
            "roles" | "clusterroles" => {
                let entry = RoleEntry {
                    rules: Arc::new(Rule::parse_all(v.get("rules"))),
                    labels: labels(v),
                };
                if resource == "roles" {
                    self.roles.insert(key_parts(key, true), entry);
                } else {
                    self.cluster_roles.insert(key_parts(key, false).1, entry);
                }
            }
            "rolebindings" | "clusterrolebindings" => {
                self.delete(resource, key);
                let namespaced = resource == "rolebindings";
                let (ns, name) = key_parts(key, namespaced);
                let b = Binding {
                    name: name.clone(),
                    namespace: ns.clone(),
                    role_kind: s(v, "/roleRef/kind").to_string(),
                    role_name: s(v, "/roleRef/name").to_string(),
                    subjects: subjects(v, &ns),
                };
                for (sub, _) in &b.subjects {
                    if namespaced {
                        self.by_subject
                            .entry((ns.clone(), sub.clone()))
                            .or_default()
                            .insert(name.clone());
                    } else {
                        self.cluster_by_subject
                            .entry(sub.clone())
                            .or_default()
                            .insert(name.clone());
                    }
                }
                if namespaced {
                    self.bindings.insert((ns, name), b);
                } else {
                    self.cluster_bindings.insert(name, b);
                }
            }
            "pods" => {
                self.pods.insert(key_parts(key, true), pod_refs(v));
            }
            "persistentvolumeclaims" => {
                self.claims
                    .insert(key_parts(key, true), s(v, "/spec/volumeName").to_string());
            }
            _ => {}
        }
    }

    fn delete(&mut self, resource: &str, key: &str) {
        match resource {
            "roles" => {
                self.roles.remove(&key_parts(key, true));
            }
            "clusterroles" => {
                self.cluster_roles.remove(&key_parts(key, false).1);
            }
            "rolebindings" => {
                let (ns, name) = key_parts(key, true);
                if let Some(b) = self.bindings.remove(&(ns.clone(), name.clone())) {
                    for (sub, _) in b.subjects {
                        let k = (ns.clone(), sub);
                        if let Some(set) = self.by_subject.get_mut(&k) {
                            set.remove(&name);
                            if set.is_empty() {
                                self.by_subject.remove(&k);
                            }
                        }
                    }
                }
            }
            "clusterrolebindings" => {
                let name = key_parts(key, false).1;
                if let Some(b) = self.cluster_bindings.remove(&name) {
                    for (sub, _) in b.subjects {
                        if let Some(set) = self.cluster_by_subject.get_mut(&sub) {
                            set.remove(&name);
                            if set.is_empty() {
                                self.cluster_by_subject.remove(&sub);
                            }
                        }
                    }
                }
            }
            "pods" => {
                self.pods.remove(&key_parts(key, true));
            }
            "persistentvolumeclaims" => {
                self.claims.remove(&key_parts(key, true));
            }
            _ => {}
        }
    }

    fn contains(&self, resource: &str, ns: &str, name: &str) -> bool {
        let key = (ns.to_string(), name.to_string());
        match resource {
            "roles" => self.roles.contains_key(&key),
            "clusterroles" => self.cluster_roles.contains_key(name),
            "rolebindings" => self.bindings.contains_key(&key),
            "clusterrolebindings" => self.cluster_bindings.contains_key(name),
            _ => false,
        }
    }

    /// Whether every watched prefix has been listed once.
    pub fn primed(&self) -> bool {
        WATCHED.iter().all(|(_, r)| self.seen.contains_key(r))
    }

    /// The rules of the role a binding references (empty when the role does not exist).
    pub fn role_rules(&self, kind: &str, ns: &str, name: &str) -> Option<Arc<Vec<Rule>>> {
        match kind {
            "Role" => self
                .roles
                .get(&(ns.to_string(), name.to_string()))
                .map(|r| r.rules.clone()),
            "ClusterRole" => self.cluster_roles.get(name).map(|r| r.rules.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bindings_are_indexed_by_subject_and_unindexed_on_delete() {
        let mut st = State::default();
        let key = "/registry/rolebindings.rbac.authorization.k8s.io/ns/rb";
        st.put(
            "rolebindings",
            key,
            &json!({"roleRef": {"kind": "Role", "name": "r"},
                    "subjects": [{"kind": "ServiceAccount", "name": "app"}, {"kind": "Group", "name": "g"}]}),
        );
        let sa = Subject::User("system:serviceaccount:ns:app".into());
        assert!(st.by_subject[&("ns".into(), sa.clone())].contains("rb"));
        st.delete("rolebindings", key);
        assert!(st.by_subject.is_empty());
        assert!(st.bindings.is_empty());
    }

    #[test]
    fn pods_reference_what_they_use() {
        let r = pod_refs(&json!({"spec": {"nodeName": "n1",
            "volumes": [{"name": "a", "secret": {"secretName": "s1"}}, {"name": "b", "persistentVolumeClaim": {"claimName": "c"}}],
            "containers": [{"name": "c", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]}]}}));
        assert_eq!(r.node, "n1");
        assert!(r.refs.contains(&("secrets", "s1".into())));
        assert!(r.refs.contains(&("configmaps", "cm".into())));
        assert!(r.refs.contains(&("persistentvolumeclaims", "c".into())));
        assert!(r.refs.contains(&("serviceaccounts", "default".into())));
    }
}
