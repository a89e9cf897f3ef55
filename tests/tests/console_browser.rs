//! The web console in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/chromium` on first use) driven over WebDriver against
//! real brokers, the way a person uses the page: find a queue, peek at its messages (and check
//! with the SDK that the peek changed no receive count), redrive a dead-letter queue, sign in
//! under `--auth verify` (a wrong secret refused, a denied queue not shown), and browse a
//! stream from a timestamp. The JSON endpoints the page calls are tested on their own in
//! `console.rs`, `console_topics.rs` and `console_streams.rs`.
//!
//! `SLUICE_CONSOLE_SCREENSHOTS=<folder>` saves a screenshot of each page the tests visit there
//! (docs/console.md's pictures come from `SLUICE_CONSOLE_SCREENSHOTS=docs/console`).

mod browser;

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use browser::Browser;
use serde_json::{json, Value};
use sluice_tests::sqs::{create_queue, ok};
use sluice_tests::{sqs_client, Broker};

/// How long a page may take to show what a step waits for (a 2-core machine running a build).
const PAGE_WAIT: Duration = Duration::from_secs(20);

/// Saves a screenshot named `name` when `SLUICE_CONSOLE_SCREENSHOTS` names a folder.
async fn screenshot(browser: &Browser, name: &str) {
    let Some(dir) = std::env::var_os("SLUICE_CONSOLE_SCREENSHOTS") else {
        return;
    };
    let mut dir = PathBuf::from(dir);
    if dir.is_relative() {
        // Relative to the repository, not to the test's working folder (tests/).
        dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    }
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    browser.screenshot(&dir.join(format!("{name}.png"))).await;
}

/// Polls `js` (a function body returning JSON) until `done` accepts its result; the result.
async fn wait_eval(browser: &Browser, js: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + PAGE_WAIT;
    loop {
        let value = browser.eval(js).await;
        if done(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{js}` still gives {value} after {PAGE_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The receive counts the messages table shows, in its order.
const RECEIVE_COUNTS: &str =
    "return [...document.querySelectorAll('#messages-table tr.message-row td.receive-count')].map(td => td.textContent)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_is_found_and_peeked_without_counting_a_receive() {
    let broker = Broker::start().await;
    let sqs = sqs_client(&broker.endpoint()).await;
    let orders = create_queue(&sqs, "orders", &[]).await;
    create_queue(&sqs, "payments", &[]).await;
    for body in [r#"{"id":7,"item":"book","tags":["a","b"]}"#, "plain text, not JSON"] {
        ok(
            sqs.send_message().queue_url(&orders).message_body(body).send().await,
            "SendMessage",
        );
    }

    let browser = Browser::start().await;
    let dir = browser.dir().to_path_buf();
    browser.goto(&format!("{}/console", broker.endpoint())).await;
    browser
        .wait_for("#queues-table tr[data-queue='payments']", PAGE_WAIT)
        .await;
    let visible = browser
        .wait_text("#queues-table tr[data-queue='orders']", "orders", PAGE_WAIT)
        .await;
    assert!(
        visible.contains('2'),
        "the overview counts two visible messages: {visible:?}"
    );
    screenshot(&browser, "overview").await;

    // Filtering leaves only the queue asked for.
    browser.fill("#queue-filter", "ord").await;
    wait_eval(
        &browser,
        "return [...document.querySelectorAll('#queues-table tbody tr[data-queue]')].map(r => r.getAttribute('data-queue'))",
        |names| names == &json!(["orders"]),
    )
    .await;
    browser.click("#queues-table tr[data-queue='orders'] a").await;
    browser.wait_text("#queue-name", "orders", PAGE_WAIT).await;
    let counts = wait_eval(&browser, RECEIVE_COUNTS, |v| v.as_array().is_some_and(|a| a.len() == 2)).await;
    assert_eq!(counts, json!(["0", "0"]), "nobody has received them");

    // Opening the JSON message shows it pretty-printed.
    browser.click("#messages-table tr.message-row").await;
    let pretty = browser
        .wait_text("#message-detail pre.body", "\"item\": \"book\"", PAGE_WAIT)
        .await;
    assert!(pretty.contains("\n  \"tags\": ["), "indented: {pretty:?}");
    screenshot(&browser, "queue").await;

    // Reloading the messages (a second peek) still shows no receive.
    browser.click("#messages-refresh").await;
    browser.click("#messages-refresh").await;
    let counts = wait_eval(&browser, RECEIVE_COUNTS, |v| v.as_array().is_some_and(|a| a.len() == 2)).await;
    assert_eq!(counts, json!(["0", "0"]));

    // What a consumer sees: both visible, and each one's first receive is its first.
    let attrs = ok(
        sqs.get_queue_attributes()
            .queue_url(&orders)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await,
        "GetQueueAttributes",
    );
    let attr = |name: QueueAttributeName| attrs.attributes().and_then(|a| a.get(&name)).cloned();
    assert_eq!(
        attr(QueueAttributeName::ApproximateNumberOfMessages).as_deref(),
        Some("2")
    );
    assert_eq!(
        attr(QueueAttributeName::ApproximateNumberOfMessagesNotVisible).as_deref(),
        Some("0")
    );
    let received = ok(
        sqs.receive_message()
            .queue_url(&orders)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await,
        "ReceiveMessage",
    );
    let counts: Vec<_> = received
        .messages()
        .iter()
        .map(|m| {
            m.attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .cloned()
        })
        .collect();
    assert_eq!(counts, vec![Some("1".to_string()); 2], "the peeks were not receives");

    // The page shows the SDK's receive once it looks again.
    browser.click("#messages-refresh").await;
    wait_eval(&browser, RECEIVE_COUNTS, |v| v == &json!(["1", "1"])).await;

    // On a phone the page still fits its width.
    browser.set_window_size(390, 844).await;
    browser.goto(&format!("{}/console#/", broker.endpoint())).await;
    browser
        .wait_for("#queues-table tr[data-queue='orders']", PAGE_WAIT)
        .await;
    let overflow = browser
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    assert_eq!(overflow, json!(0), "no sideways scrolling at 390 px");
    screenshot(&browser, "phone").await;

    // Chromium and chromedriver go with the Browser.
    drop(browser);
    assert!(!dir.exists(), "the browser's folder is removed when it drops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_queue_is_redriven_from_its_page() {
    let broker = Broker::start().await;
    let sqs = sqs_client(&broker.endpoint()).await;
    let dlq = create_queue(&sqs, "jobs-dlq", &[]).await;
    let dlq_arn = "arn:aws:sqs:us-east-1:000000000000:jobs-dlq";
    let policy = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}).to_string();
    let jobs = create_queue(&sqs, "jobs", &[(QueueAttributeName::RedrivePolicy, policy.as_str())]).await;
    for i in 0..3 {
        ok(
            sqs.send_message()
                .queue_url(&jobs)
                .message_body(format!("job {i}"))
                .send()
                .await,
            "SendMessage",
        );
    }
    // Each message is received once (visibility 0: back at once) and moves to the DLQ when a
    // second receive would exceed maxReceiveCount.
    let mut moved = 0;
    for _ in 0..50 {
        ok(
            sqs.receive_message()
                .queue_url(&jobs)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .send()
                .await,
            "ReceiveMessage",
        );
        moved = visible(&sqs, &dlq).await;
        if moved == 3 {
            break;
        }
    }
    assert_eq!(moved, 3, "all three reached the dead-letter queue");

    let browser = Browser::start().await;
    browser
        .goto(&format!("{}/console#/queues/jobs-dlq", broker.endpoint()))
        .await;
    browser.wait_text("#dlq-sources", "jobs", PAGE_WAIT).await;
    browser.click("#redrive").await;
    browser.wait_text("#move-tasks", "COMPLETED", PAGE_WAIT).await;
    let progress = browser.text("#move-tasks .task-progress").await;
    assert!(progress.starts_with("3 "), "three moved: {progress:?}");
    screenshot(&browser, "redrive").await;
    assert_eq!(visible(&sqs, &jobs).await, 3, "back in the source queue");
    assert_eq!(visible(&sqs, &dlq).await, 0);
}

/// A queue's ApproximateNumberOfMessages.
async fn visible(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let attrs = ok(
        sqs.get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await,
        "GetQueueAttributes",
    );
    attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_auth_verify_a_wrong_secret_is_refused_and_a_denied_queue_is_not_shown() {
    const LIMITED_KEY: &str = "AKIDBROWSERLIMITED";
    const LIMITED_SECRET: &str = "limited-browser-secret";
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
    create_queue(&sqs, "visible-jobs", &[]).await;
    create_queue(&sqs, "hidden-jobs", &[]).await;

    let browser = Browser::start().await;
    browser.goto(&format!("{}/console", broker.endpoint())).await;
    browser.wait_for("#signin-form", PAGE_WAIT).await;
    screenshot(&browser, "signin").await;

    // A wrong secret: refused, no session.
    browser.fill("#signin-key", LIMITED_KEY).await;
    browser.fill("#signin-secret", "not-the-secret").await;
    browser.click("#signin-submit").await;
    let refused = browser
        .wait_text("#signin-error", |t: &str| !t.is_empty(), PAGE_WAIT)
        .await;
    assert!(!refused.is_empty());
    assert!(
        browser.cookies().await.iter().all(|c| c.name != "sluice_console"),
        "no session cookie after a refused sign-in"
    );
    assert_eq!(
        browser.eval("return document.getElementById('overview').hidden").await,
        json!(true)
    );

    // The right one: the overview, with only what the key may see.
    browser.fill("#signin-secret", LIMITED_SECRET).await;
    browser.click("#signin-submit").await;
    browser
        .wait_for("#queues-table tr[data-queue='visible-jobs']", PAGE_WAIT)
        .await;
    let names = browser
        .eval("return [...document.querySelectorAll('#queues-table tbody tr[data-queue]')].map(r => r.getAttribute('data-queue'))")
        .await;
    assert_eq!(names, json!(["visible-jobs"]), "hidden-jobs is not shown");
    let session = browser
        .cookies()
        .await
        .into_iter()
        .find(|c| c.name == "sluice_console")
        .expect("a session cookie");
    assert!(session.http_only, "{session:?}");
    assert_eq!(session.same_site.as_deref(), Some("Strict"));
    let script_sees = browser.eval("return document.cookie").await;
    assert!(
        !script_sees.as_str().unwrap_or_default().contains("sluice_console"),
        "page scripts cannot read the session: {script_sees}"
    );

    // Going to the denied queue by its address is refused too.
    browser
        .goto(&format!("{}/console#/queues/hidden-jobs", broker.endpoint()))
        .await;
    let denied = browser
        .wait_text("#queue-error", |t: &str| !t.is_empty(), PAGE_WAIT)
        .await;
    assert!(
        denied.to_lowercase().contains("not authorized") || denied.to_lowercase().contains("denied"),
        "{denied:?}"
    );

    // Signing out ends the session.
    browser.click("#signout").await;
    browser.wait_for("#signin-form", PAGE_WAIT).await;
    wait_eval(&browser, "return document.getElementById('signin').hidden", |v| {
        v == &json!(false)
    })
    .await;
}

/// A benchmark, not a check (no timing is asserted): how long the overview of 1,000 queues and
/// 100 streams takes to render, from the navigation's start to the last row in the page, over
/// five loads. Run it against a release broker, as docs/benchmarks.md records:
/// `SLUICE_BIN=<release>/sluice cargo test --workspace --test console_browser -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored against a release broker"]
async fn bench_the_overview_of_1000_queues_and_100_streams_renders() {
    const QUEUES: usize = 1000;
    const STREAMS: usize = 100;
    let broker = Broker::start().await;
    let sqs = sqs_client(&broker.endpoint()).await;
    let kinesis = sluice_tests::kinesis::kinesis_client(&broker.endpoint()).await;
    for i in 0..QUEUES {
        create_queue(&sqs, &format!("queue-{i:04}"), &[]).await;
    }
    for i in 0..STREAMS {
        ok(
            kinesis
                .create_stream()
                .stream_name(format!("stream-{i:03}"))
                .shard_count(1 + (i % 4) as i32)
                .send()
                .await,
            "CreateStream",
        );
    }
    let browser = Browser::start().await;
    // The page's own marks (console.js `markRendered`): when the overview's DOM was built and
    // when the frame after it was painted, in ms since the navigation began; null until then.
    let marks = format!(
        "const q = document.querySelectorAll('#queues-table tbody tr[data-queue]').length; \
         const s = document.querySelectorAll('#streams-table tbody tr[data-stream]').length; \
         const mark = (n) => {{ const m = performance.getEntriesByName(n); return m.length ? m[0].startTime : null; }}; \
         const fetch = performance.getEntriesByType('resource').find(e => e.name.endsWith('/console/api/overview')); \
         return q === {QUEUES} && s === {STREAMS} && mark('overview-painted') !== null \
           ? [fetch ? fetch.responseEnd : null, mark('overview-rendered'), mark('overview-painted')] : null;"
    );
    let mut times = Vec::new();
    for round in 0..6 {
        // A real navigation each time (not a hash change), so the clock and marks start afresh.
        browser.goto("about:blank").await;
        browser.goto(&format!("{}/console#/", broker.endpoint())).await;
        let found = wait_eval(&browser, &marks, |v| v.is_array()).await;
        let at = |i: usize| found[i].as_f64().unwrap_or(f64::NAN);
        let (fetched, rendered, painted) = (at(0), at(1), at(2));
        eprintln!(
            "round {round}: overview JSON received at {fetched:.0} ms, DOM built at {rendered:.0} ms, \
             painted at {painted:.0} ms after the navigation began"
        );
        // The first load warms Chromium's cache and the broker; it is reported, not counted.
        if round > 0 {
            times.push(painted);
        }
    }
    times.sort_by(f64::total_cmp);
    eprintln!(
        "overview of {QUEUES} queues and {STREAMS} streams painted: best {:.0} ms, median {:.0} ms, worst {:.0} ms after the navigation began",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_publish_on_a_topics_page_shows_the_subscriptions_it_matched() {
    let broker = Broker::start().await;
    let sqs = sqs_client(&broker.endpoint()).await;
    let sns = sluice_tests::sns::sns_client(&broker.endpoint()).await;
    let topic = ok(sns.create_topic().name("orders").send().await, "CreateTopic")
        .topic_arn()
        .unwrap_or_default()
        .to_string();
    let mut subscriptions = Vec::new();
    for region in ["eu", "us"] {
        let url = create_queue(&sqs, &format!("{region}-orders"), &[]).await;
        let arn = format!("arn:aws:sqs:us-east-1:000000000000:{region}-orders");
        let sub = ok(
            sns.subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(&arn)
                .attributes("FilterPolicy", json!({ "region": [region] }).to_string())
                .attributes("RawMessageDelivery", "true")
                .send()
                .await,
            "Subscribe",
        );
        subscriptions.push((url, sub.subscription_arn().unwrap_or_default().to_string()));
    }
    let [(eu_queue, eu_sub), (us_queue, us_sub)] = [subscriptions[0].clone(), subscriptions[1].clone()];

    let browser = Browser::start().await;
    browser.goto(&format!("{}/console", broker.endpoint())).await;
    browser.click("#topics-table a[href^='#/topics/']").await;
    browser.wait_text("#topic-name", "orders", PAGE_WAIT).await;
    let rows = wait_eval(
        &browser,
        "return [...document.querySelectorAll('#topic-subscriptions tr[data-subscription-arn]')].map(r => r.getAttribute('data-subscription-arn')).sort()",
        |v| v.as_array().is_some_and(|a| a.len() == 2),
    )
    .await;
    let mut expected = vec![eu_sub.clone(), us_sub.clone()];
    expected.sort();
    assert_eq!(rows, json!(expected));
    let filter = browser
        .text(&format!(
            "#topic-subscriptions tr[data-subscription-arn='{eu_sub}'] .sub-filter"
        ))
        .await;
    assert!(filter.contains("\"region\"") && filter.contains("\"eu\""), "{filter:?}");

    // Publish with region=eu: the page names the eu subscription as matched, the us one not.
    browser.fill("#publish-message", "hello from the console").await;
    browser.click("#publish-add-attribute").await;
    browser.fill("[data-attribute-row] .attr-name", "region").await;
    browser.fill("[data-attribute-row] .attr-value-input", "eu").await;
    browser.click("#publish-submit").await;
    let listed = |list: &str| {
        format!(
            "return [...document.querySelectorAll('#{list} li[data-subscription-arn]')].map(li => li.getAttribute('data-subscription-arn'))"
        )
    };
    let matched = wait_eval(&browser, &listed("publish-matched"), |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(matched, json!([eu_sub]));
    assert_eq!(browser.eval(&listed("publish-not-matched")).await, json!([us_sub]));
    browser
        .eval("document.getElementById('publish-result').scrollIntoView({block: 'end'}); return null")
        .await;
    screenshot(&browser, "topic").await;

    // And so it went: the eu queue has the message, the us queue nothing.
    let got = ok(
        sqs.receive_message()
            .queue_url(&eu_queue)
            .wait_time_seconds(2)
            .send()
            .await,
        "ReceiveMessage",
    );
    let bodies: Vec<_> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, vec!["hello from the console"]);
    assert_eq!(visible(&sqs, &us_queue).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_browsed_from_a_timestamp_and_its_lineage_drawn() {
    use aws_sdk_kinesis::primitives::Blob;
    let broker = Broker::start().await;
    let kinesis = sluice_tests::kinesis::kinesis_client(&broker.endpoint()).await;
    ok(
        kinesis
            .create_stream()
            .stream_name("clicks")
            .shard_count(1)
            .send()
            .await,
        "CreateStream",
    );
    sluice_tests::kinesis::wait_active(&kinesis, "clicks").await;
    let put = |data: String| {
        let kinesis = kinesis.clone();
        async move {
            ok(
                kinesis
                    .put_record()
                    .stream_name("clicks")
                    .partition_key("p")
                    .data(Blob::new(data))
                    .send()
                    .await,
                "PutRecord",
            );
        }
    };
    for i in 0..3 {
        put(format!("before {i}")).await;
    }
    // A whole second later than every record above, as the page's time field takes seconds.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    let from_ms = (now_ms / 1000 + 1) * 1000;
    tokio::time::sleep(Duration::from_millis(from_ms + 200 - now_ms)).await;
    put(r#"{"after":0,"page":"/home"}"#.to_string()).await;
    put("after 1".to_string()).await;

    let browser = Browser::start().await;
    browser.goto(&format!("{}/console", broker.endpoint())).await;
    browser.click("#streams-table a[href='#/streams/clicks']").await;
    browser.wait_text("#stream-name", "clicks", PAGE_WAIT).await;
    wait_eval(
        &browser,
        "return document.querySelectorAll('#records-shard option[value^=\"shardId-\"]').length",
        |v| v == &json!(1),
    )
    .await;
    // The time field is UTC (the browser runs with TZ=UTC as well, so no local time could pass
    // for it): the second after the first three records.
    let secs = from_ms / 1000;
    let stamp = browser
        .eval(&format!("return new Date({}).toISOString().slice(0, 19)", secs * 1000))
        .await;
    let stamp = stamp.as_str().expect("an ISO time").to_string();
    browser
        .eval(&format!(
            "const from = document.getElementById('records-from'); from.value = 'at_timestamp'; \
             from.dispatchEvent(new Event('change')); \
             document.getElementById('records-timestamp').value = '{stamp}'; return null"
        ))
        .await;
    browser.click("#records-load").await;
    let data = "return [...document.querySelectorAll('#records-list tbody tr[data-sequence] pre.record-data')].map(p => p.textContent)";
    let shown = wait_eval(&browser, data, |v| v.as_array().is_some_and(|a| !a.is_empty())).await;
    assert_eq!(
        shown,
        json!([r#"{"after":0,"page":"/home"}"#, "after 1"]),
        "only the records from {stamp} on"
    );

    // The JSON view pretty-prints the record that is JSON.
    browser
        .eval(
            "const v = document.getElementById('records-view'); v.value = 'json'; \
             v.dispatchEvent(new Event('change')); return null",
        )
        .await;
    let shown = wait_eval(&browser, data, |v| v[0].as_str().is_some_and(|t| t.contains('\n'))).await;
    assert!(
        shown[0].as_str().unwrap_or_default().contains("\"page\": \"/home\""),
        "{shown}"
    );
    screenshot(&browser, "stream").await;

    // A split shows as two children of the first shard in the lineage picture.
    let shard = ok(kinesis.list_shards().stream_name("clicks").send().await, "ListShards")
        .shards()
        .first()
        .map(|s| s.shard_id().to_string())
        .expect("a shard");
    ok(
        kinesis
            .split_shard()
            .stream_name("clicks")
            .shard_to_split(&shard)
            .new_starting_hash_key((u128::MAX / 4).to_string())
            .send()
            .await,
        "SplitShard",
    );
    sluice_tests::kinesis::wait_active(&kinesis, "clicks").await;
    browser.click("#stream-refresh").await;
    let edges = wait_eval(
        &browser,
        "return [...document.querySelectorAll('#lineage svg path.lineage-edge')].map(p => p.getAttribute('data-from') + '>' + p.getAttribute('data-to'))",
        |v| v.as_array().is_some_and(|a| a.len() == 2),
    )
    .await;
    for edge in edges.as_array().into_iter().flatten() {
        assert!(
            edge.as_str().unwrap_or_default().starts_with(&format!("{shard}>")),
            "{edges}"
        );
    }
    let closed = browser
        .eval("return [...document.querySelectorAll('#lineage g.lineage-shard.shard-closed')].map(g => g.getAttribute('data-shard-id'))")
        .await;
    assert_eq!(closed, json!([shard]));
    screenshot(&browser, "stream-lineage").await;
}
