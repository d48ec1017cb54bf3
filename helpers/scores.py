"""Clinical scores, each a vectorised function of the columns it needs.

Conventions shared by every function here:

- Units are in the argument names (``albumin_g_l``, ``bilirubin_umol_l``, ``crp_mg_dl``);
  use the converters at the end of this module when a cohort stores other units.
- Input: a scalar, a list, a numpy array or a pandas Series. Output has the same shape; a
  Series comes back as a Series with the same index (and name of the score).
- Missing in, missing out: a row with any needed input missing gets a missing score (NaN for
  numbers, NaN/``<NA>`` for grades); it is never counted as 0 points.
- Cut-offs are applied to the unrounded value. "At or above" (``>=``) and "at or below"
  (``<=``) are stated per function, as the source paper defines them.
- Impossible input (a negative count, a bilirubin of 0 that cannot be logged) raises a
  ``ValueError`` naming the argument, the positions and what was expected.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: ALBI grade boundaries (Johnson et al., J Clin Oncol 2015): grade 1 <= -2.60 < grade 2 <= -1.39 < grade 3.
ALBI_CUTOFFS = (-2.60, -1.39)
#: mALBI splits ALBI grade 2 at -2.27 (Hiraoka et al., Liver Cancer 2017).
MALBI_CUTOFF_2A_2B = -2.27
#: mALBI grade labels in order.
MALBI_GRADES = ("1", "2a", "2b", "3")
#: CRAFITY cut-offs (Scheiner et al., J Hepatol 2022): one point each at or above.
CRAFITY_CUTOFFS = {"crp_mg_dl": 1.0, "afp_ng_ml": 100.0}
#: Unit conversion factors.
BILIRUBIN_UMOL_L_PER_MG_DL = 17.1
ALBUMIN_G_L_PER_G_DL = 10.0
CRP_MG_L_PER_MG_DL = 10.0


# --------------------------------------------------------------------------- plumbing
def _values(x, name: str) -> tuple[np.ndarray, object]:
    """``x`` as a float array plus what is needed to give the result the same shape."""
    if isinstance(x, pd.Series):
        try:
            arr = pd.to_numeric(x, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name}: expected numbers, found {x.dtype} values ({err})") from None
        return arr, x
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name}: expected numbers ({err})") from None
    return arr, None


def _shape_like(result: np.ndarray, template, name: str):
    """Wrap ``result`` like the first Series argument (index kept), else return array/scalar."""
    if isinstance(template, pd.Series):
        return pd.Series(result, index=template.index, name=name)
    if result.ndim == 0:
        return result.item()
    return result


def _first_series(*args):
    for a in args:
        if isinstance(a, pd.Series):
            return a
    return None


def _check(mask: np.ndarray, name: str, expected: str, arr: np.ndarray, template) -> None:
    """Raise a readable error if ``mask`` (True = bad, NaN never bad) flags any position."""
    mask = np.atleast_1d(mask)
    if mask.any():
        pos = np.flatnonzero(mask)
        labels = (list(template.index[pos]) if isinstance(template, pd.Series)
                  else [int(p) for p in pos])
        vals = np.atleast_1d(arr)[pos]
        shown = ", ".join(f"{lab}: {v:g}" for lab, v in list(zip(labels, vals))[:5])
        more = f" and {len(pos) - 5} more" if len(pos) > 5 else ""
        raise ValueError(f"{name}: expected {expected}; found at rows/positions {shown}{more}")


def _points(values: np.ndarray, cutoff: float) -> np.ndarray:
    """1.0 where ``values >= cutoff``, 0.0 below, NaN where missing."""
    return np.where(np.isnan(values), np.nan, np.where(values >= cutoff, 1.0, 0.0))


# --------------------------------------------------------------------------- scores
def nlr(neutrophils, lymphocytes):
    """Neutrophil-to-lymphocyte ratio (any common unit of absolute counts).

    ``neutrophils / lymphocytes``. Counts must be >= 0; a lymphocyte count of 0 gives NaN
    (the ratio is undefined), not infinity.
    """
    n, tn = _values(neutrophils, "neutrophils")
    ly, tl = _values(lymphocytes, "lymphocytes")
    _check(n < 0, "neutrophils", "a count >= 0", n, tn)
    _check(ly < 0, "lymphocytes", "a count >= 0", ly, tl)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(ly > 0, n / np.where(ly > 0, ly, 1.0), np.nan)
    out = np.where(np.isnan(n) | np.isnan(ly), np.nan, out)
    return _shape_like(np.asarray(out, dtype=float), _first_series(neutrophils, lymphocytes), "nlr")


def albi_score(albumin_g_l, bilirubin_umol_l):
    """ALBI = 0.66 * log10(bilirubin umol/L) - 0.085 * albumin g/L (Johnson 2015).

    Bilirubin must be > 0 (it is logged); albumin >= 0. Not rounded.
    """
    alb, ta = _values(albumin_g_l, "albumin_g_l")
    bili, tb = _values(bilirubin_umol_l, "bilirubin_umol_l")
    _check(alb < 0, "albumin_g_l", "albumin in g/L >= 0", alb, ta)
    _check(bili <= 0, "bilirubin_umol_l", "bilirubin in umol/L > 0 (it is logged)", bili, tb)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 0.66 * np.log10(bili) - 0.085 * alb
    return _shape_like(np.asarray(out, dtype=float), _first_series(albumin_g_l, bilirubin_umol_l),
                       "albi_score")


def albi_grade(albi):
    """ALBI grade 1 (<= -2.60), 2 (> -2.60 and <= -1.39), 3 (> -1.39).

    Returns floats 1.0/2.0/3.0 (NaN where ``albi`` is missing) for arrays and scalars, and a
    nullable ``Int64`` Series (``<NA>`` where missing) for a Series.
    """
    a, ta = _values(albi, "albi")
    lo, hi = ALBI_CUTOFFS
    out = np.where(a <= lo, 1.0, np.where(a <= hi, 2.0, 3.0))
    out[np.isnan(a)] = np.nan
    if isinstance(ta, pd.Series):
        return pd.Series(out, index=ta.index, name="albi_grade").astype("Int64")
    return _shape_like(out, None, "albi_grade")


def malbi_grade(albi):
    """mALBI grade "1" (<= -2.60), "2a" (> -2.60, <= -2.27), "2b" (> -2.27, <= -1.39),
    "3" (> -1.39) (Hiraoka 2017).

    Returns an object array of the labels (NaN where missing); for a Series an ordered
    categorical Series with categories :data:`MALBI_GRADES`.
    """
    a, ta = _values(albi, "albi")
    lo, hi = ALBI_CUTOFFS
    out = np.where(a <= lo, "1", np.where(a <= MALBI_CUTOFF_2A_2B, "2a",
                                          np.where(a <= hi, "2b", "3"))).astype(object)
    out[np.isnan(a)] = np.nan
    if isinstance(ta, pd.Series):
        return pd.Series(pd.Categorical(out, categories=list(MALBI_GRADES), ordered=True),
                         index=ta.index, name="malbi_grade")
    if out.ndim == 0:
        return out.item()
    return out


def crafity(crp_mg_dl, afp_ng_ml):
    """CRAFITY points: CRP >= 1 mg/dL and AFP >= 100 ng/mL, one point each (Scheiner 2022).

    Returns 0, 1 or 2 as floats (NaN if either input is missing).
    """
    crp, tc = _values(crp_mg_dl, "crp_mg_dl")
    afp, tf = _values(afp_ng_ml, "afp_ng_ml")
    _check(crp < 0, "crp_mg_dl", "CRP in mg/dL >= 0", crp, tc)
    _check(afp < 0, "afp_ng_ml", "AFP in ng/mL >= 0", afp, tf)
    out = _points(crp, CRAFITY_CUTOFFS["crp_mg_dl"]) + _points(afp, CRAFITY_CUTOFFS["afp_ng_ml"])
    return _shape_like(out, _first_series(crp_mg_dl, afp_ng_ml), "crafity")


#: The keys of the ``cutoffs`` of :func:`pbis` (one per marker; IL-2's unit is left out of the
#: key because the paper's printed unit is doubtful, see the PBIS cut-offs chapter).
PBIS_CUTOFF_KEYS = ("nlr", "crp_mg_dl", "il12_pg_ml", "il2")


def pbis(nlr_value, crp_mg_dl, il12_pg_ml, il2, cutoffs: dict):
    """PBIS points 0-4: one each for NLR, CRP, IL-12 and IL-2 at or above its cut-off.

    ``cutoffs`` gives every cut-off (keys :data:`PBIS_CUTOFF_KEYS`); the paper's values are
    the PBIS study's parameters (``helpers.studies.pbis.PARAMS``, read from
    ``data/published/pbis.csv``), never typed here. Returns floats 0-4, NaN if any of the four
    inputs is missing (a missing marker is not scored as "low").
    """
    cutoffs = dict(cutoffs or {})
    unknown = set(cutoffs) - set(PBIS_CUTOFF_KEYS)
    missing = [k for k in PBIS_CUTOFF_KEYS if k not in cutoffs]
    if unknown or missing:
        raise ValueError(f"pbis cutoffs: unknown key(s) {sorted(unknown)}, missing key(s) {missing}; "
                         f"expected exactly {list(PBIS_CUTOFF_KEYS)}")
    parts = [(nlr_value, "nlr"), (crp_mg_dl, "crp_mg_dl"), (il12_pg_ml, "il12_pg_ml"), (il2, "il2")]
    total = None
    for x, key in parts:
        arr, t = _values(x, key)
        _check(arr < 0, key, "a value >= 0", arr, t)
        p = _points(arr, float(cutoffs[key]))
        total = p if total is None else total + p
    return _shape_like(total, _first_series(*(x for x, _ in parts)), "pbis")


def pbis_high(points, min_points: int):
    """1 where PBIS ``points >= min_points`` (PBIS-high; the paper's threshold is the PBIS
    study's ``pbis_threshold`` parameter), 0 below, NaN where missing."""
    arr, t = _values(points, "points")
    return _shape_like(_points(arr, min_points), t, "pbis_high")


# --------------------------------------------------------------------------- units
def _scale(x, factor: float, name: str):
    arr, t = _values(x, name)
    return _shape_like(arr * factor, t, name)


def bilirubin_mg_dl_to_umol_l(bilirubin_mg_dl):
    """Bilirubin mg/dL -> umol/L (x 17.1)."""
    return _scale(bilirubin_mg_dl, BILIRUBIN_UMOL_L_PER_MG_DL, "bilirubin_umol_l")


def bilirubin_umol_l_to_mg_dl(bilirubin_umol_l):
    """Bilirubin umol/L -> mg/dL (/ 17.1)."""
    return _scale(bilirubin_umol_l, 1.0 / BILIRUBIN_UMOL_L_PER_MG_DL, "bilirubin_mg_dl")


def albumin_g_dl_to_g_l(albumin_g_dl):
    """Albumin g/dL -> g/L (x 10)."""
    return _scale(albumin_g_dl, ALBUMIN_G_L_PER_G_DL, "albumin_g_l")


def albumin_g_l_to_g_dl(albumin_g_l):
    """Albumin g/L -> g/dL (/ 10)."""
    return _scale(albumin_g_l, 1.0 / ALBUMIN_G_L_PER_G_DL, "albumin_g_dl")


def crp_mg_l_to_mg_dl(crp_mg_l):
    """CRP mg/L -> mg/dL (/ 10)."""
    return _scale(crp_mg_l, 1.0 / CRP_MG_L_PER_MG_DL, "crp_mg_dl")


def crp_mg_dl_to_mg_l(crp_mg_dl):
    """CRP mg/dL -> mg/L (x 10)."""
    return _scale(crp_mg_dl, CRP_MG_L_PER_MG_DL, "crp_mg_l")
