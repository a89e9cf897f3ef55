//! The official `aws-sdk-sqs` client, configured the way a user points it at Sluice.
//!
//! The SDK is built with `default-features = false` (no TLS stack), so the plain-HTTP connector
//! from `aws-smithy-http-client` is supplied explicitly. An operation timeout bounds every call
//! (30 s: a 20 s long poll plus margin), so a hung broker fails a test instead of stalling CI.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::config::timeout::TimeoutConfig;

/// Static test credentials; Sluice accepts any until authentication is configured.
pub const ACCESS_KEY: &str = "AKIDSLUICETEST";
pub const SECRET_KEY: &str = "sluice-test-secret";
pub const REGION: &str = "us-east-1";
/// The default account Sluice maps every access key to.
pub const ACCOUNT_ID: &str = "000000000000";

/// An SQS client for `endpoint` (e.g. `http://127.0.0.1:4566`) with the SDK's standard retries.
pub async fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    build(endpoint, REGION, RetryConfig::standard()).await
}

/// Like [`sqs_client`] but signing for another region (Sluice namespaces resources by the
/// region of the SigV4 credential scope, like AWS).
pub async fn sqs_client_in_region(endpoint: &str, region: &'static str) -> aws_sdk_sqs::Client {
    build(endpoint, region, RetryConfig::standard()).await
}

/// Like [`sqs_client`] but without retries: for crash tests, where a retried send after a kill
/// would blur which requests were acknowledged, and for load generation.
pub async fn sqs_client_no_retry(endpoint: &str) -> aws_sdk_sqs::Client {
    build(endpoint, REGION, RetryConfig::disabled()).await
}

/// Like [`sqs_client`] with up to `attempts` attempts per call: how a user rides through a
/// cluster takeover (a few seconds of 503s and refused connections).
pub async fn sqs_client_patient(endpoint: &str, attempts: u32) -> aws_sdk_sqs::Client {
    let retry = RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_max_backoff(Duration::from_secs(2));
    build(endpoint, REGION, retry).await
}

/// A client signing with the given key (and session token), without retries, for
/// authentication tests.
pub async fn sqs_client_with_key(
    endpoint: &str,
    access_key: &str,
    secret: &str,
    session_token: Option<&str>,
) -> aws_sdk_sqs::Client {
    let credentials = Credentials::new(
        access_key,
        secret,
        session_token.map(str::to_string),
        None,
        "sluice-tests",
    );
    build_with(endpoint, REGION, RetryConfig::disabled(), credentials).await
}

async fn build(endpoint: &str, region: &'static str, retry: RetryConfig) -> aws_sdk_sqs::Client {
    let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "sluice-tests");
    build_with(endpoint, region, retry, credentials).await
}

async fn build_with(
    endpoint: &str,
    region: &'static str,
    retry: RetryConfig,
    credentials: Credentials,
) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(endpoint, region, retry, credentials).await)
}

/// The settings every SDK client of the tests shares (SQS, SNS, Kinesis): plain HTTP to
/// `endpoint`, the given region, retries and credentials, a 5 s connect and 30 s operation
/// timeout.
pub async fn sdk_config(
    endpoint: &str,
    region: &'static str,
    retry: RetryConfig,
    credentials: Credentials,
) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(retry)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .load()
        .await
}
