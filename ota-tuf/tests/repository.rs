//! One fixture repository per TUF attack, built at test time; then ota's checks on top.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    Fixture, NOW, Publish, in_days, make_root, new_key, release_files, sign_root, sign_rotation,
};
use ota_tuf::Error;
use ota_verify::{Policy, SecretKey};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

fn policy() -> Policy {
    Policy::new(NOW, 0)
}

fn good() -> Fixture {
    let fx = block_on(Fixture::new());
    let files = release_files("fw-2", 2, &fx.ota_key);
    block_on(fx.publish(&Publish::new(1, &files)));
    fx
}

#[test]
fn good_release_loads_and_verifies() {
    let fx = good();
    let repo = fx.load().unwrap();
    assert_eq!(repo.root_version(), 1);
    assert_eq!(repo.releases(), ["fw-2"]);
    let release = repo.fetch_release("fw-2").unwrap();
    assert_eq!(release.images().len(), 1);
    let verified = release.verify(&fx.ota_root, &policy()).unwrap();
    assert_eq!(verified.manifest().sequence, 2);
    assert_eq!(verified.image("app").unwrap(), common::image(2));
    // The same through the one-call path.
    let again = repo
        .verified_release("fw-2", &fx.ota_root, &policy())
        .unwrap();
    assert_eq!(again.envelope(), verified.envelope());
}

#[test]
fn unknown_release_is_named() {
    let fx = good();
    let repo = fx.load().unwrap();
    assert!(matches!(
        repo.fetch_release("fw-3"),
        Err(Error::NoRelease { release }) if release == "fw-3"
    ));
    assert!(matches!(
        repo.fetch_release("../x"),
        Err(Error::InvalidName { .. })
    ));
}

#[test]
fn expired_timestamp_is_refused() {
    let fx = block_on(Fixture::new());
    let files = release_files("fw-2", 2, &fx.ota_key);
    let mut p = Publish::new(1, &files);
    p.timestamp_expires = in_days(-1);
    block_on(fx.publish(&p));
    match fx.load() {
        Err(Error::Expired { role }) => assert_eq!(role, "timestamp"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rolled_back_timestamp_is_refused() {
    let fx = block_on(Fixture::new());
    let files = release_files("fw-2", 2, &fx.ota_key);
    block_on(fx.publish(&Publish::new(3, &files)));
    fx.load().unwrap();
    // An attacker serves the older (still validly signed, unexpired) metadata.
    block_on(fx.publish(&Publish::new(2, &files)));
    match fx.load() {
        Err(Error::Rollback { role, .. }) => assert_eq!(role, "timestamp"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rolled_back_snapshot_is_refused() {
    let fx = block_on(Fixture::new());
    let files = release_files("fw-2", 2, &fx.ota_key);
    block_on(fx.publish(&Publish::new(3, &files)));
    assert_eq!(fx.load().unwrap().snapshot_version(), 3);
    // A newer timestamp naming an older snapshot (version 2 < 3, already trusted).
    let mut p = Publish::new(4, &files);
    p.snapshot_version = 2;
    block_on(fx.publish(&p));
    match fx.load() {
        Err(Error::Rollback { detail, .. }) => {
            assert!(detail.contains("Snapshot version 2"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // A fresh device (no datastore history) takes the same metadata: only history makes it a
    // rollback.
    let fresh = fx.dir.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    let mut loc = fx.location();
    loc.datastore = &fresh;
    let repo = ota_tuf::Repository::load(&fx.trusted_root, &loc, &ota_tuf::Limits::default());
    assert_eq!(repo.unwrap().snapshot_version(), 2);
}

#[test]
fn target_whose_hash_does_not_match_is_refused() {
    let fx = good();
    let path = fx
        .targets
        .join(ota_tuf::component_target("fw-2", "app").unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 1; // same length, different content
    std::fs::write(&path, &bytes).unwrap();
    let repo = fx.load().unwrap();
    match repo.fetch_release("fw-2") {
        Err(Error::TargetMismatch { target, detail }) => {
            assert_eq!(target, "ota/fw-2/components/app");
            assert!(detail.contains("Hash mismatch"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn target_longer_than_signed_is_refused() {
    let fx = good();
    let path = fx.targets.join(ota_tuf::envelope_target("fw-2").unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    std::fs::write(&path, &bytes).unwrap();
    let repo = fx.load().unwrap();
    assert!(matches!(
        repo.fetch_release("fw-2"),
        Err(Error::TargetMismatch { target, .. }) if target == "ota/fw-2/envelope"
    ));
}

#[test]
fn root_rotation_cross_signed_loads_with_the_new_key() {
    let fx = block_on(Fixture::new());
    let new_key = new_key(fx.dir.path(), "root-2.pk8");
    let (old, new) = block_on(async {
        (
            make_root(1, &[&fx.tuf_key], 1).await,
            make_root(2, &[&new_key], 1).await,
        )
    });
    let rotated = block_on(sign_rotation(&new, &old, &[&fx.tuf_key], &[&new_key]));
    let root2 = fx.metadata.join("2.root.json");
    std::fs::write(&root2, rotated).unwrap();
    let mut fx = fx;
    fx.root_file = root2;
    fx.tuf_key = new_key;
    let files = release_files("fw-2", 2, &fx.ota_key);
    block_on(fx.publish(&Publish::new(1, &files)));
    let repo = fx.load().unwrap();
    assert_eq!(repo.root_version(), 2);
    repo.verified_release("fw-2", &fx.ota_root, &policy())
        .unwrap();
}

#[test]
fn root_rotation_not_signed_by_the_old_threshold_is_refused() {
    let fx = block_on(Fixture::new());
    let new_key = new_key(fx.dir.path(), "root-2.pk8");
    let new = block_on(make_root(2, &[&new_key], 1));
    // Signed by the new key only: the old root's threshold (1 of the old key) is not met.
    let only_new = block_on(sign_root(&new, &new, &[&new_key]));
    let root2 = fx.metadata.join("2.root.json");
    std::fs::write(&root2, only_new).unwrap();
    let mut fx = fx;
    fx.root_file = root2;
    fx.tuf_key = new_key;
    let files = release_files("fw-2", 2, &fx.ota_key);
    block_on(fx.publish(&Publish::new(1, &files)));
    match fx.load() {
        Err(Error::Signature { role, .. }) => assert_eq!(role, "root"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn release_passing_tuf_but_not_ota_is_refused() {
    let fx = block_on(Fixture::new());
    // Signed with a key the device's ota trust root does not hold; TUF has no objection.
    let files = release_files("fw-2", 2, &SecretKey::from_seed(&[9; 32]));
    block_on(fx.publish(&Publish::new(1, &files)));
    let repo = fx.load().unwrap();
    let release = repo.fetch_release("fw-2").unwrap();
    assert!(matches!(
        release.verify(&fx.ota_root, &policy()),
        Err(Error::Envelope { release, .. }) if release == "fw-2"
    ));
}

#[test]
fn image_passing_tuf_but_not_the_manifest_is_refused() {
    let fx = block_on(Fixture::new());
    let mut files = release_files("fw-2", 2, &fx.ota_key);
    files[1].1[7] ^= 1; // TUF signs this changed image; the ota manifest names the original
    block_on(fx.publish(&Publish::new(1, &files)));
    let repo = fx.load().unwrap();
    assert!(matches!(
        repo.verified_release("fw-2", &fx.ota_root, &policy()),
        Err(Error::ComponentMismatch { component, field: "sha256", .. }) if component == "app"
    ));
}

#[test]
fn component_missing_or_extra_is_refused() {
    let fx = block_on(Fixture::new());
    let mut files = release_files("fw-2", 2, &fx.ota_key);
    files.push((
        ota_tuf::component_target("fw-2", "extra").unwrap(),
        vec![1, 2, 3],
    ));
    block_on(fx.publish(&Publish::new(1, &files)));
    let repo = fx.load().unwrap();
    assert!(matches!(
        repo.verified_release("fw-2", &fx.ota_root, &policy()),
        Err(Error::UnexpectedComponent { component, .. }) if component == "extra"
    ));

    let fx = block_on(Fixture::new());
    let mut files = release_files("fw-3", 3, &fx.ota_key);
    files.pop();
    block_on(fx.publish(&Publish::new(1, &files)));
    let repo = fx.load().unwrap();
    assert!(matches!(
        repo.verified_release("fw-3", &fx.ota_root, &policy()),
        Err(Error::MissingComponent { component, .. }) if component == "app"
    ));
}

#[test]
fn ota_rollback_still_applies() {
    let fx = good();
    let repo = fx.load().unwrap();
    // The device already installed sequence 2: ota's own anti-rollback refuses it again.
    assert!(matches!(
        repo.verified_release("fw-2", &fx.ota_root, &Policy::new(NOW, 2)),
        Err(Error::Envelope { .. })
    ));
}

#[test]
fn limits_refuse_large_targets_before_reading() {
    let fx = good();
    let mut limits = ota_tuf::Limits::default();
    limits.max_image = 100;
    let repo = ota_tuf::Repository::load(&fx.trusted_root, &fx.location(), &limits).unwrap();
    assert!(matches!(
        repo.fetch_release("fw-2"),
        Err(Error::TooLarge {
            size: 4000,
            limit: 100,
            ..
        })
    ));
}
