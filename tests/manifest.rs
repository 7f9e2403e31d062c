//! `pkg.json` is the single source of truth for jobs and rules; check it against Elastic's seed rule
//! and against the fixtures' job configurations.
#![cfg(not(target_arch = "wasm32"))] // native suite: wasm-pack builds every test target

use auth_anomaly::Manifest;

fn manifest() -> Manifest {
    Manifest::parse(auth_anomaly::manifest::PKG_JSON).expect("pkg.json parses")
}

#[test]
fn seed_rule_matches_elastic() {
    let m = manifest();
    let rule = m
        .rule_for_job("auth_rare_source_ip_for_a_user")
        .expect("rule for the rare-IP job");
    assert_eq!(rule.rule_id, "d4b73fa0-9d43-465e-b8bf-50230da6718b");
    assert_eq!(rule.name, "Unusual Source IP for a User to Logon from");
    assert_eq!(rule.anomaly_threshold, 75.0);
    assert_eq!(rule.interval, "15m");
    assert_eq!(rule.from, "now-30m");
    assert_eq!(rule.risk_score, 21);
    assert_eq!(rule.severity, "low");
    assert_eq!(rule.rule_type, "machine_learning");
    let threat = rule.threat.as_array().expect("threat array");
    let initial_access = threat
        .iter()
        .find(|t| t["tactic"]["id"] == "TA0001")
        .expect("TA0001 Initial Access");
    assert_eq!(initial_access["tactic"]["name"], "Initial Access");
    assert!(initial_access["technique"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == "T1078" && t["name"] == "Valid Accounts"));
}

#[test]
fn six_jobs_with_elastic_settings() {
    let m = manifest();
    let ids: Vec<&str> = m.jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "auth_rare_source_ip_for_a_user",
            "auth_rare_user",
            "auth_rare_hour_for_a_user",
            "auth_high_count_logon_fails",
            "auth_high_count_logon_events",
            "auth_high_count_logon_events_for_a_source_ip"
        ]
    );
    for job in &m.jobs {
        assert_eq!(job.bucket_span, "15m", "{}", job.job_id);
        assert_eq!(job.model_memory_limit, "128mb", "{}", job.job_id);
        assert_eq!(job.datafeed.event_category, "authentication");
        assert_eq!(job.datafeed.exclude_process_names.len(), 10, "{}", job.job_id);
        let expected = if job.job_id == "auth_high_count_logon_fails" {
            "failure"
        } else {
            "success"
        };
        assert_eq!(job.datafeed.event_outcome, expected, "{}", job.job_id);
        let rule = m.rule_for_job(&job.job_id).expect("every job has a rule");
        assert_eq!(rule.anomaly_threshold, 75.0);
        assert_eq!(rule.risk_score, 21);
    }
    let rare = m.job("auth_rare_source_ip_for_a_user").unwrap();
    assert_eq!(rare.function, "rare");
    assert_eq!(rare.by_field_name.as_deref(), Some("source.ip"));
    assert_eq!(rare.partition_field_name.as_deref(), Some("user.name"));
}

#[test]
fn job_configs_agree_with_elastic_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/elastic-ml-jobs");
    let m = manifest();
    for job in &m.jobs {
        let path = dir.join(format!("{}.json", job.job_id));
        let Ok(text) = std::fs::read_to_string(&path) else {
            // Elastic's module ships no file for every job in every version (see pkg.json notes).
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text).expect("fixture JSON");
        let det = &v["analysis_config"]["detectors"][0];
        assert_eq!(det["function"], job.function.as_str(), "{}", job.job_id);
        assert_eq!(
            det["by_field_name"].as_str(),
            job.by_field_name.as_deref(),
            "{}",
            job.job_id
        );
        assert_eq!(
            det["partition_field_name"].as_str(),
            job.partition_field_name.as_deref(),
            "{}",
            job.job_id
        );
        assert_eq!(v["analysis_config"]["bucket_span"], "15m");
    }
    assert!(
        dir.join("auth_rare_source_ip_for_a_user.json").exists(),
        "fixtures must be at ../shared/fixtures"
    );
}

#[test]
fn hosts_name_the_built_artifacts() {
    let m = manifest();
    assert_eq!(m.hosts["node"]["module"], "pkg/node/auth_anomaly.js");
    assert_eq!(m.hosts["web"]["module"], "www/pkg/auth_anomaly.js");
}
