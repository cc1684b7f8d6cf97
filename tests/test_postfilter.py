"""Smoothing of the invented band and removal of the U-Net's lines: the functions, their streaming
geometry, ``high_band_smoothing`` on every neural estimator and ``remove_lines`` on the U-Net ones
(saving and checkpoints: with the other output settings in test_crossover.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import noise_pairs, tiny_neural

from audiosr import AudioUNet, DualBranchSR, SpectralDNN
from audiosr.postfilter import (
    HOP,
    LINE_PERIODS,
    N_FFT,
    SMOOTHING_EDGE,
    check_high_band_smoothing,
    line_reach,
    remove_period_lines,
    smooth_high_band,
    smoothing_geometry,
)

def log_spectra(x):
    """Log power (dB) of the function's own STFT frames that lie wholly inside ``x``."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    return 10 * np.log10(np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2 + 1e-20)


# --------------------------------------------------------------------------- the function


@pytest.mark.parametrize("value, expected", [(0, 0), (1, 1), (15, 15), (np.int64(31), 31), (N_FFT // 2, N_FFT // 2)])
def test_smoothing_values(value, expected):
    assert check_high_band_smoothing(value) == expected


@pytest.mark.parametrize("value", [-1, 1.5, 15.0, True, None, "15", float("nan"), N_FFT // 2 + 1])
def test_bad_smoothing_values_are_refused(value):
    with pytest.raises(ValueError, match="high_band_smoothing must be"):
        check_high_band_smoothing(value)


def test_widths_of_zero_and_one_are_the_identity():
    y = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32)
    assert smooth_high_band(y, 4, 0) is y
    assert smooth_high_band(y, 4, 1) is y
    out = smooth_high_band(y, 4, 15)
    assert out.shape == y.shape and out.dtype == np.float32
    assert smooth_high_band(np.zeros((1, 0)), 4, 15).shape == (1, 0)


def test_errors():
    with pytest.raises(ValueError, match="rate must be an integer >= 2"):
        smooth_high_band(np.zeros((1, 100)), 1, 15)
    with pytest.raises(ValueError, match="n_clips, n_samples"):
        smooth_high_band(np.zeros(100), 4, 15)
    with pytest.raises(ValueError, match="width must be"):
        smooth_high_band(np.zeros((1, 100)), 4, -3)


@pytest.mark.parametrize("rate", [2, 3, 4, 6])
def test_the_band_below_the_edge_is_kept(rate):
    # Tones below the edge and noise above it: the tones come out as they went in.
    n = 12000
    t = np.arange(n)
    edge = SMOOTHING_EDGE / (2 * rate)  # cycles per sample
    tones = np.sin(2 * np.pi * 0.3 * edge * t) + 0.5 * np.sin(2 * np.pi * 0.8 * edge * t + 1.0)
    noise = np.random.default_rng(rate).standard_normal(n)
    spec = np.fft.rfft(noise)
    spec[: int(1.1 * edge * n)] = 0  # noise only above the edge
    noise = np.fft.irfft(spec, n)
    out = smooth_high_band((tones + noise)[None], rate, 15)[0]
    # Hann-windowed spectra, so that the change above the edge does not leak down.
    window = np.hanning(n)
    change = np.abs(np.fft.rfft(window * (out - tones - noise)))[: int(0.9 * edge * n)]
    assert change.max() < 1e-6 * np.abs(np.fft.rfft(window * tones)).max()


def test_the_level_is_kept_and_the_scatter_goes():
    # White noise: its power above the edge stays (to about half a decibel: the overlap-add of
    # the changed frames loses a little), its bin-to-bin scatter (5.6 dB) falls (to about 3.9).
    y = np.random.default_rng(0).standard_normal(64000)
    out = smooth_high_band(y[None], 4, 15)[0]
    first = int(np.ceil(SMOOTHING_EDGE * N_FFT / 8)) + 8
    before, after = log_spectra(y)[:, first:-8], log_spectra(out)[:, first:-8]
    assert abs(10 * np.log10(np.mean(10 ** (after / 10)) / np.mean(10 ** (before / 10)))) < 1.0
    assert np.std(before - before.mean(axis=1, keepdims=True)) > 5.0
    assert np.std(after - after.mean(axis=1, keepdims=True)) < 4.3


def test_a_narrow_line_in_the_band_is_flattened():
    # What a U-Net's stride grid leaves: a steady tone in noise, far above the input's band.
    n = 64000
    t = np.arange(n)
    y = np.random.default_rng(1).standard_normal(n) + 0.3 * np.sin(2 * np.pi * 0.375 * t)
    line = int(round(0.375 * N_FFT))

    def prominence(x):
        spectrum = np.mean(10 ** (log_spectra(x) / 10), axis=0)
        return 10 * np.log10(spectrum[line] / np.median(spectrum[line - 40 : line + 40]))

    before, after = prominence(y), prominence(smooth_high_band(y[None], 4, 15)[0])
    assert before > 12 and after < before - 5  # spread over the 15 bins


@pytest.mark.parametrize("rate", [2, 3, 4, 6])
def test_geometry(rate):
    granularity, reach = smoothing_geometry(rate)
    assert (granularity * rate) % HOP == 0  # block starts fall on the frame grid
    assert reach * rate >= N_FFT


@settings(max_examples=15, deadline=None)
@given(
    rate=st.sampled_from([2, 3, 4]),
    start_blocks=st.integers(2, 6),
    length=st.integers(200, 3000),
    seed=st.integers(0, 2**16),
)
def test_a_block_with_its_context_gives_the_whole_clips_samples(rate, start_blocks, length, seed):
    # What upsample_file relies on: a block that starts on the grid and carries the reach
    # on both sides gives the samples of the whole clip.
    granularity, reach = smoothing_geometry(rate)
    context = int(np.ceil(reach / granularity)) * granularity  # low-rate samples, on the grid
    y = np.random.default_rng(seed).standard_normal((1, (start_blocks * granularity + context + length + reach) * rate))
    whole = smooth_high_band(y, rate, 9)
    start = (start_blocks * granularity + context) * rate  # output samples, on the grid
    lo = start - context * rate
    block = smooth_high_band(y[:, lo : start + (length + reach) * rate], rate, 9)
    got = block[:, start - lo : start - lo + length * rate]
    np.testing.assert_allclose(got, whole[:, start : start + length * rate], atol=1e-10)
    # and a block that runs to the clip's end gives its end
    tail = smooth_high_band(y[:, lo:], rate, 9)
    np.testing.assert_allclose(tail[:, start - lo :], whole[:, start:], atol=1e-10)


# --------------------------------------------------------------------------- the estimators


@pytest.mark.parametrize("cls", [DualBranchSR, AudioUNet, SpectralDNN])
def test_every_estimator_smooths_last(cls):
    X, y = noise_pairs(length=1024)
    model = tiny_neural(cls, high_band_gain=0.5).fit(X, y)
    assert model.high_band_smoothing == 0 and cls.paper(4).high_band_smoothing == 0
    plain = model.transform(X)
    model.set_params(high_band_smoothing=15)  # an output setting: no refit needed
    np.testing.assert_allclose(model.transform(X), smooth_high_band(plain, 4, 15), atol=1e-6)
    assert np.abs(model.transform(X) - plain).max() > 1e-3
    with pytest.raises(ValueError, match="high_band_smoothing"):
        tiny_neural(cls, high_band_smoothing=-1).fit(X, y)
    model.set_params(high_band_smoothing=2.5)
    with pytest.raises(ValueError, match="high_band_smoothing"):
        model.transform(X)
    with pytest.raises(ValueError, match="high_band_smoothing"):
        model._stream_geometry(4)


@pytest.mark.parametrize("keep_low_band", [False, True])
def test_file_in_blocks_equals_whole_file_with_the_smoothing(tmp_path, keep_low_band):
    import soundfile as sf

    import audiosr
    from audiosr.processing import upsample_file

    rate = 4
    X, y = noise_pairs(rate, length=256)
    model = tiny_neural(DualBranchSR, rate, overlap=0.5, learning_rate=1e-2, keep_low_band=keep_low_band)
    model.fit(X, y).set_params(high_band_smoothing=15, high_band_gain=0.7)
    x = 0.3 * np.random.default_rng(1).standard_normal((1, 9001))
    sf.write(tmp_path / "in.wav", x.T, 8000, subtype="DOUBLE")
    upsample_file(tmp_path / "in.wav", tmp_path / "out.wav", rate, method=model, block_seconds=0.3)
    whole = audiosr.upsample(x, rate, method=model)
    assert np.abs(sf.read(tmp_path / "out.wav")[0].T - whole).max() < 1e-9
    granularity, context = model._stream_geometry(rate)
    without = model.set_params(high_band_smoothing=0)._stream_geometry(rate)
    assert granularity % smoothing_geometry(rate)[0] == 0 and context > without[1]



# --------------------------------------------------------------------------- the U-Net's lines


def _level_db(x, frequency):
    """Level (dB) of ``x`` at ``frequency`` cycles per sample, Hann-windowed, the strongest of 5 bins."""
    n = x.shape[-1]
    spectrum = np.abs(np.fft.rfft(x * np.hanning(n)))
    k = int(round(frequency * n))
    return 20 * np.log10(spectrum[k - 2 : k + 3].max() + 1e-30)


@pytest.mark.parametrize("rate, period", [(2, 16), (3, 96), (4, 32), (4, 128), (6, 64)])
def test_lines_above_the_edge_go_and_the_rest_stays(rate, period):
    n = 60 * period * LINE_PERIODS // 8
    t = np.arange(n)
    rng = np.random.default_rng(rate)
    noise = 0.1 * rng.standard_normal(n)
    harmonics = np.arange(1, period // 2)
    lines = sum(0.02 * np.cos(2 * np.pi * m * t / period + m) for m in harmonics)
    out = remove_period_lines((noise + lines)[None], rate, period)[0]
    edge = SMOOTHING_EDGE / (2 * rate)  # cycles per sample
    core = slice(line_reach(rate, period) * rate, n - line_reach(rate, period) * rate)  # away from the ends
    for m in harmonics:
        before, after = _level_db((noise + lines)[core], m / period), _level_db(out[core], m / period)
        if m / period >= edge:
            assert after < _level_db(noise[core], m / period) + 3 and after < before - 15
        elif m / period < edge - 1 / period:
            assert abs(after - before) < 0.1
    # Between the lines the noise stays (the filter is linear: what it does to the noise alone):
    # notches a few hertz wide around each line are all that goes.
    kept = remove_period_lines(noise[None], rate, period)[0][core]
    assert np.sum((kept - noise[core]) ** 2) < 0.05 * np.sum(noise[core] ** 2)


def test_line_removal_is_the_identity_without_a_period_or_harmonic():
    y = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32)
    assert remove_period_lines(y, 4, 0) is y
    assert remove_period_lines(y, 4, 1) is y
    assert remove_period_lines(y, 2, 32, edge=4.5) is y  # no harmonic from the edge to the Nyquist frequency
    out = remove_period_lines(y, 4, 32)
    assert out.shape == y.shape and out.dtype == np.float32
    assert remove_period_lines(np.zeros((1, 0)), 4, 32).shape == (1, 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"period": -1}, "period must be"),
        ({"period": 32.0}, "period must be"),
        ({"period": True}, "period must be"),
        ({"period": 32, "periods": 0}, "periods must be"),
        ({"period": 32, "periods": 62}, "periods must be"),
        ({"period": 32, "periods": -3}, "periods must be"),
        ({"period": 32, "periods": True}, "periods must be"),
    ],
)
def test_line_removal_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        remove_period_lines(np.zeros((1, 100)), 4, **kwargs)


def test_line_removal_refuses_a_bad_shape_and_rate():
    with pytest.raises(ValueError, match="n_clips, n_samples"):
        remove_period_lines(np.zeros(100), 4, 32)
    with pytest.raises(ValueError, match="rate must be an integer >= 2"):
        remove_period_lines(np.zeros((1, 100)), 1, 32)


@settings(max_examples=15, deadline=None)
@given(
    rate=st.sampled_from([2, 3, 4]),
    period=st.sampled_from([16, 32, 48]),
    offset=st.integers(0, 2000),
    length=st.integers(1, 3000),
    seed=st.integers(0, 2**16),
)
def test_a_block_with_its_reach_gives_the_whole_clips_samples_of_the_lines(rate, period, offset, length, seed):
    # One fixed FIR filter: a block with line_reach low-rate samples on each side (and any
    # start) gives the whole clip's samples.
    reach = line_reach(rate, period) * rate
    y = np.random.default_rng(seed).standard_normal((1, 2 * reach + offset + length * rate + reach))
    whole = remove_period_lines(y, rate, period)
    start = reach + offset
    block = remove_period_lines(y[:, start - reach : start + length * rate + reach], rate, period)
    got, expected = block[:, reach : reach + length * rate], whole[:, start : start + length * rate]
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize("cls", [DualBranchSR, AudioUNet])
def test_the_unet_estimators_remove_their_lines_before_the_smoothing(cls):
    X, y = noise_pairs(length=1024)
    model = tiny_neural(cls, high_band_gain=0.5).fit(X, y)
    assert model.remove_lines is False and cls.paper(4).remove_lines is False
    plain = model.transform(X)
    period = model._line_period(4)
    model.set_params(remove_lines=True, high_band_smoothing=9)  # output settings: no refit needed
    expected = smooth_high_band(remove_period_lines(plain, 4, period), 4, 9)
    np.testing.assert_allclose(model.transform(X), expected, atol=1e-6)
    # Blocks of a long file carry the filter's reach (alone here, without the other output settings).
    model.set_params(keep_low_band=False, high_band_gain=1.0, high_band_smoothing=0)
    assert model._stream_geometry(4)[1] > model.set_params(remove_lines=False)._stream_geometry(4)[1]
    with pytest.raises(TypeError, match="remove_lines"):
        tiny_neural(cls, remove_lines="yes").fit(X, y)
    model.set_params(remove_lines=None)
    with pytest.raises(TypeError, match="remove_lines"):
        model.transform(X)


def test_spectral_dnn_has_no_lines_to_remove():
    assert "remove_lines" not in SpectralDNN().get_params()


def test_file_in_blocks_equals_whole_file_with_the_lines_removed(tmp_path):
    import soundfile as sf

    import audiosr
    from audiosr.processing import upsample_file

    rate = 4
    X, y = noise_pairs(rate, length=256)
    model = tiny_neural(AudioUNet, rate, overlap=0.5, learning_rate=1e-2).fit(X, y)
    model.set_params(remove_lines=True, high_band_smoothing=15)
    x = 0.3 * np.random.default_rng(2).standard_normal((1, 9001))
    sf.write(tmp_path / "in.wav", x.T, 8000, subtype="DOUBLE")
    upsample_file(tmp_path / "in.wav", tmp_path / "out.wav", rate, method=model, block_seconds=0.3)
    whole = audiosr.upsample(x, rate, method=model)
    assert np.abs(sf.read(tmp_path / "out.wav")[0].T - whole).max() < 1e-9
