//! Snapshot tests of the output documents: an alert and a verdict, as a pipeline receives them.
#![cfg(not(target_arch = "wasm32"))] // native suite: wasm-pack builds every test target

mod common;

use auth_anomaly::{Config, Detector};
use common::*;

#[test]
fn alert_document_shape() {
    let mut lines = Vec::new();
    routine(&mut lines, "alice", &["10.20.3.41", "81.2.69.160"], 0..14);
    lines.push(logon(T0 + 14 * DAY + 10 * HOUR, "alice", "185.220.101.4"));
    let r = run(&lines);
    assert_eq!(r.alerts.len(), 1);
    insta::assert_json_snapshot!("alert_new_network", r.alerts[0]);
}

#[test]
fn verdict_document_shape() {
    let mut lines = Vec::new();
    routine(&mut lines, "erin", &["10.20.3.41"], 0..14);
    routine(&mut lines, "frank", &["10.20.3.42"], 0..14);
    sort_by_time(&mut lines);
    let mut d = Detector::new(Config::from_json(r#"{"output":"verdicts"}"#).unwrap()).unwrap();
    d.push_ndjson(lines.join("\n").as_bytes());
    let out = d.push_ndjson(logon(T0 + 14 * DAY + 10 * HOUR, "erin", "10.20.3.42").as_bytes());
    let verdict: serde_json::Value = serde_json::from_slice(&out).expect("one verdict line");
    insta::assert_json_snapshot!("verdict_colleague_desk", verdict);
}

#[test]
fn ocsf_detection_finding_shape() {
    let mut lines = Vec::new();
    routine(&mut lines, "alice", &["10.20.3.41", "81.2.69.160"], 0..14);
    lines.push(logon(T0 + 14 * DAY + 10 * HOUR, "alice", "185.220.101.4"));
    let r = run_with(Config::from_json(r#"{"output_format":"ocsf"}"#).unwrap(), &lines);
    let alerts = alerts_of_ocsf(&r);
    assert_eq!(alerts.len(), 1);
    let f = alerts[0];
    assert_eq!(f["class_uid"], 2004);
    assert_eq!(f["evidences"][0]["data"]["class_uid"], 3002);
    assert_eq!(f["evidences"][0]["data"]["user"]["name"], "alice");
    assert_eq!(f["finding_info"]["attacks"][0]["technique"]["uid"], "T1078");
    insta::assert_json_snapshot!("ocsf_new_network", f);
}

fn alerts_of_ocsf(r: &Run) -> Vec<&serde_json::Value> {
    r.alerts
        .iter()
        .filter(|a| a["finding_info"]["types"][0] == "auth_rare_source_ip_for_a_user")
        .collect()
}
