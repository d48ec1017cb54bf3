"""Sphinx extension: make a chapter's inputs part of what the execution cache sees, and
restore the results files of the chapters taken from the cache.

jupyter-cache keys a notebook on its code cells only, so by itself a changed data file (or
a fixed bug in ``helpers``) would leave stale cached outputs in the book. Each chapter names
its study in its notebook metadata::

    "metadata": {"hcc_book": {"study": "atebev_il6"}}

and this extension, when Sphinx reads the notebook,

1. registers the chapter's inputs (:func:`notebook_inputs`) as dependencies of the page, so
   Sphinx re-reads the page when one of them changes, and
2. prepends a comment-only code cell (tagged ``remove-cell``) holding a SHA-256 of those
   files, so jupyter-cache sees changed code and re-executes exactly the affected chapters.

A chapter's inputs are

* the ``helpers`` modules it imports, transitively (:func:`helpers_closure`: its code cells'
  imports parsed with :mod:`ast`; ``import helpers.x``, ``from helpers import x``,
  ``from helpers.studies import pbis as study``, relative imports inside ``helpers``, imports
  inside functions, and the parent packages' ``__init__.py``). A module imported by a
  computed name (``importlib.import_module(f"helpers.schemas.{study}")``) counts as the
  modules of that package named after the studies the page uses (all of them if it knows
  none), and
* the data files (:func:`helpers.paths.study_inputs`) of the studies the page uses: its
  metadata study, plus every study whose name appears in its code, plus all of them if the
  code mentions ``STUDIES`` (:func:`studies_used`).

So a comment edited in ``helpers/studies/pbis.py`` re-executes the pages that import it (the
PBIS chapters, and pages that import it through another module), not the whole book.

A chapter with ``"study": "published"`` (the audit of the papers) depends on the published
numbers of every study and the audit links only (no cohort, no results files).

A cross-study chapter that reads several studies' data but no other chapter's results (the
IL-6 synthesis) names them instead of one study::

    "metadata": {"hcc_book": {"studies": ["atebev_il6", "pbis", "soramic"]}}

It depends on those studies' inputs and is an ordinary page (executed with the chapters).

A chapter with ``"study": "all"`` (the scorecard) depends on every study's inputs and on the
results files the other chapters write; it is re-read whenever any other chapter is. Sphinx
reads documents in sorted order, so such a page must sort after the study chapters
(``summary_*``); ``tests/test_book.py`` checks that.

**No stale results.** A chapter's results file (``_build/results/<chapter>.csv``) is written
when it executes. For a chapter taken from the execution cache, the file on disk may come
from another execution (another data file, since reverted). Before Sphinx reads any page
(``env-before-read-docs``) this extension rewrites the results file of every cached chapter
from the results its cached notebook carries (:func:`helpers.results.write_results_from_notebook`),
so the scorecard always collects the numbers of the executions whose outputs the book shows.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

from . import paths

FINGERPRINT_PREFIX = "# hcc-book inputs sha256: "


def _helpers_sources() -> list[Path]:
    return sorted(p for p in paths.HELPERS.rglob("*.py") if "__pycache__" not in p.parts)


def _module_file(name: str) -> Path | None:
    """The source file of module ``helpers.a.b`` (``a/b.py`` or ``a/b/__init__.py``)."""
    parts = name.split(".")
    if parts[0] != "helpers":
        return None
    base = paths.HELPERS.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py") if len(parts) > 1 else None, base / "__init__.py"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _package_modules(package: str) -> list[str]:
    """Every module directly inside package ``helpers.x`` (``x/*.py``, sub-packages)."""
    folder = _module_file(package)
    if folder is None or folder.name != "__init__.py":
        return []
    names = [f"{package}.{p.stem}" for p in folder.parent.glob("*.py") if p.stem != "__init__"]
    names += [f"{package}.{p.parent.name}" for p in folder.parent.glob("*/__init__.py")]
    return sorted(names)


def _strip_magics(source: str) -> str:
    """Cell source without IPython magics and shell escapes (``%matplotlib``, ``!ls``)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def _dynamic_prefix(node: ast.AST, module: str) -> str | None:
    """``helpers.schemas.`` for ``import_module(f"helpers.schemas.{study}")`` (also with
    ``{__name__}`` as the first part); the module name for a constant; else ``None``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        text = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                text += str(part.value)
            elif (isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name)
                  and part.value.id == "__name__" and not text):
                text += module
            else:
                return text + "*"
        return text
    return None


def _imports(source: str, module: str, is_package: bool, studies: tuple[str, ...]) -> set[str] | None:
    """The ``helpers`` modules ``source`` (the code of ``module``; ``""`` for a notebook)
    imports anywhere, as dotted names; ``None`` if it does not parse."""
    try:
        tree = ast.parse(_strip_magics(source))
    except SyntaxError:
        return None
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()

    def add(name: str) -> None:
        if name == "helpers" or name.startswith("helpers."):
            found.add(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                parent = ".".join(base + ([node.module] if node.module else []))
            else:
                parent = node.module or ""
            add(parent)
            for alias in node.names:  # ``from helpers import results``: a module
                if _module_file(f"{parent}.{alias.name}") is not None:
                    add(f"{parent}.{alias.name}")
        elif (isinstance(node, ast.Call) and node.args
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"):
            name = _dynamic_prefix(node.args[0], module)
            if name is None or not name.startswith("helpers"):
                continue
            if name.endswith("*"):  # computed: the studies' modules of that package
                package_name = name[:-1].rstrip(".")
                members = _package_modules(package_name)
                chosen = [m for m in members if m.rpartition(".")[2] in studies]
                for m in chosen or members:
                    add(m)
            else:
                add(name)
    return found


_PARSED: dict[tuple, set[str] | None] = {}


def _module_imports(f: Path, module: str, studies: tuple[str, ...]) -> set[str] | None:
    """:func:`_imports` of a module file, remembered while the file is unchanged."""
    stat = f.stat()
    key = (f, stat.st_mtime_ns, stat.st_size, module, studies)
    if key not in _PARSED:
        _PARSED[key] = _imports(f.read_text(), module, f.name == "__init__.py", studies)
    return _PARSED[key]


def studies_used(sources: list[str], study: str) -> tuple[str, ...]:
    """The studies a page uses: its metadata study (all for ``"all"``), every study named in
    its code, and all of them if the code mentions ``STUDIES``."""
    code = "\n".join(sources)
    if study == "all" or re.search(r"\bSTUDIES\b", code):
        return tuple(paths.STUDIES)
    named = {s for s in paths.STUDIES if re.search(rf"\b{s}\b", code)}
    return tuple(s for s in paths.STUDIES if s == study or s in named)


def helpers_closure(sources: list[str], studies: tuple[str, ...] = ()) -> list[Path]:
    """The ``helpers`` source files that code ``sources`` (a notebook's code cells) imports,
    transitively, with every parent package's ``__init__.py``. If any source does not parse,
    every ``helpers`` file (the safe answer)."""
    todo: list[str] = []
    for source in sources:
        names = _imports(source, "", False, studies)
        if names is None:
            return _helpers_sources()
        todo += sorted(names)
    seen: set[str] = set()
    files: set[Path] = set()
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # the module and its parent packages
            prefix = ".".join(parts[:i])
            if prefix in seen:
                continue
            seen.add(prefix)
            f = _module_file(prefix)
            if f is None:
                continue
            files.add(f)
            names = _module_imports(f, prefix, studies)
            if names is None:
                return _helpers_sources()
            todo += sorted(names - seen)
    return sorted(files)


def _code_sources(nb: dict) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb.get("cells", []) if c.get("cell_type") == "code"]


def notebook_inputs(nb: dict) -> list[Path]:
    """The files whose content decides a notebook's outputs besides its own code: the
    ``helpers`` modules it imports (transitively) and the data of the studies it uses; for
    an aggregate page (study ``all``) also the results files in :data:`helpers.paths.RESULTS`.
    ``[]`` for a notebook without ``hcc_book.study`` metadata."""
    meta = nb.get("metadata", {}).get("hcc_book", {})
    study = meta.get("study")
    sources = _code_sources(nb)
    if not study and meta.get("studies"):  # a cross-study page (the IL-6 synthesis)
        studies = tuple(paths.check_study(s) for s in meta["studies"])
        return [f for s in studies for f in paths.study_inputs(s)] + helpers_closure(sources, studies)
    if not study:
        return []
    if study == "published":  # the audit of the papers: published numbers only, no cohort
        files = [paths.published_numbers(s) for s in paths.STUDIES] + [paths.AUDIT_LINKS]
        return [f for f in files if f.exists()] + helpers_closure(sources, tuple(paths.STUDIES))
    studies = studies_used(sources, study)
    files = [f for s in studies for f in paths.study_inputs(s)]
    if study == "all":
        files += sorted(paths.RESULTS.glob("*.csv"))
    return files + helpers_closure(sources, studies)


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
    nb["cells"] = [c for c in nb.get("cells", []) if c.get("id") != "hcc-book-inputs"]
    files = notebook_inputs(nb)
    if not files:
        return nb_json, []
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "hcc-book-inputs",
        "metadata": {"tags": ["remove-cell"]},
        "outputs": [],
        "source": FINGERPRINT_PREFIX + fingerprint(files),
    }
    nb["cells"] = [cell] + nb["cells"]
    return json.dumps(nb, indent=1, ensure_ascii=False), files


def is_aggregate(nb: dict) -> bool:
    """A page that collects the other chapters' results (``hcc_book.study == "all"``)."""
    return nb.get("metadata", {}).get("hcc_book", {}).get("study") == "all"


def restore_results(notebooks, cache_path, results_dir=None) -> dict[str, list[Path]]:
    """Rewrite the results files of every chapter in ``notebooks`` that the jupyter-cache at
    ``cache_path`` holds, from the results its cached notebook carries (aggregate pages are
    skipped: they collect results, they record none). Returns ``{notebook name: files}`` of
    the cached chapters; a chapter not in the cache is left alone (it will execute)."""
    import nbformat
    from jupyter_cache import get_cache

    from .results import write_results_from_notebook

    cache_path = Path(cache_path)
    if not cache_path.is_dir():
        return {}
    cache = get_cache(str(cache_path))
    restored = {}
    for path in map(Path, notebooks):
        text = path.read_text()
        if is_aggregate(json.loads(text)):
            continue
        injected, _ = inject_fingerprint(text)
        try:
            record = cache.match_cache_notebook(nbformat.reads(injected, as_version=4))
        except KeyError:
            continue
        nb = cache.get_cache_bundle(record.pk).nb
        restored[path.name] = write_results_from_notebook(nb, results_dir)
    return restored


def _restore_cached_results(app, env, docnames):
    """``env-before-read-docs``: results files of the cached chapters, from their cache entry."""
    config = getattr(env, "mystnb_config", None)
    if config is None or config.execution_mode != "cache":
        return
    notebooks = [env.doc2path(d) for d in sorted(env.found_docs)
                 if str(env.doc2path(d)).endswith(".ipynb")]
    restore_results(notebooks, config.execution_cache_path)


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
    app.connect("env-before-read-docs", _restore_cached_results)
    return {"version": "0.1", "parallel_read_safe": False, "parallel_write_safe": True,
            "env_version": 1}
