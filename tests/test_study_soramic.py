"""The SORAMIC IL-6 / IL-8 study end to end: the shipped synthetic cohort and its generator,
the study's analysis steps against the published numbers, against R, and on a cohort unlike
the shipped one (the re-run command).

R reference values: ``tests/fixtures/soramic/make_fixture.R`` (R 4.2.2, survival 3.5.3,
maxstat 0.7.25; see ``VERSIONS``) on ``tests/fixtures/soramic/rerun_cohort.csv`` (made by
``make_rerun_cohort.py``); R's printed output is ``make_fixture.Rout``, the values are in
``expected.json`` as ``sprintf("%.10g")``.
"""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import contract, maxstat, paths, published, scorecard, scores, studies, survival
from helpers.schemas import soramic as schema
from helpers.studies import soramic as study
from helpers.synth import common
from helpers.synth import soramic as synth

FIX = paths.FIXTURES / "soramic"
EXPECTED = json.loads((FIX / "expected.json").read_text())
RERUN = FIX / "rerun_cohort.csv"

#: Printed HRs the shipped cohort does not reproduce inside the printed CI, and why.
KNOWN_CI_MISSES = {
    "soramic_os_hr_cirrhosis_m1": "estimate inside the CI but p = 0.03 vs printed 0.069: cirrhosis is "
                                  "generated with the printed Model 1 effect (2.33) and the synthetic "
                                  "cohort's smaller confounding with Child-Pugh leaves it significant",
    "soramic_os_hr_cirrhosis_m2": "as Model 1 (printed p 0.053, just above 0.05)",
    "soramic_os_hr_cirrhosis_m2_text": "the Results text's printing of the Model 2 cirrhosis HR",
    "soramic_ld_hr_diffuse_uni": "diffuse disease has no effect in the generator (printed 0.68, CI "
                                 "0.34-1.3, includes 1); its HR is chance, here 1.4",
}
#: Printed medians the shipped cohort does not reproduce at the printed rounding, and why.
KNOWN_ROUNDING_MISSES = {
    "soramic_pfs_median_il8_high": "PFS is capped by OS and 4 progressions are placed at the liver "
                                   "dysfunction after the monotone warp: the IL-8 medians move",
    "soramic_pfs_median_il8_low": "as above",
    "soramic_ld_median_il8_low": "the time that sets this median belongs to a patient whose liver "
                                 "dysfunction is at death: the warp cannot move it past OS",
    "soramic_ldcp_median_il8_high": "follows from the censoring at progression of the moved patients",
    "soramic_ldcp_median_il8_low": "as soramic_ld_median_il8_low",
}


def _num(x):
    return float("nan") if x in (None, "NA") else float(x)


def _estimates(loaded: pd.DataFrame) -> pd.DataFrame:
    """Everything the chapters record (:func:`helpers.studies.soramic.reproduce`, every section,
    the flow chart counted from the screening table :func:`~helpers.studies.soramic.load` read),
    plus the Abstract's count of men (the same number as Table 1's, recorded by no chapter)."""
    est = study.reproduce(loaded)
    male = est.set_index("key").loc["soramic_male_count_all", "estimate"]
    extra = pd.DataFrame([dict(key="soramic_count_male_abstract", estimate=male)])
    return pd.concat([est, extra], ignore_index=True)


def _sections(df: pd.DataFrame, *sections) -> pd.DataFrame:
    return pd.concat([study.reproduce(df, None, s) for s in sections], ignore_index=True)


@pytest.fixture(scope="module")
def cohort():
    return contract.read_cohort("soramic")


@pytest.fixture(scope="module")
def loaded():
    return study.load(None, None)


@pytest.fixture(scope="module")
def verdicts(loaded):
    est = _estimates(loaded).set_index("key")
    pub = published.load("soramic")
    rows = []
    for _, row in pub.iterrows():
        res = est.loc[row["id"]] if row["id"] in est.index else None
        verdict, note = scorecard.judge(row, res)
        rows.append(dict(id=row["id"], tolerance=row["tolerance"], preferred=row["preferred"],
                         verdict=verdict, note=note))
    return pd.DataFrame(rows).set_index("id")


# ----------------------------------------------------------------------------- shipped data
def test_shipped_cohort_and_flow_meet_the_contract():
    assert contract.validate_file("soramic", paths.synthetic_cohort("soramic")).empty
    assert contract.validate_file("soramic", paths.synthetic_lab("soramic", "flow"), dataset="flow").empty


def test_essential_columns_are_enough(cohort):
    """A cohort with only the required columns meets the contract and can be analysed."""
    essentials = cohort[list(schema.REQUIRED)]
    assert contract.validate(essentials, schema.CONTRACTS["cohort"]).empty
    est = _sections(essentials, "groups", "survival").set_index("key")
    assert "soramic_os_hr_il6_high_m1" in est.index
    assert "soramic_os_hr_male_uni" not in est.index          # optional column absent: left out


def test_a_broken_cohort_is_reported_by_file_column_and_row(tmp_path, cohort):
    bad = cohort.copy()
    bad.loc[3, "os_event"] = 2
    bad.loc[5, "pfs_months"] = bad.loc[5, "os_months"] + 5
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    report = contract.validate_file("soramic", path)
    assert {"os_event"} <= set(report["column"])
    text = contract.format_report(report, path)
    assert "bad.csv" in text and "os_event" in text and "pfs" in text


# ----------------------------------------------------------------------------- the study interface
def test_reproduce_gives_the_keys_the_chapters_recorded(loaded):
    """reproduce(load(None)) holds exactly the keys the chapters recorded on the shipped
    cohort before they called it (tests/fixtures/soramic/chapter_keys.txt), once each, every
    row with its provenance."""
    lines = (FIX / "chapter_keys.txt").read_text().splitlines()
    chapter_keys = {k for k in lines if k and not k.startswith("#")}
    got = study.reproduce(loaded)
    assert not got["key"].duplicated().any()
    assert set(got["key"]) == chapter_keys
    assert got["computed_by"].str.match(r"helpers\.studies\.soramic\.reproduce\[\w+\]$").all()
    by_section = pd.concat([study.reproduce(loaded, None, s) for s in study.SECTIONS], ignore_index=True)
    pd.testing.assert_frame_equal(got, by_section)


def test_parameter_defaults_are_the_published_cutoffs():
    assert study.PARAMS.il6_cutoff == published.value("soramic", "soramic_cutoff_il6")
    assert study.PARAMS.il8_cutoff == published.value("soramic", "soramic_cutoff_il8")
    # the preferred printing of the IL-6 cut-off, not the Methods' single other one
    pub = published.load("soramic").set_index("id")
    assert pub.loc["soramic_cutoff_il6", "preferred"] == 1
    assert pub.loc["soramic_cutoff_il6_methods_statistics", "preferred"] == 0
    rows = study.reproduce(study.load(None), None, "cutoffs").set_index("key")
    assert rows.loc["soramic_cutoff_il6", "estimate"] == study.PARAMS.il6_cutoff


def test_other_parameters_change_the_groups_and_reproduce_follows(loaded):
    """A cut-off passed as a parameter moves patients between groups; a loaded cohort is
    re-prepared when reproduce gets other parameters; the progression window 'any' is accepted."""
    params = study.Params(il6_cutoff=20, progression_window_months="any")
    assert params.il6_cutoff == 20.0 and params.window is None
    other = study.load(None, params)
    n_high = (other["il6_pg_ml"] > 20).sum()
    got = study.reproduce(other, None, "groups").set_index("key")
    assert got.loc["soramic_count_il6_high", "estimate"] == n_high
    again = study.reproduce(loaded, params, "groups").set_index("key")
    assert again.loc["soramic_count_il6_high", "estimate"] == n_high
    assert study.reproduce(loaded, None, "groups").set_index("key").loc["soramic_count_il6_high", "estimate"] != n_high
    with pytest.raises(studies.ParamError, match="progression_window_months"):
        study.Params(progression_window_months="never")
    with pytest.raises(studies.ParamError, match="endpoint"):
        study.Params(endpoint="dfs")


def test_reproduce_sections_follow_the_endpoint_parameters(loaded):
    pfs = study.reproduce(loaded, study.Params(endpoint="pfs"), None)
    assert "soramic_pfs_hr_il6_high_m1" in set(pfs["key"]) and "soramic_os_hr_il6_high_m1" not in set(pfs["key"])
    assert pfs["key"].str.startswith("soramic_pfs_median_il6_low").sum() == 1
    cp = study.reproduce(loaded, study.Params(censor_at_progression=True), "ld")
    assert "soramic_ldcp_hr_il6_high_m1" in set(cp["key"]) and not cp["key"].str.startswith("soramic_ld_").any()
    assert study.reproduce(loaded, study.Params(censor_at_progression=True), "ldcp")["key"].tolist() == \
        ["soramic_ld_count_progression_before_ld"]


# ----------------------------------------------------------------------------- published numbers
def test_every_printed_count_is_reproduced_exactly(verdicts):
    exact = verdicts[verdicts["tolerance"] == "exact"]
    wrong = exact[exact["verdict"] != "exact"]
    assert wrong.empty, wrong[["verdict", "note"]].to_string()


def test_printed_hazard_ratios_inside_their_ci(verdicts):
    """>= 90% of printed HRs (with CI) reproduced inside the printed CI with p on the printed
    side of 0.05; every miss is a documented one (KNOWN_CI_MISSES)."""
    ci = verdicts[verdicts["tolerance"] == "ci"]
    ok = ci["verdict"].isin(["exact", "within tolerance", "inside published CI"])
    assert ok.mean() >= 0.9, f"{ok.mean():.2%}"
    misses = set(ci.index[~ok])
    assert misses <= set(KNOWN_CI_MISSES), ci.loc[sorted(misses - set(KNOWN_CI_MISSES)), "note"].to_string()


def test_printed_medians_and_percentages_at_their_rounding(verdicts):
    rnd = verdicts[verdicts["tolerance"] == "rounding"]
    misses = set(rnd.index[rnd["verdict"] == "miss"]) | set(rnd.index[rnd["verdict"] == "not computed"])
    assert misses <= set(KNOWN_ROUNDING_MISSES), rnd.loc[sorted(misses - set(KNOWN_ROUNDING_MISSES)), "note"].to_string()


def test_printed_p_values_on_the_same_side_of_005(verdicts):
    d = verdicts[verdicts["tolerance"] == "direction"]
    assert (d["verdict"] != "miss").all(), d[d["verdict"] == "miss"]["note"].to_string()
    assert (d["verdict"] != "not computed").all()


def test_shuffling_the_marker_changes_the_results(cohort):
    """Nothing is fixed in place: permuting IL-6 changes the IL-6 groups' numbers."""
    r = np.random.default_rng(11)
    shuffled = cohort.copy()
    shuffled["il6_pg_ml"] = r.permutation(shuffled["il6_pg_ml"].to_numpy())
    a = _sections(cohort, "table1", "survival").set_index("key")["estimate"]
    b = _sections(shuffled, "table1", "survival").set_index("key")["estimate"]
    for key in ("soramic_os_hr_il6_high_uni", "soramic_os_hr_il6_high_m1", "soramic_albumin_low_count_il6_high"):
        assert not math.isclose(a[key], b[key]), key
    # the IL-8 side does not depend on IL-6
    assert a["soramic_albumin_low_count_il8_high"] == b["soramic_albumin_low_count_il8_high"]


# ----------------------------------------------------------------------------- conventions
def test_group_and_score_boundaries_by_hand():
    """Strict > at the marker cut-offs; < 36 g/L and >= 17 umol/L; ALBI grades by hand:
    bilirubin 10 umol/L (log10 = 1): ALBI = 0.66 - 0.085 * albumin."""
    d = pd.DataFrame({
        "il6_pg_ml": [6.53, 6.531, 0.0, 7.0, 7.0, 7.0],
        "il8_pg_ml": [60.8, 60.81, 0.0, 61.0, 61.0, 61.0],
        "albumin_g_l": [38.4, 38.3, 34.5, 34.4, 35.9, 36.0],
        "bilirubin_umol_l": [10.0, 10.0, 10.0, 10.0, 16.9, 17.0],
        "child_pugh_class": ["A", "B", "A", "A", "A", "A"],
    })
    out = study.derive(d)
    assert out["il6_high"].tolist() == [0, 1, 0, 1, 1, 1]
    assert out["il8_high"].tolist() == [0, 1, 0, 1, 1, 1]
    # 0.66 - 0.085 * [38.4, 38.3, 34.5, 34.4]
    assert out["albi_score"].iloc[:4].tolist() == pytest.approx([-2.604, -2.5955, -2.2725, -2.264], abs=1e-12)
    assert list(out["malbi_grade"].iloc[:4]) == ["1", "2a", "2a", "2b"]
    assert out["malbi_2b3"].iloc[:4].tolist() == [0, 0, 0, 1]
    assert out["albumin_low"].tolist() == [0, 0, 1, 1, 1, 0]
    assert out["bilirubin_high"].tolist() == [0, 0, 0, 0, 0, 1]
    assert out["child_pugh_b"].tolist() == [0, 1, 0, 0, 0, 0]
    # bilirubin 100 (log10 = 2): 1.32 - 0.085 * albumin; 42.4 -> -2.284 (2a), 42.2 -> -2.267 (2b)
    assert list(scores.malbi_grade(scores.albi_score(np.array([42.4, 42.2]), np.array([100.0, 100.0])))) == ["2a", "2b"]


def test_censoring_at_progression_reading():
    d = pd.DataFrame({"liver_dysfunction_months": [10.0, 10.0, 10.0, 10.0],
                      "liver_dysfunction_event": [1, 1, 1, 0],
                      "pfs_months": [9.0, 5.0, 11.0, 9.0], "pfs_event": [1, 1, 1, 1]})
    t, e = study.censor_at_progression(d, window=2.0)
    assert t.tolist() == [9.0, 10.0, 10.0, 10.0] and e.tolist() == [0, 1, 1, 0]
    t, e = study.censor_at_progression(d, window=None)
    assert t.tolist() == [9.0, 5.0, 10.0, 10.0] and e.tolist() == [0, 0, 1, 0]
    assert study.progression_before_ld(d, 2.0) == 1


def test_shipped_cohort_has_four_progressions_at_liver_dysfunction(cohort):
    assert study.progression_before_ld(cohort) == int(published.value("soramic", "soramic_ld_count_progression_before_ld"))


# ----------------------------------------------------------------------------- re-run cohort vs R
def _load_rerun_maker():
    spec = importlib.util.spec_from_file_location("make_rerun_cohort", FIX / "make_rerun_cohort.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rerun_cohort_fixture_is_what_its_script_makes():
    assert common.csv_bytes(_load_rerun_maker().make()) == RERUN.read_bytes()


@pytest.fixture(scope="module")
def rerun():
    return study.derive(contract.read_cohort("soramic", RERUN))


def test_rerun_cohort_meets_the_contract_with_values_below_lod(rerun):
    assert len(rerun) == EXPECTED["n"]
    assert rerun["il6_pg_ml_below_lod"].sum() == 1 and (rerun["il6_pg_ml"] == 0).sum() == 4
    assert rerun["il8_pg_ml_below_lod"].sum() == 1
    assert "pfs_months" not in rerun and rerun["os_months"].duplicated().any()   # tied times


@pytest.mark.parametrize("endpoint,marker,key", [("os", "il6", "os_km_il6"), ("os", "il8", "os_km_il8"),
                                                 ("ld", "il6", "ld_km_il6")])
def test_km_medians_match_r_survfit(rerun, endpoint, marker, key):
    """R: summary(survfit(Surv(time, event) ~ high, data = d))$table[, c("median", "0.95LCL", "0.95UCL")]"""
    summ = study.km_compare(rerun, endpoint, marker)["summary"]
    exp = EXPECTED[key]
    for col, rkey in (("median", "median"), ("median_lower", "lower"), ("median_upper", "upper"), ("n", "n"), ("events", "events")):
        got = summ[col].astype(float).tolist()
        want = [_num(v) for v in exp[rkey]]
        assert got == pytest.approx(want, abs=1e-9, nan_ok=True), col


@pytest.mark.parametrize("endpoint,marker,key", [("os", "il6", "os_logrank_il6"), ("os", "il8", "os_logrank_il8"),
                                                 ("ld", "il6", "ld_logrank_il6")])
def test_logrank_matches_r_survdiff(rerun, endpoint, marker, key):
    """R: survdiff(Surv(time, event) ~ high, data = d); chisq and p printed with %.10g"""
    lr = study.km_compare(rerun, endpoint, marker)["logrank"].iloc[0]
    assert lr["statistic"] == pytest.approx(EXPECTED[key]["chisq"], rel=1e-8)
    assert lr["p"] == pytest.approx(EXPECTED[key]["p"], rel=1e-7)


@pytest.mark.parametrize("endpoint,terms,key", [
    ("os", ["il6_high"], "os_cox_il6"),
    ("os", study.MODELS[("os", "m1")], "os_cox_m1"),
    ("os", study.MODELS[("os", "m2")], "os_cox_m2"),
    ("ld", study.MODELS[("ld", "m1")], "ld_cox_m1"),
])
def test_cox_matches_r_coxph(rerun, endpoint, terms, key):
    """R: coxph(Surv(time, event) ~ terms, data = d) (Efron ties); coef, se(coef), Pr(>|z|)
    printed with %.10g. Tolerance 1e-6 relative: R stops Newton-Raphson at eps = 1e-9 on the
    log likelihood, the helper at 1e-12, so the two maxima agree to about 7 digits."""
    t, e, _ = study.ENDPOINTS[endpoint]
    res = survival.cox(study.endpoint_data(rerun, endpoint), t, e, list(terms))
    exp = EXPECTED[key]
    assert res.table["term"].tolist() == list(np.atleast_1d(exp["terms"]))
    assert res.table["coef"].to_numpy() == pytest.approx(np.atleast_1d(exp["coef"]), rel=1e-6, abs=1e-8)
    assert res.table["se"].to_numpy() == pytest.approx(np.atleast_1d(exp["se"]), rel=1e-6)
    assert res.table["p"].to_numpy() == pytest.approx(np.atleast_1d(exp["p"]), rel=1e-5)
    assert (res.n, res.events) == (exp["n"], exp["events"])


def test_maxstat_matches_r_maxstat_test(rerun):
    """R: maxstat.test(Surv(os_months, os_event) ~ il6, d, smethod = "LogRank",
    pmethod = "Lau94", minprop = 0.1, maxprop = 0.9)"""
    res = maxstat.maxstat_test(rerun, "os_months", "os_event", "il6_pg_ml", pmethods=("Lau94",))
    exp = EXPECTED["os_maxstat_il6"]
    assert res.cutoff == pytest.approx(exp["cutoff"], abs=1e-12)
    assert res.statistic == pytest.approx(exp["statistic"], rel=1e-8)
    assert res.p("Lau94") == pytest.approx(exp["p_lau94"], rel=1e-7)


# ----------------------------------------------------------------------------- the run command
@pytest.mark.chapters
def test_run_command_on_the_rerun_cohort(rerun_soramic):
    """``python -m helpers run soramic`` executes every chapter on a cohort without PFS and
    other optional columns (their sections are skipped with a note), never writing the cohort.
    The run is the session fixture ``rerun_soramic`` (tests/conftest.py) on RERUN."""
    run = rerun_soramic
    assert run.cohort.resolve() == RERUN.resolve()
    assert run.returncode == 0, run.output
    assert run.cohort_sha_after == run.cohort_sha_before
    out = run.out
    for chapter in ("soramic_cohort", "soramic_survival", "soramic_liver_dysfunction", "soramic_cutoff"):
        assert (out / f"{chapter}.ipynb").exists(), chapter
        assert (out / "results" / f"{chapter}.csv").exists(), chapter
    res = pd.read_csv(out / "results" / "soramic_survival.csv").set_index("key")
    assert res.loc["soramic_os_hr_il6_high_m1", "n"] == EXPECTED["n"]
    assert res.loc["soramic_os_hr_il6_high_uni", "estimate"] == pytest.approx(EXPECTED["os_cox_il6"]["hr"], rel=1e-6)
    assert "soramic_pfs_median_il6_high" not in res.index            # PFS absent: section skipped


def test_run_refuses_a_cohort_that_breaks_the_contract(tmp_path):
    bad = pd.read_csv(RERUN)
    bad = bad.drop(columns=["il6_pg_ml"])
    path = tmp_path / "no_il6.csv"
    bad.to_csv(path, index=False)
    proc = subprocess.run([sys.executable, "-m", "helpers", "run", "soramic", "--cohort", str(path), "--out", str(tmp_path / "o")],
                          cwd=paths.ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "il6_pg_ml" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- real cohorts: gaps, non-estimable terms
ESSENTIAL = ["patient_id", "cohort", "os_months", "os_event"]


def _blanked(cohort: pd.DataFrame, share: float = 0.1, seed: int = 11) -> pd.DataFrame:
    """The cohort with ``share`` of the cells of every column but the essential ones emptied
    (validation bypassed: the contract change that allows it is another module's)."""
    r = np.random.default_rng(seed)
    d = cohort.copy()
    for c in d.columns:
        if c in ESSENTIAL:
            continue
        idx = r.choice(len(d), size=max(1, round(share * len(d))), replace=False)
        d[c] = d[c].astype(object) if d[c].dtype == bool else d[c]
        d.loc[d.index[idx], c] = np.nan
    return d


def test_a_tenth_of_optional_cells_blank_runs_every_section_on_complete_cases(cohort):
    """reproduce on a cohort with 10% of every optional cell empty: no warning, no nan text,
    and each number's n is the complete cases of *its* variables, counted here independently."""
    import warnings

    d = _blanked(cohort)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = study.reproduce(d, study.PARAMS).set_index("key")
    assert not est["text"].fillna("").str.contains(r"\bnan\b|\bNA\b", regex=True).any()
    os_ok = d["os_months"].notna() & d["os_event"].notna()
    # univariable: the endpoint and that term's source column
    assert est.loc["soramic_os_hr_hbv_uni", "n"] == int((os_ok & d["hbv"].notna()).sum())
    assert est.loc["soramic_os_hr_il6_high_uni", "n"] == int((os_ok & d["il6_pg_ml"].notna()).sum())
    # Model 1: every variable of the model
    m1_cols = ["il6_pg_ml", "il8_pg_ml", "cirrhosis", "child_pugh_class", "albumin_g_l", "bilirubin_umol_l"]
    assert est.loc["soramic_os_hr_il6_high_m1", "n"] == int((os_ok & d[m1_cols].notna().all(axis=1)).sum())
    assert est.loc["soramic_os_hr_il6_high_m1", "n"] < len(d)
    # KM by IL-6 group: a patient without IL-6 is in neither group
    high = d["il6_pg_ml"] > study.PARAMS.il6_cutoff
    assert est.loc["soramic_os_median_il6_high", "n"] == int((os_ok & high).sum())
    assert est.loc["soramic_os_median_il6_low", "n"] == int((os_ok & (d["il6_pg_ml"] <= study.PARAMS.il6_cutoff)).sum())
    sizes = study.group_sizes(study.derive(d)).set_index("group")["n"]
    assert sizes["il6_low"] + sizes["il6_high"] == int(d["il6_pg_ml"].notna().sum()) < len(d)


def test_a_cox_term_without_events_is_not_estimable_with_its_reason(rerun):
    """Hepatitis B has no liver dysfunction among its 2 patients of the re-run cohort with the
    endpoint: R's coxph warns "coefficient may be infinite" (beta -> -inf). The book shows
    "not estimable" with that reason: no nan, no RuntimeWarning, the other terms unchanged."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        uni = study.univariable(rerun, "ld")
        m1, m2 = study.multivariable(rerun, "ld", "m1"), study.multivariable(rerun, "ld", "m2")
        shown = study.cox_side_by_side(uni, m1, m2)
        notes = study.cox_notes(uni, m1, m2, event_word="liver dysfunction")
    hbv = uni.set_index("term").loc["hbv"]
    assert np.isnan(hbv["hr"]) and np.isnan(hbv["p"])
    assert hbv["note"] == ("not estimable: no events among the 2 patients with Hepatitis B etiology: yes "
                           "(the likelihood has no finite maximum)")
    row = shown[shown[("", "Parameter")].str.startswith("Hepatitis B")].iloc[0]
    assert row[("Univariable", "HR (95% CI)")] == "not estimable" and row[("Univariable", "p")] == ""
    assert not shown.astype(str).apply(lambda c: c.str.contains("nan")).any().any()
    assert any(n.startswith("Hepatitis B etiology (yes vs no), univariable: not estimable: no events") for n in notes)
    assert "Model 1: n = 58 patients with every variable of the model, 25 liver dysfunctions." in notes
    # an estimable term is exactly the plain Cox fit (R-checked in test_cox_matches_r_coxph)
    il6 = uni.set_index("term").loc["il6_high"]
    ref = survival.cox(study.endpoint_data(rerun, "ld"), "liver_dysfunction_months", "liver_dysfunction_event", ["il6_high"])
    assert il6["hr"] == pytest.approx(ref.table["hr"].iloc[0], rel=1e-12)
    # the recorded row carries the reason as text, not a number
    est = study.reproduce(rerun, None, "ld").set_index("key")
    assert np.isnan(est.loc["soramic_ld_hr_hbv_uni", "estimate"])
    assert est.loc["soramic_ld_hr_hbv_uni", "text"].startswith("not estimable: no events among the 2 patients")


def test_continuous_hazard_ratios_are_per_doubling_or_per_sd(loaded, rerun):
    """Skewed markers per doubling (log2; zeros at half the smallest positive value), albumin and
    ALBI per SD: the HR equals the per-unit Cox fit rescaled (exp(beta_ln * ln 2), exp(beta * sd))."""
    cont = study.continuous_models(loaded, "os").set_index("term")
    assert cont.loc["il6_pg_ml", "per"] == "per doubling"
    d = study.endpoint_data(loaded, "os")
    ln = survival.cox(d.assign(x=np.log(d["il6_pg_ml"])), "os_months", "os_event", ["x"]).table.iloc[0]
    assert cont.loc["il6_pg_ml", "hr"] == pytest.approx(math.exp(ln["coef"] * math.log(2)), rel=1e-9)
    raw = survival.cox(d, "os_months", "os_event", ["albumin_g_l"]).table.iloc[0]
    sd = d["albumin_g_l"].std(ddof=1)
    assert cont.loc["albumin_g_l", "per"] == f"per SD ({sd:.2f} g/L)"
    assert cont.loc["albumin_g_l", "hr"] == pytest.approx(math.exp(raw["coef"] * sd), rel=1e-9)
    # four IL-6 values of 0 in the re-run cohort: half the smallest positive value
    rc = study.continuous_models(rerun, "os").set_index("term")
    assert rc.loc["il6_pg_ml", "zeros"] == 4
    x = rerun["il6_pg_ml"].astype(float)
    x = x.where(x > 0, x[x > 0].min() / 2)
    ref = survival.cox(rerun.assign(x=np.log2(x)), "os_months", "os_event", ["x"]).table.iloc[0]
    assert rc.loc["il6_pg_ml", "hr"] == pytest.approx(ref["hr"], rel=1e-9)


def test_pfs_axis_stops_where_fewer_than_ten_remain_at_risk(loaded):
    """Fig. S2's time axis: up to the grid step after the first time fewer than 10 patients
    remain at risk in a group; and the 18-month crowding of the synthetic PFS that the page
    explains (beyond both axes)."""
    for m, want in (("il6", 12.0), ("il8", 15.0)):
        curve = study.km_compare(loaded, "pfs", m)["curve"]
        h = study.risk_horizon(curve, min_at_risk=10, step=3)
        assert h == want
        remaining = curve["n_risk"] - curve["n_event"] - curve["n_censor"]
        first_below = curve.loc[remaining < 10].groupby("group", observed=True)["time"].min().min()
        assert h - 3 < first_below <= h
    cl = study.event_cluster(loaded, "pfs", width=0.5)
    assert (cl["events"], cl["total"]) == (18, 73) and 17.8 < cl["start"] < cl["end"] <= 18.0


def test_medians_not_reached_say_so(loaded):
    est = study.reproduce(loaded, None, "ld").set_index("key")
    assert est.loc["soramic_ld_median_il6_low", "text"] == "32.6 (95% CI 20.1–not reached)"
    assert not est["text"].fillna("").str.contains("NA").any()
    table = study.median_table({"il8": study.km_compare(loaded, "ld", "il8")})
    assert table["median"].tolist() == ["18.7 (9.7–not reached)", "9.7 (8.5–not reached)"]


@pytest.mark.chapters
def test_rerun_pages_have_no_stderr_and_no_nan_cell(rerun_soramic):
    """Issue 11: the re-run chapters print no warning (no stderr output) and no table cell reads
    nan; every Cox table states its n."""
    import re

    out = rerun_soramic.out
    for chapter in ("soramic_cohort", "soramic_survival", "soramic_liver_dysfunction", "soramic_cutoff"):
        nb = json.loads((out / f"{chapter}.ipynb").read_text())
        for cell in nb["cells"]:
            for o in cell.get("outputs", []):
                assert not (o.get("output_type") == "stream" and o.get("name") == "stderr"), (chapter, o.get("text"))
                html = "".join(o.get("data", {}).get("text/html", ""))
                cells = re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)
                assert not [c for c in cells if re.search(r"\bnan\b", c, re.I)], chapter
    ld = (out / "soramic_liver_dysfunction.ipynb").read_text()
    assert "not estimable: no events among the 2 patients with Hepatitis B etiology" in ld
    assert "patients with every variable of the model" in ld
