"""Shared fixtures: synthetic signals that tests can make in milliseconds."""

import os
from pathlib import Path

import numpy as np
import pytest


def _real_data_dir():
    """The real dataset: $AUDIOSR_DATA, else ../shared/data beside the repository checkout."""
    candidates = [Path(os.environ["AUDIOSR_DATA"])] if os.environ.get("AUDIOSR_DATA") else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    return next((folder for folder in candidates if (folder / "MANIFEST.csv").is_file()), None)


@pytest.fixture(scope="session")
def real_data():
    """Folder of the project's real recordings; the test is skipped where it is missing."""
    folder = _real_data_dir()
    if folder is None:
        pytest.skip("real dataset (../shared/data or $AUDIOSR_DATA) not available")
    return folder


def harmonic_signals(n_clips, length, sr=16000, seed=0, f0_range=(150, 400), coherent=False):
    """Band-limited harmonic tones with 1/k amplitudes up to 7.9 kHz.

    Their high band's magnitudes are predictable from their low band (the harmonics
    continue). With ``coherent=True`` the phases are too: harmonic k starts at k times
    one random phase (a band-limited sawtooth at a random offset), so the missing
    harmonics are a function of the low band that a model can learn sample by sample
    and an interpolator cannot. With random phases no estimate can do better in
    squared error than leaving them out.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(length) / sr
    clips = []
    for _ in range(n_clips):
        f0 = rng.uniform(*f0_range)
        k = np.arange(1, int(7900 // f0) + 1)[:, None]
        if coherent:
            phases = k * rng.uniform(0, 2 * np.pi)
        else:
            phases = rng.uniform(0, 2 * np.pi, size=(k.size, 1))
        clips.append(0.3 * np.sum(np.sin(2 * np.pi * f0 * k * t + phases) / k, axis=0))
    return np.stack(clips)


@pytest.fixture(scope="session")
def harmonic():
    return harmonic_signals


def high_band(x, rate):
    """``x`` with every FFT bin below the Nyquist frequency of the input (1/rate of the band) zeroed."""
    spectrum = np.fft.rfft(x, axis=-1)
    spectrum[..., : spectrum.shape[-1] // rate] = 0
    return np.fft.irfft(spectrum, n=x.shape[-1], axis=-1)


@pytest.fixture(scope="session")
def gain_over_spline(harmonic):
    """Fit a model on phase-coherent harmonic tones at rate 4; score it and the spline on held-out tones.

    Returns ``run(model) -> (ours, spline)``, each a dict with ``lsd``, ``snr`` and
    ``high_band_snr`` (SNR of the band above the input's Nyquist frequency alone). That
    band is a function of the low band here, so a model that learned it scores well above
    0 dB there; the spline, which has nothing there, scores 0 dB. (With random phases the
    best estimate in squared error would leave the band out, and the LSD of tones is
    decided by the floor between their harmonics: neither tells whether a model learned.)
    """
    from audiosr import SplineUpsampler, decimate, make_pairs
    from audiosr.metrics import lsd, snr

    X, y = make_pairs(list(harmonic(16, 8192, seed=0, coherent=True)), 4, segment=1024)
    test = harmonic(4, 8192, seed=1, coherent=True)
    X_test = decimate(test, 4)

    def scores(out):
        return {
            "lsd": lsd(test, out),
            "snr": snr(test, out),
            "high_band_snr": snr(high_band(test, 4), high_band(out, 4)),
        }

    spline = scores(SplineUpsampler(rate=4).transform(X_test))

    def run(model):
        model.fit(X, y)
        return scores(model.transform(X_test)), spline

    return run


# ----------------------------------------------------------------------------- a tiny model zoo

#: name -> (kinds, output rate, factor) of the tiny stand-ins for the shipped models.
TINY_ZOO = {
    "speech-x2-16k": (["speech", "speech16k"], 16000, 2),
    "speech-x4-16k": (["speech", "speech16k"], 16000, 4),
    "speech-x2-48k": (["speech"], 48000, 2),
    "speech-x3-48k": (["speech"], 48000, 3),
    "speech-x4-48k": (["speech"], 48000, 4),
    "speech-x6-48k": (["speech"], 48000, 6),
    "piano-x2-44k": (["piano"], 44100, 2),
    "piano-x4-44k": (["piano"], 44100, 4),
}
#: Index entries without weights: one that failed the ship rule, and one whose stale
#: weights file is still there but whose entry says it did not ship.
TINY_ZOO_FAILED = {"speech-x8-48k": (["speech"], 48000, 8), "speech-x3-24k": (["speech"], 24000, 3)}


def tiny_card(name, kinds, output_sr, rate, *, shipped=True):
    """An index entry in the layout of scripts/train_pretrained.py, with made-up figures."""
    scores = {"model": {"snr": 20.0, "lsd": 1.5, "lsd_hf": 1.7}, "sinc": {"snr": 20.1, "lsd": 2.0, "lsd_hf": 2.4}}
    makers = ("iir", "fir", "poly", "soxr_hq", "soxr_vhq", "fft", "butter")
    failures = {} if shipped else {"fft": "LSD 2.100 is not below sinc's 2.000"}
    return {
        "name": name,
        "description": f"{kinds[0]}, {output_sr // rate} Hz -> {output_sr} Hz",
        "rate": rate,
        "input_sr": output_sr // rate,
        "output_sr": output_sr,
        "shipped": shipped,
        "non_commercial": True,
        "licence_note": "test data",
        "trained_on": {"kinds": kinds, "files": 2, "pairs": 4, "licences": ["CC0"], "input_makers": list(makers[:1]),
                       "cutoff": [0.8, 1.0]},  # fmt: skip
        "training": {"command": f"python scripts/train_pretrained.py --only {name}", "budget_minutes": 60,
                     "epochs": 1.5, "seconds": 3600.0, "weights_dtype": "float16"},  # fmt: skip
        "validation": {"split": "valid", "files": 2, "makers": {m: scores for m in makers}},
        "test": {"split": "test", "files": 3, "makers": {m: scores for m in makers}},
        "ship_rule": {"rule": "the rule", "failures": failures},
    }


def build_tiny_zoo(folder):
    """Tiny fitted DualBranchSR models for the ``TINY_ZOO`` rates, with an index, in ``folder``."""
    import json

    from audiosr import DualBranchSR, save_model

    folder.mkdir(parents=True, exist_ok=True)
    index = {}
    for name, (kinds, output_sr, rate) in TINY_ZOO.items():
        model = DualBranchSR(rate=rate, filters=(4, 8), kernel_sizes=(9, 5), max_epochs=1, random_state=0, device="cpu")
        y = harmonic_signals(2, model._resolved_patch_len(rate), sr=output_sr)
        meta = tiny_card(name, kinds, output_sr, rate)
        save_model(model.fit(y[:, ::rate], y), folder / f"{name}.pt", metadata=meta, dtype="float16")
        index[name] = meta
    for name, (kinds, output_sr, rate) in TINY_ZOO_FAILED.items():
        index[name] = tiny_card(name, kinds, output_sr, rate, shipped=False)
    # A stale file of a model that did not ship: the index entry decides.
    (folder / "speech-x3-24k.pt").write_bytes((folder / "speech-x3-48k.pt").read_bytes())
    (folder / "index.json").write_text(json.dumps(index, indent=2))
    return folder


@pytest.fixture(scope="session")
def tiny_zoo_folder(tmp_path_factory):
    return build_tiny_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture
def tiny_zoo(tiny_zoo_folder, monkeypatch):
    """The pretrained registry (and what caches it) pointed at the tiny zoo; restored after."""
    from audiosr import planning, pretrained

    pretrained._index.cache_clear()
    planning._load_pretrained.cache_clear()
    monkeypatch.setattr(pretrained, "_folder", lambda: tiny_zoo_folder)
    yield tiny_zoo_folder
    pretrained._index.cache_clear()
    planning._load_pretrained.cache_clear()


#: Tiny sizes of the three neural estimators, for tests of what they do around the network.
def _tiny_sizes():
    from audiosr import AudioUNet, DualBranchSR, SpectralDNN

    return {
        DualBranchSR: dict(filters=(4, 8), kernel_sizes=(9, 5), patch_len=256),
        AudioUNet: dict(filters=(4, 8), kernel_sizes=(9, 5), patch_len=256),
        SpectralDNN: dict(n_fft=64, context=3, hidden_layer_sizes=(16,)),
    }


TINY_NEURAL = _tiny_sizes()


def tiny_neural(cls, rate=4, **kw):
    """A neural estimator of class ``cls`` at tiny sizes, one epoch, on the CPU."""
    settings = {"max_epochs": 1, "batch_size": 8, "random_state": 0, "device": "cpu"}
    return cls(rate=rate, **{**TINY_NEURAL[cls], **settings, **kw})


def noise_pairs(rate=4, n=4, length=512, seed=0):
    """``(X, y)``: white-noise clips ``y`` and every ``rate``-th sample of them."""
    y = np.random.default_rng(seed).standard_normal((n, length * rate))
    return y[:, ::rate].copy(), y
