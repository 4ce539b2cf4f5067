//! End-to-end with the real kubectl: PriorityClasses (the system classes, `kubectl create
//! priorityclass`, one global default) and the Priority admission of pods.

mod common;
use common::*;

fn pod(name: &str, class: Option<&str>) -> String {
    let class = class
        .map(|c| format!("  priorityClassName: {c}\n"))
        .unwrap_or_default();
    format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n{class}  containers: [{{name: c, image: nginx:1.25.4}}]\n")
}

#[test]
fn priority_classes_set_pod_priorities() {
    let s = Server::start();
    let rows = table(&s.ok(&["get", "priorityclasses"]));
    assert_eq!(
        rows[0],
        ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    );
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["system-cluster-critical", "system-node-critical"]);
    assert_eq!(rows[2][1], "2000001000");
    assert_eq!(rows[2][4], "PreemptLowerPriority");

    s.ok(&[
        "create",
        "priorityclass",
        "high",
        "--value=1000",
        "--description=important",
    ]);
    s.apply(&pod("important", Some("high")));
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            "important",
            "-o",
            "jsonpath={.spec.priority} {.spec.preemptionPolicy}"
        ]),
        "1000 PreemptLowerPriority"
    );
    s.apply(&pod("plain", None));
    assert_eq!(
        s.ok(&["get", "pod", "plain", "-o", "jsonpath={.spec.priority}"]),
        "0"
    );

    let out = s.kubectl_stdin(&["create", "-f", "-"], Some(&pod("lost", Some("nope"))));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error from server (Forbidden): error when creating \"STDIN\": pods \"lost\" is forbidden: no PriorityClass with name nope was found"
    );

    s.ok(&[
        "create",
        "priorityclass",
        "usual",
        "--value=10",
        "--global-default",
    ]);
    s.apply(&pod("defaulted", None));
    assert_eq!(
        s.ok(&[
            "get",
            "pod",
            "defaulted",
            "-o",
            "jsonpath={.spec.priorityClassName} {.spec.priority}"
        ]),
        "usual 10"
    );
    let refused = s.fails(&[
        "create",
        "priorityclass",
        "other",
        "--value=5",
        "--global-default",
    ]);
    assert!(
        refused.contains(
            "PriorityClass usual is already marked as default. Only one default can exist"
        ),
        "{refused}"
    );
    let refused = s.fails(&["create", "priorityclass", "system-mine", "--value=5"]);
    assert!(
        refused.contains(
            "priority class names with 'system-' prefix are reserved for system use only"
        ),
        "{refused}"
    );
}
