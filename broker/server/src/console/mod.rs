//! The web console (docs/console.md): a page compiled into the binary and the JSON endpoints
//! it calls, under `/console` on the API port and on the admin listener.
//!
//! # Parts
//! - This file: [`route`] (pure: method and path to an [`Endpoint`]), [`handle`], whose match
//!   has one line per endpoint, and [`ConsoleRequest`], what the endpoints read.
//! - `assets`: the page, script, style and icon, with their security headers.
//! - `session`: the session store and cookies. `signin`: sign-in, sign-out, and the gate
//!   (session, CSRF token, the request context authorization reads).
//! - `overview`: every queue, topic and stream of the session's account and region.
//! - `queues`: a queue's page: attributes, peek, send, delete, purge, redrive.
//! - `streams`: a stream's page: shards and their lineage, consumers, a record browser.
//! - `topics`: a topic's page: subscriptions with their delivery state, a test publish.
//! - `calls`: calls into the API's own handlers on the session's behalf.
//! - `error`: [`error::ConsoleError`] and the one place errors become answers.
//!
//! # Invariants
//! - Everything the console shows or does is authorized as the signed-in key by the same
//!   policies as the API; sends, purges and redrives run through the API's own handlers.
//! - Without a session only the page, its assets and the session endpoint answer; a change
//!   needs the session's CSRF token besides the cookie.

pub mod assets;
mod calls;
pub mod error;
mod overview;
mod queues;
pub mod session;
mod signin;
mod streams;
mod topics;

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use self::error::{error_response, json_response, ConsoleError};
use crate::api::context::RequestContext;
use crate::app::App;
use crate::dispatch::Connection;
use crate::wire::ResponseBody;

pub use session::Sessions;

/// True when `path` belongs to the console.
pub fn is_console_path(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// What a console request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The page.
    Page,
    /// A file under `/console/assets/`.
    Asset(String),
    /// Who the session acts as.
    Session,
    /// Sign in.
    SignIn,
    /// Sign out.
    SignOut,
    /// Every queue, topic and stream.
    Overview,
    /// A queue's attributes, dead-letter sources and move tasks.
    Queue(String),
    /// A page of a queue's messages, peeked.
    Peek(String),
    /// Send a message.
    Send(String),
    /// Delete the message at a position.
    DeleteMessage(String, u64),
    /// Purge a queue.
    Purge(String),
    /// Redrive a dead-letter queue to its sources.
    Redrive(String),
    /// Cancel a redrive.
    CancelRedrive(String),
    /// A topic's attributes, subscriptions and their delivery state.
    Topic(String),
    /// Publish a test message to a topic.
    PublishTopic(String),
    /// A stream's summary, shards and consumers.
    Stream(String),
    /// A page of a shard's records.
    StreamRecords(String),
}

/// The endpoint for `method` and `path`; `None` when the console has none.
pub fn route(method: &Method, path: &str) -> Option<Endpoint> {
    let rest = path.strip_prefix("/console")?;
    let get = method == Method::GET || method == Method::HEAD;
    if rest.is_empty() || rest == "/" {
        return get.then_some(Endpoint::Page);
    }
    let segments: Vec<&str> = rest.strip_prefix('/')?.split('/').collect();
    let name = |segment: &str| sluice_protocols::lambda::route::percent_decode(segment).filter(|n| !n.is_empty());
    let verb = if get { "GET" } else { method.as_str() };
    Some(match (verb, segments.as_slice()) {
        ("GET", ["assets", file]) => Endpoint::Asset(file.to_string()),
        ("GET", ["api", "session"]) => Endpoint::Session,
        ("POST", ["api", "session"]) => Endpoint::SignIn,
        ("DELETE", ["api", "session"]) => Endpoint::SignOut,
        ("GET", ["api", "overview"]) => Endpoint::Overview,
        ("GET", ["api", "queues", q]) => Endpoint::Queue(name(q)?),
        ("GET", ["api", "queues", q, "messages"]) => Endpoint::Peek(name(q)?),
        ("POST", ["api", "queues", q, "messages"]) => Endpoint::Send(name(q)?),
        ("DELETE", ["api", "queues", q, "messages", position]) => {
            Endpoint::DeleteMessage(name(q)?, position.parse().ok()?)
        }
        ("POST", ["api", "queues", q, "purge"]) => Endpoint::Purge(name(q)?),
        ("POST", ["api", "queues", q, "redrive"]) => Endpoint::Redrive(name(q)?),
        ("POST", ["api", "queues", q, "redrive", "cancel"]) => Endpoint::CancelRedrive(name(q)?),
        ("GET", ["api", "topics", t]) => Endpoint::Topic(name(t)?),
        ("POST", ["api", "topics", t, "publish"]) => Endpoint::PublishTopic(name(t)?),
        ("GET", ["api", "streams", s]) => Endpoint::Stream(name(s)?),
        ("GET", ["api", "streams", s, "records"]) => Endpoint::StreamRecords(name(s)?),
        _ => return None,
    })
}

/// A message attribute as the page sends it (a send to a queue, a publish to a topic).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttributeInput {
    /// `String`, `Number` or `Binary`, optionally with a custom type after a dot.
    data_type: String,
    /// The value of a String or Number attribute.
    string_value: Option<String>,
}

/// A console request: its head and body, and where it came from.
pub struct ConsoleRequest<'a> {
    /// Method, URI and headers.
    pub parts: &'a Parts,
    /// The body, already bounded by `--max-body-bytes`.
    pub body: Bytes,
    /// The connection it came on.
    pub connection: Option<Connection>,
    /// The id the response carries.
    pub request_id: String,
}

impl ConsoleRequest<'_> {
    /// True over HTTPS (the cookie is then `Secure`).
    fn secure(&self) -> bool {
        self.connection.is_some_and(|c| c.tls)
    }

    /// The body as JSON of type `T`; a body must say it is JSON (`Content-Type`), which a form
    /// on another site cannot.
    fn json<T: DeserializeOwned>(&self) -> Result<T, ConsoleError> {
        let content_type = self
            .parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("application/json") {
            return Err(ConsoleError::BadRequest(
                "The body must be JSON, sent with Content-Type: application/json.".into(),
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| ConsoleError::BadRequest(format!("The body is not valid: {e}.")))
    }

    /// A query parameter.
    fn query(&self, name: &str) -> Option<String> {
        let query = self.parts.uri.query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// The context an API call from this request would have, before the session's identity.
    fn base_context(&self, app: &App) -> RequestContext {
        crate::dispatch::console_context(app, self.parts, self.connection, self.request_id.clone())
    }
}

/// Answers one console request; never fails (errors become JSON answers).
pub async fn handle(app: &App, req: ConsoleRequest<'_>) -> Response<ResponseBody> {
    let Some(endpoint) = route(&req.parts.method, req.parts.uri.path()) else {
        return error_response(&ConsoleError::NoRoute {
            method: req.parts.method.to_string(),
            path: req.parts.uri.path().to_string(),
        });
    };
    serve(app, &req, endpoint)
        .await
        .unwrap_or_else(|err| error_response(&err))
}

async fn serve(
    app: &App,
    req: &ConsoleRequest<'_>,
    endpoint: Endpoint,
) -> Result<Response<ResponseBody>, ConsoleError> {
    let ok = |value: Value| json_response(StatusCode::OK, &value);
    match endpoint {
        Endpoint::Page => Ok(assets::response(&assets::PAGE)),
        Endpoint::Asset(file) => assets::asset(&file).map(assets::response).ok_or(ConsoleError::NoRoute {
            method: "GET".into(),
            path: format!("/console/assets/{file}"),
        }),
        Endpoint::Session => signin::session_info(app, req),
        Endpoint::SignIn => signin::sign_in(app, req),
        Endpoint::SignOut => signin::sign_out(app, req),
        Endpoint::Overview => Ok(ok(overview::overview(app, &signin::gate(app, req)?))),
        Endpoint::Queue(q) => Ok(ok(queues::detail(app, &signin::gate(app, req)?, &q).await?)),
        Endpoint::Peek(q) => Ok(ok(queues::peek(app, &signin::gate(app, req)?, &q, req)?)),
        Endpoint::Send(q) => Ok(ok(queues::send(app, &signin::gate(app, req)?, &q, req.json()?).await?)),
        Endpoint::DeleteMessage(q, position) => {
            Ok(ok(queues::delete(app, &signin::gate(app, req)?, &q, position, req)?))
        }
        Endpoint::Purge(q) => Ok(ok(queues::purge(app, &signin::gate(app, req)?, &q).await?)),
        Endpoint::Redrive(q) => Ok(ok(
            queues::redrive(app, &signin::gate(app, req)?, &q, req.json()?).await?
        )),
        Endpoint::CancelRedrive(q) => Ok(ok(queues::cancel_redrive(
            app,
            &signin::gate(app, req)?,
            &q,
            req.json()?,
        )
        .await?)),
        Endpoint::Topic(t) => Ok(ok(topics::detail(app, &signin::gate(app, req)?, &t).await?)),
        Endpoint::PublishTopic(t) => Ok(ok(
            topics::publish(app, &signin::gate(app, req)?, &t, req.json()?).await?
        )),
        Endpoint::Stream(s) => Ok(ok(streams::detail(app, &signin::gate(app, req)?, &s).await?)),
        Endpoint::StreamRecords(s) => Ok(ok(streams::records(app, &signin::gate(app, req)?, &s, req).await?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let get = Method::GET;
        let post = Method::POST;
        let delete = Method::DELETE;
        let cases: &[(&Method, &str, Option<Endpoint>)] = &[
            (&get, "/console", Some(Endpoint::Page)),
            (&get, "/console/", Some(Endpoint::Page)),
            (&post, "/console", None),
            (
                &get,
                "/console/assets/console.js",
                Some(Endpoint::Asset("console.js".into())),
            ),
            (&get, "/console/api/session", Some(Endpoint::Session)),
            (&post, "/console/api/session", Some(Endpoint::SignIn)),
            (&delete, "/console/api/session", Some(Endpoint::SignOut)),
            (&get, "/console/api/overview", Some(Endpoint::Overview)),
            (
                &get,
                "/console/api/queues/orders",
                Some(Endpoint::Queue("orders".into())),
            ),
            (
                &get,
                "/console/api/queues/a%2Eb.fifo/messages",
                Some(Endpoint::Peek("a.b.fifo".into())),
            ),
            (
                &post,
                "/console/api/queues/q/messages",
                Some(Endpoint::Send("q".into())),
            ),
            (
                &delete,
                "/console/api/queues/q/messages/42",
                Some(Endpoint::DeleteMessage("q".into(), 42)),
            ),
            (&delete, "/console/api/queues/q/messages/x", None),
            (&post, "/console/api/queues/q/purge", Some(Endpoint::Purge("q".into()))),
            (
                &post,
                "/console/api/queues/q/redrive",
                Some(Endpoint::Redrive("q".into())),
            ),
            (
                &post,
                "/console/api/queues/q/redrive/cancel",
                Some(Endpoint::CancelRedrive("q".into())),
            ),
            (
                &get,
                "/console/api/streams/clicks",
                Some(Endpoint::Stream("clicks".into())),
            ),
            (
                &get,
                "/console/api/streams/a%2Db/records",
                Some(Endpoint::StreamRecords("a-b".into())),
            ),
            (&post, "/console/api/streams/clicks/records", None),
            (&get, "/console/api/streams/", None),
            (
                &get,
                "/console/api/topics/alerts",
                Some(Endpoint::Topic("alerts".into())),
            ),
            (
                &post,
                "/console/api/topics/a%2Eb.fifo/publish",
                Some(Endpoint::PublishTopic("a.b.fifo".into())),
            ),
            (&get, "/console/api/topics/alerts/publish", None),
            (&post, "/console/api/topics/alerts", None),
            (&get, "/console/api/queues/", None),
            (&get, "/console/api/queues/%zz", None),
            (&get, "/consoles", None),
        ];
        for (method, path, want) in cases {
            assert_eq!(&route(method, path), want, "{method} {path}");
        }
        assert!(is_console_path("/console") && is_console_path("/console/x"));
        assert!(!is_console_path("/consoles") && !is_console_path("/"));
    }
}
