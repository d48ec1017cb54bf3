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
    "cv_hr", "bootstrap_hr", "bootstrap_hr_fixed_cut", "bootstrap_optimism",
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
    increases), and everything is capped at 1. Accepts a number or an array.
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
    out = np.minimum(out, 1.0)
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------------------
# fast two-group survival primitives


def logrank_cox_binary(time, event, group) -> tuple[float, float, float, float]:
    """Two-group log-rank chi-square (R ``survdiff``) and the univariable Efron Cox fit of
    ``group`` (1 vs 0), in one pass over the sorted times.

    Returns ``(chisq, p_logrank, log_hr, se)``; ``log_hr``/``se`` are ``nan`` if a group is
    empty, ``+-inf``-like large values (|log HR| capped at 30) when one group has no events
    (R warns "coefficient may be infinite" there). Equal to :func:`helpers.survival.logrank`
    and :func:`helpers.survival.cox` (tests); written out for speed, since the report card
    calls it thousands of times.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    g = np.asarray(group, dtype=float)
    n1 = g.sum()
    if n1 == 0 or n1 == len(g) or e.sum() == 0:
        return float("nan"), float("nan"), float("nan"), float("nan")
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
    r0, d0 = r - r1, d - d1
    o_e = float(np.sum(d1 - r1 * d / r))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(r > 1, r1 * r0 * d * (r - d) / (r * r * (r - 1)), 0.0)
    var = float(v.sum())
    chisq = o_e * o_e / var if var > 0 else float("nan")
    p_lr = float(special.chdtrc(1, chisq)) if var > 0 else float("nan")
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
        if abs(step) < 1e-10 or abs(beta) > 30:
            break
    beta = max(-30.0, min(30.0, beta))
    eb = math.exp(beta)
    den = A + B * eb
    info = float(np.sum(A * B * eb / (den * den)))
    se = 1 / math.sqrt(info) if info > 0 else float("inf")
    return chisq, p_lr, beta, se


# ----------------------------------------------------------------------------------------
# the selection


@dataclass
class Selection:
    """One cut-off search on arrays: ``cutoff`` (low = marker <= cutoff), the selection
    ``statistic`` at it (maxstat: standardized log-rank statistic; minp: sqrt of the
    log-rank chi-square), and the curve over all candidate cuts."""

    cutoff: float
    statistic: float
    cuts: np.ndarray
    n_low: np.ndarray
    curve: np.ndarray


def select_cut(time, event, marker, method: str = "maxstat", minprop: float = 0.1) -> Selection:
    """Choose a cut-off as a paper would, on arrays (no missing values).

    ``method="maxstat"``: R ``maxstat.test(..., smethod = "LogRank")``'s maximally selected
    standardized statistic (:mod:`helpers.maxstat`); ``"minp"``: the smallest plain
    log-rank p (:func:`helpers.maxstat.logrank_chisq_all_cuts`). Candidate cuts keep between
    ``minprop`` and ``1 - minprop`` of the patients in the low group (maxstat's rule); ties
    go to the lowest cut.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    x = np.asarray(marker, dtype=float)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    m = maxstat._candidate_m(xs, minprop, 1 - minprop)
    if method == "maxstat":
        scores = maxstat.logrank_scores(t, e)[order]
        expect, var = maxstat._moments(scores, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.abs((np.cumsum(scores)[m - 1] - expect) / np.sqrt(var))
    elif method == "minp":
        chisq = maxstat.logrank_chisq_all_cuts(t, e, order, m)
        stat = np.sqrt(chisq)
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not np.any(np.isfinite(stat)):
        raise ValueError("the log-rank statistic is undefined at every cut (no events?)")
    best = float(np.nanmax(stat))
    i = int(np.flatnonzero(stat >= best * (1 - _TIE_RTOL))[0])
    return Selection(cutoff=float(xs[m[i] - 1]), statistic=best, cuts=xs[m - 1], n_low=m, curve=stat)


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


def _null_one(ss, t, e, x, method, minprop):
    rng = np.random.default_rng(ss)
    perm = rng.permutation(len(t))
    tn, en = t[perm], e[perm]
    try:
        sel = select_cut(tn, en, x, method, minprop)
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
    n_jobs = os.cpu_count() or 1 if jobs is None else int(jobs)
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
    if n_events < MIN_EVENTS:
        raise ValueError(f"{where}: {n_events} events in {event!r} among {len(t)} complete rows; "
                         f"a cut-off search needs at least {MIN_EVENTS}")
    if len(np.unique(x)) < 3:
        raise ValueError(f"{where}: marker {marker!r} has {len(np.unique(x))} distinct value(s); "
                         "a cut-off search needs a continuous marker")
    return t, e, x, dropped


def cross_validated(t, e, x, *, method="maxstat", minprop=0.1, folds=10, seed=None):
    """Faraggi & Simon (1996) cross-validated groups: split the patients at random into
    ``folds`` folds; in each, choose the cut-off on the other folds and classify the
    held-out patients as high risk if they fall on the side of the cut that had the higher
    hazard in the training folds; fit one Cox model (and one log-rank test) on all
    out-of-fold groups. ``seed``: an int or ``SeedSequence`` for the split.

    Returns ``(groups, chisq, p_logrank, log_hr, se)``; ``groups`` is a DataFrame with
    ``fold``, ``cutoff`` (of the training folds), ``marker_high`` (1 = marker > cutoff) and
    ``risk_high`` (1 = predicted high-risk side), in the input order.
    """
    rng = np.random.default_rng(seed)
    n = len(t)
    fold = np.empty(n, dtype=int)
    for k, part in enumerate(np.array_split(rng.permutation(n), folds)):
        fold[part] = k
    cut = np.full(n, np.nan)
    risk = np.full(n, np.nan)
    for k in range(folds):
        test = fold == k
        train = ~test
        try:
            sel = select_cut(t[train], e[train], x[train], method, minprop)
        except ValueError:
            continue
        _, _, lh, _ = logrank_cox_binary(t[train], e[train], x[train] > sel.cutoff)
        high = x[test] > sel.cutoff
        cut[test] = sel.cutoff
        risk[test] = high if not (lh < 0) else ~high
    groups = pd.DataFrame({"fold": fold, "cutoff": cut, "marker_high": (x > cut).astype(float),
                           "risk_high": risk})
    ok = ~np.isnan(risk)
    chisq, p, lh, se = logrank_cox_binary(t[ok], e[ok], risk[ok])
    return groups, chisq, p, lh, se


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
    res = run_replicates(_null_one, ss_null.spawn(replicates), (t, e, x, method, minprop), jobs=jobs,
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
    groups, _, p_cv, lh_cv, se_cv = cross_validated(t, e, x, method=method, minprop=minprop, folds=folds,
                                                     seed=ss_cv)
    lh_cv_or = sign * lh_cv
    rows.append(_row("cv_hr", math.exp(lh_cv_or), math.exp(lh_cv_or - z * se_cv), math.exp(lh_cv_or + z * se_cv),
                     p_cv, replicates=folds, seed=seed))

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
