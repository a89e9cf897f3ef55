//! Lambda helpers for the end-to-end tests: the official `aws-sdk-lambda` client configured like
//! [`crate::sqs_client`], and [`Handler`], a real handler process running against the Runtime API
//! listener Sluice opens per function (GetFunction's `Code.Location`, `127.0.0.1:<port>`).
//!
//! # Parts
//! - [`lambda_python`]: a Python with AWS's runtime interface client (`awslambdaric`),
//!   `aws-lambda-powertools` and boto3, pinned; `scripts/lambda-python` creates its virtualenv on
//!   first use (`SLUICE_TOOLS_DIR` moves it), so a fresh machine needs only python3 (3.10+) and pip.
//! - [`lambda_node`]: AWS's Node.js runtime interface client (`aws-lambda-ric`), pinned by
//!   `tests/fixtures/lambda-node/package-lock.json`; `scripts/lambda-node` installs it on first use
//!   (with the Debian build tools its native addon needs).
//! - [`handler_env`]: the variables Lambda sets for a function process and the runtime clients
//!   read; AWS's Rust client panics without the function name, version and memory size.
//! - [`Handler::python`] runs `python -m awslambdaric <module.function>` in a code folder, as
//!   AWS's Python base images do; [`Handler::node`] runs `node <aws-lambda-ric> <file.export>`;
//!   [`Handler::rust`] runs `lambda-test-handler`
//!   (`src/bin/lambda-test-handler.rs`, on AWS's `lambda_runtime`), whose environment variables
//!   pick the event type, the out file and inject failures.
//! - [`HandledRecord`] and [`append_lines`] write the line per handled record that the test
//!   handler and `lambda-bench`'s SDK consumers share; [`handled`] and [`wait_for_handled`] read
//!   them back.
//! - [`Supervisor`] runs `sluice handlers` over the test handler, which restarts handlers
//!   whose broker died (a kill -9, a cluster takeover).
//!
//! # Invariants
//! - A handler process starts with a cleared environment plus [`handler_env`], a few
//!   pass-through variables (`PATH`, `TMPDIR`, ...; not `HOME`) and `/dev/null` as the SDKs'
//!   config and credentials files, so a developer's `AWS_PROFILE`, `AWS_ENDPOINT_URL`,
//!   `~/.aws/config` or `AWS_LAMBDA_MAX_CONCURRENCY` (which switches both runtime clients into
//!   another mode) cannot change what a test sees.
//! - Its stdout and stderr go to `handler.log` in a temporary folder of its own; the process is
//!   SIGKILLed and reaped when the [`Handler`] drops, and a panicking test prints the log's tail.
//! - Every wait is bounded: the virtualenv install (6 min: a download, possibly behind another
//!   process's install lock), the Node.js client's (10 min: it compiles C++), each SDK operation (30 s, [`crate::client::sdk_config`]).

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::Client;
use tempfile::TempDir;

use crate::client::{ACCESS_KEY, REGION, SECRET_KEY};

const INSTALL_TIMEOUT: Duration = Duration::from_secs(360);
/// The Node.js client's install builds C++ (curl and AWS's runtime client) single-threaded:
/// minutes on a loaded 2-core machine; the script's own lock wait is shorter.
const NODE_INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_millis(50);
/// Variables a handler process keeps from the test's environment: what finding programs and
/// libraries, temporary files and panics' backtraces need, nothing that configures AWS clients.
/// Not HOME: the SDKs read `~/.aws/config` from it, where a profile can set another endpoint.
const PASS_THROUGH: [&str; 5] = ["PATH", "TMPDIR", "LANG", "LD_LIBRARY_PATH", "RUST_BACKTRACE"];

/// A Lambda client for `endpoint` with the SDK's standard retries.
pub async fn lambda_client(endpoint: &str) -> Client {
    let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "sluice-tests");
    Client::new(&crate::client::sdk_config(endpoint, REGION, RetryConfig::standard(), credentials).await)
}

/// The role every test function names (Sluice assumes no role, but the API requires one).
pub const ROLE: &str = "arn:aws:iam::000000000000:role/lambda";

/// Creates a Python 3.12 function named `name` with `handler` and `timeout` seconds, from an
/// empty zip (Sluice keeps the package's digest, never runs it), and returns the address of
/// its Runtime API (GetFunction's `Code.Location`).
pub async fn create_function(client: &Client, name: &str, handler: &str, timeout: i32) -> String {
    create_function_in(
        client,
        name,
        aws_sdk_lambda::types::Runtime::Python312,
        handler,
        timeout,
    )
    .await
}

/// [`create_function`] with another runtime named in the function's configuration.
pub async fn create_function_in(
    client: &Client,
    name: &str,
    runtime: aws_sdk_lambda::types::Runtime,
    handler: &str,
    timeout: i32,
) -> String {
    let empty_zip = vec![
        0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    client
        .create_function()
        .function_name(name)
        .runtime(runtime)
        .role(ROLE)
        .handler(handler)
        .timeout(timeout)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateFunction {name}: {}",
                aws_sdk_lambda::error::DisplayErrorContext(&e)
            )
        });
    let out = client
        .get_function()
        .function_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetFunction {name}: {}", aws_sdk_lambda::error::DisplayErrorContext(&e)));
    out.code()
        .and_then(|c| c.location())
        .expect("Code.Location names the Runtime API")
        .to_string()
}

/// The path of the pinned Python with `awslambdaric`, `aws-lambda-powertools` and boto3, from
/// `scripts/lambda-python` (which installs it on first use); panics when the script fails or
/// takes over 6 minutes. It blocks the calling thread: the first call may install for a while.
pub fn lambda_python() -> PathBuf {
    // Parallel tests in one process ask once; the script itself serializes across processes.
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| run_tool_script("lambda-python", INSTALL_TIMEOUT))
        .clone()
}

/// The path of the pinned Node.js runtime interface client's launcher (`aws-lambda-ric`'s
/// `bin/index.mjs`), from `scripts/lambda-node` (which installs it on first use, building its
/// native addon); panics when the script fails or takes over 10 minutes.
pub fn lambda_node() -> PathBuf {
    static LAUNCHER: OnceLock<PathBuf> = OnceLock::new();
    LAUNCHER
        .get_or_init(|| run_tool_script("lambda-node", NODE_INSTALL_TIMEOUT))
        .clone()
}

/// Runs `scripts/<name>`, which prints the path of what it installed, and returns that path;
/// panics after `timeout`.
fn run_tool_script(name: &str, timeout: Duration) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts").join(name);
    let logs = tempfile::Builder::new()
        .prefix(&format!("sluice-{name}-"))
        .tempdir()
        .expect("create temp dir for the script's output");
    let stdout_path = logs.path().join("stdout");
    let stderr_path = logs.path().join("stderr");
    let stdout = std::fs::File::create(&stdout_path).expect("create stdout file");
    let stderr = std::fs::File::create(&stderr_path).expect("create stderr file");
    // Files, not pipes: nobody has to drain pip's output while we wait. A process group of its
    // own, so a timeout kills pip too, not just the shell.
    let mut child = Command::new(&script)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) => {
                kill_group(&child);
                let _ = child.wait();
                panic!(
                    "{} did not finish within {timeout:?}; its stderr:\n{}",
                    script.display(),
                    crate::file_tail(&stderr_path, 8192)
                );
            }
            Err(e) => panic!("wait for {}: {e}", script.display()),
        }
    };
    let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let installed = PathBuf::from(out.trim());
    assert!(
        status.success() && installed.is_file(),
        "{} failed ({status}): stdout {out:?}, stderr:\n{}",
        script.display(),
        crate::file_tail(&stderr_path, 8192)
    );
    installed
}

fn kill_group(child: &Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on the process group of a child we spawned with process_group(0) and have
    // not reaped, so the group id is still ours.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// The environment Lambda gives a process of `function` whose Runtime API is `runtime_api`
/// (`host:port`, no scheme: the only form all of AWS's runtime clients accept).
pub fn handler_env(function: &str, runtime_api: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_string()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_DEFAULT_REGION", REGION.to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2000/01/01/[$LATEST]sluicetests".to_string(),
        ),
        // A handler calling Sluice back with boto3 or the Rust SDK signs with the tests' key.
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The lines of `handled.txt` in `dir`, where the tests' handlers write what they handled;
/// none while the file does not exist.
pub fn handled_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("handled.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A running handler process (see the module docs); killed when dropped.
pub struct Handler {
    child: Option<Child>,
    /// Holds `handler.log` (and nothing else) until the handle drops.
    dir: TempDir,
    what: String,
}

impl Handler {
    /// Runs `python -m awslambdaric <handler>` (`handler` is `module.function`) in `dir`, the
    /// function's code folder, for `function` against `runtime_api`; `python` is usually
    /// [`lambda_python`].
    pub fn python(python: &Path, dir: &Path, handler: &str, function: &str, runtime_api: &str) -> Handler {
        let mut cmd = handler_command(python, function, runtime_api);
        cmd.args(["-m", "awslambdaric", handler])
            .current_dir(dir)
            .env("LAMBDA_TASK_ROOT", dir)
            .env("_HANDLER", handler)
            // print() in a handler reaches the log at once, not when a buffer fills.
            .env("PYTHONUNBUFFERED", "1");
        Handler::spawn(cmd, format!("python {handler} for {function}"))
    }

    /// Runs `node <launcher> <handler>` (`handler` is `file.export`; `launcher` is usually
    /// [`lambda_node`]) in `dir`, the function's code folder, as AWS's Node.js base images run
    /// `aws-lambda-ric`.
    pub fn node(launcher: &Path, dir: &Path, handler: &str, function: &str, runtime_api: &str) -> Handler {
        let mut cmd = handler_command(Path::new("node"), function, runtime_api);
        cmd.arg(launcher)
            .arg(handler)
            .current_dir(dir)
            .env("LAMBDA_TASK_ROOT", dir)
            .env("_HANDLER", handler);
        Handler::spawn(cmd, format!("node {handler} for {function}"))
    }

    /// Runs `lambda-test-handler` for `function` against `runtime_api`, with `extra_env` on top
    /// (`TEST_HANDLER_EVENT`, `TEST_HANDLER_OUT`; see `src/bin/lambda-test-handler.rs`).
    pub fn rust<I, K, V>(function: &str, runtime_api: &str, extra_env: I) -> Handler
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut cmd = handler_command(&test_handler_binary(), function, runtime_api);
        // lambda_runtime's log subscriber colours its lines unless told not to (tracing-subscriber
        // honours NO_COLOR), and escape codes make the log file hard to read.
        cmd.env("NO_COLOR", "1").envs(extra_env);
        Handler::spawn(cmd, format!("lambda-test-handler for {function}"))
    }

    fn spawn(mut cmd: Command, what: String) -> Handler {
        let dir = tempfile::Builder::new()
            .prefix("sluice-handler-")
            .tempdir()
            .expect("create temp dir for the handler log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("handler.log"))
            .expect("open handler log");
        let log2 = log.try_clone().expect("clone handler log handle");
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what} ({:?}): {e}", cmd.get_program()));
        Handler {
            child: Some(child),
            dir,
            what,
        }
    }

    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The path of the process's log (stdout and stderr).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("handler.log")
    }

    /// Everything the process has written so far.
    pub fn log(&self) -> String {
        let mut buf = Vec::new();
        if let Ok(mut f) = std::fs::File::open(self.log_path()) {
            let _ = f.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// The exit status if the process has exited (e.g. `lambda-test-handler` after `CRASH`: 3).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        child.try_wait().expect("wait for the handler process")
    }

    /// Waits at most `timeout` for the process to exit; its status, or `None` if it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// SIGKILLs and reaps the process (a handler dying mid-invocation); the log stays readable.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- {} log tail ({}) ---\n{}",
                self.what,
                self.log_path().display(),
                crate::file_tail(&self.log_path(), 4096)
            );
        }
    }
}

/// `program` with the environment of a process of `function` (see the module docs).
fn handler_command(program: &Path, function: &str, runtime_api: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    for name in PASS_THROUGH {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.envs(handler_env(function, runtime_api))
        // Without HOME, botocore still finds ~/.aws through the password database: point both
        // SDKs' shared files at an empty one, as on Lambda, where there are none.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    cmd
}

/// The path of `lambda-test-handler`, next to the test binary: test binaries live in
/// `target/<profile>/deps`, the package's binaries in `target/<profile>` (cargo builds them for
/// the tests of `tests/`); for running it under another supervisor than [`Handler`].
pub fn test_handler_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut candidates = Vec::new();
    if let Some(dir) = exe.parent() {
        candidates.push(dir.join("../lambda-test-handler"));
        // a binary in target/<profile> itself (sluice-load) finds it beside it
        candidates.push(dir.join("lambda-test-handler"));
    }
    for c in &candidates {
        if c.is_file() {
            return c.canonicalize().unwrap_or_else(|_| c.clone());
        }
    }
    panic!("lambda-test-handler not found (looked at {candidates:?}); run `cargo build --workspace --bins` first");
}

/// One record a consumer finished: a line of `lambda-test-handler`'s out file, also written by
/// `lambda-bench`'s hand-written SDK consumers so both do the same work per record.
pub struct HandledRecord<'a> {
    /// The SQS `messageId`, the Kinesis `sequenceNumber` or the SNS `MessageId`.
    pub id: Option<&'a str>,
    /// The SQS body, the Kinesis data as UTF-8, or the SNS `Message`.
    pub body: &'a str,
    /// Kinesis: the shard id.
    pub shard: Option<&'a str>,
    /// FIFO queues: the `MessageGroupId`.
    pub group: Option<&'a str>,
    /// Kinesis: `approximateArrivalTimestamp`, epoch ms.
    pub arrival_ms: Option<i64>,
}

impl HandledRecord<'_> {
    /// Appends the record's JSON line (`{"id", "body", "shard", "group", "arrival_ms", "pid"}`
    /// and a newline) to `out`.
    pub fn push_line(&self, out: &mut String) {
        let line = serde_json::json!({
            "id": self.id,
            "body": self.body,
            "shard": self.shard,
            "group": self.group,
            "arrival_ms": self.arrival_ms,
            "pid": std::process::id(),
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
}

/// Appends `lines` (whole lines) to the file at `path` with one `write` on a file opened for
/// appending, so concurrent writers never interleave within a line or a batch.
pub fn append_lines(path: &Path, lines: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(lines.as_bytes())
}

/// One line a consumer wrote per record it handled ([`HandledRecord`]), read back.
#[derive(Debug, Clone)]
pub struct Handled {
    /// The record's id (`messageId`, `sequenceNumber`, SNS `MessageId`); empty when absent.
    pub id: String,
    /// The record's body.
    pub body: String,
    /// Kinesis: the shard id.
    pub shard: Option<String>,
    /// FIFO queues: the message group.
    pub group: Option<String>,
    /// Kinesis: the arrival time the handler's library read, epoch ms.
    pub arrival_ms: Option<i64>,
    /// The process that handled it.
    pub pid: Option<u64>,
}

/// Every record in the out file at `path` (none when it does not exist yet), in file order.
pub fn handled(path: &Path) -> Vec<Handled> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| Handled {
            id: v["id"].as_str().unwrap_or_default().to_string(),
            body: v["body"].as_str().unwrap_or_default().to_string(),
            shard: v["shard"].as_str().map(str::to_string),
            group: v["group"].as_str().map(str::to_string),
            arrival_ms: v["arrival_ms"].as_i64(),
            pid: v["pid"].as_u64(),
        })
        .collect()
}

/// The distinct bodies among `records`.
pub fn distinct_bodies(records: &[Handled]) -> std::collections::HashSet<String> {
    records.iter().map(|r| r.body.clone()).collect()
}

/// Waits until `done` holds for the records handled into `path`, at most `limit`; panics with
/// `what` and `log()` (the handlers' log) when it does not.
pub async fn wait_for_handled(
    path: &Path,
    limit: Duration,
    what: &str,
    log: impl Fn() -> String,
    done: impl Fn(&[Handled]) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        let records = handled(path);
        if done(&records) {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{what}: not within {limit:?}; {} distinct handled; handler log:\n{}",
                distinct_bodies(&records).len(),
                log()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `sluice handlers` running the Rust test handler, so handlers come back after the broker
/// they talk to was killed (a runtime client exits when its Runtime API goes away). Stopped
/// when dropped (a failing test included): SIGTERM, so it stops its handler processes, then
/// SIGKILL after 10 s.
pub struct Supervisor(Child);

impl Supervisor {
    /// Starts `sluice handlers --function <function> --runtime-api <runtime_api>` with one
    /// `lambda-test-handler` reading `kind` events into `out`; its output goes to `log`.
    pub fn start(function: &str, runtime_api: &str, kind: &str, out: &Path, log: &Path) -> Supervisor {
        let log = std::fs::File::create(log).expect("log file");
        let child = Command::new(crate::broker::binary_path())
            .args(["handlers", "--function", function, "--runtime-api", runtime_api, "--"])
            .arg(test_handler_binary())
            .env("TEST_HANDLER_EVENT", kind)
            .env("TEST_HANDLER_OUT", out)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn sluice handlers");
        Supervisor(child)
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.0.id()) {
            // SAFETY: kill(2) on the pid of a child this process started and has not reaped.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
