//! Several "machines" on this host for multi-node tests: each node is a network namespace
//! (`ordomn-N`) joined by a veth pair to an underlay bridge (`ordomn0`, 192.168.213.1/24 in the
//! test's own range) with its own address (192.168.213.1N), its own data dir and its own
//! `ordo agent --runtime runc`, joined with the server's join token. The server runs in the
//! host's namespace with the simulated runtime, listening on the bridge's address.
//!
//! Agents are started with `nsenter --net=/run/netns/ordomn-N` rather than `ip netns exec`:
//! the latter mounts a fresh sysfs over `/sys`, which hides the cgroup hierarchy runc needs.
//! Each agent has a pod bridge of its own name (`omnN`), so that the pod namespace names in the
//! host-wide `/run/netns` (`<bridge>-<uid>`) of two agents never mix; runc state, shims and
//! volumes are under each agent's data dir; everything else (bridge, nftables table, routes,
//! `ip_forward`) is inside the node's namespace.
//!
//! No default route is set in a node's namespace: nothing leaves the test's own addresses.
//! Dropping the [`Cluster`] (on panic too) kills the agents by PID, removes their containers,
//! mounts and pod namespaces, then the node namespaces (their veths go with them) and the
//! underlay bridge.

use super::real_pods::{kill_pods_of, test_images};
use super::Server;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The underlay bridge in the host namespace.
pub const UNDERLAY: &str = "ordomn0";
/// Its address (the server's).
pub const SERVER_IP: &str = "192.168.213.1";

/// One node: a namespace, an address, a data dir, an agent.
pub struct Machine {
    /// Node name (`mn-node-N`).
    pub name: String,
    /// Network namespace name (`ordomn-N`).
    pub netns: String,
    /// Underlay address.
    pub ip: String,
    /// Pod bridge name inside the namespace.
    pub bridge: String,
    /// The agent's data dir.
    pub data: tempfile::TempDir,
    agent: Option<Child>,
}

impl Machine {
    /// The agent's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.path().join("agent.log")).unwrap_or_default()
    }

    /// Runs `cmd` inside the node's namespace; its stdout.
    pub fn run(&self, cmd: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .args(cmd)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stops the agent (SIGTERM, then SIGKILL after 10 s), by its PID.
    pub fn stop_agent(&mut self) {
        let Some(mut child) = self.agent.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Removes what the agent's pods left on the host (after the agent stopped).
    fn clean_up(&mut self) {
        self.stop_agent();
        kill_pods_of(self.data.path());
        if let Ok(rd) = std::fs::read_dir("/run/netns") {
            for e in rd.filter_map(|e| e.ok()) {
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with(&format!("{}-", self.bridge)) {
                    let _ = Command::new("ip").args(["netns", "delete", &name]).status();
                }
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.netns])
            .status();
    }
}

/// A server and N agent machines.
pub struct Cluster {
    /// The server (simulated runtime for its own node), on [`SERVER_IP`].
    pub server: Server,
    /// The agent machines.
    pub nodes: Vec<Machine>,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Removes the namespaces and the bridge a killed earlier run may have left.
fn remove_leftovers(n: usize) {
    for i in 1..=n.max(4) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &format!("ordomn-{i}")])
            .stderr(Stdio::null())
            .status();
    }
    let _ = Command::new("ip")
        .args(["link", "delete", UNDERLAY])
        .stderr(Stdio::null())
        .status();
}

impl Cluster {
    /// Builds the underlay, starts the server and `n` agents with the test images `archives`
    /// to import, and waits until every agent's node is Ready with its pod CIDR.
    pub fn start(n: usize, archives: &[&str]) -> Cluster {
        remove_leftovers(n);
        ip(&["link", "add", UNDERLAY, "type", "bridge"]);
        ip(&["addr", "add", &format!("{SERVER_IP}/24"), "dev", UNDERLAY]);
        ip(&["link", "set", UNDERLAY, "up"]);
        // From here on, dropping the cluster cleans up; the server's Drop stops it.
        let server = Server::start_bound(
            tempfile::tempdir().unwrap(),
            SERVER_IP,
            "sim",
            &["--node-name", "mn-server"],
        );
        let mut cluster = Cluster {
            server,
            nodes: vec![],
        };
        let join = cluster.join_command();
        let images = test_images();
        for i in 1..=n {
            let netns = format!("ordomn-{i}");
            let addr = format!("192.168.213.{}", 10 + i);
            let (host_veth, node_veth) = (format!("ordomn{i}h"), format!("ordomn{i}n"));
            let data = tempfile::tempdir().unwrap();
            let m = Machine {
                name: format!("mn-node-{i}"),
                netns: netns.clone(),
                ip: addr.clone(),
                bridge: format!("omn{i}"),
                data,
                agent: None,
            };
            cluster.nodes.push(m);
            ip(&["netns", "add", &netns]);
            ip(&[
                "link", "add", &host_veth, "type", "veth", "peer", "name", &node_veth,
            ]);
            ip(&["link", "set", &node_veth, "netns", &netns]);
            ip(&["link", "set", &host_veth, "master", UNDERLAY, "up"]);
            ip(&["-n", &netns, "link", "set", "lo", "up"]);
            ip(&["-n", &netns, "link", "set", &node_veth, "name", "ul0"]);
            ip(&[
                "-n",
                &netns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "ul0",
            ]);
            ip(&["-n", &netns, "link", "set", "ul0", "up"]);
            let m = cluster.nodes.last_mut().unwrap();
            let import = m.data.path().join("images/import");
            std::fs::create_dir_all(&import).unwrap();
            for a in archives {
                std::fs::copy(images.join(a), import.join(a)).unwrap();
            }
            let log = std::fs::File::create(m.data.path().join("agent.log")).unwrap();
            let child = Command::new("nsenter")
                .arg(format!("--net=/run/netns/{netns}"))
                .arg("--")
                .arg(env!("CARGO_BIN_EXE_ordo"))
                .arg("agent")
                .args(&join)
                .args(["--node-name", &m.name, "--node-ip", &addr])
                .args(["--runtime", "runc", "--bridge", &m.bridge])
                .args(["--image-gc-high-threshold=100", "--log", "info"])
                // Names outside the cluster are not forwarded: nothing leaves the test.
                .args(["--dns-upstream", "none"])
                .arg("--data-dir")
                .arg(m.data.path())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            m.agent = Some(child);
        }
        let names: Vec<String> = cluster.nodes.iter().map(|m| m.name.clone()).collect();
        cluster
            .server
            .eventually(60, "the agents' nodes Ready with pod CIDRs", || {
                names.iter().all(|n| {
                    let out = cluster.server.kubectl(&[
                    "get",
                    "node",
                    n,
                    "-o",
                    "jsonpath={.spec.podCIDR} {.status.conditions[?(@.type==\"Ready\")].status}",
                ]);
                    let out = String::from_utf8_lossy(&out.stdout).to_string();
                    out.ends_with(" True") && out.starts_with("10.244.")
                })
            });
        cluster
    }

    /// The `--server`, `--join-token` and `--ca-cert-hash` flags the server printed.
    fn join_command(&self) -> Vec<String> {
        let mut flags = vec![];
        self.server.eventually(10, "the join command", || {
            let log = self.server.log();
            let Some(line) = log.lines().find(|l| l.contains("ordo agent --server")) else {
                return false;
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "--server").unwrap();
            flags = words[at..].iter().map(|w| w.to_string()).collect();
            true
        });
        flags
    }

    /// The logs of every agent, for a failure message.
    pub fn agent_logs(&self) -> String {
        self.nodes
            .iter()
            .map(|m| format!("--- {} ---\n{}", m.name, super::tail(&m.log())))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.agent_logs());
        }
        for m in &mut self.nodes {
            m.clean_up();
        }
        self.server.stop();
        let _ = Command::new("ip")
            .args(["link", "delete", UNDERLAY])
            .status();
    }
}
