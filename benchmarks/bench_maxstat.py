"""Benchmark: helpers.maxstat against a lifelines loop and against R maxstat.

Run from the repository root::

    .venv/bin/python benchmarks/bench_maxstat.py [--sizes 165 1000 10000] [--loop-cuts 200]

For each n, one simulated cohort (seed 20231 + n; see :func:`simulate`) and:

- ``maxstat_test(..., pmethods=("Lau94",))``: our maximally selected log-rank statistic
  over every candidate cut with the Lau94 p-value (best of several repeats);
- ``min_pvalue_search``: our uncorrected two-group log-rank test at every cut;
- a loop of ``lifelines.statistics.logrank_test`` over the same cuts (what one would write
  by hand); at large n a fixed, evenly spaced subset of ``--loop-cuts`` (default 150) cuts is timed and
  the time extrapolated linearly to all cuts (said so in the table);
- R ``maxstat.test(Surv(time, event) ~ marker, data, smethod = "LogRank",
  pmethod = "Lau94")`` via ``Rscript``, timed inside R (``system.time`` around repeated
  calls, best repeat; R's start-up and CSV reading excluded); skipped with a message if
  ``Rscript`` or the maxstat package is missing. R's cut-point and statistic are checked
  against ours.

Prints a table and writes it to ``benchmarks/results.md``.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from helpers import maxstat as ms  # noqa: E402

SEED = 20231

R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(maxstat)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- as.integer(args[2])
f <- Surv(time, event) ~ marker
fit <- function() maxstat.test(f, data = d, smethod = "LogRank", pmethod = "Lau94")
r <- fit()                                   # warm-up (byte-compilation, lazy loading)
## calls per repeat: enough for >= 0.2 s per repeat
one <- system.time(fit())[["elapsed"]]
calls <- max(1L, as.integer(ceiling(0.2 / max(one, 1e-3))))
best <- Inf
for (i in seq_len(reps)) {
  el <- system.time(for (j in seq_len(calls)) fit())[["elapsed"]]
  best <- min(best, el / calls)
}
cat(sprintf("seconds %.9g\ncalls %d\nstatistic %.17g\ncutoff %.17g\np %.17g\n",
            best, calls, r$statistic, r$estimate, r$p.value))
"""


def simulate(n: int, seed: int) -> pd.DataFrame:
    """A cohort like the book's: a log-normal marker (IL-6-like, 2 decimals, so ties at
    large n), exponential survival whose hazard doubles above the marker's median, uniform
    censoring, times rounded to 0.1 month (tied times)."""
    rng = np.random.default_rng(seed)
    marker = np.round(np.exp(rng.normal(np.log(12), 1.0, n)), 2)
    hazard = np.where(marker > np.median(marker), 2.0, 1.0) / 14
    t_event = rng.exponential(1 / hazard)
    t_cens = rng.uniform(3, 36, n)
    time_ = np.maximum(0.1, np.round(np.minimum(t_event, t_cens), 1))
    return pd.DataFrame({"time": time_, "event": (t_event <= t_cens).astype(int),
                         "marker": marker})


def best_of(fn, repeats: int, min_seconds: float = 0.2) -> float:
    """Best per-call time over ``repeats`` repeats of enough calls to last ``min_seconds``."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    calls = max(1, int(np.ceil(min_seconds / max(one, 1e-6))))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def lifelines_loop(df: pd.DataFrame, cuts: np.ndarray, max_cuts: int):
    """Seconds for a ``logrank_test`` loop over ``cuts`` (low = marker <= cut); with more
    than ``max_cuts`` cuts, an evenly spaced subset is timed and scaled to all cuts."""
    from lifelines.statistics import logrank_test

    subset = cuts
    if len(cuts) > max_cuts:
        subset = cuts[np.linspace(0, len(cuts) - 1, max_cuts).round().astype(int)]
    time_, event, marker = (df[c].to_numpy() for c in ("time", "event", "marker"))
    chisq = []
    t0 = time.perf_counter()
    for cut in subset:
        low = marker <= cut
        chisq.append(logrank_test(time_[low], time_[~low], event[low], event[~low]).test_statistic)
    elapsed = time.perf_counter() - t0
    return elapsed * len(cuts) / len(subset), len(subset), np.array(chisq), subset


def r_available() -> str | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    ok = subprocess.run([rscript, "-e", "quit(status = !requireNamespace('maxstat', "
                         "quietly = TRUE))"], capture_output=True)
    return rscript if ok.returncode == 0 else None


def r_time(rscript: str, df: pd.DataFrame, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "d.csv"
        script = Path(tmp) / "bench.R"
        # every digit, so R sees the same numbers
        df.to_csv(data, index=False, float_format="%.17g")
        script.write_text(R_SCRIPT)
        out = subprocess.run([rscript, str(script), str(data), str(repeats)],
                             capture_output=True, text=True, check=True).stdout
    values = dict(line.split(" ", 1) for line in out.strip().splitlines())
    return {k: float(v) for k, v in values.items()}


def markdown_table(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, table.columns)) + " |",
             "|" + "|".join("---:" for _ in table.columns) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f}" if seconds == seconds else "n/a"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[165, 1000, 10000])
    parser.add_argument("--loop-cuts", type=int, default=150,
                        help="largest number of cuts timed in the lifelines loop")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    args = parser.parse_args(argv)

    rscript = r_available()
    if rscript is None:
        print("R with the maxstat package not found: skipping the R timings.")
    rows, notes = [], []
    for n in args.sizes:
        df = simulate(n, SEED + n)
        res = ms.maxstat_test(df, "time", "event", "marker", pmethods=("Lau94",))
        cuts = res.curve["cut"].to_numpy()
        t_ours = best_of(lambda: ms.maxstat_test(df, "time", "event", "marker",
                                                 pmethods=("Lau94",)), args.repeats)
        t_minp = best_of(lambda: ms.min_pvalue_search(df, "time", "event", "marker"),
                         args.repeats)
        t_loop, n_timed, chisq, subset = lifelines_loop(df, cuts, args.loop_cuts)
        # the loop and our vectorised search must compute the same thing
        minp = ms.min_pvalue_search(df, "time", "event", "marker", high_if=">")
        ours_chisq = minp.curve.set_index("low_max").loc[subset, "chisq"].to_numpy()
        agree = np.allclose(ours_chisq, chisq, rtol=1e-8)
        loop_note = "all" if n_timed == len(cuts) else f"{n_timed} timed, extrapolated"
        r = {"seconds": float("nan")}
        r_check = "R not run"
        if rscript is not None:
            r = r_time(rscript, df, args.repeats)
            same = (r["cutoff"] == res.cutoff
                    and abs(r["statistic"] / res.statistic - 1) < 1e-10
                    and abs(r["p"] / res.p("Lau94") - 1) < 1e-10)
            r_check = "same cut, statistic, p" if same else (
                f"DIFFERS: R cut {r['cutoff']:.6g} M {r['statistic']:.10g}, "
                f"ours {res.cutoff:.6g} {res.statistic:.10g}")
        rows.append({
            "n": n, "events": int(df["event"].sum()), "cuts": len(cuts),
            "ours maxstat_test (ms)": fmt_ms(t_ours),
            "ours min_pvalue_search (ms)": fmt_ms(t_minp),
            "lifelines loop (ms)": fmt_ms(t_loop) + f" ({loop_note})",
            "R maxstat.test (ms)": fmt_ms(r["seconds"]),
            "R / ours": f"{r['seconds'] / t_ours:.1f}x" if r["seconds"] == r["seconds"] else "n/a",
            "loop / ours": f"{t_loop / t_ours:,.0f}x",
            "loop / min_pvalue_search": f"{t_loop / t_minp:,.0f}x",
        })
        notes.append(f"- n = {n}: loop chi-squares equal ours (rtol 1e-8): {agree}; "
                     f"R check: {r_check}.")
        print(f"n = {n} done", flush=True)

    table = pd.DataFrame(rows)
    header = [
        "# maxstat benchmark",
        "",
        f"Written by `benchmarks/bench_maxstat.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPU(s) reported (shared machine: times are best-of-"
        f"{args.repeats} repeats and still noisy).",
        "",
        "Times are per call. `ours maxstat_test` = `maxstat_test(..., pmethods=(\"Lau94\",))`; "
        "`R maxstat.test` = `maxstat.test(Surv(time, event) ~ marker, smethod = \"LogRank\", "
        "pmethod = \"Lau94\")` timed inside R (start-up excluded); the lifelines loop calls "
        "`logrank_test` once per candidate cut (`loop / ours` compares it with "
        "`maxstat_test`, `loop / min_pvalue_search` with the function that computes the same "
        "chi-squares).",
        "",
    ]
    md = "\n".join(header) + markdown_table(table) + "\n\n" + "\n".join(notes) + "\n"
    print()
    print(md)
    args.output.write_text(md)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
