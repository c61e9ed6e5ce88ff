//! What machine and which tool versions produced a set of figures.

use std::process::Command;

/// The CPU model, the number of online cores and the kernel, for the RESULTS.md header.
pub fn describe() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = first_line("uname", &["-sr"]).unwrap_or_default();
    format!("{cpu}, {cores} cores, {kernel}")
}

/// The first line a tool prints for its version flag (stdout or stderr), or "not installed".
pub fn tool_version(program: &str, args: &[&str]) -> String {
    first_line(program, args).unwrap_or_else(|| "not installed".to_string())
}

fn first_line(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}
