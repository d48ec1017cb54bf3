"""helpers.regression.logistic against R 4.2.2 ``glm(family = binomial)``.

Reference values: ``tests/fixtures/regression/expected_logistic.json`` written by
``make_fixtures.R`` beside it (``glm.control(epsilon = 1e-14)``; 15 significant digits;
R's printed summary in ``R_output.txt``). Data: ``response.csv`` (``export_data.py``,
seed 20232). Both fits are IRLS converged far beyond the compared digits, so estimates
must agree to 1e-7 relative.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers import paths
from helpers.regression import LOGISTIC_COLUMNS, design_matrix, logistic

FIX = paths.FIXTURES / "regression"
TOL = dict(rtol=1e-7, atol=1e-10)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIX / "response.csv")


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((FIX / "expected_logistic.json").read_text())


RENAME = {"il6_highTrue": "il6_high", "child_pugh_classB": "child_pugh_class[B]",
          "bclcB": "bclc[B]", "bclcC": "bclc[C]", "bclc_cA": "bclc[A]", "bclc_cB": "bclc[B]"}

CASES = {
    # R formula                                                 our covariates, reference
    "multi": (["il6_high", "child_pugh_class", "bclc", "age", "crp"], None),
    "ref_c": (["il6_high", "bclc"], {"bclc": "C"}),
    "single": (["il6_high"], None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_logistic_matches_glm(case, data, expected):
    """R: summary(glm(response ~ ..., family = binomial)) -> Estimate, Std. Error, z value,
    Pr(>|z|); OR = exp(Estimate), Wald 95% CI exp(Estimate -/+ qnorm(0.975) * SE); nobs."""
    covs, ref = CASES[case]
    exp = expected[case]
    got = logistic(data, "response", covs, reference=ref)
    assert list(got.columns) == LOGISTIC_COLUMNS + ["n"]
    assert list(got["term"]) == [RENAME.get(t, t) for t in exp["term"]]
    for col in ("coef", "se", "or", "lower", "upper", "z", "p"):
        np.testing.assert_allclose(got[col], exp[col], **TOL, err_msg=col)
    assert (got["n"] == exp["n"][0]).all()


def test_missing_rows_dropped(data):
    """5 missing CRP values: R's '(5 observations deleted due to missingness)'."""
    assert logistic(data, "response", ["crp"])["n"].iloc[0] == 115
    assert logistic(data, "response", ["age"])["n"].iloc[0] == 120


def test_outcome_must_be_binary(data):
    bad = data.copy()
    bad.loc[[2, 5], "response"] = 2
    with pytest.raises(ValueError, match=r"column 'response' must be 0/1.*rows 2, 5"):
        logistic(bad, "response", ["age"])


def test_missing_column_named(data):
    with pytest.raises(ValueError, match=r"'orr' not found"):
        logistic(data, "orr", ["age"])


def test_reference_level_must_exist(data):
    with pytest.raises(ValueError, match=r"reference level 'D' for column 'bclc'"):
        logistic(data, "response", ["bclc"], reference={"bclc": "D"})


def test_separation_warns():
    df = pd.DataFrame({"response": [0, 0, 0, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6]})
    with pytest.warns(RuntimeWarning, match="separation"):
        logistic(df, "response", ["x"])


def test_design_matrix_coding(data):
    """Dummy coding as R's model.matrix: one column per non-reference level, bool as 0/1."""
    X, ref = design_matrix(data, ["il6_high", "bclc", "age"], {"bclc": "B"})
    assert list(X.columns) == ["il6_high", "bclc[A]", "bclc[C]", "age"]
    assert ref == {"bclc": "B"}
    assert X["bclc[A]"].sum() == (data["bclc"] == "A").sum()
    assert set(X["il6_high"].unique()) <= {0.0, 1.0}
