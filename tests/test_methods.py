"""Reproduction tests that see the method: ties, CI level and covariate set.

The published-number tests (``tests/test_study_*.py``) compare against the paper, whose
tolerance (same direction, inside a wide CI) cannot see a wrong method: Breslow ties, a 90%
CI or a model missing a covariate all pass them. Here each study's multivariable Cox model, as
its ``reproduce`` records it and as its fitting function returns it, is compared term by term
with R ``coxph`` (Efron ties, Wald 95% CI) on the shipped synthetic cohort, and the covariate
set is compared with the one the paper names. The last tests apply each of the three
mutations and check that the checks fail (a test that cannot fail is a defect).

R 4.2.2 Patched (2022-11-10), survival 3.5.3, on the study's ``load()`` of the shipped cohort written to CSV
(columns as named below)::

    library(survival)
    a <- read.csv("atebev_mv.csv")        # atebev_il6.load(); cohort "total"
    a$age_decades <- a$age_years / 10     # the study's AGE_UNIT_YEARS: age per 10 years
    coxph(Surv(pfs_months, pfs_event) ~ age_decades + male + ecog + child_pugh_b + afp_ge400 +
          mvi + extrahepatic_spread + il6_high, data = a)          # and os_months, os_event
    s <- read.csv("soramic_os.csv")       # soramic.endpoint_data(load(), "os")
    coxph(Surv(os_months, os_event) ~ il6_high + il8_high + cirrhosis + child_pugh_b +
          albumin_low + bilirubin_high, data = s)
    p <- read.csv("pbis_os.csv")          # pbis.cohort(load(), "derivation")
    coxph(Surv(os_months, os_event) ~ pbis_high + ecog + child_pugh_score + log10_afp +
          tumor_size_cm, data = p)

R's ``summary(fit)``: exp(coef), lower .95, upper .95, Pr(>|z|), printed to 6 decimals below.
"""
import functools

import pytest

from helpers import survival
from helpers.studies import atebev_il6, pbis, soramic

#: term -> (HR, lower 95%, upper 95%, p) from R (module docstring).
R_ATEBEV = {
    "pfs": {"age_years": (1.046555, 0.873287, 1.254200, 0.622187),      # per 10 years
            "male": (1.239572, 0.768339, 1.999820, 0.378816),
            "ecog": (1.437246, 0.952110, 2.169576, 0.084276),
            "child_pugh_b": (2.025809, 1.126222, 3.643955, 0.018434),
            "afp_ge400": (1.549405, 1.016332, 2.362080, 0.041825),
            "mvi": (2.031796, 1.321344, 3.124239, 0.001241),
            "extrahepatic_spread": (1.159072, 0.760570, 1.766370, 0.492244),
            "il6_high": (1.847461, 1.094051, 3.119703, 0.021663)},
    "os": {"age_years": (1.113797, 0.769870, 1.611367, 0.567340),       # per 10 years
           "male": (1.524176, 0.648676, 3.581317, 0.333573),
           "ecog": (1.941250, 0.702964, 5.360800, 0.200577),
           "child_pugh_b": (15.122393, 6.610484, 34.594556, None),
           "afp_ge400": (1.943308, 0.953056, 3.962460, 0.067595),
           "mvi": (1.284130, 0.599619, 2.750064, 0.519816),
           "extrahepatic_spread": (1.718087, 0.664320, 4.443374, 0.264274),
           "il6_high": (2.894845, 1.401907, 5.977663, 0.004064)},
}
R_SORAMIC_OS_M1 = {"il6_high": (2.114256, 1.228490, 3.638678, 0.006875),
                   "il8_high": (1.320432, 0.805703, 2.163999, 0.270107),
                   "cirrhosis": (2.292930, 1.069388, 4.916389, 0.032978),
                   "child_pugh_b": (2.228964, 0.870334, 5.708473, 0.094816),
                   "albumin_low": (1.144373, 0.615665, 2.127115, 0.669833),
                   "bilirubin_high": (1.017483, 0.584772, 1.770383, 0.951096)}
R_PBIS_OS = {"pbis_high": (3.564755, 2.108479, 6.026846, 0.000002),
             "ecog": (1.446320, 0.859034, 2.435109, 0.165040),
             "child_pugh_score": (1.234838, 0.905935, 1.683149, 0.181931),
             "log10_afp": (1.846782, 1.328195, 2.567848, 0.000265),
             "tumor_size_cm": (0.973596, 0.893385, 1.061010, 0.541876)}

#: The covariates each paper names for its model (typed from the papers, not from the code).
#: Ate/Bev Results: "age, sex, ECOG performance status, Child-Pugh class, AFP levels,
#: macrovascular invasion (MVI), and extrahepatic metastasis" plus IL-6.
PAPER_ATEBEV = {"age_years", "male", "ecog", "child_pugh_b", "afp_ge400", "mvi",
                "extrahepatic_spread", "il6_high"}
#: SORAMIC Table 2, Model 1: IL-6, IL-8, cirrhosis, Child-Pugh B, albumin, bilirubin.
PAPER_SORAMIC_M1 = {"il6_high", "il8_high", "cirrhosis", "child_pugh_b", "albumin_low", "bilirubin_high"}
#: PBIS Table 3, OS: "AFP, ECOG performance status, Child-Pugh score, and intrahepatic tumor
#: size, PBIShi".
PAPER_PBIS_OS = {"pbis_high", "ecog", "child_pugh_score", "log10_afp", "tumor_size_cm"}

REL = 2e-5   # R printed 6 decimals; helpers.survival matches coxph to about 1e-6


def _close(got, want, what):
    assert got == pytest.approx(want, rel=REL, abs=2e-6), f"{what}: {got} vs R {want}"


def _check_table(table, expected, paper_terms, name, hr="hr"):
    terms = set(table["term"])
    assert terms == paper_terms, f"{name}: model terms {sorted(terms)} vs the paper's {sorted(paper_terms)}"
    rows = table.set_index("term")
    for term, (h, lo, up, p) in expected.items():
        _close(rows.loc[term, hr], h, f"{name} {term} HR")
        _close(rows.loc[term, "lower"], lo, f"{name} {term} lower 95%")
        _close(rows.loc[term, "upper"], up, f"{name} {term} upper 95%")
        if p is not None:
            assert rows.loc[term, "p"] == pytest.approx(p, abs=2e-6), f"{name} {term} p"


def _row(rows, key):
    hit = rows[rows["key"] == key]
    assert len(hit) == 1, f"{key} not recorded"
    return hit.iloc[0]


def _check_recorded(row, expected, name):
    h, lo, up, p = expected
    _close(row["estimate"], h, f"{name} HR")
    _close(row["lower"], lo, f"{name} lower 95%")
    _close(row["upper"], up, f"{name} upper 95%")
    assert row["p"] == pytest.approx(p, abs=2e-6), f"{name} p"


@pytest.fixture(scope="module")
def cohorts():
    return {"atebev_il6": atebev_il6.load(None, atebev_il6.Params()),
            "soramic": soramic.load(None, soramic.Params()),
            "pbis": pbis.load(None, pbis.Params())}


def check_atebev(df):
    assert atebev_il6.AGE_UNIT_YEARS == 10, "the R reference is age per 10 years"
    for ep in ("pfs", "os"):
        _check_table(atebev_il6.multivariable(df, ep).table, R_ATEBEV[ep], PAPER_ATEBEV, f"Ate/Bev {ep}")
        row = _row(atebev_il6.reproduce(df, None, "figure3"), f"total_{ep}_hr_il6_high_multivariable")
        _check_recorded(row, R_ATEBEV[ep]["il6_high"], f"Ate/Bev recorded {ep} IL-6")


def check_soramic(df):
    table = soramic.multivariable(df, "os", "m1")
    _check_table(table, R_SORAMIC_OS_M1, PAPER_SORAMIC_M1, "SORAMIC OS Model 1")
    rows = soramic.reproduce(df, None, "survival")
    for term in R_SORAMIC_OS_M1:
        _check_recorded(_row(rows, f"soramic_os_hr_{term}_m1"), R_SORAMIC_OS_M1[term], f"SORAMIC recorded {term}")


def check_pbis(df):
    deriv = pbis.cohort(df, "derivation")
    table = pbis.multivariable(deriv, "os", "pbis_high", pbis.ADJUST["os"])
    _check_table(table, R_PBIS_OS, PAPER_PBIS_OS, "PBIS OS", hr="estimate")
    row = _row(pbis.reproduce(df, None, "multivariable"), "derivation_os_hr_mv_pbis_high")
    _check_recorded(row, R_PBIS_OS["pbis_high"], "PBIS recorded PBIShi")


CHECKS = {"atebev_il6": check_atebev, "soramic": check_soramic, "pbis": check_pbis}


@pytest.mark.parametrize("study", list(CHECKS))
def test_multivariable_cox_matches_r_efron_95_with_the_papers_covariates(study, cohorts):
    CHECKS[study](cohorts[study])


def test_the_shipped_cohorts_have_tied_event_times(cohorts):
    """Without tied event times Breslow and Efron agree and the ties check would be blind."""
    df = atebev_il6.cohort_subset(cohorts["atebev_il6"], "total")
    assert df.loc[df["pfs_event"] == 1, "pfs_months"].duplicated().sum() >= 5
    d = soramic.endpoint_data(cohorts["soramic"], "os")
    assert d.loc[d["os_event"] == 1, "os_months"].duplicated().sum() >= 1
    d = pbis.cohort(cohorts["pbis"], "derivation")
    assert d.loc[d["os_event"] == 1, "os_months"].duplicated().sum() >= 1


# --- the mutations the issue names: each must make the checks fail ---------------------------

def _breslow(monkeypatch):
    monkeypatch.setattr(survival, "cox", functools.partial(survival.cox, ties="breslow"))


def _ci90(monkeypatch):
    monkeypatch.setattr(survival, "Z95", 1.6448536269514722)      # qnorm(0.95): a 90% CI


def _drop_covariate(monkeypatch):
    monkeypatch.setattr(atebev_il6, "MV_COVARIATES",
                        {k: v for k, v in atebev_il6.MV_COVARIATES.items() if k != "mvi"})
    monkeypatch.setitem(soramic.MODELS, ("os", "m1"),
                        [t for t in soramic.MODELS[("os", "m1")] if t != "cirrhosis"])
    monkeypatch.setitem(pbis.ADJUST, "os", [t for t in pbis.ADJUST["os"] if t != "ecog"])


MUTATIONS = {"breslow ties": _breslow, "90% CI": _ci90, "one covariate dropped": _drop_covariate}


@pytest.mark.parametrize("study", list(CHECKS))
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_each_mutation_makes_the_check_fail(study, mutation, cohorts, monkeypatch):
    MUTATIONS[mutation](monkeypatch)
    with pytest.raises(AssertionError):
        CHECKS[study](cohorts[study])
