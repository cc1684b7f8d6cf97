"""Effective bandwidth: the highest frequency with real content in a signal or a file.

A file's sample rate says what its container can hold, not what it holds: a 44.1 kHz
file made from a 16 kHz source has nothing above about 8 kHz, an MP3 encoded with a
16 kHz low-pass nothing above 16 kHz. :func:`effective_bandwidth` measures where the
content really stops, so that a model can be chosen for the rate the content came
from, and :func:`file_bandwidth` does it on a few excerpts of a file, in bounded time
and memory whatever the file's length.

The default detector, ``method="edge"``, reads the long-term spectrum of the *active*
frames (frames within ``active_db`` dB of the loudest one, so that silences, fades and
low-level dither between sounds do not count), each frame's mean removed first (so that
a DC offset does not count either):

1. the mean power spectrum of the active frames, smoothed over 1.5 % of each
   frequency, in dB. Averaging power (not log power) keeps a band that a codec empties
   in some frames only ("spectral holes") near its true level;
2. a *cliff* at frequency f: the content just under f (median level over the 15 %
   below it) stands at least 25 dB above everything from 1.5 f to Nyquist, or 20 dB
   above everything from 1.1 f, or 15 dB above everything from 1.04 f. Unless the drop
   is 35 dB or more, what lies beyond must also be a flat floor (10th and 90th
   percentiles within 10 dB), since natural content beyond a steep stretch keeps
   falling. The highest cliff wins, except that a cliff whose content is 35 dB or more
   below that of a lower cliff is a residue (a band-limited noise floor, the images a
   polyphase resampler leaves) and the lower cliff is taken;
3. the *knee* of that cliff is where the fall (in dB per octave, on a spectrum smoothed
   over 4 %) is a third as steep as at its steepest within its first 25 dB; the
   *edge* is the highest frequency at or after the knee where the spectrum is within
   3 dB (half the power) of the content just under the knee (its highest level over
   the 8 % below).

Edges are found from 200 Hz up. No cliff means the content reaches Nyquist, and
``hz = sr / 2``. Measured on filters with a known cut-off (``benchmarks/bandwidth.py``,
results in ``benchmarks/results/bandwidth.md``), the edge lies within 1 % of a
brick-wall, codec-like or soxr cut-off (soxr's being its band-width, 95 % of the new
Nyquist frequency), 1-4.5 % above the pass-band edge of an order-8 Chebyshev filter
(scipy's ``decimate``), and within 4 % of the -3 dB frequency of an order-8
Butterworth filter and of the cut-off of a Kaiser-window FIR filter or of
``resample_poly``; resampling down and back up with ``resample_poly`` (two wide
filters in a row) halves the power up to 7.5 % below the cut-off, and the edge is
read there. A natural roll-off into a noise floor is not a cliff, so a recording whose high
band merely fades is reported full band (a very steep fade, such as a soft piano piece
sinking into its noise floor by 6-7 kHz, can read as an edge); an edge less than about
15 dB above a noise floor is not seen.

The cumulative-magnitude rules other super-resolution systems use to find the cut-off
of their input (the frequency below which a fixed share of the spectral magnitude
lies: 97 % in NVSR, 98.5 % in AudioSR, 99.96 % in ClearVoice) are available as
``method="energy97"``, ``"energy98.5"`` and ``"energy99.96"``, computed here on the
same active, DC-free frames. They follow the content's spectral balance rather than
its edge (dull speech ends early, noise late) and serve as a comparison
(``benchmarks/bandwidth.py``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import median_filter
from scipy.signal import get_window

from ._validation import as_float_signal, check_channels_first, check_choice, check_positive, check_sample_rate
from .io import info as _file_info

__all__ = ["Bandwidth", "effective_bandwidth", "file_bandwidth", "BANDWIDTH_METHODS", "FULL_BAND_FRACTION"]

#: Shares of the spectral magnitude below the cut-off for the cumulative methods.
_ENERGY_SHARES = {"energy97": 0.97, "energy98.5": 0.985, "energy99.96": 0.9996}

#: Names accepted by ``method=``.
BANDWIDTH_METHODS = ("edge", *_ENERGY_SHARES)

#: :attr:`Bandwidth.full_band` holds when the content reaches this fraction of Nyquist:
#: a recording's own anti-alias filter stops it at 0.88-0.95 of Nyquist.
FULL_BAND_FRACTION = 0.85

# Frames quieter than this mean square (-140 dBFS, below 24-bit quantisation) are silence
# whatever the loudest frame, so digital silence and a pure DC offset have no content.
_SILENCE_POWER = 1e-14
# Frames analysed per call at most; a longer signal is analysed on evenly spread frames.
_MAX_FRAMES = 4096
_FRAMES_PER_CHUNK = 256

_SMOOTH = 0.015  # spectrum smoothing, fraction of each frequency
_SLOPE_SMOOTH = 0.04  # wider smoothing for the slope that locates the knee
_SLOPE_SPAN = 0.03  # slope measured across +-1.5 % of the frequency
_LEVEL_BAND = 0.15  # content level under a candidate cliff: median over this fraction below it
_TRANSITION = 0.5  # transition allowed after a cliff, fraction of its frequency
_FLOOR_WIDTH = 0.02  # floor smoothing (median) and the smallest floor region, fraction of Nyquist
_CLIFF_DB = 25.0  # least drop from the content to everything beyond the transition...
_SHARP = 0.1  # ...or, beyond a transition this short (fraction of the frequency)...
_SHARP_CLIFF_DB = 20.0  # ...this drop...
_STEEP = 0.04  # ...or beyond this one...
_STEEP_CLIFF_DB = 15.0  # ...this drop; each onto a flat floor...
_FLAT_DB = 10.0  # ...(whose 90th and 10th percentiles are within this)...
_DEEP_CLIFF_DB = 35.0  # ...unless the drop is at least this deep
_RESIDUE_DB = 35.0  # content this far below a lower cliff's is a residue, not content
_SEARCH_DB = 25.0  # the knee is sought in the first this-many dB of the fall
_KNEE_FRACTION = 1 / 3  # knee: where the fall is this fraction as steep as its steepest point
_KNEE_BAND = 0.08  # content level at the knee: highest level over this fraction below it
_EDGE_DB = 3.0  # the edge: highest frequency no more than this below that level (half power)
_MIN_EDGE_HZ = 200.0  # lowest edge looked for
_CONFIDENT_DROP_DB = 50.0  # an edge this deep (content to floor) has confidence 1


@dataclass(frozen=True)
class Bandwidth:
    """Effective bandwidth of a signal: where its real content stops.

    Attributes
    ----------
    hz : float
        Highest frequency with real content, in Hz; ``sr / 2`` when the content
        reaches Nyquist, ``0.0`` when there is no active content at all.
    sr : int
        Sample rate the signal was measured at.
    confidence : float
        How clear the result is, in [0, 1]. For an edge: its depth (content level
        just under the edge minus the floor above it), 50 dB or more giving 1. For
        a full-band result (``method="edge"``): how far the largest drop anywhere
        stays below the 35 dB that makes a cliff certain (1 for no drop at all).
        For the cumulative methods: the depth of the fall across their cut-off,
        measured the same way. 0 when there is no active content.
    method : str
        The detector that produced the result (one of :data:`BANDWIDTH_METHODS`).
    evidence : str
        A short human-readable account of what was measured.
    """

    hz: float
    sr: int
    confidence: float
    method: str
    evidence: str

    @property
    def full_band(self):
        """True when the content reaches ``FULL_BAND_FRACTION`` (0.85) of Nyquist.

        A recording's own anti-alias filter ends its content at 0.88-0.95 of Nyquist
        (19.5-21 kHz in a 44.1 kHz file, 21-22.5 kHz in a 48 kHz one), so such a file
        counts as full band; a 48 kHz file made from a 32 kHz source (edge near
        15 kHz, 0.63 of Nyquist) or a 44.1 kHz MP3 with a 16 kHz low-pass does not.
        """
        return self.hz >= FULL_BAND_FRACTION * self.sr / 2


# --------------------------------------------------------------------------- spectrum


def _frame_length(sr):
    """FFT size giving bins of 20-40 Hz at any rate (2048 at 44.1/48 kHz, 512 at 16 kHz)."""
    return int(max(16, 2 ** round(math.log2(sr / 25.0))))


def _long_term_spectrum(segments, sr, active_db):
    """Mean power and mean magnitude spectra of the active frames of ``segments``.

    ``segments`` is a list of 2-D arrays (channels, time); frames never straddle two
    segments, so excerpts of a file can be analysed without the clicks their joins
    would make. Returns ``(freqs, power, magnitude, n_active, n_frames)``.
    """
    n = _frame_length(sr)
    hop = n // 2
    views = []
    for seg in segments:
        if seg.shape[-1] < n:  # one frame, zero-padded: the spectrum keeps its resolution
            seg = np.pad(seg, ((0, 0), (0, n - seg.shape[-1])))
        views.extend(sliding_window_view(channel, n)[::hop] for channel in seg)
    counts = np.array([v.shape[0] for v in views])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    n_frames = int(offsets[-1])
    picked = np.arange(n_frames)
    if n_frames > _MAX_FRAMES:
        picked = np.unique(np.linspace(0, n_frames - 1, _MAX_FRAMES).round().astype(np.int64))
    owner = np.searchsorted(offsets, picked, side="right") - 1
    rows = [picked[owner == i] - offsets[i] for i in range(len(views))]
    energy = np.concatenate([views[i][r].var(axis=1) for i, r in enumerate(rows)])
    threshold = max(energy.max() * 10.0 ** (-active_db / 10.0), _SILENCE_POWER)
    active = energy >= threshold
    window = get_window("blackmanharris", n)
    power = np.zeros(n // 2 + 1)
    magnitude = np.zeros(n // 2 + 1)
    start = 0
    for view, r in zip(views, rows):
        keep = r[active[start : start + r.size]]
        start += r.size
        for s in range(0, keep.size, _FRAMES_PER_CHUNK):
            frames = view[keep[s : s + _FRAMES_PER_CHUNK]]
            spec = np.abs(np.fft.rfft((frames - frames.mean(axis=1, keepdims=True)) * window, axis=1))
            magnitude += spec.sum(axis=0)
            power += (spec**2).sum(axis=0)
    n_active = int(active.sum())
    if n_active:
        power /= n_active
        magnitude /= n_active
    return np.fft.rfftfreq(n, 1.0 / sr), power, magnitude, n_active, n_frames


def _smoothed_db(power, fraction):
    """Power averaged over +-fraction/2 of each bin's frequency (at least 3 bins), in dB."""
    k = np.arange(power.size)
    half = np.maximum(1, np.round(fraction * k / 2)).astype(np.int64)
    lo = np.maximum(k - half, 0)
    hi = np.minimum(k + half, power.size - 1)
    cum = np.concatenate([[0.0], np.cumsum(power)])
    smooth = (cum[hi + 1] - cum[lo]) / (hi - lo + 1)
    # Empty bands (above a brick-wall cut-off, say) sit 200 dB under the peak, not at -inf.
    return 10.0 * np.log10(smooth + smooth.max() * 1e-20)


# --------------------------------------------------------------------------- detectors


def _depth_confidence(drop_db):
    return float(np.clip(drop_db / _CONFIDENT_DROP_DB, 0.0, 1.0))


def _edge(freqs, power):
    """The edge detector; returns (hz or None for full band, confidence, detail text)."""
    spec = _smoothed_db(power, _SMOOTH)
    top = spec.size - 1
    df = freqs[1]
    # The floor beyond a candidate: running maximum from Nyquist down of the
    # median-smoothed spectrum, so a lone tone (a whine, a hum harmonic) is no content.
    width = max(3, int(round(_FLOOR_WIDTH * freqs[-1] / df)) | 1)
    smooth_floor = median_filter(spec, width, mode="nearest")
    ceiling = np.maximum.accumulate(smooth_floor[::-1])[::-1]
    min_floor = max(4, int(_FLOOR_WIDTH * spec.size))
    k = np.arange(max(4, int(_MIN_EDGE_HZ / df)), top - min_floor + 1)
    beyond = k + np.minimum(np.maximum((_TRANSITION * k).astype(np.int64), 2), (top - k) // 2)
    usable = top - beyond >= min_floor // 2
    k, beyond = k[usable], beyond[usable]
    if k.size == 0:
        return None, 0.0, "too few frequency bins to look for an edge"
    level = np.array([np.median(spec[int(i * (1 - _LEVEL_BAND)) : i + 1]) for i in k])
    cliff = level - ceiling[beyond]
    sharp = level - ceiling[k + np.minimum(np.maximum((_SHARP * k).astype(np.int64), 2), (top - k) // 2)]
    steep = level - ceiling[k + np.minimum(np.maximum((_STEEP * k).astype(np.int64), 2), (top - k) // 2)]
    good = (cliff >= _CLIFF_DB) | (sharp >= _SHARP_CLIFF_DB) | (steep >= _STEEP_CLIFF_DB)
    for i in np.flatnonzero(good & (cliff < _DEEP_CLIFF_DB)):
        # A shallow drop counts only onto a flat floor: natural content beyond it would still fall.
        lo_pct, hi_pct = np.percentile(smooth_floor[beyond[i] :], [10, 90])
        good[i] = hi_pct - lo_pct <= _FLAT_DB
    if not good.any():
        largest = float(cliff.max())
        return None, float(np.clip(1.0 - largest / _DEEP_CLIFF_DB, 0.0, 1.0)), f"largest drop {max(largest, 0):.0f} dB"
    good = np.flatnonzero(good)
    # Runs of qualifying bins; gaps narrower than a tenth of the frequency are bridged
    # (the floor test can reject a few bins in the middle of one cliff).
    gap = k[good[1:]] - k[good[:-1]] > np.maximum(1, 0.1 * k[good[1:]])
    runs = np.split(good, np.flatnonzero(gap) + 1)
    chosen = runs[-1]
    for run in reversed(runs[:-1]):
        if level[run].max() - level[chosen].max() >= _RESIDUE_DB:
            chosen = run
    first, last = chosen[0], chosen[-1]
    floor = ceiling[beyond[last]]
    # The fall: from under the cliff to where it meets the floor or is _SEARCH_DB down.
    lo = int(k[first] * (1 - _LEVEL_BAND))
    content = np.median(spec[lo : k[first] + 1])
    reached = np.flatnonzero((spec[k[first] :] <= floor + 3.0) | (spec[k[first] :] <= content - _SEARCH_DB))
    hi = max(k[first] + (int(reached[0]) if reached.size else top - k[first]), lo + 3)
    knee = lo + _knee(_smoothed_db(power, _SLOPE_SMOOTH), lo, hi)
    ref = spec[int(knee * (1 - _KNEE_BAND)) : knee + 1].max()
    above = np.flatnonzero(spec[knee : hi + 1] >= ref - _EDGE_DB)
    i = knee + (int(above[-1]) if above.size else 0)
    hz = freqs[i]
    if i < top and spec[i] > spec[i + 1]:  # interpolate the crossing inside the bin
        hz += df * float(np.clip((spec[i] - (ref - _EDGE_DB)) / (spec[i] - spec[i + 1]), 0.0, 1.0))
    start = min(i + max(2, min(int(_TRANSITION * i), (top - i) // 2)), top)
    drop = float(ref - np.median(spec[start:]))
    return float(hz), _depth_confidence(drop), f"{drop:.0f} dB drop to the floor"


def _knee(spec, lo, hi):
    """Index (from ``lo``) of the knee of the fall in ``spec[lo:hi + 1]``."""
    k = np.arange(lo, hi + 1)
    half = np.maximum(1, np.round(k * _SLOPE_SPAN / 2)).astype(np.int64)
    a = np.maximum(k - half, 1)
    b = np.minimum(k + half, spec.size - 1)
    slope = (spec[a] - spec[b]) / np.log2(b / a)  # dB per octave, positive when falling
    i = int(np.argmax(slope))
    steepest = slope[i]
    while i > 0 and slope[i] > steepest * _KNEE_FRACTION:
        i -= 1
    return i


def _energy(freqs, power, magnitude, share):
    """Cumulative-magnitude cut-off; returns (hz, confidence, detail text)."""
    cum = np.cumsum(magnitude)
    i = min(int(np.searchsorted(cum, share * cum[-1])), freqs.size - 1)
    spec = _smoothed_db(power, _SMOOTH)
    below = np.median(spec[int(i * 0.9) : i + 1])
    above = np.median(spec[i : max(int(i * 1.1), i + 1) + 1])
    return float(freqs[i]), _depth_confidence(below - above), f"{share:.2%} of the spectral magnitude below it"


# --------------------------------------------------------------------------- public API


def _check_active_db(active_db):
    return check_positive(active_db, name="active_db", unit="dB", example=45)


def _measure(segments, sr, method, active_db):
    freqs, power, magnitude, n_active, n_frames = _long_term_spectrum(segments, sr, active_db)
    frames = f"{n_active} of {n_frames} frames active"
    if n_active == 0:
        return Bandwidth(0.0, sr, 0.0, method, f"no active content: every frame is silent or constant ({frames})")
    nyquist = sr / 2
    if method == "edge":
        hz, confidence, detail = _edge(freqs, power)
        if hz is None:
            return Bandwidth(
                float(nyquist), sr, confidence, method, f"no edge: content reaches Nyquist ({detail}; {frames})"
            )
        return Bandwidth(hz, sr, confidence, method, f"edge at {hz / 1000:.2f} kHz, {detail}, {frames}")
    hz, confidence, detail = _energy(freqs, power, magnitude, _ENERGY_SHARES[method])
    return Bandwidth(hz, sr, confidence, method, f"cut-off at {hz / 1000:.2f} kHz: {detail}, {frames}")


def effective_bandwidth(x, sr, *, method="edge", active_db=45.0):
    """Measure the highest frequency with real content in a signal.

    Parameters
    ----------
    x : array-like of shape (n_times,) or (n_channels, n_times)
        The signal, time last; the channels are pooled.
    sr : int
        Its sample rate in Hz.
    method : {"edge", "energy97", "energy98.5", "energy99.96"}, default="edge"
        ``"edge"``: the cliff detector described in the module documentation (the
        most accurate on the comparison in ``benchmarks/bandwidth.py``). The others:
        the frequency below which 97 % (NVSR), 98.5 % (AudioSR) or 99.96 %
        (ClearVoice) of the spectral magnitude of the active frames lies.
    active_db : float, default=45.0
        Frames more than this many dB below the loudest frame are left out, so
        silences and low-level noise between sounds do not count.

    Returns
    -------
    Bandwidth
        ``hz`` is ``sr / 2`` when the content reaches Nyquist, ``0.0`` when the
        signal has no active content (all zeros, a constant, or silence below
        -140 dBFS); ``full_band`` tells whether the content reaches 0.85 of Nyquist.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.signal import resample_poly
    >>> from audiosr.bandwidth import effective_bandwidth
    >>> noise = np.random.default_rng(0).standard_normal(16000)  # 1 s of noise at 16 kHz...
    >>> x = resample_poly(noise, 3, 1)  # ...in a 48 kHz container
    >>> bw = effective_bandwidth(x, 48000)
    >>> round(bw.hz / 1000, 1), bw.full_band
    (8.0, False)
    >>> effective_bandwidth(noise, 16000).full_band
    True
    """
    sr = check_sample_rate(sr)
    check_choice(method, BANDWIDTH_METHODS, name="method")
    active_db = _check_active_db(active_db)
    x = check_channels_first(as_float_signal(x, name="x", ndims=(1, 2), dtype=np.float64))
    return _measure([np.atleast_2d(x)], sr, method, active_db)


def file_bandwidth(path, *, max_seconds=60.0, method="edge", active_db=45.0):
    """Measure the effective bandwidth of an audio file from a few excerpts.

    At most ``max_seconds`` of audio are read, as eight excerpts spread evenly over
    the file (the whole file when it is shorter), so an hour-long file costs the same
    as a one-minute one. The excerpts are analysed separately and their active frames
    pooled.

    Parameters
    ----------
    path : str or path-like
        Any file libsndfile reads.
    max_seconds : float, default=60.0
        Most audio to read, in seconds.
    method : str, default="edge"
        See :func:`effective_bandwidth`.
    active_db : float, default=45.0
        See :func:`effective_bandwidth`.

    Returns
    -------
    Bandwidth
        Measured at the file's sample rate.

    Examples
    --------
    >>> import audiosr
    >>> from audiosr.bandwidth import file_bandwidth
    >>> file_bandwidth(audiosr.datasets.sample_path("speech")).full_band
    True
    """
    check_choice(method, BANDWIDTH_METHODS, name="method")
    active_db = _check_active_db(active_db)
    max_seconds = check_positive(max_seconds, name="max_seconds", unit="seconds")
    meta = _file_info(path)
    sr = int(meta.samplerate)
    if meta.frames <= 0:
        raise ValueError(f"'{path}' contains no samples.")
    segments = _read_excerpts(os.fspath(path), meta.frames, int(max(1, round(max_seconds * sr))), sr)
    return _measure(segments, sr, method, active_db)


_EXCERPTS = 8


def _read_excerpts(path, n_frames, budget, sr):
    """Up to ``budget`` samples of ``path`` as a list of (channels, time) excerpts."""
    if n_frames <= budget:
        spans = [(0, n_frames)]
    else:
        length = max(budget // _EXCERPTS, min(budget, sr))  # excerpts of a second at least
        count = max(1, budget // length)
        starts = np.linspace(0, n_frames - length, count).round().astype(np.int64)
        spans = [(int(s), length) for s in starts]
    segments = []
    try:
        with sf.SoundFile(path) as fh:
            for start, length in spans:
                fh.seek(start)
                data = fh.read(length, dtype="float64", always_2d=True)
                if data.shape[0]:
                    segments.append(data.T)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ValueError(f"could not read '{path}' as audio ({exc}).") from None
    if not segments:
        raise ValueError(f"'{path}' contains no samples.")
    if not all(np.all(np.isfinite(s)) for s in segments):
        raise ValueError(f"'{path}' contains NaN or infinite samples (a corrupt float file?).")
    return segments
