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
//! - a target's value ([`Slot::Target`]) is reduced as [`WinScanner::target`] reduces it (its
//!   routine for the target, [`Reduction`]), whatever its kind: a reduction depends on the
//!   value's text alone (and on no earlier capture of the target, which the learned line had not
//!   either). Two common values are read without the routine's steps, to the same capture: a
//!   string without escapes where a text is reduced, and a time in the shipper form on the day
//!   of the last one (`time.rs`'s `DayCache`).
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
//!
//! A line read through a shape fills no capture table: each slot's capture stays in the shape,
//! and the shape's plan says which slot holds each target ([`ShapeRead`], which the event is built
//! from as from a table).

use std::borrow::Cow;

use super::{Captured, Cursor, Found, Note, Reduction, Slot, Str, WinScanner};
use crate::ingest::ecs::scan::plain_string_len;
use crate::ingest::shape_cache::{same_bytes, ShapeCache};
use crate::ingest::windows::fast::{Captures, N};
use crate::ingest::RejectReason;

/// Longest value remembered as a slot's last value ([`LastValue`]): the ones that repeat are short
/// (ids, categories, domains), and a long one would only cost its copy.
const MAX_REMEMBERED_VALUE_BYTES: usize = 128;

/// One learned layout: literal runs, each followed by a slot but the last.
#[derive(Debug)]
struct Shape {
    /// The literal runs, one after the other.
    literal: Vec<u8>,
    /// Per run, in text order.
    pieces: Vec<Piece>,
    /// Per target, the piece whose slot holds its value (a target is at one place at most: the
    /// scanner does not answer a line with two); `None` when the layout does not have it.
    plan: [Option<u16>; N],
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            literal: Vec::new(),
            pieces: Vec::new(),
            plan: [None; N],
        }
    }
}

/// What the scanner did with a slot's value ([`Slot`], with a target's reduction in place of the
/// target: the plan says which target's value a slot holds).
#[derive(Clone, Copy, Debug)]
enum Read {
    /// Validated and dropped; `object_ok`: whether an object may stand here.
    Any { object_ok: bool },
    /// Reduced so.
    Target(Reduction),
}

/// A literal run and the slot after it.
#[derive(Debug)]
struct Piece {
    /// Where the run ends in [`Shape::literal`].
    literal_end: usize,
    /// The slot after it, with the containers open around its value; the last run has none.
    slot: Option<(u32, Read)>,
    /// The slot's value on the last line read through the shape.
    last: LastValue,
    /// On the line being read: where the slot's value starts, and its capture.
    start: usize,
    now: Kept,
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

/// A capture without its borrow of the line: strings as places in the slot's value.
#[derive(Clone, Copy, Debug)]
enum Kept {
    /// A dropped value ([`Slot::Any`]): nothing captured.
    Dropped,
    Code(Option<u32>),
    Time(Result<i64, RejectReason>),
    Category(bool),
    /// A value without a text.
    NoText,
    /// The text of `true` or `false`.
    Bool(bool),
    /// A text borrowed from the value: bytes `at..at + len` of it.
    Text {
        at: usize,
        len: usize,
    },
    /// [`Captured::Decoded`]: a string of the decoded buffer, so of this line only (never
    /// remembered as a [`LastValue`]).
    Decoded(usize, usize),
}

impl Kept {
    /// The capture for the same value at `start` of `text`.
    #[inline]
    fn captured<'de>(self, text: &'de str, start: usize) -> Option<Captured<'de>> {
        Some(match self {
            Kept::Dropped => return None,
            Kept::Code(code) => Captured::Code(code),
            Kept::Time(time) => Captured::Time(time),
            Kept::Category(auth) => Captured::Category(auth),
            Kept::NoText => Captured::Text(None),
            Kept::Bool(b) => Captured::Text(Some(Cow::Borrowed(if b { "true" } else { "false" }))),
            Kept::Text { at, len } => {
                let from = start.checked_add(at)?;
                Captured::Text(Some(Cow::Borrowed(text.get(from..from.checked_add(len)?)?)))
            }
            Kept::Decoded(from, to) => Captured::Decoded(from, to),
        })
    }
}

/// The value at `at` of the scanner's line, with `depth` containers open around it, read as the
/// scanner read the value of the slot (see the module docs); the scanner is left at its end.
/// The two usual values are read here, in line; the rest by [`read_slot_value`].
#[inline(always)]
fn read_slot(s: &mut WinScanner<'_, '_>, at: usize, depth: u32, read: Read) -> Option<Kept> {
    match read {
        Read::Target(Reduction::Text) => {
            // A string without escapes: what `text` makes of it, without its steps.
            let value = s.bytes.get(at..).and_then(|value| value.strip_prefix(b"\""));
            if let Some(len) = value.and_then(plain_string_len) {
                s.at = at + len + 2;
                return Some(if len == 0 {
                    Kept::NoText
                } else {
                    Kept::Text { at: 1, len }
                });
            }
        }
        Read::Target(Reduction::Time) => {
            // A shipper-form time of the day before: a string of only digits and `-T:.Z`, which
            // the scanner would read to the same time.
            let (open, close) = (s.bytes.get(at), s.bytes.get(at.wrapping_add(25)));
            if let (Some(b'"'), Some(b'"'), Some(day)) = (open, close, s.day.as_deref()) {
                if let Some(ms) = day.same_day_ms(s.bytes.get(at + 1..at + 25)?) {
                    s.at = at + 26;
                    return Some(Kept::Time(Ok(ms)));
                }
            }
        }
        _ => {}
    }
    read_slot_value(s, at, depth, read)
}

/// [`read_slot`] by the scanner's routines.
#[inline(never)]
fn read_slot_value(s: &mut WinScanner<'_, '_>, at: usize, depth: u32, read: Read) -> Option<Kept> {
    s.at = at;
    s.depth = depth;
    Some(match read {
        Read::Any { object_ok } => {
            if !object_ok && s.peek() == Some(b'{') {
                return None;
            }
            s.skip_value()?;
            Kept::Dropped
        }
        Read::Target(Reduction::Code) => Kept::Code(s.code()?),
        Read::Target(Reduction::Time) => Kept::Time(s.time()?),
        Read::Target(Reduction::Category) => Kept::Category(s.category()?),
        Read::Target(Reduction::Text) => read_text(s, at)?,
    })
}

/// A target's value read by [`WinScanner::text`], from `at`.
fn read_text(s: &mut WinScanner<'_, '_>, at: usize) -> Option<Kept> {
    Some(match s.text()? {
        None => Kept::NoText,
        Some(Str::Decoded(from, to)) => Kept::Decoded(from, to),
        Some(Str::Input(text)) => {
            // Borrowed from the line (its offset is the pointers' difference), or the text of
            // `true` or `false`.
            let from = (text.as_ptr() as usize).wrapping_sub(s.text.as_ptr() as usize);
            match from.checked_sub(at) {
                Some(at) if from.checked_add(text.len()).is_some_and(|to| to <= s.at) => {
                    Kept::Text { at, len: text.len() }
                }
                _ => match text {
                    "true" => Kept::Bool(true),
                    "false" => Kept::Bool(false),
                    _ => return None,
                },
            }
        }
    })
}

impl LastValue {
    /// Remembers the value `bytes` of a slot and what was captured of it (`None`: nothing to
    /// reuse).
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
    /// notes do not fit the text (not expected) or the layout is too long for a plan.
    fn learn(&mut self, text: &[u8], notes: &[Note]) -> bool {
        self.literal.clear();
        self.pieces.clear();
        self.plan = [None; N];
        let mut run_start = 0;
        for note in notes {
            let Some(run) = text.get(run_start..note.start) else {
                return false;
            };
            if let Slot::Target(target) = note.slot {
                let (Some(place), Ok(piece)) =
                    (self.plan.get_mut(usize::from(target)), u16::try_from(self.pieces.len()))
                else {
                    return false;
                };
                // The scanner does not answer a line with a target twice.
                if place.replace(piece).is_some() {
                    return false;
                }
            }
            self.literal.extend_from_slice(run);
            let read = match note.slot {
                Slot::Any { object_ok } => Read::Any { object_ok },
                Slot::Target(target) => Read::Target(Reduction::of(usize::from(target))),
            };
            self.pieces.push(Piece {
                literal_end: self.literal.len(),
                slot: Some((note.depth, read)),
                last: LastValue::default(),
                start: 0,
                now: Kept::Dropped,
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
            start: 0,
            now: Kept::Dropped,
        });
        true
    }

    /// Reads the scanner's line if it has this shape, keeping each slot's capture in its piece;
    /// `None` otherwise (the decoded buffer may then hold strings of this line).
    fn read(&mut self, s: &mut WinScanner<'_, '_>) -> Option<()> {
        let bytes = s.bytes;
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
            piece.start = at;
            let last = &mut piece.last;
            if last.rest > 0 {
                last.rest -= 1;
                piece.now = read_slot(s, at, depth, slot)?;
                at = s.at;
                continue;
            }
            if let Some(kept) = last.kept {
                let end = at.checked_add(last.bytes.len())?;
                if bytes.get(at..end).is_some_and(|value| same_bytes(value, &last.bytes)) {
                    piece.now = kept;
                    last.backoff = 0;
                    at = end;
                    continue;
                }
                last.rest = last.backoff;
                last.backoff = (last.backoff * 2 + 1).min(MAX_BACKOFF_LINES);
            }
            let decoded = s.decoded.len();
            let now = read_slot(s, at, depth, slot)?;
            let end = s.at;
            piece.now = now;
            // Not remembered if it left an unescaped string in the buffer.
            let remembered = (s.decoded.len() == decoded).then_some(now);
            last.remember(bytes.get(at..end)?, remembered);
            at = end;
        }
        (at == bytes.len()).then_some(())
    }
}

/// A line read through a [`Shape`]: each target's capture is in the piece the shape's plan names.
pub(in crate::ingest::windows) struct ShapeRead<'s, 'de> {
    shape: &'s Shape,
    text: &'de str,
}

impl<'de> Captures<'de> for ShapeRead<'_, 'de> {
    type Text = &'de str;

    #[inline(always)]
    fn take(&mut self, target: usize) -> Option<Captured<'de>> {
        let piece = self.shape.pieces.get(usize::from((*self.shape.plan.get(target)?)?))?;
        piece.now.captured(self.text, piece.start)
    }

    #[inline(always)]
    fn has(&self, target: usize) -> bool {
        self.shape.plan.get(target).is_some_and(Option::is_some)
    }

    /// As [`Captures::text`] of [`Self::take`], without the capture in between.
    #[inline(always)]
    fn text(&mut self, target: usize, decoded: &'de str) -> Option<&'de str> {
        self.piece_text((*self.shape.plan.get(target)?)?, decoded)
    }
}

impl<'de> ShapeRead<'_, 'de> {
    /// [`Captures::text`] of the value of the slot after `piece`.
    #[inline(always)]
    fn piece_text(&self, piece: u16, decoded: &'de str) -> Option<&'de str> {
        let piece = self.shape.pieces.get(usize::from(piece))?;
        let text = match piece.now {
            Kept::Text { at, len } => {
                let from = piece.start.checked_add(at)?;
                self.text.get(from..from.checked_add(len)?)?
            }
            Kept::Decoded(from, to) => decoded.get(from..to)?,
            Kept::Bool(b) => {
                if b {
                    "true"
                } else {
                    "false"
                }
            }
            Kept::Dropped | Kept::Code(_) | Kept::Time(_) | Kept::Category(_) | Kept::NoText => return None,
        };
        Some(text)
    }
}

/// The shapes of one stream's recent winlogbeat lines (see [`ShapeCache`] for which are tried and
/// when one is learned).
#[derive(Debug, Default)]
pub(in crate::ingest::windows) struct LineShapes {
    cache: ShapeCache<Shape>,
    /// The scanner's notes on the line being learned (kept for its capacity).
    notes: Vec<Note>,
}

impl LineShapes {
    /// Lines read through a kept shape so far.
    pub(super) fn hits(&self) -> u64 {
        self.cache.hits
    }

    /// Reads the scanner's line through a kept shape; `None` when none matches it (the decoded
    /// buffer is then as it was).
    pub(super) fn read_known<'s, 'de>(&'s mut self, s: &mut WinScanner<'de, '_>) -> Option<ShapeRead<'s, 'de>> {
        let decoded = s.decoded.len();
        let matched = self.cache.try_shapes(|shape| {
            let hit = shape.read(s).is_some();
            if !hit {
                // Strings of the attempt are dropped: the next one starts over.
                s.decoded.truncate(decoded);
            }
            hit
        });
        if !matched {
            return None;
        }
        Some(ShapeRead {
            // A matched shape is moved to the front.
            shape: self.cache.shapes.first()?,
            text: s.text,
        })
    }

    /// After [`Self::read_known`] missed: reads the scanner's line into `found` (fresh) with the
    /// scanner, learning the line's shape; `None` when the scanner does not decide (`found` may
    /// hold partial results).
    pub(super) fn scan_and_learn<'de>(&mut self, s: &mut WinScanner<'de, '_>, found: &mut Found<'de>) -> Option<()> {
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
    use super::super::{read_known, scan_document, ScanState};
    use super::*;
    use crate::ingest::shape_cache::{MAX_SHAPES, WINDOW_LINES};
    use crate::time::DayCache;

    /// A stream's line as the line event reads it: through a kept shape (its captures then put in
    /// `found` as a table), else with the scanner (learning its shape).
    fn read_document<'de>(
        doc: &'de str,
        found: &mut Found<'de>,
        decoded: &mut String,
        state: &mut ScanState,
        day: &mut DayCache,
    ) -> Option<()> {
        let mut shapes = state.shapes.take().unwrap_or_default();
        if let Some(mut known) = read_known(doc, decoded, &mut shapes, state, day) {
            for (target, place) in found.slots.iter_mut().enumerate() {
                *place = known.take(target);
                assert_eq!(place.is_some(), known.has(target));
            }
            // `text` without the capture in between is `text` of the capture.
            let mut again: ShapeRead<'_, '_> = known;
            for (target, place) in found.slots.iter().enumerate() {
                let text = match place {
                    Some(Captured::Text(text)) => text.as_deref(),
                    Some(Captured::Decoded(from, to)) => decoded.get(*from..*to),
                    _ => None,
                };
                assert_eq!(again.text(target, decoded), text);
            }
            state.shapes = Some(shapes);
            return Some(());
        }
        state.shapes = Some(shapes);
        super::super::read_document(doc, found, decoded, state, Some(day))
    }

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
        read_document(template, &mut Found::new(), &mut decoded, &mut state, &mut day)?;
        decoded.clear();
        let hits = state.shape_hits();
        let mut found = Found::new();
        read_document(doc, &mut found, &mut decoded, &mut state, &mut day)?;
        (state.shape_hits() == hits + 1).then(|| format!("{:?} {:?}", found.slots, decoded))
    }

    const LINE: &str = r#"{"@timestamp":"2026-10-01T00:04:31.853Z","event":{"category":["authentication"],"action":"logged-in","outcome":"success","kind":"event","dataset":"system.security","code":"4624"},"user":{"name":"svc-legacy-sync","domain":"CORP"},"source":{"ip":"10.10.0.49"},"host":{"name":"fs-01"},"winlog":{"event_data":{"LogonType":"3","x":[1,{"y":null}]}}}"#;

    #[test]
    fn a_line_of_the_same_shape_reads_as_the_scanner_reads_it() {
        for other in [
            LINE.replace("2026-10-01T00:04:31.853Z", "soon"),
            // Times of the learned line's date (read without a string scan), and others.
            LINE.replace("2026-10-01T00:04:31.853Z", "2026-10-01T23:59:60.999Z"),
            LINE.replace("2026-10-01T00:04:31.853Z", "2026-10-01T24:00:00.000Z"),
            LINE.replace("2026-10-01T00:04:31.853Z", "2026-10-01T00:04:31.853Z "),
            LINE.replace("2026-10-01T00:04:31.853Z", "2026-10-01T00:04:31.85\\u0033Z"),
            LINE.replace("2026-10-01T00:04:31.853Z", "2026-10-02T00:04:31.853Z"),
            LINE.replace("\"2026-10-01T00:04:31.853Z\"", "1790000000000"),
            // Texts: empty, escaped, a literal, a number.
            LINE.replace("svc-legacy-sync", ""),
            LINE.replace("svc-legacy-sync", "a\\\"b"),
            LINE.replace("\"svc-legacy-sync\"", "true"),
            LINE.replace("\"10.10.0.49\"", "12"),
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
                read_document(doc, &mut found, &mut decoded, &mut state, &mut day).is_some(),
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
            assert!(read_document(&doc, &mut Found::new(), &mut String::new(), &mut state, &mut day).is_some());
        }
        let shapes = state.shapes.as_ref().unwrap();
        assert!(shapes.cache.sparse);
        assert!(shapes.cache.shapes.len() <= MAX_SHAPES);
    }
}
