//! # auth-anomaly for Envoy (proxy-wasm)
//!
//! A thin adapter between Envoy's HTTP filter and the auth-anomaly core: no detection logic here,
//! only conversion. Two modes, chosen by the plugin configuration (root id `auth_anomaly`):
//!
//! - **batch**: `POST` an NDJSON body (any format the core accepts) → a local `200` reply with the
//!   NDJSON the core returns (`push_ndjson`, then `flush`); `GET` → the detector's stats as JSON.
//! - **guard**: in front of a login endpoint. Each attempt (user from a header, HTTP basic auth or a
//!   JSON body field; client address from `x-forwarded-for` or the peer) is scored as a successful
//!   logon *without being learnt*, the score and reason go upstream as `x-auth-anomaly-score` /
//!   `x-auth-anomaly-reason`, and a score at or above `reject_above` is answered locally. The
//!   upstream's response status tells the outcome, which is what the detector learns.
//!
//! State lives in the Wasm VM, i.e. per Envoy worker thread. Filter instances in the same VM (same
//! `vm_id` and code) whose `detector` configurations are equal (ignoring `output`) share one
//! detector, so a batch listener can feed the history a guard listener scores against.

mod request;
mod settings;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_anomaly::related::FAILS_JOB;
use auth_anomaly::{AuthEvent, Config, Detector, Error, Outcome, OutputKind, Results, Verdict};
use log::{error, info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use serde_json::{json, Value};

use request::{basic_auth_user, clean_user, client_address, format_score, header_value, json_body_user};
use settings::{Mode, Settings, UserFrom};

const SCORE_HEADER: &str = "x-auth-anomaly-score";
const REASON_HEADER: &str = "x-auth-anomaly-reason";
/// Alerts the guard produced, kept for `GET` on a batch endpoint (they are also logged).
const RECENT_ALERTS: usize = 100;
const MAX_STRIKES: usize = 10_000;
const MAX_REASON_BYTES: usize = 512;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// The latest failed-logon spike verdict a user or an address took part in.
struct Strike {
    score: f64,
    reason: String,
    until_ms: i64,
}

/// One detector and what the adapter keeps beside it.
struct Model {
    detector: Detector,
    recent_alerts: VecDeque<Value>,
    /// `u:<user>` / `a:<address>` → strike.
    strikes: HashMap<String, Strike>,
}

impl Model {
    /// Hands over what closed buckets produced: alerts are logged (warn) and kept for `GET`.
    fn drain(&mut self, results: Results) {
        for alert in results.alerts {
            warn!("auth-anomaly alert: {alert}");
            if self.recent_alerts.len() == RECENT_ALERTS {
                self.recent_alerts.pop_front();
            }
            self.recent_alerts.push_back(alert);
        }
    }

    fn strike_keys(user: &str, ip: Option<IpAddr>) -> [Option<String>; 2] {
        [Some(format!("u:{user}")), ip.map(|ip| format!("a:{ip}"))]
    }

    /// The strongest live strike on this user or address.
    fn strike(&self, user: &str, ip: Option<IpAddr>, now: i64) -> Option<&Strike> {
        Self::strike_keys(user, ip)
            .into_iter()
            .flatten()
            .filter_map(|k| self.strikes.get(&k))
            .filter(|s| s.until_ms > now)
            .max_by(|a, b| a.score.total_cmp(&b.score))
    }

    /// Attaches the failed-logon job's verdict for a failed attempt to its user and address (the
    /// latest verdict wins: a new bucket starts the count again).
    fn set_strike(&mut self, user: &str, ip: Option<IpAddr>, score: f64, reason: &str, now: i64, window_ms: i64) {
        for key in Self::strike_keys(user, ip).into_iter().flatten() {
            if score <= 0.0 || window_ms == 0 {
                self.strikes.remove(&key);
                continue;
            }
            if self.strikes.len() >= MAX_STRIKES && !self.strikes.contains_key(&key) {
                self.strikes.retain(|_, s| s.until_ms > now);
                if self.strikes.len() >= MAX_STRIKES {
                    if let Some(oldest) = self
                        .strikes
                        .iter()
                        .min_by_key(|(_, s)| s.until_ms)
                        .map(|(k, _)| k.clone())
                    {
                        self.strikes.remove(&oldest);
                    }
                }
            }
            self.strikes.insert(
                key,
                Strike {
                    score,
                    reason: reason.to_string(),
                    until_ms: now + window_ms,
                },
            );
        }
    }
}

thread_local! {
    /// Detectors of this VM, by detector configuration (canonical JSON without `output`).
    static MODELS: RefCell<HashMap<String, Rc<RefCell<Model>>>> = RefCell::new(HashMap::new());
}

fn now_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn describe(e: &Error) -> String {
    match e {
        Error::Config { field, message } => format!("`detector.{field}`: {message}"),
        other => other.to_string(),
    }
}

/// What one filter instance (one plugin configuration) runs with.
struct Plugin {
    settings: Settings,
    output: OutputKind,
}

struct Root {
    plugin: Rc<Plugin>,
    model: Option<Rc<RefCell<Model>>>,
}

impl Default for Root {
    fn default() -> Self {
        Root {
            plugin: Rc::new(Plugin {
                settings: Settings::default(),
                output: OutputKind::Alerts,
            }),
            model: None,
        }
    }
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let settings = match Settings::parse(&bytes) {
            Ok(s) => s,
            Err(e) => {
                error!("auth-anomaly: configuration refused: {e}");
                return false;
            }
        };
        let mut config = match Config::from_value(&settings.detector) {
            Ok(c) => c,
            Err(e) => {
                error!("auth-anomaly: configuration refused: {}", describe(&e));
                return false;
            }
        };
        let now = now_ms(self.get_current_time());
        let mut key_value = match &settings.detector {
            Value::Object(o) => o.clone(),
            _ => serde_json::Map::new(),
        };
        key_value.remove("output");
        // Year-less syslog stamps are read relative to this; the core has no clock of its own.
        if !key_value.contains_key("reference_time") {
            config.reference_time_ms = Some(now);
        }
        let key = Value::Object(key_value).to_string();
        let output = config.output;
        let existing = MODELS.with(|m| {
            let mut m = m.borrow_mut();
            // Forget detectors no filter instance uses any more (a configuration that changed).
            m.retain(|k, v| *k == key || Rc::strong_count(v) > 1);
            m.get(&key).cloned()
        });
        let (model, shared) = match existing {
            Some(model) => (model, true),
            None => {
                let detector = match Detector::new(config) {
                    Ok(d) => d,
                    Err(e) => {
                        error!("auth-anomaly: configuration refused: {}", describe(&e));
                        return false;
                    }
                };
                let model = Rc::new(RefCell::new(Model {
                    detector,
                    recent_alerts: VecDeque::new(),
                    strikes: HashMap::new(),
                }));
                MODELS.with(|m| m.borrow_mut().insert(key, model.clone()));
                (model, false)
            }
        };
        let mode = settings.mode;
        if mode == Mode::Guard && settings.guard.tick_seconds > 0 {
            self.set_tick_period(Duration::from_secs(settings.guard.tick_seconds));
        }
        info!(
            "auth-anomaly: {} mode, {} detector",
            if mode == Mode::Guard { "guard" } else { "batch" },
            if shared { "sharing this VM's" } else { "a new" }
        );
        self.plugin = Rc::new(Plugin { settings, output });
        self.model = Some(model);
        true
    }

    /// Closes buckets that have ended when traffic stops, so their alerts are not held back.
    fn on_tick(&mut self) {
        if let Some(model) = &self.model {
            let now = now_ms(self.get_current_time());
            let mut m = model.borrow_mut();
            let results = m.detector.advance(now);
            m.drain(results);
            m.strikes.retain(|_, s| s.until_ms > now);
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Exchange {
            plugin: self.plugin.clone(),
            model: self.model.clone(),
            phase: Phase::Idle,
            body_size: 0,
        }))
    }
}

/// A login attempt waiting for the upstream's answer.
struct Attempt {
    user: String,
    ip: Option<IpAddr>,
    time_ms: i64,
}

enum Phase {
    /// Nothing to do (not ours, or done).
    Idle,
    /// Batch: buffering the NDJSON body.
    BatchBody,
    /// Guard: buffering a JSON body to read the user from.
    GuardBody { ip: Option<IpAddr>, time_ms: i64 },
    /// Guard: passed upstream, outcome to learn.
    Pending(Attempt),
    /// Answered locally.
    Replied,
}

struct Exchange {
    plugin: Rc<Plugin>,
    model: Option<Rc<RefCell<Model>>>,
    phase: Phase,
    /// Bytes of request body buffered so far.
    body_size: usize,
}

impl Context for Exchange {}

fn attempt_event(user: &str, ip: Option<IpAddr>, time_ms: i64, outcome: Outcome) -> AuthEvent {
    AuthEvent {
        timestamp_ms: time_ms,
        user_name: user.to_string(),
        source_ip: ip,
        outcome: Some(outcome),
        is_authentication: true,
        dataset: Some("envoy.auth_anomaly".into()),
        ..AuthEvent::default()
    }
}

/// The verdict an attempt would get as a successful logon, leaving the detector untouched.
///
/// The core has no read-only scoring call, so this scores a copy (snapshot → restore → push):
/// exact, but it costs time and memory in proportion to the model. See README "Limits".
fn score_without_learning(detector: &Detector, event: &AuthEvent) -> Result<Verdict, Error> {
    let mut scratch = Detector::restore(&detector.snapshot()?)?;
    Ok(scratch.push(event))
}

/// The verdict's highest-scoring job (the first on ties) as (score, "job: reason").
fn summary(v: &Verdict) -> (f64, String) {
    let best = v
        .jobs
        .iter()
        .fold(None, |best: Option<&auth_anomaly::output::JobVerdict>, j| match best {
            Some(b) if b.score >= j.score => Some(b),
            _ => Some(j),
        });
    match best {
        Some(j) => (j.score, format!("{}: {}", j.job_id, j.reason)),
        None => (0.0, "not scored".into()),
    }
}

impl Exchange {
    fn header(&self, name: &str) -> Option<String> {
        self.get_http_request_header(name)
    }

    fn batch_headers(&mut self, model: &Rc<RefCell<Model>>, end_of_stream: bool) -> Action {
        match self.header(":method").as_deref() {
            Some("POST") => {
                if end_of_stream {
                    self.batch_reply(model, &[]);
                } else {
                    self.phase = Phase::BatchBody;
                }
            }
            Some("GET") | Some("HEAD") => {
                let body = {
                    let m = model.borrow();
                    json!({
                        "stats": m.detector.stats(),
                        "recent_alerts": m.recent_alerts,
                    })
                    .to_string()
                };
                self.send_http_response(200, vec![("content-type", "application/json")], Some(body.as_bytes()));
                self.phase = Phase::Replied;
            }
            _ => {
                self.send_http_response(
                    405,
                    vec![("allow", "GET, POST"), ("content-type", "application/json")],
                    Some(br#"{"error":"POST an NDJSON body to score it, or GET the stats"}"#),
                );
                self.phase = Phase::Replied;
            }
        }
        Action::Pause
    }

    fn batch_reply(&mut self, model: &Rc<RefCell<Model>>, body: &[u8]) {
        let kind = self.plugin.output;
        let (out, counts) = {
            let mut m = model.borrow_mut();
            let before = m.detector.stats();
            m.detector.set_output(kind);
            let mut out = m.detector.push_ndjson(body);
            m.detector.flush().to_ndjson(kind, &mut out);
            let after = m.detector.stats();
            let counts = [
                ("x-auth-anomaly-events", after.events - before.events),
                ("x-auth-anomaly-accepted", after.accepted - before.accepted),
                ("x-auth-anomaly-rejected", after.rejected - before.rejected),
                ("x-auth-anomaly-alerts", after.alerts - before.alerts),
            ]
            .map(|(k, n)| (k, n.to_string()));
            (out, counts)
        };
        let mut headers = vec![("content-type", "application/x-ndjson")];
        headers.extend(counts.iter().map(|(k, v)| (*k, v.as_str())));
        self.send_http_response(200, headers, Some(&out));
        self.phase = Phase::Replied;
    }

    /// The whole request body is buffered: score it (batch) or read the user from it (guard).
    fn body_complete(&mut self, model: &Rc<RefCell<Model>>) -> Action {
        let body = self.get_http_request_body(0, self.body_size).unwrap_or_default();
        match self.phase {
            Phase::BatchBody => {
                self.batch_reply(model, &body);
                Action::Pause
            }
            Phase::GuardBody { ip, time_ms } => {
                let field = &self.plugin.settings.guard.json_user_field;
                let user = json_body_user(&body, field).ok_or("no user name in the JSON body");
                self.guard_decide(model, user, ip, time_ms)
            }
            _ => Action::Continue,
        }
    }

    fn guard_headers(&mut self, model: &Rc<RefCell<Model>>, end_of_stream: bool) -> Action {
        // Only this filter writes these: a client's own values never reach the upstream.
        self.set_http_request_header(SCORE_HEADER, None);
        self.set_http_request_header(REASON_HEADER, None);
        let g = &self.plugin.settings.guard;
        let method = self.header(":method").unwrap_or_default();
        let path = self.header(":path").unwrap_or_default();
        if !g.is_login(&method, &path) {
            return Action::Continue;
        }
        let time_ms = now_ms(self.get_current_time());
        let peer = self
            .get_property(vec!["source", "address"])
            .and_then(|b| String::from_utf8(b).ok());
        let xff = self.header("x-forwarded-for");
        let ip = client_address(xff.as_deref(), g.trusted_hops, peer.as_deref());
        let user = match g.user_from {
            UserFrom::Header => self
                .header(&g.user_header)
                .as_deref()
                .and_then(clean_user)
                .ok_or("no user name in the request header"),
            UserFrom::Basic => self
                .header("authorization")
                .as_deref()
                .and_then(basic_auth_user)
                .ok_or("no HTTP basic authentication user in the request"),
            UserFrom::JsonBody if !end_of_stream => {
                self.phase = Phase::GuardBody { ip, time_ms };
                return Action::Pause;
            }
            UserFrom::JsonBody => Err("no request body to read the user name from"),
        };
        self.guard_decide(model, user, ip, time_ms)
    }

    /// Scores an attempt (`user`: the name, or why there is none), then rejects it or passes it
    /// on with the headers.
    fn guard_decide(
        &mut self,
        model: &Rc<RefCell<Model>>,
        user: Result<String, &str>,
        ip: Option<IpAddr>,
        time_ms: i64,
    ) -> Action {
        let g = &self.plugin.settings.guard;
        let user = match user {
            Ok(user) => user,
            Err(why) => {
                self.set_http_request_header(SCORE_HEADER, Some("0"));
                self.set_http_request_header(REASON_HEADER, Some(&format!("{why}; not scored")));
                self.phase = Phase::Idle;
                return Action::Continue;
            }
        };
        let event = attempt_event(&user, ip, time_ms, Outcome::Success);
        let (mut score, mut reason, strike) = {
            let m = model.borrow();
            let (score, reason) = match score_without_learning(&m.detector, &event) {
                Ok(v) => summary(&v),
                Err(e) => {
                    error!("auth-anomaly: scoring failed, attempt passed unscored: {e}");
                    (0.0, format!("not scored: {e}"))
                }
            };
            let strike = m
                .strike(&user, ip, time_ms)
                .map(|s| (s.score, s.reason.clone(), s.until_ms));
            (score, reason, strike)
        };
        let mut status = g.reject_status;
        let mut retry_after = None;
        if let Some((s, r, until_ms)) = strike {
            if s > score {
                score = s;
                reason = r;
                status = g.throttle_status;
                retry_after = Some(((until_ms - time_ms).max(0) / 1000 + 1).to_string());
            }
        }
        let score_text = format_score(score);
        if g.reject_above.is_some_and(|t| score >= t) {
            let body = json!({
                "error": "auth-anomaly",
                "score": (score * 100.0).round() / 100.0,
                "reason": reason,
            })
            .to_string();
            info!(
                "auth-anomaly: rejected {user} from {} with {status}: score {score_text}: {reason}",
                ip.map_or("-".to_string(), |ip| ip.to_string())
            );
            let mut headers = vec![("content-type", "application/json")];
            if let Some(seconds) = &retry_after {
                headers.push(("retry-after", seconds));
            }
            self.send_http_response(status, headers, Some(body.as_bytes()));
            self.phase = Phase::Replied;
            return Action::Pause;
        }
        self.set_http_request_header(SCORE_HEADER, Some(&score_text));
        self.set_http_request_header(REASON_HEADER, Some(&header_value(&reason, MAX_REASON_BYTES)));
        self.phase = Phase::Pending(Attempt { user, ip, time_ms });
        Action::Continue
    }

    /// Learns the attempt's outcome from the upstream's answer.
    fn guard_response(&mut self, model: &Rc<RefCell<Model>>, attempt: Attempt) {
        let g = &self.plugin.settings.guard;
        let by_header = g
            .outcome_header
            .as_deref()
            .and_then(|h| self.get_http_response_header(h))
            .and_then(|v| match v.trim().to_ascii_lowercase().as_str() {
                "success" => Some(true),
                "failure" => Some(false),
                _ => None,
            });
        let status = self
            .get_http_response_header(":status")
            .and_then(|s| s.trim().parse::<u32>().ok());
        let Some(success) = by_header.or_else(|| status.and_then(|s| g.outcome_of_status(s))) else {
            return;
        };
        let outcome = if success { Outcome::Success } else { Outcome::Failure };
        let event = attempt_event(&attempt.user, attempt.ip, attempt.time_ms, outcome);
        let mut m = model.borrow_mut();
        let verdict = m.detector.push(&event);
        let results = m.detector.take_results();
        m.drain(results);
        if !success {
            if let Some(j) = verdict.jobs.iter().find(|j| j.job_id == FAILS_JOB) {
                let reason = format!("{FAILS_JOB}: {}", j.reason);
                let window_ms = g.failure_window_seconds as i64 * 1000;
                m.set_strike(&attempt.user, attempt.ip, j.score, &reason, attempt.time_ms, window_ms);
            }
        }
    }
}

impl HttpContext for Exchange {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let Some(model) = self.model.clone() else {
            return Action::Continue;
        };
        match self.plugin.settings.mode {
            Mode::Batch => self.batch_headers(&model, end_of_stream),
            Mode::Guard => self.guard_headers(&model, end_of_stream),
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(model) = self.model.clone() else {
            return Action::Continue;
        };
        self.body_size = body_size;
        match self.phase {
            Phase::BatchBody if end_of_stream => self.body_complete(&model),
            Phase::BatchBody => Action::Pause,
            Phase::GuardBody { ip, time_ms } if body_size > self.plugin.settings.guard.max_body_bytes => {
                // Too large to be a login form: passed on unscored.
                self.guard_decide(&model, Err("request body larger than max_body_bytes"), ip, time_ms)
            }
            Phase::GuardBody { .. } if end_of_stream => self.body_complete(&model),
            Phase::GuardBody { .. } => Action::Pause,
            Phase::Replied => Action::Pause,
            Phase::Idle | Phase::Pending(_) => Action::Continue,
        }
    }

    /// Trailers end the request: the buffered body is complete.
    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        match (&self.phase, self.model.clone()) {
            (Phase::BatchBody | Phase::GuardBody { .. }, Some(model)) => self.body_complete(&model),
            (Phase::Replied, _) => Action::Pause,
            _ => Action::Continue,
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let (Phase::Pending(_), Some(model)) = (&self.phase, self.model.clone()) {
            if let Phase::Pending(attempt) = std::mem::replace(&mut self.phase, Phase::Idle) {
                self.guard_response(&model, attempt);
            }
        }
        Action::Continue
    }
}
