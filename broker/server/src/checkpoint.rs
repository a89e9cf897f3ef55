//! `POST /admin/checkpoint`: backups of a running broker.
//!
//! RocksDB writes a consistent point-in-time copy of every column family into a new folder under
//! `--checkpoint-dir` (hard links where possible, so it costs little space until the original
//! files are compacted away). The copy is a complete Sluice data folder: restoring is starting a
//! broker with `--data-dir` pointing at it (or at a copy of it). Without `--checkpoint-dir` the
//! endpoint answers 404, so nothing writes outside the data folder unless the operator asked.

use bytes::Bytes;
use http::StatusCode;

use crate::app::App;
use crate::dispatch::{text_response, ResponseBody};

/// Writes a checkpoint and answers `{"path": ...}`, or an error in JSON.
pub fn handle(app: &App) -> http::Response<ResponseBody> {
    let json = |status: StatusCode, value: serde_json::Value| {
        text_response(status, "application/json", Bytes::from(value.to_string()))
    };
    let Some(dir) = &app.settings.checkpoint_dir else {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "checkpoints are off: start sluice with --checkpoint-dir DIR"}),
        );
    };
    // One checkpoint at a time; a second request while one runs gets 409.
    let Ok(_guard) = app.checkpoint_lock.try_lock() else {
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
    let result = std::fs::create_dir_all(dir)
        .map_err(|e| e.to_string())
        .and_then(|()| app.store.checkpoint(&target).map_err(|e| e.to_string()));
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
