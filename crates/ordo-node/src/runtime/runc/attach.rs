//! What the streaming endpoint needs from the runc runtime: a container's runc id, `runc exec`
//! with pipes or a terminal (`exec -t`), and a container's stdio and exit to attach to.

use super::process::ExitCell;
use super::stdio::{Chunk, ContainerIo, Streams};
use super::RuncRuntime;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Waits for one process's exit: its cell, re-read at each exit notice.
pub struct ExitWait {
    cell: ExitCell,
    /// Exit notices (pod UIDs; any notice is a reason to look again).
    notices: broadcast::Receiver<String>,
}

impl ExitWait {
    /// Whether the process has exited.
    pub fn exited(&self) -> bool {
        self.cell.lock().unwrap().is_some()
    }

    /// Waits until the process has exited: its exit code (None when it could not be read).
    pub async fn wait(&mut self) -> Option<i32> {
        loop {
            if let Some(x) = self.cell.lock().unwrap().as_ref() {
                return x.code;
            }
            if let Err(broadcast::error::RecvError::Closed) = self.notices.recv().await {
                // No more notices can come; the runtime is going away.
                return std::future::pending().await;
            }
        }
    }
}

/// A container to attach to.
pub struct AttachTarget {
    /// The socket of its stdio shim (`stdin`/`tty` containers), where attaches go.
    pub stdio: Option<PathBuf>,
    /// Its log file (what an attach to an ordinary container follows).
    pub log: PathBuf,
    /// Its exit.
    pub exit: ExitWait,
}

/// An `exec -t` process: its terminal and its exit.
pub struct TtyExec {
    /// The `runc exec` process's pid on the node (sent SIGHUP when the client goes away first).
    pub pid: i32,
    /// Its terminal: input and resizes go there.
    pub io: Arc<ContainerIo>,
    /// Every byte of output since the process started.
    pub output: broadcast::Receiver<Chunk>,
    /// Its exit.
    pub exit: ExitWait,
}

impl RuncRuntime {
    /// The runc id of a pod's container, if it was created.
    pub fn container_id(&self, uid: &str, container: &str) -> Option<String> {
        super::read_json::<super::ContainerMeta>(
            &self
                .pod_dir(uid)
                .join("containers")
                .join(container)
                .join("meta.json"),
        )
        .map(|m| m.id)
    }

    /// A `runc exec` command running `argv` in a container (stdio to be piped by the caller;
    /// for a terminal see [`RuncRuntime::exec_tty`]).
    pub fn exec_command(&self, id: &str, argv: &[String]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.runc.bin);
        c.arg("--root")
            .arg(&self.runc.root)
            .arg("exec")
            .arg(id)
            .args(argv);
        c.kill_on_drop(true);
        c
    }

    /// The running or exited container `name` of pod `uid`, if this runtime created or
    /// adopted it.
    pub fn attach_target(&self, uid: &str, name: &str) -> Option<AttachTarget> {
        let (c, exit) = self.current(uid, name)?;
        Some(AttachTarget {
            stdio: c.stdio.clone(),
            log: self.log_path(uid, name),
            exit,
        })
    }

    /// The exit of the pod's current instance of container `name` (None if it was never
    /// created).
    pub fn exit_wait(&self, uid: &str, name: &str) -> Option<ExitWait> {
        self.current(uid, name).map(|(_, exit)| exit)
    }

    fn current(&self, uid: &str, name: &str) -> Option<(Arc<super::Ctr>, ExitWait)> {
        // Subscribe before the cell is read: no exit falls between the two.
        let notices = self.exits.subscribe();
        let pods = self.pods.lock().unwrap();
        let c = pods
            .get(uid)?
            .containers
            .iter()
            .find(|c| c.meta.lock().unwrap().name == name)?
            .clone();
        let exit = ExitWait {
            cell: c.exit.clone(),
            notices,
        };
        Some((c, exit))
    }

    /// Runs `argv` in container `id` on a new terminal (`runc exec --tty` with a console
    /// socket); ordo owns the terminal's master.
    pub async fn exec_tty(&self, id: &str, argv: &[String]) -> anyhow::Result<TtyExec> {
        let (pid, master) = self.runc.exec_tty(id, argv, &std::env::temp_dir()).await?;
        let (tx, notices) = broadcast::channel(1);
        let cell = super::process::watch(pid, None, None, move || {
            let _ = tx.send(String::new());
        });
        let exit = ExitWait { cell, notices };
        let streams = Streams::Tty {
            master,
            stdin: true,
        };
        let (io, output) = ContainerIo::start(streams, None, false, &format!("exec-{pid}"))?;
        tracing::debug!("exec -t in {id}: pid {pid}");
        Ok(TtyExec {
            pid,
            io,
            output,
            exit,
        })
    }
}
