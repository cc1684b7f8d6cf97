"""Tests of the ``audiosr`` command line (audiosr.cli.main and ``python -m audiosr``)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import audiosr
from audiosr import __version__
from audiosr.classical import CLASSICAL_METHODS
from audiosr.cli import main
from audiosr.metrics import lsd, snr
from audiosr.signal import decimate

REPO = Path(__file__).resolve().parents[1]


def _tone(n, sr, freq=440.0, amp=0.5):
    return amp * np.sin(2 * np.pi * freq * np.arange(n) / sr)


def _write(path, *, sr=8000, seconds=0.25, channels=1, subtype="PCM_16", freq=440.0, amp=0.5):
    """Write a short tone (stereo: left the tone, right silent) with soundfile; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    y = _tone(int(round(seconds * sr)), sr, freq, amp)
    data = np.stack([y, np.zeros_like(y)], axis=1) if channels == 2 else y
    sf.write(str(path), data, sr, subtype=subtype)
    return path


def _leftovers(folder):
    return [p for p in Path(folder).rglob("*") if ".partial" in p.name]


def _snapshot(folder):
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(Path(folder).rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- upsample: single files


@pytest.mark.parametrize("ext", [".wav", ".flac"])
def test_upsample_file_by_rate(tmp_path, capsys, ext):
    # 7 kHz material: no shipped model takes it (nor ever will: no tool makes such files), so the plan is sinc.
    src = _write(tmp_path / f"in{ext}", sr=7000, seconds=0.25)
    out = tmp_path / f"out{ext}"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "4"]) == 0
    i, o = sf.info(str(src)), sf.info(str(out))
    assert o.samplerate == 4 * i.samplerate == 28000
    assert o.frames == 4 * i.frames
    assert o.channels == 1
    captured = capsys.readouterr()
    assert "7000 Hz -> 28000 Hz" in captured.out
    (line,) = captured.err.splitlines()  # one plan line per file
    assert line.startswith(f"audiosr upsample: plan: {src}: 7000 Hz")
    assert "sinc x4 -> 28000 Hz [no shipped model for 7000 Hz material to 28000 Hz]" in line
    assert _leftovers(tmp_path) == []


RATE_PAIRS = [(8000, 16000), (16000, 44100), (22050, 48000), (24000, 48000), (44100, 48000), (11025, 48000), (12000, 48000)]


@pytest.mark.parametrize(("sr_in", "target"), RATE_PAIRS)
@pytest.mark.parametrize("channels", [1, 2])
def test_upsample_to_target_rate(tmp_path, capsys, sr_in, target, channels):
    src = _write(tmp_path / "in.wav", sr=sr_in, seconds=0.2, channels=channels)
    out = tmp_path / "out.wav"
    assert main(["upsample", str(src), "-o", str(out), "--sr", str(target)]) == 0
    o = sf.info(str(out))
    assert (o.samplerate, o.channels) == (target, channels)
    assert o.frames == audiosr.signal.resampled_length(sf.info(str(src)).frames, sr_in, target)
    err = capsys.readouterr().err
    assert f"plan: {src}: {sr_in} Hz" in err and f"-> {target} Hz" in err


def test_upsample_below_the_input_rate(tmp_path, capsys):
    src = _write(tmp_path / "in.wav", sr=12000)
    out = tmp_path / "out.wav"
    assert main(["upsample", str(src), "-o", str(out), "--sr", "8000"]) == 1
    err = capsys.readouterr().err
    assert "audiosr only up-samples: " in err and "is already 12000 Hz" in err
    assert "rate must be an integer" not in err and "multiple" not in err
    assert not out.exists()


def test_upsample_at_the_input_rate_has_nothing_to_add(tmp_path, capsys):
    src = _write(tmp_path / "in.wav", sr=12000)
    out = tmp_path / "out.wav"
    assert main(["upsample", str(src), "-o", str(out), "--sr", "12000"]) == 0
    err = capsys.readouterr().err
    assert "nothing to add (audiosr only up-samples: the file is already 12000 Hz" in err
    assert "1 file(s) had nothing to add and were not written" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "1"], "--rate must be an integer >= 2, got 1"),
        (["--rate", "0"], "--rate must be"),
        (["--sr", "0"], "--sr must be a positive sample rate"),
        (["--sr", "-16000"], "--sr must be a positive"),
    ],
)
def test_upsample_bad_factor_is_usage_error(tmp_path, capsys, args, message):
    src = _write(tmp_path / "in.wav")
    out = tmp_path / "out.wav"
    assert main(["upsample", str(src), "-o", str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_upsample_too_large_rate_fails(tmp_path, capsys):
    src = _write(tmp_path / "in.wav")
    assert main(["upsample", str(src), "-o", str(tmp_path / "out.wav"), "--rate", "1000"]) == 1
    assert "larger than the maximum supported factor" in capsys.readouterr().err
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["upsample", "x.wav", "-o", "y.wav", "--method", "sinc", "--model", "m.pt"], "not allowed with argument"),
        (["upsample", "x.wav", "-o", "y.wav", "--rate", "2", "--sr", "16000"], "not allowed with argument"),
        (["upsample", "x.wav", "--rate", "2"], "-o/--output"),
        (["upsample", "x.wav", "-o", "y.wav", "--rate", "2", "--method", "magic"], "invalid choice: 'magic'"),
        (["upsample", "x.wav", "-o", "y.wav", "--rate", "two"], "invalid int value: 'two'"),
        ([], "required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_upsample_without_rate_or_model(tmp_path, capsys):
    src = _write(tmp_path / "in.wav")
    assert main(["upsample", str(src), "-o", str(tmp_path / "out.wav")]) == 2
    assert "pass --rate R or --sr TARGET" in capsys.readouterr().err
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize(
    ("in_ext", "in_subtype", "out_ext", "out_subtype"),
    [
        (".wav", "PCM_24", ".wav", "PCM_24"),
        (".wav", "FLOAT", ".wav", "FLOAT"),
        (".wav", "PCM_U8", ".wav", "PCM_U8"),
        (".flac", "PCM_24", ".flac", "PCM_24"),
        (".flac", "PCM_24", ".wav", "PCM_24"),
        (".wav", "FLOAT", ".flac", "PCM_16"),  # FLAC cannot hold floats: its default
    ],
)
def test_upsample_keeps_input_subtype(tmp_path, in_ext, in_subtype, out_ext, out_subtype):
    src = _write(tmp_path / f"in{in_ext}", subtype=in_subtype)
    out = tmp_path / f"out{out_ext}"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "2"]) == 0
    assert sf.info(str(out)).subtype == out_subtype


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT", "PCM_32"])
def test_upsample_subtype_option_wins(tmp_path, subtype):
    src = _write(tmp_path / "in.wav", subtype="PCM_24")
    out = tmp_path / "out.wav"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "2", "--subtype", subtype]) == 0
    assert sf.info(str(out)).subtype == subtype


def test_upsample_invalid_subtype_option(tmp_path, capsys):
    src = _write(tmp_path / "in.flac")
    out = tmp_path / "out.flac"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "2", "--subtype", "FLOAT"]) == 1
    assert "subtype 'FLOAT' is not valid for FLAC files" in capsys.readouterr().err
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_upsample_unknown_output_extension(tmp_path, capsys):
    src = _write(tmp_path / "in.wav")
    assert main(["upsample", str(src), "-o", str(tmp_path / "out.xyz"), "--rate", "2"]) == 1
    assert "cannot tell the audio format" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_upsample_refuses_to_overwrite_without_force(tmp_path, capsys):
    src = _write(tmp_path / "in.wav")
    out = tmp_path / "out.wav"
    out.write_bytes(b"precious")
    assert main(["upsample", str(src), "-o", str(out), "--rate", "2"]) == 1
    err = capsys.readouterr().err
    assert "exists; pass --force to overwrite it" in err
    assert out.read_bytes() == b"precious"

    assert main(["upsample", str(src), "-o", str(out), "--rate", "2", "--force"]) == 0
    o = sf.info(str(out))
    assert (o.samplerate, o.frames) == (16000, 2 * sf.info(str(src)).frames)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("spelling", ["same", "dotted"])
def test_upsample_never_writes_onto_its_input(tmp_path, capsys, force, spelling):
    src = _write(tmp_path / "in.wav")
    before = src.read_bytes()
    out = src if spelling == "same" else tmp_path / "sub" / ".." / "in.wav"
    (tmp_path / "sub").mkdir()
    argv = ["upsample", str(src), "-o", str(out), "--rate", "2"] + (["--force"] if force else [])
    assert main(argv) != 0
    assert "refusing to write onto an input file" in capsys.readouterr().err
    assert src.read_bytes() == before
    assert sf.info(str(src)).samplerate == 8000


def test_upsample_folder_onto_itself_is_refused(tmp_path, capsys):
    folder = tmp_path / "audio"
    _write(folder / "a.wav")
    _write(folder / "sub" / "b.flac")
    before = _snapshot(folder)
    assert main(["upsample", str(folder), "-o", str(folder), "--rate", "2", "--force"]) == 1
    err = capsys.readouterr().err
    assert err.count("refusing to write onto an input file") == 2
    assert "2 of 2 file(s) failed" in err
    assert _snapshot(folder) == before


def test_upsample_single_file_into_existing_folder(tmp_path):
    src = _write(tmp_path / "in" / "voice.flac")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert main(["upsample", str(src), "-o", str(out_dir), "--rate", "3"]) == 0
    assert sf.info(str(out_dir / "voice.flac")).samplerate == 24000


def test_upsample_single_file_to_missing_folder_with_trailing_slash(tmp_path):
    src = _write(tmp_path / "voice.wav")
    assert main(["upsample", str(src), "-o", str(tmp_path / "new") + os.sep, "--rate", "2"]) == 0
    assert sf.info(str(tmp_path / "new" / "voice.wav")).samplerate == 16000


def test_upsample_single_file_creates_output_parent(tmp_path):
    src = _write(tmp_path / "voice.wav")
    out = tmp_path / "a" / "b" / "hi.wav"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "2"]) == 0
    assert sf.info(str(out)).frames == 2 * sf.info(str(src)).frames


# ----------------------------------------------------------------------------- upsample: folders


def test_upsample_folder_mirrors_layout(tmp_path, capsys):
    src = tmp_path / "in"
    files = {"a.wav": 8000, "sub/b.flac": 16000, "sub/deeper/c.wav": 11025}
    for rel, sr in files.items():
        _write(src / rel, sr=sr, seconds=0.1)
    (src / "notes.txt").write_text("not audio, skipped")
    out = tmp_path / "out"
    assert not out.exists()
    assert main(["upsample", str(src), "-o", str(out), "--rate", "2"]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(files)
    for rel, sr in files.items():
        o = sf.info(str(out / rel))
        assert o.samplerate == 2 * sr
        assert o.frames == 2 * sf.info(str(src / rel)).frames
    assert len(capsys.readouterr().out.splitlines()) == 3  # one line per file


def test_upsample_several_files_into_a_folder(tmp_path):
    a = _write(tmp_path / "x" / "a.wav")
    b = _write(tmp_path / "y" / "b.wav", sr=16000)
    out = tmp_path / "out"
    assert main(["upsample", str(a), str(b), "-o", str(out), "--rate", "2"]) == 0
    assert sf.info(str(out / "a.wav")).samplerate == 16000
    assert sf.info(str(out / "b.wav")).samplerate == 32000


def test_upsample_two_inputs_with_one_output(tmp_path, capsys):
    a = _write(tmp_path / "x" / "same.wav")
    b = _write(tmp_path / "y" / "same.wav", sr=16000)
    out = tmp_path / "out"
    assert main(["upsample", str(a), str(b), "-o", str(out), "--rate", "2"]) == 1
    assert "two inputs map to the same output" in capsys.readouterr().err
    assert sf.info(str(out / "same.wav")).samplerate == 16000  # the first one was written


def test_upsample_folder_with_a_corrupt_file(tmp_path, capsys):
    src = tmp_path / "in"
    _write(src / "good1.wav")
    _write(src / "sub" / "good2.flac")
    (src / "bad").mkdir()
    (src / "bad" / "broken.wav").write_text("this is text, not audio\n")
    out = tmp_path / "out"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "4"]) == 1
    captured = capsys.readouterr()
    assert re.search(r"error: .*broken\.wav: .*not a readable audio file", captured.err)
    assert "1 of 3 file(s) failed" in captured.err
    assert "good1.wav ->" in captured.out and "good2.flac ->" in captured.out
    assert sf.info(str(out / "good1.wav")).samplerate == 32000
    assert sf.info(str(out / "sub" / "good2.flac")).samplerate == 32000
    assert not (out / "bad" / "broken.wav").exists()
    assert not (out / "bad").exists()  # not even an empty folder for it
    assert _leftovers(tmp_path) == []


def test_upsample_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    assert main(["upsample", str(tmp_path / "empty"), "-o", str(tmp_path / "out"), "--rate", "2"]) == 2
    assert "no audio files found" in capsys.readouterr().err


def test_upsample_missing_input(tmp_path, capsys):
    missing = tmp_path / "nope.wav"
    out = tmp_path / "out.wav"
    assert main(["upsample", str(missing), "-o", str(out), "--rate", "2"]) == 2
    err = capsys.readouterr().err
    assert f"no such file or folder: '{missing}'" in err
    assert not out.exists()


# ----------------------------------------------------------------------------- upsample: content


def test_upsample_stereo_stays_stereo(tmp_path):
    src = _write(tmp_path / "stereo.wav", channels=2, subtype="FLOAT", freq=300.0)
    out = tmp_path / "out.wav"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "2"]) == 0
    y, sr = sf.read(str(out), always_2d=True)
    assert sr == 16000
    assert y.shape == (2 * sf.info(str(src)).frames, 2)
    assert np.max(np.abs(y[:, 1])) < 1e-6  # the silent right channel stays silent (no swap, no mix)
    assert np.max(np.abs(y[:, 0])) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("method", sorted(CLASSICAL_METHODS))
def test_upsample_each_method(tmp_path, capsys, method):
    src = _write(tmp_path / "in.wav", sr=8000, seconds=0.25, subtype="FLOAT", freq=200.0)
    out = tmp_path / f"{method}.wav"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "4", "--method", method]) == 0
    assert f", {method})" in capsys.readouterr().out
    y, sr = sf.read(str(out))
    assert sr == 32000 and len(y) == 8000
    expected = _tone(8000, 32000, 200.0)
    middle = slice(1000, 7000)  # away from the edges
    assert snr(expected[middle], y[middle]) > 30
    # same as the library call
    x, _ = sf.read(str(src))
    np.testing.assert_allclose(y, audiosr.upsample(x, 4, method=method), atol=1e-6)


def test_upsample_dry_run_prints_plans_and_writes_nothing(tmp_path, capsys):
    folder = tmp_path / "in"
    _write(folder / "a.wav", sr=16000)
    _write(folder / "b.wav", sr=22050)
    out = tmp_path / "out"
    assert main(["upsample", str(folder), "-o", str(out), "--sr", "48000", "--dry-run"]) == 0
    captured = capsys.readouterr()
    plans = [line for line in captured.err.splitlines() if line.startswith("audiosr upsample: plan: ")]
    assert len(plans) == 2 and "a.wav: 16000 Hz" in plans[0] and "b.wav: 22050 Hz" in plans[1]
    assert captured.out == ""
    assert not out.exists()


def test_upsample_model_by_effective_rate(tmp_path, capsys):
    """A 48 kHz container of 12 kHz material goes through the 12 kHz model."""
    if "speech-x4-48k" not in audiosr.pretrained.list():
        pytest.skip("speech-x4-48k is not shipped")
    low = np.random.default_rng(0).standard_normal(12000) * 0.1
    src = tmp_path / "in.wav"
    sf.write(src, audiosr.signal.resample(low, orig_sr=12000, target_sr=48000), 48000, subtype="FLOAT")
    out = tmp_path / "out.wav"
    assert main(["upsample", str(src), "-o", str(out), "--sr", "48000"]) == 0
    err = capsys.readouterr().err
    assert "(12000 Hz material) -> soxr 48000 -> 12000 Hz, pretrained speech-x4-48k x4 -> 48000 Hz" in err
    assert sf.info(str(out)).frames == 48000
    # --no-detect trusts the container: nothing to add; --input-bandwidth overrides detection
    assert main(["upsample", str(src), "-o", str(tmp_path / "o2.wav"), "--sr", "48000", "--no-detect"]) == 0
    assert "nothing to add" in capsys.readouterr().err
    assert main(["upsample", str(src), "-o", str(tmp_path / "o3.wav"), "--sr", "48000", "--input-bandwidth", "6000"]) == 0
    assert "speech-x4-48k" in capsys.readouterr().err


def test_upsample_truncated_flac_in_a_folder(tmp_path, capsys):
    """Issue #17, case 2: one damaged file is a per-file error; the others are processed."""
    batch = tmp_path / "batch"
    good = _write(batch / "a.wav", sr=12000, seconds=2.0)
    x = np.random.default_rng(0).standard_normal(24000) * 0.1
    sf.write(tmp_path / "full.flac", x, 12000)
    (batch / "b.flac").write_bytes((tmp_path / "full.flac").read_bytes()[:10000])
    _write(batch / "c.wav", sr=12000, seconds=2.0)
    out = tmp_path / "out"
    assert main(["upsample", str(batch), "-o", str(out), "--rate", "4", "--method", "sinc"]) == 1
    captured = capsys.readouterr()
    assert re.search(r"error: .*b\.flac: .*(damaged or truncated|truncated)", captured.err)
    assert "Traceback" not in captured.err
    assert "1 of 3 file(s) failed" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["a.wav", "c.wav"]
    assert sf.info(str(out / "c.wav")).frames == 4 * sf.info(str(good)).frames
    assert _leftovers(tmp_path) == []


def test_upsample_output_inside_input_folder(tmp_path, capsys):
    """Issue #17, case 4: a second run does not take its own outputs as inputs."""
    fold = tmp_path / "fold"
    _write(fold / "a.wav", sr=8000)
    argv = ["upsample", str(fold), "-o", str(fold / "out"), "--rate", "2", "--method", "sinc"]
    assert main(argv) == 0
    assert main(argv) == 1  # exists: refused, not re-processed
    err = capsys.readouterr().err
    assert "exists; pass --force" in err and "1 of 1 file(s) failed" in err
    assert main(argv + ["--force"]) == 0
    files = sorted(p.relative_to(fold).as_posix() for p in fold.rglob("*.wav"))
    assert files == ["a.wav", "out/a.wav"]
    assert sf.info(str(fold / "out" / "a.wav")).samplerate == 16000


def test_upsample_several_inputs_to_one_audio_file_is_refused(tmp_path, capsys):
    """Issue #17, case 14."""
    a, b = _write(tmp_path / "a.wav"), _write(tmp_path / "b.wav")
    assert main(["upsample", str(a), str(b), "-o", str(tmp_path / "two.wav"), "--rate", "2"]) == 2
    assert "2 input files but one output file" in capsys.readouterr().err
    assert not (tmp_path / "two.wav").exists()


def test_upsample_clipping_is_reported(tmp_path, capsys):
    """Issue #17, case 6: clipping to an integer format warns with the count and the peak."""
    src = tmp_path / "huge.wav"
    sf.write(src, _tone(4000, 12000) * 1e6, 12000, subtype="FLOAT")
    out = tmp_path / "clip16.wav"
    assert main(["upsample", str(src), "-o", str(out), "--rate", "4", "--method", "sinc", "--subtype", "PCM_16"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"warning: .*huge\.wav: \d+ of 16000 samples were clipped writing PCM_16 .*peak 5[.\d]*e\+05, \+114\.\d dBFS", err)
    assert "--subtype FLOAT" in err


def test_upsample_progress_is_silent_when_not_a_terminal(tmp_path, capfd):
    src = _write(tmp_path / "in.wav", sr=8000, seconds=3.0)
    assert main(["upsample", str(src), "-o", str(tmp_path / "o.wav"), "--rate", "2", "--quiet"]) == 0
    captured = capfd.readouterr()
    assert captured.err == ""
    assert main(["upsample", str(src), "-o", str(tmp_path / "p.wav"), "--rate", "2"]) == 0
    err = capfd.readouterr().err
    assert "\r" not in err and "it/s" not in err and err.count("\n") == 1  # the plan line only


def test_progress_bar_on_a_terminal(tmp_path, monkeypatch, capsys):
    import audiosr.cli as cli

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = cli._Progress(tmp_path / "x.wav", 8000, quiet=False)
    assert bar.bar is not None
    bar(8000, 16000)
    assert bar.bar.n == 1.0 and bar.bar.total == 2.0
    bar.close()
    assert cli._Progress(tmp_path / "x.wav", 8000, quiet=True).bar is None


def test_upsample_after_a_killed_run_leaves_no_partials(tmp_path):
    """Issue #17, case 11: a hidden partial of a killed run is cleaned up by the next run."""
    src = _write(tmp_path / "in.wav")
    stale = tmp_path / ".out.deadbeef.partial.flac"
    stale.write_bytes(b"")
    assert main(["upsample", str(src), "-o", str(tmp_path / "out.flac"), "--rate", "2"]) == 0
    assert _leftovers(tmp_path) == []


def test_upsample_bad_bandwidth_options(tmp_path, capsys):
    src = _write(tmp_path / "in.wav", sr=8000)
    out = str(tmp_path / "o.wav")
    assert main(["upsample", str(src), "-o", out, "--sr", "16000", "--input-bandwidth", "5000"]) == 1
    assert "above the input's Nyquist frequency (4000 Hz at 8000 Hz)" in capsys.readouterr().err
    assert main(["upsample", str(src), "-o", out, "--sr", "16000", "--input-bandwidth", "0"]) == 2
    assert "--input-bandwidth must be a positive frequency" in capsys.readouterr().err
    assert main(["upsample", str(src), "-o", out, "--sr", "16000", "--trust-pickle"]) == 2
    assert "--trust-pickle goes with --model" in capsys.readouterr().err


def test_argument_errors_do_not_import_torch(tmp_path):
    """Issue #17, case 13: usage errors are reported before the heavy imports."""
    code = (
        "import sys; from audiosr.cli import main; "
        f"status = main(['upsample', {str(tmp_path / 'x.wav')!r}, '-o', 'y.wav', '--rate', '1']); "
        "print(status, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.split() == ["2", "False"], done.stderr


# ----------------------------------------------------------------------------- info


def _info_cases(folder):
    sr = 44100
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(2 * sr) * 0.1
    cases = {}
    cases["8k_in_44k.wav"] = audiosr.signal.resample(
        audiosr.signal.resample(noise, orig_sr=sr, target_sr=16000), orig_sr=16000, target_sr=sr
    )
    cases["full.wav"] = noise
    # An MP3-style low-pass at 16 kHz with spectral holes below it in random frames
    f, _, spec = scipy.signal.stft(noise, sr, nperseg=1024)
    spec[f > 16000] = 0
    spec[(rng.random(spec.shape) < 0.2) & (f[:, None] > 8000)] = 0
    cases["mp3_16k.wav"] = scipy.signal.istft(spec, sr, nperseg=1024)[1][: noise.size]
    cases["silence.wav"] = np.zeros(sr)
    cases["dc.wav"] = np.full(sr, 0.25)
    for name, y in cases.items():
        sf.write(folder / name, y, sr, subtype="FLOAT")
    return cases


def test_info_reports_rate_format_bandwidth_and_plan(tmp_path, capsys):
    _info_cases(tmp_path)
    assert main(["info", str(tmp_path), "--sr", "48000"]) == 0
    out = capsys.readouterr().out
    blocks = {b.splitlines()[0].rsplit("/", 1)[-1]: b for b in out.strip().split(str(tmp_path) + "/")[1:]}
    blocks = {k: "\n".join(v.splitlines()) for k, v in blocks.items()}
    assert set(blocks) == {"8k_in_44k.wav", "full.wav", "mp3_16k.wav", "silence.wav", "dc.wav"}
    for block in blocks.values():
        assert "44100 Hz, 1 channel(s)" in block and "WAV / FLOAT" in block and "--sr 48000:" in block
    edge = float(re.search(r"content   to ([\d.]+) kHz", blocks["8k_in_44k.wav"]).group(1))
    assert edge == pytest.approx(7.8, abs=0.4)  # soxr's pass band ends at 0.95 of the 8 kHz Nyquist
    assert "16000 Hz material" in blocks["8k_in_44k.wav"]
    assert float(re.search(r"content   to ([\d.]+) kHz", blocks["full.wav"]).group(1)) > 20
    mp3 = float(re.search(r"content   to ([\d.]+) kHz", blocks["mp3_16k.wav"]).group(1))
    assert mp3 == pytest.approx(16.0, rel=0.05) and "32000 Hz material" in blocks["mp3_16k.wav"]
    for name in ("silence.wav", "dc.wav"):
        assert "content   none active" in blocks[name]


def test_info_errors(tmp_path, capsys):
    (tmp_path / "bad.wav").write_text("not audio")
    assert main(["info", str(tmp_path / "bad.wav")]) == 1
    assert "not a readable audio file" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing.wav")]) == 2


# ----------------------------------------------------------------------------- evaluate


def _make_pair(folder, name="clip.wav", *, sr=32000, seconds=0.5, freq=440.0):
    """Write a reference and its decimated-then-sinc-upsampled estimate; return both paths."""
    ref = np.random.default_rng(0).normal(0, 0.05, int(sr * seconds)) + _tone(int(sr * seconds), sr, freq, 0.3)
    est = audiosr.upsample(decimate(ref, 4), 4)
    ref_path, est_path = Path(folder) / "ref" / name, Path(folder) / "est" / name
    for path, y in ((ref_path, ref), (est_path, est)):
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), y, sr, subtype="FLOAT")
    return ref_path, est_path


def _table_rows(out):
    return {
        line.split()[0]: line.split()[1:]
        for line in out.splitlines()
        if line.strip() and not line.startswith(("file", "-", "("))
    }


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_evaluate_files(tmp_path, capsys):
    ref, est = _make_pair(tmp_path)
    assert main(["evaluate", str(ref), str(est), "--rate", "4"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["file", "SNR", "dB", "LSD", "LSD-HF"]
    rows = _table_rows(out)
    assert set(rows) == {"clip.wav", "mean"}
    y, _ = sf.read(str(ref))
    y_hat, _ = sf.read(str(est))
    assert float(rows["clip.wav"][0]) == pytest.approx(snr(y, y_hat), abs=1e-3)
    assert float(rows["clip.wav"][1]) == pytest.approx(lsd(y, y_hat), abs=1e-3)
    assert rows["mean"] == rows["clip.wav"]
    assert rows["mean"][2] != "-"
    assert "LSD-HF needs --rate" not in out


def test_evaluate_without_rate_leaves_lsd_hf_out(tmp_path, capsys):
    ref, est = _make_pair(tmp_path)
    assert main(["evaluate", str(ref), str(est)]) == 0
    out = capsys.readouterr().out
    assert _table_rows(out)["clip.wav"][2] == "-"
    assert "LSD-HF needs --rate" in out


def test_evaluate_writes_csv(tmp_path, capsys):
    ref, est = _make_pair(tmp_path)
    table = tmp_path / "scores.csv"
    assert main(["evaluate", str(ref), str(est), "--rate", "4", "--csv", str(table)]) == 0
    assert f"Wrote {table}" in capsys.readouterr().out
    rows = _read_csv(table)
    assert list(rows[0]) == ["file", "snr", "lsd", "lsd_hf"]
    assert [r["file"] for r in rows] == ["clip.wav", "mean"]
    y, _ = sf.read(str(ref))
    y_hat, _ = sf.read(str(est))
    assert float(rows[0]["snr"]) == pytest.approx(snr(y, y_hat), rel=1e-9)
    assert float(rows[0]["lsd_hf"]) > 0
    assert _leftovers(tmp_path) == []


def test_evaluate_csv_without_rate_has_empty_lsd_hf(tmp_path):
    ref, est = _make_pair(tmp_path)
    table = tmp_path / "scores.csv"
    assert main(["evaluate", str(ref), str(est), "--csv", str(table)]) == 0
    assert [r["lsd_hf"] for r in _read_csv(table)] == ["", ""]


def test_evaluate_refuses_to_overwrite_csv(tmp_path, capsys):
    ref, est = _make_pair(tmp_path)
    table = tmp_path / "scores.csv"
    table.write_text("keep me\n")
    assert main(["evaluate", str(ref), str(est), "--csv", str(table)]) == 2
    assert "exists; pass --force to overwrite it" in capsys.readouterr().err
    assert table.read_text() == "keep me\n"
    assert main(["evaluate", str(ref), str(est), "--csv", str(table), "--force"]) == 0
    assert [r["file"] for r in _read_csv(table)] == ["clip.wav", "mean"]


def test_evaluate_csv_in_missing_folder(tmp_path, capsys):
    ref, est = _make_pair(tmp_path)
    table = tmp_path / "no" / "such" / "scores.csv"
    assert main(["evaluate", str(ref), str(est), "--csv", str(table)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()


def test_evaluate_folders_pair_by_relative_path(tmp_path, capsys):
    _make_pair(tmp_path, "a.wav", freq=300.0)
    _make_pair(tmp_path, "sub/b.wav", freq=900.0)
    ref_dir, est_dir = tmp_path / "ref", tmp_path / "est"
    # estimates identical to their references, plus an extra estimate sorting first
    for rel in ("a.wav", "sub/b.wav"):
        (est_dir / rel).write_bytes((ref_dir / rel).read_bytes())
    sf.write(str(est_dir / "0extra.wav"), np.zeros(16000), 32000)
    table = tmp_path / "scores.csv"
    assert main(["evaluate", str(ref_dir), str(est_dir), "--csv", str(table)]) == 0
    rows = _read_csv(table)
    assert [r["file"] for r in rows] == ["a.wav", str(Path("sub/b.wav")), "mean"]
    assert all(float(r["snr"]) > 100 for r in rows)  # each paired with its own copy
    assert all(float(r["lsd"]) < 1e-6 for r in rows)
    assert capsys.readouterr().err == ""


def test_evaluate_reports_missing_estimates(tmp_path, capsys):
    _make_pair(tmp_path, "a.wav")
    _make_pair(tmp_path, "b.wav")
    (tmp_path / "est" / "b.wav").unlink()
    assert main(["evaluate", str(tmp_path / "ref"), str(tmp_path / "est"), "--rate", "4"]) == 1
    captured = capsys.readouterr()
    assert "no estimate for 'b.wav'" in captured.err
    assert set(_table_rows(captured.out)) == {"a.wav", "mean"}


def test_evaluate_folders_without_common_files(tmp_path, capsys):
    _write(tmp_path / "ref" / "a.wav")
    _write(tmp_path / "est" / "b.wav")
    assert main(["evaluate", str(tmp_path / "ref"), str(tmp_path / "est")]) == 2
    assert "has a counterpart of the same relative path" in capsys.readouterr().err


def test_evaluate_mismatched_sample_rates(tmp_path, capsys):
    ref = _write(tmp_path / "ref.wav", sr=32000)
    est = _write(tmp_path / "est.wav", sr=16000)
    assert main(["evaluate", str(ref), str(est), "--rate", "4"]) == 1
    err = capsys.readouterr().err
    assert "sample rates differ: reference 32000 Hz, estimate 16000 Hz" in err
    assert "ref.wav" in err


def test_evaluate_mismatched_channels(tmp_path, capsys):
    ref = _write(tmp_path / "ref.wav", channels=2)
    est = _write(tmp_path / "est.wav", channels=1)
    assert main(["evaluate", str(ref), str(est)]) == 1
    assert "channel counts differ: reference 2, estimate 1" in capsys.readouterr().err


def test_evaluate_refuses_files_of_different_lengths_unless_trim(tmp_path, capsys):
    # The case: 4.5 s of speech against its first 0.42 s scored SNR 182.7 dB, exit 0.
    y, sr = audiosr.datasets.load_sample("speech")
    sf.write(tmp_path / "ref.wav", y, sr)
    sf.write(tmp_path / "other.wav", y[:20000], sr)
    argv = ["evaluate", str(tmp_path / "ref.wav"), str(tmp_path / "other.wav")]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "SNR" not in captured.out
    n = len(y)
    assert f"the reference has {n} samples ({n / sr:.3f} s) and the estimate 20000 (0.417 s)" in captured.err
    assert "Pass --trim" in captured.err and "Warning" not in captured.err
    assert main([*argv, "--trim"]) == 0
    captured = capsys.readouterr()
    assert "note: ref.wav:" in captured.err and "scored the first 20000 samples (0.417 s) only" in captured.err
    assert "Warning" not in captured.err  # the metrics saw equal lengths: no raw UserWarning
    assert float(_table_rows(captured.out)["ref.wav"][0]) > 100


@pytest.mark.parametrize("missing", [1, audiosr.metrics.LENGTH_TOLERANCE])
def test_evaluate_accepts_small_length_differences_silently(tmp_path, capsys, missing):
    ref, est = _make_pair(tmp_path)
    y_hat, sr = sf.read(str(est))
    sf.write(str(est), y_hat[:-missing], sr, subtype="FLOAT")
    assert main(["evaluate", str(ref), str(est)]) == 0
    assert capsys.readouterr().err == ""
    sf.write(str(est), y_hat[: -missing - 1] if missing > 1 else y_hat, sr, subtype="FLOAT")
    assert main(["evaluate", str(ref), str(est)]) == (1 if missing > 1 else 0)


def test_evaluate_corrupt_estimate(tmp_path, capsys):
    ref = _write(tmp_path / "ref.wav")
    est = tmp_path / "est.wav"
    est.write_text("text")
    assert main(["evaluate", str(ref), str(est)]) == 1
    assert "could not read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing_ref", "no such file or folder"),
        ("missing_est", "no such file or folder"),
        ("file_vs_folder", "both be files or both be folders"),
    ],
)
def test_evaluate_bad_arguments(tmp_path, capsys, kind, message):
    ref = _write(tmp_path / "ref.wav")
    est = _write(tmp_path / "est.wav")
    if kind == "missing_ref":
        ref = tmp_path / "gone.wav"
    elif kind == "missing_est":
        est = tmp_path / "gone.wav"
    else:
        est = tmp_path
    assert main(["evaluate", str(ref), str(est)]) == 2
    err = capsys.readouterr().err
    assert message in err
    if kind.startswith("missing"):
        assert "gone.wav" in err


@pytest.mark.parametrize("rate", ["1", "0.5", "-4"])
def test_evaluate_bad_rate(tmp_path, capsys, rate):
    ref, est = _make_pair(tmp_path)
    assert main(["evaluate", str(ref), str(est), f"--rate={rate}"]) == 2
    assert "--rate must be > 1" in capsys.readouterr().err


# ----------------------------------------------------------------------------- demo


def demo_files(rate=4):
    """The files `audiosr demo` must write, worked out from the pretrained index independently of audiosr.demo."""
    clips = {"speech": 48000, "piano": 44100}
    files = set()
    for clip, sr in clips.items():
        files |= {f"{clip}_reference.wav", f"{clip}_input_x{rate}.wav", f"{clip}_x{rate}.png"}
        files |= {f"{clip}_{m}_x{rate}.wav" for m in CLASSICAL_METHODS}
        for name in audiosr.pretrained.list():
            meta = audiosr.pretrained.info(name)
            if clip not in meta["trained_on"]["kinds"] or meta["output_sr"] > sr:
                continue
            prefix = clip if meta["output_sr"] == sr else f"{clip}_{meta['output_sr'] / 1000:g}k"
            r = meta["rate"]
            files |= {f"{prefix}_reference.wav", f"{prefix}_input_x{r}.wav", f"{prefix}_x{r}.png"}
            files |= {f"{prefix}_sinc_x{r}.wav", f"{prefix}_{name}_x{r}.wav"}
    return sorted(files)


def _demo_table(out):
    """The rows of the demo's results table: [clip, rates, method, SNR, LSD, LSD-HF]."""
    lines = [line.split() for line in out.splitlines()]
    start = lines.index(["clip", "rates", "method", "SNR", "dB", "LSD", "LSD-HF"]) + 2
    end = lines.index([], start)
    return lines[start:end]


def test_demo_writes_files_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    names = sorted(p.name for p in out.iterdir())
    expected = demo_files()
    assert names == expected
    assert (out / "speech_x4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for clip, sr in (("speech", 48000), ("piano", 44100)):
        ref = sf.info(str(out / f"{clip}_reference.wav"))
        low = sf.info(str(out / f"{clip}_input_x4.wav"))
        assert ref.samplerate == sr and low.samplerate == sr // 4
        assert ref.frames == 4 * low.frames
        for method in CLASSICAL_METHODS:
            est = sf.info(str(out / f"{clip}_{method}_x4.wav"))
            assert (est.samplerate, est.frames) == (sr, ref.frames)
    rows = _demo_table(captured.out)
    for clip, rates in (("speech", "12k->48k"), ("piano", "11.025k->44.1k")):
        for method in CLASSICAL_METHODS:
            row = next(line for line in rows if line[:3] == [clip, rates, method])
            assert len(row) == 6 and all(re.fullmatch(r"-?\d+\.\d+", v) for v in row[3:])
    assert f"Wrote {len(expected)} files" in captured.out
    shown = {row[2] for row in rows} - set(CLASSICAL_METHODS)
    assert shown == {n for n in audiosr.pretrained.list() if any(f"_{n}_x" in f for f in expected)}

    before = _snapshot(out)
    assert main(["demo", "-o", str(out)]) != 0
    assert "pass --force" in capsys.readouterr().err
    assert _snapshot(out) == before


def test_demo_shows_every_shipped_model_from_the_index(tiny_zoo, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == demo_files()
    # Each model on its clip at its own rates, beside sinc; 16 kHz models on the clip resampled to 16 kHz.
    for name, case in [
        ("speech-x3-48k", "speech_{}_x3.wav"),  # 16 -> 48 kHz
        ("speech-x2-48k", "speech_{}_x2.wav"),
        ("speech-x4-48k", "speech_{}_x4.wav"),
        ("speech-x6-48k", "speech_{}_x6.wav"),
        ("speech-x2-16k", "speech_16k_{}_x2.wav"),
        ("speech-x4-16k", "speech_16k_{}_x4.wav"),
        ("piano-x2-44k", "piano_{}_x2.wav"),
        ("piano-x4-44k", "piano_{}_x4.wav"),
    ]:
        assert case.format(name) in names and case.format("sinc") in names
    # The entries that did not ship (one with a stale weights file) are not shown.
    assert not [n for n in names if "x8" in n or "speech-x3-24k" in n]
    low, ref = sf.info(str(out / "speech_16k_input_x2.wav")), sf.info(str(out / "speech_16k_reference.wav"))
    assert (low.samplerate, ref.samplerate, ref.frames) == (8000, 16000, 2 * low.frames)
    rows = _demo_table(capsys.readouterr().out)
    assert ["speech", "16k->48k", "speech-x3-48k"] in [row[:3] for row in rows]
    # The classical methods per clip, the 8 models, and sinc beside the 6 that are not x4 at the clip's rate.
    assert len(rows) == 2 * len(CLASSICAL_METHODS) + 8 + 6


def test_demo_passes_options(tmp_path, monkeypatch):
    import audiosr.demo

    calls = []
    monkeypatch.setattr(audiosr.demo, "run_demo", lambda out_dir, *, rate, force: calls.append((out_dir, rate, force)))
    assert main(["demo", "-o", str(tmp_path / "d"), "--rate", "2", "--force"]) == 0
    assert main(["demo"]) == 0
    assert calls == [(str(tmp_path / "d"), 2, True), ("audiosr-demo", 4, False)]


def test_demo_bad_rate(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path / "d"), "--rate", "1"]) == 2
    assert "rate must be an integer >= 2" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


# ----------------------------------------------------------------------------- version and python -m


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"audiosr {__version__}"


def test_python_dash_m(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "audiosr", "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"audiosr {__version__}"
    failed = subprocess.run(
        [sys.executable, "-m", "audiosr", "upsample", "gone.wav", "-o", "x.wav", "--rate", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 2
    assert "no such file or folder: 'gone.wav'" in failed.stderr
    assert "Traceback" not in failed.stderr


# ----------------------------------------------------------------------------- acceptance on real data


def test_acceptance_real_speech_file(tmp_path, capsys, real_data):
    if not (real_data / "speech" / "vctk_p259_023.flac").is_file():
        pytest.skip("real dataset (../shared/data or $AUDIOSR_DATA) not available")
    y, sr = audiosr.io.load(real_data / "speech" / "vctk_p259_023.flac")
    assert sr == 48000
    y = y[: len(y) // 4 * 4]
    low = decimate(y, 4)
    lr = tmp_path / "p259_023_12k.wav"
    audiosr.io.save(lr, low, 12000)
    out = tmp_path / "p259_023_48k.wav"
    assert main(["upsample", str(lr), "-o", str(out), "--rate", "4"]) == 0
    i, o = sf.info(str(lr)), sf.info(str(out))
    assert i.samplerate == 12000
    assert o.samplerate == 48000
    assert o.frames == 4 * i.frames
    y_hat, _ = audiosr.io.load(out)
    assert snr(y, y_hat) > 10  # close to the original, not just the right length
    assert "12000 Hz -> 48000 Hz" in capsys.readouterr().out


@pytest.mark.parametrize("ext, estimator", [(".pt", "dualbranch"), (".joblib", "audiounet"), (".pt", "spectraldnn")])
def test_train_writes_a_model_upsample_accepts(tmp_path, capsys, ext, estimator):
    data = tmp_path / "data"
    data.mkdir()
    t = np.arange(8000) / 8000
    for i in range(2):
        sf.write(data / f"c{i}.wav", 0.3 * np.sin(2 * np.pi * (300 + 100 * i) * t), 8000)
    model = tmp_path / f"m{ext}"
    argv = [
        "train",
        str(data),
        "--rate",
        "2",
        "-o",
        str(model),
        "--epochs",
        "1",
        "--segment",
        "2048",
        "--estimator",
        estimator,
        "--quiet",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    trust = " --trust-pickle" if ext == ".joblib" else ""
    assert "wrote" in out and out.rstrip().endswith(f"--model {model}{trust}")
    loaded = audiosr.load_model(model, allow_pickle=ext == ".joblib")
    assert loaded.rate_ == 2 and loaded.metadata_["input_sr"] == 4000
    sf.write(tmp_path / "lo.wav", 0.3 * np.sin(2 * np.pi * 300 * np.arange(4000) / 4000), 4000)
    upsample = ["upsample", str(tmp_path / "lo.wav"), "-o", str(tmp_path / "hi.wav"), "--model", str(model)]
    if ext == ".joblib":
        # A pickle runs code when loaded: refused unless trusted explicitly (--trust-pickle).
        assert main(upsample) != 0
        assert "allow_pickle=True (on the command line, --trust-pickle)" in capsys.readouterr().err
        assert not (tmp_path / "hi.wav").exists()
        upsample.append("--trust-pickle")
    assert main(upsample) == 0
    assert sf.info(str(tmp_path / "hi.wav")).samplerate == 8000
    assert main(argv) == 2  # exists: refused without --force
    assert "pass --force" in capsys.readouterr().err


def test_train_presets(tmp_path, capsys):
    data = _train_corpus(tmp_path / "data")
    argv = ["train", str(data), "--rate", "2", "--epochs", "1", "--segment", "2048", "--quiet"]
    assert main([*argv, "-o", str(tmp_path / "recipe.pt"), "--preset", "recipe"]) == 0
    recipe = audiosr.load_model(tmp_path / "recipe.pt")
    expected = audiosr.DualBranchSR.recipe(2).get_params()
    for name in ("branches", "polyphase", "filters", "loss", "stft_loss", "remove_lines", "high_band_smoothing"):
        assert recipe.get_params()[name] == expected[name]
    assert recipe.n_iter_ == 1
    capsys.readouterr()
    # The recipe is DualBranchSR's: asked of another estimator, a clear error and nothing written.
    assert main([*argv, "-o", str(tmp_path / "u.pt"), "--preset", "recipe", "--estimator", "audiounet"]) == 2
    assert "--preset recipe is DualBranchSR's quality recipe; AudioUNet has none" in capsys.readouterr().err
    assert not (tmp_path / "u.pt").exists()
    with pytest.raises(SystemExit):
        main([*argv, "-o", str(tmp_path / "x.pt"), "--preset", "best"])


def _train_corpus(folder):
    folder.mkdir()
    t = np.arange(8000) / 8000
    for i in range(2):
        sf.write(folder / f"c{i}.wav", 0.3 * np.sin(2 * np.pi * (300 + 100 * i) * t), 8000)
    return folder


def _interrupt_at_epoch(monkeypatch, n):
    """Make the training raise KeyboardInterrupt (Ctrl-C) when epoch ``n`` starts; count epochs run."""
    from audiosr.neural import NeuralUpsampler

    calls = {"n": 0}
    original = NeuralUpsampler._run_epoch

    def run(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(NeuralUpsampler, "_run_epoch", run)
    return calls


@pytest.mark.parametrize("estimator", ["dualbranch", "spectraldnn"])
def test_train_interrupted_resumes_from_its_checkpoint(tmp_path, capsys, monkeypatch, estimator):
    # Ctrl-C after minutes of training used to save nothing, and nothing could resume.
    data = _train_corpus(tmp_path / "data")
    model = tmp_path / "m.pt"
    ckpt = tmp_path / "m.pt.ckpt"
    argv = ["train", str(data), "--rate", "2", "-o", str(model), "--epochs", "3", "--segment", "2048", "--quiet"]
    argv += ["--estimator", estimator]
    _interrupt_at_epoch(monkeypatch, 3)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert f"interrupted; the checkpoint {ckpt} was kept (epoch 2 of 3, " in err
    assert "run the same command again to resume" in err
    assert ckpt.is_file() and not model.exists()
    calls = _interrupt_at_epoch(monkeypatch, None)
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert f"resuming from {ckpt} (epoch 2 of 3, " in captured.err
    assert calls["n"] == 1  # only the missing epoch ran
    assert model.is_file() and not ckpt.exists()  # removed once the model is written
    assert audiosr.load_model(model).n_iter_ == 3


def test_train_checkpoint_options(tmp_path, capsys, monkeypatch):
    data = _train_corpus(tmp_path / "data")
    argv = ["train", str(data), "--rate", "2", "-o", str(tmp_path / "m.pt"), "--epochs", "2", "--segment", "2048"]
    argv += ["--estimator", "spectraldnn", "--quiet"]
    _interrupt_at_epoch(monkeypatch, 1)
    assert main([*argv, "--no-checkpoint"]) == 130
    assert "nothing was saved (--no-checkpoint)" in capsys.readouterr().err
    _interrupt_at_epoch(monkeypatch, 1)
    assert main([*argv, "--checkpoint", str(tmp_path / "run.ckpt")]) == 130
    assert "interrupted before the first epoch ended" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    _interrupt_at_epoch(monkeypatch, 2)
    assert main([*argv, "--checkpoint", str(tmp_path / "run.ckpt"), "--minutes", "5"]) == 130
    assert "(epoch 1 of 2, 0.0 of 5 min trained)" in capsys.readouterr().err
    # Another configuration does not resume someone else's checkpoint.
    assert argv[6:8] == ["--epochs", "2"]
    assert main([*argv[:6], "--epochs", "3", *argv[8:], "--checkpoint", str(tmp_path / "run.ckpt")]) == 2
    err = capsys.readouterr().err
    assert "belongs to another configuration" in err and "--no-checkpoint" in err
    assert main([*argv, "--checkpoint", str(tmp_path / "no" / "run.ckpt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_train_errors(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    sf.write(data / "a.wav", np.zeros(8000), 8000)
    sf.write(data / "b.wav", np.zeros(16000), 16000)
    assert main(["train", str(data), "--rate", "2", "-o", str(tmp_path / "m.pt")]) == 2
    assert "different sample rates" in capsys.readouterr().err
    assert main(["train", str(data), "--rate", "2", "-o", str(tmp_path / "m.txt")]) == 2
    assert ".pt" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "none"), "--rate", "2", "-o", str(tmp_path / "m.pt")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


def test_train_with_a_mix_of_input_makers(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    t = np.arange(8000) / 8000
    for i in range(3):
        sf.write(data / f"c{i}.wav", 0.3 * np.sin(2 * np.pi * (300 + 100 * i) * t), 8000)
    model = tmp_path / "m.pt"
    argv = ["train", str(data), "--rate", "2", "-o", str(model), "--epochs", "1", "--segment", "2048",
            "--estimator", "audiounet", "--decimation", "mix", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert audiosr.load_model(model).metadata_["decimation"] == "mix"
    with pytest.raises(SystemExit):
        main([*argv[:-3], "--decimation", "magic"])
    assert "invalid choice: 'magic'" in capsys.readouterr().err
