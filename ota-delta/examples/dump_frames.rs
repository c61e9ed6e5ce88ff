//! Writes the raw content of each bsdiff-mode frame to `DIR/frame_NNNN` so that codecs can be
//! compared on exactly what a patch compresses (see benches/compare/delta-codecs.sh).
//! `dump_frames OLD NEW DIR [FRAME_SIZE]`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 4 {
        eprintln!("usage: dump_frames OLD NEW DIR [FRAME_SIZE]");
        std::process::exit(2);
    }
    let fs: usize = a.get(4).map_or(Ok(256 << 10), |s| s.parse())?;
    let frames =
        ota_delta::probe::bsdiff_raw_frames(&std::fs::read(&a[1])?, &std::fs::read(&a[2])?, fs)?;
    std::fs::create_dir_all(&a[3])?;
    for (i, f) in frames.iter().enumerate() {
        std::fs::write(format!("{}/frame_{i:04}", a[3]), f)?;
    }
    Ok(())
}
