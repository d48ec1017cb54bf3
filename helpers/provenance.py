"""Where each published number's reproduction comes from: what the analysis earned and what
the synthetic generator built in.

The data shipped with the book are synthetic (:mod:`helpers.synth`): every cohort was built
*from* the published numbers. A reproduced number that the generator matched by construction
says only that generator and chapters agree with the paper; it is no evidence about the
paper's analysis. :func:`classify` gives every published row (``data/published/<study>.csv``)
one provenance class:

``independent``
    Nothing in the generator aimed at this number: reproducing it is evidence.
``calibrated``
    The generator's calibration searched candidate cohorts for one whose analysis (the
    chapters' own functions) meets this number, or its side of 0.05: reproducing it checks
    that the analysis the calibration ran is the one the chapters run, and the printed
    numbers are mutually attainable.
``test-choice``
    A p-value of a table of counts that the generator reproduces exactly: the p depends only
    on the printed counts and on the test chosen, so reproducing it checks the choice of test
    (:mod:`helpers.testchoice`).
``input``
    A parameter the paper fixed in advance (a pre-specified cut-off) echoed back.
``built-in``
    A margin the generator matches by construction (counts, percentages, quantiles, means,
    Kaplan-Meier medians placed by a time warp, follow-up): a check that generator and
    chapters agree with the paper.

The rules are :data:`RULES`: one ordered list per study, first match wins, each citing the
step of ``helpers/synth/<study>.py`` it comes from; the step names are checked against the
generator modules by ``tests/test_scorecard.py``. This module is the one place that knows
them; the scorecard (:func:`helpers.scorecard.compare`) adds the class as a column.
"""
from __future__ import annotations

import re

import pandas as pd

#: The classes, in the order the scorecard reports them (evidence first).
CLASSES = ("independent", "calibrated", "test-choice", "input", "built-in")

#: What each class means, in one line (for the scorecard page).
MEANING = {
    "independent": "nothing in the generator aimed at it: a reproduction is evidence",
    "calibrated": "the generator's calibration searched for a cohort whose analysis meets it",
    "test-choice": "a p-value fixed by printed counts: only the choice of test is checked",
    "input": "a pre-specified parameter echoed back",
    "built-in": "a margin the generator matches by construction",
}

_DESCRIPTIVE = r"(count|percent|mean|sd|median|q1|q3|median_months|rate|cutoff|ratio|caliper|eligibility|followup|window|software|or|hr|p|r)"

#: ``{study: [(id regex, quantity regex, class, where in the generator)]}``, first match wins.
#: ``where`` names a function or constant of ``helpers/synth/<study>.py`` (checked by a test).
RULES: dict[str, list[tuple[str, str, str, str]]] = {
    "atebev_il6": [
        (r"_os_12m_rate$", r"rate", "independent",
         "module docstring step 6: the printed 1-year OS rates are not matched"),
        (r"^discovery_il6_(t_p_cb6m|p_pd_vs_cr_pr)$", r"p", "independent",
         "_assign_discovery places the Fig. 1 means only; their p-values are not aimed at"),
        (r"^total_age_p_il6$", r"p", "calibrated",
         "_age: Student's t p of age by IL-6 group held on the printed side of 0.05"),
        (r"_p_il6$", r"p", "test-choice",
         "_joint_table: Table 2 counts kept exactly, so its p follows from the test chosen"),
        (r"^discovery_il6_cutoff$", r"cutoff", "calibrated",
         "_maxstat_ok: the calibration keeps a draw on which maxstat returns the printed cut-off"),
        (r"_hr_", r"hr", "calibrated",
         "_hr_ok: the six printed HRs within half their implied standard error, p on the printed side"),
        (r"_logrank_p_il6_3p2$", r"p", "calibrated",
         "_alternative_ok: no significant difference at the alternative cut-off"),
        (r"_followup_median$", r"median_months", "built-in",
         "_fix_followup: censoring times moved until the printed median follow-up holds"),
        (r".", r"(count|percent|mean|median|q1|q3)", "built-in",
         "_joint_table, _il6_sorted (IL6_LAYOUT), _age, _assign_discovery: printed margins kept"),
        (r".", _DESCRIPTIVE, "built-in", "read from the published file (shown, not judged)"),
    ],
    "pbis": [
        (r"^(derivation|validation|matched)_p_orr_pbis$", r"p", "test-choice",
         "_responses: responders per PBIS group kept exactly, so the p follows from the test chosen"),
        (r"^lenvatinib_p_", r"p", "calibrated",
         "_loss_lenvatinib: no significant difference in the lenvatinib cohort"),
        (r"_p_univariable_", r"p", "calibrated",
         "_loss_derivation: Table S1 (NLR, CRP, IL-12, IL-2 significant, IL-6 not)"),
        (r"^total_(p_trend|r)_", r"(p|r)", "calibrated",
         "_baseline_ok: correlations and trends significant in the printed direction"),
        (r"^derivation_pbis_best_threshold$", r"cutoff", "calibrated",
         "_loss_derivation: best_threshold of the sensitivity analysis equals the printed one"),
        (r"^derivation_orr_or_", r"or", "calibrated", "_loss_response: the multivariable OR of response"),
        (r"_hr_", r"hr", "calibrated",
         "_loss_derivation, _loss_validation: log-HR distance to the printed HRs, p on the printed side"),
        (r"^discussion_", r".", "calibrated", "_loss_derivation, _loss_validation: the HRs it summarises"),
        (r".", r"(count|percent)", "built-in",
         "_points, _responses, _baseline_ok: group sizes, responders and 57 matched pairs kept"),
        (r".", r"cutoff", "input", "_markers: marker values placed on the printed side of each cut-off"),
        (r".", _DESCRIPTIVE, "built-in", "read from the published file (shown, not judged)"),
    ],
    "soramic": [
        (r"^soramic_cutoff_", r"cutoff", "input",
         "_marker_values, _liver_values: values on the printed side of the pre-specified cut-offs"),
        (r"^soramic_target_lesion_mm_p_", r"p", "independent",
         "_lesion_sizes places the medians and means only; the p-values are not aimed at"),
        (r"^soramic_(?!os_|ld_|pfs_|ldcp_).*_p_il[68]$", r"p", "test-choice",
         "_fit_by_cell, _binary_levels: Table 1 counts kept exactly, so the p follows from the test chosen"),
        (r"^soramic_(os|ld|pfs)_median_", r"median_months", "built-in",
         "_fit_medians: a monotone time warp puts the Kaplan-Meier medians on the printed ones"),
        (r"^soramic_(os|ld|pfs|ldcp)_", r"(hr|p|median_months)", "calibrated",
         "_outcomes, _score: draws searched for the most numbers met by scorecard.judge"),
        (r".", r"(count|percent|mean|median)", "built-in",
         "_cell_table, _fit_by_cell, _lesion_sizes, censor_for_events, _flow: printed margins kept"),
        (r".", _DESCRIPTIVE, "built-in", "read from the published file (shown, not judged)"),
    ],
}


def rule_for(study: str, id: str, quantity: str) -> tuple[str, str]:
    """``(class, where)`` for one published number: the first matching rule of :data:`RULES`.

    Raises
    ------
    KeyError
        If the study has no rules or no rule matches (a new kind of published number: add a
        rule saying what the generator does with it).
    """
    if study not in RULES:
        raise KeyError(f"helpers.provenance: no rules for study {study!r}")
    for id_re, q_re, cls, where in RULES[study]:
        if re.search(id_re, id) and re.fullmatch(q_re, quantity):
            return cls, where
    raise KeyError(f"helpers.provenance: no rule for {study} {id!r} (quantity {quantity!r}); "
                   "add one to RULES saying what the generator does with it")


def classify(published: pd.DataFrame) -> pd.DataFrame:
    """The provenance class of every published row.

    Parameters
    ----------
    published
        Rows of :func:`helpers.published.load` (``id``, ``study``, ``quantity``).

    Returns
    -------
    pandas.DataFrame
        ``study``, ``id``, ``provenance`` (one of :data:`CLASSES`) and ``provenance_why`` (the
        generator step), in the order of ``published``.
    """
    rows = [(r.study, r.id, *rule_for(r.study, r.id, r.quantity)) for r in published.itertuples()]
    return pd.DataFrame(rows, columns=["study", "id", "provenance", "provenance_why"])


def rule_functions(study: str) -> list[str]:
    """The generator names (``_hr_ok``, ``IL6_LAYOUT``, ...) the rules of ``study`` cite."""
    names = []
    for *_, where in RULES[study]:
        names += re.findall(r"\b(_[a-z0-9_]+|[A-Z][A-Z0-9]*_[A-Z0-9_]+|censor_for_events)\b", where)
    return sorted(set(names))
