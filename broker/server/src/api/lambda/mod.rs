//! Lambda handlers: route (protocols) → authorize → execute → JSON reply, over REST-JSON.
//!
//! # Layout
//! - [`handle`]: routes the method and path, authorizes, calls [`execute`], renders errors
//!   through [`crate::api::error::lambda_error_response`].
//! - [`execute`]: one line per action, calling the function that serves it:
//!   - [`functions`]: CreateFunction, Get, GetConfiguration, List, Update, Delete;
//!   - [`mappings`]: the event-source mapping operations;
//!   - [`invoke`]: the Invoke operation;
//!   - [`tags`]: TagResource, UntagResource, ListTags;
//!   - [`permissions`]: AddPermission, RemovePermission, GetPolicy.
//! - [`shared`]: the handlers' error type, their [`Scope`], function keys from references,
//!   and the rendering of functions and mappings.
//!
//! # Invariants
//! - Imports point one way: this module → the handler files → [`shared`], a leaf.
//!
//! Sluice stores functions and feeds their handlers; it never runs uploaded code
//! (docs/lambda.md).

pub mod functions;
pub mod invoke;
pub mod mappings;
pub mod permissions;
pub mod shared;
pub mod tags;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use sluice_protocols::lambda::{route, LambdaAction, LambdaError, LambdaErrorCode};

use crate::api::context::{ApiCall, ApiReply, RequestContext};
use crate::api::error::lambda_error_response;
use crate::app::App;
use crate::wire::ResponseBody;
use shared::{Failure, Result, Scope};

/// A successful answer: status, body, extra headers.
#[derive(Debug)]
pub struct Reply {
    status: u16,
    body: Bytes,
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A JSON document.
    pub fn json<T: serde::Serialize>(status: u16, value: &T) -> Result<Reply> {
        let body = serde_json::to_vec(value).map_err(|e| {
            tracing::error!(error = %e, "lambda response not encodable");
            Failure(LambdaError::internal())
        })?;
        Ok(Reply {
            status,
            body: Bytes::from(body),
            content_type: Some("application/json"),
            headers: Vec::new(),
        })
    }

    /// No body.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: Bytes::new(),
            content_type: None,
            headers: Vec::new(),
        }
    }

    /// A body as the handler produced it (Invoke's payload).
    pub fn raw(status: u16, body: Bytes) -> Reply {
        Reply {
            status,
            body,
            content_type: Some("application/json"),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn into_response(self) -> Response<ResponseBody> {
        let mut response = Response::new(ResponseBody::full(self.body));
        *response.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        if let Some(ct) = self.content_type {
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

/// Serves one Lambda call.
pub async fn handle(app: &App, ctx: &RequestContext, call: ApiCall<'_>) -> ApiReply {
    let Some(route) = route(call.method.as_str(), call.path) else {
        let err = LambdaError::new(
            LambdaErrorCode::UnknownOperation,
            format!("No Lambda operation has the route {} {}", call.method, call.path),
        );
        return ApiReply {
            response: lambda_error_response(&err),
            action_label: "unknown",
        };
    };
    let action = route.action;
    let scope = Scope {
        app,
        ctx,
        resource: route.resource,
        sub_resource: route.sub_resource,
        query: call
            .query
            .map(|q| sluice_protocols::query::parse_form(q.as_bytes()))
            .unwrap_or_default(),
        headers: call.headers,
        body: call.body,
    };
    let result = match authorize(&scope, action) {
        Ok(()) => execute(&scope, action).await,
        Err(err) => Err(err),
    };
    let response = match result {
        Ok(reply) => reply.into_response(),
        Err(Failure(err)) => lambda_error_response(&err),
    };
    ApiReply {
        response,
        action_label: action.name(),
    }
}

/// Runs one routed request: calls the function that serves its action.
async fn execute(s: &Scope<'_>, action: LambdaAction) -> Result<Reply> {
    match action {
        LambdaAction::CreateFunction => functions::create(s),
        LambdaAction::GetFunction => functions::get(s),
        LambdaAction::GetFunctionConfiguration => functions::get_configuration(s),
        LambdaAction::ListFunctions => functions::list(s),
        LambdaAction::UpdateFunctionConfiguration => functions::update_configuration(s),
        LambdaAction::UpdateFunctionCode => functions::update_code(s),
        LambdaAction::DeleteFunction => functions::delete(s),
        LambdaAction::Invoke => invoke::invoke(s).await,
        LambdaAction::CreateEventSourceMapping => mappings::create(s),
        LambdaAction::GetEventSourceMapping => mappings::get(s),
        LambdaAction::ListEventSourceMappings => mappings::list(s),
        LambdaAction::UpdateEventSourceMapping => mappings::update(s),
        LambdaAction::DeleteEventSourceMapping => mappings::delete(s),
        LambdaAction::TagResource => tags::tag(s),
        LambdaAction::UntagResource => tags::untag(s),
        LambdaAction::ListTags => tags::list(s),
        LambdaAction::AddPermission => permissions::add(s),
        LambdaAction::RemovePermission => permissions::remove(s),
        LambdaAction::GetPolicy => permissions::get(s),
    }
}

/// The IAM action and resource of a call: the function's ARN for function calls, the
/// mapping's for one mapping, `*` for lists and creates of mappings (as IAM documents them).
fn authorize(s: &Scope<'_>, action: LambdaAction) -> Result<()> {
    if s.ctx.principal.is_none() {
        return Ok(());
    }
    let resource = match action {
        LambdaAction::ListFunctions
        | LambdaAction::CreateEventSourceMapping
        | LambdaAction::ListEventSourceMappings => "*".to_string(),
        LambdaAction::CreateFunction => {
            let name = serde_json::from_slice::<serde_json::Value>(&s.body)
                .ok()
                .and_then(|v| v.get("FunctionName").and_then(|n| n.as_str()).map(str::to_string))
                .unwrap_or_default();
            s.function_key(&name, "functionName")?.arn()
        }
        LambdaAction::GetEventSourceMapping
        | LambdaAction::UpdateEventSourceMapping
        | LambdaAction::DeleteEventSourceMapping => format!(
            "arn:aws:lambda:{}:{}:event-source-mapping:{}",
            s.ctx.region,
            s.ctx.account_id,
            s.resource()
        ),
        LambdaAction::TagResource | LambdaAction::UntagResource | LambdaAction::ListTags => s.resource().to_string(),
        _ => s.function_key(s.resource(), "functionName")?.arn(),
    };
    let iam_action = match action {
        LambdaAction::Invoke => "lambda:InvokeFunction".to_string(),
        other => format!("lambda:{}", other.name()),
    };
    s.ctx
        .authorize(&iam_action, &resource, || None)
        .map_err(|message| Failure(LambdaError::new(LambdaErrorCode::AccessDenied, message)))
}
