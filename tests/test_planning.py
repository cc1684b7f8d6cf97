"""Tests for audiosr.planning: what happens to a file, decided once and stated."""

import numpy as np
import pytest
import soundfile as sf

import audiosr
from audiosr.planning import STANDARD_RATES, effective_rate, plan
from audiosr.signal import resample


@pytest.mark.parametrize(
    ("sr", "bandwidth", "preferred", "expected"),
    [
        (48000, 23000, (), 48000),  # full band
        (48000, 19500, (), 48000),  # speech recorded at 48 kHz with little air: still 48 kHz material
        (48000, 7600, (), 16000),  # a 16 kHz source (soxr) in a 48 kHz container
        (48000, 8000, (), 16000),  # ... through a brick wall
        (48000, 8200, (), 16000),  # ... the edge of a transition band a little above Nyquist
        (44100, 6600, (), 16000),  # ... through scipy.signal.decimate (Chebyshev, 0.8 of Nyquist)
        (44100, 16000, (), 32000),  # an MP3 with a 16 kHz low-pass
        (24000, 5700, (11025, 12000), 12000),  # a 12 kHz source: 11025 Hz would cut it
        (16000, 4950, (12000,), 12000),  # a Chebyshev-decimated 12 kHz source, a model takes 12 kHz
        (16000, 4950, (), 11025),  # ambiguous without a model: the 90 % fill wins
        (12000, 4950, (), 12000),  # the same content in its own container: trusted
        (16000, 7200, (), 16000),
        (8000, 440, (), 8000),  # a tone: no standard rate is filled by it
        (48000, None, (), 48000),
        (48000, 0.0, (), 48000),  # silence
        (22050, 3800, (), 8000),
    ],
)
def test_effective_rate(sr, bandwidth, preferred, expected):
    assert effective_rate(sr, bandwidth, preferred=preferred) == expected


def test_standard_rates_are_sorted():
    assert list(STANDARD_RATES) == sorted(set(STANDARD_RATES))


def _noise(seconds, sr, cutoff=None, seed=0):
    """White noise band-limited to ``cutoff`` Hz by a round trip through soxr at 2 * cutoff."""
    x = np.random.default_rng(seed).standard_normal(int(seconds * sr)) * 0.1
    if cutoff is not None:
        low = int(2 * cutoff)
        x = resample(resample(x, orig_sr=sr, target_sr=low), orig_sr=low, target_sr=sr)
    return x


def test_plan_names_bandwidth_method_and_steps(tmp_path):
    path = tmp_path / "talk.wav"
    sf.write(path, _noise(2, 44100, cutoff=8000), 44100)
    p = plan(path, 48000)
    assert p.input_sr == 44100 and p.target_sr == 48000 and p.effective_sr == 16000
    assert p.bandwidth.hz == pytest.approx(8000, rel=0.05)
    line = p.describe()
    assert line.startswith(f"{path}: 44100 Hz, content to ")
    if "speech-x3-48k" in audiosr.pretrained.list():  # 16 kHz material to 48 kHz: the 16 -> 48 kHz model
        assert "(16000 Hz material) -> soxr 44100 -> 16000 Hz, pretrained speech-x3-48k x3 -> 48000 Hz" in line
    else:
        assert "(16000 Hz material) -> sinc x2 -> 88200 Hz, soxr 88200 -> 48000 Hz" in line
    assert "\n" not in line


def test_plan_uses_a_shipped_model_for_its_input_rate():
    if "speech-x4-48k" not in audiosr.pretrained.list():
        pytest.skip("speech-x4-48k is not shipped")
    x = _noise(1, 12000)
    p = plan(x, 48000, sr=12000)
    assert p.method == "speech-x4-48k" and p.method_sr == 12000 and p.rate == 4
    assert p.steps == "pretrained speech-x4-48k x4 -> 48000 Hz"
    # 24 kHz container of 12 kHz material: decimated to 12 kHz first
    p = plan(resample(x, orig_sr=12000, target_sr=24000), 48000, sr=24000)
    assert p.effective_sr == 12000
    assert p.steps.startswith("soxr 24000 -> 12000 Hz, pretrained speech-x4-48k x4")
    assert p.apply(resample(x, orig_sr=12000, target_sr=24000)).shape == (48000,)


def test_an_input_shorter_than_the_models_patch_gets_sinc():
    name = audiosr.pretrained.list()[0]
    meta = audiosr.pretrained.info(name)
    need = audiosr.pretrained.load(name)._min_input_length(meta["rate"])
    rng = np.random.default_rng(0)
    enough = plan(rng.standard_normal(need), meta["output_sr"], sr=meta["input_sr"], detect=False)
    assert enough.method == name
    short = plan(rng.standard_normal(need - 1), meta["output_sr"], sr=meta["input_sr"], detect=False)
    assert short.method == "sinc"
    assert f"the input is too short for {name} (it takes at least {need} samples at {meta['input_sr']} Hz)" in short.reason
    assert short.apply(rng.standard_normal(need - 1)).shape == ((need - 1) * meta["rate"],)


def test_full_band_at_target_is_nothing_to_add():
    x = _noise(1, 48000)
    p = plan(x, 48000, sr=48000)
    assert p.action == "skip"
    assert "audiosr only up-samples: the file is already 48000 Hz and full band" in p.describe()
    with pytest.raises(ValueError, match="nothing to do"):
        p.apply(x)


def test_no_detect_trusts_the_container():
    x = _noise(1, 44100, cutoff=8000)
    assert plan(x, 48000, sr=44100).effective_sr == 16000
    p = plan(x, 48000, sr=44100, detect=False)
    assert p.effective_sr == 44100 and p.bandwidth is None
    assert p.steps == "sinc x2 -> 88200 Hz, soxr 88200 -> 48000 Hz"
    assert "bandwidth not checked" in p.describe()


def test_given_bandwidth_overrides_detection():
    x = _noise(1, 48000)
    p = plan(x, 48000, sr=48000, input_bandwidth=8000)
    assert p.effective_sr == 16000 and p.bandwidth.method == "given"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_sr": 8000}, "audiosr only up-samples: array is already 16000 Hz"),
        ({"target_sr": 48000, "input_bandwidth": 9000}, "above the input's Nyquist frequency"),
        ({"target_sr": 48000, "input_bandwidth": -1}, "positive frequency"),
        ({"target_sr": 48000, "method": "cubic"}, "unknown method 'cubic'"),
        ({}, "give the output rate"),
        ({"target_sr": 48000, "rate": 3}, "not both"),
        ({"rate": 1}, "rate must be an integer >= 2"),
        ({"rate": 1000}, "larger than the maximum supported factor 256"),
        ({"target_sr": 16000 * 300}, "300 times array's 16000 Hz, larger than the maximum supported factor 256"),
        ({"target_sr": 0}, "target_sr"),
    ],
)
def test_plan_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan(np.zeros(16000), sr=16000, **kwargs)


def test_plan_needs_sr_for_arrays():
    with pytest.raises(ValueError, match="sr .* is required"):
        plan(np.zeros(100), 48000)


@pytest.mark.parametrize(("sr", "target"), [(8000, 16000), (16000, 44100), (22050, 48000), (24000, 48000), (44100, 48000), (11025, 48000)])
def test_plans_run_on_files_at_every_rate(tmp_path, sr, target):
    path = tmp_path / "in.flac"
    sf.write(path, np.stack([_noise(0.5, sr), _noise(0.5, sr, seed=1)], axis=1), sr)
    p = plan(path, target)
    assert p.action == "upsample"
    out = tmp_path / "out.flac"
    assert p.run(path, out) == target
    info = sf.info(str(out))
    assert (info.samplerate, info.channels) == (target, 2)
    assert info.frames == audiosr.signal.resampled_length(int(0.5 * sr), sr, target)


def test_force_model_runs_a_model_on_full_band_input():
    to_48k = {n: audiosr.pretrained.info(n) for n in audiosr.pretrained.list()}
    to_48k = {n: m for n, m in to_48k.items() if m["output_sr"] == 48000}
    if not to_48k:
        pytest.skip("no 48 kHz model is shipped")
    # The one that cuts least of the input: the highest input rate.
    name = max(to_48k, key=lambda n: to_48k[n]["input_sr"])
    sr_in, rate = to_48k[name]["input_sr"], to_48k[name]["rate"]
    x = _noise(0.5, 48000)
    p = plan(x, 48000, sr=48000, force_model=True)
    assert p.action == "upsample" and p.method == name
    assert p.steps == f"soxr 48000 -> {sr_in} Hz, pretrained {name} x{rate} -> 48000 Hz"
    assert p.apply(x).shape == x.shape


def test_a_users_model_without_rates_runs_at_the_content_rate():
    model = audiosr.AudioUNet(rate=2, filters=(2,), kernel_sizes=(3,), patch_len=64, max_epochs=1, random_state=0)
    y = np.random.default_rng(0).standard_normal((4, 256))
    model.fit(y[:, ::2], y)
    p = plan(_noise(0.5, 16000), sr=16000, method=model)
    assert (p.method_sr, p.target_sr, p.steps) == (16000, 32000, "AudioUNet x2 -> 32000 Hz")


# ----------------------------------------------------------------------------- several models per output rate


@pytest.mark.parametrize(
    ("sr", "target", "steps"),
    [
        # Four models make 48 kHz: the one whose input rate is the file's rate runs.
        (24000, 48000, "pretrained speech-x2-48k x2 -> 48000 Hz"),
        (16000, 48000, "pretrained speech-x3-48k x3 -> 48000 Hz"),
        (12000, 48000, "pretrained speech-x4-48k x4 -> 48000 Hz"),
        (8000, 48000, "pretrained speech-x6-48k x6 -> 48000 Hz"),
        # The same input rate, another target: the model that makes the target wins.
        (8000, 16000, "pretrained speech-x2-16k x2 -> 16000 Hz"),
        (4000, 16000, "pretrained speech-x4-16k x4 -> 16000 Hz"),
        (22050, 44100, "pretrained piano-x2-44k x2 -> 44100 Hz"),
        # No model makes the target from this rate: the nearest output above it, then soxr down ...
        (8000, 32000, "pretrained speech-x6-48k x6 -> 48000 Hz, soxr 48000 -> 32000 Hz"),
        # ... or below it, then soxr up, as before.
        (11025, 48000, "pretrained piano-x4-44k x4 -> 44100 Hz, soxr 44100 -> 48000 Hz"),
        # No model takes the rate: sinc, as before.
        (32000, 48000, "sinc x2 -> 64000 Hz, soxr 64000 -> 48000 Hz"),
        # Models in the index that did not ship are never picked, a stale weights file or not.
        (6000, 48000, "sinc x8 -> 48000 Hz"),
        (8000, 24000, "pretrained speech-x6-48k x6 -> 48000 Hz, soxr 48000 -> 24000 Hz"),
    ],
)
def test_plan_picks_the_model_for_the_input_rate_among_several(tiny_zoo, sr, target, steps):
    assert "speech-x8-48k" not in audiosr.pretrained.list() and "speech-x3-24k" not in audiosr.pretrained.list()
    x = _noise(0.3, sr)
    p = plan(x, target, sr=sr, detect=False)
    assert p.steps == steps
    assert p.apply(x).shape == (audiosr.signal.resampled_length(x.size, sr, target),)


def test_plan_picks_the_model_for_the_content_rate_of_a_wider_container(tiny_zoo):
    # 16 kHz material in a 48 kHz file: decimated to 16 kHz, then the x3 model, not the x2 one.
    x = _noise(1, 48000, cutoff=7600)
    p = plan(x, 48000, sr=48000)
    assert p.effective_sr == 16000
    assert p.steps == "soxr 48000 -> 16000 Hz, pretrained speech-x3-48k x3 -> 48000 Hz"


def test_upsample_sr_on_the_command_line_uses_the_matching_model(tiny_zoo, tmp_path, capsys):
    from audiosr.cli import main

    for sr, name in ((16000, "speech-x3-48k"), (24000, "speech-x2-48k"), (8000, "speech-x6-48k")):
        sf.write(tmp_path / f"in_{sr}.wav", _noise(0.3, sr), sr)
        out = tmp_path / f"out_{sr}.wav"
        assert main(["upsample", str(tmp_path / f"in_{sr}.wav"), "-o", str(out), "--sr", "48000", "--no-detect"]) == 0
        assert f"pretrained {name} x{48000 // sr} -> 48000 Hz" in capsys.readouterr().err
        assert sf.info(str(out)).samplerate == 48000
