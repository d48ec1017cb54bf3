"""Drawing only. Each function takes tidy DataFrames from the computing helpers, an optional
``ax``, and returns the axes (or figure, for multi-panel plots). No statistics here."""
from __future__ import annotations


def km_plot(km, ax=None, *, summary=None, hr=None, logrank=None, risk_times=None,
            xlabel="Months", ylabel="Survival probability", title=None, colors=None):
    """Kaplan-Meier curves from :func:`helpers.survival.km_table` (censor marks, steps),
    with a number-at-risk table under the axis at ``risk_times``, medians from ``summary``
    (:func:`helpers.survival.km_summary`), and HR (95% CI) and log-rank p annotated."""
    raise NotImplementedError


def forest_plot(table, ax=None, *, estimate="hr", label="term", null=1.0, log=True, title=None):
    """Forest plot of a Cox or logistic table (estimate, ``lower``, ``upper``, ``p``)."""
    raise NotImplementedError


def response_bars(table, ax=None, *, group="group", responders="responders", n="n", title=None):
    """Bars of response rate per group with ``responders/n`` printed on each bar."""
    raise NotImplementedError


def maxstat_plot(curve, cutoff, ax=None, *, x="cut", y="statistic", log_x=False, title=None):
    """The standardized statistic at every candidate cut, the chosen cut marked."""
    raise NotImplementedError


def love_plot(balance, ax=None, *, threshold=0.1, title=None):
    """Absolute SMD before and after matching per covariate (:func:`helpers.matching.balance_table`)."""
    raise NotImplementedError
