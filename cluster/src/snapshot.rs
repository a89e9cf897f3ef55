//! Snapshots of the store beside the log, so the log can be trimmed.
//!
//! Without them the log grows with every write, and a new node replays all of it. The writer,
//! every `--cluster-snapshot-every` entries, makes a RocksDB checkpoint of its store, uploads
//! its files to the JetStream object store `sluice_snapshots` (replicated like the log), and
//! then writes the object `manifest`, which names the snapshot's log position and files. Only
//! then is the log trimmed, and only below the *previous* snapshot's position, so a standby
//! that lags by less than one snapshot interval still catches up from the log; last, the files
//! no longer named are deleted: the previous snapshot's, and those left by a writer that died
//! while uploading (its manifest never written, nothing names them), but never a newer
//! writer's (see [`Snapshots::remove_older`]).
//!
//! Uploads are incremental. RocksDB never changes a table file (`*.sst`) once written, and the
//! store gives each new file a number it never used before, so the table files a checkpoint
//! links from the store are stored once, as `sst/<node>/<process>/<file>`, and every later
//! snapshot of the same process that still holds one names that object instead of uploading
//! it again: a snapshot uploads what was flushed or compacted since the previous one, not the
//! whole store. Only files linked from the store qualify: opening the checkpoint (to read its
//! position) may write table files of its own, numbered from the checkpoint's copy of the
//! counter, which the store will give to other files later. Those, and the files that change
//! each time (the checkpoint's MANIFEST, CURRENT, OPTIONS, logs), are stored as
//! `<position>/<file>`. A new process (a restart, or another node taking over) starts its own
//! set.
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
//! - One object name, one content: a shared table file's object is never written over (a file
//!   whose object is listed with another size is stored under the position instead).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_nats::jetstream::context::Context;
use async_nats::jetstream::object_store::{self, GetErrorKind, ObjectStore};
use async_nats::jetstream::stream::StorageType;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::ClusterError;

/// The object naming the latest complete snapshot.
const MANIFEST: &str = "manifest";

/// The prefix of the objects that hold table files, shared by the snapshots of one process.
const SHARED_PREFIX: &str = "sst/";

/// How old an unnamed table file of another process must be before it is deleted: such a
/// file is a dead writer's upload cut short, or a newer writer's upload under way while this
/// (deposed) writer has not noticed yet, which it notices within a lease. Ages are read from
/// the uploader's clock: the nodes' clocks must agree to well within this.
const STALE_UPLOAD: Duration = Duration::from_secs(3600);

/// How long one file of a snapshot may take to download before the restore gives up (a file
/// deleted while it is read never ends).
const DOWNLOAD_FILE_TIMEOUT: Duration = Duration::from_secs(600);

/// What the bucket's listing says about one object.
#[derive(Debug, Clone, Copy)]
struct Listed {
    size: u64,
    modified: Option<SystemTime>,
}

/// What the manifest says about the latest snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The log position the snapshot holds everything up to.
    pub position: u64,
    /// Its files, each stored as the object `<position>/<file>` unless `shared` names another.
    pub files: Vec<String>,
    /// The node that made it.
    pub node: String,
    /// The files stored once for several snapshots (see the module docs), by file name: the
    /// object holding each. Empty in manifests written before uploads were incremental.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shared: BTreeMap<String, String>,
}

impl Manifest {
    /// The object holding the snapshot's file `name`.
    fn object(&self, name: &str) -> String {
        match self.shared.get(name) {
            Some(object) => object.clone(),
            None => format!("{}/{name}", self.position),
        }
    }
}

/// What publishing a snapshot uploaded, and what it found already uploaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uploaded {
    /// Bytes uploaded.
    pub bytes: u64,
    /// Bytes of files an earlier snapshot of this process had uploaded already.
    pub reused_bytes: u64,
}

/// What [`Snapshots::publish`] did.
#[derive(Debug)]
pub enum Published {
    /// The new snapshot is the latest; the one it replaced, if any, and what was uploaded.
    Latest(Manifest, Option<Manifest>, Uploaded),
    /// Another writer published a later snapshot meanwhile (this node was deposed): the
    /// manifest was left alone.
    Superseded(u64),
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

    /// Uploads the files of the checkpoint `dir`, which holds the log up to `position`, that
    /// an earlier snapshot of this process (`node`, `process`) did not already store, then
    /// names them all in the manifest, unless a later snapshot was published meanwhile.
    /// `linked` names the table files the checkpoint linked from the store (see the module
    /// docs): only those are shared.
    pub async fn publish(
        &self,
        dir: &Path,
        position: u64,
        linked: &BTreeSet<String>,
        node: &str,
        process: &str,
    ) -> Result<Published, ClusterError> {
        let previous = self.latest().await?;
        if let Some(later) = previous.as_ref().filter(|p| p.position > position) {
            return Ok(Published::Superseded(later.position));
        }
        // What is in the bucket, not what the previous manifest says: a file it names may be
        // gone (deleted by a deposed writer that had not noticed yet), and is then uploaded
        // again; a file of an upload cut short is complete when listed (an object appears once
        // its last chunk is stored), so it is reused. Without a listing nothing is shared this
        // time: every file goes under this position, as a full snapshot.
        let own = shared_prefix(node, process);
        let stored: Option<BTreeMap<String, u64>> = match self.objects().await {
            Ok(objects) => Some(
                objects
                    .into_iter()
                    .filter(|(name, _)| name.starts_with(&own))
                    .map(|(name, listed)| (name, listed.size))
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cluster: snapshot without the bucket's listing; uploading every file");
                None
            }
        };
        let mut files = Vec::new();
        let mut shared = BTreeMap::new();
        let mut uploaded = Uploaded::default();
        for name in file_names(dir)? {
            let path = dir.join(&name);
            let size = std::fs::metadata(&path)
                .map_err(|e| ClusterError::Store(format!("reading {}: {e}", path.display())))?
                .len();
            let shareable = is_table_file(&name) && linked.contains(&name);
            let object = match stored.as_ref().filter(|_| shareable) {
                Some(stored) => {
                    let object = format!("{own}{name}");
                    match stored.get(&object) {
                        Some(&stored_size) if stored_size == size => {
                            shared.insert(name.clone(), object);
                            files.push(name);
                            uploaded.reused_bytes += size;
                            continue;
                        }
                        // Never written over (an earlier manifest may name it): this file goes
                        // under this position instead.
                        Some(&stored_size) => {
                            tracing::warn!(object = %object, stored_size, size, "cluster: a snapshot file stored with another size; uploading it under the position");
                            format!("{position}/{name}")
                        }
                        None => {
                            shared.insert(name.clone(), object.clone());
                            object
                        }
                    }
                }
                None => format!("{position}/{name}"),
            };
            files.push(name);
            let mut file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| ClusterError::Store(format!("opening {}: {e}", path.display())))?;
            self.bucket
                .put(object.as_str(), &mut file)
                .await
                .map_err(|e| ClusterError::Nats(format!("uploading snapshot file {object}: {e}")))?;
            uploaded.bytes += size;
        }
        let manifest = Manifest {
            position,
            files,
            node: node.to_string(),
            shared,
        };
        // A deposed writer that has not noticed yet must not put an older snapshot back over a
        // newer one (nor delete the newer one's files after): look again just before writing.
        // Not atomic (the object store has no compare-and-set): a writer deposed right between
        // this read and the write still puts its manifest back, which the newer writer notices
        // and undoes within a second (`Node::keep_snapshotting`).
        if let Some(later) = self.latest().await?.filter(|p| p.position > position) {
            return Ok(Published::Superseded(later.position));
        }
        self.write_manifest(&manifest).await?;
        Ok(Published::Latest(manifest, previous, uploaded))
    }

    /// Writes `manifest` as the latest snapshot's.
    pub async fn write_manifest(&self, manifest: &Manifest) -> Result<(), ClusterError> {
        let bytes = serde_json::to_vec(manifest)
            .map_err(|e| ClusterError::Nats(format!("encoding the snapshot manifest: {e}")))?;
        self.bucket
            .put(MANIFEST, &mut bytes.as_slice())
            .await
            .map_err(|e| ClusterError::Nats(format!("writing the snapshot manifest: {e}")))?;
        Ok(())
    }

    /// After `current` replaced `previous`, deletes what neither it nor a newer writer needs:
    /// the files of older positions, those of `current`'s position it does not name (an upload
    /// cut short), and the table files it does not name that belong to this process (`node`,
    /// `process`: compacted away), to the one that made `previous` (replaced), or to another
    /// process and are older than [`STALE_UPLOAD`] (a dead writer's). Files of a later
    /// position, and a newer writer's fresh table files, are left alone. Best effort: a file
    /// left behind costs space, never correctness; returns how many were deleted.
    pub async fn remove_older(
        &self,
        current: &Manifest,
        previous: Option<&Manifest>,
        node: &str,
        process: &str,
    ) -> usize {
        let objects = match self.objects().await {
            Ok(objects) => objects,
            Err(e) => {
                tracing::warn!(error = %e, "cluster: listing the snapshot files");
                return 0;
            }
        };
        let own = shared_prefix(node, process);
        let mut settled: BTreeSet<&str> = previous
            .iter()
            .flat_map(|p| p.shared.values())
            .filter_map(|object| prefix_of(object))
            .collect();
        settled.insert(own.as_str());
        let now = SystemTime::now();
        let mut deleted = 0;
        for (name, listed) in &objects {
            let stale = listed
                .modified
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > STALE_UPLOAD);
            if !is_older(name, current, &settled, stale) {
                continue;
            }
            match self.bucket.delete(name).await {
                Ok(()) => deleted += 1,
                Err(e) => tracing::warn!(error = %e, file = %name, "cluster: deleting an old snapshot file"),
            }
        }
        deleted
    }

    /// Every object in the bucket, by name.
    async fn objects(&self) -> Result<BTreeMap<String, Listed>, ClusterError> {
        use futures_util::StreamExt as _;
        let list = async {
            let mut list = self
                .bucket
                .list()
                .await
                .map_err(|e| ClusterError::Nats(format!("listing the snapshot bucket: {e}")))?;
            let mut objects = BTreeMap::new();
            while let Some(info) = list.next().await {
                let info = info.map_err(|e| ClusterError::Nats(format!("listing the snapshot bucket: {e}")))?;
                let listed = Listed {
                    size: info.size as u64,
                    modified: info.modified.map(SystemTime::from),
                };
                objects.insert(info.name, listed);
            }
            Ok(objects)
        };
        tokio::time::timeout(LIST_TIMEOUT, list)
            .await
            .map_err(|_| ClusterError::Nats(format!("listing the snapshot bucket took over {LIST_TIMEOUT:?}")))?
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
                .get(manifest.object(name))
                .await
                .map_err(|e| ClusterError::Nats(format!("downloading snapshot file {name}: {e}")))?;
            let path = into.join(name);
            let mut file = tokio::fs::File::create(&path)
                .await
                .map_err(|e| ClusterError::Store(format!("creating {}: {e}", path.display())))?;
            tokio::time::timeout(DOWNLOAD_FILE_TIMEOUT, tokio::io::copy(&mut object, &mut file))
                .await
                .map_err(|_| {
                    ClusterError::Nats(format!(
                        "downloading snapshot file {name} took over {DOWNLOAD_FILE_TIMEOUT:?} (deleted by a newer snapshot?)"
                    ))
                })?
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

/// Whether RocksDB's file `name` is a table file, which it never changes once written.
fn is_table_file(name: &str) -> bool {
    name.ends_with(".sst")
}

/// The prefix of the table files of `process` of `node`.
fn shared_prefix(node: &str, process: &str) -> String {
    format!("{SHARED_PREFIX}{node}/{process}/")
}

/// The prefix of the shared table file `object` (its process's), if it is one.
fn prefix_of(object: &str) -> Option<&str> {
    object
        .starts_with(SHARED_PREFIX)
        .then(|| object.rfind('/').map(|end| &object[..=end]))
        .flatten()
}

/// Whether the object `name` is a file of a snapshot older than `current`, or of `current`'s
/// position without being one of its files (an upload of the same position cut short), or a
/// table file `current` does not name of a process in `settled` (whose files no upload under
/// way needs), or `stale`.
fn is_older(name: &str, current: &Manifest, settled: &BTreeSet<&str>, stale: bool) -> bool {
    if let Some(prefix) = prefix_of(name) {
        let named = current.shared.values().any(|object| object == name);
        return !named && (stale || settled.contains(prefix));
    }
    let Some((position, file)) = name.split_once('/') else {
        // The manifest, or nothing this module wrote.
        return false;
    };
    match position.parse::<u64>() {
        Ok(p) if p < current.position => true,
        Ok(p) if p == current.position => !current
            .files
            .iter()
            .any(|f| f == file && !current.shared.contains_key(f)),
        _ => false,
    }
}

/// The table files directly in `dir`.
pub fn table_files(dir: &Path) -> Result<BTreeSet<String>, ClusterError> {
    Ok(file_names(dir)?
        .into_iter()
        .filter(|name| is_table_file(name))
        .collect())
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
            files: vec!["CURRENT".into(), "000012.sst".into(), "000014.sst".into()],
            node: "a".into(),
            shared: BTreeMap::from([("000014.sst".to_string(), "sst/a/7-1/000014.sst".to_string())]),
        };
        // This process (7-1 of a) and the one that made the replaced snapshot (5-3 of b).
        let settled = BTreeSet::from(["sst/a/7-1/", "sst/b/5-3/"]);
        let older = |name: &str| is_older(name, &current, &settled, false);
        assert!(older("100/000009.sst"), "the previous snapshot's");
        assert!(older("150/MANIFEST-000005"), "an upload cut short");
        assert!(older("200/000011.sst"), "this position, not named");
        assert!(!older("200/000012.sst"), "this snapshot's own");
        assert!(!older("200/CURRENT"), "this snapshot's own");
        assert!(older("200/000014.sst"), "named, but stored as a shared file");
        assert!(!older("sst/a/7-1/000014.sst"), "a shared file it names");
        assert!(older("sst/a/7-1/000013.sst"), "its own shared file compacted away");
        assert!(older("sst/b/5-3/000014.sst"), "the replaced snapshot's process");
        assert!(!older("sst/c/9-2/000014.sst"), "a newer writer's upload under way");
        assert!(
            is_older("sst/c/9-2/000014.sst", &current, &settled, true),
            "a dead writer's, long ago"
        );
        assert!(
            !is_older("sst/a/7-1/000014.sst", &current, &settled, true),
            "named, however old"
        );
        assert!(!older("300/000013.sst"), "a later writer's");
        assert!(!older(MANIFEST));
        assert!(!older("notes/x"), "not written by this module");
        assert_eq!(prefix_of("sst/a/7-1/000014.sst"), Some("sst/a/7-1/"));
        assert_eq!(prefix_of("200/000014.sst"), None);
    }

    #[test]
    fn a_manifest_finds_shared_files_by_name_and_reads_one_written_before_them() {
        let old: Manifest =
            serde_json::from_str(r#"{"position":7,"files":["CURRENT","000003.sst"],"node":"a"}"#).expect("parse");
        assert!(old.shared.is_empty());
        assert_eq!(old.object("000003.sst"), "7/000003.sst");
        let new = Manifest {
            shared: BTreeMap::from([("000003.sst".to_string(), "sst/a/1-2/000003.sst".to_string())]),
            ..old
        };
        assert_eq!(new.object("000003.sst"), "sst/a/1-2/000003.sst");
        assert_eq!(new.object("CURRENT"), "7/CURRENT");
        let text = serde_json::to_string(&new).expect("encode");
        assert_eq!(serde_json::from_str::<Manifest>(&text).expect("parse"), new);
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
