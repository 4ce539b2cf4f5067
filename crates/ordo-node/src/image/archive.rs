//! Reading image archives and unpacking layers: plain, gzip or zstd tarballs, OCI whiteouts turned
//! into overlayfs whiteouts (a 0/0 character device; `trusted.overlay.opaque` on directories).

use anyhow::Context;
use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

/// The first bytes of a gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The first bytes of a zstd frame (`0xFD2FB528`, little-endian).
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A reader over `path` that undoes gzip or zstd compression, told apart by their magic (as
/// containerd does), so an OCI `tar+zstd` layer and a docker layer compressed with zstd both
/// read as tar.
pub fn open_decompressed(path: &Path) -> anyhow::Result<Box<dyn Read>> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    decompressed(BufReader::new(f))
}

/// [`open_decompressed`] over any buffered reader.
pub fn decompressed<R: BufRead + 'static>(mut r: R) -> anyhow::Result<Box<dyn Read>> {
    let (gzip, zstd) = {
        let head = r.fill_buf()?;
        (head.starts_with(&GZIP_MAGIC), head.starts_with(&ZSTD_MAGIC))
    };
    Ok(if gzip {
        Box::new(flate2::bufread::GzDecoder::new(r))
    } else if zstd {
        Box::new(ZstdFrames::new(r))
    } else {
        Box::new(r)
    })
}

/// Every frame of a zstd stream in turn: a stream may hold several frames, and skippable frames
/// (as `zstd:chunked` layers do), which are passed over.
struct ZstdFrames<R> {
    source: R,
    decoder: FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(source: R) -> Self {
        ZstdFrames {
            source,
            decoder: FrameDecoder::new(),
            in_frame: false,
        }
    }

    /// Starts the next frame; false at the end of the stream.
    fn next_frame(&mut self) -> std::io::Result<bool> {
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.decoder.init(&mut self.source) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = std::io::copy(
                        &mut (&mut self.source).take(u64::from(length)),
                        &mut std::io::sink(),
                    )?;
                    if skipped != u64::from(length) {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if !self.next_frame()? {
                    return Ok(0);
                }
                self.in_frame = true;
            }
            while self.decoder.can_collect() == 0 && !self.decoder.is_finished() {
                self.decoder
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                    .map_err(std::io::Error::other)?;
            }
            let n = self.decoder.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.decoder.is_finished() {
                self.in_frame = false;
            }
        }
    }
}

/// Extracts an archive (plain, gzip or zstd tar) into `into`, which must exist.
pub fn extract(archive: &Path, into: &Path) -> anyhow::Result<()> {
    let mut a = tar::Archive::new(open_decompressed(archive)?);
    a.set_preserve_permissions(true);
    a.unpack(into)
        .with_context(|| format!("extracting {}", archive.display()))
}

/// Copies `src` to `dst` (a temporary name), returning the sha256 of the bytes as `sha256:<hex>`
/// and the size.
pub fn copy_hashed(src: &Path, dst: &Path) -> anyhow::Result<(String, u64)> {
    let mut input = File::open(src).with_context(|| format!("opening {}", src.display()))?;
    let mut out = File::create(dst).with_context(|| format!("creating {}", dst.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        size += n as u64;
    }
    out.sync_all()?;
    Ok((format!("sha256:{}", hex(&h.finalize())), size))
}

/// sha256 of a byte slice as `sha256:<hex>`.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(data)))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The relative path of a tar entry, refusing absolute parts and `..`.
fn clean(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Unpacks one layer blob into `dest` (created), in overlayfs form.
pub fn unpack_layer(blob: &Path, dest: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dest)?;
    let mut a = tar::Archive::new(open_decompressed(blob)?);
    a.set_preserve_permissions(true);
    a.set_preserve_ownerships(true);
    a.set_preserve_mtime(true);
    a.set_unpack_xattrs(false);
    for entry in a
        .entries()
        .with_context(|| format!("reading layer {}", blob.display()))?
    {
        let mut entry = entry?;
        let Some(rel) = clean(&entry.path()?) else {
            continue;
        };
        let Some(file_name) = rel.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        if let Some(hidden) = file_name.strip_prefix(".wh.") {
            let parent = dest.join(rel.parent().unwrap_or(Path::new("")));
            std::fs::create_dir_all(&parent)?;
            if hidden == ".wh..opq" {
                set_opaque(&parent)?;
            } else {
                let target = parent.join(hidden);
                let _ = std::fs::remove_file(&target);
                nix::sys::stat::mknod(
                    &target,
                    nix::sys::stat::SFlag::S_IFCHR,
                    nix::sys::stat::Mode::empty(),
                    0,
                )
                .with_context(|| format!("whiteout {}", target.display()))?;
            }
            continue;
        }
        entry
            .unpack_in(dest)
            .with_context(|| format!("unpacking {} from {}", rel.display(), blob.display()))?;
    }
    Ok(())
}

#[allow(unsafe_code)]
fn set_opaque(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    let name = c"trusted.overlay.opaque";
    // SAFETY: both strings are NUL-terminated and outlive the call; the value is 1 byte.
    let rc = unsafe { libc::setxattr(path.as_ptr(), name.as_ptr(), b"y".as_ptr().cast(), 1, 0) };
    anyhow::ensure!(
        rc == 0,
        "marking {} opaque: {}",
        dir.display(),
        std::io::Error::last_os_error()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_refuses_escapes() {
        assert_eq!(clean(Path::new("./bin/sh")), Some(PathBuf::from("bin/sh")));
        assert_eq!(
            clean(Path::new("/etc/passwd")),
            Some(PathBuf::from("etc/passwd"))
        );
        assert_eq!(clean(Path::new("../x")), None);
    }

    #[test]
    fn sha256_of_bytes() {
        assert_eq!(
            sha256(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
