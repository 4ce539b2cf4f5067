//! The ordo API server: Kubernetes REST semantics (discovery, OpenAPI, CRUD, patch, watch,
//! subresources, Tables) over an [`ordo_store::Store`], served over HTTPS with bearer tokens.
//!
//! Start reading at [`ApiServer::serve`], then `router.rs` (path → handler), `rest/` (the
//! verbs, a module each) and `admission.rs` (what the server changes or refuses in an object
//! before storing it).

#![warn(missing_docs)]

mod admission;
mod alloc;
mod audit;
pub mod auth;
mod bootstrap;
mod certificates;
mod convert;
mod crd;
mod discovery;
#[doc(hidden)]
pub mod fuzzing;
pub mod join;
mod meta;
mod metrics;
mod openapi;
pub mod pki;
mod priority;
mod protobuf;
mod proxy;
mod resource_metrics;
mod rest;
mod router;
mod table;
mod ui;

use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use ordo_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::Service;

/// Largest request body accepted (upstream's limit): larger ones get 413.
pub(crate) const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How long a client has to finish its TLS handshake, and then each request's headers: kube-apiserver's
/// `ReadHeaderTimeout` (32 s), so slow clients cannot hold connections open. Tests shorten it
/// with `ORDO_HEADER_READ_TIMEOUT_SECS`.
fn header_read_timeout() -> std::time::Duration {
    let secs = std::env::var("ORDO_HEADER_READ_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    std::time::Duration::from_secs(secs)
}

/// Shared state of the API server.
pub struct ApiServer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) token: String,
    pub(crate) service_cidr: alloc::Cidr,
    pub(crate) advertise: String,
    pub(crate) openapi: openapi::OpenApiCache,
    pub(crate) watch_lines: rest::LineCache,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) audit: Option<audit::AuditLog>,
    /// The authorizers' view of roles, bindings, pods and claims, kept current by watches.
    pub(crate) authz: Arc<auth::rbac::index::Index>,
    pub(crate) signer: auth::tokens::Signer,
    pub(crate) ca_cert_pem: String,
    /// Serializes the ResourceQuota admission's charges (see `admission/resource_quota.rs`).
    pub(crate) quota_lock: tokio::sync::Mutex<()>,
    /// The latest resource metrics scraped from the node agents (`metrics.k8s.io`).
    pub(crate) resource_metrics: resource_metrics::Samples,
    /// One CRD reconciliation at a time (see `crd.rs`).
    pub(crate) crd_lock: tokio::sync::Mutex<()>,
    metric_resolution: std::time::Duration,
}

/// The address a request came from (a request extension the HTTPS server adds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) SocketAddr);

/// How the API server is set up.
pub struct Config {
    /// Where objects are kept.
    pub store: Arc<dyn Store>,
    /// Bearer token clients must present.
    pub token: String,
    /// Service IP range (first address is the `kubernetes` Service).
    pub service_cidr: String,
    /// Address clients reach the server at (for the `kubernetes` endpoints and discovery).
    pub advertise: SocketAddr,
    /// Where to append the audit log (`audit.k8s.io/v1` Events, one JSON line each), if anywhere.
    pub audit_log: Option<std::path::PathBuf>,
    /// The ServiceAccount token signing key (PKCS#8 PEM, ECDSA P-256).
    pub service_account_key_pem: String,
    /// The cluster CA certificate (PEM), put in token Secrets and `kube-root-ca.crt`.
    pub ca_cert_pem: String,
    /// How often the node agents' resource metrics are scraped (`metrics.k8s.io`).
    pub metric_resolution: std::time::Duration,
}

impl ApiServer {
    /// Builds the server and creates the objects every cluster has (namespaces, the
    /// `kubernetes` Service).
    pub async fn new(cfg: Config) -> Result<Arc<ApiServer>> {
        let server = Arc::new(ApiServer {
            store: cfg.store,
            token: cfg.token,
            service_cidr: alloc::Cidr::parse(&cfg.service_cidr)
                .context("parsing the service CIDR")?,
            advertise: cfg.advertise.to_string(),
            openapi: Default::default(),
            watch_lines: Default::default(),
            metrics: Default::default(),
            audit: match &cfg.audit_log {
                Some(path) => Some(
                    audit::AuditLog::open(path)
                        .with_context(|| format!("opening the audit log {}", path.display()))?,
                ),
                None => None,
            },
            authz: Default::default(),
            signer: auth::tokens::Signer::from_pem(&cfg.service_account_key_pem)
                .context("reading the service account key")?,
            ca_cert_pem: cfg.ca_cert_pem,
            quota_lock: tokio::sync::Mutex::new(()),
            resource_metrics: Default::default(),
            crd_lock: tokio::sync::Mutex::new(()),
            metric_resolution: cfg.metric_resolution,
        });
        server.authz.start(server.store.clone());
        server.authz.wait_until(|st| st.primed()).await;
        bootstrap::ensure_defaults(&server, cfg.advertise).await?;
        auth::rbac::policy::ensure(&server).await?;
        server.prime_crds().await?;
        Ok(server)
    }

    /// The axum router serving the whole API (authentication included).
    pub(crate) fn router(self: &Arc<Self>) -> axum::Router {
        router::router(self.clone())
    }

    /// Serves HTTPS on `listener` until the task is dropped.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        tls: rustls::ServerConfig,
    ) -> Result<()> {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let app = self.router();
        tokio::spawn(compaction_loop(self.store.clone()));
        tokio::spawn(resource_metrics::scrape_loop(
            self.clone(),
            self.metric_resolution,
        ));
        let header_timeout = header_read_timeout();
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(t)) => t,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, "TLS handshake failed: {e}");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
                // The user of a verified client certificate, for every request of the connection.
                let cert_user = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c| auth::x509::user_from_certificate(c))
                    .map(auth::x509::ClientCertUser);
                let svc = hyper::service::service_fn(
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(ClientAddr(peer));
                        let mut app = app.clone();
                        let mut req = req.map(axum::body::Body::new);
                        if let Some(u) = &cert_user {
                            req.extensions_mut().insert(u.clone());
                        }
                        async move { app.call(req).await }
                    },
                );
                let mut builder =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder
                    .http1()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_timeout);
                if let Err(e) = builder
                    .serve_connection_with_upgrades(TokioIo::new(tls), svc)
                    .await
                {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
            });
        }
    }
}

/// Compacts store history older than five minutes, once a minute, as kube-apiserver does.
async fn compaction_loop(store: Arc<dyn Store>) {
    let mut seen: std::collections::VecDeque<i64> = Default::default();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Ok(rev) = store.current_revision().await {
            seen.push_back(rev);
            if seen.len() > 5 {
                let old = seen.pop_front().unwrap_or(0);
                if old > 0 {
                    if let Err(e) = store.compact(old).await {
                        tracing::debug!("compaction to {old}: {e}");
                    }
                }
            }
        }
    }
}
