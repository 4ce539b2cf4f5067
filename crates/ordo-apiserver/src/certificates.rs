//! CertificateSigningRequests as kube-apiserver keeps them (upstream
//! `pkg/registry/certificates/certificates/strategy.go` and the `CertificateApproval`,
//! `CertificateSigning` and `CertificateSubjectRestriction` admission plugins): the requester
//! is recorded at creation, the request's signature is checked, the spec never changes,
//! approval conditions change only through `approval`, the certificate only through
//! `status`, each by users allowed to `approve` or `sign` for the request's signer.

use crate::auth::{self, Attributes, UserInfo};
use ordo_api::status::{ApiError, Cause};
use serde_json::{json, Value};

const GROUP: &str = "certificates.k8s.io";

fn is_approval(c: &Value) -> bool {
    matches!(
        c.get("type").and_then(Value::as_str),
        Some("Approved" | "Denied")
    )
}

fn conditions(obj: &Value) -> Vec<Value> {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn set_conditions(obj: &mut Value, cs: Vec<Value>) {
    if !obj.get("status").is_some_and(Value::is_object) {
        obj["status"] = json!({});
    }
    if cs.is_empty() {
        obj["status"]
            .as_object_mut()
            .map(|s| s.remove("conditions"));
    } else {
        obj["status"]["conditions"] = Value::Array(cs);
    }
}

/// `PrepareForCreate`: no status, and the requester's identity in the spec.
pub(crate) fn prepare_create(obj: &mut Value) {
    obj.as_object_mut().map(|o| o.remove("status"));
    if !obj.get("spec").is_some_and(Value::is_object) {
        obj["spec"] = json!({});
    }
    let spec = obj["spec"].as_object_mut().expect("spec is an object");
    for k in ["username", "uid", "groups", "extra"] {
        spec.remove(k);
    }
    if let Some(user) = auth::request_user() {
        spec.insert("username".into(), json!(user.name));
        if !user.uid.is_empty() {
            spec.insert("uid".into(), json!(user.uid));
        }
        spec.insert("groups".into(), json!(user.groups));
        if !user.extra.is_empty() {
            spec.insert("extra".into(), json!(user.extra));
        }
    }
}

/// The request's PEM once validation has accepted its form: its DER must parse and its
/// signature verify (upstream validation's `ParseCSR` and `CheckSignature`), and the
/// `kube-apiserver-client` signer never issues `system:masters` certificates
/// (`CertificateSubjectRestriction`).
pub(crate) fn admit_create(obj: &Value, name: &str) -> Result<(), ApiError> {
    let Ok(pem) = ordo_api::validation::request_pem(obj) else {
        return Ok(());
    };
    let request = crate::pki::parse_request(&pem).map_err(|e| {
        ApiError::invalid(
            GROUP,
            "CertificateSigningRequest",
            name,
            &[Cause::invalid(
                "spec.request",
                "[]byte{...}",
                &e.to_string(),
            )],
        )
    })?;
    let signer = obj
        .pointer("/spec/signerName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if signer == "kubernetes.io/kube-apiserver-client"
        && request.organizations.iter().any(|o| o == auth::MASTERS)
    {
        return Err(ApiError::forbidden(format!(
            "certificatesigningrequests.certificates.k8s.io \"{name}\" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
        )));
    }
    Ok(())
}

/// What an update of `sub` may change, applied to `new` (the strategies' `PrepareForUpdate`):
/// the main resource changes metadata only; `status` keeps the approval conditions;
/// `approval` keeps the certificate and the other conditions.
pub(crate) fn prepare_update(sub: Option<&str>, new: &mut Value, old: &Value) {
    let keep = |new: &mut Value, k: &str| match old.get(k) {
        Some(v) => new[k] = v.clone(),
        None => {
            new.as_object_mut().map(|o| o.remove(k));
        }
    };
    match sub {
        None => {
            keep(new, "spec");
            keep(new, "status");
        }
        Some("status") => {
            keep(new, "spec");
            let mut cs: Vec<Value> = conditions(new)
                .into_iter()
                .filter(|c| !is_approval(c))
                .collect();
            cs.extend(conditions(old).into_iter().filter(is_approval));
            set_conditions(new, cs);
        }
        Some("approval") => {
            keep(new, "spec");
            let mut cs: Vec<Value> = conditions(old)
                .into_iter()
                .filter(|c| !is_approval(c))
                .collect();
            cs.extend(conditions(new).into_iter().filter(is_approval));
            let cert = old.pointer("/status/certificate").cloned();
            set_conditions(new, cs);
            match cert {
                Some(c) => new["status"]["certificate"] = c,
                None => {
                    new["status"]
                        .as_object_mut()
                        .map(|s| s.remove("certificate"));
                }
            }
        }
        Some(_) => {}
    }
}

/// Whether `user` may `verb` (`approve`, `sign`) for `signer`: on `signers` named the signer
/// or its domain's wildcard (upstream `certificates.IsAuthorizedForSignerName`).
fn authorized_for_signer(
    server: &crate::ApiServer,
    user: &UserInfo,
    verb: &str,
    signer: &str,
) -> bool {
    let mut names = vec![signer.to_string()];
    if let Some((domain, _)) = signer.split_once('/') {
        names.push(format!("{domain}/*"));
    }
    names.into_iter().any(|name| {
        let attrs = Attributes {
            user: user.clone(),
            verb: verb.into(),
            resource_request: true,
            api_group: GROUP.into(),
            api_version: "*".into(),
            resource: "signers".into(),
            name,
            ..Default::default()
        };
        auth::decide(server, &attrs).is_ok()
    })
}

/// `CertificateApproval` and `CertificateSigning`: a change of the approval conditions needs
/// `approve`, a change of the certificate `sign`, for the request's signer.
pub(crate) fn admit_update(
    server: &crate::ApiServer,
    sub: Option<&str>,
    name: &str,
    new: &Value,
    old: &Value,
) -> Result<(), ApiError> {
    let Some(user) = auth::request_user() else {
        return Ok(());
    };
    let signer = old
        .pointer("/spec/signerName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (verb, changed) = match sub {
        Some("approval") => (
            "approve",
            conditions(new)
                .into_iter()
                .filter(is_approval)
                .collect::<Vec<_>>()
                != conditions(old)
                    .into_iter()
                    .filter(is_approval)
                    .collect::<Vec<_>>(),
        ),
        Some("status") => (
            "sign",
            new.pointer("/status/certificate") != old.pointer("/status/certificate"),
        ),
        _ => return Ok(()),
    };
    if !changed || authorized_for_signer(server, &user, verb, signer) {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "certificatesigningrequests.certificates.k8s.io \"{name}\" is forbidden: user not permitted to {verb} requests with signerName \"{signer}\""
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_update_changes_only_its_part() {
        let old = json!({"spec": {"signerName": "a.io/b"}, "status": {
            "conditions": [{"type": "Approved", "status": "True"}], "certificate": "Y2VydA=="}});
        let mut main =
            json!({"metadata": {"labels": {"x": "y"}}, "spec": {"signerName": "c.io/d"}});
        prepare_update(None, &mut main, &old);
        assert_eq!(
            (&main["spec"], &main["status"]),
            (&old["spec"], &old["status"])
        );

        let mut status = json!({"spec": {}, "status": {"conditions": [
            {"type": "Failed", "status": "True"}], "certificate": "bmV3"}});
        prepare_update(Some("status"), &mut status, &old);
        assert_eq!(
            status["status"]["conditions"],
            json!([
            {"type": "Failed", "status": "True"}, {"type": "Approved", "status": "True"}])
        );
        assert_eq!(status["status"]["certificate"], "bmV3");

        let mut approval = json!({"spec": {}, "status": {"conditions": [
            {"type": "Denied", "status": "True"}], "certificate": "bmV3"}});
        prepare_update(Some("approval"), &mut approval, &old);
        assert_eq!(
            approval["status"]["conditions"],
            json!([{"type": "Denied", "status": "True"}])
        );
        assert_eq!(approval["status"]["certificate"], "Y2VydA==");
        assert_eq!(approval["spec"], old["spec"]);
    }
}
