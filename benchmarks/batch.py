"""Large collections: files per minute of ``audiosr upsample --jobs N`` on real speech.

Takes the first ``--files`` recordings of ``--kind`` (real 16-kHz speech by default)
from ``--data``'s MANIFEST.csv, in path order, and up-samples them to ``--sr`` with
the command line, once per method and ``--jobs`` value, each run a fresh process
(``python -m audiosr upsample FILES -o OUT --quiet``), so its time includes starting
Python, the worker processes and the model loads: what a user waits for. Per run:

* wall-clock seconds, files per minute and seconds of audio per second;
* whether every output is byte for byte the one of the ``--jobs 1`` run.

Methods: ``default`` (no ``--method``: the plan chooses), ``sinc`` (``--method sinc``)
and ``model:NAME`` (``--model NAME``, a shipped model). Outputs go to ``--work``
(default: a folder in /tmp), emptied before each run.

Usage::

    python benchmarks/batch.py [--data ../shared/data] [--files 40] [--jobs 1 2]

Writes ``batch.md`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _common import git_commit, run_environment  # noqa: E402


def pick_files(data, kind, n):
    """The first ``n`` files of ``kind`` in MANIFEST.csv (path order), and their durations in seconds."""
    with open(Path(data) / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        rows = sorted((r for r in csv.DictReader(fh) if r["kind"] == kind), key=lambda r: r["path"])[:n]
    if len(rows) < n:
        raise SystemExit(f"only {len(rows)} files of kind {kind!r} in {data}; pass a smaller --files.")
    return [Path(data) / r["path"] for r in rows], [float(r["duration_s"]) for r in rows]


def method_options(method):
    if method == "default":
        return []
    if method.startswith("model:"):
        return ["--model", method.split(":", 1)[1]]
    return ["--method", method]


def run_once(files, out, sr, method, jobs):
    """One fresh ``audiosr upsample`` process; its wall-clock seconds and its stderr."""
    if out.exists():
        shutil.rmtree(out)
    argv = [sys.executable, "-m", "audiosr", "upsample", *map(str, files), "-o", f"{out}/", "--sr", str(sr)]
    argv += [*method_options(method), "--jobs", str(jobs), "--quiet"]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, done.stderr


def plan_summary(files, sr, method):
    """What the plan does with the first file under this method (the same for all the files here)."""
    argv = [sys.executable, "-m", "audiosr", "upsample", str(files[0]), "-o", "unused.wav", "--sr", str(sr)]
    done = subprocess.run([*argv, *method_options(method), "--dry-run"], cwd=REPO, capture_output=True, text=True)
    line = next((x for x in done.stderr.splitlines() if "plan:" in x), done.stderr.strip())
    return line.split(" -> ", 1)[-1] if " -> " in line else line


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"), help="folder with MANIFEST.csv")
    parser.add_argument("--kind", default="speech16k", help="MANIFEST kind to take files from (default: speech16k)")
    parser.add_argument("--files", type=int, default=40, help="number of files (default: 40)")
    parser.add_argument(
        "--model-files", type=int, help="number of files for the model: methods (default: --files); the first ones"
    )
    parser.add_argument("--sr", type=int, default=48000, help="target rate (default: 48000)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values (default: 1 2)")
    parser.add_argument(
        "--methods", nargs="+", default=["default", "sinc", "model:speech-x4-48k"], help="default, sinc, model:NAME"
    )
    parser.add_argument("--work", help="folder for the outputs (default: a new folder in /tmp)")
    parser.add_argument("--out", default=str(HERE / "results"), help="folder of batch.md")
    args = parser.parse_args(argv)

    files, durations = pick_files(args.data, args.kind, args.files)
    work = Path(args.work or tempfile.mkdtemp(prefix="audiosr-batch-"))
    env = run_environment("batch.py")
    commit, dirty = git_commit()
    load_before = os.getloadavg()
    rows = []
    for method in args.methods:
        n = args.model_files if method.startswith("model:") and args.model_files else len(files)
        chosen, seconds_of_audio = files[:n], sum(durations[:n])
        steps = plan_summary(chosen, args.sr, method)
        reference = None
        for jobs in args.jobs:
            out = work / f"{method.replace(':', '-')}-jobs{jobs}"
            seconds, _ = run_once(chosen, out, args.sr, method, jobs)
            written = snapshot(out)
            if len(written) != n:
                raise SystemExit(f"{method} --jobs {jobs}: {len(written)} outputs for {n} files.")
            if reference is None:
                reference = (jobs, written)
            same = "reference" if reference[0] == jobs else ("yes" if written == reference[1] else "**no**")
            rows.append((method, steps, n, seconds_of_audio, jobs, seconds, same))
            print(f"{method} --jobs {jobs}: {seconds:.1f} s, {n / seconds * 60:.1f} files/min", file=sys.stderr)
            shutil.rmtree(out)
    load_after = os.getloadavg()

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    version = f"`{commit[:7]}{'+' if dirty else ''}`" if commit else "unknown"
    lines = [
        "# Large collections: files per minute with `--jobs`",
        "",
        f"Produced by `{env['command']}` on {env['cpu']} ({cpus} CPUs available to the process); "
        f"python {env['python']}, torch {env['torch']}, numpy {env['numpy']}, audiosr {env['audiosr']}, commit "
        f"{version}. Load average (1, 5, 15 min) before the runs: {', '.join(f'{v:.2f}' for v in load_before)}; "
        f"after: {', '.join(f'{v:.2f}' for v in load_after)} (other jobs may share the machine: a load above the "
        "run's own slows it down).",
        "",
        f"Files of real speech (`{args.kind}` in MANIFEST.csv, the first in path order; the first {len(files)} "
        f"are {sum(durations):.1f} s of audio, {sum(durations) / len(files):.1f} s a file) up-sampled to "
        f"{args.sr} Hz by "
        "`python -m audiosr upsample FILES -o OUT/ --sr "
        f"{args.sr} [--method M | --model NAME] --jobs N --quiet`, one fresh process per run: the time includes "
        "starting Python, the worker processes (each with CPUs/N threads) and loading the model in each. "
        "**Same output** = every output file byte for byte the one of the first `--jobs` value.",
        "",
        "| method | plan (each file) | files | audio s | --jobs | seconds | files / min | audio s / s | speed-up "
        "| same output |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    first = {}
    for method, steps, n, seconds_of_audio, jobs, seconds, same in rows:
        first.setdefault(method, seconds)
        lines.append(
            f"| {method} | {steps} | {n} | {seconds_of_audio:.1f} | {jobs} | {seconds:.1f} | {n / seconds * 60:.1f} | "
            f"{seconds_of_audio / seconds:.2f} | {first[method] / seconds:.2f} | {same} |"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out / 'batch.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
