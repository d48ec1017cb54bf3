"""helpers.audit: each check on made-up numbers with known answers, the inconsistencies the
book documented by hand re-found on the shipped ledgers, and the command line."""
import csv
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from helpers import audit, paths, published
from helpers.__main__ import main

FIXTURES = paths.FIXTURES / "audit"


# --------------------------------------------------------------------------------------
# building blocks, on textbook numbers


def test_grim_die_example():
    """GRIM (Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous
    anomalies in the reporting of results in psychology. Soc Psychol Personal Sci 2017;
    8:363-9), in the illustration that accompanies its descriptions: a die rolled 20 times
    cannot have a mean of 3.48, since k/20 at two decimals always ends in 0 or 5."""
    assert not audit.grim_consistent(3.48, 20, 2, scale=1)
    assert audit.grim_counts(3.45, 20, 2, scale=1) == [69]
    assert audit.grim_consistent(3.50, 20, 2, scale=1)


def test_grim_for_percentages():
    # 3/7 = 42.857%: 42.9 at one decimal, 42.8 only by truncation, 42.7 by nothing
    assert audit.grim_counts(42.9, 7, 1) == [3]
    assert audit.grim_counts(42.8, 7, 1) == []
    assert audit.grim_counts(42.8, 7, 1, truncation=True) == [3]
    assert audit.grim_counts(42.7, 7, 1, truncation=True) == []


def test_classify_percent():
    assert audit.classify_percent(92.8, 77, 83, 1) == "rounded"     # 92.771
    assert audit.classify_percent(92.7, 77, 83, 1) == "truncated"
    assert audit.classify_percent(18.7, 9, 48, 1) == "tie"          # 18.75 exactly
    assert audit.classify_percent(18.8, 9, 48, 1) == "rounded"
    assert audit.classify_percent(67.3, 117, 165, 1) == "other"     # 70.909
    assert audit.grim_counts(67.3, 165, 1) == [111]


def test_rounding_helpers():
    assert audit.round_half_up(2.45, 1) == 2.5
    assert audit.round_half_even(2.45, 1) == 2.4
    assert audit.truncate(3.88, 1) == 3.8
    assert audit.printed_interval(1.5, 1, truncation=False) == pytest.approx((1.45, 1.55))
    assert audit.printed_interval(1.5, 1) == pytest.approx((1.45, 1.6))


def test_fisher_rx2_and_chi_square_match_r():
    """R 4.2.2: fisher.test(m)$p.value, chisq.test(m, correct = FALSE / TRUE)$p.value
    (tests/fixtures/audit/tables_p.R, printed output tables_p.Rout, 15 significant digits)."""
    tables = {
        "child_pugh": [[92, 7], [35, 10], [13, 8]],
        "aetiology": [[100, 17], [9, 3], [17, 2], [14, 3]],
        "crafity": [[63, 2], [64, 10], [13, 13]],
        "bclc": [[31, 3], [109, 22]],
    }
    for line in (FIXTURES / "tables_p.Rout").read_text().splitlines():
        name, *fields = line.split()
        expected = {k: float("nan" if v == "NA" else v) for k, v in (f.split("=") for f in fields)}
        got = audit.candidate_p_values(tables[name])
        assert got["fisher"] == pytest.approx(expected["fisher"], rel=1e-9), name
        assert got["pearson"] == pytest.approx(expected["pearson"], rel=1e-9), name
        if math.isnan(expected["yates"]):
            assert math.isnan(got["yates"])
        else:
            assert got["yates"] == pytest.approx(expected["yates"], rel=1e-9)


def test_candidate_tests_on_the_tea_tasting_table():
    """Fisher's tea-tasting table [[3, 1], [1, 3]]: two-sided exact p = 34/70 (Fisher 1935);
    Pearson X2 = 2 (p = 0.1573), Yates X2 = 0.5 (p = 0.4795); G = 2 sum O log(O/E)."""
    table = [[3, 1], [1, 3]]
    p = audit.candidate_p_values(table)
    assert p["fisher"] == pytest.approx(34 / 70, abs=1e-12)
    assert p["pearson"] == pytest.approx(stats.chi2.sf(2.0, 1), abs=1e-12)
    assert p["yates"] == pytest.approx(stats.chi2.sf(0.5, 1), abs=1e-12)
    g = 2 * (2 * 3 * math.log(3 / 2) + 2 * 1 * math.log(1 / 2))
    assert p["lr"] == pytest.approx(stats.chi2.sf(g, 1), abs=1e-12)
    assert p["rule"] == p["fisher"]  # every expected count is 2 (< 5)
    big = [[30, 10], [10, 30]]
    assert audit.candidate_p_values(big)["rule"] == audit.candidate_p_values(big)["pearson"]


def test_p_matches():
    assert audit.p_matches(0.0726, 0.073, "=", 3) == "rounded"
    assert audit.p_matches(0.0726, 0.072, "=", 3) == "truncated"
    assert audit.p_matches(0.1283, 0.129, "=", 3) == "one unit"
    assert audit.p_matches(0.1283, 0.135, "=", 3) is None
    assert audit.p_matches(0.0004, 0.001, "<", 3) == "bound"
    assert audit.p_matches(0.07, 0.05, "<", 2) is None
    assert audit.p_matches(1.0, 0.999, ">", 3) == "bound"


def test_altman_bland_worked_examples():
    """Altman DG, Bland JM. How to obtain the P value from a confidence interval. BMJ
    2011;343:d2304 (box: SE = (u - l)/(2 x 1.96), z = Est/SE, P = exp(-0.717 z - 0.416 z^2),
    log scale for ratios), and its companion, How to obtain the confidence interval from a
    P value. BMJ 2011;343:d2090 (z = -0.862 + sqrt(0.743 - 2.404 log P), SE = Est/z).

    d2090's worked example (a): a difference of 17 percentage points (49% v 32%) with
    P = 0.032 gives z = 2.141, SE = 7.940 and the 95% CI 1.4 to 32.6. The two notes are
    inverse procedures, so d2304's box run on that CI must give back P = 0.032. d2090's
    example (b), a ratio: relative risk 0.30 with P = 0.034 gives a CI of 0.1 to 0.9 (one
    decimal; z = 2.117, SE of the log RR = 0.569).
    (The search tool returned the box of d2304 and the examples of d2090 verbatim; d2304's
    own worked examples were not in what it returned.)"""
    lo, hi = audit.ci_from_p(17, 0.032, ratio=False)
    assert (round(lo, 1), round(hi, 1)) == (1.4, 32.6)
    z = -0.862 + math.sqrt(0.743 - 2.404 * math.log(0.032))
    assert round(z, 3) == 2.141 and round(17 / z, 3) == 7.940
    p = audit.p_from_ci(17, 1.4, 32.6, ratio=False, method="altman_bland")
    assert round(p, 3) == 0.032
    assert audit.p_from_ci(17, 1.4, 32.6, ratio=False) == pytest.approx(0.032, abs=0.001)
    lo, hi = audit.ci_from_p(0.30, 0.034)
    assert (round(lo, 1), round(hi, 1)) == (0.1, 0.9)
    # and back: the ratio's CI gives its P on the log scale
    assert audit.p_from_ci(0.30, lo, hi) == pytest.approx(0.034, rel=0.05)


def test_deaths_needed():
    """Var(log HR) ~ 1/d1 + 1/d2 >= 4/d: HR 3.02 with p = 0.021 needs about 18 deaths."""
    assert math.ceil(audit.deaths_needed(3.02, 0.021)) == 18
    assert math.ceil(audit.deaths_needed(4.64, 0.001)) == 19
    z = stats.norm.isf(0.025)
    assert audit.deaths_needed(math.exp(z * 0.5), 0.05) == pytest.approx(16)  # SE 0.5 -> 4/0.25


# --------------------------------------------------------------------------------------
# every check on a made-up paper


def _write(path: Path, rows: list[dict], columns: list[str]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
    return path


def _n(id_, cohort, group, value, **kw):
    return dict(id=id_, study="madeup", source=kw.pop("source", "Table 1"), cohort=cohort,
                group=group, quantity=kw.pop("quantity", "count"), value=value,
                unit=kw.pop("unit", "patients"), digits=kw.pop("digits", 0),
                tolerance=kw.pop("tolerance", "exact"), **kw)


def _make_madeup(tmp_path: Path) -> tuple[Path, Path]:
    """A paper of 100 patients, 30 in arm A (high) and 70 in arm B (low), with its links."""
    p_male = audit.candidate_p_values([[10, 23], [20, 47]])["pearson"]
    hr_p = audit.p_from_ci(2.0, 1.10, 3.64)
    rows = [
        _n("trial_n", "trial", "all", 100),
        _n("trial_arm_high_n", "trial", "arm_high", 30),
        _n("trial_arm_low_n", "trial", "arm_low", 70),
        _n("trial_male_n", "trial", "all", 33),
        _n("trial_arm_high_male_n", "trial", "arm_high", 10),
        _n("trial_arm_high_male_pct", "trial", "arm_high", "33.3", quantity="percent", unit="%", digits=1),
        _n("trial_arm_low_male_n", "trial", "arm_low", 23),
        _n("trial_arm_high_ecog1_n", "trial", "arm_high", 20),
        _n("trial_arm_high_ecog1_pct", "trial", "arm_high", "66.6", quantity="percent", unit="%", digits=1),
        _n("trial_arm_high_hbv_n", "trial", "arm_high", 5),
        _n("trial_arm_high_hbv_pct", "trial", "arm_high", "20.0", quantity="percent", unit="%", digits=1),
        _n("trial_arm_low_ecog1_n", "trial", "arm_low", 40),
        _n("trial_arm_low_ecog0_n", "trial", "arm_low", 29),
        _n("trial_male_p_arm", "trial", "arm_high_vs_low", f"{p_male:.3f}", quantity="p", unit="", digits=3),
        _n("trial_ecog1_p_arm", "trial", "arm_high_vs_low", "0.500", quantity="p", unit="", digits=3),
        _n("trial_age_mean", "trial", "all", "60.0", quantity="mean", unit="years", digits=1),
        _n("trial_age_mean_arm_high", "trial", "arm_high", "50.0", quantity="mean", unit="years", digits=1),
        _n("trial_age_mean_arm_low", "trial", "arm_low", "70.0", quantity="mean", unit="years", digits=1),
        _n("trial_os_hr_arm", "trial", "arm_high", "2.00", quantity="hr", unit="", digits=2,
           lower="1.10", upper="3.64", p=f"{hr_p:.3f}", tolerance="ci"),
        _n("trial_os_hr_arm_asym", "trial", "marker", "2.00", quantity="hr", unit="", digits=2,
           lower="1.90", upper="4.00", p="0.001", p_bound="<", tolerance="ci"),
        _n("trial_os_hr_arm_bad_p", "trial", "stage", "1.50", quantity="hr", unit="", digits=2,
           lower="1.10", upper="2.05", p="0.400", tolerance="ci"),
        _n("trial_os_hr_bili", "trial", "bili", "1.71", quantity="hr", unit="", digits=2,
           lower="0.95", upper="3.09", p="0.073", tolerance="ci"),
        _n("trial_os_hr_bili_text", "trial", "bili", "0.58", quantity="hr", unit="", digits=2,
           lower="0.32", upper="1.05", p="0.073", tolerance="ci", preferred=0),
        _n("trial_os_hr_bili_copy", "trial", "liver", "1.71", quantity="hr", unit="", digits=2,
           lower="0.95", upper="3.09", p="0.073", tolerance="ci", source="Table 3"),
        _n("trial_cutoff", "trial", "marker", "6.53", quantity="cutoff", unit="pg/mL", digits=2, tolerance="exact"),
        _n("trial_cutoff_methods", "trial", "marker", "6.58", quantity="cutoff", unit="pg/mL", digits=2,
           tolerance="info", preferred=0),
        _n("trial_albumin_cut", "trial", "albumin", "36", quantity="cutoff", unit="g/L", tolerance="exact"),
        _n("trial_albumin_cut_abstract", "trial", "albumin", "36", quantity="cutoff", unit="g/dL",
           tolerance="info", preferred=0),
        _n("trial_il2_cut", "trial", "il2", "3.2", quantity="cutoff", unit="pg/mL", digits=1, tolerance="info"),
        _n("trial_fold", "trial", "arm_high", "1.75", quantity="ratio", unit="", lower="1.5", upper="2.0",
           tolerance="info"),
        _n("matched_arm_high_n", "matched", "arm_high", 35),
        _n("trial_os_events", "trial", "all", 40, unit="deaths"),
        _n("trial_ld_events", "trial", "all", 12, unit="events"),
        _n("trial_os_12m_rate", "trial", "all", "95.0", quantity="rate", unit="%", digits=1, tolerance="rounding"),
        _n("trial_os_hr_arm_uni", "trial", "arm_high", "3.00", quantity="hr", unit="", digits=2, p="0.001",
           p_bound="<", tolerance="direction"),
    ]
    numbers = _write(tmp_path / "madeup.csv", rows, published.PUBLISHED_COLUMNS)
    links = [
        dict(study="madeup", relation="sum", id="trial_arm_low_n",
             members="trial_arm_low_ecog1_n trial_arm_low_ecog0_n"),
        dict(study="madeup", relation="stated_test", id="*_p_arm", detail="pearson yates"),
        dict(study="madeup", relation="same", id="trial_cutoff", members="trial_cutoff_methods"),
        dict(study="madeup", relation="same", id="trial_albumin_cut", members="trial_albumin_cut_abstract"),
        dict(study="madeup", relation="printed_unit", id="trial_il2_cut", detail="ng/mL"),
        dict(study="madeup", relation="summarises", id="trial_fold",
             members="trial_os_hr_arm/trial_os_hr_bili trial_os_hr_arm_uni/trial_os_hr_arm"),
        dict(study="madeup", relation="model", id="trial_os_hr_arm*", members="trial_os_events",
             detail="OS model"),
        dict(study="madeup", relation="model", id="trial_os_hr_bili*", members="trial_ld_events",
             detail="a small model"),
    ]
    link_file = _write(tmp_path / "audit_links.csv", links, audit.LINK_COLUMNS)
    return numbers, link_file


@pytest.fixture()
def madeup(tmp_path):
    return _make_madeup(tmp_path)


@pytest.fixture(scope="module")
def madeup_audit(tmp_path_factory):
    numbers, _ = _make_madeup(tmp_path_factory.mktemp("madeup"))
    return audit.audit(numbers)   # the links beside the file are found


def _verdict(table, check, first_id):
    hit = table[(table["check"] == check) & (table["ids"].str.split().str[0] == first_id)]
    assert len(hit) >= 1, f"{check} has no row for {first_id}"
    return hit.iloc[0]


#: (check, first id of the row, expected verdict, a phrase the explanation must hold, why)
MADEUP_EXPECTED = [
    ("percent_vs_count", "trial_arm_high_male_pct", "passed", "rounded", "10/30 = 33.33% printed 33.3"),
    ("percent_vs_count", "trial_arm_high_ecog1_pct", "flagged", "truncated", "20/30 = 66.67% printed 66.6"),
    ("percent_vs_count", "trial_arm_high_hbv_pct", "flagged", "6/30", "20.0% is 6/30, the count says 5"),
    ("counts_add_up", "trial_n", "passed", "adds up", "30 + 70 = 100"),
    ("counts_add_up", "trial_male_n", "passed", "adds up", "10 + 23 = 33"),
    ("counts_add_up", "trial_arm_low_n", "flagged", "1 short", "ECOG 40 + 29 = 69 of 70"),
    ("means_add_up", "trial_age_mean", "flagged", "cannot average", "(50 x 30 + 70 x 70) / 100 = 64, not 60"),
    ("p_from_counts", "trial_male_p_arm", "passed", "Pearson", "the printed p is Pearson's, the stated test"),
    ("p_from_counts", "trial_ecog1_p_arm", "unexplained", "no candidate", "0.500 is no test's p"),
    ("one_test_per_table", "trial_male_p_arm", "passed", "Pearson", "one table, one (stated) test"),
    ("ci_symmetry", "trial_os_hr_arm", "passed", "symmetric", "2.00 (1.10-3.64): sqrt(1.10 x 3.64) = 2.00"),
    ("ci_symmetry", "trial_os_hr_arm_asym", "flagged", "upper limit", "2.00 (1.90-4.00): centre 2.76"),
    ("p_from_ci", "trial_os_hr_arm", "passed", "implies", "the p printed is the CI's Wald p"),
    ("p_from_ci", "trial_os_hr_arm_bad_p", "flagged", "not the Wald p", "1.50 (1.10-2.05) implies p = 0.011, printed 0.400"),
    ("ci_vs_p", "trial_os_hr_arm", "passed", "agree", "CI excludes 1, p < 0.05"),
    ("ci_vs_p", "trial_os_hr_arm_bad_p", "flagged", "disagree", "CI excludes 1, p = 0.400"),
    ("printed_twice", "trial_cutoff", "flagged", "typo", "6.53 vs 6.58"),
    ("printed_twice", "trial_albumin_cut", "passed", "same", "36 and 36"),
    ("reciprocal", "trial_os_hr_bili_text", "flagged", "reciprocal", "0.58 (0.32-1.05) = 1/1.71 (0.95-3.09)"),
    ("copied_values", "trial_os_hr_bili_copy", "flagged", "identical", "Table 3 repeats Table 1's row"),
    ("units", "trial_albumin_cut", "flagged", "10 x", "36 g/L vs 36 g/dL"),
    ("units", "trial_il2_cut", "flagged", "1000", "3.2 printed in ng/mL, read in pg/mL"),
    ("paraphrase_range", "trial_fold", "flagged", "outside", "2.00/1.71 = 1.17 is not '1.5-2'"),
    ("events_per_covariate", "trial_os_hr_arm", "passed", "10.0 events per term", "4 terms, 40 events"),
    ("events_per_covariate", "trial_os_hr_bili", "flagged", "4.0 events per term", "3 terms, 12 events"),
    ("matched_vs_source", "matched_arm_high_n", "unexplained", "larger than", "35 matched of 30, nothing to pool"),
    ("events_vs_survival", "trial_os_12m_rate", "flagged", "hard to reconcile",
     "HR 2.00 with p = 0.023 needs >= 43 deaths; 95% 1-year OS of 100 allows 5"),
]


def test_the_made_up_paper_exercises_every_check():
    assert {c for c, *_ in MADEUP_EXPECTED} == set(audit.CHECKS)


def test_audit_rows_have_the_tidy_columns(madeup_audit):
    assert list(madeup_audit.columns) == audit.AUDIT_COLUMNS
    assert set(madeup_audit["paper"]) == {"madeup"}
    assert set(madeup_audit["verdict"]) <= set(audit.VERDICTS)
    assert (madeup_audit["n_printed"] == madeup_audit["ids"].str.split().str.len()).all()


@pytest.mark.parametrize("check,first_id,verdict,phrase,why", MADEUP_EXPECTED,
                         ids=[f"{c}-{i}" for c, i, *_ in MADEUP_EXPECTED])
def test_each_check_on_made_up_numbers(madeup_audit, check, first_id, verdict, phrase, why):
    row = _verdict(madeup_audit, check, first_id)
    assert row["verdict"] == verdict, f"{why}: {row['explanation']}"
    assert phrase in row["explanation"], f"{why}: {row['explanation']}"


def test_summary_counts_the_printed_numbers_each_check_covered(madeup):
    numbers, _ = madeup
    t = audit.audit(numbers)
    s = audit.summary(t)
    assert list(s.columns) == ["paper", "check", "run", "passed", "flagged", "unexplained",
                               "numbers_covered"]
    row = s[s["check"] == "percent_vs_count"].iloc[0]
    assert (row["run"], row["passed"], row["flagged"]) == (3, 1, 2)
    # 3 percentages, their 3 counts and the group size
    assert row["numbers_covered"] == 7
    assert (s["run"] == s["passed"] + s["flagged"] + s["unexplained"]).all()
    cov = audit.coverage(t)
    assert cov.set_index("check").loc["percent_vs_count", "madeup"] == 7


def test_checks_without_links_still_run(tmp_path, madeup):
    numbers, _ = madeup
    alone = tmp_path / "alone"
    alone.mkdir()
    copy = alone / "paper.csv"
    copy.write_text(numbers.read_text())
    t = audit.audit(copy)
    assert "percent_vs_count" in set(t["check"]) and "printed_twice" not in set(t["check"])


# --------------------------------------------------------------------------------------
# the book's hand-made findings, re-found


#: Every inconsistency the book documented by hand before this audit (notes in
#: data/published/*.csv, chapter admonitions, the studies' tests and docstrings, the closing
#: note of stop 7), with the check that must flag it: (paper, check, first id of the row).
DOCUMENTED = [
    # Ate/Bev: Table 1 percentages of other counts; a truncated one
    ("atebev_il6", "percent_vs_count", "total_aetiology_hbv_pct"),
    ("atebev_il6", "percent_vs_count", "total_aetiology_hcv_pct"),
    ("atebev_il6", "percent_vs_count", "total_aetiology_other_pct"),
    ("atebev_il6", "percent_vs_count", "validation_child_pugh_b7_pct"),
    # Ate/Bev: Table 2 BCLC p = 0.287 matches no test; "significantly lower" ORR 1/15 vs 19/66
    ("atebev_il6", "p_from_counts", "total_bclc_p_il6"),
    ("atebev_il6", "p_from_counts", "validation_orr_p_il6"),
    # Ate/Bev: 1-year OS rates hard to reconcile with the OS HRs and p
    ("atebev_il6", "events_vs_survival", "discovery_os_12m_rate"),
    ("atebev_il6", "events_vs_survival", "validation_os_12m_rate"),
    # PBIS: ORR p-values are Fisher's, not the chi-square the Methods state
    ("pbis", "p_from_counts", "derivation_p_orr_pbis"),
    ("pbis", "one_test_per_table", "derivation_p_orr_pbis"),
    # PBIS: Table 2 vs Fig 1A PBIS >= 2 HRs (and the Fig 1A PFS p the CI cannot give)
    ("pbis", "printed_twice", "derivation_os_hr_pbis_ge2"),
    ("pbis", "printed_twice", "derivation_pfs_hr_pbis_ge2"),
    # PBIS: 57 matched PBISlo need derivation + validation pooled; IL-2 '3.2 ng/mL';
    # the Discussion's '~1.5-2-fold' (PFS ratios 1.35, 1.40)
    ("pbis", "matched_vs_source", "matched_count_pbis_low"),
    ("pbis", "units", "derivation_cutoff_il2"),
    ("pbis", "paraphrase_range", "discussion_hr_fold_vs_crafity_nlr"),
    # SORAMIC: percentages of other counts
    ("soramic", "percent_vs_count", "soramic_previous_tace_pct_all"),
    ("soramic", "percent_vs_count", "soramic_diffuse_pct_all"),
    # SORAMIC: bilirubin HR 0.58 (0.32-1.05) is 1/1.71 (0.95-3.09)
    ("soramic", "reciprocal", "soramic_os_hr_bilirubin_high_m1_text"),
    # SORAMIC: IL-8 p 0.009 (log-rank) vs 0.011 (Cox); 6.53 vs 6.58; upper limit 3.88 vs 3.8
    ("soramic", "printed_twice", "soramic_os_hr_il8_high_uni soramic_os_logrank_p_il8"),
    ("soramic", "printed_twice", "soramic_cutoff_il6"),
    ("soramic", "printed_twice", "soramic_os_hr_il6_high_uni soramic_os_hr_il6_high_text"),
    # SORAMIC: albumin cut-off in g/dL in the abstract
    ("soramic", "units", "soramic_cutoff_albumin"),
    # SORAMIC: BCLC row identical in Tables 2 and 3
    ("soramic", "copied_values", "soramic_ld_hr_bclc_c_uni"),
    # SORAMIC: IL-6 group means of target lesion size cannot give the overall mean
    ("soramic", "means_add_up",
     "soramic_target_lesion_mm_mean_all soramic_target_lesion_mm_mean_il6_high"),
    # SORAMIC: Table 1 p-values that no standard test gives; the table follows no one test
    ("soramic", "p_from_counts", "soramic_albumin_low_p_il8"),
    ("soramic", "p_from_counts", "soramic_afp_high_p_il6"),
    ("soramic", "p_from_counts", "soramic_afp_high_p_il8"),
    ("soramic", "one_test_per_table", "soramic_male_p_il6"),
]


@pytest.fixture(scope="module")
def shipped():
    return {s: audit.audit(s) for s in paths.STUDIES}


def _found(table, check, key):
    """The rows of ``check`` whose ids start with ``key`` (one id, or several)."""
    return table[(table["check"] == check) & ((table["ids"] + " ").str.startswith(key + " "))]


@pytest.mark.parametrize("paper,check,first_id", DOCUMENTED, ids=lambda x: str(x))
def test_each_documented_inconsistency_is_flagged_by_its_check(shipped, paper, check, first_id):
    hit = _found(shipped[paper], check, first_id)
    assert not hit.empty, f"{check} did not examine {first_id}"
    assert set(hit["verdict"]) <= {"flagged", "unexplained"}, hit[["verdict", "explanation"]].to_string()


def test_the_specific_explanations(shipped):
    s, p, a = shipped["soramic"], shipped["pbis"], shipped["atebev_il6"]
    assert "log-rank" in _found(s, "printed_twice", "soramic_os_hr_il8_high_uni soramic_os_logrank_p_il8")["explanation"].iloc[0]
    assert "typo" in _found(s, "printed_twice", "soramic_cutoff_il6")["explanation"].iloc[0]
    assert "truncates" in _found(s, "printed_twice", "soramic_os_hr_il6_high_uni soramic_os_hr_il6_high_text")["explanation"].iloc[0]
    assert "Fisher" in _found(p, "p_from_counts", "derivation_p_orr_pbis")["explanation"].iloc[0]
    assert "not the Wald p" in _found(p, "printed_twice", "derivation_pfs_hr_pbis_ge2")["explanation"].iloc[0]
    assert "derivation + validation" in _found(p, "matched_vs_source", "matched_count_pbis_low")["explanation"].iloc[0]
    assert "111/165" in _found(a, "percent_vs_count", "total_aetiology_hbv_pct")["explanation"].iloc[0]
    orr = _found(a, "p_from_counts", "validation_orr_p_il6").iloc[0]
    assert "Pearson 0.073" in orr["recomputed"] and "GRIM" in orr["explanation"]
    assert "no single test" in _found(s, "one_test_per_table", "soramic_male_p_il6")["explanation"].iloc[0]


def test_every_truncated_percentage_noted_in_the_ledger_is_found(shipped):
    """The ledger notes 35 SORAMIC percentages 'printed truncated'; the audit finds each."""
    pub = published.load("soramic")
    noted = set(pub.loc[pub["note"].str.contains("printed truncated"), "id"])
    assert len(noted) == 35
    t = shipped["soramic"]
    truncated = t[(t["check"] == "percent_vs_count") & t["explanation"].str.startswith("truncated")]
    found = set(truncated["ids"].str.split().str[0])
    assert noted <= found


def test_every_percentage_the_ledger_says_disagrees_with_its_count_is_found(shipped):
    for study in paths.STUDIES:
        pub = published.load(study)
        noted = set(pub.loc[(pub["quantity"] == "percent")
                            & pub["note"].str.contains("disagrees with its count|disagrees with the count"),
                            "id"])
        t = shipped[study]
        flagged = set(t.loc[(t["check"] == "percent_vs_count") & (t["verdict"] != "passed"),
                            "ids"].str.split().str[0])
        assert noted <= flagged, (study, noted - flagged)


def test_no_finding_beyond_the_documented_ones_and_the_truncations(shipped):
    """Every flag of the shipped audit is a documented inconsistency or a truncated
    percentage: a new flag means a new finding (document it) or a false alarm (fix it)."""
    for study, t in shipped.items():
        for _, r in t[t["verdict"] != "passed"].iterrows():
            if r["check"] == "percent_vs_count" and r["explanation"].startswith("truncated"):
                continue
            known = any(p == study and c == r["check"] and (r["ids"] + " ").startswith(k + " ")
                        for p, c, k in DOCUMENTED)
            assert known, f"undocumented finding: {study} {r['check']} {r['ids']}: {r['explanation']}"


def test_the_summary_gives_numbers_covered_per_paper_and_check(shipped):
    table = pd.concat(shipped.values(), ignore_index=True)
    s = audit.summary(table)
    assert set(s["paper"]) == set(paths.STUDIES)
    assert (s["numbers_covered"] > 0).all()
    # every p-value recomputed from counts covers its counts too
    soramic_p = s[(s["paper"] == "soramic") & (s["check"] == "p_from_counts")].iloc[0]
    assert soramic_p["numbers_covered"] > soramic_p["run"] * 3


# --------------------------------------------------------------------------------------
# the command line


def test_command_prints_the_summary_and_writes_the_rows(tmp_path, capsys):
    out = tmp_path / "audit.csv"
    assert main(["audit", "soramic", "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"soramic: \d+ checks run, \d+ passed, \d+ flagged, \d+ unexplained", text)
    assert "reciprocal" in text
    rows = pd.read_csv(out)
    assert list(rows.columns) == audit.AUDIT_COLUMNS and len(rows) > 100


def test_command_audits_any_file_in_the_format(tmp_path, capsys, madeup):
    numbers, _ = madeup
    assert main(["audit", str(numbers)]) == 0
    assert "madeup:" in capsys.readouterr().out


@pytest.mark.parametrize("content,expected", [
    ("id,value\nx,1\n", "missing required column"),
    ("", "empty"),
    (",".join(published.PUBLISHED_COLUMNS) + "\nx,madeup,s,c,g,count,many,,,,,,0,exact,1,\n",
     "column 'value'"),
    (",".join(published.PUBLISHED_COLUMNS) + "\nx,one,s,c,g,count,1,,,,,,0,exact,1,\n"
     "y,two,s,c,g,count,1,,,,,,0,exact,1,\n", "one study name"),
])
def test_a_malformed_file_gives_one_clear_error(tmp_path, capsys, content, expected):
    bad = tmp_path / "paper.csv"
    bad.write_text(content)
    assert main(["audit", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and expected in err and "Traceback" not in err


def test_unknown_study_missing_file_and_bad_links(tmp_path, capsys, madeup):
    assert main(["audit", "nope"]) == 1
    assert "unknown study" in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "missing.csv")]) == 1
    assert "not found" in capsys.readouterr().err
    numbers, links = madeup
    links.write_text(links.read_text() + "madeup,same,trial_cutoff,no_such_id,,\n")
    assert main(["audit", str(numbers)]) == 1
    assert "no_such_id" in capsys.readouterr().err


def test_the_audit_chapter_depends_on_the_published_numbers_and_links_only():
    """The page's execution cache is keyed on data/published (numbers and links) and the
    helpers source, not on any cohort or results file (helpers/book_ext.py)."""
    from helpers import book_ext

    import json

    nb = json.loads((paths.CHAPTERS / "audit_papers.ipynb").read_text())
    assert nb["metadata"]["hcc_book"]["study"] == "published"
    files = book_ext.notebook_inputs(nb)
    assert paths.AUDIT_LINKS in files
    assert all(paths.published_numbers(s) in files for s in paths.STUDIES)
    assert not any(f.is_relative_to(paths.SYNTHETIC) or f.is_relative_to(paths.RESULTS) for f in files)


def test_a_bad_csv_destination_is_refused_before_anything_runs(tmp_path, capsys):
    assert main(["audit", "pbis", "--csv", str(tmp_path / "no_such_folder" / "a.csv")]) == 1
    captured = capsys.readouterr()
    assert "folder does not exist" in captured.err and captured.out == ""
    assert main(["audit", "pbis", "--csv", str(tmp_path)]) == 1
    assert "is a folder" in capsys.readouterr().err
