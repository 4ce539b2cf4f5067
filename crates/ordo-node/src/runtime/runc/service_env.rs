//! The Service environment variables the kubelet gives every container (`envvars.FromServices`):
//! `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT[_<PORT NAME>]` and the Docker-link style
//! `<NAME>_PORT...` variables, for the `kubernetes` Service of the `default` namespace always
//! (what in-cluster clients read) and, unless `enableServiceLinks: false`, for every Service of
//! the pod's namespace.

use k8s_openapi::api::core::v1::{Pod, Service};
use ordo_client::Shared;

fn env_name(s: &str) -> String {
    s.to_uppercase().replace('-', "_")
}

/// The variables of one Service (none for a headless Service or one without an address).
pub fn of_service(svc: &Service) -> Vec<(String, String)> {
    let Some(spec) = &svc.spec else {
        return Vec::new();
    };
    let ip = spec.cluster_ip.as_deref().unwrap_or("");
    if ip.is_empty() || ip == "None" {
        return Vec::new();
    }
    let ports = spec.ports.as_deref().unwrap_or_default();
    let Some(first) = ports.first() else {
        return Vec::new();
    };
    let name = env_name(svc.metadata.name.as_deref().unwrap_or_default());
    let proto = |p: &k8s_openapi::api::core::v1::ServicePort| {
        p.protocol.as_deref().unwrap_or("TCP").to_lowercase()
    };
    let mut out = vec![
        (format!("{name}_SERVICE_HOST"), ip.to_string()),
        (format!("{name}_SERVICE_PORT"), first.port.to_string()),
    ];
    for p in ports {
        if let Some(pn) = p.name.as_deref().filter(|n| !n.is_empty()) {
            out.push((
                format!("{name}_SERVICE_PORT_{}", env_name(pn)),
                p.port.to_string(),
            ));
        }
    }
    out.push((
        format!("{name}_PORT"),
        format!("{}://{ip}:{}", proto(first), first.port),
    ));
    for p in ports {
        let prefix = format!("{name}_PORT_{}_{}", p.port, proto(p).to_uppercase());
        out.push((prefix.clone(), format!("{}://{ip}:{}", proto(p), p.port)));
        out.push((format!("{prefix}_PROTO"), proto(p)));
        out.push((format!("{prefix}_PORT"), p.port.to_string()));
        out.push((format!("{prefix}_ADDR"), ip.to_string()));
    }
    out
}

/// The variables for `pod` from `services` (those of its namespace and of `default`).
pub fn for_pod(pod: &Pod, services: &[Service]) -> Vec<(String, String)> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let links = pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    let mut chosen: Vec<&Service> = services
        .iter()
        .filter(|s| {
            let sns = s.metadata.namespace.as_deref().unwrap_or("default");
            let name = s.metadata.name.as_deref().unwrap_or_default();
            (sns == "default" && name == "kubernetes") || (links && sns == ns)
        })
        .collect();
    chosen.sort_by_key(|s| s.metadata.name.clone());
    chosen.dedup_by_key(|s| (s.metadata.namespace.clone(), s.metadata.name.clone()));
    chosen.into_iter().flat_map(of_service).collect()
}

/// The Services the pod's variables come from, from the shared Service cache.
pub async fn services(cache: &Shared<Service>, pod: &Pod) -> Vec<Service> {
    cache.ready().await;
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let links = pod
        .spec
        .as_ref()
        .and_then(|s| s.enable_service_links)
        .unwrap_or(true);
    let mut out: Vec<Service> = Vec::new();
    if links {
        out.extend(cache.in_namespace(ns).iter().map(|s| (**s).clone()));
    }
    if !links || ns != "default" {
        out.extend(cache.get("default", "kubernetes").map(|s| (*s).clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(ns: &str, name: &str, ip: &str, ports: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": ports},
        }))
        .unwrap()
    }

    #[test]
    fn kubernetes_service_variables_are_the_kubelets() {
        let k = svc(
            "default",
            "kubernetes",
            "10.96.0.1",
            json!([{"name": "https", "port": 443, "protocol": "TCP"}]),
        );
        let pod: Pod = serde_json::from_value(json!({"metadata": {"namespace": "apps"}, "spec": {"containers": [], "enableServiceLinks": false}})).unwrap();
        let web = svc("apps", "web-front", "10.96.0.9", json!([{"port": 80}]));
        let env = for_pod(&pod, &[k.clone(), web.clone()]);
        let want: Vec<(String, String)> = [
            ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
            ("KUBERNETES_SERVICE_PORT", "443"),
            ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
            ("KUBERNETES_PORT", "tcp://10.96.0.1:443"),
            ("KUBERNETES_PORT_443_TCP", "tcp://10.96.0.1:443"),
            ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
            ("KUBERNETES_PORT_443_TCP_PORT", "443"),
            ("KUBERNETES_PORT_443_TCP_ADDR", "10.96.0.1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(env, want);
        // With service links, the namespace's Services too; headless ones have none.
        let pod: Pod = serde_json::from_value(
            json!({"metadata": {"namespace": "apps"}, "spec": {"containers": []}}),
        )
        .unwrap();
        let headless = svc("apps", "db", "None", json!([{"port": 5432}]));
        let env = for_pod(&pod, &[k, web, headless]);
        assert!(env.contains(&("WEB_FRONT_SERVICE_HOST".into(), "10.96.0.9".into())));
        assert!(env.contains(&("WEB_FRONT_PORT_80_TCP_PORT".into(), "80".into())));
        assert!(!env.iter().any(|(k, _)| k.starts_with("DB_")));
    }
}
