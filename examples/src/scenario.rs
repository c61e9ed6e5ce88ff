//! One release rolled out over the fleet: the server side (ota-rollout's assignment, rate limit
//! and health gates) driving the agents (see [`crate::agent`]) on a simulated clock.

use std::collections::{BTreeMap, HashMap};

use ota_rollout::{
    Decision, DeviceContext, Event, FailAction, Gate, Inconclusive, InstallPolicy, MayStart, Plan,
    RateLimit, Report, Ring, Rollout, Rule, Sprt, Status,
};
use ota_twin::{Twin, Update};
use ota_verify::TrustRoot;

use crate::agent::{self, Attempt, ContentStore, Outcome};
use crate::clock::{HOUR, MINUTE, SimClock};
use crate::fleet::{Device, HwRev, Link};
use crate::release::{BoxError, Release};
use crate::rng::hash_label;

/// Ring names, in order.
pub const RING_NAMES: [&str; 3] = ["canary", "early", "everyone"];
/// Each ring's own share of the fleet: the guide's 1% / 10% / the remaining 89%.
pub const RING_SHARES: [f64; 3] = ota_rollout::DEFAULT_RING_SHARES;
/// Simulation step.
pub const TICK: u64 = 5 * MINUTE;
/// A rollout that has not finished after this long is stopped (and the report says so).
pub const MAX_DURATION: u64 = 6 * 24 * HOUR;
/// Devices started per minute of rollout time (the server's rate limit).
pub const RATE_PER_MINUTE: u32 = 150;

/// The rollout plan every scenario uses: 1% stratified canaries, 10%, everyone; an SPRT gate
/// per ring (baseline 1% failures, unacceptable 5%); a rate limit.
pub fn rollout_plan(salt: &str) -> Plan {
    let gate = |soak_hours: u64| {
        let mut g = Gate::new(Rule::Sprt(Sprt {
            p0: 0.01,
            p1: 0.05,
            alpha: 0.05,
            beta: 0.10,
        }));
        g.min_soak_secs = soak_hours * HOUR;
        g.min_reports = 50;
        g.on_fail = FailAction::Abort;
        // A small ring that reported whole without reaching either bound is not a reason to
        // stop a demo: promote (a real operator may prefer to be asked).
        g.on_inconclusive = Inconclusive::Promote;
        g
    };
    let rings = RING_NAMES
        .iter()
        .zip(RING_SHARES)
        .zip([2, 4, 0])
        .map(|((name, share), soak)| Ring {
            name: (*name).to_owned(),
            share,
            gate: gate(soak),
        })
        .collect();
    let mut plan = Plan::new(salt, rings);
    // Canaries like the fleet: every (revision, region, power) combination has at least one.
    plan.strata = vec!["hw".into(), "region".into(), "power".into()];
    plan.rate = Some(RateLimit::per_minute(RATE_PER_MINUTE));
    plan
}

/// When a device may install: battery devices only on the charger with at least 40% charge;
/// mains devices any time.
pub fn install_policy(dev: &Device) -> InstallPolicy {
    if dev.power.is_battery() {
        InstallPolicy {
            require_charging: true,
            min_battery_percent: Some(40),
            ..Default::default()
        }
    } else {
        InstallPolicy::default()
    }
}

/// What the device tells the server about itself now.
pub fn device_context(dev: &Device, now: u64, offered_at: u64) -> DeviceContext {
    let p = dev.power_state(now);
    DeviceContext {
        utc_offset_minutes: dev.region().utc_offset_minutes,
        charging: p.charging,
        battery_percent: p.battery_percent,
        metered: dev.link == Link::Lte,
        idle: true,
        offered_at,
    }
}

/// Per-ring counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RingRow {
    /// Devices assigned to the ring.
    pub devices: u64,
    /// Devices the server offered the release to.
    pub offered: u64,
    /// Installed and healthy.
    pub installed: u64,
    /// Already up to date.
    pub up_to_date: u64,
    /// Refused by a rule of the manifest's install decision.
    pub refused: u64,
    /// Rejected the signed envelope.
    pub rejected: u64,
    /// Trial boot failed, fell back.
    pub rolled_back: u64,
    /// Download or apply failed.
    pub failed: u64,
    /// Offered but still waiting (window, charger) when the rollout stopped.
    pub withdrawn: u64,
}

/// A gate decision, with when and why.
#[derive(Debug, Clone, PartialEq)]
pub struct GateLine {
    /// Seconds since the scenario began.
    pub at: u64,
    /// What was decided (`promote canary -> early`, `abort at canary`, `complete`).
    pub what: String,
    /// The gate's reason with its numbers.
    pub why: String,
    /// Promote/abort/pause/complete.
    pub kind: GateKind,
}

/// Kinds of gate decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKind {
    /// A ring opened.
    Promote,
    /// Stopped for good.
    Abort,
    /// Waiting for a human.
    Pause,
    /// Everyone reported.
    Complete,
}

/// The result of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioReport {
    /// Counts per ring.
    pub rings: Vec<RingRow>,
    /// Gate decisions in order.
    pub gates: Vec<GateLine>,
    /// Reports the gate had counted when it aborted (devices already installing then finish).
    pub abort_after_reports: Option<u64>,
    /// Final status: `completed`, `aborted at canary`...
    pub status: String,
    /// True when the rollout aborted.
    pub aborted: bool,
    /// Seconds from the first offer to the end.
    pub duration: u64,
    /// Bytes sent to devices.
    pub bytes_sent: u64,
    /// Bytes the same installs would have needed as full images.
    pub bytes_full: u64,
    /// Components installed from a delta / from a full image.
    pub deltas: u64,
    /// Components installed from a full image.
    pub fulls: u64,
    /// Interrupted downloads that resumed from their cursor.
    pub resumed: u64,
    /// Refusal and rejection reasons with their counts.
    pub refusals: BTreeMap<String, u64>,
    /// Rollback reasons with their counts.
    pub rollbacks: BTreeMap<String, u64>,
    /// Failure reasons with their counts.
    pub failures: BTreeMap<String, u64>,
    /// Healthy installs per hardware revision (A, B, C).
    pub installed_by_hw: [u64; 3],
    /// Refusals per hardware revision.
    pub refused_by_hw: [u64; 3],
    /// Rollbacks per hardware revision.
    pub rolled_back_by_hw: [u64; 3],
    /// Install attempts on battery devices.
    pub battery_attempts: u64,
    /// Of those, attempts made while on the charger.
    pub battery_attempts_charging: u64,
    /// Battery devices that had to wait for their charger at least one tick.
    pub battery_waited: u64,
    /// Cumulative healthy installs per ring over time: (seconds since start, per ring).
    pub timeline: Vec<(u64, Vec<u64>)>,
}

/// What the scenario does besides installing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Share of devices (per mille) whose firmware download is interrupted and resumed.
    pub interrupt_per_mille: u64,
    /// Set each offered device's twin `desired` to the release before it installs.
    pub set_desired: bool,
}

fn hw_index(hw: HwRev) -> usize {
    hw as usize
}

/// Everything a scenario runs against.
pub struct World<'a> {
    /// The fleet.
    pub fleet: &'a mut [Device],
    /// One twin per device.
    pub twins: &'a mut [Twin],
    /// The trust root devices ship with.
    pub root: &'a TrustRoot,
    /// Identical images share memory.
    pub store: &'a ContentStore,
    /// The clock.
    pub clock: &'a mut SimClock,
    /// The run's seed.
    pub seed: u64,
}

/// The twin `reported` section a device sends.
pub fn reported_state(dev: &Device) -> serde_json::Value {
    let v =
        |i: Option<&crate::fleet::Installed>| i.map(|x| x.version.to_string()).unwrap_or_default();
    serde_json::json!({
        "firmware": v(dev.active_firmware()),
        "app": dev.app.version.to_string(),
        "model": dev.model.version.to_string(),
        "config": dev.config,
        "serial": dev.serial,
        "hw": dev.hw.name(),
        "sensor": { "calibration": dev.calibration, "variant": dev.sensor_variant },
    })
}

/// The device side of a twin round: read the delta, apply the configuration it asks for, report
/// everything. Versions in the delta are not "applied" here: only an install changes them.
///
/// # Errors
/// Whatever the twin refuses (limits, a version conflict).
pub fn sync_twin(dev: &mut Device, twin: &mut Twin, now: u64) -> Result<(), BoxError> {
    if let Some(delta) = twin.delta()
        && let Some(cfg) = delta.get("config")
    {
        ota_twin::apply_merge_patch(&mut dev.config, cfg);
    }
    twin.apply_update(&Update::reported(reported_state(dev))?, now)?;
    Ok(())
}

/// Rolls `release` out over the fleet until it completes, aborts or runs out of time.
///
/// # Errors
/// An error of ota-rollout or ota-twin (a bug in the demo, not a device outcome).
pub fn run(
    world: &mut World<'_>,
    release: &Release,
    salt: &str,
    opts: Options,
) -> Result<ScenarioReport, BoxError> {
    let start = world.clock.now();
    let plan = rollout_plan(salt);
    let rdevs: Vec<ota_rollout::Device> = world
        .fleet
        .iter()
        .map(|d| {
            ota_rollout::Device::new(d.id.clone())
                .with("hw", d.hw.name())
                .with("region", d.region().name)
                .with(
                    "power",
                    if d.power.is_battery() {
                        "battery"
                    } else {
                        "mains"
                    },
                )
        })
        .collect();
    let assignment = plan.assign_fleet(&rdevs)?;
    // Indices into `rdevs`, which is the fleet in order: they index `world.fleet` directly.
    let rings: Vec<Vec<usize>> = assignment.rings.clone();
    let mut rollout = Rollout::new(plan, &assignment.ring_sizes(), start)?;
    let mut rep = ScenarioReport {
        rings: rings
            .iter()
            .map(|r| RingRow {
                devices: r.len() as u64,
                ..Default::default()
            })
            .collect(),
        gates: Vec::new(),
        abort_after_reports: None,
        status: String::new(),
        aborted: false,
        duration: 0,
        bytes_sent: 0,
        bytes_full: 0,
        deltas: 0,
        fulls: 0,
        resumed: 0,
        refusals: BTreeMap::new(),
        rollbacks: BTreeMap::new(),
        failures: BTreeMap::new(),
        installed_by_hw: [0; 3],
        refused_by_hw: [0; 3],
        rolled_back_by_hw: [0; 3],
        battery_attempts: 0,
        battery_attempts_charging: 0,
        battery_waited: 0,
        timeline: vec![(0, vec![0; rings.len()])],
    };
    // Offered devices not started yet: (ring, index in ring, device, offered at, waited).
    let mut pending: Vec<(usize, u64, usize, u64, bool)> = Vec::new();
    let mut installed = vec![0u64; rings.len()];
    let mut decisions = rollout.handle(Event::Tick, start)?;
    loop {
        let now = world.clock.now();
        if note_decisions(
            &decisions,
            &rings,
            now - start,
            &mut pending,
            &mut rep,
            world,
            release,
            opts,
            now,
        )? {
            break;
        }
        // The devices: each offered one installs when its policy lets it. Devices that start
        // in the same tick install concurrently (as real devices do); their reports reach the
        // server in start order.
        let mut waiting = Vec::with_capacity(pending.len());
        let mut starting = Vec::new();
        for (ring, idx, dev_i, offered_at, waited) in pending.iter().copied() {
            let dev = &world.fleet[dev_i];
            let ctx = device_context(dev, now, offered_at);
            if let MayStart::No { .. } = install_policy(dev).may_start(&ctx, now, false) {
                waiting.push((ring, idx, dev_i, offered_at, true));
                continue;
            }
            if dev.power.is_battery() {
                rep.battery_attempts += 1;
                rep.battery_attempts_charging += u64::from(ctx.charging);
                rep.battery_waited += u64::from(waited);
            }
            // The first device of each ring, and a share of the others, lose their link in the
            // middle of the firmware download.
            let cut = (opts.interrupt_per_mille > 0
                && (idx == 0
                    || hash_label(world.seed, &format!("cut/{salt}/{}", dev.id)) % 1000
                        < opts.interrupt_per_mille))
                .then(|| 1 + (hash_label(world.seed, &dev.id) % 3) as u32);
            starting.push((ring, idx, dev_i, cut));
        }
        let results = install_all(world, release, &starting, now)?;
        let mut later = Vec::new();
        for ((ring, idx, dev_i, _), attempt) in starting.iter().copied().zip(results) {
            if count_attempt(&attempt, world.fleet[dev_i].hw, ring, &mut rep) {
                installed[ring] += 1;
            }
            if !matches!(rollout.status(), Status::Running | Status::Paused { .. }) {
                // Stopped by an earlier report of this tick: nobody listens any more (the
                // device did install; the report above counts it).
                continue;
            }
            // ota-rollout has no "rejected" report: a refusal leaves the device healthy and
            // unchanged, so for the health gate it is not a failure (as AWS IoT Jobs when
            // REJECTED is left out of the abort criteria). The report counts refusals apart.
            let outcome = match attempt.outcome {
                Outcome::RolledBack(_) | Outcome::Failed(_) => Report::Failed,
                _ => Report::Succeeded,
            };
            let decisions = rollout.handle(
                Event::Report {
                    ring,
                    index: idx,
                    outcome,
                },
                now,
            )?;
            // Devices offered by a promotion mid-tick start from the next tick on.
            note_decisions(
                &decisions,
                &rings,
                now - start,
                &mut later,
                &mut rep,
                world,
                release,
                opts,
                now,
            )?;
        }
        if !matches!(rollout.status(), Status::Running | Status::Paused { .. }) {
            // Stopped: the server withdraws the offer from everyone still waiting.
            waiting.append(&mut later);
        }
        pending = waiting;
        pending.extend(later);
        rep.timeline.push((now - start, installed.clone()));
        if matches!(rollout.status(), Status::Aborted { .. } | Status::Completed)
            || now - start >= MAX_DURATION
        {
            break;
        }
        world.clock.advance(TICK);
        decisions = rollout.handle(Event::Tick, world.clock.now())?;
    }
    let end = world.clock.now();
    rep.duration = end - start;
    for (ring, ..) in &pending {
        if let Some(r) = rep.rings.get_mut(*ring) {
            r.withdrawn += 1;
        }
    }
    rep.status = match rollout.status() {
        Status::Completed => "completed".to_owned(),
        Status::Aborted { ring, .. } => {
            format!("aborted at ring {}", RING_NAMES.get(*ring).unwrap_or(&"?"))
        }
        Status::Paused { ring, .. } => {
            format!("paused at ring {}", RING_NAMES.get(*ring).unwrap_or(&"?"))
        }
        Status::Running => "stopped: time limit".to_owned(),
    };
    rep.aborted = matches!(rollout.status(), Status::Aborted { .. });
    Ok(rep)
}

/// Runs the installs of one tick on all cores. Every device's work depends only on its own
/// state, the release and the time, so the result does not depend on the number of threads.
fn install_all(
    world: &mut World<'_>,
    release: &Release,
    starting: &[(usize, u64, usize, Option<u32>)],
    now: u64,
) -> Result<Vec<Attempt>, BoxError> {
    let slot: HashMap<usize, (usize, Option<u32>)> = starting
        .iter()
        .enumerate()
        .map(|(k, s)| (s.2, (k, s.3)))
        .collect();
    let mut jobs: Vec<(usize, Option<u32>, &mut Device, &mut Twin)> = world
        .fleet
        .iter_mut()
        .zip(world.twins.iter_mut())
        .enumerate()
        .filter_map(|(i, (d, t))| slot.get(&i).map(|&(k, cut)| (k, cut, d, t)))
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    let per = jobs.len().div_ceil(threads).max(1);
    let (root, store) = (world.root, world.store);
    let mut out: Vec<(usize, Attempt)> = Vec::with_capacity(jobs.len());
    std::thread::scope(|sc| -> Result<(), BoxError> {
        let handles: Vec<_> = jobs
            .chunks_mut(per)
            .map(|chunk| {
                sc.spawn(move || -> Result<Vec<(usize, Attempt)>, String> {
                    let mut done = Vec::with_capacity(chunk.len());
                    for (k, cut, dev, twin) in chunk.iter_mut() {
                        let a = agent::install(dev, release, root, now, *cut, store);
                        sync_twin(dev, twin, now).map_err(|e| e.to_string())?;
                        done.push((*k, a));
                    }
                    Ok(done)
                })
            })
            .collect();
        for h in handles {
            let done = h.join().map_err(|_| "an install thread panicked")??;
            out.extend(done);
        }
        Ok(())
    })?;
    out.sort_by_key(|(k, _)| *k);
    Ok(out.into_iter().map(|(_, a)| a).collect())
}

fn push_started(
    pending: &mut Vec<(usize, u64, usize, u64, bool)>,
    rings: &[Vec<usize>],
    ring: usize,
    first: u64,
    count: u64,
    now: u64,
) {
    if let Some(r) = rings.get(ring) {
        for idx in first..first + count {
            if let Some(&dev_i) = r.get(idx as usize) {
                pending.push((ring, idx, dev_i, now, false));
            }
        }
    }
}

/// Records gate decisions and offers; returns true when the rollout stopped.
#[allow(clippy::too_many_arguments)]
fn note_decisions(
    decisions: &[Decision],
    rings: &[Vec<usize>],
    at: u64,
    pending: &mut Vec<(usize, u64, usize, u64, bool)>,
    rep: &mut ScenarioReport,
    world: &mut World<'_>,
    release: &Release,
    opts: Options,
    now: u64,
) -> Result<bool, BoxError> {
    let name = |r: usize| RING_NAMES.get(r).copied().unwrap_or("?");
    let mut stopped = false;
    for d in decisions {
        match d {
            Decision::Start { ring, first, count } => {
                push_started(pending, rings, *ring, *first, *count, now);
                if let Some(row) = rep.rings.get_mut(*ring) {
                    row.offered += count;
                }
                if opts.set_desired {
                    // The server records what it wants in each offered device's twin.
                    let desired = desired_versions(release);
                    for idx in *first..first + count {
                        if let Some(&i) = rings.get(*ring).and_then(|r| r.get(idx as usize)) {
                            world.twins[i].apply_update(&Update::desired(desired.clone())?, now)?;
                        }
                    }
                }
            }
            Decision::Promote { from, to, verdict } => rep.gates.push(GateLine {
                at,
                what: format!("promote {} -> {}", name(*from), name(*to)),
                why: verdict.to_string(),
                kind: GateKind::Promote,
            }),
            Decision::Abort { ring, verdict } => {
                rep.abort_after_reports = Some(verdict.reports);
                rep.gates.push(GateLine {
                    at,
                    what: format!("ABORT at {}", name(*ring)),
                    why: verdict.to_string(),
                    kind: GateKind::Abort,
                });
                stopped = true;
            }
            Decision::Pause { ring, verdict } => {
                rep.gates.push(GateLine {
                    at,
                    what: format!("pause at {}", name(*ring)),
                    why: verdict.to_string(),
                    kind: GateKind::Pause,
                });
                stopped = true;
            }
            Decision::Complete => {
                rep.gates.push(GateLine {
                    at,
                    what: "complete".to_owned(),
                    why: "every device of every ring reported".to_owned(),
                    kind: GateKind::Complete,
                });
                stopped = true;
            }
            _ => {}
        }
    }
    Ok(stopped)
}

/// The `desired` versions a release asks for, by component id.
pub fn desired_versions(release: &Release) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for c in &release.manifest.components {
        m.insert(
            c.id.clone(),
            serde_json::Value::String(c.version.to_string()),
        );
    }
    serde_json::Value::Object(m)
}

/// Adds one attempt to the counts; true when the device ended healthy on the new release.
fn count_attempt(a: &Attempt, hw: HwRev, ring: usize, rep: &mut ScenarioReport) -> bool {
    let h = hw_index(hw);
    rep.bytes_sent += a.bytes_sent;
    rep.bytes_full += a.bytes_full;
    rep.deltas += u64::from(a.deltas);
    rep.fulls += u64::from(a.fulls);
    rep.resumed += u64::from(a.resumed);
    let Some(row) = rep.rings.get_mut(ring) else {
        return false;
    };
    match &a.outcome {
        Outcome::Installed => {
            row.installed += 1;
            rep.installed_by_hw[h] += 1;
            true
        }
        Outcome::UpToDate => {
            row.up_to_date += 1;
            true
        }
        Outcome::Refused(r) => {
            row.refused += 1;
            rep.refused_by_hw[h] += 1;
            *rep.refusals.entry(r.to_string()).or_default() += 1;
            false
        }
        Outcome::Rejected(why) => {
            row.rejected += 1;
            *rep.refusals.entry(format!("envelope: {why}")).or_default() += 1;
            false
        }
        Outcome::RolledBack(why) => {
            row.rolled_back += 1;
            rep.rolled_back_by_hw[h] += 1;
            *rep.rollbacks.entry(why.clone()).or_default() += 1;
            false
        }
        Outcome::Failed(why) => {
            row.failed += 1;
            *rep.failures.entry(why.clone()).or_default() += 1;
            false
        }
    }
}
