//! Writes the C programs' test data into a directory (`.ci/steps/ffi.sh` uses it for the
//! valgrind run; `cargo test` writes the same bytes into a temporary directory):
//!   cargo run -p ota-ffi --example make_fixtures -- DIR
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: make_fixtures DIR");
        std::process::exit(2);
    };
    if let Err(e) = fixtures::write_all(std::path::Path::new(&dir)) {
        eprintln!("make_fixtures: {e}");
        std::process::exit(1);
    }
}
