//! One simulated authentication event and its ECS JSON form.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::time::format_rfc3339_ms;

/// How a logon reached its host, which decides the ECS shape of the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// OpenSSH on a Linux server: Elastic `system.auth`, `event.action: ssh_login`,
    /// `process.name: sshd`.
    Ssh,
    /// A Windows network logon (event 4624/4625, `LogonType` 3): Elastic `system.security`.
    WinNetwork,
    /// A Windows Remote Desktop logon (event 4624/4625, `LogonType` 10): `system.security`.
    WinRdp,
}

/// A server people and services log on to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    /// `host.name`.
    pub name: &'static str,
    /// How users normally reach it.
    pub channel: Channel,
}

/// The organisation's servers.
pub const HOSTS: &[Host] = &[
    Host {
        name: "srv-app-01",
        channel: Channel::Ssh,
    },
    Host {
        name: "srv-app-02",
        channel: Channel::Ssh,
    },
    Host {
        name: "srv-db-01",
        channel: Channel::Ssh,
    },
    Host {
        name: "srv-build-01",
        channel: Channel::Ssh,
    },
    Host {
        name: "srv-git-01",
        channel: Channel::Ssh,
    },
    Host {
        name: "bastion-01",
        channel: Channel::Ssh,
    },
    Host {
        name: "dc-01",
        channel: Channel::WinNetwork,
    },
    Host {
        name: "fs-01",
        channel: Channel::WinNetwork,
    },
    Host {
        name: "ts-01",
        channel: Channel::WinRdp,
    },
];

/// The Windows domain written to `user.domain` on `system.security` events.
pub const WINDOWS_DOMAIN: &str = "CORP";

/// One authentication attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `@timestamp`, epoch milliseconds (UTC).
    pub timestamp_ms: i64,
    /// `user.name`.
    pub user: String,
    /// `source.ip`.
    pub source_ip: Ipv4Addr,
    /// `host.name`.
    pub host: &'static str,
    /// SSH or Windows (network / RDP).
    pub channel: Channel,
    /// `event.outcome`: success (`true`) or failure.
    pub success: bool,
    /// Index into [`Truth::attacks`](crate::Truth::attacks) when this event belongs to a planted
    /// attack. Never written to the NDJSON output.
    pub attack: Option<usize>,
}

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: &'a str,
    event: EventFields<'a>,
    user: UserFields<'a>,
    source: SourceFields,
    host: HostFields<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<ProcessFields<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    winlog: Option<Winlog<'a>>,
}

#[derive(Serialize)]
struct EventFields<'a> {
    category: [&'a str; 1],
    action: &'a str,
    outcome: &'a str,
    kind: &'a str,
    dataset: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
}

#[derive(Serialize)]
struct UserFields<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
}

#[derive(Serialize)]
struct SourceFields {
    ip: Ipv4Addr,
}

#[derive(Serialize)]
struct HostFields<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct ProcessFields<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Winlog<'a> {
    event_data: EventData<'a>,
}

#[derive(Serialize)]
struct EventData<'a> {
    #[serde(rename = "LogonType")]
    logon_type: &'a str,
}

impl Event {
    /// `event.outcome`.
    pub fn outcome(&self) -> &'static str {
        if self.success {
            "success"
        } else {
            "failure"
        }
    }

    /// Writes the event as one compact ECS JSON document (no trailing newline).
    pub fn write_json<W: Write>(&self, out: W) -> io::Result<()> {
        let ts = format_rfc3339_ms(self.timestamp_ms);
        let outcome = self.outcome();
        let doc = match self.channel {
            Channel::Ssh => Doc {
                timestamp: &ts,
                event: EventFields {
                    category: ["authentication"],
                    action: "ssh_login",
                    outcome,
                    kind: "event",
                    dataset: "system.auth",
                    code: None,
                },
                user: UserFields {
                    name: &self.user,
                    domain: None,
                },
                source: SourceFields { ip: self.source_ip },
                host: HostFields { name: self.host },
                process: Some(ProcessFields { name: "sshd" }),
                winlog: None,
            },
            Channel::WinNetwork | Channel::WinRdp => Doc {
                timestamp: &ts,
                event: EventFields {
                    category: ["authentication"],
                    action: if self.success { "logged-in" } else { "logon-failed" },
                    outcome,
                    kind: "event",
                    dataset: "system.security",
                    code: Some(if self.success { "4624" } else { "4625" }),
                },
                user: UserFields {
                    name: &self.user,
                    domain: Some(WINDOWS_DOMAIN),
                },
                source: SourceFields { ip: self.source_ip },
                host: HostFields { name: self.host },
                process: None,
                winlog: Some(Winlog {
                    event_data: EventData {
                        logon_type: if self.channel == Channel::WinRdp { "10" } else { "3" },
                    },
                }),
            },
        };
        serde_json::to_writer(out, &doc).map_err(io::Error::from)
    }

    /// The event as one compact ECS JSON document (no trailing newline).
    pub fn to_json(&self) -> String {
        let mut buf = Vec::with_capacity(300);
        // Writing to a Vec cannot fail, and every field serialises.
        if self.write_json(&mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_and_windows_shapes() {
        let mut e = Event {
            timestamp_ms: 1_790_841_792_000,
            user: "alice.ng".into(),
            source_ip: Ipv4Addr::new(10, 20, 3, 41),
            host: "srv-app-01",
            channel: Channel::Ssh,
            success: true,
            attack: None,
        };
        assert_eq!(
            e.to_json(),
            r#"{"@timestamp":"2026-10-01T08:03:12.000Z","event":{"category":["authentication"],"action":"ssh_login","outcome":"success","kind":"event","dataset":"system.auth"},"user":{"name":"alice.ng"},"source":{"ip":"10.20.3.41"},"host":{"name":"srv-app-01"},"process":{"name":"sshd"}}"#
        );
        e.channel = Channel::WinRdp;
        e.success = false;
        e.host = "ts-01";
        assert_eq!(
            e.to_json(),
            r#"{"@timestamp":"2026-10-01T08:03:12.000Z","event":{"category":["authentication"],"action":"logon-failed","outcome":"failure","kind":"event","dataset":"system.security","code":"4625"},"user":{"name":"alice.ng","domain":"CORP"},"source":{"ip":"10.20.3.41"},"host":{"name":"ts-01"},"winlog":{"event_data":{"LogonType":"10"}}}"#
        );
    }
}
