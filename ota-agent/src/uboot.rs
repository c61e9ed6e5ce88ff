//! The U-Boot environment backend: the binary environment `fw_printenv` / `fw_setenv` read and
//! write (CRC-32, `key=value\0` pairs, optionally two redundant copies with a flag byte), holding
//! RAUC's bootchooser variables `BOOT_ORDER`, `BOOT_A_LEFT` and `BOOT_B_LEFT`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use ota_manifest::Slot;

use crate::boot::BootControl;
use crate::crc::crc32;
use crate::error::{Error, Result, io};

/// Where the environment lives: one copy, or two redundant copies, each `size` bytes at an
/// offset of a file or device (the lines of `fw_env.config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvLayout {
    /// `(path, offset)` of each copy (one or two).
    pub copies: Vec<(PathBuf, u64)>,
    /// Bytes per copy, header included.
    pub size: usize,
}

fn env_err(reason: impl Into<String>) -> Error {
    Error::UbootEnv {
        reason: reason.into(),
    }
}

fn parse_num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

impl EnvLayout {
    /// Parses `fw_env.config` text: `device offset size [sector size [sectors]]` per line,
    /// `#` comments; one or two lines; both copies the same size.
    ///
    /// # Errors
    /// [`Error::UbootEnv`] naming the line.
    pub fn parse_config(text: &str) -> Result<Self> {
        let mut copies = Vec::new();
        let mut size = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(dev), Some(off), Some(sz)) = (
                f.first(),
                f.get(1).and_then(|s| parse_num(s)),
                f.get(2).and_then(|s| parse_num(s)),
            ) else {
                return Err(env_err(format!(
                    "fw_env.config line {}: want `device offset size`",
                    n + 1
                )));
            };
            let sz = usize::try_from(sz).map_err(|_| env_err("size too large"))?;
            if size.is_some_and(|s| s != sz) {
                return Err(env_err(format!(
                    "fw_env.config line {}: copies differ in size",
                    n + 1
                )));
            }
            size = Some(sz);
            copies.push((PathBuf::from(dev), off));
        }
        let size = size.ok_or(env_err("fw_env.config names no device"))?;
        let layout = EnvLayout { copies, size };
        layout
            .check()
            .map_err(|e| env_err(format!("fw_env.config: {e}")))?;
        Ok(layout)
    }

    /// Checks a layout (one parsed, or built by hand): one or two copies of
    /// [`EnvLayout::MIN_SIZE`] to [`EnvLayout::MAX_SIZE`] bytes each.
    ///
    /// # Errors
    /// [`Error::UbootEnv`] naming what is wrong.
    pub fn check(&self) -> Result<()> {
        if self.copies.is_empty() || self.copies.len() > 2 {
            return Err(env_err(format!(
                "an environment has one or two copies, this layout has {}",
                self.copies.len()
            )));
        }
        if let Some((dev, _)) = self
            .copies
            .iter()
            .find(|(p, _)| p.to_str().is_some_and(|p| p.starts_with("/dev/mtd")))
        {
            // NOR flash only clears bits on a write: without an erase first (an ioctl this
            // backend does not make) the copy would fail its CRC and every write would be lost.
            return Err(env_err(format!(
                "{}: an MTD device needs an erase before each write, which this backend does \
                 not do (use an environment on a block device or a file)",
                dev.display()
            )));
        }
        if self.size > Self::MAX_SIZE {
            return Err(env_err(format!(
                "an environment copy of {} bytes is larger than the maximum of {} (U-Boot's \
                 are 8 KiB to 256 KiB)",
                self.size,
                Self::MAX_SIZE
            )));
        }
        if self.size < Self::MIN_SIZE {
            return Err(env_err(format!(
                "an environment copy of {} bytes is smaller than the minimum of {} (header and \
                 an empty variable list)",
                self.size,
                Self::MIN_SIZE
            )));
        }
        Ok(())
    }

    /// The smallest copy a layout may have, in bytes (the CRC, the redundant flag and room
    /// for a few variables).
    pub const MIN_SIZE: usize = 16;

    /// The largest copy a layout may have, in bytes: the copy is read whole into memory, and
    /// the size comes from a config file.
    pub const MAX_SIZE: usize = 1 << 20;
}

/// Decodes one copy: `Some((flag, variables))` when its CRC holds.
///
/// # Errors
/// [`Error::UbootEnv`] for a copy whose CRC holds but whose contents are malformed.
fn decode_copy(bytes: &[u8], redundant: bool) -> Result<Option<(u8, BTreeMap<String, String>)>> {
    let h = if redundant { 5 } else { 4 };
    let (Some(crc), Some(data)) = (bytes.get(..4), bytes.get(h..)) else {
        return Ok(None);
    };
    if crc32(data).to_le_bytes() != crc {
        return Ok(None);
    }
    let flag = if redundant { bytes[4] } else { 0 };
    let mut vars = BTreeMap::new();
    let mut at = 0;
    while at < data.len() {
        let end = data[at..]
            .iter()
            .position(|&b| b == 0)
            .map_or(data.len(), |p| at + p);
        if end == at {
            break;
        }
        let entry = std::str::from_utf8(&data[at..end])
            .map_err(|_| env_err(format!("variable at byte {} is not UTF-8", at + h)))?;
        let Some((k, v)) = entry.split_once('=') else {
            return Err(env_err(format!("entry at byte {} has no `=`", at + h)));
        };
        if k.is_empty() {
            return Err(env_err(format!(
                "entry at byte {} has an empty name",
                at + h
            )));
        }
        vars.insert(k.to_owned(), v.to_owned());
        at = end + 1;
    }
    Ok(Some((flag, vars)))
}

/// Encodes one copy (variables sorted by name, zero padded, as libubootenv writes them).
fn encode_copy(vars: &BTreeMap<String, String>, flag: Option<u8>, size: usize) -> Result<Vec<u8>> {
    let h = if flag.is_some() { 5 } else { 4 };
    let mut data = Vec::with_capacity(size);
    for (k, v) in vars {
        if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
            return Err(env_err(format!("variable `{k}` cannot be stored")));
        }
        data.extend_from_slice(k.as_bytes());
        data.push(b'=');
        data.extend_from_slice(v.as_bytes());
        data.push(0);
    }
    data.push(0);
    let room = size
        .checked_sub(h)
        .ok_or_else(|| env_err(format!("a copy of {size} bytes has no room for its header")))?;
    if data.len() > room {
        return Err(env_err("variables do not fit the environment"));
    }
    data.resize(room, 0);
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&crc32(&data).to_le_bytes());
    if let Some(f) = flag {
        out.push(f);
    }
    out.extend_from_slice(&data);
    Ok(out)
}

/// U-Boot's choice between two valid copies (env_import_redund): the higher flag, with 0 after
/// 0xFF.
fn pick(f0: u8, f1: u8) -> usize {
    match (f0, f1) {
        _ if f0 == f1 => 0,
        (0xFF, 0) => 1,
        (0, 0xFF) => 0,
        _ if f0 > f1 => 0,
        _ => 1,
    }
}

/// A U-Boot environment on files or devices, used as [`BootControl`] with RAUC's scheme:
/// `BOOT_ORDER` lists the slots to try (`"A B"`), `BOOT_x_LEFT` the tries each has left; the boot
/// script spends a try on every boot. "Successful" here means the tries are back at the maximum
/// (RAUC's mark-good), which the agent renews at every boot at rest.
///
/// Power cuts: with two copies every write goes to the inactive copy with the next flag, so a
/// torn write leaves the other copy in charge. With one copy the write is in place: a cut
/// during it leaves a bad CRC (U-Boot then uses its built-in default environment, and
/// [`UbootEnv::open`] fails). Use two copies where a cut may come at any time.
#[derive(Debug)]
pub struct UbootEnv {
    layout: EnvLayout,
    booted: Slot,
    max_tries: u8,
    vars: BTreeMap<String, String>,
    active: usize,
    flag: u8,
}

fn name(s: Slot) -> &'static str {
    match s {
        Slot::A => "A",
        Slot::B => "B",
    }
}

/// A tries counter as U-Boot keeps it: the boot script counts down with `setexpr`, which reads
/// and writes hexadecimal (`10` is sixteen; nine minus one is `8`, sixteen minus one `f`), so
/// the agent writes and reads it the same way. For 0 to 9 it is the same text as decimal.
fn tries_text(n: u8) -> String {
    format!("{n:x}")
}

fn parse_tries(text: &str) -> Option<u8> {
    let h = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    u8::from_str_radix(h, 16).ok()
}

fn left_var(s: Slot) -> &'static str {
    match s {
        Slot::A => "BOOT_A_LEFT",
        Slot::B => "BOOT_B_LEFT",
    }
}

impl UbootEnv {
    /// Reads the environment. `booted` is the slot the kernel was started from (see
    /// [`UbootEnv::booted_from_cmdline`]); `max_tries` is what mark-good restores.
    ///
    /// # Errors
    /// [`Error::UbootEnv`] when no copy passes its CRC, or an I/O error.
    pub fn open(layout: EnvLayout, booted: Slot, max_tries: u8) -> Result<Self> {
        layout.check()?;
        let redundant = layout.copies.len() == 2;
        let mut valid = Vec::new();
        for (i, (path, off)) in layout.copies.iter().enumerate() {
            let mut buf = vec![0u8; layout.size];
            let mut f = File::open(path).map_err(|e| io("open", path, e))?;
            f.seek(SeekFrom::Start(*off))
                .and_then(|_| f.read_exact(&mut buf))
                .map_err(|e| io("read", path, e))?;
            if let Some((flag, vars)) = decode_copy(&buf, redundant)? {
                valid.push((i, flag, vars));
            }
        }
        let chosen = match valid.len() {
            0 => return Err(env_err("bad CRC in every copy")),
            1 => valid.swap_remove(0),
            _ => {
                let k = pick(valid[0].1, valid[1].1);
                valid.swap_remove(k)
            }
        };
        Ok(UbootEnv {
            layout,
            booted,
            max_tries,
            active: chosen.0,
            flag: chosen.1,
            vars: chosen.2,
        })
    }

    /// Writes a fresh environment holding `vars` (both copies when redundant), e.g. at the
    /// factory.
    ///
    /// # Errors
    /// [`Error::UbootEnv`] when the variables do not fit, or an I/O error.
    pub fn create(layout: &EnvLayout, vars: &BTreeMap<String, String>) -> Result<()> {
        layout.check()?;
        let redundant = layout.copies.len() == 2;
        for (i, (path, off)) in layout.copies.iter().enumerate() {
            let bytes = encode_copy(vars, redundant.then_some(i as u8), layout.size)?;
            write_at(path, *off, &bytes)?;
        }
        Ok(())
    }

    /// RAUC's default variables: `BOOT_ORDER=A B`, both slots with `tries` left.
    #[must_use]
    pub fn rauc_defaults(tries: u8) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        v.insert("BOOT_ORDER".to_owned(), "A B".to_owned());
        v.insert("BOOT_A_LEFT".to_owned(), tries_text(tries));
        v.insert("BOOT_B_LEFT".to_owned(), tries_text(tries));
        v
    }

    /// The slot named by `rauc.slot=A` (or `B`) in a kernel command line.
    #[must_use]
    pub fn booted_from_cmdline(cmdline: &str) -> Option<Slot> {
        cmdline.split_whitespace().find_map(|w| match w {
            "rauc.slot=A" => Some(Slot::A),
            "rauc.slot=B" => Some(Slot::B),
            _ => None,
        })
    }

    /// A variable's value.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// Every variable.
    #[must_use]
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    fn order(&self) -> Result<Vec<Slot>> {
        let v = self
            .get("BOOT_ORDER")
            .ok_or(env_err("missing variable BOOT_ORDER"))?;
        let mut out = Vec::new();
        for w in v.split_whitespace() {
            let s = match w {
                "A" => Slot::A,
                "B" => Slot::B,
                _ => return Err(env_err(format!("BOOT_ORDER names unknown slot `{w}`"))),
            };
            if !out.contains(&s) {
                out.push(s);
            }
        }
        if out.is_empty() {
            return Err(env_err("BOOT_ORDER is empty"));
        }
        Ok(out)
    }

    fn left(&self, s: Slot) -> Result<u8> {
        let k = left_var(s);
        parse_tries(
            self.get(k)
                .ok_or_else(|| env_err(format!("missing variable {k}")))?,
        )
        .ok_or_else(|| env_err(format!("{k} is not a hexadecimal number from 0 to ff")))
    }

    /// Sets variables and writes the environment (to the inactive copy when redundant, with the
    /// next flag: atomic against a torn write).
    ///
    /// # Errors
    /// [`Error::UbootEnv`] or an I/O error; the environment on disk is then unchanged.
    pub fn set(&mut self, changes: &[(&str, String)]) -> Result<()> {
        let mut vars = self.vars.clone();
        for (k, v) in changes {
            vars.insert((*k).to_owned(), v.clone());
        }
        if vars == self.vars {
            return Ok(());
        }
        let redundant = self.layout.copies.len() == 2;
        let (target, flag) = if redundant {
            (1 - self.active, self.flag.wrapping_add(1))
        } else {
            (0, 0)
        };
        let bytes = encode_copy(&vars, redundant.then_some(flag), self.layout.size)?;
        let (path, off) = &self.layout.copies[target];
        write_at(path, *off, &bytes)?;
        self.vars = vars;
        self.active = target;
        self.flag = flag;
        Ok(())
    }

    fn with_order(&self, first: Slot) -> String {
        format!("{} {}", name(first), name(first.other()))
    }
}

fn write_at(path: &std::path::Path, off: u64, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io("open", path, e))?;
    f.seek(SeekFrom::Start(off))
        .and_then(|_| f.write_all(bytes))
        .and_then(|()| f.sync_all())
        .map_err(|e| io("write", path, e))
}

impl BootControl for UbootEnv {
    fn booted_slot(&mut self) -> Result<Slot> {
        Ok(self.booted)
    }
    fn primary_slot(&mut self) -> Result<Slot> {
        // The first slot in BOOT_ORDER (the script tries it first while it has tries left).
        self.order()?
            .first()
            .copied()
            .ok_or(env_err("BOOT_ORDER is empty"))
    }
    fn set_pending(&mut self, slot: Slot, tries: u8) -> Result<()> {
        self.set(&[
            ("BOOT_ORDER", self.with_order(slot)),
            (left_var(slot), tries_text(tries)),
        ])
    }
    fn mark_successful(&mut self, slot: Slot) -> Result<()> {
        self.order()?;
        self.set(&[(left_var(slot), tries_text(self.max_tries))])
    }
    fn mark_unbootable(&mut self, slot: Slot) -> Result<()> {
        self.set(&[
            ("BOOT_ORDER", self.with_order(slot.other())),
            (left_var(slot), "0".to_owned()),
        ])
    }
    fn boot_attempts(&mut self, slot: Slot) -> Result<u8> {
        Ok(self.max_tries.saturating_sub(self.left(slot)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_are_hexadecimal_as_u_boot_setexpr_writes_them() {
        assert_eq!(tries_text(3), "3");
        assert_eq!(tries_text(10), "a");
        assert_eq!(parse_tries("f"), Some(15));
        assert_eq!(parse_tries("10"), Some(16));
        assert_eq!(parse_tries("0x0a"), Some(10));
        assert_eq!(parse_tries(&tries_text(200)), Some(200));
        for bad in ["", "g", "100", "-1", " 3"] {
            assert_eq!(parse_tries(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn flag_rules_follow_u_boot() {
        assert_eq!(pick(1, 2), 1);
        assert_eq!(pick(2, 1), 0);
        assert_eq!(pick(0xFF, 0), 1);
        assert_eq!(pick(0, 0xFF), 0);
        assert_eq!(pick(5, 5), 0);
    }

    #[test]
    fn copy_round_trip_and_bad_entries() {
        let vars = UbootEnv::rauc_defaults(3);
        let b = encode_copy(&vars, Some(7), 256).unwrap();
        assert_eq!(decode_copy(&b, true).unwrap(), Some((7, vars.clone())));
        let mut c = b.clone();
        c[10] ^= 1;
        assert_eq!(decode_copy(&c, true).unwrap(), None);
        // A valid CRC over an entry without `=`.
        let mut data = b"novalue\0\0".to_vec();
        data.resize(252, 0);
        let mut raw = crc32(&data).to_le_bytes().to_vec();
        raw.extend_from_slice(&data);
        assert!(decode_copy(&raw, false).is_err());
        assert!(encode_copy(&vars, None, 20).is_err());
        // Smaller than the header itself: an error, not an underflow.
        for size in 0..5 {
            assert!(
                encode_copy(&BTreeMap::new(), Some(1), size).is_err(),
                "{size}"
            );
        }
    }

    #[test]
    fn config_parsing() {
        let l = EnvLayout::parse_config("# c\n/dev/x 0x0 0x4000\n/dev/x 0x4000 0x4000 0x1000\n")
            .unwrap();
        assert_eq!(l.copies.len(), 2);
        assert_eq!(l.size, 0x4000);
        assert!(EnvLayout::parse_config("/dev/x 0 zz").is_err());
        assert!(EnvLayout::parse_config("").is_err());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_copies_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300), red in any::<bool>()) {
            let _ = decode_copy(&b, red);
            // The same bytes behind a valid CRC.
            let h = if red { 5 } else { 4 };
            if b.len() > h {
                let mut c = b.clone();
                let crc = crc32(&c[h..]).to_le_bytes();
                c[..4].copy_from_slice(&crc);
                let _ = decode_copy(&c, red);
            }
        }

        #[test]
        fn variables_round_trip(vars in proptest::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,12}", "[ -~]{0,20}", 0..12)) {
            let vars: BTreeMap<String, String> = vars.into_iter().filter(|(_, v)| !v.contains('\0')).collect();
            let b = encode_copy(&vars, Some(3), 1024).unwrap();
            prop_assert_eq!(decode_copy(&b, true).unwrap(), Some((3, vars)));
        }
    }
}
