//! The lifecycle record: fixed layout, little-endian (STATES.md, "Record format").

use ota_manifest::{Layer, Slot};

use crate::error::{Error, Result};
use crate::outcome::{Outcome, Reason, Stage, State};

/// The anti-rollback floor: what the device accepted last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Floor {
    /// Sequence number of the last committed release (0: none).
    pub sequence: u64,
    /// Security counter floor.
    pub security_counter: u64,
}

/// One component of an update as the record keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Component id (at most 32 bytes).
    pub id: String,
    /// Its layer.
    pub layer: Layer,
    /// Image size.
    pub size: u64,
    /// Image SHA-256.
    pub sha256: [u8; 32],
    /// The side (slot or directory) it is staged into.
    pub slot: Slot,
}

pub(crate) const MAX_COMPONENTS: usize = 8;
pub(crate) const MAX_ID: usize = 32;
const MAGIC: [u8; 4] = *b"OTAR";
const VERSION: u8 = 1;
const FIXED: usize = 153;
const PER_COMPONENT: usize = 78;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub state: State,
    pub stage: Option<Stage>,
    pub reason: Option<Reason>,
    pub floor: Floor,
    pub target: Floor,
    pub release: [u8; 32],
    pub old_slot: Option<Slot>,
    pub new_slot: Option<Slot>,
    pub trial_boots: u8,
    pub arms: u8,
    pub comp_index: u16,
    pub offset: u64,
    pub cursor: Option<[u8; 64]>,
    /// The delta apply of this update was restarted from byte 0 once already (a resumed
    /// apply found the stored prefix did not match its cursor).
    pub restarted: bool,
    pub components: Vec<Target>,
}

impl Record {
    pub fn idle() -> Self {
        Record {
            state: State::Idle,
            stage: None,
            reason: None,
            floor: Floor::default(),
            target: Floor::default(),
            release: [0; 32],
            old_slot: None,
            new_slot: None,
            trial_boots: 0,
            arms: 0,
            comp_index: 0,
            offset: 0,
            cursor: None,
            restarted: false,
            components: Vec::new(),
        }
    }

    pub fn outcome(&self) -> Outcome {
        match (self.state, self.stage, self.reason) {
            (State::Committed, _, _) => Outcome::Committed,
            (State::Reverted, Some(stage), Some(reason)) => Outcome::Reverted { stage, reason },
            (State::Failed, Some(stage), Some(reason)) => Outcome::Failed { stage, reason },
            _ => Outcome::None,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.components.len() > MAX_COMPONENTS {
            return Err(Error::TooLarge {
                reason: "more than 8 components",
            });
        }
        let mut b = Vec::with_capacity(FIXED + PER_COMPONENT * self.components.len());
        b.extend_from_slice(&MAGIC);
        b.push(VERSION);
        b.push(self.state as u8);
        b.push(self.stage.map_or(0, |s| s as u8));
        b.push(self.reason.map_or(0, |r| r as u8));
        for v in [
            self.floor.sequence,
            self.floor.security_counter,
            self.target.sequence,
            self.target.security_counter,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&self.release);
        b.push(slot_code(self.old_slot));
        b.push(slot_code(self.new_slot));
        b.push(self.trial_boots);
        b.push(self.arms);
        b.extend_from_slice(&self.comp_index.to_le_bytes());
        b.extend_from_slice(&(self.components.len() as u16).to_le_bytes());
        b.extend_from_slice(&self.offset.to_le_bytes());
        b.push(u8::from(self.cursor.is_some()) | (u8::from(self.restarted) << 1));
        b.extend_from_slice(&self.cursor.unwrap_or([0; 64]));
        for c in &self.components {
            let id = c.id.as_bytes();
            if id.is_empty() || id.len() > MAX_ID {
                return Err(Error::TooLarge {
                    reason: "component id empty or longer than 32 bytes",
                });
            }
            b.push(id.len() as u8);
            let mut padded = [0u8; MAX_ID];
            padded[..id.len()].copy_from_slice(id);
            b.extend_from_slice(&padded);
            b.extend_from_slice(&layer_code(c.layer)?.to_le_bytes());
            b.extend_from_slice(&c.size.to_le_bytes());
            b.extend_from_slice(&c.sha256);
            b.push(slot_code(Some(c.slot)));
        }
        Ok(b)
    }

    pub fn decode(b: &[u8]) -> Result<Self> {
        let r = Reader { b };
        if r.bytes(0, 4, "magic")? != MAGIC {
            return Err(bad("magic", 0, "not a lifecycle record"));
        }
        if r.u8(4, "version")? != VERSION {
            return Err(bad("version", 4, "unsupported record version"));
        }
        let state = State::from_code(r.u8(5, "state")?).ok_or(bad("state", 5, "unknown state"))?;
        let stage = match r.u8(6, "stage")? {
            0 => None,
            c => Some(Stage::from_code(c).ok_or(bad("stage", 6, "unknown stage"))?),
        };
        let reason = match r.u8(7, "reason")? {
            0 => None,
            c => Some(Reason::from_code(c).ok_or(bad("reason", 7, "unknown reason"))?),
        };
        let count = usize::from(r.u16(78, "component count")?);
        if count > MAX_COMPONENTS {
            return Err(bad("component count", 78, "more than 8"));
        }
        let want = FIXED + PER_COMPONENT * count;
        if b.len() != want {
            return Err(bad(
                "length",
                b.len(),
                "record length does not match its count",
            ));
        }
        let comp_index = r.u16(76, "component index")?;
        if usize::from(comp_index) > count {
            return Err(bad("component index", 76, "past the component count"));
        }
        let flags = r.u8(88, "cursor flags")?;
        if flags & !0b11 != 0 {
            return Err(bad("cursor flags", 88, "bits other than 0 and 1 set"));
        }
        let raw = r.bytes(89, 64, "cursor")?;
        let cursor = if flags & 1 == 1 {
            let mut c = [0u8; 64];
            c.copy_from_slice(raw);
            Some(c)
        } else {
            zero_padding(raw, 89, "cursor padding")?;
            None
        };
        let restarted = flags & 0b10 != 0;
        let mut release = [0u8; 32];
        release.copy_from_slice(r.bytes(40, 32, "release digest")?);
        let mut components = Vec::with_capacity(count);
        for i in 0..count {
            let o = FIXED + i * PER_COMPONENT;
            let len = usize::from(r.u8(o, "id length")?);
            if len == 0 || len > MAX_ID {
                return Err(bad("id length", o, "0 or above 32"));
            }
            let id = std::str::from_utf8(r.bytes(o + 1, len, "id")?)
                .map_err(|_| bad("id", o + 1, "not UTF-8"))?
                .to_owned();
            zero_padding(
                r.bytes(o + 1 + len, MAX_ID - len, "id padding")?,
                o + 1 + len,
                "id padding",
            )?;
            let layer = layer_from(r.u32(o + 33, "layer")?).ok_or(bad(
                "layer",
                o + 33,
                "unknown layer code",
            ))?;
            let mut sha256 = [0u8; 32];
            sha256.copy_from_slice(r.bytes(o + 45, 32, "sha256")?);
            let slot = slot_from(r.u8(o + 77, "slot")?)
                .map_err(|()| bad("slot", o + 77, "not 0, 1"))?
                .ok_or(bad("slot", o + 77, "component without a slot"))?;
            components.push(Target {
                id,
                layer,
                size: r.u64(o + 37, "size")?,
                sha256,
                slot,
            });
        }
        Ok(Record {
            state,
            stage,
            reason,
            floor: Floor {
                sequence: r.u64(8, "floor sequence")?,
                security_counter: r.u64(16, "floor security counter")?,
            },
            target: Floor {
                sequence: r.u64(24, "sequence")?,
                security_counter: r.u64(32, "security counter")?,
            },
            release,
            old_slot: slot_from(r.u8(72, "old slot")?)
                .map_err(|()| bad("old slot", 72, "not 0, 1 or 0xFF"))?,
            new_slot: slot_from(r.u8(73, "new slot")?)
                .map_err(|()| bad("new slot", 73, "not 0, 1 or 0xFF"))?,
            trial_boots: r.u8(74, "trial boots")?,
            arms: r.u8(75, "arms")?,
            comp_index,
            offset: r.u64(80, "offset")?,
            cursor,
            restarted,
            components,
        })
    }
}

/// Padding must be zero (so a record has one encoding, and a stray write is not read as data).
fn zero_padding(bytes: &[u8], offset: usize, field: &'static str) -> Result<()> {
    match bytes.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(i) => Err(bad(field, offset + i, "padding byte is not zero")),
    }
}

fn bad(field: &'static str, offset: usize, reason: &'static str) -> Error {
    Error::Record {
        field,
        offset,
        reason,
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    fn bytes(&self, at: usize, n: usize, field: &'static str) -> Result<&[u8]> {
        self.b
            .get(at..at + n)
            .ok_or(bad(field, at, "record too short"))
    }
    fn u8(&self, at: usize, field: &'static str) -> Result<u8> {
        Ok(self.bytes(at, 1, field)?[0])
    }
    fn u16(&self, at: usize, field: &'static str) -> Result<u16> {
        let mut a = [0u8; 2];
        a.copy_from_slice(self.bytes(at, 2, field)?);
        Ok(u16::from_le_bytes(a))
    }
    fn u32(&self, at: usize, field: &'static str) -> Result<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.bytes(at, 4, field)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&self, at: usize, field: &'static str) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.bytes(at, 8, field)?);
        Ok(u64::from_le_bytes(a))
    }
}

pub(crate) fn slot_code(s: Option<Slot>) -> u8 {
    match s {
        Some(Slot::A) => 0,
        Some(Slot::B) => 1,
        None => 0xFF,
    }
}

fn slot_from(c: u8) -> std::result::Result<Option<Slot>, ()> {
    match c {
        0 => Ok(Some(Slot::A)),
        1 => Ok(Some(Slot::B)),
        0xFF => Ok(None),
        _ => Err(()),
    }
}

fn layer_code(l: Layer) -> Result<u32> {
    Ok(match l {
        Layer::Firmware => 0,
        Layer::Application => 1,
        Layer::Model => 2,
        Layer::Configuration => 3,
        Layer::Vendor(v) => v,
        _ => {
            return Err(Error::TooLarge {
                reason: "a layer this record version cannot store",
            });
        }
    })
}

fn layer_from(c: u32) -> Option<Layer> {
    Some(match c {
        0 => Layer::Firmware,
        1 => Layer::Application,
        2 => Layer::Model,
        3 => Layer::Configuration,
        v if v >= Layer::VENDOR_MIN => Layer::Vendor(v),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        let mut r = Record::idle();
        r.state = State::Downloading;
        r.floor = Floor {
            sequence: 7,
            security_counter: 2,
        };
        r.target.sequence = 8;
        r.new_slot = Some(Slot::B);
        r.old_slot = Some(Slot::A);
        r.cursor = Some([9; 64]);
        r.components.push(Target {
            id: "firmware".into(),
            layer: Layer::Firmware,
            size: 4096,
            sha256: [3; 32],
            slot: Slot::B,
        });
        r.components.push(Target {
            id: "app".into(),
            layer: Layer::Vendor(300),
            size: 10,
            sha256: [4; 32],
            slot: Slot::A,
        });
        r
    }

    #[test]
    fn round_trip() {
        let r = sample();
        let b = r.encode().unwrap();
        assert_eq!(b.len(), FIXED + 2 * PER_COMPONENT);
        assert_eq!(Record::decode(&b).unwrap(), r);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = sample().encode().unwrap();
        for n in 0..b.len() {
            assert!(Record::decode(&b[..n]).is_err(), "length {n}");
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let b = sample().encode().unwrap();
        let mut c = b.clone();
        c[5] = 42;
        assert!(matches!(
            Record::decode(&c),
            Err(Error::Record {
                field: "state",
                offset: 5,
                ..
            })
        ));
        let mut c = b.clone();
        c[73] = 2;
        assert!(matches!(
            Record::decode(&c),
            Err(Error::Record {
                field: "new slot",
                ..
            })
        ));
        let mut c = b;
        c[78] = 9;
        assert!(matches!(
            Record::decode(&c),
            Err(Error::Record {
                field: "component count",
                ..
            })
        ));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn slot() -> impl Strategy<Value = Slot> {
        prop_oneof![Just(Slot::A), Just(Slot::B)]
    }

    fn target() -> impl Strategy<Value = Target> {
        (
            "[a-z]{1,32}",
            prop_oneof![
                Just(Layer::Firmware),
                Just(Layer::Application),
                Just(Layer::Model),
                Just(Layer::Configuration),
                (256u32..).prop_map(Layer::Vendor)
            ],
            any::<u64>(),
            any::<[u8; 32]>(),
            slot(),
        )
            .prop_map(|(id, layer, size, sha256, slot)| Target {
                id,
                layer,
                size,
                sha256,
                slot,
            })
    }

    proptest! {
        #[test]
        fn round_trip(
            state in 0u8..10,
            floor in any::<(u64, u64)>(),
            slots in (proptest::option::of(slot()), proptest::option::of(slot())),
            counters in any::<(u8, u8, u64)>(),
            cursor in proptest::option::of(any::<[u8; 32]>()),
            components in proptest::collection::vec(target(), 0..=MAX_COMPONENTS),
        ) {
            let mut r = Record::idle();
            r.state = State::from_code(state).unwrap_or(State::Idle);
            r.stage = Some(Stage::Trial);
            r.reason = Some(Reason::BootLoop);
            r.floor = Floor { sequence: floor.0, security_counter: floor.1 };
            r.old_slot = slots.0;
            r.new_slot = slots.1;
            r.trial_boots = counters.0;
            r.arms = counters.1;
            r.offset = counters.2;
            r.cursor = cursor.map(|c| {
                let mut b = [0u8; 64];
                b[..32].copy_from_slice(&c);
                b
            });
            r.comp_index = components.len() as u16;
            r.components = components;
            let b = r.encode().unwrap();
            prop_assert_eq!(Record::decode(&b).unwrap(), r);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Record::decode(&b);
        }
    }
}
