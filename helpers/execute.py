"""Execute the book's notebooks in parallel into the execution cache, before Sphinx runs.

myst-nb executes notebooks one at a time while Sphinx reads them. This step fills the same
jupyter-cache (``_build/.jupyter_cache``) first, with ``jobs`` notebooks at a time, from
exactly the notebook text myst-nb will see (the input fingerprint of
:mod:`helpers.book_ext` included), so Sphinx then finds every notebook cached. Notebooks
already cached are skipped, so a no-change rebuild executes nothing. Aggregate pages
(``hcc_book.study == "all"``: the scorecard) run last, after the chapters whose results
they collect.

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


def toc_notebooks() -> list[Path]:
    """The ``.ipynb`` files of ``_toc.yml``, in its order."""
    import yaml

    toc = yaml.safe_load((paths.ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for p in toc.get("parts", []) for c in p.get("chapters", [])]
    return [paths.ROOT / f"{f}.ipynb" for f in files if (paths.ROOT / f"{f}.ipynb").exists()]


def _is_aggregate(path: Path) -> bool:
    return json.loads(path.read_text())["metadata"].get("hcc_book", {}).get("study") == "all"


def _as_myst_nb_sees_it(path: Path):
    import nbformat

    text, _ = book_ext.inject_fingerprint(path.read_text())
    return nbformat.reads(text, as_version=4)


def _execute(path_str: str):
    """Worker: execute one notebook as myst-nb would; return (path, notebook, seconds, error)."""
    from jupyter_cache.executors.utils import single_nb_execution

    path = Path(path_str)
    nb = _as_myst_nb_sees_it(path)
    result = single_nb_execution(nb, cwd=str(path.parent), timeout=TIMEOUT,
                                 allow_errors=False, meta_override=True)
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


def execute_book(jobs: int = 2) -> int:
    """Execute every uncached notebook of the book into the cache; return the exit status."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from tqdm import tqdm

    cache = get_cache(str(CACHE))
    notebooks = toc_notebooks()
    waves = [[p for p in notebooks if not _is_aggregate(p)], [p for p in notebooks if _is_aggregate(p)]]
    failures, executed, start = [], 0, time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for wave in waves:
            todo = [p for p in wave if not _is_cached(cache, p)]
            if not todo:
                continue
            futures = [pool.submit(_execute, str(p)) for p in todo]
            for fut in tqdm(as_completed(futures), total=len(futures), desc="executing notebooks",
                            unit="nb", disable=None):
                path_str, nb, seconds, error = fut.result()
                name = Path(path_str).relative_to(paths.ROOT)
                if error:
                    failures.append(f"{name}: {error}")
                    continue
                executed += 1
                cache.cache_notebook_bundle(
                    CacheBundleIn(nb, path_str, data={"execution_seconds": seconds}),
                    check_validity=False, overwrite=True)
            if failures:
                break  # aggregate pages would only repeat the failure
    took = time.perf_counter() - start
    print(f"executed {executed} notebook(s) with {jobs} job(s) in {took:.0f} s; "
          f"{len(notebooks) - executed - len(failures)} already cached")
    if failures:
        print("These notebooks failed (the book build would stop on them):")
        print("\n".join(f"  {f}" for f in failures))
        return 1
    return 0
