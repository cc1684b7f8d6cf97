"""Low-band passthrough and high-band gain: the filters, the functions, and ``keep_low_band`` /
``high_band_gain`` on every neural estimator (with ``high_band_smoothing`` where the output
settings are tested together; its own tests are in test_postfilter.py)."""

import json

import joblib
import numpy as np
import pytest
import scipy.signal
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import noise_pairs, tiny_neural

from audiosr import AudioUNet, DualBranchSR, SincUpsampler, SpectralDNN, load_model, pretrained, save_model
from audiosr.crossover import (
    DEFAULT_CROSSOVER,
    GAIN_EDGE,
    TRANSITION_WIDTH,
    check_high_band_gain,
    check_keep_low_band,
    crossover_filter,
    crossover_reach,
    gain_reach,
    high_band_gain,
    low_band_passthrough,
)

@pytest.fixture(scope="module")
def fitted():
    """A fitted tiny DualBranchSR at rate 4 with the passthrough off, and its training input."""
    X, y = noise_pairs()
    return tiny_neural(DualBranchSR, keep_low_band=False, learning_rate=1e-2, max_epochs=2).fit(X, y), X


# --------------------------------------------------------------------------- parameter values


@pytest.mark.parametrize(
    "value, expected",
    [(True, DEFAULT_CROSSOVER), (np.True_, DEFAULT_CROSSOVER), (False, None), (0, None), (0.0, None),
     (0.5, 0.5), (np.float32(0.25), 0.25), (0.999, 0.999)],
)  # fmt: skip
def test_keep_low_band_values(value, expected):
    assert check_keep_low_band(value) == expected


@pytest.mark.parametrize("value", [1, 1.0, -0.1, 1.5, float("nan"), float("inf"), "yes", None, [0.5]])
def test_bad_keep_low_band_values_are_refused(value):
    with pytest.raises(ValueError, match="keep_low_band must be True, False or a crossover frequency in"):
        check_keep_low_band(value)


def test_bad_filter_arguments():
    with pytest.raises(ValueError, match="crossover"):
        crossover_filter(4, 1.2)
    with pytest.raises(ValueError, match="width"):
        crossover_filter(4, 0.5, width=0)
    with pytest.raises(ValueError, match="rate"):
        crossover_filter(1, 0.5)
    with pytest.raises(ValueError, match="shape"):
        low_band_passthrough(np.zeros((1, 100)), np.zeros((1, 30)), 4)


# --------------------------------------------------------------------------- the filter


@settings(max_examples=25, deadline=None)
@given(
    rate=st.integers(2, 8),
    crossover=st.floats(0.3, 0.95),
    width=st.floats(0.05, 0.2),
)
def test_filter_is_a_zero_phase_low_pass_with_the_stated_bands(rate, crossover, width):
    h = crossover_filter(rate, crossover, width=width)
    assert h.size % 2 == 1 and np.array_equal(h, h[::-1])  # symmetric about its centre: no delay
    edges = np.array([crossover - width / 2, crossover, crossover + width / 2])
    freqs = np.concatenate([np.linspace(0, max(edges[0], 0), 50), [edges[1]], np.linspace(edges[2], rate, 200)])
    _, response = scipy.signal.freqz(h, worN=freqs * np.pi / rate)  # input-Nyquist units -> radians/sample
    gain = np.abs(response)
    assert np.all(np.abs(gain[:50] - 1) < 2e-4)
    assert abs(gain[50] - 0.5) < 1e-3
    assert np.all(gain[51:] < 2e-4)
    assert crossover_reach(rate, crossover, width=width) == np.ceil((h.size // 2) / rate) + 11


def spectra(a, b):
    """Hann-windowed spectra of two batches of clips (the window keeps the clip edges from leaking)."""
    w = np.hanning(a.shape[-1])
    return np.fft.rfft(a * w), np.fft.rfft(b * w)


def band(n_high, rate, lo, hi):
    """rfft bins of an ``n_high``-sample clip between ``lo`` and ``hi`` (fractions of the input's Nyquist)."""
    per_nyquist = n_high / (2 * rate)
    return slice(int(np.ceil(lo * per_nyquist)), int(hi * per_nyquist))


def rel_error(a, b):
    return np.abs(a - b).max() / np.sqrt(np.mean(np.abs(b) ** 2))


@pytest.mark.parametrize("rate", [2, 3, 4])
@pytest.mark.parametrize("crossover", [0.4, DEFAULT_CROSSOVER])
def test_passthrough_splits_the_spectrum(rate, crossover):
    rng = np.random.default_rng(rate)
    x = rng.standard_normal((2, 600))
    y = rng.standard_normal((2, 600 * rate))  # a "model output" unrelated to x in every band
    out = low_band_passthrough(y, x, rate, crossover=crossover)
    sinc = SincUpsampler(rate=rate).transform(x)
    half, margin = TRANSITION_WIDTH / 2, 0.02  # a margin for the Hann window's main lobe
    low = band(y.shape[-1], rate, 0, crossover - half - margin)
    high = band(y.shape[-1], rate, crossover + half + margin, rate)
    f_out, f_sinc = spectra(out, sinc)
    f_out, f_y = spectra(out, y)
    assert rel_error(f_out[:, low], f_sinc[:, low]) < 1e-3
    assert rel_error(f_out[:, high], f_y[:, high]) < 1e-3
    # Identity when the model is the interpolator; dtype kept.
    np.testing.assert_allclose(low_band_passthrough(sinc, x, rate, crossover=crossover), sinc, atol=1e-12)
    assert low_band_passthrough(y.astype(np.float32), x, rate).dtype == np.float32


# --------------------------------------------------------------------------- on the estimators


def test_fitted_model_is_exact_below_the_crossover_and_its_own_above(fitted):
    model, X = fitted
    crossover, rate = 0.6, 4
    raw = model.transform(X)
    out = model.set_params(keep_low_band=crossover).transform(X)
    model.set_params(keep_low_band=False)
    sinc = SincUpsampler(rate=rate).transform(X)
    half, margin = TRANSITION_WIDTH / 2, 0.02
    low = band(raw.shape[-1], rate, 0, crossover - half - margin)
    high = band(raw.shape[-1], rate, crossover + half + margin, rate)
    f_out, f_sinc = spectra(out, sinc)
    f_raw, _ = spectra(raw, sinc)
    assert rel_error(f_raw[:, low], f_sinc[:, low]) > 0.05  # the network does change the low band...
    assert rel_error(f_out[:, low], f_sinc[:, low]) < 1e-3  # ...and the passthrough takes that back
    assert rel_error(f_out[:, high], f_raw[:, high]) < 1e-3


@pytest.mark.parametrize("cls", [DualBranchSR, AudioUNet, SpectralDNN])
def test_every_estimator_applies_it_by_default(cls):
    X, y = noise_pairs(length=256)
    model = tiny_neural(cls).fit(X, y)
    assert model.keep_low_band is True and cls.paper(4).keep_low_band is False
    on = model.transform(X)
    raw = model.set_params(keep_low_band=False).transform(X)
    np.testing.assert_allclose(on, low_band_passthrough(raw, X, 4, crossover=DEFAULT_CROSSOVER), atol=1e-6)
    assert np.abs(on - raw).max() > 1e-3 or cls is SpectralDNN  # SpectralDNN's low band is already the input's
    model.set_params(keep_low_band=0.5)  # a post-processing setting: no refit needed
    np.testing.assert_allclose(model.transform(X), low_band_passthrough(raw, X, 4, crossover=0.5), atol=1e-6)


@pytest.mark.parametrize("cls", [DualBranchSR, SpectralDNN])
def test_bad_setting_is_refused_in_fit_and_transform(cls):
    X, y = noise_pairs(length=256)
    with pytest.raises(ValueError, match="keep_low_band"):
        tiny_neural(cls, keep_low_band=1.5).fit(X, y)
    model = tiny_neural(cls).fit(X, y).set_params(keep_low_band="yes")
    with pytest.raises(ValueError, match="keep_low_band"):
        model.transform(X)
    with pytest.raises(ValueError, match="keep_low_band"):
        model._stream_geometry(4)


@pytest.mark.parametrize("rate", [3, 4])
def test_file_in_blocks_equals_whole_file_with_the_passthrough(tmp_path, rate, monkeypatch):
    import soundfile as sf

    import audiosr
    from audiosr._inference import PIPELINES, grid_geometry
    from audiosr.processing import upsample_file

    patch = {3: 288, 4: 256}[rate]
    X, y = noise_pairs(rate, length=patch)
    # Half-overlapping patches: a fine block grid (half a patch), so that a context rounded
    # up to it can be too short for the crossover.
    model = tiny_neural(DualBranchSR, rate, patch_len=patch, overlap=0.5, learning_rate=1e-2).fit(X, y)
    # A network context barely wider than the network needs (half a patch and the spline's
    # reach), instead of the generous default, so that the crossover's share must be there.

    def network_geometry(r, **_):
        return grid_geometry(patch // 2, r, patch / (2 * r) + 24)

    upsample, _, input_size = PIPELINES["patches"]
    monkeypatch.setitem(PIPELINES, "patches", (upsample, network_geometry, input_size))
    x = 0.3 * np.random.default_rng(1).standard_normal((2, 4003))
    sf.write(tmp_path / "in.wav", x.T, 8000, subtype="DOUBLE")

    def blocks_minus_whole(keep_low_band):
        model.set_params(keep_low_band=keep_low_band)
        upsample_file(tmp_path / "in.wav", tmp_path / "out.wav", rate, method=model, block_seconds=0.05)
        return np.abs(sf.read(tmp_path / "out.wav")[0].T - audiosr.upsample(x, rate, method=model)).max()

    assert blocks_minus_whole(False) < 1e-9  # the network alone is exact with that context
    assert blocks_minus_whole(True) < 1e-9
    assert blocks_minus_whole(0.3) < 1e-9
    # Without the crossover's reach in the blocks' context, the seams would show.
    monkeypatch.setattr(model, "_stream_geometry", network_geometry)
    assert blocks_minus_whole(True) > 1e-4


# --------------------------------------------------------------------------- saving and loading


def test_setting_survives_weights_files_and_pickles(fitted, tmp_path):
    model, X = fitted
    model = joblib.load(joblib.dump(model, tmp_path / "copy.joblib")[0]).set_params(keep_low_band=0.6)
    expected = model.transform(X)
    save_model(model, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.keep_low_band == 0.6
    np.testing.assert_allclose(loaded.transform(X), expected, atol=1e-6)
    joblib.dump(model, tmp_path / "m.joblib")
    assert joblib.load(tmp_path / "m.joblib").keep_low_band == 0.6


def test_files_saved_before_the_parameter_load_with_it_off(fitted, tmp_path):
    model, X = fitted
    model = joblib.load(joblib.dump(model, tmp_path / "copy.joblib")[0]).set_params(keep_low_band=True)
    save_model(model, tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    config = json.loads(payload["config"])
    del config["params"]["keep_low_band"]
    payload["config"] = json.dumps(config)
    torch.save(payload, tmp_path / "old.pt")
    old = load_model(tmp_path / "old.pt")
    assert old.keep_low_band is False
    np.testing.assert_allclose(old.transform(X), model.set_params(keep_low_band=False).transform(X), atol=1e-6)
    del model.keep_low_band  # an object pickled by an older audiosr
    joblib.dump(model, tmp_path / "old.joblib")
    assert joblib.load(tmp_path / "old.joblib").keep_low_band is False


@pytest.mark.parametrize("name", pretrained.list())
def test_shipped_models_keep_their_evaluated_behaviour(name):
    model, card = pretrained.load(name), pretrained.info(name)
    calibration = (card.get("validation") or {}).get("calibration")
    if calibration is None:
        # The first models' files predate the parameters; their figures were measured without either.
        assert (model.keep_low_band, model.high_band_gain) == (False, 1.0)
    else:  # the settings chosen on the validation split, with which the test figures were measured
        assert (model.keep_low_band, model.high_band_gain) == (
            calibration["keep_low_band"], calibration["high_band_gain"])  # fmt: skip


def test_checkpoints_ignore_the_setting(tmp_path):
    from audiosr.neural._base import _Checkpoint

    inputs = targets = np.zeros((2, 8), dtype=np.float32)
    a = _Checkpoint(tmp_path / "c.pt", tiny_neural(DualBranchSR, keep_low_band=True), inputs, targets)
    b = _Checkpoint(tmp_path / "c.pt", tiny_neural(DualBranchSR, keep_low_band=0.5), inputs, targets)
    assert a.fingerprint == b.fingerprint


# --------------------------------------------------------------------------- high-band gain


@pytest.mark.parametrize("value, expected", [(1, 1.0), (0, 0.0), (0.35, 0.35), (np.float32(0.5), 0.5), (2.0, 2.0)])
def test_high_band_gain_values(value, expected):
    assert check_high_band_gain(value) == expected


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), True, "0.5", None, [0.5]])
def test_bad_high_band_gain_values_are_refused(value):
    with pytest.raises(ValueError, match="high_band_gain must be a finite number >= 0"):
        check_high_band_gain(value)


@pytest.mark.parametrize("rate", [2, 3, 4, 6])
@given(gain=st.floats(0, 1.5), seed=st.integers(0, 2**16))
@settings(max_examples=10, deadline=None)
def test_gain_scales_the_band_above_the_input_nyquist_only(rate, gain, seed):
    y = np.random.default_rng(seed).standard_normal((2, 2048 * rate))
    out = high_band_gain(y, rate, gain)
    below = band(y.shape[-1], rate, 0, GAIN_EDGE - TRANSITION_WIDTH / 2 - 0.02)
    above = band(y.shape[-1], rate, GAIN_EDGE + TRANSITION_WIDTH / 2 + 0.02, rate)
    f_out, f_y = spectra(out, y)
    assert rel_error(f_out[:, below], f_y[:, below]) < 1e-3
    # Relative to the band's own level, so that a gain of zero is judged too.
    assert np.abs(f_out[:, above] - gain * f_y[:, above]).max() < 1e-3 * np.sqrt(np.mean(np.abs(f_y[:, above]) ** 2))


def test_gain_of_one_is_the_identity_and_the_dtype_is_kept():
    y = np.random.default_rng(0).standard_normal((1, 4000)).astype(np.float32)
    assert high_band_gain(y, 4, 1.0) is y
    assert high_band_gain(y, 4, 0.5).dtype == np.float32
    from audiosr.crossover import _gain_filter

    for rate in (2, 3, 4, 6):  # the reach covers the filter's half-length, in whole input samples
        half = _gain_filter(rate, TRANSITION_WIDTH).size // 2
        assert (gain_reach(rate) - 1) * rate < half <= gain_reach(rate) * rate


def test_gain_errors():
    with pytest.raises(ValueError, match="rate must be an integer >= 2"):
        high_band_gain(np.zeros((1, 100)), 1, 0.5)
    with pytest.raises(ValueError, match="n_clips, n_samples"):
        high_band_gain(np.zeros(100), 4, 0.5)
    with pytest.raises(ValueError, match="gain must be a finite number"):
        high_band_gain(np.zeros((1, 100)), 4, -1)


@pytest.mark.parametrize("cls", [DualBranchSR, AudioUNet, SpectralDNN])
def test_every_estimator_applies_the_gain_after_the_passthrough(cls):
    X, y = noise_pairs(length=256)
    model = tiny_neural(cls).fit(X, y)
    assert model.high_band_gain == 1.0 and cls.paper(4).high_band_gain == 1.0
    plain = model.transform(X)
    model.set_params(high_band_gain=0.3)  # an output setting: no refit needed
    np.testing.assert_allclose(model.transform(X), high_band_gain(plain, 4, 0.3), atol=1e-6)
    assert np.abs(model.transform(X) - plain).max() > 1e-3
    with pytest.raises(ValueError, match="high_band_gain"):
        tiny_neural(cls, high_band_gain=-1.0).fit(X, y)
    model.set_params(high_band_gain=float("nan"))
    with pytest.raises(ValueError, match="high_band_gain"):
        model.transform(X)
    with pytest.raises(ValueError, match="high_band_gain"):
        model._stream_geometry(4)


@pytest.mark.parametrize("keep_low_band", [False, True])
def test_file_in_blocks_equals_whole_file_with_the_gain(tmp_path, keep_low_band, monkeypatch):
    import soundfile as sf

    import audiosr
    from audiosr._inference import PIPELINES, grid_geometry
    from audiosr.processing import upsample_file

    rate, patch = 4, 256
    X, y = noise_pairs(rate, length=patch)
    model = tiny_neural(
        DualBranchSR, rate, patch_len=patch, overlap=0.5, learning_rate=1e-2, keep_low_band=keep_low_band
    )
    model.fit(X, y)

    def network_geometry(r, **_):  # the network's own needs, barely (as above)
        return grid_geometry(patch // 2, r, patch / (2 * r) + 24)

    upsample, _, input_size = PIPELINES["patches"]
    monkeypatch.setitem(PIPELINES, "patches", (upsample, network_geometry, input_size))
    x = 0.3 * np.random.default_rng(1).standard_normal((1, 4003))
    sf.write(tmp_path / "in.wav", x.T, 8000, subtype="DOUBLE")

    def blocks_minus_whole():
        upsample_file(tmp_path / "in.wav", tmp_path / "out.wav", rate, method=model, block_seconds=0.05)
        return np.abs(sf.read(tmp_path / "out.wav")[0].T - audiosr.upsample(x, rate, method=model)).max()

    model.set_params(high_band_gain=0.2)
    assert blocks_minus_whole() < 1e-9
    # The gain's reach alone is what the blocks need beyond the network and the crossover.
    geometry = model._stream_geometry
    crossover_only = model.set_params(high_band_gain=1.0)._stream_geometry(rate)
    model.set_params(high_band_gain=0.2)
    assert geometry(rate)[1] > crossover_only[1]
    if not keep_low_band:  # (the crossover's context, rounded up to the grid, hides most of the gain's)
        monkeypatch.setattr(model, "_stream_geometry", lambda r: crossover_only)
        assert blocks_minus_whole() > 1e-5


#: The output settings that act after the crossover: (name, a value to set, what old files load with);
#: ``remove_lines`` only on the U-Net models, as the fixture's.
OUTPUT_SETTINGS = [("high_band_gain", 0.4, 1.0), ("high_band_smoothing", 9, 0), ("remove_lines", True, False)]


@pytest.mark.parametrize("name, value, old", OUTPUT_SETTINGS)
def test_output_settings_survive_weights_files_and_pickles_and_old_files_load_without_them(
    fitted, tmp_path, name, value, old
):
    model, X = fitted
    model = joblib.load(joblib.dump(model, tmp_path / "copy.joblib")[0]).set_params(**{name: value})
    X = np.tile(X, 3)  # long enough for the smoothing's STFT to matter
    expected = model.transform(X)
    save_model(model, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert getattr(loaded, name) == value
    np.testing.assert_allclose(loaded.transform(X), expected, atol=1e-6)
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    config = json.loads(payload["config"])
    del config["params"][name]
    payload["config"] = json.dumps(config)
    torch.save(payload, tmp_path / "old.pt")
    assert getattr(load_model(tmp_path / "old.pt"), name) == old
    delattr(model, name)  # an object pickled by an older audiosr
    joblib.dump(model, tmp_path / "old.joblib")
    assert getattr(joblib.load(tmp_path / "old.joblib"), name) == old


@pytest.mark.parametrize("name, value, old", OUTPUT_SETTINGS)
def test_checkpoints_ignore_the_output_settings(tmp_path, name, value, old):
    from audiosr.neural._base import _Checkpoint

    inputs = targets = np.zeros((2, 8), dtype=np.float32)
    a = _Checkpoint(tmp_path / "c.pt", tiny_neural(DualBranchSR), inputs, targets)
    b = _Checkpoint(tmp_path / "c.pt", tiny_neural(DualBranchSR, **{name: value}), inputs, targets)
    assert a.fingerprint == b.fingerprint
