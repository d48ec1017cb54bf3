"""The cohort contract: what a cohort CSV must hold, and a readable report when it does not.

Each study declares its datasets in ``helpers/schemas/<study>.py`` as ``CONTRACTS``, a dict
``{dataset name: Contract}`` (``"cohort"`` is the patient table; others are optional lab
datasets). A :class:`Contract` is a list of :class:`Column` specs plus cross-column
:class:`Rule` s; this module turns them into pandera checks, reports *every* failure at once
(file, column, first rows, what was expected) and renders the data dictionary.

Values below an assay's detection limit: write ``<LOD`` or ``<x`` (``x`` = the limit) in a
column declared with ``below_lod=True``. It is read as 0 and ``<column>_below_lod`` is set.
"""
from __future__ import annotations

import csv
import difflib
import io
import importlib
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

#: Allowed ``Column.dtype`` values.
DTYPES = ("id", "int", "float", "binary", "category", "str")


@dataclass(frozen=True)
class Column:
    """One column of a dataset.

    ``dtype``: ``"id"`` (unique text/number per row), ``"int"``, ``"float"``, ``"binary"``
    (0/1), ``"category"`` (one of ``allowed``), ``"str"``. ``min``/``max`` bound numbers
    (inclusive). ``required=False`` columns may be absent; chapter sections that need them
    are skipped with a note. ``section`` names the chapter section an optional column feeds.
    ``source`` says where the column's synthetic values come from (paper table / derived).
    """

    name: str
    dtype: str
    description: str
    unit: str = ""
    required: bool = True
    allowed: tuple = ()
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    below_lod: bool = False
    section: str = ""
    source: str = ""


@dataclass(frozen=True)
class Rule:
    """A cross-column rule. ``check(df)`` returns a boolean Series, True where a row is fine;
    it is only evaluated when all ``columns`` are present."""

    name: str
    description: str
    columns: tuple
    check: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Contract:
    study: str
    dataset: str
    description: str
    columns: tuple
    rules: tuple = ()
    id_column: str = "patient_id"
    extra: dict = field(default_factory=dict)


REPORT_COLUMNS = ["file", "column", "rows", "expected", "found"]

#: How many rows / values a report cell lists before "... and k more".
SHOW = 5

#: A below-detection-limit entry: ``<LOD``, ``<LLOQ``, ``<0.5``, ``< 0.5``.
LOD_PATTERN = re.compile(r"^<\s*(LOD|LLOD|LOQ|LLOQ|[0-9]*\.?[0-9]+(e-?[0-9]+)?)$", re.IGNORECASE)


class CohortError(ValueError):
    """A cohort that breaks its contract; ``str()`` is the readable report."""

    def __init__(self, report: pd.DataFrame, path):
        self.report = report
        self.path = path
        super().__init__(format_report(report, path))


# --------------------------------------------------------------------------- rule factories
def _num(df: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(df[col], errors="coerce")


def rule_nonnegative(*cols: str, name: str | None = None, description: str | None = None) -> Rule:
    """Every given column is >= 0 where present (missing values pass). ``name`` and
    ``description`` override the defaults shown in reports and the data dictionary."""
    def check(df):
        ok = pd.Series(True, index=df.index)
        for c in cols:
            ok &= ~(_num(df, c) < 0)
        return ok
    return Rule(name or f"nonnegative_{'_'.join(cols)}",
                description or f"{', '.join(cols)} must be >= 0", tuple(cols), check)


def rule_le(a: str, b: str, tol: float = 1e-9, *, name: str | None = None,
            description: str | None = None) -> Rule:
    """``a <= b`` (e.g. ``pfs_months <= os_months``) where both are present."""
    def check(df):
        x, y = _num(df, a), _num(df, b)
        return ~(x > y + tol)
    return Rule(name or f"{a}_le_{b}", description or f"{a} <= {b}", (a, b), check)


def rule_binary(col: str) -> Rule:
    """``col`` is 0 or 1 where present (for columns not declared ``binary``)."""
    def check(df):
        x = _num(df, col)
        return x.isna() | x.isin([0, 1])
    return Rule(f"{col}_binary", f"{col} is 0 or 1", (col,), check)


def rule_both_or_neither(a: str, b: str, *, name: str | None = None,
                         description: str | None = None) -> Rule:
    """``a`` and ``b`` are both given or both missing (e.g. a time and its event flag)."""
    def check(df):
        return df[a].isna() == df[b].isna()
    return Rule(name or f"{a}_with_{b}",
                description or f"{a} and {b} are both given or both missing", (a, b), check)


# --------------------------------------------------------------------------- contracts
def check_contract(contract: Contract) -> Contract:
    """Raise ``ValueError`` if a contract is malformed (unknown dtype, duplicate column...)."""
    where = f"contract {contract.study}/{contract.dataset}"
    names = [c.name for c in contract.columns]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{where}: columns declared twice: {', '.join(dup)}")
    for c in contract.columns:
        if c.dtype not in DTYPES:
            raise ValueError(f"{where}: column {c.name!r} has dtype {c.dtype!r}; expected one of {DTYPES}")
        if c.dtype == "category" and not c.allowed:
            raise ValueError(f"{where}: category column {c.name!r} lists no allowed values")
    for r in contract.rules:
        unknown = [c for c in r.columns if c not in names]
        if unknown:
            raise ValueError(f"{where}: rule {r.name!r} uses undeclared columns {unknown}")
    return contract


def contracts(study: str) -> dict:
    """The study's ``{dataset: Contract}`` from ``helpers/schemas/<study>.py``."""
    from . import paths

    paths.check_study(study)
    try:
        module = importlib.import_module(f"helpers.schemas.{study}")
    except ModuleNotFoundError as exc:
        if exc.name == f"helpers.schemas.{study}":
            raise ValueError(f"no contract for {study} yet: helpers/schemas/{study}.py is missing") from None
        raise
    found = getattr(module, "CONTRACTS", None)
    if not isinstance(found, dict) or not found:
        raise ValueError(f"helpers/schemas/{study}.py defines no CONTRACTS dict")
    for name, c in found.items():
        if not isinstance(c, Contract):
            raise ValueError(f"helpers/schemas/{study}.py: CONTRACTS[{name!r}] is not a Contract")
        check_contract(c)
    return found


def contract_for(study: str, dataset: str = "cohort") -> Contract:
    """One dataset's contract (clear error naming the datasets that exist)."""
    found = contracts(study)
    if dataset not in found:
        raise ValueError(f"{study} has no dataset {dataset!r}: expected one of {', '.join(found)}")
    return found[dataset]


# --------------------------------------------------------------------------- report helpers
def _row_labels(df: pd.DataFrame, idx, lines, id_column) -> str:
    idx = list(idx)
    if not idx:
        return ""
    parts = []
    for i in idx[:SHOW]:
        label = f"line {lines[i]}" if lines is not None else f"row {i}"
        if id_column and id_column in df.columns:
            pid = df.at[i, id_column]
            if not _isna(pid):
                label += f" ({pid})"
        parts.append(label)
    more = f" and {len(idx) - SHOW} more" if len(idx) > SHOW else ""
    return ", ".join(parts) + more + (f" [{len(idx)} rows]" if len(idx) > 1 else "")


def _isna(x) -> bool:
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _values(vals, quote=False) -> str:
    uniq = list(dict.fromkeys(_fmt_value(v, quote) for v in vals))
    more = f" and {len(uniq) - SHOW} more" if len(uniq) > SHOW else ""
    return ", ".join(uniq[:SHOW]) + more


def _fmt_value(v, quote=False) -> str:
    if _isna(v):
        return "empty"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        v = int(v)
    return repr(str(v)) if quote else str(v)


def _expected_type(c: Column) -> str:
    if c.dtype == "binary":
        return "0 or 1"
    if c.dtype == "category":
        return "one of " + ", ".join(map(str, c.allowed))
    if c.dtype == "int":
        text = "a whole number"
    elif c.dtype == "float":
        text = "a number"
    elif c.dtype == "id":
        text = "a unique identifier"
    else:
        text = "text"
    if c.min is not None and c.max is not None:
        text += f" in {_fmt_value(c.min)}..{_fmt_value(c.max)}"
    elif c.min is not None:
        text += f" >= {_fmt_value(c.min)}"
    elif c.max is not None:
        text += f" <= {_fmt_value(c.max)}"
    if c.unit:
        text += f" ({c.unit})"
    if c.below_lod:
        text += "; '<LOD' or '<x' below the detection limit"
    return text


# --------------------------------------------------------------------------- parsing
def _parse_column(raw: pd.Series, c: Column):
    """Parse one column. Returns (values, below_lod flags or None, bad mask)."""
    if c.dtype in ("str", "category", "id"):
        values = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
        if c.dtype == "category" or c.dtype == "id":
            # numbers read from a typed frame: compare as text ("1" == 1)
            values = values.map(lambda v: v if _isna(v) or isinstance(v, str) else _fmt_value(v))
        return values, None, pd.Series(False, index=raw.index)
    text = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    lod = None
    if c.below_lod:
        lod = text.map(lambda v: isinstance(v, str) and bool(LOD_PATTERN.match(v)))
        text = text.mask(lod, "0")
    values = pd.to_numeric(text, errors="coerce").astype(float)
    bad = values.isna() & text.notna() & (text.astype("string").str.len() > 0).fillna(False)
    infinite = np.isinf(values)  # "inf", "1e999": not a measurement
    bad = bad | infinite
    values = values.mask(infinite)
    return values, lod, bad.astype(bool)


def _pandera_schema(contract: Contract, present: list[Column]):
    """A pandera schema for the value checks of the (parsed) present columns."""
    import pandera.pandas as pa

    cols = {}
    for c in present:
        checks = []
        if c.dtype == "binary":
            checks.append(pa.Check.isin([0, 1], error="0 or 1"))
        if c.dtype == "category":
            checks.append(pa.Check.isin(list(map(str, c.allowed)), error=_expected_type(c)))
        if c.dtype == "int":
            checks.append(pa.Check(lambda s: (s % 1 == 0), element_wise=False, error="a whole number"))
        if c.dtype in ("int", "float"):
            if c.min is not None:
                checks.append(pa.Check.ge(c.min, error=f">= {_fmt_value(c.min)}"))
            if c.max is not None:
                checks.append(pa.Check.le(c.max, error=f"<= {_fmt_value(c.max)}"))
        cols[c.name] = pa.Column(
            None, checks=checks, nullable=c.nullable and c.dtype != "id",
            unique=c.dtype == "id", required=True, coerce=False,
        )
    return pa.DataFrameSchema(cols, strict=False)


def _find_close(name: str, columns) -> str:
    lower = {str(c).lower(): c for c in columns}
    if name.lower() in lower:
        return f" (found {lower[name.lower()]!r}: names are case-sensitive)"
    match = difflib.get_close_matches(name, [str(c) for c in columns], n=1, cutoff=0.75)
    return f" (did you mean {match[0]!r}?)" if match else ""


# --------------------------------------------------------------------------- validation
def _parse(df: pd.DataFrame, contract: Contract):
    """(parsed frame, problems list) - problems are (column, index list, expected, found)."""
    parsed = pd.DataFrame(index=df.index)
    problems = []
    bad_cells = {}
    for c in contract.columns:
        if c.name not in df.columns:
            continue
        values, lod, bad = _parse_column(df[c.name], c)
        parsed[c.name] = values
        if lod is not None:
            parsed[f"{c.name}_below_lod"] = lod.astype(int)
        if bad.any():
            idx = list(df.index[bad])
            found = "text " + _values(df.loc[bad, c.name], quote=True)
            if not c.below_lod and any(isinstance(v, str) and v.strip().startswith("<")
                                       for v in df.loc[bad, c.name]):
                found += " ('<' below the detection limit is allowed only in the columns the data dictionary marks)"
            problems.append((c.name, idx, _expected_type(c), found))
            bad_cells[c.name] = set(idx)
    for col in df.columns:
        if col not in parsed.columns:
            parsed[col] = df[col]
    return parsed, problems, bad_cells


def validate(df: pd.DataFrame, contract: Contract, path="<DataFrame>", lines=None) -> pd.DataFrame:
    """Every failure of ``df`` against ``contract``, one row each (:data:`REPORT_COLUMNS`);
    empty when the data meet the contract.

    ``df`` may hold raw text (as read with ``dtype=str``) or typed values. ``lines`` maps
    each index label to its line number in the CSV (header = line 1); without it rows are
    named by index label. Checks, all reported together: required columns present; text in
    numeric columns; whole numbers; 0/1 coding; allowed categories; ranges (e.g. negative
    times); missing values in non-nullable columns; unique identifiers; the contract's
    cross-column rules (evaluated where all their columns are present).
    """
    import pandera.pandas as pa

    file = str(path)
    rows = []
    if not df.index.is_unique:  # row labels must name one row each
        df = df.reset_index(drop=True)
        lines = None

    def add(column, idx, expected, found, where=""):
        rows.append({"file": file, "column": column,
                     "rows": _row_labels(df, idx, lines, contract.id_column) if idx else where,
                     "expected": expected, "found": found})

    if len(df.index) == 0:
        add("(file)", [], "at least one patient row", "no data rows (only a header, or an empty table)")
    if df.columns.duplicated().any():
        dup = sorted(set(map(str, df.columns[df.columns.duplicated()])))
        add(", ".join(dup), [], "each column once", "column appears more than once in the header",
            where="header")
        df = df.loc[:, ~df.columns.duplicated()]

    present = [c for c in contract.columns if c.name in df.columns]
    for c in contract.columns:
        if c.required and c.name not in df.columns:
            others = [x for x in df.columns if x not in {k.name for k in contract.columns}]
            add(c.name, [], f"a required column: {_expected_type(c)}",
                "column missing" + _find_close(c.name, others), where="header")

    parsed, problems, bad_cells = _parse(df, contract)
    for column, idx, expected, found in problems:
        add(column, idx, expected, found)

    if len(df.index) and present:
        schema = _pandera_schema(contract, present)
        try:
            schema.validate(parsed[[c.name for c in present]], lazy=True)
        except pa.errors.SchemaErrors as exc:
            fc = exc.failure_cases
            fc = fc[fc["column"].notna()]
            for (column, check), grp in fc.groupby(["column", "check"], sort=False):
                idx = [i for i in grp["index"].tolist() if i is not None and not _isna(i)]
                idx = [i for i in dict.fromkeys(idx) if i not in bad_cells.get(column, set())]
                if not idx:
                    continue
                bad_cells.setdefault(column, set()).update(idx)
                col = next(c for c in present if c.name == column)
                if check == "not_nullable":
                    add(column, idx, f"a value in every row ({_expected_type(col)})", "empty")
                elif check == "field_uniqueness":
                    dups = df.loc[idx, column]
                    counts = dups.map(dups.value_counts())
                    found = "duplicated: " + _values([f"{v} x{n}" for v, n in zip(dups, counts)])
                    add(column, idx, "a unique identifier per row", found)
                else:
                    found = _values(df.loc[idx, column])
                    if col.dtype == "binary":
                        vals = set(pd.to_numeric(df[column], errors="coerce").dropna().unique())
                        if vals and vals <= {1, 2}:
                            found += " (coded 1/2 as in R's Surv? recode: 0 = no event/censored, 1 = event)"
                        expected = "0 or 1" + (f": {col.description}" if col.description else "")
                    else:
                        expected = _expected_type(col)
                        if check.startswith(">="):
                            found = "below the minimum: " + found
                        elif check.startswith("<="):
                            found = "above the maximum: " + found
                    add(column, idx, expected, found)

    for rule in contract.rules:
        if not all(c in df.columns for c in rule.columns):
            continue
        try:
            ok = pd.Series(rule.check(parsed), index=parsed.index)
            ok = ok.fillna(True).astype(bool)
        except Exception as exc:  # a rule must never crash validation
            add(", ".join(rule.columns), [], rule.description,
                f"rule {rule.name!r} could not be checked ({type(exc).__name__}: {exc})")
            continue
        # a cell already reported for its own column is not reported again by a rule
        seen = set().union(*(bad_cells.get(c, set()) for c in rule.columns))
        idx = [i for i in parsed.index[~ok] if i not in seen]
        if idx:
            shown = []
            for i in idx[:3]:
                shown.append(", ".join(f"{c}={_fmt_value(df.at[i, c])}" for c in rule.columns))
            found = "; ".join(shown) + (" ..." if len(idx) > 3 else "")
            add(", ".join(rule.columns), idx, rule.description, found)
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def _file_problem(path, expected: str, found: str) -> pd.DataFrame:
    return pd.DataFrame([{"file": str(path), "column": "(file)", "rows": "", "expected": expected,
                          "found": found}], columns=REPORT_COLUMNS)


def read_csv_text(path):
    """Read a CSV as text. Returns ``(frame, lines)`` or ``(None, report)`` for an unreadable
    file: missing, a folder, empty, binary, not comma-separated, no header."""
    path = Path(path)
    if not path.exists():
        return None, _file_problem(path, "an existing CSV file", "no such file")
    if path.is_dir():
        return None, _file_problem(path, "a CSV file", "a folder")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, _file_problem(path, "a readable CSV file", f"cannot be read: {exc.strerror or exc}")
    if not data.strip():
        return None, _file_problem(path, "a CSV file with a header and one row per patient",
                                   "empty file")
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (
            b"\x00" in head and (head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4)):
        return None, _file_problem(
            path, "a CSV text file in UTF-8 (or Latin-1)",
            "UTF-16 text (Excel's 'Unicode Text' export): save it again as 'CSV UTF-8 (Comma "
            "delimited)', or convert it, e.g. iconv -f UTF-16 -t UTF-8")
    if b"\x00" in head:
        return None, _file_problem(path, "a CSV text file", "binary content (not a CSV: an Excel or other file?)")
    encoding = "utf-8-sig"  # UTF-8, with or without a byte-order mark (Excel writes one)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        encoding = "latin-1"  # an older Excel export; every byte decodes
        text = data.decode(encoding)
    if "\r" in text and "\n" not in text:
        # Line ends written as a lone carriage return (classic Mac OS, some old Excel exports):
        # the same lines, read with ordinary line ends.
        text = text.replace("\r", "\n")
    header_line = text.splitlines()[0] if text.splitlines() else ""
    header = next(csv.reader([header_line]), [])
    if len(header) <= 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs")):
            if sep in header_line:
                return None, _file_problem(path, "comma-separated values",
                                           f"the header is separated by {name}: save as CSV with commas")
    # Records as the csv module sees them (quoted fields may span lines): the line each
    # starts on, and the ones whose number of fields differs from the header's.
    starts, ragged = [], []
    try:
        reader = csv.reader(io.StringIO(text))
        previous = 0
        for k, record in enumerate(reader):
            if k > 0:
                starts.append(previous + 1)
                if record and len(record) != len(header):
                    ragged.append((previous + 1, len(record)))
            previous = reader.line_num
    except csv.Error as exc:
        line = reader.line_num
        if "field larger than field limit" in str(exc):
            report = _file_problem(
                path, f"cells of at most {csv.field_size_limit():,} characters",
                f"a cell of more than {csv.field_size_limit():,} characters on line {line} (a "
                "whole text or file pasted into one cell, or a double quote that is never "
                "closed): fix or empty that cell")
            report.loc[0, "rows"] = f"line {line}"
            return None, report
        return None, _file_problem(path, "a well-formed CSV file", f"not a readable CSV on line {line}: {exc}")
    if text.count('"') % 2 == 1:
        where = f" (the record starting on line {starts[-1]})" if starts else ""
        return None, _file_problem(path, "a well-formed CSV file",
                                   f"not a readable CSV: a double quote is opened and never closed{where}")
    if ragged:
        shown = ", ".join(f"line {ln} ({k})" for ln, k in ragged[:SHOW])
        more = f" and {len(ragged) - SHOW} more" if len(ragged) > SHOW else ""
        report = _file_problem(path, f"{len(header)} fields on every line, as in the header",
                               f"a different number of fields: {shown}{more}")
        report.loc[0, "rows"] = ", ".join(f"line {ln}" for ln, _ in ragged[:SHOW]) + more
        return None, report
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, skip_blank_lines=False, keep_default_na=True,
                         index_col=False)
    except pd.errors.EmptyDataError:
        return None, _file_problem(path, "a CSV file with a header", "empty file")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = str(exc).strip().splitlines()[-1]
        return None, _file_problem(path, "a well-formed CSV file (same number of fields on every line)",
                                   f"not a readable CSV: {msg}")
    except ValueError as exc:
        return None, _file_problem(path, "a CSV file", f"not a readable CSV: {exc}")
    # keep CSV line numbers, then drop blank lines
    df = df.reset_index(drop=True)
    lines = {i: (starts[i] if i < len(starts) else i + 2) for i in df.index}
    df = df.loc[~df.isna().all(axis=1)]
    # header names exactly as written; duplicated names come back as "x.1": restore them
    if len(header) == df.shape[1] and [h.strip() for h in header] != list(df.columns):
        names = [h.strip() for h in header]
        df.columns = names
    return df, lines


def _looks_headerless(df: pd.DataFrame, contract: Contract) -> bool:
    names = {c.name for c in contract.columns}
    cols = [str(c) for c in df.columns]
    if any(c in names for c in cols):
        return False
    numeric = pd.to_numeric(pd.Series(cols), errors="coerce").notna().sum()
    return numeric >= max(1, len(cols) // 2)


def validate_file(study: str, path, dataset: str = "cohort") -> pd.DataFrame:
    """Read ``path`` as CSV (an unreadable or empty file is a report row, not an exception)
    and validate it against ``study``'s ``dataset`` contract."""
    contract = contract_for(study, dataset)
    df, lines = read_csv_text(path)
    if df is None:
        return lines
    if _looks_headerless(df, contract):
        return _file_problem(path, "a header line naming the columns (patient_id, ...)",
                             f"no header: the first line holds values ({', '.join(map(str, df.columns[:4]))}, ...)")
    return validate(df, contract, path, lines=lines)


def printable(value) -> str:
    """``value`` as text safe for a terminal: control characters (ANSI escape sequences, bells,
    carriage returns) from a user's file are shown escaped (``\\x1b``), never sent raw."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


def format_report(report: pd.DataFrame, path) -> str:
    """A readable text table of a report (``"<path>: meets the contract"`` if empty); user
    text is passed through :func:`printable`."""
    path = printable(path)
    if report is None or report.empty:
        return f"{path}: meets the contract"
    n = len(report)
    out = [f"{path}: {n} problem{'s' if n != 1 else ''} - the file does not meet the contract", ""]
    widths = {"column": 22, "rows": 34, "expected": 38, "found": 44}
    files = report["file"].unique()
    show = list(widths)
    if len(files) > 1:
        show = ["file"] + show
        widths["file"] = 24
    head = "  ".join(h.ljust(widths[h]) for h in show)
    out += [head.rstrip(), "  ".join("-" * widths[h] for h in show)]
    for _, r in report.iterrows():
        cells = [textwrap.wrap(printable(r[h]) if not _isna(r[h]) else "", widths[h]) or [""] for h in show]
        for k in range(max(len(c) for c in cells)):
            out.append("  ".join((c[k] if k < len(c) else "").ljust(widths[h])
                                 for c, h in zip(cells, show)).rstrip())
    return "\n".join(out)


# --------------------------------------------------------------------------- reading
def _typed(parsed: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    out = parsed.copy()
    for c in contract.columns:
        if c.name not in out.columns:
            continue
        s = out[c.name]
        if c.dtype == "binary" or (c.dtype == "int" and not c.nullable):
            out[c.name] = s.astype("Int64") if s.isna().any() else s.astype(np.int64)
        elif c.dtype == "int":
            out[c.name] = s.astype("Int64")
        elif c.dtype == "category":
            out[c.name] = pd.Categorical(s, categories=list(map(str, c.allowed)))
        elif c.dtype == "id":
            out[c.name] = s.astype(object)
    return out


def parse_frame(df: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Typed columns of ``df`` (raw text or typed) as :func:`read_cohort` returns them, without
    validating: numbers parsed, ``<LOD``/``<x`` read as 0 with ``<col>_below_lod`` flags,
    binary as int, categories as ``Categorical``. Validate first (:func:`validate`)."""
    parsed, _, _ = _parse(df, contract)
    return _typed(parsed, contract)


def read_cohort(study: str, path=None, dataset: str = "cohort") -> pd.DataFrame:
    """Read and validate a dataset; ``path=None`` reads the shipped synthetic file
    (:func:`helpers.paths.synthetic_cohort` / ``synthetic_lab``). Raises :class:`CohortError`
    with the full report on failure. Returns typed columns (binary as int 0/1, category as
    pandas Categorical in ``allowed`` order), ``<col>_below_lod`` flags added."""
    from . import paths

    contract = contract_for(study, dataset)
    if path is None:
        path = paths.synthetic_cohort(study) if dataset == "cohort" else paths.synthetic_lab(study, dataset)
        if not Path(path).exists():
            raise FileNotFoundError(f"{path} not found: run python -m helpers synthesize")
    df, lines = read_csv_text(path)
    if df is None:
        raise CohortError(lines, path)
    if _looks_headerless(df, contract):
        raise CohortError(validate_file(study, path, dataset), path)
    report = validate(df, contract, path, lines=lines)
    if not report.empty:
        raise CohortError(report, path)
    return parse_frame(df, contract).reset_index(drop=True)


def missing_columns(df: pd.DataFrame, columns) -> list[str]:
    """The ``columns`` that ``df`` lacks (or that are entirely missing)."""
    return [c for c in columns if c not in df.columns or df[c].isna().all()]


def data_dictionary(study: str) -> pd.DataFrame:
    """The study's contracts as a tidy table: dataset, column, type, unit, required, allowed
    values / range, description, source (and the chapter section an optional column feeds)."""
    rows = []
    for name, c in contracts(study).items():
        for col in c.columns:
            if col.dtype == "category":
                allowed = ", ".join(map(str, col.allowed))
            elif col.dtype == "binary":
                allowed = "0, 1"
            elif col.min is not None or col.max is not None:
                lo = "" if col.min is None else _fmt_value(col.min)
                hi = "" if col.max is None else _fmt_value(col.max)
                allowed = f"{lo}..{hi}" if lo and hi else (f">= {lo}" if lo else f"<= {hi}")
            else:
                allowed = ""
            if col.below_lod:
                allowed = (allowed + "; " if allowed else "") + "<LOD or <x allowed (read as 0)"
            if col.nullable:
                allowed = (allowed + "; " if allowed else "") + "may be empty"
            rows.append({
                "dataset": name, "column": col.name, "type": col.dtype, "unit": col.unit,
                "required": "required" if col.required else "optional",
                "allowed": allowed, "description": col.description,
                "section": col.section, "source": col.source,
            })
    return pd.DataFrame(rows, columns=["dataset", "column", "type", "unit", "required", "allowed",
                                       "description", "section", "source"])


def rules_table(study: str) -> pd.DataFrame:
    """The study's cross-column rules: dataset, rule, columns, description."""
    rows = [{"dataset": name, "rule": r.name, "columns": ", ".join(r.columns), "description": r.description}
            for name, c in contracts(study).items() for r in c.rules]
    return pd.DataFrame(rows, columns=["dataset", "rule", "columns", "description"])
