"""One shape for every study: parameters, analysis steps and provenance each in one place.

Each ``helpers/studies/<study>.py`` exposes the same public surface (:data:`SURFACE`;
``tests/test_studies.py`` checks names and signatures):

``STUDY``
    The short study name (``helpers.paths.STUDIES``).
``Params``
    A frozen dataclass (subclass of :class:`StudyParams`) with one field per parameter that
    any of the study's chapters accepts, each made with :func:`param`: its default, unit,
    meaning and, for a cut-off, the ``data/published`` row its default is read from. ``None``
    for any field means "the study's default", so a chapter's papermill ``parameters`` cell
    can hold ``None`` everywhere and pass its values straight in: ``Params(il6_cutoff=None)``.
``PARAMS``
    ``Params()``: the defaults (published cut-offs resolved).
``SECTIONS``
    The names of the sections :func:`reproduce` knows, in reading order.
``load(cohort_file=None, params=None)``
    Read and validate the cohort (``None``: the shipped synthetic one) and prepare it with
    ``params`` (groups, scores, derived columns). Returns the analysis DataFrame; anything
    else a chapter needs (e.g. the resolved cut-off) is in ``df.attrs``.
``reproduce(df, params=None, section=None)``
    The numbers of one section (``None``: every section) as tidy rows keyed by published id:
    :data:`ROW_COLUMNS`. Chapters record exactly these rows (:meth:`helpers.results.Recorder.
    record_rows`); the tests, the synthetic-cohort calibration and the scorecard call the
    same function, so there is one place that decides which number goes under which id.

Adding a study: README.md, "Adding a study".
"""
from __future__ import annotations

import dataclasses
import importlib
import math
from typing import Any, ClassVar

import pandas as pd

#: The public names every study module defines.
SURFACE = ("STUDY", "Params", "PARAMS", "SECTIONS", "load", "reproduce")
#: Columns of the rows :func:`reproduce` returns (``computed_by``: the function and section).
ROW_COLUMNS = ["key", "estimate", "lower", "upper", "p", "n", "text", "computed_by"]


class ParamError(ValueError):
    """A parameter value a study cannot use; the message is one line naming it."""


def module(study: str):
    """The study module ``helpers.studies.<study>`` (checked against ``paths.STUDIES``)."""
    from helpers import paths

    return importlib.import_module(f"helpers.studies.{paths.check_study(study)}")


def param(default: Any = None, *, meaning: str, unit: str = "", kind: type | tuple = float,
          published: str | None = None, choices: tuple | None = None):
    """A study parameter: a dataclass field carrying its documentation.

    Parameters
    ----------
    default
        The default value; leave ``None`` when ``published`` gives it.
    meaning
        One sentence for readers and for ``python -m helpers run``'s messages.
    unit
        The unit of a number (``"pg/mL"``, ``"months"``), ``""`` if none.
    kind
        The accepted Python type(s); ``float`` accepts ints; ``int`` accepts whole floats.
    published
        The ``id`` of the ``data/published/<study>.csv`` row whose ``value`` is the default
        (the paper's printed cut-off): the value is never typed in code.
    choices
        Text values accepted besides numbers (e.g. ``("maxstat",)``), or the only values
        accepted when ``kind`` is ``str``.
    """
    meta = dict(meaning=meaning, unit=unit, kind=kind, published=published, choices=choices,
                default=default)
    return dataclasses.field(default=None, metadata=meta)


def _coerce(name: str, value, meta: dict, study: str):
    kinds = meta["kind"] if isinstance(meta["kind"], tuple) else (meta["kind"],)
    choices = meta.get("choices") or ()
    if isinstance(value, str) and value in choices:
        return value
    if isinstance(value, bool) and bool not in kinds:
        raise ParamError(_bad(name, value, meta, study))
    if bool in kinds and isinstance(value, bool):
        return value
    if float in kinds and isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(float(value)):
            raise ParamError(_bad(name, value, meta, study))
        return float(value)
    if int in kinds and isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer():
            return int(value)
        raise ParamError(_bad(name, value, meta, study))
    if str in kinds and isinstance(value, str) and (not choices or value in choices):
        return value
    raise ParamError(_bad(name, value, meta, study))


def _expected(meta: dict) -> str:
    kinds = meta["kind"] if isinstance(meta["kind"], tuple) else (meta["kind"],)
    words = {float: "a number", int: "a whole number", bool: "True or False", str: "text"}
    parts = [words.get(k, k.__name__) for k in kinds if not (k is str and meta.get("choices"))]
    parts += [repr(c) for c in meta.get("choices") or ()]
    unit = f" ({meta['unit']})" if meta.get("unit") else ""
    return " or ".join(parts) + unit


def _bad(name, value, meta, study) -> str:
    return (f"parameter {name} = {value!r} is not valid for {study}: expected {_expected(meta)} "
            f"({meta['meaning']})")


@dataclasses.dataclass(frozen=True)
class StudyParams:
    """Base of every study's ``Params``: ``None`` fields take the study's default, values are
    checked and coerced (``int`` -> ``float`` for numbers) on construction."""

    STUDY: ClassVar[str] = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                value = self.default(f.name)
            if value is not None:
                value = _coerce(f.name, value, f.metadata, self.STUDY)
            object.__setattr__(self, f.name, value)

    @classmethod
    def default(cls, name: str):
        """The default of parameter ``name`` (a published cut-off is read from its row)."""
        meta = cls._field(name).metadata
        if meta.get("published"):
            from helpers import published

            return published.value(cls.STUDY, meta["published"])
        return meta.get("default")

    @classmethod
    def _field(cls, name: str):
        for f in dataclasses.fields(cls):
            if f.name == name:
                return f
        raise ParamError(f"{cls.STUDY} has no parameter {name!r}; parameters: {', '.join(cls.names())}")

    @classmethod
    def names(cls) -> list[str]:
        """Every parameter name, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def check(cls, name: str, value):
        """``value`` coerced for parameter ``name``, or a one-line :class:`ParamError`.
        ``None`` (the default) is always accepted."""
        f = cls._field(name)
        return None if value is None else _coerce(name, value, f.metadata, cls.STUDY)

    @classmethod
    def describe(cls) -> pd.DataFrame:
        """One row per parameter: name, default, unit, meaning, source of the default."""
        rows = []
        for f in dataclasses.fields(cls):
            m = f.metadata
            source = f"data/published/{cls.STUDY}.csv: {m['published']}" if m.get("published") else "book default"
            rows.append(dict(name=f.name, default=cls.default(f.name), unit=m.get("unit", ""),
                             meaning=m["meaning"], source=source))
        return pd.DataFrame(rows)

    def replace(self, **changes) -> "StudyParams":
        """A copy with some parameters changed (validated like the constructor)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def rows(records: list[dict], computed_by: str) -> pd.DataFrame:
    """Tidy :data:`ROW_COLUMNS` rows from ``records`` (dicts with some of the columns);
    ``computed_by`` is filled where a record has none (e.g. ``"helpers.studies.pbis.reproduce[outcomes]"``)."""
    out = pd.DataFrame(records, columns=ROW_COLUMNS)
    out["computed_by"] = out["computed_by"].fillna(computed_by) if len(out) else out["computed_by"]
    out["text"] = out["text"].fillna("") if len(out) else out["text"]
    return out


def check_section(study: str, section: str | None, sections) -> None:
    """A clear error for an unknown ``section`` of ``reproduce``."""
    if section is not None and section not in sections:
        raise ValueError(f"{study}: unknown section {section!r}; sections: {', '.join(sections)}")
