//! Quick throughput check: `cargo run --release --example throughput -- FILE [jobs]`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: throughput FILE [JOB,JOB]");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("throughput: cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let config = match args.get(2) {
        Some(jobs) => {
            let list: Vec<String> = jobs.split(',').map(|j| format!("\"{j}\"")).collect();
            format!("{{\"jobs\":[{}]}}", list.join(","))
        }
        None => String::new(),
    };
    let mut d =
        auth_anomaly::Detector::new(auth_anomaly::Config::from_json(&config).expect("config")).expect("detector");
    let t = std::time::Instant::now();
    let out = d.push_ndjson(&bytes);
    let r = d.flush();
    let secs = t.elapsed().as_secs_f64();
    let s = d.stats();
    println!(
        "{} events, {:.1} MB in {:.3} s: {:.0} events/s, {:.1} MB/s ({} output bytes, {} alerts)",
        s.events,
        bytes.len() as f64 / 1e6,
        secs,
        s.events as f64 / secs,
        bytes.len() as f64 / 1e6 / secs,
        out.len(),
        r.alerts.len() + s.alerts as usize
    );
}
