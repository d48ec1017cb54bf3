"""Execute every chapter notebook, as the book build does, on the shipped data.

Each chapter runs with papermill in its own folder's working directory, with its results
file written to a temporary folder (never into the repository). A cell error fails the test
with the chapter's name and the failing cell's error.
"""
import json

import pytest

from helpers import paths

NOTEBOOKS = sorted(paths.CHAPTERS.glob("*.ipynb"))
# The scorecard collects the other chapters' results: run it last, on their results folder.
NOTEBOOKS.sort(key=lambda p: json.loads(p.read_text())["metadata"].get("hcc_book", {})
               .get("study") == "all")


def _has_parameter(nb_path, name):
    nb = json.loads(nb_path.read_text())
    return any("parameters" in c.get("metadata", {}).get("tags", []) and name in "".join(c["source"])
               for c in nb["cells"])


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


@pytest.mark.chapters
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_executes(nb_path, results_dir, tmp_path, monkeypatch):
    import papermill as pm

    # As in a book build: figures drawn inline by the kernel.
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    params = {"results_dir": str(results_dir)} if _has_parameter(nb_path, "results_dir") else {}
    try:
        pm.execute_notebook(str(nb_path), str(tmp_path / nb_path.name), parameters=params,
                            cwd=str(paths.CHAPTERS), kernel_name="python3", progress_bar=False,
                            log_output=False)
    except pm.PapermillExecutionError as exc:
        pytest.fail(f"{nb_path.name}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue}",
                    pytrace=False)
