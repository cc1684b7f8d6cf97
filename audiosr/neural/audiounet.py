"""AudioUNet (Kuleshov, Enam & Ermon 2017) as an estimator."""

from __future__ import annotations

from torch import nn

from .._validation import check_flag, check_rate
from ._base import PatchUpsampler
from .layers import UNet1d, check_unet_params

__all__ = ["AudioUNet", "AudioUNetModule"]


class AudioUNetModule(nn.Module):
    """The U-Net plus the additive residual from its (interpolated) input: ``x + unet(x)``."""

    def __init__(self, filters, kernel_sizes, dropout, antialias=False, icnr=False):
        super().__init__()
        self.unet = UNet1d(filters, kernel_sizes, dropout, bias=True, antialias=antialias, icnr=icnr)

    def forward(self, x):
        return x + self.unet(x[:, None])[:, 0]


class AudioUNet(PatchUpsampler):
    """AudioUNet: a waveform U-Net with a residual connection (Kuleshov et al. 2017).

    The low-rate clip is interpolated to the target length by a cubic spline, as in
    the paper, and cut into patches; the network predicts what to *add* to the
    interpolated patch. ``B = len(filters)`` down blocks (stride-2 convolution,
    LeakyReLU 0.2), a bottleneck with dropout, ``B`` up blocks (convolution, dropout,
    ReLU, sub-pixel x2, concatenated "stacking" skips), a final convolution and
    sub-pixel shuffle, then the additive residual. Trained with the shared base
    (see :class:`~audiosr.neural.NeuralUpsampler`); inference on any length by
    overlap-add of patches that overlap by ``overlap`` of their length.

    Choices, against the paper and its code (kuleshov/audio-super-res):

    * **Widths**: :meth:`paper` uses the 2017 code's filters (128, 256, 512, 512) and
      kernels (65, 33, 17, 9) (the repository's HEAD silently changed the second width to
      384); the defaults are a CPU-sized (16, 32, 64, 64) / (33, 17, 9, 9).
    * **Loss**: ``loss="rmse"`` is the code's objective, the batch mean of per-example
      ``sqrt(mean((y_hat - y)^2) + 1e-6)``; ``"mse"`` is the plain mean squared error
      (:func:`audiosr.neural.losses.waveform_loss`).
    * **Biases**: convolutions have biases (Keras' default in the original), unlike
      TFNet's bias-free blocks.
    * **Low-band passthrough** (ours, ``keep_low_band=True`` by default; off in
      :meth:`paper`): the output below 0.75 of the input's Nyquist frequency is the
      input's own band (:mod:`audiosr.crossover`).
    * **Training**: :meth:`paper` follows the maintainer's advice for multi-speaker
      r = 4 (issue #27: Adam at 3e-4, 50 epochs, patches of 8192) with the code's batch
      of 128 and a constant learning rate.

    Parameters
    ----------
    rate : int, default=2
        Up-sampling factor.
    filters : tuple of int, default=(16, 32, 64, 64)
        Block widths.
    kernel_sizes : tuple of int, default=(33, 17, 9, 9)
        Odd kernel sizes of the blocks.
    dropout : float, default=0.1
        Dropout in the bottleneck and up blocks (the paper: 0.5).
    antialias : bool, default=False
        Resample without aliasing inside the U-Net: a ``[1, 2, 1] / 4`` blur before
        every stride-2 convolution, linear interpolation plus a convolution instead of
        every sub-pixel shuffle (:class:`~audiosr.neural.layers.UNet1d`), at the same
        cost. The paper's network aliases, which leaves faint tones at multiples of
        the output rate over ``2**(len(filters) + 1)``. Models saved before the
        parameter existed load with ``False``.
    icnr : bool, default=False
        Initialise the sub-pixel convolutions so that both phases of every shuffle
        start with the same filter (ICNR, Aitken et al. 2017;
        :func:`~audiosr.neural.layers.icnr_`), at no cost. Only the start differs;
        models saved before the parameter existed load with ``False``.
    loss : {"rmse", "mse"}, default="rmse"
        Training objective, see above.
    spectral_loss : float, default=0.0
        Weight of a log-spectral distance term (:func:`audiosr.neural.losses.log_spectral_loss`,
        in bels) added to the waveform loss. 0 trains on the waveform loss alone, as
        the paper does.
    stft_loss : float, default=0.0
        Weight of the multi-resolution STFT loss of Parallel WaveGAN
        (:func:`audiosr.neural.losses.multi_resolution_stft_loss`) added to the waveform
        loss. 0 (the default, as the paper) leaves it out.
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
        Interpolator that brings the low-rate clip to the target length.
    patch_len : int or None, default=None
        Patch length in target samples, a multiple of ``2**(B + 1)``; ``None`` picks the
        smallest such length of at least 2048 (8192 for :meth:`paper`).
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
        Polynomial decay (power 0.5) over ``max_epochs``, or constant.
    batch_size : int, default=16
        Patches per step and per inference batch.
    max_epochs : int, default=20
        Passes over the training patches.
    max_time : float or None, default=None
        Training budget in seconds (checked before every step); ``None`` for no limit.
    weight_decay : float, default=0.0
        lambda of an L2 penalty on the weights (the code has none).
    early_stopping : bool, default=False
        Stop when the validation SNR stops improving; keep the best weights.
    validation_fraction : float, default=0.1
        Share of the patches held out when ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Smallest validation-SNR improvement (dB) that counts.
    random_state : int, RandomState or None, default=None
        Seed for initialisation, shuffling and dropout.
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    verbose : int, default=0
        >= 1 shows a progress bar.
    warm_start : bool, default=False
        Keep training the fitted network on the next ``fit``.
    checkpoint : str, path-like or None, default=None
        File where the whole training state is written atomically after every epoch;
        a ``fit`` that finds it resumes there, so an interrupted training loses at most
        one epoch (see :class:`~audiosr.neural.NeuralUpsampler`).

    Attributes
    ----------
    module_ : AudioUNetModule
        The trained network.
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
        Length of the low-rate clips seen in ``fit``.
    patch_len_ : int
        The patch length used.
    rate_ : int
        The factor the network was trained for.

    Notes
    -----
    The defaults have 530,594 parameters; :meth:`paper` has 56,411,394 (56.4 M, as the
    reference count of the 2017 code).

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr import AudioUNet, make_pairs
    >>> t = np.arange(32000) / 16000
    >>> X, Y = make_pairs([np.sin(2 * np.pi * 440 * t)], rate=2, segment=512)
    >>> model = AudioUNet(rate=2, filters=(4, 8), kernel_sizes=(9, 5), patch_len=512, max_epochs=1, random_state=0)
    >>> model.fit(X, Y).transform(X).shape
    (62, 512)
    """

    def __init__(
        self,
        rate=2,
        *,
        filters=(16, 32, 64, 64),
        kernel_sizes=(33, 17, 9, 9),
        dropout=0.1,
        antialias=False,
        icnr=False,
        loss="rmse",
        spectral_loss=0.0,
        stft_loss=0.0,
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
        "antialias": False,
        "icnr": False,
        "overlap": 0.5,
    }

    @classmethod
    def paper(cls, rate, **overrides):
        """Kuleshov et al.'s configuration: filters (128, 256, 512, 512), kernels (65, 33, 17, 9).

        Dropout 0.5, RMSE loss, patches of 8192 samples, batch 128, Adam at 3e-4 with a
        constant learning rate, 50 epochs, no low-band passthrough. About 56.4 M parameters;
        meant for a GPU.

        Parameters
        ----------
        rate : int
            Up-sampling factor.
        **overrides
            Any constructor parameter.

        Returns
        -------
        model : AudioUNet
        """
        params = dict(
            filters=(128, 256, 512, 512),
            kernel_sizes=(65, 33, 17, 9),
            dropout=0.5,
            antialias=False,
            icnr=False,
            loss="rmse",
            keep_low_band=False,
            patch_len=8192,
            overlap=0.5,
            batch_size=128,
            learning_rate=3e-4,
            lr_schedule="constant",
            max_epochs=50,
        )
        params.update(overrides)
        return cls(rate=check_rate(rate), **params)

    def _check_params(self):
        super()._check_params()
        check_unet_params(self.filters, self.kernel_sizes, self.dropout)
        for name in ("antialias", "icnr"):
            check_flag(getattr(self, name), name=name)

    def _patch_multiple(self, rate):
        return 2 ** (len(self.filters) + 1)

    def _line_period(self, rate):
        # The U-Net runs at the output rate: its period is 2 ** (B + 1) output samples.
        return 2 ** (len(self.filters) + 1)

    def _module_kwargs(self, inputs, targets, rate):
        return dict(
            filters=tuple(int(f) for f in self.filters),
            kernel_sizes=tuple(int(k) for k in self.kernel_sizes),
            dropout=float(self.dropout),
            antialias=bool(self.antialias),
            icnr=bool(self.icnr),
        )

    def _make_module(self, **kwargs):
        return AudioUNetModule(**kwargs)
