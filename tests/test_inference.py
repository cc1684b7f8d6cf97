"""Tests for the torch-free inference pipelines around the networks (audiosr._inference)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosr._inference import crossfade_window, overlap_add

from audiosr import AudioUNet, DualBranchSR


@st.composite
def patch_and_hop(draw):
    patch_len = draw(st.integers(2, 600))
    overlap = draw(st.integers(1, patch_len // 2))
    return patch_len, patch_len - overlap


@given(patch_and_hop())
def test_shifted_windows_sum_to_one(geometry):
    patch_len, hop = geometry
    window = crossfade_window(patch_len, hop)
    assert window.shape == (patch_len,) and np.all((window >= 0) & (window <= 1))
    total = np.zeros(hop * 5 + patch_len)
    for j in range(6):
        total[j * hop : j * hop + patch_len] += window
    overlap = patch_len - hop
    # Wherever two neighbours (or one patch's flat middle) cover a sample, the weights sum to one.
    np.testing.assert_allclose(total[overlap : 5 * hop + overlap], 1.0, atol=1e-12)


@pytest.mark.parametrize("patch_len", [8, 256, 2048])
def test_half_overlap_is_the_periodic_hann_window(patch_len):
    n = np.arange(patch_len)
    np.testing.assert_allclose(crossfade_window(patch_len, patch_len // 2), 0.5 - 0.5 * np.cos(2 * np.pi * n / patch_len))


@settings(max_examples=40, deadline=None)
@given(patch_and_hop(), st.integers(1, 3000), st.integers(1, 7))
def test_overlap_add_of_the_identity_gives_the_signal_back(geometry, n, batch_size):
    patch_len, hop = geometry
    x = np.random.default_rng(n).standard_normal(n)
    calls = []

    def identity(batch):
        calls.append(len(batch))
        assert batch.dtype == np.float32 and batch.shape[1] == patch_len
        return batch

    out = overlap_add(x, patch_len, identity, batch_size, hop)
    np.testing.assert_allclose(out, x, atol=1e-6)
    assert max(calls) <= batch_size
    # The network sees about 1 / (1 - overlap) times the signal, not more.
    assert sum(calls) * hop <= n + 2 * patch_len + hop


def _fitted(cls, **params):
    y = np.random.default_rng(0).standard_normal((4, 512))
    tiny = dict(filters=(4, 8), kernel_sizes=(9, 5), patch_len=256, max_epochs=1, random_state=0, device="cpu")
    return cls(rate=4, **tiny, **params).fit(y[:, ::4], y)


@pytest.mark.parametrize("cls", [DualBranchSR, AudioUNet])
def test_overlap_sets_the_hop_and_leaves_the_output_close(cls):
    model = _fitted(cls)
    x = np.random.default_rng(1).standard_normal((1, 900)) * 0.1
    assert model._inference_config()["hop"] == 224  # an eighth of 256
    eighth = model.transform(x)
    half = model.set_params(overlap=0.5).transform(x)
    assert model._inference_config()["hop"] == 128
    # Another crossfade, not another result: only the seams' weights differ.
    assert np.abs(eighth - half).max() < 0.5 * np.abs(half).max()
    assert model.set_params(overlap=0.01)._inference_config()["hop"] == 252  # one low-rate sample of overlap


@pytest.mark.parametrize("overlap", [0, 0.6, -0.1, "a", True])
def test_bad_overlap_is_refused(overlap):
    y = np.zeros((2, 512))
    with pytest.raises(ValueError, match=r"overlap must be a number in \(0.0, 0.5\]"):
        DualBranchSR(rate=4, overlap=overlap, patch_len=256).fit(y[:, ::4], y)
