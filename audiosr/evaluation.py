"""The evaluation protocol: decimate whole references, up-sample, score each file, average.

:func:`evaluate` is the protocol; :func:`evaluate_input_makers` runs it for a model and
a baseline on the inputs of every tool that makes low-rate files,
:func:`ship_rule` says on which of them the model does not beat the baseline (the rule
a pretrained model must pass to ship), and :func:`calibrate_bands` chooses a model's crossover
and the gain of its invented band so that it passes that rule with a margin.
"""

from __future__ import annotations

import copy

import numpy as np

from ._validation import check_choice, check_rate
from .crossover import check_high_band_gain, check_keep_low_band, high_band_gain, low_band_passthrough
from .metrics import LSD_CONVENTIONS, lsd, lsd_hf, snr
from .processing import method_label, upsample
from .signal import DECIMATION_METHODS, decimate

__all__ = [
    "CALIBRATION_GAINS",
    "CALIBRATION_MARGIN",
    "INPUT_MAKERS",
    "SNR_TOLERANCE",
    "calibrate_bands",
    "evaluate",
    "evaluate_input_makers",
    "ship_rule",
]

#: The input makers of :func:`evaluate_input_makers`: the anti-alias filters of the tools
#: that make real low-rate files (``audiosr.signal.MIX_METHODS``: scipy's decimate and
#: resample_poly, soxr HQ and VHQ, FFT resampling, zero-phase Butterworth) and scipy's FIR
#: decimation; every ``DECIMATION_METHODS`` entry but ``"subsample"``, which filters nothing.
INPUT_MAKERS = ("iir", "fir", "poly", "soxr_hq", "soxr_vhq", "fft", "butter")

#: dB of SNR a model may lose to the baseline under :func:`ship_rule`.
SNR_TOLERANCE = 0.5

#: The gains :func:`calibrate_bands` tries by default, from the model as it is to
#: no invented band at all.
CALIBRATION_GAINS = (1.0, 0.85, 0.7, 0.6, 0.5, 0.42, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.0)

#: dB of SNR that :func:`calibrate_bands` keeps in reserve below the ship rule's
#: tolerance, for speakers, recordings and resamplers the calibration data do not have.
CALIBRATION_MARGIN = 0.25

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


def calibrate_bands(
    model,
    references,
    rate,
    *,
    makers=INPUT_MAKERS,
    gains=CALIBRATION_GAINS,
    crossovers=None,
    baseline="sinc",
    snr_tolerance=SNR_TOLERANCE,
    margin=CALIBRATION_MARGIN,
):
    """Choose a neural model's ``keep_low_band`` and ``high_band_gain`` on calibration data.

    A model trained to get the level of the band above the input's Nyquist frequency
    right fills it, where that band cannot be predicted, with content of the right
    magnitude and the wrong phase, which costs SNR (see :mod:`audiosr.crossover`); and
    below that frequency, where the input is full (FFT or polyphase resampling rather
    than a filter that stops at 0.8 of it), the network's copy of the input is a little
    worse than the input's own interpolation. This scores the model on inputs from every
    maker with each crossover of ``crossovers`` and gain of ``gains`` (the network runs
    once per file and maker; the crossover and the gain are applied to its output
    exactly as ``transform`` applies them) and returns the setting with the lowest mean
    LSD among those that pass :func:`ship_rule` with ``snr_tolerance - margin`` dB.

    Parameters
    ----------
    model : estimator
        A fitted neural up-sampler (it has ``keep_low_band`` and ``high_band_gain``
        parameters); it is not changed.
    references : sequence of 1-D array-like
        High-rate calibration signals: not the test data the model is judged on.
    rate : int
        Up-sampling factor.
    makers : sequence of str, default=INPUT_MAKERS
        Input makers, as in :func:`evaluate_input_makers`.
    gains : sequence of float, default=CALIBRATION_GAINS
        Candidate ``high_band_gain`` values (finite, >= 0).
    crossovers : sequence or None, default=None
        Candidate ``keep_low_band`` values (see
        :func:`audiosr.crossover.check_keep_low_band`); None: the model's own.
    baseline : str or estimator, default="sinc"
        What the model must beat, as in :func:`evaluate_input_makers`.
    snr_tolerance : float, default=SNR_TOLERANCE
        The ship rule's tolerance, dB.
    margin : float, default=CALIBRATION_MARGIN
        dB of that tolerance kept in reserve: a chosen setting loses at most
        ``snr_tolerance - margin`` dB to the baseline on the calibration data.

    Returns
    -------
    result : dict
        ``"keep_low_band"`` and ``"high_band_gain"``: the chosen setting (both None when
        none passes); ``"candidates"``: one dict per setting tried (crossovers outer,
        gains inner) with its ``"keep_low_band"``, ``"high_band_gain"``, ``"scores"``
        (as :func:`evaluate_input_makers` gives them) and ``"failures"`` (what
        :func:`ship_rule` with the reduced tolerance says); ``"snr_tolerance"``: that
        tolerance, ``snr_tolerance - margin``.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr import DualBranchSR
    >>> from audiosr.evaluation import calibrate_bands
    >>> y = np.random.default_rng(0).standard_normal((4, 2048)) * 0.1
    >>> model = DualBranchSR(rate=4, filters=(4, 8), kernel_sizes=(9, 5), patch_len=256,
    ...                      max_epochs=1, random_state=0).fit(y[:, ::4], y)
    >>> result = calibrate_bands(model, list(y), 4, makers=["iir"], gains=[1.0, 0.0], crossovers=[0.75, 0.9])
    >>> [(c["keep_low_band"], c["high_band_gain"]) for c in result["candidates"]]
    [(0.75, 1.0), (0.75, 0.0), (0.9, 1.0), (0.9, 0.0)]
    """
    rate = check_rate(rate)
    if not (hasattr(model, "high_band_gain") and hasattr(model, "keep_low_band")):
        raise TypeError(
            f"{type(model).__name__} has no keep_low_band and high_band_gain parameters: pass a fitted neural up-sampler."
        )
    gains = [check_high_band_gain(g, name="each of gains") for g in gains]
    crossovers = [model.keep_low_band] if crossovers is None else list(crossovers)
    for crossover in crossovers:
        check_keep_low_band(crossover, name="each of crossovers")
    if not gains or not crossovers:
        raise ValueError("gains and crossovers must each hold at least one setting to try.")
    makers = [makers] if isinstance(makers, str) else list(makers)
    for maker in makers:
        check_choice(maker, DECIMATION_METHODS, name="decimation method")
    if len(references) == 0:
        raise ValueError("references is empty: pass at least one signal.")
    if not 0 <= margin <= snr_tolerance:
        raise ValueError(f"margin must lie in [0, snr_tolerance={snr_tolerance}], got {margin}.")
    key = _baseline_key(baseline)
    if key == "model":
        raise ValueError("the baseline cannot be named 'model'; that key holds the judged model's scores.")
    # The network's bare output; the settings are applied below, as transform applies them.
    plain = copy.copy(model).set_params(keep_low_band=False, high_band_gain=1.0)
    settings = [(c, g) for c in crossovers for g in gains]
    rows = [{maker: [] for maker in makers} for _ in settings]
    base_rows = {maker: [] for maker in makers}
    for y in references:
        y = np.asarray(y)[: len(y) // rate * rate]
        for maker in makers:
            x = decimate(y, rate, method=maker)
            out = upsample(x, rate, method=plain)
            y_base = upsample(x, rate, method=baseline)
            base_rows[maker].append([snr(y, y_base), lsd(y, y_base), lsd_hf(y, y_base, rate=rate)])
            joined, below = {}, {}
            for c in crossovers:
                frequency = check_keep_low_band(c)
                joined[c] = out if frequency is None else low_band_passthrough(out[None], x[None], rate, crossover=frequency)[0]
                # The gain is linear, g * y + (1 - g) * LP(y): LP(y) (gain 0) is filtered once per crossover.
                below[c] = high_band_gain(joined[c][None], rate, 0.0)[0]
            for i, (c, g) in enumerate(settings):
                y_hat = g * joined[c] + (1.0 - g) * below[c]
                rows[i][maker].append([snr(y, y_hat), lsd(y, y_hat), lsd_hf(y, y_hat, rate=rate)])
    base = {maker: _means(_SCORES, base_rows[maker]) for maker in makers}
    tolerance = snr_tolerance - margin
    candidates = []
    for (c, g), row in zip(settings, rows):
        scores = {m: {"model": _means(_SCORES, row[m]), key: base[m]} for m in makers}
        failures = ship_rule(scores, baseline=key, snr_tolerance=tolerance)
        candidates.append({"keep_low_band": c, "high_band_gain": g, "scores": scores, "failures": failures})
    passing = [c for c in candidates if not c["failures"]]
    chosen = min(passing, key=lambda c: np.mean([r["model"]["lsd"] for r in c["scores"].values()]), default=None)
    return {
        "keep_low_band": None if chosen is None else chosen["keep_low_band"],
        "high_band_gain": None if chosen is None else chosen["high_band_gain"],
        "candidates": candidates,
        "snr_tolerance": tolerance,
    }
