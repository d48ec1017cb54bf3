"""The cut-point optimism lab: how much of a data-driven cut-off survives.

:func:`report_card` takes one marker and one survival endpoint, chooses the cut-off the way
a paper would (maxstat's maximally selected log-rank statistic, or the smallest plain
log-rank p), and reports, as one tidy table (:data:`SUMMARY_COLUMNS`, one row per quantity,
names in :data:`SUMMARY_NAMES`):

- what the paper prints: the cut-off, the HR of high (marker > cut-off) vs low with its
  Wald 95% CI and the plain log-rank p (``apparent_hr``);
- p-values corrected for the search: maxstat's Lau92, Lau94, exactGauss and condMC
  (:func:`helpers.maxstat.maxstat_test`, equal to R), Altman et al. (1994)'s correction of the
  minimum p for the 5-95 % and 10-90 % ranges (:func:`altman_corrected_p`), and the
  permutation p of the whole selection from the null simulation (``p_permutation``);
- the bootstrap distribution of the cut-off and of the HR at the re-chosen cut-off;
- optimism-corrected HRs: the cross-validated HR of Faraggi & Simon (1996) (``cv_hr``) and
  Harrell's simple optimism bootstrap (``bootstrap_corrected_hr``; *not* the .632 variant);
- a null simulation of the complete selection (outcome permuted against the marker): its
  real type I error at 0.05 (``null_type1_error``) and the distribution of the HRs it
  reports (``null_median_hr``).

References: Altman DG, Lausen B, Sauerbrei W, Schumacher M. Dangers of using "optimal"
cutpoints in the evaluation of prognostic factors. J Natl Cancer Inst 1994;86:829-835.
Faraggi D, Simon R. A simulation study of cross-validation for selecting an optimal
cutpoint in univariate survival analysis. Stat Med 1996;15:2203-2213. Harrell FE, Lee KL,
Mark DB. Multivariable prognostic models. Stat Med 1996;15:361-387 (optimism bootstrap).

Orientation. A search over cut-offs finds a difference in either direction. HRs compare
``marker > cut-off`` (high) with the rest (low), as maxstat's rule "low = marker <= cut"
implies. The corrected HRs (cross-validated, bootstrap) and the null HRs are reported *in
the direction of the apparent HR*: a paper reports the direction it found, so a null HR
of 0.5 found when the apparent HR is above 1 counts as 2.0. See :func:`report_card`.

Reproducibility and speed. Every replicate (bootstrap sample, permutation, CV split) draws
from its own child of ``numpy.random.SeedSequence(seed)`` (``spawn``), so results are
identical for any ``jobs`` and any joblib backend (local processes or a Dask cluster via
``scheduler``). Inside a replicate everything is vectorised: the maxstat statistic at all
cuts from one cumulative sum, and a hand-written one-covariate Efron Cox fit and log-rank
test (:func:`logrank_cox_binary`, equal to :func:`helpers.survival.cox` and
:func:`helpers.survival.logrank`; hand-written for speed: the general versions cost ~5 ms of
pandas overhead per call, this ~0.1 ms).
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from . import maxstat

SUMMARY_COLUMNS = ["name", "estimate", "lower", "upper", "p", "replicates", "seed"]
#: Row names of :attr:`ReportCard.summary` (stable: other chapters and tools read them).
SUMMARY_NAMES = (
    "n_patients", "n_events", "n_candidate_cuts", "cutoff", "apparent_hr",
    "p_lau92", "p_lau94", "p_exactgauss", "p_condmc",
    "p_min_5_95", "p_altman_5_95", "p_min_10_90", "p_altman_10_90", "p_permutation",
    "cv_hr", "cv_p_logrank_naive", "bootstrap_hr", "bootstrap_hr_fixed_cut", "bootstrap_optimism",
    "bootstrap_corrected_hr", "null_type1_error", "null_median_hr", "null_share_above_apparent",
)
METHODS = ("maxstat", "minp")
#: Fewest events a report card accepts (below this the search and its corrections mean little).
MIN_EVENTS = 10
#: Altman et al. (1994): p_cor = -a p (1 + b ln p) for the search range (minprop-maxprop).
ALTMAN = {"5_95": (1.63, 2.35), "10_90": (3.13, 1.65)}
CURVE_COLUMNS = ["cut", "n_low", "n_high", "statistic"]
BOOTSTRAP_COLUMNS = ["replicate", "cutoff", "hr", "hr_original", "hr_fixed_cut"]
NULL_COLUMNS = ["replicate", "cutoff", "statistic", "hr", "hr_oriented", "p"]
_TIE_RTOL = 1e-10
#: |log HR| beyond which the Cox estimate is taken as running off to infinity.
_LOG_HR_CAP = 25.0
#: Fewest patients a report card accepts.
MIN_PATIENTS = 20


# ----------------------------------------------------------------------------------------
# Altman's correction


def altman_corrected_p(p_min, search: str = "10_90"):
    """Altman et al. (1994)'s correction of a minimum p-value found by searching cut-offs
    between the 10th and 90th (``search="10_90"``) or the 5th and 95th (``"5_95"``)
    percentiles of the marker:

    ``p_cor = -3.13 p_min (1 + 1.65 ln p_min)`` (10-90 %),
    ``p_cor = -1.63 p_min (1 + 2.35 ln p_min)`` (5-95 %).

    The formulas approximate the Lausen-Schumacher bound for small ``p_min``; they rise to a
    maximum at ``p_min = exp(-1 - 1/b)`` (0.20 and 0.24) and fall after it, so above that
    point the value is held at the maximum (a corrected p never decreases when ``p_min``
    increases); it is never below ``p_min`` and never above 1. Accepts a number or an array.
    """
    if search not in ALTMAN:
        raise ValueError(f"altman_corrected_p: search must be one of {list(ALTMAN)}, got {search!r}")
    a, b = ALTMAN[search]
    p = np.asarray(p_min, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("altman_corrected_p: p_min must lie in [0, 1]")
    peak = math.exp(-1 - 1 / b)
    q = np.minimum(p, peak)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(q > 0, -a * q * (1 + b * np.log(q)), 0.0)
    out = np.minimum(np.maximum(out, p), 1.0)
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------------------
# fast two-group survival primitives


def _logrank_parts(time, event, group):
    """Plain two-group log-rank chi-square and p, with the per-event-time tables the Cox fit
    reuses; ``None`` if a group is empty or there are no events."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    g = np.asarray(group, dtype=float)
    n1 = g.sum()
    if n1 == 0 or n1 == len(g) or e.sum() == 0:
        return None
    order = np.argsort(t, kind="stable")
    t, e, g = t[order], e[order], g[order]
    uniq, first, inv = np.unique(t, return_index=True, return_inverse=True)
    n = len(t)
    r = (n - first).astype(float)
    r1 = np.cumsum(g[::-1])[::-1][first]
    d = np.bincount(inv, weights=e, minlength=len(uniq))
    d1 = np.bincount(inv, weights=e * g, minlength=len(uniq))
    keep = d > 0
    r, r1, d, d1 = r[keep], r1[keep], d[keep], d1[keep]
    o_e = float(np.sum(d1 - r1 * d / r))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(r > 1, r1 * (r - r1) * d * (r - d) / (r * r * (r - 1)), 0.0)
    var = float(v.sum())
    chisq = o_e * o_e / var if var > 0 else float("nan")
    p_lr = float(special.chdtrc(1, chisq)) if var > 0 else float("nan")
    return chisq, p_lr, r, r1, d, d1


def logrank_chisq(time, event, group) -> float:
    """The plain two-group log-rank chi-square alone (``nan`` if undefined)."""
    parts = _logrank_parts(time, event, group)
    return float("nan") if parts is None else parts[0]


def logrank_cox_binary(time, event, group) -> tuple[float, float, float, float]:
    """Two-group log-rank chi-square (R ``survdiff``) and the univariable Efron Cox fit of
    ``group`` (1 vs 0), in one pass over the sorted times.

    Returns ``(chisq, p_logrank, log_hr, se)``; all ``nan`` if a group is empty; ``log_hr =
    +-inf`` (and ``se = inf``) when the likelihood has no finite maximum, e.g. no events in
    one group (R warns "coefficient may be infinite" there). Equal to :func:`helpers.survival.logrank`
    and :func:`helpers.survival.cox` (tests); written out for speed, since the report card
    calls it thousands of times.
    """
    parts = _logrank_parts(time, event, group)
    if parts is None:
        return float("nan"), float("nan"), float("nan"), float("nan")
    chisq, p_lr, r, r1, d, d1 = parts
    r0, d0 = r - r1, d - d1
    # Efron: the l-th of d tied events (l = 0..d-1) sees risk sums minus l/d of the tied ones
    di = d.astype(np.int64)
    rep = np.repeat(np.arange(len(d)), di)
    l_frac = (np.arange(di.sum()) - np.repeat(np.cumsum(di) - di, di)) / d[rep]
    A = r0[rep] - l_frac * d0[rep]
    B = r1[rep] - l_frac * d1[rep]
    D1 = d1.sum()

    def loglik(b):
        return b * D1 - np.sum(np.log(A + B * math.exp(b)))

    beta, ll = 0.0, loglik(0.0)
    info = float("nan")
    for _ in range(60):
        eb = math.exp(beta)
        den = A + B * eb
        u = D1 - np.sum(B * eb / den)
        info = float(np.sum(A * B * eb / (den * den)))
        if not info > 0:
            break
        step = u / info
        step = max(-5.0, min(5.0, step))
        new = beta + step
        ll_new = loglik(new)
        halv = 0
        while ll_new < ll - 1e-12 * abs(ll) and halv < 30:
            step /= 2
            new = beta + step
            ll_new = loglik(new)
            halv += 1
        beta, ll = new, ll_new
        if abs(step) < 1e-10 or abs(beta) > _LOG_HR_CAP:
            break
    if abs(beta) >= _LOG_HR_CAP or not math.isfinite(beta):
        return chisq, p_lr, math.copysign(float("inf"), beta), float("inf")
    eb = math.exp(beta)
    den = A + B * eb
    info = float(np.sum(A * B * eb / (den * den)))
    se = 1 / math.sqrt(info) if info > 0 else float("inf")
    if se > 1e3 * max(1.0, abs(beta)):  # the likelihood is flat: the estimate runs off
        return chisq, p_lr, math.copysign(float("inf"), beta), float("inf")
    return chisq, p_lr, beta, se


# ----------------------------------------------------------------------------------------
# the selection


@dataclass
class Selection:
    """One cut-off search on arrays: ``cutoff`` (low = marker <= cutoff), the selection
    ``statistic`` at it (maxstat: standardized log-rank statistic; minp: sqrt of the
    log-rank chi-square), the curve over all candidate cuts, and ``direction``: +1 if the
    high side (marker > cutoff) has more events than expected (log-rank scores), else -1."""

    cutoff: float
    statistic: float
    cuts: np.ndarray
    n_low: np.ndarray
    curve: np.ndarray
    direction: int = 1


def _candidate_m(xs, minprop):
    """:func:`helpers.maxstat._candidate_m` for ``0 < minprop`` and ``maxprop = 1 - minprop``
    without its small-array overhead (called thousands of times); the same cuts, and
    maxstat's own errors when there is none."""
    n = len(xs)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(xs[1:], xs[:-1], out=new[1:])
    m = np.flatnonzero(new)
    lo, hi = math.floor(n * minprop), math.floor(n * (1 - minprop))
    m = m[(m >= max(1, lo)) & (m <= hi)]
    if len(m) == 0:
        return maxstat._candidate_m(xs, minprop, 1 - minprop)  # raises the explanation
    return m


def _suborder(order, mask):
    """The sorting order of ``v[mask]`` from the sorting order ``order`` of ``v``, in O(n)
    (a stable order stays stable)."""
    pos = np.cumsum(mask) - 1
    return pos[order[mask[order]]]


def _permuted_order(order, perm):
    """A sorting order of ``v[perm]`` from the sorting order ``order`` of ``v``, in O(n)."""
    inv = np.empty_like(perm)
    inv[perm] = np.arange(len(perm))
    return inv[order]


def select_cut(time, event, marker, method: str = "maxstat", minprop: float = 0.1, *,
               x_order=None, t_order=None) -> Selection:
    """Choose a cut-off as a paper would, on arrays (no missing values).

    ``method="maxstat"``: R ``maxstat.test(..., smethod = "LogRank")``'s maximally selected
    standardized statistic (:mod:`helpers.maxstat`); ``"minp"``: the smallest plain
    log-rank p (:func:`helpers.maxstat.logrank_chisq_all_cuts`). Candidate cuts keep between
    ``minprop`` and ``1 - minprop`` of the patients in the low group (maxstat's rule); ties
    go to the lowest cut.

    ``x_order``, ``t_order``: the stable sorting orders of ``marker`` and ``time`` if the
    caller already has them (the replicate loops derive them in O(n) from the cohort's
    orders instead of sorting again, :func:`_suborder`, :func:`_permuted_order`).
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    x = np.asarray(marker, dtype=float)
    order = np.argsort(x, kind="stable") if x_order is None else x_order
    xs = x[order]
    m = _candidate_m(xs, minprop)
    scores = maxstat.logrank_scores(t, e, t_order)[order]
    expect, var = maxstat._moments(scores, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        signed = (np.cumsum(scores)[m - 1] - expect) / np.sqrt(var)
    if method == "maxstat":
        stat = np.abs(signed)
    elif method == "minp":
        chisq = maxstat.logrank_chisq_all_cuts(t, e, order, m)
        stat = np.sqrt(chisq)
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not np.any(np.isfinite(stat)):
        raise ValueError("the log-rank statistic is undefined at every cut (no events?)")
    best = float(np.nanmax(stat))
    i = int(np.flatnonzero(stat >= best * (1 - _TIE_RTOL))[0])
    # excess events (log-rank scores above expectation) in the low group: high is the better side
    direction = -1 if signed[i] > 0 else 1
    return Selection(cutoff=float(xs[m[i] - 1]), statistic=best, cuts=xs[m - 1], n_low=m, curve=stat,
                     direction=direction)


def _oriented(log_hr, sign):
    return np.exp(sign * np.abs(log_hr))


# ----------------------------------------------------------------------------------------
# replicates


def _bootstrap_one(ss, t, e, x, method, minprop, cut0):
    rng = np.random.default_rng(ss)
    n = len(t)
    idx = rng.integers(0, n, n)
    tb, eb, xb = t[idx], e[idx], x[idx]
    try:
        sel = select_cut(tb, eb, xb, method, minprop)
    except ValueError:
        return (np.nan,) * 4
    _, _, lb, _ = logrank_cox_binary(tb, eb, xb > sel.cutoff)
    _, _, lo, _ = logrank_cox_binary(t, e, x > sel.cutoff)
    _, _, lf, _ = logrank_cox_binary(tb, eb, xb > cut0)
    return sel.cutoff, lb, lo, lf


def _null_one(ss, t, e, x, method, minprop, x_order=None, t_order=None):
    rng = np.random.default_rng(ss)
    perm = rng.permutation(len(t))
    tn, en = t[perm], e[perm]
    try:
        sel = select_cut(tn, en, x, method, minprop, x_order=x_order,
                         t_order=None if t_order is None else _permuted_order(t_order, perm))
    except ValueError:
        return (np.nan,) * 4
    _, p, lh, _ = logrank_cox_binary(tn, en, x > sel.cutoff)
    return sel.cutoff, sel.statistic, lh, p


def _chunk(func, seeds, args):
    return [func(ss, *args) for ss in seeds]


def run_replicates(func, seeds, args=(), *, jobs=None, scheduler=None, progress=True,
                   desc: str = "replicates") -> list:
    """``[func(seed, *args) for seed in seeds]``, in parallel.

    ``jobs``: local worker processes (joblib/loky; ``None`` = all cores, 1 = in this
    process). ``scheduler``: a Dask scheduler address (``"tcp://host:8786"``) or a
    ``dask.distributed.Client``; then joblib's Dask backend runs the chunks on that cluster
    (``dask.distributed`` is optional: a clear error if it is not installed). Each replicate
    uses only its own seed, so the result does not depend on ``jobs``, the backend or the
    chunking. ``progress`` shows a tqdm bar (on stderr).
    """
    seeds = list(seeds)
    total = len(seeds)
    if total == 0:
        return []
    n_jobs = (os.cpu_count() or 1) if jobs is None else int(jobs)
    if n_jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    bar = _progress(total, desc, progress)
    try:
        if scheduler is None and n_jobs == 1:
            out = []
            step = max(1, total // 50)
            for i in range(0, total, step):
                part = _chunk(func, seeds[i:i + step], args)
                out.extend(part)
                bar.update(len(part))
            return out
        import joblib

        n_workers = n_jobs
        client, own_client = None, False
        if scheduler is not None:
            client, own_client = _dask_client(scheduler)
            n_workers = max(1, sum(client.nthreads().values()))
        n_chunks = min(total, 4 * n_workers)
        bounds = np.linspace(0, total, n_chunks + 1).round().astype(int)
        parts = [seeds[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        tasks = (joblib.delayed(_chunk)(func, part, args) for part in parts)
        out = []
        try:
            if client is not None:
                with joblib.parallel_config(backend="dask", wait_for_workers_timeout=60):
                    results = joblib.Parallel(n_jobs=-1)(tasks)
                for r in results:
                    out.extend(r)
                    bar.update(len(r))
            else:
                for r in joblib.Parallel(n_jobs=n_jobs, return_as="generator")(tasks):
                    out.extend(r)
                    bar.update(len(r))
        finally:
            if own_client:
                client.close()
        return out
    finally:
        bar.close()


def _dask_client(scheduler):
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise ImportError("--scheduler needs dask.distributed, which is not installed: "
                          "pip install 'distributed' (an optional dependency)") from exc
    if isinstance(scheduler, Client):
        return scheduler, False
    address = getattr(scheduler, "scheduler_address", scheduler)
    return Client(address), True


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total, desc, progress):
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


# ----------------------------------------------------------------------------------------
# the report card


@dataclass
class ReportCard:
    """What :func:`report_card` returns.

    ``summary``: one row per quantity (:data:`SUMMARY_COLUMNS`; names :data:`SUMMARY_NAMES`):
    ``estimate`` (an HR, a p-value, a share or a count), ``lower``/``upper`` (95 % CI or
    percentile interval, said per row in ``settings["intervals"]``), ``p``, ``replicates``
    (bootstrap samples, permutations, CV folds or Monte Carlo permutations behind the row),
    ``seed``. ``curve``: the selection statistic at every candidate cut
    (:data:`CURVE_COLUMNS`); ``bootstrap``: per bootstrap sample the re-chosen cut-off, the
    HR there in the bootstrap sample (``hr``) and in the original cohort (``hr_original``),
    and the HR at the apparent cut-off in the bootstrap sample (``hr_fixed_cut``);
    ``null``: per permutation the chosen cut-off, statistic, HR (raw and oriented like the
    apparent HR) and plain log-rank p; ``cv``: the out-of-fold groups; ``settings``.
    """

    summary: pd.DataFrame
    curve: pd.DataFrame
    bootstrap: pd.DataFrame
    null: pd.DataFrame
    cv: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def value(self, name: str, column: str = "estimate") -> float:
        """One number of the summary, e.g. ``card.value("cv_hr")``."""
        s = self.summary.set_index("name")
        if name not in s.index:
            raise KeyError(f"no row {name!r} in the report card (rows: {', '.join(s.index)})")
        return float(s.loc[name, column])


def _arrays(df, time, event, marker, where="report_card"):
    t, e, x, dropped = maxstat._prepare(df, time, event, marker, where=where)
    n_events = int(e.sum())
    if len(t) < MIN_PATIENTS:
        raise ValueError(f"{where}: {len(t)} complete rows in {time!r}, {event!r}, {marker!r}; "
                         f"a cut-off search needs at least {MIN_PATIENTS} patients")
    if n_events < MIN_EVENTS:
        raise ValueError(f"{where}: {n_events} events in {event!r} among {len(t)} complete rows; "
                         f"a cut-off search needs at least {MIN_EVENTS}")
    if len(np.unique(x)) < 3:
        raise ValueError(f"{where}: marker {marker!r} has {len(np.unique(x))} distinct value(s); "
                         "a cut-off search needs a continuous marker")
    return t, e, x, dropped


def _cv_groups(t, e, x, fold, folds, method, minprop, x_order=None, t_order=None):
    """Out-of-fold cut-offs and predicted high-risk groups (``nan`` where a training set
    could not be searched)."""
    n = len(t)
    cut = np.full(n, np.nan)
    risk = np.full(n, np.nan)
    x_order = np.argsort(x, kind="stable") if x_order is None else x_order
    t_order = np.argsort(t, kind="stable") if t_order is None else t_order
    for k in range(folds):
        test = fold == k
        train = ~test
        try:
            sel = select_cut(t[train], e[train], x[train], method, minprop,
                             x_order=_suborder(x_order, train), t_order=_suborder(t_order, train))
        except ValueError:
            continue
        high = x[test] > sel.cutoff
        cut[test] = sel.cutoff
        risk[test] = high if sel.direction > 0 else ~high
    return cut, risk


def _folds(rng, n, folds):
    fold = np.empty(n, dtype=int)
    for k, part in enumerate(np.array_split(rng.permutation(n), folds)):
        fold[part] = k
    return fold


def _cv_perm_one(ss, t, e, x, method, minprop, folds, x_order=None, t_order=None):
    """The CV log-rank chi-square after permuting the outcomes against the marker, with a
    new random split: one draw of the CV statistic's null distribution."""
    rng = np.random.default_rng(ss)
    perm = rng.permutation(len(t))
    tp, ep = t[perm], e[perm]
    fold = _folds(rng, len(t), folds)
    _, risk = _cv_groups(tp, ep, x, fold, folds, method, minprop, x_order,
                         None if t_order is None else _permuted_order(t_order, perm))
    ok = ~np.isnan(risk)
    return logrank_chisq(tp[ok], ep[ok], risk[ok])


def cross_validated(t, e, x, *, method="maxstat", minprop=0.1, folds=10, seed=None,
                    permutations: int = 0, jobs=1, scheduler=None, progress=False):
    """Faraggi & Simon (1996) cross-validated groups: split the patients at random into
    ``folds`` folds; in each, choose the cut-off on the other folds and classify the
    held-out patients as high risk if they fall on the side of the cut that had more events
    than expected in the training folds (:attr:`Selection.direction`); fit one Cox model
    and one log-rank test on all out-of-fold groups. ``seed``: an int, ``Generator`` or
    ``SeedSequence`` for the split.

    The plain log-rank p of the out-of-fold groups is **not** a valid test: each patient's
    group depends on the other patients' outcomes and theirs on his, so under no effect it
    rejects far more often than its level (about 15 % at 5 folds and 22 % at 10 in our
    simulations, :func:`null_rejection_rates`; Simon et al. 2011, Brief Bioinform 12:203,
    say the same). With ``permutations > 0`` the whole cross-validation is repeated on
    outcomes permuted against the marker (each with a new split and its own child of
    ``SeedSequence(seed)``) and ``p_permutation = (1 + #{chisq_perm >= chisq}) /
    (1 + permutations)`` is returned.

    Returns a dict: ``groups`` (DataFrame: ``fold``, ``cutoff`` of the training folds,
    ``marker_high`` (1 = marker > cutoff), ``risk_high`` (1 = predicted high-risk side), in
    the input order), ``chisq``, ``p_logrank`` (naive), ``log_hr``, ``se`` (Cox, risk-high vs
    risk-low), ``p_permutation`` (``nan`` without permutations), ``permutations``.
    """
    t = np.asarray(t, dtype=float)
    e = np.asarray(e, dtype=float)
    x = np.asarray(x, dtype=float)
    if isinstance(seed, np.random.Generator):
        rng, ss_perm = seed, np.random.SeedSequence(int(seed.integers(2**63)))
    else:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        ss_split, ss_perm = ss.spawn(2)
        rng = np.random.default_rng(ss_split)
    n = len(t)
    fold = _folds(rng, n, folds)
    cut, risk = _cv_groups(t, e, x, fold, folds, method, minprop)
    groups = pd.DataFrame({"fold": fold, "cutoff": cut, "marker_high": np.where(np.isnan(cut), np.nan, x > cut),
                           "risk_high": risk})
    ok = ~np.isnan(risk)
    chisq, p, lh, se = logrank_cox_binary(t[ok], e[ok], risk[ok])
    p_perm = float("nan")
    if permutations:
        orders = (np.argsort(x, kind="stable"), np.argsort(t, kind="stable"))
        null = np.asarray(run_replicates(_cv_perm_one, ss_perm.spawn(int(permutations)),
                                         (t, e, x, method, minprop, folds) + orders, jobs=jobs, scheduler=scheduler,
                                         progress=progress, desc="cross-validation permutations"), dtype=float)
        null = null[np.isfinite(null)]
        p_perm = float((1 + np.sum(null >= chisq * (1 - _TIE_RTOL))) / (1 + len(null)))
    return dict(groups=groups, chisq=chisq, p_logrank=p, log_hr=lh, se=se, p_permutation=p_perm,
                permutations=int(permutations))


def _row(name, estimate, lower=np.nan, upper=np.nan, p=np.nan, replicates=np.nan, seed=np.nan):
    return dict(name=name, estimate=float(estimate), lower=float(lower), upper=float(upper),
                p=float(p), replicates=replicates, seed=seed)


def report_card(df: pd.DataFrame, time: str, event: str, marker: str, *, method: str = "maxstat",
                minprop: float = 0.1, replicates: int = 1000, seed: int = 20240617, jobs=None,
                scheduler=None, folds: int = 10, n_mc: int = 9999, progress: bool = True
                ) -> ReportCard:
    """The optimism report card of one marker's data-driven cut-off (see the module docstring).

    Parameters
    ----------
    df : DataFrame
        One row per patient; rows missing ``time``, ``event`` or ``marker`` are dropped.
    time, event, marker : str
        Columns: follow-up (>= 0), event (1/0), the continuous marker.
    method : ``"maxstat"`` or ``"minp"``
        How the cut-off is chosen: maxstat's maximally selected log-rank statistic or the
        smallest plain log-rank p (what many papers do).
    minprop : float
        Candidate cuts leave between ``minprop`` and ``1 - minprop`` of the patients in the
        low group.
    replicates : int
        Bootstrap samples, and separately permutations for the null simulation.
    seed : int
        Root of every random number: ``SeedSequence(seed)`` spawns one child for the
        bootstrap, one for the null simulation and one for the CV split, and each of those
        one grandchild per replicate; condMC uses ``seed`` as :func:`maxstat_test` does.
    jobs, scheduler, progress
        Parallel execution (:func:`run_replicates`); results do not depend on them.
    folds : int
        Folds of the Faraggi-Simon cross-validation.
    n_mc : int
        Permutations of maxstat's condMC p-value.

    Returns
    -------
    ReportCard
    """
    if method not in METHODS:
        raise ValueError(f"report_card: method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 0 < minprop < 0.5:
        raise ValueError(f"report_card: minprop must lie in (0, 0.5), got {minprop}")
    if int(replicates) < 1:
        raise ValueError(f"report_card: replicates must be >= 1, got {replicates}")
    if int(folds) < 2:
        raise ValueError(f"report_card: folds must be >= 2, got {folds}")
    replicates, folds, seed = int(replicates), int(folds), int(seed)
    t, e, x, dropped = _arrays(df, time, event, marker)
    n = len(t)
    data = pd.DataFrame({"time": t, "event": e, "marker": x})

    # what the paper prints
    sel = select_cut(t, e, x, method, minprop)
    cut0 = sel.cutoff
    _, p_app, lh_app, se_app = logrank_cox_binary(t, e, x > cut0)
    sign = 1.0 if lh_app >= 0 else -1.0
    z = stats.norm.ppf(0.975)
    ms = maxstat.maxstat_test(data, "time", "event", "marker", minprop=minprop, maxprop=1 - minprop,
                              seed=seed, n_mc=n_mc)
    pv = ms.pvalues.set_index("method")["p"]
    rows = [_row("n_patients", n), _row("n_events", e.sum()), _row("n_candidate_cuts", len(sel.cuts)),
            None,  # cut-off, filled after the bootstrap
            _row("apparent_hr", math.exp(lh_app), math.exp(lh_app - z * se_app),
                 math.exp(lh_app + z * se_app), p_app)]
    for name, key in (("p_lau92", "Lau92"), ("p_lau94", "Lau94"), ("p_exactgauss", "exactGauss")):
        rows.append(_row(name, pv[key], p=pv[key]))
    rows.append(_row("p_condmc", pv["condMC"], p=pv["condMC"], replicates=n_mc, seed=seed))
    for rng_name, prop in (("5_95", 0.05), ("10_90", 0.10)):
        try:
            p_min = maxstat.min_pvalue_search(data, "time", "event", "marker", minprop=prop,
                                              maxprop=1 - prop).p_min
        except ValueError:
            p_min = np.nan
        p_cor = altman_corrected_p(p_min, rng_name) if np.isfinite(p_min) else np.nan
        rows.append(_row(f"p_min_{rng_name}", p_min, p=p_min))
        rows.append(_row(f"p_altman_{rng_name}", p_cor, p=p_cor))

    root = np.random.SeedSequence(seed)
    ss_boot, ss_null, ss_cv = root.spawn(3)

    # null simulation of the whole selection
    orders = (np.argsort(x, kind="stable"), np.argsort(t, kind="stable"))
    res = run_replicates(_null_one, ss_null.spawn(replicates), (t, e, x, method, minprop) + orders, jobs=jobs,
                         scheduler=scheduler, progress=progress, desc="null simulation")
    null = pd.DataFrame(res, columns=["cutoff", "statistic", "log_hr", "p"])
    null.insert(0, "replicate", np.arange(replicates))
    null["hr"] = np.exp(null.pop("log_hr"))
    null["hr_oriented"] = _oriented(np.log(null["hr"]), sign)
    null = null[NULL_COLUMNS]
    ok = null["statistic"].notna()
    n_null = int(ok.sum())
    exceed = int((null.loc[ok, "statistic"] >= sel.statistic * (1 - _TIE_RTOL)).sum())
    rows.append(_row("p_permutation", (1 + exceed) / (1 + n_null), p=(1 + exceed) / (1 + n_null),
                     replicates=n_null, seed=seed))

    # Faraggi-Simon cross-validation
    cv = cross_validated(t, e, x, method=method, minprop=minprop, folds=folds, seed=ss_cv,
                         permutations=replicates, jobs=jobs, scheduler=scheduler, progress=progress)
    groups = cv["groups"]
    lh_cv_or, se_cv = sign * cv["log_hr"], cv["se"]
    rows.append(_row("cv_hr", math.exp(lh_cv_or), math.exp(lh_cv_or - z * se_cv), math.exp(lh_cv_or + z * se_cv),
                     cv["p_permutation"], replicates=replicates, seed=seed))
    rows.append(_row("cv_p_logrank_naive", cv["p_logrank"], p=cv["p_logrank"]))

    # bootstrap
    res = run_replicates(_bootstrap_one, ss_boot.spawn(replicates), (t, e, x, method, minprop, cut0), jobs=jobs,
                         scheduler=scheduler, progress=progress, desc="bootstrap")
    boot = pd.DataFrame(res, columns=["cutoff", "lb", "lo", "lf"])
    boot.insert(0, "replicate", np.arange(replicates))
    fin = boot[["lb", "lo"]].apply(np.isfinite).all(axis=1) & boot["cutoff"].notna()
    sb = np.sign(boot.loc[fin, "lb"]).replace(0, 1)
    optimism = float(np.mean(np.abs(boot.loc[fin, "lb"]) - sb * boot.loc[fin, "lo"]))
    lh_corr = sign * (abs(lh_app) - optimism)
    n_boot = int(fin.sum())
    q = boot.loc[fin, "cutoff"].quantile([0.025, 0.5, 0.975]).to_numpy()
    rows[3] = _row("cutoff", cut0, q[0], q[2], replicates=n_boot, seed=seed)
    hb = _oriented(boot.loc[fin, "lb"], sign)
    rows.append(_row("bootstrap_hr", hb.median(), hb.quantile(0.025), hb.quantile(0.975), replicates=n_boot,
                     seed=seed))
    hf = np.exp(boot["lf"][np.isfinite(boot["lf"])])
    rows.append(_row("bootstrap_hr_fixed_cut", hf.median(), hf.quantile(0.025), hf.quantile(0.975),
                     replicates=int(len(hf)), seed=seed))
    rows.append(_row("bootstrap_optimism", optimism, replicates=n_boot, seed=seed))
    rows.append(_row("bootstrap_corrected_hr", math.exp(lh_corr), replicates=n_boot, seed=seed))
    boot["hr"] = np.exp(boot.pop("lb"))
    boot["hr_original"] = np.exp(boot.pop("lo"))
    boot["hr_fixed_cut"] = np.exp(boot.pop("lf"))
    boot = boot[BOOTSTRAP_COLUMNS]

    # null summaries
    pn = null.loc[ok, "p"]
    k = int((pn < 0.05).sum())
    ci = stats.binomtest(k, n_null).proportion_ci(0.95, method="exact") if n_null else None
    rows.append(_row("null_type1_error", k / n_null if n_null else np.nan, ci.low if ci else np.nan,
                     ci.high if ci else np.nan, replicates=n_null, seed=seed))
    ho = null.loc[ok, "hr_oriented"]
    rows.append(_row("null_median_hr", ho.median(), ho.quantile(0.025), ho.quantile(0.975), replicates=n_null,
                     seed=seed))
    share = float((np.abs(np.log(ho)) >= abs(lh_app) * (1 - _TIE_RTOL)).mean()) if n_null else np.nan
    rows.append(_row("null_share_above_apparent", share, p=share, replicates=n_null, seed=seed))

    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    summary["replicates"] = summary["replicates"].astype("Int64")
    summary["seed"] = summary["seed"].astype("Int64")
    curve = pd.DataFrame({"cut": sel.cuts, "n_low": sel.n_low.astype(int), "n_high": (n - sel.n_low).astype(int),
                          "statistic": sel.curve})
    settings = dict(time=time, event=event, marker=marker, method=method, minprop=minprop, replicates=replicates,
                    seed=seed, folds=folds, n_mc=n_mc, n_dropped=dropped, low_group="marker <= cutoff",
                    orientation="corrected and null HRs in the direction of the apparent HR",
                    bootstrap="Harrell's simple optimism bootstrap (not .632): optimism = mean over samples of "
                              "|log HR| at the cut re-chosen in the sample minus the same cut's log HR in the "
                              "original cohort (same direction); corrected log HR = apparent - optimism",
                    intervals={"apparent_hr": "Wald 95% CI", "cv_hr": "Wald 95% CI of the out-of-fold Cox model",
                               "cutoff": "bootstrap 2.5-97.5 percentiles",
                               "bootstrap_hr": "bootstrap 2.5-97.5 percentiles",
                               "bootstrap_hr_fixed_cut": "bootstrap 2.5-97.5 percentiles",
                               "null_type1_error": "Clopper-Pearson 95% CI",
                               "null_median_hr": "2.5-97.5 percentiles of the null HRs"})
    return ReportCard(summary=summary, curve=curve, bootstrap=boot, null=null, cv=groups, settings=settings)


# ----------------------------------------------------------------------------------------
# the command


#: Files the command writes (besides the marker file).
OUTPUT_FILES = {
    "report_card.csv": "the summary: one row per quantity (name, estimate, lower, upper, p, replicates, seed)",
    "curve.csv": "the selection statistic at every candidate cut",
    "bootstrap.csv": "per bootstrap sample: the re-chosen cut-off and its HRs",
    "null.csv": "per permutation: the cut-off, statistic, HR and log-rank p the procedure reports",
    "cutoff_curve.png": "standardized-statistic curve with the bootstrap cut-off histogram under it",
    "null_hr.png": "null HR distribution against the reported HR",
}


def read_table(path) -> pd.DataFrame:
    """A cohort CSV for the command; the index is the CSV line number (header = line 1), so
    errors name the lines a researcher sees in an editor."""
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"cohort file {path} not found")
    if not path.is_file():
        raise ValueError(f"--cohort {path} is not a file")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: not a readable CSV file ({first})") from None
    df.index = pd.RangeIndex(2, len(df) + 2, name="line")
    return df


def run_command(cohort, time: str, event: str, marker: str, out, *, force: bool = False,
                method: str = "maxstat", minprop: float = 0.1, replicates: int = 1000,
                seed: int = 20240617, jobs=None, scheduler=None, folds: int = 10,
                progress: bool = True) -> ReportCard:
    """``python -m helpers optimism``: the report card of one marker in a CSV file, written
    to the new folder ``out`` (:data:`OUTPUT_FILES`). ``out`` must not exist unless ``force``
    (and then only a folder an earlier command made is replaced)."""
    import json
    import shutil
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plots, run

    cohort = Path(cohort)
    df = read_table(cohort)
    out = run.check_out(out, cohort.expanduser().resolve(), force)
    try:
        card = report_card(df, time, event, marker, method=method, minprop=minprop, replicates=replicates,
                           seed=seed, jobs=jobs, scheduler=scheduler, folds=folds, progress=progress)
    except ValueError as exc:
        msg = str(exc).replace("report_card: ", "").replace("maxstat_test: ", "")
        raise ValueError(f"{cohort} (rows are CSV line numbers): {msg}") from None
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / run.MARKER).write_text("made by python -m helpers optimism; --force may replace this folder\n")
    card.summary.to_csv(out / "report_card.csv", index=False)
    card.curve.to_csv(out / "curve.csv", index=False)
    card.bootstrap.to_csv(out / "bootstrap.csv", index=False)
    card.null.to_csv(out / "null.csv", index=False)
    settings = dict(card.settings, cohort=str(cohort), files=OUTPUT_FILES)
    (out / "settings.json").write_text(json.dumps(settings, indent=2, default=str) + "\n")
    x = card.curve["cut"]
    log_x = bool((x > 0).all() and x.max() / x.min() > 50)
    fig = plots.optimism_cutoff_plot(card.curve, card.bootstrap, card.value("cutoff"), log_x=log_x,
                                     title=f"{marker}: {method} cut-off for {time}")
    fig.savefig(out / "cutoff_curve.png")
    plt.close(fig)
    ax = plots.null_hr_plot(card.null, card.value("apparent_hr"),
                            title=f"{marker}: HRs the search finds with permuted outcomes")
    ax.figure.savefig(out / "null_hr.png")
    plt.close(ax.figure)
    return card


def format_card(card: ReportCard) -> str:
    """A few plain lines for the terminal."""
    v = card.value
    s = card.summary.set_index("name")

    def p(x):
        return "<0.001" if x < 0.001 else f"{x:.3f}"

    lines = [
        f"cut-off ({card.settings['method']}): {v('cutoff'):.4g} "
        f"(bootstrap 95% range {v('cutoff', 'lower'):.4g}-{v('cutoff', 'upper'):.4g})",
        f"apparent HR {v('apparent_hr'):.2f} ({v('apparent_hr', 'lower'):.2f}-{v('apparent_hr', 'upper'):.2f}), "
        f"log-rank p {p(v('apparent_hr', 'p'))}",
        "corrected p: " + ", ".join(f"{k} {p(s.loc[k, 'estimate'])}" for k in
                                     ("p_lau94", "p_exactgauss", "p_condmc", "p_altman_10_90", "p_permutation")),
        f"cross-validated HR {v('cv_hr'):.2f}; bootstrap optimism-corrected HR {v('bootstrap_corrected_hr'):.2f}",
        f"null simulation: type I error {v('null_type1_error'):.3f}, median HR {v('null_median_hr'):.2f}",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# procedures on null cohorts

#: Procedures compared by :func:`null_rejection_rates`.
NULL_PROCEDURES = {
    "minp": "smallest plain log-rank p over the cuts (uncorrected)",
    "lau94": "maxstat, Lausen-Sauerbrei-Schumacher 1994 bound",
    "exactgauss": "maxstat, exact Gaussian limit",
    "condmc": "maxstat, conditional Monte Carlo (permutation)",
    "altman_10_90": "Altman et al. 1994 correction of the minimum p (10-90 %)",
    "cv": "Faraggi-Simon cross-validated groups, permutation p of the whole cross-validation",
    "cv_naive": "Faraggi-Simon cross-validated groups, plain log-rank p (not valid)",
    "prespecified": "a cut-off fixed in advance (the marker's population median), log-rank p",
}
NULL_RATE_COLUMNS = ["procedure", "description", "rejections", "cohorts", "rate", "mc_se", "lower", "upper"]


def simulate_cohort(n: int, rng, *, hr: float = 1.0, cut: float = 12.0, censor_max: float = 36.0
                    ) -> pd.DataFrame:
    """A simulated cohort: log-normal marker (median 12, 2 decimals), exponential event
    times (median 14 months below ``cut``, hazard ``hr`` times higher above it), uniform
    censoring on ``[3, censor_max]`` months, times at 0.1 month. ``hr = 1``: the marker says
    nothing about survival."""
    marker = np.round(np.exp(rng.normal(math.log(12), 1.0, n)), 2)
    rate = np.where(marker > cut, hr, 1.0) * math.log(2) / 14
    t_event = rng.exponential(1 / rate)
    t_cens = rng.uniform(3, censor_max, n)
    time = np.maximum(0.1, np.round(np.minimum(t_event, t_cens), 1))
    return pd.DataFrame({"time": time, "event": (t_event <= t_cens).astype(int), "marker": marker})


def simulate_null_cohort(n: int, rng, *, censor_max: float = 36.0) -> pd.DataFrame:
    """:func:`simulate_cohort` with no marker effect."""
    return simulate_cohort(n, rng, hr=1.0, censor_max=censor_max)


def _null_cohort_one(ss, n, minprop, n_mc, folds, n_cv_perm, hr=1.0, procs=tuple(NULL_PROCEDURES)):
    rng = np.random.default_rng(ss)
    d = simulate_cohort(n, rng, hr=hr)
    t, e, x = (d[c].to_numpy(dtype=float) for c in ("time", "event", "marker"))
    wanted = {"lau94": "Lau94", "exactgauss": "exactGauss", "condmc": "condMC"}
    pmethods = tuple(m for k, m in wanted.items() if k in procs)
    ms = maxstat.maxstat_test(d, "time", "event", "marker", minprop=minprop, maxprop=1 - minprop,
                              pmethods=pmethods, n_mc=n_mc, seed=int(rng.integers(2**31)))
    out = {k: ms.p(m) for k, m in wanted.items() if k in procs}
    if "minp" in procs or "altman_10_90" in procs:
        p_min = maxstat.min_pvalue_search(d, "time", "event", "marker", minprop=minprop, maxprop=1 - minprop).p_min
        out["minp"], out["altman_10_90"] = p_min, altman_corrected_p(p_min, "10_90")
    if "cv" in procs or "cv_naive" in procs:
        cv = cross_validated(t, e, x, minprop=minprop, folds=folds, seed=ss.spawn(1)[0],
                             permutations=n_cv_perm if "cv" in procs else 0)
        out["cv"], out["cv_naive"] = cv["p_permutation"], cv["p_logrank"]
    if "prespecified" in procs:
        out["prespecified"] = logrank_cox_binary(t, e, x > 12.0)[1]
    return tuple(out[k] for k in procs)


def null_rejection_rates(n: int = 100, cohorts: int = 200, *, seed: int = 20240617, alpha: float = 0.05,
                         minprop: float = 0.1, n_mc: int = 199, folds: int = 5, n_cv_perm: int = 99,
                         hr: float = 1.0, procedures=None, jobs=1, scheduler=None, progress: bool = False
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type I error of each procedure in :data:`NULL_PROCEDURES` on ``cohorts`` simulated
    cohorts of ``n`` patients with no marker effect (:func:`simulate_cohort`), each from its
    own child of ``SeedSequence(seed)``. With ``hr != 1`` the cohorts have a true step of
    that HR at the marker's median (the pre-specified cut), and the rates are powers.

    Returns ``(rates, pvalues)``: ``rates`` one row per procedure (:data:`NULL_RATE_COLUMNS`:
    the share of cohorts with p < ``alpha``, its Monte Carlo standard error
    ``sqrt(rate (1 - rate) / cohorts)`` and the Clopper-Pearson 95% CI); ``pvalues`` one row
    per cohort and procedure. The cross-validation's p is its permutation p over
    ``n_cv_perm`` permutations (its smallest possible value is ``1 / (n_cv_perm + 1)``).
    ``procedures``: a subset of :data:`NULL_PROCEDURES` (default all; the cross-validation's
    permutations and exactGauss cost the most).
    """
    procs = tuple(NULL_PROCEDURES) if procedures is None else tuple(procedures)
    unknown = [p for p in procs if p not in NULL_PROCEDURES]
    if unknown:
        raise ValueError(f"unknown procedure(s) {unknown}; expected any of {', '.join(NULL_PROCEDURES)}")
    seeds = np.random.SeedSequence(seed).spawn(int(cohorts))
    res = run_replicates(_null_cohort_one, seeds, (int(n), minprop, int(n_mc), int(folds), int(n_cv_perm), float(hr), procs),
                         jobs=jobs,
                         scheduler=scheduler, progress=progress, desc="null cohorts")
    names = list(procs)
    pvals = pd.DataFrame(res, columns=names)
    pvals.insert(0, "cohort", np.arange(len(pvals)))
    rows = []
    for name in names:
        p = pvals[name].dropna()
        k, m = int((p < alpha).sum()), len(p)
        ci = stats.binomtest(k, m).proportion_ci(0.95, method="exact")
        rate = k / m
        rows.append(dict(procedure=name, description=NULL_PROCEDURES[name], rejections=k, cohorts=m, rate=rate,
                         mc_se=math.sqrt(rate * (1 - rate) / m), lower=ci.low, upper=ci.high))
    long = pvals.melt(id_vars="cohort", var_name="procedure", value_name="p")
    return pd.DataFrame(rows, columns=NULL_RATE_COLUMNS), long


# ----------------------------------------------------------------------------------------
# whole procedures (e.g. a score built from several data-driven cut-offs)

PROCEDURE_NAMES = ("n_patients", "n_events", "apparent_hr", "p_permutation", "cv_hr", "cv_p_logrank_naive",
                   "bootstrap_optimism", "bootstrap_corrected_hr", "null_type1_error", "null_median_hr",
                   "null_share_above_apparent")


def _hr_of_rule(fit, predict, kwargs, t, e, X, t_eval, e_eval, X_eval):
    """Fit the rule on (t, e, X) and return the log HR, its log-rank chisq and p on the
    evaluation data."""
    rule = fit(t, e, X, **kwargs)
    g = predict(rule, X_eval)
    ok = ~np.isnan(g)
    if ok.sum() < 2:
        return np.nan, np.nan, np.nan
    chisq, p, lh, _ = logrank_cox_binary(t_eval[ok], e_eval[ok], g[ok])
    return lh, chisq, p


def _proc_null_one(ss, fit, predict, kwargs, t, e, X):
    rng = np.random.default_rng(ss)
    perm = rng.permutation(len(t))
    tp, ep = t[perm], e[perm]
    return _hr_of_rule(fit, predict, kwargs, tp, ep, X, tp, ep, X)


def _proc_boot_one(ss, fit, predict, kwargs, t, e, X):
    rng = np.random.default_rng(ss)
    idx = rng.integers(0, len(t), len(t))
    rule = fit(t[idx], e[idx], X[idx], **kwargs)
    out = []
    for tt, ee, XX in ((t[idx], e[idx], X[idx]), (t, e, X)):
        g = predict(rule, XX)
        ok = ~np.isnan(g)
        out.append(logrank_cox_binary(tt[ok], ee[ok], g[ok])[2] if ok.sum() > 1 else np.nan)
    return tuple(out)


def _proc_cv(rng, fit, predict, kwargs, t, e, X, folds):
    n = len(t)
    fold = _folds(rng, n, folds)
    g = np.full(n, np.nan)
    for k in range(folds):
        test = fold == k
        try:
            rule = fit(t[~test], e[~test], X[~test], **kwargs)
        except ValueError:
            continue
        g[test] = predict(rule, X[test])
    return g


def _proc_cv_perm_one(ss, fit, predict, kwargs, t, e, X, folds):
    rng = np.random.default_rng(ss)
    perm = rng.permutation(len(t))
    tp, ep = t[perm], e[perm]
    g = _proc_cv(rng, fit, predict, kwargs, tp, ep, X, folds)
    ok = ~np.isnan(g)
    return logrank_chisq(tp[ok], ep[ok], g[ok])


def procedure_card(fit, predict, time, event, X, *, fit_kwargs=None, replicates: int = 1000,
                   seed: int = 20240617, folds: int = 10, jobs=None, scheduler=None, progress: bool = True
                   ) -> ReportCard:
    """The optimism report card of a whole data-driven procedure that turns markers into a
    high/low group, e.g. PBIS (:func:`helpers.studies.pbis.pbis_fit` and ``pbis_predict``).

    ``fit(time, event, X, **fit_kwargs) -> rule`` runs every data-driven step; ``predict(rule,
    X) -> group`` (1 = high, 0 = low, ``nan`` = unclassified) applies the rule. Both must be
    module-level functions (they are sent to worker processes). HRs compare the procedure's
    high group with its low group (the procedure decides the direction). Rows
    (:data:`PROCEDURE_NAMES`) as in :func:`report_card`: the apparent HR (Wald CI, log-rank
    p), the permutation p of the whole procedure (outcomes permuted against the markers,
    statistic: the log-rank chi-square of the groups it makes), the cross-validated HR
    (permutation p of the whole cross-validation), the optimism bootstrap, and the null
    type I error and HRs. Seeds as in :func:`report_card`.
    """
    kwargs = dict(fit_kwargs or {})
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    replicates, seed = int(replicates), int(seed)
    n = len(t)
    z = stats.norm.ppf(0.975)
    rule = fit(t, e, X, **kwargs)
    g = predict(rule, X)
    ok = ~np.isnan(g)
    chisq0, p0, lh0, se0 = logrank_cox_binary(t[ok], e[ok], g[ok])
    rows = [_row("n_patients", n), _row("n_events", e.sum()),
            _row("apparent_hr", math.exp(lh0), math.exp(lh0 - z * se0), math.exp(lh0 + z * se0), p0)]
    ss_boot, ss_null, ss_cv = np.random.SeedSequence(seed).spawn(3)
    args = (fit, predict, kwargs, t, e, X)
    res = run_replicates(_proc_null_one, ss_null.spawn(replicates), args, jobs=jobs, scheduler=scheduler,
                         progress=progress, desc="null simulation")
    null = pd.DataFrame(res, columns=["log_hr", "statistic", "p"])
    null.insert(0, "replicate", np.arange(replicates))
    null["hr"] = np.exp(null.pop("log_hr"))
    okn = null["statistic"].notna()
    n_null = int(okn.sum())
    exceed = int((null.loc[okn, "statistic"] >= chisq0 * (1 - _TIE_RTOL)).sum())
    rows.append(_row("p_permutation", (1 + exceed) / (1 + n_null), p=(1 + exceed) / (1 + n_null),
                     replicates=n_null, seed=seed))
    ss_split, ss_perm = ss_cv.spawn(2)
    gcv = _proc_cv(np.random.default_rng(ss_split), fit, predict, kwargs, t, e, X, folds)
    okc = ~np.isnan(gcv)
    chisq_cv, p_cv_naive, lh_cv, se_cv = logrank_cox_binary(t[okc], e[okc], gcv[okc])
    perm = np.asarray(run_replicates(_proc_cv_perm_one, ss_perm.spawn(replicates), args + (folds,), jobs=jobs,
                                     scheduler=scheduler, progress=progress, desc="cross-validation permutations"),
                      dtype=float)
    perm = perm[np.isfinite(perm)]
    p_cv = float((1 + np.sum(perm >= chisq_cv * (1 - _TIE_RTOL))) / (1 + len(perm)))
    rows.append(_row("cv_hr", math.exp(lh_cv), math.exp(lh_cv - z * se_cv), math.exp(lh_cv + z * se_cv), p_cv,
                     replicates=len(perm), seed=seed))
    rows.append(_row("cv_p_logrank_naive", p_cv_naive, p=p_cv_naive))
    res = run_replicates(_proc_boot_one, ss_boot.spawn(replicates), args, jobs=jobs, scheduler=scheduler,
                         progress=progress, desc="bootstrap")
    boot = pd.DataFrame(res, columns=["lb", "lo"])
    fin = np.isfinite(boot["lb"]) & np.isfinite(boot["lo"])
    optimism = float(np.mean(boot.loc[fin, "lb"] - boot.loc[fin, "lo"]))
    rows.append(_row("bootstrap_optimism", optimism, replicates=int(fin.sum()), seed=seed))
    rows.append(_row("bootstrap_corrected_hr", math.exp(lh0 - optimism), replicates=int(fin.sum()), seed=seed))
    boot.insert(0, "replicate", np.arange(replicates))
    boot["hr"] = np.exp(boot.pop("lb"))
    boot["hr_original"] = np.exp(boot.pop("lo"))
    pn = null.loc[okn, "p"]
    k = int((pn < 0.05).sum())
    ci = stats.binomtest(k, n_null).proportion_ci(0.95, method="exact")
    rows.append(_row("null_type1_error", k / n_null, ci.low, ci.high, replicates=n_null, seed=seed))
    hn = null.loc[okn, "hr"]
    rows.append(_row("null_median_hr", hn.median(), hn.quantile(0.025), hn.quantile(0.975), replicates=n_null,
                     seed=seed))
    share = float((hn >= math.exp(lh0) * (1 - _TIE_RTOL)).mean())
    rows.append(_row("null_share_above_apparent", share, p=share, replicates=n_null, seed=seed))
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    summary["replicates"] = summary["replicates"].astype("Int64")
    summary["seed"] = summary["seed"].astype("Int64")
    cv = pd.DataFrame({"group": gcv})
    settings = dict(replicates=replicates, seed=seed, folds=folds, rule=rule,
                    bootstrap="Harrell's simple optimism bootstrap: optimism = mean(log HR of the procedure re-run "
                              "in the sample, on the sample - the same rule's log HR in the original cohort)")
    return ReportCard(summary=summary, curve=pd.DataFrame(columns=CURVE_COLUMNS), bootstrap=boot,
                      null=null[["replicate", "statistic", "hr", "p"]], cv=cv, settings=settings)


# ----------------------------------------------------------------------------------------
# a table for people

#: Human labels of the summary rows.
ROW_LABELS = {
    "n_patients": "Patients", "n_events": "Events", "n_candidate_cuts": "Candidate cut-offs",
    "cutoff": "Cut-off (high = marker above it)",
    "apparent_hr": "Apparent HR, high vs low (log-rank p)",
    "p_lau92": "p, maxstat Lausen & Schumacher 1992", "p_lau94": "p, maxstat Lausen et al. 1994",
    "p_exactgauss": "p, maxstat exact Gauss", "p_condmc": "p, maxstat conditional Monte Carlo",
    "p_min_5_95": "Minimum p, cuts in 5-95 % (uncorrected)",
    "p_altman_5_95": "p, Altman et al. 1994 correction (5-95 %)",
    "p_min_10_90": "Minimum p, cuts in 10-90 % (uncorrected)",
    "p_altman_10_90": "p, Altman et al. 1994 correction (10-90 %)",
    "p_permutation": "p, permutation of the whole selection",
    "cv_hr": "Cross-validated HR, Faraggi & Simon (permutation p)",
    "cv_p_logrank_naive": "Plain log-rank p of the cross-validated groups (not valid)",
    "bootstrap_hr": "HR at the cut-off re-chosen in bootstrap samples",
    "bootstrap_hr_fixed_cut": "HR at the apparent cut-off in bootstrap samples",
    "bootstrap_optimism": "Bootstrap optimism (log HR)",
    "bootstrap_corrected_hr": "Optimism-corrected HR (Harrell's simple optimism bootstrap)",
    "null_type1_error": "Type I error of the selection (no marker effect)",
    "null_median_hr": "Median HR the selection reports with no marker effect",
    "null_share_above_apparent": "Share of null HRs at least as far from 1 as the apparent HR",
}
_P_ROWS = {"p_lau92", "p_lau94", "p_exactgauss", "p_condmc", "p_min_5_95", "p_altman_5_95", "p_min_10_90",
           "p_altman_10_90", "p_permutation", "cv_p_logrank_naive"}
_SHARE_ROWS = {"null_type1_error", "null_share_above_apparent"}
_COUNT_ROWS = {"n_patients", "n_events", "n_candidate_cuts"}


def display_table(summary: pd.DataFrame, names=None) -> pd.DataFrame:
    """The summary rows ``names`` (default all) as text for a page: ``Quantity`` (human
    label), ``Estimate``, ``95% interval``, ``p`` (``<0.001`` or 3 decimals), ``Replicates``."""
    from .results import fmt_p

    def format_p(p):
        return fmt_p(p, prefix=False)

    s = summary.set_index("name")
    nums = s[["estimate", "lower", "upper", "p"]].astype(float)
    names = list(s.index) if names is None else list(names)
    rows = []
    for name in names:
        est, lo, hi, p = nums.loc[name]
        reps = s.loc[name, "replicates"]
        if name in _P_ROWS:
            e_txt, p_txt = format_p(est), ""
        elif name in _SHARE_ROWS:
            e_txt = f"{100 * est:.1f} %"
            p_txt = ""
        elif name in _COUNT_ROWS:
            e_txt, p_txt = f"{est:.0f}", ""
        else:
            e_txt, p_txt = (f"{est:.4g}" if name == "cutoff" else f"{est:.2f}"), format_p(p)
        if np.isfinite(lo) and np.isfinite(hi):
            ci = (f"{100 * lo:.1f}–{100 * hi:.1f} %" if name in _SHARE_ROWS else
                  f"{lo:.4g}–{hi:.4g}" if name == "cutoff" else f"{lo:.2f}–{hi:.2f}")
        else:
            ci = ""
        rows.append({"Quantity": ROW_LABELS.get(name, name), "Estimate": e_txt, "95% interval": ci, "p": p_txt,
                     "Replicates": "" if pd.isna(reps) else f"{int(reps):,}"})
    return pd.DataFrame(rows, columns=["Quantity", "Estimate", "95% interval", "p", "Replicates"])


def bootstrap_regions(bootstrap: pd.DataFrame, marker, cutoff: float, bins: int = 10) -> pd.DataFrame:
    """How often the bootstrap search chose a cut-off in each region of the marker: the
    regions are the ``bins`` quantile groups of ``marker`` (deciles by default; a cut-off
    equal to a boundary belongs to the region below it, as "low = marker <= cut").
    Columns ``region`` (text), ``lower``, ``upper``, ``share`` (of the bootstrap samples with
    a cut-off), ``contains_cutoff`` (the region of ``cutoff``)."""
    x = np.asarray(pd.Series(marker).dropna(), dtype=float)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    cuts = bootstrap["cutoff"].dropna().to_numpy(dtype=float)
    inner = edges[1:-1]
    idx = np.searchsorted(inner, cuts, side="left")
    counts = np.bincount(idx, minlength=len(edges) - 1)
    home = int(np.searchsorted(inner, cutoff, side="left"))
    rows = [dict(region=f"{lo:.3g}–{hi:.3g}", lower=lo, upper=hi,
                 share=counts[i] / max(len(cuts), 1), contains_cutoff=(i == home))
            for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))]
    return pd.DataFrame(rows, columns=["region", "lower", "upper", "share", "contains_cutoff"])
