"""The book's structure and build plumbing: table of contents, notebooks, cache keys, offline."""
import json
from pathlib import Path

import pytest
import yaml

from helpers import book_ext, paths
from helpers.__main__ import check_offline

TOC = yaml.safe_load((paths.ROOT / "_toc.yml").read_text())
TOC_FILES = [TOC["root"]] + [c["file"] for p in TOC["parts"] for c in p["chapters"]]
NOTEBOOKS = sorted(paths.CHAPTERS.glob("*.ipynb"))


def _source(f: str) -> Path:
    for ext in (".ipynb", ".md"):
        if (paths.ROOT / f"{f}{ext}").exists():
            return paths.ROOT / f"{f}{ext}"
    raise AssertionError(f"{f} in _toc.yml has no .ipynb or .md file")


def test_every_toc_entry_exists_and_every_chapter_is_in_the_toc():
    sources = {_source(f) for f in TOC_FILES}
    on_disk = set(paths.CHAPTERS.glob("*.ipynb")) | set(paths.CHAPTERS.glob("*.md"))
    assert on_disk == sources, f"not in _toc.yml: {sorted(on_disk - sources)}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_without_outputs(nb):
    cells = json.loads(nb.read_text())["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{nb.name}: cells {dirty} have stored outputs"


@pytest.mark.parametrize("study", paths.STUDIES)
def test_study_chapters_have_parameters_and_study_metadata(study):
    chapters = paths.study_chapters(study)
    assert chapters, study
    for nb_path in chapters:
        nb = json.loads(nb_path.read_text())
        assert nb["metadata"].get("hcc_book", {}).get("study") == study, nb_path.name
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{nb_path.name}: needs exactly one 'parameters' cell"
        assert "cohort_file" in "".join(tagged[0]["source"]), nb_path.name
        assert "results_dir" in "".join(tagged[0]["source"]), nb_path.name


def test_aggregate_pages_are_read_after_every_study_chapter():
    """Sphinx reads pages in sorted order; the scorecard must come after the chapters whose
    results it collects (see helpers/book_ext.py)."""
    docnames = sorted(TOC_FILES)
    aggregate = []
    for f in TOC_FILES:
        src = _source(f)
        if src.suffix == ".ipynb" and json.loads(src.read_text())["metadata"].get(
                "hcc_book", {}).get("study") == "all":
            aggregate.append(f)
    assert aggregate, "the scorecard page should declare study 'all'"
    study_pages = [f for s in paths.STUDIES for f in TOC_FILES
                   if Path(f).name.startswith(paths.CHAPTER_PREFIX[s])]
    for page in aggregate:
        assert all(docnames.index(page) > docnames.index(s) for s in study_pages), page


def test_fingerprint_changes_with_data_and_not_otherwise(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x\n1\n")
    b.write_text("y\n2\n")
    first = book_ext.fingerprint([a, b])
    assert book_ext.fingerprint([a, b]) == first
    a.write_text("x\n2\n")
    assert book_ext.fingerprint([a, b]) != first


def test_fingerprint_cell_is_prepended_once_and_keyed_on_study_inputs():
    nb = json.loads(paths.study_chapters("soramic")[0].read_text())
    once, files = book_ext.inject_fingerprint(json.dumps(nb))
    twice, _ = book_ext.inject_fingerprint(once)
    cells = json.loads(twice)["cells"]
    assert cells[0]["source"].startswith(book_ext.FINGERPRINT_PREFIX)
    assert sum(c.get("id") == "hcc-book-inputs" for c in cells) == 1
    assert any(f.suffix == ".py" for f in files)  # helpers' source is an input too
    assert set(paths.study_inputs("soramic")) <= set(files)


def test_notebook_without_study_metadata_is_left_alone():
    text = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    assert book_ext.inject_fingerprint(text) == (text, [])


def test_offline_check_flags_remote_scripts_and_fonts(tmp_path):
    (tmp_path / "index.html").write_text(
        '<a href="https://example.org">a link is fine</a>\n'
        '<script src="https://cdn.example.org/mathjax.js"></script>\n')
    (tmp_path / "s.css").write_text("@font-face { src: url(https://fonts.example.org/f.woff2); }")
    problems = check_offline(tmp_path)
    assert len(problems) == 2, problems
    (tmp_path / "index.html").write_text('<script src="_static/mathjax/tex-chtml.js"></script>')
    (tmp_path / "s.css").write_text("")
    assert check_offline(tmp_path) == []


def test_cross_study_chapter_fingerprint_covers_every_study_it_reads():
    """The IL-6 synthesis reads all three cohorts and published files: a change in any of them
    must re-execute it; it reads no other chapter's results and is not an aggregate page."""
    nb = json.loads((paths.CHAPTERS / "il6_synthesis.ipynb").read_text())
    assert nb["metadata"]["hcc_book"]["studies"] == list(paths.STUDIES)
    assert "study" not in nb["metadata"]["hcc_book"]
    _, files = book_ext.inject_fingerprint(json.dumps(nb))
    for study in paths.STUDIES:
        assert set(paths.study_inputs(study)) <= set(files), study
        assert paths.synthetic_cohort(study) in files and paths.published_numbers(study) in files
    assert not any(f.parent == paths.RESULTS for f in files)


def test_unknown_study_in_a_studies_list_is_a_clear_error():
    text = json.dumps({"cells": [], "metadata": {"hcc_book": {"studies": ["atebev_il6", "nope"]}},
                       "nbformat": 4, "nbformat_minor": 5})
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        book_ext.inject_fingerprint(text)
