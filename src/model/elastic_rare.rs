//! The `elastic` profile of the rare-source-IP job: Elastic's decayed Dirichlet per user (kept in
//! [`RareIpModel`]'s address histories) scored with [`super::elastic_math`].

use serde::{Deserialize, Serialize};

use super::elastic_math::{
    anomaly_score, normalizer_raw_score, probability_of_less_likely_categories, relative_rarity, ScoreNormalizer,
    DECAY_RATE_PER_ACTIVE_BUCKET,
};
use super::rare_ip::{Assessment, AssessmentState, RareIpModel};
use crate::net::IpKey;

/// Job-wide state of the Elastic profile: the record score normaliser.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ElasticRareState {
    /// One quantile sketch over every user's results (Elastic keys record normalisers by field
    /// names, not values).
    pub normalizer: ScoreNormalizer,
    /// Records still inside the renormalisation window, oldest first (at most
    /// [`RENORMALIZATION_MAX_RECORDS`]).
    pub recent_records: std::collections::VecDeque<RecentRecord>,
}

/// Elastic renormalises records of the last 30 days (or 100 buckets, whichever is longer).
pub const RENORMALIZATION_WINDOW_MS: i64 = 30 * 86_400_000;
/// Memory bound on the records kept for renormalisation; the oldest go first.
pub const RENORMALIZATION_MAX_RECORDS: usize = 10_000;

/// What renormalisation needs of a written record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecentRecord {
    /// Bucket start, epoch ms.
    pub timestamp: i64,
    /// `user.name`.
    pub user: String,
    /// The address.
    pub ip: IpKey,
    /// Raw score fed to the normaliser.
    pub raw: f64,
    /// The record's probability.
    pub probability: f64,
    /// Score at creation.
    pub initial_record_score: f64,
    /// Score after the last renormalisation.
    pub record_score: f64,
}

/// A record whose score changed when the normaliser's quantiles moved (Elastic rewrites
/// `record_score`; `initial_record_score` never changes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenormalizedRecord {
    /// Job id.
    pub job_id: String,
    /// `record_update`.
    pub result_type: String,
    /// Bucket start, epoch ms.
    pub timestamp: i64,
    /// `user.name`.
    pub partition_field_value: String,
    /// `source.ip`.
    pub by_field_value: String,
    /// Score at creation.
    pub initial_record_score: f64,
    /// Score now.
    pub record_score: f64,
}

/// A stable 64-bit scope key for (user, address): FNV-1a, identical on every target.
pub fn scope_key(user: &str, ip: IpKey) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user.as_bytes().iter().chain([0u8].iter()).chain(ip.0.iter()) {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl ElasticRareState {
    /// Per-active-bucket multiplier of every concentration, exp(−0.00025).
    pub fn decay_factor(&self) -> f32 {
        (-DECAY_RATE_PER_ACTIVE_BUCKET).exp() as f32
    }

    /// Ages the normaliser by `n` buckets.
    pub fn advance_buckets(&mut self, n: u32) {
        self.normalizer.advance_buckets(n);
    }

    /// Approximate bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.normalizer.memory_bytes()
            + self.recent_records.capacity() * std::mem::size_of::<RecentRecord>()
            + self.recent_records.iter().map(|r| r.user.capacity()).sum::<usize>()
    }

    /// The user's concentrations and the index of `ip` among them; with `hypothetical`, the
    /// address gets one more sample first (a verdict before its bucket is sampled).
    fn concentrations(model: &RareIpModel, uid: u32, ip: IpKey, hypothetical: bool) -> (Vec<f64>, Option<usize>) {
        let Some(user) = model.user(uid) else {
            return (Vec::new(), None);
        };
        let (values, mut idx) = user.concentrations(ip);
        let mut conc: Vec<f64> = values.map(f64::from).collect();
        if hypothetical {
            match idx {
                Some(i) => conc[i] += 1.0,
                None => {
                    conc.push(1.0);
                    idx = Some(conc.len() - 1);
                }
            }
        }
        (conc, idx)
    }

    /// Probability of less likely categories for `ip`, and its raw score.
    pub(crate) fn probability(model: &RareIpModel, uid: u32, ip: IpKey, hypothetical: bool) -> f64 {
        match Self::concentrations(model, uid, ip, hypothetical) {
            (conc, Some(i)) => probability_of_less_likely_categories(&conc, i),
            _ => 1.0,
        }
    }

    /// Remembers a written record for later renormalisation.
    pub fn remember(&mut self, timestamp: i64, user: &str, ip: IpKey, probability: f64, score: f64) {
        if self.recent_records.len() >= RENORMALIZATION_MAX_RECORDS {
            self.recent_records.pop_front();
        }
        self.recent_records.push_back(RecentRecord {
            timestamp,
            user: user.to_string(),
            ip,
            raw: normalizer_raw_score(probability),
            probability,
            initial_record_score: score,
            record_score: score,
        });
    }

    /// Re-scores every record still inside the renormalisation window (relative to `now_ms`)
    /// against the current quantiles; returns those whose score moved by at least 0.5, and forgets
    /// records that left the window.
    pub fn renormalize(&mut self, now_ms: i64, job_id: &str) -> Vec<RenormalizedRecord> {
        while self
            .recent_records
            .front()
            .is_some_and(|r| now_ms - r.timestamp > RENORMALIZATION_WINDOW_MS)
        {
            self.recent_records.pop_front();
        }
        let mut changed = Vec::new();
        for r in self.recent_records.iter_mut() {
            let score = self
                .normalizer
                .normalize(r.raw, r.probability, scope_key(&r.user, r.ip));
            let score = (score * 100.0).round() / 100.0;
            if (score - r.record_score).abs() >= 0.5 {
                r.record_score = score;
                changed.push(RenormalizedRecord {
                    job_id: job_id.to_string(),
                    result_type: "record_update".into(),
                    timestamp: r.timestamp,
                    partition_field_value: r.user.clone(),
                    by_field_value: r.ip.to_string(),
                    initial_record_score: r.initial_record_score,
                    record_score: score,
                });
            }
        }
        changed
    }

    /// Feeds a closed, already sampled bucket's results to the normaliser (every result, 0 for the
    /// unremarkable ones, as Elastic does).
    pub fn observe_bucket(&mut self, model: &RareIpModel, sightings: &[(u32, IpKey)]) {
        for &(uid, ip) in sightings {
            let p = Self::probability(model, uid, ip, false);
            let name = model.user(uid).map_or("", |u| u.name());
            self.normalizer.observe(normalizer_raw_score(p), scope_key(name, ip));
        }
    }

    /// Scores with Elastic's maths. `adaptive` supplies the evidence (history, typical addresses);
    /// probability, score and reason are replaced. `interim`: the bucket is not sampled yet.
    pub fn assess(
        &self,
        model: &RareIpModel,
        uid: u32,
        ip: IpKey,
        bucket: i32,
        adaptive: Assessment,
        interim: bool,
    ) -> Assessment {
        let mut ev = adaptive.evidence;
        // Elastic samples a bucket before scoring it: an address first seen in this very bucket is
        // Elastic's `by_field_first_occurrence`.
        if !interim {
            let first_here = model
                .user(uid)
                .and_then(|u| u.address(ip))
                .is_some_and(|a| a.first_bucket == bucket);
            if first_here {
                ev.by_field_first_occurrence = true;
                ev.state = AssessmentState::NewAddress;
            }
        }
        if ev.state == AssessmentState::Allowlisted {
            return Assessment {
                score: 0.0,
                probability: 1.0,
                evidence: ev,
            };
        }
        let p = Self::probability(model, uid, ip, interim);
        let name = model.user(uid).map_or("", |u| u.name());
        let raw = normalizer_raw_score(p);
        let score = self.normalizer.normalize(raw, p, scope_key(name, ip));
        // Elastic has no learning state: every user is scored.
        if ev.state == AssessmentState::Learning {
            ev.state = if ev.by_field_first_occurrence {
                AssessmentState::NewAddress
            } else {
                AssessmentState::KnownAddress
            };
        }
        ev.novelty_probability = p;
        ev.factors = vec![format!(
            "elastic: P(less likely addresses) = {p:.3e}, raw score {:.4}, record_score = min(quantile, max-score and log-probability ceilings) = {score:.1}",
            anomaly_score(p)
        )];
        ev.reason = format!(
            "{name} logged on from {ip} ({}); under Elastic's rare model its probability is {p:.2e} over {} active days.",
            if ev.by_field_first_occurrence { "first occurrence" } else { "seen before" },
            ev.user_active_days
        );
        Assessment {
            score,
            probability: p,
            evidence: ev,
        }
    }

    /// Elastic's `by_field_relative_rarity`: median concentration / this address's.
    pub fn relative_rarity(&self, model: &RareIpModel, uid: u32, ip: IpKey) -> Option<f64> {
        let (conc, idx) = Self::concentrations(model, uid, ip, false);
        let i = idx?;
        (conc[i] > 0.0).then(|| relative_rarity(&conc, i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record that was the most extreme score when written falls when many larger scores
    /// follow; `initial_record_score` stays.
    #[test]
    fn renormalisation_lowers_a_record_overtaken_by_larger_scores() {
        let mut st = ElasticRareState::default();
        let ip = IpKey::from_ip("203.0.113.9".parse().unwrap());
        for _ in 0..4000 {
            st.normalizer.observe(0.0, 1);
        }
        let p = 1e-6; // raw ≈ 1.9; the log-probability ceiling is 100, so the quantiles decide.
        st.normalizer.observe(normalizer_raw_score(p), scope_key("u", ip));
        st.normalizer.observe(0.0, 1);
        let score = st.normalizer.normalize(normalizer_raw_score(p), p, scope_key("u", ip));
        assert!(score > 90.0, "{score}");
        st.remember(0, "u", ip, p, score);
        assert!(st.renormalize(900_000, "job").is_empty());
        for i in 0..400 {
            st.normalizer.observe(30.0, 10_000 + i);
            st.normalizer.observe(30.0, 20_000 + i);
        }
        let changed = st.renormalize(1_800_000, "job");
        assert_eq!(changed.len(), 1);
        assert!(changed[0].record_score < score / 2.0, "{changed:?}");
        assert_eq!(changed[0].initial_record_score, score);
        // Out of the window: forgotten.
        assert!(st.renormalize(RENORMALIZATION_WINDOW_MS + 1, "job").is_empty());
        assert!(st.recent_records.is_empty());
    }
}
