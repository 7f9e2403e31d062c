//! The plugin configuration (Envoy's `configuration` string): which mode, how a guard reads the
//! user and the client address, when it rejects, and the detector configuration under `detector`.
//! Unknown fields are errors naming the field, as in the core.

use serde_json::{Map, Value};

/// What this filter instance does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `POST` NDJSON in, NDJSON out (local reply, no upstream); `GET` returns stats.
    Batch,
    /// In front of a login endpoint: score each attempt, add headers, optionally reject, learn the
    /// outcome from the upstream's response status.
    Guard,
}

/// Where a guard reads the user name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserFrom {
    /// A request header (`user_header`).
    Header,
    /// HTTP basic authentication (`Authorization: Basic …`).
    Basic,
    /// A field of a JSON request body (`json_user_field`, dotted paths allowed).
    JsonBody,
}

/// Guard-mode settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Guard {
    pub user_from: UserFrom,
    /// Lower-case header name.
    pub user_header: String,
    pub json_user_field: String,
    /// Entries at the right end of `x-forwarded-for` written by proxies you trust; 0: use the
    /// connection's peer address.
    pub trusted_hops: usize,
    /// Reject when the score reaches this (0–100); `None`: only add headers.
    pub reject_above: Option<f64>,
    /// Status of a rejection by the attempt's own score.
    pub reject_status: u32,
    /// Status of a rejection by a failed-logon spike this user or address took part in.
    pub throttle_status: u32,
    /// Path prefixes that are login attempts (empty: every request through the filter).
    pub login_paths: Vec<String>,
    /// Methods that are login attempts (empty: any), upper case.
    pub login_methods: Vec<String>,
    /// Response statuses meaning the logon succeeded / failed (inclusive ranges).
    pub success_status: Vec<(u32, u32)>,
    pub failure_status: Vec<(u32, u32)>,
    /// A response header the upstream sets to `success` / `failure`; wins over the status.
    pub outcome_header: Option<String>,
    /// Largest JSON body read for `json_body` (bytes).
    pub max_body_bytes: usize,
    /// Seconds between ticks that close ended buckets when traffic stops (0: no tick).
    pub tick_seconds: u64,
    /// How long the failed-logon job's verdict on a failed attempt applies to later attempts by the
    /// same user or from the same address (0: never).
    pub failure_window_seconds: u64,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            user_from: UserFrom::Header,
            user_header: "x-auth-user".into(),
            json_user_field: "username".into(),
            trusted_hops: 0,
            reject_above: None,
            reject_status: 403,
            throttle_status: 429,
            login_paths: Vec::new(),
            login_methods: Vec::new(),
            success_status: vec![(200, 299)],
            failure_status: vec![(401, 401), (403, 403)],
            outcome_header: None,
            max_body_bytes: 64 * 1024,
            tick_seconds: 60,
            failure_window_seconds: 900,
        }
    }
}

/// The whole plugin configuration (default: batch mode, default detector).
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    pub guard: Guard,
    /// The `detector` object, passed to `auth_anomaly::Config::from_value` (`null` when absent).
    pub detector: Value,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::Batch,
            guard: Guard::default(),
            detector: Value::Null,
        }
    }
}

const GUARD_KEYS: &[&str] = &[
    "user_from",
    "user_header",
    "json_user_field",
    "trusted_hops",
    "reject_above",
    "reject_status",
    "throttle_status",
    "login_paths",
    "login_methods",
    "success_status",
    "failure_status",
    "outcome_header",
    "max_body_bytes",
    "tick_seconds",
    "failure_window_seconds",
];

fn err(field: &str, message: impl std::fmt::Display) -> String {
    format!("`{field}`: {message}")
}

fn string(field: &str, v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| err(field, "expected a string"))
}

fn uint(field: &str, v: &Value, lo: u64, hi: u64) -> Result<u64, String> {
    match v.as_u64() {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(err(field, format!("expected an integer between {lo} and {hi}"))),
    }
}

fn strings(field: &str, v: &Value) -> Result<Vec<String>, String> {
    let arr = v.as_array().ok_or_else(|| err(field, "expected an array of strings"))?;
    arr.iter().map(|x| string(field, x)).collect()
}

/// `[200, "2xx", 302]` → inclusive ranges.
fn statuses(field: &str, v: &Value) -> Result<Vec<(u32, u32)>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| err(field, "expected an array of statuses such as [\"2xx\", 302]"))?;
    arr.iter()
        .map(|x| match x {
            Value::Number(_) => uint(field, x, 100, 599).map(|n| (n as u32, n as u32)),
            Value::String(s) => {
                let b = s.as_bytes();
                if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx") {
                    let c = u32::from(b[0] - b'0') * 100;
                    Ok((c, c + 99))
                } else {
                    Err(err(field, format!("`{s}` is not a status class such as \"2xx\"")))
                }
            }
            _ => Err(err(field, "statuses are integers (401) or classes (\"2xx\")")),
        })
        .collect()
}

fn reply_status(field: &str, v: &Value) -> Result<u32, String> {
    uint(field, v, 400, 599).map(|n| n as u32)
}

impl Settings {
    /// Parses the plugin configuration. Empty means `{"mode":"batch"}`.
    pub fn parse(bytes: &[u8]) -> Result<Settings, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| err("(root)", "not UTF-8"))?;
        if text.trim().is_empty() {
            return Ok(Settings::default());
        }
        let v: Value = serde_json::from_str(text).map_err(|e| err("(root)", format!("not valid JSON: {e}")))?;
        let obj: &Map<String, Value> = v.as_object().ok_or_else(|| err("(root)", "expected a JSON object"))?;
        let mut s = Settings::default();
        for (key, val) in obj {
            let k = key.as_str();
            let g = &mut s.guard;
            match k {
                "mode" => {
                    s.mode = match val.as_str() {
                        Some("batch") => Mode::Batch,
                        Some("guard") => Mode::Guard,
                        _ => return Err(err(k, "expected \"batch\" or \"guard\"")),
                    }
                }
                "detector" => {
                    if !val.is_object() && !val.is_null() {
                        return Err(err(k, "expected an object (the detector configuration)"));
                    }
                    s.detector = val.clone();
                }
                "user_from" => {
                    g.user_from = match val.as_str() {
                        Some("header") => UserFrom::Header,
                        Some("basic") => UserFrom::Basic,
                        Some("json_body") => UserFrom::JsonBody,
                        _ => return Err(err(k, "expected \"header\", \"basic\" or \"json_body\"")),
                    }
                }
                "user_header" => {
                    let h = string(k, val)?.to_ascii_lowercase();
                    if h.is_empty() || h.starts_with(':') {
                        return Err(err(k, "expected a header name"));
                    }
                    g.user_header = h;
                }
                "json_user_field" => {
                    g.json_user_field = string(k, val)?;
                    if g.json_user_field.is_empty() {
                        return Err(err(k, "expected a field name such as \"username\" or \"user.name\""));
                    }
                }
                "trusted_hops" => g.trusted_hops = uint(k, val, 0, 64)? as usize,
                "reject_above" => {
                    g.reject_above = match val {
                        Value::Null => None,
                        _ => match val.as_f64() {
                            Some(x) if (0.0..=100.0).contains(&x) => Some(x),
                            _ => return Err(err(k, "expected a score between 0 and 100 (or null)")),
                        },
                    }
                }
                "reject_status" => g.reject_status = reply_status(k, val)?,
                "throttle_status" => g.throttle_status = reply_status(k, val)?,
                "login_paths" => {
                    g.login_paths = strings(k, val)?;
                    if let Some(p) = g.login_paths.iter().find(|p| !p.starts_with('/')) {
                        return Err(err(k, format!("`{p}` is not a path prefix (starts with /)")));
                    }
                }
                "login_methods" => g.login_methods = strings(k, val)?.iter().map(|m| m.to_ascii_uppercase()).collect(),
                "success_status" => g.success_status = statuses(k, val)?,
                "failure_status" => g.failure_status = statuses(k, val)?,
                "outcome_header" => {
                    g.outcome_header = match val {
                        Value::Null => None,
                        _ => Some(string(k, val)?.to_ascii_lowercase()),
                    }
                }
                "max_body_bytes" => g.max_body_bytes = uint(k, val, 1, 64 << 20)? as usize,
                "tick_seconds" => g.tick_seconds = uint(k, val, 0, 86_400)?,
                "failure_window_seconds" => g.failure_window_seconds = uint(k, val, 0, 86_400)?,
                _ => {
                    return Err(err(
                        k,
                        "unknown field; expected mode, detector, or the guard fields user_from, user_header, \
                         json_user_field, trusted_hops, reject_above, reject_status, throttle_status, login_paths, \
                         login_methods, success_status, failure_status, outcome_header, max_body_bytes, tick_seconds, \
                         failure_window_seconds",
                    ))
                }
            }
        }
        if s.mode == Mode::Batch {
            if let Some(k) = obj.keys().find(|k| GUARD_KEYS.contains(&k.as_str())) {
                return Err(err(k, "is a guard-mode field; set \"mode\": \"guard\""));
            }
        }
        Ok(s)
    }
}

impl Guard {
    /// Whether a request with this method and path (query excluded) is a login attempt.
    pub fn is_login(&self, method: &str, path: &str) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or("");
        (self.login_methods.is_empty() || self.login_methods.iter().any(|m| m == method))
            && (self.login_paths.is_empty() || self.login_paths.iter().any(|p| path.starts_with(p.as_str())))
    }

    /// The outcome a response status means: `Some(true)` success, `Some(false)` failure.
    pub fn outcome_of_status(&self, status: u32) -> Option<bool> {
        let within = |ranges: &[(u32, u32)]| ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&status));
        if within(&self.failure_status) {
            Some(false)
        } else if within(&self.success_status) {
            Some(true)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_guard_fields() {
        assert_eq!(Settings::parse(b"").unwrap(), Settings::default());
        assert_eq!(Settings::parse(br#"{"mode":"batch"}"#).unwrap().mode, Mode::Batch);
        let s = Settings::parse(
            br#"{"mode":"guard","user_from":"basic","trusted_hops":2,"reject_above":90,
                "reject_status":429,"success_status":["2xx",302],"failure_status":[401],
                "login_paths":["/login"],"login_methods":["post"],"detector":{"profile":"elastic"}}"#,
        )
        .unwrap();
        assert_eq!(s.mode, Mode::Guard);
        assert_eq!(s.guard.user_from, UserFrom::Basic);
        assert_eq!(s.guard.trusted_hops, 2);
        assert_eq!(s.guard.reject_above, Some(90.0));
        assert_eq!(s.guard.reject_status, 429);
        assert_eq!(s.guard.outcome_of_status(204), Some(true));
        assert_eq!(s.guard.outcome_of_status(302), Some(true));
        assert_eq!(s.guard.outcome_of_status(401), Some(false));
        assert_eq!(s.guard.outcome_of_status(403), None);
        assert!(s.guard.is_login("POST", "/login?next=/"));
        assert!(!s.guard.is_login("GET", "/login"));
        assert!(!s.guard.is_login("POST", "/static/x.js"));
        assert_eq!(s.detector["profile"], "elastic");
    }

    #[test]
    fn errors_name_the_field() {
        for (cfg, field) in [
            (r#"{"mode":"proxy"}"#, "`mode`"),
            (r#"{"reject_above":120,"mode":"guard"}"#, "`reject_above`"),
            (r#"{"mode":"guard","reject_status":200}"#, "`reject_status`"),
            (r#"{"mode":"guard","success_status":["6xx"]}"#, "`success_status`"),
            (r#"{"mode":"guard","user_from":"cookie"}"#, "`user_from`"),
            (r#"{"mdoe":"guard"}"#, "`mdoe`"),
            (r#"{"reject_above":90}"#, "`reject_above`"),
            (r#"{"detector":[]}"#, "`detector`"),
            ("[]", "`(root)`"),
            ("{", "`(root)`"),
        ] {
            let e = Settings::parse(cfg.as_bytes()).unwrap_err();
            assert!(e.starts_with(field), "{cfg}: {e}");
        }
    }
}
