"""What happens to a file: one decision, stated, used by the command line and the API.

:func:`plan` looks at an input (its container rate and, unless told otherwise, the
bandwidth its content really has), the wanted output rate and the requested method,
and returns a :class:`Plan`: the rate the content is treated as, the model or method
that runs, the resampling steps, the output rate, or "nothing to add". The plan then
runs on an array (:meth:`Plan.apply`) or streams a file (:meth:`Plan.run`).

The content's rate matters more than the container's: a 48 kHz file made from a
16 kHz source has nothing above 8 kHz, and is best treated as 16 kHz material
(decimated to 16 kHz, then up-sampled by a model for 16 kHz input).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import pretrained
from ._validation import MAX_RATE, as_float_signal, check_channels_first, check_rate, check_sample_rate
from .bandwidth import Bandwidth, effective_bandwidth, file_bandwidth
from .classical import CLASSICAL_METHODS
from .processing import build_chain, describe_chain, method_label, upsample_file

__all__ = ["Plan", "plan", "effective_rate", "STANDARD_RATES"]

#: Sample rates a file's content is rounded to when its bandwidth is detected.
STANDARD_RATES = (4000, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)

# Content filling at least this fraction of a rate's Nyquist band counts as that rate's
# material: resamplers' anti-alias filters end at 0.8 (Chebyshev, scipy.decimate) to
# 0.99 (soxr) of Nyquist.
_MIN_FILL = 0.78
# Nyquist may sit this little below the detected edge (the edge of a transition band).
_EDGE_SLACK = 0.95
# Below this confidence a detected edge is not trusted over the container's rate.
_MIN_CONFIDENCE = 0.5


def effective_rate(sr, bandwidth_hz, *, preferred=()):
    """The rate whose band the content fills: twice the bandwidth, rounded to a standard rate.

    The container's rate is kept when the content fills its band (at least 78 % of its
    Nyquist frequency) or when no standard rate below it fits. Otherwise the candidates are
    the standard rates below ``sr`` whose band the content fills: rates whose Nyquist
    frequency is at or above the content's edge come first (nothing is cut), then rates
    up to 5 % below it (the edge of a transition band). Within the first group that has
    any, a rate in ``preferred`` (e.g. one a model takes) wins, and among equals the one
    the content fills to about 90 %, as resamplers' anti-alias filters leave it.

    Parameters
    ----------
    sr : int
        The container's sample rate.
    bandwidth_hz : float or None
        Highest frequency with content; ``None`` or 0 (silence) keeps ``sr``.
    preferred : iterable of int, default=()
        Rates to choose first among the candidates.

    Returns
    -------
    rate : int

    Examples
    --------
    >>> from audiosr.planning import effective_rate
    >>> effective_rate(48000, 7600)
    16000
    >>> effective_rate(48000, 21000)
    48000
    >>> effective_rate(24000, 5700, preferred=[11025, 12000])
    12000
    """
    sr = check_sample_rate(sr)
    if not bandwidth_hz or bandwidth_hz >= _MIN_FILL * sr / 2:
        return sr
    fills = {r: bandwidth_hz / (r / 2) for r in STANDARD_RATES if r < sr}
    lossless = [r for r, fill in fills.items() if _MIN_FILL <= fill <= 1.0]
    slack = [r for r, fill in fills.items() if 1.0 < fill <= 1 / _EDGE_SLACK]
    preferred = set(preferred)
    for group in (lossless, slack):
        if group:
            best = [r for r in group if r in preferred] or group
            return min(best, key=lambda r: (abs(fills[r] - 0.9), r))
    return sr


def _models():
    """(name, input_sr, output_sr, rate) of every shipped model."""
    return [(name, *(pretrained.info(name)[k] for k in ("input_sr", "output_sr", "rate"))) for name in pretrained.list()]


def _pick_model(input_sr, target_sr):
    """The shipped model for content at ``input_sr`` going to ``target_sr``, or None.

    A model whose output is the target wins; else the smallest output above the target
    (resampled down after), else the largest output below it (resampled up after).
    """
    fits = [m for m in _models() if m[1] == input_sr and m[2] > input_sr]
    for choose in (
        lambda m: m[2] == target_sr,
        lambda m: m[2] > target_sr,
        lambda m: m[2] < target_sr,
    ):
        options = [m for m in fits if choose(m)]
        if options:
            return min(options, key=lambda m: (abs(m[2] - target_sr), m[0]))
    return None


@lru_cache(maxsize=8)
def _load_pretrained(name):
    return pretrained.load(name)


def _model_rates(model):
    meta = getattr(model, "metadata_", None)
    meta = meta if isinstance(meta, dict) else {}
    rate = int(getattr(model, "rate_", getattr(model, "rate", 0)) or 0) or None
    return meta.get("input_sr"), meta.get("output_sr"), rate


@dataclass(frozen=True)
class Plan:
    """What happens to one input; made by :func:`plan`.

    Attributes
    ----------
    source : str
        The file's name, or ``"array"``.
    input_sr : int
        The container's sample rate.
    target_sr : int
        The output's sample rate.
    bandwidth : Bandwidth or None
        The detected (or given) bandwidth; ``None`` when detection was off.
    effective_sr : int
        The rate the content is treated as.
    action : {"upsample", "skip"}
        ``"skip"``: nothing to add (see ``reason``); the input is left alone.
    method : str or estimator or None
        A classical method name, a pretrained model's name, or a model object.
    method_label : str
        How the method is named in messages.
    method_sr : int or None
        The rate at which the method runs (the input is resampled to it first).
    rate : int or None
        The method's integer factor.
    reason : str
        Why this method, or why nothing is done.
    steps : str
        The processing steps as one line.
    """

    source: str
    input_sr: int
    target_sr: int
    bandwidth: Bandwidth | None
    effective_sr: int
    action: str
    method: object = field(repr=False)
    method_label: str
    method_sr: int | None
    rate: int | None
    reason: str
    steps: str

    def describe(self):
        """The plan as one line, e.g. for the command line's stderr."""
        if self.bandwidth is None:
            seen = f"{self.input_sr} Hz (bandwidth not checked)"
        elif self.bandwidth.hz <= 0:
            seen = f"{self.input_sr} Hz, no active content"
        else:
            seen = f"{self.input_sr} Hz, content to {self.bandwidth.hz / 1000:.1f} kHz"
            if self.effective_sr != self.input_sr:
                seen += f" ({self.effective_sr} Hz material)"
        if self.action == "skip":
            return f"{self.source}: {seen}: nothing to add ({self.reason})"
        return f"{self.source}: {seen} -> {self.steps} [{self.reason}]"

    def upsampler(self):
        """The method as an up-sampler (a shipped model is loaded on first use)."""
        if self.action == "skip":
            raise ValueError(f"nothing to do for {self.source}: {self.reason}.")
        if isinstance(self.method, str) and self.method not in CLASSICAL_METHODS:
            return _load_pretrained(self.method)
        return self.method

    def chain(self):
        """The :class:`audiosr.processing.RateChain` that carries the plan out."""
        return build_chain(
            self.upsampler(), self.rate, sr=self.input_sr, target_sr=self.target_sr, method_sr=self.method_sr
        )

    def apply(self, x):
        """Carry the plan out on an array of shape ``(n_times,)`` or ``(n_channels, n_times)``."""
        signal = check_channels_first(as_float_signal(x, name="x", ndims=(1, 2)))
        out = np.asarray(self.chain().transform(np.atleast_2d(signal)), dtype=signal.dtype)
        return out[0] if signal.ndim == 1 else out

    def run(self, src, dst, **kwargs):
        """Carry the plan out on a file, streamed (see :func:`audiosr.processing.upsample_file`).

        Returns the output's sample rate.
        """
        return upsample_file(
            src,
            dst,
            self.rate,
            target_sr=self.target_sr,
            method=self.upsampler(),
            method_sr=self.method_sr,
            **kwargs,
        )


def _check_bandwidth(value, sr):
    if isinstance(value, Bandwidth):
        return value
    try:
        hz = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"input_bandwidth must be a frequency in Hz, got {value!r}.") from None
    if not np.isfinite(hz) or hz <= 0:
        raise ValueError(f"input_bandwidth must be a positive frequency in Hz, got {value!r}.")
    if hz > sr / 2:
        raise ValueError(
            f"input_bandwidth={hz:g} Hz is above the input's Nyquist frequency ({sr / 2:g} Hz at {sr} Hz): "
            "a file cannot hold content above half its sample rate."
        )
    return Bandwidth(hz=hz, sr=sr, confidence=1.0, method="given", evidence="given by the caller")


def plan(
    source,
    target_sr=None,
    *,
    sr=None,
    rate=None,
    method="auto",
    input_bandwidth=None,
    detect=True,
    force_model=False,
):
    """Decide what happens to an input: the rate its content has, the method, the steps.

    Parameters
    ----------
    source : str, path-like or array-like
        An audio file, or a signal of shape ``(n_times,)`` or ``(n_channels, n_times)``
        (then ``sr`` is required).
    target_sr : int or None
        Output sample rate; any rate at or above the input's. Give this or ``rate``.
    sr : int or None
        The sample rate of an array ``source``.
    rate : int or None
        Integer factor instead of ``target_sr`` (target = input rate x ``rate``).
    method : str or estimator, default="auto"
        ``"auto"``: the shipped model for the content's effective rate and the target if
        there is one, else sinc. A classical method name (``"sinc"``, ``"spline"``,
        ``"bicubic"``), a shipped model's name (:func:`audiosr.pretrained.list`), or a
        fitted model (e.g. from :func:`audiosr.load_model`).
    input_bandwidth : float or None
        The content's bandwidth in Hz, instead of detecting it.
    detect : bool, default=True
        Detect the content's bandwidth (:func:`audiosr.effective_bandwidth`). ``False``
        trusts the container's rate.
    force_model : bool, default=False
        Run a model even when the input is already full band at the target rate.

    Returns
    -------
    plan : Plan

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.planning import plan
    >>> x = np.random.default_rng(0).standard_normal(16000)
    >>> p = plan(x, 48000, sr=16000, method="sinc")
    >>> p.steps
    'sinc x3 -> 48000 Hz'
    >>> p.apply(x).shape
    (48000,)
    """
    if isinstance(source, (str, os.PathLike)):
        from .io import info

        name = os.fspath(source)
        file_info = info(source)
        if sr is not None and int(sr) != int(file_info.samplerate):
            raise ValueError(f"sr={sr} but '{name}' is {file_info.samplerate} Hz; leave sr out for files.")
        sr_in = int(file_info.samplerate)
        n_frames = int(file_info.frames)
        if n_frames == 0:
            raise ValueError(f"'{name}' contains no samples.")
    else:
        name = "array"
        if sr is None:
            raise ValueError("sr (the signal's sample rate) is required when source is an array.")
        sr_in = check_sample_rate(sr)
        source = check_channels_first(as_float_signal(source, name="x", ndims=(1, 2)))
        n_frames = source.shape[-1]

    model_obj, model_name = None, None
    if not isinstance(method, str):
        if not hasattr(method, "transform"):
            raise TypeError(f"method must be 'auto', a method name, a model name or a model, got {type(method).__name__}.")
        model_obj = method
    elif method in pretrained.list():
        model_name = method
    elif method != "auto" and method not in CLASSICAL_METHODS:
        raise ValueError(
            f"unknown method {method!r}: use 'auto', one of {sorted(CLASSICAL_METHODS)}, "
            f"a shipped model {pretrained.list()} or a model object."
        )

    if rate is not None and target_sr is not None:
        raise ValueError("give target_sr or rate, not both.")
    if rate is not None:
        target_sr = sr_in * check_rate(rate)
    if target_sr is None:
        model_out = None
        if model_obj is not None:
            model_in, model_out, model_rate = _model_rates(model_obj)
            if model_out is None and model_rate:
                model_out = (model_in or sr_in) * model_rate
        elif model_name is not None:
            model_out = pretrained.info(model_name)["output_sr"]
        if model_out is None:
            raise ValueError("give the output rate (target_sr) or a factor (rate).")
        target_sr = model_out
    target_sr = check_sample_rate(target_sr, name="target_sr")
    if target_sr < sr_in:
        raise ValueError(
            f"audiosr only up-samples: {name} is already {sr_in} Hz, above the target {target_sr} Hz. "
            "Use a resampler (sox, soxr, audiosr.signal.resample) to lower a rate."
        )
    if target_sr > MAX_RATE * sr_in:
        raise ValueError(
            f"target_sr={target_sr} is {target_sr / sr_in:g} times {name}'s {sr_in} Hz, larger than the maximum "
            f"supported factor {MAX_RATE}; up-sample in stages or choose a lower target."
        )

    if input_bandwidth is not None:
        bandwidth = _check_bandwidth(input_bandwidth, sr_in)
    elif detect:
        bandwidth = file_bandwidth(source) if name != "array" else effective_bandwidth(source, sr_in)
    else:
        bandwidth = None
    trusted = bandwidth is not None and bandwidth.hz > 0 and bandwidth.confidence >= _MIN_CONFIDENCE
    edge = bandwidth.hz if trusted else None
    model_inputs = [m[1] for m in _models() if m[2] > m[1]]
    effective = effective_rate(sr_in, edge, preferred=model_inputs) if method == "auto" else effective_rate(sr_in, edge)
    full_band = effective == sr_in
    common = dict(source=name, input_sr=sr_in, target_sr=target_sr, bandwidth=bandwidth, effective_sr=effective)

    def skip(reason):
        return Plan(**common, action="skip", method=None, method_label="", method_sr=None, rate=None, reason=reason, steps="")

    def run(method_, label, method_sr, rate_, reason):
        steps = describe_chain(label, rate_, sr=sr_in, target_sr=target_sr, method_sr=method_sr)
        return Plan(
            **common,
            action="upsample",
            method=method_,
            method_label=label,
            method_sr=method_sr,
            rate=rate_,
            reason=reason,
            steps=steps,
        )

    if model_obj is not None or model_name is not None:
        if model_obj is not None:
            model_in, _, model_rate = _model_rates(model_obj)
            label = method_label(model_obj)
            method_ = model_obj
        else:
            meta = pretrained.info(model_name)
            model_in, model_rate, label, method_ = meta["input_sr"], meta["rate"], model_name, model_name
        if target_sr == sr_in and full_band and not force_model:
            return skip(f"audiosr only up-samples: the file is already {sr_in} Hz and full band; --force-model runs {label} anyway")
        model_in = model_in or effective
        if target_sr <= model_in:
            raise ValueError(f"{label} takes {model_in} Hz input; it cannot make {target_sr} Hz output.")
        why = "the requested model"
        if model_in < effective:
            why += f", which takes {model_in} Hz: the input's content above {model_in // 2} Hz is replaced"
        return run(method_, label, model_in, model_rate, why)

    if method == "auto":
        pick = _pick_model(effective, target_sr)
        if pick is None and force_model and target_sr == sr_in:
            outputs = [m for m in _models() if m[2] == target_sr and m[1] < target_sr]
            pick = max(outputs, key=lambda m: m[1]) if outputs else None
        classical, why = "sinc", f"no shipped model for {effective} Hz material to {target_sr} Hz"
        if pick is not None and (target_sr > sr_in or not full_band or force_model):
            name_, model_in, _, model_rate = pick
            # The model sees the content at its own input rate; a network needs at least one patch of it.
            need = _load_pretrained(name_)._min_input_length(model_rate)
            if n_frames * model_in // sr_in >= need:
                return run(name_, f"pretrained {name_}", model_in, model_rate, f"shipped model for {model_in} Hz material")
            why = f"the input is too short for {name_} (it takes at least {need} samples at {model_in} Hz)"
    else:
        classical, why = method, "the requested method"
    if target_sr == sr_in:
        if full_band:
            return skip(f"audiosr only up-samples: the file is already {sr_in} Hz and full band")
        return skip(f"{why}, and an interpolator adds nothing at the file's own rate {sr_in} Hz")
    # An interpolator adds nothing that decimating to the content's rate first would help,
    # and a misread edge would then cut real content: it runs at the file's own rate.
    return run(classical, classical, sr_in, max(2, math.ceil(target_sr / sr_in)), why)
