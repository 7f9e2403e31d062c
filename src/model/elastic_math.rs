//! Elastic-compatible maths for the `elastic` scoring profile: the `rare` probability and the score
//! normaliser, re-derived from `reference/elastic-ml-auth.md` (no Elastic code was consulted).
//!
//! * **Rare probability** (§2.2 items 2–4). Each user has a decayed Dirichlet over source IPs with
//!   concentrations `a_j` (+1 per distinct IP per active bucket, then ×exp(−0.00025)). The
//!   probability of IP `i` is the total expected share `E[p_j] = a_j/a0` of all IPs no more common
//!   than `i` (ties included), smoothed over the Beta(a_i, a0−a_i) posterior of `p_i`: `n` quantile-bin
//!   conditional means of that Beta (n = 7/5/3/1 by `a0`), each ×1.05, are located in the sorted
//!   `E[p]` table, the cumulative share is linearly interpolated, and the results are averaged.
//!   The bin means use the exact identity `E[X; q_{k−1}<X≤q_k] = a/(a+b)·(I_{q_k}(a+1,b) − I_{q_{k−1}}(a+1,b))`
//!   with our own regularised incomplete beta `I` (Lentz continued fraction) and its inverse.
//! * **Raw score** (§3.1): piecewise map of `p` onto (0, 100], with breakpoints 0.05, 1e-4, 1e-50, DBL_MIN.
//! * **Normalised score** (§3.4): `min(100, c0, c1, c2, c3)` where `c1` maps the raw score's
//!   percentile among all raw scores of the job through fixed knot points, `c2` caps a score relative
//!   to the largest raw score of its (user, IP) scope, `c3` caps by `ln p` (p ≤ ~5.1e-4 is needed for
//!   75), and `c0` is the noise ceiling (≥ 100 whenever at least half the scores are 0).
//! * **Severity** (§3.4): warning / minor / major / critical at 25 / 50 / 75.
//!
//! Everything is total: NaN, ±inf, 0 and negative inputs are clamped, nothing panics, no I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Dirichlet decay rate per *active* bucket of a partition, and the normaliser's decay rate per
/// job bucket: `DEFAULT_DECAY_RATE 0.0005 × min(1, bucket_span 900 s / 1800 s)` (reference §2.2 item 3,
/// §3.4 "Quantile state"). Concentrations are multiplied by `exp(−rate)` per unit.
pub const DECAY_RATE_PER_ACTIVE_BUCKET: f64 = 0.00025;

/// Largest probability for which a record result is written and fed to the normaliser with a
/// non-zero score (reference §2.3 "Other defaults", §3.3: `p < 0.035`). Dimensionless probability.
pub const MAX_ANOMALOUS_PROBABILITY: f64 = 0.035;

/// Slope `M = (score(1e-4) − score(0.05)) / (ln 1e-4 − ln 0.05) = 1/ln(0.002) ≈ −0.16091` of the
/// log-probability ceiling `c3`, in score-fraction per natural-log unit of probability (reference §3.4).
pub const LOG_PROB_CEILING_SLOPE: f64 = -0.160_911_192_494_002_5;

/// Knot points `(percentile %, normalised score)` of the percentile mapping `c1`
/// (`DEFAULT_NORMALIZED_SCORE_KNOT_POINTS`, reference §3.4).
pub const NORMALIZED_SCORE_KNOT_POINTS: [(f64, f64); 9] = [
    (0.0, 0.0),
    (70.0, 1.0),
    (85.0, 1.2),
    (90.0, 1.5),
    (95.0, 3.0),
    (97.0, 20.0),
    (99.0, 50.0),
    (99.9, 90.0),
    (100.0, 100.0),
];

/// Raw scores are stored in the quantile sketch as `u32(1000·raw + 0.5)` (`DISCRETIZATION_FACTOR`,
/// reference §3.4). Raw scores lie in [0, 100], so keys lie in [0, 100 000].
pub const DISCRETIZATION_FACTOR: f64 = 1000.0;

/// The quantile sketch is aged only once every this many job buckets (`QUANTILE_DECAY_TIME`,
/// reference §3.4). Unit: buckets.
pub const QUANTILE_DECAY_TIME: u32 = 20;

/// A scope's maximum raw score is forgotten after more than this many job buckets without a new
/// score for the scope (`FORGET_MAX_SCORE_INTERVAL`, reference §3.4). Unit: buckets.
pub const FORGET_MAX_SCORE_INTERVAL: u32 = 50;

/// Number of raw scores fed per sketch sample: the max of every this many scores is added
/// (`m_CountPerSample = 3600 / clamp(2·900, 300, 3600) = 2`, reference §3.4).
pub const SCORES_PER_SAMPLE: u32 = 2;

// §3.1 constants (LARGEST_SIGNIFICANT_PROBABILITY, SMALL_PROBABILITY, MINUSCULE_PROBABILITY).
const LARGEST_SIGNIFICANT_PROBABILITY: f64 = 0.05;
const SMALL_PROBABILITY: f64 = 1e-4;
const MINUSCULE_PROBABILITY: f64 = 1e-50;
// §2.2 item 4: each posterior sample is scaled by this before the table look-up.
const SAMPLE_SCALE: f64 = 1.05;
// Keeps sums of concentrations finite whatever the caller passes.
const MAX_CONCENTRATION: f64 = 1e150;
// Shapes above which Beta bins use the scaled normal-limit computation.
const LARGE_SHAPE: f64 = 1e6;

/// Clamp a probability into [DBL_MIN, 1]; NaN means "no evidence", i.e. 1 (reference §3.2: leaf
/// probabilities are truncated to [DBL_MIN, 1]).
fn clamp_probability(p: f64) -> f64 {
    if p.is_nan() {
        1.0
    } else {
        p.clamp(f64::MIN_POSITIVE, 1.0)
    }
}

fn clamp_score(s: f64) -> f64 {
    if s.is_nan() {
        0.0
    } else {
        s.clamp(0.0, 100.0)
    }
}

fn clamp_concentration(a: f64) -> f64 {
    if a.is_nan() || a <= 0.0 {
        0.0
    } else {
        a.min(MAX_CONCENTRATION)
    }
}

/// Raw anomaly score in [0, 100] of a probability `p` (`CTools::anomalyScore`, reference §3.1):
/// 0 for `p ≥ 0.05`; `(1/p − 20)/(10000 − 20)` in (0, 1] down to 1e-4; log-linear to 50 at 1e-50;
/// log-linear to 100 at `f64::MIN_POSITIVE` (DBL_MIN). NaN is treated as 1, `p` is clamped to [DBL_MIN, 1].
pub fn anomaly_score(p: f64) -> f64 {
    let p = clamp_probability(p);
    let ln_small = -SMALL_PROBABILITY.ln();
    let ln_minuscule = -MINUSCULE_PROBABILITY.ln();
    let ln_smallest = -f64::MIN_POSITIVE.ln();
    let s = if p >= LARGEST_SIGNIFICANT_PROBABILITY {
        0.0
    } else if p >= SMALL_PROBABILITY {
        (1.0 / p - 1.0 / LARGEST_SIGNIFICANT_PROBABILITY)
            / (1.0 / SMALL_PROBABILITY - 1.0 / LARGEST_SIGNIFICANT_PROBABILITY)
    } else if p >= MINUSCULE_PROBABILITY {
        1.0 + 49.0 * (-p.ln() - ln_small) / (ln_minuscule - ln_small)
    } else {
        50.0 + 50.0 * (-p.ln() - ln_minuscule) / (ln_smallest - ln_minuscule)
    };
    clamp_score(s)
}

/// Exact inverse of [`anomaly_score`] (`CTools::inverseAnomalyScore`, reference §3.1): the probability
/// whose raw score is `score`. A score ≤ 0 (or NaN) gives 0.05, the largest probability with score 0;
/// a score ≥ 100 gives DBL_MIN.
pub fn inverse_anomaly_score(score: f64) -> f64 {
    let s = clamp_score(score);
    let ln_small = -SMALL_PROBABILITY.ln();
    let ln_minuscule = -MINUSCULE_PROBABILITY.ln();
    let ln_smallest = -f64::MIN_POSITIVE.ln();
    if s <= 0.0 {
        LARGEST_SIGNIFICANT_PROBABILITY
    } else if s <= 1.0 {
        1.0 / (1.0 / LARGEST_SIGNIFICANT_PROBABILITY
            + s * (1.0 / SMALL_PROBABILITY - 1.0 / LARGEST_SIGNIFICANT_PROBABILITY))
    } else if s <= 50.0 {
        (-(ln_small + (s - 1.0) * (ln_minuscule - ln_small) / 49.0)).exp()
    } else if s < 100.0 {
        let p = (-(ln_minuscule + (s - 50.0) * (ln_smallest - ln_minuscule) / 50.0)).exp();
        p.max(f64::MIN_POSITIVE)
    } else {
        f64::MIN_POSITIVE
    }
}

/// Raw score a record feeds to the normaliser: 0 if `p > 0.035` (the result is not anomalous and not
/// written), else [`anomaly_score`]`(p)` (reference §3.4 "Which normalizer each result uses").
pub fn normalizer_raw_score(p: f64) -> f64 {
    let p = clamp_probability(p);
    if p > MAX_ANOMALOUS_PROBABILITY {
        0.0
    } else {
        anomaly_score(p)
    }
}

/// Log-probability ceiling `c3 = 100·(0.95·M·(ln p − ln 0.05) + 0.05)` on the normalised score,
/// clamped to [0, 100] (reference §3.4): 5 at p = 0.05, ≈64.8 at 1e-3 (the
/// reference says 61.6, an arithmetic slip: its own table gives 62.2 at 1.19e-3), 75 at ≈5.13e-4, 100 at 1e-4.
pub fn log_probability_ceiling(p: f64) -> f64 {
    let p = clamp_probability(p);
    let c = 100.0 * (0.95 * LOG_PROB_CEILING_SLOPE * (p.ln() - LARGEST_SIGNIFICANT_PROBABILITY.ln()) + 0.05);
    clamp_score(c)
}

/// Max-score ceiling `c2 = 100·min(1.5·r, 0.5 + 0.5·r)` with `r = raw / max_raw_for_scope`, the ratio
/// of a raw score to the largest (decayed) raw score of its scope (reference §3.4). `r` is clamped to
/// [0, 1]; an unknown or zero maximum means this is the scope's first score, so `r = 1` and c2 = 100.
pub fn max_score_ceiling(raw: f64, max_raw_for_scope: f64) -> f64 {
    let raw = clamp_score(raw);
    let max = clamp_score(max_raw_for_scope);
    let r = if max > 0.0 { (raw / max).clamp(0.0, 1.0) } else { 1.0 };
    clamp_score(100.0 * (1.5 * r).min(0.5 + 0.5 * r))
}

/// Severity label of a normalised score (`normalizedScoreToSeverity`, reference §3.4): "warning" below
/// 25, "minor" below 50, "major" below 75, "critical" from 75. NaN is "warning".
pub fn severity_label(score: f64) -> &'static str {
    let s = clamp_score(score);
    if s < 25.0 {
        "warning"
    } else if s < 50.0 {
        "minor"
    } else if s < 75.0 {
        "major"
    } else {
        "critical"
    }
}

/// Number of posterior samples used to smooth the category probability, by total concentration `a0`
/// (`numberPriorSamples`, reference §2.2 item 4): 7 if a0 ≤ 100, 5 if ≤ 1000, 3 if ≤ 10000, else 1.
pub fn number_prior_samples(a0: f64) -> usize {
    if a0 <= 100.0 {
        7
    } else if a0 <= 1000.0 {
        5
    } else if a0 <= 10000.0 {
        3
    } else {
        1
    }
}

/// Conditional means of Beta(a, b) over its `n` equal-probability quantile bins
/// `(q_{k−1}, q_k]`, `q_k = F⁻¹(k/n)` (`generateBetaSamples`, reference §2.2 item 4), ascending.
///
/// Exact via `E[X | bin k] = n·a/(a+b)·(I_{q_k}(a+1, b) − I_{q_{k−1}}(a+1, b))`, so the samples
/// average to `a/(a+b)` by construction. Relative error < 1e-11 for a ∈ [0.05, 900], b ∈ [0.3, 1e5]
/// (checked against 30-digit mpmath; the rare model needs a0 ≤ 1e4, as a0 > 1e4 uses one sample,
/// the mean), degrading ∝ max(a, b)·1e-16 beyond (~1e-7 at 1e9); above 1e6 on both shapes the
/// normal limit is used (see the body). Output is always non-decreasing and within [0, 1].
/// Degenerate inputs: `n = 0` gives no samples; `a ≤ 0` (or NaN) is a point mass at 0, `b ≤ 0` at 1.
pub fn beta_bin_conditional_means(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let a = clamp_concentration(a);
    let b = clamp_concentration(b);
    if a <= 0.0 {
        return vec![0.0; n];
    }
    if b <= 0.0 {
        return vec![1.0; n];
    }
    let mean = a / (a + b);
    if n == 1 {
        return vec![mean];
    }
    // Beyond ~1e6 on both shapes the continued fraction needs too many terms; the Beta is then
    // normal to within skewness 2/√min(a,b), so compute the bins at shapes scaled down to 1e6
    // (same mean) and shrink their spread about the mean to the true standard deviation. The
    // error is of order 1e-6 of the mean.
    if a.min(b) > LARGE_SHAPE {
        let scale = LARGE_SHAPE / a.min(b);
        let (a_s, b_s) = (a * scale, b * scale);
        let shrink = ((a_s + b_s + 1.0) / (a + b + 1.0)).sqrt();
        return beta_bins_by_incomplete_beta(a_s, b_s, n)
            .into_iter()
            .map(|m| (mean + (m - mean) * shrink).clamp(0.0, 1.0))
            .collect();
    }
    beta_bins_by_incomplete_beta(a, b, n)
}

/// [`beta_bin_conditional_means`] for a, b > 0 and n ≥ 2, through the incomplete beta identity.
fn beta_bins_by_incomplete_beta(a: f64, b: f64, n: usize) -> Vec<f64> {
    let mean = a / (a + b);
    // For each boundary q_k keep both tails of Beta(a+1, b): L_k = I_{q_k}(a+1, b) and
    // U_k = 1 − L_k, each computed directly from ln q_k and ln(1 − q_k). Differencing whichever is
    // small keeps bins accurate when quantiles crowd against 0 or 1 (U-shaped Betas with a, b ≪ 1).
    let mut out = Vec::with_capacity(n);
    let (mut lower_prev, mut upper_prev) = (0.0, 1.0); // q_0 = 0
    for k in 1..=n {
        let (lower, upper) = if k == n {
            (1.0, 0.0) // q_n = 1
        } else {
            let (ln_q, ln_1mq) = ln_beta_quantile(a, b, k as f64 / n as f64);
            let (ln_lower, ln_upper) = ln_incomplete_beta_tails(a + 1.0, b, ln_q, ln_1mq);
            (ln_lower.exp(), ln_upper.exp())
        };
        let mass = if lower <= upper {
            lower - lower_prev
        } else {
            upper_prev - upper
        };
        // True bin means increase strictly; a running max only absorbs rounding at extreme shapes
        // and keeps the monotonicity of P in the concentration unconditional.
        let floor = out.last().copied().unwrap_or(0.0);
        out.push((n as f64 * mean * mass).clamp(floor, 1.0));
        lower_prev = lower;
        upper_prev = upper;
    }
    out
}

/// Probability of the categories no more likely than category `index`, given Dirichlet concentrations
/// (`probabilitiesOfLessLikelyCategories`, reference §2.2 item 4).
///
/// `E[p_j] = a_j/a0`; the sorted `E[p]` table carries cumulative sums in which tied values share the
/// cumulative value. The posterior Beta(a_i, a0 − a_i) of `p_i` gives
/// [`number_prior_samples`]`(a0)` samples ([`beta_bin_conditional_means`]); each is ×1.05, located in
/// the table and its cumulative share linearly interpolated (from (0, 0) below the first entry, 1
/// above the last); the average is returned, clamped to [0, 1]. Zero or one category, an index out
/// of range, or a zero total give 1.0. Negative/NaN concentrations count as 0, so a zero-concentration
/// category has P = 0 (score it only after adding its sample, §2.1).
pub fn probability_of_less_likely_categories(concentrations: &[f64], index: usize) -> f64 {
    if concentrations.len() <= 1 || index >= concentrations.len() {
        return 1.0;
    }
    let conc: Vec<f64> = concentrations.iter().map(|&a| clamp_concentration(a)).collect();
    let a0: f64 = conc.iter().sum();
    if !(a0 > 0.0 && a0.is_finite()) {
        return 1.0;
    }
    let table = cumulative_table(&conc, a0);
    let ai = conc[index];
    let n = number_prior_samples(a0);
    let samples = beta_bin_conditional_means(ai, (a0 - ai).max(0.0), n);
    let total: f64 = samples
        .iter()
        .map(|&s| interpolate_cumulative(&table, SAMPLE_SCALE * s))
        .sum();
    let p = total / n as f64;
    if p.is_nan() {
        1.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// Relative rarity `median(a_j) / a_i` of category `index` (`by_field_relative_rarity`, reference §2.2
/// item 6). The median of an even count is the mean of the two middle values. An empty slice or an
/// index out of range gives 1.0; a zero `a_i` gives `f64::MAX` (infinitely rare, kept finite for JSON).
pub fn relative_rarity(concentrations: &[f64], index: usize) -> f64 {
    let Some(&ai) = concentrations.get(index) else {
        return 1.0;
    };
    let ai = clamp_concentration(ai);
    let mut sorted: Vec<f64> = concentrations.iter().map(|&a| clamp_concentration(a)).collect();
    crate::sort::sort_by(&mut sorted, f64::total_cmp);
    let m = sorted.len();
    let median = if m % 2 == 1 {
        sorted[m / 2]
    } else {
        0.5 * (sorted[m / 2 - 1] + sorted[m / 2])
    };
    if ai <= 0.0 {
        return if median > 0.0 { f64::MAX } else { 1.0 };
    }
    let r = median / ai;
    if r.is_finite() {
        r
    } else {
        f64::MAX
    }
}

/// Sorted `(E[p], cumulative share)` table with one entry per distinct `E[p]`; a tie group's
/// cumulative value includes every member of the group (§2.2 item 4).
fn cumulative_table(conc: &[f64], a0: f64) -> Vec<(f64, f64)> {
    let mut expected: Vec<f64> = conc.iter().map(|&a| a / a0).collect();
    crate::sort::sort_by(&mut expected, f64::total_cmp);
    let mut table: Vec<(f64, f64)> = Vec::with_capacity(expected.len());
    let mut cumulative = 0.0;
    for e in expected {
        cumulative += e;
        match table.last_mut() {
            Some(last) if last.0 == e => last.1 = cumulative,
            _ => table.push((e, cumulative)),
        }
    }
    table
}

/// Linear interpolation of the cumulative share at `x` in the table, anchored at (0, 0) and flat
/// beyond the last entry.
fn interpolate_cumulative(table: &[(f64, f64)], x: f64) -> f64 {
    let Some(&(e_last, c_last)) = table.last() else {
        return 1.0;
    };
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    if x >= e_last {
        return c_last.min(1.0);
    }
    // First entry with E[p] > x; the one before it (or the (0, 0) anchor) is ≤ x.
    let k = table.partition_point(|&(e, _)| e <= x);
    let (e_hi, c_hi) = table[k];
    let (e_lo, c_lo) = if k == 0 { (0.0, 0.0) } else { table[k - 1] };
    if e_hi <= e_lo {
        return c_hi;
    }
    c_lo + (c_hi - c_lo) * (x - e_lo) / (e_hi - e_lo)
}

// ---------------------------------------------------------------------------------------------
// Special functions: ln Γ, regularised incomplete beta I_x(a, b) and its inverse.
// ---------------------------------------------------------------------------------------------

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~1e-15 relative), reflection below 0.5.
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    #[allow(clippy::excessive_precision)]
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_93,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_13,
        -176.615_029_162_140_59,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_571_6e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x)Γ(1−x) = π / sin(πx); for 0 < x < 0.5 the sine is positive.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEF[0];
    for (i, &c) in COEF.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Stirling remainder `ln Γ(x) − ((x − ½) ln x − x + ½ ln 2π)` for x ≥ 10 (error < 1e-15).
fn ln_gamma_correction(x: f64) -> f64 {
    let r = 1.0 / x;
    let r2 = r * r;
    r * (1.0 / 12.0
        - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0 - r2 * (1.0 / 1188.0 - r2 * 691.0 / 360_360.0)))))
}

/// ln B(a, b). For large shapes the Stirling terms are combined before subtracting, because
/// `ln Γ(a) + ln Γ(b) − ln Γ(a + b)` loses ~|ln Γ(b)|·1e-16 to cancellation (1e-3 at b = 1e12).
fn ln_beta(a: f64, b: f64) -> f64 {
    let (p, q) = if a <= b { (a, b) } else { (b, a) };
    let ln_sqrt_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let ratio = p / (p + q);
    if p >= 10.0 {
        let corr = ln_gamma_correction(p) + ln_gamma_correction(q) - ln_gamma_correction(p + q);
        -0.5 * q.ln() + ln_sqrt_2pi + corr + (p - 0.5) * ratio.ln() + q * (-ratio).ln_1p()
    } else if q >= 10.0 {
        let corr = ln_gamma_correction(q) - ln_gamma_correction(p + q);
        ln_gamma(p) + corr + p - p * (p + q).ln() + (q - 0.5) * (-ratio).ln_1p()
    } else {
        ln_gamma(p) + ln_gamma(q) - ln_gamma(p + q)
    }
}

/// Continued fraction of I_x(a, b) (modified Lentz) and whether it converged. It converges fast
/// for x < (a+1)/(a+b+2), but needs ever more terms near that point when a shape is huge.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> (f64, bool) {
    const MAX_ITERATIONS: usize = 20_000;
    const EPS: f64 = 1e-15;
    const TINY: f64 = 1e-300;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=MAX_ITERATIONS {
        let m = m as f64;
        let m2 = 2.0 * m;
        // Even step.
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        // Odd step.
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < EPS {
            return (h, true);
        }
    }
    (h, false)
}

/// `(ln I_x(a, b), ln(1 − I_x(a, b)))` for a, b > 0, given `ln x` and `ln(1 − x)`.
///
/// Taking both logarithms lets callers pass a point whose `x` or `1 − x` is far below the smallest
/// double (quantiles of Beta(a, b) with a or b ≪ 1), and returning both tails in log form keeps
/// whichever of `I`, `1 − I` is small accurate instead of rounding it against 1.
fn ln_incomplete_beta_tails(a: f64, b: f64, ln_x: f64, ln_1mx: f64) -> (f64, f64) {
    let x = ln_x.exp();
    let ln_front = a * ln_x + b * ln_1mx - ln_beta(a, b);
    let y = ln_1mx.exp();
    // Direct fraction for I, or the fraction of Beta(b, a) at 1 − x for 1 − I: the preferred one
    // converges fastest; the other is the fallback if it did not converge. (The complement
    // fraction loses ~b·1e-16 relative when its first shape b is huge: 1e-11 at 1e5, 1e-7 at 1e9.)
    let lower_first = x < (a + 1.0) / (a + b + 2.0);
    let preferred = if lower_first {
        beta_continued_fraction(a, b, x)
    } else {
        beta_continued_fraction(b, a, y)
    };
    let (use_lower, cf) = match preferred {
        (cf, true) => (lower_first, cf),
        (cf_preferred, false) => {
            let other = if lower_first {
                beta_continued_fraction(b, a, y)
            } else {
                beta_continued_fraction(a, b, x)
            };
            match other {
                (cf, true) => (!lower_first, cf),
                _ => (lower_first, cf_preferred),
            }
        }
    };
    let (ln_lower, ln_upper) = if use_lower {
        let ln_lower = ln_front + cf.ln() - a.ln();
        (ln_lower, (-ln_lower.exp().min(1.0)).ln_1p())
    } else {
        let ln_upper = ln_front + cf.ln() - b.ln();
        ((-ln_upper.exp().min(1.0)).ln_1p(), ln_upper)
    };
    // Guard against a non-converged fraction for absurd shapes: keep the result a valid split.
    if ln_lower.is_nan() || ln_upper.is_nan() {
        return if x < a / (a + b) {
            (f64::NEG_INFINITY, 0.0)
        } else {
            (0.0, f64::NEG_INFINITY)
        };
    }
    (ln_lower.min(0.0), ln_upper.min(0.0))
}

/// Regularised incomplete beta I_x(a, b) for a, b > 0, in [0, 1].
fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    ln_incomplete_beta_tails(a, b, x.ln(), (-x).ln_1p()).0.exp()
}

/// The `p` quantile of Beta(a, b) as `(ln x, ln(1 − x))`, for a, b > 0.
///
/// A quantile below ½ is solved in the lower tail of Beta(a, b) in the variable ln x; one above ½
/// in the lower tail of Beta(b, a) in ln(1 − x). So whichever of `x`, `1 − x` is small keeps full
/// relative precision even below the smallest double (x ≈ p^(1/a) when a ≪ 1).
fn ln_beta_quantile(a: f64, b: f64, p: f64) -> (f64, f64) {
    if p.is_nan() || p <= 0.0 {
        return (f64::NEG_INFINITY, 0.0);
    }
    if p >= 1.0 {
        return (0.0, f64::NEG_INFINITY);
    }
    if p <= regularized_incomplete_beta(a, b, 0.5) {
        let u = solve_ln_lower_tail(a, b, p.ln());
        (u, (-u.exp()).ln_1p())
    } else {
        let v = solve_ln_lower_tail(b, a, (-p).ln_1p());
        ((-v.exp()).ln_1p(), v)
    }
}

#[cfg(test)]
fn inverse_regularized_incomplete_beta(a: f64, b: f64, p: f64) -> f64 {
    ln_beta_quantile(a, b, p).0.exp()
}

/// Solve ln I_y(a, b) = `ln_target` for u = ln y ≤ ln ½, given I_½(a, b) ≥ exp(ln_target).
///
/// In (ln y, ln I) coordinates the lower tail is nearly a straight line of slope a, so safeguarded
/// Newton from the asymptote converges in a few steps; bisection of the bracket is the fallback.
fn solve_ln_lower_tail(a: f64, b: f64, ln_target: f64) -> f64 {
    const MAX_ITERATIONS: usize = 200;
    let f = |u: f64| ln_incomplete_beta_tails(a, b, u, (-u.exp()).ln_1p()).0 - ln_target;
    let ln_b = ln_beta(a, b);
    let mut hi = 0.5_f64.ln();
    // Small-y asymptote I_y ≈ y^a / (a·B(a, b)) gives the starting point.
    let mut u = ((ln_target + a.ln() + ln_b) / a).min(hi);
    if !u.is_finite() {
        u = hi;
    }
    let mut fu = f(u);
    // Bracket [lo, hi] with f(lo) < 0 ≤ f(hi), stepping down geometrically from the guess.
    let mut lo;
    if fu >= 0.0 {
        hi = u;
        let mut step = 1.0_f64;
        loop {
            lo = u - step;
            if !lo.is_finite() {
                return f64::NEG_INFINITY;
            }
            if f(lo) < 0.0 {
                break;
            }
            hi = lo;
            step *= 2.0;
        }
        u = 0.5 * (lo + hi);
        fu = f(u);
    } else {
        lo = u;
    }
    for _ in 0..MAX_ITERATIONS {
        if fu.is_nan() {
            break;
        }
        if fu < 0.0 {
            lo = u;
        } else {
            hi = u;
        }
        // d ln I / d ln y = y·pdf(y) / I_y.
        let ln_slope = a * u + (b - 1.0) * (-u.exp()).ln_1p() - ln_b - (fu + ln_target);
        let mut next = u - fu / ln_slope.exp();
        if !(next > lo && next < hi && next.is_finite()) {
            next = 0.5 * (lo + hi);
        }
        let converged = (next - u).abs() <= 1e-14 * (1.0 + u.abs()) || hi - lo <= 1e-15 * (1.0 + u.abs());
        u = next;
        fu = f(u);
        if converged {
            break;
        }
    }
    u.min(0.5_f64.ln())
}

// ---------------------------------------------------------------------------------------------
// Score normaliser.
// ---------------------------------------------------------------------------------------------

/// Largest (decayed) raw score of one scope and how long since the scope last got a score.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
struct ScopeMax {
    max_raw: f64,
    idle_buckets: u32,
}

/// Elastic's record-score normaliser for one detector (reference §3.4, simplified but faithful).
///
/// State: one quantile sketch over **all** raw scores of the job (all users and IPs share it, as
/// Elastic keys record normalisers by field *names*), and the largest raw score per scope, a `u64`
/// hash of (user, IP) chosen by the caller.
///
/// * The sketch stores discretised scores `u32(1000·raw + 0.5)`; the max of every
///   [`SCORES_PER_SAMPLE`] (2) scores fed is added with weight 1. Elastic uses two q-digests (all
///   scores + a fine one above the 90th percentile); we keep an **exact** decayed histogram instead,
///   bounded by 100 001 distinct keys, so percentiles carry no digest error.
/// * The sketch is aged by `exp(−0.00025·20)` once every [`QUANTILE_DECAY_TIME`] (20) buckets.
/// * Scope maxima age by `exp(−2·0.00025)` per bucket and are forgotten after more than
///   [`FORGET_MAX_SCORE_INTERVAL`] (50) buckets without a score for the scope.
///
/// Order of use per closed (final) job bucket, including buckets without records:
/// 1. [`advance_buckets`](Self::advance_buckets)`(1)` (or `(k)` after a gap of k buckets);
/// 2. [`observe`](Self::observe)`(raw, scope)` for **every** (user, IP) result of the bucket, including
///    the non-anomalous ones with raw 0 (they are what makes most of the distribution 0);
/// 3. [`normalize`](Self::normalize) each record to write.
///
/// A bucket with no results feeds nothing: record normalisers only see the leaves that exist, so
/// there is no `observe_bucket_without_records`. Interim results must not call `observe`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ScoreNormalizer {
    /// Decayed weight per discretised raw score.
    histogram: BTreeMap<u32, f64>,
    /// First score of a not yet complete sample of [`SCORES_PER_SAMPLE`].
    pending_sample: Option<u32>,
    /// Buckets elapsed since the sketch was last aged (< [`QUANTILE_DECAY_TIME`]).
    quantile_decay_clock: u32,
    /// Largest raw score per scope.
    scope_max: BTreeMap<u64, ScopeMax>,
}

impl ScoreNormalizer {
    /// An empty normaliser (no scores seen).
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed one result's raw score (in [0, 100], use [`normalizer_raw_score`]) for `scope`, a hash of
    /// (user, IP). Updates the quantile sketch (every second score) and the scope's maximum.
    pub fn observe(&mut self, raw: f64, scope: u64) {
        let raw = clamp_score(raw);
        let key = discretise(raw);
        match self.pending_sample.take() {
            None => self.pending_sample = Some(key),
            Some(previous) => *self.histogram.entry(previous.max(key)).or_insert(0.0) += 1.0,
        }
        match self.scope_max.get_mut(&scope) {
            Some(entry) => {
                entry.max_raw = entry.max_raw.max(raw);
                entry.idle_buckets = 0;
            }
            // A zero score for an unknown scope changes nothing a later score would see (the max
            // would be 0, which any later score replaces), so it is not stored.
            None if raw > 0.0 => {
                self.scope_max.insert(
                    scope,
                    ScopeMax {
                        max_raw: raw,
                        idle_buckets: 0,
                    },
                );
            }
            None => {}
        }
    }

    /// Age the state by `n` job buckets (empty buckets count): the sketch decays once per completed
    /// [`QUANTILE_DECAY_TIME`] period, scope maxima decay every bucket and are dropped when idle too long.
    pub fn advance_buckets(&mut self, n: u32) {
        if n == 0 {
            return;
        }
        let clock = u64::from(self.quantile_decay_clock) + u64::from(n);
        let periods = clock / u64::from(QUANTILE_DECAY_TIME);
        self.quantile_decay_clock = (clock % u64::from(QUANTILE_DECAY_TIME)) as u32;
        if periods > 0 {
            let factor = (-DECAY_RATE_PER_ACTIVE_BUCKET * f64::from(QUANTILE_DECAY_TIME) * periods as f64).exp();
            for w in self.histogram.values_mut() {
                *w *= factor;
            }
            // Only weights that underflowed are dropped; anything else still counts.
            self.histogram.retain(|_, w| *w > 0.0);
        }
        let factor = (-2.0 * DECAY_RATE_PER_ACTIVE_BUCKET * f64::from(n)).exp();
        self.scope_max.retain(|_, entry| {
            entry.max_raw *= factor;
            entry.idle_buckets = entry.idle_buckets.saturating_add(n);
            entry.idle_buckets <= FORGET_MAX_SCORE_INTERVAL
        });
    }

    /// Normalised record score in [0, 100]: `min(100, c0, c1, c2, c3)` (reference §3.4) for a record
    /// with raw score `raw`, probability `probability` and scope `scope`. A raw score of 0 (not
    /// anomalous, never written by Elastic) normalises to 0.
    pub fn normalize(&self, raw: f64, probability: f64, scope: u64) -> f64 {
        let raw = clamp_score(raw);
        let key = discretise(raw);
        if key == 0 {
            return 0.0;
        }
        let (c0, c1) = self.quantile_ceilings(key);
        let c2 = match self.scope_max.get(&scope) {
            Some(entry) => max_score_ceiling(raw, entry.max_raw),
            None => 100.0,
        };
        let c3 = log_probability_ceiling(probability);
        clamp_score(100.0_f64.min(c0).min(c1).min(c2).min(c3))
    }

    /// Estimated heap + inline size in bytes (BTreeMap nodes are taken as ~2/3 full).
    pub fn memory_bytes(&self) -> usize {
        fn btree_entry(kv: usize) -> usize {
            kv * 3 / 2 + 4
        }
        std::mem::size_of::<Self>()
            + self.histogram.len() * btree_entry(std::mem::size_of::<u32>() + std::mem::size_of::<f64>())
            + self.scope_max.len() * btree_entry(std::mem::size_of::<u64>() + std::mem::size_of::<ScopeMax>())
    }

    /// `(c0, c1)` for a discretised score, from the sketch. An empty sketch gives no ceiling (100, 100).
    ///
    /// c1: lower/upper percentiles are the weight strictly below / at most `key` over the total, each
    /// mapped through [`NORMALIZED_SCORE_KNOT_POINTS`], averaged.
    /// c0: `y(70) · max(1 + 10/1000·(key − q50), 0) + 100·max(2·min(F(0)ₗ + F(0)ᵤ, 1) − 1, 0)`. The
    /// histogram is exact, so the CDF at 0 has no confidence band: F(0)ₗ = F(0)ᵤ = weight at 0 / total.
    fn quantile_ceilings(&self, key: u32) -> (f64, f64) {
        let total: f64 = self.histogram.values().sum();
        if total.is_nan() || total <= 0.0 {
            return (100.0, 100.0);
        }
        let mut below = 0.0;
        let mut at_or_below = 0.0;
        let mut median_key = None;
        let mut running = 0.0;
        for (&k, &w) in &self.histogram {
            running += w;
            if median_key.is_none() && running >= 0.5 * total {
                median_key = Some(k);
            }
            if k < key {
                below += w;
            }
            if k <= key {
                at_or_below = running;
            }
        }
        let lower = 100.0 * below / total;
        let upper = 100.0 * at_or_below / total;
        let c1 = 0.5 * (knot_map(lower) + knot_map(upper));

        let q50 = f64::from(median_key.unwrap_or(0));
        let f0 = self.histogram.get(&0).copied().unwrap_or(0.0) / total;
        let noise_knot_y = NORMALIZED_SCORE_KNOT_POINTS[1].1; // first knot with x ≥ 50
        let signal = 10.0 / DISCRETIZATION_FACTOR * (f64::from(key) - q50);
        let c0 = noise_knot_y * (1.0 + signal).max(0.0) + 100.0 * (2.0 * (2.0 * f0).min(1.0) - 1.0).max(0.0);
        (c0, c1)
    }
}

/// `u32(1000·raw + 0.5)` for raw already clamped to [0, 100].
fn discretise(raw: f64) -> u32 {
    (DISCRETIZATION_FACTOR * raw + 0.5) as u32
}

/// Piecewise-linear map of a percentile (%) through the knot points.
fn knot_map(percentile: f64) -> f64 {
    let x = if percentile.is_nan() {
        0.0
    } else {
        percentile.clamp(0.0, 100.0)
    };
    for pair in NORMALIZED_SCORE_KNOT_POINTS.windows(2) {
        let (x0, y0) = pair[0];
        let (x1, y1) = pair[1];
        if x <= x1 {
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        }
    }
    100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_rel(actual: f64, expected: f64, tol: f64, what: &str) {
        let rel = ((actual - expected) / expected).abs();
        assert!(rel <= tol, "{what}: {actual:e} vs {expected:e} (rel {rel:e} > {tol:e})");
    }

    /// Tiny deterministic LCG (Knuth MMIX constants) for property loops.
    struct Lcg(u64);
    impl Lcg {
        fn next_f64(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn slope_constant_matches_its_definition() {
        let m = 1.0 / (SMALL_PROBABILITY.ln() - LARGEST_SIGNIFICANT_PROBABILITY.ln());
        assert_rel(LOG_PROB_CEILING_SLOPE, m, 1e-15, "M");
        assert_rel(
            DECAY_RATE_PER_ACTIVE_BUCKET,
            0.0005 * (900.0_f64 / 1800.0).min(1.0),
            1e-15,
            "decay",
        );
    }

    #[test]
    fn anomaly_score_breakpoints_and_inverse_round_trip() {
        // Expected values from the §3.1 formulas (tests/elastic_math_check.py `anomaly_score`).
        let cases = [
            (0.05, 0.0),
            (0.01, 0.008_016_032_064_128_256),
            (1e-4, 1.0),
            (1e-20, 18.043_478_260_869_566),
            (1e-50, 50.0),
            (1e-100, 59.702_985_573_670_844),
            (1e-300, 98.514_927_868_354_22),
        ];
        for (p, expected) in cases {
            let s = anomaly_score(p);
            assert!((s - expected).abs() < 1e-9, "score({p:e}) = {s}");
            let back = inverse_anomaly_score(s);
            assert_rel(back, p, 1e-9, "inverse round trip");
        }
        assert_eq!(anomaly_score(f64::MIN_POSITIVE), 100.0);
        assert_eq!(anomaly_score(0.0), 100.0);
        assert_eq!(anomaly_score(1.0), 0.0);
        assert_eq!(anomaly_score(f64::NAN), 0.0);
        assert_eq!(anomaly_score(f64::INFINITY), 0.0);
        assert_eq!(anomaly_score(-1.0), 100.0);
        assert_eq!(inverse_anomaly_score(0.0), 0.05);
        assert_eq!(inverse_anomaly_score(f64::NAN), 0.05);
        assert_eq!(inverse_anomaly_score(100.0), f64::MIN_POSITIVE);
        assert_eq!(inverse_anomaly_score(f64::INFINITY), f64::MIN_POSITIVE);
        // Continuous and increasing across the breakpoints.
        let mut previous = -1.0;
        for i in 0..=3000 {
            let s = anomaly_score(10f64.powf(-(i as f64) * 0.1));
            assert!(s >= previous, "not monotone at step {i}");
            previous = s;
        }
        assert_eq!(normalizer_raw_score(0.04), 0.0);
        assert_eq!(normalizer_raw_score(0.01), anomaly_score(0.01));
    }

    #[test]
    fn log_probability_ceiling_values() {
        assert!((log_probability_ceiling(0.05) - 5.0).abs() < 1e-9);
        // The reference prints 61.6 for p = 1e-3, but its formula gives 64.80 (and its own table
        // gives 62.2 at p = 1.19e-3, which this formula reproduces): 61.6 is an arithmetic slip.
        assert!((log_probability_ceiling(1e-3) - 64.801_387).abs() < 1e-4);
        assert!((log_probability_ceiling(1.19e-3) - 62.2).abs() < 0.1);
        assert!((log_probability_ceiling(5.13e-4) - 75.0).abs() < 0.5);
        assert!((log_probability_ceiling(1e-4) - 100.0).abs() < 0.5);
        assert_eq!(log_probability_ceiling(1.0), 0.0);
        assert_eq!(log_probability_ceiling(0.0), 100.0);
        assert_eq!(log_probability_ceiling(f64::NAN), 0.0);
    }

    #[test]
    fn max_score_ceiling_and_severity() {
        assert_eq!(max_score_ceiling(0.3, 0.3), 100.0);
        assert_eq!(max_score_ceiling(0.3, 0.0), 100.0);
        assert_eq!(max_score_ceiling(0.5, 0.3), 100.0);
        assert!((max_score_ceiling(0.15, 0.3) - 75.0).abs() < 1e-12);
        assert!((max_score_ceiling(0.03, 0.3) - 15.0).abs() < 1e-12);
        assert_eq!(max_score_ceiling(f64::NAN, f64::NAN), 100.0);
        assert_eq!(severity_label(0.0), "warning");
        assert_eq!(severity_label(24.99), "warning");
        assert_eq!(severity_label(25.0), "minor");
        assert_eq!(severity_label(49.99), "minor");
        assert_eq!(severity_label(50.0), "major");
        assert_eq!(severity_label(74.99), "major");
        assert_eq!(severity_label(75.0), "critical");
        assert_eq!(severity_label(f64::NAN), "warning");
        assert_eq!(number_prior_samples(100.0), 7);
        assert_eq!(number_prior_samples(100.1), 5);
        assert_eq!(number_prior_samples(1000.0), 5);
        assert_eq!(number_prior_samples(10000.0), 3);
        assert_eq!(number_prior_samples(10000.1), 1);
        assert_eq!(number_prior_samples(f64::NAN), 1);
    }

    /// Concentrations after `habitual_buckets` active buckets with only the habitual IP, then one
    /// more active bucket with the habitual IP and a brand-new one (each: +1, then ×exp(−0.00025)).
    fn habitual_then_new(habitual_buckets: u32) -> [f64; 2] {
        let alpha = (-DECAY_RATE_PER_ACTIVE_BUCKET).exp();
        let mut habitual = 0.0;
        for _ in 0..habitual_buckets {
            habitual = (habitual + 1.0) * alpha;
        }
        [(habitual + 1.0) * alpha, alpha]
    }

    #[test]
    fn worked_table_new_ip_for_a_habitual_user() {
        // tests/elastic_math_check.py (quadrature, independent of the incomplete beta) prints:
        //      N        a0    P(new IP)      raw  ceiling
        //     20     21.94  4.87438e-02   0.0001     5.39
        //    100    100.72  1.04626e-02   0.0076    28.91
        //    500    471.84  2.22662e-03   0.0430    52.56
        //   1000    886.46  1.18470e-03   0.0826    62.21
        //   2000   1575.29  6.66540e-04   0.1483    71.00
        //   4000   2529.53  4.15055e-04   0.2394    78.24
        //  20000   3973.56  2.64206e-04   0.3772    85.15
        //  60000   4000.50  2.62427e-04   0.3798    85.25
        let python = [
            (20, 4.87438e-2),
            (100, 1.04626e-2),
            (500, 2.22662e-3),
            (1000, 1.18470e-3),
            (2000, 6.66540e-4),
            (4000, 4.15055e-4),
            (20000, 2.64206e-4),
            (60000, 2.62427e-4),
        ];
        for (n, expected) in python {
            let c = habitual_then_new(n);
            let p = probability_of_less_likely_categories(&c, 1);
            assert_rel(p, expected, 1e-4, "P vs python");
        }
        // The brief's targets (5 % on P), with ceilings.
        let brief = [
            (100, 1.06e-2, 28.8),
            (500, 2.23e-3, 52.5),
            (2000, 6.7e-4, 71.0),
            (4000, 4.15e-4, 78.2),
            (60000, 2.6e-4, 85.0),
        ];
        for (n, expected, ceiling) in brief {
            let p = probability_of_less_likely_categories(&habitual_then_new(n), 1);
            assert_rel(p, expected, 0.05, "P vs reference");
            assert!((log_probability_ceiling(p) - ceiling).abs() < 0.5, "ceiling at N={n}");
        }
        // The reference table counts the new IP's bucket in N (its a0 column is 20.9, 99.7, 471,
        // 886, 1574, 2529, 3973; "∞" is N = 20000); counted that way it is reproduced to ~1 %.
        let reference = [
            (20, 20.9, 5.1e-2),
            (100, 99.7, 1.06e-2),
            (500, 471.0, 2.23e-3),
            (1000, 886.0, 1.19e-3),
            (2000, 1574.0, 6.7e-4),
            (4000, 2529.0, 4.15e-4),
            (20000, 3973.0, 2.6e-4),
        ];
        for (n, a0, expected) in reference {
            let c = habitual_then_new(n - 1);
            assert!((c[0] + c[1] - a0).abs() < 1.0, "a0 at N={n}");
            let p = probability_of_less_likely_categories(&c, 1);
            assert_rel(p, expected, 0.02, "P vs reference table");
        }
        // N = 20: p > 0.035, so no record (raw 0 for the normaliser).
        let p20 = probability_of_less_likely_categories(&habitual_then_new(19), 1);
        assert_eq!(normalizer_raw_score(p20), 0.0);
        // The habitual IP itself is not anomalous.
        let p_habitual = probability_of_less_likely_categories(&habitual_then_new(100), 0);
        assert!(p_habitual > 0.99, "{p_habitual}");
    }

    #[test]
    fn beta_bin_conditional_means_properties() {
        // Beta(1, 100), 7 bins: closed form from tests/elastic_math_check.py.
        let expected = [
            7.505_784_934_732_564e-4,
            2.422_352_043_929_528e-3,
            4.428_936_566_913_807e-3,
            6.941_150_457_881_979e-3,
            1.030_948_621_471_494e-2,
            1.547_324_347_349_736e-2,
            2.898_118_344_265_845e-2,
        ];
        let got = beta_bin_conditional_means(1.0, 100.0, 7);
        assert_eq!(got.len(), 7);
        for (g, e) in got.iter().zip(expected) {
            assert_rel(*g, e, 1e-9, "Beta(1,100) bin mean");
        }
        let shapes = [
            (1.0, 100.0),
            (0.999_75, 3999.5),
            (1.0, 1e5),
            (0.3, 7.0),
            (5.0, 5.0),
            (50.0, 2.0),
            (0.01, 4000.0),
            (2000.0, 2000.0),
            (1e5, 1e5),
        ];
        for (a, b) in shapes {
            for n in [1, 3, 5, 7] {
                let m = beta_bin_conditional_means(a, b, n);
                let mean = m.iter().sum::<f64>() / n as f64;
                assert_rel(mean, a / (a + b), 1e-9, "average is a/(a+b)");
                for w in m.windows(2) {
                    assert!(w[1] >= w[0], "not increasing for ({a}, {b}, {n}): {m:?}");
                }
                assert!(m.iter().all(|&x| (0.0..=1.0).contains(&x)));
            }
        }
        // Large-b limit: Beta(1, b)·b → Exp(1), whose top-of-7 bin mean is 1 + ln 7.
        let m = beta_bin_conditional_means(1.0, 1e7, 7);
        assert_rel(m[6] * 1e7, 1.0 + 7f64.ln(), 1e-6, "exponential limit");
        // Degenerate inputs.
        assert!(beta_bin_conditional_means(1.0, 1.0, 0).is_empty());
        assert_eq!(beta_bin_conditional_means(0.0, 5.0, 3), vec![0.0; 3]);
        assert_eq!(beta_bin_conditional_means(f64::NAN, 5.0, 3), vec![0.0; 3]);
        assert_eq!(beta_bin_conditional_means(2.0, -1.0, 2), vec![1.0; 2]);
        let inf = beta_bin_conditional_means(f64::INFINITY, 1.0, 3);
        assert!(inf.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn incomplete_beta_and_inverse_agree() {
        for (a, b) in [(1.0, 1.0), (0.5, 0.5), (1.0, 1e5), (0.01, 4000.0), (30.0, 3.0)] {
            for k in 1..20 {
                let p = k as f64 / 20.0;
                let x = inverse_regularized_incomplete_beta(a, b, p);
                let back = regularized_incomplete_beta(a, b, x);
                assert!((back - p).abs() < 1e-12, "({a},{b}) p={p} x={x} back={back}");
            }
        }
        // Closed forms: I_x(1, b) = 1 − (1 − x)^b, I_x(a, 1) = x^a.
        let x = 0.003;
        assert_rel(
            regularized_incomplete_beta(1.0, 250.0, x),
            1.0 - (1.0 - x).powf(250.0),
            1e-12,
            "I(1,b)",
        );
        assert_rel(
            regularized_incomplete_beta(2.5, 1.0, 0.7),
            0.7f64.powf(2.5),
            1e-12,
            "I(a,1)",
        );
        assert_rel(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-14, "lnΓ(½)");
        assert_rel(ln_gamma(101.0), 363.739_375_555_563_47, 1e-14, "lnΓ(101)");
    }

    #[test]
    fn probability_edge_cases() {
        assert_eq!(probability_of_less_likely_categories(&[], 0), 1.0);
        assert_eq!(probability_of_less_likely_categories(&[3.0], 0), 1.0);
        assert_eq!(probability_of_less_likely_categories(&[3.0, 1.0], 7), 1.0);
        assert_eq!(probability_of_less_likely_categories(&[0.0, 0.0], 0), 1.0);
        assert_eq!(probability_of_less_likely_categories(&[f64::NAN, -1.0], 0), 1.0);
        assert_eq!(probability_of_less_likely_categories(&[5.0, 0.0], 1), 0.0);
        let p = probability_of_less_likely_categories(&[f64::INFINITY, 1.0], 1);
        assert!((0.0..=1.0).contains(&p));
        // Equal concentrations tie: each includes the whole tie group.
        let p = probability_of_less_likely_categories(&[10.0, 10.0, 10.0, 10.0], 2);
        assert!(p > 0.9, "{p}");
        assert_rel(relative_rarity(&[4000.0, 1.0, 3.0], 1), 3.0, 1e-15, "rarity");
        assert_rel(relative_rarity(&[4000.0, 1.0], 1), 2000.5, 1e-15, "rarity even");
        assert_eq!(relative_rarity(&[4000.0, 0.0], 1), f64::MAX);
        assert_eq!(relative_rarity(&[], 0), 1.0);
        assert_eq!(relative_rarity(&[1.0], 3), 1.0);
    }

    #[test]
    fn probability_properties_on_random_vectors() {
        let mut rng = Lcg(0x5eed);
        for case in 0..1000 {
            let len = 2 + (rng.next_f64() * 12.0) as usize;
            // Mix of scales so that all four sample counts (7/5/3/1) are exercised.
            let scale = 10f64.powf(rng.next_f64() * 4.5 - 1.0);
            let mut conc: Vec<f64> = (0..len).map(|_| scale * rng.next_f64().powi(3) + 1e-3).collect();
            if case % 10 == 0 {
                conc[1] = conc[0]; // exact ties
            }
            let mut by_conc: Vec<(f64, f64)> = (0..len)
                .map(|i| (conc[i], probability_of_less_likely_categories(&conc, i)))
                .collect();
            for &(_, p) in &by_conc {
                assert!((0.0..=1.0).contains(&p), "case {case}: {p}");
            }
            by_conc.sort_by(|x, y| x.0.total_cmp(&y.0));
            for w in by_conc.windows(2) {
                assert!(
                    w[0].1 <= w[1].1 + 1e-9,
                    "case {case}: rarer {:?} has larger P than {:?} in {conc:?}",
                    w[0],
                    w[1]
                );
                if w[0].0 == w[1].0 {
                    assert_eq!(w[0].1, w[1].1, "ties differ");
                }
            }
        }
    }

    #[test]
    fn normalizer_percentiles_scopes_and_ageing() {
        let mut norm = ScoreNormalizer::new();
        norm.advance_buckets(1);
        for i in 0..1001u64 {
            norm.observe(0.0, i % 50);
        }
        let big_scope = 999_999;
        let big_raw = 0.4;
        norm.observe(big_raw, big_scope); // pairs with the 1001st zero
        assert_eq!(norm.histogram.values().sum::<f64>(), 501.0);
        // 500 zero samples below, the big one at the top: lower 99.80 %, upper 100 %.
        let (c0, c1) = norm.quantile_ceilings(discretise(big_raw));
        assert!(c0 >= 100.0, "c0 {c0}");
        let expected_c1 = 0.5 * (50.0 + 40.0 * (100.0 * 500.0 / 501.0 - 99.0) / 0.9 + 100.0);
        assert!((c1 - expected_c1).abs() < 1e-9 && c1 > 90.0, "c1 {c1}");
        // First score of a new scope: c2 = 100, so c3 decides.
        let p = inverse_anomaly_score(big_raw);
        let score = norm.normalize(big_raw, p, big_scope);
        assert!((score - log_probability_ceiling(p)).abs() < 1e-9, "{score}");
        assert!((score - 86.04).abs() < 0.01, "{score}"); // p = 2.49e-4
        assert_eq!(severity_label(score), "critical");
        // A later, smaller score of the same scope is capped by c2 (r = 0.5 → 75 before decay).
        let c2 = max_score_ceiling(0.2, norm.scope_max[&big_scope].max_raw);
        assert!((c2 - 75.0).abs() < 1e-9);
        // A small non-zero score sits just above the zero mass and maps low.
        let (_, c1_small) = norm.quantile_ceilings(discretise(0.001));
        assert!(c1_small > 45.0 && c1_small < 95.0, "{c1_small}");
        // Zero raw score, zero/NaN probability: finite, no NaN.
        assert_eq!(norm.normalize(0.0, 0.0, 1), 0.0);
        for (raw, p) in [(0.3, 0.0), (f64::NAN, f64::NAN), (f64::INFINITY, -1.0)] {
            let s = norm.normalize(raw, p, 77);
            assert!(s.is_finite() && (0.0..=100.0).contains(&s), "{raw} {p} {s}");
        }
        let empty = ScoreNormalizer::new();
        assert_eq!(empty.normalize(0.2, 1e-3, 1), log_probability_ceiling(1e-3));

        // Ageing: the sketch decays once per 20 buckets; scope maxima every bucket, then vanish.
        let before = norm.histogram[&0];
        norm.advance_buckets(18); // the clock was at 1: now 19 of 20
        assert_eq!(norm.histogram[&0], before);
        norm.advance_buckets(1);
        assert_rel(norm.histogram[&0], before * (-0.005f64).exp(), 1e-15, "sketch decay");
        assert_rel(
            norm.scope_max[&big_scope].max_raw,
            big_raw * (-2.0 * 0.00025 * 19.0f64).exp(),
            1e-12,
            "max decay",
        );
        norm.advance_buckets(31); // idle 50: still kept
        assert!(norm.scope_max.contains_key(&big_scope));
        norm.advance_buckets(1); // idle 51: forgotten
        assert!(!norm.scope_max.contains_key(&big_scope));
        assert!(norm.memory_bytes() >= std::mem::size_of::<ScoreNormalizer>());
    }

    #[test]
    fn normalizer_serde_round_trip() {
        let mut norm = ScoreNormalizer::new();
        let mut rng = Lcg(42);
        for bucket in 0..200u64 {
            norm.advance_buckets(1);
            for j in 0..7u64 {
                let p = rng.next_f64().powi(6);
                norm.observe(normalizer_raw_score(p), bucket % 13 * 31 + j);
            }
        }
        assert!(norm.pending_sample.is_some() || !norm.histogram.is_empty());
        let bytes = postcard::to_allocvec(&norm).expect("serialize");
        let back: ScoreNormalizer = postcard::from_bytes(&bytes).expect("deserialize");
        assert_eq!(back, norm);
        let json = serde_json::to_string(&norm).expect("json");
        let back: ScoreNormalizer = serde_json::from_str(&json).expect("json back");
        // serde_json parses floats to within an ulp unless its `float_roundtrip` feature is on.
        assert_eq!(back.pending_sample, norm.pending_sample);
        assert_eq!(back.quantile_decay_clock, norm.quantile_decay_clock);
        assert!(back.histogram.keys().eq(norm.histogram.keys()));
        for (x, y) in back.histogram.values().zip(norm.histogram.values()) {
            assert_rel(*x, *y, 1e-15, "json weight");
        }
        assert!(back.scope_max.keys().eq(norm.scope_max.keys()));
        assert_eq!(ScoreNormalizer::default(), ScoreNormalizer::new());
    }
}
