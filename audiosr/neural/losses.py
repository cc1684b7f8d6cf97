"""Training losses shared by the waveform models."""

from __future__ import annotations

import math

import torch

# The metric's floor, so that the loss is the metric (silent bins give finite logs and gradients).
from ..metrics import _POWER_FLOOR


def _band_start(n_bins, min_freq):
    """First STFT bin at or above ``min_freq`` (a fraction of the Nyquist frequency)."""
    min_freq = float(min_freq)
    if not 0.0 <= min_freq < 1.0:
        raise ValueError(f"min_freq must be in [0, 1), a fraction of the Nyquist frequency; got {min_freq}.")
    return math.ceil(min_freq * (n_bins - 1) - 1e-9)


#: Waveform losses of the patch models: the mean squared error, or the batch mean of
#: per-patch root mean squared errors (Kuleshov et al.'s code).
WAVEFORM_LOSSES = ("mse", "rmse")


def waveform_loss(pred, target, kind="mse"):
    """Waveform regression loss of a batch of patches.

    ``"mse"`` is the mean squared error over the batch: a patch counts by its error
    energy, so loud patches dominate. ``"rmse"`` (the objective of Kuleshov et al.'s
    AudioUNet code) is the batch mean of each patch's ``sqrt(mean((y_hat - y)**2) +
    1e-6)``: a square root per patch, whose gradient is the patch's error divided by its
    RMS, so every patch pulls about equally whatever its level, and patches already
    predicted well pull harder than with the squared error.

    Parameters
    ----------
    pred, target : torch.Tensor of shape (batch, n_times)
        Waveforms.
    kind : {"mse", "rmse"}, default="mse"

    Returns
    -------
    loss : torch.Tensor
        Scalar.

    Examples
    --------
    >>> import torch
    >>> from audiosr.neural.losses import waveform_loss
    >>> target = torch.zeros(2, 4)
    >>> pred = torch.tensor([[2.0, 2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    >>> float(waveform_loss(pred, target, "mse"))
    2.0
    >>> round(float(waveform_loss(pred, target, "rmse")), 4)
    1.0005
    """
    if kind == "mse":
        return torch.mean((pred - target) ** 2)
    if kind == "rmse":
        return torch.mean(torch.sqrt(torch.mean((pred - target) ** 2, dim=-1) + 1e-6))
    raise ValueError(f"kind must be one of {WAVEFORM_LOSSES}, got {kind!r}.")


def log_spectral_loss(pred, target, n_fft=512, min_freq=0.0):
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
    min_freq : float, default=0.0
        Compare only the bins at or above this fraction of the Nyquist frequency
        (e.g. ``1 / rate``: the band a bandwidth extender must invent); 0 compares all.

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
    diff = diff[..., _band_start(diff.shape[-2], min_freq) :, :]
    # The small constant keeps the square root's gradient finite where the spectra agree exactly.
    return torch.sqrt(torch.mean(diff**2, dim=-2) + 1e-12).mean()


#: FFT sizes and hops of :func:`multi_resolution_stft_loss` for patches of at least
#: ``2 * 2048`` samples; shorter patches divide them all by a power of two.
STFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))

# Magnitudes below this (amplitude, not power) are clamped so that the log and its gradient
# stay finite on silence, as in Parallel WaveGAN (a power floor of 1e-7).
_MAGNITUDE_FLOOR = 1e-7**0.5


def scaled_resolutions(n_times, resolutions=STFT_RESOLUTIONS):
    """The ``(n_fft, hop)`` pairs of :func:`multi_resolution_stft_loss` for patches of ``n_times`` samples.

    Every FFT size and hop is divided by the same power of two, the smallest that
    brings the largest FFT size to at most ``n_times // 2`` (a frame must fit in the
    patch with room for the reflect padding), so the resolutions keep their ratios.

    Parameters
    ----------
    n_times : int
        Patch length in samples, at least 32.
    resolutions : sequence of (int, int), default=STFT_RESOLUTIONS
        ``(n_fft, hop)`` pairs for long patches.

    Returns
    -------
    resolutions : tuple of (int, int)

    Examples
    --------
    >>> from audiosr.neural.losses import scaled_resolutions
    >>> scaled_resolutions(2048)
    ((256, 64), (512, 128), (1024, 256))
    >>> scaled_resolutions(8192)
    ((512, 128), (1024, 256), (2048, 512))
    """
    largest = max(n_fft for n_fft, _ in resolutions)
    factor = 1
    while largest // factor > n_times // 2:
        factor *= 2
    return tuple((max(8, n_fft // factor), max(2, hop // factor)) for n_fft, hop in resolutions)


def _magnitude(x, n_fft, hop):
    window = torch.hann_window(n_fft, periodic=True, dtype=x.dtype, device=x.device)
    spec = torch.stft(x, n_fft, hop_length=hop, window=window, center=True, pad_mode="reflect", return_complex=True)
    return torch.sqrt((spec.real**2 + spec.imag**2).clamp_min(_MAGNITUDE_FLOOR**2))


def multi_resolution_stft_loss(pred, target, resolutions=STFT_RESOLUTIONS, min_freq=0.0):
    """Multi-resolution STFT loss of Parallel WaveGAN (Yamamoto et al. 2020), differentiable.

    For each STFT resolution, the spectral convergence
    ``|| |S(y)| - |S(y_hat)| ||_F / || |S(y)| ||_F`` plus the mean absolute difference
    of the natural-log magnitudes ``mean |log |S(y)| - log |S(y_hat)||``; the loss is
    the mean of these sums over the resolutions (the auxiliary loss of Parallel
    WaveGAN, also used by HiFi-GAN-style bandwidth extenders such as AP-BWE). Unlike
    :func:`log_spectral_loss` it looks at several time-frequency trade-offs at once and
    its linear part (spectral convergence) weighs loud bins most. The STFT: periodic
    Hann window as long as the frame, centred reflect-padded frames; magnitudes are
    clamped at ``sqrt(1e-7)`` so silence gives finite logs and gradients.

    Parameters
    ----------
    pred, target : torch.Tensor of shape (batch, n_times)
        Waveforms, ``n_times >= 32``.
    resolutions : sequence of (int, int), default=STFT_RESOLUTIONS
        ``(n_fft, hop)`` pairs, scaled down to the patch length by
        :func:`scaled_resolutions` (for patches of 2048 samples: FFT sizes 256, 512
        and 1024 with hops of a quarter).
    min_freq : float, default=0.0
        Compare only the bins at or above this fraction of the Nyquist frequency
        (e.g. ``1 / rate``: the band a bandwidth extender must invent, leaving the band
        the input has to a waveform loss); 0 compares all.

    Returns
    -------
    loss : torch.Tensor
        Scalar, dimensionless. For ``pred = a * target`` with ``a > 0`` (and no bin under
        the clamp) it is ``|1 - a| + |log a|``.

    Examples
    --------
    >>> import torch
    >>> from audiosr.neural.losses import multi_resolution_stft_loss
    >>> y = torch.randn(2, 2048, generator=torch.Generator().manual_seed(0))
    >>> float(multi_resolution_stft_loss(y, y))
    0.0
    >>> round(float(multi_resolution_stft_loss(2 * y, y)), 4)  # |1 - 2| + log 2
    1.6931
    """
    total = 0.0
    pairs = scaled_resolutions(pred.shape[-1], resolutions)
    for n_fft, hop in pairs:
        mag_pred, mag_target = _magnitude(pred, n_fft, hop), _magnitude(target, n_fft, hop)
        start = _band_start(mag_pred.shape[-2], min_freq)
        mag_pred, mag_target = mag_pred[..., start:, :], mag_target[..., start:, :]
        convergence = torch.linalg.vector_norm(mag_target - mag_pred, dim=(-2, -1)) / torch.linalg.vector_norm(
            mag_target, dim=(-2, -1)
        )
        log_l1 = torch.mean(torch.abs(torch.log(mag_target) - torch.log(mag_pred)), dim=(-2, -1))
        total = total + (convergence + log_l1).mean()
    return total / len(pairs)


def periodic_line_loss(pred, target, period, min_freq=0.0, neighbours=4):
    """How much more the output stands out at a period's harmonics than the target, differentiable.

    A network that strides by two and shuffles back (a U-Net) is periodically
    time-varying: with a period of ``period`` samples it can paint lines at the
    multiples of ``1 / period`` of the sample rate (``benchmarks/results/findings.md``
    §7). Over a patch of ``n`` samples, a multiple of ``period``, those are exact FFT
    bins, every ``n / period``-th. Each grid bin's prominence is the log of its power
    over the mean power of its ``neighbours`` bins on each side, with powers averaged
    over the batch first; the loss is the mean squared difference of the output's and
    the target's prominences in natural-log units. It is two-sided, so it does not
    ask for notches where the target has none.

    Parameters
    ----------
    pred, target : torch.Tensor of shape (batch, n_times)
        Waveforms; ``n_times`` a multiple of ``period``.
    period : int
        The network's period, in samples of these waveforms.
    min_freq : float, default=0.0
        Score only the grid bins at or above this fraction of the Nyquist frequency
        (e.g. ``1 / rate``: the band a bandwidth extender must invent).
    neighbours : int, default=4
        Bins on each side that a grid bin is compared with, at most a little under
        half the grid's spacing (``n_times / period``).

    Returns
    -------
    loss : torch.Tensor
        Scalar, in squared nepers of power; 0 when the grid spacing leaves no room for
        a neighbourhood (fewer than three bins between grid bins).

    Examples
    --------
    >>> import torch
    >>> from audiosr.neural.losses import periodic_line_loss
    >>> torch.manual_seed(0)
    <torch._C.Generator object at ...>
    >>> y = torch.randn(8, 1024)
    >>> pattern = 2.0 * (torch.arange(1024) % 32 == 0)  # repeats every 32 samples: lines at n / 32
    >>> float(periodic_line_loss(y + pattern, y, period=32)) > 1.0
    True
    >>> float(periodic_line_loss(y + 0.1 * torch.randn(8, 1024), y, period=32)) < 0.1
    True
    """
    n = pred.shape[-1]
    period = int(period)
    if period < 1 or n % period:
        raise ValueError(f"the patch length ({n}) must be a positive multiple of period ({period}).")
    spacing = n // period
    half = n // 2
    neighbours = min(int(neighbours), (spacing - 1) // 2)
    if neighbours < 1:
        return pred.new_zeros(())
    grid = torch.arange(spacing, half, spacing, device=pred.device)
    grid = grid[grid >= _band_start(half + 1, min_freq)]
    if grid.numel() == 0:
        return pred.new_zeros(())
    offsets = torch.cat([torch.arange(-neighbours, 0), torch.arange(1, neighbours + 1)]).to(pred.device)
    around = (grid[:, None] + offsets).clamp(1, half)

    def prominence(x):
        power = torch.fft.rfft(x, dim=-1).abs().square().mean(dim=0)
        floor = power.detach().mean() * 1e-8 + 1e-30  # scale-free: silence gives finite logs
        return torch.log(power[grid] + floor) - torch.log(power[around].mean(dim=-1) + floor)

    return torch.mean((prominence(pred) - prominence(target)) ** 2)
