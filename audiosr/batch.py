"""Many files at once: worker processes on one machine, and shards that split a collection across machines.

:func:`upsample_files` (and its streaming form :func:`iter_upsample_files`) plans and
up-samples a list of ``(input, output)`` files, in ``jobs`` worker processes, each
with its share of the CPUs (:func:`worker_threads`) and its own copy of the model,
loaded once. The outputs are those of a one-process run, byte for byte; the results
come back in input order. :func:`shard` picks the part of a collection that one of
``n`` machines (or array jobs) processes: every file is in exactly one shard, and a
file's shard depends only on its own relative path and ``n``, so adding files to a
collection never moves the others to another shard.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import hashlib
import os
import re
import signal
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from .threads import available_cpus, check_threads, inference_threads, set_inference_threads

__all__ = [
    "FileResult",
    "upsample_files",
    "iter_upsample_files",
    "shard",
    "parse_shard",
    "shard_of",
    "worker_threads",
    "limit_threads",
]

# Files handed to the workers and not done yet, per worker: enough to keep every worker
# busy, few enough that a stop (a full disk, Ctrl-C) leaves little started work behind.
_AHEAD_PER_JOB = 2

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


# ----------------------------------------------------------------------------- shards


def parse_shard(text):
    """Read a shard given as ``"K/N"`` (the K-th of N shards, counted from 1).

    Parameters
    ----------
    text : str

    Returns
    -------
    k, n : int

    Examples
    --------
    >>> from audiosr.batch import parse_shard
    >>> parse_shard("3/8")
    (3, 8)
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if match is None:
        raise ValueError(
            f"a shard is K/N, two whole numbers, e.g. 3/8 for the third of 8 shards; got {text!r}."
        )
    k, n = int(match.group(1)), int(match.group(2))
    _check_shard(k, n)
    return k, n


def _check_shard(k, n):
    for name, value in (("k", k), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"shard {name} must be an integer, got {value!r}.")
    if n < 1:
        raise ValueError(f"shard {k}/{n}: the number of shards N must be at least 1.")
    if not 1 <= k <= n:
        raise ValueError(f"shard {k}/{n}: K must be between 1 and N ({n}); shards are counted from 1.")


def _shard_key(relative):
    """The text a file's shard is computed from: its relative path, the same on every machine and system."""
    if isinstance(relative, PurePath):
        relative = relative.as_posix()
    else:
        relative = os.fspath(relative).replace(os.sep, "/")
    # The same name may be stored composed (Linux) or decomposed (macOS): one form for both.
    return unicodedata.normalize("NFC", relative)


def shard_of(relative, n):
    """The shard (1 to ``n``) of a file, from its relative path alone.

    A stable hash (BLAKE2b) of the path's text with ``/`` separators, modulo ``n``: the same
    on every machine, Python run and operating system, and independent of every other file.

    Parameters
    ----------
    relative : str or path-like
        The file's path relative to the collection's folder (as the output mirrors it).
    n : int
        Number of shards.

    Returns
    -------
    k : int

    Examples
    --------
    >>> from audiosr.batch import shard_of
    >>> shard_of("speaker1/utt001.wav", 4) == shard_of("speaker1/utt001.wav", 4)
    True
    """
    _check_shard(1, n)
    digest = hashlib.blake2b(_shard_key(relative).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n + 1


def shard(items, k, n, *, key=None):
    """The items of shard ``k`` of ``n``: run every shard once and every item is done exactly once.

    An item's shard depends on its key (by default the item itself, a relative path)
    and ``n`` only (:func:`shard_of`), not on the other items nor their order: a file added
    to the collection later joins one shard and moves no other file, so a shard that is
    run again after files were added redoes nothing another shard did. The price is that
    shards are equal in size only on average (within a few per cent for thousands of files
    per shard; with few files some shards may be empty).

    Parameters
    ----------
    items : iterable
    k : int
        Which shard, from 1 to ``n``.
    n : int
        Number of shards.
    key : callable or None
        Maps an item to its relative path (e.g. ``lambda pair: pair[1]`` for the pairs of
        :func:`audiosr.io.find_audio_files`). Use a path relative to the collection's folder,
        not an absolute one, so machines that mount the collection in different places agree.

    Returns
    -------
    list
        The items of shard ``k``, in their original order.

    Examples
    --------
    >>> from audiosr.batch import shard
    >>> files = [f"clip{i:03d}.wav" for i in range(100)]
    >>> parts = [shard(files, k, 3) for k in (1, 2, 3)]
    >>> sorted(sum(parts, [])) == files
    True
    """
    _check_shard(k, n)
    key = key if key is not None else (lambda item: item)
    return [item for item in items if shard_of(key(item), n) == k]


# ----------------------------------------------------------------------------- threads


def worker_threads(jobs, threads=None):
    """Threads each of ``jobs`` workers gives torch and BLAS: ``max(1, cpus // jobs)``, unless given.

    Parameters
    ----------
    jobs : int
        Number of worker processes.
    threads : int or None
        An explicit count, returned as it is (after checking it).

    Returns
    -------
    threads : int

    Examples
    --------
    >>> from audiosr.batch import worker_threads
    >>> worker_threads(1, threads=3)
    3
    >>> worker_threads(10 ** 6)
    1
    """
    jobs = _check_jobs(jobs)
    if threads is not None:
        return check_threads(threads, "threads")
    # The CPUs this process may run on (a Slurm or container CPU set), not the whole machine.
    return max(1, available_cpus() // max(jobs, 1))


def limit_threads(threads):
    """Make this process use at most ``threads`` threads in BLAS, OpenMP and the models.

    Sets the usual environment variables (read by libraries loaded later, torch included),
    limits the BLAS / OpenMP pools already loaded (through threadpoolctl, when installed)
    and sets the models' inference threads (:func:`audiosr.set_inference_threads`). Meant
    for a worker process: it changes the whole process, for good.

    Parameters
    ----------
    threads : int
    """
    for variable in _THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        pass
    else:
        threadpool_limits(threads)
    set_inference_threads(threads)


# ----------------------------------------------------------------------------- one file


@dataclass(frozen=True)
class FileResult:
    """What happened to one file in :func:`iter_upsample_files`.

    Attributes
    ----------
    index : int
        The file's position in the input list.
    source, destination : Path
    status : {"written", "skipped", "planned", "failed"}
        ``"skipped"``: the plan has nothing to add; ``"planned"``: a dry run.
    plan : str or None
        The plan as one line (:meth:`audiosr.planning.Plan.describe`); ``None`` when planning failed.
    input_sr, output_sr : int or None
    method_label : str or None
    error : str or None
        Why the file failed.
    stop : str or None
        Why the run stops after this file (a full disk, a worker that died); the files
        not started are not processed.
    warnings : tuple
        ``(category, message, filename, lineno)`` of each warning the file raised (clipping among them).
    """

    index: int
    source: Path
    destination: Path
    status: str
    plan: str | None = None
    input_sr: int | None = None
    output_sr: int | None = None
    method_label: str | None = None
    error: str | None = None
    stop: str | None = None
    warnings: tuple = field(default=(), repr=False)


@dataclass(frozen=True)
class _Job:
    """The options every file of a run shares (sent once to each worker)."""

    target_sr: int | None
    rate: int | None
    method: object
    input_bandwidth: float | None
    detect: bool
    force_model: bool
    subtype: str | None
    overwrite: bool
    dry_run: bool
    overwrite_hint: str
    threads: int | None = None


def _run_into(the_plan, src, dst, subtype, progress):
    """Make the output's folder and stream the file into it (Plan.run)."""
    for attempt in range(3):
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Streams the file in blocks: an hour of audio needs no more memory than a block.
            return the_plan.run(src, dst, subtype=subtype, progress=progress)
        except FileNotFoundError:
            # Another run sharing the output folder (a shard) may remove a folder it made and
            # left empty between our mkdir and our first write: make it again.
            if attempt == 2 or dst.parent.is_dir() or not Path(src).is_file():
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _process(task, job, *, on_plan=None, progress=None):
    """Plan and up-sample one file; every per-file failure becomes a failed result."""
    import soundfile as sf

    from .io import ClippingWarning, audio_format
    from .planning import plan

    index, src, dst, refuse = task
    done = dict(index=index, source=src, destination=dst)
    try:
        the_plan = plan(
            src,
            target_sr=job.target_sr,
            rate=job.rate,
            method=job.method,
            input_bandwidth=job.input_bandwidth,
            detect=job.detect,
            force_model=job.force_model,
        )
        done.update(plan=the_plan.describe(), input_sr=the_plan.input_sr, method_label=the_plan.method_label)
        if on_plan is not None:
            on_plan(src, done["plan"])
        if the_plan.action == "skip":
            return FileResult(**done, status="skipped")
        if job.dry_run:
            return FileResult(**done, status="planned")
        if refuse is not None:
            raise ValueError(refuse)
        if dst.exists() and not job.overwrite:
            raise ValueError(f"'{dst}' exists; pass {job.overwrite_hint} to overwrite it.")
        # Without a subtype, upsample_file keeps the input's sample format where the output format allows it.
        if job.subtype is not None and not sf.check_format(audio_format(dst), job.subtype):
            raise ValueError(f"subtype {job.subtype!r} is not valid for {audio_format(dst)} files.")
        bar = progress(src, the_plan) if progress is not None else None
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ClippingWarning)
                sr_out = _run_into(the_plan, src, dst, job.subtype, bar)
        finally:
            if bar is not None and hasattr(bar, "close"):
                bar.close()
        said = tuple((w.category, str(w.message), w.filename, w.lineno) for w in caught)
        return FileResult(**done, status="written", output_sr=sr_out, warnings=said)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return FileResult(**done, status="failed", error=exc.strerror, stop="the disk is full")
        return FileResult(**done, status="failed", error=str(exc))
    except (ValueError, TypeError) as exc:
        return FileResult(**done, status="failed", error=str(exc))


# ----------------------------------------------------------------------------- workers

_WORKER_JOB = None


def _terminated(signum, frame):
    # Unwinds the file being written: atomic_output deletes its temporary file on the way out.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise KeyboardInterrupt


def _init_worker(job):
    global _WORKER_JOB
    _WORKER_JOB = job
    # Ctrl-C reaches the whole process group: the parent alone decides, and ends workers with SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminated)
    limit_threads(job.threads)


def _work(task):
    try:
        return _process(task, _WORKER_JOB)
    except KeyboardInterrupt:
        # Terminated: the temporary file is gone by now. Leave at once rather than return to
        # the pool, which would start the next queued file.
        os._exit(1)


def _terminate(executor):
    """End the workers now (SIGTERM: each deletes the temporary file it was writing) and wait for them."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=30)
    executor.shutdown(wait=False, cancel_futures=True)


def _check_jobs(jobs):
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"jobs must be an integer >= 1 (or 0 for one per CPU), got {jobs!r}.")
    return jobs or available_cpus()


def _new_folders(destinations):
    """Folders that writing ``destinations`` would create: those missing now."""
    missing = set()
    for parent in {Path(d).parent for d in destinations}:
        for folder in (parent, *parent.parents):
            if folder.exists() or folder in missing:
                break
            missing.add(folder)
    return missing


def _remove_if_empty(folders):
    """Undo folders made for outputs that were not written (deepest first)."""
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def _refusals(pairs):
    """Per pair: why it must not be written whatever its plan (onto an input, a second time), or None."""
    inputs = {Path(src).resolve() for src, _ in pairs}
    seen, refusals = set(), []
    for _, dst in pairs:
        target = Path(dst).resolve()
        if target in inputs:
            refusals.append(f"refusing to write onto an input file ('{dst}'); choose another output.")
        elif target in seen:
            refusals.append(f"two inputs map to the same output '{dst}'.")
        else:
            refusals.append(None)
        seen.add(target)
    return refusals


def iter_upsample_files(
    pairs,
    target_sr=None,
    *,
    rate=None,
    method="auto",
    input_bandwidth=None,
    detect=True,
    force_model=False,
    subtype=None,
    overwrite=False,
    dry_run=False,
    jobs=1,
    threads=None,
    on_plan=None,
    progress=None,
    overwrite_hint="overwrite=True",
):
    """Plan and up-sample files, in worker processes; yield each file's :class:`FileResult` in input order.

    Each file is planned (:func:`audiosr.plan`) and, unless the plan has nothing to add
    or ``dry_run``, streamed to its output (:meth:`audiosr.planning.Plan.run`), written
    atomically. A file that fails (unreadable, an existing output, ...) gives a failed
    result and the others go on; a full disk stops the run (the result says so in
    ``stop``). With ``jobs > 1`` the files are shared among ``jobs`` worker processes
    (started fresh, ``spawn``), each using :func:`worker_threads` threads and loading a
    model once, on the first file that needs it; the outputs equal those of ``jobs=1``
    byte for byte. Interrupting the run (Ctrl-C, or closing the generator) ends the
    workers, which delete the files they were writing; folders made for outputs that
    were not written are removed.

    Parameters
    ----------
    pairs : sequence of (path, path)
        Input file and output file.
    target_sr, rate, method, input_bandwidth, detect, force_model
        As in :func:`audiosr.plan`. ``method`` may be a fitted model: it is sent to each
        worker once.
    subtype : str or None
        Output sample format; ``None`` keeps the input's where the output format allows it.
    overwrite : bool, default=False
        Replace existing outputs (otherwise such a file fails).
    dry_run : bool, default=False
        Plan only; write nothing.
    jobs : int, default=1
        Worker processes; 1 runs in this process, 0 means one per available CPU.
    threads : int or None
        Threads per worker for torch and BLAS; ``None``: :func:`worker_threads`. With
        ``jobs=1`` this process's thread settings are left alone unless it is given.
    on_plan : callable or None
        ``on_plan(source, description)``, called in this process when a file's plan is known
        (before the file is processed with ``jobs=1``; when its result arrives otherwise).
    progress : callable or None
        ``progress(source, plan)`` returns a ``callback(done, total)`` (optionally with
        ``close()``) for the file's progress in input frames; used with ``jobs=1`` only.
    overwrite_hint : str
        How the message for an existing output names the way to overwrite it.

    Yields
    ------
    result : FileResult

    Notes
    -----
    Worker processes are started with ``spawn``: a script that calls this with ``jobs > 1``
    needs the usual ``if __name__ == "__main__":`` guard.
    """
    pairs = [(Path(os.fspath(src)), Path(os.fspath(dst))) for src, dst in pairs]
    jobs = _check_jobs(jobs)
    jobs = min(jobs, max(len(pairs), 1))
    if jobs > 1:
        threads = worker_threads(jobs, threads)
    elif threads is not None:
        threads = worker_threads(1, threads)
    job = _Job(
        target_sr=target_sr,
        rate=rate,
        method=method,
        input_bandwidth=input_bandwidth,
        detect=detect,
        force_model=force_model,
        subtype=subtype,
        overwrite=overwrite,
        dry_run=dry_run,
        overwrite_hint=overwrite_hint,
        threads=threads,
    )
    tasks = [(i, src, dst, refuse) for i, ((src, dst), refuse) in enumerate(zip(pairs, _refusals(pairs)))]
    made = set() if dry_run else _new_folders(dst for _, dst in pairs)
    try:
        if jobs == 1:
            yield from _in_process(tasks, job, on_plan, progress)
        else:
            yield from _in_workers(tasks, job, jobs, on_plan)
    finally:
        _remove_if_empty(made)


def _in_process(tasks, job, on_plan, progress):
    with _thread_limit(job.threads):
        for task in tasks:
            result = _process(task, job, on_plan=on_plan, progress=progress)
            yield result
            if result.stop is not None:
                return


@contextlib.contextmanager
def _thread_limit(threads):
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads), inference_threads(threads):
        yield


def _in_workers(tasks, job, jobs, on_plan):
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    executor = ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(job,)
    )
    # Results are handed on in input order, but the workers do not wait for that: a long file
    # holds back the report of the files after it, not their processing.
    pending = collections.deque()  # (task, future) in input order, not yet handed on
    running = set()  # futures not done yet
    queue = iter(tasks)
    stopping = False
    finished = False
    broken = []
    try:
        while True:
            while not stopping and len(running) < _AHEAD_PER_JOB * jobs:
                task = next(queue, None)
                if task is None:
                    break
                try:
                    future = executor.submit(_work, task)
                except BrokenProcessPool:
                    stopping = True  # a worker died; the files handed out say so below
                    break
                pending.append((task, future))
                running.add(future)
            if not pending:
                break
            task, future = pending[0]
            if not future.done():
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                running -= done
                continue
            pending.popleft()
            running.discard(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                index, src, dst, _ = task
                broken.append(dst)
                why = "a worker process ended abruptly (killed, or out of memory?)"
                result = FileResult(index=index, source=src, destination=dst, status="failed", error=why, stop=why)
            if result.plan is not None and on_plan is not None:
                on_plan(result.source, result.plan)
            # After a stop, the files already handed out still finish and are reported.
            stopping = stopping or result.stop is not None
            yield result
        finished = True
    finally:
        if finished:
            executor.shutdown(wait=True)
        else:
            _terminate(executor)
        if broken:
            from .io import _remove_stale_partials

            for dst in broken:  # what the killed worker was writing, now that its process is reaped
                _remove_stale_partials(dst)


def upsample_files(pairs, target_sr=None, **kwargs):
    """Plan and up-sample many files, in parallel worker processes; the list of :class:`FileResult`.

    The list form of :func:`iter_upsample_files`, which takes the same arguments.

    Parameters
    ----------
    pairs : sequence of (path, path)
        Input file and output file; see :func:`audiosr.io.find_audio_files` to list a folder.
    target_sr : int or None
        Output sample rate (or give ``rate=``).
    **kwargs
        ``rate``, ``method``, ``jobs``, ``overwrite``, ... as in :func:`iter_upsample_files`.

    Returns
    -------
    results : list of FileResult
        In the order of ``pairs``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from audiosr.io import save
    >>> from audiosr.batch import upsample_files
    >>> folder = tempfile.mkdtemp()
    >>> src = os.path.join(folder, "tone.wav")
    >>> save(src, np.sin(np.arange(8000) / 5), 8000)
    >>> [r.status for r in upsample_files([(src, os.path.join(folder, "out", "tone.wav"))], 16000)]
    ['written']
    """
    return list(iter_upsample_files(pairs, target_sr, **kwargs))
