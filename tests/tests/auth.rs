//! `--auth verify`: the broker checks SigV4 like AWS. Real SDK clients with valid keys work and
//! act for their key's account; wrong secrets, unknown keys, missing or truncated signatures,
//! skewed clocks, expired presigned URLs and missing session tokens get AWS's errors.

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
         \x20       - {{ Effect: Allow, Action: \"kinesis:PutRecord\", Resource: \"arn:aws:kinesis:*:000000000000:stream/clicks\" }}\n\
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
    let broker = Broker::start_with(&["--auth", "verify", "--credentials", &path]).await;
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
