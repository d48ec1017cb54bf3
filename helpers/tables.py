"""Table 1 by group, with R ``tableone`` conventions.

- Categorical: n (%) per level (% of non-missing in the column's group); p from Pearson's
  chi-square **without** continuity correction for tables larger than 2x2 and **with**
  Yates' correction for 2x2 (``tableone``'s ``chisq.test`` default), or Fisher's exact test
  for variables listed in ``exact``.
- Continuous, normal: mean (SD), Welch... no: ``tableone`` uses ``oneway.test(var.equal =
  TRUE)`` = Student's t for two groups; nonnormal: median [IQR] (R ``quantile`` type 7) with
  Kruskal-Wallis (= Wilcoxon rank-sum for two groups, normal approximation).
- SMD as ``tableone::ExtractSmd`` (two groups).
"""
from __future__ import annotations

import pandas as pd

TABLE_ONE_COLUMNS = ["variable", "level", "statistic", "p", "test", "smd"]


def table_one(df: pd.DataFrame, group: str | None, variables: list[str], *,
              categorical: list[str] | None = None, nonnormal: list[str] | None = None,
              exact: list[str] | None = None, labels: dict | None = None,
              min_count: int = 0) -> pd.DataFrame:
    """Table 1: one row per variable (continuous) or per level (categorical); one text column
    per group (``"n (%)"``, ``"mean (SD)"`` or ``"median [Q1, Q3]"``) plus the numeric parts
    (``<group>__n``, ``<group>__pct``, ... for comparison with the paper) and
    :data:`TABLE_ONE_COLUMNS`. ``min_count > 0`` shows counts below it as ``"<min_count"``."""
    raise NotImplementedError
