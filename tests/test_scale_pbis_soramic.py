"""Large cohorts (issue 17): the PBIS and SORAMIC steps that grew faster than n log n.

Each fast version is checked against the plain definition it replaced (a quadratic scan or
an all-pairs count, kept here as the reference), on data with ties, so a change of result
fails here; and the size effects that crashed a 165,000-patient run are checked at the
smallest n that shows them.
"""
import time

import numpy as np
import pandas as pd
import pytest

from helpers import matching


# --------------------------------------------------------------------------- matching
def _scan_pairs(dist, treat, caliper, m_order="largest", defect=False):
    """The matching loop as it was (linear scans over used controls; O(n^2) at worst): the
    reference the union-find version must equal pair for pair."""
    cal = None if caliper is None else caliper * float(np.std(dist, ddof=1))
    order_all = np.argsort(dist, kind="stable")
    pos_of = np.empty(len(dist), dtype=int)
    pos_of[order_all] = np.arange(len(dist))
    sd, st = dist[order_all], treat[order_all]
    available = st == 0
    tr = np.flatnonzero(treat == 1)
    seq = {"largest": tr[np.argsort(-dist[tr], kind="stable")],
           "smallest": tr[np.argsort(dist[tr], kind="stable")], "data": tr}[m_order]
    pairs = []
    for row in seq:
        ii = pos_of[row]
        left = ii - 1
        while left >= 0 and not available[left]:
            left -= 1
        right = ii + 1
        while right < len(sd) and not available[right]:
            right += 1
        dl = abs(sd[left] - sd[ii]) if left >= 0 else np.inf
        dr = abs(sd[right] - sd[ii]) if right < len(sd) else np.inf
        if defect:
            dl = 0.0 if left >= 0 else np.inf
            dr = 0.0 if right < len(sd) else np.inf
        elif cal is not None:
            dl = np.inf if dl > cal else dl
            dr = np.inf if dr > cal else dr
        if not np.isfinite(dl) and not np.isfinite(dr):
            continue
        k = left if dl <= dr else right
        available[k] = False
        pairs.append((int(row), int(order_all[k])))
    return pairs


def _fast_pairs(dist, treat, caliper, m_order="largest", defect=False):
    df = pd.DataFrame({"treat": treat, "d": dist})
    m = matching.match_nearest(df, "treat", [], distance="d", caliper=caliper, m_order=m_order,
                               matchit_451_defect=defect)
    pp = matching.matched_pairs(m, "treat")
    return list(zip(pp["treated"].astype(int), pp["control"].astype(int)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("caliper, m_order, defect", [(0.2, "largest", False), (None, "largest", False),
                                                      (0.05, "smallest", False), (0.2, "data", False),
                                                      (0.2, "largest", True)])
def test_union_find_matching_equals_the_scan(seed, caliper, m_order, defect):
    """Same pairs, in the same order, as the linear scan; scores rounded to 2 decimals so many
    are tied (the tie rules: lower wins an equal distance; equal scores in sort order), treated
    share 30-70 % (runs of used controls and of treated units on both sides)."""
    rng = np.random.default_rng(seed)
    n = 400
    treat = (rng.random(n) < rng.uniform(0.3, 0.7)).astype(int)
    dist = np.round(np.clip(rng.normal(0.4 + 0.2 * treat, 0.15), 0.01, 0.99), 2)
    assert _fast_pairs(dist, treat, caliper, m_order, defect) == _scan_pairs(dist, treat, caliper, m_order, defect)


def test_matching_is_not_quadratic():
    """40,000 units with treated scores above the controls' (every treated unit passes over the
    controls used before it: the scan's worst case, over 4 minutes here) match in well under 3 s."""
    n = 40_000
    treat = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    dist = np.r_[np.linspace(0.01, 0.5, n // 2), np.linspace(0.5, 0.99, n // 2)]
    t0 = time.perf_counter()
    pairs = _fast_pairs(dist, treat, None)
    assert time.perf_counter() - t0 < 3.0
    assert len(pairs) == n // 2
