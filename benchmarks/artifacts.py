"""Tonal artefacts: spectral lines in an up-sampler's output that the reference does not have.

For each shipped model (``audiosr.pretrained``) the test files of its collection are
decimated by the model's factor and up-sampled again. The long-term average
spectrum (Welch, periodic Hann frames of ``--n-fft`` samples, half overlap, power
averaged over all the files' frames) of the outputs and of the references is
turned into a *peak-to-neighbourhood ratio* in dB at every bin: the bin's power
over the median power of the bins within ``--half-width`` bins on either side
(leaving out the ``GUARD`` bins next to it, where a line's own window leaks). A
tonal line the reference lacks is a bin whose ratio in the output exceeds the
reference's: ``excess = ratio_out - ratio_ref``. The strongest local maxima of
the excess above the input's Nyquist frequency are reported, each with its
distance to the nearest multiple of the input's Nyquist frequency (where the
spectral replicator's tiles meet) and of the input's sample rate (where an
interpolator's images of the low band fall).

To tell the causes apart the same is measured on: the spline interpolation the
model starts from (its input, and its residual path); the windowed-sinc
interpolator; the model with another inference ``overlap`` (the overlap-add's
hop changes, a line caused by the hop would move or change); and, with
``--shifts K``, the mean of the model's outputs for its input delayed by 0 .. K-1
samples (each delay undone): a network that is periodic in time with a period of
P input samples paints lines at the multiples of 1/P of the input's rate, and the
mean over K shifts cancels those at the multiples of 1/K that are not multiples of
the rate itself, so what survives ``--shifts 32`` has another cause.

Usage::

    python benchmarks/artifacts.py --data ../shared/data

Writes ``<--name>.md`` (default ``artifacts.md``) to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import welch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import git_commit, run_environment  # noqa: E402

#: Shipped model -> (manifest kinds, sample rate) of its test files (as scripts/train_pretrained.py).
#: The models measured by default (the first shipped ones); ``--models`` takes any shipped model.
MODELS = ("speech-x4-48k", "piano-x4-44k")
#: Bins next to a bin left out of its neighbourhood (a Hann window's main lobe is 2 bins either side).
GUARD = 2


def long_term_spectrum(signals, sr, n_fft=8192):
    """Long-term average power spectrum of several signals (Welch; each frame weighs the same).

    Parameters
    ----------
    signals : sequence of 1-D arrays
        Signals at ``sr``, each at least ``n_fft`` samples long (shorter ones are skipped).
    sr : int
        Sample rate.
    n_fft : int, default=8192
        Frame length (bins ``sr / n_fft`` Hz apart), periodic Hann window, hop ``n_fft // 2``.

    Returns
    -------
    freqs : ndarray of shape (n_fft // 2 + 1,)
    power : ndarray of shape (n_fft // 2 + 1,)
        Mean power spectral density over all frames of all signals.
    """
    total, frames, freqs = None, 0, None
    for x in signals:
        x = np.asarray(x, dtype=np.float64)
        if len(x) < n_fft:
            continue
        n = 1 + (len(x) - n_fft) // (n_fft // 2)
        freqs, p = welch(x, sr, window="hann", nperseg=n_fft, noverlap=n_fft // 2, detrend=False)
        total = p * n if total is None else total + p * n
        frames += n
    if total is None:
        raise ValueError(f"no signal is at least n_fft={n_fft} samples long; use a smaller --n-fft.")
    return freqs, total / frames


def peak_to_neighbourhood(power, half_width=32, guard=GUARD):
    """Each bin's power over the median of its neighbourhood, in dB.

    The neighbourhood of bin k is bins ``k - half_width .. k + half_width`` without
    ``k - guard .. k + guard`` (cut at the ends of the spectrum). A flat or smoothly
    sloping spectrum gives about 0 dB; a line a few bins wide gives its height over
    the local floor.

    Parameters
    ----------
    power : 1-D array
        A power spectrum.
    half_width : int, default=32
        Bins on either side.
    guard : int, default=2
        Bins next to the centre left out.

    Returns
    -------
    ratio_db : ndarray, shape of ``power``

    Examples
    --------
    >>> import numpy as np
    >>> p = np.ones(200)
    >>> p[100] = 100.0
    >>> r = peak_to_neighbourhood(p, half_width=10)
    >>> float(r[100]), float(r[50])
    (20.0, 0.0)
    """
    power = np.maximum(np.asarray(power, dtype=np.float64), 1e-30)
    n = len(power)
    ratio = np.empty(n)
    for k in range(n):
        lo, hi = max(0, k - half_width), min(n, k + half_width + 1)
        neighbours = np.r_[power[lo : max(lo, k - guard)], power[min(hi, k + guard + 1) : hi]]
        ratio[k] = 10 * np.log10(power[k] / np.median(neighbours)) if len(neighbours) else 0.0
    return ratio


def excess_peaks(freqs, ratio_out, ratio_ref, min_freq, n_peaks=6, separation_hz=200.0):
    """The strongest local maxima of ``ratio_out - ratio_ref`` above ``min_freq``.

    Parameters
    ----------
    freqs : 1-D array
        Bin frequencies.
    ratio_out, ratio_ref : 1-D arrays
        Peak-to-neighbourhood ratios (dB) of the output and of the reference.
    min_freq : float
        Only bins above it (the input's Nyquist frequency: what the model invented).
    n_peaks : int, default=6
        How many to return.
    separation_hz : float, default=200.0
        A peak within this distance of a stronger one is the same line.

    Returns
    -------
    peaks : list of dict
        ``{"freq", "excess_db", "out_db", "ref_db"}``, strongest first.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.arange(100.0) * 100
    >>> out, ref = np.zeros(100), np.zeros(100)
    >>> out[[30, 31, 70]] = [9.0, 6.0, 4.0]
    >>> [(p["freq"], p["excess_db"]) for p in excess_peaks(f, out, ref, min_freq=1000, n_peaks=3)]
    [(3000.0, 9.0), (7000.0, 4.0)]
    """
    excess = np.asarray(ratio_out) - np.asarray(ratio_ref)
    order = [k for k in np.argsort(excess)[::-1] if freqs[k] > min_freq and excess[k] > 0]
    peaks = []
    for k in order:
        if any(abs(freqs[k] - p["freq"]) < separation_hz for p in peaks):
            continue
        peaks.append(
            {"freq": float(freqs[k]), "excess_db": float(excess[k]), "out_db": float(ratio_out[k]),
             "ref_db": float(ratio_ref[k])}  # fmt: skip
        )
        if len(peaks) == n_peaks:
            break
    return peaks


def tile_edges(freqs, ratio_out, ratio_ref, nyquist_in, n_edges, guard=GUARD):
    """The excess at each multiple ``k * nyquist_in`` (k = 1 .. n_edges), where the replicator's tiles meet.

    The largest ``ratio_out - ratio_ref`` within ``guard`` bins of each multiple
    (a line falls between bins). With ``n_edges`` the rate, the last is the output's
    Nyquist frequency.

    Returns
    -------
    edges : list of dict
        ``{"k", "freq", "excess_db", "out_db", "ref_db"}`` for k = 1 .. n_edges.
    """
    excess = np.asarray(ratio_out) - np.asarray(ratio_ref)
    edges = []
    for k in range(1, n_edges + 1):
        centre = int(np.argmin(np.abs(freqs - k * nyquist_in)))
        lo, hi = max(0, centre - guard), min(len(freqs), centre + guard + 1)
        best = lo + int(np.argmax(excess[lo:hi]))
        edges.append(
            {"k": k, "freq": float(freqs[best]), "excess_db": float(excess[best]), "out_db": float(ratio_out[best]),
             "ref_db": float(ratio_ref[best])}  # fmt: skip
        )
    return edges


def nearest_multiple(freq, base):
    """``(k, freq - k * base)`` for the multiple ``k * base`` nearest ``freq``."""
    k = int(round(freq / base))
    return k, freq - k * base


#: The U-Nets' lines fall at multiples of this fraction of the input's sample rate
#: (findings.md §7: the stride grid of their down- and up-sampling).
GRID_FRACTION = 1 / 8
#: Tonal scores skip the crossover's and the gain filter's transition just above f_N.
GRID_START = 1.06


def tonal_excess(references, outputs, sr, rate, half_width=32, n_peaks=10):
    """How much more tonal an up-sampler's invented band is than the reference's, in dB.

    The long-term spectra (:func:`long_term_spectrum`, frames of about 5.9 Hz bins:
    the power of two nearest ``sr / 5.86``) of the outputs and of the references give
    each bin's excess, the output's :func:`peak_to_neighbourhood` ratio minus the
    reference's. Two summaries above ``GRID_START`` times the input's Nyquist frequency:

    * ``lines_grid``: the mean excess at the multiples of ``GRID_FRACTION`` of the
      input's sample rate (the largest within ``GUARD`` bins of each), where an
      aliasing U-Net puts its lines;
    * ``lines_top``: the mean of the ``n_peaks`` strongest excess peaks anywhere
      (:func:`excess_peaks`), whatever their cause.

    Parameters
    ----------
    references, outputs : sequences of 1-D arrays
        Matching reference and up-sampled signals at ``sr``.
    sr : int
        Their sample rate.
    rate : int
        The up-sampling factor (the input's rate is ``sr / rate``).
    half_width : int, default=32
        Neighbourhood of :func:`peak_to_neighbourhood`, in bins.
    n_peaks : int, default=10
        Peaks averaged in ``lines_top``.

    Returns
    -------
    scores : dict
        ``{"lines_grid": float, "lines_top": float}``.
    """
    n_fft = 2 ** int(round(np.log2(sr / 5.86)))
    freqs, ref_power = long_term_spectrum(references, sr, n_fft)
    _, out_power = long_term_spectrum(outputs, sr, n_fft)
    ratio_ref = peak_to_neighbourhood(ref_power, half_width)
    ratio_out = peak_to_neighbourhood(out_power, half_width)
    excess = ratio_out - ratio_ref
    start = GRID_START * sr / rate / 2
    spacing = GRID_FRACTION * sr / rate
    grid = np.arange(1, int(sr / 2 / spacing) + 1) * spacing
    values = []
    for f in grid[grid > start]:
        centre = int(np.argmin(np.abs(freqs - f)))
        values.append(excess[max(0, centre - GUARD) : centre + GUARD + 1].max())
    peaks = excess_peaks(freqs, ratio_out, ratio_ref, start, n_peaks)
    return {
        "lines_grid": float(np.mean(values)) if values else 0.0,
        "lines_top": float(np.mean([p["excess_db"] for p in peaks])) if peaks else 0.0,
    }


class ShiftAveraged:
    """The mean of an up-sampler's outputs for its input delayed by ``0 .. shifts - 1`` samples.

    Each output is advanced by its delay times the rate before the mean, so a
    time-invariant up-sampler is unchanged (up to its edges) and a periodically
    time-varying one loses the lines of its period (see the module's docstring).
    """

    def __init__(self, upsampler, rate, shifts):
        self.upsampler, self.rate, self.shifts = upsampler, int(rate), int(shifts)

    def transform(self, X):
        n = X.shape[-1] * self.rate
        total = np.zeros((X.shape[0], n))
        for delay in range(self.shifts):
            delayed = np.concatenate([np.zeros((X.shape[0], delay)), X], axis=-1)
            total += self.upsampler.transform(delayed)[:, delay * self.rate : delay * self.rate + n]
        return total / self.shifts


def measure(name, args):
    """The excess peaks of each variant of one shipped model on its test files."""
    import audiosr.pretrained
    from audiosr import SincUpsampler, SplineUpsampler
    from audiosr.datasets import load_manifest
    from audiosr.signal import decimate

    info = audiosr.pretrained.info(name)
    kinds, sr = info["trained_on"]["kinds"], int(info["output_sr"])
    model = audiosr.pretrained.load(name)
    model.set_params(n_threads=args.threads)
    rate = int(model.rate_)
    test = load_manifest(args.data, kind=kinds, split="test", sr=sr, min_sr=sr)
    refs = [y[: len(y) // rate * rate] for y in test.signals[: args.files or None]]
    lows = [decimate(y, rate)[None] for y in refs]
    hop = model._inference_config()["hop"]
    variants = {
        f"{name} (overlap {model.overlap:g}, hop {hop})": model,
        "spline interpolation (the model's input)": SplineUpsampler(rate=rate),
        "windowed sinc": SincUpsampler(rate=rate),
    }
    # A copy with another overlap: a line the overlap-add's hop causes would move or change with it.
    varied = copy.deepcopy(model).set_params(overlap=args.other_overlap)
    variants[f"{name} (overlap {args.other_overlap:g}, hop {varied._inference_config()['hop']})"] = varied
    for shifts in args.shifts:
        variants[f"{name}, mean over {shifts} input shifts"] = ShiftAveraged(model, rate, shifts)
    freqs, ref_power = long_term_spectrum(refs, sr, args.n_fft)
    ratio_ref = peak_to_neighbourhood(ref_power, args.half_width)
    nyquist_in = sr / rate / 2
    results = {}
    for label, upsampler in variants.items():
        start = time.perf_counter()
        outs = [upsampler.transform(x)[0] for x in lows]
        seconds = time.perf_counter() - start
        _, power = long_term_spectrum(outs, sr, args.n_fft)
        ratio = peak_to_neighbourhood(power, args.half_width)
        results[label] = {
            "peaks": excess_peaks(freqs, ratio, ratio_ref, nyquist_in, args.peaks),
            "edges": tile_edges(freqs, ratio, ratio_ref, nyquist_in, rate),
            "tonal": tonal_excess(refs, outs, sr, rate, args.half_width),
            "seconds": seconds,
        }
    return {
        "name": name,
        "sr": sr,
        "rate": rate,
        "files": len(refs),
        "minutes": sum(len(y) for y in refs) / sr / 60,
        "nyquist_in": nyquist_in,
        "hop": hop,
        "patch_len": int(model.patch_len_),
        "results": results,
    }


def write_report(measured, args, out):
    env = run_environment("artifacts.py")
    commit, dirty = git_commit()
    lines = [
        "# Tonal artefacts of the shipped models",
        "",
        "Long-term average spectrum (Welch, Hann frames of "
        f"{args.n_fft} samples, half overlap) of the outputs and of the references over each model's test files; "
        f"peak-to-neighbourhood ratio of every bin (its power over the median of the bins within {args.half_width} "
        f"on either side, the {GUARD} next to it left out), and the strongest local maxima above the input's "
        "Nyquist frequency of *excess* = ratio of the output - ratio of the reference (dB). "
        "k x f_N: nearest multiple of the input's Nyquist frequency (the replicator's tile edges) and the "
        "distance to it; k x f_s: the same for the input's sample rate (where an interpolator's images of the low "
        "band fall). Lines (`tonal_excess`): the mean excess at the multiples of 1/8 of the input's rate "
        "above 1.06 f_N, where an aliasing U-Net leaves its lines (grid), and the mean of the 10 strongest "
        "excess peaks above it (top 10); its spectrum has bins of about 5.9 Hz.",
        "",
        f"Machine: {env['cpu']}, {env['logical_cpus']} logical CPUs, {args.threads} inference thread(s). "
        f"Command: `python benchmarks/artifacts.py --data ../shared/data --n-fft {args.n_fft} --half-width "
        f"{args.half_width} --other-overlap {args.other_overlap:g}"
        + (f" --files {args.files}" if args.files else "")
        + (f" --shifts {' '.join(map(str, args.shifts))}" if args.shifts else "")
        + (f" --models {' '.join(args.models)}" if list(args.models) != list(MODELS) else "")
        + (f" --name {args.name}" if args.name != "artifacts" else "")
        + f"`. Commit {(commit or '?')[:7]}{' (with uncommitted changes)' if dirty else ''}.",
        "",
    ]
    for m in measured:
        bin_hz = m["sr"] / args.n_fft
        lines += [
            f"## {m['name']}",
            "",
            f"{m['files']} test files ({m['minutes']:.1f} min) at {m['sr']} Hz, x{m['rate']}: input Nyquist "
            f"f_N = {m['nyquist_in']:g} Hz, input rate f_s = {2 * m['nyquist_in']:g} Hz; patches of "
            f"{m['patch_len']} samples (bins {m['sr'] / m['patch_len']:.3f} Hz apart), overlap-add hop "
            f"{m['hop']}. Spectrum bins {bin_hz:.2f} Hz apart.",
            "",
        ]
        labels = list(m["results"])
        edges = m["results"][labels[0]]["edges"]
        lines += [
            "Excess (dB) at the tile edges k x f_N (the largest within "
            f"{GUARD} bins; k = {m['rate']} is the output's Nyquist frequency):",
            "",
            "| variant | " + " | ".join(f"k={e['k']}: {e['k'] * m['nyquist_in']:g} Hz" for e in edges)
            + " | lines: grid / top 10 |",
            "|---|" + "---|" * (len(edges) + 1),
        ]
        for label in labels:
            r = m["results"][label]
            excess = [f"{e['excess_db']:.1f}" for e in r["edges"]]
            tonal = f"{r['tonal']['lines_grid']:.1f} / {r['tonal']['lines_top']:.1f}"
            lines.append(f"| {label} | " + " | ".join(excess) + f" | {tonal} |")
        lines += ["", "Strongest excess peaks above f_N, per variant:", ""]
        for label, r in m["results"].items():
            lines += [
                f"### {label}",
                "",
                "| frequency Hz | excess dB | output dB | reference dB | k x f_N (Hz off) | k x f_s (Hz off) |",
                "|---|---|---|---|---|---|",
            ]
            for p in r["peaks"]:
                kn, dn = nearest_multiple(p["freq"], m["nyquist_in"])
                ks, ds = nearest_multiple(p["freq"], 2 * m["nyquist_in"])
                lines.append(
                    f"| {p['freq']:.1f} | {p['excess_db']:.1f} | {p['out_db']:.1f} | {p['ref_db']:.1f} | "
                    f"{kn} ({dn:+.1f}) | {ks} ({ds:+.1f}) |"
                )
            if not r["peaks"]:
                lines.append("| — | | | | | |")
            lines += ["", f"({r['seconds']:.0f} s of up-sampling.)", ""]
    (out / f"{args.name}.md").write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="shipped models (audiosr.pretrained.list())")
    parser.add_argument("--n-fft", type=int, default=8192)
    parser.add_argument("--half-width", type=int, default=32, help="neighbourhood: bins on either side")
    parser.add_argument("--peaks", type=int, default=6, help="peaks reported per variant")
    parser.add_argument("--other-overlap", type=float, default=0.3, help="the overlap of the cause check")
    parser.add_argument("--files", type=int, default=0, help="at most this many test files (0: all)")
    parser.add_argument(
        "--shifts", type=int, nargs="*", default=[], help="also the mean over this many input shifts (a variant each)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--name", default="artifacts", help="file name of the report, without .md")
    args = parser.parse_args(argv)
    import audiosr.pretrained

    unknown = sorted(set(args.models) - set(audiosr.pretrained.list()))
    if unknown:
        parser.error(f"not shipped models: {', '.join(unknown)}; choose from {', '.join(audiosr.pretrained.list())}")
    measured = [measure(name, args) for name in args.models]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_report(measured, args, out)
    print((out / f"{args.name}.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
