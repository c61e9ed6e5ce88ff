//! The simulated fleet: devices with hardware revisions, regions, power, A/B firmware slots, a
//! container app, an on-device AI model, and the local configuration their twin describes.

use std::sync::Arc;

use semver::Version;

use crate::clock::{MINUTE, local_second_of_day};
use crate::rng::Rng;

/// A hardware revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HwRev {
    /// The first board: older radio, no secure element.
    A,
    /// The current board.
    B,
    /// The newest board.
    C,
}

impl HwRev {
    /// All revisions, in order.
    pub const ALL: [HwRev; 3] = [HwRev::A, HwRev::B, HwRev::C];

    /// The revision's name as the manifest and the rollout attributes spell it.
    pub fn name(self) -> &'static str {
        match self {
            HwRev::A => "A",
            HwRev::B => "B",
            HwRev::C => "C",
        }
    }

    /// Bit index in a build-info hardware mask.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A region with its UTC offset (fixed: the simulation spans a few days, no DST change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Name.
    pub name: &'static str,
    /// Offset from UTC in minutes.
    pub utc_offset_minutes: i16,
    /// Relative share of the fleet.
    pub weight: u32,
}

/// The regions of the simulated fleet.
pub const REGIONS: [Region; 6] = [
    Region {
        name: "eu-west",
        utc_offset_minutes: 0,
        weight: 20,
    },
    Region {
        name: "eu-central",
        utc_offset_minutes: 60,
        weight: 25,
    },
    Region {
        name: "us-east",
        utc_offset_minutes: -300,
        weight: 20,
    },
    Region {
        name: "us-west",
        utc_offset_minutes: -480,
        weight: 10,
    },
    Region {
        name: "ap-south",
        utc_offset_minutes: 330,
        weight: 15,
    },
    Region {
        name: "ap-northeast",
        utc_offset_minutes: 540,
        weight: 10,
    },
];

/// How the device is powered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// Always on external power.
    Mains,
    /// On battery, charged once a day in a local-time window (a sensor docked at night, a
    /// solar node charging at midday).
    Battery {
        /// Local minute of the day the charger connects.
        charge_start_minute: u16,
        /// How long it stays on the charger, in minutes.
        charge_minutes: u16,
        /// Charge left when the charger connects, percent.
        low_percent: u8,
    },
}

/// Power state at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerState {
    /// On external power now.
    pub charging: bool,
    /// Battery charge in percent; `None` on mains.
    pub battery_percent: Option<u8>,
}

impl Power {
    /// The power state at a UTC second for a device at the given offset: the battery charges
    /// linearly to 100% while on the charger and drains linearly to `low_percent` until the next
    /// charge.
    pub fn state_at(&self, utc: u64, utc_offset_minutes: i16) -> PowerState {
        match *self {
            Power::Mains => PowerState {
                charging: true,
                battery_percent: None,
            },
            Power::Battery {
                charge_start_minute,
                charge_minutes,
                low_percent,
            } => {
                let minute =
                    (local_second_of_day(utc, i32::from(utc_offset_minutes)) / MINUTE) as i64;
                let since_start = (minute - i64::from(charge_start_minute)).rem_euclid(1440);
                let charge = i64::from(charge_minutes.max(1));
                let low = i64::from(low_percent);
                if since_start < charge {
                    let pct = low + (100 - low) * since_start / charge;
                    PowerState {
                        charging: true,
                        battery_percent: Some(pct.clamp(0, 100) as u8),
                    }
                } else {
                    let off = since_start - charge;
                    let off_len = (1440 - charge).max(1);
                    let pct = 100 - (100 - low) * off / off_len;
                    PowerState {
                        charging: false,
                        battery_percent: Some(pct.clamp(0, 100) as u8),
                    }
                }
            }
        }
    }

    /// True for battery devices.
    pub fn is_battery(&self) -> bool {
        matches!(self, Power::Battery { .. })
    }
}

/// How the device reaches the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Ethernet or Wi-Fi: unmetered.
    Wifi,
    /// Cellular: metered.
    Lte,
}

/// One installed component: its version, the SHA-256 of its bytes, and the bytes.
///
/// The bytes are shared (`Arc`) between devices holding identical content, like a
/// content-addressed store: 20,000 simulated devices do not need 20,000 copies of one image.
/// Each device still writes and verifies its own copy when it installs (see `agent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Version.
    pub version: Version,
    /// SHA-256 of `bytes`.
    pub digest: [u8; 32],
    /// The bytes in the slot or on disk.
    pub bytes: Arc<[u8]>,
}

/// One of the two firmware slots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Slot {
    /// What the slot holds; `None` when erased or never written.
    pub image: Option<Installed>,
    /// The bootloader may try this slot (false after a failed trial boot).
    pub bootable: bool,
}

/// A device of the fleet.
#[derive(Debug, Clone)]
pub struct Device {
    /// Stable id.
    pub id: String,
    /// Serial number (hardware-bound: never restored onto another device).
    pub serial: String,
    /// Hardware revision.
    pub hw: HwRev,
    /// Index into [`REGIONS`].
    pub region: usize,
    /// Power source.
    pub power: Power,
    /// Network link.
    pub link: Link,
    /// Which sensor part the board carries (0, 1, or 2; variant 2 only on revision B).
    pub sensor_variant: u8,
    /// Slots A and B.
    pub slots: [Slot; 2],
    /// The slot the bootloader boots (0 = A, 1 = B).
    pub active: usize,
    /// The container app.
    pub app: Installed,
    /// The on-device AI model.
    pub model: Installed,
    /// Calibration constant of this board's sensor (hardware-bound).
    pub calibration: f64,
    /// Operator configuration the device currently applies (what its twin's `desired.config`
    /// asks for once converged).
    pub config: serde_json::Value,
    /// Times the device booted.
    pub boots: u32,
    /// Sequence number of the last release it accepted (anti-rollback).
    pub last_sequence: u64,
    /// Its security counter floor.
    pub security_floor: u64,
    /// The small flash that holds the update agent's record and the bootloader's metadata
    /// (see [`crate::agent::NVM`]); made at the first update. Clones share it.
    pub nvm: Option<ota_agent::sim::SimFlash>,
}

impl Device {
    /// The region.
    pub fn region(&self) -> &'static Region {
        &REGIONS[self.region.min(REGIONS.len() - 1)]
    }

    /// The firmware in the active slot.
    pub fn active_firmware(&self) -> Option<&Installed> {
        self.slots.get(self.active).and_then(|s| s.image.as_ref())
    }

    /// True when the bootloader has a bootable slot with an image (every device must stay so).
    pub fn is_bootable(&self) -> bool {
        self.slots
            .get(self.active)
            .is_some_and(|s| s.bootable && s.image.is_some())
    }

    /// Power state now.
    pub fn power_state(&self, utc: u64) -> PowerState {
        self.power.state_at(utc, self.region().utc_offset_minutes)
    }
}

/// What the generator needs to know about the images devices start with.
#[derive(Debug, Clone)]
pub struct Initial {
    /// Firmware versions present in the field, with their relative shares.
    pub firmware: Vec<(Installed, u32)>,
    /// The app every device runs.
    pub app: Installed,
    /// The model every device runs.
    pub model: Installed,
}

/// Relative shares of hardware revisions A, B, C.
pub const HW_SHARES: [u32; 3] = [30, 45, 25];
/// Share of devices on battery, percent.
pub const BATTERY_PERCENT: u64 = 40;

/// Generates `n` devices from a seed.
pub fn generate(n: usize, seed: u64, initial: &Initial) -> Vec<Device> {
    let mut rng = Rng::stream(seed, "fleet");
    let region_weights: Vec<u32> = REGIONS.iter().map(|r| r.weight).collect();
    let fw_weights: Vec<u32> = initial.firmware.iter().map(|(_, w)| *w).collect();
    (0..n)
        .map(|i| {
            let hw = HwRev::ALL[rng.weighted(&HW_SHARES)];
            let region = rng.weighted(&region_weights);
            let power = if rng.below(100) < BATTERY_PERCENT {
                Power::Battery {
                    // Most charge overnight (docked), some at midday (solar).
                    charge_start_minute: if rng.chance(0.7) {
                        (21 * 60 + rng.below(180)) as u16
                    } else {
                        (10 * 60 + rng.below(120)) as u16
                    },
                    charge_minutes: rng.range(120, 360) as u16,
                    low_percent: rng.range(10, 45) as u8,
                }
            } else {
                Power::Mains
            };
            let link = if rng.chance(0.3) {
                Link::Lte
            } else {
                Link::Wifi
            };
            let sensor_variant = match hw {
                HwRev::A => 0,
                HwRev::B => {
                    if rng.chance(0.35) {
                        2
                    } else {
                        1
                    }
                }
                HwRev::C => 1,
            };
            let fw = initial
                .firmware
                .get(rng.weighted(&fw_weights))
                .or(initial.firmware.first())
                .map(|(f, _)| f.clone());
            // The inactive slot holds the previous image (or nothing on a factory-fresh unit).
            let active = rng.below(2) as usize;
            let mut slots = [Slot::default(), Slot::default()];
            slots[active] = Slot {
                image: fw,
                bootable: true,
            };
            Device {
                id: format!("dev-{i:06}"),
                serial: format!("SN{:012X}", rng.next_u64() >> 16),
                hw,
                region,
                power,
                link,
                sensor_variant,
                slots,
                active,
                app: initial.app.clone(),
                model: initial.model.clone(),
                calibration: 0.9 + 0.2 * rng.unit(),
                config: serde_json::json!({ "telemetry_interval_s": 60, "log_level": "info" }),
                boots: 1,
                last_sequence: 0,
                security_floor: 1,
                nvm: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed(v: &str) -> Installed {
        Installed {
            version: Version::parse(v).unwrap(),
            digest: [0; 32],
            bytes: Arc::from(&b"x"[..]),
        }
    }

    #[test]
    fn battery_charges_in_its_window_and_drains_outside() {
        let p = Power::Battery {
            charge_start_minute: 22 * 60,
            charge_minutes: 240,
            low_percent: 20,
        };
        let start = crate::clock::START; // midnight UTC
        let s = p.state_at(start, 0); // two hours into the charge
        assert!(s.charging);
        assert_eq!(s.battery_percent, Some(60));
        let noon = p.state_at(start + 12 * 3600, 0);
        assert!(!noon.charging);
        assert!(noon.battery_percent.unwrap() < 100 && noon.battery_percent.unwrap() > 20);
        // UTC+1: local 01:00 is within the charge window at 00:00 UTC.
        assert!(p.state_at(start, 60).charging);
        assert!(!p.state_at(start, 600).charging);
    }

    #[test]
    fn fleet_is_deterministic_and_mixed() {
        let initial = Initial {
            firmware: vec![(installed("4.1.0"), 3), (installed("4.0.2"), 1)],
            app: installed("2.3.0"),
            model: installed("1.7.0"),
        };
        let a = generate(2000, 42, &initial);
        let b = generate(2000, 42, &initial);
        assert_eq!(a.len(), 2000);
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.id == y.id && x.hw == y.hw && x.serial == y.serial)
        );
        for rev in HwRev::ALL {
            assert!(a.iter().filter(|d| d.hw == rev).count() > 300);
        }
        let battery = a.iter().filter(|d| d.power.is_battery()).count();
        assert!((600..1000).contains(&battery), "{battery}");
        assert!(a.iter().all(Device::is_bootable));
        assert!(a.iter().all(|d| d.sensor_variant != 2 || d.hw == HwRev::B));
        let c = generate(2000, 43, &initial);
        assert!(a.iter().zip(&c).any(|(x, y)| x.hw != y.hw));
    }
}
