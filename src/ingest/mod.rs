//! Ingest: bytes or JSON values to [`AuthEvent`]s, or counted, explained rejections.

pub mod detect;
mod ecs;
mod key_trie;
mod shape_cache;
pub mod syslog;
pub mod windows;

pub use ecs::{event_from_json, event_from_json_value};
pub(crate) use ecs::{event_from_json_unknown_layout, LineShapes};
pub(crate) use shape_cache::same_bytes;

use crate::event::{AuthEvent, LineEvent};

/// Why an input line was not accepted. Every rejection is counted by reason in
/// [`crate::Stats::rejected_by_reason`] and, in verdict output, reported with its line number.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line is not valid JSON (or nests deeper than the parser's limit of 128).
    InvalidJson,
    /// The line is JSON but not an object.
    NotAnObject,
    /// No `@timestamp` (or `timestamp`) field.
    MissingTimestamp,
    /// `@timestamp` present but not RFC 3339 or epoch milliseconds.
    InvalidTimestamp,
    /// The line is longer than the configured maximum (`max_line_bytes`).
    LineTooLong,
    /// The event's bucket is older than the open bucket by more than the allowed lateness.
    TooLate,
    /// The event is further in the future than the allowed clock step (`max_clock_step`).
    TooFarInFuture,
    /// A raw log line with no RFC 3164, RFC 5424 or ISO 8601 syslog prefix.
    InvalidSyslog,
}

impl RejectReason {
    /// A short sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            RejectReason::InvalidUtf8 => "line is not valid UTF-8",
            RejectReason::InvalidJson => "line is not valid JSON",
            RejectReason::NotAnObject => "JSON value is not an object",
            RejectReason::MissingTimestamp => "no @timestamp field",
            RejectReason::InvalidTimestamp => "@timestamp is not RFC 3339 or epoch milliseconds",
            RejectReason::LineTooLong => "line exceeds max_line_bytes",
            RejectReason::TooLate => "event is older than the open bucket by more than max_lateness",
            RejectReason::TooFarInFuture => "event is further ahead of the stream clock than max_clock_step",
            RejectReason::InvalidSyslog => "line has no RFC 3164, RFC 5424 or ISO 8601 syslog prefix",
        }
    }

    /// The snake_case code used in stats.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::InvalidJson => "invalid_json",
            RejectReason::NotAnObject => "not_an_object",
            RejectReason::MissingTimestamp => "missing_timestamp",
            RejectReason::InvalidTimestamp => "invalid_timestamp",
            RejectReason::LineTooLong => "line_too_long",
            RejectReason::TooLate => "too_late",
            RejectReason::TooFarInFuture => "too_far_in_future",
            RejectReason::InvalidSyslog => "invalid_syslog",
        }
    }
}

/// A rejected input line: where and why.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct Rejection {
    /// 1-based line number within the stream given to the detector (counting across calls).
    pub line: u64,
    /// Why it was rejected.
    pub reason: RejectReason,
}

/// Parses one NDJSON line (ECS JSON, nested or dotted keys).
pub fn parse_line(line: &[u8]) -> Result<AuthEvent, RejectReason> {
    let mut event = LineEvent::default();
    parse_line_into(line, &mut event, None)?;
    Ok(event.event)
}

/// [`parse_line`] into `event`, reusing its strings (the detector keeps one event per stream),
/// and, given a stream's `shapes`, reading a line of a known layout at its known places.
pub(crate) fn parse_line_into(
    line: &[u8],
    event: &mut LineEvent,
    shapes: Option<&mut LineShapes>,
) -> Result<(), RejectReason> {
    ecs::event_from_json_into(line_text(line)?, event, shapes)
}

/// A line as text, or [`RejectReason::InvalidUtf8`]. Validated with SIMD: on this crate's
/// inputs the validation of each whole line was ~3 % of all the detector's instructions with
/// `std::str::from_utf8`.
pub(crate) fn line_text(line: &[u8]) -> Result<&str, RejectReason> {
    simdutf8::basic::from_utf8(line).map_err(|_| RejectReason::InvalidUtf8)
}

/// The text of `line`, a part of `chunk`, when `chunk_text` is `chunk` as text (so `chunk` was
/// valid UTF-8): `chunk_text`'s slice of it, without validating the line again. A line cut from
/// valid text at ASCII bytes (`\n`, `\r`) is valid text; the validation of a whole chunk costs
/// less than that of its lines one by one (~80 instructions a line saved, the SIMD loop's set-up
/// and tail). `None` when `chunk_text` is, or `line` is not a part of `chunk`.
pub(crate) fn text_within<'a>(chunk_text: Option<&'a str>, chunk: &[u8], line: &[u8]) -> Option<&'a str> {
    let text = chunk_text.filter(|text| std::ptr::eq(text.as_ptr(), chunk.as_ptr()))?;
    let start = (line.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize)?;
    text.get(start..start.checked_add(line.len())?)
}

/// [`parse_line`] for the lines of one stream: it keeps the layouts of recent lines (up to four)
/// and reads a line of a known layout by comparing the text between its values and reading only
/// the values. Same answers as [`parse_line`], line for line; the detector parses its NDJSON
/// input this way.
///
/// ```
/// use auth_anomaly::ingest::LineParser;
///
/// let mut parser = LineParser::new();
/// for (second, user) in [(1, "alice"), (2, "bob")] {
///     let line = format!(r#"{{"@timestamp":"2026-10-01T00:00:0{second}Z","user":{{"name":"{user}"}}}}"#);
///     let event = parser.parse(line.as_bytes()).expect("an ECS line");
///     assert_eq!(event.user_name, user);
/// }
/// assert_eq!(parser.shape_hits(), 1); // the second line was read through the first one's layout
/// ```
#[derive(Debug, Default)]
pub struct LineParser {
    event: LineEvent,
    shapes: LineShapes,
}

impl LineParser {
    /// A parser that knows no layout yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one NDJSON line, as [`parse_line`] does.
    pub fn parse(&mut self, line: &[u8]) -> Result<&AuthEvent, RejectReason> {
        parse_line_into(line, &mut self.event, Some(&mut self.shapes))?;
        Ok(&self.event.event)
    }

    /// Lines read through a known layout so far.
    pub fn shape_hits(&self) -> u64 {
        self.shapes.hits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_of_a_valid_chunk_is_its_slice_of_the_chunks_text() {
        let chunk = "{\"a\":\"é\"}\r\n\n{}\nlast".as_bytes();
        let text = line_text(chunk).ok();
        for line in chunk.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            assert_eq!(text_within(text, chunk, line), line_text(line).ok());
            assert_eq!(text_within(None, chunk, line), None);
        }
        // Not a part of the chunk (an equal copy elsewhere), or another chunk's text.
        let copy = chunk.to_vec();
        assert_eq!(text_within(text, chunk, &copy[..4]), None);
        assert_eq!(text_within(text, &copy, &copy[..4]), None);
    }
    use crate::ingest::windows::{winlogbeat_event_from_text, winlogbeat_event_into};

    /// Lines with different sets of fields, so that reusing one event across them would show any
    /// field left over from the line before.
    const ECS_LINES: [&str; 6] = [
        r#"{"@timestamp":"2026-10-01T00:00:52.629Z","event":{"category":["authentication"],"action":"ssh_login","outcome":"success","dataset":"system.auth"},"user":{"name":"svc-etl","domain":"CORP"},"source":{"ip":"10.10.0.13","port":50122},"host":{"name":"srv-app-02"},"process":{"name":"sshd","pid":4242},"system":{"auth":{"ssh":{"method":"publickey"}}},"winlog":{"event_data":{"LogonType":"10"}},"event.id":"abc"}"#,
        r#"{"@timestamp":"2026-10-01T00:01:00Z","user.name":"bob"}"#,
        r#"{"@timestamp":1790000000000,"event.outcome":"failure","source.ip":"2001:db8::1","host.hostname":"h2","data_stream.dataset":"system.security","source.port":"22"}"#,
        r#"{"@timestamp":"2026-10-01T00:02:00Z","event":{"action":"authenticated"},"user":{"name":"root","effective":{"name":"alice"}},"process.pid":"x"}"#,
        r#"{"@timestamp":"2026-10-01T00:03:00Z","user":{"name":"esc\u0061ped"},"host":{"name":""}}"#,
        r#"{"@timestamp":"2026-10-01T00:04:00Z","user":{"name":"dup"},"user.name":"dup2","user":{"name":"dup3"}}"#,
    ];

    #[test]
    fn a_reused_event_holds_only_the_last_lines_fields() {
        for first in ECS_LINES {
            for second in ECS_LINES {
                let mut reused = LineEvent::default();
                let _ = parse_line_into(first.as_bytes(), &mut reused, None);
                let fresh = parse_line(second.as_bytes());
                let again = parse_line_into(second.as_bytes(), &mut reused, None).map(|()| reused.event.clone());
                assert_eq!(again, fresh, "{first}\nthen\n{second}");
            }
        }
    }

    #[test]
    fn a_reused_event_across_formats_holds_only_the_last_lines_fields() {
        let windows = r#"{"@timestamp":"2026-10-01T00:05:00Z","event":{"code":"4624"},"winlog":{"event_id":4624,"computer_name":"dc01","event_data":{"TargetUserName":"carol","TargetDomainName":"CORP","IpAddress":"10.1.2.3","IpPort":"51000","LogonType":"3","ProcessName":"C:\\Windows\\System32\\lsass.exe"}}}"#;
        let fresh = winlogbeat_event_from_text(windows).expect("fast path answers");
        for ecs in ECS_LINES {
            let mut reused = LineEvent::default();
            let _ = parse_line_into(ecs.as_bytes(), &mut reused, None);
            let again = winlogbeat_event_into(windows, &mut reused)
                .expect("fast path answers")
                .map(|is_logon| is_logon.then(|| reused.event.clone()));
            assert_eq!(again, fresh, "after {ecs}");
            let _ = winlogbeat_event_into(windows, &mut reused);
            assert_eq!(
                parse_line_into(ecs.as_bytes(), &mut reused, None).map(|()| reused.event.clone()),
                parse_line(ecs.as_bytes())
            );
        }
    }
}
