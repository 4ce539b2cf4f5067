//! CertificateSigningRequest validation (upstream `pkg/apis/certificates/validation`). The
//! request's PEM block is checked here; parsing its DER and checking its signature is the API
//! server's (it has the X.509 parser).

use super::meta;
use super::names::NameRule;
use super::util::{arr, child, index, int, q, s, Errs};
use crate::status::Cause;
use serde_json::Value;

/// The key usages a request may ask for (`certificates.KeyUsage` values).
pub const KEY_USAGES: &[&str] = &[
    "signing",
    "digital signature",
    "content commitment",
    "key encipherment",
    "key agreement",
    "data encipherment",
    "cert sign",
    "crl sign",
    "encipher only",
    "decipher only",
    "any",
    "server auth",
    "client auth",
    "code signing",
    "email protection",
    "s/mime",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "timestamping",
    "ocsp signing",
    "microsoft sgc",
    "netscape sgc",
];

const CONDITION_TYPES: &[&str] = &["Approved", "Denied", "Failed"];

/// The PEM text of `spec.request` (base64 in JSON), or why it is not a request.
pub fn request_pem(csr: &Value) -> Result<String, String> {
    let b64 = csr
        .pointer("/spec/request")
        .and_then(Value::as_str)
        .unwrap_or("");
    let bytes = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| "illegal base64 data")?
    };
    let text =
        String::from_utf8(bytes).map_err(|_| "PEM block type must be CERTIFICATE REQUEST")?;
    let begin = "-----BEGIN CERTIFICATE REQUEST-----";
    if !text.contains(begin) || !text.contains("-----END CERTIFICATE REQUEST-----") {
        return Err("PEM block type must be CERTIFICATE REQUEST".into());
    }
    Ok(text)
}

/// `signerName` rules (`ValidateSignerName`): a domain, a slash and a path.
fn signer_name(errs: &mut Errs, path: &str, name: &str) {
    if name.is_empty() {
        errs.push(Cause::required(path, ""));
        return;
    }
    let Some((domain, rest)) = name.split_once('/') else {
        errs.push(Cause::invalid(
            path,
            q(name),
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        ));
        return;
    };
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !domain_ok {
        errs.push(Cause::invalid(
            path,
            q(name),
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        ));
    } else if rest.is_empty() {
        errs.push(Cause::invalid(
            path,
            q(name),
            "validating path: path must not be empty",
        ));
    }
}

fn conditions(errs: &mut Errs, csr: &Value) {
    let path = "status.conditions";
    let (mut approved, mut denied) = (false, false);
    let mut seen = Vec::new();
    for (i, c) in arr(csr.get("status").unwrap_or(&Value::Null), "conditions")
        .iter()
        .enumerate()
    {
        let p = index(path, i);
        let t = s(c, "type").unwrap_or("");
        if t.is_empty() {
            errs.push(Cause::required(child(&p, "type"), ""));
            continue;
        }
        if !CONDITION_TYPES.contains(&t) && seen.contains(&t) {
            errs.push(Cause::duplicate(child(&p, "type"), q(t)));
        }
        if CONDITION_TYPES.contains(&t) && seen.contains(&t) {
            errs.push(Cause::duplicate(child(&p, "type"), q(t)));
        }
        seen.push(t);
        let status = s(c, "status").unwrap_or("");
        if !matches!(status, "True" | "False" | "Unknown") {
            errs.push(Cause::not_supported(
                child(&p, "status"),
                status,
                &["False", "True", "Unknown"],
            ));
        } else if matches!(t, "Approved" | "Denied") && status != "True" {
            errs.push(Cause::not_supported(child(&p, "status"), status, &["True"]));
        }
        approved |= t == "Approved";
        denied |= t == "Denied";
    }
    if approved && denied {
        errs.push(Cause::invalid(
            path,
            "\"Approved\"",
            "Approved and Denied conditions are mutually exclusive",
        ));
    }
}

/// `ValidateCertificateSigningRequestCreate`.
pub(crate) fn validate_csr(csr: &Value) -> Errs {
    let mut errs = meta::validate_object_meta(csr, Some(false), NameRule::PathSegment);
    let spec = csr.get("spec").cloned().unwrap_or(Value::Null);
    if let Err(e) = request_pem(csr) {
        let shown = if spec.get("request").is_none() {
            "[]byte(nil)".to_string()
        } else {
            "[]byte{...}".to_string()
        };
        errs.push(Cause::invalid("spec.request", shown, &e));
    }
    signer_name(
        &mut errs,
        "spec.signerName",
        s(&spec, "signerName").unwrap_or(""),
    );
    let usages = arr(&spec, "usages");
    if usages.is_empty() {
        errs.push(Cause::required("spec.usages", "usages must be provided"));
    }
    let mut seen = Vec::new();
    for (i, u) in usages.iter().enumerate() {
        let u = u.as_str().unwrap_or("");
        if !KEY_USAGES.contains(&u) {
            errs.push(Cause::not_supported(index("spec.usages", i), u, KEY_USAGES));
        } else if seen.contains(&u) {
            errs.push(Cause::duplicate(index("spec.usages", i), q(u)));
        }
        seen.push(u);
    }
    if let Some(secs) = int(&spec, "expirationSeconds") {
        if secs < 600 {
            errs.push(Cause::invalid(
                "spec.expirationSeconds",
                secs,
                "may not specify a duration less than 600 seconds (10 minutes)",
            ));
        }
    }
    conditions(&mut errs, csr);
    errs
}

/// `ValidateCertificateSigningRequestUpdate` (and the status and approval updates): the
/// object rules again, with metadata that may not change.
pub(crate) fn validate_csr_update(new: &Value, old: &Value) -> Errs {
    let mut errs = meta::validate_object_meta_update(new, old);
    conditions(&mut errs, new);
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn csr(request: &str, signer: &str, usages: Value) -> Value {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(request);
        json!({"metadata": {"name": "node-csr-AbC_1"}, "spec": {
            "request": encoded, "signerName": signer, "usages": usages}})
    }

    const PEM: &str =
        "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";

    #[test]
    fn a_well_formed_request_passes() {
        let c = csr(
            PEM,
            "kubernetes.io/kube-apiserver-client-kubelet",
            json!(["digital signature", "client auth"]),
        );
        assert!(validate_csr(&c).is_empty(), "{:?}", validate_csr(&c));
    }

    #[test]
    fn upstream_texts() {
        let c = csr(
            "-----BEGIN CERTIFICATE-----\n",
            "example",
            json!(["client auth", "bogus"]),
        );
        let msgs: Vec<String> = validate_csr(&c)
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(
            msgs,
            [
                "spec.request: Invalid value: []byte{...}: PEM block type must be CERTIFICATE REQUEST",
                "spec.signerName: Invalid value: \"example\": must be a fully qualified domain and path of the form 'example.com/signer-name'",
                &format!("spec.usages[1]: Unsupported value: \"bogus\": supported values: {}",
                    KEY_USAGES.iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(", ")),
            ]
        );
        let mut c = csr(PEM, "example.com/x", json!([]));
        c["spec"]["expirationSeconds"] = json!(60);
        c["status"] = json!({"conditions": [{"type": "Approved", "status": "True"},
                                             {"type": "Denied", "status": "True"}]});
        let msgs: Vec<String> = validate_csr(&c)
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(msgs, [
            "spec.usages: Required value: usages must be provided",
            "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)",
            "status.conditions: Invalid value: \"Approved\": Approved and Denied conditions are mutually exclusive",
        ]);
    }
}
