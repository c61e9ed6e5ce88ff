//! Applies a native patch streaming from files: `apply OLD PATCH OUT`.
//! The source is read by position, the patch is streamed, the target is written frame by frame:
//! this is the binary whose peak RSS the comparison in benches/results/delta.md reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufReader, BufWriter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: apply OLD PATCH OUT");
        std::process::exit(2);
    }
    let source = ota_delta::FileSource::open(&args[1])?;
    let patch = BufReader::with_capacity(64 << 10, std::fs::File::open(&args[2])?);
    let out = BufWriter::with_capacity(64 << 10, std::fs::File::create(&args[3])?);
    let n = ota_delta::apply_patch(patch, &source, out)?;
    println!("wrote {n} bytes");
    Ok(())
}
