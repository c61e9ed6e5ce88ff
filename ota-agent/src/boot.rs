//! The [`BootControl`] trait: what the agent asks of the bootloader.

use ota_manifest::Slot;

use crate::error::Result;

/// The bootloader's slot metadata, as the agent sees it. Every write method is one atomic write
/// in its backend (except a single-copy U-Boot environment: see [`crate::UbootEnv`]) and
/// idempotent (calling it twice leaves the same metadata).
///
/// Rules a backend follows (the simulated one enforces them, the U-Boot one writes the variables
/// a RAUC-style boot script reads):
/// - the bootloader tries the primary slot first, then the other;
/// - a slot marked successful boots without spending tries; a slot with tries left spends one on
///   every boot; a slot with no tries and not successful is skipped.
pub trait BootControl {
    /// The slot running now.
    ///
    /// # Errors
    /// A read error, or metadata that does not decode.
    fn booted_slot(&mut self) -> Result<Slot>;
    /// The slot the bootloader tries first on the next boot.
    ///
    /// # Errors
    /// As [`BootControl::booted_slot`].
    fn primary_slot(&mut self) -> Result<Slot>;
    /// Arms a trial: `slot` becomes primary, not successful, with `tries` boot attempts.
    ///
    /// # Errors
    /// A write error; the previous metadata then stands.
    fn set_pending(&mut self, slot: Slot, tries: u8) -> Result<()>;
    /// Marks `slot` good: it boots without spending tries from now on.
    ///
    /// # Errors
    /// A write error; the previous metadata then stands.
    fn mark_successful(&mut self, slot: Slot) -> Result<()>;
    /// Marks `slot` unbootable (no tries, not successful); the other slot becomes primary.
    ///
    /// # Errors
    /// A write error; the previous metadata then stands.
    fn mark_unbootable(&mut self, slot: Slot) -> Result<()>;
    /// Boot attempts spent on `slot` since it was last armed.
    ///
    /// # Errors
    /// As [`BootControl::booted_slot`].
    fn boot_attempts(&mut self, slot: Slot) -> Result<u8>;
}

impl<B: BootControl + ?Sized> BootControl for &mut B {
    fn booted_slot(&mut self) -> Result<Slot> {
        (**self).booted_slot()
    }
    fn primary_slot(&mut self) -> Result<Slot> {
        (**self).primary_slot()
    }
    fn set_pending(&mut self, slot: Slot, tries: u8) -> Result<()> {
        (**self).set_pending(slot, tries)
    }
    fn mark_successful(&mut self, slot: Slot) -> Result<()> {
        (**self).mark_successful(slot)
    }
    fn mark_unbootable(&mut self, slot: Slot) -> Result<()> {
        (**self).mark_unbootable(slot)
    }
    fn boot_attempts(&mut self, slot: Slot) -> Result<u8> {
        (**self).boot_attempts(slot)
    }
}

pub(crate) fn index(s: Slot) -> usize {
    match s {
        Slot::A => 0,
        Slot::B => 1,
    }
}
