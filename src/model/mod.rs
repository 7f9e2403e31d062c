//! Job models: per-partition state and scoring. Host-neutral, driven by closed buckets.

pub mod compact;
pub mod counts;
pub mod elastic_math;
pub mod elastic_rare;
pub mod packed;
pub mod rare_hour;
pub mod rare_ip;
pub mod rare_user;
