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
    let ts = lookup(obj, "@timestamp")
        .or_else(|| lookup(obj, "timestamp"))
        .ok_or(RejectReason::MissingTimestamp)?;
    let timestamp_ms = match ts {
        Value::String(s) => parse_rfc3339_ms(s).ok_or(RejectReason::InvalidTimestamp)?,
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && f.abs() < 9.0e15).map(|f| f as i64))
            .ok_or(RejectReason::InvalidTimestamp)?,
        _ => return Err(RejectReason::InvalidTimestamp),
    };

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
        assert_eq!(event_from_json(r#"{"user":{"name":"a"}}"#), Err(RejectReason::MissingTimestamp));
        assert_eq!(event_from_json(r#"{"@timestamp":"yesterday"}"#), Err(RejectReason::InvalidTimestamp));
        let deep = "[".repeat(10_000);
        assert_eq!(event_from_json(&deep), Err(RejectReason::InvalidJson));
    }

    #[test]
    fn auditd_user_auth_uses_effective_user() {
        let doc = r#"{"@timestamp":1552714590571,"event":{"action":"authenticated","category":["authentication"],"outcome":"success"},"user":{"effective":{"name":"bob"},"name":"root"}}"#;
        assert_eq!(event_from_json(doc).unwrap().user_name, "bob");
    }

    #[test]
    fn dash_and_garbage_source_mean_no_ip() {
        let doc = r#"{"@timestamp":0,"source":{"ip":"-"},"user":{"name":"x"}}"#;
        assert_eq!(event_from_json(doc).unwrap().source_ip, None);
        let doc = r#"{"@timestamp":0,"source":{"ip":"not-an-ip"},"user":{"name":"x"}}"#;
        assert_eq!(event_from_json(doc).unwrap().source_ip, None);
    }
}
