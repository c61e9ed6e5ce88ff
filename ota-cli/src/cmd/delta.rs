//! `ota delta ...`: make, apply (streamed, verified, resumable) and inspect patches.

use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand, ValueEnum};
use ota_delta::{
    Apply, ApplyOptions, Cursor, DiffOptions, FileSource, Limits, ModeChoice, Profile,
};
use serde_json::json;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum DeltaCmd {
    /// Makes a patch from OLD to NEW.
    ///
    /// Example: ota delta make fw-1.0.bin fw-1.1.bin --out fw-1.0-1.1.patch
    Make(MakeArgs),
    /// Applies PATCH to OLD, streaming and verified; NEW appears only once complete and verified.
    ///
    /// With --resume CURSOR, progress is kept after each frame: rerun the same command after an
    /// interruption (or once the rest of a partly downloaded patch has arrived) to continue.
    ///
    /// Example: ota delta apply fw-1.0.bin fw.patch --out fw-1.1.bin --resume fw.cursor
    Apply(ApplyArgs),
    /// Prints what a patch declares: format, mode, sizes, digests, frames.
    ///
    /// Example: ota delta info fw-1.0-1.1.patch
    Info(InfoArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// ota-delta's framed, streamable, resumable format.
    Native,
    /// Classic BSDIFF40 (for the stock bspatch).
    Bsdiff,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    /// The smallest of the modes that can win (never worse than the full image).
    Auto,
    /// A compressed full image.
    Full,
    /// bsdiff matching.
    Bsdiff,
    /// XOR against the old file in float32 byte planes (model weights of the same layout).
    Xor,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileArg {
    /// LZMA2 frames of up to --frame-size: the smallest patches (about 1 MiB of RAM to apply).
    Std,
    /// DEFLATE frames of 10 KiB (or --frame-size, at most 12288), decoded in place: applies on
    /// a microcontroller without an allocator in a frame buffer of frame size + 256 bytes plus
    /// ~5 KiB (ota-delta FORMAT.md §10); the default 10 KiB frames fit 16 KiB of RAM.
    Mcu,
}

#[derive(Debug, Args)]
pub struct MakeArgs {
    /// The image the device has.
    old: PathBuf,
    /// The image it should get.
    new: PathBuf,
    /// Where to write the patch (atomically).
    #[arg(long)]
    out: PathBuf,
    /// Patch format.
    #[arg(long, value_enum, default_value_t = Format::Native)]
    format: Format,
    /// Reconstruction mode (native format only).
    #[arg(long, value_enum, default_value_t = ModeArg::Auto)]
    mode: ModeArg,
    /// Frame size (native format): a multiple of 64, at least 4096. Target bytes per frame in
    /// the full and XOR modes; in bsdiff mode the patch content per frame, each frame covering
    /// as much of the target as that content describes (ota-delta FORMAT.md §4). Default
    /// 262144 (256 KiB) for the std profile, 10240 for mcu (at most 12288 there).
    #[arg(long)]
    frame_size: Option<u32>,
    /// Profile of the native format: `mcu` uses DEFLATE and 10 KiB frames (at most 12 KiB).
    #[arg(long, value_enum, default_value_t = ProfileArg::Std)]
    profile: ProfileArg,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The image the device has.
    old: PathBuf,
    /// The patch (native or BSDIFF40, recognised by its magic).
    patch: PathBuf,
    /// Where the new image goes (atomically, only once verified).
    #[arg(long)]
    out: PathBuf,
    /// Keep progress in this cursor file (native patches) and continue from it when it exists.
    #[arg(long)]
    resume: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The patch.
    patch: PathBuf,
}

pub fn run(cmd: DeltaCmd, out: &Out) -> CmdResult {
    match cmd {
        DeltaCmd::Make(a) => make(&a, out),
        DeltaCmd::Apply(a) => apply(&a, out),
        DeltaCmd::Info(a) => info(&a, out),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn make(a: &MakeArgs, out: &Out) -> CmdResult {
    let old = files::read(&a.old)?;
    let new = files::read(&a.new)?;
    let mode = match a.mode {
        ModeArg::Auto => ModeChoice::Auto,
        ModeArg::Full => ModeChoice::Full,
        ModeArg::Bsdiff => ModeChoice::Bsdiff,
        ModeArg::Xor => ModeChoice::XorPlanes { width: 4 },
    };
    let profile = match a.profile {
        ProfileArg::Std => Profile::Std,
        ProfileArg::Mcu => Profile::Mcu,
    };
    let frame_size = match (a.profile, a.frame_size) {
        (ProfileArg::Std, None) => DiffOptions::default().frame_size,
        (ProfileArg::Mcu, None) => ota_delta::MCU_DEFAULT_RAW,
        (ProfileArg::Mcu, Some(n)) if n > ota_delta::MCU_MAX_RAW => {
            return Err(Fail::input(format!(
                "--frame-size {n} is over the mcu profile's maximum of {}",
                ota_delta::MCU_MAX_RAW
            )));
        }
        (_, Some(n)) => n,
    };
    let opts = DiffOptions {
        mode,
        frame_size,
        profile,
        ..DiffOptions::default()
    };
    if matches!(a.profile, ProfileArg::Mcu) && matches!(a.format, Format::Bsdiff) {
        return Err(Fail::input(
            "--profile mcu applies to the native format only",
        ));
    }
    let spinner = out.spinner(match a.profile {
        ProfileArg::Std => "diffing (suffix sort, then LZMA2 per frame)",
        ProfileArg::Mcu => "diffing (suffix sort, then DEFLATE per frame, MCU profile)",
    });
    let native = ota_delta::diff_with(&old, &new, &opts).map_err(Fail::input)?;
    spinner.finish_and_clear();
    let (patch, format) = match a.format {
        Format::Native => (native, "native"),
        Format::Bsdiff => {
            if !matches!(a.mode, ModeArg::Auto | ModeArg::Bsdiff) {
                return Err(Fail::input("--format bsdiff needs --mode bsdiff (or auto)"));
            }
            let bsdiff_native = if matches!(a.mode, ModeArg::Auto) {
                let o = DiffOptions {
                    mode: ModeChoice::Bsdiff,
                    ..opts
                };
                ota_delta::diff_with(&old, &new, &o).map_err(Fail::input)?
            } else {
                native
            };
            let classic = ota_delta::export_bsdiff(&old, &bsdiff_native, &Limits::default())
                .map_err(Fail::input)?;
            (classic, "bsdiff")
        }
    };
    files::write_atomic(&a.out, &patch)?;
    let pct = if new.is_empty() {
        0.0
    } else {
        patch.len() as f64 * 100.0 / new.len() as f64
    };
    out.result(
        || {
            format!(
                "{}: {} bytes ({pct:.2}% of the new image's {} bytes), format {format}",
                a.out.display(),
                patch.len(),
                new.len()
            )
        },
        || {
            json!({"ok": true, "out": a.out, "format": format, "patch_bytes": patch.len(),
                   "new_bytes": new.len(), "old_bytes": old.len()})
        },
    );
    Ok(())
}

/// The sibling file the target is written to until it is complete and verified.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

/// The patch opened once and read front to back (a pipe, `/dev/stdin` or `<(...)` will do):
/// the bytes read to recognise the format are put back in front of the rest.
type PatchStream = std::io::Chain<std::io::Cursor<Vec<u8>>, File>;

/// Opens the patch and reads its first 8 bytes; true when it is a classic BSDIFF40 patch.
fn open_patch(path: &Path) -> CmdResult<(bool, PatchStream)> {
    let mut f = File::open(path).map_err(|e| Fail::in_file(path, e))?;
    let mut magic = [0u8; 8];
    let n = read_up_to(&mut f, &mut magic).map_err(|e| Fail::in_file(path, e))?;
    let classic = &magic[..n] == b"BSDIFF40";
    Ok((classic, std::io::Cursor::new(magic[..n].to_vec()).chain(f)))
}

/// Reads the saved cursor, if any. A cursor without the partial file it describes is left
/// over from a run that finished (interrupted between the final rename and the cursor's
/// removal) or lost its staging file: the apply starts over, which is always correct.
fn saved_cursor(a: &ApplyArgs, partial: &Path) -> CmdResult<Option<Cursor>> {
    let Some(p) = a.resume.as_ref().filter(|p| p.exists()) else {
        return Ok(None);
    };
    if !partial.exists() {
        let _ = std::fs::remove_file(p);
        return Ok(None);
    }
    let bytes = files::read(p)?;
    let arr: [u8; ota_delta::CURSOR_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Fail::in_file(p, format!("a cursor is {} bytes", ota_delta::CURSOR_LEN)))?;
    Ok(Some(
        Cursor::from_bytes(&arr).map_err(|e| Fail::in_file(p, e))?,
    ))
}

fn apply(a: &ApplyArgs, out: &Out) -> CmdResult {
    let (classic, patch) = open_patch(&a.patch)?;
    if classic {
        return apply_classic(a, patch, out);
    }
    let source = FileSource::open(&a.old).map_err(|e| Fail::in_file(&a.old, e))?;
    let mut patch = BufReader::new(patch);
    let partial = partial_path(&a.out);
    let opts = ApplyOptions::default();
    let (mut job, mut sink) = match saved_cursor(a, &partial)? {
        Some(cursor) => {
            let mut sink = OpenOptions::new()
                .write(true)
                .open(&partial)
                .map_err(|e| Fail::in_file(&partial, format!("cannot resume: {e}")))?;
            sink.set_len(cursor.target_offset())
                .and_then(|()| sink.seek(SeekFrom::End(0)).map(|_| ()))
                .map_err(|e| Fail::in_file(&partial, e))?;
            // The header, then the patch from the cursor on: the frames in between are read
            // past (the patch may be a pipe), never decoded.
            let mut header = [0u8; ota_delta::HEADER_LEN];
            let got =
                read_up_to(&mut patch, &mut header).map_err(|e| Fail::in_file(&a.patch, e))?;
            let skip = cursor
                .patch_offset()
                .saturating_sub(ota_delta::HEADER_LEN as u64);
            let skipped = std::io::copy(&mut (&mut patch).take(skip), &mut std::io::sink())
                .map_err(|e| Fail::in_file(&a.patch, e))?;
            if got < header.len() || skipped < skip {
                let offset = if got < header.len() {
                    got as u64
                } else {
                    ota_delta::HEADER_LEN as u64 + skipped
                };
                return Err(delta_fail(&a.patch, ota_delta::Error::Truncated { offset }));
            }
            // What the staging file holds now is hashed again against the cursor.
            let stored = File::open(&partial).map_err(|e| Fail::in_file(&partial, e))?;
            let job = Apply::resume(&header, patch, source, &cursor, stored, &opts)
                .map_err(|e| resume_fail(a, &partial, e))?;
            (job, sink)
        }
        None => {
            let job = Apply::new(patch, source, &opts).map_err(|e| delta_fail(&a.patch, e))?;
            let sink = File::create(&partial).map_err(|e| Fail::in_file(&partial, e))?;
            (job, sink)
        }
    };
    let total = job.header().target_size;
    let bar = out.progress(total, "applying");
    loop {
        match job.next_frame(&mut sink) {
            Ok(Some(cursor)) => {
                bar.set_position(cursor.target_offset());
                if let Some(cpath) = &a.resume {
                    // The cursor may only say what is durable.
                    sink.sync_data().map_err(|e| Fail::in_file(&partial, e))?;
                    files::write_atomic(cpath, &cursor.to_bytes())?;
                }
            }
            Ok(None) => break,
            Err(e) => {
                bar.abandon();
                let keep = a.resume.is_some()
                    && matches!(
                        e,
                        ota_delta::Error::Truncated { .. } | ota_delta::Error::Io(_)
                    );
                if keep {
                    return Err(Fail::refused(format!(
                        "{}: {e}; progress kept in {}, run the same command again to continue",
                        a.patch.display(),
                        partial.display()
                    )));
                }
                let _ = std::fs::remove_file(&partial);
                if let Some(c) = &a.resume {
                    let _ = std::fs::remove_file(c);
                }
                return Err(delta_fail(&a.patch, e));
            }
        }
    }
    bar.finish_and_clear();
    sink.sync_all().map_err(|e| Fail::in_file(&partial, e))?;
    drop(sink);
    std::fs::rename(&partial, &a.out).map_err(|e| Fail::in_file(&a.out, e))?;
    if let Some(c) = &a.resume {
        let _ = std::fs::remove_file(c);
    }
    let digest = hex(&job.header().target_sha256);
    out.result(
        || {
            format!(
                "{}: {total} bytes, SHA-256 {digest} verified",
                a.out.display()
            )
        },
        || json!({"ok": true, "out": a.out, "bytes": total, "sha256": digest}),
    );
    Ok(())
}

/// A resume that cannot go on: when the staging file no longer holds what was written, it and
/// the cursor are removed, so the next run starts over instead of failing the same way.
fn resume_fail(a: &ApplyArgs, partial: &Path, e: ota_delta::Error) -> Fail {
    if matches!(e, ota_delta::Error::StoredTargetMismatch { .. }) {
        let _ = std::fs::remove_file(partial);
        if let Some(c) = &a.resume {
            let _ = std::fs::remove_file(c);
        }
        return Fail::refused(format!(
            "{}: {e}; it was removed with the cursor, run the command again to start over",
            partial.display()
        ));
    }
    delta_fail(&a.patch, e)
}

/// Largest classic patch read from a pipe: it is spooled to an unnamed temporary file (its three
/// streams start at offsets the header gives, so it must be readable by position), and bzip2 makes
/// incompressible data at most about 1% larger. A patch in a regular file is read by position
/// where it is, whatever its size.
fn classic_patch_limit(limits: &Limits) -> u64 {
    limits.max_classic_target + limits.max_classic_target / 8 + (1 << 20)
}

/// A classic patch, readable by position: the file itself, or a spooled copy of a pipe (memory
/// stays flat either way; a pipe costs at most [`classic_patch_limit`] bytes of temporary disk).
fn classic_patch(path: &Path, patch: PatchStream, limits: &Limits) -> CmdResult<FileSource> {
    let (head, file) = patch.into_inner();
    let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
    if regular {
        return FileSource::new(file).map_err(|e| Fail::in_file(path, e));
    }
    let cap = classic_patch_limit(limits);
    let mut spool = tempfile::tempfile().map_err(|e| Fail::in_file(path, e))?;
    let copied = std::io::copy(&mut head.chain(file).take(cap + 1), &mut spool)
        .map_err(|e| Fail::in_file(path, e))?;
    if copied > cap {
        return Err(Fail::refused(format!(
            "{}: a BSDIFF40 patch on a pipe is spooled to a temporary file; the limit is {cap} \
             bytes (give it as a file to lift it)",
            path.display()
        )));
    }
    FileSource::new(spool).map_err(|e| Fail::in_file(path, e))
}

fn apply_classic(a: &ApplyArgs, patch: PatchStream, out: &Out) -> CmdResult {
    if a.resume.is_some() {
        return Err(Fail::input(
            "--resume needs a native patch (BSDIFF40 has no frames to resume from)",
        ));
    }
    let limits = Limits::default();
    let patch = classic_patch(&a.patch, patch, &limits)?;
    let source = FileSource::open(&a.old).map_err(|e| Fail::in_file(&a.old, e))?;
    // Streamed into the staging file, renamed only once the whole patch proved valid.
    let partial = partial_path(&a.out);
    let file = File::create(&partial).map_err(|e| Fail::in_file(&partial, e))?;
    let mut sink = BufWriter::with_capacity(64 << 10, file);
    let written = ota_delta::apply_bsdiff_to(&source, &patch, &limits, &mut sink).and_then(|n| {
        let file = sink.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(n)
    });
    let n = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(delta_fail(&a.patch, e));
        }
    };
    std::fs::rename(&partial, &a.out).map_err(|e| Fail::in_file(&a.out, e))?;
    out.result(
        || format!("{}: {n} bytes (BSDIFF40 patch)", a.out.display()),
        || json!({"ok": true, "out": a.out, "bytes": n, "format": "bsdiff"}),
    );
    Ok(())
}

/// A patch that does not apply is a refusal (exit 1); an I/O failure is an input error.
fn delta_fail(patch: &Path, e: ota_delta::Error) -> Fail {
    match e {
        ota_delta::Error::Io(io) => Fail::in_file(patch, io),
        other => Fail::refused(format!("{}: {other}", patch.display())),
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

fn info(a: &InfoArgs, out: &Out) -> CmdResult {
    // The size on disk only for a regular file: a pipe has none, and is never read twice.
    let bytes_on_disk = std::fs::metadata(&a.patch)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    let size_text = bytes_on_disk.map_or(String::new(), |n| format!(", {n} bytes"));
    let (classic, patch) = open_patch(&a.patch)?;
    if classic {
        out.result(
            || format!("{}: BSDIFF40 patch{size_text}", a.patch.display()),
            || json!({"ok": true, "format": "bsdiff", "patch_bytes": bytes_on_disk}),
        );
        return Ok(());
    }
    let h =
        ota_delta::read_header(patch, &Limits::default()).map_err(|e| delta_fail(&a.patch, e))?;
    let mode = format!("{:?}", h.mode);
    let codec = format!("{:?}", h.codec);
    out.result(
        || {
            let mut s = String::new();
            let _ = writeln!(
                s,
                "{}: ota-delta native patch{size_text}",
                a.patch.display()
            );
            let _ = writeln!(s, "  mode          {mode}");
            let _ = writeln!(s, "  codec         {codec}");
            let _ = writeln!(
                s,
                "  frames        {} x {} bytes",
                h.frame_count, h.frame_size
            );
            let _ = writeln!(
                s,
                "  source        {} bytes, SHA-256 {}",
                h.source_size,
                hex(&h.source_sha256)
            );
            let _ = write!(
                s,
                "  target        {} bytes, SHA-256 {}",
                h.target_size,
                hex(&h.target_sha256)
            );
            s
        },
        || {
            json!({"ok": true, "format": "native", "patch_bytes": bytes_on_disk, "mode": mode,
                   "codec": codec, "frame_size": h.frame_size, "frame_count": h.frame_count,
                   "source_size": h.source_size, "source_sha256": hex(&h.source_sha256),
                   "target_size": h.target_size, "target_sha256": hex(&h.target_sha256)})
        },
    );
    Ok(())
}
