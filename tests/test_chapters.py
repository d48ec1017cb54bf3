"""Every chapter notebook executes, as the book build does, on the shipped data.

The chapters are executed once per test run by the session fixture ``executed_book``
(``tests/conftest.py``): in the chapters' working directory, two at a time, the scorecard
last on the chapters' results, which go to a temporary folder (never into the repository).
A cell error fails the chapter's test with its name and the error's last line.
"""
import pytest

from helpers import paths, results

NOTEBOOKS = sorted(paths.CHAPTERS.glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.chapters
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_executes(nb_path, executed_book):
    assert nb_path.name in executed_book.errors, f"{nb_path.name} was not executed"
    error = executed_book.errors[nb_path.name]
    if error:
        pytest.fail(f"{nb_path.name}: {error}", pytrace=False)


@pytest.mark.notebook
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_results_file_equals_the_results_the_notebook_carries(nb_path, executed_book, tmp_path):
    """The results a chapter wrote while executing can be rebuilt, byte for byte, from its
    executed notebook (what the book build does for a chapter taken from the cache)."""
    nb = executed_book.notebook(nb_path.name)
    written = results.write_results_from_notebook(nb, tmp_path)
    if (executed_book.results / f"{nb_path.stem}.csv").exists():
        assert tmp_path / f"{nb_path.stem}.csv" in written, "the notebook carries no results"
    for written in written:
        assert written.read_bytes() == (executed_book.results / written.name).read_bytes(), written.name


@pytest.mark.notebook
def test_the_hidden_results_outputs_are_never_shown(executed_book):
    """The results outputs are glue outputs with ``display=False``: myst-nb strips them before
    rendering (no output box); only they carry the results mime type."""
    for name in executed_book.errors:
        nb = executed_book.notebook(name)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                keys = list(out.get("data", {}))
                if any(results.RESULTS_MIME in k for k in keys):
                    assert keys == [results.GLUE_PREFIX + results.RESULTS_MIME], (name, keys)
                    assert out["metadata"]["scrapbook"]["mime_prefix"] == results.GLUE_PREFIX
