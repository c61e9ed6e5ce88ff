#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod apply;
mod classic;
mod codec;
mod diff;
mod error;
mod format;
mod frame;
mod limits;
mod scan;
mod sha;
mod source;
mod split;

pub use apply::{Apply, ApplyOptions, SourceCheck, apply_patch, read_header};
pub use classic::{apply_bsdiff, apply_bsdiff_to, export_bsdiff, import_bsdiff};
pub use diff::{DiffOptions, ModeChoice, diff, diff_with};
pub use error::{Error, Result};
pub use format::{
    CURSOR_LEN, Codec, Cursor, FRAME_HEADER_LEN, HEADER_LEN, Header, MAGIC, Mode, VERSION,
};
pub use limits::Limits;
pub use source::{FileSource, Source};

/// Internals exposed only for the codec measurement in `examples/dump_frames.rs`; not part of
/// the API, may change at any time.
#[doc(hidden)]
pub mod probe {
    /// The raw (uncompressed) content of every bsdiff-mode frame for `old` -> `new`.
    ///
    /// # Errors
    /// As [`crate::diff`].
    pub fn bsdiff_raw_frames(
        old: &[u8],
        new: &[u8],
        frame_size: usize,
    ) -> crate::Result<Vec<Vec<u8>>> {
        let ops = crate::scan::bsdiff_ops(old, new)?;
        let frames = crate::split::bsdiff_frames(old, new, &ops, frame_size.max(4096)).ok_or(
            crate::Error::InvalidField {
                field: "ops",
                offset: 0,
                reason: "do not fit the images",
            },
        )?;
        Ok(frames.into_iter().map(|f| f.0).collect())
    }
}
