use super::*;
use serde_json::json;
use std::sync::Arc;

fn pod(ns: &str, name: &str, ip: &str, labels: serde_json::Value) -> Arc<Pod> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"namespace": ns, "name": name, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "i",
                "ports": [{"name": "http", "containerPort": 8080}, {"name": "dns", "containerPort": 5353, "protocol": "UDP"}]}]},
            "status": {"phase": "Running", "podIP": ip}
        }))
        .unwrap(),
    )
}

fn policy(ns: &str, name: &str, spec: serde_json::Value) -> Arc<NetworkPolicy> {
    Arc::new(
        serde_json::from_value(json!({"metadata": {"namespace": ns, "name": name}, "spec": spec}))
            .unwrap(),
    )
}

fn namespace(name: &str, labels: serde_json::Value) -> Arc<Namespace> {
    Arc::new(serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap())
}

fn world() -> (Vec<Arc<Pod>>, Vec<Arc<Namespace>>) {
    (
        vec![
            pod("default", "db", "10.244.0.2", json!({"role": "db"})),
            pod("default", "web", "10.244.0.3", json!({"role": "web"})),
            pod("other", "client", "10.244.0.4", json!({"role": "web"})),
            pod("default", "host", "192.168.1.1", json!({})),
        ],
        vec![
            namespace("default", json!({"kubernetes.io/metadata.name": "default"})),
            namespace(
                "other",
                json!({"kubernetes.io/metadata.name": "other", "team": "a"}),
            ),
        ],
    )
}

/// The rules of one chain, trimmed.
fn chain<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let start = format!("chain {name} {{");
    let mut lines = text.lines().map(str::trim).skip_while(|l| *l != start);
    assert!(lines.next().is_some(), "no chain {name} in\n{text}");
    lines.take_while(|l| *l != "}").collect()
}

fn map_line<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let start = format!("map {name} {{");
    text.lines()
        .map(str::trim)
        .skip_while(|l| *l != start)
        .take_while(|l| *l != "}")
        .find(|l| l.starts_with("elements"))
}

#[test]
fn default_deny_isolates_every_pod_of_the_namespace_only() {
    let (pods, nss) = world();
    let text = policy_rules(
        &[policy(
            "default",
            "deny",
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
        )],
        &pods,
        &nss,
    );
    assert_eq!(chain(&text, "policy-ingress-default/db"), ["counter drop"]);
    assert_eq!(chain(&text, "policy-ingress-default/web"), ["counter drop"]);
    let ingress = map_line(&text, "policy-ingress").unwrap();
    assert!(!ingress.contains("10.244.0.4"), "{ingress}");
    assert!(map_line(&text, "policy-egress").is_none(), "{text}");
    assert_eq!(
        chain(&text, "network-policy"),
        [
            "ct state established,related accept",
            "ip saddr vmap @policy-egress",
            "ip daddr vmap @policy-ingress"
        ]
    );
}

#[test]
fn allow_from_a_label_on_a_port_and_from_a_namespace() {
    let (pods, nss) = world();
    let text = policy_rules(
        &[policy(
            "default",
            "db-access",
            json!({"podSelector": {"matchLabels": {"role": "db"}},
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"role": "web"}}}],
                 "ports": [{"port": 5432}, {"port": "http"}, {"protocol": "UDP", "port": "dns"},
                           {"port": 9000, "endPort": 9010}]},
                {"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}]}
            ]}),
        )],
        &pods,
        &nss,
    );
    assert_eq!(
        chain(&text, "policy-ingress-default/db"),
        [
            // Only pods of the policy's namespace: the web pod of `other` is not a peer here.
            "ip saddr { 10.244.0.3 } meta l4proto tcp th dport { 5432, 8080, 9000-9010 } accept",
            "ip saddr { 10.244.0.3 } meta l4proto udp th dport { 5353 } accept",
            "ip saddr { 10.244.0.4 } accept",
            "counter drop"
        ]
    );
    // The web pod is not selected: it stays open.
    assert!(!text.contains("policy-ingress-default/web"));
}

#[test]
fn ip_blocks_with_exceptions_and_both_selectors() {
    let (pods, nss) = world();
    let text = policy_rules(
        &[policy(
            "default",
            "p",
            json!({"podSelector": {"matchLabels": {"role": "web"}},
            "ingress": [{"from": [
                {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
                {"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "web"}}}
            ]}]}),
        )],
        &pods,
        &nss,
    );
    assert_eq!(
        chain(&text, "policy-ingress-default/web"),
        [
            "ip saddr { 10.244.0.3, 10.244.0.4 } accept",
            "ip saddr 172.17.0.0/16 ip saddr != { 172.17.1.0/24 } accept",
            "counter drop"
        ]
    );
}

#[test]
fn egress_policies_and_named_ports_of_destinations() {
    let (pods, nss) = world();
    // No policyTypes: Ingress (no rules: deny all) and, as it has egress rules, Egress.
    let text = policy_rules(
        &[policy(
            "default",
            "web-out",
            json!({"podSelector": {"matchLabels": {"role": "web"}},
                   "egress": [{"to": [{"podSelector": {"matchLabels": {"role": "db"}}}],
                               "ports": [{"port": "http"}]},
                              {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"protocol": "UDP"}]}]}),
        )],
        &pods,
        &nss,
    );
    assert_eq!(
        chain(&text, "policy-egress-default/web"),
        [
            "ip daddr . meta l4proto . th dport { 10.244.0.2 . tcp . 8080 } return",
            "ip daddr 10.0.0.0/8 meta l4proto udp return",
            "counter drop"
        ]
    );
    assert_eq!(chain(&text, "policy-ingress-default/web"), ["counter drop"]);
    assert_eq!(
        map_line(&text, "policy-egress").unwrap(),
        "elements = { 10.244.0.3 : jump policy-egress-default/web }"
    );
}

#[test]
fn an_egress_only_policy_leaves_ingress_open_and_allow_all_rules() {
    let (pods, nss) = world();
    let text = policy_rules(
        &[
            policy(
                "default",
                "deny-out",
                json!({"podSelector": {}, "policyTypes": ["Egress"]}),
            ),
            policy(
                "default",
                "allow-in",
                json!({"podSelector": {}, "ingress": [{}]}),
            ),
        ],
        &pods,
        &nss,
    );
    assert_eq!(chain(&text, "policy-egress-default/db"), ["counter drop"]);
    assert_eq!(
        chain(&text, "policy-ingress-default/db"),
        ["accept", "counter drop"]
    );
}

#[test]
fn finished_and_host_network_pods_take_no_part() {
    let (mut pods, nss) = world();
    let mut done = (*pods[0]).clone();
    done.status.as_mut().unwrap().phase = Some("Succeeded".into());
    pods[0] = Arc::new(done);
    let mut host = (*pods[1]).clone();
    host.spec.as_mut().unwrap().host_network = Some(true);
    pods[1] = Arc::new(host);
    let text = policy_rules(
        &[policy("default", "deny", json!({"podSelector": {}}))],
        &pods,
        &nss,
    );
    assert!(
        !text.contains("default/db") && !text.contains("default/web"),
        "{text}"
    );
}

/// A ruleset part with every kind of rule (for `nft --check`).
pub(crate) fn sample() -> String {
    let (pods, nss) = world();
    policy_rules(
        &[
            policy(
                "default",
                "p",
                json!({"podSelector": {"matchLabels": {"role": "web"}},
                       "ingress": [{"from": [
                           {"ipBlock": {"cidr": "172.17.0.0/16", "except": ["172.17.1.0/24"]}},
                           {"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "web"}}}],
                           "ports": [{"port": 80}, {"port": 9000, "endPort": 9010}, {"protocol": "UDP", "port": "dns"}]}],
                       "egress": [{"to": [{"podSelector": {"matchLabels": {"role": "db"}}}],
                                   "ports": [{"port": "http"}, {"protocol": "SCTP"}]}, {}]}),
            ),
            policy(
                "default",
                "deny",
                json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            ),
        ],
        &pods,
        &nss,
    )
}
