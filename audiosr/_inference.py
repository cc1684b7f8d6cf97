"""Inference around the networks, in NumPy: what a neural model does before and after its network.

Every neural estimator up-samples the same way: checks, a pre-processing of the input,
the network on fixed-size batches (patches of the interpolated waveform, or context
windows of STFT frames), a post-processing back to a waveform (overlap-add, inverse
STFT), and the low-band crossover (:mod:`audiosr.crossover`). This module holds all
of it except the network, which comes in as a callable ``network(batch) -> batch`` on
float32 arrays. The PyTorch estimators (:mod:`audiosr.neural`) pass their module; an
exported model (:class:`audiosr.OnnxUpsampler`) passes an onnxruntime session,
so the two run the very same code around the network, and the second needs no torch.

A *pipeline configuration* is a small dict of plain values that says which pipeline
runs and with which sizes (see :func:`upsample_with_network`); an estimator builds it
from its fitted state, and an exported model stores it in its file.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .threads import resolve_threads, split_batches
from ._validation import check_choice, check_clips
from .classical import CLASSICAL_METHODS
from .crossover import (
    check_high_band_gain,
    check_keep_low_band,
    crossover_reach,
    gain_reach,
    high_band_gain,
    low_band_passthrough,
)
from .postfilter import check_high_band_smoothing, line_reach, remove_period_lines, smooth_high_band, smoothing_geometry

__all__ = [
    "INPUT_UPSAMPLERS",
    "PIPELINES",
    "grid_geometry",
    "low_band_bins",
    "network_input_size",
    "stream_geometry",
    "upsample_with_network",
    "spectral_features",
]

INPUT_UPSAMPLERS = ("spline", "sinc", "bicubic")
# Largest input sample accepted by the networks: squared spectra of float32 patches
# overflow near 1e19, and real audio is within [-1, 1] (or +-32768 as unscaled PCM).
MAX_PEAK = 1e6
POWER_EPS = 1e-10  # added to |S|^2 before the log: silence maps to ln(1e-10) = -23.0, not -inf
LOG_POWER_MAX = 50.0  # cap on a predicted ln power so exp() cannot overflow (e^50 = 5e21)


def grid_geometry(hop, rate, reach):
    """Block geometry for streaming a model that works on a grid of ``hop`` high-rate samples.

    Returns ``(granularity, context)`` in low-rate samples: block starts on multiples
    of ``granularity`` fall on the grid, and ``context`` is ``reach`` rounded up to it.
    """
    granularity = hop // math.gcd(hop, rate)
    return granularity, math.ceil(reach / granularity) * granularity


def low_band_bins(n_fft, rate):
    """Number of STFT bins the low-rate input carries: ``k_c = n_fft // (2 * rate) + 1``.

    Bins ``[0, k_c)`` (DC up to the input's Nyquist frequency, included) form the low
    band; bins ``[k_c, n_fft // 2 + 1)`` the high band the network predicts.

    Examples
    --------
    >>> from audiosr.neural.spectral_dnn import low_band_bins
    >>> low_band_bins(512, 2), low_band_bins(512, 4), low_band_bins(512, 3)
    (129, 65, 86)
    """
    return n_fft // (2 * rate) + 1


def _hann(n):
    """Periodic Hann window (``torch.hann_window(n, periodic=True)``), float64."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def _as_batch(frames):
    # A writable, contiguous float32 copy: what both torch.tensor and onnxruntime want.
    return np.array(frames, dtype=np.float32, order="C")


# ----------------------------------------------------------------------------- waveform patches


def check_patch_length(n_target, patch_len, rate, what="clips"):
    if n_target < patch_len:
        raise ValueError(
            f"{what} of {n_target} high-rate samples are shorter than one patch ({patch_len} samples): "
            f"pass clips of at least {math.ceil(patch_len / rate)} low-rate samples, a smaller patch_len, "
            "or use a classical up-sampler for very short clips."
        )


def interpolate(X, rate, input_upsampler):
    """The waveform models' input: ``X`` brought to the target length by a classical method, float32."""
    name = check_choice(input_upsampler, INPUT_UPSAMPLERS, name="input_upsampler")
    return CLASSICAL_METHODS[name](rate=rate).transform(X).astype(np.float32, copy=False)


def crossfade_window(patch_len, hop):
    """Weights of one patch in an overlap-add at ``hop``: flat in the middle, sin² ramps over the overlap.

    With an overlap ``o = patch_len - hop`` (at most half a patch) the first ``o``
    samples rise as ``sin²(πn / 2o)``, the last ``o`` fall as its complement and the
    rest are one, so the windows of consecutive patches sum to exactly one. At half a
    patch of overlap this is the periodic Hann window.
    """
    overlap = patch_len - hop
    ramp = np.sin(np.pi * np.arange(overlap) / (2 * overlap)) ** 2
    return np.concatenate([ramp, np.ones(patch_len - 2 * overlap), 1 - ramp])


def overlap_add(signal, patch_len, network, batch_size, hop=None):
    """Run ``network`` on overlapping patches of ``signal`` and add them up under a crossfade window.

    Patches start every ``hop`` samples (default: half a patch) and overlap by
    ``o = patch_len - hop`` (at most half a patch); each output patch is weighted by
    :func:`crossfade_window`, whose shifted copies sum to one, so no normalisation is
    needed and the patch edges, where a convolutional network sees zero padding, get
    little weight. The signal is reflect-padded by ``o`` in front so that its first
    sample is where the weights already sum to one. A smaller overlap sends fewer
    samples through the network (``patch_len / hop`` times the signal's length: 2 at
    half a patch, 8/7 at an eighth).
    """
    hop = patch_len // 2 if hop is None else int(hop)
    overlap = patch_len - hop
    n = signal.size
    n_patches = max(1, math.ceil((n + 2 * overlap - patch_len) / hop) + 1)
    total = (n_patches - 1) * hop + patch_len
    padded = np.pad(signal, (overlap, total - n - overlap), mode="reflect")
    frames = sliding_window_view(padded, patch_len)[::hop]
    window = crossfade_window(patch_len, hop)
    out = np.zeros(total)
    for start in range(0, n_patches, batch_size):
        pred = network(_as_batch(frames[start : start + batch_size])) * window
        for j, patch in enumerate(pred, start):
            out[j * hop : j * hop + patch_len] += patch
    return out[overlap : overlap + n]


def upsample_patches(X, rate, network, *, patch_len, input_upsampler, batch_size, hop=None):
    """The waveform models' pipeline: interpolate, then overlap-add the network over patches."""
    check_patch_length(X.shape[1] * rate, patch_len, rate)
    z = interpolate(X, rate, input_upsampler)
    return np.stack([overlap_add(clip, patch_len, network, batch_size, hop) for clip in z])


def _patch_geometry(rate, *, patch_len, hop=None, **_):
    # Blocks must start on the overlap-add grid of whole-signal processing (``hop``
    # high-rate samples; half a patch in configurations that predate it), and see
    # every patch that covers their samples in full: a patch plus the interpolators'
    # reach on each side.
    return grid_geometry(patch_len // 2 if hop is None else hop, rate, patch_len / rate + 64)


# ----------------------------------------------------------------------------- STFT frames


def stft_frames(x, n_fft):
    """STFT of :class:`~audiosr.SpectralDNN`: periodic Hann window, hop ``n_fft // 4``, centred frames.

    The framing of ``torch.stft(center=True, pad_mode="reflect")``, frames first:
    ``x`` of shape ``(..., n_times)`` gives ``(..., 1 + n_times // (n_fft // 4), n_fft // 2 + 1)``,
    complex, computed in float64.
    """
    pad = n_fft // 2
    widths = [(0, 0)] * (x.ndim - 1) + [(pad, pad)]
    padded = np.pad(np.asarray(x, dtype=np.float64), widths, mode="reflect")
    frames = sliding_window_view(padded, n_fft, axis=-1)[..., :: n_fft // 4, :]
    return np.fft.rfft(frames * _hann(n_fft), axis=-1)


def istft_frames(spec, n_fft, length):
    """Inverse of :func:`stft_frames` by weighted overlap-add, to exactly ``length`` samples.

    ``spec`` has shape ``(n_frames, n_fft // 2 + 1)``. The squared periodic Hann window
    sums to the constant 3/2 at a hop of ``n_fft // 4``, so this is the least-squares
    inverse with a flat normaliser away from the first and last half frame (where it
    divides by the partial sum, as ``torch.istft``).
    """
    hop = n_fft // 4
    window = _hann(n_fft)
    frames = np.fft.irfft(spec, n=n_fft, axis=-1) * window  # (T, n_fft)
    n_frames = frames.shape[0]
    # n_fft = 4 hops: quarter j of frame t lands on hop-long segment t + j.
    out = np.zeros((n_frames + 3, hop))
    envelope = np.zeros((n_frames + 3, hop))
    for j, quarter in enumerate(frames.reshape(n_frames, 4, hop).transpose(1, 0, 2)):
        out[j : j + n_frames] += quarter
        envelope[j : j + n_frames] += (window[j * hop : (j + 1) * hop] ** 2)[None]
    start = n_fft // 2
    return out.reshape(-1)[start : start + length] / envelope.reshape(-1)[start : start + length]


def log_power(spec):
    """``ln(|S|^2 + 1e-10)``: the features' and the targets' unit."""
    return np.log(spec.real**2 + spec.imag**2 + POWER_EPS)


def _pad_context(log_low, context):
    """Repeat the first and last frames ``(context - 1) / 2`` times: ``(T, k)`` -> ``(T + context - 1, k)``."""
    half = context // 2
    return np.pad(log_low, ((half, half), (0, 0)), mode="edge")


def _unfold_context(padded, context):
    """Stack each frame with its neighbours, frame by frame: ``(T + context - 1, k)`` -> ``(T, context * k)``."""
    windows = sliding_window_view(padded, context, axis=0)  # (T, k, context)
    return windows.transpose(0, 2, 1).reshape(windows.shape[0], -1)


def spectral_features(z, n_fft, context, n_low):
    """Network inputs of every frame of one clip ``z`` at the high rate: ``(T, context * n_low)``, float32."""
    log_low = log_power(stft_frames(z, n_fft)[:, :n_low])
    return _unfold_context(_pad_context(log_low, context), context).astype(np.float32)


def imaged_phase_frames(x, rate, n_fft):
    """Phase of the STFT of the zero-stuffed low-rate clip ``x``, ``(T, n_fft // 2 + 1)``.

    Zero-stuffing repeats the input's band ``rate`` times, alternately mirrored, over
    the high-rate band: its phase, framed like the magnitudes, is the "imaged" phase of
    Li & Lee (see :func:`audiosr.neural.spectral_dnn.imaged_phase`).
    """
    up = np.zeros(x.shape[-1] * rate)
    up[::rate] = x
    return np.angle(stft_frames(up, n_fft))


def _restore_low_band(signal, reference, n_times):
    """Give ``signal`` the whole-clip spectrum of ``reference`` up to the Nyquist frequency of ``n_times`` samples."""
    keep = n_times // 2 + 1
    spectrum = np.fft.rfft(signal)
    spectrum[:keep] = np.fft.rfft(reference)[:keep]
    return np.fft.irfft(spectrum, n=signal.size)


def sinc_interpolate(X, rate):
    """SpectralDNN's input: ``X`` brought to the target length by windowed-sinc interpolation."""
    return CLASSICAL_METHODS["sinc"](rate=rate).transform(X)


def check_frame_length(n_times, rate, n_fft):
    if n_times * rate < n_fft:
        raise ValueError(
            f"clips of {n_times} low-rate samples are shorter than one STFT frame (n_fft={n_fft} samples at the "
            f"high rate): pass clips of at least {math.ceil(n_fft / rate)} low-rate samples, a smaller n_fft, "
            "or use a classical up-sampler for very short clips."
        )


def upsample_frames(X, rate, network, *, n_fft, context, batch_size):
    """SpectralDNN's pipeline: sinc interpolation, STFT, high-band power from the network, imaged phase, iSTFT.

    The network maps context windows of low-band ln power (float32) to the centre
    frame's high-band ln power; everything else runs in float64.
    """
    check_frame_length(X.shape[1], rate, n_fft)
    n_low = low_band_bins(n_fft, rate)
    z = sinc_interpolate(X, rate).astype(np.float64, copy=False)
    out = np.empty(z.shape)
    for i, (x_i, z_i) in enumerate(zip(X, z)):
        spec = stft_frames(z_i, n_fft)
        padded = _pad_context(log_power(spec[:, :n_low]), context)  # each batch unfolds only its own frames
        n_frames = spec.shape[0]
        preds = []
        for start in range(0, n_frames, batch_size):
            stop = min(start + batch_size, n_frames)
            preds.append(network(_as_batch(_unfold_context(padded[start : stop + context - 1], context))))
        log_high = np.minimum(np.concatenate(preds).astype(np.float64), LOG_POWER_MAX)  # (T, n_high)
        magnitude = np.sqrt(np.maximum(np.exp(log_high) - POWER_EPS, 0.0))
        high = magnitude * np.exp(1j * imaged_phase_frames(x_i, rate, n_fft)[:, n_low:])
        signal = istft_frames(np.concatenate([spec[:, :n_low], high], axis=1), n_fft, z.shape[1])
        out[i] = _restore_low_band(signal, z_i, X.shape[1])
    return out


def _frame_geometry(rate, *, n_fft, context, **_):
    # STFT frames sit on a grid of n_fft / 4 high-rate samples from the clip's start;
    # blocks keep that grid. The final low-band restoration is a whole-block FFT, so
    # the context is generous (about 8k high-rate samples) for its edge effects to
    # fade: streamed output then matches whole-signal output closely, not exactly.
    reach = (context + 2) * n_fft / rate + 8192 / rate
    return grid_geometry(n_fft // 4, rate, reach)


# ----------------------------------------------------------------------------- the shared entry points

def _patch_input(rate, *, patch_len, **_):
    return patch_len


def _frame_input(rate, *, n_fft, context, **_):
    return context * low_band_bins(n_fft, rate)


#: Pipeline name -> (up-sampling function, stream geometry, length of one network input row).
PIPELINES = {
    "patches": (upsample_patches, _patch_geometry, _patch_input),
    "frames": (upsample_frames, _frame_geometry, _frame_input),
}


def _split(config):
    try:
        functions = PIPELINES[config["pipeline"]]
    except (KeyError, TypeError):
        raise ValueError(f"unknown inference pipeline in {config!r}; known: {sorted(PIPELINES)}.") from None
    return (*functions, {k: v for k, v in config.items() if k != "pipeline"})


def min_input_length(config, rate):
    """The fewest low-rate samples a clip needs in a pipeline: one patch, or one STFT frame."""
    _split(config)
    size = config["patch_len"] if config["pipeline"] == "patches" else config["n_fft"]
    return math.ceil(size / rate)


def network_input_size(config, rate):
    """Length of one row of the network's input batch: a patch, or a context window of low-band frames."""
    *_, input_size, sizes = _split(config)
    return int(input_size(rate, **sizes))


def upsample_with_network(
    X, rate, network, config, keep_low_band, n_threads=1, high_gain=1.0, smoothing=0, line_period=0
):
    """Up-sample clips with a network: checks, pipeline, low-band crossover, high band's gain, lines and smoothing.

    Parameters
    ----------
    X : array-like of shape (n_clips, n_times)
        Low-rate clips.
    rate : int
        The network's factor.
    network : callable
        ``network(batch)`` on a float32 array ``(B, n_in)`` returns ``(B, n_out)``.
    config : dict
        ``{"pipeline": "patches", "patch_len", "input_upsampler", "batch_size"}`` (waveform
        models) or ``{"pipeline": "frames", "n_fft", "context", "batch_size"}`` (SpectralDNN).
    keep_low_band : bool or float
        See :func:`audiosr.crossover.check_keep_low_band`.
    n_threads : int or None, default=1
        Threads that run at the same time, each on a batch of the configuration's
        ``batch_size`` (:mod:`audiosr.threads`); ``None`` for the process setting or the
        automatic policy.
    high_gain : float, default=1.0
        Gain of the band above the input's Nyquist frequency
        (:func:`audiosr.crossover.high_band_gain`), applied after the crossover.
    smoothing : int, default=0
        Width in STFT bins of the high band's smoothing
        (:func:`audiosr.postfilter.smooth_high_band`), applied last; 0: none.
    line_period : int, default=0
        Period in output samples of the lines that
        :func:`audiosr.postfilter.remove_period_lines` subtracts from the high band,
        before the smoothing; 0: none.

    Returns
    -------
    X_high : ndarray of shape (n_clips, n_times * rate)
        In the dtype of ``X`` (float64 for non-float input).
    """
    upsample, _, _, sizes = _split(config)
    crossover = check_keep_low_band(keep_low_band)
    high_gain = check_high_band_gain(high_gain)
    smoothing = check_high_band_smoothing(smoothing)
    X = check_clips(X)
    peak = float(np.max(np.abs(X)))
    if peak > MAX_PEAK:
        raise ValueError(
            f"X has samples as large as {peak:.3g}; the networks compute in float32 and expect audio "
            f"roughly in [-1, 1] (at most {MAX_PEAK:g}). Scale the input down first."
        )
    n_threads = resolve_threads(n_threads)
    # Each thread runs a whole batch: the pipeline hands the network n_threads batches at a time.
    sizes = {**sizes, "batch_size": sizes["batch_size"] * n_threads}
    with split_batches(network, n_threads) as run:
        out = np.asarray(upsample(X, rate, run, **sizes), dtype=X.dtype)
    if crossover is not None:
        out = low_band_passthrough(out, X, rate, crossover=crossover)
    if high_gain != 1.0:
        out = high_band_gain(out, rate, high_gain)
    if line_period:
        # Before the smoothing, which would spread a line over its neighbours.
        out = remove_period_lines(out, rate, line_period)
    if smoothing > 1:
        out = smooth_high_band(out, rate, smoothing)
    if not np.all(np.isfinite(out)):
        # Never hand back silent garbage: a non-finite output is a failure, said so.
        raise ValueError(
            "the model produced non-finite output for this input; its weights may be damaged "
            "(retrain, or load a good copy) or the input far outside what it was trained on."
        )
    return out


def stream_geometry(config, rate, keep_low_band, high_gain=1.0, smoothing=0, line_period=0):
    """``(granularity, context)`` for streaming a model in blocks (see ``BaseUpsampler._stream_geometry``)."""
    _, geometry, _, sizes = _split(config)
    granularity, context = geometry(rate, **sizes)
    crossover = check_keep_low_band(keep_low_band)
    # The crossover, the gain, the lines' removal and the smoothing process the network's output (in that order):
    # blocks need their reaches on top, kept on the grid.
    reach = crossover_reach(rate, crossover) if crossover is not None else 0
    if check_high_band_gain(high_gain) != 1.0:
        reach += gain_reach(rate)
    if line_period:
        reach += line_reach(rate, line_period)
    if check_high_band_smoothing(smoothing) > 1:
        # Its STFT frames lie on a grid of their own: blocks start on both grids.
        grid, smoothing_reach = smoothing_geometry(rate)
        granularity = math.lcm(granularity, grid)
        reach += smoothing_reach
    return granularity, math.ceil(context / granularity) * granularity + math.ceil(reach / granularity) * granularity
