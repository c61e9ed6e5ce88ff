//! Shared helpers for the ota benchmarks and the comparison runner (`cargo run --release -p
//! ota-benches --bin compare`): locating the corpus, timing commands and closures (medians of several
//! runs), peak RSS of a child process, and Markdown tables.

pub mod machine;
pub mod measure;
pub mod table;
pub mod twin_docs;

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

/// The published test vectors folder (`../shared/vectors` beside the repository), if it is there.
pub fn vectors_dir() -> Option<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = here.parent()?.parent()?.join("shared/vectors");
    dir.is_dir().then_some(dir)
}
