"""Tests for the shared neural training base (seeding, pickling, early stopping, inference)."""

import json

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import audiosr
from audiosr import DualBranchSR, SplineUpsampler
from audiosr.neural import NeuralUpsampler

TINY = dict(
    filters=(4, 8), kernel_sizes=(9, 5), patch_len=256, batch_size=8, max_epochs=2, random_state=0, device="cpu"
)


def data(n=6, length=512, rate=4, seed=0):
    y = np.random.default_rng(seed).standard_normal((n, length)).astype(np.float32)
    return y[:, ::rate].copy(), y


def state(model):
    return {k: v.clone() for k, v in model.module_.state_dict().items()}


def assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_same_seed_same_weights_and_global_rng_untouched():
    X, y = data()
    torch_rng, np_rng = torch.random.get_rng_state(), np.random.get_state()
    a = DualBranchSR(rate=4, **TINY).fit(X, y)
    b = DualBranchSR(rate=4, **TINY).fit(X, y)
    assert_same_state(state(a), state(b))
    assert torch.equal(torch.random.get_rng_state(), torch_rng)
    assert np.array_equal(np.random.get_state()[1], np_rng[1])
    c = DualBranchSR(rate=4, **{**TINY, "random_state": 1}).fit(X, y)
    assert not torch.equal(state(a)["time.final.weight"], state(c)["time.final.weight"])


def test_refit_starts_over_and_warm_start_continues():
    X, y = data()
    model = DualBranchSR(rate=4, **TINY).fit(X, y)
    first = state(model)
    model.fit(X, y)
    assert_same_state(first, state(model))
    assert model.n_iter_ == 2
    model.set_params(warm_start=True).fit(X, y)
    assert model.n_iter_ == 4 and len(model.loss_curve_) == 4


def test_joblib_round_trip_is_bit_exact(tmp_path):
    X, y = data()
    model = DualBranchSR(rate=4, **TINY).fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert_same_state(state(model), state(loaded))
    assert all(p.device.type == "cpu" for p in loaded.module_.parameters())
    assert loaded.loss_curve_ == model.loss_curve_


def test_clone_is_unfitted():
    X, y = data()
    model = DualBranchSR(rate=4, **TINY).fit(X, y)
    fresh = clone(model)
    assert not hasattr(fresh, "module_")
    with pytest.raises(NotFittedError):
        fresh.transform(X)


def test_early_stopping_keeps_best_weights():
    X, y = data(n=10)
    model = DualBranchSR(
        rate=4, **{**TINY, "max_epochs": 30, "early_stopping": True, "n_iter_no_change": 2, "learning_rate": 0.05}
    )
    model.fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_ <= 30
    assert model.best_validation_score_ == pytest.approx(max(model.validation_scores_))
    no_es = DualBranchSR(rate=4, **TINY).fit(X, y)
    assert no_es.validation_scores_ == []


def test_early_stopping_needs_two_examples():
    X, y = data(n=1, length=256)
    with pytest.raises(ValueError, match="at least 2 training examples"):
        DualBranchSR(rate=4, **{**TINY, "early_stopping": True}).fit(X, y)


def test_non_finite_loss_steps_are_skipped(monkeypatch):
    X, y = data()
    calls = {"n": 0}
    original = DualBranchSR._loss

    def flaky(self, pred, target):
        calls["n"] += 1
        loss = original(self, pred, target)
        return loss * float("nan") if calls["n"] == 1 else loss

    monkeypatch.setattr(DualBranchSR, "_loss", flaky)
    with pytest.warns(RuntimeWarning, match="non-finite loss"):
        model = DualBranchSR(rate=4, **TINY).fit(X, y)
    assert all(torch.isfinite(p).all() for p in model.module_.parameters())
    assert np.all(np.isfinite(model.transform(X)))


def test_verbose_shows_a_progress_bar(capsys):
    X, y = data()
    DualBranchSR(rate=4, **{**TINY, "verbose": 1, "early_stopping": True}).fit(X, y)
    err = capsys.readouterr().err
    assert "epoch" in err and "val_snr" in err
    DualBranchSR(rate=4, **TINY).fit(X, y)
    assert capsys.readouterr() == ("", "")


def test_rate_mismatch_is_refused():
    X, y = data()
    model = DualBranchSR(rate=4, **TINY).fit(X, y)
    model.set_params(rate=2)
    with pytest.raises(ValueError, match="trained to up-sample by 4"):
        model.transform(X)
    model.set_params(rate=4)
    with pytest.raises(ValueError, match="rate=2 but the estimator up-samples by 4"):
        audiosr.upsample(np.zeros(1000), 2, method=model)
    with pytest.raises(ValueError, match=r"rate=2.*\(6, 256\)"):
        DualBranchSR(rate=2, **TINY).fit(X, y)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((2, 128), np.nan), "NaN"),
        (np.zeros(128), "reshape"),
        (np.zeros((2, 2, 128)), "3-D"),
        (np.zeros((2, 10)), "shorter than one patch"),
    ],
)
def test_bad_input_to_transform(X, match):
    Xf, yf = data()
    model = DualBranchSR(rate=4, **TINY).fit(Xf, yf)
    with pytest.raises(ValueError, match=match):
        model.transform(X)


def test_bad_input_to_fit():
    X, y = data()
    with pytest.raises(ValueError, match="shorter than one patch"):
        DualBranchSR(rate=4, **TINY).fit(X[:, :10], y[:, :40])
    with pytest.raises(ValueError, match="NaN"):
        DualBranchSR(rate=4, **TINY).fit(X, np.full_like(y, np.inf))
    with pytest.raises(ValueError, match="requires y to be passed"):
        DualBranchSR(rate=4, **TINY).fit(X, None)


def test_cuda_request_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = data()
    with pytest.raises(ValueError, match="CUDA is not available"):
        DualBranchSR(rate=4, **{**TINY, "device": "cuda"}).fit(X, y)


def test_a_gpu_model_transforms_on_a_cpu_only_machine():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = data()
    model = DualBranchSR(rate=4, **TINY).fit(X, y)
    expected = model.transform(X)
    model.set_params(device="cuda")  # as if it had been trained on a GPU and copied here
    with pytest.warns(UserWarning, match="runs on the CPU"):
        np.testing.assert_array_equal(model.transform(X), expected)
    with pytest.raises(ValueError, match="CUDA is not available"):
        model.fit(X, y)  # training never silently moves to the CPU


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trained_on_gpu_loads_on_cpu(tmp_path):
    X, y = data()
    model = DualBranchSR(rate=4, **{**TINY, "device": "cuda"}).fit(X, y)
    joblib.dump(model, tmp_path / "gpu.joblib")
    loaded = joblib.load(tmp_path / "gpu.joblib").set_params(device="cpu")
    np.testing.assert_allclose(loaded.transform(X), model.transform(X), atol=1e-5)


# ------------------------------------------------------------------ inference on any length


def identity_model():
    """A time-only model whose U-Net adds nothing: its output is the interpolated input."""
    X, y = data()
    model = DualBranchSR(rate=4, branches="time", keep_low_band=False, **TINY).fit(X, y)
    with torch.no_grad():
        model.module_.time.final.weight.zero_()
        model.module_.time.final.bias.zero_()
    return model


@pytest.mark.parametrize("n", [64, 65, 100, 333, 1000])
def test_overlap_add_reconstructs_exactly(n):
    # If the windows did not sum to one, or a patch were misplaced, the identity
    # network would show it as a ripple or a seam every half patch.
    X = np.random.default_rng(n).standard_normal((2, n))
    out = identity_model().transform(X)
    np.testing.assert_allclose(out, SplineUpsampler(rate=4).transform(X), atol=1e-5)


def test_output_does_not_depend_on_batch_size_and_has_no_seams():
    X, y = data(n=10, length=1024)
    model = DualBranchSR(rate=4, **{**TINY, "max_epochs": 3, "learning_rate": 1e-2}).fit(X, y)
    t = np.arange(3000)
    x = np.sin(2 * np.pi * 0.01 * t)[None]
    out1 = model.set_params(batch_size=1).transform(x)
    out7 = model.set_params(batch_size=7).transform(x)
    np.testing.assert_allclose(out1, out7, atol=1e-4)  # float32 kernels vary with batch shape
    # Seams: the jump between neighbouring samples at patch borders (every 128 samples)
    # is no larger than elsewhere in this smooth signal.
    jumps = np.abs(np.diff(out1[0]))
    at_borders = jumps[127::128][:-1]
    assert at_borders.max() <= 1.5 * np.percentile(jumps, 99)


def test_transform_length_independent_of_fit_length():
    X, y = data()
    model = DualBranchSR(rate=4, **TINY).fit(X, y)
    assert model.transform(np.zeros((1, 777))).shape == (1, 3108)
    assert audiosr.upsample(np.zeros((2, 500)), method=model).shape == (2, 2000)


# ------------------------------------------------------------------ checkpoints


CKPT = dict(TINY, max_epochs=4, early_stopping=True, n_iter_no_change=10, learning_rate=5e-3)


def count_epochs(monkeypatch, fail_at=None):
    """Count _run_epoch calls; optionally raise KeyboardInterrupt when call `fail_at` starts."""
    calls = {"n": 0}
    original = NeuralUpsampler._run_epoch

    def wrapped(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NeuralUpsampler, "_run_epoch", wrapped)
    return calls


def test_interrupted_fit_resumes_to_the_same_result(tmp_path, monkeypatch):
    X, y = data()
    reference = DualBranchSR(rate=4, **CKPT).fit(X, y)
    path = tmp_path / "train.ckpt"
    count_epochs(monkeypatch, fail_at=3)
    with pytest.raises(KeyboardInterrupt):
        DualBranchSR(rate=4, checkpoint=path, **CKPT).fit(X, y)
    assert torch.load(path, weights_only=True)["epoch"] == 2  # two finished epochs are kept
    calls = count_epochs(monkeypatch)
    resumed = DualBranchSR(rate=4, checkpoint=path, **CKPT).fit(X, y)
    assert calls["n"] == 2  # only the missing epochs ran
    assert_same_state(state(reference), state(resumed))
    assert resumed.loss_curve_ == reference.loss_curve_
    assert resumed.validation_scores_ == reference.validation_scores_
    assert resumed.n_iter_ == reference.n_iter_ == 4
    # A finished checkpoint gives the finished model at once.
    calls = count_epochs(monkeypatch)
    again = DualBranchSR(rate=4, checkpoint=path, **CKPT).fit(X, y)
    assert calls["n"] == 0
    assert_same_state(state(reference), state(again))
    assert not list(tmp_path.glob("*.partial"))


def test_checkpoint_of_another_run_is_refused(tmp_path):
    X, y = data()
    path = tmp_path / "train.ckpt"
    DualBranchSR(rate=4, checkpoint=path, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="another configuration or other training data"):
        DualBranchSR(rate=4, checkpoint=path, **{**TINY, "learning_rate": 0.5}).fit(X, y)
    with pytest.raises(ValueError, match="another configuration or other training data"):
        DualBranchSR(rate=4, checkpoint=path, **TINY).fit(X, y * 2)
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot be read"):
        DualBranchSR(rate=4, checkpoint=path, **TINY).fit(X, y)
    with pytest.raises(TypeError, match="checkpoint must be a file path"):
        DualBranchSR(rate=4, checkpoint=3, **TINY).fit(X, y)


def test_checkpoint_from_before_a_parameter_existed_resumes_at_its_legacy_value(tmp_path):
    # A checkpoint written by a version without ``antialias`` lacks it in its fingerprint:
    # it is the run with the value such files behave with (False), and no other.
    X, y = data()
    path = tmp_path / "train.ckpt"
    params = TINY
    first = DualBranchSR(rate=4, checkpoint=path, **params).fit(X, y)
    saved = torch.load(path, weights_only=True)
    fingerprint = json.loads(saved["fingerprint"])
    del fingerprint["params"]["antialias"]
    saved["fingerprint"] = json.dumps(fingerprint)
    torch.save(saved, path)
    resumed = DualBranchSR(rate=4, checkpoint=path, **params).fit(X, y)  # the finished run, at once
    assert_same_state(state(first), state(resumed))
    with pytest.raises(ValueError, match="another configuration or other training data"):
        DualBranchSR(rate=4, checkpoint=path, **{**params, "antialias": True}).fit(X, y)


_TRAIN_SCRIPT = """
import sys, numpy as np, torch
torch.set_num_threads(1)
from audiosr import DualBranchSR
y = np.random.default_rng(0).standard_normal((24, 1024)).astype(np.float32)
DualBranchSR(rate=4, filters=(4, 8), kernel_sizes=(9, 5), patch_len=256, batch_size=4, max_epochs=int(sys.argv[2]),
             learning_rate=3e-3, random_state=0, device="cpu", checkpoint=sys.argv[1]).fit(y[:, ::4], y)
"""


def test_killed_training_process_resumes_exactly(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    path, epochs = tmp_path / "train.ckpt", 12
    proc = subprocess.Popen([sys.executable, "-c", _TRAIN_SCRIPT, str(path), str(epochs)])
    try:
        deadline = time.monotonic() + 120
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists():
                try:
                    done = torch.load(path, weights_only=True)["epoch"]
                except Exception:  # caught mid-rename on a slow disk: try again
                    done = 0
                if done >= 2:
                    break
            time.sleep(0.02)
        assert proc.poll() is None, "the training finished before it could be killed; make it longer"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 2 <= torch.load(path, weights_only=True)["epoch"] < epochs
    y = np.random.default_rng(0).standard_normal((24, 1024)).astype(np.float32)
    params = dict(
        filters=(4, 8),
        kernel_sizes=(9, 5),
        patch_len=256,
        batch_size=4,
        max_epochs=epochs,
        learning_rate=3e-3,
        random_state=0,
        device="cpu",
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic as the killed process
    try:
        resumed = DualBranchSR(rate=4, checkpoint=path, **params).fit(y[:, ::4], y)
        uninterrupted = DualBranchSR(rate=4, **params).fit(y[:, ::4], y)
    finally:
        torch.set_num_threads(threads)
    assert_same_state(state(uninterrupted), state(resumed))
    assert resumed.loss_curve_ == uninterrupted.loss_curve_


def test_damaged_weights_and_out_of_range_input_are_errors_not_garbage():
    X, y = data()
    model = DualBranchSR(rate=4, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="as large as 1e\\+07"):
        model.transform(np.full((1, 128), 1e7))
    assert np.all(np.isfinite(model.transform(np.full((1, 128), 32767.0))))  # unscaled PCM still works
    with torch.no_grad():
        model.module_.time.final.weight.fill_(float("nan"))
    with pytest.raises(ValueError, match="non-finite output"):
        model.transform(X)


def test_max_time_is_a_wall_clock_budget():
    import time

    X, y = data(n=10)
    start = time.monotonic()
    model = DualBranchSR(rate=4, **{**TINY, "max_epochs": 10_000, "max_time": 0.5}).fit(X, y)
    assert time.monotonic() - start < 10
    assert 1 <= model.n_iter_ < 10_000 and len(model.loss_curve_) == model.n_iter_
    with pytest.raises(ValueError, match="max_time"):
        DualBranchSR(rate=4, **{**TINY, "max_time": 0}).fit(X, y)


def test_poly_schedule_decays_to_zero_by_max_time(monkeypatch):
    """With a time budget the poly schedule ends near zero, not near its start."""
    X, y = data(n=10)
    rates = []
    original = torch.optim.Adam.step

    def record(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", record)
    DualBranchSR(rate=4, **{**TINY, "max_epochs": 10_000, "max_time": 1.0, "learning_rate": 1e-3}).fit(X, y)
    assert rates[0] == pytest.approx(1e-3, rel=0.05)
    assert rates[-1] < 0.35e-3  # sqrt of the time left: under 12 % of the budget remained
    assert all(a >= b for a, b in zip(rates, rates[1:]))


def test_t_counts_the_examples_seen():
    X, y = data()
    model = DualBranchSR(rate=4, **TINY).fit(X, y)
    n_examples = len(model._training_data(X, y, 4)[0])
    assert model.t_ == model.n_iter_ * n_examples


def test_weights_that_turn_non_finite_are_rolled_back(monkeypatch):
    X, y = data()
    original = torch.optim.Adam.step
    calls = {"n": 0}

    def poisoned(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            with torch.no_grad():
                self.param_groups[0]["params"][0].fill_(float("nan"))
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", poisoned)
    with pytest.warns(RuntimeWarning, match="rolled back"):
        model = DualBranchSR(rate=4, **{**TINY, "max_epochs": 1}).fit(X, y)
    assert all(torch.isfinite(p).all() for p in model.module_.parameters())


# ------------------------------------------------------------------ progress bar and time budget


@pytest.fixture
def bars(monkeypatch):
    """Record every tqdm bar the training makes, and its counter after each update."""
    import io

    import tqdm.auto
    from tqdm import tqdm as base

    made = []

    class Recorder(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs, file=io.StringIO())
            self.seen = []
            made.append(self)

        def update(self, n=1):
            done = super().update(n)
            self.seen.append(self.n)
            return done

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    return made


def test_progress_bar_moves_every_step_not_every_epoch(bars, monkeypatch):
    X, y = data()  # 12 patches of 256 samples: 6 steps of 2 per epoch
    seen_by_epoch = []
    original = NeuralUpsampler._run_epoch

    def watched(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        seen_by_epoch.append(list(bars[0].seen))
        return out

    monkeypatch.setattr(NeuralUpsampler, "_run_epoch", watched)
    DualBranchSR(rate=4, **{**TINY, "batch_size": 2, "verbose": 1}).fit(X, y)
    (bar,) = bars
    assert bar.total == 12
    assert seen_by_epoch == [[1, 2, 3, 4, 5, 6], list(range(1, 13))]
    assert bar.postfix.startswith("epoch=2/2, loss=")


def test_progress_bar_follows_the_time_budget(bars, monkeypatch):
    # `audiosr train --minutes 2` showed 0/20 epochs throughout: with max_time the bar
    # counts the budget's seconds, within the epoch. A fake clock makes each step 1 s.
    import time

    clock = {"now": 1000.0}

    def monotonic():
        clock["now"] += 0.25  # the loop reads the clock about four times a step
        return clock["now"]

    monkeypatch.setattr(time, "monotonic", monotonic)
    X, y = data()
    model = DualBranchSR(rate=4, **{**TINY, "batch_size": 2, "max_epochs": 100, "max_time": 10, "verbose": 1})
    model.fit(X, y)
    (bar,) = bars
    assert bar.total == 10 and bar.unit == "s"
    assert 1 <= model.n_iter_ <= 2  # under 12 steps fit in 10 fake seconds
    assert len(set(bar.seen)) >= 5 and bar.seen == sorted(bar.seen) and bar.seen[-1] >= 9


def test_time_budget_is_shared_by_resumed_runs(tmp_path, monkeypatch):
    X, y = data()
    path = tmp_path / "train.ckpt"
    params = {**TINY, "max_epochs": 50, "max_time": 60.0}
    count_epochs(monkeypatch, fail_at=3)
    with pytest.raises(KeyboardInterrupt):
        DualBranchSR(rate=4, checkpoint=path, **params).fit(X, y)
    saved = torch.load(path, weights_only=True)
    assert saved["epoch"] == 2 and 0 < saved["elapsed"] < 60
    # A budget already spent trains no further (no empty epoch either) ...
    calls = count_epochs(monkeypatch)
    spent = DualBranchSR(rate=4, checkpoint=path, **{**params, "max_time": saved["elapsed"] / 2}).fit(X, y)
    assert calls["n"] == 0 and spent.n_iter_ == 2 and len(spent.loss_curve_) == 2
    # ... and what is left of it is used: the elapsed time keeps growing in the file.
    calls = count_epochs(monkeypatch, fail_at=2)
    with pytest.raises(KeyboardInterrupt):
        DualBranchSR(rate=4, checkpoint=path, **params).fit(X, y)
    again = torch.load(path, weights_only=True)
    assert again["epoch"] == 3 and again["elapsed"] > saved["elapsed"]


def test_a_tiny_time_budget_still_trains_one_step():
    from audiosr import AudioUNet

    y = np.random.default_rng(0).standard_normal((8, 256))
    model = AudioUNet(rate=2, filters=(2,), kernel_sizes=(3,), patch_len=64, max_epochs=3, max_time=1e-9, random_state=0)
    model.fit(y[:, ::2], y)
    assert model.n_iter_ == 1 and model.t_ > 0 and np.isfinite(model.loss_curve_).all()
