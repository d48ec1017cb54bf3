"""Progress inside a chapter during ``python -m helpers run`` (:class:`helpers.run.Progress`).

On a terminal the chapter bar names the running cell ("atebev_cutoff: cell 7 of 15"); in a
log (not a terminal) only plain lines, no carriage returns; ``--quiet`` prints nothing. The
last test runs a real notebook through papermill, so a papermill or nbclient that stopped
passing the cell hooks on would fail it.
"""
from __future__ import annotations

import io

import nbformat
import pytest

from helpers import paths
from helpers import run as run_mod

CHAPTER = paths.CHAPTERS / "atebev_cutoff.ipynb"


def code_cells(path) -> int:
    nb = nbformat.read(str(path), as_version=4)
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def drive(progress: run_mod.Progress, clock: Clock, durations) -> None:
    """Play the hooks papermill's client calls, one code cell per duration."""
    hooks = progress.chapter(CHAPTER)
    for i, took in enumerate(durations):
        if hooks:
            hooks["on_cell_execute"](cell=None, cell_index=i)
        clock.now += took
        if hooks:
            hooks["on_cell_executed"](cell=None, cell_index=i, execute_reply={})
    progress.chapter_done(CHAPTER, sum(durations))
    progress.close()


def test_log_gets_plain_lines_for_chapters_and_long_cells_only():
    out, clock = io.StringIO(), Clock()
    total = code_cells(CHAPTER) + 1  # + the parameters cell papermill injects
    drive(run_mod.Progress("atebev_il6", 2, stream=out, clock=clock), clock,
          [1.0, run_mod.LONG_CELL + 2, 0.5])
    lines = out.getvalue().splitlines()
    assert lines == ["atebev_il6: chapter 1 of 2: atebev_cutoff",
                     f"atebev_cutoff: cell 2 of {total} took {run_mod.LONG_CELL + 2:.0f} s",
                     f"atebev_il6: atebev_cutoff done in {run_mod.LONG_CELL + 3.5:.0f} s"]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_terminal_bar_names_the_running_cell():
    out, clock = Terminal(), Clock()
    total = code_cells(CHAPTER) + 1
    progress = run_mod.Progress("atebev_il6", 1, stream=out, clock=clock)
    assert progress.tty and not progress.lines
    hooks = progress.chapter(CHAPTER)
    hooks["on_cell_execute"](cell=None, cell_index=0)
    hooks["on_cell_executed"](cell=None, cell_index=0, execute_reply={})
    hooks["on_cell_execute"](cell=None, cell_index=1)
    progress.bar.refresh()
    assert f"atebev_cutoff: cell 2 of {total}" in out.getvalue()
    progress.close()


def test_quiet_prints_nothing():
    for stream in (io.StringIO(), Terminal()):
        clock = Clock()
        progress = run_mod.Progress("atebev_il6", 1, enabled=False, stream=stream, clock=clock)
        assert progress.chapter(CHAPTER) == {}
        drive(progress, clock, [])
        assert stream.getvalue() == ""


def test_papermill_calls_the_hooks_for_every_code_cell(tmp_path, monkeypatch):
    """A real execution through the run's own :func:`helpers.run.execute_chapter`: three code cells plus papermill's injected parameters cell give one
    line each when every cell counts as long."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# tiny"), params,
                nbformat.v4.new_code_cell("y = x + 1"), nbformat.v4.new_code_cell("print(y)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "tiny.ipynb"
    nbformat.write(nb, str(src))
    monkeypatch.setattr(run_mod, "LONG_CELL", 0.0)
    out = io.StringIO()
    progress = run_mod.Progress("demo", 1, stream=out)
    hooks = progress.chapter(src)
    executed = run_mod.execute_chapter(src, tmp_path / "out.ipynb", {"x": 5}, hooks)  # as a run does
    progress.chapter_done(src, 1.0)
    lines = out.getvalue().splitlines()
    assert lines[0] == "demo: chapter 1 of 1: tiny"
    assert [ln.rsplit(" took", 1)[0] for ln in lines[1:-1]] == [f"tiny: cell {k} of 4" for k in (1, 2, 3, 4)]
    assert lines[-1] == "demo: tiny done in 1 s"
    assert executed.cells[-1].outputs[0]["text"].strip() == "6"
