"""helpers.published: the loader of data/published/<study>.csv and its error messages."""
import pandas as pd
import pytest

from helpers import paths, published

HEADER = ("id,study,source,cohort,group,quantity,value,lower,upper,p,p_bound,unit,digits,"
          "tolerance,preferred,note")
VALID = [
    'discovery_n,atebev_il6,"Table 1, header",discovery,all,count,84,,,,,patients,0,exact,1,',
    "discovery_pfs_hr_il6_high,atebev_il6,Table 3,discovery,il6_high,hr,2.93,1.50,5.71,0.003,=,,2,ci,1,",
    "discovery_os_p,atebev_il6,Fig 2,discovery,il6_high_vs_low,p,0.001,,,,<,,3,rounding,,",
    "total_median_os,atebev_il6,Text,total,il6_high,median_months,7.30,5.87,,,,months,,rounding,0,upper NA",
    "total_note,atebev_il6,Text,total,all,count,,,,,,,,info,,not printed as a number",
]


def write(tmp_path, rows, name="atebev_il6.csv", header=HEADER):
    f = tmp_path / name
    f.write_text("\n".join([header] + rows) + "\n")
    return f


def problems_of(tmp_path, rows, header=HEADER):
    write(tmp_path, rows, header=header)
    with pytest.raises(published.PublishedFormatError) as info:
        published.load("atebev_il6", folder=tmp_path)
    return info.value


def test_valid_file_loads_with_types_and_defaults(tmp_path):
    write(tmp_path, VALID)
    df = published.load("atebev_il6", folder=tmp_path)
    assert list(df.columns) == published.LOADED_COLUMNS
    assert len(df) == 5
    row = df.set_index("id").loc["discovery_pfs_hr_il6_high"]
    assert row["value"] == 2.93 and row["lower"] == 1.5 and row["upper"] == 5.71
    assert row["p"] == 0.003 and row["p_bound"] == "="
    assert row["value_text"] == "2.93"
    assert row["source"] == "Table 3"
    # digits: written, or counted from the printed value when blank
    assert df.set_index("id").loc["total_median_os", "digits"] == 2
    assert df.set_index("id").loc["discovery_n", "digits"] == 0
    # a p row's bound describes its value; a row without a p has no bound
    assert df.set_index("id").loc["discovery_os_p", "p_bound"] == "<"
    assert df.set_index("id").loc["discovery_n", "p_bound"] == ""
    # preferred defaults to 1; 0 is kept
    assert df.set_index("id")["preferred"].tolist() == [1, 1, 1, 0, 1]
    assert df["line"].tolist() == [2, 3, 4, 5, 6]
    assert df.set_index("id").loc["total_median_os", "upper"] != df.set_index("id").loc["total_median_os", "upper"]


def test_get_and_value(tmp_path):
    write(tmp_path, VALID)
    assert published.get("atebev_il6", "discovery_n", folder=tmp_path)["value"] == 84
    assert published.value("atebev_il6", "discovery_pfs_hr_il6_high", folder=tmp_path) == 2.93
    with pytest.raises(KeyError, match="no published number with id 'nope'"):
        published.get("atebev_il6", "nope", folder=tmp_path)


def test_optional_columns_may_be_left_out(tmp_path):
    header = "id,study,source,cohort,group,quantity,value,tolerance"
    write(tmp_path, ["total_n,atebev_il6,Abstract,total,all,count,165,exact"], header=header)
    df = published.load("atebev_il6", folder=tmp_path)
    assert df.loc[0, "note"] == "" and df.loc[0, "preferred"] == 1 and df.loc[0, "digits"] == 0


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="pbis.csv"):
        published.load("pbis", folder=tmp_path)


def test_unknown_study_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        published.load("nope", folder=tmp_path)


def test_load_all_skips_absent_files(tmp_path):
    write(tmp_path, VALID)
    df = published.load(folder=tmp_path)
    assert set(df["study"]) == {"atebev_il6"}
    assert published.load(folder=tmp_path / "empty").empty


def test_missing_required_column(tmp_path):
    header = "id,study,source,cohort,group,quantity,value"
    err = problems_of(tmp_path, ["total_n,atebev_il6,Abstract,total,all,count,165"], header=header)
    assert "atebev_il6.csv" in str(err)
    assert "missing required column(s) tolerance" in str(err)


def test_duplicate_ids_name_both_lines(tmp_path):
    err = problems_of(tmp_path, VALID + [VALID[0]])
    assert "line 2, 7, column 'id': id 'discovery_n' is not unique" in str(err)


def test_every_problem_is_reported_at_once(tmp_path):
    rows = [
        "Discovery N,atebev_il6,T1,discovery,all,count,84,,,,,,0,exact,1,",        # line 2: id
        "a_hr,pbis,T3,discovery,all,hr,2.9,1.5,5.7,0.003,=,,2,ci,1,",              # line 3: study
        "b_hr,atebev_il6,T3,discovery,all,hr,two,1.5,5.7,0.003,=,,2,ci,1,",        # line 4: value
        "c_hr,atebev_il6,T3,discovery,all,hr,2.9,5.7,1.5,0.003,=,,2,ci,1,",        # line 5: lower>upper
        "d_hr,atebev_il6,T3,discovery,all,hr,2.9,1.5,5.7,0.003,~,,2,ci,1,",        # line 6: p_bound
        "e_hr,atebev_il6,T3,discovery,all,hr,2.9,1.5,5.7,0.003,=,,2,loose,1,",     # line 7: tolerance
        "f_hr,atebev_il6,T3,discovery,all,hr,2.9,,,0.003,=,,2,ci,1,",              # line 8: ci w/o CI
        "g_hr,atebev_il6,T3,discovery,all,hr,2.9,,,1.3,=,,2,direction,1,",         # line 9: p > 1
        "h_n,atebev_il6,T3,discovery,all,count,,,,,,,x,exact,2,",                  # line 10: value, digits, preferred
        "i_hr,atebev_il6,T3,discovery,all,hr,2.9,,,,<,,2,direction,1,",            # line 11: bound w/o p
    ]
    err = problems_of(tmp_path, rows)
    text = str(err)
    expected = [
        "line 2, column 'id': expected a snake_case id",
        "line 3, column 'study': expected 'atebev_il6'",
        "line 4, column 'value': expected a plain number",
        "line 5, column 'lower': expected lower <= upper",
        "line 6, column 'p_bound': expected one of =, <, > or blank; found '~'",
        "line 7, column 'tolerance': expected one of exact, rounding, ci, direction, contradiction, info; found 'loose'",
        "line 8, column 'tolerance': expected 'ci' only on rows with a printed CI",
        "line 9, column 'p': expected a probability between 0 and 1",
        "line 10, column 'value': expected a number (only tolerance 'info' rows may leave it blank)",
        "line 10, column 'digits': expected a whole number",
        "line 10, column 'preferred': expected 0, 1 or blank",
        "line 11, column 'p_bound': expected blank, because this row has no p",
    ]
    for piece in expected:
        assert piece in text, piece
    assert len(err.problems) == len(expected)


def test_unknown_column_is_reported(tmp_path):
    err = problems_of(tmp_path, [VALID[0] + ",x"], header=HEADER + ",comment")
    assert "unknown column(s) comment" in str(err)


def test_error_is_a_value_error_for_the_command_line(tmp_path):
    assert issubclass(published.PublishedFormatError, ValueError)


def test_the_file_is_not_modified(tmp_path):
    f = write(tmp_path, VALID)
    before = f.read_bytes()
    published.load("atebev_il6", folder=tmp_path)
    assert f.read_bytes() == before


@pytest.mark.parametrize("study", paths.STUDIES)
def test_shipped_file_loads(study):
    f = paths.published_numbers(study)
    if not f.exists():
        pytest.skip(f"{f.name} not written yet")
    df = published.load(study)
    assert len(df) > 0
    assert (df["study"] == study).all()
    assert df["id"].is_unique
    judged = df[df["tolerance"] != "info"]
    assert judged["value"].notna().all()
    assert isinstance(df, pd.DataFrame)


def test_a_changed_file_is_read_again(tmp_path):
    f = write(tmp_path, VALID)
    assert len(published.load("atebev_il6", folder=tmp_path)) == 5
    first = published.load("atebev_il6", folder=tmp_path)
    first.loc[0, "value"] = -1                       # a caller's change never reaches the cache
    assert published.load("atebev_il6", folder=tmp_path).loc[0, "value"] == 84
    f.write_text("\n".join([HEADER] + VALID[:2]) + "\n")
    assert len(published.load("atebev_il6", folder=tmp_path)) == 2
    f.write_text("\n".join([HEADER] + VALID[:2] + [VALID[0]]) + "\n")
    with pytest.raises(published.PublishedFormatError, match="not unique"):
        published.load("atebev_il6", folder=tmp_path)


def test_unreadable_or_empty_file(tmp_path):
    (tmp_path / "pbis.csv").write_text("")
    with pytest.raises(published.PublishedFormatError, match="empty"):
        published.load("pbis", folder=tmp_path)


def test_printed_gives_the_value_with_its_printed_decimals(tmp_path):
    write(tmp_path, VALID + ["validation_orr_pct,atebev_il6,Text,validation,il6_high,percent,7,,,,,%,1,rounding,,",
                             "some_p_gt,atebev_il6,Text,total,all,p,0.05,,,,>,,2,rounding,,",
                             "some_p_eq,atebev_il6,Text,total,all,p,0.021,,,,=,,3,rounding,,"])

    def printed(id, unit=""):
        return published.printed("atebev_il6", id, unit, folder=tmp_path)

    assert printed("discovery_n") == "84"
    assert printed("discovery_pfs_hr_il6_high") == "2.93"          # its p's bound is not shown
    assert printed("total_median_os") == "7.30"                    # digits counted from "7.30"
    assert printed("validation_orr_pct", "%") == "7.0%"            # digits column wins: 1
    # a p row carries its bound, without a space; "=" is left out
    assert printed("discovery_os_p") == "<0.001"
    assert printed("some_p_gt") == ">0.05"
    assert printed("some_p_eq") == "0.021"
    with pytest.raises(KeyError, match="no published number with id 'nope'"):
        printed("nope")


def _notebook_printed(pub, key, unit=""):
    """The copy the atebev chapters carried before helpers.published.printed (reference)."""
    r = pub.loc[key]
    bound = r["p_bound"] if r["quantity"] == "p" and isinstance(r["p_bound"], str) and r["p_bound"] in "<>" else ""
    return f"{bound}{r['value']:.{int(r['digits'])}f}{unit}"


@pytest.mark.parametrize("study", paths.STUDIES)
def test_printed_matches_the_chapters_former_copy_on_every_shipped_row(study):
    if not paths.published_numbers(study).exists():
        pytest.skip(f"{study}.csv not written yet")
    pub = published.load(study).set_index("id")
    rows = pub[pub["value"].notna()]
    assert len(rows) > 0
    for key in rows.index:
        for unit in ("", "%"):
            assert published.printed(study, key, unit) == _notebook_printed(pub, key, unit), key


# --- issue 13: tolerances, contradictions, reasons, claims -------------------------------------

def _table_of(source: str) -> str:
    import re

    m = re.match(r"^((?:Table|Fig\.?|Figure) ?S?\d+[A-Z]?)", source)
    return m.group(1) if m else ""


def test_neighbouring_rows_of_one_table_share_one_tolerance():
    """Rows of one printed table with the same quantity and the same provenance class are
    judged alike (Ate/Bev Table 2 once had BCLC at 'direction' beside 'rounding' rows)."""
    from helpers import provenance

    pub = published.load()
    pub = pub.merge(provenance.classify(pub), on=["study", "id"])
    pub["table"] = pub["source"].map(_table_of)
    judged = pub[(pub["table"] != "") & ~pub["tolerance"].isin(["info", "contradiction"])]
    mixed = judged.groupby(["study", "table", "quantity", "provenance"])["tolerance"].nunique()
    assert mixed[mixed > 1].empty, mixed[mixed > 1]


def test_a_percentage_that_disagrees_with_its_count_is_a_contradiction_not_info():
    pub = published.load()
    disagree = pub[pub["note"].str.contains("disagrees with its count|the percentage disagrees", regex=True)]
    assert len(disagree) >= 6
    assert (disagree["tolerance"] == "contradiction").all(), disagree[["id", "tolerance"]]


def test_contradictions_say_where_the_paper_disagrees():
    pub = published.load()
    rows = pub[pub["tolerance"] == "contradiction"]
    assert len(rows) >= 10
    assert (rows["note"].str.len() > 20).all()


def test_reason_column_is_read(tmp_path):
    write(tmp_path, [VALID[0] + ',"the generator keeps this count"'], header=HEADER + ",reason")
    df = published.load("atebev_il6", folder=tmp_path)
    assert df.iloc[0]["reason"] == "the generator keeps this count"
    assert pd.isna(df.iloc[0]["ci_digits"])


def test_shipped_claims_file_is_valid_and_every_claim_quotes_the_paper():
    from helpers import claims

    table = claims.load()
    assert len(table) >= 12 and set(table["study"]) == set(paths.STUDIES)
    papers = {"atebev_il6": "atebev_il6_jhep_reports_2023.txt", "pbis": "pbis_atezolizumab_bevacizumab.txt",
              "soramic": "soramic_il6_il8_radioembolization.txt"}
    from pathlib import Path

    folder = Path("/work/shared/papers")
    if not folder.exists():
        pytest.skip("paper texts not available")
    import re

    def words(text):
        return re.sub(r"[^a-z0-9]+", " ", text.lower())

    for _, c in table.iterrows():
        text = words(" ".join((folder / papers[c["study"]]).read_text().split()))
        first = words(c["claim"].split("...")[0].split("(")[0]).strip()
        assert " ".join(first.split()[:6]) in text, c["id"]


def test_a_bad_claims_file_lists_its_problems(tmp_path):
    from helpers import claims

    f = tmp_path / "claims.csv"
    f.write_text("id,study,source,claim,check,terms,target,provenance,reason,note\n"
                 "a,atebev_il6,x,y,biggest,t1 t2,t1,calibrated,,\n"
                 "a,nowhere,x,y,largest,,t9,calibrated,,\n")
    with pytest.raises(ValueError) as info:
        claims.load(f)
    text = str(info.value)
    assert "line 2: check 'biggest'" in text and "study 'nowhere'" in text and "no terms" in text
    assert "ids not unique: a" in text
