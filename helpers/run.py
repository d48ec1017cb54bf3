"""Re-run a study's chapters on a cohort: ``python -m helpers run STUDY --cohort FILE --out DIR``.

What a run does, in order:

1. checks the cohort against the study's contract (:mod:`helpers.contract`); a cohort that
   breaks it is refused with the full report and *nothing runs, nothing is written*;
2. checks the output folder: it must not exist (or ``--force``, and then only a folder an
   earlier run made is replaced), must not lie inside ``data/`` and must not contain the
   cohort;
3. executes every chapter of the study (:func:`helpers.paths.study_chapters`, in book order)
   with papermill, kernel ``python3``, working directory ``chapters/`` (as in the book build),
   with the parameters ``cohort_file`` (absolute path), ``results_dir`` (``OUT/results``) and
   the user's ``-p NAME VALUE`` pairs; executed notebooks go to ``OUT/``;
4. builds a Jupyter Book of the executed notebooks and the scorecard page in ``OUT/html/``
   without re-executing them (:func:`helpers.runbook.build_book`; ``--html none`` skips it);
   the run options ``--cohort-labels``, ``--tcell``, ``--il6-exposure``, ``--tme`` and the
   information printed about the cohort are in :mod:`helpers.runbook`;
5. writes ``OUT/comparison.csv`` (published vs this cohort, :func:`helpers.scorecard.scorecard`)
   and prints its one-line summary;
6. writes ``OUT/run.json`` (study, cohort path and SHA-256, parameters, chapters, versions).

The cohort file is only read; its SHA-256 is checked before and after the run.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import escape, paths

#: File that marks a folder as made by this command (``--force`` replaces only those).
MARKER = ".hcc_book_run"
#: Parameters the run sets itself.
RESERVED = ("cohort_file", "results_dir")


class RunError(ValueError):
    """A run refused or failed; the message says why (the CLI prints it, no traceback)."""


def parse_value(text: str):
    """A ``-p NAME VALUE`` value as papermill's command line reads it: ``True``/``False``
    -> bool, ``None`` -> None, then int, then float, else the text itself."""
    if not isinstance(text, str):
        return text
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def check_out(out, cohort: Path, force: bool) -> Path:
    """The resolved output folder, or a :class:`RunError` saying why it cannot be used."""
    out = Path(out).expanduser().resolve()
    data = paths.DATA.resolve()
    if _inside(out, data):
        raise RunError(f"--out {out} is inside {data}: the run never writes into data/; "
                       "choose a folder outside the repository's data/")
    if _inside(paths.ROOT.resolve(), out) or out == Path(out.anchor):
        raise RunError(f"--out {out} would contain the repository: choose a new, separate folder")
    runs = (paths.ROOT / "runs").resolve()
    if _inside(out, paths.ROOT.resolve()) and not _inside(out, runs):
        raise RunError(f"--out {out} is inside the repository's tracked files: write runs outside the "
                       f"repository, or under {runs} (git-ignored)")
    if _inside(cohort, out):
        raise RunError(f"--out {out} contains the cohort file {cohort}: choose another folder")
    if out.exists():
        if not out.is_dir():
            raise RunError(f"--out {out} exists and is a file")
        if not force:
            raise RunError(f"--out {out} already exists: pass --force to replace it, or choose "
                           "a new folder")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise RunError(f"--out {out} exists and was not made by a run (no {MARKER} file): "
                           "--force only replaces earlier run folders; choose a new folder")
    return out


def check_parameters(study: str, parameters: dict | None, chapters: list[Path]) -> dict:
    """Parsed user parameters; a clear error for reserved or unknown names."""
    import papermill

    parsed = {str(k): parse_value(v) for k, v in (parameters or {}).items()}
    clash = [k for k in parsed if k in RESERVED]
    if clash:
        raise RunError(f"-p {clash[0]}: set by the run itself (--cohort / --out), not by -p")
    if parsed:
        known = set()
        for nb in chapters:
            known |= set(papermill.inspect_notebook(str(nb)))
        unknown = sorted(set(parsed) - known)
        if unknown:
            raise RunError(
                f"-p {unknown[0]}: no {study} chapter has this parameter; "
                f"parameters: {', '.join(sorted(known - set(RESERVED))) or 'none besides cohort_file and results_dir'}"
            )
        from .studies import ParamError, module

        spec = getattr(module(study), "Params", None)
        for name, value in parsed.items():
            if spec is not None and name in spec.names():
                try:
                    parsed[name] = spec.check(name, value)
                except ParamError as exc:
                    raise RunError(f"-p {name}: {exc}") from None
    return parsed


def _last_line(exc: BaseException) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        text = f"{ename}: {evalue}" if evalue else ename
    else:
        text = f"{type(exc).__name__}: {exc}"
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


class RunInterrupted(KeyboardInterrupt):
    """The run was interrupted (Ctrl-C, SIGTERM); nothing was written at --out. The message
    says so; the command line exits with status 130."""


def _replace(staging: Path, final: Path) -> None:
    """Put ``staging`` at ``final``: a rename (atomic on one file system); an earlier run's
    folder at ``final`` (``--force``) is moved aside first and removed after."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _keep_failed(staging: Path, failed: Path, reason: str) -> Path | None:
    """Rename a failed run's staging folder to ``<out>.failed`` (replacing an older one), with
    the reason in ``FAILED.txt``; ``None`` if there was nothing to keep."""
    try:
        if not staging.exists():
            return None
        if not any(staging.iterdir()):
            staging.rmdir()
            return None
        (staging / "FAILED.txt").write_text(
            f"This run did not finish: {reason}\nNothing in this folder is a complete result.\n")
        if failed.exists():
            shutil.rmtree(failed)
        staging.rename(failed)
        return failed
    except OSError:
        return None


def quiet_kernel_manager():
    """A kernel manager whose kernel's own stderr (its log: an interrupted cell's traceback,
    start-up warnings) does not reach the user's terminal. Cell errors still arrive through
    the Jupyter protocol and end the run with one line."""
    import subprocess

    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


def _quiet_asyncio() -> None:
    """An interrupted run leaves the kernel client's asyncio tasks with a dead kernel; asyncio
    would log their exceptions ("Task exception was never retrieved", with a traceback) to the
    terminal. The run reports the interruption itself in one line."""
    import logging

    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)


#: Without a terminal, a code cell that ran at least this many seconds gets its own line.
LONG_CELL = 10.0


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """Progress of a run's chapters, and of the cells inside each, on ``stream`` (stderr).

    - On a terminal: one tqdm bar over the chapters; its text says which chapter runs and
      which of its code cells: ``atebev_cutoff: cell 7 of 15``.
    - Not a terminal (a log file, a pipe, CI): plain lines, no carriage returns or bars: one
      when a chapter starts (``atebev_il6: chapter 3 of 6: atebev_cutoff``), one for each
      code cell that ran at least :data:`LONG_CELL` seconds (``atebev_cutoff: cell 7 of 15
      took 49 s``) and one when the chapter is done, with its seconds.
    - ``enabled=False`` (``--quiet``): nothing.

    The cells are followed with nbclient's hooks (``on_cell_execute``, ``on_cell_executed``),
    which papermill passes to its notebook client: :meth:`chapter` returns them as keyword
    arguments of :func:`papermill.execute_notebook`. Counted are the code cells papermill
    executes: the notebook's own and the parameters cell it injects.
    """

    def __init__(self, study: str, n_chapters: int, enabled: bool = True, stream=None,
                 clock=time.perf_counter):
        self.study, self.n_chapters = study, n_chapters
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(enabled) and _isatty(self.stream)
        self.lines = bool(enabled) and not self.tty
        self.clock = clock
        self.bar = None
        self.number = 0
        if self.tty:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=n_chapters, desc=study, unit="chapter", file=self.stream)

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def chapter(self, notebook: Path) -> dict:
        """Start ``notebook``; returns the hooks for :func:`papermill.execute_notebook`."""
        import nbformat

        self.number += 1
        stem = Path(notebook).stem
        nb = nbformat.read(str(notebook), as_version=4)
        total = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip()) + 1
        state = {"done": 0, "start": None}
        if self.bar is not None:
            self.bar.set_postfix_str(stem)
        if self.lines:
            self._line(f"{self.study}: chapter {self.number} of {self.n_chapters}: {stem}")
        if not (self.tty or self.lines):
            return {}

        def on_cell_execute(cell=None, cell_index=None, **_):
            state["start"] = self.clock()
            if self.bar is not None:
                self.bar.set_postfix_str(f"{stem}: cell {state['done'] + 1} of {total}")

        def on_cell_executed(cell=None, cell_index=None, **_):
            state["done"] += 1
            took = self.clock() - state["start"] if state["start"] is not None else 0.0
            if self.lines and took >= LONG_CELL:
                self._line(f"{stem}: cell {state['done']} of {total} took {took:.0f} s")

        return {"on_cell_execute": on_cell_execute, "on_cell_executed": on_cell_executed}

    def chapter_done(self, notebook: Path, seconds: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
        if self.lines:
            self._line(f"{self.study}: {Path(notebook).stem} done in {seconds:.0f} s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def execute_chapter(notebook: Path, target: Path, parameters: dict, hooks: dict | None = None):
    """Execute one chapter with papermill as a run does (kernel ``python3``, working directory
    ``chapters/``, no papermill bar, the kernel's own log kept off the terminal); ``hooks``:
    nbclient's cell hooks from :meth:`Progress.chapter`."""
    import papermill

    from .execute import retry_kernel_start

    return retry_kernel_start(lambda: papermill.execute_notebook(
        str(notebook), str(target), parameters=parameters, kernel_name="python3",
        cwd=str(paths.CHAPTERS), progress_bar=False, log_output=False,
        kernel_manager_class=quiet_kernel_manager(), **(hooks or {}),
    ))


def _run_into(out: Path, study: str, cohort: Path, chapters: list[Path], user: dict, digest: str,
              progress: bool, html: bool, share_k: int | None = None,
              skip: dict | None = None) -> tuple[str, dict]:
    """Execute the chapters into ``out`` (the staging folder); returns (summary, timings).
    ``share_k``: run under disclosure threshold k (:mod:`helpers.disclosure`); ``skip``:
    chapters the pre-flight found cannot run (:mod:`helpers.preflight`), not executed."""
    from . import disclosure

    results_dir = out / "results"
    results_dir.mkdir(parents=True)
    params = {"cohort_file": str(cohort), "results_dir": str(results_dir), **user}

    _quiet_asyncio()
    env_before = {k: os.environ.get(k) for k in ("HCC_BOOK_RESULTS", "MPLBACKEND", disclosure.ENV,
                                                 disclosure.LOG_ENV, disclosure.CHAPTER_ENV)}
    os.environ["HCC_BOOK_RESULTS"] = str(results_dir)
    if share_k:  # disclosure control: every chapter's kernel inherits the policy and the log
        os.environ[disclosure.ENV] = str(share_k)
        os.environ[disclosure.LOG_ENV] = str(out / disclosure.LOG_NAME)
    # The kernel must draw inline: with MPLBACKEND=Agg (as a headless shell often sets it)
    # ipykernel keeps Agg and executed notebooks would hold no figures at all.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    timings = {}
    try:
        todo = [c for c in chapters if c.stem not in (skip or {})]
        shown = Progress(study, len(todo), enabled=progress)
        try:
            for nb in todo:
                hooks = shown.chapter(nb)
                os.environ[disclosure.CHAPTER_ENV] = nb.stem
                target = out / nb.name
                t0 = time.perf_counter()
                try:
                    execute_chapter(nb, target, params, hooks)
                except Exception as exc:  # papermill raises PapermillExecutionError and others
                    raise RunError(f"chapter {nb.stem} failed: {_last_line(exc)}") from None
                timings[nb.stem] = round(time.perf_counter() - t0, 2)
                shown.chapter_done(nb, timings[nb.stem])
        finally:
            shown.close()
        # inside the try: a shareable run's comparison and book (its scorecard page) are made
        # under the same disclosure policy as its chapters
        summary = _write_comparison(study, results_dir, out)
        if html:  # the book of this cohort (helpers/runbook.py)
            from . import runbook

            t0 = time.perf_counter()
            try:
                runbook.book_step(out, study, todo, params, summary, bar_disabled=not shown.tty)
            except Exception as exc:  # papermill / jupyter-book errors: one line, no traceback
                raise RunError(f"building the book failed: {_last_line(exc)}") from None
            timings["book"] = round(time.perf_counter() - t0, 2)
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if _sha256(cohort) != digest:  # pragma: no cover - nothing here writes to it
            raise RunError(f"the cohort file {cohort} changed during the run")
    return summary, timings


def run_study(study: str, cohort, out, force: bool = False, parameters: dict | None = None,
              progress: bool = True, html: bool = True, labels: dict | None = None,
              labs: dict | None = None, share: bool = False,
              min_cell_count: int | None = None) -> Path:
    """Validate ``cohort``, run ``study``'s chapters on it and write everything to ``out``.

    Parameters
    ----------
    study : str
        ``atebev_il6``, ``pbis`` or ``soramic``.
    cohort : path
        The cohort CSV (anywhere, including ``data/private/``); never written to.
    out : path
        A new folder, outside ``data/``. With ``force=True`` an earlier run's folder is
        replaced.
    parameters : dict, optional
        Chapter parameters as ``{name: value}``; text values are parsed as papermill's
        ``-p`` does (:func:`parse_value`).
    progress, html : bool
        Show a tqdm bar over chapters; build the cohort's book in ``OUT/html``
        (:func:`helpers.runbook.build_book`).
    labels, labs : dict, optional
        ``{your label: study label}`` (``--cohort-labels``); laboratory files
        ``{"tcell": path, "il6_exposure": path, "tme": path}`` (:mod:`helpers.runbook`).
    share, min_cell_count
        Make a shareable output too (:func:`helpers.disclosure.run_shareable`): ``OUT/private/``
        (full precision, for the researcher only) and ``OUT/shareable/`` (disclosure
        threshold ``min_cell_count``, default :data:`helpers.disclosure.SHARE_DEFAULT`;
        checked; with ``disclosure_report.md``). ``min_cell_count`` alone implies ``share``.

    Returns
    -------
    pathlib.Path
        The output folder.

    Raises
    ------
    RunError
        (a ``ValueError``) with a readable message: invalid cohort (the full report), bad
        output folder, unknown parameter, or a failing chapter (which chapter, where its
        partial notebook is, the error's last line).
    FileNotFoundError
        The cohort file does not exist.
    """
    from . import contract, escape

    paths.check_study(study)
    cohort = Path(cohort).expanduser().resolve()
    if not cohort.is_file():
        raise FileNotFoundError(f"cohort file {cohort} not found" if not cohort.exists()
                                else f"cohort {cohort} is not a file")
    chapters = paths.study_chapters(study)
    missing = [c for c in chapters if not c.exists()]
    if not chapters or missing:
        raise RunError(f"{study}: chapter notebooks missing: {', '.join(str(m) for m in missing) or 'none listed'}")

    from . import runbook

    runbook.check_labels(study, labels)
    _check_size(cohort)
    report = contract.validate_file(study, cohort, labels=labels)
    if not report.empty:
        raise RunError(contract.format_report(report, cohort) + "\n\nNothing was run.")
    out = check_out(out, cohort, force)
    user = check_parameters(study, parameters, chapters)
    user.update(runbook.lab_parameters(study, labs))
    info = runbook.information(study, cohort, labels, user)
    digest = _sha256(cohort)
    # the cohort as the chapters read it (with --cohort-labels: a relabelled copy in a private
    # temporary folder, removed at the end), checked by the pre-flight before anything is written
    prepared = Path(tempfile.mkdtemp(prefix="hcc-book-cohort-"))
    try:
        read = runbook.prepared_cohort(study, cohort, labels, prepared)
        plan, skip = _preflight(study, read, user, chapters)
    except BaseException:
        shutil.rmtree(prepared, ignore_errors=True)
        raise
    info += [f"note: chapter {c} is skipped: {reason}" for c, reason in skip.items()]
    todo = [c for c in chapters if c.stem not in skip]

    # Everything is written into a hidden staging folder beside --out and renamed into place
    # only when every step succeeded: an interrupted or failed run never leaves a folder at
    # --out that looks finished (a failure keeps its partial output as <out>.failed, with
    # the error in FAILED.txt; a SIGKILL leaves only the hidden staging folder).
    final = out
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    failed = out.parent / f"{out.name}.failed"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
    except OSError as exc:
        raise RunError(f"cannot write the output folder {final}: {exc.strerror or exc}") from None
    try:
        (staging / "information.txt").write_text("\n".join(info) + "\n", encoding="utf-8")
        escape.csv_frame(plan).to_csv(staging / "preflight.csv", index=False, lineterminator="\n")
        if share or min_cell_count is not None:  # disclosure control: private + shareable
            from . import disclosure

            summary = disclosure.run_shareable(staging, study, read, todo, user,
                                               digest if read == cohort else _sha256(read),
                                               progress, html, min_cell_count,
                                               sys.modules[__name__], final)
            (staging / MARKER).write_text("made by python -m helpers run; --force may replace this folder\n")
            _replace(staging, final)
            print(summary)
            runbook.report(final, info)
            return final
        summary, timings = _run_into(staging, study, read, chapters, user,
                                     digest if read == cohort else _sha256(read), progress, html,
                                     skip=skip)
        meta = {
            "study": study, "cohort": str(cohort), "cohort_sha256": digest,
            "parameters": user, "cohort_labels": labels or {},
            "chapters": [c.stem for c in chapters if c.stem not in skip], "skipped": skip,
            "seconds": timings,
            "python": sys.version.split()[0],
        }
        (staging / "run.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        (staging / MARKER).write_text("made by python -m helpers run; --force may replace this folder\n")
        _replace(staging, final)
    except BaseException as exc:
        reason = ("interrupted" if isinstance(exc, KeyboardInterrupt)
                  else str(exc).splitlines()[0] if isinstance(exc, RunError) else _last_line(exc))
        kept = _keep_failed(staging, failed, reason)
        where = f"; partial output kept in {kept}" if kept else ""
        if isinstance(exc, RunError):
            raise RunError(f"{exc}\n  nothing was written at {final}{where}") from None
        if isinstance(exc, KeyboardInterrupt):
            raise RunInterrupted(f"run interrupted: nothing was written at {final}{where}") from None
        if isinstance(exc, OSError):
            raise RunError(f"run failed writing its output: {exc.strerror or exc}; nothing was "
                           f"written at {final}{where}") from None
        if isinstance(exc, Exception):  # e.g. a kernel killed by the same Ctrl-C: one line
            raise RunError(f"run failed: {_last_line(exc)}\n  nothing was written at {final}{where}") from None
        raise
    finally:
        shutil.rmtree(prepared, ignore_errors=True)
    out = final
    skipped = f" ({len(skip)} skipped: {', '.join(skip)})" if skip else ""
    print(f"{study}: ran {len(chapters) - len(skip)} chapters on {escape.term(cohort.name)}{skipped}; output in {out}")
    if summary:
        print(summary + f"\ncomparison: {out / 'comparison.csv'}")
    runbook.report(out, info)
    return out


def _check_size(cohort: Path) -> None:
    """Refuse a cohort above the row limit before anything reads it whole
    (:func:`helpers.preflight.check_size`)."""
    from . import preflight

    try:
        preflight.check_size(cohort)
    except preflight.PreflightError as exc:
        raise RunError(f"{exc}\n\nNothing was run.") from None


def _preflight(study: str, cohort: Path, user: dict, chapters: list[Path]):
    """The pre-flight plan (:func:`helpers.preflight.preflight`): which chapters run; the
    chapters skipped are listed on the terminal with the reason."""
    from . import escape, preflight

    try:
        plan, skip = preflight.preflight(study, cohort, user, chapters)
    except preflight.PreflightError as exc:
        raise RunError(f"{escape.term(str(exc))}\n\nNothing was run.") from None
    for chapter, reason in skip.items():
        print(f"note: {chapter} is skipped: {escape.term(reason)}", file=sys.stderr)
    return plan, skip


def _write_comparison(study: str, results_dir: Path, out: Path) -> str:
    """``out/comparison.csv`` from the scorecard; returns its summary line ('' if none)."""
    try:
        from . import scorecard
    except ImportError as exc:  # pragma: no cover - scorecard is part of the package
        return f"(no comparison: helpers.scorecard unavailable: {exc})"
    card = scorecard.scorecard(results_dir=results_dir, study=study)
    card.to_csv(out / "comparison.csv", index=False, lineterminator="\n")
    return scorecard.summary_line(card)
