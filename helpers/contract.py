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
import functools
import io
import importlib
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from pandas._libs import lib as _lib

#: Allowed ``Column.dtype`` values.
DTYPES = ("id", "int", "float", "binary", "category", "str")


@dataclass(frozen=True)
class Column:
    """One column of a dataset.

    ``dtype``: ``"id"`` (unique text/number per row), ``"int"``, ``"float"``, ``"binary"``
    (0/1; yes/no and true/false are read too), ``"category"`` (one of ``allowed``; letter case
    ignored, and the spellings of the column's ``codes`` family, see :data:`CODES`), ``"str"``.
    ``min``/``max`` bound numbers (inclusive). ``required=False`` columns may be absent; chapter
    sections that need them are skipped with a note. ``section`` names the chapter section an
    optional column feeds. ``source`` says where the column's synthetic values come from.

    Empty cells: only the identifier, the cohort label and, for a required ``endpoint`` (``"os"``, ``"pfs"``),
    its time and event columns need a value in every row (:func:`must_fill`); every other
    cell may be empty (each analysis uses the complete cases of its own variables). A column
    empty in every row counts as absent. ``nullable`` is kept for old contracts: it makes an
    endpoint column optional per row.
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
    endpoint: str = ""
    codes: str = ""


def must_fill(c: Column) -> bool:
    """True if every row needs a value in column ``c``: the identifier, the cohort label, and
    the time and event of a required endpoint."""
    return c.dtype == "id" or c.codes == "cohort" or (bool(c.endpoint) and c.required and not c.nullable)


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
    if isinstance(x, str):  # the common case, without pandas' generic check
        return False
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


#: Columns of at least this many rows are mapped and parsed once per distinct value
#: (:func:`_map_values`, :func:`_to_float`); shorter ones value by value (the reference the
#: tests compare with).
DISTINCT_MIN_ROWS = 64


def _map_values(s: pd.Series, func) -> pd.Series:
    """``s.map(func)``, computed once per distinct value and broadcast (a cohort of 165,000
    rows holds a few hundred distinct spellings per column): the same values and dtype as
    ``s.map(func)`` for a ``func`` that depends only on its argument (and, for a missing value,
    only on its type). Columns holding anything but text and missing values (a typed frame)
    are mapped value by value, as before."""
    if s.dtype != object or len(s) < DISTINCT_MIN_ROWS:
        return s.map(func)
    arr = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(arr, skipna=True) != "string":
        return s.map(func)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    mapped = np.empty(len(uniques), dtype=object)
    mapped[:] = [func(u) for u in uniques]
    out = np.empty(len(arr), dtype=object)
    na = codes < 0
    out[~na] = mapped[codes[~na]]
    if na.any():
        seen = {}
        out[na] = [seen[type(v)] if type(v) in seen else seen.setdefault(type(v), func(v)) for v in arr[na]]
    # the dtype Series.map infers from the results (pandas.core.algorithms.map_array)
    return pd.Series(_lib.maybe_convert_objects(out), index=s.index, name=s.name)


def _blank(v) -> bool:
    """A missing or whitespace-only cell."""
    return _isna(v) or not str(v).strip()


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
        return "0 or 1 (or yes/no, true/false)"
    if c.dtype == "category":
        text = "one of " + ", ".join(map(str, c.allowed))
        return text + (f" ({CODES[c.codes]})" if c.codes in CODES else "")
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


# --------------------------------------------------------------------------- codes people use
#: Spellings read as 1 / 0 in a ``binary`` column (letter case and spaces ignored).
BINARY_CODES = {"1": 1, "1.0": 1, "yes": 1, "y": 1, "true": 1, "t": 1,
                "0": 0, "0.0": 0, "no": 0, "n": 0, "false": 0, "f": 0}

#: Best overall response (RECIST 1.1 / mRECIST) written out, and what each becomes.
RESPONSE_CODES = {"complete response": "CR", "complete": "CR", "partial response": "PR", "partial": "PR",
                  "stable disease": "SD", "stable": "SD", "progressive disease": "PD",
                  "progression": "PD", "progressive": "PD", "not evaluable": "NE",
                  "not evaluated": "NE", "non-evaluable": "NE", "unevaluable": "NE", "ne": "NE"}

#: The coding families a ``category`` column may name in ``Column.codes``: what is accepted
#: beyond the ``allowed`` values themselves (letter case is always ignored).
CODES = {
    "child_pugh": "class A/B/C, score 5-15 (5-6 = A, 7-9 = B, 10-15 = C), or class and score "
                  "(A5 ... C15, 'A 5', 'Child-Pugh A5'); a score whose class disagrees is refused",
    "response": "CR, PR, SD, PD, NE, or written out (complete response, partial response, stable "
                "disease, progressive disease, not evaluable / not evaluated)",
    "cohort": "the study's labels; a study of one cohort reads any label as its own; other labels "
              "are mapped with run --cohort-labels 'SITE_A=discovery,SITE_B=validation'",
}

_CP = re.compile(r"^(?:child[\s_-]*pugh)?[\s:_-]*(?:class)?[\s:_-]*([abc])?[\s_-]*(\d{1,2})?$", re.IGNORECASE)


def _child_pugh_class(score: int) -> str | None:
    return "A" if 5 <= score <= 6 else "B" if 7 <= score <= 9 else "C" if 10 <= score <= 15 else None


@functools.lru_cache(maxsize=256)
def _allowed_lower(allowed: tuple) -> dict:
    return {str(a).lower(): str(a) for a in allowed}


def _code(value, c: Column):
    """One category cell in the contract's spelling (unchanged if not recognised)."""
    if not isinstance(value, str) or not value:
        return value
    lower = _allowed_lower(tuple(c.allowed))
    if value.lower() in lower:
        return lower[value.lower()]
    if c.codes == "response":
        code = RESPONSE_CODES.get(" ".join(value.lower().split()))
        return code if code in set(map(str, c.allowed)) else value
    if c.codes == "child_pugh":
        m = _CP.match(value.strip())
        if not m or not (m.group(1) or m.group(2)):
            return value
        letter = m.group(1).upper() if m.group(1) else None
        score = int(m.group(2)) if m.group(2) else None
        if score is not None:
            derived = _child_pugh_class(score)
            if derived is None or (letter and letter != derived):
                return value
            letter = derived
            if f"{letter}{score}" in lower.values():
                return f"{letter}{score}"
        return letter if letter in lower.values() else value
    if c.codes == "cohort" and len(c.allowed) == 1:
        return str(c.allowed[0])
    return value


def _binary_text(value):
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, str):
        return str(BINARY_CODES.get(value.strip().lower(), value))
    return value


# --------------------------------------------------------------------------- units
#: Unit suffixes of column names: suffix -> (unit as printed, dimension, factor to the
#: dimension's base unit: mg/L for mass concentration, months for time, cm for length).
UNIT_SUFFIXES = {
    "g_dl": ("g/dL", "mass", 10_000.0), "g_l": ("g/L", "mass", 1_000.0),
    "mg_dl": ("mg/dL", "mass", 10.0), "mg_l": ("mg/L", "mass", 1.0),
    "ug_ml": ("µg/mL", "mass", 1.0), "ug_l": ("µg/L", "mass", 1e-3), "ng_ml": ("ng/mL", "mass", 1e-3),
    "ng_l": ("ng/L", "mass", 1e-6), "pg_ml": ("pg/mL", "mass", 1e-6),
    "umol_l": ("µmol/L", "molar", 1.0), "mmol_l": ("mmol/L", "molar", 1_000.0),
    "nmol_l": ("nmol/L", "molar", 1e-3),
    "iu_ml": ("IU/mL", "activity", None), "u_ml": ("U/mL", "activity", None),
    "iu_l": ("IU/L", "activity", None), "u_l": ("U/L", "activity", None),
    "mau_ml": ("mAU/mL", "activity", None),
    "days": ("days", "time", 1 / 30.4375), "weeks": ("weeks", "time", 7 / 30.4375),
    "months": ("months", "time", 1.0), "years": ("years", "time", 12.0),
    "mm": ("mm", "length", 0.1), "cm": ("cm", "length", 1.0),
}

#: Mass concentrations convert into each other within a factor of 1,000 (pg/mL <-> ng/mL,
#: mg/L <-> mg/dL, g/L <-> g/dL); further apart, the unit is refused.
#: Analytes whose mass and molar concentrations convert: stem -> µmol/L per mg/dL
#: (bilirubin: 10 mg/L / 584.66 g/mol = 17.1 µmol/L per mg/dL, the clinical factor).
MOLAR_FACTORS = {"bilirubin": 17.1}

#: Follow-up plausibility (months): a time above this, or a median above
#: :data:`MAX_MEDIAN_MONTHS`, is refused as probably another unit.
MAX_MONTHS = 240.0
MAX_MEDIAN_MONTHS = 120.0


def split_unit(name: str) -> tuple[str, str]:
    """``(stem, unit suffix)`` of a column name (``"crp_mg_dl"`` -> ``("crp", "mg_dl")``);
    ``(name, "")`` without a known unit suffix."""
    for suffix in sorted(UNIT_SUFFIXES, key=len, reverse=True):
        if name.endswith("_" + suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix) - 1], suffix
    return name, ""


def unit_factor(stem: str, source: str, target: str) -> float | None:
    """The factor taking ``stem`` in ``source`` units to ``target`` units (both unit
    suffixes), ``None`` where no conversion is well defined."""
    _, dim_s, f_s = UNIT_SUFFIXES[source]
    _, dim_t, f_t = UNIT_SUFFIXES[target]
    if f_s is None or f_t is None:
        return None
    if dim_s == dim_t:
        factor = f_s / f_t
    else:
        molar = MOLAR_FACTORS.get(stem)
        if molar is None or {dim_s, dim_t} != {"mass", "molar"}:
            return None
        # to mg/dL, then mg/dL -> µmol/L by the analyte's factor, then to the target molar unit
        if dim_s == "mass":
            factor = (f_s / UNIT_SUFFIXES["mg_dl"][2]) * molar / f_t
        else:
            factor = f_s / molar * UNIT_SUFFIXES["mg_dl"][2] / f_t
    # a concentration a thousandfold or more away is not a unit a lab reports for this
    # analyte (IL-6 in g/dL): refused rather than silently scaled
    if dim_s in ("mass", "molar") and not 1e-3 * (1 - 1e-9) <= factor <= 1e3 * (1 + 1e-9):
        return None
    return factor


def _scale_cell(v, factor: float):
    if _isna(v):
        return v
    if isinstance(v, str):
        t = v.strip()
        if t.startswith("<"):
            try:
                return f"<{float(t[1:].strip()) * factor:.6g}"
            except ValueError:
                return v  # "<LOD"
        try:
            return repr(float(t) * factor)
        except ValueError:
            return v  # reported as text by the target column's check
    try:
        return float(v) * factor
    except (TypeError, ValueError):
        return v


def accepted_units(contract: Contract) -> pd.DataFrame:
    """Per contract column with a unit suffix: the other column names a cohort may use for it
    (another unit), and the factor each is multiplied by."""
    rows = []
    for c in contract.columns:
        stem, unit = split_unit(c.name)
        if not unit:
            continue
        for other in UNIT_SUFFIXES:
            if other == unit:
                continue
            f = unit_factor(stem, other, unit)
            if f is not None:
                rows.append({"dataset": contract.dataset, "column": c.name, "unit": UNIT_SUFFIXES[unit][0],
                             "also_accepted": f"{stem}_{other}", "in": UNIT_SUFFIXES[other][0],
                             "multiplied_by": float(f"{f:.6g}")})
    return pd.DataFrame(rows, columns=["dataset", "column", "unit", "also_accepted", "in", "multiplied_by"])


def prepare(df: pd.DataFrame, contract: Contract, labels: dict | None = None):
    """The cohort in the contract's names and units, before validation.

    Returns ``(frame, notes, problems)``: ``notes`` are ``(column, text)`` lines of
    information (a unit converted, labels mapped); ``problems`` are ``(column, expected,
    found)`` refusals (a unit with no well-defined conversion, a column given twice).
    A column named with the contract column's stem and another unit suffix (``crp_mg_l`` for
    ``crp_mg_dl``, ``os_days`` for ``os_months``) is converted (:func:`unit_factor`);
    ``labels`` maps the cohort's own labels to the study's (``{"SITE_A": "discovery"}``).
    """
    df = df.copy()
    notes, problems = [], []
    names = {c.name for c in contract.columns}
    stems = {}
    for c in contract.columns:
        stem, unit = split_unit(c.name)
        if unit and c.dtype in ("float", "int"):
            stems[stem] = (c, unit)
    for col in list(df.columns):
        if not isinstance(col, str) or col in names:
            continue
        stem, unit = split_unit(col)
        if not unit or stem not in stems:
            continue
        target, tunit = stems[stem]
        shown = f"{UNIT_SUFFIXES[unit][0]} to {UNIT_SUFFIXES[tunit][0]}"
        if target.name in df.columns:
            problems.append((f"{col}, {target.name}", f"{target.name} once (in {UNIT_SUFFIXES[tunit][0]})",
                             "given twice, in two units: keep one column"))
            continue
        factor = unit_factor(stem, unit, tunit)
        if factor is None:
            problems.append((col, f"{target.name} in {UNIT_SUFFIXES[tunit][0]}",
                             f"{col} in {UNIT_SUFFIXES[unit][0]}: no well-defined conversion from "
                             f"{shown}; convert it and name the column {target.name}"))
            continue
        df[target.name] = _map_values(df[col], lambda v, f=factor: _scale_cell(v, f))
        df = df.drop(columns=[col])
        notes.append((target.name, f"read from {col}: {shown} (x {factor:.6g})"))
    if labels:
        for c in contract.columns:
            if c.codes == "cohort" and c.name in df.columns:
                raw = _map_values(df[c.name], lambda v: v.strip() if isinstance(v, str) else v)
                mapped = _map_values(raw, lambda v: labels.get(str(v), v) if not _isna(v) else v)
                unknown = sorted({str(k) for k in labels} - set(raw.dropna().astype(str)))
                df[c.name] = mapped
                notes.append((c.name, "labels mapped: " + ", ".join(f"{k} -> {v}" for k, v in labels.items())))
                if unknown:
                    notes.append((c.name, f"label(s) {', '.join(unknown)} in the mapping do not occur"))
    return df, notes, problems


def _time_problems(parsed: pd.DataFrame, present) -> list:
    """Follow-up times that look like another unit (days or weeks written as months)."""
    out = []
    for c in present:
        if not (c.endpoint and c.dtype == "float" and c.unit == "months") or c.name not in parsed:
            continue
        x = pd.to_numeric(parsed[c.name], errors="coerce")
        stem = split_unit(c.name)[0]
        how = (f"times in days or weeks? name the column {stem}_days or {stem}_weeks (converted to "
               f"months), or convert to months")
        big = list(parsed.index[x > MAX_MONTHS])
        if big:
            out.append((c.name, big, f"months, at most {MAX_MONTHS:g} (20 years of follow-up)",
                        f"up to {x.max():g}: {how}"))
        elif x.notna().any() and x.median() > MAX_MEDIAN_MONTHS:
            out.append((c.name, [], f"months: a median follow-up of at most {MAX_MEDIAN_MONTHS:g}",
                        f"median {x.median():g}: {how}"))
    return out


def missingness(df: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Per contract column present in ``df``: patients, empty cells, their share (information,
    not an error: each analysis uses the complete cases of its own variables)."""
    rows = []
    n = len(df)
    for c in contract.columns:
        if c.name not in df.columns:
            continue
        s = df[c.name]
        empty = int(_map_values(s, _blank).astype(bool).sum())
        rows.append({"column": c.name, "n": n, "missing": empty,
                     "percent_missing": round(100 * empty / n, 1) if n else float("nan"),
                     "status": "absent (empty in every row)" if n and empty == n else
                     ("complete" if empty == 0 else "partly empty")})
    return pd.DataFrame(rows, columns=["column", "n", "missing", "percent_missing", "status"])


def _empty_columns(df: pd.DataFrame, contract: Contract) -> set:
    out = set()
    if len(df.index) == 0:
        return out
    for c in contract.columns:
        if c.name in df.columns:
            s = df[c.name]
            filled = np.flatnonzero(s.notna().to_numpy())
            if len(filled) and not _blank(s.iloc[filled[0]]):
                continue  # one value shows the column is not empty (the common case, at once)
            if _map_values(s, _blank).astype(bool).all():
                out.add(c.name)
    return out


# --------------------------------------------------------------------------- parsing
def _strip(v):
    return v.strip() if isinstance(v, str) else v


def _to_float(text: pd.Series) -> pd.Series:
    """``pd.to_numeric(text, errors="coerce").astype(float)``, parsing each distinct text once."""
    if text.dtype != object or len(text) < DISTINCT_MIN_ROWS:
        return pd.to_numeric(text, errors="coerce").astype(float)
    arr = text.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(arr, skipna=True) != "string":
        return pd.to_numeric(text, errors="coerce").astype(float)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").astype(float).to_numpy()
    out = np.full(len(arr), np.nan)
    ok = codes >= 0
    out[ok] = parsed[codes[ok]]
    return pd.Series(out, index=text.index, name=text.name)


def _parse_column(raw: pd.Series, c: Column):
    """Parse one column. Returns (values, below_lod flags or None, bad mask)."""
    if c.dtype in ("str", "category", "id"):
        values = _map_values(raw.astype(object), _strip)
        values = values.mask(_map_values(values, lambda v: isinstance(v, str) and v == "").astype(bool))
        if c.dtype == "category" or c.dtype == "id":
            # numbers read from a typed frame: compare as text ("1" == 1)
            values = _map_values(values, lambda v: v if _isna(v) or isinstance(v, str) else _fmt_value(v))
        if c.dtype == "category":
            values = _map_values(values, lambda v: _code(v, c))
        return values, None, pd.Series(False, index=raw.index)
    text = _map_values(raw, _strip)
    if c.dtype == "binary":
        text = _map_values(text, _binary_text)
    lod = None
    if c.below_lod:
        lod = _map_values(text, lambda v: isinstance(v, str) and bool(LOD_PATTERN.match(v)))
        text = text.mask(lod, "0")
    values = _to_float(text)
    bad = values.isna() & text.notna() & text.ne("")  # text that is not a number
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
            None, checks=checks, nullable=not must_fill(c),
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


def validate(df: pd.DataFrame, contract: Contract, path="<DataFrame>", lines=None,
             labels: dict | None = None) -> pd.DataFrame:
    """Every failure of ``df`` against ``contract``, one row each (:data:`REPORT_COLUMNS`);
    empty when the data meet the contract.

    ``df`` may hold raw text (as read with ``dtype=str``) or typed values. ``lines`` maps
    each index label to its line number in the CSV (header = line 1); without it rows are
    named by index label. Checks, all reported together: required columns present; text in
    numeric columns; whole numbers; 0/1 coding; allowed categories; ranges (e.g. negative
    times); missing values in non-nullable columns; unique identifiers; the contract's
    cross-column rules (evaluated where all their columns are present); follow-up times
    plausible in months. Before the checks, columns in another unit are converted and cohort
    labels mapped (:func:`prepare`, ``labels``); a column empty in every row counts as absent.
    """
    return _validate(df, contract, path, lines, labels)[0]


def _validate(df: pd.DataFrame, contract: Contract, path="<DataFrame>", lines=None,
              labels: dict | None = None):
    """:func:`validate`'s ``(report, parsed)``: ``parsed`` is the frame :func:`parse_frame`
    would parse from ``df`` (meaningful when the report is empty; :func:`read_cohort` types it
    instead of parsing the cohort a second time)."""
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

    df, _, unit_problems = prepare(df, contract, labels)
    for column, expected, found in unit_problems:
        add(column, [], expected, found, where="header")
    empty = _empty_columns(df, contract)
    df = df.drop(columns=sorted(empty))
    present = [c for c in contract.columns if c.name in df.columns]
    for c in contract.columns:
        if c.required and c.name not in df.columns:
            others = [x for x in df.columns if x not in {k.name for k in contract.columns}]
            found = ("column empty in every row (an empty column counts as absent)" if c.name in empty
                     else "column missing" + _find_close(c.name, others))
            add(c.name, [], f"a required column: {_expected_type(c)}", found, where="header")

    parsed, problems, bad_cells = _parse(df, contract)
    for column, idx, expected, found in problems:
        add(column, idx, expected, found)
    for column, idx, expected, found in _time_problems(parsed, present):
        add(column, idx, expected, found, where="all rows")

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
                        expected = _expected_type(col) + (f": {col.description}" if col.description else "")
                    else:
                        expected = _expected_type(col)
                        if check.startswith(">="):
                            found = "below the minimum: " + found
                        elif check.startswith("<="):
                            found = "above the maximum: " + found
                    add(column, idx, expected, found)

    checked = parsed.copy()  # a rule sees the parsed frame but never changes the one returned
    for rule in contract.rules:
        if not all(c in df.columns for c in rule.columns):
            continue
        try:
            ok = pd.Series(rule.check(checked), index=parsed.index)
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
    return pd.DataFrame(rows, columns=REPORT_COLUMNS), parsed


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


def validate_file(study: str, path, dataset: str = "cohort", labels: dict | None = None) -> pd.DataFrame:
    """Read ``path`` as CSV (an unreadable or empty file is a report row, not an exception)
    and validate it against ``study``'s ``dataset`` contract."""
    contract = contract_for(study, dataset)
    df, lines = read_csv_text(path)
    if df is None:
        return lines
    if _looks_headerless(df, contract):
        return _file_problem(path, "a header line naming the columns (patient_id, ...)",
                             f"no header: the first line holds values ({', '.join(map(str, df.columns[:4]))}, ...)")
    return validate(df, contract, path, lines=lines, labels=labels)


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


def parse_frame(df: pd.DataFrame, contract: Contract, labels: dict | None = None) -> pd.DataFrame:
    """Typed columns of ``df`` (raw text or typed) as :func:`read_cohort` returns them, without
    validating: numbers parsed, ``<LOD``/``<x`` read as 0 with ``<col>_below_lod`` flags,
    binary as int, categories as ``Categorical``, columns in another unit converted, columns
    empty in every row dropped (absent). Validate first (:func:`validate`)."""
    df, _, _ = prepare(df, contract, labels)
    df = df.drop(columns=sorted(_empty_columns(df, contract)))
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
    # one parse serves both: the frame validated is the frame returned (parse_frame(df)
    # would repeat prepare and _parse on the same df)
    report, parsed = _validate(df, contract, path, lines=lines)
    if not report.empty:
        raise CohortError(report, path)
    return _typed(parsed, contract).reset_index(drop=True)


def missing_columns(df: pd.DataFrame, columns) -> list[str]:
    """The ``columns`` that ``df`` lacks (or that are entirely missing)."""
    return [c for c in columns if c not in df.columns or df[c].isna().all()]


def data_dictionary(study: str) -> pd.DataFrame:
    """The study's contracts as a tidy table: dataset, column, type, unit, required, cells (a
    value in every row, or may be empty), allowed values / range and accepted codes,
    description, source (and the chapter section an optional column feeds)."""
    rows = []
    for name, c in contracts(study).items():
        for col in c.columns:
            if col.dtype == "category":
                allowed = ", ".join(map(str, col.allowed))
                if col.codes in CODES:
                    allowed += f" ({CODES[col.codes]})"
            elif col.dtype == "binary":
                allowed = "0, 1 (yes/no, true/false)"
            elif col.min is not None or col.max is not None:
                lo = "" if col.min is None else _fmt_value(col.min)
                hi = "" if col.max is None else _fmt_value(col.max)
                allowed = f"{lo}..{hi}" if lo and hi else (f">= {lo}" if lo else f"<= {hi}")
            else:
                allowed = ""
            if col.below_lod:
                allowed = (allowed + "; " if allowed else "") + "<LOD or <x allowed (read as 0)"
            rows.append({
                "dataset": name, "column": col.name, "type": col.dtype, "unit": col.unit,
                "required": "required" if col.required else "optional",
                "cells": "a value in every row" if must_fill(col) else "may be empty",
                "allowed": allowed, "description": col.description,
                "section": col.section, "source": col.source,
            })
    return pd.DataFrame(rows, columns=["dataset", "column", "type", "unit", "required", "cells", "allowed",
                                       "description", "section", "source"])


def codes_table() -> pd.DataFrame:
    """What is accepted beyond the contract's own values, and what each becomes: binary
    spellings, written-out responses, Child-Pugh codings, cohort labels (tidy: kind, written,
    read_as)."""
    rows = [{"kind": "binary (0/1) columns", "written": ", ".join(k for k, v in BINARY_CODES.items() if v == val),
             "read_as": str(val)} for val in (1, 0)]
    by_code = {}
    for k, v in RESPONSE_CODES.items():
        by_code.setdefault(v, []).append(k)
    rows += [{"kind": "best response", "written": f"{code}, " + ", ".join(ks), "read_as": code}
             for code, ks in by_code.items()]
    rows += [
        {"kind": "Child-Pugh class (A/B/C columns)", "written": "A, 5, 6, A5, A6, 'Child-Pugh A5'", "read_as": "A"},
        {"kind": "Child-Pugh class (A/B/C columns)", "written": "B, 7, 8, 9, B7 ... B9", "read_as": "B"},
        {"kind": "Child-Pugh class (A/B/C columns)", "written": "C, 10 ... 15, C10 ... C15", "read_as": "C"},
        {"kind": "Child-Pugh class and score (atebev_il6)", "written": "6, A6, a 6", "read_as": "A6 (likewise 5-15)"},
        {"kind": "Child-Pugh class and score (atebev_il6)", "written": "A, B, C (score unknown)", "read_as": "A, B, C"},
        {"kind": "Child-Pugh (any)", "written": "A9, B5, 16 (class and score disagree, or no such score)",
         "read_as": "refused"},
        {"kind": "cohort label, one-cohort study (soramic)", "written": "any label", "read_as": "the study's label"},
        {"kind": "cohort label, several cohorts", "written": "the study's labels (any letter case); others with "
                                                              "run --cohort-labels 'A=discovery,B=validation'",
         "read_as": "the study's label"},
        {"kind": "any category", "written": "any letter case (Discovery, cr)", "read_as": "the contract's spelling"},
        {"kind": "any column", "written": "an empty cell", "read_as": "missing (allowed except in the id and the "
                                                                    "time and event of a required endpoint)"},
    ]
    return pd.DataFrame(rows, columns=["kind", "written", "read_as"])


def rules_table(study: str) -> pd.DataFrame:
    """The study's cross-column rules: dataset, rule, columns, description."""
    rows = [{"dataset": name, "rule": r.name, "columns": ", ".join(r.columns), "description": r.description}
            for name, c in contracts(study).items() for r in c.rules]
    return pd.DataFrame(rows, columns=["dataset", "rule", "columns", "description"])
