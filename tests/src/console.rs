//! [`Console`]: a web console session over plain HTTP, calling the console's JSON endpoints the
//! way its page does (the session cookie, the CSRF header, JSON bodies); and
//! [`keys_with_limited`], the credentials file of the `--auth verify` console tests.

use http::Method;
use serde_json::{json, Value};

use crate::raw::{build, send, RawResponse};
use crate::{ACCESS_KEY, SECRET_KEY};

/// A console session: its cookie and CSRF token, once the broker has set them.
pub struct Console {
    /// The broker's base URL.
    pub endpoint: String,
    /// `name=value` of the session cookie.
    pub cookie: Option<String>,
    /// The session's CSRF token, sent as `X-Sluice-Csrf`.
    pub csrf: Option<String>,
}

impl Console {
    /// A client with no session yet.
    pub fn new(endpoint: &str) -> Console {
        Console {
            endpoint: endpoint.to_string(),
            cookie: None,
            csrf: None,
        }
    }

    /// `GET /console/api/session`, keeping the cookie and token it gives; the session's JSON.
    pub async fn open(endpoint: &str) -> (Console, Value) {
        let mut console = Console::new(endpoint);
        let r = console.get("/console/api/session").await;
        assert_eq!(r.status, 200, "{}", r.body);
        console.remember(&r);
        let session = r.json();
        (console, session)
    }

    /// Signs in as `key`; panics unless the console accepts it.
    pub async fn sign_in(&mut self, key: &str, secret: &str) {
        let body = json!({ "accessKeyId": key, "secretAccessKey": secret });
        let r = self.call(Method::POST, "/console/api/session", Some(body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        self.remember(&r);
    }

    /// Keeps the cookie `r` sets and the CSRF token its JSON carries, when it has either.
    pub fn remember(&mut self, r: &RawResponse) {
        if let Some(set) = r.header("set-cookie") {
            self.cookie = set.split(';').next().map(str::to_string);
        }
        let token = serde_json::from_str::<Value>(&r.body)
            .ok()
            .and_then(|v| v["csrf"].as_str().map(str::to_string));
        if token.is_some() {
            self.csrf = token;
        }
    }

    /// A request with the session's cookie and CSRF token, and `body` as JSON.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> RawResponse {
        self.raw(method, path, body.map(|b| b.to_string().into_bytes()), true)
            .await
    }

    /// A request with the session's cookie, its CSRF token when `csrf`, and `body` sent as
    /// JSON (`Content-Type: application/json`) whatever it holds.
    pub async fn raw(&self, method: Method, path: &str, body: Option<Vec<u8>>, csrf: bool) -> RawResponse {
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(cookie) = &self.cookie {
            headers.push(("cookie", cookie.clone()));
        }
        if let Some(token) = self.csrf.as_ref().filter(|_| csrf) {
            headers.push(("x-sluice-csrf", token.clone()));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json".into()));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = format!("{}{path}", self.endpoint);
        let req = build(method, &url, &headers, body.unwrap_or_default(), false);
        send(req).await.expect("console request")
    }

    /// A GET.
    pub async fn get(&self, path: &str) -> RawResponse {
        self.call(Method::GET, path, None).await
    }

    /// A GET that must answer 200: its JSON.
    pub async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.json()
    }
}

/// The `code` of a console error answer (`{"error": {"code", "message"}}`), or "".
pub fn error_code(r: &RawResponse) -> String {
    serde_json::from_str::<Value>(&r.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A `--credentials` file: the tests' own key, unrestricted, and `key` with `secret` in the same
/// account (000000000000) allowed only what `statements` say (each a YAML flow mapping, such as
/// `{ Effect: Allow, Action: "sqs:*", Resource: "arn:aws:sqs:*:000000000000:visible-*" }`).
pub fn keys_with_limited(key: &str, secret: &str, statements: &[&str]) -> String {
    let mut keys = format!(
        "keys:\n\
         \x20 - {{ access_key_id: {ACCESS_KEY}, secret_access_key: {SECRET_KEY}, account_id: \"000000000000\" }}\n\
         \x20 - access_key_id: {key}\n\
         \x20   secret_access_key: {secret}\n\
         \x20   account_id: \"000000000000\"\n\
         \x20   policy:\n\
         \x20     Statement:\n"
    );
    for statement in statements {
        keys.push_str(&format!("\x20       - {statement}\n"));
    }
    keys
}
