//! `POST /admin/checkpoint`: backups of a running broker.
//!
//! RocksDB writes a consistent point-in-time copy of every column family into a new folder under
//! `--checkpoint-dir` (hard links where possible, so it costs little space until the original
//! files are compacted away). The copy is a complete Sluice data folder: restoring is starting a
//! broker with `--data-dir` pointing at it (or at a copy of it). Without `--checkpoint-dir` the
//! endpoint answers 404, so nothing writes outside the data folder unless the operator asked.
//!
//! Writing a checkpoint flushes memtables and links or copies files: blocking file-system work
//! that takes as long as the disk needs. It runs on tokio's blocking pool, never on a runtime
//! worker, so requests on other connections keep being served meanwhile (issue 14). Who may ask
//! for one is decided before [`handle`] is called (`dispatch::authorize_admin`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;

use crate::app::App;
use crate::wire::{text_response, ResponseBody};

/// Writes a checkpoint and answers `{"path": ...}`, or an error in JSON.
pub async fn handle(app: &App) -> http::Response<ResponseBody> {
    let store = app.store.clone();
    run(
        app.settings.checkpoint_dir.clone(),
        app.checkpoint_lock.clone(),
        move |target| store.checkpoint(target).map_err(|e| e.to_string()),
    )
    .await
}

/// The checkpoint steps around `write` (which writes the copy into the folder it is given), so
/// tests can substitute the write and watch which thread it runs on.
async fn run<W>(dir: Option<PathBuf>, lock: Arc<tokio::sync::Mutex<()>>, write: W) -> http::Response<ResponseBody>
where
    W: FnOnce(&Path) -> Result<(), String> + Send + 'static,
{
    let json = |status: StatusCode, value: serde_json::Value| {
        text_response(status, "application/json", Bytes::from(value.to_string()))
    };
    let Some(dir) = dir else {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "checkpoints are off: start sluice with --checkpoint-dir DIR"}),
        );
    };
    // One checkpoint at a time; a second request while one runs gets 409. The guard moves into
    // the blocking task, so a client that hangs up does not let a second checkpoint start
    // before the first is finished.
    let Ok(guard) = lock.try_lock_owned() else {
        return json(
            StatusCode::CONFLICT,
            serde_json::json!({"error": "a checkpoint is already being written"}),
        );
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let target = dir.join(format!("checkpoint-{stamp}"));
    let task_target = target.clone();
    let result = tokio::task::spawn_blocking(move || {
        let _guard = guard;
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        write(&task_target)
    })
    .await
    .unwrap_or_else(|join| Err(format!("the checkpoint task ended abnormally: {join}")));
    match result {
        Ok(()) => {
            tracing::info!(path = %target.display(), "checkpoint written");
            json(
                StatusCode::OK,
                serde_json::json!({"path": target.display().to_string()}),
            )
        }
        Err(error) => {
            tracing::warn!(path = %target.display(), %error, "checkpoint failed");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"error": format!("checkpoint failed: {error}")}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// On a single-threaded runtime, a write that waits for the runtime to make progress only
    /// finishes if it runs off the runtime thread; run inline, it would time out (issue 14).
    #[tokio::test(flavor = "current_thread")]
    async fn the_checkpoint_is_written_off_the_runtime_thread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        let write = move |_: &Path| {
            rx.recv_timeout(Duration::from_secs(5))
                .map_err(|_| "the runtime made no progress while the checkpoint was written".to_string())
        };
        let (response, ()) = tokio::join!(run(Some(dir.path().to_path_buf()), lock, write), async move {
            // Runs only while `run` is parked, i.e. when the write is on another thread.
            let _ = tx.send(());
        });
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn one_checkpoint_at_a_time_and_off_without_a_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        let held = lock.clone().try_lock_owned().expect("free lock");
        let busy = run(Some(dir.path().to_path_buf()), lock.clone(), |_| Ok(())).await;
        assert_eq!(busy.status(), StatusCode::CONFLICT);
        drop(held);
        let done = run(Some(dir.path().to_path_buf()), lock.clone(), |_| Ok(())).await;
        assert_eq!(done.status(), StatusCode::OK);
        let off = run(None, lock, |_| Ok(())).await;
        assert_eq!(off.status(), StatusCode::NOT_FOUND);
    }
}
