//! Ingest alone: `cargo run --release --example parse_ecs -- FILE [ROUNDS]` parses every ECS line
//! (not the winlogbeat ones) with the text fast path and with the `serde_json::Value` path, and
//! prints lines/s of CPU time for each.
use auth_anomaly::ingest::detect::{sniff, InputFormat};
use auth_anomaly::ingest::{event_from_json, event_from_json_value};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: parse_ecs FILE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("parse_ecs: cannot read {path}: {e}");
        std::process::exit(2);
    });
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && sniff(l.as_bytes()) == InputFormat::Ecs)
        .collect();
    let which = args.get(3).map(String::as_str).unwrap_or("both");
    for (name, f) in [
        ("fast", (|l: &str| event_from_json(l).is_ok()) as fn(&str) -> bool),
        ("value", |l: &str| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .is_some_and(|v| event_from_json_value(&v).is_ok())
        }),
        ("ignored", |l: &str| {
            serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok()
        }),
    ] {
        if which != "both" && which != name {
            continue;
        }
        let t = std::time::Instant::now();
        let mut ok = 0;
        for _ in 0..rounds {
            ok += lines.iter().filter(|l| f(l)).count();
        }
        let secs = t.elapsed().as_secs_f64();
        let n = lines.len() * rounds;
        println!(
            "{name}: {n} ECS lines ({ok} ok) in {secs:.3} s: {:.0} lines/s",
            n as f64 / secs
        );
    }
}
