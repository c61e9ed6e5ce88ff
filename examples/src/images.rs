//! Deterministic, real-looking update payloads: firmware, a container app, an AI model.
//!
//! Nothing is downloaded: every image is generated from a seed, so the demo runs offline and gives
//! the same bytes on every machine. The generators imitate what makes real payloads easy or hard to
//! delta:
//! - **firmware**: a Thumb-like code image (vector table, build-info block, functions with
//!   prologues, calls by relative offset, literal pools holding absolute addresses, a string
//!   table). A new version rewrites a few functions and inserts a new one, which shifts every block
//!   after it and changes every call offset and pointer that crosses it, exactly the pattern
//!   bsdiff-family deltas were designed for;
//! - **app**: a container layer, a tar-like archive of source files, a JSON config and a binary
//!   helper, where a new version edits a few lines and files;
//! - **model**: a float32 weight file (header + tensors) where a new version fine-tunes most
//!   weights by a tiny amount: every weight's bytes change, the layout does not.

use crate::rng::Rng;

/// Where the simulated flash is mapped (vector table and pointers are absolute).
pub const FLASH_BASE: u32 = 0x0800_0000;
/// Offset of the build-info block in a firmware image.
pub const BUILD_INFO_OFFSET: usize = 0x100;
/// Magic at the start of the build-info block.
pub const BUILD_INFO_MAGIC: &[u8; 8] = b"OTAFWINF";
/// Length of the build-info block.
pub const BUILD_INFO_LEN: usize = 64;
/// Magic at the start of a model file.
pub const MODEL_MAGIC: &[u8; 8] = b"OTAMODEL";

/// The build-information block every firmware image carries at [`BUILD_INFO_OFFSET`]; the
/// simulated bootloader and health check read it from the installed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// Version string, at most 16 bytes.
    pub version: String,
    /// Bit i set: the image runs on hardware revision i (A = 0, B = 1, C = 2).
    pub hardware_mask: u8,
    /// Bit i set: the image has a working driver for sensor variant i.
    pub sensor_mask: u8,
}

impl BuildInfo {
    fn encode(&self) -> [u8; BUILD_INFO_LEN] {
        let mut b = [0u8; BUILD_INFO_LEN];
        b[..8].copy_from_slice(BUILD_INFO_MAGIC);
        let v = self.version.as_bytes();
        let n = v.len().min(16);
        b[8..8 + n].copy_from_slice(&v[..n]);
        b[24] = self.hardware_mask;
        b[25] = self.sensor_mask;
        b
    }

    /// Reads the block from an image; `None` when it is missing or malformed (the device would
    /// not boot such an image).
    pub fn read(image: &[u8]) -> Option<BuildInfo> {
        let b = image.get(BUILD_INFO_OFFSET..BUILD_INFO_OFFSET + BUILD_INFO_LEN)?;
        if b.get(..8)? != BUILD_INFO_MAGIC {
            return None;
        }
        let raw = b.get(8..24)?;
        let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
        let version = core::str::from_utf8(raw.get(..end)?).ok()?.to_owned();
        Some(BuildInfo {
            version,
            hardware_mask: *b.get(24)?,
            sensor_mask: *b.get(25)?,
        })
    }
}

#[derive(Debug, Clone)]
struct Function {
    seed: u64,
    halfwords: usize,
}

/// A firmware's structure, from which its bytes are rendered.
#[derive(Debug, Clone)]
pub struct Firmware {
    functions: Vec<Function>,
    strings: Vec<Vec<u8>>,
    /// Build information written into the image.
    pub info: BuildInfo,
}

const WORDS_A: [&str; 16] = [
    "sensor", "radio", "flash", "battery", "watchdog", "ble", "lte", "i2c", "spi", "uart", "timer",
    "dma", "adc", "gpio", "rtc", "crypto",
];
const WORDS_B: [&str; 12] = [
    "init failed",
    "timeout",
    "read error",
    "write error",
    "retry",
    "ready",
    "overrun",
    "calibrated",
    "suspended",
    "resumed",
    "crc mismatch",
    "busy",
];

fn make_string(rng: &mut Rng) -> Vec<u8> {
    let a = WORDS_A[rng.below(16) as usize];
    let b = WORDS_B[rng.below(12) as usize];
    let n = rng.below(64);
    format!("[{a}] {b}: code={n} addr=0x%08x\0").into_bytes()
}

impl Firmware {
    /// A first version of about `size` bytes.
    pub fn base(seed: u64, size: usize, info: BuildInfo) -> Firmware {
        let mut rng = Rng::new(seed);
        let mut strings = Vec::new();
        let mut string_bytes = 0;
        while string_bytes < size / 8 {
            let s = make_string(&mut rng);
            string_bytes += s.len();
            strings.push(s);
        }
        let mut functions = Vec::new();
        let mut code = BUILD_INFO_OFFSET + BUILD_INFO_LEN + string_bytes;
        while code < size {
            let halfwords = rng.range(40, 600) as usize;
            code += halfwords * 2 + 24;
            functions.push(Function {
                seed: rng.next_u64(),
                halfwords,
            });
        }
        Firmware {
            functions,
            strings,
            info,
        }
    }

    /// The next version: `changed` functions rewritten (new bodies, sizes within 25%), one new
    /// function inserted, a few log strings reworded.
    pub fn next_version(&self, seed: u64, changed: usize, info: BuildInfo) -> Firmware {
        let mut rng = Rng::new(seed);
        let mut next = self.clone();
        next.info = info;
        let n = next.functions.len() as u64;
        for _ in 0..changed {
            let i = rng.below(n) as usize;
            if let Some(f) = next.functions.get_mut(i) {
                f.seed = rng.next_u64();
                let delta = (f.halfwords / 4).max(1) as u64;
                f.halfwords =
                    (f.halfwords as u64 + rng.below(2 * delta) - delta / 2).clamp(40, 800) as usize;
            }
        }
        let at = rng.below(n + 1) as usize;
        let halfwords = rng.range(100, 400) as usize;
        next.functions.insert(
            at.min(next.functions.len()),
            Function {
                seed: rng.next_u64(),
                halfwords,
            },
        );
        let ns = next.strings.len() as u64;
        for _ in 0..3 {
            let i = rng.below(ns) as usize;
            let s = make_string(&mut rng);
            if let Some(slot) = next.strings.get_mut(i) {
                *slot = s;
            }
        }
        next
    }

    /// Renders the image bytes.
    pub fn render(&self) -> Vec<u8> {
        // Layout: vector table, build info, functions (each followed by its literal pool), strings.
        let mut func_offsets = Vec::with_capacity(self.functions.len());
        let mut off = BUILD_INFO_OFFSET + BUILD_INFO_LEN;
        for f in &self.functions {
            func_offsets.push(off);
            off += function_len(f);
        }
        let strings_at = off;
        let mut string_offsets = Vec::with_capacity(self.strings.len());
        for s in &self.strings {
            string_offsets.push(off);
            off += s.len();
        }
        let total = (off + 3) & !3;
        let mut out = Vec::with_capacity(total);
        // Vector table: initial stack pointer, then handler addresses (Thumb bit set).
        out.extend_from_slice(&0x2002_0000u32.to_le_bytes());
        for i in 0..(BUILD_INFO_OFFSET / 4 - 1) {
            let target = func_offsets
                .get(i % func_offsets.len().max(1))
                .copied()
                .unwrap_or(0);
            out.extend_from_slice(&((FLASH_BASE + target as u32) | 1).to_le_bytes());
        }
        out.extend_from_slice(&self.info.encode());
        for (i, f) in self.functions.iter().enumerate() {
            render_function(f, func_offsets[i], &func_offsets, &string_offsets, &mut out);
        }
        debug_assert_eq!(out.len(), strings_at);
        for s in &self.strings {
            out.extend_from_slice(s);
        }
        out.resize(total, 0xff);
        out
    }
}

/// Bytes taken by a function: prologue + body + epilogue, 4-aligned, then an 8-entry literal pool.
fn function_len(f: &Function) -> usize {
    ((f.halfwords + 2) * 2).div_ceil(4) * 4 + 8 * 4
}

fn push16(out: &mut Vec<u8>, h: u16) {
    out.extend_from_slice(&h.to_le_bytes());
}

fn render_function(f: &Function, at: usize, funcs: &[usize], strings: &[usize], out: &mut Vec<u8>) {
    let mut rng = Rng::new(f.seed);
    let start = out.len();
    debug_assert_eq!(start, at);
    let body_end = at + ((f.halfwords + 2) * 2).div_ceil(4) * 4;
    let pool = body_end;
    // The literal pool: addresses of strings this function logs.
    let mut literals = [0u32; 8];
    for l in &mut literals {
        let s = strings
            .get(rng.below(strings.len() as u64) as usize)
            .copied()
            .unwrap_or(0);
        *l = FLASH_BASE + s as u32;
    }
    push16(out, 0xb5f0); // push {r4-r7, lr}
    let mut i = 0;
    while i < f.halfwords {
        let rd = rng.below(8) as u16;
        let rn = rng.below(8) as u16;
        let pick = rng.below(100);
        let pc = out.len();
        if pick < 8 && i + 1 < f.halfwords && !funcs.is_empty() {
            // bl <function>: a call by relative offset, in the classic two-halfword encoding.
            let target = funcs[rng.below(funcs.len() as u64) as usize] as i64;
            let rel = (target - (pc as i64 + 4)) >> 1;
            push16(out, 0xf000 | ((rel >> 11) as u16 & 0x7ff));
            push16(out, 0xf800 | (rel as u16 & 0x7ff));
            i += 2;
            continue;
        }
        let h = match pick {
            8..=17 => {
                // ldr rd, [pc, #k]: load a literal from the pool.
                let k = rng.below(8) as usize;
                let word = ((pool + 4 * k) - ((pc + 4) & !3)) / 4;
                0x4800 | (rd << 8) | (word as u16 & 0xff)
            }
            18..=35 => 0x2000 | (rd << 8) | rng.below(256) as u16, // movs rd, #imm
            36..=50 => 0x1800 | (rng.below(8) as u16) << 6 | (rn << 3) | rd, // adds rd, rn, rm
            51..=62 => 0x6800 | (rng.below(32) as u16) << 6 | (rn << 3) | rd, // ldr rd, [rn, #imm]
            63..=72 => 0x6000 | (rng.below(32) as u16) << 6 | (rn << 3) | rd, // str rd, [rn, #imm]
            73..=80 => 0x2800 | (rn << 8) | rng.below(256) as u16, // cmp rn, #imm
            81..=88 => 0xd000 | (rng.below(14) as u16) << 8 | rng.below(32) as u16, // b<cond> short
            _ => (rng.below(32) as u16) << 6 | (rn << 3) | rd,     // lsls rd, rn, #imm
        };
        push16(out, h);
        i += 1;
    }
    push16(out, 0xbdf0); // pop {r4-r7, pc}
    while out.len() < body_end {
        push16(out, 0xbf00); // nop padding to the pool's alignment
    }
    for l in literals {
        out.extend_from_slice(&l.to_le_bytes());
    }
}

/// A container app layer: a tar-like archive (512-byte headers, padded members).
#[derive(Debug, Clone)]
pub struct App {
    files: Vec<(String, Vec<u8>)>,
}

const PY_WORDS: [&str; 20] = [
    "reading",
    "value",
    "sensor",
    "payload",
    "topic",
    "retry",
    "interval",
    "client",
    "config",
    "buffer",
    "window",
    "sample",
    "threshold",
    "publish",
    "status",
    "device",
    "metric",
    "queue",
    "timeout",
    "result",
];

fn python_source(rng: &mut Rng, lines: usize) -> Vec<u8> {
    let mut s = String::new();
    let mut indent = 0usize;
    for i in 0..lines {
        let a = PY_WORDS[rng.below(20) as usize];
        let b = PY_WORDS[rng.below(20) as usize];
        let pad = "    ".repeat(indent);
        match rng.below(10) {
            0 => {
                s.push_str(&format!("\ndef {a}_{b}_{i}(self, {b}):\n"));
                indent = 1;
            }
            1 if indent < 3 => {
                s.push_str(&format!("{pad}if {a} > self.{b}:\n"));
                indent += 1;
            }
            2 => s.push_str(&format!("{pad}log.info(\"{a} {b} %s\", {a})\n")),
            3 if indent > 1 => {
                s.push_str(&format!("{pad}return {a}\n"));
                indent -= 1;
            }
            _ => s.push_str(&format!(
                "{pad}{a} = self.{b}.get(\"{a}\", {})\n",
                rng.below(1000)
            )),
        }
    }
    s.into_bytes()
}

impl App {
    /// A first version of the app, about `size` bytes in total.
    pub fn base(seed: u64, size: usize) -> App {
        let mut rng = Rng::new(seed);
        let mut files = vec![(
            "app/config.json".to_owned(),
            b"{\"name\":\"edge-agent\",\"version\":\"2.3.0\",\"interval_s\":60}\n".to_vec(),
        )];
        let mut helper = vec![0u8; size / 6];
        rng.fill(&mut helper);
        files.push(("app/bin/helper".to_owned(), helper));
        let mut total = 1024 + size / 6;
        let mut k = 0;
        while total < size {
            let src = python_source(&mut rng, 120);
            total += src.len() + 512;
            files.push((format!("app/lib/module_{k:02}.py"), src));
            k += 1;
        }
        App { files }
    }

    /// The next version: a few source files edited, the config's version bumped.
    pub fn next_version(&self, seed: u64, version: &str) -> App {
        let mut rng = Rng::new(seed);
        let mut next = self.clone();
        if let Some((_, cfg)) = next.files.first_mut() {
            *cfg = format!(
                "{{\"name\":\"edge-agent\",\"version\":\"{version}\",\"interval_s\":60}}\n"
            )
            .into_bytes();
        }
        let n = next.files.len() as u64;
        for _ in 0..2 {
            let i = 2 + rng.below(n.saturating_sub(2).max(1)) as usize;
            if let Some((_, src)) = next.files.get_mut(i) {
                // Rewrite a stretch of lines in the middle of the file.
                let cut = src.len() / 2;
                let mut edited = src[..cut].to_vec();
                edited.extend_from_slice(&python_source(&mut rng, 12));
                edited.extend_from_slice(&src[cut + src.len() / 10..]);
                *src = edited;
            }
        }
        next
    }

    /// Renders the archive bytes.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in &self.files {
            let mut header = [0u8; 512];
            let n = name.len().min(100);
            header[..n].copy_from_slice(&name.as_bytes()[..n]);
            let size = format!("{:011o}\0", data.len());
            header[124..136].copy_from_slice(size.as_bytes());
            header[257..263].copy_from_slice(b"ustar\0");
            out.extend_from_slice(&header);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }
}

/// An on-device AI model: a header with a tensor table, then float32 little-endian weights.
#[derive(Debug, Clone)]
pub struct Model {
    tensors: Vec<(String, Vec<f32>)>,
    generation: u32,
}

impl Model {
    /// A first trained model with about `weights` float32 weights in four tensors.
    pub fn base(seed: u64, weights: usize) -> Model {
        let mut rng = Rng::new(seed);
        let shares = [
            ("conv1.weight", 0.10, 0.20),
            ("conv2.weight", 0.30, 0.08),
            ("fc1.weight", 0.50, 0.05),
            ("fc2.weight", 0.10, 0.10),
        ];
        let tensors = shares
            .iter()
            .map(|&(name, share, scale)| {
                let n = ((weights as f64) * share) as usize;
                let w = (0..n).map(|_| (rng.normal() * scale) as f32).collect();
                (name.to_owned(), w)
            })
            .collect();
        Model {
            tensors,
            generation: 0,
        }
    }

    /// The next version: fine-tuned. The first tensor is frozen; every weight of the others
    /// moves by a tiny amount (about 1% of its layer's scale).
    pub fn next_version(&self, seed: u64) -> Model {
        let mut rng = Rng::new(seed);
        let mut next = self.clone();
        next.generation += 1;
        for (_, w) in next.tensors.iter_mut().skip(1) {
            for x in w.iter_mut() {
                *x += (rng.normal() * 0.001) as f32;
            }
        }
        next
    }

    /// Renders the model file.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MODEL_MAGIC);
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u32).to_le_bytes());
        let mut offset = 16 + 32 * self.tensors.len();
        for (name, w) in &self.tensors {
            let mut entry = [0u8; 32];
            let n = name.len().min(24);
            entry[..n].copy_from_slice(&name.as_bytes()[..n]);
            entry[24..28].copy_from_slice(&(offset as u32).to_le_bytes());
            entry[28..32].copy_from_slice(&(w.len() as u32).to_le_bytes());
            out.extend_from_slice(&entry);
            offset += 4 * w.len();
        }
        for (_, w) in &self.tensors {
            for x in w {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(v: &str) -> BuildInfo {
        BuildInfo {
            version: v.to_owned(),
            hardware_mask: 0b111,
            sensor_mask: 0b11,
        }
    }

    #[test]
    fn firmware_is_deterministic_and_carries_its_build_info() {
        let a = Firmware::base(1, 64 * 1024, info("4.1.0")).render();
        let b = Firmware::base(1, 64 * 1024, info("4.1.0")).render();
        assert_eq!(a, b);
        assert!((60 * 1024..72 * 1024).contains(&a.len()), "{}", a.len());
        assert_eq!(BuildInfo::read(&a), Some(info("4.1.0")));
        assert_ne!(a, Firmware::base(2, 64 * 1024, info("4.1.0")).render());
    }

    #[test]
    fn next_firmware_shifts_blocks_but_keeps_most_bytes_locally_similar() {
        let v1 = Firmware::base(1, 64 * 1024, info("4.1.0"));
        let v2 = v1.next_version(9, 3, info("4.2.0"));
        let (a, b) = (v1.render(), v2.render());
        assert!(b.len() > a.len(), "a function was inserted");
        assert_eq!(
            BuildInfo::read(&b).map(|i| i.version),
            Some("4.2.0".to_owned())
        );
        // The same bytes at the same offset: only a prefix stays aligned because of the shift.
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert!(same < a.len(), "the versions differ");
    }

    #[test]
    fn model_keeps_layout_and_changes_weights_slightly() {
        let m1 = Model::base(5, 4096);
        let m2 = m1.next_version(6);
        let (a, b) = (m1.render(), m2.render());
        assert_eq!(a.len(), b.len());
        assert_eq!(&a[..8], MODEL_MAGIC);
        let off = 16 + 32 * 4 + 4 * 409; // inside the second tensor
        let x = f32::from_le_bytes(a[off..off + 4].try_into().unwrap());
        let y = f32::from_le_bytes(b[off..off + 4].try_into().unwrap());
        assert!(x != y && (x - y).abs() < 0.01, "{x} {y}");
        // The first tensor is frozen.
        assert_eq!(a[160..200], b[160..200]);
    }

    #[test]
    fn app_archive_changes_a_little() {
        let a1 = App::base(3, 32 * 1024);
        let a2 = a1.next_version(4, "2.4.0");
        let (x, y) = (a1.render(), a2.render());
        assert_eq!(x.len() % 512, 0);
        assert_ne!(x, y);
        assert!(y.windows(5).any(|w| w == b"2.4.0"));
    }
}
