//! Issue 15 §3: a 299-byte BSDIFF40 patch that declares and produces 250 MiB (three bzip2
//! streams, the extra one of zeros). Before the fix the diff and extra streams were decompressed
//! whole before the target was built: 2x the target in memory (510 MiB RSS for `ota delta
//! apply`). Now the streams are decoded as the target is written.
//!
//! The fixture `tests/data/classic_bomb_250mib.bsdiff` was made with Python's `bz2` module at
//! level 9: control `[(0, 250 MiB, 0)]`, an empty diff stream, 250 MiB of zeros as extra.
//!
//! Peak memory is the process's peak RSS (`VmHWM`), reset through `/proc/self/clear_refs`
//! (Linux), so this file holds a single test: tests in one binary run on parallel threads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

/// Resets the peak RSS to the current RSS and returns the current RSS, in bytes.
fn reset_peak() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    status_kib("VmRSS:") << 10
}

fn peak() -> u64 {
    status_kib("VmHWM:") << 10
}

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

const TARGET: u64 = 250 << 20;

/// Bytes written, nothing kept.
struct Count(u64);
impl std::io::Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn classic_bomb_stays_within_the_documented_memory() {
    let patch = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/classic_bomb_250mib.bsdiff"
    ))
    .unwrap();
    assert_eq!(patch.len(), 299);
    let old = vec![7u8; 1000];
    let limits = ota_delta::Limits::default();

    // Streaming: about 200 KiB whatever the target size.
    let base = reset_peak();
    let mut sink = Count(0);
    let n = ota_delta::apply_bsdiff_to(&old[..], &patch, &limits, &mut sink).unwrap();
    assert_eq!((n, sink.0), (TARGET, TARGET));
    let grew = peak() - base;
    assert!(
        grew < 8 << 20,
        "streaming classic apply grew RSS by {grew} bytes"
    );

    // In memory: the target and nothing close to a second copy of it.
    let base = reset_peak();
    let out = ota_delta::apply_bsdiff(&old, &patch, &limits).unwrap();
    assert_eq!(out.len() as u64, TARGET);
    assert!(out.iter().all(|b| *b == 0));
    drop(out);
    let grew = peak() - base;
    assert!(
        grew < TARGET + (8 << 20),
        "in-memory classic apply grew RSS by {grew} bytes for a {TARGET}-byte target"
    );

    // A lower limit refuses the declared size before decoding anything.
    let small = ota_delta::Limits {
        max_classic_target: TARGET - 1,
        ..limits
    };
    assert!(matches!(
        ota_delta::apply_bsdiff(&old, &patch, &small),
        Err(ota_delta::Error::LimitExceeded {
            what: "classic new size",
            ..
        })
    ));
}
