"""Per-study cohort contracts: ``helpers/schemas/<study>.py`` each define ``CONTRACTS``."""
