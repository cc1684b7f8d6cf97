"""Spectrogram figures for comparing up-sampled audio with its reference."""

from __future__ import annotations

import os

import numpy as np

from ._validation import as_float_signal, check_sample_rate

__all__ = ["plot_spectrograms"]


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
