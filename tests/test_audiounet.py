"""Tests for AudioUNet (Kuleshov et al. 2017) on the shared training base."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from audiosr import AudioUNet, SplineUpsampler
from audiosr.metrics import snr

TINY = dict(
    filters=(4, 8), kernel_sizes=(9, 5), patch_len=256, batch_size=8, max_epochs=1, random_state=0, device="cpu"
)


def pairs(rate, n=6, length=512, seed=0):
    y = np.random.default_rng(seed).standard_normal((n, length))
    return y[:, ::rate].copy(), y


@pytest.mark.parametrize("rate", [2, 3, 4, 6, 8])
@pytest.mark.parametrize("loss", ["rmse", "mse"])
def test_every_rate_and_loss(rate, loss):
    X, y = pairs(rate, length=rate * 128)
    model = AudioUNet(rate=rate, loss=loss, **TINY).fit(X, y)
    out = model.transform(X.astype(np.float32))
    assert out.shape == y.shape and out.dtype == np.float32 and np.all(np.isfinite(out))


def test_rmse_loss_is_the_batch_mean_of_per_example_rmse():
    model = AudioUNet(loss="rmse")
    pred, target = torch.zeros(2, 4), torch.tensor([[1.0] * 4, [2.0] * 4])
    assert float(model._loss(pred, target)) == pytest.approx((np.sqrt(1 + 1e-6) + np.sqrt(4 + 1e-6)) / 2)
    assert float(AudioUNet(loss="mse")._loss(pred, target)) == pytest.approx(2.5)


def test_untrained_network_starts_at_the_interpolator():
    # Residual + near-zero last layer: before training, the network's output ~ spline input.
    X, y = pairs(4)
    model = AudioUNet(rate=4, keep_low_band=False, **{**TINY, "learning_rate": 1e-12}).fit(X, y)
    assert snr(SplineUpsampler(rate=4).transform(X), model.transform(X)) > 25


def test_parameter_counts_and_paper_preset():
    default = AudioUNet(rate=4)
    assert sum(p.numel() for p in default._make_module(**default._module_kwargs(None, None, 4)).parameters()) == 530_594
    paper = AudioUNet.paper(4, max_epochs=2)
    assert paper.filters == (128, 256, 512, 512) and paper.kernel_sizes == (65, 33, 17, 9)
    assert paper.loss == "rmse" and paper.dropout == 0.5 and paper.patch_len == 8192 and paper.max_epochs == 2
    assert sum(p.numel() for p in paper._make_module(**paper._module_kwargs(None, None, 4)).parameters()) == 56_411_394


def test_automatic_patch_len():
    assert AudioUNet(rate=6)._resolved_patch_len(6) == 2048  # no replicator: only 2**(B+1) matters
    with pytest.raises(ValueError, match="multiple of 32"):
        AudioUNet(rate=4, patch_len=1000).fit(*pairs(4, length=4000))


def test_learns_the_missing_harmonics_in_a_short_fit(gain_over_spline):
    # The harmonics continue above the input's band, in phase: learnable, not interpolable.
    ours, spline = gain_over_spline(
        AudioUNet(
            rate=4,
            filters=(8, 16),
            kernel_sizes=(17, 9),
            patch_len=512,
            learning_rate=3e-3,
            batch_size=16,
            max_epochs=6,
            random_state=0,
            device="cpu",
        )
    )
    assert ours["high_band_snr"] > spline["high_band_snr"] + 6, (ours, spline)
    assert ours["lsd"] < spline["lsd"] - 0.3, (ours, spline)


def test_seeding_pickle_clone_and_grid_search(tmp_path):
    X, y = pairs(4, n=8)
    a, b = AudioUNet(rate=4, **TINY).fit(X, y), AudioUNet(rate=4, **TINY).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    joblib.dump(a, tmp_path / "m.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").transform(X), a.transform(X))
    assert not hasattr(clone(a), "module_")
    search = GridSearchCV(
        AudioUNet(rate=4, **TINY), {"loss": ["rmse", "mse"], "learning_rate": [1e-3, 1e-2]}, cv=2
    ).fit(X, y)
    assert set(search.best_params_) == {"loss", "learning_rate"}


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "l1"}, "loss"),
        ({"filters": (4, 8, 16)}, "same length"),
        ({"kernel_sizes": (9, 4)}, "odd"),
        ({"dropout": -0.1}, "dropout"),
        ({"input_upsampler": "nearest"}, "input_upsampler"),
        ({"patch_len": 0}, "patch_len"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        AudioUNet(rate=4, **{**TINY, **params}).fit(*pairs(4))


def test_bad_input():
    X, y = pairs(4)
    model = AudioUNet(rate=4, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="shorter than one patch"):
        model.transform(np.zeros((1, 20)))
    with pytest.raises(ValueError, match="NaN"):
        model.transform(np.full((1, 100), np.nan))
    with pytest.raises(ValueError, match="trained to up-sample by 4"):
        model.set_params(rate=2).transform(X)
