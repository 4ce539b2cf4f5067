//! Container log files in the CRI format the kubelet reads: one record per line,
//! `<RFC3339Nano time> <stdout|stderr> <F|P> <content>`. `F` ends a line; `P` is a part of one
//! (a line longer than [`MAX_LINE`], or output without a trailing newline when the stream
//! ended), continued by the next record of the same stream.
//!
//! [`CriWriter`] turns a container's output into records (the log shim and `stdin`/`tty`
//! containers use it); [`Decoder`] turns records back into lines for `kubectl logs` and
//! `attach`. Files written before ordo wrote this format hold raw output: a line without a
//! record's prefix is read as a whole stdout line without a time.

use chrono::{DateTime, SecondsFormat, Utc};
use std::io::Write;

/// The longest content of one record; longer lines are split into `P` records (containerd's
/// default `max_container_log_line_size`).
pub const MAX_LINE: usize = 16 * 1024;

/// Which output stream a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The container's standard output.
    Stdout,
    /// The container's standard error.
    Stderr,
}

impl Stream {
    /// The name in a record.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A record's time as written: RFC3339 in UTC with nanoseconds.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Writes CRI records to a file. Each stream's unfinished line waits in a buffer until its
/// newline, [`MAX_LINE`] bytes, or [`CriWriter::finish`].
pub struct CriWriter<W: Write> {
    out: W,
    pending: [Vec<u8>; 2],
}

impl<W: Write> CriWriter<W> {
    /// A writer of records to `out`, with nothing pending.
    pub fn new(out: W) -> CriWriter<W> {
        CriWriter {
            out,
            pending: [Vec::new(), Vec::new()],
        }
    }

    /// Adds output of `stream`: every completed line becomes an `F` record (stamped now),
    /// without its `\r\n` or `\n` (a terminal ends lines with `\r\n`; containerd strips both).
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let buf = &mut self.pending[stream.index()];
            match data.iter().position(|b| *b == b'\n') {
                Some(i) if buf.len() + i <= MAX_LINE => {
                    buf.extend_from_slice(&data[..i]);
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                    data = &data[i + 1..];
                    self.flush_line(stream, false)?;
                }
                _ => {
                    let room = MAX_LINE - buf.len();
                    let n = room.min(data.len());
                    buf.extend_from_slice(&data[..n]);
                    data = &data[n..];
                    if buf.len() >= MAX_LINE {
                        self.flush_line(stream, true)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The stream ended: what is left of its last line becomes a `P` record.
    pub fn finish(&mut self, stream: Stream) -> std::io::Result<()> {
        if self.pending[stream.index()].is_empty() {
            return Ok(());
        }
        self.flush_line(stream, true)
    }

    /// Writes the pending content of `stream` as one record (`partial`: a `P` record).
    fn flush_line(&mut self, stream: Stream, partial: bool) -> std::io::Result<()> {
        let content = std::mem::take(&mut self.pending[stream.index()]);
        let mut rec = Vec::with_capacity(content.len() + 48);
        rec.extend_from_slice(format_time(Utc::now()).as_bytes());
        rec.push(b' ');
        rec.extend_from_slice(stream.name().as_bytes());
        rec.extend_from_slice(if partial { b" P " } else { b" F " });
        rec.extend_from_slice(&content);
        rec.push(b'\n');
        // One write per record, so that writers sharing the file never interleave.
        self.out.write_all(&rec)
    }
}

/// One record of a log file (a line without its newline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// None for a raw line (a file written before the CRI format).
    pub time: Option<DateTime<Utc>>,
    /// The stream the record came from (stdout for a raw line).
    pub stream: Stream,
    /// A `P` record: the line goes on in the stream's next record.
    pub partial: bool,
    /// The content after the prefix (the whole line for a raw one).
    pub content: &'a [u8],
}

impl<'a> Record<'a> {
    /// Parses a line; a line without a valid prefix is a raw, complete stdout line.
    pub fn parse(line: &'a [u8]) -> Record<'a> {
        Record::parse_cri(line).unwrap_or(Record {
            time: None,
            stream: Stream::Stdout,
            partial: false,
            content: line,
        })
    }

    fn parse_cri(line: &'a [u8]) -> Option<Record<'a>> {
        let mut parts = line.splitn(4, |b| *b == b' ');
        let time = std::str::from_utf8(parts.next()?).ok()?;
        let time = DateTime::parse_from_rfc3339(time).ok()?.with_timezone(&Utc);
        let stream = match parts.next()? {
            b"stdout" => Stream::Stdout,
            b"stderr" => Stream::Stderr,
            _ => return None,
        };
        let partial = match parts.next()? {
            b"F" => false,
            b"P" => true,
            _ => return None,
        };
        Some(Record {
            time: Some(time),
            stream,
            partial,
            content: parts.next().unwrap_or_default(),
        })
    }

    /// The output this record stands for: its content, plus the newline of an `F` record.
    pub fn output(&self) -> Vec<u8> {
        let mut out = self.content.to_vec();
        if !self.partial {
            out.push(b'\n');
        }
        out
    }
}

/// The complete records at the start of `data` (up to its last newline) and how many bytes
/// they took; the rest is a record still being written.
pub fn complete_records(data: &[u8]) -> (Vec<Record<'_>>, usize) {
    let Some(end) = data.iter().rposition(|b| *b == b'\n') else {
        return (Vec::new(), 0);
    };
    let records = data[..end]
        .split(|b| *b == b'\n')
        .map(Record::parse)
        .collect();
    (records, end + 1)
}

/// One line of output: its stream, the time of its first record and its bytes (ending in a
/// newline unless the stream ended without one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// The time of the line's first record (None for a raw line).
    pub time: Option<DateTime<Utc>>,
    /// The stream the line came from.
    pub stream: Stream,
    /// The line's bytes, ending in a newline unless the stream ended without one.
    pub text: Vec<u8>,
}

impl LogLine {
    /// The line as `kubectl logs` shows it, behind its RFC3339Nano time if `timestamps` (the
    /// kubelet's format; a raw line has no time to show).
    pub fn render(&self, timestamps: bool, out: &mut Vec<u8>) {
        if let (true, Some(t)) = (timestamps, self.time) {
            out.extend_from_slice(format_time(t).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(&self.text);
    }
}

/// Joins records into lines: a stream's `P` records wait for the record that ends the line.
#[derive(Default)]
pub struct Decoder {
    pending: [Option<LogLine>; 2],
}

impl Decoder {
    /// Takes one record; returns the line it completes, if any.
    pub fn push(&mut self, r: &Record) -> Option<LogLine> {
        let slot = &mut self.pending[r.stream.index()];
        let line = slot.get_or_insert_with(|| LogLine {
            time: r.time,
            stream: r.stream,
            text: Vec::new(),
        });
        line.text.extend_from_slice(r.content);
        if r.partial {
            return None;
        }
        line.text.push(b'\n');
        slot.take()
    }

    /// The unfinished lines (output that ended without a newline).
    pub fn finish(self) -> Vec<LogLine> {
        let [a, b] = self.pending;
        let mut out: Vec<LogLine> = a.into_iter().chain(b).collect();
        out.sort_by_key(|l| l.time);
        out
    }
}

/// Every line of a whole log file, unfinished ones last.
pub fn lines(data: &[u8]) -> Vec<LogLine> {
    let mut dec = Decoder::default();
    let mut out: Vec<LogLine> = Vec::new();
    let (records, used) = complete_records(data);
    for r in &records {
        out.extend(dec.push(r));
    }
    if used < data.len() {
        // A record being written is left for later; a raw file's last line is shown.
        let last = Record::parse(&data[used..]);
        if last.time.is_some() || records.iter().all(|r| r.time.is_none()) {
            out.extend(dec.push(&last));
        }
    }
    out.extend(dec.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut CriWriter<&mut Vec<u8>>)) -> String {
        let mut buf = Vec::new();
        f(&mut CriWriter::new(&mut buf));
        String::from_utf8(buf).unwrap()
    }

    /// The records of `text` without their times.
    fn untimed(text: &str) -> Vec<String> {
        text.lines()
            .map(|l| {
                let (t, rest) = l.split_once(' ').unwrap();
                assert!(DateTime::parse_from_rfc3339(t).is_ok(), "{t}");
                rest.to_string()
            })
            .collect()
    }

    #[test]
    fn lines_of_both_streams_become_full_records() {
        let text = written(|w| {
            w.write(Stream::Stdout, b"one\ntw").unwrap();
            w.write(Stream::Stderr, b"oops\n").unwrap();
            w.write(Stream::Stdout, b"o\n").unwrap();
            w.write(Stream::Stdout, b"tty\r\n").unwrap();
        });
        assert_eq!(
            untimed(&text),
            [
                "stdout F one",
                "stderr F oops",
                "stdout F two",
                "stdout F tty"
            ]
        );
    }

    #[test]
    fn long_lines_and_unterminated_output_become_partial_records() {
        let long = vec![b'x'; MAX_LINE + 10];
        let text = written(|w| {
            w.write(Stream::Stdout, &long).unwrap();
            w.write(Stream::Stdout, b"\nend").unwrap();
            w.finish(Stream::Stdout).unwrap();
            w.finish(Stream::Stderr).unwrap();
        });
        let recs = untimed(&text);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0], format!("stdout P {}", "x".repeat(MAX_LINE)));
        assert_eq!(recs[1], format!("stdout F {}", "x".repeat(10)));
        assert_eq!(recs[2], "stdout P end");
        // Read back: the long line is whole again, the last one has no newline.
        let got = lines(text.as_bytes());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text.len(), MAX_LINE + 11);
        assert_eq!(got[1].text, b"end");
    }

    #[test]
    fn records_parse_and_raw_lines_stay_as_they_are() {
        let r = Record::parse(b"2026-11-25T18:00:00.123456789Z stderr P a b");
        assert_eq!(r.stream, Stream::Stderr);
        assert!(r.partial);
        assert_eq!(r.content, b"a b");
        assert_eq!(
            format_time(r.time.unwrap()),
            "2026-11-25T18:00:00.123456789Z"
        );
        // Kubelet-style times without trailing zeros, and empty lines.
        let r = Record::parse(b"2026-11-25T18:00:00.5Z stdout F ");
        assert_eq!((r.content, r.partial), (&b""[..], false));
        for raw in [
            &b"hello world"[..],
            b"",
            b"2026-11-25 stdout F x",
            b"x stdout F y",
        ] {
            let r = Record::parse(raw);
            assert_eq!((r.time, r.stream, r.content), (None, Stream::Stdout, raw));
        }
    }

    #[test]
    fn timestamps_render_in_front_of_each_line() {
        let data = b"2026-11-25T18:00:00.000000001Z stdout P a\n\
                     2026-11-25T18:00:01Z stderr F err\n\
                     2026-11-25T18:00:02Z stdout F b\n\
                     raw line\n";
        let mut out = Vec::new();
        for l in lines(data) {
            l.render(true, &mut out);
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-11-25T18:00:01.000000000Z err\n\
             2026-11-25T18:00:00.000000001Z ab\n\
             raw line\n"
        );
    }

    #[test]
    fn complete_records_leave_a_record_being_written() {
        let (recs, used) = complete_records(b"2026-11-25T18:00:00Z stdout F a\n2026-11");
        assert_eq!(recs.len(), 1);
        assert_eq!(used, 32);
        assert_eq!(recs[0].output(), b"a\n");
        assert_eq!(complete_records(b"partial").1, 0);
    }
}
