//! `high_non_zero_count`: a seasonal baseline of per-bucket event counts, and the probability of a
//! count at least as high as the one observed.
//!
//! Elastic models non-empty bucket counts with a trend decomposition and a residual prior. We keep,
//! per series, decayed moments (weight, mean, variance) of the non-zero counts at four levels of
//! seasonality — hour of week (168 slots), hour of day split weekday/weekend (48), hour of day (24)
//! and overall — and compare a bucket with the most specific level that has enough history, so the
//! Monday-morning peak is expected once a few Mondays have been seen, and the weekday 09:00 level
//! stands in before that. Counts are compared on the variance-stabilised (Anscombe) scale
//! `2·sqrt(x + 3/8)`, with the dispersion the series has shown (never below Poisson), giving an
//! upper-tail normal probability.

use serde::{Deserialize, Serialize};

/// Per-observation forgetting: half-life of about 60 observations of a slot.
const FORGET: f64 = 0.988;
/// A level is used once its decayed weight reaches this.
const MIN_WEIGHT: f64 = 2.5;

/// Decayed moments of a series of counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Decayed number of observations.
    pub weight: f32,
    /// Decayed mean.
    pub mean: f32,
    /// Decayed variance.
    pub var: f32,
}

impl Moments {
    /// Adds one observation (West's weighted incremental update with forgetting).
    pub fn add(&mut self, x: f64) {
        let w = self.weight as f64 * FORGET;
        let new_w = w + 1.0;
        let mean = self.mean as f64;
        let delta = x - mean;
        let new_mean = mean + delta / new_w;
        let new_var = (w * (self.var as f64 + delta * delta / new_w)) / new_w;
        self.weight = new_w as f32;
        self.mean = new_mean as f32;
        self.var = new_var.max(0.0) as f32;
    }
}

/// Which level of seasonality gave the expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seasonality {
    /// Same hour, same weekday.
    HourOfWeek,
    /// Same hour, weekday vs weekend.
    HourOfDayAndDayType,
    /// Same hour of day.
    HourOfDay,
    /// Every bucket.
    Overall,
}

/// A seasonal baseline for one series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SeasonalCountsRepr")]
pub struct SeasonalCounts {
    hour_of_week: Vec<Moments>,
    day_type_hour: Vec<Moments>,
    hour_of_day: Vec<Moments>,
    overall: Moments,
}

/// The serialized form of [`SeasonalCounts`], checked on restore: a snapshot whose slot tables
/// are not 168/48/24 long (crafted, or damaged behind a valid checksum) is an error instead of a
/// panic at the next bucket (found by the `snapshot_payload` fuzz target).
#[derive(Deserialize)]
struct SeasonalCountsRepr {
    hour_of_week: Vec<Moments>,
    day_type_hour: Vec<Moments>,
    hour_of_day: Vec<Moments>,
    overall: Moments,
}

impl TryFrom<SeasonalCountsRepr> for SeasonalCounts {
    type Error = String;

    fn try_from(r: SeasonalCountsRepr) -> Result<Self, String> {
        if r.hour_of_week.len() != 168 || r.day_type_hour.len() != 48 || r.hour_of_day.len() != 24 {
            return Err(format!(
                "seasonal counts with {}/{}/{} slots, expected 168/48/24",
                r.hour_of_week.len(),
                r.day_type_hour.len(),
                r.hour_of_day.len()
            ));
        }
        Ok(SeasonalCounts {
            hour_of_week: r.hour_of_week,
            day_type_hour: r.day_type_hour,
            hour_of_day: r.hour_of_day,
            overall: r.overall,
        })
    }
}

impl Default for SeasonalCounts {
    fn default() -> Self {
        SeasonalCounts {
            hour_of_week: vec![Moments::default(); 168],
            day_type_hour: vec![Moments::default(); 48],
            hour_of_day: vec![Moments::default(); 24],
            overall: Moments::default(),
        }
    }
}

/// The slots of a bucket start (epoch ms, UTC).
fn slots(bucket_ms: i64) -> (usize, usize, usize) {
    let hour = bucket_ms.div_euclid(3_600_000).rem_euclid(24) as usize;
    // 1970-01-01 was a Thursday: weekday 0 = Monday.
    let weekday = (bucket_ms.div_euclid(86_400_000) + 3).rem_euclid(7) as usize;
    let weekend = usize::from(weekday >= 5);
    (weekday * 24 + hour, weekend * 24 + hour, hour)
}

/// The expectation a count is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    /// Expected count (mean of the non-zero buckets at this level).
    pub mean: f64,
    /// Their variance (at least the mean).
    pub var: f64,
    /// Level used.
    pub seasonality: Seasonality,
    /// Decayed observations behind it.
    pub weight: f64,
}

impl SeasonalCounts {
    /// Learns one non-zero bucket count.
    pub fn add(&mut self, bucket_ms: i64, count: f64) {
        let (w, d, h) = slots(bucket_ms);
        self.hour_of_week[w].add(count);
        self.day_type_hour[d].add(count);
        self.hour_of_day[h].add(count);
        self.overall.add(count);
    }

    /// Decayed number of buckets learnt.
    pub fn weight(&self) -> f64 {
        self.overall.weight as f64
    }

    /// The expectation for a bucket: the most specific level with enough history. Less specific
    /// levels mix seasons, so their variance is taken over every bucket they cover.
    pub fn expect(&self, bucket_ms: i64) -> Option<Expectation> {
        let (w, d, h) = slots(bucket_ms);
        let levels = [
            (self.hour_of_week[w], Seasonality::HourOfWeek),
            (self.day_type_hour[d], Seasonality::HourOfDayAndDayType),
            (self.hour_of_day[h], Seasonality::HourOfDay),
            (self.overall, Seasonality::Overall),
        ];
        levels
            .iter()
            .find(|(m, _)| m.weight as f64 >= MIN_WEIGHT)
            .map(|(m, s)| Expectation {
                mean: (m.mean as f64).max(0.5),
                var: (m.var as f64).max(m.mean as f64).max(0.5),
                seasonality: *s,
                weight: m.weight as f64,
            })
    }

    /// Approximate bytes held.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + (168 + 48 + 24) * std::mem::size_of::<Moments>()
    }
}

/// Upper-tail probability of a count at least `x` given an expectation, on the Anscombe scale
/// with the observed dispersion.
pub fn upper_tail_probability(x: f64, e: &Expectation) -> f64 {
    if x <= e.mean {
        return 1.0;
    }
    // Quasi-Poisson: a series `dispersion` times more variable than Poisson is Poisson on a scale
    // shrunk by that factor. The exact Poisson tail matters: for small means the normal
    // approximation understates far-tail surprise by orders of magnitude (11 logons where 1 is
    // usual: 1e-8 exact, 5e-6 normal).
    let dispersion = (e.var / e.mean).max(1.0);
    poisson_upper_tail(x / dispersion, e.mean / dispersion).clamp(1e-300, 1.0)
}

/// P(X ≥ k) for X ~ Poisson(λ), continuous in k: the regularised lower incomplete gamma P(k, λ).
pub fn poisson_upper_tail(k: f64, lambda: f64) -> f64 {
    if k <= 0.0 || !k.is_finite() || !lambda.is_finite() {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda > k + 1.0 {
        // The series below converges slowly here; this region is not a spike anyway (k < λ + 1).
        return 1.0;
    }
    // P(a, z) = z^a e^-z / Γ(a+1) · Σ_n z^n / ((a+1)…(a+n))
    let (a, z) = (k, lambda);
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..500 {
        term *= z / (a + n as f64);
        sum += term;
        if term < sum * 1e-15 {
            break;
        }
    }
    let log_p = a * z.ln() - z - ln_gamma(a + 1.0) + sum.ln();
    log_p.exp().clamp(0.0, 1.0)
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the approximation in its accurate range.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Complementary error function (W. J. Cody's rational approximations are overkill here; this is
/// the Numerical Recipes Chebyshev fit, relative error < 1.2e-7 everywhere).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Maps a count-spike probability to 0–100. Count jobs test every bucket (96 a day), so the scale
/// is stricter than the rare-address one: p = 0.05 → 0, p = 1e-7 → 100, 75 at about 2.7e-6.
pub fn spike_score(p: f64) -> f64 {
    if !p.is_finite() || p <= 0.0 {
        return 100.0;
    }
    (100.0 * (0.05 / p).ln() / (0.05f64 / 1e-7).ln()).clamp(0.0, 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(3.0) - 2.209_049_7e-5).abs() < 1e-10);
        assert!((erfc(-1.0) - 1.842_700_79).abs() < 1e-7);
    }

    #[test]
    fn moments_track_mean_and_variance() {
        let mut m = Moments::default();
        for x in [2.0, 4.0, 2.0, 4.0, 2.0, 4.0, 2.0, 4.0] {
            m.add(x);
        }
        assert!((m.mean - 3.0).abs() < 0.1, "{m:?}");
        assert!((m.var - 1.0).abs() < 0.2, "{m:?}");
    }

    #[test]
    fn weekly_seasonality_expects_the_monday_peak() {
        let mut s = SeasonalCounts::default();
        let monday_9 = 1_788_825_600_000i64 + 9 * 3_600_000; // 2026-09-07 09:00 UTC, a Monday
        for week in 0..4 {
            for day in 0..5 {
                let t = monday_9 + week * 7 * 86_400_000 + day * 86_400_000;
                s.add(t, if day == 0 { 60.0 } else { 15.0 });
            }
        }
        let e = s.expect(monday_9 + 4 * 7 * 86_400_000).unwrap();
        assert_eq!(e.seasonality, Seasonality::HourOfWeek);
        assert!((e.mean - 60.0).abs() < 1.0);
        let tuesday = s.expect(monday_9 + 4 * 7 * 86_400_000 + 86_400_000).unwrap();
        assert!((tuesday.mean - 15.0).abs() < 1.0);
        assert!(upper_tail_probability(60.0, &e) > 0.3);
        assert!(upper_tail_probability(60.0, &tuesday) < 1e-9);
    }

    #[test]
    fn poisson_tail_matches_exact_sums() {
        // P(X ≥ 11 | λ = 1) = Σ_{k≥11} e^-1/k! = 1.00478e-8
        let p = poisson_upper_tail(11.0, 1.0);
        assert!((p - 1.004_78e-8).abs() / 1.004_78e-8 < 1e-5, "{p}");
        // P(X ≥ 3 | λ = 2) = 1 − 5e^-2 ≈ 0.32332
        assert!((poisson_upper_tail(3.0, 2.0) - 0.323_32).abs() < 1e-4);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert_eq!(poisson_upper_tail(0.0, 3.0), 1.0);
    }

    #[test]
    fn spike_scale() {
        assert_eq!(spike_score(0.05), 0.0);
        assert!((spike_score(1e-7) - 100.0).abs() < 1e-9);
        assert!(spike_score(2.7e-6) > 74.0 && spike_score(2.7e-6) < 76.0);
    }
}
