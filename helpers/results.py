"""Record every reported number once: glue it for the prose and write it to a results file.

A chapter makes one :class:`Recorder` and calls :meth:`Recorder.record` for each quantity
the paper printed (and any other number its prose uses). ``record``

1. formats the number as text (``"2.93 (95% CI 1.50-5.71), p = 0.003"``),
2. glues that text under ``key`` (and the parts under ``key_est``, ``key_ci``, ``key_p``,
   ``key_n``) so the prose can write ``{glue:text}`\\`key\\``` instead of typing a number,
3. appends a row to ``<results_dir>/<chapter>.csv``: the file that
   :mod:`helpers.scorecard` compares with the published numbers (``data/published/``),
   joined on ``key`` = the published number's ``id``.

The results file is rewritten from scratch each time the chapter runs, so it always holds
exactly the numbers of the last execution.

Results travel with the executed notebook
-----------------------------------------
Inside a notebook kernel every change to the results file is also emitted as a hidden output
(:func:`_emit`: a ``myst_nb.glue``-style output with ``display=False`` and the mime type
:data:`RESULTS_MIME`; myst-nb strips such outputs before rendering, so no page shows them).
:func:`write_results_from_notebook` replays those events onto ``<results_dir>/<chapter>.csv``
with the same writes the recorder made, so the file is byte-identical to the one the
execution wrote. The book build uses it for every chapter it takes from the execution cache
(:mod:`helpers.execute`, :mod:`helpers.book_ext`): the results a page is built with always
come from the same execution as its outputs, never from a stale file of an earlier run.

:meth:`Recorder.record_published` is ``record`` with the paper's printed decimals (from
``data/published/``); :meth:`Recorder.text` and :meth:`Recorder.fill` glue prose only (a computed
phrase, or a placeholder for the keys of a section the cohort cannot fill).
"""
from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import disclosure, paths, published
from .escape import check_results_dir

RESULT_COLUMNS = ["study", "chapter", "key", "estimate", "lower", "upper", "p", "n", "text", "computed_by"]
#: Mime type of the hidden outputs that carry a chapter's results events (see module docstring).
RESULTS_MIME = "text/x.hcc-book-results"
#: myst-nb's prefix for outputs glued with ``display=False`` (stripped before rendering).
GLUE_PREFIX = "application/papermill.record/"
_EVENT_NUMBER = itertools.count()
_RECORDER_NUMBER = itertools.count()


def fmt_p(p: float | None, digits: int = 3, *, prefix: bool = True) -> str:
    """Format a p-value as journals print it: ``p < 0.001`` or ``p = 0.021`` (the book's one
    p-value formatter; never ``0.000``).

    With ``prefix=False`` the form for a table cell: ``<0.001`` or ``0.021`` (``""`` if
    missing). A p that rounds to 1 prints as ``>0.999``.
    """
    missing = p is None or (isinstance(p, float) and math.isnan(p))
    if not prefix:
        if missing:
            return ""
        threshold = 10 ** (-digits)
        if p < threshold:
            return f"<{threshold:.{digits}f}"
        if round(p, digits) >= 1:
            return f">{1 - threshold:.{digits}f}"
        return f"{p:.{digits}f}"
    if missing:
        return "p = NA"
    threshold = 10 ** (-digits)
    if p < threshold:
        return f"p < {threshold:.{digits}f}"
    return f"p = {p:.{digits}f}"


def fmt_number(x: float | None, digits: int = 2) -> str:
    """Format a number with fixed decimals; ``NA`` for missing or infinite values."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NA"
    if isinstance(x, (int,)) or (digits == 0):
        return f"{x:.0f}"
    return f"{x:.{digits}f}"


def fmt_estimate(
    estimate: float | None,
    lower: float | None = None,
    upper: float | None = None,
    p: float | None = None,
    digits: int = 2,
    unit: str = "",
) -> str:
    """``"2.93 (95% CI 1.50-5.71), p = 0.003"``; parts that are ``None`` are left out."""
    text = fmt_number(estimate, digits) + (f" {unit}" if unit else "")
    if lower is not None and upper is not None:
        text += f" (95% CI {fmt_number(lower, digits)}–{fmt_number(upper, digits)})"
    if p is not None:
        text += f", {fmt_p(p)}"
    return text


def _glue(name: str, text: str) -> None:
    try:
        from myst_nb import glue
    except ImportError:  # pragma: no cover - myst_nb is pinned in requirements.txt
        return
    glue(name, text, display=False)


def _start_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(columns=RESULT_COLUMNS).to_csv(path, index=False)


def _add_row(path: Path, rows: list[dict], row: dict) -> list[dict]:
    """Write ``row`` to the results file ``path`` that holds ``rows``; return the new rows.
    A re-recorded key rewrites the file once; otherwise one line is appended."""
    if any(r["key"] == row["key"] for r in rows):
        rows = [r for r in rows if r["key"] != row["key"]] + [row]
        pd.DataFrame(rows, columns=RESULT_COLUMNS).to_csv(path, index=False)
    else:
        rows = rows + [row]
        pd.DataFrame([row], columns=RESULT_COLUMNS).to_csv(path, mode="a", header=False, index=False)
    return rows


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _emit(event: dict) -> None:
    """Add one results event to the notebook's outputs as a hidden glue-style output.

    Only inside a notebook kernel (a test or script calling the recorder has no notebook).
    The name is unique within the kernel, so no two glue keys of a page clash.
    """
    if not _in_kernel():
        return
    from IPython.display import display

    name = f"hcc_book_results_{next(_EVENT_NUMBER)}"
    display({GLUE_PREFIX + RESULTS_MIME: json.dumps(event, allow_nan=True)}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}})


def results_events(nb) -> list[dict]:
    """The results events (:func:`_emit`) of an executed notebook, in execution order."""
    events = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get(GLUE_PREFIX + RESULTS_MIME)
            if text is not None:
                events.append(json.loads("".join(text) if isinstance(text, list) else text))
    return events


def write_results_from_notebook(nb, results_dir: str | os.PathLike | None = None) -> list[Path]:
    """Write ``<results_dir>/<chapter>.csv`` for every chapter whose recorder ran in the
    executed notebook ``nb`` (an ``nbformat`` node or its dict), exactly as the execution wrote
    it: the last recorder of each chapter is replayed, its writes done the same way. Returns
    the files written (none for a notebook that recorded nothing)."""
    last: dict[str, int] = {}
    for event in results_events(nb):
        if event["op"] == "start":
            last[event["chapter"]] = event["recorder"]
    written = []
    for chapter, recorder in last.items():
        path = paths.results_file(chapter, results_dir)
        _start_file(path)
        rows: list[dict] = []
        for event in results_events(nb):
            if event["op"] == "row" and event["recorder"] == recorder:
                rows = _add_row(path, rows, event["row"])
        written.append(path)
    return written


@dataclass
class Recorder:
    """Records a chapter's reported numbers (see the module docstring).

    Parameters
    ----------
    study, chapter
        Short study name (``paths.STUDIES``) and the chapter's file stem.
    results_dir
        Folder for the results file; ``None`` means :data:`helpers.paths.RESULTS`
        (``_build/results`` in a book build). The run command passes its output folder.
    glue
        Glue the formatted text for the prose (off in tests).
    """

    study: str
    chapter: str
    results_dir: str | os.PathLike | None = None
    glue: bool = True
    rows: list[dict] = field(default_factory=list)
    _published_digits: dict | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        paths.check_study(self.study) if self.study != "all" else None
        check_results_dir(self.results_dir)  # a chapter run by plain papermill never writes into data/
        self.path = paths.results_file(self.chapter, self.results_dir)
        _start_file(self.path)
        self._number = next(_RECORDER_NUMBER)
        _emit({"op": "start", "recorder": self._number, "chapter": self.chapter})

    def record(
        self,
        key: str,
        estimate: float | None,
        lower: float | None = None,
        upper: float | None = None,
        p: float | None = None,
        n: int | None = None,
        *,
        digits: int = 2,
        unit: str = "",
        text: str | None = None,
        computed_by: str | None = None,
    ) -> str:
        """Record one number; return (and glue) its formatted text.

        ``estimate`` may be a count, a proportion in %, a median, a hazard ratio, ... The
        formatted text uses ``digits`` decimals, or ``text`` if given. ``computed_by`` names
        the function (and section) that produced the number; by default the chapter itself
        (``chapters/<chapter>.ipynb``).
        """
        def _f(x):
            return None if x is None else float(x)

        estimate, lower, upper, p = _f(estimate), _f(lower), _f(upper), _f(p)
        if text is None:
            text = fmt_estimate(estimate, lower, upper, p, digits=digits, unit=unit)
        # disclosure control (helpers.disclosure): a no-op unless a policy is set
        estimate, lower, upper, p, n, text, n_text = disclosure.protect_record(
            key, estimate, lower, upper, p, n, digits, text)
        row = dict(
            study=self.study, chapter=self.chapter, key=key, estimate=estimate,
            lower=lower, upper=upper, p=p, n=None if n is None else int(n), text=text,
            computed_by=computed_by or f"chapters/{self.chapter}.ipynb",
        )
        self.rows = _add_row(self.path, self.rows, row)
        _emit({"op": "row", "recorder": self._number, "chapter": self.chapter, "row": row})
        if self.glue:
            _glue(key, text)
            _glue(f"{key}_est", (fmt_number(estimate, digits) + (f" {unit}" if unit else ""))
                  if estimate is not None or not disclosure.policy().on else text)
            if lower is not None and upper is not None:
                _glue(f"{key}_ci", f"{fmt_number(lower, digits)}–{fmt_number(upper, digits)}")
            if p is not None:
                _glue(f"{key}_p", fmt_p(p))
            if n_text is not None:
                _glue(f"{key}_n", n_text)
        return text

    def record_published(
        self,
        key: str,
        estimate: float | None,
        lower: float | None = None,
        upper: float | None = None,
        p: float | None = None,
        n: int | None = None,
        **kw,
    ) -> str:
        """Record a number under its published id, with as many decimals as the paper printed.

        The same as :meth:`record`, except that ``digits`` defaults to the ``digits`` of the
        published row with ``id == key`` in ``data/published/<study>.csv``
        (:func:`helpers.published.load`), so the glued text has the paper's precision.

        Parameters
        ----------
        key
            The published number's ``id``; also the glue name and the results-file key.
        estimate, lower, upper, p, n
            As for :meth:`record`.
        **kw
            Passed on to :meth:`record` (``digits``, ``unit``, ``text``). An explicit
            ``digits`` wins over the published one.

        Returns
        -------
        str
            The formatted (and glued) text.

        Notes
        -----
        The study's published file is read once, on the first call. A key the file does not
        hold, a row without printed decimals, or a study without a file (e.g. ``"all"``)
        falls back to 2 decimals.
        """
        if "digits" not in kw:
            kw["digits"] = self._published_digits_of(key)
        return self.record(key, estimate, lower, upper, p, n, **kw)

    def record_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Record every row a study's ``reproduce`` returned (:data:`helpers.studies.ROW_COLUMNS`)
        with the paper's printed decimals; a non-empty ``text`` is used as the formatted text.
        Returns ``rows`` with ``text`` filled in, so a chapter can show what it recorded."""
        out = rows.copy()
        texts = []
        for r in rows.itertuples(index=False):
            def _v(x):
                return None if x is None or (isinstance(x, float) and math.isnan(x)) else x
            text = getattr(r, "text", "") or None
            texts.append(self.record_published(
                r.key, _v(r.estimate), _v(r.lower), _v(r.upper), _v(r.p), _v(r.n),
                text=text if isinstance(text, str) else None, computed_by=r.computed_by))
        out["text"] = texts
        return out

    def _published_digits_of(self, key: str) -> int:
        """Printed decimals of the published number ``key`` of this study; 2 if unknown."""
        if self._published_digits is None:
            self._published_digits = {}
            if self.study in paths.STUDIES and (paths.PUBLISHED / f"{self.study}.csv").exists():
                table = published.load(self.study)
                self._published_digits = {
                    k: int(d) for k, d in zip(table["id"], table["digits"]) if not pd.isna(d)
                }
        return self._published_digits.get(key, 2)

    def text(self, key: str, text: str) -> str:
        """Glue a computed piece of prose that is not a published number (e.g. a cut-off's
        direction, a cohort size); nothing is written to the results file."""
        text = disclosure.protect_text(text, key)  # disclosure control; no-op when off
        if self.glue:
            _glue(key, text)
        return text

    def fill(self, keys, text: str = "not available for this cohort") -> None:
        """Glue the same placeholder text under every key of a section that could not run.

        A chapter skips a section when its cohort lacks the columns it needs; its prose still
        cites the section's glue keys, so each gets ``text`` and the page still builds.
        Nothing is written to the results file (see :meth:`text`).

        Parameters
        ----------
        keys
            Glue names: an iterable of str, or one str for a single key.
        text
            The placeholder, e.g. ``"not available for this cohort"``.
        """
        if isinstance(keys, str):
            keys = [keys]
        for key in keys:
            self.text(key, text)

    def record_table(self, name: str, table: pd.DataFrame) -> Path:
        """Write a whole table the chapter reports (e.g. the input table of a meta-analysis)
        beside the results file, as ``<results_dir>/tables/<chapter>__<name>.csv``.

        The numbers the prose uses still go through :meth:`record` (one row each, in the
        results file the scorecard reads); this keeps the table they came from, column for
        column, for re-runs to compare. The ``tables`` sub-folder keeps these files out of
        :func:`read_results`. Returns the path written.
        """
        if not name or not str(name).replace("_", "").isalnum():
            raise ValueError(f"record_table: name must be a snake_case word, got {name!r}")
        folder = self.path.parent / "tables"
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{self.chapter}__{name}.csv"
        table.to_csv(out, index=False)
        return out

    def table(self) -> pd.DataFrame:
        """The numbers recorded so far, as a tidy DataFrame."""
        return pd.DataFrame(self.rows, columns=RESULT_COLUMNS)


def read_results(results_dir: str | os.PathLike | None = None, study: str | None = None) -> pd.DataFrame:
    """All results files in ``results_dir`` (default :data:`helpers.paths.RESULTS`) as one
    DataFrame, optionally only one study's."""
    folder = Path(results_dir or paths.RESULTS)
    frames = [pd.read_csv(f) for f in sorted(folder.glob("*.csv"))]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out if study is None else out[out["study"] == study].reset_index(drop=True)
