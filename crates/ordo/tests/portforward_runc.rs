//! End-to-end with real containers: `kubectl port-forward` to a StatefulSet pod's HTTP servers
//! (busybox httpd) with every kubectl from 1.27 to 1.30 (SPDY/3.1) and from 1.31 to 1.33 (SPDY
//! tunnelled in WebSocket), two ports at once and 8 MiB through both, `svc/` and `sts/` targets,
//! a closed port (the kubelet's and containerd's error text), the WebSocket channel protocol
//! through kube-rs, a `hostNetwork` pod; the simulated runtime's refusal; and `kubectl cp` into
//! and out of the pod (exec + tar), content checked.
//!
//! Needs root and runc; runs under the real-pods lock. Traffic stays on 127.0.0.1 and inside
//! the pod's network namespace.

mod common;
use common::real_pods::*;
use common::{free_port, Server, KUBECTL_1_33};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KUBECTL_1_27: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";

/// A StatefulSet whose pod serves its hostname on port 80 (and 8 MiB of random bytes as
/// `/big`) and `second` on 8080.
const WEB: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80}, {name: alt, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox:1.28
        command: [sh, -c, "mkdir -p /www /alt && hostname > /www/index.html && dd if=/dev/urandom of=/www/big bs=1024 count=8192 2>/dev/null && echo second > /alt/index.html && httpd -p 8080 -h /alt && exec httpd -f -p 80 -h /www"]
        ports: [{containerPort: 80, name: http}, {containerPort: 8080, name: alt}]
        readinessProbe:
          tcpSocket: {port: 80}
          periodSeconds: 1
"#;

/// A running `kubectl port-forward`, stopped (by PID) when dropped; its stderr is collected.
struct Forward {
    child: Child,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

impl Forward {
    /// Starts `kubectl port-forward TARGET SPECS...` on 127.0.0.1 and waits until it
    /// forwards every spec.
    fn start(s: &Server, kubectl: &str, target: &str, specs: &[String]) -> Forward {
        let mut args = vec!["port-forward", "--address", "127.0.0.1", target];
        args.extend(specs.iter().map(String::as_str));
        let mut child = s
            .kubectl_command_with(kubectl, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting kubectl port-forward");
        let stdout = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().unwrap();
        let o = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut o = o.lock().unwrap();
                o.push_str(&line);
                o.push('\n');
            }
        });
        let stderr = common::collect(child.stderr.take().unwrap());
        let mut f = Forward {
            child,
            stderr,
            stdout,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let forwarding = f.stdout.lock().unwrap().matches("Forwarding from").count();
            if forwarding >= specs.len() {
                return f;
            }
            if Instant::now() > deadline || f.child.try_wait().unwrap().is_some() {
                panic!(
                    "{kubectl} port-forward {target} {specs:?} did not start:\nstdout: {}\nstderr: {}\nserver log tail:\n{}",
                    f.stdout.lock().unwrap(),
                    f.stderr.lock().unwrap(),
                    common::tail(&s.log())
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET http://127.0.0.1:PORT/` through the forward.
fn fetch(port: u16) -> Option<String> {
    curl(&format!("http://127.0.0.1:{port}/"))
}

/// The SHA-256 (hex) of what `url` serves.
fn sha256_of(url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body");
    let st = std::process::Command::new("curl")
        .args(["-sf", "--max-time", "30", "-o"])
        .arg(&file)
        .arg(url)
        .status()
        .unwrap();
    assert!(st.success(), "curl {url}");
    let out = std::process::Command::new("sha256sum")
        .arg(&file)
        .output()
        .unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    out.split_whitespace().next().unwrap().to_string()
}

/// The simulated runtime has no pod network: the node says so, and kubectl shows it.
#[test]
fn port_forward_on_the_simulated_runtime_says_why() {
    let s = Server::start();
    s.ok(&["run", "web", "--image", "busybox:1.28"]);
    s.eventually(30, "web to be Running", || {
        s.ok(&["get", "pod", "web", "-o", "jsonpath={.status.phase}"]) == "Running"
    });
    let local = free_port().to_string();
    for kubectl in ["/usr/bin/kubectl", KUBECTL_1_27, KUBECTL_1_33] {
        let out = s
            .kubectl_command_with(
                kubectl,
                &["port-forward", "pod/web", &format!("{local}:80")],
            )
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{kubectl}: {err}");
        assert!(
            err.contains("this node runs the simulated runtime: its pods have no network to forward ports to"),
            "{kubectl}: {err}"
        );
    }
}

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn port_forward_and_cp_with_real_pods() {
    let Some((data, _lock)) = with_real_pods(&[], |server| {
        let s = server.as_ref().unwrap();
        s.apply(WEB);
        s.eventually(90, "web-0 to be Ready", || {
            s.kubectl(&[
                "get",
                "pod",
                "web-0",
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
            ])
            .stdout
                == b"True"
        });
        port_forward(s);
        copy(s);
        s.ok(&["delete", "sts", "web", "--wait=false"]);
        pods_gone_and_node_clean(s);
    }) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

fn port_forward(s: &Server) {
    // One port, with each kubectl: up to 1.30 SPDY/3.1, from 1.31 (PortForwardWebsockets on
    // by default) SPDY tunnelled in WebSocket; the server log tells which one reached the node.
    const SPDY: &str = "port-forward to default/web-0 over SPDY/3.1";
    const TUNNEL: &str = "port-forward to default/web-0 over SPDY tunnelled in WebSocket";
    for (kubectl, transport) in [
        (KUBECTL_1_27, SPDY),
        ("/usr/lib/google-cloud-sdk/bin/kubectl.1.28", SPDY),
        ("/usr/lib/google-cloud-sdk/bin/kubectl.1.29", SPDY),
        ("/usr/lib/google-cloud-sdk/bin/kubectl.1.30", SPDY),
        ("/usr/lib/google-cloud-sdk/bin/kubectl.1.31", TUNNEL),
        ("/usr/lib/google-cloud-sdk/bin/kubectl.1.32", TUNNEL),
        ("/usr/bin/kubectl", TUNNEL),
        (KUBECTL_1_33, TUNNEL),
    ] {
        let before = s.log().matches(transport).count();
        let local = free_port();
        let f = Forward::start(s, kubectl, "pod/web-0", &[format!("{local}:80")]);
        for _ in 0..3 {
            assert_eq!(
                fetch(local).as_deref(),
                Some("web-0\n"),
                "{kubectl}: {}",
                f.stderr()
            );
        }
        assert!(
            s.log().matches(transport).count() > before,
            "{kubectl} did not use {transport:?}:\n{}",
            common::tail(&s.log())
        );
        drop(f);
    }

    // Two ports at once, and 8 MiB in one response, through both transports.
    let big = s.ok(&["exec", "web-0", "--", "sha256sum", "/www/big"]);
    let big = big.split_whitespace().next().unwrap().to_string();
    for kubectl in [KUBECTL_1_27, KUBECTL_1_33] {
        let (a, b) = (free_port(), free_port());
        let f = Forward::start(
            s,
            kubectl,
            "pod/web-0",
            &[format!("{a}:80"), format!("{b}:8080")],
        );
        assert_eq!(fetch(a).as_deref(), Some("web-0\n"), "{}", f.stderr());
        assert_eq!(fetch(b).as_deref(), Some("second\n"), "{}", f.stderr());
        assert_eq!(fetch(a).as_deref(), Some("web-0\n"), "{}", f.stderr());
        assert_eq!(
            sha256_of(&format!("http://127.0.0.1:{a}/big")),
            big,
            "{kubectl}"
        );
    }

    // Targets kubectl resolves itself: a Service (its port name → the pod's port) and the set.
    let local = free_port();
    let f = Forward::start(s, KUBECTL_1_33, "svc/web", &[format!("{local}:alt")]);
    assert_eq!(fetch(local).as_deref(), Some("second\n"), "{}", f.stderr());
    drop(f);
    let local = free_port();
    let f = Forward::start(s, KUBECTL_1_33, "sts/web", &[format!("{local}:80")]);
    assert_eq!(fetch(local).as_deref(), Some("web-0\n"), "{}", f.stderr());
    drop(f);

    // Nothing listens on 81: the connection fails and kubectl shows the kubelet's error.
    let uid = s.ok(&["get", "pod", "web-0", "-o", "jsonpath={.metadata.uid}"]);
    for kubectl in [KUBECTL_1_27, KUBECTL_1_33] {
        let local = free_port();
        let f = Forward::start(s, kubectl, "pod/web-0", &[format!("{local}:81")]);
        assert_eq!(fetch(local), None);
        let want = [
            format!("error forwarding port 81 to pod {uid}, uid : failed to execute portforward in network namespace"),
            "failed to connect to localhost:81 inside namespace".to_string(),
            "IPv4: dial tcp4 127.0.0.1:81: connect: connection refused".to_string(),
        ];
        let deadline = Instant::now() + Duration::from_secs(10);
        while !want.iter().all(|w| f.stderr().contains(w.as_str())) {
            assert!(
                Instant::now() < deadline,
                "{kubectl}: expected {want:?} in:\n{}",
                f.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // The WebSocket channel protocol (v4.channel.k8s.io, `?ports=`), as kube-rs speaks it.
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(channel_protocol(s));

    host_network(s);
}

/// A `hostNetwork` pod's ports are the host's: its server listens on the host's 127.0.0.1 and
/// the forward connects there.
fn host_network(s: &Server) {
    let port = free_port();
    s.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: hostweb}}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox:1.28
    command: [sh, -c, "mkdir -p /www && echo host > /www/index.html && exec httpd -f -p 127.0.0.1:{port} -h /www"]
"#
    ));
    s.eventually(60, "hostweb to serve", || {
        curl(&format!("http://127.0.0.1:{port}/")).as_deref() == Some("host\n")
    });
    let local = free_port();
    let f = Forward::start(s, KUBECTL_1_33, "pod/hostweb", &[format!("{local}:{port}")]);
    assert_eq!(fetch(local).as_deref(), Some("host\n"), "{}", f.stderr());
    drop(f);
    s.ok(&["delete", "pod", "hostweb", "--wait=false"]);
}

/// Two ports through kube-rs's `Api::portforward`: an HTTP request on each, the answers back.
async fn channel_protocol(s: &Server) {
    use k8s_openapi::api::core::v1::Pod;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let kc = kube::config::Kubeconfig::read_from(&s.kubeconfig).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(cfg).unwrap();
    let pods: kube::Api<Pod> = kube::Api::namespaced(client, "default");
    let mut pf = pods.portforward("web-0", &[80, 8080]).await.unwrap();
    for (port, want) in [(80u16, "web-0\n"), (8080, "second\n")] {
        let mut stream = pf.take_stream(port).unwrap();
        stream
            .write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // The channel protocol has no end of stream per port: the WebSocket closes when every
        // port's connection is over, so read until the page is there.
        let mut got = Vec::new();
        let read = async {
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&got).ends_with(want) {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "{}", String::from_utf8_lossy(&got));
                got.extend_from_slice(&buf[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("the answer in time");
        let got = String::from_utf8_lossy(&got);
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
    }
    pf.abort();
}

/// `kubectl cp` both ways, with the host's kubectl (WebSocket exec) and 1.27 (SPDY exec).
fn copy(s: &Server) {
    let dir = tempfile::tempdir().unwrap();
    let content: String = (0..100_000).map(|i| format!("line {i}\n")).collect();
    let src = dir.path().join("in.txt");
    std::fs::write(&src, &content).unwrap();
    let sub = dir.path().join("tree/a");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("b.txt"), "bee\n").unwrap();
    for (n, kubectl) in ["/usr/bin/kubectl", KUBECTL_1_27].iter().enumerate() {
        let run = |args: &[&str]| s.ok_with(kubectl, args);
        // Into the pod: a file and a directory tree.
        let remote = format!("/tmp/in{n}.txt");
        run(&["cp", src.to_str().unwrap(), &format!("web-0:{remote}")]);
        assert_eq!(run(&["exec", "web-0", "--", "cat", &remote]), content);
        run(&[
            "cp",
            dir.path().join("tree").to_str().unwrap(),
            &format!("web-0:/tmp/tree{n}"),
        ]);
        assert_eq!(
            run(&[
                "exec",
                "web-0",
                "--",
                "cat",
                &format!("/tmp/tree{n}/a/b.txt")
            ]),
            "bee\n"
        );
        // Out of the pod: the file back, and one the pod wrote.
        let back = dir.path().join(format!("back{n}.txt"));
        run(&["cp", &format!("web-0:{remote}"), back.to_str().unwrap()]);
        assert_eq!(std::fs::read_to_string(&back).unwrap(), content);
        let page = dir.path().join(format!("index{n}.html"));
        run(&["cp", "web-0:/www/index.html", page.to_str().unwrap()]);
        assert_eq!(std::fs::read_to_string(&page).unwrap(), "web-0\n");
        let tree = dir.path().join(format!("treeback{n}"));
        run(&["cp", &format!("web-0:/tmp/tree{n}"), tree.to_str().unwrap()]);
        assert_eq!(
            std::fs::read_to_string(tree.join("a/b.txt")).unwrap(),
            "bee\n"
        );
    }
}
