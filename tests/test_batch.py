"""Tests of audiosr.batch: shards, worker processes, and ``audiosr upsample --jobs / --shard``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path, PureWindowsPath

import joblib
import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosr import SincUpsampler
from audiosr.batch import (
    iter_upsample_files,
    limit_threads,
    parse_shard,
    shard,
    shard_of,
    upsample_files,
    worker_threads,
)
from audiosr.cli import main
from audiosr.threads import resolve_threads, set_inference_threads

REPO = Path(__file__).resolve().parents[1]


class TrackedSinc(SincUpsampler):
    """Sinc interpolation that notes in ``log`` each process it is unpickled in, and can be slow."""

    def __init__(self, rate=2, *, log=None, delay=0.0, die=False):
        super().__init__(rate=rate)
        self.log = log
        self.delay = delay
        self.die = die

    def __setstate__(self, state):
        super().__setstate__(state)
        if self.log:
            with open(self.log, "a") as fh:
                fh.write(f"{os.getpid()}\n")

    def _upsample(self, X, rate):
        if self.die:  # as the kernel's out-of-memory killer would
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.delay)
        return super()._upsample(X, rate)


def _write(path, *, sr=8000, seconds=0.2, freq=440.0, seed=0):
    """A short tone with a little noise (so plans and outputs differ between files)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(round(seconds * sr))
    y = 0.4 * np.sin(2 * np.pi * freq * np.arange(n) / sr) + 0.01 * np.random.default_rng(seed).standard_normal(n)
    sf.write(str(path), y, sr, subtype="PCM_16")
    return path


def _corpus(folder):
    """Six small files in two sub-folders at two rates, and one broken file."""
    folder = Path(folder)
    for i in range(6):
        _write(folder / f"spk{i % 2}" / f"utt{i}.wav", sr=(8000, 16000)[i % 2], freq=200.0 + 50 * i, seed=i)
    (folder / "spk1" / "broken.wav").write_bytes(b"RIFF this is not audio")
    return folder


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def _leftovers(folder):
    return [p for p in Path(folder).rglob("*") if ".partial" in p.name]


# ----------------------------------------------------------------------------- shards

_segment = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="/\\"), min_size=1, max_size=8
)
_paths = st.lists(st.lists(_segment, min_size=1, max_size=3).map("/".join), unique=True, max_size=40)


@settings(max_examples=60, deadline=None)
@given(paths=_paths, extra=_paths, n=st.integers(1, 9))
def test_shards_partition_the_files_and_do_not_move_when_files_are_added(paths, extra, n):
    parts = [shard(paths, k, n) for k in range(1, n + 1)]
    assert sorted(sum(parts, [])) == sorted(paths)  # every file, each once: union is all, pairwise disjoint
    assert all(part == [p for p in paths if p in set(part)] for part in parts)  # the input order is kept
    assert [shard(list(reversed(paths)), k, n) for k in range(1, n + 1)] == [part[::-1] for part in parts]
    grown = paths + [p for p in extra if p not in set(paths)]
    for k, part in enumerate(parts, start=1):
        assert [p for p in shard(grown, k, n) if p in set(paths)] == part


def test_shard_of_is_pinned():
    """The promise that a file's shard never changes across versions and machines: fixed values."""
    names = ["p225/p225_001.wav", "speech/vctk_p347_012.flac", "a.wav", "été/ça.wav"]
    assert [shard_of(name, 8) for name in names] == [4, 3, 7, 8]
    assert [shard_of(name, 1) for name in names] == [1, 1, 1, 1]


def test_shard_of_ignores_separator_style_and_unicode_form():
    assert shard_of(PureWindowsPath("spk1\\utt 3.wav"), 7) == shard_of("spk1/utt 3.wav", 7)
    assert shard_of(Path("spk1") / "utt 3.wav", 7) == shard_of("spk1/utt 3.wav", 7)
    composed = "été/ça.wav"
    assert shard_of(unicodedata.normalize("NFD", composed), 5) == shard_of(composed, 5)


def test_shards_are_roughly_equal_for_many_files():
    paths = [f"spk{i // 100:03d}/utt{i:05d}.wav" for i in range(20000)]
    sizes = [len(shard(paths, k, 8)) for k in range(1, 9)]
    assert sum(sizes) == 20000 and max(sizes) - min(sizes) < 0.1 * 20000 / 8


@pytest.mark.parametrize(
    ("text", "expected"), [("1/1", (1, 1)), ("3/8", (3, 8)), (" 8 / 8 ", (8, 8)), ("007/10", (7, 10))]
)
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0/4", "K must be between 1 and N (4); shards are counted from 1"),
        ("5/4", "K must be between 1 and N (4)"),
        ("1/0", "the number of shards N must be at least 1"),
        ("3", "a shard is K/N, two whole numbers"),
        ("a/b", "a shard is K/N"),
        ("-1/4", "a shard is K/N"),
        ("1/2/3", "a shard is K/N"),
        ("1.5/4", "a shard is K/N"),
    ],
)
def test_parse_shard_errors(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_shard(text)


def test_shard_checks_k_and_n():
    with pytest.raises(ValueError, match="K must be between 1 and N"):
        shard(["a"], 3, 2)
    with pytest.raises(TypeError, match="shard n must be an integer"):
        shard(["a"], 1, 2.0)


# ----------------------------------------------------------------------------- threads


def test_worker_threads(monkeypatch):
    monkeypatch.setattr("audiosr.batch.available_cpus", lambda: 16)
    assert [worker_threads(jobs) for jobs in (1, 2, 3, 16, 40)] == [16, 8, 5, 1, 1]
    assert worker_threads(0) == 1  # 0 jobs: one per CPU, one thread each
    assert worker_threads(4, threads=2) == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            worker_threads(2, threads=bad)
    with pytest.raises(ValueError, match="jobs must be an integer >= 1"):
        worker_threads(-1)


def test_limit_threads_sets_blas_and_the_environment(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    with threadpoolctl.threadpool_limits():  # restores this process's pools afterwards
        try:
            limit_threads(1)
            assert os.environ["OMP_NUM_THREADS"] == "1"
            assert all(pool["num_threads"] == 1 for pool in threadpoolctl.threadpool_info())
            assert resolve_threads(None) == 1  # the models' inference threads too
        finally:
            set_inference_threads(None)


# ----------------------------------------------------------------------------- the library


def test_upsample_files_in_process(tmp_path):
    src = _corpus(tmp_path / "in")
    pairs = [(p, tmp_path / "out" / p.relative_to(src)) for p in sorted(src.rglob("*.wav"))]
    results = upsample_files(pairs, 32000, method="sinc")
    assert [r.index for r in results] == list(range(len(pairs)))
    assert [r.status for r in results].count("written") == 6
    (bad,) = [r for r in results if r.status == "failed"]
    assert bad.source.name == "broken.wav" and "not a readable audio file" in bad.error and bad.plan is None
    assert not (tmp_path / "out" / "spk1" / "broken.wav").exists()
    assert all(r.plan.startswith(str(r.source)) for r in results if r.status == "written")
    again = upsample_files(pairs[:1], 32000, method="sinc")
    assert again[0].status == "failed" and "pass overwrite=True to overwrite it" in again[0].error
    assert upsample_files(pairs[:1], 32000, method="sinc", overwrite=True)[0].status == "written"


def test_upsample_files_removes_only_the_folders_it_made_for_nothing(tmp_path):
    src = _write(tmp_path / "x.wav")
    assert upsample_files([(src, tmp_path / "deep" / "er" / "x.wav")], 8000)[0].status == "skipped"
    assert not (tmp_path / "deep").exists()
    (tmp_path / "kept").mkdir()
    assert upsample_files([(tmp_path / "no.wav", tmp_path / "kept" / "sub" / "no.wav")], 16000)[0].status == "failed"
    assert (tmp_path / "kept").is_dir() and not (tmp_path / "kept" / "sub").exists()


def test_two_workers_write_what_one_process_writes(tmp_path):
    """--jobs 2 gives the bytes of --jobs 1; the model is sent to each worker once, not per file."""
    src = _corpus(tmp_path / "in")
    log = tmp_path / "unpickled.txt"
    model = TrackedSinc(rate=2, log=str(log))
    outputs = {}
    for jobs in (1, 2):
        pairs = [(p, tmp_path / f"out{jobs}" / p.relative_to(src)) for p in sorted(src.rglob("*.wav"))]
        results = list(iter_upsample_files(pairs, method=model, rate=2, jobs=jobs))
        assert [r.index for r in results] == list(range(len(pairs)))  # in input order
        outputs[jobs] = ([(r.status, r.plan, r.error, r.output_sr) for r in results], _files(tmp_path / f"out{jobs}"))
    assert outputs[2] == outputs[1]
    assert len(outputs[1][1]) == 6
    pids = log.read_text().split()
    assert len(pids) == len(set(pids)) == 2  # once in each of the 2 workers
    assert _leftovers(tmp_path) == []


def test_a_worker_that_dies_stops_the_run_with_a_reason(tmp_path):
    src = _corpus(tmp_path / "in")
    pairs = [(p, tmp_path / "out" / p.relative_to(src)) for p in sorted(src.rglob("utt*.wav"))]
    results = upsample_files(pairs, rate=2, method=TrackedSinc(rate=2, die=True), jobs=2)
    assert 1 <= len(results) <= len(pairs)
    assert all(r.status == "failed" and "worker process ended abruptly" in r.error for r in results)
    assert results[-1].stop is not None
    assert _leftovers(tmp_path) == []  # the temporary files of the killed workers are removed
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- the command line


def _run(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_jobs_2_equals_jobs_1(tmp_path, capsys):
    src = _corpus(tmp_path / "in")
    runs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        status, stdout, stderr = _run(["upsample", str(src), "-o", str(out), "--sr", "48000", "--jobs", jobs], capsys)
        runs[jobs] = (status, stdout.replace(str(out), "OUT"), stderr.replace(str(out), "OUT"), _files(out))
    assert runs["2"] == runs["1"]
    status, stdout, stderr, files = runs["1"]
    assert status == 1 and len(files) == 6
    lines = stderr.splitlines()
    assert sum(line.startswith("audiosr upsample: plan: ") for line in lines) == 6
    assert any("broken.wav: " in line and "error" in line for line in lines)
    assert lines[-1] == "audiosr upsample: 1 of 7 file(s) failed."


def test_cli_shards_do_every_file_once(tmp_path, capsys):
    src = _corpus(tmp_path / "in")
    (src / "spk1" / "broken.wav").unlink()
    written = []
    for k in (1, 2, 3):
        argv = ["upsample", str(src), "-o", str(tmp_path / "out"), "--rate", "2", "--shard", f"{k}/3"]
        status, stdout, stderr = _run(argv, capsys)
        assert status == 0, stderr
        assert f"audiosr upsample: shard {k}/3: " in stderr
        written += [line.split(" -> ")[1].split(" (")[0] for line in stdout.splitlines()]
    assert sorted(written) == sorted(str(tmp_path / "out" / p.relative_to(src)) for p in src.rglob("*.wav"))
    assert len(_files(tmp_path / "out")) == 6


def test_cli_shard_dry_run_prints_only_its_plans(tmp_path, capsys):
    src = _corpus(tmp_path / "in")
    (src / "spk1" / "broken.wav").unlink()
    mine = {str(p) for p in src.rglob("*.wav") if shard_of(p.relative_to(src), 4) == 2}
    argv = ["upsample", str(src), "-o", str(tmp_path / "o"), "--rate", "2", "--shard", "2/4", "--dry-run"]
    status, _, stderr = _run(argv, capsys)
    assert status == 0
    planned = {line.split(": ")[2] for line in stderr.splitlines() if line.startswith("audiosr upsample: plan: ")}
    assert planned == mine
    assert f"shard 2/4: {len(mine)} of 6 file(s)" in stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--shard", "0/3"], "--shard: shard 0/3: K must be between 1 and N (3)"),
        (["--shard", "4/3"], "K must be between 1 and N (3)"),
        (["--shard", "2"], "--shard: a shard is K/N, two whole numbers, e.g. 3/8"),
        (["--shard", "1/0"], "the number of shards N must be at least 1"),
        (["--jobs", "-2"], "--jobs must be a number of worker processes >= 1 (0: one per CPU), got -2"),
    ],
)
def test_cli_bad_jobs_and_shard(tmp_path, capsys, option, message):
    src = _write(tmp_path / "in.wav")
    status, _, stderr = _run(["upsample", str(src), "-o", str(tmp_path / "o.wav"), "--rate", "2", *option], capsys)
    assert status == 2
    assert message in stderr
    assert not (tmp_path / "o.wav").exists()


def test_cli_ctrl_c_stops_the_workers_and_leaves_no_partial_file(tmp_path):
    """Ctrl-C while two workers write: exit status 130, no temporary file, no worker left running."""
    src = tmp_path / "in"
    for i in range(4):
        _write(src / f"long{i}.wav", sr=8000, seconds=100.0, seed=i)  # 5 blocks of 20 s each
    model = tmp_path / "slow.joblib"
    log = tmp_path / "unpickled.txt"
    joblib.dump(TrackedSinc(rate=2, log=str(log), delay=1.0), model)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(Path(__file__).parent)])}
    argv = [sys.executable, "-m", "audiosr", "upsample", str(src), "-o", str(out), "--model", str(model)]
    argv += ["--trust-pickle", "--jobs", "2"]
    # A suite started in the background by a non-interactive shell (`make test &`) inherits SIGINT
    # ignored, and Python then keeps it ignored: the child gets the default back, as in a terminal.
    proc = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(_leftovers(out) if out.exists() else []) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_leftovers(out)) == 2, "the workers never started writing"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert _leftovers(tmp_path) == []
    assert not out.exists() or not any(out.iterdir())
    for pid in {int(p) for p in log.read_text().split()} - {proc.pid}:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_folder_removed_by_another_run_is_made_again(tmp_path, monkeypatch):
    """Shards sharing an output folder: one may remove a folder it made, empty, as another is about to write."""
    from audiosr.planning import Plan

    run = Plan.run
    removed = []

    def run_after_removal(self, src, dst, **kwargs):
        if not removed:
            Path(dst).parent.rmdir()
            removed.append(dst)
        return run(self, src, dst, **kwargs)

    monkeypatch.setattr(Plan, "run", run_after_removal)
    src = _write(tmp_path / "x.wav")
    (result,) = upsample_files([(src, tmp_path / "out" / "sub" / "x.wav")], 16000)
    assert removed and result.status == "written" and (tmp_path / "out" / "sub" / "x.wav").is_file()


def test_benchmark_script_writes_its_table(tmp_path):
    """benchmarks/batch.py on two tiny files (the figures mean nothing here): the report's layout."""
    import importlib.util

    data = tmp_path / "data"
    for i in range(2):
        _write(data / "speech16k" / f"s{i}.flac", sr=16000, seconds=0.3, seed=i)
    rows = [f"speech16k/s{i}.flac,16000,0.300,speech16k" for i in range(2)]
    (data / "MANIFEST.csv").write_text("path,sample_rate,duration_s,kind\n" + "\n".join(rows) + "\n")
    spec = importlib.util.spec_from_file_location("benchmark_batch", REPO / "benchmarks" / "batch.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    argv = ["--data", str(data), "--files", "2", "--methods", "sinc", "--jobs", "1", "--work", str(tmp_path / "w")]
    assert bench.main([*argv, "--out", str(tmp_path / "results")]) == 0
    report = (tmp_path / "results" / "batch.md").read_text()
    assert "| sinc | sinc x3 -> 48000 Hz [the requested method] | 2 | 0.6 | 1 |" in report
    assert "| reference |" in report
