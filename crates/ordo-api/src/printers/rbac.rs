//! Printers for `rbac.authorization.k8s.io/v1`: Role and ClusterRole (Name, Created At),
//! RoleBinding and ClusterRoleBinding (Name, Role, Age; Users, Groups, ServiceAccounts wide).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{age, arr_at, name, str_at, typed, wide, Col, Printer, AGE, NAME};

const ROLE_COLUMNS: &[Col] = &[NAME, typed("Created At", "date", AGE.description)];

/// Role and ClusterRole.
pub(crate) static ROLE: Printer = Printer {
    columns: ROLE_COLUMNS,
    cells: role_cells,
};

fn role_cells(role: &Value, _now: DateTime<Utc>) -> Vec<Value> {
    // Upstream's convertToHumanReadableDateType: RFC 3339 in UTC, `<unknown>` when unset.
    let created = match str_at(role, &["metadata", "creationTimestamp"]) {
        "" => "<unknown>".to_string(),
        ts => DateTime::parse_from_rfc3339(ts)
            .map(|t| {
                t.with_timezone(&Utc)
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            })
            .unwrap_or_else(|_| ts.to_string()),
    };
    vec![name(role), created.into()]
}

const BINDING_COLUMNS: &[Col] = &[
    NAME,
    typed(
        "Role",
        "string",
        "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.",
    ),
    AGE,
    wide("Users", "Users in the roleBinding"),
    wide("Groups", "Groups in the roleBinding"),
    wide("ServiceAccounts", "ServiceAccounts in the roleBinding"),
];

/// RoleBinding and ClusterRoleBinding.
pub(crate) static BINDING: Printer = Printer {
    columns: BINDING_COLUMNS,
    cells: binding_cells,
};

fn binding_cells(b: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let role = format!(
        "{}/{}",
        str_at(b, &["roleRef", "kind"]),
        str_at(b, &["roleRef", "name"])
    );
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for s in arr_at(b, &["subjects"]) {
        let n = str_at(s, &["name"]);
        match str_at(s, &["kind"]) {
            "User" => users.push(n.to_string()),
            "Group" => groups.push(n.to_string()),
            "ServiceAccount" => sas.push(format!("{}/{n}", str_at(s, &["namespace"]))),
            _ => {}
        }
    }
    vec![
        name(b),
        role.into(),
        age(b, now),
        users.join(", ").into(),
        groups.join(", ").into(),
        sas.join(", ").into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn binding_rows() {
        let b = json!({"metadata": {"name": "rb", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "roleRef": {"kind": "ClusterRole", "name": "view", "apiGroup": "rbac.authorization.k8s.io"},
            "subjects": [{"kind": "User", "name": "bob"}, {"kind": "User", "name": "amy"},
                         {"kind": "Group", "name": "g"},
                         {"kind": "ServiceAccount", "name": "app", "namespace": "ns"}]});
        let now = "2026-01-01T00:00:05Z".parse().unwrap();
        let c = binding_cells(&b, now);
        assert_eq!(c[1], "ClusterRole/view");
        assert_eq!(c[3], "bob, amy");
        assert_eq!(c[4], "g");
        assert_eq!(c[5], "ns/app");
        let r = role_cells(
            &json!({"metadata": {"name": "r", "creationTimestamp": "2026-01-01T00:00:00Z"}}),
            now,
        );
        assert_eq!(r[1], "2026-01-01T00:00:00Z");
    }
}
