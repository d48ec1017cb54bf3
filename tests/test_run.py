"""The re-run command: refusals (nothing written), a toy end-to-end run, and a real run per
study whose schema, re-run cohort and chapters exist. The toy and real runs execute notebooks
(papermill; marked ``notebook``); the real runs are the session fixtures ``rerun_<study>``
(``tests/conftest.py``), shared with the study's own tests, so each executes once."""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from helpers import contract as ct
from helpers import paths, preflight, run
from helpers.__main__ import check_offline
from helpers.__main__ import main as cli

from test_contract import GOOD, TOY


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _toy_notebook(folder: Path, name="toy_chapter", fail_above=5) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("cohort_file = None\nresults_dir = None\nthreshold = 1.0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A toy chapter"),
        params,
        nbformat.v4.new_code_cell(
            "import pandas as pd\nimport matplotlib.pyplot as plt\n"
            "from helpers.results import Recorder\n"
            "df = pd.read_csv(cohort_file)\n"
            "rec = Recorder('pbis', 'toy_chapter', results_dir=results_dir, glue=False)\n"
            "rec.record('derivation_count_patients', len(df), digits=0)\n"
            "print(type(threshold).__name__, threshold)\n"
            "fig, ax = plt.subplots(); ax.plot([1, 2]); plt.show()\n"
            "from myst_nb import glue\nglue('toy_n', f'{len(df)}', display=False)"
        ),
        nbformat.v4.new_markdown_cell("The toy cohort has {glue:text}`toy_n` patients "
                                      "(see {ref}`ch-data-dictionary`)."),
        nbformat.v4.new_code_cell(f"assert threshold < {fail_above}, 'threshold too large'"),
    ]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


def _toy_report(study, cohort, params, chapters=None, dry_run=None):
    import pandas as pd

    return pd.DataFrame({"chapter": [c.stem for c in chapters], "section": "", "runs": True, "reason": ""})


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A toy study setup: pbis's name, the toy contract, one toy chapter."""
    chapter = _toy_notebook(tmp_path)
    monkeypatch.setattr(paths, "study_chapters", lambda study: [chapter])
    monkeypatch.setattr(ct, "contract_for", lambda study, dataset="cohort": TOY)
    monkeypatch.setattr(preflight, "section_report", _toy_report)  # the toy chapter has no sections
    monkeypatch.setattr(preflight, "MIN_PATIENTS", 1)  # the toy cohort has 4 rows
    cohort = tmp_path / "input" / "cohort.csv"
    cohort.parent.mkdir()
    cohort.write_text(GOOD)
    return cohort


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("text, value", [("3", 3), ("-2", -2), ("0.5", 0.5), ("1e-3", 0.001),
                                         ("True", True), ("False", False), ("None", None),
                                         ("os", "os"), ("true", "true"), ("", "")])
def test_parse_value_like_papermill(text, value):
    got = run.parse_value(text)
    assert got == value and type(got) is type(value)


# --------------------------------------------------------------------------- refusals
def test_refuses_existing_out_without_force(toy, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and "already exists: pass --force" in err and "Traceback" not in err
    # --force replaces only a folder an earlier run made
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(out), "--force"])
    assert rc == 1 and "was not made by a run" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_refuses_out_inside_data(toy, capsys):
    out = paths.DATA / "private" / "run_test_must_not_exist"
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(out)])
    assert rc == 1 and "never writes into data/" in capsys.readouterr().err
    assert not out.exists()


def test_refuses_out_containing_the_cohort(toy, capsys):
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(toy.parent), "--force"])
    assert rc == 1 and "contains the cohort file" in capsys.readouterr().err
    assert toy.read_text() == GOOD


def test_invalid_cohort_prints_report_runs_nothing(toy, tmp_path, capsys):
    toy.write_text(GOOD.replace("P02,20.5,0", "P02,abc,0"))
    before = _sha(toy)
    out = tmp_path / "out"
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "does not meet the contract" in err and "'abc'" in err and "line 3 (P02)" in err
    assert "Nothing was run." in err and "Traceback" not in err
    assert not out.exists()
    assert _sha(toy) == before


def test_missing_cohort_is_a_message(toy, tmp_path, capsys):
    rc = cli(["run", "pbis", "--cohort", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert rc == 1 and "not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unknown_and_reserved_parameters(toy, tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(out), "-p", "treshold", "2"])
    assert rc == 1 and "-p treshold: no pbis chapter has this parameter; parameters: threshold" \
        in capsys.readouterr().err
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(out), "-p", "results_dir", "x"])
    assert rc == 1 and "set by the run itself" in capsys.readouterr().err
    assert not out.exists()


def test_cohort_inside_data_private_is_accepted(toy, tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "private").mkdir(parents=True)
    cohort = data / "private" / "real.csv"
    shutil.copy(toy, cohort)
    monkeypatch.setattr(paths, "DATA", data)
    assert run.check_out(tmp_path / "out", cohort.resolve(), force=False) == (tmp_path / "out").resolve()
    with pytest.raises(run.RunError, match="never writes into data/"):
        run.check_out(data / "private" / "out", cohort.resolve(), force=False)


# --------------------------------------------------------------------------- toy runs
@pytest.mark.notebook
def test_toy_run_end_to_end(toy, tmp_path, capsys):
    out = tmp_path / "out"
    before = _sha(toy)
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(out), "-p", "threshold", "3"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "scorecard:" in captured.out and "comparison.csv" in captured.out
    assert _sha(toy) == before
    executed = nbformat.read(str(out / "toy_chapter.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "int 3" in text  # -p values typed as papermill's CLI does
    assert any("image/png" in o.get("data", {}) for c in executed.cells if c.cell_type == "code"
               for o in c.outputs), "the executed chapter holds no figure"
    html = out / "html" / "chapters" / "toy_chapter.html"  # the run's book (helpers/runbook.py)
    assert html.exists() and "<img" in html.read_text()
    text = re.sub(r"<[^>]+>", "", html.read_text())
    assert "The toy cohort has 4 patients" in text  # glued numbers in the prose
    assert "In&nbsp;[" not in text and "{glue" not in text and "{ref}" not in text
    assert check_offline(out / "html") == []
    index = (out / "html" / "intro.html").read_text()
    assert "chapters/toy_chapter.html" in index and "scorecard:" in index
    assert cli(["check-offline", str(out / "html")]) == 0
    comparison = (out / "comparison.csv").read_text()
    assert "derivation_count_patients" in comparison
    meta = json.loads((out / "run.json").read_text())
    assert meta["cohort_sha256"] == before and meta["parameters"] == {"threshold": 3}
    # the same folder again: refused without --force, replaced with it
    assert cli(["run", "pbis", "--cohort", str(toy), "--out", str(out)]) == 1
    assert cli(["run", "pbis", "--cohort", str(toy), "--out", str(out), "--force"]) == 0
    assert _sha(toy) == before


@pytest.mark.notebook
def test_failing_chapter_names_chapter_notebook_and_error(toy, tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(out), "-p", "threshold", "9"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "chapter toy_chapter failed: AssertionError: threshold too large" in err
    failed = out.resolve().parent / "out.failed"
    assert f"nothing was written at {out.resolve()}; partial output kept in {failed}" in err
    assert "Traceback" not in err
    assert not out.exists()  # a failed run never leaves a folder that looks finished
    assert (failed / "toy_chapter.ipynb").exists() and not (failed / run.MARKER).exists()
    assert "did not finish" in (failed / "FAILED.txt").read_text()
    assert not list(out.resolve().parent.glob(".out.partial-*"))


@pytest.mark.slow
def test_failed_rerun_with_force_keeps_the_earlier_run(toy, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(["run", "pbis", "--cohort", str(toy), "--out", str(out)]) == 0
    before = (out / "run.json").read_text()
    assert cli(["run", "pbis", "--cohort", str(toy), "--out", str(out), "--force", "-p", "threshold", "9"]) == 1
    assert (out / "run.json").read_text() == before and (out / run.MARKER).exists()


def test_refuses_out_inside_the_repository(toy, capsys):
    rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(paths.CHAPTERS / "my_run")])
    assert rc == 1 and "inside the repository's tracked files" in capsys.readouterr().err
    assert not (paths.CHAPTERS / "my_run").exists()
    assert run.check_out(paths.ROOT / "runs" / "x", toy.resolve(), force=False) == (paths.ROOT / "runs" / "x").resolve()


def test_unwritable_parent_is_one_line(toy, tmp_path, capsys):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        if os.access(parent, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root): chmod does not bind")
        rc = cli(["run", "pbis", "--cohort", str(toy), "--out", str(parent / "out")])
        err = capsys.readouterr().err
        assert rc == 1 and "Permission denied" in err and "Traceback" not in err
    finally:
        parent.chmod(0o700)


_DRIVER = """
import sys, time
from pathlib import Path
from helpers import contract as ct, paths
from helpers.__main__ import main
sys.path.insert(0, {tests!r})
from test_contract import TOY
chapter = Path({chapter!r})
paths.study_chapters = lambda study: [chapter]
ct.contract_for = lambda study, dataset="cohort": TOY
from helpers import preflight
import pandas as pd
preflight.MIN_PATIENTS = 1
preflight.section_report = lambda study, cohort, params, chapters=None, dry_run=None: pd.DataFrame(
    {{"chapter": [c.stem for c in chapters], "section": "", "runs": True, "reason": ""}})
sys.exit(main(["run", "pbis", "--cohort", {cohort!r}, "--out", {out!r}]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_killed_run_never_looks_finished(toy, tmp_path, sig):
    """A run killed while a chapter executes: nothing at --out (SIGINT/SIGTERM: one line,
    exit 130, partial output in out.failed; SIGKILL: only a hidden staging folder)."""
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "slow_nb").mkdir()
    slow = _toy_notebook(tmp_path / "slow_nb", name="toy_chapter")
    nb = nbformat.read(str(slow), as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("import time\nopen(results_dir + '/../started', 'w').close()\ntime.sleep(60)"))
    nbformat.write(nb, str(slow))
    out = tmp_path / "out"
    script = _DRIVER.format(tests=str(paths.TESTS), chapter=str(slow), cohort=str(toy), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.time() + 120
    while not list(tmp_path.glob(".out.partial-*/started")) and time.time() < deadline:
        time.sleep(0.2)
    assert list(tmp_path.glob(".out.partial-*/started")), "the chapter never started"
    if sig == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    else:
        proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=120)
    assert not out.exists()
    if sig == "SIGKILL":  # only the hidden staging folder is left (the kernel exits with its parent)
        assert list(tmp_path.glob(".out.partial-*")) and not (tmp_path / "out.failed").exists()
    if sig != "SIGKILL":
        assert proc.returncode == 130, err
        assert "interrupted: nothing was written at" in err and "Traceback" not in err
        assert not (tmp_path / "out.failed" / run.MARKER).exists()


# --------------------------------------------------------------------------- real studies
def _ready(study: str) -> str | None:
    try:
        importlib.import_module(f"helpers.schemas.{study}")
    except ModuleNotFoundError:
        return f"helpers/schemas/{study}.py not written yet"
    if not paths.synthetic_cohort(study).exists():
        return f"{paths.synthetic_cohort(study).name} not generated yet"
    chapters = paths.study_chapters(study)
    if not chapters or not all(c.exists() for c in chapters):
        return f"{study} chapters missing"
    import papermill

    if not all("cohort_file" in papermill.inspect_notebook(str(c)) for c in chapters):
        return f"{study}: not every chapter has a cohort_file parameter yet"
    return None


@pytest.mark.notebook
@pytest.mark.chapters
@pytest.mark.parametrize("study", [pytest.param(s, marks=pytest.mark.xdist_group(f"rerun-{s}"))
                                   for s in paths.STUDIES])
def test_real_run_on_the_rerun_cohort(study, request):
    """``python -m helpers run`` end to end on a real study (the shared run of its re-run
    cohort): the cohort untouched, every chapter executed and exported, the comparison written."""
    reason = _ready(study)
    if reason:
        pytest.skip(reason)
    shared = request.getfixturevalue(f"rerun_{study}")
    assert shared.returncode == 0, shared.output
    assert shared.cohort_sha_after == shared.cohort_sha_before
    out = shared.out
    for chapter in paths.study_chapters(study):
        assert (out / chapter.name).exists()
        assert (out / "html" / "chapters" / f"{chapter.stem}.html").exists()
    assert (out / "comparison.csv").exists()
    meta = json.loads((out / "run.json").read_text())
    assert meta["cohort_sha256"] == shared.cohort_sha_before and meta["study"] == study
    assert check_offline(out / "html") == []
    assert (out / "book_warnings.txt").read_text() == ""  # no broken reference, nothing else


_DRIVER_MANY = """
import sys
from pathlib import Path
from helpers import contract as ct, paths, preflight
from helpers.__main__ import main
import pandas as pd
sys.path.insert(0, {tests!r})
from test_contract import TOY
preflight.MIN_PATIENTS = 1
chapters = [Path(p) for p in {chapters!r}]
paths.study_chapters = lambda study: chapters
ct.contract_for = lambda study, dataset="cohort": TOY
preflight.section_report = lambda study, cohort, params, chapters=None, dry_run=None: pd.DataFrame(
    {{"chapter": [c.stem for c in chapters], "section": "", "runs": True, "reason": ""}})
sys.exit(main(["run", "pbis", "--cohort", {cohort!r}, "--out", {out!r}]))
"""


def _looks_finished(folder) -> bool:
    return folder.exists() and (folder / run.MARKER).exists()


@pytest.mark.notebook
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_killed_at_a_random_moment_never_leaves_a_finished_looking_folder(toy, tmp_path, sig):
    """Kill a three-chapter run at random moments (seeded; from before the first chapter to
    after the rename): ``--out`` is either absent or a complete run (marker, run.json, every
    chapter, its HTML, the comparison); anything else left is ``out.failed`` (FAILED.txt, no
    marker) or a hidden staging folder."""
    import random
    import signal
    import subprocess
    import sys
    import time

    rng = random.Random(f"kill-{sig}")
    chapters = []
    for name in ("toy_a", "toy_b", "toy_c"):
        folder = tmp_path / "nb" / name
        folder.mkdir(parents=True)
        chapters.append(_toy_notebook(folder, name=name))
    seen = set()
    for trial in range(3):
        out = tmp_path / f"out{trial}"
        script = _DRIVER_MANY.format(tests=str(paths.TESTS), chapters=[str(c) for c in chapters],
                                     cohort=str(toy), out=str(out))
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        time.sleep(rng.uniform(1.0, 25.0))
        if proc.poll() is None:
            if sig == "SIGINT":
                os.killpg(proc.pid, signal.SIGINT)
            else:
                proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err, err
        if sig == "SIGKILL":
            time.sleep(1)  # the orphaned kernel notices its parent is gone
        if out.exists():
            seen.add("finished")
            assert _looks_finished(out), f"trial {trial}: {sorted(p.name for p in out.iterdir())}"
            meta = json.loads((out / "run.json").read_text())
            assert meta["chapters"] == ["toy_a", "toy_b", "toy_c"]
            for c in meta["chapters"]:
                assert (out / f"{c}.ipynb").exists() and (out / "html" / "chapters" / f"{c}.html").exists()
            assert (out / "comparison.csv").exists() and (out / "html" / "intro.html").exists()
        else:
            seen.add("absent")
        failed = tmp_path / f"out{trial}.failed"
        if failed.exists():
            assert (failed / "FAILED.txt").exists() and not (failed / run.MARKER).exists()
        for left in tmp_path.glob(f"*out{trial}*"):
            assert left.name in (f"out{trial}", f"out{trial}.failed") or left.name.startswith(f".out{trial}.partial-"), left
            if left.name.startswith("."):
                assert not (left / run.MARKER).exists()
    assert "absent" in seen, "no trial interrupted the run: the moments are too late"


def test_a_kernel_that_lost_the_port_race_is_started_again():
    """Only a kernel that died before replying (a port taken between jupyter_client's choice
    and the kernel's bind) is started again, at most three times in all; other errors at once."""
    from helpers.execute import KERNEL_START_FAILURE, retry_kernel_start

    calls = []

    def flaky(fails):
        def run():
            calls.append(1)
            if len(calls) <= fails:
                raise RuntimeError(KERNEL_START_FAILURE)
            return "done"
        return run

    assert retry_kernel_start(flaky(2)) == "done" and len(calls) == 3
    calls.clear()
    with pytest.raises(RuntimeError, match="kernel_info"):
        retry_kernel_start(flaky(3))
    assert len(calls) == 3
    calls.clear()

    def broken():
        calls.append(1)
        raise RuntimeError("a chapter's own error")

    with pytest.raises(RuntimeError, match="own error"):
        retry_kernel_start(broken)
    assert len(calls) == 1
