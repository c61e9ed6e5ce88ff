//! Message -> canonical CBOR (RFC 8949 §4.2.1 core deterministic encoding) on `ota-cbor`'s
//! shortest-form writer. Keys are small unsigned integers written in increasing order, so their
//! encodings sort the same way; health metric names are sorted by their encodings.

use ota_cbor::{
    cmp_text_keys, write_array, write_bool, write_bytes, write_float, write_map, write_null,
    write_text, write_uint,
};

use crate::check;
use crate::error::{Error, Result};
use crate::execution::JobExecution;
use crate::job::{ComponentSources, InstallPolicy, JobDocument, ReleaseSource};
use crate::limits::Limits;
use crate::message::{Message, MessageKind, PROTOCOL_VERSION};
use crate::refusal::{Refusal, RefusalRule};
use crate::report::DeviceReport;
use crate::schema::{
    delta, execution as xk, head, installed, job as jk, location, policy as pk, refusal as fk,
    report as rk, rule, sources as sk,
};

type Out = Vec<u8>;

/// Entries of a map: one per `true`.
fn entries(present: &[bool]) -> usize {
    present.iter().filter(|p| **p).count()
}

fn key(o: &mut Out, k: u64) {
    write_uint(o, k);
}

fn start(o: &mut Out, kind: MessageKind, body_entries: usize) {
    write_map(o, 2 + body_entries);
    key(o, head::VERSION);
    write_uint(o, u64::from(PROTOCOL_VERSION));
    key(o, head::KIND);
    write_uint(o, u64::from(kind.code()));
}

fn finish(o: Out, limits: &Limits) -> Result<Out> {
    if o.len() > limits.max_cbor_bytes {
        return Err(Error::TooLarge {
            size: o.len(),
            max: limits.max_cbor_bytes,
        });
    }
    Ok(o)
}

fn write_job(o: &mut Out, j: &JobDocument) {
    start(o, MessageKind::Job, 5 + entries(&[!j.images.is_empty()]));
    key(o, jk::JOB_ID);
    write_text(o, j.job_id.as_str());
    key(o, jk::ROLLOUT);
    write_text(o, &j.rollout);
    key(o, jk::RING);
    write_uint(o, u64::from(j.ring));
    key(o, jk::RELEASE);
    match &j.release {
        ReleaseSource::Inline(env) => write_bytes(o, env),
        ReleaseSource::Remote(loc) => {
            write_map(o, 3);
            key(o, location::URI);
            write_text(o, &loc.uri);
            key(o, location::SIZE);
            write_uint(o, loc.size);
            key(o, location::SHA256);
            write_bytes(o, loc.sha256.as_bytes());
        }
    }
    if !j.images.is_empty() {
        key(o, jk::IMAGES);
        write_array(o, j.images.len());
        for c in &j.images {
            write_sources(o, c);
        }
    }
    key(o, jk::POLICY);
    write_policy(o, &j.policy);
}

fn write_sources(o: &mut Out, c: &ComponentSources) {
    write_map(o, 1 + entries(&[c.full.is_some(), !c.deltas.is_empty()]));
    key(o, sk::COMPONENT);
    write_text(o, &c.component);
    if let Some(full) = &c.full {
        key(o, sk::FULL);
        write_text(o, full);
    }
    if !c.deltas.is_empty() {
        key(o, sk::DELTAS);
        write_array(o, c.deltas.len());
        for d in &c.deltas {
            write_map(o, 2);
            key(o, delta::FROM_SHA256);
            write_bytes(o, d.from_sha256.as_bytes());
            key(o, delta::URI);
            write_text(o, &d.uri);
        }
    }
}

fn write_policy(o: &mut Out, p: &InstallPolicy) {
    let n = 1 + entries(&[
        p.window.is_some(),
        p.deadline.is_some(),
        p.expires_at.is_some(),
    ]);
    write_map(o, n);
    key(o, pk::REQUIRE_CHARGING);
    write_bool(o, p.require_charging);
    if let Some(w) = p.window {
        key(o, pk::WINDOW);
        write_array(o, 2);
        write_uint(o, u64::from(w.start_minute));
        write_uint(o, u64::from(w.end_minute));
    }
    if let Some(d) = p.deadline {
        key(o, pk::DEADLINE);
        write_uint(o, d);
    }
    if let Some(e) = p.expires_at {
        key(o, pk::EXPIRES_AT);
        write_uint(o, e);
    }
}

fn write_execution(o: &mut Out, x: &JobExecution) {
    let p = x.status.parts();
    let n = 4 + entries(&[
        p.stage.is_some(),
        p.progress.is_some(),
        p.reason.is_some(),
        p.reverted.is_some(),
        p.detail.is_some(),
        p.refusal.is_some(),
    ]);
    start(o, MessageKind::Execution, n);
    key(o, xk::JOB_ID);
    write_text(o, x.job_id.as_str());
    key(o, xk::EXECUTION_NUMBER);
    write_uint(o, x.execution_number);
    key(o, xk::VERSION);
    write_uint(o, x.version);
    key(o, xk::STATUS);
    write_uint(o, u64::from(x.status.kind().code()));
    if let Some(s) = p.stage {
        key(o, xk::STAGE);
        write_uint(o, u64::from(s.code()));
    }
    if let Some(pr) = p.progress {
        key(o, xk::PROGRESS);
        write_array(o, 2);
        write_uint(o, pr.done);
        write_uint(o, pr.total);
    }
    if let Some(r) = p.reason {
        key(o, xk::REASON);
        write_uint(o, u64::from(r.code()));
    }
    if let Some(r) = p.reverted {
        key(o, xk::REVERTED);
        write_bool(o, r);
    }
    if let Some(d) = &p.detail {
        key(o, xk::DETAIL);
        write_text(o, d);
    }
    if let Some(r) = &p.refusal {
        key(o, xk::REFUSAL);
        write_refusal(o, r);
    }
}

fn write_refusal(o: &mut Out, r: &Refusal) {
    write_map(o, 1 + entries(&[r.component.is_some()]));
    key(o, fk::RULE);
    let code = u64::from(r.rule.code());
    let arity = rule::arity(code).unwrap_or(1);
    write_array(o, arity);
    write_uint(o, code);
    match &r.rule {
        RefusalRule::InvalidManifest { detail } | RefusalRule::Unverified { detail } => {
            write_text(o, detail);
        }
        RefusalRule::WrongHardware { revision } => write_text(o, revision),
        RefusalRule::Expired { expires_at, now } | RefusalRule::JobExpired { expires_at, now } => {
            write_uint(o, *expires_at);
            write_uint(o, *now);
        }
        RefusalRule::SequenceNotNewer { sequence, accepted } => {
            write_uint(o, *sequence);
            write_uint(o, *accepted);
        }
        RefusalRule::SecurityCounterBelowFloor { counter, floor } => {
            write_uint(o, *counter);
            write_uint(o, *floor);
        }
        RefusalRule::OutsideUpgradePath {
            installed,
            upgrade_from,
        } => {
            write_text(o, installed);
            write_text(o, upgrade_from);
        }
        RefusalRule::UnmetDependency { on, req, installed } => {
            write_text(o, on);
            write_text(o, req);
            match installed {
                Some(i) => write_text(o, i),
                None => write_null(o),
            }
        }
        RefusalRule::WrongVendor | RefusalRule::WrongClass | RefusalRule::DuplicateInstalled => {}
    }
    if let Some(c) = &r.component {
        key(o, fk::COMPONENT);
        write_text(o, c);
    }
}

fn write_report(o: &mut Out, r: &DeviceReport) {
    let n = 4 + entries(&[
        !r.installed.is_empty(),
        r.active_slot.is_some(),
        r.uptime_since_install.is_some(),
        !r.health.is_empty(),
    ]);
    start(o, MessageKind::Report, n);
    key(o, rk::REPORT_ID);
    write_uint(o, r.report_id);
    key(o, rk::SENT_AT);
    write_uint(o, r.sent_at);
    if !r.installed.is_empty() {
        key(o, rk::INSTALLED);
        write_array(o, r.installed.len());
        for c in &r.installed {
            write_map(o, 2 + entries(&[c.sha256.is_some()]));
            key(o, installed::ID);
            write_text(o, &c.id);
            key(o, installed::VERSION);
            write_text(o, &c.version);
            if let Some(d) = &c.sha256 {
                key(o, installed::SHA256);
                write_bytes(o, d.as_bytes());
            }
        }
    }
    if let Some(s) = r.active_slot {
        key(o, rk::ACTIVE_SLOT);
        write_uint(o, u64::from(s.code()));
    }
    key(o, rk::BOOT_COUNT);
    write_uint(o, r.boot_count);
    key(o, rk::REBOOT_LOOPS);
    write_uint(o, r.reboot_loops);
    if let Some(u) = r.uptime_since_install {
        key(o, rk::UPTIME_SINCE_INSTALL);
        write_uint(o, u);
    }
    if !r.health.is_empty() {
        key(o, rk::HEALTH);
        write_map(o, r.health.len());
        // Deterministic order is by encoded key (shorter names first), not Rust string order.
        let mut names: Vec<(&String, &f64)> = r.health.iter().collect();
        names.sort_by(|a, b| cmp_text_keys(a.0, b.0));
        for (name, v) in names {
            write_text(o, name);
            write_float(o, *v);
        }
    }
}

macro_rules! cbor_encode_api {
    ($ty:ty, $kind:expr, $check:path, $write:ident) => {
        impl $ty {
            /// The canonical CBOR form (FORMAT.md), under the default [`Limits`].
            ///
            /// # Errors
            /// The structural errors ([`Error::Decode`], [`Error::LimitExceeded`], without
            /// offset, with the field's path) and [`Error::TooLarge`]: what this returns, the
            /// decoder accepts.
            pub fn to_cbor(&self) -> Result<Vec<u8>> {
                self.to_cbor_with(&Limits::default())
            }

            /// [`Self::to_cbor`] under the given limits.
            ///
            /// # Errors
            /// As [`Self::to_cbor`].
            pub fn to_cbor_with(&self, limits: &Limits) -> Result<Vec<u8>> {
                $check(self, limits).map_err(|e| e.in_field($kind.as_str()))?;
                let mut o = Vec::new();
                $write(&mut o, self);
                finish(o, limits)
            }
        }
    };
}

cbor_encode_api!(JobDocument, MessageKind::Job, check::job, write_job);
cbor_encode_api!(
    JobExecution,
    MessageKind::Execution,
    check::execution,
    write_execution
);
cbor_encode_api!(
    DeviceReport,
    MessageKind::Report,
    check::report,
    write_report
);

impl Message {
    /// The canonical CBOR form of the message.
    ///
    /// # Errors
    /// As [`JobDocument::to_cbor`].
    pub fn to_cbor(&self) -> Result<Vec<u8>> {
        match self {
            Message::Job(m) => m.to_cbor(),
            Message::Execution(m) => m.to_cbor(),
            Message::Report(m) => m.to_cbor(),
        }
    }
}
