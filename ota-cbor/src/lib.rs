#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod config;
mod error;
mod float;
mod item;
mod reader;
#[cfg(feature = "alloc")]
mod value;
mod writer;

pub use config::{Config, Floats, KeyOrder, Tags};
pub use error::{
    Error, ErrorKind, KEY_TEXT_CAPACITY, KeyText, PATH_CAPACITY, Path, Result, Segment,
};
pub use item::{Item, Key, Major};
pub use reader::{Keys, Reader, validate};
#[cfg(feature = "alloc")]
pub use value::{Value, decode};
pub use writer::{
    CountSink, Sink, SliceSink, cmp_int_keys, cmp_text_keys, write_array, write_bool, write_bytes,
    write_float, write_head, write_int, write_map, write_null, write_tag, write_text, write_uint,
};
