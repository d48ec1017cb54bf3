"""Human labels for column names: what a reader sees instead of ``il6_high`` or ``os_months``.

One lookup, :func:`label`, used by the table renderer (:func:`helpers.book.show`) and the plot
helpers (:mod:`helpers.plots`) for headers, axis labels, legend entries and row labels. It
looks a name up, in order, in

1. the mapping the caller passes (``labels={"il6_high": "IL-6 ≥ 18.49 pg/ml"}``),
2. :data:`LABELS`: the book's curated short labels (groups, statistics, common columns),
3. the cohort contracts (``helpers/schemas/*.py``): each column's description, shortened
   to its first clause, with the unit (``afp_ng_ml`` -> ``Serum alpha-foetoprotein (ng/ml)``),
4. a rule-based rendering of the snake_case name, with the field's abbreviations
   (:data:`TOKENS`: ``il6`` -> ``IL-6``, ``hr`` -> ``HR``, ``pg_ml`` -> ``pg/ml``, ...).

So a name is never shown as a code name, and a chapter can still say exactly what it means.
Non-string names (numbers, tuples) are returned unchanged (as ``str``).

Examples
--------
>>> label("il6_high")
'IL-6 high'
>>> label("median_lower")
'Median, 95% CI lower'
>>> label("log10_afp")
'log10 AFP'
>>> label("pbis_high", {"pbis_high": "PBIS ≥ 2"})
'PBIS ≥ 2'
"""
from __future__ import annotations

import functools
import re
from typing import Mapping

#: Curated labels for names that occur across chapters (keys are exact column names).
LABELS: dict[str, str] = {
    # groups
    "il6_low": "IL-6 low", "il6_high": "IL-6 high", "il8_low": "IL-8 low", "il8_high": "IL-8 high",
    "pbis_low": "PBIS low", "pbis_high": "PBIS high", "all": "All patients",
    "discovery": "Discovery", "validation": "Validation", "derivation": "Derivation",
    "lenvatinib": "Lenvatinib", "total": "Total",
    # statistics
    "n": "n", "N": "N", "events": "Events", "n_events": "Events", "n_event": "Events",
    "n_risk": "At risk", "n_censor": "Censored", "n_low": "n low", "n_high": "n high",
    "median": "Median", "median_lower": "Median, 95% CI lower",
    "median_upper": "Median, 95% CI upper", "mean": "Mean", "sd": "SD",
    "hr": "HR", "or": "OR", "rr": "RR", "coef": "Coefficient", "se": "SE", "z": "z",
    "lower": "95% CI lower", "upper": "95% CI upper", "ci": "95% CI",
    "p": "p", "p_value": "p", "p_text": "p", "smd": "SMD", "smd_before": "SMD before matching",
    "smd_after": "SMD after matching", "statistic": "Statistic", "chisq": "χ²", "dof": "df",
    "estimate": "Estimate", "test": "Test", "method": "Method", "error": "Error",
    "term": "Term", "variable": "Characteristic", "level": "Level", "group": "Group",
    "cut": "Cut-off", "cutoff": "Cut-off", "time": "Time", "survival": "Survival",
    "mean_treated": "Mean, treated", "mean_control": "Mean, control",
    "mean_treated_matched": "Mean, treated (matched)",
    "mean_control_matched": "Mean, control (matched)",
    "low_max": "Largest low value",
    # comparison tables
    "id": "Key", "key": "Key", "quantity": "Quantity", "published": "Published",
    "reproduced": "This cohort", "tolerance": "Tolerance", "verdict": "Verdict",
    "note": "Note", "notes": "Notes", "source": "Source", "cohort": "Cohort", "study": "Study",
    "chapter": "Chapter", "text": "Text", "computed_by": "Computed by", "value": "Value",
    # common cohort columns (shorter than the contract's descriptions)
    "patient_id": "Patient", "os_months": "Overall survival (months)", "os_event": "Died",
    "pfs_months": "Progression-free survival (months)", "pfs_event": "Progressed or died",
    "age_years": "Age (years)", "male": "Male sex", "ecog": "ECOG PS",
    "child_pugh_class": "Child-Pugh class", "child_pugh_score": "Child-Pugh score",
    "bclc_stage": "BCLC stage", "mvi": "Macrovascular invasion",
    "macrovascular_invasion": "Macrovascular invasion",
    "extrahepatic_spread": "Extrahepatic spread", "afp_ng_ml": "AFP (ng/ml)",
    "crp_mg_dl": "CRP (mg/dl)", "il6_pg_ml": "IL-6 (pg/ml)", "il8_pg_ml": "IL-8 (pg/ml)",
    "nlr": "NLR", "albi": "ALBI score", "malbi": "mALBI grade", "crafity": "CRAFITY score",
    "best_response": "Best response", "objective_response": "Objective response",
}

# PBIS cohort columns (shorter than the contract's descriptions; appended by the PBIS pages).
LABELS.update({
    "ifng_pg_ml": "IFN-γ (pg/ml)", "il10_pg_ml": "IL-10 (pg/ml)", "il12_pg_ml": "IL-12 (pg/ml)",
    "il17_pg_ml": "IL-17 (pg/ml)", "il2_pg_ml": "IL-2 (pg/ml)", "tnf_pg_ml": "TNF-α (pg/ml)",
    "pivka_ii_mau_ml": "PIVKA-II (mAU/ml)", "tumor_size_cm": "Largest tumour diameter (cm)",
})

#: Abbreviations and units used when a name is rendered word by word.
TOKENS: dict[str, str] = {
    "il2": "IL-2", "il4": "IL-4", "il6": "IL-6", "il8": "IL-8", "il10": "IL-10", "il12": "IL-12",
    "il17a": "IL-17A", "ifng": "IFN-γ", "tnfa": "TNF-α", "crp": "CRP", "afp": "AFP", "nlr": "NLR",
    "pbis": "PBIS", "ecog": "ECOG", "bclc": "BCLC", "albi": "ALBI", "malbi": "mALBI",
    "crafity": "CRAFITY", "hr": "HR", "or": "OR", "rr": "RR", "ci": "CI", "os": "OS",
    "pfs": "PFS", "ttp": "TTP", "orr": "ORR", "dcr": "DCR", "smd": "SMD", "sd": "SD",
    "iqr": "IQR", "mvi": "MVI", "pvtt": "PVTT", "hbv": "HBV", "hcv": "HCV", "cd8": "CD8",
    "cd4": "CD4", "pivka": "PIVKA", "ii": "II", "re": "RE", "lod": "LOD", "auc": "AUC",
    "cr": "CR", "pr": "PR", "sd_": "SD", "pd": "PD", "ne": "NE", "ps": "PS", "psm": "PSM",
    "pct": "%", "pg": "pg", "n": "n", "p": "p", "vs": "vs", "log10": "log10", "log2": "log2",
    "child": "Child", "pugh": "Pugh", "sha256": "SHA-256", "cb6m": "CB6m", "ipf": "IPF",
}

#: Units written as two name tokens (``pg_ml``) and how they print.
UNITS: dict[str, str] = {
    "pg_ml": "pg/ml", "ng_ml": "ng/ml", "mg_dl": "mg/dl", "g_dl": "g/dl", "g_l": "g/l",
    "umol_l": "µmol/l", "mau_ml": "mAU/ml", "10e9_l": "10⁹/l", "cells_mm2": "cells/mm²",
}
_SINGLE_UNITS = {"months": "months", "years": "years", "days": "days", "cm": "cm", "mm": "mm",
                 "mm2": "mm²", "pct": "%"}

_SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def is_code_name(text: str) -> bool:
    """True for a snake_case code name such as ``median_low_lower`` (what a header must not be)."""
    return bool(_SNAKE.match(str(text).strip()))


@functools.lru_cache(maxsize=1)
def contract_labels() -> dict[str, str]:
    """Short labels from every study's contract: the description's first clause plus unit.

    Binary columns described as ``1 = male sex`` become ``Male sex``. Where the studies
    describe the same column differently, the first study (``paths.STUDIES`` order) wins.
    """
    from . import contract, paths

    out: dict[str, str] = {}
    for study in paths.STUDIES:
        try:
            found = contract.contracts(study)
        except (ValueError, ImportError):  # pragma: no cover - a study without a contract
            continue
        for c in found.values():
            for col in c.columns:
                if col.name in out:
                    continue
                out[col.name] = _short_description(col.description, col.unit)
    return out


def _short_description(description: str, unit: str = "") -> str:
    text = description.strip()
    m = re.match(r"^1\s*=\s*([^,;]+)", text)
    if m:
        text = m.group(1).strip()
    text = re.split(r":|;|\s\(|,\s", text, maxsplit=1)[0].strip()
    text = text[:1].upper() + text[1:] if text else text
    if unit and unit not in text:
        text += f" ({unit})"
    return text


def _words(name: str) -> str:
    name = str(name)
    for code, unit in UNITS.items():
        if name.endswith("_" + code):
            return f"{_words(name[: -len(code) - 1])} ({unit})"
    parts = name.split("_")
    if len(parts) > 1 and parts[-1] in _SINGLE_UNITS and parts[-1] != "pct":
        return f"{_words('_'.join(parts[:-1]))} ({_SINGLE_UNITS[parts[-1]]})"
    words = [TOKENS.get(w, w) for w in parts if w]
    if len(words) > 1 and len(words[-1]) == 1 and words[-1].isalpha():
        words[-1] = words[-1].upper()                 # a level: child_pugh_b -> B
    text = " ".join(words).replace(" %", " (%)").replace("Child Pugh", "Child-Pugh")
    if text and text[0].islower() and not text.startswith(("log", "n ", "p ", "mALBI")) and text not in ("n", "p"):
        text = text[0].upper() + text[1:]
    return text


def label(name, labels: Mapping | None = None) -> str:
    """The reader's label for a column or group name (see the module docstring).

    Parameters
    ----------
    name
        A column, group or term name; non-strings are returned as ``str(name)``.
    labels
        The caller's own labels; they win over everything else.
    """
    if labels and name in labels:
        return str(labels[name])
    if not isinstance(name, str):
        return str(name)
    if name in LABELS:
        return LABELS[name]
    if not is_code_name(name) and not name.isidentifier():
        first = name.split(" ")[0]                   # already prose ("IL-6 group", "n (%)")
        if len(first) > 1 and first.isalpha() and first.islower() and first not in TOKENS:
            return name[0].upper() + name[1:]          # "printed margin" -> "Printed margin"
        return name
    found = contract_labels().get(name)
    if found:
        return found
    if not is_code_name(name):
        return TOKENS.get(name, name[:1].upper() + name[1:] if name.islower() else name)
    return _words(name)


def labeller(labels: Mapping | None = None):
    """``label`` with ``labels`` bound: a function for ``DataFrame.rename`` or tick labels."""
    return lambda name: label(name, labels)
