//! A real pod with runc: the busybox image built by `images/build.sh`, imported through the
//! auto-import folder, runs `httpd` in its own network namespace; the host fetches a page
//! from the pod IP; then everything is torn down and checked gone.
//!
//! Needs root and runc; skipped (with a message) otherwise. Real-pod tests take a file lock
//! so that they run one at a time (they share the service route and ip_forward).

mod support;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use ordo_node::runtime::runc::{RuncConfig, RuncRuntime};
use ordo_node::runtime::{ContainerState, Runtime};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

const BRIDGE: &str = "ordoit0";

/// Serialises the tests that run real pods, across test binaries.
fn real_pod_lock() -> std::fs::File {
    let f = std::fs::File::create("/tmp/ordo-real-pods.lock").unwrap();
    f.lock().unwrap();
    f
}

fn can_run() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let runc = std::process::Command::new("runc")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    root && runc
}

fn pod(uid: &str, command: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("hello".into()),
            namespace: Some("default".into()),
            uid: Some(uid.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "web".into(),
                image: Some("busybox:1.28".into()),
                command: Some(vec!["sh".into(), "-c".into(), command.into()]),
                resources: Some(ResourceRequirements {
                    limits: Some(
                        [
                            ("memory".to_string(), Quantity("64Mi".into())),
                            ("cpu".to_string(), Quantity("500m".into())),
                        ]
                        .into(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn curl(url: &str) -> Option<String> {
    let out = std::process::Command::new("curl")
        .args(["-sf", "--max-time", "2", url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn mounts_under(dir: &Path) -> Vec<String> {
    let d = dir.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&d))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
async fn busybox_pod_serves_http_on_its_own_ip() {
    assert!(
        can_run(),
        "needs root and runc: run as root with --include-ignored (scripts/test.sh does)"
    );
    let _lock = real_pod_lock();
    let images = support::build_images();
    let forward_before = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data.path().join("images/import")).unwrap();
    std::fs::copy(
        images.join("busybox-1.28.tar"),
        data.path().join("images/import/busybox-1.28.tar"),
    )
    .unwrap();

    let rt = RuncRuntime::new(RuncConfig::new(data.path(), BRIDGE))
        .await
        .unwrap();
    assert!(rt.version().starts_with("runc://1."), "{}", rt.version());
    let refs: Vec<String> = rt
        .images()
        .list()
        .unwrap()
        .into_iter()
        .map(|i| i.reference)
        .collect();
    assert_eq!(
        refs,
        [
            "docker.io/library/busybox:1.28",
            "docker.io/library/busybox:latest"
        ]
    );
    // An image the node does not have is absent, not an error.
    assert!(rt.ensure_image("nginx:9.9").await.unwrap().is_none());

    let uid = format!("it-{}", std::process::id());
    let run = std::panic::AssertUnwindSafe(run_pod(&rt, data.path(), &uid, &forward_before));
    if let Err(panic) = futures::FutureExt::catch_unwind(run).await {
        // Leave nothing behind even when an assertion failed.
        let _ = rt.remove_pod(&uid).await;
        std::panic::resume_unwind(panic);
    }
}

async fn run_pod(rt: &RuncRuntime, data: &Path, uid: &str, forward_before: &str) {
    let uid = uid.to_string();
    let ip = Ipv4Addr::new(10, 250, 0, 2);
    let script = "echo hello from $(hostname); mkdir -p /www; echo pod-ok > /www/index.html; cp /etc/hosts /etc/resolv.conf /www/; \
                  ping -c1 -W2 10.250.0.2 >/www/ping 2>&1; echo uid=$(id -u) >> /www/ping; exec httpd -f -p 80 -h /www";
    let p = pod(&uid, script);
    let t0 = Instant::now();
    rt.prepare_sandbox(&p, Some(ip)).await.unwrap();
    rt.prepare_sandbox(&p, Some(ip))
        .await
        .expect("prepare_sandbox is idempotent");
    let info = rt
        .ensure_image("busybox:1.28")
        .await
        .unwrap()
        .expect("busybox:1.28 imported");
    assert!(
        info.image_id
            .starts_with("docker.io/library/busybox@sha256:"),
        "{}",
        info.image_id
    );
    let id = rt
        .create_container(&p, &p.spec.as_ref().unwrap().containers[0], &info)
        .await
        .unwrap();
    let started = rt.start_container(&p, &id).await.unwrap();
    let started_in = t0.elapsed();
    assert_eq!(started.container_id, format!("runc://{id}"));

    let deadline = Instant::now() + Duration::from_secs(15);
    let page = loop {
        if let Some(p) = curl("http://10.250.0.2/") {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "the pod never answered; log: {:?}",
            std::fs::read_to_string(rt.log_path(&uid, "web"))
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "sandbox+container started in {started_in:?}, serving after {:?}",
        t0.elapsed()
    );
    assert_eq!(page, "pod-ok\n");
    let hosts = curl("http://10.250.0.2/hosts").unwrap();
    assert!(hosts.contains("10.250.0.2\thello\n"), "{hosts}");
    let resolv = curl("http://10.250.0.2/resolv.conf").unwrap();
    assert_eq!(resolv, "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
    let ping = curl("http://10.250.0.2/ping").unwrap();
    assert!(
        ping.contains("1 packets received") && ping.contains("uid=0"),
        "ping (NET_RAW) from the pod: {ping}"
    );
    let log = std::fs::read_to_string(rt.log_path(&uid, "web")).unwrap();
    assert!(log.contains("hello from hello"), "{log}");
    assert!(
        matches!(&rt.pod_status(&uid).await.unwrap()[..], [(n, ContainerState::Running(_))] if n == "web")
    );
    assert_eq!(rt.list_pods().await, vec![uid.clone()]);
    // Limits reach the cgroup (v1 hierarchy on these machines; v2 has memory.max).
    let v1 = format!("/sys/fs/cgroup/memory/ordo/{id}/memory.limit_in_bytes");
    let v2 = format!("/sys/fs/cgroup/ordo/{id}/memory.max");
    let limit = std::fs::read_to_string(&v1)
        .or_else(|_| std::fs::read_to_string(&v2))
        .unwrap();
    assert_eq!(limit.trim(), (64u64 << 20).to_string());
    let pid: i32 = std::fs::read_to_string(data.join(format!("pods/{uid}/containers/web/pid")))
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    // httpd as PID 1 ignores SIGTERM: the grace period runs out and SIGKILL ends it.
    let t1 = Instant::now();
    let exits = rt.stop_pod(&uid, Duration::from_millis(500)).await.unwrap();
    assert_eq!(exits.len(), 1);
    assert_eq!(
        (exits[0].exit_code, exits[0].reason.as_str()),
        (137, "Error")
    );
    assert!(t1.elapsed() >= Duration::from_millis(500));
    assert!(matches!(
        &rt.pod_status(&uid).await.unwrap()[..],
        [(_, ContainerState::Exited(_))]
    ));
    rt.remove_pod(&uid).await.unwrap();

    // Nothing is left: process, namespace, veth, bridge, mounts, files, ip_forward.
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert!(!Path::new(&format!("/run/netns/{BRIDGE}-{uid}")).exists());
    assert!(!Path::new(&format!(
        "/sys/class/net/{}",
        ordo_node::network::host_veth(&uid)
    ))
    .exists());
    assert!(!Path::new(&format!("/sys/class/net/{BRIDGE}")).exists());
    assert!(mounts_under(data).is_empty(), "{:?}", mounts_under(data));
    assert!(!data.join(format!("pods/{uid}")).exists());
    assert!(!Path::new("/sys/fs/cgroup/memory/ordo").exists());
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        forward_before
    );
    assert!(rt.list_pods().await.is_empty());
}
