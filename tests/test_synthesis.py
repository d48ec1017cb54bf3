"""The IL-6 synthesis (helpers.synthesis) against R metafor, and its input table.

R reference: tests/fixtures/meta/make_fixture.R (metafor 3.8.1, R 4.2.2; see VERSIONS there),
printed output in make_fixture.Rout, numbers in metafor_results.csv at 15 significant digits:

    rma(yi = log_hr, sei = se, method = "DL" | "REML" | "PM", test = "z" | "knha",
        control = list(threshold = 1e-10, tol = 1e-12, maxiter = 1000)); predict(fit)

on the synthesis' input table (il6_published_inputs.csv, one rma per analysis with k >= 2) and
on metafor's dat.bcg (bcg.csv), where the three tau^2 estimators differ.
"""
import math

import numpy as np
import pandas as pd
import pytest

from helpers import paths, synthesis

FIX = paths.FIXTURES / "meta"
R = pd.read_csv(FIX / "metafor_results.csv")
TOL = 1e-6


def _data(dataset: str, analysis: str) -> pd.DataFrame:
    if dataset == "bcg":
        return pd.read_csv(FIX / "bcg.csv")
    table = pd.read_csv(FIX / "il6_published_inputs.csv")
    return table[table["analysis"] == analysis]


CASES = [(r.dataset, r.analysis, r.method, r.test) for r in R.itertuples()]


@pytest.mark.parametrize("dataset,analysis,method,test", CASES,
                         ids=[f"{d}-{a}-{m}-{t}" for d, a, m, t in CASES])
def test_pool_equals_metafor(dataset, analysis, method, test):
    r = R[(R["dataset"] == dataset) & (R["analysis"] == analysis) & (R["method"] == method)
          & (R["test"] == test)].iloc[0]
    d = _data(dataset, analysis)
    got = synthesis.pool(d["log_hr"], d["se"] ** 2, method, test=test).iloc[0]
    assert got["k"] == r["k"]
    assert got["log_hr"] == pytest.approx(r["estimate"], abs=TOL)
    assert got["se"] == pytest.approx(r["se"], abs=TOL)
    assert math.log(got["lower"]) == pytest.approx(r["ci_lb"], abs=TOL)
    assert math.log(got["upper"]) == pytest.approx(r["ci_ub"], abs=TOL)
    assert got["p"] == pytest.approx(r["pval"], abs=TOL)
    assert got["tau2"] == pytest.approx(r["tau2"], abs=TOL)
    assert got["i2"] == pytest.approx(r["I2"], abs=TOL)
    assert got["h2"] == pytest.approx(r["H2"], abs=TOL)
    assert got["q"] == pytest.approx(r["QE"], abs=TOL)
    assert got["q_p"] == pytest.approx(r["QEp"], abs=TOL)
    assert math.log(got["pi_lower"]) == pytest.approx(r["pi_lb"], abs=TOL)
    assert math.log(got["pi_upper"]) == pytest.approx(r["pi_ub"], abs=TOL)


def test_the_method_matters_on_the_fixture():
    """R: rma(yi, vi, data = dat.bcg-as-RR, method = "DL") tau^2 = 0.308760; "REML" 0.313243;
    "PM" 0.318068. A swapped estimator, or REML replaced by DL, fails here."""
    d = _data("bcg", "")
    tau2 = {m: synthesis.pool(d["log_hr"], d["se"] ** 2, m).iloc[0]["tau2"] for m in ("DL", "REML", "PM")}
    assert tau2["DL"] == pytest.approx(0.308760262862376, abs=TOL)
    assert tau2["REML"] == pytest.approx(0.313243258136793, abs=TOL)
    assert tau2["PM"] == pytest.approx(0.318068452205024, abs=TOL)
    assert abs(tau2["REML"] - tau2["DL"]) > 1e-3 and abs(tau2["PM"] - tau2["REML"]) > 1e-3
    z = synthesis.pool(d["log_hr"], d["se"] ** 2, "REML", test="z").iloc[0]
    hk = synthesis.pool(d["log_hr"], d["se"] ** 2, "REML", test="knha").iloc[0]
    assert hk["log_hr"] == pytest.approx(z["log_hr"]) and hk["se"] != pytest.approx(z["se"], abs=1e-3)


def test_fixture_input_table_is_what_the_helper_reads_from_data_published():
    """The R fixture pooled exactly the table the chapter pools (re-run make_fixture.R after
    changing data/published or helpers.synthesis.PUBLISHED_HRS)."""
    fixture = pd.read_csv(FIX / "il6_published_inputs.csv")
    built = synthesis.published_inputs()
    assert list(built["id"]) == list(fixture["id"])
    assert list(built["analysis"]) == list(fixture["analysis"])
    np.testing.assert_allclose(built["log_hr"], fixture["log_hr"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(built["se"], fixture["se"], rtol=0, atol=1e-12)


def test_every_printed_il6_result_is_used_or_left_out_with_a_reason():
    assert synthesis.unaccounted_il6_results() == []
    out = synthesis.left_out()
    assert (out["reason"].str.len() > 20).all()
    assert {"pbis"} <= set(out["study"])  # PBIS's 'not associated' is named, not dropped


def test_log_hr_se_from_ci_and_from_p():
    # CI: SORAMIC Table 2, 2.4 (1.5-3.88)
    y, se, how = synthesis.log_hr_se(2.4, 1.5, 3.88)
    assert how == "CI" and y == pytest.approx(math.log(2.4))
    assert se == pytest.approx((math.log(3.88) - math.log(1.5)) / (2 * 1.959963984540054), rel=1e-12)
    # p: a Wald p of 0.05 for HR e^1 means z = 1.959964, SE = 1 / 1.959964
    y, se, how = synthesis.log_hr_se(math.e, p=0.05)
    assert how == "p" and se == pytest.approx(1 / 1.959963984540054, rel=1e-12)
    assert synthesis.log_hr_se(math.e, p=0.001, p_bound="<")[2] == "p bound"
    with pytest.raises(ValueError, match="neither a 95% CI nor an exact p"):
        synthesis.log_hr_se(2.0, p=0.05, p_bound=">")
    with pytest.raises(ValueError, match="positive"):
        synthesis.log_hr_se(0.0, 1, 2)


def test_pool_needs_two_estimates_and_valid_variances():
    with pytest.raises(ValueError, match="at least 2"):
        synthesis.pool([0.5], [0.1])
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        synthesis.pool([0.5, 0.2], [0.1, 0.0])
    with pytest.raises(ValueError, match="method"):
        synthesis.pool([0.5, 0.2], [0.1, 0.2], "ML")


def test_shrinkage_with_a_given_factor():
    inputs = synthesis.published_inputs()
    shrunk = synthesis.shrink_log_hr(inputs, 0.5)
    dd = inputs["chosen"] == "data-driven"
    np.testing.assert_allclose(shrunk.loc[dd, "log_hr"], 0.5 * inputs.loc[dd, "log_hr"])
    np.testing.assert_allclose(shrunk.loc[~dd, "log_hr"], inputs.loc[~dd, "log_hr"])
    np.testing.assert_allclose(shrunk["se"], inputs["se"])          # SE unchanged
    np.testing.assert_allclose(shrunk.loc[dd, "hr"], np.exp(0.5 * inputs.loc[dd, "log_hr"]))
    assert shrunk["shrunk"].tolist() == dd.tolist()
    # factor 1 changes nothing; the pooled estimate moves towards 1 with a smaller factor
    same = synthesis.shrink_log_hr(inputs, 1.0)
    np.testing.assert_allclose(same["log_hr"], inputs["log_hr"])
    os_uni = lambda t: t[t["analysis"] == "OS, univariable"]  # noqa: E731
    before = synthesis.pool(os_uni(inputs)["log_hr"], os_uni(inputs)["se"] ** 2).iloc[0]["log_hr"]
    after = synthesis.pool(os_uni(shrunk)["log_hr"], os_uni(shrunk)["se"] ** 2).iloc[0]["log_hr"]
    assert 0 < after < before
    with pytest.raises(ValueError, match="finite"):
        synthesis.shrink_log_hr(inputs, float("nan"))


def test_shrinkage_factor():
    assert synthesis.shrinkage_factor(4.0, 2.0) == pytest.approx(0.5)
    assert synthesis.shrinkage_factor(2.0, 2.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="apparent HR is 1"):
        synthesis.shrinkage_factor(1.0, 1.2)
    with pytest.raises(ValueError, match="positive"):
        synthesis.shrinkage_factor(2.0, -1)


def test_published_cutoffs_come_from_data_published():
    from helpers import published

    cuts = synthesis.published_cutoffs().set_index("name")
    assert cuts.loc["atebev", "value"] == published.value("atebev_il6", "discovery_il6_cutoff")
    assert cuts.loc["soramic", "value"] == published.value("soramic", "soramic_cutoff_il6")
    assert cuts.loc["atebev", "high_if"] == ">=" and cuts.loc["soramic", "high_if"] == ">"


def _toy_cohort(n=60, seed=1):
    rng = np.random.default_rng(seed)
    il6 = rng.lognormal(1.5, 1.0, n)
    t = rng.exponential(12 / (1 + (il6 > 10)), n)
    return pd.DataFrame({"cohort": "toy", "il6_pg_ml": il6, "os_months": t,
                         "os_event": (rng.random(n) < 0.8).astype(int),
                         "pfs_months": t / 2, "pfs_event": 1})


def test_every_cutoff_splits_as_each_paper_prints_its_rule():
    df = _toy_cohort()
    cuts = pd.DataFrame([dict(name="ge", value=float(np.sort(df["il6_pg_ml"])[30]), high_if=">="),
                         dict(name="gt", value=float(np.sort(df["il6_pg_ml"])[30]), high_if=">")])
    table, km = synthesis.every_cutoff({("soramic", "soramic"): df}, cuts, endpoints=("os",))
    t = table.set_index("cutoff_name")
    assert t.loc["ge", "n_high"] == 30 and t.loc["gt", "n_high"] == 29   # the value at the cut
    assert t.loc["own maxstat", "p_corrected"] > t.loc["own maxstat", "p"]  # search corrected
    assert set(km["cutoff_name"]) == {"ge", "gt", "own maxstat"}
    from helpers import survival
    d = df.assign(h=(df["il6_pg_ml"] > t.loc["gt", "cutoff"]).astype(int))
    assert t.loc["gt", "hr"] == pytest.approx(survival.cox(d, "os_months", "os_event", ["h"]).table["hr"][0])


def test_every_cutoff_says_why_a_row_has_no_hr():
    df = _toy_cohort().drop(columns=["il6_pg_ml"])
    cuts = pd.DataFrame([dict(name="x", value=5.0, high_if=">")])
    table, _ = synthesis.every_cutoff({("pbis", "derivation"): df}, cuts, endpoints=("os",))
    assert table["hr"].isna().all()
    assert table["note"].str.contains("no il6_pg_ml").all()
    empty = _toy_cohort()
    table, _ = synthesis.every_cutoff({("pbis", "derivation"): empty},
                                      pd.DataFrame([dict(name="x", value=1e6, high_if=">")]),
                                      endpoints=("os",))
    assert table.iloc[0]["note"] == "one group is empty"


def test_forest_plot_text_never_overlaps_and_stays_inside():
    import matplotlib.pyplot as plt

    from helpers import plots

    inputs = synthesis.published_inputs()
    pooled = synthesis.meta_analyses(inputs)
    shrunk = synthesis.meta_analyses(synthesis.shrink_log_hr(inputs, 0.58), label="optimism-corrected")
    pre = synthesis.meta_analyses(inputs[inputs["chosen"] == "pre-specified"], label="pre-specified only")
    table = synthesis.forest_table(inputs, pooled, extra_pooled=[
        ("Pre-specified cut-offs only", pre, ""), ("Optimism-corrected (bootstrap)", shrunk, "log HR × 0.58")])
    assert set(table["kind"]) == {"study", "pooled", "prediction"}
    fig = plots.meta_forest_plot(table)
    try:
        assert plots.text_overlaps(fig) == []
        # >= 10 pt (13.3 CSS px) when the figure is shrunk to a 390 px phone column
        width_in = fig.get_size_inches()[0]
        sizes = [t.get_fontsize() for t in fig.findobj(plt.Text) if t.get_text().strip()]
        assert min(sizes) / 72 * 390 / (width_in + 0.2) >= 13.3
    finally:
        plt.close(fig)


def test_km_small_multiples_allows_at_most_two_columns():
    from helpers import plots

    with pytest.raises(ValueError, match="at most two"):
        plots.km_small_multiples(pd.DataFrame(), pd.DataFrame(), pd.DataFrame({"title": []}), ncols=3)


def test_the_atebev_split_is_the_one_the_atebev_chapters_use():
    """Same cohort, same cut-off rule (IL-6 >= the printed cut-off), same Cox model as the
    atebev_outcomes chapter: the same HR and group sizes."""
    from helpers import survival
    from helpers.studies import atebev_il6 as study

    params = study.Params(il6_cutoff=synthesis.published_cutoffs().set_index("name").loc["atebev", "value"])
    df = study.load(None, params)
    disc = study.cohort_subset(df, "discovery")
    ref = survival.cox(disc, "pfs_months", "pfs_event", ["il6_high"]).table.iloc[0]
    cohorts = synthesis.read_cohorts()
    table, _ = synthesis.every_cutoff({("atebev_il6", "discovery"): cohorts[("atebev_il6", "discovery")]},
                                      endpoints=("pfs",))
    row = table[table["cutoff_name"] == "atebev"].iloc[0]
    assert row["hr"] == pytest.approx(ref["hr"], rel=1e-9)
    assert row["n_high"] == int(disc["il6_high"].sum())
