//! Windows Security log logons (4624, 4625, 4648) as JSON, to [`AuthEvent`]s.
//!
//! # Accepted shapes
//!
//! - **evtx JSON**, as `evtx_dump -o jsonl` writes it:
//!   `{"Event":{"System":{"EventID":4624,"TimeCreated":{"#attributes":{"SystemTime":"…"}},"Computer":"…"},"EventData":{"TargetUserName":…,"TargetDomainName":…,"IpAddress":…,"LogonType":…,"ProcessName":…}}}`.
//!   `EventID` may be a number, a string or an object with `#text` (`{"#attributes":{"Qualifiers":0},"#text":4624}`);
//!   `TimeCreated` may also be `{"SystemTime":…}` or `{"@SystemTime":…}`; `EventData` may also be
//!   `{"Data":[{"@Name":"TargetUserName","#text":"bob"},…]}` (or `#attributes.Name`), as XML-to-JSON
//!   converters write it; any value may be a number, a string or `{"#text":…}`.
//! - **winlogbeat JSON** (raw, or after Elastic's `system.security` pipeline), nested or dotted keys:
//!   `{"@timestamp":…,"winlog":{"event_id":"4624","event_data":{…},"computer_name":…},"event":{…}}`.
//!   The event id is `winlog.event_id` (number or string) or `event.code`; fields missing from
//!   `winlog.event_data` (Elastic's pipeline moves `IpAddress` to `source.ip`, `ProcessName` to
//!   `process.executable`) are taken from their ECS fields. `event.category` / `event.outcome` /
//!   `event.action` are used when present and derived from the event id when absent.
//!
//! # Mapping
//!
//! | event id | result |
//! |---|---|
//! | 4624 (logon) | authentication, `success`, action `logged-in` |
//! | 4625 (failed logon) | authentication, `failure`, action `logon-failed` |
//! | 4648 (logon with explicit credentials) | authentication, `success`, action `logged-in-explicit`, **no source IP**: its `IpAddress` is the *target* server, so it must not feed the rare-source-IP job |
//! | 4634, 4647 (logoff) and any other id | `Ok(None)`: not a logon |
//!
//! `user.name` = `TargetUserName`, `user.domain` = `TargetDomainName`, `host.name` = `Computer`
//! (winlogbeat: `winlog.computer_name`), `process.name` = the base name of `ProcessName`,
//! `LogonType` as a string. `IpAddress` `-`, empty, loopback (`::1`, `127.0.0.1`), unspecified or
//! link-local gives no source IP; [`windows_logon`] says which ([`SourceStatus`]) so the caller can
//! count `no_usable_source`.
//!
//! # Two implementations with one answer
//!
//! - [`event_from_windows_json`] / [`windows_logon`] read an already-parsed [`Value`] (the
//!   reference; every shape above).
//! - [`winlogbeat_event_from_text`] reads the text of a winlogbeat line in one pass, keeping only
//!   the fields read here over a key trie, and never builds a `Value` (6 heap allocations per
//!   simulated line, the event's own strings, instead of 50; none when the detector reuses its
//!   event). Two readers fill the same captures:
//!   - a hand-written scanner (`windows_scan.rs`, like `ecs_scan.rs` for ECS) answers the common
//!     shapes: it unescapes strings with escapes (a Windows path in `ProcessName`) as serde_json
//!     does, into a buffer the line event keeps from line to line, and leaves to the visitor any
//!     string serde_json would reject, numbers it would read as floats where a number is reduced
//!     (times, texts), exponents, deep nesting and anything malformed, so it never reproduces
//!     serde_json's errors;
//!   - a serde visitor (`mod fast`) reads the rest, invalid JSON included.
//!
//!   In a stream (the detector's line event, `winlogbeat_event_into`), the scanner also keeps
//!   the layout of recent lines (`windows_shape.rs`): a line of a known layout is read by
//!   comparing its text between the values with the layout's and reading only its values, with
//!   the scanner's own routines, so with the scanner's answer.
//!
//!   It answers only when it is certain to give what `serde_json::from_str::<Value>` then
//!   [`event_from_windows_json`] gives: the same event, `Ok(None)` or the same [`RejectReason`],
//!   `InvalidJson` included. It returns `None` ("not sure": the caller parses a `Value`) for evtx
//!   records (a top-level `Event` key; `evtx_dump`'s `{"Event":…` is recognised before parsing),
//!   XML-style `EventData.Data` lists, a key that matters repeated in one object (a `Value` keeps
//!   the last), a field present at two places (`user.name` and `{"user":{"name":…}}`:
//!   `ecs::lookup`'s precedence would decide), an object as a timestamp, and a document that is
//!   not an object. Every skipped value is validated as building a `Value` would validate it.
//! - [`event_from_windows_text`] is both in one call (what `Detector` does for each `evtx` line).
//!
//! `tests/windows_fast_equivalence.rs` and the `windows_fast` fuzz target check that the two agree,
//! and that the scanner alone (`winlogbeat_event_from_text_scanned`) agrees wherever it answers.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::ecs::lookup;
use super::RejectReason;
use crate::event::{AuthEvent, LineEvent, Outcome};
use crate::net::{is_unusable_source, parse_ip};
use crate::time::parse_rfc3339_ms;

#[path = "windows_scan.rs"]
mod scan;
pub(crate) use scan::ScanState;

/// `event.dataset` of events made from Windows Security logs (Elastic's `system.security`).
const DATASET: &str = "system.security";

/// What became of a logon's `IpAddress`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceStatus {
    /// A usable remote address: it is the event's `source_ip`.
    Usable,
    /// No address (`-`, empty, missing or not an IP address).
    Absent,
    /// A local address (loopback, unspecified, link-local): dropped, the logon is local.
    Unusable,
    /// Event 4648: the address is the target server's, not the source's; dropped.
    Target,
}

impl SourceStatus {
    /// Whether the event has a source IP the rare-source-IP job can use.
    pub fn is_usable(self) -> bool {
        self == SourceStatus::Usable
    }

    /// The snake_case code for stats: `no_usable_source` for every status but `Usable`.
    pub fn code(self) -> &'static str {
        match self {
            SourceStatus::Usable => "usable_source",
            SourceStatus::Absent | SourceStatus::Unusable | SourceStatus::Target => "no_usable_source",
        }
    }
}

/// A Windows logon with the details [`AuthEvent`] has no room for.
#[derive(Clone, PartialEq, Debug)]
pub struct WindowsLogon {
    /// The normalised event.
    pub event: AuthEvent,
    /// The Security log event id (4624, 4625 or 4648).
    pub event_code: u32,
    /// What became of the record's `IpAddress`.
    pub source: SourceStatus,
}

/// Converts one Windows Security record (evtx or winlogbeat JSON) to an [`AuthEvent`];
/// `Ok(None)` when it is not a logon event (logoffs, privilege assignment, other ids, or an object
/// that is neither shape).
pub fn event_from_windows_json(v: &Value) -> Result<Option<AuthEvent>, RejectReason> {
    Ok(windows_logon(v)?.map(|l| l.event))
}

/// [`event_from_windows_json`] of the text's `Value`, without building the `Value` when the line
/// is winlogbeat-shaped; `None` when the fast path is not certain of the answer (see the module
/// docs): parse the text into a `Value` and call [`event_from_windows_json`] instead.
pub fn winlogbeat_event_from_text(text: &str) -> Option<Result<Option<AuthEvent>, RejectReason>> {
    let mut line = LineEvent::default();
    // One line: no layout to learn for later ones.
    Some(fast::event_from_text(text, &mut line, true, false)?.map(|is_logon| is_logon.then_some(line.event)))
}

/// [`winlogbeat_event_from_text`] into `event`, reusing its strings (the detector keeps one event
/// per stream): `Ok(true)` when the line is a logon and `event` holds it, `Ok(false)` when it is
/// not a logon.
pub(crate) fn winlogbeat_event_into(text: &str, event: &mut LineEvent) -> Option<Result<bool, RejectReason>> {
    fast::event_from_text(text, event, true, true)
}

/// [`winlogbeat_event_from_text`] by the hand-written scanner alone, `None` for all it leaves to
/// the serde visitor: for the equivalence tests and the fuzz target, which check it on its own.
#[doc(hidden)]
pub fn winlogbeat_event_from_text_scanned(text: &str) -> Option<Result<Option<AuthEvent>, RejectReason>> {
    let mut line = LineEvent::default();
    Some(fast::event_from_text(text, &mut line, false, false)?.map(|is_logon| is_logon.then_some(line.event)))
}

/// What [`event_from_windows_text`] answers for one line.
#[doc(hidden)]
pub type WindowsAnswer = Result<Option<AuthEvent>, RejectReason>;

/// [`winlogbeat_event_from_text`] of each text in turn through one line event, as the detector
/// reads a stream: a line may be read through the layout of an earlier one (`windows_shape.rs`).
/// `visit`: whether the serde visitor answers what the scanner leaves (else `None` there). Also
/// returns how many lines were read through a kept layout. For the equivalence tests and the fuzz
/// target.
#[doc(hidden)]
pub fn winlogbeat_events_from_stream<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    visit: bool,
) -> (Vec<Option<WindowsAnswer>>, u64) {
    let mut line = LineEvent::default();
    let answers = texts
        .into_iter()
        .map(|text| {
            let answer = fast::event_from_text(text, &mut line, visit, true)?;
            Some(answer.map(|is_logon| is_logon.then(|| line.event.clone())))
        })
        .collect();
    (answers, line.winlogbeat.shape_hits())
}

/// One Windows Security line (text): [`winlogbeat_event_from_text`], and for what it is not sure
/// of, `serde_json::from_str` then [`event_from_windows_json`]. Invalid JSON is `InvalidJson`.
pub fn event_from_windows_text(text: &str) -> Result<Option<AuthEvent>, RejectReason> {
    match winlogbeat_event_from_text(text) {
        Some(answer) => answer,
        None => {
            let value: Value = serde_json::from_str(text).map_err(|_| RejectReason::InvalidJson)?;
            event_from_windows_json(&value)
        }
    }
}

/// Like [`event_from_windows_json`], keeping the event id and what became of the source address.
pub fn windows_logon(v: &Value) -> Result<Option<WindowsLogon>, RejectReason> {
    let obj = v.as_object().ok_or(RejectReason::NotAnObject)?;
    match obj.get("Event") {
        Some(Value::Object(event)) => from_evtx(event),
        _ => from_winlogbeat(obj),
    }
}

/// Text of a scalar, `{"#text": …}` object or first element of an array with a text; `None` when
/// empty.
fn text(v: &Value) -> Option<Cow<'_, str>> {
    let s = match v {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Bool(b) => Cow::Owned(b.to_string()),
        Value::Object(o) => return o.get("#text").and_then(text),
        Value::Array(a) => return a.iter().find_map(text),
        Value::Null => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// An event id as a number (`4624`, `"4624"`, `{"#text":4624}`).
fn event_code(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("#text").and_then(event_code),
        Value::Array(a) => a.first().and_then(event_code),
        _ => None,
    }
}

/// A named field of `EventData`: a direct key, or a `Data` element named by `@Name`,
/// `#attributes.Name` or `Name`.
fn data_field<'a>(data: &'a Value, name: &str) -> Option<Cow<'a, str>> {
    let obj = data.as_object()?;
    if let Some(v) = obj.get(name) {
        return text(v);
    }
    let named = |d: &Value| -> bool {
        let Some(o) = d.as_object() else {
            return false;
        };
        let n = o
            .get("@Name")
            .or_else(|| o.get("#attributes").and_then(|a| a.get("Name")))
            .or_else(|| o.get("Name"));
        n.and_then(Value::as_str) == Some(name)
    };
    match obj.get("Data")? {
        Value::Array(items) => items.iter().find(|d| named(d)).and_then(text),
        single if named(single) => text(single),
        _ => None,
    }
}

/// The time of a record, epoch milliseconds.
fn time_ms(v: Option<&Value>) -> Result<i64, RejectReason> {
    match v {
        None | Some(Value::Null) => Err(RejectReason::MissingTimestamp),
        Some(Value::String(s)) => parse_rfc3339_ms(s).ok_or(RejectReason::InvalidTimestamp),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or(RejectReason::InvalidTimestamp),
        Some(Value::Object(o)) => time_ms(
            o.get("#attributes")
                .and_then(|a| a.get("SystemTime"))
                .or_else(|| o.get("SystemTime"))
                .or_else(|| o.get("@SystemTime"))
                .or_else(|| o.get("#text")),
        ),
        Some(_) => Err(RejectReason::InvalidTimestamp),
    }
}

/// A Windows process id: `0x1e4` (as the Security log writes it) or decimal.
fn parse_pid(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The base name of a Windows (or POSIX) path; `None` for `-` or empty.
fn basename(path: &str) -> Option<&str> {
    let name = path.rsplit(['\\', '/']).next().unwrap_or(path).trim();
    (!name.is_empty() && name != "-").then_some(name)
}

/// What the event id says: (outcome, action), or `None` when it is not a logon.
fn logon_kind(code: u32) -> Option<(Outcome, &'static str)> {
    match code {
        4624 => Some((Outcome::Success, "logged-in")),
        4625 => Some((Outcome::Failure, "logon-failed")),
        4648 => Some((Outcome::Success, "logged-in-explicit")),
        _ => None,
    }
}

/// The fields both shapes share, once located (borrowed from the input where possible: most are
/// parsed or dropped, not kept): texts as `S`, a `Cow` where a text may be made (a number's), or
/// a `&str`.
struct Fields<S> {
    code: u32,
    timestamp_ms: i64,
    user: Option<S>,
    domain: Option<S>,
    ip: Option<S>,
    host: Option<S>,
    process: Option<S>,
    logon_type: Option<S>,
    category_has_auth: Option<bool>,
    outcome: Option<Outcome>,
    action: Option<S>,
    dataset: Option<S>,
    event_id: Option<S>,
    /// `IpPort` / `source.port`.
    port: Option<S>,
    /// `ProcessId` (hex, `0x1e4`, in evtx) / `process.pid`.
    pid: Option<S>,
}

fn finish(f: Fields<Cow<'_, str>>) -> WindowsLogon {
    let event_code = f.code;
    let mut line = LineEvent::default();
    let source = fill(f, &mut line);
    WindowsLogon {
        event: line.event,
        event_code,
        source,
    }
}

/// The text of an optional field.
fn str_of<S: AsRef<str>>(text: &Option<S>) -> Option<&str> {
    text.as_ref().map(AsRef::as_ref)
}

/// [`LineEvent::set`], without its call when the field is absent and stays so (as `process.name`,
/// `event.id` and `ssh_method` usually do: a few calls a line).
#[inline(always)]
fn set_text<F>(out: &mut LineEvent, field: F, text: Option<&str>)
where
    F: Fn(&mut AuthEvent) -> &mut Option<String>,
{
    if text.is_some() || field(&mut out.event).is_some() {
        out.set(field, text);
    }
}

/// The event of `f`, written into `out` (its strings reused); what became of the source address.
fn fill<S: AsRef<str>>(f: Fields<S>, out: &mut LineEvent) -> SourceStatus {
    let (derived_outcome, derived_action) = match logon_kind(f.code) {
        Some(k) => k,
        None => (Outcome::Unknown, ""),
    };
    let (source_ip, source) = if f.code == 4648 {
        (None, SourceStatus::Target)
    } else {
        match str_of(&f.ip).and_then(parse_ip) {
            None => (None, SourceStatus::Absent),
            Some(ip) if is_unusable_source(ip) => (None, SourceStatus::Unusable),
            Some(ip) => (Some(ip), SourceStatus::Usable),
        }
    };
    out.event.timestamp_ms = f.timestamp_ms;
    out.set_user_name(str_of(&f.user).unwrap_or_default());
    set_text(out, |e| &mut e.user_domain, str_of(&f.domain));
    out.event.source_ip = source_ip;
    out.event.outcome = Some(f.outcome.unwrap_or(derived_outcome));
    set_text(out, |e| &mut e.host_name, str_of(&f.host));
    out.event.is_authentication = f.category_has_auth.unwrap_or(true);
    set_text(
        out,
        |e| &mut e.action,
        Some(str_of(&f.action).unwrap_or(derived_action)),
    );
    set_text(out, |e| &mut e.dataset, Some(str_of(&f.dataset).unwrap_or(DATASET)));
    set_text(out, |e| &mut e.process_name, str_of(&f.process).and_then(basename));
    set_text(out, |e| &mut e.logon_type, str_of(&f.logon_type));
    set_text(out, |e| &mut e.event_id, str_of(&f.event_id));
    // A 4648's port is the target's, like its address.
    out.event.source_port = str_of(&f.port)
        .filter(|_| source_ip.is_some())
        .and_then(|p| p.parse().ok());
    out.event.process_pid = str_of(&f.pid).and_then(parse_pid);
    set_text(out, |e| &mut e.ssh_method, None);
    source
}

fn from_evtx(event: &Map<String, Value>) -> Result<Option<WindowsLogon>, RejectReason> {
    let system = event.get("System");
    let Some(code) = system.and_then(|s| s.get("EventID")).and_then(event_code) else {
        return Ok(None);
    };
    if logon_kind(code).is_none() {
        return Ok(None);
    }
    let timestamp_ms = time_ms(system.and_then(|s| s.get("TimeCreated")))?;
    let null = Value::Null;
    let data = event.get("EventData").unwrap_or(&null);
    Ok(Some(finish(Fields {
        code,
        timestamp_ms,
        user: data_field(data, "TargetUserName"),
        domain: data_field(data, "TargetDomainName"),
        ip: data_field(data, "IpAddress"),
        host: system.and_then(|s| s.get("Computer")).and_then(text),
        process: data_field(data, "ProcessName"),
        logon_type: data_field(data, "LogonType"),
        category_has_auth: None,
        outcome: None,
        action: None,
        dataset: None,
        event_id: None,
        port: data_field(data, "IpPort"),
        pid: data_field(data, "ProcessId"),
    })))
}

fn has_value(v: &Value, wanted: &str) -> bool {
    match v {
        Value::String(s) => s == wanted,
        Value::Array(a) => a.iter().any(|x| has_value(x, wanted)),
        _ => false,
    }
}

fn from_winlogbeat(obj: &Map<String, Value>) -> Result<Option<WindowsLogon>, RejectReason> {
    let Some(code) = lookup(obj, "winlog.event_id")
        .or_else(|| lookup(obj, "event.code"))
        .and_then(event_code)
    else {
        return Ok(None);
    };
    if logon_kind(code).is_none() {
        return Ok(None);
    }
    let timestamp_ms = time_ms(
        lookup(obj, "@timestamp")
            .or_else(|| lookup(obj, "timestamp"))
            .or_else(|| lookup(obj, "winlog.time_created")),
    )?;
    let null = Value::Null;
    let data = lookup(obj, "winlog.event_data").unwrap_or(&null);
    // `winlog.event_data.X`, nested or dotted, then the ECS fields Elastic's pipeline moves it to.
    let field = |name: &str, ecs: &[&str]| -> Option<Cow<'_, str>> {
        data_field(data, name)
            .or_else(|| lookup(obj, &format!("winlog.event_data.{name}")).and_then(text))
            .or_else(|| ecs.iter().find_map(|p| lookup(obj, p).and_then(text)))
    };
    Ok(Some(finish(Fields {
        code,
        timestamp_ms,
        user: field("TargetUserName", &["user.name"]),
        domain: field("TargetDomainName", &["user.domain"]),
        ip: field("IpAddress", &["source.ip"]),
        host: ["winlog.computer_name", "host.name", "host.hostname"]
            .iter()
            .find_map(|p| lookup(obj, p).and_then(text)),
        process: field("ProcessName", &["process.executable", "process.name"]),
        logon_type: field("LogonType", &[]),
        category_has_auth: lookup(obj, "event.category").map(|v| has_value(v, "authentication")),
        outcome: lookup(obj, "event.outcome").and_then(text).map(|s| Outcome::parse(&s)),
        action: lookup(obj, "event.action").and_then(text),
        dataset: lookup(obj, "event.dataset")
            .or_else(|| lookup(obj, "data_stream.dataset"))
            .and_then(text),
        event_id: lookup(obj, "event.id").and_then(text),
        port: field("IpPort", &["source.port"]),
        pid: field("ProcessId", &["process.pid"]),
    })))
}

/// The text fast path for winlogbeat lines: a serde visitor that keeps only the fields
/// [`from_winlogbeat`] reads.
///
/// An instance of the shared key-trie visitor (`key_trie.rs`): the keys that can lead to one of
/// those fields form a small trie of [`NODES`] (`""`, `"winlog."`, `"winlog.event_data."`,
/// `"event."`, …): at a node, a key either names a field's whole remaining path (a target) or a
/// dotted prefix of it whose value, if an object, is visited at the child node. [`lookup`] finds a path at the first of these places in a fixed order; rather
/// than replicate that order, the visitor gives up (`unsure`) when a target turns up at a second
/// place, so a target it keeps is the only candidate and therefore what `lookup` returns. Each
/// target's value is reduced while it is read to what [`from_winlogbeat`] makes of it (an event
/// id, a time, a text, "has `authentication`"), with `Value`'s semantics (`{"#text":…}` objects,
/// arrays, a repeated `#text` replacing the earlier one).
///
/// Why `winlog.event_data` needs no value of its own: [`data_field`] reads `event_data[name]`, and
/// that same value is a candidate of the path `winlog.event_data.name`, which is then its only
/// candidate; so [`data_field`] then [`lookup`] of the dotted path is the text of that one
/// candidate. Only its XML-style `Data` list (a key `Data` in an `event_data` object) is left to
/// the reference.
mod fast {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::Number;

    use super::{fill, logon_kind, Fields};
    use crate::event::{LineEvent, Outcome};
    use crate::ingest::key_trie::{self, skip_map, skip_seq, Collector, Entry, KeyTrie, Route, Skip};
    use crate::ingest::RejectReason;
    use crate::time::parse_rfc3339_ms;

    pub(super) const N: usize = 28;
    pub(super) const WINLOG_EVENT_ID: usize = 0;
    pub(super) const EVENT_CODE: usize = 1;
    pub(super) const TIMESTAMP: usize = 2;
    pub(super) const TIMESTAMP_PLAIN: usize = 3;
    pub(super) const TIME_CREATED: usize = 4;
    const DATA_USER: usize = 5;
    const DATA_DOMAIN: usize = 6;
    const DATA_IP: usize = 7;
    const DATA_PROCESS: usize = 8;
    const DATA_LOGON_TYPE: usize = 9;
    const DATA_PORT: usize = 10;
    const DATA_PID: usize = 11;
    const USER_NAME: usize = 12;
    const USER_DOMAIN: usize = 13;
    const SOURCE_IP: usize = 14;
    const SOURCE_PORT: usize = 15;
    const PROCESS_EXECUTABLE: usize = 16;
    const PROCESS_NAME: usize = 17;
    const PROCESS_PID: usize = 18;
    const COMPUTER_NAME: usize = 19;
    const HOST_NAME: usize = 20;
    const HOST_HOSTNAME: usize = 21;
    pub(super) const CATEGORY: usize = 22;
    const OUTCOME: usize = 23;
    const ACTION: usize = 24;
    const DATASET: usize = 25;
    const DATA_STREAM_DATASET: usize = 26;
    const EVENT_ID: usize = 27;

    /// The [`super::lookup`] paths [`super::from_winlogbeat`] reads; a target is an index into this
    /// list. [`NODES`] is written out by hand and checked against it (`tests::trie_is_complete`).
    #[cfg(test)]
    const PATHS: [&str; N] = include!("windows_paths.in");

    use Entry::{Node, Target, Unsure};

    const fn t(target: usize) -> Entry {
        Target(target as u8)
    }

    /// The key trie: per node (named by the prefix its keys follow), every key that matters.
    const NODES: [(&str, &[(&str, Entry)]); 9] = [
        (
            "",
            &[
                ("@timestamp", t(TIMESTAMP)),
                ("event", Node(3)),
                ("user", Node(4)),
                ("source", Node(5)),
                ("host", Node(7)),
                ("winlog", Node(1)),
                ("process", Node(6)),
                ("data_stream", Node(8)),
                ("winlog.event_data", Node(2)),
                ("timestamp", t(TIMESTAMP_PLAIN)),
                // An evtx record: `windows_logon` reads it with `from_evtx`.
                ("Event", Unsure),
                ("winlog.event_id", t(WINLOG_EVENT_ID)),
                ("winlog.time_created", t(TIME_CREATED)),
                ("winlog.computer_name", t(COMPUTER_NAME)),
                ("winlog.event_data.TargetUserName", t(DATA_USER)),
                ("winlog.event_data.TargetDomainName", t(DATA_DOMAIN)),
                ("winlog.event_data.IpAddress", t(DATA_IP)),
                ("winlog.event_data.ProcessName", t(DATA_PROCESS)),
                ("winlog.event_data.LogonType", t(DATA_LOGON_TYPE)),
                ("winlog.event_data.IpPort", t(DATA_PORT)),
                ("winlog.event_data.ProcessId", t(DATA_PID)),
                ("event.code", t(EVENT_CODE)),
                ("event.category", t(CATEGORY)),
                ("event.outcome", t(OUTCOME)),
                ("event.action", t(ACTION)),
                ("event.dataset", t(DATASET)),
                ("event.id", t(EVENT_ID)),
                ("user.name", t(USER_NAME)),
                ("user.domain", t(USER_DOMAIN)),
                ("source.ip", t(SOURCE_IP)),
                ("source.port", t(SOURCE_PORT)),
                ("process.executable", t(PROCESS_EXECUTABLE)),
                ("process.name", t(PROCESS_NAME)),
                ("process.pid", t(PROCESS_PID)),
                ("host.name", t(HOST_NAME)),
                ("host.hostname", t(HOST_HOSTNAME)),
                ("data_stream.dataset", t(DATA_STREAM_DATASET)),
            ],
        ),
        (
            "winlog.",
            &[
                ("event_data", Node(2)),
                ("event_id", t(WINLOG_EVENT_ID)),
                ("computer_name", t(COMPUTER_NAME)),
                ("time_created", t(TIME_CREATED)),
                ("event_data.TargetUserName", t(DATA_USER)),
                ("event_data.TargetDomainName", t(DATA_DOMAIN)),
                ("event_data.IpAddress", t(DATA_IP)),
                ("event_data.ProcessName", t(DATA_PROCESS)),
                ("event_data.LogonType", t(DATA_LOGON_TYPE)),
                ("event_data.IpPort", t(DATA_PORT)),
                ("event_data.ProcessId", t(DATA_PID)),
            ],
        ),
        (
            "winlog.event_data.",
            &[
                ("TargetUserName", t(DATA_USER)),
                ("TargetDomainName", t(DATA_DOMAIN)),
                ("IpAddress", t(DATA_IP)),
                ("ProcessName", t(DATA_PROCESS)),
                ("LogonType", t(DATA_LOGON_TYPE)),
                ("IpPort", t(DATA_PORT)),
                ("ProcessId", t(DATA_PID)),
                // XML-style `{"Data":[{"@Name":…,"#text":…}]}`: `data_field` searches it.
                ("Data", Unsure),
            ],
        ),
        (
            "event.",
            &[
                ("category", t(CATEGORY)),
                ("action", t(ACTION)),
                ("outcome", t(OUTCOME)),
                ("dataset", t(DATASET)),
                ("code", t(EVENT_CODE)),
                ("id", t(EVENT_ID)),
            ],
        ),
        ("user.", &[("name", t(USER_NAME)), ("domain", t(USER_DOMAIN))]),
        ("source.", &[("ip", t(SOURCE_IP)), ("port", t(SOURCE_PORT))]),
        (
            "process.",
            &[
                ("executable", t(PROCESS_EXECUTABLE)),
                ("name", t(PROCESS_NAME)),
                ("pid", t(PROCESS_PID)),
            ],
        ),
        ("host.", &[("name", t(HOST_NAME)), ("hostname", t(HOST_HOSTNAME))]),
        ("data_stream.", &[("dataset", t(DATA_STREAM_DATASET))]),
    ];

    /// [`NODES`] with its index.
    pub(super) static TRIE: KeyTrie = KeyTrie {
        nodes: &NODES,
        index: &key_trie::index(&NODES),
    };

    /// What [`super::from_winlogbeat`] makes of a target's value, reduced while it is read.
    #[derive(Debug)]
    pub(super) enum Captured<'de> {
        /// `event_code` of the value (`winlog.event_id`, `event.code`).
        Code(Option<u32>),
        /// `time_ms` of the value (`@timestamp`, `timestamp`, `winlog.time_created`).
        Time(Result<i64, RejectReason>),
        /// `text` of the value (every other target but `event.category`).
        Text(Option<Cow<'de, str>>),
        /// `text` of the value, a string the scanner unescaped: bytes `start..end` of the line's
        /// decoded text (see [`super::scan`]), not of the line.
        Decoded(usize, usize),
        /// `has_value(v, "authentication")` (`event.category`).
        Category(bool),
    }

    /// What the visitor (or the scanner) found so far.
    pub(super) struct Found<'de> {
        /// Per target, its value (present: the key exists, whatever its value).
        pub(super) slots: [Option<Captured<'de>>; N],
        /// The visitor met something it does not replicate with certainty and stopped.
        unsure: bool,
    }

    impl<'de> Found<'de> {
        /// Nothing found yet.
        pub(super) fn new() -> Self {
            Found {
                slots: [const { None }; N],
                unsure: false,
            }
        }
    }

    /// What [`decide`] reads a line's captures from: a capture table ([`Found`], from the scanner
    /// or the visitor), or a line read through a learned layout (`windows_shape.rs`), which knows
    /// where each target's value is without a table. [`decide`] reads each target once.
    pub(super) trait Captures<'de> {
        /// The capture of `target`; `None` when the line does not have it.
        fn take(&mut self, target: usize) -> Option<Captured<'de>>;

        /// Whether the line has `target`.
        fn has(&self, target: usize) -> bool;

        /// A text of the line: a `Cow` where one may be made, else a `&str`.
        type Text: AsRef<str>;

        /// `text` of a target; `None` when absent, or when present without a text. `decoded`:
        /// the text [`Captured::Decoded`] points into.
        fn text(&mut self, target: usize, decoded: &'de str) -> Option<Self::Text>;
    }

    impl<'de> Captures<'de> for Found<'de> {
        type Text = Cow<'de, str>;

        fn take(&mut self, target: usize) -> Option<Captured<'de>> {
            self.slots.get_mut(target)?.take()
        }

        fn text(&mut self, target: usize, decoded: &'de str) -> Option<Cow<'de, str>> {
            match self.take(target)? {
                Captured::Text(text) => text,
                Captured::Decoded(start, end) => decoded.get(start..end).map(Cow::Borrowed),
                _ => None,
            }
        }

        fn has(&self, target: usize) -> bool {
            self.slots.get(target).is_some_and(Option::is_some)
        }
    }

    /// Stops the parse: the caller answers with the reference path.
    fn unsure<E: de::Error>(flag: &mut bool) -> E {
        *flag = true;
        E::custom("not handled by the winlogbeat fast path")
    }

    /// The answer for one line: `None` when neither the scanner nor (if `visit`) the visitor is
    /// sure.
    /// `stream`: `out` reads a stream's lines one after another, so the scanner learns each
    /// line's layout for the next ones (see `windows_shape.rs`); a one-off line is only scanned.
    pub(super) fn event_from_text(
        text: &str,
        out: &mut LineEvent,
        visit: bool,
        stream: bool,
    ) -> Option<Result<bool, RejectReason>> {
        // `evtx_dump` writes every record as `{"Event":…`: the visitor would give up at the first
        // key anyway, after building an error (about 2 000 instructions a line).
        if text.trim_start().starts_with("{\"Event\"") {
            return None;
        }
        // The scanner's state (the unescaped strings' buffer, the last line's keys and layouts) is
        // the line event's, kept from line to line. The buffer is moved out meanwhile because the
        // captures borrow it while `out` is written (the rest is done with before).
        let mut decoded = std::mem::take(&mut out.winlogbeat.decoded);
        decoded.clear();
        let answer = scan_then_visit(text, &mut decoded, out, visit, stream);
        out.winlogbeat.decoded = decoded;
        answer
    }

    /// The hand-written scanner's answer, or the visitor's for what the scanner is not sure of.
    fn scan_then_visit(
        text: &str,
        decoded: &mut String,
        out: &mut LineEvent,
        visit: bool,
        stream: bool,
    ) -> Option<Result<bool, RejectReason>> {
        if stream {
            // The layouts are moved out meanwhile: a line read through one is built into `out`.
            let mut shapes = out.winlogbeat.shapes.take().unwrap_or_default();
            let known = super::scan::read_known(text, decoded, &mut shapes, &mut out.winlogbeat, &mut out.days);
            let answer = known.map(|mut known| decide(&mut known, decoded, out));
            out.winlogbeat.shapes = Some(shapes);
            if answer.is_some() {
                return answer;
            }
        }
        let mut found = Found::new();
        let days = stream.then_some(&mut out.days);
        if super::scan::read_document(text, &mut found, decoded, &mut out.winlogbeat, days).is_some() {
            return Some(decide(&mut found, decoded, out));
        }
        if !visit {
            return None;
        }
        // Partial captures of the scanner are dropped: the visitor starts over.
        let mut found = Found::new();
        match key_trie::read_document(text, &mut found) {
            Ok(true) => Some(decide(&mut found, "", out)),
            // Not reached: `not_an_object` gives up.
            Ok(false) => None,
            Err(_) if found.unsure => None,
            // Every error the visitor raises itself sets `unsure`: this one is serde_json's.
            Err(_) => Some(Err(RejectReason::InvalidJson)),
        }
    }

    /// [`super::from_winlogbeat`]'s decisions, on the values the visitor or the scanner kept
    /// (`decoded`: the scanner's unescaped strings).
    fn decide<'de>(
        found: &mut impl Captures<'de>,
        decoded: &'de str,
        out: &mut LineEvent,
    ) -> Result<bool, RejectReason> {
        // The first *present* path decides (`or_else` on the lookups, not on their meaning).
        let code = match found.take(WINLOG_EVENT_ID).or_else(|| found.take(EVENT_CODE)) {
            Some(Captured::Code(code)) => code,
            _ => None,
        };
        let Some(code) = code else {
            return Ok(false);
        };
        if logon_kind(code).is_none() {
            return Ok(false);
        }
        let time = found
            .take(TIMESTAMP)
            .or_else(|| found.take(TIMESTAMP_PLAIN))
            .or_else(|| found.take(TIME_CREATED));
        let timestamp_ms = match time {
            Some(Captured::Time(ms)) => ms?,
            _ => return Err(RejectReason::MissingTimestamp),
        };
        let category_has_auth = found.take(CATEGORY).map(|c| matches!(c, Captured::Category(true)));
        let dataset = if found.has(DATASET) {
            found.text(DATASET, decoded)
        } else {
            found.text(DATA_STREAM_DATASET, decoded)
        };
        let fields = Fields {
            code,
            timestamp_ms,
            user: found
                .text(DATA_USER, decoded)
                .or_else(|| found.text(USER_NAME, decoded)),
            domain: found
                .text(DATA_DOMAIN, decoded)
                .or_else(|| found.text(USER_DOMAIN, decoded)),
            ip: found.text(DATA_IP, decoded).or_else(|| found.text(SOURCE_IP, decoded)),
            host: found
                .text(COMPUTER_NAME, decoded)
                .or_else(|| found.text(HOST_NAME, decoded))
                .or_else(|| found.text(HOST_HOSTNAME, decoded)),
            process: found
                .text(DATA_PROCESS, decoded)
                .or_else(|| found.text(PROCESS_EXECUTABLE, decoded))
                .or_else(|| found.text(PROCESS_NAME, decoded)),
            logon_type: found.text(DATA_LOGON_TYPE, decoded),
            category_has_auth,
            outcome: found.text(OUTCOME, decoded).map(|s| Outcome::parse(s.as_ref())),
            action: found.text(ACTION, decoded),
            dataset,
            event_id: found.text(EVENT_ID, decoded),
            port: found
                .text(DATA_PORT, decoded)
                .or_else(|| found.text(SOURCE_PORT, decoded)),
            pid: found
                .text(DATA_PID, decoded)
                .or_else(|| found.text(PROCESS_PID, decoded)),
        };
        fill(fields, out);
        Ok(true)
    }

    impl<'de> Collector<'de> for Found<'de> {
        const TRIE: &'static KeyTrie = &TRIE;

        /// Reduces the value to what [`super::from_winlogbeat`] makes of it; gives up at a
        /// second candidate for one path (`lookup`'s order would decide).
        fn read_target<A: MapAccess<'de>>(&mut self, map: &mut A, target: usize, _: Route) -> Result<(), A::Error> {
            if self.slots[target].is_some() {
                return Err(unsure(&mut self.unsure));
            }
            let captured = match target {
                WINLOG_EVENT_ID | EVENT_CODE => Captured::Code(map.next_value_seed(CodeSeed)?),
                TIMESTAMP | TIMESTAMP_PLAIN | TIME_CREATED => Captured::Time(map.next_value_seed(TimeSeed {
                    unsure: &mut self.unsure,
                })?),
                CATEGORY => Captured::Category(map.next_value_seed(CategorySeed)?),
                _ => Captured::Text(map.next_value_seed(TextSeed)?),
            };
            self.slots[target] = Some(captured);
            Ok(())
        }

        fn give_up<E: de::Error>(&mut self) -> E {
            unsure(&mut self.unsure)
        }

        /// Left to the reference, which tells `NotAnObject` from `InvalidJson`.
        fn not_an_object<E: de::Error>(&mut self) -> Result<(), E> {
            Err(unsure(&mut self.unsure))
        }
    }

    /// Whether a key is `#text` (the element text of XML-to-JSON converters).
    struct IsHashText;

    impl<'de> DeserializeSeed<'de> for IsHashText {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for IsHashText {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E>(self, key: &str) -> Result<bool, E> {
            Ok(key == "#text")
        }
    }

    /// The value of the last `#text` key of an object (as `Map::get` finds it), read by `seed`;
    /// `None` without one.
    fn hash_text<'de, A, S>(mut map: A, seed: S) -> Result<Option<S::Value>, A::Error>
    where
        A: MapAccess<'de>,
        S: DeserializeSeed<'de> + Copy,
    {
        let mut text = None;
        while let Some(is_text) = map.next_key_seed(IsHashText)? {
            if is_text {
                text = Some(map.next_value_seed(seed)?);
            } else {
                map.next_value::<Skip>()?;
            }
        }
        Ok(text)
    }

    /// `event_code` of a value: a number, a string (trimmed), the `#text` of an object, the first
    /// element of an array. Numbers go through `Number` as a `Value` would hold them.
    #[derive(Clone, Copy)]
    struct CodeSeed;

    fn code_of(n: Option<Number>) -> Option<u32> {
        n?.as_u64().and_then(|n| u32::try_from(n).ok())
    }

    impl<'de> DeserializeSeed<'de> for CodeSeed {
        type Value = Option<u32>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u32>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for CodeSeed {
        type Value = Option<u32>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<u32>, A::Error> {
            Ok(hash_text(map, CodeSeed)?.flatten())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<u32>, A::Error> {
            let first = seq.next_element_seed(CodeSeed)?.flatten();
            skip_seq(seq)?;
            Ok(first)
        }
        fn visit_str<E>(self, s: &str) -> Result<Option<u32>, E> {
            Ok(s.trim().parse().ok())
        }
        fn visit_bool<E>(self, _: bool) -> Result<Option<u32>, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, n: i64) -> Result<Option<u32>, E> {
            Ok(code_of(Some(n.into())))
        }
        fn visit_u64<E>(self, n: u64) -> Result<Option<u32>, E> {
            Ok(code_of(Some(n.into())))
        }
        fn visit_f64<E>(self, n: f64) -> Result<Option<u32>, E> {
            Ok(code_of(Number::from_f64(n)))
        }
        fn visit_unit<E>(self) -> Result<Option<u32>, E> {
            Ok(None)
        }
    }

    /// `time_ms` of a present value. An object (evtx-style `{"#attributes":{"SystemTime":…}}`)
    /// is left to the reference.
    struct TimeSeed<'a> {
        unsure: &'a mut bool,
    }

    type Time = Result<i64, RejectReason>;

    /// A number as `time_ms` reads it: epoch milliseconds, integral or not; `None` is a number a
    /// `Value` would hold as `null`.
    fn time_of(n: Option<Number>) -> Time {
        let Some(n) = n else {
            return Err(RejectReason::MissingTimestamp);
        };
        n.as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or(RejectReason::InvalidTimestamp)
    }

    impl<'de> DeserializeSeed<'de> for TimeSeed<'_> {
        type Value = Time;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Time, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for TimeSeed<'_> {
        type Value = Time;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Time, A::Error> {
            Err(unsure(self.unsure))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Time, A::Error> {
            skip_seq(seq)?;
            Ok(Err(RejectReason::InvalidTimestamp))
        }
        fn visit_str<E>(self, s: &str) -> Result<Time, E> {
            Ok(parse_rfc3339_ms(s).ok_or(RejectReason::InvalidTimestamp))
        }
        fn visit_bool<E>(self, _: bool) -> Result<Time, E> {
            Ok(Err(RejectReason::InvalidTimestamp))
        }
        fn visit_i64<E>(self, n: i64) -> Result<Time, E> {
            Ok(time_of(Some(n.into())))
        }
        fn visit_u64<E>(self, n: u64) -> Result<Time, E> {
            Ok(time_of(Some(n.into())))
        }
        fn visit_f64<E>(self, n: f64) -> Result<Time, E> {
            Ok(time_of(Number::from_f64(n)))
        }
        fn visit_unit<E>(self) -> Result<Time, E> {
            Ok(Err(RejectReason::MissingTimestamp))
        }
    }

    /// `text` of a value: a non-empty string (borrowed when it has no escapes), a number or a
    /// boolean printed, the `#text` of an object, the first element of an array that has a text.
    #[derive(Clone, Copy)]
    struct TextSeed;

    impl<'de> DeserializeSeed<'de> for TextSeed {
        type Value = Option<Cow<'de, str>>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for TextSeed {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Ok(hash_text(map, TextSeed)?.flatten())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while let Some(text) = seq.next_element_seed(TextSeed)? {
                if text.is_some() {
                    skip_seq(seq)?;
                    return Ok(text);
                }
            }
            Ok(None)
        }
        fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
            Ok((!s.is_empty()).then_some(Cow::Borrowed(s)))
        }
        fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
            Ok((!s.is_empty()).then(|| Cow::Owned(s.to_owned())))
        }
        fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(if b { "true" } else { "false" })))
        }
        fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(Number::from(n).to_string())))
        }
        fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(Number::from(n).to_string())))
        }
        fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
            Ok(Number::from_f64(n).map(|n| Cow::Owned(n.to_string())))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }

    /// `has_value(v, "authentication")`: the string itself, or any string in an array (at any
    /// depth); objects and other scalars have none.
    #[derive(Clone, Copy)]
    struct CategorySeed;

    impl<'de> DeserializeSeed<'de> for CategorySeed {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for CategorySeed {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
            skip_map(map).map(|()| false)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut any = false;
            while let Some(found) = seq.next_element_seed(CategorySeed)? {
                any |= found;
            }
            Ok(any)
        }
        fn visit_str<E>(self, s: &str) -> Result<bool, E> {
            Ok(s == "authentication")
        }
        fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Every path of `PATHS` in the trie; plus the two keys that give up.
        #[test]
        fn trie_is_complete() {
            crate::ingest::key_trie::assert_complete(&TRIE, &PATHS, &["Event", "winlog.event_data.Data"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evtx(id: Value, data: Value) -> Value {
        json!({"Event":{
            "System":{"EventID":id,"TimeCreated":{"#attributes":{"SystemTime":"2016-07-08T18:12:51.681640Z"}},"Computer":"WS-01"},
            "EventData":data}})
    }

    #[test]
    fn evtx_4624_remote() {
        let v = evtx(
            json!(4624),
            json!({"TargetUserName":"bob","TargetDomainName":"CORP","IpAddress":"::ffff:203.0.113.7","IpPort":"50812","LogonType":10,"ProcessName":"C:\\Windows\\System32\\winlogon.exe","ProcessId":"0x1e4"}),
        );
        let l = windows_logon(&v).unwrap().unwrap();
        assert_eq!(l.event_code, 4624);
        assert_eq!(l.source, SourceStatus::Usable);
        let e = l.event;
        assert_eq!(e.timestamp_ms, 1_468_001_571_681);
        assert_eq!(e.user_name, "bob");
        assert_eq!(e.user_domain.as_deref(), Some("CORP"));
        assert_eq!(e.source_ip, "203.0.113.7".parse().ok());
        assert_eq!(e.outcome, Some(Outcome::Success));
        assert_eq!(e.host_name.as_deref(), Some("WS-01"));
        assert_eq!(e.process_name.as_deref(), Some("winlogon.exe"));
        assert_eq!(e.logon_type.as_deref(), Some("10"));
        assert_eq!((e.source_port, e.process_pid), (Some(50812), Some(0x1e4)));
        assert_eq!(e.action.as_deref(), Some("logged-in"));
        assert!(e.is_authentication);
    }

    #[test]
    fn evtx_id_shapes_and_local_sources() {
        for (ip, status) in [
            ("-", SourceStatus::Absent),
            ("::1", SourceStatus::Unusable),
            ("127.0.0.1", SourceStatus::Unusable),
            ("fe80::8ff:be62:afa2:6258", SourceStatus::Unusable),
            ("169.254.3.4", SourceStatus::Unusable),
            ("not an ip", SourceStatus::Absent),
        ] {
            let v = evtx(
                json!({"#attributes":{"Qualifiers":0},"#text":4625}),
                json!({"TargetUserName":"x","IpAddress":ip,"LogonType":"3"}),
            );
            let l = windows_logon(&v).unwrap().unwrap();
            assert_eq!(l.source, status, "{ip}");
            assert_eq!(l.source.code(), "no_usable_source");
            assert_eq!(l.event.source_ip, None);
            assert_eq!(l.event.outcome, Some(Outcome::Failure));
            assert_eq!(l.event.logon_type.as_deref(), Some("3"));
        }
        let v = evtx(json!("4624"), json!({"TargetUserName":"x"}));
        assert!(event_from_windows_json(&v).unwrap().is_some());
    }

    #[test]
    fn explicit_credentials_have_no_source() {
        let v = evtx(
            json!(4648),
            json!({"SubjectUserName":"alice","TargetUserName":"admin","TargetServerName":"srv","IpAddress":"198.51.100.20","IpPort":"445","ProcessName":"C:\\Windows\\System32\\runas.exe"}),
        );
        let l = windows_logon(&v).unwrap().unwrap();
        assert_eq!(l.source, SourceStatus::Target);
        // The address and port are the target's: neither is the source.
        assert_eq!((l.event.source_ip, l.event.source_port), (None, None));
        assert_eq!(l.event.user_name, "admin");
        assert_eq!(l.event.outcome, Some(Outcome::Success));
        assert!(l.event.is_authentication);
        assert_eq!(l.event.process_name.as_deref(), Some("runas.exe"));
    }

    #[test]
    fn logoffs_and_others_are_not_logons() {
        for id in [4634, 4647, 4672, 4776] {
            let v = evtx(json!(id), json!({"TargetUserName":"x"}));
            assert_eq!(event_from_windows_json(&v), Ok(None), "{id}");
        }
        assert_eq!(event_from_windows_json(&json!({"Event":{}})), Ok(None));
        assert_eq!(event_from_windows_json(&json!({"a":1})), Ok(None));
        assert_eq!(event_from_windows_json(&json!([1])), Err(RejectReason::NotAnObject));
    }

    #[test]
    fn evtx_time_errors() {
        let v = json!({"Event":{"System":{"EventID":4624},"EventData":{}}});
        assert_eq!(event_from_windows_json(&v), Err(RejectReason::MissingTimestamp));
        let v = json!({"Event":{"System":{"EventID":4624,"TimeCreated":{"#attributes":{"SystemTime":"soon"}}}}});
        assert_eq!(event_from_windows_json(&v), Err(RejectReason::InvalidTimestamp));
        // A logoff with a broken time is still just not a logon.
        let v = json!({"Event":{"System":{"EventID":4634,"TimeCreated":"soon"}}});
        assert_eq!(event_from_windows_json(&v), Ok(None));
    }

    #[test]
    fn xml_style_event_data() {
        let v = json!({"Event":{"System":{"EventID":{"#text":"4625"},"TimeCreated":{"@SystemTime":"2024-01-02T03:04:05Z"},"Computer":"H"},
            "EventData":{"Data":[{"@Name":"TargetUserName","#text":"carol"},{"#attributes":{"Name":"IpAddress"},"#text":"192.0.2.5"},{"@Name":"LogonType","#text":"3"}]}}});
        let e = event_from_windows_json(&v).unwrap().unwrap();
        assert_eq!(e.user_name, "carol");
        assert_eq!(e.source_ip, "192.0.2.5".parse().ok());
        assert_eq!(e.logon_type.as_deref(), Some("3"));
        assert_eq!(e.outcome, Some(Outcome::Failure));
    }

    #[test]
    fn winlogbeat_raw_derives_category_and_outcome() {
        let v = json!({"@timestamp":"2024-05-01T10:00:00.000Z",
            "winlog":{"event_id":"4624","computer_name":"DC01.corp","event_data":{"TargetUserName":"dave","TargetDomainName":"CORP","IpAddress":"10.20.30.40","LogonType":"3","ProcessName":"-"}},
            "event":{"provider":"Microsoft-Windows-Security-Auditing"}});
        let l = windows_logon(&v).unwrap().unwrap();
        assert_eq!(l.source, SourceStatus::Usable);
        let e = l.event;
        assert!(e.is_authentication);
        assert_eq!(e.outcome, Some(Outcome::Success));
        assert_eq!(e.user_name, "dave");
        assert_eq!(e.host_name.as_deref(), Some("DC01.corp"));
        assert_eq!(e.source_ip, "10.20.30.40".parse().ok());
        assert_eq!(e.process_name, None);
        // Dotted keys, numeric id, ECS fields as fallbacks, explicit outcome kept.
        let v = json!({"@timestamp":1714557600000i64,"winlog.event_id":4625,"winlog.event_data.TargetUserName":"erin",
            "source.ip":"10.1.1.1","event.outcome":"failure","event.category":["authentication"],"host.name":"ws"});
        let e = event_from_windows_json(&v).unwrap().unwrap();
        assert_eq!(e.user_name, "erin");
        assert_eq!(e.source_ip, "10.1.1.1".parse().ok());
        assert_eq!(e.outcome, Some(Outcome::Failure));
        assert_eq!(e.host_name.as_deref(), Some("ws"));
        let v = json!({"winlog":{"event_id":4624}});
        assert_eq!(event_from_windows_json(&v), Err(RejectReason::MissingTimestamp));
    }

    /// One line event for a stream of lines of many layouts, in a pseudo-random order: the
    /// scanner's memory of the last line (its keys, its unescaped strings) never changes an
    /// answer, which is the reference's whenever the fast path gives one.
    #[test]
    fn a_stream_of_mixed_layouts_gets_the_references_answers() {
        let lines = [
            r#"{"@timestamp":"2026-10-01T00:04:31.853Z","event":{"category":["authentication"],"action":"logged-in","outcome":"success","kind":"event","dataset":"system.security","code":"4624"},"user":{"name":"svc-legacy-sync","domain":"CORP"},"source":{"ip":"10.10.0.49"},"host":{"name":"fs-01"},"winlog":{"event_data":{"LogonType":"3"}}}"#,
            r#"{"@timestamp":"2026-10-01T00:04:31.853Z","event":{"category":["authentication"],"action":"logon-failed","outcome":"failure","kind":"event","dataset":"system.security","code":"4625"},"user":{"name":"bob"},"source":{"ip":"203.0.113.9"},"host":{"name":"fs-02"},"winlog":{"event_data":{"LogonType":"10"}}}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"code":"4624","category":["authentication"]},"winlog":{"event_id":"4624","computer_name":"dc01.corp.example","event_data":{"TargetUserName":"carol","TargetDomainName":"CORP","IpAddress":"10.1.2.3","IpPort":"51000","LogonType":"3","ProcessName":"C:\\Windows\\System32\\lsass.exe"}}}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"code":"4625","category":["authentication"]},"winlog":{"event_id":"4625","computer_name":"dc01.corp.example","event_data":{"TargetUserName":"d\u0061ve","TargetDomainName":"CORP","IpAddress":"10.1.2.4","IpPort":"51001","LogonType":"3","ProcessName":"C:\\Windows\\explorer.exe"}}}"#,
            r#"{"@timestamp":1714557600000,"winlog.event_id":4625,"winlog.event_data.TargetUserName":"erin","source.ip":"10.1.1.1","event.outcome":"failure","event.category":["authentication"],"host.name":"ws"}"#,
            r#"{"@timestamp":1714557600000,"event":{"code":4624,"codes":1},"user":{"nam":"x","name":"y"},"winlog":{"event_data":{"Target\u0055serName":"z"}}}"#,
            r#"{"@timestamp":0,"event.code":4624,"user":{"name":"a"},"user.name":"b"}"#,
            r##"{"@timestamp":0,"winlog":{"event_id":4625,"event_data":{"Data":[{"@Name":"TargetUserName","#text":"carol"}]}}}"##,
            r#"{"event":{"code":"4624"},"@timestamp":"2024-05-01T10:00:00Z","user":{"domain":"D","name":"after"}}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00Z","event":{"code":"4634"}}"#,
            r#"{"@timestamp":"soon","event":{"code":"4624"}}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00Z","event":{"code":"4624"},"user":{"name":"\ud800"}}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00Z","event":{"code":"4624"},"user":{"name":"x"},}"#,
            r#"{"@timestamp":"2024-05-01T10:00:00Z","event":{"code":"4624"},"user":{"name":"x"}} x"#,
        ];
        let reference = |text: &str| -> Result<Option<AuthEvent>, RejectReason> {
            let value: Value = serde_json::from_str(text).map_err(|_| RejectReason::InvalidJson)?;
            event_from_windows_json(&value)
        };
        let mut line = LineEvent::default();
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2_000 {
            let text = lines[(next() % lines.len() as u64) as usize];
            if let Some(answer) = winlogbeat_event_into(text, &mut line) {
                let answer = answer.map(|is_logon| is_logon.then(|| line.event.clone()));
                assert_eq!(answer, reference(text), "{text}");
            }
        }
    }

    #[test]
    fn random_json_never_panics() {
        let base = r##"{"Event":{"System":{"EventID":{"#text":4624},"TimeCreated":{"#attributes":{"SystemTime":"2016-07-08T18:12:51Z"}},"Computer":"C"},"EventData":{"Data":[{"@Name":"IpAddress","#text":"1.2.3.4"}],"TargetUserName":"u","LogonType":5}},"winlog":{"event_id":"4625"}}"##;
        let mut next = crate::xorshift(0x2545_f491_4f6c_dd1d);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let mut b = base.as_bytes().to_vec();
            for _ in 0..(next() % 4) {
                let r = next();
                let i = (r as usize >> 8) % b.len();
                b[i] = b"{}[]\":,0123456789-#@ aZ"[(r % 23) as usize];
            }
            if let Ok(v) = serde_json::from_slice::<Value>(&b) {
                parsed += 1;
                let _ = windows_logon(&v);
            }
        }
        assert!(parsed > 100);
    }
}
