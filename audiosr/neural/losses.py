"""Training losses shared by the waveform models."""

from __future__ import annotations

import torch

# The metric's floor, so that the loss is the metric (silent bins give finite logs and gradients).
from ..metrics import _POWER_FLOOR


def log_spectral_loss(pred, target, n_fft=512):
    """Log-spectral distance between batches of waveforms, differentiable.

    The training form of :func:`audiosr.metrics.lsd`: log10 power of an STFT
    (periodic Hann, hop ``n_fft // 4``, centred reflect-padded frames), root mean
    square over frequency, mean over frames and examples. A waveform MSE alone
    rewards a network for shrinking the part of the high band it cannot predict
    exactly (the conditional mean of a random phase is zero), which leaves the band
    dark; this term penalises the missing energy on a log scale instead.

    Parameters
    ----------
    pred, target : torch.Tensor of shape (batch, n_times)
        Waveforms, ``n_times > n_fft // 2``.
    n_fft : int, default=512
        STFT frame length, clipped to the patch length.

    Returns
    -------
    loss : torch.Tensor
        Scalar, in bels.
    """
    n_fft = min(int(n_fft), pred.shape[-1] // 4 * 2)
    window = torch.hann_window(n_fft, periodic=True, dtype=pred.dtype, device=pred.device)

    def log_power(x):
        spec = torch.stft(
            x, n_fft, hop_length=n_fft // 4, window=window, center=True, pad_mode="reflect", return_complex=True
        )
        return torch.log10((spec.real**2 + spec.imag**2).clamp_min(_POWER_FLOOR))

    diff = log_power(pred) - log_power(target)
    # The small constant keeps the square root's gradient finite where the spectra agree exactly.
    return torch.sqrt(torch.mean(diff**2, dim=-2) + 1e-12).mean()
