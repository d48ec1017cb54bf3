"""Maximally selected rank statistics (R ``maxstat``) and the uncorrected minimum-p search.

:func:`maxstat_test` follows ``maxstat.test(Surv(time, event) ~ marker, data,
smethod = "LogRank", pmethod = ...)`` (maxstat 0.7-25, exactRankTests 0.8-35):

- **Rows used.** Rows with a missing ``time``, ``event`` or ``marker`` are dropped (R's
  ``na.omit``); the result says how many (``n``, ``settings["n_dropped"]``).
- **Log-rank scores** are exactRankTests' ``cscores(Surv(time, event))``: with ``r_i`` the
  *largest* rank of ``time_i`` among tied times, ``a_i = event_i - sum over the first r_i
  time-sorted patients k of event_k / (N - r_k + 1)``. With tied times this is *not* the
  Nelson-Aalen score (each tied event gets ``1 / (N - r + 1)``, the risk set after the tie,
  rather than ``d / n`` at the tie); it is what maxstat uses, so it is what we use.
- **Candidate cuts.** The low group is ``marker <= cut``. With the marker sorted, a cut
  between distinct values leaves ``m`` patients in the low group; ``m`` is kept when
  ``max(1, floor(N * minprop)) <= m <= floor(N * maxprop)``. With ``minprop = 0`` and
  ``maxprop = 1`` maxstat instead keeps every split but drops its first and its last one;
  so do we. ``cut`` is the largest marker value of the low group.
- **Statistic** at each cut: ``|S_m - E_m| / sqrt(V_m)`` with ``S_m`` the sum of the low
  group's scores and the permutation moments ``E_m = m / N * sum(a)``, ``V_m = m (N - m) /
  (N^2 (N - 1)) * (N sum(a^2) - sum(a)^2)``. The cut-point is the lowest cut attaining the
  maximum (ties: relative tolerance 1e-10, so that rounding noise does not decide).
- **p-values** (each corrects for the search over cut-points):

  ``Lau92``  Lausen & Schumacher (1992) asymptotic bound, ``1`` when the statistic is
             below 1. Not capped at 1 (R does not cap it either); ``inf`` when
             ``minprop = 0`` (the bound does not exist there; R gives ``Inf`` too).
  ``Lau94``  Lausen, Sauerbrei & Schumacher (1994) improved Bonferroni bound over the
             candidate ``m``; not capped at 1 (as in R).
  ``exactGauss``  ``1 - P(|Z_k| <= M for all k)`` for the Gaussian limit of the standardized
             statistics, ``corr(Z_j, Z_k) = sqrt(m_j (N - m_k) / ((N - m_j) m_k))`` for
             ``m_j <= m_k`` (maxstat's ``corrmsrs``: cuts at the distinct values' largest
             ranks within the minprop/maxprop range). R integrates this multivariate normal
             with mvtnorm's randomized Genz-Bretz quasi-Monte Carlo (``abseps = 0.001``).
             The correlation is that of a Gauss-Markov chain (``Z_k = W(u_k) / sqrt(u_k)``,
             ``u = m / (N - m)``, ``W`` a Brownian motion), so the probability is a chain of
             one-dimensional integrals, which we compute deterministically by Simpson's rule
             (:func:`gauss_markov_box`). Its numerical error (Richardson estimate, returned
             in ``pvalues["error"]``) is typically below 1e-7, far below R's Monte Carlo
             error, so R's value differs from ours by R's own error. No random numbers,
             so no seed. With ``maxprop = 1`` R stops ("'corr' is not a correlation
             matrix"); we return ``NaN`` with a warning.
  ``condMC`` conditional Monte Carlo: the proportion of ``n_mc`` random permutations of the
             scores whose maximal statistic over the same cuts is strictly greater than the
             observed one (R's ``maxstatpermdist``: no ``+1`` correction; "strictly" with a
             relative tolerance of 1e-10 so that rounding does not count ties). Seeded with
             ``seed`` (numpy ``default_rng``); R's and numpy's random streams differ, so
             the p-values agree within Monte Carlo error; its standard error
             ``sqrt(p (1 - p) / n_mc)`` is returned in ``pvalues["error"]``. R's default
             is ``B = 10000``; ours ``n_mc = 9999``.

Cost bounds (optional, ``mc_budget`` and ``exact_budget`` of :func:`maxstat_test`): condMC
costs ``n_mc x n`` and exactGauss's quadrature grows with the number of distinct cuts (about
``n^2`` with a continuous marker), so on large cohorts a caller may bound them: condMC then
runs :func:`mc_permutations` permutations (at least :data:`MC_MIN`; ``settings["n_mc"]``),
and exactGauss above its budget is not computed (``p`` NaN, the reason in
``settings["not_computed"]``). Without a budget nothing changes.

:func:`min_pvalue_search` is what the PBIS paper did: the cut-off with the smallest plain
log-rank p. That p is not corrected for the search, and is labelled so.

Both functions are vectorised: the marker is sorted once and every cut is read off
cumulative sums. (The order of tied values after sorting does not matter: only sums over
whole blocks of ties are used.)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

CURVE_COLUMNS = ["cut", "n_low", "n_high", "statistic"]
PVALUE_METHODS = ("Lau92", "Lau94", "exactGauss", "condMC")
PVALUE_COLUMNS = ["method", "p", "error"]
MINP_CURVE_COLUMNS = ["cut", "n_low", "n_high", "chisq", "p", "low_max"]

#: Relative tolerance under which two statistics count as equal (cut-point ties, condMC).
_TIE_RTOL = 1e-10

#: Cost bounds a caller may ask :func:`maxstat_test` for (``mc_budget``, ``exact_budget``;
#: the book's Ate/Bev pages do). condMC costs ``n_mc x n`` (patients x permutations);
#: 1e8 is about 5-10 s on one core. Below it (n <= 10,001 with 9,999 permutations) nothing
#: changes.
MC_BUDGET = 100_000_000
#: The fewest permutations a bounded condMC runs (its resolution is then 1 / 999 ~ 0.001,
#: below which the book prints "p < 0.001" anyway).
MC_MIN = 999
#: Kernel evaluations exactGauss's quadrature may cost (:func:`gauss_markov_cost`): 5e8 is
#: about 10-25 s, reached with about 5,000 distinct marker values.
EXACT_BUDGET = 500_000_000


def mc_permutations(n: int, n_mc: int = 9999, budget: int | None = MC_BUDGET) -> int:
    """Permutations condMC runs for ``n`` patients under ``budget`` patient-permutations:
    ``n_mc`` while ``n * n_mc <= budget``, else ``budget // n`` but at least :data:`MC_MIN`
    (and never more than ``n_mc``). ``budget=None``: always ``n_mc``.

    Why this is enough: condMC's p is itself a Monte Carlo estimate, resolved to about
    ``1 / n_mc``; where the bound bites (more than 10,000 patients) its Gaussian limit is
    what exactGauss and Lau94 compute, so a few hundred thousand permutations more would
    only sharpen a number that the asymptotic p-values already give."""
    if budget is None or n * n_mc <= budget:
        return int(n_mc)
    return int(min(n_mc, max(MC_MIN, budget // n)))


@dataclass
class MaxstatResult:
    """``cutoff``: the estimated cut-point (low = marker <= cutoff); ``statistic``: the
    maximal standardized statistic; ``pvalues``: one row per method (``method``, ``p``,
    ``error``: the Monte Carlo standard error of ``condMC``, the numerical error estimate of
    ``exactGauss``, ``NaN`` for the closed-form bounds ``Lau92``/``Lau94``);
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
        table = self.pvalues.set_index("method")
        if method not in table.index:
            raise KeyError(f"no p-value by {method!r}: this result has "
                           f"{', '.join(table.index)} (ask maxstat_test(pmethods=...))")
        return float(table.loc[method, "p"])


# ----------------------------------------------------------------------------------------
# input checks


def _fail(what: str, column: str, rows, expected: str, found: str = "") -> None:
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:5]) + (f" ... and {len(rows) - 5} more"
                                                   if len(rows) > 5 else "")
    msg = f"{what}: column {column!r}, rows {shown}: expected {expected}"
    if found:
        msg += f"; found {found}"
    raise ValueError(msg)


def _prepare(df: pd.DataFrame, time: str, event: str, marker: str, *, where: str):
    """Check the input and return (time, event, marker) as float arrays plus the count of
    rows dropped for missing values. Rows are identified by the DataFrame's index."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in (time, event, marker) if c not in df.columns]
    if missing:
        raise ValueError(f"{where}: column(s) {', '.join(map(repr, missing))} not in the data "
                         f"(columns: {', '.join(map(str, df.columns))})")
    arrays = {}
    for name in (time, event, marker):
        s = df[name]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            arrays[name] = s.to_numpy(dtype=float, na_value=np.nan)
            continue
        num = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & num.isna()
        if bad.any():
            _fail(where, name, df.index[bad.to_numpy()], "numbers",
                  ", ".join(map(repr, s[bad].unique()[:3])))
        arrays[name] = num.to_numpy(dtype=float, na_value=np.nan)
    t, e, x = arrays[time], arrays[event], arrays[marker]
    keep = ~(np.isnan(t) | np.isnan(e) | np.isnan(x))
    n_dropped = int(len(keep) - keep.sum())
    index = df.index
    if n_dropped:
        t, e, x, index = t[keep], e[keep], x[keep], index[keep]
    for name, v, cond, expected in (
        (time, t, lambda v: np.isfinite(v) & (v >= 0), "finite times >= 0"),
        (event, e, lambda v: (v == 0) | (v == 1), "0 (censored) or 1 (event)"),
        (marker, x, np.isfinite, "finite values"),
    ):
        ok = cond(v)
        if not ok.all():
            _fail(where, name, index[~ok], expected, ", ".join(map(repr, np.unique(v[~ok])[:3])))
    if len(t) < 2:
        raise ValueError(f"{where}: {len(t)} complete row(s) in {time!r}, {event!r}, "
                         f"{marker!r}; need at least 2")
    return t, e, x, n_dropped


def _check_props(minprop: float, maxprop: float, where: str) -> None:
    if not (0 <= minprop <= maxprop <= 1):
        raise ValueError(f"{where}: expected 0 <= minprop <= maxprop <= 1, "
                         f"got minprop={minprop}, maxprop={maxprop}")


# ----------------------------------------------------------------------------------------
# the pieces


def logrank_scores(time, event, order=None) -> np.ndarray:
    """Log-rank scores as exactRankTests' ``cscores(Surv(time, event))`` computes them.

    ``a_i = event_i - sum_{k: rank_k <= r_i} event_k / (N - r_k + 1)`` where ``r`` is the
    largest rank among tied times (exactRankTests' ``irank``) and the sum runs over the
    ``r_i`` first patients in time order. Returned in the input order.

    ``order``, if given, is any permutation that sorts ``time`` (the optimism lab's
    bootstrap passes one it already has, saving the sort thousands of times); the scores
    use whole blocks of tied times only, so the order among ties does not matter.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    n = len(time)
    if order is None:
        order = np.argsort(time, kind="quicksort")
    sorted_time = time[order]
    # largest (1-based) rank of each tie block, in time order
    last = np.r_[sorted_time[1:] != sorted_time[:-1], True]
    block = np.cumsum(np.r_[True, last[:-1]]) - 1
    max_rank_sorted = (np.flatnonzero(last) + 1)[block]
    event_sorted = event[order]
    cum = np.cumsum(event_sorted / (n - max_rank_sorted + 1))
    scores = np.empty(n)
    scores[order] = event_sorted - cum[max_rank_sorted - 1]
    return scores


def _candidate_m(x_sorted: np.ndarray, minprop: float, maxprop: float) -> np.ndarray:
    """Low-group sizes of the candidate cuts (maxstat's ``cmaxstat``), ascending."""
    n = len(x_sorted)
    first = np.flatnonzero(np.r_[True, x_sorted[1:] != x_sorted[:-1]])  # 0-based first index
    m = first.copy()  # = R's which(!ties) - 1: patients strictly below each distinct value
    if minprop == 0 and maxprop == 1:
        m = m[1:-1]
    else:
        lo, hi = math.floor(n * minprop), math.floor(n * maxprop)
        if np.all(m < lo):
            raise ValueError(f"minprop too large: no cut leaves {lo} or more of the {n} "
                             f"patients in the low group")
        if np.all(m > hi):
            raise ValueError(f"maxprop too small: no cut leaves at most {hi} of the {n} "
                             f"patients in the low group")
        m = m[(m >= max(1, lo)) & (m <= hi)]
    if len(m) < 1:
        raise ValueError(f"no cut-point between minprop={minprop} and maxprop={maxprop}: "
                         f"the marker has {len(first)} distinct value(s) among {n} patients")
    return m


def _moments(scores_sorted: np.ndarray, m: np.ndarray):
    n = len(scores_sorted)
    ss = scores_sorted.sum()
    expect = m / n * ss
    var = m * (n - m) / (n ** 2 * (n - 1)) * (n * np.sum(scores_sorted ** 2) - ss ** 2)
    return expect, var


def p_lausen92(b: float, minprop: float = 0.1, maxprop: float = 0.9) -> float:
    """Lausen & Schumacher (1992) approximation (R ``maxstat:::pLausen92``), not capped at 1."""
    if b < 1:
        return 1.0
    db = math.exp(-b * b / 2) / math.sqrt(2 * math.pi)
    with np.errstate(divide="ignore"):
        ratio = np.float64(maxprop * (1 - minprop)) / np.float64((1 - maxprop) * minprop)
        log_ratio = float(np.log(ratio))
    p = 4 * db / b + db * (b - 1 / b) * log_ratio
    return max(p, 0.0)


def p_lausen94(b: float, n: int, minprop: float = 0.1, maxprop: float = 0.9, m=None) -> float:
    """Lausen, Sauerbrei & Schumacher (1994) improved Bonferroni bound (R
    ``maxstat:::pLausen94``) over the candidate low-group sizes ``m``; not capped at 1."""
    if m is None:
        m = np.arange(math.floor(n * minprop), math.floor(n * maxprop) + 1)
    m = np.asarray(m, dtype=float)
    if len(m) <= 1:
        d = 0.0
    else:
        m1, m2 = m[:-1], m[1:]
        t = np.sqrt(1 - m1 * (n - m2) / ((n - m1) * m2))
        d = float(np.sum(1 / math.pi * math.exp(-b * b / 2) * (t - (b * b / 4 - 1) * t ** 3 / 6)))
    return 1 - (special.ndtr(b) - special.ndtr(-b)) + d


def gauss_markov_box(b: float, m, n: int, *, nodes_per_sd: int = 4) -> tuple[float, float]:
    """``P(|Z_k| <= b for all k)`` for the Gaussian limit of maxstat's standardized
    statistics at low-group sizes ``m`` among ``n``, with an estimate of its numerical error.

    The correlation ``sqrt(m_j (n - m_k) / ((n - m_j) m_k))`` (``m_j <= m_k``) is that of a
    Gauss-Markov chain: ``Z_{k+1} = rho_k Z_k + sqrt(1 - rho_k^2) eps``, ``rho_k =
    sqrt(u_k / u_{k+1})``, ``u = m / (n - m)``. So the box probability is a chain of
    one-dimensional integrals: starting from the standard normal density on ``[-b, b]``,
    each step integrates the current density against the Gaussian transition kernel
    (Simpson's rule on a uniform grid whose spacing is ``1 / nodes_per_sd`` of the smallest
    transition standard deviation, kernel cut at 9 SD) and keeps ``[-b, b]``. The same
    computation on the grid with every other node gives the Richardson extrapolation
    ``(16 p_h - p_2h) / 15``, returned, and the error estimate ``|p_h - p_2h| / 15`` (the
    fine grid's error; a conservative bound for the extrapolated value). Deterministic. Cost
    ``k x nodes x kernel width``: well under a second for the book's cohorts (a few hundred
    patients); with every marker value distinct about 2 s at n = 1,000 and 6 s at 2,000
    (error ~3e-7), growing roughly as ``n^2`` beyond.
    (A Genz quasi-Monte Carlo along the same chain was tried: at 480 cut-points it needed a
    minute for a standard error of 5e-4, so the quadrature is used throughout.) When even
    the Bonferroni bound ``k 2 Phi(-b)`` of ``1 - P`` is below 1e-12, ``1 - bound`` is
    returned with the bound as its error.
    """
    m = np.unique(np.asarray(m, dtype=float))
    k = len(m)
    phi_b = float(special.ndtr(b) - special.ndtr(-b))
    if k == 1 or phi_b <= 0:
        return phi_b, 0.0
    bonferroni = k * 2 * float(special.ndtr(-b))
    if bonferroni < 1e-12:
        # 1 - P lies in [2 Phi(-b), k 2 Phi(-b)], below the quadrature's resolution
        return 1.0 - bonferroni, bonferroni
    rho, sd, n_nodes = _chain_grid(b, m, n, nodes_per_sd)
    fine = _chain_box(b, rho, sd, n_nodes)
    coarse = _chain_box(b, rho, sd, (n_nodes + 1) // 2)
    # Simpson's error is O(h^4): Richardson extrapolation, and |fine - coarse| / 15 (the
    # fine grid's error) as a conservative bound for the extrapolated value
    return (16 * fine - coarse) / 15, abs(fine - coarse) / 15


def _chain_grid(b: float, m: np.ndarray, n: int, nodes_per_sd: int = 4):
    """The chain of :func:`gauss_markov_box` over the sorted distinct ``m``: transition
    correlations ``rho``, standard deviations ``sd``, and the fine grid's node count."""
    u = m / (n - m)
    rho = np.sqrt(u[:-1] / u[1:])
    sd = np.sqrt(1 - u[:-1] / u[1:])
    h = min(sd.min() / nodes_per_sd, b / 100)
    quarter = max(1, math.ceil(b / (2 * h)))
    return rho, sd, 4 * quarter + 1


def gauss_markov_cost(b: float, m, n: int, *, nodes_per_sd: int = 4) -> float:
    """Kernel evaluations :func:`gauss_markov_box` makes (fine and coarse grid): the sum over
    the chain's steps of nodes x kernel width. It grows with the number of distinct cuts and
    with how close they are (about ``n^2`` when every marker value is distinct); about
    5e7 evaluations take a second. ``0`` when no quadrature is needed."""
    m = np.unique(np.asarray(m, dtype=float))
    if len(m) <= 1 or b <= 0 or len(m) * 2 * float(special.ndtr(-b)) < 1e-12:
        return 0.0
    rho, sd, n_nodes = _chain_grid(b, m, n, nodes_per_sd)
    h = 2 * b / (n_nodes - 1)
    width = 2 * (np.ceil(9 * sd / h) + 1) + 1
    return float(np.sum(np.minimum(width, n_nodes)) * n_nodes * 1.5)


def _chain_box(b: float, rho: np.ndarray, sd: np.ndarray, n_nodes: int) -> float:
    """Simpson-rule recursion of :func:`gauss_markov_box` on ``n_nodes`` (odd) nodes."""
    z = np.linspace(-b, b, n_nodes)
    h = z[1] - z[0]
    wts = np.full(n_nodes, 2.0)
    wts[1::2] = 4.0
    wts[0] = wts[-1] = 1.0
    wts *= h / 3
    dens = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    inv_sqrt_2pi = 1 / math.sqrt(2 * math.pi)
    for r, s in zip(rho, sd):
        mass = dens * wts
        centre = np.rint((r * z + b) / h).astype(np.int64)
        half = int(math.ceil(9 * s / h)) + 1
        idx = centre[:, None] + np.arange(-half, half + 1)[None, :]
        ok = (idx >= 0) & (idx < n_nodes)
        zz = z[np.clip(idx, 0, n_nodes - 1)]
        arg = (zz - r * z[:, None]) / s
        kern = np.exp(-arg * arg / 2) * (inv_sqrt_2pi / s) * mass[:, None]
        dens = np.bincount(idx[ok], weights=kern[ok], minlength=n_nodes)
    return float(np.sum(dens * wts))


def p_exact_gauss(b: float, x, minprop: float = 0.1, maxprop: float = 0.9
                  ) -> tuple[float, float]:
    """R ``maxstat:::pexactgauss``: ``1 - P(|Z| <= b)`` over maxstat's ``corrmsrs`` cuts of
    marker ``x``; returns ``(p, estimated numerical error)``. See :func:`gauss_markov_box`."""
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    if n == 1:
        return float(2 * special.ndtr(-b)), 0.0
    m = _corrmsrs_cuts(x, minprop, maxprop)
    if np.any(m >= n):
        warnings.warn("exactGauss is not defined with maxprop = 1 (R: \"'corr' is not a "
                      "correlation matrix\"); returning NaN", RuntimeWarning, stacklevel=3)
        return float("nan"), float("nan")
    if len(m) == 0:
        return float("nan"), float("nan")
    if len(m) == 1:
        return float(2 * special.ndtr(-b)), 0.0
    prob, err = gauss_markov_box(b, m, n)
    return 1 - prob, err


def _exact_gauss_cost(b: float, x, minprop: float, maxprop: float) -> float:
    """:func:`gauss_markov_cost` of :func:`p_exact_gauss` for marker ``x`` (its cuts)."""
    x = np.sort(np.asarray(x, dtype=float))
    m = _corrmsrs_cuts(x, minprop, maxprop)
    if len(m) <= 1 or np.any(m >= len(x)):
        return 0.0
    return gauss_markov_cost(b, m, len(x))


def _corrmsrs_cuts(x_sorted: np.ndarray, minprop: float, maxprop: float) -> np.ndarray:
    """maxstat's ``corrmsrs`` cuts: each distinct value's largest rank, within
    ``[max(1, floor(n minprop)), floor(n maxprop)]``."""
    n = len(x_sorted)
    last = np.flatnonzero(np.r_[x_sorted[1:] != x_sorted[:-1], True]) + 1
    lo, hi = max(1, math.floor(n * minprop)), math.floor(n * maxprop)
    return last[(last >= lo) & (last <= hi)]


def p_cond_mc(b: float, scores_sorted: np.ndarray, m: np.ndarray, *, n_mc: int = 9999,
              seed: int = 20231) -> tuple[float, float]:
    """R ``maxstat:::pmaxperm``: share of ``n_mc`` random permutations of the scores whose
    maximal standardized statistic over the cuts ``m`` exceeds ``b``; ``(p, standard error)``."""
    n = len(scores_sorted)
    expect, var = _moments(scores_sorted, m)
    sd = np.sqrt(var)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_mc, int(2_000_000 // n)))
    threshold = b * (1 + _TIE_RTOL)
    count, done = 0, 0
    last = int(m.max()) if len(m) else 0  # prefix sums past the last cut are never read
    while done < n_mc:
        c = min(chunk, n_mc - done)
        perm = rng.permuted(np.broadcast_to(scores_sorted, (c, n)), axis=1)
        head = perm[:, :last]
        sums = np.cumsum(head, axis=1, out=head)[:, m - 1]  # in place: no second c x n array
        stat = np.abs((sums - expect) / sd).max(axis=1)
        count += int(np.count_nonzero(stat > threshold))
        done += c
    p = count / n_mc
    return p, math.sqrt(p * (1 - p) / n_mc)


# ----------------------------------------------------------------------------------------
# the tests


def maxstat_test(df: pd.DataFrame, time: str, event: str, marker: str, *,
                 minprop: float = 0.1, maxprop: float = 0.9,
                 pmethods=PVALUE_METHODS, seed: int = 20231, n_mc: int = 9999,
                 mc_budget: int | None = None, exact_budget: float | None = None) -> MaxstatResult:
    """Maximally selected log-rank statistic for ``marker`` (R ``maxstat.test``; see the
    module docstring for every convention).

    Parameters
    ----------
    df : DataFrame
        One row per patient.
    time, event, marker : str
        Columns: follow-up time (>= 0), event indicator (1 = event, 0 = censored; bool
        allowed), the continuous marker. Rows missing any of them are dropped.
    minprop, maxprop : float
        Smallest and largest share of the patients allowed in the low group.
    pmethods : iterable of str
        Any of :data:`PVALUE_METHODS`; an empty tuple computes only the statistic.
    seed : int
        Seeds ``condMC``'s permutations (numpy ``default_rng(seed)``); the other methods
        use no random numbers.
    n_mc : int
        Permutations for ``condMC``.
    mc_budget : int, optional
        Bound condMC's cost at ``mc_budget`` patient-permutations: it then runs
        :func:`mc_permutations` ``(n, n_mc, mc_budget)`` permutations (``settings["n_mc"]``
        says how many; ``settings["n_mc_requested"]`` is ``n_mc``). ``None``: always ``n_mc``.
    exact_budget : float, optional
        Bound exactGauss's quadrature at this many kernel evaluations
        (:func:`gauss_markov_cost`); above it exactGauss is not computed: its ``p`` is NaN
        and ``settings["not_computed"]["exactGauss"]`` says why. ``None``: no bound.

    Returns
    -------
    MaxstatResult
        ``cutoff`` (low = marker <= cutoff), ``statistic``, ``pvalues`` (``method``, ``p``,
        ``error``) and ``curve`` (:data:`CURVE_COLUMNS`, one row per candidate cut).
    """
    where = "maxstat_test"
    _check_props(minprop, maxprop, where)
    pmethods = tuple(pmethods)
    unknown = [p for p in pmethods if p not in PVALUE_METHODS]
    if unknown:
        raise ValueError(f"{where}: unknown p-value method(s) {unknown}; expected any of "
                         f"{', '.join(PVALUE_METHODS)}")
    t, e, x, n_dropped = _prepare(df, time, event, marker, where=where)
    n = len(t)
    scores = logrank_scores(t, e)
    order = np.argsort(x, kind="quicksort")
    x_sorted, y_sorted = x[order], scores[order]
    m = _candidate_m(x_sorted, minprop, maxprop)
    expect, var = _moments(y_sorted, m)
    if not np.all(var > 0):
        raise ValueError(f"{where}: the log-rank scores of {time!r}/{event!r} do not vary "
                         f"(no events?): the statistic is undefined")
    stats = np.abs((np.cumsum(y_sorted)[m - 1] - expect) / np.sqrt(var))
    best = float(stats.max())
    i_best = int(np.flatnonzero(stats >= best * (1 - _TIE_RTOL))[0])
    cutoff = float(x_sorted[m[i_best] - 1])
    curve = pd.DataFrame({"cut": x_sorted[m - 1], "n_low": m.astype(int),
                          "n_high": (n - m).astype(int), "statistic": stats})
    rows, not_computed = [], {}
    n_mc_used = mc_permutations(n, n_mc, mc_budget)
    for method in pmethods:
        se = float("nan")
        if method == "Lau92":
            p = p_lausen92(best, minprop, maxprop)
        elif method == "Lau94":
            p = p_lausen94(best, n, minprop, maxprop, m=m)
        elif method == "exactGauss":
            cost = 0.0 if exact_budget is None else _exact_gauss_cost(best, x, minprop, maxprop)
            if exact_budget is not None and cost > exact_budget:
                p = float("nan")
                not_computed[method] = (f"its quadrature would need {cost:.1e} kernel evaluations "
                                        f"(bound {exact_budget:.0e})")
            else:
                p, se = p_exact_gauss(best, x, minprop, maxprop)
        else:
            p, se = p_cond_mc(best, y_sorted, m, n_mc=n_mc_used, seed=seed)
        rows.append({"method": method, "p": float(p), "error": se})
    pvalues = pd.DataFrame(rows, columns=PVALUE_COLUMNS)
    settings = {"time": time, "event": event, "marker": marker, "smethod": "LogRank",
                "seed": seed, "n_mc": n_mc_used, "n_mc_requested": n_mc, "n_dropped": n_dropped,
                "n_events": int(e.sum()), "low_group": "marker <= cutoff",
                "not_computed": not_computed}
    return MaxstatResult(cutoff=cutoff, statistic=best, pvalues=pvalues, curve=curve,
                         minprop=minprop, maxprop=maxprop, n=n, settings=settings)


@dataclass
class MinPResult:
    """``cutoff`` with the smallest plain log-rank ``p_min`` (uncorrected for the search);
    ``curve``: ``cut``, ``n_low``, ``n_high``, ``chisq``, ``p`` at every candidate, plus
    ``low_max`` (the largest marker value of the low group, maxstat's ``cut``).
    ``high_if`` says how ``cutoff`` and ``curve["cut"]`` read: ``">="`` high = marker >=
    cut; ``">"`` high = marker > cut."""

    cutoff: float
    p_min: float
    curve: pd.DataFrame
    label: str = "minimum log-rank p (uncorrected for the search)"
    high_if: str = ">="
    chisq: float = float("nan")
    n: int = 0


def logrank_chisq_all_cuts(time, event, marker_sorted_order, m, *,
                           max_cells: int = 4_000_000) -> np.ndarray:
    """Two-group log-rank chi-square (R ``survdiff``, hypergeometric variance with ties) of
    low (the first ``m`` patients in ``marker_sorted_order``) vs high, for every ``m`` at once.

    ``O - E`` comes from cumulative sums of ``event - Lambda(time)`` (Nelson-Aalen); the
    variance's quadratic part from the low group's number at risk at each event time,
    built as a cumulative (cuts x event times) table in chunks of at most ``max_cells``.
    """
    t = np.asarray(time, dtype=float)[marker_sorted_order]
    d = np.asarray(event, dtype=float)[marker_sorted_order]
    m = np.asarray(m)
    etimes, d_j = np.unique(t[d == 1], return_counts=True)
    n_total = len(t)
    t_sorted = np.sort(t)
    n_j = n_total - np.searchsorted(t_sorted, etimes, side="left")  # at risk at t_j
    d_j = d_j.astype(float)
    n_jf = n_j.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(n_j > 1, d_j * (n_jf - d_j) / (n_jf ** 2 * (n_jf - 1)), 0.0)
    # J_i: number of event times <= t_i (patient i is at risk at event times 1..J_i)
    J = np.searchsorted(etimes, t, side="right")
    cum_haz = np.r_[0.0, np.cumsum(d_j / n_jf)]
    cum_wn = np.r_[0.0, np.cumsum(w * n_jf)]
    o_minus_e = np.cumsum(d - cum_haz[J])[m - 1]
    v_lin = np.cumsum(cum_wn[J])[m - 1]
    # quadratic part: sum_j w_j n1_j(c)^2, n1_j(c) = #{i in low(c): J_i >= j}
    n_times = len(etimes)
    blk = np.searchsorted(m, np.arange(n_total), side="right")  # first cut holding patient i
    v_quad = np.empty(len(m))
    carried = np.zeros(n_times + 1)
    chunk = max(1, max_cells // (n_times + 1))
    for c0 in range(0, len(m), chunk):
        c1 = min(len(m), c0 + chunk)
        sel = (blk >= c0) & (blk < c1)
        inc = np.zeros((c1 - c0, n_times + 1))
        np.add.at(inc, (blk[sel] - c0, J[sel]), 1.0)
        counts = np.cumsum(inc, axis=0) + carried
        carried = counts[-1].copy()
        at_risk = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]  # n1_j = sum_{J >= j}
        v_quad[c0:c1] = (at_risk[:, 1:] ** 2) @ w
    var = v_lin - v_quad
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, o_minus_e ** 2 / var, np.nan)


def min_pvalue_search(df: pd.DataFrame, time: str, event: str, marker: str, *,
                      minprop: float = 0.1, maxprop: float = 0.9,
                      high_if: str = ">=") -> MinPResult:
    """The uncorrected minimum log-rank p search over the same candidate cuts as maxstat.

    At each candidate cut, a plain two-group log-rank test (R ``survdiff``: chi-square with
    1 df, hypergeometric variance for tied times) of low = the patients up to the cut
    against the rest; the cut with the smallest p wins (ties: the lowest cut). The p is
    **not** corrected for the search (see :func:`maxstat_test` for corrected p-values).

    ``high_if=">="`` reports the cut as "high = marker >= cutoff" (the PBIS convention), the
    cutoff being the smallest marker value of the high group; ``high_if=">"`` reports it as
    maxstat does, "high = marker > cutoff", the cutoff being the largest value of the low
    group. ``curve["cut"]`` follows the same convention; ``curve["low_max"]`` is always
    maxstat's.
    """
    where = "min_pvalue_search"
    if high_if not in (">=", ">"):
        raise ValueError(f"{where}: high_if must be '>=' or '>', got {high_if!r}")
    _check_props(minprop, maxprop, where)
    t, e, x, _ = _prepare(df, time, event, marker, where=where)
    n = len(t)
    if e.sum() == 0:
        raise ValueError(f"{where}: no events in {event!r}: the log-rank test is undefined")
    order = np.argsort(x, kind="quicksort")
    x_sorted = x[order]
    m = _candidate_m(x_sorted, minprop, maxprop)
    chisq = logrank_chisq_all_cuts(t, e, order, m)
    p = special.chdtrc(1, chisq)
    low_max = x_sorted[m - 1]
    cut = x_sorted[m] if high_if == ">=" else low_max
    curve = pd.DataFrame({"cut": cut, "n_low": m.astype(int), "n_high": (n - m).astype(int),
                          "chisq": chisq, "p": p, "low_max": low_max})
    if np.all(np.isnan(p)):
        raise ValueError(f"{where}: the log-rank variance is zero at every cut")
    p_best = np.nanmin(p)
    i_best = int(np.flatnonzero(p <= p_best * (1 + _TIE_RTOL))[0])
    return MinPResult(cutoff=float(cut[i_best]), p_min=float(p[i_best]), curve=curve,
                      high_if=high_if, chisq=float(chisq[i_best]), n=n)
