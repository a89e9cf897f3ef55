//! Snapshots of the store beside the log, so the log can be trimmed.
//!
//! Without them the log grows with every write, and a new node replays all of it. The writer,
//! every `--cluster-snapshot-every` entries, makes a RocksDB checkpoint of its store, uploads
//! its files to the JetStream object store `sluice_snapshots` (replicated like the log) under
//! `<position>/<file>`, and then writes the object `manifest`, which names the snapshot's log
//! position and files. Only then is the log trimmed, and only below the *previous* snapshot's
//! position, so a standby that lags by less than one snapshot interval still catches up from
//! the log; last, every file of an older snapshot is deleted: the previous one's, and any left
//! by a writer that died while uploading (its manifest never written, nothing names them).
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
    /// names it in the manifest; returns the new manifest and the one it replaced.
    pub async fn publish(
        &self,
        dir: &Path,
        position: u64,
        node: &str,
    ) -> Result<(Manifest, Option<Manifest>), ClusterError> {
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
        Ok((manifest, previous))
    }

    /// Deletes every snapshot file that `current` does not name and that belongs to an older
    /// position: the replaced snapshot's files, and those of uploads cut short. Files of a
    /// later position are left alone (only a newer writer makes them). Best effort: a file
    /// left behind costs space, never correctness; returns how many were deleted.
    pub async fn remove_older(&self, current: &Manifest) -> usize {
        let names = match tokio::time::timeout(LIST_TIMEOUT, self.names()).await {
            Ok(Ok(names)) => names,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cluster: listing the snapshot files");
                return 0;
            }
            Err(_) => {
                tracing::warn!("cluster: listing the snapshot files took over {LIST_TIMEOUT:?}");
                return 0;
            }
        };
        let mut deleted = 0;
        for name in names.iter().filter(|n| is_older(n, current)) {
            match self.bucket.delete(name).await {
                Ok(()) => deleted += 1,
                Err(e) => tracing::warn!(error = %e, file = %name, "cluster: deleting an old snapshot file"),
            }
        }
        deleted
    }

    /// The names of every object in the bucket.
    async fn names(&self) -> Result<Vec<String>, ClusterError> {
        use futures_util::StreamExt as _;
        let mut list = self
            .bucket
            .list()
            .await
            .map_err(|e| ClusterError::Nats(format!("listing the snapshot bucket: {e}")))?;
        let mut names = Vec::new();
        while let Some(info) = list.next().await {
            let info = info.map_err(|e| ClusterError::Nats(format!("listing the snapshot bucket: {e}")))?;
            names.push(info.name);
        }
        Ok(names)
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

/// Longest wait for the bucket's listing (it reads every object's metadata).
const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether the object `name` is a file of a snapshot older than `current`, or of `current`'s
/// position without being one of its files (an upload of the same position cut short).
fn is_older(name: &str, current: &Manifest) -> bool {
    let Some((position, file)) = name.split_once('/') else {
        // The manifest, or nothing this module wrote.
        return false;
    };
    match position.parse::<u64>() {
        Ok(p) if p < current.position => true,
        Ok(p) if p == current.position => !current.files.iter().any(|f| f == file),
        _ => false,
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

/// A folder inside the data folder (RocksDB ignores what it does not recognize there), for a
/// snapshot being made or restored (`name` tells which), gone before use. Inside, not beside:
/// in a container the data folder is often a volume's mount point, whose parent is read-only,
/// and a hard-linked checkpoint must be on the same file system anyway.
pub fn scratch_dir(data_dir: &Path, name: &str) -> Result<PathBuf, ClusterError> {
    let path = data_dir.join(name);
    if path.exists() {
        std::fs::remove_dir_all(&path).map_err(|e| ClusterError::Store(format!("removing {}: {e}", path.display())))?;
    }
    Ok(path)
}

/// Marks a data folder whose files are being replaced by a restored snapshot: if the process
/// dies midway, the folder is neither the old store nor the new one.
const RESTORING: &str = "SLUICE-RESTORING";

/// Replaces the store files in `data_dir` (closed) by those in its subfolder `incoming`. A
/// marker file makes an interrupted swap visible to [`clear_interrupted_restore`].
pub fn swap_in(data_dir: &Path, incoming: &Path) -> Result<(), ClusterError> {
    let io = |what: &str, e: std::io::Error| ClusterError::Store(format!("restoring the snapshot: {what}: {e}"));
    let marker = data_dir.join(RESTORING);
    std::fs::File::create(&marker)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("marking the folder", e))?;
    clear(data_dir, &[RESTORING, incoming_name(incoming)?.as_str()])?;
    for entry in std::fs::read_dir(incoming).map_err(|e| io("reading it", e))? {
        let entry = entry.map_err(|e| io("reading it", e))?;
        std::fs::rename(entry.path(), data_dir.join(entry.file_name())).map_err(|e| io("moving a file", e))?;
    }
    std::fs::remove_dir(incoming).map_err(|e| io("removing its folder", e))?;
    std::fs::File::open(data_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("syncing the folder", e))?;
    std::fs::remove_file(&marker).map_err(|e| io("unmarking the folder", e))
}

/// At start-up: when a restore was interrupted, empties the data folder (a node's local store
/// can always be rebuilt from the log and the snapshots) and says so.
pub fn clear_interrupted_restore(data_dir: &Path) -> Result<bool, ClusterError> {
    let marker = data_dir.join(RESTORING);
    if !marker.exists() {
        return Ok(false);
    }
    clear(data_dir, &[RESTORING])?;
    std::fs::remove_file(&marker).map_err(|e| ClusterError::Store(format!("removing {}: {e}", marker.display())))?;
    Ok(true)
}

/// Removes everything in `dir` except the entries named in `keep`.
fn clear(dir: &Path, keep: &[&str]) -> Result<(), ClusterError> {
    let io = |e: std::io::Error| ClusterError::Store(format!("emptying {}: {e}", dir.display()));
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if keep.iter().any(|k| entry.file_name() == **k) {
            continue;
        }
        if entry.file_type().map_err(io)?.is_dir() {
            std::fs::remove_dir_all(entry.path()).map_err(io)?;
        } else {
            std::fs::remove_file(entry.path()).map_err(io)?;
        }
    }
    Ok(())
}

fn incoming_name(incoming: &Path) -> Result<String, ClusterError> {
    incoming
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| ClusterError::Store(format!("a restore folder without a name: {}", incoming.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_files_are_those_of_lower_positions_and_unnamed_ones_of_this_position() {
        let current = Manifest {
            position: 200,
            files: vec!["CURRENT".into(), "000012.sst".into()],
            node: "a".into(),
        };
        assert!(is_older("100/000009.sst", &current), "the previous snapshot's");
        assert!(is_older("150/MANIFEST-000005", &current), "an upload cut short");
        assert!(is_older("200/000011.sst", &current), "this position, not named");
        assert!(!is_older("200/000012.sst", &current), "this snapshot's own");
        assert!(!is_older("300/000013.sst", &current), "a later writer's");
        assert!(!is_older(MANIFEST, &current));
        assert!(!is_older("notes/x", &current), "not written by this module");
    }

    #[test]
    fn a_swap_replaces_the_files_and_an_interrupted_one_is_cleared() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path();
        std::fs::write(data.join("OLD.sst"), b"old").expect("write");
        std::fs::create_dir(data.join(".snapshot")).expect("mkdir");
        let incoming = scratch_dir(data, ".restore").expect("scratch");
        std::fs::create_dir(&incoming).expect("mkdir");
        std::fs::write(incoming.join("NEW.sst"), b"new").expect("write");
        swap_in(data, &incoming).expect("swap");
        let mut names: Vec<String> = std::fs::read_dir(data)
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["NEW.sst".to_string()]);
        assert!(!clear_interrupted_restore(data).expect("check"), "nothing to clear");

        // A swap that died midway leaves the marker: the folder is emptied at the next start.
        std::fs::write(data.join(RESTORING), b"").expect("marker");
        assert!(clear_interrupted_restore(data).expect("clear"));
        assert_eq!(std::fs::read_dir(data).expect("read").count(), 0);
    }
}
