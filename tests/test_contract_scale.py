"""Reading and validating a large cohort: the distinct-value path equals the value-by-value one.

A column of :data:`helpers.contract.DISTINCT_MIN_ROWS` rows or more is mapped (codes, units,
strip, yes/no) and parsed (numbers) once per distinct value and broadcast; a shorter one value by
value. The value-by-value path is the reference: each test runs the same input both ways (the
threshold raised so that nothing takes the distinct-value path) and requires identical values,
dtypes, flags and reports. ``read_cohort`` parses the cohort once: the frame it validated is the
frame it returns.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import contract as ct
from helpers import paths
from tests.test_corpus import FAST, corpus

#: Tricky cells, one list per kind of column (spaces, letter case, blanks, missing values,
#: spellings the contract maps, and spellings it must refuse).
BLANKS = ["", "  ", np.nan, None]
RESPONSE = ["CR", "pr", " SD ", "PD", "NE", "ne", "Not evaluable", "not  evaluated", "complete response",
            "Partial", "progressive disease", "unevaluable", "XX", "cr?"] + BLANKS
BINARY = ["1", "0", "1.0", "0.0", "yes", "No", " Y ", "n", "TRUE", "false", "t", "F", "2", "maybe",
          "-1", "1e0"] + BLANKS
CHILD_PUGH = ["A5", "a6", "B7", " b 8", "B9", "C10", "C15", "Child-Pugh A5", "child_pugh: B 9", "class C",
              "6", "9", "12", "A", "b", "c", "B5", "A9", "16", "4", "D", "A 16"] + BLANKS
NUMBERS = ["1.5", " 2 ", "3", "-0", "1e3", "1E-2", "inf", "-inf", "1e999", "nan", "1,5", "abc", "<LOD",
           "<0.5", "< 0.5", "<x", "12345678901234567890", "0x1A", ".5", "5."] + BLANKS


def _column(cells, n=2_000, seed=0) -> pd.Series:
    """``n`` cells drawn from ``cells`` (each at least once), shuffled, as read with dtype=str."""
    rng = np.random.default_rng(seed)
    picks = list(cells) + list(rng.choice(np.array(cells, dtype=object), n - len(cells)))
    s = pd.Series(picks, dtype=object).sample(frac=1, random_state=seed)
    return s.where(s.notna(), None if seed % 2 else np.nan)


@pytest.fixture
def per_value(monkeypatch):
    """Run a callable with every column mapped value by value (the reference)."""
    def run(fn, *args, **kwargs):
        with monkeypatch.context() as m:
            m.setattr(ct, "DISTINCT_MIN_ROWS", 10**12)
            return fn(*args, **kwargs)
    return run


def _same_parse(a, b):
    for x, y in zip(a, b):
        if x is None or y is None:
            assert x is None and y is None
        else:
            pd.testing.assert_series_equal(x, y, check_exact=True)


@pytest.mark.parametrize("column, cells", [
    (ct.Column("best_response", "category", "r", allowed=("CR", "PR", "SD", "PD", "NE"), codes="response"), RESPONSE),
    (ct.Column("os_event", "binary", "e"), BINARY),
    (ct.Column("cp", "category", "cp", allowed=("A5", "A6", "B7", "B8", "B9", "C10", "C11", "C12", "C13", "C14",
                                                "C15", "A", "B", "C"), codes="child_pugh"), CHILD_PUGH),
    (ct.Column("cp_class", "category", "cp", allowed=("A", "B", "C"), codes="child_pugh"), CHILD_PUGH),
    (ct.Column("il6_pg_ml", "float", "il6", min=0, below_lod=True), NUMBERS),
    (ct.Column("ecog", "int", "ecog", min=0, max=4), NUMBERS),
    (ct.Column("cohort", "category", "c", allowed=("soramic",), codes="cohort"), ["SORAMIC", "x", "soramic "] + BLANKS),
    (ct.Column("patient_id", "id", "id"), ["P1", " P2", "P3 ", "p1"] + BLANKS),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_tricky_column_parses_as_value_by_value(column, cells, seed, per_value):
    raw = _column(cells, seed=seed)
    fast = ct._parse_column(raw, column)
    _same_parse(fast, per_value(ct._parse_column, raw, column))
    # and each cell on its own gives what the whole column gives it
    values = fast[0]
    for k in range(0, len(raw), 97):
        one = ct._parse_column(raw.iloc[[k]], column)[0].iloc[0]
        assert (pd.isna(one) and pd.isna(values.iloc[k])) or one == values.iloc[k], (raw.iloc[k], one)


@pytest.mark.parametrize("func", [ct._strip, ct._binary_text, ct._blank, lambda v: ct._scale_cell(v, 0.1),
                                  lambda v: isinstance(v, str) and bool(ct.LOD_PATTERN.match(v))])
def test_map_values_equals_series_map(func):
    s = _column(RESPONSE + BINARY + CHILD_PUGH + NUMBERS, n=3_000)
    pd.testing.assert_series_equal(ct._map_values(s, func), s.map(func), check_exact=True)
    parsed = ct._to_float(s)
    pd.testing.assert_series_equal(parsed, pd.to_numeric(s, errors="coerce").astype(float), check_exact=True)


def test_typed_and_short_columns_are_mapped_value_by_value():
    """Mixed types (1 == 1.0 == True would share one distinct value) never take the fast path."""
    s = pd.Series([1, 1.0, True, "1", np.nan] * 40, dtype=object)
    pd.testing.assert_series_equal(ct._map_values(s, ct._binary_text), s.map(ct._binary_text))
    assert ct._map_values(s, ct._binary_text).tolist()[:4] == [1, 1.0, "1", "1"]


def _big(study: str, n: int = 3_000) -> pd.DataFrame:
    """A cohort drawn from the shipped one, with the spellings the contract maps and refuses."""
    df = pd.read_csv(paths.synthetic_cohort(study), dtype=str, keep_default_na=False)
    df = df.sample(n, replace=True, random_state=5).reset_index(drop=True)
    df["patient_id"] = [f"Q{i:05d}" for i in range(n)]
    rng = np.random.default_rng(5)
    pick = lambda cells: rng.choice(np.array(cells, dtype=object), n)  # noqa: E731
    respell = lambda col, spell: [spell(v, k) for k, v in enumerate(df[col])]  # noqa: E731
    written = {"CR": "complete response", "PR": "Partial", "SD": "stable disease", "PD": "progressive",
               "NE": "not evaluated"}
    df["os_event"] = respell("os_event", lambda v, k: [v, {"1": "yes", "0": "No"}.get(v, v),
                                                       {"1": "TRUE", "0": "f"}.get(v, v), f" {v} "][k % 4])
    if "best_response" in df:
        df["best_response"] = respell("best_response", lambda v, k: [v, v.lower(), written.get(v, v)][k % 3])
    if "child_pugh_class" in df:
        df["child_pugh_class"] = respell("child_pugh_class", lambda v, k: [
            v, v.lower(), f"Child-Pugh {v}", " ".join(v[:1] + v[1:]).lower() if len(v) > 1 else v,
            v[1:] if len(v) > 1 else v][k % 5])
    df["il6_pg_ml"] = pick(["<LOD", "<0.3", "1.5", " 12.25 ", "", "0"])
    if "crp_mg_dl" in df:  # a column in another unit: converted per distinct value
        df = df.rename(columns={"crp_mg_dl": "crp_mg_l"})
    return df


@pytest.mark.parametrize("study", list(paths.STUDIES))
def test_large_cohort_reads_and_validates_as_value_by_value(study, tmp_path, per_value):
    df = _big(study)
    ok = tmp_path / f"{study}.csv"
    df.to_csv(ok, index=False)
    fast = ct.read_cohort(study, ok)
    pd.testing.assert_frame_equal(fast, per_value(ct.read_cohort, study, ok), check_exact=True)
    assert len(fast) == len(df) and fast["il6_pg_ml_below_lod"].sum() > 0
    # refused spellings: the same report, row for row
    bad = df.copy()
    bad.loc[[3, 1_500, 2_999], "os_event"] = ["2", "maybe", "yes please"]
    bad.loc[[7, 8], "il6_pg_ml"] = ["1,5", "inf"]
    if "child_pugh_class" in bad:
        bad.loc[[11, 12], "child_pugh_class"] = ["B5", "16"]
    path = tmp_path / f"{study}_bad.csv"
    bad.to_csv(path, index=False)
    report = ct.validate_file(study, path)
    assert not report.empty and {"os_event", "il6_pg_ml"} <= set(report["column"])
    pd.testing.assert_frame_equal(report, per_value(ct.validate_file, study, path))


@pytest.mark.slow
@pytest.mark.parametrize("study", list(paths.STUDIES))
def test_corpus_cohorts_read_and_validate_as_value_by_value(study, tmp_path, per_value):
    """The shipped cohort and the fast sample of the corpus (tests/test_corpus.py), made 40 times
    longer where the cohort is a table (so that every column takes the distinct-value path)."""
    compared = 0
    for name, data in corpus(study):
        if name not in FAST:
            continue
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        report = ct.validate_file(study, path)
        pd.testing.assert_frame_equal(report, per_value(ct.validate_file, study, path))
        if report.empty:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            long = pd.concat([df] * 40, ignore_index=True)
            long["patient_id"] = [f"{v}-{i}" for i, v in enumerate(long["patient_id"])]
            long_path = tmp_path / f"{name}_long.csv"
            long.to_csv(long_path, index=False)
            for p in (path, long_path):
                pd.testing.assert_frame_equal(ct.read_cohort(study, p), per_value(ct.read_cohort, study, p))
        compared += 1
    assert compared == len(FAST)


def test_read_cohort_parses_once_and_returns_what_it_validated(monkeypatch):
    calls = []
    real = ct._parse
    monkeypatch.setattr(ct, "_parse", lambda *a, **k: calls.append(1) or real(*a, **k))
    for study in paths.STUDIES:
        calls.clear()
        df = ct.read_cohort(study)
        assert len(calls) == 1, f"{study}: the cohort was parsed {len(calls)} times"
        raw, _ = ct.read_csv_text(paths.synthetic_cohort(study))
        pd.testing.assert_frame_equal(df, ct.parse_frame(raw, ct.contract_for(study)).reset_index(drop=True))
