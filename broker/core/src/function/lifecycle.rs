//! A function's life: create, read, list, update, delete, and its tags.
//!
//! # Invariants
//! - Changes run under the admin lock and commit before the in-memory registry changes.
//! - Every change draws a new revision id, so `RevisionId` guards read-modify-write clients.
//! - Deleting a function leaves its mappings, as AWS does; their pollers report the missing
//!   function as their last result. Its policy goes with it: the policy is part of the record.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use sluice_storage::Cf;

use super::error::invalid;
use super::{
    paginate, Code, FunctionError, FunctionKey, FunctionRecord, FunctionSettings, FunctionView, Functions, Page, Result,
};

/// What UpdateFunctionConfiguration changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsUpdate {
    /// Runtime.
    pub runtime: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// Handler.
    pub handler: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Timeout, seconds.
    pub timeout_secs: Option<u32>,
    /// Memory, MB.
    pub memory_mb: Option<u32>,
    /// Replaces every variable.
    pub environment: Option<BTreeMap<String, String>>,
    /// Dead-letter target; `Some(None)` removes it.
    pub dead_letter_target: Option<Option<String>>,
}

/// `Function not found: {arn}`, AWS's message.
pub(super) fn not_found(key: &FunctionKey) -> FunctionError {
    FunctionError::NotFound(format!("Function not found: {}", key.arn()))
}

fn digest(code: &Code) -> (String, u64, Option<String>, &'static str) {
    match code {
        Code::Zip(bytes) => (STANDARD.encode(Sha256::digest(bytes)), bytes.len() as u64, None, "Zip"),
        Code::Image(uri) => (
            STANDARD.encode(Sha256::digest(uri.as_bytes())),
            0,
            Some(uri.clone()),
            "Image",
        ),
    }
}

impl Functions {
    /// Creates a function.
    pub fn create_function(
        &self,
        key: &FunctionKey,
        settings: FunctionSettings,
        code: &Code,
        tags: BTreeMap<String, String>,
        runtime_port: u16,
    ) -> Result<FunctionView> {
        let _admin = self.admin();
        if self.functions().contains_key(key) {
            return Err(FunctionError::Conflict(format!("Function already exist: {}", key.name)));
        }
        let (code_sha256, code_size, image_uri, package_type) = digest(code);
        let record = FunctionRecord {
            settings,
            package_type: package_type.to_string(),
            code_sha256,
            code_size,
            image_uri,
            last_modified_ms: self.clock.now_ms(),
            revision_id: uuid::Uuid::new_v4().to_string(),
            tags,
            runtime_port,
            permissions: Vec::new(),
        };
        self.persist_function(key, &record)?;
        let mut functions = self.functions.write().unwrap_or_else(|p| p.into_inner());
        functions.insert(key.clone(), record.clone());
        Ok(FunctionView {
            key: key.clone(),
            record,
        })
    }

    /// A function.
    pub fn get_function(&self, key: &FunctionKey) -> Result<FunctionView> {
        self.functions()
            .get(key)
            .map(|record| FunctionView {
                key: key.clone(),
                record: record.clone(),
            })
            .ok_or_else(|| not_found(key))
    }

    /// One page of the functions of an account and region, by name.
    pub fn list_functions(&self, account: &str, region: &str, marker: Option<&str>, max: usize) -> Page<FunctionView> {
        let items = self
            .functions()
            .iter()
            .filter(|(k, _)| k.account == account && k.region == region)
            .map(|(k, r)| {
                let view = FunctionView {
                    key: k.clone(),
                    record: r.clone(),
                };
                (k.name.clone(), view)
            })
            .collect();
        paginate(items, marker, max)
    }

    /// Changes a function's settings; with `revision_id`, only if it is still current.
    pub fn update_settings(
        &self,
        key: &FunctionKey,
        update: SettingsUpdate,
        revision_id: Option<&str>,
    ) -> Result<FunctionView> {
        self.change(key, revision_id, |record| {
            let s = &mut record.settings;
            if let Some(v) = update.runtime {
                s.runtime = Some(v);
            }
            if let Some(v) = update.role {
                s.role = v;
            }
            if let Some(v) = update.handler {
                s.handler = Some(v);
            }
            if let Some(v) = update.description {
                s.description = v;
            }
            if let Some(v) = update.timeout_secs {
                s.timeout_secs = v;
            }
            if let Some(v) = update.memory_mb {
                s.memory_mb = v;
            }
            if let Some(v) = update.environment {
                s.environment = v;
            }
            if let Some(v) = update.dead_letter_target {
                s.dead_letter_target = v;
            }
            Ok(())
        })
    }

    /// Replaces a function's package (its digest; Sluice keeps no code).
    pub fn update_code(&self, key: &FunctionKey, code: &Code, revision_id: Option<&str>) -> Result<FunctionView> {
        self.change(key, revision_id, |record| {
            let (code_sha256, code_size, image_uri, package_type) = digest(code);
            if package_type != record.package_type {
                return Err(invalid(format!(
                    "Please provide {} when updating a function with PackageType {}.",
                    if record.package_type == "Zip" {
                        "ZipFile"
                    } else {
                        "ImageUri"
                    },
                    record.package_type
                )));
            }
            record.code_sha256 = code_sha256;
            record.code_size = code_size;
            record.image_uri = image_uri;
            Ok(())
        })
    }

    /// Moves a function's Runtime API to another port (its own was taken at start-up).
    pub fn set_runtime_port(&self, key: &FunctionKey, port: u16) -> Result<()> {
        self.change(key, None, |record| {
            record.runtime_port = port;
            Ok(())
        })
        .map(|_| ())
    }

    /// Every function, for the server's start-up (Runtime API listeners).
    pub fn all_functions(&self) -> Vec<FunctionView> {
        self.functions()
            .iter()
            .map(|(key, record)| FunctionView {
                key: key.clone(),
                record: record.clone(),
            })
            .collect()
    }

    /// Deletes a function; its mappings stay, as on AWS.
    pub fn delete_function(&self, key: &FunctionKey) -> Result<()> {
        let _admin = self.admin();
        if !self.functions().contains_key(key) {
            return Err(not_found(key));
        }
        let mut batch = self.store.batch();
        batch.delete(Cf::Meta, &key.record_key());
        self.store.commit(batch)?;
        self.functions.write().unwrap_or_else(|p| p.into_inner()).remove(key);
        // A function created again under this name starts with a queue of its own.
        self.hubs.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        Ok(())
    }

    /// Adds or replaces tags of a function.
    pub fn tag_function(&self, key: &FunctionKey, tags: &BTreeMap<String, String>) -> Result<()> {
        self.change(key, None, |record| {
            let mut merged = record.tags.clone();
            merged.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            if merged.len() > 50 {
                return Err(invalid("Number of tags exceeds resource tag limit."));
            }
            record.tags = merged;
            Ok(())
        })
        .map(|_| ())
    }

    /// Removes tags of a function.
    pub fn untag_function(&self, key: &FunctionKey, tag_keys: &[String]) -> Result<()> {
        self.change(key, None, |record| {
            for k in tag_keys {
                record.tags.remove(k);
            }
            Ok(())
        })
        .map(|_| ())
    }

    /// Applies `edit` to a function's record under the admin lock, with a new revision; an
    /// error from `edit` changes nothing. The error type is the caller's, so an operation
    /// with a failure of its own (AddPermission's policy quota) keeps it typed.
    pub(super) fn change<E: From<FunctionError>>(
        &self,
        key: &FunctionKey,
        revision_id: Option<&str>,
        edit: impl FnOnce(&mut FunctionRecord) -> Result<(), E>,
    ) -> Result<FunctionView, E> {
        let _admin = self.admin();
        let mut record = self.functions().get(key).cloned().ok_or_else(|| not_found(key))?;
        if let Some(expected) = revision_id {
            if expected != record.revision_id {
                return Err(FunctionError::PreconditionFailed(
                    "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
                )
                .into());
            }
        }
        edit(&mut record)?;
        record.last_modified_ms = self.clock.now_ms();
        record.revision_id = uuid::Uuid::new_v4().to_string();
        self.persist_function(key, &record)?;
        self.functions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), record.clone());
        Ok(FunctionView {
            key: key.clone(),
            record,
        })
    }
}
