"""helpers.maxstat against R maxstat 0.7.25 / survival 3.5.3 (R 4.2.2) and textbook values.

Reference values: ``tests/fixtures/maxstat/``, written by ``make_fixtures.R`` in that folder
(its printed output is ``make_fixtures.Rout``; versions in ``VERSIONS``). Per data set
``<name>.csv`` is the data (every digit R holds; rows with ``NA`` kept, as maxstat drops
them), ``<name>_curve.csv`` holds R's statistic and ``survdiff`` chi-square at every
candidate cut, and ``summary.csv`` one row per data set with R's cut-point, statistic and
p-values, all with ``sprintf("%.17g")``.

R calls (``d`` the data set, ``f = Surv(time, event) ~ marker``)::

    maxstat.test(f, d, smethod = "LogRank", pmethod = "Lau92" | "Lau94",
                 minprop = .., maxprop = ..)
    maxstat.test(f, d, smethod = "LogRank", pmethod = "exactGauss")      # abseps = 0.001
    maxstat.test(f, d, smethod = "LogRank", pmethod = "exactGauss",
                 abseps = 1e-5, maxpts = 2e6)                            # tighter reference
    maxstat.test(f, d, smethod = "LogRank", pmethod = "condMC", B = 1e5)
    survdiff(Surv(time, event) ~ (marker <= cut), d)$chisq               # each cut

Tolerances: the statistic, the curve and the closed-form p-values (Lau92, Lau94) use the
same arithmetic as R and must agree to 1e-10 relative (the task asked for 1e-8 and 1e-4);
cut-points exactly. exactGauss: ours is a deterministic quadrature (error ~1e-8), R's a
randomized QMC with its own error estimate ``attr(p, "error")``; they must agree within
that estimate (plus ours). condMC: both Monte Carlo (R B = 1e5, ours 1e5): within 4
combined standard errors.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import integrate, special

from helpers import maxstat as ms
from helpers import paths

FIX = paths.FIXTURES / "maxstat"
SUMMARY = pd.read_csv(FIX / "summary.csv")
DATASETS = list(SUMMARY["dataset"])
EXACT = dict(rel=1e-10, abs=1e-14)


def fixture(name: str):
    row = SUMMARY.set_index("dataset").loc[name]
    data = pd.read_csv(FIX / f"{name}.csv")
    curve = pd.read_csv(FIX / f"{name}_curve.csv")
    return row, data, curve


def run(name: str, **kw) -> ms.MaxstatResult:
    row, data, _ = fixture(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exactGauss with maxprop = 1
        return ms.maxstat_test(data, "time", "event", "marker",
                               minprop=row.minprop, maxprop=row.maxprop, **kw)


# ----------------------------------------------------------------------------------------
# log-rank scores


def test_logrank_scores_match_exactrankTests_cscores():
    """R: cscores(Surv(c(1,2,2,2,3,4,4,0.5), c(1,1,0,1,1,0,1,0)), type = "LogRank")
    -> 0.85714285714  0.35714285714 -0.64285714286  0.35714285714  0.02380952381
      -1.97619047619 -0.97619047619  0.00000000000   (print(digits = 10))

    Tied times: each tied event counts 1 / (N - largest rank + 1), not d / n (Nelson-Aalen).
    """
    got = ms.logrank_scores([1, 2, 2, 2, 3, 4, 4, 0.5], [1, 1, 0, 1, 1, 0, 1, 0])
    want = [0.85714285714, 0.35714285714, -0.64285714286, 0.35714285714, 0.02380952381,
            -1.97619047619, -0.97619047619, 0.0]
    np.testing.assert_allclose(got, want, atol=5e-12)
    # the exact fractions: N = 8, largest ranks 1, 2, 5, 6, 8; each event adds 1/(N - r + 1)
    exact = [6 / 7, 5 / 14, -9 / 14, 5 / 14, 1 / 42, -83 / 42, -41 / 42, 0.0]
    np.testing.assert_allclose(got, exact, rtol=1e-14, atol=1e-15)


def test_logrank_scores_sum_to_zero_without_ties():
    """Textbook: without tied times the log-rank scores sum to 0 (O - E over everyone)."""
    rng = np.random.default_rng(1)
    t = rng.exponential(size=50)
    e = rng.integers(0, 2, size=50)
    assert ms.logrank_scores(t, e).sum() == pytest.approx(0, abs=1e-12)


# ----------------------------------------------------------------------------------------
# statistic, cut-point, curve, closed-form p-values


@pytest.mark.parametrize("name", DATASETS)
def test_cutpoint_and_statistic_match_r(name):
    """R: maxstat.test(Surv(time, event) ~ marker, d, smethod = "LogRank")$estimate,
    $statistic (summary.csv)."""
    row, _, _ = fixture(name)
    res = run(name, pmethods=())
    assert res.cutoff == row.cutoff
    assert res.statistic == pytest.approx(row.statistic, **EXACT)
    assert res.n == row.n


@pytest.mark.parametrize("name", DATASETS)
def test_curve_matches_r(name):
    """R: maxstat.test(...)$cuts and $stats; n_low = sum(marker <= cut) (<name>_curve.csv)."""
    _, _, want = fixture(name)
    got = run(name, pmethods=()).curve
    assert list(got.columns) == ms.CURVE_COLUMNS
    np.testing.assert_array_equal(got["cut"].to_numpy(), want["cut"].to_numpy())
    np.testing.assert_array_equal(got["n_low"].to_numpy(), want["n_low"].to_numpy())
    np.testing.assert_array_equal(got["n_high"].to_numpy(), want["n_high"].to_numpy())
    np.testing.assert_allclose(got["statistic"], want["statistic"], rtol=1e-10)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("method", ["Lau92", "Lau94"])
def test_closed_form_pvalues_match_r(name, method):
    """R: maxstat.test(..., pmethod = "Lau92" / "Lau94")$p.value (summary.csv; Lau92 is
    ``Inf`` for minprop = 0 in R and here)."""
    row, _, _ = fixture(name)
    got = run(name, pmethods=(method,)).p(method)
    want = float(row[method])
    if math.isinf(want):
        assert math.isinf(got)
    else:
        assert got == pytest.approx(want, **EXACT)


def test_lausen92_below_one_and_lausen94_single_cut():
    """R: pLausen92(0.9) -> 1; pLausen94(b, N, m = 5) -> 2 * pnorm(-b) (no neighbours)."""
    assert ms.p_lausen92(0.9) == 1.0
    assert ms.p_lausen94(2.0, 20, m=[5]) == pytest.approx(2 * special.ndtr(-2.0), rel=1e-14)


# ----------------------------------------------------------------------------------------
# exactGauss


@pytest.mark.parametrize("name", [n for n in DATASETS if n != "synth_small_full"])
def test_exact_gauss_matches_r_within_its_error(name):
    """R: maxstat.test(..., pmethod = "exactGauss") and with abseps = 1e-5, maxpts = 2e6;
    attr(p.value, "error") is mvtnorm's error estimate (summary.csv)."""
    row, _, _ = fixture(name)
    res = run(name, pmethods=("exactGauss",))
    p = res.p("exactGauss")
    err = float(res.pvalues.set_index("method").loc["exactGauss", "error"])
    assert err < 1e-6
    assert abs(p - row.exactGauss_hi) <= row.exactGauss_hi_error + err
    assert abs(p - row.exactGauss) <= row.exactGauss_error + err


def test_exact_gauss_undefined_with_maxprop_one():
    """R: pmethod = "exactGauss" with minprop = 0, maxprop = 1 stops ("'corr' is not a
    correlation matrix"); we return NaN and warn."""
    _, data, _ = fixture("synth_small_full")
    with pytest.warns(RuntimeWarning, match="maxprop = 1"):
        res = ms.maxstat_test(data, "time", "event", "marker", minprop=0, maxprop=1,
                              pmethods=("exactGauss",))
    assert math.isnan(res.p("exactGauss"))


def _box_two(b, rho):
    s = math.sqrt(1 - rho ** 2)
    f = lambda z: (math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
                   * (special.ndtr((b - rho * z) / s) - special.ndtr((-b - rho * z) / s)))
    return integrate.quad(f, -b, b, epsabs=1e-13, epsrel=1e-13)[0]


@pytest.mark.parametrize("b", [0.5, 1.7, 2.9, 4.0])
def test_gauss_markov_box_matches_textbook_integrals(b):
    """Textbook: P(|Z1| <= b) = 2 Phi(b) - 1; for two standardized statistics at m1 < m2,
    corr = sqrt(m1 (N - m2) / ((N - m1) m2)) and P(|Z1|, |Z2| <= b) = int_{-b}^{b} phi(z)
    [Phi((b - rho z)/s) - Phi((-b - rho z)/s)] dz (scipy quad, 1e-13); three statistics by
    a nested quad."""
    n = 40
    one, _ = ms.gauss_markov_box(b, [10], n)
    assert one == pytest.approx(2 * special.ndtr(b) - 1, rel=1e-14)
    rho = math.sqrt(10 * (n - 13) / ((n - 10) * 13))
    two, err = ms.gauss_markov_box(b, [10, 13], n)
    assert err < 1e-8
    assert two == pytest.approx(_box_two(b, rho), abs=err + 1e-12)
    # three: Z1 -> Z2 -> Z3 (m = 10, 13, 30)
    r12 = rho
    r23 = math.sqrt(13 * (n - 30) / ((n - 13) * 30))
    s12, s23 = math.sqrt(1 - r12 ** 2), math.sqrt(1 - r23 ** 2)
    inner = lambda z2: special.ndtr((b - r23 * z2) / s23) - special.ndtr((-b - r23 * z2) / s23)
    f = lambda z2, z1: (math.exp(-z1 * z1 / 2) / math.sqrt(2 * math.pi)
                        * math.exp(-((z2 - r12 * z1) / s12) ** 2 / 2)
                        / (s12 * math.sqrt(2 * math.pi)) * inner(z2))
    want = integrate.dblquad(f, -b, b, -b, b, epsabs=1e-12, epsrel=1e-12)[0]
    three, _ = ms.gauss_markov_box(b, [10, 13, 30], n)
    assert three == pytest.approx(want, abs=1e-8)


def test_gauss_markov_box_can_detect_a_wrong_correlation():
    """The box probability must depend on the correlation: independent statistics give a
    smaller probability than the chain (guards against an integrand that ignores rho)."""
    b, m, n = 2.5, [10, 20, 30], 40
    chain, _ = ms.gauss_markov_box(b, m, n)
    independent = (2 * special.ndtr(b) - 1) ** 3
    assert chain > independent + 1e-3


# ----------------------------------------------------------------------------------------
# condMC


@pytest.mark.parametrize("name", DATASETS)
def test_cond_mc_matches_r_within_monte_carlo_error(name):
    """R: set.seed(20231); maxstat.test(..., pmethod = "condMC", B = 1e5)$p.value
    (summary.csv). Ours with n_mc = 1e5, seed 20231; R's and numpy's streams differ, so
    within 4 combined standard errors."""
    row, _, _ = fixture(name)
    res = run(name, pmethods=("condMC",), n_mc=100_000)
    p = res.p("condMC")
    se_r = math.sqrt(row.condMC * (1 - row.condMC) / row.condMC_B)
    se = float(res.pvalues.set_index("method").loc["condMC", "error"])
    assert se == pytest.approx(math.sqrt(p * (1 - p) / 100_000))
    assert abs(p - row.condMC) <= 4 * math.hypot(se, se_r)


def test_cond_mc_is_seeded():
    """Same seed, same p; another seed, (almost surely) another p."""
    a = run("hohnloser", pmethods=("condMC",), n_mc=2000, seed=7).p("condMC")
    b = run("hohnloser", pmethods=("condMC",), n_mc=2000, seed=7).p("condMC")
    c = run("hohnloser", pmethods=("condMC",), n_mc=2000, seed=8).p("condMC")
    assert a == b
    assert a != c


def test_default_pvalues_table():
    """All four methods by default, in order, with the documented columns."""
    res = run("synth_il6_ties")
    assert list(res.pvalues.columns) == ms.PVALUE_COLUMNS
    assert list(res.pvalues["method"]) == list(ms.PVALUE_METHODS)
    assert res.pvalues.set_index("method").loc[["Lau92", "Lau94"], "error"].isna().all()
    with pytest.raises(KeyError, match="condMC"):
        run("synth_il6_ties", pmethods=("Lau94",)).p("condMC")


# ----------------------------------------------------------------------------------------
# min_pvalue_search


@pytest.mark.parametrize("name", DATASETS)
def test_min_pvalue_curve_matches_survdiff(name):
    """R: survdiff(Surv(time, event) ~ (marker <= cut), d)$chisq at every candidate cut and
    pchisq(chisq, 1, lower.tail = FALSE) (<name>_curve.csv)."""
    row, data, want = fixture(name)
    res = ms.min_pvalue_search(data, "time", "event", "marker", minprop=row.minprop,
                               maxprop=row.maxprop, high_if=">")
    got = res.curve
    assert list(got.columns) == ms.MINP_CURVE_COLUMNS
    np.testing.assert_array_equal(got["low_max"].to_numpy(), want["cut"].to_numpy())
    np.testing.assert_array_equal(got["n_low"].to_numpy(), want["n_low"].to_numpy())
    np.testing.assert_allclose(got["chisq"], want["chisq"], rtol=1e-10)
    np.testing.assert_allclose(got["p"], want["p"], rtol=1e-9)
    assert res.cutoff == row.minp_cut_low_max
    assert res.p_min == pytest.approx(row.minp_p, rel=1e-9)
    assert res.chisq == pytest.approx(row.minp_chisq, rel=1e-10)
    assert "uncorrected" in res.label


def test_min_pvalue_high_if_conventions():
    """``>=``: the cutoff is the smallest marker value of the high group (the next distinct
    value after maxstat's cut); ``>``: the largest of the low group. Same split, same p."""
    _, data, _ = fixture("hohnloser")
    ge = ms.min_pvalue_search(data, "time", "event", "marker", high_if=">=")
    gt = ms.min_pvalue_search(data, "time", "event", "marker", high_if=">")
    assert ge.p_min == gt.p_min
    x = np.sort(data["marker"].unique())
    assert ge.cutoff == x[np.searchsorted(x, gt.cutoff) + 1]
    n_high = int((data["marker"] >= ge.cutoff).sum())
    assert n_high == int((data["marker"] > gt.cutoff).sum())
    np.testing.assert_array_equal(ge.curve["n_high"], gt.curve["n_high"])
    with pytest.raises(ValueError, match="high_if"):
        ms.min_pvalue_search(data, "time", "event", "marker", high_if="<")


def test_min_pvalue_matches_a_lifelines_loop():
    """Independent check: lifelines' logrank_test (same statistic as survdiff for two
    groups) at every cut of a tied cohort equals the vectorised curve."""
    from lifelines.statistics import logrank_test

    _, data, _ = fixture("synth_crp_ties")
    res = ms.min_pvalue_search(data, "time", "event", "marker", minprop=0.2, maxprop=0.8,
                               high_if=">")
    for cut, chisq in zip(res.curve["low_max"], res.curve["chisq"]):
        low = data["marker"] <= cut
        lr = logrank_test(data.loc[low, "time"], data.loc[~low, "time"],
                          data.loc[low, "event"], data.loc[~low, "event"])
        assert chisq == pytest.approx(lr.test_statistic, rel=1e-9)


# ----------------------------------------------------------------------------------------
# properties


@st.composite
def cohorts(draw):
    n = draw(st.integers(12, 40))
    marker = draw(st.lists(st.integers(0, 15), min_size=n, max_size=n))
    time = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return pd.DataFrame({"time": np.array(time, float), "event": event,
                         "marker": np.array(marker, float)})


TRANSFORMS = {
    "exp": lambda x: np.exp(x / 3),
    "cubic": lambda x: x ** 3 + 2 * x - 7,
    "log": lambda x: np.log1p(x) * 10 + 100,
}


@given(d=cohorts(), transform=st.sampled_from(sorted(TRANSFORMS)))
def test_cutpoint_follows_increasing_transform(d, transform):
    """Property: a strictly increasing transform of the marker maps the cut-point through
    it and leaves the statistic, the curve's statistics and the p-values unchanged."""
    assume(d["event"].sum() >= 1 and d["marker"].nunique() >= 3)
    f = TRANSFORMS[transform]
    try:
        a = ms.maxstat_test(d, "time", "event", "marker", pmethods=("Lau92", "Lau94"))
    except ValueError:
        assume(False)
    d2 = d.assign(marker=f(d["marker"].to_numpy()))
    b = ms.maxstat_test(d2, "time", "event", "marker", pmethods=("Lau92", "Lau94"))
    assert b.cutoff == pytest.approx(float(f(np.array([a.cutoff]))[0]), rel=1e-12)
    assert b.statistic == pytest.approx(a.statistic, rel=1e-12)
    np.testing.assert_allclose(b.curve["statistic"], a.curve["statistic"], rtol=1e-12)
    np.testing.assert_allclose(b.pvalues["p"], a.pvalues["p"], rtol=1e-12)
    mp_a = ms.min_pvalue_search(d, "time", "event", "marker")
    mp_b = ms.min_pvalue_search(d2, "time", "event", "marker")
    assert mp_b.cutoff == pytest.approx(float(f(np.array([mp_a.cutoff]))[0]), rel=1e-12)


@given(d=cohorts(), seed=st.integers(0, 1000))
def test_row_order_does_not_matter(d, seed):
    """Property: shuffling the rows changes nothing."""
    assume(d["event"].sum() >= 1 and d["marker"].nunique() >= 3)
    try:
        a = ms.maxstat_test(d, "time", "event", "marker", pmethods=("Lau94",))
    except ValueError:
        assume(False)
    shuffled = d.sample(frac=1, random_state=seed)
    b = ms.maxstat_test(shuffled, "time", "event", "marker", pmethods=("Lau94",))
    assert b.cutoff == a.cutoff
    assert b.statistic == pytest.approx(a.statistic, rel=1e-12)


# ----------------------------------------------------------------------------------------
# input handling


def test_missing_rows_dropped_as_r_does():
    """R's na.omit: DLBCL has 4 patients without IPI and 2 without follow-up (summary n)."""
    row, data, _ = fixture("dlbcl_ipi")
    assert data.isna().any(axis=1).sum() == 4
    res = run("dlbcl_ipi", pmethods=())
    assert res.n == row.n == len(data) - 4
    assert res.settings["n_dropped"] == 4


def test_bool_event_accepted():
    _, data, _ = fixture("hohnloser")
    a = ms.maxstat_test(data, "time", "event", "marker", pmethods=())
    b = ms.maxstat_test(data.assign(event=data["event"] == 1), "time", "event", "marker",
                        pmethods=())
    assert a.statistic == b.statistic and a.cutoff == b.cutoff


@pytest.mark.parametrize("change, message", [
    (lambda d: d.drop(columns="marker"), "'marker' not in the data"),
    (lambda d: d.assign(marker=d["marker"].astype(object).where(d.index != 3, "high")),
     r"column 'marker', rows 3: expected numbers; found 'high'"),
    (lambda d: d.assign(event=d["event"].where(d.index != 5, 2)),
     r"column 'event', rows 5: expected 0 \(censored\) or 1 \(event\)"),
    (lambda d: d.assign(time=d["time"].where(d.index != 0, -1.0)),
     r"column 'time', rows 0: expected finite times >= 0"),
])
def test_bad_input_names_column_and_rows(change, message):
    _, data, _ = fixture("hohnloser")
    with pytest.raises(ValueError, match=message):
        ms.maxstat_test(change(data), "time", "event", "marker")
    with pytest.raises(ValueError, match=message):
        ms.min_pvalue_search(change(data), "time", "event", "marker")


def test_bad_settings_are_explained():
    _, data, _ = fixture("hohnloser")
    with pytest.raises(ValueError, match="minprop <= maxprop"):
        ms.maxstat_test(data, "time", "event", "marker", minprop=0.6, maxprop=0.4)
    with pytest.raises(ValueError, match="unknown p-value method"):
        ms.maxstat_test(data, "time", "event", "marker", pmethods=("HL",))
    with pytest.raises(ValueError, match="minprop too large"):
        ms.maxstat_test(data.assign(marker=0.0), "time", "event", "marker")
    with pytest.raises(ValueError, match="no events"):
        ms.min_pvalue_search(data.assign(event=0), "time", "event", "marker")
    with pytest.raises(ValueError, match="do not vary"):
        ms.maxstat_test(data.assign(event=0), "time", "event", "marker")


def test_input_frame_not_modified():
    _, data, _ = fixture("dlbcl_ipi")
    before = data.copy()
    ms.maxstat_test(data, "time", "event", "marker", pmethods=("Lau94",))
    ms.min_pvalue_search(data, "time", "event", "marker")
    pd.testing.assert_frame_equal(data, before)


def _newcorr(m_a: int, m_b: int, n: int) -> float:
    """maxstat's C ``newcorr`` formula for two cuts (low groups nested: mn = min(m_a, m_b))."""
    mn = min(m_a, m_b)
    help_ = (mn * (n - m_a) * (n - m_b) - (m_a - mn) * (n - m_a) * m_b
             - (m_b - mn) * (n - m_b) * m_a + ((n - m_a) - (m_b - mn)) * m_a * m_b)
    return help_ / (n * math.sqrt(m_a) * math.sqrt(n - m_a) * math.sqrt(m_b) * math.sqrt(n - m_b))


def test_gauss_markov_box_matches_a_generic_mvn_integral():
    """Independent of the chain shortcut: build the full correlation matrix with maxstat's
    C ``newcorr`` formula for 5 cuts and integrate the box with scipy's
    ``multivariate_normal.cdf`` (Genz QMC, seeded; 1e-6 requested, 2e-5 allowed)."""
    from scipy.stats import multivariate_normal

    n, m, b = 50, [6, 11, 19, 30, 42], 2.2
    corr = np.array([[_newcorr(i, j, n) for j in m] for i in m])
    np.testing.assert_allclose(np.diag(corr), 1.0, rtol=1e-14)
    want = multivariate_normal.cdf(np.full(5, b), mean=np.zeros(5), cov=corr,
                                   lower_limit=np.full(5, -b), maxpts=400_000, abseps=1e-6,
                                   releps=0, rng=np.random.default_rng(5))
    got, err = ms.gauss_markov_box(b, m, n)
    assert err < 1e-7
    assert got == pytest.approx(want, abs=2e-5)


def test_exact_gauss_huge_statistic_is_bounded_and_fast():
    """For a huge statistic the p-value is below the Bonferroni bound k 2 Phi(-b) and the
    error says so (R's pmvnorm returns 1 - p = 0 to its abseps here)."""
    m = np.arange(100, 901)
    prob, err = ms.gauss_markov_box(12.0, m, 1000)
    bound = len(m) * 2 * special.ndtr(-12.0)
    assert 1 - prob <= bound + 1e-16
    assert err == pytest.approx(bound)
