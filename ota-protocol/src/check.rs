//! The structural rules of each message, for values built in code or read from JSON (the CBOR
//! decoder checks the same rules as it reads, with byte offsets). Whatever passes has exactly one
//! canonical CBOR encoding, which decodes back to it.

use std::collections::HashSet;

use crate::error::{DecodeError, Error, Limit, Result};
use crate::execution::JobExecution;
use crate::job::{ComponentSources, JobDocument, ReleaseSource};
use crate::limits::Limits;
use crate::refusal::{Refusal, RefusalRule};
use crate::report::DeviceReport;
use crate::status::{Progress, Status};

/// Text that must not be empty, at most `max` bytes (`limit` names which limit).
pub(crate) fn text(s: &str, limit: Limit, max: usize) -> Result<()> {
    if s.is_empty() {
        return Err(Error::field(DecodeError::Empty));
    }
    bounded(s, limit, max)
}

/// Text at most `max` bytes, possibly empty.
pub(crate) fn bounded(s: &str, limit: Limit, max: usize) -> Result<()> {
    if s.len() > max {
        return Err(Error::limit(limit, s.len(), max));
    }
    Ok(())
}

/// A count at most `max`.
pub(crate) fn count(n: usize, limit: Limit, max: usize) -> Result<()> {
    if n > max {
        return Err(Error::limit(limit, n, max));
    }
    Ok(())
}

pub(crate) fn progress(p: &Progress) -> Result<()> {
    if p.total != 0 && p.done > p.total {
        return Err(Error::field(DecodeError::ProgressOverTotal {
            done: p.done,
            total: p.total,
        }));
    }
    Ok(())
}

pub(crate) fn metric_value(v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::field(DecodeError::NonFinite))
    }
}

pub(crate) fn job(j: &JobDocument, l: &Limits) -> Result<()> {
    text(&j.rollout, Limit::TextBytes, l.max_text_bytes).map_err(|e| e.in_field("rollout"))?;
    match &j.release {
        ReleaseSource::Inline(env) => {
            if env.is_empty() {
                return Err(Error::field(DecodeError::Empty).in_field("release"));
            }
            count(env.len(), Limit::EnvelopeBytes, l.max_envelope_bytes)
                .map_err(|e| e.in_field("release"))?;
        }
        ReleaseSource::Remote(loc) => text(&loc.uri, Limit::UriBytes, l.max_uri_bytes)
            .map_err(|e| e.in_field("uri").in_field("release"))?,
    }
    count(j.images.len(), Limit::Components, l.max_components).map_err(|e| e.in_field("images"))?;
    let mut names = HashSet::new();
    for (i, c) in j.images.iter().enumerate() {
        sources(c, l).map_err(|e| e.in_index(i).in_field("images"))?;
        if !names.insert(c.component.as_str()) {
            let e = Error::field(DecodeError::DuplicateComponent(c.component.clone()));
            return Err(e.in_field("component").in_index(i).in_field("images"));
        }
    }
    if let Some(w) = j.policy.window
        && !w.is_valid()
    {
        let e = Error::field(DecodeError::BadWindow);
        return Err(e.in_field("window").in_field("policy"));
    }
    Ok(())
}

fn sources(c: &ComponentSources, l: &Limits) -> Result<()> {
    text(&c.component, Limit::TextBytes, l.max_text_bytes).map_err(|e| e.in_field("component"))?;
    if let Some(u) = &c.full {
        text(u, Limit::UriBytes, l.max_uri_bytes).map_err(|e| e.in_field("full"))?;
    }
    count(c.deltas.len(), Limit::Deltas, l.max_deltas).map_err(|e| e.in_field("deltas"))?;
    let mut from = HashSet::new();
    for (i, d) in c.deltas.iter().enumerate() {
        let at = |e: Error| e.in_index(i).in_field("deltas");
        text(&d.uri, Limit::UriBytes, l.max_uri_bytes).map_err(|e| at(e.in_field("uri")))?;
        if !from.insert(d.from_sha256) {
            return Err(at(
                Error::field(DecodeError::DuplicateDelta).in_field("from_sha256")
            ));
        }
    }
    if c.full.is_none() && c.deltas.is_empty() {
        return Err(Error::field(DecodeError::NoSource));
    }
    Ok(())
}

pub(crate) fn execution(x: &JobExecution, l: &Limits) -> Result<()> {
    match &x.status {
        Status::InProgress { progress: p, .. } => progress(p).map_err(|e| e.in_field("progress")),
        Status::Failed {
            detail: Some(d), ..
        } => text(d, Limit::DetailBytes, l.max_detail_bytes).map_err(|e| e.in_field("detail")),
        Status::Rejected { refusal } => refusal_rule(refusal, l).map_err(|e| e.in_field("refusal")),
        _ => Ok(()),
    }
}

fn refusal_rule(r: &Refusal, l: &Limits) -> Result<()> {
    if let Some(c) = &r.component {
        text(c, Limit::TextBytes, l.max_text_bytes).map_err(|e| e.in_field("component"))?;
    }
    let t = |s: &str, name: &str| {
        bounded(s, Limit::TextBytes, l.max_text_bytes)
            .map_err(|e| e.in_field(name).in_field("rule"))
    };
    let d = |s: &str| {
        bounded(s, Limit::DetailBytes, l.max_detail_bytes)
            .map_err(|e| e.in_field("detail").in_field("rule"))
    };
    match &r.rule {
        RefusalRule::InvalidManifest { detail } | RefusalRule::Unverified { detail } => d(detail),
        RefusalRule::WrongHardware { revision } => t(revision, "revision"),
        RefusalRule::OutsideUpgradePath {
            installed,
            upgrade_from,
        } => {
            t(installed, "installed")?;
            t(upgrade_from, "upgrade_from")
        }
        RefusalRule::UnmetDependency { on, req, installed } => {
            t(on, "on")?;
            t(req, "req")?;
            installed.as_deref().map_or(Ok(()), |i| t(i, "installed"))
        }
        _ => Ok(()),
    }
}

pub(crate) fn report(r: &DeviceReport, l: &Limits) -> Result<()> {
    count(r.installed.len(), Limit::Installed, l.max_installed)
        .map_err(|e| e.in_field("installed"))?;
    let mut ids = HashSet::new();
    for (i, c) in r.installed.iter().enumerate() {
        let at = |e: Error| e.in_index(i).in_field("installed");
        text(&c.id, Limit::TextBytes, l.max_text_bytes).map_err(|e| at(e.in_field("id")))?;
        text(&c.version, Limit::TextBytes, l.max_text_bytes)
            .map_err(|e| at(e.in_field("version")))?;
        if !ids.insert(c.id.as_str()) {
            let e = Error::field(DecodeError::DuplicateComponent(c.id.clone()));
            return Err(at(e.in_field("id")));
        }
    }
    count(r.health.len(), Limit::Metrics, l.max_metrics).map_err(|e| e.in_field("health"))?;
    for (name, v) in &r.health {
        let at = |e: Error| e.in_field(name).in_field("health");
        text(name, Limit::TextBytes, l.max_text_bytes).map_err(at)?;
        metric_value(*v).map_err(at)?;
    }
    Ok(())
}
