"""Table 1 against R (base functions that tableone calls; tableone is not installed here).

Reference values: ``tests/fixtures/tables/make_table_one.R`` (R 4.2.2; versions in
``VERSIONS``; R's printed output in ``make_table_one.Rout``). Data: ``table_one_data.csv``
(90 made-up patients, two groupings: ``il6_group`` with 2 levels and ``centre`` with 3;
missing values in ``age`` and ``aetiology``). Expected numbers were written with
``sprintf("%.15g")``; tolerances are relative 1e-9 for p-values (scipy and R evaluate the
same distribution functions by different code) and 1e-12 for summaries and SMDs.

R calls behind ``expected_p.csv``, for group ``g`` and variable ``x``:
``chisq.test(table(g, x))`` (chisq_yates), ``chisq.test(table(g, x), correct = FALSE)``
(chisq), ``fisher.test(table(g, x))`` (fisher), ``oneway.test(x ~ g, var.equal = TRUE)``
(anova), ``oneway.test(x ~ g, var.equal = FALSE)`` (welch), ``kruskal.test(x ~ g)`` (kruskal).
"""
import numpy as np
import pandas as pd
import pytest

from helpers import tables
from helpers.paths import FIXTURES

FIX = FIXTURES / "tables"
VARIABLES = ["age", "il6_pg_ml", "male", "child_pugh", "aetiology"]
CATEGORICAL = ["male", "child_pugh", "aetiology"]
GROUPS = {"il6_group": ["il6_high", "il6_low"], "centre": ["A", "B", "C"]}


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIX / "table_one_data.csv")


@pytest.fixture(scope="module")
def expected():
    s = pd.read_csv(FIX / "expected_summaries.csv", keep_default_na=False)
    s["value"] = s["value"].astype(float)
    p = pd.read_csv(FIX / "expected_p.csv")
    smd = pd.read_csv(FIX / "expected_smd.csv")
    return s, p, smd


def _table(data, grouping, **kw):
    return tables.table_one(data, grouping, VARIABLES, categorical=["male"],
                            nonnormal=kw.pop("nonnormal", ["il6_pg_ml"]), total=True, **kw)


@pytest.mark.parametrize("grouping", list(GROUPS))
def test_summaries_match_r(data, expected, grouping):
    """R: length, mean, sd, quantile(type = 7), table() counts and % of non-missing, per
    group and overall."""
    summ, _, _ = expected
    t = _table(data, grouping, nonnormal=[])
    t_nn = _table(data, grouping)        # medians/quartiles are stored for both kinds anyway
    assert t.attrs["groups"] == [*GROUPS[grouping], "Overall"]
    checked = 0
    for r in summ[summ["grouping"] == grouping].itertuples():
        rows = t[(t["variable"] == r.variable) & (t["level"] == str(r.level))]
        assert len(rows) == 1, (r.variable, r.level)
        got = rows.iloc[0][f"{r.group}__{r.quantity}"]
        assert got == pytest.approx(r.value, rel=1e-12, abs=1e-12), (r.variable, r.level, r.group, r.quantity)
        if r.quantity in ("median", "q1", "q3"):
            got_nn = t_nn[(t_nn["variable"] == r.variable)].iloc[0][f"{r.group}__{r.quantity}"]
            assert got_nn == pytest.approx(r.value, rel=1e-12)
        checked += 1
    assert checked >= 90          # 3 columns x (2 x 6 continuous + 9 levels x 2)


@pytest.mark.parametrize("grouping", list(GROUPS))
@pytest.mark.parametrize("options, cat_test, cont_test", [
    ({}, "chisq_yates", "anova"),                         # tableone defaults
    ({"yates": False, "welch": True}, "chisq", "welch"),  # SPSS Pearson chi-square, Welch t
])
def test_p_values_match_r(data, expected, grouping, options, cat_test, cont_test):
    _, pv, _ = expected
    t = _table(data, grouping, **options)
    ref = pv[pv["grouping"] == grouping].set_index(["variable", "test"])["p"]
    first = t.drop_duplicates("variable").set_index("variable")
    assert first.loc["age", "test"] == cont_test
    assert first.loc["age", "p"] == pytest.approx(ref[("age", cont_test)], rel=1e-9)
    assert first.loc["il6_pg_ml", "test"] == "kruskal"
    assert first.loc["il6_pg_ml", "p"] == pytest.approx(ref[("il6_pg_ml", "kruskal")], rel=1e-9)
    for var in CATEGORICAL:
        assert first.loc[var, "test"] == cat_test
        assert first.loc[var, "p"] == pytest.approx(ref[(var, cat_test)], rel=1e-9), var


def test_yates_applies_to_2x2_only(expected):
    """R's chisq.test corrects 2x2 tables only: for 'male' (2x2) the corrected p 0.643 differs
    from the uncorrected 0.463; for 'child_pugh' (2x3) they are equal."""
    _, pv, _ = expected
    ref = pv[pv["grouping"] == "il6_group"].set_index(["variable", "test"])["p"]
    assert ref[("male", "chisq_yates")] != pytest.approx(ref[("male", "chisq")], rel=1e-3)
    assert ref[("child_pugh", "chisq_yates")] == ref[("child_pugh", "chisq")]


@pytest.mark.parametrize("grouping", list(GROUPS))
def test_fisher_matches_r(data, expected, grouping):
    """R: fisher.test(table(g, x)) for 2x2, 2x3, 2x4, 3x2, 3x3 and 3x4 tables."""
    _, pv, _ = expected
    t = _table(data, grouping, exact=CATEGORICAL)
    ref = pv[pv["grouping"] == grouping].set_index(["variable", "test"])["p"]
    first = t.drop_duplicates("variable").set_index("variable")
    for var in CATEGORICAL:
        assert first.loc[var, "test"] == "fisher"
        assert first.loc[var, "p"] == pytest.approx(ref[(var, "fisher")], rel=1e-9), var


def test_fisher_2x2_against_textbook():
    """Fisher's tea-tasting table [[3, 1], [1, 3]]: two-sided p = 34/70 = 0.4857143
    (R: fisher.test(matrix(c(3, 1, 1, 3), 2))$p.value = 0.4857143)."""
    assert tables.fisher_exact_rxc([[3, 1], [1, 3]]) == pytest.approx(34 / 70, rel=1e-12)


def test_fisher_refuses_huge_tables_clearly():
    with pytest.raises(ValueError, match="use a chi-square test"):
        tables.fisher_exact_rxc(np.full((4, 5), 30), max_tables=1000)


@pytest.mark.parametrize("grouping", list(GROUPS))
def test_smd_matches_tableone_formulas(data, expected, grouping):
    """R: tableone's StdDiff / StdDiffMulti re-typed in make_table_one.R (MASS::ginv);
    mean of pairwise SMDs for 3 groups."""
    _, _, smd = expected
    t = _table(data, grouping)
    first = t.drop_duplicates("variable").set_index("variable")
    for r in smd[smd["grouping"] == grouping].itertuples():
        assert first.loc[r.variable, "smd"] == pytest.approx(r.smd, rel=1e-12), r.variable


def test_binary_smd_reduces_to_proportion_formula():
    """Hand computation: p1 = 0.5, p2 = 0.25: |0.5 - 0.25| / sqrt((0.25 + 0.1875) / 2)
    = 0.25 / 0.4677072 = 0.5345225."""
    assert tables.smd_categorical(np.array([[2, 2], [3, 1]])) == pytest.approx(0.5345225, abs=1e-7)


def test_text_cells_tableone_and_journal_formats(data):
    t = _table(data, "il6_group")
    age = t[t["variable"] == "age"].iloc[0]
    assert age["statistic"] == "mean (SD)"
    assert age["il6_high"] == f"{age['il6_high__mean']:.1f} ({age['il6_high__sd']:.1f})"
    b7 = t[(t["variable"] == "child_pugh") & (t["level"] == "B7")].iloc[0]
    assert b7["il6_high"] == "8 (30.8)"                      # 8 / 26 = 30.77 %
    il6 = t[t["variable"] == "il6_pg_ml"].iloc[0]
    assert il6["statistic"] == "median [IQR]" and il6["il6_high"].count("[") == 1
    j = _table(data, "il6_group", formats=tables.FORMATS_JOURNAL)
    b7j = j[(j["variable"] == "child_pugh") & (j["level"] == "B7")].iloc[0]
    assert b7j["il6_high"] == "8 (30.8%)"
    il6j = j[j["variable"] == "il6_pg_ml"].iloc[0]
    assert "–" in il6j["il6_high"] and "[" not in il6j["il6_high"]
    n = t.iloc[0]
    assert n["variable"] == "n" and n["il6_high"] == "26" and n["il6_low"] == "64" and n["Overall"] == "90"


def test_percent_of_non_missing(data):
    """aetiology has one missing value (in the il6_high group: 25 non-missing of 26)."""
    t = _table(data, "il6_group")
    hb = t[(t["variable"] == "aetiology") & (t["level"] == "Hepatitis B")].iloc[0]
    assert hb["il6_high__pct"] == pytest.approx(100 * 17 / 25)


def test_rounding_modes():
    """36 / 64 = 56.25 % exactly: half-even (R sprintf) 56.2, half-up (SPSS) 56.3;
    1 / 35 = 2.857 %: truncated 2.8 (as the SORAMIC table prints it), rounded 2.9."""
    df = pd.DataFrame({"g": ["a"] * 64 + ["b"] * 35,
                       "x": ["y"] * 36 + ["n"] * 28 + ["y"] * 1 + ["n"] * 34})
    def cell(rounding, grp):
        t = tables.table_one(df, "g", ["x"], rounding=rounding)
        return t[(t["variable"] == "x") & (t["level"] == "y")].iloc[0][grp]
    assert cell("half_even", "a") == "36 (56.2)"
    assert cell("half_up", "a") == "36 (56.3)"
    assert cell("truncate", "b") == "1 (2.8)"
    assert cell("half_up", "b") == "1 (2.9)"
    with pytest.raises(ValueError, match="rounding"):
        tables.table_one(df, "g", ["x"], rounding="bankers")


def test_min_count_suppresses_small_cells(data):
    t = _table(data, "il6_group", min_count=10)
    b7 = t[(t["variable"] == "child_pugh") & (t["level"] == "B7")].iloc[0]
    assert b7["il6_high"] == "<10" and np.isnan(b7["il6_high__n"]) and np.isnan(b7["il6_high__pct"])
    a5 = t[(t["variable"] == "child_pugh") & (t["level"] == "A5")].iloc[0]
    assert a5["il6_low"] == "38 (59.4)"
    hc = t[(t["variable"] == "aetiology") & (t["level"] == "Hepatitis C")].iloc[0]
    assert hc["il6_high"] == "0 (0.0)"                       # zero is not disclosive


def test_levels_option_and_format_table_one(data):
    t = tables.table_one(data, "il6_group", ["male", "child_pugh"], categorical=["male"],
                         levels={"male": [1]}, labels={"male": "Male sex"})
    male = t[t["variable"] == "male"]
    assert len(male) == 1 and male.iloc[0]["level"] == "1" and male.iloc[0]["label"] == "Male sex"
    f = tables.format_table_one(t)
    assert list(f.columns) == ["variable", "level", "statistic", "il6_high", "il6_low", "p", "smd"]
    cp = f.iloc[2:5]
    assert cp["variable"].tolist() == ["child_pugh", "", ""]
    assert cp["p"].tolist()[1:] == ["", ""] and cp["p"].iloc[0] == "0.004"


def test_no_group_gives_overall_only(data):
    t = tables.table_one(data, None, ["age", "male"], categorical=["male"])
    assert t.attrs["groups"] == ["Overall"] and t["p"].isna().all() and t["test"].eq("").all()


def test_p_text_uses_the_one_formatter():
    """Table cells: ``<0.001`` or three decimals, never ``0.000``; ``>0.999`` at the top."""
    from helpers.results import fmt_p

    assert fmt_p(0.0004, prefix=False) == "<0.001"
    assert fmt_p(0.0496, prefix=False) == "0.050"
    assert fmt_p(0.00099, prefix=False) == "<0.001"
    assert fmt_p(0.0010, prefix=False) == "0.001"
    assert fmt_p(0.9996, prefix=False) == ">0.999"
    assert fmt_p(np.nan, prefix=False) == ""
    assert fmt_p(0.0004) == "p < 0.001" and fmt_p(0.0496) == "p = 0.050"


def test_bad_input_is_a_clear_error(data):
    with pytest.raises(ValueError, match=r"\['albumin'\] not in the data"):
        tables.table_one(data, "il6_group", ["albumin"])
    bad = data.assign(age=data["age"].astype(object))
    bad.loc[3, "age"] = "sixty"
    with pytest.raises(ValueError, match=r"'age' should be numeric; rows \[3\] hold \['sixty'\]"):
        tables.table_one(bad, "il6_group", ["age"])
    with pytest.raises(ValueError, match=r"'child_pugh' should be numeric"):
        tables.table_one(data, "il6_group", ["child_pugh"], nonnormal=["child_pugh"])
    with pytest.raises(ValueError, match="nonnormal but is categorical"):
        tables.table_one(data, "il6_group", ["male"], categorical=["male"], nonnormal=["male"])
    with pytest.raises(ValueError, match=r"categorical lists \['ecog'\]"):
        tables.table_one(data, "il6_group", ["male"], categorical=["ecog"])


def test_group_labels_and_total_first(data):
    d = data.assign(il6_high=(data["il6_group"] == "il6_high").astype(int))
    t = tables.table_one(d, "il6_high", ["age"], group_labels={0: "IL-6 low", 1: "IL-6 high"},
                         total="Total", total_first=True)
    assert t.attrs["groups"] == ["Total", "IL-6 low", "IL-6 high"]
    assert list(t.columns[4:7]) == ["Total", "IL-6 low", "IL-6 high"]
    assert t.iloc[0]["IL-6 high"] == "26" and t.iloc[0]["Total"] == "90"
