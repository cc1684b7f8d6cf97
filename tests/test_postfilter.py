"""Smoothing of the invented band: the function, its streaming geometry, and ``high_band_smoothing``
on every neural estimator (saving and checkpoints: with the other output settings in test_crossover.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import noise_pairs, tiny_neural

from audiosr import AudioUNet, DualBranchSR, SpectralDNN
from audiosr.postfilter import (
    HOP,
    N_FFT,
    SMOOTHING_EDGE,
    check_high_band_smoothing,
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
