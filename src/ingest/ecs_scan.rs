//! A hand-written single-pass scanner for the common shape of ECS documents, in front of the serde
//! visitor: same trie, same routes, same captures ([`Found`]), at a fraction of the cost (no
//! `Deserializer` state machine, no per-key visitor calls).
//!
//! It handles only what it can decide with certainty and answers `None` ("ask the serde visitor")
//! for everything else, so it never has to reproduce serde_json's error paths:
//! - strings with an escape or a control character (serde_json decodes or rejects them);
//! - numbers with an exponent or longer than [`MAX_NUMBER_LEN`] (range errors), and captured
//!   numbers other than short non-negative integers (serde_json's float rounding and `-0`);
//! - nesting deeper than [`MAX_DEPTH`] (serde_json's recursion limit is 128);
//! - a key that matters twice in one object (the serde visitor's own fallback decides);
//! - a top-level value that is not an object, and anything malformed.
//!
//! Every document it does answer is valid JSON and yields exactly what the visitor would yield:
//! `tests/ecs_fast_equivalence.rs` compares both with the `Value` reference on generated documents.

use serde_json::Number;

use super::fast::{Captured, Found, Scalar, Text, TRIE};
use super::shape::{FixedValue, Note, Slot};
use crate::ingest::key_trie::{Entry, Route};

/// Deepest nesting handled (objects and arrays); deeper documents go to serde_json.
pub(in crate::ingest) const MAX_DEPTH: u32 = 64;
/// Longest number handled; longer ones go to serde_json (which may find them out of range).
const MAX_NUMBER_LEN: usize = 40;
/// Digits of an integer that always fits in a `u64`.
const MAX_CAPTURED_DIGITS: usize = 18;

/// Bytes that end the fast scan of a string: the closing quote, an escape, a control character.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The position of the first [`STRING_STOP`] byte, eight bytes at a time.
pub(in crate::ingest) fn string_stop(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let stops = stop_bytes(u64::from_le_bytes(w));
        if stops != 0 {
            return Some(at + (stops.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    string_stop_in_last_bytes(bytes, at)
}

/// [`string_stop`] in the last bytes of `bytes`, from `at` (fewer than eight), one at a time. Out
/// of line: where it is inlined, the loop over the words keeps fewer values live.
#[inline(never)]
fn string_stop_in_last_bytes(bytes: &[u8], at: usize) -> Option<usize> {
    let rest = bytes.get(at..)?;
    rest.iter().position(|&b| STRING_STOP[b as usize]).map(|i| at + i)
}

/// The high bit of each byte of `x` (eight bytes, little-endian) that is a [`STRING_STOP`]: the
/// lowest set bit marks the first stop; bits above it may be false (a borrow), which is all the
/// callers need. Each test is `(byte - k) & !byte & 0x80`, true in the lowest bit for the first
/// byte under `k` (`k = 1` on `x ^ quotes`, `x ^ backslashes`: a zero byte; `k = 0x20` on `x`: a
/// control character). The three share the `& !byte & 0x80`: a quote or a backslash has no high
/// bit, so `x ^ quotes` has the high bits of `x`. So three subtractions, two XORs and one mask.
#[inline]
fn stop_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let under_space = x.wrapping_sub(ONES * 0x20);
    let quote = (x ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES);
    let backslash = (x ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    (under_space | quote | backslash) & !x & HIGHS
}

/// The length of a string without escapes or control characters, `bytes` starting after its
/// opening quote: the position of its closing quote. `None` for any other string (or none).
#[inline]
pub(in crate::ingest) fn plain_string_len(bytes: &[u8]) -> Option<usize> {
    string_stop(bytes).filter(|&len| bytes[len] == b'"')
}

/// The byte steps both hand scanners take (this one and the winlogbeat one, `windows_scan.rs`):
/// a position in a line, and the containers open around it (at most [`MAX_DEPTH`]).
pub(in crate::ingest) trait Cursor<'de> {
    fn bytes(&self) -> &'de [u8];
    fn at(&self) -> usize;
    fn at_mut(&mut self) -> &mut usize;
    fn depth_mut(&mut self) -> &mut u32;

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at()).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            *self.at_mut() += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| *self.at_mut() += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at() + word.len();
        (self.bytes().get(self.at()..end)? == word).then(|| *self.at_mut() = end)
    }

    /// Into a container; `None` past the nesting limit.
    fn enter(&mut self) -> Option<()> {
        let depth = self.depth_mut();
        *depth += 1;
        (*depth <= MAX_DEPTH).then_some(())
    }

    /// A member's colon, after its key, with the whitespace around it.
    fn colon(&mut self) -> Option<()> {
        self.skip_ws();
        self.expect(b':')?;
        self.skip_ws();
        Some(())
    }

    /// A container's items, after its opening bracket: `item` reads each one (for an object:
    /// its key, colon and value); this reads the commas and the closing `close`, and keeps the
    /// nesting count.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()>
    where
        Self: Sized,
    {
        self.enter()?;
        self.skip_ws();
        if self.peek()? == close {
            *self.at_mut() += 1;
            *self.depth_mut() -= 1;
            return Some(());
        }
        loop {
            item(self)?;
            if self.next_or_close(close)? {
                return Some(());
            }
        }
    }

    /// After an element of an object or array: `Some(false)` past a `,` (another follows),
    /// `Some(true)` past the closing `close` (the container is done), `None` for anything else.
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
        self.skip_ws();
        let b = self.peek()?;
        *self.at_mut() += 1;
        if b == b',' {
            self.skip_ws();
            Some(false)
        } else if b == close {
            *self.depth_mut() -= 1;
            Some(true)
        } else {
            None
        }
    }
}

impl<'de> Cursor<'de> for Scanner<'de, '_> {
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

pub(in crate::ingest) struct Scanner<'de, 't> {
    text: &'de str,
    bytes: &'de [u8],
    pub(in crate::ingest) at: usize,
    depth: u32,
    /// When learning a shape: what each value of the document did (see `ecs_shape.rs`).
    trace: Option<&'t mut Vec<Note>>,
}

/// Scans `text` into `found`. `Some(())`: a valid JSON object whose fields are in `found`;
/// `None`: not decided here (`found` may hold partial results: start over with a fresh one).
pub(super) fn scan_document<'de>(text: &'de str, found: &mut Found<'de>) -> Option<()> {
    Scanner::new(text, 0, 0, None).document(found)
}

/// [`scan_document`], noting in `trace` (cleared first) what each value did, in text order, so
/// that a shape can be learned from the document.
pub(super) fn scan_document_traced<'de>(text: &'de str, found: &mut Found<'de>, trace: &mut Vec<Note>) -> Option<()> {
    trace.clear();
    Scanner::new(text, 0, 0, Some(trace)).document(found)
}

impl<'de> Scanner<'de, 'static> {
    /// A scanner at byte `at` of `text` that notes nothing, for the other scanners' values.
    pub(in crate::ingest) fn untraced(text: &'de str, at: usize) -> Self {
        Scanner::new(text, at, 0, None)
    }
}

impl<'de, 't> Scanner<'de, 't> {
    /// A scanner at byte `at` of `text`, inside `depth` containers.
    pub(super) fn new(text: &'de str, at: usize, depth: u32, trace: Option<&'t mut Vec<Note>>) -> Self {
        Scanner {
            text,
            bytes: text.as_bytes(),
            at,
            depth,
            trace,
        }
    }

    fn document(mut self, found: &mut Found<'de>) -> Option<()> {
        self.skip_ws();
        self.expect(b'{')?;
        self.object(found, 0, 0, 0)?;
        self.skip_ws();
        (self.at == self.bytes.len()).then_some(())
    }

    /// A string without escapes, after its opening quote; borrowed from the input.
    pub(super) fn string(&mut self) -> Option<&'de str> {
        let start = self.at;
        let len = plain_string_len(self.bytes.get(start..)?)?;
        self.at = start + len + 1;
        // Quotes are ASCII, so both ends are character boundaries.
        self.text.get(start..start + len)
    }

    /// A JSON number (grammar checked), as its text.
    pub(in crate::ingest) fn number(&mut self) -> Option<&'de str> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let digits = self.digits();
        if digits == 0 || (digits > 1 && self.bytes[self.at - digits] == b'0') {
            return None;
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) || self.at - start > MAX_NUMBER_LEN {
            return None;
        }
        self.text.get(start..self.at)
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    /// A number serde_json would hand over exactly as `Number` from `u64`: a short non-negative
    /// integer. Anything else that must be captured goes to serde_json.
    pub(super) fn captured_number(text: &str) -> Option<Scalar<'de>> {
        if text.len() > MAX_CAPTURED_DIGITS || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<u64>().ok().map(|n| Scalar::Num(Number::from(n)))
    }

    /// An object's members, after `{`: `member` reads each value (the scanner is past its key
    /// and colon); this reads the punctuation.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'de str) -> Option<()>) -> Option<()> {
        self.items(b'}', |s| {
            s.expect(b'"')?;
            let key = s.string()?;
            s.colon()?;
            member(s, key)
        })
    }

    /// An object's members, after `{`, at trie node `node`.
    fn object(&mut self, found: &mut Found<'de>, node: usize, level: usize, route: Route) -> Option<()> {
        let mut seen = 0u64;
        self.members(|s, key| {
            let start = s.at;
            let Some(index) = TRIE.find(node, key.as_bytes()) else {
                s.skip_value()?;
                s.note_skipped(start, true);
                return Some(());
            };
            if seen & (1 << index) != 0 {
                return None;
            }
            seen |= 1 << index;
            let (entry, route) = TRIE.step(node, index, level, route);
            s.place(found, level, route, entry)?;
            if s.trace.is_some() {
                s.note_placed(found, start, level, route, entry);
            }
            Some(())
        })
    }

    /// Notes a value that was validated and dropped, at `start..self.at`. An object there must
    /// not be entered by whatever reads the shape, unless `object_ok` (no key of it matters).
    fn note_skipped(&mut self, start: usize, object_ok: bool) {
        let depth = self.depth;
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.push(Note::slot(start, self.at, Slot::Any { depth, object_ok }, None));
        }
    }

    /// Notes what [`Self::place`] did with the value at `start..self.at`.
    fn note_placed(&mut self, found: &Found<'de>, start: usize, level: usize, route: Route, entry: Entry) {
        let target = match entry {
            // Entered: its members noted themselves.
            Entry::Node(_) if level < 3 && self.bytes.get(start) == Some(&b'{') => return,
            // Dropped; an object here is dropped too only below the levels that are entered.
            Entry::Node(_) => return self.note_skipped(start, level >= 3),
            Entry::Target(t) => t,
            Entry::Unsure => return,
        };
        let captured = match found.best[target as usize].as_ref() {
            Some((r, c)) if *r == route => c,
            // Not wanted (a preferred route is known): dropped, whatever it is.
            _ => return self.note_skipped(start, true),
        };
        let note = match captured {
            Captured::One(Scalar::Str(_)) => Note::slot(start + 1, self.at - 1, Slot::Str, Some(target)),
            Captured::One(Scalar::Num(_)) => Note::slot(start, self.at, Slot::Num, Some(target)),
            other => Note::Fixed {
                target,
                value: FixedValue::of(other, self.text),
            },
        };
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.push(note);
        }
    }

    /// The value of a key that matters: a target's value is captured, a node's object is entered.
    fn place(&mut self, found: &mut Found<'de>, level: usize, route: Route, entry: Entry) -> Option<()> {
        let wanted = match entry {
            Entry::Target(t) => found.wants(t as usize, route).then_some(t as usize),
            Entry::Node(_) => None,
            // The serde visitor gives up on such a key: so does the scanner.
            Entry::Unsure => return None,
        };
        let captured = match self.peek()? {
            b'{' => {
                self.at += 1;
                match entry {
                    Entry::Node(child) if level < 3 => return self.object(found, child as usize, level + 1, route),
                    _ => {
                        self.skip_object()?;
                        Captured::Other
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let (first, auth) = self.array(wanted.is_some())?;
                Captured::Many { first, auth }
            }
            b'"' => {
                self.at += 1;
                Captured::One(Scalar::Str(Text::Line(self.string()?)))
            }
            b't' => {
                self.literal(b"true")?;
                Captured::One(Scalar::Bool(true))
            }
            b'f' => {
                self.literal(b"false")?;
                Captured::One(Scalar::Bool(false))
            }
            b'n' => {
                self.literal(b"null")?;
                Captured::Other
            }
            _ => {
                let text = self.number()?;
                match wanted {
                    Some(_) => Captured::One(Self::captured_number(text)?),
                    None => return Some(()),
                }
            }
        };
        if let Some(t) = wanted {
            found.best[t] = Some((route, captured));
        }
        Some(())
    }

    /// An array's elements, after `[`: its first scalar depth first (kept when `need_first`) and
    /// whether any string in it, or in an array inside it, is `authentication`.
    fn array(&mut self, need_first: bool) -> Option<(Option<Scalar<'de>>, bool)> {
        let mut first: Option<Scalar<'de>> = None;
        let mut auth = false;
        self.items(b']', |s| {
            let need = need_first && first.is_none();
            let (f, a) = match s.peek()? {
                b'{' => {
                    s.at += 1;
                    s.skip_object()?;
                    (None, false)
                }
                b'[' => {
                    s.at += 1;
                    s.array(need)?
                }
                b'"' => {
                    s.at += 1;
                    let s = s.string()?;
                    (need.then_some(Scalar::Str(Text::Line(s))), s == "authentication")
                }
                b't' => {
                    s.literal(b"true")?;
                    (need.then_some(Scalar::Bool(true)), false)
                }
                b'f' => {
                    s.literal(b"false")?;
                    (need.then_some(Scalar::Bool(false)), false)
                }
                b'n' => {
                    s.literal(b"null")?;
                    (None, false)
                }
                _ => {
                    let text = s.number()?;
                    if need {
                        (Some(Self::captured_number(text)?), false)
                    } else {
                        (None, false)
                    }
                }
            };
            auth |= a;
            if first.is_none() {
                first = f;
            }
            Some(())
        })?;
        Some((first, auth))
    }

    /// Any value, validated and dropped.
    pub(super) fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => {
                self.at += 1;
                self.skip_object()
            }
            b'[' => {
                self.at += 1;
                self.array(false).map(|_| ())
            }
            b'"' => {
                self.at += 1;
                self.string().map(|_| ())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }

    /// An object's members, after `{`, validated and dropped.
    fn skip_object(&mut self) -> Option<()> {
        self.members(|s, _| s.skip_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(doc: &str) -> bool {
        scan_document(doc, &mut Found::new()).is_some()
    }

    /// The word test, against the three separate zero-byte tests it replaced and the byte table,
    /// for two chosen bytes at every pair of places over fillers (borrows between neighbours).
    #[test]
    fn stop_bytes_marks_the_first_stop_as_the_former_three_tests() {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        let zeros = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
        let former = |x: u64| {
            zeros(x & 0xe0e0_e0e0_e0e0_e0e0)
                | zeros(x ^ (ONES * u64::from(b'"')))
                | zeros(x ^ (ONES * u64::from(b'\\')))
        };
        let first = |m: u64| (m != 0).then(|| m.trailing_zeros() / 8);
        let bytes = [
            0x00u8, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x3f, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xe0, 0xff,
        ];
        for filler in [b'a', 0x21, 0x23, 0x5d, 0x80, 0xff] {
            for &a in &bytes {
                for &b in &bytes {
                    for i in 0..8 {
                        for j in 0..8 {
                            let mut w = [filler; 8];
                            w[i] = a;
                            w[j] = b;
                            let x = u64::from_le_bytes(w);
                            let table = w.iter().position(|&c| STRING_STOP[c as usize]).map(|p| p as u32);
                            assert_eq!(first(stop_bytes(x)), table, "{w:?}");
                            assert_eq!(first(stop_bytes(x)), first(former(x)), "{w:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn string_stop_finds_the_first_stop_byte() {
        let slow = |b: &[u8]| b.iter().position(|&c| STRING_STOP[c as usize]);
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"abc".to_vec(),
            "héllo wörld, long enough".as_bytes().to_vec(),
        ];
        for stop in [b'"', b'\\', 0u8, 0x1f, b'\n'] {
            for at in 0..20 {
                let mut v: Vec<u8> = (0..24).map(|i| b'a' + (i % 26) as u8).collect();
                v[at] = stop;
                cases.push(v);
            }
        }
        // Bytes near the stops that are not stops.
        cases.push(vec![
            0x20, b'!', b'#', b'[', b']', 0x7f, 0x80, 0xff, 0xe0, 0x3f, 0x20, 0x21,
        ]);
        for c in cases {
            assert_eq!(string_stop(&c), slow(&c), "{c:?}");
        }
    }

    #[test]
    fn answers_the_common_shapes() {
        // The simulator's and Filebeat's shape: nested, plain strings, a category array.
        assert!(answers(
            r#"{"@timestamp":"2026-10-01T00:00:52.629Z","event":{"category":["authentication"],"action":"ssh_login","outcome":"success","kind":"event","dataset":"system.auth"},"user":{"name":"svc-monitor"},"source":{"ip":"10.10.0.13","port":22},"host":{"name":"srv-app-02"},"process":{"name":"sshd","pid":1234}}"#
        ));
        // Dotted keys, whitespace, numbers, booleans and nulls in skipped fields.
        assert!(answers(
            " {\"@timestamp\" : 1790812800000 ,\n\"user.name\":\"bob\", \"x\":[1,-2.5,true,null,{}], \"y\":{\"z\":-0}}\t"
        ));
        assert!(answers("{}"));
    }

    #[test]
    fn leaves_the_rest_to_serde_json() {
        for doc in [
            r#"{"user":{"name":"al\u0069ce"}}"#,            // escape in a value
            r#"{"us\u0065r":{"name":"alice"}}"#,            // escape in a key
            r#"{"x":1e5}"#,                                 // exponent
            r#"{"source":{"port":-1}}"#,                    // captured negative number
            r#"{"source":{"port":2.5}}"#,                   // captured fraction
            r#"{"source":{"port":1234567890123456789}}"#,   // captured, past 18 digits
            r#"{"user":{"name":"a"},"user":{"name":"b"}}"#, // a key that matters, twice
            r#"[{"user":{"name":"a"}}]"#,                   // not an object
            r#"{"a":1,}"#,                                  // malformed
            r#"{"a":01}"#,
            r#"{"a":"x"} y"#,
            "{\"a\":\"x\u{1}\"}", // control character
        ] {
            assert!(!answers(doc), "{doc}");
        }
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(70), "]".repeat(70));
        assert!(!answers(&deep));
        let shallow = format!("{{\"x\":{}1{}}}", "[".repeat(50), "]".repeat(50));
        assert!(answers(&shallow));
    }

    #[test]
    fn answers_every_simulator_shaped_line() {
        let lines = simulator_shaped_lines();
        let answered = lines.iter().filter(|l| answers(l)).count();
        assert_eq!(answered, lines.len());
    }

    /// ECS lines as the simulator writes them (the crate cannot depend on the simulator).
    fn simulator_shaped_lines() -> Vec<String> {
        (0..50)
            .map(|i| {
                format!(
                    r#"{{"@timestamp":"2026-10-{:02}T08:{:02}:00.000Z","event":{{"category":["authentication"],"action":"ssh_login","outcome":"{}","kind":"event","dataset":"system.auth"}},"user":{{"name":"user{i}"}},"source":{{"ip":"10.{i}.0.1"}},"host":{{"name":"srv-{i}"}},"process":{{"name":"sshd"}}}}"#,
                    i % 28 + 1,
                    i % 60,
                    if i % 3 == 0 { "failure" } else { "success" }
                )
            })
            .collect()
    }
}
