"""Up-sampling live audio chunk by chunk, with a fixed latency.

:class:`Stream` takes audio as it arrives (a sample, 10 ms, seconds: any chunk size)
and returns the up-sampled audio that is final so far. It runs the same rate chain as
:func:`audiosr.upsample` (:func:`audiosr.processing.build_chain`) in blocks cut on the
chain's grid with their context on both sides (:meth:`RateChain.geometry`), so the
concatenated output equals the offline result of the whole signal to float rounding,
and it holds the output back by a fixed number of input samples, :attr:`Stream.latency`,
so that it lags the input by a constant delay whatever the chunk sizes.
"""

from __future__ import annotations

import numpy as np

from . import pretrained
from ._validation import as_float_signal, check_channels_first, check_sample_rate
from .classical import CLASSICAL_METHODS
from .processing import build_chain, method_label

__all__ = ["Stream"]

#: Longest stretch of input (in seconds) put through the chain at once when a push
#: brings much at a time: memory stays bounded, whatever the chunk size.
_MAX_SECONDS = 10.0


def _resolve_model(model):
    """A method name or an estimator as :func:`build_chain` takes it; a shipped model's name is loaded."""
    if not isinstance(model, str):
        if not hasattr(model, "transform"):
            raise TypeError(
                "model must be a method name, a shipped model's name or an estimator with a transform method, "
                f"got {type(model).__name__}."
            )
        return model
    if model in CLASSICAL_METHODS:
        return model
    if model in pretrained.list():
        return pretrained.load(model)
    raise ValueError(
        f"unknown model {model!r}: use one of {sorted(CLASSICAL_METHODS)}, a shipped model {pretrained.list()} "
        "or a fitted estimator (e.g. from audiosr.load_model)."
    )


class Stream:
    """Up-sample audio that arrives in chunks, with a fixed latency and the offline result.

    Push chunks of any size as they come; each :meth:`push` returns the output that is
    final so far, and :meth:`flush` returns the rest once the input has ended. The
    concatenated output equals ``audiosr.upsample(x, sr=sr, target_sr=target_sr,
    method=model, method_sr=method_sr)`` of the whole input ``x`` to float rounding
    (closely, not exactly, for :class:`~audiosr.SpectralDNN`, whose last step is a
    whole-block FFT).

    The output lags the input by exactly :attr:`latency` input samples: after
    ``n`` input samples in all, the pushes have returned the first
    ``max(0, floor((n - latency) * ratio))`` output samples (``ratio`` is
    ``sr_out / sr``), so once the first ``latency`` samples are in, each chunk of
    ``k`` samples brings back ``k * ratio`` samples (give or take one when the ratio is
    not whole). The latency is ``block + context - 1``: a block of ``block`` input
    samples is up-sampled when ``context`` samples after it have arrived (the reach of
    the chain's filters and networks,
    :meth:`RateChain.geometry <audiosr.processing.RateChain.geometry>`).

    Unlike the estimators, a stream checks its arguments when it is made.

    Parameters
    ----------
    model : str or estimator, default="sinc"
        ``"sinc"``, ``"spline"`` or ``"bicubic"``; the name of a shipped model
        (:func:`audiosr.pretrained.list`), loaded here; or a fitted estimator (e.g.
        :func:`audiosr.pretrained.load`, :func:`audiosr.load_model`).
    sr : int
        Sample rate of the input, in Hz.
    target_sr : int or None, default=None
        Output rate, any rate above ``sr``, as in :func:`audiosr.upsample`. ``None``:
        the method's factor alone (``rate``, or the estimator's).
    rate : int or None, default=None
        The method's integer factor; see :func:`audiosr.upsample`.
    method_sr : int or None, default=None
        Rate at which the method runs (with ``target_sr``). Default: a model's
        ``metadata_["input_sr"]`` when it has one, else ``sr``.
    block_seconds : float, default=0.05
        Input up-sampled at a time, rounded up to the chain's grid. Shorter blocks lower
        the latency; longer ones cost less computation per second (each block is
        processed with ``context`` samples on both sides).

    Attributes
    ----------
    latency : int
        The fixed delay of the output, in input samples.
    latency_seconds : float
        The same in seconds (``latency / sr``).
    block : int
        Input samples per block.
    context : int
        Input samples a block needs on each side.
    sr_out : int
        The output rate.
    chain : RateChain
        The steps from ``sr`` to ``sr_out`` (``chain.describe()`` says them).
    n_in, n_out : int
        Input samples pushed and output samples returned so far.

    Examples
    --------
    >>> import numpy as np
    >>> import audiosr
    >>> x = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    >>> stream = audiosr.Stream("sinc", sr=16000, target_sr=44100)
    >>> stream.latency, round(stream.latency_seconds, 4)
    (1119, 0.0699)
    >>> parts = [stream.push(x[i : i + 160]) for i in range(0, x.size, 160)]
    >>> parts.append(stream.flush())
    >>> y = np.concatenate(parts)
    >>> offline = audiosr.upsample(x, sr=16000, target_sr=44100)
    >>> y.shape == offline.shape, bool(np.allclose(y, offline, atol=1e-9))
    (True, True)
    """

    def __init__(self, model="sinc", *, sr, target_sr=None, rate=None, method_sr=None, block_seconds=0.05):
        self.sr = check_sample_rate(sr)
        self.model = _resolve_model(model)
        self.chain = build_chain(self.model, rate, sr=self.sr, target_sr=target_sr, method_sr=method_sr)
        self.target_sr = target_sr
        self.method_sr = method_sr
        self.block_seconds = block_seconds
        ratio = self.chain.ratio
        self._num, self._den = ratio.numerator, ratio.denominator
        self.sr_out = int(self.sr * ratio)
        _, self.context = self.chain.geometry()
        self.block = self.chain.block_length(block_seconds, self.sr)
        self.latency = self.block + self.context - 1
        self._max_step = max(1, round(_MAX_SECONDS * self.sr / self.block)) * self.block
        self.reset()

    @property
    def latency_seconds(self):
        """The fixed delay of the output, in seconds."""
        return self.latency / self.sr

    def __repr__(self):
        return (
            f"Stream({method_label(self.model)!r}, sr={self.sr}, sr_out={self.sr_out}, "
            f"latency={self.latency} samples ({self.latency_seconds * 1000:.1f} ms))"
        )

    def reset(self):
        """Forget all input and output: the stream starts again, as new."""
        self.n_in = self.n_out = 0
        self._channels = None  # None: mono, 1-D chunks; else the channel count of 2-D chunks
        self._dtype = None  # set by the first chunk
        self._held, self._held_start = [], 0  # input from _held_start on (a block's left context and later)
        self._done = 0  # input samples whose output is computed (a block start, on the chain's grid)
        self._ready = []  # computed output not returned yet
        self._flushed = False

    # ------------------------------------------------------------------ the stream

    def push(self, chunk):
        """Add input; return the output that is final so far.

        Parameters
        ----------
        chunk : array-like of shape (n,) or (n_channels, n)
            The next ``n`` input samples (any ``n``, 0 included), time last. The first
            chunk fixes the layout: mono (1-D) or its number of channels; its float
            dtype is the output's (float64 for non-float input; int16 and other PCM
            integers are scaled to [-1, 1)).

        Returns
        -------
        y : ndarray of shape (m,) or (n_channels, m)
            The output samples that follow those returned before, so that ``n_out ==
            max(0, floor((n_in - latency) * sr_out / sr))``.
        """
        if self._flushed:
            raise RuntimeError("this stream was flushed: its input has ended. Call reset() or make a new Stream.")
        x = self._check_chunk(chunk)
        n = self.n_in + x.shape[1]
        held = [*self._held, x] if x.shape[1] else self._held
        ready, held_start, done = self._ready, self._held_start, self._done
        # The blocks whose right context is in; those of one push go through the chain
        # together (up to _MAX_SECONDS at a time), which costs less than one by one.
        final = done + (n - self.context - done) // self.block * self.block
        while done < final:
            held = np.concatenate(held, axis=1) if len(held) > 1 else held[0]
            offset = max(0, done - self.context)
            stop = min(final, done + self._max_step)
            piece = held[:, offset - held_start : stop + self.context - held_start]
            y = self.chain.transform_block(piece, offset=offset, start=done, stop=stop)
            ready = [*ready, np.asarray(y, dtype=self._dtype)]
            keep = max(0, stop - self.context)
            # A copy: a view would keep a long pushed chunk alive with it.
            held, held_start, done = [held[:, keep - held_start :].copy()], keep, stop
        due = max(0, (n - self.latency) * self._num // self._den) - self.n_out
        out, ready = self._take(ready, due)
        self._held, self._held_start, self._done, self._ready = held, held_start, done, ready
        self.n_in, self.n_out = n, self.n_out + due
        return out

    def flush(self):
        """End the input; return the rest of the output.

        After it, :meth:`push` refuses more input (call :meth:`reset` to start again)
        and further calls of :meth:`flush` return nothing.

        Returns
        -------
        y : ndarray of shape (m,) or (n_channels, m)
            The last ``chain.length(n_in) - n_out`` output samples.
        """
        if self._flushed or self.n_in == 0:
            self._flushed = True
            return self._empty()
        n = self.n_in
        held = np.concatenate(self._held, axis=1)
        offset = max(0, self._done - self.context)
        piece = held[:, offset - self._held_start :]
        y = self.chain.transform_block(piece, offset=offset, start=self._done, stop=n, n=n)
        ready = [*self._ready, np.asarray(y, dtype=self._dtype)]
        total = self.chain.length(n)
        out, _ = self._take(ready, total - self.n_out)
        if out.shape[-1] != total - self.n_out:
            raise ValueError(
                f"the rate chain returned {self.n_out + out.shape[-1]} output samples for {n} input samples; "
                f"expected {total}."
            )
        self._held, self._ready, self.n_out, self._flushed = [], [], total, True
        return out

    # ------------------------------------------------------------------ helpers

    def _check_chunk(self, chunk):
        name = "chunk"
        if self._dtype is None:
            x = as_float_signal(chunk, name=name, ndims=(1, 2), min_length=0)
            x = check_channels_first(x, name=name)
            self._channels = x.shape[0] if x.ndim == 2 else None
            self._dtype = x.dtype
            return np.atleast_2d(x)
        x = as_float_signal(chunk, name=name, ndims=(1, 2), dtype=self._dtype, min_length=0)
        if self._channels is None and x.ndim != 1:
            raise ValueError(
                f"chunk has shape {x.shape} but this stream is mono: its first chunk was 1-D, so every chunk "
                "must be 1-D (n,). Make a new Stream for multichannel audio."
            )
        if self._channels is not None and (x.ndim != 2 or x.shape[0] != self._channels):
            raise ValueError(
                f"chunk has shape {x.shape} but this stream has {self._channels} channel(s), fixed by its first "
                f"chunk: pass ({self._channels}, n) arrays, time last (a soundfile block is (n, channels): pass "
                "its .T). Make a new Stream for another channel count."
            )
        return np.atleast_2d(x)

    def _empty(self):
        shape = (0,) if self._channels is None else (self._channels, 0)
        return np.zeros(shape, dtype=self._dtype or np.float64)

    def _take(self, ready, count):
        """The first ``count`` samples of the computed output, and what stays."""
        if count <= 0:
            return self._empty(), ready
        ready = np.concatenate(ready, axis=1)
        out, rest = ready[:, :count], ready[:, count:]
        return (out[0] if self._channels is None else out), [rest.copy()]
