"""helpers.claims: the Ate/Bev Fig. 3 claims are judged on the rows the multivariable chapter
records (``reproduce(df, params, "figure3")``), never on a second fit of the same models."""
import pandas as pd
import pytest

from helpers import claims
from helpers.studies import atebev_il6

MV_CLAIMS = ["atebev_mv_pfs_il6_most_significant", "atebev_mv_os_il6_most_significant"]


@pytest.fixture(scope="module")
def shipped():
    params = atebev_il6.Params()
    df = atebev_il6.load(None, params)
    recorded = atebev_il6.reproduce(df, params, "figure3").assign(study="atebev_il6")
    return df, recorded[["study", "key", "estimate", "p"]]


def _judge(*frames):
    card = claims.judge(claims.load(study="atebev_il6"), pd.concat(frames, ignore_index=True))
    return card.set_index("id")


def test_multivariable_claims_read_the_recorded_rows(shipped):
    df, recorded = shipped
    card = _judge(recorded, claims.evidence("atebev_il6", df))
    assert (card.loc[MV_CLAIMS, "verdict"] != "not computed").all()
    # the shipped cohort: IL-6 is not the smallest p (mvi for PFS, Child-Pugh B for OS)
    assert card.loc[MV_CLAIMS[0], "evidence"].startswith("il6_high ranks 3 of 8 by p; smallest: mvi")
    assert card.loc[MV_CLAIMS[1], "evidence"].startswith("il6_high ranks 2 of 8 by p; smallest: child_pugh_b")
    # a recorded row changed is what the claim sees
    changed = recorded.copy()
    changed.loc[changed["key"] == "total_pfs_hr_il6_high_multivariable", "p"] = 1e-12
    card = _judge(changed, claims.evidence("atebev_il6", df))
    assert card.loc[MV_CLAIMS[0], "verdict"] == "exact"
    assert card.loc[MV_CLAIMS[0], "evidence"].startswith("il6_high ranks 1 of 8")


def test_without_the_recorded_rows_the_multivariable_claims_are_not_computed(shipped):
    df, _ = shipped
    card = _judge(claims.evidence("atebev_il6", df))
    assert (card.loc[MV_CLAIMS, "verdict"] == "not computed").all()
    assert "total_pfs_hr_il6_high_multivariable" in card.loc[MV_CLAIMS[0], "note"]
    assert card.loc["atebev_il6_higher_child_pugh_b7", "verdict"] == "exact"


def test_claim_evidence_fits_no_model(shipped, monkeypatch):
    """One place fits Fig. 3 (the chapter, through reproduce): evidence() fits nothing."""
    from helpers import survival

    def refuse(*args, **kwargs):
        raise AssertionError("claims.evidence refitted a Cox model")

    monkeypatch.setattr(atebev_il6, "multivariable", refuse)
    monkeypatch.setattr(survival, "cox", refuse)
    df, _ = shipped
    ev = claims.evidence("atebev_il6", df)
    assert ev["key"].tolist() == ["il6_by_child_pugh:b7_minus_a"]
