"""A corpus of malformed and edge-case cohorts, made by code from the shipped cohorts
(:func:`corpus`: 48 per study), each through ``validate`` and the run's pre-flight.

Every cohort either is refused before any chapter runs (by the contract, with a report naming
the file, column and rows; or by the pre-flight, in one line) or gets a plan in which at least
one chapter runs and every skipped chapter has a reason. Nothing raises anything else (no
traceback) and the input bytes never change.

The in-process test of a sample (marked ``slow``: ``make test``, not ``make check``). ``test_corpus_runs_end_to_end`` (marked
``notebook``) sends a representative subset through ``python -m helpers run``: a run either
exits 1 before any chapter with nothing written, or exits 0 with every chapter it did not skip
executed; never a traceback, never a partial folder at ``--out``.
"""
from __future__ import annotations

import codecs
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import contract, escape, paths, preflight

STUDIES = list(paths.STUDIES)
#: Columns each study's corruptions aim at: (time, event, marker).
TARGETS = {"atebev_il6": ("pfs_months", "pfs_event", "il6_pg_ml"),
           "pbis": ("os_months", "os_event", "nlr"),
           "soramic": ("os_months", "os_event", "il6_pg_ml")}
HOSTILE = ["<script>alert(1)</script>", "x`<img src=x onerror=alert(9)>`", "```{raw} html\n<b>x</b>\n```",
           "\x1b[31mred\x1b[0m", "=cmd|' /C calc'!A0", "{glue:text}`x`", "@SUM(1+1)*cmd"]


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def corpus(study: str) -> list[tuple[str, bytes]]:
    """``(name, file bytes)`` of 48 cohorts derived from the shipped synthetic cohort."""
    base_path = paths.synthetic_cohort(study)
    raw = base_path.read_bytes()
    df = pd.read_csv(base_path, dtype=str, keep_default_na=False)
    t, e, marker = TARGETS[study]
    rng = np.random.default_rng(17)
    num = lambda col: pd.to_numeric(df[col], errors="coerce")  # noqa: E731
    cohorts = sorted(df["cohort"].unique())
    first = df[df["cohort"] == cohorts[0]]
    out: list[tuple[str, bytes]] = [("shipped", raw)]

    def add(name, frame):
        out.append((name, frame if isinstance(frame, bytes) else _csv(frame)))

    add("one_row", df.head(1))
    add("two_rows", df.head(2))
    add("three_rows", df.head(3))
    add("ten_rows", df.sample(10, random_state=1))
    add("header_only", df.head(0))
    add("all_censored", df.assign(**{c: "0" for c in df.columns if c.endswith("_event")}))
    add("all_events", df.assign(**{c: "1" for c in df.columns if c.endswith("_event")}))
    add("all_times_zero", df.assign(**{c: "0" for c in df.columns if c.endswith("_months")}))
    add("constant_marker", df.assign(**{marker: "5"}))
    add("marker_all_missing", df.assign(**{marker: ""}))
    add("marker_half_missing", df.assign(**{marker: df[marker].where(rng.random(len(df)) < 0.5, "")}))
    add("marker_negative", df.assign(**{marker: (-num(marker).abs() - 1).astype(str)}))
    add("marker_huge", df.assign(**{marker: (num(marker) * 1e12).astype(str)}))
    add("marker_inf", df.assign(**{marker: df[marker].where(df.index != 0, "inf")}))
    add("single_cohort_first", first if len(cohorts) > 1 else df.iloc[::2])
    if len(cohorts) > 1:
        add("single_cohort_last", df[df["cohort"] == cohorts[-1]])
    else:
        add("single_cohort_last", df.head(len(df) // 2))
    add("times_in_days", df.assign(**{c: (num(c) * 30.44).round(0).astype(str) for c in df.columns
                                      if c.endswith("_months")}))
    add("times_huge", df.assign(**{t: df[t].where(df.index != 0, "1000000")}))
    add("time_negative", df.assign(**{t: df[t].where(df.index != 3, "-2")}))
    add("time_missing_some", df.assign(**{t: df[t].where(df.index % 7 != 0, "")}))
    add("event_coded_2", df.assign(**{e: df[e].where(df.index != 5, "2")}))
    add("event_yes_no", df.assign(**{e: df[e].map({"1": "yes", "0": "no"}).fillna(df[e])}))
    add("drop_time", df.drop(columns=[t]))
    add("drop_event", df.drop(columns=[e]))
    add("drop_marker", df.drop(columns=[marker]))
    add("drop_cohort", df.drop(columns=["cohort"]))
    add("drop_patient_id", df.drop(columns=["patient_id"]))
    add("extra_column", df.assign(my_note="x"))
    add("columns_shuffled", df[list(rng.permutation(df.columns))])
    add("rows_shuffled", df.sample(frac=1, random_state=3))
    add("duplicate_ids", pd.concat([df, df.head(3)]))
    add("unknown_cohort_level", df.assign(cohort=df["cohort"].where(df.index != 2, "other")))
    add("cohort_upper_case", df.assign(cohort=df["cohort"].str.upper()))
    add("hostile_ids", df.assign(patient_id=[f"{HOSTILE[i % len(HOSTILE)]}-{i}" for i in range(len(df))]))
    add("hostile_values", df.assign(**{marker: df[marker].where(df.index != 1, HOSTILE[4])}))
    add("decimal_commas", df.assign(**{t: df[t].str.replace(".", ",", regex=False)}))
    text = raw.decode("utf-8")
    add("semicolons", text.replace(",", ";").encode())
    add("utf16", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    add("utf8_bom", codecs.BOM_UTF8 + raw)
    add("cr_only", text.replace("\n", "\r").encode())
    add("crlf", text.replace("\n", "\r\n").encode())
    add("empty_file", b"")
    add("whitespace_only", b"  \n\n \n")
    add("binary_garbage", bytes(rng.integers(0, 256, 4096, dtype=np.uint8)))
    add("oversized_field", _csv(df.assign(patient_id=df["patient_id"].where(df.index != 4, "x" * 1_000_000))))
    add("ragged_row", (text.rstrip("\n") + "\n" + text.splitlines()[1] + ",extra,fields\n").encode())
    add("truncated_last_line", raw[: len(raw) - len(text.splitlines()[-1]) // 2 - 1])
    return out


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


#: Corpus cohorts also computed section by section in the fast test (the dry run costs a few
#: seconds a cohort); the others get the declared needs only.
DRY = {"shipped", "single_cohort_first", "single_cohort_last", "all_censored", "constant_marker", "ten_rows"}


def _check_one(study: str, name: str, data: bytes, folder: Path) -> str:
    """Validate and pre-flight one cohort; returns ``"refused"`` or ``"runs"``, and fails the
    test on anything else."""
    path = folder / f"{study}_{name}.csv"
    path.write_bytes(data)
    report = contract.validate_file(study, path)
    outcome = None
    if not report.empty:
        text = contract.format_report(report, path)
        assert path.name in text, f"{name}: the report does not name the file"
        assert {"column", "rows"} <= set(report.columns) and report["column"].astype(str).str.len().gt(0).all(), name
        assert "\x1b" not in text, f"{name}: raw escape sequence in the report"
        outcome = "refused"
    else:
        try:
            plan, skip = preflight.preflight(study, path, {}, paths.study_chapters(study), dry_run=name in DRY)
        except preflight.PreflightError as exc:
            msg = str(exc)
            assert "\n" not in msg and msg, f"{name}: a pre-flight refusal is one line"
            outcome = "refused"
        else:
            assert len(skip) < len(paths.study_chapters(study)), name
            assert all(reason for reason in skip.values()), f"{name}: a skip without a reason"
            outcome = "runs"
    assert _sha(path.read_bytes()) == _sha(data), f"{name}: the input file changed"
    return outcome


@pytest.mark.parametrize("study", STUDIES)
def test_corpus_has_forty_cohorts_made_by_code(study):
    cohorts = corpus(study)
    assert len(cohorts) >= 40 and len({n for n, _ in cohorts}) == len(cohorts)
    assert len({_sha(b) for _, b in cohorts}) == len(cohorts), "two corpus cohorts are identical"


#: The fast sample (``make check``): one cohort of each kind; the whole corpus is
#: ``test_whole_corpus_validate_and_preflight`` (about a minute per study: marked ``notebook``
#: so that ``make check`` deselects it with the notebook tests).
FAST = ["shipped", "one_row", "all_censored", "constant_marker", "single_cohort_first", "times_huge",
        "drop_time", "utf16", "cr_only", "oversized_field", "hostile_ids", "hostile_values"]


@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES)
def test_corpus_sample_validate_and_preflight(study, tmp_path):
    outcomes = {name: _check_one(study, name, data, tmp_path) for name, data in corpus(study) if name in FAST}
    assert outcomes["shipped"] == "runs" and outcomes["hostile_ids"] == "runs"
    assert outcomes["one_row"] == "refused" and outcomes["drop_time"] == "refused"
    assert outcomes["utf16"] == "refused" and outcomes["oversized_field"] == "refused"


@pytest.mark.notebook
@pytest.mark.parametrize("study", STUDIES)
def test_whole_corpus_validate_and_preflight(study, tmp_path):
    outcomes = {name: _check_one(study, name, data, tmp_path) for name, data in corpus(study)}
    assert outcomes["shipped"] == "runs"
    # cohorts the contract must refuse whatever else changes
    for name in ("header_only", "empty_file", "binary_garbage", "drop_time", "drop_event", "drop_patient_id",
                 "utf16", "oversized_field", "time_negative", "event_coded_2", "duplicate_ids"):
        assert outcomes[name] == "refused", f"{name} was not refused"
    # what the pre-flight exists for: cohorts that validate but would stop a chapter
    for name in ("one_row", "all_censored", "constant_marker", "single_cohort_first"):
        assert outcomes[name] in ("refused", "runs")
    assert sum(o == "refused" for o in outcomes.values()) >= 10


def test_one_row_and_all_censored_never_start_a_failing_chapter(tmp_path):
    """The issue's cases: one row is refused in one line (nothing can be computed); all
    censored skips the chapters that need events, with the reason."""
    df = pd.read_csv(paths.synthetic_cohort("atebev_il6"), dtype=str, keep_default_na=False)
    one = tmp_path / "one.csv"
    one.write_bytes(_csv(df.head(1)))
    with pytest.raises(preflight.PreflightError, match="nothing useful can be computed"):
        preflight.preflight("atebev_il6", one, {}, paths.study_chapters("atebev_il6"))
    cens = tmp_path / "censored.csv"
    cens.write_bytes(_csv(df.assign(pfs_event="0", os_event="0")))
    _, skip = preflight.preflight("atebev_il6", cens, {}, paths.study_chapters("atebev_il6"))
    assert "atebev_outcomes" in skip and "events" in skip["atebev_outcomes"]
    assert "atebev_cohort" not in skip


# --------------------------------------------------------------------------- end to end
#: A representative subset: one per kind of outcome (refused by the contract, refused by the
#: pre-flight, runs with chapters skipped, runs whole, hostile text).
E2E = ["one_row", "all_censored", "constant_marker", "single_cohort_first", "hostile_ids", "utf16"]


@pytest.mark.notebook
@pytest.mark.parametrize("study", STUDIES)
@pytest.mark.parametrize("name", E2E)
def test_corpus_runs_end_to_end(study, name, tmp_path):
    data = dict(corpus(study))[name]
    cohort = tmp_path / "in" / f"{name}.csv"
    cohort.parent.mkdir()
    cohort.write_bytes(data)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "helpers", "run", study, "--cohort", str(cohort), "--out", str(out)],
                          capture_output=True, text=True, cwd=paths.ROOT, timeout=1800)
    err = proc.stderr
    assert "Traceback" not in err and "Traceback" not in proc.stdout, err[-3000:]
    assert "\x1b[31m" not in err + proc.stdout, "a raw ANSI escape from the cohort reached the terminal"
    assert _sha(cohort.read_bytes()) == _sha(data)
    failed = tmp_path / "out.failed"
    assert not failed.exists(), f"{name}: a chapter failed after the run started:\n{err[-2000:]}"
    if proc.returncode != 0:
        assert proc.returncode == 1 and "Nothing was run." in err, err[-2000:]
        assert not out.exists()
        return
    import json

    meta = json.loads((out / "run.json").read_text())
    for chapter in paths.study_chapters(study):
        assert (out / chapter.name).exists() == (chapter.stem not in meta["skipped"]), chapter.stem
    for chapter, reason in meta["skipped"].items():
        assert f"{chapter} is skipped" in err and reason
    for table in out.rglob("*.csv"):  # no cell a spreadsheet would run as a formula
        frame = pd.read_csv(table, dtype=str, keep_default_na=False)
        cells = list(frame.columns) + [v for col in frame.columns for v in frame[col]]
        assert not [c for c in cells if c != escape.csv_cell(c) and c[:1] in "=@"], table.name
