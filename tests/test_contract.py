"""The cohort contract: every fault refused with one clear message, all faults at once."""
from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from helpers import contract as ct
from helpers import paths
from helpers.__main__ import main as cli
from helpers.contract import Column, Contract, Rule

TOY = Contract(
    study="toy", dataset="cohort", description="a toy cohort",
    columns=(
        Column("patient_id", "id", "patient"),
        Column("os_months", "float", "overall survival", unit="months", min=0, endpoint="os"),
        Column("os_event", "binary", "1 = died, 0 = censored", endpoint="os"),
        Column("pfs_months", "float", "progression-free survival", unit="months", min=0, endpoint="pfs"),
        Column("pfs_event", "binary", "1 = progressed or died", endpoint="pfs"),
        Column("il6_pg_ml", "float", "IL-6", unit="pg/mL", min=0, below_lod=True),
        Column("child_pugh_class", "category", "Child-Pugh class", allowed=("A", "B")),
        Column("ecog", "int", "ECOG", min=0, max=4, required=False),
        Column("afp_ng_ml", "float", "AFP", min=0, required=False, nullable=True),
    ),
    rules=(ct.rule_le("pfs_months", "os_months"),),
)

GOOD = """patient_id,os_months,os_event,pfs_months,pfs_event,il6_pg_ml,child_pugh_class,ecog
P01,10.2,1,5.0,1,12.3,A,0
P02,20.5,0,20.5,0,<LOD,B,1
P03,7.1,1,2.0,1,<0.5,A,0
P04,3.3,1,1.1,1,40.2,B,2
"""


def _lines(text: str) -> list[str]:
    return text.strip("\n").split("\n")


def _with(row: int, col: str, value: str, text: str = GOOD) -> str:
    """GOOD with one cell changed (row 0 = first patient)."""
    lines = _lines(text)
    header = lines[0].split(",")
    cells = lines[row + 1].split(",")
    cells[header.index(col)] = value
    lines[row + 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


def _drop(col: str, text: str = GOOD) -> str:
    lines = [line.split(",") for line in _lines(text)]
    k = lines[0].index(col)
    return "\n".join(",".join(c for j, c in enumerate(line) if j != k) for line in lines) + "\n"


def _report(tmp_path, text: str, name="cohort.csv") -> pd.DataFrame:
    p = tmp_path / name
    p.write_text(text)
    df, lines = ct.read_csv_text(p)
    if df is None:
        return lines
    if ct._looks_headerless(df, TOY):
        return ct._file_problem(p, "a header", "no header")
    return ct.validate(df, TOY, p, lines=lines)


def test_good_file_meets_contract(tmp_path):
    report = _report(tmp_path, GOOD)
    assert report.empty
    assert ct.format_report(report, "x.csv") == "x.csv: meets the contract"


@pytest.mark.parametrize(
    "text, column, rows, expected, found",
    [
        (_drop("os_event"), "os_event", "header", "required column", "column missing"),
        (_with(1, "os_months", "abc"), "os_months", "line 3 (P02)", "a number", "text 'abc'"),
        (_with(2, "os_months", "-1"), "os_months", "line 4 (P03)", ">= 0", "below the minimum: -1"),
        (_with(0, "os_event", "2"), "os_event", "line 2 (P01)", "0 or 1", "2"),
        (_with(3, "patient_id", "P01"), "patient_id", "line 2 (P01), line 5 (P01) [2 rows]",
         "unique", "duplicated: P01 x2"),
        (_with(1, "pfs_months", "30"), "pfs_months, os_months", "line 3 (P02)",
         "pfs_months <= os_months", "pfs_months=30, os_months=20.5"),
        (_with(0, "child_pugh_class", "C"), "child_pugh_class", "line 2 (P01)", "one of A, B", "C"),
        (_with(0, "ecog", "1.5"), "ecog", "line 2 (P01)", "whole number", "1.5"),
        (_with(0, "ecog", "7"), "ecog", "line 2 (P01)", "0..4", "above the maximum: 7"),
        (_with(0, "pfs_event", ""), "pfs_event", "line 2 (P01)", "a value in every row", "empty"),
        (_with(0, "il6_pg_ml", "<"), "il6_pg_ml", "line 2 (P01)", "<LOD", "text '<'"),
        (_with(0, "os_months", "inf"), "os_months", "line 2 (P01)", "a number", "text 'inf'"),
    ],
    ids=["missing_column", "text_in_numeric", "negative_time", "event_coded_2",
         "duplicate_ids", "pfs_gt_os", "unknown_category", "non_integer", "above_max",
         "missing_value", "bad_lod", "infinite"],
)
def test_each_fault_is_one_clear_row(tmp_path, text, column, rows, expected, found):
    report = _report(tmp_path, text)
    assert len(report) == 1, report.to_string()
    r = report.iloc[0]
    assert r["column"] == column
    assert r["rows"] == rows
    assert expected in r["expected"]
    assert found in r["found"]
    assert r["file"].endswith("cohort.csv")


def test_event_coded_1_2_gets_a_recoding_hint(tmp_path):
    text = GOOD.replace(",1,5.0,1,", ",2,5.0,1,").replace("20.5,0,20.5", "20.5,1,20.5")
    report = _report(tmp_path, text)
    assert list(report["column"]) == ["os_event"]
    assert "coded 1/2" in report.iloc[0]["found"]


def test_all_faults_reported_at_once(tmp_path):
    text = _with(1, "os_months", "abc", _with(2, "os_event", "2", _with(3, "patient_id", "P01",
                                                                          _drop("pfs_event"))))
    report = _report(tmp_path, text)
    assert set(report["column"]) == {"pfs_event", "os_months", "os_event", "patient_id"}
    assert len(report) == 4
    text_report = ct.format_report(report, "cohort.csv")
    assert text_report.startswith("cohort.csv: 4 problems")
    for word in ("pfs_event", "'abc'", "duplicated"):
        assert word in text_report


def test_many_bad_rows_are_listed_briefly(tmp_path):
    body = "\n".join(f"P{i:02d},{-i},1,0,1,1,A,0" for i in range(1, 13))
    report = _report(tmp_path, _lines(GOOD)[0] + "\n" + body + "\n")
    r = report[report["column"] == "os_months"].iloc[0]
    assert r["rows"].startswith("line 2 (P01), line 3 (P02)")
    assert r["rows"].endswith("line 6 (P05) and 7 more [12 rows]")


@pytest.mark.parametrize(
    "content, found",
    [
        (b"", "empty file"),
        (b"\n\n", "empty file"),
        (b"patient_id;os_months\nP1;2\n", "separated by semicolons"),
        (b"PK\x03\x04\x00\x00binary", "binary content"),
        (b'patient_id,os_months\n"P1,2\n', "opened and never closed (the record starting on line 2)"),
    ],
    ids=["empty", "blank_lines", "semicolons", "binary", "broken_quotes"],
)
def test_unreadable_files_are_one_report_row(tmp_path, content, found):
    p = tmp_path / "f.csv"
    p.write_bytes(content)
    df, report = ct.read_csv_text(p)
    assert df is None
    assert len(report) == 1 and found in report.iloc[0]["found"]


def test_excel_exports_are_read(tmp_path):
    """A UTF-8 byte-order mark, latin-1 bytes and CRLF line ends (Excel) are all accepted."""
    p = tmp_path / "c.csv"
    p.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    df, lines = ct.read_csv_text(p)
    assert ct.validate(df, TOY, p, lines=lines).empty
    p.write_bytes(GOOD.replace("P04", "P\xe94").encode("latin-1"))
    df, lines = ct.read_csv_text(p)
    assert ct.validate(df, TOY, p, lines=lines).empty and "P\xe94" in set(df["patient_id"])


def test_duplicated_header_column_is_named(tmp_path):
    text = GOOD.replace("ecog", "os_event", 1)
    report = _report(tmp_path, text)
    assert "os_event" in set(report["column"])
    assert "more than once" in report.loc[report["column"] == "os_event", "found"].iloc[0]


def test_file_without_header_is_one_row(tmp_path, monkeypatch):
    monkeypatch.setattr(ct, "contract_for", lambda study, dataset="cohort": TOY)
    p = tmp_path / "c.csv"
    p.write_text("\n".join(_lines(GOOD)[1:]) + "\n")
    report = ct.validate_file("toy", p)
    assert len(report) == 1
    assert report.iloc[0]["found"].startswith("no header: the first line holds values (P01, 10.2")
    with pytest.raises(ct.CohortError, match="no header"):
        ct.read_cohort("toy", p)


def test_header_only_file_has_no_data_rows(tmp_path):
    report = _report(tmp_path, _lines(GOOD)[0] + "\n")
    assert "no data rows" in report.iloc[0]["found"]


def test_file_not_found_and_folder(tmp_path):
    assert ct.read_csv_text(tmp_path / "nope.csv")[1].iloc[0]["found"] == "no such file"
    assert ct.read_csv_text(tmp_path)[1].iloc[0]["found"] == "a folder"


def test_lines_with_more_or_fewer_fields_are_one_row(tmp_path):
    lines = _lines(GOOD)
    lines[2] += ",extra"
    lines[4] = lines[4].rsplit(",", 1)[0]
    report = _report(tmp_path, "\n".join(lines) + "\n")
    assert len(report) == 1
    assert report.iloc[0]["rows"] == "line 3, line 5"
    assert report.iloc[0]["found"] == "a different number of fields: line 3 (9), line 5 (7)"


def test_quoted_line_breaks_keep_csv_line_numbers(tmp_path):
    text = GOOD.replace("P02,", '"P\n02",').replace("P03,7.1", "P03,-7.1")
    report = _report(tmp_path, text)
    assert report.iloc[0]["rows"] == "line 5 (P03)"


def test_blank_lines_keep_csv_line_numbers(tmp_path):
    text = GOOD.replace("P03,", "\nP03,").replace("P03,7.1", "P03,-7.1")
    report = _report(tmp_path, text)
    assert report.iloc[0]["rows"] == "line 5 (P03)"


def test_case_mismatch_is_pointed_out(tmp_path):
    report = _report(tmp_path, GOOD.replace("os_event", "OS_event"))
    assert "found 'OS_event'" in report.iloc[0]["found"]


def test_rule_that_crashes_is_reported_not_raised(tmp_path):
    def boom(df):
        raise KeyError("oops")

    bad = Contract("toy", "cohort", "", TOY.columns, rules=(Rule("boom", "never fails", ("os_months",), boom),))
    df, lines = ct.read_csv_text((tmp_path / "c.csv", (tmp_path / "c.csv").write_text(GOOD))[0])
    report = ct.validate(df, bad, "c.csv", lines=lines)
    assert len(report) == 1 and "could not be checked" in report.iloc[0]["found"]


def test_rule_factories():
    df = pd.DataFrame({"a": [1.0, 3.0, None, -1.0], "b": [2.0, 2.0, 1.0, 0.0], "e": [0, 1, 2, None]})
    assert ct.rule_le("a", "b").check(df).tolist() == [True, False, True, True]
    assert ct.rule_nonnegative("a", "b").check(df).tolist() == [True, True, True, False]
    assert ct.rule_binary("e").check(df).tolist() == [True, True, False, True]
    assert ct.rule_both_or_neither("a", "e").check(df).tolist() == [True, True, False, False]


def test_check_contract_refuses_malformed_contracts():
    with pytest.raises(ValueError, match="dtype 'number'"):
        ct.check_contract(Contract("t", "c", "", (Column("x", "number", ""),)))
    with pytest.raises(ValueError, match="declared twice"):
        ct.check_contract(Contract("t", "c", "", (Column("x", "int", ""), Column("x", "int", ""))))
    with pytest.raises(ValueError, match="undeclared"):
        ct.check_contract(Contract("t", "c", "", (Column("x", "int", ""),),
                                   rules=(ct.rule_le("x", "y"),)))


def test_typed_reading_and_below_lod(tmp_path, monkeypatch):
    p = tmp_path / "c.csv"
    p.write_text(GOOD)
    monkeypatch.setattr(ct, "contract_for", lambda study, dataset="cohort": TOY)
    df = ct.read_cohort("toy", p)
    assert df["os_event"].dtype == np.int64
    assert list(df["child_pugh_class"].cat.categories) == ["A", "B"]
    assert df["il6_pg_ml"].tolist() == [12.3, 0.0, 0.0, 40.2]
    assert df["il6_pg_ml_below_lod"].tolist() == [0, 1, 1, 0]
    assert df["patient_id"].tolist() == ["P01", "P02", "P03", "P04"]
    p.write_text(_with(0, "os_months", "-3"))
    with pytest.raises(ct.CohortError) as exc:
        ct.read_cohort("toy", p)
    assert "below the minimum: -3" in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_parse_frame_reads_below_lod_without_validating():
    df = pd.DataFrame({"il6_pg_ml": ["<LOD", "< 0.5", "<lloq", "3.2", None], "os_event": ["1", "0", "1", "0", "1"]})
    out = ct.parse_frame(df, TOY)
    assert out["il6_pg_ml"].tolist()[:4] == [0.0, 0.0, 0.0, 3.2] and pd.isna(out["il6_pg_ml"].iloc[4])
    assert out["il6_pg_ml_below_lod"].tolist() == [1, 1, 1, 0, 0]
    assert out["os_event"].dtype == np.int64


def test_validate_accepts_a_typed_frame():
    df = pd.DataFrame({"patient_id": [1, 2], "os_months": [3.0, 4.0], "os_event": [1, 0],
                       "pfs_months": [1.0, 4.0], "pfs_event": [1, 1], "il6_pg_ml": [2.0, 0.0],
                       "child_pugh_class": ["A", "B"]})
    assert ct.validate(df, TOY).empty
    df.loc[1, "pfs_months"] = 5.0
    report = ct.validate(df, TOY)
    assert report.iloc[0]["rows"] == "row 1 (2)"


def test_validation_never_writes(tmp_path):
    p = tmp_path / "c.csv"
    p.write_bytes(_with(1, "os_months", "abc").encode())
    before = p.read_bytes(), sorted(tmp_path.iterdir())
    _report(tmp_path, p.read_text(), name="c.csv")
    assert (p.read_bytes(), sorted(tmp_path.iterdir())) == before


# --------------------------------------------------------------------------- the CLI
def test_cli_validate_prints_report_without_traceback(tmp_path, capsys):
    p = tmp_path / "bad.csv"
    p.write_text("patient_id,os_months\nP1,abc\n")
    study = next((s for s in paths.STUDIES if _has_schema(s)), None)
    if study is None:
        pytest.skip("no study schema yet")
    rc = cli(["validate", study, str(p)])
    out = capsys.readouterr()
    assert rc == 1
    assert "does not meet the contract" in out.out and "Traceback" not in out.out + out.err
    assert "'abc'" in out.out
    rc = cli(["validate", study, str(tmp_path / "missing.csv")])
    assert rc == 1 and "no such file" in capsys.readouterr().out


def test_cli_unknown_study_is_a_message(capsys):
    assert cli(["validate", "nostudy", "x.csv"]) == 1
    assert "unknown study 'nostudy'" in capsys.readouterr().err


# --------------------------------------------------------------------------- the studies
def _has_schema(study: str) -> bool:
    try:
        importlib.import_module(f"helpers.schemas.{study}")
        return True
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize("study", paths.STUDIES)
def test_study_contract_is_well_formed(study):
    if not _has_schema(study):
        pytest.skip(f"helpers/schemas/{study}.py not written yet")
    found = ct.contracts(study)
    assert "cohort" in found
    dd = ct.data_dictionary(study)
    assert {"required", "optional"} >= set(dd["required"])
    assert (dd["required"] == "required").any()


@pytest.mark.parametrize("study", paths.STUDIES)
def test_shipped_synthetic_data_meet_the_contract(study):
    if not _has_schema(study):
        pytest.skip(f"helpers/schemas/{study}.py not written yet")
    for dataset in ct.contracts(study):
        f = paths.synthetic_cohort(study) if dataset == "cohort" else paths.synthetic_lab(study, dataset)
        if not f.exists():
            pytest.skip(f"{f.name} not generated yet")
        report = ct.validate_file(study, f, dataset)
        assert report.empty, ct.format_report(report, f)
        df = ct.read_cohort(study, dataset=dataset)
        assert len(df) > 0


@pytest.mark.parametrize("study", paths.STUDIES)
def test_each_study_refuses_a_broken_copy_of_its_cohort(study, tmp_path):
    """A shipped cohort with PFS > OS, a negative time and a duplicated id in three rows."""
    f = paths.synthetic_cohort(study)
    if not _has_schema(study) or not f.exists():
        pytest.skip(f"{study}: schema or synthetic cohort not there yet")
    df = pd.read_csv(f, dtype=str)
    time = next(c for c in ("os_months",) if c in df.columns)
    df.loc[0, time] = "-1"
    df.loc[2, "patient_id"] = df.loc[1, "patient_id"]
    bad = tmp_path / "bad.csv"
    df.to_csv(bad, index=False)
    report = ct.validate_file(study, bad)
    assert "os_months" in set(report["column"]) and "patient_id" in set(report["column"])


# --------------------------------------------------------------------------- never a traceback
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CELLS = st.sampled_from(["", "NA", "abc", "-5", "1e999", "<LOD", "<0.1", "2", " 3 ", "nan",
                          "1,5", '"', "TRUE", "é", "0", "1", "A", "P01"])


def _validate_text(path, data: bytes) -> pd.DataFrame:
    path.write_bytes(data)
    df, lines = ct.read_csv_text(path)
    report = lines if df is None else ct.validate(df, TOY, path, lines=lines)
    assert list(report.columns) == ct.REPORT_COLUMNS
    ct.format_report(report, path)
    if report.empty:
        ct.parse_frame(df, TOY)
    return report


@given(data=st.binary(max_size=400))
def test_any_bytes_give_a_report_not_a_traceback(tmp_path_factory, data):
    _validate_text(tmp_path_factory.mktemp("fuzz") / "f.csv", data)


@given(edits=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 7), _CELLS), max_size=6))
def test_edited_cohorts_give_a_report_not_a_traceback(tmp_path_factory, edits):
    rows = [line.split(",") for line in _lines(GOOD)]
    for i, j, value in edits:
        if j < len(rows[i]):
            rows[i][j] = value
    text = "\n".join(",".join(r) for r in rows) + "\n"
    report = _validate_text(tmp_path_factory.mktemp("fuzz") / "f.csv", text.encode())
    if not edits:
        assert report.empty


# --------------------------------------------------------------------------- real-cohort input
def _soramic_raw():
    return pd.read_csv(paths.synthetic_cohort("soramic"), dtype=str)


def _soramic_report(df, **kw):
    return ct.validate(df, ct.contract_for("soramic"), "x.csv", **kw)


def test_empty_cells_allowed_except_id_and_endpoints():
    df = _soramic_raw()
    for col in ("il6_pg_ml", "cirrhosis", "child_pugh_class", "albumin_g_l", "age_years"):
        df.loc[df.index[::10], col] = np.nan
    assert _soramic_report(df).empty
    for col in ("os_months", "os_event", "patient_id", "cohort"):
        bad = df.copy()
        bad.loc[bad.index[3], col] = np.nan
        report = _soramic_report(bad)
        assert list(report["column"]) == [col] and report["found"].iloc[0] == "empty", report


def test_missingness_and_empty_column_counts_as_absent():
    df = _soramic_raw()
    df.loc[df.index[:8], "il6_pg_ml"] = np.nan
    df["hbv"] = np.nan
    c = ct.contract_for("soramic")
    miss = ct.missingness(df, c).set_index("column")
    assert miss.loc["il6_pg_ml", "missing"] == 8 and miss.loc["il6_pg_ml", "percent_missing"] == round(800 / len(df), 1)
    assert miss.loc["hbv", "status"].startswith("absent")
    assert _soramic_report(df).empty  # optional and empty: absent, not an error
    assert "hbv" not in ct.parse_frame(df, c).columns
    df["il8_pg_ml"] = ""  # required and empty in every row: refused as absent
    report = _soramic_report(df)
    assert list(report["column"]) == ["il8_pg_ml"] and "empty in every row" in report["found"].iloc[0]


@pytest.mark.parametrize("raw, expected", [
    ("yes", 1), ("No", 0), ("TRUE", 1), ("false", 0), ("1", 1), ("0.0", 0), ("y", 1), ("F", 0)])
def test_binary_spellings(raw, expected):
    df = _soramic_raw()
    df["cirrhosis"] = raw
    assert _soramic_report(df).empty
    assert set(ct.parse_frame(df, ct.contract_for("soramic"))["cirrhosis"]) == {expected}


@pytest.mark.parametrize("study, raw, expected", [
    ("soramic", "A", "A"), ("soramic", "b", "B"), ("soramic", "5", "A"), ("soramic", "7", "B"),
    ("soramic", "10", "C"), ("soramic", "A6", "A"), ("soramic", "Child-Pugh B7", "B"), ("soramic", "c 12", "C"),
    ("atebev_il6", "A", "A"), ("atebev_il6", "6", "A6"), ("atebev_il6", "b8", "B8"), ("atebev_il6", "C11", "C11")])
def test_child_pugh_spellings(study, raw, expected):
    c = ct.contract_for(study, "cohort")
    df = pd.read_csv(paths.synthetic_cohort(study), dtype=str)
    df["child_pugh_class"] = raw
    assert ct.validate(df, c).empty
    assert set(ct.parse_frame(df, c)["child_pugh_class"].astype(str)) == {expected}


@pytest.mark.parametrize("raw", ["A9", "B5", "16", "D"])
def test_child_pugh_inconsistent_refused(raw):
    df = _soramic_raw()
    df.loc[0, "child_pugh_class"] = raw
    report = _soramic_report(df)
    assert list(report["column"]) == ["child_pugh_class"] and "score 5-15" in report["expected"].iloc[0]


def test_responses_with_ne_and_written_out():
    df = pd.read_csv(paths.synthetic_cohort("pbis"), dtype=str)
    c = ct.contract_for("pbis")
    df.loc[0, "best_response"], df.loc[0, "objective_response"] = "NE", "0"
    df.loc[1, "best_response"], df.loc[1, "objective_response"] = "Not evaluable", "0"
    df.loc[2, "best_response"], df.loc[2, "objective_response"] = "partial response", "1"
    assert ct.validate(df, c).empty
    got = ct.parse_frame(df, c)["best_response"].astype(str)
    assert list(got[:3]) == ["NE", "NE", "PR"]


def test_one_cohort_study_reads_any_label_many_cohorts_need_a_mapping():
    df = _soramic_raw()
    df["cohort"] = "Mayo Clinic"
    assert _soramic_report(df).empty
    assert set(ct.parse_frame(df, ct.contract_for("soramic"))["cohort"]) == {"soramic"}
    ab = pd.read_csv(paths.synthetic_cohort("atebev_il6"), dtype=str)
    ab["cohort"] = ab["cohort"].map({"discovery": "SITE_A", "validation": "SITE_B"})
    c = ct.contract_for("atebev_il6")
    report = ct.validate(ab, c)
    assert list(report["column"]) == ["cohort"] and "--cohort-labels" in report["expected"].iloc[0]
    labels = {"SITE_A": "discovery", "SITE_B": "validation"}
    assert ct.validate(ab, c, labels=labels).empty
    assert set(ct.parse_frame(ab, c, labels)["cohort"].astype(str)) == {"discovery", "validation"}


@pytest.mark.parametrize("study, given, target, factor", [
    ("soramic", "bilirubin_mg_dl", "bilirubin_umol_l", 17.1),
    ("soramic", "albumin_g_dl", "albumin_g_l", 10.0),
    ("pbis", "crp_mg_l", "crp_mg_dl", 0.1),
    ("atebev_il6", "crp_mg_l", "crp_mg_dl", 0.1),
    ("atebev_il6", "albumin_g_l", "albumin_g_dl", 0.1),
    ("soramic", "os_days", "os_months", 1 / 30.4375),
    ("pbis", "pfs_weeks", "pfs_months", 7 / 30.4375),
    ("soramic", "il6_ng_ml", "il6_pg_ml", 1000.0),
])
def test_declared_units_are_converted(study, given, target, factor):
    c = ct.contract_for(study)
    df = pd.read_csv(paths.synthetic_cohort(study), dtype=str)
    if target not in df:
        df[target] = "1.0"
    want = pd.to_numeric(df[target], errors="coerce")
    df[given] = df.pop(target).map(lambda v: v if str(v).startswith("<") else repr(float(v) / factor)
                                   if not pd.isna(v) else v)
    assert ct.validate(df, c).empty
    got = ct.parse_frame(df, c)[target]
    assert np.allclose(got[want.notna()], want.dropna(), rtol=1e-9)
    assert ct.unit_factor(ct.split_unit(target)[0], ct.split_unit(given)[1], ct.split_unit(target)[1]) == pytest.approx(factor)


@pytest.mark.parametrize("name", ["il6_iu_ml", "il6_g_dl", "albumin_mmol_l"])
def test_unit_without_conversion_or_given_twice_is_refused(name):
    df = _soramic_raw()
    df[name] = df.pop(ct.split_unit(name)[0] + "_" + ("g_l" if name.startswith("albumin") else "pg_ml"))
    report = _soramic_report(df)
    row = report[report["column"] == name]
    assert len(row) == 1 and "no well-defined conversion" in row["found"].iloc[0]
    df = _soramic_raw()
    df["bilirubin_mg_dl"] = "1.0"
    report = _soramic_report(df)
    assert "given twice" in " ".join(report["found"])


def test_times_in_days_written_as_months_are_refused_with_the_fix():
    df = _soramic_raw()
    for col in ("os_months", "pfs_months", "liver_dysfunction_months"):
        df[col] = (pd.to_numeric(df[col]) * 30.4375).map(repr)
    report = _soramic_report(df)
    row = report[report["column"] == "os_months"]
    assert len(row) == 1 and "os_days" in row["found"].iloc[0] and "240" in row["expected"].iloc[0]
    df = _soramic_raw()
    df["os_months"] = "130"  # every time plausible, the median not
    report = _soramic_report(df)
    assert "median" in report[report["column"] == "os_months"]["found"].iloc[0]


def test_accepted_units_table_lists_conversions():
    table = ct.accepted_units(ct.contract_for("soramic"))
    row = table[(table["column"] == "bilirubin_umol_l") & (table["also_accepted"] == "bilirubin_mg_dl")]
    assert row["multiplied_by"].iloc[0] == 17.1
    assert "albumin_g_dl" in set(table["also_accepted"]) and "os_days" in set(table["also_accepted"])
