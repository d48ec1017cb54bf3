"""Pre-flight (:mod:`helpers.preflight`): the row limit, parameter values, each section's
declared needs, the chapter plan; and bounded drawing cost (:func:`helpers.survival.risk_grid`)."""
from __future__ import annotations

import time
import tracemalloc

import pandas as pd
import pytest

from helpers import paths, preflight, run, survival


@pytest.fixture(scope="module")
def atebev():
    return pd.read_csv(paths.synthetic_cohort("atebev_il6"), dtype=str, keep_default_na=False)


def _write(tmp_path, df, name="c.csv"):
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


# --------------------------------------------------------------------------- size
@pytest.mark.parametrize("text, rows", [("a,b\n", 0), ("a,b\n1,2\n", 1), ("a,b\n1,2", 1), ("a,b\n1,2\n3,4\n", 2), ("", 0)])
def test_count_rows(tmp_path, text, rows):
    p = tmp_path / "x.csv"
    p.write_text(text)
    assert preflight.count_rows(p, chunk=3) == rows  # chunk boundaries do not matter


def test_a_million_rows_are_refused_in_seconds_with_bounded_memory(tmp_path):
    big = tmp_path / "million.csv"
    line = b"P1,discovery,61,1,0,A5,C,12.1,0,0,hbv,0,1.2,8.1,1,1,1,1,1,1,1,1,1,1,PR,5.1,1,9.2,0\n"
    with open(big, "wb") as fh:
        fh.write(b"header\n")
        for _ in range(100):
            fh.write(line * 10_000)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(preflight.PreflightError, match=r"1,000,000 rows; a run accepts at most 200,000"):
        preflight.check_size(big)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.perf_counter() - t0 < 10 and peak < 8 * 2 ** 20
    out = tmp_path / "out"
    t0 = time.perf_counter()
    with pytest.raises(run.RunError, match="at most 200,000 patients"):
        run.run_study("atebev_il6", big, out, progress=False)
    assert time.perf_counter() - t0 < 15 and not out.exists()


def test_validate_refuses_above_the_row_limit_before_the_contract_reads_the_file(tmp_path, monkeypatch, capsys):
    """``python -m helpers validate`` applies the run's limit (preflight.MAX_ROWS, the one
    place that knows it): one line naming the file, its rows and the limit; the contract
    never reads the file. A file at the limit still goes to the contract."""
    from helpers import __main__ as cli, contract

    cohort = paths.synthetic_cohort("atebev_il6")
    rows = preflight.count_rows(cohort)
    big = tmp_path / "big cohort.csv"
    big.write_bytes(cohort.read_bytes())
    monkeypatch.setattr(preflight, "MAX_ROWS", rows - 1)
    read = []
    real = contract.validate_file
    monkeypatch.setattr(contract, "validate_file", lambda *a, **k: read.append(a) or real(*a, **k))
    assert cli.main(["validate", "atebev_il6", str(big)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"error: big cohort.csv: {rows:,} rows; a run accepts at most {rows - 1:,} patients "
                   "(helpers.preflight.MAX_ROWS). Split the cohort, or run one analysis on it directly.")
    assert read == []
    monkeypatch.setattr(preflight, "MAX_ROWS", rows)
    assert cli.main(["validate", "atebev_il6", str(big)]) == 0
    assert len(read) == 1 and "meets the contract" in capsys.readouterr().out


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("study, params, words", [
    ("atebev_il6", {"minprop": 1.5}, "strictly between 0 and 1"),
    ("atebev_il6", {"minprop": 0.6, "maxprop": 0.5}, "minprop < maxprop"),
    ("atebev_il6", {"il6_cutoff": -3.0}, ">= 0"),
    ("atebev_il6", {"cutoff_cohort": "x"}, "cutoff_cohort"),
    ("atebev_il6", {"seed": -1}, "2\\*\\*32"),
    ("pbis", {"caliper": 0.0}, "above 0"),
    ("pbis", {"pbis_threshold": 5}, "from 1 to 4"),
    ("pbis", {"nlr_cutoff": -1.0}, ">= 0"),
    ("soramic", {"minprop": 0.0}, "strictly between 0 and 1"),
    ("soramic", {"il8_cutoff": -0.5}, ">= 0"),
    ("soramic", {"progression_window_months": -2.0}, "from 0 to 120"),
    ("soramic", {"flow_file": "/nonexistent/flow.csv"}, "is not a file"),
    ("soramic", {"endpoint": "dfs"}, "endpoint"),
])
def test_parameter_values_are_checked(study, params, words):
    with pytest.raises(preflight.PreflightError, match=words) as info:
        preflight.check_params(study, params)
    assert "\n" not in str(info.value) and str(info.value).startswith(("-p ", "parameters:"))


def test_good_parameters_pass():
    p = preflight.check_params("atebev_il6", {"il6_cutoff": "maxstat", "minprop": 0.2, "seed": 7})
    assert p.il6_cutoff == "maxstat" and p.minprop == 0.2
    assert preflight.check_params("soramic", {"progression_window_months": "any"}).window is None


# --------------------------------------------------------------------------- sections
def test_chapter_sections_are_read_from_the_notebooks():
    chapters = {c.stem: preflight.chapter_sections(c) for c in paths.study_chapters("atebev_il6")}
    assert chapters["atebev_cohort"] == ["cohort_sizes", "table1", "table2"]
    assert chapters["atebev_tcell_tme"] == []
    from helpers.studies import module

    for study in paths.STUDIES:
        found = [s for c in paths.study_chapters(study) for s in preflight.chapter_sections(c)]
        assert sorted(found) == sorted(module(study).SECTIONS), study  # every section recorded once


def test_shipped_cohorts_run_every_chapter():
    for study in paths.STUDIES:
        report, skip = preflight.preflight(study, paths.synthetic_cohort(study), {}, paths.study_chapters(study),
                                           dry_run=False)
        assert skip == {} and report["runs"].all(), study


def test_needs_name_what_is_missing(atebev, tmp_path):
    chapters = paths.study_chapters("atebev_il6")
    few = atebev.assign(os_event="0")
    _, skip = preflight.preflight("atebev_il6", _write(tmp_path, few), {}, chapters, dry_run=False)
    assert skip["atebev_outcomes"] == "section cohort_outcomes: 0 OS events (needs at least 1)"
    one_group = atebev.assign(il6_pg_ml="0.5")
    _, skip = preflight.preflight("atebev_il6", _write(tmp_path, one_group), {}, chapters, dry_run=False)
    assert "IL-6 groups of 165, 0 patients (needs two groups of at least 2)" in skip["atebev_cohort"]
    assert "atebev_multivariable" in skip
    # the maxstat cohort must exist: a single-cohort user asking for the validation search
    single = atebev[atebev["cohort"] == "discovery"]
    _, skip = preflight.preflight("atebev_il6", _write(tmp_path, single), {"cutoff_cohort": "validation"},
                                  chapters, dry_run=False)
    assert skip["atebev_cutoff"] == "section cutoff: 0 patients in the validation cohort (needs at least 10)"
    with pytest.raises(preflight.PreflightError, match="cannot be prepared"):
        preflight.preflight("atebev_il6", _write(tmp_path, single), {"cutoff_cohort": "validation",
                                                                     "il6_cutoff": "maxstat"}, chapters)


def test_dry_run_catches_a_section_that_raises(atebev, tmp_path, monkeypatch):
    from helpers.studies import atebev_il6

    def broken(df, params):
        raise KeyError("validation__median")

    monkeypatch.setitem(atebev_il6._SECTION_ROWS, "table1", broken)
    report, skip = preflight.preflight("atebev_il6", paths.synthetic_cohort("atebev_il6"), {},
                                       paths.study_chapters("atebev_il6"), dry_run=True)
    assert skip == {"atebev_cohort": "section table1: fails on this cohort ('validation__median')"}
    assert not report.set_index("section").loc["table1", "runs"]


def test_nothing_useful_is_one_line(atebev, tmp_path):
    none = atebev.assign(pfs_event="0", os_event="0", il6_pg_ml="1")
    with pytest.raises(preflight.PreflightError, match="nothing useful can be computed") as info:
        preflight.preflight("atebev_il6", _write(tmp_path, atebev.head(9)), {}, paths.study_chapters("atebev_il6"))
    assert "9 patients; a re-run needs at least 10" in str(info.value)
    _, skip = preflight.preflight("atebev_il6", _write(tmp_path, none), {}, paths.study_chapters("atebev_il6"),
                                  dry_run=False)
    assert set(skip) >= {"atebev_outcomes", "atebev_cutoff", "atebev_multivariable", "atebev_cohort"}


# --------------------------------------------------------------------------- bounded cost
def test_risk_grid_is_bounded_by_ticks_not_time_values():
    assert survival.risk_grid(range(0, 30, 3)) == list(range(0, 30, 3))
    assert survival.risk_grid(range(0, 100, 3), max_ticks=10) == list(range(0, 100, 12))
    huge = survival.risk_grid(range(0, 10 ** 6 + 3, 3))
    assert len(huge) <= survival.MAX_RISK_TICKS and huge[0] == 0


def test_km_plot_with_a_huge_time_draws_in_seconds():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import plots

    df = pd.DataFrame({"t": [1.0, 2.0, 5.0, 1e6], "e": [1, 0, 1, 0]})
    km = survival.km_table(df, "t", "e")
    t0 = time.perf_counter()
    ax = plots.km_plot(km, risk_times=list(range(0, int(km["time"].max()) + 3, 3)))
    ax.figure.canvas.draw()
    plt.close("all")
    assert time.perf_counter() - t0 < 20 and len(ax.get_xticks()) <= survival.MAX_RISK_TICKS
