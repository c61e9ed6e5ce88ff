//! The job execution's CBOR reader: the status and the fields it carries, the refusal rule.

use crate::cbor::{Keys, Reader, err};
use crate::error::{DecodeError, Limit, Result};
use crate::execution::JobExecution;
use crate::limits::Limits;
use crate::refusal::{Refusal, RefusalRule};
use crate::schema::{execution as xk, refusal as fk, rule};
use crate::status::{Progress, Reason, Stage, Status, StatusKind, StatusParts};

use super::{at, job_id, need, unknown_key};

pub(super) fn code_of<T>(
    r: &mut Reader<'_>,
    what: &'static str,
    f: impl Fn(u64) -> Option<T>,
) -> Result<T> {
    let p = r.pos();
    let c = r.uint()?;
    f(c).ok_or_else(|| err(p, DecodeError::UnknownCode { what, code: c }))
}

pub(super) fn read_execution(
    r: &mut Reader<'_>,
    map_at: usize,
    n: usize,
    mut keys: Keys,
    l: &Limits,
) -> Result<JobExecution> {
    let (mut id, mut number, mut version, mut status) = (None, None, None, None);
    let mut parts = StatusParts::default();
    // Where each status field was, to place an error found once the status is known.
    let mut where_is: Vec<(&'static str, usize)> = Vec::new();
    for _ in 0..n {
        let (k_at, k) = r.key(&mut keys)?;
        let v_at = r.pos();
        match k {
            xk::JOB_ID => id = Some(job_id(r).map_err(at("job_id"))?),
            xk::EXECUTION_NUMBER => number = Some(r.uint().map_err(at("execution_number"))?),
            xk::VERSION => version = Some(r.uint().map_err(at("version"))?),
            xk::STATUS => {
                status = Some(code_of(r, "status", StatusKind::from_code).map_err(at("status"))?);
            }
            xk::STAGE => {
                parts.stage = Some(code_of(r, "stage", Stage::from_code).map_err(at("stage"))?);
                where_is.push(("stage", v_at));
            }
            xk::PROGRESS => {
                parts.progress = Some(read_progress(r).map_err(at("progress"))?);
                where_is.push(("progress", v_at));
            }
            xk::REASON => {
                let c = r.uint().map_err(at("reason"))?;
                if c == u64::from(Reason::REFUSED_CODE) {
                    return Err(err(v_at, DecodeError::RefusedIsNotAFailure).in_field("reason"));
                }
                let reason = Reason::from_code(c).ok_or_else(|| {
                    err(
                        v_at,
                        DecodeError::UnknownCode {
                            what: "reason",
                            code: c,
                        },
                    )
                    .in_field("reason")
                })?;
                parts.reason = Some(reason);
                where_is.push(("reason", v_at));
            }
            xk::REVERTED => {
                parts.reverted = Some(r.bool().map_err(at("reverted"))?);
                where_is.push(("reverted", v_at));
            }
            xk::DETAIL => {
                let t = r.text(Limit::DetailBytes, l.max_detail_bytes, false);
                parts.detail = Some(t.map_err(at("detail"))?);
                where_is.push(("detail", v_at));
            }
            xk::REFUSAL => {
                parts.refusal = Some(read_refusal(r, l).map_err(at("refusal"))?);
                where_is.push(("refusal", v_at));
            }
            _ => return Err(unknown_key(k_at, k)),
        }
    }
    let job_id = need(id, map_at, "job_id")?;
    let execution_number = need(number, map_at, "execution_number")?;
    let version = need(version, map_at, "version")?;
    let kind = need(status, map_at, "status")?;
    let status = Status::from_parts(kind, parts).map_err(|(field, e)| {
        let p = where_is
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(map_at, |(_, p)| *p);
        err(p, e).in_field(field)
    })?;
    Ok(JobExecution {
        job_id,
        execution_number,
        version,
        status,
    })
}

fn read_progress(r: &mut Reader<'_>) -> Result<Progress> {
    let p = r.pos();
    r.record(2, "progress [done, total]")?;
    let done = r.uint()?;
    let total = r.uint()?;
    if total != 0 && done > total {
        return Err(err(p, DecodeError::ProgressOverTotal { done, total }));
    }
    Ok(Progress { done, total })
}

fn read_refusal(r: &mut Reader<'_>, l: &Limits) -> Result<Refusal> {
    let (map_at, n) = r.map()?;
    let mut keys = Keys::new();
    let (mut rule, mut component) = (None, None);
    for _ in 0..n {
        let (k_at, k) = r.key(&mut keys)?;
        match k {
            fk::RULE => rule = Some(read_rule(r, l).map_err(at("rule"))?),
            fk::COMPONENT => {
                let t = r.text(Limit::TextBytes, l.max_text_bytes, false);
                component = Some(t.map_err(at("component"))?);
            }
            _ => return Err(unknown_key(k_at, k)),
        }
    }
    Ok(Refusal {
        component,
        rule: need(rule, map_at, "rule")?,
    })
}

fn read_rule(r: &mut Reader<'_>, l: &Limits) -> Result<RefusalRule> {
    let p = r.pos();
    let n = r.array_len()?;
    if n == 0 {
        return Err(err(p, DecodeError::EmptyList));
    }
    let code_at = r.pos();
    let code = r.uint()?;
    let arity = rule::arity(code).ok_or_else(|| {
        err(
            code_at,
            DecodeError::UnknownCode {
                what: "refusal rule",
                code,
            },
        )
    })?;
    if n != arity {
        return Err(err(
            p,
            DecodeError::WrongType {
                expected: "refusal rule record of its length",
                found: "array of another length",
            },
        ));
    }
    let text = |r: &mut Reader<'_>| r.text(Limit::TextBytes, l.max_text_bytes, true);
    let detail = |r: &mut Reader<'_>| r.text(Limit::DetailBytes, l.max_detail_bytes, true);
    Ok(match code {
        rule::INVALID_MANIFEST => RefusalRule::InvalidManifest { detail: detail(r)? },
        rule::WRONG_VENDOR => RefusalRule::WrongVendor,
        rule::WRONG_CLASS => RefusalRule::WrongClass,
        rule::WRONG_HARDWARE => RefusalRule::WrongHardware { revision: text(r)? },
        rule::EXPIRED => RefusalRule::Expired {
            expires_at: r.uint()?,
            now: r.uint()?,
        },
        rule::SEQUENCE_NOT_NEWER => RefusalRule::SequenceNotNewer {
            sequence: r.uint()?,
            accepted: r.uint()?,
        },
        rule::SECURITY_COUNTER_BELOW_FLOOR => RefusalRule::SecurityCounterBelowFloor {
            counter: r.uint()?,
            floor: r.uint()?,
        },
        rule::OUTSIDE_UPGRADE_PATH => RefusalRule::OutsideUpgradePath {
            installed: text(r)?,
            upgrade_from: text(r)?,
        },
        rule::UNMET_DEPENDENCY => RefusalRule::UnmetDependency {
            on: text(r)?,
            req: text(r)?,
            installed: if r.null()? { None } else { Some(text(r)?) },
        },
        rule::DUPLICATE_INSTALLED => RefusalRule::DuplicateInstalled,
        rule::UNVERIFIED => RefusalRule::Unverified { detail: detail(r)? },
        _ => RefusalRule::JobExpired {
            expires_at: r.uint()?,
            now: r.uint()?,
        },
    })
}
