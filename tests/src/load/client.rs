//! The official `aws-sdk-sqs` client, set up the way a user would point it at Sluice, and the
//! one place SDK errors are turned into a short kind for the report.
//!
//! Two deliberate departures from the SDK's defaults, both so the figures mean one request per
//! operation: retries are off (an error is counted, not hidden behind a retry), and every call
//! has an operation timeout, so a stuck broker cannot stall a worker past the run's deadline.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::Client;

/// The settings every SDK client of the tool shares (SQS and Kinesis), for `endpoint` (plain
/// HTTP; Sluice's default listener has no TLS).
pub fn sdk_config(endpoint: &str, op_timeout: Duration) -> SdkConfig {
    // Sluice accepts any credentials until authentication is configured (docs/design.md
    // "Defaults"); the SDK still signs every request with SigV4, as it would against AWS.
    let credentials = Credentials::new("sluice-load", "sluice-load-secret", None, None, "static");
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_timeout(op_timeout)
        .build();
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts)
        .build()
}

/// Builds the SQS client.
pub fn build(endpoint: &str, op_timeout: Duration) -> Client {
    Client::new(&sdk_config(endpoint, op_timeout))
}

/// A short error kind (the AWS error code, or the transport failure) and the full message.
pub fn classify<E, R>(error: &SdkError<E, R>) -> (String, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let kind = match error {
        SdkError::ServiceError(context) => context.err().code().unwrap_or("ServiceError"),
        SdkError::TimeoutError(_) => "Timeout",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        _ => "Other",
    };
    (kind.to_string(), DisplayErrorContext(error).to_string())
}
