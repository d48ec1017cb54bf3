"""Shared test settings and the executed book.

* Headless plotting and a bounded hypothesis profile.
* The ``notebook`` marker: a test that starts a Jupyter kernel (executes a chapter, a toy
  notebook or ``python -m helpers run``). ``make check`` runs everything else
  (``-m "not notebook"``); ``make test`` runs all, in parallel (pytest-xdist).
* Session fixtures that execute notebooks once per test run and are shared by every test
  that needs the result:

  ``executed_book``
      every chapter of ``_toc.yml`` executed once on the shipped data, into the book's own
      execution cache (:func:`helpers.execute.fill_cache`, what ``make book`` runs: two at a
      time, the scorecard last on the chapters' results in ``_build/results``), and copied
      from there into a temporary folder. A chapter already cached (same code, same inputs)
      is not executed again, and ``make book`` after ``make test`` executes nothing;
  ``built_book``
      the book built by Jupyter Book from that cache (``_build/html``, strict: ``-W -n``)
      and the offline check; the browser test (``tests/test_browser.py``) checks it;
  ``rerun_<study>``
      ``python -m helpers run <study>`` on ``tests/fixtures/<study>/rerun_cohort.csv``,
      once (the study's tests and ``test_run`` share it).

  Under pytest-xdist a session fixture exists once per worker, so every test using one
  carries an ``xdist_group`` mark (added here by fixture name) and ``--dist loadgroup`` sends
  the group to one worker: each chapter executes once per test run.

  pytest-xdist 3.8 marks a group by renaming the test's node id, which pytest 9 no longer
  allows (the mark is silently ignored). So the workers write each test's group to a file and
  the controller's scheduler (:func:`pytest_xdist_make_scheduler`) reads it there.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pytest

# Headless plotting in the test process only. Not via MPLBACKEND: kernels started by the
# chapter tests inherit the environment, and Agg there would drop every inline figure.
matplotlib.use("Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

from helpers import paths  # noqa: E402

settings.register_profile(
    "book", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("book")

#: Session fixtures that execute notebooks, and the xdist group of the tests that use them.
SHARED_RUNS = {"executed_book": "book", "built_book": "book", **{f"rerun_{s}": f"rerun-{s}" for s in paths.STUDIES}}


#: Folder where xdist workers write ``{node id: group}`` for the controller's scheduler.
GROUPS_ENV = "HCC_BOOK_XDIST_GROUPS"


def _loadgroup(config) -> bool:
    return config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") == "loadgroup"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "notebook: starts a Jupyter kernel (executes notebooks); "
                   "`make check` deselects these with -m 'not notebook'")
    config.addinivalue_line("markers", "chapters: executes the book's chapter notebooks")
    config.addinivalue_line(
        "markers", "slow: a unit test of more than about 5 s (null-rate simulations, calibration "
                   "searches, regeneration of the synthetic cohorts, whole re-runs); `make test` "
                   "runs them, `make check` (the fast loop) does not")
    if _loadgroup(config) and not hasattr(config, "workerinput"):  # the controller
        config._hcc_groups = tempfile.mkdtemp(prefix="hcc-book-xdist-groups-")
        os.environ[GROUPS_ENV] = config._hcc_groups  # the workers inherit it


def pytest_unconfigure(config):
    folder = getattr(config, "_hcc_groups", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(GROUPS_ENV, None)


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` with the groups the workers wrote (see the module docstring)."""
    if not _loadgroup(config):
        return None
    from xdist.scheduler import LoadGroupScheduling

    folder = config._hcc_groups

    class FileGroupScheduling(LoadGroupScheduling):
        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                self._groups = {}
                for f in sorted(Path(folder).glob("*.json")):
                    self._groups.update(json.loads(f.read_text()))
            group = self._groups.get(nodeid)
            return f"group:{group}" if group else super()._split_scope(nodeid)

    return FileGroupScheduling(config, log)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    """Tests that use a shared run: marked ``notebook`` and grouped onto one xdist worker."""
    for item in items:
        shared = [SHARED_RUNS[f] for f in getattr(item, "fixturenames", ()) if f in SHARED_RUNS]
        if shared:
            item.add_marker(pytest.mark.notebook)
            if not any(m.name == "xdist_group" for m in item.iter_markers()):
                item.add_marker(pytest.mark.xdist_group(shared[0]))
    folder = os.environ.get(GROUPS_ENV)
    if folder and hasattr(config, "workerinput"):
        groups = {}
        for item in items:
            mark = next(item.iter_markers("xdist_group"), None)
            if mark is not None:
                groups[item.nodeid] = str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        worker = config.workerinput["workerid"]
        Path(folder, f"{worker}.json").write_text(json.dumps(groups))


@dataclass
class ExecutedBook:
    """Every chapter executed once: ``folder/<name>.ipynb``, results in ``results``."""

    folder: Path
    results: Path
    errors: dict[str, str | None] = field(default_factory=dict)

    def notebook(self, name: str):
        import nbformat

        return nbformat.read(str(self.folder / name), as_version=4)


@pytest.fixture(scope="session")
def executed_book(tmp_path_factory) -> ExecutedBook:
    from helpers.execute import fill_cache

    folder = tmp_path_factory.mktemp("executed_book")
    errors = fill_cache(jobs=int(os.environ.get("HCC_BOOK_TEST_JOBS", "2")), out_dir=folder)
    return ExecutedBook(folder, paths.RESULTS, errors)


@dataclass
class BuiltBook:
    """``jupyter-book build`` of the executed book: ``html`` and what the build printed."""

    html: Path
    returncode: int
    output: str


@pytest.fixture(scope="session")
def built_book(executed_book) -> BuiltBook:
    """The book built from the execution cache, as ``make book`` builds it (strict), then
    checked offline. Executes nothing when ``executed_book`` filled the cache."""
    html = paths.BUILD / "html"
    if any(executed_book.errors.values()):
        return BuiltBook(html, 1, "chapters failed to execute: " + ", ".join(
            n for n, e in executed_book.errors.items() if e))
    bin_dir = Path(sys.executable).parent
    steps = [[str(bin_dir / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"],
             [sys.executable, "-m", "helpers", "check-offline", str(html)]]
    output = ""
    for cmd in steps:
        proc = subprocess.run(cmd, cwd=paths.ROOT, capture_output=True, text=True, timeout=1800)
        output += proc.stdout[-4000:] + proc.stderr[-4000:]
        if proc.returncode:
            return BuiltBook(html, proc.returncode, output)
    return BuiltBook(html, 0, output)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class StudyRun:
    """One ``python -m helpers run`` of a study on its re-run cohort."""

    study: str
    cohort: Path
    out: Path
    returncode: int
    output: str
    cohort_sha_before: str
    cohort_sha_after: str


def _rerun_fixture(study: str):
    """A session fixture ``rerun_<study>``: ``python -m helpers run <study>`` on the study's
    re-run cohort, once per test run (a different cohort from the book's, so it executes)."""
    @pytest.fixture(scope="session", name=f"rerun_{study}")
    def fixture(tmp_path_factory) -> StudyRun:
        cohort = paths.FIXTURES / study / "rerun_cohort.csv"
        out = tmp_path_factory.mktemp(f"rerun_{study}") / "run"
        before = _sha(cohort)
        proc = subprocess.run(
            [sys.executable, "-m", "helpers", "run", study, "--cohort", str(cohort), "--out", str(out)],
            cwd=paths.ROOT, capture_output=True, text=True, timeout=1800)
        return StudyRun(study, cohort, out, proc.returncode,
                        proc.stdout[-3000:] + proc.stderr[-3000:], before, _sha(cohort))

    return fixture


rerun_atebev_il6 = _rerun_fixture("atebev_il6")
rerun_pbis = _rerun_fixture("pbis")
rerun_soramic = _rerun_fixture("soramic")
