//! # auth-anomaly
//!
//! Finds a user logging on from a source IP that is unusual for that user — Elastic Security's
//! "Unusual Source IP for a User to Logon from" (ML job `auth_rare_source_ip_for_a_user`, rule
//! threshold 75) — in real time, in any pipeline that can load WebAssembly, with every verdict
//! explained.
//!
//! The core (this crate without feature `js`) is host-neutral: no wasm-bindgen, no I/O, no clock.
//! It compiles for `wasm32-unknown-unknown`, `wasm32-wasip1` and native targets; thin adapters
//! (`js` here, `hosts/*` in the repository) convert each host's bytes to its calls.
//!
//! ## Quick start
//! ```
//! use auth_anomaly::{Config, Detector};
//!
//! let mut detector = Detector::new(Config::default()).unwrap();
//! // Fourteen days of alice logging on from her desk, twice a day.
//! let day = 86_400_000i64;
//! let t0 = 1_790_000_000_000i64; // 2026-09-21
//! let mut input = String::new();
//! for d in 0..14 {
//!     for h in [9, 14] {
//!         let ts = auth_anomaly::time::format_rfc3339_ms(t0 + d * day + h * 3_600_000);
//!         input.push_str(&format!(
//!             r#"{{"@timestamp":"{ts}","event":{{"category":"authentication","outcome":"success"}},"user":{{"name":"alice"}},"source":{{"ip":"10.1.2.3"}}}}"#
//!         ));
//!         input.push('\n');
//!     }
//! }
//! // Then a logon from an address in a network she has never used.
//! let ts = auth_anomaly::time::format_rfc3339_ms(t0 + 14 * day + 10 * 3_600_000);
//! input.push_str(&format!(
//!     r#"{{"@timestamp":"{ts}","event":{{"category":"authentication","outcome":"success"}},"user":{{"name":"alice"}},"source":{{"ip":"185.220.101.4"}}}}"#
//! ));
//! detector.push_ndjson(input.as_bytes());
//! let results = detector.flush();
//! assert_eq!(results.alerts.len(), 1);
//! let alert = &results.alerts[0];
//! assert_eq!(alert["kibana.alert.rule.rule_id"], "d4b73fa0-9d43-465e-b8bf-50230da6718b");
//! assert!(alert["record_score"].as_f64().unwrap() >= 75.0);
//! println!("{}", alert["kibana.alert.reason"]);
//! ```
//!
//! ## Data flow
//! bytes → [`ingest`] (parse, normalise to [`AuthEvent`] or a counted [`Rejection`]) → datafeed
//! filter → 15-minute epoch-aligned bucket → [`model`] (per-user state) → probability → score →
//! [`AnomalyRecord`] → rule (threshold, suppression) → alert.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod detector;
pub mod error;
pub mod event;
pub mod ingest;
pub mod manifest;
pub mod model;
pub mod net;
pub mod ocsf;
pub mod output;
pub mod related;
pub mod snapshot;
mod sort;
pub mod stats;
mod text;
pub mod time;

#[cfg(feature = "js")]
pub mod js;

pub use config::{Config, OutputKind, Profile};
pub use detector::{Detector, Results};
pub use error::{Error, Result};
pub use event::{AuthEvent, Outcome};
pub use ingest::{RejectReason, Rejection};
pub use manifest::Manifest;
pub use output::{AnomalyRecord, Verdict};
pub use stats::Stats;

/// The hash map of the model and the engine: `std`'s table with foldhash instead of SipHash
/// (a quarter of the hashing cost; per-process random seeds as before, so no output depends on
/// iteration order).
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The unit tests' pseudo-random numbers: xorshift64 (Marsaglia) from `seed` (not zero), so that
/// a generated case reproduces without a dependency.
#[cfg(test)]
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
