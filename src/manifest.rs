//! The plugin manifest, `pkg.json`: job and rule definitions, embedded at build time.
//!
//! Job ids, rule ids, names, thresholds, risk scores, severities and MITRE mappings live in
//! `pkg.json` and nowhere else; the code reads them from here.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// The raw manifest text, embedded at build time.
pub const PKG_JSON: &str = include_str!("../pkg.json");

/// The datafeed filter of a job (Elastic's datafeed query, DESIGN §2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatafeedSpec {
    /// Required `event.category` value (`authentication`).
    pub event_category: String,
    /// Required `event.outcome` (`success` or `failure`).
    pub event_outcome: String,
    /// Fields that must exist (e.g. `source.ip`).
    #[serde(default)]
    pub require_fields: Vec<String>,
    /// `process.name` values excluded (Elastic Agent and Beats).
    #[serde(default)]
    pub exclude_process_names: Vec<String>,
}

/// One anomaly-detection job, as Elastic configures it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Our job id (Elastic's plain id).
    pub job_id: String,
    /// The ids Elastic uses for this job across versions.
    #[serde(default)]
    pub elastic_job_ids: Vec<String>,
    /// What the job looks for.
    pub description: String,
    /// Elastic's ML function: `rare`, `time_of_day`, `high_non_zero_count`.
    pub function: String,
    /// The by field, if any.
    pub by_field_name: Option<String>,
    /// The partition field, if any.
    pub partition_field_name: Option<String>,
    /// Bucket span, e.g. `15m`.
    pub bucket_span: String,
    /// Influencer fields.
    pub influencers: Vec<String>,
    /// Model memory limit, e.g. `128mb`.
    pub model_memory_limit: String,
    /// How long an idle entity is kept, e.g. `30d`.
    #[serde(default)]
    pub model_prune_window: Option<String>,
    /// The datafeed filter.
    pub datafeed: DatafeedSpec,
    /// Enabled by default.
    #[serde(default)]
    pub enabled: bool,
}

/// One detection rule (Kibana `machine_learning` rule).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleSpec {
    /// Elastic's rule id.
    pub rule_id: String,
    /// Rule name.
    pub name: String,
    /// What the rule means.
    pub description: String,
    /// `machine_learning`.
    #[serde(rename = "type")]
    pub rule_type: String,
    /// Our job the rule reads.
    pub machine_learning_job_id: String,
    /// The job id Elastic's rule names.
    #[serde(default)]
    pub elastic_machine_learning_job_id: Option<String>,
    /// Minimum record score that alerts.
    pub anomaly_threshold: f64,
    /// Rule schedule interval.
    pub interval: String,
    /// Rule look-back.
    pub from: String,
    /// Kibana risk score.
    pub risk_score: u32,
    /// Kibana severity.
    pub severity: String,
    /// Rule tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// MITRE ATT&CK mapping, in Kibana's alert shape.
    #[serde(default)]
    pub threat: Value,
    /// Known benign causes.
    #[serde(default)]
    pub false_positives: Vec<String>,
    /// References.
    #[serde(default)]
    pub references: Vec<String>,
    /// Rule version.
    #[serde(default)]
    pub version: Option<u32>,
}

/// The whole manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// Job definitions.
    pub jobs: Vec<JobSpec>,
    /// Rule definitions.
    pub rules: Vec<RuleSpec>,
    /// Built artifacts per host.
    #[serde(default)]
    pub hosts: Value,
}

impl Manifest {
    /// Parses a manifest text.
    pub fn parse(text: &str) -> Result<Manifest> {
        serde_json::from_str(text).map_err(|e| Error::Manifest(e.to_string()))
    }

    /// The embedded manifest, parsed once.
    pub fn embedded() -> &'static Manifest {
        static CELL: OnceLock<Manifest> = OnceLock::new();
        CELL.get_or_init(|| {
            // A malformed embedded manifest is a build defect; the manifest test catches it, so
            // fall back to an empty manifest rather than panic across a host boundary.
            Manifest::parse(PKG_JSON).unwrap_or_else(|_| Manifest {
                name: "auth-anomaly".into(),
                version: "0".into(),
                jobs: Vec::new(),
                rules: Vec::new(),
                hosts: Value::Null,
            })
        })
    }

    /// The job with this id.
    pub fn job(&self, job_id: &str) -> Option<&JobSpec> {
        self.jobs.iter().find(|j| j.job_id == job_id)
    }

    /// The rule that reads this job.
    pub fn rule_for_job(&self, job_id: &str) -> Option<&RuleSpec> {
        self.rules.iter().find(|r| r.machine_learning_job_id == job_id)
    }
}
