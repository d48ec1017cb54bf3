"""Drawing only. Each function takes tidy DataFrames from the computing helpers, an optional
``ax``, and returns the axes (or figure, for multi-panel plots). No statistics here.

Figures for the page
--------------------
The book's text column is about 800 CSS pixels wide (sphinx-book-theme at 1,400 px). A
figure is designed for it:

* **Sizes** (:func:`figure`): ``width="column"`` is :data:`COLUMN_IN` = 7.5 in, shown at
  its natural size (96 px per inch for SVG; at least 75 px/in is what the browser check
  demands); ``width="half"`` is 3.6 in. At most two panels side by side
  (``panels=2``); more panels go in rows (``rows=``). Kaplan-Meier plots with risk
  tables: one per figure (:func:`km_plot`) or two side by side (:func:`km_panels`), each
  with its own risk table in a gridspec row (never an inset that can collide).
* **Text** at 10 pt or more at that size (:data:`STYLE`).
* **Output**: importing this module in a notebook makes the inline backend emit SVG (sharp
  at any zoom; myst-nb writes it as an ``.svg`` image), with fixed ids and no timestamp so
  the same figure gives the same file. :func:`setup`, once per chapter after the imports,
  also applies :data:`STYLE` to the chapter's own figures.
* **Alt text and captions**: set ``mystnb: image: alt:`` in the cell metadata to say what the
  figure shows; otherwise the book uses the caption (``helpers/page_ext.py``), and on study
  pages it appends "Synthetic data." to a caption that does not say so.
* **Click to enlarge**: ``_static/hcc.js`` opens any figure full-screen (offline).
* **Labels**: group, term and variable names go through :func:`helpers.labels.label`, so
  axes, legends and rows read ``IL-6 high``, not ``il6_high``; pass ``labels=`` to override.

One palette for the whole book (:data:`PALETTE`, Okabe & Ito's colour-blind-safe set) and one
journal-like style (:data:`STYLE`: no top/right spines), applied inside each plotting function
(an ``rc_context``) and, by :func:`setup`, to the chapter's own figures.

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

from . import disclosure as _disclosure
from .labels import label as _label
from .results import fmt_p
from .survival import risk_grid as _risk_grid

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
    "same direction": "#E69F00", "miss": "#D55E00", "paper disagrees with itself": "#CC79A7", "not computed": "#999999",
    "info": "#DDDDDD",
}
#: Matplotlib settings used while a plot is drawn (text >= 10 pt at the natural size).
STYLE = {
    "font.size": 10.5, "axes.titlesize": 11, "axes.titleweight": "bold",
    "axes.titlelocation": "left", "axes.labelsize": 10.5, "xtick.labelsize": 10,
    "ytick.labelsize": 10, "legend.fontsize": 10, "legend.title_fontsize": 10,
    "legend.frameon": False, "figure.titlesize": 11,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": False,
    "axes.linewidth": 0.8, "xtick.major.width": 0.8, "ytick.major.width": 0.8,
    "lines.linewidth": 1.8, "figure.dpi": 96, "savefig.dpi": 192,
    "savefig.bbox": "tight", "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "svg.hashsalt": "hcc-book", "svg.fonttype": "path",
}
#: Smallest text size used anywhere in a figure (points at the natural size).
MIN_FONT_PT = 10
#: Width of a figure that fills the text column, and of a half-column figure (inches).
COLUMN_IN = 7.5
HALF_IN = 3.6
#: Height of one row of panels, by number of panels side by side (inches).
PANEL_HEIGHT_IN = {1: 4.2, 2: 3.4}
#: Most times in a number-at-risk table (and x ticks of a KM plot): more and the numbers of
#: a half-column panel run into each other (:func:`risk_times_bounded`).
MAX_RISK_TIMES = 9


def _svg_output() -> None:
    """Inline figures as deterministic SVG (fixed ids, no date), if inside IPython."""
    import os

    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")      # no date in the SVG metadata
    mpl.rcParams["svg.hashsalt"] = "hcc-book"
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover - both come with ipykernel
        return
    if get_ipython() is None:
        return
    try:
        set_matplotlib_formats("svg", metadata={"Date": None})
    except Exception:  # pragma: no cover - a shell without the inline backend
        pass


def setup(svg: bool = True) -> None:
    """Once per chapter: SVG figures with fixed ids and no timestamp, and :data:`STYLE` for
    the chapter's own figures too.

    ``svg=False`` gives PNG at 2x density instead (``retina``: twice the pixels, shown at
    the natural size). Outside IPython only the style is applied.
    """
    mpl.rcParams.update(STYLE)
    if svg:
        _svg_output()
        return
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except Exception:  # pragma: no cover - not inside IPython
        pass


def figure(width="column", panels: int = 1, rows: int = 1, height: float | None = None,
           **subplots_kw):
    """A figure sized for the page: ``(fig, ax)`` for one panel, ``(fig, axes)`` otherwise.

    Parameters
    ----------
    width
        ``"column"`` (:data:`COLUMN_IN`), ``"half"`` (:data:`HALF_IN`) or inches.
    panels
        Panels side by side: 1 or 2 (more would shrink text below 10 pt on the page).
    rows
        Rows of panels.
    height
        Total height in inches (default: :data:`PANEL_HEIGHT_IN` per row).
    subplots_kw
        Passed to :func:`matplotlib.pyplot.subplots` (``sharey=True``, ...).
    """
    if panels not in (1, 2):
        raise ValueError(f"figure: panels={panels}; at most two panels side by side fit the "
                         "800 px text column (use rows= for more)")
    w = {"column": COLUMN_IN, "half": HALF_IN}.get(width, width)
    if not isinstance(w, (int, float)):
        raise ValueError(f"figure: width must be 'column', 'half' or inches, not {width!r}")
    h = height if height is not None else PANEL_HEIGHT_IN[panels] * rows
    subplots_kw.setdefault("layout", "constrained")
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, panels, figsize=(float(w), float(h)), **subplots_kw)
    for a in np.atleast_1d(axes).ravel():
        _clean(a)
    return fig, axes


def wrap_label(text: str, width: int = 22) -> str:
    """A label broken into lines of at most ``width`` characters (for ticks and legends)."""
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width=width, break_long_words=False)) or str(text)


def text_color(facecolor) -> str:
    """Black or white, whichever reads better on ``facecolor`` (WCAG relative luminance)."""
    r, g, b = mpl.colors.to_rgb(facecolor)

    def lin(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "black" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


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


def risk_times_bounded(times, max_times: int = MAX_RISK_TIMES) -> list[float]:
    """At most ``max_times`` of ``times`` (sorted, distinct), for a risk table that stays
    readable: every k-th time from the first, with the smallest k that fits (so the spacing
    stays even and time 0 is kept). ``times`` that already fit are returned as given."""
    if max_times < 2:
        raise ValueError("risk_times_bounded: max_times must be at least 2")
    given = list(times)
    times = sorted(dict.fromkeys(float(t) for t in given))
    if len(times) <= max_times:
        return given
    step = -(-(len(times) - 1) // (max_times - 1))      # ceil((n - 1) / (max - 1))
    return times[::step]


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
            labels=None, order=None, ci=False, annotate_loc="legend", xmax=None,
            median_lines=False, risk_ax=None, legend_wrap=None):
    """Kaplan-Meier curves, as survminer's ``ggsurvplot`` draws them.

    The legend sits in a box above the curves, where no curve can pass: one entry per group
    (with ``n`` and the median (95% CI) when ``summary`` is given), then the HR (95% CI) and
    p, then the log-rank p. The title, if any, heads that box.

    Parameters
    ----------
    km
        :func:`helpers.survival.km_table` (:data:`~helpers.survival.KM_COLUMNS`): step
        curves, with a tick at every time with censorings.
    ax
        Axes to draw on; ``None`` makes a column-wide figure (:data:`COLUMN_IN`), with the
        risk table in its own row when ``risk_times`` is given.
    summary
        :func:`helpers.survival.km_summary`: each legend entry gets ``n`` and the median
        (95% CI); ``NR`` (not reached, as in the glossary) where a median or limit is missing.
    hr
        A Cox table row (``hr``, ``lower``, ``upper``, optional ``p``): a
        :class:`~helpers.survival.CoxResult` or a DataFrame (the first row is used), a
        Series or a dict. Printed as ``HR 2.93 (95% CI 1.50–5.71), p = 0.002``.
    logrank
        :func:`helpers.survival.logrank` (its ``p``) or a float: printed as ``Log-rank p``.
    risk_times
        Times for the number-at-risk table under the axis (:func:`number_at_risk`); they
        also become the x ticks. More than :data:`MAX_RISK_TIMES` are thinned to every
        k-th time (:func:`risk_times_bounded`), so the numbers never run together.
    labels
        Display names per group (dict), e.g. ``{"il6_high": "IL-6 ≥ 18.49 pg/ml"}``; other
        groups get :func:`helpers.labels.label`.
    order, colors
        Group order (default: order in ``km``) and colours (dict or list; default
        :data:`PALETTE`).
    ci
        Shade the pointwise 95% CI (needs ``lower``, ``upper``), as ``conf.int = TRUE``.
    median_lines
        Dotted lines at S = 0.5 down to each reached median, as ``surv.median.line = "hv"``.
    annotate_loc
        Kept for old calls and ignored: HR and p are always in the legend box.
    xmax
        Right end of the time axis (curves beyond it are cut off, as survminer's ``xlim``);
        default: the last time or the last ``risk_times``, whichever is later.
    risk_ax
        Axes for the number-at-risk table when ``ax`` is given (default: an inset under
        ``ax``); :func:`km_panels` passes a gridspec row, so nothing overlaps.
    legend_wrap
        Break legend entries after this many characters (narrow panels).

    Returns
    -------
    matplotlib.axes.Axes
        The curve axes; the risk table is a second axes of the same figure.
    """
    km = _km_frame(km)
    if risk_times is not None:
        risk_times = risk_times_bounded(risk_times)
    # disclosure control (helpers.disclosure): a group under the threshold is not drawn
    km, withheld = _disclosure.protect_km(km)
    order = [g for g in order if g not in withheld] if order is not None else None
    groups = _groups(km, order)
    color = _colors(groups, colors)
    name_of = {g: _label(g, labels) for g in groups}
    risk_times = None if risk_times is None else _risk_grid(risk_times)  # bounded by ticks, not by time values
    summ = None
    if summary is not None:
        _require(summary, ["group", "n", "median", "median_lower", "median_upper"], "km_summary")
        summ = summary.assign(group=summary["group"].astype(object).where(summary["group"].notna(), "all")).set_index("group")
    given_risk_ax = risk_ax
    risk_ax = None
    n_risk_rows = len(groups)
    if ax is None:
        curves_h = 3.4
        if risk_times is not None:
            risk_h = 0.3 * n_risk_rows + 0.45
            fig = plt.figure(figsize=(COLUMN_IN, curves_h + risk_h + 0.35 * (len(groups) + 2)),
                             layout="constrained")
            grid = fig.add_gridspec(2, 1, height_ratios=[curves_h, risk_h])
            ax = fig.add_subplot(grid[0])
            risk_ax = fig.add_subplot(grid[1], sharex=ax)
        else:
            _, ax = plt.subplots(figsize=(COLUMN_IN, curves_h + 0.35 * (len(groups) + 2)),
                                 layout="constrained")
    elif risk_times is not None and given_risk_ax is not None:
        risk_ax = given_risk_ax
    elif risk_times is not None:
        height = 0.07 * n_risk_rows + 0.05
        risk_ax = ax.inset_axes([0, -0.2 - height, 1, height], sharex=ax)
    _clean(ax)

    t_max = float(km["time"].max()) if len(km) else 1.0
    medians = []
    curves = _disclosure.km_tails(km)  # disclosure control: steps among < k at risk not drawn
    for group in groups:
        g = curves[curves["group"] == group].sort_values("time", kind="stable")
        name = name_of[group]
        if summ is not None and group in summ.index:
            s = summ.loc[group]
            # disclosure control: a time in the tail not drawn (fewer than k at risk) is one
            # patient's event time: withheld like the steps there
            end = float(g["time"].max()) if len(g) and len(curves) < len(km) else math.inf
            nr = lambda x: ("NR" if _fmt(x, 1) == "NA" else
                            "withheld" if float(x) > end + 1e-9 else _fmt(x, 1))  # not reached
            name += (f" (n = {_disclosure.count_text(s['n'], 'legend')}): {nr(s['median'])} "
                     f"({nr(s['median_lower'])}–{nr(s['median_upper'])})")
            medians.append((group, s["median"]))
        ax.step(g["time"], g["survival"], where="post", color=color[group], label=name)
        if ci and {"lower", "upper"} <= set(g.columns):
            ax.fill_between(g["time"], g["lower"].fillna(g["survival"]),
                            g["upper"].fillna(g["survival"]), step="post",
                            color=color[group], alpha=0.12, linewidth=0)
        cens = g[g["n_censor"] > 0]
        ax.plot(cens["time"], cens["survival"], linestyle="none", marker="|",
                markersize=7, markeredgewidth=1.2, color=color[group], label="_nolegend_")
        if median_lines and summ is None:
            below = g[g["survival"] <= 0.5]
            medians.append((group, float(below["time"].iloc[0]) if len(below) else float("nan")))
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
    if median_lines:
        reached = [(g, m) for g, m in medians if m is not None and np.isfinite(float(m))]
        if reached:
            ax.hlines(0.5, 0, max(float(m) for _, m in reached), color=GREY, linestyle=":",
                      linewidth=1, zorder=0.5)
            for g, m in reached:
                ax.vlines(float(m), 0, 0.5, color=color[g], linestyle=":", linewidth=1, zorder=0.5)

    notes = []
    if withheld and (hr is not None or logrank is not None):
        # disclosure control: a comparison with a withheld group would describe that group
        hr = logrank = None
        notes.append("HR and log-rank p withheld with the group")
    if hr is not None:
        h = _one_row(getattr(hr, "table", hr), "hr", ["hr", "lower", "upper"])
        notes.append(f"HR {_fmt(h['hr'])} (95% CI {_fmt(h['lower'])}–{_fmt(h['upper'])})"
                     + (f", {fmt_p(h['p'])}" if "p" in h and pd.notna(h["p"]) else ""))
    if logrank is not None:
        p = logrank if isinstance(logrank, (int, float)) else _one_row(logrank, "logrank", ["p"])["p"]
        notes.append("Log-rank " + fmt_p(float(p)))
    if withheld:  # disclosure control
        notes.append(f"Not drawn: {', '.join(str(_label(g, labels)) for g in withheld)} "
                     f"(fewer than {_disclosure.policy().k} patients)")
    if len(curves) < len(km):
        notes.append(f"Curves end where fewer than {_disclosure.policy().k} are at risk")
    handles, texts = ax.get_legend_handles_labels()
    if len(groups) == 1 and summ is None:
        handles, texts = [], []
    blank = mpl.lines.Line2D([], [], linestyle="none", marker="none")
    handles += [blank] * len(notes)
    texts += notes
    if legend_wrap:
        texts = [wrap_label(t, legend_wrap) for t in texts]
    if handles:
        head = title
        if summ is not None:
            sub = f"Median, {xlabel.lower()} (95% CI)"
            head = f"{title}: {sub}" if title else sub
        if legend_wrap and head:
            head = wrap_label(head, legend_wrap + 4)
        leg = ax.legend(handles, texts, loc="lower left", bbox_to_anchor=(0, 1.01),
                        borderaxespad=0, title=head, alignment="left", handlelength=1.6,
                        frameon=True, edgecolor=LIGHT_GREY, fancybox=False)
        leg.get_title().set_fontweight("bold" if title else "normal")
    elif title:
        ax.set_title(title)

    if risk_ax is not None:
        _risk_table(risk_ax, number_at_risk(km, risk_times), groups, color, name_of)
    return ax


def km_panels(panels: dict, risk_times=None, *, ncols: int | None = None, height=None,
              **common):
    """Kaplan-Meier plots side by side (at most two per row), each with its own risk table.

    Parameters
    ----------
    panels
        ``{title: {"km": ..., "summary": ..., "hr": ..., "logrank": ...}}`` (the keyword
        arguments of :func:`km_plot` per panel), in reading order.
    risk_times
        Times of the risk tables (and x ticks), shared by all panels.
    ncols
        Panels per row: 1 or 2 (default: 2 if there are two or more panels).
    common
        Further :func:`km_plot` arguments shared by all panels (``labels``, ``order``,
        ``xlabel``, ``median_lines``, ...).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not panels:
        raise ValueError("km_panels: no panels")
    ncols = ncols or (2 if len(panels) > 1 else 1)
    if ncols not in (1, 2):
        raise ValueError("km_panels: at most two panels side by side fit the text column")
    nrows = -(-len(panels) // ncols)
    n_groups = max(len(dict.fromkeys(_km_frame(p["km"])["group"])) for p in panels.values())
    curves_h, risk_h = 3.0, (0.3 * n_groups + 0.45 if risk_times is not None else 0.0)
    legend_h = 0.22 * (2 * n_groups + 3) if ncols == 2 else 0.3 * (n_groups + 3)
    row_h = legend_h + curves_h + risk_h
    with plt.rc_context(STYLE):
        fig = plt.figure(figsize=(COLUMN_IN, height or row_h * nrows), layout="constrained")
    ratios = []
    for _ in range(nrows):
        ratios += [curves_h] + ([risk_h] if risk_times is not None else [])
    grid = fig.add_gridspec(len(ratios), ncols, height_ratios=ratios)
    step = 2 if risk_times is not None else 1
    for i, (title, kw) in enumerate(panels.items()):
        r, c = divmod(i, ncols)
        ax = fig.add_subplot(grid[r * step, c])
        rax = fig.add_subplot(grid[r * step + 1, c], sharex=ax) if risk_times is not None else None
        options = {**common, **kw}
        if ncols == 2:
            options.setdefault("legend_wrap", 28)
        km_plot(ax=ax, risk_times=risk_times, risk_ax=rax, title=title, **options)
    return fig


def _risk_table(rax, risk: pd.DataFrame, groups, color, names) -> None:
    """Numbers at risk as text rows under the curves (one row per group, top = first)."""
    for spine in rax.spines.values():
        spine.set_visible(False)
    rax.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    rax.tick_params(axis="y", which="both", left=False, pad=10)
    rows = {g: len(groups) - 1 - i for i, g in enumerate(groups)}
    rax.set_ylim(-0.6, len(groups) - 0.4)
    rax.set_yticks([rows[g] for g in groups])
    rax.set_yticklabels([str(names.get(g, g)) for g in groups])
    for tick, g in zip(rax.get_yticklabels(), groups):
        tick.set_color(color[g])
    for _, r in risk.iterrows():
        rax.text(r["time"], rows[r["group"]], _disclosure.count_text(r["n_risk"], "number at risk"), ha="center",
                 va="center", fontsize=MIN_FONT_PT, color=color[r["group"]], clip_on=False)
    rax.set_title("Number at risk", fontsize=MIN_FONT_PT, fontweight="normal", loc="left", pad=2)


_LOG_TICKS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500]


@_styled
def forest_plot(table, ax=None, *, estimate="hr", label="term", null=1.0, log=True, title=None,
                xlabel=None, color=None, labels=None, p="p"):
    """Forest plot of a Cox or logistic table (estimate, ``lower``, ``upper``, ``p``).

    Four columns that cannot overlap: the row label (y tick labels, from
    :func:`helpers.labels.label` unless ``labels`` names it), the plot (a square at the
    estimate, a line over the 95% CI, a dashed line at ``null``), the estimate (95% CI) and
    the p-value (:func:`helpers.results.fmt_p`: ``<0.001``, ``0.014``). The two text columns
    are axes of their own, as wide as their longest text. A row whose estimate is missing (a
    reference level) is labelled "reference". Log scale by default (ratios); ``log=False`` for
    differences (then use ``null=0``). CI lines beyond the axis limits are clipped at the limit.

    Returns
    -------
    matplotlib.axes.Axes
        The plot axes; the text columns are further axes of the same figure.
    """
    table = getattr(table, "table", table)          # a CoxResult gives its table
    _require(table, [label, estimate, "lower", "upper"], "forest_plot table")
    n = len(table)
    if n == 0:
        raise ValueError("forest_plot table: no rows to draw")
    name = {"hr": "HR", "or": "OR"}.get(estimate, estimate)
    has_p = p in table.columns
    est_texts, p_texts = [], []
    for _, row in table.iterrows():
        if not np.isfinite(float(row[estimate])):
            est_texts.append("reference")
            p_texts.append("")
            continue
        est_texts.append(f"{_fmt(row[estimate])} ({_fmt(row['lower'])}–{_fmt(row['upper'])})")
        p_texts.append(fmt_p(float(row[p]), prefix=False) if has_p and pd.notna(row[p]) else "")
    char_in = 0.085                                   # width of a 10 pt character, inches
    est_in = char_in * max(len(f"{name} (95% CI)"), *(len(t) for t in est_texts)) + 0.1
    p_in = char_in * max(len("p"), *(len(t) for t in p_texts)) + 0.1 if has_p else 0.0
    if ax is None:
        fig = plt.figure(figsize=(COLUMN_IN, 0.34 * n + 1.3), layout="constrained")
        plot_in = max(COLUMN_IN - est_in - p_in - 2.4, 1.6)
        ratios = [plot_in, est_in] + ([p_in] if has_p else [])
        grid = fig.add_gridspec(1, len(ratios), width_ratios=ratios, wspace=0.02)
        ax = fig.add_subplot(grid[0])
        est_ax = fig.add_subplot(grid[1], sharey=ax)
        p_ax = fig.add_subplot(grid[2], sharey=ax) if has_p else None
    else:
        est_ax = p_ax = None                          # text as right-hand tick labels (below)
    _clean(ax)
    color = color or PALETTE[0]
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
        if len(ticks) > 6:                            # keep tick labels apart
            ticks = sorted(set(ticks[::2]) | ({null} if null in ticks else set()))
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
    ax.set_yticklabels([wrap_label(_label(t, labels), 30) for t in table[label]])
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlabel(xlabel or f"{name} (95% CI, {'log scale' if log else 'linear scale'})")

    if est_ax is None:
        # On a caller's axes: the estimate and p columns are tick labels of a twin axis in a
        # monospaced font, so the layout engine reserves their width and columns line up.
        width = max(len(t) for t in est_texts + [f"{name} (95% CI)"])
        p_width = max([len(t) for t in p_texts] + [1])
        right_ax = ax.twinx()
        right_ax.set_ylim(ax.get_ylim())
        right_ax.set_yticks(list(y) + [n - 0.45])
        right_ax.set_yticklabels(
            [f"{e:<{width}}  {q:>{p_width}}" if has_p else e for e, q in zip(est_texts, p_texts)]
            + [f"{name + ' (95% CI)':<{width}}  {'p':>{p_width}}" if has_p else f"{name} (95% CI)"],
            family="monospace")
        right_ax.tick_params(axis="y", length=0)
        for spine in right_ax.spines.values():
            spine.set_visible(False)
        right_ax.get_yticklabels()[-1].set_fontweight("bold")
    for text_ax, header, texts, ha, x in ((est_ax, f"{name} (95% CI)", est_texts, "left", 0.0),
                                          (p_ax, "p", p_texts, "right", 1.0)):
        if text_ax is None:
            continue
        text_ax.set_axis_off()
        text_ax.set_xlim(0, 1)
        text_ax.text(x, n - 0.45, header, ha=ha, va="bottom", fontweight="bold")
        for yi, t in zip(y, texts):
            if t:
                text_ax.text(x, yi, t, ha=ha, va="center",
                             color=GREY if t == "reference" else "black")
    if title:
        ax.set_title(title, pad=18)
    return ax


@_styled
def response_bars(table, ax=None, *, group="group", responders="responders", n="n", title=None,
                  ylabel="Response rate (%)", colors=None, labels=None):
    """Bars of response rate per group with ``responders of n (rate)`` printed on each bar, as
    the prose writes it (:func:`helpers.prose.n_of`).

    The rate is ``100 * responders / n`` (a group with ``n = 0`` gets no bar and the label
    ``0 of 0 (NA)``). Bars in table order, coloured per group (:data:`PALETTE`).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .prose import n_of

    _require(table, [group, responders, n], "response_bars table")
    ax = _new_ax(ax, (max(3.2, 1.1 * len(table) + 1.5), 3.6))
    groups = list(table[group])
    color = _colors(groups, colors)
    labels = labels or {}
    k = table[responders].astype(float).to_numpy()
    total = table[n].astype(float).to_numpy()
    rate = np.where(total > 0, 100 * k / np.where(total > 0, total, 1), 0.0)
    x = np.arange(len(groups))
    # disclosure control (helpers.disclosure): a bar from a small count is not drawn
    small = np.array([_disclosure.hides(ki) or _disclosure.hides(ni - ki) or _disclosure.hides(ni)
                      for ki, ni in zip(k, total)], dtype=bool)
    rate = np.where(small, 0.0, rate)
    ax.bar(x, rate, width=0.62, color=[color[g] for g in groups])
    for xi, r, ki, ni, hide in zip(x, rate, k, total, small):
        text = (n_of(ki, ni).replace(" (", "\n(", 1) if not hide else
                f"n = {_disclosure.count_text(ni, 'response bars')}\nnot shown")
        ax.text(xi, r + 1.5, text, ha="center", va="bottom", fontsize=MIN_FONT_PT)
    ax.set_xticks(x)
    ax.set_xticklabels([_label(g, labels) for g in groups])
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
    ax = _new_ax(ax, (COLUMN_IN, 3.6))
    c = curve.sort_values(x)
    ax.plot(c[x], c[y], color=PALETTE[0], marker="o", markersize=2.5, linewidth=1.2)
    ax.axvline(float(cutoff), color=PALETTE[1], linestyle="--", linewidth=1.1)
    label = f"cut-off {float(cutoff):.2f}" + (f" {unit}" if unit else "")
    ax.annotate(label, xy=(float(cutoff), 0.03), xycoords=("data", "axes fraction"),
                xytext=(4, 0), textcoords="offset points", ha="left", va="bottom",
                color=PALETTE[1], fontsize=MIN_FONT_PT,
                bbox=dict(boxstyle="square,pad=0.15", facecolor="white", edgecolor="none",
                          alpha=0.85))
    if critical is not None:
        ax.axhline(float(critical), color=GREY, linestyle=":", linewidth=1)
        ax.annotate("5% critical value", xy=(1, float(critical)),
                    xycoords=("axes fraction", "data"), xytext=(0, 3),
                    textcoords="offset points", ha="right", va="bottom", color=GREY, fontsize=MIN_FONT_PT)
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
    ax = _new_ax(ax, (COLUMN_IN * 0.85, 0.34 * len(b) + 1.3))
    labels = labels or {}
    y = np.arange(len(b))
    ax.hlines(y, b["before"], b["after"], color=LIGHT_GREY, linewidth=1, zorder=1)
    ax.plot(b["before"], y, linestyle="none", marker="o", markersize=6, markerfacecolor="white",
            markeredgecolor=PALETTE[1], markeredgewidth=1.3, label="Before matching", zorder=2)
    ax.plot(b["after"], y, linestyle="none", marker="o", markersize=6, color=PALETTE[0],
            label="After matching", zorder=3)
    ax.axvline(threshold, color=GREY, linestyle="--", linewidth=0.9, zorder=0)
    ax.set_yticks(y)
    ax.set_yticklabels([_label(v, labels) for v in b["variable"]])
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
    ax = _new_ax(ax, (COLUMN_IN, 0.55 * len(s) + 1.9))
    y = np.arange(len(s))[::-1]
    left = np.zeros(len(s))
    widest = float(s[verdicts].sum(axis=1).max()) if len(s) else 1.0
    for v in verdicts:
        counts = s[v].astype(float).to_numpy()
        ax.barh(y, counts, left=left, color=VERDICT_COLORS[v], label=v, height=0.6,
                edgecolor="white", linewidth=0.6)
        for yi, l, c in zip(y, left, counts):
            if c >= 0.04 * widest:
                ax.text(l + c / 2, yi, f"{int(c)}", ha="center", va="center",
                        fontsize=MIN_FONT_PT, color=text_color(VERDICT_COLORS[v]))
        left += counts
    ax.set_yticks(y)
    ax.set_yticklabels(s["study"])
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_xlabel("Published numbers")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22 if len(s) > 1 else -0.4),
              ncol=3, fontsize=MIN_FONT_PT, handlelength=1.2)
    if title:
        ax.set_title(title)
    return ax


@_styled
def heatmap(table, ax=None, *, cmap="RdBu_r", vmin=None, vmax=None, center=0.0, fmt="{:.2f}",
            labels=None, colorbar_label=None, title=None, annotate=True):
    """A labelled heatmap of a numeric DataFrame (rows x columns), values printed in the cells.

    The text colour of each cell is chosen from the cell's colour (:func:`text_color`), so a
    number never sits black on dark red. Row and column names go through
    :func:`helpers.labels.label`. ``vmin``/``vmax`` default to a range symmetric about
    ``center`` (a diverging map).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"heatmap: expected a pandas DataFrame, got {type(table).__name__}")
    values = table.to_numpy(dtype=float)
    n_rows, n_cols = values.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(min(COLUMN_IN, 1.6 + 0.75 * n_cols), 0.9 + 0.42 * n_rows),
                             layout="constrained")
    if vmin is None or vmax is None:
        span = float(np.nanmax(np.abs(values - center))) if np.isfinite(values).any() else 1.0
        vmin = center - span if vmin is None else vmin
        vmax = center + span if vmax is None else vmax
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(n_cols))
    ax.set_xticklabels([wrap_label(_label(c, labels), 18) for c in table.columns],
                       rotation=30 if n_cols > 2 else 0, ha="right" if n_cols > 2 else "center")
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels([wrap_label(_label(r, labels), 24) for r in table.index])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if annotate:
        for i in range(n_rows):
            for j in range(n_cols):
                v = values[i, j]
                if not np.isfinite(v):
                    continue
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=MIN_FONT_PT,
                        color=text_color(im.cmap(im.norm(v))))
    bar = ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if colorbar_label:
        bar.set_label(colorbar_label)
    if title:
        ax.set_title(title)
    return ax


@_styled
def optimism_cutoff_plot(curve, bootstrap, cutoff, axes=None, *, log_x=False, unit="", title=None,
                         ylabel="Standardized log-rank statistic"):
    """The cut-point optimism figure: the selection statistic at every candidate cut (top)
    and, on the same x axis, how often each cut was chosen in the bootstrap samples
    (bottom).

    Parameters
    ----------
    curve
        :attr:`helpers.optimism.ReportCard.curve` (``cut``, ``statistic``).
    bootstrap
        :attr:`helpers.optimism.ReportCard.bootstrap` (``cutoff`` per bootstrap sample).
    cutoff
        The apparent cut-off (dashed line in both panels).
    axes
        Two axes (top, bottom) or None for a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(curve, ["cut", "statistic"], "optimism curve")
    _require(bootstrap, ["cutoff"], "bootstrap cut-offs")
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(6.4, 4.8), sharex=True, layout="constrained",
                                 gridspec_kw={"height_ratios": [3, 2]})
    top, bottom = axes
    fig = top.figure
    maxstat_plot(curve, cutoff, ax=top, log_x=log_x, unit=unit, xlabel="", ylabel=ylabel, title=title)
    top.set_xlabel("")
    cuts = bootstrap["cutoff"].dropna().to_numpy(dtype=float)
    _clean(bottom)
    if len(cuts):
        lo, hi = float(curve["cut"].min()), float(curve["cut"].max())
        lo, hi = min(lo, cuts.min()), max(hi, cuts.max())
        if log_x and lo > 0:
            bins = np.geomspace(lo, hi * 1.0001, 31)
        else:
            bins = np.linspace(lo, hi + 1e-9 * max(1.0, abs(hi)), 31)
        bottom.hist(cuts, bins=bins, color=LIGHT_GREY, edgecolor="white")
    bottom.axvline(float(cutoff), color=PALETTE[1], linestyle="--", linewidth=1.1)
    if log_x:
        bottom.set_xscale("log")
        bottom.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    bottom.set_ylabel("Bootstrap samples")
    bottom.set_xlabel("Cut-off" + (f" ({unit})" if unit else "") + (", log scale" if log_x else ""))
    return fig


@_styled
def null_hr_plot(null, reported_hr, ax=None, *, column="hr_oriented", title=None,
                 xlabel="Hazard ratio found with permuted outcomes", reported_label="reported HR"):
    """The distribution of the HRs a selection procedure reports when the marker carries no
    information (:attr:`helpers.optimism.ReportCard.null`), against the reported HR
    (dashed) and HR = 1 (grey). Log x axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require(null, [column], "null HRs")
    ax = _new_ax(ax, (6.4, 3.4))
    hr = null[column].to_numpy(dtype=float)
    hr = hr[np.isfinite(hr) & (hr > 0)]
    rep = float(reported_hr)
    if len(hr):
        lo = min(hr.min(), rep, 1.0) / 1.05
        hi = max(hr.max(), rep, 1.0) * 1.05
        ax.hist(hr, bins=np.geomspace(lo, hi, 31), color=LIGHT_GREY, edgecolor="white")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.axvline(1.0, color=GREY, linewidth=1)
    if math.isfinite(rep):
        ax.axvline(rep, color=PALETTE[1], linestyle="--", linewidth=1.2)
        ax.annotate(f"{reported_label} {rep:.2f}", xy=(rep, 0.97), xycoords=("data", "axes fraction"),
                    xytext=(4, 0), textcoords="offset points", ha="left", va="top", color=PALETTE[1],
                    fontsize=9)
    ax.set_xlabel(xlabel + ", log scale")
    ax.set_ylabel("Replicates")
    if title:
        ax.set_title(title)
    return ax


@_styled
def rejection_plot(rates, ax=None, *, alpha=0.05, labels=None, title=None, xlabel="Share of cohorts with p < 0.05"):
    """Rejection rate per procedure (:func:`helpers.optimism.null_rejection_rates`) with its
    95% CI, and the nominal level ``alpha`` (dashed).

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require(rates, ["procedure", "rate", "lower", "upper"], "rejection rates")
    ax = _new_ax(ax, (6.4, 0.4 * len(rates) + 1.0))
    r = rates.reset_index(drop=True)
    y = np.arange(len(r))[::-1]
    names = [labels.get(p, p) if labels else p for p in r["procedure"]]
    ax.errorbar(r["rate"], y, xerr=[r["rate"] - r["lower"], r["upper"] - r["rate"]], fmt="o",
                color=PALETTE[0], ecolor=GREY, elinewidth=1, capsize=2, markersize=4)
    ax.axvline(alpha, color=PALETTE[1], linestyle="--", linewidth=1.1)
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    ax.set_xlim(0, max(1.05 * float(r["upper"].max()), 2 * alpha))
    ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(xlabel)
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


# Importing this module in a notebook makes its inline figures SVG (sharp at any zoom, never
# a 72-dpi PNG), whether or not the chapter calls setup(); the style stays the chapter's.
_svg_output()
