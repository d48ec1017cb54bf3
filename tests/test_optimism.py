"""helpers.optimism: the cut-point optimism lab.

- The fast two-group log-rank / Efron Cox equals helpers.survival (itself tested against R).
- The cut-off search equals helpers.maxstat (itself equal to R maxstat, tests/test_maxstat.py).
- Altman et al. (1994)'s correction: Altman DG, Lausen B, Sauerbrei W, Schumacher M. Dangers
  of using "optimal" cutpoints in the evaluation of prognostic factors. J Natl Cancer Inst
  1994;86:829-835: p_cor = -3.13 p (1 + 1.65 ln p) for a search over the 10-90 % range and
  p_cor = -1.63 p (1 + 2.35 ln p) for 5-95 %. Worked values below computed by hand from the
  formulas (4 significant digits).
- On simulated cohorts with no marker effect (200 cohorts, seeded) the minimum-p procedure
  rejects far more often than 5 %, the corrected ones do not (Monte Carlo error stated).
- On a cohort with a true step at a known cut, the bootstrap cut-offs concentrate around it
  and the cross-validated HR is below the apparent one.
- Results do not depend on the number of jobs or on the backend (joblib processes, Dask).
"""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import maxstat, optimism, survival

REQUIRED = ["cutoff", "apparent_hr", "p_lau92", "p_lau94", "p_exactgauss", "p_condmc", "p_altman_5_95",
            "p_altman_10_90", "cv_hr", "bootstrap_corrected_hr", "null_type1_error", "null_median_hr"]


def step_cohort(n: int, seed: int, cut_quantile: float = 0.6, hr: float = 3.0) -> tuple[pd.DataFrame, float]:
    """A log-normal marker; the hazard is ``hr`` times higher above the marker's population
    ``cut_quantile`` quantile (the known cut); uniform censoring."""
    rng = np.random.default_rng(seed)
    cut = math.exp(math.log(12) + 1.0 * float(__import__("scipy").stats.norm.ppf(cut_quantile)))
    marker = np.round(np.exp(rng.normal(math.log(12), 1.0, n)), 2)
    rate = np.where(marker > cut, hr, 1.0) / 20
    t_event = rng.exponential(1 / rate)
    t_cens = rng.uniform(6, 48, n)
    time = np.maximum(0.1, np.round(np.minimum(t_event, t_cens), 1))
    return pd.DataFrame({"time": time, "event": (t_event <= t_cens).astype(int), "marker": marker}), cut


@pytest.fixture(scope="module")
def null_cohort():
    return optimism.simulate_null_cohort(120, np.random.default_rng(11))


# ---------------------------------------------------------------------------- primitives
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_logrank_cox_binary_equals_survival(seed):
    rng = np.random.default_rng(seed)
    n = 90
    d = pd.DataFrame({"time": np.round(rng.exponential(10, n)), "event": rng.integers(0, 2, n),
                      "g": rng.integers(0, 2, n)})
    d["time"] = d["time"].clip(lower=1)  # many tied times: Efron's correction matters
    chisq, p, lh, se = optimism.logrank_cox_binary(d["time"], d["event"], d["g"])
    lr = survival.logrank(d, "time", "event", "g").iloc[0]
    cx = survival.cox(d, "time", "event", ["g"]).table.iloc[0]
    assert chisq == pytest.approx(lr["statistic"], rel=1e-10)
    assert p == pytest.approx(lr["p"], rel=1e-9)
    assert lh == pytest.approx(cx["coef"], abs=1e-8)
    assert se == pytest.approx(cx["se"], rel=1e-7)


def test_logrank_cox_binary_infinite_and_empty():
    t = np.arange(1, 21, dtype=float)
    e = np.ones(20)
    g = (np.arange(20) < 10).astype(float)
    e[g == 0] = 0  # no events in group 0: the HR runs off to infinity
    _, _, lh, se = optimism.logrank_cox_binary(t, e, g)
    assert lh == math.inf and se == math.inf
    assert all(math.isnan(v) for v in optimism.logrank_cox_binary(t, e, np.ones(20)))


@pytest.mark.parametrize("method", ["maxstat", "minp"])
def test_select_cut_equals_maxstat(null_cohort, method):
    d = null_cohort
    sel = optimism.select_cut(d["time"], d["event"], d["marker"], method, 0.1)
    if method == "maxstat":
        ref = maxstat.maxstat_test(d, "time", "event", "marker", pmethods=())
        assert sel.cutoff == ref.cutoff
        assert sel.statistic == pytest.approx(ref.statistic, rel=1e-12)
        np.testing.assert_allclose(sel.curve, ref.curve["statistic"], rtol=1e-12)
    else:
        ref = maxstat.min_pvalue_search(d, "time", "event", "marker", high_if=">")
        assert sel.cutoff == ref.cutoff
        assert sel.statistic ** 2 == pytest.approx(ref.chisq, rel=1e-10)


# ---------------------------------------------------------------------------- Altman 1994
@pytest.mark.parametrize("p_min, search, expected", [
    (0.002, "10_90", 0.05793),   # -3.13 * 0.002 * (1 + 1.65 * ln 0.002) = -0.00626 * -9.2541
    (0.002, "5_95", 0.04435),    # -1.63 * 0.002 * (1 + 2.35 * ln 0.002) = -0.00326 * -13.604
    (0.001, "10_90", 0.03255),   # -0.00313 * (1 - 11.398)
    (0.01, "10_90", 0.2066),     # -0.0313 * (1 - 7.5985)
    (0.01, "5_95", 0.1601),      # -0.0163 * (1 - 10.822)
    (0.0001, "5_95", 0.003365),  # -0.000163 * (1 - 21.644)
])
def test_altman_formula_worked_values(p_min, search, expected):
    assert optimism.altman_corrected_p(p_min, search) == pytest.approx(expected, rel=5e-4)


def test_altman_is_monotone_and_capped():
    p = np.linspace(1e-6, 1, 2001)
    for search in ("10_90", "5_95"):
        c = optimism.altman_corrected_p(p, search)
        assert np.all(np.diff(c) >= -1e-15) and c.max() <= 1 and np.all(c >= p - 1e-12)
    assert optimism.altman_corrected_p(0.5, "10_90") == 1.0
    with pytest.raises(ValueError, match="search"):
        optimism.altman_corrected_p(0.01, "20_80")


# ---------------------------------------------------------------------------- null cohorts
@pytest.mark.slow
def test_null_rejection_rates():
    """200 null cohorts of 80 patients (seed 20240617): the uncorrected minimum p rejects in
    far more than 5 % of them; maxstat Lau94 (a conservative bound), condMC and the
    permutation-tested cross-validation stay at or below 5 % within Monte Carlo error
    (2.58 standard errors of a 5 % rate over 200 cohorts: +-0.040); the plain log-rank p of
    cross-validated groups does not."""
    rates, pvals = optimism.null_rejection_rates(n=80, cohorts=200, n_mc=199, folds=5, n_cv_perm=49, jobs=1)
    r = rates.set_index("procedure")["rate"]
    mc = 2.58 * math.sqrt(0.05 * 0.95 / 200)
    assert r["minp"] > 0.20
    for proc in ("lau94", "condmc", "cv", "exactgauss", "altman_10_90", "prespecified"):
        assert r[proc] <= 0.05 + mc, proc
    for proc in ("condmc", "cv", "prespecified"):  # exact or permutation tests: not far below either
        assert r[proc] >= 0.05 - mc, proc
    assert r["cv_naive"] > r["cv"]
    assert set(pvals["procedure"]) == set(optimism.NULL_PROCEDURES)
    assert (rates["cohorts"] == 200).all()


# ---------------------------------------------------------------------------- a true step
def test_true_step_bootstrap_concentrates_and_cv_below_apparent():
    d, cut = step_cohort(300, seed=7)
    card = optimism.report_card(d, "time", "event", "marker", replicates=200, jobs=1, progress=False, n_mc=999)
    boot = card.bootstrap["cutoff"].dropna()
    # the share of patients between the known cut and each bootstrap cut-off
    share = np.abs(np.mean(d["marker"].to_numpy()[:, None] <= boot.to_numpy()[None, :], axis=0)
                   - np.mean(d["marker"] <= cut))
    assert np.median(share) < 0.05
    assert np.mean(share < 0.10) > 0.75
    assert abs(np.mean(d["marker"] <= card.value("cutoff")) - np.mean(d["marker"] <= cut)) < 0.05
    assert card.value("cv_hr") < card.value("apparent_hr")
    assert card.value("bootstrap_corrected_hr") < card.value("apparent_hr")
    assert card.value("p_lau94") < 0.001 and card.value("cv_hr", "p") < 0.05


# ---------------------------------------------------------------------------- the report card
@pytest.fixture(scope="module")
def card_small(null_cohort):
    return optimism.report_card(null_cohort, "time", "event", "marker", replicates=60, jobs=1, progress=False,
                                n_mc=999, folds=5)


def test_report_card_rows(card_small):
    s = card_small.summary
    assert list(s.columns) == optimism.SUMMARY_COLUMNS
    assert set(REQUIRED) <= set(s["name"])
    assert list(s["name"]) == [n for n in optimism.SUMMARY_NAMES if n in set(s["name"])]
    assert s["name"].is_unique
    assert list(card_small.curve.columns) == optimism.CURVE_COLUMNS
    assert list(card_small.bootstrap.columns) == optimism.BOOTSTRAP_COLUMNS
    assert list(card_small.null.columns) == optimism.NULL_COLUMNS
    assert len(card_small.bootstrap) == len(card_small.null) == 60
    a = card_small.value("apparent_hr")
    assert card_small.value("apparent_hr", "lower") < a < card_small.value("apparent_hr", "upper")
    # maxstat p-values are maxstat_test's (equal to R: tests/test_maxstat.py)
    ref = maxstat.maxstat_test(optimism.simulate_null_cohort(120, np.random.default_rng(11)), "time", "event",
                               "marker", seed=20240617, n_mc=999)
    for name, method in (("p_lau92", "Lau92"), ("p_lau94", "Lau94"), ("p_exactgauss", "exactGauss"),
                         ("p_condmc", "condMC")):
        assert card_small.value(name) == ref.p(method)


@pytest.mark.slow
def test_report_card_same_for_any_jobs(null_cohort, card_small):
    other = optimism.report_card(null_cohort, "time", "event", "marker", replicates=60, jobs=2, progress=False,
                                 n_mc=999, folds=5)
    pd.testing.assert_frame_equal(card_small.summary, other.summary)
    pd.testing.assert_frame_equal(card_small.bootstrap, other.bootstrap)
    pd.testing.assert_frame_equal(card_small.null, other.null)


def test_report_card_same_on_a_dask_cluster(null_cohort, card_small):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        other = optimism.report_card(null_cohort, "time", "event", "marker", replicates=60, progress=False,
                                     n_mc=999, folds=5, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(card_small.summary, other.summary)
    pd.testing.assert_frame_equal(card_small.null, other.null)


def test_report_card_minp_and_errors(null_cohort):
    card = optimism.report_card(null_cohort, "time", "event", "marker", method="minp", replicates=20, jobs=1,
                                progress=False, n_mc=99, folds=3)
    ref = maxstat.min_pvalue_search(null_cohort, "time", "event", "marker", high_if=">")
    assert card.value("cutoff") == ref.cutoff
    assert card.value("apparent_hr", "p") == pytest.approx(ref.p_min, rel=1e-9)
    with pytest.raises(ValueError, match="method"):
        optimism.report_card(null_cohort, "time", "event", "marker", method="best")
    few = null_cohort.assign(event=0)
    few.loc[few.index[:5], "event"] = 1
    with pytest.raises(ValueError, match="5 events"):
        optimism.report_card(few, "time", "event", "marker")
    with pytest.raises(ValueError, match="'nope'"):
        optimism.report_card(null_cohort, "time", "event", "nope")


# ---------------------------------------------------------------------------- PBIS end to end
def test_pbis_fit_is_the_selection_null_pipeline():
    from helpers import contract
    from helpers.studies import pbis

    deriv = pbis.cohort(contract.read_cohort("pbis"), "derivation")
    ref = pbis.selection_null(deriv, "os", n_sim=4, seed=3)
    t, e, X = pbis.pbis_arrays(deriv, "os")
    rng = np.random.default_rng(3)
    for i in range(4):
        perm = rng.permutation(len(t))
        rule = pbis.pbis_fit(t[perm], e[perm], X)
        g = pbis.pbis_predict(rule, X)
        _, _, lh, _ = optimism.logrank_cox_binary(t[perm], e[perm], g)
        assert rule["threshold"] == ref["threshold"].iloc[i]
        assert math.exp(lh) == pytest.approx(ref["hr"].iloc[i], rel=1e-7)
    card = optimism.procedure_card(pbis.pbis_fit, pbis.pbis_predict, t, e, X, replicates=10, folds=3, jobs=1,
                                   progress=False)
    assert list(card.summary["name"]) == list(optimism.PROCEDURE_NAMES)


# ---------------------------------------------------------------------------- the command
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "helpers", "optimism", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory, null_cohort):
    folder = tmp_path_factory.mktemp("optimism")
    path = folder / "cohort.csv"
    null_cohort.rename(columns={"marker": "il6"}).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_command_writes_csv_and_figures(cohort_csv, tmp_path):
    out = tmp_path / "card"
    base = ["--cohort", str(cohort_csv), "--time", "time", "--event", "event", "--marker", "il6",
            "--replicates", "30", "--jobs", "1", "--quiet", "--out", str(out)]
    r = _cli(*base)
    assert r.returncode == 0, r.stderr
    for f in optimism.OUTPUT_FILES:
        assert (out / f).exists(), f
    s = pd.read_csv(out / "report_card.csv")
    assert list(s.columns) == optimism.SUMMARY_COLUMNS and set(REQUIRED) <= set(s["name"])
    r = _cli(*base)
    assert r.returncode == 1 and "already exists" in r.stderr and "--force" in r.stderr
    assert _cli(*base, "--force").returncode == 0


@pytest.mark.parametrize("change, message", [
    ({"--cohort": "missing.csv"}, "not found"),
    ({"--marker": "il8"}, "'il8' not in the data"),
    ({"--marker": "word"}, "column 'word', rows 2, 3"),
    ({"--event": "rare"}, "events"),
])
def test_command_errors_are_one_line(cohort_csv, tmp_path, capsys, change, message):
    d = pd.read_csv(cohort_csv)
    d["word"] = d["il6"].astype(str)
    d.loc[:1, "word"] = "high"
    d["rare"] = 0
    d.loc[:3, "rare"] = 1
    path = tmp_path / "c.csv"
    d.to_csv(path, index=False)
    args = {"--cohort": str(path), "--time": "time", "--event": "event", "--marker": "il6"}
    args.update({k: (str(tmp_path / v) if k == "--cohort" else v) for k, v in change.items()})
    flat = [x for kv in args.items() for x in kv]
    from helpers.__main__ import main

    rc = main(["optimism", *flat, "--replicates", "10", "--jobs", "1", "--quiet", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert not (tmp_path / "o").exists()


def test_plots(card_small):
    import matplotlib.pyplot as plt

    from helpers import plots

    fig = plots.optimism_cutoff_plot(card_small.curve, card_small.bootstrap, card_small.value("cutoff"), log_x=True)
    assert len(fig.axes) == 2
    ax = plots.null_hr_plot(card_small.null, card_small.value("apparent_hr"))
    assert ax.get_xscale() == "log"
    plt.close("all")


# ---------------------------------------------------------------------------- small parts
def test_display_table_formats_p_and_labels(card_small):
    s = card_small.summary.copy()
    s.loc[s["name"] == "p_lau94", ["estimate", "p"]] = 0.0004
    tab = optimism.display_table(s)
    assert list(tab.columns) == ["Quantity", "Estimate", "95% interval", "p", "Replicates"]
    assert tab.loc[tab["Quantity"] == optimism.ROW_LABELS["p_lau94"], "Estimate"].item() == "<0.001"
    assert not tab.isin(["0.000"]).any().any()
    assert set(tab["Quantity"]) <= set(optimism.ROW_LABELS.values())


def test_bootstrap_regions_shares(card_small, null_cohort):
    reg = optimism.bootstrap_regions(card_small.bootstrap, null_cohort["marker"], card_small.value("cutoff"))
    assert len(reg) == 10 and reg["share"].sum() == pytest.approx(1.0)
    assert reg["contains_cutoff"].sum() == 1
    cut = card_small.value("cutoff")
    home = reg[reg["contains_cutoff"]].iloc[0]
    assert home["lower"] <= cut <= home["upper"]


def test_run_replicates_does_not_depend_on_chunking(null_cohort):
    t, e, x = (null_cohort[c].to_numpy(dtype=float) for c in ("time", "event", "marker"))
    seeds = np.random.SeedSequence(5).spawn(12)
    one = optimism.run_replicates(optimism._null_one, seeds, (t, e, x, "maxstat", 0.1), jobs=1, progress=False)
    seeds = np.random.SeedSequence(5).spawn(12)
    two = optimism.run_replicates(optimism._null_one, seeds, (t, e, x, "maxstat", 0.1), jobs=2, progress=False)
    assert one == two
    with pytest.raises(ValueError, match="jobs"):
        optimism.run_replicates(optimism._null_one, seeds, (), jobs=0)


def test_rejection_rates_subset_matches_full_run():
    procs = ("minp", "lau94", "prespecified")
    part, _ = optimism.null_rejection_rates(n=60, cohorts=20, procedures=procs, jobs=1)
    full, _ = optimism.null_rejection_rates(n=60, cohorts=20, n_cv_perm=9, jobs=1)
    pd.testing.assert_frame_equal(part.reset_index(drop=True),
                                  full[full["procedure"].isin(procs)].reset_index(drop=True))
    with pytest.raises(ValueError, match="unknown procedure"):
        optimism.null_rejection_rates(n=60, cohorts=2, procedures=("best",))


def test_orders_derived_in_linear_time_change_nothing():
    """The replicate loops pass sorting orders derived from the cohort's (sub-sets,
    permutations) instead of sorting again: same scores, same cut-off, same statistic."""
    rng = np.random.default_rng(3)
    d = optimism.simulate_cohort(300, rng, hr=1.5)
    t, e, x = (d[c].to_numpy(dtype=float) for c in ("time", "event", "marker"))
    t_order, x_order = np.argsort(t, kind="stable"), np.argsort(x, kind="stable")
    np.testing.assert_allclose(maxstat.logrank_scores(t, e, t_order), maxstat.logrank_scores(t, e), rtol=0, atol=1e-14)
    mask = rng.random(300) < 0.8
    assert (optimism._suborder(x_order, mask) == np.argsort(x[mask], kind="stable")).all()
    perm = rng.permutation(300)
    assert np.all(np.diff(t[perm][optimism._permuted_order(t_order, perm)]) >= 0)
    a = optimism.select_cut(t[perm], e[perm], x)
    b = optimism.select_cut(t[perm], e[perm], x, x_order=x_order, t_order=optimism._permuted_order(t_order, perm))
    assert a.cutoff == b.cutoff and a.statistic == pytest.approx(b.statistic, rel=1e-12)
    for minprop in (0.05, 0.1, 0.3):
        assert (optimism._candidate_m(np.sort(x), minprop)
                == maxstat._candidate_m(np.sort(x), minprop, 1 - minprop)).all()
