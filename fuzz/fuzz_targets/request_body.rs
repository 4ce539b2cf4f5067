//! Create/update bodies (JSON, YAML, protobuf) through the API server's decode + validation path.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [r, ct, mode, body @ ..] = data else {
        return;
    };
    let info = ordo_apiserver::fuzzing::resource(*r as usize);
    let ct = [
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ][*ct as usize % 3];
    let q = [
        "fieldValidation=Strict",
        "fieldValidation=Warn",
        "fieldValidation=Ignore",
    ][*mode as usize % 3];
    let _ = ordo_apiserver::fuzzing::decode_request(info, ct, q, body);
});
