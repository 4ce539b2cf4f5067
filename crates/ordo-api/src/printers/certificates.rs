//! CertificateSigningRequest printer (upstream `printCertificateSigningRequest`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{age, arr_at, col, get, name, or, str_at, Col, AGE, NAME};
use crate::duration;

const CSR_COLUMNS: &[Col] = &[
    NAME,
    AGE,
    col(
        "SignerName",
        "signerName indicates the requested signer, and is a qualified name.",
    ),
    col(
        "Requestor",
        "request contains an x509 certificate signing request encoded in a \"CERTIFICATE REQUEST\" PEM block. When serialized as JSON or YAML, the data is additionally base64-encoded.",
    ),
    col(
        "RequestedDuration",
        "expirationSeconds is the requested duration of validity of the issued certificate.",
    ),
    col(
        "Condition",
        "conditions applied to the request. Known conditions are \"Approved\", \"Denied\", and \"Failed\".",
    ),
];

pub(crate) static CERTIFICATE_SIGNING_REQUEST: super::Printer = super::Printer {
    columns: CSR_COLUMNS,
    cells: csr_cells,
};

/// Upstream `extractCSRStatus`: Denied, Approved or Pending, then `,Failed` and `,Issued`.
pub fn csr_condition(csr: &Value) -> String {
    let has = |t: &str| {
        arr_at(csr, &["status", "conditions"])
            .iter()
            .any(|c| c.get("type").and_then(Value::as_str) == Some(t))
    };
    let mut out = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        out.push_str(",Failed");
    }
    if !str_at(csr, &["status", "certificate"]).is_empty() {
        out.push_str(",Issued");
    }
    out
}

fn csr_cells(csr: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let requested = match get(csr, &["spec", "expirationSeconds"]).and_then(Value::as_i64) {
        Some(s) => duration::human_duration(chrono::Duration::seconds(s.max(0))),
        None => "<none>".into(),
    };
    vec![
        name(csr),
        age(csr, now),
        or(str_at(csr, &["spec", "signerName"]), "<none>").into(),
        str_at(csr, &["spec", "username"]).into(),
        requested.into(),
        csr_condition(csr).into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{names, row};
    use serde_json::json;

    #[test]
    fn csr_rows() {
        assert_eq!(
            names("CertificateSigningRequest"),
            [
                "Name",
                "Age",
                "SignerName",
                "Requestor",
                "RequestedDuration",
                "Condition"
            ]
        );
        let pending = json!({"metadata": {"name": "node-csr-a"},
            "spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                     "username": "system:bootstrap:abcdef"}});
        let r = row("CertificateSigningRequest", &pending);
        assert_eq!(
            (&r[2], &r[3], &r[4], &r[5]),
            (
                &json!("kubernetes.io/kube-apiserver-client-kubelet"),
                &json!("system:bootstrap:abcdef"),
                &json!("<none>"),
                &json!("Pending")
            )
        );
        let issued = json!({"metadata": {"name": "x"}, "spec": {"expirationSeconds": 86400},
            "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "Y2VydA=="}});
        let r = row("CertificateSigningRequest", &issued);
        assert_eq!((&r[4], &r[5]), (&json!("24h"), &json!("Approved,Issued")));
        let denied = json!({"metadata": {"name": "x"},
            "status": {"conditions": [{"type": "Denied"}, {"type": "Failed"}]}});
        assert_eq!(
            row("CertificateSigningRequest", &denied)[5],
            json!("Denied,Failed")
        );
    }
}
