"""Adversarial training of the waveform models: HiFi-GAN-style discriminators and their step.

A generator (any :class:`~audiosr.neural.PatchUpsampler`) trained on a waveform or
spectral regression alone predicts the conditional mean of what it cannot infer from
the input, which for a high band of unpredictable phase is a band too dark and too
smooth. A discriminator that tells reference patches from generated ones penalises
that instead (HiFi-GAN, Kong et al. 2020; applied to bandwidth extension by
HiFi-GAN-BWE, AERO, mdctGAN and AP-BWE, Lu et al. 2024). This module has:

* :class:`MultiPeriodDiscriminator`: HiFi-GAN's sub-discriminators on the waveform
  folded by a period (2, 3, 5, 7 and 11 samples), each a stack of 2-D convolutions
  over the folded axis;
* :class:`MultiResolutionDiscriminator`: UnivNet's (Jang et al. 2021) sub-discriminators
  on STFT magnitudes at several resolutions;
* the least-squares GAN losses and the feature-matching loss of HiFi-GAN;
* :class:`AdversarialTrainer`: the discriminators' optimiser and schedule, the
  discriminator step and the generator's extra loss. The shared training loop
  (:class:`~audiosr.neural.NeuralUpsampler`) calls it once per batch when a model's
  ``adversarial`` weight is above zero, and saves its state in the checkpoint.

The default widths are small, sized for CPU training (182,688 parameters for both
discriminators, weight-norm gains included, whatever the patch length); HiFi-GAN's
are 32 to 1024 channels.
"""

from __future__ import annotations

import contextlib
import copy
import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from .losses import STFT_RESOLUTIONS, scaled_resolutions

__all__ = [
    "AdversarialTrainer",
    "Discriminators",
    "MultiPeriodDiscriminator",
    "MultiResolutionDiscriminator",
    "PeriodDiscriminator",
    "ResolutionDiscriminator",
    "discriminator_loss",
    "feature_matching_loss",
    "generator_loss",
]

#: HiFi-GAN's periods: primes, so that the sub-discriminators see different sample lattices.
PERIODS = (2, 3, 5, 7, 11)

_SLOPE = 0.1  # HiFi-GAN's leaky-ReLU slope in the discriminators


def _conv_stack(x, convs, post):
    """A discriminator's body: LeakyReLU convolutions, then the output convolution; every activation kept."""
    features = []
    for conv in convs:
        x = nn.functional.leaky_relu(conv(x), _SLOPE)
        features.append(x)
    x = post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """One sub-discriminator of the multi-period discriminator (HiFi-GAN).

    The waveform ``(batch, n_times)`` is reflect-padded to a multiple of ``period`` and
    folded to ``(batch, 1, n_times / period, period)``; 2-D convolutions with kernels
    ``(kernel_size, 1)`` then look at samples ``period`` apart only.

    Parameters
    ----------
    period : int
        Folding period in samples.
    channels : tuple of int, default=(16, 32, 64)
        Widths of the strided convolutions (stride 3 along time); a last unstrided one
        keeps the last width, and a 1-channel convolution gives the logits.
    kernel_size : int, default=5
        Kernel length along time.
    """

    def __init__(self, period, channels=(16, 32, 64), kernel_size=5):
        super().__init__()
        self.period = int(period)
        pad = (kernel_size // 2, 0)
        layers, previous = [], 1
        for width in channels:
            layers.append(weight_norm(nn.Conv2d(previous, width, (kernel_size, 1), (3, 1), padding=pad)))
            previous = width
        layers.append(weight_norm(nn.Conv2d(previous, previous, (kernel_size, 1), 1, padding=pad)))
        self.convs = nn.ModuleList(layers)
        self.post = weight_norm(nn.Conv2d(previous, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x):
        """Logits ``(batch, n)`` and the feature maps of every layer."""
        n = x.shape[-1]
        extra = (-n) % self.period
        if extra:
            # Reflect padding needs fewer samples to add than there are.
            x = nn.functional.pad(x.unsqueeze(1), (0, extra), mode="reflect").squeeze(1)
        x = x.reshape(x.shape[0], 1, -1, self.period)
        return _conv_stack(x, self.convs, self.post)


class ResolutionDiscriminator(nn.Module):
    """One sub-discriminator of the multi-resolution discriminator (UnivNet).

    Input: the STFT magnitude of the waveform (periodic Hann window as long as the
    frame, centred reflect-padded frames) as a 1-channel image ``(bins, frames)``;
    2-D convolutions with kernels ``(9, 3)``, all but the last strided by 2 along
    frequency (UnivNet leaves the first one unstrided).

    Parameters
    ----------
    n_fft, hop : int
        Frame length and hop in samples.
    channels : int, default=8
        Width of every convolution (UnivNet: 32).
    n_layers : int, default=4
        Convolutions before the output layer, all but the last strided by 2 along
        frequency.
    """

    def __init__(self, n_fft, hop, channels=8, n_layers=4):
        super().__init__()
        self.n_fft, self.hop = int(n_fft), int(hop)
        # Unlike UnivNet's, the first convolution is strided too: at full resolution it made the
        # discriminators' step several times the cost of a small model's (a CPU budget's concern).
        layers = [weight_norm(nn.Conv2d(1, channels, (9, 3), stride=(2, 1), padding=(4, 1)))]
        for _ in range(max(0, n_layers - 2)):
            layers.append(weight_norm(nn.Conv2d(channels, channels, (9, 3), stride=(2, 1), padding=(4, 1))))
        layers.append(weight_norm(nn.Conv2d(channels, channels, (3, 3), padding=(1, 1))))
        self.convs = nn.ModuleList(layers)
        self.post = weight_norm(nn.Conv2d(channels, 1, (3, 3), padding=(1, 1)))
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True), persistent=False)

    def forward(self, x):
        """Logits ``(batch, n)`` and the feature maps of every layer."""
        spec = torch.stft(
            x,
            self.n_fft,
            hop_length=self.hop,
            window=self.window.to(x.dtype),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        # The small constant keeps the square root's gradient finite at an exactly zero bin.
        x = torch.sqrt(spec.real**2 + spec.imag**2 + 1e-9).unsqueeze(1)
        return _conv_stack(x, self.convs, self.post)


class MultiPeriodDiscriminator(nn.Module):
    """HiFi-GAN's multi-period discriminator: one :class:`PeriodDiscriminator` per period.

    Parameters
    ----------
    periods : tuple of int, default=(2, 3, 5, 7, 11)
        The folding periods.
    channels : tuple of int, default=(16, 32, 64)
        Widths of each sub-discriminator (HiFi-GAN: (32, 128, 512, 1024)).
    kernel_size : int, default=5
        Kernel length along time.

    Examples
    --------
    >>> import torch
    >>> from audiosr.neural.adversarial import MultiPeriodDiscriminator
    >>> outputs = MultiPeriodDiscriminator()(torch.zeros(2, 1024))
    >>> [logits.shape[0] for logits, features in outputs]
    [2, 2, 2, 2, 2]
    """

    def __init__(self, periods=PERIODS, channels=(16, 32, 64), kernel_size=5):
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, channels, kernel_size) for p in periods)

    def forward(self, x):
        """A ``(logits, features)`` pair per sub-discriminator."""
        return [d(x) for d in self.discriminators]


class MultiResolutionDiscriminator(nn.Module):
    """UnivNet's multi-resolution discriminator: one :class:`ResolutionDiscriminator` per STFT resolution.

    Parameters
    ----------
    resolutions : sequence of (int, int), default=STFT_RESOLUTIONS
        ``(n_fft, hop)`` pairs, the same as the multi-resolution STFT loss's.
    patch_len : int or None, default=None
        Length of the waveforms it will see: the resolutions are scaled down to it as
        the loss's are (:func:`audiosr.neural.losses.scaled_resolutions`). ``None``
        uses ``resolutions`` as they are.
    channels : int, default=8
        Width of each sub-discriminator.
    n_layers : int, default=4
        Convolutions of each sub-discriminator before its output layer.
    """

    def __init__(self, resolutions=STFT_RESOLUTIONS, patch_len=None, channels=8, n_layers=4):
        super().__init__()
        if patch_len is not None:
            resolutions = scaled_resolutions(patch_len, resolutions)
        self.discriminators = nn.ModuleList(
            ResolutionDiscriminator(n_fft, hop, channels, n_layers) for n_fft, hop in resolutions
        )

    def forward(self, x):
        """A ``(logits, features)`` pair per sub-discriminator."""
        return [d(x) for d in self.discriminators]


class Discriminators(nn.Module):
    """The multi-period and the multi-resolution discriminators together.

    Parameters
    ----------
    patch_len : int
        Length of the waveforms (scales the STFT resolutions).
    periods : tuple of int, default=(2, 3, 5, 7, 11)
        Periods of the multi-period discriminator; empty to leave it out.
    resolutions : sequence of (int, int), default=STFT_RESOLUTIONS
        Resolutions of the multi-resolution discriminator; empty to leave it out.
    period_channels : tuple of int, default=(16, 32, 64)
        Widths of each period sub-discriminator.
    resolution_channels : int, default=8
        Width of each resolution sub-discriminator.

    Examples
    --------
    >>> import torch
    >>> from audiosr.neural.adversarial import Discriminators
    >>> len(Discriminators(patch_len=2048)(torch.zeros(3, 2048)))  # 5 periods + 3 resolutions
    8
    """

    def __init__(
        self,
        patch_len,
        periods=PERIODS,
        resolutions=STFT_RESOLUTIONS,
        period_channels=(16, 32, 64),
        resolution_channels=8,
    ):
        super().__init__()
        self.mpd = MultiPeriodDiscriminator(periods, period_channels)
        self.mrd = MultiResolutionDiscriminator(resolutions, patch_len, resolution_channels)

    def forward(self, x):
        """A ``(logits, features)`` pair per sub-discriminator (periods first)."""
        return self.mpd(x) + self.mrd(x)


# ------------------------------------------------------------------ losses


def discriminator_loss(real_outputs, fake_outputs):
    """Least-squares GAN loss of the discriminators (Mao et al. 2017, as HiFi-GAN).

    ``sum_k mean((D_k(y) - 1)^2) + mean(D_k(y_hat)^2)`` over the sub-discriminators k.

    Parameters
    ----------
    real_outputs, fake_outputs : list of (torch.Tensor, list)
        ``(logits, features)`` of each sub-discriminator on reference and on generated
        waveforms (the outputs of :class:`Discriminators`).

    Returns
    -------
    loss : torch.Tensor
        Scalar.

    Examples
    --------
    >>> import torch
    >>> from audiosr.neural.adversarial import discriminator_loss
    >>> real = [(torch.ones(2, 3), [])]
    >>> fake = [(torch.full((2, 3), 0.5), [])]
    >>> float(discriminator_loss(real, fake))  # (1 - 1)^2 + 0.5^2
    0.25
    """
    total = 0.0
    for (real, _), (fake, _) in zip(real_outputs, fake_outputs, strict=True):
        total = total + torch.mean((real - 1) ** 2) + torch.mean(fake**2)
    return total


def generator_loss(fake_outputs):
    """Least-squares GAN loss of the generator: ``sum_k mean((D_k(y_hat) - 1)^2)``.

    Parameters
    ----------
    fake_outputs : list of (torch.Tensor, list)
        ``(logits, features)`` of each sub-discriminator on generated waveforms.

    Returns
    -------
    loss : torch.Tensor
        Scalar.

    Examples
    --------
    >>> import torch
    >>> from audiosr.neural.adversarial import generator_loss
    >>> float(generator_loss([(torch.zeros(2, 3), []), (torch.ones(2, 5), [])]))
    1.0
    """
    total = 0.0
    for fake, _ in fake_outputs:
        total = total + torch.mean((fake - 1) ** 2)
    return total


def feature_matching_loss(real_outputs, fake_outputs):
    """HiFi-GAN's feature-matching loss: ``sum_k sum_l mean |D_k^l(y) - D_k^l(y_hat)|``.

    The L1 distance between the discriminators' feature maps on the reference and on
    the generated waveform, summed over the layers l and sub-discriminators k. The
    reference's features are constants (detached).

    Parameters
    ----------
    real_outputs, fake_outputs : list of (torch.Tensor, list)
        ``(logits, features)`` of each sub-discriminator on reference and on generated
        waveforms.

    Returns
    -------
    loss : torch.Tensor
        Scalar.

    Examples
    --------
    >>> import torch
    >>> from audiosr.neural.adversarial import feature_matching_loss
    >>> real = [(None, [torch.ones(2, 4), torch.zeros(3)])]
    >>> fake = [(None, [torch.zeros(2, 4), torch.full((3,), -2.0)])]
    >>> float(feature_matching_loss(real, fake))  # 1 + 2
    3.0
    """
    total = 0.0
    for (_, real_features), (_, fake_features) in zip(real_outputs, fake_outputs, strict=True):
        for real, fake in zip(real_features, fake_features, strict=True):
            total = total + torch.mean(torch.abs(real.detach() - fake))
    return total


@contextlib.contextmanager
def _frozen(module):
    """``module``'s parameters without gradients inside the block (the generator's step)."""
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


class AdversarialTrainer:
    """The discriminators of one ``fit``, their optimiser, and the two halves of an adversarial step.

    The training loop calls, for every batch, :meth:`discriminator_step` with the
    generator's output (detached) and the reference, then adds
    :meth:`generator_loss` to the generator's loss before its own step: each step
    updates the discriminators, then the generator (HiFi-GAN's order).

    Parameters
    ----------
    weight : float
        Weight ``lambda`` of the generator's adversarial terms:
        ``lambda * (L_adv + feature_matching * L_fm)``.
    patch_len : int
        Length of the training patches (scales the STFT resolutions).
    learning_rate : float
        Initial step size of the discriminators' Adam (betas 0.8 and 0.99, as HiFi-GAN).
    device : torch.device
        Where the discriminators live.
    feature_matching : float, default=2.0
        Weight of the feature-matching loss relative to the adversarial loss (HiFi-GAN: 2).
    discriminators : torch.nn.Module or None, default=None
        Returns a list of ``(logits, features)`` for a batch of waveforms; ``None`` builds
        :class:`Discriminators` with their small defaults.

    Attributes
    ----------
    loss_curve : list of float
        Mean discriminator loss of each epoch.
    """

    def __init__(self, weight, patch_len, learning_rate, device, feature_matching=2.0, discriminators=None):
        self.weight = float(weight)
        self.feature_matching = float(feature_matching)
        self.discriminators = (discriminators if discriminators is not None else Discriminators(patch_len)).to(device)
        self.optimizer = torch.optim.Adam(self.discriminators.parameters(), lr=learning_rate, betas=(0.8, 0.99))
        self.scheduler = None
        self.loss_curve = []
        self._total, self._count, self._good_state = 0.0, 0, None

    def schedule(self, factor):
        """Apply the generator's learning-rate schedule ``factor(step)`` to the discriminators too."""
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)

    def start_epoch(self):
        """Remember the discriminators' weights (the roll-back point) and reset the epoch's mean."""
        self.discriminators.train()
        self._total, self._count = 0.0, 0
        self._good_state = copy.deepcopy(self.discriminators.state_dict())

    def discriminator_step(self, fake, real):
        """One Adam step of the discriminators on generated (``fake``) and reference waveforms.

        Returns the loss; a non-finite one is not stepped on.
        """
        loss = discriminator_loss(self.discriminators(real), self.discriminators(fake.detach()))
        value = loss.item()
        self.optimizer.zero_grad(set_to_none=True)
        if math.isfinite(value):
            loss.backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            self._total += value * len(real)
            self._count += len(real)
        return value

    def generator_loss(self, fake, real):
        """``weight * (L_adv + feature_matching * L_fm)`` of the generated waveforms, differentiable in ``fake``."""
        with _frozen(self.discriminators):
            with torch.no_grad():
                real_outputs = self.discriminators(real)
            fake_outputs = self.discriminators(fake)
            adversarial = generator_loss(fake_outputs)
            matching = feature_matching_loss(real_outputs, fake_outputs)
        return self.weight * (adversarial + self.feature_matching * matching)

    def end_epoch(self):
        """Record the epoch's mean loss; roll the discriminators back if their weights turned non-finite.

        Returns True when they were rolled back.
        """
        self.loss_curve.append(self._total / self._count if self._count else float("nan"))
        if all(torch.isfinite(p).all() for p in self.discriminators.parameters()):
            return False
        self.discriminators.load_state_dict(self._good_state)
        return True

    def state_dict(self):
        """What a training checkpoint keeps: weights, optimiser, schedule and loss curve."""
        return {
            "discriminators": self.discriminators.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "loss_curve": list(self.loss_curve),
        }

    def load_state_dict(self, state):
        """Restore :meth:`state_dict` (a resumed ``fit``)."""
        self.discriminators.load_state_dict(state["discriminators"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.loss_curve = [float(v) for v in state["loss_curve"]]
