//! auth-anomaly as a Fluent Bit `wasm` filter (C ABI, `event_format json`).
//!
//! Fluent Bit calls [`auth_anomaly_filter`] once per record with the record as a JSON object
//! (followed by a NUL that `record_len` excludes). The filter feeds the record to one detector that
//! lives as long as the module instance (Fluent Bit ≥ 4.1 keeps the instance across chunks) and
//! returns the record with one field added:
//!
//! ```json
//! {"…the original record…": "…",
//!  "auth_anomaly": {"score": 91.3, "alerts": ["Unusual Source IP for a User to Logon from"],
//!                   "reason": "…", "jobs": {"auth_rare_source_ip_for_a_user": 91.3}}}
//! ```
//!
//! The original record's bytes are kept as they are (the field is spliced in before the closing
//! brace), so key order and number formatting survive. See `README.md` for the ABI, the
//! configuration and the error handling.
//!
//! Every path is total: bad input (invalid JSON, a non-object, a NULL or out-of-bounds pointer, a
//! record the detector rejects) produces a record with `auth_anomaly.error` or a rejection reason,
//! never a trap. If a call does trap anyway (out of memory, or the host's interpreter stack is too
//! small), the next call notices the unfinished call and starts a fresh detector instead of
//! working on half-updated state.

use std::alloc::{alloc, dealloc, Layout};
use std::borrow::Cow;
use std::cell::{Cell, UnsafeCell};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use auth_anomaly::ingest::detect::{sniff, InputFormat};
use auth_anomaly::ingest::windows::event_from_windows_json;
use auth_anomaly::ingest::{event_from_json_value, RejectReason};
use auth_anomaly::{AuthEvent, Config, Detector, Manifest, OutputKind, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The field added to every record.
pub const FIELD: &str = "auth_anomaly";

/// The configuration baked in at build time: `AUTH_ANOMALY_CONFIG='{"drop_normal":true}' ./build.sh`.
/// Fluent Bit has no way to hand a wasm filter its configuration.
pub const BAKED_CONFIG: Option<&str> = option_env!("AUTH_ANOMALY_CONFIG");

/// Filter settings that are not the detector's.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// Return `""` (Fluent Bit drops the record) for records no rule alerts on. Records carrying an
    /// `error` (invalid JSON, bad configuration) are never dropped.
    pub drop_normal: bool,
}

/// Parses the filter configuration: the detector's JSON configuration (README "Configuration")
/// plus `drop_normal`. An empty text is the default configuration.
pub fn parse_config(text: &str) -> Result<(Settings, Config), String> {
    if text.trim().is_empty() {
        return Ok((Settings::default(), Config::default()));
    }
    let mut v: Value = serde_json::from_str(text).map_err(|e| format!("configuration is not valid JSON: {e}"))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| "configuration must be a JSON object".to_string())?;
    let mut settings = Settings::default();
    if let Some(d) = obj.remove("drop_normal") {
        settings.drop_normal = d
            .as_bool()
            .ok_or_else(|| "invalid config field `drop_normal`: expected true or false".to_string())?;
    }
    let config = Config::from_value(&v).map_err(|e| e.to_string())?;
    Ok((settings, config))
}

/// What the filter adds to a record it could read.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Annotation {
    /// Highest score over the jobs that took the event, 0–100.
    pub score: f64,
    /// Names of the rules whose threshold this event reached.
    pub alerts: Vec<String>,
    /// One sentence: the highest-scoring job's reason, or why no job scored the event.
    pub reason: String,
    /// `job_id → score` for every job that took the event.
    pub jobs: BTreeMap<String, f64>,
    /// Rejection code (`missing_timestamp`, `too_late`, …) when the detector could not use the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

impl Annotation {
    fn rejected(reason: RejectReason) -> Annotation {
        Annotation {
            reason: format!("rejected: {}", reason.describe()),
            rejected: Some(reason.code().to_string()),
            ..Annotation::default()
        }
    }

    fn not_a_logon(why: &str) -> Annotation {
        Annotation {
            reason: format!("not an authentication event: {why}"),
            ..Annotation::default()
        }
    }

    /// Combines the verdicts of several lines (a multi-line `log` field).
    fn merge(self, other: Annotation) -> Annotation {
        let rank = |a: &Annotation| (a.score, !a.jobs.is_empty(), a.rejected.is_none());
        let (mut base, extra) = if rank(&other) > rank(&self) {
            (other, self)
        } else {
            (self, other)
        };
        for name in extra.alerts {
            if !base.alerts.contains(&name) {
                base.alerts.push(name);
            }
        }
        for (job, score) in extra.jobs {
            let s = base.jobs.entry(job).or_insert(score);
            *s = s.max(score);
        }
        base
    }
}

/// The part of a verdict the annotation needs (also read back from verdict NDJSON).
#[derive(Deserialize)]
struct LightVerdict {
    jobs: Vec<LightJob>,
}

#[derive(Deserialize)]
struct LightJob {
    job_id: String,
    state: String,
    score: f64,
    above_threshold: bool,
    reason: String,
}

impl From<&Verdict> for LightVerdict {
    fn from(v: &Verdict) -> Self {
        LightVerdict {
            jobs: v
                .jobs
                .iter()
                .map(|j| LightJob {
                    job_id: j.job_id.clone(),
                    state: j.state.clone(),
                    score: j.score,
                    above_threshold: j.above_threshold,
                    reason: j.reason.clone(),
                })
                .collect(),
        }
    }
}

fn rule_name(job_id: &str) -> String {
    Manifest::embedded()
        .rule_for_job(job_id)
        .map_or_else(|| job_id.to_string(), |r| r.name.clone())
}

fn summarize(v: &LightVerdict) -> Annotation {
    // The detector rejects an event that is too late or too far ahead with one `rejected` job.
    if let Some(j) = v.jobs.iter().find(|j| j.state == "rejected") {
        let reason = [RejectReason::TooLate, RejectReason::TooFarInFuture]
            .into_iter()
            .find(|r| r.describe() == j.reason);
        return match reason {
            Some(r) => Annotation::rejected(r),
            None => Annotation {
                reason: format!("rejected: {}", j.reason),
                rejected: Some("rejected".into()),
                ..Annotation::default()
            },
        };
    }
    let mut a = Annotation::default();
    let mut best: Option<&LightJob> = None;
    for j in v.jobs.iter().filter(|j| j.state != "filtered") {
        a.jobs.insert(j.job_id.clone(), j.score);
        if j.above_threshold {
            let name = rule_name(&j.job_id);
            if !a.alerts.contains(&name) {
                a.alerts.push(name);
            }
        }
        if best.is_none_or(|b| j.score > b.score) {
            best = Some(j);
        }
    }
    match best {
        Some(j) => {
            a.score = j.score;
            a.reason = j.reason.clone();
        }
        None => {
            let why = v.jobs.first().map_or("no job takes it", |j| j.reason.as_str());
            a.reason = format!("not scored: {why}");
        }
    }
    a
}

/// Counters of the adapter itself (the detector's are in its `stats()`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counters {
    /// Calls of the filter.
    pub records: u64,
    /// Records returned.
    pub emitted: u64,
    /// Records dropped (`drop_normal`).
    pub dropped: u64,
    /// Records returned with `auth_anomaly.error`.
    pub errors: u64,
    /// Fresh detectors started because a call did not finish (a trap) or panicked.
    pub recoveries: u64,
}

/// What to do with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Return the output buffer.
    Emit,
    /// Return `""`: Fluent Bit drops the record.
    Drop,
}

/// The filter: configuration, the detector and counters. Host-neutral (no pointers).
pub struct Filter {
    settings: Settings,
    config: Config,
    config_error: Option<String>,
    detector: Option<Detector>,
    /// Whether a syslog line has been seen (see `prepare_for_syslog`).
    syslog_seen: bool,
    /// Adapter counters.
    pub counters: Counters,
}

/// How a record is read.
enum Shape {
    /// Windows Security (evtx JSON or winlogbeat), recognised by the core's sniffer.
    Windows,
    /// ECS JSON (the record itself).
    Ecs,
    /// A raw log line held in a field (`log`, `message`), or rebuilt from Fluent Bit's syslog parser.
    Line(String),
}

impl Filter {
    /// A filter with the baked configuration ([`BAKED_CONFIG`]); a bad baked configuration makes
    /// every record carry `auth_anomaly.error` naming the problem (nothing is dropped).
    pub fn from_baked() -> Filter {
        Filter::or_error(BAKED_CONFIG.unwrap_or(""), "AUTH_ANOMALY_CONFIG baked into this build")
    }

    /// A filter with this configuration; if it is invalid, one that annotates every record with
    /// the error (naming `origin`) and drops nothing.
    pub fn or_error(text: &str, origin: &str) -> Filter {
        match Filter::with_config(text) {
            Ok(f) => f,
            Err(e) => Filter {
                settings: Settings::default(),
                config: Config::default(),
                config_error: Some(format!("{origin}: {e}")),
                detector: None,
                syslog_seen: false,
                counters: Counters::default(),
            },
        }
    }

    /// A filter with this configuration, or the reason it is invalid.
    pub fn with_config(text: &str) -> Result<Filter, String> {
        let (settings, config) = parse_config(text)?;
        // Detector::new only fails for a job without a rule: find that out now, not per record.
        Detector::new(config.clone()).map_err(|e| e.to_string())?;
        Ok(Filter {
            settings,
            config,
            config_error: None,
            detector: None,
            syslog_seen: false,
            counters: Counters::default(),
        })
    }

    /// The detector's stats and the adapter's counters, as JSON.
    pub fn stats_json(&self) -> Value {
        let mut v = match &self.detector {
            Some(d) => serde_json::to_value(d.stats()).unwrap_or(Value::Null),
            None => serde_json::json!({}),
        };
        if let Value::Object(m) = &mut v {
            m.insert(
                "adapter".into(),
                serde_json::to_value(&self.counters).unwrap_or(Value::Null),
            );
            m.insert("drop_normal".into(), Value::Bool(self.settings.drop_normal));
        }
        v
    }

    /// Processes one record (JSON text, without the NUL). Writes the returned record to `out`
    /// (without a NUL) unless the action is [`Action::Drop`]. `time_ms`: Fluent Bit's record time.
    pub fn process(&mut self, record: &[u8], time_ms: Option<i64>, out: &mut Vec<u8>) -> Action {
        out.clear();
        self.counters.records += 1;
        if let Some(e) = &self.config_error {
            let msg = format!("configuration: {e}");
            return self.emit_error(record, &msg, out);
        }
        let mut value: Value = match serde_json::from_slice(record) {
            Ok(v) => v,
            Err(e) => return self.emit_error(record, &format!("invalid JSON: {e}"), out),
        };
        if !value.is_object() {
            return self.emit_error(record, "record is not a JSON object", out);
        }
        let note = match self.assess(record, &mut value, time_ms) {
            Ok(n) => n,
            Err(e) => return self.emit_error(record, &e, out),
        };
        if self.settings.drop_normal && note.alerts.is_empty() {
            self.counters.dropped += 1;
            return Action::Drop;
        }
        annotate(record, value, &note, out);
        self.counters.emitted += 1;
        Action::Emit
    }

    fn emit_error(&mut self, record: &[u8], message: &str, out: &mut Vec<u8>) -> Action {
        write_error_record(record, message, out);
        self.counters.errors += 1;
        self.counters.emitted += 1;
        Action::Emit
    }

    fn detector(&mut self) -> Result<&mut Detector, String> {
        if self.detector.is_none() {
            self.detector = Some(self.new_detector(None)?);
        }
        self.detector.as_mut().ok_or_else(|| "detector unavailable".to_string())
    }

    fn new_detector(&self, reference_ms: Option<i64>) -> Result<Detector, String> {
        let mut config = self.config.clone();
        config.reference_time_ms = config.reference_time_ms.or(reference_ms);
        // Raw lines go through push_ndjson; their verdicts are read back.
        config.output = OutputKind::Verdicts;
        Detector::new(config).map_err(|e| format!("configuration: {e}"))
    }

    /// Year-less syslog stamps are read relative to the stream's clock (the open bucket) when the
    /// first syslog line arrives. If nothing has been accepted yet there is no clock: the detector
    /// is rebuilt (it has learnt nothing; only its rejection counters restart) with this record's
    /// Fluent Bit time as the reference.
    fn prepare_for_syslog(&mut self, line: &str, time_ms: Option<i64>) {
        if self.syslog_seen || sniff(line.as_bytes()) != InputFormat::Syslog {
            return;
        }
        self.syslog_seen = true;
        let clockless = self.detector.as_ref().is_none_or(|d| d.stats().open_bucket.is_none());
        if clockless && self.config.reference_time_ms.is_none() && time_ms.is_some() {
            if let Ok(d) = self.new_detector(time_ms) {
                self.detector = Some(d);
            }
        }
    }

    fn shape(&self, record: &[u8], obj: &Map<String, Value>, time_ms: Option<i64>) -> Shape {
        let format = match self.config.format {
            InputFormat::Auto => sniff(record),
            fixed => fixed,
        };
        match format {
            InputFormat::Evtx => Shape::Windows,
            InputFormat::Syslog => Shape::Line(raw_line(obj, time_ms).unwrap_or_default().into_owned()),
            _ => {
                // A record with `@timestamp` or ECS `event` fields is ECS even if it has a
                // `message`; raw lines come without them (tail, docker, the syslog input).
                let ecs = obj.contains_key("@timestamp")
                    || obj.contains_key("event")
                    || obj.keys().any(|k| k.starts_with("event."));
                match raw_line(obj, time_ms) {
                    Some(line) if !ecs && self.config.format == InputFormat::Auto => Shape::Line(line.into_owned()),
                    _ => Shape::Ecs,
                }
            }
        }
    }

    fn assess(&mut self, record: &[u8], value: &mut Value, time_ms: Option<i64>) -> Result<Annotation, String> {
        let max_line = self.config.max_line_bytes;
        let detector = self.detector()?;
        if record.len() > max_line {
            detector.count_rejection(RejectReason::LineTooLong);
            return Ok(Annotation::rejected(RejectReason::LineTooLong));
        }
        let shape = match value.as_object() {
            Some(obj) => self.shape(record, obj, time_ms),
            None => return Err("record is not a JSON object".into()),
        };
        let parsed = match shape {
            Shape::Line(line) => return Ok(self.push_line(&line, time_ms)),
            Shape::Windows => with_time_fallback(value, time_ms, event_from_windows_json),
            Shape::Ecs => with_time_fallback(value, time_ms, |v| event_from_json_value(v).map(Some)),
        };
        let detector = self.detector()?;
        Ok(match parsed {
            Ok(Some(event)) => {
                let verdict = detector.push(&event);
                // Bucket-level records and alerts are not this filter's output: keep memory flat.
                let _ = detector.take_results();
                summarize(&LightVerdict::from(&verdict))
            }
            Ok(None) => Annotation::not_a_logon("a Windows event that is not a logon (4624, 4625, 4648)"),
            Err(reason) => {
                detector.count_rejection(reason);
                Annotation::rejected(reason)
            }
        })
    }

    /// Feeds a raw line (syslog, or JSON text) through the core's own per-line parsing.
    fn push_line(&mut self, line: &str, time_ms: Option<i64>) -> Annotation {
        self.prepare_for_syslog(line, time_ms);
        let detector = match self.detector() {
            Ok(d) => d,
            Err(e) => return Annotation::not_a_logon(&e),
        };
        let out = detector.push_ndjson(line.as_bytes());
        let mut merged: Option<Annotation> = None;
        for l in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let Ok(v) = serde_json::from_slice::<Value>(l) else {
                continue;
            };
            let note = if let Some(code) = v.get("rejected").and_then(Value::as_str) {
                Annotation {
                    reason: format!("rejected: {}", v["message"].as_str().unwrap_or(code)),
                    rejected: Some(code.to_string()),
                    ..Annotation::default()
                }
            } else if v.get("filtered").is_some() {
                Annotation::not_a_logon("the log line is not a logon attempt")
            } else {
                match serde_json::from_value::<LightVerdict>(v) {
                    Ok(lv) => summarize(&lv),
                    Err(_) => continue,
                }
            };
            merged = Some(match merged {
                Some(m) => m.merge(note),
                None => note,
            });
        }
        merged.unwrap_or_else(|| Annotation::not_a_logon("empty log line"))
    }
}

/// Parses the record; if it has no timestamp and Fluent Bit gave a time (a parser's `Time_Key`
/// moves the time out of the record), parses again with `@timestamp` set to that time. The
/// inserted field is removed again.
fn with_time_fallback(
    value: &mut Value,
    time_ms: Option<i64>,
    parse: impl Fn(&Value) -> Result<Option<AuthEvent>, RejectReason>,
) -> Result<Option<AuthEvent>, RejectReason> {
    match (parse(value), time_ms, value.as_object_mut()) {
        (Err(RejectReason::MissingTimestamp), Some(ms), Some(obj)) if !obj.contains_key("@timestamp") => {
            obj.insert("@timestamp".into(), Value::from(ms));
            let again = parse(value);
            if let Some(obj) = value.as_object_mut() {
                obj.remove("@timestamp");
            }
            again
        }
        (r, _, _) => r,
    }
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// The raw log line a record carries: Fluent Bit's `syslog` input parsers split a line into
/// `time`/`host`/`ident`/`pid`/`message` (and `Time_Key` removes `time`), so the line is rebuilt
/// with the record's own `time` or Fluent Bit's; otherwise `log` (tail, docker) or `message`.
fn raw_line(obj: &Map<String, Value>, time_ms: Option<i64>) -> Option<Cow<'_, str>> {
    if let (Some(ident), Some(message)) = (str_field(obj, "ident"), str_field(obj, "message")) {
        let stamp = match (str_field(obj, "time"), time_ms) {
            (Some(t), _) => t.to_string(),
            (None, Some(ms)) => auth_anomaly::time::format_rfc3339_ms(ms),
            (None, None) => return Some(Cow::Borrowed(message)),
        };
        let host = str_field(obj, "host").filter(|h| !h.is_empty()).unwrap_or("-");
        let pid = match obj.get("pid") {
            Some(Value::String(p)) if !p.is_empty() => format!("[{p}]"),
            Some(Value::Number(n)) => format!("[{n}]"),
            _ => String::new(),
        };
        return Some(Cow::Owned(format!("{stamp} {host} {ident}{pid}: {message}")));
    }
    str_field(obj, "log")
        .or_else(|| str_field(obj, "message"))
        .map(Cow::Borrowed)
}

/// Writes the record with the annotation added. The original bytes are kept (the field is spliced
/// in before the closing brace) unless the record already has the field, in which case it is
/// replaced and the object re-serialised.
fn annotate(record: &[u8], mut value: Value, note: &Annotation, out: &mut Vec<u8>) {
    out.clear();
    let has_field = value.as_object().is_some_and(|o| o.contains_key(FIELD));
    if !has_field && splice(record, note, out) {
        return;
    }
    out.clear();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(FIELD.into(), serde_json::to_value(note).unwrap_or(Value::Null));
    }
    if serde_json::to_writer(&mut *out, &value).is_err() {
        out.clear();
        out.extend_from_slice(b"{}");
    }
}

/// `record` (a valid JSON object) with `,"auth_anomaly":{…}` inserted before its closing brace.
fn splice<T: Serialize>(record: &[u8], note: &T, out: &mut Vec<u8>) -> bool {
    let trimmed = record.trim_ascii_end();
    let Some(body) = trimmed.strip_suffix(b"}") else {
        return false;
    };
    let empty = body.trim_ascii_end().ends_with(b"{");
    out.extend_from_slice(body.trim_ascii_end());
    if !empty {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(FIELD.as_bytes());
    out.extend_from_slice(b"\":");
    if serde_json::to_writer(&mut *out, note).is_err() {
        return false;
    }
    out.push(b'}');
    true
}

/// The record with `"auth_anomaly": {"error": …}`. A record that is a JSON object keeps its bytes
/// (the field is spliced in); anything else is kept under Fluent Bit's usual raw-line key:
/// `{"log": <the text, or the non-object value>, "auth_anomaly": {"error": …}}`, never lost.
fn write_error_record(record: &[u8], message: &str, out: &mut Vec<u8>) {
    out.clear();
    let note = serde_json::json!({ "error": message });
    let text = String::from_utf8_lossy(record);
    let original = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(obj)) => {
            if !obj.contains_key(FIELD) && splice(record, &note, out) {
                return;
            }
            out.clear();
            let mut obj = obj;
            obj.insert(FIELD.into(), note.clone());
            if serde_json::to_writer(&mut *out, &obj).is_ok() {
                return;
            }
            out.clear();
            Value::String(text.into_owned())
        }
        // A valid non-object (array, string, number) is kept as that value.
        Ok(v) => v,
        Err(_) => Value::String(text.into_owned()),
    };
    let mut doc = Map::new();
    doc.insert("log".into(), original);
    doc.insert(FIELD.into(), note);
    if serde_json::to_writer(&mut *out, &Value::Object(doc)).is_err() {
        out.clear();
        out.extend_from_slice(br#"{"auth_anomaly":{"error":"unserialisable record"}}"#);
    }
}

/// `{"auth_anomaly": {"error": …}}` when there is no record to keep (e.g. a NULL pointer).
fn write_bare_error(message: &str, out: &mut Vec<u8>) {
    out.clear();
    let doc = serde_json::json!({ FIELD: { "error": message } });
    if serde_json::to_writer(&mut *out, &doc).is_err() {
        out.extend_from_slice(br#"{"auth_anomaly":{"error":"internal"}}"#);
    }
}

// ---------------------------------------------------------------------------------------------
// The C ABI.

/// The module-level state. The module is single-threaded (one Fluent Bit filter instance, one
/// wasm instance); native tests get one per test thread.
struct Slot {
    /// Set while a call runs; still set at the next call means the last one trapped.
    busy: Cell<bool>,
    filter: UnsafeCell<Option<Filter>>,
    /// The configuration given to `auth_anomaly_configure` (reused after a recovery).
    config_text: UnsafeCell<Option<String>>,
    /// The returned record (module-owned, reused; Fluent Bit `strdup`s it at once).
    out: UnsafeCell<Vec<u8>>,
    /// `auth_anomaly_last_error` / `auth_anomaly_stats` text.
    aux: UnsafeCell<Vec<u8>>,
    recoveries: Cell<u64>,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            busy: Cell::new(false),
            filter: UnsafeCell::new(None),
            config_text: UnsafeCell::new(None),
            out: UnsafeCell::new(Vec::new()),
            aux: UnsafeCell::new(Vec::new()),
            recoveries: Cell::new(0),
        }
    }
}

thread_local! {
    static SLOT: Slot = const { Slot::new() };
}

/// What a call gets: the filter (created on first use) and the module-owned buffers.
struct Ctx<'a> {
    filter: &'a mut Filter,
    config_text: &'a mut Option<String>,
    out: &'a mut Vec<u8>,
    aux: &'a mut Vec<u8>,
}

fn fresh_filter(config_text: &Option<String>) -> Filter {
    match config_text {
        Some(text) => Filter::with_config(text).unwrap_or_else(|_| Filter::from_baked()),
        None => Filter::from_baked(),
    }
}

/// Runs `f` with exclusive access to the module state. The calls never nest (the module imports
/// nothing that could call back), so the `UnsafeCell` borrows below never alias.
fn with_slot<R>(f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
    SLOT.with(|slot| {
        // SAFETY: single-threaded, non-reentrant (see above): these are the only live references.
        let (filter, config_text, out, aux) = unsafe {
            (
                &mut *slot.filter.get(),
                &mut *slot.config_text.get(),
                &mut *slot.out.get(),
                &mut *slot.aux.get(),
            )
        };
        let mut carried = None;
        if slot.busy.replace(true) {
            // The previous call trapped half-way: its detector may be inconsistent. Start over,
            // keeping only the counters (plain integers).
            carried = filter.take().map(|f| f.counters);
            slot.recoveries.set(slot.recoveries.get() + 1);
        }
        let filter = filter.get_or_insert_with(|| fresh_filter(config_text));
        if let Some(counters) = carried {
            filter.counters = counters;
        }
        filter.counters.recoveries = slot.recoveries.get();
        let r = f(&mut Ctx {
            filter,
            config_text,
            out,
            aux,
        });
        slot.busy.set(false);
        r
    })
}

/// Marks the state as abandoned by a call (what a trap leaves behind). For tests.
#[doc(hidden)]
pub fn simulate_trap() {
    SLOT.with(|slot| slot.busy.set(true));
}

static EMPTY: [u8; 1] = [0];

/// Bytes the host handed over, checked: NULL with a length, or a range beyond linear memory, is an
/// error rather than a trap.
///
/// # Safety
/// `ptr..ptr+len` must be readable when it lies inside linear memory (wasm), or always (native).
unsafe fn host_bytes<'a>(ptr: *const u8, len: u32, what: &str) -> Result<&'a [u8], String> {
    let len = len as usize;
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(format!(
            "{what} pointer is NULL (the host could not copy the {what} into module memory)"
        ));
    }
    if !in_memory(ptr, len) {
        return Err(format!("{what} ({len} bytes at {ptr:p}) lies outside module memory"));
    }
    // SAFETY: non-null and inside linear memory (checked above).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

#[cfg(target_arch = "wasm32")]
fn in_memory(ptr: *const u8, len: usize) -> bool {
    let end = core::arch::wasm32::memory_size(0) as u64 * 65_536;
    (ptr as usize as u64).saturating_add(len as u64) <= end
}

#[cfg(not(target_arch = "wasm32"))]
fn in_memory(_ptr: *const u8, _len: usize) -> bool {
    true
}

fn finish(out: &mut Vec<u8>) -> *const u8 {
    out.push(0);
    out.as_ptr()
}

/// The Fluent Bit filter function (`Function_Name auth_anomaly_filter`, `Event_Format json`).
///
/// Returns a NUL-terminated JSON object in a module-owned buffer that stays valid until the next
/// call (Fluent Bit copies it at once), or `""` to drop the record.
///
/// # Safety
/// `tag` and `record` must point to `tag_len` / `record_len` readable bytes (or be NULL), as
/// Fluent Bit guarantees; on wasm, ranges outside linear memory are reported, not read.
#[no_mangle]
pub unsafe extern "C" fn auth_anomaly_filter(
    tag: *const u8,
    tag_len: u32,
    time_sec: u32,
    time_nsec: u32,
    record: *const u8,
    record_len: u32,
) -> *const u8 {
    // The tag is not used: route with Fluent Bit's `Match`.
    let _ = (tag, tag_len);
    let time_ms = (time_sec != 0 || time_nsec != 0)
        .then(|| i64::from(time_sec) * 1000 + i64::from(time_nsec.min(999_999_999)) / 1_000_000);
    let record = unsafe { host_bytes(record, record_len, "record") };
    with_slot(|ctx| {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                ctx.filter.counters.records += 1;
                ctx.filter.counters.errors += 1;
                write_bare_error(&e, ctx.out);
                return finish(ctx.out);
            }
        };
        let filter = &mut *ctx.filter;
        let out = &mut *ctx.out;
        let action = catch_unwind(AssertUnwindSafe(|| filter.process(record, time_ms, out)));
        match action {
            Ok(Action::Drop) => EMPTY.as_ptr(),
            Ok(Action::Emit) => finish(ctx.out),
            Err(_) => {
                // Native builds unwind: the detector may be half-updated, so start a fresh one.
                *ctx.filter = fresh_filter(ctx.config_text);
                ctx.filter.counters.errors += 1;
                write_error_record(record, "internal error (the detector was restarted)", ctx.out);
                finish(ctx.out)
            }
        }
    })
}

/// Replaces the configuration (JSON: the detector's fields plus `drop_normal`) and starts a fresh
/// detector. Returns 0, or -1 with the reason in [`auth_anomaly_last_error`]; on error the previous
/// configuration stays. Fluent Bit never calls this (it cannot pass configuration); other hosts
/// and tests can.
///
/// # Safety
/// `ptr` must point to `len` readable bytes (or be NULL with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn auth_anomaly_configure(ptr: *const u8, len: u32) -> i32 {
    let bytes = unsafe { host_bytes(ptr, len, "configuration") };
    with_slot(|ctx| {
        let result = bytes
            .and_then(|b| {
                std::str::from_utf8(b)
                    .map_err(|_| "configuration is not valid UTF-8".to_string())
                    .map(str::to_string)
            })
            .and_then(|text| Filter::with_config(&text).map(|f| (f, text)));
        ctx.aux.clear();
        match result {
            Ok((filter, text)) => {
                let recoveries = ctx.filter.counters.recoveries;
                *ctx.filter = filter;
                ctx.filter.counters.recoveries = recoveries;
                *ctx.config_text = Some(text);
                0
            }
            Err(e) => {
                ctx.aux.extend_from_slice(e.as_bytes());
                -1
            }
        }
    })
}

/// The reason the last `auth_anomaly_configure` failed (NUL-terminated, empty if it did not),
/// valid until the next call into the module.
#[no_mangle]
pub extern "C" fn auth_anomaly_last_error() -> *const u8 {
    with_slot(|ctx| {
        ctx.aux.retain(|&b| b != 0);
        finish(ctx.aux)
    })
}

/// The detector's stats and the adapter's counters as NUL-terminated JSON, valid until the next
/// call into the module.
#[no_mangle]
pub extern "C" fn auth_anomaly_stats() -> *const u8 {
    with_slot(|ctx| {
        ctx.aux.clear();
        if serde_json::to_writer(&mut *ctx.aux, &ctx.filter.stats_json()).is_err() {
            ctx.aux.clear();
        }
        finish(ctx.aux)
    })
}

const HEADER: usize = 8;

/// `malloc` for the host (WAMR uses the module's `malloc`/`free` when both are exported, instead
/// of its fixed 8 KiB app heap). Each block starts with an 8-byte header holding its size, so
/// [`free`] needs only the pointer. Returns NULL when out of memory or for absurd sizes.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub extern "C" fn malloc(size: usize) -> *mut u8 {
    let Some(total) = size.checked_add(HEADER) else {
        return std::ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(total, HEADER) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `layout` has a non-zero size.
    let base = unsafe { alloc(layout) };
    if base.is_null() {
        return base;
    }
    // SAFETY: the block is at least HEADER bytes and 8-aligned.
    unsafe {
        (base as *mut usize).write(total);
        base.add(HEADER)
    }
}

/// `free` for the host: releases a block from [`malloc`]; NULL is ignored.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by [`malloc`] and not yet freed.
#[cfg_attr(target_arch = "wasm32", no_mangle)]
pub unsafe extern "C" fn free(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: per the contract, the header precedes `ptr` and holds the layout's size.
    unsafe {
        let base = ptr.sub(HEADER);
        let total = (base as *const usize).read();
        dealloc(base, Layout::from_size_align_unchecked(total, HEADER));
    }
}

#[cfg(test)]
mod tests;
