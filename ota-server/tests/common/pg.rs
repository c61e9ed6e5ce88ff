//! A throwaway PostgreSQL cluster for the tests: `initdb` into a temporary directory, the
//! server on a free loopback port with its unix socket in that directory, stopped by its pid
//! when dropped. Needs Debian's `postgresql` (`.ci/setup/server.sh`); without it the tests
//! skip with a note, unless `OTA_REQUIRE_POSTGRES=1` (CI) makes that a failure.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
    pid: u32,
    next_db: std::sync::atomic::AtomicUsize,
}

/// The directory of `initdb`, `pg_ctl` and `postgres`: `OTA_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian keeps them off PATH).
fn bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("OTA_PG_BIN") {
        return Some(PathBuf::from(d));
    }
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, d)| d)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A command for a PostgreSQL binary: run as the `postgres` user when we are root (initdb and
/// postgres refuse to run as root).
fn pg_command(bin: &Path, name: &str) -> Command {
    let exe = bin.join(name);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn missing(why: &str) -> Option<Cluster> {
    if std::env::var("OTA_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("PostgreSQL is required (OTA_REQUIRE_POSTGRES=1) but {why}");
    }
    eprintln!(
        "note: skipping the PostgreSQL tests: {why} (install Debian's postgresql, see .ci/setup/server.sh)"
    );
    None
}

impl Cluster {
    /// Starts a cluster for tests (no fsync: nothing here survives a power cut anyway), or
    /// `None` (after a printed note) when PostgreSQL is not installed.
    pub fn start() -> Option<Cluster> {
        Self::start_with(false)
    }

    /// Starts a cluster; with `durable`, fsync and synchronous commits as in production (for
    /// figures).
    pub fn start_with(durable: bool) -> Option<Cluster> {
        let Some(bin) = bin_dir() else {
            return missing("no initdb under /usr/lib/postgresql/*/bin");
        };
        let dir = tempfile::Builder::new()
            .prefix("ota-server-pg")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .expect("chown")
                .success();
            assert!(ok, "chown of the cluster directory to postgres");
        }
        let data = dir.path().join("data");
        let out = pg_command(&bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "ota", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=40",
            dir.path().display()
        );
        if !durable {
            opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let out = pg_command(&bin, "pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-w", "-t", "60", "-o", &opts])
            .output()
            .expect("run pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
        let pid: u32 = std::fs::read_to_string(data.join("postmaster.pid"))
            .expect("postmaster.pid")
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("a pid in postmaster.pid");
        Some(Cluster {
            dir,
            port,
            pid,
            next_db: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Connection parameters for database `db` over the unix socket.
    pub fn params(&self, db: &str) -> String {
        format!(
            "host={} port={} user=ota dbname={db}",
            self.dir.path().display(),
            self.port
        )
    }

    /// A new empty database; its connection parameters.
    pub fn create_db(&self) -> String {
        let n = self
            .next_db
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("t{n}");
        let mut c = postgres::Client::connect(&self.params("postgres"), postgres::NoTls)
            .expect("connect to the postgres database");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.params(&name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SIGINT: fast shutdown (sessions are ended, the server exits cleanly).
        let _ = Command::new("kill")
            .args(["-INT", &self.pid.to_string()])
            .status();
        let proc = PathBuf::from(format!("/proc/{}", self.pid));
        let t0 = Instant::now();
        while proc.exists() && t0.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
