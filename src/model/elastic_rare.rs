//! The `elastic` profile of the rare-source-IP job: Elastic's decayed Dirichlet per user (kept in
//! [`RareIpModel`]'s address histories) scored with [`super::elastic_math`].

use serde::{Deserialize, Serialize};

use super::elastic_math::{
    anomaly_score, normalizer_raw_score, probability_of_less_likely_categories, relative_rarity,
    ScoreNormalizer, DECAY_RATE_PER_ACTIVE_BUCKET,
};
use super::rare_ip::{Assessment, AssessmentState, RareIpModel};
use crate::net::IpKey;

/// Job-wide state of the Elastic profile: the record score normaliser.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ElasticRareState {
    /// One quantile sketch over every user's results (Elastic keys record normalisers by field
    /// names, not values).
    pub normalizer: ScoreNormalizer,
}

/// A stable 64-bit scope key for (user, address): FNV-1a, identical on every target.
pub fn scope_key(user: &str, ip: IpKey) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in user
        .as_bytes()
        .iter()
        .chain([0u8].iter())
        .chain(ip.0.iter())
    {
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
    }

    /// The user's concentrations and the index of `ip` among them; with `hypothetical`, the
    /// address gets one more sample first (a verdict before its bucket is sampled).
    fn concentrations(
        model: &RareIpModel,
        uid: u32,
        ip: IpKey,
        hypothetical: bool,
    ) -> (Vec<f64>, Option<usize>) {
        let Some(user) = model.user(uid) else {
            return (Vec::new(), None);
        };
        let mut conc: Vec<f64> = user
            .addresses
            .iter()
            .map(|a| a.concentration as f64)
            .collect();
        let mut idx = user.addresses.iter().position(|a| a.ip == ip);
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
    fn probability(model: &RareIpModel, uid: u32, ip: IpKey, hypothetical: bool) -> f64 {
        match Self::concentrations(model, uid, ip, hypothetical) {
            (conc, Some(i)) => probability_of_less_likely_categories(&conc, i),
            _ => 1.0,
        }
    }

    /// Feeds a closed, already sampled bucket's results to the normaliser (every result, 0 for the
    /// unremarkable ones, as Elastic does).
    pub fn observe_bucket(&mut self, model: &RareIpModel, sightings: &[(u32, IpKey)]) {
        for &(uid, ip) in sightings {
            let p = Self::probability(model, uid, ip, false);
            let name = model.user(uid).map_or("", |u| u.name.as_str());
            self.normalizer
                .observe(normalizer_raw_score(p), scope_key(name, ip));
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
        let name = model.user(uid).map_or("", |u| u.name.as_str());
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
