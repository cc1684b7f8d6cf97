"""The shipped models on the other kind of material: speech models on music, music models on speech.

``audiosr upsample --sr`` (the plan) picks a shipped model by rates alone: a 22.05 kHz
speech file going to 44.1 kHz gets the piano model, an 8 kHz piano recording going to
16 kHz the speech model. This scores every shipped model on the whole ``test`` files of
the kinds it was *not* trained on (at its output rate; kinds with no file recorded at
that rate or above are skipped), for every input maker, with the ship rule of the zoo
(:func:`audiosr.evaluation.ship_rule`: LSD below sinc's, SNR at least sinc's - 0.5 dB).

Usage::

    python benchmarks/zoo_cross_domain.py --data ../shared/data

Writes ``zoo_cross_domain.md`` to ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import run_environment  # noqa: E402

#: Kinds of material, as the manifest names them (the drum one-shots are too short to score).
KINDS = {"speech": ["speech", "speech16k"], "piano": ["piano"], "music": ["music"]}


def other_kinds(trained_on):
    """The groups of ``KINDS`` that share no kind with what a model was trained on."""
    return [name for name, kinds in KINDS.items() if not set(kinds) & set(trained_on)]


def score(name, group, args):
    """``(files, scores, failures)`` of one model on one group's test files, or None without files."""
    import audiosr.pretrained
    from audiosr.datasets import load_manifest
    from audiosr.evaluation import evaluate_input_makers, ship_rule

    info = audiosr.pretrained.info(name)
    sr = int(info["output_sr"])
    try:
        test = load_manifest(args.data, kind=KINDS[group], split="test", sr=sr, min_sr=sr)
    except ValueError:
        return None  # no file of that kind recorded at the model's output rate
    model = audiosr.pretrained.load(name).set_params(n_threads=1)
    rate = int(model.rate_)
    refs = [y[: len(y) // rate * rate] for y in test.signals[: args.files or None]]
    scores = evaluate_input_makers(model, refs, rate)
    return len(refs), scores, ship_rule(scores)


def main(argv=None):
    import audiosr.pretrained

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("AUDIOSR_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--models", nargs="+", default=None, help="shipped models (default: all)")
    parser.add_argument("--files", type=int, default=0, help="at most this many test files per kind (0: all)")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    names = args.models or audiosr.pretrained.list()
    env = run_environment("zoo_cross_domain.py")
    lines = [
        "# The shipped models on the other kind of material",
        "",
        __doc__.split("\n\n", 2)[1].strip(),
        "",
        f"Command: `{env['command']}`; {env['cpu']}, torch {env['torch']}, audiosr {env['audiosr']}.",
        "",
        "| model | trained on | scored on | files | SNR - sinc's, worst .. best | LSD / sinc's | ship rule |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        trained_on = audiosr.pretrained.info(name)["trained_on"]["kinds"]
        for group in other_kinds(trained_on):
            result = score(name, group, args)
            if result is None:
                continue
            files, scores, failures = result
            margins = [s["model"]["snr"] - s["sinc"]["snr"] for s in scores.values()]
            ratios = [s["model"]["lsd"] / s["sinc"]["lsd"] for s in scores.values()]
            verdict = "passes" if not failures else "fails on " + ", ".join(f"`{m}`" for m in failures)
            lines.append(
                f"| {name} | {', '.join(trained_on)} | {group} | {files} | {min(margins):+.2f} .. "
                f"{max(margins):+.2f} dB | {min(ratios):.2f}–{max(ratios):.2f} | {verdict} |"
            )
            print(lines[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "zoo_cross_domain.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'zoo_cross_domain.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
