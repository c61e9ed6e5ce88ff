//! ota-verify: keys, a trust root with thresholds, a signed release, verification on the
//! device (signatures, expiry, anti-rollback, image digest), and a key rotation.
//!
//! Run: `cargo run --example sign_and_verify`

use std::error::Error;
use std::io::Write;

use ota_verify::{ImageRef, Policy, Role, SecretKey, SignOptions, TrustRoot, sign};

/// Signs a release with two of three keys and shows what a device accepts and refuses.
pub fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    // Keys come from 32 bytes of a CSPRNG (or stay in an HSM behind the `Signer` trait); fixed
    // seeds keep this example reproducible. Never do that with real keys.
    let root_keys: Vec<SecretKey> = (1u8..=3).map(|i| SecretKey::from_seed(&[i; 32])).collect();
    let release_keys: Vec<SecretKey> = (11u8..=13)
        .map(|i| SecretKey::from_seed(&[i; 32]))
        .collect();
    let public = |keys: &[SecretKey]| keys.iter().map(SecretKey::public_key).collect::<Vec<_>>();
    let now = 1_772_409_600; // time is always passed in: no hidden clock

    // Trust root v1: 2 of 3 root keys rotate it, 2 of 3 release keys sign a release.
    let root = TrustRoot::builder(1, now + 365 * 86_400)
        .role(Role::ROOT, 2, &public(&root_keys))
        .role(Role::RELEASE, 2, &public(&release_keys))
        .build()?;
    let shipped = root.sign(&[&root_keys[0], &root_keys[1]])?; // goes into every device image
    let device_root = TrustRoot::from_signed(&shipped)?;
    writeln!(
        out,
        "trust root v{}: {} bytes signed",
        device_root.version(),
        shipped.len()
    )?;

    // The release: here the payload is an image reference (size + SHA-256); with ota-manifest it
    // is the manifest's canonical CBOR.
    let image = b"firmware 4.2.0 ".repeat(1000);
    let opts = SignOptions {
        sequence: Some(12),
        expires: Some(now + 30 * 86_400),
        ..Default::default()
    };
    let release = sign(
        &ImageRef::of(&image).to_vec(),
        &[&release_keys[0], &release_keys[2]],
        &opts,
    )?;
    writeln!(out, "release: {} bytes COSE_Sign", release.len())?;

    // On the device: threshold, expiry and anti-rollback (last accepted sequence 11) in one call.
    let verified = device_root.verify(&release, None, &Policy::new(now, 11))?;
    writeln!(
        out,
        "verified: sequence {}, {} signers",
        verified.sequence, verified.signers
    )?;
    // Then the image, checked as it streams in: never a byte more than signed.
    let mut check = ImageRef::decode(verified.payload)?.verifier();
    for piece in image.chunks(4096) {
        check.update(piece)?;
    }
    check.finish()?;
    writeln!(out, "image: size and SHA-256 match")?;

    // What is refused, each with its own error.
    let lone = sign(
        &ImageRef::of(&image).to_vec(),
        &[&release_keys[1]],
        &SignOptions {
            sequence: Some(13),
            ..opts
        },
    )?;
    writeln!(
        out,
        "one key only: {}",
        verdict(
            device_root
                .verify(&lone, None, &Policy::new(now, 11))
                .map(|_| ())
        )
    )?;
    writeln!(
        out,
        "replayed after accepting 12: {}",
        verdict(
            device_root
                .verify(&release, None, &Policy::new(now, 12))
                .map(|_| ())
        )
    )?;
    writeln!(
        out,
        "after expiry: {}",
        verdict(
            device_root
                .verify(&release, None, &Policy::new(now + 31 * 86_400, 11))
                .map(|_| ())
        )
    )?;
    let mut tampered = image.clone();
    tampered[100] ^= 1;
    let mut check = ImageRef::decode(verified.payload)?.verifier();
    writeln!(
        out,
        "tampered image: {}",
        verdict(check.update(&tampered).and_then(|()| check.finish()))
    )?;

    // Rotation: root key 0 leaked. v2 drops it; it needs 2 of v1's root keys AND 2 of its own.
    let new_key = SecretKey::from_seed(&[4; 32]);
    let v2 = TrustRoot::builder(2, now + 365 * 86_400)
        .role(
            Role::ROOT,
            2,
            &[
                root_keys[1].public_key(),
                root_keys[2].public_key(),
                new_key.public_key(),
            ],
        )
        .role(Role::RELEASE, 2, &public(&release_keys))
        .build()?;
    let signed_v2 = v2.sign(&[&root_keys[1], &root_keys[2], &new_key])?;
    let device_root = device_root.update([signed_v2.as_slice()], now)?;
    writeln!(out, "rotated to trust root v{}", device_root.version())?;
    let evil = TrustRoot::builder(3, now + 365 * 86_400)
        .role(Role::ROOT, 1, &[root_keys[0].public_key()])
        .role(Role::RELEASE, 1, &[root_keys[0].public_key()])
        .build()?
        .sign(&[&root_keys[0]])?;
    writeln!(
        out,
        "leaked old root key signs v3: {}",
        verdict(device_root.rotate(&evil).map(|_| ()))
    )?;
    Ok(())
}

fn verdict(r: Result<(), ota_verify::Error>) -> String {
    match r {
        Ok(()) => "accepted".into(),
        Err(e) => format!("refused ({e})"),
    }
}

#[allow(dead_code)] // the integration test includes this file and calls `run` directly
fn main() -> Result<(), Box<dyn Error>> {
    run(&mut std::io::stdout().lock())
}
