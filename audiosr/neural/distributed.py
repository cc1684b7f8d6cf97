"""Data-parallel training with ``torchrun``: one process per device, the same training loop.

The training loop of :class:`~audiosr.neural.NeuralUpsampler` asks a *context* a few
questions (which device, which examples of a batch this process takes, how to combine
a loss or a validation score, whether it writes files). :data:`LOCAL` answers them for a
plain ``fit``: one process, every hook the identity, so a plain ``fit`` is unchanged.
:class:`DistributedContext` answers them for a process group started by ``torchrun``:

* every rank draws the same permutation from the shared seed and takes its share of
  each global batch of ``batch_size`` examples; its loss is weighted by its share, so
  DDP's gradient average is the gradient of the whole batch: the same update as one
  process with that batch, up to float rounding;
* the loss curve, the validation score (each rank scores its part of the validation
  set), the non-finite-loss rule and the time budget are combined over the ranks, so
  every rank takes the same decisions (stopping, skipping a step) and none waits
  forever for the others;
* only rank 0 writes the checkpoint and shows the progress bar; it also reads the
  checkpoint and sends it to the others, so the file need not be on a shared disk.

:func:`fit_distributed` is the entry point for a script of one's own, and
``audiosr train`` uses it under ``torchrun`` (or with ``--nproc N``).
"""

from __future__ import annotations

import collections
import contextlib
import gc
import os
import socket
import time

import numpy as np
import torch
import torch.distributed as dist

__all__ = [
    "BACKENDS",
    "DistributedContext",
    "LOCAL",
    "fit_distributed",
    "is_main_process",
    "launched_by_torchrun",
    "process_group",
]

#: Values of the ``backend`` arguments: ``"auto"`` is NCCL on CUDA devices, else Gloo.
BACKENDS = ("auto", "gloo", "nccl")


def launched_by_torchrun():
    """Whether this process was started by ``torchrun`` (it sets ``RANK`` and ``WORLD_SIZE``)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def is_main_process():
    """Whether this process is rank 0 (or the only one): the one that should write files.

    True outside ``torchrun``; under it, for the process with ``RANK`` 0, also after
    :func:`fit_distributed` has ended the process group.

    Examples
    --------
    >>> from audiosr.neural.distributed import is_main_process
    >>> is_main_process()  # not under torchrun
    True
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return _env_int("RANK", 0) == 0


def _env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        raise ValueError(f"the environment variable {name}={os.environ[name]!r} is not an integer.") from None


class LocalContext:
    """One process, no process group: what a plain ``fit`` trains with."""

    rank = 0
    world_size = 1
    backend = None
    is_main = True

    def place(self, device):
        """The device this process trains on, given the estimator's resolved device."""
        return device

    def agree_seed(self, seed):
        return seed

    def check_same(self, what, digest):
        """Fail unless every rank has the same ``what`` (``digest()`` is only called with several ranks)."""

    def load(self, checkpoint):
        return checkpoint.load()

    def wrap(self, module):
        """The module the training steps run (DistributedDataParallel around it with several ranks)."""
        return module

    def seed_epoch(self, seed, epoch):
        """Seed dropout for ``epoch`` (several ranks: a stream per rank and epoch)."""

    def shard(self, idx):
        """This rank's examples of a global batch, and the weight of its loss (None: unweighted)."""
        return idx, None

    def step_loss(self, loss, n_local, n_global):
        """``(sum of the batch's per-example loss, examples)`` over all ranks."""
        return loss.item() * n_local, n_local

    def time_left(self, deadline, sync=True):
        """Seconds before ``deadline`` (a ``time.monotonic()`` value); with several ranks, the least of any rank.

        ``sync=False`` reuses the last agreed value (no communication) with several ranks.
        """
        return deadline - time.monotonic()

    def score(self, scorer, x_val, y_val):
        """The validation score: ``scorer`` on all the validation examples."""
        return scorer(x_val, y_val)

    def describe(self):
        return "1 process"


#: The context of a plain ``fit``.
LOCAL = LocalContext()


class DistributedContext(LocalContext):
    """The training hooks for one rank of an initialised process group (see the module's docs).

    Parameters
    ----------
    device : torch.device
        This rank's device.
    """

    def __init__(self, device):
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        self.backend = dist.get_backend()
        self.is_main = self.rank == 0
        self.device = device
        # NCCL moves CUDA tensors only; Gloo is simplest with CPU ones.
        self._comm_device = device if self.backend == "nccl" else torch.device("cpu")
        self._time_left = None

    # ---------------------------------------------------------------- collectives

    def _all_reduce(self, values, op=dist.ReduceOp.SUM):
        tensor = torch.tensor(values, dtype=torch.float64, device=self._comm_device)
        dist.all_reduce(tensor, op=op)
        return tensor.tolist()

    def _broadcast(self, obj):
        box = [obj]
        dist.broadcast_object_list(box, src=0, device=self._comm_device)
        return box[0]

    def _gather(self, obj):
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    # ---------------------------------------------------------------- hooks

    def place(self, device):
        return self.device

    def agree_seed(self, seed):
        return int(self._broadcast(int(seed)))

    def check_same(self, what, digest):
        digests = self._gather(digest())
        differing = [rank for rank, d in enumerate(digests) if d != digests[0]]
        if differing:
            raise ValueError(
                f"the {what} of rank(s) {differing} differ from rank 0's: every process must pass the same "
                "X and y to fit_distributed (load and cut the data the same way, with the same seed)."
            )

    def load(self, checkpoint):
        # Rank 0 reads the file (it alone writes it), so it need not be on a disk that every node sees;
        # a refused file is an error on every rank, not one rank failing while the others wait.
        state, error = None, None
        if self.is_main:
            try:
                state = checkpoint.load()
            except ValueError as exc:
                error = str(exc)
        state, error = self._broadcast((state, error))
        if error is not None:
            raise ValueError(error)
        return state

    def wrap(self, module):
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def seed_epoch(self, seed, epoch):
        # Each rank its own dropout masks, fixed by (seed, epoch, rank): a resumed run on the same
        # number of processes draws the same ones as an uninterrupted run.
        torch.manual_seed(int(np.random.SeedSequence([int(seed), int(epoch), self.rank]).generate_state(1)[0]))

    def shard(self, idx):
        n = len(idx)
        local = torch.tensor_split(idx, self.world_size)[self.rank]
        if len(local) == 0:
            # Fewer examples than ranks (a last, small batch): every rank must still run a backward pass
            # for DDP, so this one runs an example with a zero weight.
            return idx[:1], 0.0
        # DDP averages the ranks' gradients: weighting each rank's mean loss by its share times the
        # number of ranks makes that average the gradient of the whole batch's mean loss.
        return local, len(local) * self.world_size / n

    def step_loss(self, loss, n_local, n_global):
        value = loss.item() * n_local if n_local else 0.0
        (total,) = self._all_reduce([value])
        return total, n_global

    def time_left(self, deadline, sync=True):
        if sync or self._time_left is None:
            (overrun,) = self._all_reduce([time.monotonic() - deadline], op=dist.ReduceOp.MAX)
            self._time_left = -overrun
        return self._time_left

    def score(self, scorer, x_val, y_val):
        lo, hi = _split_bounds(len(x_val), self.world_size, self.rank)
        local = scorer(x_val[lo:hi], y_val[lo:hi]) * (hi - lo) if hi > lo else 0.0
        total, count = self._all_reduce([local, hi - lo])
        return total / count

    def describe(self):
        """``"2 processes, backend gloo, devices: cpu on host (x2)"``: what the group trains on."""
        places = collections.Counter(self._gather(f"{self.device} on {socket.gethostname()}"))
        where = ", ".join(f"{place} (x{count})" if count > 1 else place for place, count in places.items())
        s = "es" if self.world_size > 1 else ""
        return f"{self.world_size} process{s}, backend {self.backend}, devices: {where}"


def _split_bounds(n, parts, index):
    """Bounds of part ``index`` of ``n`` items cut into ``parts`` nearly equal contiguous parts."""
    base, extra = divmod(n, parts)
    lo = index * base + min(index, extra)
    return lo, lo + base + (index < extra)


def _rank_device(device, backend):
    """This rank's device from the estimator's ``device`` parameter (CUDA: GPU ``LOCAL_RANK``)."""
    from ._base import resolve_device

    resolved = resolve_device(device)
    if resolved.type != "cuda":
        if backend == "nccl":
            raise ValueError(
                f"backend 'nccl' needs CUDA devices but the model trains on {resolved}; "
                "use backend='gloo' (or 'auto'), or device='cuda'."
            )
        return resolved
    local_rank, local_size = _env_int("LOCAL_RANK", 0), _env_int("LOCAL_WORLD_SIZE", 1)
    if resolved.index is not None and local_size > 1:
        raise ValueError(
            f"device={device!r} names one GPU, but {local_size} processes run on this machine and each needs "
            "its own: use device='cuda' or 'auto' (process k then trains on GPU k)."
        )
    index = resolved.index if resolved.index is not None else local_rank
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"process {local_rank} on this machine needs GPU {index} but {torch.cuda.device_count()} are visible: "
            "start at most one process per GPU (torchrun --nproc_per_node)."
        )
    return torch.device("cuda", index)


@contextlib.contextmanager
def process_group(backend="auto", device="auto"):
    """The training context of this process: a process group under ``torchrun``, else :data:`LOCAL`.

    Under ``torchrun`` (or in a process group the caller initialised) it starts the
    group if needed, with the environment ``torchrun`` sets (``RANK``, ``WORLD_SIZE``,
    ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), and ends it on exit if it
    started it. Outside ``torchrun`` it yields :data:`LOCAL` (a plain ``fit``).

    Parameters
    ----------
    backend : {"auto", "gloo", "nccl"}, default="auto"
        ``"auto"``: NCCL when the model trains on CUDA, else Gloo. Ignored when the
        caller initialised the group.
    device : str, default="auto"
        The estimator's ``device``; on CUDA, process ``LOCAL_RANK`` trains on GPU ``LOCAL_RANK``.

    Yields
    ------
    context : LocalContext or DistributedContext
        Pass it to nothing: :func:`fit_distributed` finds the group; use
        ``context.is_main`` to write files from one process only and
        ``context.describe()`` to say what the run trains on.

    Examples
    --------
    >>> from audiosr.neural.distributed import process_group
    >>> with process_group() as context:  # not under torchrun: one process
    ...     print(context.world_size, context.is_main)
    1 True
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}.")
    if not dist.is_available() or not (dist.is_initialized() or launched_by_torchrun()):
        yield LOCAL
        return
    owner = not dist.is_initialized()
    if owner:
        from ._base import resolve_device

        if backend == "auto":
            backend = "nccl" if resolve_device(device).type == "cuda" and dist.is_nccl_available() else "gloo"
        rank_device = _rank_device(device, backend)
        if rank_device.type == "cuda":
            torch.cuda.set_device(rank_device)  # NCCL's collectives of objects run on the current GPU
        dist.init_process_group(backend=backend)
    else:
        rank_device = _rank_device(device, dist.get_backend())
    try:
        yield DistributedContext(rank_device)
    finally:
        if owner and dist.is_initialized():
            # Free what unreachable cycles still hold of the group (a DDP wrapper, the
            # frames of an exception a rank raised and caught) while the group and the
            # interpreter are alive: Gloo aborts the process when such objects are only
            # destroyed at interpreter exit.
            gc.collect()
            dist.destroy_process_group()


def fit_distributed(estimator, X, y, *, backend="auto"):
    """Fit a neural estimator with DistributedDataParallel when run under ``torchrun``.

    Every process runs the same script with the same ``X`` and ``y``; each trains on
    its share of every batch of ``batch_size`` examples (the *global* batch), on its
    own GPU (``LOCAL_RANK``) with NCCL or on the CPU with Gloo, and DDP averages the
    gradients, so one step is the step that one process would take on the whole
    batch, up to float rounding and dropout (each process draws its own masks).
    Early stopping, the time budget and the skipping of non-finite losses are agreed
    by all processes; only rank 0 writes the ``checkpoint`` and shows the progress
    bar. The fitted estimator is the same in every process: save it from one
    (:func:`is_main_process`).

    Outside ``torchrun`` this is ``estimator.fit(X, y)``.

    Parameters
    ----------
    estimator : NeuralUpsampler
        A neural estimator (:class:`~audiosr.DualBranchSR`, :class:`~audiosr.AudioUNet`,
        :class:`~audiosr.SpectralDNN`).
    X, y : array-like
        As for ``estimator.fit``, the same in every process.
    backend : {"auto", "gloo", "nccl"}, default="auto"
        ``"auto"``: NCCL on CUDA, else Gloo (ignored when the script initialised the
        process group itself).

    Returns
    -------
    estimator : NeuralUpsampler
        The fitted estimator.

    Examples
    --------
    Run ``torchrun --nproc_per_node=2 train.py`` with ``train.py``::

        import audiosr
        from audiosr.neural import fit_distributed
        from audiosr.neural.distributed import is_main_process

        model = audiosr.DualBranchSR(rate=4, batch_size=64, checkpoint="run.ckpt")
        fit_distributed(model, X, y)           # X, y: the same arrays in every process
        if is_main_process():                  # rank 0
            audiosr.save_model(model, "model.pt")

    Without torchrun it is a plain fit:

    >>> import numpy as np
    >>> from audiosr import DualBranchSR
    >>> from audiosr.neural import fit_distributed
    >>> y = np.random.default_rng(0).standard_normal((2, 512))
    >>> model = DualBranchSR(rate=2, filters=(4,), kernel_sizes=(9,), patch_len=256, max_epochs=1)
    >>> fit_distributed(model, y[:, ::2], y).n_iter_
    1
    """
    from ._base import NeuralUpsampler

    if not isinstance(estimator, NeuralUpsampler):
        raise TypeError(
            f"fit_distributed trains the neural estimators (DualBranchSR, AudioUNet, SpectralDNN), "
            f"not {type(estimator).__name__}."
        )
    with process_group(backend, estimator.device) as context:
        return estimator._fit(X, y, context)
