"""Where everything lives. The only module that knows the layout of the repository.

Notebooks, tests and the command line ask this module for paths; nothing else builds a
path from ``..`` or a string literal.
"""
from __future__ import annotations

import os
from pathlib import Path

#: The repository root (the folder holding ``_config.yml``).
ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
DATA = ROOT / "data"
PUBLISHED = DATA / "published"
#: What the audit of the papers needs that the published numbers do not say (helpers.audit).
AUDIT_LINKS = PUBLISHED / "audit_links.csv"
SYNTHETIC = DATA / "synthetic"
#: Real cohorts. Git-ignored; never read by the default build.
PRIVATE = DATA / "private"
HELPERS = ROOT / "helpers"
TESTS = ROOT / "tests"
FIXTURES = TESTS / "fixtures"
BUILD = ROOT / "_build"
#: Where the book build writes each chapter's results file (a papermill run writes its own).
RESULTS = Path(os.environ.get("HCC_BOOK_RESULTS", BUILD / "results"))

#: The three studies, by the short name used in file names, chapter names and the CLI.
STUDIES = ("atebev_il6", "pbis", "soramic")

#: Chapter notebooks per study, in reading order (the run command executes these).
CHAPTER_PREFIX = {"atebev_il6": "atebev_", "pbis": "pbis_", "soramic": "soramic_"}


def check_study(study: str) -> str:
    """Return ``study`` if it is one of :data:`STUDIES`, else raise a clear ``ValueError``."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}: expected one of {', '.join(STUDIES)}")
    return study


def synthetic_cohort(study: str) -> Path:
    """The shipped synthetic cohort CSV of a study (one row per patient)."""
    return SYNTHETIC / f"{check_study(study)}_cohort.csv"


def synthetic_lab(study: str, name: str) -> Path:
    """A shipped synthetic laboratory dataset of a study (e.g. T-cell assays)."""
    return SYNTHETIC / f"{check_study(study)}_{name}.csv"


def published_numbers(study: str) -> Path:
    """The transcribed published numbers of a study (one row per printed number)."""
    return PUBLISHED / f"{check_study(study)}.csv"


def study_chapters(study: str) -> list[Path]:
    """The chapter notebooks of a study, in the order of ``_toc.yml``."""
    import yaml  # local: only the run command and the book extension need it

    prefix = CHAPTER_PREFIX[check_study(study)]
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [
        entry["file"]
        for part in toc.get("parts", [])
        for entry in part.get("chapters", [])
        if "file" in entry
    ]
    return [ROOT / f"{f}.ipynb" for f in files if Path(f).name.startswith(prefix)]


def study_inputs(study: str) -> list[Path]:
    """Every data file a study's chapters read by default (cohort, lab data, published)."""
    check_study(study)
    files = sorted(SYNTHETIC.glob(f"{study}_*.csv")) + [published_numbers(study)]
    return [f for f in files if f.exists()]


def results_file(chapter: str, results_dir: str | os.PathLike | None = None) -> Path:
    """The results file a chapter writes: ``<results_dir>/<chapter>.csv``."""
    return Path(results_dir or RESULTS) / f"{chapter}.csv"
