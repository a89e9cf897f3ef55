//! [`Netns`]: Linux network namespaces as separate "hosts" on two networks, for partition tests.
//!
//! # Layout
//! - Host `i` is the namespace `slp<pid>h<i>` with `lo` up and two interfaces:
//!   - `cluster0` at `10.<x>.1.<i+1>/24` on the *cluster network*: a bridge `slp<pid>cb` in the
//!     root namespace, joined by the root-side veth `slp<pid>c<i>`. [`Netns::cut`] sets that veth
//!     down (the host can reach nobody on the cluster network and nobody reaches it), and
//!     [`Netns::heal`] sets it up again. The root namespace has no address there.
//!   - `client0` at `10.<x>.2.<i+1>/24` on the *client network*: a bridge `slp<pid>kb` holding
//!     `10.<x>.2.254` in the root namespace, joined by `slp<pid>k<i>`. It is never cut, so the
//!     test process always reaches every host by its client address. Its bridge ports are
//!     isolated (`bridge_slave isolated on`): hosts reach the root namespace there, never each
//!     other, so a cut host cannot sneak through the client network (neither network routes to
//!     the other either).
//! - `<x>` is the first of 200..=254 that no root-namespace address or route uses yet.
//! - The process id in every name keeps runs apart; a name is at most 15 bytes (Linux's limit
//!   for interfaces: `slp` + 7 digits + 3).
//!
//! # Invariants
//! - Every `ip` command is checked: a failure while setting up or cutting panics with the
//!   command and its stderr (no namespaces, no test: it never skips silently).
//! - Everything is removed on drop, after a panic too: processes still running in the
//!   namespaces (started by the test) are killed, then the root-side veths (each takes its peer
//!   along), the bridges and the namespaces are deleted. Drop reports failures on stderr
//!   instead of panicking (a second panic would abort and hide the first).
//! - [`Netns::create`] first removes what earlier runs of this harness left behind, but only
//!   names whose pid is no longer a running process.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The prefix of every namespace, bridge and veth this harness creates.
const PREFIX: &str = "slp";
/// Linux's limit on an interface name (IFNAMSIZ - 1).
const MAX_IFNAME: usize = 15;
/// The candidates for the second octet of both networks.
const SUBNETS: std::ops::RangeInclusive<u8> = 200..=254;
/// The interface names inside each namespace (the namespace keeps them apart).
const CLUSTER_IF: &str = "cluster0";
const CLIENT_IF: &str = "client0";

/// One namespaced host as the NATS and Sluice harnesses need it.
#[derive(Debug, Clone)]
pub struct Host {
    /// The `ip netns` name to run its processes in.
    pub namespace: String,
    /// Its address on the cluster network: what other hosts use (routes, `--advertise`).
    pub cluster_addr: Ipv4Addr,
    /// Its address on the client network: what the test process uses.
    pub client_addr: Ipv4Addr,
}

/// A set of namespaced hosts on a cluster network and a client network (see the module docs).
pub struct Netns {
    prefix: String,
    subnet: u8,
    hosts: usize,
    /// Namespaces created so far, for drop.
    namespaces: Vec<String>,
    /// Root-namespace links created so far (veths first, then bridges), for drop.
    links: Vec<String>,
}

impl Netns {
    /// Creates `hosts` hosts (1 to 99) on both networks; panics with the failing `ip` command
    /// when the machine does not allow it (namespaces need root).
    pub fn create(hosts: usize) -> Netns {
        assert!((1..100).contains(&hosts), "1 to 99 hosts, not {hosts}");
        sweep_leftovers();
        let mut net = Netns {
            prefix: format!("{PREFIX}{}", std::process::id()),
            subnet: free_subnet(),
            hosts,
            namespaces: Vec::new(),
            links: Vec::new(),
        };
        let cluster_bridge = net.link_name("cb");
        let client_bridge = net.link_name("kb");
        net.add_bridge(&cluster_bridge, None);
        net.add_bridge(&client_bridge, Some(net.client_bridge_addr()));
        for i in 0..hosts {
            let ns = net.namespace(i);
            ip(&["netns", "add", &ns]);
            net.namespaces.push(ns.clone());
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            let host = net.host(i);
            let (cluster_veth, client_veth) = (net.link_name(&format!("c{i}")), net.link_name(&format!("k{i}")));
            net.add_port(&ns, &cluster_veth, CLUSTER_IF, &cluster_bridge, host.cluster_addr);
            net.add_port(&ns, &client_veth, CLIENT_IF, &client_bridge, host.client_addr);
            ip(&[
                "link",
                "set",
                "dev",
                &client_veth,
                "type",
                "bridge_slave",
                "isolated",
                "on",
            ]);
        }
        net
    }

    /// How many hosts there are.
    pub fn len(&self) -> usize {
        self.hosts
    }

    /// Always false: [`Netns::create`] makes at least one host (clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.hosts == 0
    }

    /// Host `i`'s namespace and addresses.
    pub fn host(&self, i: usize) -> Host {
        assert!(i < self.hosts, "host {i} of {}", self.hosts);
        let last = u8::try_from(i + 1).expect("at most 99 hosts");
        Host {
            namespace: self.namespace(i),
            cluster_addr: Ipv4Addr::new(10, self.subnet, 1, last),
            client_addr: Ipv4Addr::new(10, self.subnet, 2, last),
        }
    }

    /// Cuts host `i` off the cluster network (its client address stays reachable).
    pub fn cut(&self, i: usize) {
        ip(&["link", "set", &self.cluster_veth(i), "down"]);
    }

    /// Joins host `i` to the cluster network again after [`Netns::cut`].
    pub fn heal(&self, i: usize) {
        ip(&["link", "set", &self.cluster_veth(i), "up"]);
    }

    fn namespace(&self, i: usize) -> String {
        format!("{}h{i}", self.prefix)
    }

    fn cluster_veth(&self, i: usize) -> String {
        assert!(i < self.hosts, "host {i} of {}", self.hosts);
        self.link_name(&format!("c{i}"))
    }

    fn link_name(&self, suffix: &str) -> String {
        let name = format!("{}{suffix}", self.prefix);
        assert!(
            name.len() <= MAX_IFNAME,
            "interface name {name} is over {MAX_IFNAME} bytes"
        );
        name
    }

    fn client_bridge_addr(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, self.subnet, 2, 254)
    }

    fn add_bridge(&mut self, name: &str, addr: Option<Ipv4Addr>) {
        ip(&["link", "add", name, "type", "bridge"]);
        self.links.push(name.to_string());
        if let Some(addr) = addr {
            ip(&["addr", "add", &format!("{addr}/24"), "dev", name]);
        }
        ip(&["link", "set", name, "up"]);
    }

    /// A veth from `bridge` in the root namespace to `inner` (at `addr`) in `ns`.
    fn add_port(&mut self, ns: &str, outer: &str, inner: &str, bridge: &str, addr: Ipv4Addr) {
        ip(&["link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns]);
        // Veths go before the bridges: deleting them first leaves empty bridges.
        self.links.insert(0, outer.to_string());
        ip(&["link", "set", outer, "master", bridge, "up"]);
        ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", inner]);
        ip(&["-n", ns, "link", "set", inner, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            kill_processes_in(ns);
        }
        for link in &self.links {
            if let Err(e) = try_ip(&["link", "del", link]) {
                eprintln!("netns clean-up: {e}");
            }
        }
        for ns in &self.namespaces {
            if let Err(e) = try_ip(&["netns", "del", ns]) {
                eprintln!("netns clean-up: {e}");
            }
        }
    }
}

/// Waits (at most `limit`) until process `pid` runs `binary`: `ip netns exec` execs the
/// command in place, so the pid a spawn returns is the program's (signals reach it, not `ip`)
/// once the exec happened. `Err` when it exited first or did not exec in time.
pub fn wait_exec(pid: u32, binary: &Path, limit: Duration) -> Result<(), String> {
    let want = binary.canonicalize().unwrap_or_else(|_| binary.to_path_buf());
    let deadline = Instant::now() + limit;
    loop {
        let last = match std::fs::read_link(format!("/proc/{pid}/exe")) {
            Ok(exe) => exe.to_string_lossy().into_owned(),
            Err(e) => return Err(format!("process {pid} is gone before running {}: {e}", want.display())),
        };
        // A binary rebuilt while it runs reads as "<path> (deleted)".
        if Path::new(last.trim_end_matches(" (deleted)")) == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "process {pid} still runs {last} instead of {} after {limit:?}",
                want.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `ip args`; panics with the command and its stderr when it fails.
fn ip(args: &[&str]) -> String {
    try_ip(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `ip args`; its stdout, or the command and its stderr.
fn try_ip(args: &[&str]) -> Result<String, String> {
    let command = format!("ip {}", args.join(" "));
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("`{command}` could not run: {e} (the partition tests need iproute2)"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let hint = if stderr.contains("Operation not permitted") {
        " (network namespaces need root: CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    } else {
        ""
    };
    Err(format!(
        "`{command}` failed with {}: {}{hint}",
        output.status,
        stderr.trim()
    ))
}

/// The first subnet octet no root-namespace address or route mentions.
fn free_subnet() -> u8 {
    let used = format!(
        "{}\n{}",
        ip(&["-o", "-4", "addr", "show"]),
        ip(&["-4", "route", "show"])
    );
    SUBNETS
        .clone()
        .find(|x| {
            let net = format!("10.{x}.");
            !used.split_whitespace().any(|token| token.starts_with(&net))
        })
        .unwrap_or_else(|| panic!("no free 10.x.0.0/16 for x in {SUBNETS:?}:\n{used}"))
}

/// The pid in a name this harness made (`slp<pid>` and a letter), if it is one.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = rest[digits.len()..].chars().next()?;
    if digits.is_empty() || !after.is_ascii_lowercase() {
        return None;
    }
    digits.parse().ok()
}

/// Whether a name belongs to an earlier run whose process is gone.
fn is_leftover(name: &str) -> bool {
    owner_pid(name).is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
}

/// Removes the namespaces and root-namespace links of dead earlier runs (see the module docs).
fn sweep_leftovers() {
    let namespaces: Vec<String> = ip(&["netns", "list"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| is_leftover(n))
        .map(str::to_string)
        .collect();
    for ns in &namespaces {
        kill_processes_in(ns);
    }
    // `ip -o link` lines read "12: slp123c0@if11: <...>".
    let links: Vec<String> = ip(&["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .filter(|n| is_leftover(n))
        .collect();
    for link in &links {
        match try_ip(&["link", "del", link]) {
            Ok(_) => {}
            // The veth went away with a namespace destroyed meanwhile.
            Err(e) if e.contains("Cannot find device") => {}
            Err(e) => panic!("removing a leftover of an earlier run: {e}"),
        }
    }
    for ns in &namespaces {
        ip(&["netns", "del", ns]);
    }
    if !namespaces.is_empty() || !links.is_empty() {
        eprintln!("netns: removed leftovers of dead runs: {namespaces:?} {links:?}");
    }
}

/// SIGKILLs every process still in namespace `ns` (started there by this harness's user, the
/// test). Best effort: it runs from drop too.
fn kill_processes_in(ns: &str) {
    let pids = match try_ip(&["netns", "pids", ns]) {
        Ok(pids) => pids,
        Err(e) => {
            eprintln!("netns clean-up: {e}");
            return;
        }
    };
    for pid in pids.split_whitespace().filter_map(|p| p.parse::<libc::pid_t>().ok()) {
        // SAFETY: kill(2) with a pid `ip netns pids` just listed in a namespace of ours.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::owner_pid;

    #[test]
    fn names_of_this_harness_carry_their_pid() {
        assert_eq!(owner_pid("slp1234h0"), Some(1234));
        assert_eq!(owner_pid("slp1234c12"), Some(1234));
        assert_eq!(owner_pid("slp1234"), None);
        assert_eq!(owner_pid("slpxh0"), None);
        assert_eq!(owner_pid("eth0"), None);
    }
}
