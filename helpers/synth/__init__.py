"""Synthetic cohorts built from the published numbers (``data/published/``).

``helpers/synth/common.py`` holds the shared machinery (iterative proportional fitting,
integer rounding that keeps margins, markers matched to printed quantiles, proportional-
hazards survival times after Bender, Augustin & Blettner 2005, censoring matched to event
counts, deterministic CSV writing). ``helpers/synth/<study>.py`` each define
``generate(seed) -> dict[str, pandas.DataFrame]`` (file stem -> table) and ``SEED``.
"""
