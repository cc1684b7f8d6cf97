"""Tests for the thread policy of inference (audiosr.threads) and the n_threads parameters."""

import threading

import numpy as np
import pytest
import torch

import audiosr
from audiosr import threads
from audiosr.cli import main


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="n_threads must be a positive integer or None"):
        threads.check_threads(bad)


def test_resolution_order(monkeypatch):
    monkeypatch.setattr(threads, "available_cpus", lambda: 6)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.resolve_threads(None) == 6
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.resolve_threads(None) == 2  # a user's limit holds
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert threads.resolve_threads(None) == 6
    with audiosr.inference_threads(3):
        assert threads.resolve_threads(None) == 3  # the process setting
        assert threads.resolve_threads(5) == 5  # an explicit count wins
    assert threads.resolve_threads(None) == 6  # restored on leaving


def test_set_inference_threads_returns_the_previous_setting():
    assert audiosr.set_inference_threads(2) is None
    assert audiosr.set_inference_threads(None) == 2


@pytest.mark.parametrize("n_threads", [1, 2, 3, 5])
@pytest.mark.parametrize("batch_len", [1, 2, 7, 16])
def test_split_batches_keeps_the_order(n_threads, batch_len):
    names = set()

    def network(batch):
        names.add(threading.current_thread().name)
        return batch * 2 + np.arange(batch.shape[1], dtype=np.float32)

    batch = np.arange(batch_len * 3, dtype=np.float32).reshape(batch_len, 3)
    with threads.split_batches(network, n_threads) as run:
        np.testing.assert_array_equal(run(batch), network(batch))
    if n_threads > 1 and batch_len > 1:
        assert any(name.startswith("audiosr-inference") for name in names)


def _tiny(cls):
    kw = dict(max_epochs=1, random_state=0, device="cpu")
    if cls is audiosr.SpectralDNN:
        kw.update(n_fft=64, hidden_layer_sizes=(16,))
    else:
        kw.update(filters=(4, 8), kernel_sizes=(9, 5), patch_len=256)
    y = 0.3 * np.random.default_rng(0).standard_normal((4, 1024))
    return cls(rate=4, **kw).fit(y[:, ::4], y)


@pytest.mark.parametrize("cls", ["DualBranchSR", "AudioUNet", "SpectralDNN"])
def test_threads_do_not_change_the_output(cls):
    model = _tiny(getattr(audiosr, cls))
    x = 0.3 * np.random.default_rng(1).standard_normal((2, 1500))
    before = torch.get_num_threads()
    one = model.set_params(n_threads=1).transform(x)
    for n in (2, 3):
        np.testing.assert_allclose(model.set_params(n_threads=n, batch_size=5).transform(x), one, atol=1e-6)
    assert torch.get_num_threads() == before  # torch's own setting is restored after transform


def test_bad_n_threads_fails_in_transform():
    model = _tiny(audiosr.AudioUNet).set_params(n_threads=0)
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        model.transform(np.zeros((1, 300)))


def test_command_line_threads(tmp_path, capsys):
    import soundfile as sf

    src = tmp_path / "in.wav"
    sf.write(src, 0.3 * np.sin(np.arange(4000) / 5), 8000)
    assert main(["upsample", str(src), "-o", str(tmp_path / "out.wav"), "--rate", "2", "--threads", "1"]) == 0
    assert threads.resolve_threads(None) == threads.resolve_threads(threads._default)  # no setting leaks out
    assert threads._default is None
    with pytest.raises(SystemExit):
        main(["upsample", str(src), "-o", str(tmp_path / "o2.wav"), "--threads", "0"])
    assert "--threads: must be a positive integer" in capsys.readouterr().err
