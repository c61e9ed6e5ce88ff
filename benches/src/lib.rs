//! Shared helpers for the ota benchmarks and comparison runners.

use std::path::PathBuf;

/// The delta corpus folder (`../shared/corpus/data` beside the repository), if it is there.
///
/// `OTA_CORPUS` overrides the location.
pub fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("OTA_CORPUS") {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = here.parent()?.parent()?.join("shared/corpus/data");
    dir.is_dir().then_some(dir)
}
