//! The committed header `include/ota_mcu.h` must be exactly what cbindgen generates from the code
//! (made C90-clean as ota-ffi's is), and every status it names must have the same number as the
//! `OTA_STATUS_*` of the same name in ota-ffi's `ota.h`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

#[test]
fn committed_header_matches_generated() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header");
    let mut raw = Vec::new();
    bindings.write(&mut raw);
    let generated = c90(&String::from_utf8(raw).unwrap()).into_bytes();
    let header_path = crate_dir.join("include/ota_mcu.h");
    if std::env::var_os("OTA_BLESS_HEADER").is_some() {
        std::fs::write(&header_path, &generated).unwrap();
    }
    let committed = std::fs::read(&header_path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/ota_mcu.h is stale: regenerate it with OTA_BLESS_HEADER=1 cargo test -p ota-ffi-mcu --test header"
    );
}

/// `NAME = number` for every enumerator starting with `prefix` in a header.
fn statuses(header: &str, prefix: &str) -> BTreeMap<String, u32> {
    header
        .lines()
        .filter_map(|l| {
            let (name, value) = l.trim().trim_end_matches(',').split_once(" = ")?;
            let name = name.strip_prefix(prefix)?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[test]
fn statuses_have_the_numbers_of_ota_h() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mcu = std::fs::read_to_string(crate_dir.join("include/ota_mcu.h")).unwrap();
    let ota = std::fs::read_to_string(crate_dir.join("../ota-ffi/include/ota.h")).unwrap();
    let (mcu, ota) = (
        statuses(&mcu, "OTA_MCU_STATUS_"),
        statuses(&ota, "OTA_STATUS_"),
    );
    assert!(mcu.len() >= 20 && ota.len() >= mcu.len(), "{mcu:?}");
    for (name, number) in &mcu {
        assert_eq!(
            ota.get(name),
            Some(number),
            "OTA_MCU_STATUS_{name} = {number} has no OTA_STATUS_{name} of that number in ota.h"
        );
    }
}

/// cbindgen's C output is C99 (`//` after `#endif` and the `}` of its C++ blocks, a comma after
/// the last enumerator): this turns those comments into `/* */` and drops the comma, nothing else.
fn c90(header: &str) -> String {
    let lines: Vec<&str> = header.lines().collect();
    let mut out = String::with_capacity(header.len());
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let code_line = trimmed.starts_with('#') || trimmed.starts_with('}');
        let mut line = match line.find("//") {
            Some(at) if code_line => {
                let (code, comment) = line.split_at(at);
                format!("{code}/* {} */", comment.trim_start_matches('/').trim())
            }
            _ => (*line).to_string(),
        };
        let next_closes = lines
            .get(i + 1)
            .is_some_and(|n| n.trim_start().starts_with('}'));
        if next_closes && line.ends_with(',') && !code_line {
            line.pop();
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}
