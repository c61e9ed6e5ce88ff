//! ota-manifest: build a release manifest, encode it as canonical CBOR, decode it on the device,
//! and let the device decide from the manifest alone whether and how it installs.
//!
//! Run: `cargo run --example manifest_plan`

use std::error::Error;
use std::io::Write;

use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{
    Action, Compatibility, Component, DeltaAlgorithm, DeltaSource, DeviceId, DeviceState,
    Installed, Layer, Manifest, Sha256, Slot,
};

/// Builds a release for hardware revisions B and C, then asks three devices what they would do.
pub fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let old_image = b"thermostat firmware 4.1.0 ".repeat(400);
    let new_image = b"thermostat firmware 4.2.0 ".repeat(400);
    // A real pipeline makes this with ota-delta (see the `delta_resume` example).
    let patch = b"a patch from 4.1.0 to 4.2.0".to_vec();

    // One component: size, SHA-256 and a SHA-256 per 4 KiB chunk come from the image itself.
    let mut fw = Component::from_image(
        "firmware",
        Layer::Firmware,
        Version::new(4, 2, 0),
        VersionReq::parse(">=4.0.0, <4.2.0")?, // the upgrade path
        &new_image,
        Some(4096),
    )?;
    fw.deltas.push(DeltaSource::from_patch(
        Version::new(4, 1, 0),
        &old_image,
        &patch,
        DeltaAlgorithm::OtaDelta,
    ));

    let vendor = DeviceId::new(b"acme-iot")?;
    let class = DeviceId::new(b"thermostat")?;
    let manifest = Manifest {
        name: "thermostat 4.2.0".into(),
        version: Version::new(4, 2, 0),
        sequence: 12,        // what anti-rollback compares
        security_counter: 3, // a floor below which nothing installs
        issued_at: 1_772_409_600,
        expires_at: Some(1_775_001_600),
        notes_uri: None,
        support_ends_at: None,
        max_security_deferral: None,
        compatibility: Compatibility {
            vendor: vendor.clone(),
            classes: vec![class.clone()],
            hardware: vec!["B".into(), "C".into()], // built for these board revisions only
            hardware_ranges: vec![],
        },
        components: vec![fw],
        extensions: Default::default(),
    };
    manifest.validate()?;

    // Canonical CBOR is what gets signed and shipped; JSON is for people and converts to the
    // identical bytes.
    let cbor = manifest.to_cbor()?;
    assert_eq!(Manifest::from_json(&manifest.to_json()?)?.to_cbor()?, cbor);
    writeln!(out, "manifest: {} bytes of canonical CBOR", cbor.len())?;

    // On the device: strict decoding, then the install decision.
    let received = Manifest::from_cbor(&cbor)?;
    writeln!(out, "decoded equals built: {}", received == manifest)?;
    let device = |hardware: &str, version: Version, image: &[u8], last_sequence: u64| DeviceState {
        vendor: vendor.clone(),
        class: class.clone(),
        hardware: hardware.into(),
        installed: vec![Installed {
            id: "firmware".into(),
            version,
            sha256: Sha256::of(image),
        }],
        security_counter: 3,
        last_sequence: Some(last_sequence),
        now: 1_772_500_000,
        active_slot: Slot::A,
    };

    // Revision B on 4.1.0: fetch the delta, write slot B, reboot.
    let plan = received.plan(&device("B", Version::new(4, 1, 0), &old_image, 11))?;
    for step in &plan.steps {
        let how = match &step.action {
            Action::Delta(d) => format!("delta from {} ({} bytes)", d.from_version, d.patch_size),
            Action::Full { size, .. } => format!("full image ({size} bytes)"),
            Action::Skip => "skip".into(),
            other => format!("{other:?}"),
        };
        writeln!(
            out,
            "rev B on 4.1.0: {} {} by {how}, slot {:?}, reboot {}",
            step.component, step.version, step.slot, step.reboot
        )?;
    }

    // Revision A: refused by rule, whatever the rollout server asked for.
    match received.plan(&device("A", Version::new(4, 1, 0), &old_image, 11)) {
        Ok(_) => writeln!(out, "rev A: would install (wrong!)")?,
        Err(refusal) => writeln!(out, "rev A: refused: {refusal}")?,
    }
    // A device that already accepted sequence 12: a replay is a downgrade.
    match received.plan(&device("C", Version::new(4, 1, 0), &old_image, 12)) {
        Ok(_) => writeln!(out, "replay: would install (wrong!)")?,
        Err(refusal) => writeln!(out, "replay: refused: {refusal}")?,
    }
    Ok(())
}

#[allow(dead_code)] // the integration test includes this file and calls `run` directly
fn main() -> Result<(), Box<dyn Error>> {
    run(&mut std::io::stdout().lock())
}
