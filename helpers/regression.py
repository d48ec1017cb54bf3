"""Logistic regression for binary outcomes (objective response), as R ``glm(family = binomial)``.

Odds ratios with Wald 95% CI and Wald p-values. Categorical covariates are dummy-coded
against a stated reference level, as in :func:`helpers.survival.cox`.
"""
from __future__ import annotations

import pandas as pd

LOGISTIC_COLUMNS = ["term", "coef", "se", "or", "lower", "upper", "z", "p"]


def logistic(df: pd.DataFrame, outcome: str, covariates: list[str],
             reference: dict | None = None) -> pd.DataFrame:
    """Fit ``outcome ~ covariates`` (outcome 0/1); one row per term except the intercept.
    Columns :data:`LOGISTIC_COLUMNS`, plus ``n`` (rows used; missing rows dropped)."""
    raise NotImplementedError
