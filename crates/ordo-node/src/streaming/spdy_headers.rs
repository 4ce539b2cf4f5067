//! SPDY/3 header blocks, read: one zlib stream per connection and direction, primed with the
//! SPDY/3 dictionary (draft 3, section 2.6.10.1), carries the name/value blocks of every
//! SYN_STREAM. Exec and attach tell their streams apart by order and never read them; port
//! forwarding needs each stream's `streamType`, `port` and `requestID`.

/// The words of the SPDY/3 dictionary, each stored with a 4-byte big-endian length.
const WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// The dictionary's tail, stored as is after the words.
const TAIL: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request",
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented",
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,",
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=",
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
);

/// The SPDY/3 header compression dictionary (1423 bytes).
pub fn dictionary() -> Vec<u8> {
    let mut d = Vec::with_capacity(1423);
    for w in WORDS {
        d.extend_from_slice(&(w.len() as u32).to_be_bytes());
        d.extend_from_slice(w.as_bytes());
    }
    d.extend_from_slice(TAIL.as_bytes());
    d
}

/// Most bytes a decompressed header block may have: Go's `http.DefaultMaxHeaderBytes` (1 MiB),
/// the limit on the request headers of the connection's upgrade. Without it, a 16 MiB frame of
/// compressed zeros inflated to gigabytes.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// The receiving side of a connection's header compression.
pub struct HeaderDecoder {
    z: flate2::Decompress,
}

impl Default for HeaderDecoder {
    fn default() -> Self {
        HeaderDecoder {
            z: flate2::Decompress::new(true),
        }
    }
}

impl HeaderDecoder {
    /// Decompresses one header block and returns its (lowercase name, value) pairs; a value
    /// holding several NUL-separated values is returned as is.
    pub fn decode(&mut self, block: &[u8]) -> anyhow::Result<Vec<(String, String)>> {
        let mut out: Vec<u8> = Vec::with_capacity((block.len() * 4 + 256).min(MAX_HEADER_BYTES));
        let mut input = block;
        loop {
            anyhow::ensure!(
                out.len() <= MAX_HEADER_BYTES,
                "SPDY header block larger than {MAX_HEADER_BYTES} bytes"
            );
            if out.capacity() - out.len() < 1024 {
                out.reserve(4096);
            }
            let (in_before, out_before) = (self.z.total_in(), out.len());
            let r = self
                .z
                .decompress_vec(input, &mut out, flate2::FlushDecompress::Sync);
            input = &input[(self.z.total_in() - in_before) as usize..];
            match r {
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.z
                        .set_dictionary(&dictionary())
                        .map_err(|e| anyhow::anyhow!("SPDY header dictionary: {e}"))?;
                    continue;
                }
                Err(e) => anyhow::bail!("SPDY header block: {e}"),
            }
            let stalled = out.len() == out_before && self.z.total_in() == in_before;
            if (input.is_empty() && out.len() < out.capacity()) || stalled {
                break;
            }
        }
        parse_block(&out)
    }
}

/// The pairs of a decompressed name/value block.
fn parse_block(b: &[u8]) -> anyhow::Result<Vec<(String, String)>> {
    let mut at = 0usize;
    let count = u32::from_be_bytes(take(b, &mut at, 4)?.try_into()?) as usize;
    let mut pairs = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let mut field = || -> anyhow::Result<String> {
            let len = u32::from_be_bytes(take(b, &mut at, 4)?.try_into()?) as usize;
            Ok(String::from_utf8_lossy(take(b, &mut at, len)?).into_owned())
        };
        let name = field()?.to_ascii_lowercase();
        let value = field()?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// The next `n` bytes of `b` from `at`, which moves past them.
fn take<'a>(b: &'a [u8], at: &mut usize, n: usize) -> anyhow::Result<&'a [u8]> {
    let v = b
        .get(*at..*at + n)
        .ok_or_else(|| anyhow::anyhow!("truncated SPDY header block"))?;
    *at += n;
    Ok(v)
}

/// The value of header `name` (lowercase) among `pairs`.
pub fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name/value block as client-go's framer writes it.
    fn block(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut b = (pairs.len() as u32).to_be_bytes().to_vec();
        for (n, v) in pairs {
            for s in [n, v] {
                b.extend_from_slice(&(s.len() as u32).to_be_bytes());
                b.extend_from_slice(s.as_bytes());
            }
        }
        b
    }

    #[test]
    fn the_dictionary_has_its_size() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert!(d.starts_with(b"\0\0\0\x07options\0\0\0\x04head"));
        assert!(d.ends_with(b"utf-,*,enq=0."));
    }

    #[test]
    fn blocks_compressed_with_the_dictionary_decode_in_sequence() {
        // Like Go's zlib.NewWriterLevelDict: one stream, flushed after each block.
        let mut z = flate2::Compress::new(flate2::Compression::best(), true);
        z.set_dictionary(&dictionary()).unwrap();
        let mut dec = HeaderDecoder::default();
        for (i, kind) in ["error", "data", "error"].iter().enumerate() {
            let id = i.to_string();
            let plain = block(&[("streamtype", kind), ("port", "80"), ("requestid", &id)]);
            let mut out = Vec::with_capacity(plain.len() + 128);
            z.compress_vec(&plain, &mut out, flate2::FlushCompress::Sync)
                .unwrap();
            let pairs = dec.decode(&out).unwrap();
            assert_eq!(get(&pairs, "streamtype"), Some(*kind));
            assert_eq!(get(&pairs, "port"), Some("80"));
            assert_eq!(get(&pairs, "requestid"), Some(id.as_str()));
        }
    }

    #[test]
    fn inflating_header_blocks_are_bounded() {
        // 64 MiB of zeros compress to about 64 kB.
        let mut z = flate2::Compress::new(flate2::Compression::best(), true);
        let zeros = vec![0u8; 64 << 20];
        let mut out = Vec::with_capacity(1 << 20);
        z.compress_vec(&zeros, &mut out, flate2::FlushCompress::Sync)
            .unwrap();
        assert!(out.len() < 1 << 20);
        let e = HeaderDecoder::default().decode(&out).unwrap_err();
        assert_eq!(e.to_string(), "SPDY header block larger than 1048576 bytes");
    }

    #[test]
    fn truncated_blocks_are_errors() {
        assert!(parse_block(&[0, 0, 0, 1, 0, 0, 0, 9, b'a']).is_err());
        assert!(parse_block(&[]).is_err());
    }
}
