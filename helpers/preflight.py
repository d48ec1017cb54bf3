"""Pre-flight analysability: what a run can compute, decided before any chapter runs.

``python -m helpers run`` calls :func:`preflight` after the cohort passed its contract and
before the first chapter starts. It answers three questions, each with a one-line reason:

1. **Is the file small enough?** :func:`check_size` counts lines by streaming the file
   (bounded memory, about a second per 100 MB) and refuses more than :data:`MAX_ROWS` data
   rows with the limit stated, before the contract reads the file into memory.
2. **Is every parameter value usable?** :func:`check_params`: the study's own checks (type,
   choices, its ranges), then the value ranges of :data:`PARAM_RULES` (keyed by parameter
   name, the same for every study), then the whole ``Params`` object (cross-field rules such
   as ``minprop < maxprop``).
3. **Which chapter sections can run?** :func:`section_report`. Each section of a study's
   ``reproduce`` (``helpers/studies/<study>.py``: ``SECTIONS``) has declared needs
   (:data:`NEEDS`, keyed by study and section name here, so the study modules stay as they
   are): events present, at least two groups of a stated minimum size, enough events for the
   model's terms, the cohorts it compares. For cohorts up to :data:`DRY_RUN_MAX_ROWS` rows the
   section is also computed once in this process (``reproduce(df, params, section)``; a few
   seconds): a section that raises cannot run either, and its error's last line is the reason.

A chapter (the sections its notebook records, read from the notebook's own
``reproduce(..., "<section>")`` calls) is skipped when one of its sections cannot run; the
run lists it, with the reason, on the terminal, in ``OUT/preflight.csv``, ``run.json`` and
``html/index.html``. The run fails, with one line saying why, only when no chapter can run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

#: Data rows (lines after the header) above which a cohort is refused before it is read.
#: A study re-run holds the cohort several times over in memory and some steps grow faster
#: than n (benchmarks/results_run.md); 200,000 patients is far beyond any HCC biomarker study.
MAX_ROWS = 200_000
#: Cohorts up to this many rows are also computed section by section before the run.
DRY_RUN_MAX_ROWS = 5_000
#: Fewest patients a re-run accepts: below this no chapter has anything to estimate (every
#: comparison needs two groups, every model events for its terms).
MIN_PATIENTS = 10
#: Smallest group a two-group comparison (log-rank, Cox, t test) is attempted with.
MIN_GROUP = 2
#: Events a Cox model needs per model term (at least; 10 is the usual rule for stable
#: estimates, 1 per term is what a fit needs at all: below that the section is skipped).
MIN_EVENTS_PER_TERM = 1


class PreflightError(ValueError):
    """The run cannot start; the message is one line saying why (the CLI prints it)."""


# --------------------------------------------------------------------------- size
def count_rows(path, chunk: int = 1 << 20) -> int:
    """Data rows of a CSV file (lines after the first, a last line without a newline counted),
    read in 1 MiB chunks: memory stays bounded whatever the file's size. Quoted fields with
    line breaks count as extra lines: an upper bound, which is what a limit needs."""
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def check_size(path, max_rows: int | None = None) -> int:
    """The number of data rows of ``path``, or a :class:`PreflightError` stating the limit
    (``max_rows``, default :data:`MAX_ROWS` read at call time). ``run`` and ``validate`` both
    call this before anything reads the file whole."""
    max_rows = MAX_ROWS if max_rows is None else max_rows
    n = count_rows(path)
    if n > max_rows:
        raise PreflightError(
            f"{Path(path).name}: {n:,} rows; a run accepts at most {max_rows:,} patients "
            "(helpers.preflight.MAX_ROWS). Split the cohort, or run one analysis on it directly.")
    return n


# --------------------------------------------------------------------------- parameters
def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class Rule:
    """A value rule: ``ok(value)`` for numbers (text choices are the study's business)."""

    ok: Callable[[float], bool]
    expected: str


#: Value ranges by parameter name (or name pattern), for every study.
PARAM_RULES: dict[str, Rule] = {
    r".*_cutoff": Rule(lambda v: v >= 0, "a number >= 0"),
    r"minprop|maxprop": Rule(lambda v: 0 < v < 1, "a share strictly between 0 and 1"),
    r"min_cell_count": Rule(lambda v: 0 <= v <= 1000, "a whole number from 0 to 1000"),
    r"caliper": Rule(lambda v: 0 < v <= 10, "a number of SDs above 0 and at most 10"),
    r"pbis_threshold": Rule(lambda v: 1 <= v <= 4, "a whole number of points from 1 to 4"),
    r"seed": Rule(lambda v: 0 <= v < 2 ** 32, "a whole number from 0 to 2**32 - 1"),
    r"progression_window_months": Rule(lambda v: 0 <= v <= 120, "a number of months from 0 to 120, or 'any'"),
}


def _rule(name: str) -> Rule | None:
    for pattern, rule in PARAM_RULES.items():
        if re.fullmatch(pattern, name):
            return rule
    return None


def check_params(study: str, parameters: dict | None):
    """The study's ``Params`` built from ``parameters`` (already parsed values), or a
    one-line :class:`PreflightError` naming the parameter, its value and what is expected."""
    from .studies import ParamError, module

    spec = module(study).Params
    values = dict(parameters or {})
    for name, value in values.items():
        if name not in spec.names():
            continue  # a chapter-only parameter: run.check_parameters knows those
        try:
            value = spec.check(name, value)
        except ParamError as exc:
            raise PreflightError(f"-p {name}: {exc}") from None
        rule = _rule(name)
        if rule is not None and _number(value) and not rule.ok(value):
            raise PreflightError(f"-p {name}: {value!r} is not valid for {study}: expected {rule.expected}")
        if name.endswith("_file") and value is not None:
            p = Path(str(value)).expanduser()
            if not p.is_file():
                raise PreflightError(f"-p {name}: {value} is not a file (give its absolute path)")
        values[name] = value
    try:
        return spec(**{k: v for k, v in values.items() if k in spec.names()})
    except (ParamError, ValueError, TypeError) as exc:
        raise PreflightError(f"parameters: {str(exc).splitlines()[0]}") from None


# --------------------------------------------------------------------------- section needs
def _events(df, endpoint: str, min_events: int = 1):
    t, e = f"{endpoint}_months", f"{endpoint}_event"
    if t not in df or e not in df:
        return None  # an optional endpoint the cohort does not have: the section leaves it out
    ok = df[t].notna() & df[e].notna()
    k = int(df.loc[ok, e].sum())
    if k < min_events:
        return f"{k} {endpoint.upper()} events (needs at least {min_events})"
    if int(ok.sum()) > 0 and float(df.loc[ok, t].max()) <= 0:
        return f"every {endpoint.upper()} time is 0"
    return None


def _groups(df, column: str, label: str, min_size: int = MIN_GROUP):
    if column not in df:
        return f"no {label} groups (column {column})"
    counts = df[column].value_counts()
    small = [f"{g:g}" if isinstance(g, float) else str(g) for g in (0, 1) if counts.get(g, 0) < min_size]
    if small:
        sizes = ", ".join(f"{int(counts.get(g, 0))}" for g in (0, 1))
        return f"{label} groups of {sizes} patients (needs two groups of at least {min_size})"
    return None


def _cohort(df, name: str, min_rows: int):
    n = int((df["cohort"].astype(str) == name).sum()) if "cohort" in df else 0
    if n < min_rows:
        return f"{n} patients in the {name} cohort (needs at least {min_rows})"
    return None


def _varies(df, column: str, label: str):
    if column not in df or df[column].dropna().nunique() < 2:
        return f"{label} does not vary (a cut-off search needs at least two distinct values)"
    return None


def _model(df, endpoint: str, terms: list[str]):
    present = [t for t in terms if t in df.columns and df[t].notna().any()]
    need = MIN_EVENTS_PER_TERM * max(len(present), 1) + 1
    return _events(df, endpoint, need)


def _first(*reasons):
    return next((r for r in reasons if r), None)


def _needs_atebev(section: str, df, params):
    from .studies import atebev_il6 as m

    cohorts = [c for c in m.COHORTS if (df["cohort"].astype(str) == c).any()]
    if section == "cohort_sizes":
        return None if len(df) else "no patients"
    if section in ("table1",):
        return None if len(df) >= MIN_GROUP else f"{len(df)} patient (needs at least {MIN_GROUP})"
    if section == "table2":
        return _groups(df, "il6_high", "IL-6")
    if section == "figure1":
        return None  # the section returns no rows without best responses (the chapter notes it)
    if section == "cutoff":
        c = params.cutoff_cohort
        sub = df if c == "total" else df[df["cohort"].astype(str) == c]
        return _first(_cohort(df, c, 10) if c != "total" else None,
                      _events(sub, params.cutoff_endpoint), _varies(sub, m.MARKER, "IL-6"))
    if section in ("alternative_cutoff", "figure2"):
        if not any(m.has_groups(df, c, MIN_GROUP) for c in cohorts):
            return _groups(df, "il6_high", "IL-6") or "no cohort has both IL-6 groups"
        return _first(_events(df, "pfs"), _events(df, "os"))
    if section == "cohort_outcomes":
        return _first(_events(df, "os"), None if len(df) >= MIN_GROUP else "fewer than two patients")
    if section == "figure3":
        return _first(_groups(df, "il6_high", "IL-6"),
                      _model(df, "pfs", m.mv_covariates(df)), _model(df, "os", m.mv_covariates(df)))
    return None


def _needs_pbis(section: str, df, params):
    from .studies import pbis as m

    if section == "cohorts":
        return None if len(df) >= MIN_GROUP else f"{len(df)} patient (needs at least {MIN_GROUP})"
    if section == "cutoffs":
        return _first(_cohort(df, "derivation", 10), _events(df[df["cohort"].astype(str) == "derivation"], "os"))
    if section in ("score", "outcomes"):
        return _first(_groups(df, "pbis_high", "PBIS"), _events(df, "os"))
    if section == "multivariable":
        return _first(_groups(df, "pbis_high", "PBIS"),
                      _model(df, "os", m.OS_ADJUST + ["pbis_high"]), _model(df, "pfs", m.PFS_ADJUST + ["pbis_high"]))
    if section == "matching":
        return _groups(df, "pbis_high", "PBIS", 4)
    return None


def _needs_soramic(section: str, df, params):
    if section in ("flow", "lesion", "table1"):
        return None if len(df) >= MIN_GROUP else f"{len(df)} patient (needs at least {MIN_GROUP})"
    if section == "groups":
        return None if len(df) else "no patients"
    if section in ("survival", "cutoffs"):
        ep = params.endpoint if params.endpoint != "ld" else "liver_dysfunction"
        return _first(_events(df, ep), _groups(df, "il6_high", "IL-6"))
    if section == "pfs":
        return _first(_events(df, "pfs"), _groups(df, "il6_high", "IL-6"))
    if section in ("ld", "ldcp"):
        return _first(_events(df, "liver_dysfunction"), _groups(df, "il6_high", "IL-6"))
    return None


#: Declared needs of each section, by study: ``f(section, df, params) -> reason or None``.
NEEDS = {"atebev_il6": _needs_atebev, "pbis": _needs_pbis, "soramic": _needs_soramic}


# --------------------------------------------------------------------------- chapters
_REPRODUCE = re.compile(r"reproduce\(\s*\w+\s*,\s*\w+\s*,\s*[\"'](\w+)[\"']\s*\)")


def chapter_sections(notebook) -> list[str]:
    """The ``reproduce`` sections a chapter records, in order (read from its code cells)."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    found = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for s in _REPRODUCE.findall(cell.source):
                if s not in found:
                    found.append(s)
    return found


def _last_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


def section_report(study: str, cohort, params, chapters: list[Path] | None = None,
                   dry_run: bool | None = None) -> pd.DataFrame:
    """One row per chapter section: ``chapter``, ``section``, ``runs`` (bool), ``reason``.

    ``cohort`` is a path (read with the study's ``load``) or a loaded DataFrame. A chapter
    without sections (e.g. illustrative laboratory data) has one row with ``section`` ``""``.
    Raises :class:`PreflightError` when the cohort cannot be loaded with these parameters
    (every chapter starts by loading it)."""
    import warnings

    from . import paths
    from .studies import module

    mod = module(study)
    chapters = paths.study_chapters(study) if chapters is None else chapters
    if isinstance(cohort, pd.DataFrame):
        df = cohort
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = mod.load(cohort, params)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line
            raise PreflightError(f"the cohort cannot be prepared with these parameters: {_last_line(exc)}") from None
    if dry_run is None:
        dry_run = len(df) <= DRY_RUN_MAX_ROWS
    needs = NEEDS.get(study, lambda *a: None)
    rows = []
    for nb in chapters:
        sections = chapter_sections(nb) or [""]
        for section in sections:
            reason = None
            if section:
                try:
                    reason = needs(section, df, params)
                except Exception as exc:  # noqa: BLE001
                    reason = _last_line(exc)
                if reason is None and dry_run:
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            mod.reproduce(df, params, section)
                    except Exception as exc:  # noqa: BLE001
                        reason = f"fails on this cohort ({_last_line(exc)})"
            rows.append({"chapter": Path(nb).stem, "section": section, "runs": reason is None,
                         "reason": reason or ""})
    return pd.DataFrame(rows, columns=["chapter", "section", "runs", "reason"])


def chapter_plan(report: pd.DataFrame) -> dict:
    """``{chapter: reason}`` of the chapters to skip (a section that cannot run skips its
    chapter: the chapter would stop there), from :func:`section_report`."""
    skip = {}
    for chapter, grp in report.groupby("chapter", sort=False):
        bad = grp[~grp["runs"]]
        if len(bad):
            r = bad.iloc[0]
            skip[chapter] = f"section {r['section']}: {r['reason']}"
    return skip


def preflight(study: str, cohort, parameters: dict | None, chapters: list[Path], dry_run: bool | None = None):
    """Everything a run decides before its first chapter: ``(report, skip)`` where ``skip``
    is ``{chapter: reason}``. Raises :class:`PreflightError` (one line) when a parameter
    value is unusable, the cohort has fewer than :data:`MIN_PATIENTS` patients or cannot be
    prepared, or no chapter can run. ``dry_run``: see :func:`section_report`."""
    params = check_params(study, parameters)
    if not isinstance(cohort, pd.DataFrame):
        n = count_rows(cohort)
        if n < MIN_PATIENTS:
            raise PreflightError(f"nothing useful can be computed on {Path(cohort).name}: {n} patient"
                                 f"{'' if n == 1 else 's'}; a re-run needs at least {MIN_PATIENTS} "
                                 "(helpers.preflight.MIN_PATIENTS)")
    report = section_report(study, cohort, params, chapters, dry_run=dry_run)
    skip = chapter_plan(report)
    if len(skip) == len(chapters):
        first = next(iter(skip.items()))
        raise PreflightError(f"nothing useful can be computed on this cohort: every chapter would stop "
                             f"({first[0]}, {first[1]})")
    return report, skip
