//! The console's view of a region's streams: status, open shards, consumers and traffic.

use std::sync::atomic::Ordering;

use super::{StreamKey, StreamStatus, Streams};

/// One stream in the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOverview {
    /// The stream.
    pub key: StreamKey,
    /// Its status now.
    pub status: StreamStatus,
    /// Shards that take records.
    pub open_shards: usize,
    /// Registered (enhanced fan-out) consumers.
    pub consumers: usize,
    /// Records stored since the broker started.
    pub records_in: u64,
    /// Record data bytes stored since the broker started.
    pub bytes_in: u64,
    /// Records returned by GetRecords since the broker started.
    pub records_out: u64,
}

impl Streams {
    /// Every stream of `account` in `region` (one being deleted included), by name.
    pub fn overview(&self, account: &str, region: &str) -> Vec<StreamOverview> {
        let now = self.now();
        let mut out: Vec<StreamOverview> = self
            .snapshot()
            .iter()
            .filter(|s| s.key.account == account && s.key.region == region)
            .map(|s| {
                let (status, open_shards, consumers) = {
                    let record = s.record();
                    (
                        record.status(now),
                        record.shards.iter().filter(|sh| sh.is_open()).count(),
                        record.consumers.len(),
                    )
                };
                StreamOverview {
                    key: s.key.clone(),
                    status,
                    open_shards,
                    consumers,
                    records_in: s.traffic.records_in.load(Ordering::Relaxed),
                    bytes_in: s.traffic.bytes_in.load(Ordering::Relaxed),
                    records_out: s.traffic.records_out.load(Ordering::Relaxed),
                }
            })
            .collect();
        out.sort_by(|a, b| a.key.name.cmp(&b.key.name));
        out
    }
}
