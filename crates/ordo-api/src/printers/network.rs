//! Service, Endpoints, EndpointSlice and NetworkPolicy printers.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    age, arr_at, col, format_labels, get, int_at, name, or, str_at, wide, Col, Printer, AGE, NAME,
};

const SERVICE_COLUMNS: &[Col] = &[
    NAME,
    col("Type", "Type determines how the Service is exposed."),
    col(
        "Cluster-IP",
        "The IP address of the service, usually assigned randomly.",
    ),
    col(
        "External-IP",
        "IP addresses for which nodes in the cluster also accept traffic.",
    ),
    col(
        "Port(s)",
        "The list of ports that are exposed by this service.",
    ),
    AGE,
    wide(
        "Selector",
        "Route service traffic to pods with label keys and values matching this selector.",
    ),
];

pub(crate) static SERVICE: Printer = Printer {
    columns: SERVICE_COLUMNS,
    cells: service_cells,
};

fn service_cells(svc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ty = or(str_at(svc, &["spec", "type"]), "ClusterIP");
    let cluster_ip = arr_at(svc, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .unwrap_or_else(|| str_at(svc, &["spec", "clusterIP"]));
    let ports: Vec<String> = arr_at(svc, &["spec", "ports"])
        .iter()
        .map(|p| {
            let port = int_at(p, &["port"]);
            let proto = or(str_at(p, &["protocol"]), "TCP");
            match int_at(p, &["nodePort"]) {
                np if np > 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name(svc),
        ty.into(),
        or(cluster_ip, "<none>").into(),
        external_ip(svc, ty).into(),
        ports.into(),
        age(svc, now),
        format_labels(get(svc, &["spec", "selector"])).into(),
    ]
}

/// Upstream `getServiceExternalIP` (always in wide mode, so never truncated).
fn external_ip(svc: &Value, ty: &str) -> String {
    let external: Vec<&str> = arr_at(svc, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match ty {
        "ClusterIP" | "NodePort" if external.is_empty() => "<none>".to_string(),
        "ClusterIP" | "NodePort" => external.join(","),
        "LoadBalancer" => {
            let lb: BTreeSet<&str> = arr_at(svc, &["status", "loadBalancer", "ingress"])
                .iter()
                .map(|i| or(str_at(i, &["ip"]), str_at(i, &["hostname"])))
                .filter(|s| !s.is_empty())
                .collect();
            if !external.is_empty() {
                lb.into_iter().chain(external).collect::<Vec<_>>().join(",")
            } else if !lb.is_empty() {
                lb.into_iter().collect::<Vec<_>>().join(",")
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str_at(svc, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

const ENDPOINTS_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Endpoints",
        "The set of all endpoints is the union of all subsets.",
    ),
    AGE,
];

pub(crate) static ENDPOINTS: Printer = Printer {
    columns: ENDPOINTS_COLUMNS,
    cells: endpoints_cells,
};

/// At most this many endpoints are listed before " + N more...".
const MAX_LISTED: usize = 3;

/// Go's `net.JoinHostPort`.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Upstream `formatEndpoints` (all ports).
fn format_endpoints(ep: &Value) -> String {
    let subsets = arr_at(ep, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for ss in subsets {
        let addrs = arr_at(ss, &["addresses"]);
        let ports = arr_at(ss, &["ports"]);
        // Headless services may have no ports: list bare IPs.
        let targets: Vec<Option<i64>> = if ports.is_empty() {
            vec![None]
        } else {
            ports.iter().map(|p| Some(int_at(p, &["port"]))).collect()
        };
        for port in targets {
            count += addrs.len();
            for addr in addrs {
                if list.len() == MAX_LISTED {
                    more = true;
                    break;
                }
                let ip = str_at(addr, &["ip"]);
                list.push(port.map_or_else(|| ip.to_string(), |p| join_host_port(ip, p)));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count - MAX_LISTED)
    } else {
        ret
    }
}

fn endpoints_cells(ep: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![name(ep), format_endpoints(ep).into(), age(ep, now)]
}

const ENDPOINT_SLICE_COLUMNS: &[Col] = &[
    NAME,
    col(
        "AddressType",
        "The type of address carried by this EndpointSlice.",
    ),
    col(
        "Ports",
        "The network ports exposed by each endpoint in this slice.",
    ),
    col("Endpoints", "A list of unique endpoints in this slice."),
    AGE,
];

pub(crate) static ENDPOINT_SLICE: Printer = Printer {
    columns: ENDPOINT_SLICE_COLUMNS,
    cells: endpoint_slice_cells,
};

const NETWORK_POLICY_COLUMNS: &[Col] = &[
    NAME,
    col(
        "Pod-Selector",
        "podSelector selects the pods to which this NetworkPolicy object applies. The array of rules is applied to any pods selected by this field. An empty selector matches all pods in the policy's namespace.",
    ),
    AGE,
];

pub(crate) static NETWORK_POLICY: Printer = Printer {
    columns: NETWORK_POLICY_COLUMNS,
    cells: network_policy_cells,
};

/// Upstream `metav1.FormatLabelSelector`: the selector's string form, `<none>` when empty,
/// `<error>` when it does not parse.
fn format_label_selector(sel: Option<&Value>) -> String {
    match crate::selector::LabelSelector::from_label_selector(sel.unwrap_or(&Value::Null)) {
        Ok(s) if s.is_empty() => "<none>".into(),
        Ok(s) => s.to_string(),
        Err(_) => "<error>".into(),
    }
}

fn network_policy_cells(np: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        name(np),
        format_label_selector(get(np, &["spec", "podSelector"])).into(),
        age(np, now),
    ]
}

/// Upstream `listWithMoreString` over all `items` (`<unset>` when empty).
fn list_with_more(items: Vec<String>) -> String {
    let count = items.len();
    let ret = items
        .into_iter()
        .take(MAX_LISTED)
        .collect::<Vec<_>>()
        .join(",");
    if count > MAX_LISTED {
        format!("{ret} + {} more...", count - MAX_LISTED)
    } else if ret.is_empty() {
        "<unset>".to_string()
    } else {
        ret
    }
}

fn endpoint_slice_cells(es: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let ports = arr_at(es, &["ports"])
        .iter()
        .map(|p| match (get(p, &["port"]), get(p, &["name"])) {
            (Some(port), _) => port.to_string(),
            (None, Some(name)) => name.as_str().unwrap_or("").to_string(),
            (None, None) => "*".to_string(),
        })
        .collect();
    let endpoints = arr_at(es, &["endpoints"])
        .iter()
        .flat_map(|e| arr_at(e, &["addresses"]))
        .map(|a| a.as_str().unwrap_or("").to_string())
        .collect();
    vec![
        name(es),
        str_at(es, &["addressType"]).into(),
        list_with_more(ports).into(),
        list_with_more(endpoints).into(),
        age(es, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::{json, Value};

    fn svc(spec: Value) -> Value {
        json!({"kind": "Service",
               "metadata": {"name": "nginx", "creationTimestamp": "2026-11-25T14:29:53Z"},
               "spec": spec})
    }

    #[test]
    fn network_policy_rows() {
        assert_eq!(names("NetworkPolicy"), ["Name", "Pod-Selector", "Age"]);
        let np = |sel: Value| {
            json!({"metadata": {"name": "deny", "creationTimestamp": "2026-11-25T14:29:53Z"},
                   "spec": {"podSelector": sel}})
        };
        assert_eq!(row("NetworkPolicy", &np(json!({})))[1], "<none>");
        assert_eq!(
            row(
                "NetworkPolicy",
                &np(json!({"matchLabels": {"role": "db"},
                           "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}))
            )[1],
            "role=db,tier in (a,b)"
        );
    }

    #[test]
    fn service_columns() {
        assert_eq!(
            names("Service"),
            [
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age",
                "Selector*"
            ]
        );
    }

    #[test]
    fn headless_service() {
        let s = svc(
            json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"],
                           "selector": {"app": "nginx"},
                           "ports": [{"name": "web", "port": 80, "protocol": "TCP",
                                      "targetPort": 80}]}),
        );
        assert_eq!(
            row("Service", &s),
            [
                json!("nginx"),
                json!("ClusterIP"),
                json!("None"),
                json!("<none>"),
                json!("80/TCP"),
                json!("7s"),
                json!("app=nginx")
            ]
        );
    }

    #[test]
    fn node_port_service() {
        let s = svc(json!({"type": "NodePort", "clusterIPs": ["10.96.12.7"],
                           "selector": {"tier": "web", "app": "nginx"},
                           "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                                     {"port": 53, "nodePort": 30053, "protocol": "UDP"}]}));
        let r = row("Service", &s);
        assert_eq!(r[1], "NodePort");
        assert_eq!(r[2], "10.96.12.7");
        assert_eq!(r[3], "<none>");
        assert_eq!(r[4], "80:30080/TCP,53:30053/UDP");
        assert_eq!(r[6], "app=nginx,tier=web");
    }

    #[test]
    fn service_defaults_and_external_ips() {
        // Legacy shape: only clusterIP, no type/protocol, no ports or selector.
        let s = svc(json!({"clusterIP": "10.96.0.1", "externalIPs": ["1.2.3.4", "5.6.7.8"]}));
        let r = row("Service", &s);
        assert_eq!(r[1], "ClusterIP");
        assert_eq!(r[2], "10.96.0.1");
        assert_eq!(r[3], "1.2.3.4,5.6.7.8");
        assert_eq!(r[4], "<none>");
        assert_eq!(r[6], "<none>");
    }

    #[test]
    fn load_balancer_and_external_name() {
        let mut lb = svc(json!({"type": "LoadBalancer", "clusterIPs": ["10.96.3.3"],
                                "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]}));
        assert_eq!(row("Service", &lb)[3], "<pending>");
        lb["status"] = json!({"loadBalancer": {"ingress": [
            {"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.9"}]}});
        assert_eq!(row("Service", &lb)[3], "203.0.113.9,lb.example.com");
        lb["spec"]["externalIPs"] = json!(["198.51.100.1"]);
        assert_eq!(
            row("Service", &lb)[3],
            "203.0.113.9,lb.example.com,198.51.100.1"
        );

        let ext = svc(json!({"type": "ExternalName", "externalName": "db.example.com"}));
        let r = row("Service", &ext);
        assert_eq!(r[2], "<none>");
        assert_eq!(r[3], "db.example.com");
    }

    fn endpoints(subsets: Value) -> Value {
        json!({"kind": "Endpoints",
               "metadata": {"name": "nginx", "creationTimestamp": "2026-11-25T14:20:00Z"},
               "subsets": subsets})
    }

    #[test]
    fn endpoints_rows() {
        assert_eq!(names("Endpoints"), ["Name", "Endpoints", "Age"]);
        let two = endpoints(
            json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                                    "ports": [{"port": 80, "protocol": "TCP"}]}]),
        );
        assert_eq!(
            row("Endpoints", &two),
            [
                json!("nginx"),
                json!("10.0.0.1:80,10.0.0.2:80"),
                json!("10m")
            ]
        );
        let many = endpoints(
            json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
                                     "ports": [{"port": 80}, {"port": 443}]},
                                    {"addresses": [{"ip": "fd00::1"}]}]),
        );
        assert_eq!(
            row("Endpoints", &many)[1],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more..."
        );
        let v6 = endpoints(json!([{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]));
        assert_eq!(row("Endpoints", &v6)[1], "[fd00::1]:80");
        let headless = endpoints(json!([{"addresses": [{"ip": "10.0.0.7"}]}]));
        assert_eq!(row("Endpoints", &headless)[1], "10.0.0.7");
        assert_eq!(row("Endpoints", &endpoints(json!([])))[1], "<none>");
        assert_eq!(row("Endpoints", &endpoints(Value::Null))[1], "<none>");
    }

    #[test]
    fn endpoint_slice_rows() {
        assert_eq!(
            names("EndpointSlice"),
            ["Name", "AddressType", "Ports", "Endpoints", "Age"]
        );
        let es = json!({"kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": "nginx-abc12", "creationTimestamp": "2026-11-25T12:00:00Z"},
            "ports": [{"name": "web", "port": 80, "protocol": "TCP"}, {"name": "metrics"}, {}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2"]},
                          {"addresses": ["10.0.0.3"]}, {"addresses": ["10.0.0.4"]}]});
        assert_eq!(
            row("EndpointSlice", &es),
            [
                json!("nginx-abc12"),
                json!("IPv4"),
                json!("80,metrics,*"),
                json!("10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."),
                json!("150m")
            ]
        );
        let empty = json!({"addressType": "IPv6", "metadata": {"name": "e"}});
        let r = row("EndpointSlice", &empty);
        assert_eq!(r[2], "<unset>");
        assert_eq!(r[3], "<unset>");
        assert_eq!(r[4], "<unknown>");
    }
}
