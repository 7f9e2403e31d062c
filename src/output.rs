//! Output documents: anomaly records (Elastic's record result), alerts (Elastic's ML alert) and
//! per-event verdicts (DESIGN §3).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::manifest::RuleSpec;
use crate::model::rare_ip::Evidence;
use crate::time::format_rfc3339_ms;

/// `{influencer_field_name, influencer_field_values}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Influencer {
    /// Field name, e.g. `source.ip`.
    pub influencer_field_name: String,
    /// Values seen in the bucket.
    pub influencer_field_values: Vec<String>,
}

/// The evidence behind a record: typed for the rare-address job, a JSON object for the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobEvidence {
    /// `auth_rare_source_ip_for_a_user`.
    RareIp(Evidence),
    /// Every other job (their evidence types serialise to objects with a `reason`).
    Other(Value),
}

impl JobEvidence {
    /// The rare-address evidence, if this is that job's.
    pub fn rare_ip(&self) -> Option<&Evidence> {
        match self {
            JobEvidence::RareIp(e) => Some(e),
            JobEvidence::Other(_) => None,
        }
    }

    /// The reason sentence.
    pub fn reason(&self) -> String {
        match self {
            JobEvidence::RareIp(e) => e.reason.clone(),
            JobEvidence::Other(v) => v["reason"].as_str().unwrap_or_default().to_string(),
        }
    }
}

/// `anomaly_score_explanation`: Elastic's fields plus our evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreExplanation {
    /// Rare functions: the by-field value had never been seen (within the prune window).
    pub by_field_first_occurrence: bool,
    /// Elastic: median concentration of the user's addresses / this address's concentration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_field_relative_rarity: Option<f64>,
    /// The scoring profile that produced the score.
    pub profile: String,
    /// Everything the score rests on.
    pub evidence: JobEvidence,
}

/// One anomaly record: one (job, partition, by-value, bucket), in the shape of Elastic's record
/// result (reference §4.1), plus `severity` and the event count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnomalyRecord {
    /// Job id.
    pub job_id: String,
    /// Always `record`.
    pub result_type: String,
    /// Probability of the observation under the model.
    pub probability: f64,
    /// Score 0–100 (may be renormalised later with the `elastic` profile).
    pub record_score: f64,
    /// Score at creation; never changes.
    pub initial_record_score: f64,
    /// Elastic's label for the score: warning, minor, major, critical.
    pub severity: String,
    /// Bucket span, seconds.
    pub bucket_span: u32,
    /// Detector index (0).
    pub detector_index: u32,
    /// Whether the bucket was still open when this was written.
    pub is_interim: bool,
    /// Count jobs: −5 (the anomaly is this bucket alone) … +5 (it has lasted four buckets or more),
    /// in the spirit of Elastic's `multi_bucket_impact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_bucket_impact: Option<f64>,
    /// Bucket start, epoch ms.
    pub timestamp: i64,
    /// ML function (`rare`, `time_of_day`, `high_non_zero_count`).
    pub function: String,
    /// Same as `function`.
    pub function_description: String,
    /// By field name (`source.ip`, `user.name`), when the job has one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub by_field_name: String,
    /// By field value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub by_field_value: String,
    /// Partition field name (`user.name`), when the job has one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub partition_field_name: String,
    /// Partition field value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub partition_field_value: String,
    /// Typical value (rare: the model's probability; counts: the expected count; time of day: the
    /// most usual second of day).
    pub typical: Vec<f64>,
    /// Actual value (rare: `[1]`; counts: the count; time of day: the logon's second of day).
    pub actual: Vec<f64>,
    /// Influencers.
    pub influencers: Vec<Influencer>,
    /// Why.
    pub anomaly_score_explanation: ScoreExplanation,
    /// Events behind the record in the bucket.
    pub event_count: u32,
    /// First event time in the bucket, epoch ms.
    pub first_event_time: i64,
    /// ECS input fields, as Elastic copies them into records.
    #[serde(rename = "source.ip", default, skip_serializing_if = "Vec::is_empty")]
    pub source_ip: Vec<String>,
    /// ECS `user.name`.
    #[serde(rename = "user.name", default, skip_serializing_if = "Vec::is_empty")]
    pub user_name: Vec<String>,
    /// ECS `host.name`.
    #[serde(rename = "host.name", default, skip_serializing_if = "Vec::is_empty")]
    pub host_name: Vec<String>,
}

/// Elastic's severity label for a score.
pub fn severity_label(score: f64) -> &'static str {
    if score < 25.0 {
        "warning"
    } else if score < 50.0 {
        "minor"
    } else if score < 75.0 {
        "major"
    } else {
        "critical"
    }
}

/// Builds the alert document for a record that crossed its rule's threshold: the record's fields
/// with ECS fields nested, plus `event.kind: signal` and `kibana.alert.*` (reference §4.3).
pub fn alert_document(record: &AnomalyRecord, rule: &RuleSpec, threshold: f64) -> Value {
    let mut doc = match serde_json::to_value(record) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for key in ["source.ip", "user.name", "host.name"] {
        doc.remove(key);
    }
    let time = format_rfc3339_ms(record.timestamp);
    doc.insert("@timestamp".into(), Value::String(time.clone()));
    doc.insert("event".into(), json!({"kind": "signal"}));
    // Kibana nests each ECS input field (by, partition, influencers) into the alert.
    for (values, object, leaf) in [
        (&record.user_name, "user", "name"),
        (&record.source_ip, "source", "ip"),
        (&record.host_name, "host", "name"),
    ] {
        let v = match values.as_slice() {
            [] => continue,
            [one] => json!(one),
            many => json!(many),
        };
        doc.insert(object.into(), json!({ leaf: v }));
    }
    let reason = format!(
        "{} (score {:.0} ≥ {:.0}): {}",
        rule.name,
        record.record_score,
        threshold,
        record.anomaly_score_explanation.evidence.reason()
    );
    let fields = [
        ("kibana.alert.original_time", Value::String(time)),
        ("kibana.alert.status", json!("active")),
        ("kibana.alert.workflow_status", json!("open")),
        ("kibana.alert.reason", Value::String(reason)),
        ("kibana.alert.risk_score", json!(rule.risk_score)),
        ("kibana.alert.severity", json!(rule.severity)),
        ("kibana.alert.rule.name", json!(rule.name)),
        ("kibana.alert.rule.rule_id", json!(rule.rule_id)),
        ("kibana.alert.rule.type", json!(rule.rule_type)),
        ("kibana.alert.rule.interval", json!(rule.interval)),
        ("kibana.alert.rule.from", json!(rule.from)),
        ("kibana.alert.rule.description", json!(rule.description)),
        ("kibana.alert.rule.threat", rule.threat.clone()),
        ("kibana.alert.rule.tags", json!(rule.tags)),
        ("kibana.alert.rule.false_positives", json!(rule.false_positives)),
        ("kibana.alert.rule.references", json!(rule.references)),
        ("kibana.alert.rule.risk_score", json!(rule.risk_score)),
        ("kibana.alert.rule.severity", json!(rule.severity)),
        (
            "kibana.alert.rule.parameters",
            json!({"anomaly_threshold": threshold, "machine_learning_job_id": [rule.machine_learning_job_id]}),
        ),
    ];
    for (k, v) in fields {
        doc.insert(k.into(), v);
    }
    Value::Object(doc)
}

/// One job's answer for one event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobVerdict {
    /// Job id.
    pub job_id: String,
    /// `learning`, `known_address`, `new_address`, `allowlisted`, or `filtered`.
    pub state: String,
    /// Score 0–100 (0 when filtered or learning).
    pub score: f64,
    /// Whether the score reaches the rule's threshold.
    pub above_threshold: bool,
    /// The score is provisional: its bucket is still open (count jobs score the running count,
    /// so a spike is visible before the bucket ends; only the final record can alert).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_interim: bool,
    /// Why (or why the event did not feed this job).
    pub reason: String,
    /// The full evidence, when scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<JobEvidence>,
}

/// The real-time answer for one event (DESIGN §3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Event time, RFC 3339.
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    /// Input line number (NDJSON input), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// ECS `user.name`.
    #[serde(rename = "user.name")]
    pub user_name: String,
    /// ECS `source.ip`.
    #[serde(rename = "source.ip", skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// ECS `event.outcome`.
    #[serde(rename = "event.outcome")]
    pub outcome: String,
    /// Per-job answers.
    pub jobs: Vec<JobVerdict>,
    /// Highest score over the jobs.
    pub max_score: f64,
    /// Whether any job's score reaches its rule's threshold (an alert follows when the bucket
    /// closes, unless suppressed).
    pub alert: bool,
}

/// A rejected input line, as it appears in verdict output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectionDoc {
    /// Line number.
    pub line: u64,
    /// Reason code.
    pub rejected: String,
    /// Reason in words.
    pub message: String,
}
