//! Detector configuration: every knob, its default, its unit, and what happens at its limit.
//!
//! Configuration is JSON (from JS, the CLI, Envoy's plugin configuration …). Unknown fields are
//! rejected with an error naming them, so a typo never silently falls back to a default.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::ingest::detect::InputFormat;
use crate::manifest::Manifest;
use crate::net::Cidr;
use crate::time::{parse_duration_ms, DAY_MS};

/// The job id of the unusual-source-IP job.
pub const RARE_SOURCE_IP_JOB: &str = "auth_rare_source_ip_for_a_user";

/// Jobs this build implements: all six of Elastic's `security_auth` module.
pub const IMPLEMENTED_JOBS: &[&str] = &[
    RARE_SOURCE_IP_JOB,
    crate::related::RARE_USER_JOB,
    crate::related::RARE_HOUR_JOB,
    crate::related::FAILS_JOB,
    crate::related::SUCCESSES_JOB,
    crate::related::SOURCE_IP_SPIKE_JOB,
];

/// Which scoring maths a job uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Ours (default): alerts on a new address for an ordinary stable user after its learning
    /// period; quiet on DHCP renumbering, VPN pools, roaming users and cold start.
    Adaptive,
    /// Elastic's published maths (Dirichlet rare model, quantile normaliser), for parity.
    Elastic,
}

/// What `push_ndjson` returns.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Alerts only (default): what a pipeline ships.
    Alerts,
    /// Every anomaly record (and the alerts among them).
    Records,
    /// One verdict per input event, plus rejections.
    Verdicts,
}

/// The detector's configuration. Build it with [`Config::from_json`] or start from
/// [`Config::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// `profile`: `"adaptive"` (default) or `"elastic"`.
    pub profile: Profile,
    /// `jobs`: job ids to run. Default: every job enabled in `pkg.json` that this build implements.
    pub jobs: Vec<String>,
    /// `output`: what `push_ndjson` returns — `"alerts"` (default), `"records"`, `"verdicts"`.
    pub output: OutputKind,
    /// `anomaly_threshold`: overrides every rule's threshold (0–100). Default: the rule's own (75).
    pub anomaly_threshold: Option<f64>,
    /// `suppression_window`: one alert per (rule, user, source network: the address's /24, IPv6
    /// /64) per this window. Default `"24h"`;
    /// `"0s"` disables suppression. Unit: a duration string or milliseconds.
    pub suppression_window_ms: i64,
    /// `learning_days`: a user's history must span this many days before their novelty can alert
    /// (they are reported as `learning` until then). Default 7. Range 0–365.
    pub learning_days: f64,
    /// `min_active_days`: and they must have been active on at least this many distinct days.
    /// Default 3. Range 0–365.
    pub min_active_days: u32,
    /// `allowlist`: CIDR blocks (or addresses) whose logons never alert, e.g. a corporate VPN
    /// egress. Default empty. At most 10 000 entries.
    pub allowlist: Vec<Cidr>,
    /// `model_prune_window`: an address unused by a user for this long is forgotten and is new again
    /// if it returns (Elastic's default `30d`). Range 1d–3650d.
    pub model_prune_window_ms: i64,
    /// `max_lateness`: an event older than the open bucket by at most this much is added to the open
    /// bucket (and counted `late`); older ones are rejected `too_late`. Default `"15m"` (one bucket).
    pub max_lateness_ms: i64,
    /// `max_clock_step`: an event further ahead of the stream's clock than this is rejected
    /// `too_far_in_future` instead of closing every bucket in between and ageing the model.
    /// Default `"365d"`.
    pub max_clock_step_ms: i64,
    /// `max_line_bytes`: NDJSON lines longer than this are rejected `line_too_long` without being
    /// parsed. Default 1 048 576 (1 MiB). Range 1 KiB–64 MiB.
    pub max_line_bytes: usize,
    /// `max_addresses_per_user`: per-user address history is capped; beyond it the least recently
    /// used address is forgotten (and is new again if it returns). Default 256. Range 4–65 535.
    pub max_addresses_per_user: usize,
    /// `format`: input lines are `"auto"` (default: recognised per line), `"ecs"` (ECS JSON),
    /// `"syslog"` (raw sshd/PAM lines) or `"evtx"` (Windows Security evtx JSON / winlogbeat).
    pub format: InputFormat,
    /// `reference_time`: the time year-less syslog timestamps (`Mar  4 07:01:02`) are read
    /// relative to — RFC 3339 or epoch ms; usually "now" or the file's modification time. Default:
    /// the stream clock (the open bucket), or 1970 before any event: hosts should set it.
    pub reference_time_ms: Option<i64>,
    /// `syslog_utc_offset_minutes`: the zone of year-less syslog timestamps, minutes east of UTC.
    /// Default 0 (UTC). Range ±1440.
    pub syslog_utc_offset_minutes: i32,
    /// `allowlist_users`: `user.name` patterns (`*` matches any run of characters, e.g. `svc-*`)
    /// whose logons never alert on the rare-address rule. Default empty. At most 10 000.
    pub allowlist_users: Vec<String>,
    /// `known_networks`: named CIDR ranges (`[{"name":"vpn","cidr":["10.8.0.0/16"]}]`), each
    /// treated as one place for novelty. Default empty. At most 1 000 networks.
    pub known_networks: Vec<KnownNetwork>,
    /// `model_memory_limit`: the detector's whole model state (all six jobs) is kept at or under
    /// this many bytes by evicting the least recently active users (they relearn, as after
    /// Elastic's pruning; `stats().evictions` counts them). Default: the rare-address job's
    /// `model_memory_limit` in pkg.json (`128mb`). Accepts `"64mb"`, `"1gb"`, `"500kb"` or bytes;
    /// range 1 MiB–64 GiB.
    pub model_memory_limit_bytes: u64,
    /// `failed_spike_min_distinct_users`: a failed-logon spike is written (and can alert) only if at
    /// least this many distinct accounts failed in its bucket (e.g. 3 to ignore one misconfigured
    /// service hammering one account; cf. elastic/detection-rules#5516). Default 1. Range 1–10 000.
    pub failed_spike_min_distinct_users: usize,
    /// `output_format`: alerts as Elastic ML alerts (`"elastic"`, default) or as OCSF Detection
    /// Findings (`"ocsf"`, class 2004, the logon as Authentication evidence).
    pub output_format: OutputFormat,
    /// `suppression_windows`: per-rule overrides of `suppression_window`, keyed by job id
    /// (`{"auth_rare_user":"7d"}`). Default none.
    pub suppression_windows: Vec<(String, i64)>,
}

/// The shape of alert documents.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Elastic's ML alert (Kibana `kibana.alert.*` fields).
    Elastic,
    /// OCSF Detection Finding (class 2004).
    Ocsf,
}

/// A named network the organisation knows (its VPN pool, offices, cloud egress).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnownNetwork {
    /// Name shown in explanations.
    pub name: String,
    /// Its ranges.
    pub cidrs: Vec<Cidr>,
}

/// Parses Elastic's memory sizes: `128mb`, `1gb`, `500kb`, `1024b` (binary units, as Elasticsearch).
pub fn parse_memory(s: &str) -> Option<u64> {
    let t = s.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit {
        "b" => 1,
        "kb" | "k" => 1 << 10,
        "mb" | "m" => 1 << 20,
        "gb" | "g" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Whether `name` matches a pattern where `*` stands for any run of characters.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

impl Default for Config {
    fn default() -> Self {
        Config {
            profile: Profile::Adaptive,
            jobs: default_jobs(),
            output: OutputKind::Alerts,
            anomaly_threshold: None,
            suppression_window_ms: DAY_MS,
            learning_days: 7.0,
            min_active_days: 3,
            allowlist: Vec::new(),
            model_prune_window_ms: 30 * DAY_MS,
            max_lateness_ms: 15 * 60_000,
            max_clock_step_ms: 365 * DAY_MS,
            max_line_bytes: 1 << 20,
            max_addresses_per_user: 256,
            format: InputFormat::Auto,
            reference_time_ms: None,
            syslog_utc_offset_minutes: 0,
            allowlist_users: Vec::new(),
            known_networks: Vec::new(),
            suppression_windows: Vec::new(),
            output_format: OutputFormat::Elastic,
            failed_spike_min_distinct_users: 1,
            model_memory_limit_bytes: Manifest::embedded()
                .job(RARE_SOURCE_IP_JOB)
                .and_then(|j| parse_memory(&j.model_memory_limit))
                .unwrap_or(128 << 20),
        }
    }
}

fn default_jobs() -> Vec<String> {
    Manifest::embedded()
        .jobs
        .iter()
        .filter(|j| j.enabled && IMPLEMENTED_JOBS.contains(&j.job_id.as_str()))
        .map(|j| j.job_id.clone())
        .collect()
}

fn err(field: &str, message: impl Into<String>) -> Error {
    Error::Config {
        field: field.to_string(),
        message: message.into(),
    }
}

fn duration(field: &str, v: &Value) -> Result<i64> {
    match v {
        Value::Number(n) => n.as_i64().filter(|ms| *ms >= 0).ok_or_else(|| {
            err(
                field,
                "expected a non-negative number of milliseconds or a duration such as \"24h\"",
            )
        }),
        Value::String(s) => parse_duration_ms(s).ok_or_else(|| {
            err(
                field,
                format!("`{s}` is not a duration; use e.g. \"900s\", \"15m\", \"24h\", \"30d\""),
            )
        }),
        _ => Err(err(field, "expected a duration string such as \"24h\" or milliseconds")),
    }
}

fn number(field: &str, v: &Value, lo: f64, hi: f64) -> Result<f64> {
    let x = v
        .as_f64()
        .ok_or_else(|| err(field, format!("expected a number between {lo} and {hi}")))?;
    if !(lo..=hi).contains(&x) {
        return Err(err(field, format!("{x} is out of range; expected {lo}–{hi}")));
    }
    Ok(x)
}

fn ranged(field: &str, ms: i64, lo: i64, hi: i64, human: &str) -> Result<i64> {
    if ms < lo || ms > hi {
        return Err(err(field, format!("out of range; expected {human}")));
    }
    Ok(ms)
}

impl Config {
    /// Parses a JSON configuration object; absent fields keep their defaults. An empty string or
    /// `null` gives the default configuration.
    pub fn from_json(text: &str) -> Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let v: Value = serde_json::from_str(text).map_err(|e| err("(root)", format!("not valid JSON: {e}")))?;
        Config::from_value(&v)
    }

    /// Like [`Config::from_json`], from a parsed value.
    pub fn from_value(v: &Value) -> Result<Config> {
        let mut c = Config::default();
        let obj = match v {
            Value::Null => return Ok(c),
            Value::Object(o) => o,
            _ => return Err(err("(root)", "expected a JSON object")),
        };
        for (key, val) in obj {
            let k = key.as_str();
            match k {
                "profile" => {
                    c.profile = match val.as_str() {
                        Some("adaptive") => Profile::Adaptive,
                        Some("elastic") => Profile::Elastic,
                        _ => return Err(err(k, "expected \"adaptive\" or \"elastic\"")),
                    }
                }
                "jobs" => {
                    let arr = val.as_array().ok_or_else(|| err(k, "expected an array of job ids"))?;
                    let manifest = Manifest::embedded();
                    let mut jobs = Vec::new();
                    for j in arr {
                        let id = j.as_str().ok_or_else(|| err(k, "job ids are strings"))?;
                        if manifest.job(id).is_none() {
                            let known: Vec<&str> = manifest.jobs.iter().map(|j| j.job_id.as_str()).collect();
                            return Err(err(k, format!("unknown job `{id}`; known jobs: {}", known.join(", "))));
                        }
                        if !IMPLEMENTED_JOBS.contains(&id) {
                            return Err(err(k, format!("job `{id}` is defined in pkg.json but not implemented in this build")));
                        }
                        if !jobs.iter().any(|x: &String| x == id) {
                            jobs.push(id.to_string());
                        }
                    }
                    c.jobs = jobs;
                }
                "output" => {
                    c.output = match val.as_str() {
                        Some("alerts") => OutputKind::Alerts,
                        Some("records") => OutputKind::Records,
                        Some("verdicts") => OutputKind::Verdicts,
                        _ => return Err(err(k, "expected \"alerts\", \"records\" or \"verdicts\"")),
                    }
                }
                "anomaly_threshold" => {
                    c.anomaly_threshold = if val.is_null() { None } else { Some(number(k, val, 0.0, 100.0)?) }
                }
                "suppression_window" => c.suppression_window_ms = ranged(k, duration(k, val)?, 0, 365 * DAY_MS, "0s–365d")?,
                "learning_days" => c.learning_days = number(k, val, 0.0, 365.0)?,
                "min_active_days" => c.min_active_days = number(k, val, 0.0, 365.0)? as u32,
                "allowlist" => {
                    let arr = val.as_array().ok_or_else(|| err(k, "expected an array of CIDR strings"))?;
                    if arr.len() > 10_000 {
                        return Err(err(k, "at most 10000 entries"));
                    }
                    c.allowlist = arr
                        .iter()
                        .map(|e| {
                            e.as_str()
                                .and_then(Cidr::parse)
                                .ok_or_else(|| err(k, format!("`{e}` is not a CIDR block such as \"10.8.0.0/16\"")))
                        })
                        .collect::<Result<_>>()?;
                }
                "model_prune_window" => c.model_prune_window_ms = ranged(k, duration(k, val)?, DAY_MS, 3650 * DAY_MS, "1d–3650d")?,
                "max_lateness" => c.max_lateness_ms = ranged(k, duration(k, val)?, 0, 30 * DAY_MS, "0s–30d")?,
                "max_clock_step" => c.max_clock_step_ms = ranged(k, duration(k, val)?, 15 * 60_000, 36_500 * DAY_MS, "15m–36500d")?,
                "max_line_bytes" => c.max_line_bytes = number(k, val, 1024.0, 67_108_864.0)? as usize,
                                "max_addresses_per_user" => c.max_addresses_per_user = number(k, val, 4.0, 65_535.0)? as usize,
                "format" => {
                    c.format = match val.as_str() {
                        Some("auto") => InputFormat::Auto,
                        Some("ecs") => InputFormat::Ecs,
                        Some("syslog") => InputFormat::Syslog,
                        Some("evtx") => InputFormat::Evtx,
                        _ => return Err(err(k, "expected \"auto\", \"ecs\", \"syslog\" or \"evtx\"")),
                    }
                }
                "reference_time" => {
                    c.reference_time_ms = match val {
                        Value::Null => None,
                        Value::Number(n) => Some(n.as_i64().ok_or_else(|| err(k, "expected epoch milliseconds"))?),
                        Value::String(t) => Some(
                            crate::time::parse_rfc3339_ms(t)
                                .ok_or_else(|| err(k, format!("`{t}` is not an RFC 3339 time")))?,
                        ),
                        _ => return Err(err(k, "expected an RFC 3339 string or epoch milliseconds")),
                    }
                }
                                "syslog_utc_offset_minutes" => c.syslog_utc_offset_minutes = number(k, val, -1440.0, 1440.0)? as i32,
                "allowlist_users" => {
                    let arr = val.as_array().ok_or_else(|| err(k, "expected an array of user.name patterns"))?;
                    if arr.len() > 10_000 {
                        return Err(err(k, "at most 10000 entries"));
                    }
                    c.allowlist_users = arr
                        .iter()
                        .map(|e| e.as_str().map(str::to_string).ok_or_else(|| err(k, "patterns are strings such as \"svc-*\"")))
                        .collect::<Result<_>>()?;
                }
                "known_networks" => {
                    let arr = val.as_array().ok_or_else(|| err(k, "expected [{\"name\": …, \"cidr\": [\"10.8.0.0/16\"]}]"))?;
                    if arr.len() > 1000 {
                        return Err(err(k, "at most 1000 networks"));
                    }
                    c.known_networks = arr
                        .iter()
                        .map(|n| {
                            let name = n["name"].as_str().ok_or_else(|| err(k, "each network needs a \"name\""))?;
                            let cidrs = match &n["cidr"] {
                                Value::String(one) => vec![one.clone()],
                                Value::Array(many) => many.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                                _ => return Err(err(k, format!("network `{name}` needs \"cidr\": a CIDR string or array"))),
                            };
                            let cidrs = cidrs
                                .iter()
                                .map(|c| Cidr::parse(c).ok_or_else(|| err(k, format!("`{c}` in `{name}` is not a CIDR block"))))
                                .collect::<Result<Vec<_>>>()?;
                            Ok(KnownNetwork { name: name.to_string(), cidrs })
                        })
                        .collect::<Result<_>>()?;
                }
                                                "output_format" | "outputFormat" => {
                    c.output_format = match val.as_str() {
                        Some("elastic") => OutputFormat::Elastic,
                        Some("ocsf") => OutputFormat::Ocsf,
                        _ => return Err(err(k, "expected \"elastic\" or \"ocsf\"")),
                    }
                }
                                "failed_spike_min_distinct_users" => {
                    c.failed_spike_min_distinct_users = number(k, val, 1.0, 10_000.0)? as usize
                }
                "model_memory_limit" => {
                    let bytes = match val {
                        Value::Number(n) => n.as_u64(),
                        Value::String(t) => parse_memory(t),
                        _ => None,
                    }
                    .ok_or_else(|| err(k, "expected a size such as \"128mb\" or a number of bytes"))?;
                    if !(1 << 20..=64 << 30).contains(&bytes) {
                        return Err(err(k, "out of range; expected 1mb–64gb"));
                    }
                    c.model_memory_limit_bytes = bytes;
                }
                "suppression_windows" => {
                    let obj = val.as_object().ok_or_else(|| err(k, "expected {\"job_id\": \"24h\", …}"))?;
                    let mut windows = Vec::new();
                    for (job, w) in obj {
                        if Manifest::embedded().job(job).is_none() {
                            return Err(err(k, format!("unknown job `{job}`")));
                        }
                        windows.push((job.clone(), ranged(k, duration(k, w)?, 0, 365 * DAY_MS, "0s–365d")?));
                    }
                    c.suppression_windows = windows;
                }
                _ => {
                    return Err(err(
                        k,
                        "unknown field; known fields: profile, jobs, output, anomaly_threshold, suppression_window, learning_days, min_active_days, allowlist, model_prune_window, max_lateness, max_clock_step, max_line_bytes, max_addresses_per_user, format, reference_time, syslog_utc_offset_minutes, allowlist_users, known_networks, suppression_windows, model_memory_limit, output_format, failed_spike_min_distinct_users",
                    ))
                }
            }
        }
        Ok(c)
    }

    /// The suppression window of a job's rule, ms.
    pub fn suppression_window_for(&self, job_id: &str) -> i64 {
        self.suppression_windows
            .iter()
            .find(|(j, _)| j == job_id)
            .map_or(self.suppression_window_ms, |(_, w)| *w)
    }

    /// Whether a job is enabled.
    pub fn job_enabled(&self, job_id: &str) -> bool {
        self.jobs.iter().any(|j| j == job_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c =
            Config::from_json(r#"{"profile":"elastic","suppression_window":"1h","allowlist":["10.0.0.0/8"]}"#).unwrap();
        assert_eq!(c.profile, Profile::Elastic);
        assert_eq!(c.suppression_window_ms, 3_600_000);
        assert_eq!(c.allowlist.len(), 1);
        assert_eq!(Config::from_json("").unwrap(), Config::default());
    }

    #[test]
    fn controls_parse() {
        let c = Config::from_json(
            r#"{"allowlist_users":["svc-*"],"known_networks":[{"name":"vpn","cidr":["10.99.0.0/16"]}],"suppression_windows":{"auth_rare_user":"7d"}}"#,
        )
        .unwrap();
        assert_eq!(c.known_networks[0].name, "vpn");
        assert_eq!(c.suppression_window_for("auth_rare_user"), 7 * DAY_MS);
        assert_eq!(c.suppression_window_for("auth_rare_source_ip_for_a_user"), DAY_MS);
        assert!(glob_match("svc-*", "svc-backup"));
        assert!(glob_match("*admin*", "corp-admin-1"));
        assert!(!glob_match("svc-*", "alice"));
        assert!(glob_match("alice", "alice"));
        assert!(!glob_match("a*b*c", "abx"));
    }

    #[test]
    fn errors_name_the_field() {
        for (text, field) in [
            (r#"{"profile":"fast"}"#, "profile"),
            (r#"{"learning_days":-1}"#, "learning_days"),
            (r#"{"allowlist":["10.0.0.0/99"]}"#, "allowlist"),
            (r#"{"suppresion_window":"1h"}"#, "suppresion_window"),
            (r#"{"jobs":["nope"]}"#, "jobs"),
            (r#"{"suppression_window":"forever"}"#, "suppression_window"),
        ] {
            match Config::from_json(text) {
                Err(Error::Config { field: f, .. }) => assert_eq!(f, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
