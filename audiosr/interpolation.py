"""Integer-factor interpolation kernels along the last axis, vectorised over clips.

These are the classical up-samplers behind :class:`~audiosr.BicubicUpsampler`,
:class:`~audiosr.SplineUpsampler` and :class:`~audiosr.SincUpsampler`, and the cheap
interpolators that bring a low-rate clip to the target length before a neural
model refines it. Output sample ``k * rate`` of each function is input sample
``k``: the grids are aligned on their first sample, as :func:`audiosr.signal.decimate`
keeps every ``rate``-th sample starting at the first.

All functions take a float array ``x`` of shape ``(..., n_times)`` (validated by the
caller) and an integer ``rate``, and return an array of shape
``(..., n_times * rate)`` with the dtype of ``x``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.interpolate import CubicSpline
from scipy.signal import firwin, resample_poly

__all__ = ["cubic_convolution", "cubic_spline", "polyphase_sinc", "keys_kernel"]


def keys_kernel(t, a=-0.5):
    """Keys' cubic convolution kernel, the 1-D kernel of image "bicubic" interpolation.

    Parameters
    ----------
    t : array-like
        Distances in samples.
    a : float, default=-0.5
        Free parameter; -0.5 makes the interpolation exact for quadratics.

    Returns
    -------
    w : ndarray
        Kernel weights, zero for ``|t| >= 2``.
    """
    t = np.abs(np.asarray(t, dtype=np.float64))
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def cubic_convolution(x, rate, a=-0.5):
    """Up-sample by Keys cubic convolution (4 taps per output sample).

    The signal is extended by linear extrapolation (one sample before, two after), so
    constant and linear signals are reproduced exactly up to the last output sample.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.interpolation import cubic_convolution
    >>> cubic_convolution(np.array([0.0, 1.0, 2.0]), 2)
    array([0. , 0.5, 1. , 1.5, 2. , 2.5])
    """
    n = x.shape[-1]
    if n == 1:
        return np.repeat(x, rate, axis=-1)
    slope = x[..., -1:] - x[..., -2:-1]
    before = 2 * x[..., :1] - x[..., 1:2]
    after = x[..., -1:] + slope * np.array([1.0, 2.0], dtype=x.dtype)
    padded = np.concatenate([before, x, after], axis=-1)  # (..., n + 3)
    frac = np.arange(rate) / rate
    # Taps x[k-1], x[k], x[k+1], x[k+2] for output position k + frac.
    weights = np.stack(
        [keys_kernel(1 + frac, a), keys_kernel(frac, a), keys_kernel(1 - frac, a), keys_kernel(2 - frac, a)]
    )
    windows = sliding_window_view(padded, 4, axis=-1)  # (..., n, 4)
    out = windows @ weights.astype(x.dtype)  # (..., n, rate)
    return out.reshape(*x.shape[:-1], n * rate)


def cubic_spline(x, rate):
    """Up-sample by an interpolating cubic spline with not-a-knot end conditions.

    The spline through the samples is evaluated on the fine grid, and extrapolated by
    its last piece after the final sample, as ``scipy.interpolate.splrep/splev`` does
    in Kuleshov et al.'s data preparation.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.interpolation import cubic_spline
    >>> cubic_spline(np.array([0.0, 1.0, 4.0, 9.0]), 2)
    array([ 0.  ,  0.25,  1.  ,  2.25,  4.  ,  6.25,  9.  , 12.25])
    """
    n = x.shape[-1]
    if n == 1:
        return np.repeat(x, rate, axis=-1)
    spline = CubicSpline(np.arange(n), x, axis=-1, bc_type="not-a-knot")
    return np.asarray(spline(np.arange(n * rate) / rate), dtype=x.dtype)


@lru_cache(maxsize=32)
def _sinc_filter(rate, window):
    """Windowed-sinc low-pass for up-sampling by ``rate`` whose branches reproduce lines exactly.

    The design is scipy's ``resample_poly`` default (``20 * rate + 1`` taps, cut-off at
    the input's Nyquist). Windowing leaves each polyphase branch's DC gain and
    centroid slightly off, which shows as a ripple of period ``rate`` on constant and
    linear inputs. Each branch's taps ``j`` are scaled by ``a + b * j``, chosen so that
    its gain is exactly one and its centroid exactly its fractional delay: constant and linear signals then come out exact, and how a
    straight line is taken out at the edges no longer changes the interior (so long
    files processed in blocks match whole-file processing).
    """
    half = 10 * rate
    h = firwin(2 * half + 1, 1.0 / rate, window=window)
    for phase in range(rate):
        taps = h[phase::rate]
        j = np.arange(taps.size, dtype=np.float64)
        # resample_poly multiplies by rate itself; output phase p of input k uses taps
        # h[p + j * rate] on inputs k + 10 - j, so gain 1/rate and centroid (10 - p/rate)/rate.
        target = np.array([1.0 / rate, (10.0 - phase / rate) / rate])
        # Scale the taps by (a + b * j): zeros of the sinc stay zeros, so phase 0 stays
        # interpolating (it is a single tap, and the system is then rank one).
        gram = np.array([[taps.sum(), (j * taps).sum()], [(j * taps).sum(), (j * j * taps).sum()]])
        (a, b), *_ = np.linalg.lstsq(gram, target, rcond=None)
        h[phase::rate] = taps * (a + b * j)
    h.setflags(write=False)
    return h


def polyphase_sinc(x, rate, window=("kaiser", 5.0)):
    """Up-sample by band-limited (windowed-sinc) interpolation with a polyphase filter.

    ``scipy.signal.resample_poly`` with a Kaiser-windowed sinc whose polyphase branches
    reproduce straight lines exactly. Beyond each end the signal is continued by its
    point reflection about the end sample (``x[-k] = 2 x[0] - x[k]``), which keeps it
    smooth there and continues any straight line: no edge transients, constant and
    linear signals come out exact, and each output sample depends only on input
    samples within the filter's reach (10 on each side), so a long signal processed
    in overlapping blocks gives the same result as processed whole.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.interpolation import polyphase_sinc
    >>> polyphase_sinc(np.array([0.0, 1.0, 2.0, 3.0]), 2).round(12)
    array([0. , 0.5, 1. , 1.5, 2. , 2.5, 3. , 3.5])
    """
    n = x.shape[-1]
    if n == 1:
        return np.repeat(x, rate, axis=-1)
    if isinstance(window, list):
        window = tuple(window)
    h = _sinc_filter(rate, window)
    reach = 11  # the filter spans 10 input samples on each side
    widths = [(0, 0)] * (x.ndim - 1) + [(reach, reach)]
    padded = np.pad(x, widths, mode="reflect", reflect_type="odd")
    out = resample_poly(padded, rate, 1, axis=-1, window=h, padtype="constant")
    return np.asarray(out[..., reach * rate : (reach + n) * rate], dtype=x.dtype)
