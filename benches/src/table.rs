//! Markdown tables and number formatting for RESULTS.md.

use std::fmt::Write;
use std::time::Duration;

/// A Markdown table built row by row.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are left empty, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// The table as GitHub-flavoured Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let _ = writeln!(
            out,
            "|{}",
            self.header.iter().map(|_| "---|").collect::<String>()
        );
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }
}

/// `12.3 ms`, `456 µs`, `1.23 s`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

/// A ratio `ours / theirs` as `0.87x`.
pub fn fmt_ratio(ours: f64, theirs: f64) -> String {
    if theirs == 0.0 {
        return "n/a".to_string();
    }
    format!("{:.2}x", ours / theirs)
}

/// Bytes with a thousands separator: `1,234,567`.
pub fn fmt_bytes(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_bytes(1234567), "1,234,567");
        assert_eq!(fmt_bytes(12), "12");
        assert_eq!(fmt_ratio(1.0, 4.0), "0.25x");
        assert_eq!(fmt_ratio(1.0, 0.0), "n/a");
        assert_eq!(fmt_duration(Duration::from_micros(1500)), "1.5 ms");
        assert_eq!(fmt_duration(Duration::from_millis(2500)), "2.50 s");
    }

    #[test]
    fn table_escapes_pipes_and_pads_rows() {
        let mut t = Table::new(&["a", "b"]);
        t.row(vec!["x|y".into()]);
        let md = t.to_markdown();
        assert_eq!(md, "| a | b |\n|---|---|\n| x\\|y |  |\n");
    }
}
