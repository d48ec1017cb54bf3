"""Execute the book's notebooks in parallel into the execution cache, before Sphinx runs.

myst-nb executes notebooks one at a time while Sphinx reads them. This step fills the same
jupyter-cache (``_build/.jupyter_cache``) first, with ``jobs`` notebooks at a time, from
exactly the notebook text myst-nb will see (the input fingerprint of
:mod:`helpers.book_ext` included), so Sphinx then finds every notebook cached. Notebooks
already cached are skipped, so a no-change rebuild executes nothing. Aggregate pages
(``hcc_book.study == "all"``: the scorecard) run last, after the chapters whose results
they collect; before they run, the results file of every chapter taken from the cache is
rewritten from its cached notebook (:func:`helpers.book_ext.restore_results`; a chapter
executed now wrote its own), so the scorecard collects exactly the numbers of the executions
the book shows, even where the file on disk came from another run.

:func:`fill_cache` is the same with every notebook's outcome, and the executed notebooks
copied to a folder: the tests' executed book (``tests/conftest.py``) is this cache, so
``make book`` after ``make test`` executes nothing. :func:`execute_notebooks` is the same
parallel execution without the cache, into a folder of one's choosing.

Run as ``python -m helpers execute [--jobs N]`` (the Makefile's ``book`` target does).
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from . import book_ext, paths

CACHE = paths.BUILD / ".jupyter_cache"
TIMEOUT = 300


def toc_notebooks(root=None) -> list[Path]:
    """The ``.ipynb`` files of ``<root>/_toc.yml`` (default: the repository's), in its order."""
    import yaml

    root = paths.ROOT if root is None else Path(root)
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for p in toc.get("parts", []) for c in p.get("chapters", [])]
    return [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").exists()]


def _is_aggregate(path: Path) -> bool:
    return book_ext.is_aggregate(json.loads(path.read_text()))


def _as_myst_nb_sees_it(path: Path):
    import nbformat

    text, _ = book_ext.inject_fingerprint(path.read_text())
    return nbformat.reads(text, as_version=4)


def _set_environ(env: dict) -> None:
    """Worker initializer: environment for the kernels this worker starts."""
    import os

    os.environ.update(env)


#: How a kernel that lost the port race fails: jupyter_client picks free ports, releases them,
#: and the kernel binds them a moment later; a kernel started at the same time by another
#: process can take one in between ("ZMQError: Address already in use" in the kernel, this
#: message in the client; papermill#511, jupyter_client#154, both open). Seen once in
#: ``make test`` (two workers starting kernels). Nothing has run yet, so a new start is safe.
KERNEL_START_FAILURE = "Kernel died before replying to kernel_info"


def retry_kernel_start(execute, attempts: int = 3):
    """``execute()``, started again (up to ``attempts`` times in all) when its kernel died
    before replying (:data:`KERNEL_START_FAILURE`); any other error is raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            return execute()
        except RuntimeError as exc:
            if KERNEL_START_FAILURE not in str(exc) or attempt == attempts:
                raise


def _execute(path_str: str, fingerprint: bool = True):
    """Worker: execute one notebook as myst-nb would (with the fingerprint cell, or as
    committed); return (path, notebook, seconds, error)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    path = Path(path_str)
    nb = _as_myst_nb_sees_it(path) if fingerprint else nbformat.read(str(path), as_version=4)
    result = retry_kernel_start(lambda: single_nb_execution(
        nb, cwd=str(path.parent), timeout=TIMEOUT, allow_errors=False, meta_override=True))
    error = None
    if result.err is not None:
        lines = [ln for ln in (result.exc_string or "").strip().splitlines() if ln.strip()]
        error = lines[-1] if lines else type(result.err).__name__
    return path_str, nb, result.time, error


def _is_cached(cache, path: Path) -> bool:
    try:
        cache.match_cache_notebook(_as_myst_nb_sees_it(path))
        return True
    except KeyError:
        return False


def execute_book(jobs: int = 2, root=None, cache_path=None) -> int:
    """Execute every uncached notebook of the book into the cache; return the exit status.

    ``root`` (the folder holding ``_toc.yml``) and ``cache_path`` default to the repository's
    and :data:`CACHE` (tests pass a small temporary book)."""
    outcome = fill_cache(jobs=jobs, root=root, cache_path=cache_path)
    return 1 if any(outcome.values()) else 0


#: Environment of the kernels: inline figures even if the caller set another backend.
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def fill_cache(jobs: int = 2, root=None, cache_path=None, out_dir=None) -> dict[str, str | None]:
    """Execute every uncached notebook of the book into the jupyter-cache (what
    ``python -m helpers execute`` and ``make book`` do), ``jobs`` at a time, aggregate pages
    last. Returns ``{notebook name: error line or None}`` for every notebook of the book
    (``None`` also for one taken from the cache).

    Results files: a chapter executed here writes its own (its kernel, into
    :data:`helpers.paths.RESULTS`); for a chapter taken from the cache, the file is rewritten
    from the cached notebook (:func:`helpers.book_ext.restore_results`), before the
    aggregate pages run.

    ``out_dir``: also write every notebook, as executed (from the cache, or the failed
    execution with its error), to ``out_dir/<name>`` (the tests read them there)."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from tqdm import tqdm

    cache_path = CACHE if cache_path is None else Path(cache_path)
    cache = get_cache(str(cache_path))
    root = paths.ROOT if root is None else Path(root)
    notebooks = toc_notebooks(root)
    waves = [[p for p in notebooks if not _is_aggregate(p)], [p for p in notebooks if _is_aggregate(p)]]
    failures, executed, names, start = [], 0, [], time.perf_counter()
    outcome: dict[str, str | None] = {}
    with ProcessPoolExecutor(max_workers=jobs, initializer=_set_environ,
                             initargs=(KERNEL_ENV,)) as pool:
        for number, wave in enumerate(waves):
            todo = [p for p in wave if not _is_cached(cache, p)]
            outcome.update({p.name: None for p in wave if p not in todo})
            futures = [pool.submit(_execute, str(p)) for p in todo]
            for fut in tqdm(as_completed(futures), total=len(futures), desc="executing notebooks",
                            unit="nb", disable=None if futures else True):
                path_str, nb, seconds, error = fut.result()
                name = Path(path_str).relative_to(root)
                outcome[Path(path_str).name] = error
                if error:
                    failures.append(f"{name}: {error}")
                    if out_dir is not None:
                        Path(out_dir).mkdir(parents=True, exist_ok=True)
                        nbformat.write(nb, str(Path(out_dir) / Path(path_str).name))
                    continue
                executed += 1
                names.append(Path(path_str).stem)
                cache.cache_notebook_bundle(
                    CacheBundleIn(nb, path_str, data={"execution_seconds": seconds}),
                    check_validity=False, overwrite=True)
            if failures:
                break  # aggregate pages would only repeat the failure
            if number == 0:  # results of the executions the cache holds, not older files
                book_ext.restore_results([p for p in wave if p not in todo], cache_path)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        for p in notebooks:
            if outcome.get(p.name, "missing") is None:
                nbformat.write(_cached(cache, p), str(Path(out_dir) / p.name))
    took = time.perf_counter() - start
    print(f"executed {executed} notebook(s) with {jobs} job(s) in {took:.0f} s; "
          f"{len(notebooks) - executed - len(failures)} already cached")
    if names:
        print("executed: " + ", ".join(sorted(names)))
    if failures:
        print("These notebooks failed (the book build would stop on them):")
        print("\n".join(f"  {f}" for f in failures))
    return outcome


def _cached(cache, path: Path):
    """The cached (executed) notebook of ``path``, as myst-nb would take it."""
    record = cache.match_cache_notebook(_as_myst_nb_sees_it(path))
    return cache.get_cache_bundle(record.pk).nb


def execute_notebooks(notebooks, out_dir, results_dir, jobs: int = 2,
                      env: dict | None = None) -> dict[str, str | None]:
    """Execute ``notebooks`` as committed (no cache), ``jobs`` at a time, aggregate pages last;
    write each executed notebook to ``out_dir/<name>`` (also a failed one, with its error) and
    the results files to ``results_dir`` (the kernels' ``HCC_BOOK_RESULTS``). ``env``: more
    environment variables for the kernels. Returns ``{notebook name: error line or None}``."""
    import nbformat

    out_dir, results_dir = Path(out_dir), Path(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    kernel_env = {"HCC_BOOK_RESULTS": str(results_dir),
                  "MPLBACKEND": "module://matplotlib_inline.backend_inline", **(env or {})}
    notebooks = [Path(p) for p in notebooks]
    waves = [[p for p in notebooks if not _is_aggregate(p)], [p for p in notebooks if _is_aggregate(p)]]
    outcome: dict[str, str | None] = {}
    with ProcessPoolExecutor(max_workers=jobs, initializer=_set_environ,
                             initargs=(kernel_env,)) as pool:
        for wave in waves:
            futures = [pool.submit(_execute, str(p), False) for p in wave]
            for fut in as_completed(futures):
                path_str, nb, seconds, error = fut.result()
                name = Path(path_str).name
                nbformat.write(nb, str(out_dir / name))
                outcome[name] = error
    return outcome
