//! The C functions called from Rust on the host, as a C program calls them: success paths against
//! values computed with the std crates, every refusal its own status, NULL arguments, and outputs
//! left untouched on error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::ptr::{null, null_mut};

use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{Compatibility, Component, DeviceId, Extensions, Layer, Manifest};
use ota_mcu::*;
use ota_verify::{Role, SecretKey, Sha256, SignOptions, TrustRoot, sign};

const NOW: u64 = 1_764_000_000;

struct Fixture {
    root: Vec<u8>,
    envelope: Vec<u8>,
    manifest: Vec<u8>,
    old: Vec<u8>,
    new: Vec<u8>,
}

fn fixture() -> Fixture {
    let keys = |s: &[u8]| {
        s.iter()
            .map(|&b| SecretKey::from_seed(&[b; 32]))
            .collect::<Vec<_>>()
    };
    let (rk, sk) = (keys(&[1, 2, 3]), keys(&[10, 11]));
    let public = |k: &[SecretKey]| k.iter().map(SecretKey::public_key).collect::<Vec<_>>();
    let root = TrustRoot::builder(1, 2_000_000_000)
        .role(Role::ROOT, 2, &public(&rk))
        .role(Role::RELEASE, 2, &public(&sk))
        .build()
        .unwrap()
        .sign(&[&rk[0], &rk[1]])
        .unwrap();
    let old = b"old firmware ".repeat(300);
    let new = b"new firmware! ".repeat(300);
    let fw = Component::from_image(
        "firmware",
        Layer::Firmware,
        Version::new(2, 0, 0),
        VersionReq::parse(">=1.0.0, <2.0.0").unwrap(),
        &new,
        Some(1024),
    )
    .unwrap();
    let manifest = Manifest {
        name: "sensor".into(),
        version: Version::new(2, 0, 0),
        sequence: 7,
        security_counter: 3,
        issued_at: NOW - 3600,
        expires_at: Some(NOW + 86_400),
        notes_uri: None,
        support_ends_at: None,
        max_security_deferral: None,
        compatibility: Compatibility {
            vendor: DeviceId::new(b"acme").unwrap(),
            classes: vec![DeviceId::new(b"th-sensor").unwrap()],
            hardware: vec!["1.2.0".into()],
            hardware_ranges: Vec::new(),
        },
        components: vec![fw],
        extensions: Extensions::new(),
    }
    .to_cbor()
    .unwrap();
    let opts = SignOptions {
        sequence: Some(7),
        expires: Some(NOW + 86_400),
        ..SignOptions::default()
    };
    let envelope = sign(&manifest, &[&sk[0], &sk[1]], &opts).unwrap();
    Fixture {
        root,
        envelope,
        manifest,
        old,
        new,
    }
}

fn blank_root() -> Box<ota_mcu_trust_root> {
    Box::new(ota_mcu_trust_root {
        _mark: 0,
        _storage: [0; OTA_MCU_TRUST_ROOT_WORDS],
    })
}

fn loaded(f: &Fixture) -> Box<ota_mcu_trust_root> {
    let mut root = blank_root();
    // SAFETY: valid buffers.
    let st = unsafe { ota_mcu_trust_root_load(f.root.as_ptr(), f.root.len(), &mut *root) };
    assert_eq!(st, Status::Ok);
    root
}

const NOTHING: ota_mcu_verified = ota_mcu_verified {
    sequence: 99,
    expires: 99,
    signers: 99,
    payload_detached: true,
    payload_offset: 99,
    payload_len: 99,
};

fn verify(
    root: &ota_mcu_trust_root,
    env: &[u8],
    now: u64,
    last: u64,
) -> (Status, ota_mcu_verified) {
    let mut out = NOTHING;
    // SAFETY: valid buffers.
    let st = unsafe {
        ota_mcu_trust_root_verify(
            root,
            env.as_ptr(),
            env.len(),
            null(),
            0,
            now,
            last,
            &mut out,
        )
    };
    (st, out)
}

#[test]
fn verify_locates_the_manifest_and_refuses_what_it_must() {
    let f = fixture();
    let root = loaded(&f);
    let (st, v) = verify(&root, &f.envelope, NOW, 6);
    assert_eq!(st, Status::Ok);
    assert_eq!((v.sequence, v.signers, v.payload_detached), (7, 2, false));
    let payload = &f.envelope[v.payload_offset..v.payload_offset + v.payload_len];
    assert_eq!(payload, f.manifest.as_slice());

    let mut tampered = f.envelope.clone();
    *tampered.last_mut().unwrap() ^= 1;
    for (env, now, last, want) in [
        (&tampered, NOW, 6, Status::VerifyBadSignature),
        (&f.envelope, NOW, 7, Status::VerifyRollback),
        (&f.envelope, NOW + 86_400, 6, Status::VerifyExpired),
        (&f.envelope[..10].to_vec(), NOW, 6, Status::VerifyMalformed),
    ] {
        let (st, out) = verify(&root, env, now, last);
        assert_eq!(st, want);
        assert_eq!(
            (out.sequence, out.payload_len),
            (99, 99),
            "output written on error"
        );
    }
    // A trust root where a release is expected.
    assert_eq!(
        verify(&root, &f.root, NOW, 6).0,
        Status::VerifyWrongContentType
    );
    // Storage the library did not fill, and NULL.
    assert_eq!(
        verify(&blank_root(), &f.envelope, NOW, 6).0,
        Status::InvalidState
    );
    // SAFETY: NULL arguments are checked.
    unsafe {
        let mut out = NOTHING;
        let env = f.envelope.as_ptr();
        let n = f.envelope.len();
        let st = ota_mcu_trust_root_verify(null(), env, n, null(), 0, NOW, 6, &mut out);
        assert_eq!(st, Status::NullArgument);
        let st = ota_mcu_trust_root_verify(&*root, env, n, null(), 0, NOW, 6, null_mut());
        assert_eq!(st, Status::NullArgument);
        let st = ota_mcu_trust_root_verify(&*root, null(), 0, null(), 0, NOW, 6, &mut out);
        assert_eq!(st, Status::NullArgument);
        let st = ota_mcu_trust_root_load(null(), 5, &mut *blank_root());
        assert_eq!(st, Status::NullArgument);
    }
    // A release envelope is no trust root; the storage keeps what it had.
    let mut r = blank_root();
    // SAFETY: valid buffers.
    let st = unsafe { ota_mcu_trust_root_load(f.envelope.as_ptr(), f.envelope.len(), &mut *r) };
    assert_ne!(st, Status::Ok);
    assert_eq!(r._mark, 0);
    let (mut version, mut expires) = (0, 0);
    // SAFETY: valid pointers.
    let st = unsafe { ota_mcu_trust_root_version(&*root, &mut version, &mut expires) };
    assert_eq!((st, version, expires), (Status::Ok, 1, 2_000_000_000));
}

#[test]
fn digest_verifier_checks_size_and_digest_then_is_spent() {
    let f = fixture();
    let want = Sha256::digest(&f.new);
    let mut v = ota_mcu_digest_verifier {
        _mark: 0,
        _storage: [0; OTA_MCU_DIGEST_VERIFIER_WORDS],
    };
    // SAFETY: valid pointers throughout.
    unsafe {
        assert_eq!(
            ota_mcu_digest_verifier_update(&mut v, f.new.as_ptr(), 1),
            Status::InvalidState
        );
        let size = f.new.len() as u64;
        assert_eq!(
            ota_mcu_digest_verifier_new(size, want.0.as_ptr(), &mut v),
            Status::Ok
        );
        for piece in f.new.chunks(1000) {
            assert_eq!(
                ota_mcu_digest_verifier_update(&mut v, piece.as_ptr(), piece.len()),
                Status::Ok
            );
        }
        assert_eq!(
            ota_mcu_digest_verifier_update(&mut v, f.new.as_ptr(), 1),
            Status::VerifySizeExceeded
        );
        assert_eq!(ota_mcu_digest_verifier_finish(&mut v), Status::Ok);
        assert_eq!(ota_mcu_digest_verifier_finish(&mut v), Status::InvalidState);

        assert_eq!(
            ota_mcu_digest_verifier_new(size, want.0.as_ptr(), &mut v),
            Status::Ok
        );
        let mut flipped = f.new.clone();
        flipped[100] ^= 1;
        let st = ota_mcu_digest_verifier_update(&mut v, flipped.as_ptr(), flipped.len());
        assert_eq!(st, Status::Ok);
        assert_eq!(
            ota_mcu_digest_verifier_finish(&mut v),
            Status::VerifyDigestMismatch
        );

        let mut out = [0u8; 32];
        assert_eq!(
            ota_mcu_sha256(f.new.as_ptr(), f.new.len(), out.as_mut_ptr()),
            Status::Ok
        );
        assert_eq!(out, want.0);
    }
}

fn device(installed: &[ota_mcu_installed]) -> ota_mcu_device_state {
    ota_mcu_device_state {
        vendor: b"acme".as_ptr(),
        vendor_len: 4,
        device_class: b"th-sensor".as_ptr(),
        device_class_len: 9,
        hardware: c"1.2.0".as_ptr(),
        installed: installed.as_ptr(),
        installed_count: installed.len(),
        security_counter: 0,
        has_last_sequence: true,
        last_sequence: 6,
        now: NOW,
    }
}

#[test]
fn decision_and_steps_match_the_rules() {
    let f = fixture();
    let m = &f.manifest;
    let installed = [ota_mcu_installed {
        id: c"firmware".as_ptr(),
        version: c"1.0.0".as_ptr(),
        sha256: Sha256::digest(&f.old).0,
    }];
    let dev = device(&installed);
    // SAFETY: valid buffers and device states throughout.
    unsafe {
        let mut info = std::mem::zeroed::<ota_mcu_manifest_info>();
        assert_eq!(
            ota_mcu_manifest_check(m.as_ptr(), m.len(), &mut info),
            Status::Ok
        );
        assert_eq!(
            (info.sequence, info.component_count, info.expires_at),
            (7, 1, NOW + 86_400)
        );
        assert_eq!(
            ota_mcu_manifest_decide(m.as_ptr(), m.len(), &dev),
            Status::Ok
        );
        let mut step = std::mem::zeroed::<ota_mcu_step>();
        assert_eq!(
            ota_mcu_manifest_step(m.as_ptr(), m.len(), &dev, 0, &mut step),
            Status::Ok
        );
        assert_eq!(step.action, OTA_MCU_ACTION_FULL);
        assert_eq!(step.download_size, f.new.len() as u64);
        assert_eq!(step.target_sha256, Sha256::digest(&f.new).0);
        assert!(step.reboot);
        let st = ota_mcu_manifest_step(m.as_ptr(), m.len(), &dev, 1, &mut step);
        assert_eq!(st, Status::IndexOutOfRange);

        let mut c = std::mem::zeroed::<ota_mcu_component>();
        assert_eq!(
            ota_mcu_manifest_component(m.as_ptr(), m.len(), 0, &mut c),
            Status::Ok
        );
        assert_eq!(std::slice::from_raw_parts(c.id, c.id_len), b"firmware");
        assert_eq!(
            std::slice::from_raw_parts(c.version, c.version_len),
            b"2.0.0"
        );
        assert_eq!(
            (c.chunk_size, c.chunk_count),
            (1024, f.new.len().div_ceil(1024))
        );
        let mut chunk = [0u8; 32];
        let st = ota_mcu_manifest_chunk_sha256(m.as_ptr(), m.len(), 0, 1, chunk.as_mut_ptr());
        assert_eq!(st, Status::Ok);
        assert_eq!(chunk, Sha256::digest(&f.new[1024..2048]).0);

        // The image already installed: skip.
        let same = [ota_mcu_installed {
            sha256: Sha256::digest(&f.new).0,
            ..installed[0]
        }];
        let st = ota_mcu_manifest_step(m.as_ptr(), m.len(), &device(&same), 0, &mut step);
        assert_eq!((st, step.action), (Status::Ok, OTA_MCU_ACTION_SKIP));

        let refused = |d: ota_mcu_device_state| ota_mcu_manifest_decide(m.as_ptr(), m.len(), &d);
        assert_eq!(
            refused(ota_mcu_device_state {
                last_sequence: 7,
                ..dev
            }),
            Status::RefusedSequence
        );
        assert_eq!(
            refused(ota_mcu_device_state {
                vendor_len: 3,
                ..dev
            }),
            Status::RefusedWrongVendor
        );
        assert_eq!(
            refused(ota_mcu_device_state {
                device_class_len: 2,
                ..dev
            }),
            Status::RefusedWrongClass
        );
        assert_eq!(
            refused(ota_mcu_device_state {
                hardware: c"1.3.0".as_ptr(),
                ..dev
            }),
            Status::RefusedWrongHardware
        );
        assert_eq!(
            refused(ota_mcu_device_state {
                now: NOW + 86_400,
                ..dev
            }),
            Status::RefusedExpired
        );
        assert_eq!(
            refused(ota_mcu_device_state {
                security_counter: 4,
                ..dev
            }),
            Status::RefusedSecurityCounter
        );
        let v3 = [ota_mcu_installed {
            version: c"3.0.0".as_ptr(),
            ..installed[0]
        }];
        assert_eq!(refused(device(&v3)), Status::RefusedUpgradePath);
        let twice = [installed[0], installed[0]];
        assert_eq!(refused(device(&twice)), Status::RefusedDuplicateInstalled);
        let bad_version = [ota_mcu_installed {
            version: c"one".as_ptr(),
            ..installed[0]
        }];
        assert_eq!(refused(device(&bad_version)), Status::InvalidArgument);
        let many = [installed[0]; OTA_MCU_MAX_INSTALLED + 1];
        assert_eq!(refused(device(&many)), Status::InvalidArgument);
        assert_eq!(
            refused(ota_mcu_device_state {
                hardware: null(),
                ..dev
            }),
            Status::NullArgument
        );
        assert_eq!(
            ota_mcu_manifest_decide(m.as_ptr(), m.len(), null()),
            Status::NullArgument
        );

        // Every truncation is refused, and the output is left alone.
        for cut in 0..m.len() {
            let mut info2 = std::mem::zeroed::<ota_mcu_manifest_info>();
            info2.sequence = 1234;
            let st = ota_mcu_manifest_check(m.as_ptr(), cut, &mut info2);
            assert!(
                matches!(st, Status::ManifestMalformed | Status::NullArgument),
                "cut {cut}: {st:?}"
            );
            assert_eq!(info2.sequence, 1234);
        }
    }
}
