"""Propensity-score matching against R MatchIt 4.5.1.

Reference values: ``tests/fixtures/matching/make_matching.R`` (R 4.2.2, MatchIt 4.5.1; R's
printed output in ``make_matching.Rout``, versions in ``VERSIONS``). The R calls:

    matchit(treat ~ age + educ + race + married + nodegree + re74 + re75, data = lalonde,
            method = "nearest", distance = "glm", caliper = 0.2, replace = FALSE, ratio = 1)
    matchit(treat ~ age + il6_pg_ml + child_pugh_b, data = small, <same options>)

A miss that became a finding: MatchIt 4.5.1 neither applies that caliper nor picks the
nearest control (its C++ ``abs()`` truncates score differences to integers; upstream issue
#163). The R script prints that 142 of lalonde's 185 pairs lie outside the caliper. So:

- ``<name>_pairs.csv`` (what 4.5.1 returns) is the reference for
  ``match_nearest(matchit_451_defect=True)``;
- ``<name>_caliper_pairs.csv`` / ``<name>_nearest_pairs.csv`` (the correct algorithm, with
  and without caliper) come from MatchIt's general routine ``nn_matchC`` (distance matrix,
  rows pre-sorted by descending score, ``caliper = 0.2 * sd(ps)``) and are the reference
  for ``match_nearest(caliper=0.2)`` / ``match_nearest(caliper=None)``.

"""
import numpy as np
import pandas as pd
import pytest

from helpers import matching
from helpers.paths import FIXTURES

FIX = FIXTURES / "matching"
LALONDE_COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
SMALL_COVS = ["age", "il6_pg_ml", "child_pugh_b"]


def _load(name):
    df = pd.read_csv(FIX / f"{name}.csv", index_col="id")
    d = pd.read_csv(FIX / f"{name}_distance.csv", index_col="id")["distance"]
    return df, d


def _r_pairs(name, suffix=""):
    p = pd.read_csv(FIX / f"{name}{suffix}_pairs.csv", keep_default_na=False)
    return {r.treated: r.control for r in p.itertuples() if r.control != ""}


def _py_pairs(matched):
    pp = matching.matched_pairs(matched, "treat")
    return dict(zip(pp["treated"], pp["control"]))


CASES = [("lalonde", LALONDE_COVS), ("small_caliper", SMALL_COVS)]


@pytest.mark.parametrize("name, covs", CASES)
def test_propensity_score_matches_glm(name, covs):
    """R: matchit(...)$distance (glm fitted values, printed with %.17g)."""
    df, d_r = _load(name)
    d = matching.propensity_score(df, "treat", covs)
    assert d.index.equals(d_r.index)
    np.testing.assert_allclose(d.to_numpy(), d_r.to_numpy(), rtol=1e-11, atol=1e-14)  # observed 3e-13


@pytest.mark.parametrize("name, covs", CASES)
def test_matchit_451_output_reproduced_exactly(name, covs):
    """R 4.5.1's match.matrix: identical treated -> control pairs (all 185 / 16), which
    pins the descending match order and nn_matchC_vec's sort order and tie rule
    (small_caliper has three controls c03, c21, c22 with identical scores)."""
    df, d_r = _load(name)
    r = _r_pairs(name)
    m = matching.match_nearest(df, "treat", covs, distance=d_r, matchit_451_defect=True)
    assert _py_pairs(m) == r
    # our own propensity score gives the same pairs
    m2 = matching.match_nearest(df, "treat", covs, matchit_451_defect=True)
    assert _py_pairs(m2) == r


def test_matchit_451_defect_is_real():
    """The correct algorithm differs from 4.5.1 on lalonde (otherwise the emulation flag and
    the finding would be untested): many 4.5.1 pairs lie outside the caliper."""
    df, d_r = _load("lalonde")
    r = _r_pairs("lalonde")
    cal = float(open(FIX / "lalonde_caliper.txt").read())
    outside = sum(abs(d_r[t] - d_r[c]) > cal for t, c in r.items())
    assert outside == 142                                     # printed by make_matching.R
    m = matching.match_nearest(df, "treat", LALONDE_COVS, caliper=None, distance=d_r)
    assert _py_pairs(m) != r


def _assert_same_up_to_ties(py, r, d_r):
    """Same treated units, and each matched to the R control or to one with an identical
    score (nn_matchC breaks exact ties by data order, nn_matchC_vec by sort order)."""
    assert set(py) == set(r)
    for t in r:
        assert d_r[py[t]] == d_r[r[t]], (t, py[t], r[t])


@pytest.mark.parametrize("name, covs", CASES)
def test_pairs_without_caliper_match_nn_matchC(name, covs):
    """R: nn_matchC (distance matrix, no caliper): true nearest neighbours."""
    df, d_r = _load(name)
    r = _r_pairs(name, "_nearest")
    m = matching.match_nearest(df, "treat", covs, caliper=None, distance=d_r)
    py = _py_pairs(m)
    assert len(py) == len(r)
    _assert_same_up_to_ties(py, r, d_r)


@pytest.mark.parametrize("name, covs, n_pairs", [("lalonde", LALONDE_COVS, 113),
                                                 ("small_caliper", SMALL_COVS, 10)])
def test_pairs_with_working_caliper(name, covs, n_pairs):
    """R: MatchIt's nn_matchC with a |ps_t - ps_c| matrix, caliper = 0.2 * sd(ps) (see the
    R script): lalonde 113 of 185 treated matched, small_caliper 10 of 16.
    nn_matchC breaks exact ties in favour of the first control in data order, while
    nn_matchC_vec (whose rule we follow) prefers the nearest in sort order; so pairs must
    agree up to swapping controls with identical propensity scores (in small_caliper c03,
    c21, c22 are duplicates)."""
    df, d_r = _load(name)
    r = _r_pairs(name, "_caliper")
    m = matching.match_nearest(df, "treat", covs, caliper=0.2, distance=d_r)
    py = _py_pairs(m)
    assert len(py) == n_pairs == len(r)
    _assert_same_up_to_ties(py, r, d_r)
    cal = float(open(FIX / f"{name}_caliper.txt").read())
    assert m.attrs["caliper_distance"] == pytest.approx(cal, rel=1e-12)
    pp = matching.matched_pairs(m, "treat")
    assert (pp["difference"] <= cal).all()


def _check_balance(bal, ref, rename, tol_rel=1e-8):
    ref = ref.set_index("variable")
    got = bal.assign(variable=bal["variable"].map(lambda v: rename.get(v, v))).set_index("variable")
    assert set(ref.index) == set(got.index)
    for col in matching.BALANCE_COLUMNS[1:]:
        np.testing.assert_allclose(got.loc[ref.index, col].to_numpy(float), ref[col].to_numpy(float),
                                   rtol=tol_rel, atol=1e-10, err_msg=col)


RENAME = {"race_black": "raceblack", "race_hispan": "racehispan", "race_white": "racewhite"}


@pytest.mark.parametrize("name, covs", CASES)
def test_balance_matches_summary_matchit(name, covs):
    """R: summary(m, un = TRUE)$sum.all / $sum.matched, columns Means Treated, Means Control,
    Std. Mean Diff. (printed with %.17g; R's print(digits = 10) output in make_matching.Rout),
    for the 4.5.1 match, with the distance row."""
    df, d_r = _load(name)
    m = matching.match_nearest(df, "treat", covs, distance=d_r, matchit_451_defect=True)
    bal = matching.balance_table(df, m, "treat", covs, distance=d_r)
    assert list(bal.columns[:7]) == matching.BALANCE_COLUMNS
    _check_balance(bal, pd.read_csv(FIX / f"{name}_balance.csv"), RENAME)


@pytest.mark.parametrize("name, covs", CASES)
@pytest.mark.parametrize("suffix, caliper", [("_caliper", 0.2), ("_nearest", None)])
def test_balance_of_correct_match_matches_summary(name, covs, suffix, caliper):
    """R: summary() of the nn_matchC matches (covariate rows; tied controls are duplicates,
    so the swap allowed above does not change any mean)."""
    df, d_r = _load(name)
    m = matching.match_nearest(df, "treat", covs, caliper=caliper, distance=d_r)
    bal = matching.balance_table(df, m.drop(columns="distance"), "treat", covs)
    _check_balance(bal, pd.read_csv(FIX / f"{name}{suffix}_balance.csv"), RENAME)


def test_balance_binary_sd_is_p_one_minus_p():
    """Hand computation: treated x = [1, 1, 0, 0] (p = 0.5, SD = sqrt(0.25) = 0.5), control
    x = [0, 0, 0, 1] (0.25): SMD = (0.5 - 0.25) / 0.5 = 0.5; continuous z treated [1, 2, 3, 4]
    (mean 2.5, SD n-1 = 1.2909944), control [1, 1, 1, 1]: SMD = 1.5 / 1.2909944 = 1.1618950."""
    df = pd.DataFrame({"treat": [1, 1, 1, 1, 0, 0, 0, 0], "x": [1, 1, 0, 0, 0, 0, 0, 1],
                       "z": [1, 2, 3, 4, 1, 1, 1, 1]})
    bal = matching.balance_table(df, df.assign(pair=1), "treat", ["x", "z"]).set_index("variable")
    assert bal.loc["x", "smd_before"] == pytest.approx(0.5)
    assert bal.loc["z", "smd_before"] == pytest.approx(1.1618950, abs=1e-7)
    assert bool(bal.loc["x", "binary"]) and not bool(bal.loc["z", "binary"])


def test_matching_summary_counts():
    df, d_r = _load("small_caliper")
    m = matching.match_nearest(df, "treat", SMALL_COVS, caliper=0.2, distance=d_r)
    s = matching.matching_summary(df, m, "treat").set_index("sample")
    assert s.loc["all"].tolist() == [24, 16]
    assert s.loc["matched"].tolist() == [10, 10]
    assert s.loc["unmatched"].tolist() == [14, 6]
    # every pair has one treated and one control row, treated first
    assert (m.groupby("pair")["treat"].apply(list) == pd.Series([[1, 0]] * 10, index=range(1, 11))).all()


def test_other_match_orders_and_seed():
    df, d_r = _load("small_caliper")
    a = matching.match_nearest(df, "treat", SMALL_COVS, m_order="random", seed=7, distance=d_r)
    b = matching.match_nearest(df, "treat", SMALL_COVS, m_order="random", seed=7, distance=d_r)
    assert a.equals(b)
    s = matching.match_nearest(df, "treat", SMALL_COVS, m_order="smallest", distance=d_r)
    assert s["pair"].max() >= 1
    with pytest.raises(ValueError, match="m_order"):
        matching.match_nearest(df, "treat", SMALL_COVS, m_order="closest", distance=d_r)


def test_bad_input_errors_name_column_and_rows():
    df, _ = _load("small_caliper")
    bad = df.copy()
    bad.loc["t03", "age"] = np.nan
    with pytest.raises(ValueError, match=r"'age' has missing values in rows \['t03'\]"):
        matching.match_nearest(bad, "treat", SMALL_COVS)
    bad = df.copy()
    bad.loc["c01", "treat"] = 2
    with pytest.raises(ValueError, match=r"'treat' must be 0/1; rows \['c01'\]"):
        matching.propensity_score(bad, "treat", SMALL_COVS)
    with pytest.raises(ValueError, match=r"\['albumin'\] not in the data"):
        matching.propensity_score(df, "treat", ["albumin"])


# ---------------------------------------------------------------- invariants (hypothesis)
from hypothesis import given, strategies as st  # noqa: E402


@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0.01, 0.99)), min_size=4, max_size=40),
       st.sampled_from([None, 0.05, 0.2, 1.0]))
def test_matching_invariants(units, caliper):
    """For any scores: every control used at most once, one control per treated unit, all
    pairs inside the caliper, no caliper => min(n treated, n control) pairs, and a treated
    unit is dropped only if no unused control was within the caliper when its turn came."""
    df = pd.DataFrame(units, columns=["treat", "ps"])
    if df["treat"].nunique() < 2:
        return
    m = matching.match_nearest(df, "treat", [], caliper=caliper, distance="ps")
    pp = matching.matched_pairs(m, "treat")
    assert pp["control"].is_unique and pp["treated"].is_unique
    assert (df.loc[pp["treated"], "treat"] == 1).all() and (df.loc[pp["control"], "treat"] == 0).all()
    n1, n0 = int(df["treat"].sum()), int((1 - df["treat"]).sum())
    if caliper is None:
        assert len(pp) == min(n1, n0)
    else:
        cal = caliper * df["ps"].std(ddof=1)
        assert (pp["difference"] <= cal + 1e-15).all()
        assert m.attrs["caliper_distance"] == pytest.approx(cal)
    # greedy order: pairs are numbered in descending treated score
    assert pp["distance_treated"].is_monotonic_decreasing
    # an unmatched treated unit had no free control within the caliper at its turn
    used_before = set()
    order = df[df["treat"] == 1]["ps"].sort_values(ascending=False, kind="stable").index
    matched_t = dict(zip(pp["treated"], pp["control"]))
    for t in order:
        free = df[(df["treat"] == 0) & ~df.index.isin(list(used_before))]
        if t in matched_t:
            c = matched_t[t]
            best = (free["ps"] - df.loc[t, "ps"]).abs().min()
            assert abs(df.loc[c, "ps"] - df.loc[t, "ps"]) == pytest.approx(best, abs=1e-15)
            used_before.add(c)
        else:
            if caliper is not None and len(free):
                assert (free["ps"] - df.loc[t, "ps"]).abs().min() > caliper * df["ps"].std(ddof=1)
