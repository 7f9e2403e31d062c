//! Native tests of the filter through its C ABI (pointers are native here; the Node harness in
//! `test/` drives the real `.wasm` the way Fluent Bit does).

use std::ffi::CStr;

use serde_json::{json, Value};

use super::*;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// 2026-09-21T…Z.
const T0: i64 = 1_790_000_000_000;

fn ecs(ts: i64, user: &str, ip: &str, outcome: &str) -> String {
    let ts = auth_anomaly::time::format_rfc3339_ms(ts);
    format!(
        r#"{{"@timestamp":"{ts}","event":{{"category":["authentication"],"outcome":"{outcome}"}},"user":{{"name":"{user}"}},"source":{{"ip":"{ip}"}},"host":{{"name":"web-1"}}}}"#
    )
}

/// Starts a fresh filter with this configuration (every test thread has its own state, but the
/// test harness may run several tests on one thread).
fn reset(config: &str) {
    let rc = unsafe { auth_anomaly_configure(config.as_ptr(), config.len() as u32) };
    assert_eq!(rc, 0, "{}", last_error());
}

fn last_error() -> String {
    let p = auth_anomaly_last_error();
    unsafe { CStr::from_ptr(p.cast()) }.to_string_lossy().into_owned()
}

fn stats() -> Value {
    let p = auth_anomaly_stats();
    serde_json::from_slice(unsafe { CStr::from_ptr(p.cast()) }.to_bytes()).unwrap()
}

/// Calls the filter like Fluent Bit: the record followed by a NUL, `record_len` without it.
/// Returns the raw output (`None` when dropped).
fn call_raw(record: &[u8], time_ms: i64) -> Option<Vec<u8>> {
    let mut buf = record.to_vec();
    buf.push(0);
    let tag = b"auth.log\0";
    let sec = (time_ms / 1000) as u32;
    let nsec = ((time_ms % 1000) * 1_000_000) as u32;
    let p = unsafe { auth_anomaly_filter(tag.as_ptr(), 8, sec, nsec, buf.as_ptr(), record.len() as u32) };
    assert!(!p.is_null());
    let out = unsafe { CStr::from_ptr(p.cast()) }.to_bytes().to_vec();
    (!out.is_empty()).then_some(out)
}

fn call(record: &str, time_ms: i64) -> Option<Value> {
    call_raw(record.as_bytes(), time_ms)
        .map(|out| serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out))))
}

fn rare_ip_rule() -> String {
    rule_name("auth_rare_source_ip_for_a_user")
}

/// 14 days of alice on her desk, twice a day.
fn stable_history(user: &str, ip: &str) {
    for d in 0..14 {
        for h in [9, 14] {
            let t = T0 + d * DAY + h * HOUR;
            let out = call(&ecs(t, user, ip, "success"), t).expect("kept");
            assert!(out[FIELD]["alerts"].as_array().unwrap().is_empty(), "{out}");
        }
    }
}

#[test]
fn enriches_a_new_network_logon_and_keeps_the_record_bytes() {
    reset("");
    stable_history("alice", "10.1.2.3");
    let t = T0 + 14 * DAY + 10 * HOUR;
    let record = ecs(t, "alice", "185.220.101.4", "success");
    let raw = call_raw(record.as_bytes(), t).unwrap();
    // The original bytes come first, unchanged; the field is spliced in.
    assert!(raw.starts_with(&record.as_bytes()[..record.len() - 1]));
    let out: Value = serde_json::from_slice(&raw).unwrap();
    let note = &out[FIELD];
    assert!(note["score"].as_f64().unwrap() >= 75.0, "{note}");
    assert!(
        note["alerts"].as_array().unwrap().contains(&json!(rare_ip_rule())),
        "{note}"
    );
    assert!(note["jobs"]["auth_rare_source_ip_for_a_user"].as_f64().unwrap() >= 75.0);
    assert!(!note["reason"].as_str().unwrap().is_empty());
    assert_eq!(out["user"]["name"], "alice");
    // Known address again: no alert.
    let t = t + HOUR;
    let out = call(&ecs(t, "alice", "10.1.2.3", "success"), t).unwrap();
    assert!(out[FIELD]["alerts"].as_array().unwrap().is_empty());
}

#[test]
fn syslog_lines_in_log_use_fluent_bits_time_for_the_year() {
    reset("");
    // RFC 3164 stamps have no year: the first record's Fluent Bit time supplies it.
    let line = |t: i64, ip: &str| {
        let stamp = auth_anomaly::time::format_rfc3339_ms(t);
        let (date, time) = (&stamp[5..10], &stamp[11..19]);
        let month = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ][date[..2].parse::<usize>().unwrap() - 1];
        let day: u32 = date[3..].parse().unwrap();
        format!("{month} {day:>2} {time} web-1 sshd[812]: Accepted password for bob from {ip} port 51234 ssh2")
    };
    for d in 0..14 {
        for h in [8, 15] {
            let t = T0 + d * DAY + h * HOUR;
            let out = call(&json!({ "log": line(t, "10.7.0.12") }).to_string(), t + 500).unwrap();
            assert!(
                out[FIELD]["jobs"]["auth_rare_source_ip_for_a_user"].as_f64().is_some(),
                "{out}"
            );
        }
    }
    let t = T0 + 14 * DAY + 9 * HOUR;
    let out = call(&json!({ "log": line(t, "203.0.113.77") }).to_string(), t + 500).unwrap();
    assert!(
        out[FIELD]["alerts"]
            .as_array()
            .unwrap()
            .contains(&json!(rare_ip_rule())),
        "{out}"
    );
    // A session line is not a logon.
    let session = json!({"log": "Oct  5 09:00:01 web-1 sshd[812]: pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)"});
    let out = call(&session.to_string(), t + 1000).unwrap();
    assert!(
        out[FIELD]["reason"]
            .as_str()
            .unwrap()
            .starts_with("not an authentication event"),
        "{out}"
    );
    assert_eq!(out[FIELD]["score"], 0.0);
}

#[test]
fn fluent_bit_syslog_parser_fields_are_rebuilt_into_a_line() {
    reset("");
    let t = T0 + 3 * HOUR;
    // Fluent Bit's syslog-rfc3164 parser with Time_Key: time moved out, the rest split up.
    let rec = json!({"pri": "38", "host": "web-1", "ident": "sshd", "pid": "812",
                     "message": "Failed password for invalid user admin from 198.51.100.9 port 4242 ssh2"});
    let out = call(&rec.to_string(), t).unwrap();
    let note = &out[FIELD];
    assert!(note["rejected"].is_null(), "{note}");
    assert!(
        note["jobs"]
            .as_object()
            .unwrap()
            .contains_key("auth_high_count_logon_fails"),
        "{note}"
    );
    assert_eq!(stats()["accepted"], 1);
}

#[test]
fn ecs_without_timestamp_takes_fluent_bits_time() {
    reset("");
    let t = T0 + 5 * HOUR;
    let rec = json!({"event": {"category": "authentication", "outcome": "success"},
                     "user": {"name": "carol"}, "source": {"ip": "10.9.8.7"}});
    let out = call(&rec.to_string(), t).unwrap();
    assert!(out[FIELD]["rejected"].is_null(), "{out}");
    assert!(out.get("@timestamp").is_none(), "the record is not changed: {out}");
    // Without a Fluent Bit time the record is rejected, and says why.
    let out = call(&rec.to_string(), 0).unwrap();
    assert_eq!(out[FIELD]["rejected"], "missing_timestamp");
}

#[test]
fn invalid_json_and_non_objects_are_kept_with_an_error() {
    reset("");
    let out = call("{\"user\": ", T0).unwrap();
    assert_eq!(out["log"], "{\"user\": ");
    assert!(
        out[FIELD]["error"].as_str().unwrap().starts_with("invalid JSON"),
        "{out}"
    );
    let out = call_raw(b"\xff\xfe{}", T0).unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert!(out[FIELD]["error"].as_str().unwrap().starts_with("invalid JSON"));
    let out = call("[1,2]", T0).unwrap();
    assert_eq!(out["log"], json!([1, 2]));
    assert_eq!(out[FIELD]["error"], "record is not a JSON object");
    // 10 000 levels of nesting: serde_json's depth limit, not a stack overflow.
    let deep = "[".repeat(10_000);
    let out = call(&format!("{{\"a\":{deep}"), T0).unwrap();
    assert!(
        out[FIELD]["error"].as_str().unwrap().contains("recursion limit"),
        "{}",
        out[FIELD]
    );
    // And the filter goes on.
    let t = T0 + HOUR;
    let out = call(&ecs(t, "dave", "10.1.1.1", "success"), t).unwrap();
    assert!(out[FIELD]["jobs"]
        .as_object()
        .unwrap()
        .contains_key("auth_rare_source_ip_for_a_user"));
    assert_eq!(stats()["adapter"]["errors"], 4);
}

#[test]
fn edge_shapes_of_objects() {
    reset("");
    let out = call("  {  }  ", 0).unwrap();
    assert_eq!(out[FIELD]["rejected"], "missing_timestamp", "{out}");
    assert_eq!(out.as_object().unwrap().len(), 1);
    // An existing field is replaced, not duplicated.
    let rec = r#"{"auth_anomaly":"old","user":{"name":"x"}}"#;
    let raw = call_raw(rec.as_bytes(), 0).unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert_eq!(text.matches("auth_anomaly").count(), 1, "{text}");
    // Far in the future: a counted rejection, the record kept.
    let t = T0 + HOUR;
    call(&ecs(t, "erin", "10.1.1.1", "success"), t).unwrap();
    let future = T0 + 400 * DAY;
    let out = call(&ecs(future, "erin", "10.1.1.1", "success"), future).unwrap();
    assert_eq!(out[FIELD]["rejected"], "too_far_in_future", "{out}");
    // Not an authentication event.
    let out = call(r#"{"@timestamp":"2026-10-01T00:00:00Z","message":"GET / 200"}"#, t).unwrap();
    assert!(out[FIELD]["reason"].as_str().unwrap().contains("not scored"), "{out}");
}

#[test]
fn drop_normal_keeps_only_anomalies_and_errors() {
    reset(r#"{"drop_normal": true}"#);
    for d in 0..14 {
        for h in [9, 14] {
            let t = T0 + d * DAY + h * HOUR;
            assert!(call(&ecs(t, "frank", "10.1.2.3", "success"), t).is_none());
        }
    }
    let t = T0 + 14 * DAY + 10 * HOUR;
    let out = call(&ecs(t, "frank", "185.220.101.4", "success"), t).expect("an anomaly is kept");
    assert!(!out[FIELD]["alerts"].as_array().unwrap().is_empty());
    assert!(call("not json", t).is_some(), "errors are never dropped");
    let s = stats();
    assert_eq!(s["adapter"]["dropped"], 28);
    assert_eq!(s["drop_normal"], true);
}

#[test]
fn configuration_errors_name_the_field_and_keep_the_previous_one() {
    reset(r#"{"drop_normal": true}"#);
    for (bad, needle) in [
        (r#"{"profile":"fast"}"#, "profile"),
        (r#"{"drop_normal":"yes"}"#, "drop_normal"),
        ("[1]", "object"),
        ("{", "not valid JSON"),
    ] {
        let rc = unsafe { auth_anomaly_configure(bad.as_ptr(), bad.len() as u32) };
        assert_eq!(rc, -1);
        assert!(last_error().contains(needle), "{bad}: {}", last_error());
    }
    assert_eq!(stats()["drop_normal"], true);
    assert_eq!(parse_config("").unwrap(), (Settings::default(), Config::default()));
    let (s, c) = parse_config(r#"{"drop_normal":true,"learning_days":3}"#).unwrap();
    assert!(s.drop_normal);
    assert_eq!(c.learning_days, 3.0);
}

#[test]
fn an_unfinished_call_starts_a_fresh_detector() {
    reset(r#"{"drop_normal": false}"#);
    let t = T0 + HOUR;
    call(&ecs(t, "gina", "10.1.1.1", "success"), t).unwrap();
    assert_eq!(stats()["accepted"], 1);
    // What a trap (wasm aborts on panic or out of memory) leaves: the busy flag still set.
    simulate_trap();
    let out = call(&ecs(t + 1, "gina", "10.1.1.1", "success"), t + 1).unwrap();
    assert!(out[FIELD]["jobs"].as_object().is_some());
    let s = stats();
    assert_eq!(s["accepted"], 1, "a fresh detector: {s}");
    assert_eq!(s["adapter"]["recoveries"], 1);
    assert_eq!(s["adapter"]["records"], 2, "counters survive the recovery");
    assert_eq!(s["drop_normal"], false, "the configured settings survive the recovery");
}

#[test]
fn a_bad_baked_configuration_marks_every_record_and_drops_nothing() {
    let mut f = Filter::or_error(
        r#"{"drop_normal":true,"profile":"fast"}"#,
        "AUTH_ANOMALY_CONFIG baked into this build",
    );
    let mut out = Vec::new();
    let t = T0 + HOUR;
    assert_eq!(
        f.process(ecs(t, "kim", "10.1.1.1", "success").as_bytes(), Some(t), &mut out),
        Action::Emit
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    let e = v[FIELD]["error"].as_str().unwrap();
    assert!(
        e.starts_with("configuration: AUTH_ANOMALY_CONFIG baked into this build: invalid config field `profile`"),
        "{e}"
    );
    assert_eq!(v["user"]["name"], "kim", "the record is kept: {v}");
    assert_eq!(BAKED_CONFIG, None, "tests run against the default build");
}

#[test]
fn null_and_empty_records() {
    reset("");
    let p = unsafe { auth_anomaly_filter(std::ptr::null(), 0, 0, 0, std::ptr::null(), 42) };
    let out: Value = serde_json::from_slice(unsafe { CStr::from_ptr(p.cast()) }.to_bytes()).unwrap();
    assert!(out[FIELD]["error"].as_str().unwrap().contains("NULL"), "{out}");
    let p = unsafe { auth_anomaly_filter(std::ptr::null(), 0, 0, 0, std::ptr::null(), 0) };
    let out: Value = serde_json::from_slice(unsafe { CStr::from_ptr(p.cast()) }.to_bytes()).unwrap();
    assert!(
        out[FIELD]["error"].as_str().unwrap().starts_with("invalid JSON"),
        "{out}"
    );
}

#[test]
fn malloc_and_free() {
    let p = malloc(100);
    assert!(!p.is_null());
    assert_eq!(p as usize % 8, 0);
    unsafe {
        std::ptr::write_bytes(p, 0xAB, 100);
        free(p);
        free(std::ptr::null_mut());
    }
    assert!(malloc(usize::MAX).is_null());
    assert!(malloc(usize::MAX - 4).is_null());
    let z = malloc(0);
    assert!(!z.is_null());
    unsafe { free(z) };
}

#[test]
fn merge_prefers_the_highest_score() {
    let a = Annotation {
        score: 10.0,
        reason: "a".into(),
        jobs: [("j1".to_string(), 10.0)].into(),
        ..Annotation::default()
    };
    let b = Annotation {
        score: 80.0,
        alerts: vec!["R".into()],
        reason: "b".into(),
        jobs: [("j1".to_string(), 5.0), ("j2".to_string(), 80.0)].into(),
        ..Annotation::default()
    };
    let m = a.merge(b);
    assert_eq!(m.reason, "b");
    assert_eq!(m.jobs["j1"], 10.0);
    assert_eq!(m.alerts, vec!["R".to_string()]);
    let r = Annotation::rejected(RejectReason::TooLate).merge(Annotation::not_a_logon("x"));
    assert!(r.rejected.is_none());
}

#[test]
fn a_first_syslog_line_after_other_events_takes_the_streams_year() {
    reset("");
    // ECS events first, for weeks: the stream clock is in 2026.
    for d in 0..20 {
        let t = T0 + d * DAY + 9 * HOUR;
        call(&ecs(t, "lena", "10.1.2.3", "success"), t).unwrap();
    }
    // Then the first year-less line (Oct 11, three weeks after the first record): 2026, not 2025.
    let t = T0 + 20 * DAY + 10 * HOUR;
    let rec = json!({"log": "Oct 11 10:00:00 web-1 sshd[9]: Accepted password for lena from 10.1.2.3 port 2 ssh2"});
    let out = call(&rec.to_string(), t).unwrap();
    assert!(out[FIELD]["rejected"].is_null(), "{out}");
    assert_eq!(stats()["rejected"], 0);
}
