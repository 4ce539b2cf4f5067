//! `/openapi/v3`: the hash in each group-version's URL, and each group-version's document,
//! encoded once and kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The encoded OpenAPI v3 documents served so far, by group-version.
#[derive(Default)]
pub(crate) struct OpenApiCache {
    documents: Mutex<HashMap<String, Arc<Vec<u8>>>>,
}

impl OpenApiCache {
    /// The hash in `/openapi/v3` URLs: changes with the binary.
    pub(crate) fn hash(&self, gv: &str) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (
            gv,
            env!("CARGO_PKG_VERSION"),
            ordo_api::resources::RESOURCES.len(),
        )
            .hash(&mut h);
        if ordo_api::openapi::is_custom(gv) {
            // Changes with the CRDs.
            ordo_api::crd::generation().hash(&mut h);
        }
        format!("{:016X}", h.finish())
    }

    /// The OpenAPI v3 document of a group-version, built once.
    pub(crate) fn document(&self, gv: &str) -> Option<Arc<Vec<u8>>> {
        if ordo_api::openapi::is_custom(gv) {
            // Custom resources change with their CRDs: built at each request.
            let doc = ordo_api::openapi::document(gv)?;
            return Some(Arc::new(serde_json::to_vec(&doc).ok()?));
        }
        let mut cache = self.documents.lock().ok()?;
        if let Some(d) = cache.get(gv) {
            return Some(d.clone());
        }
        let doc = ordo_api::openapi::document(gv)?;
        let bytes = Arc::new(serde_json::to_vec(&doc).ok()?);
        cache.insert(gv.to_string(), bytes.clone());
        Some(bytes)
    }
}
