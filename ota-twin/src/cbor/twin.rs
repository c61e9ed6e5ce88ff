//! The twin document as CBOR: a map with small integer keys.

use std::collections::BTreeMap;

use ota_cbor::{Item, Keys, Reader, write_map, write_text, write_uint};
use serde_json::{Map, Value};

use super::value::{
    CONFIG, cbor, invalid, read_key, read_object, sorted_keys, within, write_object,
};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::metadata::{Metadata, map_matches};
use crate::pointer::Pointer;
use crate::twin::Twin;

// The wire schema: twin document map keys.
const K_VERSION: u64 = 1;
const K_TIMESTAMP: u64 = 2;
const K_DESIRED: u64 = 3;
const K_REPORTED: u64 = 4;
const K_META_DESIRED: u64 = 5;
const K_META_REPORTED: u64 = 6;
const K_CLIENT_TOKEN: u64 = 7;

impl Twin {
    /// Compact deterministic CBOR: a map with small integer keys (1 version, 2 timestamp,
    /// 3 desired, 4 reported, 5/6 their metadata with plain integers as leaf timestamps,
    /// 7 client token). Holds the same information as [`Twin::to_json`].
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let n = 2
            + 2 * usize::from(self.desired.is_some())
            + 2 * usize::from(self.reported.is_some())
            + usize::from(self.client_token.is_some());
        write_map(&mut out, n);
        write_uint(&mut out, K_VERSION);
        write_uint(&mut out, self.version);
        write_uint(&mut out, K_TIMESTAMP);
        write_uint(&mut out, self.timestamp);
        if let Some(d) = &self.desired {
            write_uint(&mut out, K_DESIRED);
            write_object(&mut out, d);
        }
        if let Some(r) = &self.reported {
            write_uint(&mut out, K_REPORTED);
            write_object(&mut out, r);
        }
        if self.desired.is_some() {
            write_uint(&mut out, K_META_DESIRED);
            write_meta_map(&mut out, &self.meta_desired);
        }
        if self.reported.is_some() {
            write_uint(&mut out, K_META_REPORTED);
            write_meta_map(&mut out, &self.meta_reported);
        }
        if let Some(t) = &self.client_token {
            write_uint(&mut out, K_CLIENT_TOKEN);
            write_text(&mut out, t);
        }
        out
    }

    /// Decodes [`Twin::to_cbor`] output, with the same checks as [`Twin::from_json`].
    ///
    /// # Errors
    /// [`Error::Cbor`] (with the byte offset and the JSON pointer of the offending value),
    /// [`Error::CborTooDeep`], [`Error::InvalidDocument`], [`Error::LimitExceeded`],
    /// [`Error::InvalidKey`].
    pub fn from_cbor(bytes: &[u8], limits: Limits) -> Result<Twin> {
        limits.check_input(bytes.len())?;
        let depth = limits.max_depth;
        let mut r = Reader::new(bytes, CONFIG);
        let n = r.map().map_err(cbor)?;
        let mut twin = Twin::new(limits);
        let mut last_key = 0u64;
        let mut seen_version = false;
        let mut seen_timestamp = false;
        let mut meta_d = None;
        let mut meta_r = None;
        for _ in 0..n {
            let at = r.offset();
            let key = r.uint().map_err(cbor)?;
            if key <= last_key {
                return Err(invalid(at, "twin map keys must be increasing"));
            }
            last_key = key;
            match key {
                K_VERSION => {
                    twin.version = r.uint().map_err(|e| within(cbor(e), "version"))?;
                    seen_version = true;
                }
                K_TIMESTAMP => {
                    twin.timestamp = r.uint().map_err(|e| within(cbor(e), "timestamp"))?;
                    seen_timestamp = true;
                }
                K_DESIRED => twin.desired = Some(section(&mut r, depth, "desired")?),
                K_REPORTED => twin.reported = Some(section(&mut r, depth, "reported")?),
                K_META_DESIRED => meta_d = Some(meta(&mut r, depth, "desired")?),
                K_META_REPORTED => meta_r = Some(meta(&mut r, depth, "reported")?),
                K_CLIENT_TOKEN => {
                    let t = r.text().map_err(|e| within(cbor(e), "clientToken"))?;
                    twin.limits.check_client_token(t)?;
                    twin.client_token = Some(t.to_owned());
                }
                _ => return Err(invalid(at, "unknown twin map key")),
            }
        }
        r.finish().map_err(cbor)?;
        // Both are always written, so a document without them is not canonical.
        for (seen, pointer) in [(seen_version, "/version"), (seen_timestamp, "/timestamp")] {
            if !seen {
                return Err(Error::InvalidDocument {
                    pointer: pointer.into(),
                    reason: "missing",
                });
            }
        }
        for (name, state, meta, slot) in [
            ("desired", &twin.desired, meta_d, &mut twin.meta_desired),
            ("reported", &twin.reported, meta_r, &mut twin.meta_reported),
        ] {
            match (state, meta) {
                (None, None) => {}
                (Some(s), Some(m)) if map_matches(&m, s) => *slot = m,
                _ => {
                    return Err(Error::InvalidDocument {
                        pointer: format!("/metadata/{name}"),
                        reason: "metadata does not match the state",
                    });
                }
            }
        }
        for (name, s) in [("desired", &twin.desired), ("reported", &twin.reported)] {
            if let Some(s) = s {
                let mut p = Pointer::from_tokens(["state", name]);
                crate::document::no_nulls(s, &mut p, 1, twin.limits.max_depth)?;
            }
        }
        twin.limits
            .check_state(twin.desired.as_ref(), twin.reported.as_ref())?;
        Ok(twin)
    }
}

fn write_meta_map(out: &mut Vec<u8>, m: &BTreeMap<String, Metadata>) {
    write_map(out, m.len());
    for (k, v) in sorted_keys(m.iter()) {
        write_text(out, k);
        match v {
            Metadata::Leaf(t) => write_uint(out, *t),
            Metadata::Node(n) => write_meta_map(out, n),
        }
    }
}

/// A twin section: a map whose nesting (container levels) is at most `depth`.
fn section(r: &mut Reader<'_>, depth: usize, name: &str) -> Result<Map<String, Value>> {
    let at = r.offset();
    let read = |r: &mut Reader<'_>| match r.item().map_err(cbor)? {
        Item::Map(_) if depth == 0 => Err(Error::CborTooDeep { offset: at, max: 0 }),
        Item::Map(n) => read_object(r, n, depth, depth),
        _ => Err(invalid(at, "a section must be a map")),
    };
    read(r).map_err(|e| within(within(e, name), "state"))
}

fn meta(r: &mut Reader<'_>, depth: usize, name: &str) -> Result<BTreeMap<String, Metadata>> {
    meta_map(r, depth).map_err(|e| within(within(e, name), "metadata"))
}

fn meta_map(r: &mut Reader<'_>, depth: usize) -> Result<BTreeMap<String, Metadata>> {
    let n = r.map().map_err(cbor)?;
    meta_body(r, n, depth)
}

/// The `n` entries of a metadata map: a timestamp per leaf, a map per object.
fn meta_body(r: &mut Reader<'_>, n: usize, depth: usize) -> Result<BTreeMap<String, Metadata>> {
    let mut m = BTreeMap::new();
    let mut keys = Keys::new();
    for _ in 0..n {
        let k = read_key(r, &mut keys)?;
        let at = r.offset();
        let v = match r.item().map_err(|e| within(cbor(e), k))? {
            Item::Uint(t) => Metadata::Leaf(t),
            Item::Map(_) if depth <= 1 => {
                return Err(Error::CborTooDeep {
                    offset: at,
                    max: depth,
                });
            }
            Item::Map(c) => Metadata::Node(meta_body(r, c, depth - 1).map_err(|e| within(e, k))?),
            _ => {
                return Err(within(
                    invalid(at, "metadata must be a timestamp or a map"),
                    k,
                ));
            }
        };
        m.insert(k.to_owned(), v);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Patch;

    fn pointer_of(e: Error) -> (usize, String) {
        match e {
            Error::Cbor {
                offset, pointer, ..
            } => (offset, pointer),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_json_pointer() {
        // {1: 1, 2: 0, 3: {"net": {"ssid": 0 written in two bytes}}, 5: ...}
        let mut b = vec![0xa4, 0x01, 0x01, 0x02, 0x00, 0x03];
        b.extend_from_slice(&[0xa1, 0x63, b'n', b'e', b't', 0xa1, 0x64]);
        b.extend_from_slice(b"ssid");
        b.extend_from_slice(&[0x18, 0x00, 0x05, 0xa0]);
        let e = Twin::from_cbor(&b, Limits::custom()).unwrap_err();
        assert_eq!(pointer_of(e), (17, "/state/desired/net/ssid".into()));
        // A patch: the second operation's value holds a tag.
        let p = Patch::from_value(&serde_json::json!([
            {"op": "remove", "path": "/a"},
            {"op": "add", "path": "/b", "value": [1, 2]}
        ]))
        .unwrap();
        let mut b = p.to_cbor();
        let at = b.len() - 1;
        b.insert(at, 0xc1);
        let e = Patch::from_cbor(&b, &Limits::custom()).unwrap_err();
        assert_eq!(pointer_of(e), (at, "/1/value/1".into()));
        let shown = Patch::from_cbor(&b, &Limits::custom())
            .unwrap_err()
            .to_string();
        assert_eq!(
            shown,
            format!("CBOR decode error at byte {at} (at /1/value/1): tag not allowed")
        );
    }
}
