//! Event-source mappings: create, read, list, update, delete, with AWS's rules per source.
//!
//! # Rules (AWS's, with its messages)
//! - The function must exist (`Function does not exist`, 400) and the source must be an
//!   existing SQS queue or Kinesis stream of Sluice's.
//! - SQS: BatchSize 1 to 10,000 (10 for FIFO), default 10; more than 10 needs a batching
//!   window; FIFO queues take no window; no starting position and no stream-only settings.
//! - Kinesis: BatchSize 1 to 10,000, default 100; StartingPosition required, a timestamp only
//!   with `AT_TIMESTAMP`; retries, record age, bisection, parallelization and an on-failure
//!   destination (an SQS queue or SNS topic) apply.
//! - One mapping per function and source.
//! - Filter patterns are the filter-policy language (JSON bodies matched as a
//!   `MessageBody`-scope policy), at most five.
//!
//! States are reported as AWS's transitions: the answer to a create says `Creating`, to an
//! update `Updating` (`Enabling`, `Disabling`), to a delete `Deleting`; later reads say
//! `Enabling` or `Disabling` until the pollers' supervisor has started or stopped the poller,
//! then `Enabled` or `Disabled`, so a client that waits for `Disabled` knows nothing more is
//! taken from the source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sluice_storage::Cf;

use super::error::invalid;
use super::{paginate, FunctionError, FunctionKey, Functions, MappingRecord, MappingView, Page, Result};
use crate::queue::QueueKey;
use crate::stream::StreamKey;
use crate::topic::filter::{FilterPolicy, FilterScope};

/// What a mapping reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    /// An SQS queue (standard or FIFO).
    Sqs,
    /// A Kinesis stream.
    Kinesis,
}

/// Where a stream mapping starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum StartingPosition {
    /// The oldest record.
    TrimHorizon,
    /// Records written after the mapping was created.
    Latest,
    /// Records from this epoch ms on.
    AtTimestamp(u64),
}

impl StartingPosition {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
            StartingPosition::Latest => "LATEST",
            StartingPosition::AtTimestamp(_) => "AT_TIMESTAMP",
        }
    }
}

/// CreateEventSourceMapping's settings, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct MappingSpec {
    /// The source ARN.
    pub source_arn: Option<String>,
    /// Whether polling runs (default true).
    pub enabled: Option<bool>,
    /// The rest, shared with updates.
    pub settings: MappingUpdate,
    /// Streams: `TRIM_HORIZON`, `LATEST` or `AT_TIMESTAMP`.
    pub starting_position: Option<String>,
    /// `AT_TIMESTAMP`: epoch ms.
    pub starting_timestamp_ms: Option<u64>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// Settings a create or an update may carry; `None` leaves (or defaults) each.
#[derive(Debug, Clone, Default)]
pub struct MappingUpdate {
    /// The function (updates may move a mapping to another function).
    pub function: Option<FunctionKey>,
    /// Whether polling runs.
    pub enabled: Option<bool>,
    /// Most records per batch.
    pub batch_size: Option<u32>,
    /// Seconds to gather a batch.
    pub batching_window_secs: Option<u32>,
    /// Streams: concurrent batches per shard.
    pub parallelization: Option<u32>,
    /// Streams: failure destination ARN (`Some("")` removes it).
    pub on_failure: Option<String>,
    /// Streams: oldest record still sent.
    pub max_record_age_secs: Option<i64>,
    /// Streams: split failing batches.
    pub bisect_on_error: Option<bool>,
    /// Streams: retries.
    pub max_retries: Option<i64>,
    /// `ReportBatchItemFailures`.
    pub report_item_failures: Option<bool>,
    /// Event patterns (an empty list removes them).
    pub filters: Option<Vec<String>>,
    /// SQS: concurrency cap.
    pub max_concurrency: Option<u32>,
}

/// Whose mapping a request may see: the caller's account and region.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// The caller's account.
    pub account: &'a str,
    /// The request's region.
    pub region: &'a str,
}

/// AWS's message for a get, update or delete of an unknown mapping.
fn mapping_not_found() -> FunctionError {
    FunctionError::NotFound("The resource you requested does not exist.".into())
}

/// Most filters per mapping.
const MAX_FILTERS: usize = 5;

impl Functions {
    /// Creates a mapping; its poller starts at once when enabled.
    pub fn create_mapping(&self, function: &FunctionKey, spec: MappingSpec) -> Result<MappingView> {
        let source_arn = spec
            .source_arn
            .clone()
            .ok_or_else(|| invalid("Unrecognized event source."))?;
        let kind = self.source_kind(&source_arn)?;
        let starting_position = match (kind, spec.starting_position.as_deref(), spec.starting_timestamp_ms) {
            (SourceKind::Sqs, Some(_), _) => return Err(invalid("StartingPosition is not valid for SQS event sources.")),
            (SourceKind::Sqs, None, Some(_)) => {
                return Err(invalid("Timestamp only valid with StartingPosition AT_TIMESTAMP"))
            }
            (SourceKind::Sqs, None, None) => None,
            (SourceKind::Kinesis, None, _) => {
                return Err(FunctionError::InvalidParameter(
                    "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null.".into(),
                ))
            }
            (SourceKind::Kinesis, Some("AT_TIMESTAMP"), Some(ms)) => Some(StartingPosition::AtTimestamp(ms)),
            (SourceKind::Kinesis, Some("AT_TIMESTAMP"), None) => {
                return Err(invalid("StartingPositionTimestamp is required with StartingPosition AT_TIMESTAMP"))
            }
            (SourceKind::Kinesis, Some(_), Some(_)) => {
                return Err(invalid("Timestamp only valid with StartingPosition AT_TIMESTAMP"))
            }
            (SourceKind::Kinesis, Some("TRIM_HORIZON"), None) => Some(StartingPosition::TrimHorizon),
            (SourceKind::Kinesis, Some(_), None) => Some(StartingPosition::Latest),
        };
        let now = self.clock.now_ms();
        let sqs = kind == SourceKind::Sqs;
        let mut record = MappingRecord {
            uuid: uuid::Uuid::new_v4().to_string(),
            function: function.clone(),
            source_arn,
            kind,
            enabled: spec.enabled.unwrap_or(true),
            batch_size: if sqs { 10 } else { 100 },
            batching_window_secs: 0,
            parallelization: 1,
            starting_position,
            on_failure: None,
            max_record_age_secs: -1,
            bisect_on_error: false,
            max_retries: -1,
            report_item_failures: false,
            filters: Vec::new(),
            max_concurrency: None,
            last_modified_ms: now,
            created_ms: now,
            tags: spec.tags,
        };
        apply(&mut record, spec.settings)?;
        let _admin = self.admin();
        self.check(&record)?;
        self.refuse_duplicate(&record)?;
        self.persist_mapping(&record)?;
        self.mappings
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.uuid.clone(), record.clone());
        self.mapping_changed();
        Ok(self.view(record, Some("Creating")))
    }

    /// A mapping by UUID.
    pub fn get_mapping(&self, owner: &Owner<'_>, uuid: &str) -> Result<MappingView> {
        let record = self.lookup_mapping(owner, uuid)?;
        Ok(self.view(record, None))
    }

    /// One page of mappings, optionally of one source and/or one function, in UUID order.
    pub fn list_mappings(
        &self,
        account: &str,
        region: &str,
        source_arn: Option<&str>,
        function: Option<&FunctionKey>,
        marker: Option<&str>,
        max: usize,
    ) -> Page<MappingView> {
        let items = self
            .mappings()
            .values()
            .filter(|m| m.function.account == account && m.function.region == region)
            .filter(|m| source_arn.is_none_or(|arn| m.source_arn == arn))
            .filter(|m| function.is_none_or(|f| &m.function == f))
            .map(|m| (m.uuid.clone(), m.clone()))
            .collect::<Vec<_>>();
        let page = paginate(items, marker, max);
        Page {
            items: page.items.into_iter().map(|r| self.view(r, None)).collect(),
            next_marker: page.next_marker,
        }
    }

    /// Changes a mapping; the poller picks the change up at once.
    pub fn update_mapping(&self, owner: &Owner<'_>, uuid: &str, update: MappingUpdate) -> Result<MappingView> {
        let _admin = self.admin();
        let mut record = self.lookup_mapping(owner, uuid)?;
        let was_enabled = record.enabled;
        apply(&mut record, update)?;
        self.check(&record)?;
        self.refuse_duplicate(&record)?;
        record.last_modified_ms = self.clock.now_ms();
        self.persist_mapping(&record)?;
        self.mappings
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.uuid.clone(), record.clone());
        self.mapping_changed();
        let state = match (was_enabled, record.enabled) {
            (false, true) => "Enabling",
            (true, false) => "Disabling",
            _ => "Updating",
        };
        Ok(self.view(record, Some(state)))
    }

    /// Deletes a mapping; its poller stops (a batch in flight finishes first).
    pub fn delete_mapping(&self, owner: &Owner<'_>, uuid: &str) -> Result<MappingView> {
        let _admin = self.admin();
        let record = self.lookup_mapping(owner, uuid)?;
        let mut batch = self.store.batch();
        batch.delete(Cf::Meta, &MappingRecord::record_key(uuid));
        Functions::delete_checkpoints(uuid, &mut batch);
        self.store.commit(batch)?;
        self.mappings.write().unwrap_or_else(|p| p.into_inner()).remove(uuid);
        self.mapping_changed();
        Ok(self.view(record, Some("Deleting")))
    }

    /// Adds or replaces tags of a mapping.
    pub fn tag_mapping(&self, owner: &Owner<'_>, uuid: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        self.edit_mapping_tags(owner, uuid, |current| {
            current.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
            if current.len() > 50 {
                return Err(invalid("Number of tags exceeds resource tag limit."));
            }
            Ok(())
        })
    }

    /// Removes tags of a mapping.
    pub fn untag_mapping(&self, owner: &Owner<'_>, uuid: &str, keys: &[String]) -> Result<()> {
        self.edit_mapping_tags(owner, uuid, |current| {
            for k in keys {
                current.remove(k);
            }
            Ok(())
        })
    }

    fn edit_mapping_tags(
        &self,
        owner: &Owner<'_>,
        uuid: &str,
        edit: impl FnOnce(&mut BTreeMap<String, String>) -> Result<()>,
    ) -> Result<()> {
        let _admin = self.admin();
        let mut record = self
            .lookup_mapping(owner, uuid)
            .map_err(|_| FunctionError::NotFound(format!("Event source mapping not found: {uuid}")))?;
        edit(&mut record.tags)?;
        self.persist_mapping(&record)?;
        self.mappings
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(record.uuid.clone(), record);
        Ok(())
    }

    /// A mapping of the caller's account and region; another's is not found, as on AWS.
    fn lookup_mapping(&self, owner: &Owner<'_>, uuid: &str) -> Result<MappingRecord> {
        self.mappings()
            .get(&uuid.to_ascii_lowercase())
            .filter(|m| m.function.account == owner.account && m.function.region == owner.region)
            .cloned()
            .ok_or_else(mapping_not_found)
    }

    /// One mapping per function and source (another mapping than `record` itself).
    fn refuse_duplicate(&self, record: &MappingRecord) -> Result<()> {
        let mappings = self.mappings();
        let Some(existing) = mappings
            .values()
            .find(|m| m.uuid != record.uuid && m.function == record.function && m.source_arn == record.source_arn)
        else {
            return Ok(());
        };
        let message = match record.kind {
            SourceKind::Sqs => format!(
                "An event source mapping with SQS arn (\" {} \") and function (\" {} \") already exists. Please update or delete the existing mapping with UUID {}",
                record.source_arn, record.function.name, existing.uuid
            ),
            SourceKind::Kinesis => format!(
                "The event source arn (\" {} \") and function (\" {} \") provided mapping already exists. Please update or delete the existing mapping with UUID {}",
                record.source_arn, record.function.name, existing.uuid
            ),
        };
        Err(FunctionError::Conflict(message))
    }

    fn view(&self, record: MappingRecord, transition: Option<&'static str>) -> MappingView {
        let settled = match (record.enabled, self.is_polling(&record.uuid)) {
            (true, true) => "Enabled",
            (true, false) => "Enabling",
            (false, true) => "Disabling",
            (false, false) => "Disabled",
        };
        let results = self.last_results.lock().unwrap_or_else(|p| p.into_inner());
        let last_result = results
            .get(&record.uuid)
            .cloned()
            .or_else(|| (record.kind == SourceKind::Kinesis).then(|| "No records processed".to_string()));
        MappingView {
            state: transition.unwrap_or(settled),
            last_result,
            record,
        }
    }

    /// The kind of a source ARN that names an existing queue or stream.
    fn source_kind(&self, arn: &str) -> Result<SourceKind> {
        if let Some(queue) = QueueKey::from_arn(arn) {
            self.queues.ensure_exists(&queue).map_err(|_| {
                invalid("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist.")
            })?;
            return Ok(SourceKind::Sqs);
        }
        if let Some(stream) = stream_key(arn) {
            self.streams
                .describe(&stream)
                .map_err(|_| invalid(format!("Stream not found: {arn}")))?;
            return Ok(SourceKind::Kinesis);
        }
        Err(invalid("Unrecognized event source."))
    }

    /// The rules a mapping's settings must satisfy, checked after every create and update.
    fn check(&self, m: &MappingRecord) -> Result<()> {
        if !self.functions().contains_key(&m.function) {
            return Err(invalid("Function does not exist"));
        }
        let fifo = m.kind == SourceKind::Sqs && m.source_arn.ends_with(".fifo");
        let max_batch = if fifo { 10 } else { 10_000 };
        if m.batch_size > max_batch {
            return Err(invalid(format!(
                "BatchSize must be between 1 and {max_batch} for {} event sources.",
                if fifo {
                    "SQS FIFO"
                } else if m.kind == SourceKind::Sqs {
                    "SQS"
                } else {
                    "Kinesis"
                }
            )));
        }
        match m.kind {
            SourceKind::Sqs => {
                if fifo && m.batching_window_secs > 0 {
                    return Err(invalid("Batching window is not supported for FIFO queues"));
                }
                let visibility = QueueKey::from_arn(&m.source_arn)
                    .and_then(|q| self.queues.get_attributes(&q, &["VisibilityTimeout".to_string()]).ok())
                    .and_then(|attrs| attrs.into_iter().next())
                    .and_then(|(_, v)| v.parse::<u32>().ok());
                let timeout = self.functions().get(&m.function).map(|f| f.settings.timeout_secs);
                if let (Some(visibility), Some(timeout)) = (visibility, timeout) {
                    if visibility < timeout {
                        return Err(invalid(format!(
                            "Queue visibility timeout: {visibility} seconds is less than Function timeout: {timeout} seconds"
                        )));
                    }
                }
                if m.batch_size > 10 && m.batching_window_secs == 0 {
                    return Err(invalid(
                        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
                    ));
                }
                let stream_only = [
                    ("ParallelizationFactor", m.parallelization != 1),
                    ("DestinationConfig", m.on_failure.is_some()),
                    ("MaximumRecordAgeInSeconds", m.max_record_age_secs != -1),
                    ("BisectBatchOnFunctionError", m.bisect_on_error),
                    ("MaximumRetryAttempts", m.max_retries != -1),
                ];
                if let Some((name, _)) = stream_only.iter().find(|(_, set)| *set) {
                    return Err(invalid(format!(
                        "Unsupported {name} parameter for the given event source type."
                    )));
                }
            }
            SourceKind::Kinesis => {
                if m.max_concurrency.is_some() {
                    return Err(invalid(
                        "Unsupported ScalingConfig parameter for the given event source type.",
                    ));
                }
                if m.max_record_age_secs != -1 && m.max_record_age_secs < 60 {
                    return Err(invalid(
                        "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.",
                    ));
                }
            }
        }
        if let Some(dest) = &m.on_failure {
            // The destination must exist and take a plain message: a failure record with
            // nowhere to go would hold the shard, so it is refused here.
            let exists = match (QueueKey::from_arn(dest), crate::topic::TopicKey::from_arn(dest)) {
                (Some(q), _) => !q.name.ends_with(".fifo") && self.queues.ensure_exists(&q).is_ok(),
                (None, Some(t)) => !t.name.ends_with(".fifo") && self.topics.topic_policy(&t).is_some(),
                (None, None) => {
                    return Err(invalid(
                        "Unsupported DestinationConfig parameter for given event source mapping type.",
                    ))
                }
            };
            if !exists {
                return Err(invalid(format!(
                    "The destination {dest} does not exist or is a FIFO queue or topic, which takes no failure records."
                )));
            }
        }
        if m.filters.len() > MAX_FILTERS {
            return Err(invalid(format!(
                "Number of filters exceeds the limit of {MAX_FILTERS}."
            )));
        }
        for pattern in &m.filters {
            FilterPolicy::parse(pattern, FilterScope::MessageBody)
                .map_err(|_| invalid("Invalid filter pattern definition."))?;
        }
        Ok(())
    }
}

/// Applies the settings an update carries to `record`.
fn apply(record: &mut MappingRecord, u: MappingUpdate) -> Result<()> {
    if let Some(f) = u.function {
        record.function = f;
    }
    if let Some(v) = u.enabled {
        record.enabled = v;
    }
    if let Some(v) = u.batch_size {
        record.batch_size = v;
    }
    if let Some(v) = u.batching_window_secs {
        record.batching_window_secs = v;
    }
    if let Some(v) = u.parallelization {
        record.parallelization = v;
    }
    if let Some(v) = u.on_failure {
        record.on_failure = (!v.is_empty()).then_some(v);
    }
    if let Some(v) = u.max_record_age_secs {
        record.max_record_age_secs = v;
    }
    if let Some(v) = u.bisect_on_error {
        record.bisect_on_error = v;
    }
    if let Some(v) = u.max_retries {
        record.max_retries = v;
    }
    if let Some(v) = u.report_item_failures {
        record.report_item_failures = v;
    }
    if let Some(v) = u.filters {
        record.filters = v;
    }
    if let Some(v) = u.max_concurrency {
        record.max_concurrency = Some(v);
    }
    Ok(())
}

/// The stream an `arn:aws:kinesis:{region}:{account}:stream/{name}` names.
pub fn stream_key(arn: &str) -> Option<StreamKey> {
    let (region, account, resource) = crate::arn::split(arn, "kinesis")?;
    let name = resource.strip_prefix("stream/")?;
    (!name.is_empty() && !name.contains('/')).then(|| StreamKey::new(account, region, name))
}
