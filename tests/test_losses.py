"""Tests of the training losses (audiosr.neural.losses)."""

import numpy as np
import pytest
import torch
from conftest import harmonic_signals

from audiosr import AudioUNet, DualBranchSR
from audiosr.metrics import lsd
from audiosr.neural.losses import (
    STFT_RESOLUTIONS,
    log_spectral_loss,
    multi_resolution_stft_loss,
    periodic_line_loss,
    scaled_resolutions,
    waveform_loss,
)


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


def _trained_without_and_with(Model, **term):
    """The clips and two tiny models trained on them: the defaults, and with ``term`` set."""
    y = harmonic_signals(8, 1024, seed=2).astype(np.float32)
    X = y[:, ::4].copy()
    return X, Model(rate=4, **TINY).fit(X, y), Model(rate=4, **term, **TINY).fit(X, y)


@pytest.mark.parametrize("Model", [DualBranchSR, AudioUNet])
def test_spectral_loss_enters_training(Model):
    X, plain, spectral = _trained_without_and_with(Model, spectral_loss=1.0)
    assert spectral.loss_curve_[0] > plain.loss_curve_[0] + 0.1  # the term is in bels, the MSE is ~1e-2
    assert not np.allclose(plain.transform(X), spectral.transform(X))


@pytest.mark.parametrize("value", [-0.1, float("nan"), "big"])
def test_bad_spectral_loss(value):
    y = harmonic_signals(4, 1024).astype(np.float32)
    with pytest.raises((ValueError, TypeError), match="spectral_loss"):
        DualBranchSR(rate=4, spectral_loss=value, **TINY).fit(y[:, ::4], y)


# ------------------------------------------------------------------ waveform loss


def test_waveform_losses_on_known_values():
    pred, target = torch.zeros(2, 4), torch.tensor([[1.0] * 4, [2.0] * 4])
    assert float(waveform_loss(pred, target, "mse")) == pytest.approx(2.5)
    assert float(waveform_loss(pred, target, "rmse")) == pytest.approx((np.sqrt(1 + 1e-6) + np.sqrt(4 + 1e-6)) / 2)
    with pytest.raises(ValueError, match="kind"):
        waveform_loss(pred, target, "l1")


def test_rmse_weighs_patches_alike_whatever_their_level():
    # The gradient of the per-patch RMSE has the same norm for a patch 100 times louder;
    # that of the squared error grows with the level.
    target = torch.tensor([[1.0, -1.0, 1.0, -1.0], [100.0, -100.0, 100.0, -100.0]])
    pred = (0.9 * target).requires_grad_()
    waveform_loss(pred, target, "rmse").backward()
    norms = pred.grad.norm(dim=-1)
    assert float(norms[1]) == pytest.approx(float(norms[0]), rel=1e-3)
    pred.grad = None
    waveform_loss(pred, target, "mse").backward()
    norms = pred.grad.norm(dim=-1)
    assert float(norms[1]) == pytest.approx(100 * float(norms[0]), rel=1e-3)


@pytest.mark.parametrize("Model", [DualBranchSR, AudioUNet])
@pytest.mark.parametrize("loss", ["mse", "rmse"])
def test_the_loss_parameter_chooses_the_waveform_loss(Model, loss):
    pred, target = torch.zeros(2, 4), torch.tensor([[1.0] * 4, [2.0] * 4])
    model = Model(loss=loss, stft_loss=0.0)
    assert float(model._loss(pred, target)) == pytest.approx(float(waveform_loss(pred, target, loss)))


def test_dual_branch_loss_defaults_and_bad_values():
    assert DualBranchSR().loss == "mse" and DualBranchSR.paper(4).loss == "mse"
    assert DualBranchSR._legacy_params["loss"] == "mse"  # models saved before it were trained on the MSE
    y = harmonic_signals(4, 1024).astype(np.float32)
    with pytest.raises(ValueError, match="loss"):
        DualBranchSR(rate=4, loss="l1", **TINY).fit(y[:, ::4], y)


# ------------------------------------------------------------------ multi-resolution STFT loss


def numpy_stft_magnitude(x, n_fft, hop):
    """|STFT| with centred reflect-padded frames and a periodic Hann window, in NumPy (the reference)."""
    padded = np.pad(x, [(0, 0), (n_fft // 2, n_fft // 2)], mode="reflect")
    n_frames = 1 + (padded.shape[-1] - n_fft) // hop
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = np.stack([padded[:, i * hop : i * hop + n_fft] for i in range(n_frames)], axis=-1)
    spec = np.fft.rfft(frames * window[:, None], axis=-2)
    return np.sqrt(np.maximum(np.abs(spec) ** 2, 1e-7))


def numpy_mr_stft_loss(pred, target, resolutions):
    total = 0.0
    for n_fft, hop in resolutions:
        p, t = numpy_stft_magnitude(pred, n_fft, hop), numpy_stft_magnitude(target, n_fft, hop)
        sc = np.linalg.norm(t - p, axis=(-2, -1)) / np.linalg.norm(t, axis=(-2, -1))
        mag = np.mean(np.abs(np.log(t) - np.log(p)), axis=(-2, -1))
        total += np.mean(sc + mag)
    return total / len(resolutions)


@pytest.mark.parametrize("n_times", [512, 2048, 8192])
def test_stft_loss_matches_a_numpy_reference(n_times):
    rng = np.random.default_rng(n_times)
    y = rng.standard_normal((3, n_times))
    y_hat = y + 0.3 * rng.standard_normal(y.shape)
    resolutions = scaled_resolutions(n_times)
    expected = numpy_mr_stft_loss(y_hat, y, resolutions)
    loss = multi_resolution_stft_loss(torch.as_tensor(y_hat), torch.as_tensor(y))
    assert loss.item() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("scale", [0.25, 0.5, 2.0, 3.0])
def test_stft_loss_of_a_scaled_signal(scale):
    # |S(a y)| = a |S(y)|: spectral convergence |1 - a|, log-magnitude L1 |log a|, at every resolution.
    y = torch.as_tensor(np.random.default_rng(0).standard_normal((2, 2048)))
    loss = multi_resolution_stft_loss(scale * y, y)
    assert loss.item() == pytest.approx(abs(1 - scale) + abs(np.log(scale)), rel=1e-9)


def test_stft_loss_is_zero_for_equal_inputs_and_finite_on_silence():
    y = torch.as_tensor(harmonic_signals(2, 2048))
    assert multi_resolution_stft_loss(y, y).item() == 0.0
    pred = torch.zeros(2, 2048, requires_grad=True)
    loss = multi_resolution_stft_loss(pred, 1e-3 * torch.ones(2, 2048))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()


@pytest.mark.parametrize(
    "n_times, expected",
    [
        (256, ((32, 8), (64, 16), (128, 32))),
        (2048, ((256, 64), (512, 128), (1024, 256))),
        (4096, STFT_RESOLUTIONS),
        (100000, STFT_RESOLUTIONS),
    ],
)
def test_stft_resolutions_scale_with_the_patch(n_times, expected):
    assert scaled_resolutions(n_times) == expected


@pytest.mark.parametrize("Model", [DualBranchSR, AudioUNet])
def test_stft_loss_enters_training(Model):
    y = harmonic_signals(8, 1024, seed=2).astype(np.float32)
    X = y[:, ::4].copy()
    plain = Model(rate=4, **TINY).fit(X, y)
    weighted = Model(rate=4, stft_loss=1.0, **TINY).fit(X, y)
    assert weighted.loss_curve_[0] > plain.loss_curve_[0] + 0.1  # the term is of order 1, the MSE ~1e-2
    assert not np.allclose(plain.transform(X), weighted.transform(X))
    assert Model.paper(4).stft_loss == 0.0


@pytest.mark.parametrize("value", [-0.1, float("nan"), "big"])
def test_bad_stft_loss(value):
    y = harmonic_signals(4, 1024).astype(np.float32)
    with pytest.raises((ValueError, TypeError), match="stft_loss"):
        DualBranchSR(rate=4, stft_loss=value, **TINY).fit(y[:, ::4], y)


# ------------------------------------------------------------------ the band the spectral terms compare


def _low_band_changed(y, stop_bin, gain):
    """``y`` with its lowest ``stop_bin`` FFT bins scaled: a change the high band does not see."""
    spectrum = torch.fft.rfft(y)
    spectrum[..., :stop_bin] *= gain
    return torch.fft.irfft(spectrum, n=y.shape[-1])


@pytest.mark.parametrize("loss", [log_spectral_loss, multi_resolution_stft_loss])
def test_a_high_band_loss_ignores_the_low_band(loss):
    y = torch.randn(2, 4096, generator=torch.Generator().manual_seed(0), dtype=torch.float64)  # every band busy
    changed = _low_band_changed(y, stop_bin=4096 // 2 // 8, gain=3.0)  # below 1/8 of the Nyquist frequency
    assert loss(changed, y).item() > 0.1
    assert loss(changed, y, min_freq=0.25).item() < 0.05 * loss(changed, y).item()  # window leakage only
    # A scaled signal is scaled in every band: the high band alone gives the same loss.
    assert loss(2 * y, y, min_freq=0.25).item() == pytest.approx(loss(2 * y, y).item(), rel=1e-3)


@pytest.mark.parametrize("min_freq", [-0.1, 1.0, 2])
def test_bad_min_freq(min_freq):
    y = torch.as_tensor(harmonic_signals(2, 2048))
    with pytest.raises(ValueError, match="min_freq"):
        multi_resolution_stft_loss(y, y, min_freq=min_freq)


@pytest.mark.parametrize("Model", [DualBranchSR, AudioUNet])
def test_spectral_band_high_trains_on_the_invented_band_only(Model):
    y = harmonic_signals(8, 1024, seed=2).astype(np.float32)
    X = y[:, ::4].copy()
    full = Model(rate=4, stft_loss=1.0, **TINY).fit(X, y)
    high = Model(rate=4, stft_loss=1.0, spectral_band="high", **TINY).fit(X, y)
    assert high.loss_curve_[0] != pytest.approx(full.loss_curve_[0], rel=1e-3)
    assert not np.allclose(full.transform(X), high.transform(X))
    assert Model.paper(4).spectral_band == "full" and Model(rate=4).spectral_band == "full"


@pytest.mark.parametrize("Model", [DualBranchSR, AudioUNet])
def test_a_numeric_spectral_band_counts_input_nyquist_frequencies(Model):
    pred = torch.as_tensor(harmonic_signals(4, 2048, seed=1))
    target = torch.as_tensor(harmonic_signals(4, 2048, seed=3))

    def loss(band):
        return float(Model(rate=4, stft_loss=1.0, spectral_band=band)._loss(pred, target))

    assert loss(1) == pytest.approx(loss("high")) and loss(0.0) == pytest.approx(loss("full"))
    assert Model(rate=4, spectral_band=1.5)._spectral_min_freq() == pytest.approx(0.375)
    # Each step up leaves more of the band to the waveform loss alone: the spectral part changes.
    assert len({round(loss(band), 6) for band in (1, 1.5, 3)}) == 3


@pytest.mark.parametrize("value", ["low", None, -0.5, 4, 6.0, float("nan"), True])
def test_bad_spectral_band(value):
    y = harmonic_signals(4, 1024).astype(np.float32)
    with pytest.raises((ValueError, TypeError), match="spectral_band"):
        DualBranchSR(rate=4, stft_loss=1.0, spectral_band=value, **TINY).fit(y[:, ::4], y)


@pytest.mark.parametrize("loss", [log_spectral_loss, multi_resolution_stft_loss])
@pytest.mark.parametrize("split", [1, 2])
def test_spectral_losses_split_over_shards_like_a_mean(loss, split):
    # Data-parallel training weights each process's loss by its share of the batch; that is
    # exact only if the loss of a batch is the mean of its examples' losses.
    g = torch.Generator().manual_seed(split)
    pred, target = torch.randn(3, 1024, generator=g, dtype=torch.float64), torch.randn(3, 1024, generator=g, dtype=torch.float64)
    whole = loss(pred, target)
    parts = split / 3 * loss(pred[:split], target[:split]) + (3 - split) / 3 * loss(pred[split:], target[split:])
    assert whole.item() == pytest.approx(parts.item(), rel=1e-12)


# ------------------------------------------------------------------ the periodic line term


def _noise(batch=8, n=2048, seed=0):
    return torch.randn(batch, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _pattern(n, period, amplitude):
    """A pulse every ``period`` samples: equal lines at every multiple of 1/period of the rate."""
    return amplitude * (torch.arange(n) % period == 0).to(torch.float64)


def test_line_loss_sees_a_periodic_pattern_and_its_strength():
    y = _noise()
    assert periodic_line_loss(y, y, period=64).item() == 0.0
    weak, strong = (periodic_line_loss(y + _pattern(2048, 64, a), y, period=64).item() for a in (1.0, 4.0))
    assert 0.1 < weak < strong
    # The grid of twice the period has a line at every other bin: about half the loss.
    assert periodic_line_loss(y + _pattern(2048, 64, 4.0), y, period=128).item() == pytest.approx(strong / 2, rel=0.2)


def test_line_loss_is_two_sided_scale_free_and_keeps_the_targets_own_lines():
    y = _noise(seed=1)
    lined = y + _pattern(2048, 64, 4.0)
    assert periodic_line_loss(y, lined, period=64).item() > 0.5  # missing lines: a notch is penalised too
    assert periodic_line_loss(lined, lined, period=64).item() == 0.0
    assert periodic_line_loss(1e-3 * lined, 1e-3 * y, period=64).item() == pytest.approx(
        periodic_line_loss(lined, y, period=64).item(), rel=1e-6
    )


def test_line_loss_scores_only_the_band_above_min_freq():
    y = _noise(seed=2)
    low = torch.cos(2 * torch.pi * torch.arange(2048) / 64 * 3)[None].to(torch.float64) * 4  # the 3rd harmonic
    assert periodic_line_loss(y + low, y, period=64).item() > 0.01
    assert periodic_line_loss(y + low, y, period=64, min_freq=0.25).item() < 1e-8  # 3/32 of Nyquist is below


def test_line_loss_has_finite_gradients_on_silence_and_no_grid_on_short_spacings():
    pred = torch.zeros(2, 1024, requires_grad=True)
    periodic_line_loss(pred, torch.zeros(2, 1024), period=32).backward()
    assert torch.isfinite(pred.grad).all()
    y = _noise(n=256)
    assert periodic_line_loss(y + _pattern(256, 128, 4.0), y, period=128).item() == 0.0  # 2 bins apart: no room
    with pytest.raises(ValueError, match="multiple of period"):
        periodic_line_loss(y, y, period=100)


@pytest.mark.parametrize("Model", [DualBranchSR, AudioUNet])
def test_line_loss_enters_training(Model):
    X, plain, weighted = _trained_without_and_with(Model, line_loss=10.0)
    assert weighted.loss_curve_[0] > plain.loss_curve_[0]
    assert not np.allclose(plain.transform(X), weighted.transform(X))
    assert Model.paper(4).line_loss == 0.0 and Model._legacy_params["line_loss"] == 0.0
    assert Model(rate=4, **TINY)._line_period(4) == (2 ** (len(TINY["filters"]) + 1)) * (4 if Model is DualBranchSR else 1)


@pytest.mark.parametrize("value", [-0.1, float("nan"), "big"])
def test_bad_line_loss(value):
    y = harmonic_signals(4, 1024).astype(np.float32)
    with pytest.raises((ValueError, TypeError), match="line_loss"):
        AudioUNet(rate=4, line_loss=value, **TINY).fit(y[:, ::4], y)
