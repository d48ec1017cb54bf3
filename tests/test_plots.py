"""helpers.plots: the number-at-risk table against R, and smoke tests of every plot.

Reference for the risk table (tests/fixtures/plots/make_km_risk.R, R 4.2.2, survival 3.5.3):
``fit <- survfit(Surv(time, status - 1) ~ sex, data = lung)``;
``summary(fit, times = c(0, 5, 100, 200, 365, 500, 730, 1000, 1022, 1100), extend = TRUE)$n.risk``
-> female 90 90 82 66 30 21 6 0 0 0; male 138 138 114 78 35 20 7 2 1 0.
``km_lung.csv`` is that fit's table in :data:`helpers.survival.KM_COLUMNS` shape.
"""
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from helpers import paths, plots  # noqa: E402

FIXTURES = paths.FIXTURES / "plots"
R_TIMES = [0, 5, 100, 200, 365, 500, 730, 1000, 1022, 1100]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def km_lung():
    return pd.read_csv(FIXTURES / "km_lung.csv")


def toy_km():
    """Two groups by hand. Group a: times 1, 2+, 3, 3+, 5 (n = 5); group b: 2, 4+, 6 (n = 3)."""
    rows = [
        ("a", 0, 5, 0, 0, 1.0), ("a", 1, 5, 1, 0, 0.8), ("a", 2, 4, 0, 1, 0.8),
        ("a", 3, 3, 1, 1, 0.5333), ("a", 5, 1, 1, 0, 0.0),
        ("b", 0, 3, 0, 0, 1.0), ("b", 2, 3, 1, 0, 0.6667), ("b", 4, 2, 0, 1, 0.6667),
        ("b", 6, 1, 1, 0, 0.0),
    ]
    km = pd.DataFrame(rows, columns=["group", "time", "n_risk", "n_event", "n_censor", "survival"])
    return km.assign(lower=km["survival"] * 0.8, upper=np.minimum(km["survival"] * 1.2, 1))


# --- number at risk --------------------------------------------------------------------

def test_number_at_risk_matches_r_summary_survfit(km_lung):
    expected = pd.read_csv(FIXTURES / "risk_lung.csv")
    got = plots.number_at_risk(km_lung, R_TIMES)
    assert list(got.columns) == plots.RISK_COLUMNS
    merged = expected.merge(got, on=["group", "time"], suffixes=("_r", "_py"))
    assert len(merged) == len(expected) == 20
    assert (merged["n_risk_r"] == merged["n_risk_py"]).all(), merged


def test_number_at_risk_by_hand():
    """Group a times 1, 2+, 3, 3+, 5: at risk (time >= t) at t = 0, 1, 2.5, 3, 4, 5, 6 is
    5, 5, 3, 3, 1, 1, 0; group b times 2, 4+, 6: 3, 3, 2, 2, 2, 1, 1."""
    got = plots.number_at_risk(toy_km(), [0, 1, 2.5, 3, 4, 5, 6])
    assert got[got.group == "a"]["n_risk"].tolist() == [5, 5, 3, 3, 1, 1, 0]
    assert got[got.group == "b"]["n_risk"].tolist() == [3, 3, 2, 2, 2, 1, 1]


def test_number_at_risk_equals_a_count_of_the_raw_times():
    """The rule 'number with time >= t' on raw data equals the reading off the KM table."""
    rng = np.random.default_rng(7)
    time = np.round(rng.exponential(10, 60), 1)
    event = rng.integers(0, 2, 60)
    rows = [("all", 0.0, 60, 0, 0, 1.0)]
    for t in np.unique(time):
        at = time == t
        rows.append(("all", t, int((time >= t).sum()), int(event[at].sum()),
                     int((1 - event[at]).sum()), 0.5))
    km = pd.DataFrame(rows, columns=["group", "time", "n_risk", "n_event", "n_censor", "survival"])
    times = [0, 2, 5, 10, 15, 20, 30, 50]
    got = plots.number_at_risk(km, times)["n_risk"].tolist()
    assert got == [int((time >= t).sum()) for t in times]


def test_number_at_risk_without_group_column_values():
    km = toy_km()
    km = km[km.group == "a"].assign(group=None)
    got = plots.number_at_risk(km, [0, 3])
    assert got["group"].tolist() == ["all", "all"] and got["n_risk"].tolist() == [5, 3]


def test_number_at_risk_missing_column_is_named():
    with pytest.raises(ValueError, match="missing column.*n_risk"):
        plots.number_at_risk(toy_km().drop(columns="n_risk"), [0])


# --- km_plot ---------------------------------------------------------------------------

def test_km_plot_curves_ticks_legend_annotation_and_risk_table(km_lung):
    summary = pd.DataFrame(dict(group=["female", "male"], n=[90, 138], events=[53, 112],
                                median=[426.0, 270.0], median_lower=[348.0, 212.0],
                                median_upper=[550.0, math.nan]))
    ax = plots.km_plot(km_lung, summary=summary,
                       hr=pd.DataFrame(dict(term=["male"], hr=[1.70], lower=[1.22], upper=[2.37], p=[0.0015])),
                       logrank=pd.DataFrame(dict(p=[0.0013])), risk_times=[0, 365, 730, 1095],
                       labels={"female": "Female", "male": "Men"}, xlabel="Days")
    assert isinstance(ax, plt.Axes)
    lines = ax.get_lines()
    assert len(lines) == 4                                   # a step and a censor-mark line per group
    steps = [ln for ln in lines if not ln.get_label().startswith("_")]
    assert [ln.get_drawstyle() for ln in steps] == ["steps-post", "steps-post"]
    marks = [ln for ln in lines if ln.get_marker() == "|"]
    assert len(marks) == 2
    n_censored_times = int((km_lung[km_lung.group == "female"]["n_censor"] > 0).sum())
    assert len(marks[0].get_xdata()) == n_censored_times
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    # HR and p sit in the legend box, above the axes, where no curve can pass
    assert legend == ["Female (n = 90): 426.0 (348.0–550.0)", "Men (n = 138): 270.0 (212.0–NR)",
                      "HR 1.70 (95% CI 1.22–2.37), p = 0.002", "Log-rank p = 0.001"]
    assert ax.get_legend().get_title().get_text() == "Median, days (95% CI)"
    ax.figure.canvas.draw()
    box = ax.get_legend().get_window_extent()
    assert box.y0 >= ax.get_window_extent().y1 - 1               # entirely above the curves
    assert not ax.texts                                          # nothing printed over the curves
    risk_ax = [a for a in ax.figure.axes if a is not ax]
    assert len(risk_ax) == 1
    numbers = [t.get_text() for t in risk_ax[0].texts]
    assert numbers == ["90", "30", "6", "0", "138", "35", "7", "0"]  # last male time 1022
    assert [t.get_text() for t in risk_ax[0].get_yticklabels()] == ["Female", "Men"]
    assert list(ax.get_xticks()) == [0, 365, 730, 1095]


def test_km_plot_on_a_given_axes_uses_an_inset_risk_table():
    fig, axes = plt.subplots(1, 2)
    ax = plots.km_plot(toy_km(), ax=axes[1], risk_times=[0, 2, 4, 6], ci=True, logrank=0.2)
    assert ax is axes[1]
    assert len(ax.child_axes) == 1 and len(ax.child_axes[0].texts) == 8
    assert len(ax.collections) == 2                           # the two CI bands
    assert "Log-rank p = 0.200" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_km_plot_single_group_has_no_legend():
    km = toy_km()
    ax = plots.km_plot(km[km.group == "a"].assign(group=None))
    assert ax.get_legend() is None and len(ax.get_lines()) == 2


def test_km_plot_colours_and_order():
    ax = plots.km_plot(toy_km(), order=["b", "a"], colors={"a": "#000000", "b": "#D55E00"})
    steps = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert [ln.get_label() for ln in steps] == ["B", "A"]          # helpers.labels.label
    assert steps[0].get_color() == "#D55E00"
    with pytest.raises(ValueError, match="not in the table"):
        plots.km_plot(toy_km(), order=["c"])


# --- other plots -----------------------------------------------------------------------

def cox_table():
    return pd.DataFrame(dict(term=["il6_high", "age", "ecog[0]", "afp_400"],
                             hr=[2.46, 1.01, math.nan, 0.9], lower=[1.2, 0.98, math.nan, 0.5],
                             upper=[5.04, 1.03, math.nan, 1.6], p=[0.014, 0.4, math.nan, 0.0004]))


def test_forest_plot_rows_text_and_log_scale():
    ax = plots.forest_plot(cox_table(), labels={"il6_high": "IL-6 high"})
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["IL-6 high", "Age", "ecog[0]", "AFP 400"]
    assert len(ax.collections[0].get_segments()) == 3         # CI lines for the 3 estimated rows
    assert ax.get_lines()[0].get_xdata()[0] == 1.0            # the null line
    est_ax, p_ax = [a for a in ax.figure.axes if a is not ax]
    assert [t.get_text() for t in est_ax.texts] == [
        "HR (95% CI)", "2.46 (1.20–5.04)", "1.01 (0.98–1.03)", "reference", "0.90 (0.50–1.60)"]
    assert [t.get_text() for t in p_ax.texts] == ["p", "0.014", "0.400", "<0.001"]
    # separate columns: no text of one column overlaps another column or the plot
    ax.figure.canvas.draw()
    r = ax.figure.canvas.get_renderer()
    plot_right = ax.get_window_extent().x1
    est_right = max(t.get_window_extent(r).x1 for t in est_ax.texts)
    p_left = min(t.get_window_extent(r).x0 for t in p_ax.texts)
    assert min(t.get_window_extent(r).x0 for t in est_ax.texts) >= plot_right
    assert est_right < p_left


def test_forest_plot_linear_odds_ratio_without_p():
    t = cox_table().rename(columns={"hr": "or"}).drop(columns="p")
    ax = plots.forest_plot(t, estimate="or", log=False, null=0)
    assert ax.get_xscale() == "linear"
    text_axes = [a for a in ax.figure.axes if a is not ax]
    assert len(text_axes) == 1 and text_axes[0].texts[0].get_text() == "OR (95% CI)"


def test_response_bars_rates_and_labels():
    t = pd.DataFrame(dict(group=["il6_low", "il6_high"], responders=[18, 4], n=[50, 34]))
    ax = plots.response_bars(t)
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([36.0, 400 / 34])
    # the prose's form (helpers.prose.n_of), on two lines
    assert [x.get_text() for x in ax.texts] == ["18 of 50\n(36.0%)", "4 of 34\n(11.8%)"]
    ax = plots.response_bars(pd.DataFrame(dict(group=["a"], responders=[0], n=[0])))
    assert [x.get_text() for x in ax.texts] == ["0 of 0\n(NA)"] and ax.patches[0].get_height() == 0


def test_maxstat_plot_marks_the_cutoff():
    curve = pd.DataFrame(dict(cut=[2.0, 5.0, 18.49, 40.0], n_low=[10, 20, 40, 60],
                              n_high=[70, 60, 40, 20], statistic=[0.5, 1.5, 3.1, 1.0]))
    ax = plots.maxstat_plot(curve, 18.49, log_x=True, critical=2.9, unit="pg/ml")
    assert ax.get_xscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == 3                                      # curve, cut-off, critical value
    assert list(lines[1].get_xdata()) == [18.49, 18.49]
    assert "cut-off 18.49 pg/ml" in [t.get_text() for t in ax.texts]


def test_love_plot_points_and_threshold():
    bal = pd.DataFrame(dict(variable=["age", "male", "child_pugh_b"], smd_before=[0.3, -0.25, 0.5],
                            smd_after=[0.05, -0.02, 0.12]))
    ax = plots.love_plot(bal, threshold=0.1)
    before, after, threshold = ax.get_lines()
    assert list(before.get_xdata()) == [0.25, 0.3, 0.5]         # absolute, sorted, largest on top
    assert list(after.get_xdata()) == [0.02, 0.05, 0.12]
    assert list(threshold.get_xdata()) == [0.1, 0.1]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Male sex", "Age", "Child-Pugh B"]


def test_scorecard_plot_from_summary_and_from_card():
    from helpers import scorecard

    summary = pd.DataFrame(dict(study=["atebev_il6", "pbis", "all"], exact=[10, 4, 14],
                                miss=[2, 0, 2], info=[1, 3, 4]))
    ax = plots.scorecard_plot(summary)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["atebev_il6", "pbis"]
    assert len(ax.patches) == 2 * 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exact", "miss", "info"]
    card = pd.DataFrame(dict(study=["pbis"] * 3, verdict=["exact", "exact", "miss"]))
    ax = plots.scorecard_plot(card)
    assert len(ax.patches) == len(scorecard.VERDICTS)
    assert ax.patches[0].get_width() == 2


def test_plots_refuse_tables_without_their_columns():
    with pytest.raises(ValueError, match="forest_plot table: missing column.*upper"):
        plots.forest_plot(cox_table().drop(columns="upper"))
    with pytest.raises(ValueError, match="balance table: missing column.*smd_after"):
        plots.love_plot(pd.DataFrame(dict(variable=["a"], smd_before=[0.1])))
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        plots.response_bars([1, 2])


def test_style_does_not_leak():
    before = dict(matplotlib.rcParams)
    plots.km_plot(toy_km())
    assert matplotlib.rcParams["axes.spines.top"] == before["axes.spines.top"]
    assert matplotlib.rcParams["font.size"] == before["font.size"]


def test_km_plot_xmax_cuts_the_time_axis():
    ax = plots.km_plot(toy_km(), xmax=4, risk_times=[0, 2, 4])
    assert ax.get_xlim()[1] == pytest.approx(4.08)


def test_forest_plot_on_given_axes_keeps_columns_as_tick_labels():
    fig, axes = plots.figure(panels=2)
    ax = plots.forest_plot(cox_table(), ax=axes[0])
    twin = [a for a in fig.axes if a not in axes][0]
    labels = [t.get_text() for t in twin.get_yticklabels()]
    assert labels[0] == "2.46 (1.20–5.04)   0.014" and labels[-1].startswith("HR (95% CI)")
    assert ax is axes[0]


def test_km_plot_median_lines_and_labels_from_the_book():
    km = toy_km()
    ax = plots.km_plot(km, median_lines=True, labels={"a": "IL-6 low"})
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert names == ["IL-6 low", "B"]
    # dotted lines: one horizontal at 0.5, a vertical per reached median (a: 5, b: 6)
    segs = [c for c in ax.collections if c.get_linestyle()[0][1] is not None]
    assert len(segs) == 3


def test_figure_sizes_for_the_column():
    fig, ax = plots.figure()
    assert tuple(fig.get_size_inches()) == (plots.COLUMN_IN, plots.PANEL_HEIGHT_IN[1])
    fig, axes = plots.figure(panels=2, rows=2)
    assert axes.shape == (2, 2) and fig.get_size_inches()[1] == 2 * plots.PANEL_HEIGHT_IN[2]
    with pytest.raises(ValueError, match="at most two panels"):
        plots.figure(panels=3)
    assert plots.figure(width="half")[0].get_size_inches()[0] == plots.HALF_IN


def test_text_is_at_least_10_pt():
    ax = plots.km_plot(toy_km(), risk_times=[0, 2, 4, 6], logrank=0.2)
    ax.figure.canvas.draw()
    sizes = [t.get_fontsize() for a in ax.figure.axes for t in a.texts]
    sizes += [t.get_fontsize() for t in ax.get_legend().get_texts()]
    sizes += [t.get_fontsize() for t in ax.get_xticklabels()]
    assert min(sizes) >= plots.MIN_FONT_PT


def test_text_color_by_luminance_and_heatmap():
    assert plots.text_color("#67001f") == "white"        # dark red
    assert plots.text_color("#fddbc7") == "black"        # light red
    assert plots.text_color("#ffffff") == "black" and plots.text_color("#000000") == "white"
    t = pd.DataFrame([[2.4, -0.1], [0.2, -2.4]], index=["il6_high", "il6_low"],
                     columns=["ifng_cd8_pct", "tnfa_cd8_pct"])
    ax = plots.heatmap(t, vmin=-2.5, vmax=2.5)
    colours = {x.get_text(): x.get_color() for x in ax.texts}
    assert colours["2.40"] == "white" and colours["-0.10"] == "black" and colours["-2.40"] == "white"
    assert [x.get_text() for x in ax.get_yticklabels()] == ["IL-6 high", "IL-6 low"]


def test_setup_applies_the_style_and_svg_is_deterministic(tmp_path):
    import io

    plots.setup()
    try:
        assert matplotlib.rcParams["font.size"] >= plots.MIN_FONT_PT
        out = []
        for _ in range(2):
            fig, ax = plots.figure()
            ax.plot([0, 1], [0, 1])
            buf = io.BytesIO()
            fig.savefig(buf, format="svg", metadata={"Date": None})
            out.append(buf.getvalue())
            plt.close(fig)
        assert out[0] == out[1]
    finally:
        matplotlib.rcdefaults()
        matplotlib.use("Agg")


def test_km_panels_two_side_by_side_each_with_its_risk_table():
    km = toy_km()
    fig = plots.km_panels({"PFS": dict(km=km, logrank=0.2), "OS": dict(km=km)},
                          risk_times=[0, 2, 4, 6], labels={"a": "IL-6 low", "b": "IL-6 high"})
    assert tuple(fig.get_size_inches())[0] == plots.COLUMN_IN
    curves = [a for a in fig.axes if a.get_legend() is not None]
    assert len(curves) == 2 and len(fig.axes) == 4          # two curve axes, two risk tables
    assert curves[0].get_legend().get_title().get_text() == "PFS"
    risk = [a for a in fig.axes if a not in curves]
    assert [t.get_text() for t in risk[0].get_yticklabels()] == ["IL-6 low", "IL-6 high"]
    assert len(risk[1].texts) == 8
    with pytest.raises(ValueError, match="at most two panels"):
        plots.km_panels({"x": dict(km=km)}, ncols=3)


def test_risk_times_are_bounded_and_evenly_thinned():
    assert plots.risk_times_bounded([0, 6, 12]) == [0, 6, 12]           # fits: as given
    monthly = list(range(0, 37))                                        # 37 times
    got = plots.risk_times_bounded(monthly)
    assert len(got) <= plots.MAX_RISK_TIMES and got[0] == 0
    assert got == [0, 5, 10, 15, 20, 25, 30, 35]                        # every 5th
    assert len(set(np.diff(got))) == 1
    with pytest.raises(ValueError, match="at least 2"):
        plots.risk_times_bounded(monthly, max_times=1)


def test_km_plot_draws_at_most_max_risk_times():
    ax = plots.km_plot(toy_km(), risk_times=[t / 4 for t in range(0, 29)], logrank=0.2)
    risk_ax = [a for a in ax.figure.axes if a is not ax][0]
    n_groups = len(dict.fromkeys(toy_km()["group"]))
    assert len(risk_ax.texts) <= plots.MAX_RISK_TIMES * n_groups
    assert len(ax.get_xticks()) <= plots.MAX_RISK_TIMES


def test_inline_figures_are_svg_in_a_notebook_shell():
    """Inside IPython, figures are rendered as SVG (not 72-dpi PNG), without a date."""
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    shell = InteractiveShell.instance()
    try:
        plots._svg_output()
        svg = shell.display_formatter.formatters["image/svg+xml"]
        png = shell.display_formatter.formatters["image/png"]
        assert Figure in svg.type_printers and Figure not in png.type_printers
        fig, _ = plt.subplots()
        text = svg.type_printers[Figure](fig)
        assert "<svg" in text and "<dc:date>" not in text
    finally:
        InteractiveShell.clear_instance()
