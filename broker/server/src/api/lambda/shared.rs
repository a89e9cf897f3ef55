//! The pieces every Lambda handler file shares: the error type, the reply, function keys from
//! references, query parameters, and the rendering of functions and mappings.
//!
//! # Invariants
//! - A leaf: it imports no other module of `api::lambda`, so the handler files import it and
//!   never each other.

use bytes::Bytes;
use sluice_broker::function::{FunctionKey, FunctionView, MappingView, SourceKind};
use sluice_broker::Functions;
use sluice_protocols::lambda::types::{
    DeadLetterConfig, DestinationConfig, Environment, EphemeralStorage, EventSourceMappingConfiguration, Filter,
    FilterCriteria, FunctionConfiguration, LoggingConfig, OnFailure, ScalingConfig, TracingConfig,
};
use sluice_protocols::lambda::{validate, FunctionRef, LambdaError};

use crate::api::context::RequestContext;
use crate::app::App;

pub use crate::api::error::Failure;

/// A handler's result: its error is the Lambda error clients see.
pub type Result<T> = std::result::Result<T, Failure<LambdaError>>;

/// What every Lambda handler works with.
pub struct Scope<'a> {
    /// The process.
    pub app: &'a App,
    /// Who and where the request is for.
    pub ctx: &'a RequestContext,
    /// The resource the path names, percent-decoded.
    pub resource: Option<String>,
    /// The path's second resource, percent-decoded (RemovePermission's statement id).
    pub sub_resource: Option<String>,
    /// The query string's parameters.
    pub query: Vec<(String, String)>,
    /// The request headers.
    pub headers: &'a http::HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Scope<'_> {
    /// The core's functions.
    pub fn functions(&self) -> &Functions {
        &self.app.broker.functions
    }

    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `MaxItems` (1 to 10,000; 50 when absent, as AWS pages).
    pub fn max_items(&self) -> Result<usize> {
        match self.param("MaxItems") {
            None => Ok(50),
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (1..=10_000).contains(&n) => Ok(n as usize),
                _ => Err(Failure(LambdaError::validation(
                    text,
                    "maxItems",
                    "Member must have value between 1 and 10000",
                ))),
            },
        }
    }

    /// The caller's account and region, which scope mappings.
    pub fn owner(&self) -> sluice_broker::function::Owner<'_> {
        sluice_broker::function::Owner {
            account: &self.ctx.account_id,
            region: &self.ctx.region,
        }
    }

    /// The path's resource (every route that has one checks it exists before calling).
    pub fn resource(&self) -> &str {
        self.resource.as_deref().unwrap_or_default()
    }

    /// The function a reference names: the reference's account and region, else the caller's.
    pub fn function_key(&self, reference: &str, member: &str) -> Result<FunctionKey> {
        let r = FunctionRef::parse(reference, member)?;
        let key = FunctionKey::new(self.account(&r), self.region(&r), r.name.clone());
        if let Some(q) = r.qualifier.as_deref().filter(|q| *q != "$LATEST") {
            return Err(version_not_kept(&key, q));
        }
        Ok(key)
    }

    /// The function the path names, with the `Qualifier` query parameter of the operations
    /// that take one: a qualifier other than `$LATEST` (in the reference or the parameter)
    /// names a version Sluice does not keep, and both must agree when both are given. Returns
    /// the qualifier given (only ever `$LATEST`), for the operations that answer it apart.
    pub fn qualified_function(&self) -> Result<(FunctionKey, Option<String>)> {
        let reference = FunctionRef::parse(self.resource(), "functionName")?;
        let param = self.param("Qualifier");
        if let Some(qualifier) = param {
            validate::check_qualifier(qualifier)?;
        }
        if let (Some(given), Some(derived)) = (param, reference.qualifier.as_deref()) {
            if given != derived {
                return Err(Failure(LambdaError::invalid(
                    "The derived qualifier from the function name does not match the specified qualifier.",
                )));
            }
        }
        let key = self.function_key(self.resource(), "functionName")?;
        match param.or(reference.qualifier.as_deref()) {
            None => Ok((key, None)),
            Some("$LATEST") => Ok((key, Some("$LATEST".to_string()))),
            Some(qualifier) => Err(version_not_kept(&key, qualifier)),
        }
    }

    fn account(&self, r: &FunctionRef) -> String {
        r.account.clone().unwrap_or_else(|| self.ctx.account_id.clone())
    }

    fn region(&self, r: &FunctionRef) -> String {
        r.region.clone().unwrap_or_else(|| self.ctx.region.clone())
    }

    /// The address handlers reach a function's Runtime API at (`AWS_LAMBDA_RUNTIME_API`).
    pub fn runtime_address(&self, port: u16) -> String {
        self.app.runtime.address(port, self.ctx.host.as_deref())
    }
}

/// The answer to a version or alias of `key`: not found, since Sluice keeps only `$LATEST`
/// (a qualifier in a function reference or in a `Qualifier` parameter alike).
pub fn version_not_kept(key: &FunctionKey, qualifier: &str) -> Failure<LambdaError> {
    Failure(LambdaError::new(
        sluice_protocols::lambda::LambdaErrorCode::ResourceNotFound,
        format!(
            "Function not found: {}:{qualifier} (Sluice keeps only $LATEST)",
            key.arn()
        ),
    ))
}

/// A function's `FunctionConfiguration`.
pub fn configuration(view: &FunctionView) -> FunctionConfiguration {
    let r = &view.record;
    let s = &r.settings;
    FunctionConfiguration {
        function_name: view.key.name.clone(),
        function_arn: view.key.arn(),
        runtime: s.runtime.clone(),
        role: s.role.clone(),
        handler: s.handler.clone(),
        code_size: r.code_size,
        description: s.description.clone(),
        timeout: s.timeout_secs,
        memory_size: s.memory_mb,
        last_modified: lambda_timestamp(r.last_modified_ms),
        code_sha256: r.code_sha256.clone(),
        version: "$LATEST".into(),
        environment: (!s.environment.is_empty()).then(|| Environment {
            variables: s.environment.clone(),
        }),
        dead_letter_config: s
            .dead_letter_target
            .clone()
            .map(|arn| DeadLetterConfig { target_arn: Some(arn) }),
        tracing_config: TracingConfig {
            mode: "PassThrough".into(),
        },
        revision_id: r.revision_id.clone(),
        state: "Active".into(),
        last_update_status: "Successful".into(),
        package_type: r.package_type.clone(),
        architectures: vec![s.architecture.clone()],
        ephemeral_storage: EphemeralStorage { size: 512 },
        logging_config: LoggingConfig {
            log_format: "Text".into(),
            log_group: format!("/aws/lambda/{}", view.key.name),
        },
    }
}

/// A mapping's `EventSourceMappingConfiguration`, with the members AWS reports for its source.
pub fn mapping_configuration(view: &MappingView) -> EventSourceMappingConfiguration {
    let m = &view.record;
    let stream = m.kind == SourceKind::Kinesis;
    EventSourceMappingConfiguration {
        uuid: m.uuid.clone(),
        starting_position: m.starting_position.map(|p| p.as_str().to_string()),
        starting_position_timestamp: m.starting_position.and_then(|p| match p {
            sluice_broker::function::StartingPosition::AtTimestamp(ms) => Some(ms as f64 / 1000.0),
            _ => None,
        }),
        batch_size: m.batch_size,
        maximum_batching_window_in_seconds: m.batching_window_secs,
        parallelization_factor: stream.then_some(m.parallelization),
        event_source_arn: m.source_arn.clone(),
        filter_criteria: (!m.filters.is_empty()).then(|| FilterCriteria {
            filters: m.filters.iter().map(|p| Filter { pattern: p.clone() }).collect(),
        }),
        function_arn: m.function.arn(),
        last_modified: m.last_modified_ms as f64 / 1000.0,
        last_processing_result: view.last_result.clone(),
        state: view.state.to_string(),
        state_transition_reason: if stream { "User action" } else { "USER_INITIATED" }.to_string(),
        destination_config: stream.then(|| DestinationConfig {
            on_failure: OnFailure {
                destination: m.on_failure.clone(),
            },
        }),
        maximum_record_age_in_seconds: stream.then_some(m.max_record_age_secs),
        bisect_batch_on_function_error: stream.then_some(m.bisect_on_error),
        maximum_retry_attempts: stream.then_some(m.max_retries),
        function_response_types: if m.report_item_failures {
            vec!["ReportBatchItemFailures".to_string()]
        } else {
            Vec::new()
        },
        scaling_config: m.max_concurrency.map(|c| ScalingConfig {
            maximum_concurrency: Some(i64::from(c)),
        }),
        event_source_mapping_arn: m.arn(),
    }
}

/// Lambda's `LastModified` format: `2019-10-08T13:02:27.532+0000`.
pub fn lambda_timestamp(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs) else {
        return "1970-01-01T00:00:00.000+0000".into();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_lambdas_shape() {
        assert_eq!(lambda_timestamp(1_570_539_747_532), "2019-10-08T13:02:27.532+0000");
    }
}
