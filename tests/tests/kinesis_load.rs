//! `sluice-load`'s Kinesis workloads against the real broker: every workload runs, and
//! `kinesis-read` verifies the count and per-key order of what it wrote, so a broker that loses,
//! duplicates or reorders records fails the run (exit code 1).

use std::process::Command;

use sluice_tests::Broker;

/// Runs the load tool with `--json`; returns whether it passed and its report.
fn load(endpoint: &str, args: &[&str]) -> (bool, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice-load"))
        .args([
            "--endpoint",
            endpoint,
            "--concurrency",
            "4",
            "--duration",
            "20s",
            "--message-size",
            "512",
            "--json",
        ])
        .args(args)
        .output()
        .expect("run sluice-load");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "sluice-load printed no JSON report ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_workloads_run_and_read_verifies_against_sluice() {
    let broker = Broker::start().await;
    let ep = broker.endpoint();
    let (ok, report) = load(&ep, &["--workload", "kinesis-put", "--max-ops", "100"]);
    assert!(ok, "{report}");
    assert_eq!(report["messages_sent"], 100, "{report}");
    let (ok, report) = load(&ep, &["--workload", "kinesis-put-batch", "--max-ops", "4"]);
    assert!(ok, "{report}");
    assert_eq!(report["messages_sent"], 2000, "{report}");
    let (ok, report) = load(&ep, &["--workload", "kinesis-read", "--max-ops", "6"]);
    assert!(ok, "{report}");
    assert_eq!(report["messages_received"], 3000, "{report}");
    let v = &report["verification"];
    assert_eq!(
        (&v["sent"], &v["missing"], &v["duplicates"]),
        (&3000.into(), &0.into(), &0.into()),
        "{report}"
    );
    assert_eq!(report["checksum_mismatches"].as_u64().unwrap_or(0), 0, "{report}");
}
