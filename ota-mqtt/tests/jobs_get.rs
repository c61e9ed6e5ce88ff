//! A device gets its job even when the notification never reaches it: `Device::next_job` asks
//! `jobs/get` at its first wait, after a reconnection, and on a poll. The fault injected: the
//! broker is killed and its persistence file deleted, so the device's session (and anything
//! queued in it) is gone; and jobs the server holds without ever notifying them.
//! Loopback only; every wait has a deadline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ota_mqtt::{ConnectOptions, Device, DeviceId, Error, Mosquitto, Server, TopicKind};
use ota_protocol::JobDocument;
use tokio::sync::watch;

fn opts(broker: &Mosquitto, id: &str) -> ConnectOptions {
    let mut o = ConnectOptions::new("127.0.0.1", broker.port(), id);
    o.connect_timeout = Duration::from_secs(5);
    o
}

fn dev(id: &str) -> DeviceId {
    DeviceId::new(id).unwrap()
}

/// The server's pending job for every device (none at first), and how many `jobs/get` it
/// answered: a worker that answers from it and never sends `jobs/notify`.
#[derive(Clone, Default)]
struct Store {
    job: Arc<Mutex<Option<JobDocument>>>,
    asked: Arc<Mutex<Vec<(Instant, bool)>>>,
}

async fn worker(mut server: Server, store: Store, mut stop: watch::Receiver<bool>) {
    loop {
        let m = tokio::select! {
            _ = stop.changed() => break,
            m = server.recv(Duration::from_millis(200)) => m,
        };
        let Ok(m) = m else { continue };
        if m.kind == TopicKind::JobsGet {
            let job = store.job.lock().unwrap().clone();
            store
                .asked
                .lock()
                .unwrap()
                .push((Instant::now(), job.is_some()));
            server.answer_job_request(&m, job.as_ref()).await.unwrap();
        }
        let _ = server.ack(&m).await;
    }
    server.disconnect().await;
}

/// A broker, the answering worker, and device `dev-1` connected (re-sending an unanswered
/// question after 500 ms). `job`: what the server holds from the start.
struct Setup {
    broker: Mosquitto,
    store: Store,
    stop: watch::Sender<bool>,
    worker: tokio::task::JoinHandle<()>,
    device: Device,
}

async fn setup(job: Option<JobDocument>) -> Setup {
    let broker = Mosquitto::start().unwrap();
    let store = Store::default();
    *store.job.lock().unwrap() = job;
    let (stop, rx) = watch::channel(false);
    let o = opts(&broker, "ota-server-1");
    let worker_store = store.clone();
    let worker = tokio::spawn(async move {
        let server = Server::connect(&o, "workers").await.unwrap();
        worker(server, worker_store, rx).await;
    });
    tokio::time::sleep(Duration::from_millis(300)).await; // the worker subscribes
    let mut device = Device::connect(&opts(&broker, "dev-1"), dev("dev-1"))
        .await
        .unwrap();
    device.set_confirmation(Duration::from_millis(500), 20);
    Setup {
        broker,
        store,
        stop,
        worker,
        device,
    }
}

impl Setup {
    async fn end(self) {
        self.stop.send(true).unwrap();
        self.worker.await.unwrap();
    }
}

fn the_job() -> JobDocument {
    let rel = common::sim::release();
    common::sim::job("fw-2-0", &rel.good)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_never_notified_is_fetched_at_the_first_wait() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let mut s = setup(Some(the_job())).await;
    let job = s.device.next_job(Duration::from_secs(10)).await.unwrap();
    assert_eq!(job, the_job());
    s.end().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_job_then_a_job_the_device_is_never_told_of_is_found_by_polling() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let mut s = setup(None).await;
    let (d, store) = (&mut s.device, s.store.clone());
    d.set_job_poll(Duration::from_millis(400));
    // Answered "no job": the device waits on (a timeout, not an error of its own).
    assert!(matches!(
        d.next_job(Duration::from_millis(1500)).await,
        Err(Error::Timeout(_))
    ));
    let asked_before = store.asked.lock().unwrap().len();
    assert!(asked_before >= 2, "polled {asked_before} times in 1.5 s");
    assert!(store.asked.lock().unwrap().iter().all(|(_, job)| !job));
    *store.job.lock().unwrap() = Some(the_job());
    let job = d.next_job(Duration::from_secs(10)).await.unwrap();
    assert_eq!(job.job_id, the_job().job_id);
    // The answer is acknowledged and consumed: nothing is left for recv.
    assert!(matches!(
        d.recv(Duration::from_millis(300)).await,
        Err(Error::Timeout(_))
    ));
    s.end().await;
}

/// The broker dies and comes back without its persistence file: every session is gone, so a
/// notification queued for the device would be lost with it. The device, waiting in
/// `next_job` with a poll interval of an hour, asks again because it reconnected, and gets
/// the job the server holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_broker_that_lost_every_session_the_device_asks_again_and_gets_its_job() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let Setup {
        mut broker,
        store,
        stop,
        worker: h,
        device: mut d,
    } = setup(None).await;
    d.set_job_poll(Duration::from_secs(3600));
    assert!(matches!(
        d.next_job(Duration::from_millis(800)).await,
        Err(Error::Timeout(_))
    ));
    assert_eq!(store.asked.lock().unwrap().len(), 1, "asked once, answered");

    let waiting = tokio::spawn(async move {
        let r = d.next_job(Duration::from_secs(30)).await;
        (r, d)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::block_in_place(|| {
        broker.kill();
        std::fs::remove_file(broker.dir().join("mosquitto.db")).ok();
        // The job is created while the broker is away; nobody notifies the device.
        *store.job.lock().unwrap() = Some(the_job());
        broker.restart().unwrap();
    });
    let (r, d) = waiting.await.unwrap();
    let job = r.unwrap_or_else(|e| panic!("no job after the restart: {e}\n{}", broker.log_tail()));
    assert_eq!(job.job_id, the_job().job_id);
    let (reconnects, without_session) = d.reconnections();
    assert!(
        reconnects >= 1 && without_session >= 1,
        "{reconnects} {without_session}"
    );
    let asked = store.asked.lock().unwrap().clone();
    // One question before (no job); after the reconnection, the question again (re-sent while
    // unanswered: the workers may not have subscribed again yet), answered with the job.
    let answers: Vec<bool> = asked.iter().map(|(_, j)| *j).collect();
    assert!(
        answers.len() >= 2 && !answers[0] && answers[1..].iter().all(|j| *j),
        "{answers:?}"
    );
    stop.send(true).unwrap();
    h.await.unwrap();
}

/// While the broker is down the device does not pile up questions (they would all go out at
/// once on reconnection). Nobody answers here, so the device re-asks every 100 ms while
/// connected; an observer subscribed to the device's `jobs/get` (a persistent, unshared
/// subscription that survives the restart) counts what reaches the broker: five seconds down
/// queued ~50 questions in the client before the device stopped asking while disconnected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_questions_pile_up_while_the_broker_is_down() {
    if ota_mqtt::mosquitto_missing_for_tests() {
        return;
    }
    let Setup {
        mut broker,
        stop,
        worker,
        device: mut d,
        ..
    } = setup(None).await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    let mut observer = Device::connect(&opts(&broker, "observer"), dev("observer"))
        .await
        .unwrap();
    observer
        .subscribe_raw(
            &["ota/v1/dev-1/jobs/get".to_owned()],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    d.set_confirmation(Duration::from_millis(100), 20);
    let waiting = tokio::spawn(async move {
        let r = d.next_job(Duration::from_millis(6500)).await;
        (r, d)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Asked at once, then every 100 ms: a handful in half a second.
    let before = count_questions(&mut observer, Duration::from_millis(500)).await;
    assert!(
        (2..=12).contains(&before),
        "{before} questions before the outage"
    );
    tokio::task::block_in_place(|| {
        broker.stop();
        std::thread::sleep(Duration::from_secs(5));
        broker.restart().unwrap();
    });
    let (r, d) = waiting.await.unwrap();
    assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
    assert!(d.reconnections().0 >= 1);
    let after = count_questions(&mut observer, Duration::from_secs(30)).await;
    // What the device asked between its reconnection and the end of its wait (every 100 ms
    // for at most 1.5 s), nothing from the five seconds down.
    assert!(
        after <= 16,
        "{after} questions reached the broker after the outage"
    );
}

/// The `jobs/get` requests the observer receives within `window`, or until it has been quiet
/// for 300 ms.
async fn count_questions(observer: &mut Device, window: Duration) -> usize {
    let end = tokio::time::Instant::now() + window;
    let mut n = 0;
    while tokio::time::Instant::now() < end {
        let Ok(m) = observer.recv(Duration::from_millis(300)).await else {
            break;
        };
        observer.ack(&m).await.unwrap();
        n += usize::from(m.kind == TopicKind::JobsGet);
    }
    n
}
