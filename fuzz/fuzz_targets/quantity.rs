//! Resource quantities (`500m`, `1Gi`, `1e3`), parsed, canonicalized and added.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ordo_api::quantity::{self, Quantity};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = quantity::value(s);
    let _ = quantity::milli(s);
    let _ = quantity::canonical(s);
    if let Some(q) = Quantity::parse(s) {
        let _ = q.canonical();
        let _ = q.add(&q).canonical();
        let _ = q.sub(&Quantity::from_int(1)).canonical();
    }
    if let Ok(v) = serde_json::from_slice(data) {
        let _ = quantity::parse_json(&v);
    }
});
