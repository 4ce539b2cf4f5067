//! The files ordo writes for a pod and bind-mounts into its containers: `/etc/hosts`,
//! `/etc/hostname`, `/etc/resolv.conf`, with the kubelet's contents; and the JSON files that
//! keep what survives a restart about pods and containers.

use anyhow::Context;
use k8s_openapi::api::core::v1::Pod;
use std::net::Ipv4Addr;
use std::path::Path;

/// Cluster DNS settings of the node.
#[derive(Clone, Debug)]
pub struct Dns {
    /// The cluster DNS Service address (`10.96.0.10`).
    pub nameserver: Ipv4Addr,
    /// The cluster domain (`cluster.local`).
    pub domain: String,
}

impl Default for Dns {
    fn default() -> Dns {
        Dns {
            nameserver: Ipv4Addr::new(10, 96, 0, 10),
            domain: "cluster.local".into(),
        }
    }
}

/// The pod's host name: `spec.hostname`, else the pod name (truncated to 63 bytes).
pub fn hostname(pod: &Pod) -> String {
    let h = pod
        .spec
        .as_ref()
        .and_then(|s| s.hostname.clone())
        .filter(|h| !h.is_empty())
        .or_else(|| pod.metadata.name.clone())
        .unwrap_or_else(|| "pod".into());
    let h = &h[..h.len().min(63)];
    h.trim_end_matches(['-', '.']).to_string()
}

/// The pod's fully qualified name when it has `hostname` and `subdomain`:
/// `<hostname>.<subdomain>.<namespace>.svc.<domain>`.
pub fn fqdn(pod: &Pod, domain: &str) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let sub = spec.subdomain.as_ref().filter(|s| !s.is_empty())?;
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    Some(format!("{}.{sub}.{ns}.svc.{domain}", hostname(pod)))
}

/// The kubelet's managed `/etc/hosts`; `host_aliases` entries are appended.
pub fn hosts(pod: &Pod, ip: Option<Ipv4Addr>, domain: &str) -> String {
    let mut s = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    if let Some(ip) = ip {
        match fqdn(pod, domain) {
            Some(f) => s.push_str(&format!("{ip}\t{f}\t{}\n", hostname(pod))),
            None => s.push_str(&format!("{ip}\t{}\n", hostname(pod))),
        }
    }
    let aliases = pod
        .spec
        .as_ref()
        .and_then(|sp| sp.host_aliases.clone())
        .unwrap_or_default();
    if !aliases.is_empty() {
        s.push_str("\n# Entries added by HostAliases.\n");
        for a in aliases {
            s.push_str(&format!(
                "{}\t{}\n",
                a.ip,
                a.hostnames.unwrap_or_default().join("\t")
            ));
        }
    }
    s
}

/// `/etc/resolv.conf` per the pod's `dnsPolicy` and `dnsConfig`. `host` is the node's own
/// resolv.conf, used for `Default` and for host-network pods with `ClusterFirst`.
pub fn resolv_conf(pod: &Pod, dns: &Dns, host: &str) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let host_network = spec.host_network.unwrap_or(false);
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let d = &dns.domain;
    let (mut servers, mut search, mut options): (Vec<String>, Vec<String>, Vec<String>) =
        match policy {
            "None" => (vec![], vec![], vec![]),
            "Default" => parse_host(host),
            "ClusterFirst" if host_network => parse_host(host),
            _ => (
                vec![dns.nameserver.to_string()],
                vec![format!("{ns}.svc.{d}"), format!("svc.{d}"), d.clone()],
                vec!["ndots:5".into()],
            ),
        };
    if let Some(cfg) = &spec.dns_config {
        servers.extend(cfg.nameservers.clone().unwrap_or_default());
        search.extend(cfg.searches.clone().unwrap_or_default());
        for o in cfg.options.clone().unwrap_or_default() {
            let opt = match o.value {
                Some(v) => format!("{}:{v}", o.name.clone().unwrap_or_default()),
                None => o.name.clone().unwrap_or_default(),
            };
            let key = opt.split(':').next().unwrap_or_default().to_string();
            options.retain(|x| x.split(':').next() != Some(&key));
            options.push(opt);
        }
    }
    let mut s = String::new();
    if !search.is_empty() {
        s.push_str(&format!("search {}\n", search.join(" ")));
    }
    for n in servers.iter().take(3) {
        s.push_str(&format!("nameserver {n}\n"));
    }
    if !options.is_empty() {
        s.push_str(&format!("options {}\n", options.join(" ")));
    }
    s
}

fn parse_host(host: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut n, mut s, mut o) = (vec![], vec![], vec![]);
    for l in host.lines() {
        let mut w = l.split_whitespace();
        match w.next() {
            Some("nameserver") => n.extend(w.map(str::to_string)),
            Some("search") | Some("domain") => s.extend(w.map(str::to_string)),
            Some("options") => o.extend(w.map(str::to_string)),
            _ => {}
        }
    }
    (n, s, o)
}

/// Writes `v` as JSON to `path` atomically (a temporary file renamed over it).
pub(super) fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(v)?)?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Reads JSON from `path`; None when it is missing or unreadable.
pub(super) fn read_json<T: for<'de> serde::Deserialize<'de>>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{HostAlias, PodDNSConfig, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod(name: &str, hostname: Option<&str>, subdomain: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("shop".into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                hostname: hostname.map(Into::into),
                subdomain: subdomain.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn hosts_has_pod_ip_name_and_fqdn() {
        let ip = Some(Ipv4Addr::new(10, 244, 0, 7));
        let h = hosts(&pod("web-0", None, None), ip, "cluster.local");
        assert!(h.starts_with("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"));
        assert!(h.ends_with("10.244.0.7\tweb-0\n"), "{h}");
        let h = hosts(
            &pod("web-0", Some("web-0"), Some("nginx")),
            ip,
            "cluster.local",
        );
        assert!(
            h.ends_with("10.244.0.7\tweb-0.nginx.shop.svc.cluster.local\tweb-0\n"),
            "{h}"
        );
        let mut p = pod("a", None, None);
        p.spec.as_mut().unwrap().host_aliases = Some(vec![HostAlias {
            ip: "10.1.2.3".into(),
            hostnames: Some(vec!["foo".into(), "bar".into()]),
        }]);
        assert!(hosts(&p, ip, "cluster.local")
            .ends_with("# Entries added by HostAliases.\n10.1.2.3\tfoo\tbar\n"));
        assert_eq!(hostname(&pod("x", Some("h1"), None)), "h1");
    }

    #[test]
    fn resolv_conf_for_cluster_first_default_and_config() {
        let dns = Dns::default();
        let host = "nameserver 1.1.1.1\nsearch example.com\n";
        assert_eq!(resolv_conf(&pod("a", None, None), &dns, host), "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
        let mut p = pod("a", None, None);
        p.spec.as_mut().unwrap().dns_policy = Some("Default".into());
        assert_eq!(
            resolv_conf(&p, &dns, host),
            "search example.com\nnameserver 1.1.1.1\n"
        );
        p.spec.as_mut().unwrap().dns_policy = Some("None".into());
        p.spec.as_mut().unwrap().dns_config = Some(PodDNSConfig {
            nameservers: Some(vec!["10.0.0.53".into()]),
            searches: Some(vec!["a.b".into()]),
            options: Some(vec![k8s_openapi::api::core::v1::PodDNSConfigOption {
                name: Some("ndots".into()),
                value: Some("2".into()),
            }]),
        });
        assert_eq!(
            resolv_conf(&p, &dns, host),
            "search a.b\nnameserver 10.0.0.53\noptions ndots:2\n"
        );
    }
}
