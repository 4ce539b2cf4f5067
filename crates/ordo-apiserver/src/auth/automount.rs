//! Admission `ServiceAccount`, its token volume part: unless the pod or its ServiceAccount says
//! `automountServiceAccountToken: false`, a pod gets a projected `kube-api-access-XXXXX` volume
//! (a ServiceAccount token, the cluster CA from `kube-root-ca.crt`, the namespace) mounted
//! read-only at `/var/run/secrets/kubernetes.io/serviceaccount` in every container that has
//! nothing mounted there, as upstream's admission plugin does.

use crate::ApiServer;
use ordo_api::resources;
use ordo_api::status::ApiError;
use serde_json::{json, Value};

/// Where the token volume is mounted (upstream's `DefaultAPITokenMountPath`).
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The prefix of the token volume's name.
pub const TOKEN_VOLUME_PREFIX: &str = "kube-api-access-";
/// The expiry the kubelet asks for the volume's token (extended by the API server).
pub const TOKEN_VOLUME_EXPIRATION_SECONDS: i64 = 60 * 60 + 7;

/// The projected volume upstream's admission adds.
fn token_volume(name: &str) -> Value {
    json!({
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_VOLUME_EXPIRATION_SECONDS, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
            "defaultMode": 0o644,
        },
    })
}

/// Adds the token volume and its mounts to `pod` (pure; `suffix` names a new volume).
pub fn mount_token(pod: &mut Value, suffix: &str) {
    let existing = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .find(|n| n.starts_with(TOKEN_VOLUME_PREFIX))
        .map(str::to_string);
    let name = existing
        .clone()
        .unwrap_or_else(|| format!("{TOKEN_VOLUME_PREFIX}{suffix}"));
    let mount = json!({"name": name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH});
    let mut needed = false;
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod
            .get_mut("spec")
            .and_then(|s| s.get_mut(list))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in containers {
            let has = c
                .get("volumeMounts")
                .and_then(Value::as_array)
                .is_some_and(|m| {
                    m.iter().any(|m| {
                        m.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT_PATH)
                    })
                });
            if has {
                continue;
            }
            if !c.get("volumeMounts").is_some_and(Value::is_array) {
                c["volumeMounts"] = json!([]);
            }
            c["volumeMounts"]
                .as_array_mut()
                .expect("array")
                .push(mount.clone());
            needed = true;
        }
    }
    if existing.is_none() && needed {
        if !pod["spec"].get("volumes").is_some_and(Value::is_array) {
            pod["spec"]["volumes"] = json!([]);
        }
        pod["spec"]["volumes"]
            .as_array_mut()
            .expect("array")
            .push(token_volume(&name));
    }
}

impl ApiServer {
    /// Mounts the ServiceAccount token volume into a new pod unless automounting is off (the
    /// pod's `automountServiceAccountToken` wins over its ServiceAccount's).
    pub(crate) async fn admit_service_account_token(
        &self,
        ns: &str,
        pod: &mut Value,
    ) -> Result<(), ApiError> {
        let sa_name = pod
            .pointer("/spec/serviceAccountName")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string();
        let automount = match pod
            .pointer("/spec/automountServiceAccountToken")
            .and_then(Value::as_bool)
        {
            Some(b) => b,
            None => {
                let info = resources::find("", "v1", "serviceaccounts")
                    .expect("serviceaccounts are served");
                match self.read(info, Some(ns), &sa_name).await {
                    Ok((sa, _)) => sa
                        .get("automountServiceAccountToken")
                        .and_then(Value::as_bool)
                        .unwrap_or(true),
                    Err(e) if e.code == 404 => true,
                    Err(e) => return Err(e),
                }
            }
        };
        if automount {
            mount_token(pod, &crate::meta::random_suffix(5));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_container_without_a_mount_there_gets_the_volume() {
        let mut pod = json!({"spec": {
            "initContainers": [{"name": "i"}],
            "containers": [
                {"name": "a"},
                {"name": "b", "volumeMounts": [{"name": "own", "mountPath": TOKEN_MOUNT_PATH}]},
            ],
        }});
        mount_token(&mut pod, "abcde");
        let vols = pod["spec"]["volumes"].as_array().unwrap();
        assert_eq!(vols.len(), 1);
        assert_eq!(vols[0]["name"], "kube-api-access-abcde");
        assert_eq!(
            vols[0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3607
        );
        assert_eq!(
            pod["spec"]["initContainers"][0]["volumeMounts"][0]["name"],
            "kube-api-access-abcde"
        );
        assert_eq!(
            pod["spec"]["containers"][0]["volumeMounts"][0]["readOnly"],
            true
        );
        assert_eq!(
            pod["spec"]["containers"][1]["volumeMounts"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // Admitting again (an update of the template) adds nothing.
        let before = pod.clone();
        mount_token(&mut pod, "zzzzz");
        assert_eq!(pod, before);
    }
}
