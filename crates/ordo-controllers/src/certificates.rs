//! Certificate signing (kube-controller-manager's `csrapproving` and `csrsigning` controllers):
//! node client certificate requests are approved after a SubjectAccessReview of their
//! requester (upstream `sarapprove.go`), and approved requests for the client signers are
//! signed by the cluster CA (upstream `signer.go`). This is how a joining node exchanges its
//! bootstrap token for its own credential (`system:node:NAME` in `system:nodes`).

use crate::ownership::Error;
use futures::StreamExt;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::ResourceExt;
use ordo_client::{Caches, Shared};
use std::sync::Arc;
use std::time::Duration;

/// A test of whether a request is of one kind (upstream's `csrRecognizer`).
type Recognizer = fn(&CertificateSigningRequest, &Subject) -> bool;

/// The signer of kubelets' client certificates.
pub const KUBELET_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";
/// The signer of other API client certificates.
pub const CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client";
/// The group of nodes.
const NODES: &str = "system:nodes";
/// The prefix of node user names.
const NODE_PREFIX: &str = "system:node:";
/// Default validity of an issued certificate (`--cluster-signing-duration`, one year).
const DEFAULT_SECONDS: i64 = 365 * 24 * 3600;

/// The subject of a certificate request, as the CA read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subject {
    /// Common name.
    pub common_name: String,
    /// Organizations, in order.
    pub organizations: Vec<String>,
}

/// The cluster CA as the signing controller uses it (the binary passes it in, so that this
/// crate needs no X.509 code).
pub trait CertificateAuthority: Send + Sync {
    /// Parses a PEM certificate request and checks its signature.
    fn subject(&self, csr_pem: &str) -> Result<Subject, String>;
    /// Signs the PEM request for `seconds`: the certificate PEM.
    fn sign(&self, csr_pem: &str, seconds: i64) -> Result<String, String>;
}

struct Ctx {
    caches: Caches,
    csrs: Arc<Shared<CertificateSigningRequest>>,
    ca: Arc<dyn CertificateAuthority>,
}

/// Runs the approving and signing controllers.
pub async fn run(caches: Caches, ca: Arc<dyn CertificateAuthority>) -> anyhow::Result<()> {
    let ctx = Arc::new(Ctx {
        csrs: caches.get::<CertificateSigningRequest>(),
        caches,
        ca,
    });
    ctx.csrs.ready().await;
    Controller::for_stream(ctx.csrs.stream(), ctx.csrs.store())
        .run(
            reconcile,
            |_, e: &Error, _| {
                tracing::debug!("certificate signing failed: {e:#}");
                Action::requeue(Duration::from_secs(1))
            },
            ctx,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!("certificate controller: {e}");
            }
        })
        .await;
    Ok(())
}

fn has_condition(csr: &CertificateSigningRequest, t: &str) -> bool {
    csr.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == t))
}

/// Upstream `isNodeClientCert`: the kubelet signer, `O=[system:nodes]`, `CN=system:node:...`
/// and the usages of a client certificate.
pub fn is_node_client_cert(csr: &CertificateSigningRequest, subject: &Subject) -> bool {
    csr.spec.signer_name == KUBELET_CLIENT_SIGNER
        && subject.organizations == [NODES]
        && subject.common_name.starts_with(NODE_PREFIX)
        && usages_ok(csr)
}

/// Upstream `isSelfNodeClientCert`: a node client certificate requested by that node.
pub fn is_self_node_client_cert(csr: &CertificateSigningRequest, subject: &Subject) -> bool {
    is_node_client_cert(csr, subject)
        && csr.spec.username.as_deref() == Some(subject.common_name.as_str())
}

/// The usages a kubelet client certificate may have: `client auth` and `digital signature`,
/// with `key encipherment` allowed (RSA keys).
fn usages_ok(csr: &CertificateSigningRequest) -> bool {
    let usages = csr.spec.usages.as_deref().unwrap_or_default();
    let required = ["client auth", "digital signature"];
    required.iter().all(|r| usages.iter().any(|u| u == r))
        && usages
            .iter()
            .all(|u| required.contains(&u.as_str()) || u == "key encipherment")
}

async fn reconcile(obj: Arc<CertificateSigningRequest>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let name = obj.name_any();
    let Some(csr) = ctx.csrs.get("", &name) else {
        return Ok(Action::await_change());
    };
    if has_condition(&csr, "Denied") || has_condition(&csr, "Failed") {
        return Ok(Action::await_change());
    }
    let issued = csr
        .status
        .as_ref()
        .and_then(|s| s.certificate.as_ref())
        .is_some_and(|c| !c.0.is_empty());
    if issued {
        return Ok(Action::await_change());
    }
    let pem = String::from_utf8_lossy(&csr.spec.request.0).into_owned();
    let api: Api<CertificateSigningRequest> = Api::all(ctx.caches.client().clone());
    if !has_condition(&csr, "Approved") {
        approve_if_allowed(&ctx, &api, &csr, &pem).await?;
        return Ok(Action::await_change());
    }
    sign(&ctx, &api, &csr, &pem).await?;
    Ok(Action::await_change())
}

/// Upstream `sarApprover`: the node client recognizers, each allowed by a SubjectAccessReview
/// of the requester on a `certificatesigningrequests` subresource.
async fn approve_if_allowed(
    ctx: &Ctx,
    api: &Api<CertificateSigningRequest>,
    csr: &CertificateSigningRequest,
    pem: &str,
) -> Result<(), Error> {
    let Ok(subject) = ctx.ca.subject(pem) else {
        return Ok(());
    };
    let recognizers: [(Recognizer, &str, &str); 2] = [
        (
            is_self_node_client_cert,
            "selfnodeclient",
            "Auto approving self kubelet client certificate after SubjectAccessReview.",
        ),
        (
            is_node_client_cert,
            "nodeclient",
            "Auto approving kubelet client certificate after SubjectAccessReview.",
        ),
    ];
    for (recognize, subresource, message) in recognizers {
        if !recognize(csr, &subject) || !authorized(ctx, csr, subresource).await? {
            continue;
        }
        let mut approved = csr.clone();
        let status = approved.status.get_or_insert_with(Default::default);
        status
            .conditions
            .get_or_insert_with(Vec::new)
            .push(CertificateSigningRequestCondition {
                type_: "Approved".into(),
                status: "True".into(),
                reason: Some("AutoApproved".into()),
                message: Some(message.into()),
                last_update_time: Some(Time(k8s_openapi::jiff::Timestamp::now())),
                ..Default::default()
            });
        api.replace_subresource(
            "approval",
            &csr.name_any(),
            &PostParams::default(),
            &approved,
        )
        .await?;
        tracing::info!(csr = %csr.name_any(), user = ?csr.spec.username, "approved {subresource} certificate request");
        return Ok(());
    }
    Ok(())
}

/// Whether the requester may `create` `certificatesigningrequests/<subresource>`.
async fn authorized(
    ctx: &Ctx,
    csr: &CertificateSigningRequest,
    subresource: &str,
) -> Result<bool, Error> {
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: csr.spec.username.clone(),
            uid: csr.spec.uid.clone(),
            groups: csr.spec.groups.clone(),
            extra: csr.spec.extra.clone(),
            resource_attributes: Some(ResourceAttributes {
                group: Some("certificates.k8s.io".into()),
                resource: Some("certificatesigningrequests".into()),
                subresource: Some(subresource.into()),
                verb: Some("create".into()),
                version: Some("*".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<SubjectAccessReview> = Api::all(ctx.caches.client().clone());
    let answer = api.create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Upstream `signer.handle`: signs approved requests of the client signers; a request the
/// signer refuses gets a `Failed` condition.
async fn sign(
    ctx: &Ctx,
    api: &Api<CertificateSigningRequest>,
    csr: &CertificateSigningRequest,
    pem: &str,
) -> Result<(), Error> {
    let signer = csr.spec.signer_name.as_str();
    if signer != KUBELET_CLIENT_SIGNER && signer != CLIENT_SIGNER {
        return Ok(());
    }
    let refusal = match ctx.ca.subject(pem) {
        Err(e) => Some(e),
        Ok(s) if signer == KUBELET_CLIENT_SIGNER && !is_node_client_cert(csr, &s) => {
            Some("invalid usage for client certificate".to_string())
        }
        Ok(_) => None,
    };
    let mut done = csr.clone();
    let status = done.status.get_or_insert_with(Default::default);
    if let Some(why) = refusal {
        status
            .conditions
            .get_or_insert_with(Vec::new)
            .push(CertificateSigningRequestCondition {
                type_: "Failed".into(),
                status: "True".into(),
                reason: Some("SignerValidationFailure".into()),
                message: Some(why),
                last_update_time: Some(Time(k8s_openapi::jiff::Timestamp::now())),
                ..Default::default()
            });
    } else {
        let seconds = csr
            .spec
            .expiration_seconds
            .map_or(DEFAULT_SECONDS, |s| i64::from(s).min(DEFAULT_SECONDS));
        let cert = ctx.ca.sign(pem, seconds).map_err(Error::Other)?;
        status.certificate = Some(k8s_openapi::ByteString(cert.into_bytes()));
    }
    api.replace_status(&csr.name_any(), &PostParams::default(), &done)
        .await?;
    tracing::info!(csr = %csr.name_any(), "signed certificate request");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::certificates::v1::CertificateSigningRequestSpec;

    fn csr(username: &str, usages: &[&str]) -> CertificateSigningRequest {
        CertificateSigningRequest {
            spec: CertificateSigningRequestSpec {
                signer_name: KUBELET_CLIENT_SIGNER.into(),
                username: Some(username.into()),
                usages: Some(usages.iter().map(|u| u.to_string()).collect()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn node(cn: &str, orgs: &[&str]) -> Subject {
        Subject {
            common_name: cn.into(),
            organizations: orgs.iter().map(|o| o.to_string()).collect(),
        }
    }

    #[test]
    fn node_client_requests_are_recognized_as_upstream() {
        let usages = ["digital signature", "client auth"];
        let boot = csr("system:bootstrap:abcdef", &usages);
        assert!(is_node_client_cert(
            &boot,
            &node("system:node:n2", &["system:nodes"])
        ));
        assert!(!is_self_node_client_cert(
            &boot,
            &node("system:node:n2", &["system:nodes"])
        ));
        let renew = csr("system:node:n2", &usages);
        assert!(is_self_node_client_cert(
            &renew,
            &node("system:node:n2", &["system:nodes"])
        ));
        // Another node's name, other organizations, other usages or signers are not.
        assert!(!is_self_node_client_cert(
            &renew,
            &node("system:node:n3", &["system:nodes"])
        ));
        assert!(!is_node_client_cert(
            &boot,
            &node("system:node:n2", &["system:masters"])
        ));
        assert!(!is_node_client_cert(
            &boot,
            &node("system:node:n2", &["system:nodes", "system:masters"])
        ));
        assert!(!is_node_client_cert(
            &boot,
            &node("admin", &["system:nodes"])
        ));
        let server_auth = csr(
            "system:bootstrap:abcdef",
            &["digital signature", "server auth"],
        );
        assert!(!is_node_client_cert(
            &server_auth,
            &node("system:node:n2", &["system:nodes"])
        ));
        let rsa = csr(
            "system:bootstrap:abcdef",
            &["key encipherment", "digital signature", "client auth"],
        );
        assert!(is_node_client_cert(
            &rsa,
            &node("system:node:n2", &["system:nodes"])
        ));
        let mut other = boot.clone();
        other.spec.signer_name = CLIENT_SIGNER.into();
        assert!(!is_node_client_cert(
            &other,
            &node("system:node:n2", &["system:nodes"])
        ));
    }
}
