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
            if has_key(body, b"\"Event\"") || has_key(body, b"\"winlog\"") || has_dotted_winlog(body) {
                InputFormat::Evtx
            } else {
                InputFormat::Ecs
            }
        }
        Some(b'[') => InputFormat::Ecs,
        _ => InputFormat::Syslog,
    }
}

/// Whether `quoted` (a key with its quotes) occurs followed by optional whitespace and `:`.
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
fn has_dotted_winlog(hay: &[u8]) -> bool {
    find(hay, b"\"winlog.").is_some()
}

/// The first position of `needle` in `hay`.
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
}
