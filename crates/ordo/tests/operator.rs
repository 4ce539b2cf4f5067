//! End-to-end: an operator written with kube-rs runs against `ordo server` unchanged. A
//! `Database` CRD; its reconciler (below, a small polling controller on kube-rs `Api`s)
//! makes a headless Service, a StatefulSet and a PodDisruptionBudget per Database, all owned
//! by it, and reports ready replicas in the Database's status subresource. `kubectl get
//! databases` prints the CRD's printer columns; deleting a Database garbage-collects the rest.

mod common;
use common::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const DATABASES: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: databases.db.example.com}
spec:
  group: db.example.com
  scope: Namespaced
  names: {plural: databases, singular: database, kind: Database, shortNames: [db]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Ready, type: integer, jsonPath: .status.readyReplicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer, minimum: 1, default: 1}
              image: {type: string, default: "nginx:1.25.4"}
          status:
            type: object
            properties:
              readyReplicas: {type: integer}
"#;

fn database_api(client: &Client) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("db.example.com", "v1", "Database"),
        "databases",
    );
    Api::namespaced_with(client.clone(), "default", &ar)
}

/// Creates `obj` unless it exists.
async fn ensure<K>(api: &Api<K>, obj: Value) -> kube::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let k: K = serde_json::from_value(obj).expect("a valid object");
    match api.create(&PostParams::default(), &k).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// One reconciliation of every Database.
async fn reconcile_all(client: &Client) -> kube::Result<()> {
    let dbs = database_api(client);
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    for db in dbs.list(&Default::default()).await? {
        if db.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = db.metadata.name.clone().unwrap_or_default();
        let uid = db.metadata.uid.clone().unwrap_or_default();
        let replicas = db.data["spec"]["replicas"].as_i64().unwrap_or(1);
        let image = db.data["spec"]["image"]
            .as_str()
            .unwrap_or("nginx:1.25.4")
            .to_string();
        let owner = json!([{"apiVersion": "db.example.com/v1", "kind": "Database", "name": name,
            "uid": uid, "controller": true, "blockOwnerDeletion": true}]);
        let labels = json!({"app": name});
        ensure(
            &services,
            json!({"metadata": {"name": name, "ownerReferences": owner},
                   "spec": {"clusterIP": "None", "selector": labels, "ports": [{"port": 5432}]}}),
        )
        .await?;
        ensure(
            &sets,
            json!({"metadata": {"name": name, "ownerReferences": owner},
                   "spec": {"serviceName": name, "replicas": replicas,
                            "selector": {"matchLabels": labels},
                            "template": {"metadata": {"labels": labels},
                                         "spec": {"containers": [{"name": "db", "image": image}]}}}}),
        )
        .await?;
        ensure(
            &pdbs,
            json!({"metadata": {"name": name, "ownerReferences": owner},
                   "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}}),
        )
        .await?;
        let set = sets.get(&name).await?;
        if set.spec.as_ref().and_then(|s| s.replicas) != Some(replicas as i32) {
            sets.patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": replicas}})),
            )
            .await?;
        }
        let ready = set.status.and_then(|s| s.ready_replicas).unwrap_or(0);
        if db.data["status"]["readyReplicas"].as_i64() != Some(ready as i64) {
            dbs.patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"readyReplicas": ready}})),
            )
            .await?;
        }
    }
    Ok(())
}

/// The operator: reconciles every 300 ms until `stop`.
fn run_operator(
    kubeconfig: std::path::PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
            let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .unwrap();
            let client = Client::try_from(cfg).unwrap();
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = reconcile_all(&client).await {
                    eprintln!("operator: {e}");
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    })
}

#[test]
fn a_kube_rs_operator_runs_unchanged() {
    let s = Server::start();
    s.apply(DATABASES);
    s.ok(&[
        "wait",
        "--for=condition=Established",
        "crd/databases.db.example.com",
        "--timeout=10s",
    ]);
    let stop = Arc::new(AtomicBool::new(false));
    let operator = run_operator(s.kubeconfig.clone(), stop.clone());

    s.apply("apiVersion: db.example.com/v1\nkind: Database\nmetadata: {name: pg}\nspec: {replicas: 2}\n");
    s.eventually(60, "the database to report 2 ready replicas", || {
        s.ok(&["get", "db", "pg", "-o", "jsonpath={.status.readyReplicas}"]) == "2"
    });
    let rows = table(&s.ok(&["get", "databases"]));
    assert_eq!(rows[0], ["NAME", "REPLICAS", "READY", "AGE"]);
    assert_eq!(&rows[1][..3], ["pg", "2", "2"]);
    assert_eq!(
        s.ok(&["get", "svc", "pg", "-o", "jsonpath={.spec.clusterIP}"]),
        "None"
    );
    assert_eq!(
        s.ok(&["get", "pdb", "pg", "-o", "jsonpath={.spec.maxUnavailable}"]),
        "1"
    );

    s.ok(&[
        "patch",
        "db",
        "pg",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ]);
    s.eventually(60, "the database to report 3 ready replicas", || {
        s.ok(&["get", "db", "pg", "-o", "jsonpath={.status.readyReplicas}"]) == "3"
    });

    stop.store(true, Ordering::Relaxed);
    operator.join().unwrap();
    s.ok(&["delete", "db", "pg"]);
    s.eventually(
        60,
        "the database's StatefulSet, Service, PDB and pods to be collected",
        || {
            s.ok(&["get", "pods", "-l", "app=pg", "-o", "name"])
                .trim()
                .is_empty()
                && !s.kubectl(&["get", "sts", "pg"]).status.success()
                && !s.kubectl(&["get", "svc", "pg"]).status.success()
                && !s.kubectl(&["get", "pdb", "pg"]).status.success()
        },
    );
}
