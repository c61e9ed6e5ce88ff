//! The one place that drives ota-delta's `Apply`: a patch fetched by ranges, applied frame by
//! frame from the installed image into the staging area, the cursor persisted after each frame
//! and used to resume (re-fetching only the header and the bytes after the cursor).

use std::cell::RefCell;
use std::io::{self, Read, Write};

use ota_delta::{Apply, ApplyOptions, Cursor, HEADER_LEN, Header, Limits, SourceCheck};

use crate::error::{Error, Result};
use crate::fetch::{Fetch, FetchError, Resource};
use crate::install::Installer;
use crate::outcome::{Reason, Stage};
use crate::record::Target;

/// How a download step ended.
#[derive(Debug)]
pub(crate) enum Flow {
    Done,
    Fail(Stage, Reason),
    Interrupted(FetchError),
    /// A resumed apply found that the staged bytes before the cursor are not what the cursor
    /// says (`ota_delta::Error::StoredTargetMismatch`): the cursor cannot be trusted, the apply
    /// must start again from byte 0.
    Restart,
}

pub(crate) fn fetch_flow(e: FetchError) -> Flow {
    match e {
        FetchError::NotFound(_) => Flow::Fail(Stage::Download, Reason::InvalidUri),
        FetchError::UnsupportedProtocol(_) => {
            Flow::Fail(Stage::Download, Reason::UnsupportedProtocol)
        }
        other => Flow::Interrupted(other),
    }
}

/// Installer errors: a power cut propagates (the caller reboots); anything else fails the update.
pub(crate) fn installer_flow(e: Error) -> Result<Flow> {
    match e {
        Error::PowerLost => Err(e),
        Error::TooLarge { .. } | Error::Slot { .. } => {
            Ok(Flow::Fail(Stage::Install, Reason::NotEnoughSpace))
        }
        _ => Ok(Flow::Fail(Stage::Install, Reason::InstallFailed)),
    }
}

/// Fills `buf` from `offset`; `Ok(false)` when the resource ended first.
pub(crate) fn fetch_exact(
    fetch: &mut dyn Fetch,
    what: &Resource<'_>,
    offset: u64,
    buf: &mut [u8],
) -> std::result::Result<bool, FetchError> {
    let mut n = 0;
    while n < buf.len() {
        let k = fetch.fetch(what, offset + n as u64, &mut buf[n..])?;
        if k == 0 {
            return Ok(false);
        }
        n += k;
    }
    Ok(true)
}

struct Shared<'i> {
    inst: RefCell<&'i mut dyn Installer>,
    err: RefCell<Option<Error>>,
    fetch_err: RefCell<Option<FetchError>>,
}

impl Shared<'_> {
    fn stash(&self, e: Error) -> io::Error {
        let msg = e.to_string();
        *self.err.borrow_mut() = Some(e);
        io::Error::other(msg)
    }
}

struct InstalledSource<'a, 'i> {
    sh: &'a Shared<'i>,
    t: &'a Target,
    size: u64,
}

impl ota_delta::Source for InstalledSource<'_, '_> {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.size)
        {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let r = self
            .sh
            .inst
            .borrow_mut()
            .read_installed(self.t, offset, buf);
        r.map_err(|e| self.sh.stash(e))
    }
}

struct StagingSink<'a, 'i> {
    sh: &'a Shared<'i>,
    t: &'a Target,
    offset: u64,
}

impl Write for StagingSink<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.sh.inst.borrow_mut().write(self.t, self.offset, buf);
        r.map_err(|e| self.sh.stash(e))?;
        self.offset += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The target bytes already in the staging area, read back from its first byte (what storage
/// holds now, which `Apply::resume` re-hashes against the cursor).
struct StagedReader<'a, 'i> {
    sh: &'a Shared<'i>,
    t: &'a Target,
    pos: u64,
}

impl Read for StagedReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.t.size.saturating_sub(self.pos);
        let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        if n == 0 {
            return Ok(0);
        }
        let r = self
            .sh
            .inst
            .borrow_mut()
            .read(self.t, self.pos, &mut buf[..n]);
        r.map_err(|e| self.sh.stash(e))?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The patch as a stream from byte `pos`: bytes under `head.len()` come from `head` (fetched
/// once, already checked), the rest from the fetcher.
struct PatchReader<'a, 'f, 'r> {
    head: &'a [u8],
    fetch: &'a mut (dyn Fetch + 'f),
    what: &'a Resource<'r>,
    fetch_err: &'a RefCell<Option<FetchError>>,
    pos: u64,
}

impl Read for PatchReader<'_, '_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(rest) = usize::try_from(self.pos)
            .ok()
            .and_then(|p| self.head.get(p..))
            .filter(|r| !r.is_empty())
        {
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.pos += n as u64;
            return Ok(n);
        }
        match self.fetch.fetch(self.what, self.pos, buf) {
            Ok(n) => {
                self.pos += n as u64;
                Ok(n)
            }
            Err(e) => {
                let msg = e.to_string();
                *self.fetch_err.borrow_mut() = Some(e);
                Err(io::Error::other(msg))
            }
        }
    }
}

/// Applies the patch `what` for `t`, from `cursor` if one was persisted. `persist` is called
/// with each new cursor once the frame's bytes are durable (after `Installer::sync`).
pub(crate) fn apply(
    fetch: &mut dyn Fetch,
    what: &Resource<'_>,
    inst: &mut dyn Installer,
    t: &Target,
    cursor: Option<[u8; 64]>,
    persist: &mut dyn FnMut([u8; 64]) -> Result<()>,
) -> Result<Flow> {
    let mut hb = [0u8; HEADER_LEN];
    match fetch_exact(fetch, what, 0, &mut hb) {
        Ok(true) => {}
        Ok(false) => return Ok(Flow::Fail(Stage::Verify, Reason::IntegrityCheckFailure)),
        Err(e) => return Ok(fetch_flow(e)),
    }
    let limits = Limits::default();
    let Ok(header) = Header::parse(&hb, &limits) else {
        return Ok(Flow::Fail(Stage::Verify, Reason::IntegrityCheckFailure));
    };
    if header.target_size != t.size || header.target_sha256 != t.sha256 {
        return Ok(Flow::Fail(Stage::Verify, Reason::IntegrityCheckFailure));
    }
    let cursor = match cursor.map(|c| Cursor::from_bytes(&c)) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => return Ok(Flow::Fail(Stage::Download, Reason::IntegrityCheckFailure)),
    };
    let sh = Shared {
        inst: RefCell::new(inst),
        err: RefCell::new(None),
        fetch_err: RefCell::new(None),
    };
    let src = InstalledSource {
        sh: &sh,
        t,
        size: header.source_size,
    };
    let opts = ApplyOptions {
        limits,
        // The installed image is hashed once against the patch's source digest: the slot could
        // have been corrupted since it was verified.
        source_check: SourceCheck::Verify,
    };
    // A fresh apply streams the patch from byte 0 (the header from `hb`); a resume hands
    // ota-delta the header and only the bytes from the cursor's patch offset on (a range
    // request), and lets it re-hash what the staging area holds now.
    let (head, pos, offset): (&[u8], u64, u64) = match &cursor {
        Some(c) => (&[], c.patch_offset(), c.target_offset()),
        None => (&hb, 0, 0),
    };
    let reader = PatchReader {
        head,
        fetch,
        what,
        fetch_err: &sh.fetch_err,
        pos,
    };
    let mut sink = StagingSink { sh: &sh, t, offset };
    let job = match &cursor {
        None => Apply::new(reader, &src, &opts),
        Some(c) => {
            let stored = StagedReader { sh: &sh, t, pos: 0 };
            Apply::resume(&hb, reader, &src, c, stored, &opts)
        }
    };
    let mut job = match job {
        Ok(j) => j,
        Err(e) => return classify(&sh, &e),
    };
    loop {
        match job.next_frame(&mut sink) {
            Ok(Some(c)) => {
                let r = sh.inst.borrow_mut().sync(t);
                if let Err(e) = r {
                    return installer_flow(e);
                }
                persist(c.to_bytes())?;
            }
            Ok(None) => return Ok(Flow::Done),
            Err(e) => return classify(&sh, &e),
        }
    }
}

fn classify(sh: &Shared<'_>, e: &ota_delta::Error) -> Result<Flow> {
    if let Some(err) = sh.err.borrow_mut().take() {
        return installer_flow(err);
    }
    if let Some(fe) = sh.fetch_err.borrow_mut().take() {
        return Ok(fetch_flow(fe));
    }
    Ok(match e {
        ota_delta::Error::StoredTargetMismatch { .. } => Flow::Restart,
        ota_delta::Error::Truncated { .. } => Flow::Fail(Stage::Download, Reason::ConnectionLost),
        ota_delta::Error::SourceSizeMismatch { .. } | ota_delta::Error::SourceDigestMismatch => {
            Flow::Fail(Stage::Install, Reason::InstallFailed)
        }
        _ => Flow::Fail(Stage::Verify, Reason::IntegrityCheckFailure),
    })
}
