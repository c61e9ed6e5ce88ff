//! The demo's terminal report.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::catalog::{APP_SIZE, FIRMWARE_SIZE, MODEL_WEIGHTS};
use crate::clock::{format_elapsed, format_utc};
use crate::demo::{DemoReport, ScenarioRun};
use crate::fleet::{HwRev, REGIONS};
use crate::scenario::{self, RING_NAMES};
use crate::table::{Table, bytes, count, percent};

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
        "  rollout     rings canary 1% (stratified by revision x region x power) -> early 10% -> everyone (the remaining 89%);\n              SPRT gate per ring (p0 1%, p1 5%), {} devices/min; battery devices need the charger and 40%",
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
    if rep.aborted && !rep.sprt_path.is_empty() {
        // What the gate saw on its way to the abort (the chart draws the same path).
        let path: Vec<String> = rep
            .sprt_path
            .iter()
            .map(|p| format!("{:.2}", p.llr))
            .collect();
        let _ = writeln!(
            s,
            "  SPRT log-likelihood ratio after each report: {}",
            path.join(" ")
        );
    }
    let _ = writeln!(
        s,
        "  status: {} after {}",
        rep.status,
        format_elapsed(rep.duration)
    );
}
