//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`): the runtime registry of the custom
//! resources they define (`registry`), the validation of CRDs themselves (`validation`),
//! structural schemas (`schema`: validation, pruning, defaulting of custom objects) and the
//! `additionalPrinterColumns` of their Tables (`columns`, on the simple JSONPath forms of
//! `jsonpath`). No I/O: the API server feeds CRDs in and asks questions.

mod columns;
mod jsonpath;
mod registry;
pub mod schema;
mod validation;

pub use columns::{cells, columns};
pub use jsonpath::eval as jsonpath;
pub(crate) use registry::version_order as registry_version_order;
pub use registry::{
    by_info, find, find_kind, generation, infos, install, uninstall, CustomResource, ScalePaths,
};
pub use validation::{apply_crd_defaults, validate_crd, validate_crd_update};

/// The finalizer that holds a deleted CRD until its objects are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// `apiextensions.k8s.io`.
pub const GROUP: &str = "apiextensions.k8s.io";

/// The `openAPIV3Schema` of `version` in a CRD (`spec.versions[].schema`).
pub fn version_schema(crd: &serde_json::Value, version: &str) -> Option<serde_json::Value> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v["name"] == version)?
        .pointer("/schema/openAPIV3Schema")
        .cloned()
}
