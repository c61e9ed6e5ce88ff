//! Writes the test data of the Cortex-M program (`qemu/mcu_test.c`) as C: `fixtures.h` and
//! `fixtures.c` in OUT_DIR. A signed trust root and a signed release manifest (deterministic keys),
//! a tampered copy of the envelope, the old image the device runs and what the new image must be.
//!
//! Usage: `cargo run -p ota-ffi-mcu --example mcu_fixtures -- OUT_DIR [PAIR_DIR]`, where PAIR_DIR
//! holds `old` and `new` (a corpus pair, e.g. `../shared/corpus/data/ujson_so`); without it the
//! images are generated (a deterministic 96 KiB image and an edited copy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ota_delta::{DiffOptions, Profile};
use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Compatibility, Component, DeltaAlgorithm, DeltaSource, DeviceId, Extensions, Layer, Manifest,
};
use ota_verify::{Role, SecretKey, SignOptions, TrustRoot, sign};

/// The device's clock and its last accepted sequence number.
const NOW: u64 = 1_764_000_000;
const LAST_SEQUENCE: u64 = 6;
const SEQUENCE: u64 = 7;

fn stream(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(4) {
                (x >> 32) as u8
            } else {
                (x >> 40) as u8 & 0x0F
            }
        })
        .collect()
}

/// A generated pair: 96 KiB, and a copy with edits, insertions and removals across it.
fn generated() -> (Vec<u8>, Vec<u8>) {
    let old = stream(0x0DDB_1A5E_5BAD_5EED, 96 * 1024);
    let mut new = Vec::with_capacity(old.len() + 8192);
    for (i, block) in old.chunks(8192).enumerate() {
        match i % 4 {
            0 => new.extend_from_slice(block),
            1 => {
                new.extend_from_slice(&block[..4000]);
                new.extend_from_slice(&stream(i as u64 + 1, 700));
                new.extend_from_slice(&block[4000..]);
            }
            2 => new.extend(block.iter().map(|b| b.wrapping_add(1))),
            _ => new.extend_from_slice(&block[..block.len() - 300]),
        }
    }
    (old, new)
}

fn c_array(out: &mut String, name: &str, bytes: &[u8]) {
    writeln!(
        out,
        "__attribute__((section(\".fixtures\"), aligned(8))) const uint8_t {name}[{}] = {{",
        bytes.len().max(1)
    )
    .unwrap();
    for line in bytes.chunks(24) {
        out.push_str("   ");
        for b in line {
            write!(out, " {b},").unwrap();
        }
        out.push('\n');
    }
    out.push_str("};\n");
    writeln!(out, "const size_t {name}_len = {};", bytes.len()).unwrap();
}

fn main() -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut args = std::env::args_os().skip(1);
    let out_dir = PathBuf::from(
        args.next()
            .ok_or("usage: mcu_fixtures OUT_DIR [PAIR_DIR]")?,
    );
    let pair = args.next().map(PathBuf::from);
    let (origin, old, new) = match &pair {
        Some(dir) => {
            let read = |f: &str| {
                std::fs::read(dir.join(f)).map_err(|e| format!("{}/{f}: {e}", dir.display()))
            };
            (
                format!("corpus pair {}", dir.display()),
                read("old")?,
                read("new")?,
            )
        }
        None => (
            "generated 96 KiB pair".to_string(),
            generated().0,
            generated().1,
        ),
    };

    let keys = |seeds: &[u8]| {
        seeds
            .iter()
            .map(|&s| SecretKey::from_seed(&[s; 32]))
            .collect::<Vec<_>>()
    };
    let (root_keys, release_keys) = (keys(&[1, 2, 3]), keys(&[10, 11]));
    let public = |k: &[SecretKey]| k.iter().map(SecretKey::public_key).collect::<Vec<_>>();
    let root = TrustRoot::builder(1, 2_000_000_000)
        .role(Role::ROOT, 2, &public(&root_keys))
        .role(Role::RELEASE, 2, &public(&release_keys))
        .build()
        .map_err(|e| err(&e))?;
    let root_signed = root
        .sign(&[&root_keys[0], &root_keys[1]])
        .map_err(|e| err(&e))?;

    let v = |s: &str| Version::parse(s).map_err(|e| err(&e));
    // The patch in the MCU profile with its default frames (DEFLATE, 10 KiB: the program's frame
    // buffer is OTA_MCU_FRAME_BUF_LEN = 10,496 B; FORMAT.md §10 of ota-delta).
    let patch = ota_delta::diff_with(
        &old,
        &new,
        &DiffOptions {
            profile: Profile::Mcu,
            ..DiffOptions::default()
        },
    )
    .map_err(|e| err(&e))?;
    let mut firmware = Component::from_image(
        "firmware",
        Layer::Firmware,
        v("2.0.0")?,
        VersionReq::parse(">=1.0.0, <2.0.0").map_err(|e| err(&e))?,
        &new,
        Some(4096),
    )
    .map_err(|e| err(&e))?;
    firmware.deltas.push(DeltaSource::from_patch(
        v("1.0.0")?,
        &old,
        &patch,
        DeltaAlgorithm::OtaDelta,
    ));
    let manifest = Manifest {
        name: "sensor".into(),
        version: v("2.0.0")?,
        sequence: SEQUENCE,
        security_counter: 3,
        issued_at: NOW - 3600,
        expires_at: Some(NOW + 30 * 86_400),
        notes_uri: None,
        support_ends_at: None,
        max_security_deferral: None,
        compatibility: Compatibility {
            vendor: DeviceId::new(b"acme").map_err(|e| err(&e))?,
            classes: vec![DeviceId::new(b"th-sensor").map_err(|e| err(&e))?],
            hardware: vec!["1.2.0".into()],
            hardware_ranges: Vec::new(),
        },
        components: vec![firmware],
        extensions: Extensions::new(),
    };
    manifest.validate().map_err(|e| err(&e))?;
    let cbor = manifest.to_cbor().map_err(|e| err(&e))?;
    let opts = SignOptions {
        sequence: Some(SEQUENCE),
        expires: Some(NOW + 30 * 86_400),
        ..SignOptions::default()
    };
    let envelope =
        sign(&cbor, &[&release_keys[0], &release_keys[1]], &opts).map_err(|e| err(&e))?;
    // One bit of the last signature flipped: must be refused as a bad signature.
    let mut tampered = envelope.clone();
    if let Some(last) = tampered.last_mut() {
        *last ^= 1;
    }
    let new_sha = ota_verify::Sha256::digest(&new);
    let old_sha = ota_verify::Sha256::digest(&old);

    let mut c = String::from(
        "/* Generated by ota-ffi-mcu/examples/mcu_fixtures.rs; do not edit. */\n#include \"fixtures.h\"\n\n",
    );
    c_array(&mut c, "fx_root", &root_signed);
    c_array(&mut c, "fx_envelope", &envelope);
    c_array(&mut c, "fx_envelope_tampered", &tampered);
    c_array(&mut c, "fx_old", &old);
    c_array(&mut c, "fx_new_sha256", &new_sha.0);
    c_array(&mut c, "fx_old_sha256", &old_sha.0);
    c_array(&mut c, "fx_patch", &patch);
    let mut h = String::from(
        "/* Generated by ota-ffi-mcu/examples/mcu_fixtures.rs; do not edit. */\n#ifndef OTA_MCU_FIXTURES_H\n#define OTA_MCU_FIXTURES_H\n#include <stddef.h>\n#include <stdint.h>\n\n",
    );
    writeln!(h, "#define FX_ORIGIN \"{origin}\"").unwrap();
    writeln!(h, "#define FX_NOW {NOW}u\n#define FX_LAST_SEQUENCE {LAST_SEQUENCE}u\n#define FX_SEQUENCE {SEQUENCE}u").unwrap();
    writeln!(h, "#define FX_MANIFEST_LEN {}u", cbor.len()).unwrap();
    writeln!(h, "#define FX_NEW_LEN {}u", new.len()).unwrap();
    h.push_str("#define FX_VENDOR \"acme\"\n#define FX_CLASS \"th-sensor\"\n#define FX_HARDWARE \"1.2.0\"\n");
    h.push_str("#define FX_OLD_VERSION \"1.0.0\"\n#define FX_COMPONENT \"firmware\"\n");
    for name in [
        "fx_root",
        "fx_envelope",
        "fx_envelope_tampered",
        "fx_old",
        "fx_new_sha256",
        "fx_old_sha256",
        "fx_patch",
    ] {
        writeln!(
            h,
            "extern const uint8_t {name}[];\nextern const size_t {name}_len;"
        )
        .unwrap();
    }
    h.push_str("#endif\n");
    std::fs::create_dir_all(&out_dir).map_err(|e| err(&e))?;
    let write =
        |p: &Path, s: &str| std::fs::write(p, s).map_err(|e| format!("{}: {e}", p.display()));
    write(&out_dir.join("fixtures.c"), &c)?;
    write(&out_dir.join("fixtures.h"), &h)?;
    println!("MCU patch {} B", patch.len());
    println!(
        "{origin}: old {} B, new {} B, envelope {} B",
        old.len(),
        new.len(),
        envelope.len()
    );
    Ok(())
}
