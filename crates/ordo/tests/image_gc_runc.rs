//! End-to-end image garbage collection: a node holds the busybox and nginx test images and runs
//! a busybox pod; restarted with `--image-gc-high-threshold=1 --image-gc-low-threshold=0` (so
//! the image filesystem is always over the high threshold and can never get down to the low
//! one), its first collection removes the unused nginx image, keeps busybox, which the pod
//! uses, and, unable to free enough, warns on the Node with the kubelet's
//! `FreeDiskSpaceFailed` event. The pod keeps running.
//!
//! Needs root and runc; runs under the real-pods lock.

mod common;
use common::real_pods::*;
use common::Server;

#[test]
#[ignore = "needs root and runc (scripts/test.sh runs these as root with --include-ignored)"]
fn unused_images_are_removed_over_the_high_threshold() {
    let archives = ["busybox-1.28.tar", "nginx-1.25.4.tar"];
    let Some((data, _lock)) = with_real_pods_importing(&archives, &[], scenario) else {
        return;
    };
    assert_eq!(leftovers(&data), Vec::<String>::new());
}

/// The references in the node's image store.
fn stored(s: &Server) -> String {
    std::fs::read_to_string(s.data_dir().join("images/refs.json")).unwrap_or_default()
}

fn scenario(server: &mut Option<Server>) {
    let s = server.as_ref().unwrap();
    s.ok(&[
        "run",
        "keep",
        "--image=busybox:1.28",
        "--command",
        "--",
        "sleep",
        "3600",
    ]);
    s.eventually(60, "keep Running", || running_ready(s, "keep"));
    assert!(
        stored(s).contains("docker.io/library/nginx:1.25.4"),
        "{}",
        stored(s)
    );

    let dir = server.take().unwrap().kill9();
    let gc = ["--image-gc-high-threshold=1", "--image-gc-low-threshold=0"];
    *server = Some(Server::start_runc_in(
        dir,
        &[&["--bridge", BRIDGE][..], &gc[..]].concat(),
    ));
    let s = server.as_ref().unwrap();
    s.eventually(60, "the nginx image removed", || {
        !stored(s).contains("docker.io/library/nginx:1.25.4")
    });
    assert!(
        stored(s).contains("docker.io/library/busybox:1.28"),
        "{}",
        stored(s)
    );
    let events = || {
        s.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.kind=Node",
            "-o",
            "jsonpath={range .items[*]}{.type}|{.reason}|{.message}{\"\\n\"}{end}",
        ])
    };
    s.eventually(30, "a FreeDiskSpaceFailed event", || {
        events().contains("Warning|FreeDiskSpaceFailed|Failed to garbage collect required amount of images. Attempted to free ")
    });
    let ev = events();
    assert!(ev.contains(" bytes eligible to free.\n"), "{ev}");
    assert!(running_ready(s, "keep"));
    assert_eq!(s.ok(&["exec", "keep", "--", "echo", "still"]), "still\n");
    s.ok(&["delete", "pod", "keep", "--grace-period=1", "--wait=true"]);
    pods_gone_and_node_clean(s);
}
