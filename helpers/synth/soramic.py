"""Synthetic SORAMIC IL-6 / IL-8 cohort, built from ``data/published/soramic.csv`` only.

**These are not the study's patients.** The real patient-level data are not public; this
module builds 83 synthetic patients (and a 424-row screening table for the flow chart) whose
aggregates reproduce what the paper printed. Every target number is read from the published
file by its ``id``; nothing is retyped here.

Steps (seed :data:`SEED`; every draw comes from :func:`helpers.synth.common.rng`):

1. **Groups.** IL-6 group x IL-8 group: a 2 x 2 table fitted (IPF, then controlled rounding)
   to the printed group sizes (48 / 35 and 38 / 45), with an assumed positive association
   (seed odds ratio :data:`IL6_IL8_SEED_OR`; the paper printed no cross-table).
2. **Binary characteristics.** For each Table 1 variable, an IL-6 x IL-8 x variable table
   fitted to both printed margins at once (by IL-6 group and by IL-8 group), rounded to whole
   patients keeping every margin. Albumin < 36, bilirubin >= 17 and mALBI 2b/3 are fitted as
   one 5-way table (mALBI is a function of albumin and bilirubin: low albumin with high
   bilirubin is always grade 2b or worse; normal albumin with normal bilirubin is taken as
   never). Within each IL-6 x IL-8 cell, patients are chosen for each characteristic at
   random, with weights that tie cirrhosis and Child-Pugh B to poor liver function and BCLC C
   to portal vein infiltration, extrahepatic spread or ECOG 1.
3. **Continuous values.** IL-6 and IL-8 (log-normal shapes assumed; no distribution was
   printed) on the correct side of the cut-offs, one patient exactly *at* each cut-off (low by
   the strict ``>``); albumin and bilirubin drawn so that their flags and the computed mALBI
   grade (:mod:`helpers.scores`) match step 2; age, AFP on the side of their cut-offs; target
   lesion size placed so the printed medians and means hold.
4. **Outcomes.** Overall survival, time to liver dysfunction and PFS from Weibull
   proportional-hazards models (Bender, Augustin & Blettner 2005) whose log hazard ratios are
   the printed multivariable Model 1 estimates; censoring matched to the printed event counts
   (73 deaths of 83; 33 liver dysfunctions among the 78 with follow-up bilirubin; PFS missing
   in one patient); then a monotone time warp (a piecewise-linear increasing map of all times
   of one endpoint: it keeps every rank, so log-rank and Cox results are unchanged) puts the
   Kaplan-Meier medians on the printed ones. PFS <= OS and liver dysfunction <= OS hold;
   exactly four liver dysfunctions come at or after a progression.
5. **Calibration.** Steps 4's draws are repeated for :data:`CALIBRATION_DRAWS` sub-seeds per
   endpoint (a deterministic search); the draw whose analysis
   (:func:`helpers.studies.soramic.reproduce`) meets the most printed numbers by the
   scorecard's own rule (:func:`helpers.scorecard.judge`: HR inside the printed CI with p on
   the printed side of 0.05, medians at the printed rounding, log-rank p on the printed
   side, ...) is kept; ties go to the first.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from helpers import published, scorecard, scores
from helpers.studies import soramic as study
from helpers.synth.common import (censor_for_events, integerize, ipf, rng as make_rng,
                                  weibull_ph_times)

SEED = 20220607
STUDY = "soramic"
#: Assumed IL-6 x IL-8 association (odds ratio of the seed table; not printed).
IL6_IL8_SEED_OR = 4.0
#: Candidate outcome draws tried per endpoint by the calibration.
CALIBRATION_DRAWS = 60
#: Multipliers of the printed log hazard ratios tried by the calibration (draw k uses
#: ``EFFECT_SCALES[k % 3]``): the printed adjusted HRs, with correlated covariates, give
#: somewhat stronger unadjusted HRs than printed, so weaker generating effects are tried too.
EFFECT_SCALES = (1.0, 0.85, 0.7)
#: Weibull shapes (assumed): slightly rising hazard of death, falling hazard of liver dysfunction.
SHAPE = {"os": 1.3, "ld": 1.0, "pfs": 1.1}
#: IL-8 effect on liver dysfunction (assumed; IL-8 is not in the paper's Table 3 models, its
#: univariable HR is 1.5 (0.75-3)): without it the IL-8 groups' medians come out in random order.
LD_IL8_HR = 1.3
#: Latent median of the time to liver dysfunction in the IL-6-high group, as a multiple of the printed median.
LD_MEDIAN_FACTOR = 1.0
#: At most this many liver dysfunctions may be placed at a patient's last laboratory visit
#: to reach the printed event count (see ``_censor_individual``).
MAX_LIFTED = 8
#: PFS log hazard ratios (the paper printed medians and p only): assumed.
PFS_HR = {"il6_high": 2.6, "il8_high": 1.5}

# Table 1 variables: published id stem -> (cohort column, kind)
BINARY = ["male", "age_ge65", "white", "cirrhosis", "hbv", "hcv", "alcohol", "previous_tace",
          "diffuse", "pvi", "extrahepatic", "child_pugh_b", "bclc_c", "up_to_7_out", "afp_high"]
LIVER = ["albumin_low", "bilirubin_high", "malbi_2b3"]
GROUPS = ["il6_low", "il6_high", "il8_low", "il8_high"]


# ----------------------------------------------------------------------------- targets
def _pub() -> pd.DataFrame:
    return published.load(STUDY).set_index("id")


def _count(pub, var, group) -> int:
    return int(round(pub.loc[f"soramic_{var}_count_{group}", "value"]))


def _margins(pub, var):
    """(IL-6 low, IL-6 high) and (IL-8 low, IL-8 high) counts with the characteristic."""
    return ([_count(pub, var, g) for g in ("il6_low", "il6_high")],
            [_count(pub, var, g) for g in ("il8_low", "il8_high")])


# ----------------------------------------------------------------------------- step 1-2
def _cell_table(pub) -> np.ndarray:
    """IL-6 (low, high) x IL-8 (low, high) counts."""
    n6 = [_count_group(pub, "il6_low"), _count_group(pub, "il6_high")]
    n8 = [_count_group(pub, "il8_low"), _count_group(pub, "il8_high")]
    seed = np.array([[IL6_IL8_SEED_OR, 1.0], [1.0, 1.0]])
    margins = [((0,), n6), ((1,), n8)]
    return integerize(ipf(seed, margins), margins)


def _count_group(pub, group) -> int:
    return int(round(pub.loc[f"soramic_count_{group}", "value"]))


def _fit_by_cell(cells: np.ndarray, m6, m8, levels: int = 2, seed_table=None) -> np.ndarray:
    """IL-6 x IL-8 x level counts keeping the cell sizes and both printed margins.

    ``m6``/``m8``: per marker group, the counts of each level (shape 2 x levels)."""
    m6, m8 = np.asarray(m6, float), np.asarray(m8, float)
    margins = [((0, 1), cells), ((0, 2), m6), ((1, 2), m8)]
    seed = np.ones((2, 2, levels)) if seed_table is None else seed_table
    return integerize(ipf(seed, margins), margins)


def _binary_levels(pub, var, cells):
    lo6, lo8 = _margins(pub, var)
    n6, n8 = cells.sum(axis=1), cells.sum(axis=0)
    m6 = [[n6[i] - lo6[i], lo6[i]] for i in range(2)]
    m8 = [[n8[j] - lo8[j], lo8[j]] for j in range(2)]
    return _fit_by_cell(cells, m6, m8)


def _assign(r, cell_of, table, weights=None) -> np.ndarray:
    """Per patient, a level drawn so that each IL-6 x IL-8 cell holds ``table[i, j, :]``.

    ``weights`` (per patient, one column per level >= 1) make a patient more likely to get
    those levels; the count per cell is fixed either way."""
    n = len(cell_of)
    out = np.zeros(n, dtype=int)
    for i in range(2):
        for j in range(2):
            idx = np.flatnonzero(cell_of == 2 * i + j)
            free = list(idx)
            for lev in range(table.shape[2] - 1, 0, -1):
                k = int(table[i, j, lev])
                if k == 0:
                    continue
                w = np.ones(len(free)) if weights is None else np.asarray(weights[lev - 1])[free]
                w = w / w.sum()
                pick = r.choice(len(free), size=k, replace=False, p=w)
                chosen = [free[p] for p in pick]
                out[chosen] = lev
                free = [f for f in free if f not in set(chosen)]
    return out


def _liver_table(pub, cells):
    """IL-6 x IL-8 x albumin_low x bilirubin_high x malbi_2b3, fitted to all six margins."""
    seed = np.ones((2, 2, 2, 2, 2))
    seed[:, :, 1, 1, 0] = 0.0   # low albumin + high bilirubin => ALBI > -2.27 always
    seed[:, :, 0, 0, 1] = 0.0   # normal albumin + normal bilirubin => taken as mALBI 1/2a
    seed[:, :, 1, 1, 1] = 6.0   # low albumin and high bilirubin go together (both liver function)
    seed[:, :, 1, 0, 1] = 2.0   # low albumin mostly pushes ALBI over -2.27 ...
    margins = [((0, 1), cells)]
    for axis, var in ((2, "albumin_low"), (3, "bilirubin_high"), (4, "malbi_2b3")):
        lo6, lo8 = _margins(pub, var)
        n6, n8 = cells.sum(axis=1), cells.sum(axis=0)
        margins.append(((0, axis), np.array([[n6[i] - lo6[i], lo6[i]] for i in range(2)], float)))
        margins.append(((1, axis), np.array([[n8[j] - lo8[j], lo8[j]] for j in range(2)], float)))
    return integerize(ipf(seed, margins), margins)


def _liver_values(r, alb_low, bili_high, malbi):
    """Albumin (g/L, 1 decimal) and bilirubin (umol/L, 1 decimal) matching the three flags,
    with mALBI computed by :func:`helpers.scores.malbi_grade`."""
    n = len(alb_low)
    alb, bili = np.empty(n), np.empty(n)
    for k in range(n):
        for _ in range(20000):
            a = round(float(np.clip(r.normal(31.5 if alb_low[k] else 40.0, 3.5), 20, 52)), 1)
            b = round(float(np.exp(r.normal(np.log(26.0 if bili_high[k] else 11.0), 0.35))), 1)
            if (a < study.ALBUMIN_LOW_BELOW) != bool(alb_low[k]) or (b >= study.BILIRUBIN_HIGH_FROM) != bool(bili_high[k]):
                continue
            g = scores.malbi_grade(scores.albi_score(a, b))
            if (g in ("2b", "3")) == bool(malbi[k]):
                alb[k], bili[k] = a, b
                break
        else:  # pragma: no cover - the fitted table excludes impossible combinations
            raise ValueError(f"soramic synth: no albumin/bilirubin for flags {alb_low[k], bili_high[k], malbi[k]}")
    return alb, bili


def _marker_values(r, high, cutoff, median_low, median_high, decimals):
    """Log-normal values on the right side of ``cutoff`` (high = ``> cutoff``), drawn from the
    distribution truncated to that side (no pile-up at the cut-off); the low patient with the
    largest value is then put exactly *at* the cut-off (the strict-> convention in action)."""
    from scipy.stats import norm

    n = len(high)
    v = np.empty(n)
    lo_idx, hi_idx = np.flatnonzero(high == 0), np.flatnonzero(high == 1)
    step = 10.0 ** -decimals

    def draw(size, median, sdlog, a, b):
        fa = norm.cdf((np.log(a) - np.log(median)) / sdlog) if a > 0 else 0.0
        fb = norm.cdf((np.log(b) - np.log(median)) / sdlog) if np.isfinite(b) else 1.0
        u = r.uniform(fa, fb, size=size)
        return np.exp(np.log(median) + sdlog * norm.ppf(np.clip(u, 1e-12, 1 - 1e-12)))
    x = np.round(draw(len(lo_idx), median_low, 0.6, 0.0, cutoff), decimals)
    v[lo_idx] = np.clip(x, step, np.floor(cutoff / step + 1e-9) * step)
    y = np.round(draw(len(hi_idx), median_high, 0.8, cutoff + step, np.inf), decimals)
    v[hi_idx] = np.maximum(y, round(cutoff + step, decimals))
    if len(lo_idx):
        v[lo_idx[np.argmax(v[lo_idx])]] = cutoff
    return v


def _lesion_sizes(r, pub, il8_high, il6_high):
    """Target lesion sizes (mm) with the printed IL-8 group medians and means and the printed
    overall median; IL-6 group medians by a seeded search over the assignment of values to
    patients within each IL-8 group."""
    def val(k):
        return float(pub.loc[f"soramic_target_lesion_mm_{k}", "value"])
    med_all, med_lo, med_hi = val("median_all"), val("median_il8_low"), val("median_il8_high")
    mean_lo, mean_hi, mean_all = val("mean_il8_low"), val("mean_il8_high"), val("mean_all")
    n_lo, n_hi = int((il8_high == 0).sum()), int((il8_high == 1).sum())
    h_lo, h_hi = (n_lo - 1) // 2, n_hi // 2  # values below the median position
    # IL-8 low (odd n): h_lo below med_lo, med_lo, then k between med_lo and med_all, rest above
    # IL-8 high (even n): j below med_all, med_all, values up to the two middle ones
    below_all = (n_lo + n_hi - 1) // 2          # values strictly below the overall median
    j = min(h_hi - 3, below_all // 5)
    k = below_all - (h_lo + 1) - j
    lo_vals = np.concatenate([
        np.round(r.uniform(15, med_lo - 1, h_lo)), [med_lo],
        np.round(r.uniform(med_lo + 1, med_all - 1, k)), np.zeros(n_lo - h_lo - 1 - k)])
    mid_hi_a, mid_hi_b = med_hi - 1.5, med_hi + 1.5
    hi_vals = np.concatenate([
        np.round(r.uniform(15, med_all - 1, j)), [med_all],
        np.round(r.uniform(med_all + 1, mid_hi_a - 1, h_hi - 2 - j)), [mid_hi_a, mid_hi_b],
        np.zeros(n_hi - h_hi - 1)])
    t6 = (val("median_il6_low"), val("median_il6_high"))
    # offer the IL-6 groups' printed medians as values where they fit a band without moving
    # any fixed order statistic (the search below then places them)
    for vals, lo_b, hi_b in ((lo_vals, med_lo, med_all), (hi_vals, med_all, mid_hi_a)):
        for target in t6:
            band = np.flatnonzero((vals > lo_b) & (vals < hi_b))
            if lo_b < target < hi_b and band.size and target not in vals:
                vals[band[np.argmin(np.abs(vals[band] - target))]] = target
    # the top values carry the means (whole mm; sums chosen so every printed mean rounds right)
    def top_fill(vals, n_top, total, floor):
        rest = total - vals.sum()
        base = np.sort(r.gamma(2.0, 1.0, n_top))
        t = floor + 2 + (rest - n_top * (floor + 2)) * base / base.sum()
        t = np.round(t)
        t[-1] += rest - t.sum()
        return t
    lo_sum, hi_sum = _sums(mean_lo, mean_hi, mean_all, n_lo, n_hi)
    n_top_lo = n_lo - h_lo - 1 - k
    lo_vals[-n_top_lo:] = top_fill(lo_vals[:-n_top_lo], n_top_lo, lo_sum, med_all)
    n_top_hi = n_hi - h_hi - 1
    hi_vals[-n_top_hi:] = top_fill(hi_vals[:-n_top_hi], n_top_hi, hi_sum, mid_hi_b)
    out = np.empty(len(il8_high))
    lo_idx, hi_idx = np.flatnonzero(il8_high == 0), np.flatnonzero(il8_high == 1)
    t6 = (val("median_il6_low"), val("median_il6_high"))
    best = None
    for _ in range(20000):
        out[lo_idx] = r.permutation(lo_vals)
        out[hi_idx] = r.permutation(hi_vals)
        m6 = (np.median(out[il6_high == 0]), np.median(out[il6_high == 1]))
        miss = abs(m6[0] - t6[0]) + abs(m6[1] - t6[1])
        if best is None or miss < best[0]:
            best = (miss, out.copy())
        if miss < 0.5:
            break
    return best[1]


def _sums(mean_lo, mean_hi, mean_all, n_lo, n_hi):
    """Whole-mm group sums whose means round to the printed ones (and the total's too)."""
    for s_lo in range(int(np.ceil((mean_lo - 0.05) * n_lo)), int(np.floor((mean_lo + 0.05) * n_lo)) + 1):
        for s_hi in range(int(np.ceil((mean_hi - 0.05) * n_hi)), int(np.floor((mean_hi + 0.05) * n_hi)) + 1):
            if abs(round((s_lo + s_hi) / (n_lo + n_hi), 1) - mean_all) < 1e-9:
                return s_lo, s_hi
    raise ValueError("soramic synth: no whole-mm sums reproduce the printed lesion-size means")


def _covariates(seed: int, pub) -> pd.DataFrame:
    r = make_rng(seed)
    cells = _cell_table(pub)
    n = int(cells.sum())
    cell_of = r.permutation(np.repeat(np.arange(4), cells.ravel()))
    row, column = np.divmod(cell_of, 2)  # the patient's row and column of the 2 x 2 table
    il6_high, il8_high = row, column
    df = pd.DataFrame({"il6_high": il6_high, "il8_high": il8_high})
    # liver function flags (joint)
    lt = _liver_table(pub, cells)
    flat = lt.reshape(2, 2, 8)  # last three axes as one level 0..7 = 4*alb + 2*bili + malbi
    lev = _assign(r, cell_of, flat)
    df["albumin_low"], df["bilirubin_high"], df["malbi_2b3"] = lev // 4, (lev // 2) % 2, lev % 2
    liver = df["albumin_low"] + df["bilirubin_high"] + df["malbi_2b3"] + r.normal(0, 0.7, n)
    # ECOG 0 / 1 / missing
    m6 = [[_count(pub, f"ecog{x}", g) for x in ("0", "1", "_missing")] for g in ("il6_low", "il6_high")]
    m8 = [[_count(pub, f"ecog{x}", g) for x in ("0", "1", "_missing")] for g in ("il8_low", "il8_high")]
    ecog = _assign(r, cell_of, _fit_by_cell(cells, m6, m8, levels=3))
    df["ecog"] = np.where(ecog == 2, np.nan, ecog)
    weights = {"cirrhosis": np.exp(0.4 * liver), "child_pugh_b": np.exp(1.5 * liver)}
    for var in BINARY:
        if var == "bclc_c":
            continue
        w = weights.get(var)
        df[var] = _assign(r, cell_of, _binary_levels(pub, var, cells), None if w is None else [w])
    adv = ((df["pvi"] == 1) | (df["extrahepatic"] == 1) | (df["ecog"] == 1)).to_numpy()
    df["bclc_c"] = _assign(r, cell_of, _binary_levels(pub, "bclc_c", cells), [np.where(adv, 8.0, 1.0)])
    # continuous values
    # assumed log-normal medians of the low and high groups; values stored with 2 and 1 decimals
    df["il6_pg_ml"] = _marker_values(r, il6_high, study.PARAMS.il6_cutoff,
                                     median_low=3.5, median_high=16.0, decimals=2)
    df["il8_pg_ml"] = _marker_values(r, il8_high, study.PARAMS.il8_cutoff,
                                     median_low=28.0, median_high=130.0, decimals=1)
    df["albumin_g_l"], df["bilirubin_umol_l"] = _liver_values(r, df["albumin_low"].to_numpy(),
                                                              df["bilirubin_high"].to_numpy(),
                                                              df["malbi_2b3"].to_numpy())
    df["age_years"] = np.where(df["age_ge65"] == 1, r.integers(65, 85, n), r.integers(38, 65, n)).astype(float)
    afp_hi = np.round(np.exp(r.normal(np.log(2500), 1.0, n)), 1)
    afp_lo = np.round(np.exp(r.normal(np.log(25), 1.2, n)), 1)
    df["afp_ng_ml"] = np.where(df["afp_high"] == 1, np.maximum(afp_hi, study.AFP_HIGH_FROM),
                               np.minimum(afp_lo, study.AFP_HIGH_FROM - 0.1))
    df["target_lesion_mm"] = _lesion_sizes(r, pub, il8_high, il6_high)
    df["diffuse_disease"] = df["diffuse"]
    df["extrahepatic_spread"] = df["extrahepatic"]
    df["child_pugh_class"] = np.where(df["child_pugh_b"] == 1, "B", "A")
    df["bclc_stage"] = np.where(df["bclc_c"] == 1, "C", "B")
    return df


# ----------------------------------------------------------------------------- step 4
def _warp(times: np.ndarray, current: list, target: list) -> np.ndarray:
    """Piecewise-linear increasing map through (0, 0) and (current_k, target_k) (both sorted
    increasingly); beyond the last knot the last segment's slope continues."""
    xs = np.concatenate([[0.0], current])
    ys = np.concatenate([[0.0], target])
    slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    out = np.interp(times, xs, ys)
    beyond = times > xs[-1]
    out[beyond] = ys[-1] + slope * (times[beyond] - xs[-1])
    return out


def _median_targets(pub, ep, groups):
    tg = {}
    for g in groups:
        key = f"soramic_{ep}_median_{g}"
        if key in pub.index and pd.notna(pub.loc[key, "value"]):
            tg[g] = float(pub.loc[key, "value"])
    return tg


def _group_medians(df, time_col, event_col, groups) -> dict:
    d = df  # il6_high / il8_high are the generator's flags (equal to study.derive's by construction)
    cur = {}
    for g in groups:
        if g == "all":
            sub = d[d[time_col].notna()]
        else:
            m = g.split("_")[0]
            sub = d[d[time_col].notna() & (d[study.MARKERS[m]] == (1 if g.endswith("high") else 0))]
        cur[g] = float(study.survival.km_summary(sub, time_col, event_col)["median"].iloc[0])
    return cur


def _fit_medians(df, time_col, event_col, targets, cap=None, rounds: int = 6):
    """Warp ``time_col`` so each group's KM median equals its (printed) target.

    The warp is monotone, so ranks (and with them log-rank and Cox results) are kept. With
    ``cap`` (``"os"``), times pushed beyond the patient's OS time are set to it (a PFS event
    then becomes the OS status), and the warp is repeated (at most ``rounds`` times) until
    every median rounds to its target (best effort: the calibration scores the result).
    Returns the new table, or ``None`` if the current medians are not reached or not in the
    targets' order (no monotone map exists)."""
    df = df.copy()
    for _ in range(rounds):
        cur = _group_medians(df, time_col, event_col, targets)
        if any(np.isnan(v) for v in cur.values()):
            return None
        if all(abs(round(cur[g] + 1e-9, 1) - targets[g]) < 1e-9 for g in targets):
            return df
        order = sorted(targets, key=lambda g: cur[g])
        tv = [targets[g] for g in order]
        cv = [cur[g] for g in order]
        # equal printed targets (e.g. 9.7 and 9.7) are spread inside the rounding interval
        adj = list(tv)
        for i in range(1, len(adj)):
            if adj[i] <= adj[i - 1] + 1e-9:
                adj[i] = adj[i - 1] + 0.02
        if any(b <= a for a, b in zip(cv, cv[1:])) or any(abs(round(a, 1) - t) > 0.051 for a, t in zip(adj, tv)):
            return None
        t = df[time_col].to_numpy(float)
        ok = ~np.isnan(t)
        out = t.copy()
        out[ok] = np.round(_warp(t[ok], cv, adj), 2)
        if cap is not None:
            os_t = df["os_months"].to_numpy(float)
            over = ok & (out > os_t)
            out[over] = os_t[over]
            if time_col == "pfs_months":
                ev = df[event_col].to_numpy(float)
                ev[over] = df["os_event"].to_numpy(float)[over]
                df[event_col] = ev
        df[time_col] = out
    # not every median could be placed (a capped time cannot move past the patient's OS):
    # the best effort is returned and the calibration's score counts the misses
    return df


def _censor_individual(r, t, follow, n_events):
    """Observed (time, event) with exactly ``n_events`` events: each patient censored at
    ``follow`` (their own end of follow-up) or an exponential drop-out, rate by bisection."""
    e = r.exponential(size=t.size)
    base = int(np.sum(t <= follow))
    if base < n_events:
        # too few events before death or the last visit: the patients whose latent time is
        # closest beyond their follow-up have it at their last laboratory visit instead
        # (terminal liver dysfunction); at most MAX_LIFTED of them
        if n_events - base > MAX_LIFTED:
            return None
        ratio = np.full(t.size, np.inf)
        np.divide(t, follow, out=ratio, where=(t > follow) & (follow > 0))
        lift = np.argsort(ratio, kind="stable")[: n_events - base]
        t = t.copy()
        t[lift] = follow[lift] * r.uniform(0.9, 1.0, lift.size)
        base = n_events

    def count(rate):
        return int(np.sum(t <= np.minimum(follow, e / rate))) if rate > 0 else base
    lo, hi = 0.0, 1.0
    while count(hi) > n_events:
        hi *= 2
    if base > n_events:
        for _ in range(200):
            mid = (lo + hi) / 2
            c = count(mid)
            if c == n_events:
                hi = mid
                break
            lo, hi = (mid, hi) if c > n_events else (lo, mid)
    rate = hi if base > n_events else 0.0
    cens = np.minimum(follow, e / rate) if rate > 0 else follow
    ev = (t <= cens).astype(int)
    if ev.sum() != n_events:
        return None
    return np.where(ev == 1, t, cens), ev


#: The scorecard's verdicts that count as a reproduction (:data:`helpers.scorecard.REQUIRED`).
REPRODUCED = tuple(scorecard.REQUIRED.values())


def _score(pub, df, sections) -> int:
    """How many published numbers the analysis of ``df`` (:func:`helpers.studies.soramic.reproduce`,
    the given sections) reproduces by the scorecard's own rule (:func:`helpers.scorecard.judge`)."""
    est = pd.concat([study.reproduce(df, None, s) for s in sections], ignore_index=True).set_index("key")
    rows = pub[pub.index.isin(est.index) & (pub["tolerance"] != "info")]
    return sum(scorecard.judge(row, est.loc[key])[0] in REPRODUCED for key, row in rows.iterrows())


def _median0_for_group(lp, mask, shape, target) -> float:
    """The reference (lp = 0) Weibull median that gives the patients in ``mask`` (a mixture
    over their linear predictors) a latent median of ``target``."""
    lp = np.asarray(lp, float)[np.asarray(mask, bool)]
    lo, hi = 1e-8, 1e3

    def surv(lam):
        return np.mean(np.exp(-lam * target ** shape * np.exp(lp)))
    for _ in range(200):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if surv(mid) > 0.5 else (lo, mid)
    return float((np.log(2.0) / mid) ** (1.0 / shape))


def _os(r, df, pub, scale: float = 1.0):
    lp = sum(np.log(float(pub.loc[f"soramic_os_hr_{t}_m1", "value"])) * df[t].to_numpy(float)
             for t in study.MODELS[("os", "m1")]) * scale
    t = weibull_ph_times(r, lp, median0=float(pub.loc["soramic_os_median_il6_low", "value"]) * 1.2, shape=SHAPE["os"])
    n_events = int(pub.loc["soramic_os_events_all", "value"])
    try:
        time, event = censor_for_events(r, t, n_events, max_follow_up=66.0, accrual=30.0)
    except ValueError:
        return None
    return np.round(time, 2), event


def _ld(r, df, pub, scale: float = 1.0):
    n_avail = int(pub.loc["soramic_ld_count_available", "value"])
    n_events = int(pub.loc["soramic_ld_events_all", "value"])
    n = len(df)
    lp = sum(np.log(float(pub.loc[f"soramic_ld_hr_{t}_m1", "value"])) * df[t].to_numpy(float)
             for t in study.MODELS[("ld", "m1")]) * scale
    lp = lp + np.log(LD_IL8_HR) * df["il8_high"].to_numpy(float)
    m0 = _median0_for_group(lp, df["il6_high"] == 1, SHAPE["ld"],
                            float(pub.loc["soramic_ld_median_il6_high", "value"]) * LD_MEDIAN_FACTOR)
    t = weibull_ph_times(r, lp, median0=m0, shape=SHAPE["ld"])
    # last laboratory follow-up: the end of OS follow-up, a little earlier for most
    # (laboratory visits every 2 months until death or the end of follow-up)
    os_t = df["os_months"].to_numpy(float)
    follow = np.maximum(os_t - r.uniform(0, 1.0, n), 0.8 * os_t)
    res = _censor_individual(r, t, follow, n_events)
    if res is None:
        return None
    time, event = res
    # the patients without follow-up bilirubin are drawn among those without an event
    missing = r.choice(np.flatnonzero(event == 0), size=n - n_avail, replace=False)
    time, event = time.astype(float), event.astype(float)
    time[missing], event[missing] = np.nan, np.nan
    return np.round(time, 2), event


def _pfs(r, df, pub):
    n = len(df)
    lp = sum(np.log(PFS_HR[t]) * df[t].to_numpy(float) for t in PFS_HR)
    m0 = _median0_for_group(lp, df["il6_high"] == 1, SHAPE["pfs"], float(pub.loc["soramic_pfs_median_il6_high", "value"]))
    prog = weibull_ph_times(r, lp, median0=m0, shape=SHAPE["pfs"])
    os_t, os_e = df["os_months"].to_numpy(float), df["os_event"].to_numpy(int)
    time = np.minimum(prog, os_t)
    event = np.where(prog <= os_t, 1, os_e).astype(float)
    n_missing = len(df) - int(pub.loc["soramic_pfs_count_available", "value"])
    missing = r.choice(n, size=n_missing, replace=False)
    time[missing], event[missing] = np.nan, np.nan
    return np.round(time, 2), event


def _progressions_before_ld(df, target, r):
    """Make exactly ``target`` liver-dysfunction events have a progression diagnosed at their
    time (within the default progression window, :class:`helpers.studies.soramic.Params`, before), by moving
    the progression of the fewest patients: out of the window to an earlier visit, or into it."""
    w = study.PARAMS.window
    d = df.copy()
    ld_t = d["liver_dysfunction_months"]
    at = study._progression_at_ld(d, w)
    idx = list(np.flatnonzero(at.to_numpy()))
    if len(idx) > target:
        for k in r.permutation(idx)[: len(idx) - target]:
            i = d.index[k]
            new = round(ld_t[i] - w - r.uniform(0.1, 2.0), 2)
            if new <= 0:
                return None
            d.loc[i, "pfs_months"] = new
    elif len(idx) < target:
        cand = np.flatnonzero(((d["liver_dysfunction_event"] == 1) & ~at & (ld_t > w)
                               & d["pfs_months"].notna()).to_numpy())
        if len(cand) < target - len(idx):
            return None
        for k in r.permutation(cand)[: target - len(idx)]:
            i = d.index[k]
            d.loc[i, "pfs_months"] = round(ld_t[i] - r.uniform(0.0, w), 2)
            d.loc[i, "pfs_event"] = 1.0
    return d


def _outcomes(seed, cov, pub):
    """Step 4 and 5: search the outcome draws (deterministic), endpoint by endpoint."""
    base = cov.copy()
    base.insert(0, "patient_id", [f"SYN-SOR-{k + 1:03d}" for k in range(len(base))])
    base.insert(1, "cohort", "soramic")
    groups = ["all", "il6_low", "il6_high", "il8_low", "il8_high"]

    def search(ep, draw, parts):
        best = None
        for k in range(CALIBRATION_DRAWS):
            r = make_rng(seed * 1000 + {"os": 1, "ld": 2, "pfs": 3}[ep] * 100 + k)
            with warnings.catch_warnings():
                # a candidate may have a group without events (a Cox coefficient at infinity):
                # it simply scores low
                warnings.simplefilter("ignore", RuntimeWarning)
                cand = draw(r, k)
                if cand is None:
                    continue
                s = _score(pub, cand, parts)
            if best is None or s > best[0]:
                best = (s, k, cand)
        if best is None:
            raise ValueError(f"soramic synth: no admissible {ep} draw in {CALIBRATION_DRAWS} tries")
        return best[2]

    def draw_os(r, k):
        d = base.copy()
        res = _os(r, d, pub, EFFECT_SCALES[k % len(EFFECT_SCALES)])
        if res is None:
            return None
        d["os_months"], d["os_event"] = res
        return _fit_medians(d, "os_months", "os_event", _median_targets(pub, "os", groups))

    d = search("os", draw_os, ("survival",))

    def draw_ld(r, k):
        x = d.copy()
        res = _ld(r, x, pub, EFFECT_SCALES[k % len(EFFECT_SCALES)])
        if res is None:
            return None
        x["liver_dysfunction_months"], x["liver_dysfunction_event"] = res
        return _fit_medians(x, "liver_dysfunction_months", "liver_dysfunction_event",
                            _median_targets(pub, "ld", groups), cap="os")

    d = search("ld", draw_ld, ("ld",))

    def draw_pfs(r, k):
        x = d.copy()
        x["pfs_months"], x["pfs_event"] = _pfs(r, x, pub)
        x = _fit_medians(x, "pfs_months", "pfs_event", _median_targets(pub, "pfs", groups), cap="os")
        if x is None:
            return None
        target = int(pub.loc["soramic_ld_count_progression_before_ld", "value"])
        x = _progressions_before_ld(x, target, r)
        if x is None or study.progression_before_ld(x) != target:
            return None
        # the moved progressions may have shifted a median: warp once more if that keeps the count
        again = _fit_medians(x, "pfs_months", "pfs_event", _median_targets(pub, "pfs", groups), cap="os")
        if again is not None and study.progression_before_ld(again) == target:
            return again
        return x

    return search("pfs", draw_pfs, ("pfs", "ldcp"))


# ----------------------------------------------------------------------------- flow
def _flow(pub, n_analysed: int) -> pd.DataFrame:
    n_all = int(pub.loc["soramic_flow_count_palliative_arm", "value"])
    n_rand = int(pub.loc["soramic_flow_count_randomised_re_sorafenib", "value"])
    n_re = int(pub.loc["soramic_flow_count_received_re", "value"])
    if n_rand - n_re != int(pub.loc["soramic_flow_count_no_re", "value"]):
        raise ValueError("soramic synth: flow counts 216 - 183 != 33 in data/published/soramic.csv")
    arm = ["re_sorafenib"] * n_rand + ["sorafenib"] * (n_all - n_rand)
    received = [1] * n_re + [0] * (n_rand - n_re) + [0] * (n_all - n_rand)
    sample = [1] * n_analysed + [0] * (n_all - n_analysed)
    return pd.DataFrame({"screening_id": [f"SYN-SOR-S{k + 1:03d}" for k in range(n_all)], "arm": arm,
                         "received_re": received, "baseline_sample": sample})


# ----------------------------------------------------------------------------- entry point
COHORT_COLUMNS = ["patient_id", "cohort", "age_years", "male", "white", "ecog", "cirrhosis", "hbv", "hcv",
                  "alcohol", "previous_tace", "diffuse_disease", "target_lesion_mm", "pvi",
                  "extrahepatic_spread", "child_pugh_class", "bclc_stage", "up_to_7_out", "afp_ng_ml",
                  "albumin_g_l", "bilirubin_umol_l", "il6_pg_ml", "il8_pg_ml", "os_months", "os_event",
                  "pfs_months", "pfs_event", "liver_dysfunction_months", "liver_dysfunction_event"]


def generate(seed: int = SEED) -> dict:
    """``{"soramic_cohort": 83 synthetic patients, "soramic_flow": 424 screened patients}``."""
    pub = _pub()
    cov = _covariates(seed, pub)
    d = _outcomes(seed, cov, pub)
    cohort = d[COHORT_COLUMNS].copy()
    for c in ("ecog", "os_event", "pfs_event", "liver_dysfunction_event"):
        cohort[c] = cohort[c].astype("Int64")
    for c in ("male", "white", "cirrhosis", "hbv", "hcv", "alcohol", "previous_tace", "diffuse_disease",
              "pvi", "extrahepatic_spread", "up_to_7_out"):
        cohort[c] = cohort[c].astype(int)
    return {"soramic_cohort": cohort, "soramic_flow": _flow(pub, len(cohort))}
