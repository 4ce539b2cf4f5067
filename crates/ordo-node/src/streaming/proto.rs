//! The pieces of the `v5.channel.k8s.io` protocol: frames, the status on channel 3, resize
//! messages on channel 4, the close signal, and the query string of exec/attach requests.

use axum::extract::ws::Message;

/// Client stdin.
pub const STDIN: u8 = 0;
/// The status channel: one JSON `Status` when the stream ends.
pub const STATUS: u8 = 3;
/// Terminal resize: `{"Width":80,"Height":24}`.
pub const RESIZE: u8 = 4;
/// v5 close signal: `[255, channel]` (the client's stdin ended).
pub const CLOSE: u8 = 255;

/// One frame of the channel protocol: the channel byte, then the payload.
pub fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::Binary(v.into())
}

/// The status message on channel 3 for an exit code.
pub fn exit_status(code: i32) -> serde_json::Value {
    if code == 0 {
        success()
    } else {
        serde_json::json!({
            "metadata": {}, "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [...], exit code {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
        })
    }
}

/// The `Success` status.
pub fn success() -> serde_json::Value {
    serde_json::json!({"metadata": {}, "status": "Success"})
}

/// An `InternalError` status with `message`.
pub fn internal_error(message: &str) -> serde_json::Value {
    serde_json::json!({"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": 500})
}

/// A resize message's (width, height).
pub fn parse_resize(payload: &[u8]) -> Option<(u16, u16)> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Size {
        width: u16,
        height: u16,
    }
    let s: Size = serde_json::from_slice(payload).ok()?;
    Some((s.width, s.height))
}

/// The options of an exec or attach request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// The command to run (exec only; empty for attach).
    pub command: Vec<String>,
    /// Whether the client sends stdin.
    pub stdin: bool,
    /// Whether the client wants stdout.
    pub stdout: bool,
    /// Whether the client wants stderr.
    pub stderr: bool,
    /// Whether the process has a terminal (`-t`).
    pub tty: bool,
}

impl StreamOptions {
    /// From a raw query string (`command` repeated once per argv element).
    pub fn parse(raw: &str) -> StreamOptions {
        let pairs = url_pairs(raw);
        let flag = |k: &str| {
            pairs
                .iter()
                .any(|(a, v)| a == k && (v == "true" || v == "1"))
        };
        StreamOptions {
            command: pairs
                .iter()
                .filter(|(k, _)| k == "command")
                .map(|(_, v)| v.clone())
                .collect(),
            stdin: flag("stdin"),
            stdout: flag("stdout"),
            stderr: flag("stderr"),
            tty: flag("tty"),
        }
    }

    /// The query string of these options without the command (what an attach asks for).
    pub fn to_query(&self) -> String {
        format!(
            "stdin={}&stdout={}&stderr={}&tty={}",
            self.stdin, self.stdout, self.stderr, self.tty
        )
    }

    /// Whether output on `channel` goes to the client.
    pub fn wants(&self, channel: u8) -> bool {
        match channel {
            1 => self.stdout,
            2 => self.stderr,
            _ => false,
        }
    }
}

/// The `key=value` pairs of a query string, percent-decoded.
pub fn url_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // Bytes, not `&s[..]`: a non-ASCII character after `%` is no char boundary.
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_before_non_ascii_is_kept_not_a_panic() {
        // Found by the websocket fuzz target: `%` followed by a multi-byte character sliced
        // the string inside that character and panicked.
        let p = url_pairs("command=echo%\u{d2}0hi&stdin=true");
        assert_eq!(p[0], ("command".to_string(), "echo%\u{d2}0hi".to_string()));
        assert_eq!(p[1], ("stdin".to_string(), "true".to_string()));
    }

    #[test]
    fn query_decoding() {
        let p = url_pairs("command=nslookup&command=web-0.nginx&stdout=true&x=a%20b+c");
        assert_eq!(p[0], ("command".into(), "nslookup".into()));
        assert_eq!(p[1].1, "web-0.nginx");
        assert_eq!(p[3].1, "a b c");
    }

    #[test]
    fn options() {
        let o = StreamOptions::parse("container=t&stderr=true&stdin=true&stdout=true&tty=false");
        assert!(o.stdin && o.stdout && o.stderr && !o.tty);
        assert!(o.command.is_empty());
        assert!(o.wants(1) && o.wants(2) && !o.wants(3));
        let t = StreamOptions::parse(
            "command=sh&command=-c&command=tty&stdin=true&stdout=true&tty=true",
        );
        assert_eq!(t.command, ["sh", "-c", "tty"]);
        assert!(t.tty && !t.stderr && !t.wants(2));
        let back = StreamOptions::parse(&o.to_query());
        assert_eq!(back, o);
    }

    #[test]
    fn exit_status_shapes() {
        assert_eq!(exit_status(0)["status"], "Success");
        let f = exit_status(3);
        assert_eq!(f["reason"], "NonZeroExitCode");
        assert_eq!(f["details"]["causes"][0]["message"], "3");
    }

    #[test]
    fn resize_messages() {
        assert_eq!(
            parse_resize(b"{\"Width\":80,\"Height\":24}\n"),
            Some((80, 24))
        );
        assert_eq!(parse_resize(b"{\"Width\":0,\"Height\":0}"), Some((0, 0)));
        assert_eq!(parse_resize(b"nonsense"), None);
    }

    #[test]
    fn frames_start_with_their_channel() {
        let Message::Binary(b) = frame(STATUS, b"{}") else {
            panic!("binary frames")
        };
        assert_eq!(&b[..], b"\x03{}");
    }
}
