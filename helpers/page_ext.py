"""Sphinx extension for what the reader sees (registered in ``_config.yml``).

1. **One copy of each inline script.** sphinx-thebe adds its configuration script
   (``const THEBE_JS_URL = ...``) through ``app.add_js_file(None, body=...)`` when the
   documents are read; Sphinx 7 keeps it both in the extension registry (as ``''``) and in
   the builder (as ``None``), so every page got it twice and the browser threw
   ``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``. Thebe is not used
   (``launch_buttons.thebe: false``), but sphinx-thebe is a default extension of Jupyter
   Book 1, so duplicates are dropped here, at ``html-page-context``.
2. **Alt text for figures.** myst-nb writes cell images with their file hash as alt text
   unless the cell sets ``mystnb: image: alt: ...``. An image inside a captioned figure
   without its own alt text gets the caption; any other cell image gets
   "Figure from the code cell above" rather than a hash.
3. **Captions say the data are synthetic.** The book is always built on the shipped
   synthetic cohorts; on a page whose notebook names a study (``hcc_book.study``), a figure
   caption that does not mention it gets "Synthetic data." appended (turn off with
   ``hcc_synthetic_captions = False``).
"""
from __future__ import annotations

import re

from docutils import nodes

_HASH_ALT = re.compile(r"^[0-9a-f]{64}\.(png|svg|jpe?g|gif)$|_images/|\.(png|svg)$")


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    files = context.get("script_files")
    if not files:
        return
    seen, kept = set(), []
    for js in files:
        attrs = getattr(js, "attributes", {}) or {}
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    context["script_files"] = kept


def _needs_alt(image: nodes.image) -> bool:
    alt = image.get("alt")
    return not alt or bool(_HASH_ALT.search(str(alt)))


def _is_study_page(app, docname: str) -> bool:
    meta = app.env.metadata.get(docname, {})
    hcc = meta.get("hcc_book")
    if isinstance(hcc, str):
        return '"study"' in hcc
    return isinstance(hcc, dict) and bool(hcc.get("study"))


def _figures(app, doctree, docname) -> None:
    synthetic = app.config.hcc_synthetic_captions and _is_study_page(app, docname)
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        text = captions[0].astext().strip() if captions else ""
        if synthetic and captions and "synthetic" not in text.lower():
            captions[0] += nodes.Text(" Synthetic data.")
            text = captions[0].astext().strip()
        for image in figure.findall(nodes.image):
            if _needs_alt(image) and text:
                image["alt"] = text
    for image in doctree.findall(nodes.image):
        if _needs_alt(image):
            image["alt"] = "Figure from the code cell above"


def setup(app):
    app.add_config_value("hcc_synthetic_captions", True, "html")
    app.connect("html-page-context", _dedupe_scripts)
    app.connect("doctree-resolved", _figures)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
