//! `--auth verify`: the broker checks SigV4 like AWS. Real SDK clients with valid keys work and
//! act for their key's account; wrong secrets, unknown keys, missing or truncated signatures,
//! skewed clocks, expired presigned URLs and missing session tokens get AWS's errors. Identity
//! and resource policies decide every call, including ListShards pages, unsubscribes that
//! require authentication, message move tasks across accounts and the admin checkpoint.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignatureLocation, SigningSettings};
use http::Method;
use sluice_tests::raw;
use sluice_tests::sqs::{create_queue, expect_code, ok};
use sluice_tests::{sqs_client_with_key, xml, Broker, ACCESS_KEY, SECRET_KEY};

const OTHER_KEY: &str = "AKIDOTHERACCOUNT";
const OTHER_SECRET: &str = "other-secret";
const TEMP_KEY: &str = "ASIATEMPORARY";
const TEMP_SECRET: &str = "temporary-secret";
const TEMP_TOKEN: &str = "session-token-1";
const LIMITED_KEY: &str = "AKIDLIMITED";
const LIMITED_SECRET: &str = "limited-secret";
const CONDITIONAL_KEY: &str = "AKIDCONDITIONAL";
const CONDITIONAL_SECRET: &str = "conditional-secret";

async fn verifying_broker() -> (Broker, tempfile::TempDir) {
    verifying_broker_with(&[]).await
}

/// A `--auth verify` broker with the test keys, and `extra` arguments.
async fn verifying_broker_with(extra: &[&str]) -> (Broker, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keys.yaml");
    let keys = format!(
        "keys:\n\
         \x20 - {{ access_key_id: {ACCESS_KEY}, secret_access_key: {SECRET_KEY}, account_id: \"000000000000\" }}\n\
         \x20 - {{ access_key_id: {OTHER_KEY}, secret_access_key: {OTHER_SECRET}, account_id: \"111111111111\" }}\n\
         \x20 - {{ access_key_id: {TEMP_KEY}, secret_access_key: {TEMP_SECRET}, account_id: \"000000000000\", session_token: {TEMP_TOKEN} }}\n\
         \x20 - access_key_id: {LIMITED_KEY}\n\
         \x20   secret_access_key: {LIMITED_SECRET}\n\
         \x20   account_id: \"000000000000\"\n\
         \x20   policy:\n\
         \x20     Statement:\n\
         \x20       - {{ Effect: Allow, Action: [\"sqs:Send*\", \"sqs:GetQueueUrl\"], Resource: \"arn:aws:sqs:*:000000000000:orders*\" }}\n\
         \x20       - {{ Effect: Deny, Action: \"sqs:*\", Resource: \"arn:aws:sqs:*:*:orders-secret\" }}\n\
         \x20       - {{ Effect: Allow, Action: [\"kinesis:PutRecord\", \"kinesis:GetRecords\"], Resource: \"arn:aws:kinesis:*:000000000000:stream/clicks\" }}\n\
         \x20       - {{ Effect: Allow, Action: \"sns:Publish\", Resource: \"arn:aws:sns:*:000000000000:alerts\" }}\n\
         \x20 - access_key_id: {CONDITIONAL_KEY}\n\
         \x20   secret_access_key: {CONDITIONAL_SECRET}\n\
         \x20   account_id: \"000000000000\"\n\
         \x20   policy:\n\
         \x20     Statement:\n\
         \x20       - {{ Effect: Allow, Action: \"sqs:*\", Resource: \"arn:aws:sqs:*:000000000000:cond*\", Condition: {{ IpAddress: {{ \"aws:SourceIp\": \"127.0.0.0/8\" }} }} }}\n\
         \x20       - {{ Effect: Deny, Action: \"sqs:DeleteQueue\", Resource: \"*\", Condition: {{ Bool: {{ \"aws:SecureTransport\": \"false\" }} }} }}\n\
         \x20       - {{ Effect: Allow, Action: \"sqs:ListQueues\", Resource: \"*\", Condition: {{ NotIpAddress: {{ \"aws:SourceIp\": \"127.0.0.0/8\" }} }} }}\n"
    );
    std::fs::write(&path, keys).expect("write keys");
    let path = path.to_string_lossy().to_string();
    let mut args = vec!["--auth", "verify", "--credentials", &path];
    args.extend_from_slice(extra);
    let broker = Broker::start_with(&args).await;
    (broker, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_keys_work_and_act_for_their_account() {
    let (broker, _dir) = verifying_broker().await;
    let sqs = broker.sqs().await;
    let url = create_queue(&sqs, "mine", &[]).await;
    assert!(url.ends_with("/000000000000/mine"), "{url}");
    let other = sqs_client_with_key(&broker.endpoint(), OTHER_KEY, OTHER_SECRET, None).await;
    let out = ok(other.create_queue().queue_name("theirs").send().await, "CreateQueue");
    assert!(
        out.queue_url().is_some_and(|u| u.ends_with("/111111111111/theirs")),
        "{out:?}"
    );
    // Each account sees its own queues.
    let listed = ok(other.list_queues().send().await, "ListQueues");
    assert_eq!(listed.queue_urls().len(), 1, "{listed:?}");
    let temp = sqs_client_with_key(&broker.endpoint(), TEMP_KEY, TEMP_SECRET, Some(TEMP_TOKEN)).await;
    ok(
        temp.get_queue_url().queue_name("mine").send().await,
        "GetQueueUrl with a session token",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_get_aws_errors() {
    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let wrong_secret = sqs_client_with_key(&endpoint, ACCESS_KEY, "not-the-secret", None).await;
    expect_code(wrong_secret.list_queues().send().await, "SignatureDoesNotMatch");
    let unknown = sqs_client_with_key(&endpoint, "AKIDUNKNOWN", "x", None).await;
    expect_code(unknown.list_queues().send().await, "InvalidClientTokenId");
    let no_token = sqs_client_with_key(&endpoint, TEMP_KEY, TEMP_SECRET, None).await;
    expect_code(no_token.list_queues().send().await, "InvalidClientTokenId");
    let wrong_token = sqs_client_with_key(&endpoint, TEMP_KEY, TEMP_SECRET, Some("stale")).await;
    expect_code(wrong_token.list_queues().send().await, "InvalidClientTokenId");
    // A region that is no region is refused; a real one is its own namespace.
    let nowhere = sluice_tests::sqs_client_in_region(&endpoint, "moon").await;
    let refused = expect_code(nowhere.list_queues().send().await, "SignatureDoesNotMatch");
    assert!(
        format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&refused)).contains("valid region"),
        "{}",
        aws_sdk_sqs::error::DisplayErrorContext(&refused)
    );
    let home = broker.sqs().await;
    create_queue(&home, "regional", &[]).await;
    let ireland = sluice_tests::sqs_client_in_region(&endpoint, "eu-west-1").await;
    expect_code(
        ireland.get_queue_url().queue_name("regional").send().await,
        "AWS.SimpleQueueService.NonExistentQueue",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_truncated_skewed_and_expired_requests_are_refused() {
    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let form = "Action=ListQueues&Version=2012-11-05";
    let headers = [("content-type", "application/x-www-form-urlencoded")];

    let unsigned = raw::build(Method::POST, &format!("{endpoint}/"), &headers, form.into(), false);
    let resp = raw::send(unsigned).await.expect("send");
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert_eq!(
        xml::value(&resp.body, "Code").as_deref(),
        Some("MissingAuthenticationToken")
    );

    let mut truncated = raw::build(Method::POST, &format!("{endpoint}/"), &headers, form.into(), false);
    truncated.headers_mut().insert(
        "authorization",
        format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/us-east-1/sqs/aws4_request")
            .parse()
            .expect("header"),
    );
    let resp = raw::send(truncated).await.expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(xml::value(&resp.body, "Code").as_deref(), Some("IncompleteSignature"));

    let mut skewed = raw::build(Method::POST, &format!("{endpoint}/"), &headers, form.into(), false);
    let twenty_minutes_ago = SystemTime::now() - Duration::from_secs(20 * 60);
    raw::sign_as(
        &mut skewed,
        "sqs",
        ACCESS_KEY,
        SECRET_KEY,
        twenty_minutes_ago,
        SigningSettings::default(),
    );
    let resp = raw::send(skewed).await.expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(xml::value(&resp.body, "Code").as_deref(), Some("RequestExpired"));

    // A presigned GET works while valid and is refused once expired.
    let presign = |at: SystemTime| {
        let mut req = raw::build(
            Method::GET,
            &format!("{endpoint}/?Action=ListQueues&Version=2012-11-05"),
            &[],
            Vec::new(),
            false,
        );
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(60));
        raw::sign_as(&mut req, "sqs", ACCESS_KEY, SECRET_KEY, at, settings);
        req
    };
    let resp = raw::send(presign(SystemTime::now())).await.expect("send");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let resp = raw::send(presign(SystemTime::now() - Duration::from_secs(120)))
        .await
        .expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(xml::value(&resp.body, "Code").as_deref(), Some("RequestExpired"));

    // A signature scoped to another service does not open SQS.
    let json_headers = [
        ("content-type", "application/x-amz-json-1.0"),
        ("x-amz-target", "AmazonSQS.ListQueues"),
    ];
    let mut other_service = raw::build(
        Method::POST,
        &format!("{endpoint}/"),
        &json_headers,
        b"{}".to_vec(),
        false,
    );
    raw::sign_as(
        &mut other_service,
        "kinesis",
        ACCESS_KEY,
        SECRET_KEY,
        SystemTime::now(),
        SigningSettings::default(),
    );
    let resp = raw::send(other_service).await.expect("send");
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert_eq!(
        resp.header("x-amzn-query-error"),
        Some("SignatureDoesNotMatch;Sender"),
        "{}",
        resp.body
    );

    // The audit log names every refusal.
    let log = broker.log();
    assert!(log.contains("request refused: signature"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_calls_are_verified_too_and_refused_in_kinesis_shape() {
    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    // The SDK-signed helper uses the known test key: accepted.
    let ok_resp = sluice_tests::kinesis::json(&endpoint, "ListStreams", &serde_json::json!({})).await;
    assert_eq!(ok_resp.status, 200, "{}", ok_resp.body);

    let call = |secret: &'static str| {
        let mut req = raw::build(
            Method::POST,
            &format!("{endpoint}/"),
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "Kinesis_20131202.ListStreams"),
            ],
            b"{}".to_vec(),
            false,
        );
        raw::sign_as(
            &mut req,
            "kinesis",
            ACCESS_KEY,
            secret,
            SystemTime::now(),
            SigningSettings::default(),
        );
        req
    };
    let resp = raw::send(call("wrong-secret")).await.expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.json()["__type"], "InvalidSignatureException", "{}", resp.body);

    let unsigned = raw::build(
        Method::POST,
        &format!("{endpoint}/"),
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "Kinesis_20131202.ListStreams"),
        ],
        b"{}".to_vec(),
        false,
    );
    let resp = raw::send(unsigned).await.expect("send");
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert_eq!(
        resp.json()["__type"],
        "MissingAuthenticationTokenException",
        "{}",
        resp.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_policies_allow_and_deny_actions_on_resources() {
    use aws_sdk_kinesis::primitives::Blob;

    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let admin = broker.sqs().await;
    let orders = create_queue(&admin, "orders", &[]).await;
    let secret = create_queue(&admin, "orders-secret", &[]).await;
    let other = create_queue(&admin, "other", &[]).await;
    let kinesis_admin = sluice_tests::kinesis::kinesis_client(&endpoint).await;
    sluice_tests::kinesis::create_stream(&kinesis_admin, "clicks", 1).await;
    sluice_tests::kinesis::create_stream(&kinesis_admin, "payments", 1).await;

    let limited = sqs_client_with_key(&endpoint, LIMITED_KEY, LIMITED_SECRET, None).await;
    ok(
        limited
            .send_message()
            .queue_url(&orders)
            .message_body("ok")
            .send()
            .await,
        "SendMessage allowed by sqs:Send* on orders*",
    );
    ok(limited.get_queue_url().queue_name("orders").send().await, "GetQueueUrl");
    expect_code(
        limited.receive_message().queue_url(&orders).send().await,
        "AccessDenied",
    );
    expect_code(
        limited.send_message().queue_url(&other).message_body("x").send().await,
        "AccessDenied",
    );
    let denied = expect_code(
        limited.send_message().queue_url(&secret).message_body("x").send().await,
        "AccessDenied",
    );
    assert!(
        format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&denied)).contains("sqs:SendMessage"),
        "the message names the action"
    );
    expect_code(limited.list_queues().send().await, "AccessDenied");
    // Nothing was written by the refused calls.
    let counts = sluice_tests::sqs::counts(&admin, &other).await;
    assert_eq!(counts.0, 0);

    // Kinesis: the same key may put to clicks only, with AccessDeniedException otherwise.
    let put = |stream: &'static str| {
        let mut req = raw::build(
            Method::POST,
            &format!("{endpoint}/"),
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "Kinesis_20131202.PutRecord"),
            ],
            serde_json::json!({"StreamName": stream, "PartitionKey": "k", "Data": "eA=="})
                .to_string()
                .into_bytes(),
            false,
        );
        raw::sign_as(
            &mut req,
            "kinesis",
            LIMITED_KEY,
            LIMITED_SECRET,
            SystemTime::now(),
            SigningSettings::default(),
        );
        req
    };
    let resp = raw::send(put("clicks")).await.expect("send");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let resp = raw::send(put("payments")).await.expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.json()["__type"], "AccessDeniedException", "{}", resp.body);
    // The admin key (no policy) can do everything.
    ok(
        kinesis_admin
            .put_record()
            .stream_name("payments")
            .partition_key("k")
            .data(Blob::new("x"))
            .send()
            .await,
        "PutRecord by a key without a policy",
    );
    assert!(
        broker.log().contains("request refused: policy"),
        "audit line for denials"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_account_calls_need_the_resource_policy() {
    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let owner = broker.sqs().await;
    let shared = create_queue(&owner, "shared", &[]).await;
    assert!(shared.contains("/000000000000/"), "{shared}");
    let other = sqs_client_with_key(&endpoint, OTHER_KEY, OTHER_SECRET, None).await;

    // Account 111111111111 names account 000000000000's queue by URL: refused...
    expect_code(
        other.send_message().queue_url(&shared).message_body("x").send().await,
        "AccessDenied",
    );
    // ...until the owner's queue policy allows it (AddPermission writes that policy).
    ok(
        owner
            .add_permission()
            .queue_url(&shared)
            .label("let-111-send")
            .aws_account_ids("111111111111")
            .actions("SendMessage")
            .send()
            .await,
        "AddPermission",
    );
    ok(
        other
            .send_message()
            .queue_url(&shared)
            .message_body("from 111")
            .send()
            .await,
        "cross-account SendMessage allowed by the queue policy",
    );
    expect_code(other.receive_message().queue_url(&shared).send().await, "AccessDenied");
    let got = sluice_tests::sqs::receive(&owner, &shared, 10, 1, None).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body(), Some("from 111"));

    // Kinesis: a StreamARN of another account needs the stream's resource policy.
    let kinesis_owner = sluice_tests::kinesis::kinesis_client(&endpoint).await;
    sluice_tests::kinesis::create_stream(&kinesis_owner, "feed", 1).await;
    let stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/feed";
    let put = || {
        let mut req = raw::build(
            Method::POST,
            &format!("{endpoint}/"),
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "Kinesis_20131202.PutRecord"),
            ],
            serde_json::json!({"StreamARN": stream_arn, "PartitionKey": "k", "Data": "eA=="})
                .to_string()
                .into_bytes(),
            false,
        );
        raw::sign_as(
            &mut req,
            "kinesis",
            OTHER_KEY,
            OTHER_SECRET,
            SystemTime::now(),
            SigningSettings::default(),
        );
        req
    };
    let resp = raw::send(put()).await.expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.json()["__type"], "AccessDeniedException", "{}", resp.body);
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": "kinesis:PutRecord",
            "Resource": stream_arn,
        }]
    })
    .to_string();
    ok(
        kinesis_owner
            .put_resource_policy()
            .resource_arn(stream_arn)
            .policy(policy)
            .send()
            .await,
        "PutResourcePolicy",
    );
    let resp = raw::send(put()).await.expect("send");
    assert_eq!(
        resp.status, 200,
        "cross-account PutRecord allowed by the stream policy: {}",
        resp.body
    );
    assert!(broker.log().contains("request refused: policy"));
    assert!(broker.log().contains("NoResourceAllow"), "the audit line says why");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_calls_are_verified_and_authorized() {
    use sluice_tests::sns::{sns_client, sns_client_with_key};

    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let admin = sns_client(&endpoint).await;
    let alerts = ok(admin.create_topic().name("alerts").send().await, "CreateTopic alerts");
    let alerts = alerts.topic_arn().expect("TopicArn").to_string();
    let audit = ok(admin.create_topic().name("audit").send().await, "CreateTopic audit");
    let audit = audit.topic_arn().expect("TopicArn").to_string();

    let limited = sns_client_with_key(&endpoint, LIMITED_KEY, LIMITED_SECRET).await;
    ok(
        limited.publish().topic_arn(&alerts).message("allowed").send().await,
        "Publish allowed by sns:Publish on alerts",
    );
    expect_code(
        limited.publish().topic_arn(&audit).message("x").send().await,
        "AuthorizationError",
    );
    expect_code(limited.create_topic().name("mine").send().await, "AuthorizationError");
    expect_code(limited.list_topics().send().await, "AuthorizationError");

    // Another account may not publish to this account's topic without a policy naming it.
    let other = sns_client_with_key(&endpoint, OTHER_KEY, OTHER_SECRET).await;
    expect_code(
        other.publish().topic_arn(&alerts).message("x").send().await,
        "AuthorizationError",
    );
    // Unknown keys and wrong secrets are refused before any SNS code runs.
    let stranger = sns_client_with_key(&endpoint, "AKIDUNKNOWN", "nope").await;
    expect_code(stranger.list_topics().send().await, "InvalidClientTokenId");
    let wrong = sns_client_with_key(&endpoint, ACCESS_KEY, "wrong-secret").await;
    expect_code(wrong.list_topics().send().await, "SignatureDoesNotMatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_policies_count_within_the_account_and_conditions_are_evaluated() {
    use aws_sdk_sqs::types::QueueAttributeName;

    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let admin = broker.sqs().await;
    let granted = create_queue(&admin, "granted", &[]).await;
    let fenced = create_queue(&admin, "fenced", &[]).await;
    let set_policy = |url: String, policy: serde_json::Value| {
        let admin = admin.clone();
        async move {
            ok(
                admin
                    .set_queue_attributes()
                    .queue_url(url)
                    .attributes(QueueAttributeName::Policy, policy.to_string())
                    .send()
                    .await,
                "SetQueueAttributes Policy",
            );
        }
    };

    // Within the account, the queue's policy can grant what the key's own policy does not.
    let limited = sqs_client_with_key(&endpoint, LIMITED_KEY, LIMITED_SECRET, None).await;
    expect_code(
        limited.receive_message().queue_url(&granted).send().await,
        "AccessDenied",
    );
    set_policy(
        granted.clone(),
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::000000000000:user/{LIMITED_KEY}")},
            "Action": "sqs:ReceiveMessage",
            "Resource": "arn:aws:sqs:us-east-1:000000000000:granted"
        }]}),
    )
    .await;
    ok(
        limited.receive_message().queue_url(&granted).send().await,
        "ReceiveMessage granted by the queue policy",
    );

    // ...and an explicit deny in it binds even the account's unrestricted key.
    set_policy(
        fenced.clone(),
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "sqs:DeleteQueue", "Resource": "*"
        }]}),
    )
    .await;
    let denied = expect_code(admin.delete_queue().queue_url(&fenced).send().await, "AccessDenied");
    assert!(
        format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&denied))
            .contains("explicit deny in a resource-based policy"),
        "{}",
        aws_sdk_sqs::error::DisplayErrorContext(&denied)
    );

    // Conditions on the key's own policy: the source address and the transport.
    let conditional = sqs_client_with_key(&endpoint, CONDITIONAL_KEY, CONDITIONAL_SECRET, None).await;
    let cond = ok(
        conditional.create_queue().queue_name("cond-q").send().await,
        "CreateQueue from 127.0.0.1 (IpAddress 127.0.0.0/8)",
    )
    .queue_url
    .expect("url");
    ok(
        conditional
            .send_message()
            .queue_url(&cond)
            .message_body("x")
            .send()
            .await,
        "SendMessage",
    );
    expect_code(conditional.delete_queue().queue_url(&cond).send().await, "AccessDenied");
    expect_code(conditional.list_queues().send().await, "AccessDenied");

    // The usual SNS-to-SQS queue policy (a service principal and an ArnEquals condition) is
    // understood and grants nothing to another account's key; a condition on the caller's
    // account does.
    let other = sqs_client_with_key(&endpoint, OTHER_KEY, OTHER_SECRET, None).await;
    set_policy(
        granted.clone(),
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-east-1:000000000000:granted",
            "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:000000000000:t"}}
        }]}),
    )
    .await;
    expect_code(
        other.send_message().queue_url(&granted).message_body("x").send().await,
        "AccessDenied",
    );
    set_policy(
        granted.clone(),
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-east-1:000000000000:granted",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": "111111111111"}}
        }]}),
    )
    .await;
    ok(
        other.send_message().queue_url(&granted).message_body("x").send().await,
        "cross-account SendMessage allowed for account 111111111111 only",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_delivers_to_another_accounts_queue_only_when_its_policy_allows_the_topic() {
    use aws_sdk_sqs::types::QueueAttributeName;
    use sluice_tests::sns::sns_client_with_key;

    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let sqs = broker.sqs().await;
    let inbox = create_queue(&sqs, "inbox", &[]).await;
    let inbox_arn = "arn:aws:sqs:us-east-1:000000000000:inbox";
    // The topic lives in account 111111111111.
    let other = sns_client_with_key(&endpoint, OTHER_KEY, OTHER_SECRET).await;
    let topic = ok(other.create_topic().name("news").send().await, "CreateTopic")
        .topic_arn()
        .expect("TopicArn")
        .to_string();
    let pending = ok(
        other
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(inbox_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await,
        "Subscribe another account's queue",
    );
    assert_eq!(pending.subscription_arn(), Some("pending confirmation"));
    // The queue's owner gets a SubscriptionConfirmation and confirms with its token.
    let confirmation = ok(
        sqs.receive_message()
            .queue_url(&inbox)
            .wait_time_seconds(2)
            .send()
            .await,
        "ReceiveMessage",
    );
    let message = confirmation.messages().first().expect("a SubscriptionConfirmation");
    let doc: serde_json::Value = serde_json::from_str(message.body().unwrap_or_default()).expect("JSON");
    assert_eq!(doc["Type"], "SubscriptionConfirmation");
    assert_eq!(doc["TopicArn"], topic.as_str());
    ok(
        sqs.delete_message()
            .queue_url(&inbox)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await,
        "DeleteMessage",
    );
    ok(
        other
            .publish()
            .topic_arn(&topic)
            .message("before confirmation")
            .send()
            .await,
        "Publish",
    );
    let sns = sluice_tests::sns::sns_client(&endpoint).await;
    ok(
        sns.confirm_subscription()
            .topic_arn(&topic)
            .token(doc["Token"].as_str().expect("Token"))
            .send()
            .await,
        "ConfirmSubscription by the queue's owner",
    );
    ok(
        other.publish().topic_arn(&topic).message("refused").send().await,
        "Publish",
    );
    // The usual policy: the SNS service, for this topic only.
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": inbox_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}}
    }]});
    ok(
        sqs.set_queue_attributes()
            .queue_url(&inbox)
            .attributes(QueueAttributeName::Policy, policy.to_string())
            .send()
            .await,
        "SetQueueAttributes Policy",
    );
    ok(
        other.publish().topic_arn(&topic).message("delivered").send().await,
        "Publish",
    );
    let received = ok(
        sqs.receive_message()
            .queue_url(&inbox)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await,
        "ReceiveMessage",
    );
    let bodies: Vec<&str> = received.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(
        bodies,
        vec!["delivered"],
        "only the publish after both the confirmation and the policy arrives"
    );
    assert!(broker.log().contains("sns delivery refused by the queue's policy"));

    // The queue's owner subscribing its own queue (the topic's policy lets it) needs no
    // confirmation.
    create_queue(&sqs, "inbox2", &[]).await;
    ok(
        other
            .add_permission()
            .topic_arn(&topic)
            .label("partner")
            .aws_account_id("000000000000")
            .action_name("Subscribe")
            .send()
            .await,
        "AddPermission",
    );
    let sns = sluice_tests::sns::sns_client(&endpoint).await;
    let own = ok(
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint("arn:aws:sqs:us-east-1:000000000000:inbox2")
            .send()
            .await,
        "Subscribe one's own queue to another account's topic",
    );
    assert!(
        own.subscription_arn().is_some_and(|a| a.starts_with(&topic)),
        "confirmed at once: {own:?}"
    );
}

/// A Kinesis JSON 1.1 call signed with `key`.
fn kinesis_as(
    endpoint: &str,
    action: &str,
    body: serde_json::Value,
    key: &str,
    secret: &str,
) -> http::Request<Vec<u8>> {
    let target = format!("Kinesis_20131202.{action}");
    let mut req = raw::build(
        Method::POST,
        &format!("{endpoint}/"),
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", &target),
        ],
        body.to_string().into_bytes(),
        false,
    );
    raw::sign_as(
        &mut req,
        "kinesis",
        key,
        secret,
        SystemTime::now(),
        SigningSettings::default(),
    );
    req
}

/// Issue 14: a ListShards call with a NextToken names no stream; it is authorized against the
/// stream the (sealed) token names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shards_pages_are_authorized_against_the_stream_their_token_names() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let kinesis = sluice_tests::kinesis::kinesis_client(&endpoint).await;
    sluice_tests::kinesis::create_stream(&kinesis, "paged", 3).await;

    // The owner pages through every shard, one per page.
    let first = ok(
        kinesis.list_shards().stream_name("paged").max_results(1).send().await,
        "ListShards, first page",
    );
    let mut seen: Vec<String> = first.shards().iter().map(|s| s.shard_id().to_string()).collect();
    let mut token = first.next_token().map(str::to_string);
    while let Some(t) = token {
        assert!(seen.len() < 3, "more pages than shards: {seen:?}");
        let page = ok(
            kinesis.list_shards().next_token(&t).max_results(1).send().await,
            "ListShards with a NextToken",
        );
        seen.extend(page.shards().iter().map(|s| s.shard_id().to_string()));
        token = page.next_token().map(str::to_string);
    }
    assert_eq!(seen.len(), 3, "{seen:?}");

    let token = first.next_token().expect("NextToken").to_string();
    let call = |key: &str, secret: &str, token: &str| {
        kinesis_as(
            &endpoint,
            "ListShards",
            serde_json::json!({"NextToken": token}),
            key,
            secret,
        )
    };
    // Another account's key holding the token: the stream has no policy letting it in.
    let resp = raw::send(call(OTHER_KEY, OTHER_SECRET, &token)).await.expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.json()["__type"], "AccessDeniedException", "{}", resp.body);
    // A key of the same account whose policy does not allow kinesis:ListShards.
    let resp = raw::send(call(LIMITED_KEY, LIMITED_SECRET, &token))
        .await
        .expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.json()["__type"], "AccessDeniedException", "{}", resp.body);
    assert!(
        resp.body.contains("stream/paged"),
        "the refusal names the token's stream: {}",
        resp.body
    );

    // A token edited to name another stream is refused as invalid, not read.
    let mut bytes = URL_SAFE_NO_PAD.decode(token.as_bytes()).expect("base64url token");
    let at = bytes
        .windows(5)
        .position(|w| w == b"paged")
        .expect("the token's state names its stream");
    bytes[at + 4] = b'x';
    let edited = URL_SAFE_NO_PAD.encode(&bytes);
    let resp = raw::send(call(ACCESS_KEY, SECRET_KEY, &edited)).await.expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.json()["__type"], "InvalidArgumentException", "{}", resp.body);
    let resp = raw::send(call(ACCESS_KEY, SECRET_KEY, "bm90LWEtdG9rZW4"))
        .await
        .expect("send");
    assert_eq!(resp.json()["__type"], "InvalidArgumentException", "{}", resp.body);
}

/// A GetRecords names its stream only through the shard iterator (the SDKs send no StreamARN),
/// so it is authorized against the stream the iterator points into: another account's key
/// holding a leaked iterator is refused, and a key allowed to read one stream can read it.
/// Before, such calls were checked against "*", which let the first through and refused the
/// second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_records_is_authorized_against_the_stream_its_iterator_names() {
    use aws_sdk_kinesis::primitives::Blob;
    use aws_sdk_kinesis::types::ShardIteratorType;
    use sluice_tests::kinesis::{create_stream, iterator, kinesis_client, shard_ids};

    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let owner = kinesis_client(&endpoint).await;
    let mut iterators = Vec::new();
    for name in ["clicks", "payments"] {
        create_stream(&owner, name, 1).await;
        ok(
            owner
                .put_record()
                .stream_name(name)
                .partition_key("k")
                .data(Blob::new(name.as_bytes()))
                .send()
                .await,
            "PutRecord",
        );
        let shard = shard_ids(&owner, name).await.remove(0);
        iterators.push(iterator(&owner, name, &shard, ShardIteratorType::TrimHorizon).await);
    }
    let get = |key: &str, secret: &str, it: &str| {
        kinesis_as(
            &endpoint,
            "GetRecords",
            serde_json::json!({"ShardIterator": it}),
            key,
            secret,
        )
    };

    // The limited key may read clicks, and only clicks.
    let resp = raw::send(get(LIMITED_KEY, LIMITED_SECRET, &iterators[0]))
        .await
        .expect("send");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["Records"][0]["Data"], "Y2xpY2tz", "{}", resp.body);
    let resp = raw::send(get(LIMITED_KEY, LIMITED_SECRET, &iterators[1]))
        .await
        .expect("send");
    assert_eq!(resp.json()["__type"], "AccessDeniedException", "{}", resp.body);
    assert!(
        resp.body.contains("stream/payments"),
        "names the iterator's stream: {}",
        resp.body
    );

    // Another account's key with the owner's iterator: no resource policy lets it in.
    let resp = raw::send(get(OTHER_KEY, OTHER_SECRET, &iterators[0]))
        .await
        .expect("send");
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.json()["__type"], "AccessDeniedException", "{}", resp.body);

    // A garbled iterator is still an InvalidArgumentException, whoever asks.
    let resp = raw::send(get(OTHER_KEY, OTHER_SECRET, "not-an-iterator"))
        .await
        .expect("send");
    assert_eq!(resp.json()["__type"], "InvalidArgumentException", "{}", resp.body);
}

/// The owner of a subscription to another account's topic may unsubscribe it without the
/// topic's policy granting sns:Unsubscribe (AWS: the topic's or the subscription's owner).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_unsubscribes_from_another_accounts_topic() {
    use sluice_tests::sns::{sns_client, sns_client_with_key};

    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let owner = sns_client(&endpoint).await;
    let topic = ok(owner.create_topic().name("shared").send().await, "CreateTopic")
        .topic_arn()
        .expect("TopicArn")
        .to_string();
    ok(
        owner
            .add_permission()
            .topic_arn(&topic)
            .label("partner-subscribes")
            .aws_account_id("111111111111")
            .action_name("Subscribe")
            .send()
            .await,
        "AddPermission Subscribe",
    );
    let partner_sqs = sqs_client_with_key(&endpoint, OTHER_KEY, OTHER_SECRET, None).await;
    create_queue(&partner_sqs, "partner-inbox", &[]).await;
    let partner = sns_client_with_key(&endpoint, OTHER_KEY, OTHER_SECRET).await;
    let subscription = ok(
        partner
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint("arn:aws:sqs:us-east-1:111111111111:partner-inbox")
            .send()
            .await,
        "Subscribe the partner's own queue",
    )
    .subscription_arn()
    .expect("SubscriptionArn")
    .to_string();

    ok(
        partner.unsubscribe().subscription_arn(&subscription).send().await,
        "Unsubscribe by the subscription's owner",
    );
    let listed = ok(
        owner.list_subscriptions_by_topic().topic_arn(&topic).send().await,
        "ListSubscriptionsByTopic",
    );
    assert!(listed.subscriptions().is_empty(), "{listed:?}");
}

/// The UnsubscribeURL of a subscription: a plain, unsigned GET.
fn unsubscribe_url(endpoint: &str, subscription_arn: &str) -> String {
    format!(
        "{endpoint}/?{}",
        raw::form_encode(&[("Action", "Unsubscribe"), ("SubscriptionArn", subscription_arn)])
    )
}

/// Issue 14: AuthenticateOnUnsubscribe is enforced as AWS documents it. A subscription
/// confirmed with it by a signed request (and every queue subscription) can only be deleted by
/// a signed request of the topic's or the subscription's owner; others stay open to their
/// UnsubscribeURL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticate_on_unsubscribe_refuses_unsigned_and_foreign_unsubscribes() {
    use sluice_tests::sns::{
        confirm_authenticated, pending_http_subscription, sns_client, sns_client_with_key, Receiver,
    };

    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let sns = sns_client(&endpoint).await;
    let topic = ok(sns.create_topic().name("guarded").send().await, "CreateTopic")
        .topic_arn()
        .expect("TopicArn")
        .to_string();
    let receiver = Receiver::start(0).await;

    // Confirmed by a signed ConfirmSubscription with AuthenticateOnUnsubscribe.
    let (guarded, doc) = pending_http_subscription(&sns, &topic, &receiver, "/guarded").await;
    let token = doc["Token"].as_str().expect("Token");
    assert_eq!(confirm_authenticated(&sns, &topic, &guarded, token).await, "true");

    // Its UnsubscribeURL, unsigned: refused with SNS's AuthorizationError, and it stays.
    let resp = raw::get_with_timeout(&unsubscribe_url(&endpoint, &guarded), Duration::from_secs(10))
        .await
        .expect("GET UnsubscribeURL");
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert_eq!(xml::value(&resp.body, "Code").as_deref(), Some("AuthorizationError"));
    assert!(
        resp.body.contains("http://sns.amazonaws.com/doc/2010-03-31/"),
        "{}",
        resp.body
    );
    let listed = ok(
        sns.list_subscriptions_by_topic().topic_arn(&topic).send().await,
        "ListSubscriptionsByTopic",
    );
    assert_eq!(listed.subscriptions().len(), 1, "{listed:?}");

    // Signed by another account that the topic's policy lets unsubscribe: still neither the
    // topic's nor the subscription's owner.
    ok(
        sns.add_permission()
            .topic_arn(&topic)
            .label("partner")
            .aws_account_id("111111111111")
            .action_name("Unsubscribe")
            .send()
            .await,
        "AddPermission",
    );
    let other = sns_client_with_key(&endpoint, OTHER_KEY, OTHER_SECRET).await;
    let refused = expect_code(
        other.unsubscribe().subscription_arn(&guarded).send().await,
        "AuthorizationError",
    );
    assert!(
        format!("{}", aws_sdk_sns::error::DisplayErrorContext(&refused)).contains("owner"),
        "{}",
        aws_sdk_sns::error::DisplayErrorContext(&refused)
    );

    // Confirmed by an unsigned GET of the SubscribeURL: AWS leaves it open to its
    // UnsubscribeURL.
    let (open, doc) = pending_http_subscription(&sns, &topic, &receiver, "/open").await;
    let confirmed = raw::get_with_timeout(
        doc["SubscribeURL"].as_str().expect("SubscribeURL"),
        Duration::from_secs(10),
    )
    .await
    .expect("GET SubscribeURL");
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let resp = raw::get_with_timeout(&unsubscribe_url(&endpoint, &open), Duration::from_secs(10))
        .await
        .expect("GET UnsubscribeURL");
    assert_eq!(resp.status, 200, "{}", resp.body);

    // A queue subscription always needs a signature to be deleted.
    let sqs = broker.sqs().await;
    create_queue(&sqs, "subscriber", &[]).await;
    let queue_sub = ok(
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint("arn:aws:sqs:us-east-1:000000000000:subscriber")
            .send()
            .await,
        "Subscribe a queue",
    )
    .subscription_arn()
    .expect("SubscriptionArn")
    .to_string();
    let resp = raw::get_with_timeout(&unsubscribe_url(&endpoint, &queue_sub), Duration::from_secs(10))
        .await
        .expect("GET UnsubscribeURL");
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert_eq!(xml::value(&resp.body, "Code").as_deref(), Some("AuthorizationError"));

    // The owners, signed, may.
    ok(
        sns.unsubscribe().subscription_arn(&guarded).send().await,
        "Unsubscribe by the owner",
    );
    ok(
        sns.unsubscribe().subscription_arn(&queue_sub).send().await,
        "Unsubscribe the queue by its owner",
    );
    let listed = ok(
        sns.list_subscriptions_by_topic().topic_arn(&topic).send().await,
        "ListSubscriptionsByTopic",
    );
    assert!(listed.subscriptions().is_empty(), "{listed:?}");
    assert!(broker.log().contains("request refused: unauthenticated unsubscribe"));
}

/// Issue 14: StartMessageMoveTask needs sqs:SendMessage on the destination (and on the original
/// sources without one) besides the source's permissions, and CancelMessageMoveTask is
/// authorized against the source queue its handle names, so another account can neither move
/// messages into a queue it may not write nor cancel a task it may not touch. A tampered handle
/// gets an AWS error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_move_tasks_are_authorized_on_every_queue_they_touch() {
    use aws_sdk_sqs::types::QueueAttributeName as Q;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    let (broker, _dir) = verifying_broker().await;
    let endpoint = broker.endpoint();
    let owner = broker.sqs().await;
    let arn = |name: &str| format!("arn:aws:sqs:us-east-1:000000000000:{name}");
    let dlq = create_queue(&owner, "move-dlq", &[]).await;
    let redrive = serde_json::json!({"deadLetterTargetArn": arn("move-dlq"), "maxReceiveCount": 1}).to_string();
    let src = create_queue(&owner, "move-src", &[(Q::RedrivePolicy, &redrive)]).await;
    let dest = create_queue(&owner, "move-dest", &[]).await;
    sluice_tests::sqs::dead_letter(&owner, &src, &dlq, 8).await;
    let set_policy = |url: String, actions: serde_json::Value, name: &str| {
        let owner = owner.clone();
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "111111111111"},
            "Action": actions,
            "Resource": arn(name),
        }]});
        async move {
            ok(
                owner
                    .set_queue_attributes()
                    .queue_url(url)
                    .attributes(Q::Policy, policy.to_string())
                    .send()
                    .await,
                "SetQueueAttributes Policy",
            );
        }
    };
    // Account 111111111111 may redrive the dead-letter queue, but not cancel its tasks.
    set_policy(
        dlq.clone(),
        serde_json::json!([
            "sqs:StartMessageMoveTask",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ListMessageMoveTasks"
        ]),
        "move-dlq",
    )
    .await;
    let other = sqs_client_with_key(&endpoint, OTHER_KEY, OTHER_SECRET, None).await;

    // Into a destination it may not send to: refused, and nothing moved.
    let refused = expect_code(
        other
            .start_message_move_task()
            .source_arn(arn("move-dlq"))
            .destination_arn(arn("move-dest"))
            .send()
            .await,
        "AccessDenied",
    );
    assert!(
        format!("{}", aws_sdk_sqs::error::DisplayErrorContext(&refused)).contains("sqs:SendMessage"),
        "{}",
        aws_sdk_sqs::error::DisplayErrorContext(&refused)
    );
    // Back to the original source, which it may not send to either.
    expect_code(
        other.start_message_move_task().source_arn(arn("move-dlq")).send().await,
        "AccessDenied",
    );
    assert_eq!(sluice_tests::sqs::counts(&owner, &dlq).await.0, 8, "nothing moved");
    let tasks = ok(
        owner.list_message_move_tasks().source_arn(arn("move-dlq")).send().await,
        "ListMessageMoveTasks",
    );
    assert!(tasks.results().is_empty(), "no task was started: {tasks:?}");

    // Once the destination's policy lets it send, the task starts (slowly, to stay running).
    set_policy(dest.clone(), serde_json::json!("sqs:SendMessage"), "move-dest").await;
    let handle = ok(
        other
            .start_message_move_task()
            .source_arn(arn("move-dlq"))
            .destination_arn(arn("move-dest"))
            .max_number_of_messages_per_second(1)
            .send()
            .await,
        "StartMessageMoveTask with both queues' permission",
    )
    .task_handle()
    .expect("TaskHandle")
    .to_string();

    // Cancelling is authorized against the source queue the handle names.
    expect_code(
        other.cancel_message_move_task().task_handle(&handle).send().await,
        "AccessDenied",
    );
    let running = ok(
        owner.list_message_move_tasks().source_arn(arn("move-dlq")).send().await,
        "ListMessageMoveTasks",
    );
    assert_eq!(running.results().first().and_then(|t| t.status()), Some("RUNNING"));

    // Tampered handles: one pointed at a queue of the caller's own account finds no task; one
    // naming no queue, or not a handle at all, is refused the same way; none crashes anything.
    let doc: serde_json::Value =
        serde_json::from_slice(&STANDARD.decode(&handle).expect("base64 handle")).expect("JSON handle");
    create_queue(&other, "mine", &[]).await;
    let retargeted = STANDARD.encode(
        serde_json::json!({"taskId": doc["taskId"], "sourceArn": "arn:aws:sqs:us-east-1:111111111111:mine"})
            .to_string(),
    );
    let wildcard = STANDARD.encode(serde_json::json!({"taskId": doc["taskId"], "sourceArn": "*"}).to_string());
    for tampered in [
        retargeted,
        wildcard,
        "not a handle".to_string(),
        STANDARD.encode("[1,2]"),
    ] {
        expect_code(
            other.cancel_message_move_task().task_handle(&tampered).send().await,
            "ResourceNotFoundException",
        );
    }

    // The owner cancels its task.
    ok(
        owner.cancel_message_move_task().task_handle(&handle).send().await,
        "CancelMessageMoveTask by the owner",
    );
}

/// Issue 14: `POST /admin/checkpoint` on the API port needs a signed key of the broker's
/// account allowed `sluice:Checkpoint`; the probes stay open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_checkpoint_needs_an_authorized_key_and_probes_stay_open() {
    let backups = tempfile::tempdir().expect("tempdir");
    let backups_arg = backups.path().to_string_lossy().to_string();
    let (broker, _dir) = verifying_broker_with(&["--checkpoint-dir", &backups_arg]).await;
    let endpoint = broker.endpoint();
    for probe in ["/health", "/ready", "/metrics"] {
        let resp = raw::get_with_timeout(&format!("{endpoint}{probe}"), Duration::from_secs(10))
            .await
            .expect("GET probe");
        assert_eq!(resp.status, 200, "{probe}: {}", resp.body);
    }
    let checkpoint = |signer: Option<(&str, &str, &str)>| {
        let mut req = raw::build(
            Method::POST,
            &format!("{endpoint}/admin/checkpoint"),
            &[],
            Vec::new(),
            false,
        );
        if let Some((service, key, secret)) = signer {
            raw::sign_as(
                &mut req,
                service,
                key,
                secret,
                SystemTime::now(),
                SigningSettings::default(),
            );
        }
        req
    };
    let refused = |resp: &sluice_tests::RawResponse, code: &str| {
        assert_eq!(resp.status, 403, "{}", resp.body);
        assert_eq!(resp.json()["code"], code, "{}", resp.body);
    };
    let resp = raw::send(checkpoint(None)).await.expect("send");
    refused(&resp, "MissingAuthenticationToken");
    let resp = raw::send(checkpoint(Some(("sluice", ACCESS_KEY, "wrong"))))
        .await
        .expect("send");
    refused(&resp, "SignatureDoesNotMatch");
    // A signature made for an AWS service does not open admin routes.
    let resp = raw::send(checkpoint(Some(("sqs", ACCESS_KEY, SECRET_KEY))))
        .await
        .expect("send");
    refused(&resp, "SignatureDoesNotMatch");
    // A tenant's key (another account) and a restricted key of the broker's account: no.
    let resp = raw::send(checkpoint(Some(("sluice", OTHER_KEY, OTHER_SECRET))))
        .await
        .expect("send");
    refused(&resp, "AccessDenied");
    let resp = raw::send(checkpoint(Some(("sluice", LIMITED_KEY, LIMITED_SECRET))))
        .await
        .expect("send");
    refused(&resp, "AccessDenied");
    assert_eq!(
        std::fs::read_dir(backups.path()).map(|d| d.count()).unwrap_or(0),
        0,
        "no checkpoint was written"
    );
    // The broker account's unrestricted key: written.
    let resp = raw::send(checkpoint(Some(("sluice", ACCESS_KEY, SECRET_KEY))))
        .await
        .expect("send");
    assert_eq!(resp.status, 200, "{}", resp.body);
    let path = resp.json()["path"].as_str().expect("path").to_string();
    assert!(std::path::Path::new(&path).join("CURRENT").is_file(), "{path}");
}

/// Issue 14: an SNS request refused before its body is decoded (signature, size) is answered
/// in SNS's error shape, which the SNS SDK parses, not in SQS's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_requests_refused_before_decoding_get_sns_errors() {
    use aws_sdk_sns::error::ProvideErrorMetadata;

    let (broker, _dir) = verifying_broker_with(&["--max-body-bytes", "4096"]).await;
    let endpoint = broker.endpoint();
    let sns_namespace = "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">";
    let form = |message: &str| {
        raw::form_encode(&[
            ("Action", "Publish"),
            ("TopicArn", "arn:aws:sns:us-east-1:000000000000:t"),
            ("Message", message),
            ("Version", "2010-03-31"),
        ])
    };
    let headers = [("content-type", raw::FORM_CONTENT_TYPE)];

    // Unsigned.
    let unsigned = raw::build(
        Method::POST,
        &format!("{endpoint}/"),
        &headers,
        form("x").into_bytes(),
        false,
    );
    let resp = raw::send(unsigned).await.expect("send");
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert!(resp.body.contains(sns_namespace), "{}", resp.body);
    assert_eq!(
        xml::value(&resp.body, "Code").as_deref(),
        Some("MissingAuthenticationToken")
    );

    // Signed with a wrong secret.
    let mut wrong = raw::build(
        Method::POST,
        &format!("{endpoint}/"),
        &headers,
        form("x").into_bytes(),
        false,
    );
    raw::sign_as(
        &mut wrong,
        "sns",
        ACCESS_KEY,
        "wrong",
        SystemTime::now(),
        SigningSettings::default(),
    );
    let resp = raw::send(wrong).await.expect("send");
    assert_eq!(resp.status, 403, "{}", resp.body);
    assert!(resp.body.contains(sns_namespace), "{}", resp.body);
    assert_eq!(xml::value(&resp.body, "Code").as_deref(), Some("SignatureDoesNotMatch"));

    // Signed, but over --max-body-bytes: 413 before the body is read.
    let mut large = raw::build(
        Method::POST,
        &format!("{endpoint}/"),
        &headers,
        form(&"x".repeat(8192)).into_bytes(),
        false,
    );
    raw::sign_as(
        &mut large,
        "sns",
        ACCESS_KEY,
        SECRET_KEY,
        SystemTime::now(),
        SigningSettings::default(),
    );
    let resp = raw::send(large).await.expect("send");
    assert_eq!(resp.status, 413, "{}", resp.body);
    assert!(resp.body.contains(sns_namespace), "{}", resp.body);
    assert_eq!(xml::value(&resp.body, "Code").as_deref(), Some("RequestEntityTooLarge"));

    // The SNS SDK reads the code of such an answer.
    let sns = sluice_tests::sns::sns_client_with_key(&endpoint, ACCESS_KEY, SECRET_KEY).await;
    let err = sns
        .publish()
        .topic_arn("arn:aws:sns:us-east-1:000000000000:t")
        .message("x".repeat(8192))
        .send()
        .await
        .expect_err("over the body limit");
    assert_eq!(
        err.code(),
        Some("RequestEntityTooLarge"),
        "{}",
        aws_sdk_sns::error::DisplayErrorContext(&err)
    );
}
