"""helpers.prose: the computed words chapters glue into their prose."""
import math

import numpy as np
import pytest

from helpers import prose

NAN = float("nan")


@pytest.mark.parametrize("a, b, expected", [
    (2.0, 1.0, "higher"), (1.0, 2.0, "lower"), (1.5, 1.5, "the same"),
    (np.float64(3.2), 1, "higher"), (NAN, 1.0, "not comparable"), (1.0, NAN, "not comparable"),
    (None, 1.0, "not comparable"), (1.0, None, "not comparable"), (np.nan, 1.0, "not comparable"),
])
def test_compare_word(a, b, expected):
    assert prose.compare_word(a, b) == expected


def test_compare_word_custom_words():
    assert prose.compare_word(2.1, 1.0, "worse", "better") == "worse"
    assert prose.compare_word(0.6, 1.0, "worse", "better") == "better"
    assert prose.compare_word(0.9, 0.8, "smaller", "larger", "the same") == "smaller"  # a > b: first word
    assert prose.compare_word(12.0, 12.0, "more", "fewer", "as many") == "as many"


@pytest.mark.parametrize("p, expected", [
    (0.003, "significant"), (0.0499, "significant"), (0.05, "not significant"),
    (0.7, "not significant"), (np.float64(0.01), "significant"),
    (None, "not testable"), (NAN, "not testable"),
])
def test_significance_word(p, expected):
    assert prose.significance_word(p) == expected


def test_significance_word_alpha():
    assert prose.significance_word(0.02, alpha=0.01) == "not significant"
    assert prose.significance_word(0.009, alpha=0.01) == "significant"


@pytest.mark.parametrize("hr, expected", [(2.4, "shorter"), (1.0, "longer"), (0.5, "longer"),
                                          (np.float64(1.0001), "shorter")])
def test_direction_word(hr, expected):
    assert prose.direction_word(hr) == expected


def test_direction_word_custom_words():
    assert prose.direction_word(1.8, worse="higher", better="lower") == "higher"
    assert prose.direction_word(0.7, worse="higher", better="lower") == "lower"


@pytest.mark.parametrize("p, expected", [
    (0.001, "statistically significant (p < 0.05)"),
    (0.0499, "statistically significant (p < 0.05)"),
    (0.05, "not statistically significant (p >= 0.05)"),
    (0.41, "not statistically significant (p >= 0.05)"),
    (NAN, "not statistically significant (p >= 0.05)"),
])
def test_significance_phrase(p, expected):
    assert prose.significance_phrase(p) == expected


def test_significance_phrase_alpha():
    assert prose.significance_phrase(0.02, alpha=0.01) == "not statistically significant (p >= 0.01)"


def _soramic_signif(p):
    """The copy the soramic chapters carried before helpers.prose (reference)."""
    return "statistically significant (p < 0.05)" if p < 0.05 else "not statistically significant (p >= 0.05)"


def _soramic_direction(hr, worse="shorter", better="longer"):
    """The copy the soramic chapters carried before helpers.prose (reference)."""
    return worse if hr > 1 else better


@pytest.mark.parametrize("x", [0.0, 1e-12, 0.01, 0.049999, 0.05, 0.050001, 0.5, 0.999, 1.0, 1.2, 7.0,
                               math.inf, NAN])
def test_same_words_as_the_chapters_former_copies(x):
    assert prose.significance_phrase(x) == _soramic_signif(x)
    assert prose.direction_word(x) == _soramic_direction(x)
    assert prose.direction_word(x, "higher", "lower") == _soramic_direction(x, "higher", "lower")
