//! Installers: where each component's bytes are staged and how it is switched, confirmed and
//! rolled back. Firmware goes to the inactive A/B slot (the boot control switches it); other
//! layers go to the inactive side of an A/B volume or directory pair and switch with one atomic
//! pointer flip.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ota_manifest::{Layer, Slot};

use crate::error::{Error, Result, io};
use crate::record::Target;
use crate::sim::SimSlots;

/// One kind of component's install logic. Every method must be idempotent: after a power cut
/// the agent calls it again with the same arguments.
pub trait Installer {
    /// Whether this installer takes component `id` of `layer`.
    fn accepts(&self, id: &str, layer: Layer) -> bool;
    /// Picks the side to stage into for a new update (`booted`: the running firmware slot) and
    /// makes room for `size` bytes.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when `size` does not fit, or a device error.
    fn prepare(&mut self, id: &str, size: u64, booted: Slot) -> Result<Slot>;
    /// Reads the installed image (the delta source): the side that is not `t.slot`.
    ///
    /// # Errors
    /// A device error.
    fn read_installed(&mut self, t: &Target, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// Writes staged bytes.
    ///
    /// # Errors
    /// A device error.
    fn write(&mut self, t: &Target, offset: u64, data: &[u8]) -> Result<()>;
    /// Reads staged bytes back.
    ///
    /// # Errors
    /// A device error.
    fn read(&mut self, t: &Target, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// Makes every byte written so far durable.
    ///
    /// # Errors
    /// A device error.
    fn sync(&mut self, t: &Target) -> Result<()>;
    /// Switches to the staged side (no-op for firmware: the boot control switches it).
    ///
    /// # Errors
    /// A device error.
    fn activate(&mut self, t: &Target) -> Result<()>;
    /// The update is confirmed.
    ///
    /// # Errors
    /// A device error.
    fn confirm(&mut self, t: &Target) -> Result<()>;
    /// Switches back to the side that was running before.
    ///
    /// # Errors
    /// A device error.
    fn rollback(&mut self, t: &Target) -> Result<()>;
}

/// Two equally sized slots addressed by [`Slot`].
pub trait SlotDevice {
    /// Bytes per slot.
    fn capacity(&self) -> u64;
    /// Reads from a slot.
    ///
    /// # Errors
    /// A device error.
    fn read(&mut self, slot: Slot, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// Writes into a slot.
    ///
    /// # Errors
    /// A device error.
    fn write(&mut self, slot: Slot, offset: u64, data: &[u8]) -> Result<()>;
    /// Makes the slot's writes durable.
    ///
    /// # Errors
    /// A device error.
    fn sync(&mut self, slot: Slot) -> Result<()>;
    /// The current side, for volumes that switch themselves (`None`: the boot control decides).
    ///
    /// # Errors
    /// A device error.
    fn current(&mut self) -> Result<Option<Slot>> {
        Ok(None)
    }
    /// Switches the current side atomically.
    ///
    /// # Errors
    /// A device error, or [`Error::Slot`] when the device cannot switch itself.
    fn set_current(&mut self, slot: Slot) -> Result<()> {
        Err(Error::Slot {
            slot,
            reason: "this device does not switch itself",
        })
    }
}

impl SlotDevice for SimSlots {
    fn capacity(&self) -> u64 {
        self.slot_size()
    }
    fn read(&mut self, slot: Slot, offset: u64, buf: &mut [u8]) -> Result<()> {
        SimSlots::read(self, slot, offset, buf)
    }
    fn write(&mut self, slot: Slot, offset: u64, data: &[u8]) -> Result<()> {
        SimSlots::write(self, slot, offset, data)
    }
    fn sync(&mut self, _slot: Slot) -> Result<()> {
        Ok(())
    }
    fn current(&mut self) -> Result<Option<Slot>> {
        SimSlots::current(self).map(Some)
    }
    fn set_current(&mut self, slot: Slot) -> Result<()> {
        SimSlots::set_current(self, slot)
    }
}

/// Two partitions (or files) of a fixed size, e.g. `/dev/mmcblk0p2` and `/dev/mmcblk0p3`.
#[derive(Debug)]
pub struct FileSlots {
    paths: [PathBuf; 2],
    capacity: u64,
}

impl FileSlots {
    /// Slots at `a` and `b`, each `capacity` bytes.
    #[must_use]
    pub fn new(a: impl Into<PathBuf>, b: impl Into<PathBuf>, capacity: u64) -> Self {
        FileSlots {
            paths: [a.into(), b.into()],
            capacity,
        }
    }
    fn path(&self, slot: Slot) -> &Path {
        &self.paths[crate::boot::index(slot)]
    }
}

fn check_range(slot: Slot, offset: u64, len: usize, capacity: u64) -> Result<()> {
    if offset
        .checked_add(len as u64)
        .is_none_or(|end| end > capacity)
    {
        return Err(Error::Slot {
            slot,
            reason: "outside the slot",
        });
    }
    Ok(())
}

impl SlotDevice for FileSlots {
    fn capacity(&self) -> u64 {
        self.capacity
    }
    fn read(&mut self, slot: Slot, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(slot, offset, buf.len(), self.capacity)?;
        let p = self.path(slot);
        let mut f = File::open(p).map_err(|e| io("open", p, e))?;
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| f.read_exact(buf))
            .map_err(|e| io("read", p, e))
    }
    fn write(&mut self, slot: Slot, offset: u64, data: &[u8]) -> Result<()> {
        check_range(slot, offset, data.len(), self.capacity)?;
        let p = self.path(slot);
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(p)
            .map_err(|e| io("open", p, e))?;
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| f.write_all(data))
            .map_err(|e| io("write", p, e))
    }
    fn sync(&mut self, slot: Slot) -> Result<()> {
        let p = self.path(slot);
        OpenOptions::new()
            .write(true)
            .open(p)
            .and_then(|f| f.sync_data())
            .map_err(|e| io("fsync", p, e))
    }
}

/// An installer over a [`SlotDevice`]: firmware (the boot control switches slots) or an A/B
/// volume for one component (the device's current-side pointer switches).
#[derive(Debug)]
pub struct SlotInstaller<D> {
    dev: D,
    id: Option<String>,
}

impl<D: SlotDevice> SlotInstaller<D> {
    /// Takes every firmware-layer component into the slot that is not booted.
    pub fn firmware(dev: D) -> Self {
        SlotInstaller { dev, id: None }
    }
    /// Takes component `id` into the side of `dev` that is not current; activation flips it.
    pub fn volume(dev: D, id: impl Into<String>) -> Self {
        SlotInstaller {
            dev,
            id: Some(id.into()),
        }
    }
    /// The device.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.dev
    }
}

impl<D: SlotDevice> Installer for SlotInstaller<D> {
    fn accepts(&self, id: &str, layer: Layer) -> bool {
        match &self.id {
            None => layer == Layer::Firmware,
            Some(mine) => mine == id && layer != Layer::Firmware,
        }
    }
    fn prepare(&mut self, _id: &str, size: u64, booted: Slot) -> Result<Slot> {
        if size > self.dev.capacity() {
            return Err(Error::TooLarge {
                reason: "image larger than the slot",
            });
        }
        Ok(match self.id {
            None => booted.other(),
            Some(_) => self.dev.current()?.unwrap_or(booted).other(),
        })
    }
    fn read_installed(&mut self, t: &Target, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.dev.read(t.slot.other(), offset, buf)
    }
    fn write(&mut self, t: &Target, offset: u64, data: &[u8]) -> Result<()> {
        self.dev.write(t.slot, offset, data)
    }
    fn read(&mut self, t: &Target, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.dev.read(t.slot, offset, buf)
    }
    fn sync(&mut self, t: &Target) -> Result<()> {
        self.dev.sync(t.slot)
    }
    fn activate(&mut self, t: &Target) -> Result<()> {
        match self.id {
            None => Ok(()),
            Some(_) => self.dev.set_current(t.slot),
        }
    }
    fn confirm(&mut self, _t: &Target) -> Result<()> {
        Ok(())
    }
    fn rollback(&mut self, t: &Target) -> Result<()> {
        match self.id {
            None => Ok(()),
            Some(_) => self.dev.set_current(t.slot.other()),
        }
    }
}

/// An A/B directory pair for one component: `BASE/a/ID`, `BASE/b/ID` and the symlink
/// `BASE/current` naming the live side. Activation writes `current.new` and renames it over
/// `current` (atomic), then fsyncs `BASE`.
#[cfg(unix)]
#[derive(Debug)]
pub struct DirSwapInstaller {
    base: PathBuf,
    id: String,
}

#[cfg(unix)]
impl DirSwapInstaller {
    /// The pair under `base` for component `id`.
    #[must_use]
    pub fn new(base: impl Into<PathBuf>, id: impl Into<String>) -> Self {
        DirSwapInstaller {
            base: base.into(),
            id: id.into(),
        }
    }

    fn side(slot: Slot) -> &'static str {
        match slot {
            Slot::A => "a",
            Slot::B => "b",
        }
    }

    fn file(&self, slot: Slot) -> PathBuf {
        self.base.join(Self::side(slot)).join(&self.id)
    }

    /// The side `current` points at (`a` when the link does not exist yet).
    ///
    /// # Errors
    /// An I/O error, or a link that names neither side.
    pub fn current(&self) -> Result<Slot> {
        let link = self.base.join("current");
        match fs::read_link(&link) {
            Ok(t) if t == Path::new("a") => Ok(Slot::A),
            Ok(t) if t == Path::new("b") => Ok(Slot::B),
            Ok(_) => Err(Error::Slot {
                slot: Slot::A,
                reason: "`current` names neither `a` nor `b`",
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Slot::A),
            Err(e) => Err(io("read link", &link, e)),
        }
    }

    fn point(&self, slot: Slot) -> Result<()> {
        if fs::read_link(self.base.join("current")).ok().as_deref()
            == Some(Path::new(Self::side(slot)))
        {
            return Ok(());
        }
        let tmp = self.base.join("current.new");
        let _ = fs::remove_file(&tmp);
        std::os::unix::fs::symlink(Self::side(slot), &tmp).map_err(|e| io("symlink", &tmp, e))?;
        let link = self.base.join("current");
        fs::rename(&tmp, &link).map_err(|e| io("rename", &link, e))?;
        File::open(&self.base)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("fsync directory", &self.base, e))
    }
}

#[cfg(unix)]
impl Installer for DirSwapInstaller {
    fn accepts(&self, id: &str, layer: Layer) -> bool {
        id == self.id && layer != Layer::Firmware
    }
    fn prepare(&mut self, _id: &str, _size: u64, _booted: Slot) -> Result<Slot> {
        for s in ["a", "b"] {
            let d = self.base.join(s);
            fs::create_dir_all(&d).map_err(|e| io("create directory", &d, e))?;
        }
        let staging = self.current()?.other();
        let f = self.file(staging);
        File::create(&f)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("create", &f, e))?;
        Ok(staging)
    }
    fn read_installed(&mut self, t: &Target, offset: u64, buf: &mut [u8]) -> Result<()> {
        read_at(&self.file(t.slot.other()), offset, buf)
    }
    fn write(&mut self, t: &Target, offset: u64, data: &[u8]) -> Result<()> {
        let p = self.file(t.slot);
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&p)
            .map_err(|e| io("open", &p, e))?;
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| f.write_all(data))
            .map_err(|e| io("write", &p, e))
    }
    fn read(&mut self, t: &Target, offset: u64, buf: &mut [u8]) -> Result<()> {
        read_at(&self.file(t.slot), offset, buf)
    }
    fn sync(&mut self, t: &Target) -> Result<()> {
        let p = self.file(t.slot);
        let f = OpenOptions::new()
            .write(true)
            .open(&p)
            .map_err(|e| io("open", &p, e))?;
        // Anything past the image (a longer earlier attempt) is cut off here.
        let len = f.metadata().map_err(|e| io("stat", &p, e))?.len();
        if len > t.size {
            f.set_len(t.size).map_err(|e| io("truncate", &p, e))?;
        }
        f.sync_all().map_err(|e| io("fsync", &p, e))
    }
    fn activate(&mut self, t: &Target) -> Result<()> {
        self.point(t.slot)
    }
    fn confirm(&mut self, _t: &Target) -> Result<()> {
        Ok(())
    }
    fn rollback(&mut self, t: &Target) -> Result<()> {
        self.point(t.slot.other())
    }
}

#[cfg(unix)]
fn read_at(p: &Path, offset: u64, buf: &mut [u8]) -> Result<()> {
    let mut f = File::open(p).map_err(|e| io("open", p, e))?;
    f.seek(SeekFrom::Start(offset))
        .and_then(|_| f.read_exact(buf))
        .map_err(|e| io("read", p, e))
}
