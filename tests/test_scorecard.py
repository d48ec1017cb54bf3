"""helpers.scorecard: every verdict rule on hand-made published rows and results."""
import math

import pandas as pd
import pytest

from helpers import paths, published, scorecard
from helpers.results import RESULT_COLUMNS, Recorder

NAN = math.nan


def pub_row(id, quantity="hr", value=2.93, lower=NAN, upper=NAN, p=NAN, p_bound="",
            digits=2, tolerance="ci", preferred=1, study="atebev_il6", unit="", note=""):
    if p_bound == "" and (not math.isnan(p) or quantity == "p"):
        p_bound = "="
    return dict(id=id, study=study, source="Table 3", cohort="discovery", group="il6_high",
                quantity=quantity, value=value, lower=lower, upper=upper, p=p, p_bound=p_bound,
                unit=unit, digits=digits, tolerance=tolerance, preferred=preferred, note=note,
                value_text=("" if math.isnan(value) else f"{value:.{digits}f}"), line=2)


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
    pub = pub_row("hr", value=2.93, lower=1.50, upper=5.71, p=0.003)
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
    assert v == "miss" and "not even the same direction" in note


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
    assert "Computed by" in html  # the scorecard page shows it (under its human label)


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
