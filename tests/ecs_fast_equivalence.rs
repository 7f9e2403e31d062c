//! The ECS text fast path (`event_from_json`, a serde visitor that keeps only the fields the jobs
//! use) gives exactly what the reference gives: `event_from_json_value` on the `serde_json::Value`
//! of the same text — the same event, or the same `RejectReason`. Checked on generated documents
//! (nested, dotted and mixed keys, duplicate keys, arrays, numbers and booleans where strings
//! belong, escapes, unicode, invalid JSON, deep nesting), on every document of Elastic's pipeline
//! output in `../shared/fixtures/elastic-integrations` (nested, fully dotted and half dotted), and
//! on every line of the bundled demo organisation.
#![cfg(not(target_arch = "wasm32"))] // native suite: wasm-pack builds every test target

use auth_anomaly::ingest::{event_from_json, event_from_json_value, parse_line, LineParser};
use auth_anomaly::{AuthEvent, RejectReason};
use proptest::prelude::*;
use serde_json::Value;

#[path = "common/json_docs.rs"]
mod json_docs;
use json_docs::{
    files_under, fixtures_dir, invalid_scalar, nested_member, prepend, spaced, truncated, value_scalar_spans, variants,
    with_values,
};

fn reference(doc: &str) -> Result<AuthEvent, RejectReason> {
    let value: Value = serde_json::from_str(doc).map_err(|_| RejectReason::InvalidJson)?;
    event_from_json_value(&value)
}

fn check(doc: &str) -> Result<(), TestCaseError> {
    let expected = reference(doc);
    prop_assert_eq!(event_from_json(doc), expected.clone(), "document: {}", doc);
    prop_assert_eq!(parse_line(doc.as_bytes()), expected, "document: {}", doc);
    Ok(())
}

/// The paths the ECS fast path reads, in its target order.
const PATHS: [&str; 20] = include!("../src/ingest/ecs_paths.in");

/// Key segments: every segment of the paths the parser reads, near misses, and others.
const SEGMENTS: &[&str] = &[
    "@timestamp",
    "timestamp",
    "event",
    "category",
    "outcome",
    "action",
    "dataset",
    "id",
    "original",
    "user",
    "name",
    "effective",
    "domain",
    "source",
    "ip",
    "host",
    "hostname",
    "process",
    "winlog",
    "event_data",
    "LogonType",
    "port",
    "pid",
    "system",
    "auth",
    "ssh",
    "method",
    "data_stream",
    "kind",
    "Event",
    "usr",
    "",
    "é名",
];

/// A key as JSON text: 1–4 segments joined by dots, sometimes with escapes in it.
fn key() -> impl Strategy<Value = String> {
    json_docs::key(SEGMENTS)
}

/// A full target path as a dotted key, or split into nested objects (handled by `value` below).
fn string_value() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "\"2026-10-01T08:00:00Z\"",
        "\"2026-10-01T08:00:00.123456+02:00\"",
        "\"2026-10-01\"",
        "\"2026-13-01T00:00:00Z\"",
        "\"yesterday\"",
        "\"\"",
        "\" \"",
        "\"authentication\"",
        "\"authenticat\\u0069on\"",
        "\"session\"",
        "\"success\"",
        "\"failure\"",
        "\"succ\\u0065ss\"",
        "\"authenticated\"",
        "\"alice\"",
        "\"al\\u0069ce\"",
        "\"bob\"",
        "\"CORP\"",
        "\"ü名 \\\"quoted\\\" \\\\ \\n\\t\"",
        "\"\\ud83d\\ude00\"",
        "\"10.0.0.1\"",
        "\" 10.0.0.2 \"",
        "\"::ffff:10.0.0.1\"",
        "\"[2001:db8::1]\"",
        "\"fe80::1%eth0\"",
        "\"127.0.0.1\"",
        "\"-\"",
        "\"not-an-ip\"",
        "\"type=USER_LOGIN msg=audit(1553501549.148:110544844): user pid=374\"",
        "\"audit(12.5:1)\"",
        "\"audit(x:1)\"",
        "\"sshd\"",
        "\"3\"",
        "\"system.auth\"",
    ])
    .prop_map(str::to_string)
}

fn scalar_value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => string_value(),
        2 => prop::sample::select(vec![
            "0",
            "-0",
            "3",
            "-3",
            "1552714590571",
            "1552714590571.9",
            "1.5e12",
            "-1.5e12",
            "9.1e15",
            "1e2",
            "0.1",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
        ])
        .prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
        1 => prop::sample::select(vec!["true", "false", "null"]).prop_map(str::to_string),
    ]
}

/// A value that makes sense for the target path (so that accepted events are common).
fn plausible(path: &'static str) -> BoxedStrategy<String> {
    let pick = |v: Vec<&'static str>| prop::sample::select(v).prop_map(|s| s.to_string()).boxed();
    match path {
        "@timestamp" | "timestamp" => pick(vec![
            "\"2026-10-01T08:00:00Z\"",
            "\"2026-10-01T08:00:00.5-05:30\"",
            "1790812800000",
            "1.7908128e12",
            "\"2026-10-01 08:00:00\"",
        ]),
        "event.original" => pick(vec![
            "\"type=USER_AUTH msg=audit(1553501549.148:1): x\"",
            "\"msg=audit(1553501549:1)\"",
            "[\"audit(1553501549.1:2)\"]",
        ]),
        "event.action" => pick(vec!["\"authenticated\"", "\"ssh_login\"", "[\"authenticated\"]"]),
        "event.category" => pick(vec![
            "\"authentication\"",
            "[\"authentication\"]",
            "[\"session\",\"authentication\"]",
            "[\"session\"]",
        ]),
        "event.outcome" => pick(vec!["\"success\"", "\"failure\"", "\"unknown\"", "[\"success\"]"]),
        "source.ip" => pick(vec![
            "\"10.0.0.1\"",
            "\"2001:db8::1\"",
            "[\"81.2.69.160\",\"10.0.0.1\"]",
            "\"::ffff:192.0.2.1\"",
            "\"fe80::1%eth0\"",
            "\"-\"",
        ]),
        "source.port" | "process.pid" => pick(vec![
            "22",
            "\"52059\"",
            "65536",
            "-1",
            "4294967296",
            "[1,2]",
            "\"0x1e4\"",
        ]),
        _ => pick(vec![
            "\"alice\"",
            "\"bob\"",
            "\"h\\u00e9\"",
            "\"3\"",
            "3",
            "[\"x\",\"y\"]",
        ]),
    }
}

/// Any JSON value as text (object keys from [`key`], so targets can appear at any depth).
fn value() -> impl Strategy<Value = String> {
    json_docs::value(scalar_value().boxed(), SEGMENTS)
}

/// A target field written nested, dotted or half and half, with a value likely to matter.
fn target_entry() -> impl Strategy<Value = String> {
    let paths = prop::sample::select(PATHS.to_vec());
    let entry = paths.prop_flat_map(|path| {
        let leaf = prop_oneof![
            6 => plausible(path),
            4 => scalar_value(),
            2 => prop::collection::vec(scalar_value(), 0..3).prop_map(|v| format!("[{}]", v.join(","))),
            1 => prop::collection::vec(value(), 0..3).prop_map(|v| format!("[[{}]]", v.join(","))),
            1 => value(),
        ];
        (Just(path), leaf)
    });
    (entry, any::<u8>()).prop_map(|((path, leaf), split)| nested_member(path, split, leaf))
}

fn document() -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        5 => target_entry(),
        2 => (key(), value()).prop_map(|(k, v)| format!("{k}:{v}")),
    ];
    let object = prop::collection::vec(entry, 0..14).prop_map(|e| format!("{{{}}}", e.join(",")));
    prop_oneof![
        20 => object.clone(),
        // A timestamp surely present, so that the other fields decide the event.
        20 => (object.clone(), prop::sample::select(vec![
            "\"2026-10-01T08:00:00Z\"", "1552714590571", "\"2026-10-01\""
        ]))
            .prop_map(|(o, ts)| prepend(&o, &format!("\"@timestamp\":{ts}"))),
        // Whitespace around the tokens.
        2 => object.clone().prop_map(|o| spaced(&o)),
        // Broken text: cut anywhere, or trailing garbage.
        2 => (object.clone(), any::<prop::sample::Index>()).prop_map(|(o, i)| truncated(&o, i)),
        1 => object.clone().prop_map(|o| format!("{o} x")),
        // One invalid scalar somewhere: at the top level, or in a nested field or array.
        3 => (object.clone(), key(), invalid_scalar(), 0u8..4).prop_map(|(o, k, bad, at)| {
            let entry = match at {
                0 => format!("{k}:{bad}"),
                1 => format!("{k}:[1,{{\"x\":{bad}}}]"),
                2 => format!("\"user\":{{\"name\":\"a\",{k}:{bad}}}"),
                _ => format!("\"event.category\":[\"authentication\",{bad}]"),
            };
            prepend(&o, &entry)
        }),
        1 => object.clone().prop_map(|o| format!("{o}{o}")),
        // Not an object.
        2 => value(),
        // Nesting around the parser's limit of 128, in a field that is otherwise skipped.
        1 => (object, 120usize..136, any::<bool>()).prop_map(|(o, depth, arrays)| {
            let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
            let deep = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            prepend(&o, &format!("\"x\":{deep}"))
        }),
    ]
}

/// `lines` through one [`LineParser`] (which reads a line of a layout it has seen at the known
/// places) each give what the reference gives; returns how many were read through a layout.
fn check_stream<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<u64, TestCaseError> {
    let mut parser = LineParser::new();
    for line in lines {
        let streamed = parser.parse(line.as_bytes()).cloned();
        prop_assert_eq!(streamed, reference(line), "line: {}", line);
    }
    Ok(parser.shape_hits())
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
            "{\"name\":\"x\"}",
            "{\"ip\":\"10.0.0.1\",\"port\":22}",
            "{\"category\":[\"authentication\"],\"outcome\":\"success\"}",
            "{\"effective\":{\"name\":\"e\"}}",
            "{\"event_data\":{\"LogonType\":\"3\"}}",
            "[\"authentication\"]",
            "\"a\\\"b\"",
        ])
        .prop_map(str::to_string),
    ]
}

/// Keys whose object values the parser enters.
const ENTERED: [&str; 8] = [
    "user",
    "source",
    "event",
    "host",
    "process",
    "winlog",
    "system",
    "user.effective",
];

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
        check_stream([doc.as_str(), second.as_str(), third.as_str(), doc.as_str()])?;
    }

    /// Duplicate keys: serde_json keeps the last value of a key, which may be an object holding
    /// a field or something else entirely.
    #[test]
    fn duplicate_keys(a in target_entry(), b in target_entry(), c in target_entry(), order in 0u8..6) {
        let doc = match order {
            0 => format!("{{\"@timestamp\":0,{a},{b},{c}}}"),
            1 => format!("{{\"@timestamp\":0,{a},{a},{b}}}"),
            2 => format!("{{\"@timestamp\":0,{b},{a},{b},{c},{b}}}"),
            3 => format!("{{\"@timestamp\":0,{a},\"user\":1,\"event\":null,{b}}}"),
            4 => format!("{{\"@timestamp\":0,{a},{b},\"user\":{{}},\"source\":[1],\"event\":\"x\",\"host\":{{\"x\":1}}}}"),
            _ => format!("{{{a},{b},\"@timestamp\":\"x\",{c},\"@timestamp\":0}}"),
        };
        check(&doc)?;
    }

    /// Arbitrary Unicode where strings go (keys and values), through serde_json's own escaping.
    #[test]
    fn unicode_strings(user in "\\PC{0,12}", key in "\\PC{0,8}", ip in "[0-9a-f:.%\\[\\] -]{0,20}") {
        let doc = serde_json::json!({
            "@timestamp": "2026-10-01T08:00:00Z",
            "event": {"category": ["x", "authentication"], "outcome": "success"},
            "user": {"name": user, key.clone(): user},
            "source.ip": ip,
            key: {"name": "other"},
        });
        check(&doc.to_string())?;
    }
}

#[test]
fn hand_picked_edges() {
    let docs = [
        // Literal dotted key wins over a nested one, whatever the order.
        r#"{"@timestamp":0,"user":{"name":"nested"},"user.name":"dotted"}"#,
        r#"{"@timestamp":0,"user.name":"dotted","user":{"name":"nested"}}"#,
        // The shorter split is tried first: `user` before `user.effective`.
        r#"{"@timestamp":0,"user.effective":{"name":"b"},"user":{"effective":{"name":"a"}}}"#,
        r#"{"@timestamp":0,"user.effective":{"name":"b"},"user":{"effective.name":"a"}}"#,
        r#"{"@timestamp":0,"user.effective":{"name":"b"},"user":{"effective":{}}}"#,
        r#"{"@timestamp":0,"user":{"effective":{"name":""}},"user.effective":{"name":"b"}}"#,
        // A found value that is null or an object hides the later splits.
        r#"{"@timestamp":0,"user.name":null,"user":{"name":"a"}}"#,
        r#"{"@timestamp":0,"user":{"name":{"x":1}},"user.name":"a"}"#,
        // Duplicates: the last one replaces the whole value.
        r#"{"@timestamp":0,"user":{"name":"a"},"user":{"domain":"D"}}"#,
        r#"{"@timestamp":0,"user":{"name":"a"},"user":5,"user.effective":{"name":"e"}}"#,
        r#"{"@timestamp":"x","@timestamp":1}"#,
        r#"{"@timestamp":1,"@timestamp":null}"#,
        // Timestamps: number, float, array, bool, fallback key, auditd header.
        r#"{"@timestamp":1.5e12}"#,
        r#"{"@timestamp":1e16}"#,
        r#"{"@timestamp":-0}"#,
        r#"{"@timestamp":["2026-10-01T00:00:00Z"]}"#,
        r#"{"@timestamp":true}"#,
        r#"{"timestamp":"2026-10-01T00:00:00Z","event.original":"audit(1.5:1)"}"#,
        r#"{"event":{"original":["", "audit(1553501549.148:1)"]}}"#,
        r#"{"event":{"original":["audit(1553501549.148:1)"]}}"#,
        r#"{"event.original":"audit(12:1)"}"#,
        r#"{"event.original":""}"#,
        // Arrays: first scalar depth first, objects and nulls skipped, empty strings count.
        r#"{"@timestamp":0,"source.ip":[null,{"a":1},[],[["10.0.0.9"]],"10.0.0.1"]}"#,
        r#"{"@timestamp":0,"source.ip":["","10.0.0.1"]}"#,
        r#"{"@timestamp":0,"user.name":[true,"a"],"host.name":[1.5e300]}"#,
        r#"{"@timestamp":0,"event.category":[["x",["authentication"]]]}"#,
        r#"{"@timestamp":0,"event.category":[{"a":"authentication"}]}"#,
        r#"{"@timestamp":0,"event.category":"authentication","event":{"category":"x"}}"#,
        // auditd USER_AUTH.
        r#"{"@timestamp":0,"event.action":"authenticated","user":{"name":"root","effective":{"name":"bob"}}}"#,
        r#"{"@timestamp":0,"event.action":"authenticated","user":{"name":"root","effective":{"name":""}}}"#,
        r#"{"@timestamp":0,"event.action":["authenticated"],"user.effective.name":"bob"}"#,
        r#"{"@timestamp":0,"user.effective.name":7}"#,
        // Fallbacks between fields.
        r#"{"@timestamp":0,"host.name":"","host.hostname":"h2","event.dataset":null,"data_stream":{"dataset":"ds"}}"#,
        r#"{"@timestamp":0,"winlog":{"event_data.LogonType":3},"winlog.event_data":{"LogonType":"10"}}"#,
        // Escaped keys and values.
        r#"{"@timestamp":0,"user\u002ename":"a\u0062c","us\u0065r":{"name":"x"}}"#,
        // Validation of skipped values exactly as a Value would do it.
        r#"{"@timestamp":0,"x":"\ud800"}"#,
        r#"{"@timestamp":0,"\ud800":1}"#,
        r#"{"@timestamp":0,"x":1e400}"#,
        r#"{"@timestamp":0,"x":[1,]}"#,
        r#"{"@timestamp":0,"x":01}"#,
        r#"{"@timestamp":0,"x":"\x"}"#,
        r#"{"@timestamp":0,"x":"a	b"}"#,
        r#"{"@timestamp":0,}"#,
        r#"{"@timestamp":0} "#,
        r#"{"@timestamp":0} {}"#,
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
        for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("{\"user\":", "}")] {
            let deep = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            check(&deep).unwrap();
            check(&format!("{{\"@timestamp\":0,\"x\":{deep}}}")).unwrap();
            check(&format!("{{\"@timestamp\":0,\"user\":{deep}}}")).unwrap();
            check(&format!("{{\"@timestamp\":0,\"source.ip\":{deep}}}")).unwrap();
        }
    }
}

#[test]
fn elastic_pipeline_documents() {
    let mut files = Vec::new();
    let expected = |p: &std::path::Path| p.to_string_lossy().ends_with("-expected.json");
    files_under(&fixtures_dir("elastic-integrations"), &expected, &mut files);
    assert!(files.len() >= 6, "expected-output fixtures: {files:?}");
    let mut docs = 0;
    let mut accepted = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let fixture: Value = serde_json::from_str(&text).unwrap();
        for doc in fixture["expected"].as_array().unwrap().iter().filter(|d| d.is_object()) {
            for variant in variants(doc) {
                let text = variant.to_string();
                let fast = event_from_json(&text);
                assert_eq!(fast, event_from_json_value(&variant), "{}: {text}", file.display());
                // Pretty-printed: whitespace everywhere.
                let pretty = serde_json::to_string_pretty(&variant).unwrap();
                assert_eq!(event_from_json(&pretty), fast);
                accepted += usize::from(fast.is_ok());
            }
            docs += 1;
        }
    }
    eprintln!("{docs} documents, {accepted} of {} variants accepted", 3 * docs);
    assert!(docs >= 40, "{docs} documents");
    // Most carry a timestamp (some of Elastic's syslog documents do not, and are rejected).
    assert!(accepted >= 2 * docs, "{accepted} of {} variants accepted", 3 * docs);
}

#[test]
fn demo_organisation() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/org-demo.ndjson");
    let text = std::fs::read_to_string(path).unwrap();
    let mut n = 0;
    for line in text.lines() {
        let fast = event_from_json(line);
        assert!(fast.is_ok(), "{line}");
        assert_eq!(fast, reference(line), "{line}");
        n += 1;
    }
    assert!(n > 10_000);
    // As one stream: nearly every line is read through a layout seen before.
    let hits = check_stream(text.lines()).unwrap();
    assert!(
        hits * 10 >= n as u64 * 9,
        "{hits} of {n} lines read through a known layout"
    );
}

/// Elastic's pipeline output as one stream, each document twice in a row (so that its layout is
/// known the second time).
#[test]
fn elastic_pipeline_documents_as_a_stream() {
    let mut files = Vec::new();
    let expected = |p: &std::path::Path| p.to_string_lossy().ends_with("-expected.json");
    files_under(&fixtures_dir("elastic-integrations"), &expected, &mut files);
    let mut lines = Vec::new();
    for file in files {
        let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for doc in fixture["expected"].as_array().unwrap().iter().filter(|d| d.is_object()) {
            lines.extend(variants(doc).iter().map(Value::to_string));
        }
    }
    let twice: Vec<&str> = lines.iter().flat_map(|l| [l.as_str(), l.as_str()]).collect();
    let hits = check_stream(twice).unwrap();
    // The scanner leaves lines with an escape to serde_json, so their layout is not learned.
    let plain = lines.iter().filter(|l| !l.contains('\\')).count() as u64;
    eprintln!(
        "{hits} of {} repeated lines ({plain} without an escape) read through a known layout",
        lines.len()
    );
    assert!(hits >= plain, "{hits} hits for {plain} lines without an escape");
}

/// The generator is worth something only if it reaches every outcome: accepted events with
/// users, addresses and the authentication category, and each rejection reason.
#[test]
fn generator_reaches_every_outcome() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut counts = std::collections::BTreeMap::new();
    let (mut users, mut ips, mut auth) = (0, 0, 0);
    for _ in 0..2_000 {
        let doc = document().new_tree(&mut runner).unwrap().current();
        let r = reference(&doc);
        *counts.entry(format!("{:?}", r.as_ref().map(|_| ()))).or_insert(0) += 1;
        if let Ok(e) = r {
            users += usize::from(!e.user_name.is_empty());
            ips += usize::from(e.source_ip.is_some());
            auth += usize::from(e.is_authentication);
        }
    }
    eprintln!("{counts:?}; with a user {users}, an address {ips}, authentication {auth}");
    for outcome in [
        "Ok(())",
        "Err(InvalidJson)",
        "Err(NotAnObject)",
        "Err(MissingTimestamp)",
        "Err(InvalidTimestamp)",
    ] {
        assert!(counts.get(outcome).copied().unwrap_or(0) >= 20, "{outcome}: {counts:?}");
    }
    assert!(counts["Ok(())"] >= 600, "{counts:?}");
    assert!(users >= 200 && ips >= 50 && auth >= 30, "{users} {ips} {auth}");
}
