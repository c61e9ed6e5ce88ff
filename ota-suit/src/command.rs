//! Command sequences: the supported commands and parameters, decoded from
//! `bstr .cbor [command, argument, ...]`.

use ota_cbor::{Item, Keys, Major, Reader};

use crate::cbor::{
    Digest, check_count, nested, read_id, read_text_limited, read_wrapped_digest, wrapped,
};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::schema::{
    CMD_CLASS_ID, CMD_COMPONENT_SLOT, CMD_COPY, CMD_FETCH, CMD_IMAGE_MATCH, CMD_INVOKE,
    CMD_OVERRIDE_PARAMETERS, CMD_SET_COMPONENT_INDEX, CMD_SET_PARAMETERS, CMD_TRY_EACH,
    CMD_VENDOR_ID, PARAM_CLASS_ID, PARAM_COMPONENT_SLOT, PARAM_IMAGE_DIGEST, PARAM_IMAGE_SIZE,
    PARAM_SOURCE_COMPONENT, PARAM_URI, PARAM_VENDOR_ID, command_name, parameter_name,
};

/// A condition: a check the device makes, with its reporting policy.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// 1: the device's vendor id is the vendor-id parameter.
    VendorIdentifier,
    /// 2: the device's class id is the class-id parameter.
    ClassIdentifier,
    /// 3: the component's image hashes to the image-digest parameter.
    ImageMatch,
    /// 5: the component is in the slot of the component-slot parameter.
    ComponentSlot,
}

/// Which components the following commands apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentIndex {
    /// One component, by its index in the common components.
    One(u64),
    /// Every component (`true`).
    All,
}

/// The parameters a set/override-parameters command carries (only those present are `Some`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    /// 1: vendor id.
    pub vendor_id: Option<Vec<u8>>,
    /// 2: class id.
    pub class_id: Option<Vec<u8>>,
    /// 3: image digest (SHA-256).
    pub image_digest: Option<Digest>,
    /// 5: component slot.
    pub component_slot: Option<u64>,
    /// 14: image size in bytes.
    pub image_size: Option<u64>,
    /// 21: URI.
    pub uri: Option<String>,
    /// 22: source component (an index).
    pub source_component: Option<u64>,
}

/// One command of a sequence (the supported subset).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A condition (1, 2, 3, 5) with its reporting policy.
    Condition {
        /// Which check.
        condition: Condition,
        /// The reporting policy bits.
        policy: u64,
    },
    /// 12: directive-set-component-index.
    SetComponentIndex(ComponentIndex),
    /// 15: directive-try-each: the first alternative whose conditions hold.
    TryEach(Vec<Vec<Command>>),
    /// 19: directive-set-parameters (sets only parameters not set yet).
    SetParameters(Parameters),
    /// 20: directive-override-parameters.
    OverrideParameters(Parameters),
    /// 21: directive-fetch (from the uri parameter).
    Fetch {
        /// The reporting policy bits.
        policy: u64,
    },
    /// 22: directive-copy (from the source-component parameter).
    Copy {
        /// The reporting policy bits.
        policy: u64,
    },
    /// 23: directive-invoke.
    Invoke {
        /// The reporting policy bits.
        policy: u64,
    },
}

impl Command {
    /// The command's number in the draft (20 for override-parameters, ...); its name is
    /// [`command_name`](crate::command_name) of it.
    #[must_use]
    pub fn number(&self) -> i64 {
        match self {
            Command::Condition { condition, .. } => match condition {
                Condition::VendorIdentifier => CMD_VENDOR_ID,
                Condition::ClassIdentifier => CMD_CLASS_ID,
                Condition::ImageMatch => CMD_IMAGE_MATCH,
                Condition::ComponentSlot => CMD_COMPONENT_SLOT,
            },
            Command::SetComponentIndex(_) => CMD_SET_COMPONENT_INDEX,
            Command::TryEach(_) => CMD_TRY_EACH,
            Command::SetParameters(_) => CMD_SET_PARAMETERS,
            Command::OverrideParameters(_) => CMD_OVERRIDE_PARAMETERS,
            Command::Fetch { .. } => CMD_FETCH,
            Command::Copy { .. } => CMD_COPY,
            Command::Invoke { .. } => CMD_INVOKE,
        }
    }
}

/// Decodes the command sequence held by the byte string at `r`.
pub(crate) fn read_wrapped_sequence(r: &mut Reader<'_>, limits: &Limits) -> Result<Vec<Command>> {
    let (b, base) = wrapped(r)?;
    read_sequence(b, base, limits, 0)
}

/// Decodes a command sequence from `bytes` (at absolute offset `base`); `depth` is the try-each
/// nesting.
pub(crate) fn read_sequence(
    bytes: &[u8],
    base: usize,
    limits: &Limits,
    depth: usize,
) -> Result<Vec<Command>> {
    let mut r = nested(bytes, base, limits);
    let at = r.offset();
    let n = r.array()?;
    if n % 2 != 0 {
        return Err(Error::Invalid {
            what: "command sequence of odd length",
            offset: at,
        });
    }
    check_count("commands", n / 2, limits.max_commands, at)?;
    let mut out = Vec::with_capacity(n / 2);
    for _ in 0..n / 2 {
        out.push(read_command(&mut r, limits, depth)?);
    }
    r.finish()?;
    Ok(out)
}

fn condition(number: i64) -> Option<Condition> {
    Some(match number {
        CMD_VENDOR_ID => Condition::VendorIdentifier,
        CMD_CLASS_ID => Condition::ClassIdentifier,
        CMD_IMAGE_MATCH => Condition::ImageMatch,
        CMD_COMPONENT_SLOT => Condition::ComponentSlot,
        _ => return None,
    })
}

fn read_command(r: &mut Reader<'_>, limits: &Limits, depth: usize) -> Result<Command> {
    let at = r.offset();
    let number = r.int()?;
    if let Some(condition) = condition(number) {
        let policy = r.uint()?;
        return Ok(Command::Condition { condition, policy });
    }
    Ok(match number {
        CMD_SET_COMPONENT_INDEX => {
            let arg_at = r.offset();
            match r.item()? {
                Item::Uint(i) => Command::SetComponentIndex(ComponentIndex::One(i)),
                Item::Bool(true) => Command::SetComponentIndex(ComponentIndex::All),
                _ => {
                    return Err(Error::Invalid {
                        what: "set-component-index argument is not an index or true \
                               (arrays of indices are not supported)",
                        offset: arg_at,
                    });
                }
            }
        }
        CMD_TRY_EACH => Command::TryEach(read_try_each(r, limits, depth, at)?),
        CMD_SET_PARAMETERS => Command::SetParameters(read_parameters(r, limits)?),
        CMD_OVERRIDE_PARAMETERS => Command::OverrideParameters(read_parameters(r, limits)?),
        CMD_FETCH => Command::Fetch { policy: r.uint()? },
        CMD_COPY => Command::Copy { policy: r.uint()? },
        CMD_INVOKE => Command::Invoke { policy: r.uint()? },
        _ => {
            return Err(Error::UnsupportedCommand {
                number,
                name: command_name(number),
                offset: at,
            });
        }
    })
}

fn read_try_each(
    r: &mut Reader<'_>,
    limits: &Limits,
    depth: usize,
    at: usize,
) -> Result<Vec<Vec<Command>>> {
    if depth >= limits.max_try_each_depth {
        return Err(Error::TooDeep {
            max: limits.max_try_each_depth,
            offset: at,
        });
    }
    let arr_at = r.offset();
    let n = r.array()?;
    check_count("try-each alternatives", n, limits.max_try_each, arr_at)?;
    if n == 0 {
        return Err(Error::Invalid {
            what: "try-each without alternatives",
            offset: arr_at,
        });
    }
    let mut alts = Vec::with_capacity(n);
    for _ in 0..n {
        if r.peek()? != Major::Bytes {
            return Err(Error::Invalid {
                what: "try-each alternative is not a command sequence",
                offset: r.offset(),
            });
        }
        let (b, base) = wrapped(r)?;
        alts.push(read_sequence(b, base, limits, depth + 1)?);
    }
    Ok(alts)
}

fn read_parameters(r: &mut Reader<'_>, limits: &Limits) -> Result<Parameters> {
    let n = r.map()?;
    let mut keys = Keys::new();
    let mut p = Parameters::default();
    for _ in 0..n {
        let at = r.offset();
        let key = r.int_key(&mut keys)?;
        match key {
            PARAM_VENDOR_ID => p.vendor_id = Some(read_id(r, "vendor-id", limits.max_id_len)?),
            PARAM_CLASS_ID => p.class_id = Some(read_id(r, "class-id", limits.max_id_len)?),
            PARAM_IMAGE_DIGEST => p.image_digest = Some(read_wrapped_digest(r, limits)?),
            PARAM_COMPONENT_SLOT => p.component_slot = Some(r.uint()?),
            PARAM_IMAGE_SIZE => p.image_size = Some(r.uint()?),
            PARAM_URI => p.uri = Some(read_text_limited(r, "uri", limits.max_uri)?),
            PARAM_SOURCE_COMPONENT => p.source_component = Some(r.uint()?),
            _ => {
                return Err(Error::UnsupportedParameter {
                    number: key,
                    name: parameter_name(key),
                    offset: at,
                });
            }
        }
    }
    Ok(p)
}
