"""Up-sampling whole signals of any length and channel count."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from ._validation import as_float_signal, check_channels_first, check_rate
from .classical import CLASSICAL_METHODS

__all__ = ["upsample", "upsample_file", "resolve_upsampler"]


def resolve_upsampler(method, rate=None):
    """Turn a method name or an estimator into an estimator with a known ``rate``.

    Parameters
    ----------
    method : str or estimator
        ``"bicubic"``, ``"spline"``, ``"sinc"``, or any object with ``transform`` (a
        fitted model, or a classical up-sampler instance).
    rate : int or None
        Up-sampling factor. Required with a method name; with an estimator it must
        match the estimator's ``rate`` (or be None to use it).

    Returns
    -------
    estimator : object with ``transform``
    rate : int
    """
    if isinstance(method, str):
        if method not in CLASSICAL_METHODS:
            raise ValueError(f"unknown method {method!r}; use one of {sorted(CLASSICAL_METHODS)} or pass an estimator.")
        if rate is None:
            raise ValueError(f"rate is required with method={method!r}.")
        rate = check_rate(rate)
        return CLASSICAL_METHODS[method](rate=rate), rate
    if not hasattr(method, "transform"):
        raise TypeError(
            f"method must be a method name or an estimator with a transform method, got {type(method).__name__}."
        )
    own = getattr(method, "rate", None)
    if own is None:
        if rate is None:
            raise ValueError("rate is required: the estimator has no rate attribute.")
        return method, check_rate(rate)
    own = check_rate(own, name=f"{type(method).__name__}.rate")
    if rate is not None and check_rate(rate) != own:
        raise ValueError(
            f"rate={rate} but the estimator up-samples by {own}; pass rate=None or an estimator for rate {rate}."
        )
    return method, own


def upsample(x, rate=None, *, method="sinc"):
    """Up-sample a whole signal (any length, mono or multichannel) by an integer factor.

    Parameters
    ----------
    x : array-like of shape (n_times,) or (n_channels, n_times)
        Low-rate signal, time last. Channels are processed independently.
    rate : int or None, default=None
        Up-sampling factor. May be omitted when ``method`` is an estimator.
    method : {"sinc", "spline", "bicubic"} or estimator, default="sinc"
        A classical method by name, or an estimator (fitted if it needs fitting)
        whose ``transform`` maps ``(n, L)`` to ``(n, L * rate)`` for any ``L``.

    Returns
    -------
    y : ndarray of shape (n_times * rate,) or (n_channels, n_times * rate)
        In the float dtype of ``x`` (float64 for non-float input).

    Examples
    --------
    >>> import numpy as np
    >>> import audiosr
    >>> x = np.sin(2 * np.pi * 440 * np.arange(4000) / 4000)
    >>> audiosr.upsample(x, 4).shape
    (16000,)
    >>> audiosr.upsample(np.stack([x, x]), 2, method="spline").shape
    (2, 8000)
    """
    signal = check_channels_first(as_float_signal(x, name="x", ndims=(1, 2)))
    estimator, rate = resolve_upsampler(method, rate)
    if isinstance(method, str):
        estimator = clone(estimator)
    out = estimator.transform(np.atleast_2d(signal))
    out = np.asarray(out, dtype=signal.dtype)
    expected = (np.atleast_2d(signal).shape[0], signal.shape[-1] * rate)
    if out.shape != expected:
        raise ValueError(
            f"the estimator returned shape {out.shape} for input {np.atleast_2d(signal).shape}; expected {expected}."
        )
    return out[0] if signal.ndim == 1 else out


def upsample_file(src, dst, rate=None, *, method="sinc", block_seconds=20.0, subtype=None):
    """Up-sample an audio file of any length in bounded memory, writing ``dst`` atomically.

    The input is read in blocks of about ``block_seconds``; each block is up-sampled
    with enough of its neighbours around it (``estimator._stream_geometry``) and cropped,
    so the output equals up-sampling the whole file at once (to float rounding for
    the interpolators and the waveform networks; closely for SpectralDNN, whose final
    low-band restoration is a whole-block FFT) while memory stays bounded by the
    block. Channels are processed independently.

    Parameters
    ----------
    src : str or path-like
        Input audio file.
    dst : str or path-like
        Output file (format from its extension). Written to a temporary file and renamed
        at the end; an existing ``dst`` is replaced only then.
    rate : int or None
        Up-sampling factor (may be omitted with a fitted estimator).
    method : {"sinc", "spline", "bicubic"} or estimator, default="sinc"
        As in :func:`upsample`.
    block_seconds : float, default=20.0
        Length of a block of input, in seconds.
    subtype : str or None
        Output sample format (e.g. ``"PCM_24"``); ``None`` keeps the input's when the
        output format allows it.

    Returns
    -------
    sr_out : int
        The output sample rate.
    """
    import math

    import soundfile as sf

    from .io import atomic_output, audio_format, info

    estimator, rate = resolve_upsampler(method, rate)
    if isinstance(method, str):
        estimator = clone(estimator)
    if not np.isfinite(block_seconds) or block_seconds <= 0:
        raise ValueError(f"block_seconds must be a positive number, got {block_seconds!r}.")
    src_info = info(src)
    sr_in, n, channels = int(src_info.samplerate), int(src_info.frames), int(src_info.channels)
    if n == 0:
        raise ValueError(f"'{src}' contains no samples.")
    granularity, context = estimator._stream_geometry(rate) if hasattr(estimator, "_stream_geometry") else (1, 256)
    block = max(granularity, math.ceil(block_seconds * sr_in / granularity) * granularity)
    fmt = audio_format(dst)
    if subtype is None and sf.check_format(fmt, src_info.subtype):
        subtype = src_info.subtype
    clip = (subtype or sf.default_subtype(fmt) or "").upper().startswith("PCM")
    with sf.SoundFile(str(src)) as reader, atomic_output(dst) as tmp:
        with sf.SoundFile(tmp, "w", samplerate=sr_in * rate, channels=channels, subtype=subtype, format=fmt) as writer:
            for start in range(0, n, block):
                lo, hi = max(0, start - context), min(n, start + block + context)
                reader.seek(lo)
                x = as_float_signal(reader.read(hi - lo, dtype="float64", always_2d=True).T, name=f"'{src}'")
                y = np.asarray(estimator.transform(x))
                stop = min(start + block, n)
                chunk = y[:, (start - lo) * rate : (stop - lo) * rate]
                writer.write((np.clip(chunk, -1.0, 1.0) if clip else chunk).T)
    return sr_in * rate
