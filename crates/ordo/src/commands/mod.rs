//! One module per subcommand of `ordo`: its arguments and the function that runs it.

pub(crate) mod agent;
pub(crate) mod image;
pub(crate) mod kubeconfig;
pub(crate) mod log_shim;
pub(crate) mod pause;
pub(crate) mod server;
pub(crate) mod stdio_shim;

use crate::args::{init_tracing, tokio_runtime, LogArgs};
use std::future::Future;

/// Runs a long-lived command (`server`, `agent`): logs filtered by `--log`, freed memory
/// returned to the OS, `work` on the multi-threaded runtime.
fn run_daemon(log: &LogArgs, work: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    init_tracing(&log.log);
    crate::memory::release_freed_memory();
    tokio_runtime()?.block_on(work)
}
