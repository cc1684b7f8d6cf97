"""Data-parallel training under torchrun (audiosr.neural.distributed, `audiosr train --nproc`).

The multi-process tests start ``python -m torch.distributed.run`` (torchrun) with 2 CPU
processes on Gloo and a tiny DualBranchSR. Two processes with a global batch of B and
one process with batch B take the same steps up to float rounding; the model has no
dropout (each rank draws its own masks). Tolerances: over these 40 Adam steps the
largest weight difference seen between 2 processes and 1 was 2.9e-4 (loss curve 6e-6
relative, validation SNR 1e-4 dB; weights of order 0.1 to 1), and between 1 and 2 threads
of one process 3.5e-6. Averaging the ranks' mean losses without weighting their uneven
shares (the bug the weights prevent) moved the weights by 1.1e-2, the loss curve by
7e-4 and the score by 7.6e-3 dB. (Adam's eps of 1e-7 turns rounding in near-zero
gradients into steps of the learning rate, so longer or faster runs drift further apart:
at a learning rate of 3e-3 over 60 steps, 1 and 2 threads of one process differed by 1e-2.)
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import given
from hypothesis import strategies as st

import audiosr
from audiosr import DualBranchSR, SplineUpsampler
from audiosr.cli import _without_nproc, main
from audiosr.neural import fit_distributed
from audiosr.neural.distributed import LOCAL, _rank_device, _split_bounds, is_main_process, process_group

ROOT = Path(audiosr.__file__).resolve().parents[1]

# 64 patches of 512: 6 held out, 58 trained on in batches of 3, which two ranks share 2 + 1 (uneven
# weights), and whose last batch has 1 example (the second rank runs a zero-weight example).
PARAMS = dict(
    rate=2,
    filters=(4, 8),
    kernel_sizes=(9, 5),
    patch_len=512,
    dropout=0.0,
    batch_size=3,
    max_epochs=2,
    learning_rate=1e-3,
    early_stopping=True,
    n_iter_no_change=10,
    random_state=0,
    device="cpu",
    # The waveform loss alone: with the default MR-STFT term the two runs agree step by step
    # to float rounding too, but its log terms leave near-zero gradients whose rounding Adam
    # turns into full-size steps, so the weights drift apart by ~1e-2 after two epochs. That
    # the term splits over shards exactly is tested in test_losses.py.
    stft_loss=0.0,
)
WEIGHT_ATOL = 2e-3
SCORE_ATOL = 2e-3  # dB
LOSS_RTOL = 1e-4

SCRIPT = r"""
import json, os, sys, time
import numpy as np
import torch
from audiosr import DualBranchSR
from audiosr.neural import _base
from audiosr.neural.distributed import fit_distributed, is_main_process, process_group

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import PARAMS, pairs

config = json.loads(sys.argv[1])
rank = int(os.environ["RANK"])
saves = []
original_save = _base._Checkpoint.save

def save(self, *args, **kwargs):
    saves.append(rank)
    original_save(self, *args, **kwargs)
    if config.get("pause"):
        time.sleep(config["pause"])  # time for the test to kill the run after this checkpoint

_base._Checkpoint.save = save
X, y = pairs()
model = DualBranchSR(**{**PARAMS, **config.get("params", {}), "checkpoint": config.get("checkpoint")})
with process_group(config.get("backend", "auto"), model.device) as context:
    said = context.describe()
    fit_distributed(model, X, y, backend=config.get("backend", "auto"))
    refused = None
    if config.get("other_data"):
        try:
            fit_distributed(DualBranchSR(**model.get_params()), X[::-1].copy(), y[::-1].copy())
        except ValueError as exc:
            refused = str(exc)
out = config["out"]
report = dict(rank=rank, saves=len(saves), loss=model.loss_curve_, scores=model.validation_scores_,
              t=model.t_, n_iter=model.n_iter_, describe=said, refused=refused, main=is_main_process())
with open(os.path.join(out, f"rank{rank}.json"), "w") as fh:
    json.dump(report, fh)
if rank == 0:
    np.savez(os.path.join(out, "weights.npz"), **{k: v.cpu().numpy() for k, v in model.module_.state_dict().items()})
"""

DATA = r"""
import numpy as np

PARAMS = {params}


def pairs():
    from audiosr import make_pairs

    rng = np.random.default_rng(0)
    t = np.arange(8192) / 16000
    clips = [0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t) + 0.05 * rng.standard_normal(8192) for i in range(4)]
    return make_pairs(clips, 2, segment=2048)
"""


def _pairs():
    namespace = {}
    exec(DATA.format(params="{}"), namespace)
    return namespace["pairs"]()


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


def _torchrun(nproc, *args):
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]


class Launcher:
    """Writes the training script once; runs it under torchrun with a JSON config."""

    def __init__(self, folder):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "train.py").write_text(SCRIPT)
        (folder / "data.py").write_text(DATA.format(params=repr(PARAMS)))

    def command(self, nproc, out, **config):
        out.mkdir(parents=True, exist_ok=True)
        return _torchrun(nproc, str(self.folder / "train.py"), json.dumps({**config, "out": str(out)}))

    def run(self, nproc, out, **config):
        done = subprocess.run(self.command(nproc, out, **config), env=_env(), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        reports = [json.loads((out / f"rank{r}.json").read_text()) for r in range(nproc)]
        return reports, dict(np.load(out / "weights.npz"))


@pytest.fixture(scope="module")
def launcher(tmp_path_factory):
    return Launcher(tmp_path_factory.mktemp("ddp"))


@pytest.fixture(scope="module")
def single():
    """One process, batch 3: the run that two processes must reproduce."""
    X, y = _pairs()
    model = DualBranchSR(**PARAMS).fit(X, y)
    return model, {k: v.numpy() for k, v in model.module_.state_dict().items()}


@pytest.fixture(scope="module")
def two(launcher, tmp_path_factory):
    """Two processes, global batch 3, with a checkpoint; uninterrupted."""
    out = tmp_path_factory.mktemp("two")
    reports, weights = launcher.run(2, out, checkpoint=str(out / "run.ckpt"))
    return out, reports, weights


def _assert_close(weights, reference, atol):
    assert weights.keys() == reference.keys()
    worst = max(float(np.abs(weights[k] - reference[k]).max()) for k in weights)
    assert worst < atol, f"largest weight difference {worst:.3g}"


def test_two_processes_match_one_with_the_same_global_batch(single, two):
    model, reference = single
    out, reports, weights = two
    _assert_close(weights, reference, WEIGHT_ATOL)
    for report in reports:  # every rank holds the same curves: the losses and scores are agreed
        np.testing.assert_allclose(report["loss"], model.loss_curve_, rtol=LOSS_RTOL)
        np.testing.assert_allclose(report["scores"], model.validation_scores_, atol=SCORE_ATOL)
        assert report["t"] == model.t_ == 2 * 58 and report["n_iter"] == 2
        assert report["describe"].startswith("2 processes, backend gloo, devices: cpu on ")
    assert reports[0]["loss"] == reports[1]["loss"] and reports[0]["scores"] == reports[1]["scores"]


def test_only_rank_0_writes_the_checkpoint(two):
    out, reports, _ = two
    assert [r["saves"] for r in reports] == [2, 0]
    assert [r["main"] for r in reports] == [True, False]  # also once fit_distributed has ended the group
    assert sorted(p.name for p in out.iterdir()) == ["rank0.json", "rank1.json", "run.ckpt", "weights.npz"]


def test_killed_run_resumes_on_the_same_or_another_number_of_processes(launcher, single, two, tmp_path):
    # Killed (SIGKILL to torchrun and its processes) after the first checkpoint.
    killed = tmp_path / "killed"
    ckpt = killed / "run.ckpt"
    command = launcher.command(2, killed, checkpoint=str(ckpt), pause=30)
    proc = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ckpt.exists(), proc.stderr.read().decode()[-3000:] if proc.poll() is not None else "no checkpoint"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert not (killed / "weights.npz").exists()
    state = torch.load(ckpt, weights_only=True)
    assert state["epoch"] == 1
    copy = tmp_path / "copy.ckpt"
    copy.write_bytes(ckpt.read_bytes())

    # On the same number of processes: the uninterrupted run's weights exactly.
    reports, weights = launcher.run(2, killed, checkpoint=str(ckpt), other_data=True)
    _, uninterrupted, reference = two
    assert [r["saves"] for r in reports] == [1, 0]  # epoch 2 only
    for k in reference:
        np.testing.assert_array_equal(weights[k], reference[k])
    assert reports[0]["loss"] == uninterrupted[0]["loss"] and reports[0]["t"] == uninterrupted[0]["t"]
    # The fingerprint still refuses the checkpoint for other data, on every rank (none hangs).
    for report in reports:
        assert "belongs to another configuration or other training data" in report["refused"]

    # On one process (a plain fit): the same global batches; equal up to rounding.
    X, y = _pairs()
    model = DualBranchSR(**PARAMS, checkpoint=str(copy)).fit(X, y)
    assert model.n_iter_ == 2
    _assert_close({k: v.numpy() for k, v in model.module_.state_dict().items()}, single[1], WEIGHT_ATOL)


def _corpus(folder):
    folder.mkdir()
    t = np.arange(8000) / 8000
    for i in range(2):
        sf.write(folder / f"c{i}.wav", 0.3 * np.sin(2 * np.pi * (300 + 100 * i) * t), 8000)
    return folder


def test_train_nproc_launches_torchrun_and_rank_0_writes(tmp_path):
    data = _corpus(tmp_path / "data")
    out = tmp_path / "out"
    out.mkdir()
    argv = ["train", str(data), "--rate", "2", "-o", str(out / "m.pt"), "--epochs", "2", "--segment", "2048"]
    command = [sys.executable, "-m", "audiosr", *argv, "--quiet", "--nproc", "2", "--device", "cpu"]
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "audiosr train: training with 2 processes, backend gloo, devices: cpu on " in done.stderr
    assert done.stdout.count("training DualBranchSR x2 on 12 segments") == 1
    assert done.stdout.count(f"wrote {out / 'm.pt'} (2 epochs") == 1
    assert sorted(p.name for p in out.iterdir()) == ["m.pt"]  # the checkpoint is gone, nothing else written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]
    assert audiosr.load_model(out / "m.pt").n_iter_ == 2


# ----------------------------------------------------------------------------- in one process


def test_outside_torchrun_fit_distributed_is_fit():
    X, y = _pairs()
    params = {**PARAMS, "max_epochs": 1, "dropout": 0.1}
    a = DualBranchSR(**params).fit(X, y)
    b = fit_distributed(DualBranchSR(**params), X, y)
    for (name, p), q in zip(a.module_.state_dict().items(), b.module_.state_dict().values()):
        assert torch.equal(p, q), name
    with process_group() as context:
        assert context is LOCAL and context.world_size == 1 and context.is_main


def test_fit_distributed_refuses_what_it_cannot_train():
    with pytest.raises(TypeError, match="not SplineUpsampler"):
        fit_distributed(SplineUpsampler(rate=2), np.zeros((1, 8)), np.zeros((1, 16)))
    with pytest.raises(ValueError, match="backend must be one of"):
        fit_distributed(DualBranchSR(rate=2), np.zeros((1, 8)), np.zeros((1, 16)), backend="mpi")


def test_rank_devices(monkeypatch):
    assert _rank_device("cpu", "gloo") == torch.device("cpu")
    with pytest.raises(ValueError, match="backend 'nccl' needs CUDA devices"):
        _rank_device("cpu", "nccl")
    if torch.cuda.is_available():
        monkeypatch.setenv("LOCAL_RANK", "0")
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        with pytest.raises(ValueError, match="names one GPU"):
            _rank_device("cuda:0", "nccl")
        monkeypatch.setenv("LOCAL_RANK", str(torch.cuda.device_count()))
        with pytest.raises(ValueError, match="one process per GPU"):
            _rank_device("cuda", "nccl")


@given(n=st.integers(0, 50), parts=st.integers(1, 8))
def test_split_bounds_cut_into_nearly_equal_contiguous_parts(n, parts):
    bounds = [_split_bounds(n, parts, i) for i in range(parts)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_nproc_is_taken_out_of_what_torchrun_runs(tmp_path, capsys, monkeypatch):
    assert _without_nproc(["train", "a", "--nproc", "2", "--rate", "2"]) == ["train", "a", "--rate", "2"]
    assert _without_nproc(["train", "--nproc=2", "a", "--np", "3", "--quiet"]) == ["train", "a", "--quiet"]
    data = _corpus(tmp_path / "data")
    argv = ["train", str(data), "--rate", "2", "-o", str(tmp_path / "m.pt")]
    assert main([*argv, "--nproc", "0"]) == 2
    assert "--nproc must be >= 1" in capsys.readouterr().err
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main([*argv, "--nproc", "2"]) == 2
    assert "under torchrun, leave it out" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


# ----------------------------------------------------------------------------- CUDA / NCCL


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_nccl_on_the_gpus_matches_one_process(launcher, tmp_path):
    # One process per GPU (NCCL refuses two on one GPU): on a one-GPU machine this runs one
    # rank, which still goes through the process group, NCCL and DistributedDataParallel.
    nproc = min(2, torch.cuda.device_count())
    X, y = _pairs()
    model = DualBranchSR(**{**PARAMS, "device": "cuda"}).fit(X, y)
    reports, weights = launcher.run(nproc, tmp_path, backend="nccl", params={"device": "cuda"})
    assert reports[0]["describe"].startswith(f"{nproc} process{'es' if nproc > 1 else ''}, backend nccl, devices: ")
    assert "cuda:0 on " in reports[0]["describe"]
    # cuFFT and cuDNN may choose other algorithms from run to run: a looser tolerance than on the CPU.
    reference = {k: v.cpu().numpy() for k, v in model.module_.state_dict().items()}
    _assert_close(weights, reference, 10 * WEIGHT_ATOL)
    for report in reports:
        np.testing.assert_allclose(report["loss"], model.loss_curve_, rtol=10 * LOSS_RTOL)
        assert report["t"] == model.t_


def test_is_main_process_follows_torchrun_rank(monkeypatch):
    assert is_main_process()
    monkeypatch.setenv("RANK", "1")
    assert not is_main_process()
    monkeypatch.setenv("RANK", "0")
    assert is_main_process()
