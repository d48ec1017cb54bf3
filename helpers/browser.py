"""Open every page of the built book in headless Chromium, as a reader would, and list what
is wrong with it. ``python -m helpers.browser _build/html [--strict]`` (also
``python -m helpers browser-check``).

Each page is loaded from disk (``file://``) at 1,400 and 420 CSS pixels wide, with Debian's
Chromium (``/usr/bin/chromium``) driven by Playwright's Python package, and checked for:

========================  =================================================================
check                     a finding when
========================  =================================================================
``console``               the page logs an error or throws (``console.error``, an uncaught
                          exception, a resource that fails to load)
``table-width``           a table is wider than the text column and not inside a
                          horizontal scroll container (it would be cut or push the page)
``figure-scale``          a figure is shown at fewer than 75 screen pixels per figure inch
                          (displayed width / the image's width in inches: SVG ``width`` in
                          pt or in, PNG pixels / its dpi); at 420 px this is reported as
                          ``figure-scale-narrow`` and is informational (a 7-inch figure
                          cannot keep 75 px/in on a phone; click-to-enlarge shows it whole)
``p-zero``                the page shows ``0.000`` (a p-value must read ``<0.001``)
``raw-markup``            unrendered MyST shows as text: ``{glue:``, ``:::{``, ``(label)=``,
                          ``{ref}``/``{numref}``/``{cite}`` roles
``stray-output``          an output box whose only content is a quoted Python string
``snake-header``          a table header is a code name (``median_low_lower``)
``figure-alt``            a figure has no alt text, or only a file name or the generic
                          fallback of ``helpers/page_ext.py`` (give it a caption or
                          ``mystnb: image: alt:``)
``page-width``            the page itself scrolls sideways (something wider than the
                          screen outside a scroll container)
========================  =================================================================

A screenshot of every page at every width is saved as
``<screenshots>/<width>/<page>.png`` (default ``_build/screenshots``; a full check first
empties the folder, so no screenshot of a removed page stays), so a reviewer can look.

:func:`check_book` returns every finding (page, width, check, detail); :func:`failures`
keeps the ones that fail a check (everything but ``figure-scale-narrow``), on every page:
there is no allowlist. The command exits 1 if there is any failure (``--strict`` is
accepted and changes nothing). ``make test`` runs this check on the freshly built book
(``tests/test_browser.py``).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

#: Widths the book is read at (CSS pixels): a desktop browser and a phone.
WIDTHS = (1400, 420)
#: Smallest acceptable display scale of a figure, in screen pixels per figure inch.
MIN_PX_PER_INCH = 75.0
#: Chromium's flags: headless, sandbox-free (root in CI), and nothing that calls home.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
#: Checks whose findings inform but do not fail.
INFO_CHECKS = {"figure-scale-narrow"}


@dataclass(frozen=True)
class Finding:
    page: str
    width: int
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page} @{self.width}px [{self.check}] {self.detail}"


def chromium_path() -> str | None:
    """The system Chromium (``$CHROMIUM``, else ``chromium`` on the PATH)."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found if found and Path(found).exists() else None


def pages(html_dir: Path) -> list[str]:
    """The book's pages, as paths relative to ``html_dir`` without ``.html``."""
    html_dir = Path(html_dir)
    skip = {"genindex", "search", "py-modindex"}
    out = []
    for f in sorted(html_dir.rglob("*.html")):
        rel = f.relative_to(html_dir).with_suffix("").as_posix()
        if rel in skip or rel.startswith(("_", ".")) or "/_" in rel:
            continue
        if 'http-equiv="Refresh"' in f.read_text(errors="replace")[:2000]:
            continue                                   # a redirect (index.html -> the root page)
        out.append(rel)
    return out


# --------------------------------------------------------------------------- figure size
_LENGTH = re.compile(r"^\s*([0-9.]+)\s*(pt|px|in|cm|mm)?\s*$")
_TO_INCH = {"pt": 1 / 72, "px": 1 / 96, "in": 1.0, "cm": 1 / 2.54, "mm": 1 / 25.4, None: 1 / 96}


def figure_inches(path: Path) -> float | None:
    """The width of an image in figure inches: SVG ``width`` (pt, in, ...), PNG pixels / dpi
    (``pHYs``; 72 dpi if absent, the PNG default). ``None`` if unknown."""
    path = Path(path)
    if not path.exists():
        return None
    if path.suffix == ".svg":
        head = path.read_text(errors="replace")[:4000]
        m = re.search(r"<svg\b[^>]*?\swidth=\"([^\"]+)\"", head, flags=re.S)
        if not m or not _LENGTH.match(m.group(1)):
            return None
        value, unit = _LENGTH.match(m.group(1)).groups()
        return float(value) * _TO_INCH[unit]
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is pinned (matplotlib needs it)
        return None
    with Image.open(path) as im:
        dpi = im.info.get("dpi", (72, 72))[0] or 72
        return im.width / float(dpi)


# --------------------------------------------------------------------------- page checks
_PAGE_JS = r"""
() => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
  const column = article.getBoundingClientRect().width;
  const scrolls = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if ((ox === "auto" || ox === "scroll") && a.getBoundingClientRect().width <= column + 1) return true;
    }
    return false;
  };
  const tables = Array.from(article.querySelectorAll("table")).map((t, i) => ({
    index: i, width: t.getBoundingClientRect().width, scrollWidth: t.scrollWidth,
    inScroller: scrolls(t), caption: (t.caption ? t.caption.innerText : "").slice(0, 60),
    headers: Array.from(t.querySelectorAll("th")).map((h) => h.innerText.trim()),
  }));
  const images = Array.from(article.querySelectorAll("img")).map((im) => ({
    src: im.getAttribute("src"), width: im.getBoundingClientRect().width,
    naturalWidth: im.naturalWidth, alt: im.getAttribute("alt") || "",
  }));
  const clone = article.cloneNode(true);
  clone.querySelectorAll("pre, code, .cell_input, script, style, .highlight").forEach((e) => e.remove());
  // textContent runs table cells and list items together ("<0.0010.000"): separate them.
  clone.querySelectorAll("td, th, tr, li, p, div, dt, dd, caption, h1, h2, h3, h4, h5, h6, br")
    .forEach((e) => e.append(" "));
  const text = clone.textContent;
  const outputs = Array.from(article.querySelectorAll(".cell_output > .output")).map((o) => ({
    cls: o.className, text: o.innerText.trim(),
  }));
  return {column, tables, images, text, outputs, scrollX: document.documentElement.scrollWidth,
          viewport: window.innerWidth};
}
"""

_ZERO_P = re.compile(r"(?<![\d.])0\.000(?![\d])")
_RAW = [(re.compile(r"\{glue(:\w+)?\}?`?"), "{glue:"), (re.compile(r":::\s*\{"), ":::{"),
        (re.compile(r"\([A-Za-z][A-Za-z0-9_-]*\)=(\s|$)"), "(label)="),
        (re.compile(r"\{(ref|numref|cite|eq|doc|term)\}`"), "{role}`")]
_QUOTED = re.compile(r"""^(['"]).*\1$""", flags=re.S)
_SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
_FILE_ALT = re.compile(r"^[\w./-]+\.(png|svg|jpe?g|gif)$|^[0-9a-f]{32,}", re.IGNORECASE)


def _context(text: str, m: re.Match, width: int = 40) -> str:
    s = text[max(0, m.start() - width): m.end() + width]
    return " ".join(s.split())


def check_page(info: dict, page: str, width: int, html_dir: Path, console: list[str]) -> list[Finding]:
    """Findings for one loaded page (``info`` is what :data:`_PAGE_JS` returned)."""
    out = [Finding(page, width, "console", c) for c in console]
    if info.get("scrollX", 0) > info.get("viewport", 0) + 1:
        out.append(Finding(page, width, "page-width",
                           f"the page is {info['scrollX']} px wide on a {info['viewport']} px screen"))
    column = info["column"]
    for t in info["tables"]:
        if t["width"] > column + 1 and not t["inScroller"]:
            out.append(Finding(page, width, "table-width",
                               f"table {t['index'] + 1} ({t['caption'] or 'no caption'}) is "
                               f"{t['width']:.0f} px in a {column:.0f} px column, no scroll container"))
        snakes = [h for h in t["headers"] if _SNAKE.match(h)]
        if snakes:
            out.append(Finding(page, width, "snake-header",
                               f"table {t['index'] + 1}: {', '.join(dict.fromkeys(snakes))}"))
    page_dir = (Path(html_dir) / page).parent
    for im in info["images"]:
        alt = (im.get("alt") or "").strip()
        if (im["src"] or "").split("/")[-1].startswith(("logo",)):
            continue
        if not alt or _FILE_ALT.search(alt) or alt == "Figure from the code cell above":
            out.append(Finding(page, width, "figure-alt",
                               f"{Path(im['src'] or '').name[:16]}…: alt text {alt[:40]!r}"))
        src = (im["src"] or "").split("?")[0]
        if not src or src.startswith(("data:", "http")) or im["width"] <= 0:
            continue
        inches = figure_inches((page_dir / src).resolve())
        if not inches:
            continue
        scale = im["width"] / inches
        if scale < MIN_PX_PER_INCH:
            check = "figure-scale" if width >= 800 else "figure-scale-narrow"
            out.append(Finding(page, width, check,
                               f"{Path(src).name[:12]}… ({im['alt'][:50]}): {inches:.1f} in shown at "
                               f"{im['width']:.0f} px = {scale:.0f} px/in"))
    text = info["text"]
    for m in _ZERO_P.finditer(text):
        out.append(Finding(page, width, "p-zero", f"'0.000' in: …{_context(text, m)}…"))
    for pattern, name in _RAW:
        for m in pattern.finditer(text):
            out.append(Finding(page, width, "raw-markup", f"{name} in: …{_context(text, m)}…"))
    for o in info["outputs"]:
        if "text_plain" in o["cls"] and _QUOTED.match(o["text"]):
            out.append(Finding(page, width, "stray-output", o["text"][:80]))
    return out


def check_book(html_dir, widths=WIDTHS, screenshots=None, only=None, progress=None) -> list[Finding]:
    """Open every page at every width; return all findings (see the module docstring).

    ``screenshots``: folder for ``<width>/<page>.png`` (``None``: ``<html_dir>/../screenshots``).
    ``only``: page names to check (default: all). Raises ``RuntimeError`` with a readable
    message when Chromium or Playwright is missing.
    """
    html_dir = Path(html_dir).resolve()
    if not (html_dir / "index.html").exists():
        raise FileNotFoundError(f"{html_dir}/index.html not found: build the book first")
    exe = chromium_path()
    if exe is None:
        raise RuntimeError("Chromium not found: apt-get install -y chromium (or set $CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover
        raise RuntimeError("the playwright package is missing (pip install -r requirements.txt)") from exc
    shots = Path(screenshots) if screenshots else html_dir.parent / "screenshots"
    names = [p for p in pages(html_dir) if only is None or p in only]
    if only is None:
        for width in widths:
            shutil.rmtree(shots / str(width), ignore_errors=True)
    findings: list[Finding] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        try:
            for width in widths:
                context = browser.new_context(viewport={"width": width, "height": 900},
                                              device_scale_factor=1)
                for name in names:
                    page = context.new_page()
                    console: list[str] = []
                    page.on("console", lambda m, c=console: c.append(f"console.{m.type}: {m.text}")
                            if m.type == "error" else None)
                    page.on("pageerror", lambda e, c=console: c.append(f"uncaught: {e}"))
                    page.on("requestfailed", lambda r, c=console: c.append(
                        f"failed to load {r.url.split('/')[-1][:60]}"))
                    page.goto((html_dir / f"{name}.html").as_uri(), wait_until="load")
                    page.wait_for_timeout(150)
                    info = page.evaluate(_PAGE_JS)
                    findings += check_page(info, name, width, html_dir, console)
                    target = shots / str(width) / f"{name.replace('/', '__')}.png"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(target), full_page=True)
                    page.close()
                    if progress:
                        progress(name, width)
                context.close()
        finally:
            browser.close()
    return findings


def failures(findings, strict: bool = True) -> list[Finding]:
    """The findings that fail: every one that is not informational (:data:`INFO_CHECKS`), on
    any page. ``strict`` is kept for old callers; there is no lenient mode."""
    return [f for f in findings if f.check not in INFO_CHECKS]


def report(findings) -> str:
    """Per page, the checks that fail and how often (the to-do list for a chapter)."""
    if not findings:
        return "browser check: no findings"
    lines = []
    by_page: dict[str, list[Finding]] = {}
    for f in findings:
        by_page.setdefault(f.page, []).append(f)
    for page, fs in by_page.items():
        counts: dict[str, int] = {}
        for f in fs:
            key = f"{f.check}@{f.width}"
            counts[key] = counts.get(key, 0) + 1
        lines.append(f"{page}: " + ", ".join(f"{k} x{v}" for k, v in counts.items()))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.browser", description=__doc__.split("\n")[0])
    parser.add_argument("html_dir", nargs="?", default="_build/html")
    parser.add_argument("--strict", action="store_true", help="accepted for old calls: every page is always checked")
    parser.add_argument("--screenshots", default=None, help="folder for screenshots (default _build/screenshots)")
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS))
    parser.add_argument("--page", action="append", help="check only this page (repeatable)")
    parser.add_argument("--details", default=None, help="write every finding to this file (TSV)")
    args = parser.parse_args(argv)
    import time

    start = time.time()

    def progress(name, width):
        print(f"  {time.time() - start:6.1f} s  {width} px  {name}", file=sys.stderr, flush=True)

    try:
        findings = check_book(args.html_dir, widths=args.widths, screenshots=args.screenshots,
                              only=args.page, progress=progress)
    except (RuntimeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report(findings))
    if args.details:
        with open(args.details, "w") as fh:
            fh.write("page\twidth\tcheck\tdetail\n")
            for f in findings:
                fh.write("\t".join(str(v).replace("\t", " ") for v in asdict(f).values()) + "\n")
    failed = failures(findings)
    if failed:
        print(f"\n{len(failed)} failing finding(s):")
        print("\n".join(f"  {f}" for f in failed[:80]))
        return 1
    print(f"browser check passed: {len(pages(args.html_dir))} pages at "
          f"{', '.join(map(str, args.widths))} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
