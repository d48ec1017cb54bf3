"""Escaping of text that comes from the user: file names, labels, values of a cohort.

One function per place such text can reach:

:func:`term`
    a terminal: control characters (ANSI escape sequences, carriage returns, bidirectional
    overrides) are shown as ``\\x1b``-style escapes, so a value cannot recolour, move the
    cursor, rewrite a line or reorder what the terminal shows.
:func:`html`
    HTML text or an attribute value (``&``, ``<``, ``>``, ``"``, ``'``), control characters
    as with :func:`term`.
:func:`md`
    Markdown / MyST prose: every ASCII punctuation character is backslash-escaped (CommonMark
    allows that for each of them), so no backtick closes a code span, no ``{role}`` or
    ``:::{directive}``, link, emphasis or raw HTML tag can form; line breaks become spaces
    (a directive fence needs its own line).
:func:`md_code`
    Markdown inline code (`` `name` ``) holding any text: the fence is one backtick longer
    than the longest run of backticks in the text, as CommonMark specifies; inside a code
    span nothing is interpreted, raw HTML included.
:func:`csv_cell`
    A text cell of a CSV file a spreadsheet may open: a cell starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return is prefixed with ``'`` so it is never run as a
    formula (OWASP "CSV injection"). Numbers are left alone.

And one place where a user's value may send output: :func:`check_results_dir` (a chapter's
``results_dir`` never inside ``data/``, also when the chapter runs through plain papermill).
"""
from __future__ import annotations

import html as _html
import re
from pathlib import Path

#: C0 controls except tab and newline, DEL, C1 controls, and the Unicode bidirectional
#: embedding/override/isolate characters (the "Trojan source" set).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def term(text) -> str:
    """``text`` safe to print on a terminal: control characters shown as escapes
    (``"\\x1b[31m"`` -> ``"\\\\x1b[31m"``); tabs and newlines kept."""
    return _CONTROL.sub(lambda m: _visible(m.group(0)), str(text))


def one_line(text) -> str:
    """:func:`term`, with newlines and tabs also shown as escapes (for one-line messages)."""
    return term(text).replace("\n", "\\n").replace("\t", "\\t")


def html(text) -> str:
    """``text`` safe in HTML text and quoted attribute values."""
    return _html.escape(term(text), quote=True)


def md(text) -> str:
    """``text`` safe in Markdown / MyST prose: shown literally, never interpreted."""
    flat = re.sub(r"[\r\n]+", " ", term(text))
    return _PUNCT.sub(r"\\\1", flat)


def md_code(text) -> str:
    """``text`` as a Markdown inline code span that no character of it can close."""
    flat = re.sub(r"[\r\n]+", " ", term(text))
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or longest else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def csv_cell(value):
    """A CSV cell a spreadsheet will not run as a formula (text only; numbers unchanged)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
            return value  # "-1.5" is a number written as text, not a formula
        except ValueError:
            return "'" + value
    return value


def csv_frame(df):
    """A copy of ``df`` with :func:`csv_cell` applied to every text cell (column names too)."""
    out = df.copy()
    out.columns = [csv_cell(c) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(csv_cell)
    return out


def check_results_dir(results_dir) -> None:
    """Refuse a chapter's ``results_dir`` inside the repository's ``data/`` (plain papermill
    passes it straight to :class:`helpers.results.Recorder`): a one-line ``ValueError``."""
    if results_dir is None:
        return
    from . import paths

    target = Path(results_dir).expanduser().resolve()
    data = paths.DATA.resolve()
    if target == data or data in target.parents:
        raise ValueError(f"results_dir {target} is inside {data}: chapters never write into data/; "
                         "pass a folder outside data/ (e.g. runs/<name>/results)")
