//! Conformance with published vectors: RFC 8032 §7.1 and Wycheproof EdDSA (Ed25519).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::hex;
use ota_verify::{PublicKey, SecretKey};

struct Rfc8032 {
    name: &'static str,
    secret: &'static str,
    public: &'static str,
    message: &'static str,
    signature: &'static str,
}

/// RFC 8032 §7.1, "Test Vectors for Ed25519".
const RFC8032: &[Rfc8032] = &[
    // TEST 1 (empty message)
    Rfc8032 {
        name: "TEST 1",
        secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        message: "",
        signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    },
    // TEST 2 (one byte)
    Rfc8032 {
        name: "TEST 2",
        secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        message: "72",
        signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    },
    // TEST 3 (two bytes)
    Rfc8032 {
        name: "TEST 3",
        secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        public: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        message: "af82",
        signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    },
    // TEST SHA(abc) (the 64-byte SHA-512 of "abc" as message)
    Rfc8032 {
        name: "TEST SHA(abc)",
        secret: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        public: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        message: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    },
];

#[test]
fn rfc8032_section_7_1_vectors_sign_and_verify() {
    for v in RFC8032 {
        let seed: [u8; 32] = hex(v.secret).try_into().unwrap();
        let sk = SecretKey::from_seed(&seed);
        let pk = sk.public_key();
        assert_eq!(
            pk.to_bytes().to_vec(),
            hex(v.public),
            "{}: public key",
            v.name
        );
        let msg = hex(v.message);
        let sig: [u8; 64] = hex(v.signature).try_into().unwrap();
        assert_eq!(sk.sign_raw(&msg), sig, "{}: signature", v.name);
        let imported = PublicKey::from_bytes(&hex(v.public).try_into().unwrap()).unwrap();
        imported.verify_strict(&msg, &sig).unwrap();
        // The same signature over a different message must fail.
        let mut other = msg.clone();
        other.push(0);
        assert!(imported.verify_strict(&other, &sig).is_err(), "{}", v.name);
    }
}

/// Every Wycheproof Ed25519 case (ed25519_test.json, 151 cases) gives its expected result under
/// this crate's strict verification. Wycheproof has no "acceptable" Ed25519 case: every valid
/// case must verify, every invalid one must fail. Key import refuses small-order keys, so a
/// group whose key is refused must contain only invalid cases.
///
/// We also check that our streaming strict verifier (the one COSE envelopes use) agrees with
/// ed25519-dalek's own `verify_strict` on every case, which is the claim that makes the
/// envelope path "verify_strict semantics".
#[test]
fn wycheproof_ed25519_every_case_has_its_expected_result() {
    use wycheproof::TestResult;
    let set = wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).unwrap();
    let (mut passed, mut total) = (0, 0);
    for group in &set.test_groups {
        let pk_bytes: &[u8] = group.key.pk.as_ref();
        let pk_array: Option<[u8; 32]> = pk_bytes.try_into().ok();
        let key = pk_array.and_then(|b| PublicKey::from_bytes(&b).ok());
        let dalek = pk_array.and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok());
        for test in &group.tests {
            total += 1;
            let msg: &[u8] = test.msg.as_ref();
            let sig: &[u8] = test.sig.as_ref();
            let sig64: Option<[u8; 64]> = sig.try_into().ok();
            let ours = match (&key, sig64) {
                (Some(k), Some(s)) => k.verify_strict(msg, &s).is_ok(),
                _ => false,
            };
            let theirs = match (&dalek, sig64) {
                (Some(k), Some(s)) => k
                    .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&s))
                    .is_ok(),
                _ => false,
            };
            let expected = match test.result {
                TestResult::Valid => true,
                TestResult::Invalid => false,
                TestResult::Acceptable => panic!("tc {}: no acceptable case expected", test.tc_id),
            };
            assert_eq!(
                ours, expected,
                "tc {} ({}): got {ours}, expected {expected}",
                test.tc_id, test.comment
            );
            assert_eq!(
                ours, theirs,
                "tc {}: differs from dalek verify_strict",
                test.tc_id
            );
            passed += 1;
        }
    }
    assert_eq!(total, 151, "the vector file changed size");
    assert_eq!(passed, total);
}
