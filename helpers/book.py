"""Chapter utilities: the data banner, skip notes, the book's one table renderer, versions.

Every chapter calls :func:`data_banner` first, so each page that shows data says where they
came from (synthetic, or the researcher's file), and :func:`versions` last.

Tables: :func:`show`
--------------------
Every table of the book goes through :func:`show` (display) or :func:`table` (the HTML, for
tests). What it does, so chapters do not have to:

* **Headers are labels, never column names**: each column name is looked up with
  :func:`helpers.labels.label` (the ``labels=`` mapping first, then the book's curated labels,
  then the cohort contract's descriptions, then a readable rendering of the name).
* **Grouped headers**: MultiIndex columns (``("IL-6 low", "n")``) or ``groups={"IL-6 low":
  ["low_n", "low_median"], ...}`` give a spanning header row (IL-6 low | IL-6 high | p);
  a column without a group spans both header rows.
* **Numbers by kind**, inferred from the column name and overridable with ``kinds=``:

  ========  =====================================================  ==========================
  kind      inferred for                                            printed as
  ========  =====================================================  ==========================
  ``p``     ``p``, ``p_value``, ``p_*``, ``*_p``                    :func:`helpers.results.fmt_p`
                                                                    (``<0.001``, ``0.021``;
                                                                    never ``0.000``)
  count     integer dtype; ``n``, ``events``, ``n_*``, ``*_n``,      ``55`` (never ``55.00``)
            ``*_count``; a float column of whole numbers whose name
            is not an estimate (scores: ``0 1 2``, not ``0.0 1.0``)
  number    other numbers                                           ``digits`` decimals
            (``digits`` may be a dict per column)
  text      everything else                                         as is, HTML-escaped; a
                                                                    newline is a line break
  ========  =====================================================  ==========================

* **Padding and alignment** come from ``_static/hcc.css`` (numbers right-aligned with
  tabular figures, text left-aligned and wrapping, long text columns kept readable).
* **Footnotes**: ``test="Kruskal-Wallis test"`` prints "p: Kruskal-Wallis test." under the
  table; ``note=`` adds any other note (a string or a list of strings).
* **Wide tables**: every table sits in a scroll container, so nothing is ever cut; a table
  estimated wider than the text column (~800 px) is marked ``hcc-wide`` and shows a visible
  "scroll" hint. Prefer restructuring first: :func:`long_format` turns a wide table of
  per-group columns into rows.
* **Published beside this cohort**: a table with ``id``, ``published``, ``reproduced`` and
  ``verdict`` columns (:func:`helpers.scorecard.side_by_side`, ``study_table``) is shown
  compact: a summary line of verdict counts, then the full table folded in a ``<details>``
  element with colour-coded verdicts and a link that downloads the table as CSV (a ``data:``
  URI, so it works offline). ``compact=False`` shows it open.

Why hand-written HTML and not pandas Styler or great_tables: both were tried against the
needs above. Styler gives every table random element ids (the page would change at every
build) and per-table inline CSS; great_tables is a good fit for publication tables but
embeds a full style sheet in every table (which fights the book theme's light/dark colours)
and adds four dependencies for what is here about 150 lines of plain, tested HTML.

Figures: see :mod:`helpers.plots` (``plots.setup()`` once per chapter).
"""
from __future__ import annotations

import base64
import html
import math
import platform
import re
from importlib import metadata
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from . import disclosure as _disclosure
from . import escape, paths
from .labels import label as _label

_PACKAGES = ("numpy", "pandas", "scipy", "lifelines", "statsmodels", "matplotlib", "pandera")

#: The text column of the book (sphinx-book-theme at desktop width), in CSS pixels.
COLUMN_PX = 800
#: Verdicts in the order the summary line lists them (``helpers.scorecard.VERDICTS``).
VERDICT_ORDER = ("exact", "within tolerance", "inside published CI", "same direction", "miss",
                 "paper disagrees with itself", "not computed", "info")
KINDS = ("p", "count", "number", "text")
_P_NAMES = {"p", "p_value", "pvalue", "p-value", "p_text", "p value"}
_COUNT_NAMES = {"n", "events", "n_events", "n_event", "n_risk", "n_censor", "count", "patients",
                "cells", "rows", "responders", "n_low", "n_high", "seed", "dof", "df"}
_ESTIMATE_WORDS = ("hr", "or", "rr", "lower", "upper", "median", "mean", "estimate", "coef",
                   "se", "z", "statistic", "smd", "chisq", "cut", "cutoff", "time", "survival",
                   "value", "published", "reproduced", "fitted", "rate", "pct", "percent",
                   "difference", "ratio", "months", "years", "auc", "c_index", "q1", "q3", "sd")


class Quiet(str):
    """A ``str`` that IPython does not echo when it is a cell's last value (no stray
    ``'...'`` output box); it is still an ordinary string for the caller.

    Helpers that display something and also return its text (:func:`data_banner`, and
    ``Recorder.text``/``record`` should do the same) return ``Quiet(text)``, so a chapter
    whose cell ends with such a call shows no quoted string.
    """

    def _ipython_display_(self):  # noqa: D401 - IPython hook
        return None


_Quiet = Quiet  # the name used before


def _markdown(text: str):
    from IPython.display import Markdown, display

    display(Markdown(text))


def data_banner(study: str, cohort_file=None) -> str:
    """Display (and return) the note saying which data this page analyses.

    The returned text is not echoed when the call is a cell's last line.
    """
    paths.check_study(study)
    _disclosure.from_kernel()  # disclosure control: the chapter's min_cell_count takes effect
    if cohort_file is None:
        text = (
            ":::{important}\n**Synthetic data.** This page analyses the synthetic "
            f"`{study}` cohort shipped with the book (`{paths.synthetic_cohort(study).relative_to(paths.ROOT)}`), "
            "generated from the paper's published numbers. It is not the study's patients: "
            "it reproduces the printed aggregates by construction (see "
            "{ref}`ch-synthetic-cohorts`).\n:::"
        )
    else:
        text = (
            f":::{{note}}\n**Cohort:** {escape.md_code(Path(cohort_file).name)} (passed as a parameter). "
            "The published numbers beside it are the paper's, for comparison.\n:::"
        )
    _markdown(text)
    return Quiet(text)


def data_banners(cohort_files: dict) -> str:
    """Display (and return) one note for a page that reads several studies' cohorts.

    ``cohort_files`` maps each study to its cohort file (``None``: the shipped synthetic
    cohort). Says plainly which studies are synthetic and which come from a passed file."""
    lines = []
    _disclosure.from_kernel()  # disclosure control: the chapter's min_cell_count takes effect
    for study, file in cohort_files.items():
        paths.check_study(study)
        if file is None:
            lines.append(f"- `{study}`: the shipped **synthetic** cohort "
                         f"(`{paths.synthetic_cohort(study).relative_to(paths.ROOT)}`)")
        else:
            lines.append(f"- `{study}`: {escape.md_code(Path(file).name)} (passed as a parameter)")
    synthetic = any(f is None for f in cohort_files.values())
    kind = "important" if synthetic else "note"
    head = ("**Data.** This page reads one cohort per study. Synthetic cohorts are generated "
            "from each paper's published numbers; they are not the studies' patients (see "
            "{ref}`ch-synthetic-cohorts`)." if synthetic else "**Data.** This page reads one "
            "cohort per study, passed as parameters.")
    text = f":::{{{kind}}}\n{head}\n\n" + "\n".join(lines) + "\n:::"
    _markdown(text)
    return text


def skip_section(section: str, missing: list[str]) -> bool:
    """If ``missing`` is non-empty, display a visible note that ``section`` is skipped and
    return True; chapters write ``if not skip_section(...): ...``."""
    if missing:
        cols = ", ".join(f"`{c}`" for c in missing)
        _markdown(f":::{{note}}\n**Skipped: {section}.** This cohort has no {cols}.\n:::")
        return True
    return False


class _ShownFrame(pd.DataFrame):
    """A DataFrame that displays through :func:`table` when it is a cell's last value."""

    @property
    def _constructor(self):
        return pd.DataFrame

    def _repr_html_(self):
        return table(pd.DataFrame(self), caption=self.attrs.get("caption")).html


def versions() -> pd.DataFrame:
    """The Python and package versions this page ran with (a DataFrame; shown with the book's
    table style when it is a cell's last value)."""
    rows = [("python", platform.python_version())]
    for name in _PACKAGES:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:  # pragma: no cover
            rows.append((name, "not installed"))
    out = _ShownFrame(rows, columns=["package", "version"])
    out.attrs["caption"] = "Versions this page ran with"
    return out


# --------------------------------------------------------------------------- column kinds
def _leaf(name) -> str:
    return str(name[-1] if isinstance(name, tuple) else name)


def _is_whole(values: pd.Series) -> bool:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return len(v) > 0 and bool(np.all(np.isfinite(v)) and np.all(v == np.round(v)))


def infer_kind(name, values: pd.Series) -> str:
    """The kind of a column (``p``, ``count``, ``number``, ``text``) from its name and values
    (see the module docstring)."""
    leaf = _leaf(name).strip()
    low = leaf.lower()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if low in _P_NAMES or low.startswith("p_") or low.endswith("_p") or low.startswith("p ("):
        return "p"
    if not numeric:
        return "text"
    if pd.api.types.is_integer_dtype(values):
        return "count"
    words = set(re.split(r"[_\s]+", low))
    if (low in _COUNT_NAMES or low.startswith("n_") or low.endswith("_n") or low.endswith("_count")
            or low.startswith("n ")) and _is_whole(values):
        return "count"
    if not words & set(_ESTIMATE_WORDS) and _is_whole(values):
        return "count"
    return "number"


def _fmt_cell(value, kind: str, digits: int, na_rep: str = "") -> str:
    from .results import fmt_p

    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return na_rep if kind in ("count", "number") else ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if kind == "p":
        if isinstance(value, str):
            return "<0.001" if re.fullmatch(r"\s*0\.0+\s*", value) else value
        return fmt_p(float(value), prefix=False)
    if isinstance(value, str):
        return value
    if kind == "count":
        try:
            if not np.isfinite(float(value)):
                return "NA"
            return f"{int(round(float(value)))}"
        except (TypeError, ValueError):
            return str(value)
    if kind == "number":
        try:
            x = float(value)
        except (TypeError, ValueError):
            return str(value)
        if not np.isfinite(x):
            return "NA"
        return f"{x:.{digits}f}"
    return str(value)


# --------------------------------------------------------------------------- the table
class Table:
    """A rendered table: ``.html`` (the markup), shown by Jupyter through ``_repr_html_``."""

    def __init__(self, html_text: str, frame: pd.DataFrame):
        self.html = html_text
        self.frame = frame

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:  # plain-text view (a terminal, papermill logs)
        return self.frame.to_string(index=False)


def _as_columns(df: pd.DataFrame, groups: Mapping | None) -> pd.DataFrame:
    """Apply ``groups`` (spanner label -> column names) as a two-level column index."""
    if not groups:
        return df
    owner = {}
    for spanner, cols in groups.items():
        for c in cols:
            if c not in df.columns:
                raise ValueError(f"groups: column {c!r} of {spanner!r} is not in the table "
                                 f"(columns: {', '.join(map(str, df.columns))})")
            owner[c] = spanner
    out = df.copy()
    out.columns = pd.MultiIndex.from_tuples([(owner.get(c, ""), c) for c in df.columns])
    return out


def _header_rows(columns, labels) -> list[str]:
    """``<tr>`` rows of the header: spanning cells for upper levels, then the labels."""
    if not isinstance(columns, pd.MultiIndex):
        cells = [f'<th class="\x00{j}\x00" scope="col">{html.escape(_label(c, labels))}</th>'
                 for j, c in enumerate(columns)]
        return ["<tr>" + "".join(cells) + "</tr>"]
    tuples = [tuple("" if (x is None or (isinstance(x, float) and math.isnan(x))) else x
                    for x in t) for t in columns]
    depth = len(tuples[0])
    # a column with one non-empty level (("", "p") or ("cohort", "") from reset_index)
    # spans the whole header (rowspan) with that level's label
    lone = [sum(str(x) != "" for x in t) <= 1 for t in tuples]
    lone_text = [next((x for x in t if str(x) != ""), "") for t in tuples]
    rows = []
    for level in range(depth):
        cells, j = [], 0
        while j < len(tuples):
            if lone[j]:
                if level == 0:
                    text = _label(lone_text[j], labels)
                    cells.append(f'<th class="\x00{j}\x00" scope="col" rowspan="{depth}">'
                                 f"{html.escape(text)}</th>")
                j += 1
                continue
            if level == depth - 1:
                cells.append(f'<th class="\x00{j}\x00" scope="col">'
                             f"{html.escape(_label(tuples[j][-1], labels))}</th>")
                j += 1
                continue
            k = j
            while (k + 1 < len(tuples) and not lone[k + 1]
                   and tuples[k + 1][: level + 1] == tuples[j][: level + 1]):
                k += 1
            text = _label(tuples[j][level], labels)
            span = k - j + 1
            cls = "hcc-span" if text else "hcc-span hcc-empty"
            cells.append(f'<th class="{cls}" scope="colgroup" colspan="{span}">'
                         f"{html.escape(text)}</th>")
            j = k + 1
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return rows


def _cell_html(text: str) -> str:
    """Escaped cell text; a newline in a text cell becomes a line break."""
    return html.escape(text).replace("\n", "<br>")


def _estimate_px(headers: list[str], cells: list[list[str]]) -> int:
    """A rough width of the table in CSS pixels (7.5 px per character at 15 px text)."""
    width = 0
    for j, head in enumerate(headers):
        longest_word = max((len(w) for w in head.split()), default=1)
        body = max((len(line) for row in cells for line in row[j].split("\n")), default=0)
        width += 7.5 * max(longest_word, min(body, 36)) + 18
    return int(width)


def table(df: pd.DataFrame, caption: str | None = None, digits: int | Mapping = 2, *,
          labels: Mapping | None = None, kinds: Mapping | None = None,
          groups: Mapping | None = None, test: str | None = None,
          note: str | Iterable[str] | None = None, index: bool = False,
          compact: bool | None = None, csv_name: str | None = None, na_rep: str = "",
          size_rows=None, patient_counts: bool = True) -> Table:
    """The HTML of a table as the book shows it (see the module docstring).

    Parameters
    ----------
    df
        The table. Columns may be a MultiIndex (grouped headers).
    caption
        Shown above the table.
    digits
        Decimals for ``number`` columns: one int, or ``{column: digits}`` (default 2).
    labels
        ``{column or value name: label}``: overrides :func:`helpers.labels.label` for
        headers (and spanner labels).
    kinds
        ``{column: "p" | "count" | "number" | "text"}``: overrides the inferred kinds.
    groups
        ``{spanner label: [columns]}``: grouped headers for a flat table.
    test
        The test behind the ``p`` column, printed as a footnote ("p: <test>.").
    note
        Further footnotes.
    index
        Show the index as the first column(s) (default: hidden, as before).
    compact
        For a published-beside-this-cohort table: ``None`` (default) folds it behind a summary
        line, ``False`` shows it open. Ignored for other tables.
    csv_name
        File name offered by the CSV download link of a compact table.
    na_rep
        Text for a missing number (default empty; e.g. ``"NR"`` for a median not reached).
    size_rows
        The rows that hold group sizes (the column totals of the counts below them): index
        labels of ``df`` or a boolean mask. Disclosure control
        (:func:`helpers.disclosure.protect_frame`) reads a bare whole number in them as a
        count of patients and uses them as the shown totals for complementary suppression.
        Default ``None``: found by the row label ("n", "Patients, n", ...), a fallback.
    patient_counts
        ``False`` for a table that counts no patients (the scorecard's verdicts per class):
        disclosure control leaves it as it is. Default ``True``.
    """
    if not isinstance(df, pd.DataFrame):
        if isinstance(df, pd.Series):
            df = df.to_frame()
        else:
            raise TypeError(f"show: expected a pandas DataFrame, got {type(df).__name__}")
    size_pos = _disclosure.row_positions(df, size_rows)
    if index:
        df = df.reset_index()
    if _is_comparison(df) and compact is not False:
        return _comparison(df, caption=caption, labels=labels, csv_name=csv_name, note=note)
    frame = _as_columns(df, groups)
    kinds = dict(kinds or {})
    for k in kinds.values():
        if k not in KINDS:
            raise ValueError(f"kinds: {k!r} is not one of {', '.join(KINDS)}")
    col_kinds, texts, col_digits = [], [], []
    for j, col in enumerate(frame.columns):
        values = frame.iloc[:, j]
        kind = kinds.get(col, kinds.get(_leaf(col), None)) or infer_kind(col, values)
        d = digits.get(col, digits.get(_leaf(col), 2)) if isinstance(digits, Mapping) else digits
        col_kinds.append(kind)
        col_digits.append(d)
        texts.append([_fmt_cell(v, kind, d, na_rep) for v in values])
    # disclosure control (helpers.disclosure): small counts, complementary cells, withheld
    # estimates; a no-op unless a policy is set (the shipped book is unchanged)
    frame, sdc_notes = (_disclosure.protect_frame(frame, col_kinds, where=caption or "table",
                                                 size_rows=size_pos) if patient_counts else (frame, []))
    if patient_counts and _disclosure.policy().on:  # a group size in a header ("High (n = 7)"), caption or note
        where = caption or "table"
        labels = {key: _disclosure.protect_text(v, where) if isinstance(v, str) else v
                  for key, v in (labels or {}).items()} or None
        caption = _disclosure.protect_text(caption, where) if caption else caption
        note = [_disclosure.protect_text(n, where) for n in ([note] if isinstance(note, str) else list(note or []))]
    if sdc_notes:
        texts = [[_fmt_cell(v, kind, d, na_rep) for v in frame.iloc[:, j]]
                 for j, (kind, d) in enumerate(zip(col_kinds, col_digits))]
    cells = [list(row) for row in zip(*texts)] if texts else []
    headers = [_label(next((x for x in reversed(c) if str(x) != ""), "") if isinstance(c, tuple)
                      else c, labels) for c in frame.columns]
    classes = []
    for j, kind in enumerate(col_kinds):
        cls = "hcc-num" if kind in ("p", "count", "number") else "hcc-txt"
        if kind == "p":
            cls += " hcc-p"
        longest = max((len(line) for r in cells for line in r[j].split("\n")), default=0)
        if kind == "text" and longest > 40:
            cls += " hcc-long"
        elif kind == "text" and longest <= 16:
            cls += " hcc-short"
        classes.append(cls)
    head = re.sub("\x00(\\d+)\x00", lambda m: classes[int(m.group(1))],
                  "\n".join(_header_rows(frame.columns, labels)))
    body = "\n".join(
        "<tr>" + "".join(f'<td class="{classes[j]}">{_cell_html(cell)}</td>'
                         for j, cell in enumerate(row)) + "</tr>"
        for row in cells)
    wide = _estimate_px(headers, cells) > COLUMN_PX
    notes = []
    if test:
        notes.append(f"p: {test.rstrip('.')}.")
    if note:
        notes.extend([note] if isinstance(note, str) else list(note))
    notes.extend(sdc_notes)
    # a table that counts no patients says so in its markup (the share test's scanner skips it)
    return Table(_wrap(head, body, caption, notes, wide,
                       table_class="" if patient_counts else " hcc-not-patients"), frame)


def _wrap(head: str, body: str, caption: str | None, notes: list[str], wide: bool,
          extra_class: str = "", table_class: str = "") -> str:
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    foot = "".join(f'<p class="hcc-table-note">{html.escape(n)}</p>' for n in notes)
    hint = ('<p class="hcc-scroll-hint" aria-hidden="true">Wide table: scroll sideways '
            "to see every column.</p>") if wide else ""
    label = f' aria-label="{html.escape(caption)}"' if caption else ""
    return (f'<div class="hcc-table{" hcc-wide" if wide else ""}{extra_class}">{hint}'
            f'<div class="hcc-scroll" role="region" tabindex="0"{label}>'
            f'<table class="hcc{table_class}">{cap}<thead>\n{head}\n</thead><tbody>\n{body}\n</tbody></table>'
            f"</div>{foot}</div>")


def show(df: pd.DataFrame, caption: str | None = None, digits: int | Mapping = 2, **options):
    """Display a table the book's way (:func:`table`; options as there). Returns None.

    Existing calls ``show(df, caption=..., digits=...)`` keep working; new keywords:
    ``labels``, ``kinds``, ``groups``, ``test``, ``note``, ``index``, ``compact``, ``csv_name``,
    ``na_rep``, ``size_rows`` (the group-size rows, for disclosure control), ``patient_counts``.
    """
    from IPython.display import HTML, display

    display(HTML(table(df, caption, digits, **options).html))


# --------------------------------------------------------------------------- comparison
def _is_comparison(df: pd.DataFrame) -> bool:
    cols = {str(c) for c in df.columns}
    return {"published", "reproduced", "verdict"} <= cols and ("id" in cols or "key" in cols)


def verdict_summary(verdicts: Iterable[str]) -> str:
    """``"42 published numbers: 30 exact, 4 within tolerance, 8 miss"`` (plain text)."""
    counts = pd.Series([v for v in verdicts if isinstance(v, str) and v]).value_counts()
    order = [v for v in VERDICT_ORDER if v in counts] + [v for v in counts.index
                                                        if v not in VERDICT_ORDER]
    total = int(counts.sum())
    parts = ", ".join(f"{int(counts[v])} {v}" for v in order)
    noun = "published number" if total == 1 else "published numbers"
    return f"{total} {noun}: {parts}" if total else "no published numbers"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "table"


def _comparison(df: pd.DataFrame, caption=None, labels=None, csv_name=None, note=None) -> Table:
    key = "id" if "id" in df.columns else "key"
    # the key goes under the quantity in one cell (small, breakable): the table stays narrow
    shown = [c for c in ("quantity", "published", "reproduced", "tolerance", "verdict", "note")
             if c in df.columns]
    frame = df[[key] + shown]
    verdicts = frame["verdict"].fillna("").astype(str)
    headers = [_label(c, labels) for c in shown]
    head = "<tr>" + "".join(
        f'<th class="{"hcc-txt hcc-long" if c == "note" else "hcc-txt"}" scope="col">'
        f"{html.escape(h)}</th>" for c, h in zip(shown, headers)) + "</tr>"
    rows = []
    for _, r in frame.iterrows():
        tds = []
        for c in shown:
            text = "" if pd.isna(r[c]) else str(r[c])
            if c == "verdict":
                v = _slug(text) if text else "none"
                tds.append(f'<td class="hcc-txt"><span class="hcc-verdict hcc-v-{v}">'
                           f"{html.escape(text)}</span></td>")
            elif c == "quantity":
                ident = "" if pd.isna(r[key]) else str(r[key])
                tds.append(f'<td class="hcc-txt hcc-quantity">{html.escape(_label(text, labels))}'
                           f'<br><code class="hcc-key">{html.escape(ident)}</code></td>')
            else:
                cls = "hcc-txt hcc-long" if c == "note" else "hcc-txt"
                tds.append(f'<td class="{cls}">{html.escape(text)}</td>')
        miss = ' class="hcc-row-miss"' if r["verdict"] == "miss" else ""
        rows.append(f"<tr{miss}>" + "".join(tds) + "</tr>")
    summary = verdict_summary(verdicts)
    n_miss = int((verdicts == "miss").sum())
    badges = " ".join(
        f'<span class="hcc-verdict hcc-v-{_slug(v)}">{int((verdicts == v).sum())} {html.escape(v)}</span>'
        for v in [x for x in VERDICT_ORDER if (verdicts == x).any()]
        + [x for x in dict.fromkeys(verdicts) if x and x not in VERDICT_ORDER])
    total = int((verdicts != "").sum())
    name = (csv_name or _slug(caption or "published-vs-this-cohort")) + ("" if (csv_name or "").endswith(".csv") else ".csv")
    data = base64.b64encode(df.to_csv(index=False).encode("utf-8")).decode("ascii")
    link = (f'<a class="hcc-download" download="{html.escape(name)}" '
            f'href="data:text/csv;charset=utf-8;base64,{data}">Download CSV</a>')
    cap = html.escape(caption) if caption else "Published beside this cohort"
    notes = [note] if isinstance(note, str) else list(note or [])
    foot = "".join(f'<p class="hcc-table-note">{html.escape(n)}</p>' for n in notes)
    html_text = (
        f'<div class="hcc-compare" data-summary="{html.escape(summary)}">'
        f'<p class="hcc-compare-title"><strong>{cap}</strong></p>'
        f'<p class="hcc-compare-summary">{total} published numbers: {badges}</p>'
        f"<details{' open' if n_miss and len(frame) <= 12 else ''}>"
        f"<summary>All {len(frame)} rows{f' ({n_miss} miss)' if n_miss else ''}</summary>"
        f'<div class="hcc-scroll" role="region" tabindex="0" aria-label="{cap}">'
        f'<table class="hcc hcc-compare-table"><thead>{head}</thead><tbody>\n'
        + "\n".join(rows) + "\n</tbody></table></div></details>"
        f"{foot}<p class=\"hcc-table-note\">{link}</p></div>"
    )
    return Table(html_text, frame)


def long_format(df: pd.DataFrame, id_columns, groups: Mapping[str, Iterable[str]],
                group_name: str = "group") -> pd.DataFrame:
    """Restructure a wide table with one block of columns per group into rows.

    ``groups`` maps each group label to its columns in a common order, e.g.
    ``{"IL-6 low": ["low_n", "low_median"], "IL-6 high": ["high_n", "high_median"]}``; the
    first group's column names (or ``value_names``) name the value columns. The result has
    ``id_columns``, ``group_name`` and one column per position: fewer, longer rows that fit
    the text column.
    """
    groups = {g: list(c) for g, c in groups.items()}
    widths = {len(c) for c in groups.values()}
    if len(widths) != 1:
        raise ValueError("long_format: every group needs the same number of columns")
    first = next(iter(groups.values()))
    parts = []
    for g, cols in groups.items():
        part = df[list(id_columns) + cols].copy()
        part.columns = list(id_columns) + first
        part.insert(len(id_columns), group_name, g)
        parts.append(part)
    order = np.argsort(np.tile(np.arange(len(df)), len(groups)), kind="stable")
    return pd.concat(parts, ignore_index=True).iloc[order].reset_index(drop=True)
