"""The papers' claims in words, judged like their numbers.

``data/published/claims.csv`` holds each qualitative claim of the Results and Discussion that
the data can test ("the most significant factor", "the only independent factor", "only these
four markers were significant"), quoted, with a machine-checkable form:

| column | meaning |
| --- | --- |
| ``id`` | unique snake_case id |
| ``study`` | ``atebev_il6``, ``pbis`` or ``soramic`` |
| ``source`` | where the claim is printed |
| ``claim`` | the words, quoted (shortened with ``...``) |
| ``check`` | one of :data:`CHECKS` |
| ``terms`` | the evidence keys the check looks at, space-separated |
| ``target`` | the key(s) the claim singles out, space-separated |
| ``provenance`` | as :mod:`helpers.provenance` (``calibrated`` where the generator's loss targets it) |
| ``reason`` | why the shipped synthetic cohort fails it (shown for a miss) |
| ``note`` | anything else a reader should know |

Evidence keys are the ids a chapter records (``helpers.studies.<study>.reproduce``; every
term of a multivariable model is recorded, so a claim about the other terms reads them too) or,
for quantities no chapter records (a group difference), the keys of :func:`evidence`
(``group:term``). A claim whose terms were not recorded is ``not computed``, like a number. A claim is binary: the verdict is
``exact`` when it holds and ``miss`` when it does not (:mod:`helpers.scorecard` verdicts), with
the evidence in words in ``note``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from . import paths

#: The checks a claim can ask for (``check`` column) and what each demands.
CHECKS = {
    "smallest_p": "target has the smallest p of terms",
    "significant_set": "exactly the target terms have p < 0.05 among terms",
    "largest": "target has the largest estimate of terms",
    "decreasing": "the estimates of terms decrease in the order listed",
    "greater": "every term's estimate is above 0 (a difference high minus low)",
}
CLAIM_COLUMNS = ["id", "study", "source", "claim", "check", "terms", "target", "provenance",
                 "reason", "note"]
#: Columns of :func:`judge`.
JUDGED_COLUMNS = ["id", "study", "source", "claim", "check", "provenance", "evidence", "verdict",
                  "note"]


def load(file: str | os.PathLike | None = None, study: str | None = None) -> pd.DataFrame:
    """``data/published/claims.csv`` (checked: columns, unique ids, known checks, studies).

    Raises
    ------
    ValueError
        Listing every problem, naming the file and the CSV line.
    """
    file = Path(file) if file is not None else paths.PUBLISHED / "claims.csv"
    df = pd.read_csv(file, dtype=str, keep_default_na=False)
    problems = []
    missing = [c for c in CLAIM_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{file}: missing column(s) {', '.join(missing)}")
    for i, r in df.iterrows():
        line = i + 2
        if r["check"] not in CHECKS:
            problems.append(f"line {line}: check {r['check']!r} is not one of {', '.join(CHECKS)}")
        if r["study"] not in paths.STUDIES:
            problems.append(f"line {line}: study {r['study']!r} unknown")
        if not r["terms"].split():
            problems.append(f"line {line}: no terms")
        if r["check"] in ("smallest_p", "largest", "significant_set") and not set(r["target"].split()) <= set(r["terms"].split()):
            problems.append(f"line {line}: target must be among terms")
    dup = df["id"][df["id"].duplicated()].tolist()
    if dup:
        problems.append(f"ids not unique: {', '.join(dup)}")
    if problems:
        raise ValueError(f"{file}: " + "; ".join(problems))
    return df if study is None else df[df["study"] == study].reset_index(drop=True)


def _labeller(terms: list[str]):
    """Short names for a claim's terms: what differs between them (common prefix and suffix
    of the keys removed, ``group:`` dropped)."""
    keys = [t.split(":")[-1] for t in terms]
    if len(keys) < 2:
        return lambda t: t.split(":")[-1]
    pre = os.path.commonprefix(keys)
    pre = pre[: pre.rfind("_") + 1] if "_" in pre else ""
    suf = os.path.commonprefix([k[::-1] for k in keys])[::-1]
    suf = suf[suf.find("_"):] if "_" in suf else ""
    table = {t: (k[len(pre): len(k) - len(suf)] if suf else k[len(pre):]) or k for t, k in zip(terms, keys)}
    return lambda t: table.get(t, t)


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    return f"{x:.3g}"


def _p(x: float) -> str:
    from .results import fmt_p

    return fmt_p(x) if x == x else "p NA"


def judge(claims: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Each claim's verdict on the evidence.

    Parameters
    ----------
    claims
        Rows of :func:`load`.
    evidence
        ``study``, ``key``, ``estimate``, ``p``: a results table (recorded rows) and/or
        :func:`evidence`. The last row of a (study, key) is used.

    Returns
    -------
    pandas.DataFrame
        :data:`JUDGED_COLUMNS`: ``evidence`` lists the terms' estimates and p-values in words,
        ``verdict`` is ``exact`` (holds), ``miss`` (fails; ``note`` starts with the row's
        ``reason``) or ``not computed`` (a term without evidence).
    """
    ev = evidence.drop_duplicates(["study", "key"], keep="last").set_index(["study", "key"])
    rows = []
    for _, c in claims.iterrows():
        terms = c["terms"].split()
        target = c["target"].split()
        have = [(c["study"], t) in ev.index for t in terms]
        if not all(have):
            absent = [t for t, h in zip(terms, have) if not h]
            rows.append(dict(c[["id", "study", "source", "claim", "check", "provenance"]],
                             evidence="", verdict="not computed",
                             note=f"no evidence recorded for {', '.join(absent)}"))
            continue
        est = {t: float(ev.loc[(c["study"], t), "estimate"]) for t in terms}
        pv = {t: float(ev.loc[(c["study"], t), "p"]) for t in terms}
        # a recorded p-value (an id with ``_p_``) is its own estimate
        pv = {t: (est[t] if math.isnan(pv[t]) and "_p_" in t else pv[t]) for t in terms}
        _label = _labeller(terms)
        check = c["check"]
        if check == "smallest_p":
            best = min(terms, key=lambda t: pv[t])
            ok = best == target[0]
            rank = sorted(terms, key=lambda t: pv[t]).index(target[0]) + 1
            said = f"{_label(target[0])} ranks {rank} of {len(terms)} by p; smallest: {_label(best)} ({_p(pv[best])})"
        elif check == "significant_set":
            sig = {t for t in terms if pv[t] < 0.05}
            ok = sig == set(target)
            extra, lacking = sorted(sig - set(target)), sorted(set(target) - sig)
            said = "significant: " + (", ".join(_label(t) for t in terms if t in sig) or "none")
            if extra:
                said += "; also significant: " + ", ".join(f"{_label(t)} ({_p(pv[t])})" for t in extra)
            if lacking:
                said += "; not significant: " + ", ".join(f"{_label(t)} ({_p(pv[t])})" for t in lacking)
        elif check == "largest":
            best = max(terms, key=lambda t: est[t])
            ok = best == target[0]
            said = f"largest: {_label(best)} ({_fmt(est[best])}); {_label(target[0])} {_fmt(est[target[0]])}"
        elif check == "decreasing":
            vals = [est[t] for t in terms]
            ok = all(a > b for a, b in zip(vals, vals[1:]))
            said = " > ".join(f"{_label(t)} {_fmt(est[t])}" for t in terms) if ok else \
                ", ".join(f"{_label(t)} {_fmt(est[t])}" for t in terms) + " (not in the claimed order)"
        elif check == "greater":
            ok = all(est[t] > 0 for t in terms)
            said = ", ".join(f"{_label(t)} {est[t]:+.3g}" for t in terms)
        else:  # pragma: no cover - load() rejects unknown checks
            raise ValueError(f"unknown check {check!r}")
        verdict = "exact" if ok else "miss"
        note = "claim holds" if ok else "; ".join(x for x in (c["reason"], "claim fails") if x)
        if c["note"]:
            note += f"; {c['note']}"
        rows.append(dict(c[["id", "study", "source", "claim", "check", "provenance"]], evidence=said,
                         verdict=verdict, note=note))
    return pd.DataFrame(rows, columns=JUDGED_COLUMNS)


def evidence(study: str, df: pd.DataFrame) -> pd.DataFrame:
    """The quantities claims need that no chapter records, on a cohort ``df`` (the study's
    ``load``): ``study``, ``key`` (``group:term``), ``estimate``, ``p``.

    ``atebev_il6``: the median IL-6 of Child-Pugh B7 minus Child-Pugh A
    (``il6_by_child_pugh:b7_minus_a``); the Fig. 3 multivariable terms are the rows the
    ``atebev_multivariable`` chapter records (``total_<endpoint>_hr_<term>_multivariable``)
    and are judged from the results. ``pbis``: PBIShi minus PBISlo in the AB cohorts
    (derivation and validation) for median AFP, median largest tumour size and the share with
    multiple tumours (``pbis_high_minus_low:``). ``soramic``: nothing (its claims use
    recorded ids).
    """
    out: list[dict] = []
    if study == "atebev_il6":
        il6 = pd.to_numeric(df["il6_pg_ml"], errors="coerce")
        b7 = il6[df["child_pugh_class"] == "B7"].median()
        a = il6[df["child_pugh_class"].isin(["A5", "A6"])].median()
        out.append(dict(study=study, key="il6_by_child_pugh:b7_minus_a", estimate=float(b7 - a), p=math.nan))
    elif study == "pbis":
        ab = df[df["cohort"].isin(["derivation", "validation"])]
        hi, lo = ab[ab["pbis_high"] == 1], ab[ab["pbis_high"] == 0]
        for col, how in (("afp_ng_ml", "median"), ("tumor_size_cm", "median"), ("multiple_tumors", "mean")):
            d = getattr(pd.to_numeric(hi[col], errors="coerce"), how)() - getattr(pd.to_numeric(lo[col], errors="coerce"), how)()
            out.append(dict(study=study, key=f"pbis_high_minus_low:{col}", estimate=float(d), p=math.nan))
    return pd.DataFrame(out, columns=["study", "key", "estimate", "p"])
