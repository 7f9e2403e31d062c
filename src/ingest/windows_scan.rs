//! A hand-written single-pass scanner for winlogbeat lines, in front of the serde visitor of
//! `windows.rs`'s `fast` module: same trie, same captures ([`Found`]), same reductions (event id,
//! time, text, "has `authentication`"), without serde_json's `Deserializer` state machine and
//! per-key visitor calls.
//!
//! Strings with escapes are unescaped exactly as serde_json does (`\"`, `\\`, `\/`, `\b`, `\f`,
//! `\n`, `\r`, `\t`, `\uXXXX` with surrogate pairs) into a buffer the caller reuses from line to
//! line: a captured text points into it ([`Captured::Decoded`]), every other unescaped string
//! (keys, skipped values, ids, times, categories) is dropped from it as soon as it is read. So a
//! Windows path in `ProcessName` costs no allocation.
//!
//! It answers only what it can decide with certainty and `None` ("ask the serde visitor") for the
//! rest, so that it never has to reproduce serde_json's error paths:
//! - an invalid escape, a lone or invalid surrogate, a control character in a string;
//! - numbers with an exponent or longer than the ECS scanner's limit (range errors), and where a
//!   number is reduced (times, texts), anything but a short integer (serde_json's float parsing
//!   and printing, `-0`);
//! - nesting deeper than the ECS scanner's limit of 64 (serde_json's recursion limit is 128);
//! - a key that matters twice in one object, a target at a second place, a time that is an
//!   object, a key the visitor gives up on (`Event`, `event_data.Data`): the visitor gives up
//!   there too, and the `Value` reference decides;
//! - a top-level value that is not an object, and anything malformed.
//!
//! A stream's lines mostly share one layout: the scanner tries, for each key of the trie's
//! objects, the key the last line had at the same place (a comparison of its bytes followed by the
//! closing quote) before reading the key as a string and finding it in the trie ([`ScanState`]).
//!
//! Every document it answers is valid JSON and yields exactly what the visitor would yield
//! (`tests/windows_fast_equivalence.rs` compares both with the `Value` reference).

use std::borrow::Cow;

use super::fast::{
    Captured, Found, CATEGORY, EVENT_CODE, TIMESTAMP, TIMESTAMP_PLAIN, TIME_CREATED, TRIE, WINLOG_EVENT_ID,
};
use crate::ingest::ecs::scan::{string_stop, Cursor, Scanner as EcsScanner};
use crate::ingest::key_trie::Entry;
use crate::ingest::RejectReason;
use crate::time::{parse_rfc3339_ms, DayCache};
pub(super) use shape::LineShapes;
pub(super) use shape::ShapeRead;

#[path = "windows_shape.rs"]
mod shape;

/// Digits of an integer that always fits in an `i64` (and a `u64`).
const MAX_INTEGER_DIGITS: usize = 18;
/// Object levels whose keys are looked up in the trie (the visitor's `LEVELS`): a node key below
/// them holds no target.
const LEVELS: usize = 4;
/// Keys of the trie's objects whose last place is remembered, per line (in text order).
const REMEMBERED_KEYS: usize = 64;

/// What the scanner keeps from line to line (the detector keeps it in its line event, so it
/// allocates nothing once warm).
#[derive(Debug)]
pub(crate) struct ScanState {
    /// The unescaped strings of the line at hand that its captures point into (moved out while a
    /// line is read: see [`read_document`]).
    pub(super) decoded: String,
    /// Per key read in the trie's objects on the last line, in text order: its node (high byte)
    /// and its index there plus one (low byte; 0: not a key of the trie, so not tried).
    keys: [u16; REMEMBERED_KEYS],
    /// The layouts of recent lines ([`shape`]), made for a stream's first line: boxed, so that
    /// the caller moves them out cheaply while it builds a line read through one into the line
    /// event that holds them.
    pub(super) shapes: Option<Box<LineShapes>>,
}

impl Default for ScanState {
    fn default() -> Self {
        ScanState {
            decoded: String::new(),
            keys: [0; REMEMBERED_KEYS],
            shapes: None,
        }
    }
}

impl ScanState {
    /// Lines read through a kept shape so far.
    pub(super) fn shape_hits(&self) -> u64 {
        self.shapes.as_ref().map_or(0, |shapes| shapes.hits())
    }
}

/// What the scanner did with one member value that it did not enter, in text order (recorded
/// while a line's shape is learned).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    /// Validated and dropped ([`WinScanner::skip_value`]). `object_ok`: whether an object may
    /// stand here (not where the scanner would enter it).
    Any { object_ok: bool },
    /// Reduced for this target ([`WinScanner::target`]).
    Target(u8),
}

/// What [`WinScanner::target`] makes of a target's value (the visitor's `read_target` alike).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reduction {
    /// An event id ([`WinScanner::code`]).
    Code,
    /// A time ([`WinScanner::time`]).
    Time,
    /// "Has `authentication`" ([`WinScanner::category`]).
    Category,
    /// A text ([`WinScanner::text`]).
    Text,
}

impl Reduction {
    /// The reduction of `target`'s value.
    pub(super) fn of(target: usize) -> Reduction {
        match target {
            WINLOG_EVENT_ID | EVENT_CODE => Reduction::Code,
            TIMESTAMP | TIMESTAMP_PLAIN | TIME_CREATED => Reduction::Time,
            CATEGORY => Reduction::Category,
            _ => Reduction::Text,
        }
    }
}

/// One value of a line the scanner read: at `start..end`, with `depth` containers open around it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Note {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) depth: u32,
    pub(super) slot: Slot,
}

/// A string of the line: borrowed when it has no escape, else bytes `start..end` of the decoded
/// buffer.
#[derive(Clone, Copy)]
enum Str<'de> {
    /// Borrowed from the line: it has no escape.
    Input(&'de str),
    /// Unescaped: bytes `start..end` of the decoded buffer.
    Decoded(usize, usize),
}

/// Reads `text` into `found` (fresh) with the scanner, unescaping into `state.decoded` (appended
/// to) the strings the captures point into (in a stream, after [`read_known`] missed: learning the
/// line's shape). `Some(())`: a valid JSON object whose fields are in `found`;
/// `None`: not decided here (`found` may hold partial results: start over with a fresh one).
///
/// `stream`: the stream's date cache when the line is one of a stream's (the line event's,
/// shared with its ECS lines: a winlogbeat time is in the shipper form
/// `2026-10-01T00:04:31.853Z`); then its layout may be learned. `None`: a line on its own, only
/// scanned.
///
/// `decoded` stands for `state.decoded`, which the caller has moved out.
pub(super) fn read_document<'de>(
    text: &'de str,
    found: &mut Found<'de>,
    decoded: &mut String,
    state: &mut ScanState,
    stream: Option<&mut DayCache>,
) -> Option<()> {
    let ScanState { keys, shapes, .. } = state;
    let Some(day) = stream else {
        return WinScanner::new(text, decoded, keys, None).document(found, None);
    };
    let mut s = WinScanner::new(text, decoded, keys, Some(day));
    shapes.get_or_insert_with(Box::default).scan_and_learn(&mut s, found)
}

/// Reads a stream's line through a kept shape, if one matches it (unescaping into `decoded` the
/// strings its captures point into); `None` if none does (nothing appended to `decoded`): then
/// [`read_document`] reads it with the scanner and learns its shape.
///
/// `shapes` stands for `state.shapes`, which the caller has moved out (the line read through one
/// is built into the line event that holds them).
pub(super) fn read_known<'s, 'de>(
    text: &'de str,
    decoded: &mut String,
    shapes: &'s mut LineShapes,
    state: &mut ScanState,
    day: &mut DayCache,
) -> Option<ShapeRead<'s, 'de>> {
    shapes.read_known(&mut WinScanner::new(text, decoded, &mut state.keys, Some(day)))
}

/// Scans `text` into `found` with the scanner alone (no shape tried or learned).
#[cfg(test)]
pub(super) fn scan_document<'de>(text: &'de str, found: &mut Found<'de>, state: &mut ScanState) -> Option<()> {
    let mut day = DayCache::default();
    WinScanner::new(text, &mut state.decoded, &mut state.keys, Some(&mut day)).document(found, None)
}

/// The scanner over one line, at byte `at` of it.
pub(super) struct WinScanner<'de, 'd> {
    text: &'de str,
    bytes: &'de [u8],
    at: usize,
    /// Containers open around the scanner.
    depth: u32,
    /// [`ScanState::decoded`].
    decoded: &'d mut String,
    /// [`ScanState::keys`]: the last line's, replaced by this line's as they are read.
    keys: &'d mut [u16; REMEMBERED_KEYS],
    /// [`ScanState::day`]; `None` for a line read on its own, whose date is not worth keeping.
    day: Option<&'d mut DayCache>,
    /// Keys read in the trie's objects so far.
    key: usize,
}

impl<'de, 'd> WinScanner<'de, 'd> {
    fn new(
        text: &'de str,
        decoded: &'d mut String,
        keys: &'d mut [u16; REMEMBERED_KEYS],
        day: Option<&'d mut DayCache>,
    ) -> Self {
        WinScanner {
            text,
            bytes: text.as_bytes(),
            at: 0,
            depth: 0,
            decoded,
            keys,
            day,
            key: 0,
        }
    }

    /// The whole line, from its start, into `found`; with `trace`, what it did with each value
    /// it did not enter, in text order.
    fn document(&mut self, found: &mut Found<'de>, mut trace: Option<&mut Vec<Note>>) -> Option<()> {
        self.at = 0;
        self.depth = 0;
        self.key = 0;
        if let Some(notes) = trace.as_deref_mut() {
            notes.clear();
        }
        self.skip_ws();
        self.expect(b'{')?;
        // Two instances: a line only scanned pays nothing for the notes.
        if trace.is_some() {
            self.object::<true>(found, 0, 0, &mut trace)?;
        } else {
            self.object::<false>(found, 0, 0, &mut trace)?;
        }
        self.skip_ws();
        (self.at == self.bytes.len()).then_some(())
    }
}

impl<'de> Cursor<'de> for WinScanner<'de, '_> {
    fn bytes(&self) -> &'de [u8] {
        self.bytes
    }
    fn at(&self) -> usize {
        self.at
    }
    fn at_mut(&mut self) -> &mut usize {
        &mut self.at
    }
    fn depth_mut(&mut self) -> &mut u32 {
        &mut self.depth
    }
}

impl<'de> WinScanner<'de, '_> {
    /// A JSON number (grammar checked, no exponent, not too long: the ECS scanner's), as its text.
    fn number(&mut self) -> Option<&'de str> {
        let mut s = EcsScanner::untraced(self.text, self.at);
        let text = s.number()?;
        self.at = s.at;
        Some(text)
    }

    /// The text of a string read by [`Self::string`].
    #[cfg(test)]
    fn resolve(&self, s: Str<'de>) -> &str {
        match s {
            Str::Input(s) => s,
            Str::Decoded(start, end) => self.decoded.get(start..end).unwrap_or_default(),
        }
    }

    /// A string, after its opening quote: borrowed when it has no escape, else unescaped at the
    /// end of the decoded buffer.
    #[inline]
    fn string(&mut self) -> Option<Str<'de>> {
        let start = self.at;
        let rest = self.bytes.get(start..)?;
        let len = string_stop(rest)?;
        if rest[len] == b'"' {
            self.at = start + len + 1;
            // Quotes are ASCII, so both ends are character boundaries.
            return self.text.get(start..start + len).map(Str::Input);
        }
        self.escaped(start, start + len)
    }

    /// The rest of a string from `start` (its first byte) whose first stop byte, at `backslash`,
    /// is not its closing quote: an escape, or a control character (`None`). Out of line: most
    /// strings have no escape.
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, start: usize, mut backslash: usize) -> Option<Str<'de>> {
        if self.bytes.get(backslash) != Some(&b'\\') {
            return None;
        }
        let from = self.decoded.len();
        self.decoded.push_str(self.text.get(start..backslash)?);
        loop {
            let (c, len) = self.escape(backslash + 1)?;
            self.decoded.push(c);
            // Escapes are ASCII, so the run after one starts on a character boundary.
            let run = backslash + 1 + len;
            let rest = self.bytes.get(run..)?;
            let stop = string_stop(rest)?;
            self.decoded.push_str(self.text.get(run..run + stop)?);
            match rest[stop] {
                b'"' => {
                    self.at = run + stop + 1;
                    return Some(Str::Decoded(from, self.decoded.len()));
                }
                b'\\' => backslash = run + stop,
                _ => return None,
            }
        }
    }

    /// The escape whose letter is at `at` (after the backslash): its character and its length
    /// from the letter on. serde_json's errors (an unknown letter, a lone or reversed surrogate,
    /// a short or non-hex `\u`) are `None`.
    fn escape(&self, at: usize) -> Option<(char, usize)> {
        let c = match *self.bytes.get(at)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4(at + 1)?;
                return match unit {
                    0xD800..=0xDBFF => {
                        if self.bytes.get(at + 5..at + 7)? != b"\\u" {
                            return None;
                        }
                        let low = self.hex4(at + 7)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        let c = char::from_u32(0x1_0000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?;
                        Some((c, 11))
                    }
                    0xDC00..=0xDFFF => None,
                    _ => Some((char::from_u32(unit)?, 5)),
                };
            }
            _ => return None,
        };
        Some((c, 1))
    }

    /// Four hex digits (either case) at `at`.
    fn hex4(&self, at: usize) -> Option<u32> {
        self.bytes
            .get(at..at + 4)?
            .iter()
            .try_fold(0, |n, &b| Some(n * 16 + char::from(b).to_digit(16)?))
    }

    /// A string, after its opening quote, given to `f` and dropped.
    #[inline]
    fn with_string<R>(&mut self, f: impl FnOnce(&str) -> R) -> Option<R> {
        Some(match self.string()? {
            Str::Input(s) => f(s),
            // Unescaped at the end of the buffer, where `start` was its end.
            Str::Decoded(start, end) => {
                let r = f(self.decoded.get(start..end).unwrap_or_default());
                self.decoded.truncate(start);
                r
            }
        })
    }

    /// An object's members, after `{`: `key` says what each key is, `member` reads its value (the
    /// scanner is past the key and colon); this reads the punctuation.
    fn members<K>(
        &mut self,
        key: impl Fn(&str) -> K,
        mut member: impl FnMut(&mut Self, K) -> Option<()>,
    ) -> Option<()> {
        self.items(b'}', |s| {
            s.expect(b'"')?;
            let k = s.with_string(&key)?;
            s.colon()?;
            member(s, k)
        })
    }

    /// An array's elements, after `[`: `element` reads each one.
    fn elements(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.items(b']', element)
    }

    /// An object's members, after `{`, at trie node `node`, `level` objects deep: as the
    /// visitor's `visit_object`. With `TRACE`, notes each value it does not enter in `trace`.
    fn object<const TRACE: bool>(
        &mut self,
        found: &mut Found<'de>,
        node: usize,
        level: usize,
        trace: &mut Option<&mut Vec<Note>>,
    ) -> Option<()> {
        let mut seen = 0u64;
        self.items(b'}', |s| {
            s.expect(b'"')?;
            let index = s.trie_key(node)?;
            s.colon()?;
            let (start, depth) = (s.at, s.depth);
            let slot = match index {
                None => {
                    s.skip_value()?;
                    Slot::Any { object_ok: true }
                }
                Some(index) => {
                    if seen & (1 << index) != 0 {
                        return None;
                    }
                    seen |= 1 << index;
                    match TRIE.step(node, index, level, 0).0 {
                        Entry::Target(target) => {
                            s.target(found, usize::from(target))?;
                            Slot::Target(target)
                        }
                        Entry::Node(child) if level + 1 < LEVELS && s.peek() == Some(b'{') => {
                            s.at += 1;
                            // Entered: its keys and punctuation are the shape's literal text.
                            return s.object::<TRACE>(found, usize::from(child), level + 1, trace);
                        }
                        Entry::Node(_) => {
                            s.skip_value()?;
                            // An object here would be entered.
                            Slot::Any {
                                object_ok: level + 1 >= LEVELS,
                            }
                        }
                        Entry::Unsure => return None,
                    }
                }
            };
            if let Some(notes) = trace.as_deref_mut().filter(|_| TRACE) {
                notes.push(Note {
                    start,
                    end: s.at,
                    depth,
                    slot,
                });
            }
            Some(())
        })
    }

    /// The key after its opening quote, in an object at trie node `node`: its index among the
    /// node's keys, `None` when it is not one. The key the last line had here is tried first:
    /// trie keys have no byte a string must escape, so when the text is that key's bytes then a
    /// quote, the string is that key.
    fn trie_key(&mut self, node: usize) -> Option<Option<usize>> {
        let place = self.key;
        self.key += 1;
        let remembered = self.keys.get(place).copied().unwrap_or(0);
        if usize::from(remembered >> 8) == node && remembered & 0xff != 0 {
            let index = usize::from(remembered & 0xff) - 1;
            if let Some((key, _)) = TRIE.nodes.get(node).and_then(|(_, keys)| keys.get(index)) {
                let end = self.at + key.len();
                if self.bytes.get(self.at..end) == Some(key.as_bytes()) && self.bytes.get(end) == Some(&b'"') {
                    self.at = end + 1;
                    return Some(Some(index));
                }
            }
        }
        let index = self.with_string(|key| TRIE.find(node, key.as_bytes()))?;
        if let Some(slot) = self.keys.get_mut(place) {
            // Nodes and key indexes are small (checked by the tests), so both fit a byte.
            *slot = ((node as u16) << 8) | index.map_or(0, |i| i as u16 + 1);
        }
        Some(index)
    }

    /// A target's value, reduced as the visitor's `read_target` reduces it; a second candidate
    /// for one target is left to the visitor (which gives up).
    fn target(&mut self, found: &mut Found<'de>, target: usize) -> Option<()> {
        if found.slots[target].is_some() {
            return None;
        }
        let captured = match Reduction::of(target) {
            Reduction::Code => Captured::Code(self.code()?),
            Reduction::Time => Captured::Time(self.time()?),
            Reduction::Category => Captured::Category(self.category()?),
            Reduction::Text => match self.text()? {
                None => Captured::Text(None),
                Some(Str::Input(s)) => Captured::Text(Some(Cow::Borrowed(s))),
                Some(Str::Decoded(start, end)) => Captured::Decoded(start, end),
            },
        };
        found.slots[target] = Some(captured);
        Some(())
    }

    /// A short integer (optional `-`, at most [`MAX_INTEGER_DIGITS`] digits) as `i64`, which is
    /// what serde_json makes of it too; `None` for other numbers.
    fn integer(number: &str) -> Option<i64> {
        let digits = number.strip_prefix('-').unwrap_or(number);
        if digits.len() > MAX_INTEGER_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        number.parse().ok()
    }

    /// An object's last `#text` member (the scanner is past the `{`), read by `read`; the other
    /// members are dropped. Both the visitor's `CodeSeed` and `TextSeed` read objects so.
    fn last_hash_text<T>(&mut self, read: fn(&mut Self) -> Option<Option<T>>) -> Option<Option<T>> {
        let mut value = None;
        self.members(
            |key| key == "#text",
            |s, is_text| {
                if is_text {
                    value = read(s)?;
                    Some(())
                } else {
                    s.skip_value()
                }
            },
        )?;
        Some(value)
    }

    /// `event_code` of the value (the visitor's `CodeSeed`): a number, a trimmed string, the last
    /// `#text` of an object, the first element of an array.
    fn code(&mut self) -> Option<Option<u32>> {
        match self.peek()? {
            b'{' => {
                self.at += 1;
                self.last_hash_text(Self::code)
            }
            b'[' => {
                self.at += 1;
                let mut first = None;
                self.elements(|s| match first {
                    None => {
                        first = Some(s.code()?);
                        Some(())
                    }
                    Some(_) => s.skip_value(),
                })?;
                Some(first.flatten())
            }
            b'"' => {
                self.at += 1;
                self.with_string(|s| s.trim().parse().ok())
            }
            b't' | b'f' | b'n' => self.skip_value().map(|()| None),
            _ => {
                let number = self.number()?;
                // A `Value` holds a non-negative integer as `u64` (as a float past `u64::MAX`)
                // and any other number as `i64` or `f64`, which `as_u64` refuses; `-0` is a
                // float too.
                if number.bytes().all(|b| b.is_ascii_digit()) {
                    Some(number.parse::<u64>().ok().and_then(|n| u32::try_from(n).ok()))
                } else {
                    Some(None)
                }
            }
        }
    }

    /// `time_ms` of the value (the visitor's `TimeSeed`); an object is left to the visitor,
    /// which leaves it to the reference.
    fn time(&mut self) -> Option<Result<i64, RejectReason>> {
        match self.peek()? {
            b'{' => None,
            b'[' | b't' | b'f' => self.skip_value().map(|()| Err(RejectReason::InvalidTimestamp)),
            b'n' => self.skip_value().map(|()| Err(RejectReason::MissingTimestamp)),
            b'"' => {
                self.at += 1;
                let mut day = self.day.as_deref().copied();
                let time = self.with_string(|s| {
                    match &mut day {
                        Some(day) => day.parse_rfc3339_ms(s),
                        None => parse_rfc3339_ms(s),
                    }
                    .ok_or(RejectReason::InvalidTimestamp)
                });
                if let (Some(slot), Some(day)) = (self.day.as_deref_mut(), day) {
                    *slot = day;
                }
                time
            }
            // `-0` is a float `-0.0` to serde_json: truncated, 0 as well.
            _ => Self::integer(self.number()?).map(Ok),
        }
    }

    /// `has_value(v, "authentication")` (the visitor's `CategorySeed`): the string itself, or any
    /// string in an array at any depth.
    fn category(&mut self) -> Option<bool> {
        match self.peek()? {
            b'[' => {
                self.at += 1;
                let mut any = false;
                self.elements(|s| {
                    any |= s.category()?;
                    Some(())
                })?;
                Some(any)
            }
            b'"' => {
                self.at += 1;
                self.with_string(|s| s == "authentication")
            }
            _ => self.skip_value().map(|()| false),
        }
    }

    /// `text` of the value (the visitor's `TextSeed`): a non-empty string, a boolean or an
    /// integer as written, the last `#text` of an object, the first element of an array with a
    /// text; `Some(None)` without one.
    fn text(&mut self) -> Option<Option<Str<'de>>> {
        match self.peek()? {
            b'{' => {
                self.at += 1;
                self.last_hash_text(Self::text)
            }
            b'[' => {
                self.at += 1;
                let mut text = None;
                self.elements(|s| {
                    if text.is_none() {
                        text = s.text()?;
                        Some(())
                    } else {
                        s.skip_value()
                    }
                })?;
                Some(text)
            }
            b'"' => {
                self.at += 1;
                Some(match self.string()? {
                    Str::Input("") => None,
                    Str::Decoded(start, end) if start == end => None,
                    s => Some(s),
                })
            }
            b't' => self.literal(b"true").map(|()| Some(Str::Input("true"))),
            b'f' => self.literal(b"false").map(|()| Some(Str::Input("false"))),
            b'n' => self.literal(b"null").map(|()| None),
            _ => {
                let number = self.number()?;
                // serde_json prints an integer as written (no leading zeros in JSON), except
                // `-0`, a float to it (`-0.0`); floats are printed its own way: not handled.
                if number == "-0" {
                    return None;
                }
                Self::integer(number).map(|_| Some(Str::Input(number)))
            }
        }
    }

    /// Any value, validated and dropped (strings unescaped, then dropped from the buffer).
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => {
                self.at += 1;
                self.members(|_| (), |s, ()| s.skip_value())
            }
            b'[' => {
                self.at += 1;
                self.elements(Self::skip_value)
            }
            b'"' => {
                self.at += 1;
                self.with_string(|_| ())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(doc: &str) -> bool {
        scan_document(doc, &mut Found::new(), &mut ScanState::default()).is_some()
    }

    /// The unescaped text of a JSON string literal, as the scanner reads it.
    fn unescaped(literal: &str) -> Option<String> {
        let mut state = ScanState::default();
        let doc = literal;
        let mut s = WinScanner::new(doc, &mut state.decoded, &mut state.keys, None);
        s.at = 1;
        let read = s.string()?;
        let text = s.resolve(read).to_owned();
        (s.at == doc.len()).then_some(text)
    }

    #[test]
    fn unescapes_as_serde_json_does() {
        for literal in [
            r#""plain""#,
            r#""""#,
            r#""C:\\Windows\\System32\\lsass.exe""#,
            r#""\"q\" \/ \b\f\n\r\t""#,
            r#""al\u0069ce \u00e9\u00E9 \u4e2d \u0000""#,
            r#""\ud83d\ude00 and \uD83D\uDE00!""#,
            r#""ü名 \\ end\\""#,
            r#""\\""#,
            r#""\u20ac""#,
        ] {
            let expected: String = serde_json::from_str(literal).unwrap();
            assert_eq!(unescaped(literal), Some(expected), "{literal}");
        }
    }

    #[test]
    fn leaves_bad_escapes_to_serde_json() {
        for literal in [
            r#""\x""#,
            r#""\ud800""#,
            r#""\ud800x""#,
            r#""\ud800\u0041""#,
            r#""\ud800\ud800""#,
            r#""\udc00""#,
            r#""\u12""#,
            r#""\u12g4""#,
            r#""\"#,
            r#""a\"#,
            "\"tab\there\"",
            "\"a\\n\u{1}\"",
        ] {
            assert_eq!(unescaped(literal), None, "{literal}");
            assert!(serde_json::from_str::<String>(literal).is_err(), "{literal}");
        }
    }

    #[test]
    fn answers_winlogbeat_lines_with_escapes() {
        let line = r#"{"@timestamp":"2024-05-01T10:00:00.000Z","event":{"code":"4624","category":["authentication"]},"winlog":{"event_id":"4624","computer_name":"dc01","event_data":{"TargetUserName":"b\u006fb","IpAddress":"10.0.0.1","ProcessName":"C:\\Windows\\System32\\lsass.exe"}},"message":"An account was logged on.\n\n\tSubject:\t\"x\""}"#;
        let mut found = Found::new();
        let mut state = ScanState::default();
        assert!(scan_document(line, &mut found, &mut state).is_some());
        let decoded = &state.decoded;
        let text = |t: usize| match &found.slots[t] {
            Some(Captured::Decoded(start, end)) => decoded[*start..*end].to_owned(),
            other => panic!("{other:?}"),
        };
        // Targets 5 and 8: `winlog.event_data.TargetUserName` and `…ProcessName`.
        assert_eq!(text(5), "bob");
        assert_eq!(text(8), r"C:\Windows\System32\lsass.exe");
        // Only the captured texts stay in the buffer.
        assert_eq!(decoded, r"bobC:\Windows\System32\lsass.exe");
    }

    /// What [`WinScanner::trie_key`] relies on to compare a remembered key as bytes, and to keep
    /// its node and index in a byte each.
    #[test]
    fn trie_keys_can_be_compared_as_bytes() {
        assert!(TRIE.nodes.len() < 256);
        for (_, keys) in TRIE.nodes {
            assert!(keys.len() < 255);
            for (key, _) in keys.iter() {
                assert!(key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'), "{key}");
            }
        }
    }

    #[test]
    fn answers_the_simulators_shape() {
        assert!(answers(
            r#"{"@timestamp":"2026-10-01T00:04:31.853Z","event":{"category":["authentication"],"action":"logged-in","outcome":"success","kind":"event","dataset":"system.security","code":"4624"},"user":{"name":"svc-legacy-sync","domain":"CORP"},"source":{"ip":"10.10.0.49"},"host":{"name":"fs-01"},"winlog":{"event_data":{"LogonType":"3"}}}"#
        ));
        assert!(answers(
            " {\"@timestamp\" : 1714557600000 ,\n\"winlog.event_id\":4625, \"x\":[1,-2.5,true,null,{}], \"y\":{\"z\":-0}}\t"
        ));
        assert!(answers("{}"));
    }

    #[test]
    fn leaves_the_rest_to_the_visitor() {
        for doc in [
            r#"{"@timestamp":1.5,"event.code":4624}"#,      // a fractional time
            r#"{"@timestamp":{"SystemTime":"x"}}"#,         // a time as an object
            r#"{"user.name":2.5}"#,                         // a fractional text
            r#"{"user.name":-0}"#,                          // `-0` as a text
            r#"{"x":1e5}"#,                                 // exponent
            r#"{"user":{"name":"a"},"user":{"name":"b"}}"#, // a key that matters, twice
            r#"{"user":{"name":"a"},"user.name":"b"}"#,     // a target at two places
            r#"{"Event":{}}"#,                              // evtx
            r#"{"winlog":{"event_data":{"Data":[]}}}"#,     // XML-style data
            r#"[{"user":{"name":"a"}}]"#,                   // not an object
            r#"{"a":1,}"#,                                  // malformed
            r#"{"a":"\ud800"}"#,                            // lone surrogate, skipped
            r#"{"a":"x"} y"#,
        ] {
            assert!(!answers(doc), "{doc}");
        }
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(70), "]".repeat(70));
        assert!(!answers(&deep));
    }
}
