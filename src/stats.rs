//! Counters: every input is accounted for as accepted, filtered (job, reason) or rejected (line,
//! reason).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ingest::Rejection;

/// Counters and sizes of a detector. `events == accepted + filtered + rejected`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Input events (lines or objects) seen, blank lines excluded.
    pub events: u64,
    /// Events that fed at least one job.
    pub accepted: u64,
    /// Parsed events that no job took (datafeed filters).
    pub filtered: u64,
    /// Lines that could not be used at all.
    pub rejected: u64,
    /// Accepted events older than the open bucket (within `max_lateness`), added to it.
    pub late: u64,
    /// Input lines by recognised format (`ecs`, `syslog`, `evtx`).
    pub events_by_format: BTreeMap<String, u64>,
    /// `job_id:reason` → count.
    pub filtered_by_reason: BTreeMap<String, u64>,
    /// Reason code → count.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Logons not scored because of an allowlist entry or a benign mark, by entry.
    pub allowlist_hits: BTreeMap<String, u64>,
    /// The first ten rejections, with line numbers.
    pub first_rejections: Vec<Rejection>,
    /// Buckets closed.
    pub buckets_closed: u64,
    /// Anomaly records written.
    pub records: u64,
    /// Alerts written.
    pub alerts: u64,
    /// Alerts withheld by the suppression window.
    pub suppressed: u64,
    /// Users forgotten to keep the model under `model_memory_limit`.
    pub evictions: u64,
    /// Users with history.
    pub users: u64,
    /// Tracked (user, address) pairs.
    pub pairs: u64,
    /// Approximate bytes of model state.
    pub memory_bytes: u64,
    /// Start of the open bucket, epoch ms.
    pub open_bucket: Option<i64>,
}
