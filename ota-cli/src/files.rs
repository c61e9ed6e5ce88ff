//! Reading inputs with errors that name the file, and writing outputs atomically.

use crate::fail::{CmdResult, Fail};
use std::io::Write;
use std::path::Path;

/// The largest input file read whole into memory (manifests, keys, JSON documents, patches).
/// Images for `delta` are streamed and not subject to this.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Reads a whole file, refusing files over [`MAX_INPUT_BYTES`].
pub fn read(path: &Path) -> CmdResult<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Fail::in_file(path, e))?;
    if meta.len() > MAX_INPUT_BYTES {
        return Err(Fail::in_file(
            path,
            format!(
                "file is {} bytes, over the {MAX_INPUT_BYTES}-byte limit",
                meta.len()
            ),
        ));
    }
    std::fs::read(path).map_err(|e| Fail::in_file(path, e))
}

/// Reads a whole file as UTF-8 text.
pub fn read_text(path: &Path) -> CmdResult<String> {
    String::from_utf8(read(path)?).map_err(|e| {
        Fail::in_file(
            path,
            format!(
                "not UTF-8 text (byte offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Reads and parses a JSON file; parse errors name the file, line and column.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> CmdResult<T> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| Fail::in_file(path, e))
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
}
