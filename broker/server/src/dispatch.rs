//! Request classification and the per-request pipeline: body limit, routing, request context,
//! request id header, metrics.
//!
//! # Layout
//! - [`classify`]: a pure function from the request head and body to a [`Route`], tested by a
//!   table of wire examples (CONTRIBUTING.md, style rule 1).
//! - [`handle`]: the hyper-facing entry point: reads the body under the size limit, classifies,
//!   builds the [`RequestContext`], calls the admin or API handler and stamps `x-amzn-RequestId`.
//!
//! # Routing rules (docs/design.md "One request, end to end", docs/wire-notes.md "SQS")
//! 0. A path under one of Lambda's REST API versions (`/2015-03-31/...`,
//!    `/2017-03-31/tags/...`, and the others of its model) → Lambda, routed on method and path
//!    by the protocol crate (checked first: REST calls carry neither a target nor an `Action=`).
//! 1. `X-Amz-Target: AmazonSQS.<Action>` → SQS over AWS JSON 1.0;
//!    `Kinesis_20131202.<Action>` → Kinesis over JSON 1.1 or CBOR; any other target →
//!    `UnknownOperationException`.
//! 2. `Action=` in a form body or the query string → query protocol; the service comes from the
//!    SigV4 credential scope (`Authorization` header or `X-Amz-Credential` query parameter),
//!    else from a queue-URL path `/<12-digit account>/<queue>` (SQS), else SQS.
//! 3. `GET /health`, `/ready`, `/metrics` → admin endpoints.
//! 4. Anything else → an AWS-shaped 400.
//!
//! HTTP lives here; service handlers in [`crate::api`] receive the raw action name, the body and
//! the [`RequestContext`], never a hyper type. The types both sides share (service, protocol,
//! response body) are in the leaf module [`crate::wire`], so no handler imports this module.

use std::time::Instant;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Body;
use sluice_protocols::sigv4::{self, CredentialScope};
use sluice_protocols::sigv4_verify::SignedRequest;
use tracing::Instrument;

use crate::api::error::{AdminRefusal, DispatchError};
use crate::api::{self, RequestContext};
use crate::app::App;
use crate::auth;
use crate::metrics::Outcome;
use crate::wire::{header_str, kinesis_action, kinesis_protocol, SQS_TARGET_PREFIX};
pub use crate::wire::{is_queue_path, text_response, Protocol, ResponseBody, Service};

/// The connection a request came on, put on each request by the listener.
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    /// The client's address.
    pub peer: std::net::SocketAddr,
    /// True over TLS (queue URLs then start with `https`).
    pub tls: bool,
}

/// The header carrying the request id on every response.
pub const REQUEST_ID_HEADER: &str = "x-amzn-RequestId";

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`: the process is alive.
    Health,
    /// `GET /ready`: storage is open and the listener accepts.
    Ready,
    /// `GET /metrics`: Prometheus text.
    Metrics,
    /// `POST /admin/checkpoint`: a consistent copy of the data folder (a backup).
    Checkpoint,
    /// `GET` of the SNS signing certificate, the SigningCertURL of every message.
    SigningCert,
    /// The web console (`/console`, docs/console.md).
    Console,
    /// An AWS API call.
    Api {
        /// The service.
        service: Service,
        /// Its wire protocol.
        protocol: Protocol,
        /// The action name as sent (`SendMessage`); the service codec validates it.
        action: String,
    },
    /// An `X-Amz-Target` whose prefix names no service of ours.
    UnknownTarget,
    /// Neither a target, an `Action=`, nor an admin path.
    Unrecognized,
}

/// What [`classify`] needs of a request besides its body.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// HTTP method.
    pub method: &'a Method,
    /// URI path.
    pub path: &'a str,
    /// URI query string, without `?`.
    pub query: Option<&'a str>,
    /// Headers.
    pub headers: &'a HeaderMap,
}

impl<'a> RequestHead<'a> {
    /// The request as SigV4 verification reads it.
    fn signed<'b>(self, authority: Option<&'b str>, body: &'b [u8]) -> SignedRequest<'b>
    where
        'a: 'b,
    {
        SignedRequest {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self.headers,
            authority,
            body,
        }
    }
}

/// Classifies a request; pure, so the routing table is testable without a server.
pub fn classify(head: RequestHead<'_>, body: &[u8]) -> Route {
    if crate::console::is_console_path(head.path) {
        return Route::Console;
    }
    if sluice_protocols::lambda::is_lambda_path(head.path) {
        let action = sluice_protocols::lambda::route(head.method.as_str(), head.path).map_or("", |r| r.action.name());
        return Route::Api {
            service: Service::Lambda,
            protocol: Protocol::RestJson,
            action: action.to_string(),
        };
    }
    if let Some(target) = header_str(head.headers, "x-amz-target") {
        return classify_target(target, head.headers);
    }
    if let Some(action) = query_action(head, body) {
        let service = match credential_scope(head) {
            Some(scope) => match Service::from_signing_name(&scope.service) {
                Some(service @ (Service::Sqs | Service::Sns)) => service,
                // Kinesis has no query protocol, and other services are not ours.
                _ => return Route::Unrecognized,
            },
            // Query requests are often POSTed to the queue URL (docs/wire-notes.md).
            None if is_queue_path(head.path) => Service::Sqs,
            // Unsigned: a SubscribeURL or UnsubscribeURL opened by a subscriber, or a client
            // without credentials; an action only SNS has tells, else SQS.
            None if is_sns_only_action(&action) => Service::Sns,
            None => Service::Sqs,
        };
        return Route::Api {
            service,
            protocol: Protocol::Query,
            action,
        };
    }
    if head.method == Method::POST && head.path == "/admin/checkpoint" {
        return Route::Checkpoint;
    }
    if head.method == Method::GET || head.method == Method::HEAD {
        match head.path {
            sluice_broker::topic::SIGNING_CERT_PATH => return Route::SigningCert,
            "/health" => return Route::Health,
            "/ready" => return Route::Ready,
            "/metrics" => return Route::Metrics,
            _ => {}
        }
    }
    Route::Unrecognized
}

fn classify_target(target: &str, headers: &HeaderMap) -> Route {
    if let Some(action) = target.strip_prefix(SQS_TARGET_PREFIX) {
        return Route::Api {
            service: Service::Sqs,
            protocol: Protocol::Json10,
            action: action.to_string(),
        };
    }
    if let Some(action) = kinesis_action(headers) {
        return Route::Api {
            service: Service::Kinesis,
            protocol: kinesis_protocol(headers),
            action: action.to_string(),
        };
    }
    Route::UnknownTarget
}

/// True for actions SNS has and SQS does not.
fn is_sns_only_action(action: &str) -> bool {
    sluice_protocols::sns::SnsAction::from_name(action).is_some()
        && sluice_protocols::sqs::SqsAction::from_name(action).is_none()
}

/// SNS actions a subscriber performs by opening a URL from a message (SubscribeURL,
/// UnsubscribeURL): AWS accepts them unsigned, the token or subscription ARN being the secret.
fn is_unsigned_sns_action(service: Service, action: &str, head: RequestHead<'_>) -> bool {
    service == Service::Sns
        && matches!(action, "ConfirmSubscription" | "Unsubscribe")
        && credential_scope(head).is_none()
        && header_str(head.headers, AUTHORIZATION.as_str()).is_none()
}

/// The protocol an error should be rendered in when the request could not be classified.
pub fn protocol_hint(headers: &HeaderMap) -> Protocol {
    if kinesis_action(headers).is_some() {
        return kinesis_protocol(headers);
    }
    match header_str(headers, "x-amz-target") {
        Some(_) => Protocol::Json10,
        None => Protocol::Query,
    }
}

/// The service to answer in when the body could not be read (too large, too slow), so before
/// [`classify`] could look at it: a Kinesis target, else the SigV4 scope's service, else an
/// action only SNS has in the URI query, else SQS. An SNS client refused this early still gets
/// an SNS error document (issue 14).
fn service_hint(head: RequestHead<'_>) -> Service {
    if kinesis_action(head.headers).is_some() {
        return Service::Kinesis;
    }
    if sluice_protocols::lambda::is_lambda_path(head.path) {
        return Service::Lambda;
    }
    if let Some(service) = credential_scope(head).and_then(|scope| Service::from_signing_name(&scope.service)) {
        return service;
    }
    match head.query.and_then(|q| find_param(q.as_bytes(), "Action")) {
        Some(action) if is_sns_only_action(&action) => Service::Sns,
        _ => Service::Sqs,
    }
}

/// The `Action` parameter of a query-protocol request: form body first, then the URI query.
fn query_action(head: RequestHead<'_>, body: &[u8]) -> Option<String> {
    let form_body = header_str(head.headers, CONTENT_TYPE.as_str())
        .map(|ct| ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
        // Hand-built clients sometimes omit the content type on a form POST.
        .unwrap_or(!body.is_empty() && body.first() != Some(&b'{'));
    if form_body {
        if let Some(action) = find_param(body, "Action") {
            return Some(action);
        }
    }
    head.query.and_then(|q| find_param(q.as_bytes(), "Action"))
}

fn find_param(form: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(form)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// The SigV4 credential scope from the `Authorization` header or the `X-Amz-Credential` query
/// parameter (presigned URLs), if well formed.
pub fn credential_scope(head: RequestHead<'_>) -> Option<CredentialScope> {
    if let Some(auth) = header_str(head.headers, AUTHORIZATION.as_str()) {
        return sigv4::parse_authorization(auth);
    }
    let query = head.query?;
    let credential = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "X-Amz-Credential")
        .map(|(_, v)| v)?;
    sigv4::parse_credential_param(&credential)
}

/// Serves one HTTP request end to end; never fails (errors become AWS-shaped responses).
pub async fn handle<B>(app: &App, req: Request<B>) -> Response<ResponseBody>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let request_id = uuid::Uuid::new_v4().to_string();
    // Every log line while serving this request carries the id the client sees in
    // x-amzn-RequestId, so a client's error report leads straight to the server's log.
    let span = tracing::info_span!("request", request_id = %request_id);
    handle_with_id(app, req, request_id).instrument(span).await
}

async fn handle_with_id<B>(app: &App, req: Request<B>, request_id: String) -> Response<ResponseBody>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let head = RequestHead {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
    };

    let read = read_body(
        body,
        &parts.headers,
        body_limit(&parts.headers, app.settings.max_body_bytes),
    );
    // A client trickling its body must not hold a connection and a buffer forever.
    let body = match tokio::time::timeout(app.settings.body_read_timeout, read)
        .await
        .unwrap_or(Err(DispatchError::BodyTimeout))
    {
        Ok(body) => body,
        Err(err) => {
            let protocol = protocol_hint(&parts.headers);
            let service = service_hint(head);
            let response = api::error::dispatch_error_response(service, protocol, &err, &request_id);
            return finish(app, response, &request_id, "unknown", "unknown", started);
        }
    };

    match classify(head, &body) {
        admin @ (Route::Health | Route::Ready | Route::Metrics | Route::Checkpoint | Route::SigningCert) => {
            // Probes and scrapers stay open; an action that changes things needs a key.
            if admin == Route::Checkpoint {
                let authority = parts.uri.authority().map(|a| a.as_str());
                let connection = parts.extensions.get::<Connection>().copied();
                let ctx = request_context(app, head, authority, connection, request_id.clone());
                if let Err(refusal) = authorize_admin(app, head, authority, &body, ctx) {
                    return stamp(api::error::admin_refusal_response(&refusal), &request_id);
                }
            }
            let response = admin_response(app, &admin)
                .await
                .unwrap_or_else(|| text_response(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "not found"));
            stamp(response, &request_id)
        }
        Route::Console => {
            let request = crate::console::ConsoleRequest {
                parts: &parts,
                body,
                connection: parts.extensions.get::<Connection>().copied(),
                request_id: request_id.clone(),
            };
            stamp(crate::console::handle(app, request).await, &request_id)
        }
        Route::UnknownTarget => {
            let response = api::error::dispatch_error_response(
                Service::Sqs,
                Protocol::Json10,
                &DispatchError::UnknownOperation,
                &request_id,
            );
            finish(app, response, &request_id, "unknown", "unknown", started)
        }
        Route::Unrecognized => {
            // A JSON body without a target still wants a JSON error; everything else gets XML.
            let json = header_str(&parts.headers, CONTENT_TYPE.as_str()).is_some_and(|ct| ct.contains("json"));
            let protocol = if json { Protocol::Json10 } else { Protocol::Query };
            let response =
                api::error::dispatch_error_response(Service::Sqs, protocol, &DispatchError::Unrecognized, &request_id);
            finish(app, response, &request_id, "unknown", "unknown", started)
        }
        Route::Api {
            service,
            protocol,
            action,
        } => {
            let authority = parts.uri.authority().map(|a| a.as_str());
            let connection = parts.extensions.get::<Connection>().copied();
            let mut ctx = request_context(app, head, authority, connection, request_id.clone());
            let keys = app
                .keys
                .as_ref()
                .filter(|_| !is_unsigned_sns_action(service, &action, head));
            if let Some(keys) = keys {
                let signed = head.signed(authority, &body);
                match keys.verify(&signed, service.label(), auth::now_epoch_secs()) {
                    Ok(identity) => {
                        ctx.account_id = identity.account_id;
                        ctx.region = identity.region;
                        ctx.principal = Some(api::Principal {
                            access_key_id: identity.access_key_id,
                            policy: identity.policy,
                        });
                    }
                    Err(err) => {
                        // One line per refused request, for audit; never the secret or body.
                        tracing::info!(service = service.label(), action = %action, error = %err, "request refused: signature");
                        let response = api::error::dispatch_error_response(
                            service,
                            protocol,
                            &DispatchError::Auth(err),
                            &request_id,
                        );
                        return finish(app, response, &request_id, service.label(), "unknown", started);
                    }
                }
            }
            let call = api::ApiCall {
                service,
                protocol,
                action: &action,
                method: &parts.method,
                path: parts.uri.path(),
                headers: &parts.headers,
                query: parts.uri.query(),
                body,
            };
            // One arm per service, each one call (as Garage's API server routes endpoints).
            let reply = match service {
                Service::Sqs => api::sqs::handle(app, &ctx, call).await,
                Service::Kinesis => api::kinesis::handle(app, &ctx, call).await,
                Service::Sns => api::sns::handle(app, &ctx, call).await,
                Service::Lambda => api::lambda::handle(app, &ctx, call).await,
            };
            finish(
                app,
                reply.response,
                &request_id,
                service.label(),
                reply.action_label,
                started,
            )
        }
    }
}

/// The SigV4 service name admin actions are signed for (`curl --aws-sigv4
/// "aws:amz:us-east-1:sluice"`), so a signature made for an AWS service cannot be replayed on an
/// admin route.
pub const ADMIN_SIGNING_NAME: &str = "sluice";

/// The identity-policy action `POST /admin/checkpoint` needs (on `Resource: "*"`).
pub const CHECKPOINT_ACTION: &str = "sluice:Checkpoint";

/// With `--auth verify`, an admin action on the API port needs a SigV4 signature (service
/// [`ADMIN_SIGNING_NAME`]) by a key of the broker's own account (`--account-id`: a checkpoint
/// copies every account's data, so no tenant key may ask for one) whose identity policy, if it
/// has one, allows [`CHECKPOINT_ACTION`].
fn authorize_admin(
    app: &App,
    head: RequestHead<'_>,
    authority: Option<&str>,
    body: &[u8],
    mut ctx: RequestContext,
) -> Result<(), AdminRefusal> {
    let Some(keys) = &app.keys else {
        return Ok(());
    };
    let signed = head.signed(authority, body);
    let identity = keys
        .verify(&signed, ADMIN_SIGNING_NAME, auth::now_epoch_secs())
        .map_err(|err| {
            tracing::info!(action = CHECKPOINT_ACTION, error = %err, "request refused: signature");
            AdminRefusal::Signature(err)
        })?;
    if identity.account_id != app.settings.account_id {
        tracing::info!(access_key = %identity.access_key_id, action = CHECKPOINT_ACTION, "request refused: admin action by another account's key");
        return Err(AdminRefusal::AccessDenied(format!(
            "Admin actions need a key of the broker's account {}; {} belongs to {}.",
            app.settings.account_id, identity.access_key_id, identity.account_id
        )));
    }
    ctx.account_id = identity.account_id;
    ctx.region = identity.region;
    ctx.principal = Some(api::Principal {
        access_key_id: identity.access_key_id,
        policy: identity.policy,
    });
    // No resource policy applies to the broker itself.
    ctx.authorize(CHECKPOINT_ACTION, "*", || None)
        .map_err(AdminRefusal::AccessDenied)
}

/// Answers the routes that are not AWS API calls (health, readiness, metrics, checkpoint, the
/// SNS signing certificate); `None` for API calls. Shared by the main and the admin listener;
/// callers authorize [`Route::Checkpoint`] first.
pub async fn admin_response(app: &App, route: &Route) -> Option<Response<ResponseBody>> {
    let plain = "text/plain; charset=utf-8";
    let response = match route {
        Route::Health => text_response(StatusCode::OK, plain, "ok"),
        Route::Ready => match app.readiness() {
            Ok(()) => text_response(StatusCode::OK, plain, "ready"),
            Err(why) => text_response(StatusCode::SERVICE_UNAVAILABLE, plain, format!("not ready: {why}\n")),
        },
        Route::Metrics => text_response(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            app.metrics.render(),
        ),
        Route::Checkpoint => crate::checkpoint::handle(app).await,
        Route::SigningCert => match app.broker.topics.signing_key() {
            Ok(key) => text_response(
                StatusCode::OK,
                "application/x-pem-file",
                Bytes::from(key.certificate_pem().to_string()),
            ),
            Err(err) => {
                tracing::warn!(error = %err, "sns signing certificate unavailable");
                text_response(StatusCode::SERVICE_UNAVAILABLE, plain, "unavailable")
            }
        },
        Route::Api { .. } | Route::UnknownTarget | Route::Unrecognized | Route::Console => return None,
    };
    Some(response)
}

/// Builds the [`RequestContext`] of an API call.
/// The context of a console request before its session's identity: host, scheme, source
/// address, as an API call on the same connection would have them.
pub fn console_context(
    app: &App,
    parts: &http::request::Parts,
    connection: Option<Connection>,
    request_id: String,
) -> RequestContext {
    let head = RequestHead {
        method: &parts.method,
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
    };
    request_context(
        app,
        head,
        parts.uri.authority().map(|a| a.as_str()),
        connection,
        request_id,
    )
}

fn request_context(
    app: &App,
    head: RequestHead<'_>,
    authority: Option<&str>,
    connection: Option<Connection>,
    request_id: String,
) -> RequestContext {
    let scope = credential_scope(head);
    // HTTP/2 carries the host as `:authority` (in the URI), HTTP/1.1 as `Host`.
    let host = header_str(head.headers, HOST.as_str())
        .or(authority)
        .map(str::to_string);
    RequestContext {
        principal: None,
        request_id,
        account_id: app.settings.account_id.clone(),
        region: scope.map(|s| s.region).unwrap_or_else(|| app.settings.region.clone()),
        host,
        scheme: if connection.map_or(app.settings.tls.is_some(), |c| c.tls) {
            "https"
        } else {
            "http"
        },
        path: head.path.to_string(),
        public_url: app.settings.public_url.clone(),
        // A standby's vouched-for client address first (cluster mode), else the peer's.
        source_ip: crate::forwarded::client_ip(app.forwarding_key.as_ref(), head.headers)
            .or(connection.map(|c| c.peer.ip())),
    }
}

/// Smallest body limit for Kinesis calls: a PutRecords may carry 10 MiB of data and keys, which
/// base64 in JSON grows by a third (Kinesis API reference, PutRecords).
pub const KINESIS_MIN_BODY_BYTES: usize = 16 << 20;

/// The body limit of a request: the configured one, raised for Kinesis to what its API allows.
fn body_limit(headers: &HeaderMap, configured: usize) -> usize {
    if kinesis_action(headers).is_some() {
        configured.max(KINESIS_MIN_BODY_BYTES)
    } else {
        configured
    }
}

/// Reads the whole body, refusing more than `limit` bytes.
async fn read_body<B>(body: B, headers: &HeaderMap, limit: usize) -> Result<Bytes, DispatchError>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Refuse early on a declared length, before reading a byte of it.
    let declared = header_str(headers, http::header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(DispatchError::BodyTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(DispatchError::BodyTooLarge { limit }),
        Err(err) => Err(DispatchError::BodyRead(err.to_string())),
    }
}

fn stamp(mut response: Response<ResponseBody>, request_id: &str) -> Response<ResponseBody> {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

fn finish(
    app: &App,
    response: Response<ResponseBody>,
    request_id: &str,
    service: &'static str,
    action: &'static str,
    started: Instant,
) -> Response<ResponseBody> {
    let outcome = Outcome::from_status(response.status());
    let elapsed = started.elapsed();
    if cfg!(not(feature = "bench-no-metrics")) {
        app.metrics
            .observe_request(service, action, outcome, elapsed.as_secs_f64());
    }
    let status = response.status().as_u16();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    // Never the body: messages are the users' data. Server errors are worth a warning; the
    // rest is per-request detail for debugging.
    if outcome == Outcome::ServerError {
        tracing::warn!(service, action, status, duration_ms, "request failed");
    } else {
        tracing::debug!(service, action, status, duration_ms, "request");
    }
    stamp(response, request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Case {
        name: &'static str,
        method: Method,
        uri: &'static str,
        headers: &'static [(&'static str, &'static str)],
        body: &'static str,
        want: Route,
    }

    fn api(service: Service, protocol: Protocol, action: &str) -> Route {
        Route::Api {
            service,
            protocol,
            action: action.to_string(),
        }
    }

    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded; charset=utf-8");
    const SQS_AUTH: (&str, &str) = (
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/eu-west-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
    );
    const SNS_AUTH: (&str, &str) = (
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/sns/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
    );

    #[test]
    fn router_follows_the_wire_examples() {
        let cases = vec![
            Case {
                name: "boto3 json 1.0 (botocore >= 1.34.90)",
                method: Method::POST,
                uri: "/",
                headers: &[("content-type", "application/x-amz-json-1.0"), ("x-amz-target", "AmazonSQS.SendMessage"), SQS_AUTH],
                body: r#"{"QueueUrl":"http://localhost:4566/000000000000/q","MessageBody":"hi"}"#,
                want: api(Service::Sqs, Protocol::Json10, "SendMessage"),
            },
            Case {
                name: "unknown target prefix",
                method: Method::POST,
                uri: "/",
                headers: &[("content-type", "application/x-amz-json-1.0"), ("x-amz-target", "DynamoDB_20120810.ListTables")],
                body: "{}",
                want: Route::UnknownTarget,
            },
            Case {
                name: "kinesis json 1.1",
                method: Method::POST,
                uri: "/",
                headers: &[("content-type", "application/x-amz-json-1.1"), ("x-amz-target", "Kinesis_20131202.PutRecord")],
                body: "{}",
                want: api(Service::Kinesis, Protocol::Json11, "PutRecord"),
            },
            Case {
                name: "kinesis cbor (java sdk)",
                method: Method::POST,
                uri: "/",
                headers: &[("content-type", "application/x-amz-cbor-1.1"), ("x-amz-target", "Kinesis_20131202.GetRecords")],
                body: "",
                want: api(Service::Kinesis, Protocol::Cbor11, "GetRecords"),
            },
            Case {
                name: "query to the root, sqs scope",
                method: Method::POST,
                uri: "/",
                headers: &[FORM, SQS_AUTH],
                body: "Action=CreateQueue&QueueName=q&Version=2012-11-05",
                want: api(Service::Sqs, Protocol::Query, "CreateQueue"),
            },
            Case {
                name: "query posted to a queue url (JS v3, Java v2, kombu)",
                method: Method::POST,
                uri: "/000000000000/q",
                headers: &[FORM],
                body: "Action=ReceiveMessage&MessageSystemAttributeName.1=ApproximateReceiveCount",
                want: api(Service::Sqs, Protocol::Query, "ReceiveMessage"),
            },
            Case {
                name: "sns publish by scope",
                method: Method::POST,
                uri: "/",
                headers: &[FORM, SNS_AUTH],
                body: "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=hi&Version=2010-03-31",
                want: api(Service::Sns, Protocol::Query, "Publish"),
            },
            Case {
                name: "unsigned query defaults to sqs",
                method: Method::POST,
                uri: "/",
                headers: &[FORM],
                body: "Action=ListQueues",
                want: api(Service::Sqs, Protocol::Query, "ListQueues"),
            },
            Case {
                name: "GET query with presigned sns credential",
                method: Method::GET,
                uri: "/?Action=ListTopics&X-Amz-Credential=AKID%2F20240115%2Fus-east-1%2Fsns%2Faws4_request",
                headers: &[],
                body: "",
                want: api(Service::Sns, Protocol::Query, "ListTopics"),
            },
            Case {
                name: "GET query on a queue url",
                method: Method::GET,
                uri: "/123456789012/jobs?Action=GetQueueAttributes&AttributeName.1=All",
                headers: &[],
                body: "",
                want: api(Service::Sqs, Protocol::Query, "GetQueueAttributes"),
            },
            Case {
                name: "form POST without content type",
                method: Method::POST,
                uri: "/",
                headers: &[],
                body: "Action=ListQueues&Version=2012-11-05",
                want: api(Service::Sqs, Protocol::Query, "ListQueues"),
            },
            Case {
                name: "query with a kinesis scope is not ours",
                method: Method::POST,
                uri: "/",
                headers: &[
                    FORM,
                    ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240115/us-east-1/kinesis/aws4_request, Signature=x"),
                ],
                body: "Action=ListStreams",
                want: Route::Unrecognized,
            },
            Case { name: "health", method: Method::GET, uri: "/health", headers: &[], body: "", want: Route::Health },
            Case { name: "ready", method: Method::GET, uri: "/ready", headers: &[], body: "", want: Route::Ready },
            Case { name: "metrics", method: Method::GET, uri: "/metrics", headers: &[], body: "", want: Route::Metrics },
            Case { name: "POST /health is not admin", method: Method::POST, uri: "/health", headers: &[], body: "", want: Route::Unrecognized },
            Case { name: "empty POST", method: Method::POST, uri: "/", headers: &[FORM], body: "", want: Route::Unrecognized },
            Case { name: "GET /", method: Method::GET, uri: "/", headers: &[], body: "", want: Route::Unrecognized },
            Case {
                name: "json body without target",
                method: Method::POST,
                uri: "/",
                headers: &[("content-type", "application/x-amz-json-1.0")],
                body: r#"{"Action":"ListQueues"}"#,
                want: Route::Unrecognized,
            },
        ];
        for case in cases {
            let uri: http::Uri = case.uri.parse().expect("uri");
            let mut headers = HeaderMap::new();
            for (k, v) in case.headers {
                headers.insert(*k, HeaderValue::from_static(v));
            }
            let head = RequestHead {
                method: &case.method,
                path: uri.path(),
                query: uri.query(),
                headers: &headers,
            };
            assert_eq!(classify(head, case.body.as_bytes()), case.want, "case: {}", case.name);
        }
    }

    #[test]
    fn credential_scope_from_header_or_presigned_query() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(SQS_AUTH.1));
        let head = RequestHead {
            method: &Method::POST,
            path: "/",
            query: None,
            headers: &headers,
        };
        let scope = credential_scope(head).expect("scope");
        assert_eq!(
            (scope.access_key.as_str(), scope.region.as_str(), scope.service.as_str()),
            ("AKIDEXAMPLE", "eu-west-1", "sqs")
        );

        let empty = HeaderMap::new();
        let q = "X-Amz-Credential=AKID%2F20240115%2Fap-south-1%2Fsqs%2Faws4_request&Action=ListQueues";
        let head = RequestHead {
            method: &Method::GET,
            path: "/",
            query: Some(q),
            headers: &empty,
        };
        assert_eq!(credential_scope(head).expect("scope").region, "ap-south-1");

        let head = RequestHead {
            method: &Method::GET,
            path: "/",
            query: Some("Action=ListQueues"),
            headers: &empty,
        };
        assert_eq!(credential_scope(head), None);
    }

    /// Issue 14: a body refused before it is read (413, 408) is answered in the service the
    /// head names, so SNS clients get SNS's error shape.
    #[test]
    fn service_hint_reads_the_head_only() {
        type Case = (&'static str, &'static [(&'static str, &'static str)], Service);
        let cases: [Case; 6] = [
            ("/", &[SNS_AUTH], Service::Sns),
            ("/", &[SQS_AUTH], Service::Sqs),
            (
                "/",
                &[("x-amz-target", "Kinesis_20131202.PutRecords")],
                Service::Kinesis,
            ),
            ("/?Action=Unsubscribe&SubscriptionArn=x", &[], Service::Sns),
            ("/?Action=SendMessage", &[], Service::Sqs),
            ("/", &[FORM], Service::Sqs),
        ];
        for (uri, header_list, want) in cases {
            let uri: http::Uri = uri.parse().expect("uri");
            let mut headers = HeaderMap::new();
            for (k, v) in header_list {
                headers.insert(*k, HeaderValue::from_static(v));
            }
            let head = RequestHead {
                method: &Method::POST,
                path: uri.path(),
                query: uri.query(),
                headers: &headers,
            };
            assert_eq!(service_hint(head), want, "{uri} {header_list:?}");
        }
    }

    #[test]
    fn kinesis_calls_get_room_for_a_full_put_records() {
        let mut headers = HeaderMap::new();
        assert_eq!(body_limit(&headers, 4 << 20), 4 << 20);
        headers.insert("x-amz-target", HeaderValue::from_static("Kinesis_20131202.PutRecords"));
        assert_eq!(body_limit(&headers, 4 << 20), KINESIS_MIN_BODY_BYTES);
        assert_eq!(
            body_limit(&headers, 64 << 20),
            64 << 20,
            "a larger configured limit wins"
        );
        headers.insert("x-amz-target", HeaderValue::from_static("AmazonSQS.SendMessage"));
        assert_eq!(body_limit(&headers, 4 << 20), 4 << 20);
    }

    #[test]
    fn queue_paths() {
        assert!(is_queue_path("/000000000000/q"));
        assert!(is_queue_path("/123456789012/my-queue.fifo"));
        assert!(!is_queue_path("/"));
        assert!(!is_queue_path("/12345/q"));
        assert!(!is_queue_path("/000000000000/"));
        assert!(!is_queue_path("/000000000000/q/extra"));
    }
}
