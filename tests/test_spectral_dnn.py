"""Tests for SpectralDNN (Li & Lee 2015): spectral pipeline, resynthesis, quality, sklearn tooling."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from audiosr import SincUpsampler, SpectralDNN, SplineUpsampler, _inference, decimate, make_pairs
from audiosr.metrics import lsd_hf
from audiosr.neural import SpectralDNNModule
from audiosr.neural.spectral_dnn import imaged_phase, istft, low_band_bins, stft

N_FFT = 64
TINY = dict(n_fft=N_FFT, context=3, hidden_layer_sizes=(16,), batch_size=32, max_epochs=1, random_state=0, device="cpu")
RATES = [2, 3, 4, 6, 8]


def tiny(rate, **kw):
    return SpectralDNN(rate=rate, **{**TINY, **kw})


def pairs(rate, n=4, length=80, seed=0):
    """Random high-rate clips of ``length * rate`` samples and their plain subsampling."""
    y = np.random.default_rng(seed).standard_normal((n, length * rate))
    return y[:, ::rate].copy(), y


def zero_stuff(X, rate):
    up = np.zeros((X.shape[0], X.shape[1] * rate), dtype=X.dtype)
    up[:, ::rate] = X
    return up


def state(model):
    return {k: v.clone() for k, v in model.module_.state_dict().items()}


# --------------------------------------------------------------------------- shapes, rates, lengths


@pytest.mark.parametrize("rate", RATES)
def test_every_rate_shapes_dtypes_and_lengths(rate):
    X, y = pairs(rate)
    model = tiny(rate, max_epochs=2).fit(X, y)
    assert len(model.loss_curve_) == model.n_iter_ == 2 and model.rate_ == rate
    assert model.n_features_in_ == X.shape[1]
    shortest = -(-N_FFT // rate)  # ceil(n_fft / rate)
    for length in (shortest, shortest + 1, 2 * shortest + 3, X.shape[1]):
        for dtype in (np.float32, np.float64):
            out = model.transform(X[:, :length].astype(dtype))
            assert out.shape == (len(X), length * rate) and out.dtype == dtype
            assert np.all(np.isfinite(out))


@pytest.mark.parametrize("rate", [2, 3])
def test_too_short_clips_name_the_minimum(rate):
    shortest = -(-N_FFT // rate)
    X, y = pairs(rate)
    model = tiny(rate).fit(X, y)
    with pytest.raises(ValueError, match=f"at least {shortest} low-rate samples"):
        model.transform(X[:, : shortest - 1])
    with pytest.raises(ValueError, match=f"at least {shortest} low-rate samples"):
        tiny(rate).fit(X[:, : shortest - 1], y[:, : (shortest - 1) * rate])


def test_frame_geometry():
    assert [low_band_bins(512, r) for r in RATES] == [129, 86, 65, 43, 33]
    module = SpectralDNNModule(512, 2, 9, (8,), 0.0)
    assert (module.n_low, module.n_high) == (129, 128)  # Kuleshov's 128 high-band bins at rate 2
    assert module(torch.zeros(5, 9 * 129)).shape == (5, 128)
    X, y = pairs(2, n=2, length=100)
    model = tiny(2)
    inputs, targets = model._training_data(X, y, 2)
    n_frames = 1 + 200 // (N_FFT // 4)
    assert inputs.shape == (2 * n_frames, 3 * low_band_bins(N_FFT, 2)) and inputs.dtype == np.float32
    assert targets.shape == (2 * n_frames, N_FFT // 2 + 1 - low_band_bins(N_FFT, 2)) and targets.dtype == np.float32


def test_context_repeats_edge_frames():
    X, y = pairs(2, n=1, length=100)
    inputs, _ = tiny(2, context=5)._training_data(X, y, 2)
    k = low_band_bins(N_FFT, 2)
    frames = inputs.reshape(len(inputs), 5, k)
    centre = frames[:, 2]
    # Frame t holds frames t-2 .. t+2, clamped at the ends.
    for t in range(len(inputs)):
        for j, offset in enumerate(range(-2, 3)):
            np.testing.assert_array_equal(frames[t, j], centre[min(max(t + offset, 0), len(inputs) - 1)])


# --------------------------------------------------------------------------- spectral pipeline


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_stft_istft_round_trip_is_exact(dtype, tol):
    x = torch.randn(3, 1001, dtype=dtype, generator=torch.Generator().manual_seed(0))
    for n_fft in (16, 64, 512):
        assert torch.allclose(istft(stft(x, n_fft), n_fft, 1001), x, atol=tol, rtol=0)
    # Squared periodic Hann at hop n_fft / 4 sums to the constant 3/2: a flat normaliser.
    w = torch.hann_window(64, periodic=True, dtype=torch.float64) ** 2
    assert torch.allclose(w.reshape(4, 16).sum(0), torch.full((16,), 1.5, dtype=torch.float64))


@pytest.mark.parametrize("n", [64, 1001])
def test_numpy_framing_matches_the_torch_functions(n):
    # The estimator computes its STFTs in NumPy (so exported models need no torch); the
    # public torch functions document the same framing, so the two must agree.
    x = np.random.default_rng(n).standard_normal(n)
    S = stft(torch.tensor(x), N_FFT)
    np.testing.assert_allclose(_inference.stft_frames(x, N_FFT), S.numpy().T, atol=1e-10)
    modified = S * torch.exp(1j * torch.linspace(0, 3, S.shape[0], dtype=torch.float64))[:, None]
    np.testing.assert_allclose(
        _inference.istft_frames(modified.numpy().T, N_FFT, n), istft(modified, N_FFT, n).numpy(), atol=1e-10
    )
    low = x[: n // 3]
    up = np.zeros(low.size * 3)
    up[::3] = low
    # Angles of near-zero bins are arbitrary: compare phasors weighted by the image's magnitude.
    magnitude = np.abs(_inference.stft_frames(up, N_FFT))
    torch_phase = imaged_phase(torch.tensor(low), 3, N_FFT).numpy().T
    numpy_phase = _inference.imaged_phase_frames(low, 3, N_FFT)
    np.testing.assert_allclose(magnitude * np.exp(1j * numpy_phase), magnitude * np.exp(1j * torch_phase), atol=1e-9)


def test_imaged_phase_is_mirrored_at_rate_2():
    # Hand case: a low-rate tone at 1/8 cycle per sample sits in bin 4 of a 64-point STFT
    # at the high rate (1/16 cycle per sample); zero-stuffing puts its image in bin 32 - 4 = 28.
    n = np.arange(200)
    x = torch.tensor(np.cos(2 * np.pi * n / 8 + 0.3))
    up = torch.zeros(400, dtype=torch.float64)
    up[::2] = x
    mag = stft(up, 64).abs()
    high = torch.arange(33, dtype=torch.float64)[low_band_bins(64, 2) :]
    assert torch.all(high[mag[low_band_bins(64, 2) :].argmax(dim=0)] == 28)
    phase = imaged_phase(x, 2, 64)
    np.testing.assert_allclose(np.exp(1j * phase[28].numpy()), np.exp(-1j * phase[4].numpy()), atol=1e-9)
    # In general: bin n_fft/2 - j is the complex conjugate of bin j, in every frame.
    x = torch.randn(300, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    up = torch.zeros(600, dtype=torch.float64)
    up[::2] = x
    S = stft(up, 64)
    j = torch.arange(17)
    assert torch.allclose(S[32 - j], S[j].conj(), atol=1e-12)
    assert torch.equal(imaged_phase(x, 2, 64), torch.angle(S))


def test_imaged_phase_places_the_images_at_rate_3():
    # A tone in bin 4 of a 96-point STFT at the high rate has images in bins 32 - 4 and 32 + 4.
    n = np.arange(300)
    x = torch.tensor(np.cos(2 * np.pi * n / 8))
    up = torch.zeros(900, dtype=torch.float64)
    up[::3] = x
    mag = stft(up, 96).abs()[:, 10]  # an interior frame
    assert sorted(torch.topk(mag, 3).indices.tolist()) == [4, 28, 36]


@pytest.mark.parametrize("rate", [2, 3, 4])
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_low_band_is_passed_through(rate, dtype, tol):
    # Even an untrained network leaves the input's band alone: below the low-rate Nyquist
    # frequency the output's spectrum is the sinc-interpolated input's (the network's own
    # whole-clip restoration, without the crossover that keep_low_band adds on top).
    X, y = pairs(rate, length=101)
    X = X.astype(dtype)
    model = tiny(rate, max_epochs=1, learning_rate=1e-6, keep_low_band=False).fit(X, y)
    out = model.transform(X).astype(np.float64)
    z = SincUpsampler(rate=rate).transform(X).astype(np.float64)
    keep = X.shape[1] // 2 + 1
    spec_out, spec_z = np.fft.rfft(out), np.fft.rfft(z)
    np.testing.assert_allclose(spec_out[:, :keep], spec_z[:, :keep], atol=tol * np.abs(spec_z).max(), rtol=0)
    # ...while above it the output is the model's, not the interpolator's.
    assert np.linalg.norm(spec_out[:, keep:] - spec_z[:, keep:]) > 0.1 * np.linalg.norm(spec_z[:, :keep])


@pytest.mark.parametrize("rate", [2, 3, 4])
def test_resynthesis_is_exact_with_the_true_high_band(rate, monkeypatch):
    # When the input is the zero-stuffed signal itself (its high band is the image of its
    # low band, so the imaged phase is the true phase) and the network returns the true
    # high-band log power frame by frame, the output must be the reference exactly: this
    # checks the frame alignment of features, targets and inference, the log-power round
    # trip, the batching over frames and the inverse STFT together.
    X, _ = pairs(rate, n=3, length=91)
    y = rate * zero_stuff(X, rate)
    model = tiny(rate, batch_size=7, keep_low_band=False).fit(X, y)
    monkeypatch.setattr(_inference, "sinc_interpolate", lambda X_, rate_: rate_ * zero_stuff(X_, rate_))
    k = low_band_bins(N_FFT, rate)
    truth = (
        torch.log(stft(torch.tensor(y), N_FFT)[:, k:].abs() ** 2 + 1e-10)
        .transpose(1, 2)
        .reshape(-1, N_FFT // 2 + 1 - k)
    )
    served = {"n": 0}

    def oracle(features):
        start = served["n"]
        served["n"] += len(features)
        return truth[start : served["n"]]

    monkeypatch.setattr(model.module_, "forward", oracle)
    out = model.transform(X)
    assert served["n"] == len(truth)
    np.testing.assert_allclose(out, y, atol=1e-9 * np.abs(y).max(), rtol=0)


def test_silent_prediction_leaves_only_the_low_band(monkeypatch):
    X, y = pairs(2, length=100)
    model = tiny(2).fit(X, y)
    monkeypatch.setattr(model.module_, "forward", lambda f: torch.full((len(f), model.module_.n_high), np.log(1e-10)))
    out = model.transform(X)
    z = SincUpsampler(rate=2).transform(X)
    # A predicted power at the floor gives zero magnitudes: above the input's band the
    # output holds no more energy than the interpolator's own transition band and edges.
    keep = X.shape[1] // 2 + 1
    high_out, high_z = (np.abs(np.fft.rfft(a)[:, keep:]) ** 2 for a in (out, z))
    assert high_out.sum() < high_z.sum()


# --------------------------------------------------------------------------- training


def test_standardisation_buffers_hold_the_training_statistics():
    X, y = pairs(2, n=3, length=100)
    model = tiny(2).fit(X, y)
    inputs, targets = model._training_data(X, y, 2)
    module = model.module_
    np.testing.assert_allclose(module.in_mean.numpy(), inputs.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(module.out_std.numpy(), np.maximum(targets.std(0), 0.1), rtol=1e-4)
    assert not hasattr(model, "_fit_statistics")
    assert set(module.state_dict()) >= {"in_mean", "in_std", "out_mean", "out_std"}


def test_loss_and_validation_score():
    X, y = pairs(2)
    model = tiny(2, early_stopping=True, max_epochs=3, n_iter_no_change=5).fit(X, y)
    assert len(model.validation_scores_) == 3 and all(s <= 0 for s in model.validation_scores_)
    assert model.best_validation_score_ == pytest.approx(max(model.validation_scores_))
    target = torch.randn(10, 4)
    assert model._score_batch(target, target) == 0.0
    # One bel (a factor 10 in power) everywhere: a score of -1.
    assert model._score_batch(target + np.log(10.0), target) == pytest.approx(-1.0)
    # The loss is the MSE in standardised units.
    err = 2 * model.module_.out_std[None]
    assert float(model._loss(err, torch.zeros_like(err))) == pytest.approx(4.0)


def test_verbose_bar_shows_the_lsd_label(capsys):
    X, y = pairs(2)
    tiny(2, verbose=1, early_stopping=True).fit(X, y)
    assert "val_neg_lsd" in capsys.readouterr().err


def test_beats_spline_on_high_band_lsd(harmonic):
    # The harmonics continue above the input's band: learnable, not interpolable.
    rate = 4
    X, y = make_pairs(list(harmonic(32, 8192, seed=0)), rate, segment=4096)
    test = harmonic(8, 8192, seed=1)
    X_test = decimate(test, rate)
    model = SpectralDNN(
        rate=rate,
        n_fft=512,
        context=5,
        hidden_layer_sizes=(128,),
        batch_size=64,
        max_epochs=5,
        random_state=0,
        device="cpu",
    ).fit(X, y)
    spline = lsd_hf(test, SplineUpsampler(rate=rate).transform(X_test), rate=rate)
    ours = lsd_hf(test, model.transform(X_test), rate=rate)
    # Measured over 8 seeds and 4 data draws: a margin of 0.6 to 0.9 bel.
    assert ours < spline - 0.4, (ours, spline)


# --------------------------------------------------------------------------- sklearn tooling


def test_seeded_fits_are_identical():
    X, y = pairs(3)
    a, b = tiny(3, max_epochs=2).fit(X, y), tiny(3, max_epochs=2).fit(X, y)
    for key, value in state(a).items():
        assert torch.equal(value, state(b)[key]), key
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = tiny(3, max_epochs=2, random_state=1).fit(X, y)
    assert not torch.equal(state(a)["mlp.0.weight"], state(c)["mlp.0.weight"])


def test_joblib_round_trip_is_bit_exact(tmp_path):
    X, y = pairs(2)
    model = tiny(2, dropout=0.2).fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    assert loaded._module_kwargs_ == model._module_kwargs_
    assert all(isinstance(v, (int, float, tuple)) for v in loaded._module_kwargs_.values())
    assert torch.equal(loaded.module_.out_std, model.module_.out_std)


def test_clone_is_unfitted():
    X, y = pairs(2)
    fresh = clone(tiny(2).fit(X, y))
    assert not hasattr(fresh, "module_")
    with pytest.raises(NotFittedError):
        fresh.transform(X)


def test_warm_start_continues_and_refuses_a_new_geometry():
    X, y = pairs(2)
    model = tiny(2, warm_start=True).fit(X, y)
    means = state(model)["in_mean"]
    model.fit(X * 2, y * 2)
    assert model.n_iter_ == 2 and torch.equal(model.module_.in_mean, means)
    before = model.transform(X)
    model.set_params(n_fft=32)
    with pytest.raises(ValueError, match="warm_start: the model was trained with n_fft=64"):
        model.fit(X, y)
    # The fitted geometry is what transform uses until the next fit.
    np.testing.assert_array_equal(model.transform(X), before)
    assert model.set_params(warm_start=False).fit(X, y).module_.n_fft == 32


def test_grid_search_over_two_parameters():
    X, y = pairs(2, n=8)
    search = GridSearchCV(tiny(2), {"context": [1, 3], "hidden_layer_sizes": [(8,), (16, 16)]}, cv=2)
    search.fit(X, y)
    assert set(search.best_params_) == {"context", "hidden_layer_sizes"}
    assert np.isfinite(search.best_score_)


def test_paper_preset_and_parameter_counts():
    model = SpectralDNN.paper(2, max_epochs=3)
    assert model.hidden_layer_sizes == (2048, 2048, 2048, 2048) and model.n_fft == 512 and model.context == 9
    assert model.early_stopping and model.n_iter_no_change == 8 and model.batch_size == 128
    assert model.max_epochs == 3 and model.rate == 2 and model.lr_schedule == "constant"

    def count(estimator, rate):
        k = low_band_bins(estimator.n_fft, rate)
        inputs = np.zeros((2, estimator.context * k), np.float32)
        targets = np.zeros((2, estimator.n_fft // 2 + 1 - k), np.float32)
        module = estimator._make_module(**estimator._module_kwargs(inputs, targets, rate))
        return sum(p.numel() for p in module.parameters())

    # 1161 -> 2048 -> 2048 -> 2048 -> 2048 -> 128
    assert count(model, 2) == 1161 * 2048 + 2048 + 3 * (2048 * 2048 + 2048) + 2048 * 128 + 128 == 15_231_104
    assert count(SpectralDNN.paper(4), 4) == 14_182_592
    assert count(SpectralDNN(), 2) == 923_264
    assert count(SpectralDNN(), 4) == 661_184


def test_an_int_is_one_hidden_layer():
    X, y = pairs(2)
    assert tiny(2, hidden_layer_sizes=8).fit(X, y)._module_kwargs_["hidden_layer_sizes"] == (8,)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_fft": 62}, "multiple of 4"),
        ({"n_fft": 4}, "multiple of 4"),
        ({"n_fft": 64.0}, "n_fft"),
        ({"rate": 8, "n_fft": 8}, "too small for rate=8"),
        ({"context": 4}, "odd positive integer"),
        ({"context": 0}, "odd positive integer"),
        ({"hidden_layer_sizes": ()}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": "wide"}, "hidden_layer_sizes"),
        ({"dropout": 1.0}, "dropout"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_epochs": 1.5}, "max_epochs"),
        ({"lr_schedule": "cosine"}, "lr_schedule"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters(params, match):
    rate = params.pop("rate", 2)
    X, y = pairs(rate)
    with pytest.raises(ValueError, match=match):
        tiny(rate, **params).fit(X, y)


def test_nan_input_and_rate_mismatch():
    X, y = pairs(2)
    bad = X.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tiny(2).fit(bad, y)
    model = tiny(2).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        model.transform(bad)
    model.set_params(rate=4)
    with pytest.raises(ValueError, match="trained to up-sample by 2"):
        model.transform(X)
