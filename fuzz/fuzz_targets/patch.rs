//! PATCH bodies (JSON patch, merge patch, strategic merge patch, apply YAML) applied to an
//! object and decoded as the API server's handler does. Input: resource byte, media type byte,
//! then the original object (JSON), a NUL byte, the patch body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let [r, ct, rest @ ..] = data else { return };
    let info = ordo_apiserver::fuzzing::resource(*r as usize);
    let ct = [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ][*ct as usize % 4];
    let (orig, body) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&b"{}"[..], rest),
    };
    let Ok(original) = serde_json::from_slice::<Value>(orig) else {
        return;
    };
    let _ = ordo_apiserver::fuzzing::patch(info, ct, &original, body);
});
