"""Which test did the authors run? The evidence of the printed p-values.

A p-value of a table of counts depends only on the counts and on the test. Where the paper
prints both, every candidate test can be run on the printed counts and compared with the
printed p (at its printed decimals, or its bound): the test that reproduces the most printed
p-values is the best-supported reading of the Methods. :func:`categorical` does this for one
study (tables of counts as :func:`helpers.audit.table_for_p` builds them from
``data/published``; candidate p-values from :func:`helpers.audit.candidate_p_values`:
Pearson's chi-square, Yates' continuity correction, Fisher's exact test (R's
``fisher.test``, also for r x 2 tables), the likelihood-ratio (G) test and the expected-count
rule: Fisher when any expected count is below 5, otherwise Pearson). :func:`summary` counts,
per test, how many printed p-values it reproduces and how many it puts on the printed side of
0.05; :func:`book_test` names the test whose p the book's own analysis recorded.

Continuous rows (Student's t, Welch's t, Mann-Whitney U, Kruskal-Wallis) need the
patients' values, which the papers did not print: :func:`continuous` runs them on a cohort
(the shipped one is synthetic, so it shows how much the choice matters there, not what the
authors did).

Everything returns tidy DataFrames; the scorecard page shows them, one section per study.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from . import audit

#: Candidate tests for tables of counts, in the order shown (keys of
#: :func:`helpers.audit.candidate_p_values`).
TESTS = ("pearson", "yates", "fisher", "rule", "lr")
#: Readable names of the candidate tests.
NAMES = {"pearson": "Pearson's chi-square", "yates": "Yates' chi-square",
         "fisher": "Fisher's exact test", "rule": "expected-count rule (Fisher if any expected < 5)",
         "lr": "likelihood-ratio (G) test",
         "student": "Student's t test", "welch": "Welch's t test",
         "mannwhitney": "Mann-Whitney U test", "kruskal": "Kruskal-Wallis test"}
#: Candidate tests for a continuous variable in two groups.
CONTINUOUS_TESTS = ("student", "welch", "mannwhitney", "kruskal")
#: Columns of :func:`categorical`.
CATEGORICAL_COLUMNS = ["study", "id", "source", "printed", "table"] + [f"p_{t}" for t in TESTS] + \
    [f"match_{t}" for t in TESTS] + [f"side_{t}" for t in TESTS]


def _ledger(study: str) -> audit.Ledger:
    numbers = audit.load_ledger(study)
    return audit.Ledger(numbers, audit.load_links(study=study))


def _significant(p: float, bound: str) -> bool | None:
    """The printed p's side of 0.05 (``None``: a bound that does not decide it)."""
    if bound == "<":
        return True if p <= 0.05 else None
    if bound == ">":
        return False if p >= 0.05 else None
    return p < 0.05


def categorical(study: str) -> pd.DataFrame:
    """Every printed p of a table of counts in ``study``, with each candidate test's p.

    Returns
    -------
    pandas.DataFrame
        :data:`CATEGORICAL_COLUMNS`: ``printed`` (``"p = 0.287"``), ``table`` (the counts,
        rows separated by ``/``), ``p_<test>`` (NaN where a test is undefined, e.g. Yates
        beyond 2 x 2), ``match_<test>`` (True if the test reproduces the printed p: rounded or
        truncated to the printed decimals, or on the printed side of a bound) and
        ``side_<test>`` (True if on the printed side of 0.05; NaN if the printed bound does
        not decide the side).
    """
    ledger = _ledger(study)
    d = ledger.numbers
    rows = []
    for _, r in d[(d["quantity"] == "p") & d["value"].notna()].iterrows():
        built = audit.table_for_p(ledger, r["id"])
        if built is None:
            continue
        table, _ids, _how = built
        if len(table) < 2 or any(x < 0 for row in table for x in row):
            continue
        ps = audit.candidate_p_values(table)
        digits = 3 if pd.isna(r["digits"]) else int(r["digits"])
        bound = r["p_bound"] or "="
        sig = _significant(r["value"], bound)
        out = dict(study=study, id=r["id"], source=r["source"],
                   printed=f"p {bound} {r['value']:.{digits}f}",
                   table=" / ".join("-".join(str(x) for x in row) for row in table))
        for t in TESTS:
            p = ps.get(t, math.nan)
            out[f"p_{t}"] = p
            m = audit.p_matches(p, r["value"], bound, digits)
            out[f"match_{t}"] = m in ("rounded", "truncated", "bound")
            out[f"side_{t}"] = (math.nan if sig is None or not math.isfinite(p)
                                else float((p < 0.05) == sig))
        rows.append(out)
    return pd.DataFrame(rows, columns=CATEGORICAL_COLUMNS)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per candidate test: how many printed p-values it reproduces and how many it puts on the
    printed side of 0.05.

    Returns
    -------
    pandas.DataFrame
        ``test`` (key), ``name``, ``defined`` (p-values the test applies to), ``reproduced``,
        ``same_side`` (of those whose side the print decides), ``other_side`` (how many land on
        the other side of 0.05), ``other_side_ids``; sorted by ``reproduced`` (most first),
        ties in :data:`TESTS` order.
    """
    rows = []
    for t in TESTS:
        defined = frame[f"p_{t}"].notna() if len(frame) else pd.Series(dtype=bool)
        side = frame[f"side_{t}"] if len(frame) else pd.Series(dtype=float)
        other = frame.loc[side == 0, "id"].tolist() if len(frame) else []
        rows.append(dict(test=t, name=NAMES[t], defined=int(defined.sum()),
                         reproduced=int(frame[f"match_{t}"].sum()) if len(frame) else 0,
                         same_side=int((side == 1).sum()), other_side=len(other),
                         other_side_ids=", ".join(other)))
    out = pd.DataFrame(rows)
    out["_order"] = range(len(out))
    return out.sort_values(["reproduced", "_order"], ascending=[False, True]).drop(columns="_order") \
        .reset_index(drop=True)


def best(frame: pd.DataFrame) -> str:
    """The candidate test that reproduces the most printed p-values (first in :data:`TESTS`
    order on a tie)."""
    return str(summary(frame).iloc[0]["test"])


def book_tests(frame: pd.DataFrame, results: pd.DataFrame, tol: float = 1e-9) -> pd.Series:
    """Per printed p (index ``id``): the candidate test whose p the book recorded (``results``:
    rows with ``key`` and ``estimate``, e.g. a results file or a study's ``reproduce``), ``""``
    where none matches (the cohort's counts differ from the printed ones, or the id was not
    recorded). The shipped synthetic cohorts keep every printed count, so there the book's p
    equals one candidate's p exactly. Pearson is named before the rule where both match."""
    est = results.drop_duplicates("key", keep="last").set_index("key")["estimate"]
    out = {}
    for _, r in frame.iterrows():
        e = est.get(r["id"], math.nan)
        e = float(e) if e is not None else math.nan
        hit = [t for t in ("fisher", "pearson", "yates", "lr", "rule")
               if math.isfinite(e) and math.isfinite(r[f"p_{t}"]) and abs(r[f"p_{t}"] - e) <= tol]
        out[r["id"]] = hit[0] if hit else ""
    return pd.Series(out, name="book", dtype=str)


def book_test(frame: pd.DataFrame, results: pd.DataFrame) -> str | None:
    """The test the book uses for most of these p-values (:func:`book_tests`), or ``None``."""
    used = book_tests(frame, results)
    used = used[used != ""]
    return None if used.empty else str(used.value_counts().index[0])


def display_frame(frame: pd.DataFrame, book: pd.Series | None = None) -> pd.DataFrame:
    """:func:`categorical` for the page: the printed p, the table of counts and each test's p
    as text (``0.248``, ``<0.001``; a tick where it reproduces the printed p, a dagger where it
    lands on the other side of 0.05), and the test the book used (``book``, from
    :func:`book_tests`)."""
    from .results import fmt_p

    short = {"pearson": "Pearson", "yates": "Yates", "fisher": "Fisher", "rule": "rule", "lr": "LR"}
    rows = []
    for _, r in frame.iterrows():
        out = {"id": r["id"], "printed": r["printed"], "counts": r["table"]}
        for t in TESTS:
            p = r[f"p_{t}"]
            text = fmt_p(p, prefix=False) if math.isfinite(p) else "–"
            if r[f"match_{t}"]:
                text += " ✓"
            if r[f"side_{t}"] == 0:
                text += " †"
            out[short[t]] = text
        if book is not None:
            out["book"] = short.get(book.get(r["id"], ""), "")
        rows.append(out)
    return pd.DataFrame(rows)


def continuous_p(a, b) -> dict:
    """The two-sided p of each candidate test (:data:`CONTINUOUS_TESTS`) for two samples
    (missing values dropped): Student's t (pooled variance, R ``t.test(var.equal = TRUE)``),
    Welch's t (R ``t.test``), Mann-Whitney U (R ``wilcox.test(correct = TRUE)``, normal
    approximation with continuity correction; exact where scipy chooses it) and Kruskal-Wallis
    (R ``kruskal.test``)."""
    a = np.asarray(pd.to_numeric(pd.Series(a), errors="coerce").dropna(), float)
    b = np.asarray(pd.to_numeric(pd.Series(b), errors="coerce").dropna(), float)
    if len(a) < 2 or len(b) < 2:
        return dict.fromkeys(CONTINUOUS_TESTS, math.nan)
    return {"student": float(stats.ttest_ind(a, b).pvalue),
            "welch": float(stats.ttest_ind(a, b, equal_var=False).pvalue),
            "mannwhitney": float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue),
            "kruskal": float(stats.kruskal(a, b).pvalue)}


#: Continuous rows with a printed p: ``{study: [(published id, value column, group column,
#: (group a, group b), cohort filter or None)]}`` (columns of the study's ``load``).
CONTINUOUS_ROWS = {
    "atebev_il6": [("total_age_p_il6", "age_years", "il6_group", ("il6_low", "il6_high"), None)],
    "soramic": [("soramic_target_lesion_mm_p_il6", "target_lesion_mm", "il6_high", (0, 1), None),
                ("soramic_target_lesion_mm_p_il8", "target_lesion_mm", "il8_high", (0, 1), None)],
}


def continuous(study: str, df: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """The candidate tests of :data:`CONTINUOUS_ROWS` on a cohort ``df`` (the study's
    ``load``) beside the printed p: ``id``, ``printed``, ``p_<test>``, ``side_<test>`` (True if
    on the printed side of 0.05). On the shipped synthetic cohort this shows how much the
    choice of test matters for these data, not which test the authors ran."""
    pub = published.set_index("id")
    rows = []
    for id_, col, grp, (ga, gb), _ in CONTINUOUS_ROWS.get(study, []):
        if id_ not in pub.index or col not in df or grp not in df:
            continue
        r = pub.loc[id_]
        ps = continuous_p(df.loc[df[grp] == ga, col], df.loc[df[grp] == gb, col])
        digits = 3 if pd.isna(r["digits"]) else int(r["digits"])
        bound = r["p_bound"] or "="
        sig = _significant(r["value"], bound)
        out = dict(study=study, id=id_, printed=f"p {bound} {r['value']:.{digits}f}")
        for t in CONTINUOUS_TESTS:
            out[f"p_{t}"] = ps[t]
            out[f"side_{t}"] = math.nan if sig is None else float((ps[t] < 0.05) == sig)
        rows.append(out)
    return pd.DataFrame(rows, columns=["study", "id", "printed"] + [f"p_{t}" for t in CONTINUOUS_TESTS]
                        + [f"side_{t}" for t in CONTINUOUS_TESTS])


def continuous_display(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`continuous` for the page: each test's p as text, a dagger where it lands on the
    other side of 0.05 from the printed p."""
    from .results import fmt_p

    rows = []
    for _, r in frame.iterrows():
        out = {"id": r["id"], "printed": r["printed"]}
        for t in CONTINUOUS_TESTS:
            text = fmt_p(r[f"p_{t}"], prefix=False)
            out[NAMES[t]] = text + (" †" if r[f"side_{t}"] == 0 else "")
        rows.append(out)
    return pd.DataFrame(rows)


class Evidence(NamedTuple):
    text: str              #: the sentence for the page
    summary: pd.DataFrame  #: :func:`summary` of the candidate tests
    frame: pd.DataFrame    #: :func:`categorical`: the printed p-values and each test's p
    used: pd.Series | None  #: :func:`book_tests`: the test the book used for each row


def evidence(study: str, results) -> Evidence:
    """The scorecard page's account of one study's test choice: a sentence (how many printed
    p-values, the best-supported test and how many it reproduces, the test the book uses, and
    the printed p-values that change side of 0.05 under the best-supported test) and the
    :func:`summary` table it is drawn from, with the rows and the book's tests. ``results``: the book's recorded results (empty:
    the sentence leaves out the book's own test)."""
    frame = categorical(study)
    mine = results[results["study"] == study] if not results.empty else None
    summary_tc = summary(frame)
    best = summary_tc.iloc[0]
    text = (f"{len(frame)} printed p-values with their table of counts. The best-supported test is "
            f"**{NAMES[best['test']]}**: it reproduces {best['reproduced']} of {best['defined']}. ")
    used_test = book_test(frame, mine) if mine is not None else None
    used = book_tests(frame, mine) if mine is not None else None
    if used_test:
        n_used = int((used == used_test).sum())
        row = summary_tc.set_index("test").loc[used_test]
        text += (f"The book uses **{NAMES[used_test]}** for {n_used} of them "
                 f"(it reproduces {row['reproduced']} printed p-values and puts {row['other_side']} on "
                 "the other side of 0.05). ")
    flips = summary_tc.set_index("test").loc[best["test"], "other_side_ids"]
    if flips:
        text += f"Under the best-supported test these printed p-values change side of 0.05: {flips}."
    return Evidence(text, summary_tc, frame, used)
