//! The Lambda API as boto3 sees it: `tests/fixtures/boto3/lambda_api.py` drives functions,
//! waiters, paginators, event-source mappings (SQS and Kinesis, every setting round-tripped),
//! Invoke's types and AWS's error codes and statuses through botocore's own service model,
//! against a real broker, and fails on the first answer that differs.

use std::process::Command;

use sluice_tests::lambda::lambda_python;
use sluice_tests::{unique_name, Broker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_drives_functions_and_mappings_with_awss_answers() {
    let python = lambda_python();
    let broker = Broker::start().await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/boto3/lambda_api.py");
    let endpoint = broker.endpoint();
    let suffix = unique_name("b3");
    // Blocking, bounded by the script's own calls (botocore's 60 s read timeout, waiters of
    // 10 attempts); the broker runs in its own process.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("SLUICE_ENDPOINT", endpoint)
            .env("SLUICE_SUFFIX", suffix)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            // Optimized Python drops every assert: the script would check nothing.
            .env_remove("PYTHONOPTIMIZE")
            .output()
            .expect("run python")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("ALL OK"),
        "lambda_api.py failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
