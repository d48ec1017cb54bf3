"""Synthetic cohort of the IL-6 / atezolizumab + bevacizumab study, from its printed numbers.

Everything is read from ``data/published/atebev_il6.csv`` (:func:`helpers.published.load`);
the design choices that the paper does not pin down are the module constants below, each
stated. ``generate(SEED)`` is deterministic (same bytes on every run).

How the cohort is built
-----------------------
1. **Patients and IL-6 groups**: 84 discovery and 81 validation patients; IL-6-high
   counts per cohort from Table 1 (10 and 15).
2. **Categorical characteristics** (sex, ECOG, Child-Pugh, BCLC, AFP >= 400, MVI,
   extrahepatic spread, aetiology, prior local therapy): for each, the cohort x IL-6 group x
   level table is fitted to Table 1 (cohort x level) and Table 2 (IL-6 group x level) at once
   (:func:`helpers.synth.common.ipf`), then rounded to the integer table closest to the fit
   that keeps *every* printed count (exhaustive search: the tables are small). Inside a
   cell, levels go to patients so that BCLC B patients have ECOG 0, no MVI and no
   extrahepatic spread (the BCLC definition) and so that a latent risk score links the
   poor-prognosis levels (the confounding the multivariable model adjusts for).
3. **IL-6** (pg/ml, 2 decimals, 0 = undetectable): each cohort's sorted values are laid out
   around anchors so that the printed medians and IQRs of the discovery, validation *and*
   pooled cohorts hold under both common quantile definitions (R type 7 and SPSS type 6:
   tied values at the quartile positions), with exactly the printed number of patients
   at or above the printed cut-off per cohort (:data:`IL6_LAYOUT`). The discovery cohort's
   largest IL-6-low value lies just below the printed cut-off (:data:`CUTOFF_DATA_OFFSET`):
   the value ``maxstat`` returns, which prints as the cut-off, so maxstat's "low = IL-6 <=
   estimate" and the paper's "high = IL-6 >= cut-off" agree. In the discovery cohort the values
   are then assigned to patients by a seeded swap search so that the Fig. 1 means by CB6m
   (5.05 vs 11.56) and by response (CR + PR 3.62, PD 14.15) hold at their printed rounding.
4. **Response**: per cohort and IL-6 group, the counts of CR + PR and of PD at the first
   evaluation implied by the printed percentages (0/10, 28/74, 1/15, 19/66; 6/10, 9/74,
   7/15, 15/66); CB6m in discovery 47 = 28 responders + 19 SD with PFS >= 6 months.
5. **Outcomes**: PD-first patients progress at their first scan (6-9 weeks); in discovery,
   SD patients progress before / after 6 months as CB6m requires; otherwise progression
   times follow a Weibull proportional-hazards model (Bender 2005) with the IL-6 effect and
   covariate effects; OS adds post-progression survival (Weibull PH, IL-6 and Child-Pugh
   effects); administrative censoring matches the printed median follow-up.
6. **Calibration** (:func:`_calibrate`): candidate draws are simulated until one
   reproduces the six printed HRs (univariable per cohort, multivariable pooled)
   within half the standard error their printed HR and p imply, with p on the printed side of 0.05 and
   ``maxstat`` on discovery PFS returns the printed cut-off and the alternative cut-off
   of another study (Discussion) gives no significant survival difference; then the median follow-up is
   matched at its printed rounding by moving single censoring times. The printed 1-year OS
   rates are not matched: with the printed OS HRs and p-values they ask for fewer deaths
   than those p-values need (a finding, see chapter ``atebev_outcomes``).

Laboratory datasets (Figs 4, 5, S3) are illustrative: the paper printed only directions.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from helpers import published, survival
from helpers.studies import atebev_il6 as study
from helpers.synth import common

STUDY = "atebev_il6"
SEED = 20230672
#: The calibration accepts |log(HR / printed HR)| up to this fraction of the standard error
#: that the printed HR and p imply (:func:`implied_se`; the paper printed no CIs).
HR_SE_FRACTION = 0.5
#: Candidate draws tried by the calibration before giving up.
MAX_CANDIDATES = 400

# ---- design choices the paper does not print (stated, not transcribed)
#: Responders that are complete responses (the paper prints ORR only).
CR_SHARE = 0.1
#: Discovery IL-6-high patients with SD that reached 6 months without progression (CB6m).
DISCOVERY_HIGH_SD_CB6M = 1
#: Share of AFP 100-400 ng/ml among AFP < 400 patients, by IL-6 group, chosen inside the
#: range the CRAFITY rows allow.
AFP100_EXTRA = {"il6_low": 10, "il6_high": 2}
#: The discovery IL-6-low patients with the highest values (just below the cut) that are
#: given to responders or CB6m SD patients.
GOOD_BELOW_CUT = 6
#: Follow-up (administrative censoring) windows in months per cohort (uniform entry).
FOLLOW_UP = {"discovery": (6.0, 17.0), "validation": (1.5, 12.0)}

#: Order-statistic layout of IL-6 per cohort: (count, kind, value) segments in increasing
#: order; kind "at" = values equal to a printed anchor, "in" = spread strictly between
#: the neighbouring anchors. Anchors name published ids. The printed quantiles are checked on
#: the shipped cohort by ``tests/test_study_atebev_il6.py`` (the scorecard of Table 1).
IL6_LAYOUT = {
    "discovery": [
        (4, "at", 0.0), (5, "in", None), (1, "at", "total_il6_q1"), (10, "in", None),
        (2, "at", "discovery_il6_q1"), (13, "in", None), (1, "at", "total_il6_median"),
        (5, "in", None), (2, "at", "discovery_il6_median"), (19, "in", None),
        (2, "at", "discovery_il6_q3"), (1, "in", None), (0, "at", "total_il6_q3"),
        (8, "in", None), (1, "at", "discovery_il6_cutoff"), (10, "high", None),
    ],
    "validation": [
        (22, "at", "validation_il6_q1"), (9, "in", None), (1, "at", "total_il6_q1"),
        (8, "in", None), (1, "at", "validation_il6_median"), (6, "in", None),
        (0, "at", "total_il6_median"), (11, "in", None), (2, "at", "total_il6_q3"),
        (2, "at", "validation_il6_q3"), (4, "in", None), (15, "high", None),
    ],
}


def _pub() -> pd.DataFrame:
    return published.load(STUDY).set_index("id")


def _v(pub, key) -> float:
    return float(pub.loc[key, "value"])  # noqa: the published CSV is the only source


def _count(pub, pct_id, n) -> int:
    """The count implied by a printed percentage of ``n`` (checked at the printed rounding)."""
    pct = _v(pub, pct_id)
    k = int(round(pct * n / 100))
    digits = int(pub.loc[pct_id, "digits"])
    if abs(round(100 * k / n, digits) - pct) > 10 ** -digits / 2 + 1e-9:
        raise ValueError(f"{pct_id}: no count of {n} gives {pct}%")
    return k


# --------------------------------------------------------------------------- categorical
CATEGORICAL = {
    # column: [(level value, published level key), ...]
    "male": [(1, "male"), (0, None)],
    "ecog": [(0, "ecog_0"), (1, "ecog_1")],
    "child_pugh_class": [("A5", "child_pugh_a5"), ("A6", "child_pugh_a6"), ("B7", "child_pugh_b7")],
    "bclc_stage": [("B", "bclc_b"), ("C", "bclc_c")],
    "afp_ge400": [(1, "afp_ge400"), (0, None)],
    "mvi": [(1, "mvi"), (0, None)],
    "extrahepatic_spread": [(1, "extrahepatic_spread"), (0, None)],
    "aetiology": [("hbv", "aetiology_hbv"), ("hcv", "aetiology_hcv"), ("alcohol", "aetiology_alcohol"),
                  ("other", "aetiology_other")],
    "prior_local_therapy": [(1, "prior_local_therapy"), (0, None)],
}
COHORTS = ("discovery", "validation")
GROUPS = ("il6_low", "il6_high")


def _margins(pub, levels, n_c, n_g):
    """Table 1 (cohort x level) and Table 2 (group x level) counts for one variable."""
    t1 = np.zeros((2, len(levels)))
    t2 = np.zeros((2, len(levels)))
    for j, (_, key) in enumerate(levels):
        if key is None:
            continue
        for i, c in enumerate(COHORTS):
            t1[i, j] = _v(pub, f"{c}_{key}_n")
        for i, g in enumerate(GROUPS):
            t2[i, j] = _v(pub, f"total_{g}_{key}_n")
    for j, (_, key) in enumerate(levels):  # the complement level of a binary variable
        if key is None:
            t1[:, j] = n_c - t1.sum(axis=1)
            t2[:, j] = n_g - t2.sum(axis=1)
    return t1.astype(int), t2.astype(int)


def _joint_table(t1, t2, cg):
    """Integer cohort x group x level table with margins ``t1`` (cohort x level), ``t2``
    (group x level) and ``cg`` (cohort x group), closest to the IPF fit."""
    L = t1.shape[1]
    fit = common.ipf(np.ones((2, 2, L)), [((0, 2), t1), ((1, 2), t2), ((0, 1), cg)])
    best, best_d = None, math.inf
    # free parameters: discovery-high count per level (the rest follows from the margins)
    n_dh = cg[0, 1]

    def rec(j, left, acc):
        nonlocal best, best_d
        if j == L - 1:
            cand = acc + [left]
        else:
            for h in range(0, left + 1):
                rec(j + 1, left - h, acc + [h])
            return
        h = np.array(cand)
        tab = np.zeros((2, 2, L), dtype=int)
        tab[0, 1] = h
        tab[0, 0] = t1[0] - h
        tab[1, 1] = t2[1] - h
        tab[1, 0] = t2[0] - tab[0, 0]
        if (tab < 0).any():
            return
        d = float(((tab - fit) ** 2).sum())
        if d < best_d:
            best, best_d = tab, d

    rec(0, n_dh, [])
    if best is None:
        raise ValueError("no integer table keeps the printed margins")
    assert (best.sum(axis=1) == t1).all() and (best.sum(axis=0) == t2).all()
    return best


# --------------------------------------------------------------------------- IL-6
#: The discovery cohort's largest IL-6-low value: 0.002 below the printed cut-off, so that it
#: prints as the cut-off (2 decimals) and maxstat's "low = IL-6 <= cut" and the paper's
#: "high = IL-6 >= cut-off" define the same groups.
CUTOFF_DATA_OFFSET = -0.002


def _anchor(pub, name):
    if isinstance(name, float):
        return name
    if name == "discovery_il6_cutoff":
        return round(_v(pub, name) + CUTOFF_DATA_OFFSET, 3)
    return _v(pub, name)


def _il6_sorted(pub, cohort, rng):
    """Sorted IL-6 values of one cohort following :data:`IL6_LAYOUT` (high values are
    placeholders, set later)."""
    layout = IL6_LAYOUT[cohort]
    anchors = [(i, _anchor(pub, v)) for i, (_, kind, v) in enumerate(layout) if kind == "at"]
    cut = _v(pub, "discovery_il6_cutoff")
    out = []
    for i, (k, kind, v) in enumerate(layout):
        if kind == "at":
            out += [_anchor(pub, v)] * k
        elif kind == "in":
            lo = max([a for j, a in anchors if j < i], default=0.0)
            hi = min([a for j, a in anchors if j > i], default=cut)
            # k distinct 2-decimal values strictly inside (lo, hi)
            grid = np.round(np.arange(lo + 0.01, hi - 0.005, 0.01), 2)
            vals = np.sort(rng.choice(grid, size=k, replace=False))
            out += list(vals)
        else:
            out += [np.nan] * k
    return np.array(out)


# --------------------------------------------------------------------------- survival
def _trunc_weibull(rng, lam, shape, lo, hi, size=None):
    """Weibull (S = exp(-lam t^shape)) conditioned on lo <= T < hi, by inversion."""
    s_lo, s_hi = np.exp(-lam * lo ** shape), np.exp(-lam * hi ** shape)
    u = rng.uniform(size=size)
    s = s_lo - u * (s_lo - s_hi)
    return (-np.log(s) / lam) ** (1 / shape)


# --------------------------------------------------------------------------- main
def _base(pub, rng):
    """Patients, IL-6 groups, categorical characteristics and responses."""
    n_c = np.array([int(_v(pub, "discovery_n")), int(_v(pub, "validation_n"))])
    cg = np.array([[int(_v(pub, f"{c}_{g}_n")) for g in GROUPS] for c in COHORTS])
    n_g = cg.sum(axis=0)
    rows = []
    pid = 0
    for i, c in enumerate(COHORTS):
        for j, g in enumerate(GROUPS):
            for _ in range(cg[i, j]):
                pid += 1
                rows.append({"cohort": c, "il6_group": g})
    df = pd.DataFrame(rows)
    # latent prognosis: links poor-prognosis levels inside a cell
    df["_risk"] = rng.normal(size=len(df))
    tables = {}
    for col, levels in CATEGORICAL.items():
        t1, t2 = _margins(pub, levels, n_c, n_g)
        tables[col] = _joint_table(t1, t2, cg)
    df["_bclc_b"] = False
    for col in ["bclc_stage", "ecog", "mvi", "extrahepatic_spread", "child_pugh_class", "afp_ge400",
                "male", "aetiology", "prior_local_therapy"]:
        levels = CATEGORICAL[col]
        tab = tables[col]
        values = pd.Series(index=df.index, dtype=object)
        for i, c in enumerate(COHORTS):
            for j, g in enumerate(GROUPS):
                idx = df.index[(df.cohort == c) & (df.il6_group == g)].to_numpy()
                noise = rng.normal(size=len(idx))
                if col in ("ecog", "mvi", "extrahepatic_spread"):
                    # BCLC B first (they must be 0), then by latent risk (+ noise)
                    key = np.where(df.loc[idx, "_bclc_b"], -1e6, 0) + df.loc[idx, "_risk"].to_numpy() + noise
                elif col in ("child_pugh_class", "afp_ge400", "bclc_stage"):
                    key = df.loc[idx, "_risk"].to_numpy() + noise
                else:
                    key = noise
                order = idx[np.argsort(key, kind="stable")]
                # favourable level first: 0 for ecog/mvi/ehs/afp, A5 < A6 < B7, B before C
                lv = [lvl for lvl, _ in levels]
                counts = tab[i, j]
                if col in ("mvi", "extrahepatic_spread", "afp_ge400"):
                    lv, counts = lv[::-1], counts[::-1]
                seq = np.repeat(np.array(lv, dtype=object), counts)
                values[order] = seq
        df[col] = values
        if col == "bclc_stage":
            df["_bclc_b"] = df[col] == "B"
    for col in ("male", "ecog", "afp_ge400", "mvi", "extrahepatic_spread", "prior_local_therapy"):
        df[col] = df[col].astype(int)

    # responses per cohort x group
    df["best_response"] = "SD"
    df["_cb6m_sd"] = False
    for i, c in enumerate(COHORTS):
        for j, g in enumerate(GROUPS):
            idx = df.index[(df.cohort == c) & (df.il6_group == g)].to_numpy()
            n = len(idx)
            k_resp = _count(pub, f"{c}_orr_pct_{g}", n)
            k_pd = _count(pub, f"{c}_pd_first_pct_{g}", n)
            # poor latent risk and poor covariates -> PD more likely (weighted draw)
            score = (df.loc[idx, "_risk"] + 0.6 * (df.loc[idx, "child_pugh_class"] == "B7")
                     + 0.4 * df.loc[idx, "mvi"] + 0.3 * df.loc[idx, "ecog"]).to_numpy()
            w = np.exp(1.0 * score)
            pd_idx = rng.choice(idx, size=k_pd, replace=False, p=w / w.sum())
            rest = np.setdiff1d(idx, pd_idx)
            wr = np.exp(-1.0 * score[np.searchsorted(idx, rest)])
            resp_idx = rng.choice(rest, size=k_resp, replace=False, p=wr / wr.sum())
            df.loc[pd_idx, "best_response"] = "PD"
            k_cr = int(round(CR_SHARE * k_resp))
            df.loc[resp_idx, "best_response"] = "PR"
            df.loc[resp_idx[:k_cr], "best_response"] = "CR"
            if c == "discovery":
                sd_idx = np.setdiff1d(rest, resp_idx)
                n_cb = (int(_v(pub, "discovery_cb6m_n")) - int(round(_v(pub, "discovery_orr_pct") * n_c[0] / 100)))
                k_cb = DISCOVERY_HIGH_SD_CB6M if g == "il6_high" else n_cb - DISCOVERY_HIGH_SD_CB6M
                ws = np.exp(-score[np.searchsorted(idx, sd_idx)])
                cb = rng.choice(sd_idx, size=k_cb, replace=False, p=ws / ws.sum())
                df.loc[cb, "_cb6m_sd"] = True
    return df


def _il6_values(pub, df, rng):
    """IL-6 per patient (see module docstring, step 3)."""
    cut = _v(pub, "discovery_il6_cutoff")
    il6 = pd.Series(np.nan, index=df.index)
    # --- validation: low values to low patients (PD slightly higher), high drawn freely
    for c in COHORTS:
        vals = _il6_sorted(pub, c, rng)
        low_vals = vals[~np.isnan(vals)]
        idx_low = df.index[(df.cohort == c) & (df.il6_group == "il6_low")].to_numpy()
        idx_high = df.index[(df.cohort == c) & (df.il6_group == "il6_high")].to_numpy()
        assert len(low_vals) == len(idx_low)
        if c == "validation":
            key = rng.normal(size=len(idx_low))
            il6[idx_low[np.argsort(key)]] = low_vals
            high = np.round(cut + 0.01 + np.exp(rng.uniform(np.log(1.0), np.log(120.0), size=len(idx_high))), 2)
            il6[idx_high] = high
        else:
            il6 = _assign_discovery(pub, df, il6, low_vals, idx_low, idx_high, rng)
    return il6


def _assign_discovery(pub, df, il6, low_vals, idx_low, idx_high, rng):
    """Assign discovery IL-6 so that the Fig. 1 means hold at their printed rounding."""
    cut = _v(pub, "discovery_il6_cutoff")
    br = df["best_response"]
    cat = np.where(br.isin(["CR", "PR"]), "A", np.where(br == "PD", "B", np.where(df["_cb6m_sd"], "C", "D")))
    cat = pd.Series(cat, index=df.index)
    n = {k: int(((cat == k) & (df.cohort == "discovery")).sum()) for k in "ABCD"}
    m_cb, m_non = _v(pub, "discovery_il6_mean_cb6m"), _v(pub, "discovery_il6_mean_non_cb6m")
    m_pd, m_resp = _v(pub, "discovery_il6_mean_pd_first"), _v(pub, "discovery_il6_mean_cr_pr")
    n_cb, n_non = n["A"] + n["C"], n["B"] + n["D"]
    target = {"A": round(m_resp * n["A"], 2), "B": round(m_pd * n["B"], 2)}
    target["C"] = round(m_cb * n_cb - target["A"], 2)
    target["D"] = round(m_non * n_non - target["B"], 2)
    high_n = {k: int(((cat == k) & df.index.isin(idx_high)).sum()) for k in "ABCD"}
    # wanted sums of the low patients: leave the high patients a typical ~ 2 x cut each
    low_cat = cat[idx_low].to_numpy()
    want = {k: target[k] - high_n[k] * 1.9 * cut for k in "ABCD"}
    want["A"] = target["A"]
    vals = rng.permutation(low_vals)
    anchors = set(np.round([_anchor(pub, v) for _, kind, v in IL6_LAYOUT["discovery"] if kind == "at"], 2))

    # the values just below the cut go to patients with a good course (CR/PR or CB6m SD),
    # as in a cohort where maxstat found the cut there
    top = np.sort(low_vals)[-GOOD_BELOW_CUT:][0]

    def cost(v):
        c = sum(((v[low_cat == k].sum() - want[k]) / (1 if k == "A" else 8)) ** 2 for k in "ABCD")
        return c + 10.0 * float(np.sum((v >= top) & np.isin(low_cat, ["B", "D"])))

    cur = cost(vals)
    for _ in range(20000):
        a, b = rng.integers(0, len(vals), size=2)
        if low_cat[a] == low_cat[b]:
            continue
        vals[a], vals[b] = vals[b], vals[a]
        new = cost(vals)
        if new <= cur:
            cur = new
        else:
            vals[a], vals[b] = vals[b], vals[a]
        if cur < 0.01:
            break
    # exact fix for A by moving one free (non-anchor) value inside its interval
    srt = np.sort(low_vals)
    gap = round(target["A"] - vals[low_cat == "A"].sum(), 2)
    if abs(gap) > 0.004:
        ok = False
        for pos in np.flatnonzero(low_cat == "A"):
            x = vals[pos]
            if round(x, 2) in anchors:
                continue
            lo = max([a for a in anchors if a < x], default=0.0)
            hi = min([a for a in anchors if a > x], default=cut)
            y = round(x + gap, 2)
            if lo < y < hi and y not in vals:
                vals[pos] = y
                ok = True
                break
        if not ok:
            raise ValueError("IL-6 discovery means: no value can absorb the gap")
    il6[idx_low] = vals
    # the high patients take the remainder of each category's sum
    for k in "ABCD":
        hi_idx = [i for i in idx_high if cat[i] == k]
        if not hi_idx:
            continue
        low_k = [i for i in idx_low if cat[i] == k]
        rest = round(target[k] - il6[low_k].sum(), 2)
        m = len(hi_idx)
        if rest <= m * (cut + 0.01):
            raise ValueError(f"IL-6 discovery: category {k} leaves {rest} for {m} high patients")
        w = rng.dirichlet(np.ones(m) * 3)
        x = np.round(cut + 0.01 + w * (rest - m * (cut + 0.01)), 2)
        x[-1] = round(rest - x[:-1].sum(), 2)
        il6[hi_idx] = x
    return il6


def _covariate_lp(df, eff):
    cp_b = (df.child_pugh_class == "B7").to_numpy().astype(float)
    cov = (eff["ecog"] * df.ecog + eff["mvi"] * df.mvi + eff["ehs"] * df.extrahepatic_spread
           + eff["afp"] * df.afp_ge400 + eff["cp"] * cp_b).to_numpy()
    return cov, cp_b


def _simulate_pfs(df, rng, eff):
    """Progression times (true, uncensored) and administrative follow-up (step 5)."""
    n = len(df)
    high = (df.il6_group == "il6_high").to_numpy().astype(float)
    cov, _ = _covariate_lp(df, eff)
    disc = (df.cohort == "discovery").to_numpy()
    br = df.best_response.to_numpy()
    first_eval = rng.uniform(1.35, 2.1, size=n)  # 6-9 weeks
    lo_fu = np.where(disc, FOLLOW_UP["discovery"][0], FOLLOW_UP["validation"][0])
    hi_fu = np.where(disc, FOLLOW_UP["discovery"][1], FOLLOW_UP["validation"][1])
    fu = rng.uniform(lo_fu, hi_fu)
    lam = common.weibull_scale_for_median(eff["pfs_median"], eff["pfs_shape"])
    lp = np.where(disc, eff["pfs_high"], eff["pfs_high_validation"]) * high + cov \
        + np.where(np.isin(br, ["CR", "PR"]), eff["resp"], 0.0)
    lam_i = lam * np.exp(lp)
    pfs = np.empty(n)
    cb6m_sd = df["_cb6m_sd"].to_numpy()
    for i in range(n):
        if br[i] == "PD":
            pfs[i] = first_eval[i] * rng.uniform(0.9, 1.05)
        elif disc[i] and br[i] == "SD":
            if cb6m_sd[i]:
                pfs[i] = _trunc_weibull(rng, lam_i[i], eff["pfs_shape"], 6.0, 60.0)
            else:
                pfs[i] = _trunc_weibull(rng, lam_i[i], eff["pfs_shape"], first_eval[i] + 0.3, 5.95)
        else:
            pfs[i] = _trunc_weibull(rng, lam_i[i], eff["pfs_shape"], first_eval[i] + 0.3, 80.0)
    return pfs, fu


def _observe_pfs(pfs, fu):
    return np.round(np.minimum(pfs, fu), 2), (pfs <= fu).astype(int)


def _simulate_os(df, pfs, fu, rng, eff):
    """Overall survival = progression + post-progression survival (a share of PFS events
    are deaths), observed with the same follow-up as PFS (step 5)."""
    n = len(df)
    high = (df.il6_group == "il6_high").to_numpy().astype(float)
    disc = (df.cohort == "discovery").to_numpy()
    cov, cp_b = _covariate_lp(df, eff)
    lam_pps = common.weibull_scale_for_median(eff["pps_median"], eff["pps_shape"])
    lp_os = (np.where(disc, eff["os_high"], eff["os_high_validation"]) * high + eff["os_cp"] * cp_b
             + eff["os_cov"] * cov + eff["os_validation"] * (~disc))
    pps = (rng.exponential(size=n) / (lam_pps * np.exp(lp_os))) ** (1.0 / eff["pps_shape"])
    death_first = rng.uniform(size=n) < eff["death_first"]
    os_true = np.where(death_first, pfs, pfs + pps)
    pfs_t, pfs_e = _observe_pfs(pfs, fu)
    os_t = np.round(np.minimum(os_true, fu), 2)
    os_e = (os_true <= fu).astype(int)
    pfs_t = np.minimum(pfs_t, os_t)
    pfs_e = np.where((pfs_t == os_t) & (os_e == 1), 1, pfs_e)
    return pfs_t, pfs_e, os_t, os_e


#: Effects of the simulation model (log hazard ratios, medians in months).
EFFECTS = dict(pfs_median=4.0, pfs_shape=1.1, pfs_high=0.2, pfs_high_validation=0.5, resp=0.0, ecog=0.15,
               mvi=0.2, ehs=0.1, afp=0.15, cp=0.25, pps_median=50.0, pps_shape=1.0, os_high=0.65,
               os_high_validation=1.4, os_cp=2.2, os_cov=3.0, death_first=0.01, os_validation=0.3)

def _metrics(df, endpoints=("pfs", "os")):
    """The printed quantities the calibration aims at, on a candidate cohort (``None`` if a
    model does not converge)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return _metrics_raw(df, endpoints)
        except (Warning, ValueError, np.linalg.LinAlgError):
            return None


def _metrics_raw(df, endpoints=("pfs", "os")):
    """The six printed HRs (and p) on a candidate, fitted by the study's own step
    (:func:`helpers.studies.atebev_il6.multivariable`: the Cox models of the chapters, univariable
    per cohort and Fig. 3's model on the whole cohort)."""
    d = df.assign(il6_high=(df.il6_group == "il6_high").astype(int),
                  child_pugh_b=(df.child_pugh_class == "B7").astype(int))
    out = {}
    for c in COHORTS:
        for ep in endpoints:
            r = study.multivariable(d, ep, c, ["il6_high"]).table.iloc[0]
            out[f"{c}_{ep}_hr_il6_high"] = (r.hr, r.p)
    for ep in endpoints:
        r = study.multivariable(d, ep, "total", list(study.MV_COVARIATES)).table.set_index("term").loc["il6_high"]
        out[f"total_{ep}_hr_il6_high_multivariable"] = (r.hr, r.p)
    return out


def implied_se(pub, key) -> float:
    """The standard error of log(HR) implied by a printed HR and its p (Wald):
    ``|log HR| / z(p)``; for ``p < x`` the bound gives an upper limit."""
    from scipy import stats

    v, p = _v(pub, key), float(pub.loc[key, "p"])
    return abs(math.log(v)) / stats.norm.isf(p / 2)


def _hr_tolerance(pub, key) -> float:
    return HR_SE_FRACTION * implied_se(pub, key)


def _hr_ok(pub, metrics):
    if metrics is None:
        return False
    for key, (hr, p) in metrics.items():
        v, pp, bound = _v(pub, key), float(pub.loc[key, "p"]), pub.loc[key, "p_bound"]
        if abs(math.log(hr / v)) > _hr_tolerance(pub, key):
            return False
        sig_pub = pp < 0.05 or (bound == "<" and pp <= 0.05)
        if (p < 0.05) != sig_pub:
            return False
    return True


def _alternative_ok(pub, df, endpoint):
    """The Discussion: the alternative cut-off (another study's, ref. 36) 'did not demonstrate
    significant differences in survival' in either cohort: log-rank p on the printed side
    (groups by the study's :func:`~helpers.studies.atebev_il6.il6_groups`, high = IL-6 >= cut)."""
    from helpers import survival

    groups = study.il6_groups(df, _v(pub, study.ALTERNATIVE_CUTOFF_ID), ">=")
    for c in COHORTS:
        key = f"{c}_{endpoint}_logrank_p_il6_3p2"
        sub = study.cohort_subset(groups, c)
        p = float(survival.logrank(sub, f"{endpoint}_months", f"{endpoint}_event", "il6_high")["p"].iloc[0])
        if (p < 0.05) != (float(pub.loc[key, "p"]) < 0.05):
            return False
    return True


def _maxstat_ok(pub, df):
    """The discovery maxstat cut (log-rank scores, standardized) is the cut-off's data value.

    Self-contained (does not call :mod:`helpers.maxstat`), so that the calibration, and so
    the shipped bytes, cannot change when that module changes; the tests check the shipped
    cohort with :func:`helpers.maxstat.maxstat_test`."""
    return _maxstat_fallback(pub, df)


def _maxstat_fallback(pub, df):
    """Standardized log-rank statistic over the maxstat candidate cuts (minprop 0.1,
    maxprop 0.9, low = IL-6 <= cut): is the best cut the cut-off's data value?"""
    sub = df[df.cohort == "discovery"]
    t, e, x = sub.pfs_months.to_numpy(), sub.pfs_event.to_numpy(), sub.il6_pg_ml.to_numpy()
    n = len(t)
    # log-rank scores (Savage) as maxstat: a_i = e_i - sum_{j: t_j <= t_i} e_j / n_risk(t_j)
    order = np.argsort(t, kind="stable")
    ts, es = t[order], e[order]
    uniq = np.unique(ts)
    cum = 0.0
    haz = {}
    for u in uniq:
        d = es[ts == u].sum()
        r = np.sum(ts >= u)
        cum += d / r
        haz[u] = cum
    a = np.array([e[i] - haz[t[i]] for i in range(n)])
    xs = np.unique(x)
    best, best_cut = -1, None
    mu, var_a = a.mean(), a.var()
    for cut in xs:
        low = x <= cut
        m = low.sum()
        if m < 0.1 * n or m > 0.9 * n:
            continue
        s = a[low].sum()
        es_ = m * mu
        vs = m * (n - m) / (n - 1) * var_a * n / n
        stat = abs(s - es_) / math.sqrt(vs)
        if stat > best:
            best, best_cut = stat, cut
    return best_cut is not None and abs(best_cut - _anchor(pub, "discovery_il6_cutoff")) < 1e-9


def _fix_followup(pub, df, rng):
    """Match the median follow-up (reverse Kaplan-Meier: censoring as the event) at its
    printed rounding by moving the censoring times of alive patients (a censored PFS moves
    with them). The 1-year OS rates are *not* matched: see the note in
    ``data/published/atebev_il6.csv`` and chapter ``atebev_outcomes`` (the printed OS HRs
    and p-values need more deaths than the printed 1-year OS rates allow)."""
    for c in COHORTS:
        idx = df.index[df.cohort == c]
        t_fu = _v(pub, f"{c}_followup_median")
        for _ in range(3000):
            os_t, os_e = df.loc[idx, "os_months"].to_numpy(), df.loc[idx, "os_event"].to_numpy()
            fu = _followup(os_t, os_e)
            if abs(round(fu, 1) - t_fu) < 1e-9:
                break
            cens = idx[os_e == 0]
            i = rng.choice(cens)
            old = df.at[i, "os_months"]
            lo = max(df.at[i, "pfs_months"] if df.at[i, "pfs_event"] == 1 else 0.5, 0.5)
            new = round(float(np.clip(old + (t_fu - fu) * rng.uniform(0.5, 2.0), lo, 24.0)), 2)
            df.at[i, "os_months"] = new
            moved_pfs = df.at[i, "pfs_event"] == 0
            if moved_pfs:
                old_pfs = df.at[i, "pfs_months"]
                df.at[i, "pfs_months"] = new
            fu2 = _followup(df.loc[idx, "os_months"].to_numpy(), os_e)
            if abs(fu2 - t_fu) > abs(fu - t_fu) or (moved_pfs and not _cb6m_consistent(df.loc[[i]])):
                df.at[i, "os_months"] = old
                if moved_pfs:
                    df.at[i, "pfs_months"] = old_pfs
        else:
            raise ValueError(f"{c}: could not match the median follow-up {t_fu}")
    return df


def _followup(os_months, os_event) -> float:
    """Median follow-up by reverse Kaplan-Meier (the book's one KM, R's median rule), as
    :func:`helpers.studies.atebev_il6.followup` computes it in the chapters."""
    rev = pd.DataFrame({"t": os_months, "alive": 1 - np.asarray(os_event)})
    return float(survival.km_summary(rev, "t", "alive")["median"].iloc[0])


def _cb6m_consistent(d):
    disc_sd = (d.cohort == "discovery") & (d.best_response == "SD")
    bad_cb = disc_sd & d["_cb6m_sd"] & (d.pfs_months < 6)
    bad_non = disc_sd & ~d["_cb6m_sd"] & ((d.pfs_months >= 6) | (d.pfs_event == 0))
    return not (bad_cb | bad_non).any()


def _age(pub, df, rng):
    """Integer ages whose median (IQR) per cohort, per IL-6 group and overall are the printed
    ones (types 6 and 7), by a seeded hill climb; Student's t p for the IL-6 groups on the
    printed side of 0.05."""
    groups = {
        "discovery": (df.cohort == "discovery").to_numpy(),
        "validation": (df.cohort == "validation").to_numpy(),
        "total": np.ones(len(df), bool),
        "total_il6_low": (df.il6_group == "il6_low").to_numpy(),
        "total_il6_high": (df.il6_group == "il6_high").to_numpy(),
    }
    targets = {g: np.array([_v(pub, f"{g}_age_{q}") for q in ("q1", "median", "q3")]) for g in groups}
    age = np.where(groups["total_il6_high"], rng.normal(64, 8, len(df)), rng.normal(61, 9, len(df)))
    age = np.clip(np.round(age), 30, 88)
    from scipy import stats
    p_pub = _v(pub, "total_age_p_il6")
    lo_m, hi_m = groups["total_il6_low"], groups["total_il6_high"]
    t_crit = stats.t.ppf(0.975, lo_m.sum() + hi_m.sum() - 2)

    def quart(x):
        x = np.sort(x)
        n = len(x)
        out = []
        for p in (0.25, 0.5, 0.75):
            h7 = (n - 1) * p
            f7 = math.floor(h7)
            q7 = x[f7] + (h7 - f7) * (x[min(f7 + 1, n - 1)] - x[f7])
            h6 = p * (n + 1) - 1
            f6 = min(max(math.floor(h6), 0), n - 1)
            q6 = x[f6] + (h6 - math.floor(h6)) * (x[min(f6 + 1, n - 1)] - x[f6])
            out.append((q7, q6))
        return np.array(out)

    def cost(a):
        c = 0.0
        for g, m in groups.items():
            c += float(np.abs(quart(a[m]) - targets[g][:, None]).sum())
        x, y = a[lo_m], a[hi_m]
        sp = ((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2)
        t = abs(x.mean() - y.mean()) / math.sqrt(sp * (1 / len(x) + 1 / len(y)))
        c += 0 if (t > t_crit) == (p_pub < 0.05) else 5
        return c

    cur = cost(age)
    for _ in range(20000):
        if cur == 0:
            break
        i = rng.integers(len(age))
        old = age[i]
        age[i] = np.clip(old + rng.choice([-3, -2, -1, 1, 2, 3]), 25, 88)
        new = cost(age)
        if new <= cur:
            cur = new
        else:
            age[i] = old
    if cur > 0:
        raise ValueError(f"age: printed medians/IQRs not reached (cost {cur})")
    return age


def _afp_crp(pub, df, rng):
    """AFP (ng/ml) and CRP (mg/dl) consistent with AFP >= 400 and the CRAFITY rows of Table 2."""
    afp = np.empty(len(df))
    crp = np.empty(len(df))
    for g in GROUPS:
        idx = df.index[df.il6_group == g].to_numpy()
        n0, n1, n2 = (int(_v(pub, f"total_{g}_crafity_{k}_n")) for k in range(3))
        ge400 = idx[df.loc[idx, "afp_ge400"].to_numpy() == 1]
        lt400 = rng.permutation(idx[df.loc[idx, "afp_ge400"].to_numpy() == 0])
        k100 = len(ge400) + AFP100_EXTRA[g]
        if not (max(n2, len(ge400)) <= k100 <= n2 + n1):
            raise ValueError(f"{g}: AFP >= 100 count {k100} impossible with CRAFITY {n0}/{n1}/{n2}")
        mid = lt400[: AFP100_EXTRA[g]]
        low = lt400[AFP100_EXTRA[g]:]
        afp100 = rng.permutation(np.concatenate([ge400, mid]))
        both = afp100[:n2]
        crp_only = low[: n1 - (k100 - n2)]
        crp_hi = np.concatenate([both, crp_only])
        for i in ge400:
            afp[df.index.get_loc(i)] = math.exp(rng.uniform(math.log(400), math.log(40000)))
        for i in mid:
            afp[df.index.get_loc(i)] = rng.uniform(100, 399.9)
        for i in low:
            afp[df.index.get_loc(i)] = math.exp(rng.uniform(math.log(1.5), math.log(99.9)))
        for i in idx:
            hi = i in set(crp_hi)
            crp[df.index.get_loc(i)] = (math.exp(rng.uniform(0, math.log(12))) if hi
                                        else math.exp(rng.uniform(math.log(0.02), math.log(0.99))))
    return np.round(afp, 1), np.round(crp, 2)


def _lab_markers(df, rng):
    """Illustrative blood counts, albumin and other cytokines (nothing of these is printed)."""
    n = len(df)
    z = np.log1p(df.il6_pg_ml.to_numpy())
    cp_b = (df.child_pugh_class == "B7").to_numpy()
    out = pd.DataFrame(index=df.index)
    out["neutrophils_10e9_l"] = np.round(np.exp(np.log(3.3) + 0.08 * z + rng.normal(0, 0.35, n)), 2)
    out["lymphocytes_10e9_l"] = np.round(np.exp(np.log(1.4) - 0.05 * z + rng.normal(0, 0.35, n)), 2)
    out["platelets_10e9_l"] = np.round(np.exp(np.log(150) + rng.normal(0, 0.4, n))).astype(float)
    out["albumin_g_dl"] = np.round(3.8 - 0.4 * cp_b - 0.04 * z + rng.normal(0, 0.35, n), 1)
    for col, med in (("il2_pg_ml", 0.8), ("il4_pg_ml", 0.6), ("il10_pg_ml", 1.5), ("il17a_pg_ml", 1.0),
                     ("ifng_pg_ml", 0.9), ("tnfa_pg_ml", 0.7)):
        x = np.exp(np.log(med) + rng.normal(0, 1.0, n) + (0.05 * z if col == "il10_pg_ml" else 0))
        x[rng.uniform(size=n) < 0.2] = 0.0
        out[col] = np.round(x, 2)
    return out


def _lab_datasets(rng):
    """Illustrative T-cell and tumour datasets (Figs 4, 5, S3): directions as printed."""
    from helpers.schemas.atebev_il6 import LM22

    rows = []
    for g, n, shift in (("il6_low", 8, 0.0), ("il6_high", 8, -0.45)):
        for k in range(n):
            base = rng.normal(0, 0.25)
            rows.append({"sample_id": f"{g}_{k + 1:02d}", "il6_group": g,
                         "ifng_cd8_pct": round(float(np.exp(np.log(22) + shift + base + rng.normal(0, 0.15))), 2),
                         "tnfa_cd8_pct": round(float(np.exp(np.log(30) + shift + base + rng.normal(0, 0.15))), 2)})
    tcell = pd.DataFrame(rows)
    rows = []
    for k in range(6):
        donor = f"donor_{k + 1:02d}"
        base = rng.normal(0, 0.25, size=3)
        for cond, shift in (("control", 0.0), ("il6", -0.3)):
            rows.append({"sample_id": f"{donor}_{cond}", "donor_id": donor, "condition": cond,
                         "ifng_cd8_pct": round(float(np.exp(np.log(24) + shift + base[0] + rng.normal(0, 0.08))), 2),
                         "tnfa_cd8_pct": round(float(np.exp(np.log(32) + shift + base[1] + rng.normal(0, 0.08))), 2),
                         "proliferated_cd8_pct": round(float(np.clip(62 * np.exp(shift * 0.8 + base[2] * 0.5 + rng.normal(0, 0.05)), 0, 100)), 2)})
    exposure = pd.DataFrame(rows)
    rows = []
    base_level = rng.gamma(2.0, 0.05, size=len(LM22))
    for g, n, scale in (("il6_low", 13, 1.0), ("il6_high", 7, 0.6)):
        for k in range(n):
            r = {"sample_id": f"tumour_{g}_{k + 1:02d}", "il6_group": g}
            for s, b in zip(LM22, base_level):
                f = scale * (0.55 if s in ("cd8_t", "cd4_memory_resting", "cd4_memory_activated") and g == "il6_high" else 1.0)
                r[f"cibersort_{s}"] = round(float(b * f * np.exp(rng.normal(0, 0.35))), 4)
            r["dysfunction_score"] = round(float(rng.normal(0.4 if g == "il6_high" else -0.2, 0.35)), 3)
            r["exclusion_score"] = round(float(rng.normal(0.5 if g == "il6_high" else -0.1, 0.35)), 3)
            r["cd8_density_mm2"] = round(float(np.exp(np.log(180 if g == "il6_low" else 85) + rng.normal(0, 0.35))), 1)
            r["cd4_density_mm2"] = round(float(np.exp(np.log(140 if g == "il6_low" else 70) + rng.normal(0, 0.35))), 1)
            rows.append(r)
    tme = pd.DataFrame(rows)
    return tcell, exposure, tme


COHORT_COLUMNS = ["patient_id", "cohort", "age_years", "male", "ecog", "child_pugh_class", "bclc_stage",
                  "afp_ng_ml", "mvi", "extrahepatic_spread", "aetiology", "prior_local_therapy", "crp_mg_dl",
                  "il6_pg_ml", "il2_pg_ml", "il4_pg_ml", "il10_pg_ml", "il17a_pg_ml", "ifng_pg_ml", "tnfa_pg_ml",
                  "neutrophils_10e9_l", "lymphocytes_10e9_l", "platelets_10e9_l", "albumin_g_dl",
                  "best_response", "pfs_months", "pfs_event", "os_months", "os_event"]


def _calibrate(pub, df, seed):
    """Two-stage seeded search (module docstring, step 6): progression draws ``(seed, 1, k1)``
    until the PFS HRs and the maxstat cut are reproduced, then survival draws
    ``(seed, 2, k2)`` until the OS HRs are, with the 1-year OS and follow-up close enough for
    :func:`_fix_followup` to match them at the printed rounding."""
    for k1 in range(MAX_CANDIDATES):
        pfs, fu = _simulate_pfs(df, np.random.default_rng([seed, 1, k1]), EFFECTS)
        pfs_t, pfs_e = _observe_pfs(pfs, fu)
        cand = df.assign(pfs_months=pfs_t, pfs_event=pfs_e)
        if (_cb6m_consistent(cand) and _hr_ok(pub, _metrics(cand, ("pfs",))) and _maxstat_ok(pub, cand)
                and _alternative_ok(pub, cand, "pfs")):
            break
    else:
        raise ValueError(f"calibration: no progression draw of {MAX_CANDIDATES} reproduces the printed PFS HRs")
    for k2 in range(MAX_CANDIDATES):
        pfs_t, pfs_e, os_t, os_e = _simulate_os(df, pfs, fu, np.random.default_rng([seed, 2, k2]), EFFECTS)
        cand = df.assign(pfs_months=pfs_t, pfs_event=pfs_e, os_months=os_t, os_event=os_e)
        if not (_hr_ok(pub, _metrics(cand, ("os",))) and _alternative_ok(pub, cand, "os")):
            continue
        try:
            cand = _fix_followup(pub, cand, np.random.default_rng([seed, 3, k2]))
        except ValueError:
            continue
        m = _metrics(cand)
        if (_hr_ok(pub, m) and _maxstat_ok(pub, cand) and _cb6m_consistent(cand)
                and _alternative_ok(pub, cand, "pfs") and _alternative_ok(pub, cand, "os")):
            return (k1, k2), cand, m
    raise ValueError(f"calibration: no survival draw of {MAX_CANDIDATES} reproduces the printed OS HRs")


def generate(seed: int = SEED, *, return_calibration: bool = False) -> dict:
    """The synthetic datasets ``{file stem: DataFrame}`` (see the module docstring).

    ``return_calibration=True`` adds ``"_calibration"``: the accepted candidate number and
    the metrics it reached (not a file).
    """
    pub = _pub()
    rng = common.rng(seed)
    df = _base(pub, rng)
    df["il6_pg_ml"] = _il6_values(pub, df, rng)
    df["age_years"] = _age(pub, df, rng)
    df["afp_ng_ml"], df["crp_mg_dl"] = _afp_crp(pub, df, rng)
    df = pd.concat([df, _lab_markers(df, rng)], axis=1)
    k, df, m = _calibrate(pub, df, seed)
    # shuffle rows and number the patients (ids carry no information)
    df = df.sample(frac=1.0, random_state=np.random.default_rng([seed, 99]).integers(2**31)).reset_index(drop=True)
    df["patient_id"] = [f"P{i + 1:03d}" for i in range(len(df))]
    cohort = df[COHORT_COLUMNS].copy()
    tcell, exposure, tme = _lab_datasets(np.random.default_rng([seed, 7]))
    out = {f"{STUDY}_cohort": cohort, f"{STUDY}_tcell": tcell, f"{STUDY}_il6_exposure": exposure,
           f"{STUDY}_tme": tme}
    if return_calibration:
        out["_calibration"] = {"candidate": k, **{key: v for key, v in m.items()}}
    return out
