"""helpers.browser: the real-browser check of the built book (headless Chromium).

* The checks themselves, on hand-made page data (no browser, fast).
* The whole loop on a tiny hand-written page with one of each defect (needs Chromium and
  Playwright; skipped with the reason otherwise).
* The built book (``_build/html``), when it is there: every page at 1,400 and 420 px; the
  pages of :data:`helpers.browser.MUST_PASS` must have no failing finding. With
  ``HCC_BROWSER_STRICT=1`` every page must pass (no allowlist). The per-page findings are
  written to ``_build/browser-report.txt``; screenshots to ``_build/screenshots/``.
"""
import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from helpers import browser, paths  # noqa: E402

BUILT = paths.ROOT / "_build" / "html"


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


def test_failures_keep_must_pass_pages_unless_strict():
    fs = [browser.Finding("chapters/intro", 1400, "p-zero", "x"),
          browser.Finding("chapters/atebev_outcomes", 1400, "p-zero", "x")]
    assert browser.failures(fs) == fs[:1]
    assert browser.failures(fs, strict=True) == fs
    assert "chapters/atebev_outcomes: p-zero@1400 x1" in browser.report(fs)


def _need_browser():
    if browser.chromium_path() is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    pytest.importorskip("playwright", reason="playwright is not installed (requirements.txt)")


PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body>
<main><article class="bd-article" style="width: 800px">
<p>A p-value of 0.000 and {glue:text}`key`.</p>
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
    assert checks == ["console", "figure-alt", "figure-scale", "p-zero", "raw-markup",
                      "snake-header", "stray-output", "table-width"], found
    assert (tmp_path / "shots" / "1400" / "page.png").stat().st_size > 1000


@pytest.mark.skipif(not (BUILT / "index.html").exists(),
                    reason="the book is not built (_build/html): run the build first; "
                           "this test checks the built HTML and builds nothing")
def test_built_book_in_a_real_browser():
    _need_browser()
    strict = os.environ.get("HCC_BROWSER_STRICT") == "1"
    found = browser.check_book(BUILT)
    (BUILT.parent / "browser-report.txt").write_text(browser.report(found) + "\n\n"
                                                     + "\n".join(map(str, found)) + "\n")
    failed = browser.failures(found, strict=strict)
    assert not failed, "\n".join(map(str, failed[:40]))
    assert len(list((BUILT.parent / "screenshots" / "1400").glob("*.png"))) == len(browser.pages(BUILT))


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
