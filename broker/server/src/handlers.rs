//! `sluice handlers`: runs a function's handler processes against its Runtime API, restarts
//! them when they exit, and stops them on SIGINT or SIGTERM.
//!
//! The command asks the broker for the function (an unsigned GetFunction, so it works with
//! `--auth off`; with `--auth verify`, pass `--runtime-api` and `--memory-mb` yourself) and
//! starts each process with the environment AWS gives a Lambda runtime: AWS_LAMBDA_RUNTIME_API,
//! AWS_LAMBDA_FUNCTION_NAME / _VERSION / _MEMORY_SIZE, _HANDLER, AWS_REGION, the log group and
//! stream names, LAMBDA_TASK_ROOT, and the function's own environment variables. The
//! processes inherit everything else (credentials, AWS_ENDPOINT_URL for calls back to Sluice).
//!
//! A process that exits is started again after a pause that doubles from one second up to
//! thirty while it keeps failing fast, and resets once a process has run for a minute: a
//! handler that cannot start does not spin, one that crashes on a bad record comes back.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::process::{Child, Command};

/// Flags of `sluice handlers`.
#[derive(Debug, Clone, Args)]
pub struct HandlersArgs {
    /// The function whose invocations the processes run.
    #[arg(long, value_name = "NAME")]
    pub function: String,

    /// The broker's API, asked for the function's Runtime API address and settings.
    #[arg(long, default_value = "http://127.0.0.1:4566", value_name = "URL")]
    pub endpoint: String,

    /// The Runtime API address (host:port) instead of asking the broker.
    #[arg(long, value_name = "HOST:PORT")]
    pub runtime_api: Option<String>,

    /// Memory size reported to the handler with --runtime-api.
    #[arg(long, default_value_t = 128, value_name = "MB")]
    pub memory_mb: u32,

    /// How many handler processes to run (the function's concurrency).
    #[arg(long, default_value_t = 1)]
    pub count: u32,

    /// The handler command and its arguments, after `--`, e.g. `python3 -m awslambdaric
    /// app.handler`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// What the processes need to know about the function.
#[derive(Debug, Clone, PartialEq)]
struct FunctionInfo {
    name: String,
    region: String,
    runtime_api: String,
    memory_mb: u32,
    handler: Option<String>,
    environment: BTreeMap<String, String>,
}

/// Why the command could not start its processes.
#[derive(Debug, thiserror::Error)]
pub enum HandlersError {
    /// The broker could not be asked.
    #[error("cannot ask {endpoint} for function {function}: {reason}")]
    Lookup {
        /// The endpoint.
        endpoint: String,
        /// The function.
        function: String,
        /// What went wrong.
        reason: String,
    },
}

/// Runs the handler processes until `shutdown` resolves.
pub async fn run(args: HandlersArgs, shutdown: impl std::future::Future<Output = ()>) -> Result<(), HandlersError> {
    let info = match &args.runtime_api {
        Some(address) => FunctionInfo {
            name: args.function.clone(),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            runtime_api: address.clone(),
            memory_mb: args.memory_mb,
            handler: None,
            environment: BTreeMap::new(),
        },
        None => lookup(&args).await?,
    };
    tracing::info!(function = %info.name, runtime_api = %info.runtime_api, count = args.count, "starting handlers");
    let mut slots: Vec<Slot> = (0..args.count.max(1)).map(|i| Slot::new(i as usize)).collect();
    tokio::pin!(shutdown);
    loop {
        for slot in &mut slots {
            slot.ensure_running(&args.command, &info);
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    for slot in &mut slots {
        slot.stop().await;
    }
    Ok(())
}

/// One handler process and its restart schedule.
struct Slot {
    index: usize,
    child: Option<Child>,
    started: tokio::time::Instant,
    next_start: tokio::time::Instant,
    backoff: Duration,
}

impl Slot {
    fn new(index: usize) -> Slot {
        let now = tokio::time::Instant::now();
        Slot {
            index,
            child: None,
            started: now,
            next_start: now,
            backoff: Duration::from_secs(1),
        }
    }

    fn ensure_running(&mut self, command: &[String], info: &FunctionInfo) {
        if let Some(child) = &mut self.child {
            match child.try_wait() {
                Ok(None) => return,
                Ok(Some(status)) => {
                    let ran = self.started.elapsed();
                    self.backoff = if ran > Duration::from_secs(60) {
                        Duration::from_secs(1)
                    } else {
                        (self.backoff * 2).min(Duration::from_secs(30))
                    };
                    tracing::warn!(handler = self.index, %status, restart_in = ?self.backoff, "handler process exited");
                    self.next_start = tokio::time::Instant::now() + self.backoff;
                    self.child = None;
                }
                Err(e) => {
                    tracing::warn!(handler = self.index, error = %e, "cannot check a handler process");
                    return;
                }
            }
        }
        if tokio::time::Instant::now() < self.next_start {
            return;
        }
        let Some((program, rest)) = command.split_first() else {
            return;
        };
        let mut cmd = Command::new(program);
        cmd.args(rest).envs(handler_env(info, self.index)).kill_on_drop(true);
        match cmd.spawn() {
            Ok(child) => {
                tracing::info!(handler = self.index, pid = child.id(), "handler process started");
                self.started = tokio::time::Instant::now();
                self.child = Some(child);
            }
            Err(e) => {
                self.backoff = (self.backoff * 2).min(Duration::from_secs(30));
                self.next_start = tokio::time::Instant::now() + self.backoff;
                tracing::error!(handler = self.index, command = %program, error = %e, "cannot start a handler process");
            }
        }
    }

    async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pid) = child.id() {
            // SIGTERM first, as Lambda gives a runtime the chance to finish; SIGKILL after 5 s.
            // SAFETY: kill(2) with a pid this process started and still owns.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}

/// The environment AWS gives a runtime, for handler `index`.
fn handler_env(info: &FunctionInfo, index: usize) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = info.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let date = crate::api::lambda::shared::lambda_timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
    );
    let day = date.get(..10).unwrap_or("1970-01-01").replace('-', "/");
    let mut put = |k: &str, v: String| env.push((k.to_string(), v));
    put("AWS_LAMBDA_RUNTIME_API", info.runtime_api.clone());
    put("AWS_LAMBDA_FUNCTION_NAME", info.name.clone());
    put("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
    put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", info.memory_mb.to_string());
    put("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", info.name));
    put("AWS_LAMBDA_LOG_STREAM_NAME", format!("{day}/[$LATEST]sluice{index:04}"));
    put("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
    put("AWS_REGION", info.region.clone());
    put("AWS_DEFAULT_REGION", info.region.clone());
    if let Some(handler) = &info.handler {
        put("_HANDLER", handler.clone());
    }
    if std::env::var_os("LAMBDA_TASK_ROOT").is_none() {
        if let Ok(dir) = std::env::current_dir() {
            put("LAMBDA_TASK_ROOT", dir.display().to_string());
        }
    }
    env
}

/// Asks the broker for the function (GetFunction, unsigned).
async fn lookup(args: &HandlersArgs) -> Result<FunctionInfo, HandlersError> {
    let fail = |reason: String| HandlersError::Lookup {
        endpoint: args.endpoint.clone(),
        function: args.function.clone(),
        reason,
    };
    let url = format!(
        "{}/2015-03-31/functions/{}",
        args.endpoint.trim_end_matches('/'),
        args.function
    );
    let uri: http::Uri = url.parse().map_err(|e| fail(format!("bad URL {url}: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(fail(
            "only http:// endpoints can be asked; pass --runtime-api instead".into(),
        ));
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = tokio::time::timeout(Duration::from_secs(10), client.get(uri))
        .await
        .map_err(|_| fail("no answer within 10 s".into()))?
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| fail(e.to_string()))?
        .to_bytes();
    if !status.is_success() {
        return Err(fail(format!("{status}: {}", String::from_utf8_lossy(&body))));
    }
    parse_function(&body).ok_or_else(|| fail("the answer is not a GetFunction document".into()))
}

fn parse_function(body: &[u8]) -> Option<FunctionInfo> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let config = doc.get("Configuration")?;
    let arn = config.get("FunctionArn")?.as_str()?;
    let environment = config
        .get("Environment")
        .and_then(|e| e.get("Variables"))
        .and_then(|v| serde_json::from_value::<BTreeMap<String, String>>(v.clone()).ok())
        .unwrap_or_default();
    Some(FunctionInfo {
        name: config.get("FunctionName")?.as_str()?.to_string(),
        region: arn.split(':').nth(3)?.to_string(),
        runtime_api: doc.get("Code")?.get("Location")?.as_str()?.to_string(),
        memory_mb: config
            .get("MemorySize")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(128) as u32,
        handler: config.get("Handler").and_then(|h| h.as_str()).map(str::to_string),
        environment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_get_function() {
        let body = br#"{"Configuration": {"FunctionName": "f", "FunctionArn": "arn:aws:lambda:eu-west-1:000000000000:function:f",
            "MemorySize": 256, "Handler": "app.handler", "Environment": {"Variables": {"A": "1"}}},
            "Code": {"RepositoryType": "SluiceRuntimeApi", "Location": "127.0.0.1:9001"}}"#;
        let info = parse_function(body).unwrap();
        assert_eq!(info.region, "eu-west-1");
        assert_eq!(info.runtime_api, "127.0.0.1:9001");
        assert_eq!(info.memory_mb, 256);
        let env = handler_env(&info, 0);
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:9001"));
        assert_eq!(get("_HANDLER"), Some("app.handler"));
        assert_eq!(get("A"), Some("1"));
        assert!(parse_function(b"{}").is_none());
    }
}
