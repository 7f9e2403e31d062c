//! Line shapes for winlogbeat lines, as `ecs_shape.rs` has them for ECS lines: a stream's lines
//! nearly always share one layout (the same keys in the same order, with the same punctuation and
//! whitespace; only the values differ), because one shipper writes them all. After the scanner
//! has read a line, [`LineShapes`] keeps its layout: the literal text between the values it did
//! not enter, and what it did with each of them ([`Slot`]). A later line is read by comparing its
//! literal runs with the kept ones (`memcmp`) and reading only its values, with the scanner's own
//! routines, without the per-key work (key scan, trie lookup, duplicate check, entering objects)
//! that makes up most of the scanner's cost. A line that differs anywhere outside its values is
//! read by the scanner as before, and its shape is learned.
//!
//! Why a match gives exactly the scanner's answer (and so the visitor's and the reference's): the
//! scanner's path through a line depends only on its keys, its punctuation and whitespace, and on
//! whether the value of a trie node key is an object (it enters it) or not. In a line that
//! matches a shape, all of that outside the slots is the learned line's literal text, so the
//! scanner would take the learned line's path up to each slot, with the same captures so far, and
//! at each slot it would run the very routine the shape runs there, at the same depth:
//! - a dropped value ([`Slot::Any`]) is validated by [`WinScanner::skip_value`], and may not be an
//!   object where the scanner would have entered one (the line then misses);
//! - a target's value ([`Slot::Target`]) is reduced by [`WinScanner::target`], whatever its kind:
//!   a reduction depends on the value's text alone (and on no earlier capture of the target,
//!   which the learned line had not either).
//!
//! Each slot routine reads exactly one JSON value, and the literal text after it (where the
//! learned line's value ended) starts with whitespace, `,`, `}` or `]`, which no value can
//! continue into; so the value of the line at a slot spans what the scanner would read there.
//! Unescaped strings go to the decoded buffer in the same text order as in the scanner.
//!
//! Many values also repeat from line to line (`event.category`, `event.dataset`, the domain, the
//! event id): each slot remembers its value on the last line read through the shape and what was
//! captured of it ([`LastValue`]), and a line with the same bytes there takes that capture
//! without reading the value.

use std::borrow::Cow;

use super::{Captured, Found, Note, Slot, WinScanner};
use crate::ingest::shape_cache::{same_bytes, ShapeCache};
use crate::ingest::RejectReason;

/// Longest value remembered as a slot's last value ([`LastValue`]): the ones that repeat are short
/// (ids, categories, domains), and a long one would only cost its copy.
const MAX_REMEMBERED_VALUE_BYTES: usize = 128;

/// One learned layout: literal runs, each followed by a slot but the last.
#[derive(Debug, Default)]
struct Shape {
    /// The literal runs, one after the other.
    literal: Vec<u8>,
    /// Per run, in text order.
    pieces: Vec<Piece>,
}

/// A literal run and the slot after it.
#[derive(Debug)]
struct Piece {
    /// Where the run ends in [`Shape::literal`].
    literal_end: usize,
    /// The slot after it, with the containers open around its value; the last run has none.
    slot: Option<(u32, Slot)>,
    /// The slot's value on the last line read through the shape.
    last: LastValue,
}

/// The value a slot held on the last line read through the shape, and what the scanner made of
/// it. A line of the shape whose value there is the same bytes gets the same capture without its
/// value being read: many fields repeat from line to line (`event.category`, `event.dataset`,
/// `user.domain`, the event id...).
///
/// Why that is the scanner's answer: a slot's routine reads one value from its first byte, at a
/// given depth, and depends on nothing else but the decoded buffer, which is excluded (a value
/// whose reading leaves an unescaped string there is not remembered). It stops at the value's
/// last byte, without looking past it, unless that byte is a digit (a number could go on); such
/// values are not remembered. So the same bytes at the same depth read the same way, to the same
/// end: a string borrowed from the value is at the same offset in it, and the rest of a capture
/// (an id, a time, "has `authentication`") is the same.
#[derive(Debug, Default)]
struct LastValue {
    bytes: Vec<u8>,
    /// `None`: nothing to reuse (not remembered, or not since the shape was learned).
    kept: Option<Kept>,
    /// Lines to read before the value is compared and remembered again: a value that changes
    /// from line to line (a time, an address) would only cost its comparison and its copy.
    rest: u8,
    /// `rest` after the next miss: doubled at each miss in a row, up to [`MAX_BACKOFF_LINES`].
    backoff: u8,
}

/// Most lines a slot's value goes without being compared with the last one remembered.
const MAX_BACKOFF_LINES: u8 = 31;

/// A capture without its borrow of the line (see [`LastValue`]).
#[derive(Clone, Copy, Debug)]
enum Kept {
    /// A dropped value ([`Slot::Any`]): nothing captured.
    Dropped,
    Code(Option<u32>),
    Time(Result<i64, RejectReason>),
    Category(bool),
    /// A value without a text.
    NoText,
    /// A text borrowed from the value: bytes `at..at + len` of it.
    Text {
        at: usize,
        len: usize,
    },
}

impl Kept {
    /// What the slot's routine captured (`captured`, from the value at `start..end` of `text`),
    /// lifted off the line; `None` for what cannot be (a string unescaped into the decoded
    /// buffer, a borrow from elsewhere).
    fn of(captured: Option<&Captured<'_>>, text: &str, start: usize, end: usize) -> Option<Kept> {
        Some(match captured? {
            Captured::Code(code) => Kept::Code(*code),
            Captured::Time(time) => Kept::Time(*time),
            Captured::Category(auth) => Kept::Category(*auth),
            Captured::Text(None) => Kept::NoText,
            Captured::Text(Some(Cow::Borrowed(s))) => {
                // Borrowed from the line: its offset is the pointers' difference.
                let at = (s.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
                if at < start || at.checked_add(s.len())? > end {
                    return None;
                }
                Kept::Text {
                    at: at - start,
                    len: s.len(),
                }
            }
            Captured::Text(Some(Cow::Owned(_))) | Captured::Decoded(..) => return None,
        })
    }

    /// The capture for the same value at `start` of `text`.
    fn captured<'de>(self, text: &'de str, start: usize) -> Option<Captured<'de>> {
        Some(match self {
            Kept::Dropped => return None,
            Kept::Code(code) => Captured::Code(code),
            Kept::Time(time) => Captured::Time(time),
            Kept::Category(auth) => Captured::Category(auth),
            Kept::NoText => Captured::Text(None),
            Kept::Text { at, len } => {
                let from = start.checked_add(at)?;
                Captured::Text(Some(Cow::Borrowed(text.get(from..from.checked_add(len)?)?)))
            }
        })
    }
}

impl LastValue {
    /// Remembers the value `bytes` of a slot and what was captured of it.
    fn remember(&mut self, bytes: &[u8], kept: Option<Kept>) {
        self.bytes.clear();
        self.kept = None;
        // A number may go on past its last byte (see above); long values rarely repeat.
        if bytes.len() > MAX_REMEMBERED_VALUE_BYTES || bytes.last().is_none_or(u8::is_ascii_digit) {
            return;
        }
        self.bytes.extend_from_slice(bytes);
        self.kept = kept;
    }
}

impl Shape {
    /// Learns the layout of `text` from the scanner's notes on it (in text order); `false` if the
    /// notes do not fit the text (not expected).
    fn learn(&mut self, text: &[u8], notes: &[Note]) -> bool {
        self.literal.clear();
        self.pieces.clear();
        let mut run_start = 0;
        for note in notes {
            let Some(run) = text.get(run_start..note.start) else {
                return false;
            };
            self.literal.extend_from_slice(run);
            self.pieces.push(Piece {
                literal_end: self.literal.len(),
                slot: Some((note.depth, note.slot)),
                last: LastValue::default(),
            });
            run_start = note.end;
        }
        let Some(rest) = text.get(run_start..) else {
            return false;
        };
        self.literal.extend_from_slice(rest);
        self.pieces.push(Piece {
            literal_end: self.literal.len(),
            slot: None,
            last: LastValue::default(),
        });
        true
    }

    /// Reads the scanner's line into `found` (fresh) if it has this shape; `None` otherwise
    /// (`found` may then hold partial results, the decoded buffer strings of this line).
    fn read<'de>(&mut self, s: &mut WinScanner<'de, '_>, found: &mut Found<'de>) -> Option<()> {
        let (text, bytes) = (s.text, s.bytes);
        let mut at: usize = 0;
        let mut literal_start = 0;
        for piece in &mut self.pieces {
            let literal = self.literal.get(literal_start..piece.literal_end)?;
            literal_start = piece.literal_end;
            let end = at.checked_add(literal.len())?;
            if !same_bytes(bytes.get(at..end)?, literal) {
                return None;
            }
            at = end;
            let Some((depth, slot)) = piece.slot else {
                continue;
            };
            let last = &mut piece.last;
            if last.rest > 0 {
                last.rest -= 1;
                at = s.slot(found, at, depth, slot)?;
                continue;
            }
            if let Some(kept) = last.kept {
                let end = at.checked_add(last.bytes.len())?;
                if bytes.get(at..end).is_some_and(|value| same_bytes(value, &last.bytes)) {
                    if let Slot::Target(target) = slot {
                        let place = found.slots.get_mut(usize::from(target))?;
                        // As `WinScanner::target`: a second candidate is not answered here.
                        if place.is_some() {
                            return None;
                        }
                        *place = Some(kept.captured(text, at)?);
                    }
                    last.backoff = 0;
                    at = end;
                    continue;
                }
                last.rest = last.backoff;
                last.backoff = (last.backoff * 2 + 1).min(MAX_BACKOFF_LINES);
            }
            let decoded = s.decoded.len();
            let end = s.slot(found, at, depth, slot)?;
            let kept = match slot {
                // Not remembered if it left an unescaped string in the buffer.
                _ if s.decoded.len() != decoded => None,
                Slot::Any { .. } => Some(Kept::Dropped),
                Slot::Target(target) => Kept::of(found.slots.get(usize::from(target))?.as_ref(), text, at, end),
            };
            last.remember(bytes.get(at..end)?, kept);
            at = end;
        }
        (at == bytes.len()).then_some(())
    }
}

/// The shapes of one stream's recent winlogbeat lines (see [`ShapeCache`] for which are tried and
/// when one is learned).
#[derive(Debug, Default)]
pub(super) struct LineShapes {
    cache: ShapeCache<Shape>,
    /// The scanner's notes on the line being learned (kept for its capacity).
    notes: Vec<Note>,
}

impl LineShapes {
    /// Lines read through a kept shape so far.
    pub(super) fn hits(&self) -> u64 {
        self.cache.hits
    }

    /// Reads the scanner's line into `found` (fresh) through a kept shape, or else with the
    /// scanner (learning the line's shape); `None` when neither decides (`found` may hold partial
    /// results).
    pub(super) fn read<'de>(&mut self, s: &mut WinScanner<'de, '_>, found: &mut Found<'de>) -> Option<()> {
        let decoded = s.decoded.len();
        let matched = self.cache.try_shapes(|shape| {
            let hit = shape.read(s, found).is_some();
            if !hit {
                // Partial results of the attempt are dropped: the next one starts over.
                *found = Found::new();
                s.decoded.truncate(decoded);
            }
            hit
        });
        if matched {
            return Some(());
        }
        if !self.cache.learns(s.bytes.len()) {
            return s.document(found, None);
        }
        s.document(found, Some(&mut self.notes))?;
        let mut shape = self.cache.spare();
        if shape.learn(s.bytes, &self.notes) {
            self.cache.keep(shape);
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{read_document, scan_document, ScanState};
    use super::*;
    use crate::ingest::shape_cache::{MAX_SHAPES, WINDOW_LINES};
    use crate::time::DayCache;

    /// The scanner's captures of `doc` and its decoded strings, as text, for comparison.
    fn scanned(doc: &str) -> Option<String> {
        let mut state = ScanState::default();
        let mut found = Found::new();
        scan_document(doc, &mut found, &mut state).map(|()| format!("{:?} {:?}", found.slots, state.decoded))
    }

    /// The captures of `doc` read through the shape learned from `template`.
    fn through_shape(template: &str, doc: &str) -> Option<String> {
        let mut state = ScanState::default();
        let mut day = DayCache::default();
        let mut decoded = String::new();
        read_document(template, &mut Found::new(), &mut decoded, &mut state, Some(&mut day))?;
        decoded.clear();
        let hits = state.shape_hits();
        let mut found = Found::new();
        read_document(doc, &mut found, &mut decoded, &mut state, Some(&mut day))?;
        (state.shape_hits() == hits + 1).then(|| format!("{:?} {:?}", found.slots, decoded))
    }

    const LINE: &str = r#"{"@timestamp":"2026-10-01T00:04:31.853Z","event":{"category":["authentication"],"action":"logged-in","outcome":"success","kind":"event","dataset":"system.security","code":"4624"},"user":{"name":"svc-legacy-sync","domain":"CORP"},"source":{"ip":"10.10.0.49"},"host":{"name":"fs-01"},"winlog":{"event_data":{"LogonType":"3","x":[1,{"y":null}]}}}"#;

    #[test]
    fn a_line_of_the_same_shape_reads_as_the_scanner_reads_it() {
        for other in [
            LINE.replace("2026-10-01T00:04:31.853Z", "soon"),
            LINE.replace("\"4624\"", "{\"#text\":4625}"),
            LINE.replace("[\"authentication\"]", "[\"process\",[\"authentication\"]]"),
            LINE.replace("svc-legacy-sync", "b\\u006fb\\\\x"),
            LINE.replace("\"CORP\"", "[\"\",7]"),
            LINE.replace("\"3\"", "-12"),
            LINE.replace("[1,{\"y\":null}]", "{\"z\":\"\\n\"}"),
            LINE.replace("\"event\",", "{\"q\":[]},"),
        ] {
            assert!(scanned(&other).is_some(), "{other}");
            assert_eq!(through_shape(LINE, &other), scanned(&other), "{other}");
        }
    }

    #[test]
    fn a_line_of_another_shape_is_not_read_through_it() {
        for other in [
            // Another key.
            LINE.replace("\"kind\"", "\"kinx\""),
            // Whitespace.
            LINE.replace(",\"host\"", ", \"host\""),
            LINE.replace(":\"fs-01\"", ": \"fs-01\""),
            // A float where a text is reduced: left to the visitor.
            LINE.replace("\"3\"", "3.5"),
            // Trailing text.
            format!("{LINE}x"),
        ] {
            assert_eq!(through_shape(LINE, &other), None, "{other}");
        }
    }

    #[test]
    fn an_object_is_not_taken_for_a_dropped_value_where_the_scanner_enters_objects() {
        let template = r#"{"@timestamp":"2026-10-01T00:00:00Z","user":"x","event.code":4624}"#;
        let doc = r#"{"@timestamp":"2026-10-01T00:00:00Z","user":{"name":"bob"},"event.code":4624}"#;
        assert_eq!(through_shape(template, doc), None);
        assert!(scanned(doc).is_some_and(|s| s.contains("bob")));
    }

    #[test]
    fn a_target_twice_is_never_learned_so_never_read_through_a_shape() {
        let doc = r#"{"@timestamp":"2026-10-01T00:00:00Z","user":{"name":"a"},"user.name":"b"}"#;
        assert_eq!(scanned(doc), None);
        assert_eq!(through_shape(doc, doc), None);
    }

    /// A value that repeats from the line before is taken from it, not read: the same captures
    /// (strings at their place in the new line), whatever the values around it do.
    #[test]
    fn repeated_values_read_as_the_scanner_reads_them() {
        let variants = [
            LINE.to_string(),
            LINE.replace("\"CORP\"", "\"C\\u004fRP\""),
            LINE.replace("\"3\"", "3"),
            LINE.replace("\"3\"", "31"),
            LINE.replace("\"3\"", "{\"#text\":\"3\",\"a\":\"\\n\"}"),
            LINE.replace("[\"authentication\"]", "[\"process\"]"),
            LINE.replace("\"event\",", "\"\\t\","),
            LINE.replace("2026-10-01T00:04:31.853Z", "2026-10-01T00:04:32Z"),
            LINE.replace("\"4624\"", "4625"),
            LINE.replace("\"fs-01\"", "[\"\",\"fs-01\"]"),
        ];
        let mut state = ScanState::default();
        let mut day = DayCache::default();
        let mut hits = 0;
        for i in [0, 0, 1, 1, 2, 3, 3, 2, 4, 4, 5, 5, 0, 6, 6, 7, 8, 8, 9, 9, 0, 4, 1, 0] {
            let doc = &variants[i];
            let mut decoded = String::new();
            let mut found = Found::new();
            assert!(
                read_document(doc, &mut found, &mut decoded, &mut state, Some(&mut day)).is_some(),
                "{doc}"
            );
            let read = format!("{:?} {:?}", found.slots, decoded);
            assert_eq!(Some(read), scanned(doc), "{doc}");
            hits += 1;
            assert_eq!(state.shape_hits(), hits - 1, "{doc}");
        }
    }

    #[test]
    fn a_stream_of_changing_layouts_goes_sparse() {
        let mut state = ScanState::default();
        let mut day = DayCache::default();
        for i in 0..(2 * WINDOW_LINES) {
            let doc = format!(r#"{{"@timestamp":"2026-10-01T00:00:00Z","k{i}":1}}"#);
            assert!(read_document(&doc, &mut Found::new(), &mut String::new(), &mut state, Some(&mut day)).is_some());
        }
        assert!(state.shapes.cache.sparse);
        assert!(state.shapes.cache.shapes.len() <= MAX_SHAPES);
    }
}
