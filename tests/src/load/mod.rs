//! `sluice-load`: bounded SQS load runs with the official `aws-sdk-sqs` client, and a null
//! SQS server that measures the tool's own ceiling.
//!
//! # Layout
//! - `cli`: the command line (`clap`), duration and size parsing.
//! - `client`: the SDK client as a user would configure it (no retries, per-call timeout) and
//!   error classification.
//! - `workload/`: the SQS workloads (`sqs-send`, `sqs-send-batch`, `sqs-roundtrip`), the
//!   Kinesis ones (`kinesis-put`, `kinesis-put-batch`, `kinesis-read`, and `kinesis-efo` for
//!   enhanced fan-out) and the SNS ones.
//! - `stats`: per-worker counters and HDR latency histograms, merged at the end.
//! - `checksum`: the MD5 digests SQS answers with, shared by both sides.
//! - `null_server`: hyper server (HTTP/1.1 + h2c) answering the SQS JSON 1.0 calls validly
//!   while storing nothing; `null_kinesis` answers the Kinesis JSON 1.1 calls the same way.
//! - `cpu`: CPU time from `/proc/PID/stat` (broker cost per 1,000 operations).
//! - `report`: text and JSON output, and the null-server comparison.
//!
//! # Always stops
//! Workers stop at `--duration` or `--max-ops`, each call has a timeout, workers still running
//! at the plan's bound are aborted, and a watchdog thread ends the process if even that is
//! exceeded. Traffic goes only to the given endpoint (loopback in every documented use).

mod checksum;
mod cli;
mod client;
mod cpu;
mod null_kinesis;
mod null_server;
mod report;
mod stats;
mod workload;

use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser as _;

use cli::{Cli, Command, NullServerArgs, RunArgs};
use null_server::NullServer;
use report::{Comparison, Report, Target};
use workload::Plan;

/// Extra time the watchdog allows beyond the computed bound of a run, for start-up and output.
const WATCHDOG_SLACK: Duration = Duration::from_secs(30);

pub fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    match cli.command {
        Some(Command::NullServer(args)) => {
            runtime.block_on(serve_null(args))?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            start_watchdog(hard_deadline(&cli.run));
            let code = runtime.block_on(run(&cli.run))?;
            // Don't wait for idle pooled connections or stray tasks to wind down.
            runtime.shutdown_timeout(Duration::from_secs(1));
            Ok(code)
        }
    }
}

/// The longest a workload invocation may take before the watchdog ends the process.
fn hard_deadline(args: &RunArgs) -> Duration {
    let one_run = Plan::new(args, Target::Endpoint, String::new()).time_bound();
    let runs = if args.compare { 2 } else { 1 };
    one_run * runs + WATCHDOG_SLACK
}

fn start_watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("sluice-load: hard deadline of {} s passed; exiting", limit.as_secs());
        std::process::exit(3);
    });
}

async fn serve_null(args: NullServerArgs) -> Result<()> {
    let server = NullServer::start(args.bind).await?;
    println!("null SQS server listening on {}", server.endpoint());
    // Let scripts that wait for this line see it right away.
    std::io::stdout().flush().context("writing to stdout")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
        result = terminated() => result?,
        _ = tokio::time::sleep(args.exit_after) => {
            eprintln!("null server: --exit-after {} s reached; stopping", args.exit_after.as_secs());
        }
    }
    server.stop().await;
    Ok(())
}

/// Resolves on SIGTERM (`kill`, `timeout`, container stop), so scripts can end the null server
/// cleanly; never resolves where there is no such signal.
async fn terminated() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        terminate.recv().await;
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::future::pending::<Result<()>>().await
    }
}

/// Runs the workload once against the null server on a free loopback port.
async fn run_against_null(args: &RunArgs) -> Result<Report> {
    let server = NullServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let plan = Plan::new(args, Target::Null, server.endpoint());
    let report = workload::run(&plan).await;
    server.stop().await;
    report
}

async fn run(args: &RunArgs) -> Result<ExitCode> {
    let reports = if args.compare {
        let null = run_against_null(args).await?;
        let target = workload::run(&Plan::new(args, Target::Endpoint, args.endpoint.clone())).await?;
        let comparison = Comparison {
            null: &null,
            target: &target,
        };
        if args.json {
            println!("{}", comparison.to_json());
        } else {
            print!("{}", comparison.to_text());
        }
        vec![null, target]
    } else {
        let report = if args.null {
            run_against_null(args).await?
        } else {
            workload::run(&Plan::new(args, Target::Endpoint, args.endpoint.clone())).await?
        };
        if args.json {
            println!("{}", report.to_json());
        } else {
            print!("{}", report.to_text());
        }
        vec![report]
    };
    let failed = reports.iter().any(|r| r.failure().is_some());
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    //! End-to-end runs of each workload against an in-process null server, bounded by
    //! `--max-ops` and a short duration.

    use super::cli::Workload;
    use super::*;

    fn args(workload: &str, extra: &[&str]) -> RunArgs {
        let mut argv = vec![
            "sluice-load",
            "--workload",
            workload,
            "--concurrency",
            "4",
            "--duration",
            "20s",
            "--op-timeout",
            "5s",
        ];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv) {
            Ok(cli) => cli.run,
            Err(e) => panic!("{e}"),
        }
    }

    async fn null_report(args: &RunArgs) -> Report {
        match run_against_null(args).await {
            Ok(report) => report,
            Err(e) => panic!("{e:#}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqs_send_against_the_null_server_checks_every_digest() {
        let args = args("sqs-send", &["--max-ops", "200", "--attributes", "3"]);
        let report = null_report(&args).await;
        assert_eq!(report.workload, Workload::SqsSend);
        assert_eq!(report.stats.ops, 200);
        assert_eq!(report.stats.messages_sent, 200);
        assert_eq!(report.stats.errors.total(), 0, "{:?}", report.stats.errors.samples());
        // Body and attribute digests were checked on every answer.
        assert_eq!(report.stats.checksum_mismatches, 0);
        assert_eq!(report.stats.send.count(), 200);
        assert_eq!(report.failure(), None);
        let json = report.to_json();
        assert_eq!(json["ops"], 200);
        assert_eq!(json["ok"], true);
        assert!(json["latency_ms"]["send"]["p99"].as_f64().is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kinesis_workloads_against_the_null_server() {
        let report = null_report(&args("kinesis-put", &["--max-ops", "200"])).await;
        assert_eq!((report.stats.ops, report.stats.messages_sent), (200, 200));
        assert_eq!(report.stats.errors.total(), 0, "{:?}", report.stats.errors.samples());
        assert_eq!(report.failure(), None);

        let report = null_report(&args(
            "kinesis-put-batch",
            &["--max-ops", "6", "--message-size", "1024"],
        ))
        .await;
        assert_eq!((report.stats.ops, report.stats.messages_sent), (6, 3000));
        assert_eq!(report.stats.errors.total(), 0, "{:?}", report.stats.errors.samples());
        assert!(report.payload_mb_per_sec() > 0.0);

        let report = null_report(&args("kinesis-read", &["--max-ops", "4"])).await;
        // Four shards, each read until the null server has nothing left: all 2,000 preloaded.
        assert_eq!(report.stats.messages_received, 2000);
        assert_eq!(report.verification, None, "synthetic records can't be verified");
        assert_eq!(report.stats.errors.total(), 0, "{:?}", report.stats.errors.samples());
        assert_eq!(report.failure(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kinesis_efo_is_planned_but_needs_a_broker() {
        let efo_args = args("kinesis-efo", &["--consumers", "2", "--rate", "100", "--shards", "8"]);
        let plan = Plan::new(&efo_args, Target::Endpoint, String::new());
        assert_eq!(plan.shards, 8);
        assert!(matches!(
            plan.efo,
            Some(workload::Efo {
                consumers: 2,
                rate: 100
            })
        ));
        // Set-up, subscriptions, puts, drain and clean-up all fit the watchdog's bound.
        assert!(plan.time_bound() > plan.duration + plan.drain_timeout + plan.op_timeout * 7);
        let defaults = Plan::new(&args("kinesis-efo", &[]), Target::Endpoint, String::new());
        assert!(matches!(
            defaults.efo,
            Some(workload::Efo {
                consumers: 4,
                rate: 5000
            })
        ));
        // The null server has no SubscribeToShard.
        assert!(run_against_null(&efo_args).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqs_send_batch_against_the_null_server() {
        let args = args("sqs-send-batch", &["--max-ops", "30"]);
        let report = null_report(&args).await;
        assert_eq!(report.stats.ops, 30);
        assert_eq!(report.stats.messages_sent, 300);
        assert_eq!(report.stats.errors.total(), 0, "{:?}", report.stats.errors.samples());
        assert_eq!(report.stats.checksum_mismatches, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqs_roundtrip_against_the_null_server_drains_what_was_sent() {
        let args = args("sqs-roundtrip", &["--max-ops", "100", "--attributes", "2"]);
        let report = null_report(&args).await;
        assert_eq!(report.stats.messages_sent, 100);
        // The null server hands back as many synthetic messages as were sent.
        assert!(report.stats.messages_received >= 100);
        assert_eq!(report.verification, None, "synthetic messages can't be verified");
        assert_eq!(report.stats.errors.total(), 0, "{:?}", report.stats.errors.samples());
        assert_eq!(report.stats.checksum_mismatches, 0);
        assert!(report.stats.delete.count() > 0);
        assert_eq!(report.failure(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifo_roundtrip_against_the_null_server_runs_unverified() {
        let args = args("fifo-roundtrip", &["--max-ops", "50", "--groups", "4"]);
        let report = null_report(&args).await;
        assert_eq!(report.workload, Workload::FifoRoundtrip);
        assert_eq!(report.verification, None);
        assert_eq!(report.stats.errors.total(), 0, "{:?}", report.stats.errors.samples());
        assert!(report.stats.messages_sent >= 50);
        assert_eq!(report.failure(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn h2c_clients_are_served_too() {
        // The SDK speaks HTTP/1.1 to http:// endpoints; check the h2c half (HTTP/2 with prior
        // knowledge, as the JS v3 Kinesis client does) with hyper's own client.
        use http_body_util::{BodyExt, Full};
        use hyper_util::rt::{TokioExecutor, TokioIo};

        let server = match NullServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await {
            Ok(server) => server,
            Err(e) => panic!("{e:#}"),
        };
        let stream = match tokio::net::TcpStream::connect(server.local_addr()).await {
            Ok(stream) => stream,
            Err(e) => panic!("{e}"),
        };
        let handshake = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await;
        let (mut sender, connection) = match handshake {
            Ok(pair) => pair,
            Err(e) => panic!("{e}"),
        };
        tokio::spawn(connection);
        let request = hyper::Request::post(format!("{}/", server.endpoint()))
            .header("x-amz-target", "AmazonSQS.SendMessage")
            .header("content-type", "application/x-amz-json-1.0")
            .body(Full::new(bytes::Bytes::from_static(
                br#"{"QueueUrl":"http://h/000000000000/q","MessageBody":"hello"}"#,
            )));
        let response = match request {
            Ok(request) => sender.send_request(request).await,
            Err(e) => panic!("{e}"),
        };
        let response = match response {
            Ok(response) => response,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        assert!(response.headers().contains_key("x-amzn-requestid"));
        let body = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => panic!("{e}"),
        };
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(value["MD5OfMessageBody"], "5d41402abc4b2a76b9719d911017c592");
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unknown_actions_get_an_sqs_error() {
        let server = match NullServer::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await {
            Ok(server) => server,
            Err(e) => panic!("{e:#}"),
        };
        let client = client::build(&server.endpoint(), Duration::from_secs(5));
        let result = client.list_queues().send().await;
        let error = match result {
            Ok(_) => panic!("ListQueues should be unsupported"),
            Err(error) => error,
        };
        // The SDK takes the code from `x-amzn-query-error` (the model is awsQueryCompatible),
        // as it does against AWS.
        let (kind, _) = client::classify(&error);
        assert_eq!(kind, "AWS.SimpleQueueService.UnsupportedOperation");
        server.stop().await;
    }
}
