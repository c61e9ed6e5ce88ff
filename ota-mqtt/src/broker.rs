//! A mosquitto broker started by the project: on a free loopback port, with the config this
//! crate ships (`broker/mosquitto.conf`, plus `broker/tls.conf` and the dynamic-security
//! plugin's config generated from an [`Access`] for TLS), in a
//! temporary directory that holds its persistence file and log. It is stopped by its own process
//! id when dropped, and can be restarted on the same port with the same persistence.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::access::Access;
use crate::error::{Error, Result};

/// The shipped broker config (`broker/mosquitto.conf`), with `@PLACEHOLDERS@`.
pub const MOSQUITTO_CONF: &str = include_str!("../broker/mosquitto.conf");
/// The shipped TLS listener settings (`broker/tls.conf`), with the dynamic-security plugin.
pub const MOSQUITTO_TLS_CONF: &str = include_str!("../broker/tls.conf");
/// The file name of mosquitto's dynamic-security plugin.
pub const DYNSEC_PLUGIN_FILE: &str = "mosquitto_dynamic_security.so";

/// How long `start` waits for the broker to accept TCP connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful stop waits before the broker is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Files of a TLS listener: the CA that signs client certificates and the broker's own
/// certificate and key (PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// CA certificate (PEM) that client certificates must chain to.
    pub ca: PathBuf,
    /// The broker's certificate (PEM), for `127.0.0.1` / `localhost`.
    pub cert: PathBuf,
    /// The broker's private key (PEM).
    pub key: PathBuf,
}

/// A running (or stopped) mosquitto process owned by the caller.
#[derive(Debug)]
pub struct Mosquitto {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    conf: PathBuf,
    binary: PathBuf,
}

/// Where the mosquitto binary is: `$OTA_MOSQUITTO`, else `mosquitto` on `PATH`, else Debian's
/// `/usr/sbin/mosquitto` (not on a non-root `PATH`).
pub fn mosquitto_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OTA_MOSQUITTO") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]) {
        let candidate = dir.join("mosquitto");
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    None
}

/// Where mosquitto's dynamic-security plugin is: `$OTA_MOSQUITTO_DYNSEC`, else
/// `mosquitto_dynamic_security.so` in `/usr/lib/{triplet}/` (Debian's package), `/usr/lib/`,
/// `/usr/lib/mosquitto/` or `/usr/local/lib/`.
pub fn dynsec_plugin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OTA_MOSQUITTO_DYNSEC") {
        return Some(PathBuf::from(p));
    }
    let mut dirs = vec![
        PathBuf::from("/usr/lib"),
        PathBuf::from("/usr/lib/mosquitto"),
        PathBuf::from("/usr/local/lib"),
    ];
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        let mut triplets: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_str().is_some_and(|s| s.ends_with("-linux-gnu")))
            .collect();
        triplets.sort();
        dirs.splice(0..0, triplets);
    }
    dirs.into_iter()
        .map(|d| d.join(DYNSEC_PLUGIN_FILE))
        .find(|p| p.is_file())
}

/// For test suites: true (with a note on stderr) when mosquitto is not installed and
/// `OTA_REQUIRE_MOSQUITTO` is not `1`, so `cargo test` on a machine without the broker skips the
/// broker tests instead of failing. CI installs mosquitto (`.ci/setup/mqtt.sh`) and sets
/// `OTA_REQUIRE_MOSQUITTO=1` (`.ci/run`): there this returns false and a missing broker fails the
/// test with [`Mosquitto::start`]'s error.
pub fn mosquitto_missing_for_tests() -> bool {
    if mosquitto_binary().is_some_and(|p| p.is_file())
        || std::env::var("OTA_REQUIRE_MOSQUITTO").as_deref() == Ok("1")
    {
        return false;
    }
    eprintln!(
        "note: mosquitto is not installed (.ci/setup/mqtt.sh installs it): broker test skipped"
    );
    true
}

impl Mosquitto {
    /// Starts mosquitto with the shipped plain-TCP config (anonymous clients allowed) on a free
    /// loopback port.
    ///
    /// # Errors
    /// [`Error::Broker`] when mosquitto is not installed (run `.ci/setup/mqtt.sh`), cannot write its
    /// directory, exits at once, or does not listen within 10 s.
    pub fn start() -> Result<Self> {
        Self::start_with("allow_anonymous true", None)
    }

    /// Starts mosquitto with the shipped TLS listener settings: client certificates required,
    /// the certificate's CN is the username and the client id, and `access` (written as the
    /// dynamic-security plugin's config) says who may publish and subscribe to what.
    ///
    /// # Errors
    /// As [`Mosquitto::start`], and [`Error::Broker`] when the dynamic-security plugin is not
    /// found ([`dynsec_plugin`]).
    pub fn start_tls(files: &TlsFiles, access: &Access) -> Result<Self> {
        Self::start_with("", Some((files, access)))
    }

    fn start_with(listener_settings: &str, tls: Option<(&TlsFiles, &Access)>) -> Result<Self> {
        let binary = mosquitto_binary().ok_or_else(|| {
            Error::Broker("mosquitto is not installed (run .ci/setup/mqtt.sh)".into())
        })?;
        let dir = tempfile::Builder::new()
            .prefix("ota-mosquitto-")
            .tempdir()
            .map_err(|e| Error::Broker(format!("temporary directory: {e}")))?;
        let dir_str = path_str(dir.path())?;
        let mut settings = listener_settings.to_owned();
        if let Some((files, access)) = tls {
            let plugin = dynsec_plugin().ok_or_else(|| {
                Error::Broker(format!(
                    "{DYNSEC_PLUGIN_FILE} not found (Debian's mosquitto package ships it; or set \
                     OTA_MOSQUITTO_DYNSEC)"
                ))
            })?;
            let config = dir.path().join("dynamic-security.json");
            std::fs::write(&config, access.dynsec_json())
                .map_err(|e| Error::Broker(format!("{}: {e}", config.display())))?;
            settings = MOSQUITTO_TLS_CONF
                .replace("@CA@", path_str(&files.ca)?)
                .replace("@CERT@", path_str(&files.cert)?)
                .replace("@KEY@", path_str(&files.key)?)
                .replace("@DYNSEC_PLUGIN@", path_str(&plugin)?)
                .replace("@DYNSEC_CONFIG@", path_str(&config)?);
        }
        let conf = dir.path().join("mosquitto.conf");
        // A port found free can be taken by someone else before mosquitto binds it: try a few.
        let mut last = Error::Broker("no attempt".into());
        for _ in 0..5 {
            let port = free_port()?;
            let text = MOSQUITTO_CONF
                .replace("@PORT@", &port.to_string())
                .replace("@DIR@", dir_str)
                .replace("@LISTENER_SETTINGS@", &settings);
            std::fs::write(&conf, text)
                .map_err(|e| Error::Broker(format!("{}: {e}", conf.display())))?;
            match spawn_at(&binary, &conf, dir.path(), port) {
                Ok(child) => {
                    return Ok(Self {
                        child: Some(child),
                        port,
                        dir,
                        conf,
                        binary,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The loopback port the broker listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The directory holding the config, the persistence file and the logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last lines of the broker's log (for test failure messages).
    pub fn log_tail(&self) -> String {
        log_tail(self.dir.path())
    }

    /// Stops the broker gracefully (SIGTERM to its pid: it writes its persistence file), or kills
    /// it when it has not exited within 10 s. Does nothing when it is not running.
    pub fn stop(&mut self) {
        self.stop_child(true);
    }

    /// Kills the broker at once (SIGKILL): only what it had saved (every second) survives.
    pub fn kill(&mut self) {
        self.stop_child(false);
    }

    /// Starts the broker again on the same port, with the same config and persistence file.
    ///
    /// # Errors
    /// As [`Mosquitto::start`] (the port may have been taken meanwhile).
    pub fn restart(&mut self) -> Result<()> {
        self.stop_child(true);
        self.child = Some(spawn_at(
            &self.binary,
            &self.conf,
            self.dir.path(),
            self.port,
        )?);
        Ok(())
    }

    fn stop_child(&mut self, graceful: bool) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if graceful {
            // SIGTERM through kill(1): std only sends SIGKILL, and this crate has no unsafe code.
            let sent = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if sent {
                let deadline = Instant::now() + STOP_TIMEOUT;
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop_child(false);
    }
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| Error::Broker(format!("path is not UTF-8: {}", p.display())))
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Error::Broker(format!("no free loopback port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::Broker(format!("no free loopback port: {e}")))
}

// Starts mosquitto and waits until it accepts TCP connections on `port`.
fn spawn_at(binary: &Path, conf: &Path, dir: &Path, port: u16) -> Result<Child> {
    let log = dir.join("stderr.log");
    let stderr = std::fs::File::create(&log)
        .map_err(|e| Error::Broker(format!("{}: {e}", log.display())))?;
    let mut child = Command::new(binary)
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| Error::Broker(format!("{}: {e}", binary.display())))?;
    let deadline = Instant::now() + START_TIMEOUT;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::Broker(format!(
                "mosquitto exited at start ({status}): {}",
                log_tail(dir)
            )));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Broker(format!(
                "mosquitto did not listen on {addr} within {START_TIMEOUT:?}: {}",
                log_tail(dir)
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn log_tail(dir: &Path) -> String {
    let mut text = String::new();
    for name in ["mosquitto.log", "stderr.log"] {
        if let Ok(t) = std::fs::read_to_string(dir.join(name)) {
            let lines: Vec<&str> = t.lines().collect();
            let from = lines.len().saturating_sub(20);
            for line in lines.get(from..).unwrap_or_default() {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    text
}
