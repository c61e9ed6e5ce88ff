//! The demo's chart: one panel per scenario. A rollout that ran its course is drawn as each
//! ring's progress over time with the gate decisions marked; a rollout that a gate stopped is
//! drawn as what the gate saw: the SPRT's log-likelihood ratio after each report, against the
//! two bounds of Wald's test, up to the abort.

use crate::clock::HOUR;
use crate::demo::{DemoReport, ScenarioRun};
use crate::scenario::RING_NAMES;
use crate::svg::{self, Level, Marker, Panel, RING_COLORS, Series, Style};
use crate::table::count;
use crate::tally::GateKind;

/// Colour of an abort (marker and upper bound).
const ABORT: &str = "#d62728";
/// Colour of the lower bound (the release is accepted there).
const ACCEPT: &str = "#2ca02c";

/// The whole chart as an SVG document.
pub fn render(r: &DemoReport) -> String {
    let panels: Vec<Panel> = r
        .scenarios
        .iter()
        .map(|s| {
            if s.report.aborted && !s.report.sprt_path.is_empty() {
                gate_panel(s)
            } else {
                progress_panel(s)
            }
        })
        .collect();
    svg::render(&panels)
}

/// Each ring's share of devices updated (healthy) over time, with the gate decisions.
fn progress_panel(s: &ScenarioRun) -> Panel {
    let rep = &s.report;
    let series = rep
        .rings
        .iter()
        .enumerate()
        .map(|(k, ring)| Series {
            name: format!(
                "{} ({})",
                RING_NAMES.get(k).unwrap_or(&"?"),
                count(ring.devices)
            ),
            color: RING_COLORS[k % RING_COLORS.len()],
            points: rep
                .timeline
                .iter()
                .map(|(t, v)| {
                    let size = ring.devices.max(1) as f64;
                    let done = v.get(k).copied().unwrap_or(0) as f64;
                    (*t as f64 / HOUR as f64, done * 100.0 / size)
                })
                .collect(),
            style: Style::Steps,
        })
        .collect();
    let markers = rep
        .gates
        .iter()
        .map(|g| Marker {
            x: g.at as f64 / HOUR as f64,
            label: g.what.clone(),
            color: match g.kind {
                GateKind::Abort => ABORT,
                GateKind::Pause => "#9467bd",
                _ => "#555555",
            },
        })
        .collect();
    Panel {
        title: format!("{}: {} ({})", s.title, s.release.name, rep.status),
        x_label: "hours since the release was published".into(),
        y_label: "% of the ring updated (healthy)".into(),
        series,
        markers,
        ..Panel::default()
    }
}

/// The SPRT's log-likelihood ratio report by report, per ring, against its two bounds.
fn gate_panel(s: &ScenarioRun) -> Panel {
    let rep = &s.report;
    let path = &rep.sprt_path;
    let mut series = Vec::new();
    for k in 0..rep.rings.len() {
        let points: Vec<(f64, f64)> = path
            .iter()
            .filter(|p| p.ring == k)
            .map(|p| (p.reports as f64, p.llr))
            .collect();
        if points.is_empty() {
            continue;
        }
        // The test starts at 0 before the first report.
        let points = std::iter::once((0.0, 0.0)).chain(points).collect();
        series.push(Series {
            name: format!("{} gate LLR", RING_NAMES.get(k).unwrap_or(&"?")),
            color: RING_COLORS[k % RING_COLORS.len()],
            points,
            style: Style::Dots,
        });
    }
    let mut levels = Vec::new();
    let mut markers = Vec::new();
    if let Some(last) = path.last() {
        levels.push(Level {
            y: last.upper,
            label: format!("upper bound ln((1-beta)/alpha) = {:.2}: abort", last.upper),
            color: ABORT,
        });
        levels.push(Level {
            y: last.lower,
            label: format!("lower bound ln(beta/(1-alpha)) = {:.2}: accept", last.lower),
            color: ACCEPT,
        });
        if last.llr >= last.upper {
            markers.push(Marker {
                x: last.reports as f64,
                label: format!(
                    "ABORT: {} failures in {} reports, LLR {:.2}",
                    last.failures, last.reports, last.llr
                ),
                color: ABORT,
            });
        }
    }
    Panel {
        title: format!(
            "{}: {} - what the gate saw ({})",
            s.title, s.release.name, rep.status
        ),
        x_label: "reports counted by the gate (successes and failures, in arrival order)".into(),
        y_label: "SPRT log-likelihood ratio".into(),
        series,
        markers,
        levels,
        signed: true,
    }
}
