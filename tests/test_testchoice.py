"""helpers.testchoice: which candidate test reproduces the printed p-values, checked against R.

R 4.2.2 (script in the docstrings; G test computed by hand: 2 sum(o log(o/e)), pchisq):

    g <- function(t) { e <- chisq.test(t, correct=FALSE)$expected; o <- t[t>0]
                       pchisq(2*sum(o*log(o/e[t>0])), (nrow(t)-1)*(ncol(t)-1), lower.tail=FALSE) }
    chisq.test(t, correct=FALSE)$p.value; chisq.test(t)$p.value; fisher.test(t)$p.value; g(t)
"""
import math

import pandas as pd
import pytest

from helpers import audit, testchoice

#: R's p-values: Pearson, Yates (2 x 2 only), Fisher, G test.
R_VALUES = {
    # SORAMIC male by IL-6 group: matrix(c(43,5,34,1), 2)
    "soramic_male_p_il6": ([[43, 34], [5, 1]], (0.18907862, 0.37661131, 0.39335236, 0.16576456)),
    # Ate/Bev BCLC by IL-6 group: matrix(c(3,22,31,109), 2)
    "total_bclc_p_il6": ([[3, 31], [22, 109]], (0.24811307, 0.37532549, 0.29657469, 0.22335113)),
    # Ate/Bev Child-Pugh (3 x 2): matrix(c(7,10,8,92,35,13), 3)
    "total_child_pugh_p_il6": ([[7, 92], [10, 35], [8, 13]], (0.00045794, math.nan, 0.00051966, 0.00082812)),
    # Ate/Bev aetiology (4 x 2): matrix(c(2,17,3,3,17,100,9,14), 4)
    "total_aetiology_p_il6": ([[2, 17], [17, 100], [3, 9], [3, 14]], (0.71988409, math.nan, 0.66351188, 0.74197734)),
}


@pytest.mark.parametrize("key", list(R_VALUES))
def test_candidate_p_values_match_r(key):
    table, (pearson, yates, fisher, lr) = R_VALUES[key]
    p = audit.candidate_p_values(table)
    assert p["pearson"] == pytest.approx(pearson, abs=1e-8)
    assert p["fisher"] == pytest.approx(fisher, abs=1e-8)
    assert p["lr"] == pytest.approx(lr, abs=1e-8)
    if math.isnan(yates):
        assert math.isnan(p["yates"])
    else:
        assert p["yates"] == pytest.approx(yates, abs=1e-8)


@pytest.mark.parametrize("key", ["soramic_male_p_il6", "total_bclc_p_il6", "total_child_pugh_p_il6"])
def test_the_tables_are_the_printed_counts(key):
    study = "soramic" if key.startswith("soramic") else "atebev_il6"
    frame = testchoice.categorical(study).set_index("id")
    counts = " / ".join("-".join(str(x) for x in row) for row in R_VALUES[key][0])
    assert frame.loc[key, "table"] == counts
    assert frame.loc[key, "p_pearson"] == pytest.approx(R_VALUES[key][1][0], abs=1e-8)


def test_soramic_table1_evidence():
    """The issue's count: of 38 printed Table 1 p-values, Pearson reproduces 22, Fisher 12 and the
    expected-count rule 30; Fisher alone keeps all 38 on their printed side of 0.05."""
    frame = testchoice.categorical("soramic")
    assert len(frame) == 38
    s = testchoice.summary(frame).set_index("test")
    assert (s.loc["pearson", "reproduced"], s.loc["fisher", "reproduced"], s.loc["rule", "reproduced"]) == (22, 12, 30)
    assert testchoice.best(frame) == "rule"
    assert s.loc["fisher", "other_side"] == 0
    assert set(s.loc["rule", "other_side_ids"].split(", ")) == {"soramic_cirrhosis_p_il6", "soramic_albumin_low_p_il8"}


def test_a_printed_p_with_a_bound_is_matched_by_its_side():
    frame = testchoice.categorical("atebev_il6").set_index("id")
    row = frame.loc["total_child_pugh_p_il6"]       # printed p < 0.001
    assert row["match_pearson"] and row["match_fisher"] and row["match_lr"]   # all below 0.001
    assert row["printed"] == "p < 0.001"
    # 'significantly lower ORR' (p < 0.05) for 1/15 vs 19/66: only the G test (not named in
    # the Methods, which name chi-square tests) agrees; R: g(matrix(c(1,14,19,47), 2)) = 0.0465
    row = frame.loc["validation_orr_p_il6"]
    assert [t for t in testchoice.TESTS if row[f"match_{t}"]] == ["lr"]
    assert row["p_lr"] == pytest.approx(0.0465, abs=1e-4)
    assert row["side_pearson"] == 0 and row["side_fisher"] == 0


def test_the_book_test_is_read_from_what_the_book_recorded():
    frame = testchoice.categorical("soramic")
    fisher = pd.DataFrame({"key": frame["id"], "estimate": frame["p_fisher"]})
    assert testchoice.book_test(frame, fisher) == "fisher"
    pearson = pd.DataFrame({"key": frame["id"], "estimate": frame["p_pearson"]})
    assert testchoice.book_test(frame, pearson) == "pearson"
    assert (testchoice.book_tests(frame, pearson.iloc[:3]) != "").sum() == 3
    assert testchoice.book_test(frame, pearson.iloc[:0]) is None


def test_display_marks_matches_and_side_changes_and_never_prints_0_000():
    frame = testchoice.categorical("soramic")
    shown = testchoice.display_frame(frame)
    text = shown.to_string()
    assert "0.000" not in text and "✓" in text and "†" in text
    row = shown.set_index("id").loc["soramic_cirrhosis_p_il6"]
    assert "†" in row["rule"] and "†" not in row["Fisher"]


def test_continuous_candidates_match_r():
    """R: a <- c(61,55,70,64,58,49,72,66,60,63); b <- c(68,59,75,71,66,62,80,69)
    t.test(a,b,var.equal=TRUE) p = 0.04719602; t.test(a,b) p = 0.04764573;
    wilcox.test(a,b) p = 0.07540972 (ties: normal approximation, continuity correction);
    kruskal.test(list(a,b)) p = 0.06839228"""
    a = [61, 55, 70, 64, 58, 49, 72, 66, 60, 63]
    b = [68, 59, 75, 71, 66, 62, 80, 69]
    p = testchoice.continuous_p(a, b)
    assert p["student"] == pytest.approx(0.04719602, abs=1e-8)
    assert p["welch"] == pytest.approx(0.04764573, abs=1e-8)
    assert p["mannwhitney"] == pytest.approx(0.07540972, abs=1e-8)
    assert p["kruskal"] == pytest.approx(0.06839228, abs=1e-8)


def test_continuous_rows_on_a_cohort():
    from helpers import published, studies

    m = studies.module("soramic")
    out = testchoice.continuous("soramic", m.load(None, m.Params()), published.load("soramic"))
    assert list(out["id"]) == ["soramic_target_lesion_mm_p_il6", "soramic_target_lesion_mm_p_il8"]
    assert out[[f"p_{t}" for t in testchoice.CONTINUOUS_TESTS]].notna().all().all()
    assert "0.000" not in testchoice.continuous_display(out).to_string()
