"""Tests of audiosr.io: load, save, info and find_audio_files."""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from audiosr.io import AUDIO_EXTENSIONS, ClippingWarning, find_audio_files, info, load, save


def _tone(n, sr, freq=440.0, amp=0.5, channels=None):
    """A sine of ``n`` samples; with ``channels`` a (channels, n) array, one frequency per channel."""
    t = np.arange(n) / sr
    if channels is None:
        return amp * np.sin(2 * np.pi * freq * t)
    return np.stack([amp * np.sin(2 * np.pi * freq * (k + 1) * t) for k in range(channels)])


def _peak_freq(y, sr):
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.argmax(spectrum) * sr / len(y)


def _partial_files(folder):
    return [p for p in Path(folder).rglob("*") if ".partial" in p.name]


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_round_trip_pcm16_within_quantization(tmp_path, ext):
    y = _tone(4000, 16000)
    path = tmp_path / f"tone{ext}"
    save(path, y, 16000)
    assert sf.info(str(path)).subtype == "PCM_16"
    y2, sr = load(path)
    assert sr == 16000
    assert y2.shape == y.shape
    # 16-bit quantisation: half a step of 2**-15, plus float32 rounding
    np.testing.assert_allclose(y2, y, rtol=0, atol=2.0**-15)
    assert not np.array_equal(y2, y.astype(np.float32))  # really quantised, not a float file


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_round_trip_pcm24_is_finer_than_pcm16(tmp_path, ext):
    y = _tone(4000, 16000)
    path = tmp_path / f"tone{ext}"
    save(path, y, 16000, subtype="PCM_24")
    assert info(path).subtype == "PCM_24"
    y2, _ = load(path, dtype=np.float64)
    np.testing.assert_allclose(y2, y, rtol=0, atol=2.0**-23)


def test_round_trip_float_wav_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.uniform(-1, 1, size=3000).astype(np.float32)
    path = tmp_path / "noise.wav"
    save(path, y, 22050, subtype="FLOAT")
    assert sf.info(str(path)).subtype == "FLOAT"
    y2, sr = load(path)
    assert sr == 22050
    assert y2.dtype == np.float32
    np.testing.assert_array_equal(y2, y)


def test_round_trip_double_wav_is_exact_in_float64(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.uniform(-1, 1, size=(2, 1000))
    path = tmp_path / "noise.wav"
    save(path, y, 8000, subtype="DOUBLE")
    y2, _ = load(path, mono=False, dtype=np.float64)
    np.testing.assert_array_equal(y2, y)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    y=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 4), st.integers(1, 300)),
        elements=st.floats(-1, 1, width=32),
    ),
    sr=st.integers(1000, 96000),
)
def test_float_wav_round_trip_property(y, sr):
    """Any (channels, time) float32 block in [-1, 1] survives a FLOAT wav unchanged."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.wav"
        save(path, y, sr, subtype="FLOAT")
        y2, sr2 = load(path, mono=False)
        assert sr2 == sr
        assert y2.shape == y.shape
        np.testing.assert_array_equal(y2, y)
        assert os.listdir(folder) == ["x.wav"]


# ----------------------------------------------------------------------------- layout and channels


def test_multichannel_layout_is_channels_first_time_last(tmp_path):
    n = 2000
    y = np.stack([np.full(n, 0.1), np.full(n, -0.2), np.linspace(-0.5, 0.5, n)])
    path = tmp_path / "three.wav"
    save(path, y, 8000, subtype="FLOAT")
    # on disk (soundfile's time-first view) channel k is column k
    on_disk, _ = sf.read(str(path), always_2d=True)
    assert on_disk.shape == (n, 3)
    np.testing.assert_allclose(on_disk.T, y, atol=1e-7)
    y2, _ = load(path, mono=False)
    assert y2.shape == (3, n)
    np.testing.assert_allclose(y2, y, atol=1e-7)
    i = info(path)
    assert (i.channels, i.frames, i.samplerate) == (3, n, 8000)


def test_mono_true_averages_channels(tmp_path):
    y = _tone(1600, 8000, channels=2)
    path = tmp_path / "stereo.wav"
    save(path, y, 8000, subtype="FLOAT")
    mono, _ = load(path)
    assert mono.shape == (1600,)
    np.testing.assert_allclose(mono, y.mean(axis=0), atol=1e-6)


def test_mono_false_on_mono_file_gives_one_row(tmp_path):
    y = _tone(1234, 8000)
    path = tmp_path / "mono.flac"
    save(path, y, 8000)
    y2, _ = load(path, mono=False)
    assert y2.shape == (1, 1234)
    y1, _ = load(path)
    assert y1.shape == (1234,)
    np.testing.assert_array_equal(y2[0], y1)


def test_save_accepts_list_input(tmp_path):
    path = tmp_path / "list.wav"
    save(path, [0.0, 0.25, -0.25, 0.5], 8000, subtype="FLOAT")
    np.testing.assert_array_equal(load(path)[0], np.array([0.0, 0.25, -0.25, 0.5], dtype=np.float32))


# ----------------------------------------------------------------------------- resampling and dtype


@pytest.mark.parametrize(
    ("orig", "target"),
    [(16000, 8000), (8000, 16000), (44100, 16000), (16000, 48000), (22050, 44100)],
)
def test_load_resamples_to_sr(tmp_path, orig, target):
    n = orig // 2  # 0.5 s
    path = tmp_path / "tone.wav"
    save(path, _tone(n, orig, freq=500.0), orig, subtype="FLOAT")
    y, sr = load(path, sr=target)
    assert sr == target
    assert y.dtype == np.float32
    assert len(y) == math.ceil(n * target / orig)
    # the tone keeps its pitch: resampled, not just relabelled
    assert abs(_peak_freq(y, target) - 500.0) < 5.0
    assert np.max(np.abs(y)) == pytest.approx(0.5, abs=0.05)


def test_load_resamples_each_channel(tmp_path):
    path = tmp_path / "stereo.wav"
    save(path, _tone(8000, 16000, freq=300.0, channels=2), 16000, subtype="FLOAT")
    y, sr = load(path, sr=8000, mono=False)
    assert (sr, y.shape) == (8000, (2, 4000))
    assert abs(_peak_freq(y[0], 8000) - 300.0) < 5
    assert abs(_peak_freq(y[1], 8000) - 600.0) < 5


def test_load_sr_equal_to_file_rate_changes_nothing(tmp_path):
    path = tmp_path / "tone.wav"
    y = _tone(1000, 8000)
    save(path, y, 8000, subtype="FLOAT")
    np.testing.assert_array_equal(load(path, sr=8000)[0], load(path)[0])


@pytest.mark.parametrize(
    ("sr", "exc"), [(0, ValueError), (-8000, ValueError), (8000.5, ValueError), ("8000", TypeError)]
)
def test_load_bad_sr(tmp_path, sr, exc):
    path = tmp_path / "tone.wav"
    save(path, _tone(100, 8000), 8000)
    with pytest.raises(exc, match="sr must be a positive integer sample rate"):
        load(path, sr=sr)


@pytest.mark.parametrize("dtype", [None, np.float32, np.float64, "float64"])
def test_load_dtype(tmp_path, dtype):
    path = tmp_path / "tone.flac"
    save(path, _tone(800, 8000), 8000)
    y, _ = load(path) if dtype is None else load(path, dtype=dtype)
    assert y.dtype == (np.float32 if dtype is None else np.dtype(dtype))
    y2, _ = load(path, sr=16000, mono=False) if dtype is None else load(path, sr=16000, mono=False, dtype=dtype)
    assert y2.dtype == y.dtype


@pytest.mark.parametrize("dtype", [np.int16, "int32", bool])
def test_load_refuses_non_float_dtype(tmp_path, dtype):
    path = tmp_path / "tone.wav"
    save(path, _tone(100, 8000), 8000)
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        load(path, dtype=dtype)


@pytest.mark.parametrize(("np_dtype", "subtype", "full"), [(np.int16, "PCM_16", 2**15), (np.int32, "PCM_32", 2**31)])
def test_integer_pcm_is_scaled_to_unit_range(tmp_path, np_dtype, subtype, full):
    ints = np.array([-full, -full // 2, 0, full // 4, full - 1], dtype=np_dtype)
    path = tmp_path / "ints.wav"
    sf.write(str(path), ints, 8000, subtype=subtype)
    y, _ = load(path, dtype=np.float64)
    np.testing.assert_allclose(y, ints / full, rtol=0, atol=1e-12)
    assert y.min() == -1.0
    assert y.max() < 1.0


# ----------------------------------------------------------------------------- bad input to load / info


@pytest.mark.parametrize("reader", [load, info])
def test_missing_file_names_the_path(tmp_path, reader):
    path = tmp_path / "nothing here.wav"
    with pytest.raises(FileNotFoundError, match=re.escape(str(path))):
        reader(path)


@pytest.mark.parametrize("reader", [load, info])
def test_directory_is_refused(tmp_path, reader):
    folder = tmp_path / "looks_like.wav"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder, not an audio file"):
        reader(folder)


@pytest.mark.parametrize("content", [b"this is not audio\n", b"RIFF\x00\x00\x00\x00WAVEjunk", b""])
def test_non_audio_file_is_a_value_error(tmp_path, content):
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"could not read .*x\.wav.* as audio"):
        load(path)
    with pytest.raises(ValueError, match=r"x\.wav.* is not a readable audio file"):
        info(path)


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_empty_audio_file_is_a_value_error(tmp_path, subtype):
    path = tmp_path / "empty.wav"
    sf.write(str(path), np.zeros((0, 2)), 8000, subtype=subtype)
    assert sf.info(str(path)).frames == 0
    with pytest.raises(ValueError, match=r"empty\.wav' contains no samples"):
        load(path)


def test_empty_flac_file_is_a_value_error(tmp_path):
    # libsndfile cannot even reopen a FLAC stream without frames
    path = tmp_path / "empty.flac"
    sf.write(str(path), np.zeros((0, 1)), 8000)
    with pytest.raises(ValueError, match=r"empty\.flac"):
        load(path)


def test_non_finite_float_file_is_refused(tmp_path):
    path = tmp_path / "nan.wav"
    sf.write(str(path), np.array([0.0, np.nan, 0.5]), 8000, subtype="FLOAT")
    with pytest.raises(ValueError, match="NaN or infinite"):
        load(path)


def test_load_accepts_str_paths(tmp_path):
    path = tmp_path / "tone.wav"
    save(str(path), _tone(100, 8000), 8000)
    y, sr = load(str(path))
    assert (y.shape, sr) == ((100,), 8000)
    assert info(str(path)).frames == 100


# ----------------------------------------------------------------------------- bad input to save


@pytest.mark.parametrize("name", ["out.xyz", "out", "out.mp4", "out.txt"])
def test_save_unknown_extension(tmp_path, name):
    with pytest.raises(ValueError, match="cannot tell the audio format .* from its extension"):
        save(tmp_path / name, _tone(100, 8000), 8000)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "subtype"), [("x.wav", "BOGUS"), ("x.flac", "FLOAT"), ("x.wav", "VORBIS")])
def test_save_invalid_subtype(tmp_path, name, subtype):
    with pytest.raises(ValueError, match=f"subtype '{subtype}' is not valid for .* files; valid ones"):
        save(tmp_path / name, _tone(100, 8000), 8000, subtype=subtype)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("y", "exc", "message"),
    [
        (np.zeros((2, 2, 10)), ValueError, "with time on the last axis"),
        (np.array([0.0, np.nan]), ValueError, "NaN or infinite"),
        (np.zeros(0), ValueError, "at least 1 sample"),
        ("abc", TypeError, "must be an array of audio samples"),
    ],
)
def test_save_bad_signal(tmp_path, y, exc, message):
    with pytest.raises(exc, match=message):
        save(tmp_path / "x.wav", y, 8000)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sr", [0, -1, 8000.5])
def test_save_bad_sample_rate(tmp_path, sr):
    with pytest.raises(ValueError, match="sr must be a positive integer sample rate"):
        save(tmp_path / "x.wav", _tone(100, 8000), sr)


@pytest.mark.parametrize(
    ("name", "subtype"),
    [
        ("x.wav", None),
        ("x.flac", None),
        ("x.wav", "PCM_16"),
        ("x.wav", "PCM_24"),
        ("x.wav", "PCM_U8"),
        ("x.wav", "pcm_16"),
    ],
)
def test_save_warns_and_clips_for_pcm(tmp_path, name, subtype):
    y = np.array([0.0, 1.5, -2.0, 0.25] * 50)
    path = tmp_path / name
    with pytest.warns(ClippingWarning, match=r"100 of 200 samples outside \[-1, 1\] \(peak 2\) are clipped"):
        save(path, y, 8000, subtype=subtype)
    y2, _ = load(path, dtype=np.float64)
    assert np.all(np.abs(y2) <= 1.0)
    assert y2[1] == pytest.approx(1.0, abs=0.01)  # clipped, not wrapped around
    assert y2[2] == -1.0
    assert y2[3] == pytest.approx(0.25, abs=0.01)


def test_save_float_keeps_values_outside_unit_range_without_warning(tmp_path):
    y = np.array([0.0, 1.5, -2.0, 0.25], dtype=np.float32)
    path = tmp_path / "loud.wav"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save(path, y, 8000, subtype="FLOAT")
    np.testing.assert_array_equal(load(path)[0], y)


def test_save_in_range_pcm_does_not_warn(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save(tmp_path / "ok.wav", np.array([-1.0, 0.0, 1.0]), 8000)


def test_save_into_missing_folder(tmp_path):
    path = tmp_path / "no" / "such" / "folder" / "x.wav"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(path, _tone(100, 8000), 8000)
    assert not (tmp_path / "no").exists()


# ----------------------------------------------------------------------------- atomic writes


def test_save_replaces_existing_file_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "x.wav"
    save(path, np.zeros(100), 8000)
    save(path, np.full(50, 0.5), 16000)
    y, sr = load(path)
    assert (len(y), sr) == (50, 16000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
@pytest.mark.parametrize("existing", [True, False])
def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch, error, existing):
    path = tmp_path / "target.wav"
    if existing:
        save(path, _tone(800, 8000), 8000)
        before = path.read_bytes()
    written = []

    def failing_write(file, data, samplerate, *args, **kwargs):
        # write some bytes first, like a write interrupted half-way
        with open(file, "wb") as fh:
            fh.write(b"RIFF partial")
        written.append(file)
        raise error

    monkeypatch.setattr(sf, "write", failing_write)
    with pytest.raises(type(error)):
        save(path, np.zeros(400), 16000)
    assert written, "soundfile.write was not called"
    assert Path(written[0]) != path  # it wrote to a temporary file, not the target
    if existing:
        assert path.read_bytes() == before
    else:
        assert not path.exists()
    assert _partial_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == (["target.wav"] if existing else [])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_save_gives_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "x.wav"
        save(path, np.zeros(10), 8000)
        assert path.stat().st_mode & 0o777 == 0o644  # not the 0o600 of a temporary file
        os.chmod(path, 0o640)
        save(path, np.ones(10) * 0.5, 8000)  # replacing keeps the file's permissions
        assert path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


# ----------------------------------------------------------------------------- find_audio_files


def test_find_audio_files_walks_nested_folders(tmp_path):
    root = tmp_path / "in"
    (root / "sub" / "deeper").mkdir(parents=True)
    for rel in ["b.wav", "a.flac", "sub/c.WAV", "sub/deeper/d.ogg", "sub/deeper/e.aiff"]:
        (root / rel).write_bytes(b"x")
    for rel in ["notes.txt", "sub/cover.jpg", "sub/deeper/README", "sub/.x.1234.partial.wav"]:
        (root / rel).write_bytes(b"x")
    (root / "folder.wav").mkdir()  # a folder with an audio-like name is not a file
    found = find_audio_files([root])
    rels = [rel.as_posix() for _, rel in found]
    assert rels == ["a.flac", "b.wav", "sub/c.WAV", "sub/deeper/d.ogg", "sub/deeper/e.aiff"]
    for path, rel in found:
        assert path == root / rel
        assert path.is_file()
        assert not rel.is_absolute()


def test_find_audio_files_keeps_named_files_whatever_their_extension(tmp_path):
    (tmp_path / "sub").mkdir()
    a = tmp_path / "sub" / "take.txt"
    b = tmp_path / "x.wav"
    a.write_text("x")
    b.write_text("x")
    found = find_audio_files([str(a), b])
    assert found == [(a, Path("take.txt")), (b, Path("x.wav"))]


def test_find_audio_files_mixes_files_and_folders(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "1.wav").write_bytes(b"x")
    (tmp_path / "solo.flac").write_bytes(b"x")
    found = find_audio_files([tmp_path / "solo.flac", tmp_path / "d"])
    assert [rel.as_posix() for _, rel in found] == ["solo.flac", "1.wav"]


def test_find_audio_files_empty_folder(tmp_path):
    assert find_audio_files([tmp_path]) == []
    assert find_audio_files([]) == []


def test_find_audio_files_missing_path(tmp_path):
    (tmp_path / "ok.wav").write_bytes(b"x")
    missing = tmp_path / "gone"
    with pytest.raises(FileNotFoundError, match=re.escape(f"no such file or folder: '{missing}'")):
        find_audio_files([tmp_path / "ok.wav", missing])


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".aiff", ".aif"])
def test_audio_extensions_cover_common_formats(ext):
    assert ext in AUDIO_EXTENSIONS
    assert ".txt" not in AUDIO_EXTENSIONS


def test_save_refuses_time_first_stereo(tmp_path):
    with pytest.raises(ValueError, match=r"looks like \(time, channels\)"):
        save(tmp_path / "x.wav", np.zeros((1000, 2)), 16000)
    assert list(tmp_path.iterdir()) == []


def test_stale_partials_of_killed_writers_are_removed(tmp_path):
    import subprocess

    from audiosr.io import atomic_output

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale_old = tmp_path / ".x.0123abcd.partial.flac"  # an older audiosr's name, no process id
    stale_dead = tmp_path / f".x.{dead.pid}.89abcdef.partial.flac"
    alive = tmp_path / f".x.{os.getpid()}.00112233.partial.flac"  # a writer still running
    other = tmp_path / ".y.0123abcd.partial.flac"  # another output's
    for p in (stale_old, stale_dead, alive, other):
        p.write_bytes(b"")
    with atomic_output(tmp_path / "x.flac") as tmp:
        Path(tmp).write_bytes(b"data")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([alive.name, other.name, "x.flac"])


def test_find_audio_files_skips_excluded_folders(tmp_path):
    for rel in ("a.wav", "out/a.wav", "out/deeper/b.wav", "sub/c.wav"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = [rel.as_posix() for _, rel in find_audio_files([tmp_path], exclude=[tmp_path / "out"])]
    assert found == ["a.wav", "sub/c.wav"]
