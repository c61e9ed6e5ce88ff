//! Makes a native patch: `diff OLD NEW PATCH [auto|full|bsdiff|xor4|xor2] [FRAME_SIZE] [PRESET, e.g. 9e or 6] [std|mcu]`.
//! Prints the chosen mode, the patch size and the time taken.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ota_delta::{DiffOptions, ModeChoice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!(
            "usage: diff OLD NEW PATCH [auto|full|bsdiff|xor4|xor2] [FRAME_SIZE] [PRESET] [std|mcu]"
        );
        std::process::exit(2);
    }
    let old = std::fs::read(&args[1])?;
    let new = std::fs::read(&args[2])?;
    let mode = match args.get(4).map(String::as_str) {
        None | Some("auto") => ModeChoice::Auto,
        Some("full") => ModeChoice::Full,
        Some("bsdiff") => ModeChoice::Bsdiff,
        Some("xor4") => ModeChoice::XorPlanes { width: 4 },
        Some("xor2") => ModeChoice::XorPlanes { width: 2 },
        Some(m) => return Err(format!("unknown mode {m}").into()),
    };
    let mut opts = DiffOptions {
        mode,
        ..DiffOptions::default()
    };
    if let Some(f) = args.get(5) {
        opts.frame_size = f.parse()?;
    }
    if let Some(p) = args.get(6) {
        opts.extreme = p.ends_with('e');
        opts.preset = p.trim_end_matches('e').parse()?;
    }
    if args.get(7).map(String::as_str) == Some("mcu") {
        opts.profile = ota_delta::Profile::Mcu;
    }
    let t = std::time::Instant::now();
    let patch = ota_delta::diff_with(&old, &new, &opts)?;
    let secs = t.elapsed().as_secs_f64();
    std::fs::write(&args[3], &patch)?;
    let header = ota_delta::read_header(&patch[..], &ota_delta::Limits::default())?;
    println!(
        "mode={:?} frames={} patch={} new={} ratio={:.4} diff_time={:.3}s",
        header.mode,
        header.frame_count,
        patch.len(),
        new.len(),
        patch.len() as f64 / new.len().max(1) as f64,
        secs
    );
    Ok(())
}
