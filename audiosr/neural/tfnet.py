"""TFNet, the time-frequency network of Lim et al. (ICASSP 2018), as the ``DualBranchSR`` estimator."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice, check_flag, check_rate
from ._base import PatchUpsampler, smallest_patch_len
from .layers import UNet1d, check_unet_params

__all__ = ["DualBranchSR", "TFNetModule", "BRANCHES"]

BRANCHES = ("both", "time", "frequency")
FREQUENCY_SCALES = ("linear", "log")
_MAG_EPS = 1e-12  # inside the square root of |F|: keeps |F| and its gradient finite at F = 0
_LEVEL_FLOOR = 1e-4  # RMS below which patches are not scaled up further (-80 dBFS): silence stays silence
# Log-scale frequency branch: magnitudes are floored at 1e-6 (-120 dB of a unit-RMS patch) before
# the log, and the U-Net's output is read as exp(output + _LOG_OFFSET), so that the near-zero
# output of a fresh U-Net adds ~-90 dB instead of a unit magnitude to every bin.
_LOG_FLOOR = 1e-6
_LOG_OFFSET = -10.0
#: ``DualBranchSR.recipe``'s parameters (benchmarks/results/findings.md §11 and §12 chose them;
#: the learning curves' rows and the quality table build on this one dict).
RECIPE = {
    "branches": "time",
    "polyphase": False,
    "filters": (16, 32, 64, 64),
    "kernel_sizes": (33, 17, 9, 9),
    "loss": "rmse",
    "stft_loss": 0.006,
    "high_band_smoothing": 15,
    "remove_lines": True,
}


def _magnitude(spec):
    return torch.sqrt(spec.real**2 + spec.imag**2 + _MAG_EPS)


class TFNetModule(nn.Module):
    """The network: time branch, frequency branch with spectral replicator, spectral fusion.

    Maps a batch of interpolated patches ``(B, N)`` to ``(B, N)``.

    Parameters
    ----------
    patch_len : int
        N, the patch length in target samples.
    rate : int
        Up-sampling factor r; bins ``1 .. N/(2r)`` of the input carry its content.
    filters, kernel_sizes : sequence of int
        Widths and kernels of the U-Net blocks of both branches.
    dropout : float
        Dropout probability inside the U-Nets.
    branches : {"both", "time", "frequency"}
        Which branches run; the single-branch modes are the paper's ablation.
    residual : bool
        Add each branch's input to its U-Net output.
    normalize : bool, default=False
        Divide each patch by its RMS (floored at ``_LEVEL_FLOOR``) before the branches
        and multiply the output back, so the network is level-invariant.
    polyphase : bool, default=False
        Run both U-Nets at the low rate: the time branch reads the ``r`` polyphase
        components of the patch as ``r`` channels of length ``N / r`` and writes ``r``
        channels that a sub-pixel shuffle interleaves back; the frequency branch reads
        the ``N / (2r)`` occupied bins and writes ``r`` channels that, laid end to end,
        are the ``N / 2`` bins the replicator's tiles would cover. ``False``: the
        paper's branches, both at the high rate, the frequency branch on the
        replicated magnitudes.
    frequency_scale : {"linear", "log"}, default="linear"
        What the frequency branch's U-Net reads and writes: magnitudes, or natural-log
        magnitudes (read as ``log max(|F|, 1e-6)``, written as ``exp(u - 10)`` and
        capped at the loudest input bin of the patch), on which a gain is a constant
        offset.
    antialias : bool, default=False
        U-Nets that resample without aliasing (:class:`~audiosr.neural.layers.UNet1d`).
    icnr : bool, default=False
        U-Nets whose sub-pixel convolutions start with equal phases
        (:class:`~audiosr.neural.layers.UNet1d`).
    """

    def __init__(
        self,
        patch_len,
        rate,
        filters,
        kernel_sizes,
        dropout,
        branches,
        residual,
        normalize=False,
        polyphase=False,
        frequency_scale="linear",
        antialias=False,
        icnr=False,
    ):
        super().__init__()
        self.patch_len, self.rate, self.branches, self.residual = patch_len, rate, branches, residual
        self.normalize, self.polyphase, self.frequency_scale = normalize, polyphase, frequency_scale
        channels = rate if polyphase else 1
        if branches in ("both", "time"):
            self.time = UNet1d(
                filters,
                kernel_sizes,
                dropout,
                in_channels=channels,
                out_channels=channels,
                antialias=antialias,
                icnr=icnr,
            )
        if branches in ("both", "frequency"):
            self.freq = UNet1d(filters, kernel_sizes, dropout, out_channels=channels, antialias=antialias, icnr=icnr)
        if branches == "both":
            # w = (tanh(v) + 1) / 2 keeps the per-bin fusion weight in [0, 1]; v = 0 starts at 0.5.
            self.fusion_logit = nn.Parameter(torch.zeros(patch_len // 2 + 1))

    @property
    def fusion_weight(self):
        """Per-bin weight w of the time branch's magnitude in the fusion, shape (N/2 + 1,)."""
        return (torch.tanh(self.fusion_logit) + 1) / 2

    def replicate(self, magnitude):
        """Spectral replicator: split off DC and tile bins ``1 .. N/(2r)`` r times over the N/2 bins."""
        n_low = self.patch_len // (2 * self.rate)
        return magnitude[:, :1], magnitude[:, 1 : 1 + n_low].repeat(1, self.rate)

    def forward(self, x):
        if not self.normalize:
            return self._forward(x)
        level = torch.sqrt(torch.mean(x**2, dim=-1, keepdim=True)).clamp_min(_LEVEL_FLOOR)
        return self._forward(x / level) * level

    def _time_branch(self, x):
        if not self.polyphase:
            return self.time(x[:, None])[:, 0]
        # Channel i holds samples r*t + i: the layout SubPixel1d(r) interleaves back. (No
        # batch size in the shapes: the ONNX export keeps the batch axis dynamic.)
        phases = x.unflatten(1, (-1, self.rate)).transpose(1, 2)
        return self.time(phases).transpose(1, 2).flatten(1)

    def _frequency_unet(self, mag):
        if self.frequency_scale == "linear":
            return self.freq(mag)
        out = torch.exp(self.freq(torch.log(mag.clamp_min(_LOG_FLOOR))) + _LOG_OFFSET)
        # exp() is unbounded: an input unlike the training inputs (another anti-alias filter)
        # could make it explode. No invented bin may be louder than the loudest bin the input has.
        return torch.minimum(out, mag.amax(dim=-1, keepdim=True))

    def _frequency_branch(self, mag_in):
        if not self.polyphase:
            dc, replicated = self.replicate(mag_in)
            return dc, self._frequency_unet(replicated[:, None])[:, 0]
        n_low = self.patch_len // (2 * self.rate)
        # Output channel k is the k-th tile of the replicator's layout: bins k*n_low + 1 ...
        return mag_in[:, :1], self._frequency_unet(mag_in[:, None, 1 : 1 + n_low]).flatten(1)

    def _forward(self, x):
        if self.branches != "frequency":
            z = self._time_branch(x)
            if self.residual:
                z = z + x
            if self.branches == "time":
                return z
        spec_in = self._rfft(x)
        mag_in = _magnitude(spec_in)
        dc, m = self._frequency_branch(mag_in)
        if self.residual:
            # Start from the interpolated input's own spectrum; the replicated copy is
            # what the U-Net reads to predict the high band.
            m = m + mag_in[:, 1:]
        m = torch.cat([dc, m], dim=1)  # DC passthrough: the DC bin never enters the network
        if self.branches == "frequency":
            phase_source = spec_in
        else:
            phase_source = self._rfft(z)
            w = self.fusion_weight
            m = w * _magnitude(phase_source) + (1 - w) * m
        # The phase always comes from a waveform (the time branch, or the input in the
        # frequency-only ablation): unit phasors computed with a floored magnitude, so
        # a zero bin gives a zero phasor rather than NaN.
        phasor = phase_source / _magnitude(phase_source)
        return self._irfft(m * phasor)

    # The FFTs, orthonormal. After prepare_for_onnx, at lengths that are not a power of two,
    # they are products with DFT matrices (non-persistent buffers) instead of torch.fft.

    def _rfft(self, x):
        if hasattr(self, "dft_cos"):
            return torch.complex(x @ self.dft_cos, x @ self.dft_sin)
        return torch.fft.rfft(x, norm="ortho")

    def _irfft(self, spec):
        if hasattr(self, "dft_cos"):
            return spec.real @ self.idft_cos + spec.imag @ self.idft_sin
        return torch.fft.irfft(spec, n=self.patch_len, norm="ortho")

    def prepare_for_onnx(self):
        """Make the network exact in ONNX Runtime (called by :func:`audiosr.export_onnx` on a copy).

        onnxruntime's DFT operator is exact to float32 rounding at power-of-two lengths
        but drifts by up to about 1e-4 at other lengths (e.g. the patches of 288 or 2112
        samples used at rates 3 and 6). At those lengths the FFTs become products with DFT
        matrices computed in float64 (the same transform, to float32 rounding; four
        ``N x (N/2 + 1)`` matrices, 36 MB at N = 2112).
        """
        n = self.patch_len
        if n & (n - 1) == 0:
            return self
        k = torch.arange(n // 2 + 1, dtype=torch.float64)[:, None]
        t = torch.arange(n, dtype=torch.float64)[None, :]
        angle = 2 * math.pi * torch.remainder(k * t, n) / n  # (bins, n); the remainder keeps it accurate
        weight = torch.full((n // 2 + 1, 1), 2.0, dtype=torch.float64)
        weight[0] = weight[-1] = 1.0  # DC and Nyquist appear once in the inverse
        scale = 1 / math.sqrt(n)
        for name, value in (
            ("dft_cos", torch.cos(angle).T * scale),
            ("dft_sin", -torch.sin(angle).T * scale),
            ("idft_cos", weight * torch.cos(angle) * scale),
            ("idft_sin", -weight * torch.sin(angle) * scale),
        ):
            self.register_buffer(name, value.float(), persistent=False)
        return self


class DualBranchSR(PatchUpsampler):
    """TFNet: time-frequency network for audio super-resolution (Lim et al., ICASSP 2018).

    The low-rate clip is brought to the target length by a cheap interpolator and cut
    into patches of ``patch_len`` target samples. Each patch goes through two
    branches, each an AudioUNet-style encoder/decoder:

    * the **time branch** refines the waveform;
    * the **frequency branch** works on the magnitude of the patch's real FFT: the DC
      bin bypasses the network (DC passthrough), and the **spectral replicator** tiles
      the occupied bins ``1 .. N/(2r)`` ``r`` times over the empty high band before the
      U-Net;
    * the **spectral fusion** layer mixes the magnitudes with a trainable weight per
      bin, ``M = w * |F(z_time)| + (1 - w) * m_freq`` with ``w in [0, 1]``, and returns
      ``irfft(M * exp(j * angle(F(z_time))))``.

    ``branches="time"`` and ``"frequency"`` give the paper's ablation rows. Training
    minimises ``||y - y_hat||^2 + lambda ||Theta||^2`` (plus ``spectral_loss`` times the
    log-spectral distance, below) with Adam (see
    :class:`~audiosr.neural.NeuralUpsampler` for the shared training parameters).
    Inference works on any length of at least one patch, by overlap-add of patches
    crossfaded over their overlap.

    Choices where the paper and its official code (moodoki/tfnet) differ or are silent:

    * **Fast architecture** (ours, ``polyphase=True`` and ``overlap=0.125`` by default):
      the paper runs both U-Nets at the high rate, the time branch on the interpolated
      waveform and the frequency branch on the ``N / 2`` replicated bins, although
      both carry only ``1 / r`` of that in information. Here the time branch reads the
      ``r`` polyphase components of the patch (space-to-depth: ``r`` channels of
      ``N / r`` samples) and writes ``r`` channels that a sub-pixel shuffle interleaves
      back, and the frequency branch reads the ``N / (2r)`` occupied bins and writes
      ``r`` channels laid end to end over the ``N / 2`` bins, where the replicator's
      tiles would be (the replicator's layout, learned instead of copied). Each U-Net
      thus runs on ``r`` times fewer positions with the same widths, and inference
      overlaps patches by an eighth instead of a half, with a short crossfade (which
      also averages fewer predictions together: averaging two predictions of a
      high band whose phase cannot be predicted darkens it). With ``r`` samples per
      position the first blocks are wide and the kernels short (the defaults,
      (64, 64, 96, 96) and (9, 9, 5, 5)). At rate 4 the defaults run 4 times faster
      than the former defaults in the paper's layout and reach a better SNR and LSD
      at equal training minutes
      (``benchmarks/results/architecture.md``). :meth:`paper` keeps the published
      layout (``polyphase=False``, ``overlap=0.5``), and so do models saved before
      these parameters existed.
    * **Residual**: the official code has no input-to-output residual (Kuleshov's
      AudioUNet has one; the paper's figure is ambiguous). ``residual=True`` (the
      default here) adds the interpolated input to the time branch's output and that
      input's own magnitude spectrum to the frequency branch's output; with the near-zero
      initialisation of the last layer, training starts from the interpolator's
      output instead of from noise, which is what lets small models trained for
      minutes on a CPU beat the interpolator. :meth:`paper` sets ``residual=False``.
    * **Level normalisation** (ours, ``normalize=True`` by default): each patch is
      divided by its RMS before both branches and the output multiplied back. The
      frequency branch regresses *linear* magnitudes, so without it its absolute
      errors are the same in a pause as in speech and the fused output fills quiet
      passages with noise: on the speech benchmark (``benchmarks/results/lsd_investigation.md``)
      the unnormalised model's LSD in quiet frames was twice the spline's. With it the
      network is level-invariant (down to an RMS of 1e-4). :meth:`paper` sets False.
    * **Training recipe** (ours, ``stft_loss=0.0003`` by default): the paper trains on
      the waveform's squared error alone. Where the high band's phase cannot be
      predicted, that objective is minimised by leaving the band out (the mean of a
      random-phase sinusoid is zero), and the trained networks' high band came out
      nearly as dark as the spline's (-19 dB on the speech benchmark). The default adds
      the multi-resolution STFT loss of Parallel WaveGAN with a small weight: on the
      speech benchmark (speech-multi x4, 8 training minutes) it took LSD from 1.56 to
      1.05 (0.37 of sinc's) for 0.3 dB of SNR (13.87 against 14.19 dB); larger weights
      (0.001 to 0.05) bought no measurable LSD and cost up to 1.2 dB of SNR, and a log-spectral term (``spectral_loss``), a high-band-only comparison
      (``spectral_band="high"``), a log-scale frequency branch
      (``frequency_scale="log"``) and adversarial training did not measurably win
      (``benchmarks/results/recipes.md``). Choose ``stft_loss=0`` for the squared
      error alone.
    * **Low-band passthrough** (ours, ``keep_low_band=True`` by default): below 0.75 of
      the input's Nyquist frequency the output is the input's own band, above it the
      network's, through a linear-phase crossover (:mod:`audiosr.crossover`). On the
      pretrained models it lowered LSD and LSD-LF everywhere and raised SNR for inputs
      made with another anti-alias filter than the training pairs', at some SNR cost on
      inputs made with the very same one (``benchmarks/results/low_band.md``).
      :meth:`paper` sets False.
    * **Frequency-branch input**: linear magnitude, as in the code (no log), of an
      orthonormal FFT (``norm="ortho"``) so that magnitudes stay on the scale of the
      waveform.
    * **Fusion weight**: one weight per rfft bin, ``w = (tanh(v) + 1) / 2``, as in the
      code; the paper's ``w`` multiplies the time branch (the code's ``w`` is the
      paper's ``1 - w``); we follow the paper's formula.
    * **Phase of the frequency-only ablation**: taken from the interpolated input.
    * **Weight decay**: the code leaves it off and no lambda is published;
      ``weight_decay=0`` by default.
    * **NaN guard**: ``|F|`` is computed as ``sqrt(re^2 + im^2 + 1e-12)`` so neither it
      nor the phase's gradient is NaN at a zero bin (the code's known irfft NaNs); a
      step whose loss is still non-finite is skipped with a warning.
    * **Learning rate**: the code uses 1e-4 with polynomial decay (power 0.5), the paper
      (as quoted) 3e-5; :meth:`paper` uses the code's.

    **Patch length.** The replicator needs ``N / (2r)`` to be an integer and each U-Net
    needs its input length divisible by ``2**(B + 1)`` with ``B = len(filters)``. With
    ``polyphase=True`` the U-Nets run on ``N / r`` samples and ``N / (2r)`` bins, so
    ``N`` must be a multiple of ``r * 2**(B + 2)``; in the paper's layout (``N / 2``
    bins) a multiple of ``lcm(2r, 2**(B + 2))``. With ``patch_len=None`` the smallest
    such multiple of at least 2048 (8192 for :meth:`paper`) is used: for B = 4, 2048 at
    rates 2, 4 and 8, 2112 at rate 3 and 2304 at rate 6 (:meth:`paper`: 8192, and 8256
    at rates 3 and 6).

    Parameters
    ----------
    rate : int, default=2
        Up-sampling factor; 2, 3, 4, 6 and 8 are tested.
    filters : tuple of int, default=(64, 64, 96, 96)
        U-Net block widths of each branch (the paper: (64, 128, 256, 256)). The first
        blocks are wide because with ``polyphase`` each position holds ``r`` samples.
    kernel_sizes : tuple of int, default=(9, 9, 5, 5)
        Odd kernel sizes of the blocks (the paper: (65, 33, 17, 9)); short, as each
        low-rate step spans ``r`` samples.
    dropout : float, default=0.1
        Dropout in the U-Nets' bottleneck and up blocks (the paper: 0.5).
    branches : {"both", "time", "frequency"}, default="both"
        Full model or one of the ablations.
    residual : bool, default=True
        See above.
    normalize : bool, default=True
        Divide each patch by its RMS before the network and multiply the output back
        (see above). Not in the paper; :meth:`paper` sets False.
    polyphase : bool, default=True
        Run both branches at the low rate (see "Fast architecture" above); ``False`` is
        the paper's layout, both U-Nets at the high rate. Models saved before the
        parameter existed load with ``False``.
    frequency_scale : {"linear", "log"}, default="linear"
        What the frequency branch regresses: linear magnitudes (the paper's code) or
        natural-log magnitudes (read as ``log |F|``, written back through ``exp``), on
        which a gain is an offset and quiet bins weigh as much as loud ones.
    antialias : bool, default=False
        U-Nets that resample without aliasing: a ``[1, 2, 1] / 4`` blur before every
        stride-2 convolution and linear interpolation plus a convolution instead of
        every sub-pixel shuffle (:class:`~audiosr.neural.layers.UNet1d`), at the same
        cost. The paper's U-Nets alias, which leaves faint tones at multiples of
        ``1 / 8`` of the input's sample rate in the band they invent
        (``benchmarks/results/artifacts.md``). Models saved before the parameter
        existed load with ``False``.
    icnr : bool, default=False
        Initialise the U-Nets' sub-pixel convolutions so that both phases of every
        shuffle start with the same filter (ICNR, Aitken et al. 2017;
        :func:`~audiosr.neural.layers.icnr_`): the untrained network has no periodic
        pattern, at no cost in weights or time. Only the start differs; models
        saved before the parameter existed load with ``False``.
    loss : {"mse", "rmse"}, default="mse"
        The waveform loss (:func:`audiosr.neural.losses.waveform_loss`): the squared
        error of the paper, or AudioUNet's batch mean of per-patch RMS errors, on which
        every patch pulls about equally whatever its level. Models saved before the
        parameter existed load with ``"mse"``.
    spectral_loss : float, default=0.0
        Weight of a log-spectral distance term (:func:`audiosr.neural.losses.log_spectral_loss`,
        in bels) added to the waveform loss (see above). 0 leaves it out: the
        multi-resolution STFT term below did better on the benchmarks.
    stft_loss : float, default=0.0003
        Weight of the multi-resolution STFT loss of Parallel WaveGAN (spectral
        convergence plus log-magnitude L1 at three resolutions scaled to the patch:
        :func:`audiosr.neural.losses.multi_resolution_stft_loss`) added to the waveform
        loss: the library's recipe (see "Training recipe" above). 0 trains on the
        waveform loss alone, as the paper (and :meth:`paper`) does.
    line_loss : float, default=0.0
        Weight of a term that asks the output to stand out at the harmonics of the
        U-Nets' period (``2 ** (len(filters) + 1)`` U-Net steps) no more than the
        target does, above the input's Nyquist frequency
        (:func:`audiosr.neural.losses.periodic_line_loss`), against the faint tonal
        lines described under ``antialias``. 0 (the default) leaves it out.
    spectral_band : {"full", "high"} or float, default="full"
        Band the spectral terms (``spectral_loss``, ``stft_loss``) compare: every bin, or
        only the bins above the input's Nyquist frequency (``1 / rate`` of the output's),
        the band the model must invent; the band the input has is then left to the
        waveform loss alone. A number ``f`` in ``[0, rate)`` starts the band at ``f``
        times the input's Nyquist frequency (``"high"`` is 1): e.g. 1.5 also leaves the
        first half-octave above the cut-off, where harmonics can be continued with
        their phase, to the waveform loss.
    adversarial : float, default=0.0
        Weight ``lambda`` of adversarial training (HiFi-GAN style): when above zero, a
        multi-period and a multi-resolution discriminator
        (:mod:`audiosr.neural.adversarial`) learn to tell the reference patches from the
        model's, each step updates them and then the model, whose loss gains
        ``lambda * (L_adv + 2 L_fm)`` (least-squares GAN loss and feature matching).
        ``loss_curve_`` then includes these terms. 0 (the default) trains without them.
        The discriminators are training state only: the checkpoint keeps them, the
        fitted model does not (a ``warm_start`` fit starts them afresh). Not supported
        on several processes (``fit_distributed`` refuses it).
    discriminator_lr : float or None, default=None
        Initial step size of the discriminators' Adam (betas 0.8, 0.99), on the same
        schedule as the model's; ``None``: ``learning_rate``.
    input_upsampler : {"spline", "sinc", "bicubic"}, default="spline"
        Interpolator that brings the low-rate clip to the target length (the paper: a
        cubic spline).
    patch_len : int or None, default=None
        Patch length N in target samples; see above.
    overlap : float, default=0.125
        Share of a patch that overlaps the next one in inference, in (0, 0.5]: the
        network sees ``1 / (1 - overlap)`` times the signal's length, and consecutive
        outputs are crossfaded over the overlap. Used only by ``transform``; models
        saved before the parameter existed load with 0.5, as they were evaluated.
    keep_low_band : bool or float, default=True
        Low-band passthrough (:mod:`audiosr.crossover`): below a crossover frequency the
        output is the input's own band (its windowed-sinc interpolation), above it the
        network's, joined by a linear-phase crossover 0.1 of the input's Nyquist frequency
        wide. ``True`` puts the crossover at 0.75 of the input's Nyquist frequency, a float
        in (0, 1) at that fraction of it; ``False`` (or 0) returns the network's output as
        it is. Used only by ``transform``, so it can be set on a fitted model with
        ``set_params``. Models saved before the parameter existed load with ``False``, as
        they were evaluated. Measured in ``benchmarks/results/low_band.md``.
    high_band_gain : float, default=1.0
        Gain of the band above the input's Nyquist frequency, the band the network
        invents (:func:`audiosr.crossover.high_band_gain`): below one it trades a darker
        high band (higher LSD) for a waveform closer to the reference (higher SNR), where
        the band cannot be predicted. Used only by ``transform``; the pretrained models
        carry a gain chosen on validation data
        (:func:`audiosr.evaluation.calibrate_bands`).
    high_band_smoothing : int, default=0
        Width, in bins of a 2048-point STFT, of a moving average of the output's spectral
        magnitudes above 1.5 times the input's Nyquist frequency, each bin's phase kept
        (:func:`audiosr.postfilter.smooth_high_band`): it removes the random scatter of an
        invented band's magnitudes (and lines narrower than the width), which a
        log-spectral distance counts as error. 0 (or 1): none. Used only by
        ``transform``; 15 is the setting chosen on speech validation files
        (``benchmarks/results/postfilter_60min.md``).
    remove_lines : bool, default=False
        Subtract the U-Net's lines from the invented band
        (:func:`audiosr.postfilter.remove_period_lines`): the steady tones at the multiples
        of ``1 / 2 ** (B + 1)`` of the output's rate (of the input's rate / 8 at ``B = 4``
        in the high-rate layout) that the strided U-Net adds above 1.5 times the input's
        Nyquist frequency, by notches a few hertz wide. Used only by ``transform``,
        before ``high_band_smoothing``; off in models saved before it existed.
    n_threads : int or None, default=None
        CPU threads of ``transform``, each computing on its own part of every batch
        (see :class:`~audiosr.neural.NeuralUpsampler`); ``None``: the process setting
        (:func:`audiosr.set_inference_threads`), else every CPU the process may use.
        Used only by ``transform``.
    learning_rate : float, default=1e-3
        Adam's initial step size.
    lr_schedule : {"poly", "constant"}, default="poly"
        Polynomial decay with power 0.5 over ``max_epochs``, as TFNet, or constant.
    batch_size : int, default=16
        Patches per step (and per inference batch).
    max_epochs : int, default=20
        Passes over the training patches.
    max_time : float or None, default=None
        Training budget in seconds (checked before every step); ``None`` for no limit.
    weight_decay : float, default=0.0
        lambda of the L2 penalty on the weights.
    early_stopping : bool, default=False
        Stop when the validation SNR stops improving; keep the best weights.
    validation_fraction : float, default=0.1
        Share of the training patches held out when ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Smallest validation-SNR improvement (dB) that counts.
    random_state : int, RandomState or None, default=None
        Seed for initialisation, shuffling and dropout (the global torch RNG is left alone).
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    verbose : int, default=0
        >= 1 shows a progress bar with the loss and validation SNR.
    warm_start : bool, default=False
        Keep training the fitted network on the next ``fit``.
    checkpoint : str, path-like or None, default=None
        File where the whole training state is written atomically after every epoch;
        a ``fit`` that finds it resumes there, so an interrupted training loses at most
        one epoch (see :class:`~audiosr.neural.NeuralUpsampler`).

    Attributes
    ----------
    module_ : TFNetModule
        The trained network (on CPU after unpickling).
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_scores_ : list of float
        Validation SNR (dB) after each epoch (empty without ``early_stopping``).
    discriminator_loss_curve_ : list of float
        Mean discriminator loss of each epoch; only with ``adversarial`` above zero.
    n_iter_ : int
        Epochs run.
    t_ : int
        Training examples (patches or frames) seen by the optimiser over all epochs;
        ``t_ / n_examples`` is the number of epochs reached, partial ones included.
    n_features_in_ : int
        Length of the low-rate clips seen in ``fit`` (``transform`` takes any length of
        at least one patch).
    patch_len_ : int
        The patch length used.
    rate_ : int
        The factor the network was trained for.

    Notes
    -----
    Sizes and CPU speed at rate 4 on 2 cores of an Intel Xeon (``n_threads=2``; training
    at the default batch size; ``python benchmarks/speed.py``, results in
    ``benchmarks/results/speed.md``):

    ==========================  ==========  =====  ==================  ==========  ==========
    configuration               parameters  patch  training samples/s  RTF 16 kHz  RTF 48 kHz
    ==========================  ==========  =====  ==================  ==========  ==========
    defaults                    1,632,273   2048   378,000             0.011       0.034
    former defaults (paper's
    layout, (16, 32, 64, 64))   1,061,157   2048   176,000             0.039       0.12
    ``recipe(4)``               530,066     2048   268,000             0.018       0.050
    ``paper(4)``                28,214,405  8192   11,900              0.69        2.2
    ==========================  ==========  =====  ==================  ==========  ==========

    The defaults thus see an hour of 16 kHz audio in about 2.5 minutes of training and
    up-sample about 90 times faster than real time at 16 kHz (29 times at 48 kHz).
    AP-BWE's generator, timed on one thread of a 2-core AMD EPYC, runs at 0.134 and
    0.434. Trained for 8 minutes on the speech benchmark beside the former defaults,
    they had the better SNR and LSD (14.21 dB / 1.562 against 14.15 dB / 1.704;
    ``benchmarks/results/architecture_sl0_seed2.md``).

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr import DualBranchSR, make_pairs
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(64000) / 16000
    >>> y = np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    >>> X, Y = make_pairs([y], rate=4, segment=512)
    >>> model = DualBranchSR(rate=4, filters=(4, 8), kernel_sizes=(9, 5), patch_len=512, max_epochs=1, random_state=0)
    >>> model.fit(X, Y).transform(X).shape
    (125, 512)
    """

    def __init__(
        self,
        rate=2,
        *,
        filters=(64, 64, 96, 96),
        kernel_sizes=(9, 9, 5, 5),
        dropout=0.1,
        branches="both",
        residual=True,
        normalize=True,
        polyphase=True,
        frequency_scale="linear",
        antialias=False,
        icnr=False,
        loss="mse",
        spectral_loss=0.0,
        stft_loss=0.0003,
        line_loss=0.0,
        spectral_band="full",
        adversarial=0.0,
        discriminator_lr=None,
        input_upsampler="spline",
        patch_len=None,
        overlap=0.125,
        keep_low_band=True,
        high_band_gain=1.0,
        high_band_smoothing=0,
        remove_lines=False,
        n_threads=None,
        learning_rate=1e-3,
        lr_schedule="poly",
        batch_size=16,
        max_epochs=20,
        max_time=None,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        random_state=None,
        device="auto",
        verbose=0,
        warm_start=False,
        checkpoint=None,
    ):
        self.rate = rate
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.dropout = dropout
        self.branches = branches
        self.residual = residual
        self.normalize = normalize
        self.polyphase = polyphase
        self.frequency_scale = frequency_scale
        self.antialias = antialias
        self.icnr = icnr
        self.loss = loss
        self.spectral_loss = spectral_loss
        self.stft_loss = stft_loss
        self.line_loss = line_loss
        self.spectral_band = spectral_band
        self.adversarial = adversarial
        self.discriminator_lr = discriminator_lr
        self.input_upsampler = input_upsampler
        self.patch_len = patch_len
        self.overlap = overlap
        self.keep_low_band = keep_low_band
        self.high_band_gain = high_band_gain
        self.high_band_smoothing = high_band_smoothing
        self.remove_lines = remove_lines
        self.n_threads = n_threads
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start
        self.checkpoint = checkpoint

    _legacy_params = {
        "n_threads": None,
        "loss": "mse",
        "normalize": False,
        "spectral_loss": 0.0,
        "stft_loss": 0.0,
        "line_loss": 0.0,
        "spectral_band": "full",
        "adversarial": 0.0,
        "discriminator_lr": None,
        "keep_low_band": False,
        "high_band_gain": 1.0,
        "high_band_smoothing": 0,
        "remove_lines": False,
        "polyphase": False,
        "frequency_scale": "linear",
        "antialias": False,
        "icnr": False,
        "overlap": 0.5,
    }

    @classmethod
    def paper(cls, rate, **overrides):
        """The paper's configuration: slim AudioUNet branches of (64, 128, 256, 256) filters.

        Kernels (65, 33, 17, 9), dropout 0.5, no residual (as the official code), patches
        of 8192 samples (the nearest valid length at rates where 8192 does not divide,
        e.g. 8256 at rate 6), batch 128, Adam at 1e-4 with polynomial decay (power 0.5),
        200 epochs, no low-band passthrough. About 28.2 M parameters; meant for a GPU.

        Parameters
        ----------
        rate : int
            Up-sampling factor.
        **overrides
            Any constructor parameter, e.g. ``max_epochs=50`` or ``device="cuda"``.

        Returns
        -------
        model : DualBranchSR
        """
        rate = check_rate(rate)
        filters = (64, 128, 256, 256)
        params = dict(
            filters=filters,
            kernel_sizes=(65, 33, 17, 9),
            dropout=0.5,
            residual=False,
            normalize=False,
            polyphase=False,
            frequency_scale="linear",
            antialias=False,
            icnr=False,
            loss="mse",
            spectral_loss=0.0,
            stft_loss=0.0,
            line_loss=0.0,
            spectral_band="full",
            adversarial=0.0,
            keep_low_band=False,
            overlap=0.5,
            patch_len=smallest_patch_len(8192, _patch_multiple(rate, len(filters), polyphase=False)),
            batch_size=128,
            learning_rate=1e-4,
            lr_schedule="poly",
            max_epochs=200,
        )
        params.update(overrides)
        return cls(rate=rate, **params)

    @classmethod
    def recipe(cls, rate, **overrides):
        """The library's quality recipe: the lowest LSD measured, at about 1.5 times the defaults' cost.

        The time branch alone (``branches="time"``), its U-Net at the output's rate
        (``polyphase=False``) with AudioUNet's widths (16, 32, 64, 64) and kernels
        (33, 17, 9, 9); AudioUNet's per-patch RMSE plus a multi-resolution STFT term
        weighted 0.006 (``loss="rmse"``, ``stft_loss=0.006``); and two output settings:
        the U-Net's lines subtracted from the invented band (``remove_lines=True``) and
        its magnitudes smoothed over 15 bins (``high_band_smoothing=15``). Everything
        else is the defaults'. On speech x4 (16 kHz), trained for 60 minutes on one
        CPU thread, it reached SNR 14.47 dB and LSD 0.857, 0.30 of windowed-sinc's,
        where the fast defaults reach 14.00 dB and 0.936 and AudioUNet 14.71 dB and
        1.797 (``benchmarks/results/findings.md`` §12). The paper's two branches
        (``branches="both"``) had 0.04 dB more SNR and 0.014 more LSD at that budget,
        with half the epochs.

        Parameters
        ----------
        rate : int
            Up-sampling factor.
        **overrides
            Any constructor parameter, e.g. ``max_time=3600`` or ``branches="both"``.

        Returns
        -------
        model : DualBranchSR

        Examples
        --------
        >>> from audiosr import DualBranchSR
        >>> model = DualBranchSR.recipe(4, max_time=3600)
        >>> model.branches, model.loss, model.stft_loss, model.high_band_smoothing, model.remove_lines
        ('time', 'rmse', 0.006, 15, True)
        """
        params = dict(RECIPE)
        params.update(overrides)
        return cls(rate=check_rate(rate), **params)

    def _check_params(self):
        super()._check_params()
        check_unet_params(self.filters, self.kernel_sizes, self.dropout)
        check_choice(self.branches, BRANCHES, name="branches")
        check_choice(self.frequency_scale, FREQUENCY_SCALES, name="frequency_scale")
        for name in ("residual", "normalize", "polyphase", "antialias", "icnr"):
            check_flag(getattr(self, name), name=name)

    def _patch_multiple(self, rate):
        return _patch_multiple(rate, len(self.filters), bool(self.polyphase))

    def _line_period(self, rate):
        # U-Net steps per period: 2 ** (B + 1); a step is `rate` output samples in the polyphase layout.
        depth = 2 ** (len(self.filters) + 1)
        return depth * rate if self.polyphase else depth

    def _module_kwargs(self, inputs, targets, rate):
        return dict(
            patch_len=inputs.shape[1],
            rate=rate,
            filters=tuple(int(f) for f in self.filters),
            kernel_sizes=tuple(int(k) for k in self.kernel_sizes),
            dropout=float(self.dropout),
            branches=self.branches,
            residual=bool(self.residual),
            normalize=bool(self.normalize),
            polyphase=bool(self.polyphase),
            frequency_scale=self.frequency_scale,
            antialias=bool(self.antialias),
            icnr=bool(self.icnr),
        )

    def _make_module(self, **kwargs):
        return TFNetModule(**kwargs)

    @property
    def fusion_weight_(self):
        """The learned per-bin fusion weight w (share of the time branch), as a NumPy array.

        Bin k lies at ``k * sr / patch_len_`` Hz. Only for ``branches="both"``.
        """
        if getattr(self, "branches", None) != "both" or not hasattr(self, "module_"):
            raise AttributeError("fusion_weight_ exists only for a fitted model with branches='both'.")
        return self.module_.fusion_weight.detach().cpu().numpy()


def _patch_multiple(rate, depth, polyphase):
    """Patch lengths must be multiples of this.

    The replicator needs ``N / (2r)`` whole bins and each U-Net an input length
    divisible by ``2**(depth + 1)``: ``N / 2`` bins at the high rate give
    ``lcm(2r, 2**(depth + 2))``; with ``polyphase``, ``N / r`` samples and ``N / (2r)``
    bins give ``r * 2**(depth + 2)``.
    """
    if polyphase:
        return rate * 2 ** (depth + 2)
    return math.lcm(2 * rate, 2 ** (depth + 2))
