"""User text (file names, labels, values) is escaped wherever it reaches HTML, Markdown, a
terminal or a CSV file (:mod:`helpers.escape`), and a run on a cohort with a hostile file name
and hostile values leaves no unescaped user text in any output file."""
from __future__ import annotations

import html as _html
import json
import re
import subprocess
import sys

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from helpers import book, escape, paths

HOSTILE = [
    "<script>alert(1)</script>",
    "x`<img src=x onerror=alert(9)>`",
    "```{raw} html\n<b>bold</b>\n```",
    ":::{danger}\nowned\n:::",
    "{glue:text}`cut` and {ref}`x`",
    "\x1b[31mred\x1b[0m\x07",
    "=cmd|' /C calc'!A0",
    "[link](javascript:alert(1)) *em* __b__ <b>",
    "a\u202eevil\u202c",
]


def _render(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


@pytest.mark.parametrize("text", HOSTILE)
def test_md_shows_the_text_and_forms_nothing(text):
    out = _render(escape.md(text))
    body = re.fullmatch(r"<p>(.*)</p>\n", out, flags=re.S)
    assert body, out  # one paragraph: no fence, directive, heading or list formed
    inner = body.group(1)
    assert "<" not in inner.replace("&lt;", ""), out  # no tag formed (link, emphasis, raw HTML)
    shown = _html.unescape(inner)
    assert shown == re.sub(r"[\r\n]+", " ", escape.term(text)), shown


@pytest.mark.parametrize("text", HOSTILE + ["``a``", "`", "a ` b `` c"])
def test_md_code_is_one_code_span_holding_the_text(text):
    out = _render("Cohort: " + escape.md_code(text))
    m = re.fullmatch(r"<p>Cohort: <code>(.*)</code></p>\n", out, flags=re.S)
    assert m, out
    assert _html.unescape(m.group(1)) == re.sub(r"[\r\n]+", " ", escape.term(text))


def test_term_html_csv():
    assert escape.term("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert escape.term("a\u202eb") == "a\\u202eb" and escape.term("tab\tnew\nline") == "tab\tnew\nline"
    assert escape.one_line("a\nb\rc") == "a\\nb\\x0dc"
    assert escape.html('<a href="x">\'&') == "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;"
    assert [escape.csv_cell(v) for v in ("=1+1", "+x", "-x", "@x", "\tx", "-1.5", "ok", 3)] == \
        ["'=1+1", "'+x", "'-x", "'@x", "'\tx", "-1.5", "ok", 3]
    frame = escape.csv_frame(pd.DataFrame({"=a": ["=b", "c"], "n": [1, 2]}))
    assert list(frame.columns) == ["'=a", "n"] and frame["'=a"].tolist() == ["'=b", "c"]


def test_data_banner_puts_a_hostile_file_name_in_one_code_span(monkeypatch):
    shown = []
    monkeypatch.setattr(book, "_markdown", shown.append)
    name = "x`<img src=x onerror=alert(9)>`.csv"
    book.data_banner("soramic", f"/tmp/{name}")
    rendered = _render(shown[0])
    assert "<img" not in rendered and "&lt;img src=x onerror=alert(9)&gt;" in rendered
    book.data_banners({"soramic": f"/tmp/{name}", "pbis": None})
    assert "<img" not in _render(shown[1])


def test_results_dir_inside_data_is_refused(tmp_path):
    from helpers.results import Recorder

    with pytest.raises(ValueError, match="never write into data/"):
        Recorder("pbis", "pbis_cohorts", results_dir=paths.DATA / "published", glue=False)
    assert not (paths.DATA / "published" / "pbis_cohorts.csv").exists()
    escape.check_results_dir(tmp_path)  # anywhere else is fine
    Recorder("pbis", "pbis_cohorts", results_dir=tmp_path, glue=False)


# --------------------------------------------------------------------------- a hostile run
_TAGS = re.compile(r"<(script|img|iframe|svg|object)\b[^>]*(onerror|alert)", re.I)


def _csv_cells(path):
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return list(frame.columns) + [v for col in frame.columns for v in frame[col]]


@pytest.mark.notebook
def test_hostile_names_and_values_are_escaped_in_every_output(tmp_path):
    """``python -m helpers run soramic`` on a cohort named with HTML, backticks and a MyST
    role, whose patient ids are script tags, MyST directives, ANSI escapes and spreadsheet
    formulas: every output file is searched for the raw text."""
    study = "soramic"
    df = pd.read_csv(paths.synthetic_cohort(study), dtype=str, keep_default_na=False)
    ids = [f"{HOSTILE[i % len(HOSTILE)]}#{i}".replace("\n", " ") for i in range(len(df))]
    name = "x`<img src=x onerror=alert(9)>`{glue:text}`k`=cmd.csv"
    cohort = tmp_path / "in" / name
    cohort.parent.mkdir()
    df.assign(patient_id=ids).to_csv(cohort, index=False)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "helpers", "run", study, "--cohort", str(cohort), "--out", str(out)],
                          capture_output=True, text=True, cwd=paths.ROOT, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "\x1b" not in proc.stdout + proc.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files) and any(p.suffix == ".csv" for p in files)
    # every text file the run wrote (the theme's own assets under _static are not the run's)
    text_types = {".html", ".ipynb", ".csv", ".txt", ".json", ".md", ".svg", ".yml"}
    for path in (p for p in files if p.suffix in text_types and "_static" not in p.parts):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert "\x1b" not in text, f"raw ANSI escape in {path.name}"
        if path.suffix == ".html":
            assert not _TAGS.search(text), f"live hostile tag in {path.name}: {_TAGS.search(text).group(0)}"
        if path.suffix == ".csv":
            bad = [c for c in _csv_cells(path) if c[:1] in ("=", "+", "@") and c not in ("=", "+")]
            assert not bad, f"{path.name}: formula cells {bad[:3]}"
        if path.suffix == ".ipynb":
            nb = json.loads(text)
            for cell in nb["cells"]:
                for o in cell.get("outputs", []):
                    md = "".join(o.get("data", {}).get("text/markdown", ""))
                    if "onerror" in md:
                        assert escape.md_code(name) in md, f"{path.name}: the file name outside a code span"
                    h = "".join(o.get("data", {}).get("text/html", ""))
                    assert not _TAGS.search(h), f"{path.name}: live hostile tag in an HTML output"


def test_an_error_naming_a_hostile_file_reaches_the_terminal_escaped(tmp_path, monkeypatch, capsys):
    """A refusal that names the user's file (here: the row limit) prints its name with the
    escape sequence shown, not sent: the terminal is not recoloured."""
    from helpers import __main__ as cli, preflight

    cohort = tmp_path / "x\x1b[31mred.csv"
    cohort.write_text("patient_id\n1\n2\n3\n")
    monkeypatch.setattr(preflight, "MAX_ROWS", 2)
    assert cli.main(["run", "soramic", "--cohort", str(cohort), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[31mred.csv" in err and "3 rows" in err
