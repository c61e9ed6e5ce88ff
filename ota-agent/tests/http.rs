//! `HttpFetch` against a server on loopback: ranges, a connection dropped mid-file, servers that
//! lie about the length or ignore `Range`, a missing resource, and a whole update over HTTP.
#![cfg(feature = "http")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use common::{Device, Fixture, HealthPlan};
use ota_agent::sim::SimBoot;
use ota_agent::{
    Agent, Config, Env, Fetch, FetchError, FileFetch, HttpFetch, Installer, Outcome, Progress,
    Reason, Resource, SlotInstaller, Stage, State,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Honest,
    /// Every response sends half its body, then closes.
    DropHalf,
    /// Content-Length claims 100 bytes more than are sent.
    LongerLength,
    /// Ignores Range: 200 with the whole file.
    IgnoreRange,
    /// Sends different bytes than the file (and says nothing).
    WrongBytes,
}

/// Serves `files` (by name) on 127.0.0.1 for at most `max` connections.
fn serve(files: HashMap<String, Vec<u8>>, mode: Mode, max: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(stream) = stream else { continue };
            let _ = handle(stream, &files, mode);
        }
    });
    format!("http://{addr}/objects")
}

fn handle(stream: TcpStream, files: &HashMap<String, Vec<u8>>, mode: Mode) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let mut range = None;
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(r) = lower.strip_prefix("range: bytes=") {
            let (a, b) = r.trim().split_once('-').unwrap();
            range = Some((a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()));
        }
    }
    let path = first.split_whitespace().nth(1).unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("");
    let mut out = stream;
    let Some(file) = files.get(name) else {
        return out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let mut file = file.clone();
    if mode == Mode::WrongBytes {
        for b in file.iter_mut().step_by(7) {
            *b ^= 0x20;
        }
    }
    let (status, body, extra) = match (mode, range) {
        (Mode::IgnoreRange, _) | (_, None) => ("200 OK", file.clone(), String::new()),
        (_, Some((a, _))) if a >= file.len() => {
            return out.write_all(
                format!(
                    "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    file.len()
                )
                .as_bytes(),
            );
        }
        (_, Some((a, b))) => {
            let end = (b + 1).min(file.len());
            (
                "206 Partial Content",
                file[a..end].to_vec(),
                format!("Content-Range: bytes {a}-{}/{}\r\n", end - 1, file.len()),
            )
        }
    };
    let (claimed, sent) = match mode {
        Mode::DropHalf => (body.len(), body.len().div_ceil(2)),
        Mode::LongerLength => (body.len() + 100, body.len()),
        _ => (body.len(), body.len()),
    };
    out.write_all(
        format!(
            "HTTP/1.1 {status}\r\n{extra}Content-Length: {claimed}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )?;
    out.write_all(&body[..sent])?;
    out.flush()
}

fn named(fx: &Fixture) -> HashMap<String, Vec<u8>> {
    fx.files
        .iter()
        .map(|(d, b)| (FileFetch::name(d), b.clone()))
        .collect()
}

/// Reads a whole resource the way the agent does: ranges of `chunk` bytes, each call continuing
/// where the last one stopped.
fn read_all(f: &mut HttpFetch, what: &Resource<'_>, chunk: usize) -> (Vec<u8>, u32) {
    let mut out = Vec::new();
    let mut calls = 0;
    let mut buf = vec![0u8; chunk];
    loop {
        calls += 1;
        assert!(calls < 10_000);
        let n = f.fetch(what, out.len() as u64, &mut buf).unwrap();
        if n == 0 {
            return (out, calls);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn ranges_drops_and_lies_still_give_the_exact_bytes() {
    let fx = Fixture::new_cached();
    let file = fx.new_app.clone();
    let digest = ota_manifest::Sha256::of(&file).0;
    let what = Resource::Image {
        component: "app",
        sha256: &digest,
    };
    for mode in [
        Mode::Honest,
        Mode::DropHalf,
        Mode::LongerLength,
        Mode::IgnoreRange,
    ] {
        let url = serve(named(fx), mode, 200);
        let mut f = HttpFetch::new(url, Duration::from_secs(5));
        let (got, calls) = read_all(&mut f, &what, 1000);
        assert_eq!(got, file, "mode {}", mode as u8);
        if mode == Mode::DropHalf {
            assert!(calls > 8, "every response was cut: more calls ({calls})");
        }
    }
}

#[test]
fn missing_resource_is_not_found() {
    let fx = Fixture::new_cached();
    let url = serve(named(fx), Mode::Honest, 4);
    let mut f = HttpFetch::new(url, Duration::from_secs(5));
    let what = Resource::Image {
        component: "x",
        sha256: &[0xAB; 32],
    };
    assert!(matches!(
        f.fetch(&what, 0, &mut [0u8; 16]),
        Err(FetchError::NotFound(_))
    ));
    // Nobody listens: a lost connection, which the agent retries later.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut f = HttpFetch::new(format!("http://127.0.0.1:{port}/o"), Duration::from_secs(2));
    assert!(matches!(
        f.fetch(&what, 0, &mut [0u8; 16]),
        Err(FetchError::ConnectionLost(_))
    ));
}

fn update_over_http(mode: Mode) -> Outcome {
    let (o, _) = update_over_http_on(mode);
    o
}

fn update_over_http_on(mode: Mode) -> (Outcome, Device) {
    let fx = Fixture::new_cached();
    let rel = fx.release();
    let url = serve(named(fx), mode, 500);
    let dev = Device::new(fx, 4, 0xFF);
    let mut fetch = HttpFetch::new(url, Duration::from_secs(5));
    let mut ctx = common::Ctx::new(fx, HealthPlan::Pass);
    for _ in 0..20 {
        let boot: SimBoot = dev.power_on().unwrap();
        let mut agent = Agent::open(
            ota_agent::FlashStore::new(dev.store.clone(), 0).unwrap(),
            boot,
            Config::default(),
        )
        .unwrap();
        let mut fwi = SlotInstaller::firmware(dev.fw.clone());
        let mut appi = SlotInstaller::volume(dev.app.clone(), "app");
        let mut installers: [&mut dyn Installer; 2] = [&mut fwi, &mut appi];
        if agent.state() == State::Idle {
            agent.start(&rel, &mut installers).unwrap();
        }
        let mut env = Env {
            fetch: &mut fetch,
            installers: &mut installers,
            health: &mut ctx.check,
            clock: &ctx.clock,
            release: Some(&rel),
        };
        if let Progress::AtRest(o) = agent.resume(&mut env).unwrap() {
            return (o, dev);
        }
    }
    panic!("no outcome")
}

#[test]
fn a_whole_update_over_http_with_dropped_connections() {
    let fx = Fixture::new_cached();
    for mode in [Mode::Honest, Mode::DropHalf] {
        let (o, dev) = update_over_http_on(mode);
        assert_eq!(o, Outcome::Committed);
        common::check_final(fx, &dev, o);
    }
}

#[test]
fn a_server_that_sends_other_bytes_fails_verification() {
    assert_eq!(
        update_over_http(Mode::WrongBytes),
        Outcome::Failed {
            stage: Stage::Verify,
            reason: Reason::IntegrityCheckFailure
        }
    );
}
