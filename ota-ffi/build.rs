//! Gives `libota.so` its ELF SONAME, `libota.so.<major version>` (`libota.so.0` today), so that a
//! program linked against it records the ABI it was built for rather than the unversioned
//! development name. `install.sh` installs the versioned file with the two usual symlinks
//! (`libota.so.0` for the loader, `libota.so` for the linker).

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    // ELF platforms whose linkers take -soname; macOS (install_name) and Windows have none.
    let elf = matches!(
        os.as_str(),
        "linux"
            | "android"
            | "freebsd"
            | "netbsd"
            | "openbsd"
            | "dragonfly"
            | "illumos"
            | "solaris"
    );
    if elf {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libota.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
