"""The PBIS chapters' figures, drawn for the book's 800 px text column.

Each function takes what :mod:`helpers.studies.pbis` computed (tidy DataFrames) and draws it
with :mod:`helpers.plots` (:data:`helpers.plots.STYLE`: text >= 10 pt at the natural size);
nothing here computes a statistic. One Kaplan-Meier plot per figure (with its risk table),
forest plots with separate label / estimate (95% CI) / p columns, at most two panels side by
side.
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers import plots
from helpers.studies import pbis as study

#: Times of the number-at-risk rows (months) and x ticks of the survival plots.
RISK_TIMES = [0, 6, 12, 18, 24, 30, 36, 42, 48]


def km_figure(patients: pd.DataFrame, comparison: pd.DataFrame, endpoint: str, title: str | None = None):
    """One column-wide Kaplan-Meier plot of ``endpoint`` (``"os"``/``"pfs"``) by PBIS group,
    with its risk table, the legend (n, median (95% CI)) and the HR (95% CI) and log-rank p in
    the legend box. ``comparison``: :func:`helpers.studies.pbis.outcome_comparison`."""
    t = comparison
    summary = t.assign(group=t["label"])[["group", "n", "events", "median", "median_lower", "median_upper"]]
    last = float(pd.to_numeric(patients[study.ENDPOINTS[endpoint][0]], errors="coerce").max())
    times = [x for x in RISK_TIMES if x <= max(12.0, last)]
    hr = t.iloc[0] if np.isfinite(float(t["hr"].iloc[0])) else None   # not estimable: see the table's note
    ax = plots.km_plot(study.km_curves(patients, endpoint), summary=summary, hr=hr,
                       logrank=float(t["p_logrank"].iloc[0]), risk_times=times,
                       title=title or study.OUTCOME_LABELS[endpoint], order=["PBISlo", "PBIShi"],
                       ylabel=f"{study.OUTCOME_LABELS[endpoint]} probability")
    return ax


def forest_figure(table: pd.DataFrame, *, estimate: str = "estimate", label: str = "term", labels=None,
                  title: str | None = None, xlabel: str | None = None, ratio: str = "HR"):
    """A column-wide forest plot (label | plot | ratio (95% CI) | p); ``ratio`` (``"HR"`` or
    ``"OR"``) names the estimate column's header."""
    key = ratio.lower()
    if estimate != key:
        table = table.drop(columns=[key], errors="ignore").rename(columns={estimate: key})
    ax = plots.forest_plot(table, estimate=key, label=label, labels=labels, xlabel=xlabel)
    if title:
        ax.figure.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=11)
    return ax


def plain_log_ticks(ax, axis: str = "both") -> None:
    """Log-scale ticks labelled as plain numbers (``0.1``, ``1``, ``10``) with no labelled minor
    ticks, so tick labels never run into each other."""
    for name in ("x", "y") if axis == "both" else (axis,):
        a = getattr(ax, f"{name}axis")
        if a.get_scale() != "log":
            continue
        lo, hi = sorted(getattr(ax, f"get_{name}lim")())
        ticks = [m * 10.0 ** k for k in range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1)
                 for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi]
        if len(ticks) > 7:                              # keep labels apart on long ranges
            ticks = [t for t in ticks if f"{t:g}".lstrip("0.").startswith("1")] or ticks
        getattr(ax, f"set_{name}ticks")(ticks, [f"{t:g}" for t in ticks])
        a.set_minor_formatter(mpl.ticker.NullFormatter())
        getattr(ax, f"set_{name}lim")(lo, hi)


def neglog10_p(p, chisq) -> np.ndarray:
    """−log10 of a 1-df chi-square p-value; where ``p`` is 0 in double precision (below about
    1e-308: a large cohort) from the log of the tail instead, so the curve is drawn there
    rather than dropped as infinite. Where ``p > 0``: exactly ``-np.log10(p)``."""
    from scipy import stats

    p, chisq = np.asarray(p, dtype=float), np.asarray(chisq, dtype=float)
    with np.errstate(divide="ignore"):
        out = -np.log10(p)
    zero = p == 0
    if zero.any():
        # 1 df: P(chi2 > x) = 2 P(Z > sqrt(x)); norm.logsf keeps its far tail (chi2.logsf does not)
        out[zero] = -(np.log(2.0) + stats.norm.logsf(np.sqrt(chisq[zero]))) / np.log(10.0)
    return out


def cutoff_search_grid(search: pd.DataFrame, curves: list, used: dict):
    """The minimum-p search of each PBIS marker (−log10 log-rank p at every candidate cut),
    two panels per row: dashed line the cut with the smallest p, dotted line the cut-off used."""
    rows = int(np.ceil(len(curves) / 2))
    fig, axes = plots.figure(panels=2, rows=rows, height=3.3 * rows)
    for k, ax in enumerate(np.ravel(axes)):
        if k >= len(curves):
            ax.set_visible(False)
            continue
        curve = curves[k]
        marker = curve["marker"].iloc[0]
        c = curve.assign(neglog10p=neglog10_p(curve["p"], curve["chisq"]))
        log_x = bool((c["cut"] > 0).all())
        plots.maxstat_plot(c, search.set_index("marker").loc[marker, "cutoff_minp"], ax=ax, y="neglog10p",
                           ylabel="−log10 log-rank p", xlabel=study.marker_label(marker), log_x=log_x)
        ax.axvline(used[marker], color="0.4", linestyle=":", linewidth=1)
        plain_log_ticks(ax, "x")
    return fig


def cytokine_boxes(ab: pd.DataFrame, cytokines=None):
    """Fig S3: each cytokine (log scale) by PBIS level 0-4, two panels per row."""
    cyts = [c for c in (cytokines or study.CYTOKINES) if c in ab.columns]
    rows = int(np.ceil(len(cyts) / 2))
    fig, axes = plots.figure(panels=2, rows=rows, height=2.3 * rows + 0.4)
    axes = np.atleast_2d(axes)
    for k, ax in enumerate(axes.ravel()):
        if k >= len(cyts):
            ax.set_visible(False)
            continue
        c = cyts[k]
        d = ab[[c, "pbis_points"]].apply(pd.to_numeric, errors="coerce").dropna()
        levels = sorted(int(v) for v in d["pbis_points"].unique())
        ax.boxplot([d.loc[d["pbis_points"] == v, c] + 0.01 for v in levels], positions=levels, widths=0.6,
                   showfliers=False, medianprops={"color": plots.PALETTE[1]})
        ax.set_yscale("log")
        plain_log_ticks(ax, "y")
        ax.set_xticks(levels, [str(v) for v in levels])
        ax.set_title(f"{study.CYTOKINE_LABELS[c]} (n = {len(d)})")
        if k % 2 == 0:
            ax.set_ylabel("pg/mL (log scale)")
        if k >= len(cyts) - 2:
            ax.set_xlabel("PBIS (points)")
    return fig


def correlation_heatmap(corr: pd.DataFrame):
    """Figs S1/S2: Spearman r of each cytokine (rows) with each characteristic (columns),
    ``*`` where p < 0.05; text colour chosen per cell (:func:`helpers.plots.heatmap`)."""
    mat = corr.pivot(index="cytokine", columns="variable", values="r").reindex(
        [c for c in study.CYTOKINES if c in set(corr["cytokine"])])
    pmat = corr.pivot(index="cytokine", columns="variable", values="p").reindex(mat.index)[mat.columns]
    fmt = mat.map(lambda v: f"{v:.2f}")
    text = fmt.where(pmat >= 0.05, fmt + "*")
    rows = {c: study.CYTOKINE_LABELS[c] for c in mat.index}
    fig, ax = plt.subplots(figsize=(plots.COLUMN_IN, 4.8), layout="constrained")
    plots.heatmap(mat.rename(index=rows), ax=ax, vmin=-0.5, vmax=0.5, colorbar_label="Spearman r",
                  annotate=False)
    from helpers.labels import label

    short = {"afp_ng_ml": "AFP\n(ng/mL)", "age_years": "Age\n(years)", "child_pugh_score": "Child-Pugh\nscore",
             "ecog": "ECOG PS", "pivka_ii_mau_ml": "PIVKA-II\n(mAU/mL)", "tumor_size_cm": "Tumour size\n(cm)"}
    ax.set_xticks(range(mat.shape[1]), [short.get(c) or plots.wrap_label(label(c), 12) for c in mat.columns],
                  rotation=0, ha="center")
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            v = mat.iat[i, j]
            colour = plots.text_color(plt.get_cmap("RdBu_r")((v + 0.5) / 1.0))
            ax.text(j, i, text.iat[i, j], ha="center", va="center", fontsize=10, color=colour)
    return fig
