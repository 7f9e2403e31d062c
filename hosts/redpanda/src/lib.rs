//! auth-anomaly as a Redpanda data transform.
//!
//! Each input record's value is one authentication event in any format the core reads (ECS JSON,
//! a raw sshd/PAM syslog line, Windows evtx or winlogbeat JSON; several lines are several events).
//! The input topic is keyed by `user.name`, so every event of a user reaches the same partition
//! and so the same transform instance, which owns one [`Detector`]. Each alert document the
//! detector produces becomes one output record, keyed by the alert's user (or, for the
//! per-source-address spike rule, its source address), with a `job_id` header.
//!
//! Alerts come out when a bucket closes, that is when this partition sees the first event of a
//! later 15-minute bucket (event time, not wall-clock time): the transform has no timer.
//!
//! By default only the jobs whose state is per user run here (see [`PER_USER_JOBS`] and
//! `README.md`); `AUTH_ANOMALY_CONFIG` (an environment variable set at deploy time) holds the
//! detector's JSON configuration.

use std::time::{SystemTime, UNIX_EPOCH};

use auth_anomaly::config::RARE_SOURCE_IP_JOB;
use auth_anomaly::ingest::detect::{sniff, InputFormat};
use auth_anomaly::related::{FAILS_JOB, RARE_HOUR_JOB, SOURCE_IP_SPIKE_JOB, SUCCESSES_JOB};
use auth_anomaly::{Config, Detector, OutputKind, Stats};
use redpanda_transform_sdk::{BorrowedHeader, BorrowedRecord, RecordWriter, WriteError, WrittenRecord};
use serde_json::Value;

/// The environment variable holding the detector's JSON configuration
/// (`rpk transform deploy --var AUTH_ANOMALY_CONFIG='{…}'`, or `env:` in `transform.yaml`).
pub const CONFIG_ENV: &str = "AUTH_ANOMALY_CONFIG";

/// The jobs that run when the configuration names none: those whose state is per user, so that
/// sharding the stream by `user.name` gives each partition everything it needs.
pub const PER_USER_JOBS: [&str; 2] = [RARE_SOURCE_IP_JOB, RARE_HOUR_JOB];

/// The header naming the job an output record comes from.
pub const JOB_HEADER: &str = "job_id";

/// The transform's configuration: the detector's JSON configuration, with `jobs` defaulting to
/// [`PER_USER_JOBS`] and `output` limited to `alerts` (default) or `records` (every anomaly
/// record, then the alerts).
pub fn config_from_text(text: Option<&str>) -> Result<Config, String> {
    let text = text.map(str::trim).filter(|t| !t.is_empty()).unwrap_or("{}");
    let mut v: Value = serde_json::from_str(text).map_err(|e| format!("{CONFIG_ENV} is not valid JSON: {e}"))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| format!("{CONFIG_ENV} must be a JSON object"))?;
    if !obj.contains_key("jobs") {
        obj.insert("jobs".into(), PER_USER_JOBS.into());
    }
    let config = Config::from_value(&v).map_err(|e| format!("{CONFIG_ENV}: {e}"))?;
    if config.output == OutputKind::Verdicts {
        return Err(format!(
            "{CONFIG_ENV}: invalid config field `output`: this transform writes \"alerts\" or \"records\", not one verdict per event"
        ));
    }
    // Fail at start-up, not at the first record.
    Detector::new(config.clone()).map_err(|e| format!("{CONFIG_ENV}: {e}"))?;
    Ok(config)
}

/// One partition's transform: a detector created at the first record.
pub struct AlertTransform {
    config: Config,
    detector: Option<Detector>,
    syslog_seen: bool,
    written: u64,
}

impl AlertTransform {
    /// A transform with this configuration (see [`config_from_text`]).
    pub fn new(config: Config) -> AlertTransform {
        AlertTransform {
            config,
            detector: None,
            syslog_seen: false,
            written: 0,
        }
    }

    /// A transform configured from [`CONFIG_ENV`].
    pub fn from_env() -> Result<AlertTransform, String> {
        let text = std::env::var(CONFIG_ENV).ok();
        config_from_text(text.as_deref()).map(AlertTransform::new)
    }

    /// The detector's counters (all zero before the first record).
    pub fn stats(&self) -> Stats {
        self.detector.as_ref().map(Detector::stats).unwrap_or_default()
    }

    /// Output records written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn new_detector(&self, reference_ms: Option<i64>) -> Option<Detector> {
        let mut config = self.config.clone();
        config.reference_time_ms = config.reference_time_ms.or(reference_ms);
        // Checked by config_from_text (reference_time does not change what can fail).
        Detector::new(config).ok()
    }

    /// The detector, created at the first record. Year-less syslog stamps are read relative to
    /// the stream's clock (the open bucket) when the first syslog line arrives; if nothing has
    /// been accepted yet there is no clock, so the detector is (re)built with this record's broker
    /// timestamp as the reference (it has learnt nothing; only rejection counters restart).
    fn detector(&mut self, value: &[u8], record_time_ms: Option<i64>) -> Option<&mut Detector> {
        if !self.syslog_seen && sniff(value) == InputFormat::Syslog {
            self.syslog_seen = true;
            let clockless = self.detector.as_ref().is_none_or(|d| d.stats().open_bucket.is_none());
            if clockless && record_time_ms.is_some() {
                self.detector = self.new_detector(record_time_ms);
            }
        }
        if self.detector.is_none() {
            self.detector = self.new_detector(None);
        }
        self.detector.as_mut()
    }

    /// The `on_record_written` callback: feeds the record's value to the detector and writes each
    /// alert (or record) it produces. Input that is not a usable event (garbage, a tombstone, a
    /// log line that is not a logon) writes nothing and never fails; only a failed write to the
    /// output topic is an error (the broker then restarts the transform from its last commit).
    pub fn on_record(&mut self, record: &WrittenRecord<'_>, writer: &mut RecordWriter<'_>) -> Result<(), WriteError> {
        let Some(value) = record.value() else {
            return Ok(()); // a tombstone
        };
        let time_ms = epoch_ms(record.timestamp());
        let Some(detector) = self.detector(value, time_ms) else {
            return Ok(());
        };
        let out = detector.push_ndjson(value);
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let (key, job) = output_key(line);
            let headers = match &job {
                Some(j) => vec![BorrowedHeader::new(JOB_HEADER.as_bytes(), Some(j.as_bytes()))],
                None => Vec::new(),
            };
            writer.write(BorrowedRecord::new_with_headers(
                key.as_deref().map(str::as_bytes),
                Some(line),
                headers,
            ))?;
            self.written += 1;
        }
        Ok(())
    }
}

fn epoch_ms(t: SystemTime) -> Option<i64> {
    let ms = t.duration_since(UNIX_EPOCH).ok()?.as_millis();
    i64::try_from(ms).ok().filter(|&ms| ms > 0)
}

/// The first string of a value that is a string or an array of strings.
fn first_str(v: Option<&Value>) -> Option<&str> {
    match v? {
        Value::String(s) => Some(s),
        Value::Array(a) => a.iter().find_map(Value::as_str),
        _ => None,
    }
}

/// The output key and job of an alert (or record) line: the source address for the per-source
/// spike rule, the job id for the organisation-wide count rules (no single entity), the user for
/// every other rule.
pub fn output_key(line: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(doc) = serde_json::from_slice::<Value>(line) else {
        return (None, None);
    };
    let job = doc["job_id"].as_str().map(str::to_string);
    let key = match job.as_deref() {
        Some(SOURCE_IP_SPIKE_JOB) => doc["by_field_value"]
            .as_str()
            .or_else(|| first_str(doc.pointer("/source/ip")))
            .or_else(|| first_str(doc.get("source.ip"))),
        Some(j @ (FAILS_JOB | SUCCESSES_JOB)) => Some(j),
        _ => first_str(doc.pointer("/user/name"))
            .or_else(|| first_str(doc.get("user.name")))
            .or_else(|| doc["partition_field_value"].as_str()),
    };
    (key.map(str::to_string), job)
}
