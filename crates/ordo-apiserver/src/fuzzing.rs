//! Entry points for the fuzz targets in `fuzz/` (not an API): each runs outside input through
//! the same decoding path the server's handlers use, without a store.

use crate::meta::{parse_body, Query};
use crate::rest::{apply_patch, decode_object, parse_continue, parse_patch};
use ordo_api::resources::{self, ResourceInfo};
use serde_json::Value;

/// The served resources, in table order (a fuzz input picks one by index).
pub fn resource(index: usize) -> &'static ResourceInfo {
    let all = resources::RESOURCES;
    &all[index % all.len()]
}

/// A create/update body of media type `content_type` (JSON, YAML or protobuf) for `info`:
/// parsed, then decoded through the typed schema with field validation per `query`.
pub fn decode_request(
    info: &ResourceInfo,
    content_type: &str,
    query: &str,
    body: &[u8],
) -> Result<Value, String> {
    let q = Query::parse(Some(query));
    let obj = parse_body(content_type, body).map_err(|e| e.message)?;
    decode_object(info, obj, &q).map_err(|e| e.message)
}

/// A protobuf body decoded to JSON.
pub fn decode_protobuf(body: &[u8]) -> Result<Value, String> {
    crate::protobuf::decode(body)
}

/// A `PATCH`: the patch body of media type `content_type` applied to `original`, an object of
/// `info`, and the result decoded as the handler does.
pub fn patch(
    info: &ResourceInfo,
    content_type: &str,
    original: &Value,
    body: &[u8],
) -> Result<Value, String> {
    let doc = parse_patch(content_type, body).map_err(|e| e.message)?;
    let patched = apply_patch(content_type, info.kind, original, &doc).map_err(|e| e.message)?;
    decode_object(info, patched, &Query::default()).map_err(|e| e.message)
}

/// A list request's `continue` token.
pub fn continue_token(token: &str) -> Result<(Option<String>, Option<i64>), String> {
    parse_continue(token).map_err(|e| e.message)
}
