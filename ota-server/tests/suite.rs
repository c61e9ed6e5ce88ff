//! One test suite, run on both backends: each case on a fresh SQLite file, and all cases on a
//! throwaway PostgreSQL cluster (one database each).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use ota_protocol::{JobExecution, Message, MessageKind, Status, StatusKind};
use ota_rollout::{Assignment, Device};
use ota_server::{DeploymentSpec, Ingested, Outbound, PostgresStore, Server, SqliteStore, Store};

type Open<'a, S> = &'a dyn Fn() -> Server<S>;

fn attrs(hw: &str) -> BTreeMap<String, String> {
    [("hw".to_owned(), hw.to_owned())].into_iter().collect()
}

/// `n` devices, a release `r2`, and deployment `d1` over `shares`.
fn setup<S: Store>(
    s: &mut Server<S>,
    n: usize,
    shares: &[f64],
    max_percent: f64,
    min: u64,
) -> Vec<Outbound> {
    setup_with(s, n, &spec(shares, max_percent, min))
}

/// `n` devices, a release `r2`, and deployment `spec`.
fn setup_with<S: Store>(s: &mut Server<S>, n: usize, spec: &DeploymentSpec) -> Vec<Outbound> {
    for i in 0..n {
        assert!(
            s.register_device(&device_name(i), attrs("a"), NOW)
                .unwrap()
                .is_empty()
        );
    }
    let v = Vendor::new();
    s.add_release("r2", &v.release("2.0.0", 2), artifacts(), &v.trust, NOW)
        .unwrap();
    s.create_deployment(spec, NOW).unwrap()
}

fn spec(shares: &[f64], max_percent: f64, min: u64) -> DeploymentSpec {
    DeploymentSpec {
        id: "d1".into(),
        release: "r2".into(),
        plan: plan(shares, max_percent, min),
        policy: Default::default(),
        execution_timeout_secs: None,
    }
}

fn jobs(out: &[Outbound]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Outbound::Job { device, .. } => Some(device.clone()),
            _ => None,
        })
        .collect()
}

fn current<S: Store>(s: &mut Server<S>, device: &str) -> JobExecution {
    s.execution("d1", device).unwrap().unwrap().execution
}

/// Sends `f(current)` for `device`; returns the outcome.
fn send<S: Store>(
    s: &mut Server<S>,
    device: &str,
    f: fn(&JobExecution) -> JobExecution,
) -> Ingested {
    let e = f(&current(s, device));
    s.handle_execution(device, &e, NOW + 10).unwrap()
}

fn report_ids_make_ingestion_idempotent<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let r = report(7, NOW, "1.0.0");
    assert!(matches!(
        s.handle_report("dev-a", &r, NOW).unwrap(),
        Ingested::Report { .. }
    ));
    assert_eq!(
        s.handle_report("dev-a", &r, NOW).unwrap(),
        Ingested::DuplicateReport
    );
    // An older report (earlier clock) is counted but does not overwrite the inventory.
    let mut old = report(6, NOW - 100, "0.9.0");
    old.boot_count = 1;
    assert!(s.handle_report("dev-a", &old, NOW + 1).unwrap().accepted());
    drop(s);
    // After a restart the redelivery is still recognised.
    let mut s = open();
    assert_eq!(
        s.handle_report("dev-a", &r, NOW + 2).unwrap(),
        Ingested::DuplicateReport
    );
    let d = s.device("dev-a").unwrap().unwrap();
    assert_eq!(d.reports, 2);
    assert_eq!(d.installed[0].version, "1.0.0");
    assert_eq!(d.boot_count, 7);
    assert_eq!(d.last_sent_at, NOW);
    // The same report id from another device is another report.
    assert!(matches!(
        s.handle_report("dev-b", &r, NOW).unwrap(),
        Ingested::Report { .. }
    ));
}

fn first_ring_starts_and_promotion_starts_the_next<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let out = setup(&mut s, 100, &[0.1, 0.9], 50.0, 5);
    let ring0 = jobs(&out);
    assert_eq!(ring0.len(), 10);
    // Each job goes with a desired twin naming the release.
    assert_eq!(out.len(), 20);
    let Some(Outbound::Job { job, .. }) = out.first() else {
        panic!("first message is no job: {out:?}")
    };
    assert_eq!(job.job_id.as_str(), "d1");
    assert_eq!(job.ring, 0);
    assert_eq!(job.images.len(), 1);
    assert_eq!(job.images[0].deltas.len(), 1);
    let twin = s.twin(&ring0[0]).unwrap().unwrap();
    assert_eq!(
        twin.desired().unwrap()["release"]["version"],
        ota_twin::serde_json::json!("2.0.0")
    );
    let mut last = Vec::new();
    for d in &ring0 {
        assert!(send(&mut s, d, in_progress).accepted());
        match send(&mut s, d, succeeded) {
            Ingested::Execution { out, .. } => last = out,
            other => panic!("{other:?}"),
        }
    }
    // The last success of ring 0 promotes: ring 1's 90 jobs come back with it.
    let ring1 = jobs(&last);
    assert_eq!(ring1.len(), 90);
    assert!(ring1.iter().all(|d| !ring0.contains(d)));
    let dep = s.deployment("d1").unwrap();
    assert_eq!(dep.rollout.active_ring(), 1);
    assert_eq!(dep.rollout.rings()[0].stats.succeeded, 10);
    drop(s);
    // Restarted: the jobs a device asks for are there.
    let mut s = open();
    assert_eq!(
        jobs(&s.pending_jobs(&ring1[0]).unwrap()),
        vec![ring1[0].clone()]
    );
    assert!(s.pending_jobs(&ring0[0]).unwrap().is_empty());
}

fn rejected_is_counted_apart_never_as_success<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let out = setup(&mut s, 10, &[1.0], 10.0, 1);
    let devs = jobs(&out);
    assert_eq!(devs.len(), 10);
    for d in &devs[..5] {
        assert!(send(&mut s, d, rejected).accepted());
    }
    let dep = s.deployment("d1").unwrap();
    assert_eq!(dep.tally[0].rejected, 5);
    let stats = dep.rollout.rings()[0].stats;
    assert_eq!((stats.succeeded, stats.failed), (0, 0));
    for d in &devs[5..] {
        assert!(send(&mut s, d, succeeded).accepted());
    }
    let dep = s.deployment("d1").unwrap();
    let stats = dep.rollout.rings()[0].stats;
    assert_eq!((stats.succeeded, stats.failed, stats.refused), (5, 0, 5));
    // Five never installed, but refused: they count for the ring's completion only, so the
    // one-ring rollout is complete, on the five successes.
    assert_eq!(*dep.rollout.status(), ota_rollout::Status::Completed);
    assert_eq!(
        current(&mut s, &devs[0]).status.kind(),
        StatusKind::Rejected
    );
    // A redelivered refusal changes nothing.
    let before = s.deployment("d1").unwrap();
    let again = current(&mut s, &devs[0]);
    assert_eq!(
        s.handle_execution(&devs[0], &again, NOW + 20).unwrap(),
        Ingested::DuplicateExecution
    );
    assert_eq!(s.deployment("d1").unwrap(), before);
}

/// A ring held open by refusing devices alone: the last refusal completes it (threshold gate),
/// in the ingesting transaction.
fn refusals_complete_the_ring<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let out = setup(&mut s, 4, &[1.0], 10.0, 1);
    let devs = jobs(&out);
    assert_eq!(devs.len(), 4);
    for d in &devs[..3] {
        assert!(send(&mut s, d, succeeded).accepted());
    }
    let dep = s.deployment("d1").unwrap();
    assert_eq!(*dep.rollout.status(), ota_rollout::Status::Running);
    assert!(send(&mut s, &devs[3], rejected).accepted());
    let dep = s.deployment("d1").unwrap();
    assert_eq!(*dep.rollout.status(), ota_rollout::Status::Completed);
    assert_eq!(dep.rollout.refused(), 1);
    assert_eq!(dep.tally[0].rejected, 1);
    drop(s);
    // Persisted: a restarted server reads the same rollout.
    let mut s = open();
    assert_eq!(s.deployment("d1").unwrap(), dep);
}

fn failures_abort_and_cancel_the_queued<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let out = setup(&mut s, 50, &[0.2, 0.8], 0.0, 2);
    let devs = jobs(&out);
    assert_eq!(devs.len(), 10);
    assert!(send(&mut s, &devs[0], in_progress).accepted());
    assert!(send(&mut s, &devs[1], failed).accepted());
    let Ingested::Execution { out, .. } = send(&mut s, &devs[2], failed) else {
        panic!("not applied")
    };
    let dep = s.deployment("d1").unwrap();
    assert!(matches!(
        dep.rollout.status(),
        ota_rollout::Status::Aborted { ring: 0, .. }
    ));
    // The 7 still queued are canceled and told so; the one in progress goes on.
    let canceled: Vec<&str> = out
        .iter()
        .filter_map(|o| match o {
            Outbound::Execution { device, execution } => {
                assert_eq!(execution.status, Status::Canceled);
                Some(device.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(canceled.len(), 7);
    assert_eq!(dep.tally[0].canceled, 7);
    assert_eq!(current(&mut s, &devs[3]).status, Status::Canceled);
    assert_eq!(
        current(&mut s, &devs[0]).status.kind(),
        StatusKind::InProgress
    );
    // A canceled device's late update is refused; the one in progress may still finish.
    assert!(matches!(
        send(&mut s, &devs[3], in_progress),
        Ingested::Refused(_)
    ));
    assert!(send(&mut s, &devs[0], succeeded).accepted());
    let dep = s.deployment("d1").unwrap();
    assert_eq!(dep.rollout.rings()[0].stats.failed, 2);
    assert_eq!(
        dep.rollout.rings()[0].stats.succeeded,
        0,
        "not fed after the abort"
    );
}

fn executions_are_idempotent_with_history<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let devs = jobs(&setup(&mut s, 10, &[1.0], 50.0, 5));
    let d = &devs[0];
    let q = current(&mut s, d);
    let v2 = in_progress(&q);
    let v3 = succeeded(&v2);
    assert!(matches!(
        s.handle_execution(d, &v2, NOW).unwrap(),
        Ingested::Execution { .. }
    ));
    assert_eq!(
        s.handle_execution(d, &v2, NOW).unwrap(),
        Ingested::DuplicateExecution
    );
    assert!(matches!(
        s.handle_execution(d, &v3, NOW).unwrap(),
        Ingested::Execution { .. }
    ));
    drop(s);
    let mut s = open();
    // Redeliveries after a restart, of the last and of an older version: no change.
    assert_eq!(
        s.handle_execution(d, &v3, NOW).unwrap(),
        Ingested::DuplicateExecution
    );
    assert_eq!(
        s.handle_execution(d, &v2, NOW).unwrap(),
        Ingested::DuplicateExecution
    );
    // A different update claiming an applied version is refused.
    assert!(matches!(
        s.handle_execution(d, &failed(&q), NOW).unwrap(),
        Ingested::Refused(_)
    ));
    let versions: Vec<u64> = s
        .history("d1", d)
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, vec![1, 2, 3]);
    assert_eq!(
        s.deployment("d1").unwrap().rollout.rings()[0]
            .stats
            .succeeded,
        1
    );
}

/// A device that sends endless progress updates cannot grow its history without bound: the
/// first 256 versions are kept, later progress is applied but not kept, the outcome is.
fn history_is_bounded<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let devs = jobs(&setup(&mut s, 4, &[1.0], 50.0, 5));
    let d = &devs[0];
    let mut e = current(&mut s, d);
    for _ in 0..300 {
        e = in_progress(&e);
        assert!(matches!(
            s.handle_execution(d, &e, NOW).unwrap(),
            Ingested::Execution { .. }
        ));
    }
    let done = succeeded(&e);
    assert!(matches!(
        s.handle_execution(d, &done, NOW).unwrap(),
        Ingested::Execution { .. }
    ));
    let versions: Vec<u64> = s
        .history("d1", d)
        .unwrap()
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions.len(), 257, "{:?}", versions.last());
    assert_eq!(versions.last(), Some(&done.version));
    assert_eq!(current(&mut s, d), done);
    // A redelivery of a kept version is a duplicate; of the outcome too.
    assert_eq!(
        s.handle_execution(d, &done, NOW).unwrap(),
        Ingested::DuplicateExecution
    );
}

fn timeouts_and_expiry_time_executions_out<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let mut sp = spec(&[1.0], 50.0, 4);
    sp.execution_timeout_secs = Some(3600);
    sp.policy.expires_at = Some(NOW + 600);
    let devs = jobs(&setup_with(&mut s, 10, &sp));
    assert_eq!(devs.len(), 10);
    // devs[0] starts, devs[1] finishes; the rest stay queued.
    assert!(send(&mut s, &devs[0], in_progress).accepted());
    assert!(send(&mut s, &devs[1], succeeded).accepted());
    assert!(s.tick(NOW + 599).unwrap().is_empty());
    // At the job's expiry the 8 still queued time out (a device would refuse to start them),
    // in device order; timeouts are failures for the gate: after the third, 3 of 4 reports
    // failed (over 50%, with 4 reports), the rollout aborts and the other 5 are canceled.
    let out = s.tick(NOW + 600).unwrap();
    let count = |st: Status| {
        out.iter()
            .filter(
                |o| matches!(o, Outbound::Execution { execution, .. } if execution.status == st),
            )
            .count()
    };
    assert_eq!((count(Status::TimedOut), count(Status::Canceled)), (3, 5));
    assert_eq!(
        current(&mut s, &devs[0]).status.kind(),
        StatusKind::InProgress
    );
    let dep = s.deployment("d1").unwrap();
    assert_eq!((dep.tally[0].timed_out, dep.tally[0].canceled), (3, 5));
    assert!(matches!(
        dep.rollout.status(),
        ota_rollout::Status::Aborted { .. }
    ));
    assert_eq!(dep.rollout.rings()[0].stats.failed, 3);
    // The one in progress is past its own timeout an hour after it was queued: the deployment
    // is over, but its open execution still times out (counted in the tally, not by the gate).
    let out = s.tick(NOW + 3600).unwrap();
    assert_eq!(
        jobs_or_updates(&out),
        vec![(devs[0].clone(), StatusKind::TimedOut)]
    );
    let dep = s.deployment("d1").unwrap();
    assert_eq!(dep.tally[0].timed_out, 4);
    assert_eq!(dep.rollout.rings()[0].stats.failed, 3);
    assert!(s.tick(NOW + 7200).unwrap().is_empty());
}

fn jobs_or_updates(out: &[Outbound]) -> Vec<(String, StatusKind)> {
    out.iter()
        .filter_map(|o| match o {
            Outbound::Execution { device, execution } => {
                Some((device.clone(), execution.status.kind()))
            }
            _ => None,
        })
        .collect()
}

fn timeout_without_expiry<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let mut sp = spec(&[1.0], 50.0, 4);
    sp.execution_timeout_secs = Some(3600);
    let devs = jobs(&setup_with(&mut s, 4, &sp));
    for d in &devs[..3] {
        assert!(send(&mut s, d, succeeded).accepted());
    }
    assert!(send(&mut s, &devs[3], in_progress).accepted());
    assert!(s.tick(NOW + 3599).unwrap().is_empty());
    let out = s.tick(NOW + 3600).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(current(&mut s, &devs[3]).status, Status::TimedOut);
    let dep = s.deployment("d1").unwrap();
    // Three successes and one timeout: every device reported, 25% is under 50%: complete.
    assert_eq!(*dep.rollout.status(), ota_rollout::Status::Completed);
    assert_eq!(dep.rollout.rings()[0].stats.failed, 1);
    let kinds: Vec<StatusKind> = s
        .history("d1", &devs[3])
        .unwrap()
        .iter()
        .map(|e| e.status.kind())
        .collect();
    assert_eq!(
        kinds,
        vec![
            StatusKind::Queued,
            StatusKind::InProgress,
            StatusKind::TimedOut
        ]
    );
}

fn late_joiners_get_their_hash_ring<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let out = setup(&mut s, 40, &[0.5, 0.5], 50.0, 100);
    let ring0 = jobs(&out);
    let plan = plan(&[0.5, 0.5], 50.0, 100);
    // Two newcomers: the first whose hash puts it in ring 0, the first in ring 1.
    let mut by_ring: [Option<String>; 2] = [None, None];
    for i in 1000..1200 {
        let id = device_name(i);
        let dev = Device {
            id: id.clone(),
            attributes: attrs("a"),
        };
        if let Assignment::Ring(r) = plan.assign(&dev)
            && by_ring[r].is_none()
        {
            by_ring[r] = Some(id);
        }
    }
    let [Some(early), Some(late)] = by_ring else {
        panic!("no newcomer in each ring")
    };
    assert_eq!(
        jobs(&s.register_device(&early, attrs("a"), NOW).unwrap()),
        vec![early.clone()]
    );
    assert!(
        s.register_device(&late, attrs("a"), NOW)
            .unwrap()
            .is_empty()
    );
    let e = s.execution("d1", &early).unwrap().unwrap();
    assert_eq!((e.member.ring, e.member.index), (0, None));
    // A newcomer first seen through a report joins the same way.
    assert!(s.execution("d1", &late).unwrap().is_none());
    let mut last = Vec::new();
    for d in &ring0 {
        if let Ingested::Execution { out, .. } = send(&mut s, d, succeeded) {
            last = out;
        }
    }
    let started = jobs(&last);
    assert!(
        started.contains(&late),
        "promotion starts the waiting late joiner"
    );
    assert_eq!(s.execution("d1", &late).unwrap().unwrap().member.ring, 1);
    // The late joiners' outcomes are counted beside the gate, not in it.
    assert!(send(&mut s, &early, succeeded).accepted());
    assert!(send(&mut s, &late, failed).accepted());
    let dep = s.deployment("d1").unwrap();
    assert_eq!(
        (dep.tally[0].late_queued, dep.tally[0].late_succeeded),
        (1, 1)
    );
    assert_eq!((dep.tally[1].late_queued, dep.tally[1].late_failed), (1, 1));
    assert_eq!(dep.rollout.rings()[0].stats.succeeded, ring0.len() as u64);
    assert_eq!(dep.rollout.rings()[1].stats.failed, 0);
}

/// A device that joins an open ring while the rollout is paused gets no job then (nothing
/// starts while paused), and gets it when a human resumes the rollout.
fn late_joiner_during_a_pause_is_queued_on_resume<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    setup(&mut s, 10, &[0.5, 0.5], 50.0, 100);
    let plan = plan(&[0.5, 0.5], 50.0, 100);
    let newcomer = (1000..1200)
        .map(device_name)
        .find(|id| {
            let dev = Device {
                id: id.clone(),
                attributes: attrs("a"),
            };
            plan.assign(&dev) == Assignment::Ring(0)
        })
        .expect("a newcomer in ring 0");
    let pause = ota_rollout::Event::Pause {
        note: "look at the dashboards".into(),
    };
    s.operator_event("d1", pause, NOW).unwrap();
    assert!(
        s.register_device(&newcomer, attrs("a"), NOW)
            .unwrap()
            .is_empty()
    );
    assert!(s.execution("d1", &newcomer).unwrap().is_none());
    let out = s
        .operator_event("d1", ota_rollout::Event::Resume, NOW + 1)
        .unwrap();
    assert_eq!(jobs(&out), vec![newcomer.clone()]);
    let e = s.execution("d1", &newcomer).unwrap().unwrap();
    assert_eq!((e.member.ring, e.member.index), (0, None));
    assert_eq!(s.deployment("d1").unwrap().tally[0].late_queued, 1);
    // Resumed again after another pause: nothing is queued twice.
    let pause = ota_rollout::Event::Pause {
        note: "again".into(),
    };
    s.operator_event("d1", pause, NOW + 2).unwrap();
    let out = s
        .operator_event("d1", ota_rollout::Event::Resume, NOW + 3)
        .unwrap();
    assert!(jobs(&out).is_empty());
}

/// A late joiner queued while its ring was open keeps its job after the rollout completes:
/// `jobs/get` still returns it, and `tick` still times it out (counted in the tally only).
fn a_late_joiners_job_outlives_the_rollout<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let spec = DeploymentSpec {
        execution_timeout_secs: Some(100),
        ..spec(&[1.0], 50.0, 100)
    };
    let ring = jobs(&setup_with(&mut s, 4, &spec));
    assert_eq!(ring.len(), 4);
    let late = device_name(1000);
    assert_eq!(
        jobs(&s.register_device(&late, attrs("a"), NOW).unwrap()),
        vec![late.clone()]
    );
    for d in &ring {
        assert!(send(&mut s, d, succeeded).accepted());
    }
    assert!(
        !s.deployment("d1").unwrap().is_open(),
        "the rollout completed"
    );
    assert_eq!(jobs(&s.pending_jobs(&late).unwrap()), vec![late.clone()]);
    assert!(s.pending_jobs(&ring[0]).unwrap().is_empty());
    // Past its timeout: TIMED_OUT, told to the device, counted beside the gate.
    let out = s.tick(NOW + 200).unwrap();
    assert!(out.iter().any(|o| matches!(
        o,
        Outbound::Execution { device, execution } if device == &late
            && execution.status.kind() == ota_protocol::StatusKind::TimedOut
    )));
    let dep = s.deployment("d1").unwrap();
    assert_eq!((dep.tally[0].timed_out, dep.tally[0].late_failed), (1, 1));
    assert!(s.pending_jobs(&late).unwrap().is_empty());
    // Nothing is left for the next tick.
    assert!(s.tick(NOW + 300).unwrap().is_empty());
}

fn newcomer_by_report_joins<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    setup(&mut s, 4, &[1.0], 50.0, 100);
    let Ingested::Report { out } = s
        .handle_report("newcomer", &report(1, NOW, "1.0.0"), NOW)
        .unwrap()
    else {
        panic!("not a new report")
    };
    assert_eq!(jobs(&out), vec!["newcomer".to_owned()]);
    // Its redelivered first report queues nothing again.
    assert_eq!(
        s.handle_report("newcomer", &report(1, NOW, "1.0.0"), NOW)
            .unwrap(),
        Ingested::DuplicateReport
    );
}

fn cancellation_of_a_deployment<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let devs = jobs(&setup(&mut s, 6, &[1.0], 50.0, 100));
    assert!(send(&mut s, &devs[0], in_progress).accepted());
    assert!(send(&mut s, &devs[1], in_progress).accepted());
    assert!(send(&mut s, &devs[2], succeeded).accepted());
    let out = s
        .cancel_deployment("d1", "bad build", false, NOW + 5)
        .unwrap();
    assert_eq!(out.len(), 3, "only the queued ones: {out:?}");
    assert_eq!(current(&mut s, &devs[3]).status, Status::Canceled);
    assert_eq!(
        current(&mut s, &devs[0]).status.kind(),
        StatusKind::InProgress
    );
    assert!(
        s.cancel_deployment("d1", "again", true, NOW + 6).is_err(),
        "over already"
    );
    // A forced cancel of another deployment also stops those in progress.
    let v = Vendor::new();
    s.add_release("r3", &v.release("3.0.0", 3), vec![], &v.trust, NOW)
        .unwrap();
    let mut sp = spec(&[1.0], 50.0, 100);
    sp.id = "d2".into();
    sp.release = "r3".into();
    let devs2 = jobs(&s.create_deployment(&sp, NOW + 7).unwrap());
    let e = in_progress(&s.execution("d2", &devs2[0]).unwrap().unwrap().execution);
    assert!(
        s.handle_execution(&devs2[0], &e, NOW + 8)
            .unwrap()
            .accepted()
    );
    let out = s.cancel_deployment("d2", "stop", true, NOW + 9).unwrap();
    assert_eq!(out.len(), 6);
    let e = s.execution("d2", &devs2[0]).unwrap().unwrap().execution;
    assert_eq!(e.status, Status::Canceled);
    let dep = s.deployment("d2").unwrap();
    assert_eq!(dep.tally[0].canceled, 6);
    assert!(!dep.is_open());
}

fn unknown_and_unexpected_messages<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let devs = jobs(&setup(&mut s, 3, &[1.0], 50.0, 100));
    let stray = JobExecution::queued(job("nope"), 1).next(Status::Succeeded);
    assert_eq!(
        s.handle_execution(&devs[0], &stray, NOW).unwrap(),
        Ingested::UnknownJob("nope".into())
    );
    // A device with no execution of d1.
    let e = succeeded(&current(&mut s, &devs[0]));
    assert_eq!(
        s.handle_execution("stranger", &e, NOW).unwrap(),
        Ingested::UnknownJob("d1".into())
    );
    let m = Message::Job(ota_server_job(&mut s));
    assert_eq!(
        s.handle_message(&devs[0], &m, NOW).unwrap(),
        Ingested::Unexpected(MessageKind::Job)
    );
    assert!(s.handle_cbor(&devs[0], &[0xff, 0x00], NOW).is_err());
    // The CBOR entry point applies a real update.
    let bytes = Message::Execution(e.clone()).to_cbor().unwrap();
    assert!(matches!(
        s.handle_cbor(&devs[0], &bytes, NOW).unwrap(),
        Ingested::Execution { .. }
    ));
    let text = Message::Execution(e).to_json().unwrap();
    assert_eq!(
        s.handle_json(&devs[0], &text, NOW).unwrap(),
        Ingested::DuplicateExecution
    );
}

fn ota_server_job<S: Store>(s: &mut Server<S>) -> ota_protocol::JobDocument {
    match s.pending_jobs(&device_name(0)).unwrap().into_iter().next() {
        Some(Outbound::Job { job, .. }) => job,
        other => panic!("{other:?}"),
    }
}

fn reported_twins<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let devs = jobs(&setup(&mut s, 2, &[1.0], 50.0, 100));
    let before = s.twin(&devs[0]).unwrap().unwrap().version();
    let ok = s
        .handle_twin_reported(&devs[0], br#"{"state":{"reported":{"fw":"2.0.0"}}}"#, NOW)
        .unwrap();
    assert_eq!(
        ok,
        Ingested::Twin {
            version: before + 1
        }
    );
    let refused = s
        .handle_twin_reported(&devs[0], br#"{"state":{"desired":{"fw":"9"}}}"#, NOW)
        .unwrap();
    assert_eq!(refused, Ingested::TwinRefused);
    let t = s.twin(&devs[0]).unwrap().unwrap();
    assert_eq!(
        t.reported().unwrap()["fw"],
        ota_twin::serde_json::json!("2.0.0")
    );
    assert_eq!(
        t.desired().unwrap()["release"]["version"],
        ota_twin::serde_json::json!("2.0.0")
    );
    assert!(s.handle_twin_reported(&devs[0], b"not json", NOW).is_err());
}

fn releases_are_verified<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let v = Vendor::new();
    let mut env = v.release("2.0.0", 2);
    let last = env.len() - 1;
    env[last] ^= 1;
    assert!(matches!(
        s.add_release("bad", &env, vec![], &v.trust, NOW),
        Err(ota_server::Error::Unverified { .. })
    ));
    let mut arts = artifacts();
    arts[1].component = "nope".into();
    assert!(matches!(
        s.add_release("r", &v.release("2.0.0", 2), arts, &v.trust, NOW),
        Err(ota_server::Error::UnknownComponent { index: 1, .. })
    ));
    // A release whose job document the protocol would refuse (a URI over its 1 KiB limit)
    // is refused here, not at every device.
    let mut arts = artifacts();
    arts[0].uri = format!("https://cdn.example/{}", "a".repeat(2000));
    assert!(matches!(
        s.add_release("r", &v.release("2.0.0", 2), arts, &v.trust, NOW),
        Err(ota_server::Error::Protocol { .. })
    ));
    let r = s
        .add_release("r", &v.release("2.0.0", 2), artifacts(), &v.trust, NOW)
        .unwrap();
    assert_eq!((r.version.as_str(), r.sequence), ("2.0.0", 2));
    assert!(r.delta_for("fw", &ota_protocol::Sha256([1; 32])).is_some());
    assert!(matches!(
        s.add_release("r", &v.release("2.0.0", 2), vec![], &v.trust, NOW),
        Err(ota_server::Error::Exists { .. })
    ));
    assert!(matches!(
        s.create_deployment(
            &DeploymentSpec {
                release: "missing".into(),
                ..spec(&[1.0], 1.0, 1)
            },
            NOW
        ),
        Err(ota_server::Error::UnknownRelease(_))
    ));
}

fn bulk_registration_is_one_transaction_like_single_ones<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let batch: Vec<(String, BTreeMap<String, String>)> =
        (0..30).map(|i| (device_name(i), attrs("a"))).collect();
    // Nothing deployed yet: no jobs.
    assert!(s.register_devices(&batch[..20], NOW).unwrap().is_empty());
    // Again with known devices (attributes replaced) and new ones.
    let mut again = batch.clone();
    again[3].1 = attrs("c");
    assert!(s.register_devices(&again, NOW).unwrap().is_empty());
    assert_eq!(
        s.device(&device_name(3)).unwrap().unwrap().attributes,
        attrs("c")
    );
    assert!(s.device(&device_name(29)).unwrap().is_some());
    let v = Vendor::new();
    s.add_release("r2", &v.release("2.0.0", 2), artifacts(), &v.trust, NOW)
        .unwrap();
    let first = jobs(
        &s.create_deployment(&spec(&[0.5, 0.5], 50.0, 100), NOW)
            .unwrap(),
    );
    assert!(!first.is_empty() && first.len() < 30);
    // Late joiners in a batch get their jobs where their hash's ring is open (ring 0), in
    // input order, as single registrations do.
    let newcomers: Vec<(String, BTreeMap<String, String>)> =
        (100..140).map(|i| (device_name(i), attrs("a"))).collect();
    let plan = plan(&[0.5, 0.5], 50.0, 100);
    let expected: Vec<String> = newcomers
        .iter()
        .filter(|(id, a)| {
            plan.assign(&Device {
                id: id.clone(),
                attributes: a.clone(),
            }) == Assignment::Ring(0)
        })
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        jobs(&s.register_devices(&newcomers, NOW).unwrap()),
        expected
    );
    for (id, _) in &newcomers {
        assert_eq!(
            s.execution("d1", id).unwrap().is_some(),
            expected.contains(id),
            "{id}"
        );
    }
}

/// A crash-rate check against the previous release: 100 crashes over 10,000 device-hours
/// (0.01/h), detecting a doubling.
fn crash_check(on_regression: ota_rollout::FailAction) -> ota_rollout::HealthCheck {
    ota_rollout::HealthCheck {
        metric: "crashes".into(),
        baseline: ota_rollout::Baseline::Rate {
            events: 100,
            device_hours: 10_000.0,
        },
        ratio: 2.0,
        alpha: 0.05,
        beta: 0.1,
        min_exposure: 0.0,
        dispersion: 1.0,
        on_regression,
    }
}

/// A report `hours` of uptime after the install with a cumulative crash counter.
fn health_report(id: u64, hours: u64, crashes: f64) -> ota_protocol::DeviceReport {
    let mut r = report(id, NOW + id, "2.0.0");
    r.uptime_since_install = Some(hours * 3600);
    r.health.insert("crashes".into(), crashes);
    r
}

/// 100 devices over 10% / 90% with a crash-rate check on every ring; ring 0 installs the
/// release (all SUCCEEDED). Returns ring 0's devices.
fn health_setup<S: Store>(
    s: &mut Server<S>,
    on_regression: ota_rollout::FailAction,
) -> Vec<String> {
    for i in 0..100 {
        s.register_device(&device_name(i), attrs("a"), NOW).unwrap();
    }
    let v = Vendor::new();
    s.add_release("r2", &v.release("2.0.0", 2), artifacts(), &v.trust, NOW)
        .unwrap();
    let spec = spec(&[0.1, 0.9], 50.0, 5).with_health_checks(&[crash_check(on_regression)]);
    let ring0 = jobs(&s.create_deployment(&spec, NOW).unwrap());
    assert_eq!(ring0.len(), 10);
    for d in &ring0 {
        assert!(send(s, d, in_progress).accepted());
        assert!(send(s, d, succeeded).accepted());
    }
    // Every device succeeded, but the health check holds the promotion until it decides.
    let dep = s.deployment("d1").unwrap();
    assert_eq!(dep.rollout.active_ring(), 0);
    assert_eq!(*dep.rollout.status(), ota_rollout::Status::Running);
    ring0
}

fn crash_rate_regression_aborts<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let ring0 = health_setup(&mut s, ota_rollout::FailAction::Abort);
    // 3 crashes in 48 hours per device: 0.0625/h against the baseline's 0.01/h.
    let out = match s.handle_report(&ring0[0], &health_report(1, 48, 3.0), NOW + 100) {
        Ok(Ingested::Report { out }) => out,
        other => panic!("{other:?}"),
    };
    assert!(out.is_empty(), "{out:?}");
    let dep = s.deployment("d1").unwrap();
    assert!(dep.is_open(), "one report is not enough evidence");
    assert_eq!(dep.tally[0].telemetry, 1);
    s.handle_report(&ring0[1], &health_report(1, 48, 3.0), NOW + 101)
        .unwrap();
    let dep = s.deployment("d1").unwrap();
    let ota_rollout::Status::Aborted { ring, verdict } = dep.rollout.status() else {
        panic!("not aborted: {:?}", dep.rollout.status())
    };
    assert_eq!(*ring, 0);
    let ota_rollout::Why::HealthRegressed { status, device } = &verdict.why else {
        panic!("{verdict:?}")
    };
    assert_eq!(status.metric, "crashes");
    assert_eq!(status.reports, 2);
    assert!((status.exposure - 96.0).abs() < 1e-9, "{status:?}");
    assert_eq!(device.as_deref(), Some(ring0[1].as_str()));
    // Ring 1 never started.
    assert_eq!(s.executions("d1").unwrap().len(), 10);
}

fn crash_rate_regression_pauses_by_default_and_healthy_release_is_promoted<S: Store>(
    open: Open<'_, S>,
) {
    let mut s = open();
    let ring0 = health_setup(&mut s, ota_rollout::FailAction::Pause);
    // No crash in 48 hours per device: after 5 devices (240 device-hours) the check finds no
    // regression (Wald's lower bound), and ring 1 starts.
    let mut started = Vec::new();
    for (k, d) in ring0.iter().enumerate() {
        let Ingested::Report { out } = s
            .handle_report(d, &health_report(1, 48, 0.0), NOW + 100)
            .unwrap()
        else {
            panic!()
        };
        if !out.is_empty() {
            assert_eq!(k, 4, "promoted after {} reports", k + 1);
            started = jobs(&out);
            break;
        }
    }
    assert_eq!(started.len(), 90);
    let dep = s.deployment("d1").unwrap();
    assert_eq!(dep.rollout.active_ring(), 1);
    assert_eq!(
        dep.rollout.health(0)[0].decision,
        ota_rollout::HealthDecision::Promote
    );
    // Ring 1's regression pauses (the check's `on_regression`).
    for d in &started[..5] {
        assert!(send(&mut s, d, in_progress).accepted());
        assert!(send(&mut s, d, succeeded).accepted());
    }
    for d in &started[..5] {
        s.handle_report(d, &health_report(1, 48, 10.0), NOW + 200)
            .unwrap();
    }
    let dep = s.deployment("d1").unwrap();
    assert!(
        matches!(
            dep.rollout.status(),
            ota_rollout::Status::Paused { ring: 1, .. }
        ),
        "{:?}",
        dep.rollout.status()
    );
}

fn redelivered_report_counts_once<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    let ring0 = health_setup(&mut s, ota_rollout::FailAction::Abort);
    let dev = &ring0[0];
    // A report of a device that did not install the release is no telemetry of it.
    let outsider = (0..100)
        .map(device_name)
        .find(|d| !ring0.contains(d))
        .unwrap();
    s.handle_report(&outsider, &health_report(1, 48, 100.0), NOW + 50)
        .unwrap();
    let first = health_report(1, 24, 1.0);
    s.handle_report(dev, &first, NOW + 100).unwrap();
    assert_eq!(
        s.handle_report(dev, &first, NOW + 101).unwrap(),
        Ingested::DuplicateReport
    );
    drop(s);
    // After a restart the redelivery is still recognised.
    let mut s = open();
    assert_eq!(
        s.handle_report(dev, &first, NOW + 102).unwrap(),
        Ingested::DuplicateReport
    );
    // The next report counts the increase since the first: 24 more hours, 1 more crash.
    s.handle_report(dev, &health_report(2, 48, 2.0), NOW + 103)
        .unwrap();
    // A malformed counter is refused and counted apart; the report itself is recorded.
    assert!(
        s.handle_report(dev, &health_report(3, 72, 2.5), NOW + 104)
            .unwrap()
            .accepted()
    );
    let dep = s.deployment("d1").unwrap();
    let h = &dep.rollout.health(0)[0];
    assert_eq!(h.reports, 2);
    assert!((h.exposure - 48.0).abs() < 1e-9, "{h:?}");
    assert!((h.observed - 2.0 / 48.0).abs() < 1e-12, "{h:?}");
    assert_eq!(dep.tally[0].telemetry, 2);
    assert_eq!(dep.tally[0].telemetry_refused, 1);
    assert!(dep.is_open());
}

fn deployment_jobs_drain_in_pages<S: Store>(open: Open<'_, S>) {
    let mut s = open();
    for i in 0..100 {
        s.register_device(&device_name(i), attrs("a"), NOW).unwrap();
    }
    let v = Vendor::new();
    s.add_release("r2", &v.release("2.0.0", 2), artifacts(), &v.trust, NOW)
        .unwrap();
    assert_eq!(
        s.create_deployment_queued(&spec(&[0.3, 0.7], 50.0, 5), NOW)
            .unwrap(),
        30
    );
    let queued: Vec<String> = s
        .executions("d1")
        .unwrap()
        .into_iter()
        .map(|e| e.device)
        .collect();
    assert_eq!(queued.len(), 30);
    // Drained 7 devices (14 messages) at a time, in device order, each once.
    let mut drained = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let (out, next) = s.queued_jobs("d1", after.as_deref(), 7).unwrap();
        pages += 1;
        assert!(out.len() <= 14);
        for o in &out {
            match o {
                Outbound::Job { device, job } => {
                    assert_eq!(job.job_id.as_str(), "d1");
                    assert_eq!(job.ring, 0);
                    drained.push(device.clone());
                }
                Outbound::Desired {
                    device, desired, ..
                } => {
                    assert_eq!(drained.last(), Some(device));
                    assert_eq!(desired["release"]["version"], "2.0.0");
                }
                other => panic!("{other:?}"),
            }
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(drained, queued);
    assert_eq!(pages, 5);
    // A device that started its job is no longer handed out.
    assert!(send(&mut s, &queued[0], in_progress).accepted());
    let (out, _) = s.queued_jobs("d1", None, 1).unwrap();
    assert!(matches!(&out[0], Outbound::Job { device, .. } if *device == queued[1]));
    assert!(matches!(
        s.queued_jobs("nope", None, 10),
        Err(ota_server::Error::UnknownDeployment(_))
    ));
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[test]
                fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("ota.db");
                    super::$case(&|| Server::new(SqliteStore::open(&path).unwrap()));
                }
            )*
        }

        /// Every case on PostgreSQL, each in its own database of one throwaway cluster.
        #[test]
        fn postgres_suite() {
            let Some(cluster) = common::pg::Cluster::start() else {
                return;
            };
            let mut failed = Vec::new();
            $(
                let params = cluster.create_db();
                let run = std::panic::catch_unwind(|| {
                    $case(&|| Server::new(PostgresStore::connect(&params).unwrap()))
                });
                if run.is_err() {
                    failed.push(stringify!($case));
                }
            )*
            assert!(failed.is_empty(), "failed on PostgreSQL: {failed:?}");
        }
    };
}

suite!(
    report_ids_make_ingestion_idempotent,
    first_ring_starts_and_promotion_starts_the_next,
    rejected_is_counted_apart_never_as_success,
    refusals_complete_the_ring,
    failures_abort_and_cancel_the_queued,
    executions_are_idempotent_with_history,
    history_is_bounded,
    timeouts_and_expiry_time_executions_out,
    timeout_without_expiry,
    late_joiners_get_their_hash_ring,
    late_joiner_during_a_pause_is_queued_on_resume,
    a_late_joiners_job_outlives_the_rollout,
    newcomer_by_report_joins,
    cancellation_of_a_deployment,
    unknown_and_unexpected_messages,
    reported_twins,
    releases_are_verified,
    bulk_registration_is_one_transaction_like_single_ones,
    crash_rate_regression_aborts,
    crash_rate_regression_pauses_by_default_and_healthy_release_is_promoted,
    redelivered_report_counts_once,
    deployment_jobs_drain_in_pages,
);
