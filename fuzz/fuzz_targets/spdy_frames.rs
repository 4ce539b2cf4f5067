//! SPDY/3 frames from a client (exec, attach, port-forward): the frame reader, the zlib header
//! blocks of SYN_STREAM frames and resize messages.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ordo_node::streaming::fuzz_spdy_frames(data);
});
