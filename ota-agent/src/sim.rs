//! A simulated device: flash, A/B slots and a bootloader that follows the [`BootControl`]
//! rules, all on one [`PowerRail`] that can cut the power at any write.
//!
//! Every erase, program, slot write and pointer switch is one numbered operation on the rail.
//! When the power is cut at operation `i`, that operation is torn (an erase or a write does its
//! first half) and every later operation fails with [`Error::PowerLost`] until
//! [`PowerRail::restore`]: then the device reboots ([`SimBoot::power_on`]) with whatever reached
//! the media.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ota_manifest::Slot;

use crate::boot::{BootControl, index};
use crate::error::{Error, Result};
use crate::flash::{Flash, FlashStore, Geometry};
use crate::store::Store;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct Rail {
    ops: u64,
    cuts: BTreeSet<u64>,
    dead: bool,
}

/// The simulated power supply, shared by every simulated medium (clones share it).
#[derive(Debug, Clone, Default)]
pub struct PowerRail(Arc<Mutex<Rail>>);

enum Tick {
    Whole,
    Torn,
}

impl PowerRail {
    /// A rail that never cuts.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// Cuts the power at write operation number `op` (1-based, counted since the rail was made).
    pub fn cut_at(&self, op: u64) {
        lock(&self.0).cuts.insert(op);
    }
    /// Write operations done (or torn) so far.
    #[must_use]
    pub fn ops(&self) -> u64 {
        lock(&self.0).ops
    }
    /// Whether the power is off.
    #[must_use]
    pub fn is_dead(&self) -> bool {
        lock(&self.0).dead
    }
    /// Powers the device again (the caller then reboots it).
    pub fn restore(&self) {
        lock(&self.0).dead = false;
    }
    fn check(&self) -> Result<()> {
        if lock(&self.0).dead {
            Err(Error::PowerLost)
        } else {
            Ok(())
        }
    }
    fn tick(&self) -> Result<Tick> {
        let mut r = lock(&self.0);
        if r.dead {
            return Err(Error::PowerLost);
        }
        r.ops += 1;
        let n = r.ops;
        if r.cuts.remove(&n) {
            r.dead = true;
            Ok(Tick::Torn)
        } else {
            Ok(Tick::Whole)
        }
    }
}

/// Simulated NOR-like flash: program only over erased bytes, configurable alignment and erased
/// value. Clones share the memory.
#[derive(Debug, Clone)]
pub struct SimFlash {
    rail: PowerRail,
    geometry: Geometry,
    mem: Arc<Mutex<Vec<u8>>>,
    writes: Arc<AtomicU64>,
}

impl SimFlash {
    /// A fully erased flash of `geometry` on `rail`.
    #[must_use]
    pub fn new(rail: PowerRail, geometry: Geometry) -> Self {
        let len = geometry.sector_size as usize * geometry.sector_count as usize;
        SimFlash {
            rail,
            geometry,
            mem: Arc::new(Mutex::new(vec![geometry.erased; len])),
            writes: Arc::new(AtomicU64::new(0)),
        }
    }
    /// Erase and program operations done on this flash (torn ones included).
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
    /// Flips the bits of byte `addr` (for tests of corrupt media).
    pub fn corrupt(&self, addr: usize) {
        if let Some(b) = lock(&self.mem).get_mut(addr) {
            *b ^= 0x5A;
        }
    }
    fn range(&self, op: &'static str, addr: u32, len: usize) -> Result<std::ops::Range<usize>> {
        let start = addr as usize;
        let end = start.checked_add(len).ok_or(Error::Flash {
            op,
            addr: u64::from(addr),
            reason: "range overflows",
        })?;
        if end > lock(&self.mem).len() {
            return Err(Error::Flash {
                op,
                addr: u64::from(addr),
                reason: "outside the device",
            });
        }
        Ok(start..end)
    }
}

impl Flash for SimFlash {
    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn read(&mut self, addr: u32, buf: &mut [u8]) -> Result<()> {
        self.rail.check()?;
        let r = self.range("read", addr, buf.len())?;
        buf.copy_from_slice(&lock(&self.mem)[r]);
        Ok(())
    }

    fn erase(&mut self, sector: u32) -> Result<()> {
        let g = self.geometry;
        if sector >= g.sector_count {
            return Err(Error::Flash {
                op: "erase",
                addr: u64::from(sector) * u64::from(g.sector_size),
                reason: "outside the device",
            });
        }
        let start = sector as usize * g.sector_size as usize;
        let mut end = start + g.sector_size as usize;
        let tick = self.rail.tick()?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        if matches!(tick, Tick::Torn) {
            end = start + g.sector_size as usize / 2;
        }
        lock(&self.mem)[start..end].fill(g.erased);
        match tick {
            Tick::Whole => Ok(()),
            Tick::Torn => Err(Error::PowerLost),
        }
    }

    fn program(&mut self, addr: u32, data: &[u8]) -> Result<()> {
        let g = self.geometry;
        let align = g.write_align as usize;
        if !(addr as usize).is_multiple_of(align) || !data.len().is_multiple_of(align) {
            return Err(Error::Flash {
                op: "program",
                addr: u64::from(addr),
                reason: "not aligned to the write unit",
            });
        }
        let r = self.range("program", addr, data.len())?;
        if lock(&self.mem)[r.clone()].iter().any(|&b| b != g.erased) {
            return Err(Error::Flash {
                op: "program",
                addr: u64::from(addr),
                reason: "programming over bytes that are not erased",
            });
        }
        let tick = self.rail.tick()?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let n = match tick {
            Tick::Whole => data.len(),
            Tick::Torn => data.len() / 2 / align * align,
        };
        lock(&self.mem)[r.start..r.start + n].copy_from_slice(&data[..n]);
        match tick {
            Tick::Whole => Ok(()),
            Tick::Torn => Err(Error::PowerLost),
        }
    }
}

/// Two firmware slots (or the two sides of an A/B volume) as plain byte arrays on the rail, plus
/// the "current side" pointer an A/B directory swap flips. Clones share the contents.
#[derive(Debug, Clone)]
pub struct SimSlots {
    rail: PowerRail,
    data: Arc<Mutex<[Vec<u8>; 2]>>,
    current: Arc<Mutex<Slot>>,
    writes: Arc<AtomicU64>,
}

impl SimSlots {
    /// Two slots of `size` bytes filled with `fill`; slot A is current.
    #[must_use]
    pub fn new(rail: PowerRail, size: usize, fill: u8) -> Self {
        SimSlots {
            rail,
            data: Arc::new(Mutex::new([vec![fill; size], vec![fill; size]])),
            current: Arc::new(Mutex::new(Slot::A)),
            writes: Arc::new(AtomicU64::new(0)),
        }
    }
    /// Writes and side switches done on these slots (torn ones included).
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
    /// Puts `image` at the start of `slot` without using the rail (factory programming).
    pub fn factory(&self, slot: Slot, image: &[u8]) {
        let mut d = lock(&self.data);
        let s = &mut d[index(slot)];
        let n = image.len().min(s.len());
        s[..n].copy_from_slice(&image[..n]);
    }
    /// A copy of the first `len` bytes of `slot`.
    #[must_use]
    pub fn snapshot(&self, slot: Slot, len: usize) -> Vec<u8> {
        let d = lock(&self.data);
        let s = &d[index(slot)];
        s[..len.min(s.len())].to_vec()
    }
    /// Flips the bits of one byte (a corrupt medium, for tests).
    pub fn corrupt(&self, slot: Slot, offset: usize) {
        if let Some(b) = lock(&self.data)[index(slot)].get_mut(offset) {
            *b ^= 0x5A;
        }
    }
    /// Slot size in bytes.
    #[must_use]
    pub fn slot_size(&self) -> u64 {
        lock(&self.data)[0].len() as u64
    }
    /// Reads from `slot`.
    ///
    /// # Errors
    /// [`Error::PowerLost`], or [`Error::Slot`] outside the slot.
    pub fn read(&self, slot: Slot, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.rail.check()?;
        let d = lock(&self.data);
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| d[index(slot)].get(o..o.checked_add(buf.len())?))
            .ok_or(Error::Slot {
                slot,
                reason: "read outside the slot",
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    /// Writes into `slot` (one operation on the rail; torn: the first half lands).
    ///
    /// # Errors
    /// [`Error::PowerLost`], or [`Error::Slot`] outside the slot.
    pub fn write(&self, slot: Slot, offset: u64, data: &[u8]) -> Result<()> {
        let start = usize::try_from(offset).map_err(|_| Error::Slot {
            slot,
            reason: "write outside the slot",
        })?;
        if start
            .checked_add(data.len())
            .is_none_or(|e| e > lock(&self.data)[index(slot)].len())
        {
            return Err(Error::Slot {
                slot,
                reason: "image larger than the slot",
            });
        }
        let tick = self.rail.tick()?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        let n = match tick {
            Tick::Whole => data.len(),
            Tick::Torn => data.len() / 2,
        };
        lock(&self.data)[index(slot)][start..start + n].copy_from_slice(&data[..n]);
        match tick {
            Tick::Whole => Ok(()),
            Tick::Torn => Err(Error::PowerLost),
        }
    }
    /// The current side.
    ///
    /// # Errors
    /// [`Error::PowerLost`].
    pub fn current(&self) -> Result<Slot> {
        self.rail.check()?;
        Ok(*lock(&self.current))
    }
    /// Switches the current side (one atomic operation on the rail).
    ///
    /// # Errors
    /// [`Error::PowerLost`].
    pub fn set_current(&self, slot: Slot) -> Result<()> {
        if *lock(&self.current) == slot {
            return self.rail.check();
        }
        let tick = self.rail.tick()?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        match tick {
            // A pointer is one word: a torn switch either happened or not; say it did not.
            Tick::Torn => Err(Error::PowerLost),
            Tick::Whole => {
                *lock(&self.current) = slot;
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SlotMeta {
    tries: u8,
    max: u8,
    successful: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Meta {
    primary: Slot,
    slots: [SlotMeta; 2],
}

impl Meta {
    fn factory() -> Self {
        Meta {
            primary: Slot::A,
            slots: [
                SlotMeta {
                    tries: 0,
                    max: 0,
                    successful: true,
                },
                SlotMeta {
                    tries: 0,
                    max: 0,
                    successful: false,
                },
            ],
        }
    }
    fn encode(&self) -> [u8; 7] {
        let s = &self.slots;
        [
            index(self.primary) as u8,
            s[0].tries,
            s[0].max,
            u8::from(s[0].successful),
            s[1].tries,
            s[1].max,
            u8::from(s[1].successful),
        ]
    }
    fn decode(b: &[u8]) -> Result<Self> {
        let bad = |offset, reason| Error::Record {
            field: "boot metadata",
            offset,
            reason,
        };
        if b.len() != 7 {
            return Err(bad(0, "not 7 bytes"));
        }
        let flag = |o: usize| match b[o] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad(o, "flag not 0 or 1")),
        };
        Ok(Meta {
            primary: match b[0] {
                0 => Slot::A,
                1 => Slot::B,
                _ => return Err(bad(0, "primary not 0 or 1")),
            },
            slots: [
                SlotMeta {
                    tries: b[1],
                    max: b[2],
                    successful: flag(3)?,
                },
                SlotMeta {
                    tries: b[4],
                    max: b[5],
                    successful: flag(6)?,
                },
            ],
        })
    }
}

/// A simulated bootloader with Android-`boot_control`-like metadata (primary slot; per slot
/// tries left and a successful flag) kept in a two-sector [`FlashStore`] with sequence and CRC.
#[derive(Debug)]
pub struct SimBoot {
    store: FlashStore<SimFlash>,
    meta: Meta,
    booted: Slot,
}

impl SimBoot {
    /// The bootloader at power-on: reads its metadata (factory defaults when the flash is blank:
    /// slot A good and primary), picks a slot by the rules of [`BootControl`], spends a try when
    /// the slot is on trial (a metadata write), and "starts" it.
    ///
    /// # Errors
    /// [`Error::PowerLost`] (a cut during the try write: power on again),
    /// [`Error::NoBootableSlot`], or the store's errors.
    pub fn power_on(flash: SimFlash, first_sector: u32) -> Result<Self> {
        let mut store = FlashStore::new(flash, first_sector)?;
        let mut meta = match store.load()? {
            Some(b) => Meta::decode(&b)?,
            None => Meta::factory(),
        };
        let order = [meta.primary, meta.primary.other()];
        for slot in order {
            let m = &mut meta.slots[index(slot)];
            if m.successful {
                return Ok(SimBoot {
                    store,
                    meta,
                    booted: slot,
                });
            }
            if m.tries > 0 {
                m.tries -= 1;
                store.save(&meta.encode())?;
                return Ok(SimBoot {
                    store,
                    meta,
                    booted: slot,
                });
            }
        }
        Err(Error::NoBootableSlot)
    }

    /// The slot this power-on started.
    #[must_use]
    pub fn booted(&self) -> Slot {
        self.booted
    }

    /// Tries left on `slot`.
    #[must_use]
    pub fn tries_left(&self, slot: Slot) -> u8 {
        self.meta.slots[index(slot)].tries
    }

    /// Whether `slot` is marked successful.
    #[must_use]
    pub fn is_successful(&self, slot: Slot) -> bool {
        self.meta.slots[index(slot)].successful
    }

    fn write(&mut self, meta: Meta) -> Result<()> {
        if meta == self.meta {
            return Ok(());
        }
        self.store.save(&meta.encode())?;
        self.meta = meta;
        Ok(())
    }
}

impl BootControl for SimBoot {
    fn booted_slot(&mut self) -> Result<Slot> {
        Ok(self.booted)
    }
    fn primary_slot(&mut self) -> Result<Slot> {
        Ok(self.meta.primary)
    }
    fn set_pending(&mut self, slot: Slot, tries: u8) -> Result<()> {
        let mut m = self.meta;
        m.primary = slot;
        m.slots[index(slot)] = SlotMeta {
            tries,
            max: tries,
            successful: false,
        };
        self.write(m)
    }
    fn mark_successful(&mut self, slot: Slot) -> Result<()> {
        let mut m = self.meta;
        m.slots[index(slot)].successful = true;
        self.write(m)
    }
    fn mark_unbootable(&mut self, slot: Slot) -> Result<()> {
        let mut m = self.meta;
        m.slots[index(slot)].tries = 0;
        m.slots[index(slot)].successful = false;
        if m.primary == slot {
            m.primary = slot.other();
        }
        self.write(m)
    }
    fn boot_attempts(&mut self, slot: Slot) -> Result<u8> {
        let m = self.meta.slots[index(slot)];
        Ok(m.max.saturating_sub(m.tries))
    }
}
