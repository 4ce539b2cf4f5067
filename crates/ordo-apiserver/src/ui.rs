//! The web view served at `/ui/`: static assets embedded in the binary.
//!
//! The assets hold no data, so they are served without credentials (before authentication);
//! every data request the page makes is an ordinary API request carrying the signed-in
//! identity (a bearer token from its sign-in form, or the client certificate the browser
//! presents to the TLS layer), so authorization applies as to kubectl.

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// One embedded file: its name under `/ui/`, media type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// An embedded file of `ui/` with its media type.
macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../ui/", $name)),
        }
    };
}

/// Every file of the page (hand-written HTML, CSS and JavaScript modules; no build step).
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("model.js", "text/javascript; charset=utf-8"),
    asset!("view.js", "text/javascript; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The page may load and connect to its own origin only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Whether `raw_path` (untrimmed) belongs to the web view.
pub(crate) fn is_ui(raw_path: &str) -> bool {
    raw_path == "/ui" || raw_path.starts_with("/ui/")
}

/// A strong validator of an asset's bytes (FNV-1a, 64 bits): enough to tell versions apart.
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

/// Answers a request under `/ui`: `/ui` redirects to `/ui/`, `/ui/` is the page, other names
/// are its assets; anything else is 404 and methods other than GET and HEAD are 405.
pub(crate) fn serve(method: &Method, raw_path: &str, headers: &HeaderMap) -> Response {
    if raw_path == "/ui" {
        return (
            StatusCode::MOVED_PERMANENTLY,
            [(header::LOCATION, HeaderValue::from_static("/ui/"))],
        )
            .into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("GET, HEAD"))],
        )
            .into_response();
    }
    let name = raw_path.strip_prefix("/ui/").unwrap_or("");
    let name = if name.is_empty() { "index.html" } else { name };
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found",
        )
            .into_response();
    };
    let tag = etag(asset.body);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if method == Method::HEAD {
        (StatusCode::OK, ()).into_response()
    } else {
        (StatusCode::OK, asset.body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // Revalidated on every load (a new binary may serve new assets); an unchanged asset then
    // costs a 304 without a body.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_and_assets_with_headers() {
        let h = HeaderMap::new();
        let r = serve(&Method::GET, "/ui", &h);
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(r.headers()[header::LOCATION], "/ui/");
        let r = serve(&Method::GET, "/ui/", &h);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'"));
        let tag = r.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(
            serve(&Method::GET, "/ui/", &again).status(),
            StatusCode::NOT_MODIFIED
        );
        let r = serve(&Method::GET, "/ui/app.js", &h);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            serve(&Method::GET, "/ui/nope.js", &h).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            serve(&Method::POST, "/ui/", &h).status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn every_file_of_the_page_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        for f in std::fs::read_dir(dir).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "ui/{name} is not in ASSETS"
            );
        }
    }

    #[test]
    fn page_stays_small() {
        let total: usize = ASSETS.iter().map(|a| a.body.len()).sum();
        assert!(total < 300 * 1024, "the page's assets are {total} bytes");
    }
}
