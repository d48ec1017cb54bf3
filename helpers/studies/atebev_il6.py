"""Analysis steps of the IL-6 / atezolizumab + bevacizumab study (JHEP Reports 2023), shared
by the ``atebev_*`` chapters and ``tests/test_study_atebev_il6.py``.

Every function takes the cohort as read by :func:`helpers.contract.read_cohort` (then
:func:`prepare`) and returns a tidy DataFrame (or a result object of :mod:`helpers`);
nothing here draws or prints.

Conventions
-----------
- **IL-6 groups.** The paper: low "< 18.49 pg/ml", high ">= 18.49 pg/ml" (Table 1).
  ``maxstat`` returns a *data value* as its estimate, the largest IL-6 of the low group
  (low = IL-6 <= cut). So :func:`il6_groups` takes ``high_if``: ``">="`` for a printed
  cut-off (the paper's rule), ``">"`` for a cut-off estimated by :func:`derive_cutoff` (the
  maxstat rule). The shipped synthetic cohort holds its estimate as 18.488 pg/ml, which
  prints as 18.49 and puts the same patients on each side under both rules.
- **Reference group** everywhere: IL-6 low, so HR > 1 means the IL-6-high group does worse.
- **Survival**: Kaplan-Meier with log CI and R's median rule, log-rank (R ``survdiff``), Cox
  with Efron ties and Wald 95% CI / p (R ``coxph``): :mod:`helpers.survival`.
- **Response** (RECIST 1.1 best response): objective response = CR or PR; disease control
  = CR, PR or SD; PD at the first evaluation = best response PD; CB6m = CR or PR, or SD
  with PFS >= 6 months (SD censored before 6 months: unknown, left out).
- **Group comparisons** as the paper (SPSS): Student's t test (equal variances) for means,
  Pearson's chi-square without continuity correction for tables (Fisher's exact p beside
  it for small cells), one-way ANOVA with Tukey's HSD for best-response groups.
- **Follow-up**: median by the reverse Kaplan-Meier method (death censors follow-up).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from helpers import maxstat, scores, survival, tables

STUDY = "atebev_il6"
COHORTS = ("discovery", "validation")
MARKER = "il6_pg_ml"
GROUP_LABELS = {0: "IL-6 low", 1: "IL-6 high"}
#: Published id of the printed cut-off.
CUTOFF_ID = "discovery_il6_cutoff"
ALTERNATIVE_CUTOFF_ID = "alternative_il6_cutoff"
#: Covariates of the multivariable Cox models (Fig. 3), column -> label.
MV_COVARIATES = {"age_years": "Age (per year)", "male": "Male sex", "ecog": "ECOG 1 vs 0",
                 "child_pugh_b": "Child-Pugh B vs A", "afp_ge400": "AFP >= 400 ng/ml",
                 "mvi": "Macrovascular invasion", "extrahepatic_spread": "Extrahepatic spread",
                 "il6_high": "IL-6 high vs low"}
#: Fig. 1B cytokines, column -> label.
CYTOKINE_LABELS = {"il2_pg_ml": "IL-2", "il4_pg_ml": "IL-4", "il6_pg_ml": "IL-6", "il10_pg_ml": "IL-10",
                   "il17a_pg_ml": "IL-17A", "ifng_pg_ml": "IFN-γ", "tnfa_pg_ml": "TNF-α"}
#: Fig. 1A laboratory markers (derived in :func:`prepare`), column -> label.
LAB_LABELS = {"nlr": "NLR", "plr": "PLR", "sii": "SII", "pni": "PNI", "crp_mg_dl": "CRP (mg/dl)",
              "log10_afp": "log10 AFP (ng/ml)", "albumin_g_dl": "Albumin (g/dl)"}
#: Fig. 1A clinical characteristics (binary), column -> label.
CLINICAL_LABELS = {"male": "Male sex", "ecog": "ECOG 1", "child_pugh_b": "Child-Pugh B",
                   "bclc_c": "BCLC C", "mvi": "Macrovascular invasion",
                   "extrahepatic_spread": "Extrahepatic spread", "afp_ge400": "AFP >= 400 ng/ml",
                   "hbv": "Hepatitis B"}
#: Table rows (variable, level) -> published id fragment.
TABLE_IDS = {
    ("male", "1"): "male", ("ecog", "0"): "ecog_0", ("ecog", "1"): "ecog_1",
    ("child_pugh_class", "A5"): "child_pugh_a5", ("child_pugh_class", "A6"): "child_pugh_a6",
    ("child_pugh_class", "B7"): "child_pugh_b7", ("bclc_stage", "B"): "bclc_b", ("bclc_stage", "C"): "bclc_c",
    ("afp_ge400", "1"): "afp_ge400", ("mvi", "1"): "mvi", ("extrahepatic_spread", "1"): "extrahepatic_spread",
    ("aetiology", "hbv"): "aetiology_hbv", ("aetiology", "hcv"): "aetiology_hcv",
    ("aetiology", "alcohol"): "aetiology_alcohol", ("aetiology", "other"): "aetiology_other",
    ("prior_local_therapy", "1"): "prior_local_therapy", ("il6_group", "IL-6 low"): "il6_low",
    ("il6_group", "IL-6 high"): "il6_high", ("crafity", "0"): "crafity_0", ("crafity", "1"): "crafity_1",
    ("crafity", "2"): "crafity_2",
}
#: Table 2 p-value ids: variable -> id fragment.
TABLE2_P_IDS = {"male": "male", "ecog": "ecog", "child_pugh_class": "child_pugh", "bclc_stage": "bclc",
                "afp_ge400": "afp_ge400", "mvi": "mvi", "extrahepatic_spread": "extrahepatic_spread",
                "aetiology": "aetiology", "crafity": "crafity", "prior_local_therapy": "prior_local_therapy"}
TABLE_LABELS = {"age_years": "Age (years)", "male": "Male sex", "ecog": "ECOG performance status",
                "child_pugh_class": "Child-Pugh classification", "bclc_stage": "BCLC stage",
                "afp_ge400": "AFP >= 400 ng/ml", "mvi": "Presence of MVI",
                "extrahepatic_spread": "Presence of extrahepatic spread", "aetiology": "Aetiology of HCC",
                "prior_local_therapy": "Prior local therapy for HCC", "il6_pg_ml": "IL-6 at baseline (pg/ml)",
                "il6_group": "IL-6 at baseline", "crafity": "CRAFITY score"}


# --------------------------------------------------------------------------- preparation
def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Derived columns (only from columns that exist): ``child_pugh_b``, ``afp_ge400``,
    ``log10_afp``, ``crafity`` (:func:`helpers.scores.crafity`), ``bclc_c``, ``hbv``,
    response flags (``objective_response``, ``disease_control``, ``pd_first``, ``cb6m``,
    ``response_group`` = CR+PR / SD / PD), ratios ``nlr``, ``plr``, ``sii`` and
    ``pni`` (10 x albumin g/dl + 5 x lymphocytes 10^9/l, Onodera). Unused category levels
    are dropped. The input is not modified."""
    d = df.copy()
    for col in d.columns:
        if isinstance(d[col].dtype, pd.CategoricalDtype):
            d[col] = d[col].cat.remove_unused_categories()
    if "child_pugh_class" in d:
        d["child_pugh_b"] = d["child_pugh_class"].astype(str).str.startswith("B").astype(int)
        d.loc[d["child_pugh_class"].isna(), "child_pugh_b"] = np.nan
    if "afp_ng_ml" in d:
        d["afp_ge400"] = (d["afp_ng_ml"] >= 400).astype(float).where(d["afp_ng_ml"].notna())
        d["log10_afp"] = np.log10(d["afp_ng_ml"].clip(lower=0.1))
    if "crp_mg_dl" in d and "afp_ng_ml" in d:
        d["crafity"] = scores.crafity(d["crp_mg_dl"], d["afp_ng_ml"])
    if "bclc_stage" in d:
        d["bclc_c"] = (d["bclc_stage"].astype(str) == "C").astype(float).where(d["bclc_stage"].notna())
    if "aetiology" in d:
        d["hbv"] = (d["aetiology"].astype(str) == "hbv").astype(float).where(d["aetiology"].notna())
    if "best_response" in d:
        br = d["best_response"].astype("string")
        known = br.notna()
        d["objective_response"] = br.isin(["CR", "PR"]).astype(float).where(known)
        d["disease_control"] = br.isin(["CR", "PR", "SD"]).astype(float).where(known)
        d["pd_first"] = (br == "PD").astype(float).where(known)
        cb = br.isin(["CR", "PR"]) | ((br == "SD") & (d["pfs_months"] >= 6))
        unknown = (br == "SD") & (d["pfs_months"] < 6) & (d["pfs_event"] == 0)
        d["cb6m"] = cb.astype(float).where(known & ~unknown)
        grp = br.map({"CR": "CR+PR", "PR": "CR+PR", "SD": "SD", "PD": "PD"})
        d["response_group"] = pd.Categorical(grp, categories=["CR+PR", "SD", "PD"])
    if {"neutrophils_10e9_l", "lymphocytes_10e9_l"} <= set(d.columns):
        d["nlr"] = d["neutrophils_10e9_l"] / d["lymphocytes_10e9_l"]
        if "platelets_10e9_l" in d:
            d["plr"] = d["platelets_10e9_l"] / d["lymphocytes_10e9_l"]
            d["sii"] = d["platelets_10e9_l"] * d["neutrophils_10e9_l"] / d["lymphocytes_10e9_l"]
        if "albumin_g_dl" in d:
            d["pni"] = 10 * d["albumin_g_dl"] + 5 * d["lymphocytes_10e9_l"]
    return d


def cohort_subset(df: pd.DataFrame, cohort: str) -> pd.DataFrame:
    """Rows of one cohort; ``"total"`` = all rows."""
    if cohort == "total":
        return df
    if cohort not in COHORTS:
        raise ValueError(f"cohort {cohort!r}: expected one of total, {', '.join(COHORTS)}")
    return df[df["cohort"].astype(str) == cohort]


# --------------------------------------------------------------------------- IL-6 groups
def il6_groups(df: pd.DataFrame, cutoff: float, high_if: str = ">=") -> pd.DataFrame:
    """Add ``il6_high`` (1/0) and ``il6_group`` (ordered: IL-6 low, IL-6 high).

    ``high_if=">="``: high = IL-6 >= cutoff (the paper's printed rule); ``">"``: high =
    IL-6 > cutoff (maxstat's rule, whose estimate is the largest low value)."""
    if high_if not in (">=", ">"):
        raise ValueError(f"high_if must be '>=' or '>', not {high_if!r}")
    x = df[MARKER]
    high = (x >= cutoff) if high_if == ">=" else (x > cutoff)
    d = df.copy()
    d["il6_high"] = high.astype(float).where(x.notna())
    d["il6_group"] = pd.Categorical(d["il6_high"].map(GROUP_LABELS), categories=list(GROUP_LABELS.values()))
    return d


def derive_cutoff(df: pd.DataFrame, cohort: str = "discovery", endpoint: str = "pfs", *,
                  minprop: float = 0.1, maxprop: float = 0.9, seed: int = 20231,
                  pmethods=maxstat.PVALUE_METHODS) -> maxstat.MaxstatResult:
    """Maximally selected log-rank statistic of IL-6 for ``endpoint`` in ``cohort``
    (R ``maxstat.test(Surv(time, event) ~ il6, smethod = "LogRank")``); low = IL-6 <= cut;
    ``seed`` seeds the Monte Carlo p-values."""
    sub = cohort_subset(df, cohort)
    return maxstat.maxstat_test(sub, f"{endpoint}_months", f"{endpoint}_event", MARKER,
                                minprop=minprop, maxprop=maxprop, seed=seed, pmethods=pmethods)


def resolve_cutoff(df: pd.DataFrame, il6_cutoff, *, cutoff_endpoint: str = "pfs",
                   cutoff_cohort: str = "discovery", minprop: float = 0.1, maxprop: float = 0.9,
                   seed: int = 20231):
    """The cut-off a chapter uses: ``(value, high_if, MaxstatResult or None)``.

    ``il6_cutoff`` is a number (the printed cut-off: ``high_if=">="``) or ``"maxstat"``
    (estimate it on ``cutoff_cohort``/``cutoff_endpoint``: ``high_if=">"``)."""
    if isinstance(il6_cutoff, str) and il6_cutoff.strip().lower() == "maxstat":
        res = derive_cutoff(df, cutoff_cohort, cutoff_endpoint, minprop=minprop, maxprop=maxprop,
                            seed=seed)
        return float(res.cutoff), ">", res
    try:
        value = float(il6_cutoff)
    except (TypeError, ValueError):
        raise ValueError(f"il6_cutoff must be a number or 'maxstat', not {il6_cutoff!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"il6_cutoff must be a finite number >= 0, not {il6_cutoff!r}")
    return value, ">=", None


def share_high(df: pd.DataFrame) -> pd.DataFrame:
    """IL-6-high count and % per cohort and overall (``cohort``, ``n``, ``n_high``, ``pct_high``)."""
    rows = []
    for c in ("total",) + COHORTS:
        sub = cohort_subset(df, c)
        n = int(sub["il6_high"].notna().sum())
        k = int(sub["il6_high"].sum())
        rows.append({"cohort": c, "n": n, "n_high": k, "pct_high": 100 * k / n if n else math.nan})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- tables
TABLE1_VARIABLES = ["age_years", "male", "ecog", "child_pugh_class", "bclc_stage", "afp_ge400", "mvi",
                    "extrahepatic_spread", "aetiology", "prior_local_therapy", "il6_pg_ml", "il6_group"]
TABLE2_VARIABLES = ["age_years", "male", "ecog", "child_pugh_class", "bclc_stage", "afp_ge400", "mvi",
                    "extrahepatic_spread", "aetiology", "crafity", "prior_local_therapy"]
_CATEGORICAL = ["male", "ecog", "child_pugh_class", "bclc_stage", "afp_ge400", "mvi", "extrahepatic_spread",
                "aetiology", "prior_local_therapy", "il6_group", "crafity"]
_ONE_LEVEL = {"male": [1], "afp_ge400": [1], "mvi": [1], "extrahepatic_spread": [1], "prior_local_therapy": [1]}


def _present(df, variables):
    return [v for v in variables if v in df.columns and df[v].notna().any()]


def table1(df: pd.DataFrame, min_count: int = 0) -> pd.DataFrame:
    """Table 1: total (first), discovery, validation; journal format ``139 (84.2%)``,
    ``61 (55–68)`` (median, type-7 quartiles); SPSS rounding (half up)."""
    variables = _present(df, TABLE1_VARIABLES)
    return tables.table_one(df, "cohort", variables, categorical=[v for v in _CATEGORICAL if v in variables],
                            nonnormal=["age_years", "il6_pg_ml"], labels=TABLE_LABELS, min_count=min_count,
                            total="Total", total_first=True, yates=False, formats=tables.FORMATS_JOURNAL,
                            levels={k: v for k, v in _ONE_LEVEL.items() if k in variables},
                            rounding="half_up", digits={"age_years": 0, "il6_pg_ml": 2})


def table2(df: pd.DataFrame, min_count: int = 0) -> pd.DataFrame:
    """Table 2: characteristics by IL-6 group with p-values (Pearson chi-square without
    continuity correction, as SPSS prints; age: Kruskal-Wallis in the table, Student's t in
    :func:`age_t_test`)."""
    variables = _present(df, TABLE2_VARIABLES)
    return tables.table_one(df, "il6_group", variables, categorical=[v for v in _CATEGORICAL if v in variables],
                            nonnormal=["age_years"], labels=TABLE_LABELS, min_count=min_count, yates=False,
                            formats=tables.FORMATS_JOURNAL,
                            levels={k: v for k, v in _ONE_LEVEL.items() if k in variables},
                            rounding="half_up", digits={"age_years": 0})


def age_t_test(df: pd.DataFrame) -> float:
    """Student's t test p for age, IL-6 high vs low."""
    a = df.loc[df["il6_high"] == 0, "age_years"].dropna()
    b = df.loc[df["il6_high"] == 1, "age_years"].dropna()
    return float(stats.ttest_ind(a, b).pvalue)


def table_records(tab: pd.DataFrame, prefixes: dict) -> pd.DataFrame:
    """The table's numbers under the published ids: one row per (group column, variable,
    level) with ``key`` (``<prefix>_<fragment>_n`` / ``_pct``), ``estimate``; and per
    variable its p (``p_prefix`` in ``prefixes`` as ``{"p": "total_{}_p_il6"}``) and the
    medians/quartiles of age and IL-6 (``<prefix>_age_median`` ...)."""
    rows = []
    for _, r in tab.iterrows():
        var, level = r["variable"], str(r["level"])
        if var == "n":
            continue
        for col, prefix in prefixes.items():
            if col == "p":
                continue
            if var in ("age_years", "il6_pg_ml"):
                short = "age" if var == "age_years" else "il6"
                for q in ("median", "q1", "q3"):
                    rows.append({"key": f"{prefix}_{short}_{q}", "estimate": r[f"{col}__{q}"]})
                continue
            frag = TABLE_IDS.get((var, level.replace(".0", "")))
            if frag is None:
                continue
            rows.append({"key": f"{prefix}_{frag}_n", "estimate": r[f"{col}__n"]})
            rows.append({"key": f"{prefix}_{frag}_pct", "estimate": r[f"{col}__pct"]})
    if "p" in prefixes:
        for var, grp in tab.groupby("variable", sort=False):
            if var in TABLE2_P_IDS and grp["p"].notna().any():
                rows.append({"key": prefixes["p"].format(TABLE2_P_IDS[var]), "estimate": float(grp["p"].dropna().iloc[0]),
                             "p": float(grp["p"].dropna().iloc[0])})
    out = pd.DataFrame(rows, columns=["key", "estimate", "p"])
    return out.drop_duplicates("key").reset_index(drop=True)


# --------------------------------------------------------------------------- outcomes
def survival_by_group(df: pd.DataFrame, endpoint: str, cohort: str, group: str = "il6_high") -> dict:
    """Kaplan-Meier, log-rank and Cox of ``endpoint`` by ``group`` (1 = high) in ``cohort``.

    Returns ``{"km": km_table, "summary": km_summary, "logrank": logrank, "cox": CoxResult,
    "row": one-row tidy summary}``; the row has ``cohort``, ``endpoint``, ``n``, ``events``,
    per group ``n_*``, ``events_*``, ``median_*`` (+ ``_lower``/``_upper``), ``hr``,
    ``lower``, ``upper``, ``p`` (Cox Wald) and ``p_logrank``."""
    sub = cohort_subset(df, cohort).dropna(subset=[group, f"{endpoint}_months", f"{endpoint}_event"])
    t, e = f"{endpoint}_months", f"{endpoint}_event"
    lab = sub.assign(_g=pd.Categorical(sub[group].map({0: "low", 1: "high"}), categories=["low", "high"]))
    km = survival.km_table(lab, t, e, "_g")
    summ = survival.km_summary(lab, t, e, "_g")
    lr = survival.logrank(lab, t, e, "_g")
    cx = survival.cox(sub.assign(**{group: sub[group].astype(int)}), t, e, [group])
    c = cx.table.iloc[0]
    row = {"cohort": cohort, "endpoint": endpoint, "n": len(sub), "events": int(sub[e].sum())}
    for _, s in summ.iterrows():
        g = str(s["group"])
        row.update({f"n_{g}": int(s["n"]), f"events_{g}": int(s["events"]), f"median_{g}": s["median"],
                    f"median_{g}_lower": s["median_lower"], f"median_{g}_upper": s["median_upper"]})
    row.update({"hr": c["hr"], "lower": c["lower"], "upper": c["upper"], "p": c["p"],
                "p_logrank": float(lr["p"].iloc[0])})
    return {"km": km, "summary": summ, "logrank": lr, "cox": cx, "row": pd.DataFrame([row])}


def outcomes_table(df: pd.DataFrame, group: str = "il6_high", cohorts=COHORTS) -> pd.DataFrame:
    """:func:`survival_by_group` rows for PFS and OS in each cohort, stacked."""
    return pd.concat([survival_by_group(df, ep, c, group)["row"] for c in cohorts for ep in ("pfs", "os")],
                     ignore_index=True)


def response_by_group(df: pd.DataFrame, cohort: str, outcome: str = "objective_response") -> pd.DataFrame:
    """Per IL-6 group: ``n``, ``responders`` (count of ``outcome`` = 1), ``rate`` (%), plus
    ``p_chisq`` (Pearson, no correction) and ``p_fisher`` of the 2x2 table (same in both rows)."""
    sub = cohort_subset(df, cohort).dropna(subset=["il6_high", outcome])
    rows = []
    for g, lab in GROUP_LABELS.items():
        s = sub[sub["il6_high"] == g]
        k = int(s[outcome].sum())
        rows.append({"cohort": cohort, "group": lab, "n": len(s), "responders": k,
                     "rate": 100 * k / len(s) if len(s) else math.nan})
    out = pd.DataFrame(rows)
    tab = np.array([[r["responders"], r["n"] - r["responders"]] for r in rows])
    if (tab.sum(axis=0) > 0).all() and (tab.sum(axis=1) > 0).all():
        out["p_chisq"] = float(stats.chi2_contingency(tab, correction=False)[1])
        out["p_fisher"] = float(stats.fisher_exact(tab)[1])
    else:
        out["p_chisq"] = out["p_fisher"] = math.nan
    return out


def followup(df: pd.DataFrame, cohort: str) -> float:
    """Median follow-up (months) by reverse Kaplan-Meier: alive = 'event', death = censored."""
    sub = cohort_subset(df, cohort)
    rev = sub.assign(_alive=1 - sub["os_event"])
    return float(survival.km_summary(rev, "os_months", "_alive")["median"].iloc[0])


def os_rate(df: pd.DataFrame, cohort: str, months: float = 12.0) -> pd.DataFrame:
    """Kaplan-Meier OS at ``months`` (``survival``, ``lower``, ``upper`` as proportions)."""
    return survival.km_at(cohort_subset(df, cohort), "os_months", "os_event", None, times=(months,))


def multivariable(df: pd.DataFrame, endpoint: str, cohort: str = "total",
                  covariates: list | None = None) -> survival.CoxResult:
    """Multivariable Cox model of ``endpoint`` (Fig. 3): :data:`MV_COVARIATES` present in the
    cohort (all binary 0/1 except age per year); rows with a missing value are dropped."""
    covs = [c for c in (covariates or list(MV_COVARIATES)) if c in df.columns and df[c].notna().any()]
    sub = cohort_subset(df, cohort)
    return survival.cox(sub, f"{endpoint}_months", f"{endpoint}_event", covs)


def univariable(df: pd.DataFrame, endpoint: str, cohort: str = "total") -> pd.DataFrame:
    """One Cox model per covariate of :data:`MV_COVARIATES` (the univariable column of Fig. 3)."""
    covs = [c for c in MV_COVARIATES if c in df.columns and df[c].notna().any()]
    return survival.cox_univariable(cohort_subset(df, cohort), f"{endpoint}_months", f"{endpoint}_event", covs)


def label_terms(table: pd.DataFrame) -> pd.DataFrame:
    """Add a ``label`` column from :data:`MV_COVARIATES` to a Cox table."""
    col = "covariate" if "covariate" in table.columns else "term"
    return table.assign(label=table[col].map(MV_COVARIATES).fillna(table[col]))


# --------------------------------------------------------------------------- Fig. 1
def compare_means(df: pd.DataFrame, markers: dict, by: str, *, cohort: str = "discovery",
                  positive: str = "with", negative: str = "without") -> pd.DataFrame:
    """Per marker: mean in ``by`` = 0 and ``by`` = 1, difference (0 minus 1), Student's t p
    (equal variances, as SPSS's first row) and Welch p. Columns: ``marker``, ``label``,
    ``n_0``, ``mean_0``, ``sd_0``, ``n_1``, ``mean_1``, ``sd_1``, ``difference``, ``p``,
    ``p_welch``."""
    sub = cohort_subset(df, cohort).dropna(subset=[by])
    rows = []
    for col, label in markers.items():
        if col not in sub.columns:
            continue
        a = sub.loc[sub[by] == 0, col].dropna().astype(float)
        b = sub.loc[sub[by] == 1, col].dropna().astype(float)
        if len(a) < 2 or len(b) < 2:
            continue
        rows.append({"marker": col, "label": label, "n_0": len(a), "mean_0": a.mean(), "sd_0": a.std(),
                     "n_1": len(b), "mean_1": b.mean(), "sd_1": b.std(), "difference": a.mean() - b.mean(),
                     "p": float(stats.ttest_ind(a, b).pvalue),
                     "p_welch": float(stats.ttest_ind(a, b, equal_var=False).pvalue)})
    return pd.DataFrame(rows)


def compare_proportions(df: pd.DataFrame, characteristics: dict, by: str, *, cohort: str = "discovery") -> pd.DataFrame:
    """Per binary characteristic: % in ``by`` = 0 and = 1, difference, Pearson chi-square p
    (no correction) and Fisher's p."""
    sub = cohort_subset(df, cohort).dropna(subset=[by])
    rows = []
    for col, label in characteristics.items():
        if col not in sub.columns:
            continue
        s = sub.dropna(subset=[col])
        tab = pd.crosstab(s[by], s[col]).reindex(index=[0, 1], columns=[0, 1], fill_value=0).to_numpy()
        if (tab.sum(axis=0) == 0).any() or (tab.sum(axis=1) == 0).any():
            continue
        p0, p1 = 100 * tab[0, 1] / tab[0].sum(), 100 * tab[1, 1] / tab[1].sum()
        rows.append({"marker": col, "label": label, "pct_0": p0, "pct_1": p1, "difference": p0 - p1,
                     "p": float(stats.chi2_contingency(tab, correction=False)[1]),
                     "p_fisher": float(stats.fisher_exact(tab)[1])})
    return pd.DataFrame(rows)


def response_anova(df: pd.DataFrame, marker: str = MARKER, cohort: str = "discovery") -> dict:
    """One-way ANOVA of ``marker`` over best-response groups (CR+PR, SD, PD) and Tukey's HSD
    (statsmodels ``pairwise_tukeyhsd``). Returns ``{"groups": n/mean/sd per group,
    "anova": one row (F, p), "tukey": one row per pair (group1, group2, meandiff, lower,
    upper, p_adj)}``."""
    from statsmodels.stats.multicomp import pairwise_tukeyhsd

    sub = cohort_subset(df, cohort).dropna(subset=["response_group", marker])
    groups = [g for g in sub["response_group"].cat.categories if (sub["response_group"] == g).sum() >= 2]
    sub = sub[sub["response_group"].isin(groups)]
    summ = (sub.groupby("response_group", observed=True)[marker].agg(["count", "mean", "std"])
            .reset_index().rename(columns={"count": "n", "std": "sd"}))
    samples = [sub.loc[sub["response_group"] == g, marker].to_numpy(float) for g in groups]
    f = stats.f_oneway(*samples)
    tk = pairwise_tukeyhsd(sub[marker].to_numpy(float), sub["response_group"].astype(str).to_numpy())
    res = pd.DataFrame(tk.summary().data[1:], columns=tk.summary().data[0])
    res = res.rename(columns={"p-adj": "p_adj_printed"})
    res["p_adj"] = tk.pvalues
    res = res[["group1", "group2", "meandiff", "lower", "upper", "p_adj"]]
    return {"groups": summ, "anova": pd.DataFrame([{"F": f.statistic, "p": f.pvalue}]), "tukey": res}


def tukey_p(tukey: pd.DataFrame, a: str, b: str) -> float:
    """Tukey-adjusted p of one pair, in either order."""
    m = ((tukey.group1 == a) & (tukey.group2 == b)) | ((tukey.group1 == b) & (tukey.group2 == a))
    return float(tukey.loc[m, "p_adj"].iloc[0]) if m.any() else math.nan


# --------------------------------------------------------------------------- cut-off comparison
def cutoff_comparison(df: pd.DataFrame, cutoffs: dict) -> pd.DataFrame:
    """For each named cut-off (``{name: (value, high_if)}``), cohort and endpoint: share high,
    HR (95% CI), Cox p and log-rank p (:func:`survival_by_group`)."""
    rows = []
    for name, (value, high_if) in cutoffs.items():
        g = il6_groups(df, value, high_if)
        for c in COHORTS:
            sub = cohort_subset(g, c)
            k = int(sub["il6_high"].sum())
            if k == 0 or k == len(sub):
                continue
            for ep in ("pfs", "os"):
                r = survival_by_group(g, ep, c)["row"].iloc[0]
                rows.append({"cutoff": name, "value": value, "rule": f"high if IL-6 {high_if} {value:g}",
                             "cohort": c, "endpoint": ep, "n_high": k, "pct_high": 100 * k / len(sub),
                             "hr": r["hr"], "lower": r["lower"], "upper": r["upper"], "p": r["p"],
                             "p_logrank": r["p_logrank"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- T cells / TME
def tcell_compare(tcell: pd.DataFrame) -> pd.DataFrame:
    """Fig. 4A-B: IFN-γ+ and TNF-α+ % of CD8+ T cells, IL-6 high vs low (Student's t)."""
    rows = []
    for col, lab in (("ifng_cd8_pct", "IFN-γ+ CD8+ (%)"), ("tnfa_cd8_pct", "TNF-α+ CD8+ (%)")):
        a = tcell.loc[tcell["il6_group"].astype(str) == "il6_low", col]
        b = tcell.loc[tcell["il6_group"].astype(str) == "il6_high", col]
        rows.append({"readout": col, "label": lab, "n_low": len(a), "mean_low": a.mean(), "n_high": len(b),
                     "mean_high": b.mean(), "difference": b.mean() - a.mean(),
                     "p": float(stats.ttest_ind(a, b).pvalue)})
    return pd.DataFrame(rows)


def exposure_paired(exposure: pd.DataFrame) -> pd.DataFrame:
    """Fig. 4C-F: exogenous IL-6 vs control on the same donors (paired t test)."""
    wide = exposure.pivot(index="donor_id", columns="condition")
    rows = []
    for col, lab in (("ifng_cd8_pct", "IFN-γ+ CD8+ (%)"), ("tnfa_cd8_pct", "TNF-α+ CD8+ (%)"),
                     ("proliferated_cd8_pct", "Proliferated CD8+ (%)")):
        c, i = wide[(col, "control")], wide[(col, "il6")]
        rows.append({"readout": col, "label": lab, "n_pairs": int(c.notna().sum()), "mean_control": c.mean(),
                     "mean_il6": i.mean(), "mean_difference": (i - c).mean(),
                     "p": float(stats.ttest_rel(i, c).pvalue)})
    return pd.DataFrame(rows)


def tme_compare(tme: pd.DataFrame) -> pd.DataFrame:
    """Fig. 5: every TME score, IL-6 high vs low (Student's t, as the Methods state)."""
    cols = [c for c in tme.columns if c.startswith("cibersort_")] + [
        c for c in ("dysfunction_score", "exclusion_score", "cd8_density_mm2", "cd4_density_mm2") if c in tme.columns]
    rows = []
    for col in cols:
        a = tme.loc[tme["il6_group"].astype(str) == "il6_low", col].dropna()
        b = tme.loc[tme["il6_group"].astype(str) == "il6_high", col].dropna()
        rows.append({"score": col, "mean_low": a.mean(), "mean_high": b.mean(), "difference": b.mean() - a.mean(),
                     "p": float(stats.ttest_ind(a, b).pvalue)})
    return pd.DataFrame(rows)


def tme_clustering(tme: pd.DataFrame) -> dict:
    """Fig. S3A: CIBERSORT absolute scores z-scored per subset, samples and subsets ordered by
    average-linkage hierarchical clustering on Euclidean distance (scipy). Returns
    ``{"matrix": z-scores (subsets x samples, ordered), "groups": il6_group per column}``."""
    from scipy.cluster.hierarchy import leaves_list, linkage

    cols = [c for c in tme.columns if c.startswith("cibersort_")]
    m = tme.set_index("sample_id")[cols].T
    sd = m.std(axis=1).replace(0, 1)
    z = m.sub(m.mean(axis=1), axis=0).div(sd, axis=0)
    row_order = leaves_list(linkage(z.to_numpy(), "average"))
    col_order = leaves_list(linkage(z.T.to_numpy(), "average"))
    z = z.iloc[row_order, col_order]
    z.index = [i.replace("cibersort_", "") for i in z.index]
    groups = tme.set_index("sample_id").loc[z.columns, "il6_group"].astype(str)
    return {"matrix": z, "groups": groups}


# --------------------------------------------------------------------------- chapter set-up
def load(cohort_file=None, il6_cutoff=18.49, *, cutoff_endpoint: str = "pfs", cutoff_cohort: str = "discovery",
         minprop: float = 0.1, maxprop: float = 0.9, seed: int = 20231):
    """What every chapter starts with: read and validate the cohort
    (:func:`helpers.contract.read_cohort`; ``None`` = the shipped synthetic cohort),
    :func:`prepare`, resolve the cut-off (:func:`resolve_cutoff`) and form the IL-6 groups.

    Returns ``(df, cut)`` with ``cut = {"value", "high_if", "maxstat", "rule"}``."""
    from helpers import contract

    raw = contract.read_cohort(STUDY, cohort_file)
    df = prepare(raw)
    value, high_if, res = resolve_cutoff(df, il6_cutoff, cutoff_endpoint=cutoff_endpoint,
                                         cutoff_cohort=cutoff_cohort, minprop=minprop, maxprop=maxprop,
                                         seed=seed)
    df = il6_groups(df, value, high_if)
    rule = f"IL-6 {'≥' if high_if == '>=' else '>'} {value:g} pg/ml"
    return df, {"value": value, "high_if": high_if, "maxstat": res, "rule": rule}


def has_groups(df: pd.DataFrame, cohort: str, min_per_group: int = 2) -> bool:
    """True if ``cohort`` has at least ``min_per_group`` patients in each IL-6 group."""
    sub = cohort_subset(df, cohort)
    counts = sub["il6_high"].value_counts()
    return all(counts.get(g, 0) >= min_per_group for g in (0.0, 1.0))
