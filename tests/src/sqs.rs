//! Small helpers over the SQS SDK that the tests repeat: error-code assertions, queue creation,
//! attribute reads, receives. They panic with context on anything unexpected, since they only
//! run inside tests.

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;

/// The AWS error code of an SDK error. With the JSON protocol this is the legacy query code
/// from `x-amzn-query-error` when the broker sends that header (e.g. `InvalidParameterValue`,
/// `AWS.SimpleQueueService.NonExistentQueue`), else the `__type` shape name.
pub fn error_code<E, R>(err: &SdkError<E, R>) -> Option<String>
where
    E: ProvideErrorMetadata,
{
    err.code().map(str::to_string)
}

/// Asserts that `res` failed with AWS error code `code`, and returns the error.
pub fn expect_code<T, E, R>(res: Result<T, SdkError<E, R>>, code: &str) -> SdkError<E, R>
where
    T: Debug,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    match res {
        Ok(v) => panic!("expected error {code}, got success: {v:?}"),
        Err(e) => {
            let actual = error_code(&e);
            assert_eq!(
                actual.as_deref(),
                Some(code),
                "expected error code {code}, got {}",
                DisplayErrorContext(&e)
            );
            e
        }
    }
}

/// Asserts that `res` failed with one of `codes` (where AWS's documented code is ambiguous).
pub fn expect_one_of<T, E, R>(res: Result<T, SdkError<E, R>>, codes: &[&str]) -> SdkError<E, R>
where
    T: Debug,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    match res {
        Ok(v) => panic!("expected one of {codes:?}, got success: {v:?}"),
        Err(e) => {
            let actual = error_code(&e).unwrap_or_default();
            assert!(
                codes.contains(&actual.as_str()),
                "expected one of {codes:?}, got {}",
                DisplayErrorContext(&e)
            );
            e
        }
    }
}

/// Unwraps an SDK result, panicking with the full error chain (the default Debug is unreadable).
pub fn ok<T, E>(res: Result<T, E>, what: &str) -> T
where
    E: std::error::Error + Send + Sync + 'static,
{
    match res {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {}", DisplayErrorContext(&e)),
    }
}

/// Creates a queue with `attrs` and returns its URL.
pub async fn create_queue(client: &Client, name: &str, attrs: &[(QueueAttributeName, &str)]) -> String {
    let mut req = client.create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(k.clone(), *v);
    }
    let out = ok(req.send().await, &format!("CreateQueue {name}"));
    out.queue_url().expect("CreateQueue returned no QueueUrl").to_string()
}

/// Creates `dlq_name`, then `name` whose messages move there after `max_receives` receives,
/// hidden `visibility` seconds per receive; returns both URLs, the queue's first.
pub async fn create_queue_with_dlq(
    client: &Client,
    name: &str,
    dlq_name: &str,
    visibility: &str,
    max_receives: u32,
) -> (String, String) {
    let dlq = create_queue(client, dlq_name, &[]).await;
    let redrive = format!(
        r#"{{"deadLetterTargetArn":"arn:aws:sqs:{}:{}:{dlq_name}","maxReceiveCount":"{max_receives}"}}"#,
        crate::REGION,
        crate::ACCOUNT_ID
    );
    let queue = create_queue(
        client,
        name,
        &[
            (QueueAttributeName::VisibilityTimeout, visibility),
            (QueueAttributeName::RedrivePolicy, &redrive),
        ],
    )
    .await;
    (queue, dlq)
}

/// Reads queue attributes (`All` when `names` is empty) as a name → value map.
pub async fn queue_attributes(client: &Client, url: &str, names: &[QueueAttributeName]) -> HashMap<String, String> {
    let mut req = client.get_queue_attributes().queue_url(url);
    if names.is_empty() {
        req = req.attribute_names(QueueAttributeName::All);
    }
    for n in names {
        req = req.attribute_names(n.clone());
    }
    let out = ok(req.send().await, "GetQueueAttributes");
    out.attributes()
        .map(|m| m.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect())
        .unwrap_or_default()
}

/// One attribute as an integer (panics if absent or not a number).
pub async fn queue_attribute_i64(client: &Client, url: &str, name: QueueAttributeName) -> i64 {
    let attrs = queue_attributes(client, url, std::slice::from_ref(&name)).await;
    let v = attrs
        .get(name.as_str())
        .unwrap_or_else(|| panic!("attribute {} missing: {attrs:?}", name.as_str()));
    v.parse()
        .unwrap_or_else(|_| panic!("attribute {} not an integer: {v}", name.as_str()))
}

/// Visible / in flight / delayed counts.
pub async fn counts(client: &Client, url: &str) -> (i64, i64, i64) {
    let attrs = queue_attributes(
        client,
        url,
        &[
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ],
    )
    .await;
    let get = |k: &str| -> i64 {
        attrs
            .get(k)
            .unwrap_or_else(|| panic!("{k} missing: {attrs:?}"))
            .parse()
            .unwrap_or_else(|_| panic!("{k} not a number: {attrs:?}"))
    };
    (
        get("ApproximateNumberOfMessages"),
        get("ApproximateNumberOfMessagesNotVisible"),
        get("ApproximateNumberOfMessagesDelayed"),
    )
}

/// Sends one plain message and returns its MessageId.
pub async fn send(client: &Client, url: &str, body: &str) -> String {
    let out = ok(
        client.send_message().queue_url(url).message_body(body).send().await,
        "SendMessage",
    );
    out.message_id().expect("SendMessage returned no MessageId").to_string()
}

/// One ReceiveMessage call asking for all system and message attributes.
/// `visibility` None keeps the queue's default.
pub async fn receive(client: &Client, url: &str, max: i32, wait: i32, visibility: Option<i32>) -> Vec<Message> {
    let out = ok(
        client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max)
            .wait_time_seconds(wait)
            .set_visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await,
        "ReceiveMessage",
    );
    out.messages().to_vec()
}

/// Sends `n` messages to `src` and dead-letters them: each is received once with a zero
/// visibility timeout, and the next receive moves it to `dlq` (whose RedrivePolicy has
/// `maxReceiveCount` 1). Bounded by 20 s.
pub async fn dead_letter(sqs: &Client, src: &str, dlq: &str, n: usize) {
    let target = counts(sqs, dlq).await.0 + n as i64;
    for i in 0..n {
        ok(
            sqs.send_message()
                .queue_url(src)
                .message_body(format!("m{i}"))
                .send()
                .await,
            "SendMessage",
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while counts(sqs, dlq).await.0 < target && Instant::now() < deadline {
        receive(sqs, src, 10, 0, Some(0)).await;
    }
    assert_eq!(counts(sqs, dlq).await.0, target, "messages dead-lettered");
    assert_eq!(counts(sqs, src).await, (0, 0, 0));
}

/// Receives until `n` messages were collected, a receive came back empty `empty_polls` times in
/// a row, or `limit` passed. Messages are not deleted.
pub async fn receive_n(client: &Client, url: &str, n: usize, visibility: i32, limit: Duration) -> Vec<Message> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        let want = (n - got.len()).min(10) as i32;
        got.extend(receive(client, url, want, 1, Some(visibility)).await);
    }
    got
}

/// A system attribute of a received message.
pub fn sys_attr(m: &Message, name: MessageSystemAttributeName) -> Option<&str> {
    m.attributes().and_then(|a| a.get(&name)).map(String::as_str)
}

/// ApproximateReceiveCount of a received message (panics if absent).
pub fn receive_count(m: &Message) -> i64 {
    sys_attr(m, MessageSystemAttributeName::ApproximateReceiveCount)
        .unwrap_or_else(|| panic!("ApproximateReceiveCount missing: {m:?}"))
        .parse()
        .expect("ApproximateReceiveCount is a number")
}

/// Seconds since the Unix epoch.
pub fn now_epoch_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Milliseconds since the Unix epoch.
pub fn now_epoch_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}
