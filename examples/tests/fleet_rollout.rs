//! The flagship demo at a small size: the invariants each scenario exists to show.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_examples::args::Options;
use ota_examples::demo::{self, DemoReport};
use ota_examples::report;
use ota_examples::tally::GateKind;

/// 2,000 devices in release builds. Test builds keep the workspace's own crates (ota-delta's
/// apply loop, the twins, this simulation) at opt-level 0, so they check the same invariants on
/// a fleet just big enough for every stratum to have canaries.
const DEVICES: usize = if cfg!(debug_assertions) { 240 } else { 2000 };

fn run(devices: usize, seed: u64) -> DemoReport {
    demo::run(&Options {
        devices,
        seed,
        svg: None,
    })
    .expect("the demo runs")
}

#[test]
fn scenarios_show_what_they_claim() {
    let r = run(DEVICES, 7);
    let n = DEVICES as u64;
    let [a, b, c] = r.by_hw;
    assert_eq!(a + b + c, n);
    assert!(a > 0 && b > 0 && c > 0);

    // Scenario 1: revision A refuses by the manifest's rule; B and C install; nothing breaks.
    let s1 = &r.scenarios[0].report;
    assert_eq!(s1.installed_by_hw[0], 0, "no revision A device installs");
    assert_eq!(
        s1.refused_by_hw,
        [a, 0, 0],
        "every A device refused, nobody else"
    );
    assert_eq!(s1.installed_by_hw[1..], [b, c]);
    assert_eq!(s1.refusals.len(), 1);
    let (why, count) = s1.refusals.iter().next().unwrap();
    assert!(
        why.contains("hardware revision `A` is not accepted"),
        "{why}"
    );
    assert_eq!(*count, a);
    assert_eq!(s1.rolled_back_by_hw, [0, 0, 0]);
    assert_eq!(s1.status, "completed");

    // Scenario 2: the canary gate aborts; only revision B rolls back; later rings never see it.
    let s2 = &r.scenarios[1].report;
    assert!(s2.aborted, "{}", s2.status);
    assert_eq!(s2.status, "aborted at ring canary");
    let abort = s2
        .gates
        .iter()
        .find(|g| g.kind == GateKind::Abort)
        .expect("an abort decision");
    assert!(abort.why.contains("SPRT"), "{}", abort.why);
    assert!(
        !s2.gates.iter().any(|g| g.kind == GateKind::Promote),
        "no ring was promoted"
    );
    assert_eq!(
        s2.rings[1].offered + s2.rings[2].offered,
        0,
        "later rings never received it"
    );
    assert_eq!(s2.rings[1].installed + s2.rings[2].installed, 0);
    assert!(s2.rolled_back_by_hw[1] > 0);
    assert_eq!(
        s2.rolled_back_by_hw[0] + s2.rolled_back_by_hw[2],
        0,
        "only revision B fails"
    );
    assert!(s2.rollbacks.keys().all(|k| k.contains("sensor variant 2")));
    let received: u64 = s2.rings.iter().map(|x| x.installed + x.rolled_back).sum();
    assert!(s2.abort_after_reports.unwrap() <= received);
    assert!(
        received <= s2.rings[0].devices,
        "blast radius within the canary ring"
    );

    // Scenario 3: everyone installs through the rings, with deltas, resumes, battery rules.
    let s3 = &r.scenarios[2].report;
    assert_eq!(s3.status, "completed");
    let promotes: Vec<_> = s3
        .gates
        .iter()
        .filter(|g| g.kind == GateKind::Promote)
        .collect();
    assert_eq!(promotes.len(), 2);
    // In a small fleet the stratified canary ring can hold the whole 10%: the early ring is then
    // empty and promotes at once.
    assert!(promotes[0].at <= promotes[1].at);
    assert_eq!(s3.installed_by_hw, r.by_hw);
    assert_eq!(s3.rings.iter().map(|x| x.installed).sum::<u64>(), n);
    assert!(
        s3.bytes_sent * 2 < s3.bytes_full,
        "deltas cut the bytes: {} vs {}",
        s3.bytes_sent,
        s3.bytes_full
    );
    assert!(s3.fulls > 0, "devices on a rare version get the full image");
    assert!(
        s3.resumed > 0,
        "some downloads were interrupted and resumed"
    );
    assert!(s3.battery_attempts > 0);
    assert_eq!(
        s3.battery_attempts, s3.battery_attempts_charging,
        "battery devices install only on the charger"
    );
    assert!(
        s3.failures.is_empty() && s3.rollbacks.is_empty(),
        "{:?} {:?}",
        s3.failures,
        s3.rollbacks
    );

    // The replaced device got its configuration back, kept its own calibration, and converged.
    let rp = &r.replacement;
    assert!(rp.converged);
    assert!(
        rp.versions.0 < rp.versions.1 && rp.versions.1 < rp.versions.2,
        "twin versions keep increasing across the swap"
    );
    assert_ne!(rp.serials.0, rp.serials.1);
    assert_eq!(rp.config["telemetry_interval_s"], 30);
    assert_eq!(rp.reported_calibration, Some(rp.calibration.1));
    assert_ne!(rp.calibration.0, rp.calibration.1);

    // End state: every device boots a healthy slot, every twin converged, one firmware.
    assert_eq!(r.bootable, n);
    assert_eq!(r.twins_converged, n);
    assert_eq!(r.final_firmware, vec![("4.2.1".to_owned(), n)]);

    // The chart: scenarios 1 and 3 draw one line per ring; scenario 2 draws what the canary
    // gate saw, its log-likelihood ratio after each report (a dot each) against both bounds.
    assert_eq!(r.svg.matches("<path ").count(), 3 + 1 + 3);
    assert!(r.svg.contains("what the gate saw"));
    assert!(r.svg.contains("upper bound ln((1-beta)/alpha) = "));
    assert!(r.svg.contains("lower bound ln(beta/(1-alpha)) = "));
    let path = &s2.sprt_path;
    assert_eq!(r.svg.matches("<circle ").count(), path.len() + 1);
    assert!(path.iter().all(|p| p.ring == 0), "only the canary gate ran");
    let last = path.last().unwrap();
    assert!(last.llr >= last.upper, "{last:?}");
    assert_eq!(Some(last.reports), s2.abort_after_reports);
    for (k, p) in path.iter().enumerate() {
        assert_eq!(p.reports, k as u64 + 1, "one point per report");
        if k + 1 < path.len() {
            assert!(p.lower < p.llr && p.llr < p.upper, "{p:?}");
        }
    }
    assert!(r.svg.contains(&format!(
        "ABORT: {} failures in {} reports",
        last.failures, last.reports
    )));
    let text = report::render_text(&r, "chart.svg");
    let refused = format!(
        "refused {} x  release: hardware revision `A` is not accepted",
        ota_examples::table::count(a)
    );
    assert!(text.contains(&refused), "{text}");
    assert!(
        text.contains("SPRT log-likelihood ratio after each report: "),
        "{text}"
    );
}

/// Each scenario's rings are the plan's shares of the fleet: 1% (at least one canary per
/// stratum), then 10%, then the remaining 89%.
#[test]
fn ring_sizes_are_the_plans_shares() {
    let r = run(DEVICES, 7);
    let n = DEVICES as u64;
    for sc in &r.scenarios {
        let sizes: Vec<u64> = sc.report.rings.iter().map(|x| x.devices).collect();
        assert_eq!(sizes.iter().sum::<u64>(), n);
        // ceil(1% of N), or more when there are more strata than that.
        assert!(sizes[0] >= n.div_ceil(100), "{sizes:?}");
        // Rings 0 and 1 hold ceil(11% of N) unless the stratified canaries alone hold more.
        assert_eq!(
            sizes[0] + sizes[1],
            (11 * n).div_ceil(100).max(sizes[0]),
            "{sizes:?}"
        );
    }
}

/// The default run's rings: 200 / 2,000 / 17,800 of 20,000 devices (assignment only; the
/// rollout itself is exercised above at a smaller size).
#[test]
fn default_fleet_rings_are_200_2000_17800() {
    use ota_examples::{catalog::Catalog, fleet, scenario};
    let catalog = Catalog::new(1);
    let fw = |v: &str| catalog.firmware(v).unwrap().clone();
    let initial = fleet::Initial {
        firmware: vec![(fw("3.9.0"), 3), (fw("4.0.2"), 22), (fw("4.1.0"), 75)],
        app: catalog.app[0].clone(),
        model: catalog.model[0].clone(),
    };
    let devices = fleet::generate(20_000, 1, &initial);
    let plan = scenario::rollout_plan("firmware-4.2.0");
    let rings = scenario::assign_rings(&devices, &plan).unwrap();
    let sizes: Vec<usize> = rings.iter().map(Vec::len).collect();
    assert_eq!(sizes, [200, 2_000, 17_800]);
}

#[test]
fn same_seed_same_report() {
    // Another seed gives another fleet (checked cheaply in `fleet`'s unit tests); the same seed
    // gives the same report, whatever the number of threads that ran the installs.
    let a = run(200, 11);
    let b = run(200, 11);
    assert_eq!(
        report::render_text(&a, "x.svg"),
        report::render_text(&b, "x.svg")
    );
    assert_eq!(a.svg, b.svg);
}
