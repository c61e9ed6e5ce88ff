#![cfg_attr(feature = "std", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "std"),
    doc = "Binary delta patches for OTA updates (`no_std` build: the MCU apply only; see README.md)."
)]
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
mod apply;
#[cfg(feature = "std")]
mod classic;
#[cfg(feature = "std")]
mod codec;
#[cfg(feature = "std")]
mod diff;
mod error;
mod format;
#[cfg(feature = "std")]
mod frame;
mod inflate;
mod limits;
mod mcu;
mod recon;
#[cfg(feature = "std")]
mod scan;
mod sha;
#[cfg(feature = "std")]
mod source;
#[cfg(feature = "std")]
mod split;

#[cfg(feature = "std")]
pub use apply::{Apply, ApplyOptions, apply_patch, read_header};
#[cfg(feature = "std")]
pub use classic::{apply_bsdiff, apply_bsdiff_to, export_bsdiff, import_bsdiff};
#[cfg(feature = "std")]
pub use diff::{DiffOptions, ModeChoice, Profile, diff, diff_with};
pub use error::{Error, Result};
pub use format::{
    CURSOR_LEN, Codec, Cursor, FRAME_HEADER_LEN, HEADER_LEN, Header, MAGIC, Mode, VERSION,
};
pub use limits::Limits;
pub use mcu::{
    Fed, MCU_INPLACE_MARGIN, MCU_MAX_RAW, McuApply, McuOptions, McuStorage, SourceCheck,
    mcu_frame_buf_len,
};
#[cfg(feature = "std")]
pub use source::{FileSource, Source};

/// Internals exposed only for the codec measurement in `examples/dump_frames.rs`; not part of
/// the API, may change at any time.
#[cfg(feature = "std")]
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
