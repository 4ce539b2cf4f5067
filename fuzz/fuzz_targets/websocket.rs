//! What a WebSocket exec/attach client controls beyond the framing (done by tungstenite): the
//! request's query (command, streams) and the resize channel's messages.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ordo_node::streaming::proto::{parse_resize, url_pairs, StreamOptions};

fuzz_target!(|data: &[u8]| {
    let _ = parse_resize(data);
    let s = String::from_utf8_lossy(data);
    let o = StreamOptions::parse(&s);
    let _ = StreamOptions::parse(&o.to_query());
    let _ = url_pairs(&s);
});
