//! The winlogbeat text fast path (`winlogbeat_event_from_text`, a serde visitor that keeps only
//! the fields the Windows mapping reads) gives exactly what the reference gives:
//! `event_from_windows_json` on the `serde_json::Value` of the same text — the same event,
//! `Ok(None)` or the same `RejectReason` — whenever it answers, and `event_from_windows_text`
//! (fast path, then the reference for what it is not sure of) always does. Checked on generated
//! winlogbeat lines (nested, dotted and mixed keys, event ids as numbers, strings and `#text`
//! objects, odd types, escapes, unknown keys, duplicate keys, evtx records, invalid JSON, deep
//! nesting), on every Windows document in `../shared/fixtures` and on the simulator's winlogbeat
//! lines, where the fast path must also answer without falling back.
#![cfg(not(target_arch = "wasm32"))] // native suite: wasm-pack builds every test target

use auth_anomaly::ingest::detect::{sniff, InputFormat};
use auth_anomaly::ingest::windows::{
    event_from_windows_json, event_from_windows_text, winlogbeat_event_from_text, winlogbeat_event_from_text_scanned,
    winlogbeat_events_from_stream,
};
use auth_anomaly::{AuthEvent, RejectReason};
use proptest::prelude::*;
use serde_json::Value;

#[path = "common/json_docs.rs"]
mod json_docs;
use json_docs::{
    cut, files_under, fixtures_dir, invalid_scalar, pick, prepend, quote, spaced, truncated, value_scalar_spans,
    variants, with_values, Tree,
};

type Answer = Result<Option<AuthEvent>, RejectReason>;

fn reference(doc: &str) -> Answer {
    let value: Value = serde_json::from_str(doc).map_err(|_| RejectReason::InvalidJson)?;
    event_from_windows_json(&value)
}

/// Checks both entry points and the hand-written scanner alone against the reference; returns
/// whether the fast path answered.
fn check(doc: &str) -> Result<bool, TestCaseError> {
    Ok(check_scanned(doc)?.0)
}

/// [`check`]; also returns whether the scanner answered by itself (without the serde visitor).
fn check_scanned(doc: &str) -> Result<(bool, bool), TestCaseError> {
    let expected = reference(doc);
    let scanned = winlogbeat_event_from_text_scanned(doc);
    if let Some(answer) = &scanned {
        prop_assert_eq!(answer, &expected, "scanner, document: {}", doc);
    }
    let fast = winlogbeat_event_from_text(doc);
    if let Some(answer) = &fast {
        prop_assert_eq!(answer, &expected, "fast path, document: {}", doc);
    }
    prop_assert!(
        fast.is_some() || scanned.is_none(),
        "the scanner answered, the fast path not: {}",
        doc
    );
    prop_assert_eq!(event_from_windows_text(doc), expected, "document: {}", doc);
    Ok((fast.is_some(), scanned.is_some()))
}

/// `lines` as one stream (one line event, so that a line may be read through the layout of an
/// earlier one), by the scanner alone and with the visitor: each answer is the reference's.
/// Returns how many lines the scanner alone read through a kept layout.
fn check_stream(lines: &[&str]) -> Result<u64, TestCaseError> {
    let (scanned, hits) = winlogbeat_events_from_stream(lines.iter().copied(), false);
    let (fast, _) = winlogbeat_events_from_stream(lines.iter().copied(), true);
    for ((line, scanned), fast) in lines.iter().zip(scanned).zip(fast) {
        let expected = reference(line);
        if let Some(answer) = &scanned {
            prop_assert_eq!(answer, &expected, "scanner in a stream, line: {}", line);
        }
        if let Some(answer) = &fast {
            prop_assert_eq!(answer, &expected, "fast path in a stream, line: {}", line);
        }
        prop_assert!(
            fast.is_some() || scanned.is_none(),
            "the scanner answered, the fast path not: {}",
            line
        );
    }
    Ok(hits)
}

/// A value for a line of the same layout as another: the same kind or another, plain or escaped,
/// valid or not, scalar or not.
fn other_value() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => scalar_value(),
        1 => invalid_scalar(),
        1 => value(),
        2 => prop::sample::select(vec![
            "{}",
            "[]",
            "\"\"",
            "-0",
            "1.5",
            "null",
            "true",
            "\"\\u0041\\\\x\"",
            "{\"name\":\"x\"}",
            "{\"#text\":\"4624\"}",
            "{\"#text\":{\"SystemTime\":\"x\"}}",
            "{\"ip\":\"10.0.0.1\",\"port\":22}",
            "{\"category\":[\"authentication\"],\"code\":4625}",
            "{\"event_data\":{\"LogonType\":\"3\"}}",
            "{\"Data\":[]}",
            "[\"authentication\"]",
            "[[\"x\"],\"authentication\"]",
            "\"a\\\"b\"",
        ])
        .prop_map(str::to_string),
    ]
}

/// Keys whose object values the scanner enters (at the top level).
const ENTERED: [&str; 8] = [
    "winlog",
    "winlog.event_data",
    "event",
    "user",
    "source",
    "host",
    "process",
    "data_stream",
];

/// `text` as the inside of a JSON string, each character written as itself where JSON allows it
/// or escaped (`\uXXXX` in either case, a surrogate pair past the BMP, the short escapes), as
/// `pick` (a pseudo-random number per character) chooses.
fn escaped(text: &str, mut pick: u64) -> String {
    let mut out = String::new();
    for c in text.chars() {
        pick = pick
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let must_escape = c == '"' || c == '\\' || c < ' ';
        match ((pick >> 33) % 4, short) {
            (0, _) if !must_escape => out.push(c),
            (1, Some(e)) => out.push_str(e),
            (1, None) if !must_escape => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if (pick >> 40) & 1 == 0 {
                        out.push_str(&format!("\\u{unit:04x}"));
                    } else {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
        }
    }
    out
}

/// Escapes serde_json rejects, in a string.
const INVALID_ESCAPES: [&str; 10] = [
    "\\x",
    "\\ud800",
    "\\udbff\\u0041",
    "\\ud800\\ud800",
    "\\udc00",
    "\\u12",
    "\\u12g4",
    "\\U0041",
    "\u{1}",
    "\t",
];

/// Key segments: every segment of the paths the Windows mapping reads, the keys of the shapes it
/// leaves to the reference (`Event`, `Data`), near misses and others.
const SEGMENTS: &[&str] = &[
    "@timestamp",
    "timestamp",
    "winlog",
    "event_data",
    "event_id",
    "time_created",
    "computer_name",
    "TargetUserName",
    "TargetDomainName",
    "IpAddress",
    "ProcessName",
    "LogonType",
    "IpPort",
    "ProcessId",
    "event",
    "code",
    "category",
    "outcome",
    "action",
    "dataset",
    "id",
    "user",
    "name",
    "domain",
    "source",
    "ip",
    "port",
    "process",
    "executable",
    "pid",
    "host",
    "hostname",
    "data_stream",
    "Event",
    "Data",
    "#text",
    "@Name",
    "System",
    "EventID",
    "kind",
    "targetusername",
    "",
    "é名",
];

/// A key as JSON text: 1–4 segments joined by dots, sometimes with escapes in it.
fn key() -> impl Strategy<Value = String> {
    json_docs::key(SEGMENTS)
}

/// Event ids in every shape the reference reads, mostly logons, and some it rejects.
fn event_id() -> BoxedStrategy<String> {
    prop_oneof![
        3 => pick(vec![
            "4624",
            "4625",
            "4648",
            "\"4624\"",
            "\" 4625 \"",
            "\"4648\\n\"",
            "\"46\\u00324\"",
            "{\"#text\":4624}",
            "{\"#attributes\":{\"Qualifiers\":0},\"#text\":\"4625\"}",
            "{\"#text\":[4648]}",
            "{\"#text\":1,\"#text\":4624}",
            "{\"\\u0023text\":4624}",
            "[4624]",
            "[\"4625\",4634]",
            "[[4624]]",
        ]),
        1 => pick(vec![
            "{\"#text\":4624,\"#text\":null}",
            "{\"text\":4624}",
            "[null,4624]",
            "[]",
            "4634",
            "4672",
            "\"x\"",
            "\"\"",
            "-4624",
            "4624.0",
            "4.624e3",
            "4294971920",
            "18446744073709551615",
            "null",
            "true",
            "{}",
        ]),
    ]
    .boxed()
}

/// Timestamps, mostly valid.
fn timestamp() -> BoxedStrategy<String> {
    prop_oneof![
        3 => pick(vec![
            "\"2024-05-01T10:00:00.000Z\"",
            "\"2026-10-01T08:00:00.5-05:30\"",
            "\"2024-05-01T10:00:00\\u002e000Z\"",
            "1714557600000",
            "1714557600000.7",
            "1.7e12",
            "-1",
        ]),
        1 => pick(vec![
            "\"2026-10-01 08:00:00\"",
            "\"2026-13-01T00:00:00Z\"",
            "\"soon\"",
            "\"\"",
            "9.1e15",
            "18446744073709551615",
            "null",
            "true",
            "[\"2024-05-01T10:00:00Z\"]",
            "[]",
            "{\"#text\":\"2024-05-01T10:00:00Z\"}",
            "{\"SystemTime\":\"2024-05-01T10:00:00Z\"}",
        ]),
    ]
    .boxed()
}

/// Texts: strings (with escapes), numbers, booleans, null, `#text` objects, arrays.
fn text_value() -> BoxedStrategy<String> {
    pick(vec![
        "\"alice\"",
        "\"bob\"",
        "\"CORP\"",
        "\"DC01.corp\"",
        "\"\"",
        "\"-\"",
        "\" \"",
        "\"al\\u0069ce\"",
        "\"ü名 \\\"q\\\" \\\\ \\n\\t\"",
        "\"\\ud83d\\ude00\"",
        "3",
        "10",
        "-7",
        "1.5",
        "1e2",
        "true",
        "false",
        "null",
        "{\"#text\":\"carol\"}",
        "{\"#text\":\"\"}",
        "{\"#text\":{\"#text\":\"deep\"}}",
        "{\"#attributes\":{\"x\":1}}",
        "{\"#text\":\"a\",\"#text\":\"b\"}",
        "[\"x\",\"y\"]",
        "[null,\"\",{\"#text\":\"\"},[],\"z\"]",
        "[[\"in\"],\"out\"]",
        "[{\"#text\":5}]",
        "[]",
        "{}",
    ])
}

fn ip_value() -> BoxedStrategy<String> {
    pick(vec![
        "\"10.20.30.40\"",
        "\"203.0.113.7\"",
        "\"::ffff:203.0.113.7\"",
        "\"2001:db8::1\"",
        "\"::1\"",
        "\"127.0.0.1\"",
        "\"fe80::8ff:be62:afa2:6258\"",
        "\"169.254.3.4\"",
        "\"0.0.0.0\"",
        "\"-\"",
        "\"\"",
        "\"not an ip\"",
        "\" 10.0.0.2 \"",
        "[\"198.51.100.20\",\"10.0.0.1\"]",
        "{\"#text\":\"192.0.2.5\"}",
        "167772161",
    ])
}

/// A value that makes sense for the path (so that accepted events are common), or any value.
fn plausible(path: &'static str) -> BoxedStrategy<String> {
    match path {
        "winlog.event_id" | "event.code" => event_id(),
        "@timestamp" | "timestamp" | "winlog.time_created" => timestamp(),
        "winlog.event_data.IpAddress" | "source.ip" => ip_value(),
        "winlog.event_data.IpPort" | "source.port" | "winlog.event_data.ProcessId" | "process.pid" => pick(vec![
            "\"50812\"",
            "445",
            "\"0x1e4\"",
            "\"0X1E4\"",
            "\"-\"",
            "65536",
            "\"x\"",
            "-1",
            "[22]",
        ]),
        "winlog.event_data.ProcessName" | "process.executable" | "process.name" => pick(vec![
            "\"C:\\\\Windows\\\\System32\\\\winlogon.exe\"",
            "\"C:\\\\Program Files\\\\Elastic\\\\Agent\\\\elastic-agent.exe\"",
            "\"/usr/sbin/sshd\"",
            "\"-\"",
            "\"\"",
            "\"services.exe \"",
            "\"C:\\\\\"",
        ]),
        "event.category" => pick(vec![
            "\"authentication\"",
            "[\"authentication\"]",
            "[\"session\",\"authentication\"]",
            "[[\"authentication\"]]",
            "[\"session\"]",
            "[{\"x\":\"authentication\"}]",
            "\"authenticat\\u0069on\"",
            "{\"authentication\":1}",
            "5",
            "null",
            "[]",
        ]),
        "event.outcome" => pick(vec![
            "\"success\"",
            "\"failure\"",
            "\"unknown\"",
            "\"\"",
            "[\"failure\"]",
            "{\"#text\":\"success\"}",
        ]),
        "event.action" => pick(vec!["\"logged-in\"", "\"logon-failed\"", "\"\"", "[\"x\"]"]),
        "event.dataset" | "data_stream.dataset" => pick(vec![
            "\"system.security\"",
            "\"windows.security\"",
            "\"\"",
            "null",
            "[\"x\"]",
        ]),
        _ => text_value(),
    }
}

fn scalar_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text_value(),
        1 => event_id(),
        1 => timestamp(),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
    ]
}

/// Any JSON value as text (object keys from [`key`], so targets can appear at any depth).
fn value() -> impl Strategy<Value = String> {
    json_docs::value(scalar_value().boxed(), SEGMENTS)
}

/// The paths the winlogbeat fast path reads, in its target order.
const PATHS: [&str; 28] = include!("../src/ingest/windows_paths.in");

/// One member to place in a document: the keys that lead to it, and its value (JSON text).
type Member = (Vec<String>, String);

/// A leaf for `path`: mostly a plausible value, sometimes anything.
fn leaf(path: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => plausible(path),
        2 => scalar_value(),
        1 => prop::collection::vec(scalar_value(), 0..3).prop_map(|v| format!("[{}]", v.join(","))),
        1 => value(),
    ]
}

fn field(path: &'static str) -> impl Strategy<Value = Member> {
    (leaf(path), any::<u8>()).prop_map(move |(v, split)| (cut(path, split), v))
}

/// An event id or time field: always a plausible value.
fn key_field(path: &'static str) -> impl Strategy<Value = Member> {
    (plausible(path), any::<u8>()).prop_map(move |(v, split)| (cut(path, split), v))
}

/// A target field written nested, dotted or half and half, with a value likely to matter, as an
/// object member (`"winlog":{"event_data.LogonType":3}`).
fn target_entry() -> impl Strategy<Value = String> {
    prop::sample::select(PATHS.to_vec())
        .prop_flat_map(field)
        .prop_map(|(keys, v)| {
            let mut t = Tree::default();
            t.insert(&keys, v);
            t.members().join(",")
        })
}

/// `count` distinct paths of `paths` in random order.
fn fields(
    paths: &'static [&'static str],
    count: impl Into<prop::collection::SizeRange>,
) -> impl Strategy<Value = Vec<Member>> {
    prop::sample::subsequence(paths.to_vec(), count)
        .prop_shuffle()
        .prop_flat_map(|chosen| chosen.into_iter().map(field).collect::<Vec<_>>())
}

/// Mostly one of `paths`, sometimes none or two, with plausible values.
fn one_of(paths: &'static [&'static str]) -> impl Strategy<Value = Vec<Member>> {
    prop_oneof![1 => Just(0usize), 8 => Just(1), 1 => Just(2)].prop_flat_map(move |n| {
        prop::sample::subsequence(paths.to_vec(), n..=n.min(paths.len()))
            .prop_shuffle()
            .prop_flat_map(|chosen| chosen.into_iter().map(key_field).collect::<Vec<_>>())
    })
}

/// A winlogbeat-like object: usually one event id and one timestamp (so the other fields decide
/// the event), fields nested or dotted, each at one place (so the fast path can answer), unknown
/// keys in between and inside the objects that hold the fields.
fn object() -> impl Strategy<Value = String> {
    let unknown = prop_oneof![
        2 => (key(), value()).prop_map(|(k, v)| (vec![k], v)),
        1 => (prop::sample::select(vec!["winlog", "event", "user", "source", "winlog.event_data", "host"]), key(), value())
            .prop_map(|(outer, k, v)| (vec![quote(outer), k], v)),
    ];
    (
        one_of(&PATHS[..2]),
        one_of(&PATHS[2..5]),
        fields(&PATHS[5..], 0..12),
        prop::collection::vec(unknown, 0..3),
        any::<u64>(),
    )
        .prop_map(|(ids, times, mut members, unknown, order)| {
            // Ids, times and unknown keys at pseudo-random places among the fields.
            for (n, m) in ids.into_iter().chain(times).chain(unknown).enumerate() {
                let at = (order.rotate_left(7 * n as u32) as usize) % (members.len() + 1);
                members.insert(at, m);
            }
            let mut tree = Tree::default();
            for (keys, v) in members {
                tree.insert(&keys, v);
            }
            tree.render()
        })
}

fn document() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => object(),
        // Whitespace around the tokens.
        2 => object().prop_map(|o| spaced(&o)),
        // Broken text: cut anywhere, or trailing garbage.
        2 => (object(), any::<prop::sample::Index>()).prop_map(|(o, i)| truncated(&o, i)),
        1 => object().prop_map(|o| format!("{o} x")),
        // One invalid scalar somewhere: at the top level, in a field, deep in a skipped value.
        3 => (object(), key(), invalid_scalar(), 0u8..5).prop_map(|(o, k, bad, at)| {
            let entry = match at {
                0 => format!("{k}:{bad}"),
                1 => format!("{k}:[1,{{\"x\":{bad}}}]"),
                2 => format!("\"user\":{{\"name\":\"a\",{k}:{bad}}}"),
                3 => format!("\"winlog\":{{\"event_data\":{{\"TargetUserName\":{bad}}}}}"),
                _ => format!("\"event.category\":[\"authentication\",{bad}]"),
            };
            prepend(&o, &entry)
        }),
        // Shapes left to the reference: evtx records, XML-style `Data`, repeated keys.
        2 => (object(), value(), 0u8..6).prop_map(|(o, v, shape)| match shape {
            0 => format!("{{\"Event\":{{\"System\":{{\"EventID\":4624,\"TimeCreated\":{{\"#attributes\":{{\"SystemTime\":\"2016-07-08T18:12:51Z\"}}}}}},\"EventData\":{o}}}}}"),
            1 => prepend(&o, &format!("\"Event\":{v}")),
            2 => prepend(&o, "\"winlog\":{\"event_data\":{\"Data\":[{\"@Name\":\"TargetUserName\",\"#text\":\"carol\"},{\"#attributes\":{\"Name\":\"IpAddress\"},\"#text\":\"192.0.2.5\"}]}}"),
            3 => prepend(&o, &format!("\"winlog.event_data\":{{\"Data\":{v}}}")),
            4 => format!("{o}{o}"),
            _ => prepend(&o, "\"Event\":{}"),
        }),
        // Not an object.
        2 => value(),
        // Nesting around the parser's limit of 128, in a skipped field or in a field read.
        1 => (object(), 120usize..136, any::<bool>(), prop::sample::select(vec!["x", "user.name", "event.category", "@timestamp", "winlog"]))
            .prop_map(|(o, depth, arrays, at)| {
                let (open, close) = if arrays { ("[", "]") } else { ("{\"#text\":", "}") };
                let deep = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                prepend(&o, &format!("{}:{deep}", quote(at)))
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4_000, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_equals_value_path(doc in document()) {
        check(&doc)?;
    }

    /// Lines of one layout with other values: the second (and third) line is read through the
    /// first one's layout whenever it fits, and must give the reference's answer all the same.
    #[test]
    fn lines_of_one_layout(
        doc in document(),
        // Scalars at keys whose objects are entered, so that other lines may put objects there.
        scalars_at_entered in prop::collection::vec((prop::sample::select(ENTERED.to_vec()), scalar_value()), 0..3),
        second in prop::collection::vec(prop::option::weighted(0.5, other_value()), 0..24),
        third in prop::collection::vec(prop::option::weighted(0.2, other_value()), 0..24),
    ) {
        let mut doc = doc;
        for (key, scalar) in scalars_at_entered {
            if doc.starts_with('{') {
                doc = prepend(&doc, &format!("\"{key}\":{scalar}"));
            }
        }
        let spans = value_scalar_spans(&doc);
        let second = with_values(&doc, &spans, &second);
        let third = with_values(&doc, &spans, &third);
        check_stream(&[doc.as_str(), second.as_str(), third.as_str(), doc.as_str()])?;
    }

    /// Repeated keys and one field at several places: a `Value` keeps the last of a repeated
    /// key, and `lookup` prefers the literal key, then the shortest split.
    #[test]
    fn duplicate_keys_and_competing_places(a in target_entry(), b in target_entry(), c in target_entry(), order in 0u8..7) {
        let head = "\"@timestamp\":\"2024-05-01T10:00:00Z\",\"winlog.event_id\":4624";
        let doc = match order {
            0 => format!("{{{head},{a},{b},{c}}}"),
            1 => format!("{{{head},{a},{a},{b}}}"),
            2 => format!("{{{head},{b},{a},{b},{c},{b}}}"),
            3 => format!("{{{head},{a},\"user\":1,\"winlog\":null,{b}}}"),
            4 => format!("{{{head},{a},{b},\"winlog\":{{}},\"source\":[1],\"event\":\"x\",\"host\":{{\"x\":1}}}}"),
            5 => format!("{{{a},{b},\"@timestamp\":\"x\",{c},\"@timestamp\":0,\"event.code\":4625}}"),
            _ => format!("{{\"winlog\":{{\"event_id\":4625,{a}}},\"@timestamp\":1,{b}}}"),
        };
        check(&doc)?;
    }

    /// Arbitrary Unicode where strings go (keys and values), through serde_json's own escaping.
    #[test]
    fn unicode_strings(user in "\\PC{0,12}", key in "\\PC{0,8}", ip in "[0-9a-f:.%\\[\\] -]{0,20}") {
        let doc = serde_json::json!({
            "@timestamp": "2024-05-01T10:00:00Z",
            "winlog": {"event_id": "4624", "event_data": {"TargetUserName": user, key.clone(): user, "IpAddress": ip}},
            "event": {"category": ["x", "authentication"], "outcome": "success"},
            key: {"name": "other"},
        });
        prop_assert!(check(&doc.to_string())? || doc.to_string().contains("\"Event\"") || doc.to_string().contains("\"Data\""));
    }

    /// Every captured field (texts, ids, times, the category) and the keys as strings with escapes
    /// of every kind, surrogate pairs included, and escaped strings in skipped values: the scanner
    /// answers each such line itself, as the reference does. With one escape serde_json rejects in
    /// any of those strings, the scanner leaves the line to the visitor (which finds it invalid).
    #[test]
    fn escapes_in_every_captured_field(
        user in "\\PC{1,8}",
        domain in "[A-Z]{1,6}|\\PC{1,4}",
        host in "\\PC{1,10}",
        extra in "\\PC{0,12}",
        nested in any::<bool>(),
        pick in any::<u64>(),
        bad in 0usize..INVALID_ESCAPES.len(),
        bad_at in 0usize..40,
    ) {
        let code = ["4624", "4625", "4648"][(pick % 3) as usize];
        let fields: [(&str, &str, String); 17] = [
            ("", "@timestamp", "2024-05-01T10:00:00.000Z".into()),
            ("winlog", "event_id", code.into()),
            ("winlog", "computer_name", host.clone()),
            ("winlog.event_data", "TargetUserName", user.clone()),
            ("winlog.event_data", "TargetDomainName", domain.clone()),
            ("winlog.event_data", "IpAddress", "203.0.113.7".into()),
            ("winlog.event_data", "IpPort", "50812".into()),
            ("winlog.event_data", "LogonType", "3".into()),
            ("winlog.event_data", "ProcessName", "C:\\Windows\\System32\\lsass.exe".into()),
            ("winlog.event_data", "ProcessId", "0x1e4".into()),
            ("event", "category", "authentication".into()),
            ("event", "outcome", "success".into()),
            ("event", "action", "logged-in".into()),
            ("event", "dataset", "system.security".into()),
            ("event", "id", extra.clone()),
            ("event", "kind", format!("{extra}\n\t\"x\"")),
            ("", "message", format!("An account was logged on.\r\n\tSubject:\t\"{extra}\"\\")),
        ];
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for (i, (outer, key, value)) in fields.iter().enumerate() {
            let p = pick.rotate_left(i as u32 * 3);
            let mut text = escaped(value, p);
            if i == bad_at {
                text.push_str(INVALID_ESCAPES[bad]);
            }
            let value = if *key == "category" { format!("[\"{text}\"]") } else { format!("\"{text}\"") };
            let (group, key) = match (nested, *outer) {
                (_, "") => (String::new(), key.to_string()),
                (true, outer) => (outer.to_string(), key.to_string()),
                (false, outer) => (String::new(), format!("{outer}.{key}")),
            };
            let member = format!("\"{}\":{value}", escaped(&key, p ^ 0x5555));
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, members)) => members.push(member),
                None => groups.push((group, vec![member])),
            }
        }
        // Nested groups: `winlog.event_data` inside `winlog`.
        let mut top = Vec::new();
        let data = groups.iter().find(|(g, _)| g == "winlog.event_data").map(|(_, m)| m.join(","));
        for (group, members) in &groups {
            match group.as_str() {
                "" => top.extend(members.iter().cloned()),
                "winlog.event_data" => {}
                "winlog" => {
                    let mut inner = members.clone();
                    if let Some(data) = &data {
                        inner.push(format!("\"event_data\":{{{data}}}"));
                    }
                    top.push(format!("\"winlog\":{{{}}}", inner.join(",")));
                }
                other => top.push(format!("\"{other}\":{{{}}}", members.join(","))),
            }
        }
        let doc = format!("{{{}}}", top.join(","));
        let (fast, scanned) = check_scanned(&doc)?;
        prop_assert!(fast);
        if bad_at < fields.len() {
            prop_assert_eq!(reference(&doc), Err(RejectReason::InvalidJson), "{}", doc);
            prop_assert!(!scanned, "{}", doc);
        } else {
            prop_assert!(scanned, "the scanner leaves it to the visitor: {}", doc);
            let event = reference(&doc).ok().flatten();
            prop_assert_eq!(event.as_ref().map(|e| e.user_name.as_str()), Some(user.as_str()), "{}", doc);
            prop_assert_eq!(event.and_then(|e| e.process_name), Some("lsass.exe".to_string()), "{}", doc);
        }
    }

    /// Random bytes and mutated lines never panic, and the answer still agrees.
    #[test]
    fn random_text_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), doc in object(), at in any::<prop::sample::Index>(), with in any::<u8>()) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            check(text)?;
        }
        let mut mutated = doc.into_bytes();
        if !mutated.is_empty() {
            let i = at.index(mutated.len());
            let pool = b"{}[]\":,0123456789-#@ aZ\\";
            mutated[i] = pool[usize::from(with) % pool.len()];
        }
        if let Ok(text) = std::str::from_utf8(&mutated) {
            check(text)?;
        }
    }
}

#[test]
fn hand_picked_edges() {
    let docs = [
        // Nested, dotted, winlog ids in every shape.
        r##"{"@timestamp":"2024-05-01T10:00:00.000Z","winlog":{"event_id":"4624","computer_name":"DC01.corp","event_data":{"TargetUserName":"dave","TargetDomainName":"CORP","IpAddress":"10.20.30.40","LogonType":"3","ProcessName":"-"}},"event":{"provider":"Microsoft-Windows-Security-Auditing"}}"##,
        r##"{"@timestamp":1714557600000,"winlog.event_id":4625,"winlog.event_data.TargetUserName":"erin","source.ip":"10.1.1.1","event.outcome":"failure","event.category":["authentication"],"host.name":"ws"}"##,
        r##"{"@timestamp":0,"winlog":{"event_id":{"#text":4648}},"winlog.event_data":{"IpAddress":"198.51.100.20","IpPort":"445"}}"##,
        r##"{"@timestamp":0,"winlog":{"event_id":[" 4624 ",1]},"source":{"ip":"203.0.113.9","port":"50812"}}"##,
        r##"{"winlog":{"event_id":4624}}"##,
        r##"{"winlog":{"event_id":4634},"@timestamp":"soon"}"##,
        r##"{"winlog":{"event_id":"x"},"event":{"code":4624},"@timestamp":0}"##,
        r##"{"event":{"code":4624},"@timestamp":0}"##,
        r##"{"event.code":"4625","timestamp":"2024-05-01T10:00:00Z","winlog.time_created":"soon"}"##,
        r##"{"event.code":"4625","winlog":{"time_created":"2024-05-01T10:00:00Z"}}"##,
        r##"{"event.code":"4625","@timestamp":null,"timestamp":0}"##,
        // data_field before the dotted path, then the ECS fields.
        r##"{"@timestamp":0,"event.code":4624,"winlog":{"event_data":{"TargetUserName":""}},"user":{"name":"ecs"}}"##,
        r##"{"@timestamp":0,"event.code":4624,"winlog":{"event_data":{"TargetUserName":null},"event_data.TargetUserName":"x"}}"##,
        r##"{"@timestamp":0,"event.code":4624,"winlog.event_data":5,"winlog":{"event_data":{"TargetUserName":"y"}}}"##,
        r##"{"@timestamp":0,"event.code":4624,"process":{"executable":"","name":"C:\\x\\y.exe"},"winlog":{"event_data":{"ProcessName":"-"}}}"##,
        r##"{"@timestamp":0,"event.code":4624,"event.dataset":"","data_stream.dataset":"ds"}"##,
        r##"{"@timestamp":0,"event.code":4624,"data_stream":{"dataset":"ds"},"event":{"id":7,"action":"x","category":"session"}}"##,
        r##"{"@timestamp":0,"event.code":4624,"host":{"hostname":"h2","name":""},"winlog":{"computer_name":{"#text":""}}}"##,
        // Both places for one field, and repeated keys: left to the reference.
        r##"{"@timestamp":0,"event.code":4624,"user":{"name":"nested"},"user.name":"dotted"}"##,
        r##"{"@timestamp":0,"event.code":4624,"winlog":{"event_data":{"TargetUserName":"a"}},"winlog.event_data":{"TargetUserName":"b"}}"##,
        r##"{"@timestamp":0,"event.code":4624,"user":{"name":"a"},"user":{"domain":"D"}}"##,
        r##"{"@timestamp":"x","@timestamp":1,"event.code":4624}"##,
        // Evtx records and XML-style Data.
        r##"{"Event":{"System":{"EventID":4624,"TimeCreated":{"#attributes":{"SystemTime":"2016-07-08T18:12:51.681640Z"}},"Computer":"WS-01"},"EventData":{"TargetUserName":"bob","IpAddress":"::ffff:203.0.113.7"}}}"##,
        r##"{"Event":5,"winlog.event_id":4624,"@timestamp":0}"##,
        // `{"Event"` up front is left to the reference without parsing, valid or not.
        " \n{\"Event\":[1,]}",
        "{\"Event\":{},\"winlog.event_id\":4624,\"@timestamp\":0}",
        "{\"Event\" :null,\"winlog.event_id\":4624,\"@timestamp\":0}",
        r##"{"@timestamp":0,"winlog":{"event_id":4625,"event_data":{"Data":[{"@Name":"TargetUserName","#text":"carol"}]}}}"##,
        // Timestamps as objects: left to the reference.
        r##"{"winlog":{"event_id":4624,"time_created":{"SystemTime":"2024-05-01T10:00:00Z"}}}"##,
        // Validation of skipped values exactly as a Value would do it.
        r##"{"@timestamp":0,"event.code":4624,"x":"\ud800"}"##,
        r##"{"@timestamp":0,"event.code":4624,"\ud800":1}"##,
        r##"{"@timestamp":0,"event.code":4624,"x":1e400}"##,
        r##"{"@timestamp":0,"event.code":4624,"user.name":[1,]}"##,
        r##"{"@timestamp":0,"event.code":4624,"x":01}"##,
        r##"{"@timestamp":0,"event.code":4624,"user.name":{"#text":"\x"}}"##,
        r##"{"@timestamp":0,"event.code":4624,}"##,
        r##"{"@timestamp":0,"event.code":4624} "##,
        r##"{"@timestamp":0,"event.code":4624} {}"##,
        // Escapes, in every kind of captured value, in keys and in skipped values.
        r##"{"@timestamp":"2024-05-01T10:00:00\u002e000Z","winlog":{"event_id":"46\u00324","event_data":{"ProcessName":"C:\\Windows\\System32\\lsass.exe","TargetUserName":"\ud83d\ude00\u00e9\/\"q\"","IpAddress":"10.0.0.\u0031"}}}"##,
        r##"{"@timestamp":0,"winlog":{"event_id":4624,"event_data":{"Target\u0055serName":"a\b\f\n\r\tb","LogonType":"\u0033"}},"event":{"category":["authenticat\u0069on"],"outcome":"fail\u0075re"}}"##,
        r##"{"@timestamp":0,"event.code":4624,"user.name":{"\u0023text":"x\\y","#text":"\uD83D\uDE00"},"message":"a\nb\u0000c"}"##,
        r##"{"@timestamp":0,"event.code":4624,"user.name":["",{"#text":""},"\u0041"],"process":{"executable":"C:\\"}}"##,
        r##"{"@timestamp":0,"event.code":4624,"user.name":"\ud800"}"##,
        r##"{"@timestamp":0,"event.code":4624,"user.name":"\udc00\ud800"}"##,
        r##"{"@timestamp":0,"event.code":4624,"user.name":"\ud800\u0041"}"##,
        r##"{"@timestamp":0,"event.code":4624,"user.name":"\x"}"##,
        r##"{"@timestamp":0,"event.code":4624,"message":"\u00g0"}"##,
        r##"{"@timestamp":"\ud83d","event.code":4624}"##,
        r##"{"@timestamp":0,"event.code":"\ude00"}"##,
        // Numbers where they are reduced.
        r##"{"@timestamp":-0,"event.code":4624,"user.name":-5,"user.domain":12345678901234567890}"##,
        r##"{"@timestamp":-1714557600000,"event.code":"4624","winlog.event_data.LogonType":-0,"source.port":0}"##,
        r##"{"@timestamp":0,"event.code":18446744073709551616}"##,
        r##"{"@timestamp":0,"event.code":4294971920,"winlog.event_id":[[4624]]}"##,
        r##"{"@timestamp":0,"winlog.event_id":4624.0}"##,
        r##"{"@timestamp":0,"winlog.event_id":-4624}"##,
        r##"{"@timestamp":9223372036854775807,"winlog.event_id":4624}"##,
        r##"{"@timestamp":123456789012345678,"winlog.event_id":4624}"##,
        // Not objects.
        "[]",
        "[{\"@timestamp\":0}]",
        "\"x\"",
        "12",
        "null",
        "",
        " ",
    ];
    for doc in docs {
        check(doc).unwrap();
    }
    for depth in [126, 127, 128, 129, 200, 10_000] {
        for (open, close) in [
            ("[", "]"),
            ("{\"a\":", "}"),
            ("{\"#text\":", "}"),
            ("{\"winlog\":", "}"),
        ] {
            let deep = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            check(&deep).unwrap();
            for at in [
                "x",
                "winlog",
                "user.name",
                "event.category",
                "winlog.event_id",
                "@timestamp",
            ] {
                check(&format!("{{\"@timestamp\":0,\"event.code\":4624,\"{at}\":{deep}}}")).unwrap();
            }
        }
    }
}

/// Every file of `../shared/fixtures` that mentions `winlog` or an evtx `EventID`: each line of
/// NDJSON, each document of Elastic's `*-expected.json`, other JSON files whole (the ML jobs'
/// datafeeds name winlog fields: not events, still inputs). Each document nested, fully dotted,
/// half dotted and pretty-printed.
#[test]
fn every_windows_fixture() {
    let mut files = Vec::new();
    for needle in ["winlog", "\"EventID\""] {
        let mentions = |p: &std::path::Path| {
            std::fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        };
        files_under(&fixtures_dir(""), &mentions, &mut files);
    }
    files.sort();
    files.dedup();
    let (mut docs, mut logons, mut winlogbeat_logons, mut answered, mut scanned) = (0, 0, 0, 0, 0);
    for file in &files {
        let name = file.display().to_string();
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let values: Vec<Value> = if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
        } else if name.ends_with(".json") {
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            match v.get("expected").and_then(Value::as_array) {
                Some(expected) => expected.clone(),
                None => vec![v],
            }
        } else {
            // Field lists and documentation (YAML, Markdown): no documents.
            continue;
        };
        for doc in values.iter().filter(|d| d.is_object()) {
            for variant in variants(doc) {
                let is_evtx = variant.get("Event").is_some();
                for text in [variant.to_string(), serde_json::to_string_pretty(&variant).unwrap()] {
                    let expected = event_from_windows_json(&variant);
                    assert_eq!(reference(&text), expected, "{name}: {text}");
                    let (fast, by_scanner) = check_scanned(&text).unwrap();
                    scanned += usize::from(by_scanner);
                    // Every document takes the fast path but evtx records (a top-level `Event`;
                    // flattened, they are just objects without a logon).
                    assert_eq!(fast, !is_evtx, "{name}: {text}");
                    answered += usize::from(fast);
                    if let Ok(Some(_)) = expected {
                        logons += 1;
                        winlogbeat_logons += usize::from(!is_evtx);
                    }
                }
            }
            docs += 1;
        }
    }
    eprintln!(
        "{} files, {docs} documents; {logons} logons among the 6 variants of each ({winlogbeat_logons} winlogbeat); fast path answered {answered}, the scanner alone {scanned}",
        files.len()
    );
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    for wanted in [
        "windows-normal/security.evtx.auth.jsonl",
        "system/security/test-security-windows2012r2-logon.json-expected.json",
        "system/security/test-security-windows2016-logoff.json-expected.json",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(wanted)),
            "{wanted} missing from {names:?}"
        );
    }
    // 18 winlogbeat logons in Elastic's expected output, six variants each.
    assert!(winlogbeat_logons >= 6 * 18, "{winlogbeat_logons}");
    assert!(logons > winlogbeat_logons + 500, "{logons}");
}

/// The simulator's winlogbeat lines (as in `benches/throughput.rs`): every one is a logon, and
/// the fast path answers each one itself, with the hand-written scanner.
#[test]
fn simulated_organisation() {
    let cfg = auth_anomaly_sim::Config {
        users: 120,
        days: 21,
        ..auth_anomaly_sim::Config::default()
    };
    let sim = auth_anomaly_sim::simulate(&cfg).expect("simulation config");
    let text = sim.to_ndjson();
    let mut n = 0;
    for line in text.lines().filter(|l| sniff(l.as_bytes()) == InputFormat::Evtx) {
        let expected = reference(line);
        assert!(matches!(expected, Ok(Some(_))), "{line}");
        assert_eq!(
            winlogbeat_event_from_text_scanned(line),
            Some(expected.clone()),
            "{line}"
        );
        assert_eq!(winlogbeat_event_from_text(line), Some(expected), "{line}");
        n += 1;
    }
    assert!(n > 1_000, "{n} winlogbeat lines");
    // As one stream: every line but the first of its layout is read through a kept layout.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| sniff(l.as_bytes()) == InputFormat::Evtx)
        .collect();
    let hits = check_stream(&lines).unwrap();
    assert!(hits + 10 >= lines.len() as u64, "{hits} of {} lines", lines.len());
}

/// The generator is worth something only if it reaches every outcome, and mostly through the
/// fast path: logons with users and addresses, not-logons, each rejection reason.
#[test]
fn generator_reaches_every_outcome() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut counts = std::collections::BTreeMap::new();
    let (mut users, mut ips, mut answered, mut scanned) = (0, 0, 0, 0);
    let total = 3_000;
    for _ in 0..total {
        let doc = document().new_tree(&mut runner).unwrap().current();
        let r = reference(&doc);
        let fast = winlogbeat_event_from_text(&doc);
        answered += usize::from(fast.is_some());
        scanned += usize::from(winlogbeat_event_from_text_scanned(&doc).is_some());
        let key = format!(
            "{:?} {}",
            r.as_ref().map(Option::is_some),
            if fast.is_some() { "fast" } else { "reference" }
        );
        *counts.entry(key).or_insert(0) += 1;
        if let Ok(Some(e)) = r {
            users += usize::from(!e.user_name.is_empty());
            ips += usize::from(e.source_ip.is_some());
        }
    }
    eprintln!("{counts:?}; with a user {users}, an address {ips}; fast path answered {answered} of {total}, the scanner alone {scanned}");
    for outcome in [
        "Ok(true) fast",
        "Ok(false) fast",
        "Err(InvalidJson) fast",
        "Err(MissingTimestamp) fast",
        "Err(InvalidTimestamp) fast",
        "Ok(true) reference",
        "Err(NotAnObject) reference",
    ] {
        assert!(counts.get(outcome).copied().unwrap_or(0) >= 20, "{outcome}: {counts:?}");
    }
    assert!(answered * 2 > total, "{answered} of {total}");
    // The scanner leaves floats, exponents and every invalid document to the visitor.
    assert!(scanned * 6 > total, "the scanner alone: {scanned} of {total}");
    assert!(users >= 200 && ips >= 60, "{users} {ips}");
}

/// [`lines_of_one_layout`] is worth something only if its later lines are mostly read through the
/// first line's layout where the scanner read the first line.
#[test]
fn layouts_are_reused_by_the_generated_streams() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut hits, mut learned) = (0, 0);
    for _ in 0..1_000 {
        let doc = document().new_tree(&mut runner).unwrap().current();
        let values = prop::collection::vec(prop::option::weighted(0.3, other_value()), 0..24)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let second = with_values(&doc, &value_scalar_spans(&doc), &values);
        hits += check_stream(&[doc.as_str(), second.as_str()]).unwrap();
        learned += u64::from(winlogbeat_event_from_text_scanned(&doc).is_some());
    }
    eprintln!("{hits} second lines of {learned} read through the first one's layout");
    assert!(hits * 2 > learned && learned > 100, "{hits} of {learned}");
}
