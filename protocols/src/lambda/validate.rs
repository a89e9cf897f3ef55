//! Decoding and shape validation of Lambda request bodies, with AWS's codes and messages.
//!
//! A body that is not JSON, or whose members have the wrong types, is
//! `InvalidRequestContentException`; a member outside the model's constraints is
//! `ValidationException` in AWS's "1 validation error detected" wording; a member that
//! configures infrastructure Sluice does not have (VPCs, layers, file systems, code signing,
//! Kafka sources...) is `InvalidParameterValueException` naming it, never silently dropped.
//! Rules that depend on state (the function exists, the source is a queue) are the core's.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::DeserializeOwned;

use super::error::{LambdaError, LambdaErrorCode};
use super::types::{
    AddPermissionRequest, CreateFunctionRequest, Environment, EventSourceMappingRequest, FunctionCode, Unsupported,
    UpdateFunctionCodeRequest, UpdateFunctionConfigurationRequest,
};

/// Runtimes the model lists.
const RUNTIMES: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "java8.al2",
    "java11",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "dotnet8",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
    "provided.al2",
    "nodejs18.x",
    "python3.10",
    "java17",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "python3.11",
    "nodejs20.x",
    "provided.al2023",
    "python3.12",
    "java21",
    "python3.13",
    "nodejs22.x",
    "nodejs24.x",
    "python3.14",
    "java25",
    "dotnet10",
    "ruby4.0",
];
/// Longest invocation AWS allows, seconds.
pub const MAX_TIMEOUT: i64 = 900;
/// Memory bounds AWS allows, MB.
const MEMORY: (i64, i64) = (128, 10240);
/// Largest environment (names and values together), bytes.
const MAX_ENVIRONMENT: usize = 4096;
/// Most tags per function or mapping.
const MAX_TAGS: usize = 50;

/// A validated deployment package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Package {
    /// A zip file's bytes.
    Zip(Vec<u8>),
    /// A container image URI.
    Image(String),
}

/// Parses a JSON body into `T`; an empty body reads as `{}`.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, LambdaError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        LambdaError::new(
            LambdaErrorCode::InvalidRequestContent,
            format!("Could not parse request body into json: {e}"),
        )
    })
}

/// Refuses members that configure what Sluice does not have, unless they are empty.
fn refuse_unsupported(other: &Unsupported, allowed_defaults: &[&str]) -> Result<(), LambdaError> {
    for (name, value) in other {
        let empty = match value {
            serde_json::Value::Null => true,
            serde_json::Value::String(s) => s.is_empty(),
            serde_json::Value::Array(a) => a.is_empty(),
            serde_json::Value::Object(o) => o.values().all(|v| match v {
                serde_json::Value::Array(a) => a.is_empty(),
                serde_json::Value::Null => true,
                _ => false,
            }),
            _ => false,
        };
        if empty || allowed_defaults.contains(&name.as_str()) {
            continue;
        }
        return Err(LambdaError::invalid(format!(
            "Sluice does not support {name}: it runs no AWS infrastructure for functions (docs/lambda.md)"
        )));
    }
    Ok(())
}

/// Members accepted and reported at their fixed values (Sluice runs no tracer, gives no
/// `/tmp`, keeps no log groups).
const ACCEPTED_WITHOUT_EFFECT: &[&str] = &["TracingConfig", "EphemeralStorage", "LoggingConfig"];

fn check_range(value: i64, member: &str, min: i64, max: i64) -> Result<(), LambdaError> {
    if value < min {
        return Err(LambdaError::validation(
            value,
            member,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if value > max {
        return Err(LambdaError::validation(
            value,
            member,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn check_len(value: &str, member: &str, max: usize) -> Result<(), LambdaError> {
    if value.chars().count() > max {
        return Err(LambdaError::validation(
            value,
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn check_runtime(runtime: &str) -> Result<(), LambdaError> {
    if RUNTIMES.contains(&runtime) {
        return Ok(());
    }
    Err(LambdaError::validation(
        runtime,
        "runtime",
        &format!("Member must satisfy enum value set: [{}]", RUNTIMES.join(", ")),
    ))
}

fn check_role(role: &str) -> Result<(), LambdaError> {
    let ok = role
        .split_once(":iam::")
        .filter(|(head, _)| {
            head.strip_prefix("arn:")
                .is_some_and(|p| p.starts_with("aws") || p.is_empty())
        })
        .and_then(|(_, rest)| rest.split_once(":role"))
        .is_some_and(|(account, path)| {
            account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && !path.trim_start_matches('/').is_empty()
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_/".contains(&b))
        });
    if ok {
        return Ok(());
    }
    Err(LambdaError::validation(
        role,
        "role",
        "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
    ))
}

fn check_handler(handler: &str) -> Result<(), LambdaError> {
    check_len(handler, "handler", 128)?;
    if handler.chars().any(char::is_whitespace) {
        return Err(LambdaError::validation(
            handler,
            "handler",
            "Member must satisfy regular expression pattern: [^\\s]+",
        ));
    }
    Ok(())
}

fn check_environment(environment: &Environment) -> Result<(), LambdaError> {
    let mut size = 0;
    for (name, value) in &environment.variables {
        let valid = name.len() >= 2
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(LambdaError::validation(
                name,
                "environment.variables",
                "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
            ));
        }
        size += name.len() + value.len();
    }
    if size > MAX_ENVIRONMENT {
        return Err(LambdaError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {size}"
        )));
    }
    Ok(())
}

/// Checks a tag map's size and its keys' and values' lengths.
pub fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), LambdaError> {
    if tags.len() > MAX_TAGS {
        return Err(LambdaError::invalid(format!(
            "Number of tags exceeds resource tag limit of {MAX_TAGS}."
        )));
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
            return Err(LambdaError::invalid(format!("The tag key '{key}' is not valid.")));
        }
        if value.chars().count() > 256 {
            return Err(LambdaError::invalid(format!(
                "The tag value for key '{key}' is longer than 256 characters."
            )));
        }
    }
    Ok(())
}

fn check_architectures(architectures: &Option<Vec<String>>) -> Result<(), LambdaError> {
    let Some(list) = architectures else { return Ok(()) };
    if list.len() != 1 {
        return Err(LambdaError::validation(
            format!("{list:?}"),
            "architectures",
            "Member must have length less than or equal to 1",
        ));
    }
    if !matches!(list[0].as_str(), "x86_64" | "arm64") {
        return Err(LambdaError::validation(
            &list[0],
            "architectures",
            "Member must satisfy enum value set: [x86_64, arm64]",
        ));
    }
    Ok(())
}

fn refuse_publish(publish: Option<bool>) -> Result<(), LambdaError> {
    if publish == Some(true) {
        return Err(LambdaError::invalid(
            "Sluice keeps one version of a function, $LATEST: Publish is not supported",
        ));
    }
    Ok(())
}

/// The package a request's code members name: a base64 zip or an image URI.
fn package(code: &FunctionCode, package_type: &str) -> Result<Package, LambdaError> {
    if code.s3_bucket.is_some() || code.s3_key.is_some() || code.s3_object_version.is_some() {
        return Err(LambdaError::invalid(
            "Sluice has no S3 to fetch code from: pass the package as ZipFile (Sluice does not run it; handlers connect to the function's Runtime API)",
        ));
    }
    match (package_type, &code.zip_file, &code.image_uri) {
        ("Zip", Some(zip), None) => STANDARD.decode(zip.trim()).map(Package::Zip).map_err(|_| {
            LambdaError::invalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
        }),
        ("Image", None, Some(uri)) if !uri.is_empty() => Ok(Package::Image(uri.clone())),
        ("Image", _, _) => Err(LambdaError::invalid(
            "Please provide ImageUri when PackageType is Image.",
        )),
        _ => Err(LambdaError::invalid(
            "Please do not provide other FunctionCode parameters when providing a ZipFile.",
        )),
    }
}

/// A validated CreateFunction.
#[derive(Debug, Clone)]
pub struct CreateFunction {
    /// The body, every member checked.
    pub request: CreateFunctionRequest,
    /// The function's name.
    pub name: String,
    /// Its package.
    pub package: Package,
}

/// Decodes and validates CreateFunction's body.
pub fn decode_create_function(body: &[u8]) -> Result<CreateFunction, LambdaError> {
    let request: CreateFunctionRequest = parse(body)?;
    let Some(function_name) = &request.function_name else {
        return Err(LambdaError::validation(
            "null",
            "functionName",
            "Member must not be null",
        ));
    };
    let reference = super::arn::FunctionRef::parse(function_name, "functionName")?;
    if reference.qualifier.is_some() {
        return Err(LambdaError::invalid(
            "Function name cannot carry a qualifier when creating a function.",
        ));
    }
    let Some(role) = &request.role else {
        return Err(LambdaError::validation("null", "role", "Member must not be null"));
    };
    check_role(role)?;
    let Some(code) = &request.code else {
        return Err(LambdaError::validation("null", "code", "Member must not be null"));
    };
    let package_type = request.package_type.as_deref().unwrap_or("Zip");
    if !matches!(package_type, "Zip" | "Image") {
        return Err(LambdaError::validation(
            package_type,
            "packageType",
            "Member must satisfy enum value set: [Zip, Image]",
        ));
    }
    let package = package(code, package_type)?;
    if package_type == "Zip" && (request.runtime.is_none() || request.handler.is_none()) {
        return Err(LambdaError::invalid(
            "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
        ));
    }
    check_common(&Common {
        runtime: request.runtime.as_deref(),
        handler: request.handler.as_deref(),
        description: request.description.as_deref(),
        timeout: request.timeout,
        memory: request.memory_size,
        environment: request.environment.as_ref(),
    })?;
    check_architectures(&request.architectures)?;
    if let Some(tags) = &request.tags {
        check_tags(tags)?;
    }
    refuse_publish(request.publish)?;
    refuse_unsupported(&request.other, ACCEPTED_WITHOUT_EFFECT)?;
    Ok(CreateFunction {
        name: reference.name,
        package,
        request,
    })
}

/// The settings CreateFunction and UpdateFunctionConfiguration share.
struct Common<'a> {
    runtime: Option<&'a str>,
    handler: Option<&'a str>,
    description: Option<&'a str>,
    timeout: Option<i64>,
    memory: Option<i64>,
    environment: Option<&'a Environment>,
}

fn check_common(c: &Common<'_>) -> Result<(), LambdaError> {
    if let Some(runtime) = c.runtime {
        check_runtime(runtime)?;
    }
    if let Some(handler) = c.handler {
        check_handler(handler)?;
    }
    if let Some(description) = c.description {
        check_len(description, "description", 256)?;
    }
    if let Some(timeout) = c.timeout {
        check_range(timeout, "timeout", 1, MAX_TIMEOUT)?;
    }
    if let Some(memory) = c.memory {
        check_range(memory, "memorySize", MEMORY.0, MEMORY.1)?;
    }
    if let Some(environment) = c.environment {
        check_environment(environment)?;
    }
    Ok(())
}

/// Decodes and validates UpdateFunctionConfiguration's body.
pub fn decode_update_configuration(body: &[u8]) -> Result<UpdateFunctionConfigurationRequest, LambdaError> {
    let request: UpdateFunctionConfigurationRequest = parse(body)?;
    if let Some(role) = &request.role {
        check_role(role)?;
    }
    check_common(&Common {
        runtime: request.runtime.as_deref(),
        handler: request.handler.as_deref(),
        description: request.description.as_deref(),
        timeout: request.timeout,
        memory: request.memory_size,
        environment: request.environment.as_ref(),
    })?;
    refuse_unsupported(&request.other, ACCEPTED_WITHOUT_EFFECT)?;
    Ok(request)
}

/// A validated UpdateFunctionCode.
#[derive(Debug, Clone)]
pub struct UpdateFunctionCode {
    /// The body.
    pub request: UpdateFunctionCodeRequest,
    /// The new package.
    pub package: Package,
}

/// Decodes and validates UpdateFunctionCode's body.
pub fn decode_update_code(body: &[u8]) -> Result<UpdateFunctionCode, LambdaError> {
    let request: UpdateFunctionCodeRequest = parse(body)?;
    let package_type = if request.code.image_uri.is_some() {
        "Image"
    } else {
        "Zip"
    };
    let package = package(&request.code, package_type)?;
    check_architectures(&request.architectures)?;
    refuse_publish(request.publish)?;
    Ok(UpdateFunctionCode { request, package })
}

/// Decodes a mapping body; range checks of the model (the source-dependent rules are the
/// core's, which knows whether the source is a queue or a stream).
pub fn decode_mapping(body: &[u8]) -> Result<EventSourceMappingRequest, LambdaError> {
    let request: EventSourceMappingRequest = parse(body)?;
    if let Some(v) = request.batch_size {
        check_range(v, "batchSize", 1, 10000)?;
    }
    if let Some(v) = request.maximum_batching_window_in_seconds {
        check_range(v, "maximumBatchingWindowInSeconds", 0, 300)?;
    }
    if let Some(v) = request.parallelization_factor {
        check_range(v, "parallelizationFactor", 1, 10)?;
    }
    if let Some(v) = request.maximum_record_age_in_seconds {
        check_range(v, "maximumRecordAgeInSeconds", -1, 604_800)?;
    }
    if let Some(v) = request.maximum_retry_attempts {
        check_range(v, "maximumRetryAttempts", -1, 10000)?;
    }
    if let Some(v) = request.scaling_config.as_ref().and_then(|s| s.maximum_concurrency) {
        check_range(v, "scalingConfig.maximumConcurrency", 2, 1000)?;
    }
    if let Some(position) = &request.starting_position {
        if !matches!(position.as_str(), "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP") {
            return Err(LambdaError::validation(
                position,
                "startingPosition",
                "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]",
            ));
        }
    }
    if let Some(types) = &request.function_response_types {
        if types.len() > 1 || types.iter().any(|t| t != "ReportBatchItemFailures") {
            return Err(LambdaError::validation(
                format!("{types:?}"),
                "functionResponseTypes",
                "Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]",
            ));
        }
    }
    if let Some(name) = &request.function_name {
        super::arn::FunctionRef::parse(name, "functionName")?;
    }
    if let Some(tags) = &request.tags {
        check_tags(tags)?;
    }
    refuse_unsupported(&request.other, &["TumblingWindowInSeconds"])?;
    if request
        .other
        .get("TumblingWindowInSeconds")
        .and_then(serde_json::Value::as_i64)
        .is_some_and(|v| v != 0)
    {
        return Err(LambdaError::invalid(
            "Sluice does not support TumblingWindowInSeconds: tumbling windows are not implemented",
        ));
    }
    Ok(request)
}

/// Parses a JSON body that must be an object of string tags (TagResource).
pub fn decode_tags(body: &[u8]) -> Result<BTreeMap<String, String>, LambdaError> {
    let tags: super::types::Tags = parse(body)?;
    if tags.tags.is_empty() {
        return Err(LambdaError::validation("null", "tags", "Member must not be null"));
    }
    check_tags(&tags.tags)?;
    Ok(tags.tags)
}

/// A validated AddPermission: its required members, and the body for the optional ones.
#[derive(Debug, Clone)]
pub struct AddPermission {
    /// The statement's `Sid`.
    pub statement_id: String,
    /// The action granted.
    pub action: String,
    /// The principal granted it, as the client wrote it.
    pub principal: String,
    /// The body, every member checked.
    pub request: AddPermissionRequest,
}

/// The model's pattern of AddPermission's `StatementId` (RemovePermission's also takes dots).
const STATEMENT_ID_PATTERN: &str = "([a-zA-Z0-9-_]+)";
/// The model's pattern of RemovePermission's `StatementId` (`NamespacedStatementId`).
const NAMESPACED_STATEMENT_ID_PATTERN: &str = "([a-zA-Z0-9-_.]+)";

/// `Member must not be null` for a required member the body leaves out.
fn required(value: Option<String>, member: &str) -> Result<String, LambdaError> {
    value.ok_or_else(|| LambdaError::validation("null", member, "Member must not be null"))
}

fn check_min_len(value: &str, member: &str, min: usize) -> Result<(), LambdaError> {
    if value.chars().count() < min {
        return Err(LambdaError::validation(
            value,
            member,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    Ok(())
}

fn pattern_error(value: &str, member: &str, pattern: &str) -> LambdaError {
    LambdaError::validation(
        value,
        member,
        &format!("Member must satisfy regular expression pattern: {pattern}"),
    )
}

/// Non-empty, and every character one of ASCII letters, digits and `extra`.
fn all_of(value: &str, extra: &[u8]) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

fn check_statement_id(sid: &str, pattern: &str, extra: &[u8]) -> Result<(), LambdaError> {
    check_min_len(sid, "statementId", 1)?;
    check_len(sid, "statementId", 100)?;
    if !all_of(sid, extra) {
        return Err(pattern_error(sid, "statementId", pattern));
    }
    Ok(())
}

/// Checks RemovePermission's `StatementId` (the path's second label), which unlike
/// AddPermission's may hold dots.
pub fn check_removed_statement_id(sid: &str) -> Result<(), LambdaError> {
    check_statement_id(sid, NAMESPACED_STATEMENT_ID_PATTERN, b"-_.")
}

/// Checks a `Qualifier` query parameter against `NumericLatestPublishedOrAliasQualifier`:
/// `$LATEST`, `$LATEST.PUBLISHED`, or a version or alias of `[a-zA-Z0-9-_$]`, 1 to 128 long.
pub fn check_qualifier(qualifier: &str) -> Result<(), LambdaError> {
    check_min_len(qualifier, "qualifier", 1)?;
    check_len(qualifier, "qualifier", 128)?;
    if qualifier == "$LATEST.PUBLISHED" || all_of(qualifier, b"-_$") {
        return Ok(());
    }
    Err(pattern_error(
        qualifier,
        "qualifier",
        "\\$(LATEST(\\.PUBLISHED)?)|[a-zA-Z0-9-_$]+",
    ))
}

/// `lambda:*`, `lambda:` and an operation name, or `*` (the model's `Action`).
fn check_action(action: &str) -> Result<(), LambdaError> {
    let ok = action == "*"
        || action
            .strip_prefix("lambda:")
            .is_some_and(|op| op == "*" || (!op.is_empty() && op.bytes().all(|b| b.is_ascii_alphabetic())));
    if ok {
        return Ok(());
    }
    Err(pattern_error(action, "action", "(lambda:[*]|lambda:[a-zA-Z]+|[*])"))
}

/// `[a-z]{2}(-gov)?-[a-z]+-\d{1}`: the region part of the model's `Arn` pattern.
fn is_region(region: &str) -> bool {
    // `-[a-z]+-\d`, the end of the region after its two-letter prefix.
    fn tail(t: &str) -> bool {
        let Some(t) = t.strip_prefix('-') else { return false };
        let Some((word, digit)) = t.rsplit_once('-') else {
            return false;
        };
        !word.is_empty()
            && word.bytes().all(|b| b.is_ascii_lowercase())
            && digit.len() == 1
            && digit.bytes().all(|b| b.is_ascii_digit())
    }
    let Some(prefix) = region.get(..2) else { return false };
    if !prefix.bytes().all(|b| b.is_ascii_lowercase()) {
        return false;
    }
    let rest = &region[2..];
    // The regex backtracks: `us-gov-west-1` matches with `-gov`, `us-east-1` without.
    tail(rest) || rest.strip_prefix("-gov").is_some_and(tail)
}

/// The model's `Arn`: `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`.
fn check_source_arn(arn: &str) -> Result<(), LambdaError> {
    let mut parts = arn.splitn(6, ':');
    let (scheme, partition, service, region, account, resource) = (
        parts.next(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next(),
    );
    let ok = scheme == Some("arn")
        && partition
            .strip_prefix("aws")
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && all_of(service, b"-")
        && (region.is_empty() || is_region(region))
        && (account.is_empty() || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && resource.is_some();
    if ok {
        return Ok(());
    }
    Err(pattern_error(
        arn,
        "sourceArn",
        "arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)",
    ))
}

fn check_permission_conditions(r: &AddPermissionRequest) -> Result<(), LambdaError> {
    if let Some(arn) = &r.source_arn {
        check_source_arn(arn)?;
    }
    if let Some(account) = &r.source_account {
        check_len(account, "sourceAccount", 12)?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(pattern_error(account, "sourceAccount", "\\d{12}"));
        }
    }
    if let Some(token) = &r.event_source_token {
        check_len(token, "eventSourceToken", 256)?;
        if !all_of(token, b"._-") {
            return Err(pattern_error(token, "eventSourceToken", "[a-zA-Z0-9._\\-]+"));
        }
    }
    if let Some(org) = &r.principal_org_id {
        check_min_len(org, "principalOrgID", 12)?;
        check_len(org, "principalOrgID", 34)?;
        let ok = org.strip_prefix("o-").is_some_and(|id| {
            (10..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !ok {
            return Err(pattern_error(org, "principalOrgID", "o-[a-z0-9]{10,32}"));
        }
    }
    if let Some(auth) = &r.function_url_auth_type {
        if !matches!(auth.as_str(), "NONE" | "AWS_IAM") {
            return Err(LambdaError::validation(
                auth,
                "functionUrlAuthType",
                "Member must satisfy enum value set: [NONE, AWS_IAM]",
            ));
        }
    }
    Ok(())
}

/// Decodes and validates AddPermission's body against the model's patterns and lengths. What
/// a principal may be (a service, an account, an IAM ARN, `*`) is the core's rule.
pub fn decode_add_permission(body: &[u8]) -> Result<AddPermission, LambdaError> {
    let mut request: AddPermissionRequest = parse(body)?;
    let statement_id = required(request.statement_id.take(), "statementId")?;
    check_statement_id(&statement_id, STATEMENT_ID_PATTERN, b"-_")?;
    let action = required(request.action.take(), "action")?;
    check_action(&action)?;
    let principal = required(request.principal.take(), "principal")?;
    if principal.is_empty() || principal.chars().any(char::is_whitespace) {
        return Err(pattern_error(&principal, "principal", "[^\\s]+"));
    }
    check_permission_conditions(&request)?;
    Ok(AddPermission {
        statement_id,
        action,
        principal,
        request,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: serde_json::Value) -> Result<CreateFunction, LambdaError> {
        decode_create_function(json.to_string().as_bytes())
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "FunctionName": "f1",
            "Runtime": "python3.12",
            "Role": "arn:aws:iam::000000000000:role/lambda-role",
            "Handler": "app.handler",
            "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
        })
    }

    #[test]
    fn accepts_a_complete_create() {
        let created = create(base()).unwrap();
        assert_eq!(created.name, "f1");
        assert!(matches!(created.package, Package::Zip(ref b) if b.len() == 22));
    }

    #[test]
    fn refuses_bad_members_with_aws_codes() {
        let cases = [
            ("Timeout", serde_json::json!(0), LambdaErrorCode::Validation),
            ("Timeout", serde_json::json!(901), LambdaErrorCode::Validation),
            ("MemorySize", serde_json::json!(64), LambdaErrorCode::Validation),
            ("Runtime", serde_json::json!("cobol"), LambdaErrorCode::Validation),
            ("Role", serde_json::json!("not-a-role"), LambdaErrorCode::Validation),
            (
                "Timeout",
                serde_json::json!("ten"),
                LambdaErrorCode::InvalidRequestContent,
            ),
            (
                "Publish",
                serde_json::json!(true),
                LambdaErrorCode::InvalidParameterValue,
            ),
            (
                "Layers",
                serde_json::json!(["arn:aws:lambda:us-east-1:1:layer:x:1"]),
                LambdaErrorCode::InvalidParameterValue,
            ),
            (
                "Environment",
                serde_json::json!({"Variables": {"1x": "v"}}),
                LambdaErrorCode::Validation,
            ),
        ];
        for (member, value, code) in cases {
            let mut body = base();
            body[member] = value.clone();
            let err = create(body).unwrap_err();
            assert_eq!(err.code, code, "{member}={value}: {err}");
        }
        let mut no_handler = base();
        no_handler.as_object_mut().unwrap().remove("Handler");
        assert_eq!(
            create(no_handler).unwrap_err().code,
            LambdaErrorCode::InvalidParameterValue
        );
        assert_eq!(
            decode_create_function(b"{not json").unwrap_err().code,
            LambdaErrorCode::InvalidRequestContent
        );
    }

    #[test]
    fn empty_infrastructure_members_pass() {
        let mut body = base();
        body["VpcConfig"] = serde_json::json!({"SubnetIds": [], "SecurityGroupIds": []});
        body["Layers"] = serde_json::json!([]);
        body["TracingConfig"] = serde_json::json!({"Mode": "PassThrough"});
        assert!(create(body).is_ok());
    }

    #[test]
    fn mapping_ranges() {
        assert!(decode_mapping(br#"{"BatchSize": 10, "FunctionName": "f"}"#).is_ok());
        let err = decode_mapping(br#"{"BatchSize": 10001}"#).unwrap_err();
        assert!(err.message.contains("less than or equal to 10000"), "{err}");
        assert!(decode_mapping(br#"{"StartingPosition": "NOW"}"#).is_err());
        assert!(decode_mapping(br#"{"FunctionResponseTypes": ["Other"]}"#).is_err());
        assert!(decode_mapping(br#"{"ScalingConfig": {"MaximumConcurrency": 1}}"#).is_err());
        assert!(decode_mapping(br#"{"Queues": ["q"]}"#).is_err());
    }

    fn add(json: serde_json::Value) -> Result<AddPermission, LambdaError> {
        decode_add_permission(json.to_string().as_bytes())
    }

    fn sns_permission() -> serde_json::Value {
        serde_json::json!({
            "StatementId": "sns",
            "Action": "lambda:InvokeFunction",
            "Principal": "sns.amazonaws.com",
            "SourceArn": "arn:aws:sns:us-east-1:000000000000:orders",
        })
    }

    #[test]
    fn accepts_the_sns_tutorials_permission() {
        let p = add(sns_permission()).unwrap();
        assert_eq!(
            (p.statement_id.as_str(), p.action.as_str(), p.principal.as_str()),
            ("sns", "lambda:InvokeFunction", "sns.amazonaws.com")
        );
        assert_eq!(
            p.request.source_arn.as_deref(),
            Some("arn:aws:sns:us-east-1:000000000000:orders")
        );
        let mut every = sns_permission();
        every["SourceAccount"] = "123456789012".into();
        every["EventSourceToken"] = "token-1.a_b".into();
        every["PrincipalOrgID"] = "o-a1b2c3d4e5".into();
        every["FunctionUrlAuthType"] = "AWS_IAM".into();
        every["InvokedViaFunctionUrl"] = true.into();
        every["RevisionId"] = "r".into();
        assert!(add(every).is_ok());
        for action in ["*", "lambda:*", "lambda:GetFunction"] {
            let mut body = sns_permission();
            body["Action"] = action.into();
            assert!(add(body).is_ok(), "{action}");
        }
        // Region and account are optional in an ARN (S3 buckets have neither).
        for arn in ["arn:aws:s3:::bucket", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t"] {
            let mut body = sns_permission();
            body["SourceArn"] = arn.into();
            assert!(add(body).is_ok(), "{arn}");
        }
    }

    #[test]
    fn refuses_permissions_outside_the_model() {
        let cases = [
            ("StatementId", serde_json::json!(null), "Member must not be null"),
            (
                "StatementId",
                serde_json::json!(""),
                "length greater than or equal to 1",
            ),
            (
                "StatementId",
                serde_json::json!("x".repeat(101)),
                "length less than or equal to 100",
            ),
            ("StatementId", serde_json::json!("a.b"), "pattern: ([a-zA-Z0-9-_]+)"),
            ("Action", serde_json::json!(null), "Member must not be null"),
            ("Action", serde_json::json!("InvokeFunction"), "pattern: (lambda:[*]|"),
            ("Action", serde_json::json!("lambda:Invoke1"), "pattern: (lambda:[*]|"),
            ("Principal", serde_json::json!("sns amazonaws"), "pattern: [^\\s]+"),
            ("SourceArn", serde_json::json!("sns:topic"), "at 'sourceArn'"),
            (
                "SourceArn",
                serde_json::json!("arn:aws:sns:useast1:000000000000:t"),
                "at 'sourceArn'",
            ),
            (
                "SourceArn",
                serde_json::json!("arn:aws:sns:us-east-1:0000:t"),
                "at 'sourceArn'",
            ),
            ("SourceAccount", serde_json::json!("12345"), "pattern: \\d{12}"),
            (
                "SourceAccount",
                serde_json::json!("1234567890123"),
                "length less than or equal to 12",
            ),
            ("EventSourceToken", serde_json::json!("a b"), "at 'eventSourceToken'"),
            (
                "PrincipalOrgID",
                serde_json::json!("o-short"),
                "length greater than or equal to 12",
            ),
            (
                "PrincipalOrgID",
                serde_json::json!("org-a1b2c3d4e5"),
                "pattern: o-[a-z0-9]{10,32}",
            ),
            (
                "FunctionUrlAuthType",
                serde_json::json!("IAM"),
                "enum value set: [NONE, AWS_IAM]",
            ),
        ];
        for (member, value, expected) in cases {
            let mut body = sns_permission();
            body[member] = value.clone();
            let err = add(body).unwrap_err();
            assert_eq!(err.code, LambdaErrorCode::Validation, "{member}={value}: {err}");
            assert!(err.message.contains(expected), "{member}={value}: {err}");
        }
        let mut wrong_type = sns_permission();
        wrong_type["InvokedViaFunctionUrl"] = "yes".into();
        assert_eq!(
            add(wrong_type).unwrap_err().code,
            LambdaErrorCode::InvalidRequestContent
        );
    }

    #[test]
    fn statement_ids_to_remove_and_qualifiers() {
        assert!(check_removed_statement_id("sns.1").is_ok());
        assert!(check_removed_statement_id("a/b").is_err());
        assert!(check_removed_statement_id(&"x".repeat(101)).is_err());
        for ok in ["$LATEST", "$LATEST.PUBLISHED", "1", "live", "a-b_c"] {
            assert!(check_qualifier(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a.b", "a b", &"x".repeat(129)] {
            let err = check_qualifier(bad).unwrap_err();
            assert_eq!(err.code, LambdaErrorCode::Validation, "{bad}");
        }
    }
}
