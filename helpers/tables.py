"""Table 1 by group, with R ``tableone`` conventions (``CreateTableOne`` / ``print`` /
``ExtractSmd``), plus the options the papers need.

Tests, as ``tableone`` chooses them (source: kaz-yos/tableone ``R/modules.R``):

- Categorical: n (%) per level, % of the non-missing values in the column's group; p from
  ``chisq.test`` on the group x level table. R applies Yates' continuity correction by
  default, and only to 2x2 tables (``yates=True``, the ``tableone`` default); SPSS's
  "Pearson Chi-Square", which the Ate/Bev and PBIS papers most likely report, is the
  uncorrected test (``yates=False``). Variables listed in ``exact`` use Fisher's exact test
  (``fisher.test``; two-sided, tables as or less probable than the observed one, R's
  relative tolerance 1e-7).
- Continuous, normal: mean (SD) with ``oneway.test(var.equal = TRUE)`` (one-way ANOVA;
  Student's t for two groups). ``welch=True`` uses ``oneway.test(var.equal = FALSE)``
  (Welch; the Welch t test for two groups).
- Continuous, nonnormal: median [Q1, Q3] (R ``quantile`` type 7) with ``kruskal.test``
  (Kruskal-Wallis with ties correction, chi-square approximation; for two groups this is the
  Wilcoxon rank-sum test by normal approximation *without* continuity correction).
- SMD as ``tableone::ExtractSmd`` (``R/smdModules.R``): continuous ``|m1 - m2| /
  sqrt((v1 + v2) / 2)`` (``var``, n - 1; also for nonnormal variables); categorical the
  multinomial generalisation ``sqrt(d' S^+ d)``, ``d`` the differences of level proportions
  without the first level, ``S`` the mean of the two groups' multinomial covariance matrices
  and ``S^+`` its Moore-Penrose inverse (``MASS::ginv``); a binary variable reduces to
  ``|p1 - p2| / sqrt((p1(1-p1) + p2(1-p2)) / 2)``. More than two groups: the mean of all
  pairwise SMDs (what ``print.TableOne`` shows).

Deviations from ``tableone``, on purpose: a categorical level with no observations in any
group is shown (count 0) but left out of the test's table (R's ``chisq.test`` would return
NaN); rows with a missing group are left out of the table; ``min_count`` suppression.
"""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from .results import fmt_p

TABLE_ONE_COLUMNS = ["variable", "level", "statistic", "p", "test", "smd"]

#: ``tableone``'s print format.
FORMATS_TABLEONE = {"categorical": "{n} ({pct})", "normal": "{mean} ({sd})",
                    "nonnormal": "{median} [{q1}, {q3}]"}
#: The journals' format (Ate/Bev IL-6 paper: ``139 (84.2%)``, ``61 (55–68)``).
FORMATS_JOURNAL = {"categorical": "{n} ({pct}%)", "normal": "{mean} ({sd})",
                   "nonnormal": "{median} ({q1}–{q3})"}

STATISTIC_LABELS = {"categorical": "n (%)", "normal": "mean (SD)", "nonnormal": "median [IQR]"}

#: Test codes used in the ``test`` column.
TEST_NAMES = {
    "chisq_yates": "Pearson chi-square, Yates' correction for 2x2 (R chisq.test default)",
    "chisq": "Pearson chi-square without continuity correction (SPSS 'Pearson Chi-Square')",
    "fisher": "Fisher's exact test, two-sided (R fisher.test)",
    "anova": "one-way ANOVA, equal variances (R oneway.test(var.equal = TRUE); Student t for 2 groups)",
    "welch": "Welch's test (R oneway.test(var.equal = FALSE); Welch t for 2 groups)",
    "kruskal": "Kruskal-Wallis rank-sum test (R kruskal.test; Wilcoxon rank-sum for 2 groups)",
}


# --------------------------------------------------------------------------- helpers
ROUNDING = ("half_even", "half_up", "truncate")


def _fmt(x: float, digits: int, rounding: str = "half_even") -> str:
    """``x`` with ``digits`` decimals. ``half_even``: Python/C ``printf`` (and R ``sprintf``;
    exact binary halves such as 56.25 go to the even digit, 56.2); ``half_up``: 56.25 ->
    56.3 (SPSS, Excel); ``truncate``: cut, 2.857 -> 2.8 (seen in the SORAMIC table)."""
    if x is None or not np.isfinite(x):
        return "NA"
    if rounding == "half_even":
        return f"{x:.{digits}f}"
    from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
    q = Decimal(1).scaleb(-digits)
    mode = ROUND_HALF_UP if rounding == "half_up" else ROUND_DOWN
    return str(Decimal(repr(float(x))).quantize(q, rounding=mode))


def _levels(s: pd.Series) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    vals = s.dropna().unique()
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=str)


# --------------------------------------------------------------------------- tests
def _compositions(total: int, bounds: list[int]):
    """All integer vectors ``v`` with ``0 <= v_j <= bounds_j`` and ``sum(v) == total``."""
    if len(bounds) == 1:
        if total <= bounds[0]:
            yield (total,)
        return
    rest_cap = sum(bounds[1:])
    for first in range(max(0, total - rest_cap), min(bounds[0], total) + 1):
        for tail in _compositions(total - first, bounds[1:]):
            yield (first, *tail)


def fisher_exact_rxc(table, max_tables: int = 2_000_000) -> float:
    """Two-sided Fisher exact p for an r x c table, as R's ``fisher.test``: the total
    probability of all tables with the observed margins that are at most ``1 + 1e-7`` times
    as probable as the observed table. Full enumeration (the smaller dimension as rows);
    raises ``ValueError`` when more than ``max_tables`` tables would be needed."""
    t = np.asarray(table, dtype=int)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return 1.0
    if t.shape[0] > t.shape[1]:
        t = t.T
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    n = int(t.sum())
    lf = [math.lgamma(i + 1) for i in range(n + 1)]          # log(i!)
    log_const = sum(lf[r] for r in rows) + sum(lf[c] for c in cols) - lf[n]
    log_obs = log_const - sum(lf[c] for c in t.ravel())
    threshold = log_obs + math.log1p(1e-7)
    p = 0.0
    count = 0

    def recurse(i: int, col_left: list[int], acc: float):
        nonlocal p, count
        if i == len(rows) - 1:
            count += 1
            if count > max_tables:
                raise ValueError(f"fisher_exact_rxc: more than {max_tables} tables to enumerate "
                                 f"for a {t.shape[0]}x{t.shape[1]} table (n = {n}); use a "
                                 "chi-square test for this variable")
            lp = acc - sum(lf[c] for c in col_left)
            if lp <= threshold:
                p += math.exp(lp)
            return
        for row in _compositions(int(rows[i]), col_left):
            recurse(i + 1, [c - r for c, r in zip(col_left, row)],
                    acc - sum(lf[r] for r in row))

    recurse(0, [int(c) for c in cols], log_const)
    return min(1.0, p)


def _categorical_p(table: np.ndarray, test: str) -> float:
    t = table[:, table.sum(axis=0) > 0]
    t = t[t.sum(axis=1) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return np.nan
    if test == "fisher":
        return fisher_exact_rxc(t)
    res = stats.chi2_contingency(t, correction=(test == "chisq_yates"))
    return float(res.pvalue)


def _welch_anova_p(samples: list[np.ndarray]) -> float:
    """R ``oneway.test(var.equal = FALSE)``."""
    k = len(samples)
    n = np.array([len(s) for s in samples], dtype=float)
    m = np.array([s.mean() for s in samples])
    v = np.array([s.var(ddof=1) for s in samples])
    w = n / v
    sw = w.sum()
    mw = (w * m).sum() / sw
    tmp = ((1 - w / sw) ** 2 / (n - 1)).sum() / (k ** 2 - 1)
    f = ((w * (m - mw) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) * tmp)
    return float(stats.f.sf(f, k - 1, 1 / (3 * tmp)))


def _continuous_p(samples: list[np.ndarray], test: str) -> float:
    samples = [s for s in samples if len(s) > 0]
    if len(samples) < 2:
        return np.nan
    if test == "kruskal":
        try:
            return float(stats.kruskal(*samples).pvalue)
        except ValueError:        # all values identical
            return np.nan
    if any(len(s) < 2 for s in samples):
        return np.nan
    if test == "welch":
        return _welch_anova_p(samples)
    return float(stats.f_oneway(*samples).pvalue)


# --------------------------------------------------------------------------- SMD
def smd_continuous(samples: list[np.ndarray]) -> float:
    """``tableone`` StdDiff: mean over group pairs of ``|m1 - m2| / sqrt((v1 + v2) / 2)``."""
    vals = []
    for a, b in combinations(samples, 2):
        if len(a) < 2 or len(b) < 2:
            return np.nan
        den = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        vals.append(abs(a.mean() - b.mean()) / den if den > 0 else np.nan)
    return float(np.mean(vals)) if vals else np.nan


def smd_categorical(table: np.ndarray) -> float:
    """``tableone`` StdDiffMulti from a group x level count table (levels in order): mean
    over group pairs of ``sqrt(d' ginv((S1 + S2)/2) d)``, first level dropped."""
    table = np.asarray(table, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        props = table / table.sum(axis=1, keepdims=True)
    if props.shape[1] > 1:
        props = props[:, 1:]
    vals = []
    for i, j in combinations(range(props.shape[0]), 2):
        p1, p2 = props[i], props[j]
        if np.isnan(p1).any() or np.isnan(p2).any():
            return np.nan
        s1 = -np.outer(p1, p1)
        np.fill_diagonal(s1, p1 * (1 - p1))
        s2 = -np.outer(p2, p2)
        np.fill_diagonal(s2, p2 * (1 - p2))
        d = p1 - p2
        # MASS::ginv: singular values below sqrt(eps) * largest are treated as zero
        ginv = np.linalg.pinv((s1 + s2) / 2, rcond=np.sqrt(np.finfo(float).eps))
        vals.append(math.sqrt(max(float(d @ ginv @ d), 0.0)))
    return float(np.mean(vals)) if vals else np.nan


# --------------------------------------------------------------------------- table
def table_one(df: pd.DataFrame, group: str | None, variables: list[str], *,
              categorical: list[str] | None = None, nonnormal: list[str] | None = None,
              exact: list[str] | None = None, labels: dict | None = None,
              min_count: int = 0, total: bool | str = False, yates: bool = True,
              welch: bool = False, digits: int | dict = 1, pct_digits: int = 1,
              formats: dict | None = None, levels: dict | None = None,
              rounding: str = "half_even", group_labels: dict | None = None,
              total_first: bool = False) -> pd.DataFrame:
    """Table 1: one row per variable (continuous) or per level (categorical); one text column
    per group (``"n (%)"``, ``"mean (SD)"`` or ``"median [Q1, Q3]"``) plus the numeric parts
    (``<group>__n``, ``<group>__pct``, ... for comparison with the paper) and
    :data:`TABLE_ONE_COLUMNS`. ``min_count > 0`` shows counts below it as ``"<min_count"``.

    Parameters
    ----------
    df : DataFrame
    group : str or None
        Column defining the groups (its categorical order, else sorted values). Rows with a
        missing group are left out. ``None``: one column ``Overall``, no tests.
    variables : list of str
        Rows of the table, in order.
    categorical : list of str, optional
        Variables to treat as categorical; non-numeric and boolean columns are always
        categorical.
    nonnormal : list of str, optional
        Continuous variables shown as median [Q1, Q3] and tested by Kruskal-Wallis.
    exact : list of str, optional
        Categorical variables tested by Fisher's exact test.
    labels : dict, optional
        ``{variable: label}`` for the ``label`` column (default: the variable name).
    min_count : int
        Counts ``0 < n < min_count`` are shown as ``"<min_count"`` and their numeric parts
        blanked (small-cell suppression for real cohorts); 0 = show all.
    total : bool or str
        Add an overall column (``True``: named ``"Overall"``, or the given name).
    yates : bool
        Yates' correction for 2x2 chi-square tests (``tableone``/R default ``True``; SPSS's
        Pearson chi-square is ``False``).
    welch : bool
        Welch instead of equal-variance ANOVA/t for normal continuous variables.
    digits : int or dict
        Decimals for continuous summaries (a dict: per variable, default 1).
    pct_digits : int
        Decimals for percentages.
    formats : dict, optional
        Text templates, keys ``categorical`` / ``normal`` / ``nonnormal``, fields
        ``{n} {pct} {mean} {sd} {median} {q1} {q3}`` (default :data:`FORMATS_TABLEONE`;
        :data:`FORMATS_JOURNAL` gives ``"139 (84.2%)"`` and ``"61 (55–68)"``).
    levels : dict, optional
        ``{variable: [levels]}``: which levels to show, in order (e.g. ``{"male": [1]}`` to
        print one row for a binary variable). Tests and SMD always use all levels.
    group_labels : dict, optional
        ``{group value: column name}``, e.g. ``{0: "IL-6 low", 1: "IL-6 high"}`` (default:
        ``str(value)``).
    total_first : bool
        Put the overall column before the groups (as the Ate/Bev Table 1 does).
    rounding : {"half_even", "half_up", "truncate"}
        How text cells are rounded (numeric parts are never rounded): ``half_even`` as
        R's ``sprintf``; ``half_up`` as SPSS; ``truncate`` cuts digits.

    Returns
    -------
    DataFrame
        Columns ``variable, label, level, statistic``, one text column per group (and the
        total), ``p, p_text, test, smd``, then numeric parts ``<group>__n`` (level count, or
        non-missing n for continuous), ``__pct``, ``__mean``, ``__sd``, ``__median``,
        ``__q1``, ``__q3``. The first row (``variable == "n"``) holds the group sizes.
        ``p``, ``test`` and ``smd`` are repeated on every row of a variable;
        :func:`format_table_one` shows them once.
    """
    categorical = list(categorical or [])
    nonnormal = list(nonnormal or [])
    exact = list(exact or [])
    labels = dict(labels or {})
    levels = dict(levels or {})
    formats = {**FORMATS_TABLEONE, **(formats or {})}
    if rounding not in ROUNDING:
        raise ValueError(f"table_one: rounding must be one of {ROUNDING}, got {rounding!r}")
    _validate(df, group, variables, categorical, nonnormal, exact)

    if group is None:
        data = df
        group_names = []
        subsets = []
    else:
        data = df[df[group].notna()]
        group_levels = [g for g in _levels(data[group]) if (data[group] == g).any()] \
            if not isinstance(data[group].dtype, pd.CategoricalDtype) else _levels(data[group])
        group_labels = dict(group_labels or {})
        group_names = [str(group_labels.get(g, g)) for g in group_levels]
        if len(set(group_names)) < len(group_names):
            raise ValueError(f"table_one: group column names {group_names} are not unique")
        subsets = [data[data[group] == g] for g in group_levels]
    columns = list(zip(group_names, subsets))
    total_name = None
    if total or group is None:
        total_name = total if isinstance(total, str) else "Overall"
        if total_first:
            columns.insert(0, (total_name, data))
        else:
            columns.append((total_name, data))
        if total_name in group_names:
            raise ValueError(f"table_one: the total column name {total_name!r} is also a group")
    col_names = [c for c, _ in columns]

    rows: list[dict] = []
    first = {"variable": "n", "label": "n", "level": "", "statistic": "n",
             "p": np.nan, "test": "", "smd": np.nan}
    for name, sub in columns:
        first[name] = str(len(sub))
        first[f"{name}__n"] = float(len(sub))
    rows.append(first)

    for var in variables:
        kind = _kind(df[var], var, categorical, nonnormal, exact)
        is_cat = kind == "categorical"
        label = labels.get(var, var)
        dig = digits.get(var, 1) if isinstance(digits, dict) else digits
        if is_cat:
            all_levels = _levels(data[var])
            all_levels += [lev for lev in levels.get(var, []) if lev not in all_levels]
            show = levels.get(var, all_levels)
            table = np.array([[int((sub[var] == lev).sum()) for lev in all_levels]
                              for sub in subsets]) if subsets else np.zeros((0, len(all_levels)))
            test = "fisher" if var in exact else ("chisq_yates" if yates else "chisq")
            p = _categorical_p(table, test) if len(subsets) >= 2 else np.nan
            smd = smd_categorical(table) if len(subsets) >= 2 else np.nan
            for lev in show:
                row = {"variable": var, "label": label, "level": str(lev),
                       "statistic": STATISTIC_LABELS["categorical"],
                       "p": p, "test": test if len(subsets) >= 2 else "", "smd": smd}
                for name, sub in columns:
                    nonmiss = int(sub[var].notna().sum())
                    k = int((sub[var] == lev).sum())
                    pct = 100.0 * k / nonmiss if nonmiss else np.nan
                    if min_count and 0 < k < min_count:
                        row[name] = f"<{min_count}"
                        row[f"{name}__n"] = np.nan
                        row[f"{name}__pct"] = np.nan
                    else:
                        row[name] = formats["categorical"].format(
                            n=k, pct=_fmt(pct, pct_digits, rounding))
                        row[f"{name}__n"] = float(k)
                        row[f"{name}__pct"] = pct
                rows.append(row)
        else:
            samples = [pd.to_numeric(sub[var]).dropna().to_numpy(dtype=float) for sub in subsets]
            test = "kruskal" if kind == "nonnormal" else ("welch" if welch else "anova")
            p = _continuous_p(samples, test) if len(subsets) >= 2 else np.nan
            smd = smd_continuous(samples) if len(subsets) >= 2 else np.nan
            row = {"variable": var, "label": label, "level": "",
                   "statistic": STATISTIC_LABELS[kind],
                   "p": p, "test": test if len(subsets) >= 2 else "", "smd": smd}
            for name, sub in columns:
                x = pd.to_numeric(sub[var]).dropna().to_numpy(dtype=float)
                parts = {"n": float(len(x)),
                         "mean": x.mean() if len(x) else np.nan,
                         "sd": x.std(ddof=1) if len(x) > 1 else np.nan,
                         "median": np.quantile(x, 0.5) if len(x) else np.nan,   # type 7
                         "q1": np.quantile(x, 0.25) if len(x) else np.nan,
                         "q3": np.quantile(x, 0.75) if len(x) else np.nan}
                if min_count and 0 < len(x) < min_count:
                    row[name] = f"<{min_count}"
                    parts = {k: np.nan for k in parts}
                else:
                    row[name] = formats[kind].format(
                        n=len(x), **{k: _fmt(v, dig, rounding) for k, v in parts.items() if k != "n"})
                for k, v in parts.items():
                    row[f"{name}__{k}"] = v
            rows.append(row)

    out = pd.DataFrame(rows)
    out["p_text"] = out["p"].map(lambda p: fmt_p(p, prefix=False))
    parts = ["n", "pct", "mean", "sd", "median", "q1", "q3"]
    numeric = [f"{c}__{k}" for c in col_names for k in parts]
    for c in numeric:
        if c not in out.columns:
            out[c] = np.nan
    order = ["variable", "label", "level", "statistic", *col_names, "p", "p_text", "test", "smd",
             *numeric]
    out = out[order]
    out.attrs["groups"] = col_names
    out.attrs["total"] = total_name
    return out


def _kind(s: pd.Series, var: str, categorical, nonnormal, exact) -> str:
    """"categorical", "normal" or "nonnormal"; a readable error for contradictions."""
    declared_cat = var in categorical or var in exact
    if declared_cat or isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == bool:
        if var in nonnormal:
            raise ValueError(f"table_one: '{var}' is listed as nonnormal but is categorical")
        return "categorical"
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        if (s.notna() & ~bad).any() or var in nonnormal:
            raise ValueError(f"table_one: column '{var}' should be numeric; rows "
                             f"{list(s.index[bad][:10])} hold {list(s[bad].unique()[:5])} "
                             "(numbers mixed with text; list it in `categorical` if it is a "
                             "category)")
        return "categorical"                                   # a text column
    return "nonnormal" if var in nonnormal else "normal"


def _validate(df, group, variables, categorical, nonnormal, exact):
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"table_one: expected a pandas DataFrame, got {type(df).__name__}")
    needed = ([group] if group is not None else []) + list(variables)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"table_one: column(s) {missing} not in the data "
                         f"(columns present: {list(df.columns)})")
    for lst, name in [(categorical, "categorical"), (nonnormal, "nonnormal"), (exact, "exact")]:
        extra = [v for v in lst if v not in variables]
        if extra:
            raise ValueError(f"table_one: {name} lists {extra}, which are not in variables")
    for var in variables:
        _kind(df[var], var, categorical, nonnormal, exact)
    if group is not None and df[group].notna().sum() == 0:
        raise ValueError(f"table_one: group column '{group}' is entirely missing")


def format_table_one(table: pd.DataFrame, smd_digits: int = 3) -> pd.DataFrame:
    """A display version of :func:`table_one`'s result: label (once per variable), level,
    statistic, the group text columns, p (once per variable) and SMD, all as text."""
    cols = table.attrs.get("groups") or [c for c in table.columns
                                         if f"{c}__n" in table.columns]
    out = table[["variable", "label", "level", "statistic", *cols, "p_text", "smd"]].copy()
    repeat = out["variable"].eq(out["variable"].shift())
    out["smd"] = out["smd"].map(lambda s: "" if not np.isfinite(s) else f"{s:.{smd_digits}f}")
    out.loc[repeat, ["label", "p_text", "smd"]] = ""
    out.loc[repeat, "statistic"] = ""
    out = out.drop(columns="variable").rename(columns={"p_text": "p", "label": "variable"})
    return out.reset_index(drop=True)
