//! Quick throughput check: `cargo run --release --example throughput -- FILE [JOB,JOB] [--once]`.
//!
//! Feeds FILE to `Detector::push_ndjson` in line-aligned 1 MiB chunks (as `benches/node_bench.mjs`
//! feeds the WASM build; `--once` passes the whole file in one call), then flushes, and prints
//! events/s with the accepted / filtered / rejected split: a stream whose timestamps go backwards
//! (e.g. a file concatenated with itself) is mostly `too_late` rejections, which cost far less than
//! accepted events.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let once = args.iter().any(|a| a == "--once");
    let positional: Vec<&String> = args.iter().skip(1).filter(|a| !a.starts_with("--")).collect();
    let Some(path) = positional.first() else {
        eprintln!("usage: throughput FILE [JOB,JOB] [--once]");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("throughput: cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let config = match positional.get(1) {
        Some(jobs) => {
            let list: Vec<String> = jobs.split(',').map(|j| format!("\"{j}\"")).collect();
            format!("{{\"jobs\":[{}]}}", list.join(","))
        }
        None => String::new(),
    };
    let chunks = if once {
        vec![&bytes[..]]
    } else {
        chunks(&bytes, 1 << 20)
    };
    let mut d =
        auth_anomaly::Detector::new(auth_anomaly::Config::from_json(&config).expect("config")).expect("detector");
    let t = std::time::Instant::now();
    let mut out = 0;
    for c in &chunks {
        out += d.push_ndjson(c).len();
    }
    let r = d.flush();
    let secs = t.elapsed().as_secs_f64();
    let s = d.stats();
    println!(
        "{} events, {:.1} MB in {:.3} s: {:.0} events/s, {:.1} MB/s ({} output bytes, {} alerts; {} accepted, {} filtered, {} rejected; {} chunks)",
        s.events,
        bytes.len() as f64 / 1e6,
        secs,
        s.events as f64 / secs,
        bytes.len() as f64 / 1e6 / secs,
        out,
        r.alerts.len() + s.alerts as usize,
        s.accepted,
        s.filtered,
        s.rejected,
        chunks.len()
    );
}

/// Line-aligned chunks of about `size` bytes.
fn chunks(bytes: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let end = if rest.len() <= size {
            rest.len()
        } else {
            rest[size..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |p| size + p + 1)
        };
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}
