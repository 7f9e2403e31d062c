#!/usr/bin/env python3
"""Independent check of src/model/elastic_math.rs (standard library only).

Re-computes, by a different method, the worked table of reference/elastic-ml-auth.md §2.2 item 10
and the Beta quantile-bin conditional means used by the `rare` probability (§2.2 item 4):

* Beta bins by numerical quadrature (no incomplete-beta function, no a+1 identity): with the
  substitution x = y**(1/a) the Beta(a, b) density becomes (1 - y**(1/a))**(b-1) / (a B), which is
  smooth at 0; its CDF and first partial moment are tabulated by the trapezoid rule and normalised
  numerically, quantiles and bin means are read off by linear interpolation.
* For a = 1 exactly, closed forms: q_k = 1 - (1 - k/n)**(1/b) and
  I_x(2, b) = 1 - (1 - x)**b * (1 + b x), so the bin mean is n/(b+1) * (I_{q_k}(2,b) - I_{q_{k-1}}(2,b)).

Run: python3 tests/elastic_math_check.py   (prints the table; the Rust unit tests quote its output)
"""
import math

DECAY = 0.00025
SCALE = 1.05


def number_prior_samples(a0):
    if a0 <= 100:
        return 7
    if a0 <= 1000:
        return 5
    if a0 <= 10000:
        return 3
    return 1


def beta_bin_means_quadrature(a, b, n, points=200_000):
    """Conditional means of the n equal-probability bins of Beta(a, b), by quadrature."""
    if n == 1:
        return [a / (a + b)]
    # The density in y decays like exp(-b y); 60/b leaves < 1e-26 of the mass outside.
    y_max = min(1.0, 60.0 / b) if b > 1 else 1.0
    h = y_max / points
    ys = [i * h for i in range(points + 1)]
    xs = [y ** (1.0 / a) for y in ys]
    dens = [(1.0 - x) ** (b - 1.0) if x < 1.0 else 0.0 for x in xs]
    cdf = [0.0]
    mom = [0.0]
    for i in range(points):
        cdf.append(cdf[-1] + 0.5 * h * (dens[i] + dens[i + 1]))
        mom.append(mom[-1] + 0.5 * h * (xs[i] * dens[i] + xs[i + 1] * dens[i + 1]))
    total = cdf[-1]
    cdf = [c / total for c in cdf]
    mom = [m / total for m in mom]

    def moment_at_probability(u):
        lo, hi = 0, points
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if cdf[mid] < u:
                lo = mid
            else:
                hi = mid
        t = (u - cdf[lo]) / (cdf[hi] - cdf[lo])
        return mom[lo] + t * (mom[hi] - mom[lo])

    bounds = [0.0] + [moment_at_probability(k / n) for k in range(1, n)] + [mom[-1]]
    return [n * (bounds[k] - bounds[k - 1]) for k in range(1, n + 1)]


def beta_bin_means_a1_closed_form(b, n):
    """Bin means of Beta(1, b): exact closed forms."""
    def i2(x):  # I_x(2, b)
        return 1.0 - (1.0 - x) ** b * (1.0 + b * x)

    qs = [0.0] + [1.0 - (1.0 - k / n) ** (1.0 / b) for k in range(1, n)] + [1.0]
    return [n / (b + 1.0) * (i2(qs[k]) - i2(qs[k - 1])) for k in range(1, n + 1)]


def probability_less_likely(conc, index, bin_means):
    a0 = sum(conc)
    expected = sorted(a / a0 for a in conc)
    table = []
    cum = 0.0
    for e in expected:
        cum += e
        if table and table[-1][0] == e:
            table[-1] = (e, cum)  # ties share the cumulative value
        else:
            table.append((e, cum))

    def interp(x):
        if x <= 0:
            return 0.0
        if x >= table[-1][0]:
            return min(table[-1][1], 1.0)
        prev = (0.0, 0.0)
        for e, c in table:
            if e > x:
                return prev[1] + (c - prev[1]) * (x - prev[0]) / (e - prev[0])
            prev = (e, c)
        return 1.0

    ai = conc[index]
    n = number_prior_samples(a0)
    samples = bin_means(ai, a0 - ai, n)
    return min(1.0, max(0.0, sum(interp(SCALE * s) for s in samples) / n))


def anomaly_score(p):
    if p >= 0.05:
        return 0.0
    if p >= 1e-4:
        return (1.0 / p - 20.0) / (10000.0 - 20.0)
    if p >= 1e-50:
        return 1.0 + 49.0 * (-math.log(p) - math.log(1e4)) / (math.log(1e50) - math.log(1e4))
    return 50.0 + 50.0 * (-math.log(p) - math.log(1e50)) / (-math.log(2.2250738585072014e-308) - math.log(1e50))


def ceiling(p):
    m = 1.0 / (math.log(1e-4) - math.log(0.05))
    return min(100.0, max(0.0, 100.0 * (0.95 * m * (math.log(p) - math.log(0.05)) + 0.05)))


def main():
    alpha = math.exp(-DECAY)
    print("# habitual IP in N active buckets, then a new IP with it in bucket N+1 (both +1, then decay)")
    print(f"{'N':>6} {'a0':>9} {'P(new IP)':>12} {'raw':>8} {'ceiling':>8}")
    for n_buckets in (20, 100, 500, 1000, 2000, 4000, 20000, 60000):
        habitual = 0.0
        for _ in range(n_buckets):
            habitual = (habitual + 1.0) * alpha
        conc = [(habitual + 1.0) * alpha, alpha]
        p = probability_less_likely(conc, 1, beta_bin_means_quadrature)
        print(f"{n_buckets:>6} {sum(conc):>9.2f} {p:>12.5e} {anomaly_score(p):>8.4f} {ceiling(p):>8.2f}")
    print()
    print("# Beta(1, 100), 7 bins: closed form | quadrature")
    closed = beta_bin_means_a1_closed_form(100.0, 7)
    quad = beta_bin_means_quadrature(1.0, 100.0, 7)
    for c, q in zip(closed, quad):
        print(f"{c:.15e} {q:.15e}")
    print(f"mean {sum(closed) / 7:.15e} (a/(a+b) = {1 / 101:.15e})")


if __name__ == "__main__":
    main()
