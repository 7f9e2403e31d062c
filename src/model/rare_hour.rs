//! `auth_rare_hour_for_a_user`: a user logs on at an hour they never do.
//!
//! Elastic's `time_of_day` models the mean second-of-day of each bucket with a mixture of normals
//! on a line, so 23:50 and 00:10 are a day apart. We keep, per user, a circular histogram of 24
//! hourly bins (one count per active bucket, spread 25/50/25 over the hour and its two neighbours,
//! wrapping at midnight, decayed with a 60-day half-life in active buckets) and score an hour with
//! the probability of less likely hours: the smoothed mass of every hour no more usual than this
//! one. A user who always works 08–18 has almost no mass at 03:00; a user with spread-out hours has
//! mass everywhere. An hour next to one holding ≥ 2 % of the user's activity (an early start, a
//! late finish) scores at most 60. Users in their learning period (the same `learning_days` / `min_active_days` as
//! the rare-address job, longer than Elastic's ~1.5-day mute) never score.

use serde::{Deserialize, Serialize};

/// Dirichlet pseudo-count per hour: how much an hour never seen still counts.
const ALPHA: f64 = 0.01;
/// Decay per learnt bucket (half-life ≈ 2 months of four active buckets a day).
const DECAY: f32 = 0.997;
/// Hours (UTC) are scored at least this far apart from the rest of the day on the rare-address
/// probability scale: 0.5 → 0 and this → 100.
const P_FULL: f64 = 0.003;
/// An hour next to one holding at least this share of the user's activity borders their day: an
/// early start or a late finish, not a rare hour …
const EDGE_SHARE: f64 = 0.02;
/// … and scores at most this (below the rule's 75).
const EDGE_CEILING: f64 = 60.0;

/// Per-user hour-of-day profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HourProfile {
    /// Smoothed, decayed activity per UTC hour.
    pub bins: [f32; 24],
    /// First bucket index seen.
    pub first_bucket: i32,
    /// Active buckets learnt.
    pub buckets: u32,
    /// Distinct active days.
    pub active_days: u32,
    /// Last active day.
    pub last_day: i32,
}

/// The evidence of a rare-hour score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RareHourEvidence {
    /// `learning` or `scored`.
    pub state: String,
    /// The logon's hour (UTC).
    pub hour: u32,
    /// The user's share of activity in that hour (smoothed).
    pub hour_share: f64,
    /// The user's three most active hours (UTC).
    pub typical_hours: Vec<u32>,
    /// Probability of an hour this unusual.
    pub probability: f64,
    /// The 24-bin profile (shares), for charts.
    pub profile: Vec<f64>,
    /// One sentence.
    pub reason: String,
}

impl HourProfile {
    fn new(bucket: i32) -> Self {
        HourProfile {
            bins: [0.0; 24],
            first_bucket: bucket,
            buckets: 0,
            active_days: 0,
            last_day: i32::MIN,
        }
    }

    fn total(&self) -> f64 {
        self.bins.iter().map(|&b| b as f64).sum()
    }

    /// At least [`HourProfile::total`], or `None` when a bin has its sign bit set: the bins summed
    /// in four `f32` lanes (vectorised, where the total adds them one by one in `f64`), raised by
    /// more than that sum's rounding can take off. A NaN bin makes it NaN.
    fn total_bound(&self) -> Option<f64> {
        let mut lanes = [0f32; 4];
        let mut signs = 0u32;
        for chunk in self.bins.chunks_exact(4) {
            for (lane, &b) in lanes.iter_mut().zip(chunk) {
                *lane += b;
                signs |= b.to_bits();
            }
        }
        if signs >> 31 != 0 {
            return None;
        }
        // At most nine roundings of 2^-24 each (relative; 2^-150 absolute below f32's normal range).
        let sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        Some(sum as f64 * (1.0 + 1e-5) + 1e-30)
    }

    /// Probability of less likely hours for `hour`.
    pub fn probability(&self, hour: usize) -> f64 {
        let total = self.total() + 24.0 * ALPHA;
        let mine = self.bins[hour] as f64 + ALPHA;
        let less: f64 = self
            .bins
            .iter()
            .map(|&b| b as f64 + ALPHA)
            .filter(|&w| w <= mine + 1e-9)
            .sum();
        (less / total).clamp(0.0, 1.0)
    }

    /// Whether [`HourProfile::probability`] of `hour` is below `threshold`. The probability sums
    /// this hour's own weight with others that are not negative, so an hour that alone holds
    /// `threshold` of the total is not below it: the usual case, decided without the second pass
    /// (a restored profile with a negative or NaN bin takes the full one).
    fn probability_below(&self, hour: usize, threshold: f64) -> bool {
        let mine = self.bins[hour] as f64 + ALPHA;
        // Decided against a bound on the total first: most hours hold a good share of it.
        if self
            .total_bound()
            .is_some_and(|bound| mine / (bound + 24.0 * ALPHA) >= threshold)
        {
            return false;
        }
        let total = self.total() + 24.0 * ALPHA;
        if mine / total >= threshold && self.bins.iter().all(|&b| b >= 0.0) {
            return false;
        }
        self.probability(hour) < threshold
    }

    // Inlined: called for every logon at bucket close, and shorter than a call's overhead.
    #[inline(always)]
    fn learn(&mut self, hour: usize, day: i32) {
        for b in self.bins.iter_mut() {
            *b *= DECAY;
        }
        self.bins[(hour + 23) % 24] += 0.25;
        self.bins[hour] += 0.5;
        self.bins[(hour + 1) % 24] += 0.25;
        self.buckets += 1;
        if day != self.last_day {
            self.active_days += 1;
            self.last_day = day;
        }
    }
}

/// All users' hour profiles.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RareHourModel {
    /// Profiles by `user.name`.
    pub users: crate::FastMap<String, HourProfile>,
}

impl RareHourModel {
    /// Scores a logon at `hour` (UTC) in `bucket` for `user`, against history before the bucket.
    pub fn assess(
        &self,
        user: &str,
        hour: usize,
        bucket: i32,
        learning_days: f64,
        min_active_days: u32,
    ) -> (f64, RareHourEvidence) {
        let hour = hour % 24;
        match self.past_learning(user, bucket, learning_days, min_active_days) {
            Ok(p) => scored(p, user, hour),
            Err((history_days, active_days)) => (0.0, learning_evidence(user, hour, history_days, active_days)),
        }
    }

    /// What [`RareHourModel::assess`] says of a logon when the user is past learning and the
    /// probability is below `record_below` (the rest need no evidence), then learns the logon
    /// ([`RareHourModel::learn`]): one look-up of the user for both.
    #[allow(clippy::too_many_arguments)]
    pub fn assess_below_then_learn(
        &mut self,
        user: &str,
        hour: usize,
        bucket: i32,
        learning_days: f64,
        min_active_days: u32,
        record_below: f64,
    ) -> Option<(f64, RareHourEvidence)> {
        let hour = hour % 24;
        let day = bucket.div_euclid(96);
        let Some(profile) = self.users.get_mut(user) else {
            // A new user is learning: nothing to say.
            self.learn(user, hour, bucket);
            return None;
        };
        let found = past_learning(profile, bucket, learning_days, min_active_days)
            .ok()
            .filter(|p| p.probability_below(hour, record_below))
            .map(|p| scored(p, user, hour));
        profile.learn(hour, day);
        found
    }

    /// The probability [`RareHourModel::assess`] would give, or `None` while the user is learning
    /// (score 0): the same numbers without the evidence and its sentence.
    pub fn scored_probability(
        &self,
        user: &str,
        hour: usize,
        bucket: i32,
        learning_days: f64,
        min_active_days: u32,
    ) -> Option<f64> {
        let p = self.past_learning(user, bucket, learning_days, min_active_days).ok()?;
        Some(p.probability(hour % 24))
    }

    /// The user's profile once past the learning period, else (history days, active days).
    fn past_learning(
        &self,
        user: &str,
        bucket: i32,
        learning_days: f64,
        min_active_days: u32,
    ) -> Result<&HourProfile, (f64, u32)> {
        let Some(p) = self.users.get(user) else {
            return Err((0.0, 0));
        };
        past_learning(p, bucket, learning_days, min_active_days)
    }

    /// Learns a user's active bucket at `hour`.
    pub fn learn(&mut self, user: &str, hour: usize, bucket: i32) {
        let day = bucket.div_euclid(96);
        // Look up before inserting: `entry` would copy the name for every logon.
        match self.users.get_mut(user) {
            Some(profile) => profile.learn(hour % 24, day),
            None => self
                .users
                .entry(user.to_string())
                .or_insert_with(|| HourProfile::new(bucket))
                .learn(hour % 24, day),
        }
    }

    /// Forgets users idle longer than `prune_days`.
    pub fn prune(&mut self, day: i32, prune_days: i32) {
        self.users.retain(|_, p| day - p.last_day <= prune_days);
    }

    /// Approximate bytes held.
    pub fn memory_bytes(&self) -> usize {
        crate::model::compact::table_capacity(self.users.len()) * (std::mem::size_of::<(String, HourProfile)>() + 8)
            + self.users.keys().map(|k| k.capacity()).sum::<usize>()
    }
}

/// `p` once past the learning period, else (history days, active days).
fn past_learning(
    p: &HourProfile,
    bucket: i32,
    learning_days: f64,
    min_active_days: u32,
) -> Result<&HourProfile, (f64, u32)> {
    let history_days = (i64::from(bucket) - i64::from(p.first_bucket)) as f64 / 96.0;
    if history_days < learning_days || p.active_days < min_active_days {
        return Err((history_days, p.active_days));
    }
    Ok(p)
}

/// [`RareHourModel::assess`] for a user past learning, with their profile `p`.
fn scored(p: &HourProfile, user: &str, hour: usize) -> (f64, RareHourEvidence) {
    let prob = p.probability(hour);
    let total = p.total() + 24.0 * ALPHA;
    let shares: Vec<f64> = p
        .bins
        .iter()
        .map(|&b| ((b as f64 + ALPHA) / total * 1e4).round() / 1e4)
        .collect();
    let mut order: Vec<u32> = (0..24).collect();
    crate::sort::sort_by(&mut order, |&a, &b| {
        p.bins[b as usize].total_cmp(&p.bins[a as usize]).then(a.cmp(&b))
    });
    let typical: Vec<u32> = order.into_iter().take(3).collect();
    let mut score = (100.0 * (0.5 / prob).ln() / (0.5 / P_FULL).ln()).clamp(0.0, 100.0);
    let hours: Vec<String> = typical.iter().map(|h| format!("{h:02}:00")).collect();
    let (before, after) = ((hour + 23) % 24, (hour + 1) % 24);
    let neighbour = if shares[before] >= shares[after] { before } else { after };
    let mut edge = String::new();
    if shares[neighbour] >= EDGE_SHARE && score > EDGE_CEILING {
        score = EDGE_CEILING;
        edge = format!(
            "; it borders their day ({neighbour:02}:00 holds {:.1}% of their activity): an early start or a late finish, at most {EDGE_CEILING}",
            100.0 * shares[neighbour]
        );
    }
    let ev = RareHourEvidence {
        state: "scored".into(),
        hour: hour as u32,
        hour_share: shares[hour],
        typical_hours: typical,
        probability: prob,
        profile: shares,
        reason: format!(
            "{user} logged on at {hour:02}:xx UTC; {:.1}% of their activity falls in that hour (most active: {}); an hour this unusual has probability {prob:.4}{edge}",
            100.0 * ((p.bins[hour] as f64 + ALPHA) / total),
            hours.join(", ")
        ),
    };
    (score, ev)
}

fn learning_evidence(user: &str, hour: usize, days: f64, active: u32) -> RareHourEvidence {
    RareHourEvidence {
        state: "learning".into(),
        hour: hour as u32,
        hour_share: 0.0,
        typical_hours: Vec::new(),
        probability: 1.0,
        profile: Vec::new(),
        reason: format!(
            "{user} is still in the learning period ({days:.1} days, {active} active days); the hour is not scored yet"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probability_below_agrees_with_the_probability() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let odd = [0.0, -0.0, 1e-40, 1e-30, 3e38, -1.0, f32::NAN, f32::INFINITY];
        for round in 0..2_000 {
            let mut p = HourProfile::new(0);
            for b in p.bins.iter_mut() {
                *b = match next() % 8 {
                    0 => 0.0,
                    1 if round % 4 == 0 => odd[(next() % 8) as usize],
                    _ => (next() % 10_000) as f32 / (1u64 << (next() % 12)) as f32,
                };
            }
            for hour in 0..24 {
                for threshold in [0.003, 0.035, 0.04, 0.5] {
                    let expected = p.probability(hour) < threshold;
                    assert_eq!(
                        p.probability_below(hour, threshold),
                        expected,
                        "{:?} {hour} {threshold}",
                        p.bins
                    );
                }
            }
        }
    }

    #[test]
    fn midnight_wraps() {
        let mut m = RareHourModel::default();
        // A night-shift user: 22:00–01:00 every night for 20 days.
        for d in 0..20 {
            for h in [22usize, 23, 0] {
                m.learn("n", h, d * 96 + h as i32 * 4);
            }
        }
        let (score_0010, _) = m.assess("n", 0, 21 * 96, 7.0, 3);
        let (score_2350, _) = m.assess("n", 23, 21 * 96, 7.0, 3);
        let (score_1, _) = m.assess("n", 1, 21 * 96, 7.0, 3);
        let (score_noon, _) = m.assess("n", 12, 21 * 96, 7.0, 3);
        assert!(
            score_0010 < 20.0 && score_2350 < 20.0 && score_1 < 50.0,
            "{score_0010} {score_2350} {score_1}"
        );
        assert!(score_noon >= 75.0, "{score_noon}");
    }
}
