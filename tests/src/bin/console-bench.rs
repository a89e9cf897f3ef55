//! `console-bench`: how fast the web console's JSON endpoints answer at scale (docs/console.md),
//! each beside a plain API call of the same run as a reference. The requirement: the overview
//! of 1,000 queues and 100 streams renders in under a second, and a peek at 100 messages of a
//! queue holding 1,000,000 takes under 100 ms.
//!
//! # Parts
//! - One broker ([`Broker`], `--auth off`, a temporary data folder, removed when it drops).
//! - Overview phase: N queues (a twentieth dead-letter queues, as many sources redriving to
//!   them, the rest plain; the dead-letter queues and every tenth plain queue hold a few
//!   messages) and M streams of 1 to 4 shards; then K rounds of `GET /console/api/overview`,
//!   each followed by ListQueues (MaxResults 1000) as the reference.
//! - Peek phase: one more queue filled with P messages of 256 bytes (SendMessageBatch of 10,
//!   [`FILL_IN_FLIGHT`] calls at a time; ApproximateNumberOfMessages checked afterwards); then
//!   K peeks of 100 at the head, the middle and near the tail (`from` = head position + offset:
//!   a queue's positions are consecutive sequence numbers), each followed by GetQueueAttributes
//!   All of the same queue as the reference; then K pages walked along `next` from the middle;
//!   then the overview again, now with the full queue among the others.
//! - Every request goes over one kept-alive HTTP/1.1 connection ([`Conn`]), as a browser sends
//!   them; a request is timed from its first byte written to its body's last byte read.
//!   Signing (the references) happens before the clock starts.
//! - Every answer is checked: the overview lists exactly the queues and streams made, with their
//!   dead-letter links; a peek returns 100 messages with distinct ids at increasing positions,
//!   each body as sent; peeks change nothing (the queue still holds P visible messages after).
//! - Report: a markdown table, or one JSON object with `--json`; progress goes to stderr.
//!
//! # Invariants
//! - Every wait is bounded: set-up and the fill [`PHASE_LIMIT`] each, every request
//!   [`REQUEST_LIMIT`], every SDK call 30 s (the harness's operation timeout).
//! - The broker is killed and its data folder removed when its handle drops, also on an error;
//!   `main` returns instead of calling `exit`, so the drops run.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use bytes::Bytes;
use clap::Parser;
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use sluice_tests::bench::{self, round, thousands};
use sluice_tests::kinesis::{create_stream, kinesis_client};
use sluice_tests::{machine, Broker, ACCOUNT_ID, REGION};

/// Body size of every message of the peeked queue, as the requirement asks.
const BODY_BYTES: usize = 256;
/// Messages a peek asks for (the console's default page).
const PEEK_LIMIT: usize = 100;
/// The requirement's bound on the overview.
const OVERVIEW_GOAL: Duration = Duration::from_secs(1);
/// The requirement's bound on a peek.
const PEEK_GOAL: Duration = Duration::from_millis(100);
/// Concurrent SendMessageBatch calls while filling.
const FILL_IN_FLIGHT: usize = 16;
/// Concurrent CreateQueue or CreateStream calls while setting up.
const SETUP_IN_FLIGHT: usize = 16;
/// SendMessageBatch's maximum entries per call.
const SEND_BATCH: usize = 10;
/// Longest set-up, and longest fill: 1,000,000 messages take well under a minute in a
/// release build.
const PHASE_LIMIT: Duration = Duration::from_secs(900);
/// Longest single request on the kept-alive connection.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);
/// Untimed requests of each kind before the timed ones: the first use of a code path (a
/// lazily built table, a cold block cache) is reported apart, as "first".
const WARM_UP: usize = 2;

#[derive(Parser, Debug)]
#[command(
    name = "console-bench",
    about = "Response times of the console's overview and peek at scale, against ListQueues and \
             GetQueueAttributes in the same run"
)]
struct Cli {
    /// Queues listed by the overview
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=10_000))]
    queues: u64,
    /// Streams listed by the overview (1 to 4 shards each)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=1_000))]
    streams: u64,
    /// Messages in the peeked queue
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1_000..=5_000_000))]
    messages: u64,
    /// Timed requests per measurement
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(5..=10_000))]
    rounds: u64,
    /// Print one JSON object instead of the table
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    bench::main_with("console-bench", run(&cli))
}

fn progress(message: &str) {
    eprintln!("console-bench: {message}");
}

async fn run(cli: &Cli) -> Result<()> {
    let queues = cli.queues as usize;
    let streams = cli.streams as usize;
    let messages = cli.messages as usize;
    let rounds = cli.rounds as usize;
    // The walk reads `rounds` full pages on from the middle, each with a `next` after it.
    if rounds * PEEK_LIMIT >= messages - messages / 2 {
        bail!(
            "--rounds {rounds}: {rounds} pages of {PEEK_LIMIT} from the middle need more than {} messages",
            2 * rounds * PEEK_LIMIT
        );
    }
    let broker_binary = sluice_tests::broker::binary_path();
    progress(&format!("broker {}", broker_binary.display()));
    let broker = Broker::start_with(&["--auth", "off"]).await;
    let sqs = broker.sqs().await;
    let mut conn = Conn::open(&broker.endpoint()).await?;
    let cookie = session_cookie(&mut conn).await?;

    let started = Instant::now();
    let layout = Layout::new(queues);
    layout.create(&sqs).await.context("creating the queues")?;
    create_streams(&broker, streams).await.context("creating the streams")?;
    let setup_s = started.elapsed().as_secs_f64();
    progress(&format!(
        "{queues} queues and {streams} streams made in {setup_s:.1} s; timing the overview"
    ));

    let endpoint = broker.endpoint();
    let check_overview = |want_queues: usize| {
        let layout = &layout;
        move |body: &Value| layout.check_overview(body, want_queues, streams)
    };
    let list_queues = || sqs_request(&endpoint, "ListQueues", &json!({ "MaxResults": 1000 }));
    let want_listed = queues.min(1000);
    let check_list = |body: &Value| {
        let listed = body.get("QueueUrls").and_then(Value::as_array).map_or(0, Vec::len);
        ensure!(
            listed == want_listed,
            "ListQueues listed {listed} queues, not {want_listed}"
        );
        Ok(())
    };
    let (overview, list) = measure_pair(
        &mut conn,
        rounds,
        || console_get("/console/api/overview", &cookie),
        check_overview(queues),
        list_queues,
        check_list,
    )
    .await
    .context("overview")?;

    progress(&format!(
        "filling one queue with {messages} messages of {BODY_BYTES} bytes"
    ));
    let big = "cb-peeked";
    let big_url = create_queue(&sqs, big, &[]).await?;
    let fill_started = Instant::now();
    fill(&sqs, &big_url, messages).await?;
    let fill_s = fill_started.elapsed().as_secs_f64();
    let (visible, not_visible) = depth(&sqs, &big_url).await?;
    ensure!(
        visible == messages as u64 && not_visible == 0,
        "after the fill the queue holds {visible} visible and {not_visible} in-flight messages, \
         not {messages} and 0"
    );
    progress(&format!(
        "{messages} messages sent in {fill_s:.1} s ({:.0}/s), ApproximateNumberOfMessages {visible}; \
         timing peeks",
        messages as f64 / fill_s.max(1e-9)
    ));

    let peek_path = |from: u64| format!("/console/api/queues/{big}/messages?from={from}&limit={PEEK_LIMIT}");
    // The head's position: where a page opened without `from` starts.
    let head = {
        let req = console_get(
            &format!("/console/api/queues/{big}/messages?limit={PEEK_LIMIT}"),
            &cookie,
        );
        let (_, body) = conn.json(req).await.context("the first peek")?;
        check_page(&body, PEEK_LIMIT, None)?;
        page_positions(&body)[0]
    };
    let attributes = || {
        sqs_request(
            &endpoint,
            "GetQueueAttributes",
            &json!({ "QueueUrl": big_url, "AttributeNames": ["All"] }),
        )
    };
    let check_attributes = |body: &Value| {
        let n = body
            .pointer("/Attributes/ApproximateNumberOfMessages")
            .and_then(Value::as_str)
            .unwrap_or_default();
        ensure!(n == messages.to_string(), "GetQueueAttributes answered {n} messages");
        Ok(())
    };
    let spots = [
        ("head", head, Some(head), false),
        ("middle", head + messages as u64 / 2, None, false),
        ("tail", head + messages as u64 - PEEK_LIMIT as u64, None, true),
    ];
    let mut peeks = Vec::new();
    let mut attribute_timings = Vec::new();
    for (spot, from, first_at, last_page) in spots {
        let (peek, reference) = measure_pair(
            &mut conn,
            rounds,
            || console_get(&peek_path(from), &cookie),
            |body: &Value| {
                check_page(body, PEEK_LIMIT, first_at)?;
                if last_page {
                    ensure!(body["next"].is_null(), "the tail page has a next: {}", body["next"]);
                }
                Ok(())
            },
            attributes,
            check_attributes,
        )
        .await
        .with_context(|| format!("peek at the {spot}"))?;
        peeks.push((spot, peek));
        attribute_timings.push(reference);
    }
    let walk = walk_pages(&mut conn, &cookie, big, head + messages as u64 / 2, rounds)
        .await
        .context("walking pages along next")?;
    let (visible, not_visible) = depth(&sqs, &big_url).await?;
    ensure!(
        visible == messages as u64 && not_visible == 0,
        "after the peeks the queue holds {visible} visible and {not_visible} in-flight messages: \
         a peek changed it"
    );

    progress("timing the overview again, with the full queue among the others");
    let (overview_full, list_full) = measure_pair(
        &mut conn,
        rounds,
        || console_get("/console/api/overview", &cookie),
        check_overview(queues + 1),
        list_queues,
        |body: &Value| {
            let listed = body.get("QueueUrls").and_then(Value::as_array).map_or(0, Vec::len);
            ensure!(listed == (queues + 1).min(1000), "ListQueues listed {listed} queues");
            Ok(())
        },
    )
    .await
    .context("overview with the full queue")?;

    let report = Report {
        queues,
        streams,
        messages,
        rounds,
        broker_binary: broker_binary.display().to_string(),
        setup_s,
        fill_s,
        overview,
        list,
        peeks,
        attributes: Timing::merged(attribute_timings),
        walk,
        overview_full,
        list_full,
    };
    if cli.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// One kept-alive HTTP/1.1 connection to the broker, opened again if the broker closes it.
struct Conn {
    authority: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// An answer: status, the `Set-Cookie` header if any, and the body.
struct Reply {
    status: u16,
    set_cookie: Option<String>,
    body: Bytes,
}

impl Conn {
    async fn open(endpoint: &str) -> Result<Conn> {
        let uri: Uri = endpoint.parse().context("the broker's endpoint")?;
        let authority = uri.authority().context("an endpoint without host")?.to_string();
        let mut conn = Conn {
            authority,
            sender: None,
        };
        conn.connect().await?;
        Ok(conn)
    }

    async fn connect(&mut self) -> Result<()> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("connect {}", self.authority))?;
        // As browsers do: a request's last segment is not held back waiting for an ACK.
        stream.set_nodelay(true).context("TCP_NODELAY")?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        // Ends when the sender drops or the broker closes the connection.
        tokio::spawn(connection);
        self.sender = Some(sender);
        Ok(())
    }

    /// Sends `req` (origin-form URI; `Host` is added) and reads the whole answer.
    async fn send(&mut self, req: Request<Vec<u8>>) -> Result<Reply> {
        let sender_closed = self.sender.as_ref().is_none_or(|s| s.is_closed());
        if sender_closed {
            self.connect().await?;
        }
        let Some(sender) = self.sender.as_mut() else {
            bail!("no connection to {}", self.authority);
        };
        let (mut parts, body) = req.into_parts();
        let host = http::HeaderValue::from_str(&self.authority).context("Host header")?;
        parts.headers.insert(http::header::HOST, host);
        let exchange = async {
            sender.ready().await.context("connection not ready")?;
            let response = sender
                .send_request(Request::from_parts(parts, Full::new(Bytes::from(body))))
                .await
                .context("request")?;
            let (head, body) = response.into_parts();
            let body = body.collect().await.context("reading the answer")?.to_bytes();
            let set_cookie = head
                .headers
                .get(http::header::SET_COOKIE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            Ok::<Reply, anyhow::Error>(Reply {
                status: head.status.as_u16(),
                set_cookie,
                body,
            })
        };
        tokio::time::timeout(REQUEST_LIMIT, exchange)
            .await
            .with_context(|| format!("no answer within {REQUEST_LIMIT:?}"))?
    }

    /// Sends `req` and parses a 200 answer as JSON; returns the body's size too.
    async fn json(&mut self, req: Request<Vec<u8>>) -> Result<(usize, Value)> {
        let reply = self.send(req).await?;
        if reply.status != 200 {
            bail!("status {}: {}", reply.status, String::from_utf8_lossy(&reply.body));
        }
        let value = serde_json::from_slice(&reply.body).context("an answer that is not JSON")?;
        Ok((reply.body.len(), value))
    }
}

/// `GET path` with the console's session cookie.
fn console_get(path: &str, cookie: &str) -> Request<Vec<u8>> {
    let mut req = Request::new(Vec::new());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = path.parse().unwrap_or_default();
    if let Ok(value) = http::HeaderValue::from_str(cookie) {
        req.headers_mut().insert(http::header::COOKIE, value);
    }
    req
}

/// A signed SQS JSON-protocol request, with its URI in origin form for [`Conn`].
fn sqs_request(endpoint: &str, action: &str, body: &Value) -> Request<Vec<u8>> {
    let req = sluice_tests::raw::json_request(endpoint, action, &body.to_string());
    let (mut parts, body) = req.into_parts();
    parts.uri = Uri::from_static("/");
    Request::from_parts(parts, body)
}

/// Starts a console session (`--auth off` opens one at once) and returns the `Cookie` header
/// value that carries it.
async fn session_cookie(conn: &mut Conn) -> Result<String> {
    let mut req = Request::new(Vec::new());
    *req.uri_mut() = Uri::from_static("/console/api/session");
    let reply = conn.send(req).await.context("GET /console/api/session")?;
    ensure!(
        reply.status == 200,
        "GET /console/api/session answered {}",
        reply.status
    );
    let session: Value = serde_json::from_slice(&reply.body).context("the session is not JSON")?;
    ensure!(
        session["signedIn"] == json!(true) && session["region"] == json!(REGION),
        "the session is not signed in for {REGION}: {session}"
    );
    let set_cookie = reply.set_cookie.context("the session answer set no cookie")?;
    let pair = set_cookie.split(';').next().unwrap_or_default().trim().to_string();
    ensure!(pair.contains('='), "a Set-Cookie without a value: {set_cookie}");
    Ok(pair)
}

// ---------------------------------------------------------------------------------------------
// Timings

/// The timed requests of one measurement, in the order they ran.
#[derive(Debug, Clone)]
struct Timing {
    /// The first request of its kind, before the warm-up: µs.
    first_us: u64,
    /// The timed requests: µs.
    samples_us: Vec<u64>,
    /// The size of the last answer's body, bytes.
    bytes: usize,
}

impl Timing {
    fn new() -> Timing {
        Timing {
            first_us: 0,
            samples_us: Vec::new(),
            bytes: 0,
        }
    }

    /// The samples of several timings (the reference beside each peek spot) as one.
    fn merged(parts: Vec<Timing>) -> Timing {
        let mut out = Timing::new();
        out.first_us = parts.first().map_or(0, |t| t.first_us);
        for part in parts {
            out.samples_us.extend(part.samples_us);
            out.bytes = part.bytes;
        }
        out
    }

    fn record(&mut self, elapsed: Duration, bytes: usize) {
        self.samples_us.push(elapsed.as_micros() as u64);
        self.bytes = bytes;
    }

    fn sorted(&self) -> Vec<u64> {
        let mut v = self.samples_us.clone();
        v.sort_unstable();
        v
    }

    fn p50_ms(&self) -> f64 {
        percentile_ms(&self.sorted(), 0.50)
    }

    fn p99_ms(&self) -> f64 {
        percentile_ms(&self.sorted(), 0.99)
    }

    fn max_ms(&self) -> f64 {
        percentile_ms(&self.sorted(), 1.0)
    }

    fn first_ms(&self) -> f64 {
        self.first_us as f64 / 1000.0
    }

    fn json(&self) -> Value {
        json!({
            "requests": self.samples_us.len(),
            "first_ms": round(self.first_ms(), 2),
            "p50_ms": round(self.p50_ms(), 2),
            "p99_ms": round(self.p99_ms(), 2),
            "max_ms": round(self.max_ms(), 2),
            "response_bytes": self.bytes,
        })
    }
}

/// The nearest-rank percentile `q` of sorted µs values, in ms.
fn percentile_ms(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    sorted_us[rank - 1] as f64 / 1000.0
}

/// Times one request made by `make` on `conn` and checks its answer with `check`.
async fn timed(
    conn: &mut Conn,
    req: Request<Vec<u8>>,
    check: &impl Fn(&Value) -> Result<()>,
) -> Result<(Duration, usize)> {
    let started = Instant::now();
    let (bytes, body) = conn.json(req).await?;
    let elapsed = started.elapsed();
    check(&body)?;
    Ok((elapsed, bytes))
}

/// `rounds` of A then B on one connection, after the first of each and [`WARM_UP`] untimed
/// rounds; interleaved so both see the same machine (a background flush or compaction lands
/// on both).
async fn measure_pair(
    conn: &mut Conn,
    rounds: usize,
    make_a: impl Fn() -> Request<Vec<u8>>,
    check_a: impl Fn(&Value) -> Result<()>,
    make_b: impl Fn() -> Request<Vec<u8>>,
    check_b: impl Fn(&Value) -> Result<()>,
) -> Result<(Timing, Timing)> {
    let mut a = Timing::new();
    let mut b = Timing::new();
    a.first_us = timed(conn, make_a(), &check_a).await?.0.as_micros() as u64;
    b.first_us = timed(conn, make_b(), &check_b)
        .await
        .context("reference")?
        .0
        .as_micros() as u64;
    for _ in 0..WARM_UP {
        timed(conn, make_a(), &check_a).await?;
        timed(conn, make_b(), &check_b).await.context("reference")?;
    }
    for _ in 0..rounds {
        let (elapsed, bytes) = timed(conn, make_a(), &check_a).await?;
        a.record(elapsed, bytes);
        let (elapsed, bytes) = timed(conn, make_b(), &check_b).await.context("reference")?;
        b.record(elapsed, bytes);
    }
    Ok((a, b))
}

/// `pages` pages of 100 along `next` from position `from`, each timed and checked to continue
/// where the previous one stopped.
async fn walk_pages(conn: &mut Conn, cookie: &str, queue: &str, from: u64, pages: usize) -> Result<Timing> {
    let mut timing = Timing::new();
    let mut at = from;
    let mut after: Option<u64> = None;
    for page in 0..pages {
        let req = console_get(
            &format!("/console/api/queues/{queue}/messages?from={at}&limit={PEEK_LIMIT}"),
            cookie,
        );
        let started = Instant::now();
        let (bytes, body) = conn.json(req).await?;
        let elapsed = started.elapsed();
        check_page(&body, PEEK_LIMIT, None).with_context(|| format!("page {page}"))?;
        let positions = page_positions(&body);
        if let Some(last) = after {
            ensure!(
                positions[0] > last,
                "page {page} starts at {} after {last}",
                positions[0]
            );
        }
        after = positions.last().copied();
        if page == 0 {
            timing.first_us = elapsed.as_micros() as u64;
        }
        timing.record(elapsed, bytes);
        at = body["next"]
            .as_u64()
            .with_context(|| format!("page {page} has no next"))?;
    }
    Ok(timing)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// The positions of a peeked page's messages.
fn page_positions(body: &Value) -> Vec<u64> {
    body["messages"]
        .as_array()
        .map(|ms| ms.iter().filter_map(|m| m["position"].as_u64()).collect())
        .unwrap_or_default()
}

/// A peeked page holds `want` messages of this benchmark with distinct ids at increasing
/// positions, each visible and never received; the first at `first_at` when given.
fn check_page(body: &Value, want: usize, first_at: Option<u64>) -> Result<()> {
    let messages = body["messages"].as_array().context("a page without messages")?;
    ensure!(
        messages.len() == want,
        "a page of {} messages, not {want}",
        messages.len()
    );
    let mut ids = HashSet::with_capacity(messages.len());
    let mut previous: Option<u64> = None;
    for m in messages {
        let position = m["position"].as_u64().context("a message without a position")?;
        if let Some(p) = previous {
            ensure!(position > p, "position {position} after {p}");
        }
        previous = Some(position);
        let id = m["messageId"].as_str().context("a message without an id")?;
        ensure!(ids.insert(id.to_string()), "message id {id} twice in one page");
        let text = m["body"].as_str().unwrap_or_default();
        ensure!(
            text.len() == BODY_BYTES && text.starts_with('m'),
            "message {id} has a body that was not sent: {text:?}"
        );
        ensure!(m["state"] == json!("visible"), "message {id} is {}", m["state"]);
        let receives = m.pointer("/systemAttributes/ApproximateReceiveCount");
        ensure!(
            receives.is_some_and(|r| r == &json!("0") || r == &json!(0)),
            "message {id} has receive count {receives:?}"
        );
    }
    if let Some(at) = first_at {
        ensure!(
            previous.is_some() && page_positions(body)[0] == at,
            "the page does not start at {at}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Set-up

/// The overview's queues: names, dead-letter links, and which hold messages.
struct Layout {
    /// Dead-letter queues, `cb-dlq-NNNN`, each holding [`DLQ_MESSAGES`].
    dead_letter: usize,
    /// Queues redriving to the dead-letter queue of the same number, `cb-src-NNNN`.
    sources: usize,
    /// Other queues, `cb-q-NNNN`; every tenth holds one batch of messages.
    plain: usize,
}

/// Messages in each dead-letter queue, so the overview shows how full they are.
const DLQ_MESSAGES: usize = 3;

impl Layout {
    fn new(queues: usize) -> Layout {
        let dead_letter = (queues / 20).max(1);
        Layout {
            dead_letter,
            sources: dead_letter,
            plain: queues - 2 * dead_letter,
        }
    }

    fn dlq_arn(i: usize) -> String {
        format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:cb-dlq-{i:04}")
    }

    async fn create(&self, sqs: &aws_sdk_sqs::Client) -> Result<()> {
        // Dead-letter queues first: a redrive policy may name only a queue that exists.
        bench::bounded(
            0..self.dead_letter,
            SETUP_IN_FLIGHT,
            PHASE_LIMIT,
            "dead-letter queues",
            |i| {
                let sqs = sqs.clone();
                async move {
                    let url = create_queue(&sqs, &format!("cb-dlq-{i:04}"), &[]).await?;
                    send_batch(&sqs, &url, 0, DLQ_MESSAGES).await
                }
            },
        )
        .await?;
        bench::bounded(0..self.sources, SETUP_IN_FLIGHT, PHASE_LIMIT, "source queues", |i| {
            let sqs = sqs.clone();
            async move {
                let policy = json!({ "deadLetterTargetArn": Layout::dlq_arn(i), "maxReceiveCount": 5 });
                create_queue(
                    &sqs,
                    &format!("cb-src-{i:04}"),
                    &[(QueueAttributeName::RedrivePolicy, policy.to_string())],
                )
                .await
                .map(drop)
            }
        })
        .await?;
        bench::bounded(0..self.plain, SETUP_IN_FLIGHT, PHASE_LIMIT, "plain queues", |i| {
            let sqs = sqs.clone();
            async move {
                let url = create_queue(&sqs, &format!("cb-q-{i:04}"), &[]).await?;
                if i.is_multiple_of(10) {
                    send_batch(&sqs, &url, 0, SEND_BATCH).await?;
                }
                Ok(())
            }
        })
        .await
    }

    /// The overview lists `queues` queues (those of this layout, and the peeked one when
    /// made), the dead-letter links of this layout, and `streams` streams.
    fn check_overview(&self, body: &Value, queues: usize, streams: usize) -> Result<()> {
        let listed = body["queues"].as_array().context("an overview without queues")?;
        ensure!(
            listed.len() == queues,
            "the overview lists {} queues, not {queues}",
            listed.len()
        );
        let dead_letter = listed.iter().filter(|q| q["isDeadLetterQueue"] == json!(true)).count();
        ensure!(
            dead_letter == self.dead_letter,
            "the overview marks {dead_letter} dead-letter queues, not {}",
            self.dead_letter
        );
        let linked = listed
            .iter()
            .filter(|q| q["deadLetterTarget"]["visible"].as_u64() == Some(DLQ_MESSAGES as u64))
            .count();
        ensure!(
            linked == self.sources,
            "the overview shows {linked} queues redriving to a dead-letter queue of \
             {DLQ_MESSAGES} messages, not {}",
            self.sources
        );
        let listed_streams = body["streams"].as_array().map_or(0, Vec::len);
        ensure!(
            listed_streams == streams,
            "the overview lists {listed_streams} streams, not {streams}"
        );
        Ok(())
    }
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Result<String> {
    let mut create = sqs.create_queue().queue_name(name);
    for (k, v) in attributes {
        create = create.attributes(k.clone(), v);
    }
    let out = create
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("CreateQueue {name}: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
    Ok(out.queue_url().context("CreateQueue answered no QueueUrl")?.to_string())
}

/// A body of [`BODY_BYTES`]: `m<seq> ` padded with dots.
fn body(seq: usize) -> String {
    let mut body = format!("m{seq:09} ");
    while body.len() < BODY_BYTES {
        body.push('.');
    }
    body
}

/// Sends messages `from..to` in one SendMessageBatch.
async fn send_batch(sqs: &aws_sdk_sqs::Client, url: &str, from: usize, to: usize) -> Result<()> {
    let mut entries = Vec::with_capacity(to - from);
    for seq in from..to {
        entries.push(
            SendMessageBatchRequestEntry::builder()
                .id(seq.to_string())
                .message_body(body(seq))
                .build()
                .context("a SendMessageBatch entry")?,
        );
    }
    let out = sqs
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("SendMessageBatch: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
    if let Some(failed) = out.failed().first() {
        bail!(
            "SendMessageBatch refused {} entries, e.g. {}: {:?}",
            out.failed().len(),
            failed.code(),
            failed.message()
        );
    }
    Ok(())
}

/// Sends `messages` messages to `url`, [`SEND_BATCH`] per call, [`FILL_IN_FLIGHT`] calls at once.
async fn fill(sqs: &aws_sdk_sqs::Client, url: &str, messages: usize) -> Result<()> {
    bench::bounded(
        (0..messages).step_by(SEND_BATCH),
        FILL_IN_FLIGHT,
        PHASE_LIMIT,
        "fill",
        |from| {
            let sqs = sqs.clone();
            let url = url.to_string();
            async move { send_batch(&sqs, &url, from, (from + SEND_BATCH).min(messages)).await }
        },
    )
    .await
}

/// ApproximateNumberOfMessages and ApproximateNumberOfMessagesNotVisible of `url`.
async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<(u64, u64)> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("GetQueueAttributes: {}", aws_sdk_sqs::error::DisplayErrorContext(&e)))?;
    let read = |name: QueueAttributeName| {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
            .with_context(|| format!("GetQueueAttributes answered no {name}"))
    };
    Ok((
        read(QueueAttributeName::ApproximateNumberOfMessages)?,
        read(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?,
    ))
}

/// `streams` streams `cb-s-NNN` of 1 to 4 shards, each ACTIVE before this returns.
async fn create_streams(broker: &Broker, streams: usize) -> Result<()> {
    let kinesis = kinesis_client(&broker.endpoint()).await;
    bench::bounded(0..streams, SETUP_IN_FLIGHT, PHASE_LIMIT, "streams", |i| {
        let kinesis = kinesis.clone();
        async move {
            // The harness's helper panics on a failure; a panicked task is an error here.
            create_stream(&kinesis, &format!("cb-s-{i:03}"), 1 + (i % 4) as i32).await;
            Ok(())
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Report

struct Report {
    queues: usize,
    streams: usize,
    messages: usize,
    rounds: usize,
    broker_binary: String,
    setup_s: f64,
    fill_s: f64,
    overview: Timing,
    list: Timing,
    /// Per spot (head, middle, tail).
    peeks: Vec<(&'static str, Timing)>,
    attributes: Timing,
    walk: Timing,
    overview_full: Timing,
    list_full: Timing,
}

/// `a / b`, 0 when `b` is 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        return 0.0;
    }
    a / b
}

impl Report {
    fn overview_met(&self) -> bool {
        self.overview.max_ms() < OVERVIEW_GOAL.as_secs_f64() * 1000.0
    }

    fn peek_met(&self) -> bool {
        self.peeks
            .iter()
            .all(|(_, t)| t.max_ms() < PEEK_GOAL.as_secs_f64() * 1000.0)
    }

    fn json(&self) -> Value {
        let peeks: serde_json::Map<String, Value> = self
            .peeks
            .iter()
            .map(|(spot, t)| (spot.to_string(), t.json()))
            .collect();
        json!({
            "queues": self.queues,
            "streams": self.streams,
            "messages": self.messages,
            "rounds": self.rounds,
            "setup_s": round(self.setup_s, 2),
            "fill_s": round(self.fill_s, 2),
            "fill_per_sec": round(self.messages as f64 / self.fill_s.max(1e-9), 0),
            "overview": self.overview.json(),
            "list_queues": self.list.json(),
            "ratio_overview_list_p50": round(ratio(self.overview.p50_ms(), self.list.p50_ms()), 2),
            "overview_goal_met": self.overview_met(),
            "peek": peeks,
            "peek_walk": self.walk.json(),
            "get_queue_attributes": self.attributes.json(),
            "peek_goal_met": self.peek_met(),
            "overview_with_full_queue": self.overview_full.json(),
            "list_queues_with_full_queue": self.list_full.json(),
            "machine": { "nproc": machine::nproc(), "kernel": machine::kernel(), "cpu": machine::cpu_model() },
            "build": machine::build(),
            "broker_binary": self.broker_binary,
        })
    }

    fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "console-bench: {} queues, {} streams; peeked queue of {} messages of {BODY_BYTES} B; \
             {} timed requests per row\n",
            self.queues, self.streams, self.messages, self.rounds
        ));
        out.push_str(&format!(
            "machine: nproc {}, {}, kernel {}; build: {} (broker {})\n",
            machine::nproc(),
            machine::cpu_model(),
            machine::kernel(),
            machine::build(),
            self.broker_binary
        ));
        out.push_str(&format!(
            "set-up {:.1} s; fill {:.1} s ({:.0} messages/s, SendMessageBatch of {SEND_BATCH}, \
             {FILL_IN_FLIGHT} in flight)\n\n",
            self.setup_s,
            self.fill_s,
            self.messages as f64 / self.fill_s.max(1e-9)
        ));
        out.push_str("| request | first ms | p50 ms | p99 ms | max ms | answer bytes | p50 / reference |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
        let row = |t: &Timing, label: &str, reference: Option<&Timing>| {
            let vs = reference.map_or_else(String::new, |r| format!("{:.1}", ratio(t.p50_ms(), r.p50_ms())));
            format!(
                "| {label} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {vs} |\n",
                t.first_ms(),
                t.p50_ms(),
                t.p99_ms(),
                t.max_ms(),
                thousands(t.bytes as u64)
            )
        };
        out.push_str(&row(
            &self.overview,
            &format!(
                "overview, {} queues, {} streams",
                thousands(self.queues as u64),
                self.streams
            ),
            Some(&self.list),
        ));
        out.push_str(&row(&self.list, "ListQueues 1000 (reference)", None));
        for (spot, t) in &self.peeks {
            out.push_str(&row(
                t,
                &format!("peek {PEEK_LIMIT}, {spot} of {}", thousands(self.messages as u64)),
                Some(&self.attributes),
            ));
        }
        out.push_str(&row(
            &self.walk,
            &format!("peek {PEEK_LIMIT}, pages along next from the middle"),
            Some(&self.attributes),
        ));
        out.push_str(&row(&self.attributes, "GetQueueAttributes All (reference)", None));
        out.push_str(&row(
            &self.overview_full,
            &format!("overview, with the {}-message queue", thousands(self.messages as u64)),
            Some(&self.list_full),
        ));
        out.push_str(&row(&self.list_full, "ListQueues 1000 (reference), then", None));
        let verdict = |met: bool| if met { "met" } else { "NOT met" };
        out.push_str(&format!(
            "\noverview under {} ms at every request: {}; peek under {} ms at every request: {}\n",
            OVERVIEW_GOAL.as_millis(),
            verdict(self.overview_met()),
            PEEK_GOAL.as_millis(),
            verdict(self.peek_met())
        ));
        out.push_str(
            "times: one kept-alive HTTP/1.1 connection, first byte sent to last byte read; \
             the JSON only (the page's own rendering is not in them)\n",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_256_bytes() {
        assert_eq!(body(42).len(), BODY_BYTES);
        assert!(body(42).starts_with("m000000042 "));
    }

    #[test]
    fn layouts_add_up() {
        for n in [10, 999, 1000] {
            let l = Layout::new(n);
            assert_eq!(l.dead_letter + l.sources + l.plain, n);
            assert!(l.dead_letter >= 1);
        }
    }

    #[test]
    fn a_page_is_checked() {
        let message = |position: u64, id: &str| {
            json!({
                "position": position,
                "messageId": id,
                "body": body(position as usize),
                "state": "visible",
                "systemAttributes": { "ApproximateReceiveCount": "0" },
            })
        };
        let good = json!({ "messages": [message(5, "a"), message(6, "b")], "next": 7 });
        assert!(check_page(&good, 2, Some(5)).is_ok());
        assert!(check_page(&good, 2, Some(4)).is_err());
        assert!(check_page(&good, 3, None).is_err());
        let twice = json!({ "messages": [message(5, "a"), message(6, "a")] });
        assert!(check_page(&twice, 2, None).is_err());
        let backwards = json!({ "messages": [message(6, "a"), message(5, "b")] });
        assert!(check_page(&backwards, 2, None).is_err());
    }
}
