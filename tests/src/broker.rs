//! [`Broker`]: one `sluice serve` child process on a free loopback port.
//!
//! The port is found by binding `127.0.0.1:0` and dropping the listener (Iggy's port reserver
//! does the same); there is a short window in which another process could take it, so start-up
//! retries with a fresh port when the child exits early. Restarts reuse the port so queue URLs
//! stay valid. stdout and stderr go to `broker.log` beside the data folder; the log's tail is
//! printed when a test panics while the broker is alive, and in every start-up failure.
//!
//! A cluster node can also run on a host of [`crate::netns`] ([`Broker::spawn_cluster_node_on`]):
//! spawned as `ip netns exec <ns> sluice serve ...` (which execs, so the pid is the broker's and
//! SIGKILL/SIGSTOP reach it), bound to `0.0.0.0:4566` in its namespace, advertising its
//! cluster-network address; [`Broker::endpoint`] is then its client-network address.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::netns::Host;

const START_TIMEOUT: Duration = Duration::from_secs(20);
// Above the broker's default 30 s drain (`--shutdown-timeout`): a SIGTERM lets open long polls
// (up to 20 s) finish before the process exits.
const STOP_TIMEOUT: Duration = Duration::from_secs(35);
/// The port of a node in a namespace of its own (Sluice's default; nobody else is there).
const NAMESPACED_PORT: u16 = 4566;
/// How long `ip netns exec` may take to exec the broker.
const EXEC_TIMEOUT: Duration = Duration::from_secs(5);

/// A running (or stopped, between `stop` and `start_again`) `sluice` process.
pub struct Broker {
    child: Option<Child>,
    port: u16,
    root: TempDir,
    args: Vec<String>,
    /// The namespace the broker runs in, `None` on loopback.
    host: Option<Host>,
}

impl Broker {
    /// Starts a broker with default settings.
    pub async fn start() -> Broker {
        Broker::start_with(&[]).await
    }

    /// Starts a broker with extra `sluice serve` arguments (e.g. `["--durability", "fsync"]`).
    pub async fn start_with(args: &[&str]) -> Broker {
        let root = tempfile::Builder::new()
            .prefix("sluice-e2e-")
            .tempdir()
            .expect("create temp dir for broker");
        std::fs::create_dir_all(root.path().join("data")).expect("create data dir");
        let mut broker = Broker {
            child: None,
            port: 0,
            root,
            args: args.iter().map(|a| a.to_string()).collect(),
            host: None,
        };
        // A port picked by binding :0 can be taken by someone else before the broker binds it;
        // try a few fresh ports before giving up.
        let mut last_error = String::new();
        for _ in 0..3 {
            broker.port = free_port();
            match broker.spawn_and_wait().await {
                Ok(()) => return broker,
                Err(e) => last_error = e,
            }
        }
        panic!(
            "sluice did not start: {last_error}\n--- broker log tail ---\n{}",
            broker.log_tail(8192)
        );
    }

    /// `http://127.0.0.1:PORT`, the endpoint to give SDK clients (in a namespace: its
    /// client-network address).
    pub fn endpoint(&self) -> String {
        let addr = self.host.as_ref().map_or(Ipv4Addr::LOCALHOST, |h| h.client_addr);
        format!("http://{addr}:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder passed as `--data-dir`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The process id of the running broker, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// An SDK client for this broker (see [`crate::sqs_client`]).
    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        crate::sqs_client(&self.endpoint()).await
    }

    /// Graceful stop: SIGTERM, then wait up to 35 s for exit (SIGKILL after that, and panic,
    /// since a broker that ignores SIGTERM is a bug the restart tests must report).
    pub async fn stop(&mut self) {
        self.stop_with_status().await;
    }

    /// Like [`Broker::stop`], returning the exit status and how long the exit took after the
    /// signal (`None` when no broker was running).
    pub async fn stop_with_status(&mut self) -> Option<(std::process::ExitStatus, Duration)> {
        let mut child = self.child.take()?;
        signal(&child, libc::SIGTERM);
        let signalled = Instant::now();
        let deadline = signalled + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some((status, signalled.elapsed())),
                Ok(None) => {}
                Err(e) => panic!("waiting for sluice to exit: {e}"),
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "sluice did not exit within {STOP_TIMEOUT:?} of SIGTERM\n--- broker log tail ---\n{}",
                    self.log_tail(4096)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, wait for exit, start again on the same data folder and port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// SIGKILL (a crash: no shutdown code runs) and reap the process.
    pub fn kill9(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the stopped or killed broker again on the same data folder and port.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "start_again on a running broker");
        if let Err(e) = self.spawn_and_wait().await {
            panic!(
                "sluice did not restart: {e}\n--- broker log tail ---\n{}",
                self.log_tail(8192)
            );
        }
    }

    /// Everything the broker printed so far (all runs).
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(self.log_path()) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn log_path(&self) -> PathBuf {
        self.root.path().join("broker.log")
    }

    fn log_tail(&self, max: u64) -> String {
        crate::file_tail(&self.log_path(), max)
    }

    /// A cluster node (`--cluster`, `--node-id`, and `--advertise` naming its own port, with
    /// `https://` when `extra` has `--tls-cert`) with `extra` arguments. It does not wait: a node serves only once it is the writer (see
    /// [`Broker::wait_serving`]).
    pub fn spawn_cluster_node(nats_urls: &[String], node_id: &str, extra: &[&str]) -> Broker {
        Broker::spawn_cluster_node_placed(None, nats_urls, node_id, extra)
    }

    /// Like [`Broker::spawn_cluster_node`], on `host` (see the module docs): it advertises
    /// `http://<cluster address>:4566`, and [`Broker::endpoint`] is its client address.
    pub fn spawn_cluster_node_on(host: &Host, nats_urls: &[String], node_id: &str, extra: &[&str]) -> Broker {
        Broker::spawn_cluster_node_placed(Some(host.clone()), nats_urls, node_id, extra)
    }

    fn spawn_cluster_node_placed(host: Option<Host>, nats_urls: &[String], node_id: &str, extra: &[&str]) -> Broker {
        let root = tempfile::Builder::new()
            .prefix("sluice-node-")
            .tempdir()
            .expect("create temp dir for broker");
        std::fs::create_dir_all(root.path().join("data")).expect("create data dir");
        let scheme = if extra.contains(&"--tls-cert") { "https" } else { "http" };
        let (port, advertised) = match &host {
            Some(host) => (NAMESPACED_PORT, host.cluster_addr),
            None => (free_port(), Ipv4Addr::LOCALHOST),
        };
        let mut args = vec![
            "--cluster".to_string(),
            nats_urls.join(","),
            "--node-id".to_string(),
            node_id.to_string(),
            "--advertise".to_string(),
            // A node with --tls-cert serves HTTPS only, so it advertises an https:// address.
            format!("{scheme}://{advertised}:{port}"),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut broker = Broker {
            child: None,
            port,
            root,
            args,
            host,
        };
        if let Err(e) = broker.spawn() {
            panic!("{e}");
        }
        broker
    }

    /// The last `max` lines of the node's log that tell its story in cluster mode (roles,
    /// lease, warnings), headed by `name`, for failure messages.
    pub fn cluster_story(&self, name: &str, max: usize) -> String {
        let log = self.log();
        let keep = [
            "WARN",
            "ERROR",
            "lease",
            "writing",
            "epoch",
            "catching up",
            "standby",
            "panicked",
            "error:",
        ];
        let lines: Vec<&str> = log.lines().filter(|l| keep.iter().any(|k| l.contains(k))).collect();
        let tail = &lines[lines.len().saturating_sub(max)..];
        format!(
            "--- node {name} ({}): {} matching lines of {}, the last {} ---\n{}\n",
            self.endpoint(),
            lines.len(),
            log.lines().count(),
            tail.len(),
            tail.join("\n")
        )
    }

    /// One unlabelled series of the node's `/metrics` as a whole number (gauges and counters),
    /// if the node answers in time and has it.
    pub async fn metric(&self, name: &str) -> Option<u64> {
        let url = format!("{}/metrics", self.endpoint());
        let body = crate::raw::get_with_timeout(&url, Duration::from_secs(2))
            .await
            .ok()?
            .body;
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v as u64)
    }

    /// Starts the killed node again without waiting for it to serve.
    pub fn spawn_again(&mut self) {
        assert!(self.child.is_none(), "spawn_again on a running broker");
        if let Err(e) = self.spawn() {
            panic!("{e}");
        }
    }

    /// Waits (at most `limit`) until the broker answers `/ready` with 200 (a cluster node:
    /// once it writes; a standby answers 503); `Err` with the reason when it exited or did not
    /// get ready in time.
    pub async fn wait_serving(&mut self, limit: Duration) -> Result<(), String> {
        self.wait_for("/ready", limit).await
    }

    /// SIGSTOP: the process stays alive but runs nothing (a long GC pause, a frozen VM).
    pub fn pause(&self) {
        if let Some(child) = &self.child {
            signal(child, libc::SIGSTOP);
        }
    }

    /// SIGCONT after [`Broker::pause`].
    pub fn resume(&self) {
        if let Some(child) = &self.child {
            signal(child, libc::SIGCONT);
        }
    }

    /// Waits (at most `limit`) for the process to exit by itself; its status, or `None` if it
    /// is still running.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            let status = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = status {
                self.child = None;
                return Some(status);
            }
            if self.child.is_none() || Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    async fn spawn_and_wait(&mut self) -> Result<(), String> {
        self.spawn()?;
        self.wait_for("/health", START_TIMEOUT).await
    }

    fn spawn(&mut self) -> Result<(), String> {
        let bin = binary_path();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("open broker log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| format!("clone log handle: {e}"))?;
        let (mut cmd, bind) = match &self.host {
            // Every address of the host: other hosts forward to it, the test calls it.
            Some(host) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", host.namespace.as_str()]).arg(&bin);
                (cmd, Ipv4Addr::UNSPECIFIED)
            }
            None => (Command::new(&bin), Ipv4Addr::LOCALHOST),
        };
        cmd.arg("serve")
            .arg("--bind")
            .arg(format!("{bind}:{}", self.port))
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        let child = cmd.spawn().map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        let pid = child.id();
        self.child = Some(child);
        if self.host.is_some() {
            crate::netns::wait_exec(pid, &bin, EXEC_TIMEOUT)?;
        }
        Ok(())
    }

    async fn wait_for(&mut self, path: &str, limit: Duration) -> Result<(), String> {
        let url = format!("{}{path}", self.endpoint());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("sluice exited during start-up with {status}"));
                }
            }
            if self.args.iter().any(|a| a == "--tls-cert") {
                // A TLS broker does not answer plain HTTP: wait for its start-up line instead.
                if self.log().contains("listening on https://") {
                    return Ok(());
                }
            } else if let Ok(resp) = crate::raw::get_with_timeout(&url, Duration::from_millis(500)).await {
                if resp.status == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                self.kill9();
                return Err(format!("{path} did not answer 200 within {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = child.kill();
        let _ = child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- sluice log tail (port {}, {}) ---\n{}",
                self.port,
                self.root.path().display(),
                self.log_tail(4096)
            );
        }
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: plain kill(2) on a child we spawned and have not reaped yet, so the pid is ours.
    unsafe {
        libc::kill(pid, sig);
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// `SLUICE_BIN`, else `<dir of current_exe>/../sluice` (test binaries live in
/// `target/<profile>/deps`, the broker in `target/<profile>`).
pub fn binary_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SLUICE_BIN") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "SLUICE_BIN={} is not a file", p.display());
        return p;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let mut candidates = Vec::new();
    if let Some(dir) = exe.parent() {
        candidates.push(dir.join("../sluice"));
        // the load tool itself lives in target/<profile>, next to the broker
        candidates.push(dir.join("sluice"));
    }
    for c in &candidates {
        if c.is_file() {
            return normalize(c);
        }
    }
    panic!(
        "sluice binary not found (looked at {:?}); run `cargo build -p sluice-server` first, \
         or set SLUICE_BIN",
        candidates
    );
}

fn normalize(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}
