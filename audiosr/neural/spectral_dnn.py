"""The frame-wise DNN bandwidth extension of Li & Lee (ICASSP 2015), as the ``SpectralDNN`` estimator."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import nn

from .._inference import (
    LOG_POWER_MAX,
    check_frame_length,
    log_power,
    low_band_bins,
    sinc_interpolate,
    spectral_features,
    stft_frames,
)
from .._validation import check_rate
from ._base import NeuralUpsampler, _check_positive_int

__all__ = ["SpectralDNN", "SpectralDNNModule", "imaged_phase", "low_band_bins", "stft", "istft"]

_STD_FLOOR = 0.1  # nats; a feature or target that barely varies in training is not blown up by 1/std
_LN10 = math.log(10.0)


# --------------------------------------------------------------------------- spectral helpers


def _hann(n_fft, like):
    return torch.hann_window(n_fft, periodic=True, dtype=like.dtype, device=like.device)


def stft(x, n_fft):
    """STFT used by :class:`SpectralDNN`: periodic Hann window, hop ``n_fft // 4``, centred frames.

    The PyTorch form of the framing; the estimator itself computes it in NumPy
    (``audiosr._inference.stft_frames``, frames first), so that exported models need no torch.

    Parameters
    ----------
    x : torch.Tensor of shape (n_times,) or (batch, n_times)
        Real signal(s), float32 or float64, at least ``n_fft // 2 + 1`` samples long
        (reflect padding of ``n_fft // 2`` on each side).
    n_fft : int
        Frame length, a multiple of 4.

    Returns
    -------
    S : torch.Tensor of shape (..., n_fft // 2 + 1, 1 + n_times // (n_fft // 4))
        Complex spectrogram.
    """
    return torch.stft(
        x,
        n_fft,
        hop_length=n_fft // 4,
        window=_hann(n_fft, x),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )


def istft(S, n_fft, length):
    """Inverse of :func:`stft` by weighted overlap-add, to exactly ``length`` samples.

    The squared periodic Hann window sums to the constant 3/2 at a hop of ``n_fft // 4``,
    so this is the least-squares inverse with a flat normaliser (away from the first
    and last half frame, where ``torch.istft`` divides by the partial sum): unmodified
    spectrograms come back exactly and modified ones blend smoothly between frames.
    """
    return torch.istft(S, n_fft, hop_length=n_fft // 4, window=_hann(n_fft, S.real), center=True, length=length)


def imaged_phase(x, rate, n_fft):
    """Phase of the STFT of the zero-stuffed signal, whose high band holds the mirror images of the low band.

    Zero-stuffing (``x_up[rate * k] = x[k]``, zeros elsewhere) maps the spectrum
    ``X(w)`` of the low-rate signal to ``X(rate * w)``: the band below the input's Nyquist
    frequency is repeated ``rate`` times, alternately mirrored, over the high-rate band.
    At ``rate=2`` bin ``n_fft/2 - j`` is exactly the complex conjugate of bin ``j`` in
    every frame, i.e. its phase is mirrored. This is the "imaged" phase of Li & Lee,
    computed with the same framing as the magnitudes it goes with.

    Parameters
    ----------
    x : torch.Tensor of shape (n_times,) or (batch, n_times)
        Low-rate signal(s).
    rate : int
        Up-sampling factor.
    n_fft : int
        STFT frame length at the high rate (a multiple of 4).

    Returns
    -------
    phase : torch.Tensor of shape (..., n_fft // 2 + 1, 1 + n_times * rate // (n_fft // 4))
        Phases in radians (0 where the image is exactly zero).
    """
    up = x.new_zeros(*x.shape[:-1], x.shape[-1] * rate)
    up[..., ::rate] = x
    return torch.angle(stft(up, n_fft))


# --------------------------------------------------------------------------- module


class SpectralDNNModule(nn.Module):
    """The network: standardise the context features, MLP, de-standardise to high-band ln power.

    Maps a batch of features ``(B, context * k_c)`` (ln power of the low band of
    ``context`` consecutive frames) to ``(B, n_fft // 2 + 1 - k_c)``, the ln power of
    the centre frame's high band. The standardisation statistics are buffers (set
    by :class:`SpectralDNN` from the training frames), so they travel in the
    ``state_dict``.

    Parameters
    ----------
    n_fft : int
        STFT frame length at the high rate.
    rate : int
        Up-sampling factor; fixes ``k_c = n_fft // (2 * rate) + 1``.
    context : int
        Odd number of frames in the input window.
    hidden_layer_sizes : tuple of int
        Widths of the ReLU hidden layers.
    dropout : float
        Dropout after each hidden layer.
    """

    def __init__(self, n_fft, rate, context, hidden_layer_sizes, dropout):
        super().__init__()
        self.n_fft, self.rate, self.context = n_fft, rate, context
        self.n_low = low_band_bins(n_fft, rate)
        self.n_high = n_fft // 2 + 1 - self.n_low
        n_in = context * self.n_low
        layers, width = [], n_in
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, self.n_high))
        self.mlp = nn.Sequential(*layers)
        self.register_buffer("in_mean", torch.zeros(n_in))
        self.register_buffer("in_std", torch.ones(n_in))
        self.register_buffer("out_mean", torch.zeros(self.n_high))
        self.register_buffer("out_std", torch.ones(self.n_high))

    def set_standardization(self, in_mean, in_std, out_mean, out_std):
        """Copy the training statistics into the buffers (stds floored at 0.1 nat)."""
        with torch.no_grad():
            self.in_mean.copy_(torch.as_tensor(in_mean))
            self.in_std.copy_(torch.as_tensor(in_std).clamp_min(_STD_FLOOR))
            self.out_mean.copy_(torch.as_tensor(out_mean))
            self.out_std.copy_(torch.as_tensor(out_std).clamp_min(_STD_FLOOR))

    def forward(self, features):
        z = (features - self.in_mean) / self.in_std
        return self.mlp(z) * self.out_std + self.out_mean


# --------------------------------------------------------------------------- estimator


class SpectralDNN(NeuralUpsampler):
    """Frame-wise DNN bandwidth extension (Li & Lee, ICASSP 2015), the "DNN" baseline of Kuleshov et al.

    A multilayer perceptron maps the log power spectrum of the low band, over a
    window of ``context`` consecutive STFT frames, to the log power spectrum of the
    high band of the centre frame. The output keeps the input's low band and gets
    the predicted high-band magnitudes with a phase *imaged* (mirrored) from the low
    band; an inverse STFT gives the waveform. It is the comparison row "DNN" of
    Kuleshov et al. (2017) and of the TFNet paper, which used the reimplementation
    in zayd/deep-audio-super-resolution; see :class:`~audiosr.neural.NeuralUpsampler`
    for the shared training parameters.

    **Pipeline.** The low-rate clip is brought to the target length by windowed-sinc
    interpolation (:class:`~audiosr.SincUpsampler`, whose high band is empty but for
    the filter's transition band) and
    analysed with an STFT of ``n_fft`` samples at the target rate, a periodic Hann
    window, hop ``n_fft // 4`` and centred, reflect-padded frames
    (:func:`stft`). Bins ``[0, k_c)`` with ``k_c = n_fft // (2 * rate) + 1`` form the low
    band (DC up to the input's Nyquist frequency, included), the other
    ``n_fft // 2 + 1 - k_c`` bins the high band (128 bins at rate 2 and n_fft 512, as in
    Kuleshov's code).

    * **Features**: ``ln(|S|^2 + 1e-10)`` of the low band of ``context`` frames (the
      centre frame and ``(context - 1) / 2`` on each side; beyond the clip's ends the
      first or last frame is repeated), flattened frame by frame.
    * **Target**: ``ln(|S|^2 + 1e-10)`` of the high band of the centre frame of the
      reference ``y``'s STFT, same framing.
    * **Standardisation**: per-dimension mean and standard deviation of the features
      and of the targets over all training frames (stds floored at 0.1 nat), stored
      as module buffers. It is a simpler stand-in for the PCA whitening of inputs and
      outputs in Kuleshov's reimplementation: it equalises scales but does not
      decorrelate (a linear first layer can learn any rotation anyway).
    * **Loss**: mean squared error in standardised target units, i.e. the MSE on
      whitened targets of the original. Early stopping scores the validation frames
      by the negative mean over frames of the RMS over high-band bins of the
      log10-power difference (bels, like :func:`audiosr.metrics.lsd_hf`, but at this
      model's ``n_fft``), label ``"val_neg_lsd"``.
    * **Network**: ``Linear -> ReLU -> Dropout`` per entry of ``hidden_layer_sizes``,
      then a linear output layer; PyTorch's default initialisation.
    * **Resynthesis**: low-band bins are copied unchanged from the interpolated
      input's STFT; high-band bin ``k`` gets the magnitude ``sqrt(max(exp(p) - 1e-10, 0))``
      of the prediction ``p`` (capped at ``p <= 50`` so an extrapolating network
      cannot overflow) and the phase of bin ``k`` of the STFT of the zero-stuffed input
      (:func:`imaged_phase`), whose high band holds the mirrored images of the low
      band, aligned with the same frames. A weighted overlap-add inverse STFT
      (:func:`istft`) returns exactly ``n_times * rate`` samples.
    * **Low-band restoration**: overlap-adding modified frames leaks a little of the
      synthesised high band below the cut-off (about -35 dB next to it, -55 dB a few
      bins further), so finally the clip's whole-signal spectrum (one rfft) below
      the input's Nyquist frequency is reset to the interpolated input's. The output
      then carries the input's band exactly: low-pass it and you get the low-passed
      sinc interpolation. The STFTs, this copy and the inverses run in float64 (the
      network in float32), so "exactly" means to float64 precision for float64 input.
      ``keep_low_band`` (the crossover every neural model shares, :mod:`audiosr.crossover`)
      then changes next to nothing, but it is applied the same way.
    * **Training frames** are all frames of all clips, materialised as float32
      features of ``context * k_c`` values (1,161 at the defaults and rate 2, 4.6 kB a
      frame; an hour of 16 kHz audio is 450,000 frames, 2.1 GB). With
      ``early_stopping`` the base class holds out a random share of *frames*; they
      overlap in time with training frames, so the validation score is optimistic.
      Hold out whole clips yourself for an honest estimate.
    * **Inference** runs clip by clip; the frames of a clip go through the network
      ``batch_size`` at a time, so the network's memory is bounded by the batch.
      Clips must be at least one frame long: ``ceil(n_fft / rate)`` low-rate samples.

    Choices where the sources differ or are silent:

    * **Phase**: Li & Lee's listening test imaged the phase from the narrowband
      signal; Kuleshov's code used the reference's ("cheated") phase, which does not
      exist at inference time. Imaged phase is used here.
    * **Low-band features**: Kuleshov's code took them from the wideband STFT of the
      *reference* ("assume our filter is perfect"); here they come from the actual
      input, interpolated to the target rate, so the model never sees information
      it would not have at test time. Analysing the interpolated signal with the
      target-rate window gives the same time span and frequency grid as their
      narrowband STFT (256 samples at 8 kHz = 512 at 16 kHz).
    * **Window and hop**: Hann with hop ``n_fft / 4`` instead of their Hamming with hop
      ``n_fft / 2``, because squared Hann sums to a constant at that hop (exact,
      flat-normalised overlap-add; at hop ``n_fft / 2`` ``torch.istft`` would divide by
      an envelope that oscillates between 0.5 and 1, modulating a modified
      spectrogram). This doubles the number of frames.
    * **Context padding**: repetition of the edge frames rather than their zero
      padding, which in the log domain would mean a spurious power of 1.
    * **Sizes**: the original MLP has four hidden layers of 2048 (:meth:`paper`);
      the default here, two layers of 512, trains about 3,500 frames a second on two
      CPU cores (measured), so an epoch over an hour of audio takes about 2 minutes.

    Parameters
    ----------
    rate : int, default=2
        Up-sampling factor; 2, 3, 4, 6 and 8 are tested.
    n_fft : int, default=512
        STFT frame length in target samples, a multiple of 4 and at least ``2 * rate``
        (512 is Kuleshov's value at 16 kHz: 32 ms).
    context : int, default=9
        Odd number of frames in the input window (9 = centre +- 4, as the original).
    hidden_layer_sizes : tuple of int, default=(512, 512)
        Hidden layer widths (an int means one layer, as in MLPRegressor); the
        original: (2048, 2048, 2048, 2048).
    dropout : float, default=0.0
        Dropout probability after each hidden layer (the original has none).
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
    n_threads : int or None, default=None
        CPU threads of ``transform``, each computing on its own part of every batch
        (see :class:`~audiosr.neural.NeuralUpsampler`); ``None``: the process setting
        (:func:`audiosr.set_inference_threads`), else every CPU the process may use.
        Used only by ``transform``.
    learning_rate : float, default=1e-3
        Adam's initial step size (Keras' default, as the original).
    lr_schedule : {"constant", "poly"}, default="constant"
        Constant, as the original, or polynomial decay with power 0.5 over ``max_epochs``.
    batch_size : int, default=128
        Frames per step and per inference batch (128 in the original).
    max_epochs : int, default=20
        Passes over the training frames.
    max_time : float or None, default=None
        Training budget in seconds (checked before every step); ``None`` for no limit.
    weight_decay : float, default=0.0
        lambda of the L2 penalty on the weights.
    early_stopping : bool, default=False
        Stop when the validation score (negative high-band LSD) stops improving;
        keep the best weights.
    validation_fraction : float, default=0.1
        Share of the training frames held out when ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Smallest improvement of the validation score (bels) that counts.
    random_state : int, RandomState or None, default=None
        Seed for initialisation, shuffling and dropout (the global torch RNG is left alone).
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    verbose : int, default=0
        >= 1 shows a progress bar with the loss and validation score.
    warm_start : bool, default=False
        Keep training the fitted network on the next ``fit`` (the standardisation
        statistics of the first fit are kept).
    checkpoint : str, path-like or None, default=None
        File where the whole training state is written atomically after every epoch;
        a ``fit`` that finds it resumes there, so an interrupted training loses at most
        one epoch (see :class:`~audiosr.neural.NeuralUpsampler`).

    Attributes
    ----------
    module_ : SpectralDNNModule
        The trained network with its standardisation buffers (on CPU after unpickling).
        Its ``n_fft`` and ``context`` are the ones used in ``fit``; changing the
        parameters afterwards takes effect at the next ``fit``.
    loss_curve_ : list of float
        Mean training loss (standardised units) of each epoch.
    validation_scores_ : list of float
        Validation score (negative high-band LSD in bels) after each epoch (empty
        without ``early_stopping``).
    best_validation_score_ : float
        Best validation score (only with ``early_stopping``).
    n_iter_ : int
        Epochs run.
    t_ : int
        Training examples (patches or frames) seen by the optimiser over all epochs;
        ``t_ / n_examples`` is the number of epochs reached, partial ones included.
    n_features_in_ : int
        Length of the low-rate clips seen in ``fit`` (``transform`` takes any length of
        at least ``ceil(n_fft / rate)``).
    rate_ : int
        The factor the network was trained for.

    See Also
    --------
    DualBranchSR : TFNet, a waveform model.

    Notes
    -----
    Parameter counts at n_fft 512 and rate 2 (1,161 inputs, 128 outputs): 923,264
    with the default ``(512, 512)`` and 15,231,104 with :meth:`paper`'s four layers of
    2048. The input layer has ``context * k_c`` inputs and the output layer
    ``n_fft // 2 + 1 - k_c`` outputs, so the counts change with the rate: 661,184 and
    14,182,592 at rate 4, 530,144 and 13,658,336 at rate 8.
    A clip of ``L * rate`` target samples has ``1 + L * rate // (n_fft // 4)`` frames.

    References: K. Li and C.-H. Lee, "A deep neural network approach to speech
    bandwidth expansion", ICASSP 2015; V. Kuleshov, S. Z. Enam and S. Ermon, "Audio
    super resolution using neural networks", ICLR workshop 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from audiosr import SpectralDNN, make_pairs
    >>> t = np.arange(16000) / 16000
    >>> y = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 30))
    >>> X, Y = make_pairs([y], rate=2, segment=2048)
    >>> model = SpectralDNN(rate=2, n_fft=256, hidden_layer_sizes=(64,), max_epochs=2, random_state=0)
    >>> model.fit(X, Y).transform(X).shape
    (7, 2048)
    """

    _validation_label = "val_neg_lsd"

    def __init__(
        self,
        rate=2,
        *,
        n_fft=512,
        context=9,
        hidden_layer_sizes=(512, 512),
        dropout=0.0,
        keep_low_band=True,
        high_band_gain=1.0,
        high_band_smoothing=0,
        n_threads=None,
        learning_rate=1e-3,
        lr_schedule="constant",
        batch_size=128,
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
        self.n_fft = n_fft
        self.context = context
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.keep_low_band = keep_low_band
        self.high_band_gain = high_band_gain
        self.high_band_smoothing = high_band_smoothing
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

    _legacy_params = {"n_threads": None, "keep_low_band": False, "high_band_gain": 1.0, "high_band_smoothing": 0}

    @classmethod
    def paper(cls, rate, **overrides):
        """Kuleshov's reimplementation of Li & Lee: four hidden layers of 2048 on 9 frames.

        n_fft 512 (32 ms at 16 kHz), context 9, hidden layers (2048, 2048, 2048, 2048),
        no dropout, Adam at 1e-3 (constant), batch 128, up to 100 epochs with early
        stopping after 8 epochs without improvement (``tol=0``) on 10 % of the frames, no
        low-band passthrough.
        15.2 M parameters at rate 2 (14.2 M at rate 4); meant for a GPU.

        Parameters
        ----------
        rate : int
            Up-sampling factor.
        **overrides
            Any constructor parameter, e.g. ``max_epochs=20`` or ``device="cuda"``.

        Returns
        -------
        model : SpectralDNN
        """
        rate = check_rate(rate)
        params = dict(
            n_fft=512,
            context=9,
            hidden_layer_sizes=(2048, 2048, 2048, 2048),
            dropout=0.0,
            keep_low_band=False,
            learning_rate=1e-3,
            lr_schedule="constant",
            batch_size=128,
            max_epochs=100,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=8,
            tol=0.0,
        )
        params.update(overrides)
        return cls(rate=rate, **params)

    # ------------------------------------------------------------------ parameters

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if (
            isinstance(sizes, (str, bytes))
            or not hasattr(sizes, "__len__")
            or len(sizes) == 0
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in sizes)
        ):
            raise ValueError(
                f"hidden_layer_sizes must be a positive integer or a non-empty sequence of them, got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(s) for s in sizes)

    def _check_params(self):
        rate = check_rate(self.rate)
        n_fft = self.n_fft
        if isinstance(n_fft, bool) or not isinstance(n_fft, numbers.Integral) or n_fft < 8 or n_fft % 4:
            raise ValueError(
                f"n_fft must be a multiple of 4 that is >= 8 (the hop is n_fft // 4), got {n_fft!r}; 512 is the usual value at 16 kHz."
            )
        if n_fft < 2 * rate:
            raise ValueError(
                f"n_fft={n_fft} is too small for rate={rate}: it must be >= 2 * rate = {2 * rate} so the low band holds more than the DC bin."
            )
        context = self.context
        if isinstance(context, bool) or not isinstance(context, numbers.Integral) or context < 1 or context % 2 == 0:
            raise ValueError(
                f"context must be an odd positive integer (centre frame +- (context - 1) / 2), got {context!r}."
            )
        self._hidden_sizes()
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, numbers.Real) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}.")

    # ------------------------------------------------------------------ training data

    @staticmethod
    def _interpolate(X, rate):
        return sinc_interpolate(X, rate)

    def _training_data(self, X, y, rate):
        n_fft, context = int(self.n_fft), int(self.context)
        if (
            self.warm_start
            and hasattr(self, "module_")
            and (self.module_.n_fft, self.module_.context) != (n_fft, context)
        ):
            raise ValueError(
                f"warm_start: the model was trained with n_fft={self.module_.n_fft} and context={self.module_.context}, "
                f"not n_fft={n_fft} and context={context}; set warm_start=False to start over."
            )
        check_frame_length(X.shape[1], rate, n_fft)
        n_low = low_band_bins(n_fft, rate)
        z = self._interpolate(X, rate).astype(np.float32, copy=False)
        # The same features as at inference (audiosr._inference), clip by clip.
        inputs = np.concatenate([spectral_features(z_i, n_fft, context, n_low) for z_i in z])
        targets = np.concatenate([log_power(stft_frames(y_i, n_fft)[:, n_low:]) for y_i in y]).astype(np.float32)
        return inputs, targets

    def _module_kwargs(self, inputs, targets, rate):
        return dict(
            n_fft=int(self.n_fft),
            rate=int(rate),
            context=int(self.context),
            hidden_layer_sizes=self._hidden_sizes(),
            dropout=float(self.dropout),
        )

    def _make_module(self, **kwargs):
        return SpectralDNNModule(**kwargs)

    def _init_module(self, module, inputs, targets):
        # Standardisation statistics of the training frames, kept as module buffers.
        in_std, in_mean = torch.std_mean(torch.from_numpy(inputs), dim=0, correction=0)
        out_std, out_mean = torch.std_mean(torch.from_numpy(targets), dim=0, correction=0)
        module.set_standardization(in_mean, in_std, out_mean, out_std)

    # ------------------------------------------------------------------ loss and score

    def _loss(self, pred, target):
        return torch.mean(((pred - target) / self.module_.out_std) ** 2)

    def _score_batch(self, pred, target):
        """Negative mean over frames of the RMS over high-band bins of the log10-power error (bels)."""
        diff = (pred.clamp(max=LOG_POWER_MAX) - target) / _LN10
        return -float(diff.pow(2).mean(dim=-1).sqrt().mean())

    # ------------------------------------------------------------------ inference

    def _inference_config(self):
        return {
            "pipeline": "frames",
            "n_fft": int(self.module_.n_fft),
            "context": int(self.module_.context),
            "batch_size": _check_positive_int(self.batch_size, "batch_size"),
        }
