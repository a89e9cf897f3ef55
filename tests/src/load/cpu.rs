//! CPU time of a process, from Linux's `/proc/PID/stat`.
//!
//! Used two ways: `--broker-pid` samples the broker before and after a run and reports its CPU
//! milliseconds per 1,000 operations; the tool also samples itself (`/proc/self/stat`) so a
//! report shows how much of the machine the client took. On other systems `/proc` is missing
//! and the figures are simply absent (or, for an explicit `--broker-pid`, an error).

use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Clock ticks per second in `/proc/*/stat`. Linux exports these fields in USER_HZ, which is
/// 100 on every architecture the kernel supports today (`sysconf(_SC_CLK_TCK)`), so no libc
/// call is needed to convert them.
const TICKS_PER_SECOND: u64 = 100;

/// Which process to sample.
#[derive(Debug, Clone, Copy)]
pub enum Process {
    /// The load tool itself.
    Current,
    Pid(u32),
}

/// User plus system CPU time the process has used so far.
pub fn cpu_time(process: Process) -> Result<Duration> {
    let path = match process {
        Process::Current => "/proc/self/stat".to_string(),
        Process::Pid(pid) => format!("/proc/{pid}/stat"),
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {path} (CPU accounting needs Linux and a live PID)"))?;
    let ticks = parse_stat_ticks(&text).with_context(|| format!("parsing {path}"))?;
    Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

/// `utime + stime` from one `/proc/PID/stat` line, in clock ticks.
///
/// The second field (`comm`) is the executable name in parentheses and may itself contain
/// spaces or parentheses, so the remaining fields are counted from the last `)` (proc(5)).
fn parse_stat_ticks(text: &str) -> Result<u64> {
    let Some(close) = text.rfind(')') else {
        bail!("no `)` closing the command name");
    };
    // After `)`: field 3 (state) is index 0, so utime (field 14) is index 11, stime index 12.
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    if fields.len() < 13 {
        bail!("only {} fields after the command name", fields.len());
    }
    let utime: u64 = fields[11].parse().context("utime is not a number")?;
    let stime: u64 = fields[12].parse().context("stime is not a number")?;
    Ok(utime + stime)
}

/// CPU used during a run, and its cost per 1,000 operations.
#[derive(Debug, Clone, Copy)]
pub struct CpuUsage {
    pub used: Duration,
    pub ms_per_1k_ops: Option<f64>,
}

impl CpuUsage {
    pub fn between(before: Duration, after: Duration, ops: u64) -> Self {
        let used = after.saturating_sub(before);
        let ms_per_1k_ops = (ops > 0).then(|| used.as_secs_f64() * 1000.0 * 1000.0 / ops as f64);
        Self { used, ms_per_1k_ops }
    }
}

/// CPU times of the broker (with `--broker-pid`) and of the load tool at the start of a run.
pub struct CpuSample {
    broker_pid: Option<u32>,
    broker: Option<Duration>,
    client: Option<Duration>,
}

impl CpuSample {
    /// Samples now; a given broker pid must be readable.
    pub fn take(broker_pid: Option<u32>) -> Result<Self> {
        let broker = match broker_pid {
            Some(pid) => Some(cpu_time(Process::Pid(pid))?),
            None => None,
        };
        Ok(Self {
            broker_pid,
            broker,
            client: cpu_time(Process::Current).ok(),
        })
    }

    /// `(broker, load tool)` CPU used since the sample, per `ops` operations.
    pub fn usage(&self, ops: u64) -> Result<(Option<CpuUsage>, Option<CpuUsage>)> {
        let broker = match (self.broker_pid, self.broker) {
            (Some(pid), Some(before)) => {
                let after = cpu_time(Process::Pid(pid))
                    .with_context(|| format!("broker process {pid} is gone after the run"))?;
                Some(CpuUsage::between(before, after, ops))
            }
            _ => None,
        };
        let client = match (self.client, cpu_time(Process::Current).ok()) {
            (Some(before), Some(after)) => Some(CpuUsage::between(before, after, ops)),
            _ => None,
        };
        Ok((broker, client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime_past_a_tricky_command_name() {
        let line = "4242 (my (weird) proc) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    150 25 0 0 20 0 8 0 12345 1000000 500 18446744073709551615";
        assert_eq!(parse_stat_ticks(line).ok(), Some(175));
    }

    #[test]
    fn rejects_truncated_lines() {
        assert!(parse_stat_ticks("1 (x) S 1 2 3").is_err());
        assert!(parse_stat_ticks("no parenthesis here").is_err());
    }

    #[test]
    fn reads_its_own_process_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_time(Process::Current).is_ok());
        }
    }

    #[test]
    fn cost_per_thousand_ops() {
        let usage = CpuUsage::between(Duration::from_millis(100), Duration::from_millis(600), 10_000);
        assert_eq!(usage.used, Duration::from_millis(500));
        assert_eq!(usage.ms_per_1k_ops, Some(50.0));
        assert_eq!(CpuUsage::between(Duration::ZERO, Duration::ZERO, 0).ms_per_1k_ops, None);
    }
}
