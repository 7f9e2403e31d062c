//! Throughput and memory: `cargo bench --bench throughput` (see BENCHMARKS.md).
//!
//! - `push/*`: pre-parsed events through `Detector::push` (which builds a full verdict per event),
//!   the rare-source-IP job alone and all six jobs;
//! - `ndjson/*`: NDJSON bytes through `Detector::push_ndjson` in line-aligned 1 MiB chunks (the
//!   path hosts use), rare-source-IP alone and all six;
//! - `high_cardinality/*`: 100 000 users × 3 addresses each, and the bytes per tracked
//!   (user, address) pair and per user from `stats()` (printed);
//! - `parse/*`: ingest alone — the ECS text fast path, the `serde_json::Value` path it replaced,
//!   the winlogbeat text fast path (`winlogbeat_fast`, the detector's path) and the `Value` path
//!   it replaced, and format sniffing.
//!
//! The organisation is the simulator's (`auth_anomaly_sim`, 300 users × 30 days, seed 7, with the
//! seven attacks), shaped like `demo/org-demo.ndjson`: here 87 % ECS `system.auth` lines and 13 %
//! winlogbeat `system.security` lines. `BENCH_USERS` / `BENCH_DAYS` change its size.
//!
//! Heap allocations per event (a counting global allocator) are printed for the `ndjson` runs.
//!
//! Every measured routine starts from a fresh detector, so each sample processes the whole stream.
#![cfg_attr(target_arch = "wasm32", allow(unused))]

#[cfg(not(target_arch = "wasm32"))]
#[path = "support/counting_alloc.rs"]
mod counting;

#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::time::Duration;

    use auth_anomaly::ingest::detect::{sniff, InputFormat};
    use auth_anomaly::ingest::windows::{event_from_windows_json, event_from_windows_text};
    use auth_anomaly::ingest::{event_from_json, event_from_json_value};
    use auth_anomaly::{AuthEvent, Config, Detector};
    use criterion::{BenchmarkId, Criterion, Throughput};

    const RARE_IP: &str = r#"{"jobs":["auth_rare_source_ip_for_a_user"]}"#;
    const ALL_SIX: &str = "";
    const CHUNK: usize = 1 << 20;

    fn env_or(name: &str, default: usize) -> usize {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// The simulated organisation's NDJSON.
    fn organisation() -> Vec<u8> {
        let cfg = auth_anomaly_sim::Config {
            users: env_or("BENCH_USERS", 300),
            days: env_or("BENCH_DAYS", 30) as u32,
            ..auth_anomaly_sim::Config::default()
        };
        let sim = auth_anomaly_sim::simulate(&cfg).expect("simulation config");
        sim.to_ndjson().into_bytes()
    }

    /// Line-aligned chunks of about `CHUNK` bytes (a host reading a file or socket).
    fn chunks(bytes: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let end = if rest.len() <= CHUNK {
                rest.len()
            } else {
                rest[CHUNK..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |p| CHUNK + p + 1)
            };
            out.push(&rest[..end]);
            rest = &rest[end..];
        }
        out
    }

    /// Each line parsed as `push_ndjson` would (format sniffed per line); non-logons dropped.
    fn parse_all(bytes: &[u8]) -> Vec<AuthEvent> {
        let text = std::str::from_utf8(bytes).expect("UTF-8");
        text.lines()
            .filter_map(|line| match sniff(line.as_bytes()) {
                InputFormat::Evtx => {
                    let v: serde_json::Value = serde_json::from_str(line).ok()?;
                    event_from_windows_json(&v).ok().flatten()
                }
                _ => event_from_json(line).ok(),
            })
            .collect()
    }

    fn detector(config: &str) -> Detector {
        Detector::new(Config::from_json(config).expect("config")).expect("detector")
    }

    fn run_ndjson(config: &str, chunks: &[&[u8]]) -> usize {
        let mut d = detector(config);
        let mut out = 0;
        for c in chunks {
            out += d.push_ndjson(c).len();
        }
        out + d.flush().alerts.len()
    }

    /// 100 000 users, each seen from 3 addresses of its own, one round of logons a day.
    fn high_cardinality(users: usize) -> Vec<u8> {
        let t0 = 1_790_812_800_000i64; // 2026-10-01
        let mut out = Vec::with_capacity(users * 3 * 200);
        let step = 86_400_000 / users as i64;
        for round in 0..3i64 {
            for u in 0..users {
                let ts = auth_anomaly::time::format_rfc3339_ms(t0 + round * 86_400_000 + u as i64 * step);
                let ip = (10u32 << 24) + (u as u32) * 4 + round as u32 + 1;
                let ip = std::net::Ipv4Addr::from(ip);
                out.extend_from_slice(
                    format!(
                        r#"{{"@timestamp":"{ts}","event":{{"category":["authentication"],"outcome":"success"}},"user":{{"name":"user{u:06}"}},"source":{{"ip":"{ip}"}},"host":{{"name":"srv-{}"}}}}"#,
                        u % 16
                    )
                    .as_bytes(),
                );
                out.push(b'\n');
            }
        }
        out
    }

    pub fn benches(c: &mut Criterion) {
        let bytes = organisation();
        let lines = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() as u64;
        let events = parse_all(&bytes);
        let parts = chunks(&bytes);
        println!(
            "organisation: {lines} lines, {:.1} MB, {} parsed logons, {} chunks of ≤ 1 MiB",
            bytes.len() as f64 / 1e6,
            events.len(),
            parts.len()
        );

        let mut g = c.benchmark_group("push");
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        g.throughput(Throughput::Elements(events.len() as u64));
        for (name, config) in [("rare_ip", RARE_IP), ("all_six", ALL_SIX)] {
            g.bench_function(name, |b| {
                b.iter(|| {
                    let mut d = detector(config);
                    for e in &events {
                        black_box(d.push(e));
                    }
                    d.flush().alerts.len()
                })
            });
        }
        g.finish();

        for (name, config) in [("rare_ip", RARE_IP), ("all_six", ALL_SIX)] {
            let before = super::counting::count();
            black_box(run_ndjson(config, &parts));
            let n = super::counting::count() - before;
            println!(
                "ndjson/{name}: {:.2} heap allocations per event ({n} for {lines} lines)",
                n as f64 / lines as f64
            );
        }

        let mut g = c.benchmark_group("ndjson");
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        g.throughput(Throughput::Elements(lines));
        for (name, config) in [("rare_ip", RARE_IP), ("all_six", ALL_SIX)] {
            g.bench_function(name, |b| b.iter(|| run_ndjson(config, &parts)));
        }
        g.finish();

        let users = env_or("BENCH_HC_USERS", 100_000);
        let hc = high_cardinality(users);
        let hc_parts = chunks(&hc);
        for (name, config) in [("rare_ip", RARE_IP), ("all_six", ALL_SIX)] {
            let before = super::counting::count();
            let mut d = detector(config);
            for p in &hc_parts {
                d.push_ndjson(p);
            }
            d.flush();
            let n = super::counting::count() - before;
            let s = d.stats();
            println!(
                "high_cardinality/{name}: {} users, {} pairs, {} events accepted, {:.2} allocations per event, memory {:.1} MB: {:.1} bytes per (user, address) pair, {:.1} bytes per user",
                s.users,
                s.pairs,
                s.accepted,
                n as f64 / s.events.max(1) as f64,
                s.memory_bytes as f64 / 1e6,
                s.memory_bytes as f64 / s.pairs.max(1) as f64,
                s.memory_bytes as f64 / s.users.max(1) as f64,
            );
        }
        let mut g = c.benchmark_group("high_cardinality");
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        g.throughput(Throughput::Elements(3 * users as u64));
        g.bench_function(BenchmarkId::new("ndjson", "rare_ip"), |b| {
            b.iter(|| run_ndjson(RARE_IP, &hc_parts))
        });
        g.finish();

        // Ingest alone, per line kind.
        let text = std::str::from_utf8(&bytes).expect("UTF-8");
        let (windows, ecs): (Vec<&str>, Vec<&str>) = text
            .lines()
            .filter(|l| !l.is_empty())
            .partition(|l| sniff(l.as_bytes()) == InputFormat::Evtx);
        let mut g = c.benchmark_group("parse");
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        g.throughput(Throughput::Elements(ecs.len() as u64));
        g.bench_function("ecs_fast", |b| {
            b.iter(|| ecs.iter().filter(|l| event_from_json(l).is_ok()).count())
        });
        g.bench_function("ecs_via_value", |b| {
            b.iter(|| {
                ecs.iter()
                    .filter(|l| {
                        serde_json::from_str::<serde_json::Value>(l)
                            .ok()
                            .is_some_and(|v| event_from_json_value(&v).is_ok())
                    })
                    .count()
            })
        });
        g.throughput(Throughput::Elements(windows.len() as u64));
        // The detector's path: the one-pass visitor, and a `Value` for what it is not sure of.
        g.bench_function("winlogbeat_fast", |b| {
            b.iter(|| windows.iter().filter(|l| event_from_windows_text(l).is_ok()).count())
        });
        g.bench_function("winlogbeat_via_value", |b| {
            b.iter(|| {
                windows
                    .iter()
                    .filter(|l| {
                        serde_json::from_str::<serde_json::Value>(l)
                            .ok()
                            .is_some_and(|v| event_from_windows_json(&v).is_ok())
                    })
                    .count()
            })
        });
        g.throughput(Throughput::Elements(lines));
        g.bench_function("sniff", |b| {
            b.iter(|| {
                text.lines()
                    .filter(|l| sniff(l.as_bytes()) == InputFormat::Evtx)
                    .count()
            })
        });
        g.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(throughput, native::benches);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(throughput);

#[cfg(target_arch = "wasm32")]
fn main() {}
