//! The commands. Each area is a module; each holds no logic a library user would also need (that
//! lives in the crates), only reading files, calling a crate and printing.

mod delta;
mod external;
mod keys;
mod manifest;
mod plan;
mod rollout;
mod root;
mod sbom;
mod sign;
mod suit;
mod twin;

use crate::fail::CmdResult;
use crate::out::Out;
use clap::Subcommand;

/// Every `ota` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ed25519 keys: generate (PKCS#8 PEM, openssl-compatible), print a key id.
    #[command(subcommand)]
    Key(keys::KeyCmd),
    /// Trust roots: build from JSON, sign, check a rotation chain, show.
    #[command(subcommand)]
    Root(root::RootCmd),
    /// Release manifests: build canonical CBOR from JSON (filling digests from images), show.
    #[command(subcommand)]
    Manifest(manifest::ManifestCmd),
    /// The install decision for one device: the plan, or the rule that refuses.
    ///
    /// DEVICE.json is what the device reports, for example {"vendor":
    /// "61636d652d6c6f636b732d766e647221", "class": "736d6172742d6c6f636b2d636c617373",
    /// "hardware": "B", "installed": [{"id": "lock-fw", "version": "1.0.0", "sha256": "<64 hex
    /// digits of the installed image>"}], "security_counter": 1, "last_sequence": 41, "now":
    /// 1800000000, "active_slot": "A"}. "vendor" and "class" are the hex ids the manifest's
    /// compatibility names, "hardware" the revision; "installed" defaults to nothing installed,
    /// "security_counter" to 0, "last_sequence" to none accepted yet, "now" (Unix seconds) to this
    /// machine's clock, "active_slot" ("A" or "B") to "A". Unknown fields are refused.
    ///
    /// With --root the envelope is verified first (a threshold of release keys, expiry at "now",
    /// a sequence above "last_sequence"); without --root the signature is not checked and a note
    /// says so. Either way an envelope's sequence must equal the manifest's. Exit 0 with the
    /// plan, or 1 with the rule that refused and the component it names.
    ///
    /// Example: ota plan --manifest manifest.cose --root root.signed --device device.json
    Plan(plan::PlanArgs),
    /// Signs a file's exact bytes into a COSE envelope.
    ///
    /// COSE_Sign1 for one key, COSE_Sign for several, with a sequence number (anti-rollback) and
    /// an expiry (anti-freeze). When FILE is an ota manifest, the sequence number and expiry
    /// default to the manifest's own. FILE is signed as it is, never re-encoded, and may be at
    /// most 8 MiB.
    ///
    /// External signers (a KMS, an offline ceremony): --external PUB leaves that signer's
    /// signature as zeros and --export-to-be-signed writes the exact bytes it must sign (raw
    /// Ed25519, e.g. `openssl pkeyutl -sign -rawin`); then `ota sign ENVELOPE --attach SIG
    /// --external PUB --out OUT` checks the signature over those bytes and puts it in place,
    /// one signer at a time.
    ///
    /// Example: ota sign --key release.pem manifest.cbor --out manifest.cose
    Sign(sign::SignArgs),
    /// Verifies a COSE envelope against a trust root (threshold, expiry, anti-rollback).
    ///
    /// A threshold of the root's release keys must have signed, neither the root nor the release
    /// may be expired, and the sequence must be at least --min-sequence. Exit 0 and print what
    /// was verified, or exit 1 and print why not.
    ///
    /// Example: ota verify --root root.signed --min-sequence 42 manifest.cose
    Verify(sign::VerifyArgs),
    /// Binary deltas: make, apply (streamed, verified, resumable), inspect.
    #[command(subcommand)]
    Delta(delta::DeltaCmd),
    /// Fleet rollouts: ring assignment of a device list, gate simulation.
    #[command(subcommand)]
    Rollout(rollout::RolloutCmd),
    /// Device twins: delta between desired and reported, diffs as JSON Patch or Merge Patch, apply.
    #[command(subcommand)]
    Twin(twin::TwinCmd),
    /// CycloneDX 1.5 SBOMs: write one for a component of a release, validate one and check it
    /// against the manifest's SBOM reference.
    #[command(subcommand)]
    Sbom(sbom::SbomCmd),
    /// IETF SUIT envelopes: show one, verify one against an ES256 or Ed25519 anchor and map it
    /// to an ota manifest.
    #[command(subcommand)]
    Suit(suit::SuitCmd),
}

/// Runs one command.
pub fn run(command: Command, out: &Out) -> CmdResult {
    match command {
        Command::Key(c) => keys::run(c, out),
        Command::Root(c) => root::run(c, out),
        Command::Manifest(c) => manifest::run(c, out),
        Command::Plan(a) => plan::plan(&a, out),
        Command::Sign(a) => sign::sign(&a, out),
        Command::Verify(a) => sign::verify(&a, out),
        Command::Delta(c) => delta::run(c, out),
        Command::Rollout(c) => rollout::run(c, out),
        Command::Twin(c) => twin::run(c, out),
        Command::Sbom(c) => sbom::run(c, out),
        Command::Suit(c) => suit::run(c, out),
    }
}
