"""Spectrogram figures for comparing up-sampled audio with its reference."""

from __future__ import annotations

import os

import numpy as np

from ._validation import as_float_signal, check_sample_rate

__all__ = ["plot_spectrograms", "plot_spectrogram"]

#: Window of :func:`plot_spectrogram`: 1024 samples at 48 kHz, the same duration (so the same
#: frequency resolution and dB level per bin) at every rate.
_WINDOW_SECONDS = 1024 / 48000


def _log_spectrogram(y, n_fft, hop):
    from scipy.signal import stft

    _, _, spec = stft(y, nperseg=n_fft, noverlap=n_fft - hop, window="hann", boundary=None, padded=False)
    return 10 * np.log10(np.abs(spec) ** 2 + 1e-10)


def plot_spectrograms(signals, sr, path=None, *, title=None, n_fft=1024, dynamic_range=80.0):
    """Draw the spectrograms of several versions of one clip, one above the other.

    Parameters
    ----------
    signals : dict of str -> array-like of shape (n_times,)
        Label -> signal, all at sample rate ``sr`` (bring a low-rate input to ``sr``
        first, e.g. with ``audiosr.upsample(x, rate)``, so the panels share an axis).
    sr : int
        Sample rate in Hz.
    path : str, path-like or None, default=None
        Where to save the figure (PNG by extension); ``None`` only returns it.
    title : str, optional
        Figure title.
    n_fft : int, default=1024
        STFT window (hop ``n_fft // 4``).
    dynamic_range : float, default=80.0
        dB below the loudest bin of all panels shown.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    sr = check_sample_rate(sr)
    if not signals:
        raise ValueError("signals is empty: pass at least one labelled signal.")
    specs = {
        label: _log_spectrogram(as_float_signal(y, name=label, ndims=(1,)), n_fft, n_fft // 4)
        for label, y in signals.items()
    }
    top = max(float(s.max()) for s in specs.values())
    fig, axes = plt.subplots(len(specs), 1, figsize=(8, 1.9 * len(specs) + 0.6), sharex=True, squeeze=False)
    for ax, (label, spec) in zip(axes[:, 0], specs.items()):
        extent = (0, spec.shape[1] * (n_fft // 4) / sr, 0, sr / 2000)
        image = ax.imshow(
            spec, origin="lower", aspect="auto", extent=extent, vmin=top - dynamic_range, vmax=top, cmap="magma"
        )
        ax.set_ylabel("kHz")
        ax.set_title(label, loc="left", fontsize=9)
    axes[-1, 0].set_xlabel("time (s)")
    fig.colorbar(image, ax=axes[:, 0].tolist(), label="dB", fraction=0.03)
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(os.fspath(path), dpi=100)
        plt.close(fig)
    return fig


def plot_spectrogram(y, sr, path=None, *, title=None, max_hz=None, vmin=-100.0, vmax=-10.0, size=(4.8, 2.6), dpi=100):
    """Draw one signal's spectrogram on a fixed dB scale, so that images of different signals compare.

    Unlike :func:`plot_spectrograms`, whose colours follow the loudest of the panels it
    draws together, the colours here are fixed (``vmin`` to ``vmax`` dB relative to full
    scale), and the STFT window lasts the same 21.3 ms at every rate: a 12 kHz input
    and its 48 kHz up-sampled output, drawn separately, have the same colour for the
    same level. The figure is made without pyplot, so threads may draw at once.

    Parameters
    ----------
    y : array-like of shape (n_times,)
        The signal, floats in [-1, 1].
    sr : int
        Its sample rate in Hz.
    path : str, path-like or None, default=None
        Where to save the figure (PNG by extension); ``None`` only returns it.
    title : str, optional
        Title above the image.
    max_hz : float or None, default=None
        Top of the frequency axis; ``None`` is the signal's Nyquist frequency. A higher
        value leaves the band the signal cannot hold empty (e.g. an input drawn on its
        output's axis).
    vmin, vmax : float, default=-100.0, -10.0
        The colour scale in dB re full scale (a full-scale sine reads about -6 dB).
    size : tuple of float, default=(4.8, 2.6)
        Figure size in inches.
    dpi : int, default=100
        Resolution of the saved image.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr.plotting import plot_spectrogram
    >>> t = np.arange(16000) / 16000
    >>> fig = plot_spectrogram(0.5 * np.sin(2 * np.pi * 440 * t), 16000, max_hz=24000)
    >>> [float(v) for v in fig.axes[0].get_ylim()]
    [0.0, 24.0]
    """
    from matplotlib.figure import Figure

    sr = check_sample_rate(sr)
    y = as_float_signal(y, name="y", ndims=(1,))
    if not vmin < vmax:
        raise ValueError(f"vmin must be below vmax, got vmin={vmin}, vmax={vmax}.")
    top = sr / 2 if max_hz is None else float(max_hz)
    if not top > 0:
        raise ValueError(f"max_hz must be a positive frequency in Hz, got {max_hz!r}.")
    n_fft = max(16, round(_WINDOW_SECONDS * sr))
    # A signal shorter than one window is drawn as one (zero-padded) frame.
    spec = _log_spectrogram(np.pad(y, (0, max(0, n_fft - y.size))), n_fft, n_fft // 4)
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    extent = (0, spec.shape[1] * (n_fft // 4) / sr, 0, sr / 2000)
    image = ax.imshow(spec, origin="lower", aspect="auto", extent=extent, vmin=vmin, vmax=vmax, cmap="magma")
    ax.set_ylim(0, top / 1000)
    ax.set_facecolor("black")
    ax.set_ylabel("kHz")
    ax.set_xlabel("time (s)")
    if title:
        ax.set_title(title, loc="left", fontsize=9)
    fig.colorbar(image, ax=ax, label="dB", fraction=0.05, pad=0.02)
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi)
    return fig
