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
_SMALL_PROSE = re.compile(r"(?<![\d.<>= ])(?<![<>=] )\b([1-9])(?: of |/)\d+|(?<![\d.<>])\b([1-9]) "
                          r"(?:patients?|deaths?|responders?|events?)\b")
#: Columns whose values are not this cohort's counts: category levels, the paper's numbers.
_NOT_COUNTS = {"level", "published", "quantity", "label", "term", "characteristic", "statistic"}


def _text(fragment: str) -> str:
    return re.sub(r"<[^>]+>", " ", fragment).replace("&lt;", "<").replace("&gt;", ">").strip()


def small_counts(html_text: str) -> list[str]:
    """Counts from 1 to 9 (k = 10) in the table cells (other than category levels and the
    paper's printed numbers) and in the prose of an exported page."""
    found = []
    for table in re.findall(r"<table.*?</table>", html_text, flags=re.S):
        heads = [_text(h).lower() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, flags=re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S):
            cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            # the first cell of a row is its label (a category level such as ECOG "1"); a
            # column of ratios ("p ratio") holds no counts
            names = heads[-len(cells):] if len(heads) >= len(cells) else [""] * len(cells)
            found += [c for j, (c, h) in enumerate(zip(cells, names)) if j > 0 and h not in _NOT_COUNTS
                      and "ratio" not in h and _SMALL.match(c)]
    body = _text(re.sub(r"<table.*?</table>", " ", html_text, flags=re.S))
    return found + [m.group(0) for m in _SMALL_PROSE.finditer(body)]


@pytest.mark.notebook
def test_share_run_on_40_patients(tmp_path):
    """Every pbis chapter on a 40-patient cohort with --share: the shareable folder passes the
    output checks (no id, no patient row, no machine path) and shows no count from 1 to 9 in
    a table cell, in the glued prose or in the results files; the private folder keeps full
    precision. (Known exceptions are listed in the issue-12 report: prose counts of things
    other than patients, such as "5 of 42 pairs", are hidden too.)"""
    import subprocess
    import sys

    from helpers import paths

    df = pd.read_csv(paths.synthetic_cohort("pbis"))
    sub = pd.concat([g.sample(min(len(g), 20), random_state=1) for _, g in df.groupby("cohort")])
    sub = sub.head(40).copy()
    sub["patient_id"] = [f"PBIS-Q{i:03d}Z" for i in range(1, len(sub) + 1)]   # distinctive ids
    cohort = tmp_path / "cohort.csv"
    sub.to_csv(cohort, index=False)
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "helpers", "run", "pbis", "--cohort", str(cohort),
                           "--out", str(out), "--share"], capture_output=True, text=True,
                          cwd=paths.ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    share = out / disclosure.SHAREABLE
    assert share.is_dir(), proc.stdout            # not shareable_NOT_SAFE
    report = (share / "disclosure_report.md").read_text()
    assert "Passed: no patient identifier" in report
    # every file the run wrote (the theme's own assets under _static are not outputs of the data)
    files = [f for f in share.rglob("*") if f.is_file() and "_static" not in f.parts]
    assert not disclosure.check_outputs(files, sub, [str(tmp_path), str(paths.ROOT)]).shape[0]
    for f in share.glob("html/**/*.html"):
        assert small_counts(f.read_text()) == [], f.name
    for f in share.glob("results/*.csv"):
        n = pd.read_csv(f)["n"].dropna()
        assert not ((n > 0) & (n < 10)).any(), f.name
    # the private folder: full precision (some small count is shown there)
    assert any(small_counts(f.read_text()) for f in (out / disclosure.PRIVATE).glob("html/**/*.html"))
