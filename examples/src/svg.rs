//! A small SVG line-chart writer (plain SVG text, no dependency): stacked panels of step lines or
//! dotted paths, vertical markers (gate decisions) and horizontal reference lines (a test's
//! bounds).

use std::fmt::Write as _;

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// CSS colour.
    pub color: &'static str,
    /// Points (x, y), x increasing.
    pub points: Vec<(f64, f64)>,
    /// How the points are joined.
    pub style: Style,
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// A step line: the value holds until the next point (counts over time).
    #[default]
    Steps,
    /// Straight segments with a dot on every point (one point per event).
    Dots,
}

/// A horizontal reference line with a label (a test's bound).
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Where on the y axis.
    pub y: f64,
    /// Short label, written above the line at its left end.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
}

/// A vertical marker with a label (a gate decision).
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Where on the x axis.
    pub x: f64,
    /// Short label.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
}

/// One chart panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    /// Title above the panel.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Lines.
    pub series: Vec<Series>,
    /// Markers.
    pub markers: Vec<Marker>,
    /// Horizontal reference lines.
    pub levels: Vec<Level>,
    /// The y axis always includes 0 and the series; set this to include negative values too
    /// (the axis then spans the points, the levels and 0).
    pub signed: bool,
}

/// Colours of the rings, in ring order.
pub const RING_COLORS: [&str; 4] = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c"];

const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 45.0;

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tick label: integers plainly, other values to two decimals (no binary noise).
fn tick(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// A "nice" axis `(min, max, step)` covering `lo..=hi` (and 0).
fn nice_range(lo: f64, hi: f64) -> (f64, f64, f64) {
    let lo = if lo.is_finite() { lo.min(0.0) } else { 0.0 };
    let hi = if hi.is_finite() { hi.max(0.0) } else { 0.0 };
    let (_, step) = nice_axis((hi - lo).max(f64::MIN_POSITIVE));
    let min = (lo / step).floor() * step;
    let max = ((hi / step).ceil() * step).max(min + step);
    (min, max, step)
}

/// A "nice" axis maximum and tick step for values up to `max`.
fn nice_axis(max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    ((max / step).ceil() * step, step)
}

/// Renders panels stacked vertically into one SVG document.
pub fn render(panels: &[Panel]) -> String {
    let height = PANEL_HEIGHT * panels.len().max(1) as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, p) in panels.iter().enumerate() {
        render_panel(&mut s, p, i as f64 * PANEL_HEIGHT);
    }
    s.push_str("</svg>\n");
    s
}

fn render_panel(s: &mut String, p: &Panel, y0: f64) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = PANEL_HEIGHT - TOP - BOTTOM;
    let x_max_raw = p
        .series
        .iter()
        .flat_map(|l| l.points.iter().map(|pt| pt.0))
        .chain(p.markers.iter().map(|m| m.x))
        .fold(0.0, f64::max);
    let ys = || {
        p.series
            .iter()
            .flat_map(|l| l.points.iter().map(|pt| pt.1))
            .chain(p.levels.iter().map(|l| l.y))
    };
    // A little room on the right, so the last point and its marker are not on the border.
    let (x_max, x_step) = nice_axis(x_max_raw * 1.05);
    let (y_min, y_max, y_step) = if p.signed {
        nice_range(ys().fold(0.0, f64::min), ys().fold(0.0, f64::max))
    } else {
        let (max, step) = nice_axis(ys().fold(0.0, f64::max));
        (0.0, max, step)
    };
    let px = |x: f64| LEFT + x / x_max * plot_w;
    let py = |y: f64| y0 + TOP + plot_h - (y - y_min) / (y_max - y_min) * plot_h;
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="{:.1}" font-size="14" font-weight="bold">{}</text>"#,
        y0 + 22.0,
        esc(&p.title)
    );
    // Grid and ticks.
    let mut y = y_min;
    while y <= y_max + y_step / 2.0 {
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#ddd"/><text x="{2:.1}" y="{3:.1}" text-anchor="end">{4}</text>"##,
            py(y),
            LEFT + plot_w,
            LEFT - 6.0,
            py(y) + 4.0,
            tick(y)
        );
        y += y_step;
    }
    let mut x = 0.0;
    while x <= x_max + x_step / 2.0 {
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#eee"/><text x="{0:.1}" y="{3:.1}" text-anchor="middle">{4}</text>"##,
            px(x),
            y0 + TOP,
            y0 + TOP + plot_h,
            y0 + TOP + plot_h + 16.0,
            tick(x)
        );
        x += x_step;
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        y0 + PANEL_HEIGHT - 8.0,
        esc(&p.x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        y0 + TOP + plot_h / 2.0,
        esc(&p.y_label)
    );
    for (k, m) in p.markers.iter().enumerate() {
        // Labels of markers in the right third go to the left of their line.
        let (dx, anchor) = if px(m.x) > LEFT + plot_w * 0.66 {
            (-3.0, "end")
        } else {
            (3.0, "start")
        };
        let _ = writeln!(
            s,
            r#"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="{3}" stroke-dasharray="4 3"/><text x="{4:.1}" y="{5:.1}" fill="{3}" font-size="10" text-anchor="{7}">{6}</text>"#,
            px(m.x),
            y0 + TOP,
            y0 + TOP + plot_h,
            m.color,
            px(m.x) + dx,
            y0 + TOP + 10.0 + 12.0 * (k % 4) as f64,
            esc(&m.label),
            anchor
        );
    }
    for l in &p.levels {
        let _ = writeln!(
            s,
            r#"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="{2}" stroke-width="1.5" stroke-dasharray="8 4"/><text x="{3:.1}" y="{4:.1}" fill="{2}" font-size="11">{5}</text>"#,
            py(l.y),
            LEFT + plot_w,
            l.color,
            LEFT + 6.0,
            py(l.y) - 5.0,
            esc(&l.label)
        );
    }
    for (k, l) in p.series.iter().enumerate() {
        if l.style == Style::Dots {
            dotted(s, l, &px, &py);
        } else {
            steps(s, l, &px, &py);
        }
        let ly = y0 + TOP + 14.0 + 18.0 * k as f64;
        let lx = LEFT + plot_w + 14.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="{2}" stroke-width="3"/><text x="{3:.1}" y="{4:.1}">{5}</text>"#,
            ly,
            lx + 18.0,
            l.color,
            lx + 24.0,
            ly + 4.0,
            esc(&l.name)
        );
    }
}

/// Straight segments through the points, a dot on each.
fn dotted(s: &mut String, l: &Series, px: &impl Fn(f64) -> f64, py: &impl Fn(f64) -> f64) {
    let mut d = String::new();
    for (j, &(x, y)) in l.points.iter().enumerate() {
        let _ = write!(
            d,
            "{}{:.1},{:.1}",
            if j == 0 { "M" } else { " L" },
            px(x),
            py(y)
        );
    }
    let _ = writeln!(
        s,
        r#"<path d="{d}" fill="none" stroke="{}" stroke-width="2"/>"#,
        l.color
    );
    for &(x, y) in &l.points {
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#,
            px(x),
            py(y),
            l.color
        );
    }
}

/// A step line: the value holds until the next point.
fn steps(s: &mut String, l: &Series, px: &impl Fn(f64) -> f64, py: &impl Fn(f64) -> f64) {
    let mut d = String::new();
    let mut last_y = 0.0;
    for (j, &(x, y)) in l.points.iter().enumerate() {
        // Keep only the points where the value changes (and the last one).
        if j > 0 && y == last_y && j + 1 < l.points.len() {
            continue;
        }
        if j == 0 {
            let _ = write!(d, "M{:.1},{:.1}", px(x), py(y));
        } else {
            let _ = write!(
                d,
                " L{:.1},{:.1} L{:.1},{:.1}",
                px(x),
                py(last_y),
                px(x),
                py(y)
            );
        }
        last_y = y;
    }
    let _ = writeln!(
        s,
        r#"<path d="{d}" fill="none" stroke="{}" stroke-width="2"/>"#,
        l.color
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_well_formed_svg_with_every_series_and_marker() {
        let p = Panel {
            title: "Scenario <3>".into(),
            x_label: "hours".into(),
            y_label: "devices".into(),
            series: vec![
                Series {
                    name: "canary".into(),
                    color: RING_COLORS[0],
                    points: vec![(0.0, 0.0), (1.0, 20.0), (2.0, 30.0)],
                    style: Style::Steps,
                },
                Series {
                    name: "rest".into(),
                    color: RING_COLORS[2],
                    points: vec![(0.0, 0.0), (5.0, 1000.0)],
                    style: Style::Steps,
                },
            ],
            markers: vec![Marker {
                x: 1.5,
                label: "promote".into(),
                color: "#555",
            }],
            ..Panel::default()
        };
        let svg = render(&[p.clone(), p]);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<path ").count(), 4);
        assert!(svg.contains("Scenario &lt;3&gt;"));
        assert_eq!(svg.matches(">promote<").count(), 2);
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
    }

    #[test]
    fn signed_panel_draws_levels_dots_and_a_negative_axis() {
        let p = Panel {
            title: "gate".into(),
            series: vec![Series {
                name: "llr".into(),
                color: RING_COLORS[0],
                points: vec![(1.0, -0.5), (2.0, 1.2), (3.0, 3.1)],
                style: Style::Dots,
            }],
            levels: vec![
                Level {
                    y: 2.9,
                    label: "upper".into(),
                    color: "#d62728",
                },
                Level {
                    y: -2.25,
                    label: "lower".into(),
                    color: "#2ca02c",
                },
            ],
            signed: true,
            ..Panel::default()
        };
        let svg = render(&[p]);
        assert_eq!(svg.matches("<circle ").count(), 3);
        assert!(svg.contains(">upper<") && svg.contains(">lower<"));
        // The axis reaches below the lower bound: its lowest tick label is under -2.25.
        let lowest = svg
            .split(r#"text-anchor="end">"#)
            .skip(1)
            .filter_map(|t| t.split('<').next()?.parse::<f64>().ok())
            .fold(f64::INFINITY, f64::min);
        assert!(lowest <= -2.25, "{lowest}");
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
    }

    #[test]
    fn nice_range_covers_both_signs() {
        for (lo, hi) in [(-2.25, 4.1), (0.0, 3.0), (-5.0, 0.0), (-0.1, 0.1)] {
            let (min, max, step) = nice_range(lo, hi);
            assert!(
                min <= lo && max >= hi && step > 0.0,
                "{lo} {hi}: {min} {max} {step}"
            );
            assert!((max - min) / step <= 12.0);
        }
    }

    #[test]
    fn nice_axis_covers_the_maximum() {
        assert_eq!(tick(0.6000000000000001), "0.6");
        assert_eq!(tick(40.0), "40");
        for m in [0.0, 0.3, 7.0, 13.0, 99.0, 20_000.0] {
            let (top, step) = nice_axis(m);
            assert!(
                top >= m && step > 0.0 && top / step <= 10.0,
                "{m} {top} {step}"
            );
        }
    }
}
