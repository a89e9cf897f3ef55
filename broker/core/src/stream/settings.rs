//! A stream's settings and the account's: retention, capacity mode, warm throughput, record
//! size, tags, resource policies, encryption, enhanced monitoring, DescribeLimits and
//! account settings.
//!
//! # Invariants
//! - Each stream change runs through [`Streams::update`]: under the admin lock, one batch,
//!   in-memory state replaced only after the commit.
//! - Changes that AWS applies asynchronously put the stream in UPDATING for the transition
//!   time and require it ACTIVE first.
//! - A retention change wakes the sweeper, so records a shorter period expired go at once.

use sluice_storage::key::KeyBuf;
use sluice_storage::Cf;

use super::{
    check_policy_document, corrupt, internal, too_many_tags, AccountSettings, CapacityMode, Limits, MonitoringChange,
    Result, StreamError, StreamKey, Streams, ACCOUNT_SETTINGS, ALL_METRICS, MAX_RETENTION_HOURS, MAX_TAGS,
    MAX_WARM_THROUGHPUT_MIBPS, MIN_RETENTION_HOURS, ON_DEMAND_STREAM_LIMIT, SHARD_LIMIT,
};

impl Streams {
    /// Increase/DecreaseStreamRetentionPeriod.
    pub fn set_retention(&self, key: &StreamKey, hours: i64, increase: bool) -> Result<()> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            if hours < MIN_RETENTION_HOURS as i64 {
                return Err(StreamError::InvalidArgument(format!(
                    "Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too short."
                )));
            }
            if hours > MAX_RETENTION_HOURS as i64 {
                return Err(StreamError::InvalidArgument(format!(
                    "Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too long."
                )));
            }
            let current = record.retention_hours as i64;
            if increase && hours < current {
                return Err(StreamError::InvalidArgument(format!(
                    "Requested retention period ({hours} hours) for stream {} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API.",
                    key.name
                )));
            }
            if !increase && hours > current {
                return Err(StreamError::InvalidArgument(format!(
                    "Requested retention period ({hours} hours) for stream {} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API.",
                    key.name
                )));
            }
            record.retention_hours = hours as u32;
            self.set_updating(record, now);
            Ok(())
        })?;
        self.sweeper.notify_one();
        Ok(())
    }

    /// UpdateStreamMode.
    pub fn update_mode(&self, key: &StreamKey, mode: CapacityMode) -> Result<()> {
        if mode == CapacityMode::OnDemand {
            let stream = self.lookup(key)?;
            let is_on_demand = stream.record().mode == CapacityMode::OnDemand;
            if !is_on_demand && self.on_demand_count(&key.account, &key.region) >= ON_DEMAND_STREAM_LIMIT {
                return Err(StreamError::LimitExceeded(format!(
                    "This request would exceed the limit of {ON_DEMAND_STREAM_LIMIT} on-demand streams for the account {}.",
                    key.account
                )));
            }
        }
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            if record.mode == mode {
                return Err(StreamError::InUse(format!(
                    "Stream {} under account {} is already in the requested capacity mode.",
                    key.name, key.account
                )));
            }
            record.mode = mode;
            self.set_updating(record, now);
            Ok(())
        })
    }

    /// UpdateStreamWarmThroughput: on-demand streams only, 0 to 10,240 MiB/s. Sluice does not
    /// throttle on-demand streams, so the target is kept, reported and reached at once.
    pub fn update_warm_throughput(&self, key: &StreamKey, mibps: u32) -> Result<()> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            if record.mode != CapacityMode::OnDemand {
                return Err(StreamError::InvalidArgument(format!(
                    "Warm throughput can only be set on streams in ON_DEMAND capacity mode; stream {} under account {} is PROVISIONED.",
                    key.name, key.account
                )));
            }
            if mibps > MAX_WARM_THROUGHPUT_MIBPS {
                return Err(StreamError::InvalidArgument(format!(
                    "WarmThroughputMiBps must be at most {MAX_WARM_THROUGHPUT_MIBPS}, not {mibps}."
                )));
            }
            record.warm_throughput_mibps = Some(mibps);
            self.set_updating(record, now);
            Ok(())
        })
    }

    /// UpdateMaxRecordSize.
    pub fn update_max_record_size(&self, key: &StreamKey, kib: u32) -> Result<()> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            record.max_record_kib = kib;
            self.set_updating(record, now);
            Ok(())
        })
    }

    /// AddTagsToStream / TagResource.
    pub fn add_tags(&self, key: &StreamKey, tags: &[(String, String)]) -> Result<()> {
        self.update(key, |_, record, _| {
            let mut next = record.tags.clone();
            for (k, v) in tags {
                next.insert(k.clone(), v.clone());
            }
            if next.len() > MAX_TAGS {
                return Err(too_many_tags(key));
            }
            record.tags = next;
            Ok(())
        })
    }

    /// RemoveTagsFromStream / UntagResource.
    pub fn remove_tags(&self, key: &StreamKey, keys: &[String]) -> Result<()> {
        self.update(key, |_, record, _| {
            for k in keys {
                record.tags.remove(k);
            }
            Ok(())
        })
    }

    /// Tags sorted by key.
    pub fn tags(&self, key: &StreamKey) -> Result<Vec<(String, String)>> {
        let stream = self.lookup(key)?;
        let record = stream.record();
        Ok(record.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// PutResourcePolicy: the document must be a JSON object.
    pub fn put_policy(&self, key: &StreamKey, policy: &str) -> Result<()> {
        check_policy_document(policy)?;
        self.update(key, |_, record, _| {
            record.policy = Some(policy.to_string());
            Ok(())
        })
    }

    /// GetResourcePolicy: `{}` when none is attached, as AWS answers.
    pub fn policy(&self, key: &StreamKey) -> Result<String> {
        let stream = self.lookup(key)?;
        let policy = stream.record().policy.clone();
        Ok(policy.unwrap_or_else(|| "{}".to_string()))
    }

    /// DeleteResourcePolicy.
    pub fn delete_policy(&self, key: &StreamKey) -> Result<()> {
        self.update(key, |_, record, _| {
            if record.policy.take().is_none() {
                return Err(StreamError::NotFound(format!(
                    "No resource policy found for resource ARN {}.",
                    key.arn()
                )));
            }
            Ok(())
        })
    }

    /// Start/StopStreamEncryption: the key is kept and reported; records are stored as sent.
    pub fn set_encryption(&self, key: &StreamKey, kms_key: Option<String>) -> Result<()> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            record.encryption_key = kms_key;
            self.set_updating(record, now);
            Ok(())
        })
    }

    /// Enable/DisableEnhancedMonitoring.
    pub fn set_monitoring(&self, key: &StreamKey, metrics: &[String], enable: bool) -> Result<MonitoringChange> {
        self.update(key, |stream, record, now| {
            Self::require_active(stream, record, now)?;
            let current: Vec<String> = record.metrics.iter().cloned().collect();
            let names: Vec<String> = if metrics.iter().any(|m| m == "ALL") {
                ALL_METRICS.iter().map(|s| s.to_string()).collect()
            } else {
                metrics.to_vec()
            };
            for m in names {
                if enable {
                    record.metrics.insert(m);
                } else {
                    record.metrics.remove(&m);
                }
            }
            Ok(MonitoringChange {
                current,
                desired: record.metrics.iter().cloned().collect(),
            })
        })
    }

    /// DescribeLimits.
    pub fn limits(&self, account: &str, region: &str) -> Limits {
        Limits {
            shard_limit: SHARD_LIMIT,
            open_shards: self.open_shards_in(account, region),
            on_demand_streams: self.on_demand_count(account, region),
            on_demand_limit: ON_DEMAND_STREAM_LIMIT,
        }
    }

    /// DescribeAccountSettings.
    pub fn account_settings(&self, account: &str) -> Result<AccountSettings> {
        let key = KeyBuf::new(ACCOUNT_SETTINGS).str(account).finish();
        match self.store.get(Cf::Meta, &key)? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| corrupt(format!("account settings: {e}"))),
            None => Ok(AccountSettings::default()),
        }
    }

    /// UpdateAccountSettings.
    pub fn update_account_settings(&self, account: &str, enabled: bool) -> Result<AccountSettings> {
        let _admin = self.admin();
        let mut settings = self.account_settings(account)?;
        let now = self.now();
        if enabled && !settings.enabled {
            settings.started_ms = Some(now);
            settings.ended_ms = None;
        }
        if !enabled && settings.enabled {
            settings.ended_ms = Some(now);
        }
        settings.enabled = enabled;
        let key = KeyBuf::new(ACCOUNT_SETTINGS).str(account).finish();
        let value = serde_json::to_vec(&settings).map_err(|e| internal(format!("encode account settings: {e}")))?;
        let mut b = self.store.batch();
        b.put(Cf::Meta, &key, &value);
        self.store.commit(b)?;
        Ok(settings)
    }
}
