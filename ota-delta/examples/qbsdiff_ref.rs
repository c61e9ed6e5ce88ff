//! Reference measurements only: plain qbsdiff, as a user of that crate would run it.
//! `qbsdiff_ref diff OLD NEW PATCH` (default settings) or `qbsdiff_ref patch OLD PATCH OUT`
//! (loads the source and the patch whole, as qbsdiff's API requires).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 5 {
        eprintln!("usage: qbsdiff_ref diff OLD NEW PATCH | patch OLD PATCH OUT");
        std::process::exit(2);
    }
    let old = std::fs::read(&a[2])?;
    let input = std::fs::read(&a[3])?;
    let mut out = Vec::new();
    match a[1].as_str() {
        "diff" => {
            qbsdiff::Bsdiff::new(&old, &input).compare(std::io::Cursor::new(&mut out))?;
        }
        "patch" => {
            qbsdiff::Bspatch::new(&input)?.apply(&old, std::io::Cursor::new(&mut out))?;
        }
        m => return Err(format!("unknown command {m}").into()),
    }
    std::fs::write(&a[4], &out)?;
    Ok(())
}
