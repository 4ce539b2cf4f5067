//! Small helpers over object metadata and request parameters.

use ordo_api::status::ApiError;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Query parameters of a request (last value wins).
#[derive(Debug, Default, Clone)]
pub(crate) struct Query {
    map: HashMap<String, String>,
}

impl Query {
    /// Parses the query string of a URL (`None`: no query).
    pub(crate) fn parse(q: Option<&str>) -> Query {
        let map = form_urlencoded::parse(q.unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        Query { map }
    }
    /// The parameter's (last) value.
    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.map.get(k).map(|s| s.as_str())
    }
    /// A boolean parameter (`true`/`1`).
    pub(crate) fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true") | Some("1"))
    }
}

/// Now as an RFC 3339 timestamp with second precision, as Kubernetes writes them.
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// RFC 3339 timestamp `secs` seconds from now.
pub(crate) fn rfc3339_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Five random characters from upstream's `generateName` alphabet.
pub(crate) fn random_suffix(n: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// `obj.metadata` as a mutable map, created if missing.
pub(crate) fn meta_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(|m| m.is_object()) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

/// A string field of metadata.
pub(crate) fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(|v| v.as_str())
}

/// Parses a request body as JSON, or YAML when the content type says so.
pub(crate) fn parse_body(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Null);
    }
    if content_type.contains("vnd.kubernetes.protobuf") {
        return crate::protobuf::decode(body).map_err(|m| ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: m,
            details: None,
        });
    }
    if content_type.contains("cbor") {
        return Err(ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message: format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type})"),
            details: None,
        });
    }
    if content_type.contains("yaml") && serde_json::from_slice::<Value>(body).is_err() {
        return serde_yaml::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeply_nested_bodies_are_bad_requests() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(parse_body("application/json", deep(100).as_bytes()).is_ok());
        for ct in ["application/json", "application/yaml"] {
            let e = parse_body(ct, deep(100_000).as_bytes()).unwrap_err();
            assert_eq!(e.code, 400, "{ct}");
            assert!(
                e.message.contains("recursion limit exceeded"),
                "{ct}: {}",
                e.message
            );
        }
        // YAML aliases expanding without bound (a "billion laughs") are refused too.
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            doc += &format!(
                "l{i}: &l{i} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            );
        }
        let e = parse_body("application/yaml", doc.as_bytes()).unwrap_err();
        assert_eq!(e.code, 400);
        assert!(
            e.message.starts_with("error decoding YAML"),
            "{}",
            e.message
        );
    }
}
