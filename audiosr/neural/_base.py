"""The training base shared by every neural estimator: one loop, one pickling scheme.

A subclass says how to turn ``(X, y)`` into training examples, how to build its
``torch.nn.Module`` and how to up-sample clips with it; :class:`NeuralUpsampler`
does the rest (validation, seeding, device placement, Adam with a decay schedule,
weight decay, early stopping, non-finite-loss guard, progress bar, warm start,
pickling that survives a GPU-to-CPU move). :class:`PatchUpsampler` adds what the
waveform models (TFNet, AudioUNet) share: training on fixed-length patches of the
interpolated input, and inference on any length by windowed overlap-add.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import json
import math
import os
import time
import warnings

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._inference import (
    INPUT_UPSAMPLERS,
    check_patch_length,
    grid_geometry,
    interpolate,
    min_input_length,
    stream_geometry,
    upsample_with_network,
)
from ..threads import check_threads
from .._validation import check_choice, check_clips, check_flag, check_rate, check_target
from ..base import BaseUpsampler
from ..crossover import check_high_band_gain, check_keep_low_band
from ..postfilter import check_high_band_smoothing
from ..io import atomic_output
from .distributed import LOCAL
from .losses import WAVEFORM_LOSSES, log_spectral_loss, multi_resolution_stft_loss, periodic_line_loss, waveform_loss

__all__ = ["NeuralUpsampler", "PatchUpsampler", "grid_geometry", "resolve_device", "smallest_patch_len"]

LR_SCHEDULES = ("constant", "poly")
#: Bands the spectral loss terms compare: all bins, or those above the input's Nyquist frequency.
# Named bands of the spectral terms: where they start, in multiples of the input's Nyquist frequency.
SPECTRAL_BANDS = {"full": 0.0, "high": 1.0}


def resolve_device(device):
    """Map ``"auto"`` to CUDA when available, else CPU; check other names.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...

    Returns
    -------
    device : torch.device
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available here; use device='cpu' or 'auto'.")
    return dev


@contextlib.contextmanager
def _torch_threads(n):
    """torch's intra-op threads set to ``n`` inside the block, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def smallest_patch_len(minimum, multiple_of):
    """Smallest multiple of ``multiple_of`` that is >= ``minimum``."""
    return int(math.ceil(minimum / multiple_of) * multiple_of)


def _check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_fraction(value, name, low=0.0, high=1.0, low_open=False, high_open=False):
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be a number in {lo}{low}, {high}{hi}, got {value!r}.")
    return float(value)


def _batch_snr(pred, target):
    """Mean per-example SNR in dB of two (n, length) tensors (the validation score)."""
    num = target.pow(2).sum(dim=-1).clamp_min(1e-16)
    den = (target - pred).pow(2).sum(dim=-1).clamp_min(1e-16)
    return float((10 * torch.log10(num / den)).mean())


def _data_digest(*arrays):
    """Hex digest of the shapes and bytes of the training arrays."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(repr(array.shape).encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def checkpoint_progress(path):
    """Where a training ``checkpoint`` file stands, or None when there is none (or it is unreadable).

    Returns
    -------
    progress : dict or None
        ``{"epoch": epochs finished, "elapsed": seconds trained so far}``. For saying
        where a resumed run starts: ``fit`` still checks that the file fits the run.
    """
    if not os.path.exists(path):
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        return {"epoch": int(state["epoch"]), "elapsed": float(state.get("elapsed", 0.0))}
    except Exception:  # fit() says what is wrong with the file
        return None


class _Checkpoint:
    """Training state written atomically after every epoch, so an interrupted fit loses at most one.

    The file is a PyTorch file of tensors and plain values, read back with
    ``weights_only=True``. A fingerprint of the estimator's parameters and of the
    training data guards against resuming another run. It also keeps the seconds
    trained so far (``elapsed``), so that ``max_time`` is a budget for all the runs
    that resume it together.
    """

    #: What ``track`` (the loop's state) contributes to the file.
    _TRACKED = ("best_score", "best_state", "stale", "stopped", "epoch", "elapsed")

    _IGNORED = {
        "verbose", "checkpoint", "device", "warm_start", "max_time",
        "keep_low_band", "high_band_gain", "high_band_smoothing", "remove_lines",
    }  # fmt: skip

    def __init__(self, path, estimator, inputs, targets):
        self.path = os.fspath(path)
        self.estimator = estimator
        params = {k: repr(v) for k, v in sorted(estimator.get_params(deep=False).items()) if k not in self._IGNORED}
        self.fingerprint = json.dumps(
            {"estimator": type(estimator).__name__, "params": params, "data": _data_digest(inputs, targets)}
        )

    def load(self):
        """The saved state, or None when there is no checkpoint file yet."""
        if not os.path.exists(self.path):
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a foreign or damaged file
            raise ValueError(f"checkpoint '{self.path}' cannot be read ({exc}); delete it to start over.") from None
        if not isinstance(state, dict) or not self._fits(state.get("fingerprint")):
            raise ValueError(
                f"checkpoint '{self.path}' belongs to another configuration or other training data; "
                "delete it or choose another checkpoint path to start over."
            )
        return state

    def _fits(self, fingerprint):
        """Whether a saved fingerprint is this run's.

        A checkpoint written before a parameter existed lacks it; it fits a run that sets
        the parameter to the value such files behave with (the estimator's
        ``_legacy_params``), as a saved model does.
        """
        if fingerprint == self.fingerprint:
            return True
        try:
            saved, current = json.loads(fingerprint), json.loads(self.fingerprint)
        except (TypeError, ValueError):
            return False
        if not isinstance(saved, dict) or not isinstance(saved.get("params"), dict):
            return False
        legacy = getattr(self.estimator, "_legacy_params", {})
        params = {k: repr(v) for k, v in legacy.items() if k in current["params"]}
        saved["params"] = {**params, **saved["params"]}
        return saved == current

    def save(self, seed, module, optimizer, scheduler, rng, device, track, adversary=None):
        est = self.estimator
        state = {
            "fingerprint": self.fingerprint,
            "seed": int(seed),
            "module": module.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "numpy_rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "loss_curve": list(est.loss_curve_),
            "validation_scores": list(est.validation_scores_),
            "n_iter": int(est.n_iter_),
            "t": int(est.t_),
            **{k: track[k] for k in self._TRACKED},
        }
        if adversary is not None:
            state["adversary"] = adversary.state_dict()
        state["best_score"] = float(state["best_score"])
        state["elapsed"] = float(state["elapsed"])
        with atomic_output(self.path) as tmp:
            torch.save(state, tmp)


class NeuralUpsampler(BaseUpsampler):
    """Base class of the trained up-samplers (PyTorch inside).

    Subclasses define ``__init__`` with their architecture parameters and the shared
    training parameters documented below, and implement:

    * ``_check_params()``: validate the architecture parameters (called by ``fit``);
    * ``_training_data(X, y, rate)`` -> ``(inputs, targets)`` float32 arrays whose first
      axis indexes training examples;
    * ``_module_kwargs(inputs, targets, rate)`` -> keyword arguments of ``_make_module``;
    * ``_make_module(**kwargs)`` -> the ``torch.nn.Module`` (the kwargs must be plain
      values: they rebuild the module when a pickled model is loaded);
    * optionally ``_init_module(module, inputs, targets)``: data-dependent state of a
      fresh module, kept as buffers so that it travels in the state dict;
    * ``_inference_config()`` -> which torch-free inference pipeline of
      :mod:`audiosr._inference` runs around the module, with its sizes (plain values:
      an exported model stores them); the base runs it with the module as the network
      (``_run_network``), adds the low-band crossover, and derives ``_stream_geometry``;
    * optionally ``_loss(pred, target)`` (default: mean squared error) and
      ``_score_batch(pred, target)`` with ``_validation_label`` (default: mean SNR in dB,
      "val_snr"), the early-stopping score of module outputs, higher is better.

    Training parameters
    -------------------
    learning_rate : float
        Adam's initial step size.
    lr_schedule : {"poly", "constant"}
        ``"poly"``: polynomial decay with power 0.5 (TFNet), reaching zero at the end of
        ``max_epochs`` or at ``max_time``, whichever comes first.
    batch_size : int
        Examples per step, also used for inference.
    max_epochs : int
        Passes over the training examples.
    max_time : float or None
        Stop training after this many seconds (checked before every step), whatever
        the epoch: a wall-clock training budget. The last epoch may then be partial
        and counts in ``n_iter_``; a model's very first step is taken whatever the
        budget. Results depend on the machine's speed. With a
        ``checkpoint`` the budget is shared by all the runs that resume it: a resumed
        ``fit`` trains for what is left (raise ``max_time`` to extend a run).
    weight_decay : float
        lambda of the ``lambda * ||Theta||^2`` term added to the loss (over weights, not biases).
    early_stopping : bool
        Hold out ``validation_fraction`` of the examples, score them after each epoch
        (``_score_batch``: SNR in dB for the waveform models), stop after
        ``n_iter_no_change`` epochs without an improvement of ``tol`` in that score, and
        keep the best weights.
    validation_fraction, n_iter_no_change, tol
        See ``early_stopping``.
    random_state : int, RandomState or None
        Seeds weight initialisation, shuffling and dropout, inside
        ``torch.random.fork_rng`` so the caller's global RNG is untouched. With an int,
        two fits on CPU give identical weights.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    verbose : int
        0: silent. >= 1: a progress bar (on standard error) that moves every step: over
        the steps of ``max_epochs``, or over the seconds of ``max_time`` when it is set,
        showing the epoch, the loss and the validation score.
    warm_start : bool
        Continue training the existing module on the next ``fit`` instead of starting over.
    checkpoint : str, path-like or None
        File to which the whole training state (weights, optimizer, schedule, random
        generators, curves) is written atomically after every epoch. A ``fit`` that finds
        the file resumes from it, so an interrupted training loses at most one epoch and
        ends with the same weights as an uninterrupted one. The file is refused if it was
        written for other parameters or data. Delete it to start over.

    Inference parameters
    --------------------
    keep_low_band : bool or float
        Low-band passthrough, applied by ``transform`` to the network's output
        (:func:`audiosr.crossover.low_band_passthrough`); not used in training, so it may
        be changed on a fitted model with ``set_params``.
    high_band_gain : float
        Gain of the band above the input's Nyquist frequency, applied by ``transform``
        after the passthrough (:func:`audiosr.crossover.high_band_gain`); like
        ``keep_low_band``, a setting of the output, not of training.
    high_band_smoothing : int
        Width in STFT bins of the moving average that ``transform`` applies last to the
        spectral magnitudes above 1.5 times the input's Nyquist frequency, phases kept
        (:func:`audiosr.postfilter.smooth_high_band`); 0: none. A setting of the output.
    n_threads : int or None
        CPU threads of ``transform``: each batch is split into ``n_threads`` parts that
        run at the same time, each computing on one core (torch's intra-op threads are
        set to 1 during the call and restored after). Unlike torch's own multi-threading
        this does not stall when other programs keep a core busy (:mod:`audiosr.threads`).
        ``None``: the setting of :func:`audiosr.set_inference_threads`, else the CPUs
        the process may use (at most ``OMP_NUM_THREADS`` when that is set). Training
        uses torch's threads (``torch.set_num_threads``).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.target_tags.required = True
        tags.target_tags.two_d_labels = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    # ------------------------------------------------------------------ hooks

    def _check_params(self):
        pass

    def _make_adversary(self, patch_len, device, context):
        """The :class:`~audiosr.neural.adversarial.AdversarialTrainer` of this fit, or None (not adversarial)."""
        return None

    def _loss(self, pred, target):
        return torch.mean((pred - target) ** 2)

    def _init_module(self, module, inputs, targets):
        """Set data-dependent state (e.g. normalisation buffers) of a freshly built module."""

    def _training_data(self, X, y, rate):  # pragma: no cover - abstract
        raise NotImplementedError

    def _module_kwargs(self, inputs, targets, rate):  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_module(self, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def _inference_config(self):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ validation

    def _check_training_params(self):
        _check_fraction(self.learning_rate, "learning_rate", 0.0, 10.0, low_open=True)
        check_choice(self.lr_schedule, LR_SCHEDULES, name="lr_schedule")
        _check_positive_int(self.batch_size, "batch_size")
        _check_positive_int(self.max_epochs, "max_epochs")
        _check_fraction(self.weight_decay, "weight_decay", 0.0, 1.0)
        _check_fraction(self.validation_fraction, "validation_fraction", 0.0, 1.0, low_open=True, high_open=True)
        _check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        if self.max_time is not None:
            _check_fraction(self.max_time, "max_time", 0.0, np.inf, low_open=True, high_open=True)
        _check_fraction(self.tol, "tol", 0.0, np.inf, high_open=True)
        _check_positive_int(self.verbose, "verbose", minimum=0)
        resolve_device(self.device)
        if self.checkpoint is not None and not isinstance(self.checkpoint, (str, os.PathLike)):
            raise TypeError(f"checkpoint must be a file path or None, got {self.checkpoint!r}.")

    def _check_fitted_rate(self):
        check_is_fitted(self, "module_")
        rate = check_rate(self.rate)
        if rate != self.rate_:
            raise ValueError(
                f"this model was trained to up-sample by {self.rate_} but its rate parameter is now {rate}; "
                f"a model cannot change its factor: set rate={self.rate_} or train a new model for rate {rate}."
            )
        return rate

    # ------------------------------------------------------------------ fit

    def fit(self, X, y):
        """Train on low-rate clips ``X`` and their high-rate references ``y``.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_times)
            Low-rate clips (e.g. from :func:`audiosr.signal.make_pairs`).
        y : array-like of shape (n_clips, n_times * rate)
            The matching high-rate clips.

        Returns
        -------
        self : object
            The fitted estimator.

        See Also
        --------
        audiosr.neural.fit_distributed : the same on several processes (``torchrun``).
        """
        return self._fit(X, y, LOCAL)

    def _fit(self, X, y, context):
        """``fit`` with the training hooks of ``context`` (:mod:`audiosr.neural.distributed`)."""
        rate = check_rate(self.rate)
        self._check_params()
        self._check_training_params()
        check_keep_low_band(self.keep_low_band)
        check_high_band_gain(self.high_band_gain)
        check_high_band_smoothing(self.high_band_smoothing)
        X = check_clips(X)
        y = check_target(y, X, rate)
        device = context.place(resolve_device(self.device))
        inputs, targets = self._training_data(X, y, rate)
        continuing = self.warm_start and hasattr(self, "module_")
        if continuing and self.rate_ != rate:
            raise ValueError(
                f"warm_start: the model was trained at rate {self.rate_}, not {rate}; set warm_start=False to start over."
            )
        seed = context.agree_seed(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            if not continuing:
                self._module_kwargs_ = self._module_kwargs(inputs, targets, rate)
                self.module_ = self._make_module(**self._module_kwargs_)
                self._init_module(self.module_, inputs, targets)
                self.loss_curve_, self.validation_scores_ = [], []
                self.n_iter_ = 0
                self.t_ = 0
            self.module_.to(device)
            self._train(inputs, targets, device, seed, continuing, context)
        self.rate_ = rate
        self.n_features_in_ = X.shape[1]
        return self

    def _train(self, inputs, targets, device, seed, continuing=False, context=LOCAL):
        adversary = self._make_adversary(inputs.shape[1], device, context)
        context.check_same("training data", lambda: _data_digest(inputs, targets))
        checkpoint = _Checkpoint(self.checkpoint, self, inputs, targets) if self.checkpoint is not None else None
        resume = context.load(checkpoint) if checkpoint is not None and not continuing else None
        spent = 0.0  # seconds trained by the runs this one resumes
        if resume is not None:
            seed = resume["seed"]  # the split and shuffles of the interrupted run
            spent = float(resume.get("elapsed", 0.0))
        rng = np.random.default_rng(seed)
        n = len(inputs)
        order = rng.permutation(n)
        if self.early_stopping:
            n_val = max(1, int(round(self.validation_fraction * n)))
            if n - n_val < 1:
                raise ValueError(
                    f"early_stopping needs at least 2 training examples, got {n}; add data or set early_stopping=False."
                )
            val_idx, train_idx = order[:n_val], order[n_val:]
        else:
            val_idx, train_idx = order[:0], order
        x_train = torch.as_tensor(inputs[train_idx], device=device)
        y_train = torch.as_tensor(targets[train_idx], device=device)
        x_val = torch.as_tensor(inputs[val_idx], device=device)
        y_val = torch.as_tensor(targets[val_idx], device=device)
        module = self.module_
        optimizer = torch.optim.Adam(module.parameters(), lr=self.learning_rate, betas=(0.9, 0.999), eps=1e-7)
        steps_per_epoch = math.ceil(len(train_idx) / self.batch_size)
        scheduler = None
        started = time.monotonic()
        # max_time is the budget of all the runs of one checkpoint: a resumed run gets what is left.
        deadline = None if self.max_time is None else started + self.max_time - spent
        if self.lr_schedule == "poly":
            total_steps = self.max_epochs * steps_per_epoch

            def poly_factor(step):
                # Decay towards zero at whichever ends training first, the last epoch
                # or the max_time deadline, so a time budget still ends at a small rate.
                done = step / total_steps
                if deadline is not None:
                    done = max(done, 1.0 - context.time_left(deadline, sync=False) / self.max_time)
                return max(0.0, 1.0 - done) ** 0.5

            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, poly_factor)
            if adversary is not None:
                adversary.schedule(poly_factor)
        track = {"best_score": -np.inf, "best_state": None, "stale": 0, "stopped": False, "epoch": 0, "elapsed": spent}
        if resume is not None:
            module.load_state_dict(resume["module"])
            optimizer.load_state_dict(resume["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(resume["scheduler"])
            rng.bit_generator.state = resume["numpy_rng"]
            torch.set_rng_state(resume["torch_rng"])
            if device.type == "cuda" and resume.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(resume["cuda_rng"], device)
            self.loss_curve_, self.validation_scores_ = list(resume["loss_curve"]), list(resume["validation_scores"])
            self.n_iter_ = int(resume["n_iter"])
            self.t_ = int(resume.get("t", 0))
            track.update({k: resume[k] for k in ("best_score", "best_state", "stale", "stopped", "epoch")})
            if adversary is not None:
                adversary.load_state_dict(resume["adversary"])
        epochs = range(track["epoch"], self.max_epochs)
        show = self.verbose and context.is_main
        bar = self._progress_bar(track["epoch"] * steps_per_epoch, steps_per_epoch, spent) if show else None
        on_step = None
        if bar is not None:

            def on_step():
                # Per step, so that the bar moves within an epoch: steps done, or seconds
                # of the time budget (a budget usually ends training before max_epochs).
                if deadline is None:
                    bar.update(1)
                else:
                    bar.update(max(0, min(bar.total, int(spent + time.monotonic() - started)) - bar.n))

        postfix = {}
        # A model takes at least one step, however small its time budget: one that never saw
        # its data would be returned as fitted. (A resumed or warm-started one has taken it.)
        first = self.t_ == 0
        network = context.wrap(module)
        try:
            for epoch in epochs:
                if track["stopped"]:
                    break
                if deadline is not None and not first and context.time_left(deadline) <= 0:
                    break  # out of time before a step of this epoch: no empty epoch in the curves
                if bar is not None:
                    bar.set_postfix({"epoch": f"{epoch + 1}/{self.max_epochs}", **postfix})
                context.seed_epoch(seed, epoch)
                completed = self._run_epoch(
                    network,
                    optimizer,
                    scheduler,
                    rng,
                    x_train,
                    y_train,
                    device,
                    deadline,
                    on_step=on_step,
                    must_step=first,
                    context=context,
                    adversary=adversary,
                )
                first = False
                postfix = {"loss": f"{self.loss_curve_[-1]:.3g}"}
                if self.early_stopping:
                    score = context.score(self._validation_score, x_val, y_val)
                    self.validation_scores_.append(score)
                    postfix[self._validation_label] = f"{score:.3g}"
                    if score > track["best_score"] + self.tol:
                        track.update(best_score=score, best_state=copy.deepcopy(module.state_dict()), stale=0)
                    else:
                        track["stale"] += 1
                    track["stopped"] = track["stale"] >= self.n_iter_no_change
                if not completed:
                    track["stopped"] = True  # out of time (max_time)
                track["epoch"] = epoch + 1
                track["elapsed"] = spent + time.monotonic() - started
                if checkpoint is not None and context.is_main:
                    checkpoint.save(seed, module, optimizer, scheduler, rng, device, track, adversary)
                if bar is not None:
                    bar.set_postfix({"epoch": f"{epoch + 1}/{self.max_epochs}", **postfix})
        finally:
            if bar is not None:
                bar.close()  # also on Ctrl-C: what follows starts on a new line
        if self.early_stopping and track["best_state"] is not None:
            module.load_state_dict(track["best_state"])
            self.best_validation_score_ = float(track["best_score"])
        if adversary is not None:
            # The discriminators are training state only: the fitted model (and its pickle) is the generator.
            self.discriminator_loss_curve_ = list(adversary.loss_curve)
        module.eval()

    def _progress_bar(self, steps_done, steps_per_epoch, spent):
        """The tqdm bar of ``verbose``: over steps, or over the seconds of ``max_time``."""
        from tqdm.auto import tqdm

        name = type(self).__name__
        if self.max_time is None:
            total = self.max_epochs * steps_per_epoch
            return tqdm(total=total, initial=steps_done, desc=name, unit="step")
        total = math.ceil(self.max_time)
        return tqdm(
            total=total,
            initial=min(total, int(spent)),
            desc=f"{name} (time budget)",
            unit="s",
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} s [{elapsed}<{remaining}{postfix}]",
        )

    def _run_epoch(
        self,
        module,
        optimizer,
        scheduler,
        rng,
        x_train,
        y_train,
        device,
        deadline=None,
        on_step=None,
        must_step=False,
        context=LOCAL,
        adversary=None,
    ):
        """One pass over the training examples; appends to ``loss_curve_``.

        Returns False when ``deadline`` (a ``time.monotonic()`` value) passed before the
        pass was complete. ``on_step`` is called after every step (the progress bar).
        ``context`` says which examples of each batch this process takes and combines
        the losses of all processes (:mod:`audiosr.neural.distributed`). With an
        ``adversary`` (:class:`~audiosr.neural.adversarial.AdversarialTrainer`) each step first
        updates the discriminators on the batch, then the generator with their terms added.
        """
        module.train()
        decayed = [p for name, p in module.named_parameters() if not name.endswith("bias")]
        perm = torch.as_tensor(rng.permutation(len(x_train)), device=device)
        total, count, skipped = 0.0, 0, 0
        good_state = copy.deepcopy(module.state_dict())
        completed = True
        if adversary is not None:
            adversary.start_epoch()
        for start in range(0, len(perm), self.batch_size):
            if deadline is not None and not (must_step and start == 0) and context.time_left(deadline) < 0:
                completed = False
                break
            idx = perm[start : start + self.batch_size]
            local, weight = context.shard(idx)
            pred = module(x_train[local])
            target = y_train[local]
            data_loss = self._loss(pred, target)
            if adversary is not None:
                adversary.discriminator_step(pred, target)
                data_loss = data_loss + adversary.generator_loss(pred, target)
            loss = data_loss
            if self.weight_decay:
                penalty = self.weight_decay * sum(p.pow(2).sum() for p in decayed)
                loss = loss + penalty
            objective = loss if weight is None else data_loss * weight + (penalty if self.weight_decay else 0.0)
            optimizer.zero_grad(set_to_none=True)
            loss_sum, n_seen = context.step_loss(loss, len(local) if weight != 0.0 else 0, len(idx))
            if not math.isfinite(loss_sum):
                # The irfft path can overflow; a step on a non-finite loss would
                # poison every weight, so it is skipped (by every process alike).
                skipped += 1
            else:
                objective.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                total += loss_sum
                count += n_seen
            if on_step is not None:
                on_step()
        if not all(torch.isfinite(p).all() for p in module.parameters()):
            module.load_state_dict(good_state)
            if context.is_main:
                warnings.warn(
                    "the weights became non-finite during an epoch; they were rolled back to the start of that epoch.",
                    RuntimeWarning,
                    stacklevel=5,
                )
        if adversary is not None and adversary.end_epoch() and context.is_main:
            warnings.warn(
                "the discriminators' weights became non-finite during an epoch; they were rolled back to the start "
                "of that epoch.",
                RuntimeWarning,
                stacklevel=5,
            )
        if skipped and context.is_main:
            warnings.warn(
                f"{skipped} training step(s) had a non-finite loss and were skipped.", RuntimeWarning, stacklevel=5
            )
        self.loss_curve_.append(total / count if count else float("nan"))
        self.n_iter_ += 1
        self.t_ += count
        return completed

    def _inference_device(self):
        """The device for ``transform``: a model trained on a GPU still runs where there is none."""
        try:
            return resolve_device(self.device)
        except ValueError:
            if torch.device(self.device).type != "cuda":
                raise
            warnings.warn(
                f"device={self.device!r} is not available here; transform runs on the CPU. "
                "Set device='cpu' (or 'auto') to silence this warning.",
                UserWarning,
                stacklevel=3,
            )
            return torch.device("cpu")

    def _validation_score(self, x_val, y_val):
        self.module_.eval()
        preds = []
        with torch.inference_mode():
            for start in range(0, len(x_val), self.batch_size):
                preds.append(self.module_(x_val[start : start + self.batch_size]))
        return self._score_batch(torch.cat(preds), y_val)

    #: Name of the validation score in the progress bar.
    _validation_label = "val_snr"

    def _score_batch(self, pred, target):
        """Validation score of module outputs against targets; higher is better (default: mean SNR in dB)."""
        return _batch_snr(pred, target)

    # ------------------------------------------------------------------ transform

    def transform(self, X):
        """Up-sample clips with the trained model.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_times)
            Low-rate clips, of any length the model supports (see the class docs).

        Returns
        -------
        X_high : ndarray of shape (n_clips, n_times * rate)
            In the dtype of ``X`` (float64 for non-float input). The network's output,
            with the input's own band below the crossover unless ``keep_low_band`` is off,
            its band above the input's Nyquist frequency scaled by ``high_band_gain`` and
            smoothed by ``high_band_smoothing``.
        """
        rate = self._check_fitted_rate()
        n_threads = check_threads(self.n_threads)
        device = self._inference_device()
        self.module_.to(device)
        self.module_.eval()
        network = functools.partial(self._run_network, device=device)
        config = self._inference_config()
        if device.type != "cpu":
            return upsample_with_network(  # the GPU parallelises
                X, rate, network, config, self.keep_low_band, **self._output_settings()
            )
        # On the CPU, batches are split over n_threads threads that compute alone (see audiosr.threads).
        with _torch_threads(1):
            return upsample_with_network(
                X, rate, network, config, self.keep_low_band, n_threads, **self._output_settings()
            )

    def _run_network(self, batch, device):
        """The network on one batch: a float32 array in, a float32 array out (the inference hook).

        Everything around it (pre-processing, patching or framing, overlap-add, the
        crossover) is torch-free (:mod:`audiosr._inference`) and shared with exported
        models, which call an onnxruntime session here instead. It may run in several
        threads at once, on parts of a batch.
        """
        with torch.inference_mode():  # per thread: grad mode is thread-local
            return self.module_(torch.tensor(batch, device=device)).cpu().numpy()

    def _output_settings(self):
        """What ``transform`` does to the network's output above the input's band."""
        return {"high_gain": self.high_band_gain, "smoothing": self.high_band_smoothing}

    def _stream_geometry(self, rate):
        return stream_geometry(self._inference_config(), rate, self.keep_low_band, **self._output_settings())

    def _min_input_length(self, rate):
        """The fewest low-rate samples ``transform`` takes (used by :func:`audiosr.planning.plan`)."""
        return min_input_length(self._inference_config(), rate)

    # ------------------------------------------------------------------ pickling

    def __getstate__(self):
        state = super().__getstate__()
        module = state.pop("module_", None)
        if module is not None:
            buffer = io.BytesIO()
            torch.save({k: v.detach().cpu() for k, v in module.state_dict().items()}, buffer)
            state["_module_state"] = buffer.getvalue()
        return state

    #: Values of parameters added after a model could first be saved, as files from
    #: before them behave (applied by :func:`audiosr.load_model` and unpickling when a
    #: saved model lacks the parameter).
    _legacy_params = {}

    def __setstate__(self, state):
        for name, value in self._legacy_params.items():
            state.setdefault(name, value)
        blob = state.pop("_module_state", None)
        super().__setstate__(state)
        if blob is not None:
            module = self._make_module(**self._module_kwargs_)
            module.load_state_dict(torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True))
            module.eval()
            self.module_ = module


class PatchUpsampler(NeuralUpsampler):
    """Waveform models on fixed-length patches of the interpolated input.

    The low-rate clip is first brought to the target length by ``input_upsampler``
    (a classical method); the module maps patches of ``patch_len`` target samples to
    patches of the same length. Training uses the non-overlapping patches of each
    clip (cut overlapping clips with :func:`audiosr.signal.make_pairs` for more).
    Inference cuts any length into patches that overlap by ``overlap`` of their
    length, weights each output patch by a crossfade window (sin² ramps over the
    overlap, one in between: the shifted windows sum to one; at an overlap of one
    half it is the periodic Hann window) and adds them up, so patch edges, where a
    convolutional network sees zero padding, get little weight and no seam appears.
    A smaller overlap sends fewer samples through the network (``1 / (1 - overlap)``
    times the signal's length). Patches go through the network ``batch_size`` at a
    time, so memory is bounded by the batch, not by the signal's length.

    The loss is the waveform loss (``loss``) plus the optional ``spectral_loss``,
    ``stft_loss`` and ``line_loss`` terms (:mod:`audiosr.neural.losses`); ``adversarial`` above zero adds
    discriminators that the shared loop updates before every step of the model
    (:mod:`audiosr.neural.adversarial`).

    Subclasses implement ``_patch_multiple(rate)`` (the divisibility the module
    needs), ``_line_period(rate)`` (the module's period in output samples, for
    ``line_loss``), ``_default_patch_len`` (class attribute) and the module, and take
    the parameters ``loss`` (the waveform loss, :func:`~audiosr.neural.losses.waveform_loss`),
    ``spectral_loss``, ``stft_loss``, ``line_loss``, ``spectral_band``, ``adversarial``
    and ``discriminator_lr``, and the output setting ``remove_lines`` (the U-Net's lines
    at the harmonics of ``_line_period`` subtracted from the invented band,
    :func:`audiosr.postfilter.remove_period_lines`, before ``high_band_smoothing``).
    """

    _default_patch_len = 2048

    def _check_params(self):
        check_choice(self.input_upsampler, INPUT_UPSAMPLERS, name="input_upsampler")
        check_choice(self.loss, WAVEFORM_LOSSES, name="loss")
        _check_fraction(self.spectral_loss, "spectral_loss", 0.0, np.inf, high_open=True)
        _check_fraction(self.stft_loss, "stft_loss", 0.0, np.inf, high_open=True)
        _check_fraction(self.line_loss, "line_loss", 0.0, np.inf, high_open=True)
        self._spectral_min_freq()  # validates spectral_band
        _check_fraction(self.adversarial, "adversarial", 0.0, np.inf, high_open=True)
        if self.discriminator_lr is not None:
            _check_fraction(self.discriminator_lr, "discriminator_lr", 0.0, 10.0, low_open=True)
        _check_fraction(self.overlap, "overlap", 0.0, 0.5, low_open=True)
        if self.patch_len is not None:
            _check_positive_int(self.patch_len, "patch_len", minimum=2)
        check_flag(self.remove_lines, name="remove_lines")

    def _output_settings(self):
        settings = super()._output_settings()
        if check_flag(self.remove_lines, name="remove_lines"):
            settings["line_period"] = self._line_period(int(getattr(self, "rate_", self.rate)))
        return settings

    def _patch_multiple(self, rate):  # pragma: no cover - abstract
        raise NotImplementedError

    def _line_period(self, rate):  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_adversary(self, patch_len, device, context):
        if not self.adversarial:
            return None
        if context.world_size > 1:
            raise ValueError(
                "adversarial training is not supported on several processes (torchrun, fit_distributed, "
                "audiosr train --nproc): its discriminators are not synchronised across processes. Train it in "
                "one process (one GPU or the CPU), or set adversarial=0."
            )
        from .adversarial import AdversarialTrainer

        lr = self.learning_rate if self.discriminator_lr is None else self.discriminator_lr
        return AdversarialTrainer(self.adversarial, patch_len, lr, device)

    def _loss(self, pred, target):
        loss = waveform_loss(pred, target, self.loss)
        min_freq = self._spectral_min_freq()
        if self.spectral_loss:
            loss = loss + self.spectral_loss * log_spectral_loss(pred, target, min_freq=min_freq)
        if self.stft_loss:
            loss = loss + self.stft_loss * multi_resolution_stft_loss(pred, target, min_freq=min_freq)
        if self.line_loss:
            # Lines only matter where the model invents: below, the input's band is kept.
            period = self._line_period(int(self.rate))
            loss = loss + self.line_loss * periodic_line_loss(pred, target, period, min_freq=1.0 / int(self.rate))
        return loss

    def _spectral_min_freq(self):
        """Where the spectral terms start, as a fraction of the output's Nyquist frequency.

        Raises ValueError for a ``spectral_band`` that is neither a name of ``SPECTRAL_BANDS``
        nor a number of input Nyquist frequencies below the output's (``rate`` of them).
        """
        # The band below is left to the waveform loss, which scores its phase (the SNR);
        # the spectral terms judge the rest.
        band, rate = self.spectral_band, int(self.rate)
        start = SPECTRAL_BANDS.get(band) if isinstance(band, str) else band
        if isinstance(start, bool) or not isinstance(start, (int, float, np.floating)) or not 0 <= start < rate:
            raise ValueError(
                f"spectral_band must be 'full', 'high' or a number in [0, {rate}) (where the spectral "
                f"terms start, in multiples of the input's Nyquist frequency), got {band!r}."
            )
        return float(start) / rate

    def _resolved_patch_len(self, rate):
        multiple = self._patch_multiple(rate)
        if self.patch_len is None:
            return smallest_patch_len(self._default_patch_len, multiple)
        patch_len = _check_positive_int(self.patch_len, "patch_len", minimum=2)
        if patch_len % multiple:
            ok = smallest_patch_len(patch_len, multiple)
            raise ValueError(
                f"patch_len={patch_len} does not suit rate={rate} and this depth: it must be a multiple of {multiple}. "
                f"Use e.g. patch_len={ok}, or patch_len=None to choose automatically."
            )
        return patch_len

    def _interpolate(self, X, rate):
        return interpolate(X, rate, self.input_upsampler)

    def _check_length(self, n_target, patch_len, rate, what):
        check_patch_length(n_target, patch_len, rate, what)

    def _training_data(self, X, y, rate):
        patch_len = self._resolved_patch_len(rate)
        self._check_length(y.shape[1], patch_len, rate, "clips")
        z = self._interpolate(X, rate)
        n_patches = y.shape[1] // patch_len
        usable = n_patches * patch_len
        inputs = z[:, :usable].reshape(-1, patch_len)
        targets = y[:, :usable].astype(np.float32).reshape(-1, patch_len)
        self.patch_len_ = patch_len
        return np.ascontiguousarray(inputs), np.ascontiguousarray(targets)

    def _hop(self, patch_len, rate):
        """Patch hop of the overlap-add: ``overlap`` of a patch, in whole multiples of ``rate``."""
        overlap = _check_fraction(self.overlap, "overlap", 0.0, 0.5, low_open=True)
        # A hop on the low-rate grid keeps the streaming granularity at hop / rate samples.
        samples = min(patch_len // 2, rate * max(1, round(overlap * patch_len / rate)))
        return patch_len - samples

    def _inference_config(self):
        patch_len = int(self.patch_len_)
        return {
            "pipeline": "patches",
            "patch_len": patch_len,
            "hop": self._hop(patch_len, int(self.rate_)),
            "input_upsampler": self.input_upsampler,
            "batch_size": _check_positive_int(self.batch_size, "batch_size"),
        }
