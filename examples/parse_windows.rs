//! Windows ingest alone: `cargo run --release --example parse_windows -- FILE [ROUNDS]
//! [fast|value|ignored]` parses every Windows line of FILE (winlogbeat and evtx JSON: the lines
//! the detector reads as `evtx`) with the text fast path (`event_from_windows_text`: the
//! hand-written scanner, then the one-pass visitor, then a `Value` for what neither is sure of; a
//! fresh line event per line, so without the detector's memory of the last line's keys and
//! buffers), with the `serde_json::Value` path, or into
//! `IgnoredAny` (serde_json's floor), and prints lines/s of CPU time for each and how many lines
//! the fast path answered itself, and heap allocations per line (a counting global allocator).
//! Instructions per line: run under cachegrind with two ROUNDS counts and divide the difference.

#[path = "../benches/support/counting_alloc.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

use auth_anomaly::ingest::detect::{sniff, InputFormat};
use auth_anomaly::ingest::windows::{event_from_windows_json, event_from_windows_text, winlogbeat_event_from_text};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: parse_windows FILE [ROUNDS] [fast|value|ignored]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3);
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("parse_windows: cannot read {path}: {e}");
        std::process::exit(2);
    });
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && sniff(l.as_bytes()) == InputFormat::Evtx)
        .collect();
    let which = args.get(3).map(String::as_str).unwrap_or("all");
    if which == "all" {
        let answered = lines.iter().filter(|l| winlogbeat_event_from_text(l).is_some()).count();
        println!("{} Windows lines, {answered} answered by the fast path", lines.len());
    }
    for (name, f) in [
        (
            "fast",
            (|l: &str| event_from_windows_text(l).is_ok()) as fn(&str) -> bool,
        ),
        ("value", |l: &str| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .is_some_and(|v| event_from_windows_json(&v).is_ok())
        }),
        ("ignored", |l: &str| {
            serde_json::from_str::<serde::de::IgnoredAny>(l).is_ok()
        }),
    ] {
        if which != "all" && which != name {
            continue;
        }
        let allocations_before = counting::count();
        let t = std::time::Instant::now();
        let mut ok = 0;
        for _ in 0..rounds {
            ok += lines.iter().filter(|l| f(l)).count();
        }
        let secs = t.elapsed().as_secs_f64();
        let n = lines.len() * rounds;
        let allocations = (counting::count() - allocations_before) as f64 / n.max(1) as f64;
        println!(
            "{name}: {n} Windows lines ({ok} ok) in {secs:.3} s: {:.0} lines/s, {allocations:.2} allocations/line",
            n as f64 / secs
        );
    }
}
