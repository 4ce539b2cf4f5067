//! The host ports a pod asks for (`containers[].ports[].hostPort`), and when two of them
//! collide: what upstream's scheduler (the `NodePorts` filter) and kubelet (its admission check)
//! compare.

use k8s_openapi::api::core::v1::Pod;

/// One host port: protocol, host IP (`0.0.0.0` when unset), port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// `TCP`, `UDP` or `SCTP` (the port's `protocol`, `TCP` when unset).
    pub protocol: String,
    /// The port's `hostIP`, `0.0.0.0` (every address) when unset or empty.
    pub ip: String,
    /// The port's `hostPort` on the node (always > 0).
    pub port: i32,
}

impl HostPort {
    /// Same protocol and port on overlapping addresses (`0.0.0.0` overlaps every address).
    pub fn conflicts(&self, other: &HostPort) -> bool {
        self.protocol == other.protocol
            && self.port == other.port
            && (self.ip == other.ip || self.ip == "0.0.0.0" || other.ip == "0.0.0.0")
    }
}

/// The host ports of the pod's containers (init containers included).
pub fn of(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let port = p.host_port.filter(|&h| h > 0)?;
            Some(HostPort {
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                ip: p
                    .host_ip
                    .clone()
                    .filter(|ip| !ip.is_empty())
                    .unwrap_or_else(|| "0.0.0.0".into()),
                port,
            })
        })
        .collect()
}

/// Whether any of `wanted` collides with any of `held`.
pub fn any_conflict<'a>(wanted: &[HostPort], held: impl IntoIterator<Item = &'a HostPort>) -> bool {
    held.into_iter()
        .any(|h| wanted.iter().any(|w| w.conflicts(h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ports: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "ports": ports}]}
        }))
        .unwrap()
    }

    #[test]
    fn host_ports_and_their_conflicts() {
        let web = of(&pod(serde_json::json!([
            {"containerPort": 80},
            {"containerPort": 21017, "hostPort": 21017}
        ])));
        assert_eq!(
            web,
            [HostPort {
                protocol: "TCP".into(),
                ip: "0.0.0.0".into(),
                port: 21017
            }]
        );
        let udp = of(&pod(
            serde_json::json!([{"containerPort": 1, "hostPort": 21017, "protocol": "UDP"}]),
        ));
        assert!(!any_conflict(&web, &udp));
        let specific = |ip: &str| {
            of(&pod(
                serde_json::json!([{"containerPort": 1, "hostPort": 21017, "hostIP": ip}]),
            ))
        };
        assert!(
            any_conflict(&web, &specific("127.0.0.1")),
            "0.0.0.0 overlaps"
        );
        assert!(!any_conflict(
            &specific("127.0.0.2"),
            &specific("127.0.0.1")
        ));
        assert!(any_conflict(&specific("127.0.0.1"), &specific("127.0.0.1")));
    }
}
