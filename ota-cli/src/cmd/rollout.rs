//! `ota rollout ...`: ring assignment for a device list, and the gate simulator's figures.
//!
//! Both commands write their output themselves, line by line, and treat a write error as an
//! ordinary end: a closed pipe (`ota rollout assign ... | head`) stops the command quietly with
//! exit 0, any other write error is exit 2 with a message. `assign` streams: in stateless mode it
//! holds one device at a time, whatever the size of the fleet.

use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand};
use ota_rollout::sim::gate_summary;
use ota_rollout::{Assignment, Device, Limits, Plan, Rule, Sprt, Threshold};
use serde_json::{Value, json};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Longest line of the device list (one device with its attributes), in bytes.
pub const MAX_DEVICE_LINE: usize = 64 * 1024;
/// Most devices `--exact` takes (it must hold the eligible fleet to rank it). Measured at about
/// 680 bytes per device with a strata attribute (683 MB peak RSS for 1,000,000 devices), so this
/// keeps `--exact` under the 64 MiB every `ota` command stays within on any input; the
/// stateless mode streams and has no limit.
pub const MAX_EXACT_DEVICES: usize = 50_000;

#[derive(Debug, Subcommand)]
pub enum RolloutCmd {
    /// The ring of each device (or why it gets none) for a rollout plan.
    ///
    /// DEVICES.jsonl holds one device a line: {"id": "lock-0001", "attributes": {"hw": "B"}}
    /// (a line at most 64 KiB, an id at most 256 bytes). Each ring of the plan gives its own
    /// share of the eligible fleet ("share": 0.01, 0.10, 0.89 for 1% / 10% / the remaining 89%).
    /// Stateless mode (default) places each device by the salted hash of its id alone, reading
    /// and printing one device at a time; --exact gives ring k exactly ceil(c_k * N) of the N
    /// eligible devices (c_k the sum of the shares up to ring k), with canary strata, and holds
    /// the eligible ids in memory (at most 50,000 devices; larger fleets use the stateless mode). With --json the document is
    /// {"devices": [...], "ring_sizes": [...], "ok": true}, "ok" last.
    ///
    /// Example: ota rollout assign --plan plan.json --devices fleet.jsonl
    Assign(AssignArgs),
    /// Monte Carlo figures of the health gates: how often and how fast they stop a release.
    ///
    /// Example: ota rollout simulate --good 0.01 --bad 0.05 --runs 10000
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The rollout plan (JSON).
    #[arg(long)]
    plan: PathBuf,
    /// The devices, one JSON object a line (a file, a FIFO or /dev/stdin).
    #[arg(long)]
    devices: PathBuf,
    /// Exact mode: ring sizes exactly ceil(cumulative share * eligible devices).
    #[arg(long)]
    exact: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Failure rate of a good release (the SPRT's p0).
    #[arg(long, default_value_t = 0.01)]
    good: f64,
    /// Failure rate of a bad release (the SPRT's p1).
    #[arg(long, default_value_t = 0.05)]
    bad: f64,
    /// SPRT alpha: the chance of stopping a good release.
    #[arg(long, default_value_t = 0.005)]
    alpha: f64,
    /// SPRT beta: the chance of passing a bad release.
    #[arg(long, default_value_t = 0.01)]
    beta: f64,
    /// Threshold rule: abort above this failure percentage...
    #[arg(long, default_value_t = 5.0)]
    threshold_percent: f64,
    /// ...after at least this many reports.
    #[arg(long, default_value_t = 100)]
    threshold_min: u64,
    /// Reports available to a gate in one trial.
    #[arg(long, default_value_t = 1000)]
    budget: u64,
    /// Trials per figure.
    #[arg(long, default_value_t = 10_000)]
    runs: u64,
    /// Seed of the simulation (the same seed gives the same figures).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(cmd: RolloutCmd, out: &Out) -> CmdResult {
    let stdout = io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let done = match cmd {
        RolloutCmd::Assign(a) => assign(&a, out.is_json(), &mut w),
        RolloutCmd::Simulate(a) => simulate(&a, out.is_json(), &mut w),
    };
    let done = done.and_then(|()| w.flush().map_err(Stop::Write));
    match done {
        Ok(()) => Ok(()),
        // The reader has what it wanted: nothing more to say. (Dropping `w` tries the rest of
        // its buffer once more and ignores the error.)
        Err(Stop::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(Stop::Write(e)) => Err(Fail::input(format!("cannot write the output: {e}"))),
        Err(Stop::Fail(f)) => {
            // What was printed so far goes out before the error, in order.
            let _ = w.flush();
            Err(f)
        }
    }
}

/// Why a command stopped early: a failure of its own, or its output could not be written.
enum Stop {
    Fail(Fail),
    Write(io::Error),
}

impl From<Fail> for Stop {
    fn from(f: Fail) -> Stop {
        Stop::Fail(f)
    }
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Write(e)
    }
}

/// The device list, read one bounded line at a time.
struct DeviceLines {
    reader: BufReader<Box<dyn Read>>,
    path: PathBuf,
    line: usize,
    buf: Vec<u8>,
    max_id: usize,
}

impl DeviceLines {
    fn open(path: &Path, max_id: usize) -> CmdResult<DeviceLines> {
        let f = std::fs::File::open(path).map_err(|e| Fail::in_file(path, e))?;
        Ok(DeviceLines {
            reader: BufReader::with_capacity(64 * 1024, Box::new(f)),
            path: path.to_path_buf(),
            line: 0,
            buf: Vec::new(),
            max_id,
        })
    }

    /// The next device, or `None` at the end of the list.
    fn next_device(&mut self) -> CmdResult<Option<Device>> {
        loop {
            self.buf.clear();
            let limit = MAX_DEVICE_LINE as u64 + 1;
            let n = (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| Fail::in_file(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
            } else if self.buf.len() > MAX_DEVICE_LINE {
                return Err(Fail::in_file(
                    &self.path,
                    format!(
                        "line {}: longer than the {MAX_DEVICE_LINE}-byte limit of a device line",
                        self.line
                    ),
                ));
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let d: Device = serde_json::from_slice(&self.buf)
                .map_err(|e| Fail::in_file(&self.path, format!("line {}: {e}", self.line)))?;
            if d.id.len() > self.max_id {
                return Err(Fail::in_file(
                    &self.path,
                    format!(
                        "line {}: device id of {} bytes, over the {}-byte limit",
                        self.line,
                        d.id.len(),
                        self.max_id
                    ),
                ));
            }
            return Ok(Some(d));
        }
    }
}

/// Writes one device's row: a tab-separated line, or an element of the JSON `devices` array.
struct Rows<'w, W: Write> {
    w: &'w mut W,
    json: bool,
    written: u64,
    per_ring: Vec<u64>,
}

impl<W: Write> Rows<'_, W> {
    fn start(&mut self) -> io::Result<()> {
        if self.json {
            self.w.write_all(b"{\"devices\":[")?;
        }
        Ok(())
    }

    fn row(&mut self, id: &str, value: Value, text: &str) -> io::Result<()> {
        if let Some(c) = value
            .get("ring")
            .and_then(Value::as_u64)
            .and_then(|r| self.per_ring.get_mut(r as usize))
        {
            *c += 1;
        }
        if self.json {
            let mut v = json!({"id": id});
            if let (Value::Object(m), Value::Object(extra)) = (&mut v, value) {
                m.extend(extra);
            }
            if self.written > 0 {
                self.w.write_all(b",")?;
            }
            serde_json::to_writer(&mut *self.w, &v)?;
        } else {
            writeln!(self.w, "{id}\t{text}")?;
        }
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self, plan: &Plan) -> io::Result<()> {
        if self.json {
            write!(
                self.w,
                "],\"ring_sizes\":{},\"ok\":true}}",
                json!(self.per_ring)
            )?;
            writeln!(self.w)?;
        } else {
            for (r, c) in self.per_ring.iter().enumerate() {
                writeln!(self.w, "# ring {r} ({}): {c} devices", ring_name(plan, r))?;
            }
        }
        Ok(())
    }
}

fn ring_name(plan: &Plan, r: usize) -> &str {
    plan.rings.get(r).map_or("", |x| x.name.as_str())
}

fn ring_row(plan: &Plan, r: usize, pinned: bool) -> (Value, String) {
    let name = ring_name(plan, r);
    if pinned {
        (
            json!({"ring": r, "ring_name": name, "pinned": true}),
            format!("{name} (pinned)"),
        )
    } else {
        (json!({"ring": r, "ring_name": name}), name.to_owned())
    }
}

fn assign(a: &AssignArgs, json: bool, w: &mut impl Write) -> Result<(), Stop> {
    let limits = Limits::default();
    let bytes = files::read(&a.plan)?;
    let plan = Plan::from_json(&bytes, &limits).map_err(|e| Fail::in_file(&a.plan, e))?;
    let mut lines = DeviceLines::open(&a.devices, limits.max_string)?;
    let mut rows = Rows {
        w,
        json,
        written: 0,
        per_ring: vec![0; plan.rings.len()],
    };
    if a.exact {
        return assign_exact(&plan, &mut lines, &mut rows);
    }
    rows.start()?;
    let assigner = plan.assigner();
    while let Some(d) = lines.next_device()? {
        let (v, text) = match plan.assign_with(&assigner, &d) {
            Assignment::Ring(r) => ring_row(&plan, r, false),
            Assignment::Pinned(r) => ring_row(&plan, r, true),
            Assignment::NotYet => (json!({"not_yet": true}), "not yet".into()),
            Assignment::Excluded => (json!({"excluded": true}), "excluded".into()),
            Assignment::Ineligible(why) => (
                json!({"ineligible": why.to_string()}),
                format!("ineligible: {why}"),
            ),
        };
        rows.row(&d.id, v, &text)?;
    }
    rows.finish(&plan)?;
    Ok(())
}

/// Exact mode ranks the eligible fleet, so it holds it: only ids (and the strata attributes),
/// after exclusion and eligibility were decided line by line.
fn assign_exact<W: Write>(
    plan: &Plan,
    lines: &mut DeviceLines,
    rows: &mut Rows<'_, W>,
) -> Result<(), Stop> {
    let mut kept: Vec<Device> = Vec::new();
    let mut excluded: Vec<String> = Vec::new();
    let mut ineligible: Vec<(String, String)> = Vec::new();
    let mut total = 0usize;
    while let Some(mut d) = lines.next_device()? {
        total += 1;
        if total > MAX_EXACT_DEVICES {
            return Err(Fail::in_file(
                &lines.path,
                format!("more than {MAX_EXACT_DEVICES} devices, the limit of --exact (the stateless mode has none)"),
            )
            .into());
        }
        if plan.excluded.contains(&d.id) {
            excluded.push(d.id);
            continue;
        }
        if let Some(sel) = &plan.eligibility
            && let Err(why) = sel.explain(&d.attributes)
        {
            ineligible.push((d.id, why.to_string()));
            continue;
        }
        // A fresh map: `retain` would keep the emptied map's node (~540 bytes) allocated.
        d.attributes = std::mem::take(&mut d.attributes)
            .into_iter()
            .filter(|(k, _)| plan.strata.contains(k))
            .collect();
        kept.push(d);
    }
    // Exclusion and eligibility are settled: rank what is left with the rest of the plan.
    let mut ranked = plan.clone();
    ranked.eligibility = None;
    ranked.excluded.clear();
    let fleet = ranked
        .assign_fleet(&kept)
        .map_err(|e| Fail::in_file(&lines.path, e))?;
    rows.start()?;
    for (r, ids) in fleet.rings.iter().enumerate() {
        for &i in ids {
            let (v, text) = ring_row(plan, r, false);
            rows.row(&kept[i].id, v, &text)?;
        }
    }
    for &i in &fleet.not_yet {
        rows.row(&kept[i].id, json!({"not_yet": true}), "not yet")?;
    }
    for id in &excluded {
        rows.row(id, json!({"excluded": true}), "excluded")?;
    }
    for (id, why) in &ineligible {
        rows.row(
            id,
            json!({ "ineligible": why }),
            &format!("ineligible: {why}"),
        )?;
    }
    rows.finish(plan)?;
    Ok(())
}

fn simulate(a: &SimulateArgs, json: bool, w: &mut impl Write) -> Result<(), Stop> {
    let sprt = Sprt {
        p0: a.good,
        p1: a.bad,
        alpha: a.alpha,
        beta: a.beta,
    };
    sprt.validate("--good/--bad/--alpha/--beta")
        .map_err(Fail::input)?;
    let threshold = Threshold {
        max_failure_percent: a.threshold_percent,
        min_executions: a.threshold_min,
    };
    if a.runs == 0 || a.budget == 0 {
        return Err(Fail::input("--runs and --budget must be at least 1").into());
    }
    let mut rows = Vec::new();
    for (name, rule) in [
        ("sprt", Rule::Sprt(sprt)),
        ("threshold", Rule::Threshold(threshold)),
    ] {
        for (release, p) in [("good", a.good), ("bad", a.bad)] {
            let s = gate_summary(rule, p, a.budget, a.runs, a.seed);
            rows.push(json!({
                "rule": name, "release": release, "failure_rate": p, "runs": s.runs,
                "stopped_fraction": s.failed as f64 / s.runs as f64,
                "passed_fraction": s.passed as f64 / s.runs as f64,
                "undecided_fraction": s.undecided as f64 / s.runs as f64,
                "mean_reports_to_stop": s.mean_reports_to_fail,
                "mean_reports": s.mean_reports,
            }));
        }
    }
    if json {
        let doc =
            json!({"ok": true, "runs": a.runs, "budget": a.budget, "seed": a.seed, "rows": rows});
        writeln!(w, "{doc}")?;
        return Ok(());
    }
    write!(
        w,
        "{} trials per row, up to {} reports each, seed {}\n\
         | rule | release | failure rate | stopped | passed | undecided | mean reports to stop |\n\
         |---|---|---|---|---|---|---|\n",
        a.runs, a.budget, a.seed
    )?;
    for r in &rows {
        writeln!(
            w,
            "| {} | {} | {:.3} | {:.2}% | {:.2}% | {:.2}% | {:.1} |",
            r["rule"].as_str().unwrap_or(""),
            r["release"].as_str().unwrap_or(""),
            r["failure_rate"].as_f64().unwrap_or(0.0),
            r["stopped_fraction"].as_f64().unwrap_or(0.0) * 100.0,
            r["passed_fraction"].as_f64().unwrap_or(0.0) * 100.0,
            r["undecided_fraction"].as_f64().unwrap_or(0.0) * 100.0,
            r["mean_reports_to_stop"].as_f64().unwrap_or(0.0),
        )?;
    }
    Ok(())
}
