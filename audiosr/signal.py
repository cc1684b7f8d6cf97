"""Making low-rate inputs and training pairs from high-rate audio; rational resampling (soxr).

The low-rate input of a super-resolution experiment is *simulated* from the
high-rate reference, and results depend on how (Kuleshov et al.'s README: "the
model is very sensitive to how low resolution samples are generated"). The default
here is the TFNet paper's protocol: an order-8 Chebyshev type I low-pass applied
forwards and backwards (zero phase), then keeping every ``rate``-th sample, which
is :func:`scipy.signal.decimate` with its defaults.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.signal
from sklearn.utils import check_random_state

from ._validation import as_float_signal, check_choice, check_rate, check_sample_rate

__all__ = ["decimate", "resample", "resampled_length", "make_pairs", "DECIMATION_METHODS", "MIX_METHODS"]

#: Names accepted by ``decimate(method=...)``.
DECIMATION_METHODS = ("iir", "fir", "subsample", "poly", "soxr_hq", "soxr_vhq", "fft", "butter")

#: What ``make_pairs(method="mix")`` draws from: the anti-alias filters of the tools
#: that make real low-rate files (scipy, librosa, sox and soxr, hand-written pipelines).
MIX_METHODS = ("iir", "poly", "soxr_hq", "soxr_vhq", "fft", "butter")

#: Default ``cutoff`` of each method that has one (fraction of the new Nyquist
#: frequency); the methods missing here cannot honour a requested cutoff.
_DEFAULT_CUTOFF = {"iir": 0.8, "fir": 1.0, "poly": 1.0, "fft": 1.0, "butter": 1.0}

_NO_CUTOFF = {
    "subsample": "it applies no filter",
    "soxr_hq": "python-soxr offers quality presets only (its pass band ends at about 0.91 of the new Nyquist)",
    "soxr_vhq": "python-soxr offers quality presets only (its pass band ends at about 0.91 of the new Nyquist)",
}

#: Order of the ``"butter"`` low-pass (per pass; zero phase doubles its slope).
_BUTTER_ORDER = 6

#: soxr refuses more channels than this in one call.
_SOXR_MAX_CHANNELS = 65536


def _cutoff_value(cutoff):
    if isinstance(cutoff, (bool, np.bool_)) or not isinstance(cutoff, numbers.Real) or not 0 < cutoff <= 1:
        raise ValueError(
            f"cutoff must be a number in (0, 1]: the fraction of the new Nyquist frequency where the "
            f"anti-alias filter's pass band ends (real tools use 0.9-0.99); got {cutoff!r}."
        )
    return float(cutoff)


def _check_cutoff(cutoff, method):
    """The cutoff ``method`` will use: ``cutoff`` checked, or the method's default (None: it has no filter knob)."""
    if cutoff is None:
        return _DEFAULT_CUTOFF.get(method)
    cutoff = _cutoff_value(cutoff)
    if method not in _DEFAULT_CUTOFF:
        raise ValueError(
            f"method={method!r} cannot honour cutoff={cutoff!r}: {_NO_CUTOFF[method]}. Pass cutoff=None, or "
            f"use one of the methods with a cutoff: {sorted(_DEFAULT_CUTOFF)}."
        )
    return cutoff


def _zero_phase_sos(x, sos, rate, what):
    """Forward-backward second-order sections, then every ``rate``-th sample."""
    n, needed = x.shape[-1], 3 * (2 * len(sos) + 1) + 1  # sosfiltfilt's default padding, plus one
    if n < needed:
        raise ValueError(
            f"y has {n} samples along the time axis; the zero-phase {what} filter needs at "
            f"least {needed}. Use method='fir' or 'subsample' for such short signals."
        )
    return scipy.signal.sosfiltfilt(sos, x, axis=-1)[..., ::rate]


def _windowed_sinc(x, rate, cutoff, window):
    """Linear-phase FIR of ``20 * rate + 1`` taps (scipy's length), applied by resample_poly with its delay removed."""
    taps = scipy.signal.firwin(20 * rate + 1, cutoff / rate, window=window)
    return scipy.signal.resample_poly(x, 1, rate, axis=-1, window=np.asarray(taps, dtype=x.dtype))


def _pad_to_multiple(x, rate):
    """Zeros after the end up to a multiple of ``rate``, so the output has ceil(n / rate) samples on the k * rate grid."""
    extra = -x.shape[-1] % rate
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, extra)]) if extra else x


def _soxr(x, rate, quality):
    import soxr

    # soxr ends a one-shot stream with silence, so the padding changes no earlier sample.
    x = _pad_to_multiple(x, rate)
    lead, m = x.shape[:-1], x.shape[-1]
    channels = x.reshape(-1, m)
    if channels.shape[0] == 0:  # soxr refuses zero channels
        return np.zeros((*lead, m // rate), dtype=x.dtype)
    parts = [
        # soxr wants (frames, channels), time first; only the ratio of the two rates matters to it.
        soxr.resample(np.ascontiguousarray(channels[i : i + _SOXR_MAX_CHANNELS].T), rate, 1, quality).T
        for i in range(0, channels.shape[0], _SOXR_MAX_CHANNELS)
    ]
    return np.concatenate(parts).reshape(*lead, m // rate)


def _fft(x, rate, cutoff):
    x = _pad_to_multiple(x, rate)
    m = x.shape[-1]
    n_out = m // rate
    if cutoff < 1:
        # Bin k of an m-point FFT lies at k / m cycles per sample; the new Nyquist at bin n_out / 2.
        spectrum = np.fft.rfft(x, axis=-1)
        spectrum[..., np.arange(spectrum.shape[-1]) > cutoff * n_out / 2] = 0
        x = np.fft.irfft(spectrum, m, axis=-1)
    return scipy.signal.resample(x, n_out, axis=-1)


def decimate(y, rate, *, method="iir", cutoff=None, axis=-1):
    """Make the low-rate version of a signal: anti-alias filter, then keep every ``rate``-th sample.

    The methods imitate the tools that make real low-rate files, because a model
    trained on inputs from one anti-alias filter can do badly on inputs from another
    (``benchmarks/results/input_makers.md``).

    Parameters
    ----------
    y : array-like of shape (..., n_times)
        High-rate signal(s); time on ``axis``.
    rate : int
        Down-sampling factor (>= 2).
    method : str, default="iir"
        One of ``audiosr.signal.DECIMATION_METHODS``:

        * ``"iir"``: order-8 Chebyshev type I low-pass (0.05 dB ripple, pass band
          ending at 0.8 of the new Nyquist), zero phase — ``scipy.signal.decimate``
          defaults and the TFNet / Kuleshov ``--low-pass`` protocol.
        * ``"fir"``: Hamming-windowed FIR of order ``20 * rate``, zero phase —
          ``scipy.signal.decimate(ftype="fir")``.
        * ``"subsample"``: ``y[::rate]`` with no filter, so the high band aliases into
          the low one, as in Kuleshov et al.'s multi-speaker data.
        * ``"poly"``: Kaiser-windowed (beta 5) FIR of order ``20 * rate``, linear
          phase with its delay removed — ``scipy.signal.resample_poly(y, 1, rate)``
          and librosa's ``res_type="polyphase"``. Its response is down 6 dB at the
          new Nyquist, so the top of the band aliases slightly.
        * ``"soxr_hq"``: the SoX resampler at its ``"HQ"`` preset (python ``soxr``
          package) — librosa's default ``res_type`` (``librosa.load(..., sr=...)``) and
          close to ``sox ... rate`` at its default ``-h`` quality. Flat to about 0.91
          of the new Nyquist, -3 dB near 0.95, stop band from the new Nyquist on.
        * ``"soxr_vhq"``: the same at the ``"VHQ"`` preset (``sox ... rate -v``,
          librosa ``res_type="soxr_vhq"``): the same band edges with a deeper stop band.
        * ``"fft"``: ``scipy.signal.resample``, an ideal brick-wall low-pass at the new
          Nyquist applied to the whole signal's spectrum (librosa ``res_type="fft"``):
          nothing aliases and nothing in band is lost, the limit that long
          windowed-sinc resamplers approach. The signal is treated as periodic, so its
          two ends leak into each other.
        * ``"butter"``: order-6 Butterworth low-pass at the new Nyquist applied forwards
          and backwards (``scipy.signal.sosfiltfilt``, so zero phase and order 12 in
          effect), then ``[::rate]`` — the pipeline people write by hand. -6 dB at the
          new Nyquist, so the top of the band aliases.

        soxr, fft and subsample have no delay to remove; soxr and fft are
        computed on ``y`` followed by up to ``rate - 1`` zeros, so that the output has
        ``ceil(n_times / rate)`` samples like the others.
    cutoff : float in (0, 1] or None, default=None
        Where the anti-alias filter's pass band ends, as a fraction of the new
        Nyquist frequency (real tools use 0.9-0.99). ``None`` keeps each method's
        own: 0.8 for ``"iir"`` (its ripple band's edge), 1.0 for the others. It is the
        design frequency of each filter family: the ripple band's edge for ``"iir"``,
        the -6 dB point of the windowed sinc for ``"fir"`` and ``"poly"``, the -3 dB
        point (per pass) for ``"butter"`` and the brick wall for ``"fft"``.
        ``"subsample"``, ``"soxr_hq"`` and ``"soxr_vhq"`` have no such setting and
        raise a ``ValueError`` when given one.
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
    >>> decimate(y, 4, method="soxr_hq").shape
    (4000,)
    >>> decimate(y, 4, method="butter", cutoff=0.9).shape
    (4000,)
    """
    rate = check_rate(rate)
    check_choice(method, DECIMATION_METHODS, name="method")
    cutoff = _check_cutoff(cutoff, method)
    x = as_float_signal(y, name="y", ndims=tuple(range(1, 33)))
    x = np.moveaxis(x, axis, -1)
    if method == "subsample":
        out = x[..., ::rate]
    elif method == "iir":
        # scipy.signal.decimate's own filter, in the signal's dtype as scipy builds it.
        sos = np.asarray(scipy.signal.cheby1(8, 0.05, cutoff / rate, output="sos"), dtype=x.dtype)
        out = _zero_phase_sos(x, sos, rate, "IIR")
    elif method == "butter":
        sos = scipy.signal.butter(_BUTTER_ORDER, cutoff / rate, output="sos")
        out = _zero_phase_sos(x, sos, rate, "Butterworth")
    elif method == "fir":
        out = _windowed_sinc(x, rate, cutoff, "hamming")
    elif method == "poly":
        out = _windowed_sinc(x, rate, cutoff, ("kaiser", 5.0))  # resample_poly's default window
    elif method == "fft":
        out = _fft(x, rate, cutoff)
    else:
        out = _soxr(x, rate, {"soxr_hq": "HQ", "soxr_vhq": "VHQ"}[method])
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


def _check_pair_methods(method):
    """The methods ``make_pairs`` draws from (one name: no draw)."""
    if isinstance(method, str):
        check_choice(method, DECIMATION_METHODS + ("mix",), name="method")
        return list(MIX_METHODS) if method == "mix" else [method]
    if not isinstance(method, (list, tuple)) or len(method) == 0:
        raise ValueError(
            f"method must be one of {sorted(DECIMATION_METHODS)}, 'mix', or a non-empty list of those names; "
            f"got {method!r}."
        )
    return [check_choice(m, DECIMATION_METHODS, name="method") for m in method]


def _check_pair_cutoff(cutoff, methods):
    """``cutoff`` as None, a number, or a (low, high) range; a single method without a cutoff raises."""
    if cutoff is None:
        return None
    if isinstance(cutoff, (list, tuple)):
        if len(cutoff) != 2:
            raise ValueError(f"cutoff must be a number or a (low, high) pair of numbers in (0, 1]; got {cutoff!r}.")
        low, high = (_cutoff_value(c) for c in cutoff)
        if low > high:
            raise ValueError(f"cutoff=(low, high) needs low <= high; got {cutoff!r}.")
        cutoff = (low, high)
    else:
        cutoff = _cutoff_value(cutoff)
    if len(methods) == 1:
        _check_cutoff(cutoff[0] if isinstance(cutoff, tuple) else cutoff, methods[0])
    return cutoff


def make_pairs(
    signals,
    rate,
    *,
    segment=8192,
    hop=None,
    method="iir",
    min_rms=0.0,
    cutoff=None,
    random_state=None,
):
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
    method : str or list of str, default="iir"
        How the low-rate input is made: one of ``DECIMATION_METHODS`` (see
        :func:`decimate`); ``"mix"``, which draws among ``MIX_METHODS`` =
        ``("iir", "poly", "soxr_hq", "soxr_vhq", "fft", "butter")`` (the filters of
        scipy, librosa, sox/soxr and hand-written Butterworth pipelines), so that a
        model meets the inputs real tools make; or a list of method names to draw
        from (repeat a name to weight it). The draw is uniform and **per signal**: each signal is decimated
        whole by one method, and all its pairs share it.
    min_rms : float, default=0.0
        Drop segments whose target RMS is below this value (TFNet drops near-silent
        frames in multi-speaker training). ``0`` keeps everything.
    cutoff : float, (float, float) or None, default=None
        End of the anti-alias pass band as a fraction of the new Nyquist frequency
        (see :func:`decimate`); a ``(low, high)`` pair draws it uniformly per signal,
        e.g. ``(0.85, 1.0)``. ``None`` keeps each method's own. When methods are drawn,
        the cutoff reaches only those that have one (``"subsample"``, ``"soxr_hq"`` and
        ``"soxr_vhq"`` keep their fixed filters); a single method without one raises.
    random_state : int, RandomState instance or None, default=None
        Seeds the per-signal draws of ``method`` and ``cutoff`` (used only when
        something is drawn), as in scikit-learn.

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
    >>> signals = [rng.standard_normal(20000) for _ in range(3)]
    >>> X, y = make_pairs(signals, 4, segment=4096, method="mix", cutoff=(0.85, 1.0), random_state=0)
    >>> X.shape
    (12, 1024)
    """
    rate = check_rate(rate)
    methods = _check_pair_methods(method)
    cutoff = _check_pair_cutoff(cutoff, methods)
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
    rng = check_random_state(random_state)
    X_parts, y_parts = [], []
    for y_full in arrays:
        # Drawn for every signal, cut or not, so each signal's draw depends only on its position.
        drawn = methods[rng.randint(len(methods))] if len(methods) > 1 else methods[0]
        drawn_cutoff = rng.uniform(*cutoff) if isinstance(cutoff, tuple) else cutoff
        n = (y_full.size // rate) * rate
        if n < segment:
            continue
        y_full = y_full[:n]
        x_full = decimate(y_full, rate, method=drawn, cutoff=drawn_cutoff if drawn in _DEFAULT_CUTOFF else None)
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
