"""The evaluation protocol: decimate whole references, up-sample, score each file, average.

:func:`evaluate` is the protocol; :func:`evaluate_input_makers` runs it for a model and
a baseline on the inputs of every tool that makes low-rate files, and
:func:`ship_rule` says on which of them the model does not beat the baseline (the rule
a pretrained model must pass to ship).
"""

from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_rate
from .metrics import LSD_CONVENTIONS, lsd, lsd_hf, snr
from .processing import method_label, upsample
from .signal import DECIMATION_METHODS, decimate

__all__ = ["evaluate", "evaluate_input_makers", "ship_rule", "INPUT_MAKERS", "SNR_TOLERANCE"]

#: The input makers of :func:`evaluate_input_makers`: the anti-alias filters of the tools
#: that make real low-rate files (``audiosr.signal.MIX_METHODS``: scipy's decimate and
#: resample_poly, soxr HQ and VHQ, FFT resampling, zero-phase Butterworth) and scipy's FIR
#: decimation; every ``DECIMATION_METHODS`` entry but ``"subsample"``, which filters nothing.
INPUT_MAKERS = ("iir", "fir", "poly", "soxr_hq", "soxr_vhq", "fft", "butter")

#: dB of SNR a model may lose to the baseline under :func:`ship_rule`.
SNR_TOLERANCE = 0.5

#: The scores :func:`evaluate_input_makers` keeps per maker and up-sampler.
_SCORES = ("snr", "lsd", "lsd_hf")


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


def _baseline_key(baseline):
    return method_label(baseline) if baseline is not None else None


def evaluate_input_makers(model, references, rate, *, makers=INPUT_MAKERS, baseline="sinc"):
    """Scores of a model and of a baseline on inputs made by each input maker.

    Runs :func:`evaluate` (whole files, default conventions, means over files) once per
    up-sampler with ``decimation=makers``: a model that only works on the inputs of the
    filter it was trained on shows it here.

    Parameters
    ----------
    model : str or estimator
        What is judged, as in :func:`audiosr.upsample`.
    references : sequence of 1-D array-like
        High-rate reference signals (e.g. the whole files of a test split).
    rate : int
        Up-sampling factor.
    makers : sequence of str, default=INPUT_MAKERS
        Methods of :func:`audiosr.signal.decimate` that make the low-rate inputs.
    baseline : str, estimator or None, default="sinc"
        What the model is compared with; ``None`` scores the model alone.

    Returns
    -------
    scores : dict
        ``{maker: {"model": {"snr": dB, "lsd": bels, "lsd_hf": bels}, <baseline>: {...}}}``
        in the order of ``makers``, the baseline under its name (``"sinc"``; a model
        under its ``metadata_["name"]`` or class name).

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.evaluation import evaluate_input_makers
    >>> t = np.arange(16000) / 16000
    >>> scores = evaluate_input_makers("spline", [np.sin(2 * np.pi * 440 * t)], 4, makers=["iir", "soxr_hq"])
    >>> list(scores), sorted(scores["iir"]), sorted(scores["iir"]["sinc"])
    (['iir', 'soxr_hq'], ['model', 'sinc'], ['lsd', 'lsd_hf', 'snr'])
    """
    makers = [makers] if isinstance(makers, str) else list(makers)
    upsamplers = {"model": model}
    key = _baseline_key(baseline)
    if key is not None:
        if key == "model":
            raise ValueError("the baseline cannot be named 'model'; that key holds the judged model's scores.")
        upsamplers[key] = baseline
    scores = {maker: {} for maker in makers}
    for name, method in upsamplers.items():
        for row in evaluate(method, references, rate, decimation=makers):
            scores[row["decimation"]][name] = {k: row[k] for k in _SCORES}
    return scores


def ship_rule(scores, *, baseline="sinc", snr_tolerance=SNR_TOLERANCE):
    """The input makers on which a model does not beat the baseline, and by how much.

    A model passes on a maker when its LSD is below the baseline's and its SNR is at
    least the baseline's minus ``snr_tolerance`` dB: it must add a better high band
    without damaging the waveform (the band the input already had).

    Parameters
    ----------
    scores : dict
        From :func:`evaluate_input_makers` (both the model's and the baseline's scores).
    baseline : str, default="sinc"
        The baseline's key in ``scores``.
    snr_tolerance : float, default=SNR_TOLERANCE
        dB of SNR the model may lose (0.5).

    Returns
    -------
    failures : dict
        ``{maker: reason}`` for each maker the model fails on, in the order of
        ``scores``; empty when it passes on all of them.

    Examples
    --------
    >>> from audiosr.evaluation import ship_rule
    >>> scores = {
    ...     "iir": {"model": {"snr": 20.0, "lsd": 1.2}, "sinc": {"snr": 19.8, "lsd": 2.0}},
    ...     "poly": {"model": {"snr": 18.0, "lsd": 1.3}, "sinc": {"snr": 20.0, "lsd": 1.9}},
    ... }
    >>> ship_rule(scores)
    {'poly': "SNR 18.00 dB is 2.00 dB below sinc's 20.00 dB (at most 0.5 dB allowed)"}
    """
    if not scores:
        raise ValueError("scores is empty: pass the figures of at least one input maker.")
    failures = {}
    for maker, row in scores.items():
        if "model" not in row or baseline not in row:
            raise ValueError(f"scores[{maker!r}] needs the 'model' and {baseline!r} figures; it has {sorted(row)}.")
        model, base = row["model"], row[baseline]
        reasons = []
        if not model["lsd"] < base["lsd"]:
            reasons.append(f"LSD {model['lsd']:.3f} is not below {baseline}'s {base['lsd']:.3f}")
        if model["snr"] < base["snr"] - snr_tolerance:
            reasons.append(
                f"SNR {model['snr']:.2f} dB is {base['snr'] - model['snr']:.2f} dB below {baseline}'s "
                f"{base['snr']:.2f} dB (at most {snr_tolerance:g} dB allowed)"
            )
        if reasons:
            failures[maker] = "; ".join(reasons)
    return failures
