"""Effective bandwidth: the edge detector against cut-offs known by construction.

The signals and filters come from ``benchmarks/bandwidth.py`` (its docstring states
each filter's nominal cut-off), so the tests and the comparison report use one table.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as ss
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

import audiosr
from audiosr.bandwidth import BANDWIDTH_METHODS, FULL_BAND_FRACTION, Bandwidth, effective_bandwidth, file_bandwidth

SECONDS = 1.5


def _benchmark_module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bandwidth.py"
    spec = importlib.util.spec_from_file_location("benchmark_bandwidth", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cases = _benchmark_module()


def _table():
    """Every filter in every container rate it fits, at one of its cut-offs (rotating), contents alternating."""
    groups = {}
    for i, (name, sr, fc) in enumerate(cases.filter_cases()):
        groups.setdefault((name, sr), []).append((fc, i))
    table = []
    for j, ((name, sr), cutoffs) in enumerate(groups.items()):
        fc, seed = cutoffs[j % len(cutoffs)]
        table.append(pytest.param(name, sr, fc, ("speech", "noise")[j % 2], seed, id=f"{name}-{sr}-{fc}"))
    return table


TABLE = _table()


def _rel_err(hz, truth):
    return abs(hz - truth) / truth


def test_table_covers_every_filter_and_container():
    assert {p.values[0] for p in TABLE} == set(cases.FILTERS)
    assert {p.values[1] for p in TABLE} == set(cases.GRID)


@pytest.mark.parametrize("name, sr, fc, content, seed", TABLE)
def test_edge_within_5_percent_of_the_nominal_cutoff(name, sr, fc, content, seed):
    y = cases.make_filtered(name, content, sr, fc, seconds=SECONDS, seed=seed)
    bw = effective_bandwidth(y, sr)
    # Two cascaded wide-transition FIR filters (resample_poly down, then up) halve the
    # power about 7 % below their nominal cut-off: the half-power convention reads it there.
    tolerance = 0.10 if name == "poly-trip" else 0.05
    assert _rel_err(bw.hz, fc) <= tolerance, bw
    assert bw.method == "edge" and bw.sr == sr
    assert bw.full_band == (bw.hz >= FULL_BAND_FRACTION * sr / 2)
    assert 0.5 <= bw.confidence <= 1.0
    assert "edge at" in bw.evidence


@pytest.mark.parametrize("sr", sorted(cases.GRID))
@pytest.mark.parametrize("content", ["speech", "noise"])
def test_full_band_content_reaches_nyquist(sr, content):
    y = cases.CONTENTS[content](SECONDS, sr, 3)
    bw = effective_bandwidth(y, sr)
    assert bw.hz == sr / 2 and bw.full_band
    assert "no edge" in bw.evidence


def test_full_band_with_a_recording_like_anti_alias_edge():
    # A 48 kHz recording whose converter cuts at 21.6 kHz is still full band.
    y = cases.make_filtered("brickwall", "speech", 48000, 21600, seconds=SECONDS)
    bw = effective_bandwidth(y, 48000)
    assert bw.full_band and bw.hz >= FULL_BAND_FRACTION * 24000


@pytest.mark.parametrize(
    "x",
    [np.zeros(48000), np.full(48000, 0.5), np.full((2, 4800), -0.25), 1e-9 * np.ones(100), np.zeros(3)],
    ids=["zeros", "dc", "dc-stereo", "tiny-constant", "three-zeros"],
)
@pytest.mark.parametrize("method", BANDWIDTH_METHODS)
def test_no_active_content_is_reported_not_raised(x, method):
    bw = effective_bandwidth(x, 48000, method=method)
    assert bw.hz == 0.0 and bw.confidence == 0.0 and not bw.full_band
    assert "no active content" in bw.evidence


@pytest.fixture(scope="module")
def band_limited():
    """Speech-like content through soxr at 16 kHz and back, in a 48 kHz container (edge 7.6 kHz)."""
    return cases.make_filtered("soxr-trip", "speech", 48000, 7600, seconds=SECONDS, seed=21)


@pytest.mark.parametrize("floor_db", [-60, -70, -80])
@pytest.mark.parametrize("colour", ["white", "pink"])
def test_noise_floor_does_not_hide_the_edge(band_limited, floor_db, colour):
    rng = np.random.default_rng(-floor_db)
    if colour == "white":
        noise = rng.standard_normal(band_limited.size) * 10 ** (floor_db / 20)
    else:
        noise = cases.noise_like(SECONDS, 48000, seed=-floor_db, level_db=floor_db)
    bw = effective_bandwidth(band_limited + noise, 48000)
    assert _rel_err(bw.hz, 7600) <= 0.05, bw


def test_full_band_noise_floor_alone_is_full_band():
    bw = effective_bandwidth(np.random.default_rng(0).standard_normal(48000) * 1e-3, 48000)
    assert bw.full_band and bw.hz == 24000


def test_codec_holes_below_the_cutoff_do_not_move_the_edge():
    y = cases.speech_like(SECONDS, 44100, 4)
    # Far more holes than the table's mp3-like case: in every frame a few bands, in half
    # the frames the whole upper third of the pass band.
    f, _, spec = ss.stft(y, fs=44100, nperseg=1152)
    rng = np.random.default_rng(0)
    spec[f > 16000] = 0
    band = np.flatnonzero((f > 8000) & (f <= 16000))
    for j in range(spec.shape[1]):
        for _ in range(4):
            start = rng.integers(band[0], band[-1])
            spec[start : start + 12, j] = 0
        if rng.random() < 0.5:
            spec[band[2 * band.size // 3] :, j] = 0
    holed = ss.istft(spec, fs=44100, nperseg=1152)[1][: y.size]
    assert _rel_err(effective_bandwidth(holed, 44100).hz, 16000) <= 0.05


def test_long_silence_and_dither_do_not_count(band_limited):
    rng = np.random.default_rng(1)
    lsb = 2.0**-15
    silence = np.zeros(20 * 48000)
    y = np.concatenate([silence, band_limited, silence])
    y = np.round((y + (rng.random(y.size) - rng.random(y.size)) * lsb) / lsb) * lsb  # 16-bit TPDF dither
    bw = effective_bandwidth(y, 48000)
    assert _rel_err(bw.hz, 7600) <= 0.05, bw
    active, total = (int(n) for n in bw.evidence.split(", ")[-1].split()[0:3:2])
    assert active < total / 2  # the dithered silence was left out


def test_dc_offset_does_not_count(band_limited):
    plain = effective_bandwidth(band_limited, 48000)
    shifted = effective_bandwidth(band_limited + 0.3, 48000)
    assert shifted.hz == pytest.approx(plain.hz, rel=0.01)


def test_channels_are_pooled(band_limited):
    other = cases.make_filtered("soxr-trip", "noise", 48000, 7600, seconds=SECONDS, seed=22)
    assert _rel_err(effective_bandwidth(np.stack([band_limited, other]), 48000).hz, 7600) <= 0.05
    full = cases.speech_like(SECONDS, 48000, 23)
    assert effective_bandwidth(np.stack([band_limited, full]), 48000).full_band


def test_a_residue_above_the_edge_is_not_content():
    # Content cut at 4 kHz over a -70 dBFS noise floor that itself stops at 20 kHz: the
    # floor's own edge is the higher cliff, but what it bounds is residue, not content.
    y = cases.make_filtered("brickwall", "speech", 48000, 4000, seconds=SECONDS, seed=5)
    floor = cases.mp3_like(np.random.default_rng(0).standard_normal(y.size) * 10 ** (-70 / 20), 48000, 20000)
    assert _rel_err(effective_bandwidth(y + floor, 48000).hz, 4000) <= 0.05
    # resample_poly from 8 kHz leaves images of the content ~60 dB down above the edge.
    images = ss.resample_poly(cases.speech_like(SECONDS, 8000, 5), 6, 1)
    assert _rel_err(effective_bandwidth(images, 48000).hz, 4000) <= 0.05


@pytest.mark.parametrize("method, share", [("energy97", 0.97), ("energy98.5", 0.985), ("energy99.96", 0.9996)])
def test_cumulative_methods_follow_their_share(method, share):
    # Flat noise cut at 8 kHz: the magnitude below f grows linearly, so the cut-off is share * 8 kHz.
    n = int(SECONDS * 48000)
    spectrum = np.fft.rfft(np.random.default_rng(0).standard_normal(n))
    y = np.fft.irfft(spectrum * (np.fft.rfftfreq(n, 1 / 48000) <= 8000), n)
    bw = effective_bandwidth(y, 48000, method=method)
    assert bw.method == method
    assert bw.hz == pytest.approx(share * 8000, rel=0.02)
    assert 0.0 <= bw.confidence <= 1.0


def test_edge_beats_the_cumulative_rules_on_speech_like_content():
    y = cases.make_filtered("soxr-trip", "speech", 48000, 7600, seconds=SECONDS, seed=9)
    errors = {m: _rel_err(effective_bandwidth(y, 48000, method=m).hz, 7600) for m in BANDWIDTH_METHODS}
    assert min(errors, key=errors.get) == "edge"


@settings(max_examples=12, deadline=None)
@given(gain=st.floats(min_value=1e-3, max_value=1.0))
def test_gain_does_not_move_the_edge(band_limited, gain):
    reference = effective_bandwidth(band_limited, 48000).hz
    assert effective_bandwidth(gain * band_limited, 48000).hz == pytest.approx(reference, rel=0.01)


# --------------------------------------------------------------------------- the result


def test_bandwidth_is_frozen_and_full_band_follows_the_fraction():
    bw = Bandwidth(hz=20000.0, sr=44100, confidence=0.9, method="edge", evidence="x")
    assert bw.full_band  # 20 kHz >= 0.85 * 22.05 kHz
    assert not Bandwidth(16000.0, 44100, 0.9, "edge", "x").full_band
    with pytest.raises(AttributeError):
        bw.hz = 1.0
    assert audiosr.effective_bandwidth is effective_bandwidth and audiosr.Bandwidth is Bandwidth


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "x, sr, kwargs, error, match",
    [
        (np.zeros(0), 16000, {}, ValueError, "at least 1 sample"),
        (np.array([0.0, np.nan, 1.0]), 16000, {}, ValueError, "NaN or infinite"),
        (np.array([0.0, np.inf]), 16000, {}, ValueError, "NaN or infinite"),
        (np.zeros((2, 3, 100)), 16000, {}, ValueError, "1-D or 2-D"),
        (np.zeros((48000, 2)), 48000, {}, ValueError, r"pass x\.T"),
        (np.zeros(100), 0, {}, ValueError, "positive integer sample rate"),
        (np.zeros(100), -8000, {}, ValueError, "positive integer sample rate"),
        (np.zeros(100), 44100.5, {}, ValueError, "positive integer sample rate"),
        (np.zeros(100), "44100", {}, TypeError, "positive integer sample rate"),
        (np.zeros(100), 16000, {"method": "median"}, ValueError, "method must be one of"),
        (np.zeros(100), 16000, {"active_db": 0}, ValueError, "active_db"),
        (np.zeros(100), 16000, {"active_db": "45"}, TypeError, "active_db"),
        ("noise.wav", 16000, {}, TypeError, "array of audio samples"),
    ],
)
def test_bad_input_gets_a_clear_error(x, sr, kwargs, error, match):
    with pytest.raises(error, match=match):
        effective_bandwidth(x, sr, **kwargs)


# --------------------------------------------------------------------------- files


def _write(path, y, sr, subtype="PCM_16"):
    sf.write(path, np.asarray(y).T, sr, subtype=subtype)
    return path


def test_file_of_8khz_content_in_a_44k_container(tmp_path):
    y = cases.make_filtered("brickwall", "speech", 44100, 8000, seconds=3.0, seed=2)
    bw = file_bandwidth(_write(tmp_path / "narrow.flac", 0.5 * y / np.abs(y).max(), 44100))
    assert bw.sr == 44100 and _rel_err(bw.hz, 8000) <= 0.05 and not bw.full_band


def test_file_full_band_silence_and_dc(tmp_path):
    full = cases.speech_like(3.0, 44100, 6)
    assert file_bandwidth(_write(tmp_path / "full.wav", 0.5 * full / np.abs(full).max(), 44100)).full_band
    silent = file_bandwidth(_write(tmp_path / "silent.wav", np.zeros(44100), 44100))
    assert silent.hz == 0.0 and "no active content" in silent.evidence
    dc = file_bandwidth(_write(tmp_path / "dc.flac", np.full(48000, 0.5), 48000))
    assert dc.hz == 0.0 and dc.confidence == 0.0


def test_file_stereo_matches_the_array(tmp_path):
    y = np.stack([cases.make_filtered("soxr-trip", c, 48000, 7600, seconds=2.0, seed=3) for c in ("speech", "noise")])
    path = _write(tmp_path / "stereo.wav", y, 48000, subtype="FLOAT")
    assert file_bandwidth(path).hz == pytest.approx(effective_bandwidth(y, 48000).hz, rel=1e-6)


class _CountingSoundFile(sf.SoundFile):
    frames_read = 0

    def read(self, frames=-1, *args, **kwargs):
        data = super().read(frames, *args, **kwargs)
        _CountingSoundFile.frames_read += len(data)
        return data


def test_long_file_is_read_in_bounded_excerpts(tmp_path, monkeypatch):
    sr = 8000
    y = cases.make_filtered("soxr-trip", "speech", sr, 2850, seconds=300.0, seed=4)  # 5 minutes, edge 2.85 kHz
    path = _write(tmp_path / "long.flac", 0.5 * y / np.abs(y).max(), sr)
    monkeypatch.setattr("audiosr.bandwidth.sf.SoundFile", _CountingSoundFile)
    _CountingSoundFile.frames_read = 0
    bw = file_bandwidth(path, max_seconds=10.0)
    assert _CountingSoundFile.frames_read <= 10 * sr
    assert _rel_err(bw.hz, 2850) <= 0.05


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        file_bandwidth(tmp_path / "missing.wav")
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(ValueError, match="not a readable audio file"):
        file_bandwidth(tmp_path / "text.wav")
    good = _write(tmp_path / "ok.wav", np.zeros(100), 16000)
    with pytest.raises(ValueError, match="max_seconds"):
        file_bandwidth(good, max_seconds=0)
    with pytest.raises(ValueError, match="method must be one of"):
        file_bandwidth(good, method="nope")


# --------------------------------------------------------------------------- real recordings


def test_real_speech_resampled_through_16khz(real_data):
    import soxr

    y, sr = sf.read(real_data / "speech" / "vctk_p228_023.flac", dtype="float64")
    assert effective_bandwidth(y, sr).full_band  # VCTK at 48 kHz reaches Nyquist
    via16k = soxr.resample(soxr.resample(y, sr, 16000, "HQ"), 16000, sr, "HQ")
    bw = effective_bandwidth(via16k, sr)
    # soxr's band-width is 95 % of the 8 kHz Nyquist frequency: 7.6 kHz.
    assert _rel_err(bw.hz, 7600) <= 0.05 and not bw.full_band
