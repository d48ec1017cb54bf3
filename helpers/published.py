"""The papers' printed numbers: ``data/published/<study>.csv``, one row per printed number.

:func:`load` reads and checks the files (the format is described in
``data/published/README.md``); :func:`get` returns one row by its ``id``. The ``id`` is
the key a chapter records its own number under (:meth:`helpers.results.Recorder.record`),
so :mod:`helpers.scorecard` can set the two side by side.

Every problem in a file is reported at once, as one :class:`PublishedFormatError` naming
the file, the CSV line (the header is line 1), the column, the value found and what was
expected. Files are only read, never written.

Conventions of the loaded frame
-------------------------------
- ``value``, ``lower``, ``upper``, ``p`` are floats (``NaN`` where the paper printed none).
  A CI with one limit printed as ``NA`` (a median's upper limit not reached) keeps the
  other limit; the scorecard reads a blank limit beside a printed one as unbounded.
- ``value_text`` keeps ``value`` exactly as written in the CSV (``"1.50"``), so the number
  of printed decimals survives; ``digits`` is taken from the ``digits`` column, or, where
  that is blank, counted from ``value_text``.
- ``p_bound`` is ``"="``, ``"<"`` or ``">"`` where a p is given (blank means ``"="``), and
  ``""`` where there is no p. For a row whose ``quantity`` is ``p`` the printed p is the
  ``value`` itself and ``p_bound`` describes it (``p < 0.001``: value 0.001, bound ``<``).
- ``preferred`` is 1 unless the file says 0 (the paper printed the same quantity twice
  and the book takes the other row).
- ``ci_digits`` is the number of decimals the CI was printed with (the larger of the two
  limits; ``<NA>`` without a CI): the scorecard reads a ratio printed with fewer decimals
  than its CI (``2 (95% CI 1.2-3.2)``) at the CI's precision.
- Text columns (``source``, ``cohort``, ``group``, ``unit``, ``note``, ``reason``) are ``""``
  where blank. ``reason`` says in words why the shipped synthetic cohort misses this number
  (the scorecard shows it in the row); ``tolerance`` ``contradiction`` marks a number the
  paper contradicts elsewhere (its ``note`` says where).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from . import paths

#: Every column of a published-numbers file, in order.
PUBLISHED_COLUMNS = ["id", "study", "source", "cohort", "group", "quantity", "value",
                     "lower", "upper", "p", "p_bound", "unit", "digits", "tolerance",
                     "preferred", "note", "reason"]
#: Columns a file must have; the others may be left out (read as blank).
REQUIRED_COLUMNS = ["id", "study", "source", "cohort", "group", "quantity", "value",
                    "tolerance"]
#: Allowed ``tolerance`` values (see :mod:`helpers.scorecard` for what each demands).
TOLERANCES = ("exact", "rounding", "ci", "direction", "contradiction", "info")
#: Allowed ``p_bound`` values.
P_BOUNDS = ("=", "<", ">")
#: Columns of the loaded frame: the file's columns plus ``value_text``, ``ci_digits`` and ``line``.
LOADED_COLUMNS = PUBLISHED_COLUMNS + ["value_text", "ci_digits", "line"]

_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TEXT_COLUMNS = ["source", "cohort", "group", "unit", "note", "reason"]


class PublishedFormatError(ValueError):
    """A published-numbers file does not follow ``data/published/README.md``.

    ``problems`` holds one readable line per problem."""

    def __init__(self, file, problems: list[str]):
        self.file = str(file)
        self.problems = list(problems)
        shown = self.problems[:40]
        more = len(self.problems) - len(shown)
        text = f"{self.file}: {len(self.problems)} problem(s) (format: data/published/README.md)\n"
        text += "\n".join(f"  - {p}" for p in shown)
        if more:
            text += f"\n  ... and {more} more"
        super().__init__(text)


def _digits_of(text: str) -> int:
    """Decimals written in a number's text: ``"1.50"`` -> 2, ``"84"`` -> 0, ``"1e-3"`` -> 0."""
    mantissa = re.split(r"[eE]", text)[0]
    return len(mantissa.split(".", 1)[1]) if "." in mantissa else 0


def _lines(rows) -> str:
    """CSV line numbers (header = line 1) of the frame rows ``rows``, shortened when many."""
    lines = [str(int(r) + 2) for r in rows]
    return ", ".join(lines[:12]) + (f" (+{len(lines) - 12} more)" if len(lines) > 12 else "")


def check(raw: pd.DataFrame, file, study: str | None = None) -> list[str]:
    """Every problem in a published-numbers table read with all columns as text.

    Parameters
    ----------
    raw
        The file as read by ``pd.read_csv(file, dtype=str, keep_default_na=False)``.
    file
        The file's name, for the messages.
    study
        The study the file belongs to (its name); every row's ``study`` must equal it.

    Returns
    -------
    list of str
        One message per problem, each naming the CSV line(s), the column and what was
        expected. Empty when the file is valid.
    """
    problems: list[str] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        return [f"missing required column(s) {', '.join(missing)}; the header has "
                f"{', '.join(raw.columns) or 'no columns'}"]
    unknown = [c for c in raw.columns if c not in PUBLISHED_COLUMNS]
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}; allowed: "
                        f"{', '.join(PUBLISHED_COLUMNS)}")
    df = raw.apply(lambda s: s.str.strip())

    def bad(mask, column, expected):
        if mask.any():
            found = sorted(set(df.loc[mask, column]))[:5]
            problems.append(f"line {_lines(df.index[mask])}, column '{column}': expected "
                            f"{expected}; found {', '.join(repr(x) for x in found)}")

    bad(df["id"] == "", "id", "a non-empty id")
    bad((df["id"] != "") & ~df["id"].str.match(_ID), "id",
        "a snake_case id (lower-case letters, digits, underscores)")
    dup = df["id"].duplicated(keep=False) & (df["id"] != "")
    for key, rows in df[dup].groupby("id").groups.items():
        problems.append(f"line {_lines(rows)}, column 'id': id {key!r} is not unique")
    if study is not None:
        bad(df["study"] != study, "study", f"{study!r} (the file's study)")
    else:
        bad(~df["study"].isin(paths.STUDIES), "study", f"one of {', '.join(paths.STUDIES)}")
    bad(df["quantity"] == "", "quantity", "a non-empty quantity (count, hr, median, ...)")
    bad(~df["tolerance"].isin(TOLERANCES), "tolerance", f"one of {', '.join(TOLERANCES)}")

    is_info = df["tolerance"] == "info"
    for column in ("value", "lower", "upper", "p"):
        if column not in df:
            continue
        filled = df[column] != ""
        bad(filled & ~df[column].str.match(_NUMBER), column, "a plain number (e.g. 2.93, 0.001)")
    if "value" in df:
        bad((df["value"] == "") & ~is_info, "value",
            "a number (only tolerance 'info' rows may leave it blank)")
    if "digits" in df:
        bad((df["digits"] != "") & ~df["digits"].str.fullmatch(r"\d+"), "digits",
            "a whole number of printed decimals (0, 1, 2, ...)")
    if "preferred" in df:
        bad(~df["preferred"].isin(["", "0", "1"]), "preferred", "0, 1 or blank")
    if "p_bound" in df:
        bad((df["p_bound"] != "") & ~df["p_bound"].isin(P_BOUNDS), "p_bound",
            "one of =, <, > or blank")
        has_p = (df["p"] != "") if "p" in df else pd.Series(False, index=df.index)
        own_p = df["quantity"] == "p"
        bad((df["p_bound"] != "") & ~has_p & ~own_p, "p_bound",
            "blank, because this row has no p (fill 'p', or set quantity 'p')")
    numeric = {c: pd.to_numeric(df[c].where(df[c].str.match(_NUMBER)), errors="coerce")
               for c in ("value", "lower", "upper", "p") if c in df}
    if "lower" in numeric and "upper" in numeric:
        bad(numeric["lower"] > numeric["upper"], "lower", "lower <= upper")
    if "p" in numeric:
        bad((numeric["p"] < 0) | (numeric["p"] > 1), "p", "a probability between 0 and 1")
    ci_rows = df["tolerance"] == "ci"
    if "lower" in df and "upper" in df:
        bad(ci_rows & (df["lower"] == "") & (df["upper"] == ""), "tolerance",
            "'ci' only on rows with a printed CI (lower and upper; a limit printed as "
            "NA, not reached, may be left blank, but not both)")
    else:
        bad(ci_rows, "tolerance", "'ci' only on rows with a printed CI (lower and upper)")
    return problems


def read(file: str | os.PathLike, study: str | None = None) -> pd.DataFrame:
    """Read and check one published-numbers file (see the module docstring).

    Raises
    ------
    FileNotFoundError
        If ``file`` does not exist.
    PublishedFormatError
        Listing every problem, if the file does not follow the format.
    """
    file = Path(file)
    if not file.exists():
        raise FileNotFoundError(f"{file}: published-numbers file not found "
                                "(one CSV per study in data/published/, see its README.md)")
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, skipinitialspace=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PublishedFormatError(file, [f"not a readable CSV file: {exc}"]) from None
    except pd.errors.EmptyDataError:
        raise PublishedFormatError(file, ["the file is empty (expected a header line)"]) from None
    problems = check(raw, file, study)
    if problems:
        raise PublishedFormatError(file, problems)
    df = raw.apply(lambda s: s.str.strip())
    for column in PUBLISHED_COLUMNS:
        if column not in df:
            df[column] = ""
    out = df[PUBLISHED_COLUMNS].copy()
    out["value_text"] = out["value"]
    ci_digits = [max([_digits_of(t) for t in (lo, hi) if t] or [-1])
                 for lo, hi in zip(out["lower"], out["upper"])]
    out["ci_digits"] = pd.array([None if d < 0 else d for d in ci_digits], dtype="Int64")
    for column in ("value", "lower", "upper", "p"):
        out[column] = pd.to_numeric(out[column].mask(out[column] == ""), errors="coerce").astype(float)
    written = pd.to_numeric(df["digits"].mask(df["digits"] == ""), errors="coerce")
    counted = out["value_text"].map(lambda t: _digits_of(t) if t else None)
    out["digits"] = pd.array(written.fillna(pd.to_numeric(counted)).astype("float"), dtype="Int64")
    out["preferred"] = pd.array(df["preferred"].replace("", "1").astype(int), dtype="Int64")
    has_p = out["p"].notna() | ((out["quantity"] == "p") & out["value"].notna())
    out["p_bound"] = out["p_bound"].where(out["p_bound"] != "", "=").where(has_p, "")
    for column in _TEXT_COLUMNS:
        out[column] = out[column].fillna("")
    out["line"] = out.index + 2
    return out[LOADED_COLUMNS].reset_index(drop=True)


_CACHE: dict = {}


def _read_cached(file: Path, study: str) -> pd.DataFrame:
    """:func:`read`, remembered while the file's size and modification time are unchanged."""
    stat = file.stat()
    key = (str(file.resolve()), study, stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        _CACHE.clear() if len(_CACHE) > 16 else None
        _CACHE[key] = read(file, study)
    return _CACHE[key].copy()


def load(study: str | None = None, folder: str | os.PathLike | None = None) -> pd.DataFrame:
    """The published numbers of one study, or of every study that has a file.

    Parameters
    ----------
    study
        ``atebev_il6``, ``pbis`` or ``soramic``; ``None`` for all studies whose file exists.
    folder
        Where the files are; default :data:`helpers.paths.PUBLISHED`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LOADED_COLUMNS`, in file order (studies in :data:`paths.STUDIES`
        order).

    Raises
    ------
    FileNotFoundError
        If ``study`` is given and its file does not exist.
    PublishedFormatError
        If a file breaks the format (every problem listed, with file, line and column).
    """
    folder = Path(folder) if folder is not None else paths.PUBLISHED
    if study is not None:
        paths.check_study(study)
        file = folder / f"{study}.csv"
        return _read_cached(file, study) if file.exists() else read(file, study)
    frames = [_read_cached(folder / f"{s}.csv", s) for s in paths.STUDIES
              if (folder / f"{s}.csv").exists()]
    if not frames:
        return pd.DataFrame(columns=LOADED_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def get(study: str, id: str, folder: str | os.PathLike | None = None) -> pd.Series:
    """One published number (a row of :func:`load`) by its ``id``.

    Chapters use this for inputs the paper fixed in advance (a pre-specified cut-off), never
    to print a published result as if computed.

    Raises
    ------
    KeyError
        If the study's file has no row with this ``id`` (the message names the file).
    """
    table = load(study, folder)
    hit = table[table["id"] == id]
    if hit.empty:
        file = (Path(folder) if folder is not None else paths.PUBLISHED) / f"{study}.csv"
        raise KeyError(f"{file}: no published number with id {id!r}")
    return hit.iloc[0]


def value(study: str, id: str, folder: str | os.PathLike | None = None) -> float:
    """The printed ``value`` of one published number (see :func:`get`)."""
    return float(get(study, id, folder)["value"])


def printed(study: str, id: str, unit: str = "", folder: str | os.PathLike | None = None) -> str:
    """The paper's printed value of one published number, as text, with its printed decimals.

    For prose that quotes the paper beside the book's own result (``printed as 7%``): the
    text is built from ``data/published/<study>.csv``, never typed into a chapter. For the
    number itself use :func:`value`.

    Parameters
    ----------
    study
        ``atebev_il6``, ``pbis`` or ``soramic``.
    id
        The published number's ``id`` (see :func:`get`).
    unit
        Appended directly, without a space (``"%"`` gives ``"28.8%"``).
    folder
        Where the files are; default :data:`helpers.paths.PUBLISHED`.

    Returns
    -------
    str
        ``value`` with ``digits`` decimals, then ``unit``. A row whose quantity is ``p``
        and whose ``p_bound`` is ``<`` or ``>`` gets the bound in front, without a space
        (``"<0.001"``); ``=`` is left out.

    Raises
    ------
    KeyError
        If the study's file has no row with this ``id``.

    Examples
    --------
    >>> printed("atebev_il6", "discovery_il6_cutoff")  # doctest: +SKIP
    '18.49'
    """
    row = get(study, id, folder)
    bound = row["p_bound"] if row["quantity"] == "p" and row["p_bound"] in ("<", ">") else ""
    return f"{bound}{row['value']:.{int(row['digits'])}f}{unit}"
