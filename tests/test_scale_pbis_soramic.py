"""Large cohorts (issue 17): the PBIS and SORAMIC steps that grew faster than n log n.

Each fast version is checked against the plain definition it replaced (a quadratic scan or
an all-pairs count, kept here as the reference), on data with ties, so a change of result
fails here; and the size effects that crashed a 165,000-patient run are checked at the
smallest n that shows them.
"""
import time

import numpy as np
import pandas as pd
import pytest

from helpers import matching


# --------------------------------------------------------------------------- matching
def _scan_pairs(dist, treat, caliper, m_order="largest", defect=False):
    """The matching loop as it was (linear scans over used controls; O(n^2) at worst): the
    reference the union-find version must equal pair for pair."""
    cal = None if caliper is None else caliper * float(np.std(dist, ddof=1))
    order_all = np.argsort(dist, kind="stable")
    pos_of = np.empty(len(dist), dtype=int)
    pos_of[order_all] = np.arange(len(dist))
    sd, st = dist[order_all], treat[order_all]
    available = st == 0
    tr = np.flatnonzero(treat == 1)
    seq = {"largest": tr[np.argsort(-dist[tr], kind="stable")],
           "smallest": tr[np.argsort(dist[tr], kind="stable")], "data": tr}[m_order]
    pairs = []
    for row in seq:
        ii = pos_of[row]
        left = ii - 1
        while left >= 0 and not available[left]:
            left -= 1
        right = ii + 1
        while right < len(sd) and not available[right]:
            right += 1
        dl = abs(sd[left] - sd[ii]) if left >= 0 else np.inf
        dr = abs(sd[right] - sd[ii]) if right < len(sd) else np.inf
        if defect:
            dl = 0.0 if left >= 0 else np.inf
            dr = 0.0 if right < len(sd) else np.inf
        elif cal is not None:
            dl = np.inf if dl > cal else dl
            dr = np.inf if dr > cal else dr
        if not np.isfinite(dl) and not np.isfinite(dr):
            continue
        k = left if dl <= dr else right
        available[k] = False
        pairs.append((int(row), int(order_all[k])))
    return pairs


def _fast_pairs(dist, treat, caliper, m_order="largest", defect=False):
    df = pd.DataFrame({"treat": treat, "d": dist})
    m = matching.match_nearest(df, "treat", [], distance="d", caliper=caliper, m_order=m_order,
                               matchit_451_defect=defect)
    pp = matching.matched_pairs(m, "treat")
    return list(zip(pp["treated"].astype(int), pp["control"].astype(int)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("caliper, m_order, defect", [(0.2, "largest", False), (None, "largest", False),
                                                      (0.05, "smallest", False), (0.2, "data", False),
                                                      (0.2, "largest", True)])
def test_union_find_matching_equals_the_scan(seed, caliper, m_order, defect):
    """Same pairs, in the same order, as the linear scan; scores rounded to 2 decimals so many
    are tied (the tie rules: lower wins an equal distance; equal scores in sort order), treated
    share 30-70 % (runs of used controls and of treated units on both sides)."""
    rng = np.random.default_rng(seed)
    n = 400
    treat = (rng.random(n) < rng.uniform(0.3, 0.7)).astype(int)
    dist = np.round(np.clip(rng.normal(0.4 + 0.2 * treat, 0.15), 0.01, 0.99), 2)
    assert _fast_pairs(dist, treat, caliper, m_order, defect) == _scan_pairs(dist, treat, caliper, m_order, defect)


def test_matching_is_not_quadratic():
    """40,000 units with treated scores above the controls' (every treated unit passes over the
    controls used before it: the scan's worst case, over 4 minutes here) match in well under 3 s."""
    n = 40_000
    treat = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    dist = np.r_[np.linspace(0.01, 0.5, n // 2), np.linspace(0.5, 0.99, n // 2)]
    t0 = time.perf_counter()
    pairs = _fast_pairs(dist, treat, None)
    assert time.perf_counter() - t0 < 3.0
    assert len(pairs) == n // 2


# --------------------------------------------------------------------------- PBIS cut-offs
def _separated(n, seed=1):
    """n deaths, a marker that splits them perfectly into early and late deaths."""
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    t = np.where(x > 0.5, 50 + rng.random(n), 1 + 0.1 * rng.random(n))
    return pd.DataFrame({"os_months": t, "os_event": 1, "il12_pg_ml": x})


def test_minimum_p_underflows_to_zero_at_2000_patients():
    """The size effect behind the 165,000-patient failure of pbis_cutoffs (KeyError: nan): from
    about 1,400 events a perfectly separating marker's log-rank p is 0 in double precision, and
    the ratio maxstat p / minimum p is undefined (NaN), for every marker at once in a large
    cohort."""
    from helpers.studies import pbis

    s, _ = pbis.cutoff_search(_separated(2000), "il12_pg_ml", "os")
    assert s["p_min"].iloc[0] == 0.0 and np.isnan(s["p_ratio"].iloc[0])
    text = pbis.largest_correction_text(s)           # was search.loc[nan]: KeyError
    assert text.startswith("no marker") and "undefined" in text


def test_largest_correction_passes_over_undefined_ratios():
    """A marker without a ratio is passed over, the largest defined ratio named, in the
    chapter's words."""
    from helpers.studies import pbis

    search = pd.DataFrame({"marker": ["nlr", "il12_pg_ml", "crp_mg_dl"], "p_min": [0.0, 0.004, 0.01],
                           "p_maxstat": [1e-300, 0.097, 0.05], "p_ratio": [np.nan, 24.25, 5.0]})
    assert pbis.largest_correction_text(search) == (
        "IL-12 (pg/mL): from p = 0.004 to p = 0.097 (the maxstat p is 24 times the minimum p)")
    assert pbis.largest_correction_text(search.iloc[0:0]) == "not computed"


def test_jonckheere_terpstra_counts_equal_all_pairs():
    """J by binary search equals the all-pairs count (the n_i x n_j comparison matrices it
    replaced: 1 GB each for two groups of 33,000), exactly, with many ties; z and p follow."""
    from helpers.studies import pbis

    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=600), 1)
    g = rng.integers(0, 5, size=600)
    ref = 0.0
    levels = np.unique(g)
    for i, li in enumerate(levels):
        for lj in levels[i + 1:]:
            a, b = x[g == li][:, None], x[g == lj][None, :]
            ref += float((a < b).sum() + 0.5 * (a == b).sum())
    J, z, p = pbis.jonckheere_terpstra(x, g)
    assert J == ref
    # the statistic of a perfect increasing trend: every pair in order
    J2, _, _ = pbis.jonckheere_terpstra([1, 2, 3, 4, 5, 6], [0, 0, 1, 1, 2, 2])
    assert J2 == 12.0


# --------------------------------------------------------------------------- Cox fits
def test_cox_counts_concordance_only_when_read(monkeypatch):
    """No chapter prints Harrell's C, and counting it cost about a second per Cox fit at
    165,000 patients (90 % of univariable_markers): cox() leaves it to the first read of
    ``.concordance``, which gives the same value as counting at once."""
    from helpers import survival

    rng = np.random.default_rng(5)
    df = pd.DataFrame({"t": rng.exponential(10, 300).round(1), "e": rng.integers(0, 2, 300),
                       "x": rng.normal(size=300)})
    calls = []
    real = survival.concordance_index
    monkeypatch.setattr(survival, "concordance_index", lambda *a: calls.append(1) or real(*a))
    res = survival.cox(df, "t", "e", ["x"])
    assert calls == []
    lp = (df["x"] - df["x"].mean()).to_numpy() * res.table["coef"].iloc[0]
    assert res.concordance == real(df["t"], df["e"], lp)["concordance"]
    assert res.concordance == res.concordance and calls == [1]     # counted once


def _sums_as_before(model, beta):
    """The risk-set and tied-event sums as _EfronModel computed them before (one cumsum and
    np.add.at over the n x p x p array): the reference for the column-wise sums."""
    X = model.X
    eta = X @ beta
    c = eta.max()
    w = np.exp(eta - c)
    xw = X * w[:, None]
    xxw = X[:, :, None] * X[:, None, :] * w[:, None, None]
    S0 = w[::-1].cumsum()[::-1][model.first]
    S1 = xw[::-1].cumsum(axis=0)[::-1][model.first]
    S2 = xxw[::-1].cumsum(axis=0)[::-1][model.first]
    p = X.shape[1]
    D0 = np.bincount(model.ev_t, weights=w[model.ev], minlength=model.ntimes)
    D1 = np.zeros((model.ntimes, p))
    np.add.at(D1, model.ev_t, xw[model.ev])
    D2 = np.zeros((model.ntimes, p, p))
    np.add.at(D2, model.ev_t, xxw[model.ev])
    return eta, c, S0, S1, S2, D0, D1, D2


def test_efron_sums_bit_identical_to_the_array_version():
    """Column-wise sums give the same bits as the n x p x p array version (so every Cox
    estimate in the book is unchanged to the last digit), with heavy ties; and the log
    likelihood without derivatives is the same number."""
    from helpers import survival

    rng = np.random.default_rng(11)
    n = 2000
    t = rng.integers(1, 60, n).astype(float)
    e = rng.integers(0, 2, n).astype(float)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n), rng.exponential(size=n)])
    X = X - X.mean(axis=0)
    model = survival._EfronModel(t, e, X)
    beta = np.array([0.3, -0.7, 0.2])
    for got, ref in zip(model._sums(beta), _sums_as_before(model, beta)):
        np.testing.assert_array_equal(got, ref)
    assert model.loglik(beta, derivatives=False) == model.loglik(beta)[0]


# --------------------------------------------------------------------------- fit cache
def test_fitcache_refits_only_identical_content(monkeypatch):
    """An identical call (another object with the same content) returns the stored fit
    without refitting; a change of one value in place, of row order or of the options fits
    again; the result equals survival.cox's."""
    import warnings

    from helpers import fitcache, survival

    fitcache.clear()
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"t": rng.exponential(10, 200).round(1), "e": rng.integers(0, 2, 200),
                       "x": rng.normal(size=200), "other": 1})
    fits = []
    real = survival.cox
    monkeypatch.setattr(survival, "cox", lambda *a, **k: fits.append(1) or real(*a, **k))
    first = fitcache.cox(df, "t", "e", ["x"])
    pd.testing.assert_frame_equal(first.table, real(df, "t", "e", ["x"]).table)
    first.table.loc[0, "hr"] = -1.0                           # a caller's change stays its own
    again = fitcache.cox(df.copy().assign(other=2), "t", "e", ["x"])   # unused column changed
    assert len(fits) == 1 and again.table.loc[0, "hr"] > 0
    df.loc[5, "x"] += 1e-9                                    # same object, one value changed
    assert fitcache.cox(df, "t", "e", ["x"]).table.loc[0, "coef"] != again.table.loc[0, "coef"]
    fitcache.cox(df.iloc[::-1], "t", "e", ["x"])               # row order
    fitcache.cox(df, "t", "e", ["x"], ties="breslow")          # options
    assert len(fits) == 4
    # a fit that warns warns again from the store (callers turn warnings into notes)
    sep = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7, 8.0], "e": [1, 1, 1, 1, 0, 0, 0, 0], "g": [1, 1, 1, 1, 0, 0, 0, 0]})
    for _ in range(2):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitcache.cox(sep, "t", "e", ["g"])
        assert any(issubclass(w.category, RuntimeWarning) and "converge" in str(w.message) for w in caught)
    assert len(fits) == 5


def test_search_curve_drawn_where_p_underflows():
    """Where the log-rank p is 0 in double precision the −log10 p curve takes the log of the
    chi-square tail (finite, continuing the curve) instead of infinity; elsewhere it is
    -log10(p) exactly."""
    from scipy import stats

    from helpers import pbis_plots

    chisq = np.array([3.84, 200.0, 1500.0, 2000.0])
    p = stats.chi2.sf(chisq, 1)
    assert p[2] == 0.0 and p[3] == 0.0
    y = pbis_plots.neglog10_p(p, chisq)
    assert y[0] == -np.log10(p[0]) and y[1] == -np.log10(p[1])
    assert np.all(np.isfinite(y)) and y[1] < 308 < y[2] < y[3]
