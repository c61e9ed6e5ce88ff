//! Persistence of the lifecycle record: the [`Store`] trait, the frame both stores write, and
//! the file store.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::crc::crc32;
use crate::error::{Error, Result, io};

/// Where the agent keeps its one record. `save` is atomic: after a power cut, `load` returns
/// either the previous record or the new one, never a mix.
pub trait Store {
    /// The last record saved, `None` when nothing was ever saved.
    ///
    /// # Errors
    /// [`Error::StoreCorrupt`] when data is there but no copy passes its CRC, or a read error.
    fn load(&mut self) -> Result<Option<Vec<u8>>>;
    /// Replaces the record, atomically.
    ///
    /// # Errors
    /// A write error (or [`Error::PowerLost`]); the previous record is then still the one loaded.
    fn save(&mut self, record: &[u8]) -> Result<()>;
}

impl<S: Store + ?Sized> Store for &mut S {
    fn load(&mut self) -> Result<Option<Vec<u8>>> {
        (**self).load()
    }
    fn save(&mut self, record: &[u8]) -> Result<()> {
        (**self).save(record)
    }
}

/// Largest record a store accepts.
pub const MAX_RECORD: usize = 2048;
/// Bytes a frame adds around a record: magic, sequence, length, CRC-32.
pub const FRAME_OVERHEAD: usize = 20;
const FRAME_MAGIC: [u8; 4] = *b"OTAS";

/// Frames `record` with sequence number `seq` (layout in STATES.md).
pub(crate) fn encode_frame(seq: u64, record: &[u8]) -> Result<Vec<u8>> {
    if record.len() > MAX_RECORD {
        return Err(Error::TooLarge {
            reason: "record longer than MAX_RECORD",
        });
    }
    let mut out = Vec::with_capacity(record.len() + FRAME_OVERHEAD);
    out.extend_from_slice(&FRAME_MAGIC);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(record.len() as u32).to_le_bytes());
    out.extend_from_slice(record);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// What a frame header says, before its CRC is checked.
pub(crate) fn frame_len(header: &[u8]) -> Option<usize> {
    if header.get(0..4)? != FRAME_MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(header.get(12..16)?.try_into().ok()?) as usize;
    (len <= MAX_RECORD).then_some(len + FRAME_OVERHEAD)
}

/// Decodes a whole frame: `(sequence, record)` if the magic, length and CRC hold.
pub(crate) fn decode_frame(frame: &[u8]) -> Option<(u64, &[u8])> {
    let total = frame_len(frame)?;
    let frame = frame.get(..total)?;
    let (body, crc) = frame.split_at(total - 4);
    if crc32(body).to_le_bytes() != *crc {
        return None;
    }
    let seq = u64::from_le_bytes(body.get(4..12)?.try_into().ok()?);
    Some((seq, body.get(16..)?))
}

/// A store in one file: write `NAME.new`, fsync, rename over `NAME`, fsync the directory.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    tmp: PathBuf,
    seq: u64,
}

impl FileStore {
    /// A store at `path` (its directory must exist).
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".new");
        FileStore {
            path,
            tmp: PathBuf::from(tmp),
            seq: 0,
        }
    }

    /// The record's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("fsync directory", dir, e))
}

impl Store for FileStore {
    fn load(&mut self) -> Result<Option<Vec<u8>>> {
        // At most one byte more than the largest frame: a longer file is corrupt, and is never
        // read whole into memory.
        let limit = (MAX_RECORD + FRAME_OVERHEAD + 1) as u64;
        let mut bytes = Vec::new();
        match fs::File::open(&self.path) {
            Ok(f) => {
                use std::io::Read as _;
                f.take(limit)
                    .read_to_end(&mut bytes)
                    .map_err(|e| io("read", &self.path, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("open", &self.path, e)),
        }
        match decode_frame(&bytes) {
            Some((seq, rec)) if frame_len(&bytes) == Some(bytes.len()) => {
                self.seq = seq;
                Ok(Some(rec.to_vec()))
            }
            _ => Err(Error::StoreCorrupt {
                what: self.path.display().to_string(),
            }),
        }
    }

    fn save(&mut self, record: &[u8]) -> Result<()> {
        let frame = encode_frame(self.seq.wrapping_add(1), record)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.tmp)
            .map_err(|e| io("create", &self.tmp, e))?;
        f.write_all(&frame)
            .and_then(|()| f.sync_all())
            .map_err(|e| io("write", &self.tmp, e))?;
        drop(f);
        fs::rename(&self.tmp, &self.path).map_err(|e| io("rename", &self.path, e))?;
        sync_dir(&self.path)?;
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trip_and_bad_crc() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state");
        let mut s = FileStore::new(&p);
        assert!(s.load().unwrap().is_none());
        s.save(b"one").unwrap();
        s.save(b"two").unwrap();
        let mut again = FileStore::new(&p);
        assert_eq!(again.load().unwrap().as_deref(), Some(&b"two"[..]));
        assert!(!dir.path().join("state.new").exists());
        let mut bytes = fs::read(&p).unwrap();
        bytes[17] ^= 1;
        fs::write(&p, &bytes).unwrap();
        assert!(matches!(again.load(), Err(Error::StoreCorrupt { .. })));
    }

    #[test]
    fn frame_rejects_every_single_bit_flip() {
        let f = encode_frame(7, b"record").unwrap();
        assert_eq!(decode_frame(&f), Some((7, &b"record"[..])));
        for i in 0..f.len() * 8 {
            let mut g = f.clone();
            g[i / 8] ^= 1 << (i % 8);
            assert_eq!(decode_frame(&g), None, "bit {i}");
        }
    }
}
