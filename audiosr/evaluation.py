"""The evaluation protocol: decimate whole references, up-sample, score each file, average."""

from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_rate
from .metrics import LSD_CONVENTIONS, lsd, lsd_hf, snr
from .processing import upsample
from .signal import DECIMATION_METHODS, decimate

__all__ = ["evaluate"]


def evaluate(method, references, rate, *, decimation="iir", lsd_conventions=()):
    """Mean SNR, LSD and LSD-HF of a method over whole reference signals.

    Each reference is cut to a multiple of ``rate``, decimated (the TFNet protocol's
    order-8 Chebyshev by default), up-sampled back with ``method`` and scored against
    itself with the default conventions of :mod:`audiosr.metrics`; the figures are
    means over files (never over concatenated audio).

    Parameters
    ----------
    method : str or estimator
        As in :func:`audiosr.upsample`.
    references : sequence of 1-D array-like
        High-rate reference signals.
    rate : int
        Up-sampling factor.
    decimation : str or sequence of str, default="iir"
        How the low-rate inputs are made: one of
        ``audiosr.signal.DECIMATION_METHODS`` (see :func:`audiosr.signal.decimate`),
        or several of them to score the method on inputs made by each (real low-rate
        files come from many tools, and a model can depend on which one).
    lsd_conventions : sequence of str, default=()
        Further LSD conventions of :func:`audiosr.metrics.lsd` to report (e.g.
        ``("kuleshov2017",)``), each per file and averaged like the others, under the
        key ``"lsd_<convention>"``.

    Returns
    -------
    scores : dict or list of dict
        For one decimation method, ``{"snr": dB, "lsd": bels, "lsd_hf": bels, "files": n}``
        plus one ``"lsd_<convention>"`` entry per extra convention. For a sequence,
        one such dict per method, in the order given, each with a ``"decimation"`` key
        naming the method.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.evaluation import evaluate
    >>> t = np.arange(16000) / 16000
    >>> scores = evaluate("sinc", [np.sin(2 * np.pi * 440 * t)], 4)
    >>> sorted(scores)
    ['files', 'lsd', 'lsd_hf', 'snr']
    >>> rows = evaluate("sinc", [np.sin(2 * np.pi * 440 * t)], 4, decimation=["iir", "soxr_hq"])
    >>> [row["decimation"] for row in rows]
    ['iir', 'soxr_hq']
    """
    rate = check_rate(rate)
    if len(references) == 0:
        raise ValueError("references is empty: pass at least one signal.")
    single = isinstance(decimation, str)
    makers = [decimation] if single else list(decimation)
    if not makers:
        raise ValueError(f"decimation is empty: pass a method of {sorted(DECIMATION_METHODS)} or a list of them.")
    for maker in makers:
        check_choice(maker, DECIMATION_METHODS, name="decimation method")
    conventions = list(lsd_conventions)
    for convention in conventions:
        check_choice(convention, LSD_CONVENTIONS, name="lsd_conventions")
    rows = {maker: [] for maker in makers}
    for y in references:
        y = np.asarray(y)[: len(y) // rate * rate]
        for maker in makers:
            y_hat = upsample(decimate(y, rate, method=maker), rate, method=method)
            row = [snr(y, y_hat), lsd(y, y_hat), lsd_hf(y, y_hat, rate=rate)]
            rows[maker].append(row + [lsd(y, y_hat, convention=c) for c in conventions])
    keys = ["snr", "lsd", "lsd_hf"] + [f"lsd_{c}" for c in conventions]
    results = [
        {**({} if single else {"decimation": maker}), **_means(keys, rows[maker]), "files": len(rows[maker])}
        for maker in makers
    ]
    return results[0] if single else results


def _means(keys, rows):
    return {k: float(m) for k, m in zip(keys, np.mean(rows, axis=0))}
