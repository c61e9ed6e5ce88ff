//! A small SUIT envelope encoder for the tests: CBOR trees written with `ota-cbor`'s writers
//! (in the order given, so a test can also write what the reader must refuse), signed with
//! Ed25519 through `ota-verify` (deterministic, so the bytes are reproducible).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sha2::Digest as _;

/// A CBOR item.
#[derive(Debug, Clone)]
pub enum V {
    U(u64),
    N(i64),
    B(Vec<u8>),
    T(String),
    A(Vec<V>),
    M(Vec<(V, V)>),
    Tag(u64, Box<V>),
    Null,
    Bool(bool),
}

pub fn enc(v: &V) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, v);
    out
}

fn write(out: &mut Vec<u8>, v: &V) {
    match v {
        V::U(u) => ota_cbor::write_uint(out, *u),
        V::N(n) => ota_cbor::write_int(out, *n),
        V::B(b) => ota_cbor::write_bytes(out, b),
        V::T(t) => ota_cbor::write_text(out, t),
        V::A(items) => {
            ota_cbor::write_array(out, items.len());
            for i in items {
                write(out, i);
            }
        }
        V::M(entries) => {
            ota_cbor::write_map(out, entries.len());
            for (k, v) in entries {
                write(out, k);
                write(out, v);
            }
        }
        V::Tag(t, inner) => {
            ota_cbor::write_tag(out, *t);
            write(out, inner);
        }
        V::Null => ota_cbor::write_null(out),
        V::Bool(b) => ota_cbor::write_bool(out, *b),
    }
}

/// `bstr .cbor v`.
pub fn wrap(v: &V) -> V {
    V::B(enc(v))
}

pub fn int(n: i64) -> V {
    if n >= 0 { V::U(n as u64) } else { V::N(n) }
}

/// A map with integer keys.
pub fn imap(entries: Vec<(i64, V)>) -> V {
    V::M(entries.into_iter().map(|(k, v)| (int(k), v)).collect())
}

/// A SUIT_Digest of SHA-256.
pub fn digest(d: [u8; 32]) -> V {
    V::A(vec![V::N(-16), V::B(d.to_vec())])
}

pub fn sha256(b: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(b).into()
}

/// A command sequence from (command, argument) pairs.
pub fn seq(cmds: Vec<(i64, V)>) -> V {
    V::A(cmds.into_iter().flat_map(|(c, a)| [int(c), a]).collect())
}

pub const VENDOR: [u8; 16] = *b"acme-locks-vndr!";
pub const CLASS: [u8; 16] = *b"smart-lock-class";

/// A one-component manifest: compatibility checks, digest and size of `image`, install by fetch
/// from `uri`, validate by image match.
pub fn manifest(sequence: u64, image: &[u8], uri: &str) -> V {
    let shared = seq(vec![
        (
            20,
            imap(vec![
                (1, V::B(VENDOR.to_vec())),
                (2, V::B(CLASS.to_vec())),
                (3, wrap(&digest(sha256(image)))),
                (14, V::U(image.len() as u64)),
            ]),
        ),
        (1, V::U(15)),
        (2, V::U(15)),
    ]);
    let common = imap(vec![
        (2, V::A(vec![V::A(vec![V::B(vec![0])])])),
        (4, wrap(&shared)),
    ]);
    let install = seq(vec![
        (20, imap(vec![(21, V::T(uri.into()))])),
        (21, V::U(2)),
        (3, V::U(15)),
    ]);
    let validate = seq(vec![(3, V::U(15))]);
    imap(vec![
        (1, V::U(1)),
        (2, V::U(sequence)),
        (3, wrap(&common)),
        (7, wrap(&validate)),
        (20, wrap(&install)),
    ])
}

/// The encoded envelope of `manifest` signed with the Ed25519 key of `seed` (COSE alg `alg`),
/// with `extra` envelope members after the manifest.
pub fn envelope_with(manifest: &V, seed: [u8; 32], alg: i64, extra: Vec<(i64, V)>) -> Vec<u8> {
    envelope_full(manifest, seed, alg, |_| V::Null, extra)
}

/// As [`envelope_with`], with the COSE payload made from the encoded digest by `payload`.
pub fn envelope_full(
    manifest: &V,
    seed: [u8; 32],
    alg: i64,
    payload: impl Fn(&[u8]) -> V,
    extra: Vec<(i64, V)>,
) -> Vec<u8> {
    let m = enc(manifest);
    let digest_bytes = enc(&digest(sha256(&enc(&V::B(m.clone())))));
    let protected = enc(&imap(vec![(1, int(alg))]));
    let to_sign = enc(&V::A(vec![
        V::T("Signature1".into()),
        V::B(protected.clone()),
        V::B(vec![]),
        V::B(digest_bytes.clone()),
    ]));
    let key = ota_verify::SecretKey::from_seed(&seed);
    let sig = key.sign_raw(&to_sign);
    let cose = V::Tag(
        18,
        Box::new(V::A(vec![
            V::B(protected),
            V::M(vec![]),
            payload(&digest_bytes),
            V::B(sig.to_vec()),
        ])),
    );
    let auth = V::A(vec![V::B(digest_bytes), wrap(&cose)]);
    let mut members = vec![(2, wrap(&auth)), (3, V::B(m))];
    members.extend(extra);
    enc(&V::Tag(107, Box::new(imap(members))))
}

pub const SEED: [u8; 32] = [42; 32];

pub fn envelope(manifest: &V) -> Vec<u8> {
    envelope_with(manifest, SEED, -8, vec![])
}

pub fn anchor() -> ota_suit::TrustAnchor {
    ota_suit::TrustAnchor::ed25519(ota_verify::SecretKey::from_seed(&SEED).public_key())
}
