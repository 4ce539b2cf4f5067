use super::*;
use serde_json::json;

fn sel(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn parses_every_operator() {
    let s = sel("a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j,k>1,l<2");
    let ops: Vec<_> = s.requirements().iter().map(|r| r.operator).collect();
    use Operator::*;
    assert_eq!(
        ops,
        [
            Equals,
            NotEquals,
            In,
            NotIn,
            Exists,
            DoesNotExist,
            DoubleEquals,
            GreaterThan,
            LessThan
        ]
    );
    assert_eq!(s.requirements()[2].values, ["x", "y"]);
    assert_eq!(
        s.to_string(),
        "a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j,k>1,l<2"
    );
}

#[test]
fn whitespace_empty_values_and_keywords() {
    assert_eq!(
        sel("  a = b , c in ( y , x ) ,  ! d ").to_string(),
        "a=b,c in (x,y),!d"
    );
    assert!(sel("").is_empty());
    assert!(sel("   ").is_empty());
    assert_eq!(sel("a=").requirements()[0].values, [""]);
    assert_eq!(sel("a in ()").requirements()[0].values, [""]);
    assert_eq!(sel("a in (,x)").requirements()[0].values, ["", "x"]);
    // `in` / `notin` are values after an operator.
    assert_eq!(sel("a=in").requirements()[0].values, ["in"]);
    assert_eq!(
        sel("example.com/app=web,app.kubernetes.io/name=x").to_string(),
        "app.kubernetes.io/name=x,example.com/app=web"
    );
}

#[test]
fn parse_errors() {
    let cases = [
        (
            "a in b",
            "unable to parse requirement: found 'b' expected: '('",
        ),
        ("a in (b", "found '', expected: ',' or ')'"),
        ("a b", "found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=b,", "found '', expected: identifier after ','"),
        (
            ",a",
            "found ',', expected: !, identifier, or 'end of string'",
        ),
        (
            "a=(b)",
            "unable to parse requirement: found '(', expected: identifier",
        ),
        (
            "!",
            "unable to parse requirement: found '', expected: identifier",
        ),
        (
            "a%b=c",
            "unable to parse requirement: key: Invalid value: \"a%b\"",
        ),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a=b%", "values[0][a]: Invalid value: \"b%\""),
        ("a>x", "the value must be an integer"),
        ("Foo.com/a=b", "prefix part a lowercase RFC 1123 subdomain"),
    ];
    for (input, want) in cases {
        let err = LabelSelector::parse(input).expect_err(input);
        assert!(err.contains(want), "{input:?}: {err:?} lacks {want:?}");
    }
    let long = "a".repeat(64);
    assert!(LabelSelector::parse(&format!("{long}=b")).is_err());
    assert!(LabelSelector::parse(&format!("a={long}")).is_err());
}

#[test]
fn matching() {
    let labels = json!({"app": "nginx", "tier": "web", "n": "5"});
    let yes = [
        "",
        "app=nginx",
        "app==nginx",
        "app!=x",
        "app in (a,nginx)",
        "app notin (a)",
        "app",
        "!missing",
        "missing!=x",
        "missing notin (x)",
        "n>4",
        "n<6",
        "app=nginx,tier=web",
    ];
    let no = [
        "app=x",
        "app!=nginx",
        "app in (a)",
        "app notin (nginx)",
        "missing",
        "!app",
        "missing=x",
        "missing in (x)",
        "n>5",
        "n<5",
        "app>1",
        "missing>1",
        "app=nginx,tier=db",
    ];
    for s in yes {
        assert!(sel(s).matches(&labels), "{s} should match");
    }
    for s in no {
        assert!(!sel(s).matches(&labels), "{s} should not match");
    }
    assert!(sel("!a,b!=c").matches(&Value::Null));
    assert!(!sel("a").matches(&Value::Null));
}

#[test]
fn display_is_canonical() {
    assert_eq!(sel("z=1,a in (c,b,b),m").to_string(), "a in (b,c),m,z=1");
    assert_eq!(sel("app=nginx").to_string(), "app=nginx");
    assert_eq!(LabelSelector::default().to_string(), "");
}

#[test]
fn from_label_selector_json() {
    let s = LabelSelector::from_label_selector(&json!({
        "matchLabels": {"tier": "web", "app": "nginx"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "NotIn", "values": ["a"]},
            {"key": "owner", "operator": "Exists", "values": []}
        ]
    }))
    .unwrap();
    assert_eq!(
        s.to_string(),
        "app=nginx,!canary,env in (dev,prod),owner,tier=web,zone notin (a)"
    );
    let ok = json!({"app": "nginx", "tier": "web", "env": "dev", "owner": "me"});
    assert!(s.matches(&ok));
    let mut bad = ok.clone();
    bad["canary"] = json!("true");
    assert!(!s.matches(&bad));
    let app = LabelSelector::from_label_selector(&json!({"matchLabels": {"app": "nginx"}}));
    assert_eq!(app.unwrap().to_string(), "app=nginx");
    for empty in [
        json!({}),
        Value::Null,
        json!({"matchLabels": {}, "matchExpressions": []}),
    ] {
        let s = LabelSelector::from_label_selector(&empty).unwrap();
        assert!(s.is_empty() && s.matches(&json!({"x": "y"})));
    }
    let errs = [
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]}),
            "\"Foo\" is not a valid",
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
            "can't be empty",
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            "must be empty",
        ),
        (json!({"matchLabels": {"a b": "x"}}), "key: Invalid value"),
        (json!({"matchLabels": {"a": 1}}), "must be a string"),
        (json!("app=x"), "must be an object"),
    ];
    for (input, want) in errs {
        let err = LabelSelector::from_label_selector(&input).expect_err(&input.to_string());
        assert!(err.contains(want), "{input}: {err}");
    }
}

#[test]
fn field_selector_parse_and_match() {
    let fs = FieldSelector::parse(
        "spec.nodeName=node-1,status.phase!=Succeeded,status.phase!=Failed,metadata.namespace=",
    )
    .unwrap();
    let reqs: Vec<_> = fs.requirements().collect();
    assert_eq!(
        reqs,
        [
            ("metadata.namespace", true, ""),
            ("spec.nodeName", true, "node-1"),
            ("status.phase", false, "Failed"),
            ("status.phase", false, "Succeeded"),
        ]
    );
    let pod = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "node-1"},
                     "status": {"phase": "Running"}});
    assert!(fs.matches(|f| field_value(&pod, f)));
    let done = json!({"spec": {"nodeName": "node-1"}, "status": {"phase": "Failed"}});
    assert!(!fs.matches(|f| field_value(&done, f)));
    let fs = FieldSelector::parse("metadata.name==p").unwrap();
    assert!(fs.matches(|f| field_value(&pod, f)));
    assert_eq!(fs.to_string(), "metadata.name=p");
    let fs = FieldSelector::parse("spec.nodeName!=").unwrap();
    assert!(fs.matches(|f| field_value(&pod, f)));
    assert!(!fs.matches(|_| None));
    assert!(FieldSelector::parse("").unwrap().is_empty());
    assert!(FieldSelector::parse("").unwrap().matches(|_| None));
}

#[test]
fn field_selector_escapes_and_errors() {
    let fs = FieldSelector::parse(r"a=x\,y\=z\\,b!=c").unwrap();
    let reqs: Vec<_> = fs.requirements().collect();
    assert_eq!(reqs, [("a", true, r"x,y=z\"), ("b", false, "c")]);
    assert_eq!(fs.to_string(), r"a=x\,y\=z\\,b!=c");
    let cases = [
        (
            "nofield",
            "invalid selector: 'nofield'; can't understand 'nofield'",
        ),
        ("a=b=c", "unescaped character in value: ="),
        (r"a=b\x", r"invalid escape sequence: \x"),
        (r"a=b\", r"invalid escape sequence: \"),
    ];
    for (input, want) in cases {
        let err = FieldSelector::parse(input).expect_err(input);
        assert!(err.contains(want), "{input}: {err}");
    }
}

#[test]
fn field_values() {
    let ev = json!({
        "type": "Normal", "reason": "Created", "count": 3,
        "involvedObject": {"kind": "StatefulSet", "name": "web", "uid": "u1"},
        "source": {"component": "statefulset-controller"},
        "spec": {"hostNetwork": true}
    });
    assert_eq!(
        field_value(&ev, "involvedObject.kind").as_deref(),
        Some("StatefulSet")
    );
    assert_eq!(field_value(&ev, "involvedObject.namespace"), None);
    assert_eq!(field_value(&ev, "type").as_deref(), Some("Normal"));
    assert_eq!(field_value(&ev, "count").as_deref(), Some("3"));
    assert_eq!(
        field_value(&ev, "spec.hostNetwork").as_deref(),
        Some("true")
    );
    assert_eq!(
        field_value(&ev, "source").as_deref(),
        Some("statefulset-controller")
    );
    assert_eq!(field_value(&ev, "involvedObject"), None);
    let ev2 = json!({"source": {}, "reportingComponent": "kubelet"});
    assert_eq!(field_value(&ev2, "source").as_deref(), Some("kubelet"));
    let fs = FieldSelector::parse(
        "involvedObject.name=web,involvedObject.namespace=,involvedObject.kind=StatefulSet,involvedObject.uid=u1",
    )
    .unwrap();
    assert!(fs.matches(|f| field_value(&ev, f)));
}

#[test]
fn typed_label_selectors_and_node_requirements_share_one_matcher() {
    use k8s_openapi::api::core::v1::NodeSelectorRequirement;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        LabelSelector as Typed, LabelSelectorRequirement,
    };
    let labels: std::collections::BTreeMap<String, String> = [
        ("app".to_string(), "web".to_string()),
        ("tier".into(), "3".into()),
    ]
    .into();
    let expr = |key: &str, op: &str, values: &[&str]| LabelSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: Some(values.iter().map(|v| v.to_string()).collect()),
    };
    // Empty matches everything (upstream's LabelSelectorAsSelector).
    assert!(label_selector_matches(&Typed::default(), None));
    let sel = Typed {
        match_labels: Some([("app".to_string(), "web".to_string())].into()),
        match_expressions: Some(vec![
            expr("tier", "In", &["2", "3"]),
            expr("canary", "DoesNotExist", &[]),
        ]),
    };
    assert!(label_selector_matches(&sel, Some(&labels)));
    assert!(!label_selector_matches(&sel, None));
    // Gt/Lt and unknown operators are not label selector operators.
    let gt = Typed {
        match_expressions: Some(vec![expr("tier", "Gt", &["1"])]),
        ..Default::default()
    };
    assert!(!label_selector_matches(&gt, Some(&labels)));
    let node = |op: &str, values: &[&str]| NodeSelectorRequirement {
        key: "tier".into(),
        operator: op.into(),
        values: Some(values.iter().map(|v| v.to_string()).collect()),
    };
    assert!(node_requirement_holds(&node("Gt", &["2"]), Some("3")));
    assert!(!node_requirement_holds(&node("Lt", &["2"]), Some("3")));
    assert!(node_requirement_holds(&node("NotIn", &["1"]), None));
    assert!(!node_requirement_holds(&node("Near", &["1"]), Some("1")));
}
