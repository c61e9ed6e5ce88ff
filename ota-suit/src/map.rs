//! The mapping of a verified SUIT manifest to an `ota_manifest::Manifest`: the command sequences
//! that install an image are interpreted per component, and what they set becomes components,
//! digests, sizes, URIs and compatibility.

use ota_manifest::semver::{Version, VersionReq};
use ota_manifest::{Compatibility, Component, DeviceId, Layer, Sha256};

use crate::command::{Command, ComponentIndex, Condition, Parameters};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, Member};
use crate::verify::Verified;

/// Choices the SUIT manifest does not make for the ota manifest. [`MapOptions::default`]:
/// name `suit-<sequence>`, firmware layer, any semver hardware revision, no slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapOptions {
    name: Option<String>,
    layer: Layer,
    hardware: Vec<String>,
    slot: Option<u64>,
}

impl Default for MapOptions {
    fn default() -> Self {
        Self {
            name: None,
            layer: Layer::Firmware,
            hardware: Vec::new(),
            slot: None,
        }
    }
}

impl MapOptions {
    /// The release name (default `suit-<sequence number>`).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The layer of every component (default firmware: A/B slot and reboot).
    #[must_use]
    pub fn layer(mut self, layer: Layer) -> Self {
        self.layer = layer;
        self
    }

    /// Hardware revisions accepted by exact match (default: none, and any revision that parses
    /// as semver is accepted, since SUIT's vendor and class ids are the compatibility check).
    #[must_use]
    pub fn hardware(mut self, revisions: Vec<String>) -> Self {
        self.hardware = revisions;
        self
    }

    /// The slot the device installs into: decides `condition-component-slot` (try-each over
    /// slots, example 3). Without it such a manifest does not map.
    #[must_use]
    pub fn slot(mut self, slot: u64) -> Self {
        self.slot = Some(slot);
        self
    }
}

/// What the interpretation knows of one component.
#[derive(Debug, Clone, Default)]
struct State {
    params: Parameters,
    vendor_checked: bool,
    class_checked: bool,
    fetched_from: Option<String>,
    copied: bool,
}

#[derive(Debug, Clone)]
struct Machine<'o> {
    states: Vec<State>,
    index: Option<ComponentIndex>,
    options: &'o MapOptions,
}

fn unmappable(reason: impl Into<String>) -> Error {
    Error::Unmappable {
        reason: reason.into(),
    }
}

impl Machine<'_> {
    /// The components the current index selects.
    fn selected(&self) -> Result<Vec<usize>> {
        match self.index {
            Some(ComponentIndex::All) => Ok((0..self.states.len()).collect()),
            Some(ComponentIndex::One(i)) => usize::try_from(i)
                .ok()
                .filter(|&i| i < self.states.len())
                .map(|i| vec![i])
                .ok_or_else(|| unmappable(format!("component index {i} out of range"))),
            None => Err(unmappable("no component index")),
        }
    }

    /// Runs a sequence; in a try-each alternative (`trial`), a failing slot condition returns
    /// `Ok(false)` instead of an error.
    fn run(&mut self, seq: &[Command], trial: bool) -> Result<bool> {
        for cmd in seq {
            if !self.step(cmd, trial)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn step(&mut self, cmd: &Command, trial: bool) -> Result<bool> {
        match cmd {
            Command::SetComponentIndex(i) => self.index = Some(*i),
            Command::OverrideParameters(p) => {
                for i in self.selected()? {
                    merge(&mut self.states[i].params, p, true);
                }
            }
            Command::SetParameters(p) => {
                for i in self.selected()? {
                    merge(&mut self.states[i].params, p, false);
                }
            }
            Command::Condition { condition, .. } => return self.condition(*condition, trial),
            Command::TryEach(alts) => {
                for alt in alts {
                    let mut attempt = self.clone();
                    if attempt.run(alt, true)? {
                        *self = attempt;
                        return Ok(true);
                    }
                }
                return if trial {
                    Ok(false)
                } else {
                    Err(unmappable("no try-each alternative holds"))
                };
            }
            Command::Fetch { .. } => {
                for i in self.selected()? {
                    let uri = self.states[i].params.uri.clone();
                    let Some(uri) = uri else {
                        return Err(unmappable(format!("fetch into component {i} without uri")));
                    };
                    self.states[i].fetched_from = Some(uri);
                }
            }
            Command::Copy { .. } => {
                for i in self.selected()? {
                    let src = self.states[i].params.source_component;
                    let src = src
                        .and_then(|s| usize::try_from(s).ok())
                        .filter(|&s| s < self.states.len() && s != i)
                        .ok_or_else(|| {
                            unmappable(format!("copy into component {i} from no valid source"))
                        })?;
                    let from = self.states[src].fetched_from.clone();
                    let state = &mut self.states[i];
                    state.copied = true;
                    if state.fetched_from.is_none() {
                        state.fetched_from = from;
                    }
                }
            }
            Command::Invoke { .. } => {}
        }
        Ok(true)
    }

    fn condition(&mut self, condition: Condition, trial: bool) -> Result<bool> {
        let selected = self.selected()?;
        match condition {
            Condition::ImageMatch => Ok(true),
            Condition::VendorIdentifier | Condition::ClassIdentifier if trial => Err(unmappable(
                "vendor or class condition inside try-each (compatibility by alternative)",
            )),
            Condition::VendorIdentifier => {
                for i in selected {
                    if self.states[i].params.vendor_id.is_none() {
                        return Err(unmappable(format!(
                            "vendor condition on component {i} without vendor-id"
                        )));
                    }
                    self.states[i].vendor_checked = true;
                }
                Ok(true)
            }
            Condition::ClassIdentifier => {
                for i in selected {
                    if self.states[i].params.class_id.is_none() {
                        return Err(unmappable(format!(
                            "class condition on component {i} without class-id"
                        )));
                    }
                    self.states[i].class_checked = true;
                }
                Ok(true)
            }
            Condition::ComponentSlot => {
                let Some(slot) = self.options.slot else {
                    return Err(unmappable(
                        "condition-component-slot needs the device's slot (MapOptions::slot)",
                    ));
                };
                for i in selected {
                    if self.states[i].params.component_slot != Some(slot) {
                        return if trial {
                            Ok(false)
                        } else {
                            Err(unmappable(format!(
                                "condition-component-slot fails on component {i} for slot {slot}"
                            )))
                        };
                    }
                }
                Ok(true)
            }
        }
    }
}

/// Sets the parameters of `from` in `into`: all of them (`override`), or only those not set yet.
fn merge(into: &mut Parameters, from: &Parameters, over: bool) {
    fn put<T: Clone>(dst: &mut Option<T>, src: &Option<T>, over: bool) {
        if src.is_some() && (over || dst.is_none()) {
            dst.clone_from(src);
        }
    }
    put(&mut into.vendor_id, &from.vendor_id, over);
    put(&mut into.class_id, &from.class_id, over);
    put(&mut into.image_digest, &from.image_digest, over);
    put(&mut into.component_slot, &from.component_slot, over);
    put(&mut into.image_size, &from.image_size, over);
    put(&mut into.uri, &from.uri, over);
    put(&mut into.source_component, &from.source_component, over);
}

impl Verified {
    /// The ota manifest equivalent to this SUIT manifest (see FORMAT.md, "Mapping"), checked
    /// with `ota_manifest::Manifest::validate`.
    ///
    /// # Errors
    /// [`Error::Unmappable`] naming what has no safe equivalent.
    pub fn to_manifest(&self, options: &MapOptions) -> Result<ota_manifest::Manifest> {
        map(self.manifest(), options)
    }
}

fn map(m: &Manifest, options: &MapOptions) -> Result<ota_manifest::Manifest> {
    let mut machine = Machine {
        states: vec![State::default(); m.components.len()],
        index: None,
        options,
    };
    // The shared sequence runs before each sequence, the component index reset to 0.
    let sequences = [
        m.payload_fetch.as_ref().and_then(Member::get),
        m.install.as_ref().and_then(Member::get),
        m.validate.as_ref(),
    ];
    machine.index = Some(ComponentIndex::One(0));
    machine.run(&m.shared_sequence, false)?;
    for seq in sequences.into_iter().flatten() {
        machine.index = Some(ComponentIndex::One(0));
        machine.run(&m.shared_sequence, false)?;
        machine.index = Some(ComponentIndex::One(0));
        machine.run(seq, false)?;
    }
    let version = Version::new(0, 0, m.sequence_number);
    let mut vendor: Option<&Vec<u8>> = None;
    let mut classes: Vec<DeviceId> = Vec::new();
    let mut components = Vec::new();
    for (state, id) in machine.states.iter().zip(&m.components) {
        let p = &state.params;
        if state.vendor_checked
            && let Some(v) = &p.vendor_id
        {
            if vendor.is_some_and(|w| w != v) {
                return Err(unmappable("components check different vendor ids"));
            }
            vendor = Some(v);
        }
        if state.class_checked
            && let Some(c) = &p.class_id
        {
            let c = device_id(c)?;
            if !classes.contains(&c) {
                classes.push(c);
            }
        }
        let (Some(digest), Some(size)) = (p.image_digest, p.image_size) else {
            continue;
        };
        components.push(Component {
            id: id.to_hex_path(),
            layer: options.layer,
            version: version.clone(),
            upgrade_from: VersionReq::STAR,
            size,
            sha256: Sha256(digest.0),
            chunks: None,
            deltas: Vec::new(),
            dependencies: Vec::new(),
            order: 0,
            sbom: None,
            uris: state.fetched_from.iter().cloned().collect(),
            image: None,
            update_class: None,
            cves: Vec::new(),
            extensions: Default::default(),
        });
    }
    let vendor = vendor.ok_or_else(|| unmappable("no condition-vendor-identifier"))?;
    if classes.is_empty() {
        return Err(unmappable("no condition-class-identifier"));
    }
    if components.is_empty() {
        return Err(unmappable(
            "no component with both image-digest and image-size",
        ));
    }
    let out = ota_manifest::Manifest {
        name: options
            .name
            .clone()
            .unwrap_or_else(|| format!("suit-{}", m.sequence_number)),
        version,
        sequence: m.sequence_number,
        security_counter: 0,
        issued_at: 0,
        expires_at: None,
        notes_uri: None,
        support_ends_at: None,
        max_security_deferral: None,
        compatibility: Compatibility {
            vendor: device_id(vendor)?,
            classes,
            hardware: options.hardware.clone(),
            hardware_ranges: if options.hardware.is_empty() {
                vec![VersionReq::STAR]
            } else {
                Vec::new()
            },
        },
        components,
        extensions: Default::default(),
    };
    out.validate()
        .map_err(|e| unmappable(format!("the mapped manifest is invalid: {e}")))?;
    Ok(out)
}

fn device_id(b: &[u8]) -> Result<DeviceId> {
    DeviceId::new(b).map_err(|e| unmappable(format!("vendor or class id: {e}")))
}
