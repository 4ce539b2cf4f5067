//! Flags several commands share, defined once and `#[command(flatten)]`ed into each, and the
//! set-up done for them: logging and the async runtime.

use clap::ValueEnum;
use std::path::PathBuf;

/// `--data-dir` of `ordo server` and the `ordo image` commands (the agent's own differs: it
/// has another default and no environment variable).
#[derive(clap::Args)]
pub(crate) struct DataDirArgs {
    /// Where ordo keeps its state: store, certificates, token, kubeconfig, volumes, images.
    #[arg(long, default_value = "/var/lib/ordo", env = "ORDO_DATA_DIR")]
    pub(crate) data_dir: PathBuf,
}

/// `--log` of the long-running commands.
#[derive(clap::Args)]
pub(crate) struct LogArgs {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `ordo_apiserver=debug`.
    #[arg(long, default_value = "info", env = "ORDO_LOG")]
    pub(crate) log: String,
}

/// The image garbage collection flags of a node agent, the kubelet's.
#[derive(clap::Args)]
pub(crate) struct ImageGcArgs {
    /// Percent of the image filesystem in use at which unused images are removed (100: never).
    #[arg(long, default_value_t = 85)]
    image_gc_high_threshold: u8,
    /// Percent of the image filesystem in use that image garbage collection frees down to.
    #[arg(long, default_value_t = 80)]
    image_gc_low_threshold: u8,
    /// Unused images are removed after this long whatever the disk use (`2h`, `30m`; `0s`: never).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    image_maximum_gc_age: std::time::Duration,
    /// Images seen for less than this are never removed.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    image_minimum_gc_age: std::time::Duration,
}

impl ImageGcArgs {
    /// The policy, checked as the kubelet checks it.
    pub(crate) fn policy(&self) -> anyhow::Result<ordo_node::image_gc::GcPolicy> {
        let policy = ordo_node::image_gc::GcPolicy {
            high_threshold: self.image_gc_high_threshold,
            low_threshold: self.image_gc_low_threshold,
            max_age: Some(self.image_maximum_gc_age).filter(|d| !d.is_zero()),
            min_age: self.image_minimum_gc_age,
        };
        policy
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        Ok(policy)
    }
}

/// How the node agent refreshes projected ServiceAccount tokens.
#[derive(clap::Args)]
pub(crate) struct TokenRefreshArgs {
    /// Request a pod's projected ServiceAccount token again after this percentage of its
    /// lifetime (the kubelet's 80). Hidden: only tests that watch a running pod read a rotated
    /// token lower it, since the API's shortest token lives 10 minutes.
    #[arg(long, hide = true, default_value_t = ordo_node::runtime::runc::DEFAULT_REFRESH_AFTER_PERCENT,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    token_refresh_percent: u8,
}

impl TokenRefreshArgs {
    /// Sets the refresh point for this process's token manager.
    pub(crate) fn apply(&self) {
        ordo_node::runtime::runc::set_token_refresh_after_percent(self.token_refresh_percent);
    }
}

/// Leader election of the controllers and the scheduler (kube-controller-manager's and
/// kube-scheduler's flags and defaults).
#[derive(clap::Args)]
pub(crate) struct LeaderElectArgs {
    /// Run the controllers and the scheduler only while holding the `kube-system` Leases
    /// `kube-controller-manager` and `kube-scheduler`, so that several servers can share one
    /// etcd. Default: on with `--store etcd`, off with SQLite (one server by construction).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub(crate) leader_elect: Option<bool>,
    /// How long a leader's claim stands after it was last seen renewed.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub(crate) leader_elect_lease_duration: std::time::Duration,
    /// How long a leader keeps trying to renew before it stops leading.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) leader_elect_renew_deadline: std::time::Duration,
    /// How often candidates try to acquire and the leader renews.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub(crate) leader_elect_retry_period: std::time::Duration,
}

impl LeaderElectArgs {
    /// The timings, checked as upstream checks them (lease duration > renew deadline >
    /// retry period × 1.2).
    pub(crate) fn timings(&self) -> anyhow::Result<ordo_controllers::leader::Timings> {
        let t = ordo_controllers::leader::Timings {
            lease_duration: self.leader_elect_lease_duration,
            renew_deadline: self.leader_elect_renew_deadline,
            retry_period: self.leader_elect_retry_period,
        };
        if t.lease_duration <= t.renew_deadline {
            anyhow::bail!("leaseDuration must be greater than renewDeadline");
        }
        if t.renew_deadline <= t.retry_period.mul_f64(1.2) {
            anyhow::bail!("renewDeadline must be greater than retryPeriod*JitterFactor");
        }
        if t.retry_period.is_zero() {
            anyhow::bail!("retryPeriod must be greater than zero");
        }
        Ok(t)
    }
}

/// A Go-style duration: numbers with units `h`, `m`, `s`, `ms` (`1h30m`, `90s`, `0s`).
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let mut total = std::time::Duration::ZERO;
    let mut rest = s.trim();
    if rest == "0" {
        return Ok(total);
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("invalid duration {s:?}"))?;
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[digits..];
        let (unit, len) = ["ms", "h", "m", "s"]
            .iter()
            .find(|u| rest.starts_with(**u))
            .map(|u| (*u, u.len()))
            .ok_or_else(|| format!("invalid duration {s:?}: a unit (h, m, s, ms) is missing"))?;
        rest = &rest[len..];
        total += match unit {
            "h" => std::time::Duration::from_secs(n * 3600),
            "m" => std::time::Duration::from_secs(n * 60),
            "s" => std::time::Duration::from_secs(n),
            _ => std::time::Duration::from_millis(n),
        };
    }
    Ok(total)
}

/// The container runtime of a node agent.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum RuntimeKind {
    /// Real containers with runc.
    Runc,
    /// Simulated pods (like kwok): no processes, for large-scale tests and benchmarks.
    Sim,
}

impl From<RuntimeKind> for ordo_node::RuntimeKind {
    fn from(kind: RuntimeKind) -> Self {
        match kind {
            RuntimeKind::Runc => ordo_node::RuntimeKind::Runc,
            RuntimeKind::Sim => ordo_node::RuntimeKind::Sim,
        }
    }
}

/// How a runc node translates Service addresses.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub(crate) enum ServiceProxyKind {
    /// ClusterIPs and NodePorts translated by an nftables table ordo keeps in sync.
    Nftables,
    /// No translation: the service range is routed `unreachable`.
    None,
}

/// Sends logs to stderr, filtered by `filter` (tracing EnvFilter syntax). Called once per
/// process, by the command that runs.
pub(crate) fn init_tracing(filter: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        // A log that cannot be written (its disk full) is dropped: reporting that with
        // `eprintln!` to the same full stderr would panic the thread that logged, such as the
        // store's writer, and stop every write after the disk had room again.
        .log_internal_errors(false)
        .init();
}

/// The multi-threaded tokio runtime the async commands run on.
pub(crate) fn tokio_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("m").is_err());
    }
}
