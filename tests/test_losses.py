"""Tests of the training losses (audiosr.neural.losses)."""

import numpy as np
import pytest
import torch
from conftest import harmonic_signals

from audiosr import AudioUNet, DualBranchSR
from audiosr.metrics import lsd
from audiosr.neural.losses import log_spectral_loss


@pytest.mark.parametrize("n_fft", [256, 512])
def test_equals_the_lsd_metric_at_the_same_resolution(n_fft):
    y = harmonic_signals(3, 4096, seed=1)
    y_hat = y + 0.01 * np.random.default_rng(0).standard_normal(y.shape)
    loss = log_spectral_loss(torch.as_tensor(y_hat), torch.as_tensor(y), n_fft=n_fft)
    assert loss.item() == pytest.approx(lsd(y, y_hat, n_fft=n_fft, hop_length=n_fft // 4), rel=1e-6)


def test_zero_for_equal_inputs_and_finite_gradients_on_silence():
    y = torch.as_tensor(harmonic_signals(2, 2048))
    assert log_spectral_loss(y, y).item() == pytest.approx(0.0, abs=1e-5)
    pred = torch.zeros(2, 2048, requires_grad=True)
    loss = log_spectral_loss(pred, torch.zeros(2, 2048))
    loss.backward()
    assert torch.isfinite(pred.grad).all() and loss.item() == pytest.approx(0.0, abs=1e-5)


def test_short_patches_clip_the_frame_length():
    y = torch.as_tensor(harmonic_signals(2, 256))
    assert torch.isfinite(log_spectral_loss(0.5 * y, y, n_fft=512))


TINY = dict(filters=(4, 8), kernel_sizes=(9, 5), patch_len=256, max_epochs=2, random_state=0, device="cpu")


@pytest.mark.parametrize("Model", [DualBranchSR, AudioUNet])
def test_spectral_loss_enters_training(Model):
    y = harmonic_signals(8, 1024, seed=2).astype(np.float32)
    X = y[:, ::4].copy()
    plain = Model(rate=4, **TINY).fit(X, y)
    spectral = Model(rate=4, spectral_loss=1.0, **TINY).fit(X, y)
    assert spectral.loss_curve_[0] > plain.loss_curve_[0] + 0.1  # the term is in bels, the MSE is ~1e-2
    assert not np.allclose(plain.transform(X), spectral.transform(X))


@pytest.mark.parametrize("value", [-0.1, float("nan"), "big"])
def test_bad_spectral_loss(value):
    y = harmonic_signals(4, 1024).astype(np.float32)
    with pytest.raises((ValueError, TypeError), match="spectral_loss"):
        DualBranchSR(rate=4, spectral_loss=value, **TINY).fit(y[:, ::4], y)
