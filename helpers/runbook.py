"""What ``python -m helpers run`` adds around the chapters for a researcher's own cohort.

* **Run options** (:func:`lab_parameters`, :func:`parse_labels`): the Ate/Bev laboratory
  files ``--tcell``, ``--il6-exposure``, ``--tme`` (each validated against its contract, like
  the cohort) and ``--cohort-labels 'SITE_A=discovery,SITE_B=validation'`` (the cohort's own
  labels read as the study's).
* **Information before the run** (:func:`information`): the columns converted from another
  unit, the labels mapped, the empty cells per column (each analysis uses the complete cases
  of its own variables), and a loud warning for every pre-specified cut-off that leaves fewer
  than :data:`MIN_GROUP` patients in a group (:func:`cutoff_warnings`). ``validate`` prints
  it under the report; ``run`` prints it before and after the chapters and writes
  ``OUT/information.txt``.
* **A book for the cohort** (:func:`build_book`): the executed notebooks (papermill's
  outputs, kept in ``OUT/``) rendered with Jupyter Book without re-executing
  (``execute_notebooks: off``): same theme, numbering, captions, glued prose, offline
  MathJax, plus the scorecard page judging this cohort; into ``OUT/html/``. Text a cell wrote
  to stderr (a warning) is not shown raw on a page (``nb_output_stderr: remove``): it is
  listed, with its chapter, in ``OUT/warnings.txt`` and counted on the command line.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from . import contract, escape, paths
from .prose import count_noun, percent

#: A pre-specified cut-off leaving fewer patients than this in a group is warned about.
MIN_GROUP = 5

#: ``run`` option -> (dataset of the study's contract, chapter parameter).
LAB_OPTIONS = {"tcell": ("tcell", "tcell_file"), "il6_exposure": ("il6_exposure", "il6_exposure_file"),
               "tme": ("tme", "tme_file")}


class RunbookError(ValueError):
    """A refused run option (the CLI prints the message)."""


# --------------------------------------------------------------------------- options
def parse_labels(text: str | None) -> dict:
    """``"SITE_A=discovery, SITE_B=validation"`` -> ``{"SITE_A": "discovery", ...}``."""
    if not text:
        return {}
    out = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise RunbookError(f"--cohort-labels {text!r}: expected YOUR_LABEL=study_label pairs separated "
                               "by commas, e.g. 'SITE_A=discovery,SITE_B=validation'")
        k, v = (x.strip() for x in part.split("=", 1))
        if not k or not v:
            raise RunbookError(f"--cohort-labels: {part.strip()!r} has an empty side")
        out[k] = v
    return out


def check_labels(study: str, labels: dict) -> None:
    """Refuse a mapping onto a label the study does not have."""
    if not labels:
        return
    col = next((c for c in contract.contract_for(study).columns if c.codes == "cohort"), None)
    if col is None:
        raise RunbookError(f"--cohort-labels: {study} has no cohort column")
    bad = sorted(set(labels.values()) - set(map(str, col.allowed)))
    if bad:
        raise RunbookError(f"--cohort-labels: {', '.join(bad)} is not a {study} cohort; "
                           f"expected one of {', '.join(map(str, col.allowed))}")


def lab_parameters(study: str, files: dict) -> dict:
    """``{chapter parameter: absolute path}`` for the laboratory files given as run options
    (``{"tcell": path or None, ...}``), each validated against its dataset's contract; a
    :class:`RunbookError` with the full report for the first that fails."""
    out = {}
    given = {k: v for k, v in (files or {}).items() if v}
    if not given:
        return out
    datasets = contract.contracts(study)
    for option, path in given.items():
        dataset, param = LAB_OPTIONS[option]
        if dataset not in datasets:
            raise RunbookError(f"--{option.replace('_', '-')}: {study} has no {dataset} dataset "
                               f"(laboratory files belong to atebev_il6)")
        path = Path(path).expanduser().resolve()
        report = contract.validate_file(study, path, dataset=dataset)
        if not report.empty:
            raise RunbookError(f"--{option.replace('_', '-')}: " + contract.format_report(report, path)
                               + "\n\nNothing was run.")
        out[param] = str(path)
    return out


# --------------------------------------------------------------------------- information
def _study_params(study: str, user: dict | None):
    from .studies import module

    spec = getattr(module(study), "Params", None)
    if spec is None:
        return None
    kw = {k: v for k, v in (user or {}).items() if k in spec.names()}
    try:
        return spec(**kw)
    except Exception:  # a bad value is refused by run's own parameter check
        return spec()


def _cutoffs(study: str) -> dict:
    """``{marker column: (Params name, high if)}`` of the study's pre-specified cut-offs."""
    import importlib

    schema = importlib.import_module(f"helpers.schemas.{study}")
    found = dict(getattr(schema, "CUTOFFS", {}) or {})
    if not found:
        from .studies import module

        for col, name in (getattr(module(study), "CUTOFF_PARAMS", {}) or {}).items():
            found[col] = (name, ">=")
    return found


def cutoff_warnings(study: str, df: pd.DataFrame, user: dict | None = None, min_group: int = MIN_GROUP) -> pd.DataFrame:
    """Per pre-specified cut-off and cohort: patients with the marker, low and high counts,
    and a warning where a group has fewer than ``min_group`` patients (the cut-off probably
    does not suit this cohort's scale; the data-driven sections, maxstat and min-p, still run)."""
    params = _study_params(study, user)
    rows = []
    for col, (name, high_if) in _cutoffs(study).items():
        if col not in df.columns or params is None:
            continue
        cut = getattr(params, name, None)
        if isinstance(cut, bool) or not isinstance(cut, (int, float)) or not math.isfinite(cut):
            continue  # 'maxstat' / 'minp': derived from the data
        groups = [("all", df)]
        if "cohort" in df.columns and df["cohort"].nunique() > 1:
            groups += [(str(k), g) for k, g in df.groupby(df["cohort"].astype(str), sort=False)]
        for label, g in groups:
            x = pd.to_numeric(g[col], errors="coerce").dropna()
            high = int((x >= cut).sum() if high_if == ">=" else (x > cut).sum())
            low = len(x) - high
            small = min(low, high) < min_group
            rows.append({"column": col, "parameter": name, "cutoff": cut, "high_if": high_if,
                         "cohort": label, "n": len(x), "low": low, "high": high,
                         "warning": (f"WARNING: {col} {high_if} {cut:g} leaves {count_noun(min(low, high), 'patient')} in the "
                                     f"{'low' if low < high else 'high'} group of {label} (fewer than {min_group}): "
                                     f"the marker may be on another scale (unit?); sections using this cut-off "
                                     f"are unreliable; maxstat / min-p sections still run. Set another cut-off "
                                     f"with -p {name} VALUE") if small else ""})
    return pd.DataFrame(rows, columns=["column", "parameter", "cutoff", "high_if", "cohort", "n", "low",
                                       "high", "warning"])


def information(study: str, path, labels: dict | None = None, user: dict | None = None,
                dataset: str = "cohort") -> list[str]:
    """Readable lines about a cohort that meets its contract: units converted, labels mapped,
    cut-off warnings (loud, first), empty cells per column, columns counted as absent."""
    c = contract.contract_for(study, dataset)
    raw, _ = contract.read_csv_text(path)
    if raw is None:
        return []
    _, notes, _ = contract.prepare(raw, c, labels)
    prepared = contract.prepare(raw, c, labels)[0]
    lines = []
    if dataset == "cohort":
        try:
            typed = contract.parse_frame(raw, c, labels)
            warn = cutoff_warnings(study, typed, user)
            lines += [w for w in warn["warning"] if w]
        except Exception as exc:  # information must never stop a valid cohort
            lines.append(f"(cut-off check not possible: {type(exc).__name__}: {exc})")
    lines += [f"{col}: {text}" for col, text in notes]
    for col in c.columns:
        if col.codes == "cohort" and len(col.allowed) == 1 and col.name in prepared.columns:
            own = sorted(set(prepared[col.name].dropna().astype(str).str.strip()) - {str(col.allowed[0])})
            if own:
                lines.append(f"{col.name}: label(s) {', '.join(own)} read as {col.allowed[0]} "
                             f"({study} analyses one cohort)")
    miss = contract.missingness(prepared, c)
    absent = miss[miss["missing"] == miss["n"]]
    partly = miss[(miss["missing"] > 0) & (miss["missing"] < miss["n"])]
    if len(absent):
        lines.append("empty in every row, so counted as absent (the sections that need them are skipped "
                     "with a note): " + ", ".join(absent["column"]))
    if len(partly):
        lines.append(f"empty cells (each table and model uses the complete cases of its own variables; "
                     f"{len(prepared)} patients):")
        lines += [f"  {r.column}: {r.missing} empty ({percent(r.missing, r.n)})" for r in partly.itertuples()]
    absent_optional = [col.name for col in c.columns if col.name not in prepared.columns and not col.required]
    if absent_optional:
        lines.append("optional columns not in the file: " + ", ".join(absent_optional))
    return lines


def format_information(lines: list[str]) -> str:
    return "" if not lines else "Information (not errors):\n" + "\n".join(f"  {ln}" for ln in lines)


def prepared_cohort(study: str, cohort: Path, labels: dict, folder: Path) -> Path:
    """The cohort the chapters read: ``cohort`` itself, or (with ``--cohort-labels``) a copy
    with the study's labels, as the contract reads it, under the same file name in
    ``folder/cohort_as_read/`` (so the pages name the researcher's file)."""
    if not labels:
        return cohort
    raw, _ = contract.read_csv_text(cohort)
    df, _, _ = contract.prepare(raw, contract.contract_for(study), labels)
    (folder / "cohort_as_read").mkdir(exist_ok=True)
    target = folder / "cohort_as_read" / cohort.name
    df.to_csv(target, index=False, lineterminator="\n")
    return target


# --------------------------------------------------------------------------- the book
def _fenced(lines: list[str]) -> list[str]:
    """Lines (which may hold the user's text) as a literal text block: terminal escapes made
    visible, and a fence longer than any run of backticks in them, so nothing can close it."""
    body = [escape.one_line(line) for line in lines]
    longest = max((len(run) for line in body for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", *body, fence]


def stderr_outputs(notebook: Path) -> list[str]:
    """Text a notebook's cells wrote to stderr (warnings), one item per output."""
    nb = json.loads(Path(notebook).read_text())
    found = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                text = "".join(o.get("text", "")).strip()
                if text:
                    found.append(text)
    return found


def _book_copy(source: Path, target: Path) -> None:
    """Copy an executed notebook for the book, without papermill's injected-parameters cell
    (it holds the run's temporary paths; the first page lists the parameters instead)."""
    nb = json.loads(Path(source).read_text())
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell["metadata"]["tags"] = tags + ["remove-cell"]
    Path(target).write_text(json.dumps(nb), encoding="utf-8")


_ROLE = re.compile(r"\{(ref|numref)\}`([^`]*)`")
_LABEL = re.compile(r"^\(([^)\s]+)\)=[ \t]*$", re.M)
_IMAGE = ("image/png", "image/svg+xml", "image/jpeg")


def _target(body: str) -> tuple[str, str]:
    """``(label, explicit text)`` of a role body: ``label`` or ``text <label>``."""
    if body.endswith(">") and "<" in body:
        text, label = body[:-1].rsplit("<", 1)
        return label.strip(), text.strip()
    return body.strip(), ""


def book_labels(notebooks: list[dict], pages: list[str]) -> set[str]:
    """The labels a re-run book defines: ``(label)=`` targets in its Markdown (notebook cells
    and pages) and the names of the figures its executed notebooks drew (a figure cell of a
    skipped section has no image, so no number to refer to)."""
    labels = set()
    for text in pages:
        labels |= set(_LABEL.findall(text))
    for nb in notebooks:
        for cell in nb.get("cells", []):
            source = "".join(cell.get("source", ""))
            if cell.get("cell_type") == "markdown":
                labels |= set(_LABEL.findall(source))
                continue
            name = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
            if name and any(set(_IMAGE) & set(o.get("data", {})) for o in cell.get("outputs", [])):
                labels.add(name)
    return labels


def shipped_titles() -> dict[str, str]:
    """``{label: heading}`` of every ``(label)=`` in the shipped book's chapters that is
    followed by a heading (a chapter or section title)."""
    titles = {}
    heading = re.compile(r"^\(([^)\s]+)\)=[ \t]*\n+#+[ \t]+(.+?)[ \t]*$", re.M)
    for f in sorted(paths.CHAPTERS.glob("*.ipynb")) + sorted(paths.CHAPTERS.glob("*.md")):
        if f.suffix == ".md":
            texts = [f.read_text(encoding="utf-8")]
        else:
            texts = ["".join(c.get("source", "")) for c in json.loads(f.read_text(encoding="utf-8"))["cells"]
                     if c.get("cell_type") == "markdown"]
        for text in texts:
            titles.update(heading.findall(text))
    return titles


def unlink(text: str, defined: set[str], titles: dict[str, str]) -> str:
    """``text`` with every ``{ref}``/``{numref}`` to a label the re-run book lacks written out
    in words: a page or section of the shipped book by its title ("the shipped book's
    chapter “How the synthetic cohorts are built”"), a figure this cohort could not draw as
    "a figure not drawn for this cohort"; references the book defines are kept."""
    def words(m):
        role, body = m.groups()
        label, explicit = _target(body)
        if label in defined:
            return m.group(0)
        if label in titles:
            kind = "chapter" if label.startswith("ch-") else "section"
            return f"the shipped book's {kind} “{titles[label]}”"
        if role == "numref" or label.startswith("fig-"):
            return "a figure not drawn for this cohort"
        return explicit or label

    return _ROLE.sub(words, text)


def _unlink_notebook(nb: dict, defined: set[str], titles: dict[str, str]) -> dict:
    """:func:`unlink` on a notebook's Markdown cells and its cells' Markdown outputs."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            cell["source"] = unlink("".join(cell.get("source", "")), defined, titles)
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data", {})
            if "text/markdown" in data:
                data["text/markdown"] = unlink("".join(data["text/markdown"]), defined, titles)
    return nb


def _config(title: str) -> dict:
    import yaml

    cfg = yaml.safe_load((paths.ROOT / "_config.yml").read_text())
    cfg["title"] = title
    cfg["only_build_toc_files"] = True
    cfg["exclude_patterns"] = ["_build", "**.ipynb_checkpoints"]
    cfg["execute"] = {"execute_notebooks": "off"}
    sphinx = cfg.setdefault("sphinx", {})
    sphinx["extra_extensions"] = [e for e in sphinx.get("extra_extensions", []) if e != "helpers.book_ext"]
    conf = sphinx.setdefault("config", {})
    conf["nb_output_stderr"] = "remove"
    conf["hcc_synthetic_captions"] = False
    return cfg


def build_book(out: Path, study: str, chapters: list[Path], cohort_name: str, info: list[str],
               summary: str, scorecard_nb: Path | None = None,
               parameters: dict | None = None) -> tuple[Path, list[str]]:
    """Render the executed notebooks in ``out`` as a Jupyter Book in ``out/html``.

    Returns ``(html folder, build warnings)``. The book's source (``out/.book``) holds
    copies of the executed notebooks, the glossary and references pages, the style files and
    a generated first page; it is removed after the build.
    """
    import yaml

    src = out / ".book"
    (src / "chapters").mkdir(parents=True)
    shutil.copytree(paths.ROOT / "_static", src / "_static")
    for extra in ("references.bib",):
        if (paths.ROOT / extra).exists():
            shutil.copy2(paths.ROOT / extra, src / extra)
    for page in ("glossary.md", "references.md"):
        if (paths.CHAPTERS / page).exists():
            shutil.copy2(paths.CHAPTERS / page, src / "chapters" / page)
    for nb in chapters:
        _book_copy(out / nb.name, src / "chapters" / nb.name)
    files = [f"chapters/{nb.stem}" for nb in chapters]
    if scorecard_nb is not None and scorecard_nb.exists():
        _book_copy(scorecard_nb, src / "chapters" / scorecard_nb.name)
        files.append(f"chapters/{scorecard_nb.stem}")
    # the theme prints the title into the page unescaped: no user text in it (the file name is
    # on the first page, escaped)
    title = f"{study}: re-run on your cohort"
    intro = [f"# {study}: the chapters re-run on your cohort", "",
             f"Cohort file: {escape.md_code(cohort_name)}. Every number, table and figure in this book was computed "
             "from that file by the study's chapters (executed with papermill; the executed "
             "notebooks are beside this folder).", ""]
    if summary:
        intro += ["Published vs this cohort: " + escape.md(" ".join(summary.splitlines())), ""]
    if parameters is not None:
        shown = [f"{k} = {v!r}" for k, v in parameters.items() if k not in ("cohort_file", "results_dir")]
        intro += ["## Parameters of this run", "", *_fenced(shown or ["(the study's defaults)"]), ""]
    if info:
        intro += ["## Information about the cohort", "", *_fenced(info), ""]
    (src / "intro.md").write_text("\n".join(intro), encoding="utf-8")
    # a reference to a page of the shipped book this book lacks, or to a figure a skipped
    # section did not draw, is written out in words (no unresolved reference, no warning)
    copied = sorted((src / "chapters").glob("*.ipynb"))
    notebooks = [json.loads(f.read_text(encoding="utf-8")) for f in copied]
    pages = [f.read_text(encoding="utf-8") for f in sorted((src / "chapters").glob("*.md"))]
    defined = book_labels(notebooks, pages)
    titles = shipped_titles()
    for f, nb in zip(copied, notebooks):
        f.write_text(json.dumps(_unlink_notebook(nb, defined, titles)), encoding="utf-8")
    toc = {"format": "jb-book", "root": "intro",
           "parts": [{"caption": title, "chapters": [{"file": f} for f in files]},
                     {"caption": "Reference", "chapters": [{"file": f"chapters/{p[:-3]}"} for p in
                                                           ("glossary.md", "references.md")
                                                           if (src / "chapters" / p).exists()]}]}
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    (src / "_config.yml").write_text(yaml.safe_dump(_config(title), sort_keys=False))
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(src), "--path-output", str(out / ".book_build"),
           "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr + proc.stdout).replace(str(src) + "/", "")
    warnings = [ln for ln in plain.splitlines() if "WARNING" in ln]
    html = out / ".book_build" / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        from .run import RunError

        raise RunError(f"the book of this run did not build: {tail}")
    target = out / "html"
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(html), str(target))
    shutil.rmtree(out / ".book_build", ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)
    return target, warnings


def book_step(out: Path, study: str, chapters: list[Path], params: dict, summary: str,
              bar_disabled: bool = True) -> Path:
    """After the chapters ran into ``out``: execute the scorecard page on this run's results,
    list every stderr output in ``warnings.txt``, and build the book (:func:`build_book`)."""
    import papermill

    from .run import quiet_kernel_manager

    score_nb = paths.CHAPTERS / "summary_scorecard.ipynb"
    target = out / score_nb.name
    if score_nb.exists():
        papermill.execute_notebook(
            str(score_nb), str(target), parameters={"results_dir": params["results_dir"]},
            kernel_name="python3", cwd=str(paths.CHAPTERS), progress_bar=False, log_output=False,
            kernel_manager_class=quiet_kernel_manager())
    notebooks = [out / nb.name for nb in chapters] + ([target] if target.exists() else [])
    lines = []
    for nb in notebooks:
        for text in stderr_outputs(nb):
            lines += [f"[{nb.stem}]", text, ""]
    (out / "warnings.txt").write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    info_file = out / "information.txt"
    info = info_file.read_text().splitlines() if info_file.exists() else []
    html, warnings = build_book(out, study, chapters, Path(params["cohort_file"]).name, info, summary,
                                scorecard_nb=target if target.exists() else None, parameters=params)
    (out / "book_warnings.txt").write_text("\n".join(warnings) + ("\n" if warnings else ""), encoding="utf-8")
    return html


def report(out: Path, info: list[str]) -> None:
    """What ``run`` prints after a successful run: the loud cut-off warnings again, where the
    book is, and how many warnings the chapters wrote (not shown raw on the pages)."""
    loud = [ln for ln in info if ln.startswith("WARNING")]
    for ln in loud:
        print(ln)
    if (out / "html" / "index.html").exists():
        print(f"book: {out / 'html' / 'index.html'}")
    warn = out / "warnings.txt"
    if warn.exists() and warn.read_text().strip():
        k = sum(1 for ln in warn.read_text().splitlines() if ln.startswith("["))
        print(f"{k} warning output(s) from the chapters (not shown on the pages): {warn}")
    if (out / "information.txt").exists() and info:
        print(f"information about the cohort (empty cells, units, labels): {out / 'information.txt'}")
