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

from dataclasses import dataclass, field
from typing import Callable

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


class CohortError(ValueError):
    """A cohort that breaks its contract; ``str()`` is the readable report."""

    def __init__(self, report: pd.DataFrame, path):
        self.report = report
        self.path = path
        super().__init__(format_report(report, path))


def contracts(study: str) -> dict:
    """The study's ``{dataset: Contract}``."""
    raise NotImplementedError


def validate(df: pd.DataFrame, contract: Contract, path="<DataFrame>") -> pd.DataFrame:
    """Every failure of ``df`` against ``contract``, one row each (:data:`REPORT_COLUMNS`);
    empty when the data meet the contract."""
    raise NotImplementedError


def validate_file(study: str, path, dataset: str = "cohort") -> pd.DataFrame:
    """Read ``path`` as CSV (an unreadable or empty file is a report row, not an exception)
    and validate it."""
    raise NotImplementedError


def format_report(report: pd.DataFrame, path) -> str:
    """A readable text table of a report (``"<path>: meets the contract"`` if empty)."""
    raise NotImplementedError


def read_cohort(study: str, path=None, dataset: str = "cohort") -> pd.DataFrame:
    """Read and validate a dataset; ``path=None`` reads the shipped synthetic file
    (:func:`helpers.paths.synthetic_cohort` / ``synthetic_lab``). Raises :class:`CohortError`
    with the full report on failure. Returns typed columns (binary as int 0/1, category as
    pandas Categorical in ``allowed`` order), ``<col>_below_lod`` flags added."""
    raise NotImplementedError


def missing_columns(df: pd.DataFrame, columns) -> list[str]:
    """The ``columns`` that ``df`` lacks (or that are entirely missing)."""
    return [c for c in columns if c not in df.columns or df[c].isna().all()]


def data_dictionary(study: str) -> pd.DataFrame:
    """The study's contracts as a tidy table: dataset, column, type, unit, required, allowed
    values / range, description, source."""
    raise NotImplementedError
