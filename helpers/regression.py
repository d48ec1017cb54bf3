"""Logistic regression for binary outcomes (objective response), as R ``glm(family = binomial)``.

Odds ratios with Wald 95% CI and Wald p-values. Categorical covariates are dummy-coded
against a stated reference level, as in :func:`helpers.survival.cox`.

This module also holds the design-matrix builder shared with :func:`helpers.survival.cox`
(:func:`design_matrix`) and the input checks both use (:func:`check_columns`).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

LOGISTIC_COLUMNS = ["term", "coef", "se", "or", "lower", "upper", "z", "p"]

#: Two-sided 95% normal quantile, ``qnorm(0.975)`` in R.
Z95 = float(stats.norm.ppf(0.975))


def _rows(index, limit: int = 5) -> str:
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
    if pd.api.types.is_bool_dtype(values.dtype) or _is_boolean(values):
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
            f"{what}: column {column!r} must be 0/1 (or True/False); rows {_rows(shown.index)} "
            f"hold {', '.join(repr(v) for v in shown.unique()[:5])}"
        )
    return num.to_numpy(dtype=float)


def _is_boolean(s: pd.Series) -> bool:
    """bool, nullable ``boolean``, or an object column holding only True/False."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return True
    if pd.api.types.is_object_dtype(s.dtype):
        values = s.dropna()
        return len(values) > 0 and all(isinstance(v, (bool, np.bool_)) for v in values)
    return False


def _is_categorical(s: pd.Series) -> bool:
    return (
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(s)
        or pd.api.types.is_string_dtype(s)
    )


def _check_not_broken_numbers(s: pd.Series, column: str, what: str) -> None:
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
            f"({', '.join(repr(w) for w in words[:5])} in rows {_rows(rows)}); expected a "
            "numeric column (fix or blank those cells) or a categorical with a few levels"
        )


def design_matrix(df: pd.DataFrame, covariates: list[str], reference: dict | None = None,
                  what: str = "the data") -> tuple[pd.DataFrame, dict]:
    """Model matrix (no intercept) for ``covariates``, coded as R's ``model.matrix`` does.

    Parameters
    ----------
    df
        Rows already free of missing values in ``covariates``.
    covariates
        Column names. Numeric columns enter as they are; boolean columns (also nullable
        ``boolean`` or object columns of True/False with missing values) as 0/1, the term
        compares True with False. Text and ``pd.Categorical`` columns are dummy-coded:
        one term ``"<column>[<level>]"`` per level other than the reference.
    reference
        ``{column: level}`` reference level per categorical column. Default: the first
        category of a ``pd.Categorical`` (its stated order), otherwise the first level in
        sorted order (R's default for factors). Levels with no rows are dropped.

    Returns
    -------
    (X, reference)
        ``X`` float DataFrame with one column per term, same index as ``df``;
        ``reference`` the reference level used for every categorical column.
    """
    reference = dict(reference or {})
    unknown = [c for c in reference if c not in covariates]
    if unknown:
        raise ValueError(
            f"{what}: reference given for {', '.join(map(repr, unknown))}, "
            f"which is not among the covariates {covariates}"
        )
    parts: dict[str, np.ndarray] = {}
    used_ref: dict = {}
    for col in covariates:
        s = df[col]
        if _is_boolean(s):
            parts[col] = s.astype(bool).to_numpy(dtype=float)
        elif _is_categorical(s):
            _check_not_broken_numbers(s, col, what)
            if isinstance(s.dtype, pd.CategoricalDtype):
                present = set(s.dropna().unique())
                levels = [lv for lv in s.cat.categories if lv in present]
            else:
                try:
                    levels = sorted(s.dropna().unique())
                except TypeError:  # mixed types: sort by text
                    levels = sorted(s.dropna().unique(), key=str)
            if col in reference:
                ref = reference[col]
                if ref not in levels:
                    raise ValueError(
                        f"{what}: reference level {ref!r} for column {col!r} does not occur; "
                        f"levels present: {levels}"
                    )
            else:
                ref = levels[0] if levels else None
            used_ref[col] = ref
            for lv in levels:
                if lv == ref:
                    continue
                parts[f"{col}[{lv}]"] = (s == lv).to_numpy(dtype=float)
        else:
            num = pd.to_numeric(s, errors="coerce")
            bad = num.isna() & s.notna()
            if bad.any():
                raise ValueError(
                    f"{what}: column {col!r} is neither numeric nor categorical; rows "
                    f"{_rows(s[bad].index)} hold non-numbers"
                )
            parts[col] = num.to_numpy(dtype=float)
            if col in reference:
                raise ValueError(
                    f"{what}: reference level given for numeric column {col!r}; convert it "
                    "to a category (df[col].astype('category')) to dummy-code it"
                )
    X = pd.DataFrame(parts, index=df.index, dtype=float)
    return X, used_ref


def complete_rows(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The rows of ``df`` without a missing value in any of ``columns`` (R's
    ``na.action = na.omit``); all columns are kept, and ``df`` itself comes back (not a
    copy) when nothing is missing. Never modifies ``df``."""
    ok = np.ones(len(df), dtype=bool)
    for c in columns:
        ok &= df[c].notna().to_numpy()
    return df if ok.all() else df.loc[ok]


def logistic(df: pd.DataFrame, outcome: str, covariates: list[str],
             reference: dict | None = None) -> pd.DataFrame:
    """Fit ``outcome ~ covariates`` (outcome 0/1); one row per term except the intercept.
    Columns :data:`LOGISTIC_COLUMNS`, plus ``n`` (rows used; missing rows dropped).

    Parameters
    ----------
    df
        One row per patient. Not modified.
    outcome
        0/1 or True/False column (1 = the event modelled, e.g. objective response).
    covariates
        Model terms, coded by :func:`design_matrix` (numeric as is, bool as 0/1, text and
        categorical as ``"<column>[<level>]"`` dummies against the reference level).
    reference
        ``{column: reference level}`` for categorical covariates.

    Returns
    -------
    pandas.DataFrame
        :data:`LOGISTIC_COLUMNS` + ``n``.

    Notes
    -----
    Maximum likelihood by iteratively reweighted least squares (statsmodels ``GLM``,
    binomial family, logit link), equal to R ``glm(outcome ~ ..., family = binomial)``.
    ``or = exp(coef)``; 95% CI ``exp(coef -/+ qnorm(0.975) * se)`` (Wald, not the profile
    likelihood of R's ``confint``); ``p`` two-sided Wald, ``2 * pnorm(-|z|)``. Rows with a
    missing value in ``outcome`` or a covariate are dropped (``na.omit``). Complete
    separation gives R's warning (fitted probabilities numerically 0 or 1) and huge,
    meaningless estimates, as in R.
    """
    import statsmodels.api as sm

    covariates = list(covariates)
    check_columns(df, [outcome] + covariates, "logistic")
    data = complete_rows(df, [outcome] + covariates)
    if data.empty:
        raise ValueError(f"logistic: no rows without missing values in {[outcome] + covariates}")
    y = check_binary(data[outcome], outcome, "logistic")
    X, _ = design_matrix(data, covariates, reference, "logistic")
    if X.shape[1] == 0:
        raise ValueError("logistic: no model terms (every categorical covariate has one level)")
    if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
        raise ValueError(f"logistic: the terms {list(X.columns)} are collinear")
    exog = sm.add_constant(X, has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(y, exog, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=100)
    coef = fit.params.drop("const")
    se = fit.bse.drop("const")
    mu = np.asarray(fit.fittedvalues)
    eps = 10 * np.finfo(float).eps  # R glm.fit: "fitted probabilities numerically 0 or 1"
    if not np.all(np.isfinite(se)) or np.any((mu < eps) | (mu > 1 - eps)):
        warnings.warn(
            "logistic: fitted probabilities numerically 0 or 1 occurred (separation); the "
            "estimates are not finite in truth", RuntimeWarning, stacklevel=2,
        )
    z = coef / se
    with np.errstate(over="ignore"):  # infinite estimates were warned about above
        out = _logistic_table(X.columns, coef.to_numpy(), se.to_numpy(), z.to_numpy())
    out["n"] = len(data)
    return out


def _logistic_table(terms, coef, se, z) -> pd.DataFrame:
    return pd.DataFrame({
        "term": list(terms), "coef": coef, "se": se, "or": np.exp(coef),
        "lower": np.exp(coef - Z95 * se), "upper": np.exp(coef + Z95 * se),
        "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
    })
