"""Command line: ``python -m helpers COMMAND ...`` (``--help`` on each command).

Commands
--------
run STUDY --cohort FILE --out DIR [--force] [--share] [--min-cell-count K] [-p NAME VALUE ...]
        [--cohort-labels MAP] [--tcell FILE --il6-exposure FILE --tme FILE] [--html book|none]
    Validate a cohort, then run the study's chapters on it with papermill and build their book
    (``--share``: also a checked, shareable copy; see :mod:`helpers.disclosure`).
validate STUDY FILE [--dataset NAME] [--cohort-labels MAP]
    Check a cohort CSV against the study's contract; print every failure at once.
synthesize [--check]
    Regenerate ``data/synthetic/`` from ``data/published/`` (``--check``: compare only).
scorecard [RESULTS_DIR]
    Published vs reproduced for every recorded number.
audit STUDY|FILE [--csv OUT]
    Check a paper's printed numbers against each other (``data/published/``); print the
    summary and the findings, and write every check's row to OUT.
execute [--jobs N]
    Execute the book's notebooks in parallel into the execution cache (before Sphinx).
check-offline HTML_DIR
    Fail if the built HTML loads any script, style sheet or font from the network.
browser-check [HTML_DIR] [--strict]
    Open every built page in headless Chromium at 1,400 and 420 px (:mod:`helpers.browser`).
optimism --cohort FILE --time COL --event COL --marker COL --out DIR [--method maxstat|minp] ...
    The cut-point optimism report card of one marker (tidy CSV and figures in DIR).

Errors are printed as one readable message and exit with status 1 (2 for usage errors);
no traceback unless ``HCC_BOOK_DEBUG=1``.
"""
from __future__ import annotations

import argparse
import os
import signal
import re
import sys
from pathlib import Path


class UserError(Exception):
    """An error in the user's input: printed as a message, never as a traceback."""


# A resource fetched by the page itself (not a plain hyperlink a reader may click).
_REMOTE_LOAD = re.compile(
    r"""<script[^>]+src=["']?(https?:)?//|<link[^>]+rel=["']?(stylesheet|preload|modulepreload|icon)[^>]+href=["']?(https?:)?//"""
    r"""|<link[^>]+href=["']?(https?:)?//[^>]+rel=["']?(stylesheet|preload|modulepreload)|@import\s+url\(["']?(https?:)?//"""
    r"""|url\(["']?https?://|<img[^>]+src=["']?(https?:)?//|<iframe[^>]+src=["']?(https?:)?//""",
    re.IGNORECASE,
)


def check_offline(html_dir: Path) -> list[str]:
    """Every place in ``html_dir`` where a page would load something from the network."""
    problems = []
    for f in sorted(html_dir.rglob("*")):
        if f.suffix not in {".html", ".css"} or not f.is_file():
            continue
        text = f.read_text(errors="replace")
        for m in _REMOTE_LOAD.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            snippet = text[m.start(): m.start() + 120].splitlines()[0]
            problems.append(f"{f.relative_to(html_dir)}:{line}: {snippet}")
    return problems


def _cmd_check_offline(args) -> int:
    html_dir = Path(args.html_dir)
    if not (html_dir / "index.html").exists():
        raise UserError(f"{html_dir}/index.html not found: build the book first (make book)")
    problems = check_offline(html_dir)
    if problems:
        print("The built book loads these from the network (it must build and read offline):")
        print("\n".join(f"  {p}" for p in problems[:50]))
        return 1
    print(f"offline check: no remote scripts, styles or fonts in {html_dir}")
    return 0


def _cmd_validate(args) -> int:
    from . import contract, escape, preflight, runbook

    labels = runbook.parse_labels(args.cohort_labels)
    runbook.check_labels(args.study, labels)
    if Path(args.file).is_file():  # a missing file is the contract report's first row
        try:  # the row limit of a run, counted by streaming before the contract reads the file
            preflight.check_size(args.file)
        except preflight.PreflightError as exc:
            raise UserError(escape.one_line(str(exc))) from None
    report = contract.validate_file(args.study, args.file, dataset=args.dataset, labels=labels)
    print(contract.format_report(report, args.file))
    if report.empty:
        info = runbook.format_information(runbook.information(args.study, args.file, labels,
                                                              dataset=args.dataset))
        if info:
            print("\n" + info)
    return 0 if report.empty else 1


def _cmd_run(args) -> int:
    from . import run, runbook

    params = {name: value for name, value in (args.param or [])}
    labs = {"tcell": args.tcell, "il6_exposure": args.il6_exposure, "tme": args.tme}
    run.run_study(args.study, cohort=args.cohort, out=args.out, force=args.force,
                  parameters=params, html=args.html != "none",
                  labels=runbook.parse_labels(args.cohort_labels), labs=labs,
                  share=args.share, min_cell_count=args.min_cell_count)
    return 0


def _cmd_synthesize(args) -> int:
    from . import synth

    return synth.main(check=args.check)


def _cmd_execute(args) -> int:
    from . import execute

    return execute.execute_book(jobs=args.jobs)


def _cmd_scorecard(args) -> int:
    from . import scorecard

    card = scorecard.scorecard(results_dir=args.results_dir)
    print(scorecard.summary_line(card))
    return 0


def _cmd_audit(args) -> int:
    from . import audit

    out = Path(args.csv) if args.csv else None
    if out is not None and out.is_dir():
        raise UserError(f"{out}: is a folder; --csv expects a file name (e.g. audit.csv)")
    if out is not None and not out.parent.exists():
        raise UserError(f"{out.parent}: folder does not exist (for --csv {out})")
    table = audit.audit(args.study, links=args.links)
    print(audit.format_summary(table))
    if out is not None:
        table.to_csv(out, index=False)
        print(f"\n{len(table)} rows written to {out}")
    return 0


def _cmd_optimism(args) -> int:
    from . import optimism

    try:
        card = optimism.run_command(args.cohort, args.time, args.event, args.marker, args.out,
                                    force=args.force, method=args.method, minprop=args.minprop,
                                    replicates=args.replicates, seed=args.seed, jobs=args.jobs,
                                    scheduler=args.scheduler, folds=args.folds,
                                    progress=not args.quiet)
    except ImportError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise UserError(f"{exc.strerror or exc}: {exc.filename or args.scheduler}") from None
    print(optimism.format_card(card))
    print(f"written: {args.out}/report_card.csv and figures")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["browser-check"]:          # its own options (helpers/browser.py)
        from . import browser

        return browser.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="re-run a study's chapters on a cohort CSV")
    p.add_argument("study", help="atebev_il6, pbis or soramic")
    p.add_argument("--cohort", required=True, help="the cohort CSV (never written to)")
    p.add_argument("--out", required=True, help="output folder (must not exist, or --force)")
    p.add_argument("--force", action="store_true", help="replace an existing output folder")
    p.add_argument("--share", action="store_true",  # disclosure control (helpers.disclosure)
                   help="also write a checked, shareable output (OUT/shareable, counts below 10 "
                        "hidden) beside the full-precision OUT/private")
    p.add_argument("--min-cell-count", type=int, default=None, metavar="K",
                   help="threshold of --share (implies it): counts from 1 to K-1 are hidden")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a chapter parameter, as with papermill -p")
    p.add_argument("--cohort-labels", default=None, metavar="MAP",
                   help="your cohort labels as the study's: 'SITE_A=discovery,SITE_B=validation'")
    p.add_argument("--tcell", default=None, metavar="FILE", help="atebev_il6: T-cell assay CSV (Fig. 4A-B)")
    p.add_argument("--il6-exposure", default=None, metavar="FILE",
                   help="atebev_il6: IL-6 exposure assay CSV (Fig. 4C-F)")
    p.add_argument("--tme", default=None, metavar="FILE",
                   help="atebev_il6: tumour microenvironment CSV (Fig. 5, S3)")
    p.add_argument("--html", choices=["book", "none"], default="book",
                   help="book (default): a Jupyter Book of the chapters in OUT/html; none: notebooks only")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("validate", help="check a cohort CSV against a study's contract")
    p.add_argument("study")
    p.add_argument("file")
    p.add_argument("--dataset", default="cohort",
                   help="cohort (default), or a laboratory dataset: tcell, il6_exposure, tme (atebev_il6)")
    p.add_argument("--cohort-labels", default=None, metavar="MAP",
                   help="your cohort labels as the study's: 'SITE_A=discovery,SITE_B=validation'")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("synthesize", help="regenerate data/synthetic/ from data/published/")
    p.add_argument("--check", action="store_true", help="only check the files are up to date")
    p.set_defaults(func=_cmd_synthesize)

    p = sub.add_parser("scorecard", help="published vs reproduced numbers")
    p.add_argument("results_dir", nargs="?", default=None)
    p.set_defaults(func=_cmd_scorecard)

    p = sub.add_parser("audit", help="check a paper's printed numbers against each other")
    p.add_argument("study", help="atebev_il6, pbis, soramic, or the path of a published-numbers "
                                 "CSV in the same format (data/published/README.md)")
    p.add_argument("--csv", default=None, metavar="OUT", help="write every check's row to this CSV")
    p.add_argument("--links", default=None, metavar="FILE",
                   help="the links file (default: audit_links.csv beside the numbers file)")
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser("execute", help="execute the book's notebooks in parallel into the cache")
    p.add_argument("--jobs", type=int, default=2, help="notebooks at a time (default 2)")
    p.set_defaults(func=_cmd_execute)

    p = sub.add_parser("check-offline", help="fail if the built HTML loads remote assets")
    p.add_argument("html_dir")
    p.set_defaults(func=_cmd_check_offline)

    sub.add_parser("browser-check", help="check the built pages in headless Chromium "
                   "(python -m helpers browser-check --help)")

    p = sub.add_parser("optimism", help="cut-point optimism report card of one marker")
    p.add_argument("--cohort", required=True, help="a CSV file, one row per patient (never written to)")
    p.add_argument("--time", required=True, help="column: follow-up time")
    p.add_argument("--event", required=True, help="column: 1 = event, 0 = censored")
    p.add_argument("--marker", required=True, help="column: the continuous marker")
    p.add_argument("--method", choices=["maxstat", "minp"], default="maxstat",
                   help="how the cut-off is chosen (default maxstat)")
    p.add_argument("--minprop", type=float, default=0.1,
                   help="smallest share of patients on either side of a cut (default 0.1)")
    p.add_argument("--replicates", type=int, default=1000,
                   help="bootstrap samples and permutations (default 1000)")
    p.add_argument("--seed", type=int, default=20240617, help="seed of every random number")
    p.add_argument("--folds", type=int, default=10, help="cross-validation folds (default 10)")
    p.add_argument("--jobs", type=int, default=None, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None,
                   help="Dask scheduler address (tcp://host:8786); needs dask.distributed")
    p.add_argument("--out", required=True, help="output folder (must not exist, or --force)")
    p.add_argument("--force", action="store_true", help="replace an earlier output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_optimism)

    args = parser.parse_args(argv)
    previous = _terminate_as_interrupt()
    try:
        return args.func(args)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: one line, no traceback
        if os.environ.get("HCC_BOOK_DEBUG"):
            raise
        print(f"error: {exc}" if str(exc) else "error: interrupted", file=sys.stderr)
        return 130
    except (UserError, FileNotFoundError, ValueError, OSError) as exc:
        if os.environ.get("HCC_BOOK_DEBUG"):
            raise
        text = str(exc) if not isinstance(exc, OSError) or isinstance(exc, FileNotFoundError) else \
            f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}"
        # the one place every error reaches the terminal: user text (a file name, a value)
        # may carry escape sequences
        from . import escape

        print(f"error: {escape.term(text)}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_as_interrupt():
    """Treat SIGTERM like Ctrl-C, so a terminated command cleans up as an interrupted one does.
    Returns the previous handler (``None`` outside the main thread)."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        return None


if __name__ == "__main__":
    sys.exit(main())
