//! ECS JSON documents (Elastic's `system.auth`, `system.security`, `endpoint.events.security`,
//! `auditd_manager`), with nested (`{"user":{"name":…}}`) or dotted (`{"user.name":…}`) keys, or
//! any mix of the two.

use serde_json::{Map, Value};

use super::RejectReason;
use crate::event::{AuthEvent, Outcome};
use crate::net::parse_ip;
use crate::time::parse_rfc3339_ms;

/// Finds `path` (dotted) in `obj`, trying every split of the path into a literal key and a
/// remainder, so `user.name` matches `{"user.name":…}`, `{"user":{"name":…}}` and mixtures.
pub(crate) fn lookup<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let mut start = 0;
    while let Some(pos) = path[start..].find('.') {
        let split = start + pos;
        if let Some(Value::Object(inner)) = obj.get(&path[..split]) {
            if let Some(v) = lookup(inner, &path[split + 1..]) {
                return Some(v);
            }
        }
        start = split + 1;
    }
    None
}

/// A scalar as text: strings as they are, numbers and booleans printed; arrays give their first
/// scalar (ECS allows `source.ip: ["1.2.3.4"]`).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) => a.iter().find_map(scalar_text),
        _ => None,
    }
}

fn text(obj: &Map<String, Value>, path: &str) -> Option<String> {
    lookup(obj, path).and_then(scalar_text).filter(|s| !s.is_empty())
}

fn has_value(v: &Value, wanted: &str) -> bool {
    match v {
        Value::String(s) => s == wanted,
        Value::Array(a) => a.iter().any(|x| has_value(x, wanted)),
        _ => false,
    }
}

/// Parses one ECS JSON document (text) into an [`AuthEvent`].
pub fn event_from_json(text: &str) -> Result<AuthEvent, RejectReason> {
    let value: Value = serde_json::from_str(text).map_err(|_| RejectReason::InvalidJson)?;
    event_from_json_value(&value)
}

/// Converts an already-parsed ECS JSON value into an [`AuthEvent`].
pub fn event_from_json_value(value: &Value) -> Result<AuthEvent, RejectReason> {
    let obj = value.as_object().ok_or(RejectReason::NotAnObject)?;
    let Some(ts) = lookup(obj, "@timestamp").or_else(|| lookup(obj, "timestamp")) else {
        // auditd records carry their time in `msg=audit(1553501549.148:110544844)`.
        return match text(obj, "event.original").as_deref().and_then(audit_record_time_ms) {
            Some(ms) => finish(obj, ms),
            None => Err(RejectReason::MissingTimestamp),
        };
    };
    let timestamp_ms = match ts {
        Value::String(s) => parse_rfc3339_ms(s).ok_or(RejectReason::InvalidTimestamp)?,
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or(RejectReason::InvalidTimestamp)?,
        _ => return Err(RejectReason::InvalidTimestamp),
    };
    finish(obj, timestamp_ms)
}

/// The epoch milliseconds in an auditd `msg=audit(SECONDS.MILLIS:SERIAL)` header.
fn audit_record_time_ms(original: &str) -> Option<i64> {
    let start = original.find("audit(")? + "audit(".len();
    let rest = &original[start..];
    let end = rest.find(':')?;
    let (secs, frac) = rest[..end].split_once('.').unwrap_or((&rest[..end], "0"));
    let secs: i64 = secs.parse().ok()?;
    let millis: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    secs.checked_mul(1000)?.checked_add(millis)
}

fn finish(obj: &Map<String, Value>, timestamp_ms: i64) -> Result<AuthEvent, RejectReason> {
    let action = text(obj, "event.action");
    // auditd USER_AUTH ("authenticated"): the account being authenticated is the effective user;
    // `user.name` is the caller (e.g. root running `su`).
    let effective = text(obj, "user.effective.name");
    let user_name = match (action.as_deref(), &effective) {
        (Some("authenticated"), Some(eff)) => eff.clone(),
        _ => text(obj, "user.name").or(effective).unwrap_or_default(),
    };

    let source_ip = text(obj, "source.ip").and_then(|s| parse_ip(&s));
    let outcome = text(obj, "event.outcome").map(|s| Outcome::parse(&s));
    let is_authentication = lookup(obj, "event.category").is_some_and(|v| has_value(v, "authentication"));

    Ok(AuthEvent {
        timestamp_ms,
        user_name,
        user_domain: text(obj, "user.domain"),
        source_ip,
        outcome,
        host_name: text(obj, "host.name").or_else(|| text(obj, "host.hostname")),
        is_authentication,
        action,
        dataset: text(obj, "event.dataset").or_else(|| text(obj, "data_stream.dataset")),
        process_name: text(obj, "process.name"),
        logon_type: text(obj, "winlog.event_data.LogonType"),
        event_id: text(obj, "event.id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_dotted_agree() {
        let nested = r#"{"@timestamp":"2026-10-01T08:00:00Z","event":{"category":["authentication"],"outcome":"success"},"user":{"name":"alice"},"source":{"ip":"::ffff:10.0.0.1"},"host":{"name":"h1"}}"#;
        let dotted = r#"{"@timestamp":"2026-10-01T08:00:00Z","event.category":"authentication","event.outcome":"success","user.name":"alice","source.ip":["10.0.0.1"],"host.name":"h1"}"#;
        let a = event_from_json(nested).unwrap();
        let b = event_from_json(dotted).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.source_ip, Some("10.0.0.1".parse().unwrap()));
        assert!(a.is_authentication);
        assert_eq!(a.outcome(), Outcome::Success);
    }

    #[test]
    fn rejections_name_the_reason() {
        assert_eq!(event_from_json("{"), Err(RejectReason::InvalidJson));
        assert_eq!(event_from_json("[1]"), Err(RejectReason::NotAnObject));
        assert_eq!(
            event_from_json(r#"{"user":{"name":"a"}}"#),
            Err(RejectReason::MissingTimestamp)
        );
        assert_eq!(
            event_from_json(r#"{"@timestamp":"yesterday"}"#),
            Err(RejectReason::InvalidTimestamp)
        );
        let deep = "[".repeat(10_000);
        assert_eq!(event_from_json(&deep), Err(RejectReason::InvalidJson));
    }

    #[test]
    fn auditd_user_auth_uses_effective_user() {
        let doc = r#"{"@timestamp":1552714590571,"event":{"action":"authenticated","category":["authentication"],"outcome":"success"},"user":{"effective":{"name":"bob"},"name":"root"}}"#;
        assert_eq!(event_from_json(doc).unwrap().user_name, "bob");
    }

    #[test]
    fn auditd_time_from_the_record_header() {
        let doc = r#"{"event":{"original":"type=USER_LOGIN msg=audit(1553501549.148:110544844): user pid=374"},"user":{"name":"x"}}"#;
        assert_eq!(event_from_json(doc).unwrap().timestamp_ms, 1_553_501_549_148);
        assert_eq!(
            event_from_json(r#"{"event":{"original":"audit(x:1)"}}"#),
            Err(RejectReason::MissingTimestamp)
        );
    }

    #[test]
    fn dash_and_garbage_source_mean_no_ip() {
        let doc = r#"{"@timestamp":0,"source":{"ip":"-"},"user":{"name":"x"}}"#;
        assert_eq!(event_from_json(doc).unwrap().source_ip, None);
        let doc = r#"{"@timestamp":0,"source":{"ip":"not-an-ip"},"user":{"name":"x"}}"#;
        assert_eq!(event_from_json(doc).unwrap().source_ip, None);
    }
}
