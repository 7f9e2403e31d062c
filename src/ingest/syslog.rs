//! Raw Linux authentication syslog (sshd, PAM, su, sudo) to [`AuthEvent`]s, with the semantics of
//! Elastic's `system.auth` ingest pipeline.
//!
//! # Accepted line prefixes
//!
//! - RFC 3164, no year: `Mar  4 07:01:02 host sshd[123]: …` (day space- or zero-padded, optional
//!   fraction of a second, the host may be missing: `Feb 22 10:21:43  sshd[1332]: …`);
//! - ISO 8601 / RFC 3339 (rsyslog's high-precision format):
//!   `2026-03-04T07:01:02.123456+00:00 host sshd[123]: …`;
//! - RFC 5424: `<34>1 2026-03-04T07:01:02.123Z host sshd 123 - - …` (structured data skipped, a
//!   leading BOM in the message dropped);
//! - each of them with or without a `<PRI>` in front (RFC 5424 also without one: `1 2026-…`).
//!
//! The tag is everything up to the first `:` after the host (`sshd[123]`, `sshd(pam_unix)[19939]`,
//! `sudo`); its name becomes `process.name`, as in Elastic's pipeline.
//!
//! # Year inference (RFC 3164)
//!
//! RFC 3164 timestamps carry no year and no zone. The zone is UTC unless
//! [`SyslogParser::with_utc_offset_minutes`] says otherwise. The year is inferred:
//!
//! 1. The first year-less line of a stream takes the year of the parser's reference time
//!    ([`SyslogParser::new`]); if that puts it more than one day after the reference time, it
//!    takes the previous year (a December line read on the 2nd of January is last year's).
//! 2. Every later line takes the year of the last accepted line, except that a January line after
//!    a December line moves the stream into the next year (New Year's rollover), and a December
//!    line after a January line (a straggler from the old year) takes the previous year without
//!    moving the stream back.
//!
//! Lines with a full date (ISO 8601, RFC 5424) anchor the stream's year for the year-less lines
//! that follow them.
//!
//! # Messages that become events
//!
//! | message | outcome | `event.action` |
//! |---|---|---|
//! | `Accepted password\|publickey\|keyboard-interactive/pam\|gssapi-with-mic\|… for USER from ADDR port N ssh2[: …]` | success | `ssh_login` |
//! | `Failed password\|publickey\|none\|… for [invalid user ]USER from ADDR port N ssh2` | failure | `ssh_login` |
//! | `Invalid user USER from ADDR[ port N]` | failure | `ssh_login` |
//! | `message repeated N times: [ <one of the above> ]` | that of the inner message, `repeat` = N | |
//! | PAM `…authentication failure; logname= … rhost=HOST_OR_IP  user=USER` (`pam_unix(sshd:auth)`, `sshd(pam_unix)[…]`, `PAM N more authentication failures;`, also from su, sudo, …) | failure | `authentication_failure` |
//!
//! `USER` may be empty (`Failed password for  from …`); `ADDR` may be IPv4, IPv6, `::ffff:`-mapped
//! (folded to IPv4) or a host name (then there is no `source.ip`). PAM's `rhost` may be a host
//! name or empty, and its `user=` may be missing or empty.
//!
//! Everything else — session open/close, disconnects, `pam_faillock` lockouts, sudo command
//! records, sshd's `Too many authentication failures` summary — is
//! [`SyslogOutcome::NotAuthentication`]: counted as filtered, never rejected. A line whose prefix
//! cannot be parsed is [`SyslogOutcome::Unparsable`].
//!
//! Differences from Elastic's pipeline, deliberate: `message repeated N times: [ … ]` counts as N
//! attempts (Elastic does not parse it); PAM `auth` lines without `authentication failure` (`check
//! pass; user unknown`) are not successes; `pam_faillock` lockouts and `Too many authentication
//! failures` are not additional attempts.

use std::net::IpAddr;

use super::RejectReason;
use crate::event::{AuthEvent, Outcome};
use crate::net::parse_ip;
use crate::time::{epoch_ms, parse_rfc3339_ms, DAY_MS};

/// The largest `repeat` a `message repeated N times` line yields; larger counts are capped so that
/// one hostile line cannot make the caller loop for billions of events.
pub const MAX_REPEAT: u32 = 100_000;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the reference times year inference accepts.
const MIN_REFERENCE_MS: i64 = -62_167_219_200_000;
const MAX_REFERENCE_MS: i64 = 253_402_300_799_999;

/// `event.dataset` of events made from syslog lines.
const DATASET: &str = "system.auth";

/// Why a syslog line could not be parsed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogError {
    /// No recognisable syslog prefix (RFC 3164, RFC 5424 or ISO 8601 timestamp).
    NoHeader,
    /// An RFC 5424 header whose timestamp is the nil value `-`.
    MissingTimestamp,
    /// A timestamp that looks like one but is not a valid date or time.
    InvalidTimestamp,
}

impl SyslogError {
    /// The snake_case code, for stats.
    pub fn code(self) -> &'static str {
        match self {
            SyslogError::NoHeader => "invalid_syslog",
            SyslogError::MissingTimestamp => "missing_timestamp",
            SyslogError::InvalidTimestamp => "invalid_timestamp",
        }
    }

    /// A short sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            SyslogError::NoHeader => "line has no RFC 3164, RFC 5424 or ISO 8601 syslog prefix",
            SyslogError::MissingTimestamp => "RFC 5424 header without a timestamp",
            SyslogError::InvalidTimestamp => "syslog timestamp is not a valid date and time",
        }
    }

    /// The [`RejectReason`] the detector counts this under.
    pub fn reject_reason(self) -> RejectReason {
        match self {
            SyslogError::NoHeader => RejectReason::InvalidSyslog,
            SyslogError::MissingTimestamp => RejectReason::MissingTimestamp,
            SyslogError::InvalidTimestamp => RejectReason::InvalidTimestamp,
        }
    }
}

/// What one syslog line turned out to be.
// Returned by value and consumed at once; boxing the event would allocate for every attempt.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, PartialEq, Debug)]
pub enum SyslogOutcome {
    /// A logon attempt.
    Event {
        /// The normalised event.
        event: AuthEvent,
        /// How many attempts the line stands for: 1, or N for `message repeated N times: [ … ]`
        /// (at most [`MAX_REPEAT`]).
        repeat: u32,
    },
    /// A well-formed line that is not a logon attempt (sessions, sudo commands, other daemons).
    NotAuthentication,
    /// The line's syslog prefix could not be parsed.
    Unparsable(SyslogError),
}

/// A stateful parser for one stream of syslog lines (the state is the year inference; see the
/// module documentation).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SyslogParser {
    /// The time the stream is read relative to (usually "now", or the file's modification time).
    reference_ms: i64,
    /// The time of the last line that set the stream's year.
    last_ms: Option<i64>,
    /// Minutes east of UTC of year-less timestamps.
    utc_offset_min: i32,
}

/// The time in a line's prefix.
enum Stamp {
    /// A full date and time, epoch milliseconds.
    Absolute(i64),
    /// RFC 3164: no year, no zone.
    YearLess {
        month: u32,
        day: u32,
        h: u32,
        mi: u32,
        s: u32,
        ms: u32,
    },
}

/// A parsed syslog prefix.
struct Header<'a> {
    stamp: Stamp,
    host: Option<&'a str>,
    program: Option<&'a str>,
    /// `sshd[123]`'s `123`, or RFC 5424's PROCID when numeric.
    pid: Option<u32>,
    message: &'a str,
}

/// A logon attempt read from a message.
struct Attempt<'a> {
    outcome: Outcome,
    action: &'static str,
    user: &'a str,
    addr: Option<&'a str>,
    method: Option<&'a str>,
    /// `port N` after the address.
    port: Option<u16>,
    repeat: u32,
}

impl SyslogParser {
    /// A parser whose year inference is relative to `reference_ms` (epoch milliseconds; clamped
    /// to the years 0000–9999).
    pub fn new(reference_ms: i64) -> Self {
        SyslogParser {
            reference_ms: reference_ms.clamp(MIN_REFERENCE_MS, MAX_REFERENCE_MS),
            last_ms: None,
            utc_offset_min: 0,
        }
    }

    /// Interprets year-less (RFC 3164) timestamps as local time `minutes` east of UTC (e.g. `60`
    /// for CET). Timestamps with a zone are unaffected. Values beyond ±24 h are clamped.
    pub fn with_utc_offset_minutes(mut self, minutes: i32) -> Self {
        self.utc_offset_min = minutes.clamp(-1440, 1440);
        self
    }

    /// The reference time year inference started from.
    pub fn reference_ms(&self) -> i64 {
        self.reference_ms
    }

    /// Parses one line given as bytes; invalid UTF-8 (e.g. in a user name an attacker typed) is
    /// replaced rather than rejected, so the attempt is still counted.
    pub fn parse_bytes(&mut self, line: &[u8]) -> SyslogOutcome {
        match simdutf8::basic::from_utf8(line) {
            Ok(s) => self.parse(s),
            Err(_) => self.parse(&String::from_utf8_lossy(line)),
        }
    }

    /// Parses one line (a trailing `\r`/`\n` is ignored).
    pub fn parse(&mut self, line: &str) -> SyslogOutcome {
        let line = line.trim_end_matches(['\r', '\n']).trim_start();
        let header = match parse_header(line) {
            Ok(h) => h,
            Err(e) => return SyslogOutcome::Unparsable(e),
        };
        let timestamp_ms = self.resolve_time(&header.stamp);
        let Some(attempt) = classify(header.message) else {
            return SyslogOutcome::NotAuthentication;
        };
        let source_ip: Option<IpAddr> = attempt.addr.and_then(parse_ip);
        let event = AuthEvent {
            timestamp_ms,
            user_name: attempt.user.to_string(),
            user_domain: None,
            source_ip,
            outcome: Some(attempt.outcome),
            host_name: header.host.map(str::to_string),
            is_authentication: true,
            action: Some(attempt.action.to_string()),
            dataset: Some(DATASET.to_string()),
            process_name: header.program.filter(|p| !p.is_empty()).map(str::to_string),
            logon_type: None,
            event_id: None,
            source_port: attempt.port,
            process_pid: header.pid,
            ssh_method: attempt.method.map(str::to_string),
        };
        SyslogOutcome::Event {
            event,
            repeat: attempt.repeat,
        }
    }

    /// Epoch milliseconds of a prefix's time, applying (and advancing) the year inference.
    fn resolve_time(&mut self, stamp: &Stamp) -> i64 {
        let offset_ms = i64::from(self.utc_offset_min) * 60_000;
        match *stamp {
            Stamp::Absolute(ms) => {
                self.last_ms = Some(ms);
                ms
            }
            Stamp::YearLess {
                month,
                day,
                h,
                mi,
                s,
                ms,
            } => {
                let at = |year: i64| epoch_ms(year, month, day, h, mi, s, ms) - offset_ms;
                match self.last_ms {
                    None => {
                        let (year, _) = year_month(self.reference_ms.saturating_add(offset_ms));
                        let mut t = at(year);
                        if t > self.reference_ms.saturating_add(DAY_MS) {
                            t = at(year - 1);
                        }
                        self.last_ms = Some(t);
                        t
                    }
                    Some(last) => {
                        let (year, last_month) = year_month(last.saturating_add(offset_ms));
                        if last_month == 12 && month == 1 {
                            let t = at(year + 1);
                            self.last_ms = Some(t);
                            t
                        } else if last_month == 1 && month == 12 {
                            at(year - 1)
                        } else {
                            let t = at(year);
                            self.last_ms = Some(t);
                            t
                        }
                    }
                }
            }
        }
    }
}

/// (year, month) of epoch milliseconds, UTC.
fn year_month(ms: i64) -> (i64, u32) {
    let (y, m, _) = crate::time::civil_from_days(ms.div_euclid(DAY_MS));
    (y, m)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Parses `b` as 1–9 ASCII digits.
fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0')))
}

/// Splits off the first space-delimited token (after skipping leading spaces).
fn token(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches(' ');
    match s.find(' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

/// Strips `<PRI>` (1–3 digits).
fn strip_pri(s: &str) -> Option<&str> {
    let rest = s.strip_prefix('<')?;
    let end = rest.find('>')?;
    if (1..=3).contains(&end) && rest.as_bytes()[..end].iter().all(u8::is_ascii_digit) {
        Some(&rest[end + 1..])
    } else {
        None
    }
}

/// Strips an RFC 5424 `VERSION ` (1–2 digits and a space, followed by a timestamp or `-`).
fn strip_5424_version(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=2).contains(&digits) || b.get(digits) != Some(&b' ') {
        return None;
    }
    let rest = &s[digits + 1..];
    let rb = rest.as_bytes();
    let looks_like_time = rb.len() >= 5 && rb[..4].iter().all(u8::is_ascii_digit) && rb[4] == b'-';
    let nil = rb.first() == Some(&b'-') && (rb.len() == 1 || rb[1] == b' ');
    (looks_like_time || nil).then_some(rest)
}

fn parse_header(line: &str) -> Result<Header<'_>, SyslogError> {
    let rest = match strip_pri(line) {
        Some(r) => r,
        None if line.starts_with('<') => return Err(SyslogError::NoHeader),
        None => line,
    };
    if let Some(r) = strip_5424_version(rest) {
        return parse_5424(r);
    }
    let b = rest.as_bytes();
    let (stamp, after) = if b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
        let (ts, after) = token(rest);
        let ms = parse_rfc3339_ms(ts).ok_or(SyslogError::InvalidTimestamp)?;
        (Stamp::Absolute(ms), after)
    } else {
        parse_3164_stamp(rest)?
    };
    Ok(split_host_tag(after, stamp))
}

/// `Mmm dd HH:MM:SS[.fff]` followed by a space or the end of the line.
fn parse_3164_stamp(s: &str) -> Result<(Stamp, &str), SyslogError> {
    let b = s.as_bytes();
    let month_name = b.get(..3).ok_or(SyslogError::NoHeader)?;
    let month = MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(month_name))
        .ok_or(SyslogError::NoHeader)? as u32
        + 1;
    if b.get(3) != Some(&b' ') {
        return Err(SyslogError::NoHeader);
    }
    let mut i = 4;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let day_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let day = num(&b[day_start..i]).ok_or(SyslogError::NoHeader)?;
    if b.get(i) != Some(&b' ') {
        return Err(SyslogError::NoHeader);
    }
    i += 1;
    let clock = b.get(i..i + 8).ok_or(SyslogError::NoHeader)?;
    if clock[2] != b':' || clock[5] != b':' {
        return Err(SyslogError::NoHeader);
    }
    let h = num(&clock[0..2]).ok_or(SyslogError::NoHeader)?;
    let mi = num(&clock[3..5]).ok_or(SyslogError::NoHeader)?;
    let sec = num(&clock[6..8]).ok_or(SyslogError::NoHeader)?;
    i += 8;
    let mut ms = 0u32;
    if matches!(b.get(i), Some(b'.') | Some(b',')) {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                ms = ms * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err(SyslogError::InvalidTimestamp);
        }
        for _ in n..3 {
            ms *= 10;
        }
    }
    match b.get(i) {
        None | Some(b' ') => {}
        _ => return Err(SyslogError::NoHeader),
    }
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return Err(SyslogError::InvalidTimestamp);
    }
    let stamp = Stamp::YearLess {
        month,
        day,
        h,
        mi,
        s: sec.min(59),
        ms,
    };
    Ok((stamp, s.get(i + 1..).unwrap_or("")))
}

/// After a BSD-style timestamp and its space: `HOST TAG: MSG`, `TAG: MSG` (no host) or ` TAG: MSG`
/// (empty host).
fn split_host_tag(after: &str, stamp: Stamp) -> Header<'_> {
    let (host, rest) = if after.starts_with(' ') {
        (None, after.trim_start_matches(' '))
    } else {
        let (tok, rest) = token(after);
        if tok.ends_with(':') && !tok.is_empty() {
            // No host: the first token is already the tag.
            (None, after)
        } else {
            (Some(tok).filter(|h| !h.is_empty() && *h != "-"), rest)
        }
    };
    let ((program, pid), message) = match rest.find(':') {
        Some(i) => {
            let (name, pid) = split_tag(&rest[..i]);
            ((Some(name), pid), rest[i + 1..].trim_start())
        }
        None => ((None, None), rest.trim_start()),
    };
    Header {
        stamp,
        host,
        program,
        pid,
        message,
    }
}

/// A tag's name and process id: `sshd[123]` → (`sshd`, 123); `CRON` → (`CRON`, none).
fn split_tag(tag: &str) -> (&str, Option<u32>) {
    let tag = tag.trim();
    if let Some(stripped) = tag.strip_suffix(']') {
        if let Some(open) = stripped.rfind('[') {
            let digits = &stripped[open + 1..];
            if digits.bytes().all(|c| c.is_ascii_digit()) {
                return (&stripped[..open], digits.parse().ok());
            }
        }
    }
    (tag, None)
}

/// After `<PRI>VERSION `: `TIMESTAMP HOST APP PROCID MSGID SD [MSG]`, each `-` when nil.
fn parse_5424(rest: &str) -> Result<Header<'_>, SyslogError> {
    let (ts, rest) = token(rest);
    let stamp = match ts {
        "-" => return Err(SyslogError::MissingTimestamp),
        _ => Stamp::Absolute(parse_rfc3339_ms(ts).ok_or(SyslogError::InvalidTimestamp)?),
    };
    let (host, rest) = token(rest);
    let (app, rest) = token(rest);
    let (procid, rest) = token(rest);
    let (_msgid, rest) = token(rest);
    let rest = skip_structured_data(rest.trim_start_matches(' '));
    let message = rest.strip_prefix(' ').unwrap_or(rest);
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    Ok(Header {
        stamp,
        host: (!is_nil(host)).then_some(host),
        program: (!is_nil(app)).then_some(app),
        pid: procid.parse().ok(),
        message: message.trim_start(),
    })
}

/// An RFC 5424 NILVALUE (or a missing field).
fn is_nil(field: &str) -> bool {
    field.is_empty() || field == "-"
}

/// Skips RFC 5424 STRUCTURED-DATA: `-` or one or more `[id k="v" …]` elements (quoted values may
/// contain escaped `\]` and `\"`).
fn skip_structured_data(s: &str) -> &str {
    if let Some(r) = s.strip_prefix('-') {
        return r;
    }
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut in_quotes = false;
        i += 1;
        loop {
            match b.get(i) {
                None => return "",
                Some(b'\\') => i += 2,
                Some(b'"') => {
                    in_quotes = !in_quotes;
                    i += 1;
                }
                Some(b']') if !in_quotes => {
                    i += 1;
                    break;
                }
                Some(_) => i += 1,
            }
        }
    }
    // `i` is at an ASCII byte (after `]`) or the end.
    s.get(i..).unwrap_or("")
}

/// Reads a logon attempt from a message body; `None` when the message is not one.
fn classify(msg: &str) -> Option<Attempt<'_>> {
    if let Some(rest) = msg.strip_prefix("message repeated ") {
        let (n, rest) = rest.split_once(' ')?;
        let n: u32 = n.parse().ok()?;
        let inner = rest.strip_prefix("times: [")?.trim();
        let inner = inner.strip_suffix(']').unwrap_or(inner).trim();
        let mut attempt = classify(inner)?;
        attempt.repeat = n.clamp(1, MAX_REPEAT);
        return Some(attempt);
    }
    if let Some(rest) = msg.strip_prefix("Accepted ") {
        return ssh_method_line(rest, Outcome::Success);
    }
    if let Some(rest) = msg.strip_prefix("Failed ") {
        return ssh_method_line(rest, Outcome::Failure);
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        let (user, addr, tail) = user_from_addr(rest, false)?;
        return Some(Attempt {
            outcome: Outcome::Failure,
            action: "ssh_login",
            user,
            addr: Some(addr),
            method: None,
            port: port_of(tail),
            repeat: 1,
        });
    }
    if msg.contains("authentication failure;") || msg.contains("authentication failures;") {
        return Some(pam_failure(msg));
    }
    None
}

/// `METHOD for [invalid user ]USER from ADDR port N ssh2[: …]` after `Accepted `/`Failed `.
fn ssh_method_line(rest: &str, outcome: Outcome) -> Option<Attempt<'_>> {
    let (method, rest) = rest.split_once(' ')?;
    if method.is_empty() {
        return None;
    }
    let rest = rest.strip_prefix("for ")?;
    let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
    let (user, addr, tail) = user_from_addr(rest, true)?;
    Some(Attempt {
        outcome,
        action: "ssh_login",
        user,
        addr: Some(addr),
        method: Some(method),
        port: port_of(tail),
        repeat: 1,
    })
}

/// The `N` of a ` port N…` tail; `None` when absent or not a port number.
fn port_of(tail: &str) -> Option<u16> {
    let digits = tail.strip_prefix(" port ")?;
    let end = digits.bytes().position(|c| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Splits `USER from ADDR[ port N]…` at the first ` from ` whose address is plausible and is
/// followed by ` port N` (or, unless `need_port`, by the end of the message), much as Elastic's
/// lazy grok does. An empty user is allowed
/// (`USER` is empty when `rest` starts with ` from `).
fn user_from_addr(rest: &str, need_port: bool) -> Option<(&str, &str, &str)> {
    let mut search = 0;
    while let Some(pos) = rest.get(search..).and_then(|r| r.find(" from ")) {
        let at = search + pos;
        let user = &rest[..at];
        let after = &rest[at + " from ".len()..];
        let (addr, tail) = match after.find(' ') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        let port_ok = match tail.strip_prefix(" port ") {
            Some(p) => p.bytes().next().is_some_and(|c| c.is_ascii_digit()),
            None => !need_port && tail.trim().is_empty(),
        };
        if is_host_or_ip(addr) && port_ok {
            return Some((user, addr, tail));
        }
        search = at + 1;
    }
    None
}

/// Whether a token can be an address or a host name (Elastic's `IPORHOST`, loosely).
fn is_host_or_ip(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'_' | b'%' | b'[' | b']'))
}

/// A PAM `authentication failure; … rhost=X  user=Y` line.
fn pam_failure(msg: &str) -> Attempt<'_> {
    let kv = msg.split_once(';').map_or("", |(_, kv)| kv);
    let rhost = kv
        .split_whitespace()
        .find_map(|t| t.strip_prefix("rhost="))
        .filter(|h| !h.is_empty());
    // `user=` is PAM's last field; `ruser=` must not match, so require whitespace before it.
    let user = kv
        .match_indices("user=")
        .filter(|(i, _)| kv[..*i].ends_with(char::is_whitespace))
        .last()
        .map_or("", |(i, _)| kv[i + "user=".len()..].trim());
    Attempt {
        outcome: Outcome::Failure,
        action: "authentication_failure",
        user,
        addr: rhost,
        method: None,
        port: None,
        repeat: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_rfc3339_ms;

    fn ref_2026() -> i64 {
        parse_rfc3339_ms("2026-03-05T12:00:00Z").unwrap()
    }

    fn event(p: &mut SyslogParser, line: &str) -> (AuthEvent, u32) {
        match p.parse(line) {
            SyslogOutcome::Event { event, repeat } => (event, repeat),
            other => panic!("{line}: {other:?}"),
        }
    }

    fn ts(ms: i64) -> String {
        format_rfc3339_ms(ms)
    }

    #[test]
    fn rfc3164_accepted_publickey() {
        let mut p = SyslogParser::new(ref_2026());
        let (e, n) = event(
            &mut p,
            "Mar  4 07:01:02 host1 sshd[123]: Accepted publickey for alice from 10.1.2.3 port 52059 ssh2: RSA SHA256:abc",
        );
        assert_eq!(n, 1);
        assert_eq!(ts(e.timestamp_ms), "2026-03-04T07:01:02.000Z");
        assert_eq!(e.user_name, "alice");
        assert_eq!(e.source_ip, parse_ip("10.1.2.3"));
        assert_eq!(e.outcome, Some(Outcome::Success));
        assert_eq!(e.host_name.as_deref(), Some("host1"));
        assert_eq!(e.process_name.as_deref(), Some("sshd"));
        assert_eq!(e.action.as_deref(), Some("ssh_login"));
        assert!(e.is_authentication);
        assert_eq!(e.ssh_method.as_deref(), Some("publickey"));
        assert_eq!((e.source_port, e.process_pid), (Some(52059), Some(123)));
    }

    #[test]
    fn rfc5424_and_iso_prefixes() {
        let mut p = SyslogParser::new(0);
        let (e, _) = event(
            &mut p,
            "<34>1 2026-03-04T07:01:02.123Z host2 sshd 123 - - Failed password for root from 203.0.113.9 port 22 ssh2",
        );
        assert_eq!(ts(e.timestamp_ms), "2026-03-04T07:01:02.123Z");
        assert_eq!(e.host_name.as_deref(), Some("host2"));
        assert_eq!(e.process_name.as_deref(), Some("sshd"));
        assert_eq!(e.outcome, Some(Outcome::Failure));
        assert_eq!(e.ssh_method.as_deref(), Some("password"));
        assert_eq!((e.source_port, e.process_pid), (Some(22), Some(123)));

        let (e, _) = event(
            &mut p,
            "<38>1 2026-03-04T07:01:02+01:00 h sshd - - [meta x=\"a\\]b\"][o y=\"2\"] \u{feff}Accepted password for bob from 2001:db8::7 port 1 ssh2",
        );
        assert_eq!(ts(e.timestamp_ms), "2026-03-04T06:01:02.000Z");
        assert_eq!(e.user_name, "bob");
        assert_eq!(e.source_ip, parse_ip("2001:db8::7"));

        let (e, _) = event(
            &mut p,
            "2026-03-04T07:01:02.123456+00:00 host3 sshd[123]: Invalid user admin from 198.51.100.4 port 4000",
        );
        assert_eq!(ts(e.timestamp_ms), "2026-03-04T07:01:02.123Z");
        assert_eq!(e.host_name.as_deref(), Some("host3"));
        assert_eq!(e.user_name, "admin");
        assert_eq!(e.outcome, Some(Outcome::Failure));

        let (e, _) = event(
            &mut p,
            "<86>Mar  4 07:01:02 host4 sshd[9]: Failed none for invalid user x from 198.51.100.4 port 4 ssh2",
        );
        assert_eq!(e.host_name.as_deref(), Some("host4"));
        assert_eq!(e.user_name, "x");
        // The ISO line before anchored the year.
        assert_eq!(ts(e.timestamp_ms), "2026-03-04T07:01:02.000Z");
    }

    #[test]
    fn year_inference_reference_and_rollover() {
        // Read on 2 January 2027: a 31 December line is from 2026.
        let reference = parse_rfc3339_ms("2027-01-02T00:00:00Z").unwrap();
        let mut p = SyslogParser::new(reference);
        let l1 = "Dec 31 23:59:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2";
        let l2 = "Jan  1 00:01:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2";
        let (e1, _) = event(&mut p, l1);
        let (e2, _) = event(&mut p, l2);
        assert_eq!(ts(e1.timestamp_ms), "2026-12-31T23:59:00.000Z");
        assert_eq!(ts(e2.timestamp_ms), "2027-01-01T00:01:00.000Z");
        assert_eq!(e2.timestamp_ms - e1.timestamp_ms, 120_000);
        // A late December straggler goes to the old year without moving the stream back.
        let (e3, _) = event(&mut p, l1);
        assert_eq!(ts(e3.timestamp_ms), "2026-12-31T23:59:00.000Z");
        let (e4, _) = event(&mut p, l2);
        assert_eq!(ts(e4.timestamp_ms), "2027-01-01T00:01:00.000Z");

        // Read in March with an old reference in the same year: the year is the reference's.
        let mut p = SyslogParser::new(ref_2026());
        let (e, _) = event(&mut p, l1);
        assert_eq!(ts(e.timestamp_ms), "2025-12-31T23:59:00.000Z");
        let (e, _) = event(&mut p, l2);
        assert_eq!(ts(e.timestamp_ms), "2026-01-01T00:01:00.000Z");

        // Less than a day ahead of the reference stays in the reference's year (clock skew);
        // more than a day ahead is last year's.
        let line = |d: u32| format!("Mar  {d} 01:00:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2");
        let (e, _) = event(&mut SyslogParser::new(ref_2026()), &line(6));
        assert_eq!(ts(e.timestamp_ms), "2026-03-06T01:00:00.000Z");
        let (e, _) = event(&mut SyslogParser::new(ref_2026()), &line(7));
        assert_eq!(ts(e.timestamp_ms), "2025-03-07T01:00:00.000Z");
    }

    #[test]
    fn utc_offset_for_yearless_lines() {
        let mut p = SyslogParser::new(ref_2026()).with_utc_offset_minutes(60);
        let (e, _) = event(
            &mut p,
            "Mar  4 07:01:02 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2",
        );
        assert_eq!(ts(e.timestamp_ms), "2026-03-04T06:01:02.000Z");
    }

    #[test]
    fn message_repeated() {
        let mut p = SyslogParser::new(ref_2026());
        let (e, n) = event(
            &mut p,
            "Dec 10 07:13:56 LabSZ sshd[24227]: message repeated 3 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]",
        );
        assert_eq!(n, 3);
        assert_eq!(e.user_name, "root");
        assert_eq!(e.source_ip, parse_ip("5.36.59.76"));
        assert_eq!(e.outcome, Some(Outcome::Failure));
        let (_, n) = event(
            &mut p,
            "Dec 10 07:13:56 h sshd[1]: message repeated 4294967295 times: [ Failed password for root from 5.36.59.76 port 1 ssh2 ]",
        );
        assert_eq!(n, MAX_REPEAT);
        assert_eq!(
            p.parse("Dec 10 07:13:56 h sshd[1]: message repeated 2 times: [ Received disconnect from 1.2.3.4]"),
            SyslogOutcome::NotAuthentication
        );
        assert_eq!(
            p.parse("Feb 22 10:21:43  sshd[1332]: last message repeated 2 times"),
            SyslogOutcome::NotAuthentication
        );
    }

    #[test]
    fn ipv6_and_mapped_addresses() {
        let mut p = SyslogParser::new(ref_2026());
        let (e, _) = event(
            &mut p,
            "Mar  4 07:01:02 h sshd[1]: Accepted keyboard-interactive/pam for carol from fe80::1%eth0 port 5 ssh2",
        );
        assert_eq!(e.source_ip, parse_ip("fe80::1"));
        assert_eq!(e.ssh_method.as_deref(), Some("keyboard-interactive/pam"));
        let (e, _) = event(
            &mut p,
            "Mar  4 07:01:02 h sshd[1]: Accepted gssapi-with-mic for dave from ::ffff:192.0.2.10 port 5 ssh2",
        );
        assert_eq!(e.source_ip, "192.0.2.10".parse().ok());
        let (e, _) = event(&mut p, "Mar  4 07:01:02 h sshd[1]: Invalid user eve from 2001:db8::1");
        assert_eq!(e.source_ip, parse_ip("2001:db8::1"));
        // A host name (UseDNS yes) gives no source IP.
        let (e, _) = event(
            &mut p,
            "Mar  4 07:01:02 h sshd[1]: Failed password for frank from gw.example.net port 5 ssh2",
        );
        assert_eq!(e.user_name, "frank");
        assert_eq!(e.source_ip, None);
    }

    #[test]
    fn empty_and_odd_user_names() {
        let mut p = SyslogParser::new(ref_2026());
        let (e, _) = event(
            &mut p,
            "Mar  4 07:01:02 h sshd[1]: Failed password for  from 192.0.2.1 port 5 ssh2",
        );
        assert_eq!(e.user_name, "");
        assert_eq!(e.source_ip, parse_ip("192.0.2.1"));
        let (e, _) = event(&mut p, "Mar  4 07:01:02 h sshd[1]: Invalid user  from 192.0.2.1 port 5");
        assert_eq!(e.user_name, "");
        let (e, _) = event(
            &mut p,
            "Mar  4 07:01:02 h sshd[1]: Failed password for invalid user  from 192.0.2.1 port 5 ssh2",
        );
        assert_eq!(e.user_name, "");
        // A user name containing " from " splits at the first plausible address.
        let (e, _) = event(
            &mut p,
            "Mar  4 07:01:02 h sshd[1]: Invalid user a from b c from 192.0.2.1 port 5",
        );
        assert_eq!(e.user_name, "a from b c");
        assert_eq!(e.source_ip, parse_ip("192.0.2.1"));
        // Invalid UTF-8 in a user name is replaced, not rejected.
        match p.parse_bytes(b"Mar  4 07:01:02 h sshd[1]: Invalid user \xff\xfe from 192.0.2.1") {
            SyslogOutcome::Event { event, .. } => assert_eq!(event.user_name, "\u{fffd}\u{fffd}"),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn pam_failures() {
        let mut p = SyslogParser::new(ref_2026());
        let (e, n) = event(
            &mut p,
            "Mar 15 10:30:01 webserver sshd[12345]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.5  user=admin",
        );
        assert_eq!((e.user_name.as_str(), n), ("admin", 1));
        assert_eq!(e.source_ip, parse_ip("10.0.0.5"));
        assert_eq!(e.action.as_deref(), Some("authentication_failure"));
        assert_eq!(e.ssh_method.as_deref(), None);
        // Empty rhost: no source; user present.
        let (e, _) = event(
            &mut p,
            "Mar 15 10:30:04 webserver sudo: pam_unix(sudo:auth): authentication failure; logname=jsmith uid=1001 euid=0 tty=/dev/pts/0 ruser=jsmith rhost=  user=jsmith",
        );
        assert_eq!(e.user_name, "jsmith");
        assert_eq!(e.source_ip, None);
        assert_eq!(e.process_name.as_deref(), Some("sudo"));
        // No user at all, trailing space.
        let (e, _) = event(
            &mut p,
            "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
        );
        assert_eq!(e.user_name, "");
        assert_eq!(e.source_ip, parse_ip("218.188.2.4"));
        assert_eq!(e.process_name.as_deref(), Some("sshd(pam_unix)"));
        // Host name in rhost: no source IP.
        let (e, _) = event(
            &mut p,
            "Jun 15 02:04:59 combo sshd(pam_unix)[20882]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root",
        );
        assert_eq!(e.user_name, "root");
        assert_eq!(e.source_ip, None);
        // Empty rhost, nothing after.
        let (e, _) = event(
            &mut p,
            "Jul  1 09:00:55 combo gdm(pam_unix)[2803]: authentication failure; logname= uid=0 euid=0 tty=:0 ruser= rhost= ",
        );
        assert_eq!((e.user_name.as_str(), e.source_ip), ("", None));
        // PAM's summary of further failures.
        let (e, n) = event(
            &mut p,
            "Dec 10 07:13:56 LabSZ sshd[24227]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.36.59.76  user=root",
        );
        assert_eq!((e.user_name.as_str(), n), ("root", 1));
    }

    #[test]
    fn not_authentication() {
        let mut p = SyslogParser::new(ref_2026());
        for line in [
            "Feb 22 10:49:54 precise32 sshd[3007]: pam_unix(sshd:session): session opened for user vagrant by (uid=0)",
            "Feb 21 23:35:33 localhost sudo: vagrant : TTY=pts/0 ; PWD=/home/vagrant ; USER=root ; COMMAND=/bin/ls",
            "Dec 10 06:55:46 LabSZ sshd[24200]: pam_unix(sshd:auth): check pass; user unknown",
            "Dec 10 06:55:46 LabSZ sshd[24200]: input_userauth_request: invalid user webmaster [preauth]",
            "Dec 10 06:55:46 LabSZ sshd[24200]: Disconnecting: Too many authentication failures for admin [preauth]",
            "Apr 24 14:30:40 asferwsdf98 sshd[641839]: pam_faillock(sshd:auth): Consecutive login failures for user test account temporarily locked",
            "Feb 24 00:12:14 precise32 su[4496]: Successful su for tsg by root",
            "<30>1 2023-09-28T12:10:12.175599+02:00 test.lab.com systemd 153589 - - Stopped target Default.",
            "Mar  4 07:01:02 host",
            "Mar  4 07:01:02",
            "Jun 17 04:03:33 combo syslogd 1.4.1: restart.",
            "Mar  4 07:01:02 h sshd[1]: Accepted password for a from 10.0.0.1",
        ] {
            assert_eq!(p.parse(line), SyslogOutcome::NotAuthentication, "{line}");
        }
    }

    #[test]
    fn unparsable_prefixes() {
        let mut p = SyslogParser::new(ref_2026());
        for (line, err) in [
            ("", SyslogError::NoHeader),
            ("{\"a\":1}", SyslogError::NoHeader),
            ("hello world", SyslogError::NoHeader),
            ("<1234>Mar  4 07:01:02 h x: y", SyslogError::NoHeader),
            ("Mar 44 07:01:02 h x: y", SyslogError::InvalidTimestamp),
            ("Mar  4 25:01:02 h x: y", SyslogError::InvalidTimestamp),
            ("Mar  4 07:01 h x: y", SyslogError::NoHeader),
            ("2026-13-04T07:01:02Z h x: y", SyslogError::InvalidTimestamp),
            ("<34>1 - h sshd - - - msg", SyslogError::MissingTimestamp),
        ] {
            assert_eq!(p.parse(line), SyslogOutcome::Unparsable(err), "{line:?}");
        }
        assert_eq!(SyslogError::NoHeader.reject_reason(), RejectReason::InvalidSyslog);
        // Extreme reference times are clamped, not overflowed.
        for r in [i64::MIN, i64::MAX] {
            let mut p = SyslogParser::new(r);
            let line = "Dec 31 23:59:59 h sshd[1]: Invalid user a from 10.0.0.1";
            assert!(matches!(p.parse(line), SyslogOutcome::Event { .. }));
            assert!(matches!(
                p.parse(line.replace("Dec 31", "Jan  1").as_str()),
                SyslogOutcome::Event { .. }
            ));
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut next = crate::xorshift(0x9e37_79b9_7f4a_7c15);
        let seeds: [&[u8]; 4] = [
            b"<34>1 2026-03-04T07:01:02.123Z host sshd 123 - [a b=\"c\"] Accepted password for u from 1.2.3.4 port 2 ssh2",
            b"Mar  4 07:01:02 host sshd[123]: message repeated 2 times: [ Failed password for invalid user x from ::ffff:1.2.3.4 port 2 ssh2]",
            b"2026-03-04T07:01:02.123456+00:00 host sshd[1]: pam_unix(sshd:auth): authentication failure; rhost=h user=",
            b"Dec 31 23:59:59 h sshd[1]: Invalid user  from 1.2.3.4",
        ];
        let mut p = SyslogParser::new(0);
        for round in 0..20_000 {
            let base = seeds[round % seeds.len()];
            let mut line = base.to_vec();
            let edits = (next() % 6) as usize;
            for _ in 0..edits {
                let r = next();
                let i = (r as usize >> 8) % (line.len() + 1);
                match r % 4 {
                    0 if i < line.len() => line[i] = (r >> 32) as u8,
                    1 => line.insert(i, (r >> 40) as u8),
                    2 if i < line.len() => {
                        line.truncate(i);
                    }
                    _ => {}
                }
            }
            let _ = p.parse_bytes(&line);
            let len = (next() % 64) as usize;
            let random: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = p.parse_bytes(&random);
        }
    }
}
