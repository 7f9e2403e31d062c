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
