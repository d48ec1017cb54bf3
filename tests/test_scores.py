"""Clinical scores against hand-computed values, at and around every boundary.

Each expected value is worked out by hand in the comment or docstring next to it.
"""
import math

import numpy as np
import pandas as pd
import pytest

from helpers import scores

EPS = 1e-9  # a step far below any printed precision, far above float noise


# ---------------------------------------------------------------- NLR
def test_nlr_values_and_missing():
    # 6.0 / 2.0 = 3.0; 3.5 / 1.0 = 3.5; 4.2 / 1.4 = 3.0 (within float rounding)
    out = scores.nlr(np.array([6.0, 3.5, 4.2, np.nan, 5.0]), np.array([2.0, 1.0, 1.4, 1.0, np.nan]))
    assert out[:3] == pytest.approx([3.0, 3.5, 3.0], rel=1e-12)
    assert np.isnan(out[3]) and np.isnan(out[4])


def test_nlr_zero_lymphocytes_is_nan_not_inf():
    assert math.isnan(scores.nlr(3.0, 0.0))


def test_nlr_series_keeps_index_and_rejects_negative_counts():
    s = scores.nlr(pd.Series([2.0, 9.0], index=["p1", "p2"]), pd.Series([1.0, 3.0], index=["p1", "p2"]))
    assert list(s.index) == ["p1", "p2"] and s.tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match=r"neutrophils.*p2: -1"):
        scores.nlr(pd.Series([2.0, -1.0], index=["p1", "p2"]), pd.Series([1.0, 1.0], index=["p1", "p2"]))


# ---------------------------------------------------------------- ALBI score
@pytest.mark.parametrize("albumin, bilirubin, expected", [
    # 0.66 * log10(10) - 0.085 * 40 = 0.66 - 3.40 = -2.74
    (40.0, 10.0, -2.74),
    # 0.66 * log10(100) - 0.085 * 35 = 1.32 - 2.975 = -1.655
    (35.0, 100.0, -1.655),
    # 0.66 * log10(1) - 0.085 * 30 = 0 - 2.55 = -2.55
    (30.0, 1.0, -2.55),
    # 0.66 * log10(17.1) - 0.085 * 36 = 0.66 * 1.2329961 - 3.06 = 0.8137774 - 3.06 = -2.2462226
    (36.0, 17.1, -2.2462226),
])
def test_albi_score_hand_computed(albumin, bilirubin, expected):
    assert scores.albi_score(albumin, bilirubin) == pytest.approx(expected, abs=1e-7)


def test_albi_score_missing_and_bad_bilirubin():
    out = scores.albi_score(np.array([40.0, np.nan]), np.array([np.nan, 10.0]))
    assert np.isnan(out).all()
    with pytest.raises(ValueError, match=r"bilirubin_umol_l.*> 0.*1: 0"):
        scores.albi_score([40.0, 40.0], [10.0, 0.0])


# ---------------------------------------------------------------- ALBI / mALBI grades
# Boundaries: grade 1 <= -2.60 < 2 (2a <= -2.27 < 2b) <= -1.39 < 3
BOUNDARY_CASES = [
    (-3.50, 1.0, "1"),
    (-2.60 - EPS, 1.0, "1"),
    (-2.60, 1.0, "1"),          # at the boundary: "<= -2.60" is grade 1
    (-2.60 + EPS, 2.0, "2a"),
    (-2.27 - EPS, 2.0, "2a"),
    (-2.27, 2.0, "2a"),         # "2a" is > -2.60 and <= -2.27
    (-2.27 + EPS, 2.0, "2b"),
    (-1.39 - EPS, 2.0, "2b"),
    (-1.39, 2.0, "2b"),         # "<= -1.39" is still grade 2
    (-1.39 + EPS, 3.0, "3"),
    (-0.50, 3.0, "3"),
]


@pytest.mark.parametrize("albi, grade, mgrade", BOUNDARY_CASES)
def test_grades_at_and_around_boundaries(albi, grade, mgrade):
    assert scores.albi_grade(albi) == grade
    assert scores.malbi_grade(albi) == mgrade


def test_grades_vectorised_with_missing():
    a = np.array([c[0] for c in BOUNDARY_CASES] + [np.nan])
    g = scores.albi_grade(a)
    assert g[:-1].tolist() == [c[1] for c in BOUNDARY_CASES] and np.isnan(g[-1])
    m = scores.malbi_grade(a)
    assert list(m[:-1]) == [c[2] for c in BOUNDARY_CASES]
    assert pd.isna(m[-1])


def test_grades_series_types():
    s = pd.Series([-2.74, -1.655, np.nan], index=[10, 11, 12])
    g = scores.albi_grade(s)
    assert str(g.dtype) == "Int64" and g.iloc[:2].tolist() == [1, 2] and pd.isna(g.iloc[2])
    m = scores.malbi_grade(s)
    assert list(m.cat.categories) == ["1", "2a", "2b", "3"] and m.cat.ordered
    assert m.iloc[:2].tolist() == ["1", "2b"] and pd.isna(m.iloc[2])
    assert list(m.index) == [10, 11, 12]


def test_grade_from_lab_values_end_to_end():
    # albumin 3.6 g/dL -> 36 g/L; bilirubin 1.0 mg/dL -> 17.1 umol/L; ALBI = -2.2462226 (above)
    # -2.2462226 > -2.27 and <= -1.39 -> grade 2, mALBI 2b
    albi = scores.albi_score(scores.albumin_g_dl_to_g_l(3.6), scores.bilirubin_mg_dl_to_umol_l(1.0))
    assert scores.albi_grade(albi) == 2.0 and scores.malbi_grade(albi) == "2b"


# ---------------------------------------------------------------- CRAFITY
@pytest.mark.parametrize("crp, afp, points", [
    (0.99, 99.9, 0.0),
    (1.0, 99.9, 1.0),     # CRP exactly 1 mg/dL scores ("at or above")
    (0.99, 100.0, 1.0),   # AFP exactly 100 ng/mL scores
    (1.0, 100.0, 2.0),
    (1.0 - EPS, 100.0 - EPS, 0.0),
    (5.2, 15000.0, 2.0),
])
def test_crafity_boundaries(crp, afp, points):
    assert scores.crafity(crp, afp) == points


def test_crafity_missing_is_missing_not_zero():
    out = scores.crafity(np.array([np.nan, 2.0]), np.array([500.0, np.nan]))
    assert np.isnan(out).all()


# ---------------------------------------------------------------- PBIS
#: The paper's PBIS cut-offs as printed (Results, 'Development of the peripheral blood
#: inflammatory score'); the code reads them from data/published/pbis.csv.
PAPER = {"nlr": 3.5, "crp_mg_dl": 0.13, "il12_pg_ml": 11.6, "il2": 3.2}


def test_pbis_cutoffs_are_the_papers_and_required():
    """scores.pbis types no cut-off: the study's parameters (data/published) are the paper's."""
    from helpers.studies import pbis as study

    assert {key: study.PARAMS.cutoffs()[col] for col, (_, _, key) in study.PBIS_MARKERS.items()} == PAPER
    assert study.PARAMS.pbis_threshold == 2
    assert not hasattr(scores, "PBIS_CUTOFFS")
    with pytest.raises(TypeError):
        scores.pbis(4.0, 0.2, 0.0, 0.0)  # no cut-offs given
    with pytest.raises(ValueError, match="missing key"):
        scores.pbis(4.0, 0.2, 0.0, 0.0, cutoffs={"nlr": 3.5})


@pytest.mark.parametrize("nlr, crp, il12, il2, points", [
    (3.5, 0.13, 11.6, 3.2, 4.0),                      # all four exactly at the cut-off: 4 points
    (3.5 - EPS, 0.13 - EPS, 11.6 - EPS, 3.2 - EPS, 0.0),
    (3.5, 0.12, 11.5, 3.1, 1.0),                      # NLR only
    (2.0, 0.13, 11.6, 0.0, 2.0),                      # CRP + IL-12 -> PBIS-high (>= 2)
    (9.9, 0.0, 0.0, 3.2, 2.0),                        # NLR + IL-2
    (1.0, 5.0, 0.0, 0.0, 1.0),                        # CRP only
])
def test_pbis_points_at_boundaries(nlr, crp, il12, il2, points):
    assert scores.pbis(nlr, crp, il12, il2, cutoffs=PAPER) == points


def test_pbis_high_and_overrides_and_missing():
    pts = scores.pbis(np.array([4.0, 4.0, 1.0]), np.array([0.2, 0.1, np.nan]),
                      np.array([0.0, 0.0, 20.0]), np.array([0.0, 0.0, 5.0]), cutoffs=PAPER)
    # row 0: NLR + CRP = 2; row 1: NLR only = 1; row 2: CRP missing -> NaN
    assert pts[:2].tolist() == [2.0, 1.0] and np.isnan(pts[2])
    high = scores.pbis_high(pts, 2)
    assert high[:2].tolist() == [1.0, 0.0] and np.isnan(high[2])
    # overriding the CRP cut-off to 0.1: row 1 now has NLR + CRP = 2
    assert scores.pbis(4.0, 0.1, 0.0, 0.0, cutoffs=dict(PAPER, crp_mg_dl=0.1)) == 2.0
    with pytest.raises(ValueError, match="unknown key"):
        scores.pbis(4.0, 0.1, 0.0, 0.0, cutoffs=dict(PAPER, crp=0.1))


def test_pbis_series_in_series_out():
    idx = ["a", "b"]
    out = scores.pbis(pd.Series([4.0, 1.0], index=idx), pd.Series([0.2, 0.0], index=idx),
                      pd.Series([12.0, 0.0], index=idx), pd.Series([0.0, 0.0], index=idx), cutoffs=PAPER)
    assert isinstance(out, pd.Series) and list(out.index) == idx and out.tolist() == [3.0, 0.0]


# ---------------------------------------------------------------- units
def test_unit_converters_round_trip():
    assert scores.bilirubin_mg_dl_to_umol_l(1.0) == pytest.approx(17.1)
    assert scores.bilirubin_umol_l_to_mg_dl(34.2) == pytest.approx(2.0)
    assert scores.albumin_g_dl_to_g_l(3.5) == pytest.approx(35.0)
    assert scores.albumin_g_l_to_g_dl(35.0) == pytest.approx(3.5)
    assert scores.crp_mg_l_to_mg_dl(10.0) == pytest.approx(1.0)  # CRAFITY's 1 mg/dL = 10 mg/L
    assert scores.crp_mg_dl_to_mg_l(0.13) == pytest.approx(1.3)
    s = scores.bilirubin_mg_dl_to_umol_l(pd.Series([1.0, np.nan], name="bili"))
    assert s.name == "bilirubin_umol_l" and s.iloc[0] == pytest.approx(17.1) and np.isnan(s.iloc[1])


def test_non_numeric_input_is_a_clear_error():
    with pytest.raises(ValueError, match="crp_mg_dl: expected numbers"):
        scores.crafity(pd.Series(["high", "1.0"]), pd.Series([1.0, 2.0]))
