//! Raw flash behind the [`Flash`] trait and the two-sector [`FlashStore`].

use crate::error::{Error, Result};
use crate::store::{FRAME_OVERHEAD, MAX_RECORD, Store, decode_frame, encode_frame, frame_len};

/// The shape of a flash device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Bytes per erase sector.
    pub sector_size: u32,
    /// Number of sectors.
    pub sector_count: u32,
    /// Program granularity: address and length of every program are multiples of it (1, 2, 4, 8...).
    pub write_align: u32,
    /// The value of an erased byte (0xFF for NOR, 0x00 for some internal flashes).
    pub erased: u8,
}

/// A flash device: erase a sector, program erased bytes, read.
pub trait Flash {
    /// Its geometry.
    fn geometry(&self) -> Geometry;
    /// Reads `buf.len()` bytes at `addr`.
    ///
    /// # Errors
    /// [`Error::Flash`] out of range, or a device error.
    fn read(&mut self, addr: u32, buf: &mut [u8]) -> Result<()>;
    /// Erases sector `sector` (every byte becomes the erased value).
    ///
    /// # Errors
    /// [`Error::Flash`] out of range, or a device error.
    fn erase(&mut self, sector: u32) -> Result<()>;
    /// Programs `data` at `addr`; both aligned to `write_align`, the bytes erased before.
    ///
    /// # Errors
    /// [`Error::Flash`] misaligned, out of range or over programmed bytes, or a device error.
    fn program(&mut self, addr: u32, data: &[u8]) -> Result<()>;
}

/// A [`Store`] in two flash sectors: each save erases the sector that does not hold the newest
/// valid record and programs the new frame there (sequence + CRC-32); load keeps the valid frame
/// with the higher sequence. A torn erase or program leaves the other sector's record. The first
/// save writes both sectors, so that afterwards a valid copy always exists; before that, a blank
/// sector beside an unreadable one means the first save was torn (load returns `None`).
#[derive(Debug)]
pub struct FlashStore<F> {
    flash: F,
    first: u32,
    newest: Option<(u32, u64)>,
}

impl<F: Flash> FlashStore<F> {
    /// A store in sectors `first` and `first + 1`.
    ///
    /// # Errors
    /// [`Error::Flash`] when the sectors are outside the device or too small for a record.
    pub fn new(flash: F, first: u32) -> Result<Self> {
        let g = flash.geometry();
        if first.checked_add(2).is_none_or(|end| end > g.sector_count) {
            return Err(Error::Flash {
                op: "store",
                addr: u64::from(first) * u64::from(g.sector_size),
                reason: "two sectors needed",
            });
        }
        if g.write_align == 0 || !g.write_align.is_power_of_two() || g.write_align > 256 {
            return Err(Error::Flash {
                op: "store",
                addr: 0,
                reason: "write alignment must be a power of two up to 256",
            });
        }
        // A frame padded to the write unit must fit with room for a record (`capacity`).
        if (g.sector_size as usize) < FRAME_OVERHEAD + 16 + g.write_align as usize {
            return Err(Error::Flash {
                op: "store",
                addr: 0,
                reason: "sector too small",
            });
        }
        Ok(FlashStore {
            flash,
            first,
            newest: None,
        })
    }

    /// The flash underneath.
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Largest record this store can hold.
    #[must_use]
    pub fn capacity(&self) -> usize {
        let g = self.flash.geometry();
        (g.sector_size as usize - FRAME_OVERHEAD - g.write_align as usize).min(MAX_RECORD)
    }

    fn read_sector(&mut self, sector: u32) -> Result<Option<(u64, Vec<u8>)>> {
        let g = self.flash.geometry();
        let base = sector * g.sector_size;
        let mut head = [0u8; 16];
        self.flash.read(base, &mut head)?;
        let Some(total) = frame_len(&head) else {
            return Ok(None);
        };
        if total > g.sector_size as usize {
            return Ok(None);
        }
        let mut frame = vec![0u8; total];
        self.flash.read(base, &mut frame)?;
        Ok(decode_frame(&frame).map(|(s, r)| (s, r.to_vec())))
    }

    fn sector_is_erased(&mut self, sector: u32) -> Result<bool> {
        let g = self.flash.geometry();
        let mut buf = vec![0u8; g.sector_size as usize];
        self.flash.read(sector * g.sector_size, &mut buf)?;
        Ok(buf.iter().all(|&b| b == g.erased))
    }
}

impl<F: Flash> Store for FlashStore<F> {
    fn load(&mut self) -> Result<Option<Vec<u8>>> {
        let mut best: Option<(u32, u64, Vec<u8>)> = None;
        for s in [self.first, self.first + 1] {
            if let Some((seq, rec)) = self.read_sector(s)?
                && best.as_ref().is_none_or(|b| seq > b.1)
            {
                best = Some((s, seq, rec));
            }
        }
        match best {
            Some((s, seq, rec)) => {
                self.newest = Some((s, seq));
                Ok(Some(rec))
            }
            None => {
                self.newest = None;
                // The first save writes both sectors, so once one save finished a valid copy
                // always exists: a blank sector beside an unreadable one is a torn first save.
                if self.sector_is_erased(self.first)? || self.sector_is_erased(self.first + 1)? {
                    Ok(None)
                } else {
                    let g = self.flash.geometry();
                    Err(Error::StoreCorrupt {
                        what: format!(
                            "flash sectors {} and {} at {:#x}",
                            self.first,
                            self.first + 1,
                            u64::from(self.first) * u64::from(g.sector_size)
                        ),
                    })
                }
            }
        }
    }

    fn save(&mut self, record: &[u8]) -> Result<()> {
        if record.len() > self.capacity() {
            return Err(Error::TooLarge {
                reason: "record larger than a flash sector",
            });
        }
        let first = self.first;
        let other = |s: u32| if s == first { first + 1 } else { first };
        let (target, seq, both) = match self.newest {
            Some((s, seq)) if seq < u64::MAX => (other(s), seq + 1, false),
            // Sequence exhausted (only a corrupt or hostile frame gets there): restart at 1 in
            // the older sector, then the newest one, as a first save does.
            Some((s, _)) => (other(s), 1, true),
            None => (first, 1, true),
        };
        let g = self.flash.geometry();
        let mut frame = encode_frame(seq, record)?;
        let align = g.write_align as usize;
        frame.resize(frame.len().div_ceil(align) * align, g.erased);
        self.flash.erase(target)?;
        self.flash.program(target * g.sector_size, &frame)?;
        if both {
            // The same record again (next sequence) in the other sector, so a later torn write
            // always leaves a valid copy (see `load`).
            let second = other(target);
            let mut frame = encode_frame(seq + 1, record)?;
            frame.resize(frame.len().div_ceil(align) * align, g.erased);
            self.flash.erase(second)?;
            self.flash.program(second * g.sector_size, &frame)?;
            self.newest = Some((second, seq + 1));
            return Ok(());
        }
        self.newest = Some((target, seq));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{PowerRail, SimFlash};
    use proptest::prelude::*;

    fn geometry(align: u32, erased: u8) -> Geometry {
        Geometry {
            sector_size: 256,
            sector_count: 2,
            write_align: align,
            erased,
        }
    }

    #[test]
    fn newest_of_two_and_torn_write_keeps_the_previous() {
        for align in [1, 2, 4, 8] {
            for erased in [0x00, 0xFF] {
                let rail = PowerRail::new();
                let f = SimFlash::new(rail.clone(), geometry(align, erased));
                let mut s = FlashStore::new(f.clone(), 0).unwrap();
                assert_eq!(s.load().unwrap(), None);
                s.save(b"one").unwrap();
                s.save(b"two").unwrap();
                rail.cut_at(rail.ops() + 2); // the program of the next save
                assert!(matches!(s.save(b"three"), Err(Error::PowerLost)));
                rail.restore();
                let mut again = FlashStore::new(f, 0).unwrap();
                assert_eq!(again.load().unwrap().as_deref(), Some(&b"two"[..]));
                again.save(b"four").unwrap();
                assert_eq!(again.load().unwrap().as_deref(), Some(&b"four"[..]));
            }
        }
    }

    #[test]
    fn too_large_and_bad_geometry() {
        let f = SimFlash::new(PowerRail::new(), geometry(3, 0xFF));
        assert!(FlashStore::new(f, 0).is_err());
        let f = SimFlash::new(PowerRail::new(), geometry(4, 0xFF));
        assert!(FlashStore::new(f.clone(), 1).is_err(), "needs two sectors");
        let mut s = FlashStore::new(f, 0).unwrap();
        assert!(matches!(s.save(&[0; 300]), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn a_frame_with_the_last_sequence_does_not_hide_later_saves() {
        let f = SimFlash::new(PowerRail::new(), geometry(1, 0xFF));
        let mut w = f.clone();
        w.program(0, &encode_frame(u64::MAX, b"old").unwrap())
            .unwrap();
        let mut s = FlashStore::new(f.clone(), 0).unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"old"[..]));
        s.save(b"new").unwrap();
        assert_eq!(s.load().unwrap().as_deref(), Some(&b"new"[..]));
        s.save(b"newer").unwrap();
        let mut again = FlashStore::new(f, 0).unwrap();
        assert_eq!(again.load().unwrap().as_deref(), Some(&b"newer"[..]));
    }

    #[test]
    fn write_unit_as_large_as_the_sector_is_refused() {
        // Found by fuzz/agent_flash_store: capacity() underflowed (a panic in debug builds).
        let g = Geometry {
            sector_size: 64,
            sector_count: 2,
            write_align: 64,
            erased: 0xFF,
        };
        let f = SimFlash::new(PowerRail::new(), g);
        assert!(matches!(
            FlashStore::new(f, 0),
            Err(Error::Flash {
                reason: "sector too small",
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_flash_contents_never_panic(a in proptest::collection::vec(any::<u8>(), 512)) {
            let f = SimFlash::new(PowerRail::new(), geometry(1, 0xFF));
            let mut w = f.clone();
            w.erase(0).unwrap();
            w.erase(1).unwrap();
            // Program byte by byte where the pattern differs from erased.
            for (i, b) in a.iter().enumerate() {
                if *b != 0xFF {
                    w.program(i as u32, &[*b]).unwrap();
                }
            }
            let _ = FlashStore::new(f, 0).unwrap().load();
        }
    }
}
