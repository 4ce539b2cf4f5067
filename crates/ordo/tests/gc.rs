//! End-to-end: the garbage collector on plain objects of several kinds (ConfigMaps,
//! Secrets, Services) linked by ownerReferences, with the real kubectl.

mod common;
use common::Server;

fn uid(s: &Server, kind: &str, name: &str) -> String {
    s.ok(&["get", kind, name, "-o", "jsonpath={.metadata.uid}"])
}

fn exists(s: &Server, kind: &str, name: &str) -> bool {
    s.kubectl(&["get", kind, name]).status.success()
}

fn owned_secret(name: &str, owners: &[(&str, &str, &str, bool)]) -> String {
    let refs: Vec<String> = owners
        .iter()
        .map(|(kind, n, uid, block)| format!("{{apiVersion: v1, kind: {kind}, name: {n}, uid: \"{uid}\", blockOwnerDeletion: {block}}}"))
        .collect();
    format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  ownerReferences: [{}]\nstringData: {{a: b}}\n", refs.join(", "))
}

#[test]
fn background_foreground_orphan_and_dangling() {
    let s = Server::start();
    s.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner}\ndata: {a: b}\n");
    s.apply(
        "apiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec: {ports: [{port: 80}]}\n",
    );
    let owner = uid(&s, "cm", "owner");
    let other = uid(&s, "svc", "other");
    s.apply(&owned_secret(
        "only-owner",
        &[("ConfigMap", "owner", &owner, true)],
    ));
    s.apply(&owned_secret(
        "two-owners",
        &[
            ("ConfigMap", "owner", &owner, false),
            ("Service", "other", &other, false),
        ],
    ));

    // Background: the owner goes at once, its sole dependent follows; the one with another
    // owner stays, without the dangling reference.
    s.ok(&["delete", "cm", "owner"]);
    s.eventually(30, "dependent collected", || {
        !exists(&s, "secret", "only-owner")
    });
    s.eventually(30, "dangling reference dropped", || {
        s.ok(&[
            "get",
            "secret",
            "two-owners",
            "-o",
            "jsonpath={.metadata.ownerReferences[*].kind}",
        ]) == "Service"
    });

    // A dependent whose owner never existed is collected.
    s.apply(&owned_secret(
        "ghost",
        &[(
            "ConfigMap",
            "nobody",
            "00000000-0000-0000-0000-000000000000",
            false,
        )],
    ));
    s.eventually(30, "ghost dependent collected", || {
        !exists(&s, "secret", "ghost")
    });

    // Foreground: the dependent is gone by the time kubectl returns.
    s.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fg}\ndata: {a: b}\n");
    let fg = uid(&s, "cm", "fg");
    s.apply(&owned_secret("fg-dep", &[("ConfigMap", "fg", &fg, true)]));
    s.ok(&[
        "delete",
        "cm",
        "fg",
        "--cascade=foreground",
        "--timeout=60s",
    ]);
    assert!(!exists(&s, "secret", "fg-dep"));

    // Orphan: the dependent stays, without the owner reference.
    s.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: orph}\ndata: {a: b}\n");
    let orph = uid(&s, "cm", "orph");
    s.apply(&owned_secret(
        "orph-dep",
        &[("ConfigMap", "orph", &orph, true)],
    ));
    s.ok(&["delete", "cm", "orph", "--cascade=orphan", "--timeout=60s"]);
    assert!(!exists(&s, "cm", "orph"));
    assert_eq!(
        s.ok(&[
            "get",
            "secret",
            "orph-dep",
            "-o",
            "jsonpath={.metadata.ownerReferences}"
        ]),
        ""
    );
}
