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


def harmonic_signals(n_clips, length, sr=16000, seed=0, f0_range=(150, 400)):
    """Band-limited harmonic tones with 1/k amplitudes up to 7.9 kHz.

    Their high band is predictable from their low band (the harmonics continue), which
    is what a super-resolution model can learn and an interpolator cannot.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(length) / sr
    clips = []
    for _ in range(n_clips):
        f0 = rng.uniform(*f0_range)
        k = np.arange(1, int(7900 // f0) + 1)[:, None]
        phases = rng.uniform(0, 2 * np.pi, size=(k.size, 1))
        clips.append(0.3 * np.sum(np.sin(2 * np.pi * f0 * k * t + phases) / k, axis=0))
    return np.stack(clips)


@pytest.fixture(scope="session")
def harmonic():
    return harmonic_signals


@pytest.fixture(scope="session")
def lsd_gain_over_spline(harmonic):
    """Fit a model on the harmonic task at rate 4; return (its LSD, the spline's LSD) on held-out clips."""
    from audiosr import SplineUpsampler, decimate, make_pairs
    from audiosr.metrics import lsd

    X, y = make_pairs(list(harmonic(16, 8192, seed=0)), 4, segment=1024)
    test = harmonic(4, 8192, seed=1)
    X_test = decimate(test, 4)
    spline = lsd(test, SplineUpsampler(rate=4).transform(X_test))

    def run(model):
        model.fit(X, y)
        return lsd(test, model.transform(X_test)), spline

    return run
