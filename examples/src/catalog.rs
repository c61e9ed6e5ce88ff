//! Every image version the story needs, generated deterministically from the seed
//! (see [`crate::images`]): nothing is downloaded.

use std::sync::Arc;

use semver::Version;
use sha2::Digest as _;

use crate::fleet::{HwRev, Installed};
use crate::images::{App, BuildInfo, Firmware, Model};
use crate::rng::hash_label;

/// Size of a firmware image (about; versions differ a little).
pub const FIRMWARE_SIZE: usize = 64 * 1024;
/// Size of the container app layer.
pub const APP_SIZE: usize = 32 * 1024;
/// Number of float32 weights of the model (32 KiB).
pub const MODEL_WEIGHTS: usize = 8 * 1024;

/// All revisions.
const ALL_HW: u8 = 0b111;
/// Sensor variants 0, 1 and 2 have drivers.
const ALL_SENSORS: u8 = 0b111;

/// The image versions of the story.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Firmware versions, oldest first: 3.9.0, 4.0.2, 4.1.0 (in the field at the start), 4.1.1
    /// (for revisions B and C only), 4.2.0 (drops the driver of sensor variant 2: the bad
    /// release), 4.2.1 (the fix).
    pub firmware: Vec<Installed>,
    /// App versions: 2.3.0 (in the field), 2.4.0.
    pub app: Vec<Installed>,
    /// Model versions: 1.7.0 (in the field), 1.8.0 (fine-tuned).
    pub model: Vec<Installed>,
}

/// Wraps image bytes with their version and digest.
pub fn installed(version: &str, bytes: Vec<u8>) -> Installed {
    let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    Installed {
        version: Version::parse(version).unwrap_or_else(|_| Version::new(0, 0, 0)),
        digest,
        bytes: Arc::from(bytes),
    }
}

fn info(version: &str, hardware_mask: u8, sensor_mask: u8) -> BuildInfo {
    BuildInfo {
        version: version.to_owned(),
        hardware_mask,
        sensor_mask,
    }
}

impl Catalog {
    /// Generates every version from the seed.
    pub fn new(seed: u64) -> Catalog {
        let s = |label: &str| hash_label(seed, label);
        let v390 = Firmware::base(
            s("fw-3.9.0"),
            FIRMWARE_SIZE,
            info("3.9.0", ALL_HW, ALL_SENSORS),
        );
        let v402 = v390.next_version(s("fw-4.0.2"), 12, info("4.0.2", ALL_HW, ALL_SENSORS));
        let v410 = v402.next_version(s("fw-4.1.0"), 6, info("4.1.0", ALL_HW, ALL_SENSORS));
        let b_and_c = HwRev::B.bit() | HwRev::C.bit();
        let v411 = v410.next_version(s("fw-4.1.1"), 2, info("4.1.1", b_and_c, ALL_SENSORS));
        let v420 = v410.next_version(
            s("fw-4.2.0"),
            5,
            info("4.2.0", ALL_HW, ALL_SENSORS & !(1 << 2)),
        );
        let v421 = v420.next_version(s("fw-4.2.1"), 1, info("4.2.1", ALL_HW, ALL_SENSORS));
        let firmware = [
            ("3.9.0", &v390),
            ("4.0.2", &v402),
            ("4.1.0", &v410),
            ("4.1.1", &v411),
            ("4.2.0", &v420),
            ("4.2.1", &v421),
        ]
        .iter()
        .map(|(v, f)| installed(v, f.render()))
        .collect();
        let a1 = App::base(s("app-2.3.0"), APP_SIZE);
        let a2 = a1.next_version(s("app-2.4.0"), "2.4.0");
        let m1 = Model::base(s("model-1.7.0"), MODEL_WEIGHTS);
        let m2 = m1.next_version(s("model-1.8.0"));
        Catalog {
            firmware,
            app: vec![
                installed("2.3.0", a1.render()),
                installed("2.4.0", a2.render()),
            ],
            model: vec![
                installed("1.7.0", m1.render()),
                installed("1.8.0", m2.render()),
            ],
        }
    }

    /// A firmware version by its string.
    pub fn firmware(&self, version: &str) -> Option<&Installed> {
        self.firmware
            .iter()
            .find(|f| f.version.to_string() == version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_carry_their_build_info() {
        let c = Catalog::new(1);
        assert_eq!(c.firmware.len(), 6);
        for f in &c.firmware {
            let i = BuildInfo::read(&f.bytes).unwrap();
            assert_eq!(i.version, f.version.to_string());
        }
        let bad = BuildInfo::read(&c.firmware("4.2.0").unwrap().bytes).unwrap();
        assert_eq!(bad.sensor_mask & 0b100, 0);
        let bc = BuildInfo::read(&c.firmware("4.1.1").unwrap().bytes).unwrap();
        assert_eq!(bc.hardware_mask & HwRev::A.bit(), 0);
        assert_eq!(c.app[1].bytes.len() % 512, 0);
    }
}
