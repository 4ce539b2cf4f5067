//! From an HTTP request to a handler: authentication, body limits, path parsing, verbs.

use crate::meta::{parse_body, Query};
use crate::{discovery, ApiServer, MAX_BODY_BYTES};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use ordo_api::resources::{self, ResourceInfo};
use ordo_api::status::ApiError;
use serde_json::Value;
use std::sync::Arc;

/// The resource a request is about.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) info: &'static ResourceInfo,
    pub(crate) ns: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) sub: Option<String>,
}

impl Target {
    pub(crate) fn ns(&self) -> Option<&str> {
        if self.info.namespaced {
            self.ns.as_deref()
        } else {
            None
        }
    }
}

pub(crate) fn router(server: Arc<ApiServer>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(server)
}

/// A JSON response.
pub(crate) fn json_response(code: StatusCode, v: &Value) -> Response {
    json_bytes_response(code, serde_json::to_vec(v).unwrap_or_default())
}

/// A response carrying JSON that is already encoded.
pub(crate) fn json_bytes_response(code: StatusCode, body: Vec<u8>) -> Response {
    (
        code,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A `Status` error response.
pub(crate) fn error_response(e: &ApiError) -> Response {
    let code = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &e.to_status())
}

fn authorized(server: &ApiServer, headers: &HeaderMap) -> bool {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(token) = v.strip_prefix("Bearer ").map(str::trim) else {
        return false;
    };
    // Constant-time comparison.
    let (a, b) = (token.as_bytes(), server.token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn handle(State(server): State<Arc<ApiServer>>, req: Request) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let labels = target_of(uri.path()).map(|t| {
        let ct = req.headers().get(header::CONTENT_TYPE);
        let ct = ct.and_then(|v| v.to_str().ok());
        crate::metrics::request_labels(method.as_str(), &t, &Query::parse(uri.query()), ct)
    });
    let resp = match route(&server, req).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    let took = started.elapsed();
    if let Some(labels) = labels {
        server
            .metrics
            .record(labels.with_code(resp.status().as_u16()), took);
    }
    tracing::debug!(%method, uri = %uri, status = resp.status().as_u16(), elapsed_us = took.as_micros() as u64, "request");
    resp
}

fn is_public(path: &str) -> bool {
    matches!(path, "/version" | "/healthz" | "/livez" | "/readyz")
        || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
}

async fn route(server: &Arc<ApiServer>, req: Request) -> Result<Response, ApiError> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    let query = Query::parse(req.uri().query());
    if !is_public(&path) && !authorized(server, req.headers()) {
        return Err(ApiError::unauthorized());
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match path.as_str() {
        "/version" => return Ok(json_response(StatusCode::OK, &discovery::version())),
        "/healthz" | "/livez" | "/readyz" => return Ok((StatusCode::OK, "ok").into_response()),
        "/metrics" => {
            let ct = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            return Ok(([(header::CONTENT_TYPE, ct)], server.metrics.encode()).into_response());
        }
        "/api" | "/apis" => {
            let core = path == "/api";
            if accept.contains("g=apidiscovery.k8s.io")
                && (accept.contains("v=v2;") || accept.contains("v=v2beta1"))
            {
                let v2 = accept.contains("v=v2;as=APIGroupDiscoveryList");
                let mut doc = discovery::aggregated(core);
                let ct = if v2 {
                    discovery::AGGREGATED_CONTENT_TYPE
                } else {
                    doc["apiVersion"] = "apidiscovery.k8s.io/v2beta1".into();
                    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
                };
                let body = serde_json::to_vec(&doc).unwrap_or_default();
                return Ok(([(header::CONTENT_TYPE, ct)], body).into_response());
            }
            let doc = if core {
                discovery::legacy_api(&server.advertise)
            } else {
                discovery::legacy_apis()
            };
            return Ok(json_response(StatusCode::OK, &doc));
        }
        "/openapi/v3" => {
            let doc = ordo_api::openapi::root(|gv| server.openapi.hash(gv));
            return Ok(json_response(StatusCode::OK, &doc));
        }
        _ => {}
    }
    if let Some(gv) = path.strip_prefix("/openapi/v3/") {
        return match server.openapi.document(gv) {
            Some(bytes) => Ok((
                [(header::CONTENT_TYPE, "application/json")],
                bytes.as_ref().clone(),
            )
                .into_response()),
            None => Err(ApiError {
                code: 404,
                reason: "NotFound",
                message: "the server could not find the requested resource".into(),
                details: None,
            }),
        };
    }
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        ["apis", g] => {
            return discovery::legacy_group(g)
                .map(|d| json_response(StatusCode::OK, &d))
                .ok_or_else(not_found_path);
        }
        _ => return Err(not_found_path()),
    };
    if rest.is_empty() {
        return discovery::legacy_resources(group, version)
            .map(|d| json_response(StatusCode::OK, &d))
            .ok_or_else(not_found_path);
    }
    let target = parse_target(group, version, rest).ok_or_else(not_found_path)?;
    let method = req.method().clone();
    let headers = req.headers().clone();
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > MAX_BODY_BYTES {
            return Err(too_large());
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let wants_table = accept.contains("as=Table");
    let read_body = |req: Request| async move {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| too_large())?;
        Ok::<_, ApiError>(bytes)
    };
    let sub = target.sub.as_deref();
    let pods = target.info.plural == "pods" && target.info.group.is_empty();
    match (&method, target.name.is_some(), sub) {
        (&Method::GET, false, None) => {
            if query.flag("watch") {
                server.watch(&target, &query, wants_table).await
            } else {
                server.list(&target, &query, wants_table).await
            }
        }
        (&Method::POST, false, None) => {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            let (code, v) = server.create(&target, obj, &query).await?;
            Ok(json_response(code, &v))
        }
        (&Method::DELETE, false, None) => {
            let body = read_body(req).await?;
            let opts = parse_body(&content_type, &body)?;
            server
                .delete_collection(&target, &query, opts)
                .await
                .map(|v| json_response(StatusCode::OK, &v))
        }
        (&Method::GET, true, None) => server.get(&target, &query, wants_table).await,
        (&Method::GET, true, Some("status")) if target.info.status => {
            server.get(&target, &query, false).await
        }
        (&Method::GET, true, Some("ephemeralcontainers")) if pods => {
            server.get(&target, &query, false).await
        }
        (&Method::GET, true, Some("scale")) if target.info.scale => server
            .get_scale(&target)
            .await
            .map(|v| json_response(StatusCode::OK, &v)),
        (&Method::PUT, true, None | Some("status" | "finalize" | "ephemeralcontainers"))
            if sub != Some("ephemeralcontainers") || pods =>
        {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            server
                .update(&target, obj, &query)
                .await
                .map(|(c, v)| json_response(c, &v))
        }
        (&Method::PUT, true, Some("scale")) if target.info.scale => {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            server
                .update_scale(&target, obj, &query)
                .await
                .map(|v| json_response(StatusCode::OK, &v))
        }
        (&Method::PATCH, true, None | Some("status" | "scale" | "ephemeralcontainers"))
            if sub != Some("ephemeralcontainers") || pods =>
        {
            let body = read_body(req).await?;
            server
                .patch(&target, &content_type, &body, &query)
                .await
                .map(|(c, v)| json_response(c, &v))
        }
        (&Method::DELETE, true, None) => {
            let body = read_body(req).await?;
            let opts = parse_body(&content_type, &body)?;
            server
                .delete(&target, &query, opts)
                .await
                .map(|(c, v)| json_response(c, &v))
        }
        (&Method::POST, true, Some("binding")) if target.info.plural == "pods" => {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            server
                .bind(&target, obj)
                .await
                .map(|v| json_response(StatusCode::CREATED, &v))
        }
        (_, true, Some(s))
            if matches!(s, "log" | "exec" | "attach" | "portforward")
                && target.info.plural == "pods" =>
        {
            let s = s.to_string();
            server.proxy_pod(&target, &s, &query, req).await
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method} {})",
            path
        ))),
    }
}

pub(crate) fn too_large() -> ApiError {
    ApiError::too_large(
        "the server has received a request that is too large: limit is 3145728 bytes",
    )
}

fn not_found_path() -> ApiError {
    ApiError {
        code: 404,
        reason: "NotFound",
        message: "the server could not find the requested resource".into(),
        details: None,
    }
}

/// The resource a path names (`/api/V/...`, `/apis/G/V/...`), if it names one ordo serves.
pub(crate) fn target_of(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segs.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => parse_target("", v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => parse_target(g, v, rest),
        _ => None,
    }
}

/// Parses the part of a path after the group-version: `[namespaces/NS/]RESOURCE[/NAME[/SUB]]`.
fn parse_target(group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let (ns, rest) = match rest {
        ["namespaces", ns, r, tail @ ..] if !matches!(*r, "status" | "finalize") => {
            (Some(ns.to_string()), {
                let mut v = vec![*r];
                v.extend_from_slice(tail);
                v
            })
        }
        _ => (None, rest.to_vec()),
    };
    let info = resources::find(group, version, rest[0])?;
    if ns.is_some() && !info.namespaced {
        return None;
    }
    let name = rest.get(1).map(|s| s.to_string());
    let sub = rest.get(2).map(|s| s.to_string());
    if rest.len() > 3 {
        return None;
    }
    Some(Target {
        info,
        ns,
        name,
        sub,
    })
}

/// The body a list or watch stream is sent with.
pub(crate) fn stream_response(body: Body) -> Response {
    let mut r = Response::new(body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let t = parse_target(
            "apps",
            "v1",
            &["namespaces", "default", "statefulsets", "web", "scale"],
        )
        .unwrap();
        assert_eq!(
            (
                t.info.kind,
                t.ns.as_deref(),
                t.name.as_deref(),
                t.sub.as_deref()
            ),
            ("StatefulSet", Some("default"), Some("web"), Some("scale"))
        );
        let t = parse_target("", "v1", &["namespaces", "kube-system"]).unwrap();
        assert_eq!(
            (t.info.kind, t.name.as_deref()),
            ("Namespace", Some("kube-system"))
        );
        let t = parse_target("", "v1", &["namespaces", "x", "status"]).unwrap();
        assert_eq!(
            (t.info.kind, t.name.as_deref(), t.sub.as_deref()),
            ("Namespace", Some("x"), Some("status"))
        );
        let t = parse_target("", "v1", &["pods"]).unwrap();
        assert!(t.name.is_none() && t.ns.is_none());
        assert!(parse_target("", "v1", &["nope"]).is_none());
        assert!(parse_target("", "v1", &["namespaces", "d", "nodes"]).is_none());
    }
}
