"""Input checks shared by the model code (:mod:`helpers.survival`, :mod:`helpers.regression`,
:mod:`helpers.matching`): one place that says, in a readable error, which column and which rows
are wrong. Each check raises ``ValueError`` (``TypeError`` for a non-DataFrame) naming the
caller (``what``), the column and up to five row labels.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def rows_text(index, limit: int = 5) -> str:
    """A short, readable list of row labels for error messages."""
    labels = list(index)
    text = ", ".join(str(r) for r in labels[:limit])
    if len(labels) > limit:
        text += f", ... ({len(labels)} rows in all)"
    return text


def check_columns(df: pd.DataFrame, columns: list[str], what: str = "the data") -> None:
    """Raise a clear ``ValueError`` if ``df`` is not a DataFrame or lacks any of ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what}: column(s) {', '.join(repr(c) for c in missing)} not found; "
            f"available columns: {', '.join(map(str, df.columns))}"
        )


def check_binary(values: pd.Series, column: str, what: str = "the data") -> np.ndarray:
    """Return ``values`` as a 0/1 float array, or raise naming the column and bad rows.

    Accepts booleans and numbers equal to 0 or 1 (missing values must be dropped first).
    """
    if pd.api.types.is_bool_dtype(values.dtype) or is_boolean(values):
        return values.astype(bool).to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(values.dtype):
        arr = values.to_numpy(dtype=float)
        if np.all((arr == 0) | (arr == 1)):
            return arr
    num = pd.to_numeric(values, errors="coerce")
    bad = num.isna() | ~num.isin([0, 1])
    if bad.any():
        shown = values[bad]
        raise ValueError(
            f"{what}: column {column!r} must be 0/1 (or True/False); rows {rows_text(shown.index)} "
            f"hold {', '.join(repr(v) for v in shown.unique()[:5])}"
        )
    return num.to_numpy(dtype=float)


def is_boolean(s: pd.Series) -> bool:
    """bool, nullable ``boolean``, or an object column holding only True/False."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    if pd.api.types.is_object_dtype(s.dtype):
        values = s.dropna()
        return len(values) > 0 and all(isinstance(v, (bool, np.bool_)) for v in values)
    return False


def is_categorical(s: pd.Series) -> bool:
    return (
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(s)
        or pd.api.types.is_string_dtype(s)
    )


def check_not_broken_numbers(s: pd.Series, column: str, what: str) -> None:
    """A text column of many distinct numbers plus a few words is a numeric column with
    typos (``"12.3"``, ``"n.d."``), not a factor: refuse it rather than fit one dummy per
    value. (A few numeric-looking levels such as BCLC ``"0"`` are fine.)"""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return
    values = pd.Series(s.dropna().unique())
    num = pd.to_numeric(values, errors="coerce")
    if num.notna().sum() > 10 and num.isna().any():
        words = values[num.isna()].tolist()
        rows = s.index[s.isin(words)]
        raise ValueError(
            f"{what}: column {column!r} holds numbers as text and also non-numbers "
            f"({', '.join(repr(w) for w in words[:5])} in rows {rows_text(rows)}); expected a "
            "numeric column (fix or blank those cells) or a categorical with a few levels"
        )


def complete_rows(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The rows of ``df`` without a missing value in any of ``columns`` (R's
    ``na.action = na.omit``); all columns are kept, and ``df`` itself comes back (not a
    copy) when nothing is missing. Never modifies ``df``."""
    ok = np.ones(len(df), dtype=bool)
    for c in columns:
        ok &= df[c].notna().to_numpy()
    return df if ok.all() else df.loc[ok]
