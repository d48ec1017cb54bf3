"""Kaplan-Meier, log-rank and Cox regression, following R ``survival`` conventions.

Conventions (every function):

- ``time`` in months (any unit works; medians come back in the same unit), ``event`` 1 =
  event observed, 0 = right-censored.
- ``group=None`` means one group, labelled ``"all"``. Groups appear in sorted order unless
  a ``pd.Categorical`` gives an order.
- Kaplan-Meier confidence intervals: ``conf.type = "log"`` (R's default), 95%.
- Median: R ``survfit``'s rule (first time S(t) <= 0.5; where S(t) == 0.5 on a flat
  stretch, the midpoint to the next event time); the limits likewise from the CI band;
  ``NaN`` = not reached.
- Cox: Efron ties (R ``coxph`` default); Wald CI and p per term; likelihood-ratio test for
  the model; Harrell's concordance.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

KM_COLUMNS = ["group", "time", "n_risk", "n_event", "n_censor", "survival", "lower", "upper"]
KM_SUMMARY_COLUMNS = ["group", "n", "events", "median", "median_lower", "median_upper"]
KM_AT_COLUMNS = ["group", "time", "n_risk", "survival", "lower", "upper"]
LOGRANK_COLUMNS = ["test", "statistic", "dof", "p", "n", "groups"]
COX_COLUMNS = ["term", "coef", "se", "hr", "lower", "upper", "z", "p"]


def km_table(df: pd.DataFrame, time: str, event: str, group: str | None = None) -> pd.DataFrame:
    """The Kaplan-Meier curve per group: one row per distinct time (events and censorings),
    plus a first row at time 0 with survival 1. Columns :data:`KM_COLUMNS`."""
    raise NotImplementedError


def km_summary(df: pd.DataFrame, time: str, event: str, group: str | None = None) -> pd.DataFrame:
    """Per group: n, events, median survival with its 95% CI (R ``survfit`` print).
    Columns :data:`KM_SUMMARY_COLUMNS`."""
    raise NotImplementedError


def km_at(df: pd.DataFrame, time: str, event: str, group: str | None = None,
          times=(6.0, 12.0)) -> pd.DataFrame:
    """Survival at given times per group (R ``summary(fit, times = ...)``): survival, 95% CI
    and number at risk. Columns :data:`KM_AT_COLUMNS`."""
    raise NotImplementedError


def logrank(df: pd.DataFrame, time: str, event: str, group: str) -> pd.DataFrame:
    """Log-rank test for 2 or more groups, equal to R ``survdiff(Surv(time, event) ~ group)``.
    One row, columns :data:`LOGRANK_COLUMNS` (statistic = chi-square, dof = k - 1)."""
    raise NotImplementedError


@dataclass
class CoxResult:
    """A fitted Cox model. ``table`` has one row per model term (:data:`COX_COLUMNS`); a
    categorical covariate gives terms ``"<column>[<level>]"`` against its reference level."""

    table: pd.DataFrame
    n: int
    events: int
    loglik: float
    lr_statistic: float
    lr_dof: int
    lr_p: float
    concordance: float
    reference: dict


def cox(df: pd.DataFrame, time: str, event: str, covariates: list[str],
        reference: dict | None = None) -> CoxResult:
    """Cox proportional-hazards regression, Efron ties, equal to R ``coxph`` to 4 decimals.

    Numeric and boolean columns enter as they are (a bool/0-1 column's HR compares 1 vs 0);
    text or categorical columns are dummy-coded against ``reference[column]`` (default: the
    first level in sorted order, as R does for factors). Rows with a missing value in any
    used column are dropped (R's ``na.action = na.omit``); ``n`` says how many were used.
    """
    raise NotImplementedError


def cox_univariable(df: pd.DataFrame, time: str, event: str, covariates: list[str],
                    reference: dict | None = None) -> pd.DataFrame:
    """One Cox model per covariate, stacked: columns ``covariate`` + :data:`COX_COLUMNS`
    + ``n``, ``events``."""
    raise NotImplementedError
