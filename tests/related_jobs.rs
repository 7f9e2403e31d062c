//! The five related detections: each test states a scenario and the verdict it must give.
#![cfg(not(target_arch = "wasm32"))] // native suite: wasm-pack builds every test target

mod common;

use auth_anomaly::time::format_rfc3339_ms;
use auth_anomaly::Config;
use common::*;

const RARE_USER: &str = "auth_rare_user";
const RARE_HOUR: &str = "auth_rare_hour_for_a_user";
const FAILS: &str = "auth_high_count_logon_fails";
const SUCCESSES: &str = "auth_high_count_logon_events";
const SOURCE_SPIKE: &str = "auth_high_count_logon_events_for_a_source_ip";

fn failure(ts: i64, user: &str, ip: &str) -> String {
    format!(
        r#"{{"@timestamp":"{}","event":{{"category":["authentication"],"outcome":"failure","action":"ssh_login"}},"user":{{"name":"{user}"}},"source":{{"ip":"{ip}"}},"host":{{"name":"srv-01"}}}}"#,
        format_rfc3339_ms(ts)
    )
}

/// A tiny deterministic generator (LCG) so scenarios are reproducible.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// An office of `users` people over `days` days: each weekday logs on 2–4 times between 08:00 and
/// 17:59 UTC from their own desk; about one logon in thirty is preceded by a typo (a failure).
fn office(users: usize, days: i64, seed: u64) -> Vec<String> {
    let mut rng = Lcg(seed);
    let mut lines = Vec::new();
    for d in 0..days {
        let weekday = (d + 1) % 7; // T0 is a Tuesday: 0 = Monday.
        if weekday >= 5 {
            continue;
        }
        for u in 0..users {
            let user = format!("user{u:02}");
            let desk = format!("10.20.{}.{}", u / 50, 10 + u % 50);
            for _ in 0..(2 + rng.next(3)) {
                let t = T0 + d * DAY + (8 * 60 + rng.next(600) as i64) * 60_000;
                if rng.next(30) == 0 {
                    lines.push(failure(t - 20_000, &user, &desk));
                }
                lines.push(logon(t, &user, &desk));
            }
        }
    }
    lines
}

fn finish(mut lines: Vec<String>) -> Run {
    sort_by_time(&mut lines);
    run(&lines)
}

// ---------------------------------------------------------------------------------------------
// auth_rare_user

/// An account never seen in three weeks of history logs on → alert; a daily account → never.
#[test]
fn rare_user_never_seen_account_alerts_daily_accounts_do_not() {
    let mut lines = office(30, 21, 1);
    lines.push(logon(T0 + 22 * DAY + 11 * HOUR, "backup_admin", "10.20.0.99"));
    let r = finish(lines);
    let alerts = alerts_of(&r, RARE_USER);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["user"]["name"], "backup_admin");
    assert!(alerts[0]["kibana.alert.reason"]
        .as_str()
        .unwrap()
        .contains("first time"));
}

/// A dormant account — active on two days, silent for three weeks — wakes up → alert.
#[test]
fn rare_user_dormant_account_alerts() {
    let mut lines = office(30, 25, 2);
    routine(&mut lines, "old_contractor", &["10.20.0.77"], 0..2);
    lines.push(logon(T0 + 24 * DAY + 13 * HOUR, "old_contractor", "10.20.0.77"));
    let r = finish(lines);
    let alerts = alerts_of(&r, RARE_USER);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["user"]["name"], "old_contractor");
    assert_eq!(
        alerts[0]["anomaly_score_explanation"]["evidence"]["state"],
        "dormant_account"
    );
}

/// A daily user back from two weeks of holiday is noted (a record) but does not alert; a new
/// hire's first logon alerts once, their next days do not.
#[test]
fn rare_user_holiday_return_and_new_hire_days() {
    let mut lines = office(30, 35, 3);
    // user00 takes days 14..30 off: remove their lines in that span.
    lines.retain(|l| {
        !(l.contains("\"user00\"") && {
            let ts = auth_anomaly::time::parse_rfc3339_ms(&l[15..39]).unwrap();
            (T0 + 14 * DAY..T0 + 30 * DAY).contains(&ts)
        })
    });
    routine(&mut lines, "new.hire", &["10.20.0.88"], 28..33);
    let r = finish(lines);
    let alerts = alerts_of(&r, RARE_USER);
    let names: Vec<&str> = alerts.iter().map(|a| a["user"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["new.hire"], "{alerts:#?}");
    let holiday = r
        .records
        .iter()
        .find(|x| x.job_id == RARE_USER && x.by_field_value == "user00");
    let holiday = holiday.expect("the holiday return is a record");
    assert!(holiday.record_score < 75.0, "{holiday:?}");
}

/// Cold start: nothing alerts while the organisation's history is shorter than the learning period.
#[test]
fn rare_user_is_quiet_during_org_learning() {
    let mut lines = office(30, 5, 4);
    lines.push(logon(T0 + 5 * DAY + 9 * HOUR, "someone_new", "10.20.0.5"));
    let r = finish(lines);
    assert!(alerts_of(&r, RARE_USER).is_empty());
}

// ---------------------------------------------------------------------------------------------
// auth_rare_hour_for_a_user

/// A user who always works 08–18 logs on at 03:00 from their usual address → alert.
#[test]
fn rare_hour_office_worker_at_three_am_alerts() {
    let mut lines = office(20, 21, 5);
    lines.push(logon(T0 + 22 * DAY + 3 * HOUR + 10 * 60_000, "user05", "10.20.0.15"));
    let r = finish(lines);
    let alerts = alerts_of(&r, RARE_HOUR);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["user"]["name"], "user05");
    // Elastic's time_of_day shape: actual and typical are seconds of day.
    assert_eq!(alerts[0]["actual"][0], 3.0 * 3600.0 + 600.0);
}

/// A user with spread-out hours (on call) logs on at 03:00 → no alert.
#[test]
fn rare_hour_spread_out_user_is_quiet() {
    let mut lines = office(20, 21, 6);
    let mut rng = Lcg(99);
    for d in 0..21 {
        for _ in 0..4 {
            lines.push(logon(
                T0 + d * DAY + rng.next(24 * 60) as i64 * 60_000,
                "oncall",
                "10.20.0.66",
            ));
        }
    }
    lines.push(logon(T0 + 22 * DAY + 3 * HOUR, "oncall", "10.20.0.66"));
    let r = finish(lines);
    assert!(alerts_of(&r, RARE_HOUR).iter().all(|a| a["user"]["name"] != "oncall"));
}

/// Midnight wraps: a user who works 22:00–00:30 logs on at 00:10 and at 23:50 → no alert.
#[test]
fn rare_hour_midnight_is_close_to_late_evening() {
    let mut lines = office(20, 21, 7);
    for d in 0..21 {
        for m in [22 * 60 + 5, 22 * 60 + 50, 23 * 60 + 40] {
            lines.push(logon(T0 + d * DAY + m * 60_000, "nightops", "10.20.0.70"));
        }
    }
    lines.push(logon(T0 + 22 * DAY + 10 * 60_000, "nightops", "10.20.0.70"));
    lines.push(logon(T0 + 22 * DAY + 23 * HOUR + 50 * 60_000, "nightops", "10.20.0.70"));
    let r = finish(lines);
    assert!(
        alerts_of(&r, RARE_HOUR).iter().all(|a| a["user"]["name"] != "nightops"),
        "{:#?}",
        r.alerts
    );
}

/// An office worker (08:00–18:00 UTC) starts an hour early, at 07:20 → a record at most 60, no
/// alert; the same worker at 03:00 still alerts (above).
#[test]
fn rare_hour_early_start_is_not_rare() {
    let mut lines = office(20, 21, 9);
    lines.push(logon(T0 + 22 * DAY + 7 * HOUR + 20 * 60_000, "user07", "10.20.0.17"));
    let r = finish(lines);
    assert!(alerts_of(&r, RARE_HOUR).is_empty(), "{:#?}", alerts_of(&r, RARE_HOUR));
    if let Some(rec) = r
        .records
        .iter()
        .find(|x| x.job_id == RARE_HOUR && x.by_field_value == "user07")
    {
        assert!(rec.record_score <= 60.0, "{rec:?}");
        if rec.record_score == 60.0 {
            assert!(rec
                .anomaly_score_explanation
                .evidence
                .reason()
                .contains("borders their day"));
        }
    }
}

/// A traveller: three weeks at the desk 08–18 UTC, then logs on from a hotel in another time zone
/// at 02:30 and 03:40 UTC on two days → one alert for the trip (the new network, rare-address
/// job); the rare hours are records whose alert is withheld, with why.
#[test]
fn travel_alerts_once_per_trip_not_once_per_rule() {
    let mut lines = office(20, 21, 10);
    for (d, m) in [(22, 2 * 60 + 30), (23, 3 * 60 + 40)] {
        lines.push(logon(T0 + d * DAY + m * 60_000, "user03", "198.51.100.23"));
    }
    let r = finish(lines);
    let ip_alerts = alerts_for(&r, "user03");
    assert_eq!(ip_alerts.len(), 1, "{ip_alerts:#?}");
    assert!(alerts_of(&r, RARE_HOUR).is_empty(), "{:#?}", alerts_of(&r, RARE_HOUR));
    let hours: Vec<_> = r
        .records
        .iter()
        .filter(|x| x.job_id == RARE_HOUR && x.source_ip == ["198.51.100.23"])
        .collect();
    assert_eq!(hours.len(), 2, "the rare hours are still records");
    for h in hours {
        let ev = serde_json::to_value(&h.anomaly_score_explanation.evidence).unwrap();
        assert!(
            ev["alert_withheld"]
                .as_str()
                .is_some_and(|w| w.contains("198.51.100.23")),
            "{h:?}"
        );
    }
    // The same hour from the usual desk is an off-hours logon, and alerts.
    let mut lines = office(20, 21, 10);
    lines.push(logon(T0 + 22 * DAY + 2 * HOUR + 30 * 60_000, "user03", "10.20.0.13"));
    let r = finish(lines);
    assert_eq!(alerts_of(&r, RARE_HOUR).len(), 1);
}

/// The first days of a user never alert on the hour.
#[test]
fn rare_hour_new_user_is_learning() {
    let mut lines = office(20, 21, 8);
    routine(&mut lines, "fresh", &["10.20.0.71"], 20..21);
    lines.push(logon(T0 + 21 * DAY + 3 * HOUR, "fresh", "10.20.0.71"));
    let r = finish(lines);
    assert!(alerts_of(&r, RARE_HOUR).iter().all(|a| a["user"]["name"] != "fresh"));
}

// ---------------------------------------------------------------------------------------------
// auth_high_count_logon_fails

/// A brute force (300 failures against one account in 30 minutes) against a quiet baseline →
/// one alert naming the attacking address; the usual trickle of typos → none before it.
#[test]
fn failed_logon_spike_brute_force_alerts_once() {
    let mut lines = office(30, 21, 9);
    let start = T0 + 21 * DAY + 14 * HOUR;
    for i in 0..300 {
        lines.push(failure(start + i * 6_000, "erin", "45.155.244.114"));
    }
    let r = finish(lines);
    let alerts = alerts_of(&r, FAILS);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["source"]["ip"], "45.155.244.114");
    assert!(alerts[0]["record_score"].as_f64().unwrap() >= 75.0);
    let ev = &alerts[0]["anomaly_score_explanation"]["evidence"];
    assert_eq!(ev["distinct_users"], 1);
}

/// A password spray: one address failing against 45 accounts within 20 minutes → alert with the
/// number of accounts in the evidence.
#[test]
fn failed_logon_spike_password_spray_alerts() {
    let mut lines = office(50, 21, 10);
    let start = T0 + 21 * DAY + 15 * HOUR;
    for u in 0..45 {
        lines.push(failure(start + u * 25_000, &format!("user{u:02}"), "194.165.200.149"));
        if u % 2 == 0 {
            lines.push(failure(
                start + u * 25_000 + 5_000,
                &format!("user{u:02}"),
                "194.165.200.149",
            ));
        }
    }
    let r = finish(lines);
    let alerts = alerts_of(&r, FAILS);
    assert!(
        !alerts.is_empty(),
        "{:#?}",
        r.records.iter().filter(|x| x.job_id == FAILS).collect::<Vec<_>>()
    );
    let ev = &alerts[0]["anomaly_score_explanation"]["evidence"];
    assert!(ev["distinct_users"].as_u64().unwrap() >= 20, "{ev}");
    assert_eq!(alerts[0]["source"]["ip"], "194.165.200.149");
}

/// A known-noisy service that always fails a little, plus typos → no alert over three weeks.
#[test]
fn failed_logon_trickle_and_noisy_service_are_quiet() {
    let mut lines = office(30, 28, 11);
    let mut rng = Lcg(5);
    for b in 0..(28 * 96) {
        for _ in 0..rng.next(4) {
            lines.push(failure(
                T0 + b * 900_000 + rng.next(900) as i64 * 1000,
                "svc-monitor",
                "10.30.0.5",
            ));
        }
    }
    let r = finish(lines);
    assert!(alerts_of(&r, FAILS).is_empty(), "{:#?}", alerts_of(&r, FAILS));
}

// ---------------------------------------------------------------------------------------------
// auth_high_count_logon_events

/// A burst of successful logons far above the norm for the hour → alert.
#[test]
fn logon_spike_burst_alerts() {
    let mut lines = office(30, 21, 12);
    let start = T0 + 22 * DAY + 2 * HOUR; // 02:00 on a weekday: normally nothing.
    for i in 0..120 {
        lines.push(logon(
            start + i * 5_000,
            &format!("user{:02}", i % 30),
            &format!("10.20.0.{}", 10 + i % 30),
        ));
    }
    let r = finish(lines);
    assert_eq!(alerts_of(&r, SUCCESSES).len(), 1, "{:#?}", alerts_of(&r, SUCCESSES));
}

/// The Monday-morning peak that happens every week → no alert in the fourth week.
#[test]
fn logon_spike_weekly_monday_peak_is_quiet() {
    let mut lines = office(30, 35, 13);
    for week in 0..5 {
        let monday = T0 + 6 * DAY + week * 7 * DAY; // T0 is a Tuesday.
        for i in 0..60 {
            lines.push(logon(
                monday + 8 * HOUR + i * 14_000,
                &format!("user{:02}", i % 30),
                &format!("10.20.0.{}", 10 + i % 30),
            ));
        }
    }
    let r = finish(lines);
    let late: Vec<_> = alerts_of(&r, SUCCESSES)
        .into_iter()
        .filter(|a| a["timestamp"].as_i64().unwrap() > T0 + 20 * DAY)
        .collect();
    assert!(late.is_empty(), "{late:#?}");
}

// ---------------------------------------------------------------------------------------------
// auth_high_count_logon_events_for_a_source_ip

/// A compromised desk replays harvested credentials for 28 accounts within 30 minutes → alert on
/// that address.
#[test]
fn source_ip_spike_credential_replay_alerts() {
    let mut lines = office(40, 21, 14);
    let start = T0 + 21 * DAY + 10 * HOUR;
    for u in 0..28 {
        lines.push(logon(start + u * 30_000, &format!("user{u:02}"), "10.20.0.41"));
    }
    let r = finish(lines);
    let alerts = alerts_of(&r, SOURCE_SPIKE);
    assert!(
        !alerts.is_empty(),
        "{:#?}",
        r.records
            .iter()
            .filter(|x| x.job_id == SOURCE_SPIKE)
            .collect::<Vec<_>>()
    );
    assert!(alerts.iter().all(|a| a["source"]["ip"] == "10.20.0.41"), "{alerts:#?}");
    assert!(
        alerts[0]["anomaly_score_explanation"]["evidence"]["distinct_users"]
            .as_u64()
            .unwrap()
            >= 10
    );
}

/// A VPN concentrator / NAT that always carries many logons → no alert.
#[test]
fn source_ip_spike_busy_nat_is_quiet() {
    let mut lines = office(20, 21, 15);
    let mut rng = Lcg(17);
    for b in 0..(22 * 96) {
        for _ in 0..(20 + rng.next(10)) {
            let u = rng.next(200);
            lines.push(logon(
                T0 + b * 900_000 + rng.next(900) as i64 * 1000,
                &format!("remote{u:03}"),
                "203.0.113.1",
            ));
        }
    }
    let r = finish(lines);
    assert!(
        alerts_of(&r, SOURCE_SPIKE)
            .iter()
            .all(|a| a["source"]["ip"] != "203.0.113.1"),
        "{:#?}",
        alerts_of(&r, SOURCE_SPIKE)
    );
}

/// Every job can be switched off; a detector running only the failed-logon job takes nothing else.
#[test]
fn jobs_are_switchable() {
    let mut lines = office(10, 3, 16);
    sort_by_time(&mut lines);
    let cfg = Config::from_json(r#"{"jobs":["auth_high_count_logon_fails"]}"#).unwrap();
    let r = run_with(cfg, &lines);
    let s = r.detector.stats();
    assert_eq!(s.events, s.accepted + s.filtered + s.rejected);
    assert!(s.filtered > s.accepted, "{s:?}");
    assert!(r.records.iter().all(|x| x.job_id == FAILS));
}

/// The real brute force of loghub's OpenSSH_2k.log, played after a generated quiet week of ordinary
/// logons (with the occasional typo) on the same host: a failed-logon spike naming 183.62.140.253
/// among its influencers, and spanning buckets (multi_bucket_impact rises).
#[test]
fn real_openssh_brute_force_after_a_quiet_week() {
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/loghub/OpenSSH/OpenSSH_2k.log"
    ))
    .expect("fixture");
    let mut quiet = String::new();
    let mut rng = Lcg(3);
    for day in 3..10 {
        for (i, user) in ["alice", "bob", "carol", "dave"].iter().enumerate() {
            for k in 0..3 {
                let (h, m) = (8 + rng.next(10), rng.next(60));
                let ip = format!("10.1.1.{}", 5 + i);
                if rng.next(20) == 0 {
                    quiet.push_str(&format!("Dec {day:2} {h:02}:{m:02}:0{k} LabSZ sshd[{}]: Failed password for {user} from {ip} port 5000{k} ssh2\n", 1000 + k));
                }
                quiet.push_str(&format!("Dec {day:2} {h:02}:{m:02}:1{k} LabSZ sshd[{}]: Accepted password for {user} from {ip} port 5100{k} ssh2\n", 2000 + k));
            }
        }
    }
    // Lines within a day are generated out of order: sort them by their (year-less) stamp.
    let mut lines: Vec<&str> = quiet.lines().collect();
    lines.sort_by_key(|l| (l[4..6].trim().parse::<u32>().unwrap_or(0), l[7..15].to_string()));
    let mut input = lines.join("\n");
    input.push('\n');
    input.push_str(&fixture);
    let cfg =
        Config::from_json(r#"{"reference_time":"2025-12-31T00:00:00Z","learning_days":5,"output":"records"}"#).unwrap();
    let mut d = auth_anomaly::Detector::new(cfg).unwrap();
    let mut out = d.push_ndjson(input.as_bytes());
    d.flush().to_ndjson(auth_anomaly::OutputKind::Records, &mut out);
    let docs: Vec<serde_json::Value> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let alerts: Vec<&serde_json::Value> = docs
        .iter()
        .filter(|a| a["event"]["kind"] == "signal" && a["job_id"] == FAILS)
        .collect();
    assert!(!alerts.is_empty(), "{:#?}", d.stats());
    let named = alerts.iter().any(|a| {
        a["influencers"].as_array().unwrap().iter().any(|i| {
            i["influencer_field_name"] == "source.ip"
                && i["influencer_field_values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v == "183.62.140.253")
        })
    });
    assert!(named, "{alerts:#?}");
    let impacts: Vec<f64> = docs
        .iter()
        .filter(|r| r["result_type"] == "record" && r["job_id"] == FAILS)
        .filter_map(|r| r["multi_bucket_impact"].as_f64())
        .collect();
    assert!(
        impacts.iter().any(|&i| i > -5.0),
        "the attack spans buckets: {impacts:?}"
    );
}

/// Distinct-entity gating: with a minimum of 3 accounts, one account hammered by a misconfigured
/// client is not a spike; the spray across 45 accounts still is.
#[test]
fn failed_spike_minimum_distinct_users() {
    let mut lines = office(50, 21, 21);
    let start = T0 + 21 * DAY + 14 * HOUR;
    for i in 0..200 {
        lines.push(failure(start + i * 4_000, "svc-mail", "10.30.0.9"));
    }
    let spray = T0 + 22 * DAY + 15 * HOUR;
    for u in 0..45 {
        lines.push(failure(spray + u * 25_000, &format!("user{u:02}"), "194.165.200.149"));
    }
    sort_by_time(&mut lines);
    let cfg = Config::from_json(r#"{"failed_spike_min_distinct_users":3}"#).unwrap();
    let r = run_with(cfg, &lines);
    let alerts = alerts_of(&r, FAILS);
    assert!(alerts.iter().all(|a| a["source"]["ip"] != "10.30.0.9"), "{alerts:#?}");
    assert!(
        alerts.iter().any(|a| a["source"]["ip"] == "194.165.200.149"),
        "{alerts:#?}"
    );
    // Without the minimum, the hammered account is a spike.
    let r = run(&{
        let mut l = lines.clone();
        sort_by_time(&mut l);
        l
    });
    assert!(alerts_of(&r, FAILS).iter().any(|a| a["source"]["ip"] == "10.30.0.9"));
}

/// Dormancy deepens with time: an account active on two days that sleeps 16 days scores lower
/// than the same account after 30 days, and the long sleep alerts.
#[test]
fn rare_user_longer_sleep_is_rarer() {
    let score_after = |idle: i64| {
        let mut lines = office(30, 2 + idle + 1, 11);
        routine(&mut lines, "temp_account", &["10.20.0.77"], 0..2);
        lines.push(logon(T0 + (1 + idle) * DAY + 13 * HOUR, "temp_account", "10.20.0.77"));
        let r = finish(lines);
        let rec = r
            .records
            .iter()
            .find(|x| x.job_id == RARE_USER && x.by_field_value == "temp_account")
            .map(|x| x.record_score);
        (rec.expect("a dormant-account record"), alerts_of(&r, RARE_USER).len())
    };
    let (short, _) = score_after(16);
    let (long, alerts) = score_after(30);
    assert!(long > short, "{short} vs {long}");
    assert!(long >= 75.0 && alerts == 1, "{long} {alerts}");
}
