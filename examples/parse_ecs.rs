//! Ingest alone: `cargo run --release --example parse_ecs -- FILE [ROUNDS] [stream|fast|value|ignored|both]`
//! parses every ECS line (not the winlogbeat ones) with the streaming parser (`LineParser`, which
//! reads a line of a known layout at the known places, as the detector does), with the text fast
//! path line by line, and with the `serde_json::Value` path, and prints lines/s for each (`both`,
//! the default: all of them).
use auth_anomaly::ingest::detect::{sniff, InputFormat};
use auth_anomaly::ingest::{event_from_json, event_from_json_value, LineParser};

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
    if which == "both" || which == "stream" {
        let t = std::time::Instant::now();
        let mut ok = 0;
        let mut parser = LineParser::new();
        for _ in 0..rounds {
            ok += lines.iter().filter(|l| parser.parse(l.as_bytes()).is_ok()).count();
        }
        let secs = t.elapsed().as_secs_f64();
        let n = lines.len() * rounds;
        println!(
            "stream: {n} ECS lines ({ok} ok, {} read through a known layout) in {secs:.3} s: {:.0} lines/s",
            parser.shape_hits(),
            n as f64 / secs
        );
    }
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
