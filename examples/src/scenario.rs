//! One release rolled out over the fleet: the server side (ota-rollout's assignment, rate limit
//! and health gates) driving the agents (see [`crate::agent`]) on a simulated clock.

use std::collections::HashMap;

use ota_rollout::{
    Decision, DeviceContext, Event, FailAction, Gate, Inconclusive, InstallPolicy, MayStart, Plan,
    RateLimit, Report, Ring, Rollout, Rule, Sprt, Status,
};
use ota_twin::{Twin, Update};
use ota_verify::TrustRoot;

use crate::agent::{self, Attempt, ContentStore, Outcome};
use crate::clock::{HOUR, MINUTE, SimClock};
use crate::fleet::{Device, Link};
use crate::release::{BoxError, Release};
use crate::rng::hash_label;
use crate::tally::{GateKind, GateLine, ScenarioReport, SprtPoint};

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

/// What the scenario does besides installing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Share of devices (per mille) whose firmware download is interrupted and resumed.
    pub interrupt_per_mille: u64,
    /// Set each offered device's twin `desired` to the release before it installs.
    pub set_desired: bool,
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

/// An offered device not started yet: its ring, its index in the ring, its index in the fleet,
/// when it was offered, and whether it has waited (for a window or its charger).
#[derive(Debug, Clone, Copy)]
struct Offer {
    ring: usize,
    index: u64,
    device: usize,
    offered_at: u64,
    waited: bool,
}

/// A device starting its install this tick, with the attempt at which its download is cut.
#[derive(Debug, Clone, Copy)]
struct Start {
    offer: Offer,
    cut: Option<u32>,
}

/// The server side of one rollout: the state machine, the rings (fleet indices in start order),
/// the offers waiting for their device, and the report being written.
struct Server {
    rollout: Rollout,
    rings: Vec<Vec<usize>>,
    pending: Vec<Offer>,
    installed: Vec<u64>,
    rep: ScenarioReport,
    start: u64,
}

/// Exact, stratified ring assignment of the fleet under `plan`: each ring as fleet indices, in
/// start order.
///
/// # Errors
/// What `Plan::assign_fleet` refuses (a duplicate id: a bug in the fleet generator).
pub fn assign_rings(fleet: &[Device], plan: &Plan) -> Result<Vec<Vec<usize>>, BoxError> {
    let devices: Vec<ota_rollout::Device> = fleet
        .iter()
        .map(|d| {
            let power = if d.power.is_battery() {
                "battery"
            } else {
                "mains"
            };
            ota_rollout::Device::new(d.id.clone())
                .with("hw", d.hw.name())
                .with("region", d.region().name)
                .with("power", power)
        })
        .collect();
    // Indices into `devices`, which is the fleet in order: they index the fleet directly.
    Ok(plan.assign_fleet(&devices)?.rings)
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
    let rings = assign_rings(world.fleet, &plan)?;
    let sizes: Vec<u64> = rings.iter().map(|r| r.len() as u64).collect();
    let mut server = Server {
        rollout: Rollout::new(plan, &sizes, start)?,
        rep: ScenarioReport::new(&rings.iter().map(Vec::len).collect::<Vec<_>>()),
        installed: vec![0; rings.len()],
        rings,
        pending: Vec::new(),
        start,
    };
    let mut decisions = server.rollout.handle(Event::Tick, start)?;
    loop {
        let now = world.clock.now();
        let mut offers = Vec::new();
        let stopped = server.note_decisions(&decisions, &mut offers, world, release, opts, now)?;
        server.pending.append(&mut offers);
        if stopped {
            break;
        }
        let starting = server.ready_devices(world, salt, opts, now);
        // Devices that start in the same tick install concurrently (as real devices do); their
        // reports reach the server in start order.
        let results = install_all(world, release, &starting, now)?;
        server.hear_reports(world, release, opts, &starting, results, now)?;
        let stopped = !matches!(
            server.rollout.status(),
            Status::Running | Status::Paused { .. }
        );
        server
            .rep
            .timeline
            .push((now - start, server.installed.clone()));
        if stopped || now - start >= MAX_DURATION {
            break;
        }
        world.clock.advance(TICK);
        decisions = server.rollout.handle(Event::Tick, world.clock.now())?;
    }
    Ok(server.finish(world.clock.now()))
}

impl Server {
    /// The offered devices whose install policy lets them start now (the others keep waiting).
    fn ready_devices(
        &mut self,
        world: &World<'_>,
        salt: &str,
        opts: Options,
        now: u64,
    ) -> Vec<Start> {
        let mut waiting = Vec::with_capacity(self.pending.len());
        let mut starting = Vec::new();
        for offer in self.pending.drain(..) {
            let dev = &world.fleet[offer.device];
            let ctx = device_context(dev, now, offer.offered_at);
            if let MayStart::No { .. } = install_policy(dev).may_start(&ctx, now, false) {
                waiting.push(Offer {
                    waited: true,
                    ..offer
                });
                continue;
            }
            if dev.power.is_battery() {
                self.rep.battery_attempts += 1;
                self.rep.battery_attempts_charging += u64::from(ctx.charging);
                self.rep.battery_waited += u64::from(offer.waited);
            }
            // The first device of each ring, and a share of the others, lose their link in the
            // middle of the firmware download.
            let cut = (opts.interrupt_per_mille > 0
                && (offer.index == 0
                    || hash_label(world.seed, &format!("cut/{salt}/{}", dev.id)) % 1000
                        < opts.interrupt_per_mille))
                .then(|| 1 + (hash_label(world.seed, &dev.id) % 3) as u32);
            starting.push(Start { offer, cut });
        }
        self.pending = waiting;
        starting
    }

    /// Counts each attempt and reports it to the rollout, in start order, recording the path
    /// of the SPRT gate after each report.
    fn hear_reports(
        &mut self,
        world: &mut World<'_>,
        release: &Release,
        opts: Options,
        starting: &[Start],
        results: Vec<Attempt>,
        now: u64,
    ) -> Result<(), BoxError> {
        let mut later = Vec::new();
        for (s, attempt) in starting.iter().zip(results) {
            let Offer { ring, index, .. } = s.offer;
            if self
                .rep
                .count_attempt(&attempt, world.fleet[s.offer.device].hw, ring)
            {
                self.installed[ring] += 1;
            }
            if !matches!(
                self.rollout.status(),
                Status::Running | Status::Paused { .. }
            ) {
                // Stopped by an earlier report of this tick: nobody listens any more (the
                // device did install; the count above has it).
                continue;
            }
            // ota-rollout has no "rejected" report: a refusal leaves the device healthy and
            // unchanged, so for the health gate it is not a failure (as AWS IoT Jobs when
            // REJECTED is left out of the abort criteria). The report counts refusals apart.
            let outcome = match attempt.outcome {
                Outcome::RolledBack(_) | Outcome::Failed(_) => Report::Failed,
                _ => Report::Succeeded,
            };
            let report = Event::Report {
                ring,
                index,
                outcome,
            };
            let decisions = self.rollout.handle(report, now)?;
            if let Some(p) = self.rollout.sprt_progress(ring) {
                self.rep.sprt_path.push(SprtPoint {
                    at: now - self.start,
                    ring,
                    reports: p.failures + p.successes,
                    failures: p.failures,
                    llr: p.llr,
                    lower: p.lower,
                    upper: p.upper,
                });
            }
            // Devices offered by a promotion mid-tick start from the next tick on.
            self.note_decisions(&decisions, &mut later, world, release, opts, now)?;
        }
        // Still waiting (or, when the rollout stopped, withdrawn: `finish` counts them).
        self.pending.append(&mut later);
        Ok(())
    }

    /// The report, once the rollout ended (or ran out of time) at `end`.
    fn finish(mut self, end: u64) -> ScenarioReport {
        let rep = &mut self.rep;
        rep.duration = end - self.start;
        for offer in &self.pending {
            if let Some(r) = rep.rings.get_mut(offer.ring) {
                r.withdrawn += 1;
            }
        }
        let name = |r: &usize| RING_NAMES.get(*r).copied().unwrap_or("?");
        rep.status = match self.rollout.status() {
            Status::Completed => "completed".to_owned(),
            Status::Aborted { ring, .. } => format!("aborted at ring {}", name(ring)),
            Status::Paused { ring, .. } => format!("paused at ring {}", name(ring)),
            Status::Running => "stopped: time limit".to_owned(),
        };
        rep.aborted = matches!(self.rollout.status(), Status::Aborted { .. });
        self.rep
    }

    /// Records gate decisions and turns starts into offers; returns true when the rollout
    /// stopped.
    fn note_decisions(
        &mut self,
        decisions: &[Decision],
        offers: &mut Vec<Offer>,
        world: &mut World<'_>,
        release: &Release,
        opts: Options,
        now: u64,
    ) -> Result<bool, BoxError> {
        let at = now - self.start;
        let name = |r: usize| RING_NAMES.get(r).copied().unwrap_or("?");
        let mut gate = |what: String, why: String, kind| {
            self.rep.gates.push(GateLine {
                at,
                what,
                why,
                kind,
            });
        };
        let mut stopped = false;
        let mut started = Vec::new();
        for d in decisions {
            match d {
                Decision::Start { ring, first, count } => started.push((*ring, *first, *count)),
                Decision::Promote { from, to, verdict } => gate(
                    format!("promote {} -> {}", name(*from), name(*to)),
                    verdict.to_string(),
                    GateKind::Promote,
                ),
                Decision::Abort { ring, verdict } => {
                    gate(
                        format!("ABORT at {}", name(*ring)),
                        verdict.to_string(),
                        GateKind::Abort,
                    );
                    self.rep.abort_after_reports = Some(verdict.reports);
                    stopped = true;
                }
                Decision::Pause { ring, verdict } => {
                    gate(
                        format!("pause at {}", name(*ring)),
                        verdict.to_string(),
                        GateKind::Pause,
                    );
                    stopped = true;
                }
                Decision::Complete => {
                    gate(
                        "complete".to_owned(),
                        "every device of every ring reported".to_owned(),
                        GateKind::Complete,
                    );
                    stopped = true;
                }
                _ => {}
            }
        }
        for (ring, first, count) in started {
            self.offer(ring, first, count, offers, world, release, opts, now)?;
        }
        Ok(stopped)
    }

    /// Offers the release to devices `first..first + count` of `ring`.
    #[allow(clippy::too_many_arguments)]
    fn offer(
        &mut self,
        ring: usize,
        first: u64,
        count: u64,
        offers: &mut Vec<Offer>,
        world: &mut World<'_>,
        release: &Release,
        opts: Options,
        now: u64,
    ) -> Result<(), BoxError> {
        if let Some(row) = self.rep.rings.get_mut(ring) {
            row.offered += count;
        }
        let desired = desired_versions(release);
        for index in first..first + count {
            let Some(&device) = self.rings.get(ring).and_then(|r| r.get(index as usize)) else {
                continue;
            };
            offers.push(Offer {
                ring,
                index,
                device,
                offered_at: now,
                waited: false,
            });
            if opts.set_desired {
                // The server records what it wants in each offered device's twin.
                world.twins[device].apply_update(&Update::desired(desired.clone())?, now)?;
            }
        }
        Ok(())
    }
}

/// Runs the installs of one tick on all cores. Every device's work depends only on its own
/// state, the release and the time, so the result does not depend on the number of threads.
fn install_all(
    world: &mut World<'_>,
    release: &Release,
    starting: &[Start],
    now: u64,
) -> Result<Vec<Attempt>, BoxError> {
    let slot: HashMap<usize, (usize, Option<u32>)> = starting
        .iter()
        .enumerate()
        .map(|(k, s)| (s.offer.device, (k, s.cut)))
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
