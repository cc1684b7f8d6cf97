"""Up-sampling whole signals of any length and channel count."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from ._validation import as_float_signal, check_channels_first, check_rate
from .classical import CLASSICAL_METHODS

__all__ = ["upsample", "resolve_upsampler"]


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
