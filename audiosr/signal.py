"""Making low-rate inputs and training pairs from high-rate audio; rational resampling (soxr).

The low-rate input of a super-resolution experiment is *simulated* from the
high-rate reference, and results depend on how (Kuleshov et al.'s README: "the
model is very sensitive to how low resolution samples are generated"). The default
here is the TFNet paper's protocol: an order-8 Chebyshev type I low-pass applied
forwards and backwards (zero phase), then keeping every ``rate``-th sample, which
is :func:`scipy.signal.decimate` with its defaults.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from ._validation import as_float_signal, check_choice, check_rate, check_sample_rate

__all__ = ["decimate", "resample", "resampled_length", "make_pairs", "DECIMATION_METHODS"]

#: Names accepted by ``decimate(method=...)``.
DECIMATION_METHODS = ("iir", "fir", "subsample")

# scipy's zero-phase IIR decimation runs filtfilt, whose default padding needs
# more than 3 * (order + 1) = 27 samples.
_IIR_MIN_LENGTH = 28


def decimate(y, rate, *, method="iir", axis=-1):
    """Make the low-rate version of a signal: anti-alias filter, then keep every ``rate``-th sample.

    Parameters
    ----------
    y : array-like of shape (..., n_times)
        High-rate signal(s); time on ``axis``.
    rate : int
        Down-sampling factor (>= 2).
    method : {"iir", "fir", "subsample"}, default="iir"
        * ``"iir"``: order-8 Chebyshev type I low-pass (0.05 dB ripple, cut-off at
          0.8 of the new Nyquist), zero phase — ``scipy.signal.decimate`` defaults and
          the TFNet / Kuleshov ``--low-pass`` protocol.
        * ``"fir"``: Hamming-windowed FIR of order ``20 * rate``, zero phase.
        * ``"subsample"``: ``y[::rate]`` with no filter, so the high band aliases into
          the low one, as in Kuleshov et al.'s multi-speaker data.
    axis : int, default=-1
        Time axis.

    Returns
    -------
    y_low : ndarray of shape (..., ceil(n_times / rate))
        Same float dtype as ``y`` (float64 for non-float input). Sample ``k`` of the
        output lies at sample ``k * rate`` of the input.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.signal import decimate
    >>> y = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    >>> decimate(y, 4).shape
    (4000,)
    """
    rate = check_rate(rate)
    check_choice(method, DECIMATION_METHODS, name="method")
    x = as_float_signal(y, name="y", ndims=tuple(range(1, 33)))
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    if method == "subsample":
        out = x[..., ::rate]
    elif method == "iir":
        if n < _IIR_MIN_LENGTH:
            raise ValueError(
                f"y has {n} samples along the time axis; the zero-phase IIR filter needs at "
                f"least {_IIR_MIN_LENGTH}. Use method='fir' or 'subsample' for such short signals."
            )
        out = scipy.signal.decimate(x, rate, ftype="iir", axis=-1, zero_phase=True)
    else:
        out = scipy.signal.decimate(x, rate, ftype="fir", axis=-1, zero_phase=True)
    return np.moveaxis(np.asarray(out, dtype=x.dtype), -1, axis)


def resampled_length(n, orig_sr, target_sr):
    """Number of samples :func:`resample` returns for ``n`` input samples: ``round(n * target_sr / orig_sr)``.

    Halves round up, as soxr does; exact integer arithmetic, so block-wise streaming can
    predict the whole signal's length.
    """
    return (2 * int(n) * int(target_sr) + int(orig_sr)) // (2 * int(orig_sr))


def resample(y, *, orig_sr, target_sr, axis=-1):
    """Resample by any rational factor with soxr (very high quality, double precision).

    Used to bring audio of any sample rate to the one a model, a dataset or the user
    needs. soxr's ``"VHQ"`` setting computes in double precision with a linear-phase
    filter, so a long signal resampled in blocks (with some context, on the ratio's
    grid) equals the whole signal resampled at once to about 1e-9, which is what
    :func:`audiosr.processing.upsample_file` relies on to stream rational rate chains.

    Parameters
    ----------
    y : array-like of shape (..., n_times)
        Signal(s); time on ``axis``.
    orig_sr : int
        Sample rate of ``y`` in Hz.
    target_sr : int
        Wanted sample rate in Hz.
    axis : int, default=-1
        Time axis.

    Returns
    -------
    y_resampled : ndarray of shape (..., round(n_times * target_sr / orig_sr))
        Same float dtype as ``y`` (float64 for non-float input). Sample ``k`` of the
        output lies at time ``k / target_sr`` (no delay).

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.signal import resample
    >>> resample(np.zeros(44100), orig_sr=44100, target_sr=16000).shape
    (16000,)
    >>> resample(np.zeros((2, 1000)), orig_sr=16000, target_sr=44100).shape
    (2, 2756)
    """
    import soxr

    orig_sr = check_sample_rate(orig_sr, name="orig_sr")
    target_sr = check_sample_rate(target_sr, name="target_sr")
    x = as_float_signal(y, name="y", ndims=tuple(range(1, 33)))
    if orig_sr == target_sr:
        return x.copy()
    moved = np.moveaxis(x, axis, -1)
    lead, n = moved.shape[:-1], moved.shape[-1]
    # soxr takes (frames, channels), time first; float32 input would make it compute in float32.
    frames = np.ascontiguousarray(moved.reshape(-1, n).T, dtype=np.float64)
    out = soxr.resample(frames, orig_sr, target_sr, quality="VHQ")
    out = np.asarray(out).reshape(-1, frames.shape[1]).T.reshape(*lead, -1)
    expected = resampled_length(n, orig_sr, target_sr)
    if out.shape[-1] != expected:  # guard the streaming arithmetic against another soxr's rounding
        pad = [(0, 0)] * len(lead) + [(0, max(0, expected - out.shape[-1]))]
        out = np.pad(out[..., :expected], pad)
    return np.moveaxis(np.asarray(out, dtype=x.dtype), -1, axis)


def make_pairs(signals, rate, *, segment=8192, hop=None, method="iir", min_rms=0.0):
    """Cut high-rate signals into aligned (low-rate input, high-rate target) training pairs.

    Each signal is decimated whole (so the filter sees no artificial segment edges)
    and both versions are then cut at the same instants.

    Parameters
    ----------
    signals : sequence of 1-D array-like, or 2-D array-like
        High-rate signals of any lengths (a 2-D array is read as one signal per row).
    rate : int
        Up-sampling factor the pairs are for.
    segment : int, default=8192
        Length of each target segment in high-rate samples; a multiple of ``rate``.
    hop : int or None, default=None
        Distance between segment starts in high-rate samples, a multiple of ``rate``;
        ``None`` means ``segment`` (no overlap). TFNet used ``segment // 4``.
    method : {"iir", "fir", "subsample"}, default="iir"
        How the low-rate input is made; see :func:`decimate`.
    min_rms : float, default=0.0
        Drop segments whose target RMS is below this value (TFNet drops near-silent
        frames in multi-speaker training). ``0`` keeps everything.

    Returns
    -------
    X : ndarray of shape (n_segments, segment // rate)
        Low-rate inputs.
    y : ndarray of shape (n_segments, segment)
        High-rate targets. Both have the float dtype common to the inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.signal import make_pairs
    >>> rng = np.random.default_rng(0)
    >>> X, y = make_pairs([rng.standard_normal(20000)], rate=4, segment=4096)
    >>> X.shape, y.shape
    ((4, 1024), (4, 4096))
    """
    rate = check_rate(rate)
    check_choice(method, DECIMATION_METHODS, name="method")
    if isinstance(segment, bool) or not isinstance(segment, (int, np.integer)) or segment < rate:
        raise ValueError(f"segment must be an integer number of high-rate samples >= rate={rate}, got {segment!r}.")
    if segment % rate:
        raise ValueError(
            f"segment={segment} is not a multiple of rate={rate}; the low-rate segment would not be whole. Use e.g. segment={segment - segment % rate}."
        )
    hop = segment if hop is None else hop
    if isinstance(hop, bool) or not isinstance(hop, (int, np.integer)) or hop < 1 or hop % rate:
        raise ValueError(f"hop must be a positive multiple of rate={rate}, got {hop!r}.")
    if not np.isscalar(min_rms) or not np.isfinite(min_rms) or min_rms < 0:
        raise ValueError(f"min_rms must be a non-negative number, got {min_rms!r}.")
    if isinstance(signals, np.ndarray) and signals.ndim == 2:
        signals = list(signals)
    elif isinstance(signals, np.ndarray) and signals.ndim == 1:
        signals = [signals]
    if len(signals) == 0:
        raise ValueError("signals is empty: pass at least one high-rate signal.")
    arrays = [as_float_signal(s, name=f"signals[{i}]", ndims=(1,)) for i, s in enumerate(signals)]
    dtype = np.result_type(*arrays)
    X_parts, y_parts = [], []
    for y_full in arrays:
        n = (y_full.size // rate) * rate
        if n < segment:
            continue
        y_full = y_full[:n]
        x_full = decimate(y_full, rate, method=method)
        starts = np.arange(0, n - segment + 1, hop)
        idx = starts[:, None] + np.arange(segment)
        y_seg = y_full[idx]
        x_seg = x_full[(starts // rate)[:, None] + np.arange(segment // rate)]
        if min_rms > 0:
            keep = np.sqrt(np.mean(y_seg.astype(np.float64) ** 2, axis=1)) >= min_rms
            y_seg, x_seg = y_seg[keep], x_seg[keep]
        X_parts.append(x_seg)
        y_parts.append(y_seg)
    if not X_parts or sum(len(p) for p in X_parts) == 0:
        lengths = sorted({a.size for a in arrays})
        raise ValueError(
            f"no segment of {segment} samples could be cut (signal lengths: {lengths[:5]}"
            f"{'...' if len(lengths) > 5 else ''}; min_rms={min_rms}). Pass longer signals, "
            "a smaller segment or a lower min_rms."
        )
    return np.concatenate(X_parts).astype(dtype, copy=False), np.concatenate(y_parts).astype(dtype, copy=False)
