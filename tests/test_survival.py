"""helpers.survival against R survival 3.5.3 (R 4.2.2) and textbook values.

Reference values: ``tests/fixtures/survival/expected_<dataset>.json``, written by
``make_fixtures.R`` in that folder (R's calls are quoted in each test's docstring; R's
own print is in ``R_output.txt``). The data are the CSVs beside them
(``export_data.py`` wrote them from lifelines' bundled datasets and a seeded generator).

Tolerances: the JSON holds 15 significant digits. Kaplan-Meier and log-rank are computed
with the same arithmetic as R and must agree to 1e-10 relative. Cox estimates come from
two independent Newton-Raphson maximisations (R at ``eps = 1e-11``, ours at 1e-12), so
they must agree to 1e-6 relative; the HR from R's *default* convergence (``eps = 1e-9``)
must agree to 4 decimals, the accuracy the book promises.
"""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers import paths
from helpers import survival as sv

FIX = paths.FIXTURES / "survival"
KM_TOL = dict(rtol=1e-10, atol=1e-12)
COX_TOL = dict(rtol=1e-6, atol=1e-9)


def expected(name: str) -> dict:
    return json.loads((FIX / f"expected_{name}.json").read_text())


def arr(values) -> np.ndarray:
    """R's JSON numbers as floats, ``null`` (R ``NA``) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def load(name: str) -> pd.DataFrame:
    df = pd.read_csv(FIX / f"{name}.csv")
    if name == "lung":
        df["ecog"] = df["ph.ecog"].dropna().astype(int).astype(str).reindex(df.index)
    return df


# dataset -> (time, event, group column or None)
KM_CASES = {
    "waltons": ("T", "E", "group"),
    "rossi": ("week", "arrest", None),
    "lung": ("time", "status", "sex"),
    "larynx": ("time", "death", None),
    "ties3": ("time", "status", "arm"),
    "midpoint": ("time", "status", "case"),
    "neartie": ("time", "status", "arm"),
}


# --------------------------------------------------------------------------- Kaplan-Meier
@pytest.mark.parametrize("name", list(KM_CASES))
def test_km_table_matches_survfit(name):
    """R: summary(survfit(Surv(time, event) ~ group), censored = TRUE): every row's
    n.risk, n.event, n.censor, surv, lower, upper (conf.type = "log")."""
    time, event, group = KM_CASES[name]
    got = sv.km_table(load(name), time, event, group)
    got = got[~((got["time"] == 0) & (got["n_event"] == 0) & (got["n_censor"] == 0))]
    exp = pd.DataFrame(expected(name)["km"])
    assert len(got) == len(exp)
    assert list(got["group"].astype(str)) == list(exp["strata"])
    np.testing.assert_allclose(got["time"], exp["time"], **KM_TOL)
    for col in ("n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(got[col], exp[col])
    for col in ("survival", "lower", "upper"):
        np.testing.assert_allclose(got[col], arr(exp[col]), equal_nan=True, **KM_TOL)


def test_near_equal_times_are_ties_as_in_r():
    """R's timefix (aeqSurv): 3 and 3.000000001 are one time, reported as 3; without it
    the curve would have separate rows, different Efron ties and a different HR."""
    got = sv.km_table(load("neartie"), "time", "status", "arm")
    a = got[got["group"] == "A"]
    assert list(a["time"]) == [0, 1, 3, 5, 6, 7.5, 8]
    assert list(a["n_event"]) == [0, 1, 2, 2, 1, 0, 1]
    assert sv._aeq_times(np.array([2.0, 2.0 + 1e-7, 1.0])).tolist() == [2.0, 2.0 + 1e-7, 1.0]


def test_km_table_first_row_and_columns():
    """A row at time 0 with survival 1 opens each group; columns as agreed."""
    got = sv.km_table(load("waltons"), "T", "E", "group")
    assert list(got.columns) == sv.KM_COLUMNS
    first = got.groupby("group").head(1)
    assert (first["time"] == 0).all() and (first["survival"] == 1).all()
    assert list(first["n_risk"]) == [129, 34]


@pytest.mark.parametrize("name", list(KM_CASES))
def test_km_summary_matches_print_survfit(name):
    """R: print(survfit(...)) -> n, events, median, 0.95LCL, 0.95UCL (NA = not reached)."""
    time, event, group = KM_CASES[name]
    got = sv.km_summary(load(name), time, event, group)
    exp = pd.DataFrame(expected(name)["print"])
    assert list(got["group"].astype(str)) == list(exp["strata"])
    np.testing.assert_array_equal(got["n"], exp["n"])
    np.testing.assert_array_equal(got["events"], exp["events"])
    for ours, r in (("median", "median"), ("median_lower", "lower"), ("median_upper", "upper")):
        np.testing.assert_allclose(got[ours], arr(exp[r]), equal_nan=True, **KM_TOL)


def test_km_summary_larynx_by_stage():
    """R: print(survfit(Surv(time, death) ~ stage)), stage releveled to II first; our
    groups come in sorted order (I, II, III, IV), so compare by label."""
    got = sv.km_summary(load("larynx"), "time", "death", "stage").set_index("group")
    exp = pd.DataFrame(expected("larynx")["print_stage"]).set_index("strata")
    got = got.loc[exp.index]
    np.testing.assert_allclose(got["median"], arr(exp["median"]), equal_nan=True, **KM_TOL)
    np.testing.assert_allclose(got["median_lower"], arr(exp["lower"]), equal_nan=True, **KM_TOL)
    np.testing.assert_allclose(got["median_upper"], arr(exp["upper"]), equal_nan=True, **KM_TOL)


def test_median_midpoint_rule_textbook():
    """S(t) = 0.5 exactly on a flat stretch: the median is the midpoint of the stretch.

    Events at 1, 2, 3, 4 (no censoring): S = 0.75, 0.5, 0.25, 0 -> median (2 + 3)/2 = 2.5.
    Events at 1, 2, 3, censored 4, event 5, censored 6: S = 0.5 on [3, 5) -> median 4
    (the censoring at 4 does not end the stretch). R prints the same (R_output.txt).
    """
    got = sv.km_summary(load("midpoint"), "time", "status", "case").set_index("group")
    assert got.loc["exact4", "median"] == 2.5
    assert got.loc["censored6", "median"] == 4.0
    assert math.isnan(got.loc["exact4", "median_upper"])  # upper band never reaches 0.5


def test_median_not_reached_is_nan():
    """R: print(survfit(Surv(week, arrest) ~ 1, rossi)) -> median NA (26% arrested)."""
    got = sv.km_summary(load("rossi"), "week", "arrest")
    assert got.loc[0, "group"] == "all"
    assert got[["median", "median_lower", "median_upper"]].isna().all(axis=None)


@pytest.mark.parametrize("name", ["waltons", "rossi", "lung", "larynx", "ties3", "neartie"])
def test_km_at_matches_summary_times(name):
    """R: summary(fit, times = ...) -> n.risk, surv, lower, upper. R drops times beyond a
    group's last follow-up; we keep them as NaN with n_risk 0 (checked separately)."""
    time, event, group = KM_CASES[name]
    exp = pd.DataFrame(expected(name)["at"])
    times = sorted(set(exp["time"]))
    got = sv.km_at(load(name), time, event, group, times=times)
    got = got.assign(strata=got["group"].astype(str)).set_index(["strata", "time"])
    exp = exp.set_index(["strata", "time"])
    dropped = got.index.difference(exp.index)
    assert got.loc[dropped, "survival"].isna().all() and (got.loc[dropped, "n_risk"] == 0).all()
    got = got.loc[exp.index]
    np.testing.assert_array_equal(got["n_risk"], exp["n_risk"])
    for col in ("survival", "lower", "upper"):
        np.testing.assert_allclose(got[col], arr(exp[col]), equal_nan=True, **KM_TOL)


def test_km_at_beyond_follow_up():
    """Rossi's follow-up ends at week 52 with S > 0: R's summary(times = 60) drops the row,
    we say NaN. Waltons miR-137 ends with S = 0 at 62: at 63 survival is 0 (R, extend =
    TRUE: surv 0, n.risk 0, CI NA)."""
    got = sv.km_at(load("rossi"), "week", "arrest", times=[52, 60])
    assert got.loc[0, "survival"] > 0 and got.loc[0, "n_risk"] > 0
    assert math.isnan(got.loc[1, "survival"]) and got.loc[1, "n_risk"] == 0
    got = sv.km_at(load("waltons"), "T", "E", "group", times=[63]).set_index("group")
    assert got.loc["miR-137", "survival"] == 0 and got.loc["miR-137", "n_risk"] == 0
    assert math.isnan(got.loc["miR-137", "lower"])
    assert got.loc["control", "survival"] > 0


def test_km_at_before_first_time_is_one():
    got = sv.km_at(load("ties3"), "time", "status", "arm", times=[0.5])
    assert (got["survival"] == 1).all() and (got["n_risk"] == 50).all()


# --------------------------------------------------------------------------- log-rank
LOGRANK_CASES = {
    "waltons": ("T", "E", "group", "logrank"),
    "rossi": ("week", "arrest", "fin", "logrank"),
    "lung": ("time", "status", "sex", "logrank"),
    "lung_ecog": ("time", "status", "ecog", "logrank_ecog"),
    "larynx": ("time", "death", "stage", "logrank"),
    "ties3": ("time", "status", "arm", "logrank"),
    "neartie": ("time", "status", "arm", "logrank"),
}


@pytest.mark.parametrize("case", list(LOGRANK_CASES))
def test_logrank_matches_survdiff(case):
    """R: survdiff(Surv(time, event) ~ group) -> chisq on k - 1 df, p = pchisq(upper)."""
    time, event, group, key = LOGRANK_CASES[case]
    name = case.split("_")[0]
    exp = expected(name)[key]
    got = sv.logrank(load(name), time, event, group)
    assert list(got.columns) == sv.LOGRANK_COLUMNS
    row = got.iloc[0]
    assert row["statistic"] == pytest.approx(exp["chisq"], rel=1e-10)
    assert row["dof"] == exp["df"]
    assert row["p"] == pytest.approx(exp["p"], rel=1e-8)
    assert row["n"] == sum(exp["n"]) and row["groups"] == len(exp["n"])


@pytest.mark.parametrize("name", ["ties3", "larynx"])
def test_logrank_observed_expected(name):
    """R: survdiff(...)$obs and $exp per group (k = 3 and 4 groups, heavy ties)."""
    time, event, group, key = LOGRANK_CASES[name]
    exp = expected(name)[key]
    got = sv.logrank_table(load(name), time, event, group).set_index("group")
    got = got.loc[exp["groups"]]
    np.testing.assert_allclose(got["observed"], exp["observed"], **KM_TOL)
    np.testing.assert_allclose(got["expected"], exp["expected"], **KM_TOL)


def test_logrank_singular_variance_warns():
    """Every event at one time, nobody left at risk: V = 0. R's survdiff stops
    ("Lapack routine dgesv: system is exactly singular"); we warn and give NaN."""
    df = pd.DataFrame({"time": [1.0] * 6, "event": 1, "group": list("aaaaab")})
    with pytest.warns(RuntimeWarning, match="singular"):
        got = sv.logrank(df, "time", "event", "group").iloc[0]
    assert math.isnan(got["statistic"]) and math.isnan(got["p"])


def test_logrank_one_group_is_an_error():
    df = load("ties3").assign(one="x")
    with pytest.raises(ValueError, match="only one group"):
        sv.logrank(df, "time", "status", "one")


# --------------------------------------------------------------------------- Cox
# dataset, fixture key, covariates, reference, R term -> our term
COX_CASES = {
    "rossi": ("rossi", "cox", ["fin", "age", "race", "wexp", "mar", "paro", "prio"], None, {}),
    "rossi_fin": ("rossi", "cox_fin", ["fin"], None, {}),
    "waltons": ("waltons", "cox", ["group"], None, {"groupmiR-137": "group[miR-137]"}),
    "lung_ecog": ("lung", "cox", ["age", "sex", "ecog"], None,
                  {"ecog1": "ecog[1]", "ecog2": "ecog[2]", "ecog3": "ecog[3]"}),
    "lung_na": ("lung", "cox_na", ["age", "sex", "ph.karno", "wt.loss"], None, {}),
    "larynx": ("larynx", "cox", ["age", "stage"], {"stage": "II"},
               {"stageI": "stage[I]", "stageIII": "stage[III]", "stageIV": "stage[IV]"}),
    "ties3": ("ties3", "cox", ["arm", "x"], None, {"armB": "arm[B]", "armC": "arm[C]"}),
    "ties3_arm": ("ties3", "cox_arm", ["arm"], None, {"armB": "arm[B]", "armC": "arm[C]"}),
    "neartie": ("neartie", "cox", ["arm"], None, {"armB": "arm[B]"}),
    "ties3_breslow": ("ties3", "cox_breslow", ["arm", "x"], None,
                      {"armB": "arm[B]", "armC": "arm[C]"}),
    "rossi_breslow": ("rossi", "cox_breslow", ["fin", "age", "prio"], None, {}),
}


def _fit(case):
    name, key, covs, ref, rename = COX_CASES[case]
    time, event = KM_CASES[name][:2]
    ties = "breslow" if case.endswith("breslow") else "efron"
    res = sv.cox(load(name), time, event, covs, reference=ref, ties=ties)
    return res, expected(name)[key], rename


@pytest.mark.parametrize("case", list(COX_CASES))
def test_cox_matches_coxph(case):
    """R: summary(coxph(Surv(time, event) ~ ..., ties = "efron",
    control = coxph.control(eps = 1e-11))): coef, se(coef), exp(coef), lower/upper .95,
    z, Pr(>|z|); n, nevent (after na.omit); loglik; likelihood-ratio test."""
    res, exp, rename = _fit(case)
    terms = [rename.get(t, t) for t in np.atleast_1d(exp["term"])]
    assert list(res.table["term"]) == terms
    assert list(res.table.columns) == sv.COX_COLUMNS
    for col in ("coef", "se", "hr", "lower", "upper", "z", "p"):
        np.testing.assert_allclose(res.table[col], np.atleast_1d(exp[col]), **COX_TOL,
                                   err_msg=col)
    assert res.n == exp["n"] and res.events == exp["events"]
    assert res.loglik_null == pytest.approx(exp["loglik"][0], rel=1e-10)
    assert res.loglik == pytest.approx(exp["loglik"][1], rel=1e-9)
    assert res.lr_statistic == pytest.approx(exp["lr"], rel=1e-6)
    assert res.lr_dof == exp["lr_df"]
    assert res.lr_p == pytest.approx(exp["lr_p"], rel=1e-5)


@pytest.mark.parametrize("case", list(COX_CASES))
def test_cox_hr_equals_r_default_to_4_decimals(case):
    """R: exp(coef(coxph(...))) at R's default eps = 1e-9, rounded to 4 decimals."""
    res, exp, _ = _fit(case)
    r_hr = np.atleast_1d(exp["hr_default_control"])
    assert np.array_equal(np.round(res.table["hr"].to_numpy(), 4), np.round(r_hr, 4))


@pytest.mark.parametrize("case", list(COX_CASES))
def test_cox_concordance_matches_r(case):
    """R: coxph(...)$concordance -> concordant, discordant, tied.x, ..., concordance.
    Ties in the linear predictor count 1/2; pairs tied in time with both events are not
    comparable (R's tied.y); an event and a censoring at the same time are comparable."""
    res, exp, _ = _fit(case)
    conc, disc, tied_x, _tied_y, _tied_xy, c = exp["concordance"]
    assert res.concordance == pytest.approx(c, rel=1e-10)
    name, _, covs, ref, _ = COX_CASES[case]
    time, event = KM_CASES[name][:2]
    df = load(name).dropna(subset=[time, event] + covs)
    from helpers.regression import design_matrix
    X, _ = design_matrix(df, covs, ref)
    t = sv._aeq_times(df[time].to_numpy(dtype=float))  # R's timefix, as cox() does
    counts = sv.concordance_index(t, df[event], X.to_numpy() @ res.table["coef"].to_numpy())
    assert (counts["concordant"], counts["discordant"], counts["tied_x"]) == (conc, disc, tied_x)


def test_cox_reference_level_reported():
    res, _, _ = _fit("larynx")
    assert res.reference == {"stage": "II"}
    res, _, _ = _fit("ties3")
    assert res.reference == {"arm": "A"}


def test_cox_bool_and_categorical_order():
    """A bool column compares True with False; a pd.Categorical's first category is the
    default reference (its stated order, as R's factor levels)."""
    df = load("ties3").dropna()
    df2 = df.assign(arm_b=df["arm"] == "B", arm_b01=(df["arm"] == "B").astype(int),
                    arm_cat=pd.Categorical(df["arm"], ["C", "A", "B"]))
    b = sv.cox(df2, "time", "status", ["arm_b"]).table
    b01 = sv.cox(df2, "time", "status", ["arm_b01"]).table
    assert list(b["term"]) == ["arm_b"]
    assert b.loc[0, "hr"] == pytest.approx(b01.loc[0, "hr"], rel=1e-12) and b.loc[0, "hr"] > 1
    c = sv.cox(df2, "time", "status", ["arm_cat"])
    assert c.reference == {"arm_cat": "C"}
    assert list(c.table["term"]) == ["arm_cat[A]", "arm_cat[B]"]
    # against C, arm A has the lowest hazard of the three (see cox_arm in the R fixture)
    assert c.table.loc[0, "hr"] < c.table.loc[1, "hr"] < 1


def test_cox_bool_with_missing_values_is_a_bool_term():
    """An object column of True/False with NaN (or pandas 'boolean') codes as 0/1."""
    df = load("ties3").dropna()
    df["arm_b"] = (df["arm"] == "B").astype(object)
    df.loc[df.index[:3], "arm_b"] = np.nan
    ref = sv.cox(df.dropna(), "time", "status", ["arm_b"]).table
    got = sv.cox(df, "time", "status", ["arm_b"])
    nullable = sv.cox(df.assign(arm_b=df["arm_b"].astype("boolean")), "time", "status",
                      ["arm_b"]).table
    assert list(got.table["term"]) == ["arm_b"] and got.n == len(df) - 3
    assert got.table.loc[0, "hr"] == pytest.approx(ref.loc[0, "hr"], rel=1e-12)
    assert nullable.loc[0, "hr"] == pytest.approx(ref.loc[0, "hr"], rel=1e-12)


def test_cox_univariable_stacks_single_models():
    df = load("lung")
    uni = sv.cox_univariable(df, "time", "status", ["age", "ph.karno", "wt.loss", "ecog"])
    assert list(uni.columns) == ["covariate"] + sv.COX_COLUMNS + ["n", "events"]
    one = sv.cox(df, "time", "status", ["wt.loss"])
    row = uni[uni["covariate"] == "wt.loss"].iloc[0]
    assert row["hr"] == one.table.loc[0, "hr"] and row["n"] == one.n == 228 - 14
    assert list(uni.loc[uni["covariate"] == "ecog", "term"]) == ["ecog[1]", "ecog[2]", "ecog[3]"]
    assert uni.loc[uni["covariate"] == "age", "n"].iloc[0] == 228


def test_cox_no_events_is_a_clear_error():
    df = load("ties3").assign(status=0)
    with pytest.raises(ValueError, match="no events"):
        sv.cox(df, "time", "status", ["x"])


def test_cox_infinite_coefficient_warns():
    """No events in arm B: the HR runs off to 0, R warns 'coefficient may be infinite'."""
    df = load("ties3")
    df.loc[df["arm"] == "B", "status"] = 0
    with pytest.warns(RuntimeWarning, match="did not converge"):
        sv.cox(df, "time", "status", ["arm"])


# --------------------------------------------------------------------------- bad input
def test_bad_input_messages_name_column_and_rows():
    df = load("ties3")
    with pytest.raises(ValueError, match=r"'months' not found"):
        sv.km_table(df, "months", "status")
    bad = df.copy()
    bad.loc[[3, 7], "status"] = 2
    with pytest.raises(ValueError, match=r"column 'status' must be 0/1.*rows 3, 7"):
        sv.km_summary(bad, "time", "status", "arm")
    bad = df.copy()
    bad.loc[4, "time"] = -1.0
    with pytest.raises(ValueError, match=r"column 'time' must hold finite non-negative.*rows 4"):
        sv.logrank(bad, "time", "status", "arm")
    with pytest.raises(ValueError, match=r"reference level 'Z' for column 'arm'"):
        sv.cox(df, "time", "status", ["arm"], reference={"arm": "Z"})
    bad = df.assign(x=df["x"].astype(object))
    bad.loc[[9, 12], "x"] = "high"
    with pytest.raises(ValueError, match=r"column 'x' holds numbers as text.*'high' in rows 9, 12"):
        sv.cox(bad, "time", "status", ["x"])
    with pytest.raises(ValueError, match=r"event.*'status'|'status'.*0/1"):
        sv.cox(df.assign(status=df["status"] * 2), "time", "status", ["x"])
    with pytest.raises(ValueError, match=r"finite"):
        sv.km_table(df.assign(time=np.inf), "time", "status")


def test_missing_rows_dropped_not_modified():
    """na.omit: rows with a missing time/event/group are dropped; the input is untouched."""
    df = load("ties3")
    df.loc[[0, 1], "time"] = np.nan
    before = df.copy()
    got = sv.km_summary(df, "time", "status", "arm")
    assert got["n"].sum() == 148
    pd.testing.assert_frame_equal(df, before)


def test_group_order_sorted_or_categorical():
    df = load("ties3")
    assert list(sv.km_summary(df, "time", "status", "arm")["group"]) == ["A", "B", "C"]
    df["arm"] = pd.Categorical(df["arm"], ["C", "B", "A"])
    assert list(sv.km_summary(df, "time", "status", "arm")["group"]) == ["C", "B", "A"]


# --------------------------------------------------------------------------- properties
@st.composite
def two_group_data(draw):
    n = draw(st.integers(6, 40))
    time = draw(st.lists(st.integers(1, 12), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    group = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    return pd.DataFrame({"time": np.array(time, float), "event": event, "group": group})


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(two_group_data())
def test_km_survival_non_increasing_in_unit_interval(df):
    tab = sv.km_table(df, "time", "event", "group")
    for _, g in tab.groupby("group"):
        s = g["survival"].to_numpy()
        assert np.all((s >= 0) & (s <= 1))
        assert np.all(np.diff(s) <= 1e-15)
        ok = ~np.isnan(g["lower"].to_numpy())
        assert np.all(g["lower"].to_numpy()[ok] <= s[ok] + 1e-15)
        assert np.all(g["upper"].to_numpy()[ok] >= s[ok] - 1e-15)


@PROPS
@given(st.lists(st.integers(1, 30), min_size=1, max_size=40))
def test_km_without_censoring_is_one_minus_ecdf(times):
    """No censoring: S(t) = share of patients with time > t (textbook)."""
    df = pd.DataFrame({"time": np.array(times, float), "event": 1})
    tab = sv.km_table(df, "time", "event")
    t = np.asarray(times, float)
    expect = np.array([(t > x).mean() for x in tab["time"]])
    np.testing.assert_allclose(tab["survival"], expect, atol=1e-12)


@PROPS
@given(st.data())
def test_logrank_k_groups_invariant_to_relabelling(data):
    """Renaming k = 3 groups (any permutation) leaves survdiff's chi-square unchanged."""
    n = data.draw(st.integers(9, 40))
    df = pd.DataFrame({
        "time": data.draw(st.lists(st.integers(1, 8), min_size=n, max_size=n)),
        "event": data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
        "group": data.draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n)),
    })
    assume(df["group"].nunique() == 3 and df["event"].sum() > 0)
    perm = data.draw(st.permutations("abc"))
    renamed = df.assign(group=df["group"].map(dict(zip("abc", perm))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = sv.logrank(df, "time", "event", "group").iloc[0]
        b = sv.logrank(renamed, "time", "event", "group").iloc[0]
    assert a["dof"] == b["dof"]
    if math.isnan(a["statistic"]):
        assert math.isnan(b["statistic"])
    else:
        assert b["statistic"] == pytest.approx(a["statistic"], rel=1e-9, abs=1e-12)


@PROPS
@given(two_group_data())
def test_swapping_labels_inverts_hr_and_keeps_logrank(df):
    counts = df.groupby("group")["event"].agg(["sum", "count"])
    assume(len(counts) == 2 and (counts["sum"] > 0).all())
    swapped = df.assign(group=df["group"].map({"a": "b", "b": "a"}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # singular variance: NaN both ways
        lr1 = sv.logrank(df, "time", "event", "group").iloc[0]
        lr2 = sv.logrank(swapped, "time", "event", "group").iloc[0]
    if math.isnan(lr1["statistic"]):
        assert math.isnan(lr2["statistic"])
        return
    assert lr2["statistic"] == pytest.approx(lr1["statistic"], rel=1e-9, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            h1 = sv.cox(df, "time", "event", ["group"]).table.iloc[0]
            h2 = sv.cox(swapped, "time", "event", ["group"]).table.iloc[0]
        except RuntimeWarning:  # monotone likelihood: infinite HR, nothing to invert
            assume(False)
    assert h2["hr"] == pytest.approx(1 / h1["hr"], rel=1e-6)
    assert h2["lower"] == pytest.approx(1 / h1["upper"], rel=1e-6)
    assert h2["upper"] == pytest.approx(1 / h1["lower"], rel=1e-6)
    assert h2["p"] == pytest.approx(h1["p"], rel=1e-6, abs=1e-12)


def _concordance_all_pairs(t, e, r):
    """The definition, pair by pair (O(n^2)): the reference for the sorted-list count."""
    conc = disc = tied = 0
    for i in range(len(t)):
        if not e[i]:
            continue
        for j in range(len(t)):
            if t[j] > t[i] or (t[j] == t[i] and not e[j]):
                conc += r[i] > r[j]
                disc += r[i] < r[j]
                tied += r[i] == r[j]
    return conc, disc, tied


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concordance_sorted_count_equals_all_pairs(seed):
    """Tied times (event/event, event/censored), tied risks: the O(n log n) count equals the
    pair-by-pair definition exactly, and lifelines' concordance_index."""
    from lifelines.utils import concordance_index as lifelines_c

    rng = np.random.default_rng(seed)
    n = 150
    t = rng.integers(1, 30, n).astype(float)
    e = rng.random(n) < 0.6
    r = rng.integers(0, 8, n).astype(float)
    got = sv.concordance_index(t, e, r)
    conc, disc, tied = _concordance_all_pairs(t, e, r)
    assert (got["concordant"], got["discordant"], got["tied_x"]) == (conc, disc, tied)
    assert got["concordance"] == pytest.approx(lifelines_c(t, -r, e), rel=1e-12)
