//! What the benchmark binaries (`src/bin/*-bench.rs`) share: running one on a fresh runtime so
//! that its drops (brokers, data folders, handler processes) run before the process exits, and
//! the number formats of their reports, and set-up work run a bounded number at a time.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Runs `run` on a new multi-threaded runtime and turns its result into the exit status:
/// 0, 1 with the error's cause chain on stderr, or 2 when no runtime could be started.
pub fn main_with<F: Future<Output = anyhow::Result<()>>>(name: &str, run: F) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(run);
    // Tasks still parked in the runtime hold clients and handles; they drop here, before exit.
    drop(runtime);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the cause chain on one line.
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `task` for every item, at most `in_flight` at once, within `limit`; the first failure
/// ends the run (the others are aborted when the set drops).
pub async fn bounded<T, F, Fut>(
    items: impl IntoIterator<Item = T>,
    in_flight: usize,
    limit: Duration,
    what: &str,
    task: F,
) -> anyhow::Result<()>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let work = async {
        let permits = Arc::new(Semaphore::new(in_flight));
        let mut tasks = JoinSet::new();
        for item in items {
            let permit = permits.clone().acquire_owned().await.context("permits")?;
            let job = task(item);
            tasks.spawn(async move {
                let result = job.await;
                drop(permit);
                result
            });
            while let Some(done) = tasks.try_join_next() {
                done.context("a task")??;
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.context("a task")??;
        }
        Ok::<(), anyhow::Error>(())
    };
    tokio::time::timeout(limit, work)
        .await
        .with_context(|| format!("{what}: not done within {limit:?}"))?
        .with_context(|| what.to_string())
}

/// `n` with thousands separators, as the docs write figures.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `x` rounded to `digits` decimals, for JSON that reads well.
pub fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_the_docs_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(round(1.23456, 2), 1.23);
        assert_eq!(round(-0.5, 0), -1.0);
    }
}
