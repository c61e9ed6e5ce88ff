//! The install decision: what a device may install from a manifest, and how.

use std::collections::HashMap;

use semver::Version;

use crate::digest::{DeviceId, Sha256};
use crate::error::{Refusal, Rule};
use crate::model::{DeltaSource, Manifest};

/// What a device reports about itself. Time is passed in: the decision has no hidden clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    /// The device's vendor id.
    pub vendor: DeviceId,
    /// The device's class id.
    pub class: DeviceId,
    /// The device's hardware revision (`"2.1.0"`, or a free string such as `"rev-C"` that only
    /// exact matches accept).
    pub hardware: String,
    /// The components it has installed.
    pub installed: Vec<Installed>,
    /// Its security counter floor: releases below it are refused.
    pub security_counter: u64,
    /// The sequence number of the last release it accepted, `None` if none yet.
    pub last_sequence: Option<u64>,
    /// Its current time, seconds since the Unix epoch.
    pub now: u64,
    /// The A/B slot it runs from.
    pub active_slot: Slot,
}

/// A component installed on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The component id.
    pub id: String,
    /// Its version.
    pub version: Version,
    /// SHA-256 of its image.
    pub sha256: Sha256,
}

/// An A/B slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Slot A.
    A,
    /// Slot B.
    B,
}

impl Slot {
    /// The other slot.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }
}

/// What to do for one component.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The device already has exactly this image.
    Skip,
    /// Fetch the full image (`size` bytes, `sha256`).
    Full {
        /// Image size.
        size: u64,
        /// Image SHA-256.
        sha256: Sha256,
    },
    /// Fetch this delta: the device's installed image is its source.
    Delta(DeltaSource),
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The component id.
    pub component: String,
    /// The version it installs.
    pub version: Version,
    /// What to fetch.
    pub action: Action,
    /// For firmware: the (inactive) slot to write, then switch to.
    pub slot: Option<Slot>,
    /// Whether the device must reboot after this step.
    pub reboot: bool,
}

/// An install plan, steps in dependency order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One step per component of the release, in install order.
    pub steps: Vec<Step>,
    /// The sequence number the device records once the plan is done (anti-rollback).
    pub sequence: u64,
    /// The security counter the device may raise its floor to once the plan is done.
    pub security_counter: u64,
}

impl Plan {
    /// Whether any step needs a reboot (an A/B slot switch).
    #[must_use]
    pub fn reboot_required(&self) -> bool {
        self.steps.iter().any(|s| s.reboot)
    }

    /// Whether there is nothing to fetch.
    #[must_use]
    pub fn is_noop(&self) -> bool {
        self.steps.iter().all(|s| s.action == Action::Skip)
    }

    /// Bytes to download in total.
    #[must_use]
    pub fn download_bytes(&self) -> u64 {
        self.steps
            .iter()
            .map(|s| match &s.action {
                Action::Skip => 0,
                Action::Full { size, .. } => *size,
                Action::Delta(d) => d.patch_size,
            })
            .fold(0u64, u64::saturating_add)
    }
}

fn refuse(component: Option<&str>, rule: Rule) -> Refusal {
    Refusal {
        component: component.map(str::to_owned),
        rule,
    }
}

impl Manifest {
    /// Decides whether `device` may install this release and how.
    ///
    /// The rules, in this order: the manifest is valid ([`Manifest::validate`]); the device does
    /// not report a component twice; vendor, class and hardware revision are accepted; the release
    /// has not expired at `device.now`; its sequence is newer than the last accepted one; its
    /// security counter is not below the device's floor. Then per component, in dependency order:
    /// an installed image equal to the target is skipped; otherwise an installed version must be in
    /// the upgrade path; every dependency is either shipped by the release or installed at a
    /// matching version; a delta is chosen when the installed image is one of its sources, else the
    /// full image. Firmware goes to the inactive slot and needs a reboot.
    ///
    /// # Errors
    /// A [`Refusal`] naming the component (or the release) and the [`Rule`].
    pub fn plan(&self, device: &DeviceState) -> Result<Plan, Refusal> {
        let order = self
            .install_order()
            .map_err(|e| refuse(e.component.as_deref(), Rule::Invalid(e.problem)))?;
        let mut installed: HashMap<&str, &Installed> = HashMap::new();
        for i in &device.installed {
            if installed.insert(i.id.as_str(), i).is_some() {
                return Err(refuse(Some(&i.id), Rule::DuplicateInstalled));
            }
        }
        let c = &self.compatibility;
        if c.vendor != device.vendor {
            return Err(refuse(None, Rule::WrongVendor));
        }
        if !c.classes.contains(&device.class) {
            return Err(refuse(None, Rule::WrongClass));
        }
        let by_range = Version::parse(&device.hardware)
            .map(|v| c.hardware_ranges.iter().any(|r| r.matches(&v)))
            .unwrap_or(false);
        if !by_range && !c.hardware.contains(&device.hardware) {
            return Err(refuse(
                None,
                Rule::WrongHardware {
                    revision: device.hardware.clone(),
                },
            ));
        }
        if let Some(expires_at) = self.expires_at
            && device.now >= expires_at
        {
            return Err(refuse(
                None,
                Rule::Expired {
                    expires_at,
                    now: device.now,
                },
            ));
        }
        if let Some(accepted) = device.last_sequence
            && self.sequence <= accepted
        {
            return Err(refuse(
                None,
                Rule::SequenceNotNewer {
                    sequence: self.sequence,
                    accepted,
                },
            ));
        }
        if self.security_counter < device.security_counter {
            return Err(refuse(
                None,
                Rule::SecurityCounterBelowFloor {
                    counter: self.security_counter,
                    floor: device.security_counter,
                },
            ));
        }
        let shipped: HashMap<&str, &Version> = self
            .components
            .iter()
            .map(|c| (c.id.as_str(), &c.version))
            .collect();
        let mut steps = Vec::with_capacity(order.len());
        for i in order {
            let comp = &self.components[i];
            let here = Some(comp.id.as_str());
            let current = installed.get(comp.id.as_str()).copied();
            let reboot = comp.layer.needs_reboot();
            let slot = reboot.then(|| device.active_slot.other());
            if current.is_some_and(|cur| cur.sha256 == comp.sha256) {
                steps.push(Step {
                    component: comp.id.clone(),
                    version: comp.version.clone(),
                    action: Action::Skip,
                    slot: None,
                    reboot: false,
                });
                continue;
            }
            if let Some(cur) = current
                && !comp.upgrade_from.matches(&cur.version)
            {
                return Err(refuse(
                    here,
                    Rule::OutsideUpgradePath {
                        installed: cur.version.to_string(),
                        upgrade_from: comp.upgrade_from.to_string(),
                    },
                ));
            }
            for dep in &comp.dependencies {
                // A component of this release satisfies it (validate checked its version);
                // otherwise the device must have it at a matching version.
                if shipped.contains_key(dep.id.as_str()) {
                    continue;
                }
                let have = installed.get(dep.id.as_str());
                if !have.is_some_and(|h| dep.req.matches(&h.version)) {
                    return Err(refuse(
                        here,
                        Rule::UnmetDependency {
                            on: dep.id.clone(),
                            req: dep.req.to_string(),
                            installed: have.map(|h| h.version.to_string()),
                        },
                    ));
                }
            }
            let delta =
                current.and_then(|cur| comp.deltas.iter().find(|d| d.from_sha256 == cur.sha256));
            let action = match delta {
                Some(d) => Action::Delta(d.clone()),
                None => Action::Full {
                    size: comp.size,
                    sha256: comp.sha256,
                },
            };
            steps.push(Step {
                component: comp.id.clone(),
                version: comp.version.clone(),
                action,
                slot,
                reboot,
            });
        }
        Ok(Plan {
            steps,
            sequence: self.sequence,
            security_counter: self.security_counter,
        })
    }
}
