//! The flagship demo as a story: a fleet and a vendor, then three releases (`wrong_hardware`,
//! `bad_release`, `good_release`), a device replaced in the field, and the end state. Each
//! scenario is one function below, in the order `examples/README.md` tells them; the rollout
//! itself is [`crate::scenario`], the text report [`crate::report`], the chart [`crate::chart`].

use std::collections::BTreeMap;

use ota_manifest::Layer;
use ota_manifest::semver::{Version, VersionReq};
use ota_twin::{Limits, Twin, Update};

use crate::agent::{self, APP, ContentStore, FIRMWARE, MODEL};
use crate::args::Options;
use crate::catalog::Catalog;
use crate::clock::{HOUR, SimClock};
use crate::fleet::{self, Device, Initial, Installed, REGIONS};
use crate::release::{self, BoxError, ComponentSpec, PatchInfo, Release, Vendor};
use crate::replacement::{self, Replacement};
use crate::scenario::{self, World};
use crate::tally::ScenarioReport;

/// The sequence number of the release every device runs at the start.
pub const FACTORY_SEQUENCE: u64 = 10;
/// A firmware version gets a delta when at least this share of the fleet (percent) runs it.
pub const DELTA_MIN_SHARE_PERCENT: u64 = 2;
/// The twin members that belong to the hardware, never restored onto another unit.
pub const HARDWARE_BOUND: [&str; 1] = ["/sensor/calibration"];

/// One scenario's release and result.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    /// Title.
    pub title: String,
    /// What the scenario shows.
    pub story: String,
    /// The release.
    pub release: ReleaseSummary,
    /// What happened.
    pub report: ScenarioReport,
}

/// The report-relevant facts of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSummary {
    /// Name.
    pub name: String,
    /// Accepted hardware revisions.
    pub hardware: Vec<String>,
    /// Components `id version`.
    pub components: Vec<String>,
    /// Manifest canonical CBOR bytes.
    pub manifest_bytes: usize,
    /// Signed envelope bytes.
    pub signed_bytes: usize,
    /// Patches made.
    pub patches: Vec<PatchInfo>,
}

/// Everything the demo found.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Options.
    pub opts: Options,
    /// Devices per hardware revision.
    pub by_hw: [u64; 3],
    /// Devices on battery.
    pub battery: u64,
    /// Devices per region.
    pub by_region: Vec<u64>,
    /// Firmware versions at the start with their device counts.
    pub initial_firmware: Vec<(String, u64)>,
    /// The three scenarios.
    pub scenarios: Vec<ScenarioRun>,
    /// The replaced device.
    pub replacement: Replacement,
    /// Twins with no delta at the end.
    pub twins_converged: u64,
    /// Devices whose bootloader has a bootable, verified slot at the end.
    pub bootable: u64,
    /// Devices per firmware version at the end.
    pub final_firmware: Vec<(String, u64)>,
    /// Simulated time at the end.
    pub end_time: u64,
    /// The chart.
    pub svg: String,
}

/// Runs the whole demo.
///
/// # Errors
/// An error of one of the crates (a bug in the demo or an API change), never a device outcome.
pub fn run(opts: &Options) -> Result<DemoReport, BoxError> {
    let seed = opts.seed;
    let mut clock = SimClock::default();
    let catalog = Catalog::new(seed);
    let vendor = Vendor::new(seed, clock.now())?;
    let initial = Initial {
        firmware: vec![
            (firmware(&catalog, "3.9.0")?, 3),
            (firmware(&catalog, "4.0.2")?, 22),
            (firmware(&catalog, "4.1.0")?, 75),
        ],
        app: catalog.app[0].clone(),
        model: catalog.model[0].clone(),
    };
    let mut fleet = fleet::generate(opts.devices, seed, &initial);
    for d in &mut fleet {
        d.last_sequence = FACTORY_SEQUENCE;
    }
    let mut twins = fleet
        .iter()
        .map(|d| initial_twin(d, clock.now()))
        .collect::<Result<Vec<_>, _>>()?;
    let census = Census::of(&fleet);
    let store = ContentStore::default();
    let mut world = World {
        fleet: &mut fleet,
        twins: &mut twins,
        root: &vendor.trust_root,
        store: &store,
        clock: &mut clock,
        seed,
    };

    let wrong = wrong_hardware(&mut world, &vendor, &catalog)?;
    world.clock.advance(24 * HOUR);
    let bad = bad_release(&mut world, &vendor, &catalog)?;
    world.clock.advance(24 * HOUR);
    let (good, current) = good_release(&mut world, &vendor, &catalog)?;

    // Devices check in once more after the rollout: every twin syncs.
    let now = world.clock.now();
    for (d, t) in world.fleet.iter_mut().zip(world.twins.iter_mut()) {
        scenario::sync_twin(d, t, now)?;
    }
    // One unit fails in the field and is swapped for a factory-fresh one of the same revision.
    world.clock.advance(2 * HOUR);
    let replacement = replacement::replace_device(&mut world, &current, &catalog, &initial)?;

    let mut report = DemoReport {
        opts: opts.clone(),
        by_hw: census.by_hw,
        battery: census.battery,
        by_region: census.by_region,
        initial_firmware: census.firmware,
        scenarios: vec![wrong, bad, good],
        replacement,
        twins_converged: world.twins.iter().filter(|t| t.delta().is_none()).count() as u64,
        bootable: world
            .fleet
            .iter()
            .filter(|d| d.is_bootable() && agent::trial_boot(d, d.active).is_ok())
            .count() as u64,
        final_firmware: firmware_census(world.fleet),
        end_time: world.clock.now(),
        svg: String::new(),
    };
    report.svg = crate::chart::render(&report);
    Ok(report)
}

/// Scenario 1: a release built for revisions B and C only, offered (by mistake) to everyone.
/// Revision A devices refuse it by the manifest's install decision.
///
/// # Errors
/// An error of one of the crates (a bug in the demo), never a device outcome.
pub fn wrong_hardware(
    world: &mut World<'_>,
    vendor: &Vendor,
    catalog: &Catalog,
) -> Result<ScenarioRun, BoxError> {
    let target = firmware(catalog, "4.1.1")?;
    let release = release::build(
        vendor,
        "sensor-pack 4.1.1",
        target.version.clone(),
        FACTORY_SEQUENCE + 1,
        &["B", "C"],
        &[firmware_spec(world.fleet, target, ">=3.9.0, <4.1.1")?],
        world.clock.now(),
    )?;
    let report = scenario::run(
        world,
        &release,
        "sensor-pack-4.1.1",
        scenario::Options::default(),
    )?;
    Ok(ScenarioRun {
        title: "Scenario 1 - wrong hardware".into(),
        story: "firmware 4.1.1 is built for revisions B and C only; the rollout plan (by mistake) targets every device. Revision A devices refuse it by the manifest's install decision.".into(),
        release: summary(&release),
        report,
    })
}

/// Scenario 2: a firmware whose sensor driver is broken for one part on revision B. Those
/// devices fail their trial boot and fall back; the canary ring's SPRT gate aborts the rollout.
///
/// # Errors
/// An error of one of the crates (a bug in the demo), never a device outcome.
pub fn bad_release(
    world: &mut World<'_>,
    vendor: &Vendor,
    catalog: &Catalog,
) -> Result<ScenarioRun, BoxError> {
    let target = firmware(catalog, "4.2.0")?;
    let release = release::build(
        vendor,
        "firmware 4.2.0",
        target.version.clone(),
        FACTORY_SEQUENCE + 2,
        &["A", "B", "C"],
        &[firmware_spec(world.fleet, target, ">=3.9.0, <4.2.0")?],
        world.clock.now(),
    )?;
    let report = scenario::run(
        world,
        &release,
        "firmware-4.2.0",
        scenario::Options::default(),
    )?;
    Ok(ScenarioRun {
        title: "Scenario 2 - bad release".into(),
        story: "firmware 4.2.0 lost the driver of sensor variant 2, fitted to about a third of revision B boards. Those devices install into the inactive slot, fail the trial boot's health check and fall back.".into(),
        release: summary(&release),
        report,
    })
}

/// Scenario 3: firmware + app + model through every ring, with a fleet-wide configuration
/// change through the twins, interrupted downloads and battery devices on their charger.
/// Returns the run and the release (the replaced device installs it later).
///
/// # Errors
/// An error of one of the crates (a bug in the demo), never a device outcome.
pub fn good_release(
    world: &mut World<'_>,
    vendor: &Vendor,
    catalog: &Catalog,
) -> Result<(ScenarioRun, Release), BoxError> {
    let target = firmware(catalog, "4.2.1")?;
    let app = ComponentSpec {
        id: APP,
        layer: Layer::Application,
        upgrade_from: req(">=2.0.0, <2.4.0")?,
        delta_from: vec![catalog.app[0].clone()],
        image: catalog.app[1].clone(),
        dependencies: vec![(FIRMWARE, req(">=4.2.1")?)],
        order: 1,
    };
    let model = ComponentSpec {
        id: MODEL,
        layer: Layer::Model,
        upgrade_from: req(">=1.0.0, <1.8.0")?,
        delta_from: vec![catalog.model[0].clone()],
        image: catalog.model[1].clone(),
        dependencies: vec![(APP, req(">=2.4.0")?)],
        order: 2,
    };
    let release = release::build(
        vendor,
        "fleet 2026.3 (firmware 4.2.1, app 2.4.0, model 1.8.0)",
        target.version.clone(),
        FACTORY_SEQUENCE + 3,
        &["A", "B", "C"],
        &[
            firmware_spec(world.fleet, target, ">=3.9.0, <4.2.1")?,
            app,
            model,
        ],
        world.clock.now(),
    )?;
    // The operator halves the telemetry interval of the whole fleet through the twins.
    let now = world.clock.now();
    for t in world.twins.iter_mut() {
        t.apply_update(
            &Update::desired(serde_json::json!({ "config": { "telemetry_interval_s": 30 } }))?,
            now,
        )?;
    }
    let options = scenario::Options {
        interrupt_per_mille: 10,
        set_desired: true,
    };
    let report = scenario::run(world, &release, "fleet-2026.3", options)?;
    let run = ScenarioRun {
        title: "Scenario 3 - good release".into(),
        story: "firmware 4.2.1 + app 2.4.0 + model 1.8.0 through 1% -> 10% -> the remaining 89%; battery devices install only on their charger; 1% of downloads are cut and resume from the patch cursor; the twins ask for a new telemetry interval.".into(),
        release: summary(&release),
        report,
    };
    Ok((run, release))
}

/// The fleet at the start: hardware revisions, power, regions, firmware versions.
struct Census {
    by_hw: [u64; 3],
    battery: u64,
    by_region: Vec<u64>,
    firmware: Vec<(String, u64)>,
}

impl Census {
    fn of(fleet: &[Device]) -> Census {
        let mut by_hw = [0u64; 3];
        let mut by_region = vec![0u64; REGIONS.len()];
        for d in fleet {
            by_hw[d.hw as usize] += 1;
            by_region[d.region] += 1;
        }
        Census {
            by_hw,
            battery: fleet.iter().filter(|d| d.power.is_battery()).count() as u64,
            by_region,
            firmware: firmware_census(fleet),
        }
    }
}

/// Devices per firmware version, newest first.
fn firmware_census(fleet: &[Device]) -> Vec<(String, u64)> {
    versions_in_field(fleet)
        .into_iter()
        .rev()
        .map(|(v, (c, _))| (v.to_string(), c))
        .collect()
}

fn firmware(catalog: &Catalog, version: &str) -> Result<Installed, BoxError> {
    Ok(catalog
        .firmware(version)
        .cloned()
        .ok_or_else(|| format!("no firmware {version}"))?)
}

/// The firmware component of a release, with deltas from the versions common in the field.
fn firmware_spec(
    fleet: &[Device],
    image: Installed,
    upgrade_from: &str,
) -> Result<ComponentSpec, BoxError> {
    Ok(ComponentSpec {
        id: FIRMWARE,
        layer: Layer::Firmware,
        upgrade_from: req(upgrade_from)?,
        delta_from: delta_sources(fleet, &image.version),
        image,
        dependencies: Vec::new(),
        order: 0,
    })
}

fn versions_in_field(fleet: &[Device]) -> BTreeMap<Version, (u64, Installed)> {
    let mut m: BTreeMap<Version, (u64, Installed)> = BTreeMap::new();
    for d in fleet {
        if let Some(fw) = d.active_firmware() {
            m.entry(fw.version.clone())
                .or_insert_with(|| (0, fw.clone()))
                .0 += 1;
        }
    }
    m
}

/// The delta sources a server picks for a component: the versions the twins report, held by
/// at least [`DELTA_MIN_SHARE_PERCENT`] of the fleet, other than the target.
fn delta_sources(fleet: &[Device], target: &Version) -> Vec<Installed> {
    let n = fleet.len() as u64;
    versions_in_field(fleet)
        .into_values()
        .filter(|(c, i)| c * 100 >= n * DELTA_MIN_SHARE_PERCENT && &i.version != target)
        .map(|(_, i)| i)
        .collect()
}

fn req(s: &str) -> Result<VersionReq, BoxError> {
    Ok(VersionReq::parse(s)?)
}

fn summary(r: &Release) -> ReleaseSummary {
    ReleaseSummary {
        name: r.name.clone(),
        hardware: r.manifest.compatibility.hardware.clone(),
        components: r
            .manifest
            .components
            .iter()
            .map(|c| format!("{} {}", c.id, c.version))
            .collect(),
        manifest_bytes: r.manifest_cbor.len(),
        signed_bytes: r.signed.len(),
        patches: r.patch_info.clone(),
    }
}

fn initial_twin(dev: &Device, now: u64) -> Result<Twin, BoxError> {
    let mut t = Twin::new(Limits::aws());
    t.apply_update(
        &Update::desired(serde_json::json!({
            "config": dev.config,
            "sensor": { "calibration": dev.calibration },
        }))?,
        now,
    )?;
    t.apply_update(&Update::reported(scenario::reported_state(dev))?, now)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use ota_agent::sim::SimBoot;
    use ota_agent::{Agent, Config, FlashStore, Outcome, Reason, Stage, State};

    use super::*;
    use crate::agent::{BOOT_SECTOR, STORE_SECTOR};

    /// What the device's own flash says: the agent's state, outcome and floor, and the slot
    /// its bootloader starts.
    fn on_flash(d: &Device) -> (State, Outcome, u64, usize) {
        let nvm = d.nvm.clone().expect("the device ran its agent");
        let boot = SimBoot::power_on(nvm.clone(), BOOT_SECTOR).unwrap();
        let booted = usize::from(boot.booted() == ota_manifest::Slot::B);
        let store = FlashStore::new(nvm, STORE_SECTOR).unwrap();
        let agent = Agent::open(store, boot, Config::default()).unwrap();
        (
            agent.state(),
            agent.outcome(),
            agent.floor().sequence,
            booted,
        )
    }

    /// The first two scenarios on a small fleet, then every device's flash is read: the
    /// lifecycle ran in ota-agent, and its record agrees with what the demo counted.
    #[test]
    fn every_device_runs_ota_agent_and_its_record_agrees() {
        let seed = 5;
        let mut clock = SimClock::default();
        let catalog = Catalog::new(seed);
        let vendor = Vendor::new(seed, clock.now()).unwrap();
        let initial = Initial {
            firmware: vec![(firmware(&catalog, "4.1.0").unwrap(), 1)],
            app: catalog.app[0].clone(),
            model: catalog.model[0].clone(),
        };
        let mut fleet = fleet::generate(60, seed, &initial);
        for d in &mut fleet {
            d.last_sequence = FACTORY_SEQUENCE;
        }
        let mut twins: Vec<Twin> = fleet
            .iter()
            .map(|d| initial_twin(d, clock.now()).unwrap())
            .collect();
        let store = ContentStore::default();
        let mut world = World {
            fleet: &mut fleet,
            twins: &mut twins,
            root: &vendor.trust_root,
            store: &store,
            clock: &mut clock,
            seed,
        };
        let s1 = wrong_hardware(&mut world, &vendor, &catalog).unwrap();
        assert_eq!(s1.report.status, "completed");
        for d in world.fleet.iter() {
            let (state, outcome, floor, booted) = on_flash(d);
            assert_eq!(booted, d.active, "{}", d.id);
            if d.hw == fleet::HwRev::A {
                assert_eq!(state, State::Failed, "{}", d.id);
                assert_eq!(
                    outcome,
                    Outcome::Failed {
                        stage: Stage::Decide,
                        reason: Reason::Refused
                    }
                );
                assert_eq!(floor, 0, "a refusal never raises the floor");
            } else {
                assert_eq!(state, State::Committed, "{}", d.id);
                assert_eq!(floor, FACTORY_SEQUENCE + 1);
                assert_eq!(d.last_sequence, FACTORY_SEQUENCE + 1);
            }
        }
        world.clock.advance(24 * HOUR);
        let s2 = bad_release(&mut world, &vendor, &catalog).unwrap();
        let rolled_back: u64 = s2.report.rings.iter().map(|r| r.rolled_back).sum();
        let mut reverted = 0;
        for d in world.fleet.iter() {
            let (state, outcome, floor, booted) = on_flash(d);
            assert_eq!(booted, d.active, "{}", d.id);
            if state == State::Reverted {
                reverted += 1;
                assert_eq!(
                    outcome,
                    Outcome::Reverted {
                        stage: Stage::Trial,
                        reason: Reason::HealthCheckFailed
                    }
                );
                assert_eq!(floor, FACTORY_SEQUENCE + 1, "a revert keeps the floor");
                assert!(d.is_bootable() && crate::agent::trial_boot(d, d.active).is_ok());
            }
        }
        assert!(rolled_back > 0, "the scenario shows a revert");
        assert_eq!(reverted, rolled_back);
    }
}
