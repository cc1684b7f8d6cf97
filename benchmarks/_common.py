"""What every benchmark report records about the run: machine, versions, commit."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def git_commit():
    """HEAD of the checkout and whether it had uncommitted changes, or (None, None).

    Changes under ``benchmarks/results/`` do not count: they are what the scripts write.
    """
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = ["git", "status", "--porcelain", "--", ":/", ":(exclude,top)benchmarks/results"]
        dirty = bool(subprocess.run(status, cwd=HERE, capture_output=True, text=True).stdout)
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return commit, dirty


def cpu_name():
    """The CPU model from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_environment(script):
    """The command that ran ``script`` (a file in benchmarks/), the machine and the library versions."""
    import numpy
    import scipy
    import sklearn
    import torch

    import audiosr

    return {
        "command": f"python benchmarks/{script} " + " ".join(sys.argv[1:]),
        "cpu": cpu_name(),
        "logical_cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "audiosr": audiosr.__version__,
    }
