"""Input checks shared by estimators, metrics, signal helpers and the command line.

Every public entry point funnels its arguments through these helpers so that bad
input fails early with a message naming the argument, its shape or value, and what
to do instead, rather than with a traceback from deep inside numpy or scipy.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse

#: Largest integer up-sampling factor accepted. Larger factors are almost always a
#: mistake (a sample rate passed where a factor was meant) and would allocate huge
#: outputs.
MAX_RATE = 256

FLOAT_DTYPES = (np.float64, np.float32)

#: Integer dtypes read as PCM samples (as soundfile and WAV files store them) and
#: scaled to [-1, 1): dtype code -> (offset, scale). Other integers (int64, ...) are
#: converted as plain numbers.
PCM_SCALES = {"i1": (0.0, 2.0**7), "i2": (0.0, 2.0**15), "i4": (0.0, 2.0**31), "u1": (128.0, 2.0**7)}


def check_rate(rate, *, name="rate"):
    """Return ``rate`` as a Python int after checking it is an integer in [2, MAX_RATE].

    Parameters
    ----------
    rate : int
        Up-sampling factor (high rate / low rate).
    name : str, default="rate"
        Name used in error messages.

    Returns
    -------
    rate : int
    """
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real):
        raise TypeError(f"{name} must be an integer >= 2, got {rate!r} of type {type(rate).__name__}.")
    if not isinstance(rate, numbers.Integral):
        if not np.isfinite(rate) or float(rate) != int(rate):
            raise ValueError(
                f"{name} must be an integer >= 2, got {rate!r}. Only integer factors are "
                "supported; resample to a rate that is an integer multiple first "
                "(audiosr.signal.resample)."
            )
        rate = int(rate)
    rate = int(rate)
    if rate < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {rate}.")
    if rate > MAX_RATE:
        raise ValueError(
            f"{name}={rate} is larger than the maximum supported factor {MAX_RATE}; "
            "did you pass a sample rate where an up-sampling factor was expected?"
        )
    return rate


def check_positive(value, *, name, unit, example=None):
    """A finite number > 0 as a float; TypeError for a non-number (bools included), ValueError otherwise."""
    hint = f" (e.g. {example})" if example is not None else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number of {unit}, got {value!r}.")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of {unit}{hint}, got {value!r}.")
    return float(value)


def check_sample_rate(sr, *, name="sr"):
    """Return ``sr`` as a positive int (samples per second)."""
    if isinstance(sr, (bool, np.bool_)) or not isinstance(sr, numbers.Real):
        raise TypeError(f"{name} must be a positive integer sample rate in Hz, got {sr!r}.")
    if not np.isfinite(sr) or sr <= 0 or float(sr) != int(sr):
        raise ValueError(f"{name} must be a positive integer sample rate in Hz, got {sr!r}.")
    return int(sr)


def as_float_signal(x, *, name="x", ndims=(1, 2), dtype=None, min_length=1):
    """Convert ``x`` to a finite floating array whose last axis is time.

    Parameters
    ----------
    x : array-like
        The signal(s).
    name : str
        Name used in error messages.
    ndims : tuple of int, default=(1, 2)
        Accepted numbers of dimensions.
    dtype : numpy dtype or None
        Output dtype. ``None`` keeps float32 and float64 and converts anything
        else (integers, float16, booleans) to float64. int8, int16, int32 and uint8
        arrays are PCM samples and are scaled to [-1, 1) (``int16 / 32768``).
    min_length : int, default=1
        Smallest accepted number of samples along the last axis.

    Returns
    -------
    x : ndarray
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of audio samples, got a {type(x).__name__}.")
    if scipy.sparse.issparse(x):
        raise TypeError(
            f"{name} is a sparse matrix; sparse data is not supported for audio. Pass a dense array ({name}.toarray())."
        )
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged lists
        raise ValueError(
            f"{name} could not be converted to an array ({exc}); clips of different "
            "lengths must be passed one at a time or cut to one length (audiosr.signal.make_pairs)."
        ) from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype} ({exc}).") from None
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {name} must be real-valued audio, got dtype {arr.dtype}.")
    if arr.ndim not in ndims:
        expected = " or ".join(f"{d}-D" for d in ndims)
        hint = ""
        if arr.ndim == 3:
            hint = " Flatten the leading axes first, e.g. x.reshape(-1, x.shape[-1])."
        elif arr.ndim == 0:
            hint = " Pass an array of samples, not a single number."
        raise ValueError(
            f"{name} must be {expected} with time on the last axis, got {arr.ndim}-D array of shape {arr.shape}.{hint}"
        )
    if arr.ndim == 2 and arr.shape[0] == 0:
        raise ValueError(f"{name} has shape {arr.shape}: it holds no clip; at least one is needed.")
    if arr.shape[-1] < min_length:
        raise ValueError(
            f"{name} has {arr.shape[-1]} feature(s) (shape={arr.shape}) while a minimum of {min_length} "
            f"is required: audio needs at least {min_length} sample(s) along the time axis (the last one)."
        )
    pcm = PCM_SCALES.get(arr.dtype.str[1:])
    if dtype is None:
        dtype = arr.dtype if arr.dtype in FLOAT_DTYPES else np.float64
    if pcm is not None:
        offset, scale = pcm
        arr = (np.asarray(arr, dtype=np.float64) - offset) / scale
    arr = np.asarray(arr, dtype=dtype)
    if not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"{name} contains {n_bad} NaN or infinite value(s); audio must be finite. "
            "Replace them (np.nan_to_num) or cut them out first."
        )
    return arr


def check_clips(X, *, name="X", min_length=1):
    """Validate an estimator input: a 2-D float batch of clips (n_clips, n_times).

    A 1-D array is refused with a hint, because treating it as one clip or as many
    one-sample clips would both be guesses.
    """
    arr = np.asarray(X) if not hasattr(X, "ndim") else X
    if getattr(arr, "ndim", None) == 1:
        raise ValueError(
            f"Expected a 2-D array of clips (n_clips, n_times) for {name}, got a 1-D array "
            f"of shape {arr.shape}. Reshape your data: for a single clip use {name}.reshape(1, -1); "
            "for a whole signal of any length use audiosr.upsample(x, rate)."
        )
    return as_float_signal(X, name=name, ndims=(2,), min_length=min_length)


def check_choice(value, choices, *, name):
    """Check that ``value`` is one of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}.")
    return value


def check_flag(value, *, name):
    """Check that ``value`` is True or False (or 0 / 1, as sklearn's grids pass them)."""
    if not isinstance(value, (bool, int, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return value


def check_target(y, X, rate):
    """Validate high-rate targets ``y`` against the low-rate clips ``X`` they belong to."""
    if y is None:
        raise ValueError(
            "requires y to be passed, but the target y is None: pass the high-rate clips of shape (n_clips, n_times * rate)."
        )
    y = as_float_signal(y, name="y", ndims=(1, 2))
    expected = (X.shape[0], X.shape[1] * rate)
    if y.ndim != 2 or y.shape != expected:
        raise ValueError(
            f"y has shape {y.shape} but X has shape {X.shape} and rate={rate}: y must hold the "
            f"high-rate clips, shape {expected} (each clip rate times longer than its X row)."
        )
    return y


def check_channels_first(x, *, name="x", max_channels=16):
    """Refuse a 2-D signal that looks time-first ``(n_times, n_channels)``, as soundfile returns it.

    audiosr puts time last; a stereo file read with ``soundfile.read`` is ``(n, 2)``
    and would otherwise be taken for ``n`` one- or two-sample channels.
    """
    if x.ndim == 2 and x.shape[0] > 64 and x.shape[1] <= max_channels:
        raise ValueError(
            f"{name} has shape {x.shape}, which looks like (time, channels) as soundfile returns it; audiosr "
            f"expects (channels, time) with time last: pass {name}.T."
        )
    return x
