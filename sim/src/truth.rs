//! The ground truth written next to the logs: planted attacks, labelled benign novelty, and each
//! account's profile.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a label marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelType {
    /// A stable office user logs on successfully from an external address in a /16 nobody in the
    /// organisation has ever used, 1–3 logons within one hour, during work hours.
    StolenCredentialsOutside,
    /// A user logs on successfully from a colleague's habitual desk address, in the same /24 as
    /// the user's own desk.
    LateralMovementColleagueDesk,
    /// One external address, 300+ failures against one account within ~30 minutes, then a success.
    BruteForce,
    /// One external address, 1–2 failures each against 40+ different accounts within ~20 minutes.
    PasswordSpray,
    /// One internal desk address authenticates successfully as 25+ accounts within ~30 minutes.
    CredentialReplayOneDesk,
    /// A 9-to-5 user logs on at about 03:00 local time from their usual address.
    OffHoursLogon,
    /// An account seen only in the first two days, silent since, logs on again.
    DormantAccount,
    /// Benign: a workstation got a new DHCP address inside the user's usual /24.
    BenignDhcpRenumbering,
    /// Benign: a VPN user got a pool address (10.99.0.0/16) they had not had before.
    BenignVpnPoolRotation,
    /// Benign: a travelling user logs on from a hotel / foreign ISP network during a trip.
    BenignTravel,
}

impl LabelType {
    /// The snake_case name used in the truth file.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelType::StolenCredentialsOutside => "stolen_credentials_outside",
            LabelType::LateralMovementColleagueDesk => "lateral_movement_colleague_desk",
            LabelType::BruteForce => "brute_force",
            LabelType::PasswordSpray => "password_spray",
            LabelType::CredentialReplayOneDesk => "credential_replay_one_desk",
            LabelType::OffHoursLogon => "off_hours_logon",
            LabelType::DormantAccount => "dormant_account",
            LabelType::BenignDhcpRenumbering => "benign_dhcp_renumbering",
            LabelType::BenignVpnPoolRotation => "benign_vpn_pool_rotation",
            LabelType::BenignTravel => "benign_travel",
        }
    }

    /// `true` for planted attacks, `false` for labelled benign novelty.
    pub fn is_attack(self) -> bool {
        !matches!(
            self,
            LabelType::BenignDhcpRenumbering | LabelType::BenignVpnPoolRotation | LabelType::BenignTravel
        )
    }

    /// `true` for attacks whose successful logons come from an address that is new for the
    /// account(s), i.e. what `auth_rare_source_ip_for_a_user` should catch. Their victims have at
    /// least seven days of history before the attack.
    pub fn is_rare_source_ip(self) -> bool {
        matches!(
            self,
            LabelType::StolenCredentialsOutside
                | LabelType::LateralMovementColleagueDesk
                | LabelType::BruteForce
                | LabelType::CredentialReplayOneDesk
        )
    }
}

impl std::fmt::Display for LabelType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One labelled attack or benign novelty. Its events are those with `user.name` in `users`,
/// `source.ip == source_ip` and `start_ms <= @timestamp <= end_ms` (both ends inclusive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// `A1`, `A2`, … for attacks; `B1`, `B2`, … for benign novelty.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: LabelType,
    /// The account(s) involved.
    #[serde(rename = "user.name")]
    pub users: Vec<String>,
    /// The source address.
    #[serde(rename = "source.ip")]
    pub source_ip: String,
    /// First event, epoch milliseconds.
    pub start_ms: i64,
    /// Last event, epoch milliseconds (inclusive).
    pub end_ms: i64,
    /// `start_ms` in RFC 3339, for people reading the file.
    pub start: String,
    /// `end_ms` in RFC 3339.
    pub end: String,
    /// How many events (successes and failures) belong to this label.
    pub events: usize,
    /// Successful logons among them.
    pub successes: usize,
    /// What happened, in words.
    pub description: String,
}

impl Label {
    /// Whether an event with this user, address and time belongs to the label.
    pub fn matches(&self, user: &str, source_ip: &str, timestamp_ms: i64) -> bool {
        self.source_ip == source_ip
            && (self.start_ms..=self.end_ms).contains(&timestamp_ms)
            && self.users.iter().any(|u| u == user)
    }
}

/// The truth file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// The seed of the run.
    pub seed: u64,
    /// The number of accounts simulated.
    pub users: usize,
    /// The number of days simulated.
    pub days: u32,
    /// The start of the period, RFC 3339.
    pub start: String,
    /// Planted attacks (`A1`…), in the order of their types as listed in [`LabelType`].
    pub attacks: Vec<Label>,
    /// Labelled benign novelty (`B1`…), by start time.
    pub benign: Vec<Label>,
    /// Each account's profile: `office`, `vpn`, `traveller`, `service`, `new_hire`, `dormant`.
    pub profiles: BTreeMap<String, String>,
}

impl Truth {
    /// The truth as pretty-printed JSON (with a trailing newline).
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
