//! A device replaced in the field: the new unit restores its configuration from the old unit's
//! twin (hardware-bound members excepted) and installs the current release.

use ota_twin::Pointer;

use crate::agent::{self, Outcome};
use crate::catalog::Catalog;
use crate::demo::{FACTORY_SEQUENCE, HARDWARE_BOUND};
use crate::fleet::{self, Device, Initial};
use crate::release::{BoxError, Release};
use crate::rng::{Rng, hash_label};
use crate::scenario::{self, World};

/// The replaced device's story.
#[derive(Debug, Clone, PartialEq)]
pub struct Replacement {
    /// Device id.
    pub id: String,
    /// Old and new serial.
    pub serials: (String, String),
    /// The old twin's version, the restored twin's version, and its version after the new unit
    /// reported.
    pub versions: (u64, u64, u64),
    /// Operations in the restore patch.
    pub patch_ops: usize,
    /// The restore patch as JSON.
    pub patch_json: String,
    /// The configuration the new unit ended with.
    pub config: serde_json::Value,
    /// The old unit's and the new unit's calibration (hardware-bound: the new one keeps its own).
    pub calibration: (f64, f64),
    /// The new unit's calibration as its twin reports it after the restore.
    pub reported_calibration: Option<f64>,
    /// The install on the new unit.
    pub install: String,
    /// Bytes the install downloaded.
    pub install_bytes: u64,
    /// The twin has no delta after the restore and the install.
    pub converged: bool,
}

/// One unit fails in the field and is swapped for a factory-fresh one of the same revision: the
/// new unit restores its configuration from the old twin, keeps its own calibration, and
/// installs the current release.
///
/// # Errors
/// An error of ota-twin (a bug in the demo, not a device outcome).
pub fn replace_device(
    world: &mut World<'_>,
    release: &Release,
    catalog: &Catalog,
    initial: &Initial,
) -> Result<Replacement, BoxError> {
    let n = world.fleet.len();
    let i = (hash_label(world.seed, "replace") % n as u64) as usize;
    let now = world.clock.now();
    let mut rng = Rng::stream(world.seed, "replacement");
    let old = world.fleet[i].clone();
    let old_twin = world.twins[i].clone();
    // The factory ships the production firmware of the previous year, the old app and model.
    let factory = catalog
        .firmware("4.1.0")
        .cloned()
        .ok_or("no factory firmware")?;
    let mut dev = Device {
        serial: format!("SN{:012X}", rng.next_u64() >> 16),
        calibration: 0.9 + 0.2 * rng.unit(),
        slots: [
            fleet::Slot {
                image: Some(factory),
                bootable: true,
            },
            fleet::Slot::default(),
        ],
        active: 0,
        app: initial.app.clone(),
        model: initial.model.clone(),
        config: serde_json::json!({ "telemetry_interval_s": 60, "log_level": "info" }),
        boots: 1,
        last_sequence: FACTORY_SEQUENCE,
        security_floor: 1,
        nvm: None,
        ..old.clone()
    };
    // First contact: the new unit reports itself; the server restores the old twin onto it.
    let fresh = match scenario::reported_state(&dev) {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let bound = HARDWARE_BOUND
        .iter()
        .map(|p| Pointer::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let restore = old_twin.restore_onto(&bound, &fresh, now)?;
    let mut twin = restore.twin;
    let restored_version = twin.version();
    // The device applies the configuration part of the restore (its delta), then installs the
    // release its twin asks for, then reports.
    scenario::sync_twin(&mut dev, &mut twin, now)?;
    let attempt = agent::install(&mut dev, release, world.root, now, None, world.store);
    scenario::sync_twin(&mut dev, &mut twin, now)?;
    let install = match &attempt.outcome {
        Outcome::Installed => format!(
            "installed {} ({} delta, {} full)",
            release.name, attempt.deltas, attempt.fulls
        ),
        other => format!("{other:?}"),
    };
    let reported_calibration = twin
        .reported()
        .and_then(|r| r.get("sensor"))
        .and_then(|s| s.get("calibration"))
        .and_then(serde_json::Value::as_f64);
    let rep = Replacement {
        id: dev.id.clone(),
        serials: (old.serial.clone(), dev.serial.clone()),
        versions: (old_twin.version(), restored_version, twin.version()),
        patch_ops: restore.patch.len(),
        patch_json: restore.patch.to_json(),
        config: dev.config.clone(),
        calibration: (old.calibration, dev.calibration),
        reported_calibration,
        install,
        install_bytes: attempt.bytes_sent,
        converged: twin.delta().is_none(),
    };
    world.fleet[i] = dev;
    world.twins[i] = twin;
    Ok(rep)
}
