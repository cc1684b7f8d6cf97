"""Up-sampling whole signals and files of any length, channel count and rate pair.

A request "from ``sr`` to ``target_sr`` with this method" becomes a *rate chain*: an
optional soxr resampling to the rate the method works at (``method_sr``), the method
itself (an integer factor), and an optional soxr resampling to the target rate. The
chain runs on whole arrays (:func:`upsample`) or streams a file block by block
(:func:`upsample_file`) with the same result to float rounding.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import warnings
from fractions import Fraction

import numpy as np

from ._validation import as_float_signal, check_channels_first, check_positive, check_rate, check_sample_rate
from .classical import CLASSICAL_METHODS
from .io import ClippingWarning, clip_full_scale
from .signal import resample, resampled_length

__all__ = ["upsample", "upsample_file", "resolve_upsampler", "build_chain", "describe_chain", "method_label", "RateChain"]


def resolve_upsampler(method, rate=None):
    """Turn a method name or an estimator into an estimator with a known ``rate``.

    Parameters
    ----------
    method : str or estimator
        ``"bicubic"``, ``"spline"``, ``"sinc"``, or any object with ``transform`` (a
        fitted model, or a classical up-sampler instance).
    rate : int or None
        Up-sampling factor. Required with a method name; with an estimator it must
        match the estimator's ``rate`` (or be None to use it).

    Returns
    -------
    estimator : object with ``transform``
    rate : int
    """
    if isinstance(method, str):
        if method not in CLASSICAL_METHODS:
            raise ValueError(f"unknown method {method!r}; use one of {sorted(CLASSICAL_METHODS)} or pass an estimator.")
        if rate is None:
            raise ValueError(f"rate is required with method={method!r}.")
        rate = check_rate(rate)
        return CLASSICAL_METHODS[method](rate=rate), rate
    if not hasattr(method, "transform"):
        raise TypeError(
            f"method must be a method name or an estimator with a transform method, got {type(method).__name__}."
        )
    own = getattr(method, "rate", None)
    if own is None:
        if rate is None:
            raise ValueError("rate is required: the estimator has no rate attribute.")
        return method, check_rate(rate)
    own = check_rate(own, name=f"{type(method).__name__}.rate")
    if rate is not None and check_rate(rate) != own:
        raise ValueError(
            f"rate={rate} but the estimator up-samples by {own}; pass rate=None or an estimator for rate {rate}."
        )
    return method, own


# ----------------------------------------------------------------------------- the rate chain


class _Resampling:
    """A soxr stage; its filter reaches about 512 samples of the lower rate (measured: 1e-15 agreement)."""

    def __init__(self, orig_sr, target_sr):
        self.sr_in, self.sr_out = orig_sr, target_sr
        self.ratio = Fraction(target_sr, orig_sr)
        self.granularity = orig_sr // math.gcd(orig_sr, target_sr)
        self.context = math.ceil(512 * max(1.0, orig_sr / target_sr))

    def length(self, n):
        return resampled_length(n, self.sr_in, self.sr_out)

    def apply(self, x):
        return resample(x, orig_sr=self.sr_in, target_sr=self.sr_out)

    def describe(self):
        return f"soxr {self.sr_in} -> {self.sr_out} Hz"


class _Method:
    """The up-sampler stage: an estimator with an integer factor (``None`` to describe one only)."""

    def __init__(self, estimator, rate, sr_in, label):
        self.estimator, self.rate, self.label = estimator, rate, label
        self.ratio = Fraction(rate)
        self.sr_in, self.sr_out = sr_in, None if sr_in is None else sr_in * rate
        geometry = getattr(estimator, "_stream_geometry", None)
        self.granularity, self.context = geometry(rate) if geometry is not None else (1, 256)

    def length(self, n):
        return n * self.rate

    def apply(self, x):
        out = np.asarray(self.estimator.transform(x))
        if out.shape != (x.shape[0], x.shape[1] * self.rate):
            raise ValueError(
                f"the estimator returned shape {out.shape} for input {x.shape}; expected {(x.shape[0], x.shape[1] * self.rate)}."
            )
        return out

    def describe(self):
        return f"{self.label} x{self.rate}" + ("" if self.sr_out is None else f" -> {self.sr_out} Hz")


class RateChain:
    """Resample to the method's rate, up-sample by its factor, resample to the target.

    Built by :func:`upsample` and :func:`upsample_file` (and by :mod:`audiosr.planning`);
    it knows how long its output is and how to cut a long input into blocks whose
    outputs join exactly.

    Parameters
    ----------
    stages : list
        Stages in order, each with ``apply``, ``length``, ``granularity``, ``context``,
        ``sr_in``, ``sr_out`` and ``describe``.
    """

    def __init__(self, stages):
        self.stages = list(stages)

    @property
    def ratio(self):
        """Output samples per input sample, as a fraction."""
        ratio = Fraction(1)
        for stage in self.stages:
            ratio *= stage.ratio
        return ratio

    def length(self, n):
        """Output length for ``n`` input samples."""
        for stage in self.stages:
            n = stage.length(n)
        return n

    def transform(self, x):
        """Run the chain on ``(n_channels, n_times)`` floats."""
        for stage in self.stages:
            x = stage.apply(x)
        return x

    def geometry(self):
        """``(granularity, context)`` in input samples for exact block-wise streaming.

        A block start ``s`` must land, at every stage, on that stage's grid: ``s`` times the
        stage's rate relative to the input is a multiple of the stage's granularity (and the
        output position ``s * ratio`` is whole). The context adds every stage's reach,
        converted back to input samples.
        """
        granularity, context, scale = 1, 0.0, Fraction(1)
        for stage in [*self.stages, None]:
            unit = 1 if stage is None else stage.granularity
            # s * scale = k * unit  <=>  s multiple of unit * den / gcd(num, unit * den)
            need = unit * scale.denominator // math.gcd(scale.numerator, unit * scale.denominator)
            granularity = granularity * need // math.gcd(granularity, need)
            if stage is None:
                break
            context += stage.context / scale
            scale *= stage.ratio
        return granularity, math.ceil(context / granularity) * granularity

    def transform_block(self, x, *, offset, start, stop, n=None):
        """The output for input samples ``start:stop`` of a long signal, from a block of it around them.

        The block cut that way joins its neighbours exactly (see :meth:`geometry`).

        Parameters
        ----------
        x : ndarray of shape (n_channels, n_block)
            Input samples ``offset:offset + n_block``. ``offset`` and ``start`` are on the
            grid of :meth:`geometry` (``offset`` may be 0), and ``x`` reaches at least
            ``context`` samples before ``start`` (or the signal's start) and after
            ``stop`` (or the signal's end: then ``stop == n``).
        offset, start, stop : int
            Positions in the whole input.
        n : int or None
            The whole input's length, when ``x`` reaches its end.

        Returns
        -------
        y : ndarray of shape (n_channels, n_out)
            Output samples ``start * ratio`` to ``stop * ratio`` (to :meth:`length` at the end).
        """
        ratio = self.ratio
        y = self.transform(x)
        a = int((start - offset) * ratio)
        # The last block ends where the whole signal's output ends, which may not be on the grid.
        b = self.length(n) - int(offset * ratio) if stop == n else int((stop - offset) * ratio)
        return y[:, a:b]

    def block_length(self, block_seconds, sr):
        """Input samples in a block of about ``block_seconds`` at ``sr``: a whole number (>= 1) of granularities."""
        block_seconds = _check_block_seconds(block_seconds)
        granularity, _ = self.geometry()
        return max(granularity, math.ceil(block_seconds * sr / granularity) * granularity)

    def describe(self):
        """The steps as one line, e.g. ``"soxr 44100 -> 16000 Hz, sinc x3 -> 48000 Hz"``."""
        return ", ".join(stage.describe() for stage in self.stages)


def _check_block_seconds(block_seconds):
    return check_positive(block_seconds, name="block_seconds", unit="seconds")


def method_label(method):
    """How a method is named in messages: its name, a model's ``metadata_["name"]``, or its class."""
    if isinstance(method, str):
        return method
    meta = getattr(method, "metadata_", None)
    return (meta.get("name") if isinstance(meta, dict) else None) or type(method).__name__


def _stages(method, sr, target_sr, method_sr):
    """soxr to the method's rate when it differs, the method, soxr to the target when that differs."""
    before = [] if method_sr == sr else [_Resampling(sr, method_sr)]
    after = [] if method.sr_out == target_sr else [_Resampling(method.sr_out, target_sr)]
    return [*before, method, *after]


def describe_chain(label, rate, *, sr, target_sr, method_sr):
    """The steps of a rate chain as one line, without building it (no model needs loading)."""
    return RateChain(_stages(_Method(None, rate, method_sr, label), sr, target_sr, method_sr)).describe()


def build_chain(method="sinc", rate=None, *, sr=None, target_sr=None, method_sr=None):
    """The :class:`RateChain` that takes audio at ``sr`` to ``target_sr`` with ``method``.

    Parameters
    ----------
    method : {"sinc", "spline", "bicubic"} or estimator, default="sinc"
        The up-sampler.
    rate : int or None
        Its factor (from the estimator when omitted; for a method name with a target
        rate, the smallest factor that reaches the target from ``method_sr``).
    sr : int or None
        Input rate. Needed with ``target_sr``.
    target_sr : int or None
        Output rate. ``None``: the method's factor alone, no resampling.
    method_sr : int or None
        Rate the method's input is taken at: the input is resampled to it first. Default:
        the estimator's ``metadata_["input_sr"]`` when it has one, else ``sr``.

    Returns
    -------
    chain : RateChain
    """
    if target_sr is None:
        if method_sr is not None:
            raise ValueError("method_sr needs target_sr: without a target the method runs at the input's rate.")
        estimator, rate = resolve_upsampler(method, rate)
        return RateChain([_Method(estimator, rate, None if sr is None else check_sample_rate(sr), method_label(method))])
    if sr is None:
        raise ValueError("sr (the input's sample rate) is required with target_sr.")
    sr = check_sample_rate(sr)
    target_sr = check_sample_rate(target_sr, name="target_sr")
    if target_sr < sr:
        raise ValueError(
            f"audiosr only up-samples: the input is already {sr} Hz, above target_sr={target_sr}. "
            "Use a resampler (audiosr.signal.resample) to lower a rate."
        )
    if method_sr is None and not isinstance(method, str):
        meta = getattr(method, "metadata_", None)
        method_sr = meta.get("input_sr") if isinstance(meta, dict) else None
    method_sr = sr if method_sr is None else check_sample_rate(method_sr, name="method_sr")
    if target_sr <= method_sr:
        if method_sr == sr:
            raise ValueError(
                f"nothing to up-sample: the input is already {sr} Hz and target_sr={target_sr}; "
                "a target above the input's rate is needed."
            )
        raise ValueError(f"target_sr={target_sr} must be above the method's input rate method_sr={method_sr}.")
    if isinstance(method, str) and rate is None:
        rate = max(2, math.ceil(target_sr / method_sr))
    estimator, rate = resolve_upsampler(method, rate)
    return RateChain(_stages(_Method(estimator, rate, method_sr, method_label(method)), sr, target_sr, method_sr))


def upsample(x, rate=None, *, sr=None, target_sr=None, method="sinc", method_sr=None):
    """Up-sample a whole signal (any length, mono or multichannel) by a factor or to a rate.

    Parameters
    ----------
    x : array-like of shape (n_times,) or (n_channels, n_times)
        Low-rate signal, time last. Channels are processed independently.
    rate : int or None, default=None
        Integer up-sampling factor. May be omitted when ``method`` is an estimator or
        when ``target_sr`` is given.
    sr : int or None, default=None
        Sample rate of ``x`` in Hz; needed with ``target_sr``.
    target_sr : int or None, default=None
        Output sample rate in Hz, any rate above ``sr`` (16000 -> 44100, 22050 -> 48000,
        ...): the signal is resampled with soxr to ``method_sr``, up-sampled by the
        method's integer factor, and resampled to ``target_sr`` when that differs.
    method : {"sinc", "spline", "bicubic"} or estimator, default="sinc"
        A classical method by name, or an estimator (fitted if it needs fitting)
        whose ``transform`` maps ``(n, L)`` to ``(n, L * rate)`` for any ``L``.
    method_sr : int or None, default=None
        Rate at which the method runs (with ``target_sr``). Default: a model's
        ``metadata_["input_sr"]`` when it has one, else ``sr``.

    Returns
    -------
    y : ndarray of shape (n_out,) or (n_channels, n_out)
        ``n_out`` is ``n_times * rate``, or ``round(n_times * target_sr / sr)`` with a
        target rate. In the float dtype of ``x`` (float64 for non-float input).

    Examples
    --------
    >>> import numpy as np
    >>> import audiosr
    >>> x = np.sin(2 * np.pi * 440 * np.arange(4000) / 4000)
    >>> audiosr.upsample(x, 4).shape
    (16000,)
    >>> audiosr.upsample(np.stack([x, x]), 2, method="spline").shape
    (2, 8000)
    >>> audiosr.upsample(x[:1600], sr=16000, target_sr=44100).shape
    (4410,)
    """
    signal = check_channels_first(as_float_signal(x, name="x", ndims=(1, 2)))
    chain = build_chain(method, rate, sr=sr, target_sr=target_sr, method_sr=method_sr)
    # Each stage checks its own output's shape.
    out = np.asarray(chain.transform(np.atleast_2d(signal)), dtype=signal.dtype)
    return out[0] if signal.ndim == 1 else out


# ----------------------------------------------------------------------------- files


def _bytes_per_sample(subtype):
    bits = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
    return bits.get((subtype or "").upper(), 2)


_UNCOMPRESSED = {"WAV", "WAVEX", "AIFF", "AU", "RAW", "W64", "RF64", "CAF"}


def _disk_full(folder, needed):
    mb = max(1, math.ceil(needed / 1e6))
    free = shutil.disk_usage(folder).free / 1e6
    return OSError(errno.ENOSPC, f"no space left on device (needed about {mb} MB, {free:.1f} MB free in '{folder}')")


def _read_block(reader, src, lo, hi, n, sr):
    """Samples ``lo:hi`` of an open file as (channels, time) floats; damage becomes a ValueError."""
    import soundfile as sf

    try:
        reader.seek(lo)
        raw = reader.read(hi - lo, dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise ValueError(f"could not read '{src}' near {lo / sr:.1f} s ({exc}); the file is damaged or truncated.") from None
    if raw.shape[0] < hi - lo:
        raise ValueError(
            f"'{src}' ends at {(lo + raw.shape[0]) / sr:.1f} s although its header says {n / sr:.1f} s; "
            "the file is truncated."
        )
    return as_float_signal(raw.T, name=f"'{src}'")


def _write_error(dst, folder, needed, exc):
    """An OSError for a failed write; a full disk says so and how much was needed."""
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    if full or shutil.disk_usage(folder).free < 1_000_000:
        return _disk_full(folder, needed)
    return OSError(f"could not write '{dst}' ({exc}).")


def upsample_file(
    src,
    dst,
    rate=None,
    *,
    target_sr=None,
    method="sinc",
    method_sr=None,
    block_seconds=20.0,
    subtype=None,
    progress=None,
):
    """Up-sample an audio file of any length in bounded memory, writing ``dst`` atomically.

    The input is read in blocks of about ``block_seconds``; each block goes through the
    rate chain (see :func:`upsample`) with enough of its neighbours around it, and is
    cropped, so the output equals processing the whole file at once (to float rounding
    for the interpolators, the waveform networks and the soxr stages; closely for
    SpectralDNN, whose final low-band restoration is a whole-block FFT) while memory
    stays bounded by the block. Channels are processed independently.

    Parameters
    ----------
    src : str or path-like
        Input audio file.
    dst : str or path-like
        Output file (format from its extension). Written to a temporary file and renamed
        at the end; an existing ``dst`` is replaced only then, and nothing is left behind
        when reading or writing fails.
    rate : int or None
        Integer up-sampling factor (may be omitted with a fitted estimator or ``target_sr``).
    target_sr : int or None
        Output sample rate in Hz, any rate above the file's; see :func:`upsample`.
    method : {"sinc", "spline", "bicubic"} or estimator, default="sinc"
        As in :func:`upsample`.
    method_sr : int or None
        Rate at which the method runs; see :func:`upsample`.
    block_seconds : float, default=20.0
        Length of a block of input, in seconds.
    subtype : str or None
        Output sample format (e.g. ``"PCM_24"``); ``None`` keeps the input's when the
        output format allows it. Writing integer PCM clips samples beyond full scale,
        with a :class:`ClippingWarning` that gives their count and the peak.
    progress : callable or None
        Called as ``progress(done, total)`` in input frames after every block.

    Returns
    -------
    sr_out : int
        The output sample rate.

    Raises
    ------
    ValueError
        The input cannot be read (damaged, truncated, not audio) or the request is invalid.
    OSError
        Writing failed; a full disk gives ``errno.ENOSPC`` and says how much was needed.
    """
    import soundfile as sf

    from .io import atomic_output, audio_format, info

    _check_block_seconds(block_seconds)
    src_info = info(src)
    sr_in, n, channels = int(src_info.samplerate), int(src_info.frames), int(src_info.channels)
    if n == 0:
        raise ValueError(f"'{src}' contains no samples.")
    chain = build_chain(method, rate, sr=sr_in, target_sr=target_sr, method_sr=method_sr)
    sr_out = int(sr_in * chain.ratio)
    total = chain.length(n)
    _, context = chain.geometry()
    block = chain.block_length(block_seconds, sr_in)
    fmt = audio_format(dst)
    if subtype is None and sf.check_format(fmt, src_info.subtype):
        subtype = src_info.subtype
    effective = (subtype or sf.default_subtype(fmt) or "").upper()
    clip = effective.startswith("PCM")
    folder = os.path.dirname(os.path.abspath(os.fspath(dst)))
    needed = total * channels * _bytes_per_sample(effective)
    if fmt in _UNCOMPRESSED and os.path.isdir(folder) and shutil.disk_usage(folder).free < needed:
        raise _disk_full(folder, needed)
    clipped, peak = 0, 0.0
    with sf.SoundFile(str(src)) as reader, atomic_output(dst) as tmp:
        try:
            writer = sf.SoundFile(tmp, "w", samplerate=sr_out, channels=channels, subtype=subtype, format=fmt)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise _write_error(dst, folder, needed, exc) from None
        with writer:
            for start in range(0, n, block):
                lo, hi = max(0, start - context), min(n, start + block + context)
                x = _read_block(reader, src, lo, hi, n, sr_in)
                stop = min(start + block, n)
                chunk = chain.transform_block(x, offset=lo, start=start, stop=stop, n=n)
                if clip:
                    chunk, count, chunk_peak = clip_full_scale(chunk)
                    clipped, peak = clipped + count, max(peak, chunk_peak)
                try:
                    writer.write(chunk.T)
                    if stop == n:
                        writer.flush()
                except (sf.LibsndfileError, RuntimeError, OSError) as exc:
                    raise _write_error(dst, folder, needed, exc) from None
                if progress is not None:
                    progress(stop, n)
    if clipped:
        warnings.warn(
            f"{clipped} of {total * channels} samples were clipped writing {effective} to '{dst}' "
            f"(peak {peak:.3g}, {20 * np.log10(peak):+.1f} dBFS); write a float file (subtype 'FLOAT', "
            "--subtype FLOAT on the command line) to keep them, or lower the input's level.",
            ClippingWarning,
            stacklevel=2,
        )
    return sr_out
