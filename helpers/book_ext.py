"""Sphinx extension: make a chapter's inputs part of what the execution cache sees.

jupyter-cache keys a notebook on its code cells only, so by itself a changed data file (or
a fixed bug in ``helpers``) would leave stale cached outputs in the book. Each chapter names
its study in its notebook metadata::

    "metadata": {"hcc_book": {"study": "atebev_il6"}}

and this extension, when Sphinx reads the notebook,

1. registers the study's data files (:func:`helpers.paths.study_inputs`) and the source of
   the ``helpers`` package as dependencies of the page, so Sphinx re-reads the page when
   one of them changes, and
2. prepends a comment-only code cell (tagged ``remove-cell``) holding a SHA-256 of those
   files, so jupyter-cache sees changed code and re-executes exactly the affected chapters.

A chapter with ``"study": "all"`` (the scorecard) depends on every study's inputs and on the
results files the other chapters write; it is re-read whenever any other chapter is. Sphinx
reads documents in sorted order, so such a page must sort after the study chapters
(``summary_*``); ``tests/test_book.py`` checks that.

A cross-study chapter that reads several studies' data but no other chapter's results (the
IL-6 synthesis) names them instead of one study::

    "metadata": {"hcc_book": {"studies": ["atebev_il6", "pbis", "soramic"]}}

It depends on those studies' inputs and is an ordinary page (executed with the chapters, not
after them).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from . import paths

FINGERPRINT_PREFIX = "# hcc-book inputs sha256: "


def _helpers_sources() -> list[Path]:
    return sorted(p for p in paths.HELPERS.rglob("*.py") if "__pycache__" not in p.parts)


def chapter_inputs(study: str | list | tuple) -> list[Path]:
    """The files whose content decides a chapter's outputs (besides its own code).

    ``study`` is a study name, ``"all"`` (every study's inputs and the results files), or a
    list of study names (a cross-study chapter: their inputs, no results files)."""
    if isinstance(study, (list, tuple)):
        studies = tuple(paths.check_study(s) for s in study)
    else:
        studies = paths.STUDIES if study == "all" else (study,)
    files = [f for s in studies for f in paths.study_inputs(s)]
    if study == "all":
        files += sorted(paths.RESULTS.glob("*.csv"))
    return files + _helpers_sources()


def declared_inputs(metadata: dict):
    """What a notebook's ``hcc_book`` metadata declares: its ``studies`` list if it has one,
    else its ``study``; ``None`` when it declares neither."""
    meta = metadata.get("hcc_book", {})
    return meta.get("studies") or meta.get("study") or None


def fingerprint(files: list[Path]) -> str:
    """SHA-256 over the relative names and contents of ``files``."""
    h = hashlib.sha256()
    for f in files:
        rel = f.relative_to(paths.ROOT) if f.is_relative_to(paths.ROOT) else f
        h.update(str(rel).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def inject_fingerprint(nb_json: str) -> tuple[str, list[Path]]:
    """Return the notebook JSON with the fingerprint cell prepended, and the input files.
    Notebooks without ``hcc_book.study`` metadata are returned unchanged."""
    nb = json.loads(nb_json)
    study = declared_inputs(nb.get("metadata", {}))
    if not study:
        return nb_json, []
    files = chapter_inputs(study)
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "hcc-book-inputs",
        "metadata": {"tags": ["remove-cell"]},
        "outputs": [],
        "source": FINGERPRINT_PREFIX + fingerprint(files),
    }
    nb["cells"] = [cell] + [c for c in nb["cells"] if c.get("id") != "hcc-book-inputs"]
    return json.dumps(nb, indent=1, ensure_ascii=False), files


def _source_read(app, docname, source):
    if not app.env.doc2path(docname).endswith(".ipynb"):
        return
    new, files = inject_fingerprint(source[0])
    for f in files:
        app.env.note_dependency(str(f))
    if files:
        study = json.loads(source[0])["metadata"]["hcc_book"].get("study")
        if study == "all":
            app.env.hcc_book_aggregate = getattr(app.env, "hcc_book_aggregate", set()) | {docname}
    source[0] = new


def _get_outdated(app, env, added, changed, removed):
    """Re-read aggregate pages (the scorecard) whenever any other page is re-read."""
    aggregate = getattr(env, "hcc_book_aggregate", set())
    if (added | changed | removed) - aggregate:
        return sorted(aggregate)
    return []


def setup(app):
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _get_outdated)
    return {"version": "0.1", "parallel_read_safe": False, "parallel_write_safe": True,
            "env_version": 1}
