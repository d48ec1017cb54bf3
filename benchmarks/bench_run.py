"""Benchmark: a whole study re-run (``python -m helpers run``) per study and cohort size.

Run from the repository root::

    .venv/bin/python benchmarks/bench_run.py [--sizes 165 16500 165000] [--studies atebev_il6 pbis soramic]
                                             [--timeout 600]

For each study and n, a cohort of n patients is drawn with replacement from the shipped
synthetic cohort (seed 17 + n; patient ids made unique), so every column keeps its contract
and its distribution. The command ``python -m helpers run STUDY --cohort FILE --out DIR`` is
then timed as a child process, as a user runs it:

- ``wall``: wall-clock seconds of the whole run (validation, pre-flight, every chapter's
  kernel, HTML export, comparison), or ``> timeout`` when it did not finish in ``--timeout``
  seconds (then it is stopped with SIGTERM and the table says which chapter it was in);
- ``peak RSS``: the largest resident memory of the run's process tree (the command and its
  kernels), sampled every 0.2 s with psutil;
- ``ratio``: wall / the wall of the same study at the smallest n, measured in the same run:
  the reference is the shipped-size re-run on the same machine at the same time, so the ratio
  says how the run scales, whatever the machine's speed;
- per chapter: seconds from ``run.json``.

The machine is shared: ``uptime``'s load average before and after each run is in the table.
Prints a table and writes ``benchmarks/results_run.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from helpers import paths  # noqa: E402


def make_cohort(study: str, n: int, folder: Path) -> Path:
    """n patients drawn with replacement from the shipped cohort (ids made unique)."""
    base = pd.read_csv(paths.synthetic_cohort(study), dtype=str, keep_default_na=False)
    out = base.sample(n, replace=n > len(base), random_state=17 + n).reset_index(drop=True)
    out["patient_id"] = [f"B{i:07d}" for i in range(n)]
    path = folder / f"{study}_{n}.csv"
    out.to_csv(path, index=False)
    return path


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed_run(study: str, cohort: Path, out: Path, timeout: float) -> dict:
    import psutil

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "helpers", "run", study, "--cohort", str(cohort),
                             "--out", str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    me = psutil.Process(proc.pid)
    peak, timed_out = 0, False
    while proc.poll() is None:
        try:
            rss = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        if time.perf_counter() - t0 > timeout:
            timed_out = True
            os.killpg(proc.pid, signal.SIGTERM)
            break
        time.sleep(0.2)
    stdout, stderr = proc.communicate(timeout=120)
    wall = time.perf_counter() - t0
    meta = {}
    if (out / "run.json").exists():
        meta = json.loads((out / "run.json").read_text())
    # the chapter a stopped run was in: the last notebook in the staging/failed folder
    failed = out.parent / f"{out.name}.failed"
    at = ""
    if timed_out and failed.exists():
        done = sorted(failed.glob("*.ipynb"), key=lambda p: p.stat().st_mtime)
        at = done[-1].stem if done else ""
    return {"wall": wall, "peak_mb": peak / 2 ** 20, "rc": proc.returncode, "timed_out": timed_out,
            "chapters": meta.get("seconds", {}), "skipped": meta.get("skipped", {}), "at": at,
            "error": next((ln for ln in stderr.splitlines() if ln.startswith("error:")), "")
            if proc.returncode else ""}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[165, 16_500, 165_000])
    ap.add_argument("--studies", nargs="+", default=list(paths.STUDIES))
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--output", default=str(HERE / "results_run.md"))
    args = ap.parse_args(argv)
    sizes = sorted(args.sizes)
    rows, chapter_rows = [], []
    with tempfile.TemporaryDirectory(prefix="bench_run_") as tmp:
        tmp = Path(tmp)
        for study in args.studies:
            ref = None
            for n in sizes:
                cohort = make_cohort(study, n, tmp)
                out = tmp / f"out_{study}_{n}"
                before = load()
                r = timed_run(study, cohort, out, args.timeout)
                after = load()
                if n == sizes[0]:
                    ref = r["wall"]
                wall = f"> {args.timeout:.0f} (in {r['at'] or '?'})" if r["timed_out"] else f"{r['wall']:.1f}"
                status = "ok" if r["rc"] == 0 else ("timed out" if r["timed_out"] else f"exit {r['rc']}: {r['error']}")
                if r["skipped"]:
                    status += f"; skipped {', '.join(r['skipped'])}"
                rows.append({"study": study, "n": f"{n:,}", "wall (s)": wall,
                             "ratio to n = %d" % sizes[0]: f"{r['wall'] / ref:.1f}" if ref else "",
                             "peak RSS (MB)": f"{r['peak_mb']:,.0f}", "load before / after": f"{before} / {after}",
                             "status": status})
                for ch, sec in r["chapters"].items():
                    chapter_rows.append({"study": study, "n": f"{n:,}", "chapter": ch, "seconds": f"{sec:.1f}"})
                print(rows[-1], flush=True)
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(out.parent / f"{out.name}.failed", ignore_errors=True)
    table = pd.DataFrame(rows).to_markdown(index=False)
    per_chapter = pd.DataFrame(chapter_rows).to_markdown(index=False) if chapter_rows else "(none)"
    text = (f"# Study re-run: time and peak memory per study and cohort size\n\n"
            f"`benchmarks/bench_run.py` on {platform.node()} ({os.cpu_count()} cores, Python "
            f"{platform.python_version()}), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
            f"The machine is shared: load averages (1, 5, 15 min) before and after each run are shown. "
            f"Timeout per run: {args.timeout:.0f} s.\n\n{table}\n\n## Seconds per chapter\n\n{per_chapter}\n")
    print(text)
    Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
