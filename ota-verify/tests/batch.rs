//! Batch verification gives the same verdicts as one-by-one strict verification.
//! Run with `cargo test -p ota-verify --features batch --test batch` (CI does, in
//! .ci/steps/verify.sh).
#![cfg(feature = "batch")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::key;
use ota_verify::{BatchItem, PublicKey, verify_batch};

fn one_by_one(items: &[BatchItem<'_>]) -> Vec<bool> {
    items
        .iter()
        .map(|i| i.key.verify_strict(i.message, i.signature).is_ok())
        .collect()
}

#[test]
fn all_valid_batch_accepts_all() {
    let keys: Vec<_> = (0..32u8).map(key).collect();
    let pks: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
    let msgs: Vec<Vec<u8>> = (0..32u8).map(|i| vec![i; i as usize]).collect();
    let sigs: Vec<[u8; 64]> = keys.iter().zip(&msgs).map(|(k, m)| k.sign_raw(m)).collect();
    let items: Vec<BatchItem<'_>> = (0..32)
        .map(|i| BatchItem {
            key: &pks[i],
            message: &msgs[i],
            signature: &sigs[i],
        })
        .collect();
    assert_eq!(verify_batch(&items), vec![true; 32]);
    assert_eq!(verify_batch(&[]), Vec::<bool>::new());
}

#[test]
fn mixed_batches_name_exactly_the_bad_items() {
    let keys: Vec<_> = (0..16u8).map(key).collect();
    let pks: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
    let msgs: Vec<Vec<u8>> = (0..16u8).map(|i| vec![i, i + 1]).collect();
    let mut sigs: Vec<[u8; 64]> = keys.iter().zip(&msgs).map(|(k, m)| k.sign_raw(m)).collect();
    sigs[3][0] ^= 1; // R changed
    sigs[7][40] ^= 0x10; // s changed
    sigs[9][63] |= 0xf0; // s not canonical
    let mut items: Vec<BatchItem<'_>> = (0..16)
        .map(|i| BatchItem {
            key: &pks[i],
            message: &msgs[i],
            signature: &sigs[i],
        })
        .collect();
    items[12].key = &pks[13]; // wrong key
    let verdicts = verify_batch(&items);
    assert_eq!(verdicts, one_by_one(&items));
    assert_eq!(verdicts.iter().filter(|v| !**v).count(), 4);
}

/// Every Wycheproof Ed25519 case with a usable key and a 64-byte signature, in one batch and
/// in batches of one: the verdicts equal one-by-one strict verification.
#[test]
fn wycheproof_cases_same_verdicts_in_batch() {
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let mut owned: Vec<(PublicKey, Vec<u8>, [u8; 64])> = Vec::new();
    for g in &set.test_groups {
        let pk: &[u8] = g.key.pk.as_ref();
        let Some(pk) = <[u8; 32]>::try_from(pk)
            .ok()
            .and_then(|b| PublicKey::from_bytes(&b).ok())
        else {
            continue;
        };
        for t in &g.tests {
            let sig: &[u8] = t.sig.as_ref();
            if let Ok(sig) = <[u8; 64]>::try_from(sig) {
                let msg: &[u8] = t.msg.as_ref();
                owned.push((pk, msg.to_vec(), sig));
            }
        }
    }
    assert!(owned.len() > 100);
    let items: Vec<BatchItem<'_>> = owned
        .iter()
        .map(|(k, m, s)| BatchItem {
            key: k,
            message: m,
            signature: s,
        })
        .collect();
    let expected = one_by_one(&items);
    assert!(expected.iter().any(|v| *v) && expected.iter().any(|v| !*v));
    assert_eq!(verify_batch(&items), expected);
    for (item, want) in items.iter().zip(&expected) {
        assert_eq!(verify_batch(std::slice::from_ref(item)), vec![*want]);
    }
}
