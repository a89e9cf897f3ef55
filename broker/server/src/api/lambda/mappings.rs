//! Event-source mapping handlers: create, read, list, update, delete.

use sluice_broker::function::{MappingSpec, MappingUpdate};
use sluice_protocols::lambda::types::{EventSourceMappingRequest, ListEventSourceMappingsResponse};
use sluice_protocols::lambda::validate;
use sluice_protocols::lambda::LambdaError;

use super::shared::{mapping_configuration, Failure, Result, Scope};
use super::Reply;

/// The settings a create or update body carries, in the core's terms.
fn settings(s: &Scope<'_>, r: &EventSourceMappingRequest) -> Result<MappingUpdate> {
    let function = match &r.function_name {
        Some(name) => Some(s.function_key(name, "functionName")?),
        None => None,
    };
    Ok(MappingUpdate {
        function,
        enabled: r.enabled,
        batch_size: r.batch_size.map(|v| v as u32),
        batching_window_secs: r.maximum_batching_window_in_seconds.map(|v| v as u32),
        parallelization: r.parallelization_factor.map(|v| v as u32),
        on_failure: r
            .destination_config
            .as_ref()
            .map(|d| d.on_failure.destination.clone().unwrap_or_default()),
        max_record_age_secs: r.maximum_record_age_in_seconds,
        bisect_on_error: r.bisect_batch_on_function_error,
        max_retries: r.maximum_retry_attempts,
        report_item_failures: r.function_response_types.as_ref().map(|t| !t.is_empty()),
        filters: r
            .filter_criteria
            .as_ref()
            .map(|c| c.filters.iter().map(|f| f.pattern.clone()).collect()),
        max_concurrency: r
            .scaling_config
            .as_ref()
            .and_then(|c| c.maximum_concurrency)
            .map(|v| v as u32),
    })
}

/// CreateEventSourceMapping.
pub fn create(s: &Scope<'_>) -> Result<Reply> {
    let r = validate::decode_mapping(&s.body)?;
    let mut update = settings(s, &r)?;
    let Some(function) = update.function.take() else {
        return Err(Failure(LambdaError::validation(
            "null",
            "functionName",
            "Member must not be null",
        )));
    };
    let spec = MappingSpec {
        source_arn: r.event_source_arn.clone(),
        enabled: r.enabled,
        starting_position: r.starting_position.clone(),
        starting_timestamp_ms: r
            .starting_position_timestamp
            .map(|secs| (secs.max(0.0) * 1000.0) as u64),
        tags: r.tags.clone().unwrap_or_default(),
        settings: update,
    };
    let view = s.functions().create_mapping(&function, spec)?;
    Reply::json(202, &mapping_configuration(&view))
}

/// GetEventSourceMapping.
pub fn get(s: &Scope<'_>) -> Result<Reply> {
    let view = s.functions().get_mapping(&s.owner(), s.resource())?;
    Reply::json(200, &mapping_configuration(&view))
}

/// ListEventSourceMappings, optionally of one source and/or one function.
pub fn list(s: &Scope<'_>) -> Result<Reply> {
    let function = match s.param("FunctionName") {
        Some(name) => Some(s.function_key(name, "functionName")?),
        None => None,
    };
    let page = s.functions().list_mappings(
        &s.ctx.account_id,
        &s.ctx.region,
        s.param("EventSourceArn"),
        function.as_ref(),
        s.param("Marker"),
        s.max_items()?,
    );
    let response = ListEventSourceMappingsResponse {
        event_source_mappings: page.items.iter().map(mapping_configuration).collect(),
        next_marker: page.next_marker,
    };
    Reply::json(200, &response)
}

/// UpdateEventSourceMapping.
pub fn update(s: &Scope<'_>) -> Result<Reply> {
    let r = validate::decode_mapping(&s.body)?;
    if r.event_source_arn.is_some() || r.starting_position.is_some() || r.tags.is_some() {
        return Err(Failure(LambdaError::invalid(
            "EventSourceArn, StartingPosition and Tags cannot be changed by UpdateEventSourceMapping.",
        )));
    }
    let update = settings(s, &r)?;
    let view = s.functions().update_mapping(&s.owner(), s.resource(), update)?;
    Reply::json(202, &mapping_configuration(&view))
}

/// DeleteEventSourceMapping.
pub fn delete(s: &Scope<'_>) -> Result<Reply> {
    let view = s.functions().delete_mapping(&s.owner(), s.resource())?;
    Reply::json(202, &mapping_configuration(&view))
}
