//! ECS JSON documents (Elastic's `system.auth`, `system.security`, `endpoint.events.security`,
//! `auditd_manager`), with nested (`{"user":{"name":…}}`) or dotted (`{"user.name":…}`) keys, or
//! any mix of the two.
//!
//! Two implementations with one answer:
//! - [`event_from_json_value`] reads an already-parsed [`Value`] with [`lookup`] (the reference);
//! - [`event_from_json`] (the NDJSON path) parses the text with a serde visitor that keeps only
//!   the fields the jobs use, borrowing strings from the input, and never builds a `Value`. It
//!   replicates [`lookup`]'s precedence (the whole path as a literal key first, then each split of
//!   the path into a key and a nested remainder, left to right) and serde_json's duplicate-key rule
//!   (the last occurrence of a key replaces the earlier value), and validates every skipped value
//!   exactly as building a `Value` would (escapes, surrogates, number range, nesting limit 128).
//!   In front of it, a hand-written scanner (`ecs_scan.rs`) fills the same captures in one pass
//!   over the bytes for the common shapes (no escapes, plain numbers) and hands anything else to
//!   the visitor. In front of the scanner, for a stream ([`super::LineParser`], the detector),
//!   the layouts of recent lines (`ecs_shape.rs`): a line of a known layout is checked by its
//!   literal text, only its values are read, and the event is built from where each field is
//!   (no capture table). `tests/ecs_fast_equivalence.rs` checks that all of them agree.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::key_trie::{self, skip_map, Collector, Entry, KeyTrie, Route};
use super::RejectReason;
use crate::event::{AuthEvent, LineEvent, Outcome};

#[path = "ecs_scan.rs"]
pub(super) mod scan;
#[path = "ecs_shape.rs"]
mod shape;
use crate::net::parse_ip;
use crate::time::parse_rfc3339_ms;
pub(crate) use shape::LineShapes;

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

/// Parses one ECS JSON document (text) into an [`AuthEvent`]: the same result as
/// `event_from_json_value(&serde_json::from_str(text)?)`, without building the `Value`.
pub fn event_from_json(text: &str) -> Result<AuthEvent, RejectReason> {
    let mut line = LineEvent::default();
    event_from_json_into(text, &mut line, None)?;
    Ok(line.event)
}

/// [`event_from_json`] into `event`, reusing its strings: the detector parses every line of a
/// stream into the same event, so the common shapes allocate nothing. On `Err`, `event` holds
/// whatever the line had filled in so far.
pub(crate) fn event_from_json_into(
    text: &str,
    event: &mut LineEvent,
    shapes: Option<&mut LineShapes>,
) -> Result<(), RejectReason> {
    // A line of a known layout is read at its known places; the hand-written scanner answers the
    // common shapes; the serde visitor everything else.
    if let Some(shapes) = shapes {
        if let Some(known) = shapes.read_known(text, event) {
            return known.result;
        }
        return event_from_json_unknown_layout(text, event, Some(shapes));
    }
    event_from_json_unknown_layout(text, event, None)
}

/// [`event_from_json_into`] of a line that none of the stream's `shapes` matches (they learn its
/// layout), or without shapes.
pub(crate) fn event_from_json_unknown_layout(
    text: &str,
    event: &mut LineEvent,
    shapes: Option<&mut LineShapes>,
) -> Result<(), RejectReason> {
    let mut found = Found::new();
    let answered = match shapes {
        Some(shapes) => shapes.scan_and_learn(text, &mut found),
        None => scan::scan_document(text, &mut found),
    };
    if answered.is_some() {
        return fast::event_from(&found, event);
    }
    let mut found = Found::new();
    match key_trie::read_document(text, &mut found) {
        Ok(true) => fast::event_from(&found, event),
        Ok(false) => Err(RejectReason::NotAnObject),
        Err(_) if found.duplicate_key => {
            let value: Value = serde_json::from_str(text).map_err(|_| RejectReason::InvalidJson)?;
            event.replace(event_from_json_value(&value)?);
            Ok(())
        }
        Err(_) => Err(RejectReason::InvalidJson),
    }
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
        Value::Number(n) => number_ms(n).ok_or(RejectReason::InvalidTimestamp)?,
        _ => return Err(RejectReason::InvalidTimestamp),
    };
    finish(obj, timestamp_ms)
}

/// A numeric `@timestamp`: epoch milliseconds, integral or not.
fn number_ms(n: &Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.is_finite() && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
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
        source_port: text(obj, "source.port").and_then(|p| p.parse().ok()),
        process_pid: text(obj, "process.pid").and_then(|p| p.parse().ok()),
        ssh_method: text(obj, "system.auth.ssh.method"),
    })
}

/// The text fast path: a serde visitor that extracts only the fields [`finish`] reads.
///
/// An instance of the shared key-trie visitor (`key_trie.rs`) over the trie [`NODES`] (`""`,
/// `"event."`, `"user."`, `"user.effective."`, …). How it replicates [`lookup`]: at a node, a key
/// either names a target's whole remaining path (found, slot 0) or names `j` more segments of it
/// and holds an object (slot `j`, continue at the child node). `lookup` answers with the value whose
/// sequence of slots, top level first, is the smallest; the visitor registers every value it finds
/// with that sequence ([`Route`]) and keeps the smallest per target. A key repeated in one object
/// replaces the earlier value in a `Value`, which would take routes back; such documents (a key
/// that matters, twice in one object) are rare and go through the reference path instead.
mod fast {
    use super::*;

    /// Number of targets.
    pub(super) const N: usize = 20;
    const TIMESTAMP: usize = 0;
    const TIMESTAMP_PLAIN: usize = 1;
    const ORIGINAL: usize = 2;
    const ACTION: usize = 3;
    const EFFECTIVE_NAME: usize = 4;
    const USER_NAME: usize = 5;
    const SOURCE_IP: usize = 6;
    const OUTCOME: usize = 7;
    const CATEGORY: usize = 8;
    const DOMAIN: usize = 9;
    const HOST_NAME: usize = 10;
    const HOST_HOSTNAME: usize = 11;
    const DATASET: usize = 12;
    const DATA_STREAM_DATASET: usize = 13;
    const PROCESS_NAME: usize = 14;
    const LOGON_TYPE: usize = 15;
    const EVENT_ID: usize = 16;
    const SOURCE_PORT: usize = 17;
    const PROCESS_PID: usize = 18;
    const SSH_METHOD: usize = 19;

    /// The `lookup` paths the fast path extracts; a target is an index into this list. The trie
    /// [`NODES`] is written out by hand and checked against this list (`tests::trie_is_complete`).
    #[cfg(test)]
    const PATHS: [&str; N] = include!("ecs_paths.in");

    use Entry::{Node, Target};

    /// The key trie: per node (named by the prefix its keys follow), every key that matters.
    /// `NODES[i].0` is the prefix; `tests::trie_is_complete` derives the same from [`PATHS`].
    const NODES: [(&str, &[(&str, Entry)]); 13] = [
        (
            "",
            &[
                ("@timestamp", Target(TIMESTAMP as u8)),
                ("timestamp", Target(TIMESTAMP_PLAIN as u8)),
                ("event", Node(1)),
                ("user", Node(2)),
                ("source", Node(4)),
                ("host", Node(5)),
                ("process", Node(7)),
                ("winlog", Node(8)),
                ("data_stream", Node(6)),
                ("event.original", Target(ORIGINAL as u8)),
                ("event.action", Target(ACTION as u8)),
                ("event.outcome", Target(OUTCOME as u8)),
                ("event.category", Target(CATEGORY as u8)),
                ("event.dataset", Target(DATASET as u8)),
                ("event.id", Target(EVENT_ID as u8)),
                ("user.name", Target(USER_NAME as u8)),
                ("user.domain", Target(DOMAIN as u8)),
                ("user.effective", Node(3)),
                ("user.effective.name", Target(EFFECTIVE_NAME as u8)),
                ("source.ip", Target(SOURCE_IP as u8)),
                ("host.name", Target(HOST_NAME as u8)),
                ("host.hostname", Target(HOST_HOSTNAME as u8)),
                ("process.name", Target(PROCESS_NAME as u8)),
                ("data_stream.dataset", Target(DATA_STREAM_DATASET as u8)),
                ("winlog.event_data", Node(9)),
                ("winlog.event_data.LogonType", Target(LOGON_TYPE as u8)),
                ("source.port", Target(SOURCE_PORT as u8)),
                ("process.pid", Target(PROCESS_PID as u8)),
                ("system", Node(10)),
                ("system.auth", Node(11)),
                ("system.auth.ssh", Node(12)),
                ("system.auth.ssh.method", Target(SSH_METHOD as u8)),
            ],
        ),
        (
            "event.",
            &[
                ("category", Target(CATEGORY as u8)),
                ("action", Target(ACTION as u8)),
                ("outcome", Target(OUTCOME as u8)),
                ("dataset", Target(DATASET as u8)),
                ("id", Target(EVENT_ID as u8)),
                ("original", Target(ORIGINAL as u8)),
            ],
        ),
        (
            "user.",
            &[
                ("name", Target(USER_NAME as u8)),
                ("domain", Target(DOMAIN as u8)),
                ("effective", Node(3)),
                ("effective.name", Target(EFFECTIVE_NAME as u8)),
            ],
        ),
        ("user.effective.", &[("name", Target(EFFECTIVE_NAME as u8))]),
        (
            "source.",
            &[("ip", Target(SOURCE_IP as u8)), ("port", Target(SOURCE_PORT as u8))],
        ),
        (
            "host.",
            &[
                ("name", Target(HOST_NAME as u8)),
                ("hostname", Target(HOST_HOSTNAME as u8)),
            ],
        ),
        ("data_stream.", &[("dataset", Target(DATA_STREAM_DATASET as u8))]),
        (
            "process.",
            &[("name", Target(PROCESS_NAME as u8)), ("pid", Target(PROCESS_PID as u8))],
        ),
        (
            "winlog.",
            &[
                ("event_data", Node(9)),
                ("event_data.LogonType", Target(LOGON_TYPE as u8)),
            ],
        ),
        ("winlog.event_data.", &[("LogonType", Target(LOGON_TYPE as u8))]),
        (
            "system.",
            &[
                ("auth", Node(11)),
                ("auth.ssh", Node(12)),
                ("auth.ssh.method", Target(SSH_METHOD as u8)),
            ],
        ),
        (
            "system.auth.",
            &[("ssh", Node(12)), ("ssh.method", Target(SSH_METHOD as u8))],
        ),
        ("system.auth.ssh.", &[("method", Target(SSH_METHOD as u8))]),
    ];

    /// [`NODES`] with its index.
    pub(super) static TRIE: KeyTrie = KeyTrie {
        nodes: &NODES,
        index: &key_trie::index(&NODES),
    };

    /// A captured string: borrowed from the line when it has no escapes, else decoded into its
    /// [`Found`]'s buffer. Nothing here owns memory, so a capture table is dropped without a walk
    /// over its entries (that walk was ~280 instructions a line).
    #[derive(Clone, Copy, Debug)]
    pub(super) enum Text<'de> {
        Line(&'de str),
        /// Bytes `start..end` of [`Found::decoded`].
        Decoded {
            start: usize,
            end: usize,
        },
    }

    /// A JSON scalar.
    #[derive(Clone, Debug)]
    pub(super) enum Scalar<'de> {
        Str(Text<'de>),
        Num(Number),
        Bool(bool),
    }

    impl<'de> Scalar<'de> {
        /// `scalar_text` of the equivalent `Value`; decoded strings are read from `decoded`.
        fn into_text<'a>(self, decoded: &'a str) -> Cow<'a, str>
        where
            'de: 'a,
        {
            match self {
                Scalar::Str(t) => Cow::Borrowed(text_of(t, decoded)),
                Scalar::Num(n) => Cow::Owned(n.to_string()),
                Scalar::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
            }
        }
    }

    /// The text `t` stands for (empty if `decoded` does not hold it: it always does).
    fn text_of<'a>(t: Text<'a>, decoded: &'a str) -> &'a str {
        match t {
            Text::Line(s) => s,
            Text::Decoded { start, end } => decoded.get(start..end).unwrap_or_default(),
        }
    }

    /// Appends `s` to `decoded`, returning where it is.
    fn decode_into(decoded: &mut String, s: &str) -> Text<'static> {
        let start = decoded.len();
        decoded.push_str(s);
        Text::Decoded {
            start,
            end: decoded.len(),
        }
    }

    /// The part of a value found at a target path that [`finish`] can read.
    #[derive(Clone, Debug)]
    pub(super) enum Captured<'de> {
        One(Scalar<'de>),
        /// An array: its first scalar (depth first, as `scalar_text`), and whether any string in
        /// it (at any depth) is `authentication` (as `has_value`).
        Many {
            first: Option<Scalar<'de>>,
            auth: bool,
        },
        /// `null`, an object, or a number a `Value` would not hold.
        Other,
    }

    impl<'de> Captured<'de> {
        fn into_scalar(self) -> Option<Scalar<'de>> {
            match self {
                Captured::One(s) => Some(s),
                Captured::Many { first, .. } => first,
                Captured::Other => None,
            }
        }

        fn has_authentication(&self, decoded: &str) -> bool {
            match self {
                Captured::One(Scalar::Str(t)) => text_of(*t, decoded) == "authentication",
                Captured::Many { auth, .. } => *auth,
                _ => false,
            }
        }
    }

    /// What the visitor found so far.
    pub(super) struct Found<'de> {
        /// Per target, the preferred value found so far and its route.
        pub(super) best: [Option<(Route, Captured<'de>)>; N],
        /// A key that matters occurred twice in one object: answer with the reference path.
        pub(super) duplicate_key: bool,
        /// The captured strings that had escapes, decoded ([`Text::Decoded`] points here). Empty,
        /// and so not allocated, on the lines the scanner answers.
        decoded: String,
    }

    impl<'de> Found<'de> {
        pub(super) fn new() -> Found<'de> {
            Found {
                best: [const { None }; N],
                duplicate_key: false,
                decoded: String::new(),
            }
        }

        /// Whether a value for `target` at `route` would be preferred to what is known.
        pub(super) fn wants(&self, target: usize, route: Route) -> bool {
            self.best[target].as_ref().is_none_or(|(r, _)| route < *r)
        }
    }

    /// What an event is built from: a capture table ([`Found`], from the scanner or the serde
    /// visitor), or a line read through a learned layout (`ecs_shape.rs`), which knows where each
    /// target's value is without a table.
    pub(super) trait Captures<'de> {
        /// The value kept for `target`.
        fn capture(&self, target: usize) -> Option<Captured<'de>>;

        /// What [`Text::Decoded`] captures index.
        fn decoded(&self) -> &str;

        /// Whether the value at `target` is or holds the string `authentication` (`has_value`).
        #[inline]
        fn has_authentication(&self, target: usize) -> bool {
            self.capture(target)
                .is_some_and(|captured| captured.has_authentication(self.decoded()))
        }

        /// `text` of the equivalent `Value` at `target` (the first scalar as text, `None` when
        /// empty), borrowed unless it is a number.
        #[inline]
        fn text<'a>(&'a self, target: usize) -> Option<Cow<'a, str>>
        where
            'de: 'a,
        {
            capture_text(self.capture(target), self.decoded())
        }
    }

    /// [`Captures::text`] of a capture.
    #[inline]
    pub(super) fn capture_text<'a, 'de: 'a>(captured: Option<Captured<'de>>, decoded: &'a str) -> Option<Cow<'a, str>> {
        Some(captured?.into_scalar()?.into_text(decoded)).filter(|t| !t.is_empty())
    }

    impl<'de> Captures<'de> for Found<'de> {
        fn capture(&self, target: usize) -> Option<Captured<'de>> {
            self.best.get(target)?.as_ref().map(|(_, c)| c.clone())
        }

        fn decoded(&self) -> &str {
            &self.decoded
        }
    }

    /// `f` of [`Captures::text`] without copying a borrowed string.
    #[inline]
    fn with_text<'de, R>(c: &impl Captures<'de>, target: usize, f: impl FnOnce(&str) -> R) -> Option<R> {
        c.text(target).map(|t| f(&t))
    }

    /// The value of a target key: where it was found, and what is known of the target.
    struct Place<'a, 'de> {
        found: &'a mut Found<'de>,
        target: usize,
        route: Route,
    }

    impl<'de> Place<'_, 'de> {
        /// Records the value (not an object: objects are [`Captured::Other`]) when it is
        /// preferred to what is known.
        fn capture(self, captured: impl FnOnce() -> Captured<'de>) {
            if self.wants_value() {
                self.found.best[self.target] = Some((self.route, captured()));
            }
        }

        fn wants_value(&self) -> bool {
            self.found.wants(self.target, self.route)
        }
    }

    impl<'de> Collector<'de> for Found<'de> {
        const TRIE: &'static KeyTrie = &TRIE;

        fn read_target<A: MapAccess<'de>>(&mut self, map: &mut A, target: usize, route: Route) -> Result<(), A::Error> {
            map.next_value_seed(Place {
                found: self,
                target,
                route,
            })
        }

        /// A key that matters, twice in one object: the reference path answers.
        fn give_up<E: serde::de::Error>(&mut self) -> E {
            self.duplicate_key = true;
            E::custom("duplicate key")
        }

        /// Validated: `NotAnObject` unless the text is invalid.
        fn not_an_object<E>(&mut self) -> Result<(), E> {
            Ok(())
        }
    }

    impl<'de> DeserializeSeed<'de> for Place<'_, 'de> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Place<'_, 'de> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
            skip_map(map)?;
            self.capture(|| Captured::Other);
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
            let need_first = self.wants_value();
            let (first, auth) = scan_array(seq, need_first, &mut self.found.decoded)?;
            self.capture(|| Captured::Many { first, auth });
            Ok(())
        }
        fn visit_borrowed_str<E>(self, s: &'de str) -> Result<(), E> {
            self.capture(|| Captured::One(Scalar::Str(Text::Line(s))));
            Ok(())
        }
        fn visit_str<E>(self, s: &str) -> Result<(), E> {
            if self.wants_value() {
                let t = decode_into(&mut self.found.decoded, s);
                self.capture(|| Captured::One(Scalar::Str(t)));
            }
            Ok(())
        }
        fn visit_bool<E>(self, b: bool) -> Result<(), E> {
            self.capture(|| Captured::One(Scalar::Bool(b)));
            Ok(())
        }
        fn visit_i64<E>(self, n: i64) -> Result<(), E> {
            self.capture(|| Captured::One(Scalar::Num(n.into())));
            Ok(())
        }
        fn visit_u64<E>(self, n: u64) -> Result<(), E> {
            self.capture(|| Captured::One(Scalar::Num(n.into())));
            Ok(())
        }
        fn visit_f64<E>(self, n: f64) -> Result<(), E> {
            self.capture(|| match Number::from_f64(n) {
                Some(n) => Captured::One(Scalar::Num(n)),
                None => Captured::Other,
            });
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            self.capture(|| Captured::Other);
            Ok(())
        }
    }

    /// An array's first scalar (depth first; kept only when `need_first`) and whether any string
    /// in it is `authentication`.
    fn scan_array<'de, A: SeqAccess<'de>>(
        mut seq: A,
        need_first: bool,
        decoded: &mut String,
    ) -> Result<(Option<Scalar<'de>>, bool), A::Error> {
        let mut first = None;
        let mut auth = false;
        while let Some((f, a)) = seq.next_element_seed(ElemSeed {
            need_first: need_first && first.is_none(),
            decoded: &mut *decoded,
        })? {
            auth |= a;
            if first.is_none() {
                first = f;
            }
        }
        Ok((first, auth))
    }

    struct ElemSeed<'b> {
        need_first: bool,
        decoded: &'b mut String,
    }

    impl<'de> DeserializeSeed<'de> for ElemSeed<'_> {
        type Value = (Option<Scalar<'de>>, bool);
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for ElemSeed<'_> {
        type Value = (Option<Scalar<'de>>, bool);
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            skip_map(map)?;
            Ok((None, false))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            scan_array(seq, self.need_first, self.decoded)
        }
        fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
            Ok((
                self.need_first.then_some(Scalar::Str(Text::Line(s))),
                s == "authentication",
            ))
        }
        fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
            Ok((
                self.need_first.then(|| Scalar::Str(decode_into(self.decoded, s))),
                s == "authentication",
            ))
        }
        fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
            Ok((self.need_first.then_some(Scalar::Bool(b)), false))
        }
        fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
            Ok((self.need_first.then(|| Scalar::Num(n.into())), false))
        }
        fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
            Ok((self.need_first.then(|| Scalar::Num(n.into())), false))
        }
        fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
            Ok((Number::from_f64(n).filter(|_| self.need_first).map(Scalar::Num), false))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok((None, false))
        }
    }

    /// `text(c)` parsed as an integer, without writing a JSON number out as text first: a number's
    /// text parses exactly when it is a non-negative integer in range (`22.0`, `-1` and `1e2`
    /// print with a `.` or a `-` and do not).
    fn integer<'de, T: std::str::FromStr + TryFrom<u64>>(c: &impl Captures<'de>, target: usize) -> Option<T> {
        match c.capture(target)?.into_scalar()? {
            Scalar::Num(n) => n.as_u64().and_then(|v| T::try_from(v).ok()),
            _ => integer_of_text(c, target),
        }
    }

    /// [`integer`] of a value that is not a number: its text parsed. Out of line, as the other
    /// rare cases of [`event_from`]: what is left inline is what most lines take.
    #[inline(never)]
    fn integer_of_text<'de, T: std::str::FromStr>(c: &impl Captures<'de>, target: usize) -> Option<T> {
        with_text(c, target, |t| t.parse().ok()).flatten()
    }

    /// [`event_from`]'s timestamp when it is not a string: from a number, or from an auditd
    /// record's header when there is none. Out of line (see [`integer_of_text`]).
    #[inline(never)]
    fn timestamp_not_a_string<'de>(c: &impl Captures<'de>, ts: Option<Captured<'de>>) -> Result<i64, RejectReason> {
        match ts {
            None => with_text(c, ORIGINAL, audit_record_time_ms)
                .flatten()
                .ok_or(RejectReason::MissingTimestamp),
            Some(Captured::One(Scalar::Num(n))) => number_ms(&n).ok_or(RejectReason::InvalidTimestamp),
            Some(_) => Err(RejectReason::InvalidTimestamp),
        }
    }

    /// [`super::event_from_json_value`]'s decisions, on the fields the visitor, the scanner or a
    /// learned layout kept, written into `out` (its strings reused).
    pub(super) fn event_from<'de>(c: &impl Captures<'de>, out: &mut LineEvent) -> Result<(), RejectReason> {
        let ts = c.capture(TIMESTAMP).or_else(|| c.capture(TIMESTAMP_PLAIN));
        out.event.timestamp_ms = match ts {
            Some(Captured::One(Scalar::Str(t))) => out
                .days
                .parse_rfc3339_ms(text_of(t, c.decoded()))
                .ok_or(RejectReason::InvalidTimestamp)?,
            other => timestamp_not_a_string(c, other)?,
        };
        let action_text = c.text(ACTION);
        let user_name = match (action_text.as_deref(), c.text(EFFECTIVE_NAME)) {
            (Some("authenticated"), Some(eff)) => Some(eff),
            (_, effective) => c.text(USER_NAME).or(effective),
        };
        out.set_user_name(user_name.as_deref().unwrap_or_default());
        out.set(|e| &mut e.action, action_text.as_deref());
        out.event.source_ip = with_text(c, SOURCE_IP, parse_ip).flatten();
        out.event.outcome = with_text(c, OUTCOME, Outcome::parse);
        out.event.is_authentication = c.has_authentication(CATEGORY);
        out.set(|e| &mut e.user_domain, c.text(DOMAIN).as_deref());
        out.set(
            |e| &mut e.host_name,
            c.text(HOST_NAME).or_else(|| c.text(HOST_HOSTNAME)).as_deref(),
        );
        out.set(
            |e| &mut e.dataset,
            c.text(DATASET).or_else(|| c.text(DATA_STREAM_DATASET)).as_deref(),
        );
        out.set(|e| &mut e.process_name, c.text(PROCESS_NAME).as_deref());
        out.set(|e| &mut e.logon_type, c.text(LOGON_TYPE).as_deref());
        out.set(|e| &mut e.event_id, c.text(EVENT_ID).as_deref());
        out.event.source_port = integer(c, SOURCE_PORT);
        out.event.process_pid = integer(c, PROCESS_PID);
        out.set(|e| &mut e.ssh_method, c.text(SSH_METHOD).as_deref());
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn trie_is_complete() {
            crate::ingest::key_trie::assert_complete(&TRIE, &PATHS, &[]);
        }
    }
}

use fast::Found;

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
