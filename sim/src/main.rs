//! `simorg`: writes a simulated organisation's authentication logs (NDJSON) and their truth file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use auth_anomaly_sim::{simulate, time, Config, MAX_DAYS, MAX_USERS};

const USAGE: &str = "\
Usage: simorg [--seed N] [--users N] [--days N] [--start DATE] [--out FILE.ndjson]
              [--truth FILE.json] [--no-attacks]

Writes a seeded, deterministic simulation of an organisation's authentication logs as NDJSON
(one ECS document a line, Elastic system.auth / system.security shape), sorted by @timestamp.

Options:
  --seed N        random seed (default 7)
  --users N       number of accounts, people and services (default 60; 40+ with attacks)
  --days N        length of the period in days (default 30; 21+ with attacks)
  --start DATE    start of the period: 2026-10-01 or 2026-10-01T00:00:00Z (the default)
  --out FILE      write the NDJSON to FILE instead of standard output
  --truth FILE    write the ground truth (attacks, benign novelty, profiles) as JSON to FILE
  --no-attacks    do not plant the seven attacks
  -h, --help      show this help
  -V, --version   show the version";

#[derive(Debug)]
struct Options {
    config: Config,
    out: Option<String>,
    truth: Option<String>,
}

enum Parsed {
    Run(Options),
    Help,
    Version,
}

fn number<T: std::str::FromStr>(flag: &str, value: &str, what: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{flag} expects {what}, got {value:?}"))
}

fn parse_args(args: &[String]) -> Result<Parsed, String> {
    let mut config = Config::default();
    let mut out = None;
    let mut truth = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg, None),
        };
        let takes_value = matches!(flag, "--seed" | "--users" | "--days" | "--start" | "--out" | "--truth");
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => {
                    let v = args.get(i).ok_or_else(|| format!("{flag} needs a value"))?;
                    i += 1;
                    v.clone()
                }
            }
        } else {
            if inline.is_some() {
                return Err(format!("{flag} does not take a value"));
            }
            String::new()
        };
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "--no-attacks" => config.attacks = false,
            "--seed" => config.seed = number(flag, &value, "a non-negative integer")?,
            "--users" => config.users = number(flag, &value, &format!("a number of accounts up to {MAX_USERS}"))?,
            "--days" => config.days = number(flag, &value, &format!("a number of days up to {MAX_DAYS}"))?,
            "--start" => {
                config.start_ms = time::parse_start(&value).ok_or_else(|| {
                    format!("--start expects a date like 2026-10-01 or 2026-10-01T00:00:00Z, got {value:?}")
                })?
            }
            "--out" | "--truth" => {
                if value.is_empty() {
                    return Err(format!("{flag} needs a file name"));
                }
                if flag == "--out" {
                    out = Some(value);
                } else {
                    truth = Some(value);
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(Parsed::Run(Options { config, out, truth }))
}

fn run(opts: &Options) -> Result<(), String> {
    let sim = simulate(&opts.config).map_err(|e| e.to_string())?;
    let bytes = match &opts.out {
        Some(path) => {
            let file = File::create(path).map_err(|e| format!("cannot create {path}: {e}"))?;
            sim.write_ndjson(BufWriter::new(file))
                .map_err(|e| format!("cannot write {path}: {e}"))?
        }
        None => {
            let stdout = io::stdout();
            match sim.write_ndjson(BufWriter::new(stdout.lock())) {
                Ok(n) => n,
                // `simorg | head` is fine.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(format!("cannot write to standard output: {e}")),
            }
        }
    };
    if let Some(path) = &opts.truth {
        let mut file = File::create(path).map_err(|e| format!("cannot create {path}: {e}"))?;
        file.write_all(sim.truth.to_json_pretty().as_bytes())
            .map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    eprintln!(
        "simorg: seed {} users {} days {} from {}: {} events, {} bytes{}; {} attacks, {} benign labels{}",
        opts.config.seed,
        opts.config.users,
        opts.config.days,
        sim.truth.start,
        sim.events.len(),
        bytes,
        opts.out.as_deref().map(|p| format!(" -> {p}")).unwrap_or_default(),
        sim.truth.attacks.len(),
        sim.truth.benign.len(),
        opts.truth.as_deref().map(|p| format!(" -> {p}")).unwrap_or_default(),
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Version) => {
            println!("simorg {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Parsed::Run(opts)) => match run(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("simorg: error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("simorg: error: {e}\nTry 'simorg --help' for usage.");
            ExitCode::from(2)
        }
    }
}
