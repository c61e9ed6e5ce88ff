//! Whether an in-place (single-slot) MCU apply fits: `inplace_probe OLD NEW [SECTOR] [SHIFT]` prints the
//! share of bsdiff add bytes that would read source already overwritten when the target is
//! written in order over it (sector-sized erases), and the MCU patch size with those bytes sent
//! as literals instead (see `ota_delta::probe::inplace_estimate`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 3 {
        eprintln!("usage: inplace_probe OLD NEW [SECTOR] [SHIFT]");
        std::process::exit(2);
    }
    let sector: u64 = a.get(3).map_or(Ok(4096), |s| s.parse())?;
    let shift: u64 = a.get(4).map_or(Ok(0), |s| s.parse())?;
    let (old, new) = (std::fs::read(&a[1])?, std::fs::read(&a[2])?);
    let (adds, hazard, mcu, inplace) =
        ota_delta::probe::inplace_estimate(&old, &new, sector, shift)?;
    println!(
        "sector={sector} shift={shift} add_bytes={adds} overwritten_reads={hazard} ({:.1}%) mcu={mcu} mcu_inplace_literal={inplace} ratio={:.3}",
        100.0 * hazard as f64 / adds.max(1) as f64,
        inplace as f64 / mcu.max(1) as f64
    );
    Ok(())
}
