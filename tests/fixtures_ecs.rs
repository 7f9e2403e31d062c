//! ECS ingest against Elastic's own pipeline output (`../shared/fixtures`): every expected document
//! of the `system.auth`, `system.security`, `auditd_manager` and `endpoint` integrations parses,
//! and the fields the jobs use come out as Elastic's documents say.
#![cfg(not(target_arch = "wasm32"))] // native suite: wasm-pack builds every test target

use auth_anomaly::ingest::{event_from_json, event_from_json_value};
use auth_anomaly::{Config, Detector, Outcome};
use serde_json::Value;

fn fixture(path: &str) -> Value {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("fixture {} missing: {e}", full.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn expected_docs(path: &str) -> Vec<Value> {
    fixture(path)["expected"]
        .as_array()
        .expect("expected array")
        .iter()
        .filter(|d| !d.is_null())
        .cloned()
        .collect()
}

fn field<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, k| v.get(k))
}

#[test]
fn system_auth_expected_documents() {
    let mut with_ip = 0;
    for name in [
        "test-auth.log-expected.json",
        "test-secure-rhel7.log-expected.json",
        "test-pam-extraction.log-expected.json",
    ] {
        for doc in expected_docs(&format!("elastic-integrations/system/auth/{name}")) {
            if doc.get("@timestamp").is_none() {
                // Elastic's pipeline leaves some documents without a time (unparsable syslog
                // prefix); without one an event cannot be bucketed.
                assert_eq!(
                    event_from_json_value(&doc),
                    Err(auth_anomaly::RejectReason::MissingTimestamp)
                );
                continue;
            }
            let ev = event_from_json_value(&doc).unwrap_or_else(|r| panic!("{name}: {r:?} for {doc}"));
            // An empty `user.name` with a `user.effective.name` (PAM's `user=root`) names the
            // account logged on to; we use it where Elastic's partition would be "".
            let user = field(&doc, "user.name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .or_else(|| field(&doc, "user.effective.name").and_then(Value::as_str))
                .unwrap_or("");
            assert_eq!(ev.user_name, user, "{doc}");
            let ip = field(&doc, "source.ip")
                .and_then(Value::as_str)
                .map(|s| s.parse().unwrap());
            assert_eq!(ev.source_ip, ip, "{doc}");
            with_ip += usize::from(ip.is_some());
            let outcome = field(&doc, "event.outcome").and_then(Value::as_str);
            assert_eq!(ev.outcome.map(|o| o.as_str()), outcome);
            let is_auth = field(&doc, "event.category")
                .and_then(Value::as_array)
                .is_some_and(|c| c.iter().any(|x| x == "authentication"));
            assert_eq!(ev.is_authentication, is_auth);
            assert_eq!(
                ev.host_name.as_deref(),
                field(&doc, "host.hostname").and_then(Value::as_str)
            );
            let number = |path: &str| field(&doc, path).and_then(Value::as_u64);
            let text = |path: &str| field(&doc, path).and_then(Value::as_str);
            assert_eq!(ev.source_port.map(u64::from), number("source.port"), "{doc}");
            assert_eq!(ev.process_pid.map(u64::from), number("process.pid"), "{doc}");
            assert_eq!(ev.process_name.as_deref(), text("process.name"), "{doc}");
            assert_eq!(ev.ssh_method.as_deref(), text("system.auth.ssh.method"), "{doc}");
            assert_eq!(ev.action.as_deref(), text("event.action"), "{doc}");
            // The text fast path reads the same document to the same event.
            assert_eq!(event_from_json(&doc.to_string()), Ok(ev), "{doc}");
        }
    }
    assert!(
        with_ip >= 10,
        "the fixtures carry many source addresses; parsed {with_ip}"
    );
}

#[test]
fn windows_security_logon_documents() {
    let docs =
        expected_docs("elastic-integrations/system/security/test-security-windows2012r2-logon.json-expected.json");
    assert!(!docs.is_empty());
    for doc in docs {
        let ev = event_from_json_value(&doc).expect("parses");
        assert_eq!(
            ev.user_name,
            field(&doc, "user.name").and_then(Value::as_str).unwrap_or("")
        );
        assert_eq!(
            ev.logon_type.as_deref(),
            field(&doc, "winlog.event_data.LogonType").and_then(Value::as_str)
        );
        assert_eq!(
            ev.host_name.as_deref(),
            field(&doc, "host.name").and_then(Value::as_str)
        );
        assert_eq!(
            ev.process_pid.map(u64::from),
            field(&doc, "process.pid").and_then(Value::as_u64)
        );
        // `IpPort` `-` (these are local logons): no port, as no address.
        assert_eq!(
            ev.source_port.map(u64::from),
            field(&doc, "source.port").and_then(Value::as_u64)
        );
    }
}

#[test]
fn auditd_manager_user_auth_is_the_effective_user() {
    let docs = expected_docs("elastic-integrations/auditd_manager/test-userlogin-events.json-expected.json");
    let user_auth = docs
        .iter()
        .find(|d| field(d, "event.action").and_then(Value::as_str) == Some("authenticated"))
        .expect("a USER_AUTH document");
    let ev = event_from_json_value(user_auth).expect("parses");
    assert_eq!(
        Some(ev.user_name.as_str()),
        field(user_auth, "user.effective.name").and_then(Value::as_str)
    );
    for doc in &docs {
        let ev = event_from_json_value(doc).expect("parses");
        assert!(ev.is_authentication);
        assert_eq!(ev.outcome.is_some(), field(doc, "event.outcome").is_some());
    }
}

#[test]
fn elastic_defend_log_on_sample() {
    let doc = fixture("elastic-endpoint/package/endpoint/data_stream/security/sample_event.json");
    let ev = event_from_json_value(&doc).expect("parses");
    assert_eq!(ev.outcome(), Outcome::Success);
    assert!(ev.is_authentication);
    assert_eq!(ev.dataset.as_deref(), Some("endpoint.events.security"));
    // fe80:: is link-local: a local logon, which the rare-IP job must not learn from.
    let mut d = Detector::new(Config::default()).unwrap();
    let v = d.push(&ev);
    assert_eq!(v.jobs[0].state, "filtered");
    assert_eq!(
        d.stats()
            .filtered_by_reason
            .get("auth_rare_source_ip_for_a_user:unusable_source_ip"),
        Some(&1)
    );
}

/// Every input is accounted for, over all fixture documents at once.
#[test]
fn every_fixture_document_is_accounted_for() {
    let mut docs = Vec::new();
    for p in [
        "elastic-integrations/system/auth/test-auth.log-expected.json",
        "elastic-integrations/system/security/test-security-windows2012r2-logon.json-expected.json",
        "elastic-integrations/system/security/test-security-windows2016-logoff.json-expected.json",
        "elastic-integrations/auditd_manager/test-userlogin-events.json-expected.json",
    ] {
        docs.extend(expected_docs(p));
    }
    // The fixtures span 2019–2025 out of order; a stream is in time order.
    docs.sort_by_key(|d| event_from_json_value(d).map(|e| e.timestamp_ms).unwrap_or(0));
    let mut lines: String = docs.iter().map(|d| format!("{d}\n")).collect();
    lines.push_str("garbage\n");
    let config = Config::from_json(r#"{"max_clock_step":"3650d"}"#).unwrap();
    let mut d = Detector::new(config).unwrap();
    d.push_ndjson(lines.as_bytes());
    let s = d.stats();
    assert_eq!(s.events, s.accepted + s.filtered + s.rejected, "{s:?}");
    assert!(s.accepted > 0 && s.filtered > 0, "{s:?}");
    assert!(s.rejected >= 1, "{s:?}");
    assert!(
        s.filtered_by_reason
            .contains_key("auth_rare_source_ip_for_a_user:outcome_mismatch"),
        "{s:?}"
    );
}

/// Windows Security and auditd_manager documents in, `AuthEvent` out: per file, how many documents
/// agree on every field the jobs and their outputs read besides the user (checked above, with the
/// auditd effective-user rule): `source.ip`, `source.port`, `event.outcome`, `event.action`,
/// `host.name`, `process.name`, `process.pid`, `@timestamp`. No exceptions: every document agrees.
#[test]
fn windows_and_auditd_field_conformance() {
    for (path, want_docs) in [
        (
            "elastic-integrations/system/security/test-security-windows2012r2-logon.json-expected.json",
            18,
        ),
        (
            "elastic-integrations/auditd_manager/test-userlogin-events.json-expected.json",
            4,
        ),
    ] {
        let docs = expected_docs(path);
        let mut matched = 0;
        for doc in &docs {
            let ev = event_from_json_value(doc).expect("parses");
            let text = |p: &str| field(doc, p).and_then(Value::as_str).map(str::to_string);
            let number = |p: &str| field(doc, p).and_then(Value::as_u64);
            let want = (
                text("source.ip").map(|s| s.parse::<std::net::IpAddr>().expect("ip")),
                number("source.port"),
                text("event.outcome"),
                text("event.action"),
                text("host.name"),
                text("process.name").filter(|n| !n.is_empty()),
                number("process.pid"),
                text("@timestamp").map(|t| auth_anomaly::time::parse_rfc3339_ms(&t).expect("time")),
            );
            let got = (
                ev.source_ip,
                ev.source_port.map(u64::from),
                ev.outcome.map(|o| o.as_str().to_string()),
                ev.action.clone(),
                ev.host_name.clone(),
                ev.process_name.clone(),
                ev.process_pid.map(u64::from),
                want.7.map(|_| ev.timestamp_ms),
            );
            assert_eq!(got, want, "{path}: {doc}");
            assert_eq!(event_from_json(&doc.to_string()), Ok(ev), "fast path: {doc}");
            matched += 1;
        }
        println!("{path}: {matched} / {} documents agree", docs.len());
        assert_eq!((matched, docs.len()), (want_docs, want_docs), "{path}");
    }
}
