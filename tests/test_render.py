"""helpers.book.table / show (the book's one table renderer) and helpers.labels."""
import re

import numpy as np
import pandas as pd
import pytest

from helpers import book, labels


def cells(html):
    return re.findall(r"<td[^>]*>(.*?)</td>", html, flags=re.S)


def headers(html):
    return [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", html, flags=re.S)]


def table_one():
    return pd.DataFrame({
        "variable": ["Age (years)", "Male sex"],
        "il6_low": ["63 (57–70)", "40 (80%)"],
        "il6_high": ["66 (60–72)", "30 (75%)"],
        "p": [0.00001, 0.5],
        "smd": [0.31, 0.1],
    })


def test_p_values_never_print_as_zero():
    html = book.table(pd.DataFrame({"term": ["a", "b", "c"], "p": [1e-9, 0.0004, 0.02]})).html
    assert "0.000" not in html.replace("&lt;0.001", "")
    assert cells(html)[1::2] == ["&lt;0.001", "&lt;0.001", "0.020"]


def test_preformatted_zero_p_strings_are_fixed():
    html = book.table(pd.DataFrame({"p": ["0.000", "0.012"]})).html
    assert cells(html) == ["&lt;0.001", "0.012"]


def test_counts_print_as_integers_and_scores_too():
    df = pd.DataFrame({"group": ["a", "b"], "n": [55.0, 424.0], "events": [10.0, 8.0],
                       "score": [0.0, 2.0], "hr": [1.0, 2.5]})
    got = cells(book.table(df).html)
    assert got == ["a", "55", "10", "0", "1.00", "b", "424", "8", "2", "2.50"]


def test_counts_with_missing_values_and_digits_per_column():
    df = pd.DataFrame({"n": [3.0, np.nan], "median": [1.234, 2.0]})
    got = cells(book.table(df, digits={"median": 1}).html)
    assert got == ["3", "1.2", "", "2.0"]


def test_headers_are_labels_not_code_names():
    html = book.table(table_one(), labels={"variable": "Characteristic"}).html
    heads = headers(html)
    assert heads == ["Characteristic", "IL-6 low", "IL-6 high", "p", "SMD"]
    assert not any(labels.is_code_name(h) for h in heads)


def test_contract_labels_and_unknown_names_are_readable():
    assert labels.label("afp_ng_ml") == "AFP (ng/ml)"
    assert labels.label("median_lower") == "Median, 95% CI lower"
    assert labels.label("log10_afp") == "log10 AFP"
    assert labels.label("cd8_density_mm2").startswith("Intratumoural CD8+")
    assert not labels.is_code_name(labels.label("median_low_lower"))
    assert labels.label("il6_high", {"il6_high": "IL-6 ≥ 18.49 pg/ml"}) == "IL-6 ≥ 18.49 pg/ml"


def test_grouped_headers_from_groups_and_multiindex():
    df = pd.DataFrame({"low_n": [40], "low_median": [12.5], "high_n": [10], "high_median": [5.1],
                       "p": [0.003]})
    html = book.table(df, groups={"IL-6 low": ["low_n", "low_median"],
                                  "IL-6 high": ["high_n", "high_median"]},
                      labels={"low_n": "n", "high_n": "n", "low_median": "Median",
                              "high_median": "Median"}).html
    assert '<th class="hcc-span" scope="colgroup" colspan="2">IL-6 low</th>' in html
    assert 'rowspan="2">p</th>' in html
    assert cells(html) == ["40", "12.50", "10", "5.10", "0.003"]
    mi = pd.DataFrame([[1, 2.0, 0.5]], columns=pd.MultiIndex.from_tuples(
        [("IL-6 low", "n"), ("IL-6 low", "median"), ("", "p")]))
    html = book.table(mi).html
    assert 'colspan="2">IL-6 low</th>' in html and 'rowspan="2">p</th>' in html
    reset = pd.DataFrame([[1, 2]], index=pd.Index(["Discovery"], name="cohort"),
                         columns=pd.MultiIndex.from_tuples([("Fitted", "A5"), ("Fitted", "A6")])).reset_index()
    html = book.table(reset).html
    assert 'rowspan="2">Cohort</th>' in html and headers(html) == ["Cohort", "Fitted", "A5", "A6"]
    with pytest.raises(ValueError, match="column 'x' of 'G' is not in the table"):
        book.table(df, groups={"G": ["x"]})


def test_html_is_escaped():
    df = pd.DataFrame({"value": ["<LOD", "<script>alert(1)</script>"], "a&b": [1, 2]})
    html = book.table(df, caption="x < y").html
    assert "<script>" not in html and "&lt;LOD" in html and "&lt;script&gt;" in html
    assert "a&amp;b" in html and "<caption>x &lt; y</caption>" in html


def test_newlines_in_text_cells_are_line_breaks():
    html = book.table(pd.DataFrame({"column": ["os_months\nfloat, months"]})).html
    assert "os_months<br>float, months" in html


def test_test_footnote_and_notes():
    html = book.table(table_one(), test="Kruskal-Wallis test", note="SMD: standardized mean difference").html
    assert '<p class="hcc-table-note">p: Kruskal-Wallis test.</p>' in html
    assert "SMD: standardized mean difference" in html


def test_alignment_classes():
    html = book.table(table_one()).html
    assert '<td class="hcc-num hcc-p">' in html and '<td class="hcc-txt hcc-short">Age (years)</td>' in html


def test_every_table_scrolls_and_wide_ones_say_so():
    narrow = book.table(table_one()).html
    assert 'class="hcc-scroll"' in narrow and "hcc-wide" not in narrow
    wide = pd.DataFrame({f"column_{i}": [123456.789] for i in range(19)})
    html = book.table(wide).html
    assert "hcc-wide" in html and "scroll sideways" in html


def test_missing_numbers_and_short_text():
    html = book.table(pd.DataFrame({"group": ["IL-6 high"], "median_upper": [np.nan]}), na_rep="NR").html
    assert cells(html) == ["IL-6 high", "NR"] and 'class="hcc-txt hcc-short"' in html


def test_kind_override_and_bad_kind():
    df = pd.DataFrame({"x": [0.0001]})
    assert cells(book.table(df, kinds={"x": "p"}).html) == ["&lt;0.001"]
    with pytest.raises(ValueError, match="kinds"):
        book.table(df, kinds={"x": "percent"})


def comparison(n=30):
    verdicts = (["exact"] * 20 + ["within tolerance"] * 5 + ["miss"] * 3 + ["inside published CI"] * 2)[:n]
    return pd.DataFrame({"id": [f"discovery_os_hr_{i}" for i in range(n)],
                         "quantity": ["hr"] * n, "published": ["2.93"] * n,
                         "reproduced": ["2.90"] * n, "verdict": verdicts,
                         "note": [""] * n})


def test_comparison_tables_are_compact_with_summary_details_and_csv():
    t = book.table(comparison(), caption="Published beside this cohort")
    html = t.html
    assert "<details>" in html and "<summary>All 30 rows (3 miss)</summary>" in html
    assert "30 published numbers:" in html
    assert '<span class="hcc-verdict hcc-v-miss">3 miss</span>' in html
    assert 'href="data:text/csv;charset=utf-8;base64,' in html and 'download="published-beside-this-cohort.csv"' in html
    assert html.count('class="hcc-row-miss"') == 3
    assert book.verdict_summary(comparison()["verdict"]) == (
        "30 published numbers: 20 exact, 5 within tolerance, 2 inside published CI, 3 miss")
    assert headers(html) == ["Quantity", "Published", "This cohort", "Verdict", "Note"]
    assert 'HR<br><code class="hcc-key">discovery_os_hr_0</code>' in html


def test_comparison_can_be_shown_open():
    html = book.table(comparison(), compact=False).html
    assert "<details>" not in html and "hcc-verdict" not in html


def test_long_format_restructures_wide_groups():
    df = pd.DataFrame({"term": ["a", "b"], "low_n": [1, 2], "low_med": [1.5, 2.5],
                       "high_n": [3, 4], "high_med": [3.5, 4.5]})
    out = book.long_format(df, ["term"], {"low": ["low_n", "low_med"], "high": ["high_n", "high_med"]})
    assert out.columns.tolist() == ["term", "group", "low_n", "low_med"]
    assert out["group"].tolist() == ["low", "high", "low", "high"]
    assert out["low_n"].tolist() == [1, 3, 2, 4]


def test_banner_text_is_not_echoed_and_versions_render_as_book_table():
    text = book._Quiet("x")
    assert text == "x" and text._ipython_display_() is None
    v = book.versions()
    assert isinstance(v, pd.DataFrame) and v.columns.tolist() == ["package", "version"]
    assert 'class="hcc"' in v._repr_html_()


def test_show_displays_html(monkeypatch):
    shown = []
    import IPython.display as d
    monkeypatch.setattr(d, "display", lambda obj: shown.append(obj))
    book.show(table_one(), caption="T")
    assert "<caption>T</caption>" in shown[0].data
