//! Snapshots of the store beside the log, so the log can be trimmed.
//!
//! Without them the log grows with every write, and a new node replays all of it. The writer,
//! every `--cluster-snapshot-every` entries, makes a RocksDB checkpoint of its store, uploads
//! its files to the JetStream object store `sluice_snapshots` (replicated like the log) under
//! `<position>/<file>`, and then writes the object `manifest`, which names the snapshot's log
//! position and files. Only then is the log trimmed, and only below the *previous* snapshot's
//! position, so a standby that lags by less than one snapshot interval still catches up from
//! the log; last, the previous snapshot's files are deleted.
//!
//! A node whose position is below the log's first entry (new, or down while the log was
//! trimmed) restores the latest snapshot at start-up, before it opens its store for serving,
//! and then follows the log from the snapshot's position.
//!
//! # Invariants
//! - The manifest is written after every file it names, and names a snapshot whose own stored
//!   log position is the manifest's: a reader never sees a partial snapshot.
//! - The log keeps every entry after the latest snapshot's position: trimming stops at the
//!   previous snapshot's position, which is lower.

use std::path::{Path, PathBuf};

use async_nats::jetstream::context::Context;
use async_nats::jetstream::object_store::{self, GetErrorKind, ObjectStore};
use async_nats::jetstream::stream::StorageType;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::ClusterError;

/// The object naming the latest complete snapshot.
const MANIFEST: &str = "manifest";

/// What the manifest says about the latest snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The log position the snapshot holds everything up to.
    pub position: u64,
    /// Its files, each stored as the object `<position>/<file>`.
    pub files: Vec<String>,
    /// The node that made it.
    pub node: String,
}

/// The snapshot bucket.
pub struct Snapshots {
    bucket: ObjectStore,
}

impl Snapshots {
    /// Opens (creating if needed) the bucket, with `replicas` copies.
    pub async fn open(js: &Context, bucket: &str, replicas: usize) -> Result<Snapshots, ClusterError> {
        let bucket = match js.get_object_store(bucket).await {
            Ok(store) => store,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: bucket.to_string(),
                    num_replicas: replicas,
                    storage: StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| ClusterError::Nats(format!("creating the snapshot bucket {bucket}: {e}")))?,
        };
        Ok(Snapshots { bucket })
    }

    /// The latest complete snapshot, if any was made.
    pub async fn latest(&self) -> Result<Option<Manifest>, ClusterError> {
        let mut object = match self.bucket.get(MANIFEST).await {
            Ok(object) => object,
            Err(e) if e.kind() == GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ClusterError::Nats(format!("reading the snapshot manifest: {e}"))),
        };
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| ClusterError::Nats(format!("reading the snapshot manifest: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ClusterError::Nats(format!("the snapshot manifest is not valid: {e}")))
    }

    /// Uploads every file of the checkpoint `dir`, which holds the log up to `position`, then
    /// names it in the manifest; returns the manifest it replaced.
    pub async fn publish(&self, dir: &Path, position: u64, node: &str) -> Result<Option<Manifest>, ClusterError> {
        let previous = self.latest().await?;
        let mut files = Vec::new();
        for name in file_names(dir)? {
            let path = dir.join(&name);
            let mut file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| ClusterError::Store(format!("opening {}: {e}", path.display())))?;
            self.bucket
                .put(format!("{position}/{name}").as_str(), &mut file)
                .await
                .map_err(|e| ClusterError::Nats(format!("uploading snapshot file {name}: {e}")))?;
            files.push(name);
        }
        let manifest = Manifest {
            position,
            files,
            node: node.to_string(),
        };
        let bytes = serde_json::to_vec(&manifest)
            .map_err(|e| ClusterError::Nats(format!("encoding the snapshot manifest: {e}")))?;
        self.bucket
            .put(MANIFEST, &mut bytes.as_slice())
            .await
            .map_err(|e| ClusterError::Nats(format!("writing the snapshot manifest: {e}")))?;
        Ok(previous)
    }

    /// Deletes the files of a snapshot the manifest no longer names (best effort: a file left
    /// behind costs space, never correctness).
    pub async fn delete(&self, old: &Manifest) {
        for name in &old.files {
            if let Err(e) = self.bucket.delete(format!("{}/{name}", old.position)).await {
                tracing::warn!(error = %e, file = %name, "cluster: deleting an old snapshot file");
            }
        }
    }

    /// Downloads the snapshot `manifest` names into the new folder `into`.
    pub async fn download(&self, manifest: &Manifest, into: &Path) -> Result<(), ClusterError> {
        std::fs::create_dir_all(into).map_err(|e| ClusterError::Store(format!("creating {}: {e}", into.display())))?;
        for name in &manifest.files {
            if name.contains('/') || name.contains("..") {
                return Err(ClusterError::Nats(format!("a snapshot file with a bad name: {name:?}")));
            }
            let mut object = self
                .bucket
                .get(format!("{}/{name}", manifest.position))
                .await
                .map_err(|e| ClusterError::Nats(format!("downloading snapshot file {name}: {e}")))?;
            let path = into.join(name);
            let mut file = tokio::fs::File::create(&path)
                .await
                .map_err(|e| ClusterError::Store(format!("creating {}: {e}", path.display())))?;
            tokio::io::copy(&mut object, &mut file)
                .await
                .map_err(|e| ClusterError::Nats(format!("downloading snapshot file {name}: {e}")))?;
            file.sync_all()
                .await
                .map_err(|e| ClusterError::Store(format!("syncing {}: {e}", path.display())))?;
        }
        Ok(())
    }
}

/// The regular files directly in `dir` (a RocksDB checkpoint is flat), sorted.
fn file_names(dir: &Path) -> Result<Vec<String>, ClusterError> {
    let read = |e: std::io::Error| ClusterError::Store(format!("reading {}: {e}", dir.display()));
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        if entry.file_type().map_err(read)?.is_file() {
            if let Some(name) = entry.file_name().to_str() {
                // RocksDB's lock file is created by opening the folder, not part of the data.
                if name != "LOCK" {
                    names.push(name.to_string());
                }
            }
        }
    }
    names.sort();
    Ok(names)
}

/// A folder beside the data folder, for a snapshot being made or restored (`suffix` tells
/// which), gone before use.
pub fn scratch_dir(data_dir: &Path, suffix: &str) -> Result<PathBuf, ClusterError> {
    let mut name = data_dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "data".into());
    name.push(format!(".{suffix}"));
    let path = data_dir.with_file_name(name);
    if path.exists() {
        std::fs::remove_dir_all(&path).map_err(|e| ClusterError::Store(format!("removing {}: {e}", path.display())))?;
    }
    Ok(path)
}
