//! Taints and tolerations: upstream's `ToleratesTaint`, shared by the scheduler, the DaemonSet
//! and node lifecycle controllers, and the API server's DefaultTolerationSeconds admission.

use k8s_openapi::api::core::v1::Toleration;

/// Whether one of `tolerations` tolerates the taint `key=value:effect` (`ToleratesTaint`).
pub fn tolerates(tolerations: &[Toleration], key: &str, value: &str, effect: &str) -> bool {
    tolerations.iter().any(|t| {
        let effect_ok = t
            .effect
            .as_deref()
            .is_none_or(|e| e.is_empty() || e == effect);
        let key_ok = match t.operator.as_deref().unwrap_or("Equal") {
            "Exists" => t.key.as_deref().is_none_or(|k| k.is_empty() || k == key),
            _ => t.key.as_deref() == Some(key) && t.value.as_deref().unwrap_or("") == value,
        };
        effect_ok && key_ok
    })
}
