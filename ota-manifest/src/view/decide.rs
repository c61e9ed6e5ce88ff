//! The install decision on a [`ManifestView`]: the std plan's rules (`Manifest::plan`) for the
//! fields the view exposes, without allocating.
//!
//! Not covered, because the view does not expose the fields: dependencies (the std plan refuses
//! cycles, self or duplicate dependencies, a shipped component at a non-matching version and
//! unmet dependencies on installed components) and the dependency part of the install order
//! (the view orders by the `order` field, then manifest position).

use super::error::{ViewProblem as P, ViewRefusal, ViewRule};
use super::version::VersionView;
use super::{ComponentView, DeltaView, ManifestView};

/// What a device reports about itself (the std `DeviceState`, borrowed). Time is passed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceView<'d> {
    /// The device's vendor id.
    pub vendor: &'d [u8],
    /// The device's class id.
    pub class: &'d [u8],
    /// Its hardware revision (`"2.1.0"`, or a free string that only exact matches accept).
    pub hardware: &'d str,
    /// The components it has installed.
    pub installed: &'d [InstalledView<'d>],
    /// Its security counter floor.
    pub security_counter: u64,
    /// The sequence number of the last release it accepted, `None` if none yet.
    pub last_sequence: Option<u64>,
    /// Its current time, seconds since the Unix epoch.
    pub now: u64,
}

/// A component installed on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstalledView<'d> {
    /// The component id.
    pub id: &'d str,
    /// Its version ([`VersionView::parse`]).
    pub version: VersionView<'d>,
    /// SHA-256 of its image.
    pub sha256: [u8; 32],
}

/// What to do for one component (the std `Action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewAction<'a> {
    /// The device already has exactly this image.
    Skip,
    /// Fetch the full image.
    Full {
        /// Image size.
        size: u64,
        /// Image SHA-256.
        sha256: &'a [u8; 32],
    },
    /// Fetch this delta: the installed image is its source.
    Delta(DeltaView<'a>),
}

fn refuse(component: Option<usize>, rule: ViewRule) -> ViewRefusal {
    ViewRefusal { component, rule }
}

fn invalid(component: Option<usize>, problem: P) -> ViewRefusal {
    refuse(component, ViewRule::Invalid(problem))
}

impl<'a> ManifestView<'a> {
    /// The std `Manifest::validate` checks on the exposed fields, in the same order: a hardware
    /// revision named, expiry after issue, unique component ids, chunk digests covering the
    /// image, delta sources usable (not from the target, not twice, patch not empty, source
    /// version in the upgrade path). Dependencies are not checked (module docs).
    ///
    /// # Errors
    /// The first [`ViewRefusal`] with [`ViewRule::Invalid`].
    pub fn check(&self) -> Result<(), ViewRefusal> {
        if self.hardware().len() == 0 && self.hardware_ranges().len() == 0 {
            return Err(invalid(None, P::NoHardware));
        }
        if let Some(expires_at) = self.expires_at
            && expires_at <= self.issued_at
        {
            let issued_at = self.issued_at;
            return Err(invalid(
                None,
                P::ExpiresBeforeIssued {
                    issued_at,
                    expires_at,
                },
            ));
        }
        for c in self.components() {
            if self.components().take(c.index).any(|e| e.id == c.id) {
                return Err(invalid(Some(c.index), P::DuplicateComponent));
            }
        }
        for c in self.components() {
            check_component(&c)?;
        }
        Ok(())
    }

    /// Decides whether `device` may install this release: [`ManifestView::check`], then the std
    /// plan's rules in its order (a component reported twice, vendor, class, hardware revision,
    /// expiry, sequence, security counter), then [`ManifestView::action`] for every component in
    /// [`ManifestView::install_order`]. `Ok` means every component has an action.
    ///
    /// # Errors
    /// The first [`ViewRefusal`].
    pub fn decide(&self, device: &DeviceView<'_>) -> Result<(), ViewRefusal> {
        self.check()?;
        for (j, i) in device.installed.iter().enumerate() {
            if device.installed[..j].iter().any(|e| e.id == i.id) {
                return Err(refuse(None, ViewRule::DuplicateInstalled { index: j }));
            }
        }
        if self.vendor != device.vendor {
            return Err(refuse(None, ViewRule::WrongVendor));
        }
        if !self.classes().any(|c| c == device.class) {
            return Err(refuse(None, ViewRule::WrongClass));
        }
        let by_range = VersionView::parse(device.hardware)
            .is_some_and(|v| self.hardware_ranges().any(|r| r.matches(&v)));
        if !by_range && !self.hardware().any(|h| h == device.hardware) {
            return Err(refuse(None, ViewRule::WrongHardware));
        }
        if let Some(expires_at) = self.expires_at
            && device.now >= expires_at
        {
            let now = device.now;
            return Err(refuse(None, ViewRule::Expired { expires_at, now }));
        }
        if let Some(accepted) = device.last_sequence
            && self.sequence <= accepted
        {
            let sequence = self.sequence;
            return Err(refuse(
                None,
                ViewRule::SequenceNotNewer { sequence, accepted },
            ));
        }
        if self.security_counter < device.security_counter {
            let (counter, floor) = (self.security_counter, device.security_counter);
            return Err(refuse(
                None,
                ViewRule::SecurityCounterBelowFloor { counter, floor },
            ));
        }
        for c in self.install_order() {
            self.action(&c, device)?;
        }
        Ok(())
    }

    /// What to do for `component` on `device` (call after [`ManifestView::decide`] accepted the
    /// release): skip it when the installed image is the target; otherwise the installed version
    /// must be in the upgrade path; a delta whose source is the installed image, else the full
    /// image. Firmware ([`ComponentView::needs_reboot`]) goes to the inactive slot.
    ///
    /// # Errors
    /// [`ViewRule::OutsideUpgradePath`] naming the component.
    pub fn action(
        &self,
        component: &ComponentView<'a>,
        device: &DeviceView<'_>,
    ) -> Result<ViewAction<'a>, ViewRefusal> {
        let current = device.installed.iter().find(|i| i.id == component.id);
        let Some(cur) = current else {
            return Ok(full(component));
        };
        if cur.sha256 == *component.sha256() {
            return Ok(ViewAction::Skip);
        }
        if !component.upgrade_from().matches(&cur.version) {
            return Err(refuse(Some(component.index), ViewRule::OutsideUpgradePath));
        }
        Ok(component
            .deltas()
            .find(|d| *d.from_sha256() == cur.sha256)
            .map_or_else(|| full(component), ViewAction::Delta))
    }

    /// The components in install order: lower [`ComponentView::order`] first, then manifest
    /// order (the std order without its dependency constraints; quadratic, no allocation).
    #[must_use]
    pub fn install_order(&self) -> InstallOrder<'a> {
        InstallOrder {
            m: *self,
            last: None,
        }
    }
}

fn full<'a>(c: &ComponentView<'a>) -> ViewAction<'a> {
    ViewAction::Full {
        size: c.size(),
        sha256: c.sha256(),
    }
}

fn check_component(c: &ComponentView<'_>) -> Result<(), ViewRefusal> {
    let here = Some(c.index);
    if let Some(chunk_size) = c.chunk_size() {
        if chunk_size == 0 {
            return Err(invalid(here, P::ChunkSizeZero));
        }
        let expected = c.size().div_ceil(u64::from(chunk_size));
        let actual = c.chunk_count() as u64;
        if expected != actual {
            return Err(invalid(here, P::ChunkCountMismatch { expected, actual }));
        }
    }
    for (k, d) in c.deltas().enumerate() {
        if d.from_sha256() == c.sha256() {
            return Err(invalid(here, P::DeltaFromSelf));
        }
        if c.deltas()
            .take(k)
            .any(|e| e.from_sha256() == d.from_sha256())
        {
            return Err(invalid(here, P::DuplicateDeltaSource));
        }
        if d.patch_size() == 0 {
            return Err(invalid(here, P::EmptyPatch));
        }
        if !c.upgrade_from().matches(&d.from_version()) {
            return Err(invalid(here, P::DeltaOutsideUpgradePath));
        }
    }
    Ok(())
}

/// The components of a [`ManifestView`] in install order ([`ManifestView::install_order`]).
#[derive(Debug, Clone)]
pub struct InstallOrder<'a> {
    m: ManifestView<'a>,
    last: Option<(u32, usize)>,
}

impl<'a> Iterator for InstallOrder<'a> {
    type Item = ComponentView<'a>;
    fn next(&mut self) -> Option<ComponentView<'a>> {
        let last = self.last;
        let next = self
            .m
            .components()
            .filter(|c| last.is_none_or(|l| (c.order, c.index) > l))
            .min_by_key(|c| (c.order, c.index))?;
        self.last = Some((next.order, next.index));
        Some(next)
    }
}
