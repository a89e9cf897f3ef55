//! End-to-end test harness for Sluice, shared by the tests in `tests/tests/` and the load tool.
//!
//! # Layout
//! - [`broker`]: [`Broker`] spawns the real `sluice` binary on a free loopback port with a temporary
//!   data folder, waits for `/health`, and can stop, restart (same folder, same port) or SIGKILL it.
//!   The process is always killed when the handle drops, so a failing test never leaks a broker.
//! - [`client`]: the official `aws-sdk-sqs` client pointed at a broker (plain HTTP, static
//!   credentials, region `us-east-1`), exactly as a user's unchanged code would build it.
//! - [`raw`]: a tiny HTTP/1.1 and h2c client plus SigV4 signing (`aws-sigv4`), for wire-level
//!   tests of the query protocol, JSON error headers and malformed requests the SDK can't send.
//! - [`kinesis`]: the official `aws-sdk-kinesis` client pointed at a broker, stream set-up and
//!   read-everything helpers, and raw signed JSON 1.1 / CBOR requests.
//! - [`lambda`]: the official `aws-sdk-lambda` client pointed at a broker, and [`lambda::Handler`],
//!   a real handler process against a function's Runtime API listener: AWS's Python client
//!   (`awslambdaric`, from the virtualenv `scripts/lambda-python` pins) or `lambda-test-handler`
//!   (`src/bin/`, on AWS's Rust `lambda_runtime`), killed when the handle drops.
//! - [`nats`]: [`NatsCluster`] runs a real NATS JetStream cluster (the pinned `nats-server`, one
//!   child process per node on free loopback ports, temporary stores) and can SIGKILL, restart,
//!   SIGSTOP and SIGCONT single nodes; the replicated mode's store in tests.
//! - [`netns`]: [`Netns`] creates Linux network namespaces as "hosts" on a cluster network that a
//!   test can cut per host and a client network that is never cut; [`NatsCluster::start_in`] and
//!   [`Broker::spawn_cluster_node_on`] run NATS servers and Sluice nodes on them (partition tests;
//!   needs root and iproute2).
//! - [`console`]: [`console::Console`], a web console session over plain HTTP (cookie, CSRF
//!   header, JSON bodies), and the credentials file of the console's `--auth verify` tests.
//! - [`bench`]: what the benchmark binaries share (running on a fresh runtime, report figures).
//! - [`machine`]: the machine a benchmark ran on (build profile, cores, kernel, CPU), for reports.
//! - [`md5`]: the MD5 digests SQS returns (body, message attributes, system attributes). The Rust
//!   SDK does not verify them itself (unlike the Java SDK), so the tests do.
//! - [`sqs`]: helpers over the SDK the tests repeat (error-code assertions, queue set-up,
//!   attribute reads, receives).
//! - [`sns`]: the official `aws-sdk-sns` client pointed at a broker, and a local HTTP receiver
//!   that records SNS deliveries and can fail the first N of them.
//! - [`xml`]: just enough XML reading to check query-protocol responses.
//!
//! # Invariants
//! - Every wait is bounded: broker start-up (20 s), shutdown (35 s, then SIGKILL), each raw
//!   request (30 s), each SDK operation (30 s, enough for a 20 s long poll).
//! - Finding the binary: `SLUICE_BIN`, else `target/<profile>/sluice` next to the test binary's
//!   `deps/` folder. Tests don't build it: run `cargo build -p sluice-server` first.

pub mod bench;
pub mod broker;
pub mod client;
pub mod console;
pub mod eventstream;
pub mod kinesis;
pub mod lambda;
pub mod machine;
pub mod md5;
pub mod nats;
pub mod netns;
pub mod raw;
pub mod sns;
pub mod sqs;
pub mod xml;

pub use broker::Broker;
pub use client::{
    sqs_client, sqs_client_in_region, sqs_client_no_retry, sqs_client_patient, sqs_client_with_key, ACCESS_KEY,
    ACCOUNT_ID, REGION, SECRET_KEY,
};
pub use nats::NatsCluster;
pub use netns::Netns;
pub use raw::RawResponse;

/// The path of a file in `tests/fixtures/tls` (a test CA, and a certificate it signed for
/// `localhost` and 127.0.0.1, valid until 2036).
pub fn tls_fixture(name: &str) -> String {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
        .to_string_lossy()
        .to_string()
}

/// A queue name unique within this test process, so tests sharing a broker never collide.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

/// The last `max` bytes of a log file, for failure messages; "(no log)" when it cannot be read.
pub fn file_tail(path: &std::path::Path, max: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::from("(no log)");
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
