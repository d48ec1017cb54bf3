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


# --------------------------------------------------------------------------- cache keys per import
def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        f = root / "helpers" / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return root / "helpers"


def test_closure_follows_imports_relative_lazy_and_computed(tmp_path, monkeypatch):
    helpers = _package(tmp_path, {
        "__init__.py": '"""a package that imports nothing"""',
        "a.py": "from . import b\nfrom .b import thing\n\ndef f():\n    from .sub import c\n",
        "b.py": "thing = 1\n",
        "sub/__init__.py": ("import importlib\n\ndef module(study):\n"
                            "    return importlib.import_module(f'{__name__}.{study}')\n"),
        "sub/c.py": "from .. import b\n",
        "sub/pbis.py": "", "sub/soramic.py": "", "unused.py": "",
    })
    monkeypatch.setattr(paths, "HELPERS", helpers)

    def names(files):
        return sorted(f.relative_to(helpers).as_posix() for f in files)

    cell = "%matplotlib inline\nimport pandas as pd\nfrom helpers import a\n"
    base = ["__init__.py", "a.py", "b.py", "sub/__init__.py", "sub/c.py"]
    assert names(book_ext.helpers_closure([cell], ("pbis",))) == sorted(base + ["sub/pbis.py"])
    assert names(book_ext.helpers_closure([cell], ())) == sorted(base + ["sub/pbis.py", "sub/soramic.py"])
    assert names(book_ext.helpers_closure(["from helpers.b import thing"])) == ["__init__.py", "b.py"]
    assert names(book_ext.helpers_closure(["import helpers.sub.c as c"], ("soramic",))) == [
        "__init__.py", "b.py", "sub/__init__.py", "sub/c.py", "sub/soramic.py"]
    # code that does not parse: every module (the safe answer)
    assert "unused.py" in names(book_ext.helpers_closure(["from helpers import (a"]))


def test_studies_used_by_a_page():
    assert book_ext.studies_used(["study = 'pbis'"], "pbis") == ("pbis",)
    assert book_ext.studies_used(["x = 'soramic'"], "pbis") == ("pbis", "soramic")
    assert book_ext.studies_used(["for s in paths.STUDIES: pass"], "pbis") == paths.STUDIES
    assert book_ext.studies_used([""], "all") == paths.STUDIES


def _inputs(nb_path: Path) -> set[str]:
    files = book_ext.notebook_inputs(json.loads(nb_path.read_text()))
    return {f.relative_to(paths.ROOT).as_posix() for f in files}


def test_a_study_module_is_an_input_of_its_chapters_only():
    """Editing helpers/studies/pbis.py re-executes the pages that import it, not the book."""
    for nb in NOTEBOOKS:
        inputs = _inputs(nb)
        if nb.stem.startswith("pbis_"):
            assert "helpers/studies/pbis.py" in inputs, nb.name
            assert set(map(str, paths.study_inputs("pbis"))) and all(
                f.relative_to(paths.ROOT).as_posix() in inputs for f in paths.study_inputs("pbis"))
        if nb.stem.startswith(("atebev_", "soramic_")):  # summary_scorecard: claims use every study
            assert "helpers/studies/pbis.py" not in inputs, nb.name
        if nb.stem.startswith(("atebev_", "pbis_")):
            assert "helpers/studies/soramic.py" not in inputs, nb.name


def test_a_helper_is_an_input_only_of_pages_that_import_it():
    importing = {nb.stem for nb in NOTEBOOKS if "helpers/tables.py" in _inputs(nb)}
    assert importing and len(importing) < len(NOTEBOOKS)
    assert not any(s.startswith("soramic_") for s in importing)


def test_scorecard_page_depends_on_the_results_files(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "RESULTS", tmp_path)
    (tmp_path / "x.csv").write_text("study,key\n")
    assert "x.csv" in {f.name for f in book_ext.notebook_inputs(
        json.loads((paths.CHAPTERS / "summary_scorecard.ipynb").read_text()))}


# --------------------------------------------------------------------------- no stale numbers
def _toy_book(root: Path, data: Path) -> None:
    import nbformat

    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    chapter = nbformat.v4.new_notebook(metadata={"kernelspec": kernel, "hcc_book": {"study": "pbis"}})
    chapter.cells = [nbformat.v4.new_code_cell(
        "import pandas as pd\nfrom helpers.results import Recorder\n"
        f"total = pd.read_csv({str(data)!r})['value'].sum()\n"
        "Recorder('pbis', 'pbis_toy', glue=False).record('toy_total', total, digits=0)")]
    summary = nbformat.v4.new_notebook(metadata={"kernelspec": kernel, "hcc_book": {"study": "all"}})
    summary.cells = [nbformat.v4.new_code_cell(
        "from helpers.results import read_results\n"
        "print('TOTAL', read_results().set_index('key').loc['toy_total', 'estimate'])")]
    (root / "chapters").mkdir(parents=True)
    nbformat.write(chapter, str(root / "chapters" / "pbis_toy.ipynb"))
    nbformat.write(summary, str(root / "chapters" / "summary_toy.ipynb"))
    (root / "_toc.yml").write_text("format: jb-book\nroot: chapters/intro\nparts:\n  - chapters:\n"
                                   "      - file: chapters/pbis_toy\n      - file: chapters/summary_toy\n")


def _cached_output(cache_path: Path, nb_path: Path) -> str:
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    text, _ = book_ext.inject_fingerprint(nb_path.read_text())
    record = cache.match_cache_notebook(nbformat.reads(text, as_version=4))
    nb = cache.get_cache_bundle(record.pk).nb
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.notebook
def test_change_revert_rebuild_leaves_the_scorecard_as_a_clean_build(tmp_path, monkeypatch, capsys):
    """Change a value of a study's data, build, revert, build: the results files and the
    aggregate page equal the clean build's (before the fix the aggregate page ran on the
    results file of the changed data: the chapter came from the cache, its file did not)."""
    from types import SimpleNamespace

    from helpers import execute

    root, cache, results = tmp_path / "book", tmp_path / "cache", tmp_path / "results"
    synthetic = tmp_path / "data" / "synthetic"
    synthetic.mkdir(parents=True)
    data = synthetic / "pbis_cohort.csv"
    clean = "id,value\nP1,1\nP2,2\n"
    data.write_text(clean)
    _toy_book(root, data)
    for name, value in (("SYNTHETIC", synthetic), ("PUBLISHED", tmp_path / "data" / "published"),
                        ("RESULTS", results)):
        monkeypatch.setattr(paths, name, value)
    monkeypatch.setenv("HCC_BOOK_RESULTS", str(results))
    summary = root / "chapters" / "summary_toy.ipynb"
    results_file = results / "pbis_toy.csv"

    assert execute.execute_book(jobs=1, root=root, cache_path=cache) == 0
    first, first_results = _cached_output(cache, summary), results_file.read_bytes()
    assert "TOTAL 3.0" in first

    data.write_text(clean.replace("P2,2", "P2,5"))
    assert execute.execute_book(jobs=1, root=root, cache_path=cache) == 0
    assert "TOTAL 6.0" in _cached_output(cache, summary)

    data.write_text(clean)  # reverted: every page comes from the cache
    capsys.readouterr()
    assert execute.execute_book(jobs=1, root=root, cache_path=cache) == 0
    assert "executed 0 notebook(s)" in capsys.readouterr().out
    assert results_file.read_bytes() == first_results
    assert _cached_output(cache, summary) == first

    # the same restore when Sphinx (myst-nb) executes: env-before-read-docs
    results_file.write_text("stale")
    docs = {"chapters/pbis_toy": root / "chapters" / "pbis_toy.ipynb", "chapters/summary_toy": summary}
    env = SimpleNamespace(
        mystnb_config=SimpleNamespace(execution_mode="cache", execution_cache_path=str(cache)),
        found_docs=set(docs), doc2path=lambda d: str(docs[d]))
    book_ext._restore_cached_results(None, env, list(docs))
    assert results_file.read_bytes() == first_results
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


def test_make_book_after_the_tests_executes_nothing(executed_book, capsys):
    """The tests' executed book is the book's own execution cache: every chapter it executed
    (or found) is cached, so ``python -m helpers execute`` (``make book``) executes none."""
    from helpers import execute

    assert not any(executed_book.errors.values()), executed_book.errors
    assert set(executed_book.errors) == {p.name for p in execute.toc_notebooks()}
    capsys.readouterr()
    assert execute.execute_book(jobs=1) == 0
    out = capsys.readouterr().out
    assert "executed 0 notebook(s) with 1 job(s)" in out, out
    assert f"{len(executed_book.errors)} already cached" in out, out


@pytest.mark.parametrize("study", paths.STUDIES)
def test_study_chapters_show_no_bare_code(study):
    """A study page reads like a supplement: every code cell is tagged (hidden behind "Show
    code cell source", or removed), except the parameters cell and the closing book.versions()."""
    for nb_path in paths.study_chapters(study):
        cells = json.loads(nb_path.read_text())["cells"]
        bare = [c.get("id", i) for i, c in enumerate(cells) if c["cell_type"] == "code"
                and not c.get("metadata", {}).get("tags") and "book.versions()" not in "".join(c["source"])]
        assert not bare, f"{nb_path.name}: code cells shown bare: {bare}"
