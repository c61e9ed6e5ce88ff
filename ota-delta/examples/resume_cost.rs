//! What checking the stored target costs, for the two designs of issue 15 §1:
//! `resume_cost OLD NEW`. Makes the patch, then times (median of 7 runs, files in the page cache):
//! - a full apply from files (source verified, target written to a file);
//! - design B, re-reading and hashing the whole written target after every apply;
//! - design A (the one kept), `Apply::resume` from the cursor before the last frame, which
//!   re-hashes the stored prefix (all but one frame) and is paid only when a resume happens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_delta::{Apply, ApplyOptions, Cursor, FileSource, HEADER_LEN, SourceCheck};
use sha2::Digest;
use std::io::{BufWriter, Read, Write};
use std::time::{Duration, Instant};

fn median(mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..7)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[3]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(args.len(), 3, "usage: resume_cost OLD NEW");
    let old = std::fs::read(&args[1]).unwrap();
    let new = std::fs::read(&args[2]).unwrap();
    let patch = ota_delta::diff(&old, &new).unwrap();
    let out_path = std::env::temp_dir().join(format!("resume_cost_{}.bin", std::process::id()));
    let source = FileSource::open(&args[1]).unwrap();

    let mut cursors: Vec<Cursor> = Vec::new();
    let apply = median(|| {
        let mut sink =
            BufWriter::with_capacity(64 << 10, std::fs::File::create(&out_path).unwrap());
        let mut job = Apply::new(&patch[..], &source, &ApplyOptions::default()).unwrap();
        cursors.clear();
        while let Some(c) = job.next_frame(&mut sink).unwrap() {
            cursors.push(c);
        }
        sink.flush().unwrap();
    });
    assert_eq!(std::fs::read(&out_path).unwrap(), new);

    let reread = median(|| {
        let mut f = std::fs::File::open(&out_path).unwrap();
        let mut h = sha2::Sha256::new();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = f.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        assert_eq!(
            h.finalize()[..],
            ota_delta::read_header(&patch[..], &Default::default())
                .unwrap()
                .target_sha256
        );
    });

    let c = cursors[cursors.len() - 2];
    let header: &[u8; HEADER_LEN] = patch[..HEADER_LEN].try_into().unwrap();
    let trust = ApplyOptions {
        source_check: SourceCheck::TrustCaller,
        ..ApplyOptions::default()
    };
    let resume = median(|| {
        let stored = std::fs::File::open(&out_path).unwrap();
        let rest = &patch[c.patch_offset() as usize..];
        Apply::resume(header, rest, &source, &c, stored, &trust).unwrap();
    });
    let _ = std::fs::remove_file(&out_path);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "target {} bytes, patch {} bytes, {} frames",
        new.len(),
        patch.len(),
        cursors.len()
    );
    println!(
        "full apply from files:                     {:8.1} ms",
        ms(apply)
    );
    println!(
        "B: re-read + SHA-256 of the whole target:  {:8.1} ms ({:.1}% of the apply, on every apply)",
        ms(reread),
        ms(reread) * 100.0 / ms(apply)
    );
    println!(
        "A: resume re-hashing {} stored bytes:  {:8.1} ms ({:.1}% of the apply, on a resume only)",
        c.target_offset(),
        ms(resume),
        ms(resume) * 100.0 / ms(apply)
    );
}
