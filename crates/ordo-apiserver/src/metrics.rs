//! The API server's own request metrics, as upstream names them, served at `/metrics`
//! (OpenMetrics text): `apiserver_request_total` (labels `verb`, `dry_run`, `group`, `version`,
//! `resource`, `subresource`, `scope`, `component`, `code`) and
//! `apiserver_request_duration_seconds` (the same without `code` and `dry_run`; long-running
//! WATCH and CONNECT requests are counted but not timed). The verb is upstream's metric verb:
//! `LIST` and `WATCH` apart from `GET`, `APPLY` for server-side apply patches, `CONNECT` for
//! `exec`, `attach`, `portforward` and `proxy`.

use crate::meta::Query;
use crate::router::Target;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The labels of one request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet, Default)]
pub(crate) struct RequestLabels {
    verb: String,
    dry_run: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    scope: String,
    component: String,
    code: String,
}

/// The labels of a request's duration (no code, no dry run).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    verb: String,
    group: String,
    version: String,
    resource: String,
    subresource: String,
    scope: String,
    component: String,
}

/// Upstream's buckets for `apiserver_request_duration_seconds`.
const BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

type DurationFamily = Family<DurationLabels, Histogram, fn() -> Histogram>;

/// The registry and the metric families it holds.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: DurationFamily,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
            requests.clone(),
        );
        let durations: DurationFamily = Family::new_with_constructor(|| Histogram::new(BUCKETS));
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
            durations.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
        }
    }
}

impl Metrics {
    /// Counts (and times) one request.
    pub(crate) fn record(&self, labels: RequestLabels, took: Duration) {
        if !matches!(labels.verb.as_str(), "WATCH" | "CONNECT") {
            self.durations
                .get_or_create(&DurationLabels {
                    verb: labels.verb.clone(),
                    group: labels.group.clone(),
                    version: labels.version.clone(),
                    resource: labels.resource.clone(),
                    subresource: labels.subresource.clone(),
                    scope: labels.scope.clone(),
                    component: labels.component.clone(),
                })
                .observe(took.as_secs_f64());
        }
        self.requests.get_or_create(&labels).inc();
    }

    /// The OpenMetrics text of every metric.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The labels of a request to the resource `t` (`code` is filled in later); requests to other
/// paths (discovery, OpenAPI, health) are not counted here, as upstream.
pub(crate) fn request_labels(
    method: &str,
    t: &Target,
    query: &Query,
    content_type: Option<&str>,
) -> RequestLabels {
    let sub = t.sub.as_deref().unwrap_or_default();
    let verb = match (method, t.name.is_some()) {
        _ if matches!(sub, "exec" | "attach" | "portforward" | "proxy") => "CONNECT",
        ("GET", _) if query.flag("watch") => "WATCH",
        ("GET", false) => "LIST",
        ("DELETE", false) => "DELETECOLLECTION",
        ("PATCH", _) if content_type.is_some_and(|c| c.starts_with("application/apply-patch")) => {
            "APPLY"
        }
        (m, _) => m,
    };
    let scope = match (t.name.is_some(), t.ns().is_some()) {
        (true, _) => "resource",
        (false, true) => "namespace",
        (false, false) => "cluster",
    };
    RequestLabels {
        verb: verb.to_string(),
        dry_run: query.get("dryRun").unwrap_or_default().to_string(),
        group: t.info.group.to_string(),
        version: t.info.version.to_string(),
        resource: t.info.plural.to_string(),
        subresource: sub.to_string(),
        scope: scope.to_string(),
        component: "apiserver".to_string(),
        code: String::new(),
    }
}

impl RequestLabels {
    /// These labels with the response's status code.
    pub(crate) fn with_code(mut self, code: u16) -> Self {
        self.code = code.to_string();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::target_of;

    fn labels(
        method: &str,
        path: &str,
        query: Option<&str>,
        content_type: Option<&str>,
    ) -> Option<RequestLabels> {
        let t = target_of(path)?;
        Some(request_labels(
            method,
            &t,
            &Query::parse(query),
            content_type,
        ))
    }

    fn l(method: &str, path: &str, query: Option<&str>) -> (String, String, String, String) {
        let r = labels(method, path, query, None).expect("a resource path");
        (r.verb, r.resource, r.subresource, r.scope)
    }

    #[test]
    fn verbs_and_scopes_as_upstream_names_them() {
        let s = |a: &str, b: &str, c: &str, d: &str| {
            (a.to_string(), b.to_string(), c.to_string(), d.to_string())
        };
        assert_eq!(
            l("GET", "/api/v1/pods", None),
            s("LIST", "pods", "", "cluster")
        );
        assert_eq!(
            l(
                "GET",
                "/api/v1/namespaces/a/pods",
                Some("watch=true&resourceVersion=5")
            ),
            s("WATCH", "pods", "", "namespace")
        );
        assert_eq!(
            l("GET", "/apis/apps/v1/namespaces/a/statefulsets/web", None),
            s("GET", "statefulsets", "", "resource")
        );
        assert_eq!(
            l("PATCH", "/api/v1/namespaces/a/pods/web-0/status", None),
            s("PATCH", "pods", "status", "resource")
        );
        assert_eq!(
            l(
                "POST",
                "/api/v1/namespaces/a/pods/web-0/exec",
                Some("command=ls")
            ),
            s("CONNECT", "pods", "exec", "resource")
        );
        assert_eq!(
            l("DELETE", "/api/v1/namespaces/a/pods", None),
            s("DELETECOLLECTION", "pods", "", "namespace")
        );
        assert_eq!(
            l("PUT", "/api/v1/namespaces/gone/finalize", None),
            s("PUT", "namespaces", "finalize", "resource")
        );
        let apply = labels(
            "PATCH",
            "/apis/apps/v1/namespaces/a/deployments/d",
            Some("fieldManager=kubectl&dryRun=All"),
            Some("application/apply-patch+yaml"),
        )
        .expect("labels");
        assert_eq!(
            (apply.verb.as_str(), apply.dry_run.as_str()),
            ("APPLY", "All")
        );
        assert!(labels("GET", "/apis/apps/v1", None, None).is_none());
        assert!(labels("GET", "/version", None, None).is_none());
    }

    #[test]
    fn counts_encode_as_openmetrics() {
        let m = Metrics::default();
        let list = labels("GET", "/api/v1/pods", None, None).expect("labels");
        m.record(list.clone().with_code(200), Duration::from_millis(3));
        m.record(list.with_code(200), Duration::from_millis(3));
        let text = m.encode();
        assert!(
            text.contains(r#"apiserver_request_total{verb="LIST",dry_run="",group="",version="v1",resource="pods",subresource="",scope="cluster",component="apiserver",code="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains("apiserver_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
