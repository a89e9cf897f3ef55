//! Function handlers: create, read, list, update, delete.

use sluice_broker::function::{Code, FunctionSettings, FunctionView, SettingsUpdate};
use sluice_protocols::lambda::types::{
    FunctionCodeLocation, FunctionConfiguration, GetFunctionResponse, ListFunctionsResponse,
};
use sluice_protocols::lambda::validate::{self, Package};
use sluice_protocols::lambda::LambdaError;

use super::shared::{configuration, Failure, Result, Scope};
use super::Reply;

fn code(package: Package) -> Code {
    match package {
        Package::Zip(bytes) => Code::Zip(bytes),
        Package::Image(uri) => Code::Image(uri),
    }
}

/// The dead-letter target a DeadLetterConfig names: `None` when absent, `Some(None)` when
/// empty (which removes it), else an SQS queue or SNS topic ARN.
fn dead_letter(config: Option<&sluice_protocols::lambda::types::DeadLetterConfig>) -> Result<Option<Option<String>>> {
    let Some(config) = config else { return Ok(None) };
    match config.target_arn.as_deref().filter(|t| !t.is_empty()) {
        None => Ok(Some(None)),
        Some(arn) if arn.starts_with("arn:aws:sqs:") || arn.starts_with("arn:aws:sns:") => {
            Ok(Some(Some(arn.to_string())))
        }
        Some(arn) => Err(Failure(LambdaError::invalid(format!(
            "The provided target ARN {arn} is invalid: a dead-letter target is an SQS queue or SNS topic ARN"
        )))),
    }
}

/// CreateFunction.
pub fn create(s: &Scope<'_>) -> Result<Reply> {
    let decoded = validate::decode_create_function(&s.body)?;
    let r = decoded.request;
    let dead_letter_target = dead_letter(r.dead_letter_config.as_ref())?.flatten();
    let key = s.function_key(r.function_name.as_deref().unwrap_or_default(), "functionName")?;
    let settings = FunctionSettings {
        runtime: r.runtime,
        role: r.role.unwrap_or_default(),
        handler: r.handler,
        description: r.description.unwrap_or_default(),
        timeout_secs: r.timeout.unwrap_or(3) as u32,
        memory_mb: r.memory_size.unwrap_or(128) as u32,
        environment: r.environment.map(|e| e.variables).unwrap_or_default(),
        dead_letter_target,
        architecture: r
            .architectures
            .and_then(|a| a.into_iter().next())
            .unwrap_or_else(|| "x86_64".into()),
    };
    let listener = s.app.runtime.reserve().map_err(|e| {
        tracing::error!(error = %e, "no port for a function's runtime api");
        Failure(LambdaError::internal())
    })?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let view =
        s.functions()
            .create_function(&key, settings, &code(decoded.package), r.tags.unwrap_or_default(), port)?;
    if let Err(e) = s.app.runtime.serve(&key, listener) {
        tracing::error!(function = %key.name, error = %e, "runtime api not started");
    }
    Reply::json(201, &configuration(&view))
}

/// GetFunction: the configuration, the tags, and where handlers connect.
pub fn get(s: &Scope<'_>) -> Result<Reply> {
    let (key, qualifier) = s.qualified_function()?;
    let view = s.functions().get_function(&key)?;
    let response = GetFunctionResponse {
        configuration: read_as(&view, qualifier.as_deref()),
        code: FunctionCodeLocation {
            repository_type: "SluiceRuntimeApi".into(),
            location: s.runtime_address(view.record.runtime_port),
        },
        tags: view.record.tags.clone(),
    };
    Reply::json(200, &response)
}

/// GetFunctionConfiguration.
pub fn get_configuration(s: &Scope<'_>) -> Result<Reply> {
    let (key, qualifier) = s.qualified_function()?;
    let view = s.functions().get_function(&key)?;
    Reply::json(200, &read_as(&view, qualifier.as_deref()))
}

/// The configuration as read through `qualifier`: AWS answers a qualified read with the
/// qualified ARN (`...:function:f:$LATEST`), an unqualified one with the function's ARN.
fn read_as(view: &FunctionView, qualifier: Option<&str>) -> FunctionConfiguration {
    let mut read = configuration(view);
    if let Some(qualifier) = qualifier {
        read.function_arn = format!("{}:{qualifier}", read.function_arn);
    }
    read
}

/// ListFunctions.
pub fn list(s: &Scope<'_>) -> Result<Reply> {
    if let Some(version) = s.param("FunctionVersion").filter(|v| *v != "ALL") {
        return Err(Failure(LambdaError::validation(
            version,
            "functionVersion",
            "Member must satisfy enum value set: [ALL]",
        )));
    }
    let page = s
        .functions()
        .list_functions(&s.ctx.account_id, &s.ctx.region, s.param("Marker"), s.max_items()?);
    let response = ListFunctionsResponse {
        functions: page.items.iter().map(configuration).collect(),
        next_marker: page.next_marker,
    };
    Reply::json(200, &response)
}

/// UpdateFunctionConfiguration.
pub fn update_configuration(s: &Scope<'_>) -> Result<Reply> {
    let key = s.function_key(s.resource(), "functionName")?;
    let r = validate::decode_update_configuration(&s.body)?;
    let dead_letter_target = dead_letter(r.dead_letter_config.as_ref())?;
    let update = SettingsUpdate {
        runtime: r.runtime,
        role: r.role,
        handler: r.handler,
        description: r.description,
        timeout_secs: r.timeout.map(|t| t as u32),
        memory_mb: r.memory_size.map(|m| m as u32),
        environment: r.environment.map(|e| e.variables),
        dead_letter_target,
    };
    let view = s.functions().update_settings(&key, update, r.revision_id.as_deref())?;
    Reply::json(200, &configuration(&view))
}

/// UpdateFunctionCode.
pub fn update_code(s: &Scope<'_>) -> Result<Reply> {
    let key = s.function_key(s.resource(), "functionName")?;
    let decoded = validate::decode_update_code(&s.body)?;
    if decoded.request.dry_run == Some(true) {
        let view = s.functions().get_function(&key)?;
        return Reply::json(200, &configuration(&view));
    }
    let view = s
        .functions()
        .update_code(&key, &code(decoded.package), decoded.request.revision_id.as_deref())?;
    Reply::json(200, &configuration(&view))
}

/// DeleteFunction; its Runtime API stops (handlers connected to it see the connection close).
pub fn delete(s: &Scope<'_>) -> Result<Reply> {
    let (key, qualifier) = s.qualified_function()?;
    if qualifier.is_some() {
        return Err(Failure(LambdaError::invalid(
            "$LATEST version cannot be deleted without deleting the function.",
        )));
    }
    s.functions().delete_function(&key)?;
    s.app.runtime.close(&key);
    Ok(Reply::empty(204))
}
