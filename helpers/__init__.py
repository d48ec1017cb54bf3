"""Shared code for the HCC serum-biomarker book.

One module per concern (see the module docstrings):

- :mod:`helpers.paths`      where everything lives (the only place that knows)
- :mod:`helpers.survival`   Kaplan-Meier, log-rank, Cox (R ``survival`` conventions)
- :mod:`helpers.regression` logistic regression
- :mod:`helpers.maxstat`    maximally selected rank statistics (R ``maxstat``) and the
  uncorrected minimum-p search
- :mod:`helpers.tables`     Table 1 by group (R ``tableone`` conventions)
- :mod:`helpers.scores`     ALBI / mALBI, CRAFITY, NLR, PBIS
- :mod:`helpers.matching`   propensity-score matching (R ``MatchIt`` conventions)
- :mod:`helpers.plots`      drawing only: every function takes a tidy DataFrame and ``ax=None``
- :mod:`helpers.results`    record a reported number: glue it, and append it to a results file
- :mod:`helpers.published`  the papers' printed numbers (``data/published/``)
- :mod:`helpers.prose`      computed words for the prose (direction, significance)
- :mod:`helpers.scorecard`  published vs this cohort, with a verdict per number
- :mod:`helpers.audit`      each paper's printed numbers checked against each other
- :mod:`helpers.contract`   the cohort contract (pandera schemas) and readable validation
- :mod:`helpers.synth`      synthetic cohorts built from the published numbers
- :mod:`helpers.studies`    study-specific analysis steps shared by a study's chapters
- :mod:`helpers.synthesis`  the IL-6 evidence across the three studies: every cut-off on every
  cohort, and a random-effects meta-analysis of the published hazard ratios (R ``metafor``)
- :mod:`helpers.run`        re-run a study's chapters on a new cohort (papermill)
- :mod:`helpers.optimism`   the cut-point optimism report card (``python -m helpers optimism``)

Import the submodule you need; this package imports nothing heavy on its own.
"""

__version__ = "0.1.0"
