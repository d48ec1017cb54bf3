"""Tests for the synthesis machinery (helpers.synth.common) and the shipped synthetic files.

Reference values: R 4.2.2 (``tests/fixtures/synth/make_*.R``) or textbook identities.
"""
from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import paths
from helpers.synth import common

FIXTURES = paths.FIXTURES / "synth"


# --------------------------------------------------------------------------- rng
def test_rng_is_pcg64_and_reproducible():
    a, b = common.rng(20231), common.rng(20231)
    assert isinstance(a.bit_generator, np.random.PCG64)
    assert np.array_equal(a.uniform(size=5), b.uniform(size=5))
    assert not np.array_equal(common.rng(1).uniform(size=5), common.rng(2).uniform(size=5))


def test_rng_requires_a_seed():
    with pytest.raises(ValueError, match="seed"):
        common.rng(None)


# --------------------------------------------------------------------------- ipf
def _r_ipf_fit():
    lines = (FIXTURES / "ipf.txt").read_text().splitlines()
    vals = [float(v) for v in lines[2:]]
    return np.array(vals).reshape((2, 3, 2), order="F")  # R arrays are column-major


def test_ipf_matches_r_loglin_three_way():
    """R: loglin(obs, list(c(1,2), c(1,3), c(2,3)), start = seed, fit = TRUE)$fit
    (tests/fixtures/synth/make_ipf.R; printed with 12 significant digits)."""
    seed = np.array([1, 2, 3, 4, 5, 6, 2, 1, 1, 3, 2, 2], dtype=float).reshape((2, 3, 2), order="F")
    obs = np.array([6, 14, 13, 9, 6, 7, 4, 6, 7, 5, 4, 3], dtype=float).reshape((2, 3, 2), order="F")
    margins = [((0, 1), obs.sum(2)), ((0, 2), obs.sum(1)), ((1, 2), obs.sum(0))]
    fit = common.ipf(seed, margins, tol=1e-12)
    np.testing.assert_allclose(fit, _r_ipf_fit(), rtol=0, atol=5e-10)


def test_ipf_two_way_independence_is_outer_product():
    """Textbook: from a uniform seed, IPF to row and column totals gives r_i c_j / N."""
    rows, cols = np.array([40.0, 44.0]), np.array([30.0, 34.0, 20.0])
    fit = common.ipf(np.ones((2, 3)), [((0,), rows), ((1,), cols)])
    np.testing.assert_allclose(fit, np.outer(rows, cols) / 84, rtol=0, atol=1e-9)


def test_ipf_keeps_structural_zeros_and_odds_ratio():
    seed = np.array([[2.0, 1.0], [1.0, 4.0]])
    fit = common.ipf(seed, [((0,), [30, 70]), ((1,), [50, 50])])
    odds = lambda t: t[0, 0] * t[1, 1] / (t[0, 1] * t[1, 0])  # noqa: E731
    assert odds(fit) == pytest.approx(odds(seed), rel=1e-9)
    fit0 = common.ipf([[0.0, 1.0], [1.0, 1.0]], [((0,), [5, 5]), ((1,), [4, 6])])
    assert fit0[0, 0] == 0


def test_ipf_refuses_inconsistent_margins():
    with pytest.raises(ValueError, match="disagree in their totals"):
        common.ipf(np.ones((2, 2)), [((0,), [10, 10]), ((1,), [10, 11])])


def test_ipf_refuses_wrong_shape_and_reports_non_convergence():
    with pytest.raises(ValueError, match="shape"):
        common.ipf(np.ones((2, 2)), [((0,), [1, 2, 3])])
    with pytest.raises(ValueError, match="did not converge"):
        # a positive target on a row of structural zeros cannot be reached
        common.ipf([[0.0, 0.0], [1.0, 1.0]], [((0,), [5, 5]), ((1,), [5, 5])], max_iter=50)


# --------------------------------------------------------------------------- integerize
def test_integerize_keeps_margins_and_rounds_each_cell_to_a_neighbour():
    margins = [((0, 1), [[10, 20, 10], [20, 14, 10]]), ((0, 2), [[25, 15], [30, 14]]),
               ((1, 2), [[20, 10], [22, 12], [13, 7]])]
    fit = common.ipf(np.ones((2, 3, 2)), margins)
    out = common.integerize(fit, margins)
    assert out.dtype == np.int64
    for axes, target in margins:
        other = tuple(i for i in range(3) if i not in axes)
        assert np.array_equal(out.sum(axis=other), np.asarray(target))
    assert np.all((out == np.floor(fit)) | (out == np.ceil(fit)))


def test_integerize_two_way_is_closest_controlled_rounding():
    """Independence table 40/44 x 30/34/20 (cells r_i c_j / 84); the closest rounding with
    these margins, found by hand: [[14, 16, 10], [16, 18, 10]] (total change 1.9048)."""
    margins = [((0,), [40, 44]), ((1,), [30, 34, 20])]
    out = common.integerize(common.ipf(np.ones((2, 3)), margins), margins)
    assert out.tolist() == [[14, 16, 10], [16, 18, 10]]


def test_integerize_refuses_non_integer_or_inconsistent_margins():
    t = np.full((2, 2), 2.5)
    with pytest.raises(ValueError, match="non-integer"):
        common.integerize(t, [((0,), [5.5, 4.5])])
    with pytest.raises(ValueError, match="disagree"):
        common.integerize(t, [((0,), [5, 5]), ((1,), [5, 6])])
    with pytest.raises(ValueError, match="too far"):
        common.integerize(np.ones((2, 2)), [((0,), [10, 10])])


# --------------------------------------------------------------------------- quantiles
def test_quantile7_matches_r_default():
    """R: quantile(c(3.1, 0.2, 7, 1.5, 2.25, 9.75, 4, 11), c(.25, .5, .75))
    -> 2.0625 3.5500 7.6875"""
    x = [3.1, 0.2, 7, 1.5, 2.25, 9.75, 4, 11]
    np.testing.assert_allclose(common.quantile7(x, [0.25, 0.5, 0.75]), [2.0625, 3.55, 7.6875],
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [21, 54, 81, 83, 84, 116, 165, 10, 11, 12, 13])
@pytest.mark.parametrize("decimals", [None, 1, 2])
def test_sample_with_quantiles_hits_printed_quartiles(n, decimals):
    r = common.rng(n)
    x = common.sample_with_quantiles(r, n, 5.2, 10.4, 25.1, decimals=decimals)
    assert x.shape == (n,)
    np.testing.assert_allclose(common.quantile7(x, [0.25, 0.5, 0.75]), [5.2, 10.4, 25.1],
                               rtol=0, atol=1e-9)
    assert x.min() >= 0
    if decimals is not None:
        np.testing.assert_allclose(x, np.round(x, decimals), rtol=0, atol=1e-9)


@pytest.mark.parametrize("n", [81, 82, 83, 84])
def test_sample_with_quantiles_q1_on_the_lower_bound(n):
    """A printed IQR of 0.0-9.4 (a quarter of the cohort at 0: below detection)."""
    x = common.sample_with_quantiles(common.rng(n), n, 0.0, 2.32, 9.4, decimals=2)
    np.testing.assert_allclose(common.quantile7(x, [0.25, 0.5, 0.75]), [0.0, 2.32, 9.4], atol=1e-9)
    assert x.min() == 0.0 and int(np.sum(x == 0)) >= (n - 1) // 4


def test_sample_with_quantiles_linear_scale_bounds_and_spread():
    r = common.rng(7)
    x = common.sample_with_quantiles(r, 200, 3.0, 3.4, 3.9, low=2.0, high=5.5, log=False)
    assert x.min() >= 2.0 and x.max() <= 5.5
    np.testing.assert_allclose(common.quantile7(x, [0.25, 0.5, 0.75]), [3.0, 3.4, 3.9], atol=1e-9)
    assert len(np.unique(x)) == 200  # continuous: no ties without rounding


def test_sample_with_quantiles_is_shuffled_and_deterministic():
    a = common.sample_with_quantiles(common.rng(3), 50, 1, 2, 4)
    b = common.sample_with_quantiles(common.rng(3), 50, 1, 2, 4)
    assert np.array_equal(a, b)
    assert not np.all(np.diff(a) >= 0)


def test_sample_with_quantiles_refuses_bad_input():
    with pytest.raises(ValueError, match="q1 <= median <= q3"):
        common.sample_with_quantiles(common.rng(1), 50, 5, 4, 6)
    with pytest.raises(ValueError, match="n >= 4"):
        common.sample_with_quantiles(common.rng(1), 3, 1, 2, 3)
    with pytest.raises(ValueError, match="below the lower bound"):
        common.sample_with_quantiles(common.rng(1), 30, -1, 2, 3, low=0)


def test_sample_with_mean_sd_exact_and_bounded():
    r = common.rng(11)
    x = common.sample_with_mean_sd(r, 60, 3.2, 0.5, low=2.5)
    assert x.mean() == pytest.approx(3.2, abs=1e-9)
    assert x.std(ddof=1) == pytest.approx(0.5, abs=1e-9)
    assert x.min() >= 2.5
    with pytest.raises(ValueError, match="cannot have"):
        common.sample_with_mean_sd(common.rng(1), 10, 1.0, 5.0, low=0.9, high=1.1)


def test_set_share_above_lifts_without_moving_quartiles():
    x = common.sample_with_quantiles(common.rng(5), 84, 5.2, 10.4, 25.1, decimals=2)
    before = common.quantile7(x, [0.25, 0.5, 0.75])
    for k in (22, 25, 30):  # the >= 18.49 count lies between the q3 order statistics' side
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = common.set_share_above(x, 18.49, k, decimals=2)
        assert int(np.sum(y >= 18.49)) == k
        np.testing.assert_allclose(common.quantile7(y, [0.25, 0.5, 0.75]), before, atol=1e-9)
        # ranks are kept: the order of patients does not change
        assert np.all(np.diff(y[np.argsort(x, kind="stable")]) >= 0)
        np.testing.assert_allclose(y, np.round(y, 2), atol=1e-9)


def test_set_share_above_lowers_and_warns_when_quartiles_must_move():
    x = common.sample_with_quantiles(common.rng(5), 84, 5.2, 10.4, 25.1, decimals=2)
    with pytest.warns(UserWarning, match="incompatible with the quartiles"):
        y = common.set_share_above(x, 18.49, 10, decimals=2)
    assert int(np.sum(y >= 18.49)) == 10
    assert np.all(y[y < 18.49] <= 18.48 + 1e-9)


def test_set_share_above_keeps_patient_order():
    x = np.array([1.0, 9.0, 3.0, 7.0, 5.0])
    with pytest.warns(UserWarning, match="now \\[3.0, 6.5, 7.0\\]"):  # 5 is the median
        y = common.set_share_above(x, 6.0, 3)
    assert int(np.sum(y >= 6)) == 3
    assert np.array_equal(np.argsort(x), np.argsort(y))
    assert y[1] == 9.0 and y[3] == 7.0  # untouched
    with pytest.raises(ValueError, match="outside"):
        common.set_share_above(x, 6.0, 6)


# --------------------------------------------------------------------------- survival
def test_weibull_scale_for_median_textbook():
    """S(t) = exp(-lambda t^nu); S(median) = 1/2."""
    lam = common.weibull_scale_for_median(8.0, 1.3)
    assert math.exp(-lam * 8.0 ** 1.3) == pytest.approx(0.5, abs=1e-15)
    with pytest.raises(ValueError):
        common.weibull_scale_for_median(0, 1)


def test_weibull_ph_times_is_bender_inversion():
    """T = (-log U / (lambda exp(lp)))^(1/nu) with the same U stream."""
    lp = np.array([0.0, np.log(2.0), -0.5])
    t = common.weibull_ph_times(common.rng(9), lp, 10.0, 1.5)
    u = common.rng(9).uniform(size=3)
    lam = math.log(2) / 10.0 ** 1.5
    np.testing.assert_allclose(t, (-np.log(u) / (lam * np.exp(lp))) ** (1 / 1.5), rtol=1e-14)


class _FixedUniform:
    """A stand-in generator whose ``uniform`` returns given values (for R fixtures)."""

    def __init__(self, u):
        self.u = np.asarray(u, dtype=float)

    def uniform(self, size=None):
        return self.u.reshape(size) if size is not None else self.u


def test_weibull_ph_times_match_r_qweibull():
    """R: qweibull(u, shape = 1.3, scale = (lambda * exp(lp))^(-1/1.3), lower.tail = FALSE),
    lambda = log(2) / 8.5^1.3 (tests/fixtures/synth/make_weibull.R; 12 significant digits)."""
    rows = [line.split(",") for line in (FIXTURES / "weibull.txt").read_text().splitlines()[2:]]
    u, lp, t_r = (np.array([float(r[k]) for r in rows]) for k in range(3))
    t = common.weibull_ph_times(_FixedUniform(u), lp, 8.5, 1.3)
    np.testing.assert_allclose(t, t_r, rtol=5e-12, atol=0)


def test_weibull_ph_times_median_and_hazard_ratio_large_sample():
    """20,000 patients: reference median within 3 % of 10; Cox HR within 5 % of 2."""
    from lifelines import CoxPHFitter

    r = common.rng(2005)
    group = np.repeat([0, 1], 10_000)
    t = common.weibull_ph_times(r, np.log(2.0) * group, 10.0, 0.8)
    assert np.median(t[group == 0]) == pytest.approx(10.0, rel=0.03)
    df = pd.DataFrame({"t": t, "e": 1, "g": group})
    hr = float(np.exp(CoxPHFitter().fit(df, "t", "e").params_["g"]))
    assert hr == pytest.approx(2.0, rel=0.05)


def test_censor_for_events_exact_count_and_consistency():
    r = common.rng(42)
    t = common.weibull_ph_times(r, np.zeros(83), 12.0, 1.1)
    for k in (20, 45, 60):
        time, event = common.censor_for_events(common.rng(k), t, k, max_follow_up=40, accrual=24)
        assert event.dtype == np.int64 and int(event.sum()) == k
        assert np.array_equal(time[event == 1], t[event == 1])  # events keep their time
        assert np.all(time[event == 0] < t[event == 0])  # censored before the event
        assert time.max() <= 40


def test_censor_for_events_no_censoring_needed_and_too_few_events():
    t = np.array([1.0, 2.0, 3.0])
    time, event = common.censor_for_events(common.rng(1), t, 3)
    assert event.tolist() == [1, 1, 1] and time.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="only 1 events"):
        common.censor_for_events(common.rng(1), t, 2, max_follow_up=1.5)


# --------------------------------------------------------------------------- calibration
def test_first_accepted_is_deterministic_and_first():
    draws = lambda r: float(r.uniform())  # noqa: E731
    k, x = common.first_accepted(17, draws, lambda v: v > 0.9)
    assert x > 0.9
    assert all(draws(common.candidate_rng(17, j)) <= 0.9 for j in range(k))
    assert common.first_accepted(17, draws, lambda v: v > 0.9) == (k, x)
    assert common.candidate_rng(17, 0).uniform() != common.candidate_rng(17, 1).uniform()
    with pytest.raises(ValueError, match="none of 5"):
        common.first_accepted(17, draws, lambda v: v > 2, max_candidates=5)


# --------------------------------------------------------------------------- files
def test_write_csv_is_deterministic(tmp_path):
    df = pd.DataFrame({"patient_id": ["P1", "P2"], "x": [0.1 + 0.2, 1.0], "flag": [True, False]})
    p = common.write_csv(df, tmp_path / "sub" / "a.csv", columns=["flag", "patient_id", "x"])
    assert p.read_bytes() == b"flag,patient_id,x\n1,P1,0.3\n0,P2,1\n"
    assert common.csv_bytes(df, columns=["flag", "patient_id", "x"]) == p.read_bytes()
    assert not list((tmp_path / "sub").glob("*.tmp"))
    with pytest.raises(ValueError, match="not in the table"):
        common.csv_bytes(df, columns=["nope"])


# --------------------------------------------------------------------------- shipped files
def _study_modules():
    mods = []
    for study in paths.STUDIES:
        try:
            mods.append(pytest.param(importlib.import_module(f"helpers.synth.{study}"), id=study))
        except ModuleNotFoundError as exc:
            if exc.name != f"helpers.synth.{study}":
                raise
            mods.append(pytest.param(None, id=study, marks=pytest.mark.skip(
                reason=f"helpers/synth/{study}.py not written yet")))
    return mods


@pytest.mark.slow
@pytest.mark.parametrize("module", _study_modules())
def test_regeneration_is_byte_identical_to_shipped_files(module, tmp_path):
    from helpers import synth

    written = synth.write_study(module, tmp_path)
    assert written, f"{module.__name__}.generate returned no tables"
    for path in written:
        shipped = paths.SYNTHETIC / path.name
        assert shipped.exists(), f"{shipped} is not shipped: run python -m helpers synthesize"
        assert path.read_bytes() == shipped.read_bytes(), (
            f"{path.name}: regenerated bytes differ from the shipped file"
        )


# --------------------------------------------------------------------------- synthesize command
class _FakeStudy:
    """A stand-in study module: ``generate(seed)`` -> one small table."""

    def __init__(self, study, seed=7):
        self.__name__ = f"helpers.synth.{study}"
        self.SEED = seed
        self.study = study

    def generate(self, seed):
        r = common.rng(seed)
        return {f"{self.study}_cohort": pd.DataFrame({"patient_id": ["P1", "P2"],
                                                      "x": r.uniform(size=2)})}


def test_synthesize_writes_checks_and_reports_stale_files(tmp_path, monkeypatch, capsys):
    from helpers import synth

    fakes = {"atebev_il6": _FakeStudy("atebev_il6"), "pbis": None, "soramic": _FakeStudy("soramic")}
    monkeypatch.setattr(synth, "study_module", lambda study: fakes[study])
    monkeypatch.setattr(paths, "SYNTHETIC", tmp_path)
    monkeypatch.setattr(paths, "ROOT", tmp_path.parent)

    assert synth.main(check=True) == 1  # nothing written yet
    out = capsys.readouterr().out
    assert "atebev_il6_cohort.csv (missing)" in out and "pbis: no helpers/synth/pbis.py yet, skipped" in out

    assert synth.main() == 0
    first = (tmp_path / "soramic_cohort.csv").read_bytes()
    assert synth.main(check=True) == 0 and "up to date" in capsys.readouterr().out

    (tmp_path / "soramic_cohort.csv").write_bytes(first.replace(b"P2", b"P9"))
    assert synth.main(check=True) == 1
    assert "soramic_cohort.csv (differs)" in capsys.readouterr().out
    assert (tmp_path / "soramic_cohort.csv").read_bytes() != first  # --check never writes
    assert synth.main() == 0 and (tmp_path / "soramic_cohort.csv").read_bytes() == first


def test_generate_study_refuses_bad_modules():
    from helpers import synth

    bad = _FakeStudy("pbis")
    bad.generate = lambda seed: {"../escape": pd.DataFrame()}
    with pytest.raises(ValueError, match="bare file stem"):
        synth.generate_study(bad)
    bad.generate = lambda seed: []
    with pytest.raises(ValueError, match="non-empty dict"):
        synth.generate_study(bad)
    bad.SEED = None
    with pytest.raises(ValueError, match="defines no SEED"):
        synth.generate_study(bad)
