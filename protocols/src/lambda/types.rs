//! Lambda's request and response documents, as typed serde structures.
//!
//! Member names are the model's (PascalCase). Requests keep only the members Sluice acts on
//! or stores; the members that configure AWS infrastructure Sluice does not have (VPCs, file
//! systems, layers, code signing, SnapStart, Kafka and MQ sources) are captured as raw JSON so
//! the decoder can refuse them by name rather than ignore them silently (see
//! [`super::validate`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `Environment` of a function: its variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    /// Variable name → value.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

/// `DeadLetterConfig`: where failed asynchronous invocations go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    /// An SQS queue or SNS topic ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
}

/// `FunctionCode` of CreateFunction (and the members UpdateFunctionCode takes at top level).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionCode {
    /// The deployment package, base64 on the wire.
    pub zip_file: Option<String>,
    /// An S3 bucket holding the package.
    pub s3_bucket: Option<String>,
    /// Its key.
    pub s3_key: Option<String>,
    /// Its version.
    pub s3_object_version: Option<String>,
    /// A container image.
    pub image_uri: Option<String>,
}

/// Members of the infrastructure Sluice does not have; present ones are refused by name.
pub type Unsupported = BTreeMap<String, serde_json::Value>;

/// CreateFunction's body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateFunctionRequest {
    /// The name (or ARN) to create.
    pub function_name: Option<String>,
    /// Runtime identifier (`python3.12`).
    pub runtime: Option<String>,
    /// Execution role ARN.
    pub role: Option<String>,
    /// Handler (`app.handler`).
    pub handler: Option<String>,
    /// Deployment package.
    pub code: Option<FunctionCode>,
    /// Description.
    pub description: Option<String>,
    /// Seconds an invocation may run.
    pub timeout: Option<i64>,
    /// Memory in MB.
    pub memory_size: Option<i64>,
    /// Publish a version too.
    pub publish: Option<bool>,
    /// `Zip` or `Image`.
    pub package_type: Option<String>,
    /// Failed asynchronous invocations' destination.
    pub dead_letter_config: Option<DeadLetterConfig>,
    /// Environment variables.
    pub environment: Option<Environment>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// `x86_64` or `arm64`, one of them.
    pub architectures: Option<Vec<String>>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Unsupported,
}

/// UpdateFunctionConfiguration's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionConfigurationRequest {
    /// Execution role ARN.
    pub role: Option<String>,
    /// Handler.
    pub handler: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Seconds an invocation may run.
    pub timeout: Option<i64>,
    /// Memory in MB.
    pub memory_size: Option<i64>,
    /// Environment variables (replaces all of them).
    pub environment: Option<Environment>,
    /// Runtime identifier.
    pub runtime: Option<String>,
    /// Failed asynchronous invocations' destination.
    pub dead_letter_config: Option<DeadLetterConfig>,
    /// Only update when the function is at this revision.
    pub revision_id: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Unsupported,
}

/// UpdateFunctionCode's body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateFunctionCodeRequest {
    /// The new package.
    #[serde(flatten)]
    pub code: FunctionCode,
    /// Publish a version too.
    pub publish: Option<bool>,
    /// Validate only.
    pub dry_run: Option<bool>,
    /// Only update when the function is at this revision.
    pub revision_id: Option<String>,
    /// `x86_64` or `arm64`.
    pub architectures: Option<Vec<String>>,
}

/// A function's configuration as every read answers it (`FunctionConfiguration`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionConfiguration {
    /// Name.
    pub function_name: String,
    /// ARN.
    pub function_arn: String,
    /// Runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Role.
    pub role: String,
    /// Handler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// Size of the package in bytes.
    pub code_size: u64,
    /// Description.
    pub description: String,
    /// Seconds.
    pub timeout: u32,
    /// MB.
    pub memory_size: u32,
    /// `2019-10-08T13:02:27.532+0000`.
    pub last_modified: String,
    /// Base64 SHA-256 of the package.
    pub code_sha256: String,
    /// `$LATEST`.
    pub version: String,
    /// Environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Dead-letter target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
    /// Tracing: always `PassThrough`.
    pub tracing_config: TracingConfig,
    /// Changes with every update.
    pub revision_id: String,
    /// `Active`.
    pub state: String,
    /// `Successful`.
    pub last_update_status: String,
    /// `Zip` or `Image`.
    pub package_type: String,
    /// One architecture.
    pub architectures: Vec<String>,
    /// `/tmp` size: always 512 MB.
    pub ephemeral_storage: EphemeralStorage,
    /// Log format and group.
    pub logging_config: LoggingConfig,
}

/// `TracingConfig` in a function's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TracingConfig {
    /// `PassThrough` or `Active`.
    pub mode: String,
}

/// `EphemeralStorage` in a function's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EphemeralStorage {
    /// MB.
    pub size: u32,
}

/// `LoggingConfig` in a function's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    /// `Text` or `JSON`.
    pub log_format: String,
    /// The log group.
    pub log_group: String,
}

/// GetFunction's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetFunctionResponse {
    /// The configuration.
    pub configuration: FunctionConfiguration,
    /// Where the code is.
    pub code: FunctionCodeLocation,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// `FunctionCodeLocation`: where a function's code can be found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionCodeLocation {
    /// `S3` on AWS; Sluice stores no code and says where its handlers come from instead.
    pub repository_type: String,
    /// The address handlers reach this function's Runtime API at, as
    /// `AWS_LAMBDA_RUNTIME_API` takes it.
    pub location: String,
}

/// ListFunctions' answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListFunctionsResponse {
    /// One page.
    pub functions: Vec<FunctionConfiguration>,
    /// Marker of the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// ListTags' answer (and TagResource's body).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tags {
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One filter of a mapping's `FilterCriteria`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    /// An event pattern, as JSON text.
    #[serde(default)]
    pub pattern: String,
}

/// `FilterCriteria` of a mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterCriteria {
    /// Up to five filters; a record passes when any matches.
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// `OnFailure` destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OnFailure {
    /// An SQS queue or SNS topic ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// `DestinationConfig` of a mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    /// Where records that exhausted their retries are described.
    #[serde(default)]
    pub on_failure: OnFailure,
}

/// `ScalingConfig` of an SQS mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingConfig {
    /// Most concurrent invocations (2 to 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_concurrency: Option<i64>,
}

/// CreateEventSourceMapping's and UpdateEventSourceMapping's body (Update takes no source
/// and no starting position).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSourceMappingRequest {
    /// The queue or stream.
    pub event_source_arn: Option<String>,
    /// The function.
    pub function_name: Option<String>,
    /// Whether polling runs.
    pub enabled: Option<bool>,
    /// Most records per batch.
    pub batch_size: Option<i64>,
    /// Which records reach the function.
    pub filter_criteria: Option<FilterCriteria>,
    /// Seconds to gather a batch.
    pub maximum_batching_window_in_seconds: Option<i64>,
    /// Concurrent batches per shard.
    pub parallelization_factor: Option<i64>,
    /// Streams: where reading starts.
    pub starting_position: Option<String>,
    /// `AT_TIMESTAMP`: epoch seconds.
    pub starting_position_timestamp: Option<f64>,
    /// Streams: where exhausted records are described.
    pub destination_config: Option<DestinationConfig>,
    /// Streams: oldest record still sent (-1: no limit).
    pub maximum_record_age_in_seconds: Option<i64>,
    /// Streams: split a failing batch in two.
    pub bisect_batch_on_function_error: Option<bool>,
    /// Streams: retries of a failing batch (-1: until the record expires).
    pub maximum_retry_attempts: Option<i64>,
    /// `ReportBatchItemFailures`.
    pub function_response_types: Option<Vec<String>>,
    /// SQS: concurrency cap.
    pub scaling_config: Option<ScalingConfig>,
    /// Tags (Create only).
    pub tags: Option<BTreeMap<String, String>>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Unsupported,
}

/// A mapping as every mapping operation answers it (`EventSourceMappingConfiguration`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSourceMappingConfiguration {
    /// Identifier.
    #[serde(rename = "UUID")]
    pub uuid: String,
    /// Streams: where reading started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_position: Option<String>,
    /// `AT_TIMESTAMP`: epoch seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_position_timestamp: Option<f64>,
    /// Most records per batch.
    pub batch_size: u32,
    /// Seconds to gather a batch.
    pub maximum_batching_window_in_seconds: u32,
    /// Streams: concurrent batches per shard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallelization_factor: Option<u32>,
    /// The source.
    pub event_source_arn: String,
    /// Filters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_criteria: Option<FilterCriteria>,
    /// The function.
    pub function_arn: String,
    /// Epoch seconds of the last change.
    pub last_modified: f64,
    /// The last batch's outcome (`OK`, `PROBLEM: ...`, `No records processed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_processing_result: Option<String>,
    /// `Creating`, `Enabled`, `Disabled`, `Updating`, `Deleting`...
    pub state: String,
    /// `USER_INITIATED` and friends.
    pub state_transition_reason: String,
    /// Streams: failure destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_config: Option<DestinationConfig>,
    /// Streams: oldest record still sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_record_age_in_seconds: Option<i64>,
    /// Streams: split failing batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bisect_batch_on_function_error: Option<bool>,
    /// Streams: retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<i64>,
    /// `ReportBatchItemFailures` or nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub function_response_types: Vec<String>,
    /// SQS: concurrency cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_config: Option<ScalingConfig>,
    /// ARN of the mapping.
    pub event_source_mapping_arn: String,
}

/// ListEventSourceMappings' answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEventSourceMappingsResponse {
    /// One page.
    pub event_source_mappings: Vec<EventSourceMappingConfiguration>,
    /// Marker of the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// AddPermission's body (the function and `Qualifier` travel in the path and query string).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionRequest {
    /// The statement's `Sid`, unique in the function's policy.
    pub statement_id: Option<String>,
    /// What the principal may do (`lambda:InvokeFunction`).
    pub action: Option<String>,
    /// A service (`sns.amazonaws.com`), an account id, an IAM ARN, or `*`.
    pub principal: Option<String>,
    /// The resource that invokes (`ArnLike` condition).
    pub source_arn: Option<String>,
    /// The account that owns it (`StringEquals` condition).
    pub source_account: Option<String>,
    /// Alexa Smart Home's token (`StringEquals` condition).
    pub event_source_token: Option<String>,
    /// Only change the policy when the function is at this revision.
    pub revision_id: Option<String>,
    /// An organization (`StringEquals` condition on `aws:PrincipalOrgID`).
    #[serde(rename = "PrincipalOrgID")]
    pub principal_org_id: Option<String>,
    /// `NONE` or `AWS_IAM` (`StringEquals` condition).
    pub function_url_auth_type: Option<String>,
    /// Whether the grant applies to invocations through a function URL (`Bool` condition).
    pub invoked_via_function_url: Option<bool>,
}

/// AddPermission's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionResponse {
    /// The statement added, as JSON text.
    pub statement: String,
}

/// GetPolicy's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyResponse {
    /// The policy document, as JSON text.
    pub policy: String,
    /// The function's revision, which every AddPermission and RemovePermission changes.
    pub revision_id: String,
}
