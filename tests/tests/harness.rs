//! The harness itself: a broker starts on a free port, answers `/health`, restarts on the same
//! port and data folder after SIGTERM and after SIGKILL, and is gone when the handle drops.

use std::time::Duration;

use sluice_tests::{raw, Broker};

async fn health(broker: &Broker) -> Result<u16, String> {
    raw::get_with_timeout(&format!("{}/health", broker.endpoint()), Duration::from_secs(2))
        .await
        .map(|r| r.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_starts_restarts_and_stops() {
    let mut broker = Broker::start().await;
    let port = broker.port();
    assert_eq!(broker.endpoint(), format!("http://127.0.0.1:{port}"));
    assert!(broker.data_dir().is_dir());
    assert_eq!(health(&broker).await, Ok(200));
    let first_pid = broker.pid().expect("running");

    broker.restart().await;
    assert_eq!(broker.port(), port, "restart keeps the port");
    assert_ne!(broker.pid(), Some(first_pid), "restart runs a new process");
    assert_eq!(health(&broker).await, Ok(200));

    broker.kill9();
    assert!(broker.pid().is_none());
    assert!(health(&broker).await.is_err(), "killed broker still answers");
    broker.start_again().await;
    assert_eq!(health(&broker).await, Ok(200));

    let log = broker.log();
    assert!(
        log.contains(&format!("listening on http://127.0.0.1:{port}")),
        "no readiness line in log:\n{log}"
    );

    let endpoint = broker.endpoint();
    drop(broker);
    let gone = raw::get_with_timeout(&format!("{endpoint}/health"), Duration::from_secs(2)).await;
    assert!(gone.is_err(), "broker still answers after drop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_brokers_run_side_by_side() {
    let a = Broker::start().await;
    let b = Broker::start().await;
    assert_ne!(a.port(), b.port());
    assert_ne!(a.data_dir(), b.data_dir());
    assert_eq!(health(&a).await, Ok(200));
    assert_eq!(health(&b).await, Ok(200));
}
