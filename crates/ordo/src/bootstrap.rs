//! A joining agent's TLS bootstrap (the kubelet's `--bootstrap-kubeconfig`, kubeadm's
//! discovery): the cluster CA is read anonymously from `kube-public/cluster-info` and pinned
//! by the `--ca-cert-hash` it was given (or read from `--ca-file`), a key and a certificate
//! request for `system:node:NAME` in `system:nodes` are made, the request is sent with the
//! join token, and once the cluster has approved and signed it the node's kubeconfig is kept
//! in `DATA/pki/node.kubeconfig` for every later start.

use anyhow::{bail, Context, Result};
use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestSpec,
};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use ordo_apiserver::join::{ca_cert_hash, JoinToken, CLUSTER_INFO};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long to wait for the request to be approved and signed.
const SIGNING_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the cluster CA comes from.
pub(crate) enum CaSource<'a> {
    /// A file holding it (the server's `DATA/pki/ca.crt`).
    File(&'a Path),
    /// `cluster-info`, checked against this `sha256:...` pin.
    Pinned(&'a str),
}

/// The node's kubeconfig file.
pub(crate) fn node_kubeconfig_path(data_dir: &Path) -> PathBuf {
    data_dir.join("pki").join("node.kubeconfig")
}

/// A client for the kubeconfig text `kubeconfig`.
pub(crate) async fn client_of(kubeconfig: &str) -> Result<kube::Client> {
    let doc = kube::config::Kubeconfig::from_yaml(kubeconfig)?;
    let cfg = kube::Config::from_custom_kubeconfig(doc, &Default::default()).await?;
    Ok(kube::Client::try_from(cfg)?)
}

/// How often the failover client checks its current server, and after how many failed checks
/// in a row it moves on to the next.
const FAILOVER_CHECK: Duration = Duration::from_secs(2);
const FAILOVER_AFTER: u32 = 3;

/// A client for the kubeconfig text `kubeconfig` that talks to one of `servers` (the cluster's
/// API servers, sharing its CA) at a time: the first at start; when `/readyz` of the current
/// one has failed [`FAILOVER_AFTER`] checks in a row, every request goes to the next. Watches
/// on the lost server end with its connections and are resumed on the next one by their
/// watchers. A background task (on the current runtime) does the checks.
pub(crate) async fn failover_client_of(
    kubeconfig: &str,
    servers: &[String],
) -> Result<kube::Client> {
    use kube::client::ConfigExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    if servers.len() < 2 {
        return client_of(kubeconfig).await;
    }
    let doc = kube::config::Kubeconfig::from_yaml(kubeconfig)?;
    let cfg = kube::Config::from_custom_kubeconfig(doc, &Default::default()).await?;
    let bases: Vec<hyper::Uri> = servers
        .iter()
        .map(|s| s.parse().with_context(|| format!("parsing server URL {s}")))
        .collect::<Result<_>>()?;
    let bases = Arc::new(bases);
    let current = Arc::new(AtomicUsize::new(0));
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    let https = cfg.rustls_https_connector_with_connector(http)?;
    let hyper_client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https);
    let (to, at) = (bases.clone(), current.clone());
    let service = tower::ServiceBuilder::new()
        .layer(cfg.base_uri_layer())
        .map_request(move |mut req: hyper::Request<kube::client::Body>| {
            let base = &to[at.load(Ordering::Relaxed) % to.len()];
            let mut parts = req.uri().clone().into_parts();
            parts.scheme = base.scheme().cloned();
            parts.authority = base.authority().cloned();
            if let Ok(uri) = hyper::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
            req
        })
        .option_layer(cfg.auth_layer()?)
        .map_err(tower::BoxError::from)
        .service(hyper_client);
    let client = kube::Client::new(service, cfg.default_namespace);
    let checker = client.clone();
    tokio::spawn(async move {
        let mut failed = 0;
        loop {
            tokio::time::sleep(FAILOVER_CHECK).await;
            let req = hyper::Request::get("/readyz").body(Vec::new());
            let ok = match req {
                Ok(r) => tokio::time::timeout(FAILOVER_CHECK, checker.request_text(r))
                    .await
                    .is_ok_and(|r| r.is_ok()),
                Err(_) => false,
            };
            failed = if ok { 0 } else { failed + 1 };
            if failed >= FAILOVER_AFTER {
                let from = current.fetch_add(1, Ordering::Relaxed) % bases.len();
                let to = (from + 1) % bases.len();
                tracing::warn!(
                    "API server {} unreachable: failing over to {}",
                    bases[from],
                    bases[to]
                );
                failed = 0;
            }
        }
    });
    Ok(client)
}

/// The cluster CA: from the file, or from `cluster-info` when its key matches the pin.
async fn cluster_ca(server: &str, source: &CaSource<'_>) -> Result<String> {
    let ca = match source {
        CaSource::File(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the CA certificate from {}", path.display()))?,
        CaSource::Pinned(_) => {
            // Anonymous and unverified: what is read is trusted only if its key is the pin.
            let mut cfg = kube::Config::new(server.parse().context("parsing --server")?);
            cfg.accept_invalid_certs = true;
            let client = kube::Client::try_from(cfg)?;
            let (ns, name) = CLUSTER_INFO;
            let cm = Api::<ConfigMap>::namespaced(client, ns)
                .get(name)
                .await
                .with_context(|| format!("reading {ns}/{name} from {server}"))?;
            let kubeconfig = cm
                .data
                .and_then(|d| d.get("kubeconfig").cloned())
                .with_context(|| format!("{ns}/{name} has no kubeconfig"))?;
            let doc = kube::config::Kubeconfig::from_yaml(&kubeconfig)?;
            let data = doc
                .clusters
                .first()
                .and_then(|c| c.cluster.as_ref())
                .and_then(|c| c.certificate_authority_data.clone())
                .with_context(|| format!("{ns}/{name} names no CA"))?;
            use base64::Engine;
            let pem = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .context("the CA in cluster-info is not base64")?;
            String::from_utf8(pem).context("the CA in cluster-info is not PEM")?
        }
    };
    if let CaSource::Pinned(pin) = source {
        let actual = ca_cert_hash(&ca)?;
        if !actual.eq_ignore_ascii_case(pin) {
            bail!(
                "the cluster CA at {server} has the hash {actual}, not {pin}: refusing to join (check --ca-cert-hash against the join command ordo server printed)"
            );
        }
    }
    Ok(ca)
}

/// A key and a PEM certificate request for `system:node:NAME` in `system:nodes`.
fn request(node: &str) -> Result<(String, String)> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::OrganizationName, "system:nodes");
    dn.push(rcgen::DnType::CommonName, format!("system:node:{node}"));
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key)?;
    Ok((csr.pem()?, key.serialize_pem()))
}

/// The node's kubeconfig: the one kept from an earlier join, or a new one made by exchanging
/// the join token for a node certificate.
pub(crate) async fn node_kubeconfig(
    server: &str,
    data_dir: &Path,
    node: &str,
    token: &JoinToken,
    source: CaSource<'_>,
) -> Result<String> {
    let path = node_kubeconfig_path(data_dir);
    if let Ok(kept) = std::fs::read_to_string(&path) {
        tracing::info!("using the node credential in {}", path.display());
        return Ok(kept);
    }
    let ca = cluster_ca(server, &source).await?;
    let bootstrap =
        ordo_apiserver::pki::kubeconfig(server, ca.as_bytes(), "bootstrap", &token.to_string());
    let client = client_of(&bootstrap).await?;
    let (csr_pem, key_pem) = request(node)?;
    let name = format!("node-csr-{}", uuid::Uuid::new_v4().simple());
    let csr = CertificateSigningRequest {
        metadata: kube::api::ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        spec: CertificateSigningRequestSpec {
            request: k8s_openapi::ByteString(csr_pem.into_bytes()),
            signer_name: "kubernetes.io/kube-apiserver-client-kubelet".into(),
            usages: Some(vec!["digital signature".into(), "client auth".into()]),
            ..Default::default()
        },
        status: None,
    };
    let api: Api<CertificateSigningRequest> = Api::all(client);
    api.create(&PostParams::default(), &csr)
        .await
        .with_context(|| format!("sending the certificate request {name} with the join token (is the token right and still valid?)"))?;
    eprintln!("ordo agent: certificate request {name} sent; waiting for it to be approved and signed (`kubectl certificate approve {name}` if it is not approved automatically)");
    let started = std::time::Instant::now();
    let cert = loop {
        let csr = api
            .get(&name)
            .await
            .with_context(|| format!("reading {name}"))?;
        let status = csr.status.unwrap_or_default();
        for c in status.conditions.unwrap_or_default() {
            if c.type_ == "Denied" || c.type_ == "Failed" {
                bail!(
                    "the certificate request {name} was {}: {} {}",
                    c.type_.to_lowercase(),
                    c.reason.unwrap_or_default(),
                    c.message.unwrap_or_default()
                );
            }
        }
        if let Some(cert) = status.certificate.filter(|c| !c.0.is_empty()) {
            break String::from_utf8(cert.0).context("the issued certificate is not PEM")?;
        }
        if started.elapsed() > SIGNING_TIMEOUT {
            bail!(
                "the certificate request {name} was not signed within {} s",
                SIGNING_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let user = format!("system:node:{node}");
    let kubeconfig = ordo_apiserver::pki::cert_kubeconfig(server, &ca, &user, &cert, &key_pem)?;
    write_private(&path, &kubeconfig)?;
    eprintln!(
        "ordo agent: joined as {user}; credential kept in {}",
        path.display()
    );
    Ok(kubeconfig)
}

fn write_private(path: &Path, data: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(data.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
