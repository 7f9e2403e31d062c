//! End-to-end checks of the simulator's output and truth file.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use auth_anomaly_sim::time::{parse_start, DAY_MS, HOUR_MS, MINUTE_MS};
use auth_anomaly_sim::{simulate, Config, LabelType, Simulation, Truth};
use serde_json::Value;

/// One parsed output line.
#[derive(Debug, Clone)]
struct Line {
    ts: i64,
    user: String,
    ip: Ipv4Addr,
    success: bool,
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or_else(|| panic!("missing string {path:?} in {v}"))
}

/// Parses and validates every line of the NDJSON output.
fn parse(ndjson: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut prev = i64::MIN;
    for (n, text) in ndjson.lines().enumerate() {
        let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("line {n}: {e}"));
        let ts_text = s(&v, &["@timestamp"]);
        assert_eq!(ts_text.len(), 24, "line {n}: {ts_text}");
        assert!(ts_text.ends_with('Z'));
        let ts = parse_start(ts_text).unwrap_or_else(|| panic!("line {n}: bad @timestamp"));
        assert!(ts >= prev, "line {n}: timestamps must not decrease");
        prev = ts;
        assert_eq!(
            v["event"]["category"],
            serde_json::json!(["authentication"]),
            "line {n}"
        );
        assert_eq!(s(&v, &["event", "kind"]), "event");
        let outcome = s(&v, &["event", "outcome"]);
        assert!(outcome == "success" || outcome == "failure", "line {n}");
        let action = s(&v, &["event", "action"]);
        match s(&v, &["event", "dataset"]) {
            "system.auth" => {
                assert_eq!(action, "ssh_login");
                assert_eq!(s(&v, &["process", "name"]), "sshd");
            }
            "system.security" => {
                let (want_action, want_code) = if outcome == "success" {
                    ("logged-in", "4624")
                } else {
                    ("logon-failed", "4625")
                };
                assert_eq!(action, want_action);
                assert_eq!(s(&v, &["event", "code"]), want_code);
                let lt = s(&v, &["winlog", "event_data", "LogonType"]);
                assert!(lt == "3" || lt == "10", "line {n}");
            }
            other => panic!("line {n}: dataset {other}"),
        }
        let user = s(&v, &["user", "name"]).to_string();
        assert!(!user.is_empty());
        assert!(!s(&v, &["host", "name"]).is_empty());
        let ip: Ipv4Addr = s(&v, &["source", "ip"]).parse().expect("source.ip");
        out.push(Line {
            ts,
            user,
            ip,
            success: outcome == "success",
        });
    }
    out
}

fn run(cfg: &Config) -> (Simulation, String, Vec<Line>) {
    let sim = simulate(cfg).expect("simulate");
    let text = sim.to_ndjson();
    let lines = parse(&text);
    assert_eq!(lines.len(), sim.events.len());
    (sim, text, lines)
}

fn slash16(ip: Ipv4Addr) -> [u8; 2] {
    let o = ip.octets();
    [o[0], o[1]]
}

fn slash24(ip: Ipv4Addr) -> [u8; 3] {
    let o = ip.octets();
    [o[0], o[1], o[2]]
}

/// Checks every property of the attacks and benign labels against the output lines.
fn check_truth(truth: &Truth, lines: &[Line], cfg: &Config) {
    assert_eq!(
        truth.attacks.len(),
        if cfg.attacks { 7 } else { 0 },
        "seed {}",
        cfg.seed
    );
    let kinds: Vec<LabelType> = truth.attacks.iter().map(|a| a.kind).collect();
    if cfg.attacks {
        assert_eq!(
            kinds,
            [
                LabelType::StolenCredentialsOutside,
                LabelType::LateralMovementColleagueDesk,
                LabelType::BruteForce,
                LabelType::PasswordSpray,
                LabelType::CredentialReplayOneDesk,
                LabelType::OffHoursLogon,
                LabelType::DormantAccount,
            ]
        );
    }
    let start = cfg.start_ms;
    let mut by_user: BTreeMap<&str, Vec<&Line>> = BTreeMap::new();
    for l in lines {
        by_user.entry(l.user.as_str()).or_default().push(l);
    }
    let of = |user: &str| by_user.get(user).map(Vec::as_slice).unwrap_or(&[]);
    for label in truth.attacks.iter().chain(&truth.benign) {
        let ip: Ipv4Addr = label.source_ip.parse().expect("ip");
        let users: BTreeSet<&str> = label.users.iter().map(String::as_str).collect();
        let in_label =
            |l: &Line| l.ip == ip && (label.start_ms..=label.end_ms).contains(&l.ts) && users.contains(l.user.as_str());
        let hits: Vec<&Line> = users
            .iter()
            .flat_map(|u| of(u))
            .copied()
            .filter(|l| in_label(l))
            .collect();
        assert!(!hits.is_empty(), "{}: no events", label.id);
        assert_eq!(hits.len(), label.events, "{} ({})", label.id, label.kind);
        assert_eq!(
            hits.iter().filter(|l| l.success).count(),
            label.successes,
            "{}",
            label.id
        );
        assert_eq!(hits.iter().map(|l| l.ts).min(), Some(label.start_ms));
        assert_eq!(hits.iter().map(|l| l.ts).max(), Some(label.end_ms));
        for user in &label.users {
            if label.kind.is_attack() && label.kind != LabelType::PasswordSpray {
                assert!(hits.iter().any(|l| &l.user == user), "{}: {user} absent", label.id);
            }
            assert!(truth.profiles.contains_key(user) || label.kind == LabelType::PasswordSpray);
        }
        if label.kind.is_attack() {
            assert!(label.start_ms >= start + 10 * DAY_MS, "{} before day 10", label.id);
        }
        if label.kind.is_rare_source_ip() {
            for user in &label.users {
                let before: Vec<&Line> = of(user).iter().copied().filter(|l| l.ts < label.start_ms).collect();
                let first = before.iter().map(|l| l.ts).min().expect("history");
                assert!(
                    first <= label.start_ms - 7 * DAY_MS,
                    "{}: {user} has less than 7 days of history",
                    label.id
                );
                let days: BTreeSet<i64> = before.iter().map(|l| l.ts / DAY_MS).collect();
                assert!(days.len() >= 5, "{}: {user} active on {} days", label.id, days.len());
                assert!(
                    before.iter().all(|l| l.ip != ip),
                    "{}: {ip} is not new for {user}",
                    label.id
                );
            }
        }
        let window = label.end_ms - label.start_ms;
        match label.kind {
            LabelType::StolenCredentialsOutside => {
                assert!((1..=3).contains(&label.events) && label.successes == label.events);
                assert!(window <= HOUR_MS);
                let users_of_16: BTreeSet<&str> = lines
                    .iter()
                    .filter(|l| slash16(l.ip) == slash16(ip))
                    .map(|l| l.user.as_str())
                    .collect();
                assert_eq!(users_of_16.len(), 1, "the /16 of {ip} is used by nobody else");
                let outside_window = lines
                    .iter()
                    .filter(|l| slash16(l.ip) == slash16(ip))
                    .any(|l| l.ts < label.start_ms || l.ts > label.end_ms);
                assert!(!outside_window);
                assert_eq!(truth.profiles[&label.users[0]], "office");
            }
            LabelType::LateralMovementColleagueDesk => {
                assert_eq!(label.successes, label.events);
                let victim = &label.users[0];
                // The address is someone else's habitual desk …
                let owners: BTreeMap<&str, BTreeSet<i64>> = lines
                    .iter()
                    .filter(|l| l.ip == ip && l.ts < label.start_ms && &l.user != victim)
                    .fold(BTreeMap::new(), |mut m, l| {
                        m.entry(l.user.as_str()).or_default().insert(l.ts / DAY_MS);
                        m
                    });
                assert!(owners.values().any(|d| d.len() >= 5), "{ip} is nobody's habitual desk");
                // … in the same /24 as the victim's own usual address.
                let mut victim_24: BTreeMap<[u8; 3], usize> = BTreeMap::new();
                for l in of(victim).iter().filter(|l| l.ts < label.start_ms) {
                    *victim_24.entry(slash24(l.ip)).or_default() += 1;
                }
                let usual = victim_24.iter().max_by_key(|(_, n)| **n).map(|(k, _)| *k);
                assert_eq!(usual, Some(slash24(ip)));
            }
            LabelType::BruteForce => {
                assert_eq!(label.users.len(), 1);
                assert_eq!(label.successes, 1);
                assert!(label.events > 300, "300+ failures then a success");
                assert!(window <= 30 * MINUTE_MS);
                let last = lines.iter().rfind(|l| in_label(l)).expect("events");
                assert!(last.success, "the success comes last");
            }
            LabelType::PasswordSpray => {
                assert!(label.users.len() >= 40);
                assert_eq!(label.successes, 0);
                assert!(window <= 20 * MINUTE_MS);
                for user in &label.users {
                    let n = of(user).iter().filter(|l| in_label(l)).count();
                    assert!((1..=2).contains(&n), "{user}: {n} attempts");
                }
            }
            LabelType::CredentialReplayOneDesk => {
                assert!(label.users.len() >= 25);
                assert_eq!(label.successes, label.events);
                assert!(window <= 30 * MINUTE_MS);
                assert!(ip.octets()[0] == 10 && ip.octets()[1] >= 20 && ip.octets()[1] < 30);
            }
            LabelType::OffHoursLogon => {
                let victim = &label.users[0];
                // The address is the victim's usual one …
                assert!(of(victim).iter().any(|l| l.ip == ip && l.ts < label.start_ms));
                // … but the victim never logs on at that hour of the day otherwise.
                let hour = label.start_ms.rem_euclid(DAY_MS) / HOUR_MS;
                let other = of(victim)
                    .iter()
                    .filter(|l| !in_label(l) && (l.ts.rem_euclid(DAY_MS) / HOUR_MS - hour).abs() <= 2);
                assert_eq!(other.count(), 0);
            }
            LabelType::DormantAccount => {
                let user = &label.users[0];
                assert_eq!(truth.profiles[user], "dormant");
                let mut later = of(user).iter().filter(|l| l.ts >= start + 2 * DAY_MS);
                assert!(
                    later.all(|l| l.ts >= label.start_ms),
                    "{user} must be silent until the attack"
                );
                assert!(of(user).iter().any(|l| l.ts < start + 2 * DAY_MS));
            }
            LabelType::BenignDhcpRenumbering => {
                assert_eq!(slash24(ip)[..2], [10, 20]);
            }
            LabelType::BenignVpnPoolRotation => {
                assert_eq!(slash16(ip), [10, 99]);
            }
            LabelType::BenignTravel => {
                assert_eq!(truth.profiles[&label.users[0]], "traveller");
            }
        }
    }
}

#[test]
fn default_run_is_deterministic_and_well_formed() {
    let cfg = Config::default();
    let (sim, text, lines) = run(&cfg);
    let (again, text2, _) = run(&cfg);
    assert!(text == text2, "same seed must give identical bytes");
    assert_eq!(sim.truth, again.truth);
    let other = simulate(&Config { seed: 8, ..cfg.clone() })
        .expect("simulate")
        .to_ndjson();
    assert!(other != text, "a different seed must give different output");

    assert!((15_000..=40_000).contains(&lines.len()), "{} events", lines.len());
    assert!(text.len() <= 6 * 1024 * 1024, "{} bytes", text.len());
    check_truth(&sim.truth, &lines, &cfg);

    let kinds: BTreeSet<LabelType> = sim.truth.benign.iter().map(|b| b.kind).collect();
    assert_eq!(kinds.len(), 3, "all three benign kinds are labelled");
    let profiles: BTreeSet<&str> = sim.truth.profiles.values().map(String::as_str).collect();
    assert_eq!(profiles.len(), 6, "{profiles:?}");
    assert_eq!(sim.truth.profiles.len(), cfg.users);
    let users: BTreeSet<&str> = lines.iter().map(|l| l.user.as_str()).collect();
    for name in sim.truth.profiles.keys() {
        assert!(users.contains(name.as_str()), "{name} never logs on");
    }
    // Some typo failures among people, and the noisy service fails now and then.
    let fails = |u: &str| lines.iter().filter(|l| l.user == u && !l.success).count();
    assert!(fails(auth_anomaly_sim::NOISY_SERVICE) > 50);
}

fn check_run(seed: u64, users: usize, days: u32) {
    let cfg = Config {
        seed,
        users,
        days,
        ..Config::default()
    };
    let (sim, _, lines) = run(&cfg);
    check_truth(&sim.truth, &lines, &cfg);
}

#[test]
fn seed_1_plants_every_attack() {
    check_run(1, 60, 30);
}

#[test]
fn smallest_org_with_attacks() {
    check_run(2, 40, 21);
}

#[test]
fn larger_org_longer_period() {
    check_run(3, 90, 40);
}

#[test]
fn bigger_org_shorter_period() {
    check_run(99, 150, 25);
}

#[test]
fn benign_traffic_does_not_depend_on_attacks() {
    let with = simulate(&Config::default()).expect("simulate");
    let without = simulate(&Config {
        attacks: false,
        ..Config::default()
    })
    .expect("simulate");
    assert!(without.truth.attacks.is_empty());
    assert_eq!(with.truth.benign, without.truth.benign);
    let a: Vec<String> = with
        .events
        .iter()
        .filter(|e| e.attack.is_none())
        .map(|e| e.to_json())
        .collect();
    let b: Vec<String> = without.events.iter().map(|e| e.to_json()).collect();
    assert!(a == b, "benign events must be byte-identical with and without attacks");
    let planted: usize = with.truth.attacks.iter().map(|l| l.events).sum();
    assert_eq!(with.events.len(), without.events.len() + planted);
    for (k, label) in with.truth.attacks.iter().enumerate() {
        assert_eq!(with.attack_events(k).count(), label.events);
    }
    let lines = parse(&without.to_ndjson());
    check_truth(
        &without.truth,
        &lines,
        &Config {
            attacks: false,
            ..Config::default()
        },
    );
}

#[test]
fn small_runs_without_attacks() {
    let cfg = Config {
        users: 10,
        days: 3,
        attacks: false,
        ..Config::default()
    };
    let (sim, _, lines) = run(&cfg);
    assert!(!lines.is_empty());
    check_truth(&sim.truth, &lines, &cfg);
    assert!(simulate(&Config {
        users: 10,
        ..Config::default()
    })
    .is_err());
    assert!(simulate(&Config {
        days: 20,
        ..Config::default()
    })
    .is_err());
    assert!(simulate(&Config {
        users: 0,
        attacks: false,
        ..Config::default()
    })
    .is_err());
}

#[test]
fn truth_round_trips_with_elastic_field_names() {
    let sim = simulate(&Config::default()).expect("simulate");
    let text = sim.truth.to_json_pretty();
    let back: Truth = serde_json::from_str(&text).expect("parse truth");
    assert_eq!(back, sim.truth);
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["seed"], 7);
    assert_eq!(v["users"], 60);
    assert_eq!(v["days"], 30);
    assert_eq!(v["start"], "2026-10-01T00:00:00Z");
    let a1 = &v["attacks"][0];
    assert_eq!(a1["id"], "A1");
    assert_eq!(a1["type"], "stolen_credentials_outside");
    assert!(a1["user.name"].is_array() && a1["source.ip"].is_string());
    assert!(a1["start_ms"].is_i64() && a1["end_ms"].is_i64() && a1["description"].is_string());
    assert!(v["benign"][0]["type"]
        .as_str()
        .is_some_and(|t| t.starts_with("benign_")));
}

/// The bundled demo dataset must be what the generator produces today.
#[test]
fn bundled_demo_is_current() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/");
    let Ok(ndjson) = std::fs::read_to_string(format!("{dir}org-demo.ndjson")) else {
        return; // not bundled (e.g. the crate alone)
    };
    let sim = simulate(&Config::default()).expect("simulate");
    assert!(
        ndjson == sim.to_ndjson(),
        "demo/org-demo.ndjson is stale: regenerate it (demo/README.md)"
    );
    let truth = std::fs::read_to_string(format!("{dir}org-demo.truth.json")).expect("truth file");
    assert_eq!(truth, sim.truth.to_json_pretty(), "demo/org-demo.truth.json is stale");
}
