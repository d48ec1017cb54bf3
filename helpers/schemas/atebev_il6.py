"""Cohort contract of the IL-6 / atezolizumab + bevacizumab study (JHEP Reports 2023).

Datasets
--------
``"cohort"``
    One row per patient of the discovery (n = 84, three centres) and validation (n = 81,
    one centre) cohorts.
``"tcell"``, ``"il6_exposure"``, ``"tme"`` (optional laboratory datasets)
    Peripheral CD8+ T-cell cytokine production by IL-6 group (Fig. 4A-B); exogenous IL-6
    vs control on the same donors' CD8+ T cells (Fig. 4C-F); tumour immune
    microenvironment of 20 tumours (Fig. 5, Fig. S3). The paper printed only the direction
    of these findings, so the shipped files are illustrative.

Essentials (required in ``"cohort"``): ids, cohort, OS and PFS, baseline serum IL-6 and the
covariates of the multivariable models (age, sex, ECOG, Child-Pugh class, AFP,
macrovascular invasion, extrahepatic spread). Everything else is optional: the chapter
sections that need a missing column are skipped with a visible note (``section``).

Conventions
-----------
* IL-6 in pg/ml (cytometric bead array); undetectable IL-6 is 0 (Table 1 prints a lower
  quartile of 0.0 in the validation cohort). ``<LOD`` or ``<x`` is read as 0.
* ``best_response``: RECIST 1.1 best overall response; ``NE`` = not evaluable. Objective
  response = CR or PR; PD at the first evaluation is read as best response PD (a patient
  whose first scan shows PD cannot have a better best response).
* CRP in mg/dl and AFP in ng/ml (the CRAFITY cut-offs 1 mg/dl and 100 ng/ml).
"""
from __future__ import annotations

import pandas as pd

from helpers.contract import Column, Contract, Rule, rule_le, rule_nonnegative

STUDY = "atebev_il6"
#: Cohort labels, in reading order.
COHORTS = ("discovery", "validation")
#: The study's key marker (the column a shuffling test permutes).
MARKER = "il6_pg_ml"
#: Pre-specified cut-offs: marker column -> (Params name, high if). The run warns when one
#: leaves fewer than a few patients in a group (helpers.runbook.cutoff_warnings).
CUTOFFS = {"il6_pg_ml": ("il6_cutoff", ">=")}
#: Serum cytokines of Fig. 1B (column names).
CYTOKINES = ("il2_pg_ml", "il4_pg_ml", "il6_pg_ml", "il10_pg_ml", "il17a_pg_ml",
             "ifng_pg_ml", "tnfa_pg_ml")
#: RECIST 1.1 best overall response levels.
RESPONSES = ("CR", "PR", "SD", "PD", "NE")
#: Child-Pugh class and score as the paper tabulates them (A5 ... B9); C10-C15 and a plain class
#: (A, B, C: score unknown) are accepted too (the models use class A vs B only).
CHILD_PUGH = ("A5", "A6", "B7", "B8", "B9", "C10", "C11", "C12", "C13", "C14", "C15", "A", "B", "C")
AETIOLOGY = ("hbv", "hcv", "alcohol", "other")

_SYN = "synthetic: helpers/synth/atebev_il6.py"


def _num(df, col):
    return pd.to_numeric(df[col], errors="coerce")


def _pfs_event_if_os_event(df: pd.DataFrame) -> pd.Series:
    """A death within the PFS window is a PFS event: os_event = 1 and PFS = OS => pfs_event = 1."""
    same = (_num(df, "pfs_months") - _num(df, "os_months")).abs() < 1e-9
    bad = same & (_num(df, "os_event") == 1) & (_num(df, "pfs_event") == 0)
    return ~bad.fillna(False)


def _unique_id(df: pd.DataFrame) -> pd.Series:
    return ~df["patient_id"].duplicated(keep=False)


def _cyto(name: str, label: str, required: bool = False, section: str = "") -> Column:
    return Column(name, "float", f"Baseline serum {label} (cytometric bead array, BD 560484)",
                  unit="pg/ml", required=required, min=0, below_lod=True, section=section,
                  source=f"{_SYN}; not printed per patient: illustrative, log-normal")


COHORT_COLUMNS = (
    Column("patient_id", "id", "Patient identifier (one row per patient)", source=_SYN),
    Column("cohort", "category", "discovery (3 centres, n = 84) or validation (1 centre, n = 81)",
           allowed=COHORTS, source="Table 1 header", codes="cohort"),
    # outcomes
    Column("os_months", "float", "Overall survival: treatment start to death or last follow-up",
           unit="months", min=0,
           source=f"{_SYN}; progression + post-progression survival, calibrated to the printed OS HRs and median follow-up (the printed 1-year OS rates are not met: see atebev_outcomes)", endpoint="os"),
    Column("os_event", "binary", "1 = died, 0 = alive at last follow-up (censored)", source=_SYN, endpoint="os"),
    Column("pfs_months", "float", "Progression-free survival: treatment start to PD (RECIST 1.1) or death",
           unit="months", min=0,
           source=f"{_SYN}; consistent with best response and CB6m; calibrated to the printed PFS HRs", endpoint="pfs"),
    Column("pfs_event", "binary", "1 = progressed or died, 0 = censored", source=_SYN, endpoint="pfs"),
    # key marker
    Column("il6_pg_ml", "float", "Baseline serum IL-6 before the first dose (0 = undetectable)",
           unit="pg/ml", min=0, below_lod=True,
           source=f"{_SYN}; Table 1 median (IQR) per cohort and overall, share at or above the paper's cut-off per cohort, Fig. 1 means by CB6m and response"),
    # covariates of the multivariable models (Fig. 3)
    Column("age_years", "float", "Age at treatment start", unit="years", min=18, max=110,
           source="Table 1 and Table 2 median (IQR)"),
    Column("male", "binary", "1 = male sex", source="Table 1, Table 2"),
    Column("ecog", "int", "ECOG performance status", min=0, max=4, source="Table 1, Table 2"),
    Column("child_pugh_class", "category", "Child-Pugh class and score (or class only)", allowed=CHILD_PUGH,
           source="Table 1, Table 2", codes="child_pugh"),
    Column("afp_ng_ml", "float", "Serum alpha-foetoprotein", unit="ng/ml", min=0,
           source=f"{_SYN}; share >= 400 ng/ml from Table 1 / Table 2, share >= 100 from CRAFITY (Table 2)"),
    Column("mvi", "binary", "1 = macrovascular invasion present", source="Table 1, Table 2"),
    Column("extrahepatic_spread", "binary", "1 = extrahepatic spread present", source="Table 1, Table 2"),
    # optional clinical columns
    Column("bclc_stage", "category", "BCLC stage", allowed=("A", "B", "C"), required=False,
           section="Table 1 / Table 2", source="Table 1, Table 2"),
    Column("aetiology", "category", "Aetiology of HCC (hbv, hcv, alcohol, other or unknown)",
           allowed=AETIOLOGY, required=False, section="Table 1 / Table 2", source="Table 1, Table 2"),
    Column("prior_local_therapy", "binary", "1 = prior local therapy for HCC", required=False,
           section="Table 1 / Table 2", source="Table 1, Table 2"),
    Column("crp_mg_dl", "float", "Serum C-reactive protein", unit="mg/dl", min=0, required=False,
           section="CRAFITY (Table 2)", source=f"{_SYN}; share >= 1 mg/dl from the CRAFITY rows of Table 2"),
    Column("best_response", "category", "RECIST 1.1 best overall response", allowed=RESPONSES, codes="response",
           required=False, section="Response, CB6m, PD at first evaluation (Figs 1, 2A/D)",
           source="Results: ORR per cohort and IL-6 group, PD at first evaluation, CB6m n = 47/37"),
    # optional laboratory markers (Fig. 1A)
    Column("neutrophils_10e9_l", "float", "Absolute neutrophil count", unit="10^9/l", min=0, required=False,
           section="Fig. 1A laboratory markers", source=f"{_SYN}; illustrative"),
    Column("lymphocytes_10e9_l", "float", "Absolute lymphocyte count", unit="10^9/l", min=0, required=False,
           section="Fig. 1A laboratory markers", source=f"{_SYN}; illustrative"),
    Column("platelets_10e9_l", "float", "Platelet count", unit="10^9/l", min=0, required=False,
           section="Fig. 1A laboratory markers", source=f"{_SYN}; illustrative"),
    Column("albumin_g_dl", "float", "Serum albumin", unit="g/dl", min=0, required=False,
           section="Fig. 1A laboratory markers", source=f"{_SYN}; illustrative"),
    # other cytokines (Fig. 1B)
    _cyto("il2_pg_ml", "IL-2", section="Fig. 1B"),
    _cyto("il4_pg_ml", "IL-4", section="Fig. 1B"),
    _cyto("il10_pg_ml", "IL-10", section="Fig. 1B"),
    _cyto("il17a_pg_ml", "IL-17A", section="Fig. 1B"),
    _cyto("ifng_pg_ml", "IFN-gamma", section="Fig. 1B"),
    _cyto("tnfa_pg_ml", "TNF-alpha", section="Fig. 1B"),
)

COHORT_RULES = (
    Rule("one_row_per_patient", "patient_id unique (one row per patient)", ("patient_id",), _unique_id),
    rule_nonnegative("os_months", name="os_months_nonnegative", description="os_months >= 0"),
    rule_nonnegative("pfs_months", name="pfs_months_nonnegative", description="pfs_months >= 0"),
    rule_le("pfs_months", "os_months",
            description="pfs_months <= os_months (progression-free survival cannot outlast survival)"),
    Rule("death_is_pfs_event", "a death at the PFS time is a PFS event (os_event = 1 and pfs = os => pfs_event = 1)",
         ("pfs_months", "os_months", "pfs_event", "os_event"), _pfs_event_if_os_event),
)

_LAB = "synthetic, illustrative: the paper printed directions, not values (helpers/synth/atebev_il6.py)"

TCELL_COLUMNS = (
    Column("sample_id", "id", "PBMC sample (one per patient)", source=_LAB),
    Column("il6_group", "category", "Serum IL-6 group of the donor", allowed=("il6_low", "il6_high"), source="Fig. 4A-B"),
    Column("ifng_cd8_pct", "float", "IFN-gamma+ cells among CD8+ T cells after anti-CD3", unit="%", min=0, max=100, source=_LAB),
    Column("tnfa_cd8_pct", "float", "TNF-alpha+ cells among CD8+ T cells after anti-CD3", unit="%", min=0, max=100, source=_LAB),
)

EXPOSURE_COLUMNS = (
    Column("sample_id", "id", "One row per donor and condition: '<donor>_<condition>'", source=_LAB),
    Column("donor_id", "str", "Donor (an IL-6-low patient)", source=_LAB),
    Column("condition", "category", "control or recombinant IL-6 100 pg/ml", allowed=("control", "il6"), source="Fig. 4C-F"),
    Column("ifng_cd8_pct", "float", "IFN-gamma+ among CD8+ T cells", unit="%", min=0, max=100, source=_LAB),
    Column("tnfa_cd8_pct", "float", "TNF-alpha+ among CD8+ T cells", unit="%", min=0, max=100, source=_LAB),
    Column("proliferated_cd8_pct", "float", "CD8+ T cells that diluted Cell Trace Violet after 72 h", unit="%",
           min=0, max=100, source=_LAB),
)


def _pair_complete(df: pd.DataFrame) -> pd.Series:
    counts = df.groupby("donor_id")["condition"].transform("nunique")
    return counts == 2


#: CIBERSORT LM22 immune subsets (column names of the ``tme`` dataset, absolute scores).
LM22 = ("b_naive", "b_memory", "plasma", "cd8_t", "cd4_naive", "cd4_memory_resting",
        "cd4_memory_activated", "tfh", "treg", "gd_t", "nk_resting", "nk_activated",
        "monocyte", "macrophage_m0", "macrophage_m1", "macrophage_m2", "dc_resting",
        "dc_activated", "mast_resting", "mast_activated", "eosinophil", "neutrophil")

TME_COLUMNS = (
    Column("sample_id", "id", "Tumour sample (FFPE, QuantSeq 3' mRNA-seq)", source=_LAB),
    Column("il6_group", "category", "Serum IL-6 group of the patient", allowed=("il6_low", "il6_high"), source="Fig. 5"),
    *(Column(f"cibersort_{s}", "float", f"CIBERSORT absolute score, {s.replace('_', ' ')}", min=0, source=_LAB)
      for s in LM22),
    Column("dysfunction_score", "float", "T-cell dysfunction score (TIDE, ref. 27)", source=_LAB),
    Column("exclusion_score", "float", "T-cell exclusion score (TIDE, ref. 27)", source=_LAB),
    Column("cd8_density_mm2", "float", "Intratumoural CD8+ T cells (IHC, ImageJ)", unit="cells/mm^2", min=0,
           required=False, source=_LAB),
    Column("cd4_density_mm2", "float", "Intratumoural CD4+ T cells (IHC, ImageJ)", unit="cells/mm^2", min=0,
           required=False, source=_LAB),
)

CONTRACTS = {
    "cohort": Contract(STUDY, "cohort", "One row per patient: discovery and validation cohorts",
                       COHORT_COLUMNS, COHORT_RULES, id_column="patient_id"),
    "tcell": Contract(STUDY, "tcell", "Peripheral CD8+ T-cell cytokine production by serum IL-6 group (Fig. 4A-B)",
                      TCELL_COLUMNS, id_column="sample_id", extra={"optional": True}),
    "il6_exposure": Contract(STUDY, "il6_exposure", "Exogenous IL-6 vs control on CD8+ T cells of the same donors (Fig. 4C-F)",
                             EXPOSURE_COLUMNS,
                             (Rule("paired", "each donor has both a control and an IL-6 row", ("donor_id", "condition"),
                                   _pair_complete),),
                             id_column="sample_id", extra={"optional": True}),
    "tme": Contract(STUDY, "tme", "Tumour immune microenvironment of 20 tumours (Fig. 5, Fig. S3)",
                    TME_COLUMNS, id_column="sample_id", extra={"optional": True}),
}
