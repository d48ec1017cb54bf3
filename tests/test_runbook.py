"""Run options and information for a researcher's cohort (helpers/runbook.py), and a real
cohort nobody here wrote - R's survival::pbc mapped onto the SORAMIC contract
(tests/fixtures/pbc/make_pbc.R) - run end to end and checked against R on the same
complete cases (tests/fixtures/pbc/expected_pbc.json)."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from helpers import contract as ct
from helpers import paths, runbook
from helpers.__main__ import main as cli

PBC = paths.ROOT / "tests" / "fixtures" / "pbc"


def test_parse_and_check_labels():
    assert runbook.parse_labels("SITE_A=discovery, SITE_B = validation") == {
        "SITE_A": "discovery", "SITE_B": "validation"}
    assert runbook.parse_labels(None) == {}
    with pytest.raises(runbook.RunbookError, match="YOUR_LABEL=study_label"):
        runbook.parse_labels("SITE_A")
    with pytest.raises(runbook.RunbookError, match="not a atebev_il6 cohort"):
        runbook.check_labels("atebev_il6", {"SITE_A": "training"})
    runbook.check_labels("atebev_il6", {"SITE_A": "discovery"})


def test_lab_files_are_validated_like_the_cohort(tmp_path):
    good = {k: paths.synthetic_lab("atebev_il6", k) for k in ("tcell", "il6_exposure", "tme")}
    params = runbook.lab_parameters("atebev_il6", good)
    assert set(params) == {"tcell_file", "il6_exposure_file", "tme_file"}
    assert all(p.startswith("/") for p in params.values())
    bad = tmp_path / "tcell.csv"
    df = pd.read_csv(good["tcell"], dtype=str)
    df.loc[0, "ifng_cd8_pct"] = "150"
    df.to_csv(bad, index=False)
    with pytest.raises(runbook.RunbookError, match="(?s)--tcell: .*ifng_cd8_pct.*above the maximum: 150"):
        runbook.lab_parameters("atebev_il6", {"tcell": bad})
    with pytest.raises(runbook.RunbookError, match="no tme dataset"):
        runbook.lab_parameters("soramic", {"tme": good["tme"]})


def test_cutoff_leaving_few_patients_is_a_loud_warning():
    c = ct.contract_for("soramic")
    raw, _ = ct.read_csv_text(PBC / "pbc_soramic.csv")
    df = ct.parse_frame(raw, c)
    warn = runbook.cutoff_warnings("soramic", df, {"il6_cutoff": 100})
    il6 = warn[warn["column"] == "il6_pg_ml"].iloc[0]
    il8 = warn[warn["column"] == "il8_pg_ml"].iloc[0]
    assert (il6["n"], il6["high"], il6["warning"]) == (312, 184, "")
    assert il8["low"] < runbook.MIN_GROUP and il8["warning"].startswith("WARNING") and "-p il8_cutoff" in il8["warning"]
    # the same cohort with a sensible IL-8 cut-off: no warning
    assert not runbook.cutoff_warnings("soramic", df, {"il6_cutoff": 100, "il8_cutoff": 1000})["warning"].any()


def test_validate_prints_information(capsys):
    assert cli(["validate", "soramic", str(PBC / "pbc_soramic.csv")]) == 0
    out = capsys.readouterr().out
    assert "meets the contract" in out and "Information (not errors)" in out
    assert "WARNING: il8_pg_ml > " in out
    assert "os_months: read from os_days" in out and "bilirubin_umol_l: read from bilirubin_mg_dl" in out
    assert "il6_pg_ml: 106 empty (25.4%)" in out


def test_pbc_fixture_is_what_the_r_script_wrote():
    expected = json.loads((PBC / "expected_pbc.json").read_text())
    df = pd.read_csv(PBC / "pbc_soramic.csv")
    assert len(df) == expected["n"] == 418
    assert df["il6_pg_ml"].notna().sum() == expected["n_ast"]
    assert df["os_event"].sum() == expected["events"]
    assert expected["r_version"].startswith("R version") and expected["survival_version"]


@pytest.fixture(scope="module")
def pbc_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pbc") / "run"
    rc = cli(["run", "soramic", "--cohort", str(PBC / "pbc_soramic.csv"), "--out", str(out),
              "-p", "il6_cutoff", "100", "--html", "none"])
    assert rc == 0
    from helpers.results import read_results

    return out, read_results(out / "results").set_index("key")


@pytest.mark.notebook
@pytest.mark.xdist_group("pbc")
def test_pbc_run_matches_r_on_complete_cases(pbc_run):
    out, res = pbc_run
    r = json.loads((PBC / "expected_pbc.json").read_text())
    med = res.loc["soramic_os_median_all"]
    assert (med["estimate"], med["lower"], med["upper"]) == pytest.approx(
        (r["os_median_months"], r["os_median_lower"], r["os_median_upper"]), rel=1e-6)
    hr = res.loc["soramic_os_hr_il6_high_uni"]
    assert hr["n"] == r["n_ast"]
    assert (hr["estimate"], hr["lower"], hr["upper"]) == pytest.approx(
        (r["cox_hr_ast_gt_100"], r["cox_hr_lower"], r["cox_hr_upper"]), rel=1e-4)
    assert hr["p"] == pytest.approx(r["cox_wald_p"], rel=1e-3)
    assert res.loc["soramic_count_il6_high", "estimate"] == r["n_ast_high"]
    info = (out / "information.txt").read_text()
    assert "WARNING: il8_pg_ml" in info and "il6_pg_ml: 106 empty" in info
    assert not (out / "html").exists()  # --html none


@pytest.mark.notebook
@pytest.mark.xdist_group("pbc")
def test_pbc_logrank_matches_r_on_complete_cases(pbc_run):
    _, res = pbc_run
    r = json.loads((PBC / "expected_pbc.json").read_text())
    lr = res.loc["soramic_os_logrank_p_il6"]
    assert lr["p"] == pytest.approx(r["logrank_p_ast_gt_100"], rel=1e-3)
    assert lr["n"] == r["n_ast"]


# --------------------------------------------------------------------------- a messy cohort
LABELS = {"atebev_il6": {"Innsbruck": "discovery", "Vienna": "validation"},
          "pbis": {"Seoul AB": "derivation", "Incheon AB": "validation", "Seoul lenvatinib": "lenvatinib"},
          "soramic": {}}


def messy_cohort(study: str, seed: int = 11) -> pd.DataFrame:
    """The shipped cohort as a real registry writes it: 10 % of the cells empty in every column
    that may be empty, NE responses, Child-Pugh as letters, another site's cohort labels,
    yes/no binaries."""
    import numpy as np

    rng = np.random.default_rng(seed)
    c = ct.contract_for(study)
    df = pd.read_csv(paths.synthetic_cohort(study), dtype=str)
    back = {v: k for k, v in LABELS[study].items()} or {"soramic": "Mayo RE cohort"}
    df["cohort"] = df["cohort"].map(back)
    if "child_pugh_class" in df:
        df["child_pugh_class"] = df["child_pugh_class"].str[0].str.lower()
    if "best_response" in df:
        ne = df.index[rng.random(len(df)) < 0.05]
        df.loc[ne, "best_response"] = "NE"
        if "objective_response" in df:
            df.loc[ne, "objective_response"] = "0"
    for col in c.columns:
        if col.name in df and col.dtype == "binary" and not ct.must_fill(col):
            df[col.name] = df[col.name].map({"1": "yes", "0": "no"})
    blank = {}
    for col in c.columns:
        if col.name in df and not ct.must_fill(col):
            key = col.endpoint or col.name  # an optional endpoint loses its time and event together
            if key not in blank:
                blank[key] = rng.random(len(df)) < 0.10
            df.loc[blank[key], col.name] = np.nan
    return df


@pytest.mark.parametrize("study", paths.STUDIES)
def test_messy_cohort_meets_the_contract_with_its_labels(study, tmp_path):
    path = tmp_path / f"{study}_messy.csv"
    messy_cohort(study).to_csv(path, index=False)
    assert ct.validate_file(study, path, labels=LABELS[study]).empty
    info = runbook.information(study, path, LABELS[study])
    assert any("empty cells" in ln for ln in info)
    df = ct.parse_frame(pd.read_csv(path, dtype=str), ct.contract_for(study), LABELS[study])
    assert set(df["cohort"].astype(str)) <= set(map(str, ct.contract_for(study).columns[1].allowed))
    if LABELS[study]:  # without the mapping: refused, and the message says how to map
        report = ct.validate_file(study, path)
        assert "--cohort-labels" in " ".join(report["expected"])


def test_validate_a_lab_file(capsys):
    tcell = str(paths.synthetic_lab("atebev_il6", "tcell"))
    assert cli(["validate", "atebev_il6", tcell, "--dataset", "tcell"]) == 0
    assert "meets the contract" in capsys.readouterr().out
    assert cli(["validate", "atebev_il6", tcell]) == 1  # not a cohort
    assert cli(["validate", "atebev_il6", tcell, "--dataset", "tme"]) == 1


def test_prepared_cohort_keeps_the_file_name_and_maps_labels(tmp_path):
    src = tmp_path / "in" / "my_sites.csv"
    src.parent.mkdir()
    messy_cohort("atebev_il6").to_csv(src, index=False)
    assert runbook.prepared_cohort("atebev_il6", src, {}, tmp_path) == src
    copy = runbook.prepared_cohort("atebev_il6", src, LABELS["atebev_il6"], tmp_path)
    assert copy.name == "my_sites.csv" and copy != src
    assert set(pd.read_csv(copy)["cohort"]) == {"discovery", "validation"}
    assert ct.validate_file("atebev_il6", copy).empty


@pytest.mark.notebook
def test_rerun_book_of_the_scorecard_builds_without_warnings(tmp_path):
    """The scorecard page in a re-run's book (results_dir given, as runbook.book_step runs
    it) links to no page the re-run book lacks: the book builds with zero warnings, and the
    synthetic-cohorts chapter is named in words (runbook.unlink), not as a broken reference."""
    import papermill as pm
    import re

    from helpers import published
    from helpers.results import Recorder

    out = tmp_path / "run"
    pub = published.load("atebev_il6")
    rec = Recorder("atebev_il6", "atebev_fake", results_dir=out / "results", glue=False)
    for _, row in pub[pub["value"].notna()].head(15).iterrows():
        rec.record(row["id"], row["value"], p=None if pd.isna(row["p"]) else row["p"])
    target = out / "summary_scorecard.ipynb"
    pm.execute_notebook(str(paths.CHAPTERS / target.name), str(target),
                        parameters={"results_dir": str(out / "results")}, cwd=str(paths.CHAPTERS),
                        kernel_name="python3", progress_bar=False)
    html, warnings = runbook.build_book(out, "atebev_il6", [], "cohort.csv", [], "", scorecard_nb=target)
    assert warnings == []
    raw = (html / "chapters" / "summary_scorecard.html").read_text()
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", raw))
    assert "(see the shipped book’s chapter “How the synthetic cohorts are built”), not the" in page
    assert "synthetic_cohorts.html" not in raw and "{glue:md}" not in page


def test_references_the_rerun_book_lacks_are_written_in_words():
    """A re-run book has the study's chapters only, and a skipped section draws no figure:
    a reference to a label it lacks becomes words (runbook.unlink), one it has stays."""
    drawn = {"cell_type": "code", "metadata": {"mystnb": {"figure": {"name": "fig-drawn"}}},
             "outputs": [{"output_type": "display_data", "data": {"image/svg+xml": "<svg/>"}}], "source": ""}
    skipped = {"cell_type": "code", "metadata": {"mystnb": {"figure": {"name": "fig-skipped"}}},
               "outputs": [], "source": ""}
    text = {"cell_type": "markdown", "metadata": {}, "source": "(sec-here)=\n## Here\n"}
    defined = runbook.book_labels([{"cells": [drawn, skipped, text]}], ["(ch-glossary)=\n# Glossary\n"])
    assert defined == {"fig-drawn", "sec-here", "ch-glossary"}
    titles = runbook.shipped_titles()
    assert titles["ch-synthetic-cohorts"] == "How the synthetic cohorts are built"
    source = ("see {ref}`ch-synthetic-cohorts` ({numref}`fig-skipped`, {numref}`fig-drawn`), "
              "{ref}`terms <ch-glossary>`, {ref}`sec-here`, {ref}`scorecard-claims`, {ref}`nowhere`")
    assert runbook.unlink(source, defined, titles) == (
        "see the shipped book's chapter “How the synthetic cohorts are built” (a figure not drawn for "
        "this cohort, {numref}`fig-drawn`), {ref}`terms <ch-glossary>`, {ref}`sec-here`, "
        "the shipped book's section “Claims in words”, nowhere")
