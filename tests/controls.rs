//! The false-positive controls users ask for: known networks, allowlists (networks and user
//! patterns) with hit counts, analyst feedback, per-rule suppression windows.
#![cfg(not(target_arch = "wasm32"))] // native suite: wasm-pack builds every test target

mod common;

use auth_anomaly::{Config, Detector};
use common::*;

fn stable_then(user: &str, ip: &str) -> Vec<String> {
    let mut lines = Vec::new();
    routine(&mut lines, user, &["10.20.3.41"], 0..14);
    lines.push(logon(T0 + 14 * DAY + 10 * HOUR, user, ip));
    lines
}

/// A new address inside a named known network the user already uses is not new; the same user
/// in a known network they never used is still scored (lower), and the reason names the network.
#[test]
fn known_network_is_one_place() {
    let cfg = r#"{"known_networks":[{"name":"vpn","cidr":["10.99.0.0/16","172.16.0.0/12"]}]}"#;
    let mut lines = Vec::new();
    routine(&mut lines, "alice", &["10.20.3.41", "10.99.1.1"], 0..14);
    // A different /16 of the same known network: without the config this is a new site.
    lines.push(logon(T0 + 14 * DAY + 10 * HOUR, "alice", "172.20.5.5"));
    let with = run_with(Config::from_json(cfg).unwrap(), &lines);
    assert!(alerts_for(&with, "alice").is_empty(), "{:#?}", with.alerts);
    let rec = with
        .records
        .iter()
        .find(|r| r.by_field_value == "172.20.5.5")
        .expect("record");
    let ev = rec.anomaly_score_explanation.evidence.rare_ip().unwrap();
    assert!(ev.factors.iter().any(|f| f.contains("known network `vpn`")), "{ev:?}");
    let without = run(&lines);
    assert_eq!(alerts_for(&without, "alice").len(), 1);
}

/// Allowlisted user patterns never alert, and every allowlist entry counts its hits.
#[test]
fn allowlists_count_their_hits() {
    let mut lines = stable_then("svc-backup", "185.220.101.4");
    lines.extend(stable_then("bob", "203.0.113.9"));
    sort_by_time(&mut lines);
    let cfg = Config::from_json(r#"{"allowlist_users":["svc-*"],"allowlist":["203.0.113.0/24"]}"#).unwrap();
    let r = run_with(cfg, &lines);
    assert!(
        r.alerts.iter().all(|a| a["job_id"] != "auth_rare_source_ip_for_a_user"),
        "{:#?}",
        r.alerts
    );
    let hits = r.detector.stats().allowlist_hits;
    assert!(hits.iter().any(|(k, v)| k.contains("svc-*") && *v >= 1), "{hits:?}");
    assert!(
        hits.iter().any(|(k, v)| k.contains("203.0.113.0/24") && *v >= 1),
        "{hits:?}"
    );
}

/// An analyst marks the alerting pair benign: the next logon from that network is never scored.
#[test]
fn marked_benign_is_never_alerted_again() {
    let lines = stable_then("alice", "185.220.101.4");
    let mut d = Detector::new(Config::default()).unwrap();
    for l in &lines {
        d.push(&auth_anomaly::ingest::event_from_json(l).unwrap());
    }
    assert_eq!(d.flush().alerts.len(), 1);
    d.mark_benign("alice", "185.220.0.0/16").unwrap();
    assert!(d.mark_benign("alice", "not-a-network").is_err());
    // Two days later (outside suppression), another address in the marked network.
    let ev = auth_anomaly::ingest::event_from_json(&logon(T0 + 16 * DAY + 10 * HOUR, "alice", "185.220.9.9")).unwrap();
    let v = d.push(&ev);
    assert_eq!(v.jobs[0].state, "allowlisted");
    assert!(v.jobs[0].reason.contains("marked benign"), "{}", v.jobs[0].reason);
    assert!(d
        .flush()
        .alerts
        .iter()
        .all(|a| a["job_id"] != "auth_rare_source_ip_for_a_user"));
    // The mark survives a snapshot.
    let restored = Detector::restore(&d.snapshot().unwrap()).unwrap();
    assert_eq!(restored.stats().allowlist_hits.values().sum::<u64>(), 1);
}

/// Per-rule suppression windows override the default.
#[test]
fn per_rule_suppression_window() {
    let mut lines = stable_then("alice", "185.220.101.4");
    // The same address scores again two days later at the lowered threshold; the rule's own
    // window of 7 days suppresses it, where the default 24 h would not.
    lines.push(logon(T0 + 16 * DAY + 8 * HOUR, "alice", "185.220.101.4"));
    let base = r#""anomaly_threshold":15,"jobs":["auth_rare_source_ip_for_a_user"]"#;
    let default = run_with(Config::from_json(&format!("{{{base}}}")).unwrap(), &lines);
    assert_eq!(alerts_for(&default, "alice").len(), 2, "{:#?}", default.records);
    let week = run_with(
        Config::from_json(&format!(
            r#"{{{base},"suppression_windows":{{"auth_rare_source_ip_for_a_user":"7d"}}}}"#
        ))
        .unwrap(),
        &lines,
    );
    assert_eq!(alerts_for(&week, "alice").len(), 1);
    assert_eq!(week.detector.stats().suppressed, 1);
}
