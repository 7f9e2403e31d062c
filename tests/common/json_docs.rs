//! JSON document generators and fixture helpers shared by the fast-path equivalence suites
//! (`ecs_fast_equivalence.rs`, `windows_fast_equivalence.rs`): keys of dotted segments, any JSON
//! value, a path written nested, dotted or half and half, invalid scalars, and the nested /
//! flattened / half-dotted variants of a fixture document. Each suite passes its own key segments
//! and scalars. Included with `#[path = "common/json_docs.rs"] mod json_docs;` (native only:
//! proptest is not built for wasm32).
#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::{Map, Value};

/// `s` as a JSON string literal.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// One of `v`, as an owned string.
pub fn pick(v: Vec<&'static str>) -> BoxedStrategy<String> {
    prop::sample::select(v).prop_map(str::to_string).boxed()
}

/// A key as JSON text: 1–4 of `segments` joined by dots, sometimes with escapes in it.
pub fn key(segments: &'static [&'static str]) -> impl Strategy<Value = String> {
    (prop::collection::vec(prop::sample::select(segments), 1..5), 0u8..8).prop_map(|(segs, esc)| {
        let plain = segs.join(".");
        match esc {
            // `.` written as \u002e: the key is still dotted once unescaped.
            0 => quote(&plain).replace('.', "\\u002e"),
            // The first ASCII letter written as \u00XX.
            1 => {
                let quoted = quote(&plain);
                match quoted.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
                    Some((i, c)) => format!("{}\\u{:04x}{}", &quoted[..i], c as u32, &quoted[i + 1..]),
                    None => quoted,
                }
            }
            _ => quote(&plain),
        }
    })
}

/// Any JSON value as text: `scalar`s, and arrays and objects of them up to 4 deep (object keys
/// from [`key`] over `segments`, so targets can appear at any depth).
pub fn value(scalar: BoxedStrategy<String>, segments: &'static [&'static str]) -> impl Strategy<Value = String> {
    scalar.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key(segments), inner), 0..5).prop_map(|kv| {
                let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

/// Not JSON: serde_json rejects these in a `Value`, so the fast paths must too.
pub fn invalid_scalar() -> BoxedStrategy<String> {
    pick(vec![
        "\"\\ud800\"",
        "\"\\udc00x\"",
        "\"\\x\"",
        "\"a\u{1}b\"",
        "1e400",
        "-1e400",
        "01",
        "1.",
        "+1",
        "tru",
        "nul",
        "[1,]",
        "{\"a\"}",
        "{\"a\":1,}",
    ])
}

/// The keys (JSON text) that lead to `path` when it is cut into nested objects at the dots chosen
/// by `split`'s bits: `winlog.event_data.LogonType` → `"winlog"`, `"event_data.LogonType"`.
pub fn cut(path: &str, split: u8) -> Vec<String> {
    let segs: Vec<&str> = path.split('.').collect();
    let mut groups: Vec<String> = vec![segs[0].to_string()];
    for (i, s) in segs.iter().enumerate().skip(1) {
        match groups.last_mut() {
            Some(last) if split & (1 << i) == 0 => {
                last.push('.');
                last.push_str(s);
            }
            _ => groups.push(s.to_string()),
        }
    }
    groups.iter().map(|g| quote(g)).collect()
}

/// An object under construction: members in order, with nested objects merged by key (as a
/// document writer would), so that a field nested under `winlog` joins the other `winlog` fields.
#[derive(Default)]
pub struct Tree(Vec<(String, Node)>);

enum Node {
    Leaf(String),
    Object(Tree),
}

impl Tree {
    pub fn insert(&mut self, keys: &[String], value: String) {
        let Some((first, rest)) = keys.split_first() else {
            return;
        };
        if rest.is_empty() {
            self.0.push((first.clone(), Node::Leaf(value)));
            return;
        }
        let existing = self.0.iter_mut().find_map(|(k, n)| match n {
            Node::Object(t) if k == first => Some(t),
            _ => None,
        });
        match existing {
            Some(inner) => inner.insert(rest, value),
            None => {
                let mut inner = Tree::default();
                inner.insert(rest, value);
                self.0.push((first.clone(), Node::Object(inner)));
            }
        }
    }

    pub fn members(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(k, n)| match n {
                Node::Leaf(v) => format!("{k}:{v}"),
                Node::Object(t) => format!("{k}:{{{}}}", t.members().join(",")),
            })
            .collect()
    }

    pub fn render(&self) -> String {
        format!("{{{}}}", self.members().join(","))
    }
}

/// `path` with value `leaf` as one object member, nested at the dots chosen by `split`'s bits:
/// `"user":{"effective.name":"bob"}`.
pub fn nested_member(path: &str, split: u8, leaf: String) -> String {
    let mut tree = Tree::default();
    tree.insert(&cut(path, split), leaf);
    tree.members().join(",")
}

/// `o` (an object's text) with `entry` as its first member.
pub fn prepend(o: &str, entry: &str) -> String {
    if o == "{}" {
        format!("{{{entry}}}")
    } else {
        format!("{{{entry},{}", &o[1..])
    }
}

/// `o` with whitespace around its tokens.
pub fn spaced(o: &str) -> String {
    format!(" \t{}\n ", o.replace(',', " ,\n").replace(':', " : "))
}

/// `o` cut anywhere (on a character boundary).
pub fn truncated(o: &str, at: prop::sample::Index) -> String {
    let mut cut = at.index(o.len() + 1);
    while !o.is_char_boundary(cut) {
        cut -= 1;
    }
    o[..cut].to_string()
}

/// `../shared/fixtures/{sub}` next to the crate.
pub fn fixtures_dir(sub: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(sub)
}

/// Every file under `dir` (recursively) that `keep` accepts.
pub fn files_under(dir: &std::path::Path, keep: &dyn Fn(&std::path::Path) -> bool, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("fixtures {} missing: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files_under(&path, keep, out);
        } else if keep(&path) {
            out.push(path);
        }
    }
}

/// `{"a":{"b":1}}` → `{"a.b":1}` (arrays kept as they are).
pub fn flatten(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// The top level flattened one step: `{"user":{"effective":{"name":…}}}` →
/// `{"user.effective":{"name":…}}`.
pub fn half_dotted(v: &Value) -> Value {
    let mut out = Map::new();
    for (k, x) in v.as_object().expect("an object") {
        match x {
            Value::Object(m) if !m.is_empty() => {
                for (k2, y) in m {
                    out.insert(format!("{k}.{k2}"), y.clone());
                }
            }
            other => {
                out.insert(k.clone(), other.clone());
            }
        }
    }
    Value::Object(out)
}

/// `doc` as written, fully dotted and half dotted.
pub fn variants(doc: &Value) -> [Value; 3] {
    let mut flat = Map::new();
    flatten("", doc, &mut flat);
    [doc.clone(), Value::Object(flat), half_dotted(doc)]
}

/// Where the value scalars of `doc` are (strings that are not keys, numbers, `true`, `false`,
/// `null`), read token by token without validating: enough to write a line of the same layout
/// with other values, valid or not.
pub fn value_scalar_spans(doc: &str) -> Vec<std::ops::Range<usize>> {
    let b = doc.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                let next = b[i..].iter().find(|c| !c.is_ascii_whitespace());
                if next != Some(&b':') {
                    spans.push(start..i);
                }
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                while i < b.len() && matches!(b[i], b'-' | b'+' | b'.' | b'0'..=b'9' | b'a'..=b'z' | b'E') {
                    i += 1;
                }
                spans.push(start..i);
            }
            _ => i += 1,
        }
    }
    spans
}

/// `doc` with the scalar at each of `spans` replaced by the matching entry of `values` (none
/// where `values` is shorter, or where its entry is `None`).
pub fn with_values(doc: &str, spans: &[std::ops::Range<usize>], values: &[Option<String>]) -> String {
    let mut out = String::with_capacity(doc.len());
    let mut at = 0;
    for (span, value) in spans.iter().zip(values) {
        if let Some(v) = value {
            out.push_str(&doc[at..span.start]);
            out.push_str(v);
            at = span.end;
        }
    }
    out.push_str(&doc[at..]);
    out
}
