"""helpers.browser: the real-browser check of the built book (headless Chromium).

* The checks themselves, on hand-made page data (no browser, fast).
* The whole loop on a tiny hand-written page with one of each defect (needs Chromium and
  Playwright; skipped with the reason otherwise).
* The built book: the chapters executed once for the whole test run (the ``built_book``
  fixture of ``tests/conftest.py`` builds ``_build/html`` from the shared execution cache,
  strict, and checks it is offline), then every page opened at 1,400 and 420 px: no page
  may have a failing finding (strict, no allowlist). The per-page findings are written to
  ``_build/browser-report.txt``; screenshots to ``_build/screenshots/``.

Without Chromium (or Playwright) the browser tests are skipped with the reason, unless
``HCC_BOOK_REQUIRE_BROWSER=1`` (``.ci/run`` sets it): then they fail, so CI cannot skip them.
"""
import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from helpers import browser, paths  # noqa: E402



def _info(**kw):
    base = dict(column=800.0, tables=[], images=[], text="", outputs=[], scrollX=1400, viewport=1400)
    base.update(kw)
    return base


def test_checks_find_each_defect(tmp_path):
    (tmp_path / "chapters").mkdir()
    fig, _ = plt.subplots(figsize=(10, 4))
    fig.savefig(tmp_path / "chapters" / "wide.svg")
    fig.savefig(tmp_path / "chapters" / "wide.png", dpi=100)
    plt.close(fig)
    info = _info(
        tables=[dict(index=0, width=1200, scrollWidth=1200, inScroller=False, caption="T",
                     headers=["median_low_lower", "IL-6 low", "p"]),
                dict(index=1, width=1200, scrollWidth=1200, inScroller=True, caption="", headers=["n"])],
        images=[dict(src="wide.svg", width=600, naturalWidth=960, alt="Survival by group"),
                dict(src="wide.png", width=700, naturalWidth=1000,
                     alt="0e8760cc9470c11b663ff377a716e7527153ffe3f765750e752252d8f13e0f9c.png")],
        text="HR 2.1, p 0.000 and 10.000 and 0.0001 {glue:text}`x` :::{note} (ch-x)=\n",
        scrollX=1650, viewport=1400,
        outputs=[dict(cls="output text_plain", text="'IL-6 ≥ 18.49 pg/ml'"),
                 dict(cls="output text_plain", text="0.5"), dict(cls="output text_html", text="'a'")],
    )
    found = browser.check_page(info, "chapters/x", 1400, tmp_path, ["uncaught: boom"])
    checks = [f.check for f in found]
    assert checks.count("console") == 1
    assert checks.count("table-width") == 1 and checks.count("snake-header") == 1
    assert checks.count("figure-scale") == 2          # 600 px / 10 in and 700 px / 10 in
    assert checks.count("p-zero") == 1                  # not 10.000 nor 0.0001
    assert checks.count("raw-markup") == 3
    assert checks.count("stray-output") == 1
    assert checks.count("figure-alt") == 1              # the hash, not "Survival by group"
    assert checks.count("page-width") == 1              # 1,650 px page on a 1,400 px screen
    narrow = browser.check_page(info, "chapters/x", 420, tmp_path, [])
    assert "figure-scale-narrow" in [f.check for f in narrow]
    assert browser.failures(narrow, strict=True) and not [
        f for f in browser.failures(narrow, strict=True) if f.check == "figure-scale-narrow"]


def test_figure_inches_from_svg_and_png(tmp_path):
    fig, _ = plt.subplots(figsize=(7.5, 3))
    fig.savefig(tmp_path / "f.svg")
    fig.savefig(tmp_path / "f.png", dpi=200)
    plt.close(fig)
    assert browser.figure_inches(tmp_path / "f.svg") == pytest.approx(7.5)
    assert browser.figure_inches(tmp_path / "f.png") == pytest.approx(7.5, abs=0.01)
    assert browser.figure_inches(tmp_path / "missing.png") is None


def test_every_page_fails_on_a_finding_there_is_no_allowlist():
    fs = [browser.Finding("chapters/intro", 1400, "p-zero", "x"),
          browser.Finding("chapters/atebev_outcomes", 1400, "p-zero", "x"),
          browser.Finding("chapters/atebev_outcomes", 420, "figure-scale-narrow", "x")]
    assert browser.failures(fs) == fs[:2]
    assert browser.failures(fs, strict=False) == fs[:2]
    assert "chapters/atebev_outcomes: p-zero@1400 x1" in browser.report(fs)


def _need_browser():
    """Skip without Chromium or Playwright, or fail if ``HCC_BOOK_REQUIRE_BROWSER=1``."""
    missing = None
    if browser.chromium_path() is None:
        missing = "Chromium is not installed (apt-get install -y chromium; .ci/run does it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -r requirements.txt)"
    if missing and os.environ.get("HCC_BOOK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"HCC_BOOK_REQUIRE_BROWSER=1 but {missing}")
    if missing:
        pytest.skip(missing)


def test_missing_browser_skips_or_fails_when_required(monkeypatch):
    monkeypatch.setattr(browser, "chromium_path", lambda: None)
    monkeypatch.delenv("HCC_BOOK_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is not installed"):
        _need_browser()
    monkeypatch.setenv("HCC_BOOK_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="HCC_BOOK_REQUIRE_BROWSER=1 but Chromium"):
        _need_browser()


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body>
<main><article class="bd-article" style="width: 800px">
<p>A p-value of 0.000 and {glue:text}`key`.</p>
<table class="cells"><tr><td>&lt;0.001</td><td>0.000</td></tr></table>
<table><thead><tr><th>median_low_lower</th></tr></thead><tbody><tr><td style="white-space:nowrap">%s</td></tr></tbody></table>
<div style="overflow-x:auto"><table><tr><th>ok</th></tr><tr><td style="white-space:nowrap">%s</td></tr></table></div>
<div class="cell_output"><div class="output text_plain"><pre>'a stray string'</pre></div></div>
<img src="fig.svg" style="width: 500px">
</article></main>
<script>undefinedFunction();</script>
</body></html>"""


def test_browser_finds_defects_on_a_real_page(tmp_path):
    _need_browser()
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=page.html" />')
    (html / "page.html").write_text(PAGE % ("x" * 300, "y" * 300))
    fig, _ = plt.subplots(figsize=(10, 3))
    fig.savefig(html / "fig.svg")
    plt.close(fig)
    found = browser.check_book(html, widths=(1400,), screenshots=tmp_path / "shots")
    checks = sorted({f.check for f in found})
    assert checks == ["console", "figure-alt", "figure-scale", "p-zero", "page-width",
                      "raw-markup", "snake-header", "stray-output", "table-width"], found
    assert (tmp_path / "shots" / "1400" / "page.png").stat().st_size > 1000
    zeros = [f for f in found if f.check == "p-zero"]
    assert len(zeros) == 2, zeros        # the prose one, and the cell after "<0.001"


def test_book_builds_strict_and_offline(built_book):
    """``jupyter-book build -W -n`` from the shared execution cache, then the offline check
    (with or without a browser)."""
    assert built_book.returncode == 0, built_book.output
    assert "offline check: no remote" in built_book.output


def test_built_book_in_a_real_browser(built_book):
    """Every page of the executed, built book, at 1,400 and 420 px: no failing finding."""
    _need_browser()
    assert built_book.returncode == 0, built_book.output
    found = browser.check_book(built_book.html)
    (built_book.html.parent / "browser-report.txt").write_text(
        browser.report(found) + "\n\n" + "\n".join(map(str, found)) + "\n")
    failed = browser.failures(found, strict=True)
    assert not failed, (browser.report(failed) + "\n\n" + "\n".join(map(str, failed[:40])))
    shots = built_book.html.parent / "screenshots"
    for width in browser.WIDTHS:
        assert len(list((shots / str(width)).glob("*.png"))) == len(browser.pages(built_book.html))


def test_page_ext_keeps_one_copy_of_each_inline_script_and_sets_alt_text():
    from docutils import nodes
    from sphinx.builders.html._assets import _JavaScript

    from helpers import page_ext

    body = "const THEBE_JS_URL = 'x'"
    context = {"script_files": [_JavaScript("", body=body), _JavaScript("a.js"),
                                _JavaScript(None, body=body)]}
    page_ext._dedupe_scripts(None, "p", "t", context, None)
    assert [str(js.filename) for js in context["script_files"]] == ["", "a.js"]

    class App:
        class config:
            hcc_synthetic_captions = True

        class env:
            metadata = {"chapters/x": {"hcc_book": {"study": "pbis"}}}

    figure = nodes.figure("", nodes.image(uri="_images/ab12.png", alt="ab12.png"),
                          nodes.caption("", "Overall survival by PBIS group."))
    doctree = nodes.document(None, None)
    doctree += figure
    doctree += nodes.image(uri="_images/cd34.svg")
    page_ext._figures(App, doctree, "chapters/x")
    images = list(doctree.findall(nodes.image))
    assert images[0]["alt"] == "Overall survival by PBIS group. Synthetic data."
    assert images[1]["alt"] == "Figure from the code cell above"
