"""Propensity-score matching with R ``MatchIt`` conventions.

``matchit(treat ~ covariates, method = "nearest", distance = "glm", caliper = 0.2,
replace = FALSE, ratio = 1, m.order = "largest")``, read from MatchIt 4.5.1's source
(``matchit2nearest``, ``process.caliper``, ``nn_matchC_vec``, ``summary.matchit``):

- **Propensity score** (:func:`propensity_score`): fitted probabilities of a logistic
  model ``glm(treat ~ covariates, family = binomial)`` with an intercept; categorical
  covariates dummy-coded against their first level, fitted by the book's one logistic fit
  (:func:`helpers.regression.fit_logistic`, statsmodels); scores agree with R's ``glm`` to
  about R's own convergence tolerance (checked against the MatchIt fixtures).
- **Match order** (``m.order = "largest"``, the default for a propensity score and the ATT):
  treated units are matched one at a time in descending order of their score; ties keep
  data order (R's ``order(decreasing = TRUE)`` is stable).
- **Nearest control**: all units are sorted by score (stable); for a treated unit the nearest
  still-unused control below it and above it in that order are found, and the lower one wins
  a tie in distance (``<=``). Among controls with *identical* scores this picks the one
  nearest in sort order: the last in data order when they lie below the treated unit, the
  first when above.
- **Caliper**: ``caliper`` standard deviations of the propensity score itself (not its
  logit), the SD taken over all units (``sd(distance)``, n - 1 denominator; MatchIt's
  ``std.caliper = TRUE``). A control is acceptable when ``|ps_t - ps_c| <= caliper * sd``;
  treated units with no acceptable unused control are dropped (unmatched).
- **Balance** (:func:`balance_table`): MatchIt ``summary()``: means by group before and
  after matching; standardized mean difference = (mean treated - mean control) / SD of the
  treated group *in the full sample* (the same denominator before and after matching); for
  a binary 0/1 covariate that SD is ``sqrt(p (1 - p))``; a categorical covariate gets one
  row per level (all levels, as MatchIt's ``summary`` expands factors).

Known defect in MatchIt 4.5.1 (the version installed for the R reference values): its fast
``nn_matchC_vec`` routine never applies the distance caliper and does not pick the nearest
control either: its C++ ``abs()`` of a score difference truncates to an integer, so every
difference below 1 counts as 0, no pair is ever outside the caliper, and the left
(lower-score) candidate always wins the "tie". Upstream issue #163 ("Caliper not working as
intended on versions 4.5.1 - 4.5.3"). Verified here: on ``lalonde`` 4.5.1 keeps all 185
treated units, 142 of the pairs lie outside the caliper, and all 185 pairs equal "next unused
control below". This module implements the documented algorithm (as MatchIt <= 4.5.0 and the
fixed versions); ``matchit_451_defect=True`` reproduces the defective output. The tests check
all three against R (``tests/fixtures/matching/make_matching.R`` explains how the correct
results were obtained from MatchIt's general routine ``nn_matchC``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import regression

BALANCE_COLUMNS = ["variable", "mean_treated", "mean_control", "smd_before",
                   "mean_treated_matched", "mean_control_matched", "smd_after"]

#: Columns of :func:`matching_summary` (MatchIt's "Sample Sizes" table).
SAMPLE_SIZE_COLUMNS = ["sample", "control", "treated"]

_EPS = np.finfo(float).eps
_SQRT_EPS = np.sqrt(_EPS)


# --------------------------------------------------------------------------- input checks
def _check_input(df: pd.DataFrame, treatment: str, covariates: list[str]) -> pd.Series:
    """The 0/1 treatment as an int Series; readable errors for anything else."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in [treatment, *covariates] if c not in df.columns]
    if missing:
        raise ValueError(f"matching: column(s) {missing} not in the data "
                         f"(columns present: {list(df.columns)})")
    if not df.index.is_unique:
        raise ValueError("matching: the DataFrame index must be unique (it identifies the "
                         "matched rows); call .reset_index(drop=True) first")
    for col in [treatment, *covariates]:
        bad = df.index[df[col].isna()]
        if len(bad):
            raise ValueError(f"matching: column '{col}' has missing values in rows "
                             f"{list(bad[:10])}{' ...' if len(bad) > 10 else ''}; MatchIt does "
                             "not allow missing covariates: drop or impute these rows first")
    t = df[treatment]
    if t.dtype == bool:
        t = t.astype(int)
    ok = t.isin([0, 1])
    if not ok.all():
        raise ValueError(f"matching: treatment column '{treatment}' must be 0/1; rows "
                         f"{list(df.index[~ok][:10])} hold {list(t[~ok].unique()[:5])}")
    t = t.astype(int)
    if t.nunique() < 2:
        raise ValueError(f"matching: treatment column '{treatment}' has only one group")
    return t


def design_matrix(df: pd.DataFrame, covariates: list[str], *, full_dummies: bool = False
                  ) -> pd.DataFrame:
    """Numeric columns for ``covariates`` (:func:`helpers.regression.design_matrix`, the book's
    one builder): numbers and booleans as they are; categorical (object / string / category)
    one 0/1 column per level named ``<var>_<level>``, the first level dropped (R treatment
    contrasts) unless ``full_dummies`` (MatchIt ``summary``)."""
    X, _ = regression.design_matrix(df, covariates, what="matching", full_dummies=full_dummies,
                                    dummy_name="{column}_{level}")
    return X


# --------------------------------------------------------------------------- propensity score
def propensity_score(df: pd.DataFrame, treatment: str, covariates: list[str]) -> pd.Series:
    """Fitted probabilities of ``treatment`` (0/1) from a logistic model (MatchIt
    ``distance = "glm"``): intercept + ``covariates`` (categorical ones dummy-coded against
    their first level), fitted by :func:`helpers.regression.fit_logistic`. Returns a Series named
    ``distance`` on ``df``'s index. Raises ``ValueError`` if the fit does not converge in 25
    iterations (R would warn) or the design is rank-deficient (R would drop a column)."""
    t = _check_input(df, treatment, covariates)
    Xd = design_matrix(df, covariates)
    X = np.column_stack([np.ones(len(df)), Xd.to_numpy(dtype=float)])
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ValueError(f"propensity_score: the covariates {covariates} are collinear "
                         f"(design rank {rank} < {X.shape[1]} columns {['(Intercept)', *Xd.columns]})")
    fit = regression.fit_logistic(Xd, t.to_numpy(dtype=float), epsilon=1e-8, maxiter=25)  # glm.control()
    mu, converged = np.asarray(fit.fittedvalues), bool(fit.converged)
    if not converged:
        raise ValueError("propensity_score: the logistic model did not converge in 25 "
                         "iterations (complete separation?): simplify the covariates")
    return pd.Series(mu, index=df.index, name="distance")


# --------------------------------------------------------------------------- matching
def _resolve_distance(df, treatment, covariates, distance) -> pd.Series:
    if distance is None:
        return propensity_score(df, treatment, covariates)
    if isinstance(distance, str):
        if distance not in df.columns:
            raise ValueError(f"matching: distance column '{distance}' not in the data")
        d = df[distance]
    else:
        d = pd.Series(distance)
        if not d.index.equals(df.index):
            d = d.reindex(df.index)
    if d.isna().any():
        raise ValueError(f"matching: distance missing for rows {list(df.index[d.isna()][:10])}")
    return pd.Series(d.to_numpy(dtype=float), index=df.index, name="distance")


def match_nearest(df: pd.DataFrame, treatment: str, covariates: list[str], *,
                  caliper: float | None = 0.2, m_order: str = "largest", seed: int | None = None,
                  distance=None, matchit_451_defect: bool = False) -> pd.DataFrame:
    """1:1 greedy nearest-neighbour matching without replacement on the propensity score.

    The matched cohort: the rows of ``df`` that were matched, with columns ``distance``
    (propensity score) and ``pair`` (1, 2, ...: the treated unit's match order), sorted by
    ``pair`` with the treated row first. Conventions in the module docstring.

    Parameters
    ----------
    caliper : float or None
        Width in standard deviations of the score (SD over all units). ``None``: no caliper
        (what MatchIt 4.5.1 returns whatever caliper it is given, see the module docstring).
    m_order : {"largest", "smallest", "data", "random"}
        Order in which treated units choose. ``"random"`` uses ``numpy`` with ``seed`` and
        cannot reproduce R's ``sample.int``.
    distance : None, str or Series
        ``None`` fits :func:`propensity_score`; a column name or a Series on ``df``'s index
        uses that score instead (e.g. R's, to test the matching step alone).
    matchit_451_defect : bool
        Reproduce what MatchIt 4.5.1-4.5.3 actually return (their C++ takes ``abs()`` of a
        score difference as an integer, so every difference counts as 0): no caliper, and
        each treated unit takes the nearest unused control *below* it in score (above only
        if none is left below), however far. Only for comparing with results made by
        those versions; ``caliper`` is ignored.

    The caliper on the score scale is stored in ``result.attrs["caliper_distance"]``.
    """
    t = _check_input(df, treatment, covariates)
    d = _resolve_distance(df, treatment, covariates, distance)
    dist = d.to_numpy(dtype=float)
    treat = t.to_numpy()
    cal = None if caliper is None else float(caliper) * float(np.std(dist, ddof=1))

    order_all = np.argsort(dist, kind="stable")           # R sort.list (radix, stable)
    pos_of = np.empty(len(dist), dtype=int)
    pos_of[order_all] = np.arange(len(dist))
    sorted_d = dist[order_all]
    sorted_treat = treat[order_all]
    available = sorted_treat == 0                           # unused controls, in sort order

    treated_rows = np.flatnonzero(treat == 1)
    dt = dist[treated_rows]
    if m_order == "largest":
        seq = treated_rows[np.argsort(-dt, kind="stable")]
    elif m_order == "smallest":
        seq = treated_rows[np.argsort(dt, kind="stable")]
    elif m_order == "data":
        seq = treated_rows
    elif m_order == "random":
        seq = treated_rows[np.random.default_rng(seed).permutation(len(treated_rows))]
    else:
        raise ValueError(f"m_order must be 'largest', 'smallest', 'data' or 'random', got {m_order!r}")

    # The nearest unused control left and right of a treated unit, found through two
    # "next unused" pointer forests with path compression (union-find): each control is
    # removed once and each look-up is amortised near O(1), so matching costs O(n log n) for
    # the sort instead of the O(n^2) of scanning over the controls already used. Slot
    # p = j + 1 of ``lp`` stands for sort position j (slot 0: none left); slot j of ``rp``
    # for position j (slot n: none right). The same neighbours as a linear scan, hence the
    # same pairs.
    n_all = len(sorted_d)
    avail = available.tolist()
    lp = [p if p == 0 or avail[p - 1] else p - 1 for p in range(n_all + 1)]
    rp = [p if p == n_all or avail[p] else p + 1 for p in range(n_all + 1)]

    def _root(par, p):
        r = p
        while par[r] != r:
            r = par[r]
        while par[p] != r:
            par[p], p = r, par[p]
        return r

    sd_list = sorted_d.tolist()
    inf = np.inf
    pairs = []
    for row in seq:
        ii = int(pos_of[row])
        di = sd_list[ii]
        left = _root(lp, ii) - 1           # nearest unused control at a position < ii
        right = _root(rp, ii + 1)          # nearest unused control at a position > ii
        has_l, has_r = left >= 0, right < n_all
        dl = abs(sd_list[left] - di) if has_l else inf
        dr = abs(sd_list[right] - di) if has_r else inf
        if matchit_451_defect:   # int(abs(diff)) == 0 for every |diff| < 1
            dl = 0.0 if has_l else inf
            dr = 0.0 if has_r else inf
        elif cal is not None:
            if dl > cal:
                dl = inf
            if dr > cal:
                dr = inf
        if dl == inf and dr == inf:
            continue                                       # no control: treated unit dropped
        k = left if dl <= dr else right
        lp[k + 1] = k                                      # control k is used: skip it
        rp[k] = k + 1
        pairs.append((row, order_all[k]))

    rows, pair_no = [], []
    for n, (tr, co) in enumerate(pairs, start=1):
        rows += [tr, co]
        pair_no += [n, n]
    out = df.iloc[rows].copy()
    out["distance"] = dist[rows]
    out["pair"] = pair_no
    out.attrs["caliper_distance"] = None if matchit_451_defect else cal
    out.attrs["m_order"] = m_order
    return out


def matched_pairs(matched: pd.DataFrame, treatment: str) -> pd.DataFrame:
    """One row per pair: ``pair``, ``treated`` and ``control`` (index labels of the rows),
    their ``distance_treated`` / ``distance_control`` and the absolute ``difference``."""
    g = matched.reset_index(names="_row")
    tr = g[g[treatment].astype(int) == 1].set_index("pair")
    co = g[g[treatment].astype(int) == 0].set_index("pair")
    out = pd.DataFrame({"treated": tr["_row"], "control": co["_row"],
                        "distance_treated": tr["distance"], "distance_control": co["distance"]})
    out["difference"] = (out["distance_treated"] - out["distance_control"]).abs()
    return out.reset_index()


def matching_summary(df: pd.DataFrame, matched: pd.DataFrame, treatment: str) -> pd.DataFrame:
    """MatchIt's "Sample Sizes": rows ``all``, ``matched``, ``unmatched``; columns
    :data:`SAMPLE_SIZE_COLUMNS`."""
    t = df[treatment].astype(int)
    m = matched[treatment].astype(int)
    rows = []
    for name, c, tr in [("all", (t == 0).sum(), (t == 1).sum()),
                        ("matched", (m == 0).sum(), (m == 1).sum())]:
        rows.append((name, int(c), int(tr)))
    rows.append(("unmatched", rows[0][1] - rows[1][1], rows[0][2] - rows[1][2]))
    return pd.DataFrame(rows, columns=SAMPLE_SIZE_COLUMNS)


# --------------------------------------------------------------------------- balance
def _wvar(x: np.ndarray, binary: bool) -> float:
    """MatchIt ``wvar`` with unit weights: p(1-p) for binary, else the n-1 variance."""
    if binary:
        p = x.mean()
        return p * (1 - p)
    return float(np.var(x, ddof=1)) if len(x) > 1 else np.nan


def _pooled_sd(x: np.ndarray, t: np.ndarray, binary: bool) -> float:
    """MatchIt ``pooled_sd`` (contribution "proportional", unit weights): the fallback
    denominator when the treated group's SD is ~0."""
    n = len(x)
    if binary:
        v = sum(x[t == g].sum() * (1 - x[t == g].sum() / (t == g).sum()) / n for g in (0, 1))
    else:
        xc = x.astype(float).copy()
        for g in (0, 1):
            xc[t == g] -= xc[t == g].mean()
        v = np.sum(xc ** 2) / (n - 2)
    return float(np.sqrt(v))


def balance_table(df: pd.DataFrame, matched: pd.DataFrame, treatment: str,
                  covariates: list[str], *, distance=None) -> pd.DataFrame:
    """Standardized mean differences before and after matching (:data:`BALANCE_COLUMNS`),
    MatchIt ``summary()`` convention: difference in means over the treated group's SD in the
    full sample (binary 0/1: ``sqrt(p(1-p))``); categorical covariates one row per level
    (``<var>_<level>``); a difference below ``sqrt(machine eps)`` is reported unstandardized
    (~0), as MatchIt does. If ``matched`` has a ``distance`` column, a first row
    ``distance`` is added (full-sample scores from ``distance`` — a column name or Series on
    ``df`` — or ``df["distance"]``, or refitted by :func:`propensity_score`). Extra column
    ``binary`` says which SD formula was used."""
    t = _check_input(df, treatment, covariates)
    tm = matched[treatment].astype(int).to_numpy()
    X = design_matrix(df, covariates, full_dummies=True)
    Xm = design_matrix(matched, covariates, full_dummies=True).reindex(columns=X.columns, fill_value=0.0)
    if "distance" in matched.columns:
        if distance is None and "distance" in df.columns:
            distance = "distance"
        d_all = _resolve_distance(df, treatment, covariates, distance)
        X.insert(0, "distance", d_all.to_numpy())
        Xm.insert(0, "distance", matched["distance"].to_numpy(dtype=float))
    tt = t.to_numpy()
    rows = []
    for var in X.columns:
        x = X[var].to_numpy(dtype=float)
        xm = Xm[var].to_numpy(dtype=float)
        binary = bool(np.all((x == 0) | (x == 1)))
        sd = np.sqrt(_wvar(x[tt == 1], binary))
        if not np.isfinite(sd) or sd < _SQRT_EPS:
            sd = _pooled_sd(x, tt, binary)

        def smd(m1, m0):
            diff = m1 - m0
            return diff / sd if abs(diff) > _SQRT_EPS else diff

        mt, mc = x[tt == 1].mean(), x[tt == 0].mean()
        mtm = xm[tm == 1].mean() if (tm == 1).any() else np.nan
        mcm = xm[tm == 0].mean() if (tm == 0).any() else np.nan
        rows.append((var, mt, mc, smd(mt, mc), mtm, mcm, smd(mtm, mcm), binary))
    return pd.DataFrame(rows, columns=[*BALANCE_COLUMNS, "binary"])
