//! The report: per ring outcomes from the server's records, refusals apart, the gate's end.

use std::collections::{BTreeMap, HashMap};

use ota_examples::table::{Table, count};
use ota_protocol::Status;
use ota_server::DeploymentRecord;

use crate::RING_NAMES;
use crate::device::Profile;
use crate::vendor::HW;

/// The per-ring table and the refusal and failure reasons, from the server's records.
pub fn ring_report(
    dep: &DeploymentRecord,
    executions: &[ota_server::ExecutionRecord],
    profiles: &[Profile],
) -> String {
    let mut t = Table::new([
        "ring",
        "devices",
        "offered",
        "installed",
        "refused",
        "rolled back",
        "failed",
        "canceled",
        "never offered",
    ]);
    for (k, ring) in dep.rollout.rings().iter().enumerate() {
        let mine: Vec<_> = executions.iter().filter(|e| e.member.ring == k).collect();
        let n = |f: &dyn Fn(&Status) -> bool| {
            count(mine.iter().filter(|e| f(&e.execution.status)).count() as u64)
        };
        t.row([
            RING_NAMES.get(k).copied().unwrap_or("?").to_owned(),
            count(ring.stats.size),
            count(mine.len() as u64),
            n(&|s| matches!(s, Status::Succeeded)),
            n(&|s| matches!(s, Status::Rejected { .. })),
            n(&|s| matches!(s, Status::Failed { reverted: true, .. })),
            n(&|s| {
                matches!(
                    s,
                    Status::Failed {
                        reverted: false,
                        ..
                    } | Status::TimedOut
                )
            }),
            n(&|s| matches!(s, Status::Canceled)),
            count(ring.stats.size.saturating_sub(mine.len() as u64)),
        ]);
    }
    let mut text = t.render("  ");
    let hw_of: HashMap<&str, usize> = profiles
        .iter()
        .map(|p| (p.id.as_str(), p.hardware))
        .collect();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut refused_hw = [0u64; 3];
    for e in executions {
        let line = match &e.execution.status {
            Status::Rejected { refusal } => {
                if let Some(h) = hw_of.get(e.device.as_str()) {
                    refused_hw[*h] += 1;
                }
                format!("refused     x  {:?}", refusal.rule)
            }
            Status::Failed {
                stage,
                reason,
                reverted,
                detail,
            } => format!(
                "{} x  stage {stage}, {reason:?}{}",
                if *reverted {
                    "rolled back"
                } else {
                    "failed     "
                },
                detail
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
            _ => continue,
        };
        *reasons.entry(line).or_default() += 1;
    }
    for (line, n) in reasons {
        let (head, tail) = line.split_once(" x ").unwrap_or((&line, ""));
        text += &format!("    {} {} x {}\n", head.trim_end(), count(n), tail.trim());
    }
    if refused_hw.iter().any(|&n| n > 0) {
        text += &format!(
            "  refused by revision: {} (counted apart: never a success or a failure for the gate; \
             tally {})\n",
            HW.iter()
                .zip(refused_hw)
                .map(|(h, n)| format!("{h} {}", count(n)))
                .collect::<Vec<_>>()
                .join(", "),
            count(dep.tally.iter().map(|t| t.rejected).sum())
        );
    }
    text
}

/// When each ring opened, and how the rollout ended (with the gate's verdict on an abort).
pub fn gate_lines(dep: &DeploymentRecord) -> String {
    let mut text = String::from("  gate decisions:\n");
    for (k, ring) in dep.rollout.rings().iter().enumerate().skip(1) {
        if let Some(at) = ring.opened_at {
            text += &format!(
                "    +{:>3} s  promote {} -> {}\n",
                at.saturating_sub(dep.created_at),
                RING_NAMES.get(k - 1).copied().unwrap_or("?"),
                RING_NAMES.get(k).copied().unwrap_or("?"),
            );
        }
    }
    let at = dep.last_now.saturating_sub(dep.created_at);
    match dep.rollout.status() {
        ota_rollout::Status::Completed => {
            text += &format!("    +{at:>3} s  complete: every device of every ring reported\n");
            text += "  status: completed\n";
        }
        ota_rollout::Status::Aborted { ring, verdict } => {
            let name = RING_NAMES.get(*ring).copied().unwrap_or("?");
            text += &format!("    +{at:>3} s  ABORT at {name}  {verdict}\n");
            let received: usize = dep
                .rollout
                .rings()
                .iter()
                .map(|r| r.stats.started as usize)
                .sum();
            let later: u64 = dep
                .rollout
                .rings()
                .iter()
                .skip(ring + 1)
                .map(|r| r.stats.started)
                .sum();
            text += &format!(
                "  blast radius: {} devices were offered the release, later rings received it: {}\n",
                count(received as u64),
                count(later)
            );
            text += &format!("  status: aborted at ring {name}\n");
        }
        other => text += &format!("  status: {other:?}\n"),
    }
    text
}
