//! The normalised authentication event every input shape is turned into.

use std::net::IpAddr;

/// The outcome of an authentication attempt (ECS `event.outcome`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// `success`
    Success,
    /// `failure`
    Failure,
    /// Anything else, or absent.
    Unknown,
}

impl Outcome {
    /// Parses ECS `event.outcome`.
    pub fn parse(s: &str) -> Outcome {
        match s {
            "success" => Outcome::Success,
            "failure" => Outcome::Failure,
            _ => Outcome::Unknown,
        }
    }

    /// The ECS value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }
}

/// One authentication event, normalised (DESIGN §2).
#[derive(Clone, PartialEq, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AuthEvent {
    /// Event time, epoch milliseconds (`@timestamp`).
    pub timestamp_ms: i64,
    /// `user.name`; empty when absent (Elastic puts such events in the `""` partition).
    pub user_name: String,
    /// `user.domain`, when present.
    pub user_domain: Option<String>,
    /// `source.ip`, IPv4-mapped IPv6 folded to IPv4; `None` when absent, `-` or unparsable.
    pub source_ip: Option<IpAddr>,
    /// `event.outcome`.
    pub outcome: Option<Outcome>,
    /// `host.name` (or `host.hostname`).
    pub host_name: Option<String>,
    /// Whether `event.category` contains `authentication`.
    pub is_authentication: bool,
    /// `event.action`.
    pub action: Option<String>,
    /// `event.dataset` (or `data_stream.dataset`): the integration that produced the event.
    pub dataset: Option<String>,
    /// `process.name`, used by the datafeed's exclusion of Elastic Agent / Beats processes.
    pub process_name: Option<String>,
    /// Windows logon type (`winlog.event_data.LogonType`), when present.
    pub logon_type: Option<String>,
    /// `event.id`, when present (hosts use it for idempotency).
    pub event_id: Option<String>,
    /// `source.port`, when the input names it (sshd's `port N`, Windows `IpPort`). Reported in
    /// outputs; no job partitions on it (a client's port changes with every connection).
    pub source_port: Option<u16>,
    /// `process.pid` of the process that logged the attempt (`sshd[123]`, RFC 5424 PROCID,
    /// Windows `ProcessId`).
    pub process_pid: Option<u32>,
    /// `system.auth.ssh.method` (`password`, `publickey`, `keyboard-interactive/pam`, …) for SSH
    /// logons whose message names it.
    pub ssh_method: Option<String>,
}

impl AuthEvent {
    /// The outcome, `Unknown` when absent.
    pub fn outcome(&self) -> Outcome {
        self.outcome.unwrap_or(Outcome::Unknown)
    }
}

/// The event of the input line at hand, and the strings of fields earlier lines had and this
/// one has not.
///
/// Ingest fills every line of a stream into the same `LineEvent`, so a line allocates nothing
/// for its text fields once the stream has shown each field once: a field that is absent keeps
/// its buffer in `spare` for the next line that has it (or for another field).
#[derive(Debug)]
pub(crate) struct LineEvent {
    pub(crate) event: AuthEvent,
    spare: StringPool,
    /// The winlogbeat scanner's state: the line's unescaped strings (one buffer for every line,
    /// so that unescaping allocates nothing) and the last line's keys.
    pub(crate) winlogbeat: crate::ingest::windows::ScanState,
    /// The last timestamp's date, so that a line of the same day parses only its time (ECS and
    /// winlogbeat lines alike).
    pub(crate) days: crate::time::DayCache,
}

impl Default for LineEvent {
    fn default() -> Self {
        LineEvent {
            event: AuthEvent::default(),
            // Every buffer is a field's or the pool's, so the pool never needs more than one per
            // field; a long value's buffer is kept like any other (lines are bounded).
            spare: StringPool::new(TEXT_FIELDS, usize::MAX),
            winlogbeat: Default::default(),
            days: Default::default(),
        }
    }
}

impl LineEvent {
    /// Sets the text field `field` picks to `text`, reusing buffers.
    pub(crate) fn set(&mut self, field: impl FnOnce(&mut AuthEvent) -> &mut Option<String>, text: Option<&str>) {
        let slot = field(&mut self.event);
        match (slot.as_mut(), text) {
            (Some(buffer), Some(t)) => {
                buffer.clear();
                buffer.push_str(t);
            }
            (None, Some(t)) => *slot = Some(self.spare.text(t)),
            (Some(_), None) => {
                if let Some(buffer) = slot.take() {
                    self.spare.keep(buffer);
                }
            }
            (None, None) => {}
        }
    }

    /// Sets `user.name` (never absent: empty when the line has none).
    pub(crate) fn set_user_name(&mut self, name: &str) {
        self.event.user_name.clear();
        self.event.user_name.push_str(name);
    }

    /// Replaces the event with one built elsewhere (the `Value` paths), keeping its buffers.
    pub(crate) fn replace(&mut self, event: AuthEvent) {
        let old = std::mem::replace(&mut self.event, event);
        let texts = [
            old.user_domain,
            old.host_name,
            old.action,
            old.dataset,
            old.process_name,
            old.logon_type,
            old.event_id,
            old.ssh_method,
        ];
        for buffer in texts.into_iter().flatten() {
            self.spare.keep(buffer);
        }
    }
}

/// Emptied strings kept for reuse, so that text copied in per event or per bucket reuses a buffer
/// instead of allocating one: at most `max_strings` of them, none with more than `max_capacity`
/// bytes of room (a long value's buffer is freed rather than pinned); what is beyond is freed.
#[derive(Clone, Debug)]
pub(crate) struct StringPool {
    strings: Vec<String>,
    max_strings: usize,
    max_capacity: usize,
}

impl StringPool {
    /// An empty pool with these bounds.
    pub(crate) const fn new(max_strings: usize, max_capacity: usize) -> Self {
        StringPool {
            strings: Vec::new(),
            max_strings,
            max_capacity,
        }
    }

    /// `text` in a kept string, or in a new one.
    pub(crate) fn text(&mut self, text: &str) -> String {
        match self.strings.pop() {
            Some(mut s) => {
                s.push_str(text);
                s
            }
            None => text.to_owned(),
        }
    }

    /// Keeps `s`, emptied, if the bounds allow.
    pub(crate) fn keep(&mut self, mut s: String) {
        if self.strings.len() < self.max_strings && s.capacity() <= self.max_capacity {
            s.clear();
            self.strings.push(s);
        }
    }
}

/// The optional text fields of an [`AuthEvent`].
const TEXT_FIELDS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_that_comes_and_goes_reuses_its_buffer() {
        let mut line = LineEvent::default();
        line.set(|e| &mut e.host_name, Some("bastion-01.example.org"));
        let buffer = line.event.host_name.as_ref().map(|s| s.as_ptr());
        line.set(|e| &mut e.host_name, None);
        assert_eq!(line.event.host_name, None);
        line.set(|e| &mut e.logon_type, Some("10"));
        assert_eq!(line.event.logon_type.as_deref(), Some("10"));
        assert_eq!(
            line.event.logon_type.as_ref().map(|s| s.as_ptr()),
            buffer,
            "the spare buffer"
        );
        line.set(|e| &mut e.logon_type, Some("3"));
        assert_eq!(line.event.logon_type.as_deref(), Some("3"));
        line.set_user_name("alice");
        assert_eq!(line.event.user_name, "alice");
    }

    #[test]
    fn a_string_pool_keeps_within_its_bounds() {
        let mut pool = StringPool::new(2, 16);
        pool.keep("x".repeat(100));
        assert_eq!(pool.strings.len(), 0, "a long value's buffer is not kept");
        for s in ["a", "bb", "ccc"] {
            pool.keep(s.to_owned());
        }
        assert_eq!(pool.strings.len(), 2);
        assert!(pool.strings.iter().all(|s| s.is_empty() && s.capacity() <= 16));
        assert_eq!(pool.text("alice"), "alice");
        assert_eq!(pool.strings.len(), 1);
    }

    #[test]
    fn replacing_the_event_keeps_at_most_one_spare_per_field() {
        let mut line = LineEvent::default();
        for _ in 0..5 {
            line.replace(AuthEvent {
                host_name: Some("h".into()),
                action: Some("a".into()),
                dataset: Some("d".into()),
                process_name: Some("p".into()),
                logon_type: Some("l".into()),
                event_id: Some("e".into()),
                ssh_method: Some("s".into()),
                user_domain: Some("u".into()),
                ..AuthEvent::default()
            });
        }
        assert_eq!(line.spare.strings.len(), TEXT_FIELDS);
        assert!(line.spare.strings.iter().all(String::is_empty));
        assert_eq!(line.event.host_name.as_deref(), Some("h"));
    }
}
