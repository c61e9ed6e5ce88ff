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
mod sha;
mod source;

pub use apply::{Apply, ApplyOptions, SourceCheck, apply_patch, read_header};
pub use classic::{apply_bsdiff, export_bsdiff, import_bsdiff};
pub use diff::{DiffOptions, ModeChoice, diff, diff_with};
pub use error::{Error, Result};
pub use format::{
    CURSOR_LEN, Codec, Cursor, FRAME_HEADER_LEN, HEADER_LEN, Header, MAGIC, Mode, VERSION,
};
pub use limits::Limits;
pub use source::{FileSource, Source};
