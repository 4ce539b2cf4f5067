//! `GET /containerLogs/{ns}/{pod}/{container}`: a container's log as `kubectl logs` shows it.
//! The file holds CRI records ([`crate::crilog`]); they are joined back into lines, filtered
//! by `sinceSeconds`/`sinceTime`, cut to the last `tailLines`, prefixed with their time if
//! `timestamps`, and cut to `limitBytes`. With `follow` the file is polled for new records
//! until the container instance that writes it exits (what it wrote last included, as the
//! kubelet ends a follow), the client goes away or the file does (the pod was removed).

use super::{authorized, status_error, Shared};
use crate::crilog::{self, Decoder, LogLine};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// How often a follow looks for new records.
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// The query of a logs request (the kubelet's `PodLogOptions`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogOptions {
    /// Show the last terminated instance's log instead of the current one's.
    pub previous: bool,
    /// Keep polling for new lines until the instance writing the log exits.
    pub follow: bool,
    /// Put each line's RFC3339Nano time before it.
    pub timestamps: bool,
    /// Lines older than this are left out (`sinceSeconds` or `sinceTime`).
    pub since: Option<DateTime<Utc>>,
    /// Show only this many of the last lines (`tailLines`).
    pub tail: Option<usize>,
    /// Stop after this many bytes (`limitBytes`).
    pub limit: Option<usize>,
}

impl LogOptions {
    /// Reads the query; `now` is what `sinceSeconds` counts back from.
    pub fn parse(q: &HashMap<String, String>, now: DateTime<Utc>) -> Result<LogOptions, String> {
        let flag = |k: &str| q.get(k).is_some_and(|v| v == "true");
        let number = |k: &str| -> Result<Option<usize>, String> {
            q.get(k)
                .map(|v| v.parse().map_err(|_| format!("invalid {k}: {v:?}")))
                .transpose()
        };
        let since = match (q.get("sinceSeconds"), q.get("sinceTime")) {
            (Some(s), _) => {
                let secs: i64 = s
                    .parse()
                    .map_err(|_| format!("invalid sinceSeconds: {s:?}"))?;
                Some(now - chrono::Duration::seconds(secs))
            }
            (None, Some(t)) => Some(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|e| format!("invalid sinceTime {t:?}: {e}"))?
                    .with_timezone(&Utc),
            ),
            (None, None) => None,
        };
        Ok(LogOptions {
            previous: flag("previous"),
            follow: flag("follow"),
            timestamps: flag("timestamps"),
            since,
            tail: number("tailLines")?,
            limit: number("limitBytes")?,
        })
    }

    /// Whether a line is recent enough (a raw line has no time and always is).
    fn keeps(&self, l: &LogLine) -> bool {
        match (self.since, l.time) {
            (Some(since), Some(t)) => t >= since,
            _ => true,
        }
    }

    /// The lines shown of those in a file: since the start time, the last `tail` of them.
    pub fn select(&self, lines: Vec<LogLine>) -> Vec<LogLine> {
        let mut lines: Vec<LogLine> = lines.into_iter().filter(|l| self.keeps(l)).collect();
        if let Some(n) = self.tail {
            lines.drain(..lines.len().saturating_sub(n));
        }
        lines
    }
}

/// Renders `lines`, cut to what is left of the byte limit (`left`, lowered by what is sent).
pub fn render(lines: &[LogLine], timestamps: bool, left: &mut Option<usize>) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        l.render(timestamps, &mut out);
    }
    if let Some(n) = left {
        out.truncate(*n);
        *n -= out.len();
    }
    out
}

pub(super) async fn logs(
    State(s): State<Arc<Shared>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&s, &axum::http::Method::GET, &headers).await {
        return status_error(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let opts = match LogOptions::parse(&q, Utc::now()) {
        Ok(o) => o,
        Err(e) => return status_error(StatusCode::BAD_REQUEST, "BadRequest", &e),
    };
    let (path, exit) = match s
        .target
        .log_file(&ns, &pod, &container, opts.previous)
        .await
    {
        Ok(f) => (f.path, f.exit),
        Err(e) => return status_error(StatusCode::BAD_REQUEST, "BadRequest", &e.to_string()),
    };
    // The file's inode, read before its bytes: a follow starts over when the name points to
    // another file (a restarted container's new log).
    let ino = tokio::fs::metadata(&path)
        .await
        .map(|m| m.ino())
        .unwrap_or(0);
    let data = tokio::fs::read(&path).await.unwrap_or_default();
    let text = |b: Vec<u8>| (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], b);
    let mut left = opts.limit;
    if !opts.follow {
        let lines = opts.select(crilog::lines(&data));
        return text(render(&lines, opts.timestamps, &mut left)).into_response();
    }
    // Follow: the complete records there are, then the ones appended; a line still being
    // written waits in the decoder.
    let mut dec = Decoder::default();
    let (records, used) = crilog::complete_records(&data);
    let lines: Vec<LogLine> = records.iter().filter_map(|r| dec.push(r)).collect();
    let first = render(&opts.select(lines), opts.timestamps, &mut left);
    let offset = used as u64;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        if tx.send(Ok(first.into())).await.is_err() {
            return;
        }
        let (mut offset, mut ino) = (offset, ino);
        let mut exit = exit;
        let mut exited = false;
        while left != Some(0) && !exited {
            let ended = async {
                match exit.as_mut() {
                    Some(e) => e.wait().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(FOLLOW_POLL) => {}
                _ = ended => {
                    // The log shim writes the last output after the exit: give it a moment,
                    // then read what is left once more and end.
                    exited = true;
                    tokio::time::sleep(FOLLOW_POLL * 2).await;
                }
            }
            let Ok(mut f) = tokio::fs::File::open(&path).await else {
                return;
            };
            let Ok(meta) = f.metadata().await else {
                continue;
            };
            let len = meta.len();
            if len < offset || meta.ino() != ino {
                // A new file in its place: start over.
                ino = meta.ino();
                offset = 0;
                dec = Decoder::default();
            }
            if len == offset || f.seek(std::io::SeekFrom::Start(offset)).await.is_err() {
                continue;
            }
            let mut buf = Vec::with_capacity((len - offset) as usize);
            if f.read_to_end(&mut buf).await.is_err() {
                continue;
            }
            let (records, used) = crilog::complete_records(&buf);
            offset += used as u64;
            let lines: Vec<LogLine> = records
                .iter()
                .filter_map(|r| dec.push(r))
                .filter(|l| opts.keeps(l))
                .collect();
            let out = render(&lines, opts.timestamps, &mut left);
            if !out.is_empty() && tx.send(Ok(out.into())).await.is_err() {
                return;
            }
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[u8] = b"2026-11-25T18:00:00Z stdout F one\n\
        2026-11-25T18:10:00Z stderr F two\n\
        2026-11-25T18:20:00Z stdout P thr\n\
        2026-11-25T18:20:01Z stdout F ee\n";

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn show(pairs: &[(&str, &str)], data: &[u8]) -> String {
        let now = DateTime::parse_from_rfc3339("2026-11-25T18:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let opts = LogOptions::parse(&query(pairs), now).unwrap();
        let mut left = opts.limit;
        let lines = opts.select(crilog::lines(data));
        String::from_utf8(render(&lines, opts.timestamps, &mut left)).unwrap()
    }

    #[test]
    fn plain_output_joins_partial_records() {
        assert_eq!(show(&[], LOG), "one\ntwo\nthree\n");
    }

    #[test]
    fn since_tail_limit_and_timestamps() {
        assert_eq!(show(&[("sinceSeconds", "1500")], LOG), "two\nthree\n");
        assert_eq!(
            show(&[("sinceTime", "2026-11-25T18:15:00Z")], LOG),
            "three\n"
        );
        assert_eq!(show(&[("sinceTime", "2027-01-01T00:00:00Z")], LOG), "");
        assert_eq!(show(&[("tailLines", "2")], LOG), "two\nthree\n");
        assert_eq!(show(&[("tailLines", "0")], LOG), "");
        assert_eq!(show(&[("limitBytes", "6")], LOG), "one\ntw");
        assert_eq!(
            show(&[("timestamps", "true"), ("tailLines", "1")], LOG),
            "2026-11-25T18:20:00.000000000Z three\n"
        );
    }

    #[test]
    fn raw_files_show_as_they_are() {
        let raw = b"plain\nold output\nno newline";
        assert_eq!(show(&[], raw), "plain\nold output\nno newline\n");
        assert_eq!(
            show(&[("timestamps", "true"), ("tailLines", "1")], raw),
            "no newline\n"
        );
        assert_eq!(
            show(&[("sinceSeconds", "10")], raw),
            "plain\nold output\nno newline\n"
        );
    }

    #[test]
    fn bad_options_are_refused() {
        let now = Utc::now();
        assert!(LogOptions::parse(&query(&[("sinceTime", "yesterday")]), now).is_err());
        assert!(LogOptions::parse(&query(&[("tailLines", "x")]), now).is_err());
    }
}
