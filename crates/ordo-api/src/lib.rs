//! Kubernetes API semantics for ordo, free of I/O: the resource registry, defaulting,
//! validation, patches, selectors, Table printers and `Status` errors.

pub use k8s_openapi;

pub mod conversion;
pub mod crd;
pub mod cron;
pub mod defaults;
pub mod duration;
pub mod host_ports;
pub mod limit_range;
pub mod openapi;
pub mod patch;
pub mod printers;
pub mod quantity;
pub mod quota;
pub mod resources;
pub mod selector;
pub mod status;
pub mod taints;
pub mod validation;
