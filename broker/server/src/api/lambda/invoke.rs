//! Invoke: a direct invocation, synchronous (`RequestResponse`), asynchronous (`Event`) or a
//! permission check (`DryRun`).
//!
//! The invocation goes into the function's queue and a handler takes it through the Runtime
//! API. A synchronous call waits [`PICKUP`] for a handler to take it, then the function's
//! timeout for the answer. With no handler running, the call fails with
//! `TooManyRequestsException` (`ConcurrentInvocationLimitExceeded`): a function's concurrency
//! is its running handlers, and SDKs retry that error, which gives a handler that is starting
//! time to connect.
//!
//! Asynchronous invocations are stored before the 202 and delivered by the core's
//! asynchronous invoker: retried twice on failure, dead-lettered to the function's
//! DeadLetterConfig target, kept for up to six hours (docs/lambda.md).

use std::time::Duration;

use bytes::Bytes;
use sluice_broker::function::Outcome;
use sluice_protocols::lambda::{LambdaError, LambdaErrorCode};

use super::shared::{Failure, Result, Scope};
use super::Reply;
use crate::wire::header_str;

/// How long a synchronous invocation waits for a handler to take it.
const PICKUP: Duration = Duration::from_secs(10);
/// Largest synchronous payload.
const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// Largest asynchronous payload.
const MAX_EVENT_PAYLOAD: usize = 1024 * 1024;

/// Invoke.
pub async fn invoke(s: &Scope<'_>) -> Result<Reply> {
    let (key, _) = s.qualified_function()?;
    let function = s.functions().get_function(&key)?;
    let invocation_type = header_str(s.headers, "x-amz-invocation-type").unwrap_or("RequestResponse");
    let limit = match invocation_type {
        "RequestResponse" | "DryRun" => MAX_SYNC_PAYLOAD,
        "Event" => MAX_EVENT_PAYLOAD,
        other => {
            return Err(Failure(LambdaError::validation(
                other,
                "invocationType",
                "Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
            )))
        }
    };
    if s.body.len() > limit {
        return Err(Failure(LambdaError::new(
            LambdaErrorCode::RequestTooLarge,
            format!(
                "Request must be smaller than {limit} bytes for the {} invocation type",
                if invocation_type == "Event" {
                    "Event"
                } else {
                    "RequestResponse"
                }
            ),
        )));
    }
    let payload = if s.body.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        if serde_json::from_slice::<serde::de::IgnoredAny>(&s.body).is_err() {
            return Err(Failure(LambdaError::new(
                LambdaErrorCode::InvalidRequestContent,
                "Could not parse request body into json: the payload is not JSON",
            )));
        }
        s.body.clone()
    };
    let client_context = header_str(s.headers, "x-amz-client-context").map(str::to_string);
    let timeout = function.record.settings.timeout_secs;
    let hub = s.functions().hub(&key);
    match invocation_type {
        "DryRun" => Ok(Reply::empty(204)),
        "Event" => {
            s.functions().enqueue_event(&key, &payload)?;
            Ok(Reply::empty(202))
        }
        _ => {
            let outcome = hub.invoke(payload, timeout, client_context, PICKUP).await;
            let reply = match outcome {
                Outcome::Success(body) => Reply::raw(200, body),
                Outcome::Error(body) => Reply::raw(200, body).header("x-amz-function-error", "Unhandled"),
                Outcome::TimedOut { after_secs } => {
                    Reply::raw(200, Outcome::timeout_document(after_secs)).header("x-amz-function-error", "Unhandled")
                }
                Outcome::NoHandler => {
                    return Err(Failure(LambdaError::new(
                        LambdaErrorCode::TooManyRequests,
                        format!(
                            "Rate Exceeded. No handler took the invocation within {} s: start one against the function's Runtime API ({}; `sluice handlers`)",
                            PICKUP.as_secs(),
                            s.runtime_address(function.record.runtime_port)
                        ),
                    )))
                }
            };
            Ok(reply.header("x-amz-executed-version", "$LATEST"))
        }
    }
}
