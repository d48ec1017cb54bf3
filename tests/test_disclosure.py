"""Output disclosure control (helpers.disclosure) and its hooks in the renderer, the prose,
the recorder and the plots."""
from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

from helpers import book, disclosure, plots, prose, tables
from helpers.paths import FIXTURES
from helpers.results import Recorder

K = 10


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(disclosure.ENV, raising=False)
    monkeypatch.delenv(disclosure.LOG_ENV, raising=False)
    disclosure.set_policy(None)
    yield
    disclosure.set_policy(None)


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIXTURES / "tables" / "table_one_data.csv")


# --------------------------------------------------------------------------- boundary
def test_boundary_k_shown_k_minus_1_hidden():
    with disclosure.using(K):
        assert disclosure.count_text(K) == str(K)           # exactly k: shown
        assert disclosure.count_text(K - 1) == f"<{K}"      # k - 1: hidden
        assert disclosure.count_text(1) == f"<{K}"
        assert disclosure.count_text(0) == "0"              # a zero singles nobody out
        assert not disclosure.hides(K) and disclosure.hides(K - 1) and not disclosure.hides(0)


def test_boundary_in_table_prose_and_glue(tmp_path):
    df = pd.DataFrame({"group": ["a", "b"], "n": [K, K - 1]})
    with disclosure.using(K):
        shown = book.table(df).frame
        assert shown["n"].tolist() == [K, f"<{K}"]
        assert prose.count_noun(K, "patient") == f"{K} patients"
        assert prose.count_noun(K - 1, "patient") == f"<{K} patients"
        assert prose.n_of(K, 40) == f"{K} of 40 (25.0%)"
        assert prose.n_of(K - 1, 40) == f"<{K} of 40"
        assert prose.percent(K - 1, 40) == "<25.0%"
        rec = Recorder("pbis", "sdc_test", results_dir=tmp_path, glue=False)
        assert rec.record("shown_count", K, digits=0) == str(K)
        assert rec.record("hidden_n", K - 1, digits=0) == f"<{K}"
        assert rec.record("best_threshold", 2, digits=0) == "2"   # not a count: shown
        assert rec.record("male_pct", 22.5, n=40, digits=1).startswith("withheld")   # 9 of 40
        assert rec.record("ecog_pct", 25.0, n=40, digits=1) == "25.0"                # 10 of 40
        assert rec.record("orr_percent", 37.5, n=8, digits=1).startswith("withheld")  # 3 of 8
        assert rec.record("hr_small_group", 2.1, 1.1, 4.0, 0.02, n=K - 1).startswith("withheld")
    out = pd.read_csv(tmp_path / "sdc_test.csv")
    hidden = out.set_index("key").loc["hidden_n"]
    assert pd.isna(hidden["estimate"]) and hidden["text"] == f"<{K}"
    small = out.set_index("key").loc["hr_small_group"]
    assert pd.isna(small["estimate"]) and pd.isna(small["lower"]) and pd.isna(small["n"])
    assert out["n"].dropna().ge(K).all()   # no small n in the results file


def test_policy_off_changes_nothing(data):
    """The shipped book (threshold 0): every hook is a no-op."""
    t = tables.table_one(data, "il6_group", ["male", "child_pugh"], categorical=["male"], total=True)
    frame = t[["variable", "level", "statistic", "il6_high", "il6_low", "Overall"]]
    before = book.table(frame).html
    out, notes = disclosure.protect_frame(frame, ["text"] * frame.shape[1])
    assert out is frame and notes == []
    assert "<" not in re.sub(r"<[^>]+>", "", before.replace("&lt;", "<")) or "&lt;" not in before
    assert prose.n_of(3, 45) == "3 of 45 (6.7%)" and prose.count_noun(1, "death") == "1 death"
    with disclosure.using(0):
        assert book.table(frame).html == before


def test_policy_from_environment_and_parameter(monkeypatch):
    monkeypatch.setenv(disclosure.ENV, "5")
    assert disclosure.policy().k == 5
    monkeypatch.setenv(disclosure.ENV, "five")
    with pytest.raises(ValueError, match="whole number"):
        disclosure.policy()
    with pytest.raises(ValueError, match="min_cell_count"):
        disclosure.Policy(-1)


# --------------------------------------------------------------------------- complementary
def _state_from_shown(shown: pd.DataFrame, truth: pd.DataFrame, groups, total):
    """Rebuild what a reader sees of one categorical block: 'show', 'primary' ('<k') or
    'secondary' ('c') per cell, margins included (column totals: the block's sums, given
    away by the percentages; row totals: the overall column)."""
    r, c = truth.shape[0], len(groups)
    state = np.full((r + 1, c + 1), "show", dtype=object)
    for i in range(r):
        for j, g in enumerate(groups + [total]):
            text = str(shown.iloc[i][g])
            state[i, j] = "primary" if text.startswith("<") else "secondary" if text == "c" else "show"
    return state


def _blocks(t):
    return [v for v in t["variable"].unique() if v not in ("n", "age", "il6_pg_ml")]


def test_hidden_cells_cannot_be_recovered_from_totals(data):
    """The issue's example: with only primary suppression all three hidden Child-Pugh cells
    follow from the totals (45 - 38 = 7, ...); with complementary suppression none does."""
    t = tables.table_one(data, "il6_group", ["male", "child_pugh", "aetiology"],
                         categorical=["male"], total=True)
    groups, total = t.attrs["groups"][:-1], t.attrs["total"]
    frame = t[["variable", "level", "statistic", *groups, total]]
    with disclosure.using(K):
        shown = book.table(frame).frame
    for var in _blocks(t):
        rows = t["variable"] == var
        truth = t.loc[rows, [f"{g}__n" for g in groups]].to_numpy()
        state = _state_from_shown(shown[rows.to_numpy()], truth, groups, total)
        assert (state == "primary").any() or var == "male"
        assert disclosure.recoverable(truth, state, K) == [], var
        # the same table with primary suppression only: the attack succeeds (the test can fail)
        naive = np.where(state == "secondary", "show", state)
        if var == "child_pugh":
            assert len(disclosure.recoverable(truth, naive, K)) == 3


@pytest.mark.parametrize("seed", range(40))
def test_suppress_matrix_random_tables(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(2, 5, size=2))
    counts = rng.poisson(rng.uniform(2, 25), size=shape)
    state = disclosure.suppress_matrix(counts, k=K)
    inner = state[:-1, :-1]
    assert ((counts > 0) & (counts < K) <= (inner == "primary")).all()
    assert disclosure.recoverable(counts, state, K) == []


def test_margin_cells_and_missing_margins():
    counts = np.array([[3, 20], [4, 30]])
    state = disclosure.suppress_matrix(counts, k=K)   # column total 7 is small itself
    assert state[2, 0] == "primary"
    free = disclosure.suppress_matrix(counts, row_totals=False, col_totals=False, k=K)
    assert (free[:2, :2] == "primary").sum() == 2 and not (free == "secondary").any()


# --------------------------------------------------------------------------- declared size rows
def _sized(sizes, stat=("61 (55-68)", "58 (50-66)")):
    return pd.DataFrame({"characteristic": ["Group size", "Age, median (IQR)", "Male, n (%)"],
                         "a": [str(sizes[0]), stat[0], f"{sizes[0] - 5} (50.0)"],
                         "b": [str(sizes[1]), stat[1], "5 (50.0)"]})


def test_declared_size_row_is_used():
    """A size row the label fallback cannot know ("Group size") counts once declared."""
    df = _sized((30, K - 1))
    with disclosure.using(K):
        undeclared = book.table(df).frame
        declared = book.table(df, size_rows=[0]).frame
        mask = book.table(df, size_rows=df["characteristic"].eq("Group size")).frame
    assert undeclared.iat[0, 2] == str(K - 1)          # the fallback does not see it
    assert declared.iat[0, 2] == f"<{K}" and mask.iat[0, 2] == f"<{K}"
    with pytest.raises(ValueError, match="size_rows"):
        book.table(df, size_rows=[7])


def test_group_sizes_in_headers_captions_and_notes():
    """A group size printed in a header label, the caption or a note ("High (n = 7)")."""
    df = pd.DataFrame({"characteristic": ["Male"], "low": ["20 (66.7)"], "high": ["0 (0.0)"]})
    kw = dict(labels={"low": f"Low (n\u00a0=\u00a0{K})", "high": f"High (n\u00a0=\u00a0{K - 1})"},
              caption=f"By group (n = {K - 1} high)", note=f"High: n = {K - 1}.")
    with disclosure.using(K):
        html_text = book.table(df, **kw).html
    assert f"n\u00a0=\u00a0{K})" in html_text and f"=\u00a0{K - 1})" not in html_text
    assert f"n = {K - 1}" not in html_text
    assert "<caption>By group (n = &lt;10 high)</caption>" in html_text and "High: n = &lt;10." in html_text
    assert f"n = {K - 1}" in book.table(df, **kw).html          # off: unchanged


def test_statistics_of_a_small_group_are_withheld():
    """Mean / median rows of a group smaller than k: withheld; a group of exactly k: shown."""
    with disclosure.using(K):
        small = book.table(_sized((30, K - 1)), size_rows=[0]).frame
        exact = book.table(_sized((30, K)), size_rows=[0]).frame
    assert small.iat[1, 2] == disclosure.WITHHELD and small.iat[1, 1] == "61 (55-68)"
    assert exact.iat[1, 2] == "58 (50-66)"
    # a group's size in its own column (n_low beside mean_low)
    wide = pd.DataFrame({"label": ["CD8"], "n_low": [K - 1], "mean_low": [1.5], "n_high": [K], "mean_high": [2.5]})
    with disclosure.using(K):
        shown = book.table(wide).frame
    assert shown["mean_low"].iloc[0] == disclosure.WITHHELD and shown["mean_high"].iloc[0] == 2.5


def test_total_columns_of_two_groupings():
    """An "All" column beside two groupings (IL-6 low/high, IL-8 low/high): each pair adds up
    to it, so a hidden cell of one pair must not follow from All minus the other cell."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        lo6, hi6 = rng.integers(0, 30, size=4), rng.integers(0, 30, size=4)
        total = lo6 + hi6
        lo8 = np.array([rng.integers(0, t + 1) for t in total])
        counts = np.column_stack([total, lo6, hi6, lo8, total - lo8])
        df = pd.DataFrame(counts, columns=["all", "il6_low", "il6_high", "il8_low", "il8_high"])
        df.insert(0, "characteristic", list("ABCD"))
        with disclosure.using(K):
            shown = book.table(df).frame
        for parts in (["il6_low", "il6_high"], ["il8_low", "il8_high"]):
            state = np.full((5, 3), "absent", dtype=object)
            for j, col in enumerate(parts + ["all"]):
                for i in range(4):
                    text = str(shown[col].iloc[i])
                    state[i, j] = "primary" if text.startswith("<") else "secondary" if text == "c" else "show"
            inner = df[parts].to_numpy()
            assert disclosure.recoverable(inner, state, K) == [], (parts, df)


def test_levels_without_a_variable_column():
    """One row per level and no variable column (SORAMIC Table 1: ECOG 0, ECOG 1, ECOG
    missing beside other characteristics), sizes given away by the percentages: ECOG 1 of
    IL-6 low must not follow as 17 - 16 - 0."""
    lo, hi = np.array([16, 1, 0]), np.array([15, 8, 0])
    n = np.array([17, 23])

    def cell(c, size):
        return f"{c} ({100 * c / size:.1f})"

    df = pd.DataFrame({"characteristic": ["Male", "ECOG 0", "ECOG 1", "ECOG missing", "Age >= 65"],
                       "all": [cell(c, 40) for c in [37, *(lo + hi), 20]],
                       "il6_low": [cell(c, 17) for c in [16, *lo, 10]],
                       "il6_high": [cell(c, 23) for c in [21, *hi, 10]]})
    with disclosure.using(K):
        shown = book.table(df).frame
    state = np.full((4, 3), "show", dtype=object)
    for i in range(3):
        for j, col in enumerate(["il6_low", "il6_high", "all"]):
            text = str(shown[col].iloc[i + 1])
            state[i, j] = "primary" if text.startswith("<") else "secondary" if text == "c" else "show"
    assert state[1, 0] == "primary"
    assert disclosure.recoverable(np.column_stack([lo, hi]), state, K) == []
    assert (n == np.column_stack([lo, hi]).sum(axis=0)).all()


# --------------------------------------------------------------------------- models, curves
def test_model_withheld_below_k_events():
    coef = pd.DataFrame({"term": ["il6_high"], "hr": [2.0]})
    with disclosure.using(K):
        kept, note = disclosure.protect_model(coef, n=40, events=K)
        assert len(kept) == 1 and "n = 40, events = 10" in note
        gone, note = disclosure.protect_model(coef, n=40, events=K - 1)
        assert gone.empty and "Withheld" in note and f"events = <{K}" in note
        gone, _ = disclosure.protect_model(coef, n=14, events=12, n_parameters=5)  # dof 9
        assert gone.empty


def _km(sizes):
    rows = []
    for g, n in sizes.items():
        s = 1.0
        rows.append(dict(group=g, time=0.0, n_risk=n, n_event=0, n_censor=0, survival=1.0))
        for i in range(n):
            s *= (n - i - 1) / (n - i)
            rows.append(dict(group=g, time=float(i + 1), n_risk=n - i, n_event=1, n_censor=0,
                             survival=s))
    return pd.DataFrame(rows)


def test_km_group_below_k_not_drawn_and_risk_table_suppressed():
    km = _km({"small": K - 1, "big": K + 5})
    with disclosure.using(K):
        ax = plots.km_plot(km, risk_times=[0, 5, 10])
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("Not drawn: Small" in x for x in labels)
        assert len(ax.get_lines()) == 2   # the big group's steps and its censor marks only
        risk = [t.get_text() for t in ax.figure.axes[1].texts]
        assert risk == ["15", "11", f"<{K}"]                 # 15, 11 at risk, then 6
        steps = ax.get_lines()[0].get_xdata()
        assert max(steps) == 6.0   # the curve ends at the last step among >= 10 at risk (t = 6)
    matplotlib.pyplot.close("all")


def test_km_comparison_withheld_with_its_group():
    """HR and log-rank p describe both groups: withheld when one group is not drawn."""
    hr = {"hr": 2.0, "lower": 1.1, "upper": 3.6, "p": 0.02}
    with disclosure.using(K):
        gone = plots.km_plot(_km({"small": K - 1, "big": K + 5}), hr=hr, logrank=0.03)
        kept = plots.km_plot(_km({"exact": K, "big": K + 5}), hr=hr, logrank=0.03)
    gone_text = " ".join(t.get_text() for t in gone.get_legend().get_texts())
    kept_text = " ".join(t.get_text() for t in kept.get_legend().get_texts())
    assert "HR" not in gone_text.replace("HR and log-rank p withheld", "") and "Log-rank p" not in gone_text
    assert "withheld" in gone_text
    assert "HR 2.00" in kept_text and "Log-rank" in kept_text
    matplotlib.pyplot.close("all")


def test_km_median_in_the_undrawn_tail_is_withheld():
    """A median (or limit) at a time where fewer than k are at risk is one patient's event
    time: withheld, like the steps there; a time where exactly k are at risk is shown."""
    km = _km({"big": K + 5})                       # K + 5 - t at risk at time t
    summary = pd.DataFrame({"group": ["big"], "n": [K + 5], "median": [8.0],
                            "median_lower": [float(K + 5 - K)], "median_upper": [np.nan]})
    with disclosure.using(K):
        ax = plots.km_plot(km, summary=summary)
    label = ax.get_legend().get_texts()[0].get_text()
    assert label.endswith(": withheld (5.0–NR)"), label
    off = plots.km_plot(km, summary=summary).get_legend().get_texts()[0].get_text()
    assert off.endswith(": 8.0 (5.0–NR)"), off
    matplotlib.pyplot.close("all")


def test_logistic_model_through_protect_model():
    """helpers.regression.logistic states n and events; fewer than k responders (or
    non-responders) leave the terms without estimates."""
    from helpers import regression

    rng = np.random.default_rng(0)
    x = rng.normal(size=40)

    order = rng.permutation(40)

    def fit(responders):
        y = np.zeros(40, dtype=int)
        y[order[:responders]] = 1                          # at random: no separation
        return regression.logistic(pd.DataFrame({"y": y, "x": x}), "y", ["x"])

    off = fit(K - 1)
    assert np.isfinite(off["or"]).all() and "n = 40" in off.attrs["disclosure"]
    with disclosure.using(K):
        small, exact = fit(K - 1), fit(K)
    events = int(round(small["n"].iloc[0]))
    assert small["or"].isna().all() and small["p"].isna().all() and len(small) == 1
    assert "Withheld" in small.attrs["disclosure"] and f"events = <{K}" in small.attrs["disclosure"]
    assert np.isfinite(exact["or"]).all() and f"events = {K}" in exact.attrs["disclosure"]
    assert events == 40


def test_figure_text_check():
    """The kernels' look at figures: a small count in any text of a figure is found."""
    fig, ax = matplotlib.pyplot.subplots()
    ax.text(0, 0, "n = 7")
    ax.text(0, 1, "12/40")
    ax.set_xticks([1, 2])                    # tick labels: axis values, not counts
    ax.bar([1], [3], label="High (n = 12)")
    ax.legend(title="3 patients")
    with disclosure.using(K):
        found = disclosure.check_figure(fig)
    assert found == ["n = 7", "3 patients"]
    with disclosure.using(K):
        assert disclosure.small_counts_in(str(K)) == [] and disclosure.small_counts_in(str(K - 1)) == [str(K - 1)]
        assert disclosure.small_counts_in(f"<{K}") == [] and disclosure.small_counts_in("0.5") == []
    matplotlib.pyplot.close("all")


def test_response_bars_hide_small_counts():
    table = pd.DataFrame({"group": ["a", "b", "c"], "responders": [K, K - 1, 30], "n": [40, 40, 31]})
    with disclosure.using(K):
        ax = plots.response_bars(table)
        texts = [t.get_text() for t in ax.texts]
    assert texts[0].startswith(f"{K} of 40")
    assert texts[1] == "n = 40\nnot shown" and texts[2] == "n = 31\nnot shown"  # 1 non-responder
    heights = [p.get_height() for p in ax.patches]
    assert heights[1] == 0 and heights[2] == 0
    matplotlib.pyplot.close("all")


# --------------------------------------------------------------------------- output checks
def test_check_outputs_finds_ids_rows_and_paths(tmp_path):
    cohort = pd.DataFrame({"patient_id": ["ZQX-7781", "ZQX-9902"], "il6_pg_ml": [12.345, 48.912],
                           "os_months": [17.06, 3.41], "age_years": [63, 71], "albumin": [38.2, 41.7],
                           "crp": [0.5, 2.25], "cohort": ["derivation", "derivation"]})
    clean = tmp_path / "clean.html"
    clean.write_text("<tr><td>IL-6 high</td><td>&lt;10</td><td>2.93</td></tr>")
    leak = tmp_path / "leak.csv"
    leak.write_text("a,b,c,d\n12.345,17.06,38.2,0.5\n")
    near = tmp_path / "near.csv"   # three values of one patient: below the rule's 4
    near.write_text("a,b,c\n12.345,17.06,38.2\n")
    ident = tmp_path / "id.ipynb"
    ident.write_text('{"text": "patient ZQX-9902 was excluded"}')
    path = tmp_path / "path.html"
    path.write_text("read from /home/alice/cohort.csv")
    problems = disclosure.check_outputs([clean, leak, near, ident, path], cohort, ["/home/alice"])
    found = {(p.split("/")[-1], c) for p, c in zip(problems["file"], problems["check"])}
    assert found == {("leak.csv", "patient-level row"), ("id.ipynb", "identifier"),
                     ("path.html", "absolute path")}


# --------------------------------------------------------------------------- hand-made prose
@pytest.mark.parametrize("text, shown", [
    ("response rate (3/12, 25.0%) vs (8/15, 53.3%)", "response rate (<10/12) vs (<10/15)"),
    ("3 of 40 patients (7.5%)", "<10 of 40 patients"),
    ("12/13 (92.3%)", ">3/13"),                          # 1 non-responder would follow
    ("Responders: 3/12.", "Responders: <10/12."),        # at the end of a sentence
    ("IL-6 high (n = 9).", "IL-6 high (n = <10)."),
    ("10 of 40 (25.0%) and 9 deaths", "10 of 40 (25.0%) and <10 deaths"),
    ("HR 2.10 (95% CI 1.10-4.00), p = 0.020", "HR 2.10 (95% CI 1.10-4.00), p = 0.020"),
])
def test_protect_text(text, shown, tmp_path):
    assert disclosure.protect_text(text) == text        # off: unchanged
    with disclosure.using(K):
        assert disclosure.protect_text(text) == shown
        rec = Recorder("pbis", "sdc_text", results_dir=tmp_path, glue=False)
        assert rec.text("k", text) == shown
        assert rec.record("r", 25.0, n=12, digits=1, text=text) == shown


def test_raw_dataframes_go_through_the_renderer():
    """A chapter that leaves a raw DataFrame as a cell's value gets the same suppression."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    df = pd.DataFrame({"patients": [27, 9, 4]}, index=["derivation", "validation", "lenvatinib"])
    try:
        shell.user_ns["min_cell_count"] = K
        disclosure.from_kernel()
        assert disclosure.policy().k == K
        data, _ = shell.display_formatter.format(df)
        assert "&lt;10" in data["text/html"] and ">9<" not in data["text/html"]
        assert "<10" in data["text/plain"] and " 9\n" not in data["text/plain"] + "\n"
    finally:
        for kind in (pd.DataFrame, pd.Series):
            for mime in ("text/html", "text/plain"):
                shell.display_formatter.formatters[mime].pop(kind, None)
        shell.user_ns.pop("min_cell_count", None)
        InteractiveShell.clear_instance()


# --------------------------------------------------------------------------- a shared run
_SMALL = re.compile(r"^\s*([1-9])\s*(?:\(\s*[\d.]+\s*%?\s*\))?\s*$|^\s*([1-9])\s*/\s*\d+")
_SMALL_PROSE = re.compile(r"(?<![\d.<>=-])(?<![<>=] )\b([1-9])(?: of |/)\d+|(?<![\d.<>-])\b([1-9]) "
                          r"(?:patients?|deaths?|responders?|events?)\b|(?<![\w.])n\s*=\s*[1-9](?![\d.])")
#: Columns whose values are not this cohort's counts: category levels, the paper's numbers.
_NOT_COUNTS = {"level", "published", "quantity", "label", "term", "characteristic", "statistic", ""}


def _text(fragment: str) -> str:
    return re.sub(r"<[^>]+>", " ", fragment).replace("&lt;", "<").replace("&gt;", ">").strip()


def _column_names(table: str) -> list[str]:
    """The leaf header of every column of an HTML table (spanners with ``colspan`` and
    headers with ``rowspan`` laid out on a grid)."""
    head = re.search(r"<thead.*?</thead>", table, flags=re.S)
    grid: dict[tuple[int, int], str] = {}
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", head.group(0) if head else "", flags=re.S)
    for r, row in enumerate(rows):
        c = 0
        for attrs, cell in re.findall(r"<th([^>]*)>(.*?)</th>", row, flags=re.S):
            while (r, c) in grid:
                c += 1
            span = int((re.search(r'colspan="(\d+)"', attrs) or [0, 1])[1])
            down = int((re.search(r'rowspan="(\d+)"', attrs) or [0, 1])[1])
            for dr in range(down):
                for dc in range(span):
                    grid[(r + dr, c + dc)] = _text(cell).lower()
            c += span
    last = len(rows) - 1
    return [grid[(last, c)] for c in range(max((c for r, c in grid if r == last), default=-1) + 1)]


#: Pages whose prose counts things other than patients ("reproduces 9 of 11" printed p-values,
#: verdicts per study): their table cells are still checked for small counts, but neither
#: their prose nor the recovery attack (a table of verdict counts is no patient table).
_PROSE_NOT_PATIENTS = {"summary_scorecard"}


def small_counts(html_text: str, static: str = "") -> list[str]:
    """Counts from 1 to 9 (k = 10) in the table cells (other than category levels and the
    paper's printed numbers), in the headers and captions ("n = 7") and in the prose of an
    exported page. ``static``: the chapter's own markdown; a phrase written there (about the
    paper: "1 responder in 15") is no count of this cohort."""
    found = []
    for table in re.findall(r"<table.*?</table>", html_text, flags=re.S):
        if re.match(r'<table class="[^"]*\bhcc-not-patients\b', table):
            continue   # declared by book.table(patient_counts=False): verdicts, not patients
        heads = [_text(h).lower() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, flags=re.S)]
        found += [h for h in heads if re.search(r"(?<![\w.])n\s*=\s*[1-9](?![\d.])", h)]
        names_all = _column_names(table)
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S):
            cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            # the first cell of a row is its label; a column with no header or a level
            # column holds labels (a category level such as ECOG "1"); a column of ratios
            # ("p ratio") holds no counts
            names = names_all if len(names_all) == len(cells) else ["?"] * len(cells)
            found += [c for j, (c, h) in enumerate(zip(cells, names)) if j > 0 and h not in _NOT_COUNTS
                      and "ratio" not in h and _SMALL.match(c)]
    body = _text(re.sub(r"<table.*?</table>", " ", html_text, flags=re.S))
    static = re.sub(r"\s+", " ", static)
    return found + [m.group(0) for m in _SMALL_PROSE.finditer(body) if m.group(0) not in static]


def _markdown(chapter: str) -> str:
    import nbformat

    from helpers import paths

    source = paths.ROOT / "chapters" / f"{chapter}.ipynb"
    if not source.exists():   # a page of text (glossary.md): nothing on it is computed
        md = source.with_suffix(".md")
        return md.read_text() if md.exists() else ""
    nb = nbformat.read(source, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def small_cohort(study: str, tag: str):
    """40 patients of the shipped synthetic cohort (up to 20 of each of its cohorts), with
    distinctive patient ids."""
    from helpers import paths

    df = pd.read_csv(paths.synthetic_cohort(study))
    sub = pd.concat([g.sample(min(len(g), 20), random_state=1) for _, g in df.groupby("cohort")])
    sub = (sub if len(sub) >= 40 else df.sample(40, random_state=1)).head(40).copy()
    sub["patient_id"] = [f"{tag}-Q{i:03d}Z" for i in range(1, len(sub) + 1)]   # distinctive ids
    return sub


def _cells(table: str) -> list[list[str]]:
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)
            if "<td" in row]


def _count_of(text: str):
    m = re.fullmatch(r"(\d+)(?:\s*\(\s*[\d.]+\s*%?\s*\))?|(\d+)\s*/\s*\d+", text.strip())
    return None if not m else int(m.group(1) or m.group(2))


def recovered_cells(private_html: str, shared_html: str, k: int = 10) -> list[str]:
    """An attack on every table of a shared page with hidden cells (``<k``, ``c``), with the
    private page of the same run as the truth: the attacker knows each column's group size
    (from any shown ``n (%)`` cell), that consecutive rows adding up to those sizes are the
    levels of one characteristic, and that a column equal to the sum of others on every row
    is their total; a hidden cell is recovered when linear programming over all of these
    pins it to one value. Returns the recovered cells ("table 2, row 5, column 3")."""
    from itertools import combinations

    from scipy.optimize import linprog

    found = []
    tables_p = re.findall(r"<table.*?</table>", private_html, flags=re.S)
    tables_s = re.findall(r"<table.*?</table>", shared_html, flags=re.S)
    for n_table, (tp, ts) in enumerate(zip(tables_p, tables_s)):
        P, S = _cells(tp), _cells(ts)
        if [len(r) for r in P] != [len(r) for r in S] or not any(c in ("<10", "c") for r in S for c in r):
            continue
        names = _column_names(ts)
        ncol = len(S[0]) if S else 0
        cols = [j for j in range(1, ncol) if (names[j] if len(names) == ncol else "?") not in _NOT_COUNTS
                and all(_count_of(r[j]) is not None for r in P if r[j].strip())
                and any(_count_of(r[j]) is not None for r in P)]
        rows = [i for i in range(len(P)) if all(_count_of(P[i][j]) is not None for j in cols)]
        if not cols or not rows:
            continue
        truth = {(i, j): _count_of(P[i][j]) for i in rows for j in cols}
        hidden = [(i, j) for i in rows for j in cols if S[i][j] in ("<10", "c")]
        if not hidden:
            continue
        index = {p: n for n, p in enumerate(hidden)}
        eqs = []

        def equation(terms, rhs):          # sum(sign * cell) = rhs, shown cells moved right
            row, b = np.zeros(len(hidden)), float(rhs)
            for sign, p in terms:
                if p in index:
                    row[index[p]] += sign
                else:
                    b -= sign * truth[p]
            if row.any():
                eqs.append((row, b))

        sizes = {}
        for j in cols:
            for r in S:
                m = re.fullmatch(r"(\d+)\s*\(\s*([\d.]+)\s*%?\s*\)", r[j].strip())
                if m and float(m.group(2)) > 0:
                    sizes[j] = round(int(m.group(1)) * 100 / float(m.group(2)))
        for a in range(len(rows)):       # levels of one characteristic: they fill every group
            for b in range(a + 1, len(rows) + 1):
                run = rows[a:b]
                if sizes and all(sum(truth[(i, j)] for i in run) == sizes[j] for j in sizes):
                    for j in sizes:
                        equation([(1, (i, j)) for i in run], sizes[j])
        for t in cols:
            others = [j for j in cols if j != t]
            for size in range(2, len(others) + 1):
                for parts in combinations(others, size):
                    if all(truth[(i, t)] == sum(truth[(i, j)] for j in parts) for i in rows):
                        for i in rows:
                            equation([(1, (i, t))] + [(-1, (i, j)) for j in parts], 0)
        if not eqs:
            continue
        a_eq = np.array([e[0] for e in eqs])
        b_eq = np.array([e[1] for e in eqs])
        bounds = [(1, k - 1) if S[i][j] == "<10" else (0, None) for i, j in hidden]
        for p, n in index.items():
            cost = np.zeros(len(hidden))
            cost[n] = 1
            lo = linprog(cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            hi = linprog(-cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            if lo.status == 0 and hi.status == 0 and abs(-hi.fun - lo.fun) < 0.5:
                found.append(f"table {n_table + 1}, row {p[0] + 1}, column {p[1] + 1}")
    return found


def test_recovery_attack_can_succeed():
    """The share test's attack finds a cell hidden without complementary suppression."""
    private = ('<table><thead><tr><th>level</th><th>a</th><th>b</th></tr></thead>'
               '<tr><td>x</td><td>16 (94.1)</td><td>15 (65.2)</td></tr>'
               '<tr><td>y</td><td>1 (5.9)</td><td>8 (34.8)</td></tr></table>')
    naive = private.replace("1 (5.9)", "&lt;10").replace("8 (34.8)", "&lt;10")
    assert recovered_cells(private, naive) == ["table 1, row 2, column 2", "table 1, row 2, column 3"]
    with disclosure.using(K):
        df = pd.DataFrame({"level": ["x", "y"], "a": ["16 (94.1)", "1 (5.9)"], "b": ["15 (65.2)", "8 (34.8)"]})
        shared = book.table(df).html
    assert recovered_cells(book.table(df).html, shared) == []


def test_small_counts_finds_what_it_should():
    """The share test's scanner (it can fail): a cell, a header and prose with small counts."""
    page = ('<table><thead><tr><th rowspan="2">level</th><th colspan="1">Group</th></tr>'
            '<tr><th>High (n = 7)</th></tr></thead>'
            '<tr><td>1</td><td>3 (7.5%)</td></tr></table><p>Of these, 4 patients died.</p>')
    assert small_counts(page) == ["high (n = 7)", "3 (7.5%)", "4 patients"]
    assert small_counts(page, static="Of these, 4 patients died.") == ["high (n = 7)", "3 (7.5%)"]
    shown = page.replace("n = 7", "n = &lt;10").replace("3 (7.5%)", "&lt;10").replace("4 patients", "&lt;10 patients")
    assert small_counts(shown) == []


@pytest.mark.notebook
@pytest.mark.parametrize("study, tag", [("atebev_il6", "ATB"), ("pbis", "PBIS"), ("soramic", "SORA")])
def test_share_run_on_40_patients(study, tag, tmp_path):
    """Every chapter of a study on a 40-patient cohort with --share: the shareable folder
    passes the output checks (no id, no patient row, no machine path, no small count in the
    text of any figure: risk tables, bar labels, legends, annotations, checked in the
    kernels) and shows no count from 1 to 9 in a table cell or header, in the glued prose or
    in the results files; no hidden table cell follows from the shown totals (the suppression
    of every table is checked by linear programming in the unit tests above); the private
    folder keeps full precision."""
    import subprocess
    import sys

    from helpers import paths

    sub = small_cohort(study, tag)
    cohort = tmp_path / "cohort.csv"
    sub.to_csv(cohort, index=False)
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "helpers", "run", study, "--cohort", str(cohort),
                           "--out", str(out), "--share"], capture_output=True, text=True,
                          cwd=paths.ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    share = out / disclosure.SHAREABLE
    report = (out / (disclosure.SHAREABLE if share.is_dir() else disclosure.NOT_SAFE)
              / "disclosure_report.md").read_text()
    assert share.is_dir(), report[:3000]            # not shareable_NOT_SAFE
    assert "Passed: no patient identifier" in report
    # every file the run wrote (the theme's own assets under _static are not outputs of the data)
    files = [f for f in share.rglob("*") if f.is_file() and "_static" not in f.parts]
    assert not disclosure.check_outputs(files, sub, [str(tmp_path), str(paths.ROOT)]).shape[0]
    pages = sorted(share.glob("html/chapters/*.html"))
    assert pages
    for f in pages:
        text = f.read_text()
        if f.stem in _PROSE_NOT_PATIENTS:
            text = "".join(re.findall(r"<table.*?</table>", text, flags=re.S))
        assert small_counts(text, _markdown(f.stem)) == [], f.name
        # no hidden cell follows from what the page shows (an attack with the private page
        # as the truth)
        private = out / disclosure.PRIVATE / f.relative_to(share)
        if f.stem not in _PROSE_NOT_PATIENTS:
            assert recovered_cells(private.read_text(), text) == [], f.name
    for f in share.glob("results/*.csv"):
        n = pd.read_csv(f)["n"].dropna()
        assert not ((n > 0) & (n < 10)).any(), f.name
    # the private folder: full precision (some small count is shown there)
    assert any(small_counts(f.read_text()) for f in (out / disclosure.PRIVATE).glob("html/**/*.html"))


# --------------------------------------------------------------------------- Cox models
def _cox_data(events: int, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(events)
    return pd.DataFrame({"t": rng.uniform(1, 30, n).round(1), "e": [1] * events + [0] * (n - events),
                         "x": rng.integers(0, 2, n), "y": rng.normal(size=n)})


@pytest.mark.parametrize("events, shown", [(K, True), (K - 1, False)])
def test_shown_cox_model_below_k_events_is_withheld(events, shown):
    """The Cox fits chapters show (fitcache.cox): k events shown, k - 1 withheld (rows kept, no
    estimate or LR test, n and events in the note); the same call without the policy, before
    and after, shows the fit (the stored fit is not the protected copy)."""
    from helpers import fitcache

    df = _cox_data(events)
    before = fitcache.cox(df, "t", "e", ["x"])
    with disclosure.using(K):
        res = fitcache.cox(df, "t", "e", ["x"])
    after = fitcache.cox(df, "t", "e", ["x"])
    assert np.isfinite(before.table["hr"]).all() and np.isfinite(after.table["hr"]).all()
    assert list(res.table["term"]) == ["x"]
    assert np.isfinite(res.table["hr"]).all() == shown and np.isfinite(res.lr_p) == shown
    assert f"events = {events if events >= K else f'<{K}'}" in res.table.attrs["disclosure"]


def test_cox_model_with_few_residual_df_is_withheld():
    """Enough events, but n - terms < k (ACRO's residual degrees of freedom)."""
    df = _cox_data(K + 1, n=K + 1)
    from helpers import survival

    with disclosure.using(K):
        two = disclosure.protect_cox(survival.cox(df, "t", "e", ["x", "y"]))
        one = disclosure.protect_cox(survival.cox(df, "t", "e", ["x"]))
    assert two.table["hr"].isna().all() and "Withheld" in two.table.attrs["disclosure"]
    assert one.table["hr"].notna().all()


def test_univariable_rows_withheld_per_covariate():
    """Each covariate's model on its own complete cases: one with k - 1 events is withheld,
    the other shown."""
    from helpers import survival

    df = _cox_data(K + 5).assign(x=lambda d: d["x"].astype(float))
    df.loc[df.index[K - 1:], "x"] = np.nan          # x: complete in K - 1 rows, all events
    with disclosure.using(K):
        table = disclosure.protect_univariable(survival.cox_univariable(df, "t", "e", ["x", "y"]))
    by = table.set_index("covariate")
    assert np.isnan(by.loc["x", "hr"]) and np.isfinite(by.loc["y", "hr"])


def test_p_value_of_a_table_with_a_hidden_cell_is_withheld():
    """With its margins shown, a 2x2 table's Fisher p singles out the hidden cell (each table
    the margins allow has its own p): the p goes with the cell; another variable's p stays."""
    from scipy import stats

    rows, cols = [30, 30], [12, 48]
    ps = {a: stats.fisher_exact([[a, 12 - a], [30 - a, 18 + a]])[1] for a in range(0, 13)}
    assert len(set(round(p, 12) for p in ps.values())) > 6    # p nearly identifies the cell
    frame = pd.DataFrame({"variable": ["Male", "", "Ascites", ""], "level": ["yes", "no", "yes", "no"],
                          "low": [3, 27, 15, 15], "high": [9, 21, 14, 16],
                          "p": [ps[3], np.nan, 0.8, np.nan]})
    with disclosure.using(K):
        shown = book.table(frame, kinds={"low": "count", "high": "count"}).frame
    assert shown.iat[0, 2] == f"<{K}"
    assert shown.iat[0, 4] == disclosure.WITHHELD
    assert shown.iat[2, 4] != disclosure.WITHHELD and "0.8" in str(shown.iat[2, 4])
    with disclosure.using(0):
        assert "0.8" in str(book.table(frame, kinds={"low": "count", "high": "count"}).frame.iat[2, 4])


def test_a_table_that_counts_no_patients_is_left_alone():
    """The scorecard's verdict counts ("3 exact") are not patients: declared so, they stay."""
    df = pd.DataFrame({"study": ["a", "b"], "exact": [3, 40], "miss": [12, 5]})
    with disclosure.using(K):
        kept = book.table(df, kinds={"exact": "count", "miss": "count"}, patient_counts=False).frame
        hidden = book.table(df, kinds={"exact": "count", "miss": "count"}).frame
    assert kept.iat[0, 1] == 3 and hidden.iat[0, 1] == f"<{K}"
    with disclosure.using(K):
        markup = book.table(df, kinds={"exact": "count", "miss": "count"}, patient_counts=False).html
    assert small_counts(markup) == []                     # the share test's scanner skips it
    assert small_counts(markup.replace(" hcc-not-patients", "")) != []


def test_total_column_of_a_one_row_block():
    """A yes/no variable shown as its "yes" row beside Total = Discovery + Validation: the
    total column is found on the table's other rows, so Total - Validation does not give the
    hidden Discovery count away (seen in the Ate/Bev shareable Table 1: 15 - 12 = 3)."""
    frame = pd.DataFrame({"variable": ["Patients, n", "Aetiology", "", "MVI"],
                          "level": ["", "HBV", "other", ""],
                          "total": ["40", "30 (75.0)", "10 (25.0)", "15 (37.5)"],
                          "discovery": ["20", "15 (75.0)", "5 (25.0)", "3 (15.0)"],
                          "validation": ["20", "15 (75.0)", "5 (25.0)", "12 (60.0)"]})
    with disclosure.using(K):
        shown = book.table(frame, size_rows=[0]).frame
    mvi = shown.iloc[3]
    assert mvi["discovery"] == f"<{K}"
    assert mvi["validation"] == disclosure.SECONDARY or mvi["total"] == disclosure.SECONDARY
