"""Effective-bandwidth detectors compared on signals with a known cut-off, and on real files.

Every method of :func:`audiosr.bandwidth.effective_bandwidth` (the edge detector and the
cumulative-magnitude rules of NVSR, AudioSR and ClearVoice) is run over a table of
synthetic cases whose cut-off is known by construction, and over a few real
recordings and versions of them made band-limited with soxr and scipy.

**Content.** ``speech``: a speech-like signal, voiced syllables (a glottal pulse train
with a drifting pitch, falling by about 12 dB per octave above 500 Hz) alternating with
fricative noise (flat to 5 kHz, then falling), under a syllabic envelope, -20 dBFS.
``noise``: pink noise (-3 dB per octave) under a slow envelope, -20 dBFS.

**Filters and their nominal cut-off** (the truth each estimate is compared with):

* ``brickwall``: every FFT bin above the cut-off zeroed (the whole signal at once);
* ``butterworth``: order 8, one pass (``sosfilt``), cut-off = its -3 dB frequency;
* ``chebyshev``: the filter of ``scipy.signal.decimate`` (order-8 Chebyshev type I,
  0.05 dB ripple, zero phase), cut-off = its pass-band edge;
* ``fir``: a Kaiser-window FIR (``firwin``, beta 8, 40 * sr / cut-off taps, one pass),
  cut-off = its ``cutoff`` (-6 dB);
* ``poly-up``: content made at the source rate (twice the cut-off) and brought to the
  container by ``scipy.signal.resample_poly``, cut-off = the source's Nyquist frequency;
* ``poly-trip``: the container-rate content down to the source rate and back up, both
  with ``resample_poly``, cut-off = the source's Nyquist frequency;
* ``soxr-up`` / ``soxr-trip``: the same with ``soxr`` (HQ); cut-off = soxr's band-width,
  95 % of the source's Nyquist frequency at -3 dB (the SoX documentation's figure), so a
  16 kHz source has a 7.6 kHz cut-off;
* ``mp3-like``: STFT (1152-sample frames at 32 kHz and above, 576 below), every bin above
  the cut-off zeroed, and below it codec-like holes: in 60 % of the frames one to four
  random bands of 4-16 bins in the upper half of the pass band zeroed, in 30 % the top
  third of the pass band dropped; inverse STFT.

A case is left out when its filter is less than 40 dB down at 0.97 of Nyquist (a
Butterworth filter at 16 kHz in a 44.1 kHz file): such a file has no edge inside the
container to find. The robustness cases add white or pink noise at -60 to -80 dBFS, long
digital silence, a DC offset, 16-bit dither and quantisation, or several channels;
``full band`` cases are unfiltered (truth: Nyquist).

Usage::

    python benchmarks/bandwidth.py [--data ../shared/data] [--seconds 3] [--no-corpus]

Writes ``bandwidth.md`` and ``bandwidth.png`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from math import gcd
from pathlib import Path

import numpy as np
import scipy.signal as ss

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _common import cpu_name, git_commit  # noqa: E402

#: Container rates and cut-offs of the filter table.
GRID = {
    16000: (4000, 5500),
    22050: (5500, 7600),
    32000: (8000, 11000),
    44100: (8000, 11000, 16000, 19500),
    48000: (4000, 7600, 8000, 11000, 16000, 19500),
}
SOXR_BANDWIDTH = 0.95


# --------------------------------------------------------------------------- content


def speech_like(seconds, sr, seed=0, level_db=-20.0):
    """Voiced syllables (pulse train, -12 dB/octave above 500 Hz) and fricatives, at ``level_db`` dBFS."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    f0 = 140.0 * 2.0 ** (0.6 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi)))
    pulses = np.diff(np.floor(np.cumsum(f0 / sr)), prepend=0.0)
    voiced = _one_pole(_one_pole(pulses - pulses.mean(), 500.0, sr), 2500.0, sr) * np.sqrt(sr / 140.0)
    fricative = _one_pole(rng.standard_normal(n), 5000.0, sr) * 0.05
    syllable = 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * t + rng.uniform(0, 2 * np.pi))
    is_voiced = np.sin(2 * np.pi * 0.9 * t + rng.uniform(0, 2 * np.pi)) > -0.3
    y = syllable * np.where(is_voiced, voiced + 0.1 * fricative, fricative)
    return _at_level(y, level_db)


def noise_like(seconds, sr, seed=0, level_db=-20.0):
    """Pink noise (-3 dB/octave) under a slow envelope, at ``level_db`` dBFS."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    spectrum = np.fft.rfft(rng.standard_normal(n))
    k = np.arange(spectrum.size, dtype=float)
    k[0] = 1.0
    y = np.fft.irfft(spectrum / np.sqrt(k), n)
    y *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * np.arange(n) / sr + rng.uniform(0, 2 * np.pi))
    return _at_level(y, level_db)


CONTENTS = {"speech": speech_like, "noise": noise_like}


def _one_pole(x, corner, sr):
    a = np.exp(-2 * np.pi * corner / sr)
    return ss.lfilter([1 - a], [1, -a], x)


def _at_level(y, level_db):
    return y / np.sqrt(np.mean(y**2)) * 10 ** (level_db / 20)


# --------------------------------------------------------------------------- filters
# Each takes (content function, seconds, container rate, cut-off, seed) and returns the
# signal at the container rate.


def _brickwall(content, seconds, sr, fc, seed):
    y = content(seconds, sr, seed)
    spectrum = np.fft.rfft(y)
    spectrum[np.fft.rfftfreq(y.size, 1 / sr) > fc] = 0
    return np.fft.irfft(spectrum, y.size)


def _butterworth(content, seconds, sr, fc, seed):
    return ss.sosfilt(ss.butter(8, fc, fs=sr, output="sos"), content(seconds, sr, seed))


def _chebyshev(content, seconds, sr, fc, seed):
    return ss.sosfiltfilt(ss.cheby1(8, 0.05, fc, fs=sr, output="sos"), content(seconds, sr, seed))


def _fir(content, seconds, sr, fc, seed):
    taps = ss.firwin(int(40 * sr / fc) | 1, fc, fs=sr, window=("kaiser", 8.0))
    return ss.oaconvolve(content(seconds, sr, seed), taps, mode="same")


def _poly_up(content, seconds, sr, fc, seed):
    low = int(round(2 * fc))
    g = gcd(low, sr)
    return ss.resample_poly(content(seconds, low, seed), sr // g, low // g)[: int(round(seconds * sr))]


def _poly_trip(content, seconds, sr, fc, seed):
    low = int(round(2 * fc))
    g = gcd(low, sr)
    y = content(seconds, sr, seed)
    return ss.resample_poly(ss.resample_poly(y, low // g, sr // g), sr // g, low // g)[: y.size]


def _soxr_up(content, seconds, sr, fc, seed):
    import soxr

    low = int(round(2 * fc / SOXR_BANDWIDTH))
    return soxr.resample(content(seconds, low, seed), low, sr, "HQ")[: int(round(seconds * sr))]


def _soxr_trip(content, seconds, sr, fc, seed):
    import soxr

    low = int(round(2 * fc / SOXR_BANDWIDTH))
    y = content(seconds, sr, seed)
    return soxr.resample(soxr.resample(y, sr, low, "HQ"), low, sr, "HQ")[: y.size]


def mp3_like(y, sr, fc, seed=0):
    """Zero the STFT above ``fc`` and punch codec-like holes below it."""
    rng = np.random.default_rng(seed)
    n = 1152 if sr >= 32000 else 576
    f, _, spec = ss.stft(y, fs=sr, nperseg=n)
    spec[f > fc] = 0
    band = np.flatnonzero((f > 0.5 * fc) & (f <= fc))
    for j in range(spec.shape[1]):
        if rng.random() < 0.6:
            for _ in range(rng.integers(1, 5)):
                start = rng.integers(band[0], band[-1])
                spec[start : start + rng.integers(4, 17), j] = 0
        if rng.random() < 0.3:
            spec[band[2 * band.size // 3] :, j] = 0
    return ss.istft(spec, fs=sr, nperseg=n)[1][: y.size]


def _mp3(content, seconds, sr, fc, seed):
    return mp3_like(content(seconds, sr, seed), sr, fc, seed)


#: name -> (maker, how far above the cut-off (as a multiple) it is 40 dB down)
FILTERS = {
    "brickwall": (_brickwall, 1.0),
    "butterworth": (_butterworth, 1.78),
    "chebyshev": (_chebyshev, 1.2),
    "fir": (_fir, 1.1),
    "poly-up": (_poly_up, 1.15),
    "poly-trip": (_poly_trip, 1.15),
    "soxr-up": (_soxr_up, 1.0),
    "soxr-trip": (_soxr_trip, 1.0),
    "mp3-like": (_mp3, 1.0),
}


def filter_cases():
    """(filter, container rate, cut-off) of the table, leaving out edges beyond the container."""
    return [
        (name, sr, fc)
        for sr, cutoffs in GRID.items()
        for fc in cutoffs
        for name, (_, stop) in FILTERS.items()
        if stop * fc <= 0.97 * sr / 2
    ]


def make_filtered(name, content, sr, fc, *, seconds=3.0, seed=0):
    """Content ``content`` ("speech" or "noise") low-passed at ``fc`` by filter ``name``, at ``sr``."""
    maker, _ = FILTERS[name]
    return maker(CONTENTS[content], seconds, sr, fc, seed)


def robustness_cases(seconds=3.0):
    """(name, signal, sr, truth in Hz) for noise floors, silence, DC, dither, channels, full band."""
    rng = np.random.default_rng(1234)
    cases = []
    for sr in GRID:
        for content in CONTENTS:
            cases.append((f"full band {content} {sr / 1000:g} kHz", CONTENTS[content](seconds, sr, 7), sr, sr / 2))
    cases.append(("full band white noise 48 kHz", 0.1 * rng.standard_normal(int(seconds * 48000)), 48000, 24000.0))
    base = [
        ("soxr-trip", 48000, 7600),
        ("brickwall", 44100, 11000),
        ("mp3-like", 44100, 16000),
        ("poly-up", 48000, 8000),
        ("chebyshev", 22050, 7600),
    ]
    for floor_db in (-60, -70, -80):
        for name, sr, fc in base:
            y = make_filtered(name, "speech", sr, fc, seconds=seconds, seed=11)
            label = f"{name} {fc / 1000:g} kHz + white noise {floor_db} dBFS"
            cases.append((label, y + _white(y.size, floor_db, rng), sr, fc))
    for name, sr, fc in base[:3]:
        y = make_filtered(name, "speech", sr, fc, seconds=seconds, seed=12)
        label = f"{name} {fc / 1000:g} kHz + pink noise -70 dBFS"
        cases.append((label, y + noise_like(y.size / sr, sr, 5, -70.0), sr, fc))
    y = make_filtered("soxr-trip", "speech", 48000, 7600, seconds=seconds, seed=13)
    cases.append(("soxr-trip 7.6 kHz + 30 s digital silence", np.concatenate([y, np.zeros(30 * 48000)]), 48000, 7600))
    quiet = np.concatenate([np.zeros(20 * 44100), make_filtered("brickwall", "speech", 44100, 11000, seconds=seconds)])
    cases.append(("brickwall 11 kHz after 20 s silence, 16-bit dither", _dither16(quiet, rng), 44100, 11000))
    cases.append(("soxr-trip 7.6 kHz + DC offset 0.25", y + 0.25, 48000, 7600))
    cases.append(("soxr-trip 7.6 kHz, 16-bit dither", _dither16(y, rng), 48000, 7600))
    stereo = np.stack([y, make_filtered("soxr-trip", "noise", 48000, 7600, seconds=seconds, seed=14)])
    cases.append(("soxr-trip 7.6 kHz, two channels", stereo, 48000, 7600))
    mixed = np.stack([y, speech_like(seconds, 48000, 15)])
    cases.append(("two channels, one of them full band", mixed, 48000, 24000.0))
    return cases


def _white(n, level_db, rng):
    return rng.standard_normal(n) * 10 ** (level_db / 20)


def _dither16(y, rng):
    lsb = 2.0**-15
    tpdf = (rng.random(y.size) - rng.random(y.size)) * lsb
    return np.round((y + tpdf) / lsb) * lsb


# --------------------------------------------------------------------------- real files

_P232 = "speech/voicebank48k_p232_007_scoredec.flac"
#: (label, path in the data folder, what to do to it, truth in Hz or None)
REAL = [
    ("VCTK p228, 48 kHz as recorded", "speech/vctk_p228_023.flac", None, None),
    ("VCTK p228 via 16 kHz (soxr down and up)", "speech/vctk_p228_023.flac", ("soxr", 16000), 7600.0),
    ("VCTK p228 via 16 kHz (resample_poly down and up)", "speech/vctk_p228_023.flac", ("poly", 16000), 8000.0),
    ("VCTK p228 via 22.05 kHz (soxr down and up)", "speech/vctk_p228_023.flac", ("soxr", 22050), 10474.0),
    ("VCTK p228 via 32 kHz (soxr down and up)", "speech/vctk_p228_023.flac", ("soxr", 32000), 15200.0),
    ("VCTK p228, MP3-like 16 kHz cut-off with holes", "speech/vctk_p228_023.flac", ("mp3", 16000), 16000.0),
    ("VoiceBank p232, 48 kHz as recorded", _P232, None, None),
    ("VoiceBank p232 via 16 kHz + noise -70 dBFS", _P232, ("soxr+noise70", 16000), 7600.0),
    ("VoiceBank p232 via 16 kHz + noise -60 dBFS", _P232, ("soxr+noise60", 16000), 7600.0),
    ("RAVDESS actor 1, 48 kHz as recorded", "speech/ravdess_a01_neutral_normal_kids_r1.flac", None, None),
    ("Hi-Fi TTS example, 44.1 kHz", "speech/hifitts_bigvgan_example.flac", None, None),
    ("LJ Speech, 22.05 kHz", "speech/ljspeech_LJ001-0001.flac", None, None),
    ("VCTK at 16 kHz (speech16k/)", "speech16k/vctk16k_p226_003_autovc.flac", None, None),
    ("piano, Beethoven sonata 8, 44.1 kHz", "piano/beethoven_sonata08-1_00.flac", None, None),
    ("piano, Moonlight sonata (soft), 44.1 kHz", "piano/beethoven_sonata14-1_00.flac", None, None),
    ("drum kit circAfrique, 44.1 kHz", "music/drums_circAfriquev4_00.flac", None, None),
]

#: Real files drawn in the figure.
FIGURE = [
    "VCTK p228, 48 kHz as recorded",
    "VCTK p228 via 16 kHz (soxr down and up)",
    "Hi-Fi TTS example, 44.1 kHz",
]


def real_cases(data):
    """(label, signal, sr, truth or None) for the files of ``REAL`` present under ``data``."""
    import soundfile as sf
    import soxr

    cases = []
    for label, rel, change, truth in REAL:
        path = Path(data) / rel
        if not path.is_file():
            continue
        y, sr = sf.read(path, dtype="float64")
        if change is not None:
            kind, low = change
            if kind.startswith("soxr"):
                y = soxr.resample(soxr.resample(y, sr, low, "HQ"), low, sr, "HQ")[: y.size]
                if "+noise" in kind:
                    y = y + _white(y.size, -int(kind[-2:]), np.random.default_rng(3))
            elif kind == "poly":
                g = gcd(low, sr)
                y = ss.resample_poly(ss.resample_poly(y, low // g, sr // g), sr // g, low // g)[: y.size]
            else:
                y = mp3_like(y, sr, low, seed=5)
        cases.append((label, y, sr, truth))
    return cases


def resampled_speech_cases(data, floor_db=None):
    """Every 48 kHz VCTK / VoiceBank file of ``data`` through soxr at 16, 22.05, 24 and 32 kHz and back.

    Yields (group, label, signal, truth) with truth = soxr's band-width (0.95 of the
    low rate's Nyquist frequency); with ``floor_db``, white noise at that level is added.
    """
    import soundfile as sf
    import soxr

    manifest = Path(data) / "MANIFEST.csv"
    if not manifest.is_file():
        return
    with open(manifest, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["sample_rate"] == "48000"]
    rows = [r for r in rows if r["path"].split("/")[-1].startswith(("vctk_", "voicebank48k_"))]
    group = "real speech via soxr" + ("" if floor_db is None else f" + noise {floor_db} dBFS")
    rng = np.random.default_rng(0)
    for row in rows:
        y, sr = sf.read(Path(data) / row["path"], dtype="float64")
        for low in (16000, 22050, 24000, 32000):
            z = soxr.resample(soxr.resample(y, sr, low, "HQ"), low, sr, "HQ")[: y.size]
            if floor_db is not None:
                z = z + _white(z.size, floor_db, rng)
            yield group, f"{Path(row['path']).stem} via {low / 1000:g} kHz", z, SOXR_BANDWIDTH * low / 2


# --------------------------------------------------------------------------- report


def _run(methods, signal, sr):
    from audiosr.bandwidth import effective_bandwidth

    return {m: effective_bandwidth(signal, sr, method=m) for m in methods}


def _err(hz, truth):
    return (hz - truth) / truth


def _cell(hz, truth):
    if truth is None:
        return f"{hz / 1000:.2f} kHz"
    return f"{hz / 1000:.2f} kHz ({_err(hz, truth):+.1%})"


def corpus_summary(data):
    """``file_bandwidth`` (edge) of every file of the MANIFEST, grouped by source and rate."""
    from audiosr.bandwidth import file_bandwidth

    groups = {}
    with open(Path(data) / "MANIFEST.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            source = row["path"].split("/")[-1].split("_")[0]
            bw = file_bandwidth(Path(data) / row["path"])
            groups.setdefault((row["kind"], source, bw.sr), []).append(bw)
    return groups


def timings():
    """Seconds for effective_bandwidth on 60 s and file_bandwidth on a 10-minute file, both at 48 kHz."""
    import tempfile

    import soundfile as sf

    from audiosr.bandwidth import effective_bandwidth, file_bandwidth

    y = make_filtered("soxr-trip", "speech", 48000, 7600, seconds=60.0, seed=99)
    effective_bandwidth(y[:48000], 48000)  # warm-up
    t = time.perf_counter()
    effective_bandwidth(y, 48000)
    array_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ten_minutes.flac"
        sf.write(path, np.tile(0.5 * y / np.abs(y).max(), 10), 48000, subtype="PCM_16")
        t = time.perf_counter()
        bw = file_bandwidth(path)
        file_s = time.perf_counter() - t
    return array_s, file_s, bw


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        default=str(HERE.parent.parent / "shared" / "data"),
        help="folder of real recordings with MANIFEST.csv (skipped if absent)",
    )
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each synthetic case")
    parser.add_argument("--no-corpus", action="store_true", help="skip the whole-corpus summary")
    args = parser.parse_args(argv)

    import numpy
    import scipy
    import soxr

    import audiosr
    from audiosr.bandwidth import BANDWIDTH_METHODS, FULL_BAND_FRACTION

    methods = list(BANDWIDTH_METHODS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    have_data = (Path(args.data) / "MANIFEST.csv").is_file()
    t0 = time.perf_counter()

    table = []  # (group, case, truth, {method: Bandwidth})
    for i, (name, sr, fc) in enumerate(filter_cases()):
        for content in CONTENTS:
            y = make_filtered(name, content, sr, fc, seconds=args.seconds, seed=i)
            table.append((name, f"{content}, {sr / 1000:g} kHz, cut-off {fc / 1000:g} kHz", fc, _run(methods, y, sr)))
    for label, y, sr, truth in robustness_cases(args.seconds):
        table.append(("robustness", label, truth, _run(methods, y, sr)))
    for floor_db in (None, -70):
        for group, label, y, truth in resampled_speech_cases(args.data, floor_db):
            table.append((group, label, truth, _run(methods, y, 48000)))
    real = [(label, truth, sr, y, _run(methods, y, sr)) for label, y, sr, truth in real_cases(args.data)]
    corpus = corpus_summary(args.data) if have_data and not args.no_corpus else {}
    array_s, file_s, long_bw = timings()
    elapsed = time.perf_counter() - t0

    commit, dirty = git_commit()
    command = "python benchmarks/bandwidth.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = ["# Effective bandwidth: detectors compared", ""]
    lines.append(
        f"Produced by `{command.strip()}` on {cpu_name()} in {elapsed:.0f} s; numpy {numpy.__version__}, "
        f"scipy {scipy.__version__}, soxr {soxr.__version__}, python {platform.python_version()}, "
        f"audiosr {audiosr.__version__}, commit `{(commit or 'unknown')[:7]}`"
        f"{' (with uncommitted changes)' if dirty else ''}."
    )
    lines.append("")
    lines.append(
        "Methods: `edge` (the default: the cliff detector of `audiosr.bandwidth`), and the frequency below which "
        "97 % (NVSR), 98.5 % (AudioSR) or 99.96 % (ClearVoice) of the spectral magnitude of the active frames "
        "lies. Error = (estimate - truth) / truth, where the truth is the nominal cut-off of the filter that made "
        "the case (each filter's convention is in the docstring of `benchmarks/bandwidth.py`), or Nyquist for "
        f"full-band signals. Synthetic cases are {args.seconds:g} s long."
    )
    lines += ["", "## Summary", ""]
    lines.append("| method | cases | mean abs error | median abs error | within 5 % | worst error |")
    lines.append("|---|---|---|---|---|---|")
    summary = {}
    for m in methods:
        errs = np.array([_err(r[m].hz, truth) for _, _, truth, r in table])
        summary[m] = np.mean(np.abs(errs))
        worst = errs[np.argmax(np.abs(errs))]
        lines.append(
            f"| {m} | {errs.size} | {np.mean(np.abs(errs)):.1%} | {np.median(np.abs(errs)):.1%} | "
            f"{np.mean(np.abs(errs) <= 0.05):.0%} | {worst:+.1%} |"
        )
    winner = min(summary, key=summary.get)
    lines += ["", f"Lowest mean absolute error: **{winner}**.", ""]
    lines.append(
        f"Speed (48 kHz, this machine): `effective_bandwidth` on 60 s of audio {array_s:.2f} s; `file_bandwidth` "
        f"on a 10-minute FLAC file {file_s:.2f} s (it reads 60 s in 8 excerpts; result "
        f"{long_bw.hz / 1000:.2f} kHz for a 7.6 kHz edge)."
    )
    lines += ["", "### By group", "", "Mean absolute error (share of cases within 5 %).", ""]
    groups = list(dict.fromkeys(g for g, *_ in table))
    lines.append("| group | cases | " + " | ".join(methods) + " |")
    lines.append("|---|---|" + "---|" * len(methods))
    selections = [(g, [g]) for g in groups]
    selections.insert(len(FILTERS), ("**all filter cases**", list(FILTERS)))
    for label, members in selections:
        rows = [(truth, r) for g, _, truth, r in table if g in members]
        cells = []
        for m in methods:
            errs = np.abs([_err(r[m].hz, t) for t, r in rows])
            cells.append(f"{np.mean(errs):.1%} ({np.mean(errs <= 0.05):.0%})")
        lines.append(f"| {label} | {len(rows)} | " + " | ".join(cells) + " |")
    if real:
        lines += ["", "## Real recordings", ""]
        lines.append(
            "Files from `--data` (the project's recordings), some made band-limited here. No truth is known for "
            f"files as recorded. `full band`: the edge reaches {FULL_BAND_FRACTION:g} of Nyquist."
        )
        lines.append("")
        lines.append("| recording | sr | truth | " + " | ".join(methods) + " | edge confidence | full band |")
        lines.append("|---|---|---|" + "---|" * len(methods) + "---|---|")
        for label, truth, sr, _, r in real:
            cells = " | ".join(_cell(r[m].hz, truth) for m in methods)
            t = "?" if truth is None else f"{truth / 1000:.2f} kHz"
            lines.append(f"| {label} | {sr} | {t} | {cells} | {r['edge'].confidence:.2f} | {r['edge'].full_band} |")
    if corpus:
        lines += ["", "## The whole corpus", ""]
        lines.append(
            "`file_bandwidth` (edge) of every file in `--data`, by source and sample rate: how many files, the "
            "edge's median and range, and the share reported full band."
        )
        lines.append("")
        lines.append("| kind | source | sr | files | median edge | lowest | highest | full band |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for (kind, source, sr), bws in sorted(corpus.items()):
            hz = np.array([b.hz for b in bws])
            lines.append(
                f"| {kind} | {source} | {sr} | {hz.size} | {np.median(hz) / 1000:.2f} kHz | {hz.min() / 1000:.2f} kHz "
                f"| {hz.max() / 1000:.2f} kHz | {np.mean([b.full_band for b in bws]):.0%} |"
            )
    lines += ["", "## Every case", ""]
    lines.append("| group | case | truth | " + " | ".join(methods) + " |")
    lines.append("|---|---|---|" + "---|" * len(methods))
    for g, case, truth, r in table:
        cells = " | ".join(_cell(r[m].hz, truth) for m in methods)
        lines.append(f"| {g} | {case} | {truth / 1000:.2f} kHz | {cells} |")
    shown = [x for x in real if x[0] in FIGURE]
    if shown:
        _figure(shown, out / "bandwidth.png")
        lines += ["", "## Long-term spectra", "", "![long-term spectra of active frames](bandwidth.png)", ""]
        lines.append(
            "The smoothed long-term power spectrum of the active frames (what the `edge` detector reads) of "
            + "; ".join(FIGURE)
            + ". Red: the detected edge; dotted: the 98.5 % (AudioSR) cut-off."
        )
    (out / "bandwidth.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'bandwidth.md'} ({elapsed:.0f} s); lowest mean abs error: {winner}")
    return 0


def _figure(items, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from audiosr.bandwidth import _SMOOTH, _long_term_spectrum, _smoothed_db

    fig, axes = plt.subplots(len(items), 1, figsize=(8, 2.4 * len(items)), squeeze=False)
    for ax, (label, _, sr, y, r) in zip(axes[:, 0], items):
        freqs, power, *_ = _long_term_spectrum([np.atleast_2d(y)], sr, 45.0)
        spec = _smoothed_db(power, _SMOOTH)
        spec -= spec.max()
        ax.plot(freqs / 1000, spec, lw=1)
        edge, cumulative = r["edge"].hz / 1000, r["energy98.5"].hz / 1000
        ax.axvline(edge, color="tab:red", lw=1.2, label=f"edge {edge:.2f} kHz")
        ax.axvline(cumulative, color="0.4", ls=":", lw=1, label=f"98.5 % {cumulative:.2f} kHz")
        ax.set_ylim(max(spec.min(), -140) - 5, 5)
        ax.set_xlim(0, sr / 2000)
        ax.set_title(label, fontsize=9)
        ax.set_ylabel("dB")
        ax.legend(fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("frequency (kHz)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
