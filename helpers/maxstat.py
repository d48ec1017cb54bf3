"""Maximally selected rank statistics (R ``maxstat``) and the uncorrected minimum-p search.

:func:`maxstat_test` follows ``maxstat.test(Surv(time, event) ~ marker, data,
smethod = "LogRank", pmethod = ...)``: candidate cut-points are the distinct marker values
whose low group (``marker <= cut``) holds between ``minprop`` and ``maxprop`` of the
patients (by counts, as maxstat does); log-rank scores are computed as maxstat computes them
(with its handling of tied times); the statistic at each cut is standardized; p-values by
``Lau92``, ``Lau94``, ``exactGauss`` and ``condMC`` (seeded).

:func:`min_pvalue_search` is what the PBIS paper did: the cut-off with the smallest plain
log-rank p. That p is not corrected for the search, and is labelled so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

CURVE_COLUMNS = ["cut", "n_low", "n_high", "statistic"]
PVALUE_METHODS = ("Lau92", "Lau94", "exactGauss", "condMC")


@dataclass
class MaxstatResult:
    """``cutoff``: the estimated cut-point (low = marker <= cutoff); ``statistic``: the
    maximal standardized statistic; ``pvalues``: one row per method (``method``, ``p``);
    ``curve``: the standardized statistic at every candidate cut (:data:`CURVE_COLUMNS`)."""

    cutoff: float
    statistic: float
    pvalues: pd.DataFrame
    curve: pd.DataFrame
    minprop: float = 0.1
    maxprop: float = 0.9
    n: int = 0
    settings: dict = field(default_factory=dict)

    def p(self, method: str) -> float:
        """The p-value of one method."""
        return float(self.pvalues.set_index("method").loc[method, "p"])


def maxstat_test(df: pd.DataFrame, time: str, event: str, marker: str, *,
                 minprop: float = 0.1, maxprop: float = 0.9,
                 pmethods=PVALUE_METHODS, seed: int = 20231, n_mc: int = 9999) -> MaxstatResult:
    """Maximally selected log-rank statistic for ``marker`` (see the module docstring)."""
    raise NotImplementedError


@dataclass
class MinPResult:
    """``cutoff`` with the smallest plain log-rank ``p_min`` (uncorrected for the search);
    ``curve``: ``cut``, ``n_low``, ``n_high``, ``chisq``, ``p`` at every candidate."""

    cutoff: float
    p_min: float
    curve: pd.DataFrame
    label: str = "minimum log-rank p (uncorrected for the search)"


def min_pvalue_search(df: pd.DataFrame, time: str, event: str, marker: str, *,
                      minprop: float = 0.1, maxprop: float = 0.9,
                      high_if: str = ">=") -> MinPResult:
    """The uncorrected minimum log-rank p search over the same candidate cuts as maxstat.
    ``high_if=">="`` reports the cut as "high = marker >= cutoff" (the PBIS convention), the
    cut being the smallest value of the high group."""
    raise NotImplementedError
