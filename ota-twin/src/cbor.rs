//! Compact deterministic CBOR (RFC 8949 §4.2.1) for JSON values, twin documents and patches, on
//! `ota-cbor`'s strict reader and shortest-form writer.
//!
//! The writer follows the core deterministic encoding: shortest heads, definite lengths, map keys
//! sorted by their encoded bytes, floats in the shortest of half/single/double that keeps the
//! value. JSON integers become CBOR integers and JSON floats CBOR floats (`1.0` stays a float), so
//! a document decodes to exactly the JSON it came from. The reader refuses anything the writer
//! would not produce (non-shortest heads or floats, indefinite lengths, unsorted or duplicate
//! keys, tags, byte strings, undefined, NaN/infinity, integers outside i64/u64, trailing bytes),
//! checks every declared length against the bytes left before allocating, and has a recursion
//! limit with its own error. Why the family reads CBOR with its own code rather than cbor4ii or
//! ciborium: `ota-cbor`'s README.

mod patch;
mod twin;
mod value;

pub use value::{CBOR_MAX_DEPTH, decode_value, encode_value};
