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
                          be individual event times
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
        return set_policy(int(value), "chapter parameter min_cell_count")
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
    full = np.zeros((r + 1, c + 1))
    full[:r, :c] = x
    full[:r, c] = x.sum(axis=1)
    full[r, :c] = x.sum(axis=0)
    full[r, c] = x.sum()
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

    def lines():
        for i in range(r + 1):
            yield [(i, j) for j in range(c + 1)]
        for j in range(c + 1):
            yield [(i, j) for i in range(r + 1)]

    changed = True
    while changed:
        changed = False
        for line in lines():
            total = line[-1]
            if state[total] == "absent":
                continue  # no total shown for this line: nothing follows by subtraction
            hidden = [p for p in line if state[p] in ("primary", "secondary")]
            if len(hidden) != 1:
                continue
            candidates = [p for p in line[:-1] if state[p] == "show"]
            if not candidates:
                candidates = [total] if state[total] == "show" else []
            if not candidates:
                continue
            nonzero = [p for p in candidates if full[p] > 0]
            pick = min(nonzero or candidates, key=lambda p: (full[p], p))
            state[pick] = "secondary"
            changed = True
    return state


def recoverable(counts, state, k: int) -> list[tuple[int, int]]:
    """The hidden cells an attacker can pin to one value from what ``state`` shows.

    Linear programming over every shown total (rows, columns, grand total), with each cell
    shown as ``<k`` known to lie in ``[1, k - 1]`` and each ``c`` cell in ``[0, inf)``: a
    hidden cell is recoverable when its smallest and largest feasible values are equal.
    """
    from scipy.optimize import linprog

    x = np.asarray(counts, dtype=float)
    r, c = x.shape
    full = np.zeros((r + 1, c + 1))
    full[:r, :c] = x
    full[:r, c] = x.sum(axis=1)
    full[r, :c] = x.sum(axis=0)
    full[r, c] = x.sum()
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
_ROW_KEYS = ("variable", "label")


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


def _is_count_row(frame: pd.DataFrame, i: int) -> bool:
    for key in _ROW_KEYS:
        if key in [_leaf(c) for c in frame.columns]:
            j = [_leaf(c) for c in frame.columns].index(key)
            if str(frame.iloc[i, j]).strip().lower() in ("n", "patients", "n (patients)"):
                return True
    return False


def protect_frame(frame: pd.DataFrame, kinds: list[str], where: str = "table"):
    """Apply the policy to a table about to be shown.

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
    for i in range(nrow):
        count_row = _is_count_row(out, i)
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
    _complementary(out, counts, state, already, leaves, pol.k)

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
    if n_primary or any(already.ravel()):
        notes.append(f"{pol.small}: fewer than {pol.k} patients (from 1 to {pol.k - 1}), not shown "
                     "so that no patient can be singled out; percentages from such counts are not shown.")
        log("table", where, f"{n_primary} small count(s) shown as {pol.small}")
    if n_secondary:
        notes.append(f"{SECONDARY}: hidden so that a count shown as {pol.small} cannot be worked out "
                     "from the totals (complementary suppression).")
        log("table", where, f"{n_secondary} cell(s) hidden by complementary suppression")
    if n_withheld:
        notes.append(f"{WITHHELD}: an estimate from fewer than {pol.k} patients or events.")
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


def _complementary(out, counts, state, already, leaves, k) -> None:
    """Find the shown margins of each block of count cells and hide complementary cells."""
    nrow, ncol = counts.shape
    count_cols = [j for j in range(ncol) if (~np.isnan(counts[:, j]) | already[:, j]).any()]
    if len(count_cols) < 1:
        return
    size_rows = [i for i in range(nrow) if _is_count_row(out, i)]
    for block in _blocks(out, leaves):
        rows = [i for i in block if i not in size_rows
                and all(not np.isnan(counts[i, j]) or already[i, j] for j in count_cols)]
        if len(rows) < 1:
            continue
        sub = counts[np.ix_(rows, count_cols)]
        known = ~np.isnan(sub)
        # a total column: equals the sum of the other count columns on every (known) row
        total_col = None
        if len(count_cols) >= 3 and known.all():
            for t in range(len(count_cols)):
                others = np.delete(sub, t, axis=1).sum(axis=1)
                if np.allclose(others, sub[:, t]):
                    total_col = t
                    break
        elif len(count_cols) >= 3:
            total_col = len(count_cols) - 1 if any(w in leaves[count_cols[-1]] for w in ("total", "overall", "all")) else None
        inner_cols = [t for t in range(len(count_cols)) if t != total_col]
        # column totals: a group-size row the block's cells add up to (or cannot be checked)
        col_total_row = None
        for s in size_rows:
            sizes = counts[s, [count_cols[t] for t in inner_cols]]
            if np.isnan(sizes).any():
                continue
            if not known.all() or np.allclose(sub[:, inner_cols].sum(axis=0), sizes):
                col_total_row = s
                break
        # "n (%)" cells give their column's total away (n / % x 100) even where no total
        # is printed: treat the column totals as shown
        pct_shown = any(isinstance(out.iat[i, count_cols[t]], str)
                        and _N_PCT.match(out.iat[i, count_cols[t]]) for i in rows for t in inner_cols)
        inner = np.where(known, sub, 0)[:, inner_cols]
        primary = (~known[:, inner_cols]) | ((inner > 0) & (inner < k))
        col_totals = col_total_row is not None or pct_shown
        if total_col is None and not col_totals:
            continue
        st = suppress_matrix(inner, primary=primary, row_totals=total_col is not None,
                             col_totals=col_totals, k=k)
        for a, i in enumerate(rows):
            for b, t in enumerate(inner_cols):
                if st[a, b] == "secondary" and not already[i, count_cols[t]]:
                    state[i, count_cols[t]] = "secondary"
            if total_col is not None and st[a, -1] == "secondary":
                state[i, count_cols[total_col]] = "secondary"
        if col_total_row is not None:
            for b, t in enumerate(inner_cols):
                if st[-1, b] == "secondary":
                    state[col_total_row, count_cols[t]] = "secondary"


# --------------------------------------------------------------------------- records
def protect_record(key: str, estimate, lower, upper, p, n, digits: int, text: str):
    """What :meth:`helpers.results.Recorder.record` glues and writes under the policy.

    Returns ``(estimate, lower, upper, p, n, text, n_text)``. A count (a whole estimate
    recorded with 0 decimals and no interval) that is small becomes ``"<k"``; a row whose
    ``n`` is small keeps no estimate (``"withheld"``); ``n_text`` is the glued ``n``.
    """
    pol = policy()
    n_text = None if n is None else f"{int(n)}"
    if not pol.on:
        return estimate, lower, upper, p, n, text, n_text
    is_count = (digits == 0 and lower is None and upper is None and estimate is not None
                and math.isfinite(float(estimate)) and float(estimate) == round(float(estimate)))
    if is_count and pol.hides(estimate):
        log("glued number", key, f"count below {pol.k}")
        return None, None, None, None, None, pol.small, pol.small
    if n is not None and pol.hides(n):
        log("glued number", key, f"estimate from fewer than {pol.k} patients withheld")
        return None, None, None, None, None, f"{WITHHELD} (fewer than {pol.k} patients)", pol.small
    return estimate, lower, upper, p, n, text, n_text


def protect_model(table: pd.DataFrame, n: int, events: int, n_parameters: int | None = None,
                  what: str = "model"):
    """A regression table as it may be shown: ``(table, note)``.

    The note always reports the model's ``n`` and ``events``. The table is withheld (an
    empty frame with the same columns) when the model has fewer than ``k`` events, or fewer
    than ``k`` residual degrees of freedom (``n - n_parameters``, ACRO's rule for
    regressions), under the current policy.
    """
    pol = policy()
    note = f"{what}: n = {count_text(n, what)}, events = {count_text(events, what)}."
    dof = None if n_parameters is None else n - n_parameters
    if pol.on and (events < pol.k or n < pol.k or (dof is not None and dof < pol.k)):
        log("model", what, f"fewer than {pol.k} events or residual degrees of freedom: withheld")
        return table.iloc[0:0], note + f" Withheld: fewer than {pol.k} events or residual degrees of freedom."
    return table, note


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


# --------------------------------------------------------------------------- output checks
def _id_columns(cohort: pd.DataFrame) -> list[str]:
    return [c for c in cohort.columns if c.lower() == "id" or c.lower().endswith("_id")]


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9_.\-]+", text))


def _trivial(value: str) -> bool:
    """Values too common to single out a record (small whole numbers, short words)."""
    if re.fullmatch(r"-?\d{1,2}(\.0+)?", value):
        return True
    return len(value) < 3


def check_outputs(files: Iterable, cohort: pd.DataFrame, forbidden_paths: Iterable[str] = (),
                  min_values: int = 3) -> pd.DataFrame:
    """Check output files as an output checker would: one row per problem found.

    * ``identifier``: a value of an id column of the cohort (``*_id``) occurs in a file as a
      whole word (ids of fewer than 4 characters are too short to look for and are reported
      once as ``identifier not checkable``);
    * ``patient-level row``: one line of a file (a CSV line, an HTML table row, a notebook
      line) holds ``min_values`` or more distinctive values of one cohort row;
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
            for t in _tokens(line):
                for r in index.get(t, ()):
                    hits[r] = hits.get(r, 0) + 1
            worst = max(hits.values(), default=0)
            if worst >= min_values:
                problems.append(dict(file=name, check="patient-level row",
                                     detail=f"a line holds {worst} values of one patient's row: "
                                            f"{line.strip()[:80]!r}"))
                break
    return pd.DataFrame(problems, columns=["file", "check", "detail"])
