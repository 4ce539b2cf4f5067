//! End-to-end: persistent volumes with the real kubectl (walkthrough step 7). The default
//! `local-path` class, dynamic provisioning of one directory per StatefulSet claim under
//! `DATA/volumes`, data surviving pod re-creation, scaling and a restart of ordo, the
//! retention policy with reclaim Delete, pvc-protection, expansion (claims and KEP-4650
//! claim templates) and static hostPath volumes.

mod common;
use common::{table, Server};
use std::path::PathBuf;

fn start() -> Server {
    Server::start_with(&["--sim-start-delay-ms", "100"])
}

fn sts(replicas: u32, retention: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web}}
spec:
  serviceName: nginx
  replicas: {replicas}
  podManagementPolicy: Parallel
  {retention}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: c, image: nginx:1.25.4, volumeMounts: [{{name: www, mountPath: /usr/share/nginx/html}}]}}]
  volumeClaimTemplates:
  - metadata: {{name: www}}
    spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
"#
    )
}

fn get(s: &Server, args: &[&str]) -> String {
    let out = s.kubectl(args);
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Waits until the claims are Bound; returns their volumes.
fn bound(s: &Server, claims: &[&str]) -> Vec<String> {
    for c in claims {
        s.eventually(30, &format!("{c} Bound"), || {
            get(s, &["get", "pvc", c, "-o", "jsonpath={.status.phase}"]) == "Bound"
        });
    }
    claims
        .iter()
        .map(|c| s.ok(&["get", "pvc", c, "-o", "jsonpath={.spec.volumeName}"]))
        .collect()
}

fn volume_dir(s: &Server, pv: &str) -> PathBuf {
    s.data_dir().join("volumes").join(pv)
}

fn ready(s: &Server, n: u32) {
    s.eventually(30, &format!("{n} ready"), || {
        get(
            s,
            &[
                "get",
                "sts",
                "web",
                "-o",
                "jsonpath={.status.readyReplicas}",
            ],
        ) == n.to_string()
    });
}

#[test]
fn statefulset_claims_are_provisioned_and_keep_their_data() {
    let s = start();
    let sc = table(&s.ok(&["get", "sc"]));
    assert_eq!(
        sc[0],
        [
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "ALLOWVOLUMEEXPANSION",
            "AGE"
        ]
    );
    assert_eq!(
        sc[1][..6],
        [
            "local-path",
            "(default)",
            "rancher.io/local-path",
            "Delete",
            "WaitForFirstConsumer",
            "true"
        ]
    );

    s.apply(&sts(3, ""));
    ready(&s, 3);
    let pvs = bound(&s, &["www-web-0", "www-web-1", "www-web-2"]);
    let rows = table(&s.ok(&["get", "pvc"]));
    assert_eq!(
        rows[0],
        [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS",
            "MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE"
        ]
    );
    for (i, row) in rows[1..].iter().enumerate() {
        let uid = s.ok(&[
            "get",
            "pvc",
            &format!("www-web-{i}"),
            "-o",
            "jsonpath={.metadata.uid}",
        ]);
        assert_eq!(
            row[..7],
            [
                format!("www-web-{i}"),
                "Bound".into(),
                format!("pvc-{uid}"),
                "1Gi".into(),
                "RWO".into(),
                "local-path".into(),
                "<unset>".into()
            ]
        );
        assert!(volume_dir(&s, &pvs[i]).is_dir(), "directory of {}", pvs[i]);
    }
    let pv_rows = table(&s.ok(&["get", "pv"]));
    assert_eq!(pv_rows.len(), 4, "one volume per claim: {pv_rows:?}");
    let row = pv_rows.iter().find(|r| r[0] == pvs[1]).unwrap();
    assert_eq!(
        row[1..7],
        [
            "1Gi",
            "RWO",
            "Delete",
            "Bound",
            "default/www-web-1",
            "local-path"
        ]
    );
    let d = s.ok(&["describe", "pvc", "www-web-1"]);
    for want in [
        "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path'",
        &format!("Successfully provisioned volume {}", pvs[1]),
        "volume.kubernetes.io/selected-node:",
        "pv.kubernetes.io/bind-completed: yes",
        "Finalizers:    [kubernetes.io/pvc-protection]",
        "Used By:       web-1",
    ] {
        assert!(d.contains(want), "{want:?} in\n{d}");
    }
    let d = s.ok(&["describe", "pv", &pvs[1]]);
    assert!(d.contains("ordo.dev/capacity-enforced: false"), "{d}");
    assert!(d.contains("kubernetes.io/hostname in ["), "{d}");

    // Data written into the volume survives deletion and re-creation of the pod.
    std::fs::write(volume_dir(&s, &pvs[1]).join("index.html"), "web-1 data").unwrap();
    let uid = s.ok(&["get", "pod", "web-1", "-o", "jsonpath={.metadata.uid}"]);
    s.ok(&["delete", "pod", "web-1", "--wait=false"]);
    s.eventually(30, "web-1 re-created", || {
        let now = get(
            &s,
            &["get", "pod", "web-1", "-o", "jsonpath={.metadata.uid}"],
        );
        !now.is_empty() && now != uid
    });
    ready(&s, 3);
    assert_eq!(
        s.ok(&[
            "get",
            "pvc",
            "www-web-1",
            "-o",
            "jsonpath={.spec.volumeName}"
        ]),
        pvs[1]
    );

    // Scale away and back (whenScaled Retain): same claims, same volumes, same data.
    s.ok(&["scale", "sts", "web", "--replicas=1"]);
    s.eventually(30, "scaled to 1", || {
        get(
            &s,
            &["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"],
        ) == "web-0"
    });
    assert_eq!(bound(&s, &["www-web-0", "www-web-1", "www-web-2"]), pvs);
    s.ok(&["scale", "sts", "web", "--replicas=3"]);
    ready(&s, 3);
    assert_eq!(bound(&s, &["www-web-0", "www-web-1", "www-web-2"]), pvs);

    // ordo restarts: everything is still bound to the same directories.
    let dir = s.kill9();
    let s = Server::start_in(dir, &["--sim-start-delay-ms", "100"]);
    ready(&s, 3);
    assert_eq!(bound(&s, &["www-web-0", "www-web-1", "www-web-2"]), pvs);
    assert_eq!(
        std::fs::read_to_string(volume_dir(&s, &pvs[1]).join("index.html")).unwrap(),
        "web-1 data"
    );
    assert_eq!(table(&s.ok(&["get", "pv"])).len(), 4);
}

#[test]
fn when_scaled_delete_removes_the_claim_and_its_data() {
    let s = start();
    s.apply(&sts(
        3,
        "persistentVolumeClaimRetentionPolicy: {whenScaled: Delete, whenDeleted: Retain}",
    ));
    ready(&s, 3);
    let pvs = bound(&s, &["www-web-0", "www-web-1", "www-web-2"]);
    std::fs::write(volume_dir(&s, &pvs[2]).join("f"), "x").unwrap();
    s.ok(&["scale", "sts", "web", "--replicas=2"]);
    s.eventually(30, "claim 2, its volume and its directory gone", || {
        get(
            &s,
            &["get", "pvc", "-o", "jsonpath={.items[*].metadata.name}"],
        ) == "www-web-0 www-web-1"
            && s.kubectl(&["get", "pv", &pvs[2]]).status.code() == Some(1)
            && !volume_dir(&s, &pvs[2]).exists()
    });
    assert!(volume_dir(&s, &pvs[0]).is_dir() && volume_dir(&s, &pvs[1]).is_dir());
    // whenDeleted Retain: the set goes, the claims and data stay.
    s.ok(&["delete", "sts", "web"]);
    s.eventually(30, "pods gone", || {
        get(&s, &["get", "pods", "-o", "name"]).is_empty()
    });
    assert_eq!(bound(&s, &["www-web-0", "www-web-1"]), pvs[..2]);
}

#[test]
fn claim_in_use_is_deleted_only_after_its_pod() {
    let s = start();
    s.apply(
        r#"apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 64Mi}}}
"#,
    );
    assert_eq!(
        s.ok(&[
            "get",
            "pvc",
            "data",
            "-o",
            "jsonpath={.spec.storageClassName}"
        ]),
        "local-path",
        "DefaultStorageClass admission"
    );
    // WaitForFirstConsumer: no volume until a pod using the claim is scheduled.
    s.eventually(20, "WaitForFirstConsumer event", || {
        get(&s, &["describe", "pvc", "data"])
            .contains("waiting for first consumer to be created before binding")
    });
    assert_eq!(
        s.ok(&["get", "pvc", "data", "-o", "jsonpath={.status.phase}"]),
        "Pending"
    );
    assert!(get(&s, &["get", "pv", "-o", "name"]).is_empty());
    s.apply(
        r#"apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  containers: [{name: c, image: busybox:1.28, volumeMounts: [{name: d, mountPath: /data}]}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
"#,
    );
    let pv = bound(&s, &["data"]).remove(0);
    s.ok(&["delete", "pvc", "data", "--wait=false"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let row = table(&s.ok(&["get", "pvc", "data"]));
    assert_eq!(row[1][1], "Terminating", "{row:?}");
    assert!(volume_dir(&s, &pv).is_dir());
    s.ok(&["delete", "pod", "user", "--wait=false"]);
    s.eventually(
        30,
        "claim, volume (reclaim Delete) and directory gone",
        || {
            s.kubectl(&["get", "pvc", "data"]).status.code() == Some(1)
                && s.kubectl(&["get", "pv", &pv]).status.code() == Some(1)
                && !volume_dir(&s, &pv).exists()
        },
    );
}

#[test]
fn claims_and_claim_templates_expand() {
    let s = start();
    s.apply(&sts(2, ""));
    ready(&s, 2);
    let pvs = bound(&s, &["www-web-0", "www-web-1"]);
    let cap = |c: &str| {
        get(
            &s,
            &["get", "pvc", c, "-o", "jsonpath={.status.capacity.storage}"],
        )
    };
    s.ok(&[
        "patch",
        "pvc",
        "www-web-0",
        "-p",
        r#"{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}"#,
    ]);
    s.eventually(20, "www-web-0 resized", || cap("www-web-0") == "2Gi");
    assert_eq!(
        s.ok(&[
            "get",
            "pv",
            &pvs[0],
            "-o",
            "jsonpath={.spec.capacity.storage}"
        ]),
        "2Gi"
    );
    assert!(s
        .ok(&["describe", "pvc", "www-web-0"])
        .contains("Resize volume succeeded"));
    let e = s.fails(&[
        "patch",
        "pvc",
        "www-web-0",
        "-p",
        r#"{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}"#,
    ]);
    assert!(
        e.contains("spec.resources.requests.storage: Forbidden: field can not be less than"),
        "{e}"
    );

    // KEP-4650: growing the template grows every claim of the set; new claims get the new size.
    let template = |size: &str| {
        format!(
            r#"[{{"op":"replace","path":"/spec/volumeClaimTemplates/0/spec/resources/requests/storage","value":"{size}"}}]"#
        )
    };
    s.ok(&[
        "patch",
        "sts",
        "web",
        "--type",
        "json",
        "-p",
        &template("3Gi"),
    ]);
    s.eventually(20, "claims of the set resized", || {
        cap("www-web-0") == "3Gi" && cap("www-web-1") == "3Gi"
    });
    let e = s.fails(&[
        "patch",
        "sts",
        "web",
        "--type",
        "json",
        "-p",
        &template("1Gi"),
    ]);
    assert!(e.contains("spec.volumeClaimTemplates[0].spec.resources.requests.storage: Forbidden: field can not be less than previous value"), "{e}");
    s.ok(&["scale", "sts", "web", "--replicas=3"]);
    bound(&s, &["www-web-2"]);
    assert_eq!(cap("www-web-2"), "3Gi");

    // A class that does not allow expansion (and binds immediately, without a consumer).
    s.apply(
        r#"apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fixed}
provisioner: rancher.io/local-path
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fixed}
spec: {storageClassName: fixed, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"#,
    );
    bound(&s, &["fixed"]);
    let e = s.fails(&[
        "patch",
        "pvc",
        "fixed",
        "-p",
        r#"{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}"#,
    ]);
    assert!(e.contains("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"), "{e}");
}

#[test]
fn static_host_path_volume_binds_and_is_retained() {
    let s = start();
    let host = s.data_dir().join("static");
    std::fs::create_dir_all(&host).unwrap();
    s.apply(&format!(
        r#"apiVersion: v1
kind: PersistentVolume
metadata: {{name: static, labels: {{kind: fast}}}}
spec:
  capacity: {{storage: 5Gi}}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {{path: {}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: claim}}
spec:
  storageClassName: manual
  selector: {{matchLabels: {{kind: fast}}}}
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
"#,
        host.display()
    ));
    assert_eq!(bound(&s, &["claim"]), ["static"]);
    let pv = table(&s.ok(&["get", "pv", "static"]));
    assert_eq!(
        pv[1][..7],
        [
            "static",
            "5Gi",
            "RWO",
            "Retain",
            "Bound",
            "default/claim",
            "manual"
        ]
    );
    assert_eq!(
        s.ok(&[
            "get",
            "pvc",
            "claim",
            "-o",
            "jsonpath={.status.capacity.storage}"
        ]),
        "5Gi"
    );
    assert_eq!(
        s.ok(&[
            "get",
            "pv",
            "static",
            "-o",
            "jsonpath={.metadata.finalizers}"
        ]),
        r#"["kubernetes.io/pv-protection"]"#
    );
    s.ok(&["delete", "pvc", "claim"]);
    s.eventually(20, "volume Released", || {
        get(
            &s,
            &["get", "pv", "static", "-o", "jsonpath={.status.phase}"],
        ) == "Released"
    });
    assert!(host.is_dir());
}
