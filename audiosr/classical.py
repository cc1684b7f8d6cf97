"""Classical up-samplers: interpolation baselines with the estimator API.

They invent nothing above the input's Nyquist frequency; they are the bar a
learned model has to clear, and the cheap first stage of the neural models.
"""

from __future__ import annotations

from .base import BaseUpsampler
from .interpolation import cubic_convolution, cubic_spline, polyphase_sinc

__all__ = ["BicubicUpsampler", "SplineUpsampler", "SincUpsampler", "CLASSICAL_METHODS"]


class BicubicUpsampler(BaseUpsampler):
    """Up-sample by Keys cubic convolution (``a = -0.5``), the 1-D analogue of image bicubic.

    Each output sample is a weighted sum of the four nearest input samples. Constant,
    linear and quadratic signals are reproduced exactly (away from the last sample,
    where the signal is extended linearly).

    Parameters
    ----------
    rate : int, default=2
        Up-sampling factor (>= 2).
    a : float, default=-0.5
        Kernel parameter (Keys 1981); -0.5 is the third-order accurate choice.

    Attributes
    ----------
    n_features_in_ : int
        Clip length seen in ``fit`` (set only when ``fit`` is called; fitting is optional).

    See Also
    --------
    SplineUpsampler, SincUpsampler

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr import BicubicUpsampler
    >>> X = np.array([[0.0, 1.0, 2.0, 3.0]])
    >>> BicubicUpsampler(rate=2).fit_transform(X)
    array([[0. , 0.5, 1. , 1.5, 2. , 2.5, 3. , 3.5]])
    """

    def __init__(self, rate=2, *, a=-0.5):
        self.rate = rate
        self.a = a

    def _upsample(self, X, rate):
        if not isinstance(self.a, (int, float)) or isinstance(self.a, bool):
            raise TypeError(f"a must be a number, got {self.a!r}.")
        return cubic_convolution(X, rate, float(self.a))


class SplineUpsampler(BaseUpsampler):
    """Up-sample by cubic spline interpolation with not-a-knot end conditions.

    The interpolator Kuleshov et al. and TFNet feed their networks with
    (``scipy.interpolate.splrep/splev``); the spline is fitted to each clip separately.

    Parameters
    ----------
    rate : int, default=2
        Up-sampling factor (>= 2).

    Attributes
    ----------
    n_features_in_ : int
        Clip length seen in ``fit`` (set only when ``fit`` is called; fitting is optional).

    See Also
    --------
    BicubicUpsampler, SincUpsampler

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr import SplineUpsampler
    >>> SplineUpsampler(rate=2).transform(np.array([[0.0, 1.0, 4.0, 9.0]]))
    array([[ 0.  ,  0.25,  1.  ,  2.25,  4.  ,  6.25,  9.  , 12.25]])
    """

    def _upsample(self, X, rate):
        return cubic_spline(X, rate)


class SincUpsampler(BaseUpsampler):
    """Up-sample by windowed-sinc (band-limited) interpolation with a polyphase filter.

    ``scipy.signal.resample_poly(X, rate, 1)``: the textbook resampler, close to ideal
    below the input's Nyquist frequency and silent above it.

    Parameters
    ----------
    rate : int, default=2
        Up-sampling factor (>= 2).
    window : str or tuple, default=("kaiser", 5.0)
        FIR design window, as in :func:`scipy.signal.resample_poly`.

    Attributes
    ----------
    n_features_in_ : int
        Clip length seen in ``fit`` (set only when ``fit`` is called; fitting is optional).

    See Also
    --------
    BicubicUpsampler, SplineUpsampler

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr import SincUpsampler
    >>> SincUpsampler(rate=3).transform(np.zeros((2, 100))).shape
    (2, 300)
    """

    def __init__(self, rate=2, *, window=("kaiser", 5.0)):
        self.rate = rate
        self.window = window

    def _upsample(self, X, rate):
        try:
            return polyphase_sinc(X, rate, self.window)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"window={self.window!r} is not a valid FIR window ({exc}).") from None


#: Method names accepted by :func:`audiosr.upsample` and ``audiosr upsample --method``.
CLASSICAL_METHODS = {"bicubic": BicubicUpsampler, "spline": SplineUpsampler, "sinc": SincUpsampler}
