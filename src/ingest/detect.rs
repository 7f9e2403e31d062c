//! Per-line input format detection, by looking at bytes only (no JSON parsing).
//!
//! | line starts with (after whitespace / BOM) | contains | format |
//! |---|---|---|
//! | `{` | an `"Event"` key | [`InputFormat::Evtx`] (evtx JSON) |
//! | `{` | a `"winlog"` key or a dotted `"winlog.…"` key | [`InputFormat::Evtx`] (winlogbeat; `windows.rs` handles both) |
//! | `{` or `[` | neither | [`InputFormat::Ecs`] |
//! | anything else (including an empty line) | | [`InputFormat::Syslog`] |
//!
//! The key tests look for the quoted name followed (after optional whitespace) by `:`, so a
//! string *value* `"Event"` does not count; a key nested deeper (`{"x":{"Event":…}}`) does — the
//! Windows parser then finds no record and reports the line as not a logon.

/// The shape of input lines.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// Decide per line with [`sniff`].
    #[default]
    Auto,
    /// ECS JSON documents (nested or dotted keys).
    Ecs,
    /// Raw syslog lines from sshd / PAM (RFC 3164, RFC 5424, ISO 8601 prefixes).
    Syslog,
    /// Windows Security records: evtx JSON (`evtx_dump -o jsonl`) or winlogbeat JSON.
    Evtx,
}

impl InputFormat {
    /// Every format, in the order of their counters ([`InputFormat::index`]).
    pub const ALL: [InputFormat; 4] = [
        InputFormat::Auto,
        InputFormat::Ecs,
        InputFormat::Syslog,
        InputFormat::Evtx,
    ];

    /// This format's place in [`InputFormat::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The lowercase name (as in configuration).
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Auto => "auto",
            InputFormat::Ecs => "ecs",
            InputFormat::Syslog => "syslog",
            InputFormat::Evtx => "evtx",
        }
    }

    /// The format of `line`: `self`, or [`sniff`]'s answer when `self` is `Auto`.
    pub fn resolve(self, line: &[u8]) -> InputFormat {
        match self {
            InputFormat::Auto => sniff(line),
            fixed => fixed,
        }
    }
}

/// Guesses the format of one line from its bytes; never returns [`InputFormat::Auto`].
pub fn sniff(line: &[u8]) -> InputFormat {
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    let start = line.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(line.len());
    let body = &line[start..];
    match body.first() {
        Some(b'{') => {
            if has_windows_key(body) {
                InputFormat::Evtx
            } else {
                InputFormat::Ecs
            }
        }
        Some(b'[') => InputFormat::Ecs,
        _ => InputFormat::Syslog,
    }
}

/// Whether `"Event"` or `"winlog"` occurs as a key (followed by optional whitespace and `:`), or
/// a dotted `"winlog.…"` key occurs — in one pass. Every occurrence starts with a quote followed
/// by `E` or `w`, bytes that are rare in ECS documents: `memchr2` finds them (vectorised), and only
/// those are checked.
pub(crate) fn has_windows_key(hay: &[u8]) -> bool {
    let Some(rest) = hay.get(1..) else {
        return false;
    };
    memchr::memchr2_iter(b'E', b'w', rest).any(|p| {
        // `p` indexes `rest`: the candidate is at `p + 1` in `hay`, its quote at `p`.
        let at = &hay[p..];
        at[0] == b'"'
            && match at[1] {
                b'E' => key_at(at, b"\"Event\""),
                _ => at.starts_with(b"\"winlog.") || key_at(at, b"\"winlog\""),
            }
    })
}

/// Whether `at` starts with `quoted` followed by optional whitespace and `:`.
fn key_at(at: &[u8], quoted: &[u8]) -> bool {
    at.starts_with(quoted) && at[quoted.len()..].iter().find(|c| !c.is_ascii_whitespace()) == Some(&b':')
}

/// Whether any byte of `x` is zero (exact as a yes/no answer).
/// The reference implementation of [`has_windows_key`] (three scans), kept for the tests.
#[cfg(test)]
fn has_windows_key_slow(body: &[u8]) -> bool {
    has_key(body, b"\"Event\"") || has_key(body, b"\"winlog\"") || has_dotted_winlog(body)
}

/// Whether `quoted` (a key with its quotes) occurs followed by optional whitespace and `:`.
#[cfg(test)]
fn has_key(hay: &[u8], quoted: &[u8]) -> bool {
    let mut from = 0;
    while let Some(pos) = find(&hay[from..], quoted) {
        let end = from + pos + quoted.len();
        let next = hay[end..].iter().find(|c| !c.is_ascii_whitespace());
        if next == Some(&b':') {
            return true;
        }
        from = from + pos + 1;
    }
    false
}

/// Whether a dotted key `"winlog.…"` occurs.
#[cfg(test)]
fn has_dotted_winlog(hay: &[u8]) -> bool {
    find(hay, b"\"winlog.").is_some()
}

/// The first position of `needle` in `hay`.
#[cfg(test)]
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = hay.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        match hay[i..=last_start].iter().position(|&c| c == first) {
            None => return None,
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_shape() {
        assert_eq!(sniff(br#"{"Event":{"System":{"EventID":4624}}}"#), InputFormat::Evtx);
        assert_eq!(
            sniff(br#"  {"@timestamp":"x", "winlog" : {"event_id":"4624"}}"#),
            InputFormat::Evtx
        );
        assert_eq!(
            sniff(br#"{"@timestamp":"x","winlog.event_id":4624}"#),
            InputFormat::Evtx
        );
        assert_eq!(
            sniff(br#"{"@timestamp":"x","message":"Event","user":{"name":"winlog"}}"#),
            InputFormat::Ecs
        );
        assert_eq!(sniff(b"\xef\xbb\xbf{\"a\":1}"), InputFormat::Ecs);
        assert_eq!(sniff(b"[1,2]"), InputFormat::Ecs);
        assert_eq!(
            sniff(b"Mar  4 07:01:02 host sshd[123]: Accepted password for a from 1.2.3.4 port 1 ssh2"),
            InputFormat::Syslog
        );
        assert_eq!(
            sniff(b"<34>1 2026-03-04T07:01:02.123Z host sshd 123 - - x"),
            InputFormat::Syslog
        );
        assert_eq!(sniff(b""), InputFormat::Syslog);
        assert_eq!(sniff(b"{"), InputFormat::Ecs);
        assert_eq!(sniff(b"{\"Event\""), InputFormat::Ecs);
    }

    #[test]
    fn resolve_and_serde() {
        assert_eq!(InputFormat::Auto.resolve(b"{}"), InputFormat::Ecs);
        assert_eq!(InputFormat::Syslog.resolve(b"{}"), InputFormat::Syslog);
        assert_eq!(serde_json::to_string(&InputFormat::Evtx).unwrap(), "\"evtx\"");
        let f: InputFormat = serde_json::from_str("\"auto\"").unwrap();
        assert_eq!(f, InputFormat::Auto);
        assert_eq!(InputFormat::default(), InputFormat::Auto);
        for f in [
            InputFormat::Auto,
            InputFormat::Ecs,
            InputFormat::Syslog,
            InputFormat::Evtx,
        ] {
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.as_str()));
        }
    }

    #[test]
    fn find_edges() {
        assert_eq!(find(b"abc", b"c"), Some(2));
        assert_eq!(find(b"abc", b"abcd"), None);
        assert_eq!(find(b"aab", b"ab"), Some(1));
        assert_eq!(find(b"", b"a"), None);
        let mut seed = 7u64;
        for _ in 0..5_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let len = (seed >> 58) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| b"{\"Event:winlog. "[((seed >> (i % 48)) % 15) as usize])
                .collect();
            let _ = sniff(&bytes);
        }
    }

    #[test]
    fn one_pass_agrees_with_three_scans() {
        // Random lines over an alphabet dense in the needles' bytes, plus every needle at every
        // offset of a short line (the 8-byte skip must not jump over an occurrence).
        let alphabet = b"{\"Event:winlog. EwW\t\n}";
        let mut seed = 11u64;
        for _ in 0..200_000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1442695040888963407);
            let len = 1 + (seed >> 57) as usize;
            let mut s = seed;
            let mut bytes = vec![b'{'];
            for _ in 0..len {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                bytes.push(alphabet[(s >> 59) as usize % alphabet.len()]);
            }
            assert_eq!(has_windows_key(&bytes), has_windows_key_slow(&bytes), "{bytes:?}");
        }
        for needle in [
            &b"\"Event\":"[..],
            b"\"Event\"  :",
            b"\"Event\" x:",
            b"\"winlog\":",
            b"\"winlog\"\t:",
            b"\"winlog.",
            b"\"winlog",
            b"\"Even",
        ] {
            for pad in 0..24 {
                for tail in 0..12 {
                    let mut line = vec![b'{'];
                    line.extend(std::iter::repeat_n(b'a', pad));
                    line.extend_from_slice(needle);
                    line.extend(std::iter::repeat_n(b'b', tail));
                    assert_eq!(has_windows_key(&line), has_windows_key_slow(&line), "{line:?}");
                }
            }
        }
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/org-demo.ndjson");
        let demo = std::fs::read_to_string(demo).unwrap_or_default();
        for line in demo.lines().take(5_000) {
            assert_eq!(has_windows_key(line.as_bytes()), has_windows_key_slow(line.as_bytes()));
        }
    }
}
