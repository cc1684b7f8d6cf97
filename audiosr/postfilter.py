"""Smoothing the invented band: its spectral magnitudes averaged across frequency, its phases kept.

Where the band above the input's Nyquist frequency cannot be predicted from the input
(noise, fricatives, the upper harmonics of a voice whose pitch moves within a frame), a
trained model fills it with content of about the right level whose per-bin magnitudes
scatter at random around that level, as the reference's own do, but independently of
them. On a log-spectral distance the two scatters add up: each alone is about 5.5 dB
around its local mean in a 2048-point STFT of speech, and the output's is pure error.
:func:`smooth_high_band` replaces, in such an STFT, every magnitude above ``edge`` times the
input's Nyquist frequency by the root mean power of the ``width`` bins around it, keeps
every bin's phase, and resynthesises by weighted overlap-add. The band keeps its level
(power is averaged, not log power; the overlap-add of the changed frames loses about half
a decibel), the output's own scatter falls (on white noise from 5.6 to about 3.9 dB; the
frames no longer agree where they overlap, which brings some back), lines narrower than
``width`` bins flatten, and the band just above the cut-off, where a model recovers content
in phase, is left alone (``edge`` 1.5 by default). It cannot restore fine
structure the model got right; on speech-multi x4 it is chosen on validation files
(``benchmarks/postfilter.py``, ``benchmarks/results/postfilter_60min.md``).

The STFT is the metrics' (2048-sample periodic Hann window, hop 512), its frames on a grid
of ``HOP`` output samples from the clip's start and the clip zero-padded by half a window
at both ends. Each output sample depends on the input within ``N_FFT`` output samples, so
a long file processed in blocks that start on the grid gives the whole file's result
(:func:`smoothing_geometry`, used by :func:`audiosr.processing.upsample_file`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import uniform_filter1d

from ._validation import check_rate

__all__ = [
    "N_FFT",
    "HOP",
    "SMOOTHING_EDGE",
    "LINE_PERIODS",
    "check_high_band_smoothing",
    "smooth_high_band",
    "smoothing_geometry",
    "remove_period_lines",
    "line_reach",
]

#: STFT size and hop of the smoothing, in output samples (the metrics' defaults).
N_FFT, HOP = 2048, 512
#: Lowest frequency smoothed, in units of the input's Nyquist frequency: the half-octave just
#: above the cut-off is where models recover content in phase (chosen on validation files
#: in ``benchmarks/results/postfilter_60min.md``, with the width).
SMOOTHING_EDGE = 1.5
#: Periods of the U-Net's grid over which :func:`remove_period_lines` averages (Hann-weighted):
#: its notches are about ``4 / (period * LINE_PERIODS)`` of the output's rate wide (16 Hz at
#: 16 kHz for a period of 32 samples), so they take out the lines and little of the band.
LINE_PERIODS = 63
_FRAMES_PER_CHUNK = 256  # frames transformed at once: bounds the memory of long clips


def _is_count(value):
    """Whether ``value`` is a whole number (an int or NumPy integer, not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_high_band_smoothing(value, name="high_band_smoothing"):
    """A ``high_band_smoothing`` setting as an int, or a ValueError that says what is allowed.

    Parameters
    ----------
    value : int
        Width of the moving average, in bins of a 2048-point STFT: a whole number, at
        least 0 (0 and 1: no smoothing).
    name : str, default="high_band_smoothing"
        Name used in the error message.

    Returns
    -------
    width : int

    Examples
    --------
    >>> from audiosr.postfilter import check_high_band_smoothing
    >>> check_high_band_smoothing(15), check_high_band_smoothing(0)
    (15, 0)
    """
    if not _is_count(value) or value < 0:
        raise ValueError(
            f"{name} must be a whole number of STFT bins >= 0 (0 leaves the model's output as it is; "
            f"15 is the setting chosen on speech), got {value!r}."
        )
    if value > N_FFT // 2:
        raise ValueError(f"{name} must be at most {N_FFT // 2} bins (the whole spectrum), got {value!r}.")
    return int(value)


def smoothing_geometry(rate):
    """``(granularity, reach)`` of :func:`smooth_high_band`, in low-rate samples.

    Blocks of a long file must start on multiples of ``granularity`` (so their STFT frames
    fall on the whole file's) and carry ``reach`` samples of context on each side.

    Examples
    --------
    >>> from audiosr.postfilter import smoothing_geometry
    >>> smoothing_geometry(4), smoothing_geometry(3)
    ((128, 512), (512, 683))
    """
    rate = check_rate(rate)
    return HOP // math.gcd(HOP, rate), math.ceil(N_FFT / rate)


def _edge_bin(rate, edge):
    # The input's Nyquist frequency lies at N_FFT / (2 * rate) bins.
    return min(N_FFT // 2 + 1, int(round(edge * N_FFT / (2 * rate))))


def smooth_high_band(y, rate, width, *, edge=SMOOTHING_EDGE):
    """Average the spectral magnitudes of up-sampled clips across frequency above ``edge``.

    Parameters
    ----------
    y : ndarray of shape (n_clips, n_samples)
        Up-sampled clips (a model's output), at ``rate`` times the input's rate.
    rate : int
        Up-sampling factor (at least 2).
    width : int
        Bins of the moving average (see :func:`check_high_band_smoothing`); 0 or 1 returns
        ``y`` unchanged.
    edge : float, default=SMOOTHING_EDGE
        Lowest frequency smoothed, in units of the input's Nyquist frequency.

    Returns
    -------
    out : ndarray of the shape and dtype of ``y``
        In the STFT described in the module's docs, every bin from ``edge`` up given the
        root mean power of the ``width`` bins centred on it (the average stops at ``edge``
        and at the output's Nyquist frequency) and its own phase. Below ``edge`` the output
        equals ``y`` to within rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.postfilter import smooth_high_band
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(16000)
    >>> low = np.sin(2 * np.pi * 0.02 * t)  # below the input's Nyquist frequency (1/8)
    >>> noise = rng.standard_normal(16000)
    >>> out = smooth_high_band((low + noise)[None], 4, 15)[0]
    >>> bool(np.std(out) > 0.9 * np.std(low + noise))  # the level is kept
    True
    """
    rate = check_rate(rate)
    width = check_high_band_smoothing(width, name="width")
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"y must have shape (n_clips, n_samples), got {y.shape}.")
    if width <= 1 or y.shape[1] == 0:
        return y
    first = _edge_bin(rate, float(edge))
    if first >= N_FFT // 2 + 1:
        return y
    n = y.shape[1]
    half, per = N_FFT // 2, N_FFT // HOP
    n_frames = -(-n // HOP) + 1  # frames starting at k * HOP - half cover every sample
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
    n_blocks = n_frames - 1 + per  # the padded clip in blocks of HOP samples
    # Frame k spans blocks k .. k + per - 1: overlap-add block by block.
    norm = np.zeros((n_blocks, HOP))
    for j in range(per):
        norm[j : j + n_frames] += (window**2).reshape(per, HOP)[j]
    norm = norm.ravel()[half : half + n]
    out = np.empty(y.shape)
    for c in range(y.shape[0]):
        padded = np.zeros(n_blocks * HOP)
        padded[half : half + n] = y[c]
        frames = sliding_window_view(padded, N_FFT)[::HOP][:n_frames]
        acc = np.zeros((n_blocks, HOP))
        for start in range(0, n_frames, _FRAMES_PER_CHUNK):
            spec = np.fft.rfft(frames[start : start + _FRAMES_PER_CHUNK] * window, axis=-1)
            high = spec[:, first:]
            magnitude = np.abs(high)
            smooth = np.sqrt(uniform_filter1d(magnitude**2, width, axis=-1, mode="nearest"))
            # A bin of zero magnitude has no phase to keep: it stays zero.
            spec[:, first:] = np.where(magnitude > 0, high * (smooth / np.where(magnitude > 0, magnitude, 1.0)), 0.0)
            chunk = (np.fft.irfft(spec, n=N_FFT, axis=-1) * window).reshape(-1, per, HOP)
            for j in range(per):
                acc[start + j : start + j + len(chunk)] += chunk[:, j]
        out[c] = acc.ravel()[half : half + n] / norm
    return out.astype(y.dtype, copy=False) if np.issubdtype(y.dtype, np.floating) else out


def _line_filter(rate, period, edge, periods):
    """The FIR filter whose output is the lines: a comb average over ``periods`` periods, high-passed."""
    from scipy.signal import firwin

    # Harmonics of the period from `edge` up: the first at or above edge * f_N, f_N = 1 / (2 * rate).
    first = math.ceil(edge * period / (2 * rate) - 1e-9)
    if first > period // 2:
        return None  # no harmonic below the output's Nyquist frequency
    weights = np.hanning(periods + 2)[1:-1]
    comb = np.zeros((periods - 1) * period + 1)
    comb[::period] = weights / weights.sum()
    if first <= 0:
        return comb  # every harmonic, DC included
    # Cut-off half-way between the last harmonic kept and the first removed; 4 periods of taps
    # give a transition narrower than the harmonics' spacing.
    highpass = firwin(4 * period + 1, (first - 0.5) / period, fs=1.0, pass_zero=False)
    return np.convolve(comb, highpass)


def line_reach(rate, period, periods=LINE_PERIODS):
    """Low-rate samples of context that :func:`remove_period_lines` needs on each side.

    Examples
    --------
    >>> from audiosr.postfilter import line_reach
    >>> line_reach(4, 32)
    264
    """
    rate = check_rate(rate)
    return math.ceil(((periods - 1) * period + 4 * period) / 2 / rate)


def remove_period_lines(y, rate, period, *, edge=SMOOTHING_EDGE, periods=LINE_PERIODS):
    """Subtract the lines of a U-Net's period from the invented band of up-sampled clips.

    A U-Net that halves the length with strided convolutions and doubles it back with
    sub-pixel shuffles computes differently at each step of a grid of ``period`` output
    samples, and adds faint steady lines at the multiples of ``1 / period`` of the
    output's rate (``benchmarks/results/artifacts.md``). This averages the clip over
    ``periods`` consecutive periods (Hann-weighted), which keeps what repeats with the
    period and little else: the lines, and the clip's own content within a few hertz of
    them. The average's harmonics from ``edge`` times the input's Nyquist frequency up are
    subtracted; below, where models recover content in phase, nothing changes. It is one
    fixed linear-phase FIR filter, so a long file processed in blocks with
    :func:`line_reach` samples of context gives the whole file's result.

    Parameters
    ----------
    y : ndarray of shape (n_clips, n_samples)
        Up-sampled clips (a model's output), at ``rate`` times the input's rate.
    rate : int
        Up-sampling factor (at least 2).
    period : int
        The grid's period in output samples (``2 ** (B + 1)`` for a U-Net of ``B`` levels
        at the output's rate); 0 returns ``y`` unchanged.
    edge : float, default=SMOOTHING_EDGE
        Lowest frequency cleaned, in units of the input's Nyquist frequency.
    periods : int, default=LINE_PERIODS
        Periods averaged (odd).

    Returns
    -------
    out : ndarray of the shape and dtype of ``y``

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.postfilter import remove_period_lines
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(32000)
    >>> line = 0.01 * np.cos(2 * np.pi * 7 * t / 32)  # at 7/32 of the rate: above 1.5 f_N at x4
    >>> noise = 0.1 * rng.standard_normal(32000)
    >>> out = remove_period_lines((noise + line)[None], 4, 32)[0]
    >>> def at(x, f):
    ...     return np.abs(np.fft.rfft(x))[int(round(f * len(x)))]
    >>> bool(at(out, 7 / 32) < 0.05 * at(line, 7 / 32))
    True
    """
    from scipy.signal import oaconvolve

    rate = check_rate(rate)
    if not _is_count(period) or period < 0:
        raise ValueError(f"period must be a whole number of output samples >= 0, got {period!r}.")
    if not _is_count(periods) or periods < 1 or periods % 2 == 0:
        raise ValueError(f"periods must be an odd whole number >= 1, got {periods!r}.")
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"y must have shape (n_clips, n_samples), got {y.shape}.")
    if period < 2 or y.shape[1] == 0:
        return y
    h = _line_filter(rate, int(period), float(edge), int(periods))
    if h is None:
        return y
    lines = oaconvolve(np.asarray(y, dtype=np.float64), h[None], mode="same", axes=-1)
    out = y - lines
    return out.astype(y.dtype, copy=False) if np.issubdtype(y.dtype, np.floating) else out
