"""Three studies, one marker: the cross-study synthesis of the IL-6 evidence.

Two parts, both returning tidy DataFrames (nothing here draws or prints):

**Every cut-off on every cohort** (:func:`every_cutoff`). Each cohort the book ships (or a
researcher passes) is split at every IL-6 cut-off: the Ate/Bev cut-off (maxstat on PFS in
the discovery cohort, high = IL-6 >= cut, as that paper prints it), the SORAMIC
pre-specified cut-off (high = IL-6 > cut, as that paper prints it), both read from
``data/published`` (:func:`published_cutoffs`), and the cohort's own maximally selected
log-rank cut-off for the endpoint at hand (:func:`helpers.maxstat.maxstat_test`, high =
IL-6 > cut, the maxstat rule). For each split: group sizes and events, Kaplan-Meier medians,
Cox HR (Efron ties, Wald 95% CI and p, reference IL-6 low; :mod:`helpers.survival`), and for
the cohort's own cut-off the p corrected for the search (exactGauss).

**A meta-analysis of the published IL-6 hazard ratios** (:func:`published_inputs`,
:func:`pool`, :func:`meta_analyses`). The printed HRs are found in ``data/published`` by
their ids (:data:`PUBLISHED_HRS`, each marked data-driven or pre-specified, univariable or
adjusted); every other printed IL-6 HR or IL-6 survival p is listed in :data:`LEFT_OUT`
with the reason (a test checks nothing is silently dropped).

- **log HR and its SE.** ``y = log(printed HR)``. From a printed 95% CI:
  ``SE = (log upper - log lower) / (2 * 1.959964)``. The Ate/Bev paper prints HR and p but no
  CI; there ``SE = |log HR| / z`` with ``z = Phi^-1(1 - p/2)`` (Tierney et al. 2007, *Trials*
  8:16; the p read as a two-sided Wald p). A p printed as a bound (``p < 0.001``) gives the
  largest SE the bound allows, so that row is given *less* weight than the data may deserve.
  Column ``se_from`` says which rule made each SE.
- **Pooling** (random effects on the log HR). tau^2 by DerSimonian-Laird (``"DL"``), REML
  (``"REML"``) or Paule-Mandel (``"PM"``); ``"FE"`` is the fixed-effect (inverse-variance)
  model. Given tau^2, the random-effects model is the fixed-effect model on the variances
  ``v_i + tau^2``, which is what :func:`statsmodels.stats.meta_analysis.combine_effects`
  computes with ``variance = v + tau^2``: its fixed-effect mean and SE are the pooled log HR
  and its SE, its ``var_hksj_fe`` the Hartung-Knapp(-Sidik-Jonkman) variance.
  ``test="knha"`` (Hartung-Knapp adjustment) uses that SE and the t distribution with
  ``k - 1`` df for the CI, the p and the prediction interval (as ``metafor``; no ad-hoc
  truncation of the scale factor); otherwise the normal distribution.
- **Heterogeneity.** Cochran's Q (df ``k - 1``, chi-square p); I^2 and H^2 as ``metafor``
  reports them, ``I^2 = tau^2 / (tau^2 + s^2)`` with ``s^2 = (k - 1) sum w / ((sum w)^2 -
  sum w^2)``, ``w = 1 / v`` (the "typical" within-study variance, Higgins & Thompson 2002);
  for DL this equals ``(Q - df) / Q`` truncated at 0.
- **Prediction interval** (for the log HR of a new cohort): ``mu -/+ crit * sqrt(SE^2 +
  tau^2)``, ``crit`` the normal or (with ``knha``) t_{k-1} quantile, as ``metafor``'s
  ``predict.rma``.

Checked against R ``metafor::rma`` (methods DL, REML, PM; ``test = "knha"``) to 1e-6 in
``tests/test_synthesis.py``; the R script and its output are in ``tests/fixtures/meta/``.

**The cut-off question.** :func:`shrink_log_hr` shrinks the log HRs of the data-driven rows by
a uniform factor (van Houwelingen & le Cessie 1990): ``log HR * factor``, the SE unchanged;
:func:`shrinkage_factor` measures the factor as ``log(corrected HR) / log(apparent HR)`` from
an optimism estimate (cross-validated or bootstrap-corrected HR of the data-driven cut-off).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from . import maxstat, paths, published, survival

Z95 = float(stats.norm.ppf(0.975))

#: Endpoints of the synthesis: key -> (time column, event column, label). The three
#: studies' contracts use the same names.
ENDPOINTS = {"os": ("os_months", "os_event", "OS"), "pfs": ("pfs_months", "pfs_event", "PFS")}
#: The IL-6 column in every study's contract.
MARKER = "il6_pg_ml"
#: Short study labels for tables and figures.
STUDY_LABELS = {"atebev_il6": "Ate/Bev", "pbis": "PBIS", "soramic": "SORAMIC"}
#: Cohorts of each study, in reading order (the studies' contracts).
STUDY_COHORTS = {"atebev_il6": ("discovery", "validation"),
                 "pbis": ("derivation", "validation", "lenvatinib"),
                 "soramic": ("soramic",)}
#: Treatment of each cohort (for labels).
TREATMENT = {("atebev_il6", "discovery"): "atezolizumab + bevacizumab",
             ("atebev_il6", "validation"): "atezolizumab + bevacizumab",
             ("pbis", "derivation"): "atezolizumab + bevacizumab",
             ("pbis", "validation"): "atezolizumab + bevacizumab",
             ("pbis", "lenvatinib"): "lenvatinib",
             ("soramic", "soramic"): "radioembolization + sorafenib"}

METHODS = ("FE", "DL", "REML", "PM")
POOL_COLUMNS = ["analysis", "method", "test", "k", "log_hr", "se", "hr", "lower", "upper",
                "p", "tau2", "tau", "i2", "h2", "q", "q_df", "q_p", "pi_lower", "pi_upper"]


# =========================================================================== published HRs
def _spec(study, id, cohort, endpoint, chosen, how, model, analysis, cutoff_id, high_if):
    return dict(study=study, id=id, cohort=cohort, endpoint=endpoint, chosen=chosen,
                how_chosen=how, model=model, analysis=analysis, cutoff_id=cutoff_id,
                high_if=high_if)


_ATEBEV_CUT = ("atebev_il6", "discovery_il6_cutoff", ">=")
_SORAMIC_CUT = ("soramic", "soramic_cutoff_il6", ">")

#: The printed IL-6 hazard ratios the synthesis uses (one per cohort and analysis), with how
#: each cut-off was chosen and whether the model was adjusted. The numbers themselves are read
#: from ``data/published`` by ``id``.
PUBLISHED_HRS = pd.DataFrame([
    _spec("atebev_il6", "discovery_os_hr_il6_high", "Ate/Bev discovery", "OS", "data-driven",
          "maxstat on PFS in this cohort", "univariable", "OS, univariable", *_ATEBEV_CUT[1:]),
    _spec("atebev_il6", "validation_os_hr_il6_high", "Ate/Bev validation", "OS", "pre-specified",
          "fixed on the discovery cohort", "univariable", "OS, univariable", *_ATEBEV_CUT[1:]),
    _spec("soramic", "soramic_os_hr_il6_high_uni", "SORAMIC", "OS", "pre-specified",
          "from an earlier study", "univariable", "OS, univariable", *_SORAMIC_CUT[1:]),
    _spec("atebev_il6", "discovery_pfs_hr_il6_high", "Ate/Bev discovery", "PFS", "data-driven",
          "maxstat on PFS in this cohort", "univariable", "PFS, univariable", *_ATEBEV_CUT[1:]),
    _spec("atebev_il6", "validation_pfs_hr_il6_high", "Ate/Bev validation", "PFS", "pre-specified",
          "fixed on the discovery cohort", "univariable", "PFS, univariable", *_ATEBEV_CUT[1:]),
    _spec("atebev_il6", "total_os_hr_il6_high_multivariable", "Ate/Bev both cohorts", "OS",
          "data-driven", "chosen on the discovery cohort, which is part of this one", "adjusted",
          "OS, adjusted", *_ATEBEV_CUT[1:]),
    _spec("soramic", "soramic_os_hr_il6_high_m1", "SORAMIC", "OS", "pre-specified",
          "from an earlier study", "adjusted", "OS, adjusted", *_SORAMIC_CUT[1:]),
    _spec("atebev_il6", "total_pfs_hr_il6_high_multivariable", "Ate/Bev both cohorts", "PFS",
          "data-driven", "chosen on the discovery cohort, which is part of this one", "adjusted",
          "PFS, adjusted", *_ATEBEV_CUT[1:]),
])

#: Printed IL-6 survival results the synthesis does not pool, and why.
LEFT_OUT = pd.DataFrame([
    dict(study="soramic", id="soramic_os_hr_il6_high_text",
         reason="the same HR as Table 2, printed again in the Results text with a rounder upper "
                "limit; Table 2's printing is used"),
    dict(study="soramic", id="soramic_os_hr_il6_high_m2",
         reason="a second adjusted model on the same patients (adds mALBI grade); one estimate per "
                "cohort, so Model 1 (the abstract's) is used"),
    dict(study="soramic", id="soramic_ld_hr_il6_high_uni",
         reason="endpoint is time to liver dysfunction, not OS or PFS"),
    dict(study="soramic", id="soramic_ld_hr_il6_high_m1",
         reason="endpoint is time to liver dysfunction, not OS or PFS"),
    dict(study="soramic", id="soramic_ld_hr_il6_high_m2",
         reason="endpoint is time to liver dysfunction, not OS or PFS"),
    dict(study="soramic", id="soramic_pfs_logrank_p_il6",
         reason="PFS by IL-6 is printed as medians and a log-rank p only: no HR"),
    dict(study="pbis", id="derivation_os_p_univariable_il6",
         reason="printed only as 'not associated with clinical outcomes' (p > 0.05): no HR, no CI, "
                "no exact p, so nothing to pool; leaving this null result out pulls the pooled "
                "HR away from 1"),
    dict(study="pbis", id="derivation_pfs_p_univariable_il6",
         reason="printed only as 'not associated with clinical outcomes' (p > 0.05): no HR, no CI, "
                "no exact p, so nothing to pool; leaving this null result out pulls the pooled "
                "HR away from 1"),
])

#: Columns of :func:`published_inputs`.
INPUT_COLUMNS = ["analysis", "study", "cohort", "endpoint", "cutoff", "chosen", "how_chosen",
                 "model", "hr", "lower", "upper", "p", "p_bound", "source", "id", "log_hr",
                 "se", "se_from", "ci_lower", "ci_upper"]


def log_hr_se(hr: float, lower: float | None = None, upper: float | None = None,
              p: float | None = None, p_bound: str = "=") -> tuple[float, float, str]:
    """Log hazard ratio and its standard error from what a paper printed.

    Parameters
    ----------
    hr
        The printed hazard ratio (> 0).
    lower, upper
        The printed 95% CI, if any (both > 0).
    p, p_bound
        The printed two-sided p (``p_bound`` ``"="`` or ``"<"``); used only without a CI.

    Returns
    -------
    (log_hr, se, se_from)
        ``se_from`` is ``"CI"`` (``(log upper - log lower) / (2 z_0.975)``), ``"p"``
        (``|log HR| / Phi^-1(1 - p/2)``, Tierney et al. 2007) or ``"p bound"`` (the same with
        the bound of ``p < x``: the largest SE the printed bound allows).

    Raises
    ------
    ValueError
        If the HR or a CI limit is not positive, or neither a CI nor a usable p was printed
        (``p > x``, p = 1, or HR = 1 with only a p).
    """
    def given(x):
        return x is not None and not (isinstance(x, float) and math.isnan(x))

    if not given(hr) or hr <= 0:
        raise ValueError(f"log_hr_se: the hazard ratio must be a positive number, got {hr!r}")
    y = math.log(hr)
    if given(lower) and given(upper):
        if lower <= 0 or upper <= lower:
            raise ValueError(f"log_hr_se: CI {lower!r}-{upper!r} must satisfy 0 < lower < upper")
        return y, (math.log(upper) - math.log(lower)) / (2 * Z95), "CI"
    if given(p) and p_bound in ("=", "<", "", None) and 0 < p < 1 and y != 0:
        z = float(stats.norm.isf(p / 2))
        return y, abs(y) / z, "p" if p_bound in ("=", "", None) else "p bound"
    raise ValueError(f"log_hr_se: HR {hr!r} has neither a 95% CI nor an exact p (p {p_bound} {p!r}): "
                     "its standard error cannot be recovered")


def published_cutoffs(folder=None) -> pd.DataFrame:
    """The two studies' IL-6 cut-offs, read from ``data/published``.

    Returns
    -------
    pandas.DataFrame
        One row per cut-off: ``name`` (``atebev`` / ``soramic``), ``label``, ``study``,
        ``id``, ``value``, ``unit``, ``high_if`` (``">="``: high = IL-6 >= cut, as the
        Ate/Bev paper prints it; ``">"``: high = IL-6 > cut, as SORAMIC prints it),
        ``chosen`` and ``text`` (the rule sign, the value with its printed decimals and the unit).
    """
    rows = []
    for name, (study, id_, high_if), chosen in (
            ("atebev", _ATEBEV_CUT, "data-driven (maxstat on PFS, Ate/Bev discovery cohort)"),
            ("soramic", _SORAMIC_CUT, "pre-specified (from an earlier study)")):
        row = published.get(study, id_, folder)
        text = published.printed(study, id_, folder=folder)
        sign = "≥" if high_if == ">=" else ">"
        rows.append(dict(name=name, label=f"{STUDY_LABELS[study]} cut-off", study=study, id=id_,
                         value=float(row["value"]), unit=row["unit"], high_if=high_if,
                         chosen=chosen, text=f"{sign} {text} {row['unit']}"))
    return pd.DataFrame(rows)


def published_inputs(folder=None, specs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The input table of the meta-analysis: one row per printed IL-6 HR in :data:`PUBLISHED_HRS`.

    Parameters
    ----------
    folder
        Where the published files are (default ``data/published``).
    specs
        The rows to use (default :data:`PUBLISHED_HRS`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`INPUT_COLUMNS`: the analysis it enters, study, cohort, endpoint, the
        cut-off as printed (``cutoff``), how it was chosen (``chosen``: data-driven or
        pre-specified, and ``how_chosen``), ``model`` (univariable or adjusted), the printed
        ``hr``, ``lower``, ``upper``, ``p``, ``p_bound``, the ``source`` in the paper and its
        ``id``; then ``log_hr``, ``se``, ``se_from`` (:func:`log_hr_se`) and the 95% CI on the
        HR scale that ``se`` implies (``ci_lower``, ``ci_upper``; the printed CI back, up to
        its rounding, where one was printed).
    """
    specs = PUBLISHED_HRS if specs is None else specs
    cuts = published_cutoffs(folder).set_index("id")
    rows = []
    for spec in specs.itertuples(index=False):
        pub = published.get(spec.study, spec.id, folder)
        if pub["quantity"] != "hr":
            raise ValueError(f"data/published/{spec.study}.csv, id {spec.id!r}: expected a hazard "
                             f"ratio (quantity 'hr'), found quantity {pub['quantity']!r}")
        def num(x):
            return None if pd.isna(x) else float(x)
        y, se, se_from = log_hr_se(float(pub["value"]), num(pub["lower"]), num(pub["upper"]),
                                   num(pub["p"]), pub["p_bound"])
        rows.append(dict(
            analysis=spec.analysis, study=spec.study, cohort=spec.cohort, endpoint=spec.endpoint,
            cutoff=cuts.loc[spec.cutoff_id, "text"], chosen=spec.chosen, how_chosen=spec.how_chosen,
            model=spec.model, hr=float(pub["value"]), lower=num(pub["lower"]), upper=num(pub["upper"]),
            p=num(pub["p"]), p_bound=pub["p_bound"], source=pub["source"], id=spec.id,
            log_hr=y, se=se, se_from=se_from, ci_lower=math.exp(y - Z95 * se),
            ci_upper=math.exp(y + Z95 * se)))
    return pd.DataFrame(rows, columns=INPUT_COLUMNS)


def left_out(folder=None) -> pd.DataFrame:
    """The printed IL-6 survival results not pooled (:data:`LEFT_OUT`), with what was printed
    (``printed``), the ``source`` and the ``reason``."""
    from .scorecard import published_text

    rows = []
    for item in LEFT_OUT.itertuples(index=False):
        pub = published.get(item.study, item.id, folder)
        rows.append(dict(study=item.study, id=item.id, printed=published_text(pub),
                         source=pub["source"], reason=item.reason))
    return pd.DataFrame(rows, columns=["study", "id", "printed", "source", "reason"])


def unaccounted_il6_results(folder=None) -> list[str]:
    """Published IL-6 hazard ratios (and IL-6 survival p-values) that are neither used
    (:data:`PUBLISHED_HRS`) nor listed as left out (:data:`LEFT_OUT`); empty when every
    printed one is accounted for."""
    table = published.load(None, folder)
    il6_hr = (table["quantity"] == "hr") & table["group"].str.startswith("il6")
    il6_p = ((table["quantity"] == "p") & (table["group"] == "il6")
             & table["id"].str.contains("_(?:os|pfs)_"))
    known = set(PUBLISHED_HRS["id"]) | set(LEFT_OUT["id"])
    return sorted(set(table.loc[il6_hr | il6_p, "id"]) - known)


# =========================================================================== pooling
def _arrays(yi, vi, where: str):
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.shape != v.shape or y.ndim != 1:
        raise ValueError(f"{where}: effects and variances must be 1-d and of equal length "
                         f"(got {y.shape} and {v.shape})")
    bad = ~np.isfinite(y) | ~np.isfinite(v) | (v <= 0)
    if bad.any():
        raise ValueError(f"{where}: rows {[int(i) for i in np.flatnonzero(bad)]} have a missing effect or a "
                         "variance that is not a positive number")
    if len(y) < 2:
        raise ValueError(f"{where}: pooling needs at least 2 estimates, got {len(y)}")
    return y, v


def tau2_reml(yi, vi, *, tol: float = 1e-12, max_iter: int = 1000) -> float:
    """REML estimate of the between-study variance tau^2, by Fisher scoring.

    Hand-written because statsmodels 0.15's ``combine_effects`` offers DerSimonian-Laird
    and Paule-Mandel only. Follows ``metafor::rma(method = "REML")`` (Viechtbauer 2005):
    with ``w = 1 / (v + tau^2)`` and ``P = W - w w' / sum(w)``, the step is
    ``(y'PPy - tr P) / tr(PP)``; a step that would make tau^2 negative is halved until it
    does not (metafor's rule), and tau^2 = 0 is accepted when the score there is negative
    (the REML maximum on the boundary). Starts at the DerSimonian-Laird value; stops when
    the change is below ``tol`` (metafor's default threshold is 1e-5; the R fixture sets
    1e-10 so both sides are converged far below the tested 1e-6).
    """
    y, v = _arrays(yi, vi, "tau2_reml")
    tau2 = tau2_dl(y, v)
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        sw = w.sum()
        r = y - (w * y).sum() / sw
        score = (w ** 2 * r ** 2).sum() - (sw - (w ** 2).sum() / sw)
        info = (w ** 2).sum() - 2 * (w ** 3).sum() / sw + ((w ** 2).sum() / sw) ** 2
        step = score / info
        if tau2 == 0 and step <= 0:
            return 0.0
        while tau2 + step < 0:
            step /= 2
        tau2 += step
        if abs(step) < tol:
            return float(tau2)
    raise RuntimeError(f"tau2_reml: Fisher scoring did not converge in {max_iter} iterations")


def _combine(y: np.ndarray, v: np.ndarray, **kw):
    """``statsmodels.stats.meta_analysis.combine_effects``, quiet about the square root of a
    negative untruncated DL variance it computes for its own random-effects part (which is
    not used from that call)."""
    from statsmodels.stats.meta_analysis import combine_effects

    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return combine_effects(y, v, **kw)


def tau2_dl(yi, vi) -> float:
    """DerSimonian-Laird tau^2 from ``combine_effects(method_re="dl")``, truncated at 0 as
    metafor does (statsmodels returns the untruncated moment estimate ``(Q - df) / c``)."""
    y, v = _arrays(yi, vi, "tau2_dl")
    return float(max(0.0, _combine(y, v, method_re="dl").tau2))


def tau2_pm(yi, vi) -> float:
    """Paule-Mandel tau^2 from ``combine_effects(method_re="pm")``, iterated to a tight
    tolerance (``atol=1e-12``; statsmodels' default 1e-5 is on the estimating equation)."""
    y, v = _arrays(yi, vi, "tau2_pm")
    return float(max(0.0, _combine(y, v, method_re="pm", atol=1e-12, maxiter=1000).tau2))


def pool(yi, vi, method: str = "REML", *, test: str = "z", alpha: float = 0.05,
         analysis: str = "") -> pd.DataFrame:
    """Pool log hazard ratios (or any effects on an additive scale) by inverse variance.

    Parameters
    ----------
    yi, vi
        Effects (log HR) and their variances (SE^2); at least two.
    method
        ``"FE"`` (fixed effect), ``"DL"``, ``"REML"`` or ``"PM"`` (random effects, tau^2 by
        DerSimonian-Laird, restricted maximum likelihood or Paule-Mandel).
    test
        ``"z"`` (normal CI and p) or ``"knha"`` (Hartung-Knapp: the HKSJ standard error and
        t with ``k - 1`` df), as ``metafor::rma(test = ...)``.
    alpha
        1 - confidence level.
    analysis
        A label copied into the result.

    Returns
    -------
    pandas.DataFrame
        One row, :data:`POOL_COLUMNS`: pooled ``log_hr`` and ``se``, ``hr`` = exp(log_hr)
        with its CI ``lower``/``upper`` and ``p``; ``tau2``, ``tau``, ``i2`` (in %), ``h2``,
        ``q`` with ``q_df`` and ``q_p``; the prediction interval on the HR scale
        (``pi_lower``, ``pi_upper``; for ``"FE"`` the CI). Conventions in the module docstring.
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"pool: method must be one of {', '.join(METHODS)}, not {method!r}")
    if test not in ("z", "knha"):
        raise ValueError(f"pool: test must be 'z' or 'knha', not {test!r}")
    y, v = _arrays(yi, vi, "pool")
    k = len(y)
    fe = _combine(y, v, method_re="dl")
    tau2 = {"FE": lambda: 0.0, "DL": lambda: tau2_dl(y, v), "REML": lambda: tau2_reml(y, v),
            "PM": lambda: tau2_pm(y, v)}[method]()
    # the random-effects model with known tau^2 = the fixed-effect model on v + tau^2
    re = _combine(y, v + tau2, method_re="dl")
    mu = float(re.mean_effect_fe)
    if test == "knha":
        se = float(np.sqrt(re.var_hksj_fe))
        crit = float(stats.t.isf(alpha / 2, k - 1))
        p = float(2 * stats.t.sf(abs(mu / se), k - 1))
    else:
        se = float(re.sd_eff_w_fe)
        crit = float(stats.norm.isf(alpha / 2))
        p = float(2 * stats.norm.sf(abs(mu / se)))
    w = 1 / v
    s2 = (k - 1) * w.sum() / (w.sum() ** 2 - (w ** 2).sum())
    q = float(fe.q)
    if method == "FE":
        i2 = max(0.0, (q - (k - 1)) / q) * 100 if q > 0 else 0.0
        h2 = q / (k - 1)
        pi_half = crit * se
    else:
        i2 = 100 * tau2 / (tau2 + s2)
        h2 = (tau2 + s2) / s2
        pi_half = crit * math.sqrt(se ** 2 + tau2)
    return pd.DataFrame([dict(
        analysis=analysis, method=method, test=test, k=k, log_hr=mu, se=se, hr=math.exp(mu),
        lower=math.exp(mu - crit * se), upper=math.exp(mu + crit * se), p=p, tau2=tau2,
        tau=math.sqrt(tau2), i2=i2, h2=h2, q=q, q_df=k - 1, q_p=float(stats.chi2.sf(q, k - 1)),
        pi_lower=math.exp(mu - pi_half), pi_upper=math.exp(mu + pi_half))], columns=POOL_COLUMNS)


def meta_analyses(inputs: pd.DataFrame, *, methods=("DL", "REML"), tests=("z", "knha"),
                  by: str = "analysis", label: str | None = None) -> pd.DataFrame:
    """:func:`pool` for every group of ``inputs`` (default: per ``analysis``) with at least two
    rows, for every method and test.

    Parameters
    ----------
    inputs
        Needs ``log_hr``, ``se`` and the ``by`` column (e.g. :func:`published_inputs`).
    methods, tests
        Passed to :func:`pool`, all combinations.
    by
        The column that defines the separate analyses.
    label
        Appended to each analysis name (e.g. ``"pre-specified only"``).

    Returns
    -------
    pandas.DataFrame
        :data:`POOL_COLUMNS`, one row per analysis, method and test; groups with a single
        row are skipped (nothing to pool).
    """
    missing = [c for c in ("log_hr", "se", by) if c not in inputs.columns]
    if missing:
        raise ValueError(f"meta_analyses: the input table lacks column(s) {', '.join(missing)}")
    frames = []
    for name, part in inputs.groupby(by, sort=False):
        if len(part) < 2:
            continue
        title = f"{name}, {label}" if label else str(name)
        for method in methods:
            for test in tests:
                frames.append(pool(part["log_hr"], part["se"] ** 2, method, test=test,
                                   analysis=title))
    if not frames:
        return pd.DataFrame(columns=POOL_COLUMNS)
    return pd.concat(frames, ignore_index=True)


# =========================================================================== the cut-off question
def shrinkage_factor(apparent_hr: float, corrected_hr: float) -> float:
    """Uniform shrinkage factor ``log(corrected HR) / log(apparent HR)``.

    ``apparent_hr`` is the HR of a data-driven cut-off in the data that chose it,
    ``corrected_hr`` an optimism-corrected version (Faraggi-Simon cross-validated or
    bootstrap-corrected). 1 means no optimism; 0 means the whole effect was optimism. A
    corrected HR on the other side of 1 gives a negative factor, which is returned as it is.

    Raises
    ------
    ValueError
        If either HR is not positive, or the apparent HR is 1 (nothing to shrink).
    """
    for name, x in (("apparent_hr", apparent_hr), ("corrected_hr", corrected_hr)):
        if x is None or not math.isfinite(float(x)) or float(x) <= 0:
            raise ValueError(f"shrinkage_factor: {name} must be a positive number, got {x!r}")
    if math.isclose(float(apparent_hr), 1.0):
        raise ValueError("shrinkage_factor: the apparent HR is 1, there is no effect to shrink")
    return math.log(float(corrected_hr)) / math.log(float(apparent_hr))


def shrink_log_hr(inputs: pd.DataFrame, factor: float, *, which: str = "data-driven") -> pd.DataFrame:
    """The input table with the log HRs of the ``chosen == which`` rows multiplied by ``factor``.

    Uniform shrinkage (van Houwelingen & le Cessie 1990): ``log HR * factor``; the SE is left
    as it is (the uncertainty of the estimate does not shrink with its optimism). ``hr``,
    ``ci_lower`` and ``ci_upper`` are recomputed from the shrunk log HR; the printed
    ``lower``/``upper``/``p`` are kept. A column ``shrunk`` (bool) marks the changed rows.

    Raises
    ------
    ValueError
        If ``factor`` is not a finite number or a needed column is missing.
    """
    if factor is None or not math.isfinite(float(factor)):
        raise ValueError(f"shrink_log_hr: factor must be a finite number, got {factor!r}")
    missing = [c for c in ("log_hr", "se", "chosen") if c not in inputs.columns]
    if missing:
        raise ValueError(f"shrink_log_hr: the input table lacks column(s) {', '.join(missing)}")
    out = inputs.copy()
    mask = out["chosen"] == which
    out.loc[mask, "log_hr"] = out.loc[mask, "log_hr"] * float(factor)
    out["hr"] = np.where(mask, np.exp(out["log_hr"]), out["hr"])
    out["ci_lower"] = np.exp(out["log_hr"] - Z95 * out["se"])
    out["ci_upper"] = np.exp(out["log_hr"] + Z95 * out["se"])
    out["shrunk"] = mask
    return out


# =========================================================================== every cut-off
def read_cohorts(atebev_file=None, pbis_file=None, soramic_file=None) -> dict:
    """Each study's cohort file (``None``: the shipped synthetic one), read and validated with
    :func:`helpers.contract.read_cohort` and split by its ``cohort`` column.

    Returns
    -------
    dict
        ``{(study, cohort): DataFrame}`` in :data:`STUDY_COHORTS` order; cohorts absent from
        a file are left out.
    """
    from . import contract

    files = {"atebev_il6": atebev_file, "pbis": pbis_file, "soramic": soramic_file}
    out = {}
    for study, file in files.items():
        df = contract.read_cohort(study, file)
        labels = df["cohort"].astype(str)
        for cohort in STUDY_COHORTS[study]:
            part = df[labels == cohort]
            if len(part):
                out[(study, cohort)] = part.reset_index(drop=True)
    return out


def cohort_label(study: str, cohort: str) -> str:
    """``"Ate/Bev discovery"``, ``"PBIS lenvatinib"``, ``"SORAMIC"``."""
    return STUDY_LABELS[study] if study == cohort else f"{STUDY_LABELS[study]} {cohort}"


#: Columns of :func:`every_cutoff`'s table.
CUTOFF_COLUMNS = ["study", "cohort", "label", "treatment", "endpoint", "cutoff_name", "cutoff",
                  "rule", "n", "n_low", "n_high", "events_low", "events_high", "median_low",
                  "median_high", "hr", "lower", "upper", "p", "p_corrected", "note"]


def _split_row(sub: pd.DataFrame, t: str, e: str, high: pd.Series) -> tuple[dict, pd.DataFrame | None]:
    """Sizes, medians, Cox HR of one split; and its KM table (None when a group is empty)."""
    d = sub.assign(il6_high=high.astype(float).where(sub[MARKER].notna()))
    d = d.dropna(subset=[t, e, "il6_high"])
    d["il6_group"] = pd.Categorical(d["il6_high"].map({0.0: "IL-6 low", 1.0: "IL-6 high"}),
                                    categories=["IL-6 low", "IL-6 high"])
    n_low, n_high = int((d["il6_high"] == 0).sum()), int((d["il6_high"] == 1).sum())
    ev_low = int(d.loc[d["il6_high"] == 0, e].sum())
    ev_high = int(d.loc[d["il6_high"] == 1, e].sum())
    row = dict(n=len(d), n_low=n_low, n_high=n_high, events_low=ev_low, events_high=ev_high,
               median_low=np.nan, median_high=np.nan, hr=np.nan, lower=np.nan, upper=np.nan,
               p=np.nan, note="")
    if min(n_low, n_high) == 0:
        row["note"] = "one group is empty"
        return row, None
    km = survival.km_table(d, t, e, "il6_group")
    summ = survival.km_summary(d, t, e, "il6_group").set_index("group")
    row["median_low"] = float(summ.loc["IL-6 low", "median"])
    row["median_high"] = float(summ.loc["IL-6 high", "median"])
    if min(ev_low, ev_high) == 0 or min(n_low, n_high) < 3:
        row["note"] = "too few patients or events in a group for a hazard ratio"
        return row, km
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            res = survival.cox(d, t, e, ["il6_high"])
        except (RuntimeWarning, ValueError) as exc:
            row["note"] = f"no finite hazard ratio ({str(exc).split(';')[0]})"
            return row, km
    tab = res.table.iloc[0]
    row.update(hr=float(tab["hr"]), lower=float(tab["lower"]), upper=float(tab["upper"]),
               p=float(tab["p"]))
    return row, km


def every_cutoff(cohorts: dict, cutoffs: pd.DataFrame | None = None, endpoints=("os", "pfs"), *,
                 minprop: float = 0.1, maxprop: float = 0.9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IL-6 high vs low at every cut-off, in every cohort, for every endpoint.

    Parameters
    ----------
    cohorts
        ``{(study, cohort): DataFrame}`` (:func:`read_cohorts`).
    cutoffs
        The published cut-offs (:func:`published_cutoffs`; the default).
    endpoints
        Keys of :data:`ENDPOINTS`.
    minprop, maxprop
        The share of patients allowed in the low group for the cohort's own maxstat cut-off.

    Returns
    -------
    (table, km)
        ``table``: :data:`CUTOFF_COLUMNS`, one row per cohort, endpoint and cut-off (the
        published ones, then ``own maxstat``). ``rule`` says which side is high; ``p`` is the
        Cox Wald p (for the own maxstat cut-off this p ignores the search: ``p_corrected``
        is maxstat's exactGauss p, corrected for it); ``note`` says why a row has no HR
        (a cohort without IL-6 or the endpoint, an empty group, no events in a group).
        ``km``: the Kaplan-Meier tables (:data:`helpers.survival.KM_COLUMNS`) with ``study``,
        ``cohort``, ``endpoint`` and ``cutoff_name`` added.
    """
    cutoffs = published_cutoffs() if cutoffs is None else cutoffs
    rows, curves = [], []
    for (study, cohort), df in cohorts.items():
        base = dict(study=study, cohort=cohort, label=cohort_label(study, cohort),
                    treatment=TREATMENT.get((study, cohort), ""))
        for ep in endpoints:
            t, e, ep_label = ENDPOINTS[ep]
            missing = [c for c in (MARKER, t, e) if c not in df.columns]
            if not missing and df[[MARKER, t, e]].dropna().empty:
                missing = [f"complete {MARKER}/{t}/{e} rows"]
            specs = [(c.name, c.value, c.high_if, None) for c in cutoffs.itertuples()]
            if not missing:
                data = df.dropna(subset=[MARKER, t, e])
                try:
                    res = maxstat.maxstat_test(data, t, e, MARKER, minprop=minprop, maxprop=maxprop,
                                               pmethods=("exactGauss",))
                    specs.append(("own maxstat", res.cutoff, ">", res.p("exactGauss")))
                except ValueError as exc:
                    specs.append(("own maxstat", np.nan, ">", np.nan))
                    base_note = str(exc)
            else:
                specs.append(("own maxstat", np.nan, ">", np.nan))
            for name, value, high_if, p_corr in specs:
                row = dict(base, endpoint=ep_label, cutoff_name=name, cutoff=value,
                           rule=f"high: IL-6 {'≥' if high_if == '>=' else '>'} cut", p_corrected=p_corr)
                if missing:
                    row.update(n=0, note=f"this cohort has no {', '.join(missing)}")
                    rows.append(row)
                    continue
                if not np.isfinite(value):
                    row.update(n=len(data), note=f"maxstat: {base_note}")
                    rows.append(row)
                    continue
                x = data[MARKER]
                high = (x >= value) if high_if == ">=" else (x > value)
                stats_row, km = _split_row(data, t, e, high)
                row.update(stats_row)
                rows.append(row)
                if km is not None:
                    curves.append(km.assign(study=study, cohort=cohort, endpoint=ep_label,
                                            cutoff_name=name))
    table = pd.DataFrame(rows).reindex(columns=CUTOFF_COLUMNS)
    for c in ("n", "n_low", "n_high", "events_low", "events_high"):
        table[c] = pd.array(table[c], dtype="Int64")
    km = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=survival.KM_COLUMNS + ["study", "cohort", "endpoint", "cutoff_name"])
    return table, km


# =========================================================================== presentation
def fmt_p_cell(p: float, bound: str = "=") -> str:
    """A p for a table cell: ``<0.001`` or three decimals; a printed bound kept (``<0.001``)."""
    if p is None or pd.isna(p):
        return ""
    if bound == "<":
        return f"<{p:.3f}"
    if bound == ">":
        return f">{p:.3f}"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _short(x: float) -> str:
    """Two decimals below 10, one from 10 on (``4.64``, ``11.6``): narrow forest-plot columns."""
    return f"{x:.2f}" if abs(x) < 10 else f"{x:.1f}"


def _hr_ci(hr: float, lower: float, upper: float, mark: str = "") -> str:
    return f"{_short(hr)} ({_short(lower)}–{_short(upper)}){mark}"


def forest_table(inputs: pd.DataFrame, pooled: pd.DataFrame, *, method: str = "REML",
                 test: str = "knha", extra_pooled: list[tuple[str, pd.DataFrame, str]] | None = None
                 ) -> pd.DataFrame:
    """Rows of the forest plot: per analysis, its input HRs, then its pooled estimate
    (``method``/``test``) and the prediction interval, then any ``extra_pooled`` rows
    (``(label, pooled frame, detail)``: the frame's row whose ``analysis`` starts with the
    analysis name is used).

    Returns
    -------
    pandas.DataFrame
        ``section`` (the analysis), ``label``, ``detail`` (a second line: how the cut-off
        was chosen, where the SE came from), ``kind`` (``study``, ``pooled``, ``prediction``),
        ``hr``, ``lower``, ``upper``, ``p_text``, ``ci_text``.
    """
    rows = []
    extra = extra_pooled or []
    for analysis, part in inputs.groupby("analysis", sort=False):
        for r in part.itertuples(index=False):
            mark = "" if r.se_from == "CI" else "†"
            rows.append(dict(section=analysis, label=r.cohort,
                             detail=f"{r.chosen} {r.cutoff}",
                             kind="study", hr=r.hr, lower=r.ci_lower, upper=r.ci_upper,
                             p_text=fmt_p_cell(r.p, r.p_bound),
                             ci_text=_hr_ci(r.hr, r.ci_lower, r.ci_upper, mark)))
        sel = pooled[(pooled["analysis"] == analysis) & (pooled["method"] == method)
                     & (pooled["test"] == test)]
        if len(sel):
            s = sel.iloc[0]
            how = f"{method}{', HK' if test == 'knha' else ''}"
            rows.append(dict(section=analysis, label=f"Pooled ({how})",
                             detail=f"k = {int(s['k'])}, τ² = {s['tau2']:.2f}, I² = {s['i2']:.0f}%",
                             kind="pooled", hr=s["hr"], lower=s["lower"], upper=s["upper"],
                             p_text=fmt_p_cell(s["p"]), ci_text=_hr_ci(s["hr"], s["lower"], s["upper"])))
            rows.append(dict(section=analysis, label="Prediction interval", detail="a new cohort",
                             kind="prediction", hr=s["hr"], lower=s["pi_lower"], upper=s["pi_upper"],
                             p_text="", ci_text=f"{_short(s['pi_lower'])}–{_short(s['pi_upper'])}"))
        for name, frame, detail in extra:
            sel = frame[(frame["analysis"].str.startswith(analysis)) & (frame["method"] == method)
                        & (frame["test"] == test)]
            if len(sel):
                s = sel.iloc[0]
                rows.append(dict(section=analysis, label=name,
                                 detail=detail or f"k = {int(s['k'])}",
                                 kind="pooled", hr=s["hr"], lower=s["lower"], upper=s["upper"],
                                 p_text=fmt_p_cell(s["p"]), ci_text=_hr_ci(s["hr"], s["lower"], s["upper"])))
    return pd.DataFrame(rows, columns=["section", "label", "detail", "kind", "hr", "lower",
                                       "upper", "p_text", "ci_text"])


def study_inputs() -> list:
    """Every data file the synthesis chapter reads by default: the three synthetic cohorts
    and the three published-numbers files (for the build's cache fingerprint)."""
    return [f for s in paths.STUDIES for f in (paths.synthetic_cohort(s), paths.published_numbers(s))
            if f.exists()]


# =========================================================================== tables for the page
def _ci(lower, upper) -> str:
    if lower is None or upper is None or pd.isna(lower) or pd.isna(upper):
        return ""
    return f"{lower:.2f}–{upper:.2f}"


def _num(x, digits=2) -> str:
    return "" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def display_cutoffs(table: pd.DataFrame, cutoffs: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`every_cutoff`'s table with human column labels and formatted cells."""
    cutoffs = published_cutoffs() if cutoffs is None else cutoffs
    names = {c.name: f"{c.label} ({c.text})" for c in cutoffs.itertuples()}

    def cut_label(r):
        if r["cutoff_name"] in names:
            return names[r["cutoff_name"]]
        return "own maxstat" + (f" (> {r['cutoff']:.2f})" if pd.notna(r["cutoff"]) else "")

    out = pd.DataFrame({
        "Cohort": table["label"], "Endpoint": table["endpoint"],
        "Cut-off": table.apply(cut_label, axis=1),
        "IL-6 low / high, n": [f"{a} / {b}" if pd.notna(a) else "" for a, b in zip(table["n_low"], table["n_high"])],
        "Events low / high": [f"{a} / {b}" if pd.notna(a) else "" for a, b in
                              zip(table["events_low"], table["events_high"])],
        "Median low / high, months": [f"{_num(a, 1) or 'NR'} / {_num(b, 1) or 'NR'}" if pd.notna(n) and n > 0 else ""
                                      for a, b, n in zip(table["median_low"], table["median_high"], table["n"])],
        "HR (95% CI)": [f"{h:.2f} ({_ci(lo, up)})" if pd.notna(h) else "" for h, lo, up in
                        zip(table["hr"], table["lower"], table["upper"])],
        "p (Wald)": [fmt_p_cell(p) for p in table["p"]],
        "p corrected for the search": [fmt_p_cell(p) for p in table["p_corrected"]],
        "Note": table["note"].fillna(""),
    })
    return out


def display_inputs(inputs: pd.DataFrame) -> pd.DataFrame:
    """:func:`published_inputs` with human column labels: what each paper printed and how
    the synthesis reads it."""
    return pd.DataFrame({
        "Analysis": inputs["analysis"], "Cohort": inputs["cohort"], "Cut-off": inputs["cutoff"],
        "How chosen": inputs["chosen"] + ": " + inputs["how_chosen"], "Model": inputs["model"],
        "Printed HR": [f"{h:g}" for h in inputs["hr"]],
        "Printed 95% CI": [_ci(lo, up) if pd.notna(lo) else "not printed" for lo, up in
                           zip(inputs["lower"], inputs["upper"])],
        "Printed p": [fmt_p_cell(p, b) for p, b in zip(inputs["p"], inputs["p_bound"])],
        "SE of log HR": [f"{s:.3f}" for s in inputs["se"]],
        "SE from": inputs["se_from"].map({"CI": "the printed CI", "p": "the printed p",
                                          "p bound": "the printed bound of p (largest SE)"}),
        "Source in the paper": inputs["source"],
    })


def fmt_tau2(tau2: float) -> str:
    """τ² for tables and prose: ``0`` where the estimator truncates at zero (DL, REML and PM
    often do with two or three cohorts), ``<0.001`` when tiny, else three decimals; never
    ``0.000``, which a reader takes for a p-value."""
    if not np.isfinite(tau2):
        return "NA"
    return "0" if tau2 == 0 else ("<0.001" if tau2 < 0.0005 else f"{tau2:.3f}")


def display_pooled(pooled: pd.DataFrame) -> pd.DataFrame:
    """:func:`meta_analyses` with human column labels."""
    return pd.DataFrame({
        "Analysis": pooled["analysis"], "τ² estimator": pooled["method"],
        "CI and p": pooled["test"].map({"z": "normal", "knha": "Hartung-Knapp (t, k − 1 df)"}),
        "k": pooled["k"].astype(int),
        "Pooled HR (95% CI)": [f"{h:.2f} ({_ci(lo, up)})" for h, lo, up in
                               zip(pooled["hr"], pooled["lower"], pooled["upper"])],
        "p": [fmt_p_cell(p) for p in pooled["p"]],
        "τ²": [fmt_tau2(t) for t in pooled["tau2"]],
        "I² (%)": [f"{i:.1f}" for i in pooled["i2"]],
        "Q (df), p": [f"{q:.2f} ({int(d)}), {fmt_p_cell(p)}" for q, d, p in
                      zip(pooled["q"], pooled["q_df"], pooled["q_p"])],
        "95% prediction interval": [_ci(lo, up) for lo, up in zip(pooled["pi_lower"], pooled["pi_upper"])],
    })
