//! Timing and memory measurement: medians of several runs, peak RSS of child processes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The median of `runs` timings of `f` (at least one run). `f`'s result is kept alive so that the
/// work cannot be optimised away.
pub fn median_time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            let out = f();
            let elapsed = start.elapsed();
            std::hint::black_box(out);
            elapsed
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// What one run of an external command cost.
#[derive(Debug, Clone, Copy)]
pub struct ProcessCost {
    /// Wall-clock time.
    pub wall: Duration,
    /// Peak resident set size in KiB, from `/usr/bin/time -v`; `None` where that tool is missing.
    pub peak_rss_kib: Option<u64>,
    /// CPU time (user + system, 10 ms resolution), from `/usr/bin/time -v`; `None` where that
    /// tool is missing. Unlike wall time it does not grow when other processes share the cores.
    pub cpu: Option<Duration>,
}

/// Runs `program args..` `runs` times and returns the median wall time, the median CPU time and
/// the largest peak RSS.
///
/// Standard output goes to `stdout_to` when given (for tools that write their result there), else
/// it is discarded. Fails when the command cannot start or exits non-zero.
pub fn run_command(
    program: &str,
    args: &[&str],
    stdout_to: Option<&Path>,
    runs: usize,
) -> std::io::Result<ProcessCost> {
    let time_tool = Path::new("/usr/bin/time");
    let use_time = time_tool.is_file();
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut peak: Option<u64> = None;
    for _ in 0..runs.max(1) {
        let rss_file = tempfile_path("rss");
        let mut cmd = if use_time {
            let mut c = Command::new(time_tool);
            c.arg("-v").arg("-o").arg(&rss_file).arg(program).args(args);
            c
        } else {
            let mut c = Command::new(program);
            c.args(args);
            c
        };
        match stdout_to {
            Some(path) => cmd.stdout(std::fs::File::create(path)?),
            None => cmd.stdout(Stdio::null()),
        };
        cmd.stderr(Stdio::null());
        let start = Instant::now();
        let status = cmd.status()?;
        walls.push(start.elapsed());
        if !status.success() {
            return Err(std::io::Error::other(format!(
                "{program} {args:?} exited with {status}"
            )));
        }
        if use_time {
            let report = std::fs::read_to_string(&rss_file).unwrap_or_default();
            let _ = std::fs::remove_file(&rss_file);
            if let Some(kib) = parse_max_rss(&report) {
                peak = Some(peak.map_or(kib, |p| p.max(kib)));
            }
            if let Some(cpu) = parse_cpu_time(&report) {
                cpus.push(cpu);
            }
        }
    }
    walls.sort();
    cpus.sort();
    Ok(ProcessCost {
        wall: walls[walls.len() / 2],
        peak_rss_kib: peak,
        cpu: (cpus.len() == walls.len()).then(|| cpus[cpus.len() / 2]),
    })
}

/// User + system time from the "User time (seconds)" and "System time (seconds)" lines of
/// `/usr/bin/time -v`.
pub fn parse_cpu_time(report: &str) -> Option<Duration> {
    let field = |name: &str| {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let secs = field("User time (seconds):")? + field("System time (seconds):")?;
    Some(Duration::from_secs_f64(secs))
}

/// The "Maximum resident set size (kbytes)" line of `/usr/bin/time -v`.
pub fn parse_max_rss(report: &str) -> Option<u64> {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
}

fn tempfile_path(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "ota-bench-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Throughput in MB/s (10^6 bytes per second).
pub fn mb_per_s(bytes: u64, time: Duration) -> f64 {
    let secs = time.as_secs_f64();
    if secs <= 0.0 {
        return f64::INFINITY;
    }
    bytes as f64 / 1e6 / secs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_rss_is_read_from_time_report() {
        let report =
            "\tCommand being timed: \"true\"\n\tMaximum resident set size (kbytes): 1234\n";
        assert_eq!(parse_max_rss(report), Some(1234));
        assert_eq!(parse_max_rss("nothing here"), None);
    }

    #[test]
    fn cpu_time_is_user_plus_system() {
        let report = "\tUser time (seconds): 0.13\n\tSystem time (seconds): 0.07\n";
        let cpu = parse_cpu_time(report).unwrap();
        assert!((cpu.as_secs_f64() - 0.2).abs() < 1e-9, "{cpu:?}");
        assert_eq!(parse_cpu_time("\tUser time (seconds): 0.13\n"), None);
    }

    #[test]
    fn median_of_odd_count_is_middle() {
        let mut delays = [3u64, 1, 2].into_iter();
        let d = median_time(3, || {
            std::thread::sleep(Duration::from_millis(delays.next().unwrap()))
        });
        assert!(d >= Duration::from_millis(2));
    }

    #[test]
    fn failing_command_is_an_error() {
        assert!(run_command("false", &[], None, 1).is_err());
        assert!(run_command("true", &[], None, 2).is_ok());
    }
}
