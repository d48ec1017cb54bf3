"""Analysis steps of the PBIS study (peripheral blood inflammatory score under atezolizumab +
bevacizumab), shared by the ``pbis_*`` chapters and ``tests/test_study_pbis.py``.

Every function takes the cohort (as read by :func:`helpers.contract.read_cohort`) and
returns a tidy DataFrame; nothing here draws or prints.

Conventions
-----------
- Groups: a marker is *high* when ``>= cut-off`` (the paper: "NLR>=3.5; CRP>=0.13 mg/dL;
  IL-12>=11.6 pg/mL; IL-2>=3.2"), one point each; PBIS = 0-4 points; PBIShi =
  ``points >= threshold`` (2). Reference group everywhere: the low group (PBISlo), so an
  HR > 1 means PBIShi does worse.
- Survival: Kaplan-Meier with log CI (R ``survfit``), log-rank (R ``survdiff``), Cox with
  Efron ties and Wald CI/p (R ``coxph``): :mod:`helpers.survival`.
- Objective response: Pearson's chi-square *without* continuity correction (the paper's
  "chi-square test"), with Yates' correction and Fisher's exact p beside it.
- Multivariable models (Table 3 and S3 were images, the adjustment sets are not printed):
  each score is adjusted for the clinical factors the text names as associated with the
  endpoint (:data:`OS_ADJUST`, :data:`PFS_ADJUST`, :data:`ORR_ADJUST`); AFP and PIVKA-II
  enter as log10.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from helpers import scores, survival

COHORTS = ("derivation", "validation", "lenvatinib")
AB_COHORTS = ("derivation", "validation")
CYTOKINES = ("ifng_pg_ml", "il10_pg_ml", "il12_pg_ml", "il17_pg_ml", "il2_pg_ml", "il6_pg_ml", "tnf_pg_ml")
CYTOKINE_LABELS = {"ifng_pg_ml": "IFN-γ", "il10_pg_ml": "IL-10", "il12_pg_ml": "IL-12", "il17_pg_ml": "IL-17",
                   "il2_pg_ml": "IL-2", "il6_pg_ml": "IL-6", "tnf_pg_ml": "TNF-α"}
#: Short names used in the published ids (``total_r_il10_afp``).
CYTOKINE_IDS = {"ifng_pg_ml": "ifng", "il10_pg_ml": "il10", "il12_pg_ml": "il12", "il17_pg_ml": "il17",
                "il2_pg_ml": "il2", "il6_pg_ml": "il6", "tnf_pg_ml": "tnf"}
#: The PBIS markers: column -> (short id, label, key in :data:`helpers.scores.PBIS_CUTOFFS`).
PBIS_MARKERS = {"nlr": ("nlr", "NLR", "nlr"), "crp_mg_dl": ("crp", "CRP (mg/dL)", "crp_mg_dl"),
                "il12_pg_ml": ("il12", "IL-12 (pg/mL)", "il12_pg_ml"), "il2_pg_ml": ("il2", "IL-2 (pg/mL)", "il2")}
#: The paper's cut-offs (read from data/published/pbis.csv by the chapters; these are the defaults).
DEFAULT_CUTOFFS = {"nlr": 3.5, "crp_mg_dl": 0.13, "il12_pg_ml": 11.6, "il2_pg_ml": 3.2}
DEFAULT_THRESHOLD = 2
#: Baseline characteristics correlated with the cytokines (Fig S1/S2), id -> column.
CORRELATION_VARIABLES = {"tumor_size": "tumor_size_cm", "child_pugh_score": "child_pugh_score", "afp": "afp_ng_ml",
                         "pivka_ii": "pivka_ii_mau_ml", "ecog": "ecog", "age": "age_years"}
OS_ADJUST = ["ecog", "child_pugh_score", "log10_afp", "tumor_size_cm"]
PFS_ADJUST = ["previous_treatment", "viral_etiology", "log10_afp", "log10_pivka_ii", "ecog", "multiple_tumors",
              "tumor_size_cm"]
ORR_ADJUST = ["ecog", "log10_afp", "tumor_size_cm"]
#: Covariates of the propensity model (Table S4 was an image: our choice, stated in the chapter).
PS_COVARIATES = ["age_years", "male", "viral_etiology", "ecog", "child_pugh_score", "tumor_size_cm",
                 "multiple_tumors", "macrovascular_invasion", "extrahepatic_spread", "log10_afp"]
#: Scores compared in Table S3: column -> label.
SCORES = {"pbis_high": "PBIS (>= 2 of 4)", "crafity_high": "CRAFITY (>= 1 point)", "nlr_high": "NLR alone",
          "crp_high": "CRP alone", "pbis_without_il2": "PBIS without IL-2", "pbis_without_il12": "PBIS without IL-12",
          "nlr_crp": "NLR + CRP only"}
#: Published id fragment of each score in Table S3.
SCORE_IDS = {"pbis_high": "pbis_high", "crafity_high": "crafity", "nlr_high": "nlr_high", "crp_high": "crp_high",
             "pbis_without_il2": "pbis_without_il2", "pbis_without_il12": "pbis_without_il12", "nlr_crp": "nlr_crp"}
ENDPOINTS = {"os": ("os_months", "os_event"), "pfs": ("pfs_months", "pfs_event")}
GROUP_LABELS = {0: "PBISlo", 1: "PBIShi"}


def _log10(x: pd.Series) -> pd.Series:
    return np.log10(pd.to_numeric(x, errors="coerce").clip(lower=0) + 1.0)


def add_scores(df: pd.DataFrame, cutoffs: dict | None = None, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """A copy of ``df`` with the marker groups and scores.

    Adds ``nlr_high``, ``crp_high``, ``il12_high``, ``il2_high`` (1 = at or above the cut-off),
    ``pbis_points`` (0-4, :func:`helpers.scores.pbis`), ``pbis_high`` (points >= ``threshold``),
    ``pbis_group`` (Categorical PBISlo < PBIShi), the ablations ``pbis_without_il2``,
    ``pbis_without_il12`` (>= ``threshold`` of the 3 remaining points) and ``nlr_crp``
    (>= ``threshold`` of NLR and CRP, i.e. both), and where the columns exist
    ``crafity_points``/``crafity_high`` (>= 1 point), ``log10_afp``, ``log10_pivka_ii``
    (log10(x + 1)).
    """
    cut = dict(DEFAULT_CUTOFFS)
    cut.update({k: float(v) for k, v in (cutoffs or {}).items()})
    out = df.copy()
    for col, (short, _, _) in PBIS_MARKERS.items():
        x = pd.to_numeric(out[col], errors="coerce")
        out[f"{short}_high"] = np.where(x.isna(), np.nan, (x >= cut[col]).astype(float))
    out["pbis_points"] = scores.pbis(out["nlr"], out["crp_mg_dl"], out["il12_pg_ml"], out["il2_pg_ml"],
                                     cutoffs={"nlr": cut["nlr"], "crp_mg_dl": cut["crp_mg_dl"],
                                              "il12_pg_ml": cut["il12_pg_ml"], "il2": cut["il2_pg_ml"]})
    out["pbis_high"] = scores.pbis_high(out["pbis_points"], threshold)
    out["pbis_group"] = pd.Categorical(out["pbis_high"].map(GROUP_LABELS), categories=["PBISlo", "PBIShi"])
    wo_il2 = out["nlr_high"] + out["crp_high"] + out["il12_high"]
    wo_il12 = out["nlr_high"] + out["crp_high"] + out["il2_high"]
    out["pbis_without_il2"] = np.where(wo_il2.isna(), np.nan, (wo_il2 >= threshold).astype(float))
    out["pbis_without_il12"] = np.where(wo_il12.isna(), np.nan, (wo_il12 >= threshold).astype(float))
    nc = out["nlr_high"] + out["crp_high"]
    out["nlr_crp"] = np.where(nc.isna(), np.nan, (nc >= min(threshold, 2)).astype(float))
    if "afp_ng_ml" in out:
        out["log10_afp"] = _log10(out["afp_ng_ml"])
        out["crafity_points"] = scores.crafity(out["crp_mg_dl"], out["afp_ng_ml"])
        out["crafity_high"] = np.where(out["crafity_points"].isna(), np.nan, (out["crafity_points"] >= 1).astype(float))
    if "pivka_ii_mau_ml" in out:
        out["log10_pivka_ii"] = _log10(out["pivka_ii_mau_ml"])
    return out


def ab_patients(df: pd.DataFrame) -> pd.DataFrame:
    """The atezolizumab + bevacizumab patients (derivation + validation)."""
    return df[df["cohort"].astype(str).isin(AB_COHORTS)].copy()


def cohort(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows of one cohort."""
    return df[df["cohort"].astype(str) == name].copy()


# --------------------------------------------------------------------------- response
def response_table(df: pd.DataFrame, group: str = "pbis_high") -> pd.DataFrame:
    """Objective response per group: ``group`` (0/1), ``label``, ``responders``, ``n``,
    ``percent``; and in every row the two-group tests: ``p`` (Pearson chi-square without
    continuity correction), ``p_yates``, ``p_fisher`` (two-sided), ``odds_ratio`` (high vs
    low, unconditional sample OR)."""
    d = df[[group, "objective_response"]].dropna()
    rows = []
    for g in (0, 1):
        sub = d[d[group] == g]
        r, n = int(sub["objective_response"].sum()), len(sub)
        rows.append(dict(group=g, label=GROUP_LABELS[g] if group == "pbis_high" else f"{group}={g}", responders=r, n=n,
                         percent=100.0 * r / n if n else math.nan))
    out = pd.DataFrame(rows)
    table = np.array([[out.responders[1], out.n[1] - out.responders[1]], [out.responders[0], out.n[0] - out.responders[0]]])
    p = p_yates = p_fisher = odds = math.nan
    if (out["n"] > 0).all() and table.sum(axis=0).min() > 0:
        p = float(stats.chi2_contingency(table, correction=False)[1])
        p_yates = float(stats.chi2_contingency(table, correction=True)[1])
        odds, p_fisher = stats.fisher_exact(table)
        odds = float(table[0, 0] * table[1, 1] / (table[0, 1] * table[1, 0])) if table[0, 1] * table[1, 0] else math.inf
    out["p"], out["p_yates"], out["p_fisher"], out["odds_ratio"] = p, p_yates, float(p_fisher), odds
    return out


# --------------------------------------------------------------------------- survival
def outcome_comparison(df: pd.DataFrame, endpoint: str, group: str = "pbis_high") -> pd.DataFrame:
    """One endpoint (``"os"`` or ``"pfs"``) compared between the low (0, reference) and high (1)
    group: one row per group with ``n``, ``events``, ``median``, ``median_lower``,
    ``median_upper`` (months, R survfit rule, log CI); and in both rows the Cox ``hr``,
    ``lower``, ``upper``, ``p_wald`` (high vs low, Efron) and the log-rank ``p_logrank``."""
    time, event = ENDPOINTS[endpoint]
    d = df[[time, event, group]].dropna().copy()
    d[group] = d[group].astype(int)
    km = survival.km_summary(d, time, event, group)
    km["group"] = km["group"].astype(int)
    km.insert(1, "label", km["group"].map(GROUP_LABELS) if group == "pbis_high" else km["group"].astype(str))
    hr = lower = upper = p_wald = p_lr = math.nan
    if d[group].nunique() == 2 and d[event].sum() > 0:
        res = survival.cox(d, time, event, [group])
        row = res.table.iloc[0]
        hr, lower, upper, p_wald = float(row.hr), float(row.lower), float(row.upper), float(row.p)
        p_lr = float(survival.logrank(d, time, event, group)["p"].iloc[0])
    km["hr"], km["lower"], km["upper"], km["p_wald"], km["p_logrank"] = hr, lower, upper, p_wald, p_lr
    km.insert(0, "endpoint", endpoint)
    return km


def km_curves(df: pd.DataFrame, endpoint: str, group: str = "pbis_group") -> pd.DataFrame:
    """Kaplan-Meier curves per group (:func:`helpers.survival.km_table`)."""
    time, event = ENDPOINTS[endpoint]
    return survival.km_table(df.dropna(subset=[time, event, group]), time, event, group)


def sensitivity_thresholds(df: pd.DataFrame, thresholds=(1, 2, 3, 4)) -> pd.DataFrame:
    """Table 2: univariable Cox of PBIS >= k vs < k for OS and PFS. Columns ``endpoint``,
    ``threshold``, ``n_high``, ``n_low``, ``hr``, ``lower``, ``upper``, ``p`` (Wald), ``best``
    (True at the smallest p per endpoint)."""
    rows = []
    for ep, (time, event) in ENDPOINTS.items():
        for k in thresholds:
            d = df[[time, event, "pbis_points"]].dropna().copy()
            d["ge"] = (d["pbis_points"] >= k).astype(int)
            n_high = int(d["ge"].sum())
            r = dict(endpoint=ep, threshold=k, n_high=n_high, n_low=len(d) - n_high,
                     hr=math.nan, lower=math.nan, upper=math.nan, p=math.nan)
            if 0 < n_high < len(d):
                t = survival.cox(d, time, event, ["ge"]).table.iloc[0]
                r.update(hr=float(t.hr), lower=float(t.lower), upper=float(t.upper), p=float(t.p))
            rows.append(r)
    out = pd.DataFrame(rows)
    out["best"] = out.groupby("endpoint")["p"].transform(lambda s: s == s.min())
    return out


def best_threshold(sens: pd.DataFrame) -> float:
    """The threshold with the smallest p for both OS and PFS (NaN if they disagree)."""
    best = sens[sens["best"]].groupby("endpoint")["threshold"].min()
    return float(best.iloc[0]) if best.nunique() == 1 else math.nan


# --------------------------------------------------------------------------- Table S1, cut-offs
def univariable_markers(df: pd.DataFrame, markers=None) -> pd.DataFrame:
    """Table S1 (our reading): univariable Cox per marker on ``log2(marker + 1)`` (HR per
    doubling), OS and PFS. Columns ``endpoint``, ``marker``, ``id`` (short name), ``hr``,
    ``lower``, ``upper``, ``p``, ``n``, ``events``."""
    markers = list(markers or (["nlr", "crp_mg_dl"] + [c for c in CYTOKINES if c in df]))
    rows = []
    for ep, (time, event) in ENDPOINTS.items():
        for m in markers:
            if m not in df:
                continue
            d = df[[time, event, m]].dropna().copy()
            d["log2_marker"] = np.log2(pd.to_numeric(d[m]).clip(lower=0) + 1.0)
            res = survival.cox(d, time, event, ["log2_marker"])
            t = res.table.iloc[0]
            short = PBIS_MARKERS[m][0] if m in PBIS_MARKERS else CYTOKINE_IDS[m]
            rows.append(dict(endpoint=ep, marker=m, id=short, hr=float(t.hr), lower=float(t.lower),
                             upper=float(t.upper), p=float(t.p), n=res.n, events=res.events))
    return pd.DataFrame(rows)


def cutoff_search(df: pd.DataFrame, marker: str, endpoint: str = "os", *, minprop: float = 0.1,
                  maxprop: float = 0.9, seed: int = 20231):
    """The paper's minimum log-rank p search for ``marker`` and the maxstat test of the same
    search (:func:`helpers.maxstat.min_pvalue_search`, :func:`helpers.maxstat.maxstat_test`).

    Returns ``(summary, curve)``: ``summary`` one row (``marker``, ``endpoint``,
    ``cutoff_minp`` (high = marker >= cut), ``p_min`` (uncorrected), ``cutoff_maxstat``
    (low = marker <= cut), ``statistic``, ``p_maxstat`` (Lau94), ``p_ratio``); ``curve`` the
    plain log-rank p at every candidate cut.
    """
    from helpers import maxstat

    time, event = ENDPOINTS[endpoint]
    d = df[[time, event, marker]].dropna()
    mp = maxstat.min_pvalue_search(d, time, event, marker, minprop=minprop, maxprop=maxprop, high_if=">=")
    ms = maxstat.maxstat_test(d, time, event, marker, minprop=minprop, maxprop=maxprop, pmethods=("Lau94",), seed=seed)
    p_ms = ms.p("Lau94")
    summary = pd.DataFrame([dict(marker=marker, endpoint=endpoint, cutoff_minp=float(mp.cutoff), p_min=float(mp.p_min),
                                 cutoff_maxstat=float(ms.cutoff), statistic=float(ms.statistic), p_maxstat=p_ms,
                                 p_ratio=p_ms / mp.p_min if mp.p_min > 0 else math.nan)])
    curve = mp.curve.copy()
    curve.insert(0, "marker", marker)
    return summary, curve


def resolve_cutoffs(df: pd.DataFrame, requested: dict, endpoint: str = "os") -> pd.DataFrame:
    """Turn the chapter parameters into numbers: each ``requested[column]`` is a number or
    ``"minp"`` (derive it by the minimum log-rank p on ``endpoint`` in ``df``). Returns
    ``marker``, ``cutoff``, ``how``."""
    from helpers import maxstat

    rows = []
    for col, value in requested.items():
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, str):
            if value.strip().lower() != "minp":
                raise ValueError(f"cut-off for {col!r}: expected a number or 'minp', got {value!r}")
            time, event = ENDPOINTS[endpoint]
            d = df[[time, event, col]].dropna()
            cut = float(maxstat.min_pvalue_search(d, time, event, col, high_if=">=").cutoff)
            rows.append(dict(marker=col, cutoff=cut, how=f"minimum log-rank p ({endpoint.upper()}) in this cohort"))
        else:
            rows.append(dict(marker=col, cutoff=float(value), how="given"))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- cytokines
def correlations(df: pd.DataFrame, cytokines=CYTOKINES, variables: dict | None = None) -> pd.DataFrame:
    """Spearman's rank correlation of each cytokine with each baseline characteristic (pairwise
    complete). Columns ``cytokine``, ``cytokine_id``, ``variable``, ``variable_id``, ``r``,
    ``p`` (scipy ``spearmanr``: t approximation, ties by average ranks, as R
    ``cor.test(method = "spearman", exact = FALSE)``), ``n``."""
    variables = variables or CORRELATION_VARIABLES
    rows = []
    for c in cytokines:
        if c not in df:
            continue
        for vid, v in variables.items():
            if v not in df:
                continue
            d = df[[c, v]].apply(pd.to_numeric, errors="coerce").dropna()
            r, p = stats.spearmanr(d[c], d[v]) if len(d) > 2 else (math.nan, math.nan)
            rows.append(dict(cytokine=c, cytokine_id=CYTOKINE_IDS[c], variable=v, variable_id=vid,
                             r=float(r), p=float(p), n=len(d)))
    return pd.DataFrame(rows)


def jonckheere_terpstra(values, groups) -> tuple[float, float, float]:
    """Jonckheere-Terpstra test for an increasing trend of ``values`` over ordered ``groups``.

    Returns ``(J, z, p)``: ``J`` = sum over group pairs i < j of #(x_i < x_j) + 0.5 #(ties);
    normal approximation with the tie-corrected variance (Hollander & Wolfe 1999, eq. 6.19);
    ``p`` two-sided.
    """
    x = np.asarray(values, dtype=float)
    g = np.asarray(groups)
    levels = np.sort(np.unique(g))
    samples = [x[g == lv] for lv in levels]
    J = 0.0
    for i in range(len(samples)):
        for j in range(i + 1, len(samples)):
            a, b = samples[i][:, None], samples[j][None, :]
            J += float((a < b).sum() + 0.5 * (a == b).sum())
    n_i = np.array([len(s) for s in samples], dtype=float)
    N = n_i.sum()
    mean = (N ** 2 - (n_i ** 2).sum()) / 4.0
    _, t = np.unique(x, return_counts=True)
    t = t.astype(float)
    var = ((N * (N - 1) * (2 * N + 5) - (n_i * (n_i - 1) * (2 * n_i + 5)).sum() - (t * (t - 1) * (2 * t + 5)).sum()) / 72.0
           + ((n_i * (n_i - 1) * (n_i - 2)).sum() * (t * (t - 1) * (t - 2)).sum()) / (36.0 * N * (N - 1) * (N - 2))
           + ((n_i * (n_i - 1)).sum() * (t * (t - 1)).sum()) / (8.0 * N * (N - 1)))
    z = (J - mean) / math.sqrt(var) if var > 0 else math.nan
    return J, z, float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else math.nan


def trend_by_pbis(df: pd.DataFrame, cytokines=CYTOKINES) -> pd.DataFrame:
    """Fig S3: median cytokine per PBIS level and the Jonckheere-Terpstra trend test across
    PBIS 0-4. Columns ``cytokine``, ``cytokine_id``, ``pbis_points``, ``n``, ``median``, ``q1``,
    ``q3`` (R type 7), ``J``, ``z``, ``p_trend``."""
    rows = []
    for c in cytokines:
        if c not in df:
            continue
        d = df[[c, "pbis_points"]].apply(pd.to_numeric, errors="coerce").dropna()
        J, z, p = jonckheere_terpstra(d[c], d["pbis_points"])
        for k, sub in d.groupby("pbis_points"):
            q = np.quantile(sub[c], [0.25, 0.5, 0.75])
            rows.append(dict(cytokine=c, cytokine_id=CYTOKINE_IDS[c], pbis_points=int(k), n=len(sub),
                             median=q[1], q1=q[0], q3=q[2], J=J, z=z, p_trend=p))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- multivariable
def multivariable(df: pd.DataFrame, outcome: str, score: str, adjust: list[str]) -> pd.DataFrame:
    """``score`` adjusted for ``adjust``: Cox for ``outcome`` in ``"os"``/``"pfs"`` (HR),
    logistic regression for ``"orr"`` (OR of objective response). The full model table with
    ``estimate`` (HR or OR), ``lower``, ``upper``, ``p``, ``n`` and ``outcome``, ``score``."""
    from helpers import regression

    adjust = [a for a in adjust if a != score]
    if outcome == "orr":
        t = regression.logistic(df, "objective_response", [score] + adjust)
        t = t.rename(columns={"or": "estimate"})
    else:
        time, event = ENDPOINTS[outcome]
        res = survival.cox(df, time, event, [score] + adjust)
        t = res.table.rename(columns={"hr": "estimate"})
        t["n"] = res.n
    t.insert(0, "outcome", outcome)
    t.insert(1, "score", score)
    return t[["outcome", "score", "term", "estimate", "lower", "upper", "p", "n"]]


def score_comparison(df: pd.DataFrame, scores_=None, adjust: dict | None = None) -> pd.DataFrame:
    """Table S3: each score's adjusted HR for OS and PFS (and OR for ORR for PBIS), one row per
    score and outcome: ``outcome``, ``score``, ``label``, ``estimate``, ``lower``, ``upper``,
    ``p``, ``n``."""
    adjust = adjust or {"os": OS_ADJUST, "pfs": PFS_ADJUST, "orr": ORR_ADJUST}
    rows = []
    for s in scores_ or SCORES:
        if s not in df or df[s].nunique() < 2:
            continue
        for outcome in ("os", "pfs"):
            t = multivariable(df, outcome, s, adjust[outcome])
            rows.append(t[t["term"] == s].iloc[0])
    out = pd.DataFrame(rows).reset_index(drop=True)
    out.insert(2, "label", out["score"].map(SCORES))
    return out


def prepare(cohort_df: pd.DataFrame, *, nlr_cutoff=3.5, crp_cutoff=0.13, il12_cutoff=11.6, il2_cutoff=3.2,
            threshold=DEFAULT_THRESHOLD, endpoint: str = "os") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chapters' first step: resolve the cut-off parameters (numbers or ``"minp"``, derived
    in the derivation cohort, or in the whole cohort if it has no derivation rows) and add the
    scores. Returns ``(scored cohort, cut-off table)``."""
    is_deriv = cohort_df["cohort"].astype(str) == "derivation"
    base = cohort_df[is_deriv] if is_deriv.any() else cohort_df
    table = resolve_cutoffs(base, {"nlr": nlr_cutoff, "crp_mg_dl": crp_cutoff, "il12_pg_ml": il12_cutoff,
                                   "il2_pg_ml": il2_cutoff}, endpoint)
    cut = dict(zip(table["marker"], table["cutoff"]))
    return add_scores(cohort_df, cut, int(threshold)), table


def has_cohort(df: pd.DataFrame, name: str, min_rows: int = 4) -> bool:
    """True if ``df`` holds at least ``min_rows`` patients of cohort ``name`` with both PBIS groups."""
    part = df[df["cohort"].astype(str) == name]
    return len(part) >= min_rows and part["pbis_high"].nunique() == 2


def reproduce(df: pd.DataFrame, *, caliper: float = 0.2) -> pd.DataFrame:
    """The judged published numbers computed from a scored cohort (:func:`prepare`), as
    results rows (``key``, ``estimate``, ``lower``, ``upper``, ``p``, ``n``): counts, response
    rates and tests, hazard and odds ratios, correlations, trends. The chapters record the same
    quantities with the same functions; the tests use this to check a cohort in one call.
    Cohorts or columns that are absent are left out."""
    from helpers import matching

    rows = []

    def add(key, estimate, lower=None, upper=None, p=None, n=None):
        rows.append(dict(key=key, estimate=estimate, lower=lower, upper=upper, p=p, n=n))

    sizes = df.groupby(df["cohort"].astype(str)).size()
    for name in COHORTS:
        if name in sizes:
            add(f"{name}_count_patients", int(sizes[name]))
    add("total_count_ab_patients", int(sizes.reindex(list(AB_COHORTS)).fillna(0).sum()))

    def outcomes(part, prefix, lenvatinib=False):
        resp = response_table(part)
        r = resp.set_index("group")
        if lenvatinib:
            add("lenvatinib_p_orr_pbis", resp["p_fisher"].iloc[0])
        else:
            for g, k in (("high", 1), ("low", 0)):
                add(f"{prefix}_count_pbis_{g}", int(r.loc[k, "n"]))
                add(f"{prefix}_count_orr_pbis_{g}", int(r.loc[k, "responders"]))
                add(f"{prefix}_percent_orr_pbis_{g}", float(r.loc[k, "percent"]))
            add(f"{prefix}_p_orr_pbis", resp["p_fisher"].iloc[0])
        for ep in ("os", "pfs"):
            t = outcome_comparison(part, ep).iloc[0]
            if lenvatinib:
                add(f"lenvatinib_p_{ep}_pbis", t["p_logrank"])
            else:
                add(f"{prefix}_{ep}_hr_pbis_high", t["hr"], t["lower"], t["upper"], t["p_wald"])

    for name in COHORTS:
        if has_cohort(df, name):
            outcomes(cohort(df, name), name, lenvatinib=(name == "lenvatinib"))
    if has_cohort(df, "derivation"):
        deriv = cohort(df, "derivation")
        sens = sensitivity_thresholds(deriv)
        for _, r in sens[sens["threshold"] == 2].iterrows():
            add(f"derivation_{r['endpoint']}_hr_pbis_ge2", r["hr"], r["lower"], r["upper"], r["p"])
        add("derivation_pbis_best_threshold", best_threshold(sens))
        for _, r in univariable_markers(deriv).iterrows():
            add(f"derivation_{r['endpoint']}_p_univariable_{r['id']}", r["p"])
        needed = set(OS_ADJUST + PFS_ADJUST + ORR_ADJUST)
        if needed <= set(deriv.columns):
            for _, r in score_comparison(deriv).iterrows():
                add(f"derivation_{r['outcome']}_hr_mv_{SCORE_IDS[r['score']]}", r["estimate"], r["lower"], r["upper"], r["p"])
            o = multivariable(deriv, "orr", "pbis_high", ORR_ADJUST)
            o = o[o["term"] == "pbis_high"].iloc[0]
            add("derivation_orr_or_mv_pbis_high", o["estimate"], o["lower"], o["upper"], o["p"])
    ab = ab_patients(df)
    for _, r in correlations(ab).iterrows():
        add(f"total_r_{r['cytokine_id']}_{r['variable_id']}", r["r"], p=r["p"], n=r["n"])
    for _, r in trend_by_pbis(ab).drop_duplicates("cytokine").iterrows():
        add(f"total_p_trend_{r['cytokine_id']}_pbis", r["p_trend"])
    covs = [c for c in PS_COVARIATES if c in ab.columns and ab[c].notna().all()]
    if covs and ab["pbis_high"].nunique() == 2:
        m = matching.match_nearest(ab, "pbis_high", covs, caliper=caliper)
        if m["pbis_high"].nunique() == 2:
            outcomes(m, "matched")
    out = pd.DataFrame(rows)
    out.insert(0, "study", "pbis")
    out.insert(1, "chapter", "reproduce")
    out["text"] = ""
    return out


def selection_null(df: pd.DataFrame, endpoint: str = "os", n_sim: int = 50, seed: int = 20240617,
                   thresholds=(1, 2, 3, 4), minprop: float = 0.1) -> pd.DataFrame:
    """How large an HR the paper's pipeline finds when the markers carry no information.

    Each replicate permutes the (time, event) pairs against the four markers (so any marker-
    outcome association is destroyed while every marginal distribution is kept), then repeats
    the paper's steps: for NLR, CRP, IL-12 and IL-2 the cut-off with the smallest plain
    log-rank p (:func:`helpers.maxstat.min_pvalue_search`), a point for the side of the cut
    with the higher crude event rate (events per month at risk: "elevated is bad" as the
    search would have reported it); the PBIS sum; the threshold k in ``thresholds`` with the
    smallest log-rank p among those leaving at least ``minprop`` of patients in each group;
    the univariable Cox HR (Efron, Wald p) of PBIS >= k vs < k. One row per replicate:
    ``sim``, ``threshold``, ``n_high``, ``hr``, ``lower``, ``upper``, ``p``. Seeded with
    ``seed`` (NumPy PCG64): the same call gives the same table.
    """
    from helpers import maxstat

    rng = np.random.default_rng(seed)
    time, event = ENDPOINTS[endpoint]
    markers = list(PBIS_MARKERS)
    d = df[[time, event] + markers].dropna().reset_index(drop=True)
    outcome = d[[time, event]].to_numpy(dtype=float)
    n = len(d)
    rows = []
    for i in range(n_sim):
        sim = d.copy()
        sim[[time, event]] = outcome[rng.permutation(n)]
        t_arr, e_arr = sim[time].to_numpy(), sim[event].to_numpy()
        pts = np.zeros(n, dtype=int)
        for m in markers:
            cut = maxstat.min_pvalue_search(sim, time, event, m, high_if=">=").cutoff
            high = sim[m].to_numpy() >= cut
            rate_high = e_arr[high].sum() / max(t_arr[high].sum(), 1e-12)
            rate_low = e_arr[~high].sum() / max(t_arr[~high].sum(), 1e-12)
            pts += (high if rate_high >= rate_low else ~high).astype(int)
        best = None
        for k in thresholds:
            g = (pts >= k).astype(int)
            if minprop * n <= g.sum() <= (1 - minprop) * n:
                p = float(survival.logrank(sim.assign(_g=g), time, event, "_g")["p"].iloc[0])
                if best is None or p < best[0]:
                    best = (p, k, g)
        if best is None:
            continue
        _, k, g = best
        t = survival.cox(sim.assign(_g=g), time, event, ["_g"]).table.iloc[0]
        rows.append(dict(sim=i, threshold=k, n_high=int(g.sum()), hr=float(t.hr), lower=float(t.lower),
                         upper=float(t.upper), p=float(t.p)))
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the whole derivation, re-runnable
def pbis_fit(time, event, markers, *, thresholds=(1, 2, 3, 4), minprop: float = 0.1) -> dict:
    """The paper's derivation of PBIS as one function of arrays, so that its optimism can be
    measured end to end (:func:`helpers.optimism.procedure_card`): the same steps as
    :func:`selection_null` runs on permuted data.

    1. For each marker (a column of ``markers``, in :data:`PBIS_MARKERS` order) the cut with
       the smallest plain log-rank p among cuts leaving 10-90 % of patients below it
       (:func:`helpers.maxstat.min_pvalue_search`'s rule; high = marker > the low group's
       largest value, i.e. >= the next value, the paper's "≥");
    2. a point for the side of the cut with the higher crude event rate (events per month
       at risk: "elevated is bad" as the search would have reported it);
    3. the threshold k in ``thresholds`` on the sum with the smallest log-rank p among those
       leaving at least ``minprop`` of the patients in each group.

    Returns the rule: ``cutoffs`` (low-group maxima), ``high_is_bad`` (per marker),
    ``threshold`` (``nan`` if no threshold qualifies). Apply it with :func:`pbis_predict`.
    """
    from helpers import maxstat, optimism

    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    X = np.asarray(markers, dtype=float)
    n = len(t)
    cutoffs, bad = [], []
    pts = np.zeros(n, dtype=int)
    for j in range(X.shape[1]):
        x = X[:, j]
        order = np.argsort(x, kind="quicksort")
        xs = x[order]
        m = maxstat._candidate_m(xs, 0.1, 0.9)
        p = stats.chi2.sf(maxstat.logrank_chisq_all_cuts(t, e, order, m), 1)
        p_best = np.nanmin(p)
        i = int(np.flatnonzero(p <= p_best * (1 + 1e-10))[0])
        cut = float(xs[m[i] - 1])
        high = x > cut
        rate_high = e[high].sum() / max(t[high].sum(), 1e-12)
        rate_low = e[~high].sum() / max(t[~high].sum(), 1e-12)
        cutoffs.append(cut)
        bad.append(bool(rate_high >= rate_low))
        pts += (high if bad[-1] else ~high).astype(int)
    best = None
    for k in thresholds:
        g = pts >= k
        if minprop * n <= g.sum() <= (1 - minprop) * n:
            _, p, _, _ = optimism.logrank_cox_binary(t, e, g)
            if best is None or p < best[0]:
                best = (p, k)
    return {"cutoffs": cutoffs, "high_is_bad": bad, "threshold": best[1] if best else math.nan}


def pbis_predict(rule: dict, markers) -> np.ndarray:
    """PBIS-high (1) or low (0) for each row of ``markers`` under a rule from :func:`pbis_fit`
    (``nan`` everywhere if the rule has no threshold)."""
    X = np.asarray(markers, dtype=float)
    if not np.isfinite(rule["threshold"]):
        return np.full(len(X), np.nan)
    pts = np.zeros(len(X), dtype=int)
    for j, (cut, bad) in enumerate(zip(rule["cutoffs"], rule["high_is_bad"])):
        high = X[:, j] > cut
        pts += (high if bad else ~high).astype(int)
    return (pts >= rule["threshold"]).astype(float)


def pbis_arrays(df: pd.DataFrame, endpoint: str = "os"):
    """``(time, event, markers)`` of the patients complete in the endpoint and the four PBIS
    markers (columns in :data:`PBIS_MARKERS` order), as :func:`selection_null` uses them."""
    time, event = ENDPOINTS[endpoint]
    d = df[[time, event] + list(PBIS_MARKERS)].dropna().reset_index(drop=True)
    return (d[time].to_numpy(dtype=float), d[event].to_numpy(dtype=float),
            d[list(PBIS_MARKERS)].to_numpy(dtype=float))
