"""The same Cox model fitted once per kernel: :func:`cox` remembers recent fits by content.

A chapter fits most of its models twice: once in its study's ``reproduce`` (the numbers it
records) and once more for the table it shows (``pbis_multivariable``: 17 models, each on the
whole derivation cohort). On a 165,000-patient cohort each fit costs seconds. :func:`cox`
is :func:`helpers.survival.cox` with the result kept for the next identical call.

"Identical" is decided by content, never by object identity: the key is a BLAKE2b digest of
the bytes of the columns the model uses (values, dtypes, categories, row order) with the
column names, the options and the fitting code (``survival.cox`` and what it uses, so a
patched method in a test is never answered by a fit of the original), so a different or
changed table can never return a stored fit. At most :data:`MAX_FITS` fits are kept (least
recently used dropped first), which bounds the memory at a few MB per fit at 165,000
patients.
"""
from __future__ import annotations

import dataclasses
import hashlib
import warnings
from collections import OrderedDict

import numpy as np
import pandas as pd

from . import disclosure, survival

#: Fits kept per process.
MAX_FITS = 24
_FITS: OrderedDict = OrderedDict()


def digest(df: pd.DataFrame, columns) -> str:
    """BLAKE2b of ``df[columns]``: names, dtypes (with categories) and every value in row
    order (numbers as their bytes; other columns through ``pd.util.hash_pandas_object``)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(repr(len(df)).encode())
    for c in columns:
        s = df[c]
        h.update(repr((c, str(s.dtype), list(s.cat.categories) if isinstance(s.dtype, pd.CategoricalDtype)
                       else None)).encode())
        if isinstance(s.dtype, pd.CategoricalDtype):
            h.update(np.ascontiguousarray(s.cat.codes.to_numpy()).tobytes())
        elif s.dtype.kind in "biufcmM":
            h.update(np.ascontiguousarray(s.to_numpy()).tobytes())
        else:
            h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())
    return h.hexdigest()


def cox(df: pd.DataFrame, time: str, event: str, covariates, reference: dict | None = None,
        **options) -> survival.CoxResult:
    """:func:`helpers.survival.cox` (same arguments, same result), fitted once per content, as
    a chapter may show it (:func:`helpers.disclosure.protect_cox` under a disclosure policy).
    Each call gets its own copy of the result's table and covariance, and the warnings the fit
    gave (a likelihood that does not converge, numpy's arithmetic warnings) are given again on
    every call, so callers that turn them into notes see the same notes; errors are not kept
    (an identical call raises again)."""
    covariates = list(covariates)
    cols = [c for c in dict.fromkeys([time, event, *covariates]) if c in df.columns]
    # the fitting code is part of the key too: a replaced survival.cox (or its CI's z, its
    # likelihood) never returns a fit made by the one before (the method tests patch them)
    code = (id(survival.cox), survival.Z95, id(survival._EfronModel), id(survival.concordance_index))
    key = (time, event, tuple(covariates), repr(sorted((reference or {}).items())),
           repr(sorted(options.items())), tuple(cols), digest(df, cols), code)
    if key in _FITS:
        _FITS.move_to_end(key)
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = survival.cox(df, time, event, covariates, reference, **options)
        _FITS[key] = (fit, [(str(w.message), w.category) for w in caught])
        while len(_FITS) > MAX_FITS:
            _FITS.popitem(last=False)
    res, given = _FITS[key]
    for message, category in given:
        warnings.warn(message, category, stacklevel=2)
    out = dataclasses.replace(res, table=res.table.copy(), reference=dict(res.reference),
                              covariance=None if res.covariance is None else res.covariance.copy())
    # the fits chapters show: disclosure control (a no-op unless a policy is set) on the copy,
    # so the stored fit stays the same whatever the policy
    return disclosure.protect_cox(out)


def clear() -> None:
    """Forget every stored fit."""
    _FITS.clear()
