//! Image references from pod specs, normalized as the node agent does before a pull.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ordo_node::image::reference::{familiar, normalize, repository};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(n) = normalize(s) {
        let _ = repository(&n);
        let _ = familiar(&n);
    }
});
