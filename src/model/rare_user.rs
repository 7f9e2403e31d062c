//! `auth_rare_user`: an account that has never, or almost never, logged on does so.
//!
//! Elastic's job is `rare by user.name` over the whole organisation. We keep each account's first
//! and last active day and its number of active days, and score a successful logon when:
//! - the account has **never** been seen, after the organisation's learning period: the
//!   probability is the organisation's own rate of new accounts per user-day (decayed, 30-day
//!   half-life) — an organisation that keeps onboarding people expects new names; one that does
//!   not, does not. A new hire's first logon therefore alerts once (documented; allowlist or
//!   suppress if onboarding is frequent);
//! - the account returns after at least `DORMANT_DAYS` (14) idle days: the probability is
//!   `0.2 × (its active days + 0.5) / (the median account's active days + 1) × 14 / idle days`, so
//!   an account that lived for two days and slept for three weeks is rare (score ≈ 85), while a
//!   daily user back from a fortnight's holiday is unusual but stays well below the alert
//!   threshold (≈ 24; ≈ 35 after three weeks).
//!
//! Accounts logging on every day never score.

use crate::FastMap as HashMap;

use serde::{Deserialize, Serialize};

use super::rare_ip::probability_to_score;

/// A returning account with as many active days as the median account has this probability;
/// fewer active days make it proportionally rarer. 0.2 puts the alert threshold at about one
/// seventh of the median account's active days.
const DORMANT_BASE_PROBABILITY: f64 = 0.2;

/// Idle days after which a returning account is scored.
pub const DORMANT_DAYS: i32 = 14;
const NEW_ACCOUNT_HALF_LIFE_DAYS: f64 = 30.0;

/// What the model keeps per account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountHistory {
    /// First active day (days since epoch).
    pub first_day: i32,
    /// Last active day.
    pub last_day: i32,
    /// Distinct active days.
    pub active_days: u32,
}

/// Organisation-wide account history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RareUserModel {
    /// Accounts by `user.name`.
    pub accounts: HashMap<String, AccountHistory>,
    /// First day with any successful logon.
    pub org_first_day: Option<i32>,
    /// Last day learnt.
    pub org_last_day: i32,
    /// Decayed count of accounts first seen (after the first day).
    pub new_accounts: f64,
    /// Decayed count of account-days.
    pub account_days: f64,
    /// Median active days over accounts, refreshed daily.
    pub median_active_days: f64,
}

/// A scored logon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RareUserEvidence {
    /// `learning`, `new_account`, `dormant_account`, `known_account`.
    pub state: String,
    /// Days since the account's previous logon (None for a new account).
    pub idle_days: Option<i32>,
    /// Active days of the account so far.
    pub active_days: u32,
    /// Median active days over all accounts.
    pub median_active_days: f64,
    /// Days of organisation history.
    pub org_history_days: i32,
    /// Probability behind the score.
    pub probability: f64,
    /// One sentence.
    pub reason: String,
}

impl RareUserModel {
    /// Whether the organisation's account history is still being learnt on `day` (every
    /// [`RareUserModel::assess`] then says `learning`).
    pub fn is_learning(&self, day: i32, learning_days: f64) -> bool {
        (self.org_first_day.map_or(0, |f| day - f) as f64) < learning_days
    }

    /// Scores a successful logon of `user` on `day` against the history before it. `None` when
    /// there is nothing to say (a regular account).
    pub fn assess(&self, user: &str, day: i32, learning_days: f64) -> Option<(f64, RareUserEvidence)> {
        assess_account(&self.baseline(), self.accounts.get(user), user, day, learning_days)
    }

    /// What [`RareUserModel::assess`] reads of the organisation, as it is now: a bucket's logons
    /// are assessed against it while [`RareUserModel::learn_assessing`] learns them one by one.
    pub fn baseline(&self) -> OrgBaseline {
        OrgBaseline {
            org_first_day: self.org_first_day,
            new_accounts: self.new_accounts,
            account_days: self.account_days,
            median_active_days: self.median_active_days,
        }
    }

    /// Learns that `user` logged on successfully on `day`.
    pub fn learn(&mut self, user: &str, day: i32) {
        self.learn_assessing(user, day, None);
    }

    /// [`RareUserModel::learn`], first assessing the logon (with `assess`: the organisation's
    /// [`RareUserModel::baseline`] from before the bucket's learning, and the learning days) as
    /// [`RareUserModel::assess`] would have before it: one look-up of the account for both. The
    /// account must not have been learnt in this bucket yet (each user once per bucket).
    pub fn learn_assessing(
        &mut self,
        user: &str,
        day: i32,
        assess: Option<(&OrgBaseline, f64)>,
    ) -> Option<(f64, RareUserEvidence)> {
        let first_org_day = *self.org_first_day.get_or_insert(day);
        if day > self.org_last_day {
            let elapsed = if self.org_last_day == 0 {
                0
            } else {
                day - self.org_last_day
            };
            let f = 0.5f64.powf(elapsed as f64 / NEW_ACCOUNT_HALF_LIFE_DAYS);
            self.new_accounts *= f;
            self.account_days *= f;
            self.org_last_day = day;
            self.refresh_median();
        }
        let assessed = |account: Option<&AccountHistory>| {
            assess.and_then(|(org, learning_days)| assess_account(org, account, user, day, learning_days))
        };
        match self.accounts.get_mut(user) {
            Some(a) => {
                // Most logons are a regular account's: nothing to say, decided without the call.
                let regular = assess.is_some_and(|(org, learning_days)| is_regular(org, a, day, learning_days));
                let found = if regular { None } else { assessed(Some(a)) };
                if a.last_day != day {
                    a.active_days += 1;
                    a.last_day = day;
                    self.account_days += 1.0;
                }
                found
            }
            None => {
                let found = assessed(None);
                self.accounts.insert(
                    user.to_string(),
                    AccountHistory {
                        first_day: day,
                        last_day: day,
                        active_days: 1,
                    },
                );
                self.account_days += 1.0;
                if day != first_org_day {
                    self.new_accounts += 1.0;
                }
                found
            }
        }
    }

    /// The median account's active days (the upper median): counted in a histogram of the
    /// usual counts, sorting only the accounts beyond it when the median falls there.
    fn refresh_median(&mut self) {
        const COUNTED: usize = 256;
        let rank = self.accounts.len() / 2;
        if self.accounts.is_empty() {
            return;
        }
        let mut counts = [0u32; COUNTED];
        for a in self.accounts.values() {
            if let Some(n) = counts.get_mut(a.active_days as usize) {
                *n += 1;
            }
        }
        let mut below = 0;
        for (days, &n) in counts.iter().enumerate() {
            below += n as usize;
            if below > rank {
                self.median_active_days = days as f64;
                return;
            }
        }
        let mut beyond: Vec<u32> = self
            .accounts
            .values()
            .map(|a| a.active_days)
            .filter(|&d| d as usize >= COUNTED)
            .collect();
        crate::sort::sort(&mut beyond);
        self.median_active_days = beyond[rank - below] as f64;
    }

    /// Forgets accounts idle longer than `prune_days`.
    pub fn prune(&mut self, day: i32, prune_days: i32) {
        self.accounts.retain(|_, a| day - a.last_day <= prune_days);
    }

    /// Approximate bytes held.
    pub fn memory_bytes(&self) -> usize {
        crate::model::compact::table_capacity(self.accounts.len())
            * (std::mem::size_of::<(String, AccountHistory)>() + 8)
            + self.accounts.keys().map(|k| k.capacity()).sum::<usize>()
    }
}

/// The organisation-wide numbers an assessment reads (see [`RareUserModel::baseline`]).
#[derive(Clone, Copy, Debug)]
pub struct OrgBaseline {
    org_first_day: Option<i32>,
    new_accounts: f64,
    account_days: f64,
    median_active_days: f64,
}

/// Whether `a` is a regular account (back within [`DORMANT_DAYS`]) on `day`, once the
/// organisation is past its learning period: an assessment has nothing to say.
#[inline]
fn is_regular(org: &OrgBaseline, a: &AccountHistory, day: i32, learning_days: f64) -> bool {
    let org_days = org.org_first_day.map_or(0, |f| day - f);
    (org_days as f64) >= learning_days && day - a.last_day < DORMANT_DAYS
}

/// [`RareUserModel::assess`] of `user`, whose history is `account`, against `org`.
fn assess_account(
    org: &OrgBaseline,
    account: Option<&AccountHistory>,
    user: &str,
    day: i32,
    learning_days: f64,
) -> Option<(f64, RareUserEvidence)> {
    let org_days = org.org_first_day.map_or(0, |f| day - f);
    if (org_days as f64) < learning_days {
        let ev = RareUserEvidence {
            state: "learning".into(),
            idle_days: account.map(|a| day - a.last_day),
            active_days: account.map_or(0, |a| a.active_days),
            median_active_days: org.median_active_days,
            org_history_days: org_days,
            probability: 1.0,
            reason: format!(
                "the organisation's account history is still being learnt ({org_days} of {learning_days} days)"
            ),
        };
        return Some((0.0, ev));
    }
    match account {
        None => {
            let p = ((org.new_accounts + 0.5) / (org.account_days + 1.0)).min(1.0);
            let score = probability_to_score(p);
            Some((
                score,
                RareUserEvidence {
                    state: "new_account".into(),
                    idle_days: None,
                    active_days: 0,
                    median_active_days: org.median_active_days,
                    org_history_days: org_days,
                    probability: p,
                    reason: format!(
                        "{user} logged on for the first time in {org_days} days of history; new accounts appear on {:.2}% of account-days here",
                        100.0 * p
                    ),
                },
            ))
        }
        Some(a) => {
            let idle = day - a.last_day;
            if idle < DORMANT_DAYS {
                return None;
            }
            let share = ((a.active_days as f64 + 0.5) / (org.median_active_days + 1.0)).min(1.0);
            // The longer the sleep beyond `DORMANT_DAYS`, the rarer the return.
            let sleep = DORMANT_DAYS as f64 / idle as f64;
            let p = DORMANT_BASE_PROBABILITY * share * sleep;
            Some((
                probability_to_score(p),
                RareUserEvidence {
                    state: "dormant_account".into(),
                    idle_days: Some(idle),
                    active_days: a.active_days,
                    median_active_days: org.median_active_days,
                    org_history_days: org_days,
                    probability: p,
                    reason: format!(
                        "{user} logged on after {idle} idle days; the account was active on {} days (a typical account: {:.0})",
                        a.active_days, org.median_active_days
                    ),
                },
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_is_the_sorted_one() {
        for spread in [3u32, 300, 3000] {
            for n in [1u32, 2, 5, 100, 1001] {
                let mut m = RareUserModel::default();
                for i in 0..n {
                    let history = AccountHistory {
                        first_day: 0,
                        last_day: 0,
                        active_days: i.wrapping_mul(7919) % spread,
                    };
                    m.accounts.insert(format!("u{i}"), history);
                }
                m.refresh_median();
                let mut days: Vec<u32> = m.accounts.values().map(|a| a.active_days).collect();
                days.sort_unstable();
                assert_eq!(m.median_active_days, days[days.len() / 2] as f64, "{spread} {n}");
            }
        }
    }
}
