"""Cohort contract of the SORAMIC IL-6 / IL-8 study (90Y radioembolization + sorafenib).

Two datasets:

``"cohort"``
    One row per analysed patient (the paper's n = 83 with a baseline serum sample).
    Essentials (required): ids, cohort, overall survival, the two markers (IL-6, IL-8) and the
    covariates of the paper's multivariable models (cirrhosis, Child-Pugh class, albumin,
    bilirubin; mALBI is computed from albumin and bilirubin). Everything else is optional;
    chapter sections that need a missing column are skipped with a visible note
    (``section`` names them).
``"flow"``
    One row per patient of the trial's palliative arm (the flow chart, Fig. 1): randomised arm,
    whether radioembolization (RE) was given, whether a baseline serum sample was available.

Units follow the paper's tables: albumin in g/L (the abstract's "g/dL" is a misprint),
total bilirubin in umol/L, cytokines in pg/mL (ELISA; values below the detection limit may
be written ``<LOD`` or ``<x`` and are read as 0). Groups are derived by the analysis, never
stored: IL-6 high = ``il6_pg_ml`` above the paper's cut-off, IL-8 high likewise (strict ``>``,
as Tables 2 and 3 print; the cut-offs are ``data/published/soramic.csv`` rows
``soramic_cutoff_il6`` and ``soramic_cutoff_il8``), low albumin = ``< 36 g/L``, high bilirubin = ``>= 17 umol/L``.
"""
from __future__ import annotations

import pandas as pd

from helpers.contract import Column, Contract, Rule, rule_both_or_neither, rule_le

STUDY = "soramic"
#: Cohort label (one cohort).
COHORTS = ("soramic",)
#: The study's key marker (the column a shuffling test permutes).
MARKER = "il6_pg_ml"
#: Pre-specified cut-offs: marker column -> (Params name, high if).
CUTOFFS = {"il6_pg_ml": ("il6_cutoff", ">"), "il8_pg_ml": ("il8_cutoff", ">")}
#: Columns every cohort must have.
REQUIRED = ("patient_id", "cohort", "os_months", "os_event", "il6_pg_ml", "il8_pg_ml", "cirrhosis",
            "child_pugh_class", "albumin_g_l", "bilirubin_umol_l")

_SYN = "synthetic: helpers/synth/soramic.py"
_T1 = "Table 1 counts by IL-6 and IL-8 group (joint table fitted to every printed margin)"


def _flow_consistent(df: pd.DataFrame) -> pd.Series:
    """RE only in the RE + sorafenib arm; a baseline sample only counts for patients given RE."""
    arm = df["arm"].astype("string")
    re_given = pd.to_numeric(df["received_re"], errors="coerce")
    sample = pd.to_numeric(df["baseline_sample"], errors="coerce")
    ok = ~((arm != "re_sorafenib") & (re_given == 1)) & ~((re_given != 1) & (sample == 1))
    return ok.fillna(True).astype(bool)


def _flag(name: str, description: str, section: str, source: str = _T1, required: bool = False) -> Column:
    return Column(name, "binary", description, required=required, section=section,
                  source=f"{_SYN}; {source}")


_TABLE1 = "Table 1; univariable Cox (Tables 2-3)"

COHORT_COLUMNS = (
    Column("patient_id", "id", "Patient identifier (one row per patient)", source=_SYN),
    Column("cohort", "category", "Cohort label: soramic (RE + sorafenib arm, baseline serum available)",
           allowed=COHORTS, source="Results: 83 of 183 patients given RE", codes="cohort"),
    # outcomes
    Column("os_months", "float", "Overall survival: start of treatment to death or last follow-up", unit="months",
           min=0, source=f"{_SYN}; Weibull PH times (Bender 2005), HRs from Table 2, medians from Fig. 2", endpoint="os"),
    Column("os_event", "binary", "1 = died, 0 = alive at last follow-up (censored)",
           source=f"{_SYN}; 73 deaths (Results)", endpoint="os"),
    Column("pfs_months", "float", "Progression-free survival (local investigator): to progression, death or last follow-up",
           unit="months", min=0, required=False, nullable=True, section="PFS by IL-6 and IL-8 (Fig. S2); liver dysfunction censored at progression (Fig. S3)",
           source=f"{_SYN}; medians from Fig. S2 text; missing in one patient", endpoint="pfs"),
    Column("pfs_event", "binary", "1 = progressed or died, 0 = censored", required=False, nullable=True,
           section="PFS by IL-6 and IL-8 (Fig. S2)", source=_SYN, endpoint="pfs"),
    Column("liver_dysfunction_months", "float",
           "Time to liver dysfunction: to the first CTCAE v5 grade >= 2 bilirubin increase, censored at the last laboratory follow-up",
           unit="months", min=0, required=False, nullable=True,
           section="time to liver dysfunction (Fig. 3, Table 3, Fig. S3)",
           source=f"{_SYN}; follow-up bilirubin in 78, 33 events; HRs from Table 3", endpoint="liver_dysfunction"),
    Column("liver_dysfunction_event", "binary", "1 = grade >= 2 bilirubin increase observed, 0 = censored",
           required=False, nullable=True, section="time to liver dysfunction (Fig. 3, Table 3, Fig. S3)", source=_SYN, endpoint="liver_dysfunction"),
    # markers
    Column("il6_pg_ml", "float", "Baseline serum IL-6 (R&D Quantikine ELISA D6050)", unit="pg/mL", min=0,
           below_lod=True, source=f"{_SYN}; share above the paper's cut-off = 48/83; log-normal shape assumed"),
    Column("il8_pg_ml", "float", "Baseline serum IL-8 (R&D Quantikine ELISA D8000C)", unit="pg/mL", min=0,
           below_lod=True, source=f"{_SYN}; share above the paper's cut-off = 38/83; log-normal shape assumed"),
    # covariates of the multivariable models (required)
    Column("cirrhosis", "binary", "1 = liver cirrhosis", source=f"{_SYN}; {_T1}"),
    Column("child_pugh_class", "category", "Child-Pugh class (trial eligibility A to B7)", allowed=("A", "B", "C"),
           codes="child_pugh",
           source=f"{_SYN}; {_T1}"),
    Column("albumin_g_l", "float", "Baseline serum albumin", unit="g/L", min=5, max=70,
           source=f"{_SYN}; share < 36 g/L and mALBI grade from Table 1"),
    Column("bilirubin_umol_l", "float", "Baseline total bilirubin", unit="umol/L", min=0, max=1000,
           source=f"{_SYN}; share >= 17 umol/L and mALBI grade from Table 1"),
    # baseline characteristics (optional)
    Column("age_years", "float", "Age at randomisation (eligibility 18-85)", unit="years", min=18, max=110,
           required=False, section=_TABLE1, source=f"{_SYN}; share >= 65 from Table 1"),
    _flag("male", "1 = male, 0 = female", _TABLE1),
    _flag("white", "1 = White (race)", "Table 1"),
    Column("ecog", "int", "ECOG performance status (eligibility <= 2)", min=0, max=4, required=False, nullable=True,
           section=_TABLE1, source=f"{_SYN}; {_T1}; missing in one patient"),
    _flag("hbv", "1 = hepatitis B etiology", _TABLE1),
    _flag("hcv", "1 = hepatitis C etiology", _TABLE1),
    _flag("alcohol", "1 = alcoholic liver disease etiology", _TABLE1),
    _flag("previous_tace", "1 = previous transarterial chemoembolization", _TABLE1),
    _flag("diffuse_disease", "1 = diffuse disease (>= 10 lesions)", _TABLE1),
    Column("target_lesion_mm", "float", "Target lesion size", unit="mm", min=0, required=False,
           section="Table 1", source=f"{_SYN}; medians and means from Table 1"),
    _flag("pvi", "1 = portal vein infiltration (invasion)", _TABLE1),
    _flag("extrahepatic_spread", "1 = extrahepatic spread", _TABLE1),
    Column("bclc_stage", "category", "BCLC stage", allowed=("B", "C"), required=False, section=_TABLE1,
           source=f"{_SYN}; {_T1}"),
    _flag("up_to_7_out", "1 = outside the up-to-7 criteria", "Table 1"),
    Column("afp_ng_ml", "float", "Baseline alpha-fetoprotein", unit="ng/mL", min=0, required=False,
           section=_TABLE1, source=f"{_SYN}; share >= 400 ng/mL from Table 1"),
)

COHORT_RULES = (
    rule_le("pfs_months", "os_months", name="pfs_le_os",
            description="PFS cannot exceed OS (pfs_months <= os_months)"),
    rule_le("liver_dysfunction_months", "os_months", name="liver_dysfunction_le_os",
            description="time to liver dysfunction cannot exceed OS"),
    rule_both_or_neither("pfs_months", "pfs_event", name="pfs_time_and_event"),
    rule_both_or_neither("liver_dysfunction_months", "liver_dysfunction_event",
                         name="liver_dysfunction_time_and_event"),
)

FLOW_COLUMNS = (
    Column("screening_id", "id", "Patient of the trial's palliative arm (one row each)", source=_SYN),
    Column("arm", "category", "Randomised arm", allowed=("sorafenib", "re_sorafenib"),
           source=f"{_SYN}; Results: 424 in the palliative arm, 216 randomised to RE + sorafenib"),
    Column("received_re", "binary", "1 = radioembolization given", source=f"{_SYN}; Results: 33 did not receive RE"),
    Column("baseline_sample", "binary", "1 = baseline serum sample accessible for IL assessment (analysed)",
           source=f"{_SYN}; Results: 83 of 183"),
)

FLOW_RULES = (
    Rule("flow_consistent", "RE only in the re_sorafenib arm; baseline_sample only for patients given RE",
         ("arm", "received_re", "baseline_sample"), _flow_consistent),
)

CONTRACTS = {
    "cohort": Contract(
        study=STUDY, dataset="cohort",
        description=("One row per analysed patient of the SORAMIC palliative arm treated with RE + sorafenib "
                     "with a baseline serum sample: IL-6, IL-8, liver function, outcomes."),
        columns=COHORT_COLUMNS, rules=COHORT_RULES,
    ),
    "flow": Contract(
        study=STUDY, dataset="flow",
        description="One row per patient of the SORAMIC palliative arm: the flow chart of Fig. 1.",
        columns=FLOW_COLUMNS, rules=FLOW_RULES, id_column="screening_id",
    ),
}
