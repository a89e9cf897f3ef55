//! The console's JSON endpoints, driven over HTTP like the page drives them, against real
//! brokers: a peek changes nothing a consumer sees (receive count, visibility), sends, deletes,
//! purges and redrives reach the queues, bad input gets a clear JSON error, and the session
//! gate holds (no cookie, no CSRF token, a body that is not JSON). Under `--auth verify`, a
//! wrong secret is refused like an unknown key, and a limited key sees and touches only what
//! its policy allows. The page itself is tested in a browser in `console_browser.rs`.

use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use http::Method;
use serde_json::json;
use sluice_tests::console::{error_code, Console};
use sluice_tests::raw::{build, send};
use sluice_tests::sqs::{create_queue, ok};
use sluice_tests::{sqs_client, Broker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peeking_changes_nothing_and_changes_go_through_the_api() {
    let broker = Broker::start().await;
    let sqs = sqs_client(&broker.endpoint()).await;
    create_queue(&sqs, "orders-dlq", &[]).await;
    let redrive = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:orders-dlq","maxReceiveCount":"1"}"#;
    let queue = create_queue(
        &sqs,
        "orders",
        &[
            (QueueAttributeName::RedrivePolicy, redrive),
            (QueueAttributeName::VisibilityTimeout, "1"),
        ],
    )
    .await;
    for i in 0..5 {
        ok(
            sqs.send_message()
                .queue_url(&queue)
                .message_body(format!(r#"{{"order":{i}}}"#))
                .message_attributes(
                    "kind",
                    aws_sdk_sqs::types::MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value("test")
                        .build()
                        .expect("attribute"),
                )
                .send()
                .await,
            "SendMessage",
        );
    }

    // The page's first call starts a session (auth off) with an HttpOnly, SameSite=Strict cookie.
    let page = Console::new(&broker.endpoint()).get("/console").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/console/assets/console.js"));
    let csp = page.header("content-security-policy").unwrap_or_default().to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let (console, session) = Console::open(&broker.endpoint()).await;
    assert_eq!(session["auth"], "off");
    assert_eq!(session["signedIn"], true);
    assert_eq!(session["account"], "000000000000");
    let cookie = Console::open(&broker.endpoint()).await.0.cookie.expect("a cookie");
    assert!(cookie.starts_with("sluice_console="), "{cookie}");

    // Overview: both queues, their depth, and the dead-letter link.
    let overview = console.get("/console/api/overview").await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    let overview = overview.json();
    let orders = overview["queues"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["name"] == "orders"))
        .cloned()
        .expect("orders in the overview");
    assert_eq!(orders["visible"], 5);
    assert_eq!(orders["sent"], 5);
    assert_eq!(orders["deadLetterTarget"]["name"], "orders-dlq");
    assert_eq!(orders["deadLetterTarget"]["maxReceiveCount"], 1);
    assert!(overview["queues"].as_array().is_some_and(|qs| qs
        .iter()
        .any(|q| q["name"] == "orders-dlq" && q["isDeadLetterQueue"] == true)));

    // A peek shows every message with its attributes, twice over, and changes nothing.
    for _ in 0..2 {
        let peek = console.get("/console/api/queues/orders/messages?limit=10").await;
        assert_eq!(peek.status, 200, "{}", peek.body);
        let peek = peek.json();
        let messages = peek["messages"].as_array().cloned().unwrap_or_default();
        assert_eq!(messages.len(), 5);
        assert!(peek["next"].is_null());
        assert_eq!(messages[0]["body"], r#"{"order":0}"#);
        assert_eq!(messages[0]["state"], "visible");
        assert_eq!(messages[0]["attributes"]["kind"]["stringValue"], "test");
        assert_eq!(messages[0]["systemAttributes"]["ApproximateReceiveCount"], "0");
    }
    let paged = console.get("/console/api/queues/orders/messages?limit=2").await.json();
    assert_eq!(paged["messages"].as_array().map(Vec::len), Some(2));
    let next = paged["next"].as_u64().expect("a next page");
    let rest = console
        .get(&format!("/console/api/queues/orders/messages?from={next}&limit=10"))
        .await
        .json();
    assert_eq!(rest["messages"].as_array().map(Vec::len), Some(3));

    let received = ok(
        sqs.receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await,
        "ReceiveMessage",
    );
    assert_eq!(
        received.messages().len(),
        5,
        "every message still visible after the peeks"
    );
    for m in received.messages() {
        let count = m
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .map(String::as_str);
        assert_eq!(count, Some("1"), "the first receive of each message is the consumer's");
    }
    // In flight now: the peek says so and shows the receive.
    let peek = console.get("/console/api/queues/orders/messages").await.json();
    assert!(peek["messages"].as_array().is_some_and(|ms| ms
        .iter()
        .all(|m| m["state"] == "in flight" && m["systemAttributes"]["ApproximateReceiveCount"] == "1")));

    // Send through the console; without the CSRF token it is refused.
    let mut no_csrf = Console::new(&broker.endpoint());
    no_csrf.cookie = console.cookie.clone();
    let refused = no_csrf
        .call(
            Method::POST,
            "/console/api/queues/orders/messages",
            Some(json!({"body": "x"})),
        )
        .await;
    assert_eq!(
        (refused.status, error_code(&refused).as_str()),
        (403, "InvalidCsrfToken")
    );
    let sent = console
        .call(
            Method::POST,
            "/console/api/queues/orders/messages",
            Some(json!({"body": "from the console"})),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.json()["MessageId"].is_string(), "{}", sent.body);
    // The API's own validation answers through the console.
    let too_long = console
        .call(
            Method::POST,
            "/console/api/queues/orders/messages",
            Some(json!({"body": "x", "delaySeconds": 901})),
        )
        .await;
    assert_eq!(too_long.status, 400, "{}", too_long.body);
    assert_eq!(
        error_code(&too_long),
        "InvalidParameterValueException",
        "SQS's JSON code"
    );

    // Delete the sent message by its position, which needs its id too.
    let peek = console.get("/console/api/queues/orders/messages").await.json();
    let mine = peek["messages"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["body"] == "from the console"))
        .cloned()
        .expect("the console's message");
    let position = mine["position"].as_u64().expect("position");
    let path = format!("/console/api/queues/orders/messages/{position}");
    let wrong = console
        .call(Method::DELETE, &format!("{path}?messageId=nope"), None)
        .await;
    assert_eq!((wrong.status, error_code(&wrong).as_str()), (404, "MessageNotFound"));
    let id = mine["messageId"].as_str().unwrap_or_default();
    let deleted = console
        .call(Method::DELETE, &format!("{path}?messageId={id}"), None)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let after = console.get("/console/api/queues/orders/messages").await.json();
    assert!(after["messages"]
        .as_array()
        .is_some_and(|ms| ms.iter().all(|m| m["body"] != "from the console")));

    // After their visibility timeout the received messages go to the DLQ on the next receive
    // (maxReceiveCount 1); the queue page then lists it as a source and redrives it back.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let again = ok(
        sqs.receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await,
        "ReceiveMessage",
    );
    assert!(again.messages().is_empty(), "all moved to the dead-letter queue");
    let detail = console.get("/console/api/queues/orders-dlq").await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let detail = detail.json();
    assert_eq!(detail["deadLetterSources"], json!(["orders"]));
    assert_eq!(detail["attributes"]["ApproximateNumberOfMessages"], "5");
    let redrive = console
        .call(Method::POST, "/console/api/queues/orders-dlq/redrive", Some(json!({})))
        .await;
    assert_eq!(redrive.status, 200, "{}", redrive.body);
    assert!(redrive.json()["taskHandle"].is_string());
    let mut moved = false;
    for _ in 0..100 {
        let detail = console.get("/console/api/queues/orders-dlq").await.json();
        let tasks = detail["moveTasks"].as_array().cloned().unwrap_or_default();
        if tasks.first().is_some_and(|t| t["Status"] == "COMPLETED") {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(moved, "the redrive completes and the page sees it");
    let back = console.get("/console/api/overview").await.json();
    let orders = back["queues"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["name"] == "orders"))
        .cloned()
        .expect("orders");
    assert_eq!(orders["visible"], 5, "{orders}");

    // Purge.
    let purged = console
        .call(Method::POST, "/console/api/queues/orders/purge", Some(json!({})))
        .await;
    assert_eq!(purged.status, 200, "{}", purged.body);
    let empty = console.get("/console/api/queues/orders/messages").await.json();
    assert_eq!(empty["messages"], json!([]));

    // Bad input gets clear errors.
    let cases = [
        (
            console.get("/console/api/queues/orders/messages?limit=0").await,
            400,
            "InvalidParameterValue",
        ),
        (
            console.get("/console/api/queues/orders/messages?from=x").await,
            400,
            "InvalidParameterValue",
        ),
        (
            console.get("/console/api/queues/nope/messages").await,
            404,
            "QueueDoesNotExist",
        ),
        (console.get("/console/api/queues/nope").await, 404, "QueueDoesNotExist"),
        (console.get("/console/api/nothing").await, 404, "NotFound"),
        (
            Console::new(&broker.endpoint()).get("/console/api/overview").await,
            401,
            "SignInRequired",
        ),
    ];
    for (r, status, code) in cases {
        assert_eq!((r.status, error_code(&r).as_str()), (status, code), "{}", r.body);
        assert!(!r.json()["error"]["message"].as_str().unwrap_or_default().is_empty());
    }
    let not_json = {
        let req = build(
            Method::POST,
            &format!("{}/console/api/queues/orders/messages", broker.endpoint()),
            &[
                ("cookie", console.cookie.as_deref().unwrap_or_default()),
                ("x-sluice-csrf", console.csrf.as_deref().unwrap_or_default()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            b"body=x".to_vec(),
            false,
        );
        send(req).await.expect("request")
    };
    assert_eq!(
        (not_json.status, error_code(&not_json).as_str()),
        (400, "InvalidParameterValue")
    );
    let unknown_field = console
        .call(
            Method::POST,
            "/console/api/queues/orders/messages",
            Some(json!({"bdy": "x"})),
        )
        .await;
    assert_eq!(unknown_field.status, 400, "{}", unknown_field.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_auth_verify_the_console_acts_as_the_signed_in_key() {
    const LIMITED_KEY: &str = "AKIDCONSOLELIMITED";
    const LIMITED_SECRET: &str = "limited-console-secret";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keys.yaml");
    let keys = sluice_tests::console::keys_with_limited(
        LIMITED_KEY,
        LIMITED_SECRET,
        &[r#"{ Effect: Allow, Action: "sqs:*", Resource: "arn:aws:sqs:*:000000000000:visible-*" }"#],
    );
    std::fs::write(&path, keys).expect("keys file");
    let path = path.display().to_string();
    let broker = Broker::start_with(&["--auth", "verify", "--credentials", &path]).await;
    let sqs = sqs_client(&broker.endpoint()).await;
    let shown = create_queue(&sqs, "visible-jobs", &[]).await;
    create_queue(&sqs, "hidden-jobs", &[]).await;
    ok(
        sqs.send_message().queue_url(&shown).message_body("hello").send().await,
        "SendMessage",
    );

    // No session until a sign-in.
    let (mut console, session) = Console::open(&broker.endpoint()).await;
    assert_eq!(
        (session["auth"].as_str(), session["signedIn"].as_bool()),
        (Some("verify"), Some(false))
    );
    assert!(console.cookie.is_none(), "no cookie before a sign-in");
    let refused = console.get("/console/api/overview").await;
    assert_eq!((refused.status, error_code(&refused).as_str()), (401, "SignInRequired"));

    // A wrong secret and an unknown key get one answer.
    let sign_in = |key: &str, secret: &str| json!({"accessKeyId": key, "secretAccessKey": secret});
    for (key, secret) in [(LIMITED_KEY, "wrong"), ("AKIDUNKNOWN", LIMITED_SECRET)] {
        let r = console
            .call(Method::POST, "/console/api/session", Some(sign_in(key, secret)))
            .await;
        assert_eq!(
            (r.status, error_code(&r).as_str()),
            (401, "InvalidCredentials"),
            "{key}"
        );
        assert!(r.header("set-cookie").is_none());
    }
    let bad_region = console
        .call(
            Method::POST,
            "/console/api/session",
            Some(json!({"accessKeyId": LIMITED_KEY, "secretAccessKey": LIMITED_SECRET, "region": "moon"})),
        )
        .await;
    assert_eq!(bad_region.status, 400, "{}", bad_region.body);

    let signed = console
        .call(
            Method::POST,
            "/console/api/session",
            Some(sign_in(LIMITED_KEY, LIMITED_SECRET)),
        )
        .await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    let set = signed.header("set-cookie").unwrap_or_default().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(flag), "{set}");
    }
    console.remember(&signed);
    assert_eq!(signed.json()["accessKeyId"], LIMITED_KEY);

    // The limited key sees only what its policy allows.
    let overview = console.get("/console/api/overview").await.json();
    let names: Vec<&str> = overview["queues"]
        .as_array()
        .map(|qs| qs.iter().filter_map(|q| q["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["visible-jobs"]);
    let peek = console.get("/console/api/queues/visible-jobs/messages").await;
    assert_eq!(peek.status, 200, "{}", peek.body);
    let denied = console.get("/console/api/queues/hidden-jobs/messages").await;
    assert_eq!(
        (denied.status, error_code(&denied).as_str()),
        (403, "AccessDenied"),
        "{}",
        denied.body
    );
    let denied_send = console
        .call(
            Method::POST,
            "/console/api/queues/hidden-jobs/messages",
            Some(json!({"body": "x"})),
        )
        .await;
    assert_eq!(denied_send.status, 403, "{}", denied_send.body);
    assert_eq!(
        error_code(&denied_send),
        "AccessDeniedException",
        "SQS's JSON code, from the API"
    );

    // Signing out ends the session.
    let out = console.call(Method::DELETE, "/console/api/session", None).await;
    assert_eq!(out.status, 204);
    let after = console.get("/console/api/overview").await;
    assert_eq!(after.status, 401);
}
