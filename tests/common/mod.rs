//! Shared helpers for the behaviour suites: a tiny event builder and a driver.
#![allow(dead_code)]

use auth_anomaly::time::format_rfc3339_ms;
use auth_anomaly::{Config, Detector};

/// 2026-09-01T00:00:00Z, a Tuesday.
pub const T0: i64 = 1_788_220_800_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 86_400_000;

/// One successful ECS logon line.
pub fn logon(ts: i64, user: &str, ip: &str) -> String {
    format!(
        r#"{{"@timestamp":"{}","event":{{"category":["authentication"],"outcome":"success","action":"ssh_login"}},"user":{{"name":"{user}"}},"source":{{"ip":"{ip}"}},"host":{{"name":"srv-01"}}}}"#,
        format_rfc3339_ms(ts)
    )
}

/// A detector with default config, fed `lines` in order; returns it with everything flushed.
pub struct Run {
    pub detector: Detector,
    pub alerts: Vec<serde_json::Value>,
    pub records: Vec<auth_anomaly::AnomalyRecord>,
}

pub fn run_with(config: Config, lines: &[String]) -> Run {
    let mut detector = Detector::new(config).expect("config");
    let mut alerts = Vec::new();
    let mut records = Vec::new();
    for l in lines {
        let event = auth_anomaly::ingest::event_from_json(l).expect("test lines are valid");
        detector.push(&event);
        let r = detector.take_results();
        alerts.extend(r.alerts);
        records.extend(r.records);
    }
    let r = detector.flush();
    alerts.extend(r.alerts);
    records.extend(r.records);
    Run {
        detector,
        alerts,
        records,
    }
}

pub fn run(lines: &[String]) -> Run {
    run_with(Config::default(), lines)
}

/// `user` logs on from each of `ips` at 09:00 and 14:00 on days `days`.
pub fn routine(lines: &mut Vec<String>, user: &str, ips: &[&str], days: std::ops::Range<i64>) {
    for d in days {
        for (i, ip) in ips.iter().enumerate() {
            lines.push(logon(T0 + d * DAY + (9 + 5 * i as i64) * HOUR + 7 * 60_000, user, ip));
        }
    }
}

/// Sort lines by their timestamp (they all start with `{"@timestamp":"…"`).
pub fn sort_by_time(lines: &mut [String]) {
    lines.sort_by(|a, b| a[15..39].cmp(&b[15..39]));
}

/// Alerts of the rare-source-IP rule for a user.
pub fn alerts_for<'a>(run: &'a Run, user: &str) -> Vec<&'a serde_json::Value> {
    run.alerts
        .iter()
        .filter(|a| a["job_id"] == "auth_rare_source_ip_for_a_user" && a["user"]["name"] == user)
        .collect()
}

/// Alerts of one job.
pub fn alerts_of<'a>(run: &'a Run, job: &str) -> Vec<&'a serde_json::Value> {
    run.alerts.iter().filter(|a| a["job_id"] == job).collect()
}

/// The rare-source-IP job's score in a verdict.
pub fn rare_ip_score(v: &auth_anomaly::Verdict) -> f64 {
    v.jobs
        .iter()
        .find(|j| j.job_id == "auth_rare_source_ip_for_a_user")
        .map_or(0.0, |j| j.score)
}
