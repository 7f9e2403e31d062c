//! Line shapes: the ECS lines of one stream nearly always share one layout (the same keys in the
//! same order, with the same punctuation and whitespace; only the values differ), because one
//! shipper (Filebeat, Elastic Agent, Winlogbeat, the simulator) writes them all. After the
//! scanner has read a line, [`LineShapes`] keeps its layout: the literal text between the values,
//! and what the scanner did with each value. A later line is read by comparing its literal runs
//! with `memcmp` and reading only its values, without the per-key work (key scan, trie lookup,
//! route, duplicate check) that makes up most of the scanner's cost.
//!
//! This is speculative parsing in the manner of Mison (Li et al., "Mison: A Fast JSON Parser for
//! Data Analytics", VLDB 2017), with exact verification instead of a probabilistic guess: a line
//! that differs from every kept shape anywhere outside its values is read by the scanner as
//! before, and its shape is learned.
//!
//! Why a match gives exactly the scanner's answer: a line that matches a shape is the learned
//! line with some values replaced. The scanner's path through a document depends only on its
//! keys and on the kinds of the values it captures or enters, so each kind of value is held to
//! what the scanner would do with it:
//! - a value the scanner drops ([`Slot::Any`]) may be any valid JSON value (validated as the
//!   scanner validates it), except an object where the scanner would enter one;
//! - a captured string or number ([`Slot::Str`], [`Slot::Num`]) must be one again;
//! - anything else that is captured (arrays, `true`, `false`, `null`, objects) is part of the
//!   literal text, so it is the same value, rebuilt from its place in the line ([`FixedValue`]);
//! - keys, and the objects entered, are literal text.
//!
//! `tests/ecs_fast_equivalence.rs` checks every answer of the streaming parser against the
//! `serde_json::Value` reference on pairs of generated lines of one shape.

use serde_json::Number;

use super::fast::{Captured, Found, Scalar, Text};
use super::scan::{scan_document, scan_document_traced, string_stop, Scanner};
use crate::ingest::key_trie::Route;
use crate::ingest::shape_cache::{same_bytes, ShapeCache};

/// What a shape leaves open at one place of the text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Slot {
    /// A string without escapes: the text between its quotes.
    Str,
    /// A number the scanner captures (a short non-negative integer).
    Num,
    /// Any valid JSON value, dropped. `depth`: the containers around it (the scanner's nesting
    /// limit counts them); `object_ok`: whether an object may stand here (not where the scanner
    /// would enter it).
    Any { depth: u32, object_ok: bool },
}

/// The first scalar of a captured array, as [`Captured::Many`] holds it.
#[derive(Clone, Debug)]
pub(super) enum FirstScalar {
    None,
    /// A string at `at` (in a note: in the line; in a shape: from the start of its literal run).
    Str {
        at: usize,
        len: usize,
    },
    Num(Number),
    Bool(bool),
}

/// A captured value that is part of a shape's literal text, rebuilt from it.
#[derive(Clone, Debug)]
pub(super) enum FixedValue {
    Bool(bool),
    Other,
    Many {
        first: FirstScalar,
        auth: bool,
    },
    /// A capture that cannot be rebuilt from the text: the line's shape is not learned.
    Unknown,
}

impl FixedValue {
    /// The fixed form of `captured`, whose strings are borrowed from `text`.
    pub(super) fn of(captured: &Captured<'_>, text: &str) -> FixedValue {
        match captured {
            Captured::One(Scalar::Bool(b)) => FixedValue::Bool(*b),
            Captured::Other => FixedValue::Other,
            Captured::Many { first, auth } => {
                let first = match first {
                    None => FirstScalar::None,
                    Some(Scalar::Bool(b)) => FirstScalar::Bool(*b),
                    Some(Scalar::Num(n)) => FirstScalar::Num(n.clone()),
                    Some(Scalar::Str(Text::Line(s))) => FirstScalar::Str {
                        // Borrowed from `text`: its offset is the pointers' difference.
                        at: (s.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize),
                        len: s.len(),
                    },
                    Some(Scalar::Str(Text::Decoded { .. })) => return FixedValue::Unknown,
                };
                FixedValue::Many { first, auth: *auth }
            }
            // Strings and numbers are slots, not fixed values.
            Captured::One(_) => FixedValue::Unknown,
        }
    }

    /// The capture, with its string borrowed from `text`, whose literal run starts at `run`.
    fn captured<'de>(&self, text: &'de str, run: usize) -> Option<Captured<'de>> {
        Some(match self {
            FixedValue::Bool(b) => Captured::One(Scalar::Bool(*b)),
            FixedValue::Other => Captured::Other,
            FixedValue::Many { first, auth } => Captured::Many {
                first: match first {
                    FirstScalar::None => None,
                    FirstScalar::Bool(b) => Some(Scalar::Bool(*b)),
                    FirstScalar::Num(n) => Some(Scalar::Num(n.clone())),
                    FirstScalar::Str { at, len } => {
                        let start = run.checked_add(*at)?;
                        Some(Scalar::Str(Text::Line(text.get(start..start.checked_add(*len)?)?)))
                    }
                },
                auth: *auth,
            },
            FixedValue::Unknown => return None,
        })
    }
}

/// What the scanner did with one value of a document, in text order (recorded while learning).
#[derive(Clone, Debug)]
pub(super) enum Note {
    /// A value the shape leaves open, at `start..end` of the line; `capture`: the target and
    /// route it was captured for.
    Slot {
        start: usize,
        end: usize,
        slot: Slot,
        capture: Option<(u8, Route)>,
    },
    /// A captured value the shape keeps as literal text.
    Fixed {
        target: u8,
        route: Route,
        value: FixedValue,
    },
}

impl Note {
    pub(super) fn slot(start: usize, end: usize, slot: Slot, capture: Option<(u8, Route)>) -> Note {
        Note::Slot {
            start,
            end,
            slot,
            capture,
        }
    }
}

/// One learned layout.
#[derive(Debug, Default)]
struct Shape {
    /// The literal runs, one after the other.
    literal: Vec<u8>,
    /// Where each literal run ends in `literal`: one more run than slots (the text before the
    /// first slot, between slots, after the last).
    runs: Vec<usize>,
    /// The slot after each run but the last, and the target and route it is captured for.
    slots: Vec<(Slot, Option<(u8, Route)>)>,
    /// The fixed captures: the run they are in, target, route, value (strings from the run's start).
    fixed: Vec<(usize, u8, Route, FixedValue)>,
}

impl Shape {
    /// Learns the layout of `text` from the scanner's notes on it; `false` if it cannot be.
    fn learn(&mut self, text: &str, notes: &[Note]) -> bool {
        self.literal.clear();
        self.runs.clear();
        self.slots.clear();
        self.fixed.clear();
        let bytes = text.as_bytes();
        let mut run_start = 0;
        // Captures are replayed in text order, as the scanner made them, so a target's later
        // capture replaces an earlier one just as it does there.
        for note in notes {
            match note {
                Note::Slot {
                    start,
                    end,
                    slot,
                    capture,
                } => {
                    let Some(run) = bytes.get(run_start..*start) else {
                        return false;
                    };
                    self.literal.extend_from_slice(run);
                    self.runs.push(self.literal.len());
                    self.slots.push((*slot, *capture));
                    run_start = *end;
                }
                Note::Fixed { target, route, value } => {
                    let value = match value {
                        FixedValue::Unknown => return false,
                        FixedValue::Many {
                            first: FirstScalar::Str { at, len },
                            auth,
                        } => match at.checked_sub(run_start) {
                            Some(at) => FixedValue::Many {
                                first: FirstScalar::Str { at, len: *len },
                                auth: *auth,
                            },
                            None => return false,
                        },
                        other => other.clone(),
                    };
                    self.fixed.push((self.slots.len(), *target, *route, value));
                }
            }
        }
        let Some(rest) = bytes.get(run_start..) else {
            return false;
        };
        self.literal.extend_from_slice(rest);
        self.runs.push(self.literal.len());
        true
    }

    /// Reads `text` into `found` (fresh) if it has this shape; `None` otherwise (`found` may then
    /// hold partial results).
    fn read<'de>(&self, text: &'de str, found: &mut Found<'de>) -> Option<()> {
        let bytes = text.as_bytes();
        let mut at = 0;
        let mut literal_start = 0;
        let mut fixed = self.fixed.iter().peekable();
        for (run, &literal_end) in self.runs.iter().enumerate() {
            let literal = self.literal.get(literal_start..literal_end)?;
            literal_start = literal_end;
            if !same_bytes(bytes.get(at..at + literal.len())?, literal) {
                return None;
            }
            while let Some((_, target, route, value)) = fixed.next_if(|f| f.0 == run) {
                *found.best.get_mut(usize::from(*target))? = Some((*route, value.captured(text, at)?));
            }
            at += literal.len();
            let Some(&(slot, capture)) = self.slots.get(run) else {
                break;
            };
            let scalar = match slot {
                Slot::Str => {
                    let rest = bytes.get(at..)?;
                    let len = string_stop(rest)?;
                    if rest[len] != b'"' {
                        return None;
                    }
                    let s = text.get(at..at + len)?;
                    at += len;
                    Scalar::Str(Text::Line(s))
                }
                Slot::Num => {
                    let mut scanner = Scanner::new(text, at, 0, None);
                    let number = scanner.number()?;
                    at = scanner.at;
                    Scanner::captured_number(number)?
                }
                Slot::Any { depth, object_ok } => {
                    if !object_ok && bytes.get(at) == Some(&b'{') {
                        return None;
                    }
                    let mut scanner = Scanner::new(text, at, depth, None);
                    scanner.skip_value()?;
                    at = scanner.at;
                    continue;
                }
            };
            if let Some((target, route)) = capture {
                *found.best.get_mut(usize::from(target))? = Some((route, Captured::One(scalar)));
            }
        }
        (at == bytes.len()).then_some(())
    }
}

/// The shapes of one stream's recent ECS lines (see [`ShapeCache`] for which are tried and when
/// one is learned).
#[derive(Debug, Default)]
pub(crate) struct LineShapes {
    cache: ShapeCache<Shape>,
    /// The scanner's notes on the line being learned (kept for its capacity).
    notes: Vec<Note>,
}

impl LineShapes {
    /// Lines read through a kept shape so far.
    pub(crate) fn hits(&self) -> u64 {
        self.cache.hits
    }

    /// Reads `text` into `found` (fresh) through a kept shape, or else with the scanner (learning
    /// the line's shape); `None` when neither decides (`found` may hold partial results).
    pub(super) fn read<'de>(&mut self, text: &'de str, found: &mut Found<'de>) -> Option<()> {
        let matched = self.cache.try_shapes(|shape| {
            let hit = shape.read(text, found).is_some();
            if !hit {
                *found = Found::new();
            }
            hit
        });
        if matched {
            return Some(());
        }
        if !self.cache.learns(text.len()) {
            return scan_document(text, found);
        }
        scan_document_traced(text, found, &mut self.notes)?;
        let mut shape = self.cache.spare();
        if shape.learn(text, &self.notes) {
            self.cache.keep(shape);
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::shape_cache::{MAX_LEARNED_LINE_BYTES, MAX_SHAPES, WINDOW_LINES};

    fn fresh_found<'de>() -> Found<'de> {
        Found::new()
    }

    /// The scanner's captures of `doc`, as text, for comparison.
    fn scanned(doc: &str) -> Option<String> {
        let mut found = fresh_found();
        scan_document(doc, &mut found).map(|()| format!("{:?}", found.best))
    }

    /// The captures of `doc` read through the shape learned from `template`.
    fn through_shape(template: &str, doc: &str) -> Option<String> {
        let mut shapes = LineShapes::default();
        shapes.read(template, &mut fresh_found())?;
        let mut found = fresh_found();
        let hits = shapes.hits();
        shapes.read(doc, &mut found)?;
        (shapes.hits() == hits + 1).then(|| format!("{:?}", found.best))
    }

    const LINE: &str = r#"{"@timestamp":"2026-10-01T00:00:52.629Z","event":{"category":["authentication"],"action":"ssh_login","outcome":"success","kind":"event"},"user":{"name":"svc-monitor"},"source":{"ip":"10.10.0.13","port":22},"host":{"name":"srv-app-02"},"x":{"y":[1,2]}}"#;

    #[test]
    fn a_line_of_the_same_shape_reads_as_the_scanner_reads_it() {
        let other = r#"{"@timestamp":"2026-10-02T11:00:00Z","event":{"category":["authentication"],"action":"ssh_login","outcome":"failure","kind":"alert"},"user":{"name":"alice"},"source":{"ip":"2001:db8::7","port":50022},"host":{"name":"h"},"x":{"q":{"r":"s"}}}"#;
        assert_eq!(through_shape(LINE, other), scanned(other));
        assert!(scanned(other).is_some());
    }

    #[test]
    fn a_line_of_another_shape_is_not_read_through_it() {
        for other in [
            // Another key.
            LINE.replace("\"kind\"", "\"kinx\""),
            // A captured string where a number was.
            LINE.replace(":22}", ":\"22\"}"),
            // A captured number that the scanner leaves to serde_json.
            LINE.replace(":22}", ":-22}"),
            // Another category (literal text).
            LINE.replace("[\"authentication\"]", "[\"process\"]"),
            // An escape in a captured string.
            LINE.replace("svc-monitor", "svc\\u002dmonitor"),
            // An object where the scanner would enter one... no: where it drops a string at a
            // key it would enter.
            LINE.replace("\"host\":{\"name\":\"srv-app-02\"}", "\"host\":\"srv-app-02\""),
            // Whitespace.
            LINE.replace(",\"host\"", ", \"host\""),
            // Trailing text.
            format!("{LINE}x"),
        ] {
            assert_eq!(through_shape(LINE, &other), None, "{other}");
        }
    }

    #[test]
    fn an_object_is_not_taken_for_a_dropped_value_where_the_scanner_enters_objects() {
        let template = r#"{"@timestamp":"2026-10-01T00:00:00Z","user":"x"}"#;
        let doc = r#"{"@timestamp":"2026-10-01T00:00:00Z","user":{"name":"bob"}}"#;
        assert_eq!(through_shape(template, doc), None);
        assert!(scanned(doc).is_some_and(|s| s.contains("bob")));
    }

    #[test]
    fn a_targets_last_capture_wins_as_in_the_scanner() {
        let template = r#"{"@timestamp":"2026-10-01T00:00:00Z","user.name":"a","user":{"name":"b"}}"#;
        let doc = r#"{"@timestamp":"2026-10-01T00:00:00Z","user.name":"c","user":{"name":"d"}}"#;
        assert_eq!(through_shape(template, doc), scanned(doc));
    }

    #[test]
    fn long_lines_are_not_learned() {
        let long = format!(
            r#"{{"@timestamp":"2026-10-01T00:00:00Z","x":"{}"}}"#,
            "a".repeat(MAX_LEARNED_LINE_BYTES)
        );
        let mut shapes = LineShapes::default();
        assert!(shapes.read(&long, &mut fresh_found()).is_some());
        assert!(shapes.cache.shapes.is_empty());
    }

    #[test]
    fn a_stream_of_changing_layouts_goes_sparse() {
        let mut shapes = LineShapes::default();
        for i in 0..(2 * WINDOW_LINES) {
            let doc = format!(r#"{{"@timestamp":"2026-10-01T00:00:00Z","k{i}":1}}"#);
            assert!(shapes.read(&doc, &mut fresh_found()).is_some());
        }
        assert!(shapes.cache.sparse);
        assert!(shapes.cache.shapes.len() <= MAX_SHAPES);
    }
}
