//! `ota twin ...`: device twin documents as JSON files.

use crate::fail::{CmdResult, Fail};
use crate::files;
use crate::out::Out;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum TwinCmd {
    /// What the device still has to do: the delta of DESIRED against REPORTED (AWS shadow rules).
    ///
    /// Example: ota twin delta desired.json reported.json
    Delta(DeltaArgs),
    /// The patch that turns A into B: a JSON Patch (RFC 6902) by default.
    ///
    /// Example: ota twin diff old.json new.json --merge-patch
    Diff(DiffArgs),
    /// Applies PATCH to DOC: a JSON array is a JSON Patch (atomic), an object a Merge Patch.
    ///
    /// Example: ota twin apply doc.json patch.json --out doc2.json
    Apply(ApplyArgs),
}

#[derive(Debug, Args)]
pub struct DeltaArgs {
    /// The desired state (a JSON object).
    desired: PathBuf,
    /// The reported state (a JSON object).
    reported: PathBuf,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The document before.
    a: PathBuf,
    /// The document after.
    b: PathBuf,
    /// Emit a JSON Merge Patch (RFC 7396); refused when a merge patch cannot express the change
    /// (a value set to null), unless --fallback is given.
    #[arg(long)]
    merge_patch: bool,
    /// With --merge-patch: fall back to a JSON Patch when a merge patch cannot express the change.
    #[arg(long, requires = "merge_patch")]
    fallback: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The document to patch.
    doc: PathBuf,
    /// The patch: a JSON array (JSON Patch) or a JSON object (Merge Patch).
    patch: PathBuf,
    /// Write the result here (atomically) instead of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(cmd: TwinCmd, out: &Out) -> CmdResult {
    match cmd {
        TwinCmd::Delta(a) => delta(&a, out),
        TwinCmd::Diff(a) => diff(&a, out),
        TwinCmd::Apply(a) => apply(&a, out),
    }
}

fn read_object(path: &Path) -> CmdResult<serde_json::Map<String, Value>> {
    match files::read_json_limited::<Value>(path, files::TWIN_DOCUMENT)? {
        Value::Object(map) => Ok(map),
        other => Err(Fail::in_file(
            path,
            format!("expected a JSON object, found {}", kind_of(&other)),
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn delta(a: &DeltaArgs, out: &Out) -> CmdResult {
    let desired = read_object(&a.desired)?;
    let reported = read_object(&a.reported)?;
    let delta = Value::Object(ota_twin::delta(&desired, Some(&reported)));
    let in_sync = delta.as_object().is_some_and(|m| m.is_empty());
    out.result(
        || {
            if in_sync {
                "in sync: reported matches desired".to_string()
            } else {
                pretty(&delta)
            }
        },
        || json!({"ok": true, "in_sync": in_sync, "delta": delta}),
    );
    Ok(())
}

fn diff(a: &DiffArgs, out: &Out) -> CmdResult {
    let from: Value = files::read_json_limited(&a.a, files::TWIN_DOCUMENT)?;
    let to: Value = files::read_json_limited(&a.b, files::TWIN_DOCUMENT)?;
    let (kind, patch) = if a.merge_patch {
        match ota_twin::diff_merge_patch(&from, &to) {
            Ok(p) => ("merge-patch", p),
            Err(e) if a.fallback => {
                out.note(format!("{e}; falling back to a JSON Patch"));
                ("json-patch", ota_twin::diff(&from, &to).to_value())
            }
            Err(e) => {
                return Err(Fail::refused(format!(
                    "{} -> {}: {e} (use a JSON Patch, or --fallback)",
                    a.a.display(),
                    a.b.display()
                )));
            }
        }
    } else {
        ("json-patch", ota_twin::diff(&from, &to).to_value())
    };
    out.result(
        || pretty(&patch),
        || json!({"ok": true, "kind": kind, "patch": patch}),
    );
    Ok(())
}

/// The most bytes (compact JSON) that a JSON Patch's `copy` operations may add to a document.
/// Each copy can double it (30 copies of the root make it 2^30 times larger, in a patch of 1 KB);
/// `add` and `replace` values come from the patch itself, already bounded by its limit. Four
/// times a document's limit keeps the result, parsed, well under the 64 MiB every command stays in.
const COPY_GROWTH: files::Limit = files::Limit {
    what: "what a patch's copies add to a document",
    bytes: 4 * files::TWIN_DOCUMENT.bytes,
};

/// Applies a JSON Patch atomically with the library's copy limit set to [`COPY_GROWTH`] (checked
/// before each copy allocates); failures name the operation's index in the patch.
fn apply_json_patch(doc: &mut Value, patch: &ota_twin::Patch, path: &Path) -> CmdResult {
    let mut limits = ota_twin::Limits::custom();
    limits.patch_copy_bytes = usize::try_from(COPY_GROWTH.bytes).unwrap_or(usize::MAX);
    patch.apply_limited(doc, &limits).map_err(|e| match e {
        ota_twin::Error::PatchLimitExceeded {
            index, op, pointer, ..
        } => Fail::in_file(
            path,
            format!("operation {index} ({op} from \"{pointer}\") is over {COPY_GROWTH}"),
        ),
        e => Fail::refused(format!("{}: does not apply: {e}", path.display())),
    })
}

fn apply(a: &ApplyArgs, out: &Out) -> CmdResult {
    let mut doc: Value = files::read_json_limited(&a.doc, files::TWIN_DOCUMENT)?;
    let patch: Value = files::read_json_limited(&a.patch, files::TWIN_DOCUMENT)?;
    let kind = match &patch {
        Value::Array(_) => {
            let p = ota_twin::Patch::from_value(&patch).map_err(|e| Fail::in_file(&a.patch, e))?;
            apply_json_patch(&mut doc, &p, &a.patch)?;
            "json-patch"
        }
        Value::Object(_) => {
            ota_twin::apply_merge_patch(&mut doc, &patch);
            "merge-patch"
        }
        other => {
            return Err(Fail::in_file(
                &a.patch,
                format!(
                    "a patch is a JSON array (JSON Patch) or object (Merge Patch), found {}",
                    kind_of(other)
                ),
            ));
        }
    };
    if let Some(path) = &a.out {
        let mut text = pretty(&doc);
        text.push('\n');
        files::write_atomic(path, text.as_bytes())?;
        out.result(
            || format!("applied {kind} {} -> {}", a.patch.display(), path.display()),
            || json!({"ok": true, "kind": kind, "out": path}),
        );
    } else {
        out.result(
            || pretty(&doc),
            || json!({"ok": true, "kind": kind, "document": doc}),
        );
    }
    Ok(())
}
