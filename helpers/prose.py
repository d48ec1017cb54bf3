"""Words for the prose whose choice depends on a result: computed, never typed.

A sentence such as "IL-6-high patients had *shorter* survival, a *statistically significant*
difference" is true of one cohort only. Chapters therefore glue the direction and the
significance words produced here (via :meth:`helpers.results.Recorder.text`), so the text
stays true when the chapter is run on another cohort (a re-drawn synthetic cohort, the real
data). Each function returns a plain string and draws or prints nothing.

Conventions
-----------
- Missing input (``None`` or NaN) gives an explicit word (``"not comparable"``,
  ``"not testable"``) for :func:`compare_word` and :func:`significance_word`, rather than
  a silently wrong direction.
- Significance is judged against ``alpha`` (default 0.05) with ``p < alpha``; a p exactly at
  ``alpha`` is not significant.
"""
from __future__ import annotations

import math


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def compare_word(a: float, b: float, higher: str = "higher", lower: str = "lower",
                 same: str = "the same") -> str:
    """The word for how ``a`` compares with ``b``, computed so the prose stays true.

    Parameters
    ----------
    a, b
        The two numbers (e.g. a group's median and the reference group's).
    higher, lower, same
        The words for ``a > b``, ``a < b`` and ``a == b`` (e.g. ``"more"``/``"fewer"``,
        ``"worse"``/``"better"``).

    Returns
    -------
    str
        ``higher``, ``lower`` or ``same``; ``"not comparable"`` if either number is
        missing (``None`` or NaN).

    Examples
    --------
    >>> compare_word(2.0, 1.0, "worse", "better")
    'worse'
    >>> compare_word(float("nan"), 1.0)
    'not comparable'
    """
    if _missing(a) or _missing(b):
        return "not comparable"
    return higher if a > b else lower if a < b else same


def significance_word(p: float, alpha: float = 0.05) -> str:
    """``"significant"`` or ``"not significant"`` at level ``alpha``, computed from ``p``.

    Parameters
    ----------
    p
        The p-value.
    alpha
        Significance level; significant means ``p < alpha``.

    Returns
    -------
    str
        ``"significant"``, ``"not significant"``, or ``"not testable"`` if ``p`` is
        missing (``None`` or NaN).

    Examples
    --------
    >>> significance_word(0.003)
    'significant'
    >>> significance_word(0.05)
    'not significant'
    """
    if _missing(p):
        return "not testable"
    return "significant" if p < alpha else "not significant"


def direction_word(hr: float, worse: str = "shorter", better: str = "longer") -> str:
    """The direction a hazard ratio implies for the group it describes, as a word.

    Parameters
    ----------
    hr
        Hazard ratio of the group against its reference group.
    worse, better
        The words for ``hr > 1`` (more hazard: e.g. shorter survival) and for ``hr <= 1``.

    Returns
    -------
    str
        ``worse`` if ``hr > 1``, else ``better`` (an HR of exactly 1, or NaN, gives
        ``better``; check the p-value or the CI before calling a difference real).

    Examples
    --------
    >>> direction_word(2.1)
    'shorter'
    >>> direction_word(0.8, worse="higher", better="lower")
    'lower'
    """
    return worse if hr > 1 else better


def significance_phrase(p: float, alpha: float = 0.05) -> str:
    """A phrase saying whether ``p`` is statistically significant, with the threshold.

    Parameters
    ----------
    p
        The p-value.
    alpha
        Significance level; significant means ``p < alpha``.

    Returns
    -------
    str
        ``"statistically significant (p < 0.05)"`` or
        ``"not statistically significant (p >= 0.05)"`` (with ``alpha`` in place of 0.05,
        printed with Python's ``g`` format).

    Examples
    --------
    >>> significance_phrase(0.012)
    'statistically significant (p < 0.05)'
    >>> significance_phrase(0.2)
    'not statistically significant (p >= 0.05)'
    """
    if p < alpha:
        return f"statistically significant (p < {alpha:g})"
    return f"not statistically significant (p >= {alpha:g})"


# --- Counts, shares and medians in sentences -------------------------------------------------
# One place for "n of N (x%)", "1 patient"/"3 patients" and "not reached", so prose slips such
# as "1 patient(s)", "17.1 of IL-6-low patients" or "NA months" cannot be written by hand.


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """``noun`` for ``n == 1``, else its plural (``noun + "s"`` unless ``plural_form``).

    >>> plural(1, "patient"), plural(3, "patient"), plural(2, "analysis", "analyses")
    ('patient', 'patients', 'analyses')
    """
    return noun if n == 1 else (plural_form or noun + "s")


def count_noun(n: int, noun: str, plural_form: str | None = None) -> str:
    """A count with its noun: ``"1 patient"``, ``"12 patients"``.

    >>> count_noun(1, "death"), count_noun(12, "death")
    ('1 death', '12 deaths')
    """
    from helpers import disclosure  # disclosure control: a small count prints as "<k"

    if disclosure.hides(n):
        return f"{disclosure.count_text(n, 'prose')} {plural_form or noun + 's'}"
    return f"{int(n)} {plural(int(n), noun, plural_form)}"


def percent(k: float, n: float, digits: int = 1) -> str:
    """``k / n`` as a percentage with ``digits`` decimals (``"NA"`` if ``n`` is 0 or missing).

    >>> percent(17, 45)
    '37.8%'
    """
    if _missing(k) or _missing(n) or n == 0:
        return "NA"
    from helpers import disclosure  # disclosure control: a share of a small count is a bound

    if disclosure.hides(k):
        disclosure.log("prose", "percent", "share of a small count shown as a bound")
        return f"<{100 * disclosure.policy().k / n:.{digits}f}%"
    return f"{100 * k / n:.{digits}f}%"


def n_of(k: int, n: int, noun: str | None = None, digits: int = 1) -> str:
    """``"17 of 45 (37.8%)"``, or with a noun ``"17 of 45 patients (37.8%)"``.

    >>> n_of(17, 45), n_of(1, 1, "patient")
    ('17 of 45 (37.8%)', '1 of 1 patient (100.0%)')
    """
    what = f" {plural(int(n), noun)}" if noun else ""
    from helpers import disclosure  # disclosure control: "<k of N", no percentage

    if disclosure.hides(k) or disclosure.hides(n):
        what = f" {noun}s" if noun else ""
        return f"{disclosure.count_text(k, 'prose')} of {disclosure.count_text(n, 'prose')}{what}"
    return f"{int(k)} of {int(n)}{what} ({percent(k, n, digits)})"


def median_text(value: float | None, unit: str = "months", digits: int = 1) -> str:
    """A median survival time for prose: ``"17.1 months"``, or ``"not reached"`` when the
    Kaplan-Meier curve never falls to 0.5 (``None``, NaN or infinite).

    >>> median_text(17.06), median_text(float("nan"))
    ('17.1 months', 'not reached')
    """
    if _missing(value) or not math.isfinite(value):
        return "not reached"
    return f"{value:.{digits}f} {unit}".rstrip()


def p_change(p_from: float, p_to: float, digits: int = 3) -> str:
    """How a p-value changed, in words, through the book's one p formatter.

    Two p-values that print alike (both ``p < 0.001``) are not given a fold change.

    >>> p_change(0.02, 0.3)
    'from p = 0.020 to p = 0.300'
    >>> p_change(1e-6, 2e-5)
    'p < 0.001 in both'
    """
    from helpers.results import fmt_p

    a, b = fmt_p(p_from, digits), fmt_p(p_to, digits)
    if a == b:
        return f"{a} in both"
    return f"from {a} to {b}"
