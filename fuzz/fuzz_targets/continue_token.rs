//! A list's `continue` token and `resourceVersion`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = ordo_apiserver::fuzzing::continue_token(&s);
});
