"""Output disclosure control: one policy, applied by every helper that shows a count.

A re-run on hospital data may be shared (co-authors, a journal club, a journal) only once
its outputs have been checked for small cells from which a patient could be singled out.
This module holds the one **disclosure policy** of a kernel, and the rules the book's
helpers apply with it, so that no chapter can forget them:

========================  ================================================================
where                     what happens with threshold ``k`` (a count ``0 < n < k`` is small)
========================  ================================================================
tables (``book.show``)    a small count shows as ``<k`` (:func:`protect_frame`); the
                          percentage in the same cell or row goes with it; when row or
                          column totals are shown, further cells are hidden (``c``) until no
                          hidden cell follows from the totals (:func:`suppress_matrix`); a
                          row whose ``n`` or ``events`` is small has its estimates withheld
prose (``helpers.prose``) ``n_of``, ``count_noun`` and ``percent`` print ``<k``
glued numbers, results     :meth:`helpers.results.Recorder.record` (:func:`protect_record`):
CSV                       a small count, or an estimate on fewer than ``k`` patients, is
                          glued and written as ``<k`` / withheld
figures (``plots``)       numbers at risk and bar labels print ``<k``
                          (:func:`count_text`); a Kaplan-Meier group with fewer than ``k``
                          patients is not drawn at all (:func:`protect_km`): its steps would
                          be individual event times; other curves end before their first
                          step among fewer than ``k`` at risk (:func:`km_tails`)
models                    :func:`protect_model`: a model with fewer than ``k`` events (or
                          residual degrees of freedom below ``k``, ACRO's rule) is withheld
========================  ================================================================

Zero counts are shown (a structural zero singles nobody out), as ``tables.table_one`` did.

Where the policy comes from
---------------------------
``k = 0`` (off) is the default: the shipped synthetic book is unchanged. In a kernel the
policy is the stricter of

* the environment variable :data:`ENV` (``HCC_BOOK_MIN_CELL_COUNT``), which
  ``python -m helpers run STUDY ... --share`` (k = :data:`SHARE_DEFAULT`) or
  ``--min-cell-count K`` sets for every chapter it executes, and
* the chapter's papermill parameter ``min_cell_count`` (``-p min_cell_count K``), read once
  from the kernel's namespace by :func:`from_kernel`, which :func:`helpers.book.data_banner`
  calls: every study chapter calls it first, so the parameter takes effect in every chapter
  that declares it, not only where a chapter passes it on.

Every suppression is logged (:func:`log`): in memory (:func:`events`) and, when the
environment variable :data:`LOG_ENV` names a file, as one JSON line per item; the run
command collects those lines into the disclosure report (``helpers.run``). The log says
*where* something was hidden and why, never the hidden value.

Why not ``acro``
----------------
ACRO (the SACRO output checker, PyPI ``acro``) wraps the analysis calls themselves
(``acro.crosstab``, ``acro.ols``, ``acro.surv_func``...) in a session that records and checks
each output, and finalises them for a human output checker. The book's tables, figures and
glued prose are made by its own helpers, so ACRO would check none of what a page shows
unless every helper were rewritten on top of it; its dependencies (openpyxl, lxml, rdflib,
PyYAML, tabulate) would be new to the book. The rules are taken from it instead: the
frequency threshold (ACRO's default is 10, as :data:`SHARE_DEFAULT`) and the residual
degrees of freedom rule for regressions (:func:`protect_model`).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

#: Environment variable holding the threshold (set by ``helpers run --share``).
ENV = "HCC_BOOK_MIN_CELL_COUNT"
#: Environment variable naming the JSON-lines file suppressions are appended to.
LOG_ENV = "HCC_BOOK_DISCLOSURE_LOG"
#: Environment variable naming the chapter being executed (for the log).
CHAPTER_ENV = "HCC_BOOK_CHAPTER"
#: Threshold of ``--share`` when no ``--min-cell-count`` is given (ACRO's default).
SHARE_DEFAULT = 10
#: Text of a cell hidden by complementary suppression (statistical offices print ``c``).
SECONDARY = "c"
#: Text of an estimate withheld because it rests on fewer than k patients or events.
WITHHELD = "withheld"


@dataclass(frozen=True)
class Policy:
    """The disclosure policy: counts ``0 < n < k`` are small; ``k = 0`` is off."""

    k: int = 0
    source: str = "default (off)"

    def __post_init__(self):
        if not isinstance(self.k, (int, np.integer)) or isinstance(self.k, bool) or self.k < 0:
            raise ValueError(f"min_cell_count must be a whole number >= 0, got {self.k!r}")

    @property
    def on(self) -> bool:
        return self.k > 0

    def hides(self, n) -> bool:
        """True if ``n`` is a small count under this policy (``0 < n < k``)."""
        if not self.on or n is None:
            return False
        try:
            x = float(n)
        except (TypeError, ValueError):
            return False
        return math.isfinite(x) and 0 < x < self.k

    @property
    def small(self) -> str:
        """The text a small count shows as: ``"<k"``."""
        return f"<{self.k}"

    def describe(self) -> str:
        if not self.on:
            return "off: every count is shown"
        return (f"threshold k = {self.k} ({self.source}): counts from 1 to {self.k - 1} show as "
                f"'{self.small}', percentages from them are hidden, cells that would give them "
                f"away through shown totals show as '{SECONDARY}', models with fewer than {self.k} "
                f"events and Kaplan-Meier groups with fewer than {self.k} patients are withheld")


_current: Policy | None = None
_events: list[dict] = []


def _env_policy() -> Policy:
    text = os.environ.get(ENV, "").strip()
    if not text:
        return Policy()
    try:
        k = int(text)
    except ValueError:
        raise ValueError(f"{ENV}={text!r}: not a whole number") from None
    return Policy(k, f"{ENV}")


def policy() -> Policy:
    """The policy in force: set by :func:`set_policy` / :func:`from_kernel`, else from the
    environment (:data:`ENV`), else off."""
    return _current if _current is not None else _env_policy()


def set_policy(k: int | None, source: str = "set_policy") -> Policy | None:
    """Set the kernel's policy to threshold ``k`` (``None``: back to the environment's)."""
    global _current
    _current = None if k is None else Policy(int(k), source)
    return _current


@contextlib.contextmanager
def using(k: int):
    """``with using(10): ...``: a policy for a block (tests)."""
    global _current
    before = _current
    _current = Policy(int(k), "using")
    try:
        yield _current
    finally:
        _current = before


def from_kernel() -> Policy:
    """Set the policy from the chapter's ``min_cell_count`` parameter if it is stricter than
    the environment's (called by :func:`helpers.book.data_banner`; outside a kernel, or with
    no such parameter, the policy is left as it is)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return policy()
    shell = get_ipython()
    value = None if shell is None else shell.user_ns.get("min_cell_count")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > policy().k:
        set_policy(int(value), "chapter parameter min_cell_count")
    display_through_renderer()
    check_figures_in_kernel()
    return policy()


# --------------------------------------------------------------------------- the log
def log(kind: str, where: str, reason: str) -> None:
    """Record one suppressed or withheld item (never its value)."""
    event = {"chapter": os.environ.get(CHAPTER_ENV, ""), "kind": kind, "where": str(where),
             "reason": reason, "k": policy().k}
    _events.append(event)
    target = os.environ.get(LOG_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")


def events() -> list[dict]:
    """The items suppressed in this process so far."""
    return list(_events)


def clear_events() -> None:
    _events.clear()


# --------------------------------------------------------------------------- counts
def hides(n) -> bool:
    """True if ``n`` is a small count under the current policy."""
    return policy().hides(n)


def count_text(n, where: str = "count") -> str:
    """A count as shown: ``"<k"`` if small (logged), else the whole number."""
    pol = policy()
    if pol.hides(n):
        log("count", where, f"count below {pol.k}")
        return pol.small
    return f"{int(round(float(n)))}"


# --------------------------------------------------------------------------- complementary
def _with_margins(x: np.ndarray) -> np.ndarray:
    """A two-way table with its row totals as a last column and column totals as a last row."""
    r, c = x.shape
    full = np.zeros((r + 1, c + 1))
    full[:r, :c] = x
    full[:r, c] = x.sum(axis=1)
    full[r, :c] = x.sum(axis=0)
    full[r, c] = x.sum()
    return full


def suppress_matrix(counts, primary=None, row_totals: bool = True, col_totals: bool = True,
                    k: int | None = None) -> np.ndarray:
    """Primary and complementary suppression of a two-way table of counts with margins.

    Parameters
    ----------
    counts
        ``r x c`` counts (the inner cells).
    primary
        ``r x c`` booleans: cells already to hide (default: ``0 < n < k``).
    row_totals, col_totals
        Whether each row's total (a total column) and each column's total (a total row, or
        group sizes) are shown. The grand total is shown when both are.
    k
        Threshold (default: the current policy's).

    Returns
    -------
    ndarray of str, shape ``(r + 1, c + 1)``
        ``"show"``, ``"primary"`` or ``"secondary"`` for every inner cell, with the row
        totals in the last column and the column totals in the last row (``"absent"`` where
        a margin is not shown).

    Notes
    -----
    The rule statistical offices use for small tables: a line (row or column, with its
    total) that is shown with exactly one hidden cell gives that cell away by subtraction, so
    the smallest other shown cell of the line (a non-zero one first, the total last) is
    hidden too; this is iterated until every line with a shown total has no hidden cell or at
    least two. Margins are cells too: a small total is hidden, and hiding one may call for
    another in the margin line. (Single-line checks are the usual rule; the tests also try
    to recover each hidden cell by linear programming over all shown totals.)
    """
    x = np.asarray(counts, dtype=float)
    if x.ndim != 2:
        raise ValueError("suppress_matrix: counts must be a two-way table")
    k = policy().k if k is None else int(k)
    r, c = x.shape
    full = _with_margins(x)
    state = np.full((r + 1, c + 1), "show", dtype=object)
    if not row_totals:
        state[:, c] = "absent"
    if not col_totals:
        state[r, :] = "absent"
    if primary is None:
        small = (full > 0) & (full < k)
    else:
        small = np.zeros_like(full, dtype=bool)
        small[:r, :c] = np.asarray(primary, dtype=bool)
        small[:r, c] = (full[:r, c] > 0) & (full[:r, c] < k)
        small[r, :c] = (full[r, :c] > 0) & (full[r, :c] < k)
        small[r, c] = 0 < full[r, c] < k
    state[small & (state != "absent")] = "primary"
    return _resuppress(x, state, k)


def recoverable(counts, state, k: int) -> list[tuple[int, int]]:
    """The hidden cells an attacker can pin to one value from what ``state`` shows.

    Linear programming over every shown total (rows, columns, grand total), with each cell
    shown as ``<k`` known to lie in ``[1, k - 1]`` and each ``c`` cell in ``[0, inf)``: a
    hidden cell is recoverable when its smallest and largest feasible values are equal.
    """
    from scipy.optimize import linprog

    x = np.asarray(counts, dtype=float)
    r, c = x.shape
    full = _with_margins(x)
    hidden = [(i, j) for i in range(r + 1) for j in range(c + 1)
              if state[i, j] in ("primary", "secondary")]
    if not hidden:
        return []
    index = {p: n for n, p in enumerate(hidden)}
    a_eq, b_eq = [], []
    lines = [[(i, j) for j in range(c + 1)] for i in range(r + 1)]
    lines += [[(i, j) for i in range(r + 1)] for j in range(c + 1)]
    for line in lines:
        if state[line[-1]] == "absent":
            continue
        # sum(inner cells of the line) - total = 0, known parts moved to the right side
        row = np.zeros(len(hidden))
        rhs = 0.0
        for p in line:
            sign = -1.0 if p == line[-1] else 1.0
            if p in index:
                row[index[p]] += sign
            elif state[p] == "show":
                rhs -= sign * full[p]
            else:
                row = None
                break
        if row is not None and row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    bounds = [(1, k - 1) if state[p] == "primary" else (0, None) for p in hidden]
    out = []
    for p, n in index.items():
        cost = np.zeros(len(hidden))
        cost[n] = 1
        lo = linprog(cost, A_eq=a_eq or None, b_eq=b_eq or None, bounds=bounds, method="highs")
        hi = linprog(-cost, A_eq=a_eq or None, b_eq=b_eq or None, bounds=bounds, method="highs")
        if lo.status == 0 and hi.status == 0 and abs(-hi.fun - lo.fun) < 0.5:
            out.append(p)
    return out


# --------------------------------------------------------------------------- tables
_N_PCT = re.compile(r"^\s*(\d+)\s*\(\s*\d+(?:\.\d+)?\s*%?\s*\)\s*$")
_N_OF = re.compile(r"^\s*(\d+)\s*/\s*(\d+)(\s*\(.*\))?\s*$")
_INT = re.compile(r"^\s*(\d+)\s*$")
_PCT_NAMES = ("pct", "percent", "%", "proportion", "share")
_N_COLUMNS = {"n", "patients", "n_patients", "events", "n_events", "n_event", "responders"}
_ROW_KEYS = ("variable", "label", "characteristic", "row")


#: A group's size column: ``n_low`` / ``low_n`` (its statistics end or start with ``low``).
_GROUP_N = re.compile(r"^n_(\w+)$|^(\w+)_n$")


def _shown(value) -> bool:
    """A cell that shows something (not empty, not missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return str(value).strip() not in ("", "nan", "NaN", "<NA>")


def _leaf(name) -> str:
    return str(name[-1] if isinstance(name, tuple) else name).strip()


def _cell_count(value, kind: str, count_row: bool):
    """The count a cell shows (int) or None; text cells count only as ``n (%)``, ``k/n`` or,
    in a row of group sizes, a bare whole number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        m = _N_PCT.match(value) or _N_OF.match(value) or (_INT.match(value) if count_row or kind == "count" else None)
        return int(m.group(1)) if m else None
    if kind == "count" and isinstance(value, (int, float, np.integer, np.floating)) \
            and not isinstance(value, bool) and math.isfinite(float(value)):
        return int(round(float(value)))
    return None


#: Row labels of a group-size row ("n", "Patients, n", "Patients with a response assessment",
#: "Number of patients"): a bare whole number in such a row is a count of patients.
_COUNT_ROW = re.compile(r"^(?:n|n \(patients\)|(?:number of )?patients\b.*)$")


def row_positions(frame: pd.DataFrame, rows) -> list[int] | None:
    """Positions of ``rows`` (index labels of ``frame``, or a boolean mask of its length) in
    ``frame``; ``None`` stays ``None`` (then the label fallback :func:`_is_count_row` is used)."""
    if rows is None:
        return None
    if isinstance(rows, (pd.Series, np.ndarray)) and np.asarray(rows).dtype == bool:
        mask = np.asarray(rows, dtype=bool)
        if len(mask) != len(frame):
            raise ValueError(f"size_rows: a mask of {len(mask)} rows for a table of {len(frame)}")
        return [int(i) for i in np.flatnonzero(mask)]
    rows = [rows] if np.isscalar(rows) else list(rows)
    missing = [r for r in rows if r not in frame.index]
    if missing:
        raise ValueError(f"size_rows: {missing} not in the table's index")
    return sorted({int(i) for r in rows for i in np.flatnonzero(frame.index == r)})


def _is_count_row(frame: pd.DataFrame, i: int) -> bool:
    """Fallback when the caller declares no ``size_rows``: a group-size row by its label."""
    for key in _ROW_KEYS:
        if key in [_leaf(c) for c in frame.columns]:
            j = [_leaf(c) for c in frame.columns].index(key)
            if _COUNT_ROW.match(str(frame.iloc[i, j]).strip().lower()):
                return True
    return False


def protect_frame(frame: pd.DataFrame, kinds: list[str], where: str = "table", size_rows=None):
    """Apply the policy to a table about to be shown.

    ``size_rows``: positions of the rows of group sizes (declared by the caller through
    :func:`helpers.book.show`); ``None`` falls back to finding them by their label
    (:data:`_COUNT_ROW`).

    Returns ``(frame, notes)``: a copy with small counts as ``"<k"`` (their percentages
    blanked), complementary cells as ``"c"`` and withheld estimates as ``"withheld"``, and
    the footnotes to print. With the policy off the frame is returned as is, with no notes.
    """
    pol = policy()
    if not pol.on or frame.empty:
        return frame, []
    out = frame.copy().astype(object)
    nrow, ncol = out.shape
    leaves = [_leaf(c).lower() for c in out.columns]
    counts = np.full((nrow, ncol), np.nan)
    stat = leaves.index("statistic") if "statistic" in leaves else None
    sizes = (set(size_rows) if size_rows is not None
             else {i for i in range(nrow) if _is_count_row(out, i)})
    for i in range(nrow):
        count_row = i in sizes
        if stat is not None and str(out.iat[i, stat]).strip().lower() not in ("n", "n (%)", "", "nan"):
            continue  # a row of means, medians...: no counts in it
        for j in range(ncol):
            n = _cell_count(out.iat[i, j], kinds[j], count_row)
            if n is not None:
                counts[i, j] = n
    state = np.full((nrow, ncol), "show", dtype=object)
    state[(counts > 0) & (counts < pol.k)] = "primary"
    already = np.zeros((nrow, ncol), dtype=bool)
    for i in range(nrow):
        for j in range(ncol):
            if isinstance(out.iat[i, j], str) and out.iat[i, j].strip().startswith("<") \
                    and re.fullmatch(r"<\d+", out.iat[i, j].strip()):
                already[i, j] = True   # suppressed upstream (e.g. table_one(min_count=...))
    _complementary(out, counts, state, already, leaves, pol.k, sorted(sizes))

    notes, n_primary, n_secondary, n_withheld = [], 0, 0, 0
    pct_cols = [j for j, name in enumerate(leaves) if any(w in name for w in _PCT_NAMES)]
    est_cols = [j for j, kd in enumerate(kinds) if kd in ("number", "p")]
    for i in range(nrow):
        row_small = False
        for j in range(ncol):
            if state[i, j] == "primary":
                out.iat[i, j] = pol.small
                n_primary += 1
                row_small = True
            elif state[i, j] == "secondary":
                out.iat[i, j] = SECONDARY
                n_secondary += 1
                row_small = True
        if row_small:
            for j in pct_cols:
                if state[i, j] == "show" and kinds[j] != "text":
                    out.iat[i, j] = ""
        small_n = [j for j, name in enumerate(leaves) if name in _N_COLUMNS and state[i, j] == "primary"]
        if small_n:
            for j in est_cols:
                if j not in pct_cols and state[i, j] == "show" and not pd.isna(frame.iat[i, j]):
                    out.iat[i, j] = WITHHELD
                    n_withheld += 1
        # a group's size in its own column (n_low beside mean_low, sd_low): its statistics go
        for j, name in enumerate(leaves):
            m = _GROUP_N.match(name)
            if not m or state[i, j] != "primary":
                continue
            g = m.group(1) or m.group(2)
            for jj, other in enumerate(leaves):
                if jj != j and (other.endswith("_" + g) or other.startswith(g + "_")) \
                        and state[i, jj] == "show" and _shown(frame.iat[i, jj]) \
                        and np.isnan(counts[i, jj]):
                    out.iat[i, jj] = WITHHELD
                    n_withheld += 1
    # a group-size row with a small group: that column's means, medians... (a statistic of
    # fewer than k patients) are withheld; its counts are small themselves
    for j in sorted({j for i in sizes for j in range(ncol) if state[i, j] == "primary"}):
        for i in range(nrow):
            if i not in sizes and state[i, j] == "show" and np.isnan(counts[i, j]) \
                    and _shown(frame.iat[i, j]):
                out.iat[i, j] = WITHHELD
                n_withheld += 1
    # a test of a table with a hidden cell: with the margins shown, its p-value narrows the
    # hidden cell down (each table the margins allow gives its own p), so it goes too; per
    # variable where the table has a variable column, else for the whole table
    p_cols = [j for j, kd in enumerate(kinds) if kd == "p"]
    hidden = {i for i in range(nrow) for j in range(ncol)
              if state[i, j] in ("primary", "secondary") or already[i, j]}
    for block in (_blocks(out, leaves) if p_cols and hidden else []):
        if hidden & set(block):
            for i in block:
                for j in p_cols:
                    if state[i, j] == "show" and _shown(frame.iat[i, j]) and out.iat[i, j] != WITHHELD:
                        out.iat[i, j] = WITHHELD
                        n_withheld += 1
    if n_primary or any(already.ravel()):
        notes.append(f"{pol.small}: fewer than {pol.k} patients (from 1 to {pol.k - 1}), not shown "
                     "so that no patient can be singled out; percentages from such counts are not shown.")
        log("table", where, f"{n_primary} small count(s) shown as {pol.small}")
    if n_secondary:
        notes.append(f"{SECONDARY}: hidden so that a count shown as {pol.small} cannot be worked out "
                     "from the totals (complementary suppression).")
        log("table", where, f"{n_secondary} cell(s) hidden by complementary suppression")
    if n_withheld:
        notes.append(f"{WITHHELD}: an estimate from fewer than {pol.k} patients or events, or the "
                     "test of a table with a hidden count (with the totals, its p-value would narrow "
                     "the count down).")
        log("table", where, f"{n_withheld} estimate(s) withheld (fewer than {pol.k} patients or events)")
    return out, notes


def _blocks(out: pd.DataFrame, leaves: list[str]) -> list[list[int]]:
    """Rows that form one two-way table: consecutive rows of one ``variable`` (blank
    ``variable`` cells continue the block above, as ``format_table_one`` prints them)."""
    if "variable" not in leaves:
        return [list(range(len(out)))]
    j = leaves.index("variable")
    blocks, current, last = [], [], None
    for i in range(len(out)):
        v = out.iat[i, j]
        v = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        if v and v != last:
            if current:
                blocks.append(current)
            current, last = [], v
        current.append(i)
    if current:
        blocks.append(current)
    return blocks


def _total_relations(sub: np.ndarray, leaves: list[str]) -> list[tuple[int, list[int]]]:
    """The total columns of a block: ``(t, parts)`` where column ``t`` equals the sum of the
    columns ``parts`` on every row (an "All" column beside IL-6 low/high and IL-8 low/high
    is the total of each pair). Searched over every subset of two or more other columns;
    a relation found by chance only hides more."""
    from itertools import combinations

    m = sub.shape[1]
    found = []
    if m < 3 or len(sub) < 2 or np.isnan(sub).any():
        return found
    for t in range(m):
        others = [j for j in range(m) if j != t]
        for size in range(2, len(others) + 1):
            for parts in combinations(others, size):
                if not sub[:, t].any():
                    continue
                if np.allclose(sub[:, list(parts)].sum(axis=1), sub[:, t]) \
                        and not any(set(p) < set(parts) for tt, p in found if tt == t):
                    found.append((t, list(parts)))
    return found


def _complementary(out, counts, state, already, leaves, k, size_rows) -> None:
    """Find the shown margins of each block of count cells and hide complementary cells.

    Each block (the rows of one variable) is a two-way table with, as shown totals: the
    group-size row (column totals; also given away by ``n (%)`` cells), and every total
    column found by :func:`_total_relations` (row totals of its part columns). Each such
    table is suppressed with :func:`suppress_matrix`, and the tables are gone through again
    until no cell changes (a cell hidden for one total may call for another elsewhere)."""
    nrow, ncol = counts.shape
    count_cols = [j for j in range(ncol) if (~np.isnan(counts[:, j]) | already[:, j]).any()]
    if len(count_cols) < 1:
        return
    blocks = _blocks(out, leaves)
    blocks += _partitions(out, counts, already, count_cols, size_rows, blocks)
    # a total column is a property of the columns, not of a block: found on every complete row
    # of the table, it also holds for a block of one row (a yes/no variable shown as its "yes"
    # row), where Total - Validation would give Discovery away
    complete = [i for i in range(nrow) if not np.isnan(counts[i, count_cols]).any()]
    table_relations = _total_relations(counts[np.ix_(complete, count_cols)], leaves) if complete else []
    before = None
    while before is None or (state != before).any():   # until no block changes another
        before = state.copy()
        _complementary_blocks(out, counts, state, already, leaves, k, size_rows, count_cols, blocks,
                              table_relations)


_N_PCT_VALUE = re.compile(r"^\s*(\d+)\s*\(\s*(\d+(?:\.\d+)?)\s*%?\s*\)\s*$")


def _partitions(out, counts, already, count_cols, size_rows, blocks) -> list[list[int]]:
    """Runs of consecutive rows that add up to their columns' group sizes in every column (a
    table with one row per level and no ``variable`` column: ECOG 0, ECOG 1, ECOG missing):
    each is a two-way table whose column totals are known (from a size row or from the
    ``n (%)`` cells, n / % x 100), so it is suppressed as a block too."""
    sizes = {}
    for j in count_cols:
        from_row = [counts[i, j] for i in size_rows if not np.isnan(counts[i, j])]
        if from_row:
            sizes[j] = from_row[0]
            continue
        guesses = []
        for i in range(len(out)):
            m = _N_PCT_VALUE.match(out.iat[i, j]) if isinstance(out.iat[i, j], str) else None
            if m and float(m.group(2)) > 0:
                guesses.append(round(int(m.group(1)) * 100 / float(m.group(2))))
        if guesses:
            sizes[j] = max(set(guesses), key=guesses.count)
    if any(j not in sizes for j in count_cols):
        return []
    target = np.array([sizes[j] for j in count_cols], dtype=float)
    runs = []
    for block in blocks:
        rows = [i for i in block if i not in size_rows
                and all(not np.isnan(counts[i, j]) and not already[i, j] for j in count_cols)]
        for a in range(len(rows)):
            for b in range(a + 2, min(a + 7, len(rows) + 1)):
                run = rows[a:b]
                if run != list(range(run[0], run[-1] + 1)) or run == block:
                    continue
                if np.allclose(counts[np.ix_(run, count_cols)].sum(axis=0), target):
                    runs.append(run)
    return runs


def _complementary_blocks(out, counts, state, already, leaves, k, size_rows, count_cols, blocks,
                          table_relations=()) -> None:
    for block in blocks:
        rows = [i for i in block if i not in size_rows
                and all(not np.isnan(counts[i, j]) or already[i, j] for j in count_cols)]
        if len(rows) < 1:
            continue
        sub = counts[np.ix_(rows, count_cols)]
        known = ~np.isnan(sub)
        relations = (_total_relations(sub, leaves) if known.all() else []) or list(table_relations)
        if not relations and len(count_cols) >= 3 and not known.all() and \
                any(w in leaves[count_cols[-1]] for w in ("total", "overall", "all")):
            relations = [(len(count_cols) - 1, list(range(len(count_cols) - 1)))]
        totals = {t for t, _ in relations}
        inner_all = [t for t in range(len(count_cols)) if t not in totals]
        # "n (%)" cells give their column's total away (n / % x 100) even where no total
        # is printed: treat the column totals as shown
        pct_shown = any(isinstance(out.iat[i, count_cols[t]], str)
                        and _N_PCT.match(out.iat[i, count_cols[t]]) for i in rows for t in range(len(count_cols)))
        # column totals: a group-size row the block's cells add up to (or cannot be checked)
        col_total_row = None
        for srow in size_rows:
            sizes = counts[srow, count_cols]
            if np.isnan(sizes).any():
                continue
            if not known.all() or np.allclose(np.where(known, sub, 0).sum(axis=0), sizes):
                col_total_row = srow
                break
        col_totals = col_total_row is not None or pct_shown
        tables = [(parts, t) for t, parts in relations]
        if not tables:
            tables = [(inner_all, None)]
        if not relations and not col_totals:
            continue

        def hidden(i, j):
            return already[i, j] or state[i, j] in ("primary", "secondary")

        changed = True
        while changed:
            changed = False
            for parts, t in tables:
                cols = parts + ([t] if t is not None else [])
                inner = np.where(known, sub, 0)[:, parts]
                primary = np.array([[hidden(i, count_cols[c]) or not known[a, c] for c in parts]
                                    for a, i in enumerate(rows)], dtype=bool)
                st = suppress_matrix(inner, primary=primary, row_totals=t is not None,
                                     col_totals=col_totals, k=k)
                # a total cell hidden already counts as hidden: re-run with it marked
                if t is not None:
                    for a, i in enumerate(rows):
                        if hidden(i, count_cols[t]) and st[a, -1] == "show":
                            st[a, -1] = "primary"
                    st = _resuppress(inner, st, k)
                for a, i in enumerate(rows):
                    for b, c in enumerate(cols):
                        j = count_cols[c]
                        if st[a, b if c != t else -1] == "secondary" and not hidden(i, j):
                            state[i, j] = "secondary"
                            changed = True
                if col_total_row is not None:
                    for b, c in enumerate(parts):
                        j = count_cols[c]
                        if st[-1, b] == "secondary" and state[col_total_row, j] == "show":
                            state[col_total_row, j] = "secondary"
                            changed = True


def _resuppress(inner: np.ndarray, state: np.ndarray, k: int) -> np.ndarray:
    """Continue :func:`suppress_matrix`'s line rule from a given state (cells already hidden
    stay hidden)."""
    full = _with_margins(np.asarray(inner, dtype=float))
    r, c = np.asarray(inner).shape
    state = state.copy()
    lines = [[(i, j) for j in range(c + 1)] for i in range(r + 1)]
    lines += [[(i, j) for i in range(r + 1)] for j in range(c + 1)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            total = line[-1]
            if state[total] == "absent":
                continue
            hid = [p for p in line if state[p] in ("primary", "secondary")]
            if len(hid) != 1:
                continue
            candidates = [p for p in line[:-1] if state[p] == "show"] or \
                ([total] if state[total] == "show" else [])
            if not candidates:
                continue
            nonzero = [p for p in candidates if full[p] > 0]
            pick = min(nonzero or candidates, key=lambda p: (full[p], p))
            state[pick] = "secondary"
            changed = True
    return state


# --------------------------------------------------------------------------- prose
_NOUNS = r"(?:patients?|deaths?|responders?|non-responders?|events?|progressions?|cases?|men|women)"
_PCT = r"(?P<pct>,\s*\d+(?:\.\d+)?\s*%|\s*\(\s*\d+(?:\.\d+)?\s*%?\s*\))?"
_TEXT_RULES = (
    # "3/12, 25.0%" or "3/12 (25.0%)": the count, and the share that gives it away
    re.compile(r"(?<![\d.<])(?P<k>\d+)\s*/\s*(?P<n>\d+)(?!\d|\.\d)" + _PCT),
    # "3 of 12 (25.0%)", "3 of 12 patients (25.0%)"
    re.compile(r"(?<![\d.<])(?P<k>\d+) of (?P<n>\d+)(?!\d|\.\d)(?P<noun>\s+[A-Za-z-]+)?" + _PCT),
    # "3 patients", "7 deaths"
    re.compile(r"(?<![\d.<])(?P<k>\d+)(?P<noun>\s+" + _NOUNS + r")\b"),
    # "n = 7" (a group size in a header or a legend)
    re.compile(r"(?<![\w.])(?P<pre>n\s*=\s*)(?P<k>\d+)(?!\d|\.\d)"),
)


def protect_text(text: str, where: str = "prose") -> str:
    """A piece of prose with every small count written as ``<k``: ``k/n`` and ``k of n``
    (with the percentage that follows, which would give ``k`` away), ``k patients`` and
    ``n = k``.
    For prose built by hand (an f-string in a study module or chapter); the prose helpers
    (:mod:`helpers.prose`) apply the policy themselves. Unchanged with the policy off."""
    pol = policy()
    if not pol.on or not isinstance(text, str):
        return text
    hidden = 0

    def repl(m):
        nonlocal hidden
        k = int(m.group("k"))
        groups = m.groupdict()
        n = int(groups["n"]) if groups.get("n") else None
        if not (pol.hides(k) or pol.hides(n) or (n is not None and pol.hides(n - k))):
            return m.group(0)
        hidden += 1
        if groups.get("pre") is not None:
            return groups["pre"] + pol.small
        if n is None:
            return pol.small + m.group("noun")
        sep = "/" if "/" in m.group(0).split(groups["n"])[0] else " of "
        # a small remainder n - k gives k away: show k as a bound ("more than n - k")
        shown_k = pol.small if pol.hides(k) or pol.hides(n) else f">{n - pol.k}"
        return f"{shown_k}{sep}{pol.small if pol.hides(n) else n}{groups.get('noun') or ''}"

    for rule in _TEXT_RULES:
        text = rule.sub(repl, text)
    if hidden:
        log("glued text", where, f"{hidden} small count(s) in prose shown as {pol.small}")
    return text


def display_through_renderer() -> None:
    """With the policy on, show every DataFrame a chapter leaves as a cell's last value (or
    passes to ``display``) through the book's table renderer, so a raw ``df`` or
    ``value_counts()`` gets the same suppression as :func:`helpers.book.show`. Called by
    :func:`from_kernel`; nothing changes with the policy off."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None or not policy().on:
        return
    from . import book

    def as_html(df):
        return book.table(df if isinstance(df, pd.DataFrame) else df.to_frame(), index=True).html

    def as_text(df, p, cycle):
        p.text(str(book.table(df if isinstance(df, pd.DataFrame) else df.to_frame(), index=True)))

    for kind in (pd.DataFrame, pd.Series):
        shell.display_formatter.formatters["text/html"].for_type(kind, as_html)
        shell.display_formatter.formatters["text/plain"].for_type(kind, as_text)


# --------------------------------------------------------------------------- figure check
_FIG_RULES = (
    re.compile(r"^\s*(?P<k>\d+)\s*$"),                                   # a risk-table / bar number
    re.compile(r"(?<![\d.<>])(?P<k>\d+)\s*/\s*(?P<n>\d+)(?!\d|\.\d)"),        # 3/12
    re.compile(r"(?<![\w.<>])n\s*=\s*(?P<k>\d+)(?!\d|\.\d)"),                 # n = 5
    re.compile(r"(?<![\d.<>])(?P<k>\d+)\s*\(\s*\d+(?:\.\d+)?\s*%\s*\)"),      # 5 (12.5%)
    re.compile(r"(?<![\d.<>])(?P<k>\d+) (?:of \d+ )?" + _NOUNS + r"\b"),     # 5 patients
)


def small_counts_in(text: str, k: int | None = None, bare: bool = True) -> list[str]:
    """The pieces of a figure's text that show a count from 1 to ``k - 1``: a bare whole
    number (a number at risk, a bar label; only if ``bare``: tick labels are axis values),
    ``k/n``, ``n = k``, ``k (p%)`` and ``k patients``. Empty with the policy off."""
    k = policy().k if k is None else int(k)
    if k <= 0 or not isinstance(text, str):
        return []
    found = []
    for rule in _FIG_RULES[(0 if bare else 1):]:
        for m in rule.finditer(text):
            values = [int(m.group("k"))] + ([int(m.group("n"))] if "n" in m.groupdict() and m.group("n") else [])
            if any(0 < v < k for v in values):
                found.append(m.group(0).strip())
    return found


def figure_texts(fig) -> list[tuple[str, bool]]:
    """Every text a figure shows, as ``(text, bare)``: ``bare`` is False for tick labels
    (axis values, where a bare number is no count)."""
    out = [(t.get_text(), True) for t in fig.texts]
    if getattr(fig, "_suptitle", None) is not None:
        out.append((fig._suptitle.get_text(), True))
    for ax in fig.axes:
        out += [(t.get_text(), True) for t in ax.texts]
        out += [(ax.title.get_text(), True), (ax._left_title.get_text(), True),
                (ax._right_title.get_text(), True)]
        out += [(t.get_text(), False) for t in ax.get_xticklabels() + ax.get_yticklabels()]
        out += [(ax.get_xlabel(), False), (ax.get_ylabel(), False)]
        leg = ax.get_legend()
        if leg is not None:
            out += [(t.get_text(), True) for t in leg.get_texts()] + [(leg.get_title().get_text(), True)]
    return [(t, b) for t, b in out if t]


def check_figure(fig, where: str = "figure") -> list[str]:
    """The small counts a figure would show (:func:`small_counts_in` over
    :func:`figure_texts`); each is logged as a ``figure leak`` (an output-check failure)."""
    found = []
    for text, bare in figure_texts(fig):
        found += small_counts_in(text, bare=bare)
    for piece in found:
        log("figure leak", where, f"a figure shows {piece!r} (a count below {policy().k})")
    return found


_figure_hook = None


def check_figures_in_kernel() -> None:
    """With the policy on, check every figure before the inline backend shows it
    (:func:`check_figure`): the output checker's look at the figures. Registered once per
    kernel: first among the ``post_execute`` callbacks (the inline backend's
    ``flush_figures`` shows and closes the figures a cell leaves open there), and before
    ``plt.show()`` (which shows and closes them within the cell)."""
    global _figure_hook
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    if shell is None or not policy().on or _figure_hook is not None:
        return

    def hook():
        import sys

        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None:
            return
        for num in plt.get_fignums():
            check_figure(plt.figure(num), where=f"figure {num}")

    _figure_hook = hook
    shell.events.callbacks["post_execute"].insert(0, hook)
    # plt.show() shows and closes the figures within the cell: check them there too
    import matplotlib.pyplot as plt

    shown = plt.show

    def show(*args, **kwargs):
        hook()
        return shown(*args, **kwargs)

    plt.show = show


# --------------------------------------------------------------------------- records
#: Words of a results key that make its estimate a count (``validation_count_patients``,
#: ``total_male_n``, ``deaths``...): only such keys are treated as counts, so a cut-off of
#: 2 points or a median of 7 months recorded with 0 decimals is not hidden.
_COUNT_KEY_WORDS = {"count", "n", "events", "deaths", "patients", "responders", "progressions"}


def protect_record(key: str, estimate, lower, upper, p, n, digits: int, text: str):
    """What :meth:`helpers.results.Recorder.record` glues and writes under the policy.

    Returns ``(estimate, lower, upper, p, n, text, n_text)``. A count (a key with a word of
    :data:`_COUNT_KEY_WORDS`, a whole estimate, no interval) that is small becomes ``"<k"``;
    a percentage (key word ``pct``/``percent``) of ``n`` whose count or remainder is small,
    and a row whose ``n`` is small, keep no estimate (``"withheld"``); hand-made text goes
    through :func:`protect_text`; ``n_text`` is the glued ``n``.
    """
    pol = policy()
    n_text = None if n is None else f"{int(n)}"
    if not pol.on:
        return estimate, lower, upper, p, n, text, n_text
    words = set(str(key).lower().split("_"))
    whole = (estimate is not None and math.isfinite(float(estimate))
             and float(estimate) == round(float(estimate)))
    is_count = bool(words & _COUNT_KEY_WORDS) and whole and lower is None and upper is None
    if is_count and pol.hides(estimate):
        log("glued number", key, f"count below {pol.k}")
        return None, None, None, None, None, pol.small, pol.small
    if n is not None and pol.hides(n):
        log("glued number", key, f"estimate from fewer than {pol.k} patients withheld")
        return None, None, None, None, None, f"{WITHHELD} (fewer than {pol.k} patients)", pol.small
    if words & {"pct", "percent"} and n is not None and estimate is not None \
            and math.isfinite(float(estimate)):
        k = round(float(estimate) * float(n) / 100)
        if pol.hides(k) or pol.hides(float(n) - k):
            log("glued number", key, f"percentage of a count below {pol.k} withheld")
            return None, None, None, None, n, f"{WITHHELD} (a count below {pol.k})", n_text
    shown = protect_text(text, key)
    if shown != text:  # the text gave a small count away: so would the estimate
        return None, None, None, None, n, shown, n_text
    return estimate, lower, upper, p, n, text, n_text


def protect_model(table: pd.DataFrame, n: int, events: int, n_parameters: int | None = None,
                  what: str = "model", non_events: int | None = None, estimates=None):
    """A regression table as it may be shown: ``(table, note)``.

    The note always reports the model's ``n`` and ``events``. The table is withheld when the
    model has fewer than ``k`` events (or, given ``non_events``, fewer than ``k`` patients
    without the event: a logistic model of a response), or fewer than ``k`` residual degrees
    of freedom (``n - n_parameters``, ACRO's rule for regressions), under the current policy:
    an empty frame with the same columns, or, given ``estimates`` (column names), the same
    rows with those columns empty (so a caller that picks a term's row still finds it).
    """
    pol = policy()
    note = f"{what}: n = {count_text(n, what)}, events = {count_text(events, what)}."
    dof = None if n_parameters is None else n - n_parameters
    few = [events] + ([] if non_events is None else [non_events])
    if pol.on and (any(e < pol.k for e in few) or n < pol.k or (dof is not None and dof < pol.k)):
        log("model", what, f"fewer than {pol.k} events or residual degrees of freedom: withheld")
        note += f" Withheld: fewer than {pol.k} events or residual degrees of freedom."
        if estimates is None:
            return table.iloc[0:0], note
        out = table.copy()
        out[list(estimates)] = np.nan
        return out, note
    return table, note


#: The estimate columns of a Cox table (:data:`helpers.survival.COX_COLUMNS` but the term).
COX_ESTIMATES = ["coef", "se", "hr", "lower", "upper", "z", "p"]


def protect_cox(res, what: str = "Cox model"):
    """A Cox fit (:class:`helpers.survival.CoxResult`) as a page may show it: its table through
    :func:`protect_model` (fewer than ``k`` events, or ``n - terms`` below ``k``: the rows stay,
    the estimates and the likelihood-ratio test go), the note in ``table.attrs["disclosure"]``.
    The study modules apply it to the fits a chapter shows (:func:`helpers.fitcache.cox`), not
    inside :func:`helpers.survival.cox`: permutation nulls and bootstraps fit many small models
    whose single estimates are never shown."""
    import dataclasses

    if not policy().on:
        return res
    table, note = protect_model(res.table, n=res.n, events=res.events, n_parameters=len(res.table),
                                what=what, estimates=COX_ESTIMATES)
    table.attrs["disclosure"] = note
    if len(table) and table[COX_ESTIMATES].isna().all(axis=None):
        return dataclasses.replace(res, table=table, lr_statistic=math.nan, lr_p=math.nan,
                                   covariance=None if res.covariance is None else res.covariance * np.nan,
                                   concordance_inputs=None)
    return dataclasses.replace(res, table=table)


def protect_univariable(table: pd.DataFrame, what: str = "univariable Cox model") -> pd.DataFrame:
    """A stacked univariable Cox table (:func:`helpers.survival.cox_univariable`: ``covariate``,
    estimates, ``n``, ``events``) with each covariate's model through :func:`protect_model`."""
    if not policy().on or table.empty:
        return table
    out = table.copy()
    for cov, part in table.groupby("covariate", sort=False):
        shown, _ = protect_model(part, n=int(part["n"].iloc[0]), events=int(part["events"].iloc[0]),
                                 n_parameters=len(part), what=f"{what} of {cov}", estimates=COX_ESTIMATES)
        out.loc[part.index, COX_ESTIMATES] = shown[COX_ESTIMATES]
    return out


def protect_km(km: pd.DataFrame, group: str = "group", where: str = "Kaplan-Meier plot"):
    """A Kaplan-Meier table (``helpers.survival`` form: ``group, time, n_risk, ...``) without
    the groups that start with fewer than ``k`` patients: ``(km, withheld groups)``.

    Such a group's curve is not drawn at all (its steps are individual event times, and
    rounding or delaying them would still show a handful of patients); the plot says so.
    """
    pol = policy()
    if not pol.on or km is None or group not in km.columns or "n_risk" not in km.columns:
        return km, []
    start = km.groupby(group, sort=False, observed=True)["n_risk"].max()
    gone = [g for g, n in start.items() if pol.hides(n)]
    if not gone:
        return km, []
    for g in gone:
        log("Kaplan-Meier group", f"{where}: {g}", f"group of fewer than {pol.k} patients not drawn")
    return km[~km[group].isin(gone)], gone


def km_tails(km: pd.DataFrame, group: str = "group", where: str = "Kaplan-Meier plot") -> pd.DataFrame:
    """The rows of a Kaplan-Meier table a curve may be drawn from: each curve ends before its
    first step taken among fewer than ``k`` patients at risk (a step there is one patient's
    event time). The number-at-risk table is read from the full table (it shows ``<k``).
    Unchanged with the policy off."""
    pol = policy()
    if not pol.on or km is None or "n_risk" not in km.columns or km.empty:
        return km
    keep = ~km["n_risk"].map(pol.hides)
    if keep.all():
        return km
    for g in km.loc[~keep, group].drop_duplicates():
        log("Kaplan-Meier tail", f"{where}: {g}", f"curve ends where fewer than {pol.k} patients are at risk")
    return km[keep]


# --------------------------------------------------------------------------- output checks
def _id_columns(cohort: pd.DataFrame) -> list[str]:
    return [c for c in cohort.columns if c.lower() == "id" or c.lower().endswith("_id")]


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9_.\-]+", text))


def _trivial(value: str) -> bool:
    """Values too common to single out a record: words (categories: ``derivation``, ``male``)
    and whole numbers below 1,000 (ages, scores, counts); measurements with decimals and
    large numbers are distinctive."""
    if not re.fullmatch(r"-?\d+(\.\d+)?", value):
        return True
    return bool(re.fullmatch(r"-?\d{1,3}(\.0+)?", value))


def check_outputs(files: Iterable, cohort: pd.DataFrame, forbidden_paths: Iterable[str] = (),
                  min_values: int = 4) -> pd.DataFrame:
    """Check output files as an output checker would: one row per problem found.

    * ``identifier``: a value of an id column of the cohort (``*_id``) occurs in a file as a
      whole word (ids of fewer than 4 characters are too short to look for and are reported
      once as ``identifier not checkable``);
    * ``patient-level row``: one line of a file (a CSV line, an HTML table row, a notebook
      line) holds ``min_values`` or more distinct distinctive values (measurements with
      decimals, numbers of 1,000 or more) of one cohort row; on a 40-patient cohort with about
      20 measurements each, 3 gave chance matches with printed estimates, 4 none;
    * ``absolute path``: a path of the machine (``forbidden_paths``) occurs in a file.

    Columns: ``file, check, detail``; empty when the outputs pass.
    """
    ids = []
    for col in _id_columns(cohort):
        ids += [str(v) for v in cohort[col].dropna().astype(str)]
    short = [i for i in ids if len(i) < 4]
    ids = [i for i in ids if len(i) >= 4]
    # inverted index: distinctive value -> cohort rows holding it
    index: dict[str, set[int]] = {}
    values = cohort.drop(columns=_id_columns(cohort))
    for r, row in enumerate(values.itertuples(index=False)):
        for v in row:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            forms = {str(v)}
            if isinstance(v, float) and v == round(v):
                forms.add(str(int(v)))
            for s in forms:
                if not _trivial(s):
                    index.setdefault(s, set()).add(r)
    problems = []
    if short:
        problems.append(dict(file="", check="identifier not checkable",
                             detail=f"{len(short)} id(s) shorter than 4 characters"))
    forbidden = [p for p in dict.fromkeys(str(p) for p in forbidden_paths) if p and p != "/"]
    for f in files:
        text = open(f, encoding="utf-8", errors="replace").read()
        name = str(f)
        toks = _tokens(text)
        found = [i for i in ids if i in toks]
        if found:
            problems.append(dict(file=name, check="identifier",
                                 detail=f"{len(found)} patient id(s), e.g. {found[0]!r}"))
        for p in forbidden:
            if p in text:
                problems.append(dict(file=name, check="absolute path", detail=p))
        for line in re.split(r"\n|</tr>|\\n", text):
            hits: dict[int, int] = {}
            for t in _tokens(line):  # distinct tokens: one value printed twice counts once
                for r in index.get(t, ()):
                    hits[r] = hits.get(r, 0) + 1
            worst = max(hits.values(), default=0)
            if worst >= min_values:
                problems.append(dict(file=name, check="patient-level row",
                                     detail=f"a line holds {worst} values of one patient's row: "
                                            f"{line.strip()[:80]!r}"))
                break
    return pd.DataFrame(problems, columns=["file", "check", "detail"])


# --------------------------------------------------------------------------- shareable runs
#: File name of the suppression log inside a shareable run (collected into the report).
LOG_NAME = "disclosure_log.jsonl"
PRIVATE, SHAREABLE, NOT_SAFE = "private", "shareable", "shareable_NOT_SAFE"


def _machine_paths(*extra) -> list[str]:
    """Absolute paths of this machine that must not appear in a shareable output (longest
    first, so a path is replaced before its parent)."""
    import sys
    from pathlib import Path

    from . import paths

    found = {str(p) for p in extra if p}
    for p in (paths.ROOT, Path(sys.prefix), Path.home()):
        found.add(str(p))
        try:
            found.add(str(Path(p).resolve()))
        except OSError:  # pragma: no cover
            pass
    return sorted((p for p in found if p not in ("/", "")), key=len, reverse=True)


def scrub_paths(text: str, replacements: dict) -> str:
    """``text`` with every absolute path of the machine replaced by a neutral name."""
    for path, name in sorted(replacements.items(), key=lambda kv: len(kv[0]), reverse=True):
        text = text.replace(path, name)
    return text


def run_shareable(staging, study, cohort, chapters, user, digest, progress, html, k, runner,
                  final) -> str:
    """Run a study twice into ``staging``: ``private/`` (as an ordinary run, full precision)
    and ``shareable/`` (threshold ``k``, default :data:`SHARE_DEFAULT`), then scrub the
    shareable notebooks of machine paths, export their HTML, check every shareable file
    (:func:`check_outputs`) and write ``disclosure_report.md`` and ``.csv`` beside them. A
    shareable folder that fails a check is named ``shareable_NOT_SAFE``. Returns the summary
    to print. ``runner`` is the module :mod:`helpers.run` (passed in, not imported: a chapter
    that imports this module must not depend on the run command's imports)."""
    import json
    from pathlib import Path

    _run = runner
    run_into = runner._run_into

    k = SHARE_DEFAULT if k is None else int(k)
    if k < 1:
        raise _run.RunError(f"--min-cell-count {k}: must be 1 or more for a shareable output")
    private, share = staging / PRIVATE, staging / SHAREABLE
    private.mkdir()
    share.mkdir()
    summary, timings = run_into(private, study, cohort, chapters, user, digest, progress, html)
    (private / "run.json").write_text(json.dumps({
        "study": study, "cohort": str(cohort), "cohort_sha256": digest, "parameters": user,
        "chapters": [c.stem for c in chapters], "seconds": timings, "disclosure": "none: private"},
        indent=2, default=str) + "\n")
    (private / "PRIVATE.txt").write_text(
        "Full-precision results of a real cohort, for the researcher only: small counts are NOT "
        "hidden here. Do not share this folder; share ../shareable/ (checked, see its "
        "disclosure_report.md).\n")
    # the shareable book is built like the private one (helpers.runbook), under the policy
    share_summary, _ = run_into(share, study, cohort, chapters, user, digest, progress, html,
                                share_k=k)
    # every absolute path of the machine -> a neutral name (staging and final folders too)
    replacements = {str(cohort): cohort.name, str(cohort.parent): "<cohort folder>"}
    for base in (staging, final):
        replacements[str(base / SHAREABLE / "results")] = "results"
        replacements[str(base / SHAREABLE)] = "."
        replacements[str(base)] = "<run folder>"
    for p in _machine_paths():
        replacements.setdefault(p, "<machine path>")
    for nb in sorted(share.rglob("*.ipynb")):  # the book's _sources copies too
        nb.write_text(scrub_paths(nb.read_text(encoding="utf-8"), replacements), encoding="utf-8")
    for f in [*share.rglob("*.csv"), *share.rglob("*.html"), *share.rglob("*.txt"), *share.rglob("*.js")]:
        f.write_text(scrub_paths(f.read_text(encoding="utf-8"), replacements), encoding="utf-8")
    (share / "run.json").write_text(json.dumps({
        "study": study, "cohort": cohort.name, "parameters": user,
        "chapters": [c.stem for c in chapters], "min_cell_count": k}, indent=2, default=str) + "\n")
    log_file = share / LOG_NAME
    items = [json.loads(line) for line in log_file.read_text().splitlines()] if log_file.exists() else []
    log_file.unlink(missing_ok=True)
    import pandas as pd

    cohort_df = pd.read_csv(cohort)
    files = [f for f in share.rglob("*") if f.is_file() and f.suffix in (".ipynb", ".html", ".csv", ".json", ".md")]
    forbidden = _machine_paths(str(cohort.parent), str(staging), str(final))
    problems = check_outputs(files, cohort_df, forbidden)
    # figures are images: their texts were checked in the kernels (check_figures_in_kernel)
    leaks = [i for i in items if i.get("kind") == "figure leak"]
    items = [i for i in items if i.get("kind") != "figure leak"]
    if leaks:
        problems = pd.concat([problems, pd.DataFrame(
            [dict(file=f"{i['chapter']}.ipynb", check="figure text", detail=f"{i['where']}: {i['reason']}")
             for i in leaks])], ignore_index=True)
    problems["file"] = [str(Path(f).relative_to(share)) if f and str(f).startswith(str(share)) else f
                        for f in problems["file"]]
    report = write_report(share, Policy(k, "--share" if k == SHARE_DEFAULT else "--min-cell-count"),
                          items, problems)
    serious = problems[problems["check"] != "identifier not checkable"]
    name = SHAREABLE
    if not serious.empty:
        name = NOT_SAFE
        share.rename(staging / NOT_SAFE)
    lines = [summary, f"private (full precision, do not share): {final / PRIVATE}",
             f"{name}: {final / name} (threshold {k}; {len(items)} item(s) suppressed or withheld; "
             f"report: {final / name / report.name})"]
    if not serious.empty:
        lines.append(f"WARNING: the shareable output failed {len(serious)} check(s) (see the report): "
                     "do not share it as it is")
    return "\n".join(lines)


def write_report(folder, pol: Policy, items: list[dict], problems: pd.DataFrame):
    """``disclosure_report.md`` (and ``disclosure_report.csv``, one row per item) in
    ``folder``: the policy, every suppressed or withheld item by chapter, the output checks."""
    from pathlib import Path

    folder = Path(folder)
    table = pd.DataFrame(items, columns=["chapter", "kind", "where", "reason", "k"])
    table.to_csv(folder / "disclosure_report.csv", index=False)
    lines = ["# Disclosure report", "", f"Policy: {pol.describe()}.", "",
             "Zero counts are shown. Kaplan-Meier curves of groups under the threshold are not "
             "drawn; regression tables with fewer events than the threshold are withheld where "
             "the helpers that make them apply `protect_model`.", "",
             "## Output checks", ""]
    if problems.empty:
        lines.append("Passed: no patient identifier, no patient-level row and no absolute path "
                     "of this machine in any file of this folder, and no count below the "
                     "threshold in the text of any figure.")
    else:
        for r in problems.itertuples(index=False):
            lines.append(f"- **{r.check}** {r.file}: {r.detail}")
    lines += ["", f"## Suppressed or withheld ({len(table)} items)", ""]
    if table.empty:
        lines.append("Nothing was below the threshold.")
    else:
        lines += ["| chapter | kind | where | reason |", "| --- | --- | --- | --- |"]
        for r in table.itertuples(index=False):
            where = str(r.where).replace("|", "/")
            lines.append(f"| {r.chapter} | {r.kind} | {where} | {r.reason} |")
    target = folder / "disclosure_report.md"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target
