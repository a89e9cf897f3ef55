//! Calls into the API's own handlers on the session's behalf, so what the console changes is
//! validated, authorized and answered exactly as the same call from an SDK would be.

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body_util::BodyExt;
use serde_json::Value;

use super::error::ConsoleError;
use crate::api::context::{ApiCall, RequestContext};
use crate::app::App;
use crate::wire::{Protocol, Service};

/// Runs the SQS action `action` with the JSON 1.0 input `input` as `ctx`'s caller; its output,
/// or its error with AWS's code, message and status.
pub async fn sqs(app: &App, ctx: &RequestContext, action: &str, input: Value) -> Result<Value, ConsoleError> {
    let headers = HeaderMap::new();
    let call = ApiCall {
        service: Service::Sqs,
        protocol: Protocol::Json10,
        action,
        method: &Method::POST,
        path: "/",
        headers: &headers,
        query: None,
        body: Bytes::from(input.to_string()),
    };
    let reply = crate::api::sqs::handle(app, ctx, call).await;
    let status = reply.response.status();
    let body = reply
        .response
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ConsoleError::Internal(format!("{action}: the answer could not be read: {e}")))?;
    let value: Value = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ConsoleError::Internal(format!("{action}: the answer is not JSON: {e}")))?
    };
    if status.is_success() {
        return Ok(value);
    }
    // JSON 1.0 errors name their shape as `namespace#Code` in `__type`.
    let code = value
        .get("__type")
        .and_then(Value::as_str)
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
        .unwrap_or_else(|| "InternalError".into());
    let message = value
        .get("message")
        .or_else(|| value.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Err(ConsoleError::Api {
        status: status.as_u16(),
        code,
        message,
    })
}
