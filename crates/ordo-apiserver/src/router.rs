//! From an HTTP request to a handler: authentication, body limits, path parsing, verbs.

use crate::meta::{parse_body, Query};
use crate::{auth, discovery, ApiServer, MAX_BODY_BYTES};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
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

async fn handle(State(server): State<Arc<ApiServer>>, req: Request) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let labels = target_of(uri.path()).map(|t| {
        let ct = req.headers().get(header::CONTENT_TYPE);
        let ct = ct.and_then(|v| v.to_str().ok());
        crate::metrics::request_labels(method.as_str(), &t, &Query::parse(uri.query()), ct)
    });
    let received = chrono::Utc::now();
    let source_ip = req
        .extensions()
        .get::<crate::ClientAddr>()
        .map(|a| a.0.ip());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let accept = crate::protobuf::accept(
        req.headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    let watch = Query::parse(uri.query()).flag("watch") || uri.path().contains("/watch/");
    let mut attrs = None;
    let resp = match route(&server, req, &mut attrs).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    let resource = target_of(uri.path()).is_some();
    let resp = if accept == crate::protobuf::Accept::Json || watch || !resource {
        resp
    } else {
        protobuf_response(resp, accept).await
    };
    if let Some(log) = &server.audit {
        log.write(&crate::audit::Record {
            attrs: attrs.as_ref(),
            uri: uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
            method: method.as_str(),
            source_ip,
            user_agent: user_agent.as_deref(),
            code: resp.status().as_u16(),
            received,
        });
    }
    let took = started.elapsed();
    if let Some(labels) = labels {
        server
            .metrics
            .record(labels.with_code(resp.status().as_u16()), took);
    }
    tracing::debug!(%method, uri = %uri, status = resp.status().as_u16(), elapsed_us = took.as_micros() as u64, "request");
    resp
}

/// A JSON response re-encoded as protobuf for a client that asked for it (`Accept:
/// application/vnd.kubernetes.protobuf`), as kube-apiserver answers. Kinds without a protobuf
/// message (tables, discovery, custom resources) stay JSON when the client also accepts JSON,
/// and are refused with 406 Not Acceptable when it accepts protobuf only.
async fn protobuf_response(resp: Response, accept: crate::protobuf::Accept) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    if !is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return error_response(&ApiError::internal("cannot read the response body"));
    };
    let encoded = serde_json::from_slice::<Value>(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|v| crate::protobuf::encode(&v));
    match encoded {
        Ok(pb) => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::protobuf::MEDIA_TYPE),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(pb))
        }
        Err(e) if accept == crate::protobuf::Accept::ProtobufOnly => {
            tracing::debug!(error = %e, "no protobuf encoding for the response");
            error_response(&ApiError {
                code: 406,
                reason: "NotAcceptable",
                message: "only the following media types are accepted: application/json, application/yaml".into(),
                details: None,
            })
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// The answer to a request for a path anyone may read (upstream's `system:public-info-viewer`).
fn public(path: &str) -> Result<Response, ApiError> {
    if path == "/version" {
        return Ok(json_response(StatusCode::OK, &discovery::version()));
    }
    Ok((StatusCode::OK, "ok").into_response())
}

fn is_public(path: &str) -> bool {
    matches!(path, "/version" | "/healthz" | "/livez" | "/readyz")
        || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
}

/// Answers a request; `audited` receives its authorization attributes once it is authenticated.
async fn route(
    server: &Arc<ApiServer>,
    req: Request,
    audited: &mut Option<auth::Attributes>,
) -> Result<Response, ApiError> {
    // The web view's static assets hold no data and need no credentials (see `ui.rs`).
    if crate::ui::is_ui(req.uri().path()) {
        return Ok(crate::ui::serve(
            req.method(),
            req.uri().path(),
            req.headers(),
        ));
    }
    let path = req.uri().path().trim_end_matches('/').to_string();
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    let query = Query::parse(req.uri().query());
    // Without credentials a request is anonymous (upstream's anonymous authenticator), and
    // RBAC decides: system:public-info-viewer lets anyone read /healthz, /livez, /readyz and
    // /version.
    let requestor = auth::authenticate(server, req.headers(), req.extensions())
        .await?
        .unwrap_or_else(auth::UserInfo::anonymous);
    let user = auth::impersonate(server, &requestor, req.headers())?;
    let mut req = req;
    req.extensions_mut().insert(user.clone());
    let resource_target = target_of(&path);
    let attrs = auth::Attributes {
        verb: match &resource_target {
            Some(t) => auth::resource_verb(req.method(), t.name.is_some(), query.flag("watch")),
            None => req.method().as_str(),
        }
        .to_ascii_lowercase(),
        resource_request: resource_target.is_some(),
        api_group: resource_target
            .as_ref()
            .map(|t| t.info.group.to_string())
            .unwrap_or_default(),
        api_version: resource_target
            .as_ref()
            .map(|t| t.info.version.to_string())
            .unwrap_or_default(),
        resource: resource_target
            .as_ref()
            .map(|t| t.info.plural.to_string())
            .unwrap_or_default(),
        subresource: resource_target
            .as_ref()
            .and_then(|t| t.sub.clone())
            .unwrap_or_default(),
        namespace: resource_target
            .as_ref()
            .and_then(|t| t.ns().map(str::to_string))
            .unwrap_or_default(),
        name: resource_target
            .as_ref()
            .and_then(|t| t.name.clone())
            .unwrap_or_default(),
        path: path.clone(),
        user: user.clone(),
    };
    let allowed = auth::authorize(server, &attrs);
    *audited = Some(attrs);
    allowed?;
    auth::REQUEST_USER
        .scope(user, serve(server, req, path, query))
        .await
}

/// Serves an authorized request.
async fn serve(
    server: &Arc<ApiServer>,
    req: Request,
    path: String,
    query: Query,
) -> Result<Response, ApiError> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if is_public(&path) {
        return public(&path);
    }
    match path.as_str() {
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
                let etag = discovery::etag(&body);
                if if_none_match.as_deref() == Some(etag.as_str()) {
                    return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
                }
                return Ok((
                    [(header::CONTENT_TYPE, ct.to_string()), (header::ETAG, etag)],
                    body,
                )
                    .into_response());
            }
            let doc = if core {
                discovery::legacy_api(&server.advertise)
            } else {
                discovery::legacy_apis()
            };
            return Ok(json_response(StatusCode::OK, &doc));
        }
        "/.well-known/openid-configuration" => {
            let doc = auth::tokens::openid_configuration(&server.advertise);
            return Ok(json_response(StatusCode::OK, &doc));
        }
        "/openid/v1/jwks" => {
            let body = serde_json::to_vec(&server.signer.jwks()).unwrap_or_default();
            let ct = "application/jwk-set+json";
            return Ok(([(header::CONTENT_TYPE, ct)], body).into_response());
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
    if resources::is_read_only(target.info) {
        return match (req.method(), &target.sub) {
            (&Method::GET, None) if !query.flag("watch") => {
                server
                    .serve_resource_metrics(&target, &query, accept.contains("as=Table"))
                    .await
            }
            _ => Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({} {path})",
                req.method()
            ))),
        };
    }
    // A custom resource's watch in another version than the stored one streams the stored
    // objects typed as the requested version (the `None` conversion strategy).
    let custom_watch = query.flag("watch") && ordo_api::crd::by_info(target.info).is_some();
    if !custom_watch && !std::ptr::eq(resources::storage_info(target.info), target.info) {
        let q = query.clone();
        return crate::convert::serve_converted(server, req, target, &query, |req, t| {
            dispatch(server, req, t, path, q, accept)
        })
        .await;
    }
    dispatch(server, req, target, path, query, accept).await
}

/// Serves an authorized request on a resource of its stored version.
async fn dispatch(
    server: &Arc<ApiServer>,
    req: Request,
    target: Target,
    path: String,
    query: Query,
    accept: String,
) -> Result<Response, ApiError> {
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
                let proto = crate::protobuf::accept(&accept) != crate::protobuf::Accept::Json;
                server.watch(&target, &query, wants_table, proto).await
            } else {
                server.list(&target, &query, wants_table).await
            }
        }
        (&Method::POST, false, None) if resources::is_review(target.info) => {
            let user = req
                .extensions()
                .get::<auth::UserInfo>()
                .cloned()
                .unwrap_or_default();
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            let obj = resources::decode(target.info, obj).map_err(ApiError::bad_request)?;
            let v = server.review(&target, obj.object, &user)?;
            Ok(json_response(StatusCode::CREATED, &v))
        }
        (&Method::POST, false, None) if target.info.group == "authentication.k8s.io" => {
            let user = req.extensions().get::<auth::UserInfo>().cloned();
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            let v = match target.info.plural {
                "tokenreviews" => server.token_review(obj).await?,
                _ => server.self_subject_review(&user.unwrap_or_default()),
            };
            Ok(json_response(StatusCode::CREATED, &v))
        }
        (&Method::POST, false, None) => {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            let (code, v) = server.create(&target, obj, &query).await?;
            settle_rbac(server, &target, Some(&v)).await;
            settle_crd(server, &target, Some(&v), false).await;
            Ok(json_response(code, &v))
        }
        (&Method::POST, true, Some("token")) if target.info.plural == "serviceaccounts" => {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            let ns = target.ns().unwrap_or("default").to_string();
            let name = target.name.clone().unwrap_or_default();
            server
                .create_token(&ns, &name, obj)
                .await
                .map(|v| json_response(StatusCode::CREATED, &v))
        }
        (&Method::DELETE, false, None) => {
            let body = read_body(req).await?;
            let opts = parse_body(&content_type, &body)?;
            let v = server.delete_collection(&target, &query, opts).await?;
            for item in v["items"].as_array().into_iter().flatten() {
                settle_crd(server, &target, Some(item), true).await;
            }
            Ok(json_response(StatusCode::OK, &v))
        }
        (&Method::GET, true, None) => server.get(&target, &query, wants_table).await,
        (&Method::GET, true, Some("status")) if target.info.status => {
            server.get(&target, &query, false).await
        }
        (&Method::GET, true, Some("approval"))
            if target.info.kind == "CertificateSigningRequest" =>
        {
            server.get(&target, &query, false).await
        }
        (&Method::GET, true, Some("ephemeralcontainers")) if pods => {
            server.get(&target, &query, false).await
        }
        (&Method::GET, true, Some("scale")) if target.info.scale => server
            .get_scale(&target)
            .await
            .map(|v| json_response(StatusCode::OK, &v)),
        (
            &Method::PUT,
            true,
            None | Some("status" | "finalize" | "ephemeralcontainers" | "approval"),
        ) if (sub != Some("ephemeralcontainers") || pods)
            && (sub != Some("approval") || target.info.kind == "CertificateSigningRequest") =>
        {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            let (c, v) = server.update(&target, obj, &query).await?;
            settle_rbac(server, &target, Some(&v)).await;
            settle_crd(server, &target, Some(&v), false).await;
            Ok(json_response(c, &v))
        }
        (&Method::PUT, true, Some("scale")) if target.info.scale => {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            server
                .update_scale(&target, obj, &query)
                .await
                .map(|v| json_response(StatusCode::OK, &v))
        }
        (
            &Method::PATCH,
            true,
            None | Some("status" | "scale" | "ephemeralcontainers" | "approval"),
        ) if (sub != Some("ephemeralcontainers") || pods)
            && (sub != Some("approval") || target.info.kind == "CertificateSigningRequest") =>
        {
            let body = read_body(req).await?;
            let (c, v) = server.patch(&target, &content_type, &body, &query).await?;
            settle_rbac(server, &target, Some(&v)).await;
            settle_crd(server, &target, Some(&v), false).await;
            Ok(json_response(c, &v))
        }
        (&Method::DELETE, true, None) => {
            let body = read_body(req).await?;
            let opts = parse_body(&content_type, &body)?;
            let (c, v) = server.delete(&target, &query, opts).await?;
            settle_rbac(server, &target, None).await;
            settle_crd(server, &target, Some(&v), true).await;
            Ok(json_response(c, &v))
        }
        (&Method::POST, true, Some("binding")) if target.info.plural == "pods" => {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            server
                .bind(&target, obj)
                .await
                .map(|v| json_response(StatusCode::CREATED, &v))
        }
        (&Method::POST, true, Some("eviction")) if target.info.plural == "pods" => {
            let body = read_body(req).await?;
            let obj = parse_body(&content_type, &body)?;
            server
                .evict(&target, obj)
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

/// After a write of an RBAC object, waits until the authorizer's index shows it, so that the
/// writer's next request is decided with it (upstream's authorizer follows an informer; ordo's
/// own writes are visible at once).
async fn settle_rbac(server: &ApiServer, t: &Target, written: Option<&Value>) {
    if t.info.group != "rbac.authorization.k8s.io" {
        return;
    }
    let name = written
        .and_then(|v| v.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| t.name.clone())
        .unwrap_or_default();
    let rev = match written {
        Some(v) => match v
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .and_then(|r| r.parse().ok())
        {
            Some(rev) => Some(rev),
            None => return,
        },
        None => None,
    };
    server
        .authz
        .settle(t.info.plural, t.ns().unwrap_or(""), &name, rev)
        .await;
}

/// After a write of a CRD, runs the CRD controllers (`crd.rs`): at once after a create or
/// an update, so that the new resources are served when the client hears back; in the
/// background after a delete, which waits for the CRD's objects to go.
async fn settle_crd(server: &Arc<ApiServer>, t: &Target, written: Option<&Value>, deleted: bool) {
    if !crate::crd::is_crd(t.info) || t.ns.is_some() {
        return;
    }
    let name = written
        .and_then(|v| v.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| t.name.clone())
        .unwrap_or_default();
    server.crd_changed(&name, deleted).await;
}

pub(crate) fn too_large() -> ApiError {
    ApiError::too_large("Request entity too large: limit is 3145728")
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
pub(crate) fn stream_response(body: Body, proto: bool) -> Response {
    let mut r = Response::new(body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if proto {
            "application/vnd.kubernetes.protobuf;stream=watch"
        } else {
            "application/json"
        }),
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
