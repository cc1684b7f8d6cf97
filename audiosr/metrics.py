"""Quality metrics for audio super-resolution.

Every metric takes a reference ``y_true`` and an estimate ``y_pred`` at the same
sample rate, either 1-D signals or batches of shape ``(n_clips, n_times)``. A batch
is scored clip by clip and the per-clip values are averaged (``reduce="mean"``) or
returned as they are (``reduce=None``): a corpus score is a mean over utterances,
never a score of concatenated audio.

Log-spectral distance is defined in many incompatible ways across papers (see the
user guide, "Metric conventions"). The default here is the NU-Wave / AERO / AP-BWE
convention, the one most 2021-2026 tables use:

* STFT with ``n_fft=2048``, ``hop_length=512``, a periodic Hann window of 2048
  samples and centred frames with reflect padding (``torch.stft`` defaults);
* power ``P = |X|**2`` clamped below at ``1e-8``, then ``log10``;
* per frame, the root mean square over all ``1 + n_fft/2`` bins of the difference of
  log powers; per clip, the mean over frames; per corpus, the mean over clips.

Its unit is the bel of power (log10): multiply by 10 for dB, by ``ln(10)`` for
natural-log units. ``convention="kuleshov2017"`` and ``convention="tfnet2018"``
reproduce the formulas of those papers' code so their tables can be read beside
ours.

The scorers at the end of this module (``snr_scorer``, ``neg_lsd_scorer``, ...)
plug these metrics into ``GridSearchCV(scoring=...)`` and ``cross_val_score``;
:func:`sklearn.metrics.make_scorer` cannot be used because it calls ``predict``,
while super-resolution estimators are transformers.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import correlate, get_window

from ._validation import as_float_signal, check_choice

__all__ = [
    "snr",
    "si_sdr",
    "lsd",
    "lsd_hf",
    "lsd_lf",
    "hf_cutoff_bin",
    "align",
    "length_mismatch",
    "LENGTH_TOLERANCE",
    "make_transform_scorer",
    "snr_scorer",
    "si_sdr_scorer",
    "neg_lsd_scorer",
    "neg_lsd_hf_scorer",
    "neg_lsd_lf_scorer",
]

LSD_CONVENTIONS = ("default", "kuleshov2017", "tfnet2018")
SNR_CONVENTIONS = ("default", "kuleshov2017", "tfnet2018")

_N_FFT = 2048
_HOP = 512
_POWER_FLOOR = 1e-8  # default convention: clamp, as torch.clamp(min=1e-8)
_KULESHOV_EPS = 1e-8  # kuleshov2017: added to the power and to the squared difference
_KULESHOV_CLIP = 10.0
_SNR_NORM_FLOOR = 1e-8  # default SNR: floor on the error norm
_CODE_MSE_EPS = 1e-6  # kuleshov2017 / tfnet2018 SNR: added to the mean squared error
_FRAMES_PER_CHUNK = 256  # bounds STFT memory on long files
_SI_SDR_EPS = 1e-20  # on energies of unit-peak signals
# Peaks below this count as silence in SI-SDR: the square root of the smallest normal
# double, under which scaling a clip no longer scales it (its samples go subnormal and
# lose their digits), so no answer for such a clip could be scale-invariant.
_SILENT_PEAK = float(np.sqrt(np.finfo(np.float64).tiny))

#: Largest length difference, in samples, between a reference and an estimate that the
#: metrics (and ``audiosr evaluate``) cut away without comment: one analysis frame of the
#: default STFT (43 ms at 48 kHz, 128 ms at 16 kHz). Resampling edges cost a few samples;
#: a larger difference usually means another recording or another sample rate.
LENGTH_TOLERANCE = _N_FFT


# --------------------------------------------------------------------------- helpers


def length_mismatch(n_true, n_pred, *, sr=None, tolerance=LENGTH_TOLERANCE, names=("y_true", "y_pred")):
    """Describe a difference in length larger than ``tolerance`` samples, or return None.

    The metrics compare the common part of a reference and an estimate; a difference up
    to ``tolerance`` is cut away without comment. A larger one is described by this
    function, in the words the metrics warn with and ``audiosr evaluate`` refuses with.

    Parameters
    ----------
    n_true, n_pred : int
        Lengths in samples of the reference and the estimate.
    sr : float, optional
        Their sample rate; when given, the lengths are also said in seconds.
    tolerance : int, default=LENGTH_TOLERANCE
        Largest difference accepted without comment (2048 samples, one STFT frame).
    names : tuple of str, default=("y_true", "y_pred")
        What to call the two signals in the description.

    Returns
    -------
    description : str or None
        None when the lengths differ by at most ``tolerance`` samples.

    Examples
    --------
    >>> from audiosr.metrics import length_mismatch
    >>> length_mismatch(48000, 47999) is None
    True
    >>> length_mismatch(48000, 12000, sr=48000, names=("the reference", "the estimate"))
    'the reference has 48000 samples (1.000 s) and the estimate 12000 (0.250 s), a difference of more than 2048 samples'
    """
    if abs(n_true - n_pred) <= tolerance:
        return None
    seconds = (lambda n: f" ({n / sr:.3f} s)") if sr else (lambda n: "")
    return (
        f"{names[0]} has {n_true} samples{seconds(n_true)} and {names[1]} {n_pred}{seconds(n_pred)}, "
        f"a difference of more than {tolerance} samples"
    )


def _check_pair(y_true, y_pred, *, warn_mismatch=LENGTH_TOLERANCE):
    """Validate a reference/estimate pair; return 2-D float64 arrays and whether input was 1-D.

    Lengths that differ are truncated to the shorter one (estimates are often a few
    samples longer or shorter than their references after resampling); a difference
    larger than ``warn_mismatch`` samples (:func:`length_mismatch`) is probably a
    mistake and is warned about.
    """
    yt = as_float_signal(y_true, name="y_true", dtype=np.float64)
    yp = as_float_signal(y_pred, name="y_pred", dtype=np.float64)
    if yt.ndim != yp.ndim or yt.shape[:-1] != yp.shape[:-1]:
        raise ValueError(
            f"y_true and y_pred must both be 1-D or both (n_clips, n_times) with the same "
            f"number of clips; got shapes {yt.shape} and {yp.shape}."
        )
    n_true, n_pred = yt.shape[-1], yp.shape[-1]
    if n_true != n_pred:
        mismatch = length_mismatch(n_true, n_pred, tolerance=warn_mismatch)
        if mismatch is not None:
            warnings.warn(
                f"{mismatch}; both are truncated to {min(n_true, n_pred)}. A difference this large usually "
                "means the two signals are different recordings or at different sample rates.",
                UserWarning,
                stacklevel=3,
            )
        n = min(n_true, n_pred)
        yt, yp = yt[..., :n], yp[..., :n]
    was_1d = yt.ndim == 1
    return np.atleast_2d(yt), np.atleast_2d(yp), was_1d


def _unit_peak(x):
    """Scale each row to a peak of one (silent rows, peak under ``_SILENT_PEAK``, become zero)."""
    peak = np.max(np.abs(x), axis=-1, keepdims=True)
    silent = peak < _SILENT_PEAK
    return np.where(silent, 0.0, x / np.where(silent, 1.0, peak))


def _reduce(values, reduce, was_1d):
    if reduce not in ("mean", None):
        raise ValueError(f"reduce must be 'mean' or None, got {reduce!r}.")
    values = np.asarray(values, dtype=np.float64)
    if reduce == "mean":
        return float(np.mean(values))
    return float(values[0]) if was_1d else values


def _check_stft_params(n_fft, hop_length):
    for name, value in (("n_fft", n_fft), ("hop_length", hop_length)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if n_fft < 2 or n_fft % 2:
        raise ValueError(f"n_fft must be an even integer >= 2, got {n_fft}.")


def _stft_power_chunks(x, n_fft, hop_length):
    """Yield power spectrogram chunks ``(frames, 1 + n_fft // 2)`` of a 1-D signal.

    Centred frames with reflect padding and a periodic Hann window, the framing of
    ``torch.stft(center=True)`` and ``librosa.stft``. Frames are produced in chunks so
    that an hour-long file never needs its whole spectrogram in memory.
    """
    pad = n_fft // 2
    if x.shape[-1] <= pad:
        raise ValueError(
            f"a clip of {x.shape[-1]} samples is too short for an STFT with n_fft={n_fft}: "
            f"reflect padding needs more than {pad} samples. Score longer clips or pass a "
            "smaller n_fft."
        )
    padded = np.pad(x, (pad, pad), mode="reflect")
    frames = sliding_window_view(padded, n_fft)[::hop_length]
    window = get_window("hann", n_fft, fftbins=True)
    for start in range(0, frames.shape[0], _FRAMES_PER_CHUNK):
        spec = np.fft.rfft(frames[start : start + _FRAMES_PER_CHUNK] * window, axis=-1)
        yield spec.real**2 + spec.imag**2


def _frame_lsd_default(yt, yp, n_fft, hop_length, band):
    """Default-convention LSD of one clip over the bins selected by ``band`` (a slice)."""
    per_frame = []
    for p_true, p_pred in zip(_stft_power_chunks(yt, n_fft, hop_length), _stft_power_chunks(yp, n_fft, hop_length)):
        diff = np.log10(np.maximum(p_true[:, band], _POWER_FLOOR)) - np.log10(np.maximum(p_pred[:, band], _POWER_FLOOR))
        per_frame.append(np.sqrt(np.mean(diff**2, axis=-1)))
    return float(np.mean(np.concatenate(per_frame)))


def _lsd_kuleshov(yt, yp, n_fft, hop_length):
    """Kuleshov et al. code: ln power + 1e-8, RMS over *time* per bin, mean over bins, clip 10."""
    sum_sq = 0.0
    n_frames = 0
    for p_true, p_pred in zip(_stft_power_chunks(yt, n_fft, hop_length), _stft_power_chunks(yp, n_fft, hop_length)):
        diff = np.log(p_true + _KULESHOV_EPS) - np.log(p_pred + _KULESHOV_EPS)
        sum_sq = sum_sq + np.sum(diff**2 + _KULESHOV_EPS, axis=0)
        n_frames += diff.shape[0]
    per_bin = np.sqrt(sum_sq / n_frames)
    return float(min(np.mean(per_bin), _KULESHOV_CLIP))


def _lsd_tfnet(yt, yp):
    """TFNet code: one full complex FFT of the clip, log10 power, RMS over all bins."""
    p_true = np.abs(np.fft.fft(yt)) ** 2
    p_pred = np.abs(np.fft.fft(yp)) ** 2
    tiny = np.finfo(np.float64).tiny
    if np.any(p_true < tiny) or np.any(p_pred < tiny):
        # The original has no floor at all and returns inf here; a finite (huge)
        # value keeps means over clips usable while the warning says why.
        warnings.warn(
            "an FFT bin has zero power; the tfnet2018 LSD has no floor, so it is clamped "
            "at the smallest positive float and the value is dominated by that bin.",
            UserWarning,
            stacklevel=4,
        )
    diff = np.log10(np.maximum(p_true, tiny)) - np.log10(np.maximum(p_pred, tiny))
    return float(np.sqrt(np.mean(diff**2)))


def hf_cutoff_bin(rate, n_fft=_N_FFT):
    """First STFT bin of the high band: ``int((1 + n_fft/2) / rate)`` (NU-Wave 2's rule).

    Parameters
    ----------
    rate : float
        Ratio of the high sample rate to the low one (``sr_high / sr_low``), > 1.
    n_fft : int, default=2048
        FFT size of the STFT.

    Returns
    -------
    k : int
        Bins ``[k:]`` form the high band and ``[:k]`` the low band.

    Examples
    --------
    >>> from audiosr.metrics import hf_cutoff_bin
    >>> hf_cutoff_bin(4)
    256
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise TypeError(f"rate must be a number > 1 (sr_high / sr_low), got {rate!r}.")
    if not np.isfinite(rate) or rate <= 1:
        raise ValueError(f"rate must be a number > 1 (sr_high / sr_low), got {rate!r}.")
    return int((1 + n_fft // 2) / rate)


# --------------------------------------------------------------------------- metrics


def snr(y_true, y_pred, *, convention="default", reduce="mean"):
    """Signal-to-noise ratio of an estimate against its reference, in dB.

    Parameters
    ----------
    y_true : array-like of shape (n_times,) or (n_clips, n_times)
        Reference signal(s).
    y_pred : array-like of the same shape
        Estimated signal(s). Lengths that differ are truncated to the shorter one, with
        a warning when they differ by more than ``LENGTH_TOLERANCE`` (2048) samples.
    convention : {"default", "kuleshov2017", "tfnet2018"}, default="default"
        ``"default"``: ``20 log10(||y|| / max(||y - y_hat||, 1e-8))`` per clip (NU-Wave 2,
        AP-BWE). ``"kuleshov2017"`` and ``"tfnet2018"`` (both codes compute the same
        thing): ``10 log10(mean(y**2) / (mean((y - y_hat)**2) + 1e-6))`` per clip; apply
        it to a batch of patches to get the papers' patch-averaged figure.
    reduce : {"mean", None}, default="mean"
        ``"mean"`` averages over clips; ``None`` returns one value per clip.

    Returns
    -------
    snr : float or ndarray of shape (n_clips,)

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.metrics import snr
    >>> y = np.sin(np.linspace(0, 100, 1000))
    >>> round(snr(y, 0.9 * y), 2)
    20.0
    """
    check_choice(convention, SNR_CONVENTIONS, name="convention")
    yt, yp, was_1d = _check_pair(y_true, y_pred)
    err = yt - yp
    if convention == "default":
        # The floor on the numerator keeps a silent reference finite (very negative).
        num = np.maximum(np.linalg.norm(yt, axis=-1), _SNR_NORM_FLOOR)
        den = np.maximum(np.linalg.norm(err, axis=-1), _SNR_NORM_FLOOR)
        values = 20 * np.log10(num / den)
    else:
        power = np.maximum(np.mean(yt**2, axis=-1), _SNR_NORM_FLOOR**2)
        values = 10 * np.log10(power / (np.mean(err**2, axis=-1) + _CODE_MSE_EPS))
    return _reduce(values, reduce, was_1d)


def si_sdr(y_true, y_pred, *, reduce="mean"):
    """Scale-invariant signal-to-distortion ratio (Le Roux et al. 2019), in dB.

    Both signals are made zero-mean; the reference is scaled by the least-squares
    gain ``alpha = <y_hat, y> / ||y||**2`` and the ratio of the scaled reference's
    energy to the residual's is returned. Both energies get an epsilon of 1e-20
    (relative to signals scaled to unit peak, which SI-SDR is invariant to), so a
    silent estimate or reference scores 0 dB and a perfect estimate about 200 dB. A
    clip whose peak is below about 1.5e-154 (the square root of the smallest normal
    double, where scaling a signal stops scaling it exactly) counts as silent.

    Parameters
    ----------
    y_true : array-like of shape (n_times,) or (n_clips, n_times)
        Reference signal(s).
    y_pred : array-like of the same shape
        Estimated signal(s).
    reduce : {"mean", None}, default="mean"
        ``"mean"`` averages over clips; ``None`` returns one value per clip.

    Returns
    -------
    si_sdr : float or ndarray of shape (n_clips,)

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.metrics import si_sdr
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal(4000)
    >>> si_sdr(y, 0.5 * y) > 100  # scale does not matter
    True
    """
    yt, yp, was_1d = _check_pair(y_true, y_pred)
    yt = _unit_peak(yt - yt.mean(axis=-1, keepdims=True))
    yp = _unit_peak(yp - yp.mean(axis=-1, keepdims=True))
    energy_true = np.sum(yt**2, axis=-1, keepdims=True)
    alpha = np.sum(yp * yt, axis=-1, keepdims=True) / np.maximum(energy_true, _SI_SDR_EPS)
    target = np.sum((alpha * yt) ** 2, axis=-1)
    noise = np.sum((yp - alpha * yt) ** 2, axis=-1)
    # With both signals at unit peak, an absolute epsilon keeps the ratio scale-invariant;
    # a silent estimate or reference scores 0 dB, a perfect estimate about +200 dB.
    values = 10 * np.log10((target + _SI_SDR_EPS) / (noise + _SI_SDR_EPS))
    return _reduce(values, reduce, was_1d)


def lsd(y_true, y_pred, *, convention="default", n_fft=_N_FFT, hop_length=_HOP, reduce="mean"):
    """Log-spectral distance between an estimate and its reference.

    Parameters
    ----------
    y_true : array-like of shape (n_times,) or (n_clips, n_times)
        Reference signal(s).
    y_pred : array-like of the same shape
        Estimated signal(s), at the same sample rate. Lengths that differ are
        truncated to the shorter one, with a warning when they differ by more than
        ``n_fft`` samples.
    convention : {"default", "kuleshov2017", "tfnet2018"}, default="default"
        * ``"default"`` (NU-Wave, AERO, AP-BWE): log10 power of a centred, reflect-padded
          periodic-Hann STFT, clamped at 1e-8; RMS over bins per frame, mean over frames.
        * ``"kuleshov2017"`` (Kuleshov et al.'s code): natural-log power + 1e-8 on the same
          STFT; RMS over *frames* per bin (of the squared difference + 1e-8), mean over
          bins, clipped at 10. Their code scores all test patches concatenated; here each
          clip is scored and clips are averaged.
        * ``"tfnet2018"`` (TFNet's code): one full complex FFT of the whole clip, log10
          power with no floor, RMS over all bins. The code scores 8192-sample patches:
          pass patches as the rows of a batch to do the same.
    n_fft : int, default=2048
        FFT size of the STFT (not used by ``"tfnet2018"``).
    hop_length : int, default=512
        Hop of the STFT (not used by ``"tfnet2018"``).
    reduce : {"mean", None}, default="mean"
        ``"mean"`` averages over clips; ``None`` returns one value per clip.

    Returns
    -------
    lsd : float or ndarray of shape (n_clips,)
        In log10-power units (bels) for ``"default"`` and ``"tfnet2018"``, natural-log
        units for ``"kuleshov2017"``. Lower is better; 0 for identical signals (1e-4 with
        ``"kuleshov2017"``: the root of the 1e-8 its formula adds).

    See Also
    --------
    lsd_hf, lsd_lf : the same distance over the high or low band only.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.metrics import lsd
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal(16000)
    >>> round(lsd(y, 10 * y), 6)  # a 10x gain is 2 bels of power in every bin
    2.0
    """
    check_choice(convention, LSD_CONVENTIONS, name="convention")
    _check_stft_params(n_fft, hop_length)
    yt, yp, was_1d = _check_pair(y_true, y_pred, warn_mismatch=n_fft)
    if convention == "default":
        values = [_frame_lsd_default(a, b, n_fft, hop_length, slice(None)) for a, b in zip(yt, yp)]
    elif convention == "kuleshov2017":
        values = [_lsd_kuleshov(a, b, n_fft, hop_length) for a, b in zip(yt, yp)]
    else:
        values = [_lsd_tfnet(a, b) for a, b in zip(yt, yp)]
    return _reduce(values, reduce, was_1d)


def _band_lsd(y_true, y_pred, rate, n_fft, hop_length, reduce, high):
    _check_stft_params(n_fft, hop_length)
    k = hf_cutoff_bin(rate, n_fft)
    if high and k >= 1 + n_fft // 2 or not high and k < 1:
        raise ValueError(f"rate={rate} leaves no bins in the {'high' if high else 'low'} band at n_fft={n_fft}.")
    yt, yp, was_1d = _check_pair(y_true, y_pred, warn_mismatch=n_fft)
    band = slice(k, None) if high else slice(0, k)
    values = [_frame_lsd_default(a, b, n_fft, hop_length, band) for a, b in zip(yt, yp)]
    return _reduce(values, reduce, was_1d)


def lsd_hf(y_true, y_pred, *, rate, n_fft=_N_FFT, hop_length=_HOP, reduce="mean"):
    """Log-spectral distance over the high band only: what the model had to invent.

    The default-convention :func:`lsd` restricted to STFT bins ``k >= int((1 + n_fft/2) / rate)``,
    NU-Wave 2's ``LSD-HF``.

    Parameters
    ----------
    y_true : array-like of shape (n_times,) or (n_clips, n_times)
        Reference signal(s) at the high sample rate.
    y_pred : array-like of the same shape
        Estimated signal(s).
    rate : float
        Ratio of the high sample rate to the low-rate input's (4 for 4 -> 16 kHz).
    n_fft : int, default=2048
        FFT size of the STFT.
    hop_length : int, default=512
        Hop of the STFT.
    reduce : {"mean", None}, default="mean"
        ``"mean"`` averages over clips; ``None`` returns one value per clip.

    Returns
    -------
    lsd_hf : float or ndarray of shape (n_clips,)

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.metrics import lsd_hf
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal(16000)
    >>> lsd_hf(y, y, rate=4)
    0.0
    """
    return _band_lsd(y_true, y_pred, rate, n_fft, hop_length, reduce, high=True)


def lsd_lf(y_true, y_pred, *, rate, n_fft=_N_FFT, hop_length=_HOP, reduce="mean"):
    """Log-spectral distance over the low band only: what the input already carried.

    The default-convention :func:`lsd` restricted to STFT bins ``k < int((1 + n_fft/2) / rate)``,
    NU-Wave 2's ``LSD-LF``. A good model leaves it near zero.

    Parameters
    ----------
    y_true : array-like of shape (n_times,) or (n_clips, n_times)
        Reference signal(s) at the high sample rate.
    y_pred : array-like of the same shape
        Estimated signal(s).
    rate : float
        Ratio of the high sample rate to the low-rate input's.
    n_fft : int, default=2048
        FFT size of the STFT.
    hop_length : int, default=512
        Hop of the STFT.
    reduce : {"mean", None}, default="mean"
        ``"mean"`` averages over clips; ``None`` returns one value per clip.

    Returns
    -------
    lsd_lf : float or ndarray of shape (n_clips,)

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.metrics import lsd_lf
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal(16000)
    >>> lsd_lf(y, y, rate=4)
    0.0
    """
    return _band_lsd(y_true, y_pred, rate, n_fft, hop_length, reduce, high=False)


def align(y_true, y_pred, *, max_lag=256):
    """Undo an integer delay between an estimate and its reference.

    SNR is very sensitive to sub-millisecond misalignment (a 10-sample lag turns a
    +10 dB result into -3 dB) while LSD is blind to it. This finds the lag in
    ``[-max_lag, max_lag]`` that maximises the cross-correlation and trims both
    signals to their overlap.

    Parameters
    ----------
    y_true : array-like of shape (n_times,)
        Reference signal.
    y_pred : array-like of shape (n_times_pred,)
        Estimate, possibly delayed.
    max_lag : int, default=256
        Largest delay searched, in samples.

    Returns
    -------
    y_true_aligned, y_pred_aligned : ndarray
        The overlapping parts, of equal length.
    lag : int
        How many samples ``y_pred`` lags behind ``y_true`` (negative: it leads).

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.metrics import align
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal(1000)
    >>> _, _, lag = align(y, np.concatenate([np.zeros(10), y]))
    >>> lag
    10
    """
    yt = as_float_signal(y_true, name="y_true", ndims=(1,), dtype=np.float64)
    yp = as_float_signal(y_pred, name="y_pred", ndims=(1,), dtype=np.float64)
    if isinstance(max_lag, bool) or not isinstance(max_lag, (int, np.integer)) or max_lag < 0:
        raise ValueError(f"max_lag must be a non-negative integer, got {max_lag!r}.")
    corr = correlate(yp, yt, mode="full", method="fft")
    lags = np.arange(-(yt.size - 1), yp.size)
    keep = np.abs(lags) <= max_lag
    lag = int(lags[keep][np.argmax(corr[keep])])
    if lag >= 0:
        yp = yp[lag:]
    else:
        yt = yt[-lag:]
    n = min(yt.size, yp.size)
    return yt[:n], yp[:n], lag


# --------------------------------------------------------------------------- scorers


class _TransformScorer:
    """``scorer(estimator, X, y)`` applying a metric to ``estimator.transform(X)``."""

    def __init__(self, metric, sign, name, needs_rate, kwargs):
        self.metric = metric
        self.sign = sign
        self.name = name
        self.needs_rate = needs_rate
        self.kwargs = kwargs

    def __call__(self, estimator, X, y):
        y_pred = estimator.transform(X)
        kwargs = dict(self.kwargs)
        if self.needs_rate and "rate" not in kwargs:
            # The high band starts where the input's band ended: X's length fixes it.
            kwargs["rate"] = np.shape(y)[-1] / np.shape(X)[-1]
        return self.sign * self.metric(y, y_pred, **kwargs)

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return f"make_transform_scorer({self.name}{args}, greater_is_better={self.sign > 0})"


def make_transform_scorer(metric, *, greater_is_better=True, **kwargs):
    """Make a scorer ``scorer(estimator, X, y)`` for ``GridSearchCV`` and ``cross_val_score``.

    The scorer compares ``y`` with ``estimator.transform(X)``. Metrics whose lower
    values are better are negated, following scikit-learn's ``neg_*`` scorers, so that
    model selection always maximises.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, y_pred, **kwargs) -> float``, e.g. :func:`lsd`.
    greater_is_better : bool, default=True
        Whether higher metric values mean a better estimate.
    **kwargs
        Passed to ``metric`` (e.g. ``convention="kuleshov2017"``). For :func:`lsd_hf`
        and :func:`lsd_lf`, ``rate`` defaults to ``y.shape[-1] / X.shape[-1]``.

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> from audiosr.metrics import lsd, make_transform_scorer
    >>> scorer = make_transform_scorer(lsd, greater_is_better=False, convention="kuleshov2017")
    """
    if not callable(metric):
        raise TypeError(f"metric must be callable, got {metric!r}.")
    name = getattr(metric, "__name__", repr(metric))
    needs_rate = metric in (lsd_hf, lsd_lf)
    return _TransformScorer(metric, 1 if greater_is_better else -1, name, needs_rate, kwargs)


#: Mean SNR (dB) of ``transform(X)`` against ``y``; the estimators' default score.
snr_scorer = make_transform_scorer(snr)
#: Mean SI-SDR (dB).
si_sdr_scorer = make_transform_scorer(si_sdr)
#: Negated mean default-convention LSD (higher is better).
neg_lsd_scorer = make_transform_scorer(lsd, greater_is_better=False)
#: Negated mean high-band LSD; the band edge comes from ``y.shape[-1] / X.shape[-1]``.
neg_lsd_hf_scorer = make_transform_scorer(lsd_hf, greater_is_better=False)
#: Negated mean low-band LSD.
neg_lsd_lf_scorer = make_transform_scorer(lsd_lf, greater_is_better=False)
