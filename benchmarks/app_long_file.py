"""A long file through ``audiosr app``: is processing streamed, and does the server stay responsive?

Starts ``python -m audiosr app --port 0`` (the real command, in its own process), makes a
long 16 kHz speech file (the shipped speech clip decimated to 16 kHz and repeated to
each of ``--minutes``), uploads it over HTTP as the page does, runs ``--method`` to 48 kHz, and
while the job runs asks the server for the job's state and for its configuration every
0.1 s, timing each answer. Records the upload-and-detection time, the run time and its
real-time factor, the answer times (median, largest) during the run, and the server
process's peak resident memory (``VmHWM``), next to the size of the file: streamed
processing keeps it the same for a short and a long file.

Usage::

    python benchmarks/app_long_file.py [--minutes 2 30] [--method sinc]

Writes ``app_long_file_METHOD.md`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import git_commit, run_environment  # noqa: E402


def _get(url):
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = json.loads(response.read())
    return body, time.perf_counter() - start


def _ms(times):
    return f"median {statistics.median(times) * 1000:.0f} ms, largest {max(times) * 1000:.0f} ms"


def _peak_rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _long_file(path, minutes):
    from audiosr.datasets import load_sample
    from audiosr.signal import decimate

    y, sr = load_sample("speech")
    x = decimate(y[: y.size // 3 * 3], 3)
    n = int(minutes * 60 * sr // 3)
    with sf.SoundFile(str(path), "w", samplerate=sr // 3, channels=1, subtype="PCM_16") as out:
        written = 0
        while written < n:
            chunk = x[: n - written]
            out.write(chunk)
            written += chunk.size
    return n, sr // 3


def _measure(minutes, method, tmp):
    """One file of ``minutes`` through a fresh ``audiosr app``: the figures of one column of the report."""
    src = Path(tmp) / f"long_16k_{minutes:g}min.wav"
    frames, sr = _long_file(src, minutes)
    size_mb = src.stat().st_size / 1e6
    server = subprocess.Popen(
        [sys.executable, "-m", "audiosr", "app", "--port", "0", "--max-upload-mb", str(size_mb * 2)],
        cwd=HERE.parent,
        env={**os.environ, "TMPDIR": tmp},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = server.stdout.readline().split("serving on ")[1].split()[0]
        start = time.perf_counter()
        with open(src, "rb") as fh:
            length = {"Content-Length": str(src.stat().st_size), "X-Audiosr": "1"}
            request = urllib.request.Request(f"{url}api/upload?name={src.name}", data=fh, headers=length)
            with urllib.request.urlopen(request, timeout=600) as response:
                item = json.loads(response.read())
        upload_s = time.perf_counter() - start
        body = json.dumps({"input": item["id"], "target": 48000, "method": method}).encode()
        headers = {"Content-Type": "application/json", "X-Audiosr": "1"}
        request = urllib.request.Request(f"{url}api/run", data=body, headers=headers)
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            job = json.loads(response.read())
        job_times, config_times = [], []
        while job["status"] in ("queued", "running"):
            time.sleep(0.1)
            job, seconds = _get(f"{url}api/jobs/{job['id']}")
            job_times.append(seconds)
            _, seconds = _get(f"{url}api/config")
            config_times.append(seconds)
        run_s = time.perf_counter() - start
        if job["status"] != "done":
            raise SystemExit(f"the job failed: {job['message']}")
        peak_mb = _peak_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(60)
        src.unlink()
    duration = frames / sr
    result = job["result"]
    column = {
        "file (16 kHz mono speech, WAV PCM_16)": f"{duration / 60:g} min, {size_mb:.1f} MB",
        "output at 48 kHz": f"{result['frames']} frames",
        "upload + bandwidth detection": f"{upload_s:.1f} s",
        "run (up-sampling, spectrograms)": f"{run_s:.1f} s",
        "real-time factor of the run": f"{run_s / duration:.4f}",
        "job-state answers during the run": f"{len(job_times)}: {_ms(job_times)}",
        "configuration answers during the run": f"{len(config_times)}: {_ms(config_times)}",
        "server's peak resident memory": f"{peak_mb:.0f} MB",
        "the output as float32 would take": f"{result['frames'] * 4 / 1e6:.0f} MB",
        "load average (1 min) after the run": f"{os.getloadavg()[0]:.2f}",
    }
    return column, job


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[2.0, 30.0], help="file lengths (default: 2 30)")
    parser.add_argument("--method", default="sinc", help="method or shipped model (default: sinc)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="folder of the report")
    args = parser.parse_args(argv)

    env = run_environment("app_long_file.py")
    commit, dirty = git_commit()
    columns = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            column, job = _measure(minutes, args.method, tmp)
            columns.append(column)
    first = next(iter(columns[0]))
    lines = [
        f"# A long file through `audiosr app`: {args.method}",
        "",
        f"Command: `{env['command']}` (commit {commit}{' with uncommitted changes' if dirty else ''}).",
        f"Machine: {env['cpu']}, {env['logical_cpus']} logical CPUs; Python {env['python']}, audiosr {env['audiosr']}.",
        f"Plan of the last file: {job['plan']}.",
        "",
        f"| {first} |" + "|".join(f" {c[first]} " for c in columns) + "|",
        "|---|" + "---|" * len(columns),
        *["| " + key + " |" + "|".join(f" {c[key]} " for c in columns) + "|" for key in list(columns[0])[1:]],
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"app_long_file_{args.method}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
