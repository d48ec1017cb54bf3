"""The PBIS study (peripheral blood inflammatory score under atezolizumab + bevacizumab): its
parameters, its analysis steps and the numbers each ``pbis_*`` chapter reports, in one place.

The public surface is the one every study has (:mod:`helpers.studies`): :class:`Params` /
:data:`PARAMS` (every parameter a chapter accepts; the cut-offs, the PBIS threshold and the
caliper read from ``data/published/pbis.csv``), :data:`SECTIONS`, :func:`load` and
:func:`reproduce` (tidy rows keyed by published id, one section per chapter). The other
functions are the analysis steps ``reproduce`` and the chapters call; each takes the cohort
(as :func:`load` returns it) and returns a tidy DataFrame; nothing here draws or prints.

Conventions
-----------
- Groups: a marker is *high* when ``>= cut-off`` (the paper's "NLR>=..., CRP>=...": the
  printed values are ``data/published/pbis.csv`` rows ``derivation_cutoff_*``), one point
  each; PBIS = 0-4 points; PBIShi = ``points >= threshold`` (``derivation_cutoff_pbis``).
  Reference group everywhere: the low group (PBISlo), so an HR > 1 means PBIShi does worse.
- Survival: Kaplan-Meier with log CI (R ``survfit``), log-rank (R ``survdiff``), Cox with
  Efron ties and Wald CI/p (R ``coxph``): :mod:`helpers.survival`.
- Objective response: the printed p-values are Fisher's exact test (recomputed from the
  printed counts in the outcomes chapter); Pearson's chi-square without and with Yates'
  correction are shown beside it.
- Multivariable models (Table 3 and S3 were images, the adjustment sets are not printed):
  each score is adjusted for the clinical factors the text names as associated with the
  endpoint (:data:`OS_ADJUST`, :data:`PFS_ADJUST`, :data:`ORR_ADJUST`); AFP and PIVKA-II
  enter as log10.
"""
from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from helpers import fitcache, scores, survival
from helpers.studies import StudyParams, check_section, param, rows

STUDY = "pbis"
COHORTS = ("derivation", "validation", "lenvatinib")
AB_COHORTS = ("derivation", "validation")
CYTOKINES = ("ifng_pg_ml", "il10_pg_ml", "il12_pg_ml", "il17_pg_ml", "il2_pg_ml", "il6_pg_ml", "tnf_pg_ml")
CYTOKINE_LABELS = {"ifng_pg_ml": "IFN-γ", "il10_pg_ml": "IL-10", "il12_pg_ml": "IL-12", "il17_pg_ml": "IL-17",
                   "il2_pg_ml": "IL-2", "il6_pg_ml": "IL-6", "tnf_pg_ml": "TNF-α"}
#: Short names used in the published ids (``total_r_il10_afp``).
CYTOKINE_IDS = {"ifng_pg_ml": "ifng", "il10_pg_ml": "il10", "il12_pg_ml": "il12", "il17_pg_ml": "il17",
                "il2_pg_ml": "il2", "il6_pg_ml": "il6", "tnf_pg_ml": "tnf"}
#: The PBIS markers: column -> (short id, label, key of the ``cutoffs`` of :func:`helpers.scores.pbis`).
PBIS_MARKERS = {"nlr": ("nlr", "NLR", "nlr"), "crp_mg_dl": ("crp", "CRP (mg/dL)", "crp_mg_dl"),
                "il12_pg_ml": ("il12", "IL-12 (pg/mL)", "il12_pg_ml"), "il2_pg_ml": ("il2", "IL-2 (pg/mL)", "il2")}
#: The :class:`Params` field that holds each marker's cut-off.
CUTOFF_PARAMS = {"nlr": "nlr_cutoff", "crp_mg_dl": "crp_cutoff", "il12_pg_ml": "il12_cutoff",
                 "il2_pg_ml": "il2_cutoff"}
#: Ablated scores of Table S3: column -> the marker points they count (threshold: the PBIS
#: threshold, at most the number of markers counted).
ABLATIONS = {"pbis_without_il2": ("nlr", "crp", "il12"), "pbis_without_il12": ("nlr", "crp", "il2"),
             "nlr_crp": ("nlr", "crp")}
#: Baseline characteristics correlated with the cytokines (Fig S1/S2), id -> column.
CORRELATION_VARIABLES = {"tumor_size": "tumor_size_cm", "child_pugh_score": "child_pugh_score", "afp": "afp_ng_ml",
                         "pivka_ii": "pivka_ii_mau_ml", "ecog": "ecog", "age": "age_years"}
OS_ADJUST = ["ecog", "child_pugh_score", "log10_afp", "tumor_size_cm"]
PFS_ADJUST = ["previous_treatment", "viral_etiology", "log10_afp", "log10_pivka_ii", "ecog", "multiple_tumors",
              "tumor_size_cm"]
ORR_ADJUST = ["ecog", "log10_afp", "tumor_size_cm"]
#: Adjustment set per outcome of the multivariable models.
ADJUST = {"os": OS_ADJUST, "pfs": PFS_ADJUST, "orr": ORR_ADJUST}
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


# --------------------------------------------------------------------------- parameters
def _cutoff_param(marker: str, unit: str, published: str):
    return param(meaning=f"{marker} at or above this cut-off scores one PBIS point; 'minp' derives the cut-off "
                         "by the minimum log-rank p (OS) in this cohort's derivation patients",
                 unit=unit, kind=(float, str), choices=("minp",), published=published)


@dataclasses.dataclass(frozen=True)
class Params(StudyParams):
    """Every parameter of the ``pbis_*`` chapters (``None``: the default; :meth:`describe`)."""

    STUDY: ClassVar[str] = "pbis"

    nlr_cutoff: float | str | None = _cutoff_param("NLR", "ratio", "derivation_cutoff_nlr")
    crp_cutoff: float | str | None = _cutoff_param("CRP", "mg/dL", "derivation_cutoff_crp")
    il12_cutoff: float | str | None = _cutoff_param("IL-12", "pg/mL", "derivation_cutoff_il12")
    il2_cutoff: float | str | None = _cutoff_param("IL-2", "pg/mL (the paper prints ng/mL, read as pg/mL)",
                                                   "derivation_cutoff_il2")
    pbis_threshold: int | None = param(meaning="PBIShi: at least this many of the four PBIS points", unit="points",
                                       kind=int, published="derivation_cutoff_pbis")
    minprop: float | None = param(0.1, meaning="Smallest share of patients on each side of a candidate cut in the "
                                               "minimum log-rank p search (maxstat's minprop)",
                                  unit="share of patients", kind=float)
    caliper: float | None = param(meaning="Propensity-score matching caliper (nearest neighbour, 1:1, without "
                                          "replacement)", unit="SD of the propensity score", kind=float,
                                  published="matched_caliper")
    seed: int | None = param(20240617, meaning="Seed of the permutations of the selection-null simulation "
                                               "(NumPy PCG64); stated, fixed", kind=int)
    min_cell_count: int | None = param(0, meaning="counts below this show as '<n' in every table, figure and glued number (helpers.disclosure; 0: every count shown)",
                                       unit="patients", kind=int)

    def cutoffs(self) -> dict:
        """The requested cut-off per marker column (a number or ``"minp"``)."""
        return {col: getattr(self, name) for col, name in CUTOFF_PARAMS.items()}


#: The defaults (the published cut-offs, threshold and caliper).
PARAMS = Params()
#: The sections of :func:`reproduce`, one per chapter, in reading order.
SECTIONS = ("cohorts", "cutoffs", "score", "outcomes", "multivariable", "matching")


def _log10(x: pd.Series) -> pd.Series:
    return np.log10(pd.to_numeric(x, errors="coerce").clip(lower=0) + 1.0)


def add_scores(df: pd.DataFrame, cutoffs: dict, threshold: int) -> pd.DataFrame:
    """A copy of ``df`` with the marker groups and scores.

    ``cutoffs`` maps each PBIS marker column (:data:`PBIS_MARKERS`) to a number (see
    :func:`resolve_cutoffs`); ``threshold`` is the PBIShi threshold. Adds ``nlr_high``,
    ``crp_high``, ``il12_high``, ``il2_high`` (1 = at or above the cut-off), ``pbis_points``
    (0-4, :func:`helpers.scores.pbis`), ``pbis_high`` (points >= ``threshold``), ``pbis_group``
    (Categorical PBISlo < PBIShi), the ablations of :data:`ABLATIONS` (>= ``threshold`` of the
    remaining points, at most all of them: "NLR + CRP only" means both high) and where the
    columns exist ``crafity_points``/``crafity_high`` (>= 1 point), ``log10_afp``,
    ``log10_pivka_ii`` (log10(x + 1)).
    """
    missing = [c for c in PBIS_MARKERS if c not in cutoffs]
    if missing:
        raise ValueError(f"add_scores: no cut-off for {', '.join(missing)}; expected a number for each of "
                         f"{', '.join(PBIS_MARKERS)}")
    cut = {c: float(cutoffs[c]) for c in PBIS_MARKERS}
    threshold = int(threshold)
    out = df.copy()
    for col, (short, _, _) in PBIS_MARKERS.items():
        x = pd.to_numeric(out[col], errors="coerce")
        out[f"{short}_high"] = np.where(x.isna(), np.nan, (x >= cut[col]).astype(float))
    out["pbis_points"] = scores.pbis(out["nlr"], out["crp_mg_dl"], out["il12_pg_ml"], out["il2_pg_ml"],
                                     cutoffs={key: cut[col] for col, (_, _, key) in PBIS_MARKERS.items()})
    out["pbis_high"] = scores.pbis_high(out["pbis_points"], threshold)
    out["pbis_group"] = pd.Categorical(out["pbis_high"].map(GROUP_LABELS), categories=["PBISlo", "PBIShi"])
    for name, parts in ABLATIONS.items():
        total = sum(out[f"{s}_high"] for s in parts)
        out[name] = np.where(total.isna(), np.nan, (total >= min(threshold, len(parts))).astype(float))
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


def printed_orr_tests() -> pd.DataFrame:
    """The paper's three ORR comparisons (derivation, validation, matched) recomputed from its
    *printed counts* (``data/published/pbis.csv``; no cohort involved): one row per comparison
    with ``cohort``, ``printed_p`` and the two-sided p of ``fisher`` (exact), ``pearson``
    (chi-square without continuity correction) and ``yates`` (with it)."""
    from helpers import published

    pub = published.load(STUDY).set_index("id")["value"]
    out = []
    for coh in ("derivation", "validation", "matched"):
        hi, lo = pub[f"{coh}_count_orr_pbis_high"], pub[f"{coh}_count_orr_pbis_low"]
        n_hi, n_lo = pub[f"{coh}_count_pbis_high"], pub[f"{coh}_count_pbis_low"]
        table = np.array([[hi, n_hi - hi], [lo, n_lo - lo]])
        out.append(dict(cohort=coh, printed_p=pub[f"{coh}_p_orr_pbis"], fisher=stats.fisher_exact(table)[1],
                        pearson=stats.chi2_contingency(table, correction=False)[1],
                        yates=stats.chi2_contingency(table, correction=True)[1]))
    return pd.DataFrame(out)


def tests_giving_printed_p(tests: pd.DataFrame) -> list[str]:
    """The tests of :func:`printed_orr_tests` whose p, rounded to the printed 3 decimals, equals
    every printed p."""
    return [t for t in ("fisher", "pearson", "yates") if bool((tests[t].round(3) == tests["printed_p"]).all())]


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
    notes = []
    if d[group].nunique() == 2 and d[event].sum() > 0:
        (res, lr), notes = fit_quietly(
            lambda: (fitcache.cox(d, time, event, [group]), survival.logrank(d, time, event, group)),
            f"{OUTCOME_LABELS[endpoint]}, PBIShi vs PBISlo")
        row = res.table.iloc[0]
        hr, lower, upper, p_wald = float(row.hr), float(row.lower), float(row.upper), float(row.p)
        p_lr = float(lr["p"].iloc[0])
        if notes:  # not converged: the HR is not estimable; the log-rank test still is
            hr = lower = upper = p_wald = math.nan
    km["hr"], km["lower"], km["upper"], km["p_wald"], km["p_logrank"] = hr, lower, upper, p_wald, p_lr
    km.insert(0, "endpoint", endpoint)
    km.attrs["notes"] = notes
    return km


def fit_quietly(fit, what: str):
    """Run ``fit()`` and turn the warnings of :mod:`helpers.survival` and
    :mod:`helpers.regression` (a likelihood that does not converge, a singular log-rank
    variance) into readable notes: returns ``(result, notes)``, ``notes`` a list of sentences
    naming ``what`` was fitted. Nothing is printed, so no raw warning reaches a page."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit()
    notes = []
    for w in caught:
        text = str(w.message)
        if "did not converge" in text or "converge" in text.lower() or "separation" in text.lower():
            notes.append(f"{what}: the model did not converge to a finite estimate (a group with no "
                         "events or responses, or complete separation), so its ratio is not estimable "
                         "and not shown.")
        elif "singular" in text:
            notes.append(f"{what}: the log-rank variance is singular (too few events at distinct "
                         "times); the test has reduced information.")
        elif "encountered in" in text:       # numpy's arithmetic warnings: judged below
            continue
        else:
            notes.append(f"{what}: {text.split(';')[0]}.")
    numeric = [w for w in caught if "encountered in" in str(w.message)]
    if numeric and not notes:
        notes.append(f"{what}: a numerical problem in the fit ({str(numeric[0].message)}); read the "
                     "estimate with care.")
    return result, list(dict.fromkeys(notes))


def km_curves(df: pd.DataFrame, endpoint: str, group: str = "pbis_group") -> pd.DataFrame:
    """Kaplan-Meier curves per group (:func:`helpers.survival.km_table`)."""
    time, event = ENDPOINTS[endpoint]
    return survival.km_table(df.dropna(subset=[time, event, group]), time, event, group)


def sensitivity_thresholds(df: pd.DataFrame, thresholds=None) -> pd.DataFrame:
    """Table 2: univariable Cox of PBIS >= k vs < k for OS and PFS, k in ``thresholds`` (default:
    every possible threshold, 1 to the number of markers). Columns ``endpoint``,
    ``threshold``, ``n_high``, ``n_low``, ``hr``, ``lower``, ``upper``, ``p`` (Wald), ``best``
    (True at the smallest p per endpoint)."""
    thresholds = range(1, len(PBIS_MARKERS) + 1) if thresholds is None else thresholds
    rows = []
    for ep, (time, event) in ENDPOINTS.items():
        for k in thresholds:
            d = df[[time, event, "pbis_points"]].dropna().copy()
            d["ge"] = (d["pbis_points"] >= k).astype(int)
            n_high = int(d["ge"].sum())
            r = dict(endpoint=ep, threshold=k, n_high=n_high, n_low=len(d) - n_high,
                     hr=math.nan, lower=math.nan, upper=math.nan, p=math.nan)
            if 0 < n_high < len(d):
                t = fitcache.cox(d, time, event, ["ge"]).table.iloc[0]
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
            res = fitcache.cox(d, time, event, ["log2_marker"])
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


def resolve_cutoffs(df: pd.DataFrame, requested: dict, endpoint: str = "os", *, minprop: float = 0.1) -> pd.DataFrame:
    """Turn the cut-off parameters into numbers: each ``requested[column]`` is a number or
    ``"minp"`` (derive it by the minimum log-rank p on ``endpoint`` in ``df``, candidates
    leaving at least ``minprop`` of patients on each side). Returns ``marker``, ``cutoff``,
    ``how``."""
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
            cut = float(maxstat.min_pvalue_search(d, time, event, col, minprop=minprop, high_if=">=").cutoff)
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
        a = np.sort(samples[i])      # #(a < b) and #(a == b) per b by binary search: O(n log n)
        for j in range(i + 1, len(samples)):
            below = np.searchsorted(a, samples[j], side="left")
            ties = np.searchsorted(a, samples[j], side="right") - below
            J += float(below.sum() + 0.5 * ties.sum())
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
    what = f"{OUTCOME_LABELS[outcome]}, {SCORE_LABELS.get(score, score)} adjusted"
    if outcome == "orr":
        t, notes = fit_quietly(lambda: regression.logistic(df, "objective_response", [score] + adjust), what)
        t = t.rename(columns={"or": "estimate"})
    else:
        time, event = ENDPOINTS[outcome]
        res, notes = fit_quietly(lambda: fitcache.cox(df, time, event, [score] + adjust), what)
        t = res.table.rename(columns={"hr": "estimate"})
        t["n"] = res.n
    t.insert(0, "outcome", outcome)
    t.insert(1, "score", score)
    out = t[["outcome", "score", "term", "estimate", "lower", "upper", "p", "n"]]
    out.attrs["notes"] = notes
    return out


def score_comparison(df: pd.DataFrame, scores_=None, adjust: dict | None = None) -> pd.DataFrame:
    """Table S3: each score's adjusted HR for OS and PFS (and OR for ORR for PBIS), one row per
    score and outcome: ``outcome``, ``score``, ``label``, ``estimate``, ``lower``, ``upper``,
    ``p``, ``n``."""
    adjust = adjust or {"os": OS_ADJUST, "pfs": PFS_ADJUST, "orr": ORR_ADJUST}
    rows, notes = [], []
    for s in scores_ or SCORES:
        if s not in df or df[s].nunique() < 2:
            continue
        for outcome in ("os", "pfs"):
            t = multivariable(df, outcome, s, adjust[outcome])
            rows.append(t[t["term"] == s].iloc[0])
            notes += t.attrs.get("notes", [])
    out = pd.DataFrame(rows).reset_index(drop=True)
    out.attrs["notes"] = notes
    out.insert(2, "label", out["score"].map(SCORES))
    return out


# --------------------------------------------------------------------------- load
def derivation(df: pd.DataFrame) -> pd.DataFrame:
    """The derivation cohort, or the whole cohort when it has no derivation rows (a re-run on
    one cohort): where the paper derived its cut-offs and fitted Tables 2, 3, S1 and S3."""
    is_deriv = df["cohort"].astype(str) == "derivation"
    return df[is_deriv].copy() if is_deriv.any() else df.copy()


def prepare(cohort_df: pd.DataFrame, params: Params | None = None,
            endpoint: str = "os") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Resolve the cut-off parameters of ``params`` (numbers, or ``"minp"``: derived in the
    derivation cohort, :func:`derivation`) and add the scores (:func:`add_scores`).

    Returns ``(scored cohort, cut-off table)``; the scored cohort's ``attrs`` hold ``params``,
    ``cutoffs`` (marker column -> the number used) and ``cutoff_how`` (marker column -> how it
    was set)."""
    params = params or PARAMS
    table = resolve_cutoffs(derivation(cohort_df), params.cutoffs(), endpoint, minprop=params.minprop)
    cut = dict(zip(table["marker"], table["cutoff"]))
    df = add_scores(cohort_df, cut, params.pbis_threshold)
    df.attrs.update(params=params, cutoffs=cut, cutoff_how=dict(zip(table["marker"], table["how"])))
    return df, table


def load(cohort_file=None, params: Params | None = None) -> pd.DataFrame:
    """The cohort (``None``: the shipped synthetic one), read and validated against the
    study's contract (:func:`helpers.contract.read_cohort`) and scored with ``params``
    (:func:`prepare`; the cut-offs used are in ``df.attrs["cutoffs"]``)."""
    from helpers import contract

    df, _ = prepare(contract.read_cohort(STUDY, cohort_file), params)
    return df


def cutoffs_text(df: pd.DataFrame) -> str:
    """The cut-offs a scored cohort used, as prose: ``"NLR ≥ x, CRP (mg/dL) ≥ y, ..."``."""
    return ", ".join(f"{PBIS_MARKERS[m][1]} ≥ {c:g}" for m, c in df.attrs["cutoffs"].items())


def has_cohort(df: pd.DataFrame, name: str, min_rows: int = 4) -> bool:
    """True if ``df`` holds at least ``min_rows`` patients of cohort ``name`` with both PBIS groups."""
    part = df[df["cohort"].astype(str) == name]
    return len(part) >= min_rows and part["pbis_high"].nunique() == 2


def paper_threshold() -> int:
    """The printed PBIShi threshold (the published row of :attr:`Params.pbis_threshold`); the
    Table 2 ids name it (``derivation_os_hr_pbis_ge<k>``)."""
    return int(Params.default("pbis_threshold"))


def printed_correlations() -> list[str]:
    """The published ids of the Spearman coefficients the paper printed (``total_r_<cytokine>_<variable>``)."""
    from helpers import published

    return [i for i in published.load(STUDY)["id"] if i.startswith("total_r_")]


# --------------------------------------------------------------------------- chapter steps
def cutoff_searches(deriv: pd.DataFrame, params: Params | None = None) -> tuple[pd.DataFrame, list]:
    """:func:`cutoff_search` on OS for each PBIS marker with at least 5 distinct values:
    ``(summaries, curves)``, one summary row and one curve per marker searched."""
    params = params or PARAMS
    searches, curves = [], []
    for marker in PBIS_MARKERS:
        if deriv[marker].nunique() < 5:
            continue
        summary, curve = cutoff_search(deriv, marker, "os", minprop=params.minprop, seed=params.seed)
        searches.append(summary)
        curves.append(curve)
    return (pd.concat(searches, ignore_index=True) if searches else pd.DataFrame()), curves


def largest_correction_text(search: pd.DataFrame) -> str:
    """The marker whose maxstat p is the largest multiple of its uncorrected minimum p (rows of
    :func:`cutoff_searches`), in words: ``"IL-12: from p = 0.004 to p = 0.097 (the maxstat p is
    24 times the minimum p)"``. The ratio is undefined where the minimum p is 0 in double
    precision (below about 1e-308: a large cohort with a strongly separating marker); a marker
    without a ratio is passed over, and when no marker has one the text says so."""
    from helpers.prose import p_change

    if search.empty:
        return "not computed"
    ratio = pd.to_numeric(search["p_ratio"], errors="coerce")
    if not np.isfinite(ratio).any():
        return ("no marker: every minimum log-rank p is 0 in double precision (below 1e-308), "
                "so the ratio of the maxstat p to it is undefined")
    worst = search.loc[ratio.where(np.isfinite(ratio)).idxmax()]
    return (f"{PBIS_MARKERS[worst['marker']][1]}: {p_change(worst['p_min'], worst['p_maxstat'])} "
            f"(the maxstat p is {worst['p_ratio']:.0f} times the minimum p)")


def best_threshold_text(sens: pd.DataFrame) -> str:
    """The threshold with the smallest p for OS and PFS (:func:`best_threshold`) in words."""
    best = best_threshold(sens)
    if np.isfinite(best):
        return f"PBIS ≥ {best:.0f}"
    per = sens[sens["best"]].set_index("endpoint")["threshold"]
    return "different for OS and PFS (" + ", ".join(f"{e.upper()}: ≥ {t:.0f}" for e, t in per.items()) + ")"


def cohort_outcomes(df: pd.DataFrame, name: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Figure 1 / 2 of one cohort (``name``; ``None``: all of ``df``, e.g. the matched cohort):
    ``(patients, response table, {endpoint: outcome comparison})``."""
    part = df if name is None else cohort(df, name)
    return part, response_table(part), {ep: outcome_comparison(part, ep) for ep in ENDPOINTS}


#: Glue keys of :func:`outcome_texts`, after ``<cohort>_``.
OUTCOME_TEXT_KEYS = ("orr_direction", "os_summary", "pfs_summary", "os_medians", "pfs_medians", "orr_tests")


def median_by_group_text(df: pd.DataFrame, column: str) -> str:
    """Median of ``column`` in PBIShi and PBISlo as ``"x vs y"`` (one decimal; Table S2 prose)."""
    m = df.groupby("pbis_group", observed=False)[column].median()
    return f"{m.get('PBIShi', float('nan')):.1f} vs {m.get('PBISlo', float('nan')):.1f}"


def orr_direction(resp: pd.DataFrame) -> str:
    """``"lower"`` or ``"higher"``: PBIShi's response rate against PBISlo's."""
    r = resp.set_index("group")["percent"]
    return "lower" if r.loc[1] < r.loc[0] else "higher"


def outcome_texts(name: str, resp: pd.DataFrame, comps: dict) -> dict:
    """The prose of the outcomes chapter for one cohort (glue key -> text): the response
    direction and tests, and per endpoint the HR with log-rank p and the medians ("not
    reached" where the curve stays above 0.5)."""
    from helpers.prose import median_text
    from helpers.results import fmt_p

    out = {f"{name}_orr_direction": orr_direction(resp)}
    for ep, t in comps.items():
        r = t.iloc[0]
        out[f"{name}_{ep}_summary"] = (f"HR {r['hr']:.2f} (95% CI {r['lower']:.2f}–{r['upper']:.2f}), "
                                       f"Wald {fmt_p(r['p_wald'])}, log-rank {fmt_p(r['p_logrank'])}")
        med = t.set_index("label")["median"]
        out[f"{name}_{ep}_medians"] = (f"PBIShi {median_text(med.get('PBIShi'))} vs PBISlo "
                                       f"{median_text(med.get('PBISlo'))}")
    out[f"{name}_orr_tests"] = (f"Fisher {fmt_p(resp['p_fisher'].iloc[0])}; Pearson {fmt_p(resp['p'].iloc[0])}; "
                                f"Yates {fmt_p(resp['p_yates'].iloc[0])}")
    return out


def matched_cohort(df: pd.DataFrame, params: Params | None = None):
    """The propensity-score-matched cohort (Figure 2): ``(ab, covariates, matched)`` with
    ``ab`` the atezolizumab + bevacizumab patients complete in PBIS group and the covariates
    (the complete cases the propensity model uses; ``ab.attrs["n_all"]`` is the number before
    dropping incomplete rows), ``covariates`` the :data:`PS_COVARIATES` the cohort has (a
    column entirely empty counts as absent), ``matched`` :func:`helpers.matching.match_nearest`
    with ``params.caliper`` (``None`` when there is no covariate or only one PBIS group)."""
    from helpers import matching

    params = params or PARAMS
    ab_all = ab_patients(df)
    covariates = [c for c in PS_COVARIATES if c in ab_all.columns and ab_all[c].notna().any()]
    ab = ab_all.dropna(subset=["pbis_high", *covariates]).copy()
    ab.attrs["n_all"] = len(ab_all)
    if not covariates or ab["pbis_high"].nunique() != 2:
        return ab, covariates, None
    return ab, covariates, matching.match_nearest(ab, "pbis_high", covariates, caliper=params.caliper)


# --------------------------------------------------------------------------- reproduce
def _rec(key, estimate, lower=None, upper=None, p=None, n=None, text=""):
    return dict(key=key, estimate=estimate, lower=lower, upper=upper, p=p, n=n, text=text)


def _group_records(prefix: str, resp: pd.DataFrame, comps: dict) -> list[dict]:
    """Responders and response rate per group, Fisher's p, and the HR per endpoint."""
    from helpers.prose import n_of
    from helpers.results import fmt_p

    r = resp.set_index("group")
    out = []
    for g, k in (("high", 1), ("low", 0)):
        responders, n, pct = int(r.loc[k, "responders"]), int(r.loc[k, "n"]), r.loc[k, "percent"]
        out.append(_rec(f"{prefix}_count_orr_pbis_{g}", responders, n=n))
        out.append(_rec(f"{prefix}_percent_orr_pbis_{g}", pct, n=n, text=n_of(responders, n)))
    p = resp["p_fisher"].iloc[0]
    out.append(_rec(f"{prefix}_p_orr_pbis", p, text=fmt_p(p)))
    for ep, t in comps.items():
        x = t.iloc[0]
        out.append(_rec(f"{prefix}_{ep}_hr_pbis_high", x["hr"], x["lower"], x["upper"], x["p_wald"], n=int(t["n"].sum())))
    return out


def _section_cohorts(df: pd.DataFrame, params: Params) -> list[dict]:
    """Cohort sizes; the printed Spearman coefficients (Fig S1/S2) in the AB patients."""
    from helpers.results import fmt_p

    sizes = df.groupby("cohort", observed=False).size()
    out = [_rec(f"{name}_count_patients", int(sizes.get(name, 0))) for name in COHORTS]
    out.append(_rec("total_count_ab_patients", int(sizes.reindex(list(AB_COHORTS)).fillna(0).sum())))
    corr = correlations(ab_patients(df))
    for key in printed_correlations():
        cyt, var = key[len("total_r_"):].split("_", 1)
        row = corr[(corr["cytokine_id"] == cyt) & (corr["variable_id"] == var)] if len(corr) else corr
        if len(row):
            r = row.iloc[0]
            out.append(_rec(key, r["r"], p=r["p"], n=r["n"], text=f"r = {r['r']:.3f} ({fmt_p(r['p'])})"))
    return out


def _section_cutoffs(df: pd.DataFrame, params: Params) -> list[dict]:
    """Table S1 (univariable Cox p per marker) and the minimum log-rank p cut-offs."""
    from helpers.results import fmt_p

    deriv = derivation(df)
    out = [_rec(f"derivation_{r['endpoint']}_p_univariable_{r['id']}", r["p"], text=fmt_p(r["p"]))
           for _, r in univariable_markers(deriv).iterrows()]
    search, _ = cutoff_searches(deriv, params)
    for _, r in search.iterrows():
        out.append(_rec(f"derivation_cutoff_{PBIS_MARKERS[r['marker']][0]}", r["cutoff_minp"], p=r["p_min"],
                        text=f"{r['cutoff_minp']:.2f} (uncorrected {fmt_p(r['p_min'])}; "
                             f"maxstat {fmt_p(r['p_maxstat'])})"))
    return out


def _section_score(df: pd.DataFrame, params: Params) -> list[dict]:
    """PBIS group sizes, Table 2 (the paper's threshold and the best one), Fig S3 trends."""
    from helpers.results import fmt_p

    groups = df.groupby(["cohort", "pbis_high"], observed=False).size()
    out = [_rec(f"{name}_count_pbis_{g}", int(groups.get((name, float(high)), 0)))
           for name in AB_COHORTS for high, g in ((1, "high"), (0, "low"))]
    sens = sensitivity_thresholds(derivation(df))
    k = paper_threshold()
    at_k = sens[sens["threshold"] == k].set_index("endpoint")
    for ep in ENDPOINTS:
        if ep in at_k.index and np.isfinite(at_k.loc[ep, "hr"]):
            r = at_k.loc[ep]
            out.append(_rec(f"derivation_{ep}_hr_pbis_ge{k}", r["hr"], r["lower"], r["upper"], r["p"],
                            n=r["n_high"] + r["n_low"]))
    best = best_threshold(sens)
    if np.isfinite(best):
        out.append(_rec("derivation_pbis_best_threshold", best, text=best_threshold_text(sens)))
    trend = trend_by_pbis(ab_patients(df))
    if len(trend):
        for _, r in trend.drop_duplicates("cytokine").iterrows():
            out.append(_rec(f"total_p_trend_{r['cytokine_id']}_pbis", r["p_trend"], text=fmt_p(r["p_trend"], digits=4)))
    return out


def _section_outcomes(df: pd.DataFrame, params: Params) -> list[dict]:
    """Figure 1: response and survival by PBIS group per cohort (lenvatinib: the p-values)."""
    from helpers.results import fmt_p

    out = []
    for name in COHORTS:
        if not has_cohort(df, name):
            continue
        _, resp, comps = cohort_outcomes(df, name)
        if name != "lenvatinib":
            out += _group_records(name, resp, comps)
            continue
        p = resp["p_fisher"].iloc[0]
        out.append(_rec("lenvatinib_p_orr_pbis", p, text=fmt_p(p)))
        for ep, t in comps.items():
            p = t["p_logrank"].iloc[0]
            out.append(_rec(f"lenvatinib_p_{ep}_pbis", p, text=fmt_p(p)))
    return out


def mv_key(outcome: str, score: str = "pbis_high") -> str:
    """The published id of a score's adjusted HR (OS, PFS) or OR (ORR), derivation cohort."""
    return f"derivation_{outcome}_{'or' if outcome == 'orr' else 'hr'}_mv_{SCORE_IDS[score]}"


def _section_multivariable(df: pd.DataFrame, params: Params) -> list[dict]:
    """Table 3 (PBIShi adjusted, OS/PFS/ORR) and Table S3 (each other score adjusted)."""
    from helpers import contract

    deriv = derivation(df)
    if contract.missing_columns(deriv, sorted({c for cols in ADJUST.values() for c in cols})):
        return []
    out = []
    for outcome in ("os", "pfs", "orr"):
        m = multivariable(deriv, outcome, "pbis_high", ADJUST[outcome])
        r = m[m["term"] == "pbis_high"].iloc[0]
        out.append(_rec(mv_key(outcome), r["estimate"], r["lower"], r["upper"], r["p"], n=r["n"]))
    s3 = score_comparison(deriv, adjust=ADJUST)
    for _, r in s3[s3["score"] != "pbis_high"].iterrows():  # PBIShi itself: above
        out.append(_rec(mv_key(r["outcome"], r["score"]), r["estimate"], r["lower"], r["upper"], r["p"], n=r["n"]))
    return out


def _section_matching(df: pd.DataFrame, params: Params) -> list[dict]:
    """Figure 2: the caliper, the matched groups, response and survival in them."""
    _, _, matched = matched_cohort(df, params)
    if matched is None:
        return []
    out = [_rec("matched_caliper", params.caliper)]
    if len(matched) and matched["pbis_high"].nunique() == 2:
        counts = matched.groupby("pbis_high").size()
        out += [_rec("matched_count_pbis_high", int(counts.get(1.0, 0))),
                _rec("matched_count_pbis_low", int(counts.get(0.0, 0)))]
        _, resp, comps = cohort_outcomes(matched)
        out += _group_records("matched", resp, comps)
    return out


_SECTION_STEPS = {"cohorts": _section_cohorts, "cutoffs": _section_cutoffs, "score": _section_score,
                  "outcomes": _section_outcomes, "multivariable": _section_multivariable,
                  "matching": _section_matching}

def section_keys(section: str) -> list[str]:
    """Every published id ``section`` of :func:`reproduce` can report; a chapter glues a
    placeholder under those its cohort cannot give."""
    check_section(STUDY, section, SECTIONS)
    groups = [f"{k}_pbis_{g}" for g in ("high", "low") for k in ("count_orr", "percent_orr")]
    groups += ["p_orr_pbis"] + [f"{ep}_hr_pbis_high" for ep in ENDPOINTS]
    markers = ["nlr", "crp"] + [CYTOKINE_IDS[c] for c in CYTOKINES]
    keys = {
        "cohorts": [f"{c}_count_patients" for c in COHORTS] + ["total_count_ab_patients"] + printed_correlations(),
        "cutoffs": [f"derivation_{ep}_p_univariable_{m}" for ep in ENDPOINTS for m in markers]
                   + [f"derivation_cutoff_{m[0]}" for m in PBIS_MARKERS.values()],
        "score": [f"{c}_count_pbis_{g}" for c in AB_COHORTS for g in ("high", "low")]
                 + [f"derivation_{ep}_hr_pbis_ge{paper_threshold()}" for ep in ENDPOINTS]
                 + ["derivation_pbis_best_threshold"] + [f"total_p_trend_{CYTOKINE_IDS[c]}_pbis" for c in CYTOKINES],
        "outcomes": [f"{c}_{k}" for c in AB_COHORTS for k in groups]
                    + ["lenvatinib_p_orr_pbis"] + [f"lenvatinib_p_{ep}_pbis" for ep in ENDPOINTS],
        "multivariable": [mv_key(o) for o in ("os", "pfs", "orr")]
                         + [mv_key(o, s) for s in SCORE_IDS if s != "pbis_high" for o in ENDPOINTS],
        "matching": ["matched_caliper", "matched_count_pbis_high", "matched_count_pbis_low"]
                    + [f"matched_{k}" for k in groups],
    }
    return keys[section]


def reproduce(df: pd.DataFrame, params: Params | None = None, section: str | None = None) -> pd.DataFrame:
    """The published numbers of one section (``None``: all of :data:`SECTIONS`) computed from
    a cohort as :func:`load` returns it, as tidy rows (:data:`helpers.studies.ROW_COLUMNS`)
    keyed by published id; ``text`` holds the chapter's wording where it has one.

    ``params`` (``None``: the ones ``df`` was loaded with, else :data:`PARAMS`) gives the
    caliper, the seed and ``minprop``; the cut-offs and threshold are those ``df`` was scored
    with. Cohorts or columns that are absent are left out (:data:`SECTION_KEYS` lists what a
    section can give: :func:`section_keys`). ``computed_by`` is ``helpers.studies.pbis.reproduce[<section>]``.
    """
    check_section(STUDY, section, SECTIONS)
    params = params or df.attrs.get("params") or PARAMS
    records = []
    for name in SECTIONS if section is None else (section,):
        records += [dict(r, computed_by=f"helpers.studies.pbis.reproduce[{name}]")
                    for r in _SECTION_STEPS[name](df, params)]
    return rows(records, computed_by="helpers.studies.pbis.reproduce")


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


# --------------------------------------------------------------------------- tables for the page
# Each function below turns an analysis table into the table a reader sees (human labels,
# estimates with their CI in one cell, one row per factor); numbers are not recomputed.

#: Labels of the model terms, with the unit each continuous HR is per.
TERM_LABELS = {
    "pbis_high": "PBIShi (vs PBISlo)", "crafity_high": "CRAFITY ≥ 1 point", "nlr_high": "NLR high",
    "crp_high": "CRP high", "pbis_without_il2": "PBIS without IL-2", "pbis_without_il12": "PBIS without IL-12",
    "nlr_crp": "NLR + CRP only",
    "ecog": "ECOG PS (per point)", "child_pugh_score": "Child-Pugh score (per point)",
    "log10_afp": "AFP (per doubling)", "log10_pivka_ii": "PIVKA-II (per doubling)",
    "tumor_size_cm": "Largest tumour diameter (per cm)", "previous_treatment": "Previous HCC treatment",
    "viral_etiology": "Viral aetiology (HBV or HCV)", "multiple_tumors": "Multiple intrahepatic tumours",
}
#: Score labels for tables (``SCORES`` keeps the ASCII ids the published rows use).
SCORE_LABELS = {"pbis_high": "PBIS ≥ 2 of 4", "crafity_high": "CRAFITY ≥ 1 point", "nlr_high": "NLR alone",
                "crp_high": "CRP alone", "pbis_without_il2": "PBIS without IL-2",
                "pbis_without_il12": "PBIS without IL-12", "nlr_crp": "NLR + CRP only"}
OUTCOME_LABELS = {"os": "Overall survival", "pfs": "Progression-free survival", "orr": "Objective response"}
#: log(x + 1) terms whose ratio the tables give per doubling: ``ratio ** (log_base(2))``.
LOG_TERMS = {"log10_afp": 10.0, "log10_pivka_ii": 10.0}
#: Footnote for tables with per-doubling ratios.
PER_DOUBLING_NOTE = ("AFP and PIVKA-II enter the models as log10(x + 1); their ratios are shown per doubling "
                     "(HR per 10-fold ^ log10 2), an exact re-expression of the same model.")


def per_doubling(table: pd.DataFrame, estimate: str = "estimate", term: str = "term") -> pd.DataFrame:
    """``table`` with the ratios (``estimate``, ``lower``, ``upper``) of the log-scale terms of
    :data:`LOG_TERMS` re-expressed per doubling of the marker (``r ** log_base(2)``; p unchanged:
    the same model, another unit). Other rows unchanged."""
    out = table.copy()
    rows = out[term].isin(list(LOG_TERMS))
    for name, base in LOG_TERMS.items():
        sel = out[term] == name
        power = math.log(2.0) / math.log(base)
        for col in (estimate, "lower", "upper"):
            out.loc[sel, col] = out.loc[sel, col].astype(float) ** power
    out.attrs["per_doubling"] = bool(rows.any())
    return out


def estimate_text(estimate: float, lower: float, upper: float, digits: int = 2) -> str:
    """``"3.56 (2.11–6.03)"``; an empty string if the estimate is missing."""
    from helpers.results import fmt_number

    if estimate is None or not np.isfinite(float(estimate)):
        return ""
    return f"{fmt_number(estimate, digits)} ({fmt_number(lower, digits)}–{fmt_number(upper, digits)})"


def model_events(df: pd.DataFrame, outcome: str, columns) -> tuple[int, int]:
    """``(n, events)`` of the complete cases a model of ``outcome`` on ``columns`` uses
    (events: deaths / progressions, or responders for ``"orr"``)."""
    if outcome == "orr":
        cols, event = ["objective_response", *columns], "objective_response"
    else:
        time, event = ENDPOINTS[outcome]
        cols = [time, event, *columns]
    d = df[[c for c in dict.fromkeys(cols) if c in df]].apply(pd.to_numeric, errors="coerce").dropna()
    return len(d), int(d[event].sum())


def model_header(df: pd.DataFrame, outcome: str, columns) -> str:
    """A column-group header naming the model and its complete cases, e.g.
    ``"Overall survival (n = 116, 77 deaths)"``."""
    from helpers.prose import count_noun

    n, events = model_events(df, outcome, columns)
    what = {"os": "death", "pfs": "progression or death", "orr": "responder"}[outcome]
    plural_form = {"os": "deaths", "pfs": "progressions or deaths", "orr": "responders"}[outcome]
    return f"{OUTCOME_LABELS[outcome]} (n = {n}, {count_noun(events, what, plural_form)})"


def models_table(models: dict, df: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Table 3 for the page: one row per factor, per model an estimate (95% CI) and p column.

    ``models`` maps ``"os"``/``"pfs"``/``"orr"`` to :func:`multivariable` tables; ``df`` (the
    data the models were fitted on) gives each model's complete cases and events for its
    header. Ratios of log terms are per doubling (:func:`per_doubling`). Returns ``(table,
    groups)`` for :func:`helpers.book.show` (``groups``: header -> its two columns)."""
    terms = list(dict.fromkeys(t for m in models.values() for t in m["term"]))
    out = pd.DataFrame({"factor": [TERM_LABELS.get(t, t) for t in terms]})
    groups = {}
    for outcome, m in models.items():
        m = per_doubling(m).set_index("term")
        ratio = "OR" if outcome == "orr" else "HR"
        est_col, p_col = f"{outcome}_estimate", f"{outcome}_p"
        out[est_col] = [estimate_text(*m.loc[t, ["estimate", "lower", "upper"]]) if t in m.index else "—"
                        for t in terms]
        out[p_col] = [float(m.loc[t, "p"]) if t in m.index else math.nan for t in terms]
        adjust = [t for t in m.index]
        if df is not None:
            head = model_header(df, outcome, adjust)
        else:
            head = f"{OUTCOME_LABELS[outcome]} (n = {int(m['n'].iloc[0])})"
        groups[head] = [est_col, p_col]
        out.attrs.setdefault("labels", {})[est_col] = f"{ratio} (95% CI)"
        out.attrs["labels"][p_col] = "p"
    out.attrs["labels"]["factor"] = "Factor"
    out.attrs["notes"] = [n for m in models.values() for n in m.attrs.get("notes", [])]
    return out, groups


def scores_table(s3: pd.DataFrame, df: pd.DataFrame | None = None, adjust: dict | None = None,
                 threshold: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Table S3 for the page: one row per score, per endpoint its adjusted HR (95% CI) and p;
    ``threshold``: the PBIShi threshold the page used (default: the paper's), for PBIS's label.
    Returns ``(table, groups)`` as :func:`models_table` does."""
    threshold = PARAMS.pbis_threshold if threshold is None else threshold
    names = {**SCORE_LABELS, "pbis_high": f"PBIS ≥ {int(threshold)} of {len(PBIS_MARKERS)}"}
    order = list(dict.fromkeys(s3["score"]))
    out = pd.DataFrame({"score": [names.get(s, s) for s in order]})
    groups, labels = {}, {"score": "Score (high vs low)"}
    for outcome in ("os", "pfs"):
        part = s3[s3["outcome"] == outcome].set_index("score")
        est_col, p_col = f"{outcome}_hr", f"{outcome}_p"
        out[est_col] = [estimate_text(*part.loc[s, ["estimate", "lower", "upper"]]) if s in part.index else "—"
                        for s in order]
        out[p_col] = [float(part.loc[s, "p"]) if s in part.index else math.nan for s in order]
        ns = sorted({int(x) for x in part["n"]}) if len(part) else []
        n_text = f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}–{ns[-1]}" if ns else "n = 0"
        groups[f"{OUTCOME_LABELS[outcome]} ({n_text})"] = [est_col, p_col]
        labels[est_col], labels[p_col] = "HR (95% CI)", "p"
    out.attrs["labels"] = labels
    out.attrs["notes"] = list(s3.attrs.get("notes", []))
    return out, groups


def outcomes_table(resp: pd.DataFrame, comps: dict) -> pd.DataFrame:
    """Figure 1 of one cohort as a table: rows for the patients, the objective response
    (``k of n (x%)``), and per endpoint the events and the median (95% CI) in months, per PBIS
    group; the effect (HR (95% CI), PBIShi vs PBISlo, Cox) and p (Fisher's exact test for
    response, log-rank for survival) in the row of each outcome. A median not reached reads
    "not reached"; its upper limit "NR"."""
    from helpers.prose import n_of

    r = resp.set_index("label")
    groups = ["PBISlo", "PBIShi"]
    rows = [dict(row="Patients with a response assessment", PBISlo=str(int(r.loc["PBISlo", "n"])),
                 PBIShi=str(int(r.loc["PBIShi", "n"])), effect="", p=math.nan),
            dict(row="Objective response (CR or PR)",
                 **{g: n_of(int(r.loc[g, "responders"]), int(r.loc[g, "n"])) for g in groups},
                 effect="", p=float(resp["p_fisher"].iloc[0]))]

    def _m(x):
        return "NR" if x is None or not np.isfinite(float(x)) else f"{float(x):.1f}"

    for ep, t in comps.items():
        s = t.set_index("label")
        name = OUTCOME_LABELS[ep]
        x = t.iloc[0]
        rows.append(dict(row=f"{name}: events / patients",
                         **{g: f"{int(s.loc[g, 'events'])} / {int(s.loc[g, 'n'])}" if g in s.index else "" for g in groups},
                         effect=estimate_text(x["hr"], x["lower"], x["upper"]), p=float(x["p_logrank"])))
        rows.append(dict(row=f"{name}: median, months (95% CI)",
                         **{g: ("not reached" if not np.isfinite(float(s.loc[g, "median"])) else _m(s.loc[g, "median"]))
                            + f" ({_m(s.loc[g, 'median_lower'])}–{_m(s.loc[g, 'median_upper'])})"
                            if g in s.index else "" for g in groups},
                         effect="", p=math.nan))
    out = pd.DataFrame(rows)
    out.attrs["labels"] = {"row": "", "PBISlo": "PBISlo", "PBIShi": "PBIShi", "effect": "HR (95% CI)", "p": "p"}
    out.attrs["notes"] = [n for t in comps.values() for n in t.attrs.get("notes", [])]
    return out


#: Footnotes of :func:`outcomes_table`.
OUTCOMES_TABLE_NOTES = ("HR: Cox regression, PBIShi vs PBISlo (reference), Efron ties, Wald 95% CI.",
                        "Medians: Kaplan-Meier, 95% CI by the log method (R survfit); NR: not reached.")
OUTCOMES_TABLE_TEST = "Fisher's exact test for objective response; log-rank test for survival"


#: Binary (0/1) characteristics: their levels read No/Yes in tables.
BINARY = ("male", "viral_etiology", "previous_treatment", "multiple_tumors", "macrovascular_invasion",
          "extrahepatic_spread", "objective_response")


def table_one_display(table: pd.DataFrame, groups=None) -> pd.DataFrame:
    """:func:`helpers.tables.format_table_one` output as a journal's Table 1: one
    ``characteristic`` column that names the row and its statistic ("Age (years), median
    [IQR]"; labels through :func:`helpers.labels.label`, the contract's labels and units), a
    binary (:data:`BINARY`) characteristic as its one "yes" row with the p and SMD beside it,
    the levels of other categorical ones as indented rows under their name. ``groups``: the
    group columns in the order to show (default: as given). Numbers and p-values unchanged."""
    from helpers.labels import label

    t = table.copy()
    group_cols = list(groups) if groups else [c for c in t.columns if c not in ("variable", "level", "statistic", "p", "smd")]
    names = t["variable"].replace("", np.nan).ffill()
    rows = []
    for name, part in t.groupby(names, sort=False):
        first = part.iloc[0]
        stat = first["statistic"]
        if name == "n":
            rows.append({"characteristic": "Patients, n", **{g: first[g] for g in group_cols}, "p": "", "smd": ""})
            continue
        text = label(name)
        if name in BINARY and len(part) <= 2:
            yes = part[part["level"].astype(str).isin(["1", "1.0", "True", "yes"])]
            row = yes.iloc[0] if len(yes) else part.iloc[-1]
            rows.append({"characteristic": f"{text}, {stat}", **{g: row[g] for g in group_cols},
                         "p": first["p"], "smd": first["smd"]})
        elif len(part) == 1:
            rows.append({"characteristic": f"{text}, {stat}", **{g: first[g] for g in group_cols},
                         "p": first["p"], "smd": first["smd"]})
        else:
            rows.append({"characteristic": f"{text}, {stat}", **{g: "" for g in group_cols},
                         "p": first["p"], "smd": first["smd"]})
            for _, r in part.iterrows():
                rows.append({"characteristic": f"\u2003{r['level']}", **{g: r[g] for g in group_cols}, "p": "", "smd": ""})
    return pd.DataFrame(rows, columns=["characteristic", *group_cols, "p", "smd"])


def points_distribution(df: pd.DataFrame) -> pd.DataFrame:
    """Patients per cohort and PBIS points (0 to the number of markers): columns ``cohort``,
    ``n`` (patients), one column per number of points (``"0"`` ... ``"4"``) and ``not_scored``
    (a PBIS marker missing) when any patient is not scored."""
    points = pd.to_numeric(df["pbis_points"], errors="coerce")
    levels = list(range(len(PBIS_MARKERS) + 1))
    rows = []
    for name, part in df.groupby(df["cohort"].astype(str), sort=False):
        p = points.loc[part.index]
        row = {"cohort": name.capitalize(), "n": len(part)}
        row.update({str(k): int((p == k).sum()) for k in levels})
        row["not_scored"] = int(p.isna().sum())
        rows.append(row)
    out = pd.DataFrame(rows)
    order = {c.capitalize(): i for i, c in enumerate(COHORTS)}
    out = out.sort_values("cohort", key=lambda s: s.map(order).fillna(len(order))).reset_index(drop=True)
    if not out["not_scored"].any():
        out = out.drop(columns="not_scored")
    return out


def marker_label(marker: str) -> str:
    """The display name of a PBIS marker or cytokine column (``"IL-12"``, ``"CRP (mg/dL)"``)."""
    if marker in PBIS_MARKERS and marker not in CYTOKINE_LABELS:
        return PBIS_MARKERS[marker][1]
    return CYTOKINE_LABELS.get(marker, marker)


def univariable_table(s1: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Table S1 for the page: one row per marker, per endpoint HR per doubling (95% CI) and p;
    the group headers give each endpoint's patients and events (complete cases; the range if
    markers differ). Returns ``(table, groups)`` as :func:`models_table` does."""
    from helpers.prose import count_noun

    order = list(dict.fromkeys(s1["marker"]))
    out = pd.DataFrame({"marker": [marker_label(m) for m in order]})
    groups, labels = {}, {"marker": "Marker (log2(x + 1))"}
    for ep in ENDPOINTS:
        part = s1[s1["endpoint"] == ep].set_index("marker")
        if part.empty:
            continue
        est_col, p_col = f"{ep}_hr", f"{ep}_p"
        out[est_col] = [estimate_text(*part.loc[m, ["hr", "lower", "upper"]]) if m in part.index else "—" for m in order]
        out[p_col] = [float(part.loc[m, "p"]) if m in part.index else math.nan for m in order]

        def _rng(col):
            v = sorted({int(x) for x in part[col]})
            return f"{v[0]}" if len(v) == 1 else f"{v[0]}–{v[-1]}"
        what = "death" if ep == "os" else "event"
        groups[f"{OUTCOME_LABELS[ep]} (n = {_rng('n')}, {_rng('events')} {'deaths' if ep == 'os' else 'events'})"] = [est_col, p_col]
        labels[est_col], labels[p_col] = "HR per doubling (95% CI)", "p"
    out.attrs["labels"] = labels
    return out, groups
