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

use serde_json::{Map, Value};

use super::ecs::lookup;
use super::RejectReason;
use crate::event::{AuthEvent, Outcome};
use crate::net::{is_unusable_source, parse_ip};
use crate::time::parse_rfc3339_ms;

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

/// Like [`event_from_windows_json`], keeping the event id and what became of the source address.
pub fn windows_logon(v: &Value) -> Result<Option<WindowsLogon>, RejectReason> {
    let obj = v.as_object().ok_or(RejectReason::NotAnObject)?;
    match obj.get("Event") {
        Some(Value::Object(event)) => from_evtx(event),
        _ => from_winlogbeat(obj),
    }
}

/// Text of a scalar, `{"#text": …}` object or first element of an array; `None` when empty.
fn text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
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
fn data_field(data: &Value, name: &str) -> Option<String> {
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

/// The base name of a Windows (or POSIX) path; `None` for `-` or empty.
/// A Windows process id: `0x1e4` (as the Security log writes it) or decimal.
fn parse_pid(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn basename(path: &str) -> Option<String> {
    let name = path.rsplit(['\\', '/']).next().unwrap_or(path).trim();
    (!name.is_empty() && name != "-").then(|| name.to_string())
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

/// The fields both shapes share, once located.
struct Fields {
    code: u32,
    timestamp_ms: i64,
    user: Option<String>,
    domain: Option<String>,
    ip: Option<String>,
    host: Option<String>,
    process: Option<String>,
    logon_type: Option<String>,
    category_has_auth: Option<bool>,
    outcome: Option<Outcome>,
    action: Option<String>,
    dataset: Option<String>,
    event_id: Option<String>,
    /// `IpPort` / `source.port`.
    port: Option<String>,
    /// `ProcessId` (hex, `0x1e4`, in evtx) / `process.pid`.
    pid: Option<String>,
}

fn finish(f: Fields) -> WindowsLogon {
    let (derived_outcome, derived_action) = match logon_kind(f.code) {
        Some(k) => k,
        None => (Outcome::Unknown, ""),
    };
    let (source_ip, source) = if f.code == 4648 {
        (None, SourceStatus::Target)
    } else {
        match f.ip.as_deref().and_then(parse_ip) {
            None => (None, SourceStatus::Absent),
            Some(ip) if is_unusable_source(ip) => (None, SourceStatus::Unusable),
            Some(ip) => (Some(ip), SourceStatus::Usable),
        }
    };
    let event = AuthEvent {
        timestamp_ms: f.timestamp_ms,
        user_name: f.user.unwrap_or_default(),
        user_domain: f.domain,
        source_ip,
        outcome: Some(f.outcome.unwrap_or(derived_outcome)),
        host_name: f.host,
        is_authentication: f.category_has_auth.unwrap_or(true),
        action: f.action.or_else(|| Some(derived_action.to_string())),
        dataset: f.dataset.or_else(|| Some(DATASET.to_string())),
        process_name: f.process.as_deref().and_then(basename),
        logon_type: f.logon_type,
        event_id: f.event_id,
        // A 4648's port is the target's, like its address.
        source_port: f.port.filter(|_| source_ip.is_some()).and_then(|p| p.parse().ok()),
        process_pid: f.pid.as_deref().and_then(parse_pid),
        ssh_method: None,
    };
    WindowsLogon {
        event,
        event_code: f.code,
        source,
    }
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
    let field = |name: &str, ecs: &[&str]| -> Option<String> {
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

    #[test]
    fn random_json_never_panics() {
        let base = r##"{"Event":{"System":{"EventID":{"#text":4624},"TimeCreated":{"#attributes":{"SystemTime":"2016-07-08T18:12:51Z"}},"Computer":"C"},"EventData":{"Data":[{"@Name":"IpAddress","#text":"1.2.3.4"}],"TargetUserName":"u","LogonType":5}},"winlog":{"event_id":"4625"}}"##;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
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
