//! Quick throughput check: `cargo run --release --example throughput -- FILE [JOB,JOB] [--once]
//! [--output=alerts|records|verdicts] [--profile=adaptive|elastic] [--dump=OUT]`.
//!
//! Feeds FILE to `Detector::push_ndjson` in line-aligned 1 MiB chunks (as `benches/node_bench.mjs`
//! feeds the WASM build; `--once` passes the whole file in one call), then flushes, and prints
//! events/s with the accepted / filtered / rejected split: a stream whose timestamps go backwards
//! (e.g. a file concatenated with itself) is mostly `too_late` rejections, which cost far less than
//! accepted events. `--dump=OUT` writes everything the detector returned (to compare builds byte
//! for byte). Also prints heap allocations per event (a counting global allocator).

#[path = "../benches/support/counting_alloc.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

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
    let option = |name: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("--{name}=")).map(str::to_string))
    };
    let mut fields = Vec::new();
    if let Some(jobs) = positional.get(1) {
        let list: Vec<String> = jobs.split(',').map(|j| format!("\"{j}\"")).collect();
        fields.push(format!("\"jobs\":[{}]", list.join(",")));
    }
    if let Some(output) = option("output") {
        fields.push(format!("\"output\":\"{output}\""));
    }
    if let Some(profile) = option("profile") {
        fields.push(format!("\"profile\":\"{profile}\""));
    }
    let config = if fields.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", fields.join(","))
    };
    let dump = option("dump");
    let mut dumped = Vec::new();
    let chunks = if once {
        vec![&bytes[..]]
    } else {
        chunks(&bytes, 1 << 20)
    };
    let mut d =
        auth_anomaly::Detector::new(auth_anomaly::Config::from_json(&config).expect("config")).expect("detector");
    let allocations_before = counting::count();
    let t = std::time::Instant::now();
    let mut out = 0;
    for c in &chunks {
        let o = d.push_ndjson(c);
        out += o.len();
        if dump.is_some() {
            dumped.extend_from_slice(&o);
        }
    }
    let r = d.flush();
    let secs = t.elapsed().as_secs_f64();
    let allocations = counting::count() - allocations_before;
    if let Some(path) = &dump {
        r.to_ndjson(auth_anomaly::OutputKind::Records, &mut dumped);
        dumped.extend_from_slice(format!("{}\n", serde_json::to_string(&d.stats()).unwrap_or_default()).as_bytes());
        for user in option("explain").unwrap_or_default().split(',') {
            dumped.extend_from_slice(format!("{}\n", d.explain(user)).as_bytes());
        }
        if let Ok(snapshot) = d.snapshot() {
            std::fs::write(format!("{path}.snapshot"), &snapshot).expect("write snapshot");
            let restored = auth_anomaly::Detector::restore(&snapshot).expect("restore");
            dumped.extend_from_slice(
                format!("{}\n", serde_json::to_string(&restored.stats()).unwrap_or_default()).as_bytes(),
            );
        }
        std::fs::write(path, &dumped).expect("write dump");
    }
    let s = d.stats();
    println!(
        "{} events, {:.1} MB in {:.3} s: {:.0} events/s, {:.1} MB/s, {:.2} allocations/event ({} output bytes, {} alerts; {} accepted, {} filtered, {} rejected; {} chunks)",
        s.events,
        bytes.len() as f64 / 1e6,
        secs,
        s.events as f64 / secs,
        bytes.len() as f64 / 1e6 / secs,
        allocations as f64 / s.events.max(1) as f64,
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
