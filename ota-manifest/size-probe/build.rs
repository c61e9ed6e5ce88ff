//! Links with link.ld (a minimal Cortex-M memory map) when building for a bare-metal target.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    if std::env::var("TARGET").is_ok_and(|t| t.starts_with("thumb")) {
        println!("cargo:rustc-link-search={dir}");
        println!("cargo:rustc-link-arg=-Tlink.ld");
    }
    println!("cargo:rerun-if-changed=link.ld");
}
