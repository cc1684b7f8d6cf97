"""Tests of audiosr.datasets: manifests, dataset folders and the shipped sample clips."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiosr import datasets
from audiosr.datasets import SAMPLES, data_root, load_manifest, load_sample, read_manifest, sample_path
from audiosr.io import load
from audiosr.signal import resample

COLUMNS = ["path", "sample_rate", "duration_s", "license", "speaker_or_piece", "split", "kind"]

# path, sample rate, duration (s), speaker/piece, split, kind, channels
_FILES = [
    ("speech/spk1_train.flac", 16000, 0.25, "spk1", "train", "speech", 1),
    ("speech/spk1_test.flac", 16000, 0.2, "spk1", "test", "speech", 1),
    ("speech/spk2_test.flac", 16000, 0.3, "spk2", "test", "speech", 1),
    ("speech/low/spk3_valid.flac", 8000, 0.25, "spk3", "valid", "speech", 1),
    ("piano/piece1.flac", 8000, 0.5, "piece1", "train", "piano", 2),
    ("piano/piece2.flac", 8000, 0.25, "piece2", "test", "piano", 1),
]


def _write_manifest(root, rows, columns=COLUMNS):
    with open(root / "MANIFEST.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def dataset(tmp_path):
    """A small dataset folder: 6 short FLAC files at 16 and 8 kHz and their MANIFEST.csv.

    Returns (root, audio) where audio maps each relative path to the samples written (time first).
    """
    root = tmp_path / "data"
    rows, audio = [], {}
    for i, (rel, sr, dur, who, split, kind, channels) in enumerate(_FILES):
        n = int(round(dur * sr))
        t = np.arange(n) / sr
        y = (0.1 + 0.1 * i) * np.sin(2 * np.pi * (200 + 50 * i) * t)
        data = np.stack([y, 0.5 * y], axis=1) if channels == 2 else y
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), data, sr, subtype="PCM_16")
        audio[rel] = sf.read(str(path))[0]
        rows.append(
            {
                "path": rel,
                "sample_rate": sr,
                "duration_s": f"{n / sr:.3f}",
                "license": "CC0",
                "speaker_or_piece": who,
                "split": split,
                "kind": kind,
            }
        )
    _write_manifest(root, rows)
    return root, audio


def _rels(data, root):
    return [p.relative_to(root).as_posix() for p in data.paths]


def _expected(kind=None, split=None, speaker=None, min_sr=None):
    def ok(value, wanted):
        return wanted is None or value in ({wanted} if isinstance(wanted, str) else set(wanted))

    return [
        f[0]
        for f in _FILES
        if ok(f[5], kind) and ok(f[4], split) and ok(f[3], speaker) and (min_sr is None or f[1] >= min_sr)
    ]


# ----------------------------------------------------------------------------- read_manifest


def test_read_manifest_converts_numeric_columns(dataset):
    root, _ = dataset
    rows = read_manifest(root)
    assert [r["path"] for r in rows] == [f[0] for f in _FILES]
    for row, spec in zip(rows, _FILES):
        assert row["sample_rate"] == spec[1] and type(row["sample_rate"]) is int
        assert isinstance(row["duration_s"], float)
        assert row["duration_s"] == pytest.approx(spec[2], abs=1e-3)
        assert (row["speaker_or_piece"], row["split"], row["kind"], row["license"]) == (
            spec[3],
            spec[4],
            spec[5],
            "CC0",
        )


def test_read_manifest_keeps_extra_and_empty_columns(tmp_path):
    rows = [
        {
            "path": "a.flac",
            "sample_rate": "8000",
            "kind": "speech",
            "split": "test",
            "notes": "hello",
            "effective_bw_hz": "",
            "frac_above_8k": "1.5e-02",
        }
    ]
    _write_manifest(
        tmp_path, rows, columns=["path", "sample_rate", "kind", "split", "notes", "effective_bw_hz", "frac_above_8k"]
    )
    (row,) = read_manifest(tmp_path)
    assert row["notes"] == "hello"
    assert row["effective_bw_hz"] == ""
    assert row["frac_above_8k"] == pytest.approx(0.015)


@pytest.mark.parametrize("column", ["path", "sample_rate", "kind", "split"])
def test_manifest_missing_required_column(tmp_path, column):
    columns = [c for c in COLUMNS if c != column]
    _write_manifest(
        tmp_path, [{"path": "a.flac", "sample_rate": 8000, "kind": "speech", "split": "test"}], columns=columns
    )
    for reader in (read_manifest, load_manifest):
        with pytest.raises(ValueError, match=rf"lacks the column\(s\) \['{column}'\]"):
            reader(tmp_path)


def test_manifest_with_non_integer_sample_rate(tmp_path):
    rows = [
        {"path": "a.flac", "sample_rate": "8000", "kind": "speech", "split": "test"},
        {"path": "b.flac", "sample_rate": "fast", "kind": "speech", "split": "test"},
    ]
    _write_manifest(tmp_path, rows)
    with pytest.raises(ValueError, match=r"line 3: sample_rate 'fast' is not an integer"):
        read_manifest(tmp_path)


def test_manifest_without_rows_selects_nothing(tmp_path):
    _write_manifest(tmp_path, [])
    assert read_manifest(tmp_path) == []
    with pytest.raises(ValueError, match="no file of .*MANIFEST.csv matches"):
        load_manifest(tmp_path)


# ----------------------------------------------------------------------------- data_root


def test_data_root_accepts_str_and_path(dataset):
    root, _ = dataset
    assert data_root(root) == root
    assert data_root(str(root)) == root


def test_data_root_from_environment(dataset, monkeypatch):
    root, _ = dataset
    monkeypatch.setenv("AUDIOSR_DATA", str(root))
    assert data_root() == root
    data = load_manifest(kind="piano", load_audio=False)
    assert _rels(data, root) == _expected(kind="piano")
    assert [r["path"] for r in read_manifest()] == [f[0] for f in _FILES]


def test_explicit_root_wins_over_environment(dataset, tmp_path, monkeypatch):
    root, _ = dataset
    monkeypatch.setenv("AUDIOSR_DATA", str(tmp_path / "elsewhere"))
    assert data_root(root) == root
    assert len(load_manifest(root, load_audio=False).rows) == len(_FILES)


@pytest.mark.parametrize("env", [None, ""])
def test_no_root_and_no_environment(monkeypatch, env):
    if env is None:
        monkeypatch.delenv("AUDIOSR_DATA", raising=False)
    else:
        monkeypatch.setenv("AUDIOSR_DATA", env)
    for call in (data_root, read_manifest, load_manifest):
        with pytest.raises(ValueError, match="no dataset folder given: pass root=.* or set the AUDIOSR_DATA"):
            call()


@pytest.mark.parametrize("make", ["empty_folder", "missing_folder", "file"])
def test_folder_without_manifest(tmp_path, make):
    target = tmp_path / "d"
    if make == "empty_folder":
        target.mkdir()
        (target / "a.flac").write_bytes(b"x")
    elif make == "file":
        target.write_text("path\n")
    with pytest.raises(FileNotFoundError, match=re.escape(f"'{target}' has no MANIFEST.csv")):
        load_manifest(target)
    with pytest.raises(FileNotFoundError, match="has no MANIFEST.csv"):
        data_root(target)


def test_environment_folder_without_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOSR_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="has no MANIFEST.csv"):
        load_manifest()


# ----------------------------------------------------------------------------- load_manifest: selection


def test_load_everything_needs_sr_with_mixed_rates(dataset):
    root, _ = dataset
    with pytest.raises(ValueError, match=r"different sample rates \[8000, 16000\]; pass sr=\.\.\."):
        load_manifest(root)


def test_load_everything_resampled(dataset):
    root, audio = dataset
    data = load_manifest(root, sr=16000)
    assert data.sr == 16000
    assert _rels(data, root) == [f[0] for f in _FILES]
    assert all(p.is_file() for p in data.paths)
    assert [r["path"] for r in data.rows] == [f[0] for f in _FILES]
    for (rel, sr, *_), y in zip(_FILES, data.signals):
        assert y.dtype == np.float32 and y.ndim == 1
        n = len(audio[rel])
        assert len(y) == math.ceil(n * 16000 / sr)


@pytest.mark.parametrize("kind", ["speech", "piano", ["piano"], ["speech", "piano"], ("piano", "speech"), {"speech"}])
def test_filter_by_kind(dataset, kind):
    root, _ = dataset
    data = load_manifest(root, kind=kind, load_audio=False)
    assert _rels(data, root) == _expected(kind=kind)
    assert data.signals is None


@pytest.mark.parametrize("split", ["train", "test", "valid", ["train", "valid"]])
def test_filter_by_split(dataset, split):
    root, _ = dataset
    data = load_manifest(root, split=split, load_audio=False)
    assert _rels(data, root) == _expected(split=split)
    assert {r["split"] for r in data.rows} == ({split} if isinstance(split, str) else set(split))


@pytest.mark.parametrize("speaker", ["spk1", ["spk2"], ["spk1", "spk3"], "piece1"])
def test_filter_by_speaker(dataset, speaker):
    root, _ = dataset
    data = load_manifest(root, speaker=speaker, sr=8000)
    assert _rels(data, root) == _expected(speaker=speaker)
    assert len(data.signals) == len(data.paths) > 0


def test_filters_combine(dataset):
    root, audio = dataset
    data = load_manifest(root, kind="speech", split="test", speaker=["spk1", "spk2"])
    assert _rels(data, root) == ["speech/spk1_test.flac", "speech/spk2_test.flac"]
    assert data.sr == 16000  # one native rate: no sr needed
    for rel, y in zip(_rels(data, root), data.signals):
        np.testing.assert_allclose(y, audio[rel], atol=1e-6)  # native audio, unchanged


def test_existing_values_that_match_nothing_together(dataset):
    # "piano" and "spk1" both exist in the manifest, but no row has both
    root, _ = dataset
    with pytest.raises(ValueError, match="no file of .* matches kind='piano', split=None, speaker='spk1'"):
        load_manifest(root, kind="piano", speaker="spk1")
    with pytest.raises(ValueError, match="no file of .* matches"):
        load_manifest(root, kind="piano", split="valid")


def test_min_sr_drops_low_rate_files(dataset):
    root, _ = dataset
    data = load_manifest(root, min_sr=16000)
    assert _rels(data, root) == _expected(min_sr=16000)
    assert data.sr == 16000
    assert all(r["sample_rate"] >= 16000 for r in data.rows)
    assert len(load_manifest(root, min_sr=8000, load_audio=False).rows) == len(_FILES)
    with pytest.raises(ValueError, match="no file of .* matches .*min_sr=22050"):
        load_manifest(root, min_sr=22050)


def test_sr_resamples_content(dataset):
    root, audio = dataset
    data = load_manifest(root, kind="piano", sr=16000)
    assert data.sr == 16000
    for rel, y in zip(_rels(data, root), data.signals):
        native = audio[rel]
        mono = native.mean(axis=1) if native.ndim == 2 else native
        assert y.shape == (2 * len(mono),)
        np.testing.assert_allclose(y, resample(mono, orig_sr=8000, target_sr=16000), atol=1e-5)


def test_signals_are_mono_float32(dataset):
    root, audio = dataset
    data = load_manifest(root, kind="piano", split="train")
    (y,) = data.signals
    assert y.dtype == np.float32 and y.ndim == 1
    np.testing.assert_allclose(y, audio["piano/piece1.flac"].mean(axis=1), atol=1e-6)  # stereo file averaged


def test_load_audio_false_reads_no_audio(dataset, monkeypatch):
    root, _ = dataset

    def no_reading(*args, **kwargs):
        raise AssertionError("audio was read")

    monkeypatch.setattr(datasets, "load", no_reading)
    data = load_manifest(root, load_audio=False)
    assert data.signals is None
    assert data.sr is None  # the rates differ
    assert len(data.paths) == len(data.rows) == len(_FILES)
    assert load_manifest(root, kind="speech", split="test", load_audio=False).sr == 16000
    assert load_manifest(root, load_audio=False, sr=22050).sr == 22050


def test_paths_point_at_the_files(dataset):
    root, audio = dataset
    data = load_manifest(root, load_audio=False)
    for path, row in zip(data.paths, data.rows):
        assert path == root / row["path"]
        assert sf.info(str(path)).samplerate == row["sample_rate"]


def test_missing_audio_file_names_it(dataset):
    root, _ = dataset
    gone = root / "speech" / "spk2_test.flac"
    gone.unlink()
    with pytest.raises(FileNotFoundError, match="spk2_test.flac"):
        load_manifest(root, speaker="spk2")
    assert len(load_manifest(root, speaker="spk2", load_audio=False).paths) == 1


# ----------------------------------------------------------------------------- load_manifest: bad filters


def test_unknown_kind_lists_known_kinds(dataset):
    root, _ = dataset
    with pytest.raises(ValueError, match=r"unknown kind \['drums'\]; the manifest has \['piano', 'speech'\]"):
        load_manifest(root, kind="drums")
    with pytest.raises(ValueError, match=r"unknown kind \['drums'\]"):
        load_manifest(root, kind=["speech", "drums"], load_audio=False)


def test_unknown_split_lists_known_splits(dataset):
    root, _ = dataset
    with pytest.raises(
        ValueError, match=r"unknown split \['validation'\]; the manifest has \['test', 'train', 'valid'\]"
    ):
        load_manifest(root, split="validation")


def test_unknown_speaker_lists_speakers_of_the_whole_manifest(dataset):
    root, _ = dataset
    with pytest.raises(
        ValueError, match=r"unknown speaker \['p225'\]; the manifest has \['piece1', 'piece2', 'spk1', 'spk2', 'spk3'\]"
    ):
        load_manifest(root, kind="piano", speaker="p225")


@pytest.mark.parametrize("value", [5, [], ["speech", 3], 2.0])
def test_bad_filter_type(dataset, value):
    root, _ = dataset
    with pytest.raises(TypeError, match="kind must be a string"):
        load_manifest(root, kind=value)


# ----------------------------------------------------------------------------- shipped samples


@pytest.mark.parametrize(("name", "sr", "seconds"), [("speech", 48000, 4.5), ("piano", 44100, 5.0)])
def test_shipped_samples(name, sr, seconds):
    path = sample_path(name)
    assert isinstance(path, Path)
    assert path.is_file() and path.suffix == ".flac"
    assert path.name == SAMPLES[name][0]
    y, file_sr = load_sample(name)
    assert file_sr == sr
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) / sr == pytest.approx(seconds, abs=0.3)
    assert 0.01 < np.max(np.abs(y)) <= 1.0
    assert np.sqrt(np.mean(y**2)) > 1e-3  # not silence


def test_load_sample_resamples():
    y, sr = load_sample("speech", sr=16000)
    y48, _ = load_sample("speech")
    assert sr == 16000
    assert len(y) == math.ceil(len(y48) / 3)
    assert y.dtype == np.float32


@pytest.mark.parametrize("name", ["drums", "Speech", "", None])
def test_unknown_sample(name):
    with pytest.raises(ValueError, match=r"unknown sample .*; available: \['piano', 'speech'\]"):
        sample_path(name)
    with pytest.raises(ValueError, match="unknown sample"):
        load_sample(name)


# ----------------------------------------------------------------------------- the real dataset


def test_real_manifest_speech_test_split(real_data):
    data = load_manifest(real_data, kind="speech", split="test", load_audio=False)
    assert len(data.rows) > 0
    assert data.signals is None
    assert all(r["kind"] == "speech" and r["split"] == "test" for r in data.rows)
    expected = [r["path"] for r in read_manifest(real_data) if r["kind"] == "speech" and r["split"] == "test"]
    assert [r["path"] for r in data.rows] == expected
    rates = {r["sample_rate"] for r in data.rows}
    assert data.sr == (rates.pop() if len(rates) == 1 else None)
    for path, row in zip(data.paths, data.rows):
        assert path.is_file(), path
        assert sf.info(str(path)).samplerate == row["sample_rate"]


def test_real_files_load(real_data):
    rows = [
        r
        for r in read_manifest(real_data)
        if r["kind"] == "speech" and r["split"] == "test" and r["sample_rate"] == 48000
    ]
    speakers = sorted(
        {r["speaker_or_piece"] for r in rows}, key=lambda s: sum(r["speaker_or_piece"] == s for r in rows)
    )[:2]
    data = load_manifest(real_data, kind="speech", split="test", speaker=speakers, min_sr=48000, sr=16000)
    assert data.sr == 16000
    assert 1 <= len(data.signals) <= 6
    for y, row in zip(data.signals, data.rows):
        assert y.dtype == np.float32 and y.ndim == 1
        assert len(y) / 16000 == pytest.approx(row["duration_s"], abs=0.01)
        assert np.max(np.abs(y)) > 0.01
    native, sr = load(data.paths[0])
    assert sr == 48000
    assert len(native) == sf.info(str(data.paths[0])).frames
