"""Analysis steps of the IL-6 / atezolizumab + bevacizumab study (JHEP Reports 2023), shared
by the ``atebev_*`` chapters and ``tests/test_study_atebev_il6.py``.

The study interface (:mod:`helpers.studies`): :class:`Params` (every parameter of the
chapters, defaults and published cut-off), :data:`SECTIONS`, :func:`load` (read, validate,
prepare, form the IL-6 groups) and :func:`reproduce` (the numbers each chapter records, keyed
by published id). The other functions are the analysis steps :func:`reproduce` and the
chapters call: each takes the cohort as :func:`load` returns it and returns a tidy DataFrame
(or a result object of :mod:`helpers`); nothing here draws or prints.

Conventions
-----------
- **IL-6 groups.** The paper (Table 1): low "< cut-off", high ">= cut-off", with the printed
  cut-off in ``data/published/atebev_il6.csv`` (id ``discovery_il6_cutoff``; the default of
  :class:`Params`). ``maxstat`` returns a *data value* as its estimate, the largest IL-6 of
  the low group (low = IL-6 <= cut). So :func:`il6_groups` takes ``high_if``: ``">="`` for a
  printed cut-off (the paper's rule), ``">"`` for a cut-off estimated by :func:`derive_cutoff`
  (the maxstat rule). The shipped synthetic cohort holds its estimate just below the printed
  value (it prints as the printed value), which puts the same patients on each side under
  both rules.
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

import dataclasses
import math
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from helpers import disclosure, fitcache, maxstat, prose, published, results, scores, survival, tables
from helpers.studies import ParamError, StudyParams, check_section, param
from helpers.studies import rows as study_rows

STUDY = "atebev_il6"
COHORTS = ("discovery", "validation")
MARKER = "il6_pg_ml"
GROUP_LABELS = {0: "IL-6 low", 1: "IL-6 high"}
#: Published id of the printed cut-off.
CUTOFF_ID = "discovery_il6_cutoff"
ALTERNATIVE_CUTOFF_ID = "alternative_il6_cutoff"
#: Covariates of the multivariable Cox models (Fig. 3), column -> label.
MV_COVARIATES = {"age_years": "Age (per 10 years)", "male": "Male sex", "ecog": "ECOG 1 vs 0",
                 "child_pugh_b": "Child-Pugh B vs A", "afp_ge400": "AFP ≥ 400 ng/ml",
                 "mvi": "Macrovascular invasion", "extrahepatic_spread": "Extrahepatic spread",
                 "il6_high": "IL-6 high vs low"}
#: Age enters the Cox models per this many years (a per-year HR prints as 1.01 (1.00-1.03):
#: the unit that means something clinically is a decade; the IL-6 HR does not depend on it).
AGE_UNIT_YEARS = 10
#: The test behind Table 2's age p-value (the paper's Methods: t tests for continuous data).
AGE_TEST = "Student's t test (equal variances)"
#: Short names of columns for "n = 287 of 312; 25 without AFP" notes (derived columns name
#: the column they come from).
SHORT_NAMES = {"afp_ng_ml": "AFP", "afp_ge400": "AFP", "log10_afp": "AFP", "ecog": "ECOG",
               "child_pugh_class": "Child-Pugh class", "child_pugh_b": "Child-Pugh class",
               "age_years": "age", "male": "sex", "mvi": "MVI", "extrahepatic_spread": "extrahepatic spread",
               "il6_high": "IL-6", "il6_group": "IL-6", "il6_pg_ml": "IL-6", "bclc_stage": "BCLC stage",
               "bclc_c": "BCLC stage", "aetiology": "aetiology", "hbv": "aetiology", "crp_mg_dl": "CRP",
               "crafity": "CRP or AFP", "prior_local_therapy": "prior local therapy",
               "best_response": "best response", "objective_response": "best response",
               "pd_first": "best response", "cb6m": "CB6m", "response_group": "best response",
               "pfs_months": "PFS", "pfs_event": "PFS", "os_months": "OS", "os_event": "OS"}
#: Fig. 1B cytokines, column -> label.
CYTOKINE_LABELS = {"il2_pg_ml": "IL-2", "il4_pg_ml": "IL-4", "il6_pg_ml": "IL-6", "il10_pg_ml": "IL-10",
                   "il17a_pg_ml": "IL-17A", "ifng_pg_ml": "IFN-γ", "tnfa_pg_ml": "TNF-α"}
#: Fig. 1A laboratory markers (derived in :func:`prepare`), column -> label.
LAB_LABELS = {"nlr": "NLR", "plr": "PLR", "sii": "SII", "pni": "PNI", "crp_mg_dl": "CRP (mg/dl)",
              "log10_afp": "log10 AFP (ng/ml)", "albumin_g_dl": "Albumin (g/dl)"}
#: Fig. 1A clinical characteristics (binary), column -> label.
CLINICAL_LABELS = {"male": "Male sex", "ecog": "ECOG 1", "child_pugh_b": "Child-Pugh B",
                   "bclc_c": "BCLC C", "mvi": "Macrovascular invasion",
                   "extrahepatic_spread": "Extrahepatic spread", "afp_ge400": "AFP ≥ 400 ng/ml",
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
                "afp_ge400": "AFP ≥ 400 ng/ml", "mvi": "Presence of MVI",
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


def data_source(cohort_file=None, lab_files=()) -> str:
    """The sentence a figure caption ends with, from the same source as the page's data
    banner: ``"Synthetic data."`` for the shipped cohort (and shipped laboratory files), else
    ``"Data: <file name>."``, so a researcher's run never calls their data synthetic."""
    from pathlib import Path

    files = [f for f in (cohort_file, *lab_files) if f is not None]
    if not files:
        return "Synthetic data."
    return "Data: " + ", ".join(Path(str(f)).name for f in files) + "."


def cohort_labels(df: pd.DataFrame) -> list[str]:
    """The cohort labels in the file: the study's (:data:`COHORTS`) first, then any other."""
    present = [str(x) for x in df["cohort"].dropna().astype(str).unique()]
    return [c for c in COHORTS if c in present] + sorted(c for c in present if c not in COHORTS)


def single_cohort(df: pd.DataFrame) -> str | None:
    """The one cohort label of a file with a single cohort (one hospital, no validation
    cohort), else ``None``. Such a cohort is "your cohort": it plays the discovery cohort's
    part (Figure 1, the cut-off search, the discovery sections of Figure 2), and the
    validation sections are skipped with a note (:func:`cohort_subset`)."""
    labels = cohort_labels(df)
    return labels[0] if len(labels) == 1 else None


def single_cohort_note(df: pd.DataFrame) -> str:
    """The note a chapter shows for a single-cohort file (``""`` otherwise)."""
    one = single_cohort(df)
    if one is None:
        return ""
    return (f"**One cohort.** This file has a single cohort (label `{one}`, {len(df)} patients). It is analysed as "
            "*your cohort*: the sections written for the paper's discovery cohort use it, and the validation "
            "sections are skipped. The published numbers beside it are the paper's discovery cohort's.")


def cohort_subset(df: pd.DataFrame, cohort: str) -> pd.DataFrame:
    """Rows of one cohort; ``"total"`` = all rows. In a single-cohort file
    (:func:`single_cohort`) ``"discovery"`` is that cohort and ``"validation"`` is empty."""
    if cohort == "total":
        return df
    labels = cohort_labels(df)
    if cohort not in COHORTS and cohort not in labels:
        raise ValueError(f"cohort {cohort!r}: expected one of total, {', '.join(dict.fromkeys(COHORTS + tuple(labels)))}")
    if len(labels) == 1 and cohort in COHORTS:
        return df if cohort == "discovery" else df.iloc[0:0]
    return df[df["cohort"].astype(str) == cohort]


def unit(column: str) -> str:
    """The unit of a cohort column as the contract states it (``helpers/schemas``), so prose
    and labels never type one (``""`` if the contract gives none)."""
    from helpers import contract

    for dataset in contract.contracts(STUDY).values():
        for c in dataset.columns:
            if c.name == column:
                return c.unit
    return ""


def complete_cases(df: pd.DataFrame, columns) -> dict:
    """Complete cases for ``columns`` (those present): ``n`` (complete), ``total`` (rows) and
    ``missing`` (``{short name: rows without it}``, in column order, only names with gaps)."""
    cols = [c for c in dict.fromkeys(columns) if c in df.columns]
    missing = {}
    for c in cols:
        k = int(df[c].isna().sum())
        if k:
            name = SHORT_NAMES.get(c, c)
            missing[name] = max(missing.get(name, 0), k)
    n = int(df[cols].notna().all(axis=1).sum()) if cols else len(df)
    return {"n": n, "total": len(df), "missing": missing}


def n_note(df: pd.DataFrame, columns, *, what: str = "") -> str:
    """``"n = 287 of 312; 25 without AFP, 3 without ECOG"`` (complete cases for ``columns``),
    or ``"n = 312"`` when nothing is missing; ``what`` names the rows (``"n = 77 of 84
    discovery patients; 7 without IL-6"``)."""
    cc = complete_cases(df, columns)
    tail = f" {what}" if what else ""
    if cc["n"] == cc["total"]:
        return f"n = {cc['n']}{tail}"
    gaps = ", ".join(f"{k} without {name}" for name, k in cc["missing"].items())
    return f"n = {cc['n']} of {cc['total']}{tail}; {gaps}"


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
    ``seed`` seeds the Monte Carlo p-values.

    The costly p-values are bounded (:data:`helpers.maxstat.MC_BUDGET`,
    :data:`helpers.maxstat.EXACT_BUDGET`): above 10,001 patients condMC runs fewer than 9,999
    permutations, and exactGauss is not computed when its quadrature would take too long;
    :func:`pvalue_notes` says so on the page. The book's cohorts are far below both bounds."""
    sub = cohort_subset(df, cohort)
    return maxstat.maxstat_test(sub, f"{endpoint}_months", f"{endpoint}_event", MARKER,
                                minprop=minprop, maxprop=maxprop, seed=seed, pmethods=pmethods,
                                mc_budget=maxstat.MC_BUDGET, exact_budget=maxstat.EXACT_BUDGET)


def pvalue_notes(results: dict) -> list[str]:
    """What a page must say when the cost bounds of :func:`derive_cutoff` changed a p-value,
    for ``{cohort: MaxstatResult}`` (results without p-values or ``None`` are passed over):
    one note for all bounded condMC p-values (the permutations used per cohort), one per
    exactGauss not computed. ``[]`` when no bound applied (the book's cohorts)."""
    bounded, notes = [], []
    asked = None
    for cohort, res in results.items():
        if res is None:
            continue
        methods = set(res.pvalues["method"])
        used, wanted = res.settings.get("n_mc"), res.settings.get("n_mc_requested")
        if "condMC" in methods and used is not None and wanted is not None and used < wanted:
            bounded.append(f"{used:,} for the {cohort} cohort ({res.n:,} patient{'s' if res.n != 1 else ''})")
            asked = wanted
        for method, why in res.settings.get("not_computed", {}).items():
            if method in methods:
                notes.append(f"{cohort.capitalize()} cohort ({res.n:,} patient{'s' if res.n != 1 else ''}): the "
                             f"{method} p is not computed ({why}); the other corrected p-values are.")
    if bounded:
        notes.insert(0, (
            f"To bound its cost, the conditional Monte Carlo p uses fewer permutations than {asked:,}: "
            f"{'; '.join(bounded)}. Permutations times patients are kept at about "
            f"{maxstat.MC_BUDGET:,} (at least {maxstat.MC_MIN:,} permutations), so such a p is resolved to "
            "about 1 / permutations. At these sizes the asymptotic p-values (Lausen 1994, exact Gauss) "
            "approximate the same permutation distribution closely."))
    return notes


def resolve_cutoff(df: pd.DataFrame, il6_cutoff, *, cutoff_endpoint: str = "pfs",
                   cutoff_cohort: str = "discovery", minprop: float = 0.1, maxprop: float = 0.9,
                   seed: int = 20231):
    """The cut-off a chapter uses: ``(value, high_if, MaxstatResult or None)``.

    ``il6_cutoff`` is a number (the printed cut-off: ``high_if=">="``) or ``"maxstat"``
    (estimate it on ``cutoff_cohort``/``cutoff_endpoint``: ``high_if=">"``)."""
    if isinstance(il6_cutoff, str) and il6_cutoff.strip().lower() == "maxstat":
        res = derive_cutoff(df, cutoff_cohort, cutoff_endpoint, minprop=minprop, maxprop=maxprop,
                            seed=seed, pmethods=())  # the cut-off only: atebev_cutoff shows the p-values
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


def _with_units(labels: dict) -> dict:
    """``labels`` with each column's unit from the contract in place of the typed one
    (``"CRP (mg/dl)"`` -> ``"CRP (<contract unit>)"``); labels without a unit are kept."""
    import re

    out = {}
    for col, lab in labels.items():
        u = unit(col)
        out[col] = re.sub(r"\([^()]*\)$", f"({u})", lab) if u and lab.endswith(")") else lab
    return out


def _table_labels() -> dict:
    """:data:`TABLE_LABELS` with units from the contract."""
    return _with_units(TABLE_LABELS)


def table1(df: pd.DataFrame) -> pd.DataFrame:
    """Table 1: total (first), discovery, validation; journal format ``139 (84.2%)``,
    ``61 (55–68)`` (median, type-7 quartiles); SPSS rounding (half up)."""
    variables = _present(df, TABLE1_VARIABLES)
    return tables.table_one(df, "cohort", variables, categorical=[v for v in _CATEGORICAL if v in variables],
                            nonnormal=["age_years", "il6_pg_ml"], labels=_table_labels(),
                            total="Total", total_first=True, yates=False, formats=tables.FORMATS_JOURNAL,
                            levels={k: v for k, v in _ONE_LEVEL.items() if k in variables},
                            rounding="half_up", digits={"age_years": 0, "il6_pg_ml": 2})


def table2(df: pd.DataFrame) -> pd.DataFrame:
    """Table 2: characteristics by IL-6 group with p-values (Pearson chi-square without
    continuity correction, as SPSS prints). Age is shown as median (IQR) as the paper prints
    it, and its p is :data:`AGE_TEST` (:func:`age_t_test`, the test the Methods name), the
    same p the chapter records (:func:`age_tests` lists the alternatives)."""
    variables = _present(df, TABLE2_VARIABLES)
    tab = tables.table_one(df, "il6_group", variables, categorical=[v for v in _CATEGORICAL if v in variables],
                            nonnormal=["age_years"], labels=_table_labels(), yates=False,
                            formats=tables.FORMATS_JOURNAL,
                            levels={k: v for k, v in _ONE_LEVEL.items() if k in variables},
                            rounding="half_up", digits={"age_years": 0})
    age = tab["variable"] == "age_years"
    if age.any() and tab.loc[age, "p"].notna().any():
        p = age_t_test(df)
        tab.loc[age, "p"] = p
        tab.loc[age, "p_text"] = results.fmt_p(p, prefix=False)
        tab.loc[age, "test"] = "ttest"
    return tab


#: Codes of table levels as a reader says them.
LEVEL_LABELS = {"hbv": "Hepatitis B", "hcv": "Hepatitis C", "alcohol": "Alcohol", "other": "Other or unknown"}
_STATISTIC_WORDS = {"median [IQR]": "median (IQR)", "n (%)": "n (%)", "n": "n"}


def table_display(tab: pd.DataFrame) -> pd.DataFrame:
    """Table 1 or 2 (:func:`table1`, :func:`table2`) for the page: the summary named after
    the characteristic (``Age (years), median (IQR)``), the ``1`` of one-level binary rows
    dropped, level codes as words (``hbv`` -> ``Hepatitis B``); columns ``variable``,
    ``level``, the groups, ``p``, ``smd`` (p and SMD on the first row of each variable)."""
    f = tables.format_table_one(tab).reset_index(drop=True)
    raw = tab.reset_index(drop=True)
    stat = f["statistic"].astype(str).map(lambda x: _STATISTIC_WORDS.get(x, x))
    first = f["variable"].astype(str) != ""
    name = np.where(raw["variable"] == "n", "Patients, n",
                    np.where(first & (stat != ""), f["variable"].astype(str) + ", " + stat, f["variable"].astype(str)))
    one_level = raw["variable"].isin(list(_ONE_LEVEL))
    level = f["level"].astype(str).str.replace(r"\.0$", "", regex=True)
    level = level.map(lambda x: LEVEL_LABELS.get(x, x)).where(~one_level, "")
    out = f.drop(columns=["statistic"]).assign(variable=name, level=level)
    return out


def age_t_test(df: pd.DataFrame) -> float:
    """Student's t test p for age, IL-6 high vs low (:data:`AGE_TEST`)."""
    a = df.loc[df["il6_high"] == 0, "age_years"].dropna()
    b = df.loc[df["il6_high"] == 1, "age_years"].dropna()
    return float(stats.ttest_ind(a, b).pvalue)


def age_tests(df: pd.DataFrame) -> pd.DataFrame:
    """Age, IL-6 high vs low, by the tests a reader might assume: Student's t (the one
    Table 2 shows), Welch's t and Kruskal-Wallis (two groups: the Wilcoxon rank-sum test
    without continuity correction). Columns ``test``, ``p``."""
    a = df.loc[df["il6_high"] == 0, "age_years"].dropna()
    b = df.loc[df["il6_high"] == 1, "age_years"].dropna()
    return pd.DataFrame({"test": ["Student's t", "Welch's t", "Kruskal-Wallis"],
                         "p": [float(stats.ttest_ind(a, b).pvalue),
                               float(stats.ttest_ind(a, b, equal_var=False).pvalue),
                               float(stats.kruskal(a, b).pvalue)]})


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
    cx = fitcache.cox(sub.assign(**{group: sub[group].astype(int)}), t, e, [group])
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
    cohort (all binary 0/1 except age, per :data:`AGE_UNIT_YEARS` years); rows with a
    missing value are dropped (complete cases: ``n`` of the result; :func:`n_note`)."""
    covs = [c for c in (covariates or list(MV_COVARIATES)) if c in df.columns and df[c].notna().any()]
    sub = _age_scaled(cohort_subset(df, cohort))
    # fitcache: reproduce("figure3") and the page fit the same model; fitted once
    return fitcache.cox(sub, f"{endpoint}_months", f"{endpoint}_event", covs)


def _age_scaled(df: pd.DataFrame) -> pd.DataFrame:
    """``age_years`` in units of :data:`AGE_UNIT_YEARS` (for the Cox models only)."""
    return df.assign(age_years=df["age_years"] / AGE_UNIT_YEARS) if "age_years" in df else df


def univariable(df: pd.DataFrame, endpoint: str, cohort: str = "total") -> pd.DataFrame:
    """One Cox model per covariate of :data:`MV_COVARIATES` (the univariable column of Fig. 3)."""
    covs = [c for c in MV_COVARIATES if c in df.columns and df[c].notna().any()]
    table = survival.cox_univariable(_age_scaled(cohort_subset(df, cohort)), f"{endpoint}_months",
                                     f"{endpoint}_event", covs)
    return disclosure.protect_univariable(table)  # a no-op unless a disclosure policy is set


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


# --------------------------------------------------------------------------- more steps the chapters call
def has_groups(df: pd.DataFrame, cohort: str, min_per_group: int = 2) -> bool:
    """True if ``cohort`` has at least ``min_per_group`` patients in each IL-6 group."""
    sub = cohort_subset(df, cohort)
    counts = sub["il6_high"].value_counts()
    return all(counts.get(g, 0) >= min_per_group for g in (0.0, 1.0))


def has_response(df: pd.DataFrame) -> bool:
    """True if the cohort has best responses (the optional ``best_response`` column)."""
    return "best_response" in df.columns and bool(df["best_response"].notna().any())


def has_cb6m(df: pd.DataFrame) -> bool:
    """True if the discovery cohort has CB6m for more than 4 patients (Figure 1 can run)."""
    if not has_response(df):
        return False
    disc = cohort_subset(df, "discovery")
    return len(disc) > 0 and int(disc["cb6m"].notna().sum()) > 4


def has_cutoff_cohort(df: pd.DataFrame, cohort: str, min_n: int = 10) -> bool:
    """True if ``cohort`` has at least ``min_n`` patients (enough for the maxstat search)."""
    return len(cohort_subset(df, cohort)) >= min_n


def has_multivariable(df: pd.DataFrame) -> bool:
    """True if both IL-6 groups are present, so the Fig. 3 models can be fitted."""
    return "il6_high" in mv_covariates(df) and df["il6_high"].nunique() == 2


def mv_covariates(df: pd.DataFrame) -> list[str]:
    """The :data:`MV_COVARIATES` the cohort has (present and not all missing)."""
    return [c for c in MV_COVARIATES if c in df.columns and df[c].notna().any()]


def figure1a_overview(df: pd.DataFrame) -> pd.DataFrame:
    """Figure 1A as a table: every cytokine and laboratory marker (Student's t) and clinical
    characteristic (Pearson chi-square) by CB6m in the discovery cohort, smallest p first;
    ``higher_without_cb6m`` says which group has the higher value."""
    cont = compare_means(df, {**CYTOKINE_LABELS, **_with_units(LAB_LABELS)}, "cb6m")
    binary = compare_proportions(df, CLINICAL_LABELS, "cb6m")
    out = pd.concat([cont.assign(kind="continuous (mean)"), binary.assign(kind="clinical (%)")],
                    ignore_index=True)
    out["higher_without_cb6m"] = out["difference"] > 0
    return out.sort_values("p").reset_index(drop=True)


def figure_s4(df: pd.DataFrame) -> pd.DataFrame:
    """Figure S4 as a table: per cytokine, mean difference (without minus with) and t test p
    by CB6m (``_cb6m``) and by disease control (``_dcr``), discovery cohort."""
    cols = ["label", "difference", "p"]
    return (compare_means(df, CYTOKINE_LABELS, "cb6m")[cols]
            .merge(compare_means(df, CYTOKINE_LABELS, "disease_control")[cols], on="label",
                   suffixes=("_cb6m", "_dcr")))


def t_test_pd_vs_cr_pr(df: pd.DataFrame, cohort: str = "discovery") -> float:
    """Student's t p of IL-6, best response PD vs CR + PR (the test beside Tukey's)."""
    sub = cohort_subset(df, cohort)
    a = sub.loc[sub["response_group"] == "PD", MARKER]
    b = sub.loc[sub["response_group"] == "CR+PR", MARKER]
    return float(stats.ttest_ind(a, b).pvalue)


def cutoff_stability(df: pd.DataFrame, endpoint: str = "pfs", *, minprop: float = 0.1, maxprop: float = 0.9,
                     seed: int = 20231, known: dict | None = None) -> pd.DataFrame:
    """The maxstat cut-off of ``endpoint`` chosen in each cohort and in the whole cohort:
    ``cohort``, ``n``, ``cutoff``, ``statistic``, ``p_Lau94``, ``p_condMC`` (NaN where the
    search cannot run). ``attrs["maxstat"]``: ``{cohort: MaxstatResult or None}``, for
    :func:`pvalue_notes`.

    ``known``: ``{cohort: MaxstatResult}`` of :func:`derive_cutoff` already run on this
    ``df`` (atebev_cutoff passes its search, saving one condMC); a result made with another
    endpoint, ``minprop``, ``maxprop`` or ``seed``, or without Lau94 and condMC, is not used."""
    out, found = [], _Shared()
    for c in COHORTS + ("total",):
        try:
            r = (known or {}).get(c)
            if not _same_search(r, endpoint, minprop, maxprop, seed, ("Lau94", "condMC")) or \
                    r.n != len(cohort_subset(df, c)[[MARKER, f"{endpoint}_months", f"{endpoint}_event"]].dropna()):
                r = derive_cutoff(df, c, endpoint, minprop=minprop, maxprop=maxprop, seed=seed,
                                  pmethods=("Lau94", "condMC"))
            found[c] = r
            out.append({"cohort": c, "n": r.n, "cutoff": r.cutoff, "statistic": r.statistic,
                        "p_Lau94": r.p("Lau94"), "p_condMC": r.p("condMC")})
        except ValueError:
            found[c] = None
            out.append({"cohort": c, "n": len(cohort_subset(df, c)), "cutoff": math.nan, "statistic": math.nan,
                        "p_Lau94": math.nan, "p_condMC": math.nan})
    table = pd.DataFrame(out)
    table.attrs["maxstat"] = found
    return table


def _same_search(res, endpoint: str, minprop: float, maxprop: float, seed: int, methods) -> bool:
    """Whether ``res`` (a MaxstatResult or None) is :func:`derive_cutoff` of ``endpoint`` with
    these settings and has the p-values ``methods``."""
    if res is None:
        return False
    st = res.settings
    return (st.get("time") == f"{endpoint}_months" and st.get("event") == f"{endpoint}_event"
            and st.get("marker") == MARKER and res.minprop == minprop and res.maxprop == maxprop
            and st.get("seed") == seed and set(methods) <= set(res.pvalues["method"]))


class _Shared(dict):
    """A dict kept in ``DataFrame.attrs`` and shared, not deep-copied, when pandas copies
    ``attrs`` (as :class:`Cut`)."""

    def __deepcopy__(self, memo):
        return self


def cohort_outcomes(df: pd.DataFrame, cohort: str) -> dict:
    """Figure 2 for one cohort: ``{"surv": {endpoint: survival_by_group(...)}}`` plus, when
    the cohort has best responses, ``"resp"`` (objective response) and ``"pd"`` (PD at the
    first evaluation) by IL-6 group (:func:`response_by_group`)."""
    out = {"surv": {ep: survival_by_group(df, ep, cohort) for ep in ("pfs", "os")}}
    if has_response(df):
        out["resp"] = response_by_group(df, cohort)
        out["pd"] = response_by_group(df, cohort, "pd_first")
    return out


def mv_table(model: survival.CoxResult, univariable_table: pd.DataFrame) -> pd.DataFrame:
    """Univariable and multivariable HR (95% CI) and p per covariate, side by side."""
    cols = ["label", "hr", "lower", "upper", "p"]
    return (label_terms(univariable_table)[cols]
            .merge(label_terms(model.table)[cols], on="label", suffixes=("_univariable", "_multivariable")))


def hr_ci_text(hr: float, lower: float, upper: float, digits: int = 2) -> str:
    """``"2.93 (1.50–5.71)"`` for a table cell (``""`` if the HR is missing)."""
    if hr is None or not np.isfinite(hr):
        return ""
    f = lambda x: results.fmt_number(x, digits)
    return f"{f(hr)} ({f(lower)}–{f(upper)})"


def median_ci_text(median: float, lower: float, upper: float, digits: int = 1) -> str:
    """``"10.2 (7.1–13.0)"``; ``NR`` (not reached) for a median or limit the curve never reaches."""
    f = lambda x: "NR" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"
    return f"{f(median)} ({f(lower)}–{f(upper)})"


def survival_long(rows: pd.DataFrame) -> pd.DataFrame:
    """:func:`survival_by_group` rows (one per endpoint, 19 columns) as a table that fits the
    page: one row per endpoint and IL-6 group with ``endpoint``, ``group``, ``n``, ``events``,
    ``median_ci`` (months, ``NR`` = not reached) and, on the IL-6-high row, ``hr_ci`` (IL-6
    low as reference), ``p`` (Cox Wald) and ``p_logrank``."""
    out = []
    for _, r in rows.iterrows():
        for g, lab in (("low", "IL-6 low"), ("high", "IL-6 high")):
            high = g == "high"
            out.append({"endpoint": str(r["endpoint"]).upper(), "group": lab, "n": int(r[f"n_{g}"]),
                        "events": int(r[f"events_{g}"]),
                        "median_ci": median_ci_text(r[f"median_{g}"], r[f"median_{g}_lower"], r[f"median_{g}_upper"]),
                        "hr_ci": hr_ci_text(r["hr"], r["lower"], r["upper"]) if high else "1 (reference)",
                        "p": r["p"] if high else math.nan, "p_logrank": r["p_logrank"] if high else math.nan})
    return pd.DataFrame(out)


def mv_display(model: survival.CoxResult, univariable_table: pd.DataFrame) -> pd.DataFrame:
    """:func:`mv_table` for the page: ``label``, ``n_uni`` (patients in each univariable
    model), ``hr_uni`` (HR (95% CI) text), ``p_uni``, ``hr_mv``, ``p_mv``."""
    uni = label_terms(univariable_table)
    mv = label_terms(model.table).set_index("label")
    rows = []
    for _, u in uni.iterrows():
        m = mv.loc[u["label"]] if u["label"] in mv.index else None
        rows.append({"label": u["label"], "n_uni": int(u["n"]), "hr_uni": hr_ci_text(u["hr"], u["lower"], u["upper"]),
                     "p_uni": u["p"], "hr_mv": "" if m is None else hr_ci_text(m["hr"], m["lower"], m["upper"]),
                     "p_mv": math.nan if m is None else m["p"]})
    return pd.DataFrame(rows)


def group_note(df: pd.DataFrame, variables, group: str = "il6_high", what: str | None = "baseline IL-6") -> str:
    """The n of a table by IL-6 group: ``"n = 149 of 165 with baseline IL-6 (16 without).
    Each row uses the patients with a value: 16 without ECOG, ..."`` (only the parts that
    apply)."""
    n, total = int(df[group].notna().sum()), len(df)
    if what is None or n == total:
        head = f"n = {n}"
    else:
        head = f"n = {n} of {total} with {what} ({total - n} without)"
    known = df[df[group].notna()]
    gaps = complete_cases(known, variables)["missing"]
    if not gaps:
        return head + "."
    return head + ". Each row uses the patients with a value: " + ", ".join(
        f"{k} without {name}" for name, k in gaps.items()) + "."


_SUBSET_WORDS = {"cd4": "CD4", "cd8": "CD8", "nk": "NK", "dc": "DC", "tfh": "Tfh", "treg": "Treg", "b": "B",
                 "t": "T", "gd": "γδ", "m0": "M0", "m1": "M1", "m2": "M2"}


def subset_label(subset: str) -> str:
    """A CIBERSORT subset as immunologists write it (``cd4_memory_resting`` -> ``CD4 memory
    resting``, ``gd_t`` -> ``γδ T``)."""
    words = [_SUBSET_WORDS.get(w, w) for w in subset.replace("cibersort_", "").split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:] if text[:1].isascii() else text


def tme_label(score: str) -> str:
    """A reader's name for a TME score column (``cibersort_t_cells_cd8`` -> ``CIBERSORT: t cells cd8``)."""
    named = {"dysfunction_score": "T-cell dysfunction score", "exclusion_score": "T-cell exclusion score",
             "cd8_density_mm2": f"CD8+ T-cell density ({unit('cd8_density_mm2') or 'cells/mm^2'})",
             "cd4_density_mm2": f"CD4+ T-cell density ({unit('cd4_density_mm2') or 'cells/mm^2'})",
             "cibersort_total": "CIBERSORT: total absolute score"}
    if score in named:
        return named[score].replace("mm^2", "mm²")
    if score.startswith("cibersort_"):
        return "CIBERSORT: " + subset_label(score)
    return score.replace("_", " ")


def tme_total(tme: pd.DataFrame) -> pd.DataFrame:
    """The total CIBERSORT absolute score (sum over subsets), IL-6 high vs low (:func:`tme_compare`)."""
    total = tme[[c for c in tme.columns if c.startswith("cibersort_")]].sum(axis=1)
    return tme_compare(tme[["sample_id", "il6_group"]].assign(cibersort_total=total))


def load_lab(name: str, path=None, cohort_file=None) -> pd.DataFrame | None:
    """A laboratory dataset (``"tcell"``, ``"il6_exposure"``, ``"tme"``), read and validated.

    ``path`` names the file; ``None`` means the shipped illustrative file, but only with the
    shipped cohort (``cohort_file`` None): a researcher's cohort comes without laboratory
    data unless their files are named. Returns ``None`` when there is no dataset."""
    from helpers import contract, paths

    if path is None:
        if cohort_file is not None:
            return None
        path = paths.synthetic_lab(STUDY, name)
        if not path.exists():
            return None
    return contract.read_cohort(STUDY, path, dataset=name)


def ecog_b7_shares(df: pd.DataFrame) -> pd.DataFrame:
    """Per cohort: % with ECOG >= 1 (``ecog1_pct``) and % Child-Pugh B7 (``b7_pct``), the
    difference between the cohorts the paper points out."""
    out = []
    for c in COHORTS:
        sub = cohort_subset(df, c)
        ecog, cp = sub["ecog"].dropna(), sub["child_pugh_class"].dropna().astype(str)
        out.append({"cohort": c, "ecog1_pct": (ecog >= 1).mean() * 100 if len(ecog) else math.nan,
                    "b7_pct": (cp == "B7").mean() * 100 if len(cp) else math.nan})
    return pd.DataFrame(out).set_index("cohort")


def il6_median_b7_vs_a(df: pd.DataFrame) -> tuple[float, float]:
    """Median IL-6 (pg/ml) of Child-Pugh B7 patients and of class A patients."""
    cp = df["child_pugh_class"].astype(str)
    b7 = df.loc[cp == "B7", MARKER]
    return (float(b7.median()) if len(b7) else math.nan, float(df.loc[cp.str.startswith("A"), MARKER].median()))


def bclc_p_alternatives(df: pd.DataFrame) -> dict | None:
    """BCLC stage by IL-6 group (a 2 x 2 table): Pearson (no correction), Yates-corrected
    chi-square and Fisher's exact p; ``None`` if the table is not 2 x 2."""
    if "bclc_stage" not in df:
        return None
    tab = pd.crosstab(df["il6_high"], df["bclc_stage"].astype(str))
    if tab.shape != (2, 2):
        return None
    tab = tab.to_numpy()
    return {"Pearson": float(stats.chi2_contingency(tab, correction=False)[1]),
            "Yates": float(stats.chi2_contingency(tab, correction=True)[1]),
            "Fisher": float(stats.fisher_exact(tab)[1])}


def cut_neighbours(df: pd.DataFrame, ms: maxstat.MaxstatResult, cohort: str, printed_cutoff: float) -> dict:
    """Around a maxstat estimate in ``cohort``: the next IL-6 value above it (``next``), the
    midpoint (``mid``), and whether "IL-6 > estimate" and "IL-6 >= printed cut-off" select
    the same patients (``same_groups``)."""
    sub = cohort_subset(df, cohort)
    above = np.sort(sub.loc[sub[MARKER] > ms.cutoff, MARKER].unique())
    nxt = float(above[0]) if len(above) else math.nan
    same = bool(((sub[MARKER] > ms.cutoff) == (sub[MARKER] >= printed_cutoff)).all())
    return {"next": nxt, "mid": (ms.cutoff + nxt) / 2, "same_groups": same}


def deaths_needed(key: str) -> int:
    """Deaths a Wald test needs for the printed HR ``key`` to reach its printed p: the
    variance of log HR is at most (log HR / z)^2 and about 1/d_high + 1/d_low >= 4/d."""
    row = published.get(STUDY, key)
    v, p = float(row["value"]), float(row["p"])
    var = (math.log(v) / stats.norm.isf(p / 2)) ** 2
    return int(math.ceil(4 / var))


def outcome_phrases(cohort: str, out: dict) -> dict:
    """The prose phrases of one cohort's Figure 2 (``out`` from :func:`cohort_outcomes`),
    glue key -> text; without best responses the response keys get a placeholder."""
    c = cohort
    text = {}
    for ep in ("pfs", "os"):
        r = out["surv"][ep]["row"].iloc[0]
        text[f"{c}_{ep}_dir"] = prose.compare_word(r["hr"], 1.0, "worse", "better")
        text[f"{c}_{ep}_logrank"] = results.fmt_p(r["p_logrank"])
        text[f"{c}_{ep}_medians"] = "; ".join(
            f"{lab} {prose.median_text(r[f'median_{g}'])}" for g, lab in (("high", "IL-6 high"), ("low", "IL-6 low")))
    if "resp" in out:
        r = out["resp"].set_index("group")
        text[f"{c}_orr_dir"] = prose.compare_word(r.loc["IL-6 high", "rate"], r.loc["IL-6 low", "rate"], "more often than", "less often than", "as often as")
        text[f"{c}_orr_tests"] = (f"chi-square {results.fmt_p(out['resp']['p_chisq'].iloc[0])}, "
                                  f"Fisher {results.fmt_p(out['resp']['p_fisher'].iloc[0])}")
    else:
        for k in (f"{c}_orr_pct_il6_high", f"{c}_orr_pct_il6_low", f"{c}_pd_first_pct_il6_high",
                  f"{c}_pd_first_pct_il6_low", f"{c}_orr_dir", f"{c}_orr_tests"):
            text[k] = "not available for this cohort"
    return text


def multivariable_sensitivity(df: pd.DataFrame, cohort: str = "discovery", covariates: list | None = None) -> pd.DataFrame:
    """IL-6 high vs low in the Fig. 3 models fitted in one ``cohort``: ``endpoint``, ``n``,
    ``events``, ``hr``, ``lower``, ``upper``, ``p`` (an endpoint whose model cannot be fitted
    is left out; convergence warnings of these small models are silenced)."""
    import warnings

    out = []
    for ep in ("pfs", "os"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = multivariable(df, ep, cohort, covariates)
            r = m.table.set_index("term").loc["il6_high"]
            out.append({"endpoint": ep, "n": m.n, "events": m.events, "hr": r["hr"], "lower": r["lower"],
                        "upper": r["upper"], "p": r["p"]})
        except ValueError:
            pass
    return pd.DataFrame(out, columns=["endpoint", "n", "events", "hr", "lower", "upper", "p"])


# --------------------------------------------------------------------------- the study interface
@dataclasses.dataclass(frozen=True)
class Params(StudyParams):
    """Every parameter the ``atebev_*`` chapters accept (``None``: the default below)."""

    STUDY: ClassVar[str] = STUDY
    il6_cutoff: float | str = param(
        meaning="IL-6 cut-off: high = IL-6 >= the cut-off (the paper's rule); 'maxstat' estimates it on "
                "cutoff_cohort / cutoff_endpoint, then high = IL-6 > the estimate (maxstat's rule)",
        unit="pg/ml", kind=float, published=CUTOFF_ID, choices=("maxstat",))
    cutoff_endpoint: str = param(
        "pfs", meaning="endpoint the maximally selected log-rank statistic optimises (the paper: PFS)",
        kind=str, choices=("pfs", "os"))
    cutoff_cohort: str = param(
        "discovery", meaning="cohort the maxstat search runs on (our reading of the paper: discovery)",
        kind=str, choices=COHORTS + ("total",))
    minprop: float = param(0.1, meaning="maxstat: smallest share of patients in the low group", kind=float)
    maxprop: float = param(0.9, meaning="maxstat: largest share of patients in the low group", kind=float)
    seed: int = param(20231, meaning="seeds maxstat's Monte Carlo p-values and the jitter of strip plots",
                      kind=int)
    min_cell_count: int = param(0, meaning="counts below this show as '<n' in every table, figure and glued number (helpers.disclosure; 0: every count shown)",
                                kind=int, unit="patients")
    tcell_file: str = param(meaning="absolute path of the T-cell assay CSV (Fig. 4A-B); None: the shipped "
                                    "illustrative file, with the shipped cohort only", kind=str)
    il6_exposure_file: str = param(meaning="absolute path of the IL-6 exposure assay CSV (Fig. 4C-F); None: the "
                                           "shipped illustrative file, with the shipped cohort only", kind=str)
    tme_file: str = param(meaning="absolute path of the tumour microenvironment CSV (Fig. 5, S3); None: the shipped "
                                  "illustrative file, with the shipped cohort only", kind=str)

    def __post_init__(self):
        super().__post_init__()
        for name in ("il6_cutoff", "minprop", "maxprop", "min_cell_count"):
            self._check_range(name, getattr(self, name))
        if not self.minprop < self.maxprop:
            raise ParamError(f"parameters minprop = {self.minprop!r}, maxprop = {self.maxprop!r} are not valid "
                             f"for {STUDY}: expected minprop < maxprop (shares of the low group)")

    @classmethod
    def check(cls, name: str, value):
        """As :meth:`StudyParams.check`, and the value's range (a cut-off >= 0, a share
        strictly between 0 and 1, a count >= 0), so ``python -m helpers run -p`` refuses a
        bad value before any chapter runs."""
        value = super().check(name, value)
        cls._check_range(name, value)
        return value

    @staticmethod
    def _check_range(name: str, value) -> None:
        if value is None or isinstance(value, str):
            return
        bad = {"il6_cutoff": ("a number >= 0 (pg/ml) or 'maxstat'", value < 0),
               "minprop": ("a share strictly between 0 and 1", not 0 < value < 1),
               "maxprop": ("a share strictly between 0 and 1", not 0 < value < 1),
               "min_cell_count": ("a whole number >= 0", value < 0)}.get(name)
        if bad and bad[1]:
            raise ParamError(f"parameter {name} = {value!r} is not valid for {STUDY}: expected {bad[0]}")


PARAMS = Params()

#: Sections of :func:`reproduce`, in reading order, with the chapter that records them:
#: ``cohort_sizes``, ``table1``, ``table2`` (atebev_cohort); ``figure1`` (atebev_clinical_benefit);
#: ``cutoff``, ``alternative_cutoff`` (atebev_cutoff); ``cohort_outcomes``, ``figure2``
#: (atebev_outcomes); ``figure3`` (atebev_multivariable). atebev_tcell_tme records no
#: published number (its data are illustrative).
SECTIONS = ("cohort_sizes", "table1", "table2", "figure1", "cutoff", "alternative_cutoff", "cohort_outcomes",
            "figure2", "figure3")
TABLE1_PREFIXES = {"Total": "total", "discovery": "discovery", "validation": "validation"}
TABLE2_PREFIXES = {"IL-6 low": "total_il6_low", "IL-6 high": "total_il6_high", "p": "total_{}_p_il6"}


class Cut(dict):
    """The resolved cut-off (``value``, ``high_if``, ``maxstat``, ``rule``) kept in
    ``df.attrs["cut"]``. Read-only by convention; shared, not copied, when pandas copies
    ``attrs`` (which it deep-copies on every operation)."""

    def __deepcopy__(self, memo):
        return self


def _params(params) -> Params:
    if params is None:
        return PARAMS
    if isinstance(params, Params):
        return params
    if isinstance(params, dict):
        return Params(**params)
    raise TypeError(f"params must be {STUDY} Params, a dict or None, not {type(params).__name__}")


def load(cohort_file=None, params=None) -> pd.DataFrame:
    """What every chapter starts with: read and validate the cohort
    (:func:`helpers.contract.read_cohort`; ``None`` = the shipped synthetic cohort),
    :func:`prepare`, resolve the cut-off (:func:`resolve_cutoff` with ``params``, default
    :data:`PARAMS`) and form the IL-6 groups.

    Returns the analysis DataFrame; ``df.attrs["cut"]`` holds the cut-off as a dict
    (``value``, ``high_if``, ``maxstat`` = the MaxstatResult or None, ``rule`` = text such as
    ``"IL-6 ≥ <cut-off> pg/ml"``) and ``df.attrs["params"]`` the :class:`Params` used."""
    from helpers import contract

    return from_frame(contract.read_cohort(STUDY, cohort_file), params)


def from_frame(cohort: pd.DataFrame, params=None) -> pd.DataFrame:
    """:func:`load` for a cohort already read (typed as :func:`helpers.contract.read_cohort`
    returns it): :func:`prepare`, the cut-off and the IL-6 groups; no validation (tests use
    it to feed cohorts with gaps the contract may refuse)."""
    params = _params(params)
    df = prepare(cohort)
    value, high_if, res = resolve_cutoff(df, params.il6_cutoff, cutoff_endpoint=params.cutoff_endpoint,
                                         cutoff_cohort=params.cutoff_cohort, minprop=params.minprop,
                                         maxprop=params.maxprop, seed=params.seed)
    df = il6_groups(df, value, high_if)
    rule = f"IL-6 {'≥' if high_if == '>=' else '>'} {value:g} {unit(MARKER)}"
    df.attrs["cut"] = Cut(value=value, high_if=high_if, maxstat=res, rule=rule)
    df.attrs["params"] = params
    return df


def _cut_of(df: pd.DataFrame) -> dict:
    cut = df.attrs.get("cut")
    if cut is None:
        raise ValueError(f"{STUDY}: the cohort has no resolved cut-off (df.attrs['cut']); read it with load()")
    return cut


def _pct_text(resp: pd.DataFrame, label: str) -> str:
    r = resp.set_index("group").loc[label]
    return prose.n_of(int(r["responders"]), int(r["n"]))


def _p_row(key: str, p: float) -> dict:
    """A published p-value: estimate = p, glued as ``p = 0.005``."""
    return {"key": key, "estimate": p, "p": p, "text": results.fmt_p(p)}


def _rows_cohort_sizes(df, params):
    return [{"key": "total_n", "estimate": len(df)}] + [
        {"key": f"{c}_n", "estimate": len(cohort_subset(df, c))} for c in COHORTS]


def _published_ids() -> set:
    return set(published.load(STUDY)["id"])


def _rows_table1(df, params):
    ids = _published_ids()
    t1 = table1(df)
    prefixes = {col: pre for col, pre in TABLE1_PREFIXES.items() if f"{col}__n" in t1.columns}
    out = [{"key": r.key, "estimate": r.estimate} for r in table_records(t1, prefixes).itertuples()
           if r.key in ids and pd.notna(r.estimate)]
    if "child_pugh_class" in df:
        a = df["child_pugh_class"].dropna().astype(str).str.startswith("A").mean() * 100
        out.append({"key": "total_child_pugh_a_pct", "estimate": a})
    return out


def _rows_table2(df, params):
    ids = _published_ids()
    t2 = table2(df)
    out = []
    for r in table_records(t2, TABLE2_PREFIXES).itertuples():
        if r.key in ids and pd.notna(r.estimate):
            out.append(_p_row(r.key, r.estimate) if r.key.endswith("_p_il6") else {"key": r.key, "estimate": r.estimate})
    out.append(_p_row("total_age_p_il6", age_t_test(df)))
    return out


def _rows_figure1(df, params):
    if not has_cb6m(df):
        return []
    disc = cohort_subset(df, "discovery")
    out = [{"key": "discovery_cb6m_n", "estimate": int((disc["cb6m"] == 1).sum())},
           {"key": "discovery_non_cb6m_n", "estimate": int((disc["cb6m"] == 0).sum())}]
    il6 = compare_means(df, {MARKER: CYTOKINE_LABELS[MARKER]}, "cb6m").set_index("marker").loc[MARKER]
    out += [{"key": "discovery_il6_mean_non_cb6m", "estimate": il6["mean_0"], "p": il6["p"], "n": int(il6["n_0"])},
            {"key": "discovery_il6_mean_cb6m", "estimate": il6["mean_1"], "p": il6["p"], "n": int(il6["n_1"])},
            _p_row("discovery_il6_t_p_cb6m", il6["p"])]
    an = response_anova(df)
    g = an["groups"].set_index("response_group")
    p_tk = tukey_p(an["tukey"], "CR+PR", "PD")
    out += [{"key": "discovery_il6_mean_pd_first", "estimate": g.loc["PD", "mean"], "p": p_tk, "n": int(g.loc["PD", "n"])},
            {"key": "discovery_il6_mean_cr_pr", "estimate": g.loc["CR+PR", "mean"], "p": p_tk,
             "n": int(g.loc["CR+PR", "n"])},
            _p_row("discovery_il6_p_pd_vs_cr_pr", p_tk)]
    return out


def _rows_cutoff(df, params):
    """The printed cut-off is the maxstat estimate on discovery PFS: recorded only when the
    parameters ask for that search."""
    if (params.cutoff_cohort, params.cutoff_endpoint) != ("discovery", "pfs") or \
            not has_cutoff_cohort(df, params.cutoff_cohort):
        return []
    ms = _cut_of(df)["maxstat"] or derive_cutoff(df, params.cutoff_cohort, params.cutoff_endpoint,
                                                 minprop=params.minprop, maxprop=params.maxprop, seed=params.seed,
                                                 pmethods=())
    return [{"key": CUTOFF_ID, "estimate": ms.cutoff, "n": ms.n}]


def _rows_alternative_cutoff(df, params):
    alt = published.value(STUDY, ALTERNATIVE_CUTOFF_ID)
    cmp = cutoff_comparison(df, {"alternative": (alt, ">=")})
    return [_p_row(f"{r.cohort}_{r.endpoint}_logrank_p_il6_3p2", r.p_logrank) for r in cmp.itertuples()]


def _rows_cohort_outcomes(df, params):
    out = []
    for c in COHORTS:
        sub = cohort_subset(df, c)
        if len(sub) < 2:
            continue
        out.append({"key": f"{c}_followup_median", "estimate": followup(df, c), "n": len(sub)})
        s12 = os_rate(df, c).iloc[0]
        out.append({"key": f"{c}_os_12m_rate", "estimate": 100 * s12["survival"], "lower": 100 * s12["lower"],
                    "upper": 100 * s12["upper"], "n": len(sub)})
        if has_response(df):
            out.append({"key": f"{c}_orr_pct", "estimate": 100 * sub["objective_response"].mean(),
                        "n": int(sub["objective_response"].notna().sum())})
    return out


def _rows_figure2(df, params):
    out = []
    for c in COHORTS:
        if not has_groups(df, c):
            continue
        res = cohort_outcomes(df, c)
        for ep in ("pfs", "os"):
            r = res["surv"][ep]["row"].iloc[0]
            out.append({"key": f"{c}_{ep}_hr_il6_high", "estimate": r["hr"], "lower": r["lower"], "upper": r["upper"],
                        "p": r["p"], "n": int(r["n"])})
        if "resp" in res:
            for g, label in (("il6_high", "IL-6 high"), ("il6_low", "IL-6 low")):
                for what, tab in (("orr", res["resp"]), ("pd_first", res["pd"])):
                    r = tab.set_index("group").loc[label]
                    out.append({"key": f"{c}_{what}_pct_{g}", "estimate": r["rate"], "n": int(r["n"]),
                                "text": _pct_text(tab, label)})
            if c == "validation":
                out.append(_p_row("validation_orr_p_il6", float(res["resp"]["p_fisher"].iloc[0])))
    low = df[df["il6_high"] == 0]
    if has_response(df) and low["pd_first"].notna().any():
        assessed = low["pd_first"].dropna()
        out.append({"key": "total_pd_first_pct_il6_low", "estimate": 100 * assessed.mean(),
                    "n": len(assessed), "text": prose.n_of(int(assessed.sum()), len(assessed))})
    return out


def _rows_figure3(df, params):
    if not has_multivariable(df):
        return []
    out = []
    for ep in ("pfs", "os"):
        m = multivariable(df, ep, "total", mv_covariates(df))
        for r in m.table.itertuples():
            out.append({"key": f"total_{ep}_hr_{r.term}_multivariable", "estimate": r.hr, "lower": r.lower,
                        "upper": r.upper, "p": r.p, "n": m.n})
        out.append({"key": f"total_{ep}_multivariable_n", "estimate": m.n, "n": m.n})
        out.append({"key": f"total_{ep}_multivariable_events", "estimate": m.events, "n": m.n})
    return out


#: The parameters :func:`load` uses to form the IL-6 groups.
_CUT_FIELDS = ("il6_cutoff", "cutoff_endpoint", "cutoff_cohort", "minprop", "maxprop", "seed")
_SECTION_ROWS = {"cohort_sizes": _rows_cohort_sizes, "table1": _rows_table1, "table2": _rows_table2,
                 "figure1": _rows_figure1, "cutoff": _rows_cutoff, "alternative_cutoff": _rows_alternative_cutoff,
                 "cohort_outcomes": _rows_cohort_outcomes, "figure2": _rows_figure2, "figure3": _rows_figure3}


def reproduce(df: pd.DataFrame, params=None, section: str | None = None) -> pd.DataFrame:
    """The study's numbers under their published ids (:data:`helpers.studies.ROW_COLUMNS`):
    one ``section`` of :data:`SECTIONS`, or all of them (``None``).

    ``df`` is the cohort as :func:`load` returns it; ``params`` defaults to the parameters
    ``load`` used (``df.attrs["params"]``), and must agree with them on the cut-off
    parameters (the IL-6 groups were formed with those). A section the cohort cannot fill (e.g. no best
    responses for ``figure1``) returns no rows. ``text`` is set where the chapters glue a
    special form (p-values as ``p = 0.005``, response rates as ``6 of 10 (60.0%)``);
    ``computed_by`` is ``helpers.studies.atebev_il6.reproduce[<section>]``."""
    check_section(STUDY, section, SECTIONS)
    loaded = df.attrs.get("params")
    params = _params(params if params is not None else loaded)
    if loaded is not None:
        differ = [f for f in _CUT_FIELDS if getattr(params, f) != getattr(loaded, f)]
        if differ:
            raise ValueError(f"{STUDY}.reproduce: params differ from those the cohort was loaded with in "
                             f"{', '.join(differ)}; pass the params given to load() (or None)")
    frames = []
    for name in SECTIONS if section is None else (section,):
        frames.append(study_rows(_SECTION_ROWS[name](df, params),
                                 computed_by=f"helpers.studies.{STUDY}.reproduce[{name}]"))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else study_rows([], computed_by="")
