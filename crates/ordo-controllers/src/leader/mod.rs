//! Leader election through a `coordination.k8s.io` Lease, as client-go's `leaderelection`
//! package does it for kube-controller-manager and kube-scheduler (upstream's timings: lease
//! 15 s, renew deadline 10 s, retry 2 s), through the API only.
//!
//! Neither crate on crates.io fits: `kube-leader-election` needs kube 4, and
//! `kube-lease-manager` takes the lock through server-side apply conflicts with a duration and
//! grace model of its own rather than upstream's optimistic updates, renew deadline and retry
//! period.
//!
//! Losing the lease cancels the work (every future of it is dropped, see [`Elector::run`])
//! instead of exiting the process as kube-controller-manager does: the `ordo server` process
//! also serves the API, the DNS, the service proxy and a node agent, which must keep running.
//! The work stops at the latest `renew deadline` after its last renewal began, while another
//! elector takes over no sooner than `lease duration` after it *saw* that renewal: the gap
//! (at least 3 s) covers requests still in flight.

mod record;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use record::Observed;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a claim stands, how soon the holder gives up renewing, how often it tries.
#[derive(Clone, Copy, Debug)]
pub struct Timings {
    /// `--leader-elect-lease-duration` (15 s).
    pub lease_duration: Duration,
    /// `--leader-elect-renew-deadline` (10 s).
    pub renew_deadline: Duration,
    /// `--leader-elect-retry-period` (2 s).
    pub retry_period: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// How long cancelled work may take to end before the elector reports a failure (the caller
/// then exits the process: work that cannot be stopped must not outlive the lease).
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Why [`Elector::run`] returned.
#[derive(Debug, thiserror::Error)]
pub enum ElectionError {
    /// The work ended on its own while leading.
    #[error("the work under lease {lease} ended: {source:#}")]
    WorkEnded {
        /// `namespace/name` of the Lease.
        lease: String,
        /// The work's error (or a note that it returned).
        source: anyhow::Error,
    },
    /// The lease was lost and the work did not stop within [`STOP_GRACE`].
    #[error("lost lease {0} and the work under it did not stop")]
    Unstoppable(String),
}

/// One candidate for one Lease.
pub struct Elector {
    client: Client,
    api: Api<Lease>,
    namespace: String,
    name: String,
    identity: String,
    timings: Timings,
    component: String,
    observed: Option<Observed>,
    resource_version: Option<String>,
}

impl Elector {
    /// A candidate named `identity` (upstream: `<hostname>_<uuid>`) for Lease
    /// `namespace/name`, writing through `client`; its Events say `component`.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        component: &str,
        timings: Timings,
    ) -> Elector {
        Elector {
            api: Api::namespaced(client.clone(), namespace),
            client,
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            timings,
            component: component.into(),
            observed: None,
            resource_version: None,
        }
    }

    fn lease(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Runs `work()` only while holding the lease, for ever: acquires it (retrying every
    /// retry period, jittered), starts the work as a task, renews every retry period; when a
    /// renewal has not succeeded within the renew deadline, or the Lease shows another holder,
    /// aborts the task, waits until it has ended, and competes again. When `stop` turns true,
    /// stops the work, gives the lease up and returns `Ok`.
    pub async fn run<W, F>(
        mut self,
        mut work: W,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), ElectionError>
    where
        W: FnMut() -> F,
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let lease = self.lease();
        loop {
            tracing::info!("attempting to acquire leader lease {lease}...");
            loop {
                if *stop.borrow() {
                    return Ok(());
                }
                if self.try_acquire_or_renew().await {
                    break;
                }
                let jitter = rand::random::<f64>() * 1.2;
                let wait = self.timings.retry_period.mul_f64(1.0 + jitter);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
            tracing::info!(identity = %self.identity, "successfully acquired lease {lease}");
            self.event("became leader").await;
            let mut task = tokio::spawn(work());
            enum End {
                Work(Result<anyhow::Result<()>, tokio::task::JoinError>),
                Lost,
                Stop,
            }
            let end = tokio::select! {
                r = &mut task => End::Work(r),
                _ = self.keep() => End::Lost,
                _ = stop.changed() => End::Stop,
            };
            let source = match end {
                End::Work(Ok(Ok(()))) => anyhow::anyhow!("it returned"),
                End::Work(Ok(Err(e))) => e,
                End::Work(Err(e)) => anyhow::anyhow!("it panicked: {e}"),
                End::Lost | End::Stop => {
                    task.abort();
                    if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
                        return Err(ElectionError::Unstoppable(lease));
                    }
                    if matches!(end, End::Stop) {
                        self.release().await;
                        return Ok(());
                    }
                    tracing::warn!("failed to renew lease {lease}: stopped leading");
                    self.event("stopped leading").await;
                    continue;
                }
            };
            return Err(ElectionError::WorkEnded { lease, source });
        }
    }

    /// Renews every retry period; returns when the lease is lost.
    async fn keep(&mut self) {
        loop {
            tokio::time::sleep(self.timings.retry_period).await;
            if !self.renew().await {
                return;
            }
        }
    }

    /// One renewal: tries at once and then every retry period until it succeeds (true) or the
    /// renew deadline passes (false). Seeing another holder's standing claim ends it at once
    /// (client-go keeps trying until the deadline; stopping sooner is only safer).
    async fn renew(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + self.timings.renew_deadline;
        loop {
            match tokio::time::timeout_at(deadline, self.try_acquire_or_renew()).await {
                Ok(true) => return true,
                Ok(false) => {}
                Err(_) => return false,
            }
            if let Some(o) = &self.observed {
                if o.holder() != self.identity && !o.holder().is_empty() {
                    return false;
                }
            }
            if tokio::time::Instant::now() + self.timings.retry_period >= deadline {
                return false;
            }
            tokio::time::sleep(self.timings.retry_period).await;
        }
    }

    /// client-go's `tryAcquireOrRenew`: reads the Lease (creating it if missing) and writes
    /// this candidate's claim over it unless another holder's claim stands; an update carries
    /// the read `resourceVersion`, so of two racing candidates one gets 409 Conflict.
    async fn try_acquire_or_renew(&mut self) -> bool {
        let wall = Timestamp::now();
        let lease = match self.api.get_opt(&self.name).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!("reading lease {}: {e}", self.lease());
                return false;
            }
        };
        let Some(lease) = lease else {
            let spec = record::first(&self.identity, self.timings.lease_duration, wall);
            let new = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(spec),
            };
            return match self.api.create(&PostParams::default(), &new).await {
                Ok(l) => self.written(l),
                Err(e) => {
                    tracing::debug!("creating lease {}: {e}", self.lease());
                    false
                }
            };
        };
        let now = Instant::now();
        let spec = lease.spec.clone().unwrap_or_default();
        let seen = record::observe(self.observed.take(), &spec, now);
        let claim = record::claim(
            &seen,
            &self.identity,
            self.timings.lease_duration,
            now,
            wall,
        );
        self.observed = Some(seen);
        self.resource_version = lease.metadata.resource_version.clone();
        let Some(claim) = claim else {
            return false;
        };
        self.replace(lease, claim).await
    }

    /// Writes `spec` over `lease` (optimistically, on its `resourceVersion`).
    async fn replace(&mut self, mut lease: Lease, spec: LeaseSpec) -> bool {
        lease.spec = Some(spec);
        lease.metadata.managed_fields = None;
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(l) => self.written(l),
            Err(e) => {
                tracing::debug!("updating lease {}: {e}", self.lease());
                false
            }
        }
    }

    /// Notes a Lease this candidate wrote (as observed now).
    fn written(&mut self, lease: Lease) -> bool {
        self.resource_version = lease.metadata.resource_version.clone();
        self.observed = Some(Observed {
            spec: lease.spec.unwrap_or_default(),
            at: Instant::now(),
        });
        true
    }

    /// Gives the lease up if this candidate holds it (at shutdown).
    async fn release(&mut self) {
        let Some(o) = &self.observed else { return };
        if o.holder() != self.identity {
            return;
        }
        let spec = record::released(&o.spec, Timestamp::now());
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                resource_version: self.resource_version.clone(),
                ..Default::default()
            },
            spec: None,
        };
        if self.replace(lease, spec).await {
            tracing::info!("released lease {}", self.lease());
        }
    }

    /// An Event on the Lease, as client-go's resource lock records them (`LeaderElection`,
    /// `<identity> became leader`).
    async fn event(&self, what: &str) {
        let recorder = ordo_client::events::Recorder::new(self.client.clone(), &self.component);
        let subject = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                ..Default::default()
            },
            spec: None,
        };
        recorder
            .record(
                &subject,
                ordo_client::events::EventType::Normal,
                "LeaderElection",
                &format!("{} {what}", self.identity),
            )
            .await;
    }
}
