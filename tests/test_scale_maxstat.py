"""Cost bounds of maxstat's expensive p-values (condMC, exactGauss) and how the Ate/Bev pages
state them (issue 17, large cohorts).

The bounds must (1) leave every result at the book's sizes exactly as before, (2) cap the work
above them, (3) report what was done (permutations used, a p-value not computed) so that the
page can say it (:func:`helpers.studies.atebev_il6.pvalue_notes`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers import maxstat as ms
from helpers.studies import atebev_il6 as study


def cohort(n: int, seed: int = 3, distinct: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    marker = rng.lognormal(2, 1, n)
    if not distinct:
        marker = np.round(marker)
    time = rng.exponential(12 / (1 + (marker > np.median(marker))), n)
    event = (rng.random(n) < 0.7).astype(int)
    return pd.DataFrame({"time": time, "event": event, "marker": marker})


@pytest.mark.parametrize("n, expected", [
    (165, 9999),          # the book's sizes: unchanged
    (10_001, 9999),       # 10,001 x 9,999 <= 1e8: still unchanged
    (10_002, 9998),       # just above: budget // n
    (50_000, 2000),
    (165_000, 999),       # 1e8 // 165,000 = 606, raised to the floor
])
def test_mc_permutations_rule(n, expected):
    assert ms.mc_permutations(n, 9999, ms.MC_BUDGET) == expected
    assert ms.mc_permutations(n, 9999, None) == 9999  # no budget: as asked
    assert ms.mc_permutations(n, 500, ms.MC_BUDGET) <= 500  # never more than asked


def test_bounded_condmc_is_the_unbounded_one_with_fewer_permutations():
    """With a budget the test runs exactly mc_permutations(...) permutations with the same
    seed (same p as asking for that many), and reports them; the standard error uses them."""
    d = cohort(3000)
    res = ms.maxstat_test(d, "time", "event", "marker", pmethods=("condMC",), n_mc=9999,
                          mc_budget=3000 * 1500, seed=7)
    assert res.settings["n_mc"] == 1500 and res.settings["n_mc_requested"] == 9999
    same = ms.maxstat_test(d, "time", "event", "marker", pmethods=("condMC",), n_mc=1500, seed=7)
    assert res.p("condMC") == same.p("condMC")
    p = res.p("condMC")
    se = float(res.pvalues.set_index("method").loc["condMC", "error"])
    assert se == pytest.approx(math.sqrt(p * (1 - p) / 1500))


def test_budgets_change_nothing_below_them():
    d = cohort(200, distinct=True)
    free = ms.maxstat_test(d, "time", "event", "marker", n_mc=999)
    bounded = ms.maxstat_test(d, "time", "event", "marker", n_mc=999, mc_budget=ms.MC_BUDGET,
                              exact_budget=ms.EXACT_BUDGET)
    pd.testing.assert_frame_equal(free.pvalues, bounded.pvalues)
    assert bounded.settings["n_mc"] == 999 and bounded.settings["not_computed"] == {}


def test_exact_gauss_above_its_budget_is_not_computed_and_says_why():
    d = cohort(400)
    cost = ms._exact_gauss_cost(ms.maxstat_test(d, "time", "event", "marker", pmethods=()).statistic,
                                d["marker"], 0.1, 0.9)
    assert cost > 0
    over = ms.maxstat_test(d, "time", "event", "marker", pmethods=("Lau94", "exactGauss"),
                           exact_budget=cost / 2)
    assert math.isnan(over.p("exactGauss")) and not math.isnan(over.p("Lau94"))
    assert "kernel evaluations" in over.settings["not_computed"]["exactGauss"]
    under = ms.maxstat_test(d, "time", "event", "marker", pmethods=("exactGauss",), exact_budget=cost * 2)
    assert 0 < under.p("exactGauss") < 1 and under.settings["not_computed"] == {}


def test_exact_gauss_cost_grows_with_distinct_values():
    """The quadrature's work grows with the number of distinct cuts (what makes it slow on
    large cohorts with continuous markers); tied markers keep it small."""
    b = 3.0
    costs = [ms.gauss_markov_cost(b, np.arange(int(n * .1), int(n * .9) + 1), n) for n in (250, 500, 1000)]
    assert costs[0] < costs[1] < costs[2]
    assert costs[2] / costs[0] > 4  # faster than linear in n
    assert ms.gauss_markov_cost(b, [10], 100) == 0.0  # one cut: no quadrature


# ---------------------------------------------------------------------------- Ate/Bev pages


@pytest.fixture(scope="module")
def shipped():
    return study.load()


def test_shipped_cohort_is_below_both_bounds(shipped):
    res = study.derive_cutoff(shipped)
    assert res.settings["n_mc"] == 9999 and res.settings["not_computed"] == {}
    assert study.pvalue_notes({"discovery": res}) == []


def test_derive_cutoff_applies_the_bounds_and_the_page_says_so(shipped, monkeypatch):
    """Lower the bounds so that the shipped cohort is 'large': the search runs the bounded
    condMC, leaves exactGauss out, and pvalue_notes has one sentence for each."""
    n = len(study.cohort_subset(shipped, "discovery"))
    monkeypatch.setattr(ms, "MC_BUDGET", n * 1200)
    monkeypatch.setattr(ms, "EXACT_BUDGET", 1.0)
    res = study.derive_cutoff(shipped)
    assert res.settings["n_mc"] == 1200
    assert math.isnan(res.p("exactGauss"))
    notes = study.pvalue_notes({"discovery": res})
    assert len(notes) == 2
    assert f"fewer permutations than 9,999: 1,200 for the discovery cohort ({res.n:,} patients)." in notes[0]
    assert "exactGauss p is not computed" in notes[1]
    # the stability table keeps its results for the same note: every bounded cohort in one note
    stab = study.cutoff_stability(shipped)
    found = stab.attrs["maxstat"]
    bounded = study.pvalue_notes(found)
    assert len(bounded) == 1
    for cohort, r in found.items():
        if r is not None and r.settings["n_mc"] < 9999:
            assert f"{r.settings['n_mc']:,} for the {cohort} cohort ({r.n:,} patients)" in bounded[0]
    assert sum(r is not None and r.settings["n_mc"] < 9999 for r in found.values()) >= 2


def test_resolve_cutoff_computes_no_p_values(shipped):
    """Chapters other than atebev_cutoff need only the cut-off of a maxstat search."""
    value, high_if, res = study.resolve_cutoff(shipped, "maxstat")
    assert high_if == ">" and res.pvalues.empty


def test_cutoff_stability_reuses_the_chapters_search_only_when_it_is_the_same(shipped):
    plain = study.cutoff_stability(shipped)
    ms_disc = study.derive_cutoff(shipped, "discovery", "pfs")
    reused = study.cutoff_stability(shipped, known={"discovery": ms_disc})
    pd.testing.assert_frame_equal(plain, reused)
    assert reused.attrs["maxstat"]["discovery"] is ms_disc  # no second condMC
    other_seed = study.derive_cutoff(shipped, "discovery", "pfs", seed=1)
    os_search = study.derive_cutoff(shipped, "discovery", "os")
    no_mc = study.derive_cutoff(shipped, "discovery", "pfs", pmethods=("Lau94",))
    fewer = study.derive_cutoff(shipped.iloc[5:], "discovery", "pfs")
    assert fewer.n != ms_disc.n
    for wrong in (other_seed, os_search, no_mc, fewer):
        table = study.cutoff_stability(shipped, known={"discovery": wrong})
        assert table.attrs["maxstat"]["discovery"] is not wrong
        pd.testing.assert_frame_equal(plain, table)
