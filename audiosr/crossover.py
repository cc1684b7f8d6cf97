"""Low-band passthrough: the input's own band below a crossover, a model's output above it.

A trained up-sampler has to invent the band above the input's Nyquist frequency, but
below it the input already holds the answer, and a network's output there is at best a
copy with small errors. :func:`low_band_passthrough` splits the spectrum with a linear-phase
crossover at the high rate,

``out = y_model + LP(sinc_up(x) - y_model) = LP(sinc_up(x)) + (y_model - LP(y_model))``,

where ``sinc_up`` is :class:`~audiosr.SincUpsampler` (band-limited interpolation of the
input) and ``LP`` a symmetric (zero-phase, zero-delay) Kaiser-windowed FIR low-pass whose
gain falls from one to zero over a transition band of ``width`` centred on the crossover
frequency. The two parts are complementary, so nothing is lost or doubled in the
transition band: below it the output is the interpolated input, above it the model's
output, each to within the filter's ripple (an 80 dB design: about ``1e-4``).

:func:`high_band_gain` scales what lies above the input's Nyquist frequency, the band a
model invents, by a constant, ``out = g * y + (1 - g) * LP(y)`` with ``LP`` the same kind
of filter with its transition band just above that frequency. A model trained to get
the high band's *level* right (a spectral loss) fills it with content of the right
magnitude but, where the band cannot be predicted from the input, with the wrong phase;
each such component adds its own energy to the error of the waveform, so a gain below one
trades a darker high band (a higher LSD) for SNR. The shipped models carry a gain chosen
on validation data (:func:`audiosr.evaluation.calibrate_bands`).

Frequencies are fractions of the *input's* Nyquist frequency (``sr_low / 2``). Signals
made by :func:`audiosr.decimate`'s default filter hold their band only up to 0.8 of it
(the Chebyshev low-pass is -6 dB at 0.85 and -21 dB at 0.9), so the crossover must lie
below that for the model to keep the top of the band it restores;
``benchmarks/results/low_band.md`` measures the choices.

The filter is applied over the whole clip (its ends continued by point reflection) and
each output sample depends only on the model's output and the input within
:func:`crossover_reach` low-rate samples, so long files processed in overlapping blocks
(:func:`audiosr.processing.upsample_file`) give the whole-file result.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.signal import firwin, kaiserord, oaconvolve

from ._validation import check_rate
from .classical import SincUpsampler

__all__ = [
    "DEFAULT_CROSSOVER",
    "GAIN_EDGE",
    "TRANSITION_WIDTH",
    "check_high_band_gain",
    "check_keep_low_band",
    "crossover_filter",
    "crossover_reach",
    "gain_reach",
    "high_band_gain",
    "low_band_passthrough",
]

#: Crossover frequency that ``keep_low_band=True`` stands for, as a fraction of the
#: input's Nyquist frequency (the centre of the transition band): the highest whose
#: transition band (0.7-0.8) lies in the flat passband of ``audiosr.decimate``'s default
#: filter (chosen in ``benchmarks/results/low_band.md``).
DEFAULT_CROSSOVER = 0.75
#: Width of the transition band, as a fraction of the input's Nyquist frequency.
TRANSITION_WIDTH = 0.1
#: Centre of the transition band of :func:`high_band_gain`, as a fraction of the input's
#: Nyquist frequency: the input's Nyquist frequency itself. With the default width the gain
#: starts to change at 0.95 and is reached at 1.05: a network continues an input that is
#: full up to its Nyquist frequency (FFT resampling) with strong content just above it,
#: which a transition band wholly above that frequency would let through
#: (``benchmarks/results/zoo_calibration.md``).
GAIN_EDGE = 1.0
_RIPPLE_DB = 80.0  # pass- and stop-band deviation 1e-4
_SINC_REACH = 11  # low-rate samples the sinc interpolator reads on each side (audiosr.interpolation)


def check_keep_low_band(value, name="keep_low_band"):
    """The crossover frequency a ``keep_low_band`` setting stands for, or None when it is off.

    Parameters
    ----------
    value : bool or float
        ``True``: :data:`DEFAULT_CROSSOVER`; a number in ``(0, 1)``: that crossover
        frequency, as a fraction of the input's Nyquist frequency; ``False`` or ``0``: off.
    name : str, default="keep_low_band"
        Name used in the error message.

    Returns
    -------
    crossover : float or None

    Examples
    --------
    >>> from audiosr.crossover import check_keep_low_band
    >>> check_keep_low_band(True), check_keep_low_band(0.5), check_keep_low_band(False)
    (0.75, 0.5, None)
    """
    if isinstance(value, (bool, np.bool_)):
        return DEFAULT_CROSSOVER if value else None
    if isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value):
        if value == 0:
            return None
        if 0 < value < 1:
            return float(value)
    raise ValueError(
        f"{name} must be True, False or a crossover frequency in (0, 1) as a fraction of the input's "
        f"Nyquist frequency (True means {DEFAULT_CROSSOVER}), got {value!r}."
    )


def _check_band(crossover, width):
    crossover = check_keep_low_band(float(crossover), name="crossover")
    if crossover is None:
        raise ValueError("crossover must be a number in (0, 1), got 0.")
    if isinstance(width, bool) or not isinstance(width, (int, float, np.integer, np.floating)) or not 0 < width < 1:
        raise ValueError(f"width must be a number in (0, 1) (a fraction of the input's Nyquist frequency), got {width!r}.")
    return crossover, float(width)


@lru_cache(maxsize=32)
def _kernel(rate, crossover, width):
    # Frequencies relative to the high rate's Nyquist frequency, as firwin and kaiserord take them.
    numtaps, beta = kaiserord(_RIPPLE_DB, width / rate)
    numtaps += 1 - numtaps % 2  # odd: a symmetric kernel centred on a sample, so no delay
    h = firwin(numtaps, crossover / rate, window=("kaiser", beta))
    h.setflags(write=False)
    return h


def crossover_filter(rate, crossover=DEFAULT_CROSSOVER, *, width=TRANSITION_WIDTH):
    """The crossover's low-pass: a symmetric, odd-length FIR at the high rate.

    Parameters
    ----------
    rate : int
        Up-sampling factor.
    crossover : float, default=DEFAULT_CROSSOVER
        Centre of the transition band (gain 0.5), as a fraction of the input's Nyquist frequency.
    width : float, default=TRANSITION_WIDTH
        Width of the transition band, same unit. The filter's length grows as ``1 / width``.

    Returns
    -------
    h : ndarray of shape (2 * half + 1,)
        Read-only taps, unit gain at DC; gain within 2e-4 of one below ``crossover - width / 2``
        and of zero above ``crossover + width / 2`` (for crossovers of 0.3 and more and widths up
        to 0.2; a crossover near ``width / 2`` leaves hardly any passband).

    Examples
    --------
    >>> from audiosr.crossover import crossover_filter
    >>> h = crossover_filter(4)
    >>> h.size % 2, round(float(h.sum()), 6)
    (1, 1.0)
    """
    rate = check_rate(rate)
    crossover, width = _check_band(crossover, width)
    return _kernel(rate, crossover, width)


def crossover_reach(rate, crossover=DEFAULT_CROSSOVER, *, width=TRANSITION_WIDTH):
    """Low-rate samples on each side that one output sample of the crossover depends on.

    The filter's half-length (rounded up to whole low-rate samples) plus the sinc
    interpolator's reach: the extra context a block needs, beyond the model's own, for
    block-wise processing to equal whole-signal processing.

    Examples
    --------
    >>> from audiosr.crossover import crossover_reach
    >>> crossover_reach(4)
    62
    """
    half = crossover_filter(rate, crossover, width=width).size // 2
    return math.ceil(half / rate) + _SINC_REACH


def low_band_passthrough(y, x, rate, *, crossover=DEFAULT_CROSSOVER, width=TRANSITION_WIDTH):
    """Give up-sampled clips the input's own band below a crossover frequency.

    Parameters
    ----------
    y : ndarray of shape (n_clips, n_times * rate)
        A model's output at the high rate.
    x : ndarray of shape (n_clips, n_times)
        The low-rate input it was made from.
    rate : int
        Up-sampling factor.
    crossover : float, default=DEFAULT_CROSSOVER
        Centre of the transition band, as a fraction of the input's Nyquist frequency.
    width : float, default=TRANSITION_WIDTH
        Width of the transition band, same unit.

    Returns
    -------
    out : ndarray of the shape and dtype of ``y``
        ``y + LP(sinc_up(x) - y)``: the windowed-sinc interpolation of ``x`` below the
        transition band, ``y`` above it (computed in float64).

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr import SincUpsampler
    >>> from audiosr.crossover import low_band_passthrough
    >>> x = np.sin(2 * np.pi * 0.05 * np.arange(400))[None]  # 0.1 of the input's Nyquist
    >>> out = low_band_passthrough(np.zeros((1, 1600)), x, 4)
    >>> float(np.abs(out - SincUpsampler(rate=4).transform(x)).max()) < 0.005  # the sinc's images are gone
    True
    """
    rate = check_rate(rate)
    h = crossover_filter(rate, crossover, width=width)
    y = np.asarray(y)
    x = np.asarray(x, dtype=np.float64)
    if y.ndim != 2 or x.ndim != 2 or y.shape != (x.shape[0], x.shape[1] * rate):
        raise ValueError(
            f"y must have shape (n_clips, n_times * rate) for x of shape (n_clips, n_times); "
            f"got y {y.shape} and x {x.shape} at rate {rate}."
        )
    diff = SincUpsampler(rate=rate).transform(x) - y.astype(np.float64)
    half = h.size // 2
    # Point reflection about the end samples (as the sinc interpolator's) continues the
    # difference smoothly past the clip's ends, so the low band is handed over there too:
    # zeros would halve it over the last half-length, an even reflection would add a kink.
    padded = np.pad(diff, ((0, 0), (half, half)), mode="reflect", reflect_type="odd")
    low = oaconvolve(padded, h[None, :], mode="valid", axes=-1)
    return (y + low).astype(y.dtype, copy=False)


def check_high_band_gain(value, name="high_band_gain"):
    """A ``high_band_gain`` setting as a float, or a ValueError that says what is allowed.

    Parameters
    ----------
    value : float
        A finite number, at least 0: the gain of the band above the input's Nyquist
        frequency (1: the model's output as it is; 0: nothing above the input's band).
    name : str, default="high_band_gain"
        Name used in the error message.

    Returns
    -------
    gain : float

    Examples
    --------
    >>> from audiosr.crossover import check_high_band_gain
    >>> check_high_band_gain(1), check_high_band_gain(0.35)
    (1.0, 0.35)
    """
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"{name} must be a finite number >= 0 (1 keeps the model's high band as it is, "
            f"0 removes it), got {value!r}."
        )
    return float(value)


def _gain_filter(rate, width):
    return _kernel(rate, GAIN_EDGE, width)


def gain_reach(rate, *, width=TRANSITION_WIDTH):
    """Low-rate samples on each side that one output sample of :func:`high_band_gain` depends on.

    Examples
    --------
    >>> from audiosr.crossover import gain_reach
    >>> gain_reach(4)
    51
    """
    rate = check_rate(rate)
    return math.ceil(_gain_filter(rate, width).size // 2 / rate)


def high_band_gain(y, rate, gain, *, width=TRANSITION_WIDTH):
    """Scale the band of up-sampled clips that lies above the input's Nyquist frequency.

    Parameters
    ----------
    y : ndarray of shape (n_clips, n_samples)
        Up-sampled clips (a model's output), at ``rate`` times the input's rate.
    rate : int
        Up-sampling factor (at least 2).
    gain : float
        Gain of the band above the input's Nyquist frequency (see
        :func:`check_high_band_gain`).
    width : float, default=TRANSITION_WIDTH
        Width of the transition band, a fraction of the input's Nyquist frequency,
        centred on :data:`GAIN_EDGE`.

    Returns
    -------
    out : ndarray of the shape and dtype of ``y``
        ``gain * y + (1 - gain) * LP(y)``: ``y`` itself below ``1 - width / 2`` of the
        input's Nyquist frequency and ``gain * y`` above ``1 + width / 2`` of it (to within
        1e-4); ``y`` unchanged when ``gain`` is 1.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.crossover import high_band_gain
    >>> t = np.arange(4000)
    >>> low, high = np.sin(2 * np.pi * 0.05 * t), np.sin(2 * np.pi * 0.3 * t)  # below / above 1/8
    >>> out = high_band_gain((low + high)[None], 4, 0.5)[0]
    >>> bool(np.abs(out - (low + 0.5 * high))[300:-300].max() < 1e-3)
    True
    """
    rate = check_rate(rate)
    gain = check_high_band_gain(gain, name="gain")
    h = _gain_filter(rate, width)
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"y must have shape (n_clips, n_samples), got {y.shape}.")
    if gain == 1.0:
        return y
    z = y.astype(np.float64)
    half = h.size // 2
    # As in low_band_passthrough: a point reflection continues the clip past its ends.
    padded = np.pad(z, ((0, 0), (half, half)), mode="reflect", reflect_type="odd")
    low = oaconvolve(padded, h[None, :], mode="valid", axes=-1)
    return (gain * z + (1.0 - gain) * low).astype(y.dtype, copy=False)
