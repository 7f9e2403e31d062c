//! Invariants, checked over generated streams: snapshot/restore anywhere gives the same output,
//! same input gives the same output, every input is accounted for, memory stays bounded.
#![cfg(not(target_arch = "wasm32"))] // native suite: wasm-pack builds every test target

mod common;

use auth_anomaly::{Config, Detector};
use common::*;
use proptest::prelude::*;

/// A stream of logons: (minutes since T0, user index, address index), sorted by time.
fn stream() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec((0i64..40 * 24 * 60, 0usize..6, 0usize..12), 1..400).prop_map(|mut v| {
        v.sort();
        let ips = [
            "10.20.3.41",
            "10.20.3.42",
            "10.20.3.77",
            "10.99.1.5",
            "10.99.7.9",
            "81.2.69.160",
            "81.2.70.1",
            "185.220.101.4",
            "203.0.113.9",
            "2001:db8::1",
            "2001:db8:0:1::7",
            "::ffff:192.0.2.1",
        ];
        v.into_iter()
            .map(|(m, u, i)| logon(T0 + m * 60_000, &format!("user{u}"), ips[i]))
            .collect()
    })
}

fn output_of(detector: &mut Detector, lines: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend(detector.push_ndjson(l.as_bytes()));
    }
    out
}

fn records_config() -> Config {
    Config::from_json(r#"{"output":"records","learning_days":2,"min_active_days":1}"#).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Split a stream at any point, snapshot and restore in between: the same output as one run.
    #[test]
    fn snapshot_restore_anywhere_continues_exactly(lines in stream(), split in 0usize..400) {
        let split = split.min(lines.len());
        let mut whole = Detector::new(records_config()).unwrap();
        let mut expected = output_of(&mut whole, &lines);
        whole.flush().to_ndjson(auth_anomaly::OutputKind::Records, &mut expected);

        let mut first = Detector::new(records_config()).unwrap();
        let mut got = output_of(&mut first, &lines[..split]);
        let bytes = first.snapshot().unwrap();
        let mut second = Detector::restore(&bytes).unwrap();
        got.extend(output_of(&mut second, &lines[split..]));
        second.flush().to_ndjson(auth_anomaly::OutputKind::Records, &mut got);
        prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
        // Capacities (and so memory_bytes) may differ after a restore; every counter must not.
        let (mut s2, mut s1) = (second.stats(), whole.stats());
        s2.memory_bytes = 0;
        s1.memory_bytes = 0;
        prop_assert_eq!(s2, s1);
    }

    /// Same input, same output, and every input accounted for.
    #[test]
    fn deterministic_and_accounted(lines in stream(), junk in prop::collection::vec("[ -~]{0,40}", 0..20)) {
        let mut all = lines.clone();
        for (i, j) in junk.iter().enumerate() {
            all.insert((i * 7) % (all.len() + 1), j.clone());
        }
        let mut a = Detector::new(records_config()).unwrap();
        let mut b = Detector::new(records_config()).unwrap();
        prop_assert_eq!(output_of(&mut a, &all), output_of(&mut b, &all));
        let s = a.stats();
        prop_assert_eq!(s.events, s.accepted + s.filtered + s.rejected);
    }
}

/// The output lines that are alerts (signals: `"event":{"kind":"signal"}`; records have no
/// `event`).
fn alert_lines(ndjson: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(ndjson)
        .lines()
        .filter(|l| l.contains(r#""event":{"kind":"signal"}"#))
        .map(str::to_string)
        .collect()
}

/// `push_ndjson` with alerts out builds only the records that alert (the rest would be dropped
/// unread): a pipeline that ships alerts must get exactly the alerts, and the same counts, as
/// one that ships every record. On the simulated organisation (60 users over 30 days; its attacks
/// alert, and most of its records stay below the alert threshold).
#[test]
fn alerts_output_is_the_records_output_without_records() {
    let sim = auth_anomaly_sim::simulate(&auth_anomaly_sim::Config::default()).expect("simulation config");
    let text = sim.to_ndjson();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let run = |output: &str| {
        let mut d = Detector::new(Config::from_json(&format!(r#"{{"output":"{output}"}}"#)).unwrap()).unwrap();
        // In chunks of 500 lines, as a pipeline feeds it.
        let mut out = Vec::new();
        for chunk in lines.chunks(500) {
            out.extend(d.push_ndjson(chunk.join("\n").as_bytes()));
        }
        let mut stats = d.stats();
        stats.memory_bytes = 0;
        (out, stats)
    };
    let (alerts_only, alerts_stats) = run("alerts");
    let (records, records_stats) = run("records");
    let alerts = alert_lines(&alerts_only);
    assert!(alerts.len() >= 5, "{} alerts", alerts.len());
    assert!(
        records_stats.records >= 4 * alerts.len() as u64,
        "most records must not alert for this test to mean something: {} records, {} alerts",
        records_stats.records,
        alerts.len()
    );
    assert_eq!(
        alerts.len(),
        alerts_only.iter().filter(|&&b| b == b'\n').count(),
        "alerts output holds alerts only"
    );
    assert_eq!(alerts, alert_lines(&records));
    assert_eq!(alerts_stats, records_stats);
}

/// A user hopping across thousands of addresses keeps at most `max_addresses_per_user` of them.
#[test]
fn per_user_address_history_is_bounded() {
    let config =
        Config::from_json(r#"{"max_addresses_per_user":16,"jobs":["auth_rare_source_ip_for_a_user"]}"#).unwrap();
    let mut d = Detector::new(config).unwrap();
    let mut input = String::new();
    for i in 0..2000i64 {
        input.push_str(&logon(
            T0 + i * 15 * 60_000,
            "sprayed",
            &format!("198.51.{}.{}", i / 250, i % 250 + 1),
        ));
        input.push('\n');
    }
    d.push_ndjson(input.as_bytes());
    d.flush();
    let s = d.stats();
    assert!(s.pairs <= 16, "{s:?}");
    let explained = d.explain("sprayed");
    assert!(explained["addresses"].as_array().unwrap().len() <= 16);
    assert!(s.memory_bytes < 64 * 1024, "{s:?}");
}

/// An ECS logon line of one layout whose user name and dropped `kind` value vary: values chosen
/// so that some lines hold what `sniff` takes for a winlogbeat key (`"winlog.…`, a `winlog` or
/// `Event` key inside the dropped value) and the rest do not.
fn mixed_format_line(minute: i64, name: usize, kind: usize, winlogbeat: bool) -> String {
    let names = ["alice", "winlog.bob", "Event", "wanda", "eve"];
    let kinds = [
        r#""event""#,
        r#""winlog.a""#,
        r#"{"winlog":{"x":1}}"#,
        r#"{"Event" : 1}"#,
        r#"["winlog.b"]"#,
        "3",
        r#"{"a":"winlog"}"#,
    ];
    let ts = auth_anomaly::time::format_rfc3339_ms(T0 + minute * 60_000);
    let (name, kind) = (names[name % names.len()], kinds[kind % kinds.len()]);
    if winlogbeat {
        format!(
            r#"{{"@timestamp":"{ts}","event":{{"code":"4624","outcome":"success"}},"winlog":{{"event_id":4624,"computer_name":"dc01","event_data":{{"TargetUserName":"{name}","IpAddress":"10.1.2.3","LogonType":"3"}}}}}}"#
        )
    } else {
        format!(
            r#"{{"@timestamp":"{ts}","event":{{"category":["authentication"],"outcome":"success","kind":{kind}}},"user":{{"name":"{name}"}},"source":{{"ip":"10.1.2.{minute}"}},"host":{{"name":"srv-01"}}}}"#,
            minute = minute % 250
        )
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// In a stream of mixed formats, a line that a kept ECS layout reads is still taken for
    /// what `sniff` says it is: the same verdicts and counters as when every line is pushed to a
    /// detector restored from a snapshot (which keeps no layouts, so every line is sniffed).
    #[test]
    fn auto_format_takes_each_line_for_what_sniff_says(
        picks in prop::collection::vec((0usize..5, 0usize..7, prop::bool::weighted(0.2)), 1..60),
    ) {
        let lines: Vec<String> = picks
            .iter()
            .enumerate()
            .map(|(i, &(name, kind, winlogbeat))| mixed_format_line(i as i64, name, kind, winlogbeat))
            .collect();
        let config = || Config::from_json(r#"{"output":"verdicts"}"#).unwrap();
        let mut streamed = Detector::new(config()).unwrap();
        let all = lines.join("\n");
        let got = streamed.push_ndjson(all.as_bytes());

        let mut expected = Vec::new();
        let mut state = Detector::new(config()).unwrap().snapshot().unwrap();
        for line in &lines {
            let mut fresh = Detector::restore(&state).unwrap();
            expected.extend(fresh.push_ndjson(line.as_bytes()));
            state = fresh.snapshot().unwrap();
        }
        prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
        let (mut s1, mut s2) = (streamed.stats(), Detector::restore(&state).unwrap().stats());
        s1.memory_bytes = 0;
        s2.memory_bytes = 0;
        prop_assert_eq!(s1, s2);
    }
}
