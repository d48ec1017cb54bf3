"""helpers.results.Recorder: recording, published decimals and placeholder prose."""
import pandas as pd
import pytest

from helpers import paths, published, results
from helpers.results import Recorder

HEADER = ("id,study,source,cohort,group,quantity,value,lower,upper,p,p_bound,unit,digits,"
          "tolerance,preferred,note")
ROWS = [
    "discovery_n,atebev_il6,Table 1,discovery,all,count,84,,,,,patients,0,exact,1,",
    "discovery_pfs_hr_il6_high,atebev_il6,Table 3,discovery,il6_high,hr,2.93,1.50,5.71,0.003,=,,2,ci,1,",
    "discovery_os_rate,atebev_il6,Text,discovery,all,percent,71.4,,,,,%,,rounding,1,",
    "discovery_hr_three,atebev_il6,Fig 3,discovery,il6_high,hr,2.931,,,,,,3,rounding,1,",
    "total_note,atebev_il6,Text,total,all,count,,,,,,,,info,,not printed as a number",
]


@pytest.fixture
def published_dir(tmp_path, monkeypatch):
    folder = tmp_path / "published"
    folder.mkdir()
    (folder / "atebev_il6.csv").write_text("\n".join([HEADER] + ROWS) + "\n")
    monkeypatch.setattr(paths, "PUBLISHED", folder)
    return folder


@pytest.fixture
def glued(monkeypatch):
    """Every (name, text) the recorder glues, in order."""
    calls = []
    monkeypatch.setattr(results, "_glue", lambda name, text: calls.append((name, text)))
    return calls


def test_record_writes_the_results_file_and_returns_the_text(tmp_path):
    rec = Recorder("atebev_il6", "atebev_test", results_dir=tmp_path, glue=False)
    text = rec.record("discovery_pfs_hr_il6_high", 2.9312, 1.5, 5.71, 0.0031, n=84)
    assert text == "2.93 (95% CI 1.50–5.71), p = 0.003"
    table = pd.read_csv(tmp_path / "atebev_test.csv")
    assert list(table.columns) == results.RESULT_COLUMNS
    assert table.loc[0, "key"] == "discovery_pfs_hr_il6_high" and table.loc[0, "n"] == 84


@pytest.mark.parametrize("key, estimate, expected", [
    ("discovery_n", 84, "84"),                                  # digits column: 0
    ("discovery_pfs_hr_il6_high", 2.9312, "2.93"),              # digits column: 2
    ("discovery_os_rate", 71.428, "71.4"),                      # digits counted from "71.4"
    ("discovery_hr_three", 2.93149, "2.931"),                   # digits column: 3
    ("not_published", 1.23456, "1.23"),                         # no such id: 2
    ("total_note", 5.0, "5.00"),                                # a row without decimals: 2
])
def test_record_published_uses_the_papers_decimals(tmp_path, published_dir, key, estimate, expected):
    rec = Recorder("atebev_il6", "atebev_test", results_dir=tmp_path, glue=False)
    assert rec.record_published(key, estimate) == expected
    assert rec.table().iloc[-1]["text"] == expected


def test_record_published_passes_everything_on_to_record(tmp_path, published_dir, glued):
    rec = Recorder("atebev_il6", "atebev_test", results_dir=tmp_path)
    text = rec.record_published("discovery_pfs_hr_il6_high", 2.9312, 1.5012, 5.7101, 0.0031, n=84)
    assert text == "2.93 (95% CI 1.50–5.71), p = 0.003"
    assert dict(glued) == {"discovery_pfs_hr_il6_high": text, "discovery_pfs_hr_il6_high_est": "2.93",
                           "discovery_pfs_hr_il6_high_ci": "1.50–5.71",
                           "discovery_pfs_hr_il6_high_p": "p = 0.003", "discovery_pfs_hr_il6_high_n": "84"}
    # explicit keywords win over the published decimals
    assert rec.record_published("discovery_n", 84.25, digits=1) == "84.2"
    assert rec.record_published("discovery_os_rate", 71.43, unit="%") == "71.4 %"
    assert rec.record_published("discovery_os_rate", 0.0004, p=0.0004, text="p < 0.001") == "p < 0.001"
    row = rec.table().set_index("key").loc["discovery_os_rate"]
    assert row["p"] == 0.0004 and row["text"] == "p < 0.001"


def test_record_published_equals_record_with_the_published_digits(tmp_path, published_dir):
    a = Recorder("atebev_il6", "a", results_dir=tmp_path, glue=False)
    b = Recorder("atebev_il6", "b", results_dir=tmp_path, glue=False)
    a.record_published("discovery_hr_three", 2.93149, 1.2, 6.1, 0.01, n=40)
    b.record("discovery_hr_three", 2.93149, 1.2, 6.1, 0.01, n=40, digits=3)
    same = ["chapter", "computed_by"]  # both name the chapter
    assert a.table().drop(columns=same).equals(b.table().drop(columns=same))


def test_published_file_is_read_once_and_only_when_needed(tmp_path, published_dir, monkeypatch):
    calls = []
    real_load = published.load
    monkeypatch.setattr(published, "load", lambda *a, **k: calls.append(a) or real_load(*a, **k))
    rec = Recorder("atebev_il6", "atebev_test", results_dir=tmp_path, glue=False)
    rec.record("discovery_n", 84, digits=0)
    assert calls == []                                          # lazily: not for record()
    for _ in range(3):
        rec.record_published("discovery_n", 84)
    rec.record_published("discovery_pfs_hr_il6_high", 2.93)
    assert calls == [("atebev_il6",)]


def test_record_published_without_a_published_file(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "PUBLISHED", tmp_path / "nowhere")
    rec = Recorder("pbis", "pbis_test", results_dir=tmp_path, glue=False)
    assert rec.record_published("anything", 1.23456) == "1.23"
    everything = Recorder("all", "synthetic_test", results_dir=tmp_path, glue=False)
    assert everything.record_published("anything", 3.14159) == "3.14"


def test_record_published_matches_the_chapters_former_copy_on_the_shipped_file(tmp_path):
    """The atebev chapters' own ``record_published``: digits = int(pub.loc[key, 'digits'])."""
    pub = published.load("atebev_il6").set_index("id")
    rec = Recorder("atebev_il6", "atebev_test", results_dir=tmp_path, glue=False)
    for key in pub.index[pub["digits"].notna()]:
        expected = rec.record(key, 12.345678, digits=int(pub.loc[key, "digits"]))
        assert rec.record_published(key, 12.345678) == expected, key


def test_fill_glues_the_placeholder_under_every_key(tmp_path, glued):
    rec = Recorder("soramic", "soramic_test", results_dir=tmp_path)
    assert rec.fill(["a_sentence", "b_sentence"]) is None     # nothing shown when a cell ends on it
    assert glued == [("a_sentence", "not available for this cohort"),
                     ("b_sentence", "not available for this cohort")]
    rec.fill(["c"], "not computed (no BCLC stage in this cohort)")
    rec.fill("d")                                               # one key given as a string
    rec.fill([])
    assert glued[2:] == [("c", "not computed (no BCLC stage in this cohort)"),
                         ("d", "not available for this cohort")]
    assert rec.table().empty                                    # prose only: no results rows
    assert pd.read_csv(tmp_path / "soramic_test.csv").empty


def test_fill_and_text_glue_nothing_when_glue_is_off(tmp_path, glued):
    rec = Recorder("soramic", "soramic_test", results_dir=tmp_path, glue=False)
    rec.fill(["a"])
    assert rec.text("b", "words") == "words"
    assert glued == []


def test_results_file_holds_exactly_the_recorded_rows_after_appends_and_rerecords(tmp_path):
    """The file is appended to line by line and rewritten only when a key is re-recorded;
    either way it must equal the recorder's table (last value per key wins)."""
    import pandas as pd

    from helpers.results import Recorder

    rec = Recorder("soramic", "appends", results_dir=tmp_path, glue=False)
    for i in range(5):
        rec.record(f"k{i}", float(i), p=0.5, n=i)
    rec.record("k2", 20.0, 19.0, 21.0, p=0.01, n=7)
    rec.record("k5", 5.0)
    on_disk = pd.read_csv(rec.path)
    assert on_disk["key"].tolist() == ["k0", "k1", "k3", "k4", "k2", "k5"]
    assert on_disk.set_index("key").loc["k2", "estimate"] == 20.0
    assert on_disk.set_index("key").loc["k2", "n"] == 7
    assert len(on_disk) == len(rec.table())


@pytest.fixture
def emitted(monkeypatch):
    """The recorder's hidden outputs, as a kernel would put them into the notebook."""
    import IPython.display

    outputs = []
    monkeypatch.setattr(results, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda data, raw, metadata: outputs.append(
        {"output_type": "display_data", "data": data, "metadata": metadata}))
    return outputs


def test_results_travel_with_the_notebook_byte_for_byte(tmp_path, emitted):
    """The hidden outputs replay to exactly the file the execution wrote (appends, a
    re-recorded key, NaN, inf, None, a second recorder of the same chapter that wins)."""
    import nbformat

    first = Recorder("soramic", "replay", results_dir=tmp_path / "run", glue=False)
    first.record("gone", 1.0)
    rec = Recorder("soramic", "replay", results_dir=tmp_path / "run", glue=False)
    for i in range(4):
        rec.record(f"k{i}", i / 3, p=0.5, n=i)
    rec.record("k1", float("nan"), None, float("inf"), n=None, text="odd, \"quoted\"\nline")
    rec.record("k4", 4.0, computed_by="helpers.studies.soramic.reproduce[survival]")
    other = Recorder("soramic", "other_chapter", results_dir=tmp_path / "run", glue=False)
    assert all(o["metadata"]["scrapbook"]["mime_prefix"] == results.GLUE_PREFIX for o in emitted)
    names = [o["metadata"]["scrapbook"]["name"] for o in emitted]
    assert len(set(names)) == len(names)  # no glue key is glued twice on a page

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("...")
    cell.outputs = [nbformat.from_dict(o) for o in emitted]
    nb.cells = [cell]
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # as stored in the cache
    written = results.write_results_from_notebook(nb, tmp_path / "restored")
    assert sorted(p.name for p in written) == ["other_chapter.csv", "replay.csv"]
    for name in ("replay.csv", "other_chapter.csv"):
        assert (tmp_path / "restored" / name).read_bytes() == (tmp_path / "run" / name).read_bytes()
    assert pd.read_csv(tmp_path / "restored" / "replay.csv")["key"].tolist() == ["k0", "k2", "k3", "k1", "k4"]
    assert other.table().empty


def test_no_hidden_output_outside_a_kernel(tmp_path, monkeypatch):
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: pytest.fail("displayed"))
    Recorder("soramic", "quiet", results_dir=tmp_path, glue=False).record("k", 1.0)
def test_record_table_writes_beside_the_results_file_and_outside_read_results(tmp_path):
    import pandas as pd

    from helpers.results import Recorder, read_results

    rec = Recorder("all", "toy_chapter", results_dir=tmp_path, glue=False)
    rec.record("toy_key", 1.5)
    table = pd.DataFrame({"study": ["a", "b"], "hr": [1.2, 2.4]})
    path = rec.record_table("inputs", table)
    assert path == tmp_path / "tables" / "toy_chapter__inputs.csv"
    pd.testing.assert_frame_equal(pd.read_csv(path), table)
    assert list(read_results(tmp_path)["key"]) == ["toy_key"]
    with pytest.raises(ValueError, match="snake_case"):
        rec.record_table("bad name!", table)
