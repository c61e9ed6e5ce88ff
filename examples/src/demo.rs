//! The flagship demo: a fleet, a vendor, three releases, the report and the chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use ota_manifest::Layer;
use ota_manifest::semver::{Version, VersionReq};
use ota_twin::{Limits, Pointer, Twin, Update};

use crate::agent::{self, APP, ContentStore, FIRMWARE, MODEL, Outcome};
use crate::args::Options;
use crate::catalog::{APP_SIZE, Catalog, FIRMWARE_SIZE, MODEL_WEIGHTS};
use crate::clock::{HOUR, SimClock, format_elapsed, format_utc};
use crate::fleet::{self, Device, HwRev, Initial, Installed, REGIONS};
use crate::release::{self, BoxError, ComponentSpec, PatchInfo, Release, Vendor};
use crate::rng::{Rng, hash_label};
use crate::scenario::{self, GateKind, RING_NAMES, ScenarioReport, World};
use crate::svg::{self, Marker, Panel, RING_COLORS, Series};
use crate::table::{Table, bytes, count, percent};

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

/// Runs the whole demo.
///
/// # Errors
/// An error of one of the crates (a bug in the demo or an API change), never a device outcome.
pub fn run(opts: &Options) -> Result<DemoReport, BoxError> {
    let seed = opts.seed;
    let mut clock = SimClock::default();
    let catalog = Catalog::new(seed);
    let vendor = Vendor::new(seed, clock.now())?;
    let fw = |v: &str| {
        catalog
            .firmware(v)
            .cloned()
            .ok_or_else(|| format!("no firmware {v}"))
    };
    let initial = Initial {
        firmware: vec![(fw("3.9.0")?, 3), (fw("4.0.2")?, 22), (fw("4.1.0")?, 75)],
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
    let mut by_hw = [0u64; 3];
    let mut by_region = vec![0u64; REGIONS.len()];
    for d in &fleet {
        by_hw[d.hw as usize] += 1;
        by_region[d.region] += 1;
    }
    let battery = fleet.iter().filter(|d| d.power.is_battery()).count() as u64;
    let initial_firmware = versions_in_field(&fleet)
        .into_iter()
        .rev()
        .map(|(v, (c, _))| (v.to_string(), c))
        .collect();
    let store = ContentStore::default();
    let mut scenarios = Vec::new();

    // Scenario 1: a release built for revisions B and C only, offered to everyone.
    let target = fw("4.1.1")?;
    let r1 = release::build(
        &vendor,
        "sensor-pack 4.1.1",
        target.version.clone(),
        FACTORY_SEQUENCE + 1,
        &["B", "C"],
        &[ComponentSpec {
            id: FIRMWARE,
            layer: Layer::Firmware,
            upgrade_from: req(">=3.9.0, <4.1.1")?,
            delta_from: delta_sources(&fleet, &target.version),
            image: target,
            dependencies: Vec::new(),
            order: 0,
        }],
        clock.now(),
    )?;
    let mut world = World {
        fleet: &mut fleet,
        twins: &mut twins,
        root: &vendor.trust_root,
        store: &store,
        clock: &mut clock,
        seed,
    };
    let rep = scenario::run(
        &mut world,
        &r1,
        "sensor-pack-4.1.1",
        scenario::Options::default(),
    )?;
    scenarios.push(ScenarioRun {
        title: "Scenario 1 - wrong hardware".into(),
        story: "firmware 4.1.1 is built for revisions B and C only; the rollout plan (by mistake) targets every device. Revision A devices refuse it by the manifest's install decision.".into(),
        release: summary(&r1),
        report: rep,
    });
    world.clock.advance(24 * HOUR);

    // Scenario 2: a release whose sensor driver is broken for one part on revision B.
    let target = fw("4.2.0")?;
    let r2 = release::build(
        &vendor,
        "firmware 4.2.0",
        target.version.clone(),
        FACTORY_SEQUENCE + 2,
        &["A", "B", "C"],
        &[ComponentSpec {
            id: FIRMWARE,
            layer: Layer::Firmware,
            upgrade_from: req(">=3.9.0, <4.2.0")?,
            delta_from: delta_sources(world.fleet, &target.version),
            image: target,
            dependencies: Vec::new(),
            order: 0,
        }],
        world.clock.now(),
    )?;
    let rep = scenario::run(
        &mut world,
        &r2,
        "firmware-4.2.0",
        scenario::Options::default(),
    )?;
    scenarios.push(ScenarioRun {
        title: "Scenario 2 - bad release".into(),
        story: "firmware 4.2.0 lost the driver of sensor variant 2, fitted to about a third of revision B boards. Those devices install into the inactive slot, fail the trial boot's health check and fall back.".into(),
        release: summary(&r2),
        report: rep,
    });
    world.clock.advance(24 * HOUR);

    // Scenario 3: firmware + app + model, and a configuration change through the twins.
    let target = fw("4.2.1")?;
    let app = catalog.app[1].clone();
    let model = catalog.model[1].clone();
    let r3 = release::build(
        &vendor,
        "fleet 2026.3 (firmware 4.2.1, app 2.4.0, model 1.8.0)",
        target.version.clone(),
        FACTORY_SEQUENCE + 3,
        &["A", "B", "C"],
        &[
            ComponentSpec {
                id: FIRMWARE,
                layer: Layer::Firmware,
                upgrade_from: req(">=3.9.0, <4.2.1")?,
                delta_from: delta_sources(world.fleet, &target.version),
                image: target,
                dependencies: Vec::new(),
                order: 0,
            },
            ComponentSpec {
                id: APP,
                layer: Layer::Application,
                upgrade_from: req(">=2.0.0, <2.4.0")?,
                delta_from: vec![catalog.app[0].clone()],
                image: app,
                dependencies: vec![(FIRMWARE, req(">=4.2.1")?)],
                order: 1,
            },
            ComponentSpec {
                id: MODEL,
                layer: Layer::Model,
                upgrade_from: req(">=1.0.0, <1.8.0")?,
                delta_from: vec![catalog.model[0].clone()],
                image: model,
                dependencies: vec![(APP, req(">=2.4.0")?)],
                order: 2,
            },
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
    let rep = scenario::run(
        &mut world,
        &r3,
        "fleet-2026.3",
        scenario::Options {
            interrupt_per_mille: 10,
            set_desired: true,
        },
    )?;
    scenarios.push(ScenarioRun {
        title: "Scenario 3 - good release".into(),
        story: "firmware 4.2.1 + app 2.4.0 + model 1.8.0 through 1% -> 10% -> everyone; battery devices install only on their charger; 1% of downloads are cut and resume from the patch cursor; the twins ask for a new telemetry interval.".into(),
        release: summary(&r3),
        report: rep,
    });

    // Devices check in once more after the rollout: every twin syncs.
    let now = world.clock.now();
    for (d, t) in world.fleet.iter_mut().zip(world.twins.iter_mut()) {
        scenario::sync_twin(d, t, now)?;
    }

    // One unit fails in the field and is swapped for a factory-fresh one of the same revision.
    world.clock.advance(2 * HOUR);
    let replacement = replace_device(&mut world, &r3, &catalog, &initial)?;

    let twins_converged = world.twins.iter().filter(|t| t.delta().is_none()).count() as u64;
    let bootable = world
        .fleet
        .iter()
        .filter(|d| d.is_bootable() && agent::trial_boot(d, d.active).is_ok())
        .count() as u64;
    let final_firmware = versions_in_field(world.fleet)
        .into_iter()
        .rev()
        .map(|(v, (c, _))| (v.to_string(), c))
        .collect();
    let end_time = world.clock.now();
    let mut report = DemoReport {
        opts: opts.clone(),
        by_hw,
        battery,
        by_region,
        initial_firmware,
        scenarios,
        replacement,
        twins_converged,
        bootable,
        final_firmware,
        end_time,
        svg: String::new(),
    };
    report.svg = chart(&report);
    Ok(report)
}

fn replace_device(
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

fn chart(r: &DemoReport) -> String {
    let panels: Vec<Panel> = r
        .scenarios
        .iter()
        .map(|s| {
            let series = (0..s.report.rings.len())
                .map(|k| Series {
                    name: format!(
                        "{} ({})",
                        RING_NAMES.get(k).unwrap_or(&"?"),
                        count(s.report.rings[k].devices)
                    ),
                    color: RING_COLORS[k % RING_COLORS.len()],
                    points: s
                        .report
                        .timeline
                        .iter()
                        .map(|(t, v)| {
                            let size = s.report.rings[k].devices.max(1) as f64;
                            (
                                *t as f64 / HOUR as f64,
                                v.get(k).copied().unwrap_or(0) as f64 * 100.0 / size,
                            )
                        })
                        .collect(),
                })
                .collect();
            let markers = s
                .report
                .gates
                .iter()
                .map(|g| Marker {
                    x: g.at as f64 / HOUR as f64,
                    label: g.what.clone(),
                    color: match g.kind {
                        GateKind::Abort => "#d62728",
                        GateKind::Pause => "#9467bd",
                        _ => "#555555",
                    },
                })
                .collect();
            Panel {
                title: format!("{}: {} ({})", s.title, s.release.name, s.report.status),
                x_label: "hours since the release was published".into(),
                y_label: "% of the ring updated (healthy)".into(),
                series,
                markers,
            }
        })
        .collect();
    svg::render(&panels)
}

/// The default chart path: `<temp dir>/ota-fleet-rollout.svg`.
pub fn default_svg_path() -> PathBuf {
    std::env::temp_dir().join("ota-fleet-rollout.svg")
}

fn hw_line(v: &[u64; 3]) -> String {
    HwRev::ALL
        .iter()
        .map(|h| format!("{} {}", h.name(), count(v[*h as usize])))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The terminal report.
pub fn render_text(r: &DemoReport, svg_path: &str) -> String {
    let mut s = String::new();
    let n = r.opts.devices as u64;
    let _ = writeln!(
        s,
        "ota fleet rollout demo: {} simulated devices, seed {}",
        count(n),
        r.opts.seed
    );
    let _ = writeln!(
        s,
        "Deterministic: the same --seed gives the same report. Images are generated from the seed"
    );
    let _ = writeln!(
        s,
        "(code-like firmware ~{} KiB, container app ~{} KiB, float32 model {} KiB); nothing is downloaded.",
        FIRMWARE_SIZE / 1024,
        APP_SIZE / 1024,
        MODEL_WEIGHTS * 4 / 1024
    );
    let _ = writeln!(s, "\nFleet");
    let _ = writeln!(s, "  hardware    {}", hw_line(&r.by_hw));
    let _ = writeln!(
        s,
        "  power       mains {}, battery {} (charging once a day in a local window)",
        count(n - r.battery),
        count(r.battery)
    );
    let regions: Vec<String> = REGIONS
        .iter()
        .zip(&r.by_region)
        .map(|(g, c)| {
            format!(
                "{} {} (UTC{:+03}:{:02})",
                g.name,
                count(*c),
                g.utc_offset_minutes / 60,
                (g.utc_offset_minutes % 60).abs()
            )
        })
        .collect();
    let _ = writeln!(s, "  regions     {}", regions.join(", "));
    let fw: Vec<String> = r
        .initial_firmware
        .iter()
        .map(|(v, c)| format!("{v} {}", count(*c)))
        .collect();
    let _ = writeln!(
        s,
        "  firmware    {} (A/B slots), app 2.3.0, model 1.7.0, one twin per device",
        fw.join(", ")
    );
    let _ = writeln!(
        s,
        "  trust root  v1: 3 root keys (2 sign a rotation), 3 release keys (2 sign a release), Ed25519/COSE"
    );
    let _ = writeln!(
        s,
        "  rollout     rings canary 1% (stratified by revision x region x power) -> early 10% -> everyone;\n              SPRT gate per ring (p0 1%, p1 5%), {} devices/min; battery devices need the charger and 40%",
        scenario::RATE_PER_MINUTE
    );
    for sc in &r.scenarios {
        render_scenario(&mut s, sc);
    }
    let rp = &r.replacement;
    let _ = writeln!(s, "\nDevice replacement");
    let _ = writeln!(
        s,
        "  {} failed and was swapped: serial {} -> {}",
        rp.id, rp.serials.0, rp.serials.1
    );
    let _ = writeln!(
        s,
        "  twin restored onto the new unit: version {} -> {} (restore patch of {} operations), {} after its reports",
        rp.versions.0, rp.versions.1, rp.patch_ops, rp.versions.2
    );
    let _ = writeln!(s, "  configuration now {}", rp.config);
    let _ = writeln!(
        s,
        "  sensor calibration is hardware-bound: old unit {:.4}, new unit keeps its own {:.4}",
        rp.calibration.0, rp.calibration.1
    );
    let _ = writeln!(
        s,
        "  {} ({}); twin converged: {}",
        rp.install,
        bytes(rp.install_bytes),
        if rp.converged { "yes" } else { "NO" }
    );
    let _ = writeln!(s, "\nEnd state ({})", format_utc(r.end_time));
    let fw: Vec<String> = r
        .final_firmware
        .iter()
        .map(|(v, c)| format!("{v} {}", count(*c)))
        .collect();
    let _ = writeln!(s, "  firmware        {}", fw.join(", "));
    let _ = writeln!(
        s,
        "  bootable        {} of {} devices boot a verified, healthy slot",
        count(r.bootable),
        count(n)
    );
    let _ = writeln!(
        s,
        "  twins converged {} of {} (desired = reported)",
        count(r.twins_converged),
        count(n)
    );
    let _ = writeln!(s, "  chart           {svg_path}");
    s
}

fn render_scenario(s: &mut String, sc: &ScenarioRun) {
    let rep = &sc.report;
    let rel = &sc.release;
    let _ = writeln!(s, "\n{}: {}", sc.title, rel.name);
    let _ = writeln!(s, "  {}", sc.story);
    let _ = writeln!(
        s,
        "  release: {}; hardware {}; manifest {} B canonical CBOR, signed envelope {} B (2 of 3 release keys)",
        rel.components.join(" + "),
        rel.hardware.join(", "),
        rel.manifest_bytes,
        rel.signed_bytes
    );
    for p in &rel.patches {
        let _ = writeln!(
            s,
            "    delta {} {} -> {}: {} of {} full ({})",
            p.component,
            p.from,
            p.to,
            bytes(p.patch_size),
            bytes(p.full_size),
            percent(p.patch_size, p.full_size)
        );
    }
    let mut t = Table::new([
        "ring",
        "devices",
        "offered",
        "installed",
        "refused",
        "rolled back",
        "failed",
        "never offered",
    ]);
    for (k, row) in rep.rings.iter().enumerate() {
        t.row([
            RING_NAMES.get(k).unwrap_or(&"?").to_string(),
            count(row.devices),
            count(row.offered),
            count(row.installed + row.up_to_date),
            count(row.refused + row.rejected),
            count(row.rolled_back),
            count(row.failed),
            count(row.devices.saturating_sub(row.offered) + row.withdrawn),
        ]);
    }
    let _ = write!(s, "{}", t.render("  "));
    let _ = writeln!(
        s,
        "  installed by revision: {}",
        hw_line(&rep.installed_by_hw)
    );
    if rep.refused_by_hw.iter().any(|&c| c > 0) {
        let _ = writeln!(
            s,
            "  refused by revision:   {}",
            hw_line(&rep.refused_by_hw)
        );
    }
    for (why, c) in &rep.refusals {
        let _ = writeln!(s, "    refused {} x  {why}", count(*c));
    }
    if rep.rolled_back_by_hw.iter().any(|&c| c > 0) {
        let _ = writeln!(
            s,
            "  rolled back by revision: {}",
            hw_line(&rep.rolled_back_by_hw)
        );
    }
    for (why, c) in &rep.rollbacks {
        let _ = writeln!(s, "    rolled back {} x  {why}", count(*c));
    }
    for (why, c) in &rep.failures {
        let _ = writeln!(s, "    failed {} x  {why}", count(*c));
    }
    if rep.aborted {
        let started: u64 = rep
            .rings
            .iter()
            .map(|r| r.installed + r.rolled_back + r.failed + r.refused + r.up_to_date)
            .sum();
        let later: u64 = rep.rings.iter().skip(1).map(|r| r.offered).sum();
        let _ = writeln!(
            s,
            "  blast radius: {} devices received the release ({} of the fleet), {} of them fell back; later rings received it: {}",
            count(started),
            percent(started, rep.rings.iter().map(|r| r.devices).sum()),
            count(rep.rings.iter().map(|r| r.rolled_back).sum()),
            count(later)
        );
        if let Some(k) = rep.abort_after_reports {
            let _ = writeln!(
                s,
                "    (the gate aborted after {} reports; the other devices had started in the same tick and finished)",
                count(k)
            );
        }
    }
    let _ = writeln!(
        s,
        "  bytes sent: {} with deltas vs {} as full images ({}); {} components by delta, {} full",
        bytes(rep.bytes_sent),
        bytes(rep.bytes_full),
        percent(rep.bytes_sent, rep.bytes_full),
        count(rep.deltas),
        count(rep.fulls)
    );
    if rep.resumed > 0 {
        let _ = writeln!(
            s,
            "  interrupted downloads resumed from their 64-byte cursor: {}",
            count(rep.resumed)
        );
    }
    if rep.battery_attempts > 0 {
        let _ = writeln!(
            s,
            "  battery devices: {} installs, {} while charging; {} waited for their charger",
            count(rep.battery_attempts),
            count(rep.battery_attempts_charging),
            count(rep.battery_waited)
        );
    }
    let _ = writeln!(s, "  gate decisions:");
    for g in &rep.gates {
        let _ = writeln!(s, "    {}  {:<26} {}", format_elapsed(g.at), g.what, g.why);
    }
    let _ = writeln!(
        s,
        "  status: {} after {}",
        rep.status,
        format_elapsed(rep.duration)
    );
}
