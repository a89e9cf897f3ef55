//! [`Browser`]: a real headless Chromium driven over WebDriver, for the web console's tests.
//!
//! # Parts
//! - `scripts/chromium` finds Debian's `chromium` and `chromedriver` and installs both packages
//!   when either is missing (see its header); [`Browser::start`] runs it once per test process
//!   and keeps its answer, a failure included, so later tests fail at once with the same reason.
//! - One `chromedriver --port=<free loopback port>` per [`Browser`], in a process group of its
//!   own, with `TZ=UTC` (dates in the page are the same on every machine) and
//!   `XDG_CONFIG_HOME` in the temporary folder (Chromium's crash database, which ignores
//!   `--user-data-dir`, goes there rather than into `~/.config/chromium`); its log
//!   (`--log-level=INFO`: every command and answer) goes to `chromedriver.log` in the Browser's
//!   temporary folder. Start-up waits for `/status` to say `ready`, and retries with a fresh
//!   port when chromedriver exits early (someone took the port: see `sluice_tests::broker`).
//! - One WebDriver session through `fantoccini` (plain HTTP to chromedriver; no TLS stack),
//!   for Chromium with `--headless=new`, `--no-sandbox` (tests run as root, where Chromium's
//!   sandbox refuses to start), `--disable-gpu`, `--disable-dev-shm-usage` (a small /dev/shm in
//!   containers crashes tabs), a fresh `--user-data-dir` in the temporary folder, a 1280x900
//!   window, `--lang=en-US`, and no background requests to Google's services (component
//!   updates, pings): the machine's network is loopback only.
//! - The methods the console tests use, each taking a CSS selector where it acts on an element:
//!   [`Browser::goto`], [`Browser::wait_for`], [`Browser::text`], [`Browser::click`],
//!   [`Browser::fill`], [`Browser::wait_text`], [`Browser::screenshot`], [`Browser::eval`],
//!   [`Browser::cookies`], [`Browser::set_window_size`].
//!
//! # Invariants
//! - Every wait is bounded: the install (15 min: apt-get, possibly behind another process's
//!   install), chromedriver's start (10 s), the session and so Chromium's start (60 s), each
//!   WebDriver command (30 s; page loads and scripts too, through the session's timeouts), and
//!   element waits (10 s in the methods that take no timeout). Deadlines use `tokio::time`, so a
//!   test that pauses tokio's clock must not drive a browser meanwhile.
//! - Harness failures panic with the tail of chromedriver's log; a test that panics otherwise
//!   while a [`Browser`] is alive gets the tail printed when the Browser drops.
//! - Dropping a [`Browser`] (a panicking test included) deletes the session when chromedriver
//!   still answers (bounded, 5 s), then SIGKILLs chromedriver's process group, which holds
//!   Chromium and its helpers, and reaps chromedriver. Chromium's two crash handlers
//!   (`chrome_crashpad_handler`) detach into a session of their own, out of the group; they
//!   name the temporary folder in their command line (`--database`), so they are found in
//!   `/proc` and SIGKILLed too. (`--disable-crashpad-for-testing` would avoid them, but then
//!   Chromium 156's renderers hang on the first navigation.) The temporary folder goes last.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fantoccini::error::CmdError;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::OnceCell;
use tokio::time::Instant;

pub use fantoccini::elements::Element;

/// Bounds `scripts/chromium`: its own lock wait (10 min) plus an install (under a minute on a
/// fresh machine with a near mirror).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
/// Bounds chromedriver's start until `/status` says ready.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(10);
/// Bounds New Session, which starts Chromium (slow on a 2-core machine under a parallel build).
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// Bounds every other WebDriver command; also the session's page load and script timeouts.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the methods without a timeout argument wait for their element to appear.
const ELEMENT_WAIT: Duration = Duration::from_secs(10);
/// Bounds each step of the session's deletion when the Browser drops.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(100);
/// The window every Browser starts with.
pub const WINDOW: (u32, u32) = (1280, 900);
/// How much of chromedriver's log a failure shows.
const LOG_TAIL: u64 = 6000;

/// The binaries `scripts/chromium` printed.
#[derive(Debug, Clone)]
pub struct Tools {
    /// Chromium, as Debian starts it (`/usr/bin/chromium`, its launcher script).
    pub chromium: PathBuf,
    /// The ChromeDriver of the same major version.
    pub chromedriver: PathBuf,
}

/// The paths from `scripts/chromium`, which installs the packages on first use; the script runs
/// once per process (on a blocking thread, so a broker in the same runtime keeps serving), and a
/// failure is kept too, so every later call panics at once with the same message.
pub async fn tools() -> Tools {
    static TOOLS: OnceCell<Result<Tools, String>> = OnceCell::const_new();
    let found = TOOLS
        .get_or_init(|| async {
            tokio::task::spawn_blocking(run_chromium_script)
                .await
                .unwrap_or_else(|e| Err(format!("scripts/chromium's thread failed: {e}")))
        })
        .await;
    match found {
        Ok(tools) => tools.clone(),
        Err(e) => panic!("{e}"),
    }
}

fn run_chromium_script() -> Result<Tools, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/chromium");
    let logs = tempfile::Builder::new()
        .prefix("sluice-chromium-script-")
        .tempdir()
        .map_err(|e| format!("create temp dir for scripts/chromium's output: {e}"))?;
    let stdout_path = logs.path().join("stdout");
    let stderr_path = logs.path().join("stderr");
    let stdout = std::fs::File::create(&stdout_path).map_err(|e| format!("create stdout file: {e}"))?;
    let stderr = std::fs::File::create(&stderr_path).map_err(|e| format!("create stderr file: {e}"))?;
    // Files, not pipes: nobody has to drain apt's output while we wait. A process group of its
    // own, so a timeout kills apt-get too, not just the shell.
    let mut child = Command::new(&script)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("run {}: {e}", script.display()))?;
    let deadline = std::time::Instant::now() + INSTALL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) => {
                kill_group(&child);
                let _ = child.wait();
                return Err(format!(
                    "{} did not finish within {INSTALL_TIMEOUT:?}; its stderr:\n{}",
                    script.display(),
                    sluice_tests::file_tail(&stderr_path, 8192)
                ));
            }
            Err(e) => return Err(format!("wait for {}: {e}", script.display())),
        }
    };
    let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let paths: Vec<PathBuf> = out.lines().map(PathBuf::from).collect();
    match paths.as_slice() {
        [chromium, chromedriver] if status.success() && chromium.is_file() && chromedriver.is_file() => Ok(Tools {
            chromium: chromium.clone(),
            chromedriver: chromedriver.clone(),
        }),
        _ => Err(format!(
            "{} failed ({status}): stdout {out:?}, stderr:\n{}",
            script.display(),
            sluice_tests::file_tail(&stderr_path, 8192)
        )),
    }
}

/// A cookie of the current page as the browser holds it (HttpOnly ones included: WebDriver
/// sees what page scripts cannot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieInfo {
    pub name: String,
    pub value: String,
    pub http_only: bool,
    pub secure: bool,
    /// `"Strict"`, `"Lax"` or `"None"`; Chromium reports `"Lax"` for a cookie set without
    /// the attribute (its default since Chrome 80).
    pub same_site: Option<String>,
    pub path: Option<String>,
}

/// What [`Browser::wait_text`] waits for: a `&str` or `String` is a substring; a closure
/// `|text: &str| ...` a predicate (the parameter's type must be written out).
pub trait TextMatch {
    fn matches(&self, text: &str) -> bool;
    /// For the failure message.
    fn describe(&self) -> String;
}

impl TextMatch for &str {
    fn matches(&self, text: &str) -> bool {
        text.contains(*self)
    }

    fn describe(&self) -> String {
        format!("text containing {self:?}")
    }
}

impl TextMatch for String {
    fn matches(&self, text: &str) -> bool {
        text.contains(self.as_str())
    }

    fn describe(&self) -> String {
        format!("text containing {self:?}")
    }
}

// No overlap with the impls above: the Fn traits are #[fundamental], so `&str` is known never to
// implement them (regex's `Replacer` relies on the same rule).
impl<F: Fn(&str) -> bool> TextMatch for F {
    fn matches(&self, text: &str) -> bool {
        self(text)
    }

    fn describe(&self) -> String {
        String::from("text matching the predicate")
    }
}

/// A headless Chromium session (see the module docs); everything stops when it drops.
pub struct Browser {
    client: Client,
    session_id: Option<String>,
    driver: Driver,
    /// Set once a panic message carried the log's tail, so `Drop` does not print it again.
    tail_shown: AtomicBool,
}

impl Browser {
    /// Installs Chromium if needed ([`tools`]), starts chromedriver and opens a session; panics
    /// (with chromedriver's log) when any of it fails or takes too long.
    pub async fn start() -> Browser {
        let tools = tools().await;
        let dir = tempfile::Builder::new()
            .prefix("sluice-browser-")
            .tempdir()
            .expect("create temp dir for the browser");
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile).expect("create the browser profile dir");
        let driver = Driver::start(&tools.chromedriver, dir).await;

        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities(&tools.chromium, &profile));
        let client = match tokio::time::timeout(SESSION_TIMEOUT, builder.connect(&driver.url())).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("new WebDriver session: {e}{}", driver.tail()),
            Err(_) => panic!("new WebDriver session: not within {SESSION_TIMEOUT:?}{}", driver.tail()),
        };
        let mut browser = Browser {
            client,
            session_id: None,
            driver,
            tail_shown: AtomicBool::new(false),
        };
        browser.session_id = browser
            .bounded("read the session id", browser.client.session_id())
            .await;
        browser
    }

    /// The Browser's temporary folder: chromedriver's log, Chromium's profile; a good place for
    /// screenshots that should go away with the Browser.
    pub fn dir(&self) -> &Path {
        self.driver.dir.path()
    }

    /// Opens `url` and waits for its load event (bounded by the session's page-load timeout).
    pub async fn goto(&self, url: &str) {
        self.bounded(&format!("open {url}"), self.client.goto(url)).await
    }

    /// The first element matching `css`, waiting at most `timeout` for one to appear.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        let wait = self
            .client
            .wait()
            .at_most(timeout)
            .every(POLL)
            .for_element(Locator::Css(css));
        match tokio::time::timeout(timeout + COMMAND_TIMEOUT, wait).await {
            Ok(Ok(element)) => element,
            Ok(Err(e)) => self.fail(format!("wait for {css:?} (at most {timeout:?}): {e}")),
            Err(_) => self.fail(format!(
                "wait for {css:?}: no answer within {:?}",
                timeout + COMMAND_TIMEOUT
            )),
        }
    }

    /// The rendered text of the first element matching `css` (waiting up to 10 s for it): what
    /// a person sees, so hidden elements give "".
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css, ELEMENT_WAIT).await;
        self.bounded(&format!("text of {css:?}"), element.text()).await
    }

    /// Clicks the first element matching `css` (waiting up to 10 s for it).
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css, ELEMENT_WAIT).await;
        self.bounded(&format!("click {css:?}"), element.click()).await
    }

    /// Replaces the value of the input matching `css` (waiting up to 10 s for it) with `text`,
    /// typed as keystrokes, so the page's input events fire.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css, ELEMENT_WAIT).await;
        self.bounded(&format!("clear {css:?}"), element.clear()).await;
        self.bounded(&format!("type into {css:?}"), element.send_keys(text))
            .await
    }

    /// Waits at most `timeout` until the text of the first element matching `css` matches
    /// `expected` (a substring, or a closure `|text: &str| ...`); returns that text.
    pub async fn wait_text(&self, css: &str, expected: impl TextMatch, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            // The element may appear, go and be replaced while the page renders.
            if let Ok(element) = self.bounded_quiet(self.client.find(Locator::Css(css))).await {
                if let Ok(text) = self.bounded_quiet(element.text()).await {
                    if expected.matches(&text) {
                        return text;
                    }
                    last = Some(text);
                }
            }
            if Instant::now() >= deadline {
                let seen = match last {
                    Some(text) => format!("its last text was {text:?}"),
                    None => String::from("no such element was ever found"),
                };
                self.fail(format!(
                    "wait for {} in {css:?}: not within {timeout:?}; {seen}",
                    expected.describe()
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.bounded("take a screenshot", self.client.screenshot()).await;
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            self.fail(format!("the screenshot is not a PNG ({} bytes)", png.len()));
        }
        if let Err(e) = std::fs::write(path, &png) {
            self.fail(format!("write the screenshot to {}: {e}", path.display()));
        }
    }

    /// Runs `js` in the page as the body of a function (so `return document.title`) and
    /// returns its result as JSON (elements come back as WebDriver references).
    pub async fn eval(&self, js: &str) -> Value {
        self.bounded("run a script", self.client.execute(js, Vec::new())).await
    }

    /// The cookies the browser would send to the current page.
    pub async fn cookies(&self) -> Vec<CookieInfo> {
        let cookies = self.bounded("read the cookies", self.client.get_all_cookies()).await;
        cookies
            .iter()
            .map(|c| CookieInfo {
                name: c.name().to_string(),
                value: c.value().to_string(),
                http_only: c.http_only().unwrap_or(false),
                secure: c.secure().unwrap_or(false),
                same_site: c.same_site().map(|s| s.to_string()),
                path: c.path().map(str::to_string),
            })
            .collect()
    }

    /// Resizes the window to `width` x `height` CSS pixels (a phone: 390 x 844). The viewport
    /// (`innerWidth` x `innerHeight`, what media queries see) is as wide, but shorter: headless
    /// Chromium still reserves the height of its invisible toolbar (143 px in Chromium 156, so
    /// the 1280 x 900 start window has a 1280 x 757 viewport).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.bounded(
            &format!("resize the window to {width}x{height}"),
            self.client.set_window_size(width, height),
        )
        .await
    }

    /// Awaits a WebDriver command for at most [`COMMAND_TIMEOUT`]; panics with chromedriver's
    /// log when it fails or takes longer.
    async fn bounded<T>(&self, what: &str, command: impl std::future::Future<Output = Result<T, CmdError>>) -> T {
        match tokio::time::timeout(COMMAND_TIMEOUT, command).await {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => self.fail(format!("{what}: {e}")),
            Err(_) => self.fail(format!("{what}: no answer within {COMMAND_TIMEOUT:?}")),
        }
    }

    /// Awaits a command for at most [`COMMAND_TIMEOUT`], a timeout being an error like any other.
    async fn bounded_quiet<T>(&self, command: impl std::future::Future<Output = Result<T, CmdError>>) -> Result<T, ()> {
        match tokio::time::timeout(COMMAND_TIMEOUT, command).await {
            Ok(Ok(value)) => Ok(value),
            _ => Err(()),
        }
    }

    fn fail(&self, message: String) -> ! {
        self.tail_shown.store(true, Ordering::Relaxed);
        panic!("browser: {message}{}", self.driver.tail())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.tail_shown.load(Ordering::Relaxed) {
            eprintln!("{}", self.driver.tail());
        }
        // Blocking and runtime-free: a test's runtime may be shutting down, and fantoccini only
        // deletes the session from a task on it. Chromium then exits by itself (its profile
        // flushed); the process group's SIGKILL (Driver's drop) follows either way.
        if let Some(id) = &self.session_id {
            delete_session(self.driver.port, id);
        }
    }
}

/// The New Session capabilities (see the module docs for why each argument).
fn capabilities(chromium: &Path, profile: &Path) -> Capabilities {
    let millis = COMMAND_TIMEOUT.as_millis() as u64;
    let caps = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "timeouts": { "pageLoad": millis, "script": millis, "implicit": 0 },
        "goog:chromeOptions": {
            "binary": chromium.to_string_lossy(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                "--lang=en-US",
                "--disable-component-update",
                "--disable-domain-reliability",
                "--no-pings",
            ],
        },
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// A running chromedriver, in a process group of its own with the Chromium it starts.
struct Driver {
    /// `None` between a failed start attempt and the next.
    child: Option<Child>,
    port: u16,
    /// Holds `chromedriver.log` and the profile; removed after the processes are gone.
    dir: TempDir,
}

impl Driver {
    /// Starts chromedriver on a free loopback port in `dir` and waits until it is ready.
    async fn start(chromedriver: &Path, dir: TempDir) -> Driver {
        // Built first, so its Drop kills the process even if this future is dropped midway.
        let mut driver = Driver {
            child: None,
            port: 0,
            dir,
        };
        let mut last_error = String::new();
        // A port picked by binding :0 can be taken before chromedriver binds it; chromedriver
        // then exits, and a fresh port is tried.
        for _ in 0..3 {
            driver.port = free_port();
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(driver.log_path())
                .expect("open chromedriver.log");
            let log2 = log.try_clone().expect("clone the chromedriver.log handle");
            let child = Command::new(chromedriver)
                .arg(format!("--port={}", driver.port))
                .arg("--log-level=INFO")
                .env("TZ", "UTC")
                .env("XDG_CONFIG_HOME", driver.dir.path().join("config"))
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log2)
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", chromedriver.display()));
            driver.child = Some(child);
            match driver.wait_ready().await {
                Ok(()) => return driver,
                Err(e) => last_error = e,
            }
            driver.kill();
        }
        panic!("chromedriver did not start: {last_error}{}", driver.tail());
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let url = format!("{}/status", self.url());
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("chromedriver exited during start-up with {status}"));
                }
            }
            if let Ok(resp) = sluice_tests::raw::get_with_timeout(&url, Duration::from_millis(500)).await {
                let ready = serde_json::from_str::<Value>(&resp.body)
                    .map(|v| v["value"]["ready"] == Value::Bool(true))
                    .unwrap_or(false);
                if resp.status == 200 && ready {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("{url} did not say ready within {DRIVER_START_TIMEOUT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://{}:{}", Ipv4Addr::LOCALHOST, self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("chromedriver.log")
    }

    /// The log's tail, formatted to end a panic message.
    fn tail(&self) -> String {
        format!(
            "\n--- chromedriver log tail ({}) ---\n{}",
            self.log_path().display(),
            sluice_tests::file_tail(&self.log_path(), LOG_TAIL)
        )
    }

    /// SIGKILLs the whole group (chromedriver and Chromium) and reaps chromedriver, then
    /// SIGKILLs Chromium's crash handlers (see the module docs).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&child);
            let _ = child.wait();
        }
        kill_naming(self.dir.path());
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `DELETE /session/<id>` to chromedriver on `port`, each step bounded by [`CLOSE_TIMEOUT`];
/// errors are ignored (the process group's SIGKILL follows anyway).
fn delete_session(port: u16, id: &str) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, CLOSE_TIMEOUT) else {
        return;
    };
    let _ = stream.set_write_timeout(Some(CLOSE_TIMEOUT));
    let _ = stream.set_read_timeout(Some(CLOSE_TIMEOUT));
    let request = format!(
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return;
    }
    // The answer comes once Chromium has quit, so its head is enough. (chromedriver says
    // `Connection: close` but keeps the connection open: reading to the end would only time out.)
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn kill_group(child: &Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on the process group of a child we spawned with process_group(0) and have
    // not reaped, so the group id is still ours.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// SIGKILLs every process whose command line names a path inside `dir` (not reaped: they
/// are not our children, their parent is init or a subreaper).
fn kill_naming(dir: &Path) {
    let mut needle = dir.as_os_str().as_bytes().to_vec();
    needle.push(b'/');
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let own = std::process::id();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == own {
            continue;
        }
        // A process that exited meanwhile has no command line left (or no /proc entry).
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline.windows(needle.len()).any(|w| w == needle.as_slice()) {
            let Ok(pid) = libc::pid_t::try_from(pid) else { continue };
            // SAFETY: kill(2) on a process that, a moment ago, ran with our temporary folder in
            // its arguments: one of this Browser's, as the folder's name is unique.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
