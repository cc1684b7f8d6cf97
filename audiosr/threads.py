"""The thread policy of inference: each network batch split over threads that compute on one core each.

Running a network with several intra-op threads (torch's OpenMP pool, or
onnxruntime's) parallelises every operation, and every operation ends at a barrier
where the threads wait for each other. The networks here are many small
convolutions, so a forward pass crosses hundreds of barriers; when another program
takes a core, the thread that lost it holds all the others at each barrier, and
inference was measured 3 to 14 times slower than on one thread
(``benchmarks/results/speed.md``). Here instead each batch of patches or frames is
split into ``n_threads`` parts that run at the same time, each on a thread that
computes alone (one intra-op thread): the threads meet once per batch, not once per
operation, and a thread that loses its core only slows its own part.
"""

from __future__ import annotations

import contextlib
import numbers
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "available_cpus",
    "check_threads",
    "inference_threads",
    "resolve_threads",
    "set_inference_threads",
    "split_batches",
]

_default = None  # the process-wide setting of set_inference_threads; None: the automatic policy


def available_cpus():
    """CPUs this process may run on (its affinity mask where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows
        return os.cpu_count() or 1


def check_threads(n_threads, name="n_threads"):
    """Validate a thread count: ``None`` or an integer >= 1."""
    if n_threads is None:
        return None
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) or n_threads < 1:
        raise ValueError(f"{name} must be a positive integer or None (automatic), got {n_threads!r}.")
    return int(n_threads)


def set_inference_threads(n_threads):
    """Set the threads of every model whose ``n_threads`` is ``None``, for the whole process.

    Parameters
    ----------
    n_threads : int or None
        Threads per ``transform`` call; ``None`` restores the automatic policy (the
        CPUs this process may use, at most ``OMP_NUM_THREADS`` when that is set).

    Returns
    -------
    previous : int or None
        The setting before the call.

    Examples
    --------
    >>> import audiosr
    >>> previous = audiosr.set_inference_threads(1)
    >>> audiosr.set_inference_threads(previous)
    1
    """
    global _default
    previous, _default = _default, check_threads(n_threads)
    return previous


@contextlib.contextmanager
def inference_threads(n_threads):
    """Context manager form of :func:`set_inference_threads`: the setting holds inside the block.

    Parameters
    ----------
    n_threads : int or None
        As for :func:`set_inference_threads`.

    Examples
    --------
    >>> import numpy as np, audiosr
    >>> with audiosr.inference_threads(1):
    ...     y = audiosr.upsample(np.zeros(800), 2, method="sinc")
    """
    previous = set_inference_threads(n_threads)
    try:
        yield
    finally:
        set_inference_threads(previous)


def resolve_threads(n_threads=None):
    """The thread count to use: ``n_threads``, else the process setting, else the automatic policy."""
    n = check_threads(n_threads)
    if n is None:
        n = _default
    if n is None:
        n = available_cpus()
        cap = os.environ.get("OMP_NUM_THREADS", "").strip()
        if cap.isdigit() and int(cap) >= 1:
            n = min(n, int(cap))  # a user's (or a job scheduler's) limit holds
    return n


@contextlib.contextmanager
def split_batches(network, n_threads):
    """``network`` run on each batch as ``n_threads`` parts in parallel; the outputs joined in order.

    Yields a callable with ``network``'s contract (a float32 batch in, a batch out).
    The worker threads live as long as the ``with`` block.
    """
    n = resolve_threads(n_threads)
    if n == 1:
        yield network
        return
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="audiosr-inference") as pool:

        def run(batch):
            if len(batch) < 2:
                return network(batch)
            parts = np.array_split(batch, min(n, len(batch)))
            return np.concatenate(list(pool.map(network, parts)))

        yield run
