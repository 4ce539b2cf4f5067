//! The audit log (`ordo server --audit-log FILE`): one JSON line per request in upstream's
//! `audit.k8s.io/v1` `Event` shape at the `Metadata` level, written when the response is
//! complete (stage `ResponseComplete`; for watches and streams, when their headers are sent,
//! as upstream's `ResponseStarted` would).

use crate::auth::{Attributes, UserInfo};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// An open audit log file, appended to.
pub(crate) struct AuditLog {
    file: Mutex<std::io::LineWriter<std::fs::File>>,
}

/// What the router knows of one request when it is answered.
pub(crate) struct Record<'a> {
    /// Its authorization attributes; `None` when authentication failed.
    pub(crate) attrs: Option<&'a Attributes>,
    /// The request URI, path and query.
    pub(crate) uri: &'a str,
    /// The HTTP method (the verb when `attrs` is absent).
    pub(crate) method: &'a str,
    /// The client's address.
    pub(crate) source_ip: Option<std::net::IpAddr>,
    /// The client's `User-Agent`.
    pub(crate) user_agent: Option<&'a str>,
    /// The response's status code.
    pub(crate) code: u16,
    /// When the request arrived.
    pub(crate) received: chrono::DateTime<chrono::Utc>,
}

impl AuditLog {
    /// Opens (creating, appending to) the audit log at `path`.
    pub(crate) fn open(path: &Path) -> std::io::Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(AuditLog {
            file: Mutex::new(std::io::LineWriter::new(file)),
        })
    }

    /// Appends the event of one answered request.
    pub(crate) fn write(&self, r: &Record<'_>) {
        let mut line = serde_json::to_vec(&event(r)).unwrap_or_default();
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(&line) {
            tracing::warn!("writing the audit log: {e}");
        }
    }
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn user(u: &UserInfo) -> Value {
    let mut v = json!({ "username": u.name });
    if !u.uid.is_empty() {
        v["uid"] = u.uid.clone().into();
    }
    if !u.groups.is_empty() {
        v["groups"] = json!(u.groups);
    }
    if !u.extra.is_empty() {
        v["extra"] = json!(u.extra);
    }
    v
}

/// The `audit.k8s.io/v1` Event of a request.
fn event(r: &Record<'_>) -> Value {
    let mut ev = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": uuid::Uuid::new_v4().to_string(),
        "stage": "ResponseComplete",
        "requestURI": r.uri,
        "verb": r.method.to_ascii_lowercase(),
        "user": {},
        "sourceIPs": r.source_ip.map(|ip| vec![ip.to_string()]).unwrap_or_default(),
        "responseStatus": { "metadata": {}, "code": r.code },
        "requestReceivedTimestamp": timestamp(r.received),
        "stageTimestamp": timestamp(chrono::Utc::now()),
    });
    if let Some(ua) = r.user_agent {
        ev["userAgent"] = ua.into();
    }
    if let Some(a) = r.attrs {
        ev["verb"] = a.verb.clone().into();
        ev["user"] = user(&a.user);
        if a.resource_request {
            let mut o = json!({ "resource": a.resource, "apiVersion": a.api_version });
            for (k, v) in [
                ("namespace", &a.namespace),
                ("name", &a.name),
                ("apiGroup", &a.api_group),
                ("subresource", &a.subresource),
            ] {
                if !v.is_empty() {
                    o[k] = v.clone().into();
                }
            }
            ev["objectRef"] = o;
        }
        let decision = if r.code == 403 { "forbid" } else { "allow" };
        ev["annotations"] = json!({ "authorization.k8s.io/decision": decision });
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_shape() {
        let attrs = Attributes {
            user: UserInfo::admin(),
            verb: "list".into(),
            resource_request: true,
            api_version: "v1".into(),
            resource: "pods".into(),
            namespace: "default".into(),
            ..Default::default()
        };
        let r = Record {
            attrs: Some(&attrs),
            uri: "/api/v1/namespaces/default/pods?limit=500",
            method: "GET",
            source_ip: Some([127, 0, 0, 1].into()),
            user_agent: Some("kubectl/v1.33.0"),
            code: 200,
            received: chrono::Utc::now(),
        };
        let ev = event(&r);
        assert_eq!(ev["apiVersion"], "audit.k8s.io/v1");
        assert_eq!(ev["verb"], "list");
        assert_eq!(ev["user"]["username"], "kubernetes-admin");
        assert_eq!(ev["user"]["groups"][0], "system:masters");
        assert_eq!(
            ev["objectRef"],
            json!({"resource": "pods", "namespace": "default", "apiVersion": "v1"})
        );
        assert_eq!(ev["responseStatus"]["code"], 200);
        assert_eq!(ev["sourceIPs"][0], "127.0.0.1");
        assert!(ev["requestReceivedTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z'));
        let failed = Record {
            attrs: None,
            code: 401,
            ..r
        };
        let ev = event(&failed);
        assert_eq!(ev["verb"], "get");
        assert!(ev.get("objectRef").is_none());
    }
}
