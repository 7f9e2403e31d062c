//! The transform's callback driven natively with the SDK's own types (`WrittenRecord`,
//! `RecordWriter` over a mock `RecordSink`), as the broker would drive it.

use std::time::{Duration, UNIX_EPOCH};

use auth_anomaly_redpanda::{config_from_text, output_key, AlertTransform, JOB_HEADER, PER_USER_JOBS};
use redpanda_transform_sdk::{
    BorrowedRecord, RecordSink, RecordWriter, WriteError, WriteEvent, WriteOptions, WrittenRecord,
};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// 2026-09-21T00:00:00Z.
const T0: i64 = 1_789_948_800_000;
const RARE_IP_JOB: &str = "auth_rare_source_ip_for_a_user";

#[derive(Debug)]
struct Written {
    key: Option<String>,
    value: Value,
    headers: Vec<(String, Option<String>)>,
}

/// The mock output topic.
#[derive(Default)]
struct Topic {
    records: Vec<Written>,
    fail: bool,
}

impl RecordSink for Topic {
    fn write(&mut self, r: BorrowedRecord<'_>, _opts: WriteOptions<'_>) -> Result<(), WriteError> {
        if self.fail {
            return Err(WriteError::Unknown(-5));
        }
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).expect("UTF-8");
        self.records.push(Written {
            key: r.key().map(text),
            value: serde_json::from_slice(r.value().expect("a value")).expect("JSON"),
            headers: r
                .headers()
                .iter()
                .map(|h| (text(h.key()), h.value().map(text)))
                .collect(),
        });
        Ok(())
    }
}

/// Delivers one input record to the transform the way `on_record_written` does.
fn deliver(t: &mut AlertTransform, topic: &mut Topic, key: Option<&str>, value: Option<&[u8]>, ts_ms: i64) {
    try_deliver(t, topic, key, value, ts_ms).expect("the callback succeeds");
}

fn try_deliver(
    t: &mut AlertTransform,
    topic: &mut Topic,
    key: Option<&str>,
    value: Option<&[u8]>,
    ts_ms: i64,
) -> Result<(), WriteError> {
    let event = WriteEvent {
        record: WrittenRecord::new(
            key.map(str::as_bytes),
            value,
            UNIX_EPOCH + Duration::from_millis(ts_ms.max(0) as u64),
        ),
    };
    let mut writer = RecordWriter::new(topic);
    t.on_record(&event.record, &mut writer)
}

fn ecs(ms: i64, user: &str, ip: &str) -> String {
    json!({
        "@timestamp": auth_anomaly::time::format_rfc3339_ms(ms),
        "event": {"category": ["authentication"], "outcome": "success", "action": "ssh_login"},
        "user": {"name": user}, "source": {"ip": ip}, "host": {"name": "bastion-1"}
    })
    .to_string()
}

fn default_transform() -> AlertTransform {
    AlertTransform::new(config_from_text(None).unwrap())
}

/// 14 days of `user` on `ip` at 09:00 and 14:00.
fn history(t: &mut AlertTransform, topic: &mut Topic, user: &str, ip: &str) {
    for d in 0..14 {
        for h in [9, 14] {
            let ms = T0 + d * DAY + h * HOUR;
            deliver(t, topic, Some(user), Some(ecs(ms, user, ip).as_bytes()), ms);
        }
    }
}

#[test]
fn a_new_network_after_14_days_writes_exactly_one_alert_keyed_by_user() {
    let mut t = default_transform();
    let mut topic = Topic::default();
    history(&mut t, &mut topic, "alice", "10.20.3.41");
    assert!(topic.records.is_empty(), "{:?}", topic.records);
    // The planted logon arrives as a raw sshd line (year-less: read against the broker timestamp).
    let planted = T0 + 14 * DAY + 10 * HOUR;
    let line = "Oct  5 10:00:00 bastion-1 sshd[4242]: Accepted password for alice from 185.220.101.4 port 50022 ssh2";
    deliver(&mut t, &mut topic, Some("alice"), Some(line.as_bytes()), planted);
    assert!(topic.records.is_empty(), "alerts come when the bucket closes");
    // The next event on this partition closes the bucket: the alert comes out.
    let later = [
        14 * DAY + 14 * HOUR,
        15 * DAY + 9 * HOUR,
        15 * DAY + 14 * HOUR,
        16 * DAY + 9 * HOUR,
    ];
    for offset in later {
        let ms = T0 + offset;
        deliver(
            &mut t,
            &mut topic,
            Some("alice"),
            Some(ecs(ms, "alice", "10.20.3.41").as_bytes()),
            ms,
        );
    }
    assert_eq!(topic.records.len(), 1, "{:#?}", topic.records);
    let alert = &topic.records[0];
    assert_eq!(alert.key.as_deref(), Some("alice"));
    assert_eq!(
        alert.headers,
        vec![(JOB_HEADER.to_string(), Some(RARE_IP_JOB.to_string()))]
    );
    let v = &alert.value;
    assert_eq!(v["job_id"], RARE_IP_JOB);
    assert_eq!(v["source"]["ip"], "185.220.101.4");
    assert_eq!(v["user"]["name"], "alice");
    assert_eq!(v["event"]["kind"], "signal");
    assert_eq!(v["kibana.alert.rule.rule_id"], "d4b73fa0-9d43-465e-b8bf-50230da6718b");
    assert!(v["record_score"].as_f64().unwrap() >= 75.0, "{v}");
    assert_eq!(v["@timestamp"], "2026-10-05T10:00:00.000Z");
    assert_eq!(t.written(), 1);
    assert_eq!(t.stats().rejected, 0);
}

#[test]
fn events_that_are_not_logons_write_nothing() {
    let mut t = default_transform();
    let mut topic = Topic::default();
    history(&mut t, &mut topic, "bob", "10.20.3.42");
    let base = T0 + 14 * DAY + 11 * HOUR;
    let not_logons: Vec<String> = vec![
        "Oct  5 11:00:01 bastion-1 sshd[77]: pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)".into(),
        "Oct  5 11:00:02 bastion-1 sshd[77]: Disconnected from user bob 203.0.113.9 port 50022".into(),
        "Oct  5 11:00:03 bastion-1 sudo:      bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls".into(),
        // A Windows logoff (4634) and a process event.
        json!({"Event": {"System": {"EventID": 4634, "TimeCreated": {"#attributes": {"SystemTime": "2026-10-05T11:00:04Z"}}, "Computer": "ws-1"},
                         "EventData": {"TargetUserName": "bob", "TargetDomainName": "CORP", "LogonType": 3}}}).to_string(),
        json!({"@timestamp": "2026-10-05T11:00:05Z", "event": {"category": ["process"], "outcome": "success"},
               "user": {"name": "bob"}, "source": {"ip": "198.51.100.7"}}).to_string(),
        // A failed logon from a new network: a logon attempt, but no per-user job takes failures.
        json!({"@timestamp": "2026-10-05T11:00:06Z", "event": {"category": ["authentication"], "outcome": "failure"},
               "user": {"name": "bob"}, "source": {"ip": "198.51.100.7"}}).to_string(),
    ];
    for (i, v) in not_logons.iter().enumerate() {
        deliver(
            &mut t,
            &mut topic,
            Some("bob"),
            Some(v.as_bytes()),
            base + i as i64 * 1000,
        );
    }
    // Close the bucket and a few more.
    for d in 15..17 {
        let ms = T0 + d * DAY + 9 * HOUR;
        deliver(
            &mut t,
            &mut topic,
            Some("bob"),
            Some(ecs(ms, "bob", "10.20.3.42").as_bytes()),
            ms,
        );
    }
    assert!(topic.records.is_empty(), "{:#?}", topic.records);
    let s = t.stats();
    assert_eq!(s.rejected, 0, "{s:?}");
    assert_eq!(s.filtered, not_logons.len() as u64, "{s:?}");
}

/// A small deterministic generator of hostile bytes.
fn garbage(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut x = seed;
    let mut next = move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x >> 33
    };
    let alphabet = b"{}[]\":,0123456789.eE+-tnfalsrue \\u\n\r\t@timestampuser";
    (0..n)
        .map(|_| {
            let len = (next() % 300) as usize;
            (0..len)
                .map(|_| {
                    let r = next();
                    if r % 5 == 0 {
                        (r >> 8) as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn garbage_values_write_nothing_and_do_not_crash() {
    let mut t = default_transform();
    let mut topic = Topic::default();
    let mut values: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"   \n\n".to_vec(),
        b"{".to_vec(),
        b"[1,2,3]".to_vec(),
        b"null".to_vec(),
        b"\xff\xfe\xfd".to_vec(),
        b"{\"@timestamp\": \"yesterday\"}".to_vec(),
        format!("{{\"a\":{}", "[".repeat(100_000)).into_bytes(),
        vec![b'x'; 2 << 20], // longer than max_line_bytes (1 MiB)
        b"Oct  5 10:00:00 bastion-1 sshd[1]: message repeated 99999999999 times: [ Failed password for x from 10.0.0.1 port 1 ssh2]".to_vec(),
    ];
    values.extend(garbage(42, 2_000));
    for (i, v) in values.iter().enumerate() {
        deliver(&mut t, &mut topic, Some("mallory"), Some(v), T0 + i as i64);
    }
    deliver(&mut t, &mut topic, Some("mallory"), None, T0); // a tombstone
    deliver(&mut t, &mut topic, None, Some(b"\x00\x01"), 0); // no key, no timestamp
    assert!(
        topic.records.is_empty(),
        "{:#?}",
        &topic.records[..topic.records.len().min(3)]
    );
    let s = t.stats();
    assert!(s.rejected > 1_000, "{s:?}");
    assert_eq!(s.events, s.accepted + s.filtered + s.rejected, "{s:?}");

    // And the partition still works: garbage between the events does not change the outcome.
    let mut t = default_transform();
    let mut topic = Topic::default();
    let junk = garbage(7, 400);
    for d in 0..14 {
        for h in [9, 14] {
            let ms = T0 + d * DAY + h * HOUR;
            deliver(
                &mut t,
                &mut topic,
                Some("carol"),
                Some(ecs(ms, "carol", "10.20.3.43").as_bytes()),
                ms,
            );
            let j = &junk[(d * 2 + h) as usize % junk.len()];
            deliver(&mut t, &mut topic, Some("carol"), Some(j), ms);
        }
    }
    let planted = T0 + 14 * DAY + 10 * HOUR;
    deliver(
        &mut t,
        &mut topic,
        Some("carol"),
        Some(ecs(planted, "carol", "185.220.101.9").as_bytes()),
        planted,
    );
    let next = planted + DAY;
    deliver(
        &mut t,
        &mut topic,
        Some("carol"),
        Some(ecs(next, "carol", "10.20.3.43").as_bytes()),
        next,
    );
    assert_eq!(topic.records.len(), 1, "{:#?}", topic.records);
    assert_eq!(topic.records[0].key.as_deref(), Some("carol"));
}

#[test]
fn a_failed_write_is_the_callbacks_error() {
    let mut t = default_transform();
    let mut topic = Topic::default();
    history(&mut t, &mut topic, "dave", "10.20.3.44");
    let planted = T0 + 14 * DAY + 10 * HOUR;
    deliver(
        &mut t,
        &mut topic,
        Some("dave"),
        Some(ecs(planted, "dave", "185.220.101.5").as_bytes()),
        planted,
    );
    topic.fail = true;
    let next = planted + DAY;
    let r = try_deliver(
        &mut t,
        &mut topic,
        Some("dave"),
        Some(ecs(next, "dave", "10.20.3.44").as_bytes()),
        next,
    );
    assert_eq!(r, Err(WriteError::Unknown(-5)));
}

#[test]
fn configuration() {
    let c = config_from_text(None).unwrap();
    assert_eq!(c.jobs, PER_USER_JOBS.map(String::from).to_vec());
    assert_eq!(config_from_text(Some("  ")).unwrap().jobs, c.jobs);
    let c = config_from_text(Some(r#"{"learning_days": 3}"#)).unwrap();
    assert_eq!(c.learning_days, 3.0);
    assert_eq!(c.jobs.len(), 2, "jobs default to the per-user ones");
    let c = config_from_text(Some(
        r#"{"jobs": ["auth_high_count_logon_events_for_a_source_ip"], "output": "records"}"#,
    ))
    .unwrap();
    assert_eq!(c.jobs, vec!["auth_high_count_logon_events_for_a_source_ip".to_string()]);
    for (bad, needle) in [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        (r#"{"output": "verdicts"}"#, "output"),
        (r#"{"jobs": ["nope"]}"#, "jobs"),
        (r#"{"learning_dayz": 1}"#, "learning_dayz"),
    ] {
        let e = config_from_text(Some(bad)).unwrap_err();
        assert!(e.starts_with("AUTH_ANOMALY_CONFIG") && e.contains(needle), "{bad}: {e}");
    }
}

#[test]
fn per_source_spikes_are_keyed_by_the_source_address() {
    // Only where the input topic is keyed by source.ip (or has one partition) does this job see
    // all of an address's logons; the transform runs it only when configured to.
    let config = config_from_text(Some(r#"{"jobs": ["auth_high_count_logon_events_for_a_source_ip"]}"#)).unwrap();
    let mut t = AlertTransform::new(config);
    let mut topic = Topic::default();
    for d in 0..10 {
        for h in 0..24 {
            for u in 0..6 {
                let ms = T0 + d * DAY + h * HOUR + u * 60_000;
                let ip = format!("10.30.0.{}", 10 + u);
                let user = format!("svc{u}");
                deliver(&mut t, &mut topic, Some(&ip), Some(ecs(ms, &user, &ip).as_bytes()), ms);
            }
        }
    }
    assert!(topic.records.is_empty(), "{:#?}", topic.records);
    let burst = T0 + 10 * DAY + 3 * HOUR;
    for i in 0..80 {
        let ms = burst + i * 5_000;
        let user = format!("victim{i}");
        deliver(
            &mut t,
            &mut topic,
            Some("10.30.0.99"),
            Some(ecs(ms, &user, "10.30.0.99").as_bytes()),
            ms,
        );
    }
    let next = burst + HOUR;
    deliver(
        &mut t,
        &mut topic,
        Some("10.30.0.10"),
        Some(ecs(next, "svc0", "10.30.0.10").as_bytes()),
        next,
    );
    assert_eq!(topic.records.len(), 1, "{:#?}", topic.records);
    assert_eq!(topic.records[0].key.as_deref(), Some("10.30.0.99"));
    assert_eq!(
        topic.records[0].value["job_id"],
        "auth_high_count_logon_events_for_a_source_ip"
    );
}

#[test]
fn output_keys() {
    let k = |v: Value| output_key(v.to_string().as_bytes());
    assert_eq!(
        k(json!({"job_id": RARE_IP_JOB, "user": {"name": "alice"}, "source": {"ip": "1.2.3.4"}})),
        (Some("alice".into()), Some(RARE_IP_JOB.into()))
    );
    assert_eq!(
        k(json!({"job_id": "auth_rare_hour_for_a_user", "user.name": ["bob"]}))
            .0
            .as_deref(),
        Some("bob")
    );
    assert_eq!(
        k(
            json!({"job_id": "auth_high_count_logon_events_for_a_source_ip", "by_field_value": "5.6.7.8",
                 "user": {"name": ["a", "b"]}})
        )
        .0
        .as_deref(),
        Some("5.6.7.8")
    );
    assert_eq!(
        k(json!({"job_id": "auth_high_count_logon_fails", "user": {"name": ["a", "b"]}}))
            .0
            .as_deref(),
        Some("auth_high_count_logon_fails")
    );
    assert_eq!(output_key(b"not json"), (None, None));
}
