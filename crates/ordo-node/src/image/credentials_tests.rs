use super::*;
use k8s_openapi::ByteString;

fn cred(u: &str, p: &str) -> Credential {
    Credential {
        username: u.into(),
        password: p.into(),
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn keyring(keys: &[(&str, &str)]) -> Keyring {
    let mut k = Keyring::default();
    k.add(
        keys.iter()
            .map(|(k, u)| (k.to_string(), cred(u, "pw")))
            .collect(),
    );
    k
}

fn users(k: &Keyring, repo: &str) -> Vec<String> {
    k.lookup(repo).into_iter().map(|c| c.username).collect()
}

#[test]
fn docker_config_json_and_legacy_dockercfg_parse() {
    let json = format!(
        r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{}"}},
            "https://quay.io": {{"username": "u2", "password": "p2", "email": "e@x"}}}}}}"#,
        b64("alice:s3cr:et")
    );
    let got = parse_docker_config(json.as_bytes(), false).unwrap();
    assert_eq!(
        got,
        vec![
            ("127.0.0.1:5000".to_string(), cred("alice", "s3cr:et")),
            ("https://quay.io".to_string(), cred("u2", "p2")),
        ]
    );
    let legacy = format!(r#"{{"registry.lan": {{"auth": "{}"}}}}"#, b64("bob:pw"));
    assert_eq!(
        parse_docker_config(legacy.as_bytes(), true).unwrap(),
        vec![("registry.lan".to_string(), cred("bob", "pw"))]
    );
    // `auth` wins over the separate fields.
    let both = format!(
        r#"{{"auths": {{"r": {{"username": "x", "password": "y", "auth": "{}"}}}}}}"#,
        b64("a:b")
    );
    assert_eq!(
        parse_docker_config(both.as_bytes(), false).unwrap()[0].1,
        cred("a", "b")
    );
    let bad = format!(r#"{{"auths": {{"r": {{"auth": "{}"}}}}}}"#, b64("nocolon"));
    let err = parse_docker_config(bad.as_bytes(), false).unwrap_err();
    assert!(
        format!("{err:#}").contains("base64(username:password)"),
        "{err:#}"
    );
    assert!(parse_docker_config(b"not json", false).is_err());
}

#[test]
fn secrets_of_both_types_build_the_keyring() {
    let secret = |name: &str, ty: &str, key: &str, data: String| Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        type_: Some(ty.into()),
        data: Some([(key.to_string(), ByteString(data.into_bytes()))].into()),
        ..Default::default()
    };
    let json = secret(
        "new",
        DOCKER_CONFIG_JSON,
        ".dockerconfigjson",
        format!(r#"{{"auths":{{"a.io":{{"auth":"{}"}}}}}}"#, b64("one:1")),
    );
    let legacy = secret(
        "old",
        DOCKERCFG,
        ".dockercfg",
        format!(r#"{{"b.io":{{"auth":"{}"}}}}"#, b64("two:2")),
    );
    let opaque = secret("other", "Opaque", ".dockerconfigjson", "{}".into());
    let k = Keyring::from_secrets([&json, &legacy, &opaque]).unwrap();
    assert_eq!(users(&k, "a.io/app"), ["one"]);
    assert_eq!(users(&k, "b.io/app"), ["two"]);
    assert!(users(&k, "c.io/app").is_empty());
    let broken = secret(
        "broken",
        DOCKER_CONFIG_JSON,
        ".dockerconfigjson",
        "{".into(),
    );
    let err = Keyring::from_secrets([&broken]).unwrap_err();
    assert!(format!("{err:#}").contains("\"broken\""), "{err:#}");
}

#[test]
fn keys_match_host_port_and_path_prefix() {
    let k = keyring(&[
        ("127.0.0.1:5000", "loop"),
        ("https://registry.lan/", "lan"),
        ("http://quay.io/v1/", "quay"),
        ("quay.io/coreos", "coreos"),
        ("*.gcr.io", "gcr"),
    ]);
    assert_eq!(users(&k, "127.0.0.1:5000/app"), ["loop"]);
    // The port must be the same, absent included.
    assert!(users(&k, "127.0.0.1:5001/app").is_empty());
    assert!(users(&k, "127.0.0.1/app").is_empty());
    assert!(users(&k, "registry.lan:443/app").is_empty());
    assert_eq!(users(&k, "registry.lan/team/app"), ["lan"]);
    // More specific keys first.
    assert_eq!(users(&k, "quay.io/coreos/etcd"), ["coreos", "quay"]);
    assert_eq!(users(&k, "quay.io/other/app"), ["quay"]);
    // Globs per host part, and as many parts.
    assert_eq!(users(&k, "eu.gcr.io/p/app"), ["gcr"]);
    assert!(users(&k, "gcr.io/p/app").is_empty());
    assert!(users(&k, "a.eu.gcr.io/p/app").is_empty());
}

#[test]
fn docker_hub_keys() {
    // What `docker login` writes.
    let k = keyring(&[("https://index.docker.io/v1/", "hub")]);
    assert_eq!(users(&k, "docker.io/library/busybox"), ["hub"]);
    assert_eq!(users(&k, "docker.io/me/app"), ["hub"]);
    assert_eq!(users(&k, "index.docker.io/me/app"), ["hub"]);
    assert!(users(&k, "quay.io/me/app").is_empty());
    assert!(users(&k, "localhost:5000/app").is_empty());
    let k = keyring(&[("docker.io", "short")]);
    assert_eq!(users(&k, "docker.io/library/busybox"), ["short"]);
    let k = keyring(&[("registry-1.docker.io", "r1")]);
    assert_eq!(users(&k, "docker.io/library/busybox"), ["r1"]);
    assert!(users(&k, "ghcr.io/me/app").is_empty());
}

#[test]
fn several_secrets_for_one_registry_are_all_tried() {
    let mut k = keyring(&[("127.0.0.1:5000", "first")]);
    k.add(vec![("http://127.0.0.1:5000".into(), cred("second", "x"))]);
    assert_eq!(users(&k, "127.0.0.1:5000/app"), ["first", "second"]);
    assert!(!k.is_empty());
    assert!(Keyring::default().lookup("docker.io/library/x").is_empty());
}

#[test]
fn keys_from_addresses() {
    assert_eq!(
        registry_key("https://index.docker.io/v1/").unwrap(),
        "index.docker.io"
    );
    assert_eq!(registry_key("http://r.io/v2/team").unwrap(), "r.io/team");
    assert_eq!(registry_key("r.io:5000").unwrap(), "r.io:5000");
    assert_eq!(registry_key("r.io/").unwrap(), "r.io");
    assert_eq!(registry_key("https://"), None);
    assert!(is_default_registry("busybox"));
    assert!(is_default_registry("me/app"));
    assert!(!is_default_registry("localhost:5000/app"));
    assert!(!is_default_registry("quay.io/app"));
}

#[test]
fn credentials_do_not_print_their_password() {
    assert_eq!(
        format!("{:?}", cred("u", "hunter2")),
        "Credential(\"u\", <redacted>)"
    );
}
