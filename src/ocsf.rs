//! OCSF output: an alert as an OCSF Detection Finding (class 2004), with the logon that raised it as
//! evidence in the shape of an OCSF Authentication event (class 3002).
//!
//! Chosen with config `output_format: "ocsf"` (CLI `--output-format ocsf`); anomaly records stay
//! in Elastic's record shape.

use serde_json::{json, Map, Value};

use crate::manifest::RuleSpec;
use crate::output::AnomalyRecord;

/// OCSF schema version the documents follow.
pub const OCSF_VERSION: &str = "1.3.0";

fn severity_id(severity: &str) -> u8 {
    match severity {
        "informational" => 1,
        "low" => 2,
        "medium" => 3,
        "high" => 4,
        "critical" => 5,
        _ => 0,
    }
}

fn risk_level_id(score: f64) -> u8 {
    match score {
        s if s < 25.0 => 0,
        s if s < 50.0 => 1,
        s if s < 75.0 => 2,
        s if s < 90.0 => 3,
        _ => 4,
    }
}

/// MITRE mappings from Kibana's `threat` shape to OCSF `attacks`.
fn attacks(threat: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for t in threat.as_array().into_iter().flatten() {
        let tactic = json!({"uid": t["tactic"]["id"], "name": t["tactic"]["name"]});
        for tech in t["technique"].as_array().into_iter().flatten() {
            let technique = json!({"uid": tech["id"], "name": tech["name"]});
            let subs = tech["subtechnique"].as_array().cloned().unwrap_or_default();
            if subs.is_empty() {
                out.push(json!({"tactic": tactic, "technique": technique, "version": "v15"}));
            }
            for sub in subs {
                out.push(json!({
                    "tactic": tactic,
                    "technique": technique,
                    "sub_technique": {"uid": sub["id"], "name": sub["name"]},
                    "version": "v15",
                }));
            }
        }
    }
    out
}

/// The Detection Finding for a record that crossed its rule's threshold.
pub fn detection_finding(record: &AnomalyRecord, rule: &RuleSpec, threshold: f64, reason: &str) -> Value {
    let user = record.user_name.first().cloned();
    let ip = record.source_ip.first().cloned();
    let host = record.host_name.first().cloned();
    let sev = severity_id(&rule.severity);
    let mut logon = Map::new();
    logon.insert("class_uid".into(), json!(3002));
    logon.insert("class_name".into(), json!("Authentication"));
    logon.insert("category_uid".into(), json!(3));
    logon.insert("activity_id".into(), json!(1));
    logon.insert("activity_name".into(), json!("Logon"));
    logon.insert("time".into(), json!(record.first_event_time));
    logon.insert("count".into(), json!(record.event_count));
    if let Some(u) = &user {
        logon.insert("user".into(), json!({"name": u}));
    }
    if let Some(i) = &ip {
        logon.insert("src_endpoint".into(), json!({"ip": i}));
    }
    if let Some(h) = &host {
        logon.insert("dst_endpoint".into(), json!({"hostname": h}));
    }
    let uid = format!(
        "{}:{}:{}:{}",
        record.job_id, record.timestamp, record.partition_field_value, record.by_field_value
    );
    json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "time": record.timestamp,
        "severity_id": sev,
        "severity": rule.severity,
        "status_id": 1,
        "status": "New",
        "message": reason,
        "risk_score": record.record_score.round() as i64,
        "risk_level_id": risk_level_id(record.record_score),
        "finding_info": {
            "uid": uid,
            "title": rule.name,
            "desc": rule.description,
            "types": [record.job_id],
            "first_seen_time": record.first_event_time,
            "created_time": record.timestamp,
            "analytic": {"uid": rule.rule_id, "name": rule.name, "type_id": 4, "type": "Learning (ML/DL)"},
            "attacks": attacks(&rule.threat),
        },
        "evidences": [{"data": Value::Object(logon)}],
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "auth-anomaly", "vendor_name": "auth-anomaly", "version": env!("CARGO_PKG_VERSION")},
            "labels": rule.tags,
        },
        "unmapped": {
            "job_id": record.job_id,
            "probability": record.probability,
            "record_score": record.record_score,
            "anomaly_threshold": threshold,
            "typical": record.typical,
            "actual": record.actual,
            "anomaly_score_explanation": record.anomaly_score_explanation,
        },
    })
}
