"""Clinical scores, each a vectorised function of the columns it needs.

Units are in the argument names. Conventions are stated per function.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def nlr(neutrophils, lymphocytes):
    """Neutrophil-to-lymphocyte ratio (any common unit of absolute counts)."""
    raise NotImplementedError


def albi_score(albumin_g_l, bilirubin_umol_l):
    """ALBI = 0.66 * log10(bilirubin umol/L) - 0.085 * albumin g/L (Johnson 2015)."""
    raise NotImplementedError


def albi_grade(albi):
    """ALBI grade 1 (<= -2.60), 2 (> -2.60 and <= -1.39), 3 (> -1.39)."""
    raise NotImplementedError


def malbi_grade(albi):
    """mALBI grade "1", "2a" (> -2.60, <= -2.27), "2b" (> -2.27, <= -1.39), "3" (Hiraoka 2017)."""
    raise NotImplementedError


def crafity(crp_mg_dl, afp_ng_ml):
    """CRAFITY points: CRP >= 1 mg/dL and AFP >= 100 ng/mL, one point each (Scheiner 2022)."""
    raise NotImplementedError


PBIS_CUTOFFS = {"nlr": 3.5, "crp_mg_dl": 0.13, "il12_pg_ml": 11.6, "il2": 3.2}


def pbis(nlr_value, crp_mg_dl, il12_pg_ml, il2, cutoffs: dict | None = None):
    """PBIS points 0-4: one each for NLR, CRP, IL-12 and IL-2 at or above its cut-off
    (``cutoffs`` overrides :data:`PBIS_CUTOFFS`)."""
    raise NotImplementedError
