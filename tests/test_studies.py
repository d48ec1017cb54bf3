"""One shape for every study (helpers/studies/__init__.py): the same public names and
signatures in each study module, every chapter parameter declared in the study's ``Params``
and used by the chapter, and the papers' cut-offs typed nowhere but ``data/published``."""
from __future__ import annotations

import ast
import inspect
import io
import json
import re
import tokenize

import pytest

from helpers import paths, published
from helpers import studies
from helpers.studies import ParamError

#: Parameters the run command sets itself, or that name input files rather than analysis choices.
FILE_PARAMETERS = {"cohort_file", "results_dir"}


def _chapter_cells(nb_path):
    nb = json.loads(nb_path.read_text())
    return nb, nb["cells"]


def _parameters_cell(cells):
    found = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    return "".join(found[0]["source"]) if found else ""


def _assigned_names(source: str) -> list[str]:
    return [t.id for node in ast.parse(source).body if isinstance(node, ast.Assign) for t in node.targets
            if isinstance(t, ast.Name)]


@pytest.mark.parametrize("study", paths.STUDIES)
def test_same_public_surface(study):
    mod = studies.module(study)
    for name in studies.SURFACE:
        assert hasattr(mod, name), f"helpers.studies.{study} lacks {name}"
    assert mod.STUDY == study
    assert issubclass(mod.Params, studies.StudyParams) and mod.Params.STUDY == study
    assert isinstance(mod.PARAMS, mod.Params)
    ref = studies.module(paths.STUDIES[0])
    for fn in ("load", "reproduce"):
        assert list(inspect.signature(getattr(mod, fn)).parameters) == \
            list(inspect.signature(getattr(ref, fn)).parameters), f"{study}.{fn} signature differs"
    assert list(inspect.signature(mod.load).parameters)[:2] == ["cohort_file", "params"]
    assert list(inspect.signature(mod.reproduce).parameters)[:3] == ["df", "params", "section"]
    assert len(mod.SECTIONS) >= 1 and len(set(mod.SECTIONS)) == len(mod.SECTIONS)


@pytest.mark.parametrize("study", paths.STUDIES)
def test_params_documented_and_defaults_valid(study):
    spec = studies.module(study).Params
    table = spec.describe()
    assert table["meaning"].str.len().min() > 10
    for name in spec.names():
        assert spec.check(name, spec.default(name)) is not None or spec.default(name) is None


@pytest.mark.parametrize("study", paths.STUDIES)
def test_unknown_section_is_refused(study):
    mod = studies.module(study)
    with pytest.raises(ValueError, match="unknown section"):
        mod.reproduce(mod.load(None, None), None, "no_such_section")


@pytest.mark.parametrize("study", paths.STUDIES)
def test_every_chapter_parameter_is_declared_and_used(study):
    spec = studies.module(study).Params
    for nb_path in paths.study_chapters(study):
        _, cells = _chapter_cells(nb_path)
        declared = _assigned_names(_parameters_cell(cells))
        assert declared, f"{nb_path.name} has no parameters cell"
        rest = "\n".join("".join(c["source"]) for c in cells
                         if c["cell_type"] == "code" and "parameters" not in c.get("metadata", {}).get("tags", []))
        for name in declared:
            assert name in FILE_PARAMETERS or name in spec.names(), \
                f"{nb_path.name}: parameter {name} is not in helpers.studies.{study}.Params"
            assert re.search(rf"\b{re.escape(name)}\b", rest), f"{nb_path.name}: parameter {name} is declared but never used"


@pytest.mark.parametrize("study", paths.STUDIES)
def test_chapter_parameters_default_to_none(study):
    """``None`` means the study's default: the value lives in Params (or data/published) only."""
    for nb_path in paths.study_chapters(study):
        _, cells = _chapter_cells(nb_path)
        tree = ast.parse(_parameters_cell(cells))
        for node in tree.body:
            if isinstance(node, ast.Assign) and node.targets[0].id not in FILE_PARAMETERS:
                assert isinstance(node.value, ast.Constant) and node.value.value is None, \
                    f"{nb_path.name}: {node.targets[0].id} should default to None (the study's default)"


def test_param_check_rejects_wrong_types():
    spec = studies.module("atebev_il6").Params
    name = next(n for n in spec.names() if "cutoff" in n)
    with pytest.raises(ParamError, match=name):
        spec.check(name, "abc")
    with pytest.raises(ParamError):
        spec.check(name, True)
    assert spec.check(name, 20) == 20.0


# ----------------------------------------------------------------------- no typed cut-offs
def _cutoff_values() -> dict[str, float]:
    """The papers' printed cut-offs, from data/published (ids ending in a cut-off name)."""
    vals = {}
    for study in paths.STUDIES:
        spec = studies.module(study).Params
        for f in spec.describe().itertuples():
            if "data/published" in f.source and "cutoff" in f.name:
                vals[f"{study}.{f.name}"] = float(f.default)
    return vals


def _number_tokens(source: str):
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NUMBER:
                yield tok.string, tok.start[0]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return


def _code_sources():
    for f in sorted(paths.HELPERS.rglob("*.py")):
        yield str(f.relative_to(paths.ROOT)), f.read_text()
    for nb in sorted(paths.CHAPTERS.glob("*.ipynb")):
        for i, c in enumerate(json.loads(nb.read_text())["cells"]):
            if c["cell_type"] == "code":
                yield f"{nb.relative_to(paths.ROOT)} cell {i}", "".join(c["source"])


def test_published_cutoffs_are_typed_nowhere_else():
    """The printed cut-offs (e.g. Ate/Bev's IL-6 cut-off, SORAMIC's, the four PBIS ones) come
    from data/published: no number token in helpers/ or in a chapter's code equals one, on a
    line that mentions a cut-off or the marker (figure sizes such as 3.2 are left alone)."""
    values = _cutoff_values()
    assert len(values) >= 7, values
    targets = {round(v, 6) for v in values.values()}
    hits = []
    for where, source in _code_sources():
        lines = source.splitlines()
        for text, line in _number_tokens(source):
            try:
                number = round(float(text), 6)
            except ValueError:
                continue
            if number in targets:
                context = lines[line - 1].lower()
                if re.search(r"cut|il6|il8|il-6|il-8|nlr|crp|il12|il2|threshold|pg", context):
                    hits.append(f"{where}:{line}: {lines[line - 1].strip()}")
    assert not hits, "published cut-offs typed in code:\n" + "\n".join(hits)


def test_published_cutoffs_not_in_chapter_prose():
    """Chapter Markdown cites cut-offs through glue, never as typed numbers."""
    distinctive = list(_cutoff_values().values())
    patterns = [re.compile(rf"(?<![\d.]){re.escape(f'{v:g}')}(?![\d])") for v in distinctive]
    hits = []
    for nb in sorted(paths.CHAPTERS.glob("*.ipynb")):
        for i, c in enumerate(json.loads(nb.read_text())["cells"]):
            if c["cell_type"] == "markdown":
                text = "".join(c["source"])
                hits += [f"{nb.name} cell {i}: {p.pattern}" for p in patterns if p.search(text)]
    assert not hits, "\n".join(hits)
