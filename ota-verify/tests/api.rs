//! Properties of the public API itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_verify::{
    ChunkVerifier, DigestVerifier, Envelope, Error, ImageRef, KeyId, Policy, PublicKey, Role,
    SecretKey, Sha256, TrustRoot, Verified,
};

fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<Error>();
    send_sync::<Envelope<'_>>();
    send_sync::<TrustRoot>();
    send_sync::<PublicKey>();
    send_sync::<SecretKey>();
    send_sync::<KeyId>();
    send_sync::<Policy>();
    send_sync::<Verified<'_>>();
    send_sync::<DigestVerifier>();
    send_sync::<ChunkVerifier<'_>>();
    send_sync::<ImageRef>();
    send_sync::<Sha256>();
}

#[test]
fn bad_signature_error_says_nothing_more() {
    assert_eq!(Error::BadSignature.to_string(), "bad signature");
    assert_eq!(
        Error::BelowThreshold {
            valid: 1,
            needed: 2
        }
        .to_string(),
        "signature threshold not met: 1 valid of 2 needed"
    );
    assert_eq!(
        Error::Rollback {
            got: 3,
            need_above: 7
        }
        .to_string(),
        "rollback refused: got 3, need > 7"
    );
}

#[test]
fn secret_key_debug_shows_only_the_key_id() {
    let sk = SecretKey::from_seed(&[0x55; 32]);
    let shown = format!("{sk:?}");
    assert!(shown.contains(&sk.public_key().key_id().to_string()));
    assert!(!shown.contains("5555"));
}

#[test]
fn builder_rules() {
    let k = |i: u8| SecretKey::from_seed(&[i; 32]).public_key();
    let err = |b: ota_verify::TrustRootBuilder| b.build().unwrap_err();
    assert!(matches!(
        err(TrustRoot::builder(0, 1)
            .role(Role::ROOT, 1, &[k(1)])
            .role(Role::RELEASE, 1, &[k(2)])),
        Error::InvalidTrustRoot { .. }
    ));
    assert!(matches!(
        err(TrustRoot::builder(1, 1)
            .role(Role::ROOT, 1, &[k(1)])
            .role(Role::ROOT, 1, &[k(2)])),
        Error::InvalidTrustRoot {
            reason: "role defined twice"
        }
    ));
    let many: Vec<PublicKey> = (0..17).map(k).collect();
    assert!(matches!(
        err(TrustRoot::builder(1, 1).role(Role::ROOT, 1, &many)),
        Error::LimitExceeded { limit: 16, .. }
    ));
    // A key shared by two roles is stored once.
    let r = TrustRoot::builder(1, 1)
        .role(Role::ROOT, 1, &[k(1)])
        .role(Role::RELEASE, 1, &[k(1)])
        .role(Role(7), 1, &[k(1)])
        .build()
        .unwrap();
    assert_eq!(r.keys().count(), 1);
    assert_eq!(r.roles().count(), 3);
    assert_eq!(TrustRoot::decode(&r.to_vec()).unwrap(), r);
    let mut small = [0u8; 8];
    assert_eq!(
        r.encode_into(&mut small),
        Err(Error::BufferTooSmall {
            needed: r.encoded_len()
        })
    );
}
