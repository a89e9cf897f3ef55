//! HTTP targets: a function whose handler is a plain web service. Tag the function
//! `sluice:http-target` = `http(s)://host/path` and Sluice POSTs each invocation's event JSON
//! there and reads the handler's result from the response, instead of waiting for a
//! Runtime API client: a 2xx answer is the result (its body is what a runtime would have
//! returned, `batchItemFailures` included), any other answer or a connection failure is the
//! invocation's error.
//!
//! `sluice:http-concurrency` (1 to 100, default 4) bounds the requests in flight. Each POST
//! carries the invocation's `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms` and
//! `-Invoked-Function-Arn` headers and ends at the function's timeout. Tags are re-read every
//! second, so tagging, retagging or untagging takes effect without a restart.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sluice_broker::function::{FunctionKey, Invocation, Outcome};
use sluice_broker::Functions;
use tokio::task::JoinSet;

/// The tag naming a function's HTTP target.
pub const TARGET_TAG: &str = "sluice:http-target";
/// The tag bounding its concurrent requests.
pub const CONCURRENCY_TAG: &str = "sluice:http-concurrency";
/// Concurrent requests without the tag.
const DEFAULT_CONCURRENCY: usize = 4;
/// How often tags are re-read.
const RESCAN: Duration = Duration::from_secs(1);
/// Largest answer read from a target (Lambda's synchronous payload limit).
const MAX_ANSWER: usize = 6 * 1024 * 1024;

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// What a function's tags ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    url: http::Uri,
    concurrency: usize,
}

/// Runs the HTTP targets of every tagged function until `shutdown` resolves.
pub async fn run(functions: Arc<Functions>, tls: rustls::ClientConfig, shutdown: impl Future<Output = ()>) {
    let client = client(tls);
    let mut running: HashMap<FunctionKey, (Target, JoinSet<()>)> = HashMap::new();
    tokio::pin!(shutdown);
    loop {
        let wanted: HashMap<FunctionKey, Target> = functions
            .all_functions()
            .into_iter()
            .filter_map(|f| target(&f.key, &f.record.tags).map(|t| (f.key, t)))
            .collect();
        running.retain(|key, (target, _)| wanted.get(key) == Some(target));
        for (key, target) in wanted {
            if running.contains_key(&key) {
                continue;
            }
            tracing::info!(function = %key.name, url = %target.url, concurrency = target.concurrency, "http target on");
            let mut set = JoinSet::new();
            for _ in 0..target.concurrency {
                set.spawn(worker(
                    functions.clone(),
                    key.clone(),
                    target.url.clone(),
                    client.clone(),
                ));
            }
            running.insert(key, (target, set));
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(RESCAN) => {}
        }
    }
}

/// The target a function's tags name, if they name a valid one.
fn target(key: &FunctionKey, tags: &std::collections::BTreeMap<String, String>) -> Option<Target> {
    let url = tags.get(TARGET_TAG)?;
    let uri: http::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => {
            tracing::warn!(function = %key.name, url, error = %e, "http target tag is not a URL");
            return None;
        }
    };
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        tracing::warn!(function = %key.name, url, "http target tag must be an http:// or https:// URL");
        return None;
    }
    let concurrency = tags
        .get(CONCURRENCY_TAG)
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|c| (1..=100).contains(c))
        .unwrap_or(DEFAULT_CONCURRENCY);
    Some(Target { url: uri, concurrency })
}

fn client(tls: rustls::ClientConfig) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    connector.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new()).build(connector)
}

async fn worker(functions: Arc<Functions>, key: FunctionKey, url: http::Uri, client: HttpClient) {
    let hub = functions.hub(&key);
    let arn = key.arn();
    loop {
        let invocation = hub.next().await;
        let outcome = post(&client, &url, &arn, &invocation, functions.clock_ms()).await;
        if let Some(outcome) = outcome {
            // False when the caller gave up meanwhile (the timeout passed): nothing to do.
            let _ = hub.complete(&invocation.request_id, outcome);
        }
    }
}

/// POSTs one invocation; `None` when the deadline passed first (the caller times it out).
async fn post(client: &HttpClient, url: &http::Uri, arn: &str, inv: &Invocation, now_ms: u64) -> Option<Outcome> {
    let left = Duration::from_millis(inv.deadline_ms.saturating_sub(now_ms));
    let request = Request::builder()
        .method(Method::POST)
        .uri(url.clone())
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &inv.request_id)
        .header("lambda-runtime-deadline-ms", inv.deadline_ms.to_string())
        .header("lambda-runtime-invoked-function-arn", arn)
        .body(Full::new(inv.payload.clone()));
    let request = match request {
        Ok(r) => r,
        Err(e) => return Some(failure("HttpTarget.Request", &e.to_string())),
    };
    let exchange = async {
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>((status, body))
    };
    match tokio::time::timeout(left, exchange).await {
        Err(_) => None,
        Ok(Err(e)) => Some(failure("HttpTarget.Unreachable", &e)),
        Ok(Ok((status, body))) if status.is_success() => Some(Outcome::Success(body)),
        Ok(Ok((status, body))) => Some(failure(
            &format!("HttpTarget.{}", status.as_u16()),
            &format!("the HTTP target answered {status}: {}", String::from_utf8_lossy(&body)),
        )),
    }
}

/// A Lambda-style error document.
fn failure(kind: &str, message: &str) -> Outcome {
    let doc = serde_json::json!({"errorMessage": message, "errorType": kind});
    Outcome::Error(Bytes::from(doc.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_come_from_tags() {
        let key = FunctionKey::new("000000000000", "us-east-1", "f");
        let mut tags = std::collections::BTreeMap::new();
        assert_eq!(target(&key, &tags), None);
        tags.insert(TARGET_TAG.to_string(), "ftp://x/".to_string());
        assert_eq!(target(&key, &tags), None);
        tags.insert(TARGET_TAG.to_string(), "http://127.0.0.1:9000/invoke".to_string());
        assert_eq!(target(&key, &tags).map(|t| t.concurrency), Some(DEFAULT_CONCURRENCY));
        tags.insert(CONCURRENCY_TAG.to_string(), "12".to_string());
        assert_eq!(target(&key, &tags).map(|t| t.concurrency), Some(12));
        tags.insert(CONCURRENCY_TAG.to_string(), "1000".to_string());
        assert_eq!(target(&key, &tags).map(|t| t.concurrency), Some(DEFAULT_CONCURRENCY));
    }
}
