"""Speed and memory of every up-sampler on the CPU.

Measures, per estimator (rate 4):

* the real-time factor (compute seconds per second of audio; < 1 is faster than
  real time) of ``transform`` on 10 s of audio at 16 kHz and at 48 kHz output, the
  median of ``--repeats`` runs after a warm-up run;
* training throughput of the neural models: target samples per second over one
  timed epoch of ``fit`` (warm-started, so module construction is not timed);
* peak resident memory and wall time of ``audiosr.processing.upsample_file`` (the
  streaming path the command line uses) on a 10-minute file, 12 kHz in, 48 kHz out,
  each in a fresh process;
* ``scipy.signal.resample_poly`` and ``soxr`` (when installed) as references;
* **contention**: the RTF of DualBranchSR (the default configuration, and the
  shipped ``speech-x4-48k``) under three thread policies (1
  thread; audiosr's policy, each batch split over 2 single-threaded workers; the
  former policy, torch's 2 intra-op threads), on an idle machine and with one other
  CPU-bound process running, and the wall time of ``audiosr upsample`` on a file,
  idle and busy. A regression case: on a busy machine, single calls with 2 torch
  threads once ran 14x slower than idle (OpenMP threads spinning at barriers while
  a core was taken). ``--only contention`` runs this case alone and replaces its
  section of ``speed.md``;
* **streaming**: the latency and real-time factor of :class:`audiosr.Stream` with the
  default DualBranchSR (4 -> 16 kHz and 12 -> 48 kHz), audio pushed in 20-ms chunks,
  for two block sizes (``benchmarks/streaming.py`` measures the shipped models and
  more block sizes). ``--only streaming`` runs it alone;
* **onnx**: the same shipped models exported to ONNX (:func:`audiosr.export_onnx`)
  and run by onnxruntime (:class:`audiosr.OnnxUpsampler`) against torch, at 1 and 2
  threads, with the largest difference between the two outputs. Needs the onnx extra
  (``pip install 'audiosr-learn[onnx]'``); skipped without it. ``--only onnx`` runs it
  alone and replaces its section of ``speed.md``.

The neural models are timed with their default architecture (``DualBranchSR.paper``
too); their weights do not change their speed, so they are fitted for one short
epoch only, except the 10-minute run of DualBranchSR, which uses the shipped
``speech-x4-48k`` model. The audio is the shipped speech clip, repeated.

Usage::

    python benchmarks/speed.py
    python benchmarks/speed.py --only contention
    python benchmarks/speed.py --only onnx

Writes ``speed.md`` and ``speed.csv`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import git_commit, run_environment  # noqa: E402

RATE = 4
OUTPUT_RATES = (16000, 48000)
CLASSICAL = ("Bicubic", "Spline", "Sinc")
NEURAL = (
    "SpectralDNN",
    "AudioUNet",
    "DualBranchSR",
    "DualBranchSR (former layout)",
    "DualBranchSR.recipe(4)",
    "DualBranchSR.paper(4)",
)
#: AP-BWE's generator, rebuilt from its public code and timed on a 2-CPU AMD EPYC machine (1 thread, 10 s of
#: audio, interleaved runs; issue #13): the external reference. No AP-BWE code is in the project.
APBWE_RTF = {16000: 0.134, 48000: 0.434}
#: DualBranchSR's default widths and kernels before the fast architecture (and the shipped models').
FORMER_SIZES = dict(filters=(16, 32, 64, 64), kernel_sizes=(33, 17, 9, 9))
#: The targets of the fast-inference issue for the default DualBranchSR on 2 threads of an idle machine.
TARGET_RTF = {16000: 0.02, 48000: 0.05}
REFERENCES = ("scipy resample_poly", "soxr HQ")


def speech(seconds, sr):
    """The shipped speech clip at ``sr``, repeated to ``seconds``."""
    from audiosr.datasets import load_sample

    clip, _ = load_sample("speech", sr=sr)
    return np.tile(clip, int(np.ceil(seconds * sr / len(clip))))[: int(seconds * sr)].astype(np.float32)


def make_model(name, smoke=False):
    from audiosr import AudioUNet, BicubicUpsampler, DualBranchSR, SincUpsampler, SpectralDNN, SplineUpsampler

    common = dict(random_state=0, device="cpu", max_epochs=1)
    tiny = dict(filters=(4, 8), kernel_sizes=(9, 5)) if smoke else {}
    return {
        "Bicubic": lambda: BicubicUpsampler(rate=RATE),
        "Spline": lambda: SplineUpsampler(rate=RATE),
        "Sinc": lambda: SincUpsampler(rate=RATE),
        "SpectralDNN": lambda: SpectralDNN(RATE, **common, **({"hidden_layer_sizes": (32,)} if smoke else {})),
        "AudioUNet": lambda: AudioUNet(RATE, **common, **tiny),
        "DualBranchSR": lambda: DualBranchSR(RATE, **common, **tiny),
        "DualBranchSR (former layout)": lambda: DualBranchSR(
            RATE, polyphase=False, overlap=0.5, **common, **(tiny or FORMER_SIZES)
        ),
        "DualBranchSR.recipe(4)": lambda: DualBranchSR.recipe(RATE, **{**common, **tiny}),
        "DualBranchSR.paper(4)": lambda: DualBranchSR.paper(RATE, **{**common, **tiny}),
    }[name]()


def training_pairs(n_clips, sr):
    from audiosr import make_pairs

    y = speech(n_clips * 8192 / sr + 1, sr)
    return make_pairs([y], RATE, segment=8192, hop=8192)


def fit_and_throughput(model, n_clips, sr):
    """Fit one epoch (warm-up), then time one more warm-started epoch; target samples/s."""
    X, y = training_pairs(n_clips, sr)
    model.fit(X, y)
    model.set_params(warm_start=True)
    start = time.perf_counter()
    model.fit(X, y)
    return y.size / (time.perf_counter() - start), model


def median_seconds(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reference_upsampler(name):
    if name == "scipy resample_poly":
        from scipy.signal import resample_poly

        return lambda x: resample_poly(x, RATE, 1)
    try:
        import soxr
    except ImportError:
        return None
    return lambda x: soxr.resample(x, 1, RATE, quality="HQ")


PEAK_SCRIPT = """
import json, sys, time
from audiosr import load_model
from audiosr.processing import upsample_file
src, dst, method = sys.argv[1:4]
if method.endswith(".pt"):
    method = load_model(method, allow_pickle=False)
elif method.startswith("pretrained:"):
    from audiosr import pretrained
    method = pretrained.load(method.split(":", 1)[1])
start = time.perf_counter()
upsample_file(src, dst, 4, method=method)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": int(hwm.split()[1]) / 1024}))
"""


def peak_memory(method, src, workdir, threads):
    """Run ``upsample_file`` in a fresh process; its peak RSS (MB) and wall time."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    dst = Path(workdir) / "out.flac"
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(src), str(dst), method],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"upsample_file with {method} failed:\n{done.stderr[-2000:]}")
    dst.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


CONTENTION_MODELS = ("speech-x4-16k", "speech-x4-48k")
CONTENTION_THREADS = (1, 2)
CONTENTION_HEADING = "## Contention: thread policies, idle and next to a busy process"
BUSY_LOOP = "while True: pass"
#: Thread policies compared: (label, audiosr n_threads, torch intra-op threads). The last is
#: how transform ran before the policy: one call, torch's OpenMP threads.
POLICIES = (
    ("1 thread", 1, 1),
    ("audiosr: 2 workers x 1 thread", 2, 1),
    ("former: torch 2 threads", 1, 2),
)


class BusyProcess:
    """One other CPU-bound process (a Python busy loop) while the block runs; always ended after it."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
        time.sleep(0.5)  # past the interpreter's start-up: spinning when the timing starts
        return self.proc

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        return False


def _policy_transform(model, x, n_threads, torch_threads):
    """``model.transform(x)`` under a thread policy; torch's intra-op threads as given (the former policy)."""
    import functools

    import torch

    from audiosr._inference import upsample_with_network

    if torch_threads == 1:
        return model.set_params(n_threads=n_threads).transform(x)
    before = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    try:
        network = functools.partial(model._run_network, device=torch.device("cpu"))
        rate = model._check_fitted_rate()
        return upsample_with_network(x, rate, network, model._inference_config(), model.keep_low_band, 1)
    finally:
        torch.set_num_threads(before)


def contention_models(smoke=False):
    """(label, fitted model, input rate): the default DualBranchSR at 16 and 48 kHz output, and a shipped model."""
    from audiosr import pretrained

    default = make_model("DualBranchSR", smoke)
    X, y = training_pairs(2, 16000)
    default.fit(X, y)
    models = [("DualBranchSR() default", default, 4000), ("DualBranchSR() default", default, 12000)]
    if not smoke:
        models.append(("speech-x4-48k (shipped)", pretrained.load("speech-x4-48k"), 12000))
    return models


CLI_SECONDS = 30.0


def _cli_seconds(model_path, src, workdir, busy):
    """Wall time of ``audiosr upsample`` on ``src`` with the model file, idle or next to a busy process."""
    import contextlib

    dst = Path(workdir) / "out.flac"
    argv = [sys.executable, "-m", "audiosr", "upsample", str(src), "-o", str(dst), "--model", str(model_path)]
    with BusyProcess() if busy else contextlib.nullcontext():
        start = time.perf_counter()
        done = subprocess.run([*argv, "--quiet", "--force"], capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"audiosr upsample failed:\n{done.stderr[-2000:]}")
    return seconds


def contention(seconds, repeats, smoke=False):
    """RTF per model and thread policy, idle and with one busy process; and ``audiosr upsample``'s wall time."""
    import contextlib

    import soundfile as sf

    from audiosr import save_model

    loadavg = os.getloadavg()
    rows, cli = [], {}
    models = contention_models(smoke)
    for label, model, sr in models:
        x = speech(seconds, sr)[None]
        for policy, n_threads, torch_threads in POLICIES:
            row = {"model": label, "output_sr": sr * RATE, "policy": policy}
            for load in ("idle", "busy"):
                with BusyProcess() if load == "busy" else contextlib.nullcontext():
                    run = lambda: _policy_transform(model, x, n_threads, torch_threads)  # noqa: E731
                    row[f"rtf_{load}"] = median_seconds(run, repeats) / (seconds)
            row["slowdown"] = row["rtf_busy"] / row["rtf_idle"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "speech_12k.flac"
        cli_seconds = 2.0 if smoke else CLI_SECONDS
        sf.write(src, speech(cli_seconds, 12000), 12000, subtype="PCM_16")
        path = Path(tmp) / "default.pt"
        save_model(models[0][1].set_params(n_threads=None), path)
        for load in ("idle", "busy"):
            runs = [_cli_seconds(path, src, tmp, load == "busy") for _ in range(max(1, repeats // 2))]
            cli[f"rtf_{load}"] = statistics.median(runs) / cli_seconds
        cli["slowdown"] = cli["rtf_busy"] / cli["rtf_idle"]
        cli["seconds"] = cli_seconds
        print(json.dumps(cli), flush=True)
    return {
        "rows": rows,
        "cli": cli,
        "loadavg_before": [round(v, 2) for v in loadavg],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "seconds": seconds,
        "repeats": repeats,
    }


def contention_section(result, env):
    before = ", ".join(f"{v:g}" for v in result["loadavg_before"])
    after = ", ".join(f"{v:g}" for v in result["loadavg_after"])
    cli = result["cli"]
    lines = [
        CONTENTION_HEADING,
        "",
        f"Produced by `{env['command']}` on {env['cpu']} ({env['logical_cpus']} logical CPUs), torch {env['torch']}, "
        f"commit `{env['git_commit']}`. Load average (1, 5, 15 min) before the run: {before}; after: {after} "
        "(other jobs may share the machine: a high load before the run makes the idle figures busy too).",
        "",
        "On a busy machine, single `transform` calls with 2 torch threads once ran 14x slower than idle, OpenMP "
        "threads spinning at barriers while the other core was taken. audiosr's policy (`n_threads`, `--threads`, "
        "`audiosr.set_inference_threads`; `audiosr.threads`) splits each batch of patches over worker threads "
        "that compute on one core each: they meet once per batch, not at every operation. "
        f"**RTF** = compute seconds per second of output audio, `transform` on {result['seconds']:g} s "
        f"of speech, median of {result['repeats']} runs after a warm-up; **busy** = while one other process runs "
        f"`python -c \"{BUSY_LOOP}\"` (started before, killed after each measurement); **slowdown** = busy RTF / "
        "idle RTF. With a core taken, a policy that uses both cores can at best slow down by about 1.5x "
        "(two workers and the busy loop share two cores) and one thread by about 1x; far above that is the stall.",
        "",
        "| model | output | thread policy | RTF idle | RTF busy | slowdown |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        rtf = f"{row['rtf_idle']:.3g} | {row['rtf_busy']:.3g}"
        lines.append(
            f"| {row['model']} | {row['output_sr'] // 1000} kHz | {row['policy']} | {rtf} | {row['slowdown']:.1f}x |"
        )
    lines += [
        "",
        f"**`audiosr upsample`** (the command, default policy: every CPU) on a {cli['seconds']:g}-s 12 kHz speech "
        "file to 48 kHz with the default DualBranchSR saved as a file (`--model`), wall time of the whole command "
        f"(start-up included) per second of audio: idle {cli['rtf_idle']:.3g}, busy {cli['rtf_busy']:.3g}, "
        f"slowdown **{cli['slowdown']:.2f}x**.",
    ]
    if result["loadavg_before"][0] > env["logical_cpus"] / 2:
        lines += [
            "",
            f"The machine was not idle before this run (1-minute load average {result['loadavg_before'][0]:g} on "
            f"{env['logical_cpus']} CPUs): here **idle** means without our busy process, with the other jobs' load.",
        ]
    return "\n".join(lines) + "\n"


def write_section(path, heading, section):
    """Put ``section`` (starting with ``heading``) into the report: in place of the old one, else at the end."""
    text = path.read_text() if path.exists() else "# Speed and memory on the CPU\n"
    if heading in text:
        before, after = text.split(heading, 1)
        rest = after.split("\n## ", 1)
        text = before.rstrip("\n") + "\n\n" + section + ("\n## " + rest[1] if len(rest) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def write_contention(result, env, out, replace_only):
    """Write the contention section into speed.md: after the table, or in place of the previous one."""
    with open(out / "speed_contention.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["model", "output_sr", "policy", "rtf_idle", "rtf_busy", "slowdown"])
        writer.writeheader()
        writer.writerows(result["rows"])
    write_section(out / "speed.md", CONTENTION_HEADING, contention_section(result, env))


ONNX_HEADING = "## ONNX Runtime against torch"
STREAMING_HEADING = "## Streaming latency of the default DualBranchSR"
STREAMING_BLOCKS = (0.05, 0.2)


def streaming_speed(seconds, repeats, smoke=False):
    """Stream latency and RTF of the default DualBranchSR, 20-ms chunks, per output rate and block size."""
    import streaming

    model = contention_models(smoke)[0][1].set_params(n_threads=None)
    rows = []
    for input_sr in (4000,) if smoke else (4000, 12000):
        x = streaming.low_rate_speech(seconds, input_sr, input_sr * RATE, RATE)
        for block in STREAMING_BLOCKS[:1] if smoke else STREAMING_BLOCKS:
            row = streaming.measure(model, input_sr, input_sr * RATE, block, x, 20.0, repeats)
            row["model"] = "DualBranchSR() default"
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "rtf_runs"}), flush=True)
    return {"rows": rows, "seconds": seconds, "repeats": repeats}


def streaming_section(result, env):
    lines = [
        STREAMING_HEADING,
        "",
        f"Produced by `{env['command']}` on {env['cpu']} ({env['logical_cpus']} logical CPUs), torch {env['torch']}, "
        f"commit `{env['git_commit']}`.",
        "",
        f"{result['seconds']:g} s of the shipped speech clip, decimated to the input rate, pushed through "
        "`audiosr.Stream` in 20-ms chunks (the default thread policy). **Latency** = `Stream.latency`: the output "
        "lags the input by exactly this much (a block plus the model's context). **RTF** = compute seconds of all "
        f"pushes and the flush per second of audio, median of {result['repeats']} runs; **over budget** = pushes "
        "that took longer than a chunk lasts; **max diff** = largest difference from offline `audiosr.upsample`.",
        "",
        "| model | rates (Hz) | block ms | latency ms | RTF | max push ms | over budget | offline RTF | max diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['model']} | {r['rates']} | {r['block_ms']:.1f} | {r['latency_ms']:.1f} | {r['rtf']:.2g} | "
            f"{r['max_push_ms']:.3g} | {100 * r['over_budget']:.0f} % | {r['offline_rtf']:.2g} | {r['max_diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


ONNX_SCRIPT = """
import json, sys, time, statistics
import numpy as np
backend, model, threads, seconds, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
from audiosr.datasets import load_sample
if backend == "torch":
    from audiosr import pretrained
    model = pretrained.load(model).set_params(n_threads=threads)
else:
    from audiosr import load_model
    model = load_model(model).set_params(n_threads=threads)
sr = model.metadata_["input_sr"]
clip, _ = load_sample("speech", sr=sr)
x = np.tile(clip, int(np.ceil(seconds * sr / len(clip))))[: int(seconds * sr)].astype(np.float32)[None]
model.transform(x)  # warm-up
times = []
for _ in range(repeats):
    start = time.perf_counter()
    model.transform(x)
    times.append(time.perf_counter() - start)
print(json.dumps({"rtf": statistics.median(times) / seconds, "torch_imported": "torch" in sys.modules}))
"""


def _rtf_in_fresh_process(backend, model, threads, seconds, repeats):
    """RTF of one backend in a process of its own: no other runtime's threads beside it, as a user would run it."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    argv = [backend, str(model), str(threads), str(seconds), str(repeats)]
    done = subprocess.run([sys.executable, "-c", ONNX_SCRIPT, *argv], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"timing {backend} {model} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def onnx_speed(seconds, repeats, smoke=False):
    """RTF of the shipped models in torch and exported to ONNX, per thread count; None without onnxruntime."""
    try:
        import onnxruntime
        import onnxscript  # noqa: F401
    except ImportError:
        return None
    from audiosr import export_onnx, load_model, pretrained

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in CONTENTION_MODELS[:1] if smoke else CONTENTION_MODELS:
            model = pretrained.load(name)
            path = export_onnx(model, Path(tmp) / f"{name}.onnx")
            x = speech(seconds, model.metadata_["input_sr"])[None]
            diff = float(np.abs(load_model(path).transform(x) - model.transform(x)).max())
            for threads in CONTENTION_THREADS:
                row = {"model": name, "threads": threads, "max_abs_diff": diff}
                row["rtf_torch"] = _rtf_in_fresh_process("torch", name, threads, seconds, repeats)["rtf"]
                onnx = _rtf_in_fresh_process("onnx", path, threads, seconds, repeats)
                if onnx["torch_imported"]:
                    raise RuntimeError("the onnxruntime run imported torch")
                row["rtf_onnx"] = onnx["rtf"]
                row["speedup"] = row["rtf_torch"] / row["rtf_onnx"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    return {"rows": rows, "seconds": seconds, "repeats": repeats, "onnxruntime": onnxruntime.__version__}


def onnx_section(result, env):
    lines = [
        ONNX_HEADING,
        "",
        f"Produced by `{env['command']}` on {env['cpu']} ({env['logical_cpus']} logical CPUs), torch {env['torch']}, "
        f"onnxruntime {result['onnxruntime']}, commit `{env['git_commit']}`.",
        "",
        "The shipped models exported with `audiosr.export_onnx` and run by `audiosr.OnnxUpsampler` (onnxruntime "
        "for the network, the same NumPy code as torch around it) against the torch model. **RTF** = compute "
        f"seconds per second of output audio, `transform` on {result['seconds']:g} s of speech, median of "
        f"{result['repeats']} runs after a warm-up, each backend in a fresh process of its own (the onnxruntime "
        "one without torch imported); **threads** = `n_threads`, worker threads with one compute thread each "
        "(torch and onnxruntime alike); "
        "**max abs diff** = largest difference between the two outputs (float32 rounding).",
        "",
        "| model | threads | RTF torch | RTF onnxruntime | speed-up | max abs diff |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['model']} | {row['threads']} | {row['rtf_torch']:.2g} | {row['rtf_onnx']:.2g} | "
            f"{row['speedup']:.2f}x | {row['max_abs_diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def write_onnx(result, env, out):
    keys = ["model", "threads", "rtf_torch", "rtf_onnx", "speedup", "max_abs_diff"]
    with open(out / "speed_onnx.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(result["rows"])
    write_section(out / "speed.md", ONNX_HEADING, onnx_section(result, env))


def environment(threads):
    try:
        import soxr

        soxr_version = soxr.__version__
    except ImportError:
        soxr_version = None
    commit, _ = git_commit()
    return {
        **run_environment("speed.py"),
        "torch_threads": threads,
        "soxr": soxr_version,
        "git_commit": commit[:7] if commit else None,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per real-time-factor run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (the median is kept)")
    parser.add_argument("--long-minutes", type=float, default=10.0, help="length of the peak-memory file")
    parser.add_argument(
        "--threads", type=int, default=None, help="n_threads of the models and torch's training threads (default: all CPUs)"
    )
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--smoke", action="store_true", help="tiny models, short audio: checks the script runs")
    parser.add_argument(
        "--only",
        choices=["contention", "onnx", "streaming"],
        help=(
            "run only this case and replace its section of speed.md (contention: threads next to a busy process; "
            "streaming: Stream latency of the default DualBranchSR; "
            "onnx: onnxruntime against torch)"
        ),
    )
    args = parser.parse_args(argv)
    for name in ("seconds", "long_minutes"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    import torch

    threads = args.threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.only == "contention":
        result = contention(args.seconds, args.repeats, args.smoke)
        write_contention(result, environment(threads), out, replace_only=True)
        print(f"wrote the contention section of {out / 'speed.md'}")
        return
    if args.only == "streaming":
        section = streaming_section(streaming_speed(args.seconds, args.repeats, args.smoke), environment(threads))
        write_section(out / "speed.md", STREAMING_HEADING, section)
        print(f"wrote the streaming section of {out / 'speed.md'}")
        return
    if args.only == "onnx":
        result = onnx_speed(args.seconds, args.repeats, args.smoke)
        if result is None:
            parser.error("--only onnx needs onnxruntime and onnxscript: pip install 'audiosr-learn[onnx]'")
        write_onnx(result, environment(threads), out)
        print(f"wrote the ONNX section of {out / 'speed.md'}")
        return
    rows = []
    models = {}
    for name in CLASSICAL + NEURAL:
        row = {"method": name}
        model = make_model(name, args.smoke)
        if name in NEURAL:
            paper = name.endswith("paper(4)")
            # Enough clips for a few seconds of training; the 28 M-parameter preset is ~15x slower.
            n_clips = 2 if args.smoke else (8 if paper else 48)
            throughput, model = fit_and_throughput(model, n_clips, 16000)
            row["train_samples_per_s"] = round(throughput)
            row["params"] = sum(p.numel() for p in model.module_.parameters())
        if name in NEURAL:
            model.set_params(n_threads=threads)
        models[name] = model
        repeats = 1 if name.endswith("paper(4)") else args.repeats
        for sr in OUTPUT_RATES:
            x = speech(args.seconds, sr // RATE)[None]
            seconds = median_seconds(lambda m=model, x=x: m.transform(x), repeats)
            row[f"rtf_{sr // 1000}k"] = seconds / args.seconds
        rows.append(row)
        print(json.dumps(row), flush=True)
    for name in REFERENCES:
        upsampler = reference_upsampler(name)
        if upsampler is None:
            print(f"{name}: not installed, skipped", flush=True)
            continue
        row = {"method": name}
        for sr in OUTPUT_RATES:
            x = speech(args.seconds, sr // RATE)
            row[f"rtf_{sr // 1000}k"] = median_seconds(lambda f=upsampler, x=x: f(x), args.repeats) / args.seconds
        rows.append(row)
        print(json.dumps(row), flush=True)

    import soundfile as sf

    from audiosr import save_model

    long_seconds = args.long_minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "long_12k.flac"
        sf.write(src, speech(long_seconds, 48000 // RATE), 48000 // RATE, subtype="PCM_16")
        for row in rows:
            name = row["method"]
            if name in REFERENCES or name.endswith("paper(4)") or name.endswith("(former layout)"):
                continue
            if name in CLASSICAL:
                method = name.lower()
            elif name == "DualBranchSR" and not args.smoke:
                method = "pretrained:speech-x4-48k"
            else:
                method = str(Path(tmp) / f"{name}.pt")
                save_model(models[name], method)
            result = peak_memory(method, src, tmp, threads)
            row["long_peak_mb"] = round(result["peak_mb"])
            row["long_rtf"] = result["seconds"] / long_seconds
            print(
                f"{name}: {args.long_minutes:g} min in {result['seconds']:.1f} s, peak {result['peak_mb']:.0f} MB",
                flush=True,
            )

    env = environment(threads)
    write_results(rows, env, args, out)
    write_contention(contention(args.seconds, args.repeats, args.smoke), env, out, replace_only=False)
    write_section(out / "speed.md", STREAMING_HEADING, streaming_section(streaming_speed(args.seconds, 3, args.smoke), env))
    result = None if args.smoke else onnx_speed(args.seconds, args.repeats)
    if result is not None:
        write_onnx(result, env, out)
    print(f"wrote {out / 'speed.md'}")


def write_results(rows, env, args, out):
    keys = ["method", "params", "rtf_16k", "rtf_48k", "train_samples_per_s", "long_rtf", "long_peak_mb"]
    with open(out / "speed.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in keys})

    def num(row, key, spec):
        return format(row[key], spec) if key in row else "—"

    lines = [
        "# Speed and memory on the CPU",
        "",
        f"Produced by `{env['command']}` on {env['cpu']} ({env['logical_cpus']} logical CPUs, no GPU), "
        f"{env['torch_threads']} threads (`n_threads` in inference, torch's threads in training); "
        f"torch {env['torch']}, numpy {env['numpy']}, scipy {env['scipy']}, "
        f"soxr {env['soxr'] or 'not installed'}, audiosr {env['audiosr']}, commit `{env['git_commit']}`.",
        "",
        f"Rate ×{RATE}. **RTF** = compute seconds per second of output audio (< 1 is faster than real time), "
        f"`transform` on {args.seconds:g} s of speech, median of {args.repeats} runs after a warm-up "
        "(1 run for the paper preset). **Training** = target samples per second over one epoch of `fit` on "
        "8192-sample pairs at 16 kHz with the estimator's default batch size. **Long file** = "
        f"`audiosr.processing.upsample_file` on a {args.long_minutes:g}-minute 12 kHz FLAC to 48 kHz in a fresh "
        "process (what `audiosr upsample` does): RTF and peak resident memory of that process "
        "(DualBranchSR: the shipped `speech-x4-48k` model; the paper preset is left out there, at its RTF the "
        "file would take over half an hour). **DualBranchSR** is the default configuration (both branches at the "
        "low rate, widths (64, 64, 96, 96), kernels (9, 9, 5, 5), an eighth of overlap); **former layout** is the "
        "default before it (`polyphase=False, overlap=0.5`, widths (16, 32, 64, 64), kernels (33, 17, 9, 9)); "
        "**recipe** is the quality preset `DualBranchSR.recipe(4)` (the time branch alone in that layout, an "
        "eighth of overlap, and its output settings: the high band's lines removed and its magnitudes smoothed).",
        "",
        "| method | parameters | RTF 16 kHz | RTF 48 kHz | training samples/s | long file RTF | long file peak MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['method']} | {num(row, 'params', ',')} | {num(row, 'rtf_16k', '.2g')} | {num(row, 'rtf_48k', '.2g')} | "
            f"{num(row, 'train_samples_per_s', ',')} | {num(row, 'long_rtf', '.2g')} | {num(row, 'long_peak_mb', ',')} |"
        )
    by_name = {row["method"]: row for row in rows}
    fast = by_name.get("DualBranchSR")
    if fast is not None and "rtf_16k" in fast:
        verdict = [
            f"{sr // 1000} kHz: {fast[f'rtf_{sr // 1000}k']:.3g} against a target of {TARGET_RTF[sr]:g} "
            f"({'met' if fast[f'rtf_{sr // 1000}k'] <= TARGET_RTF[sr] else 'NOT met'})"
            for sr in OUTPUT_RATES
        ]
        lines += [
            "",
            f"**Targets** (default DualBranchSR, {env['torch_threads']} threads): {'; '.join(verdict)}. "
            f"**External reference**: AP-BWE's generator (29.8 M parameters), rebuilt from its public code and "
            f"timed in issue #13 on a 2-CPU AMD EPYC machine on 1 thread (not rerun here): RTF {APBWE_RTF[16000]:g} "
            f"at 16 kHz and {APBWE_RTF[48000]:g} at "
            "48 kHz output (no AP-BWE code is part of audiosr).",
        ]
        former = by_name.get("DualBranchSR (former layout)")
        if former is not None:
            lines += [
                "",
                "Speed-up of the default over the former layout: "
                + ", ".join(f"{former[f'rtf_{k}'] / fast[f'rtf_{k}']:.1f}x at {k[:-1]} kHz" for k in ("16k", "48k"))
                + ".",
            ]
    if env["soxr"] is None:
        lines += ["", "soxr is not installed here, so its row is missing (`pip install soxr` adds it)."]
    (out / "speed.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
