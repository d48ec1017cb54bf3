"""Shared machinery for the synthetic cohorts.

Every function here is deterministic given its ``rng`` (a :class:`numpy.random.Generator`
made by :func:`rng` from a stated seed), so a study's ``generate(SEED)`` produces the same
bytes on every run (:func:`write_csv`).

Building blocks, in the order a study module typically uses them:

1. :func:`ipf` fits a joint table of categorical characteristics (e.g. group x Child-Pugh x
   BCLC) to the printed margins; :func:`integerize` rounds it to whole patients while keeping
   the printed integer margins.
2. :func:`sample_with_quantiles` / :func:`sample_with_mean_sd` draw continuous markers whose
   summary statistics equal the printed ones; :func:`set_share_above` then makes exactly the
   printed number of patients lie at or above a cut-off.
3. :func:`weibull_ph_times` draws survival times from a Weibull proportional-hazards model
   (Bender, Augustin & Blettner 2005) with the printed hazard ratios as ``exp(beta)``;
   :func:`weibull_scale_for_median` sets the baseline so the reference group has the
   printed median.
4. :func:`censor_for_events` censors them (administrative end of follow-up plus random,
   independent drop-out) so that exactly the printed number of events is observed.
"""
from __future__ import annotations

import io
import math
import os
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "rng",
    "ipf",
    "integerize",
    "quantile7",
    "sample_with_quantiles",
    "sample_with_mean_sd",
    "set_share_above",
    "weibull_scale_for_median",
    "weibull_ph_times",
    "censor_for_events",
    "candidate_rng",
    "first_accepted",
    "csv_bytes",
    "write_csv",
]


# --------------------------------------------------------------------------- random numbers
def rng(seed: int) -> np.random.Generator:
    """A NumPy ``Generator`` on the PCG64 bit generator, seeded with ``seed``.

    The same seed gives the same stream on every platform and NumPy 2.x version (PCG64 and
    the ``Generator`` methods used here have stable streams)."""
    if seed is None:
        raise ValueError("a seed is required: synthetic cohorts must be reproducible")
    return np.random.Generator(np.random.PCG64(int(seed)))


# --------------------------------------------------------------------------- tables
def _margin(table: np.ndarray, axes: tuple) -> np.ndarray:
    """Sum of ``table`` over every axis not in ``axes`` (the kept axes stay in order)."""
    other = tuple(i for i in range(table.ndim) if i not in axes)
    return table.sum(axis=other) if other else table.copy()


def _normalise_margins(table: np.ndarray, margins) -> list[tuple[tuple, np.ndarray]]:
    out = []
    for k, item in enumerate(margins):
        try:
            axes, target = item
        except (TypeError, ValueError):
            raise ValueError(f"margin {k}: expected (axes tuple, target array), got {item!r}")
        axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(int(a) for a in axes)
        if list(axes) != sorted(set(axes)) or any(a < 0 or a >= table.ndim for a in axes):
            raise ValueError(
                f"margin {k}: axes {axes} must be distinct, increasing and < {table.ndim}"
            )
        target = np.asarray(target, dtype=float)
        shape = tuple(table.shape[a] for a in axes)
        if target.shape != shape:
            raise ValueError(
                f"margin {k} over axes {axes}: target has shape {target.shape}, "
                f"the table needs {shape}"
            )
        if np.any(target < 0) or not np.all(np.isfinite(target)):
            raise ValueError(f"margin {k} over axes {axes}: targets must be finite and >= 0")
        out.append((axes, target))
    return out


def _check_consistent(margins, shape, atol: float) -> None:
    """Raise if two margins disagree where they overlap (total, or a shared sub-margin)."""
    for (i, (ax_a, t_a)), (j, (ax_b, t_b)) in combinations(enumerate(margins), 2):
        common = tuple(sorted(set(ax_a) & set(ax_b)))
        sub_a = t_a.sum(axis=tuple(k for k, a in enumerate(ax_a) if a not in common))
        sub_b = t_b.sum(axis=tuple(k for k, b in enumerate(ax_b) if b not in common))
        if not np.allclose(sub_a, sub_b, atol=atol, rtol=0):
            what = f"over axes {common}" if common else "in their totals"
            raise ValueError(
                f"margins {i} (axes {ax_a}) and {j} (axes {ax_b}) disagree {what}: "
                f"{np.round(sub_a, 6).tolist()} vs {np.round(sub_b, 6).tolist()}"
            )


def ipf(seed_table, margins, tol: float = 1e-10, max_iter: int = 1000) -> np.ndarray:
    """Iterative proportional fitting (raking) of an n-dimensional table to given margins.

    Parameters
    ----------
    seed_table : array_like
        Starting table (non-negative). Its pattern of zeros is kept (structural zeros), and
        its odds ratios are kept as far as the margins allow; ``np.ones(shape)`` gives the
        table of independence.
    margins : sequence of (axes, target)
        ``axes`` is a tuple of table axes (increasing), ``target`` an array with the shape of
        the table on those axes, e.g. ``((0,), [40, 44])`` or ``((0, 1), [[10, 30], [20, 24]])``.
    tol : float
        Convergence when every fitted margin is within ``tol`` (absolute) of its target.
    max_iter : int
        Maximum number of full cycles over the margins.

    Returns
    -------
    numpy.ndarray
        The fitted table (floats). Use :func:`integerize` for whole patients.

    Raises
    ------
    ValueError
        If margins disagree with each other, or the fit does not converge (e.g. a target
        cell is positive where the seed has only zeros).

    Notes
    -----
    Deming & Stephan (1940). Each cycle scales the table so one margin at a time matches its
    target; for consistent margins and a seed with enough non-zero cells this converges to
    the table closest to the seed (Kullback-Leibler) with those margins.
    """
    table = np.array(seed_table, dtype=float)
    if np.any(table < 0) or not np.all(np.isfinite(table)):
        raise ValueError("ipf: the seed table must be finite and non-negative")
    margins = _normalise_margins(table, margins)
    if not margins:
        return table
    _check_consistent(margins, table.shape, atol=max(1e-8, 10 * tol))
    for _ in range(max_iter):
        for axes, target in margins:
            current = _margin(table, axes)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(current > 0, target / current, 0.0)
            shape = [table.shape[a] if a in axes else 1 for a in range(table.ndim)]
            table = table * ratio.reshape(shape)
        worst = max(np.max(np.abs(_margin(table, ax) - t)) for ax, t in margins)
        if worst <= tol:
            return table
    raise ValueError(
        f"ipf did not converge in {max_iter} cycles (largest margin error {worst:.3g}); "
        "check that every positive target has a non-zero seed cell"
    )


def integerize(table, margins) -> np.ndarray:
    """Round a fitted table to integers that keep the given integer margins exactly.

    Every cell is rounded down or up (never further), and among all such roundings that
    reproduce every margin, the one closest to ``table`` (smallest total absolute change) is
    chosen. This is *controlled rounding*; it is solved exactly as a small 0/1 integer
    programme (``scipy.optimize.milp``, HiGHS), which is deterministic. Ties between equally
    close roundings are broken by HiGHS's deterministic order, not at random.

    Parameters
    ----------
    table : array_like
        Non-negative table, typically the output of :func:`ipf` with the same margins.
    margins : sequence of (axes, target)
        As for :func:`ipf`; every target must be a whole number.

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    ValueError
        If a target is not a whole number, margins disagree, or no rounding keeps all
        margins (possible for three or more overlapping margins; say which margins).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    table = np.asarray(table, dtype=float)
    if np.any(table < 0) or not np.all(np.isfinite(table)):
        raise ValueError("integerize: the table must be finite and non-negative")
    margins = _normalise_margins(table, margins)
    for k, (axes, target) in enumerate(margins):
        if not np.allclose(target, np.round(target), atol=1e-9, rtol=0):
            raise ValueError(f"integerize: margin {k} (axes {axes}) has non-integer targets")
    margins = [(ax, np.round(t)) for ax, t in margins]
    _check_consistent(margins, table.shape, atol=1e-9)

    base = np.floor(table + 1e-9)
    frac = np.clip(table - base, 0.0, 1.0)
    if not margins:
        return np.round(table).astype(np.int64)
    # y in {0,1} per cell: x = base + y. Cost of y=1 is |base+1-t| - |base-t| = 1 - 2*frac.
    n_cells = table.size
    rows, rhs = [], []
    idx = np.arange(n_cells).reshape(table.shape)
    for axes, target in margins:
        groups = _group_index(idx, axes)
        need = (target - _margin(base, axes)).ravel()
        a = np.zeros((need.size, n_cells))
        a[groups.ravel(), idx.ravel()] = 1.0
        rows.append(a)
        rhs.append(need)
    a = np.vstack(rows)
    b = np.concatenate(rhs)
    if np.any(b < -1e-9) or np.any(b > a.sum(axis=1) + 1e-9):
        raise ValueError(
            "integerize: the table is too far from the margins to round (fit it with ipf first)"
        )
    res = milp(
        c=(1.0 - 2.0 * frac).ravel(),
        constraints=LinearConstraint(a, b, b),
        integrality=np.ones(n_cells),
        bounds=Bounds(0, 1),
    )
    if res.status != 0 or res.x is None:
        raise ValueError(
            "integerize: no rounding of the table keeps all margins at once "
            f"({res.message}); drop or merge one of the overlapping margins"
        )
    out = (base + np.round(res.x).reshape(table.shape)).astype(np.int64)
    for axes, target in margins:  # belt and braces: the solver's answer must be exact
        if not np.array_equal(_margin(out, axes), target.astype(np.int64)):
            raise ValueError(f"integerize: rounding failed to keep the margin over axes {axes}")
    return out


def _group_index(idx: np.ndarray, axes: tuple) -> np.ndarray:
    """For every cell, the flat index of its cell in the margin over ``axes``."""
    shape = tuple(idx.shape[a] for a in axes)
    grids = np.indices(idx.shape)
    if not axes:
        return np.zeros(idx.shape, dtype=int)
    return np.ravel_multi_index(tuple(grids[a] for a in axes), shape)


# --------------------------------------------------------------------------- markers
def quantile7(values, p) -> np.ndarray | float:
    """R's default (type 7) sample quantile, ``quantile(x, p)`` = NumPy ``method="linear"``."""
    return np.quantile(np.asarray(values, dtype=float), p, method="linear")


def _split_normal_ppf(u, centre, s_low, s_high):
    from scipy.stats import norm

    z = norm.ppf(u)
    return np.where(z < 0, centre + s_low * z, centre + s_high * z)


def _split_normal_cdf(x, centre, s_low, s_high):
    from scipy.stats import norm

    x = np.asarray(x, dtype=float)
    return np.where(x < centre, norm.cdf((x - centre) / s_low), norm.cdf((x - centre) / s_high))


def sample_with_quantiles(
    rng: np.random.Generator,
    n: int,
    q1: float,
    median: float,
    q3: float,
    low: float | None = 0.0,
    high: float | None = None,
    decimals: int | None = None,
    log: bool | None = None,
    gap: float | None = None,
) -> np.ndarray:
    """``n`` continuous values whose R type-7 quartiles are exactly ``q1``, ``median``, ``q3``.

    Method: a two-piece (split) normal distribution is placed on the value scale (or the log
    scale, see ``log``) with its median at ``median`` and its lower and upper halves scaled so
    its quartiles are ``q1`` and ``q3``. The order statistics that type-7 interpolation uses
    for each quartile are then *fixed* (position ``h = (n - 1) p``; if ``h`` is whole, that
    value is the quartile; otherwise the two neighbours straddle it, ``gap`` apart, so the
    interpolation lands on it), and the other values are drawn from the distribution
    truncated to lie between those fixed values. The result is shuffled.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Sample size (at least 4).
    q1, median, q3 : float
        The printed quartiles (``q1 <= median <= q3``).
    low, high : float or None
        Bounds of the support (inclusive). ``low=0.0`` by default (concentrations); ``None``
        for unbounded.
    decimals : int or None
        Round every value to this many decimals (as the assay or the paper prints). The fixed
        order statistics are put on that grid so the quartiles stay exact whenever the printed
        quartiles are themselves on the grid; otherwise they are exact only to within the
        rounding (half a unit in the last decimal).
    log : bool or None
        Work on the log scale (for right-skewed markers such as cytokines). ``None``: log
        scale when ``low >= 0``, ``q1 > 0`` and the upper half is wider than the lower one.
    gap : float or None
        Distance between the two values straddling a quartile; default ``4 * 10**-decimals``
        (so a quarter of it is on the grid), or 1 % of the interquartile range.

    Returns
    -------
    numpy.ndarray of float, shuffled.

    Notes
    -----
    Printed quartiles come from the paper's rounding; a value printed as ``12.3`` is matched
    exactly as ``12.3``. A quartile on the bound (``q1 = 0 = low``: a quarter of the cohort
    below the detection limit) is met with ties at the bound. Ties are possible only after rounding to ``decimals``. Minimum and
    maximum are not controlled (papers rarely print them).
    """
    n = int(n)
    if n < 4:
        raise ValueError(f"sample_with_quantiles: need n >= 4, got {n}")
    if not (q1 <= median <= q3):
        raise ValueError(f"sample_with_quantiles: need q1 <= median <= q3, got {q1}, {median}, {q3}")
    if low is not None and q1 < low:
        raise ValueError(f"sample_with_quantiles: q1 = {q1} is below the lower bound {low}")
    if high is not None and q3 > high:
        raise ValueError(f"sample_with_quantiles: q3 = {q3} is above the upper bound {high}")
    unit = 10.0 ** (-decimals) if decimals is not None else None
    if gap is None:
        gap = 4 * unit if unit is not None else max((q3 - q1) * 0.01, 1e-9)

    if log is None:
        log = (low is not None and low >= 0 and q1 > 0 and (q3 - median) > (median - q1))
    if log and q1 <= 0:
        raise ValueError("sample_with_quantiles: log scale needs q1 > 0")
    fwd = np.log if log else (lambda v: np.asarray(v, dtype=float))
    inv = np.exp if log else (lambda v: np.asarray(v, dtype=float))
    z75 = 0.6744897501960817
    centre = float(fwd(median))
    s_low = max((centre - float(fwd(q1))) / z75, 1e-12)
    s_high = max((float(fwd(q3)) - centre) / z75, 1e-12)

    # Fixed order statistics (0-based positions).
    fixed: dict[int, float] = {}
    for p, q in ((0.25, q1), (0.5, median), (0.75, q3)):
        h = (n - 1) * p
        k = int(math.floor(h))
        f = h - k
        if f < 1e-12:
            _fix(fixed, k, q)
        else:
            lower, upper = q - f * gap, q + (1 - f) * gap
            if low is not None and lower < low:  # e.g. q1 = 0 = low: tie at the bound
                lower = low
                upper = lower + (q - lower) / f
            if high is not None and upper > high:
                upper = high
                lower = upper - (upper - q) / (1 - f)
            _fix(fixed, k, lower)
            _fix(fixed, k + 1, upper)
    pos = sorted(fixed)
    vals = [fixed[k] for k in pos]
    if any(b < a - 1e-12 for a, b in zip(vals, vals[1:])):
        raise ValueError(
            "sample_with_quantiles: quartiles too close for this n and gap "
            f"(fixed values {vals}); pass a smaller gap"
        )
    if low is not None and vals[0] < low - 1e-12:
        raise ValueError(f"sample_with_quantiles: gap pushes a value below low = {low}")

    lo_support = low if low is not None else -np.inf
    hi_support = high if high is not None else np.inf

    def bound_u(x):
        if np.isinf(x):
            return 0.0 if x < 0 else 1.0
        if log and x <= 0:
            return 0.0
        return float(_split_normal_cdf(fwd(x), centre, s_low, s_high))

    out = np.empty(n)
    for k, v in fixed.items():
        out[k] = v
    edges = [(-1, lo_support)] + [(k, fixed[k]) for k in pos] + [(n, hi_support)]
    for (ka, xa), (kb, xb) in zip(edges, edges[1:]):
        m = kb - ka - 1
        if m <= 0:
            continue
        ua, ub = bound_u(xa), bound_u(xb)
        u = np.sort(rng.uniform(ua, ub, size=m))
        u = np.clip(u, 1e-12, 1 - 1e-12)
        draw = inv(_split_normal_ppf(u, centre, s_low, s_high))
        lo_b = xa if np.isfinite(xa) else -np.inf
        hi_b = xb if np.isfinite(xb) else np.inf
        out[ka + 1: kb] = np.clip(draw, lo_b, hi_b)
    if decimals is not None:
        out = _round_between(out, fixed, decimals)
    return rng.permutation(out)


def _fix(fixed: dict, k: int, value: float) -> None:
    if k in fixed and abs(fixed[k] - value) > 1e-12:
        raise ValueError(
            "sample_with_quantiles: two quartiles need the same order statistic with "
            f"different values ({fixed[k]} and {value}); n is too small for these quartiles"
        )
    fixed[k] = value


def _round_between(sorted_vals: np.ndarray, fixed: dict, decimals: int) -> np.ndarray:
    """Round sorted values to ``decimals`` without crossing the fixed order statistics."""
    out = np.round(sorted_vals, decimals)
    for k, v in fixed.items():
        out[k] = round(v, decimals)
    return np.maximum.accumulate(out)  # rounding cannot break the order, but be sure


def sample_with_mean_sd(
    rng: np.random.Generator,
    n: int,
    mean: float,
    sd: float,
    low: float | None = None,
    high: float | None = None,
    decimals: int | None = None,
    max_iter: int = 50,
) -> np.ndarray:
    """``n`` values whose sample mean and SD (``ddof=1``, as R's ``sd``) equal the printed ones.

    Normal draws are standardised exactly (mean 0, SD 1) and rescaled; if ``low``/``high``
    are given, values are clipped and the sample re-standardised, repeatedly, until both hold
    (a clear error if the bounds make it impossible). Rounding to ``decimals`` afterwards
    moves mean and SD by at most half a unit in the last decimal.
    """
    n = int(n)
    if n < 2:
        raise ValueError(f"sample_with_mean_sd: need n >= 2, got {n}")
    if sd <= 0:
        raise ValueError(f"sample_with_mean_sd: sd must be > 0, got {sd}")
    x = rng.standard_normal(n)
    for _ in range(max_iter):
        x = (x - x.mean()) / x.std(ddof=1)
        v = mean + sd * x
        clipped = np.clip(v, -np.inf if low is None else low, np.inf if high is None else high)
        if np.allclose(clipped, v, rtol=0, atol=1e-12):
            break
        x = clipped
    else:
        raise ValueError(
            f"sample_with_mean_sd: cannot have mean {mean} and SD {sd} within [{low}, {high}]"
        )
    # remove floating-point dust below/above the bounds (changes mean/SD by ~1e-12)
    v = np.clip(v, -np.inf if low is None else low, np.inf if high is None else high)
    return np.round(v, decimals) if decimals is not None else v


def set_share_above(
    values,
    cutoff: float,
    n_above: int,
    decimals: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Move the fewest values across ``cutoff`` so that exactly ``n_above`` are ``>= cutoff``.

    Values keep their order (the patients ranked highest stay highest): if too few are at or
    above the cut-off, the largest of those below are lifted to lie between ``cutoff`` and
    the next larger value; if too many, the smallest of those above are lowered to lie
    between the next smaller value and just below ``cutoff``. Quartiles change only when a
    moved value is one of the order statistics they are made from, i.e. when the printed
    share and the printed quartiles cannot both hold; then a ``UserWarning`` says so.

    Parameters
    ----------
    values : array_like
        The values (any order; the result is in the same order).
    cutoff : float
        High means ``>= cutoff`` (the book's convention for every marker cut-off).
    n_above : int
        Required count at or above the cut-off.
    decimals : int or None
        Grid of the values; moved values are put on it (``>= cutoff`` or ``< cutoff``).
    rng : numpy.random.Generator or None
        Spread the moved values at random within their interval; ``None``: evenly.
    """
    x = np.asarray(values, dtype=float).copy()
    n = x.size
    if not 0 <= n_above <= n:
        raise ValueError(f"set_share_above: n_above = {n_above} outside 0..{n}")
    before = quantile7(x, [0.25, 0.5, 0.75])
    order = np.argsort(x, kind="stable")
    s = x[order]
    m = int(np.sum(s >= cutoff))
    unit = 10.0 ** (-decimals) if decimals is not None else 0.0
    if m < n_above:
        idx = np.arange(n - n_above, n - m)  # sorted positions to lift
        top = s[n - m] if m > 0 else max(cutoff, s[-1]) + max(abs(cutoff), 1.0) * 0.1
        new = _spread(cutoff, top, idx.size, rng)
        if decimals is not None:
            new = np.ceil(np.round(new / unit, 6)) * unit
            new = np.maximum(new, math.ceil(round(cutoff / unit, 6)) * unit)
        s[idx] = np.sort(new)
    elif m > n_above:
        idx = np.arange(n - m, n - n_above)  # sorted positions to lower
        below_max = (math.ceil(round(cutoff / unit, 6)) - 1) * unit if decimals is not None \
            else np.nextafter(cutoff, -np.inf)
        bottom = s[n - m - 1] if n - m - 1 >= 0 else min(below_max, s[0]) - max(abs(cutoff), 1.0) * 0.1
        new = _spread(bottom, below_max, idx.size, rng)
        if decimals is not None:
            new = np.floor(np.round(new / unit, 6)) * unit
            new = np.minimum(new, below_max)
        s[idx] = np.sort(new)
    x[order] = s
    if int(np.sum(x >= cutoff)) != n_above:  # pragma: no cover - guarded by construction
        raise ValueError("set_share_above: could not reach the required count")
    after = quantile7(x, [0.25, 0.5, 0.75])
    if not np.allclose(before, after, rtol=0, atol=1e-9):
        warnings.warn(
            f"set_share_above: {n_above} of {n} at or above {cutoff} is incompatible with the "
            f"quartiles {np.round(before, 6).tolist()}; they are now {np.round(after, 6).tolist()}",
            UserWarning,
            stacklevel=2,
        )
    return x


def _spread(a: float, b: float, m: int, rng) -> np.ndarray:
    if b < a:
        a, b = b, a
    if rng is None:
        return a + (b - a) * (np.arange(1, m + 1) / (m + 1))
    return np.sort(rng.uniform(a, b, size=m)) if b > a else np.full(m, a)


# --------------------------------------------------------------------------- survival
def weibull_scale_for_median(median: float, shape: float) -> float:
    """The Weibull scale ``lambda`` (``S(t) = exp(-lambda t^nu)``) with the given median.

    ``S(median) = 1/2``  =>  ``lambda = log(2) / median**nu``.
    """
    if median <= 0 or shape <= 0:
        raise ValueError(f"weibull_scale_for_median: median and shape must be > 0 ({median}, {shape})")
    return math.log(2.0) / median ** shape


def weibull_ph_times(
    rng: np.random.Generator,
    linear_predictor,
    median0: float,
    shape: float,
) -> np.ndarray:
    """Survival times from a Weibull proportional-hazards model, by inversion.

    Hazard ``h(t | x) = lambda * nu * t**(nu - 1) * exp(lp)`` with ``lp = x @ beta``
    (``beta = log(HR)``), so the hazard ratio between two patients is ``exp(lp1 - lp2)`` at
    every time. Bender, Augustin & Blettner (2005), eq. for the Weibull case:
    ``T = (-log(U) / (lambda * exp(lp)))**(1 / nu)``, ``U ~ Uniform(0, 1)``.

    Parameters
    ----------
    rng : numpy.random.Generator
    linear_predictor : array_like
        ``lp`` per patient (0 for the reference group).
    median0 : float
        Median survival of the reference group (``lp = 0``), e.g. the printed median of the
        low-marker group, in the time unit wanted (months).
    shape : float
        Weibull shape ``nu`` (1 = exponential; < 1 falling hazard; > 1 rising).

    Returns
    -------
    numpy.ndarray of float
    """
    lp = np.asarray(linear_predictor, dtype=float)
    lam = weibull_scale_for_median(median0, shape)
    u = rng.uniform(size=lp.shape)
    u = np.where(u <= 0, np.finfo(float).tiny, u)
    return (-np.log(u) / (lam * np.exp(lp))) ** (1.0 / shape)


def censor_for_events(
    rng: np.random.Generator,
    times,
    n_events: int,
    max_follow_up: float | None = None,
    accrual: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Censor ``times`` so that exactly ``n_events`` events are observed.

    Two independent censoring mechanisms, as in a trial cohort:

    * administrative: patient ``i`` enters uniformly during an accrual period of length
      ``accrual`` and the data are cut ``max_follow_up`` after the first entry, so follow-up
      is at most ``max_follow_up - accrual * V_i`` (``V_i ~ U(0, 1)``); ``None``: no cut;
    * drop-out: exponential loss to follow-up ``D_i = E_i / rate`` (``E_i ~ Exp(1)``), at a
      common ``rate`` found by bisection so that the number of observed events
      ``T_i <= min(C_i, D_i)`` equals ``n_events`` exactly. Because each ``D_i`` falls
      monotonically in ``rate`` for fixed draws, the count is a step function of ``rate``
      and the bisection is exact (barring two events crossing at one rate, which has
      probability zero; then an error).

    Censoring is independent of the event time (non-informative), as the Kaplan-Meier and
    Cox analyses assume.

    Returns
    -------
    (time, event) : observed time ``min(T, C, D)`` and event indicator (int 0/1).

    Raises
    ------
    ValueError
        If administrative censoring alone already leaves fewer than ``n_events`` events
        (then lengthen ``max_follow_up`` or shorten the simulated survival).
    """
    t = np.asarray(times, dtype=float)
    n = t.size
    if not 0 <= n_events <= n:
        raise ValueError(f"censor_for_events: n_events = {n_events} outside 0..{n}")
    if max_follow_up is not None:
        c = max_follow_up - accrual * rng.uniform(size=n)
    else:
        c = np.full(n, np.inf)
    e = rng.exponential(size=n)
    admin_events = int(np.sum(t <= c))
    if admin_events < n_events:
        raise ValueError(
            f"censor_for_events: only {admin_events} events within follow-up "
            f"{max_follow_up}; {n_events} needed"
        )

    def count(rate):
        d = e / rate if rate > 0 else np.full(n, np.inf)
        return int(np.sum(t <= np.minimum(c, d)))

    rate = 0.0
    if admin_events > n_events:
        lo, hi = 0.0, 1.0 / max(np.median(t), 1e-12)
        while count(hi) > n_events:
            hi *= 2.0
            if hi > 1e300:  # pragma: no cover
                raise ValueError("censor_for_events: no drop-out rate reaches the event count")
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            k = count(mid)
            if k == n_events:
                lo = hi = mid
                break
            if k > n_events:
                lo = mid
            else:
                hi = mid
        rate = hi
        if count(rate) != n_events:
            raise ValueError(
                "censor_for_events: two events drop out at the same rate; change the seed"
            )
    d = e / rate if rate > 0 else np.full(n, np.inf)
    cens = np.minimum(c, d)
    event = (t <= cens).astype(np.int64)
    return np.where(event == 1, t, cens), event


# --------------------------------------------------------------------------- calibration
def candidate_rng(seed: int, k: int) -> np.random.Generator:
    """The generator of candidate ``k`` of a calibration seeded with ``seed``:
    PCG64 on ``SeedSequence([seed, k])`` (independent streams, stable across versions)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(k)])))


def first_accepted(seed: int, simulate, accept, max_candidates: int = 200):
    """Deterministic calibration by rejection: the first candidate draw the paper would accept.

    Candidate ``k = 0, 1, ...`` is ``simulate(candidate_rng(seed, k))``; the first for which
    ``accept(candidate)`` is true is returned as ``(k, candidate)``. Because candidate ``k``
    depends only on ``(seed, k)``, the same seed always returns the same cohort.

    A single simulated cohort of 80 patients estimates a hazard ratio with a wide sampling
    spread around the one it was simulated with; ``accept`` expresses how close to the
    printed estimate (and on which side of 0.05) a synthetic cohort must come.

    Raises
    ------
    ValueError
        If none of ``max_candidates`` is accepted (say so, never return a near miss).
    """
    for k in range(int(max_candidates)):
        candidate = simulate(candidate_rng(seed, k))
        if accept(candidate):
            return k, candidate
    raise ValueError(f"first_accepted: none of {max_candidates} candidates was accepted")


# --------------------------------------------------------------------------- files
def csv_bytes(df: pd.DataFrame, columns=None, float_format: str = "%.10g") -> bytes:
    """The exact bytes :func:`write_csv` writes (UTF-8, ``\\n`` line ends, no index).

    Floats are written with ``float_format`` (10 significant digits by default: more than
    any synthetic value carries, few enough to hide binary noise such as ``0.30000000000000004``).
    Boolean columns are written as 0/1.
    """
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"csv_bytes: columns not in the table: {missing}")
        df = df.loc[:, list(columns)]
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_bool_dtype(df[col]):
            df[col] = df[col].astype(np.int64)
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n", float_format=float_format)
    return buf.getvalue().encode("utf-8")


def write_csv(df: pd.DataFrame, path, columns=None, float_format: str = "%.10g") -> Path:
    """Write ``df`` to ``path`` deterministically (see :func:`csv_bytes`); returns the path.

    Writes to a temporary file beside ``path`` and renames it, so a failed write never
    leaves half a file.
    """
    path = Path(path)
    data = csv_bytes(df, columns=columns, float_format=float_format)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path
