"""An audit of a paper's printed statistics: does the paper agree with itself?

Every check reads only the transcribed numbers (``data/published/<study>.csv``, format in
``data/published/README.md``) and returns tidy rows, one per thing checked:

``paper, location, check, ids, printed, recomputed, verdict, explanation, n_printed``

- ``verdict`` is ``passed`` (the printed numbers agree), ``flagged`` (they disagree, and the
  check names the most likely reason: truncation, a reversed reference level, another test),
  or ``unexplained`` (they disagree and no candidate explanation the check knows fits).
- ``ids`` lists the printed numbers the row used (space-separated ``id`` values);
  ``n_printed`` counts them, so :func:`coverage` can say how many printed numbers each
  check covered.

The checks (:data:`CHECKS`, in this order):

``percent_vs_count``
    a percentage against its count and denominator: rounded, truncated, or of another count
    (GRIM for percentages, Brown & Heathers 2017);
``counts_add_up``
    categories adding up to their group, groups to their cohort, cohorts to the total;
``means_add_up``
    group means weighted by group size against the printed overall mean;
``p_from_counts``
    a p-value recomputed from the printed counts with each candidate test (Pearson's
    chi-square, Yates' correction, Fisher's exact test, the expected-count rule, the
    likelihood-ratio G test); names the test(s) that reproduce it;
``one_test_per_table``
    whether one test reproduces every p of a table;
``ci_symmetry``, ``p_from_ci``, ``ci_vs_p``
    a ratio's CI symmetric on the log scale; the p implied by the CI (Altman & Bland 2011)
    against the printed p; a CI excluding 1 against p < 0.05;
``printed_twice``
    the same quantity printed in two places (value, CI, p);
``reciprocal``
    two ratios that are each other's reciprocal (a reference level flipped);
``copied_values``
    two different quantities printed with identical estimate, CI and p;
``units``
    the same quantity printed in different units, or a unit that differs from the one the
    ledger reads it in;
``paraphrase_range``
    a number paraphrased in the text ("~1.5-2-fold") against the numbers it summarises;
``events_per_covariate``
    events per term of each printed multivariable model;
``matched_vs_source``
    a matched group against the groups it could have been drawn from;
``events_vs_survival``
    the deaths an HR and its p need against the deaths a printed survival rate allows.

What the ledger cannot say by itself (which percentages share a denominator other than their
group's, which categories should add up, which rows print the same quantity, which printed
unit differs from the unit the ledger uses) is in ``data/published/audit_links.csv``; the
rest is derived from the ledger's columns and ``id`` conventions (see each function).

Printed rounding is respected everywhere: a printed number stands for the interval of true
values that print as it, by rounding half-up or by truncation (some software truncates);
two numbers disagree only when no values in their intervals agree. The statistics are
``scipy.stats``; the exact Fisher test for tables with more than two rows is enumerated here
(scipy's r x c test is a Monte Carlo approximation), as R's ``fisher.test`` does.

References: Brown NJL, Heathers JAJ (2017) The GRIM test. Soc Psychol Personal Sci 8:363-9.
Altman DG, Bland JM (2011) How to obtain the P value from a confidence interval. BMJ
343:d2304.
"""
from __future__ import annotations

import fnmatch
import itertools
import math
import os
import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from . import paths, published

#: Columns of an audit table, in order.
AUDIT_COLUMNS = ["paper", "location", "check", "ids", "printed", "recomputed", "verdict",
                 "explanation", "n_printed"]
#: Verdicts, from agreement to disagreement.
VERDICTS = ("passed", "flagged", "unexplained")
#: Columns of ``data/published/audit_links.csv``.
LINK_COLUMNS = ["study", "relation", "id", "members", "detail", "note"]
#: What a link row may say (see ``data/published/README.md``).
RELATIONS = ("percent_of", "sum", "table", "stated_test", "same", "printed_unit", "model",
             "summarises")
#: Candidate tests for a p from counts, with their names in the explanations.
TESTS = {"pearson": "Pearson's chi-square without continuity correction",
         "yates": "chi-square with Yates' continuity correction",
         "fisher": "Fisher's exact test",
         "rule": "the expected-count rule (Fisher when an expected count is below 5, else Pearson)",
         "lr": "the likelihood-ratio (G) test"}
#: Short names of the tests, for the explanations.
TEST_NAMES = {"pearson": "Pearson's chi-square", "yates": "Yates' chi-square",
              "fisher": "Fisher's exact test", "rule": "the expected-count rule",
              "lr": "the likelihood-ratio G test"}
RATIO_QUANTITIES = ("hr", "or", "rr")
_Z975 = stats.norm.ppf(0.975)


class AuditInputError(ValueError):
    """A published-numbers file or its links cannot be audited (one readable message)."""


# --------------------------------------------------------------------------------------
# printed numbers as intervals


def _half(digits: int) -> float:
    return 0.5 * 10 ** (-int(digits))


def printed_interval(value: float, digits: int, truncation: bool = True) -> tuple[float, float]:
    """The true values that print as ``value`` at ``digits`` decimals.

    Rounding gives ``[value - h, value + h]`` (h = half a unit in the last printed digit);
    with ``truncation`` the values that truncate to ``value`` are added, ``[value, value + 2h)``.
    """
    h = _half(digits)
    return value - h, value + (2 * h if truncation else h)


def round_half_up(x: float, digits: int) -> float:
    """``x`` rounded half away from zero at ``digits`` decimals (as journals and SPSS print)."""
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-int(digits)), ROUND_HALF_UP))


def round_half_even(x: float, digits: int) -> float:
    """``x`` rounded half to even at ``digits`` decimals (R's and Python's ``round``)."""
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-int(digits)), ROUND_HALF_EVEN))


def truncate(x: float, digits: int) -> float:
    """``x`` truncated (not rounded) at ``digits`` decimals."""
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-int(digits)), ROUND_DOWN))


def _same(a: float, b: float) -> bool:
    return abs(a - b) < 1e-9


def _fmt(x: float, digits: int | None = None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NA"
    if digits is None:
        return f"{x:g}"
    return f"{x:.{int(digits)}f}"


def fmt_p(p: float) -> str:
    """A p-value as the book prints it: ``<0.001`` or three decimals (never ``0.000``)."""
    if p is None or not math.isfinite(p):
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_p_range(lo: float, hi: float) -> str:
    """A range of computed p-values, each as :func:`fmt_p` prints it (one value if equal)."""
    a, b = fmt_p(lo), fmt_p(hi)
    return a if a == b else f"{a} to {b}"


def _decimals_of(x: float) -> int:
    text = repr(float(x))
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


# --------------------------------------------------------------------------------------
# GRIM and percentages


def percent_readings(count: int, n: int, digits: int) -> dict:
    """How ``count / n`` prints as a percentage at ``digits`` decimals, by each rule.

    Returns a dict with ``exact`` (the unrounded percentage), ``half_up``, ``half_even``,
    ``truncated`` (each the printed value under that rule) and ``tie`` (True when the exact
    percentage lies half-way between two printable values).
    """
    exact = Decimal(100 * int(count)) / Decimal(int(n))
    q = Decimal(1).scaleb(-int(digits))
    half_up = exact.quantize(q, ROUND_HALF_UP)
    half_even = exact.quantize(q, ROUND_HALF_EVEN)
    down = exact.quantize(q, ROUND_DOWN)
    return {"exact": float(exact), "half_up": float(half_up), "half_even": float(half_even),
            "truncated": float(down), "tie": (exact - down) * 2 == q}


def classify_percent(printed: float, count: int, n: int, digits: int) -> str:
    """How a printed percentage relates to ``count / n``.

    Returns ``"rounded"`` (half-up rounding gives it), ``"tie"`` (the exact value is half-way
    and the printed value is the other neighbour: round-half-even or truncation),
    ``"truncated"`` (only truncation gives it) or ``"other"`` (no rule gives it).
    """
    r = percent_readings(count, n, digits)
    if _same(printed, r["half_up"]):
        return "rounded"
    if r["tie"] and (_same(printed, r["half_even"]) or _same(printed, r["truncated"])):
        return "tie"
    if _same(printed, r["truncated"]):
        return "truncated"
    return "other"


def grim_counts(printed: float, n: int, digits: int, scale: float = 100.0,
                truncation: bool = False) -> list[int]:
    """Every integer total ``k`` (0..n x scale/100 for means) such that ``k / n`` prints as
    ``printed``: the GRIM test (Brown & Heathers 2017) for percentages (``scale=100``) or
    means of integer data (``scale=1``: ``k`` is the sum of the n values).

    An empty list means the printed value is impossible with this ``n``.
    """
    n = int(n)
    if n <= 0 or not math.isfinite(printed):
        return []
    lo, hi = printed_interval(printed, digits, truncation=truncation)
    k_lo = max(0, math.floor(lo * n / scale) - 1)
    k_hi = math.ceil(hi * n / scale) + 1
    if scale == 100.0:
        k_hi = min(k_hi, n)
    out = []
    for k in range(k_lo, k_hi + 1):
        exact = Decimal(int(k)) * Decimal(repr(scale)) / Decimal(n)
        q = Decimal(1).scaleb(-int(digits))
        shown = {float(exact.quantize(q, ROUND_HALF_UP)), float(exact.quantize(q, ROUND_HALF_EVEN))}
        if truncation:
            shown.add(float(exact.quantize(q, ROUND_DOWN)))
        if any(_same(s, printed) for s in shown):
            out.append(k)
    return out


def grim_consistent(printed: float, n: int, digits: int, scale: float = 100.0) -> bool:
    """True when some integer total gives ``printed`` at ``digits`` decimals with ``n``
    (rounding half-up or half-even; see :func:`grim_counts`)."""
    return bool(grim_counts(printed, n, digits, scale))


# --------------------------------------------------------------------------------------
# p-values from counts


def fisher_exact_rx2(table) -> float:
    """Two-sided Fisher(-Freeman-Halton) exact p of an r x 2 table of counts.

    Enumerates every table with the observed margins and sums the probabilities of those no
    more likely than the observed one (with R's relative tolerance 1e-7), as R's
    ``fisher.test`` does; for 2 x 2 tables it equals ``scipy.stats.fisher_exact``.
    """
    t = np.asarray(table, dtype=int)
    if t.ndim != 2 or t.shape[1] != 2:
        raise ValueError("fisher_exact_rx2 needs an r x 2 table")
    rows = t.sum(axis=1)
    col0 = int(t[:, 0].sum())
    total = int(t.sum())
    log_denom = _log_comb(total, col0)

    def logp(xs):
        return sum(_log_comb(int(r), int(x)) for r, x in zip(rows, xs)) - log_denom

    observed = logp(t[:, 0])
    p = 0.0

    def walk(i, remaining, acc):
        nonlocal p
        if i == len(rows) - 1:
            if 0 <= remaining <= rows[i]:
                lp = logp(acc + [remaining])
                if lp <= observed + 1e-7 * abs(observed) + 1e-12:
                    p += math.exp(lp)
            return
        rest = int(rows[i + 1:].sum())
        for x in range(max(0, remaining - rest), min(int(rows[i]), remaining) + 1):
            walk(i + 1, remaining - x, acc + [x])

    walk(0, col0, [])
    return min(1.0, p)


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def candidate_p_values(table) -> dict:
    """The p of each candidate test (:data:`TESTS`) for a table of counts (r x 2).

    ``yates`` is only defined for 2 x 2 tables (NaN otherwise). ``rule`` is Fisher's p when
    any expected count is below 5, else Pearson's. Empty rows or columns are dropped first.
    """
    t = np.asarray(table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    out = {k: math.nan for k in TESTS}
    if t.shape[0] < 2 or t.shape[1] < 2:
        return out
    pearson = stats.chi2_contingency(t, correction=False)
    out["pearson"] = float(pearson.pvalue)
    if t.shape == (2, 2):
        out["yates"] = float(stats.chi2_contingency(t, correction=True).pvalue)
        out["fisher"] = float(stats.fisher_exact(t.astype(int)).pvalue)
    elif t.shape[1] == 2:
        out["fisher"] = fisher_exact_rx2(t.astype(int))
    elif t.shape[0] == 2:
        out["fisher"] = fisher_exact_rx2(t.T.astype(int))
    out["lr"] = float(stats.chi2_contingency(t, correction=False, lambda_="log-likelihood").pvalue)
    out["rule"] = out["fisher"] if (pearson.expected_freq < 5).any() else out["pearson"]
    return out


def p_matches(candidate: float, printed: float, bound: str, digits: int) -> str | None:
    """How a computed p reproduces a printed one: ``"rounded"``, ``"truncated"``,
    ``"bound"`` (a printed ``p < x`` or ``p > x`` holds), ``"one unit"`` (one unit off in the
    last printed digit: a weaker match, used only when nothing matches exactly) or ``None``."""
    if candidate is None or not math.isfinite(candidate):
        return None
    if bound == "<":
        return "bound" if candidate < printed + 1e-12 else None
    if bound == ">":
        return "bound" if candidate > printed - 1e-12 else None
    if _same(round_half_up(candidate, digits), printed):
        return "rounded"
    if _same(truncate(candidate, digits), printed):
        return "truncated"
    if abs(round_half_up(candidate, digits) - printed) <= 10 ** (-digits) + 1e-12:
        return "one unit"
    return None


# --------------------------------------------------------------------------------------
# ratios, CIs and p (Altman & Bland 2011)


def p_from_ci(estimate: float, lower: float, upper: float, ratio: bool = True,
              method: str = "normal") -> float:
    """The two-sided p implied by an estimate and its 95% CI (Altman & Bland 2011).

    SE = (upper - lower) / (2 x 1.96) on the log scale for a ratio, z = estimate / SE, and
    p from the normal distribution (``method="normal"``) or from the paper's approximation
    ``exp(-0.717 z - 0.416 z^2)`` (``method="altman_bland"``).
    """
    if ratio:
        estimate, lower, upper = math.log(estimate), math.log(lower), math.log(upper)
    se = (upper - lower) / (2 * 1.96)
    z = abs(estimate / se)
    if method == "altman_bland":
        return math.exp(-0.717 * z - 0.416 * z * z)
    return float(2 * stats.norm.sf(z))


def ci_from_p(estimate: float, p: float, ratio: bool = True) -> tuple[float, float]:
    """The 95% CI implied by an estimate and its two-sided p (Altman & Bland 2011, BMJ
    343:d2090): z = -0.862 + sqrt(0.743 - 2.404 log p), SE = |estimate| / z."""
    z = -0.862 + math.sqrt(0.743 - 2.404 * math.log(p))
    est = math.log(estimate) if ratio else estimate
    se = abs(est) / z
    lo, hi = est - 1.96 * se, est + 1.96 * se
    return (math.exp(lo), math.exp(hi)) if ratio else (lo, hi)


def _p_interval(p: float, bound: str, digits: int) -> tuple[float, float]:
    if bound == "<":
        return 0.0, p
    if bound == ">":
        return p, 1.0
    lo, hi = printed_interval(p, digits)
    return max(lo, 0.0), min(hi, 1.0)


def implied_p_range(est, lower, upper, d_est, d_ci) -> tuple[float, float]:
    """Smallest and largest p implied by a ratio and CI over their printed intervals."""
    e = printed_interval(est, d_est)
    lo = printed_interval(lower, d_ci)
    hi = printed_interval(upper, d_ci)
    ps = []
    for a, b, c in itertools.product(e, lo, hi):
        if a > 0 and b > 0 and c > b:
            ps.append(p_from_ci(a, b, c))
    if not ps:
        return math.nan, math.nan
    # |z| is monotone in each argument, so the corners bound it, except where the
    # estimate interval crosses 1 (p can reach 1)
    top = 1.0 if e[0] <= 1 <= e[1] else max(ps)
    return min(ps), top


# --------------------------------------------------------------------------------------
# loading


def _study_of(file: Path) -> str:
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False, usecols=["study"])
    except pd.errors.EmptyDataError:
        raise published.PublishedFormatError(file, ["the file is empty (expected a header line)"]) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise published.PublishedFormatError(file, [f"not a readable CSV file: {exc}"]) from None
    except ValueError:
        raise published.PublishedFormatError(file, ["missing required column(s) study"]) from None
    names = sorted(set(raw["study"].str.strip()) - {""})
    if len(names) != 1:
        raise published.PublishedFormatError(
            file, [f"column 'study': expected one study name in every row; found "
                   f"{', '.join(repr(x) for x in names) or 'none'}"])
    if not published._ID.match(names[0]):
        raise published.PublishedFormatError(
            file, [f"column 'study': expected a snake_case name; found {names[0]!r}"])
    return names[0]


def resolve(study_or_path: str | os.PathLike) -> Path:
    """The published-numbers file for a study name (``soramic``) or a path to a CSV."""
    text = str(study_or_path)
    if text in paths.STUDIES:
        return paths.published_numbers(text)
    path = Path(text)
    if path.suffix.lower() == ".csv" or path.exists() or os.sep in text:
        if not path.exists():
            raise FileNotFoundError(f"{path}: published-numbers file not found")
        if path.is_dir():
            raise AuditInputError(f"{path}: is a folder; expected a published-numbers CSV file")
        return path
    raise AuditInputError(f"unknown study {text!r}: expected one of {', '.join(paths.STUDIES)} "
                          "or the path of a published-numbers CSV (format: data/published/README.md)")


def load_ledger(study_or_path: str | os.PathLike) -> pd.DataFrame:
    """Read and check one published-numbers file (any study name, for a transcribed paper).

    Raises :class:`helpers.published.PublishedFormatError` (every problem listed) or
    ``FileNotFoundError``.
    """
    file = resolve(study_or_path)
    if not file.exists():
        raise FileNotFoundError(f"{file}: published-numbers file not found")
    return published.read(file, _study_of(file))


def links_file(folder: str | os.PathLike | None = None) -> Path:
    """``audit_links.csv`` beside the published-numbers files (:data:`helpers.paths.AUDIT_LINKS`
    for the book's own folder)."""
    return Path(folder) / paths.AUDIT_LINKS.name if folder is not None else paths.AUDIT_LINKS


def load_links(file: str | os.PathLike | None = None, study: str | None = None,
               ids: set | None = None) -> pd.DataFrame:
    """The audit links (``data/published/audit_links.csv``) of ``study``; an empty table if
    the file does not exist. Every problem is reported at once, with its CSV line."""
    file = Path(file) if file is not None else links_file()
    if not file.exists():
        return pd.DataFrame(columns=LINK_COLUMNS)
    try:
        raw = pd.read_csv(file, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise published.PublishedFormatError(file, [f"not a readable CSV file: {exc}"]) from None
    problems = []
    missing = [c for c in LINK_COLUMNS[:4] if c not in raw.columns]
    if missing:
        raise published.PublishedFormatError(file, [f"missing column(s) {', '.join(missing)}; "
                                                    f"expected {', '.join(LINK_COLUMNS)}"])
    for c in LINK_COLUMNS:
        if c not in raw:
            raw[c] = ""
    raw = raw[LINK_COLUMNS].apply(lambda s: s.str.strip())
    raw["line"] = raw.index + 2
    bad = ~raw["relation"].isin(RELATIONS)
    for _, r in raw[bad].iterrows():
        problems.append(f"line {r['line']}, column 'relation': expected one of "
                        f"{', '.join(RELATIONS)}; found {r['relation']!r}")
    if study is not None:
        raw = raw[raw["study"] == study]
    if ids is not None:
        for _, r in raw.iterrows():
            names = [r["id"]] if not any(ch in r["id"] for ch in "*?[") else []
            if r["relation"] not in ("stated_test", "model"):
                names += [m.split(":", 1)[-1] for m in re.split(r"[\s;/]+", r["members"])
                          if m and m not in ("-", "n:") and not m.endswith(":")]
            unknown = [x for x in names if x not in ids]
            if unknown:
                problems.append(f"line {r['line']}: id(s) {', '.join(unknown)} not in the "
                                f"published numbers of {r['study']}")
            if (any(ch in r["id"] for ch in "*?[")
                    and not any(fnmatch.fnmatchcase(i, r["id"]) for i in ids)):
                problems.append(f"line {r['line']}: pattern {r['id']!r} matches no id of {r['study']}")
    if problems:
        raise published.PublishedFormatError(file, problems)
    return raw.reset_index(drop=True)


class Ledger:
    """One paper's printed numbers with its links, and what the checks derive from them."""

    def __init__(self, numbers: pd.DataFrame, links: pd.DataFrame | None = None):
        self.numbers = numbers.reset_index(drop=True)
        self.paper = str(self.numbers["study"].iloc[0]) if len(self.numbers) else ""
        self.links = links if links is not None else pd.DataFrame(columns=LINK_COLUMNS)
        #: rows as dicts (fast to scan); ``row`` and ``group_size`` return these
        self.records = self.numbers.to_dict("records")
        self.by_id = {r["id"]: r for r in self.records}
        self._sizes: dict = {}
        self.paraphrases = set(self.links.loc[self.links["relation"] == "summarises", "id"])

    # -- lookups ----------------------------------------------------------------------
    def row(self, id_: str) -> pd.Series | None:
        return self.by_id.get(id_)

    def rel(self, relation: str) -> pd.DataFrame:
        return self.links[self.links["relation"] == relation]

    def location(self, id_: str) -> str:
        r = self.by_id.get(id_)
        return "" if r is None else str(r["source"])

    def group_size(self, cohort: str, group: str) -> dict | None:
        """The row printing the size of ``group`` in ``cohort``: the largest preferred count
        of patients with that cohort and group (a group's size is at least any count in it)."""
        key = (cohort, group)
        if key not in self._sizes:
            best = None
            for r in self.records:
                if (r["cohort"] == cohort and r["group"] == group and r["quantity"] == "count"
                        and r["preferred"] == 1 and r["unit"] in ("patients", "")
                        and not pd.isna(r["value"]) and (best is None or r["value"] > best["value"])):
                    best = r
            self._sizes[key] = best
        return self._sizes[key]

    def stated_tests(self, id_: str) -> list[str]:
        for _, r in self.rel("stated_test").iterrows():
            if fnmatch.fnmatchcase(id_, r["id"]):
                return r["detail"].split()
        return []


def _tokens(id_: str) -> list[str]:
    return id_.split("_")


def _stem(id_: str, drop: set) -> tuple:
    return tuple(t for t in _tokens(id_) if t not in drop)


_QUANTITY_TOKENS = {"n", "count", "pct", "percent", "p", "all"}


def _row(ledger: Ledger, id_: str, check: str, printed: str, recomputed: str, verdict: str,
         explanation: str, ids: list[str]) -> dict:
    ids = list(dict.fromkeys(i for i in ids if i))
    return dict(paper=ledger.paper, location=ledger.location(id_), check=check,
                ids=" ".join(ids), printed=printed, recomputed=recomputed, verdict=verdict,
                explanation=explanation, n_printed=len(ids))


# --------------------------------------------------------------------------------------
# the checks


def _count_sibling(ledger: Ledger, id_: str) -> str | None:
    """The count printed beside a percentage: the same id with ``pct``/``percent`` replaced by
    ``n``/``count``, or removed (``x_pct_events`` -> ``x_events``)."""
    toks = _tokens(id_)
    for i, t in enumerate(toks):
        if t in ("pct", "percent"):
            for repl in (["n"], ["count"], []):
                cand = "_".join(toks[:i] + repl + toks[i + 1:])
                r = ledger.row(cand)
                if r is not None and r["quantity"] == "count":
                    return cand
    return None


def check_percent_vs_count(ledger: Ledger) -> list[dict]:
    """Each printed percentage against its count and denominator.

    The count is the id's sibling (:func:`_count_sibling`) and the denominator the size of
    the row's cohort and group (:meth:`Ledger.group_size`), unless a ``percent_of`` link
    names them. With a count, the printed value is *rounded* (passed), a half-way *tie*
    printed by round-half-even or truncation (passed), *truncated* (flagged), or of *another
    count* (flagged, the count that gives it named: GRIM); without a count, GRIM alone: some
    count must give the printed value.
    """
    d = ledger.numbers
    links = {r["id"]: r["members"].split() for _, r in ledger.rel("percent_of").iterrows()}
    out = []
    rows = d[(d["quantity"] == "percent") & d["value"].notna() & (d["cohort"] != "external")
             & d["lower"].isna() & d["upper"].isna() & ~d["id"].isin(ledger.paraphrases)]
    for _, r in rows.iterrows():
        digits = int(r["digits"]) if not pd.isna(r["digits"]) else 1
        if r["id"] in links:
            count_id, denom_id = (links[r["id"]] + [None, None])[:2]
            count_id = None if count_id == "-" else count_id
            denom = ledger.row(denom_id) if denom_id else None
        else:
            count_id = _count_sibling(ledger, r["id"])
            denom = ledger.group_size(r["cohort"], r["group"])
        if denom is not None and count_id == denom["id"] and r["group"] != "all":
            # the percentage of a group's size: of the whole cohort
            denom = ledger.group_size(r["cohort"], "all")
        if denom is None or not denom["value"] >= 1:
            continue
        n = int(denom["value"])
        count = ledger.row(count_id) if count_id else None
        if count is not None and not 0 <= count["value"] <= n:
            out.append(_row(ledger, r["id"], "percent_vs_count", f"{_fmt(r['value'])}%",
                            f"count {_fmt(count['value'])} of {n}", "unexplained",
                            "the count is not between 0 and its denominator", [r["id"], count_id, denom["id"]]))
            continue
        ids = [r["id"], count_id, denom["id"]]
        if count is not None:
            k = int(count["value"])
            how = classify_percent(r["value"], k, n, digits)
            readings = percent_readings(k, n, digits)
            recomputed = f"{k}/{n} = {readings['exact']:.{digits + 2}f}%"
            printed = f"{r['value']:.{digits}f}%"
            if how == "rounded":
                out.append(_row(ledger, r["id"], "percent_vs_count", printed, recomputed, "passed",
                                "rounded", ids))
            elif how == "tie":
                out.append(_row(ledger, r["id"], "percent_vs_count", printed, recomputed, "passed",
                                "half-way: printed by round-half-even or truncation; half-up "
                                f"rounding gives {_fmt(readings['half_up'], digits)}", ids))
            elif how == "truncated":
                out.append(_row(ledger, r["id"], "percent_vs_count", printed, recomputed, "flagged",
                                f"truncated, not rounded: rounding gives "
                                f"{_fmt(readings['half_up'], digits)}%", ids))
            else:
                others = grim_counts(r["value"], n, digits, truncation=True)
                if others:
                    alt = ", ".join(f"{o}/{n}" for o in others[:3])
                    expl = (f"the printed percentage is that of {alt}, not of the printed count "
                            f"{k}: a misprint in the percentage or the count")
                    verdict = "flagged"
                else:
                    expl = f"no count out of {n} gives {printed} (GRIM-inconsistent)"
                    verdict = "unexplained"
                out.append(_row(ledger, r["id"], "percent_vs_count", printed, recomputed, verdict,
                                expl, ids))
        else:
            ks = grim_counts(r["value"], n, digits)
            printed = f"{r['value']:.{digits}f}% of {n}"
            if ks:
                out.append(_row(ledger, r["id"], "percent_vs_count", printed,
                                " or ".join(f"{k}/{n}" for k in ks[:3]), "passed",
                                "GRIM-consistent (no count printed)", ids))
            else:
                tk = grim_counts(r["value"], n, digits, truncation=True)
                if tk:
                    out.append(_row(ledger, r["id"], "percent_vs_count", printed,
                                    " or ".join(f"{k}/{n}" for k in tk[:3]), "flagged",
                                    "truncated, not rounded (no count printed)", ids))
                else:
                    out.append(_row(ledger, r["id"], "percent_vs_count", printed, "none", "unexplained",
                                    f"no count out of {n} gives the printed percentage "
                                    "(GRIM-inconsistent)", ids))
    return out


def _partitions(groups: set) -> list[tuple[str, str]]:
    """Pairs of groups that split a cohort: ``x_high``/``x_low``, ``x``/``non_x``."""
    pairs = []
    for g in sorted(groups):
        if g.endswith("_high") and g[:-5] + "_low" in groups:
            pairs.append((g, g[:-5] + "_low"))
        if "non_" + g in groups:
            pairs.append((g, "non_" + g))
    return pairs


def _sum_row(ledger, total_id, part_ids, check="counts_add_up", what="") -> dict | None:
    total = ledger.row(total_id)
    parts = [ledger.row(p) for p in part_ids]
    if total is None or any(p is None for p in parts) or pd.isna(total["value"]):
        return None
    s = sum(int(p["value"]) for p in parts)
    t = int(total["value"])
    printed = f"{t}"
    recomputed = " + ".join(str(int(p["value"])) for p in parts) + f" = {s}"
    if s == t:
        verdict, expl = "passed", f"adds up{what}"
    elif s < t:
        verdict, expl = "flagged", (f"{t - s} short of {t}: a category not shown (missing or "
                                    f"other), or a count misprinted{what}")
    else:
        verdict, expl = "unexplained", f"exceeds {t} by {s - t}{what}"
    return _row(ledger, total_id, check, printed, recomputed, verdict, expl, [total_id] + part_ids)


def check_counts_add_up(ledger: Ledger) -> list[dict]:
    """Counts adding up: categories to their group (``sum`` links), the groups that split a
    cohort (``x_high`` + ``x_low``, ``x`` + ``non_x``) to its size and, row by row, each
    characteristic's count in the whole cohort to its counts in the groups; cohorts to a
    ``total`` cohort when their sizes make it up (e.g. derivation + validation)."""
    d = ledger.numbers
    out, seen = [], set()

    def add(row):
        if row is not None:
            key = row["ids"]
            if key not in seen:
                seen.add(key)
                out.append(row)

    for _, l in ledger.rel("sum").iterrows():
        add(_sum_row(ledger, l["id"], l["members"].split()))
    counts = d[(d["quantity"] == "count") & d["value"].notna() & (d["cohort"] != "external")]
    for cohort, block in counts.groupby("cohort", sort=False):
        groups = set(block["group"])
        for g1, g2 in _partitions(groups):
            drop = set(_tokens(g1)) | set(_tokens(g2)) | _QUANTITY_TOKENS
            whole = block[block["group"] == "all"]
            for _, w in whole.iterrows():
                stem = _stem(w["id"], drop)
                parts = []
                for g in (g1, g2):
                    hit = [r["id"] for _, r in block[block["group"] == g].iterrows()
                           if _stem(r["id"], drop) == stem]
                    parts.append(hit[0] if len(hit) == 1 else None)
                if all(parts):
                    add(_sum_row(ledger, w["id"], parts, what=f" ({g1} + {g2})"))
            sizes = [ledger.group_size(cohort, g) for g in ("all", g1, g2)]
            if all(s is not None for s in sizes):
                add(_sum_row(ledger, sizes[0]["id"], [sizes[1]["id"], sizes[2]["id"]],
                             what=f" ({g1} + {g2})"))
    # cohorts making up the total
    total = ledger.group_size("total", "all")
    others = [c for c in dict.fromkeys(counts["cohort"]) if c not in ("total", "matched", "external")]
    sizes = {c: ledger.group_size(c, "all") for c in others}
    sizes = {c: s for c, s in sizes.items() if s is not None}
    if total is not None and len(sizes) >= 2:
        for k in range(2, len(sizes) + 1):
            for combo in itertools.combinations(sizes, k):
                if sum(int(sizes[c]["value"]) for c in combo) == int(total["value"]):
                    add(_sum_row(ledger, total["id"], [sizes[c]["id"] for c in combo],
                                 what=f" ({' + '.join(combo)})"))
                    for _, r in counts[counts["cohort"] == "total"].iterrows():
                        toks = _tokens(r["id"])
                        if toks[0] != "total":
                            continue
                        parts = ["_".join([c] + toks[1:]) for c in combo]
                        if all(ledger.row(p) is not None for p in parts):
                            add(_sum_row(ledger, r["id"], parts, what=f" ({' + '.join(combo)})"))
                    break
            else:
                continue
            break
    return out


def check_means_add_up(ledger: Ledger) -> list[dict]:
    """Group means, weighted by group size, against the printed mean of the whole cohort
    (groups that split the cohort, same id apart from the group; printed rounding kept)."""
    d = ledger.numbers
    out = []
    means = d[(d["quantity"] == "mean") & d["value"].notna()]
    for cohort, block in means.groupby("cohort", sort=False):
        for g1, g2 in _partitions(set(d.loc[d["cohort"] == cohort, "group"])):
            drop = set(_tokens(g1)) | set(_tokens(g2)) | _QUANTITY_TOKENS
            for _, w in block[block["group"] == "all"].iterrows():
                stem = _stem(w["id"], drop)
                parts = []
                for g in (g1, g2):
                    hit = [r for _, r in block[block["group"] == g].iterrows()
                           if _stem(r["id"], drop) == stem]
                    parts.append(hit[0] if len(hit) == 1 else None)
                sizes = [ledger.group_size(cohort, g) for g in (g1, g2)]
                if not all(p is not None for p in parts) or not all(s is not None for s in sizes):
                    continue
                n = [int(s["value"]) for s in sizes]
                if sum(n) <= 0 or any(pd.isna(p["digits"]) for p in parts + [w]):
                    continue
                lo = sum(ni * printed_interval(p["value"], int(p["digits"]), False)[0]
                         for ni, p in zip(n, parts)) / sum(n)
                hi = sum(ni * printed_interval(p["value"], int(p["digits"]), False)[1]
                         for ni, p in zip(n, parts)) / sum(n)
                wlo, whi = printed_interval(w["value"], int(w["digits"]), False)
                mid = sum(ni * p["value"] for ni, p in zip(n, parts)) / sum(n)
                dig = int(w["digits"])
                ids = [w["id"], parts[0]["id"], parts[1]["id"], sizes[0]["id"], sizes[1]["id"]]
                recomputed = (f"({_fmt(parts[0]['value'])} x {n[0]} + {_fmt(parts[1]['value'])} x "
                              f"{n[1]}) / {sum(n)} = {mid:.{dig + 1}f}")
                if hi >= wlo and lo <= whi:
                    out.append(_row(ledger, w["id"], "means_add_up", _fmt(w["value"], dig),
                                    recomputed, "passed",
                                    f"the {g1.replace('_', ' ')} and {g2.replace('_', ' ')} means give the overall mean",
                                    ids))
                else:
                    out.append(_row(ledger, w["id"], "means_add_up", _fmt(w["value"], dig),
                                    recomputed, "flagged",
                                    f"the {g1.replace('_', ' ')} and {g2.replace('_', ' ')} means "
                                    "cannot average to the printed "
                                    "overall mean: one of the three means is misprinted or was "
                                    "computed on other patients", ids))
    return out


def _split_vs(group: str, groups: set) -> tuple[str, str] | None:
    if "_vs_" not in group:
        return None
    a, b = group.split("_vs_", 1)
    if b not in groups and "_" in a:
        b = a.rsplit("_", 1)[0] + "_" + b
    return (a, b) if a in groups and b in groups else None


def table_for_p(ledger: Ledger, id_: str) -> tuple[list[list[int]], list[str], str] | None:
    """The table of counts behind a printed p: from a ``table`` link, or derived.

    Derived: the p row's group ``a_vs_b`` names the two groups (``il6_high_vs_low`` ->
    ``il6_high``, ``il6_low``); the count rows of those groups in the same cohort whose id,
    without group and quantity tokens, starts with the p id's (the levels of the
    characteristic) form the rows; with one level, the other row is the group size minus it.
    Where no count is printed, a percentage whose count GRIM fixes uniquely stands in.
    Returns (table as rows of [count in a, count in b], the ids used, how it was built).
    """
    link = ledger.rel("table")
    link = link[link["id"] == id_]
    if not link.empty:
        spec = link.iloc[0]["members"]
        rows, ids, totals = [], [], None
        for part in spec.split(";"):
            part = part.strip()
            if part.startswith("n:"):
                totals = part[2:].split()
                continue
            cells = part.split()
            rows.append([int(ledger.row(c)["value"]) for c in cells])
            ids += cells
        if totals:
            n = [int(ledger.row(t)["value"]) for t in totals]
            ids += totals
            rest = [ni - sum(r[j] for r in rows) for j, ni in enumerate(n)]
            if any(rest):
                rows.append(rest)
        return rows, ids, "link"
    r = ledger.row(id_)
    d = ledger.numbers
    groups = set(d.loc[d["cohort"] == r["cohort"], "group"])
    pair = _split_vs(r["group"], groups)
    if pair is None:
        return None
    drop = set(_tokens(pair[0])) | set(_tokens(pair[1])) | _QUANTITY_TOKENS
    stem = _stem(id_, drop)
    if not stem:
        return None
    levels: dict[tuple, dict] = {}
    for quantity in ("count", "percent"):
        for g_i, g in enumerate(pair):
            block = [c for c in ledger.records if c["cohort"] == r["cohort"] and c["group"] == g
                     and c["quantity"] == quantity and not pd.isna(c["value"]) and c["preferred"] == 1]
            for c in block:
                s = _stem(c["id"], drop)
                if len(s) > len(stem) and s[:len(stem)] == stem or s == stem:
                    levels.setdefault((quantity, s[len(stem):]), {})[g_i] = c
    count_levels = {k[1]: v for k, v in levels.items() if k[0] == "count" and len(v) == 2}
    sizes = [ledger.group_size(r["cohort"], g) for g in pair]
    how = "counts"
    if not count_levels:
        pct_levels = {k[1]: v for k, v in levels.items() if k[0] == "percent" and len(v) == 2}
        if not pct_levels or any(s is None for s in sizes):
            return None
        count_levels = {}
        for lvl, cells in pct_levels.items():
            recon = {}
            for g_i, c in cells.items():
                ks = grim_counts(c["value"], int(sizes[g_i]["value"]), int(c["digits"]))
                if len(ks) != 1:
                    return None
                recon[g_i] = dict(c, value=ks[0])
            count_levels[lvl] = recon
        how = "counts reconstructed from the printed percentages (unique by GRIM)"
    rows, ids = [], []
    for lvl in sorted(count_levels):
        cells = count_levels[lvl]
        rows.append([int(cells[0]["value"]), int(cells[1]["value"])])
        ids += [cells[0]["id"], cells[1]["id"]]
    if sizes[0] is not None and sizes[1] is not None:
        n = [int(sizes[0]["value"]), int(sizes[1]["value"])]
        rest = [n[j] - sum(row[j] for row in rows) for j in range(2)]
        if len(rows) == 1 or any(rest):
            if min(rest) < 0:
                return None
            rows.append(rest)
        ids += [sizes[0]["id"], sizes[1]["id"]]
    elif len(rows) < 2:
        return None
    return rows, ids, how


def check_p_from_counts(ledger: Ledger) -> list[dict]:
    """Each printed p recomputed from the printed counts with every candidate test.

    ``passed`` when a test the paper states (``stated_test`` link; any test if none is
    stated) reproduces the printed p at its printed decimals (rounded or truncated) or bound;
    ``flagged`` when only another test does (it is named); ``unexplained`` when no candidate
    does.
    """
    d = ledger.numbers
    out = []
    for _, r in d[(d["quantity"] == "p") & d["value"].notna()].iterrows():
        built = table_for_p(ledger, r["id"])
        if built is None:
            continue
        table, ids, how = built
        if any(x < 0 for row in table for x in row) or len(table) < 2:
            continue
        ps = candidate_p_values(table)
        digits = int(r["digits"]) if not pd.isna(r["digits"]) else 3
        bound = r["p_bound"] or "="
        found = {t: m for t, p in ps.items() if (m := p_matches(p, r["value"], bound, digits))}
        matches = {t: m for t, m in found.items() if m != "one unit"} or found
        stated = ledger.stated_tests(r["id"])
        printed = f"p {bound} {_fmt(r['value'], digits)}"
        tab = " / ".join("-".join(str(x) for x in row) for row in table)
        short = {"pearson": "Pearson", "yates": "Yates", "fisher": "Fisher", "lr": "G test"}
        recomputed = ", ".join(f"{short[k]} {fmt_p(v)}" for k, v in ps.items()
                               if k != "rule" and math.isfinite(v)) + f" (table {tab})"
        if not matches:
            verdict = "unexplained"
            expl = "no candidate test gives the printed p"
            if bound == "<":
                expl = "no candidate test gives p below the printed bound: the claim is not supported by the printed counts"
        else:
            named = [t for t in matches if t != "rule"]
            desc = ", ".join(f"{TEST_NAMES[t]}{' (truncated)' if matches[t] == 'truncated' else ''}"
                             f"{' (one unit off in the last printed digit)' if matches[t] == 'one unit' else ''}"
                             for t in named)
            if "rule" in matches and ("fisher" in matches) != ("pearson" in matches):
                desc += "; also the expected-count rule"
            if not stated or any(t in matches for t in stated):
                verdict = "passed"
                expl = f"reproduced by {desc}"
            else:
                verdict = "flagged"
                expl = (f"reproduced by {desc}, not by the test the paper states "
                        f"({', '.join(TEST_NAMES[t] for t in stated)})")
        if how != "counts" and how != "link":
            expl += f"; {how}"
        row = _row(ledger, r["id"], "p_from_counts", printed, recomputed, verdict, expl,
                   [r["id"]] + ids)
        row["_tests"] = set(matches) if matches else set()
        row["_truncated"] = bool(matches) and all(m == "truncated" for m in matches.values())
        if {"pearson", "fisher"} <= row["_tests"]:
            row["_tests"].add("rule")
        out.append(row)
    return out


def check_one_test_per_table(ledger: Ledger, p_rows: list[dict] | None = None) -> list[dict]:
    """Whether one candidate test reproduces every printed p of a table (``Table 1``, ...).

    A table whose reproduced p-values need different tests is flagged (each test's count is
    given); p-values no test reproduces are left to ``p_from_counts``.
    """
    p_rows = p_rows if p_rows is not None else check_p_from_counts(ledger)
    out = []
    frame = pd.DataFrame(p_rows, columns=AUDIT_COLUMNS + ["_tests", "_truncated"])
    if frame.empty:
        return out
    frame["table"] = frame["location"].str.split(",").str[0].str.strip()
    for table, block in frame.groupby("table", sort=False):
        if len(block) < 2:
            continue
        reproduced = block[block["verdict"] != "unexplained"]
        tests = {}
        for _, r in reproduced.iterrows():
            tests[r["ids"].split()[0]] = set(r["_tests"]) if isinstance(r["_tests"], set) else set()
        if not tests:
            continue
        common = set.intersection(*tests.values())
        ids = " ".join(block["ids"])
        id_list = list(dict.fromkeys(ids.split()))
        tally = {t: sum(t in s for s in tests.values()) for t in ("pearson", "yates", "fisher", "rule", "lr")}
        recomputed = ", ".join(f"{TEST_NAMES[t]} {k}" for t, k in tally.items() if k)
        printed = f"{len(block)} p-values"
        first = block.iloc[0]["ids"].split()[0]
        stated = set(ledger.stated_tests(first))
        if {"pearson", "fisher"} <= stated:
            stated.add("rule")
        if common and (not stated or common & stated):
            best = [t for t in ("pearson", "yates", "fisher", "rule", "lr")
                    if t in (common & stated if stated else common)][0]
            expl = f"one test reproduces every reproduced p: {TESTS[best]}"
            verdict = "passed"
        elif common:
            best = [t for t in ("fisher", "pearson", "yates", "rule", "lr") if t in common][0]
            expl = (f"one test reproduces every reproduced p: {TESTS[best]}, not the test the "
                    f"paper states ({', '.join(TEST_NAMES[t] for t in sorted(stated))})")
            verdict = "flagged"
        else:
            expl = (f"no single test reproduces every p of {table}: each row matches one of "
                    "several tests, as if the test were chosen row by row")
            verdict = "flagged"
        n_trunc = int(block["_truncated"].fillna(False).astype(bool).sum())
        if n_trunc:
            expl += f"; {n_trunc} p-value(s) match only when truncated, not rounded"
        n_unexpl = int((block["verdict"] == "unexplained").sum())
        if n_unexpl:
            expl += f"; {n_unexpl} p-value(s) match no candidate test (see p_from_counts)"
        row = _row(ledger, first, "one_test_per_table", printed, recomputed, verdict, expl, id_list)
        row["location"] = table
        out.append(row)
    return out


def _ratio_rows(ledger: Ledger, with_ci: bool = True) -> pd.DataFrame:
    d = ledger.numbers
    m = (d["quantity"].isin(RATIO_QUANTITIES) & d["value"].notna() & (d["value"] > 0)
         & (d["cohort"] != "external") & ~d["id"].isin(ledger.paraphrases))
    if with_ci:
        m &= d["lower"].notna() & d["upper"].notna() & (d["lower"] > 0)
    return d[m]


def _ci_digits(r) -> int:
    return max(_decimals_of(r["lower"]), _decimals_of(r["upper"]), 1 if r["lower"] < 10 else 0)


def _est_digits(r) -> int:
    return int(r["digits"]) if not pd.isna(r["digits"]) else _decimals_of(r["value"])


def _ratio_text(r) -> str:
    d = _est_digits(r)
    text = _fmt(r["value"], d)
    if not pd.isna(r["lower"]) and not pd.isna(r["upper"]):
        text += f" ({_fmt(r['lower'])}-{_fmt(r['upper'])})"
    if not pd.isna(r["p"]):
        text += f", p {r['p_bound'] or '='} {_fmt(r['p'])}"
    return text


def check_ci_symmetry(ledger: Ledger) -> list[dict]:
    """A ratio's 95% CI should be symmetric about the estimate on the log scale (Wald CI):
    flagged when no values inside the printed intervals of estimate and limits are."""
    out = []
    for _, r in _ratio_rows(ledger).iterrows():
        de, dc = _est_digits(r), _ci_digits(r)
        e, lo, hi = (printed_interval(r["value"], de), printed_interval(r["lower"], dc),
                     printed_interval(r["upper"], dc))
        smin = math.log(max(lo[0], 1e-12)) + math.log(hi[0]) - 2 * math.log(e[1])
        smax = math.log(lo[1]) + math.log(hi[1]) - 2 * math.log(max(e[0], 1e-12))
        centre = math.sqrt(r["lower"] * r["upper"])
        recomputed = f"geometric centre of the CI {centre:.{de + 1}f}"
        if smin <= 0 <= smax:
            out.append(_row(ledger, r["id"], "ci_symmetry", _ratio_text(r), recomputed, "passed",
                            "symmetric on the log scale at the printed rounding", [r["id"]]))
        else:
            side = "upper" if smin > 0 else "lower"
            out.append(_row(ledger, r["id"], "ci_symmetry", _ratio_text(r), recomputed, "flagged",
                            f"the {side} limit lies further from the estimate than the other on "
                            "the log scale: not a Wald CI (profile-likelihood or bootstrap), or "
                            "an estimate or limit misprinted", [r["id"]]))
    return out


def check_p_from_ci(ledger: Ledger) -> list[dict]:
    """The p implied by a ratio's CI (Altman & Bland 2011) against the printed p, over the
    printed rounding of both. A difference small on the z scale (< 0.3) is passed with a note:
    Wald, likelihood-ratio and score p differ by that much in samples of this size."""
    out = []
    for _, r in _ratio_rows(ledger).iterrows():
        if pd.isna(r["p"]):
            continue
        de, dc = _est_digits(r), _ci_digits(r)
        pmin, pmax = implied_p_range(r["value"], r["lower"], r["upper"], de, dc)
        if not math.isfinite(pmin):
            continue
        bound = r["p_bound"] or "="
        plo, phi = _p_interval(r["p"], bound, _decimals_of(r["p"]) if bound == "=" else 3)
        implied = p_from_ci(r["value"], r["lower"], r["upper"])
        recomputed = f"Wald p from the CI {fmt_p(implied)} (over the printed rounding {fmt_p_range(pmin, pmax)})"
        if pmax >= plo and pmin <= phi:
            out.append(_row(ledger, r["id"], "p_from_ci", _ratio_text(r), recomputed, "passed",
                            "the CI implies the printed p", [r["id"]]))
            continue
        z_imp = [stats.norm.isf(pmax / 2), stats.norm.isf(max(pmin, 1e-300) / 2)]
        z_pr = [stats.norm.isf(min(phi, 1.0) / 2), stats.norm.isf(max(plo, 1e-300) / 2)]
        gap = max(z_pr[0] - z_imp[1], z_imp[0] - z_pr[1])
        if gap < 0.3:
            out.append(_row(ledger, r["id"], "p_from_ci", _ratio_text(r), recomputed, "passed",
                            f"close (z differs by {gap:.2f}): a likelihood-ratio or score p "
                            "beside a Wald CI differs this much", [r["id"]]))
        else:
            out.append(_row(ledger, r["id"], "p_from_ci", _ratio_text(r), recomputed, "flagged",
                            f"the printed p is not the Wald p of this CI (z differs by {gap:.2f}): "
                            "a p from another test (log-rank) or another model, or a misprint",
                            [r["id"]]))
    return out


def check_ci_vs_p(ledger: Ledger) -> list[dict]:
    """A 95% CI excluding 1 goes with p < 0.05, one including 1 with p > 0.05."""
    out = []
    for _, r in _ratio_rows(ledger).iterrows():
        if pd.isna(r["p"]) or _same(r["lower"], 1.0) or _same(r["upper"], 1.0):
            continue
        excludes = r["lower"] > 1 or r["upper"] < 1
        bound = r["p_bound"] or "="
        if bound == "<" and r["p"] <= 0.05:
            significant = True
        elif bound == ">" and r["p"] >= 0.05:
            significant = False
        elif _same(r["p"], 0.05):
            continue
        else:
            significant = r["p"] < 0.05
        recomputed = f"CI {'excludes' if excludes else 'includes'} 1"
        verdict = "passed" if excludes == significant else "flagged"
        expl = ("CI and p agree on significance" if verdict == "passed" else
                "CI and p disagree on significance at 0.05: they come from different tests or "
                "one of them is misprinted")
        out.append(_row(ledger, r["id"], "ci_vs_p", _ratio_text(r), recomputed, verdict, expl,
                        [r["id"]]))
    return out


def _agree(a: float, da: int, b: float, db: int) -> str | None:
    """How two printings of one number agree: ``"same"``, ``"rounded"`` (the coarser is the
    finer rounded, half-up or, at a half-way tie, half-even), ``"truncated"`` (only by
    truncation) or ``None``."""
    if _same(a, b) and da == db:
        return "same"
    if da < db:
        a, da, b, db = b, db, a, da
    # a is the finer printing
    if _same(round_half_up(a, db), b) or _same(round_half_even(a, db), b):
        return "same" if _same(a, b) else "rounded"
    if _same(truncate(a, db), b):
        return "truncated"
    return None


def _p_of(r) -> tuple[float, str, int] | None:
    if r["quantity"] == "p":
        return r["value"], r["p_bound"] or "=", int(r["digits"]) if not pd.isna(r["digits"]) else 3
    if not pd.isna(r["p"]):
        return r["p"], r["p_bound"] or "=", _decimals_of(r["p"])
    return None


def check_printed_twice(ledger: Ledger) -> list[dict]:
    """The same quantity printed in two places (``same`` links): value, CI limits and p
    compared at the coarser printing. Agreement after rounding passes; agreement only by
    truncation is flagged as such; a difference is flagged with the likeliest reason the
    numbers themselves show (a one-digit typo, a log-rank beside a Wald p, a p the other
    printing's CI cannot give)."""
    out = []
    for _, l in ledger.rel("same").iterrows():
        a = ledger.row(l["id"])
        for other in l["members"].split():
            b = ledger.row(other)
            ids = [a["id"], b["id"]]
            diffs, trunc = [], []
            # a p-row against a ratio's p
            if (a["quantity"] == "p") != (b["quantity"] == "p"):
                pa, pb = _p_of(a), _p_of(b)
                if pa is None or pb is None:
                    continue
                if pa[1] == pb[1] == "=":
                    how = _agree(pa[0], pa[2], pb[0], pb[2])
                else:
                    how = "same" if pa[1] == pb[1] and _same(pa[0], pb[0]) else None
                printed = f"p {pa[1]} {_fmt(pa[0])} vs p {pb[1]} {_fmt(pb[0])}"
                if how in ("same", "rounded"):
                    out.append(_row(ledger, a["id"], "printed_twice", printed, "", "passed",
                                    "the same p", ids))
                    continue
                kinds = {"log-rank" if "logrank" in x["id"] else
                         "Cox" if x["quantity"] in RATIO_QUANTITIES else "other" for x in (a, b)}
                expl = ("two p-values for one comparison: a log-rank p (the row's id names it) "
                        "beside the Cox model's Wald p; the two tests differ slightly"
                        if kinds == {"log-rank", "Cox"} else "two different p-values for one comparison")
                out.append(_row(ledger, a["id"], "printed_twice", printed, "", "flagged", expl, ids))
                continue
            da, db = _est_digits(a), _est_digits(b)
            how = _agree(a["value"], da, b["value"], db)
            (trunc if how == "truncated" else diffs if how is None else []).append(
                f"value {_fmt(a['value'], da)} vs {_fmt(b['value'], db)}")
            for lim in ("lower", "upper"):
                if not pd.isna(a[lim]) and not pd.isna(b[lim]):
                    h = _agree(a[lim], _decimals_of(a[lim]), b[lim], _decimals_of(b[lim]))
                    (trunc if h == "truncated" else diffs if h is None else []).append(
                        f"{lim} limit {_fmt(a[lim])} vs {_fmt(b[lim])}")
            pa, pb = _p_of(a), _p_of(b)
            p_note = ""
            if pa and pb:
                if pa[1] == pb[1] == "=":
                    h = _agree(pa[0], pa[2], pb[0], pb[2])
                    (trunc if h == "truncated" else diffs if h is None else []).append(
                        f"p {_fmt(pa[0])} vs {_fmt(pb[0])}")
                elif pa[1] != pb[1] or not _same(pa[0], pb[0]):
                    lo1, hi1 = _p_interval(pa[0], pa[1], pa[2])
                    lo2, hi2 = _p_interval(pb[0], pb[1], pb[2])
                    if hi1 < lo2 or hi2 < lo1:
                        diffs.append(f"p {pa[1]} {_fmt(pa[0])} vs p {pb[1]} {_fmt(pb[0])}")
            for x, y in ((a, b), (b, a)):
                if (x["quantity"] in RATIO_QUANTITIES and not pd.isna(x["lower"])
                        and not pd.isna(x["upper"]) and _p_of(y)):
                    pmin, pmax = implied_p_range(x["value"], x["lower"], x["upper"],
                                                 _est_digits(x), _ci_digits(x))
                    py = _p_of(y)
                    lo, hi = _p_interval(*py)
                    if math.isfinite(pmin) and (hi < pmin or lo > pmax):
                        p_note = (f"; the p printed with {y['id']} ({py[1]} {_fmt(py[0])}) is not "
                                  f"the Wald p of the CI printed with {x['id']} "
                                  f"({fmt_p_range(pmin, pmax)}): probably a log-rank p, or "
                                  "another fit")
            printed = f"{_ratio_text(a)} vs {_ratio_text(b)}" if a["quantity"] in RATIO_QUANTITIES \
                else f"{_fmt(a['value'], da)} {a['unit']} vs {_fmt(b['value'], db)} {b['unit']}".strip()
            if not diffs and not trunc:
                out.append(_row(ledger, a["id"], "printed_twice", printed, "", "passed",
                                "the same at the coarser printing", ids))
            elif not diffs:
                out.append(_row(ledger, a["id"], "printed_twice", printed, "", "flagged",
                                "the same only if the coarser printing truncates (or is a "
                                f"half-way tie): {'; '.join(trunc)}", ids))
            else:
                expl = "; ".join(diffs)
                if a["quantity"] not in RATIO_QUANTITIES and len(diffs) == 1 and diffs[0].startswith("value"):
                    sa, sb = f"{a['value']:.{max(da, db)}f}", f"{b['value']:.{max(da, db)}f}"
                    if len(sa) == len(sb) and sum(x != y for x, y in zip(sa, sb)) == 1:
                        expl += ": one digit differs, most likely a typo"
                else:
                    expl += ": two different estimates of one comparison (another model, fit or data cut)"
                expl += p_note
                out.append(_row(ledger, a["id"], "printed_twice", printed, "", "flagged", expl, ids))
    return out


def _reciprocal_of(a, b) -> bool:
    """True when ``b`` prints as the reciprocal of ``a`` (estimate, and CI limits swapped)."""
    ea = printed_interval(a["value"], _est_digits(a))
    eb = printed_interval(b["value"], _est_digits(b))
    if not (1 / ea[1] <= eb[1] and 1 / ea[0] >= eb[0]):
        return False
    if abs(math.log(a["value"])) < math.log(1.1):
        return False
    have = [not pd.isna(x) for x in (a["lower"], a["upper"], b["lower"], b["upper"])]
    if all(have):
        la, ua = printed_interval(a["lower"], _ci_digits(a)), printed_interval(a["upper"], _ci_digits(a))
        lb, ub = printed_interval(b["lower"], _ci_digits(b)), printed_interval(b["upper"], _ci_digits(b))
        if not (1 / ua[1] <= lb[1] and 1 / ua[0] >= lb[0] and 1 / la[1] <= ub[1] and 1 / la[0] >= ub[0]):
            return False
    elif any(have):
        return False
    if pd.isna(a["p"]) or pd.isna(b["p"]):
        return all(have)
    return _same(a["p"], b["p"]) and (a["p_bound"] == b["p_bound"])


def check_reciprocal(ledger: Ledger) -> list[dict]:
    """Two printed ratios of a paper that are each other's reciprocal (estimate, CI limits
    swapped, same p): the same comparison with the reference level flipped. Rows linked as
    ``same`` are compared here too, so a flipped printing of one estimate is named."""
    out = []
    rows = _ratio_rows(ledger, with_ci=False)
    for (_, a), (_, b) in itertools.combinations(rows.iterrows(), 2):
        fine = min(_est_digits(a), _est_digits(b)) >= 2
        if a["cohort"] != b["cohort"] or (a["group"] != b["group"] and not fine):
            continue
        if _reciprocal_of(a, b):
            out.append(_row(ledger, b["id"], "reciprocal", f"{_ratio_text(b)} and {_ratio_text(a)}",
                            f"1/{_fmt(a['value'])} = {1 / a['value']:.3f}", "flagged",
                            "one is the reciprocal of the other: the same estimate with the "
                            "reference level reversed; read at face value, the two point in "
                            "opposite directions", [b["id"], a["id"]]))
    return out


def check_copied_values(ledger: Ledger) -> list[dict]:
    """Two different quantities printed with the identical estimate, CI and p (e.g. the
    same row in two tables of different endpoints): possibly copied."""
    out = []
    rows = _ratio_rows(ledger)
    rows = rows[rows["p"].notna()]
    same_pairs = {frozenset([l["id"], m]) for _, l in ledger.rel("same").iterrows()
                  for m in l["members"].split()}
    for key, block in rows.groupby(["value", "lower", "upper", "p"]):
        if len(block) < 2:
            continue
        for (_, a), (_, b) in itertools.combinations(block.iterrows(), 2):
            if frozenset([a["id"], b["id"]]) in same_pairs:
                continue
            out.append(_row(ledger, b["id"], "copied_values", _ratio_text(b),
                            f"identical to {a['id']}", "flagged",
                            "two different quantities with identical estimate, CI and p: "
                            "possibly a row copied from another table", [b["id"], a["id"]]))
    return out


#: Factors between units of the same dimension (how many of the second in one of the first).
UNIT_FACTORS = {("g/dl", "g/l"): 10, ("ng/ml", "pg/ml"): 1000, ("mg/dl", "mg/l"): 10,
                ("ug/ml", "ng/ml"): 1000, ("mmol/l", "umol/l"): 1000}


def _unit_factor(u1: str, u2: str) -> float | None:
    a, b = u1.lower().replace("µ", "u"), u2.lower().replace("µ", "u")
    if a == b:
        return 1.0
    if (a, b) in UNIT_FACTORS:
        return UNIT_FACTORS[(a, b)]
    if (b, a) in UNIT_FACTORS:
        return 1 / UNIT_FACTORS[(b, a)]
    return None


def check_units(ledger: Ledger) -> list[dict]:
    """Units that disagree: the same quantity printed twice (``same`` links) with different
    units, and a number printed in a unit (``printed_unit`` link) other than the one the
    ledger reads it in, named with the factor between them and the unit the paper's other
    numbers of that kind use."""
    out = []
    d = ledger.numbers
    for _, l in ledger.rel("same").iterrows():
        a = ledger.row(l["id"])
        for other in l["members"].split():
            b = ledger.row(other)
            if not a["unit"] or not b["unit"]:
                continue
            ids = [a["id"], b["id"]]
            printed = f"{_fmt(a['value'])} {a['unit']} vs {_fmt(b['value'])} {b['unit']}"
            if a["unit"].lower() == b["unit"].lower():
                out.append(_row(ledger, a["id"], "units", printed, "", "passed", "same unit", ids))
                continue
            f = _unit_factor(b["unit"], a["unit"])
            expl = (f"the same number in two units ({b['unit']} is {f:g} x {a['unit']}): one "
                    "printing's unit is a misprint" if f else "the same number in two units")
            n_a = int(((d["unit"] == a["unit"])).sum())
            n_b = int(((d["unit"] == b["unit"])).sum())
            expl += f"; the paper uses {a['unit']} in {n_a} printed numbers, {b['unit']} in {n_b}"
            out.append(_row(ledger, a["id"], "units", printed, "", "flagged", expl, ids))
    for _, l in ledger.rel("printed_unit").iterrows():
        r = ledger.row(l["id"])
        shown, read = l["detail"], r["unit"]
        printed = f"{_fmt(r['value'])} {shown}"
        if shown.lower() == read.lower():
            out.append(_row(ledger, r["id"], "units", printed, "", "passed", "same unit", [r["id"]]))
            continue
        f = _unit_factor(shown, read)
        kin = d[(d["quantity"] == r["quantity"]) & (d["id"] != r["id"]) & (d["unit"] == read)]
        expl = f"printed in {shown}, read in {read}"
        if f:
            expl += f" (a factor of {f:g}: {_fmt(r['value'])} {shown} = {_fmt(r['value'] * f)} {read})"
        if len(kin):
            expl += (f"; the paper's other {r['quantity']} values of this kind ({len(kin)}) are in "
                     f"{read}: most likely a unit misprint")
        out.append(_row(ledger, r["id"], "units", printed, f"{_fmt(r['value'] * f) if f else 'NA'} {read}",
                        "flagged", expl, [r["id"]] + list(kin["id"])))
    return out


def check_paraphrase_range(ledger: Ledger) -> list[dict]:
    """A number the text paraphrases ("~17-18%", "~1.5-2-fold") against the printed numbers
    it summarises (``summarises`` links; ``a/b`` is the ratio of two printed numbers), at the
    paraphrase's precision."""
    out = []
    for _, l in ledger.rel("summarises").iterrows():
        r = ledger.row(l["id"])
        if pd.isna(r["lower"]) or pd.isna(r["upper"]):
            lo = hi = r["value"]
            dig = int(r["digits"]) if not pd.isna(r["digits"]) else _decimals_of(r["value"])
        else:
            lo, hi = r["lower"], r["upper"]
            dig = max(_decimals_of(lo), _decimals_of(hi), int(r["digits"]) if not pd.isna(r["digits"]) else 0)
        h = _half(dig)
        values, outside, ids = [], [], [r["id"]]
        for m in l["members"].split():
            if "/" in m:
                x, y = m.split("/")
                v = ledger.row(x)["value"] / ledger.row(y)["value"]
                ids += [x, y]
                label = f"{_fmt(ledger.row(x)['value'])}/{_fmt(ledger.row(y)['value'])} = {v:.2f}"
            else:
                v = ledger.row(m)["value"]
                ids.append(m)
                label = _fmt(v)
            values.append(label)
            if v < lo - h - 1e-9 or v > hi + h + 1e-9:
                outside.append(label)
        printed = f"{_fmt(lo)}-{_fmt(hi)}" if lo != hi else f"~{_fmt(lo, dig)}"
        if outside:
            out.append(_row(ledger, r["id"], "paraphrase_range", printed, "; ".join(values), "flagged",
                            f"{', '.join(outside)} outside the range the text gives: the "
                            "paraphrase is broader than the numbers it summarises", ids))
        else:
            out.append(_row(ledger, r["id"], "paraphrase_range", printed, "; ".join(values), "passed",
                            "the paraphrase covers the numbers", ids))
    return out


def check_events_per_covariate(ledger: Ledger) -> list[dict]:
    """Events per model term of each printed multivariable model (``model`` links: the term
    rows by id pattern, the events count). Ten or more per term passes; fewer is flagged."""
    out = []
    for _, l in ledger.rel("model").iterrows():
        terms = [i for i in ledger.by_id if fnmatch.fnmatchcase(i, l["id"])]
        ev = ledger.row(l["members"].split()[0])
        if not terms or ev is None:
            continue
        k = len(terms)
        epv = ev["value"] / k
        printed = f"{k} terms, {int(ev['value'])} events"
        verdict = "passed" if epv >= 10 else "flagged"
        expl = (f"{epv:.1f} events per term: at or above the usual 10" if verdict == "passed" else
                f"{epv:.1f} events per term, below the usual 10: estimates may be biased away "
                "from 1 and CIs too narrow")
        out.append(_row(ledger, terms[0], "events_per_covariate", printed, f"{epv:.1f} per term",
                        verdict, f"{l['detail'] + ': ' if l['detail'] else ''}{expl}",
                        terms + [ev["id"]]))
    return out


def check_matched_vs_source(ledger: Ledger) -> list[dict]:
    """A matched group cannot be larger than the group it was drawn from: each group size of
    the ``matched`` cohort against the same group in every other cohort, and in the cohorts
    that together make up the ``total`` cohort."""
    out = []
    d = ledger.numbers
    cohorts = [c for c in dict.fromkeys(d["cohort"]) if c not in ("matched", "external", "total")]
    for g in dict.fromkeys(d.loc[d["cohort"] == "matched", "group"]):
        m = ledger.group_size("matched", g)
        if m is None:
            continue
        sources = {c: ledger.group_size(c, g) for c in cohorts}
        sources = {c: s for c, s in sources.items() if s is not None}
        if not sources:
            continue
        fits = [c for c, s in sources.items() if int(s["value"]) >= int(m["value"])]
        ids = [m["id"]] + [s["id"] for s in sources.values()]
        printed = f"{int(m['value'])} matched {g}"
        recomputed = ", ".join(f"{c} {int(s['value'])}" for c, s in sources.items())
        if fits:
            out.append(_row(ledger, m["id"], "matched_vs_source", printed, recomputed, "passed",
                            f"fits in {', '.join(fits)}", ids))
            continue
        pooled = None
        for k in range(2, len(sources) + 1):
            for combo in itertools.combinations(sources, k):
                if sum(int(sources[c]["value"]) for c in combo) >= int(m["value"]):
                    pooled = combo
                    break
            if pooled:
                break
        expl = f"larger than {g} in any single cohort"
        if pooled:
            total = sum(int(sources[c]['value']) for c in pooled)
            expl += f": the matching must have drawn on {' + '.join(pooled)} pooled ({total})"
            verdict = "flagged"
        else:
            verdict = "unexplained"
        out.append(_row(ledger, m["id"], "matched_vs_source", printed, recomputed, verdict, expl, ids))
    return out


def deaths_needed(hr: float, p: float, bound: str = "=") -> float:
    """The fewest events a Wald test of ``hr`` with two-sided ``p`` needs: Var(log HR) is
    about 1/d1 + 1/d2 >= 4/d, and (log HR / z)^2 must not exceed it, so d >= 4 z^2/log(HR)^2.
    A printed ``p < x`` uses x (the true z is larger, so more events are needed)."""
    z = stats.norm.isf(p / 2)
    var = (math.log(hr) / z) ** 2
    return 4 / var


def check_events_vs_survival(ledger: Ledger) -> list[dict]:
    """The deaths a printed OS hazard ratio and its p need (:func:`deaths_needed`) against the
    deaths a printed survival rate at t months allows by then (n x (1 - S(t)), the most a
    Kaplan-Meier estimate allows when nobody is censored before t), with the median follow-up.
    The rate rows are ``rate`` rows whose id has ``os`` and ``<t>m``."""
    d = ledger.numbers
    out = []
    rates = d[(d["quantity"] == "rate") & d["value"].notna()]
    for _, rate in rates.iterrows():
        m = re.search(r"(?:^|_)os_(\d+)m(?:_|$)", rate["id"])
        if not m:
            continue
        t = int(m.group(1))
        size = ledger.group_size(rate["cohort"], "all")
        hrs = d[(d["cohort"] == rate["cohort"]) & (d["quantity"] == "hr") & d["p"].notna()
                & d["id"].str.contains(r"(?:^|_)os_") & ~d["id"].str.contains("multivariable|_mv_")
                & (d["preferred"] == 1)]
        if size is None or hrs.empty:
            continue
        fu = d[(d["cohort"] == rate["cohort"]) & d["id"].str.contains("followup")
               & (d["quantity"] == "median_months")]
        n = int(size["value"])
        allowed = n * (1 - rate["value"] / 100)
        for _, hr in hrs.iterrows():
            if not 0 < hr["p"] < 1 or not hr["value"] > 0 or _same(hr["value"], 1.0):
                continue
            need = math.ceil(deaths_needed(hr["value"], hr["p"], hr["p_bound"]))
            ids = [rate["id"], hr["id"], size["id"]] + list(fu["id"])
            printed = f"HR {_fmt(hr['value'])} (p {hr['p_bound'] or '='} {_fmt(hr['p'])}); {t}-month OS {_fmt(rate['value'])}%"
            recomputed = f"needs >= {need} deaths; {t}-month OS allows about {allowed:.1f} by {t} months"
            if need <= allowed:
                out.append(_row(ledger, rate["id"], "events_vs_survival", printed, recomputed, "passed",
                                "the rate leaves room for the deaths the HR needs", ids))
                continue
            expl = (f"at least {need - math.floor(allowed)} deaths would have to occur after "
                    f"{t} months")
            if not fu.empty:
                f = fu.iloc[0]["value"]
                expl += (f", with a median follow-up of {_fmt(f)} months"
                         + (" (fewer than half of the patients followed that long)" if f < t else ""))
            expl += (": hard to reconcile; the rate may not be a Kaplan-Meier estimate, or the "
                     "rate and the HR come from different data cuts")
            out.append(_row(ledger, rate["id"], "events_vs_survival", printed, recomputed, "flagged",
                            expl, ids))
    return out


#: Every check, in the order the audit runs them.
CHECKS = {
    "percent_vs_count": check_percent_vs_count,
    "counts_add_up": check_counts_add_up,
    "means_add_up": check_means_add_up,
    "p_from_counts": check_p_from_counts,
    "one_test_per_table": check_one_test_per_table,
    "ci_symmetry": check_ci_symmetry,
    "p_from_ci": check_p_from_ci,
    "ci_vs_p": check_ci_vs_p,
    "printed_twice": check_printed_twice,
    "reciprocal": check_reciprocal,
    "copied_values": check_copied_values,
    "units": check_units,
    "paraphrase_range": check_paraphrase_range,
    "events_per_covariate": check_events_per_covariate,
    "matched_vs_source": check_matched_vs_source,
    "events_vs_survival": check_events_vs_survival,
}

#: One line per check for the summary and the chapter.
CHECK_LABELS = {
    "percent_vs_count": "Percentage vs count and denominator (GRIM, rounding vs truncation)",
    "counts_add_up": "Counts add up to their group, cohort or total",
    "means_add_up": "Group means average to the overall mean",
    "p_from_counts": "p recomputed from printed counts (candidate tests)",
    "one_test_per_table": "One test for every p of a table",
    "ci_symmetry": "Ratio CI symmetric on the log scale",
    "p_from_ci": "p implied by the CI (Altman & Bland 2011)",
    "ci_vs_p": "CI excluding 1 vs p < 0.05",
    "printed_twice": "Same quantity printed twice",
    "reciprocal": "Reciprocal ratios (reference level flipped)",
    "copied_values": "Identical numbers for different quantities",
    "units": "Units that disagree",
    "paraphrase_range": "Paraphrases in the text vs the numbers",
    "events_per_covariate": "Events per term of multivariable models",
    "matched_vs_source": "Matched groups vs the groups they came from",
    "events_vs_survival": "Deaths needed by an HR vs a survival rate",
}


def audit(study_or_path: str | os.PathLike, links: str | os.PathLike | None = None,
          checks: list[str] | None = None) -> pd.DataFrame:
    """Run every check (or ``checks``) on one paper's printed numbers.

    Parameters
    ----------
    study_or_path
        ``atebev_il6``, ``pbis``, ``soramic``, or the path of any published-numbers CSV in
        the same format (another paper, transcribed the same way).
    links
        The links file; default ``audit_links.csv`` beside the numbers file (absent: the
        checks that need links simply find nothing to check).
    checks
        Names from :data:`CHECKS`; default all.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AUDIT_COLUMNS`, one row per thing checked.
    """
    file = resolve(study_or_path)
    numbers = load_ledger(file)
    links_path = Path(links) if links is not None else links_file(file.parent)
    link_rows = load_links(links_path, study=str(numbers["study"].iloc[0]) if len(numbers) else None,
                           ids=set(numbers["id"]))
    ledger = Ledger(numbers, link_rows)
    unknown = [c for c in (checks or []) if c not in CHECKS]
    if unknown:
        raise AuditInputError(f"unknown check(s) {', '.join(unknown)}: expected {', '.join(CHECKS)}")
    rows = []
    p_rows = None
    for name, fn in CHECKS.items():
        if checks and name not in checks:
            continue
        try:
            if name == "p_from_counts":
                p_rows = fn(ledger)
                rows += p_rows
            elif name == "one_test_per_table":
                rows += fn(ledger, p_rows)
            else:
                rows += fn(ledger)
        except (ArithmeticError, ValueError, TypeError, KeyError) as exc:
            if os.environ.get("HCC_BOOK_DEBUG"):
                raise
            raise AuditInputError(
                f"{file}: the check {name!r} cannot read these numbers ({type(exc).__name__}: "
                f"{exc}); look for a count, denominator or ratio that is zero, negative or not "
                "a number (HCC_BOOK_DEBUG=1 shows where)") from None
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per paper and check: rows run, passed, flagged, unexplained, printed numbers covered."""
    rows = []
    for (paper, check), block in table.groupby(["paper", "check"], sort=False):
        covered = len(set(" ".join(block["ids"]).split()))
        c = block["verdict"].value_counts()
        rows.append(dict(paper=paper, check=check, run=len(block), passed=int(c.get("passed", 0)),
                         flagged=int(c.get("flagged", 0)), unexplained=int(c.get("unexplained", 0)),
                         numbers_covered=covered))
    out = pd.DataFrame(rows, columns=["paper", "check", "run", "passed", "flagged", "unexplained",
                                      "numbers_covered"])
    order = {c: i for i, c in enumerate(CHECKS)}
    return out.sort_values(["paper", "check"], key=lambda s: s.map(order) if s.name == "check" else s,
                           kind="stable").reset_index(drop=True)


def coverage(table: pd.DataFrame) -> pd.DataFrame:
    """Printed numbers each check covered, one row per check and one column per paper."""
    s = summary(table)
    wide = s.pivot(index="check", columns="paper", values="numbers_covered").fillna(0).astype(int)
    return wide.reindex([c for c in CHECKS if c in wide.index]).reset_index()


def format_summary(table: pd.DataFrame) -> str:
    """The summary as plain text (the command line prints this)."""
    s = summary(table)
    if s.empty:
        return "no checks applied (no percentages, counts, p-values or ratios found)"
    head = f"{'check':<22}{'run':>6}{'passed':>8}{'flagged':>9}{'unexplained':>13}{'numbers':>9}"
    lines = []
    for paper, block in s.groupby("paper", sort=False):
        lines.append(f"{paper}: {int(block['run'].sum())} checks run, {int(block['passed'].sum())} "
                     f"passed, {int(block['flagged'].sum())} flagged, "
                     f"{int(block['unexplained'].sum())} unexplained")
        lines.append(head)
        for _, r in block.iterrows():
            lines.append(f"{r['check']:<22}{r['run']:>6}{r['passed']:>8}{r['flagged']:>9}"
                         f"{r['unexplained']:>13}{r['numbers_covered']:>9}")
    flags = table[table["verdict"] != "passed"]
    if len(flags):
        lines.append("")
        lines.append("findings:")
        for _, r in flags.iterrows():
            lines.append(f"  [{r['verdict']}] {r['check']}: {r['ids'].split()[0]}: {r['printed']}"
                         f" -> {r['explanation']}")
    return "\n".join(lines)


#: Display names of the book's papers (other papers keep their study name).
PAPER_NAMES = {"atebev_il6": "IL-6 under Ate/Bev", "pbis": "PBIS", "soramic": "SORAMIC IL-6/IL-8"}


def paper_name(paper: str) -> str:
    return PAPER_NAMES.get(paper, paper)


def paper_summary(table: pd.DataFrame, printed_numbers: dict | None = None) -> pd.DataFrame:
    """One row per paper for the page: checks run, passed, flagged, unexplained, and how many
    of the paper's printed numbers at least one check used (of ``printed_numbers[paper]``)."""
    rows = []
    for paper, block in table.groupby("paper", sort=False):
        c = block["verdict"].value_counts()
        used = len(set(" ".join(block["ids"]).split()))
        row = {"Paper": paper_name(paper), "Checks run": len(block),
               "Passed": int(c.get("passed", 0)), "Flagged": int(c.get("flagged", 0)),
               "Unexplained": int(c.get("unexplained", 0)), "Printed numbers checked": used}
        if printed_numbers and paper in printed_numbers:
            row["Printed numbers in the file"] = int(printed_numbers[paper])
        rows.append(row)
    return pd.DataFrame(rows)


def coverage_table(table: pd.DataFrame) -> pd.DataFrame:
    """Printed numbers each check covered, per paper, with readable labels (for the page)."""
    cov = coverage(table)
    cov["check"] = cov["check"].map(CHECK_LABELS)
    return cov.rename(columns={"check": "Check", **{p: paper_name(p) for p in cov.columns if p != "check"}})


def findings_table(table: pd.DataFrame, paper: str, truncated: bool | None = None) -> pd.DataFrame:
    """The flagged and unexplained rows of one paper, for the page.

    ``truncated=True`` keeps only the truncated percentages, ``False`` leaves them out,
    ``None`` keeps everything."""
    t = table[(table["paper"] == paper) & (table["verdict"] != "passed")]
    is_trunc = (t["check"] == "percent_vs_count") & t["explanation"].str.startswith("truncated")
    if truncated is True:
        t = t[is_trunc]
    elif truncated is False:
        t = t[~is_trunc]
    out = pd.DataFrame({
        "Where printed": t["location"].str.replace(r'""', '"', regex=False),
        "Check": t["check"].map(CHECK_LABELS),
        "Printed": t["printed"],
        "Recomputed": t["recomputed"],
        "Verdict": t["verdict"],
        "Most likely explanation": t["explanation"],
    })
    return out.reset_index(drop=True)
