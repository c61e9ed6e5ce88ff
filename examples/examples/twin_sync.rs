//! ota-twin: a device twin between a server and a device: desired, reported, the delta, a version
//! conflict, and restoring the configuration onto replacement hardware.
//!
//! Run: `cargo run --example twin_sync`

use std::error::Error;
use std::io::Write;

use ota_twin::{Limits, Pointer, Twin, Update};
use serde_json::json;

/// One server/device round, then a hardware swap.
pub fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let t0 = 1_772_409_600; // timestamps are passed in
    let mut twin = Twin::new(Limits::aws()); // AWS IoT Device Shadow limits: 8 KB, depth 6

    // The device reports what it runs and its own hardware facts.
    let hello = json!({
        "firmware": "4.1.0",
        "config": { "telemetry_interval_s": 60, "log_level": "info" },
        "sensor": { "calibration": 1.013 },
        "serial": "SN-0001",
    });
    twin.apply_update(&Update::reported(hello)?, t0)?;

    // The operator wants new firmware, a faster telemetry rate, and records the calibration.
    let accepted = twin.apply_update(
        &Update::desired(json!({
            "firmware": "4.2.1",
            "config": { "telemetry_interval_s": 30 },
            "sensor": { "calibration": 1.013 },
        }))?,
        t0 + 60,
    )?;
    // The delta: only what differs (the serial, only reported, is left out).
    writeln!(
        out,
        "version {}, delta {}",
        accepted.version,
        json!(accepted.delta)
    )?;

    // A device report naming an old version is refused, as AWS answers 409.
    let stale = Update::reported(json!({ "firmware": "4.2.1" }))?.expect_version(1);
    match twin.apply_update(&stale, t0 + 120) {
        Ok(_) => writeln!(out, "stale report: accepted (wrong!)")?,
        Err(e) => writeln!(out, "stale report: refused ({e})")?,
    }

    // The device installs, applies the config and reports; the twin converges.
    let report =
        Update::reported(json!({ "firmware": "4.2.1", "config": { "telemetry_interval_s": 30 } }))?
            .expect_version(twin.version());
    twin.apply_update(&report, t0 + 600)?;
    writeln!(
        out,
        "after the report: version {}, delta {}",
        twin.version(),
        json!(twin.delta())
    )?;

    // The unit breaks and is replaced. The new board reports factory settings and its own
    // calibration; the calibration is hardware-bound and is not restored from the old twin.
    let fresh = json!({
        "firmware": "4.1.0",
        "config": { "telemetry_interval_s": 60, "log_level": "info" },
        "sensor": { "calibration": 0.987 },
        "serial": "SN-0002",
    });
    let fresh = fresh.as_object().cloned().ok_or("not an object")?;
    let restore = twin.restore_onto(
        &[Pointer::parse("/sensor/calibration")?],
        &fresh,
        t0 + 86_400,
    )?;
    writeln!(
        out,
        "restore: new twin version {}, patch {}",
        restore.twin.version(),
        restore.patch.to_json()
    )?;
    // The device applies the patch to its settings. Version members in it (`firmware`) are what
    // its update agent must install, not values it may simply write.
    let mut device = serde_json::Value::Object(fresh);
    restore.patch.apply(&mut device)?;
    writeln!(
        out,
        "new unit: telemetry {}s, calibration {} (its own)",
        device["config"]["telemetry_interval_s"], device["sensor"]["calibration"]
    )?;
    Ok(())
}

#[allow(dead_code)] // the integration test includes this file and calls `run` directly
fn main() -> Result<(), Box<dyn Error>> {
    run(&mut std::io::stdout().lock())
}
