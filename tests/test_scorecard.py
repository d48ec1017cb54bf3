"""helpers.scorecard: every verdict rule on hand-made published rows and results."""
import math

import pandas as pd
import pytest

from helpers import paths, published, scorecard
from helpers.results import RESULT_COLUMNS, Recorder

NAN = math.nan


def pub_row(id, quantity="hr", value=2.93, lower=NAN, upper=NAN, p=NAN, p_bound="",
            digits=2, tolerance="ci", preferred=1, study="atebev_il6", unit="", note="",
            reason="", ci_digits=None):
    if p_bound == "" and (not math.isnan(p) or quantity == "p"):
        p_bound = "="
    if ci_digits is None and not (math.isnan(lower) and math.isnan(upper)):
        ci_digits = digits
    return dict(id=id, study=study, source="Table 3", cohort="discovery", group="il6_high",
                quantity=quantity, value=value, lower=lower, upper=upper, p=p, p_bound=p_bound,
                unit=unit, digits=digits, tolerance=tolerance, preferred=preferred, note=note,
                reason=reason, value_text=("" if math.isnan(value) else f"{value:.{digits}f}"),
                ci_digits=ci_digits, line=2)


def res_row(key, estimate, lower=None, upper=None, p=None, study="atebev_il6", chapter="ch"):
    return dict(study=study, chapter=chapter, key=key, estimate=estimate, lower=lower,
                upper=upper, p=p, n=None, text=f"{estimate}")


def verdict(pub, res):
    card = scorecard.compare(pd.DataFrame([res] if res else [], columns=RESULT_COLUMNS),
                             pd.DataFrame([pub]))
    assert len(card) == 1
    return card.iloc[0]["verdict"], card.iloc[0]["note"]


# --- exact -----------------------------------------------------------------------------

def test_exact_count():
    assert verdict(pub_row("n", "count", 84, digits=0, tolerance="exact"), res_row("n", 84))[0] == "exact"


def test_count_off_by_one_is_a_miss_saying_what_was_reached():
    v, note = verdict(pub_row("n", "count", 84, digits=0, tolerance="exact"), res_row("n", 83))
    assert v == "miss"
    assert "needs 'exact'" in note and "reached only 'within tolerance'" in note


def test_exact_at_printed_rounding():
    pub = pub_row("m", "median_months", 7.3, digits=1, tolerance="rounding")
    assert verdict(pub, res_row("m", 7.34))[0] == "exact"
    assert verdict(pub, res_row("m", 7.25))[0] == "exact"       # a half rounds either way
    assert verdict(pub, res_row("m", 7.36))[0] == "within tolerance"


def test_p_printed_with_bound_is_matched_by_any_smaller_p():
    pub = pub_row("p", "p", 0.001, p_bound="<", digits=3, tolerance="rounding")
    assert verdict(pub, res_row("p", 0.0004))[0] == "exact"
    assert verdict(pub, res_row("p", 0.001))[0] == "within tolerance"   # prints as 0.001
    assert verdict(pub, res_row("p", 0.0025))[0] == "miss"


def test_p_printed_with_lower_bound():
    pub = pub_row("p", "p", 0.05, p_bound=">", digits=2, tolerance="rounding")
    assert verdict(pub, res_row("p", 0.3))[0] == "exact"
    assert verdict(pub, res_row("p", 0.045))[0] == "miss"   # within a unit, but significant


# --- within tolerance ------------------------------------------------------------------

def test_within_one_unit_of_the_last_printed_digit():
    pub = pub_row("pct", "percent", 45.2, digits=1, tolerance="rounding")
    assert verdict(pub, res_row("pct", 45.3))[0] == "within tolerance"
    assert verdict(pub, res_row("pct", 45.1))[0] == "within tolerance"
    v, note = verdict(pub, res_row("pct", 45.4))
    assert v == "miss" and "needs 'within tolerance'" in note


# --- inside published CI ---------------------------------------------------------------

def test_inside_ci_with_p_on_the_same_side():
    pub = pub_row("hr", value=2.93, lower=1.50, upper=5.71, p=0.003)
    assert verdict(pub, res_row("hr", 2.10, 1.2, 3.9, p=0.01))[0] == "inside published CI"


def test_ci_bounds_are_inclusive():
    pub = pub_row("hr", value=2.0, lower=1.50, upper=2.80, p=0.003)
    assert verdict(pub, res_row("hr", 1.50, p=0.04))[0] == "inside published CI"
    assert verdict(pub, res_row("hr", 1.4999, p=0.04))[0] == "miss"


def test_inside_ci_but_p_on_the_other_side_is_a_miss():
    pub = pub_row("hr", value=2.93, lower=1.50, upper=5.71, p=0.003)
    v, note = verdict(pub, res_row("hr", 2.10, 0.9, 4.8, p=0.08))
    assert v == "miss"
    assert "p on the other side of 0.05" in note


def test_exact_needs_p_on_the_same_side_too():
    pub = pub_row("hr", value=2.93, lower=1.50, upper=5.71, p=0.003)
    assert verdict(pub, res_row("hr", 2.93, p=0.2))[0] == "miss"
    assert verdict(pub, res_row("hr", 2.93, p=0.002))[0] == "exact"


def test_ci_with_an_upper_limit_not_reached():
    pub = pub_row("m", "median_months", 9.7, lower=5.87, upper=NAN, digits=1, tolerance="ci")
    assert verdict(pub, res_row("m", 40.0))[0] == "inside published CI"
    assert verdict(pub, res_row("m", 5.0))[0] == "miss"


def test_missing_reproduced_p_is_noted_not_failed():
    pub = pub_row("hr", value=2.93, lower=1.50, upper=5.71, p=0.003)
    v, note = verdict(pub, res_row("hr", 2.0))
    assert v == "inside published CI"
    assert "reproduced p not recorded" in note


def test_p_bound_that_does_not_decide_the_side():
    # p < 0.1 may be either side of 0.05: the p is not compared
    pub = pub_row("hr", value=2.93, lower=1.50, upper=5.71, p=0.1, p_bound="<")
    v, note = verdict(pub, res_row("hr", 2.0, p=0.3))
    assert v == "inside published CI" and "published bound does not decide" in note


# --- same direction --------------------------------------------------------------------

def test_same_direction_for_a_ratio_and_p():
    pub = pub_row("hr", value=2.93, p=0.003, tolerance="direction")
    assert verdict(pub, res_row("hr", 1.8, p=0.02))[0] == "same direction"
    assert verdict(pub, res_row("hr", 0.8, p=0.02))[0] == "miss"       # wrong side of 1
    assert verdict(pub, res_row("hr", 1.8, p=0.2))[0] == "miss"        # wrong side of 0.05


def test_protective_ratio_direction():
    pub = pub_row("or", "or", value=0.42, p=0.01, tolerance="direction")
    assert verdict(pub, res_row("or", 0.7, p=0.04))[0] == "same direction"
    v, note = verdict(pub, res_row("or", 1.3, p=0.04))
    assert v == "miss" and "the opposite direction" in note


def test_direction_of_a_difference_uses_zero():
    pub = pub_row("r", "r", value=-0.35, digits=2, p=0.002, tolerance="direction")
    assert verdict(pub, res_row("r", -0.1, p=0.03))[0] == "same direction"
    assert verdict(pub, res_row("r", 0.1, p=0.03))[0] == "miss"


def test_direction_of_a_p_row_is_its_side_of_005():
    pub = pub_row("p", "p", 0.021, digits=3, tolerance="direction")
    assert verdict(pub, res_row("p", 0.04))[0] == "same direction"
    assert verdict(pub, res_row("p", 0.06))[0] == "miss"


def test_a_stronger_level_than_required_is_reported():
    pub = pub_row("hr", value=2.93, p=0.003, tolerance="direction")
    assert verdict(pub, res_row("hr", 2.93, p=0.001))[0] == "exact"
    assert verdict(pub, res_row("hr", 2.94, p=0.001))[0] == "within tolerance"


# --- not computed, info ----------------------------------------------------------------

def test_not_computed():
    v, note = verdict(pub_row("hr"), None)
    assert v == "not computed" and "no chapter recorded" in note
    v, note = verdict(pub_row("hr"), res_row("hr", None))
    assert v == "not computed" and "without an estimate" in note


def test_info_is_shown_not_judged():
    pub = pub_row("x", "count", 12, digits=0, tolerance="info")
    assert verdict(pub, res_row("x", 99))[0] == "info"
    assert verdict(pub, None)[0] == "info"


def test_unrecorded_non_preferred_row_is_info_but_recorded_one_is_judged():
    pub = pub_row("pct", "percent", 67.3, digits=1, tolerance="rounding", preferred=0)
    v, note = verdict(pub, None)
    assert v == "info" and "not preferred" in note
    assert verdict(pub, res_row("pct", 70.91))[0] == "miss"


# --- joining, tables -------------------------------------------------------------------

def test_join_is_on_study_and_key():
    pub = pd.DataFrame([pub_row("n", "count", 84, digits=0, tolerance="exact")])
    res = pd.DataFrame([res_row("n", 84, study="pbis")], columns=RESULT_COLUMNS)
    assert scorecard.compare(res, pub).iloc[0]["verdict"] == "not computed"


def test_duplicate_recordings_use_the_last_and_say_so():
    pub = pd.DataFrame([pub_row("n", "count", 84, digits=0, tolerance="exact")])
    res = pd.DataFrame([res_row("n", 80, chapter="a"), res_row("n", 84, chapter="b")],
                       columns=RESULT_COLUMNS)
    row = scorecard.compare(res, pub).iloc[0]
    assert row["verdict"] == "exact" and "recorded by 2 chapters (a, b)" in row["note"]
    assert row["chapter"] == "b"


def test_card_columns_and_texts():
    pub = pd.DataFrame([pub_row("hr", value=2.93, lower=1.50, upper=5.71, p=0.003, note="Fig 2")])
    res = pd.DataFrame([res_row("hr", 2.5, 1.3, 4.1, p=0.006)], columns=RESULT_COLUMNS)
    row = scorecard.compare(res, pub).iloc[0]
    assert list(scorecard.compare(res, pub).columns) == scorecard.CARD_COLUMNS
    assert row["published"] == "2.93 (95% CI 1.50–5.71), p = 0.003"
    assert row["reproduced"] == "2.5"
    assert row["published_value"] == 2.93 and row["reproduced_value"] == 2.5
    assert row["published_note"] == "Fig 2"


def test_results_with_a_non_numeric_estimate_are_refused():
    pub = pd.DataFrame([pub_row("n", "count", 84, digits=0, tolerance="exact")])
    res = pd.DataFrame([res_row("n", "eighty")], columns=RESULT_COLUMNS)
    with pytest.raises(ValueError, match="column 'estimate' must be numeric; rows 0 hold 'eighty'"):
        scorecard.compare(res, pub)


def test_results_without_key_column_are_refused():
    with pytest.raises(ValueError, match="missing column.*key"):
        scorecard.compare(pd.DataFrame({"study": ["x"], "estimate": [1]}), pd.DataFrame([pub_row("n")]))


def _card():
    rows = [pub_row("a", "count", 1, digits=0, tolerance="exact"),
            pub_row("b", "count", 2, digits=0, tolerance="exact"),
            pub_row("c", "count", 3, digits=0, tolerance="info", study="pbis"),
            pub_row("d", "hr", 2.0, p=0.01, tolerance="direction", study="pbis")]
    res = [res_row("a", 1), res_row("b", 5), res_row("d", 1.5, p=0.03, study="pbis")]
    return scorecard.compare(pd.DataFrame(res, columns=RESULT_COLUMNS), pd.DataFrame(rows))


def test_summary_counts():
    s = scorecard.summary(_card()).set_index("study")
    assert list(s.columns) == list(scorecard.VERDICTS) + ["total"]
    assert s.loc["atebev_il6", "exact"] == 1 and s.loc["atebev_il6", "miss"] == 1
    assert s.loc["pbis", "info"] == 1 and s.loc["pbis", "same direction"] == 1
    assert s.loc["all", "total"] == 4
    assert s.index.tolist() == ["atebev_il6", "pbis", "all"]


def test_summary_line():
    line = scorecard.summary_line(_card())
    assert line.startswith("scorecard: 4 published numbers: 1 exact, 1 same direction, 1 miss, 1 info")
    assert "(atebev_il6: 1 exact, 1 miss; pbis: 1 same direction, 1 info)" in line
    assert "no published numbers" in scorecard.summary_line(scorecard.compare(
        pd.DataFrame(columns=RESULT_COLUMNS), pd.DataFrame(columns=published.LOADED_COLUMNS)))


def test_side_by_side_lists_only_what_the_chapter_recorded(tmp_path):
    pub = pd.DataFrame([pub_row("n", "count", 84, digits=0, tolerance="exact"),
                        pub_row("hr", value=2.93, lower=1.5, upper=5.71, p=0.003)])
    rec = Recorder("atebev_il6", "atebev_test", results_dir=tmp_path, glue=False)
    rec.record("hr", 2.5, 1.3, 4.1, p=0.006)
    rec.record("prose_only", 3)
    out = scorecard.side_by_side(rec, "atebev_il6", pub)
    assert out["id"].tolist() == ["hr"]
    assert out.iloc[0]["verdict"] == "inside published CI"
    assert out.iloc[0]["reproduced"] == "2.50 (95% CI 1.30–4.10), p = 0.006"
    out = scorecard.side_by_side(rec.table(), "atebev_il6", pub, include_unpublished=True)
    assert out["id"].tolist() == ["hr", "prose_only"]
    assert out["computed_by"].tolist() == ["chapters/atebev_test.ipynb"] * 2


def test_every_compared_number_says_what_computed_it(tmp_path):
    """``computed_by`` from the results row, on the card, the study tables and side_by_side;
    a results file from before ``computed_by`` falls back to the chapter notebook."""
    pub = pd.DataFrame([pub_row("n", "count", 84, digits=0, tolerance="exact"),
                        pub_row("hr", value=2.93, lower=1.5, upper=5.71, p=0.003),
                        pub_row("unrecorded", value=1.0)])
    rec = Recorder("atebev_il6", "atebev_test", results_dir=tmp_path, glue=False)
    rec.record("n", 80, computed_by="helpers.studies.atebev_il6.reproduce[cohort]")
    rec.record("hr", 2.5, 1.3, 4.1, p=0.006)
    card = scorecard.compare(rec.table(), pub).set_index("id")
    assert card.loc["n", "computed_by"] == "helpers.studies.atebev_il6.reproduce[cohort]"
    assert card.loc["hr", "computed_by"] == "chapters/atebev_test.ipynb"
    assert card.loc["unrecorded", "computed_by"] == ""
    old = rec.table().drop(columns="computed_by")
    assert scorecard.compare(old, pub).set_index("id").loc["n", "computed_by"] == "chapters/atebev_test.ipynb"
    card = card.reset_index()
    assert "computed_by" in scorecard.study_table(card, "atebev_il6").columns
    misses = scorecard.study_table(card, None, verdicts=["miss"])
    assert misses.columns[0] == "study" and misses["computed_by"].tolist() == [
        "helpers.studies.atebev_il6.reproduce[cohort]"]
    side = scorecard.side_by_side(rec, "atebev_il6", pub).set_index("id")
    assert side.loc["n", "computed_by"] == "helpers.studies.atebev_il6.reproduce[cohort]"


def test_study_titles_are_the_parts_of_the_toc():
    titles = scorecard.study_titles()
    assert list(titles) == list(paths.STUDIES)
    assert titles["pbis"].startswith("Study 2")


@pytest.mark.notebook
def test_every_recorded_scorecard_row_has_computed_by(executed_book):
    """On the executed book: every published number a chapter recorded names its code."""
    card = scorecard.scorecard(executed_book.results)
    recorded = card[card["chapter"] != ""]
    assert len(recorded) > 100
    assert (recorded["computed_by"].str.len() > 0).all()
    nb = executed_book.notebook("summary_scorecard.ipynb")
    html = " ".join(o.get("data", {}).get("text/html", "") for c in nb.cells
                    if c.cell_type == "code" for o in c.get("outputs", []))
    # the page shows each miss's reason; the code that computed every number travels in the
    # tables' CSV downloads (data: URIs), with the computed_by column filled
    import base64
    import re

    csvs = [base64.b64decode(m).decode("utf-8")
            for m in re.findall(r"data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)", html)]
    with_code = [c for c in csvs if "computed_by" in c.splitlines()[0]]
    assert with_code and any("helpers." in c for c in with_code)


def test_scorecard_reads_results_and_published_folders(tmp_path):
    pub_dir, res_dir = tmp_path / "pub", tmp_path / "res"
    pub_dir.mkdir()
    pd.DataFrame([pub_row("n", "count", 84, digits=0, tolerance="exact")])[
        published.PUBLISHED_COLUMNS].to_csv(pub_dir / "atebev_il6.csv", index=False)
    rec = Recorder("atebev_il6", "atebev_x", results_dir=res_dir, glue=False)
    rec.record("n", 84, digits=0)
    card = scorecard.scorecard(res_dir, published_dir=pub_dir)
    assert card.iloc[0]["verdict"] == "exact"
    card = scorecard.scorecard(tmp_path / "absent", published_dir=pub_dir)
    assert card.iloc[0]["verdict"] == "not computed"


def test_command_line_prints_the_summary_line(tmp_path, capsys):
    from helpers.__main__ import main

    assert main(["scorecard", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("scorecard: ")


@pytest.mark.notebook
@pytest.mark.chapters
@pytest.mark.parametrize("with_results", [True, False], ids=["fake-results", "no-results"])
def test_summary_scorecard_notebook_runs(tmp_path, with_results):
    """The scorecard page executes on a few fake results files, and on a folder with none
    (then it says so instead of failing)."""
    import papermill as pm

    from helpers import paths

    results_dir = tmp_path / "results"
    if with_results:
        pub = published.load()
        for study in sorted(set(pub["study"]))[:2]:
            rec = Recorder(study, f"{study}_fake", results_dir=results_dir, glue=False)
            for _, row in pub[(pub["study"] == study) & pub["value"].notna()].head(15).iterrows():
                rec.record(row["id"], row["value"], p=None if pd.isna(row["p"]) else row["p"])
    out = tmp_path / "summary_scorecard.ipynb"
    pm.execute_notebook(str(paths.CHAPTERS / "summary_scorecard.ipynb"), str(out),
                        parameters={"results_dir": str(results_dir)}, cwd=str(paths.CHAPTERS),
                        kernel_name="python3", progress_bar=False)
    import nbformat

    nb = nbformat.read(out, 4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    markdown = " ".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert any({"image/svg+xml", "image/png"} & set(o.get("data", {})) for o in outputs)  # the summary figure
    assert ("No results files found" in markdown) is (not with_results)


# --- strict rule (issue 13) ----------------------------------------------------------------

def test_inside_the_ci_but_on_the_other_side_of_one_is_a_miss():
    """SORAMIC Model 1 low albumin: printed 0.68 (0.33-1.43); 1.14 is inside the CI but harmful."""
    pub = pub_row("hr", value=0.68, lower=0.33, upper=1.43, p=0.31)
    v, note = verdict(pub, res_row("hr", 1.14, p=0.67))
    assert v == "miss"
    assert "the opposite direction" in note and "on the other side of 1" in note
    # the first scorecard's rule (kept for the soramic calibration) let it through
    assert scorecard.judge(pd.Series(pub), pd.Series(res_row("hr", 1.14, p=0.67)))[0] == "inside published CI"


def test_inside_the_ci_but_more_than_the_stated_factor_away_is_a_miss():
    pub = pub_row("hr", value=3.1, lower=1.4, upper=6.6, p=0.003, digits=1)
    assert verdict(pub, res_row("hr", 3.1 * 1.49, p=0.001))[0] == "inside published CI"
    v, note = verdict(pub, res_row("hr", 3.1 * 1.51, p=0.001))
    assert v == "miss" and f"more than {scorecard.CI_FACTOR:g}-fold" in note
    assert verdict(pub, res_row("hr", 3.1 / 1.51, p=0.01))[0] == "miss"


@pytest.mark.parametrize("tolerance", ["exact", "rounding", "ci", "direction"])
def test_no_ratio_on_the_other_side_of_one_is_better_than_a_miss(tolerance):
    """Whatever the tolerance, digits or CI: the reciprocal of every printed HR/OR (p kept on the
    printed side) is a miss, on every shipped ratio row."""
    pub = published.load()
    ratios = pub[pub["quantity"].isin(scorecard.RATIO_QUANTITIES) & (pub["value"] != 1)
                 & pub["value"].notna()].copy()
    assert len(ratios) > 60
    has_ci = ratios["lower"].notna() | ratios["upper"].notna()
    ratios["tolerance"] = tolerance
    if tolerance == "ci":
        ratios = ratios[has_ci]
    res = pd.DataFrame([res_row(r.id, 1 / r.value, p=(r.p if r.p == r.p else None), study=r.study)
                        for r in ratios.itertuples()], columns=RESULT_COLUMNS)
    card = scorecard.compare(res, ratios)
    assert (card["verdict"] == "miss").all(), card.loc[card["verdict"] != "miss", ["id", "verdict"]]


def test_a_ratio_near_one_printed_coarsely_is_not_exact_on_the_other_side():
    pub = pub_row("hr", value=1.0, digits=0, tolerance="rounding")
    assert verdict(pub, res_row("hr", 0.97))[0] == "exact"      # printed exactly 1: no side
    pub = pub_row("hr", value=1.1, digits=1, tolerance="rounding")
    assert verdict(pub, res_row("hr", 0.99))[0] == "miss"       # within one unit, but < 1


def test_a_ratio_printed_without_decimals_is_read_at_its_ci_precision(tmp_path):
    """'2.0 (95% CI 1.2-3.2)' printed as '2': 1.72 is inside the CI, not 'exact'."""
    (tmp_path / "soramic.csv").write_text(
        "id,study,source,cohort,group,quantity,value,lower,upper,p,p_bound,unit,digits,tolerance\n"
        "hr_x,soramic,Table 2,soramic,x,hr,2,1.2,3.2,0.009,=,,0,ci\n")
    pub = published.load("soramic", folder=tmp_path)
    assert pub.iloc[0]["ci_digits"] == 1 and pub.iloc[0]["digits"] == 0
    res = pd.DataFrame([res_row("hr_x", 1.72, p=0.01, study="soramic")], columns=RESULT_COLUMNS)
    assert scorecard.compare(res, pub).iloc[0]["verdict"] == "inside published CI"
    res = pd.DataFrame([res_row("hr_x", 2.04, p=0.01, study="soramic")], columns=RESULT_COLUMNS)
    assert scorecard.compare(res, pub).iloc[0]["verdict"] == "exact"
    # the lenient rule (the calibration's) still reads +-0.5
    assert scorecard.judge(pub.iloc[0], pd.Series(res_row("hr_x", 1.72, p=0.01)))[0] == "exact"


def test_a_contradiction_is_its_own_verdict_never_info():
    pub = pub_row("pct", "percent", 67.3, digits=1, tolerance="contradiction",
                  note="printed 67.3% disagrees with its count: 117/165 = 70.91%")
    v, note = verdict(pub, res_row("pct", 70.91))
    assert v == scorecard.DISAGREES and "117/165" in note
    assert verdict(pub, None)[0] == scorecard.DISAGREES


def test_a_miss_leads_with_its_reason_in_words():
    pub = pub_row("rate", "rate", 90.0, digits=1, tolerance="rounding",
                  reason="Not a target of the generator: the printed HRs need more deaths.")
    v, note = verdict(pub, res_row("rate", 79.1))
    assert v == "miss" and note.startswith("Not a target of the generator")
    assert "needs 'within tolerance'" in note


def test_same_direction_with_p_on_the_other_side_is_not_called_the_opposite_direction():
    """The first scorecard said 'not even the same direction' for cirrhosis 2.29 vs 2.33."""
    pub = pub_row("hr", value=2.33, lower=0.94, upper=5.81, p=0.069)
    v, note = verdict(pub, res_row("hr", 2.29, p=0.033))
    assert v == "miss"
    assert "not even the same direction" not in note and "opposite" not in note
    assert "same direction, but p on the other side of 0.05" in note
    assert note.count("other side of 0.05") == 1


# --- provenance and the headline --------------------------------------------------------------

def test_every_published_number_has_one_provenance_class():
    from helpers import provenance

    pub = published.load()
    classes = provenance.classify(pub)
    assert len(classes) == len(pub) and classes["provenance"].isin(provenance.CLASSES).all()
    by = dict(zip(classes["id"], classes["provenance"]))
    assert by["soramic_cutoff_il6"] == "input"
    assert by["discovery_os_12m_rate"] == "independent"
    assert by["soramic_os_hr_il6_high_m1"] == "calibrated"
    assert by["total_male_n"] == "built-in"
    assert by["soramic_os_logrank_p_il6"] == "calibrated"
    table1_p = pub[(pub["study"] == "soramic") & (pub["quantity"] == "p")
                   & pub["source"].str.startswith("Table 1") & ~pub["id"].str.contains("target_lesion")]
    assert len(table1_p) == 38
    assert {by[i] for i in table1_p["id"]} == {"test-choice"}


@pytest.mark.parametrize("study", ["atebev_il6", "pbis", "soramic"])
def test_provenance_rules_cite_names_the_generator_defines(study):
    """Each rule says which step of helpers/synth/<study>.py it reads; those names must exist,
    so a renamed generator step cannot leave a stale rule behind."""
    import importlib

    from helpers import provenance
    from helpers.synth import common

    module = importlib.import_module(f"helpers.synth.{study}")
    names = provenance.rule_functions(study)
    assert names
    assert [n for n in names if not hasattr(module, n) and not hasattr(common, n)] == []


def test_an_unclassifiable_number_is_a_clear_error():
    from helpers import provenance

    with pytest.raises(KeyError, match="add one to RULES"):
        provenance.rule_for("soramic", "soramic_new_thing", "auc")


def test_headline_counts_by_class_led_by_independent():
    pubs = pd.DataFrame([
        pub_row("discovery_os_12m_rate", "rate", 90.0, digits=1, tolerance="rounding"),
        pub_row("discovery_pfs_hr_il6_high", "hr", 2.93, p=0.003, tolerance="direction"),
        pub_row("total_male_n", "count", 139, digits=0, tolerance="exact"),
    ])
    res = pd.DataFrame([res_row("discovery_os_12m_rate", 79.0), res_row("discovery_pfs_hr_il6_high", 2.5, p=0.01),
                        res_row("total_male_n", 139)], columns=RESULT_COLUMNS)
    card = scorecard.compare(res, pubs)
    assert list(card["provenance"]) == ["independent", "calibrated", "built-in"]
    table = scorecard.by_provenance(card)
    assert list(table["provenance"][:2]) == ["independent", "calibrated"]
    t = table.set_index("provenance")
    assert t.loc["independent", "miss"] == 1 and t.loc["calibrated", "same direction"] == 1
    assert scorecard.headline(card).startswith("independent: 0 of 1 reproduced; calibrated: 1 of 1")


# --- the shipped cohorts: every miss explained --------------------------------------------------

@pytest.fixture(scope="module")
def shipped_card():
    from helpers import studies

    frames = []
    for study in paths.STUDIES:
        m = studies.module(study)
        frames.append(m.reproduce(m.load(None, m.Params())).assign(study=study, chapter="test"))
    return scorecard.compare(pd.concat(frames, ignore_index=True), published.load())


def test_every_miss_on_the_shipped_cohorts_has_a_reason_in_words(shipped_card):
    pub = published.load().set_index("id")
    misses = shipped_card[shipped_card["verdict"] == "miss"]
    assert len(misses) >= 10
    unexplained = [i for i in misses["id"] if len(pub.loc[i, "reason"]) < 60]
    assert unexplained == []
    assert all(n.startswith(pub.loc[i, "reason"]) for i, n in zip(misses["id"], misses["note"]))


def test_no_shipped_ratio_on_the_other_side_of_one_is_better_than_a_miss(shipped_card):
    c = shipped_card[shipped_card["quantity"].isin(scorecard.RATIO_QUANTITIES)
                     & shipped_card["reproduced_value"].notna() & (shipped_card["published_value"] != 1)]
    opposite = (c["reproduced_value"] > 1) != (c["published_value"] > 1)
    assert opposite.sum() >= 5            # the examples are there
    assert (c.loc[opposite, "verdict"] == "miss").all()
