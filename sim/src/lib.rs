//! # auth-anomaly-sim
//!
//! A seeded, deterministic simulator of an organisation's authentication logs, with labelled
//! attacks and labelled benign novelty, for testing and demonstrating `auth-anomaly`.
//!
//! The output is NDJSON, one ECS document per line, shaped like Elastic's `system.auth` (OpenSSH,
//! `event.action: ssh_login`) and `system.security` (Windows events 4624/4625 with
//! `winlog.event_data.LogonType` 3 or 10) data streams, sorted by `@timestamp`. Next to it a
//! [`Truth`] records every planted attack and every labelled benign novelty with its accounts,
//! source address and time window, and every account's profile.
//!
//! ## The organisation
//!
//! * **Office workers** sit at a desk with their own address in their department's office /24
//!   (`10.20.<dept>.<n>`), work about 08:00–18:00 local time on weekdays in one of a few time
//!   zones, log on a few times a day to a few servers, and about half of them work from home
//!   (an address in an ISP /16 such as `81.140.x.y`) on one fixed weekday. About 30% have their
//!   workstation renumbered by DHCP inside the same /24 every 8–12 days.
//! * **VPN users** get an address from the pool `10.99.0.0/16` most days; pool addresses come back
//!   to other users over time.
//! * **Travellers** are office workers who make 1–2 trips of 2–4 days, logging on from several
//!   addresses of a hotel or foreign ISP network nobody else uses.
//! * **Service accounts** log on every 15 minutes, 24/7, from one or two fixed server addresses;
//!   one of them (`svc-legacy-sync`) always fails a little.
//! * **New hires** start part-way through the period; one **dormant** account is used only on
//!   the first two days.
//! * About 3% of people's logons are preceded by a typo failure.
//!
//! ## The attacks
//!
//! Unless disabled, seven attacks are planted after day 10 (victims of the rare-source-IP attacks
//! have at least seven days of history): `stolen_credentials_outside`,
//! `lateral_movement_colleague_desk`, `brute_force`, `password_spray`,
//! `credential_replay_one_desk`, `off_hours_logon` and `dormant_account` (see [`LabelType`]).
//! Benign novelty a detector should not alert on is labelled `benign_dhcp_renumbering`,
//! `benign_vpn_pool_rotation` and `benign_travel`.
//!
//! Attacks draw from their own random stream: the run without attacks contains exactly the same
//! benign events, byte for byte, in the same order.
//!
//! ## Quick start
//!
//! ```
//! use auth_anomaly_sim::{simulate, Config, LabelType};
//!
//! let sim = simulate(&Config { users: 40, days: 21, ..Config::default() })?;
//!
//! // One compact ECS JSON document per line, in time order.
//! let ndjson = sim.to_ndjson();
//! let first: serde_json::Value = serde_json::from_str(ndjson.lines().next().unwrap())?;
//! assert_eq!(first["event"]["category"][0], "authentication");
//!
//! // The ground truth: which events are attacks.
//! let brute = sim.truth.attacks.iter().find(|a| a.kind == LabelType::BruteForce).unwrap();
//! assert!(brute.events > 300);
//! println!("{} events, brute force from {} at {}", sim.events.len(), brute.source_ip, brute.start);
//!
//! // Same seed, same bytes.
//! assert_eq!(ndjson, simulate(&Config { users: 40, days: 21, ..Config::default() })?.to_ndjson());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! From the command line: `simorg --seed 7 --out org.ndjson --truth org.truth.json`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attacks;
mod event;
mod org;
pub mod rng;
pub mod time;
mod traffic;
mod truth;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};

pub use event::{Channel, Event, Host, HOSTS, WINDOWS_DOMAIN};
pub use org::NOISY_SERVICE;
pub use truth::{Label, LabelType, Truth};

/// The smallest organisation that can be simulated.
pub const MIN_USERS: usize = 10;
/// The smallest organisation that can host all seven attacks (the spray needs 40 accounts).
pub const MIN_USERS_WITH_ATTACKS: usize = 40;
/// The largest organisation.
pub const MAX_USERS: usize = 5_000;
/// The shortest period with attacks (they start after day 10, dormant account about day 25).
pub const MIN_DAYS_WITH_ATTACKS: u32 = 21;
/// The longest period.
pub const MAX_DAYS: u32 = 366;

/// 2026-10-01T00:00:00Z, the default start.
pub const DEFAULT_START_MS: i64 = 1_790_812_800_000;

/// What to simulate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Seed of every random choice. Same config, same output bytes.
    pub seed: u64,
    /// Number of accounts (people and services).
    pub users: usize,
    /// Length of the period in days.
    pub days: u32,
    /// Start of the period, epoch milliseconds (UTC).
    pub start_ms: i64,
    /// Plant the seven attacks.
    pub attacks: bool,
}

impl Default for Config {
    /// Seed 7, 60 accounts, 30 days from 2026-10-01T00:00:00Z, with attacks.
    fn default() -> Self {
        Config {
            seed: 7,
            users: 60,
            days: 30,
            start_ms: DEFAULT_START_MS,
            attacks: true,
        }
    }
}

/// A [`Config`] that cannot be simulated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let min_users = if self.attacks {
            MIN_USERS_WITH_ATTACKS
        } else {
            MIN_USERS
        };
        if !(min_users..=MAX_USERS).contains(&self.users) {
            return Err(ConfigError(format!(
                "users must be between {min_users} and {MAX_USERS}{} (got {})",
                if self.attacks {
                    " with attacks; --no-attacks allows 10"
                } else {
                    ""
                },
                self.users
            )));
        }
        let min_days = if self.attacks { MIN_DAYS_WITH_ATTACKS } else { 1 };
        if !(min_days..=MAX_DAYS).contains(&self.days) {
            return Err(ConfigError(format!(
                "days must be between {min_days} and {MAX_DAYS}{} (got {})",
                if self.attacks {
                    " with attacks; --no-attacks allows 1"
                } else {
                    ""
                },
                self.days
            )));
        }
        // 1970-01-01 .. 9000-01-01 keeps every timestamp printable as a 4-digit year.
        if !(0..=221_845_392_000_000).contains(&self.start_ms) {
            return Err(ConfigError(format!(
                "start must be between 1970-01-01 and 9000-01-01 (got {} ms)",
                self.start_ms
            )));
        }
        Ok(())
    }
}

/// A simulated run: the events in time order and the ground truth.
#[derive(Clone, Debug)]
pub struct Simulation {
    /// All events, sorted by time (ties keep a stable generation order).
    pub events: Vec<Event>,
    /// Attacks, benign novelty and profiles.
    pub truth: Truth,
}

impl Simulation {
    /// Writes the events as NDJSON (one compact ECS document per line). Returns the bytes written.
    pub fn write_ndjson<W: Write>(&self, out: W) -> io::Result<u64> {
        let mut out = CountingWriter { inner: out, bytes: 0 };
        for e in &self.events {
            e.write_json(&mut out)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        Ok(out.bytes)
    }

    /// The events as one NDJSON string.
    pub fn to_ndjson(&self) -> String {
        let mut buf = Vec::with_capacity(self.events.len() * 260);
        if self.write_ndjson(&mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// The events of attack `index` (into `truth.attacks`).
    pub fn attack_events(&self, index: usize) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(move |e| e.attack == Some(index))
    }
}

struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Simulates the organisation described by `cfg`.
pub fn simulate(cfg: &Config) -> Result<Simulation, ConfigError> {
    cfg.validate()?;
    let org = org::plan(cfg);
    let mut events = traffic::benign_events(cfg.seed, &org);
    let benign = traffic::benign_labels(&org, &events);

    let mut attacks = Vec::new();
    if cfg.attacks {
        for (k, planned) in attacks::plan(cfg.seed, &org, &events).into_iter().enumerate() {
            let mut evs = planned.events;
            evs.retain(|e| (org.start_ms..org.end_ms).contains(&e.timestamp_ms));
            let (Some(start), Some(end)) = (
                evs.iter().map(|e| e.timestamp_ms).min(),
                evs.iter().map(|e| e.timestamp_ms).max(),
            ) else {
                continue;
            };
            let index = attacks.len();
            attacks.push(Label {
                id: format!("A{}", k + 1),
                kind: planned.kind,
                users: planned.users,
                source_ip: planned.ip.to_string(),
                start_ms: start,
                end_ms: end,
                start: time::format_rfc3339(start),
                end: time::format_rfc3339(end),
                events: evs.len(),
                successes: evs.iter().filter(|e| e.success).count(),
                description: planned.description,
            });
            events.extend(evs.into_iter().map(|mut e| {
                e.attack = Some(index);
                e
            }));
        }
    }
    // Stable: equal timestamps keep generation order (benign person by person, then attacks).
    events.sort_by_key(|e| e.timestamp_ms);

    let profiles: BTreeMap<String, String> = org
        .people
        .iter()
        .map(|p| (p.name.clone(), p.profile.as_str().to_string()))
        .collect();
    let truth = Truth {
        seed: cfg.seed,
        users: cfg.users,
        days: cfg.days,
        start: time::format_rfc3339(cfg.start_ms),
        attacks,
        benign,
        profiles,
    };
    Ok(Simulation { events, truth })
}
