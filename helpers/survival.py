"""Kaplan-Meier, log-rank and Cox regression, following R ``survival`` conventions.

Conventions (every function):

- ``time`` in months (any unit works; medians come back in the same unit), ``event`` 1 =
  event observed, 0 = right-censored (``True``/``False`` also accepted). Times must be
  non-negative numbers. Rows with a missing time, event or group are dropped. Times
  that differ only by floating-point error are one time (R's ``timefix = TRUE``,
  ``aeqSurv``; see :func:`_aeq_times`).
- ``group=None`` means one group, labelled ``"all"``. Groups appear in sorted order unless
  a ``pd.Categorical`` gives an order.
- Kaplan-Meier confidence intervals: ``conf.type = "log"`` (R's default), 95%:
  ``exp(log S -/+ qnorm(0.975) * se)`` with ``se`` the Greenwood standard error of the
  cumulative hazard, ``sqrt(sum d / (n (n - d)))``; the upper limit is capped at 1; where
  S(t) = 0 the limits are ``NaN`` (R gives ``NA``).
- Median: R ``survfit``'s print rule (``survival:::survmean``): the first time S(t) <= 0.5;
  where S(t) == 0.5 (to ``sqrt(.Machine$double.eps)``) on a flat stretch, the midpoint
  between the start of that stretch and the next time S drops. The CI limits of the median
  apply the same rule to the lower and upper CI bands. ``NaN`` = not reached.
- Cox: Efron ties (R ``coxph`` default); Wald CI and p per term; likelihood-ratio test for
  the model; Harrell's concordance as R's ``concordance`` (see :func:`concordance_index`).

Checked against R 4.2.2 / survival 3.5.3 in ``tests/test_survival.py`` (fixtures and the R
script that made them in ``tests/fixtures/survival/``).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .checks import check_binary, check_columns, complete_rows, rows_text
from .regression import Z95, design_matrix

KM_COLUMNS = ["group", "time", "n_risk", "n_event", "n_censor", "survival", "lower", "upper"]
KM_SUMMARY_COLUMNS = ["group", "n", "events", "median", "median_lower", "median_upper"]
KM_AT_COLUMNS = ["group", "time", "n_risk", "survival", "lower", "upper"]
LOGRANK_COLUMNS = ["test", "statistic", "dof", "p", "n", "groups"]
COX_COLUMNS = ["term", "coef", "se", "hr", "lower", "upper", "z", "p"]

#: R's ``sqrt(.Machine$double.eps)``: the tolerance of the median's "exactly 0.5" rule.
_MEDIAN_TOL = math.sqrt(np.finfo(float).eps)


# --------------------------------------------------------------------------- input checks
#: Most ticks of a number-at-risk table (:func:`risk_grid`).
MAX_RISK_TICKS = 25


def risk_grid(times, max_ticks: int = MAX_RISK_TICKS) -> list:
    """``times`` (an increasing grid, e.g. every 3 months up to the last time) thinned to at
    most ``max_ticks``: every k-th time, k the smallest of 1, 2, 4, 5, 10, 20, 40, 50, ...
    that fits. The cost of drawing a risk table is then bounded by ``max_ticks``, never by the
    size of a time value (a time of 10^6 months would otherwise ask for 333,334 ticks)."""
    times = list(times)
    if len(times) <= max_ticks:
        return times
    need, scale = math.ceil(len(times) / max_ticks), 1
    while True:
        for k in (1, 2, 4, 5):
            if k * scale >= need:
                return times[:: k * scale]
        scale *= 10


def _survival_data(df: pd.DataFrame, time: str, event: str, group: str | None,
                   what: str) -> tuple[np.ndarray, np.ndarray, list, list[np.ndarray]]:
    """Validated arrays: time, event (0/1 float), group labels in order, row mask per group."""
    cols = [time, event] + ([group] if group is not None else [])
    check_columns(df, cols, what)
    data = complete_rows(df, cols)
    if data.empty:
        raise ValueError(f"{what}: no rows with {', '.join(map(repr, cols))} all present")
    ts = data[time]
    if pd.api.types.is_numeric_dtype(ts.dtype) and ts.dtype != bool:
        t = ts.to_numpy(dtype=float)
    else:
        t = pd.to_numeric(ts, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        raise ValueError(
            f"{what}: column {time!r} must hold finite non-negative numbers (survival times); rows "
            f"{rows_text(data.index[bad])} hold {', '.join(repr(v) for v in ts[bad].unique()[:5])}"
        )
    e = check_binary(data[event], event, what)
    t = _aeq_times(t)
    if group is None:
        labels, masks = ["all"], [np.ones(len(t), dtype=bool)]
    else:
        g = data[group]
        if isinstance(g.dtype, pd.CategoricalDtype):
            present = set(g.unique())
            labels = [lv for lv in g.cat.categories if lv in present]
        else:
            try:
                labels = sorted(g.unique())
            except TypeError:
                labels = sorted(g.unique(), key=str)
        gv = g.to_numpy()
        masks = [gv == lv for lv in labels]
    return t, e, labels, masks


def _aeq_times(t: np.ndarray, tolerance: float = _MEDIAN_TOL) -> np.ndarray:
    """R ``survival::aeqSurv`` (``timefix = TRUE`` in ``survfit``, ``survdiff``, ``coxph``):
    distinct times closer than ``tolerance`` (absolutely, or relative to the mean of the
    distinct times) are one time, the smallest of the cluster. So times computed with
    floating-point error (days / 30.4375) tie as they do in R."""
    y = np.unique(t[np.isfinite(t)])
    if len(y) < 2:
        return t
    dy = np.diff(y)
    tied = (dy <= tolerance) | (dy / np.mean(np.abs(y)) <= tolerance)
    if not tied.any():
        return t
    cuts = y[np.concatenate([[True], ~tied])]
    return cuts[np.searchsorted(cuts, t, side="right") - 1]


# --------------------------------------------------------------------------- Kaplan-Meier
def _km_arrays(t: np.ndarray, e: np.ndarray) -> dict:
    """Kaplan-Meier at each distinct time of one group (vectorised)."""
    times, inverse = np.unique(t, return_inverse=True)
    count = np.bincount(inverse, minlength=len(times)).astype(float)
    d = np.bincount(inverse, weights=e, minlength=len(times))
    n_risk = len(t) - np.concatenate([[0.0], np.cumsum(count)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n_risk)
        # Greenwood on the cumulative-hazard scale (R survfit's std.err); n == d gives
        # S = 0, where R's log-scale limits are NA anyway.
        term = np.where(n_risk > d, d / (n_risk * (n_risk - d)), np.inf)
        se = np.sqrt(np.cumsum(term))
        pos = surv > 0
        lower = np.where(pos, np.exp(np.log(np.where(pos, surv, 1)) - Z95 * se), np.nan)
        upper = np.where(pos, np.minimum(np.exp(np.log(np.where(pos, surv, 1)) + Z95 * se), 1.0),
                         np.nan)
    return dict(time=times, n_risk=n_risk, n_event=d, n_censor=count - d, survival=surv,
                lower=lower, upper=upper, se=se)


def km_table(df: pd.DataFrame, time: str, event: str, group: str | None = None) -> pd.DataFrame:
    """The Kaplan-Meier curve per group: one row per distinct time (events and censorings),
    plus a first row at time 0 with survival 1. Columns :data:`KM_COLUMNS`.

    Parameters
    ----------
    df
        One row per patient. Not modified.
    time, event
        Column names: follow-up time (non-negative; months in this book) and event
        indicator (1/True = event, 0/False = censored).
    group
        Column to split by, or ``None`` for one group labelled ``"all"``. Sorted order,
        or the categories' order for a ``pd.Categorical``.

    Returns
    -------
    pandas.DataFrame
        :data:`KM_COLUMNS`. ``n_risk`` is the number at risk just before the time (R
        ``survfit``'s ``n.risk``); ``lower``/``upper`` the 95% log-type CI (Greenwood; see
        the module docstring), ``NaN`` where survival is 0. The time-0 row has ``n_risk`` =
        group size, no events or censorings, and survival 1 with limits 1 (events or
        censorings at time 0 appear in a second row at time 0).
    """
    t, e, labels, masks = _survival_data(df, time, event, group, "km_table")
    parts = {c: [] for c in KM_COLUMNS}
    for label, m in zip(labels, masks):
        k = _km_arrays(t[m], e[m])
        k = dict(k, time=np.concatenate([[0.0], k["time"]]),
                 n_risk=np.concatenate([[float(m.sum())], k["n_risk"]]),
                 n_event=np.concatenate([[0.0], k["n_event"]]),
                 n_censor=np.concatenate([[0.0], k["n_censor"]]),
                 survival=np.concatenate([[1.0], k["survival"]]),
                 lower=np.concatenate([[1.0], k["lower"]]),
                 upper=np.concatenate([[1.0], k["upper"]]))
        parts["group"].append(np.array([label] * len(k["time"]), dtype=object))
        for c in KM_COLUMNS[1:]:
            parts[c].append(k[c])
    out = {c: np.concatenate(v) for c, v in parts.items()}
    for c in ("n_risk", "n_event", "n_censor"):
        out[c] = out[c].astype(int)
    out = pd.DataFrame(out, columns=KM_COLUMNS)
    out["group"] = out["group"].infer_objects()
    return out


def _first_below_half(y: np.ndarray, x: np.ndarray) -> float:
    """R ``survmean``'s ``minmin``: the median rule applied to a curve or a CI band."""
    keep = ~np.isnan(y) & (y < 0.5 + _MEDIAN_TOL)
    if not keep.any():
        return float("nan")
    xk, yk = x[keep], y[keep]
    if abs(yk[0] - 0.5) < _MEDIAN_TOL:
        lower = np.nonzero(yk < yk[0])[0]
        if len(lower):
            return float((xk[0] + xk[lower[0]]) / 2)
    return float(xk[0])


def km_summary(df: pd.DataFrame, time: str, event: str, group: str | None = None) -> pd.DataFrame:
    """Per group: n, events, median survival with its 95% CI (R ``survfit`` print).
    Columns :data:`KM_SUMMARY_COLUMNS`.

    Parameters
    ----------
    df
        One row per patient. Not modified.
    time, event
        Column names: follow-up time (non-negative; months in this book) and event
        indicator (1/True = event, 0/False = censored).
    group
        Column to split by, or ``None`` for one group labelled ``"all"``. Sorted order,
        or the categories' order for a ``pd.Categorical``.

    Returns
    -------
    pandas.DataFrame
        :data:`KM_SUMMARY_COLUMNS`, one row per group. The median and its limits follow
        ``print.survfit`` (``survival:::survmean``): the first time the curve (the lower
        band, the upper band) is <= 0.5, with the midpoint rule where it equals 0.5 on a
        flat stretch. ``NaN`` = not reached (R prints ``NA``).
    """
    t, e, labels, masks = _survival_data(df, time, event, group, "km_summary")
    rows = []
    for label, m in zip(labels, masks):
        k = _km_arrays(t[m], e[m])
        rows.append(dict(
            group=label, n=int(m.sum()), events=int(e[m].sum()),
            median=_first_below_half(k["survival"], k["time"]),
            median_lower=_first_below_half(k["lower"], k["time"]),
            median_upper=_first_below_half(k["upper"], k["time"]),
        ))
    return pd.DataFrame(rows, columns=KM_SUMMARY_COLUMNS)


def km_at(df: pd.DataFrame, time: str, event: str, group: str | None = None,
          times=(6.0, 12.0)) -> pd.DataFrame:
    """Survival at given times per group (R ``summary(fit, times = ...)``): survival, 95% CI
    and number at risk. Columns :data:`KM_AT_COLUMNS`.

    Parameters
    ----------
    df
        One row per patient. Not modified.
    time, event
        Column names: follow-up time (non-negative; months in this book) and event
        indicator (1/True = event, 0/False = censored).
    group
        Column to split by, or ``None`` for one group labelled ``"all"``. Sorted order,
        or the categories' order for a ``pd.Categorical``.
    times
        The time points (same unit as ``time``), non-negative.

    Returns
    -------
    pandas.DataFrame
        :data:`KM_AT_COLUMNS`, one row per group and time. Survival at ``t`` is the
        curve's value at the last distinct time <= ``t`` (1 before the first); ``n_risk``
        the number still under observation at ``t`` (time >= ``t``). A time beyond a
        group's last follow-up is not estimable: R drops such a row (``extend = FALSE``);
        here it is kept with ``n_risk`` 0 and ``NaN`` survival and limits, except where
        the curve has already reached 0 (survival 0, limits ``NaN``, as R's
        ``extend = TRUE``).
    """
    t, e, labels, masks = _survival_data(df, time, event, group, "km_at")
    at = np.atleast_1d(np.asarray(times, dtype=float))
    if np.any(np.isnan(at)) or np.any(at < 0):
        raise ValueError(f"km_at: times must be non-negative numbers, got {list(times)}")
    frames = []
    for label, m in zip(labels, masks):
        k = _km_arrays(t[m], e[m])
        tg = np.sort(t[m])
        idx = np.searchsorted(k["time"], at, side="right") - 1
        before = idx < 0
        safe = np.where(before, 0, idx)
        surv = np.where(before, 1.0, k["survival"][safe])
        lower = np.where(before, 1.0, k["lower"][safe])
        upper = np.where(before, 1.0, k["upper"][safe])
        n_risk = len(tg) - np.searchsorted(tg, at, side="left")
        # beyond the last follow-up the curve is unknown, unless it has already reached 0
        beyond = (at > tg[-1]) & (k["survival"][-1] > 0)
        surv = np.where(beyond, np.nan, surv)
        lower = np.where(beyond, np.nan, lower)
        upper = np.where(beyond, np.nan, upper)
        frames.append(pd.DataFrame({"group": [label] * len(at), "time": at,
                                    "n_risk": n_risk.astype(int), "survival": surv,
                                    "lower": lower, "upper": upper}))
    return pd.concat(frames, ignore_index=True)[KM_AT_COLUMNS]


# --------------------------------------------------------------------------- log-rank
def logrank_table(df: pd.DataFrame, time: str, event: str, group: str) -> pd.DataFrame:
    """Observed and expected events per group (R ``survdiff``'s ``N``, ``Observed``,
    ``Expected``), one row per group: columns ``group, n, observed, expected``."""
    t, e, labels, masks = _survival_data(df, time, event, group, "logrank")
    g = np.full(len(t), -1)
    for j, m in enumerate(masks):
        g[m] = j
    obs, exp_, _ = _logrank_core(t, e, g, len(labels))
    return pd.DataFrame({"group": labels, "n": [int(m.sum()) for m in masks],
                         "observed": obs, "expected": exp_})


def _logrank_core(t: np.ndarray, e: np.ndarray, g: np.ndarray, k: int):
    """O, E and the variance matrix of O - E (hypergeometric), as ``survdiff.fit``."""
    times, inverse = np.unique(t, return_inverse=True)
    nt = len(times)
    count = np.zeros((nt, k))
    dead = np.zeros((nt, k))
    np.add.at(count, (inverse, g), 1.0)
    np.add.at(dead, (inverse, g), e)
    # at risk just before each time: everyone with time >= that time
    n_g = count[::-1].cumsum(axis=0)[::-1]
    n = n_g.sum(axis=1)
    d = dead.sum(axis=1)
    obs = dead.sum(axis=0)
    exp_ = (n_g * (d / n)[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 1, d * (n - d) / (n * n * (n - 1)), 0.0)
    # V_gh = sum_t factor_t * n_tg (n_t delta_gh - n_th)
    var = np.diag((factor[:, None] * n_g * n[:, None]).sum(axis=0)) \
        - np.einsum("t,tg,th->gh", factor, n_g, n_g)
    return obs, exp_, var


def logrank(df: pd.DataFrame, time: str, event: str, group: str) -> pd.DataFrame:
    """Log-rank test for 2 or more groups, equal to R ``survdiff(Surv(time, event) ~ group)``.
    One row, columns :data:`LOGRANK_COLUMNS` (statistic = chi-square, dof = k - 1).

    Parameters
    ----------
    df
        One row per patient. Not modified.
    time, event
        Column names: follow-up time (non-negative; months in this book) and event
        indicator (1/True = event, 0/False = censored).
    group
        Column holding the groups (2 or more).

    Returns
    -------
    pandas.DataFrame
        One row: ``test`` ("log-rank"), ``statistic`` (chi-square), ``dof``, ``p``
        (upper tail), ``n`` (rows used), ``groups`` (k).

    Notes
    -----
    The statistic is ``(O - E)' V^-1 (O - E)`` over the groups with expected events > 0,
    one group left out (as ``survdiff``); ``V`` is the hypergeometric variance matrix, so
    tied times are handled exactly. Where ``V`` is singular (R stops with an error) a
    ``RuntimeWarning`` is given and the statistic uses the pseudo-inverse on ``rank(V)``
    df, or is ``NaN`` if ``V`` is 0. Per-group O and E: :func:`logrank_table`.
    """
    t, e, labels, masks = _survival_data(df, time, event, group, "logrank")
    k = len(labels)
    if k < 2:
        raise ValueError(f"logrank: column {group!r} has only one group ({labels}); need 2 or more")
    g = np.full(len(t), -1)
    for j, m in enumerate(masks):
        g[m] = j
    obs, exp_, var = _logrank_core(t, e, g, k)
    use = exp_ > 0
    dof = k - 1
    if use.sum() < 2:
        stat = 0.0
    else:
        diff = (obs - exp_)[use][1:]
        vv = var[np.ix_(use, use)][1:, 1:]
        dof = int(np.linalg.matrix_rank(vv))
        if dof == vv.shape[0]:
            stat = float(diff @ np.linalg.solve(vv, diff))
        else:
            # R's survdiff stops here ("system is exactly singular"), e.g. when every
            # event happens at one time with nobody left at risk after it.
            warnings.warn(
                f"logrank: the variance of O - E in column {group!r} is singular (rank "
                f"{dof} of {vv.shape[0]}); the test has {'no' if dof == 0 else 'reduced'} "
                "information", RuntimeWarning, stacklevel=2)
            stat = float(diff @ np.linalg.pinv(vv) @ diff) if dof > 0 else float("nan")
    return pd.DataFrame([dict(test="log-rank", statistic=stat, dof=dof,
                              p=float(stats.chi2.sf(stat, dof)), n=len(t), groups=k)],
                        columns=LOGRANK_COLUMNS)


# --------------------------------------------------------------------------- Cox
@dataclass
class CoxResult:
    """A fitted Cox model. ``table`` has one row per model term (:data:`COX_COLUMNS`); a
    categorical covariate gives terms ``"<column>[<level>]"`` against its reference level.

    ``loglik`` is the partial log-likelihood at the estimate; ``lr_*`` the likelihood-ratio
    test against the null model (``2 * (loglik - loglik_null)`` on ``lr_dof`` df);
    ``concordance`` Harrell's C of the linear predictor (:func:`concordance_index`;
    equal to R's ``coxph(...)$concordance`` and to lifelines' ``concordance_index``);
    ``reference`` the reference level of each categorical covariate. ``loglik_null``,
    ``covariance`` (of the coefficients, terms as index/columns) and ``iterations`` are
    extras beyond the agreed interface.
    """

    table: pd.DataFrame
    n: int
    events: int
    loglik: float
    lr_statistic: float
    lr_dof: int
    lr_p: float
    reference: dict
    loglik_null: float = float("nan")
    covariance: pd.DataFrame | None = field(default=None, repr=False)
    iterations: int = 0
    #: ``(time, event, linear predictor)`` of the rows used: :attr:`concordance` is counted
    #: from them when first read (no chapter prints it; at 165,000 patients each count costs
    #: about a second, which every one of a chapter's many Cox fits paid).
    concordance_inputs: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def concordance(self) -> float:
        """Harrell's C of the linear predictor (:func:`concordance_index`), counted on first use."""
        if not hasattr(self, "_concordance"):
            t, e, lp = self.concordance_inputs
            self._concordance = concordance_index(t, e, lp)["concordance"]
        return self._concordance


class _EfronModel:
    """Efron (or Breslow) partial likelihood, gradient and information, vectorised over
    rows: the l-th of d events tied at a time (l = 0..d-1) sees the risk-set sums minus
    l/d of the tied events' sums (Breslow: minus nothing)."""

    def __init__(self, t: np.ndarray, e: np.ndarray, X: np.ndarray, ties: str = "efron"):
        order = np.argsort(t, kind="stable")
        self.t, self.e, self.X = t[order], e[order], X[order]
        times, first, inverse = np.unique(self.t, return_index=True, return_inverse=True)
        self.first = first                      # first sorted row of each distinct time
        self.tidx = inverse                     # distinct-time index of every row
        ev = self.e > 0
        self.ev = ev
        self.ev_t = inverse[ev]                 # distinct-time index of each event
        d = np.bincount(self.ev_t, minlength=len(times)).astype(float)
        # rank of each event among the events at its time: 0, 1, ..., d - 1
        ev_first = np.searchsorted(self.ev_t, self.ev_t, side="left")
        self.a = (np.arange(ev.sum()) - ev_first) / d[self.ev_t]
        if ties == "breslow":  # every tied event sees the full risk set
            self.a = np.zeros_like(self.a)
        self.ntimes = len(times)

    def _sums(self, beta, derivatives: bool = True):
        """Risk-set sums ``S0, S1, S2`` at each distinct time and tied-event sums ``D0, D1,
        D2``; without ``derivatives`` only ``S0`` and ``D0`` (what the log likelihood needs;
        the step-halving checks ask for nothing more).

        Column by column, each an accumulation in row order (``cumsum`` of the reversed
        column; ``bincount`` over the events in order) and only the upper triangle of the
        p x p products (x_i x_j w = x_j x_i w exactly): the same additions in the same order
        as one ``cumsum`` / ``np.add.at`` over the n x p x p array, so the same bits, at a
        fraction of the time and memory for large n."""
        X = self.X
        eta = X @ beta
        c = eta.max() if len(eta) else 0.0
        w = np.exp(eta - c)
        first, ev, ev_t, nt = self.first, self.ev, self.ev_t, self.ntimes

        def risk_sum(v):       # sum over rows from each distinct time's first row onwards
            return v[::-1].cumsum()[::-1][first]

        def tied_sum(v):       # sum over the events at each distinct time
            return np.bincount(ev_t, weights=v[ev], minlength=nt)

        S0, D0 = risk_sum(w), tied_sum(w)
        if not derivatives:
            return eta, c, S0, None, None, D0, None, None
        p = X.shape[1]
        cols = [np.ascontiguousarray(X[:, i]) for i in range(p)]
        S1, D1 = np.empty((nt, p)), np.empty((nt, p))
        S2, D2 = np.empty((nt, p, p)), np.empty((nt, p, p))
        for i in range(p):
            xw = cols[i] * w
            S1[:, i], D1[:, i] = risk_sum(xw), tied_sum(xw)
            for k in range(i, p):
                xxw = cols[i] * cols[k] * w
                S2[:, i, k] = S2[:, k, i] = risk_sum(xxw)
                D2[:, i, k] = D2[:, k, i] = tied_sum(xxw)
        return eta, c, S0, S1, S2, D0, D1, D2

    def loglik(self, beta, derivatives: bool = True):
        eta, c, S0, S1, S2, D0, D1, D2 = self._sums(beta, derivatives)
        j, a = self.ev_t, self.a
        den = S0[j] - a * D0[j]
        ll = float(eta[self.ev].sum() - (np.log(den) + c).sum())
        if not derivatives:
            return ll
        m = (S1[j] - a[:, None] * D1[j]) / den[:, None]
        grad = self.X[self.ev].sum(axis=0) - m.sum(axis=0)
        info = ((S2[j] - a[:, None, None] * D2[j]) / den[:, None, None]).sum(axis=0) \
            - np.einsum("ei,ej->ij", m, m)
        return ll, grad, info


def concordance_index(time, event, risk) -> dict:
    """Harrell's concordance as R ``survival::concordance`` counts it (no weights).

    A pair is comparable when the shorter time is an event; a pair with equal times is
    comparable only if one is an event and the other censored (the censored one is taken
    to have survived longer, R's convention); two events at the same time are ``tied.y``
    and not used. In a comparable pair the shorter-lived member should have the higher
    ``risk``: concordant if so, discordant if lower, ``tied.x`` if equal (counts 1/2).
    ``C = (concordant + tied_x / 2) / (concordant + discordant + tied_x)``.

    Cost O(n log n) (a sorted list of the risks of those still at risk, ``sortedcontainers``);
    165,000 patients take about a second, where the all-pairs count took about a minute.

    Returns a dict with ``concordant, discordant, tied_x, concordance``.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float) > 0
    r = np.asarray(risk, dtype=float)
    conc = disc = tied = 0
    # O(n log n), as R's concordance and lifelines do with a balanced tree: walk the times
    # from the longest down, keeping the risks of everyone who outlived the current time in a
    # sorted list; an event at time t is compared with that list after the censored at t are
    # added (they count as having lived longer) and before the other events at t (tied.y).
    from sortedcontainers import SortedList

    order = np.argsort(-t, kind="stable")
    ts, es, rs = t[order], e[order], r[order]
    starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]])
    ends = np.r_[starts[1:], len(ts)]
    seen = SortedList()
    for a, b in zip(starts, ends):
        block_e, block_r = es[a:b], rs[a:b]
        seen.update(block_r[~block_e])
        n_seen = len(seen)
        for ri in block_r[block_e]:
            below, upto = seen.bisect_left(ri), seen.bisect_right(ri)
            conc += below
            disc += n_seen - upto
            tied += upto - below
        seen.update(block_r[block_e])
    conc, disc, tied = float(conc), float(disc), float(tied)
    total = conc + disc + tied
    c = (conc + tied / 2) / total if total > 0 else float("nan")
    return dict(concordant=conc, discordant=disc, tied_x=tied, concordance=c)


def cox(df: pd.DataFrame, time: str, event: str, covariates: list[str],
        reference: dict | None = None, *, ties: str = "efron", tol: float = 1e-12,
        max_iter: int = 100) -> CoxResult:
    """Cox proportional-hazards regression, Efron ties, equal to R ``coxph`` to 4 decimals.

    Parameters
    ----------
    df
        One row per patient. Not modified.
    time, event
        Column names: follow-up time and event indicator (1/True = event).
    covariates
        Model terms. Numeric and boolean columns enter as they are (a bool/0-1 column's HR
        compares 1 vs 0); text or categorical columns are dummy-coded against
        ``reference[column]`` (default: the first level in sorted order, as R does for
        factors; a ``pd.Categorical``'s first category), giving terms
        ``"<column>[<level>]"`` (:func:`helpers.regression.design_matrix`).
    reference
        ``{column: reference level}`` for categorical covariates.
    ties
        ``"efron"`` (R ``coxph``'s default) or ``"breslow"`` (R ``ties = "breslow"``;
        reportedly also SPSS ``COXREG``'s handling, for reproducing SPSS-made papers).
    tol, max_iter
        Convergence: relative change in the log partial likelihood below ``tol`` (and
        the Newton step below 1e-6), at most ``max_iter`` iterations.

    Returns
    -------
    CoxResult
        ``table`` (:data:`COX_COLUMNS`, one row per term), ``n`` and ``events`` used, log
        likelihood, likelihood-ratio test, concordance, reference levels.

    Notes
    -----
    Rows with a missing value in any used column are dropped (R's
    ``na.action = na.omit``). Times equal up to floating-point error are tied first (R's
    ``timefix``). Newton-Raphson from beta = 0 with step halving; R stops at
    ``eps = 1e-9``, this at 1e-12, so the estimate is the maximum well beyond 4 decimals.
    ``hr = exp(coef)``; Wald 95% CI ``exp(coef -/+ qnorm(0.975) * se)`` with ``se`` from
    the inverse information; ``p`` two-sided Wald; LR test ``2 (loglik - loglik_null)`` on
    the number of terms. A coefficient running off to infinity (monotone likelihood, e.g.
    no events in one group) gives a ``RuntimeWarning`` where R warns ("coefficient may be
    infinite"); its value then differs from R's (both mean infinity: R stops at its looser
    convergence, e.g. -19.5 where this gives -34.9).
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"cox: ties must be 'efron' or 'breslow', got {ties!r}")
    covariates = list(covariates)
    if not covariates:
        raise ValueError("cox: give at least one covariate")
    check_columns(df, [time, event] + covariates, "cox")
    data = complete_rows(df, [time, event] + covariates)
    if data.empty:
        raise ValueError(f"cox: no rows without missing values in {[time, event] + covariates}")
    t, e, _, _ = _survival_data(data, time, event, None, "cox")
    X, used_ref = design_matrix(data, covariates, reference, "cox")
    if X.shape[1] == 0:
        raise ValueError("cox: no model terms (every categorical covariate has one level)")
    if e.sum() == 0:
        raise ValueError(f"cox: column {event!r} has no events among the {len(data)} rows used")
    Xv = X.to_numpy(dtype=float)
    const = [c for c, v in zip(X.columns, Xv.T) if np.ptp(v) == 0]
    if const or np.linalg.matrix_rank(Xv - Xv.mean(axis=0)) < Xv.shape[1]:
        raise ValueError(
            f"cox: the terms {list(X.columns)} are collinear or constant"
            + (f" (constant: {const})" if const else "")
        )
    # centring (as R) changes nothing in the estimates but keeps exp() well scaled
    model = _EfronModel(t, e, Xv - Xv.mean(axis=0), ties)
    p = Xv.shape[1]
    beta = np.zeros(p)
    ll0, grad, info = model.loglik(beta)
    ll = ll0
    it = 0
    converged = False
    running = None
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        new = beta + step
        ll_new = model.loglik(new, derivatives=False)
        halvings = 0
        while not (ll_new >= ll - 1e-12 * abs(ll)) and halvings < 30:
            step /= 2
            new = beta + step
            ll_new = model.loglik(new, derivatives=False)
            halvings += 1
        beta = new
        done = abs(ll_new - ll) <= tol * max(abs(ll), 1.0) and np.max(np.abs(step)) < 1e-6
        r_done = abs(1 - ll_new / ll) <= 1e-9 if ll != 0 else True
        ll, grad, info = model.loglik(beta)
        if r_done and running is None:
            # R coxph.fit's check where R would stop (eps = 1e-9): a one-step change still
            # large against the coefficient means the loglik converged while the
            # coefficient kept running off (toler.inf = sqrt(eps))
            infs = np.abs(np.linalg.pinv(info) @ grad)
            running = (infs > 1e-9) & (infs > math.sqrt(1e-9) * np.abs(beta))
        if done:
            converged = True
            break
    cov = np.linalg.pinv(info)
    se = np.sqrt(np.diag(cov))
    if not converged or (running is not None and np.any(running)) \
            or not np.all(np.isfinite(se)):
        warnings.warn(
            "cox: the likelihood did not converge to a finite maximum (a coefficient may be "
            f"infinite, e.g. no events in a group); coefficients {dict(zip(X.columns, beta))}",
            RuntimeWarning, stacklevel=2,
        )
    z = beta / se
    with np.errstate(over="ignore"):  # an infinite coefficient was warned about above
        table = pd.DataFrame({
            "term": list(X.columns), "coef": beta, "se": se, "hr": np.exp(beta),
            "lower": np.exp(beta - Z95 * se), "upper": np.exp(beta + Z95 * se),
            "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
        })
    lr = max(2 * (ll - ll0), 0.0)
    return CoxResult(
        table=table, n=len(data), events=int(e.sum()), loglik=ll, lr_statistic=lr,
        lr_dof=p, lr_p=float(stats.chi2.sf(lr, p)), reference=used_ref,
        loglik_null=ll0, covariance=pd.DataFrame(cov, index=X.columns, columns=X.columns),
        iterations=it, concordance_inputs=(t, e, Xv @ beta),
    )


def cox_univariable(df: pd.DataFrame, time: str, event: str, covariates: list[str],
                    reference: dict | None = None, *, ties: str = "efron") -> pd.DataFrame:
    """One Cox model per covariate, stacked: columns ``covariate`` + :data:`COX_COLUMNS`
    + ``n``, ``events``.

    Parameters are as in :func:`cox`. Each model uses the rows complete in its own
    covariate, so ``n`` may differ between covariates (as in a paper's univariable
    table); a categorical covariate gives one row per non-reference level.
    """
    reference = dict(reference or {})
    frames = []
    for cov in covariates:
        ref = {cov: reference[cov]} if cov in reference else None
        res = cox(df, time, event, [cov], ref, ties=ties)
        part = res.table.copy()
        part.insert(0, "covariate", cov)
        part["n"] = res.n
        part["events"] = res.events
        frames.append(part)
    return pd.concat(frames, ignore_index=True)[["covariate"] + COX_COLUMNS + ["n", "events"]]
