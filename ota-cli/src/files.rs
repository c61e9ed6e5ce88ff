//! Reading inputs with errors that name the file, and writing outputs atomically.
//!
//! Every input is read through a [`Limit`]: the most bytes that kind of input may have. The limit
//! is checked while reading (at most `limit + 1` bytes are ever read), never after, so an endless
//! input (`/dev/zero`, a FIFO, `/dev/stdin`) fails as soon as it passes the limit, and the error
//! names the limit.

use crate::fail::{CmdResult, Fail};
use std::fmt;
use std::io::{BufRead, Read, Write};
use std::path::Path;

/// What an input is and the most bytes it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The kind of input, for messages: "a manifest", "a PEM key"...
    pub what: &'static str,
    /// The most bytes accepted.
    pub bytes: u64,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the {} limit of {}", human(self.bytes), self.what)
    }
}

/// `65536 bytes (64 KiB)`: exact bytes, and the round figure people remember.
fn human(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    let unit = if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!(" ({} GiB)", bytes / GIB)
    } else if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!(" ({} MiB)", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!(" ({} KiB)", bytes / KIB)
    } else {
        String::new()
    };
    format!("{bytes}-byte{unit}")
}

/// A PEM key (PKCS#8 private or SPKI public). An Ed25519 key is about 120 bytes of PEM.
pub const KEY: Limit = Limit {
    what: "a PEM key",
    bytes: 16 * 1024,
};

/// A trust root, signed or unsigned, and its JSON description. The largest possible root
/// (16 keys, 8 roles, 16 signatures) is under 4 KiB.
pub const ROOT: Limit = Limit {
    what: "a trust root",
    bytes: 64 * 1024,
};

/// A manifest in any form the commands take: canonical CBOR (at most 64 KiB, the decoder's own
/// limit), JSON (at most 256 KiB) or a COSE envelope holding the CBOR. The largest is JSON.
pub const MANIFEST: Limit = Limit {
    what: "a manifest (64 KiB of CBOR, 256 KiB of JSON)",
    bytes: 256 * 1024,
};

/// The JSON description of a release for `ota manifest build` (a manifest's JSON form).
pub const RELEASE_SPEC: Limit = Limit {
    what: "a release description (a manifest's JSON form)",
    bytes: 256 * 1024,
};

/// What a device reports, for `ota plan` (64 components of about 150 bytes each fit in 10 KiB).
pub const DEVICE_STATE: Limit = Limit {
    what: "a device description",
    bytes: 64 * 1024,
};

/// A file signed by `ota sign` (usually a manifest) or the detached payload given to
/// `ota verify --payload`. Ed25519 signs the whole message at once, so it is held in memory
/// (with the envelope and the signed structure, about 3.5 times the payload: 30 MiB peak at this limit, measured).
pub const PAYLOAD: Limit = Limit {
    what: "a signed payload",
    bytes: 8 * 1024 * 1024,
};

/// A COSE envelope: a [`PAYLOAD`] and up to 16 signatures with their headers.
pub const ENVELOPE: Limit = Limit {
    what: "a signed envelope",
    bytes: PAYLOAD.bytes + 64 * 1024,
};

/// A twin document, JSON Patch or Merge Patch: the largest request of the Azure profile
/// (`ota_twin::Limits::azure().input_bytes`). Parsed JSON takes up to ten times its text and a
/// diff of two arrays of small values about sixty times (32 MiB peak at this limit, measured),
/// so a larger limit would break the 64 MiB bound on every command.
pub const TWIN_DOCUMENT: Limit = Limit {
    what: "a twin document",
    bytes: 256 * 1024,
};

/// A rollout plan (the rollout library's own default limit).
// For `rollout assign` (its streaming rewrite is on another branch); the test below keeps it in
// step with the library meanwhile.
#[allow(dead_code)]
pub const ROLLOUT_PLAN: Limit = Limit {
    what: "a rollout plan",
    bytes: 1024 * 1024,
};

/// One line of a device list (an id of at most 256 bytes and its attributes).
#[allow(dead_code)] // for `rollout assign`, with `read_line_limited`
pub const DEVICE_LINE: Limit = Limit {
    what: "a device line",
    bytes: 64 * 1024,
};

/// Whole files that commands hold in memory by design (`delta make` holds both images). Images
/// that are streamed are not subject to any limit.
pub const WHOLE_FILE: Limit = Limit {
    what: "a file read whole",
    bytes: 1 << 30,
};

/// The error for an input over its limit.
pub fn too_large(path: &Path, limit: Limit) -> Fail {
    Fail::in_file(path, format!("input is over {limit}"))
}

/// Reads all of `reader`, at most `limit.bytes`: reading stops at `limit.bytes + 1` and that is
/// an error naming the limit. `size_hint` (a regular file's length) only sizes the buffer.
pub fn read_bounded(
    reader: impl Read,
    path: &Path,
    limit: Limit,
    size_hint: Option<u64>,
) -> CmdResult<Vec<u8>> {
    let capacity = size_hint.map_or(8 * 1024, |n| n.min(limit.bytes).saturating_add(1));
    let mut buf = Vec::with_capacity(usize::try_from(capacity).unwrap_or(8 * 1024));
    reader
        .take(limit.bytes.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| Fail::in_file(path, e))?;
    if buf.len() as u64 > limit.bytes {
        return Err(too_large(path, limit));
    }
    Ok(buf)
}

/// Reads a whole file of at most `limit.bytes`. A regular file over the limit is refused before
/// reading; anything else (a FIFO, a device, `/dev/stdin`) is refused once it passes the limit.
pub fn read_limited(path: &Path, limit: Limit) -> CmdResult<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Fail::in_file(path, e))?;
    let meta = file.metadata().map_err(|e| Fail::in_file(path, e))?;
    let size_hint = meta.is_file().then_some(meta.len());
    if size_hint.is_some_and(|n| n > limit.bytes) {
        return Err(too_large(path, limit));
    }
    read_bounded(file, path, limit, size_hint)
}

/// Reads a whole file of at most [`WHOLE_FILE`] bytes (for callers that need a file whole and
/// have no smaller limit; prefer [`read_limited`] with the input's own limit).
pub fn read(path: &Path) -> CmdResult<Vec<u8>> {
    read_limited(path, WHOLE_FILE)
}

/// Reads a whole file of at most `limit.bytes` as UTF-8 text.
pub fn read_text_limited(path: &Path, limit: Limit) -> CmdResult<String> {
    String::from_utf8(read_limited(path, limit)?).map_err(|e| {
        Fail::in_file(
            path,
            format!(
                "not UTF-8 text (byte offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Reads and parses a JSON file of at most `limit.bytes`; parse errors name the file, line and
/// column.
pub fn read_json_limited<T: serde::de::DeserializeOwned>(
    path: &Path,
    limit: Limit,
) -> CmdResult<T> {
    let bytes = read_limited(path, limit)?;
    serde_json::from_slice(&bytes).map_err(|e| Fail::in_file(path, e))
}

/// Reads one line (without its `\n`) of at most `limit.bytes` into `line`, for inputs read line
/// by line (device lists). Returns false at the end of the input. A longer line is an error
/// naming the line number and the limit, raised as soon as the line passes the limit: an endless
/// line costs at most `limit.bytes` of memory.
#[allow(dead_code)] // for `rollout assign`'s streaming of the device list (another branch)
pub fn read_line_limited(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    path: &Path,
    line_number: u64,
    limit: Limit,
) -> CmdResult<bool> {
    line.clear();
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Fail::in_file(path, e)),
        };
        if available.is_empty() {
            return Ok(any);
        }
        any = true;
        let (take, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        if (line.len() + take) as u64 > limit.bytes {
            return Err(Fail::in_file(
                path,
                format!("line {line_number} is over {limit}"),
            ));
        }
        line.extend_from_slice(&available[..take]);
        reader.consume(if done { take + 1 } else { take });
        if done {
            return Ok(true);
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed to disk, then
/// renamed over `path`. An interrupted command never leaves a half-written file under the final
/// name; on error the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CmdResult {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the content produced by `fill` writing into the temporary file.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> CmdResult {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ota-tmp-")
        .tempfile_in(dir)
        .map_err(|e| Fail::in_file(path, format!("cannot create a temporary file: {e}")))?;
    fill(tmp.as_file_mut()).map_err(|e| Fail::in_file(path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Fail::in_file(path, e))?;
    tmp.persist(path)
        .map_err(|e| Fail::in_file(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_and_failed_fill_leaves_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"first").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        let r = write_atomic_with(&path, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn read_errors_name_the_file() {
        let err = read(Path::new("/nonexistent/ota-input.json")).unwrap_err();
        assert!(err.message().contains("/nonexistent/ota-input.json"));
        assert_eq!(err.kind(), "input");
    }

    const TEN: Limit = Limit {
        what: "a test input",
        bytes: 10,
    };

    /// A reader that never ends and counts what was taken from it.
    struct Endless {
        served: u64,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'x');
            self.served += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[test]
    fn bounded_read_stops_one_byte_past_the_limit_of_an_endless_reader() {
        let mut endless = Endless { served: 0 };
        let err = read_bounded(&mut endless, Path::new("in"), TEN, None).unwrap_err();
        assert_eq!(
            err.message(),
            "in: input is over the 10-byte limit of a test input"
        );
        assert_eq!(endless.served, 11);
        assert_eq!(
            read_bounded(&b"0123456789"[..], Path::new("in"), TEN, None).unwrap(),
            b"0123456789"
        );
    }

    #[test]
    fn regular_files_over_the_limit_are_refused_and_at_the_limit_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [7u8; 11]).unwrap();
        let err = read_limited(&path, TEN).unwrap_err();
        assert!(err.message().contains("10-byte limit of a test input"));
        std::fs::write(&path, [7u8; 10]).unwrap();
        assert_eq!(read_limited(&path, TEN).unwrap(), [7u8; 10]);
    }

    #[test]
    fn limits_print_exact_bytes_and_the_round_figure() {
        assert_eq!(
            MANIFEST.to_string(),
            "the 262144-byte (256 KiB) limit of a manifest (64 KiB of CBOR, 256 KiB of JSON)"
        );
        assert_eq!(human(3 * 1024 * 1024), "3145728-byte (3 MiB)");
        assert_eq!(human(1 << 30), "1073741824-byte (1 GiB)");
        assert_eq!(human(1000), "1000-byte");
    }

    /// The limits that mirror a library's own stay in step with it.
    #[test]
    fn limits_match_the_libraries() {
        let m = ota_manifest::Limits::default();
        assert_eq!(MANIFEST.bytes, m.max_json_bytes as u64);
        assert!(MANIFEST.bytes >= m.max_cbor_bytes as u64 + 16 * 1024);
        assert_eq!(
            ROLLOUT_PLAN.bytes,
            ota_rollout::Limits::default().max_bytes as u64
        );
        assert_eq!(
            TWIN_DOCUMENT.bytes,
            ota_twin::Limits::azure().input_bytes as u64
        );
    }

    #[test]
    fn lines_are_bounded_and_numbered() {
        let mut input = std::io::BufReader::with_capacity(4, &b"abc\n0123456789\n\nlast"[..]);
        let mut line = Vec::new();
        let p = Path::new("devices");
        assert!(read_line_limited(&mut input, &mut line, p, 1, TEN).unwrap());
        assert_eq!(line, b"abc");
        assert!(read_line_limited(&mut input, &mut line, p, 2, TEN).unwrap());
        assert_eq!(line, b"0123456789");
        assert!(read_line_limited(&mut input, &mut line, p, 3, TEN).unwrap());
        assert_eq!(line, b"");
        assert!(read_line_limited(&mut input, &mut line, p, 4, TEN).unwrap());
        assert_eq!(line, b"last");
        assert!(!read_line_limited(&mut input, &mut line, p, 5, TEN).unwrap());

        let mut endless = std::io::BufReader::new(Endless { served: 0 });
        let err = read_line_limited(&mut endless, &mut line, p, 7, TEN).unwrap_err();
        assert_eq!(
            err.message(),
            "devices: line 7 is over the 10-byte limit of a test input"
        );
        assert!(line.len() <= 10);
    }
}
