"""Small chapter utilities: the data banner, skip notes, tables and the versions footer.

Every chapter calls :func:`data_banner` first, so each page that shows data says where they
came from (synthetic, or the researcher's file), and :func:`versions` last.
"""
from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from . import paths

_PACKAGES = ("numpy", "pandas", "scipy", "lifelines", "statsmodels", "matplotlib", "pandera")


def _markdown(text: str):
    from IPython.display import Markdown, display

    display(Markdown(text))


def data_banner(study: str, cohort_file=None) -> str:
    """Display (and return) the note saying which data this page analyses."""
    paths.check_study(study)
    if cohort_file is None:
        text = (
            ":::{important}\n**Synthetic data.** This page analyses the synthetic "
            f"`{study}` cohort shipped with the book (`{paths.synthetic_cohort(study).relative_to(paths.ROOT)}`), "
            "generated from the paper's published numbers. It is not the study's patients: "
            "it reproduces the printed aggregates by construction (see "
            "{ref}`ch-synthetic-cohorts`).\n:::"
        )
    else:
        text = (
            f":::{{note}}\n**Cohort:** `{Path(cohort_file).name}` (passed as a parameter). "
            "The published numbers beside it are the paper's, for comparison.\n:::"
        )
    _markdown(text)
    return text


def data_banners(cohort_files: dict) -> str:
    """Display (and return) one note for a page that reads several studies' cohorts.

    ``cohort_files`` maps each study to its cohort file (``None``: the shipped synthetic
    cohort). Says plainly which studies are synthetic and which come from a passed file."""
    lines = []
    for study, file in cohort_files.items():
        paths.check_study(study)
        if file is None:
            lines.append(f"- `{study}`: the shipped **synthetic** cohort "
                         f"(`{paths.synthetic_cohort(study).relative_to(paths.ROOT)}`)")
        else:
            lines.append(f"- `{study}`: `{Path(file).name}` (passed as a parameter)")
    synthetic = any(f is None for f in cohort_files.values())
    kind = "important" if synthetic else "note"
    head = ("**Data.** This page reads one cohort per study. Synthetic cohorts are generated "
            "from each paper's published numbers; they are not the studies' patients (see "
            "{ref}`ch-synthetic-cohorts`)." if synthetic else "**Data.** This page reads one "
            "cohort per study, passed as parameters.")
    text = f":::{{{kind}}}\n{head}\n\n" + "\n".join(lines) + "\n:::"
    _markdown(text)
    return text


def skip_section(section: str, missing: list[str]) -> bool:
    """If ``missing`` is non-empty, display a visible note that ``section`` is skipped and
    return True; chapters write ``if not skip_section(...): ...``."""
    if missing:
        cols = ", ".join(f"`{c}`" for c in missing)
        _markdown(f":::{{note}}\n**Skipped: {section}.** This cohort has no {cols}.\n:::")
        return True
    return False


def versions() -> pd.DataFrame:
    """The Python and package versions this page ran with."""
    rows = [("python", platform.python_version())]
    for name in _PACKAGES:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:  # pragma: no cover
            rows.append((name, "not installed"))
    return pd.DataFrame(rows, columns=["package", "version"])


def show(df: pd.DataFrame, caption: str | None = None, digits: int = 2):
    """Display a tidy table without its index, floats at ``digits`` decimals."""
    from IPython.display import display

    styler = df.style.hide(axis="index").format(precision=digits, na_rep="", escape="html")
    if caption:
        styler = styler.set_caption(caption)
    display(styler)
