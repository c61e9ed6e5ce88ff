//! The U-Boot environment backend against Debian's `fw_printenv` / `fw_setenv` (u-boot-tools,
//! libubootenv), in both directions, plus corrupt and incomplete environments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use ota_agent::{BootControl, EnvLayout, Error, UbootEnv};
use ota_manifest::Slot;

const SIZE: usize = 0x2000;

fn tools() -> bool {
    let ok = Command::new("fw_printenv").arg("-V").output().is_ok();
    if !ok {
        // CI installs u-boot-tools (.ci/setup/agent.sh) and sets OTA_REQUIRE_UBOOT_TOOLS=1.
        assert!(
            std::env::var("OTA_REQUIRE_UBOOT_TOOLS").as_deref() != Ok("1"),
            "OTA_REQUIRE_UBOOT_TOOLS=1 but fw_printenv / fw_setenv are not installed"
        );
        eprintln!(
            "\n*** SKIPPED: fw_printenv / fw_setenv not found; install u-boot-tools \
             (.ci/setup/agent.sh does in CI) ***\n"
        );
    }
    ok
}

fn setup(dir: &Path, redundant: bool) -> (EnvLayout, std::path::PathBuf) {
    let env = dir.join("env.bin");
    std::fs::write(&env, vec![0u8; 2 * SIZE]).unwrap();
    let mut cfg = format!("{} 0x0 {:#x}\n", env.display(), SIZE);
    if redundant {
        cfg.push_str(&format!("{} {:#x} {:#x}\n", env.display(), SIZE, SIZE));
    }
    let cfg_path = dir.join("fw_env.config");
    std::fs::write(&cfg_path, &cfg).unwrap();
    (EnvLayout::parse_config(&cfg).unwrap(), cfg_path)
}

fn printenv(cfg: &Path) -> BTreeMap<String, String> {
    let out = Command::new("fw_printenv")
        .arg("-c")
        .arg(cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fw_printenv failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn setenv(cfg: &Path, k: &str, v: &str) {
    let st = Command::new("fw_setenv")
        .arg("-c")
        .arg(cfg)
        .arg(k)
        .arg(v)
        .status()
        .unwrap();
    assert!(st.success(), "fw_setenv {k} {v}");
}

fn interop(redundant: bool) {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (layout, cfg) = setup(dir.path(), redundant);
    UbootEnv::create(&layout, &UbootEnv::rauc_defaults(3)).unwrap();
    // fw_printenv reads what we created and what we write.
    let p = printenv(&cfg);
    assert_eq!(p.get("BOOT_ORDER").map(String::as_str), Some("A B"));
    let mut env = UbootEnv::open(layout.clone(), Slot::A, 3).unwrap();
    env.set_pending(Slot::B, 3).unwrap();
    let p = printenv(&cfg);
    assert_eq!(p.get("BOOT_ORDER").map(String::as_str), Some("B A"));
    assert_eq!(p.get("BOOT_B_LEFT").map(String::as_str), Some("3"));
    assert_eq!(p.get("BOOT_A_LEFT").map(String::as_str), Some("3"));
    // We read what fw_setenv writes: the boot script spent two tries of B.
    setenv(&cfg, "BOOT_B_LEFT", "1");
    setenv(&cfg, "vendor_note", "written by fw_setenv");
    let mut env = UbootEnv::open(layout.clone(), Slot::B, 3).unwrap();
    assert_eq!(env.primary_slot().unwrap(), Slot::B);
    assert_eq!(env.boot_attempts(Slot::B).unwrap(), 2);
    assert_eq!(env.get("vendor_note"), Some("written by fw_setenv"));
    // And fw_printenv reads our next write (flag after fw_setenv's), other variables kept.
    env.mark_unbootable(Slot::B).unwrap();
    let p = printenv(&cfg);
    assert_eq!(p.get("BOOT_ORDER").map(String::as_str), Some("A B"));
    assert_eq!(p.get("BOOT_B_LEFT").map(String::as_str), Some("0"));
    assert_eq!(
        p.get("vendor_note").map(String::as_str),
        Some("written by fw_setenv")
    );
    setenv(&cfg, "BOOT_A_LEFT", "2");
    let mut env = UbootEnv::open(layout, Slot::A, 3).unwrap();
    assert_eq!(env.boot_attempts(Slot::A).unwrap(), 1);
    env.mark_successful(Slot::A).unwrap();
    assert_eq!(
        printenv(&cfg).get("BOOT_A_LEFT").map(String::as_str),
        Some("3")
    );
}

#[test]
fn interop_with_fw_printenv_and_fw_setenv_redundant() {
    interop(true);
}

#[test]
fn interop_with_fw_printenv_and_fw_setenv_single_copy() {
    interop(false);
}

#[test]
fn bad_crc_falls_back_to_the_other_copy_then_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _) = setup(dir.path(), true);
    UbootEnv::create(&layout, &UbootEnv::rauc_defaults(3)).unwrap();
    let mut env = UbootEnv::open(layout.clone(), Slot::A, 3).unwrap();
    // `create` wrote copy 0 (flag 0) and copy 1 (flag 1): this write goes to copy 0 (flag 2).
    env.set_pending(Slot::B, 3).unwrap();
    let path = layout.copies[0].0.clone();
    let mut bytes = std::fs::read(&path).unwrap();
    // A torn write of copy 0: its CRC fails, copy 1 (the state before arming) is used.
    bytes[20] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let mut env = UbootEnv::open(layout.clone(), Slot::A, 3).unwrap();
    assert_eq!(env.primary_slot().unwrap(), Slot::A, "last good metadata");
    // Both copies bad: a clear error, and nothing is written.
    bytes[SIZE + 20] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    match UbootEnv::open(layout, Slot::A, 3) {
        Err(Error::UbootEnv { reason }) => assert!(reason.contains("bad CRC"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn missing_variables_are_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, _) = setup(dir.path(), true);
    let mut vars = UbootEnv::rauc_defaults(3);
    vars.remove("BOOT_ORDER");
    vars.remove("BOOT_B_LEFT");
    UbootEnv::create(&layout, &vars).unwrap();
    let before = std::fs::read(&layout.copies[0].0).unwrap();
    let mut env = UbootEnv::open(layout.clone(), Slot::A, 3).unwrap();
    let e = env.primary_slot().unwrap_err();
    assert!(e.to_string().contains("missing variable BOOT_ORDER"), "{e}");
    let e = env.boot_attempts(Slot::B).unwrap_err();
    assert!(
        e.to_string().contains("missing variable BOOT_B_LEFT"),
        "{e}"
    );
    assert!(env.mark_successful(Slot::A).is_err());
    assert_eq!(std::fs::read(&layout.copies[0].0).unwrap(), before);
    // The slot the kernel runs from is still known (it comes from the command line).
    assert_eq!(
        UbootEnv::booted_from_cmdline("root=/dev/mmcblk0p2 rauc.slot=A quiet"),
        Some(Slot::A)
    );
    assert_eq!(env.booted_slot().unwrap(), Slot::A);
}

/// A hand-built layout smaller than the header used to underflow in `create`.
#[test]
fn tiny_hand_built_layout_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for size in [0usize, 1, 4, 5, 15] {
        for copies in [1usize, 2] {
            let layout = EnvLayout {
                copies: (0..copies)
                    .map(|i| (dir.path().join("env"), (i * 64) as u64))
                    .collect(),
                size,
            };
            let e = UbootEnv::create(&layout, &UbootEnv::rauc_defaults(3)).unwrap_err();
            assert!(
                e.to_string().contains("smaller than the minimum"),
                "size {size}: {e}"
            );
            assert!(UbootEnv::open(layout, Slot::A, 3).is_err());
        }
    }
    // An MTD device (NOR flash, erase before write) is refused, not written without an erase.
    let e = EnvLayout::parse_config("/dev/mtd1 0x0 0x2000 0x10000\n").unwrap_err();
    assert!(e.to_string().contains("MTD"), "{e}");
    // A size from a config file is never allocated past the maximum (it is read whole).
    let text = format!("{} 0x0 0xFFFFFFFFFFFF\n", dir.path().join("env").display());
    let e = EnvLayout::parse_config(&text).unwrap_err();
    assert!(e.to_string().contains("larger than the maximum"), "{e}");
    let huge = EnvLayout {
        copies: vec![(dir.path().join("env"), 0)],
        size: EnvLayout::MAX_SIZE + 1,
    };
    assert!(
        UbootEnv::open(huge, Slot::A, 3)
            .unwrap_err()
            .to_string()
            .contains("larger than the maximum")
    );
    let none = EnvLayout {
        copies: vec![],
        size: 64,
    };
    assert!(UbootEnv::create(&none, &std::collections::BTreeMap::new()).is_err());
}
