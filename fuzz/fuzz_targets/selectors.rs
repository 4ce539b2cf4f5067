//! Label and field selectors (query strings and `metav1.LabelSelector` objects), matched
//! against a fixed object.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ordo_api::selector::{FieldSelector, LabelSelector};
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let labels = json!({"app": "web", "tier": "db", "a.b/c": "1"});
    if let Ok(sel) = LabelSelector::parse(&s) {
        let _ = sel.matches(&labels);
    }
    if let Ok(sel) = FieldSelector::parse(&s) {
        let _ = sel.matches(|f| (f == "metadata.name").then(|| "web-0".to_string()));
    }
    if let Ok(v) = serde_json::from_slice(data) {
        if let Ok(sel) = LabelSelector::from_label_selector(&v) {
            let _ = sel.matches(&labels);
        }
    }
});
