"""Logistic regression for binary outcomes (objective response), as R ``glm(family = binomial)``.

Odds ratios with Wald 95% CI and Wald p-values. Categorical covariates are dummy-coded
against a stated reference level, as in :func:`helpers.survival.cox`.

This module also holds the one design-matrix builder (:func:`design_matrix`, used by
:func:`helpers.survival.cox` and :mod:`helpers.matching`) and the one logistic fit
(:func:`fit_logistic`, used by :func:`logistic` and the propensity score of
:mod:`helpers.matching`). Input checks live in :mod:`helpers.checks`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .checks import (check_binary, check_columns, check_not_broken_numbers, complete_rows,
                     is_boolean, is_categorical, rows_text)

LOGISTIC_COLUMNS = ["term", "coef", "se", "or", "lower", "upper", "z", "p"]

#: Two-sided 95% normal quantile, ``qnorm(0.975)`` in R.
Z95 = float(stats.norm.ppf(0.975))


def design_matrix(df: pd.DataFrame, covariates: list[str], reference: dict | None = None,
                  what: str = "the data", *, full_dummies: bool = False,
                  dummy_name: str = "{column}[{level}]") -> tuple[pd.DataFrame, dict]:
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
    what
        The caller's name, for error messages.
    full_dummies
        One column per level, the reference included (MatchIt ``summary``'s balance rows).
    dummy_name
        How a dummy column is named (``"{column}_{level}"`` for :mod:`helpers.matching`).

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
        if is_boolean(s):
            parts[col] = s.astype(bool).to_numpy(dtype=float)
        elif is_categorical(s):
            check_not_broken_numbers(s, col, what)
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
                if lv == ref and not full_dummies:
                    continue
                parts[dummy_name.format(column=col, level=lv)] = (s == lv).to_numpy(dtype=float)
        else:
            num = pd.to_numeric(s, errors="coerce")
            bad = num.isna() & s.notna()
            if bad.any():
                raise ValueError(
                    f"{what}: column {col!r} is neither numeric nor categorical; rows "
                    f"{rows_text(s[bad].index)} hold non-numbers"
                )
            parts[col] = num.to_numpy(dtype=float)
            if col in reference:
                raise ValueError(
                    f"{what}: reference level given for numeric column {col!r}; convert it "
                    "to a category (df[col].astype('category')) to dummy-code it"
                )
    X = pd.DataFrame(parts, index=df.index, dtype=float)
    return X, used_ref


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
    fit = fit_logistic(X, y)
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
    # disclosure control (helpers.disclosure): n and events stated; a model with fewer than k
    # responses or non-responses, or fewer than k residual df, keeps its rows but no estimates
    from . import disclosure

    events = int(np.sum(y))
    out, note = disclosure.protect_model(out, n=len(data), events=events, non_events=len(data) - events,
                                         n_parameters=X.shape[1] + 1, what=f"logistic model of {outcome}",
                                         estimates=["coef", "se", "or", "lower", "upper", "z", "p"])
    out.attrs["disclosure"] = note
    return out


def fit_logistic(X: pd.DataFrame, y: np.ndarray, *, epsilon: float = 1e-14, maxiter: int = 100):
    """The book's one logistic fit: statsmodels ``GLM`` (binomial, logit link, IRLS) of ``y``
    (0/1) on ``X`` plus an intercept column ``const``.

    The stopping rule is R ``glm.fit``'s, ``|dev - dev_old| <= epsilon (|dev| + 0.1)`` (as
    statsmodels' ``atol = 0.1 epsilon``, ``rtol = epsilon`` on the deviance), from the same
    start (``mu = (y + 0.5) / 2``). The default 1e-14 iterates to the maximum likelihood
    estimate, as :func:`logistic`'s R reference does (``glm.control(epsilon = 1e-14)``;
    estimates and SE agree to ~1e-10). With
    R's default ``epsilon = 1e-8`` the iterations stop where a default R ``glm`` stops, so
    fitted values equal R's to ~1e-13: the propensity score of :mod:`helpers.matching` does
    that, as MatchIt calls ``glm`` with its defaults (R's estimate is then ~1e-8 from the MLE).

    Returns the statsmodels results (``params``, ``bse``, ``fittedvalues``, ``converged``);
    warnings (perfect separation, non-convergence) are left to the caller to judge."""
    import statsmodels.api as sm

    exog = sm.add_constant(X, has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.GLM(y, exog, family=sm.families.Binomial()).fit(
            method="IRLS", maxiter=maxiter, tol_criterion="deviance", atol=0.1 * epsilon,
            rtol=epsilon)


def _logistic_table(terms, coef, se, z) -> pd.DataFrame:
    return pd.DataFrame({
        "term": list(terms), "coef": coef, "se": se, "or": np.exp(coef),
        "lower": np.exp(coef - Z95 * se), "upper": np.exp(coef + Z95 * se),
        "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
    })
