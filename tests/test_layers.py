"""The U-Net's building blocks: the anti-aliasing blur, the linear up-sampler, the U-Net itself."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audiosr.neural.layers import Blur1d, LinearUpsample1d, SubPixel1d, UNet1d, icnr_


def _response(layer, freq_cycles, length=64):
    """Output over input amplitude of a cosine (cycles per sample), away from the edges."""
    t = torch.arange(length, dtype=torch.float64)
    x = torch.cos(2 * torch.pi * freq_cycles * t)[None, None]
    y = layer(x)[0, 0, 4:-4]
    return float(y.abs().max())


def test_blur_passes_dc_and_removes_the_nyquist_frequency():
    assert _response(Blur1d(), 0.0) == pytest.approx(1.0)
    assert _response(Blur1d(), 0.5) == pytest.approx(0.0, abs=1e-12)
    assert _response(Blur1d(), 0.25) == pytest.approx(0.5, abs=1e-12)  # cos²(π/4)


@given(st.lists(st.floats(-10, 10), min_size=2, max_size=40))
@settings(max_examples=50, deadline=None)
def test_linear_upsampling_keeps_the_samples_and_interpolates_between_them(values):
    x = torch.tensor(values, dtype=torch.float64)[None, None]
    y = LinearUpsample1d()(x)[0, 0].numpy()
    v = np.asarray(values)
    assert y.shape == (2 * len(v),)
    np.testing.assert_allclose(y[::2], v)
    np.testing.assert_allclose(y[1:-1:2], (v[:-1] + v[1:]) / 2)
    assert y[-1] == v[-1]


def test_subpixel_shuffle_interleaves_channels():
    x = torch.arange(6.0).reshape(1, 2, 3)  # channel 0: 0 1 2, channel 1: 3 4 5
    assert SubPixel1d(2)(x)[0, 0].tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.parametrize("in_channels", [1, 4])
def test_the_antialiased_unet_keeps_the_shape_and_costs_no_more(in_channels):
    x = torch.randn(2, in_channels, 256)
    plain = UNet1d((8, 16), (9, 5), 0.0, in_channels=in_channels, out_channels=in_channels)
    smooth = UNet1d((8, 16), (9, 5), 0.0, in_channels=in_channels, out_channels=in_channels, antialias=True)
    assert smooth(x).shape == plain(x).shape == x.shape
    assert sum(p.numel() for p in smooth.parameters()) < sum(p.numel() for p in plain.parameters())


def test_only_the_aliasing_unet_stamps_a_periodic_pattern_on_a_constant_input():
    # A constant is a constant after every blur, linear up-sampling and convolution (away
    # from the edges), so the anti-aliased U-Net answers with a constant; the sub-pixel
    # shuffles give their two phases different filters and paint a pattern of period
    # 2**(B + 1) that the model's output then carries as lines.
    torch.manual_seed(0)
    x = torch.ones(1, 1, 1024)
    interior = slice(256, -256)
    with torch.no_grad():
        smooth = UNet1d((8, 16, 16), (9, 5, 5), 0.0, bias=True, antialias=True)
        plain = UNet1d((8, 16, 16), (9, 5, 5), 0.0, bias=True)
        for net in (smooth, plain):
            torch.nn.init.normal_(net.final.weight, std=0.3)  # a trained-like last layer
        y_smooth = smooth(x)[0, 0, interior]
        y_plain = plain(x)[0, 0, interior]
    assert float(y_smooth.std()) < 1e-5 * float(y_smooth.abs().mean())
    assert float(y_plain.std()) > 1e-2 * float(y_plain.abs().mean())
    # ... and the pattern repeats every 2**(B + 1) = 16 samples.
    torch.testing.assert_close(y_plain[:-16], y_plain[16:], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("factor", [2, 3])
def test_icnr_gives_every_phase_of_the_shuffle_the_same_filter(factor):
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(3, factor * 5, 7, padding=3)
    assert icnr_(conv, factor) is conv
    x = torch.randn(2, 3, 40)
    with torch.no_grad():
        y = SubPixel1d(factor)(conv(x))
    # Every output sample is repeated ``factor`` times: nearest-neighbour up-sampling of one filter's output.
    for i in range(1, factor):
        torch.testing.assert_close(y[..., i::factor], y[..., ::factor])


def test_icnr_starts_the_sub_pixel_unet_without_the_periodic_pattern():
    torch.manual_seed(0)
    x = torch.ones(1, 1, 1024)
    interior = slice(256, -256)
    with torch.no_grad():
        nets = {icnr: UNet1d((8, 16, 16), (9, 5, 5), 0.0, bias=True, icnr=icnr) for icnr in (False, True)}
        for icnr, net in nets.items():
            torch.nn.init.normal_(net.final.weight, std=0.3)  # a trained-like last layer ...
            if icnr:
                icnr_(net.final)  # ... drawn the ICNR way for the ICNR net
        y = {icnr: net(x)[0, 0, interior] for icnr, net in nets.items()}
    assert float(y[True].std()) < 1e-5 * float(y[True].abs().mean())
    assert float(y[False].std()) > 1e-2 * float(y[False].abs().mean())
    # Same weights count: the start differs, not the network.
    assert sum(p.numel() for p in nets[True].parameters()) == sum(p.numel() for p in nets[False].parameters())


@pytest.mark.parametrize("option", ["antialias", "icnr"])
@pytest.mark.parametrize("estimator", ["DualBranchSR", "AudioUNet"])
def test_the_unet_estimators_train_save_and_load_with_each_unet_option(estimator, option, tmp_path):
    import audiosr
    from audiosr import load_model, save_model

    cls = getattr(audiosr, estimator)
    y = 0.3 * np.random.default_rng(0).standard_normal((8, 1024)).astype(np.float32)
    X = y[:, ::4].copy()
    common = dict(rate=4, filters=(4, 8), kernel_sizes=(9, 5), patch_len=256, max_epochs=2, random_state=0)
    plain = cls(**common, device="cpu").fit(X, y)
    other = cls(**common, **{option: True}, device="cpu").fit(X, y)
    assert np.isfinite(other.loss_curve_).all()
    assert not np.allclose(plain.transform(X), other.transform(X))
    save_model(other, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt", allow_pickle=False)
    assert getattr(loaded, option) is True
    np.testing.assert_allclose(loaded.transform(X), other.transform(X), atol=1e-6)
    assert getattr(cls.paper(4), option) is False and cls._legacy_params[option] is False
    with pytest.raises(TypeError, match=option):
        cls(**common, **{option: "yes"}).fit(X, y)
