//! Does cost grow linearly in tracked (user, address) pairs? `cargo run --release --example scaling
//! -- [PAIRS,PAIRS,…] [--jobs JOB,JOB] [--limit BYTES]` (default 10000,100000,1000000,10000000 pairs,
//! rare-IP job, `model_memory_limit` 16 GiB so that nothing is evicted).
//!
//! For each size: PAIRS / 3 users log on from 3 addresses of their own, one address per day over
//! three days, in time order (the bench's high-cardinality stream, generated in memory, line by
//! line, in 1 MiB chunks, so the input never holds more than a chunk). Prints events/s,
//! `stats().memory_bytes` per pair, and the process's resident memory (VmRSS/VmHWM from
//! /proc/self/status) growth per pair, so the model's own accounting can be checked against the OS.
use std::fmt::Write as _;
use std::time::Instant;

use auth_anomaly::{Config, Detector};

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes: Vec<usize> = vec![10_000, 100_000, 1_000_000, 10_000_000];
    let mut jobs = "auth_rare_source_ip_for_a_user".to_string();
    let mut limit: u64 = 16 << 30;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--jobs" => {
                jobs = args.get(i + 1).cloned().unwrap_or_default();
                i += 1;
            }
            "--limit" => {
                limit = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(limit);
                i += 1;
            }
            list => sizes = list.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        }
        i += 1;
    }
    let jobs_json: Vec<String> = jobs.split(',').map(|j| format!("\"{j}\"")).collect();
    println!(
        "| pairs | users | events | seconds | events/s | memory_bytes per pair | RSS growth per pair | peak RSS |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for pairs in sizes {
        let users = (pairs / 3).max(1);
        let config = format!(r#"{{"jobs":[{}],"model_memory_limit":{limit}}}"#, jobs_json.join(","));
        let mut d = match Config::from_json(&config).and_then(Detector::new) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("scaling: {e}");
                std::process::exit(2);
            }
        };
        let rss_before = status_kib("VmRSS:").unwrap_or(0);
        let t0 = 1_790_812_800_000i64; // 2026-10-01
        let step = 86_400_000 / users as i64;
        let mut chunk = String::with_capacity(1 << 20);
        let started = Instant::now();
        let mut events = 0u64;
        for round in 0..3i64 {
            for u in 0..users {
                let ts = auth_anomaly::time::format_rfc3339_ms(t0 + round * 86_400_000 + u as i64 * step);
                let ip = std::net::Ipv4Addr::from((10u32 << 24) + (u as u32) * 4 + round as u32 + 1);
                let _ = writeln!(
                    chunk,
                    r#"{{"@timestamp":"{ts}","event":{{"category":["authentication"],"outcome":"success"}},"user":{{"name":"user{u:08}"}},"source":{{"ip":"{ip}"}},"host":{{"name":"srv-{}"}}}}"#,
                    u % 16
                );
                events += 1;
                if chunk.len() >= (1 << 20) - 512 {
                    d.push_ndjson(chunk.as_bytes());
                    chunk.clear();
                }
            }
        }
        d.push_ndjson(chunk.as_bytes());
        d.flush();
        let seconds = started.elapsed().as_secs_f64();
        let s = d.stats();
        let rss_after = status_kib("VmRSS:").unwrap_or(0);
        let hwm = status_kib("VmHWM:").unwrap_or(0);
        println!(
            "| {pairs} | {users} | {events} | {seconds:.2} | {:.0} | {:.1} | {:.1} | {:.0} MiB |",
            events as f64 / seconds,
            s.memory_bytes as f64 / s.pairs.max(1) as f64,
            (rss_after.saturating_sub(rss_before) * 1024) as f64 / s.pairs.max(1) as f64,
            hwm as f64 / 1024.0
        );
        eprintln!(
            "  {pairs} pairs streamed: {} users and {} pairs kept, memory_bytes {}, {} users evicted",
            s.users, s.pairs, s.memory_bytes, s.evictions
        );
        drop(d);
    }
}
