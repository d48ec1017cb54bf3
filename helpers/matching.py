"""Propensity-score matching with R ``MatchIt`` conventions.

``matchit(treat ~ covariates, method = "nearest", distance = "glm", caliper = 0.2,
replace = FALSE, ratio = 1, m.order = "largest")``: the propensity score from a logistic
model; treated units matched in descending order of their score to the nearest control not
yet used; the caliper is in standard deviations of the propensity score (MatchIt's
``std.caliper = TRUE`` on the distance measure itself, not its logit); treated units with no
control inside the caliper are dropped.
"""
from __future__ import annotations

import pandas as pd

BALANCE_COLUMNS = ["variable", "mean_treated", "mean_control", "smd_before",
                   "mean_treated_matched", "mean_control_matched", "smd_after"]


def propensity_score(df: pd.DataFrame, treatment: str, covariates: list[str]) -> pd.Series:
    """Fitted probabilities of ``treatment`` (0/1) from a logistic model (MatchIt ``distance = "glm"``)."""
    raise NotImplementedError


def match_nearest(df: pd.DataFrame, treatment: str, covariates: list[str], *,
                  caliper: float = 0.2, m_order: str = "largest", seed: int | None = None
                  ) -> pd.DataFrame:
    """The matched cohort: the rows of ``df`` that were matched, with columns
    ``distance`` (propensity score) and ``pair`` (1, 2, ...: the treated unit's match order)."""
    raise NotImplementedError


def balance_table(df: pd.DataFrame, matched: pd.DataFrame, treatment: str,
                  covariates: list[str]) -> pd.DataFrame:
    """Standardized mean differences before and after matching (:data:`BALANCE_COLUMNS`),
    MatchIt ``summary()`` convention: difference in means over the treated group's SD."""
    raise NotImplementedError
