//! Making native patches.

use crate::codec;
use crate::error::{Error, Result};
use crate::format::{
    Codec, FRAME_HEADER_LEN, FrameHeader, Header, MIN_DICT_SIZE, MIN_FRAME_SIZE, Mode, frame_check,
};
use crate::frame::{Op, xor_frame};
use crate::sha::sha256;
use crate::split::bsdiff_frames;
use sha2::Digest;

/// Which reconstruction mode [`diff_with`] uses.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ModeChoice {
    /// Try the modes that can win and keep the smallest patch; a delta is kept only when it is
    /// clearly (3%) smaller than the compressed full image.
    #[default]
    Auto,
    /// Always a compressed full image (the source is not needed to apply).
    Full,
    /// Always bsdiff matching.
    Bsdiff,
    /// Always XOR-planes with the given element width (1, 2, 4, 8); the best phase is searched.
    XorPlanes {
        /// Bytes per element: 4 for float32 weights, 2 for float16/bfloat16.
        width: u8,
    },
}

/// Which profile of the native format [`diff_with`] writes (FORMAT.md §10).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Profile {
    /// LZMA2 frames of up to `frame_size` (default 256 KiB): the smallest patches; about 1 MiB
    /// of RAM to apply.
    #[default]
    Std,
    /// DEFLATE frames of [`MCU_DEFAULT_RAW`](crate::MCU_DEFAULT_RAW) (10 KiB) raw bytes, or
    /// `frame_size` if it is at most [`MCU_MAX_RAW`](crate::MCU_MAX_RAW) (12 KiB), decodable in
    /// place: applies with [`McuApply`](crate::McuApply) without an allocator, in a frame
    /// buffer of frame size + 256 bytes, a work buffer, ~0.7 KiB of state and the stack
    /// (benches/RESULTS.md: under 16 KiB in all on a Cortex-M4 with the default 10 KiB frames,
    /// about 2 KiB more with 12 KiB frames). A `frame_size` above `MCU_MAX_RAW` (such as the
    /// std default of 256 KiB) gives `MCU_DEFAULT_RAW`; the std apply takes these patches too.
    Mcu,
}

/// Settings for [`diff_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiffOptions {
    /// Mode selection.
    pub mode: ModeChoice,
    /// A multiple of 64, at least 4096; default 256 KiB. Full and XOR-planes modes: target bytes
    /// per frame. bsdiff mode: the raw content per frame the encoder aims for (a frame covers
    /// as many target bytes as fit, FORMAT.md §4). The device needs about three times this in
    /// RAM to apply; larger frames compress slightly better and lose more on an interrupted
    /// download.
    pub frame_size: u32,
    /// liblzma preset 0..=9 for the frame payloads. Default 6: with the zero-run coded diff
    /// section (FORMAT.md §5.2), preset 9e made the corpus patches between 0.06% smaller and
    /// 0.5% larger, in more time; preset 3 makes them 4-7% larger in about 0.7x the diff time
    /// (`benches/results/delta.md`).
    pub preset: u32,
    /// liblzma's "extreme" variant of the preset (`xz -6e`). Default false.
    pub extreme: bool,
    /// Std (LZMA2) or MCU (DEFLATE, small frames) profile. Default [`Profile::Std`].
    pub profile: Profile,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            mode: ModeChoice::Auto,
            frame_size: 256 << 10,
            preset: 6,
            extreme: false,
            profile: Profile::Std,
        }
    }
}

/// liblzma's `LZMA_PRESET_EXTREME` flag.
const EXTREME: u32 = 0x8000_0000;
const PROPS_DEFAULT: u8 = 93; // lc=3, lp=0, pb=2: the LZMA defaults
const PROPS_PLANES: u8 = 0; // lc=0, lp=0, pb=0: plane bytes have no useful literal context
/// lc=0, lp=0, pb=0 for bsdiff frames: measured 1-3% smaller than the defaults on the corpus
/// (the diff section is mostly zeros with sparse small values; literal context does not help).
const PROPS_BSDIFF: u8 = 0;

/// Makes a native patch from `old` to `new` with the default options.
///
/// # Errors
/// [`Error::InvalidField`] for inputs larger than the format allows, [`Error::Codec`] on a
/// compressor failure.
pub fn diff(old: &[u8], new: &[u8]) -> Result<Vec<u8>> {
    diff_with(old, new, &DiffOptions::default())
}

/// Makes a native patch from `old` to `new`.
///
/// # Errors
/// As [`diff`], and [`Error::InvalidField`] for a bad `frame_size` or `XorPlanes` width.
pub fn diff_with(old: &[u8], new: &[u8], opts: &DiffOptions) -> Result<Vec<u8>> {
    check_options(opts)?;
    let ops = match opts.mode {
        ModeChoice::Auto | ModeChoice::Bsdiff => crate::scan::bsdiff_ops(old, new)?,
        _ => Vec::new(),
    };
    encode_ops(old, new, &ops, opts)
}

fn check_options(opts: &DiffOptions) -> Result<()> {
    let bad = |field, reason| Error::InvalidField {
        field,
        offset: 0,
        reason,
    };
    if opts.frame_size < MIN_FRAME_SIZE || !opts.frame_size.is_multiple_of(64) {
        return Err(bad("frame_size", "must be a multiple of 64, at least 4096"));
    }
    if opts.preset > 9 {
        return Err(bad("preset", "must be 0..=9"));
    }
    if let ModeChoice::XorPlanes { width } = opts.mode
        && !matches!(width, 1 | 2 | 4 | 8)
    {
        return Err(bad("plane_width", "must be 1, 2, 4 or 8"));
    }
    Ok(())
}

/// Builds the patch for `opts.mode` given bsdiff `ops` that exactly cover `new` (ignored by the
/// full and XOR modes).
pub(crate) fn encode_ops(
    old: &[u8],
    new: &[u8],
    ops: &[Op],
    opts: &DiffOptions,
) -> Result<Vec<u8>> {
    check_options(opts)?;
    let bad = |field, reason| Error::InvalidField {
        field,
        offset: 0,
        reason,
    };
    let fs = match opts.profile {
        Profile::Std => opts.frame_size,
        Profile::Mcu if opts.frame_size > crate::mcu::MCU_MAX_RAW => crate::mcu::MCU_DEFAULT_RAW,
        Profile::Mcu => opts.frame_size,
    } as usize;
    let hashes = (sha256(old), sha256(new));
    let enc = |mode: Mode, frames: Vec<(Vec<u8>, usize)>, props: u8| {
        encode(
            old,
            new,
            hashes,
            mode,
            fs,
            frames,
            props,
            opts.preset | if opts.extreme { EXTREME } else { 0 },
            opts.profile,
        )
    };
    let xor = |widths: &[usize]| -> Result<Vec<u8>> {
        let (width, phase) = best_layout(old, new, widths, fs)?;
        let mode = Mode::XorPlanes {
            width: width as u8,
            phase: phase as u8,
        };
        enc(mode, xor_frames(old, new, fs, width, phase), PROPS_PLANES)
    };
    match opts.mode {
        ModeChoice::Full => return enc(Mode::Full, full_frames(new, fs), PROPS_DEFAULT),
        ModeChoice::Bsdiff => {
            let frames =
                bsdiff_frames(old, new, ops, fs).ok_or(bad("ops", "do not fit the images"))?;
            return enc(Mode::Bsdiff, frames, PROPS_BSDIFF);
        }
        ModeChoice::XorPlanes { width } => return xor(&[width as usize]),
        ModeChoice::Auto => {}
    }
    // Auto: the bsdiff delta first; XOR-planes only where bsdiff did poorly on same-size files.
    let mut best: Option<Vec<u8>> = None;
    if let Some(frames) = bsdiff_frames(old, new, ops, fs) {
        best = Some(enc(Mode::Bsdiff, frames, PROPS_BSDIFF)?);
    }
    let poor = |p: &Option<Vec<u8>>| p.as_ref().is_none_or(|p| p.len() > new.len() / 8);
    if old.len() == new.len() && !new.is_empty() && poor(&best) {
        let p = xor(&[4, 2])?;
        if best.as_ref().is_none_or(|b| p.len() < b.len()) {
            best = Some(p);
        }
    }
    // Never worse than the full image. A cheap fast-preset estimate settles the clear cases: a
    // delta under a quarter of it is kept without compressing the whole image.
    if let Some(b) = best.take() {
        let quick = full_estimate(new, fs)?;
        if (b.len() as u64) * 4 <= quick {
            return Ok(b);
        }
        best = Some(b);
    }
    let full = enc(Mode::Full, full_frames(new, fs), PROPS_DEFAULT)?;
    match best {
        Some(b) if (b.len() as u64) * 100 <= (full.len() as u64) * 97 => Ok(b),
        _ => Ok(full),
    }
}

/// Estimated size of the full image compressed in frames: liblzma preset 0 (faster and larger
/// than any preset a patch uses) on the first 32 KiB of up to 8 frames spread evenly over the
/// image, scaled to the whole image. Used only to skip compressing the whole image when a delta is far smaller; when
/// it is not, the exact full-image patch is made and compared.
fn full_estimate(new: &[u8], fs: usize) -> Result<u64> {
    const SAMPLE: usize = 32 << 10;
    let n = new.len().div_ceil(fs);
    if n == 0 {
        return Ok(0);
    }
    let picks: Vec<usize> = (0..n.min(8)).map(|k| k * n / n.min(8)).collect();
    let frames: Vec<Vec<u8>> = picks
        .iter()
        .map(|&i| new[i * fs..(i * fs + SAMPLE).min(new.len())].to_vec())
        .collect();
    let sampled: usize = frames.iter().map(Vec::len).sum();
    let frames: Vec<(Vec<u8>, usize)> = frames.into_iter().map(|f| (f, 0)).collect();
    let payloads = compress_all(&frames, PROPS_DEFAULT, dict_for(fs.min(new.len())), 0)?;
    let packed: u64 = payloads.iter().map(|p| p.len() as u64).sum();
    Ok(packed * new.len() as u64 / sampled.max(1) as u64)
}

fn full_frames(new: &[u8], fs: usize) -> Vec<(Vec<u8>, usize)> {
    new.chunks(fs).map(|c| (c.to_vec(), c.len())).collect()
}

fn xor_frames(
    old: &[u8],
    new: &[u8],
    fs: usize,
    width: usize,
    phase: usize,
) -> Vec<(Vec<u8>, usize)> {
    (0..new.len().div_ceil(fs))
        .map(|i| {
            let len = (new.len() - i * fs).min(fs);
            (xor_frame(old, new, i * fs, len, width, phase), len)
        })
        .collect()
}

/// The element width and phase whose planes compress best, judged on up to four frames spread
/// over the file at a fast preset (research on the corpus: the float alignment inside an ONNX
/// file is not known in advance).
fn best_layout(old: &[u8], new: &[u8], widths: &[usize], fs: usize) -> Result<(usize, usize)> {
    let n = new.len().div_ceil(fs);
    let picks: Vec<usize> = if n <= 4 {
        (0..n).collect()
    } else {
        (0..4).map(|i| i * n / 4).collect()
    };
    let mut best = (u64::MAX, widths.first().copied().unwrap_or(1), 0);
    for &width in widths {
        for phase in 0..width {
            let mut size = 0u64;
            for &i in &picks {
                let raw = xor_frame(old, new, i * fs, (new.len() - i * fs).min(fs), width, phase);
                size += codec::compress(&raw, PROPS_PLANES, dict_for(raw.len()), 1)
                    .map_err(Error::Codec)?
                    .len() as u64;
            }
            if size < best.0 {
                best = (size, width, phase);
            }
        }
    }
    Ok((best.1, best.2))
}

/// Dictionary for frames of at most `max_raw` bytes: no need to be larger than the frame.
fn dict_for(max_raw: usize) -> u32 {
    // Capped at the default `Limits::max_dict_size` so that default limits accept our patches.
    let d = max_raw
        .next_multiple_of(4096)
        .clamp(MIN_DICT_SIZE as usize, 1 << 20);
    u32::try_from(d).unwrap_or(1 << 20)
}

/// Compresses the raw frames and lays out header + frames.
#[allow(clippy::too_many_arguments)]
fn encode(
    old: &[u8],
    new: &[u8],
    hashes: ([u8; 32], [u8; 32]),
    mode: Mode,
    fs: usize,
    frames: Vec<(Vec<u8>, usize)>,
    props: u8,
    preset: u32,
    profile: Profile,
) -> Result<Vec<u8>> {
    let too_big = |field| Error::InvalidField {
        field,
        offset: 0,
        reason: "too large for the format",
    };
    let max_raw = frames.iter().map(|f| f.0.len()).max().unwrap_or(0);
    let dict_size = dict_for(max_raw);
    let (payloads, codec) = match profile {
        Profile::Std => (
            compress_all(&frames, props, dict_size, preset)?,
            Codec::Lzma2 { props, dict_size },
        ),
        Profile::Mcu => {
            if max_raw > crate::mcu::MCU_MAX_RAW as usize {
                return Err(too_big("max_raw"));
            }
            let p = frames.iter().map(|f| codec::deflate_frame(&f.0)).collect();
            (p, Codec::Deflate)
        }
    };
    let max_payload = payloads.iter().map(Vec::len).max().unwrap_or(0);
    let full = mode == Mode::Full;
    let header = Header {
        mode,
        codec,
        frame_size: u32::try_from(fs).map_err(|_| too_big("frame_size"))?,
        frame_count: u32::try_from(frames.len()).map_err(|_| too_big("frame_count"))?,
        max_payload: u32::try_from(max_payload).map_err(|_| too_big("max_payload"))?,
        max_raw: u32::try_from(max_raw).map_err(|_| too_big("max_raw"))?,
        source_size: if full { 0 } else { old.len() as u64 },
        target_size: new.len() as u64,
        source_sha256: if full { sha256(&[]) } else { hashes.0 },
        target_sha256: hashes.1,
    };
    let hb = header.to_bytes();
    let hd = Header::digest(&hb);
    let total: usize = payloads.iter().map(|p| p.len() + FRAME_HEADER_LEN).sum();
    let mut out = Vec::with_capacity(hb.len() + total);
    out.extend_from_slice(&hb);
    let mut start = 0usize;
    for (i, ((raw, span), payload)) in frames.iter().zip(&payloads).enumerate() {
        let target = &new[start..start + span];
        let mut fh = FrameHeader {
            payload_len: u32::try_from(payload.len()).map_err(|_| too_big("payload_len"))?,
            raw_len: u32::try_from(raw.len()).map_err(|_| too_big("raw_len"))?,
            target_len: u32::try_from(*span).map_err(|_| too_big("target_len"))?,
            check: [0; 32],
        };
        let mut h = frame_check(&hd, i as u32, start as u64, &fh);
        h.update(payload);
        h.update(target);
        fh.check = h.finalize().into();
        out.extend_from_slice(&fh.to_bytes());
        out.extend_from_slice(payload);
        start += span;
    }
    Ok(out)
}

/// Compresses every frame; frames are independent, so they are spread over the available cores.
fn compress_all(
    frames: &[(Vec<u8>, usize)],
    props: u8,
    dict_size: u32,
    preset: u32,
) -> Result<Vec<Vec<u8>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(frames.len())
        .max(1);
    let per = frames.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<Vec<u8>>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = frames
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(raw, _)| {
                            codec::compress(raw, props, dict_size, preset).map_err(Error::Codec)
                        })
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Codec("compression thread panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(frames.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}
