//! Driving the `runc` binary (with ordo's own `--root`) and watching container processes exit.

use super::console::ConsoleSocket;
use super::stdio::Streams;
use anyhow::Context;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::Command;

/// The `runc` binary and its state directory.
#[derive(Clone, Debug)]
pub struct Runc {
    pub bin: PathBuf,
    pub root: PathBuf,
    /// The binary whose `log-shim` and `stdio-shim` subcommands write containers' logs and
    /// hold `stdin`/`tty` containers' stdio (ordo); None: threads and tasks of this process
    /// do (see [`super::log_shim`], [`super::stdio_shim`]).
    pub log_shim: Option<PathBuf>,
}

/// What `runc state` reports.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct State {
    /// The container's id (in `runc list`; absent in `runc state` of older runc).
    #[serde(default)]
    pub id: String,
    pub status: String,
    pub pid: i32,
}

impl Runc {
    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root).stdin(Stdio::null());
        c
    }

    /// `runc --version` as `1.1.5`.
    pub async fn version(&self) -> anyhow::Result<String> {
        let out = Command::new(&self.bin)
            .arg("--version")
            .output()
            .await
            .with_context(|| format!("running {} --version", self.bin.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "{} --version failed",
            self.bin.display()
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let v = text
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("unknown");
        Ok(v.split('+').next().unwrap_or(v).to_string())
    }

    /// `runc create`. With [`CreateIo::Log`] the container's stdout and stderr are pipes to its
    /// log shim, which writes `log` ([`super::log_shim`]); otherwise its stdio shim runs runc,
    /// holds its stdio ([`super::stdio_shim`]), writes `log` and serves attaches on a socket in
    /// the bundle (without a shim binary ordo runs runc and serves the socket itself). Both
    /// append CRI records. Returns the init process's PID (its parent, when runc exits, is the
    /// child subreaper above runc: ordo, or the stdio shim) and the stdio socket's path.
    pub async fn create(
        &self,
        id: &str,
        bundle: &Path,
        log: &Path,
        io: CreateIo,
    ) -> anyhow::Result<(i32, Option<PathBuf>)> {
        let runc_log = bundle.join("runc.log");
        let pid_file = bundle.join("pid");
        let args: Vec<std::ffi::OsString> = vec![
            "--log".into(),
            runc_log.clone().into(),
            "--log-format".into(),
            "json".into(),
            "create".into(),
            "--bundle".into(),
            bundle.into(),
            "--pid-file".into(),
            pid_file.clone().into(),
        ];
        if let (Some(exe), CreateIo::Tty { .. } | CreateIo::Pipes { .. }) = (&self.log_shim, io) {
            // The stdio shim runs runc, so that it is the container's reaper.
            let mut runc: Vec<std::ffi::OsString> = vec![
                self.bin.clone().into(),
                "--root".into(),
                self.root.clone().into(),
            ];
            runc.extend(args);
            let (created, socket) =
                super::stdio_shim::create(exe, runc, io, bundle, log, id).await?;
            return match created {
                super::stdio_shim::Created::Pid(pid) => Ok((pid, Some(socket))),
                super::stdio_shim::Created::RuncFailed => {
                    anyhow::bail!("runc create {id}: {}", last_error(&runc_log))
                }
            };
        }
        let mut cmd = self.cmd();
        cmd.args(&args);
        let mut stdin_once = false;
        let (console, pipes) = match io {
            CreateIo::Log => {
                let diag = bundle.join("log-shim.log");
                let (out, err) = super::log_shim::start(self.log_shim.as_deref(), log, &diag, id)?;
                cmd.stdout(out).stderr(err);
                (None, None)
            }
            CreateIo::Tty { stdin } => {
                let sock = ConsoleSocket::bind()?;
                cmd.arg("--console-socket").arg(sock.path());
                // runc's own output: its errors are in `runc_log`.
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
                (Some((sock, stdin)), None)
            }
            CreateIo::Pipes { stdin_once: once } => {
                stdin_once = once;
                let (in_r, in_w) = pipe()?;
                let (out_r, out_w) = pipe()?;
                let (err_r, err_w) = pipe()?;
                cmd.stdin(in_r).stdout(out_w).stderr(err_w);
                (
                    None,
                    Some(Streams::Pipes {
                        stdin: Some(in_w),
                        stdout: out_r,
                        stderr: err_r,
                    }),
                )
            }
        };
        cmd.arg(id);
        let mut child = cmd.spawn().context("running runc create")?;
        // The child has its copies of the pipes' container ends; ours must go, or the output
        // never ends.
        drop(cmd);
        let streams = match console {
            Some((sock, stdin)) => {
                let master = tokio::select! {
                    m = sock.receive() => Some(m),
                    _ = child.wait() => None,
                };
                match master {
                    Some(Ok(m)) => Some(Streams::Tty { master: m, stdin }),
                    Some(Err(e)) => {
                        let _ = child.kill().await;
                        return Err(e.context(format!("runc create {id}")));
                    }
                    // runc ended without sending a terminal: it failed (reported below).
                    None => None,
                }
            }
            None => pipes,
        };
        let status = child.wait().await.context("running runc create")?;
        if !status.success() {
            anyhow::bail!("runc create {id}: {}", last_error(&runc_log));
        }
        let pid = read_pid(&pid_file)?;
        let socket = match streams {
            Some(s) => Some(super::stdio_shim::serve_here(
                s, log, bundle, stdin_once, id,
            )?),
            None => None,
        };
        Ok((pid, socket))
    }

    /// `runc exec --detach --tty`: runs `argv` in container `id` on a new terminal whose master
    /// ordo receives. Returns the process's PID (ordo becomes its parent) and the master. The
    /// PID passes through a file in `dir`, removed afterwards.
    pub async fn exec_tty(
        &self,
        id: &str,
        argv: &[String],
        dir: &Path,
    ) -> anyhow::Result<(i32, OwnedFd)> {
        let sock = ConsoleSocket::bind()?;
        let pid_file = dir.join(format!(
            "exec-{}.pid",
            sock.path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let mut child = self
            .cmd()
            .arg("exec")
            .arg("--detach")
            .arg("--tty")
            .arg("--env")
            .arg("TERM=xterm")
            .arg("--console-socket")
            .arg(sock.path())
            .arg("--pid-file")
            .arg(&pid_file)
            .arg(id)
            .args(argv)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("running runc exec")?;
        let mut stderr = child.stderr.take();
        let master = tokio::select! {
            m = sock.receive() => Some(m?),
            _ = child.wait() => None,
        };
        let out = child.wait().await.context("running runc exec")?;
        let mut err = String::new();
        if let Some(e) = stderr.as_mut() {
            use tokio::io::AsyncReadExt;
            let _ = e.read_to_string(&mut err).await;
        }
        let pid = read_pid(&pid_file);
        let _ = std::fs::remove_file(&pid_file);
        match (out.success(), master) {
            (true, Some(m)) => Ok((pid?, m)),
            _ => anyhow::bail!("runc exec {id}: {}", err.trim()),
        }
    }

    /// `runc start`.
    pub async fn start(&self, id: &str) -> anyhow::Result<()> {
        let out = self
            .cmd()
            .arg("start")
            .arg(id)
            .output()
            .await
            .context("running runc start")?;
        anyhow::ensure!(
            out.status.success(),
            "runc start {id}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }

    /// `runc delete --force` (kills what is left); unknown containers are fine.
    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        let out = self
            .cmd()
            .arg("delete")
            .arg("--force")
            .arg(id)
            .output()
            .await
            .context("running runc delete")?;
        let err = String::from_utf8_lossy(&out.stderr);
        anyhow::ensure!(
            out.status.success() || err.contains("does not exist"),
            "runc delete {id}: {}",
            err.trim()
        );
        Ok(())
    }

    /// The ids of the containers runc knows in `status` (`created`: made but never started).
    pub async fn list_in(&self, status: &str) -> Vec<String> {
        let Ok(out) = self.cmd().args(["list", "--format", "json"]).output().await else {
            return Vec::new();
        };
        let all: Vec<State> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        all.into_iter()
            .filter(|s| s.status == status)
            .map(|s| s.id)
            .collect()
    }

    /// `runc state`; None when runc does not know the container.
    pub async fn state(&self, id: &str) -> Option<State> {
        let out = self.cmd().arg("state").arg(id).output().await.ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }
}

/// How `runc create` sets up the container's stdio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateIo {
    /// stdout and stderr appended to the log file; no stdin.
    Log,
    /// A terminal (`tty: true`), received through a console socket; clients may write to
    /// it if `stdin`.
    Tty { stdin: bool },
    /// Pipes held by the stdio shim: stdout, stderr and stdin (`stdin: true`), closed after
    /// the first attached client if `stdin_once`.
    Pipes { stdin_once: bool },
}

impl CreateIo {
    /// What a container's `stdin`, `stdinOnce` and `tty` fields ask for.
    pub fn of(c: &k8s_openapi::api::core::v1::Container) -> CreateIo {
        let stdin = c.stdin.unwrap_or(false);
        match (stdin, c.tty.unwrap_or(false)) {
            (_, true) => CreateIo::Tty { stdin },
            (true, false) => CreateIo::Pipes {
                stdin_once: c.stdin_once.unwrap_or(false),
            },
            (false, false) => CreateIo::Log,
        }
    }
}

/// A pipe as (read end, write end), both close-on-exec (the child gets its end by dup2).
pub(super) fn pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("creating a pipe")
}

fn read_pid(pid_file: &Path) -> anyhow::Result<i32> {
    let pid = std::fs::read_to_string(pid_file)
        .with_context(|| format!("reading {}", pid_file.display()))?;
    pid.trim()
        .parse()
        .with_context(|| format!("bad pid file {}", pid_file.display()))
}

/// The last error message of a runc `--log-format json` log.
fn last_error(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["level"] == "error")
        .and_then(|v| v["msg"].as_str().map(str::to_string))
        .unwrap_or_else(|| "failed (no message in runc's log)".into())
}

/// How a container process ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Exited {
    /// Exit status, or 128 + signal; None when the process was not ordo's child (adopted
    /// after a restart) and its status could not be read.
    pub code: Option<i32>,
    pub at: Time,
    /// The OOM killer killed a process of the container's cgroup.
    pub oom_killed: bool,
}

/// Filled in when the process exits.
pub type ExitCell = Arc<Mutex<Option<Exited>>>;

/// Watches `pid` on a thread of its own: `waitpid` when it is ordo's child, else polling
/// `/proc` (a container adopted after a restart, or one whose stdio shim reaps it, belongs to
/// another reaper; the shim records its exit code in `exit_file`). At the exit, the
/// OOM-kill counter of the container's cgroup (`cgroups_path`; None for an exec) is read, before anything removes
/// the cgroup; `exited` is called once the exit is recorded.
pub fn watch(
    pid: i32,
    cgroups_path: Option<&str>,
    exit_file: Option<PathBuf>,
    exited: impl FnOnce() + Send + 'static,
) -> ExitCell {
    let cgroups_path = cgroups_path.map(str::to_string);
    let cell: ExitCell = Arc::new(Mutex::new(None));
    let out = cell.clone();
    std::thread::Builder::new()
        .name(format!("wait-{pid}"))
        .spawn(move || {
            let code = loop {
                match waitpid(Pid::from_raw(pid), None) {
                    Ok(WaitStatus::Exited(_, c)) => break Some(c),
                    Ok(WaitStatus::Signaled(_, s, _)) => break Some(128 + s as i32),
                    Ok(_) => continue,
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(_) => {
                        while alive(pid) {
                            std::thread::sleep(Duration::from_millis(200));
                        }
                        // Its stdio shim, if it has one, reaped it and says how it ended.
                        break exit_file.and_then(|f| super::stdio_shim::recorded_exit(&f));
                    }
                }
            };
            *out.lock().unwrap() = Some(Exited {
                code,
                at: crate::status::now(),
                oom_killed: cgroups_path.is_some_and(|p| super::cgroup::oom_kills(&p) > 0),
            });
            exited();
        })
        .expect("spawning a wait thread");
    cell
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(") ")
            .map(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'))
            .unwrap_or(false),
        Err(_) => false,
    }
}
