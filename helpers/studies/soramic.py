"""SORAMIC IL-6 / IL-8 study: the analysis steps shared by its chapters and tests.

The study's public surface (:mod:`helpers.studies`): :data:`STUDY`, :class:`Params`,
:data:`PARAMS`, :data:`SECTIONS`, :func:`load` and :func:`reproduce`. Every other function
takes a cohort (the ``"cohort"`` contract of :mod:`helpers.schemas.soramic`) and returns tidy
DataFrames; chapters narrate, record what :func:`reproduce` returns, and plot. Nothing here draws.

Conventions
-----------
- Groups are derived, never read: IL-6 high = ``il6_pg_ml > il6_cutoff`` (strict ``>``, as
  Tables 2-3 print "IL6 (> <cut-off> pg/mL)"; a value exactly at the cut-off is *low*), IL-8
  high likewise with ``il8_cutoff``; the cut-offs' defaults are the paper's printed ones
  (``data/published/soramic.csv``, :class:`Params`). Low albumin = ``albumin_g_l < 36``; high
  bilirubin = ``bilirubin_umol_l >= 17``; AFP high = ``afp_ng_ml >= 400``; age >= 65 (the
  paper's definitions of its covariates, :data:`ALBUMIN_LOW_BELOW` and the constants beside it).
- ALBI and mALBI are computed from albumin (g/L) and bilirubin (umol/L) by
  :mod:`helpers.scores`; "mALBI 2b and 3" = ALBI > -2.27 (grade 1 pooled with 2a, as the paper).
- Reference groups: the low / absent level (HR compares high vs low, yes vs no, B vs A,
  C vs B, ECOG 1 vs 0, male vs female).
- Kaplan-Meier, log-rank and Cox follow :mod:`helpers.survival` (R ``survival``: log-type
  CIs, Efron ties, Wald CI and p).
- Table 1 tests (the paper: "Chi-square and Fisher's exact tests"): both are computed for
  every 2 x 2 table; the p the book reports (``p``) is Fisher's exact test, which lands on
  the same side of 0.05 as every printed p (Pearson's chi-square without continuity
  correction reproduces several printed p exactly but puts two on the other side: see the
  notes in ``data/published/soramic.csv``). Continuous: Student's t test (equal variances).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
from scipy import stats

from helpers import fitcache, scores, survival
from helpers.schemas import soramic as _schema
from helpers.results import fmt_estimate, fmt_number, fmt_p
from helpers.studies import StudyParams, check_section, param, rows

STUDY = "soramic"

#: The paper's definitions of its binary covariates (Table 1, Tables 2-3); no chapter lets a
#: reader change them, so they are named constants rather than parameters.
ALBUMIN_LOW_BELOW = 36.0
BILIRUBIN_HIGH_FROM = 17.0
AFP_HIGH_FROM = 400.0
AGE_FROM = 65.0
MALBI_2B_ABOVE = -2.27


@dataclasses.dataclass(frozen=True)
class Params(StudyParams):
    """Every parameter a SORAMIC chapter accepts (``None``: the default shown by
    :meth:`describe`; the marker cut-offs are read from ``data/published/soramic.csv``)."""

    STUDY = "soramic"

    il6_cutoff: float | None = param(
        meaning="IL-6 cut-off: IL-6 strictly above it is 'high' (the paper's pre-specified cut-off)",
        unit="pg/mL", published="soramic_cutoff_il6")
    il8_cutoff: float | None = param(
        meaning="IL-8 cut-off: IL-8 strictly above it is 'high' (the paper's pre-specified cut-off)",
        unit="pg/mL", published="soramic_cutoff_il8")
    min_cell_count: int | None = param(
        0, meaning="counts below this show as '<n' in every table, figure and glued number (helpers.disclosure; 0: every count shown)",
        unit="patients", kind=int)
    flow_file: str | None = param(
        meaning="screening table for the flow chart (Fig. 1); none: the shipped one, used only "
                "with the shipped cohort", kind=str)
    endpoint: str | None = param(
        "os", meaning="endpoint of the survival and cut-off chapters: 'os' (Fig. 2, Table 2), "
                      "'pfs' or 'ld' (time to liver dysfunction)",
        kind=str, choices=("os", "pfs", "ld"))
    censor_at_progression: bool | None = param(
        False, meaning="True: the main time-to-liver-dysfunction analysis censors at progression "
                       "(as Fig. S3)", kind=bool)
    progression_window_months: float | str | None = param(
        2.0, meaning="a progression diagnosed at most this long before a liver dysfunction counts "
                     "as 'at the time of' it (the trial's 2-month assessment interval); 'any': "
                     "every earlier progression (the Methods' wording)",
        unit="months", kind=float, choices=("any",))
    minprop: float | None = param(
        0.1, meaning="maxstat: smallest share of patients allowed in the low group", kind=float)
    maxprop: float | None = param(
        0.9, meaning="maxstat: largest share of patients allowed in the low group", kind=float)

    @property
    def window(self) -> float | None:
        """The progression window in months (``None``: any earlier progression)."""
        w = self.progression_window_months
        return None if w == "any" else w


PARAMS = Params()

#: The sections of :func:`reproduce`, in reading order (chapter: what the paper printed).
SECTIONS = (
    "flow",        # soramic_cohort: Fig. 1, counted from the screening table
    "groups",      # soramic_cohort: the covariate thresholds, IL-6 / IL-8 group sizes
    "table1",      # soramic_cohort: Table 1, n (%) and Fisher p
    "lesion",      # soramic_cohort: Table 1, target lesion size
    "survival",    # soramic_survival: the chapter's endpoint (OS: Fig. 2, Table 2, Results text)
    "pfs",         # soramic_survival: Fig. S2 (PFS by group), unless PFS is the chapter's endpoint
    "ld",          # soramic_liver_dysfunction: Fig. 3, Table 3
    "ldcp",        # soramic_liver_dysfunction: Fig. S3, censored at progression
    "cutoffs",     # soramic_cutoff: the marker cut-offs applied
)


MARKERS = {"il6": "il6_high", "il8": "il8_high"}
MARKER_LABELS = {"il6": "IL-6", "il8": "IL-8"}

#: Model terms: term -> (label as the paper's Tables 2-3 print it, source columns).
TERMS = {
    "il6_high": ("IL-6 high (> cut-off)", ("il6_pg_ml",)),
    "il8_high": ("IL-8 high (> cut-off)", ("il8_pg_ml",)),
    "male": ("Sex (male vs female)", ("male",)),
    "age_ge65": ("Age (≥ 65 vs < 65 years)", ("age_years",)),
    "ecog1": ("ECOG (1 vs 0)", ("ecog",)),
    "cirrhosis": ("Cirrhosis (yes vs no)", ("cirrhosis",)),
    "hbv": ("Hepatitis B etiology (yes vs no)", ("hbv",)),
    "hcv": ("Hepatitis C etiology (yes vs no)", ("hcv",)),
    "alcohol": ("Alcohol etiology (yes vs no)", ("alcohol",)),
    "previous_tace": ("Previous TACE (yes vs no)", ("previous_tace",)),
    "pvi": ("PVI (yes vs no)", ("pvi",)),
    "child_pugh_b": ("Child-Pugh (B vs A)", ("child_pugh_class",)),
    "bclc_c": ("BCLC (C vs B)", ("bclc_stage",)),
    "albumin_low": ("Albumin (< 36 g/L)", ("albumin_g_l",)),
    "bilirubin_high": ("Total bilirubin (≥ 17 umol/L)", ("bilirubin_umol_l",)),
    "afp_high": ("AFP (≥ 400 vs < 400 ng/mL)", ("afp_ng_ml",)),
    "diffuse": ("Diffuse disease (≥ 10 lesions)", ("diffuse_disease",)),
    "extrahepatic": ("Extrahepatic disease", ("extrahepatic_spread",)),
    "malbi_2b3": ("mALBI grade (2b and 3 vs 1 and 2a)", ("albumin_g_l", "bilirubin_umol_l")),
}

#: The paper's multivariable models (Tables 2 and 3).
MODELS = {
    ("os", "m1"): ["il6_high", "il8_high", "cirrhosis", "child_pugh_b", "albumin_low", "bilirubin_high"],
    ("os", "m2"): ["il6_high", "il8_high", "cirrhosis", "child_pugh_b", "malbi_2b3"],
    ("ld", "m1"): ["il6_high", "albumin_low", "bilirubin_high"],
    ("ld", "m2"): ["il6_high", "malbi_2b3"],
}

#: Endpoints: short name -> (time column, event column, label).
ENDPOINTS = {
    "os": ("os_months", "os_event", "Overall survival"),
    "pfs": ("pfs_months", "pfs_event", "Progression-free survival"),
    "ld": ("liver_dysfunction_months", "liver_dysfunction_event", "Time to liver dysfunction"),
    "ldcp": ("ld_cp_months", "ld_cp_event", "Time to liver dysfunction, censored at progression"),
}

#: Table 1 rows: variable -> (label, level shown (term column), source columns).
TABLE1 = {
    "male": ("Gender (male)", ("male",)),
    "age_ge65": ("Age (≥ 65 years)", ("age_years",)),
    "white": ("Race (White)", ("white",)),
    "ecog0": ("ECOG 0", ("ecog",)),
    "ecog1": ("ECOG 1", ("ecog",)),
    "ecog_missing": ("ECOG missing", ("ecog",)),
    "cirrhosis": ("Liver cirrhosis (yes)", ("cirrhosis",)),
    "hbv": ("Etiology: hepatitis B", ("hbv",)),
    "hcv": ("Etiology: hepatitis C", ("hcv",)),
    "alcohol": ("Etiology: alcohol", ("alcohol",)),
    "previous_tace": ("Previous TACE", ("previous_tace",)),
    "diffuse": ("Diffuse disease (≥ 10 lesions)", ("diffuse_disease",)),
    "pvi": ("Portal vein infiltration", ("pvi",)),
    "extrahepatic": ("Extrahepatic spread", ("extrahepatic_spread",)),
    "child_pugh_a": ("Child-Pugh A", ("child_pugh_class",)),
    "child_pugh_b": ("Child-Pugh B", ("child_pugh_class",)),
    "bclc_b": ("BCLC B", ("bclc_stage",)),
    "bclc_c": ("BCLC C", ("bclc_stage",)),
    "up_to_7_out": ("Up-to-7 criteria (outside)", ("up_to_7_out",)),
    "bilirubin_high": ("Total bilirubin ≥ 17 umol/L", ("bilirubin_umol_l",)),
    "albumin_low": ("Albumin < 36 g/L", ("albumin_g_l",)),
    "afp_high": ("AFP ≥ 400 ng/mL", ("afp_ng_ml",)),
    "malbi_2b3": ("mALBI grade 2b and 3", ("albumin_g_l", "bilirubin_umol_l")),
}
#: Rows of Table 1 that are levels of one variable, tested together (p on the first level).
TABLE1_TESTED = {
    "ecog0": ("ecog0", "ecog1"), "child_pugh_a": ("child_pugh_a", "child_pugh_b"),
    "bclc_b": ("bclc_b", "bclc_c"),
}
GROUP_ORDER = ["all", "il6_low", "il6_high", "il8_low", "il8_high"]


# ----------------------------------------------------------------------------- groups
def _flag(cond: pd.Series, source: pd.Series) -> pd.Series:
    """0/1 as float, NaN where ``source`` is missing."""
    return pd.Series(np.where(source.isna().to_numpy(), np.nan, cond.to_numpy(dtype=float)), index=cond.index)


def derive(df: pd.DataFrame, il6_cutoff: float | None = None, il8_cutoff: float | None = None,
           progression_window: float | None | str = "default") -> pd.DataFrame:
    """A copy of the cohort with the analysis variables added (present columns only).

    The cut-offs default to :data:`PARAMS`' (the paper's); ``progression_window`` to
    :data:`PARAMS`' window (``None``: every earlier progression).

    Adds ``il6_high``, ``il8_high`` (strict ``>``), ``albumin_low``, ``bilirubin_high``,
    ``albi_score``, ``albi_grade``, ``malbi_grade``, ``malbi_2b3``, ``child_pugh_b`` (B or C vs
    A), and where their columns exist ``age_ge65``, ``afp_high``, ``ecog0``/``ecog1``/
    ``ecog_missing``, ``bclc_b``/``bclc_c``, ``diffuse``, ``extrahepatic``, ``child_pugh_a``.
    Values are 0/1 floats (NaN where the source is missing), so they enter Cox models as
    1 vs 0. With PFS and liver dysfunction present, ``ld_cp_months``/``ld_cp_event`` hold the
    time to liver dysfunction censored at progression (:func:`censor_at_progression`).
    """
    il6_cutoff = PARAMS.il6_cutoff if il6_cutoff is None else il6_cutoff
    il8_cutoff = PARAMS.il8_cutoff if il8_cutoff is None else il8_cutoff
    progression_window = _window(progression_window)
    out = df.copy()
    out["il6_high"] = _flag(out["il6_pg_ml"] > il6_cutoff, out["il6_pg_ml"])
    out["il8_high"] = _flag(out["il8_pg_ml"] > il8_cutoff, out["il8_pg_ml"])
    out["albumin_low"] = _flag(out["albumin_g_l"] < ALBUMIN_LOW_BELOW, out["albumin_g_l"])
    out["bilirubin_high"] = _flag(out["bilirubin_umol_l"] >= BILIRUBIN_HIGH_FROM, out["bilirubin_umol_l"])
    ok = out["albumin_g_l"].notna() & out["bilirubin_umol_l"].notna() & (out["bilirubin_umol_l"] > 0)
    albi = pd.Series(np.nan, index=out.index)
    albi[ok] = scores.albi_score(out.loc[ok, "albumin_g_l"].to_numpy(float),
                                 out.loc[ok, "bilirubin_umol_l"].to_numpy(float))
    out["albi_score"] = albi
    out["albi_grade"] = scores.albi_grade(albi)
    out["malbi_grade"] = scores.malbi_grade(albi)
    out["malbi_2b3"] = _flag(out["malbi_grade"].isin(["2b", "3"]), albi)
    cp = out["child_pugh_class"].astype("string")
    out["child_pugh_a"] = _flag(cp == "A", cp)
    out["child_pugh_b"] = _flag(cp != "A", cp)
    if "age_years" in out:
        out["age_ge65"] = _flag(out["age_years"] >= AGE_FROM, out["age_years"])
    if "afp_ng_ml" in out:
        out["afp_high"] = _flag(out["afp_ng_ml"] >= AFP_HIGH_FROM, out["afp_ng_ml"])
    if "ecog" in out:
        e = pd.to_numeric(out["ecog"], errors="coerce")
        out["ecog0"] = (e == 0).astype(float)
        out["ecog1_any"] = (e == 1).astype(float)
        out["ecog_missing"] = e.isna().astype(float)
        # the Cox term: ECOG 1 vs 0 (other grades and missing left out)
        out["ecog1"] = _flag(e == 1, e.where(e.isin([0, 1])))
    if "bclc_stage" in out:
        b = out["bclc_stage"].astype("string")
        out["bclc_b"] = _flag(b == "B", b)
        out["bclc_c"] = _flag(b == "C", b)
    if "diffuse_disease" in out:
        out["diffuse"] = out["diffuse_disease"].astype(float)
    if "extrahepatic_spread" in out:
        out["extrahepatic"] = out["extrahepatic_spread"].astype(float)
    if {"liver_dysfunction_months", "liver_dysfunction_event", "pfs_months", "pfs_event"} <= set(out.columns):
        cp_time, cp_event = censor_at_progression(out, progression_window)
        out["ld_cp_months"], out["ld_cp_event"] = cp_time, cp_event
    return out


def _window(window) -> float | None:
    """``"default"``: :data:`PARAMS`' window; ``"any"`` or ``None``: no window."""
    if isinstance(window, str):
        return PARAMS.window if window == "default" else None
    return window


def _progression_at_ld(df: pd.DataFrame, window: float | None) -> pd.Series:
    t = df["liver_dysfunction_months"]
    prog = (df["liver_dysfunction_event"] == 1) & (df["pfs_event"] == 1) & (df["pfs_months"] <= t)
    if window is not None:
        prog &= df["pfs_months"] >= t - window
    return prog.fillna(False).astype(bool)


def censor_at_progression(df: pd.DataFrame, window: float | None | str = "default"
                          ) -> tuple[pd.Series, pd.Series]:
    """Time to liver dysfunction censored at progression (the paper's Fig. S3 analysis).

    The paper: "Out of 33 patients who had liver dysfunction, only four patients were
    diagnosed with disease progression at the time of liver dysfunction ... censoring these
    four patients at the time of disease progression". The book reads "at the time of" as
    *diagnosed at the same assessment*: a liver dysfunction (event) with a progression
    (``pfs_event == 1``, ``pfs_months <= liver_dysfunction_months``; the patient was alive,
    so that PFS event is a progression) no more than ``window`` months (default: the trial's
    2-month assessment interval, :class:`Params` ``progression_window_months``) before it is censored at the progression time. ``window=None``
    takes every progression before the liver dysfunction (the Methods' wording). Everyone
    else keeps their time and status.
    """
    window = _window(window)
    t = df["liver_dysfunction_months"].astype(float)
    e = df["liver_dysfunction_event"].astype(float)
    prog_first = _progression_at_ld(df, window)
    t2 = t.where(~prog_first, df["pfs_months"].astype(float))
    e2 = e.where(~prog_first, 0.0)
    return t2, e2


def progression_before_ld(df: pd.DataFrame, window: float | None | str = "default") -> int:
    """How many liver-dysfunction events had a progression diagnosed at their time (see
    :func:`censor_at_progression`; ``window`` defaults to :data:`PARAMS`')."""
    window = _window(window)
    return int(_progression_at_ld(df, window).sum())


def available_terms(df: pd.DataFrame, terms) -> tuple[list[str], list[str]]:
    """The ``terms`` the cohort can support, and the source columns missing for the rest."""
    ok, missing = [], []
    for t in terms:
        cols = TERMS[t][1]
        lack = [c for c in cols if c not in df.columns or df[c].isna().all()]
        if lack:
            missing += [c for c in lack if c not in missing]
        elif t in df and df[t].nunique(dropna=True) < 2:
            continue  # constant in this cohort: no HR can be estimated
        else:
            ok.append(t)
    return ok, missing


def group_column(df: pd.DataFrame, marker: str) -> pd.Series:
    """``"il6_low"``/``"il6_high"`` labels (ordered low, high) from the derived flag; missing
    where the marker is missing (such a patient is in neither group)."""
    flag = df[MARKERS[marker]]
    lab = np.where(flag == 1, f"{marker}_high", np.where(flag == 0, f"{marker}_low", None))
    return pd.Series(pd.Categorical(lab, categories=[f"{marker}_low", f"{marker}_high"]), index=df.index)


# ----------------------------------------------------------------------------- Table 1
def group_sizes(df: pd.DataFrame) -> pd.DataFrame:
    """n and % per marker group: columns ``group``, ``n``, ``percent`` (of the cohort; a patient
    whose marker is missing is in neither group, so low + high may be fewer than all)."""
    n = len(df)
    rows = [("all", n, 100.0)]
    for m, flag in MARKERS.items():
        hi, lo = int((df[flag] == 1).sum()), int((df[flag] == 0).sum())
        rows += [(f"{m}_low", lo, 100 * lo / n), (f"{m}_high", hi, 100 * hi / n)]
    return pd.DataFrame(rows, columns=["group", "n", "percent"])


def _two_by_two_p(a: int, n1: int, b: int, n2: int) -> dict:
    tab = np.array([[a, n1 - a], [b, n2 - b]])
    out = {"p_fisher": np.nan, "p_chisq": np.nan, "p_chisq_yates": np.nan}
    if n1 == 0 or n2 == 0:
        return out
    out["p_fisher"] = float(stats.fisher_exact(tab)[1])
    if tab.sum(axis=0).min() > 0:
        out["p_chisq"] = float(stats.chi2_contingency(tab, correction=False)[1])
        out["p_chisq_yates"] = float(stats.chi2_contingency(tab, correction=True)[1])
    return out


def table_one(df: pd.DataFrame) -> pd.DataFrame:
    """Table 1 by IL-6 group and by IL-8 group, long format.

    One row per (variable, group) with ``count``, ``n`` (patients in the group), ``percent``
    (of the group, missing included in the denominator as the paper does) and ``text``
    (``"n (%)"``; small counts are hidden where the table is shown, by the disclosure policy
    of :func:`helpers.book.show`); and one row per
    (variable, marker) with ``group = "<marker>_p"`` holding the tests' p-values
    (``p_fisher``, ``p_chisq``, ``p_chisq_yates``; ``p`` = Fisher, see the module docstring).
    Variables whose columns the cohort lacks are left out.
    """
    groups = {"all": pd.Series(True, index=df.index)}
    for m, flag in MARKERS.items():
        groups[f"{m}_low"] = df[flag] == 0
        groups[f"{m}_high"] = df[flag] == 1
    rows = []
    for var, (label, cols) in TABLE1.items():
        if any(c not in df.columns or df[c].isna().all() for c in cols) or var not in df:
            continue
        x = df[var]
        for g, mask in groups.items():
            c, n = int((x[mask] == 1).sum()), int(mask.sum())
            pct = 100 * c / n if n else np.nan
            text = f"{c} ({pct:.1f})"
            rows.append(dict(variable=var, label=label, group=g, count=c, n=n, percent=pct, text=text))
        if var in ("ecog1", "ecog_missing", "child_pugh_b", "bclc_c"):
            continue
        for m in MARKERS:
            lo, hi = groups[f"{m}_low"], groups[f"{m}_high"]
            if var in TABLE1_TESTED:  # two levels of one variable, the missing left out
                other = TABLE1_TESTED[var][1]
                known = (df[var] == 1) | (df[other] == 1)
                ps = _two_by_two_p(int((x[lo & known] == 1).sum()), int((lo & known).sum()),
                                   int((x[hi & known] == 1).sum()), int((hi & known).sum()))
            else:  # patients with the variable missing are left out of the test
                known = x.notna()
                ps = _two_by_two_p(int((x[lo & known] == 1).sum()), int((lo & known).sum()),
                                   int((x[hi & known] == 1).sum()), int((hi & known).sum()))
            rows.append(dict(variable=var, label=label, group=f"{m}_p", p=ps["p_fisher"], **ps))
    cols = ["variable", "label", "group", "count", "n", "percent", "text", "p", "p_fisher", "p_chisq", "p_chisq_yates"]
    return pd.DataFrame(rows).reindex(columns=cols)


def table_one_missing(df: pd.DataFrame) -> pd.DataFrame:
    """Patients without a value, per Table 1 variable and per marker: ``column``, ``label``,
    ``missing`` (only columns with at least one missing value; ECOG is a row of Table 1)."""
    rows, seen = [], set()
    cols = [("il6_pg_ml", "IL-6"), ("il8_pg_ml", "IL-8")] + [
        (c, TABLE1[v][0].split(" (")[0].split(":")[0]) for v, (_, cs) in TABLE1.items() for c in cs]
    for col, lab in cols:
        if col in seen or col not in df or col == "ecog":
            continue
        seen.add(col)
        k = int(df[col].isna().sum())
        if k:
            rows.append(dict(column=col, label=lab, missing=k))
    return pd.DataFrame(rows, columns=["column", "label", "missing"])


def table_one_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Table 1 as the paper prints it: one row per variable, ``n (%)`` per group, p per marker."""
    counts = long[long["group"].isin(GROUP_ORDER)].pivot(index="variable", columns="group", values="text")
    ps = long[long["group"].str.endswith("_p")].pivot(index="variable", columns="group", values="p")
    wide = counts.reindex(columns=GROUP_ORDER).join(ps.reindex(columns=["il6_p", "il8_p"]))
    wide = wide.reindex([v for v in TABLE1 if v in wide.index])
    wide.insert(0, "characteristic", [TABLE1[v][0] for v in wide.index])
    wide[["il6_p", "il8_p"]] = wide[["il6_p", "il8_p"]].map(lambda p: fmt_p(p, prefix=False))
    return wide.reset_index(drop=True)


def lesion_size_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Target lesion size (mm): median and mean per group, t test (equal variances) per marker.

    Columns ``group``, ``n``, ``median``, ``mean``, ``sd``, and ``p`` on the ``<marker>_p`` rows."""
    rows = []
    x = df["target_lesion_mm"]
    groups = {"all": pd.Series(True, index=df.index)}
    for m, flag in MARKERS.items():
        groups[f"{m}_low"], groups[f"{m}_high"] = df[flag] == 0, df[flag] == 1
    for g, mask in groups.items():
        v = x[mask].dropna()
        rows.append(dict(group=g, n=len(v), median=v.median(), mean=v.mean(), sd=v.std(ddof=1), p=np.nan))
    for m in MARKERS:
        a, b = x[groups[f"{m}_low"]].dropna(), x[groups[f"{m}_high"]].dropna()
        p = float(stats.ttest_ind(a, b, equal_var=True).pvalue) if min(len(a), len(b)) > 1 else np.nan
        rows.append(dict(group=f"{m}_p", n=len(a) + len(b), median=np.nan, mean=np.nan, sd=np.nan, p=p))
    return pd.DataFrame(rows)


def lesion_size_table(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`lesion_size_summary` for the page: one row per group (``group`` as a label), its
    ``n``, ``median``, ``mean`` and ``sd``, and the t test's ``p`` on each marker's high row
    (high vs low)."""
    from helpers.labels import label

    rows = summary[~summary["group"].str.endswith("_p")].copy()
    ps = summary[summary["group"].str.endswith("_p")].set_index("group")["p"]
    rows["p"] = [ps.get(f"{g[:-5]}_p", np.nan) if g.endswith("_high") else np.nan for g in rows["group"]]
    rows["group"] = [label(g) for g in rows["group"]]
    return rows[["group", "n", "median", "mean", "sd", "p"]].reset_index(drop=True)


# ----------------------------------------------------------------------------- survival
def endpoint_data(df: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """Rows with the endpoint's time and event present."""
    t, e, _ = ENDPOINTS[endpoint]
    return df[df[t].notna() & df[e].notna()]


NOT_ESTIMABLE = "not estimable"


def _term_reason(d: pd.DataFrame, e: str, term: str) -> str:
    """Why a 0/1 term's HR cannot be estimated, in words (events per level)."""
    import re

    x = d[term]
    if x.nunique(dropna=True) == 2 and set(x.dropna().unique()) <= {0.0, 1.0}:
        name = TERMS[term][0] if term in TERMS else term
        m = re.match(r"(.*?) \((.*?) vs (.*?)\)$", name)
        what, levels = (m.group(1), {1.0: m.group(2), 0.0: m.group(3)}) if m else (name, {1.0: "yes", 0.0: "no"})
        empty = [f"no events among the {int((x == v).sum())} patients with {what}: {levels[v]}"
                 for v in (1.0, 0.0) if d.loc[x == v, e].sum() == 0]
        if empty:
            return "; ".join(empty) + " (the likelihood has no finite maximum)"
    return "the likelihood has no finite maximum (a group without events, or separation)"


def fit_cox(df: pd.DataFrame, time: str, event: str, terms) -> dict:
    """A Cox model (:func:`helpers.survival.cox`) on the complete cases of its variables, whose
    terms that cannot be estimated are marked rather than printed as numbers.

    A term cannot be estimated when its coefficient runs off to infinity (no events in one
    level: R's "coefficient may be infinite") or its variance is not finite, or when it is
    constant among the complete cases. Such a term has ``hr``, ``lower``, ``upper`` and ``p``
    missing and ``note`` = ``"not estimable: <reason>"``; the other terms of the model keep
    their estimates (as R prints them). No warning is raised.

    Returns ``{"table": term, hr, lower, upper, p, note; "n": complete cases; "events": ...}``.
    """
    import warnings

    from helpers.checks import complete_rows

    terms = list(terms)
    data = complete_rows(df, [time, event] + terms)
    n, events = len(data), int(data[event].sum()) if len(data) else 0
    empty = pd.DataFrame(dict(term=terms, hr=np.nan, lower=np.nan, upper=np.nan, p=np.nan))
    if events == 0:
        return dict(table=empty.assign(note=f"{NOT_ESTIMABLE}: no events among the {n} patients with data"),
                    n=n, events=events)
    constant = [t for t in terms if data[t].nunique() < 2]
    fit_terms = [t for t in terms if t not in constant]
    if not fit_terms:
        return dict(table=empty.assign(note=f"{NOT_ESTIMABLE}: the same value in all {n} patients with data"),
                    n=n, events=events)
    with warnings.catch_warnings(record=True) as caught, np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("always")
        try:
            res = fitcache.cox(data, time, event, fit_terms)
        except ValueError as err:
            return dict(table=empty.assign(note=f"{NOT_ESTIMABLE}: {err}"), n=n, events=events)
    tab = res.table[["term", "hr", "lower", "upper", "p", "coef", "se"]].copy()
    diverged = any(issubclass(w.category, RuntimeWarning) for w in caught)
    bad = ~np.isfinite(tab["se"]) | ~np.isfinite(tab["lower"]) | ~np.isfinite(tab["upper"]) | (tab["hr"] == 0)
    if diverged:  # the coefficients that run off (|coef| large against the rest)
        bad |= tab["coef"].abs() > 15
    notes = [f"{NOT_ESTIMABLE}: {_term_reason(data, event, t)}" if b else "" for t, b in zip(tab["term"], bad)]
    tab["note"] = notes
    tab.loc[bad, ["hr", "lower", "upper", "p"]] = np.nan
    tab = tab.drop(columns=["coef", "se"])
    if constant:
        tab = pd.concat([tab, empty[empty["term"].isin(constant)].assign(
            note=f"{NOT_ESTIMABLE}: the same value in all {n} patients with data")], ignore_index=True)
        tab = tab.set_index("term").loc[terms].reset_index()
    return dict(table=tab, n=n, events=events)


def km_compare(df: pd.DataFrame, endpoint: str, marker: str) -> dict:
    """KM per marker group, log-rank test and univariable Cox HR (high vs low).

    Patients with the endpoint and the marker (complete cases) are used.
    Returns ``{"summary": km_summary rows (group il6_low/il6_high), "curve": km_table,
    "logrank": one row, "hr": one Cox row (hr, lower, upper, p, note; :func:`fit_cox`),
    "n": patients used}``.
    """
    t, e, _ = ENDPOINTS[endpoint]
    d = endpoint_data(df, endpoint).copy()
    d["group"] = group_column(d, marker)
    d = d[d["group"].notna()]
    summ = survival.km_summary(d, t, e, "group")
    curve = survival.km_table(d, t, e, "group")
    lr = survival.logrank(d, t, e, "group")
    hr = fit_cox(d, t, e, [MARKERS[marker]])["table"]
    return {"summary": summ, "curve": curve, "logrank": lr, "hr": hr, "n": len(d)}


def median_table(km: dict) -> pd.DataFrame:
    """The Kaplan-Meier summaries of :func:`km_compare` per marker as one table for the page:
    ``marker``, ``group`` (a label, e.g. "IL-6 low"), ``n``, ``events`` and ``median`` (95% CI)
    in months as text, "not reached" where the curve never falls to 0.5 (or a limit is not
    reached)."""
    from helpers import prose

    def part(x):
        return prose.median_text(x, unit="").strip()
    rows = []
    for m, k in km.items():
        for r in k["summary"].itertuples():
            rows.append(dict(marker=MARKER_LABELS[m], group=f"{MARKER_LABELS[m]} {str(r.group).split('_')[-1]}",
                             n=int(r.n), events=int(r.events),
                             median=f"{part(r.median)} ({part(r.median_lower)}–{part(r.median_upper)})"))
    return pd.DataFrame(rows, columns=["marker", "group", "n", "events", "median"])


def risk_horizon(curve: pd.DataFrame, min_at_risk: int = 10, step: float = 3.0) -> float:
    """How far a Kaplan-Meier figure's time axis can go while every group still has at least
    ``min_at_risk`` patients at risk: the first time at which fewer than ``min_at_risk`` remain
    at risk in some group, rounded up to a multiple of ``step`` (the risk table's grid). Beyond it a single event
    moves a curve by a tenth or more, so the curves are not drawn there."""
    last = []
    for _, g in curve.groupby("group", observed=True):
        g = g.sort_values("time")
        # n_risk is counted just before each time; after its events and censorings fewer
        # remain: the first time at which fewer than min_at_risk remain ends the support
        remaining = g["n_risk"] - g["n_event"] - g["n_censor"]
        after = g[remaining < min_at_risk]
        last.append(float(after["time"].iloc[0]) if len(after) else float(g["time"].max()))
    h = min(last) if last else 0.0
    return float(np.ceil(h / step) * step) if h > 0 else step


def event_cluster(df: pd.DataFrame, endpoint: str, width: float = 0.5) -> dict:
    """The densest window of ``width`` months of events: ``{"start", "end", "events"}`` (events
    with times in ``[start, start + width]``) and ``"total"`` events. Used to say when many
    events share nearly one time (a curve then drops steeply there)."""
    t, e, _ = ENDPOINTS[endpoint]
    d = endpoint_data(df, endpoint)
    times = np.sort(d.loc[d[e] == 1, t].to_numpy(float))
    best = dict(start=np.nan, end=np.nan, events=0, total=len(times))
    for i, a in enumerate(times):
        k = int(np.searchsorted(times, a + width, side="right") - i)
        if k > best["events"]:
            best.update(start=float(a), end=float(times[i + k - 1]), events=k)
    return best


def km_overall(df: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    """KM summary of the whole cohort (one row, group ``all``)."""
    t, e, _ = ENDPOINTS[endpoint]
    return survival.km_summary(endpoint_data(df, endpoint), t, e)


def univariable(df: pd.DataFrame, endpoint: str, terms=None) -> pd.DataFrame:
    """Univariable Cox per term (Tables 2-3, left block): ``term``, ``label``, ``hr``,
    ``lower``, ``upper``, ``p``, ``n``, ``events`` (complete cases of the endpoint and the term),
    ``note`` (:func:`fit_cox`: "not estimable: ..." or empty). Terms whose columns the cohort
    lacks, or that are constant in it, are left out."""
    t, e, _ = ENDPOINTS[endpoint]
    d = endpoint_data(df, endpoint)
    ok, _ = available_terms(d, list(terms or TERMS))
    rows = []
    for term in ok:
        res = fit_cox(d, t, e, [term])
        r = res["table"].iloc[0]
        rows.append(dict(term=term, label=TERMS[term][0], hr=r["hr"], lower=r["lower"], upper=r["upper"],
                         p=r["p"], n=res["n"], events=res["events"], note=r["note"]))
    return pd.DataFrame(rows, columns=["term", "label", "hr", "lower", "upper", "p", "n", "events", "note"])


def multivariable(df: pd.DataFrame, endpoint: str, model: str, terms=None) -> pd.DataFrame:
    """One of the paper's multivariable Cox models (``model`` ``"m1"`` or ``"m2"``, terms from
    :data:`MODELS` unless given; PFS uses the OS models' terms, the censored-at-progression
    liver dysfunction those of liver dysfunction): ``term``, ``label``, ``hr``, ``lower``, ``upper``, ``p``,
    ``n``, ``events`` (the complete cases of every variable of the model), ``note``
    (:func:`fit_cox`). Terms the cohort cannot support are dropped from the model."""
    t, e, _ = ENDPOINTS[endpoint]
    d = endpoint_data(df, endpoint)
    key = ("ld" if endpoint in ("ld", "ldcp") else "os", model)
    ok, _ = available_terms(d, list(terms or MODELS[key]))
    res = fit_cox(d, t, e, ok)
    tab = res["table"]
    return pd.DataFrame(dict(term=tab["term"], label=[TERMS[x][0] for x in tab["term"]], hr=tab["hr"],
                             lower=tab["lower"], upper=tab["upper"], p=tab["p"], n=res["n"],
                             events=res["events"], note=tab["note"]),
                        columns=["term", "label", "hr", "lower", "upper", "p", "n", "events", "note"])


def hr_cell(r, sep: str = " ") -> str:
    """``"2.11 (1.23-3.64)"`` for a Cox row, or "not estimable" (:func:`fit_cox`); ``sep="\\n"``
    puts the CI on a second line (a narrow table cell)."""
    if not np.isfinite(r.hr):
        return NOT_ESTIMABLE
    return f"{r.hr:.2f}{sep}({r.lower:.2f}-{r.upper:.2f})"


def cox_side_by_side(uni: pd.DataFrame, m1: pd.DataFrame, m2: pd.DataFrame) -> pd.DataFrame:
    """Tables 2-3 as printed: one row per term; for the univariable models n (complete cases
    of the endpoint and that term), HR (95% CI; the CI on a second line, so the three models
    fit the text column) and p; for Model 1 and Model 2 HR (95% CI)
    and p (blank where a term is not in a model; "not estimable" where :func:`fit_cox` could
    not estimate it, the reason in :func:`cox_notes`). Columns are a two-level index
    (model, quantity) for the grouped header."""
    def fmt(tab, name, with_n=False):
        t = tab.set_index("term")
        cols = {}
        if with_n:
            cols[(name, "n")] = t["n"].astype(int).astype(str)
        cols[(name, "HR (95% CI)")] = [hr_cell(r, "\n") for r in t.itertuples()]
        cols[(name, "p")] = [fmt_p(p, prefix=False) if np.isfinite(p) else "" for p in t.p]
        return pd.DataFrame(cols, index=t.index)
    out = fmt(uni, "Univariable", True).join(fmt(m1, "Model 1"), how="left").join(fmt(m2, "Model 2"), how="left")
    out.insert(0, ("", "Parameter"), [TERMS[x][0] for x in out.index])
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out.fillna("").reset_index(drop=True)


def cox_notes(uni: pd.DataFrame, m1: pd.DataFrame, m2: pd.DataFrame, event_word: str = "event") -> list[str]:
    """Footnotes for :func:`cox_side_by_side`: each model's n and events (complete cases of its
    variables) and every term that could not be estimated, with the reason."""
    from helpers import prose

    notes = []
    if len(uni):
        lo, hi = int(uni["n"].min()), int(uni["n"].max())
        span = f"n = {lo}" if lo == hi else f"n = {lo} to {hi}"
        notes.append(f"Univariable: one Cox model per row, {span} (patients with the endpoint and that "
                     "variable: the n column).")
    for name, tab in (("Model 1", m1), ("Model 2", m2)):
        if len(tab):
            notes.append(f"{name}: n = {int(tab['n'].iloc[0])} patients with every variable of the model, "
                         f"{prose.count_noun(int(tab['events'].iloc[0]), event_word)}.")
    for name, tab in (("univariable", uni), ("Model 1", m1), ("Model 2", m2)):
        for r in tab.itertuples():
            if isinstance(r.note, str) and r.note:
                notes.append(f"{TERMS[r.term][0]}, {name}: {r.note}.")
    return notes


#: Fig. S1's continuous variables: column -> (label, scale). ``"doubling"``: HR per doubling
#: (the Cox term is log2 of the value; skewed markers), ``"sd"``: HR per standard deviation of
#: the patients in the model (the SD is stated).
CONTINUOUS = {
    "il6_pg_ml": ("IL-6", "doubling"), "il8_pg_ml": ("IL-8", "doubling"),
    "albumin_g_l": ("Albumin", "sd"), "bilirubin_umol_l": ("Total bilirubin", "doubling"),
    "albi_score": ("ALBI score", "sd"),
}
#: Units of :data:`CONTINUOUS`: the cohort contract's (:mod:`helpers.schemas.soramic`).
CONTINUOUS_UNITS = {**{c.name: c.unit for c in _schema.COHORT_COLUMNS if c.name in CONTINUOUS and c.unit},
                    "albi_score": "points"}


def continuous_models(df: pd.DataFrame, endpoint: str = "os") -> pd.DataFrame:
    """Fig. S1: separate univariable Cox models with IL-6, IL-8, albumin, bilirubin and the ALBI
    score as continuous variables, each on the complete cases of the endpoint and the variable.

    Skewed markers (IL-6, IL-8, bilirubin) enter as log2 of the value, so the HR is **per
    doubling**; values of 0 or below (below the detection limit) are first set to half the
    smallest positive value of that variable (the usual LOD/2 rule; ``zeros`` says how many).
    Albumin and ALBI enter per **standard deviation** of the patients in the model (``sd``, in
    the variable's unit). Columns: ``term``, ``label``, ``per`` (the scale in words), ``hr``,
    ``lower``, ``upper``, ``p``, ``n``, ``events``, ``zeros``, ``sd``, ``note``.
    """
    t, e, _ = ENDPOINTS[endpoint]
    d = endpoint_data(df, endpoint)
    rows = []
    for col, (label, scale) in CONTINUOUS.items():
        if col not in d or d[col].isna().all():
            continue
        use = d[[t, e]].assign(_x=pd.to_numeric(d[col], errors="coerce")).dropna()
        zeros, sd = 0, np.nan
        if scale == "doubling":
            pos = use["_x"][use["_x"] > 0]
            zeros = int((use["_x"] <= 0).sum())
            floor = pos.min() / 2 if len(pos) else np.nan
            use["_x"] = np.log2(use["_x"].where(use["_x"] > 0, floor))
            per = "per doubling"
        else:
            sd = float(use["_x"].std(ddof=1))
            use["_x"] = use["_x"] / sd
            per = f"per SD ({sd:.2f} {CONTINUOUS_UNITS[col]})"
        res = fit_cox(use, t, e, ["_x"])
        r = res["table"].iloc[0]
        rows.append(dict(term=col, label=label, per=per, hr=r["hr"], lower=r["lower"], upper=r["upper"],
                         p=r["p"], n=res["n"], events=res["events"], zeros=zeros, sd=sd, note=r["note"]))
    return pd.DataFrame(rows, columns=["term", "label", "per", "hr", "lower", "upper", "p", "n", "events",
                                       "zeros", "sd", "note"])


# ----------------------------------------------------------------------------- flow chart
def flow_counts(flow: pd.DataFrame) -> pd.DataFrame:
    """The boxes of Fig. 1 counted from the screening table: ``step``, ``label``, ``n``,
    ``excluded`` (patients lost since the box before) and ``excluded_reason``."""
    arm = flow["arm"].astype("string")
    re_arm = arm == "re_sorafenib"
    got_re = re_arm & (flow["received_re"] == 1)
    analysed = got_re & (flow["baseline_sample"] == 1)
    steps = [
        ("palliative_arm", "Palliative arm of SORAMIC", len(flow), ""),
        ("randomised_re_sorafenib", "Randomised to RE + sorafenib", int(re_arm.sum()), "randomised to sorafenib alone"),
        ("received_re", "Received RE", int(got_re.sum()), "did not receive RE"),
        ("analysed", "Baseline serum for IL-6 / IL-8: analysed", int(analysed.sum()), "no baseline serum sample"),
    ]
    out = pd.DataFrame(steps, columns=["step", "label", "n", "excluded_reason"])
    out.insert(3, "excluded", (out["n"].shift(1) - out["n"]).astype("Int64"))
    return out


# ----------------------------------------------------------------------------- load / reproduce
def prepare(df: pd.DataFrame, params: Params | None = None) -> pd.DataFrame:
    """:func:`derive` with ``params`` (``None``: :data:`PARAMS`); ``df.attrs["params"]`` says
    which, so :func:`reproduce` does not prepare the same cohort twice."""
    params = PARAMS if params is None else params
    out = derive(df, params.il6_cutoff, params.il8_cutoff, params.window)
    out.attrs["params"] = params
    return out


def load(cohort_file=None, params: Params | None = None) -> pd.DataFrame:
    """Read and validate the cohort (``None``: the shipped synthetic one) and prepare it with
    ``params`` (:func:`prepare`).

    ``df.attrs``: ``"params"`` (the :class:`Params` used) and ``"flow_counts"``, the boxes of
    Fig. 1 (:func:`flow_counts`, as records; :func:`flow_table` gives the DataFrame) counted
    from the screening table ``params.flow_file``, or from the shipped one when the cohort is
    the shipped one; ``None`` when there is no screening table for this cohort.
    """
    from helpers import contract

    params = PARAMS if params is None else params
    cohort = contract.read_cohort(STUDY, cohort_file)
    flow = None
    if params.flow_file is not None or cohort_file is None:
        flow = contract.read_cohort(STUDY, params.flow_file, dataset="flow")
    out = prepare(cohort, params)
    out.attrs["flow_counts"] = None if flow is None else [
        {k: (None if pd.isna(v) else (int(v) if k in ("n", "excluded") else v)) for k, v in r.items()}
        for r in flow_counts(flow).to_dict("records")]
    return out


def flow_table(df: pd.DataFrame) -> pd.DataFrame | None:
    """The Fig. 1 counts :func:`load` found for this cohort (:func:`flow_counts`), or ``None``."""
    records = df.attrs.get("flow_counts")
    if not records:
        return None
    out = pd.DataFrame(records)
    out["excluded"] = out["excluded"].astype("Int64")
    return out


@functools.lru_cache(maxsize=1)
def _digits_of() -> dict:
    from helpers import published

    table = published.load(STUDY)
    return {k: int(d) for k, d in zip(table["id"], table["digits"]) if not pd.isna(d)}


class _Rows:
    """Collects :func:`reproduce` rows. ``digits`` (default: the paper's printed decimals),
    ``unit`` and ``text`` say how the chapters print a number; the row's ``text`` is kept only
    where that differs from the default reading of :meth:`helpers.results.Recorder.record_rows`
    (the paper's printed decimals, no unit)."""

    def __init__(self):
        self.records = []
        self._digits = None

    def add(self, key, est, lower=None, upper=None, p=None, n=None, *, digits=None, unit="", text=None):
        if self._digits is None:
            self._digits = _digits_of()
        if digits is None:  # the paper's printed decimals (2 for a number it did not print)
            digits = self._digits.get(key, 2)

        def as_chapter(x):  # Recorder.record: a missing limit prints as NA
            return None if x is None else float(x)

        def as_rows(x):  # Recorder.record_rows: a missing limit is left out
            return None if x is None or np.isnan(float(x)) else float(x)
        if text is None:
            text = fmt_estimate(*map(as_chapter, (est, lower, upper, p)), digits=digits, unit=unit)
        default = fmt_estimate(*map(as_rows, (est, lower, upper, p)), digits=self._digits.get(key, 2))
        self.records.append(dict(key=key, estimate=est, lower=lower, upper=upper, p=p,
                                 n=None if n is None else int(n), text="" if text == default else text))

    def median(self, key, est, lower, upper, n=None, unit=""):
        """A Kaplan-Meier median row: a median or limit the curve never reaches prints as
        "not reached" (never "NA")."""
        def part(x):
            return "not reached" if x is None or not np.isfinite(float(x)) else fmt_number(x, 1)
        text = None
        if not all(x is not None and np.isfinite(float(x)) for x in (est, lower, upper)):
            text = f"{part(est)}{' ' + unit if unit and part(est) != 'not reached' else ''} " \
                   f"(95% CI {part(lower)}–{part(upper)})"
        self.add(key, est, lower, upper, n=n, digits=1, unit=unit, text=text)

    def hr(self, key, r, n=None):
        """A Cox row (``hr``, ``lower``, ``upper``, ``p``, ``note``): a term :func:`fit_cox`
        could not estimate has no numbers and its reason as text."""
        note = getattr(r, "note", "") if not isinstance(r, (dict, pd.Series)) else r.get("note", "")
        get = (lambda k: r[k]) if isinstance(r, (dict, pd.Series)) else (lambda k: getattr(r, k))
        if not np.isfinite(get("hr")):
            self.add(key, np.nan, np.nan, np.nan, np.nan, n=n, digits=2, text=note or NOT_ESTIMABLE)
        else:
            self.add(key, get("hr"), get("lower"), get("upper"), get("p"), n=n, digits=2)

    def p_value(self, key, p, n=None):
        """A p-value row as the chapters print it: ``p = 0.021``."""
        self.add(key, p, p=p, n=n, text=fmt_p(p))


def _has(d: pd.DataFrame, columns) -> bool:
    return all(c in d.columns and d[c].notna().any() for c in columns)


def _km_rows(out: _Rows, d: pd.DataFrame, ep: str, hr_text: bool, logrank_n: bool) -> None:
    """Per marker with both groups present: KM medians, log-rank p (and the Cox HR text)."""
    for m in MARKERS:
        if d[MARKERS[m]].nunique() != 2:
            continue
        k = km_compare(d, ep, m)
        summ = k["summary"].set_index("group")
        for g in (f"{m}_low", f"{m}_high"):
            r = summ.loc[g]
            out.median(f"soramic_{ep}_median_{g}", r["median"], r["median_lower"], r["median_upper"],
                       n=int(r["n"]))
        lr = k["logrank"].iloc[0]
        out.p_value(f"soramic_{ep}_logrank_p_{m}", lr["p"], n=int(lr["n"]) if logrank_n else None)
        if hr_text:
            out.hr(f"soramic_{ep}_hr_{m}_high_text", k["hr"].iloc[0], n=int(lr["n"]))


def _cox_rows(out: _Rows, d: pd.DataFrame, ep: str) -> tuple:
    """Univariable Cox per term and the paper's Models 1 and 2 (Tables 2-3)."""
    uni = univariable(d, ep)
    m1, m2 = multivariable(d, ep, "m1"), multivariable(d, ep, "m2")
    for tab, model in ((uni, "uni"), (m1, "m1"), (m2, "m2")):
        for r in tab.itertuples():
            out.hr(f"soramic_{ep}_hr_{r.term}_{model}", r, n=r.n)
    return uni, m1, m2


def _section(d: pd.DataFrame, params: Params, section: str) -> list[dict]:
    out = _Rows()
    if section == "flow":
        fc = flow_table(d)
        if fc is not None:
            n = fc.set_index("step")["n"]
            for step in n.index:
                key = "soramic_flow_count_analysed" if step == "analysed" else f"soramic_flow_count_{step}"
                out.add(key, int(n[step]), digits=0)
            out.add("soramic_flow_count_no_re", int(n["randomised_re_sorafenib"] - n["received_re"]), digits=0)
            out.add("soramic_flow_pct_analysed_of_received_re", 100 * n["analysed"] / n["received_re"], digits=1)
    elif section == "groups":
        for key, value, unit in (("albumin", ALBUMIN_LOW_BELOW, "g/L"), ("bilirubin", BILIRUBIN_HIGH_FROM, "umol/L"),
                                 ("afp", AFP_HIGH_FROM, "ng/mL"), ("age", AGE_FROM, "years")):
            out.add(f"soramic_cutoff_{key}", value, digits=0, unit=unit)  # the thresholds the analysis applies
        gs = group_sizes(d).set_index("group")
        for g in ("il6_high", "il6_low", "il8_high", "il8_low"):
            out.add(f"soramic_count_{g}", int(gs.loc[g, "n"]), digits=0)
        out.add("soramic_pct_il6_high", gs.loc["il6_high", "percent"], digits=1)
        out.add("soramic_pct_il8_high", gs.loc["il8_high", "percent"], digits=1)
    elif section == "table1":
        for r in table_one(d).itertuples():
            if r.group.endswith("_p"):
                out.p_value(f"soramic_{r.variable}_p_{r.group[:-2]}", r.p)
            else:
                out.add(f"soramic_{r.variable}_count_{r.group}", r.count, n=r.n, digits=0)
                if r.count > 0 or not r.variable.endswith("missing"):
                    out.add(f"soramic_{r.variable}_pct_{r.group}", r.percent, n=r.n, digits=1)
    elif section == "lesion":
        if _has(d, ["target_lesion_mm"]):
            for r in lesion_size_summary(d).itertuples():
                if r.group.endswith("_p"):
                    out.p_value(f"soramic_target_lesion_mm_p_{r.group[:-2]}", r.p)
                else:
                    out.add(f"soramic_target_lesion_mm_median_{r.group}", r.median, n=r.n, digits=1)
                    out.add(f"soramic_target_lesion_mm_mean_{r.group}", r.mean, n=r.n, digits=1)
    elif section == "survival":
        ep = params.endpoint
        t, e, _ = ENDPOINTS[ep]
        if _has(d, [t, e]):
            s = km_overall(d, ep).iloc[0]
            n, ev = int(s["n"]), int(s["events"])
            if ep == "os":
                out.add("soramic_os_events_all", ev, n=n, digits=0)
                out.add("soramic_os_pct_events_all", 100 * ev / n, n=n, digits=1)
            else:
                out.add(f"soramic_{ep}_count_available", n, digits=0)
            out.median(f"soramic_{ep}_median_all", s["median"], s["median_lower"], s["median_upper"], n=n,
                       unit="months")
            _km_rows(out, d, ep, hr_text=True, logrank_n=True)
            _, m1, m2 = _cox_rows(out, d, ep)
            if ep == "os":  # the Results text prints these Model 2 HRs again
                for r in m2[m2["term"].isin(["cirrhosis", "child_pugh_b"])].itertuples():
                    out.hr(f"soramic_os_hr_{r.term}_m2_text", r, n=r.n)
            if "bilirubin_high" in set(m1["term"]) and np.isfinite(m1.set_index("term").loc["bilirubin_high", "hr"]):
                # the Results text's reading: the same estimate, reference reversed
                b = m1.set_index("term").loc["bilirubin_high"]
                out.add(f"soramic_{ep}_hr_bilirubin_high_m1_text", 1 / b["hr"], 1 / b["upper"], 1 / b["lower"],
                        b["p"], n=int(b["n"]), digits=2)
    elif section == "pfs":
        if params.endpoint != "pfs" and _has(d, ["pfs_months", "pfs_event"]):
            out.add("soramic_pfs_count_available", len(endpoint_data(d, "pfs")), digits=0)
            _km_rows(out, d, "pfs", hr_text=False, logrank_n=False)
    elif section == "ld":
        ep = "ldcp" if params.censor_at_progression else "ld"
        t, e, _ = ENDPOINTS[ep]
        if t in d and _has(d, [t, e]):
            data = endpoint_data(d, ep)
            ev = int(data[e].sum())
            out.add(f"soramic_{ep}_count_available", len(data), digits=0)
            out.add(f"soramic_{ep}_events_all", ev, n=len(data), digits=0)
            out.add(f"soramic_{ep}_pct_events_all", 100 * ev / len(data), n=len(data), digits=1)
            _km_rows(out, d, ep, hr_text=False, logrank_n=False)
            _cox_rows(out, d, ep)
    elif section == "ldcp":
        if "ld_cp_months" in d and _has(d, ["ld_cp_months", "ld_cp_event"]):
            out.add("soramic_ld_count_progression_before_ld", progression_before_ld(d, params.window), digits=0)
            if not params.censor_at_progression:  # otherwise section "ld" holds these
                _km_rows(out, d, "ldcp", hr_text=False, logrank_n=False)
    elif section == "cutoffs":
        out.add("soramic_cutoff_il6", params.il6_cutoff, unit="pg/mL")  # with the paper's decimals
        out.add("soramic_cutoff_il8", params.il8_cutoff, unit="pg/mL")
    return out.records


def reproduce(df: pd.DataFrame, params: Params | None = None, section: str | None = None) -> pd.DataFrame:
    """Every number of the cohort that the chapters record, keyed by the published ``id``:
    :data:`helpers.studies.ROW_COLUMNS` rows, ``computed_by`` =
    ``helpers.studies.soramic.reproduce[<section>]``.

    ``df`` is a cohort from :func:`load` (prepared with its ``attrs["params"]``) or a raw
    cohort table (prepared here with ``params``; ``None``: the ones ``df`` was loaded with, or
    :data:`PARAMS`). ``section`` is one of :data:`SECTIONS` (``None``: all, in that order).
    A section whose columns the cohort lacks (or, for ``flow``, without a screening table)
    gives no rows; ``text`` is set only where a chapter prints a number otherwise than the
    paper's decimals (a unit, a p-value, a not-reached CI limit).
    """
    check_section(STUDY, section, SECTIONS)
    loaded = df.attrs.get("params")
    params = (loaded or PARAMS) if params is None else params
    d = df if loaded == params and loaded is not None else derive(
        df, params.il6_cutoff, params.il8_cutoff, params.window)
    records = []
    for name in (SECTIONS if section is None else (section,)):
        by = f"helpers.studies.{STUDY}.reproduce[{name}]"
        records += [dict(r, computed_by=by) for r in _section(d, params, name)]
    out = rows(records, computed_by=f"helpers.studies.{STUDY}.reproduce")
    numbers = ["estimate", "lower", "upper", "p", "n"]
    out[numbers] = out[numbers].astype(float)  # NaN, not None, where a row has no such number
    return out


def cutoff_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`maxstat_comparison`'s table for the page, one row per marker and kind of cut-off
    (pre-specified, maxstat): ``marker``, ``kind``, ``cut``, ``n_high`` (patients above it),
    ``n`` (patients with the endpoint and the marker), the naive log-rank ``p`` at that cut and
    the ``p`` corrected for the search (exact Gauss, and the Lau94 bound; blank for the
    pre-specified cut, which needs no correction)."""
    rows = []
    for r in table.itertuples():
        rows.append(dict(marker=r.marker, kind="pre-specified", cut=r.prespecified_cut, n_high=r.n_high_pre,
                         n=r.n, p=r.logrank_p_pre, p_exact_gauss=np.nan, p_lau94=np.nan))
        rows.append(dict(marker=r.marker, kind="maxstat (data-driven)", cut=r.maxstat_cut, n_high=r.n_high_maxstat,
                         n=r.n, p=r.naive_logrank_p, p_exact_gauss=r.corrected_p_exact_gauss,
                         p_lau94=r.corrected_p_lau94))
    return pd.DataFrame(rows, columns=["marker", "kind", "cut", "n_high", "n", "p", "p_exact_gauss", "p_lau94"])


def significant_terms(tab: pd.DataFrame) -> str:
    """The Cox terms of ``tab`` (:func:`univariable` / :func:`multivariable`) with p < 0.05, as
    prose: ``"IL-6 high (> cut-off) (HR 2.10, 1.20-3.40, p = 0.010); ..."`` or ``"none"``."""
    s = tab[tab["p"] < 0.05]
    return "; ".join(f"{r.label} (HR {r.hr:.2f}, {r.lower:.2f}-{r.upper:.2f}, {fmt_p(r.p)})"
                     for r in s.itertuples()) or "none"


def ld_comparison(df: pd.DataFrame, endpoint: str = "ld") -> tuple[dict, dict]:
    """Fig. 3 / Fig. S3: :func:`km_compare` by IL-6 and by IL-8 group for the time to liver
    dysfunction (``"ld"``) or the same censored at progression (``"ldcp"``), and one sentence
    per marker for the prose. Returns ``({marker: km_compare(...)}, {marker: sentence})``; a
    marker without both groups in the cohort has no comparison and a "not available" sentence."""
    from helpers import prose

    out, sentences = {}, {}
    for m in MARKERS:
        if df[MARKERS[m]].nunique() < 2:
            sentences[m] = "not available for this cohort"
            continue
        k = out[m] = km_compare(df, endpoint, m)
        summ = k["summary"].set_index("group")
        lr, h = k["logrank"].iloc[0], k["hr"].iloc[0]
        lab = MARKER_LABELS[m]
        total = len(endpoint_data(df, endpoint))
        used = "" if k["n"] == total else f" ({prose.n_of(k['n'], total)} patients have a value of {lab})"
        if np.isfinite(h["hr"]):
            hr, direction = f"HR {h['hr']:.2f} ({h['lower']:.2f}-{h['upper']:.2f})", prose.compare_word(h["hr"], 1.0)
        else:  # no finite HR: the direction from the share of patients with an event
            share = {g: summ.loc[g, "events"] / summ.loc[g, "n"] for g in (m + "_high", m + "_low")}
            hr, direction = f"HR {h['note'] or NOT_ESTIMABLE}", prose.compare_word(share[m + "_high"], share[m + "_low"])
        sentences[m] = (f"high {lab}: median {prose.median_text(summ.loc[m + '_high', 'median'])} vs "
                        f"{prose.median_text(summ.loc[m + '_low', 'median'])} with low {lab}{used}, "
                        f"{hr}, log-rank {fmt_p(lr['p'])}: "
                        f"the hazard of liver dysfunction is {direction} "
                        f"with high {lab}, {prose.significance_phrase(lr['p'])}")
    return out, sentences


def maxstat_comparison(df: pd.DataFrame, params: Params | None = None) -> tuple[pd.DataFrame, dict]:
    """Pre-specified vs data-driven cut-off (the ``soramic_cutoff`` chapter), per marker with
    at least three distinct values and both groups present, on ``params.endpoint``.

    For each marker: the log-rank p at the pre-specified cut-off (``params``' cut-offs), the
    cut-off maximally selected rank statistics pick (:func:`helpers.maxstat.maxstat_test`,
    log-rank scores, ``params.minprop``/``maxprop``), the naive log-rank p at that cut-off and
    the p corrected for the search (Lau94 bound and exact Gauss; neither is random), on the
    ``n`` patients with the endpoint and the marker. Returns
    the table (one row per marker) and ``{marker: (MaxstatResult, pre-specified cut-off)}``
    for the figure; both empty when the endpoint's columns are missing."""
    from helpers import maxstat

    params = df.attrs.get("params", PARAMS) if params is None else params
    t, e, _ = ENDPOINTS[params.endpoint]
    found, table = {}, []
    if t not in df or not _has(df, [t, e]):
        return pd.DataFrame(table), found
    every = endpoint_data(df, params.endpoint)
    for m, col, cut in (("il6", "il6_pg_ml", params.il6_cutoff), ("il8", "il8_pg_ml", params.il8_cutoff)):
        data = every[every[col].notna()]  # complete cases of the endpoint and this marker
        if data[col].nunique() < 3 or data[MARKERS[m]].nunique() < 2:
            continue
        pre = data.assign(high=(data[col] > cut).astype(int))
        p_pre = survival.logrank(pre, t, e, "high")["p"].iloc[0]
        res = maxstat.maxstat_test(data, t, e, col, minprop=params.minprop, maxprop=params.maxprop,
                                   pmethods=("Lau94", "exactGauss"))
        post = data.assign(high=(data[col] > res.cutoff).astype(int))
        p_naive = survival.logrank(post, t, e, "high")["p"].iloc[0]
        found[m] = (res, cut)
        table.append(dict(marker=MARKER_LABELS[m], n=len(data), prespecified_cut=cut, n_high_pre=int(pre["high"].sum()),
                          logrank_p_pre=p_pre, maxstat_cut=res.cutoff, n_high_maxstat=int(post["high"].sum()),
                          naive_logrank_p=p_naive, corrected_p_lau94=res.p("Lau94"),
                          corrected_p_exact_gauss=res.p("exactGauss")))
    return pd.DataFrame(table), found
