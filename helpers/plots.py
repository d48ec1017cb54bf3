"""Drawing only. Each function takes tidy DataFrames from the computing helpers, an optional
``ax``, and returns the axes (or figure, for multi-panel plots). No statistics here.

One palette for the whole book (:data:`PALETTE`, Okabe & Ito's colour-blind-safe set) and one
journal-like style (:data:`STYLE`: no top/right spines, light grid, 9-10 pt text), applied
inside each function only, so a chapter's own plots are not changed behind its back.
Figure sizes are chosen for a web page column (about 7 inches wide at most).

The one computed thing here is the number at risk under a Kaplan-Meier plot
(:func:`number_at_risk`), read off the Kaplan-Meier table, not re-estimated.
"""
from __future__ import annotations

import functools
import math

import matplotlib as mpl
import matplotlib.pyplot as plt
import matplotlib.transforms as mtransforms
import numpy as np
import pandas as pd

from .results import fmt_p

#: Okabe-Ito colours, in the order groups get them (blue, vermillion, green, orange, sky
#: blue, reddish purple, yellow, black).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442",
           "#000000"]
#: Neutral colours for reference lines and secondary marks.
GREY = "#6E6E6E"
LIGHT_GREY = "#BBBBBB"
#: Colour of each scorecard verdict (:data:`helpers.scorecard.VERDICTS`).
VERDICT_COLORS = {
    "exact": "#009E73", "within tolerance": "#56B4E9", "inside published CI": "#0072B2",
    "same direction": "#E69F00", "miss": "#D55E00", "not computed": "#999999",
    "info": "#DDDDDD",
}
#: Matplotlib settings used while a plot is drawn.
STYLE = {
    "font.size": 9.5, "axes.titlesize": 10.5, "axes.titleweight": "bold",
    "axes.titlelocation": "left", "axes.labelsize": 9.5, "xtick.labelsize": 9,
    "ytick.labelsize": 9, "legend.fontsize": 8.5, "legend.frameon": False,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": False,
    "axes.linewidth": 0.8, "xtick.major.width": 0.8, "ytick.major.width": 0.8,
    "lines.linewidth": 1.8, "figure.dpi": 110, "savefig.dpi": 150,
    "savefig.bbox": "tight", "axes.prop_cycle": mpl.cycler(color=PALETTE),
}

#: Columns of :func:`number_at_risk`.
RISK_COLUMNS = ["group", "time", "n_risk"]
_KM_NEEDED = ["group", "time", "n_risk", "n_event", "n_censor", "survival"]


def _styled(func):
    """Draw inside :data:`STYLE` (an ``rc_context``: global settings are left alone)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            result = func(*args, **kwargs)
            # The inline backend turns interactive mode on when it first draws, inside
            # this context; leaving the context would restore "off" and later figures of
            # the notebook would no longer show on their own. Keep what is current.
            interactive = mpl.is_interactive()
        mpl.interactive(interactive)
        return result
    return wrapper


def _require(df: pd.DataFrame, columns, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}; the table has "
                         f"{', '.join(map(str, df.columns))}")


def _clean(ax) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


def _new_ax(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    _clean(ax)
    return ax


def _colors(groups, colors) -> dict:
    """A colour per group: ``colors`` may be a dict, a list, or None (:data:`PALETTE`)."""
    if isinstance(colors, dict):
        missing = [g for g in groups if g not in colors]
        if missing:
            raise ValueError(f"colors: no colour for group(s) {', '.join(map(str, missing))}")
        return dict(colors)
    palette = list(colors) if colors is not None else PALETTE
    return {g: palette[i % len(palette)] for i, g in enumerate(groups)}


def _fmt(x, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)) or pd.isna(x):
        return "NA"
    return f"{x:.{digits}f}"


def _groups(km: pd.DataFrame, order=None) -> list:
    present = list(dict.fromkeys(km["group"]))
    if order is None:
        return present
    unknown = [g for g in order if g not in present]
    if unknown:
        raise ValueError(f"order: group(s) {', '.join(map(str, unknown))} not in the table "
                         f"(groups: {', '.join(map(str, present))})")
    return list(order)


def _km_frame(km: pd.DataFrame) -> pd.DataFrame:
    _require(km, _KM_NEEDED, "km_table")
    km = km.copy()
    km["group"] = km["group"].astype(object).where(km["group"].notna(), "all")
    return km


def number_at_risk(km: pd.DataFrame, times) -> pd.DataFrame:
    """Number at risk per group at ``times``, read off a Kaplan-Meier table.

    The number at risk at ``t`` is the number of patients whose time is ``>= t`` (R
    ``summary(survfit, times, extend = TRUE)$n.risk``, survminer's risk table). From a
    :func:`helpers.survival.km_table` frame (one row per distinct event or censoring time,
    ``n_risk`` = at risk just before that time, plus a first row at time 0) it is the
    ``n_risk`` of the first row with ``time >= t``, and 0 after the last row.

    Parameters
    ----------
    km
        Columns :data:`helpers.survival.KM_COLUMNS` (``group`` missing = one group ``all``).
    times
        The times (same unit as ``km.time``), e.g. ``[0, 6, 12, 18, 24]``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RISK_COLUMNS`, groups in order of appearance, times as given.
    """
    km = _km_frame(km)
    times = [float(t) for t in times]
    rows = []
    for group in _groups(km):
        g = km[km["group"] == group].sort_values("time", kind="stable")
        t_values = g["time"].to_numpy(dtype=float)
        n_values = g["n_risk"].to_numpy()
        for t in times:
            i = int(np.searchsorted(t_values, t, side="left"))
            rows.append(dict(group=group, time=t, n_risk=int(n_values[i]) if i < len(g) else 0))
    return pd.DataFrame(rows, columns=RISK_COLUMNS)


def _one_row(x, what: str, columns) -> dict:
    """A dict from a one-row DataFrame, a Series or a dict (the first row of a frame)."""
    if isinstance(x, pd.DataFrame):
        if x.empty:
            raise ValueError(f"{what}: the table is empty")
        x = x.iloc[0]
    x = dict(x)
    missing = [c for c in columns if c not in x]
    if missing:
        raise ValueError(f"{what}: missing {', '.join(missing)}")
    return x


@_styled
def km_plot(km, ax=None, *, summary=None, hr=None, logrank=None, risk_times=None,
            xlabel="Months", ylabel="Survival probability", title=None, colors=None,
            labels=None, order=None, ci=False, annotate_loc="lower left", xmax=None):
    """Kaplan-Meier curves, as survminer's ``ggsurvplot`` draws them.

    Parameters
    ----------
    km
        :func:`helpers.survival.km_table` (:data:`~helpers.survival.KM_COLUMNS`): step
        curves, with a tick at every time with censorings.
    ax
        Axes to draw on; ``None`` makes a figure (7 x 5.2 in with a risk table).
    summary
        :func:`helpers.survival.km_summary`: each legend entry gets ``n`` and the median
        (95% CI); ``NA`` where a median or limit is not reached.
    hr
        A Cox table row (``hr``, ``lower``, ``upper``, optional ``p``): a
        :class:`~helpers.survival.CoxResult` or a DataFrame (the first row is used), a
        Series or a dict. Printed as ``HR 2.93 (95% CI 1.50–5.71)``.
    logrank
        :func:`helpers.survival.logrank` (its ``p``) or a float: printed as ``Log-rank p``.
    risk_times
        Times for the number-at-risk table under the axis (:func:`number_at_risk`); they
        also become the x ticks.
    labels
        Display names per group (dict), e.g. ``{"il6_high": "IL-6 high"}``.
    order, colors
        Group order (default: order in ``km``) and colours (dict or list; default
        :data:`PALETTE`).
    ci
        Shade the pointwise 95% CI (needs ``lower``, ``upper``).
    annotate_loc
        Corner for the HR and log-rank text: ``"lower left"`` (default), ``"upper right"``, ...
    xmax
        Right end of the time axis (curves beyond it are cut off, as survminer's ``xlim``);
        default: the last time or the last ``risk_times``, whichever is later.

    Returns
    -------
    matplotlib.axes.Axes
        The curve axes; the risk table is a second axes of the same figure.
    """
    km = _km_frame(km)
    groups = _groups(km, order)
    color = _colors(groups, colors)
    labels = labels or {}
    summ = None
    if summary is not None:
        _require(summary, ["group", "n", "median", "median_lower", "median_upper"], "km_summary")
        summ = summary.assign(group=summary["group"].astype(object).where(summary["group"].notna(), "all")).set_index("group")
    risk_ax = None
    if ax is None:
        if risk_times is not None:
            fig = plt.figure(figsize=(7.0, 4.2 + 0.28 * len(groups) + 0.45), layout="constrained")
            grid = fig.add_gridspec(2, 1, height_ratios=[4.2, 0.28 * len(groups) + 0.45])
            ax = fig.add_subplot(grid[0])
            risk_ax = fig.add_subplot(grid[1], sharex=ax)
        else:
            _, ax = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    elif risk_times is not None:
        height = 0.07 * len(groups) + 0.05
        risk_ax = ax.inset_axes([0, -0.2 - height, 1, height], sharex=ax)
    _clean(ax)

    t_max = float(km["time"].max())
    for group in groups:
        g = km[km["group"] == group].sort_values("time", kind="stable")
        name = str(labels.get(group, group))
        if summ is not None and group in summ.index:
            s = summ.loc[group]
            name += (f" (n = {int(s['n'])}): {_fmt(s['median'], 1)} "
                     f"({_fmt(s['median_lower'], 1)}–{_fmt(s['median_upper'], 1)})")
        ax.step(g["time"], g["survival"], where="post", color=color[group], label=name)
        if ci and {"lower", "upper"} <= set(g.columns):
            ax.fill_between(g["time"], g["lower"].fillna(g["survival"]),
                            g["upper"].fillna(g["survival"]), step="post",
                            color=color[group], alpha=0.12, linewidth=0)
        cens = g[g["n_censor"] > 0]
        ax.plot(cens["time"], cens["survival"], linestyle="none", marker="|",
                markersize=6, markeredgewidth=1.1, color=color[group], label="_nolegend_")
    ax.set_ylim(-0.02, 1.03)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    x_right = max(t_max, max(risk_times) if risk_times is not None else 0.0)
    if xmax is not None:
        ax.set_xlim(0, float(xmax) * 1.02)
    else:
        ax.set_xlim(0, x_right * 1.02 if x_right > 0 else 1)
    if risk_times is not None:
        ax.set_xticks(list(risk_times))
    legend_title = f"Median, {xlabel.lower()} (95% CI)" if summ is not None else None
    if len(groups) > 1 or summ is not None:
        ax.legend(loc="upper right", title=legend_title, title_fontsize=8.5, handlelength=1.6)

    notes = []
    if hr is not None:
        h = _one_row(getattr(hr, "table", hr), "hr", ["hr", "lower", "upper"])
        notes.append(f"HR {_fmt(h['hr'])} (95% CI {_fmt(h['lower'])}–{_fmt(h['upper'])})"
                     + (f", {fmt_p(h['p'])}" if "p" in h and pd.notna(h["p"]) else ""))
    if logrank is not None:
        p = logrank if isinstance(logrank, (int, float)) else _one_row(logrank, "logrank", ["p"])["p"]
        notes.append("Log-rank " + fmt_p(float(p)))
    if notes:
        x, ha = (0.02, "left") if "left" in annotate_loc else (0.98, "right")
        y, va = (0.04, "bottom") if "lower" in annotate_loc else (0.96, "top")
        ax.text(x, y, "\n".join(notes), transform=ax.transAxes, ha=ha, va=va, fontsize=9)
    if title:
        ax.set_title(title)

    if risk_ax is not None:
        _risk_table(risk_ax, number_at_risk(km, risk_times), groups, color, labels)
    return ax


def _risk_table(rax, risk: pd.DataFrame, groups, color, labels) -> None:
    """Numbers at risk as text rows under the curves (one row per group, top = first)."""
    for spine in rax.spines.values():
        spine.set_visible(False)
    rax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    rax.tick_params(axis="y", which="both", left=False, pad=16)
    rows = {g: len(groups) - 1 - i for i, g in enumerate(groups)}
    rax.set_ylim(-0.6, len(groups) - 0.4)
    rax.set_yticks([rows[g] for g in groups])
    rax.set_yticklabels([str(labels.get(g, g)) for g in groups])
    for tick, g in zip(rax.get_yticklabels(), groups):
        tick.set_color(color[g])
    for _, r in risk.iterrows():
        rax.text(r["time"], rows[r["group"]], f"{int(r['n_risk'])}", ha="center",
                 va="center", fontsize=8.5, color=color[r["group"]], clip_on=False)
    rax.set_title("Number at risk", fontsize=8.5, fontweight="normal", loc="left", pad=2)


_LOG_TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500]


@_styled
def forest_plot(table, ax=None, *, estimate="hr", label="term", null=1.0, log=True, title=None,
                xlabel=None, color=None, labels=None, p="p"):
    """Forest plot of a Cox or logistic table (estimate, ``lower``, ``upper``, ``p``).

    One row per table row, top to bottom in table order: a square at the estimate, a
    line over the 95% CI, a dashed line at ``null``, and, in a text panel to the right,
    the estimate (95% CI) and the p-value as printed (:func:`helpers.results.fmt_p`). A row
    whose estimate is missing (a reference level) is labelled "reference". Log scale by
    default (ratios); ``log=False`` for differences (then use ``null=0``). CI lines beyond
    the axis limits are clipped at the limit.

    Returns
    -------
    matplotlib.axes.Axes
        The plot axes; the text panel is a second axes of the same figure.
    """
    table = getattr(table, "table", table)          # a CoxResult gives its table
    _require(table, [label, estimate, "lower", "upper"], "forest_plot table")
    n = len(table)
    if n == 0:
        raise ValueError("forest_plot table: no rows to draw")
    if ax is None:
        fig = plt.figure(figsize=(7.0, 0.36 * n + 1.2), layout="constrained")
        grid = fig.add_gridspec(1, 2, width_ratios=[2.2, 1.0], wspace=0.0)
        ax = fig.add_subplot(grid[0])
        text_ax = fig.add_subplot(grid[1], sharey=ax)
    else:
        text_ax = ax.inset_axes([1.02, 0, 0.45, 1], sharey=ax)
    _clean(ax)
    color = color or PALETTE[0]
    labels = labels or {}
    y = np.arange(n)[::-1]
    est = table[estimate].astype(float).to_numpy()
    lo = table["lower"].astype(float).to_numpy()
    hi = table["upper"].astype(float).to_numpy()
    ok = np.isfinite(est)
    values = np.concatenate([est, lo, hi, [null]])
    values = values[np.isfinite(values) & ((values > 0) if log else True)]
    left, right = values.min(), values.max()
    if log:
        left, right = left / 1.25, right * 1.25
        ax.set_xscale("log")
        ticks = [t for t in _LOG_TICKS if left <= t <= right]
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    else:
        pad = 0.08 * ((right - left) or 1)
        left, right = left - pad, right + pad
    ax.set_xlim(left, right)
    ax.axvline(null, color=GREY, linestyle="--", linewidth=0.9, zorder=0)
    ax.hlines(y[ok], np.clip(lo[ok], left, right), np.clip(hi[ok], left, right),
              color=color, linewidth=1.6)
    ax.plot(est[ok], y[ok], linestyle="none", marker="s", markersize=6, color=color)
    ax.set_yticks(y)
    ax.set_yticklabels([str(labels.get(t, t)) for t in table[label]])
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_ylim(-0.7, n - 0.3)
    name = {"hr": "HR", "or": "OR"}.get(estimate, estimate)
    ax.set_xlabel(xlabel or f"{name} (95% CI, {'log scale' if log else 'linear scale'})")

    text_ax.set_axis_off()
    text_ax.set_xlim(0, 1)
    has_p = p in table.columns
    text_ax.text(0.02, n - 0.45, f"{name} (95% CI)", ha="left", va="bottom",
                 fontweight="bold", fontsize=8.5)
    if has_p:
        text_ax.text(0.72, n - 0.45, "p", ha="left", va="bottom", fontweight="bold",
                     fontsize=8.5)
    for yi, (_, row) in zip(y, table.iterrows()):
        if not np.isfinite(float(row[estimate])):
            text_ax.text(0.02, yi, "reference", ha="left", va="center", fontsize=8.5,
                         color=GREY)
            continue
        text_ax.text(0.02, yi, f"{_fmt(row[estimate])} ({_fmt(row['lower'])}–{_fmt(row['upper'])})",
                     ha="left", va="center", fontsize=8.5)
        if has_p and pd.notna(row[p]):
            text_ax.text(0.72, yi, fmt_p(float(row[p]))[2:].replace("= ", ""), ha="left",
                         va="center", fontsize=8.5)
    if title:
        ax.set_title(title)
    return ax


@_styled
def response_bars(table, ax=None, *, group="group", responders="responders", n="n", title=None,
                  ylabel="Response rate (%)", colors=None, labels=None):
    """Bars of response rate per group with ``responders/n`` printed on each bar.

    The rate is ``100 * responders / n`` (a group with ``n = 0`` gets no bar and the label
    ``0/0``). Bars in table order, coloured per group (:data:`PALETTE`).

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require(table, [group, responders, n], "response_bars table")
    ax = _new_ax(ax, (max(3.2, 1.1 * len(table) + 1.5), 3.6))
    groups = list(table[group])
    color = _colors(groups, colors)
    labels = labels or {}
    k = table[responders].astype(float).to_numpy()
    total = table[n].astype(float).to_numpy()
    rate = np.where(total > 0, 100 * k / np.where(total > 0, total, 1), 0.0)
    x = np.arange(len(groups))
    ax.bar(x, rate, width=0.62, color=[color[g] for g in groups])
    for xi, r, ki, ni in zip(x, rate, k, total):
        ax.text(xi, r + 1.5, f"{int(ki)}/{int(ni)}\n({r:.1f}%)", ha="center", va="bottom",
                fontsize=8.5)
    ax.set_xticks(x)
    ax.set_xticklabels([str(labels.get(g, g)) for g in groups])
    ax.set_ylim(0, max(100.0, float(rate.max(initial=0)) + 18))
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", length=0)
    if title:
        ax.set_title(title)
    return ax


@_styled
def maxstat_plot(curve, cutoff, ax=None, *, x="cut", y="statistic", log_x=False, title=None,
                 xlabel="Cut-off", ylabel="Standardized log-rank statistic", critical=None,
                 unit=""):
    """The standardized statistic at every candidate cut, the chosen cut marked.

    Parameters
    ----------
    curve
        :attr:`helpers.maxstat.MaxstatResult.curve` (columns ``cut``, ``statistic``) or
        the min-p curve with ``y="chisq"``.
    cutoff
        The chosen cut-point: a dashed vertical line, labelled with its value.
    critical
        Optional horizontal line (e.g. the 5% critical value of the maximal statistic).
    log_x
        Log scale for skewed markers (IL-6 in pg/ml).

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require(curve, [x, y], "maxstat curve")
    ax = _new_ax(ax, (6.4, 3.6))
    c = curve.sort_values(x)
    ax.plot(c[x], c[y], color=PALETTE[0], marker="o", markersize=2.5, linewidth=1.2)
    ax.axvline(float(cutoff), color=PALETTE[1], linestyle="--", linewidth=1.1)
    label = f"cut-off {float(cutoff):.2f}" + (f" {unit}" if unit else "")
    ax.annotate(label, xy=(float(cutoff), 0.03), xycoords=("data", "axes fraction"),
                xytext=(4, 0), textcoords="offset points", ha="left", va="bottom",
                color=PALETTE[1], fontsize=9,
                bbox=dict(boxstyle="square,pad=0.15", facecolor="white", edgecolor="none",
                          alpha=0.85))
    if critical is not None:
        ax.axhline(float(critical), color=GREY, linestyle=":", linewidth=1)
        ax.annotate("5% critical value", xy=(1, float(critical)),
                    xycoords=("axes fraction", "data"), xytext=(0, 3),
                    textcoords="offset points", ha="right", va="bottom", color=GREY, fontsize=8)
    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel(xlabel + (f" ({unit})" if unit else "") + (", log scale" if log_x else ""))
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


@_styled
def love_plot(balance, ax=None, *, threshold=0.1, title=None, labels=None):
    """Absolute SMD before and after matching per covariate (:func:`helpers.matching.balance_table`).

    Covariates sorted by their SMD before matching (largest on top); an open circle before,
    a filled one after, joined by a thin line; a dashed line at ``threshold``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require(balance, ["variable", "smd_before", "smd_after"], "balance table")
    b = balance.assign(before=balance["smd_before"].abs(), after=balance["smd_after"].abs())
    b = b.sort_values("before", ascending=True, kind="stable")
    ax = _new_ax(ax, (6.0, 0.32 * len(b) + 1.2))
    labels = labels or {}
    y = np.arange(len(b))
    ax.hlines(y, b["before"], b["after"], color=LIGHT_GREY, linewidth=1, zorder=1)
    ax.plot(b["before"], y, linestyle="none", marker="o", markersize=6, markerfacecolor="white",
            markeredgecolor=PALETTE[1], markeredgewidth=1.3, label="Before matching", zorder=2)
    ax.plot(b["after"], y, linestyle="none", marker="o", markersize=6, color=PALETTE[0],
            label="After matching", zorder=3)
    ax.axvline(threshold, color=GREY, linestyle="--", linewidth=0.9, zorder=0)
    ax.set_yticks(y)
    ax.set_yticklabels([str(labels.get(v, v)) for v in b["variable"]])
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, max(float(np.nanmax(b[["before", "after"]].to_numpy(), initial=0)),
                       threshold) * 1.12)
    ax.set_ylim(-0.6, len(b) - 0.4)
    ax.set_xlabel("Absolute standardized mean difference")
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    return ax


@_styled
def scorecard_plot(summary, ax=None, *, title=None):
    """Verdict counts per study as horizontal stacked bars (:func:`helpers.scorecard.summary`).

    Also accepts the card itself (:func:`helpers.scorecard.compare`, with a ``verdict``
    column). The ``all`` row of a summary is left out. Verdicts in
    :data:`helpers.scorecard.VERDICTS` order and :data:`VERDICT_COLORS`; counts are printed
    inside segments wide enough to hold them.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .scorecard import VERDICTS, summary as make_summary

    if isinstance(summary, pd.DataFrame) and "verdict" in summary.columns:
        summary = make_summary(summary)
    _require(summary, ["study"], "scorecard summary")
    s = summary[summary["study"] != "all"].reset_index(drop=True)
    verdicts = [v for v in VERDICTS if v in s.columns]
    ax = _new_ax(ax, (7.0, 0.55 * len(s) + 1.6))
    y = np.arange(len(s))[::-1]
    left = np.zeros(len(s))
    widest = float(s[verdicts].sum(axis=1).max()) if len(s) else 1.0
    for v in verdicts:
        counts = s[v].astype(float).to_numpy()
        ax.barh(y, counts, left=left, color=VERDICT_COLORS[v], label=v, height=0.6,
                edgecolor="white", linewidth=0.6)
        for yi, l, c in zip(y, left, counts):
            if c >= 0.04 * widest:
                dark = v in ("inside published CI", "miss", "exact")
                ax.text(l + c / 2, yi, f"{int(c)}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
        left += counts
    ax.set_yticks(y)
    ax.set_yticklabels(s["study"])
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_xlabel("Published numbers")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22 if len(s) > 1 else -0.4),
              ncol=4, fontsize=8, handlelength=1.2)
    if title:
        ax.set_title(title)
    return ax


#: Kinds of rows :func:`meta_forest_plot` draws (``kind`` column).
FOREST_KINDS = ("study", "pooled", "prediction")


@_styled
def meta_forest_plot(table, *, width=4.6, fontsize=12.0, xlim=(0.25, 25.0), null=1.0,
                     xlabel="Hazard ratio, IL-6 high vs low (log scale)", color=None):
    """Forest plot of a meta-analysis, readable on a phone and in a page column.

    Each row takes two lines: its label (and ``detail``) on the first, across the full
    width; on the second, the estimate on a log axis (a square and its 95% CI for a
    ``study`` row, a diamond for a ``pooled`` row, a wide light bar for a ``prediction``
    interval) and, in their own text columns, ``HR (95% CI)`` and ``p``. Rows are grouped
    under their ``section`` (bold). A dashed line marks ``null``; a CI that runs past
    ``xlim`` ends in an arrow.

    Sizes: the figure is ``width`` inches wide with text at ``fontsize`` points. At
    ``width=4.6`` and ``fontsize=12`` the text is >= 10 pt when the figure is shrunk to a
    390 px phone column and also when shown at its natural size in the book's column.

    Parameters
    ----------
    table
        :func:`helpers.synthesis.forest_table`: ``section``, ``label``, ``detail``, ``kind``
        (:data:`FOREST_KINDS`), ``hr``, ``lower``, ``upper``, ``p_text``, ``ci_text``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(table, ["section", "label", "detail", "kind", "hr", "lower", "upper", "p_text",
                     "ci_text"], "meta_forest_plot table")
    if len(table) == 0:
        raise ValueError("meta_forest_plot table: no rows to draw")
    bad = sorted(set(table["kind"]) - set(FOREST_KINDS))
    if bad:
        raise ValueError(f"meta_forest_plot table: unknown kind(s) {bad}; expected {FOREST_KINDS}")
    color = color or PALETTE[0]
    row_h, head_h = 1.0, 1.1                     # in row units; one unit = 2 text lines
    unit_in = 2.6 * fontsize / 72                # inches per row unit
    # layout: y decreases downwards; sections get a header row
    items, y = [], 0.0
    for section, part in table.groupby("section", sort=False):
        y -= head_h
        items.append(("section", y, section, None))
        for _, r in part.iterrows():
            y -= row_h
            items.append(("row", y, None, r))
    bottom = y - 0.6
    top = 0.9
    height_in = (top - bottom) * unit_in + 0.75     # + x axis and its label
    fig = plt.figure(figsize=(width, height_in))
    ax_bottom = 0.75 / height_in
    ax = fig.add_axes([0.02, ax_bottom, 0.44, 1 - ax_bottom - 0.005])
    ax.set_ylim(bottom, top)
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ticks = [t for t in _LOG_TICKS if xlim[0] <= t <= xlim[1]]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    ax.tick_params(axis="x", labelsize=fontsize)
    ax.set_xlabel(xlabel, fontsize=fontsize, loc="left")
    ax.set_yticks([])
    for side in ("left", "top", "right"):
        ax.spines[side].set_visible(False)
    ax.axvline(null, color=GREY, linestyle="--", linewidth=0.9, zorder=0)
    fig_x = mtransforms.blended_transform_factory(fig.transFigure, ax.transData)
    x_ci, x_p = 0.49, 0.99
    ax.text(x_ci, top - 0.35, "HR (95% CI)", transform=fig_x, ha="left", va="center",
            fontsize=fontsize, fontweight="bold")
    ax.text(x_p, top - 0.35, "p", transform=fig_x, ha="right", va="center",
            fontsize=fontsize, fontweight="bold")
    lo_x, hi_x = xlim
    for kind, yy, section, r in items:
        if kind == "section":
            ax.text(0.01, yy - 0.05, str(section), transform=fig_x, ha="left", va="center",
                    fontsize=fontsize, fontweight="bold",
                    bbox=dict(boxstyle="square,pad=0.05", facecolor="white", edgecolor="none"))
            continue
        first, second = yy + 0.22, yy - 0.24
        label = str(r["label"]) + (f" · {r['detail']}" if str(r["detail"]) else "")
        ax.text(0.01, first, label, transform=fig_x, ha="left", va="center", fontsize=fontsize,
                color="black" if r["kind"] != "prediction" else GREY, zorder=4,
                bbox=dict(boxstyle="square,pad=0.05", facecolor="white", edgecolor="none"))
        est, lo, hi = float(r["hr"]), float(r["lower"]), float(r["upper"])
        lo_c, hi_c = max(lo, lo_x), min(hi, hi_x)
        if r["kind"] == "study":
            ax.hlines(second, lo_c, hi_c, color=color, linewidth=1.6)
            ax.plot([est], [second], marker="s", markersize=7, color=color, linestyle="none")
        elif r["kind"] == "pooled":
            ax.fill([lo_c, est, hi_c, est], [second, second + 0.2, second, second - 0.2],
                    color=PALETTE[1], zorder=3)
        else:
            ax.hlines(second, lo_c, hi_c, color=PALETTE[1], linewidth=6, alpha=0.35)
        for end, limit, direction in ((lo, lo_x, -1), (hi, hi_x, 1)):
            if end < limit if direction < 0 else end > limit:
                ax.annotate("", xy=(limit, second), xytext=(limit * (1.35 ** -direction), second),
                            arrowprops=dict(arrowstyle="->", color=GREY, lw=1.2))
        ax.text(x_ci, second, str(r["ci_text"]), transform=fig_x, ha="left", va="center",
                fontsize=fontsize, color="black" if r["kind"] != "prediction" else GREY)
        ax.text(x_p, second, str(r["p_text"]), transform=fig_x, ha="right", va="center",
                fontsize=fontsize)
    return fig


def text_overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of visible text artists of ``fig`` whose drawn boxes overlap (tick labels
    included), and texts that run past the figure's edge (paired with ``"<figure edge>"``):
    a check that a figure's labels and numbers never collide or get cut."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text().strip()]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    edge = fig.bbox
    out = [(name, "<figure edge>") for name, b in boxes
           if b.x0 < edge.x0 - 0.5 or b.x1 > edge.x1 + 0.5 or b.y0 < edge.y0 - 0.5 or b.y1 > edge.y1 + 0.5]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i][1], boxes[j][1]
            if a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5:
                out.append((boxes[i][0], boxes[j][0]))
    return out


def _free_corner(curves, x_right: float, width: float = 0.5, height: float = 0.24):
    """The first corner box of a survival panel (axes fractions; y from -0.02 to 1.03) that no
    step curve enters: lower left, upper right, lower right, else lower left. A
    non-increasing curve enters ``[x0, x1] x [y0, y1]`` iff ``[S(x1), S(x0)]`` meets
    ``[y0, y1]``. Returns ``(x, y, ha, va)`` for ``ax.text(..., transform=ax.transAxes)``."""
    def s_at(c, t):
        before = c[c["time"] <= t]
        return float(before["survival"].iloc[-1]) if len(before) else 1.0

    def frac_to_y(f):
        return -0.02 + f * 1.05

    corners = [((0.0, width), (0.0, height), (0.03, 0.04, "left", "bottom")),
               ((1 - width, 1.0), (1 - height, 1.0), (0.98, 0.97, "right", "top")),
               ((1 - width, 1.0), (0.0, height), (0.98, 0.04, "right", "bottom"))]
    for (fx0, fx1), (fy0, fy1), place in corners:
        t0, t1 = fx0 * x_right, fx1 * x_right
        y0, y1 = frac_to_y(fy0), frac_to_y(fy1)
        if all(not (s_at(c, t1) <= y1 and s_at(c, t0) >= y0) for c in curves):
            return place
    return corners[0][2]


@_styled
def km_small_multiples(km, table, panels, *, ncols=2, labels=None, colors=None, xlabel="Months",
                       ylabel="Survival probability", panel_size=(3.5, 2.7), sharex=False):
    """Kaplan-Meier curves of several cohorts, one small panel each, at most ``ncols`` (<= 2)
    side by side; the survival axis is shared, the time axis only with ``sharex=True``
    (cohorts with very different follow-up are unreadable on one time scale). Group sizes
    (low / high) and the HR are printed in the first corner no curve passes through
    (lower left, upper right, lower right; :func:`_free_corner`).

    Parameters
    ----------
    km
        Stacked Kaplan-Meier tables (:data:`helpers.survival.KM_COLUMNS` plus the key columns
        of ``panels``).
    table
        One row per panel key with ``hr``, ``lower``, ``upper``, ``n_low``, ``n_high`` (e.g.
        :func:`helpers.synthesis.every_cutoff`'s table), printed in each panel.
    panels
        A DataFrame of panel keys (columns present in both ``km`` and ``table``) and a
        ``title`` column, in drawing order.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ncols not in (1, 2):
        raise ValueError("km_small_multiples: at most two panels side by side (ncols 1 or 2)")
    _require(panels, ["title"], "km_small_multiples panels")
    keys = [c for c in panels.columns if c != "title"]
    _require(km, keys + ["group", "time", "survival", "n_censor"], "km_small_multiples km")
    _require(table, keys + ["hr", "lower", "upper", "n_low", "n_high"], "km_small_multiples table")
    n = len(panels)
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                             layout="constrained", sharey=True, squeeze=False)
    labels = labels or {}
    t_max = float(km["time"].max()) if len(km) else 1.0
    for i, ax in enumerate(axes.flat):
        _clean(ax)
        if i >= n:
            ax.set_axis_off()
            continue
        p = panels.iloc[i]
        mask = np.ones(len(km), dtype=bool)
        tmask = np.ones(len(table), dtype=bool)
        for k in keys:
            mask &= (km[k] == p[k]).to_numpy()
            tmask &= (table[k] == p[k]).to_numpy()
        part = km[mask]
        ax.set_title(str(p["title"]), fontsize=10)
        if part.empty:
            ax.text(0.5, 0.5, "no split possible", transform=ax.transAxes, ha="center", color=GREY)
        groups = _groups(part) if len(part) else []
        color = _colors(groups, colors)
        for g in groups:
            gg = part[part["group"] == g].sort_values("time", kind="stable")
            ax.step(gg["time"], gg["survival"], where="post", color=color[g],
                    label=str(labels.get(g, g)), linewidth=1.5)
            cens = gg[gg["n_censor"] > 0]
            ax.plot(cens["time"], cens["survival"], linestyle="none", marker="|", markersize=5,
                    color=color[g])
        row = table[tmask]
        note = ""
        if len(row) and pd.notna(row.iloc[0]["n_low"]):
            r = row.iloc[0]
            note = f"n = {int(r['n_low'])} / {int(r['n_high'])}"
            if pd.notna(r["hr"]):
                note += f"\nHR {_fmt(r['hr'])} ({_fmt(r['lower'])}–{_fmt(r['upper'])})"
        right = t_max if sharex or part.empty else float(part["time"].max())
        ax.set_xlim(0, right * 1.02)
        if note:
            curves = [part[part["group"] == g].sort_values("time", kind="stable") for g in groups]
            x, y, ha, va = _free_corner(curves, right * 1.02)
            ax.text(x, y, note, transform=ax.transAxes, ha=ha, va=va, fontsize=9.5)
        ax.set_ylim(-0.02, 1.03)
        if i % ncols == 0:
            ax.set_ylabel(ylabel)
        if i >= n - ncols:
            ax.set_xlabel(xlabel)
    handles, names = [], []
    for ax in axes.flat:
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in names:
                handles.append(h)
                names.append(l)
    if handles:
        fig.legend(handles, names, loc="outside lower center", ncol=len(names), fontsize=10)
    return fig
