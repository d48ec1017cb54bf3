"""Published vs this cohort: one row per printed number, with a verdict.

The chapters record their numbers (:meth:`helpers.results.Recorder.record`) under the
``id`` of the published row (``data/published/<study>.csv``, :func:`helpers.published.load`);
:func:`compare` joins the two on (``study``, ``id`` = ``key``) and judges each number.

Verdicts
--------
In order of strength (:data:`VERDICTS`). Notation: ``v`` is the published ``value``,
``d`` its printed decimals (``digits``), ``e`` the reproduced ``estimate``; a *unit* is
``10**-d`` (one step in the last printed digit).

Side of 0.05
    A p-value is *significant* if it is below 0.05. A printed ``p = x`` is significant iff
    ``x < 0.05``; ``p < x`` (``p_bound`` ``<``) is significant if ``x <= 0.05`` and undecided
    otherwise; ``p > x`` is not significant if ``x >= 0.05`` and undecided otherwise. A
    reproduced p is significant iff ``p < 0.05``. For a row whose ``quantity`` is ``p`` the
    published p is ``v`` (with its ``p_bound``) and the reproduced p is ``e``; otherwise
    they are the rows' ``p`` columns. **Every verdict from** ``exact`` **to**
    ``same direction`` **also requires the two p-values to be on the same side of 0.05**
    whenever both exist and the published side is decided; when they cannot be compared the
    ``note`` says so.

``exact``
    Tolerance ``exact`` (counts): ``|e - v| <= 1e-9 * max(1, |v|)``.
    Other tolerances: ``e`` equals ``v`` at the printed rounding,
    ``|e - v| <= unit / 2 (+1e-9)`` (either way of rounding a half is accepted). A value
    printed with a bound (``p < 0.001``: ``v`` = 0.001, ``p_bound`` ``<``) is matched exactly
    when ``e < v`` (``>``: ``e > v``); this is how a reproduced p of 0.0004 matches a
    printed ``p < 0.001``.
``within tolerance``
    ``|e - v| <= unit (+1e-9)``: at most one step in the last printed digit away (for a
    bound, the distance from ``e`` to the allowed side). This is the rounding slack: a
    percentage computed from a count, a median printed from a differently rounded time.
``inside published CI``
    The row has a printed CI and ``lower <= e <= upper`` (the printed bounds, inclusive;
    a limit printed as NA, left blank beside a printed one, is unbounded).
``same direction``
    ``e`` and ``v`` on the same side of the null: 1 for ratios (``quantity`` ``hr``,
    ``or``, ``rr``), 0 otherwise (``sign(e - null) == sign(v - null)``). For a ``p`` row
    this is the side of 0.05 alone.
``miss``
    The strongest level reached is weaker than the row's ``tolerance`` demands:
    ``exact`` -> ``exact``; ``rounding`` -> ``within tolerance``; ``ci`` -> ``inside
    published CI``; ``direction`` -> ``same direction``. The ``note`` says what was reached.
``not computed``
    No chapter recorded this ``id`` (or recorded it without an estimate).
``info``
    Tolerance ``info``: shown, not judged. Also a ``preferred = 0`` row (the paper printed
    the quantity twice; the book takes the other printing) that no chapter recorded.

A row that reaches a level at least as strong as its tolerance demands gets the strongest
level it reaches as its verdict.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from . import published as published_mod
from .results import RESULT_COLUMNS, read_results

#: The verdicts, strongest first.
DISAGREES = "paper disagrees with itself"
VERDICTS = ("exact", "within tolerance", "inside published CI", "same direction", "miss",
            DISAGREES, "not computed", "info")
#: Strict rule: a ratio judged "inside published CI" is also within this factor of the
#: printed value (``|log(e / v)| <= log(CI_FACTOR)``).
CI_FACTOR = 1.5
#: The weakest verdict that counts as a reproduction, per ``tolerance``.
REQUIRED = {"exact": "exact", "rounding": "within tolerance", "ci": "inside published CI",
            "direction": "same direction"}
#: Quantities whose null value is 1 (all others: 0).
RATIO_QUANTITIES = ("hr", "or", "rr")
#: Columns of :func:`compare`.
CARD_COLUMNS = ["id", "study", "source", "cohort", "group", "quantity", "tolerance",
                "published", "reproduced", "published_value", "reproduced_value", "verdict",
                "provenance", "note", "published_note", "chapter", "computed_by"]
_ALPHA = 0.05
_EPS = 1e-9


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def _num(x) -> float:
    return float("nan") if _missing(x) else float(x)


def _fmt(x: float, digits: int) -> str:
    return "NA" if _missing(x) else f"{x:.{digits}f}"


def _fmt_p(p: float, bound: str) -> str:
    return f"p {bound or '='} {p:g}"


def published_text(row: pd.Series) -> str:
    """A published row as printed: ``"2.93 (95% CI 1.50–5.71), p = 0.003"``."""
    digits = 0 if _missing(row.get("digits")) else int(row["digits"])
    unit = row.get("unit", "") or ""
    if row["quantity"] == "p" and not _missing(row["value"]):
        return _fmt_p(row["value"], row.get("p_bound", "="))
    if _missing(row["value"]):
        return ""
    text = row.get("value_text") or _fmt(row["value"], digits)
    if unit and unit not in ("patients",):
        text += "%" if unit == "%" else f" {unit}"
    if not _missing(row.get("lower")) or not _missing(row.get("upper")):
        text += f" (95% CI {_fmt(row['lower'], digits)}–{_fmt(row['upper'], digits)})"
    if not _missing(row.get("p")):
        text += f", {_fmt_p(row['p'], row.get('p_bound', '='))}"
    return text


def _side(p: float, bound: str = "=") -> bool | None:
    """True if significant (< 0.05), False if not, None if missing or undecided."""
    if _missing(p):
        return None
    if bound == "<":
        return True if p <= _ALPHA else None
    if bound == ">":
        return False if p >= _ALPHA else None
    return p < _ALPHA


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _distance(e: float, v: float, bound: str) -> float:
    """How far ``e`` lies from the printed value (for a bound: from its allowed side)."""
    if bound == "<":
        return 0.0 if e < v else e - v
    if bound == ">":
        return 0.0 if e > v else v - e
    return abs(e - v)


def _ratio_text(x: float) -> str:
    return f"{x:.3g}"


def judge(pub: pd.Series, res: pd.Series | None, strict: bool = False) -> tuple[str, str]:
    """The verdict and the scorecard's note for one published row and its result.

    ``pub`` is a row of :func:`helpers.published.load`; ``res`` a row of a results file
    (``estimate``, ``lower``, ``upper``, ``p``) or ``None``. Rules: the module docstring.

    ``strict=False`` is the first scorecard's rule, kept unchanged because the calibration of
    ``helpers/synth/soramic.py`` searches with it (the shipped cohort stays byte-identical);
    :func:`compare` (the scorecard) uses ``strict=True``: the additional conditions of the
    module docstring ("Strict rule").
    """
    tolerance = pub["tolerance"]
    if tolerance == "info":
        return "info", "shown, not judged"
    if tolerance == "contradiction":
        if not strict:
            return "info", "shown, not judged"
        note = pub.get("note", "") or ""
        return DISAGREES, note or "the paper prints a different value elsewhere"
    if res is None:
        if not _missing(pub.get("preferred")) and int(pub["preferred"]) == 0:
            return "info", ("not preferred: the paper prints this quantity twice and the book "
                            "judges the other printing")
        return "not computed", "no chapter recorded this number"
    e = _num(res.get("estimate"))
    if math.isnan(e):
        return "not computed", "recorded without an estimate"
    v = _num(pub["value"])
    digits = 0 if _missing(pub.get("digits")) else int(pub["digits"])
    is_ratio = pub["quantity"] in RATIO_QUANTITIES
    ci_digits = pub.get("ci_digits")
    if strict and is_ratio and not _missing(ci_digits) and int(ci_digits) > digits:
        digits = int(ci_digits)      # "2 (95% CI 1.2-3.2)" is 2.0, not anything in [1.5, 2.5]
    unit = 10.0 ** -digits
    is_p_row = pub["quantity"] == "p"
    bound = pub.get("p_bound", "") or "="
    value_bound = bound if is_p_row else "="

    notes = []
    if is_p_row:
        side_pub, side_rep = _side(v, bound), _side(e)
    else:
        side_pub = _side(_num(pub.get("p")), bound)
        side_rep = _side(_num(res.get("p")))
    p_same = None if side_pub is None or side_rep is None else side_pub == side_rep
    if p_same is False:
        notes.append("p on the other side of 0.05")
    elif p_same is None and not is_p_row and not _missing(pub.get("p")):
        notes.append("p not compared (" + ("reproduced p not recorded" if side_rep is None
                                          else "published bound does not decide the side") + ")")
    p_ok = p_same is not False

    dist = _distance(e, v, value_bound)
    if tolerance == "exact":
        is_exact = abs(e - v) <= _EPS * max(1.0, abs(v))
    else:
        is_exact = {"=": dist <= unit / 2 + _EPS, "<": e < v, ">": e > v}[value_bound]
    lower, upper = _num(pub.get("lower")), _num(pub.get("upper"))
    has_ci = not (math.isnan(lower) and math.isnan(upper))
    lower = -math.inf if math.isnan(lower) else lower
    upper = math.inf if math.isnan(upper) else upper
    null = 1.0 if is_ratio else 0.0
    same_sign = _sign(e - null) == _sign(v - null) or (strict and v == null)
    if is_p_row:
        direction = p_same is True
    else:
        direction = same_sign
    in_ci = has_ci and lower <= e <= upper
    factor_ok = True
    if strict and is_ratio and e > 0 and v > 0:
        factor_ok = abs(math.log(e / v)) <= math.log(CI_FACTOR) + _EPS
    # strict: a ratio on the other side of 1 reaches nothing (not even 'exact' at a coarse rounding)
    dir_gate = same_sign if (strict and is_ratio) else True
    levels = {
        "exact": is_exact and p_ok and dir_gate,
        "within tolerance": dist <= unit + _EPS and p_ok and dir_gate,
        "inside published CI": in_ci and p_ok and ((same_sign and factor_ok) if strict else True),
        "same direction": direction and p_ok,
    }
    reached = next((name for name, ok in levels.items() if ok), None)
    required = REQUIRED[tolerance]
    order = list(VERDICTS)
    if reached is not None and order.index(reached) <= order.index(required):
        verdict = reached
    else:
        verdict = "miss"
        diff = e - v
        if reached:
            reach = f"reached only '{reached}'"
        elif not is_p_row and same_sign:
            reach = "same direction, but p on the other side of 0.05"
        elif is_p_row:
            reach = "on the other side of 0.05"
        else:
            reach = "the opposite direction"
        if strict and in_ci and not reached == "inside published CI" and required == "inside published CI":
            if not same_sign:
                reach += "; inside the printed CI but on the other side of 1"
            elif not factor_ok:
                reach += (f"; inside the printed CI but {max(e / v, v / e):.2f}-fold from the "
                          f"printed value (more than {CI_FACTOR:g}-fold)")
        shown = max(digits + 2, 3)
        if strict and "0.05" in reach and "p on the other side of 0.05" in notes:
            notes.remove("p on the other side of 0.05")
        if not strict:
            reach = f"reached only '{reached}'" if reached else "not even the same direction"
        notes.insert(0, f"needs '{required}': reproduced {e:.{shown}g} vs published "
                        f"{pub.get('value_text') or f'{v:g}'} (difference {diff:+.{shown}g}); {reach}")
        reason = pub.get("reason", "") or ""
        if strict and reason:
            notes.insert(0, reason)
    return verdict, "; ".join(notes)


def _check_results(results: pd.DataFrame) -> pd.DataFrame:
    needed = ["study", "key", "estimate"]
    missing = [c for c in needed if c not in results.columns]
    if missing:
        raise ValueError(f"results table: missing column(s) {', '.join(missing)}; expected "
                         f"the columns of helpers.results.RESULT_COLUMNS ({', '.join(RESULT_COLUMNS)})")
    out = results.copy()
    for column in RESULT_COLUMNS:
        if column not in out:
            out[column] = None
    for column in ("estimate", "lower", "upper", "p"):
        converted = pd.to_numeric(out[column], errors="coerce")
        bad = converted.isna() & out[column].notna() & (out[column].astype(str).str.strip() != "")
        if bad.any():
            rows = ", ".join(str(i) for i in out.index[bad][:10])
            raise ValueError(f"results table: column '{column}' must be numeric; rows {rows} "
                             f"hold {', '.join(repr(x) for x in out.loc[bad, column][:5])}")
        out[column] = converted.astype(float)
    return out


def provenance(result: pd.Series) -> str:
    """Where a recorded number was computed: its ``computed_by`` (e.g.
    ``helpers.studies.pbis.reproduce[outcomes]``), or the chapter notebook for a results row
    written before ``computed_by`` existed."""
    text = result.get("computed_by")
    if isinstance(text, str) and text.strip():
        return text
    chapter = result.get("chapter")
    return f"chapters/{chapter}.ipynb" if isinstance(chapter, str) and chapter else ""


def compare(results: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """One row per published number, with the reproduced number beside it and a verdict.

    Parameters
    ----------
    results
        Recorded numbers (:data:`helpers.results.RESULT_COLUMNS`), e.g. from
        :func:`helpers.results.read_results`; joined on ``study`` and ``key`` = ``id``.
        Where several chapters recorded the same key, the last row is used and the note
        says so.
    published
        Published numbers (:func:`helpers.published.load`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CARD_COLUMNS`, in the order of ``published``. ``verdict`` is one of
        :data:`VERDICTS` (rules in the module docstring); ``note`` is the scorecard's reason,
        ``published_note`` the transcriber's note; ``chapter`` and ``computed_by`` say which
        chapter recorded the number and which function (and section) computed it
        (:func:`provenance`), so a reader goes from any number to its code in one hop.
    """
    results = _check_results(results)
    from . import provenance as provenance_mod

    classes = provenance_mod.classify(published).set_index(["study", "id"])["provenance"] \
        if len(published) else pd.Series(dtype=str)
    by_key: dict[tuple[str, str], list[pd.Series]] = {}
    for _, row in results.iterrows():
        by_key.setdefault((row["study"], row["key"]), []).append(row)
    rows = []
    for _, pub in published.iterrows():
        hits = by_key.get((pub["study"], pub["id"]), [])
        res = hits[-1] if hits else None
        verdict, note = judge(pub, res, strict=True)
        if len(hits) > 1:
            chapters = ", ".join(str(h["chapter"]) for h in hits)
            note = "; ".join(x for x in (note, f"recorded by {len(hits)} chapters ({chapters}); "
                                                "the last is used") if x)
        reproduced = ""
        if res is not None:
            text = res.get("text")
            reproduced = text if isinstance(text, str) and text else _fmt(_num(res["estimate"]), 2)
        rows.append(dict(
            id=pub["id"], study=pub["study"], source=pub["source"], cohort=pub["cohort"],
            group=pub["group"], quantity=pub["quantity"], tolerance=pub["tolerance"],
            published=published_text(pub), reproduced=reproduced,
            published_value=_num(pub["value"]),
            reproduced_value=float("nan") if res is None else _num(res["estimate"]),
            verdict=verdict, provenance=classes.get((pub["study"], pub["id"]), ""),
            note=note, published_note=pub.get("note", "") or "",
            chapter="" if res is None else str(res.get("chapter") or ""),
            computed_by="" if res is None else provenance(res),
        ))
    return pd.DataFrame(rows, columns=CARD_COLUMNS)


def scorecard(results_dir: str | os.PathLike | None = None, study: str | None = None,
              published_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """:func:`compare` for the results files in ``results_dir`` (default
    :data:`helpers.paths.RESULTS`) against the published numbers of ``study`` (default: all
    studies with a published file)."""
    pub = published_mod.load(study, published_dir)
    results = read_results(results_dir, study)
    return compare(results, pub)


def summary(card: pd.DataFrame) -> pd.DataFrame:
    """Counts per study and verdict: one row per study (plus ``all`` when there are several),
    one column per verdict in :data:`VERDICTS` order, then ``total``."""
    counts = (card.groupby(["study", "verdict"]).size().unstack("verdict", fill_value=0)
              .reindex(columns=list(VERDICTS), fill_value=0))
    counts = counts.reindex(sorted(counts.index, key=_study_order))
    if len(counts) > 1:
        counts.loc["all"] = counts.sum()
    counts["total"] = counts.sum(axis=1)
    out = counts.reset_index().rename(columns={"index": "study"})
    out.columns.name = None
    return out.astype({v: int for v in list(VERDICTS) + ["total"]})


def _study_order(study: str) -> int:
    from .paths import STUDIES

    return STUDIES.index(study) if study in STUDIES else len(STUDIES)


def summary_line(card: pd.DataFrame) -> str:
    """One line: how many published numbers, and how many got each verdict (per study in
    brackets): ``"367 published numbers: 120 exact, ... (atebev_il6: ...; pbis: ...)"``."""
    if card.empty:
        return "scorecard: no published numbers found"

    def counts(frame):
        c = frame["verdict"].value_counts()
        return ", ".join(f"{int(c[v])} {v}" for v in VERDICTS if v in c)

    per_study = "; ".join(f"{s}: {counts(g)}" for s, g in
                          sorted(card.groupby("study"), key=lambda x: _study_order(x[0])))
    return f"scorecard: {len(card)} published numbers: {counts(card)} ({per_study})"


#: Columns of :func:`side_by_side`.
SIDE_BY_SIDE_COLUMNS = ["id", "quantity", "published", "reproduced", "verdict", "note", "computed_by"]


def side_by_side(recorder_table, study: str, published: pd.DataFrame | None = None, *,
                 include_unpublished: bool = False) -> pd.DataFrame:
    """The published numbers beside the ones a chapter recorded, for that chapter's page.

    Parameters
    ----------
    recorder_table
        :meth:`helpers.results.Recorder.table` (or the :class:`~helpers.results.Recorder`).
    study
        The chapter's study; its published numbers are loaded unless ``published`` is given.
    include_unpublished
        Also list recorded keys that are not published numbers (verdict ``""``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SIDE_BY_SIDE_COLUMNS` (``id``, ``quantity``, ``published``,
        ``reproduced``, ``verdict``, ``note``, ``computed_by``), one row per recorded key, in
        recording order.
    """
    table = recorder_table.table() if hasattr(recorder_table, "table") else recorder_table
    table = table.copy()
    if "study" not in table or table["study"].isna().all():
        table["study"] = study
    pub = published_mod.load(study) if published is None else published
    pub = pub[pub["study"] == study]
    card = compare(table, pub).set_index("id")
    rows = []
    for _, rec in table.iterrows():
        key = rec["key"]
        if key in card.index:
            c = card.loc[key]
            rows.append(dict(id=key, quantity=c["quantity"], published=c["published"],
                             reproduced=c["reproduced"], verdict=c["verdict"], note=c["note"],
                             computed_by=c["computed_by"]))
        elif include_unpublished:
            rows.append(dict(id=key, quantity="", published="", reproduced=rec.get("text", ""),
                             verdict="", note="not a published number",
                             computed_by=provenance(rec)))
    return pd.DataFrame(rows, columns=SIDE_BY_SIDE_COLUMNS)


#: Columns shown for a study's full comparison and its misses (:func:`study_table`).
DISPLAY_COLUMNS = ["id", "quantity", "published", "reproduced", "tolerance", "verdict", "note",
                   "computed_by"]


def study_table(card: pd.DataFrame, study: str | None, verdicts=None) -> pd.DataFrame:
    """One study's rows of a card for display, optionally only some verdicts (e.g.
    ``["miss"]``): :data:`DISPLAY_COLUMNS`; when only some verdicts are asked for, ``source``
    and ``published_note`` instead of ``quantity`` and ``verdict`` (the reader wants to know
    where and why). ``study=None``: every study, with a ``study`` column first."""
    rows = card if study is None else card[card["study"] == study]
    columns = list(DISPLAY_COLUMNS)
    if verdicts is not None:
        rows = rows[rows["verdict"].isin(list(verdicts))]
        columns = ["id", "source", "published", "reproduced", "tolerance", "note",
                   "published_note", "computed_by"]
    if study is None:
        columns = ["study"] + columns
    return rows[columns].reset_index(drop=True)


def verdict_counts(card: pd.DataFrame, study: str | None = None) -> dict[str, int]:
    """``{verdict: count}`` for every verdict in :data:`VERDICTS` (zeros included), over
    the whole card or one study."""
    rows = card if study is None else card[card["study"] == study]
    counts = rows["verdict"].value_counts()
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def reproduced_count(card: pd.DataFrame, study: str | None = None) -> int:
    """How many published numbers reached the level their tolerance demands (a verdict from
    ``exact`` to ``same direction``), over the whole card or one study."""
    counts = verdict_counts(card, study)
    return sum(counts[v] for v in VERDICTS[: VERDICTS.index("miss")])


def study_titles() -> dict[str, str]:
    """``{study: title}``: the caption of the study's part in ``_toc.yml`` (where the book
    names it), or the study's short name."""
    import yaml

    from . import paths

    toc = yaml.safe_load((paths.ROOT / "_toc.yml").read_text())
    titles = {}
    for part in toc.get("parts", []):
        names = [Path(c.get("file", "")).name for c in part.get("chapters", [])]
        for study, prefix in paths.CHAPTER_PREFIX.items():
            if names and all(n.startswith(prefix) for n in names):
                titles[study] = part.get("caption", study)
    return {s: titles.get(s, s) for s in paths.STUDIES}


# --------------------------------------------------------------------------- by provenance
#: Verdicts that judge something (``info`` and ``not computed`` are left out of the headline).
JUDGED = tuple(v for v in VERDICTS if v not in ("info", "not computed"))


def by_provenance(card: pd.DataFrame, claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counts of judged verdicts per provenance class (:data:`helpers.provenance.CLASSES`,
    evidence first): one row per class, one column per verdict of :data:`JUDGED`, then
    ``reproduced`` (a verdict from ``exact`` to ``same direction``), ``total``, ``judged``
    (``total`` without the numbers the paper contradicts, the denominator of
    ``reproduced``) and ``meaning``. ``claims`` (:func:`helpers.claims.judge`) are counted with the numbers."""
    from .provenance import CLASSES, MEANING

    frames = [card[["provenance", "verdict"]]]
    if claims is not None and len(claims):
        frames.append(claims[["provenance", "verdict"]])
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["verdict"].isin(JUDGED)]
    counts = (rows.groupby(["provenance", "verdict"]).size().unstack("verdict", fill_value=0)
              .reindex(index=list(CLASSES), columns=list(JUDGED), fill_value=0))
    counts["reproduced"] = counts[list(VERDICTS[: VERDICTS.index("miss")])].sum(axis=1)
    counts["total"] = counts[list(JUDGED)].sum(axis=1)
    counts["judged"] = counts["total"] - counts[DISAGREES]
    out = counts.reset_index().rename(columns={"index": "provenance"})
    out.columns.name = None
    out["meaning"] = out["provenance"].map(MEANING)
    return out.astype({c: int for c in list(JUDGED) + ["reproduced", "total", "judged"]})


def headline(card: pd.DataFrame, claims: pd.DataFrame | None = None) -> str:
    """One sentence led by the evidence: ``"Independent numbers and claims: 3 of 14
    reproduced; calibrated: 120 of 140; ..."``."""
    table = by_provenance(card, claims).set_index("provenance")
    parts = [f"{k}: {int(r['reproduced'])} of {int(r['judged'])} reproduced"
             for k, r in table.iterrows() if r["judged"]]
    return "; ".join(parts)
