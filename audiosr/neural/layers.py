"""Building blocks shared by the neural models: sub-pixel shuffle and the AudioUNet body."""

from __future__ import annotations

import numbers

import torch
from torch import nn

__all__ = ["Blur1d", "LinearUpsample1d", "SubPixel1d", "UNet1d", "check_unet_params", "icnr_"]


def check_unet_params(filters, kernel_sizes, dropout):
    """Validate the U-Net hyper-parameters an estimator stores (called from ``fit``)."""
    for name, value in (("filters", filters), ("kernel_sizes", kernel_sizes)):
        if (
            isinstance(value, (str, bytes))
            or not hasattr(value, "__len__")
            or len(value) == 0
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise ValueError(f"{name} must be a non-empty sequence of positive integers, got {value!r}.")
    if len(filters) != len(kernel_sizes):
        raise ValueError(
            f"filters and kernel_sizes must have the same length (one per block), got {len(filters)} and {len(kernel_sizes)}."
        )
    if any(k % 2 == 0 for k in kernel_sizes):
        raise ValueError(f"kernel_sizes must be odd (centred 'same' convolutions), got {kernel_sizes!r}.")
    if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}.")


class SubPixel1d(nn.Module):
    """Trade channels for length: ``(B, r*C, W) -> (B, C, r*W)`` (sub-pixel convolution's shuffle).

    Output sample ``r*w + i`` of channel ``c`` is input channel ``i*C + c`` at ``w``, the 1-D
    form of TensorFlow's ``batch_to_space`` used by Kuleshov et al.
    """

    def __init__(self, factor=2):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        b, rc, w = x.shape
        r = self.factor
        return x.view(b, r, rc // r, w).permute(0, 2, 3, 1).reshape(b, rc // r, w * r)


class Blur1d(nn.Module):
    """The ``[1, 2, 1] / 4`` low-pass along time, per channel, edges repeated.

    Its response is zero at the Nyquist frequency and one at DC: before a stride-2
    convolution it removes what the subsampling would fold back (the convolution is
    linear, so blurring its input is blurring its output); it has no weights.
    """

    def forward(self, x):
        padded = torch.cat([x[..., :1], x, x[..., -1:]], dim=-1)
        return 0.25 * padded[..., :-2] + 0.5 * padded[..., 1:-1] + 0.25 * padded[..., 2:]


class LinearUpsample1d(nn.Module):
    """Twice the length by linear interpolation: ``(B, C, W) -> (B, C, 2W)``.

    Sample ``2w`` is the input's sample ``w`` and sample ``2w + 1`` the mean of samples
    ``w`` and ``w + 1`` (the last repeated). A convolution after it (a "resize
    convolution") cannot give the two phases different filters, which is what paints
    a sub-pixel shuffle's periodic pattern on its output.
    """

    def forward(self, x):
        following = torch.cat([x[..., 1:], x[..., -1:]], dim=-1)
        return torch.stack([x, 0.5 * (x + following)], dim=-1).flatten(-2)


@torch.no_grad()
def icnr_(conv, factor=2):
    """Make a convolution feeding :class:`SubPixel1d` give every phase phase 0's filter, in place.

    The shuffle reads output channel ``i * C + c`` as phase ``i`` of channel ``c``, so the
    ``factor`` blocks of ``C`` output channels get block 0's weights and biases: the
    convolution and shuffle then start as nearest-neighbour repetition followed by one
    filter, which has no periodic pattern (Aitken et al., "Checkerboard artifact free
    sub-pixel convolution", 2017).

    Parameters
    ----------
    conv : torch.nn.Conv1d
        Its output channels must be a multiple of ``factor``.
    factor : int, default=2
        The shuffle's factor.

    Returns
    -------
    conv : torch.nn.Conv1d
        The same convolution.
    """
    channels = conv.out_channels // factor
    for i in range(1, factor):
        conv.weight[i * channels : (i + 1) * channels] = conv.weight[:channels]
        if conv.bias is not None:
            conv.bias[i * channels : (i + 1) * channels] = conv.bias[:channels]
    return conv


class UNet1d(nn.Module):
    """Kuleshov et al.'s AudioUNet body, as TFNet's time and frequency branches use it.

    ``B = len(filters)`` down blocks (stride-2 conv, LeakyReLU 0.2), a stride-2
    bottleneck conv with dropout and LeakyReLU, ``B`` up blocks (conv to twice the
    block's width, dropout, ReLU, sub-pixel x2, concatenation of the mirrored down
    block's output: "stacking" skips), and a final conv to 2 channels with a sub-pixel
    x2 back to one channel at the input length. The input length must be divisible
    by ``2**(B + 1)``.

    Parameters
    ----------
    filters : sequence of int
        Width of each down block; the bottleneck has the last width.
    kernel_sizes : sequence of int
        Odd kernel size of each block (the bottleneck uses the last).
    dropout : float
        Dropout probability in the bottleneck and up blocks.
    bias : bool
        Whether the down and up convolutions have biases (TFNet's code: no).
    in_channels, out_channels : int
        Channels of the input and of the output (1 for a waveform; ``r`` for the
        polyphase components of a signal at ``r`` times the U-Net's rate).
    antialias : bool, default=False
        Resample without aliasing: a :class:`Blur1d` before every stride-2
        convolution, and linear interpolation followed by a convolution
        (:class:`LinearUpsample1d`) instead of every sub-pixel shuffle, at the same
        cost. The published networks alias: their strides fold content and their
        shuffles stamp a pattern that repeats every ``2**(B + 1)`` input samples,
        heard as faint tones at multiples of the input rate over ``2**(B + 1)``.
    icnr : bool, default=False
        Initialise every convolution before a sub-pixel shuffle so that the shuffle's
        two phases start with the same filter ("ICNR", Aitken et al. 2017): the
        network then starts free of the shuffles' periodic pattern, at no cost, and
        training has to learn any difference between the phases. No effect with
        ``antialias=True`` (no shuffles).
    """

    def __init__(
        self,
        filters,
        kernel_sizes,
        dropout=0.5,
        bias=False,
        in_channels=1,
        out_channels=1,
        antialias=False,
        icnr=False,
    ):
        super().__init__()
        self.depth = len(filters)

        def downsampling(*layers):
            return nn.Sequential(Blur1d(), *layers) if antialias else nn.Sequential(*layers)

        def upsampling(in_ch, out_ch, k, bias):
            # Sub-pixel: a convolution to twice the channels, shuffled to twice the length.
            # Anti-aliased: twice the length first, then a convolution (the same cost).
            if antialias:
                return [LinearUpsample1d(), nn.Conv1d(in_ch, out_ch, k, padding=k // 2, bias=bias)]
            return [nn.Conv1d(in_ch, 2 * out_ch, k, padding=k // 2, bias=bias)]

        self.down = nn.ModuleList()
        in_ch = in_channels
        for f, k in zip(filters, kernel_sizes):
            self.down.append(downsampling(nn.Conv1d(in_ch, f, k, stride=2, padding=k // 2, bias=bias), nn.LeakyReLU(0.2)))
            in_ch = f
        k_last = kernel_sizes[-1]
        self.bottleneck = downsampling(
            nn.Conv1d(in_ch, filters[-1], k_last, stride=2, padding=k_last // 2),
            nn.Dropout(dropout),
            nn.LeakyReLU(0.2),
        )
        self.up = nn.ModuleList()
        in_ch = filters[-1]
        for f, k in zip(reversed(filters), reversed(kernel_sizes)):
            shuffle = [] if antialias else [SubPixel1d(2)]
            self.up.append(nn.Sequential(*upsampling(in_ch, f, k, bias), nn.Dropout(dropout), nn.ReLU(), *shuffle))
            in_ch = 2 * f  # f from the up-sampling + f from the skip
        *resize, self.final = upsampling(in_ch, out_channels, 9, True)
        self.resize = resize[0] if resize else nn.Identity()
        self.shuffle = nn.Identity() if antialias else SubPixel1d(2)
        for module in self.modules():
            if isinstance(module, nn.Conv1d):
                nn.init.orthogonal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        # A near-zero last layer starts the network close to "add nothing", which
        # matters with a residual connection (Kuleshov et al. initialise it N(0, 1e-3)).
        nn.init.normal_(self.final.weight, std=1e-3)
        if icnr and not antialias:
            for conv in [block[0] for block in self.up] + [self.final]:
                icnr_(conv)

    def forward(self, x):
        """Map ``(B, in_channels, N)`` to ``(B, out_channels, N)``."""
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        x = self.bottleneck(x)
        for block, skip in zip(self.up, reversed(skips)):
            x = torch.cat([block(x), skip], dim=1)
        return self.shuffle(self.final(self.resize(x)))
