//! What both line-shape readers (ECS lines, `ecs_shape.rs`; winlogbeat lines, `windows_shape.rs`)
//! share: the cache of learned layouts each keeps per stream (which kept shapes a line is tried
//! against, in which order, and when a missed line's shape is learned) and the byte comparison
//! that checks a line's literal text against a shape's. The shapes themselves, and why a match
//! gives the scanner's answer, are the readers' own.

/// Shapes kept per stream. A shipper writes a handful (success and failure, one per module or
/// event kind); more would only lengthen the search on a miss.
pub(in crate::ingest) const MAX_SHAPES: usize = 4;
/// Longest line whose layout is learned: the kept shapes stay small (at most four times this,
/// plus their slot lists) whatever `max_line_bytes` allows. Log lines are a few hundred bytes to
/// a few KiB; longer ones are read by the scanner.
pub(in crate::ingest) const MAX_LEARNED_LINE_BYTES: usize = 16 * 1024;
/// Lines per window of the hit-rate check.
pub(in crate::ingest) const WINDOW_LINES: u32 = 256;
/// In a stream where fewer than one line in this many matched a kept shape in the last window,
/// only the most recent shape is tried, and a shape is learned on every [`SPARSE_LEARN_EVERY`]th
/// miss only, so that a stream of ever-changing layouts pays little for the cache.
const SPARSE_HIT_RATIO: u32 = 4;
const SPARSE_LEARN_EVERY: u32 = 16;

/// The kept shapes of one stream, most recently matched first, with the counters that switch the
/// cache to sparse use when lines rarely match.
#[derive(Debug)]
pub(in crate::ingest) struct ShapeCache<S> {
    pub(in crate::ingest) shapes: Vec<S>,
    window_lines: u32,
    window_hits: u32,
    misses: u32,
    /// Few lines matched in the last window (see [`SPARSE_HIT_RATIO`]).
    pub(in crate::ingest) sparse: bool,
    /// Lines read through a kept shape, in all.
    pub(in crate::ingest) hits: u64,
}

impl<S> Default for ShapeCache<S> {
    fn default() -> Self {
        ShapeCache {
            shapes: Vec::new(),
            window_lines: 0,
            window_hits: 0,
            misses: 0,
            sparse: false,
            hits: 0,
        }
    }
}

impl<S: Default> ShapeCache<S> {
    /// Tries a line against the kept shapes, most recently matched first (only the latest in a
    /// sparse stream): `read(shape)` reads the line through `shape` and says whether it matched
    /// (undoing any partial reading itself when not). A matched shape moves to the front.
    pub(in crate::ingest) fn try_shapes(&mut self, mut read: impl FnMut(&mut S) -> bool) -> bool {
        self.window_lines += 1;
        if self.window_lines >= WINDOW_LINES {
            self.sparse = self.window_hits * SPARSE_HIT_RATIO < self.window_lines;
            self.window_lines = 0;
            self.window_hits = 0;
        }
        let tries = if self.sparse { 1 } else { self.shapes.len() };
        for i in 0..tries.min(self.shapes.len()) {
            if read(&mut self.shapes[i]) {
                self.shapes[..=i].rotate_right(1);
                self.window_hits += 1;
                self.hits += 1;
                return true;
            }
        }
        self.misses = self.misses.wrapping_add(1);
        false
    }

    /// After a miss ([`Self::try_shapes`] false): whether the line's shape is to be learned (not
    /// a line over [`MAX_LEARNED_LINE_BYTES`]; in a sparse stream, every
    /// [`SPARSE_LEARN_EVERY`]th miss only).
    pub(in crate::ingest) fn learns(&self, line_bytes: usize) -> bool {
        line_bytes <= MAX_LEARNED_LINE_BYTES && (!self.sparse || self.misses % SPARSE_LEARN_EVERY == 0)
    }

    /// A shape to learn a line into: once the cache is full, the least recently matched one,
    /// whose buffers are reused.
    pub(in crate::ingest) fn spare(&mut self) -> S {
        if self.shapes.len() >= MAX_SHAPES {
            self.shapes.pop().unwrap_or_default()
        } else {
            S::default()
        }
    }

    /// Keeps a learned shape, as the most recently matched.
    pub(in crate::ingest) fn keep(&mut self, shape: S) {
        self.shapes.insert(0, shape);
    }
}

/// `a == b`, without a call to `memcmp` for the short literal runs and values of a line (most
/// are under 32 bytes): a few overlapping word comparisons inline. Longer ones: natively the C
/// library's vectorised `memcmp`; on wasm32 eight bytes at a time, as its `memcmp`
/// (compiler-builtins) compares byte by byte.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0..=7 => a.iter().zip(b).all(|(x, y)| x == y),
        // The first and the last word overlap as needed.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        17..=32 => {
            word(a, 0) == word(b, 0)
                && word(a, 8) == word(b, 8)
                && word(a, n - 16) == word(b, n - 16)
                && word(a, n - 8) == word(b, n - 8)
        }
        _ if cfg!(target_arch = "wasm32") => same_bytes_by_words(a, b),
        _ => a == b,
    }
}

/// Eight bytes of `s` from `at` (`at + 8 <= s.len()`, which every caller has checked).
fn word(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_ne_bytes(w)
}

/// [`same_bytes`] for any length, eight bytes at a time.
fn same_bytes_by_words(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut at = 0;
    while at + 8 <= n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    // The last, partial word, overlapping the one before.
    at == n || word(a, n - 8) == word(b, n - 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_comparison_is_slice_equality() {
        let text: Vec<u8> = (0..70u8).map(|i| b'a' + i % 26).collect();
        for len in 0..text.len() {
            let a = &text[..len];
            let copy = a.to_vec();
            assert!(same_bytes(a, &copy));
            assert!(same_bytes_by_words(a, &copy));
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 1;
                assert!(!same_bytes(a, &b), "{len} {at}");
                assert!(!same_bytes_by_words(a, &b), "{len} {at}");
            }
        }
        assert!(!same_bytes(b"abc", b"abcd"));
        assert!(!same_bytes_by_words(b"abc", b"abcd"));
    }
}
