"""Cohort contract of the PBIS study (atezolizumab + bevacizumab, serum cytokines, PBIS).

One dataset, ``"cohort"``: one row per patient of the derivation (AB, n = 116), external
validation (AB, n = 54) and lenvatinib comparison (n = 21) cohorts.

Essentials (required): ids, cohort, OS, PFS, objective response and the four PBIS markers
(NLR, CRP, IL-12, IL-2). Everything else is optional; chapter sections that need a missing
column are skipped with a visible note (``section`` names them).

Units follow the paper: CRP in mg/dL, cytokines in pg/mL. The paper prints the IL-2 cut-off
in ng/mL (``data/published/pbis.csv`` ``derivation_cutoff_il2``) while every other cytokine is
in pg/mL; the book reads pg/mL (a unit typo: a thousand times the printed value in pg/mL would
be far above serum IL-2 measured on a Luminex panel), so ``il2_pg_ml``.
Cytokines below the assay's detection limit may be written ``<LOD`` or ``<x`` (read as 0).
"""
from __future__ import annotations

import pandas as pd

from helpers.contract import Column, Contract, Rule, rule_le

STUDY = "pbis"
#: Cohort labels, in reading order.
COHORTS = ("derivation", "validation", "lenvatinib")
#: Cohorts treated with atezolizumab + bevacizumab.
AB_COHORTS = ("derivation", "validation")
#: Serum cytokines measured by the Luminex multiplex assay (column names).
CYTOKINES = ("ifng_pg_ml", "il10_pg_ml", "il12_pg_ml", "il17_pg_ml", "il2_pg_ml",
             "il6_pg_ml", "tnf_pg_ml")
#: The study's key marker (the column a shuffling test permutes).
MARKER = "il2_pg_ml"

_SYN = "synthetic: helpers/synth/pbis.py"


def _response_consistent(df: pd.DataFrame) -> pd.Series:
    best = df["best_response"].astype("string")
    resp = pd.to_numeric(df["objective_response"], errors="coerce")
    ok = best.isna() | resp.isna() | ((best.isin(["CR", "PR"])).astype(float) == resp)
    return ok.fillna(True).astype(bool)


def _child_pugh_consistent(df: pd.DataFrame) -> pd.Series:
    score = pd.to_numeric(df["child_pugh_score"], errors="coerce")
    cls = df["child_pugh_class"].astype("string")
    expected = pd.Series(pd.NA, index=df.index, dtype="string")
    expected[score.between(5, 6)] = "A"
    expected[score.between(7, 9)] = "B"
    expected[score.between(10, 15)] = "C"
    ok = score.isna() | cls.isna() | (expected == cls)
    return ok.fillna(True).astype(bool)


def _cytokine(name: str, label: str, required: bool = False, section: str = "") -> Column:
    return Column(name, "float", f"Baseline serum {label} (Luminex MILLIPLEX MAP, within one week before treatment)",
                  unit="pg/mL", required=required, min=0, below_lod=True, section=section,
                  source=f"{_SYN}; marginal shape assumed (log-normal), tied to PBIS and tumour burden")


COHORT_COLUMNS = (
    Column("patient_id", "id", "Patient identifier (one row per patient)", source=_SYN),
    Column("cohort", "category", "Cohort: derivation (AB, Seoul), validation (AB, Incheon), lenvatinib (comparison group)",
           allowed=COHORTS, source="Patients and methods, Study cohort (116 / 54 / 21)", codes="cohort"),
    # outcomes
    Column("os_months", "float", "Overall survival: treatment start to death or last follow-up", unit="months", min=0,
           source=f"{_SYN}; Weibull PH times, HR from Fig 1 / Table 2", endpoint="os"),
    Column("os_event", "binary", "1 = died, 0 = alive at last follow-up (censored)", source=_SYN, endpoint="os"),
    Column("pfs_months", "float", "Progression-free survival: treatment start to progression, death or last follow-up",
           unit="months", min=0, source=f"{_SYN}; Weibull PH times, HR from Fig 1 / Table 2; PFS <= OS", endpoint="pfs"),
    Column("pfs_event", "binary", "1 = progressed or died, 0 = censored", source=_SYN, endpoint="pfs"),
    Column("objective_response", "binary", "Objective response (CR or PR, mRECIST) as best response",
           source="Results: responders per PBIS group (11/62, 20/54; 6/39, 8/15; matched 11/57, 24/57)"),
    # the four PBIS markers
    Column("nlr", "float", "Neutrophil-to-lymphocyte ratio", unit="ratio", min=0,
           source=f"{_SYN}; share at or above the paper's cut-off set by the PBIS counts"),
    Column("crp_mg_dl", "float", "C-reactive protein", unit="mg/dL", min=0,
           source=f"{_SYN}; share at or above the paper's cut-off set by the PBIS counts"),
    _cytokine("il12_pg_ml", "IL-12", required=True),
    _cytokine("il2_pg_ml", "IL-2 (the paper prints its cut-off in ng/mL; read as pg/mL)", required=True),
    # other cytokines
    _cytokine("ifng_pg_ml", "interferon-gamma", section="cytokine correlations and trends"),
    _cytokine("il10_pg_ml", "IL-10", section="cytokine correlations and trends"),
    _cytokine("il17_pg_ml", "IL-17", section="cytokine correlations and trends"),
    _cytokine("il6_pg_ml", "IL-6", section="cytokine correlations and trends"),
    _cytokine("tnf_pg_ml", "tumour necrosis factor", section="cytokine correlations and trends"),
    # baseline characteristics (optional)
    Column("age_years", "float", "Age at treatment start", unit="years", min=18, max=110, required=False,
           section="cohort characteristics; propensity score", source=f"{_SYN}; assumed (Table 1 was an image)"),
    Column("male", "binary", "1 = male, 0 = female", required=False, section="cohort characteristics; propensity score",
           source=f"{_SYN}; assumed"),
    Column("viral_etiology", "binary", "1 = hepatitis B or C, 0 = non-viral", required=False,
           section="multivariable PFS; propensity score", source=f"{_SYN}; assumed"),
    Column("ecog", "int", "ECOG performance status", min=0, max=4, required=False,
           section="correlations; multivariable models; propensity score", source=f"{_SYN}; eligibility 0-1"),
    Column("child_pugh_score", "int", "Child-Pugh score", unit="points", min=5, max=15, required=False,
           section="correlations; multivariable OS; propensity score", source=f"{_SYN}; eligibility A or B7"),
    Column("child_pugh_class", "category", "Child-Pugh class", allowed=("A", "B", "C"), codes="child_pugh", required=False,
           section="cohort characteristics", source="derived from child_pugh_score"),
    Column("bclc_stage", "category", "BCLC stage", allowed=("A", "B", "C"), required=False,
           section="cohort characteristics", source=f"{_SYN}; assumed"),
    Column("previous_treatment", "binary", "1 = any previous HCC treatment (locoregional or systemic)", required=False,
           section="multivariable PFS", source=f"{_SYN}; assumed"),
    Column("multiple_tumors", "binary", "1 = multiple intrahepatic tumours", required=False,
           section="multivariable PFS; propensity score", source=f"{_SYN}; more frequent in PBIShi (Table S2)"),
    Column("tumor_size_cm", "float", "Largest intrahepatic tumour diameter", unit="cm", min=0, required=False,
           section="correlations; multivariable models; propensity score", source=f"{_SYN}; larger in PBIShi (Table S2)"),
    Column("macrovascular_invasion", "binary", "1 = portal vein tumour thrombosis / macrovascular invasion", required=False,
           section="cohort characteristics", source=f"{_SYN}; assumed"),
    Column("extrahepatic_spread", "binary", "1 = extrahepatic spread", required=False,
           section="cohort characteristics", source=f"{_SYN}; assumed"),
    Column("afp_ng_ml", "float", "Serum alpha-fetoprotein", unit="ng/mL", min=0, required=False,
           section="correlations; CRAFITY; multivariable models", source=f"{_SYN}; higher in PBIShi (Table S2)"),
    Column("pivka_ii_mau_ml", "float", "Serum PIVKA-II (protein induced by vitamin K absence-II)", unit="mAU/mL", min=0,
           required=False, section="correlations; multivariable PFS", source=f"{_SYN}; assumed"),
    Column("best_response", "category", "Best overall response (mRECIST); NE = not evaluable",
           allowed=("CR", "PR", "SD", "PD", "NE"), codes="response",
           required=False, section="response details", source=f"{_SYN}; consistent with objective_response"),
)

COHORT_RULES = (
    rule_le("pfs_months", "os_months", name="pfs_le_os",
            description="PFS cannot exceed OS (pfs_months <= os_months)"),
    Rule("response_matches_best_response", "objective_response = 1 exactly when best_response is CR or PR",
         ("objective_response", "best_response"), _response_consistent),
    Rule("child_pugh_class_matches_score", "child_pugh_class is A for 5-6, B for 7-9, C for 10-15 points",
         ("child_pugh_score", "child_pugh_class"), _child_pugh_consistent),
)

CONTRACTS = {
    "cohort": Contract(
        study=STUDY, dataset="cohort",
        description=("One row per patient: derivation and validation cohorts treated with atezolizumab + "
                     "bevacizumab, and a lenvatinib comparison cohort; baseline markers, outcomes."),
        columns=COHORT_COLUMNS, rules=COHORT_RULES,
    ),
}
