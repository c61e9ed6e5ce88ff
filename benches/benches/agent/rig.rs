//! The simulated device the agent benchmarks run on: counting wrappers around the store, the
//! boot control and the slots, the backends under test, and a driver that boots, resumes and
//! reboots until the update is at rest.

use std::cell::Cell;
use std::rc::Rc;

use ota_agent::sim::{PowerRail, SimBoot, SimFlash, SimSlots};
use ota_agent::{
    Agent, BootControl, Config, Env, EnvLayout, Error, FileStore, FlashStore, Geometry, Installer,
    Outcome, Progress, Release, SlotDevice, SlotInstaller, Store, UbootEnv,
};
use ota_manifest::Slot;

use crate::fixture::{Check, Fixture, Frozen, MemFetch};

/// Frame overhead of a store record (magic, sequence, length, CRC: STATES.md).
pub const FRAME_OVERHEAD: u64 = 20;

/// Counts every record save and its frame bytes.
pub struct CountingStore {
    pub inner: Box<dyn Store>,
    pub saves: Rc<Cell<u64>>,
    pub bytes: Rc<Cell<u64>>,
}

impl Store for CountingStore {
    fn load(&mut self) -> ota_agent::Result<Option<Vec<u8>>> {
        self.inner.load()
    }
    fn save(&mut self, record: &[u8]) -> ota_agent::Result<()> {
        self.inner.save(record)?;
        self.saves.set(self.saves.get() + 1);
        self.bytes
            .set(self.bytes.get() + record.len() as u64 + FRAME_OVERHEAD);
        Ok(())
    }
}

/// Counts the slot bytes written.
pub struct CountingSlots {
    pub inner: SimSlots,
    pub bytes: Rc<Cell<u64>>,
}

impl SlotDevice for CountingSlots {
    fn capacity(&self) -> u64 {
        self.inner.capacity()
    }
    fn read(&mut self, slot: Slot, offset: u64, buf: &mut [u8]) -> ota_agent::Result<()> {
        SlotDevice::read(&mut self.inner, slot, offset, buf)
    }
    fn write(&mut self, slot: Slot, offset: u64, data: &[u8]) -> ota_agent::Result<()> {
        SlotDevice::write(&mut self.inner, slot, offset, data)?;
        self.bytes.set(self.bytes.get() + data.len() as u64);
        Ok(())
    }
    fn sync(&mut self, slot: Slot) -> ota_agent::Result<()> {
        SlotDevice::sync(&mut self.inner, slot)
    }
}

/// A U-Boot environment that counts the writes that changed it (one copy of `size` bytes
/// each: the redundant environment writes the inactive copy).
pub struct CountingEnv {
    pub env: UbootEnv,
    pub writes: Rc<Cell<u64>>,
}

impl CountingEnv {
    fn count<T>(
        &mut self,
        f: impl FnOnce(&mut UbootEnv) -> ota_agent::Result<T>,
    ) -> ota_agent::Result<T> {
        let before = self.env.vars().clone();
        let r = f(&mut self.env)?;
        if *self.env.vars() != before {
            self.writes.set(self.writes.get() + 1);
        }
        Ok(r)
    }
}

impl BootControl for CountingEnv {
    fn booted_slot(&mut self) -> ota_agent::Result<Slot> {
        self.env.booted_slot()
    }
    fn primary_slot(&mut self) -> ota_agent::Result<Slot> {
        self.env.primary_slot()
    }
    fn set_pending(&mut self, slot: Slot, tries: u8) -> ota_agent::Result<()> {
        self.count(|e| e.set_pending(slot, tries))
    }
    fn mark_successful(&mut self, slot: Slot) -> ota_agent::Result<()> {
        self.count(|e| e.mark_successful(slot))
    }
    fn mark_unbootable(&mut self, slot: Slot) -> ota_agent::Result<()> {
        self.count(|e| e.mark_unbootable(slot))
    }
    fn boot_attempts(&mut self, slot: Slot) -> ota_agent::Result<u8> {
        self.env.boot_attempts(slot)
    }
}

/// What one update wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Writes {
    pub store_saves: u64,
    pub store_bytes: u64,
    /// Erase + program operations of the record store's flash (FlashStore only).
    pub store_flash_ops: u64,
    /// Boot-control writes by the agent (metadata saves / environment writes).
    pub boot_writes: u64,
    pub boot_bytes: u64,
    /// Writes by the bootloader itself at power-on (spending a try).
    pub loader_writes: u64,
    pub loader_bytes: u64,
    /// Slot writes (image data) and their bytes.
    pub slot_ops: u64,
    pub slot_bytes: u64,
}

/// The record store under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Flash,
    File,
}

/// The boot control under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootKind {
    Sim,
    Uboot,
}

/// Store flash: two 4 KiB sectors, 8-byte writes, erased 0xFF. Boot metadata flash: two 256 B
/// sectors.
pub const STORE_FLASH: Geometry = Geometry {
    sector_size: 4096,
    sector_count: 2,
    write_align: 8,
    erased: 0xFF,
};
pub const META_FLASH: Geometry = Geometry {
    sector_size: 256,
    sector_count: 2,
    write_align: 8,
    erased: 0xFF,
};
/// The U-Boot environment: two redundant copies of 16 KiB (`/etc/fw_env.config` with two lines
/// of size 0x4000).
pub const ENV_SIZE: usize = 0x4000;

fn padded(frame: u64, align: u64) -> u64 {
    frame.div_ceil(align) * align
}

/// One simulated device with the chosen backends, on one power rail.
pub struct Rig {
    pub rail: PowerRail,
    pub store_kind: StoreKind,
    pub boot_kind: BootKind,
    pub store_flash: SimFlash,
    pub meta: SimFlash,
    pub fw: SimSlots,
    pub dir: tempfile::TempDir,
    pub layout: EnvLayout,
    saves: Rc<Cell<u64>>,
    bytes: Rc<Cell<u64>>,
    env_writes: Rc<Cell<u64>>,
    loader_writes: u64,
    loader_bytes: u64,
    slot_bytes: Rc<Cell<u64>>,
}

pub type Any = Agent<CountingStore, DynBoot>;

/// Either boot control behind one type.
pub struct DynBoot(Box<dyn BootControl>);

impl BootControl for DynBoot {
    fn booted_slot(&mut self) -> ota_agent::Result<Slot> {
        self.0.booted_slot()
    }
    fn primary_slot(&mut self) -> ota_agent::Result<Slot> {
        self.0.primary_slot()
    }
    fn set_pending(&mut self, slot: Slot, tries: u8) -> ota_agent::Result<()> {
        self.0.set_pending(slot, tries)
    }
    fn mark_successful(&mut self, slot: Slot) -> ota_agent::Result<()> {
        self.0.mark_successful(slot)
    }
    fn mark_unbootable(&mut self, slot: Slot) -> ota_agent::Result<()> {
        self.0.mark_unbootable(slot)
    }
    fn boot_attempts(&mut self, slot: Slot) -> ota_agent::Result<u8> {
        self.0.boot_attempts(slot)
    }
}

impl Rig {
    pub fn new(fx: &Fixture, store_kind: StoreKind, boot_kind: BootKind) -> Self {
        let rail = PowerRail::new();
        let fw = SimSlots::new(rail.clone(), fx.old.len().max(fx.new.len()), 0xFF);
        fw.factory(Slot::A, &fx.old);
        let dir = tempfile::tempdir().unwrap();
        let layout = EnvLayout {
            copies: vec![
                (dir.path().join("env"), 0),
                (dir.path().join("env"), ENV_SIZE as u64),
            ],
            size: ENV_SIZE,
        };
        if boot_kind == BootKind::Uboot {
            UbootEnv::create(&layout, &UbootEnv::rauc_defaults(3)).unwrap();
        }
        Rig {
            store_flash: SimFlash::new(rail.clone(), STORE_FLASH),
            meta: SimFlash::new(rail.clone(), META_FLASH),
            rail,
            store_kind,
            boot_kind,
            fw,
            dir,
            layout,
            saves: Rc::default(),
            bytes: Rc::default(),
            env_writes: Rc::default(),
            loader_writes: 0,
            loader_bytes: 0,
            slot_bytes: Rc::default(),
        }
    }

    /// A power-on: the bootloader picks a slot (spending a try on a slot on trial, or on every
    /// boot with RAUC's U-Boot script), then the agent opens its record.
    pub fn boot(&mut self, cfg: Config) -> Result<Any, Error> {
        let boot: Box<dyn BootControl> = match self.boot_kind {
            BootKind::Sim => {
                let before = self.meta.writes();
                let b = SimBoot::power_on(self.meta.clone(), 0);
                let ops = self.meta.writes() - before;
                // Each metadata save is one erase and one program of a padded 27-byte frame.
                self.loader_writes += ops / 2;
                self.loader_bytes += ops / 2 * padded(7 + FRAME_OVERHEAD, 8);
                Box::new(b?)
            }
            BootKind::Uboot => {
                // RAUC's boot script: the first slot of BOOT_ORDER with tries left, one try spent.
                let mut env = UbootEnv::open(self.layout.clone(), Slot::A, 3)?;
                let order: Vec<Slot> = env
                    .get("BOOT_ORDER")
                    .unwrap_or("A B")
                    .split_whitespace()
                    .map(|w| if w == "B" { Slot::B } else { Slot::A })
                    .collect();
                let var = |s| {
                    if s == Slot::A {
                        "BOOT_A_LEFT"
                    } else {
                        "BOOT_B_LEFT"
                    }
                };
                let left = |e: &UbootEnv, s| {
                    e.get(var(s))
                        .and_then(|v| v.parse::<u8>().ok())
                        .unwrap_or(0)
                };
                let pick = order
                    .iter()
                    .copied()
                    .find(|&s| left(&env, s) > 0)
                    .ok_or(Error::NoBootableSlot)?;
                let n = left(&env, pick) - 1;
                env.set(&[(var(pick), n.to_string())])?;
                self.loader_writes += 1;
                self.loader_bytes += ENV_SIZE as u64;
                Box::new(CountingEnv {
                    env: UbootEnv::open(self.layout.clone(), pick, 3)?,
                    writes: self.env_writes.clone(),
                })
            }
        };
        let inner: Box<dyn Store> = match self.store_kind {
            StoreKind::Flash => Box::new(FlashStore::new(self.store_flash.clone(), 0)?),
            StoreKind::File => Box::new(FileStore::new(self.dir.path().join("state"))),
        };
        let store = CountingStore {
            inner,
            saves: self.saves.clone(),
            bytes: self.bytes.clone(),
        };
        Agent::open(store, DynBoot(boot), cfg)
    }

    pub fn installer(&self) -> SlotInstaller<CountingSlots> {
        SlotInstaller::firmware(CountingSlots {
            inner: self.fw.clone(),
            bytes: self.slot_bytes.clone(),
        })
    }

    pub fn writes(&self) -> Writes {
        let store_flash_ops = match self.store_kind {
            StoreKind::Flash => self.store_flash.writes(),
            StoreKind::File => 0,
        };
        let (boot_writes, boot_bytes) = match self.boot_kind {
            BootKind::Sim => {
                let agent_ops = self.meta.writes() - 2 * self.loader_writes;
                (agent_ops / 2, agent_ops / 2 * padded(7 + FRAME_OVERHEAD, 8))
            }
            BootKind::Uboot => (
                self.env_writes.get(),
                self.env_writes.get() * ENV_SIZE as u64,
            ),
        };
        let store_bytes = match self.store_kind {
            // The frame padded to the write unit (the first save programs both sectors).
            StoreKind::Flash => {
                self.store_flash.writes() / 2
                    * padded(self.bytes.get() / self.saves.get().max(1), 8)
            }
            StoreKind::File => self.bytes.get(),
        };
        Writes {
            store_saves: self.saves.get(),
            store_bytes,
            store_flash_ops,
            boot_writes,
            boot_bytes,
            loader_writes: self.loader_writes,
            loader_bytes: self.loader_bytes,
            slot_ops: self.fw.writes(),
            slot_bytes: self.slot_bytes.get(),
        }
    }

    /// Zeroes the counters (after the factory boot).
    pub fn reset_counts(&mut self) -> (u64, u64, u64) {
        self.saves.set(0);
        self.bytes.set(0);
        self.env_writes.set(0);
        self.loader_writes = 0;
        self.loader_bytes = 0;
        self.slot_bytes.set(0);
        (
            self.store_flash.writes(),
            self.meta.writes(),
            self.fw.writes(),
        )
    }
}

/// Runs the update to rest: start, resume, reboot when asked. `Err(PowerLost)` when the power is
/// cut (the caller restores it and calls [`finish`]).
pub fn drive(
    fx: &Fixture,
    rel: &Release,
    rig: &mut Rig,
    healthy: bool,
    mut agent: Any,
    start: bool,
) -> Result<Outcome, Error> {
    let mut inst = rig.installer();
    let mut fetch = MemFetch {
        files: &fx.files,
        offline: false,
    };
    let mut check = Check(healthy);
    if start {
        let mut installers: [&mut dyn Installer; 1] = [&mut inst];
        agent.start(rel, &mut installers)?;
    }
    for _ in 0..64 {
        let mut installers: [&mut dyn Installer; 1] = [&mut inst];
        let mut env = Env {
            fetch: &mut fetch,
            installers: &mut installers,
            health: &mut check,
            clock: &Frozen,
            release: Some(rel),
        };
        match agent.resume(&mut env)? {
            Progress::AtRest(o) => return Ok(o),
            Progress::RebootRequired => {
                drop(agent);
                agent = rig.boot(Config::default())?;
            }
            other => panic!("bench update stopped: {other:?}"),
        }
    }
    panic!("the update did not finish in 64 steps")
}

/// A whole clean update from the factory state; the counts cover `start` to rest.
pub fn counted_update(
    fx: &Fixture,
    rel: &Release,
    store: StoreKind,
    boot: BootKind,
    healthy: bool,
) -> (Outcome, Writes) {
    let mut rig = Rig::new(fx, store, boot);
    let agent = rig.boot(Config::default()).unwrap();
    // The factory boot's own writes (RAUC: a try spent, mark-good at rest) are not the update's.
    let mut agent = agent;
    let mut inst = rig.installer();
    let mut fetch = MemFetch {
        files: &fx.files,
        offline: true,
    };
    {
        let mut installers: [&mut dyn Installer; 1] = [&mut inst];
        let mut env = Env {
            fetch: &mut fetch,
            installers: &mut installers,
            health: &mut Check(true),
            clock: &Frozen,
            release: None,
        };
        agent.resume(&mut env).unwrap();
    }
    let (s0, m0, f0) = rig.reset_counts();
    let o = drive(fx, rel, &mut rig, healthy, agent, true).unwrap();
    let mut w = rig.writes();
    // Counters of the shared flashes are cumulative: take the factory boot's off.
    w.store_flash_ops -= if store == StoreKind::Flash { s0 } else { 0 };
    if boot == BootKind::Sim {
        let agent_ops = rig.meta.writes() - m0 - 2 * w.loader_writes;
        w.boot_writes = agent_ops / 2;
        w.boot_bytes = agent_ops / 2 * padded(7 + FRAME_OVERHEAD, 8);
    }
    if store == StoreKind::Flash {
        w.store_bytes = w.store_flash_ops / 2 * padded(rig.bytes.get() / rig.saves.get().max(1), 8);
    }
    w.slot_ops -= f0;
    (o, w)
}
