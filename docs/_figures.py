"""Data-flow diagrams of the neural models, drawn with matplotlib at build time.

``conf.py`` calls :func:`draw_all` so that the figures need neither Graphviz nor
a network connection. Each diagram is a few labelled boxes and arrows placed on
a grid by hand; the text follows the models' docstrings in ``audiosr/neural``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

COLORS = {
    "io": "#e8e8e8",
    "fixed": "#dbe9f6",  # fixed signal processing, nothing learned
    "learned": "#fde2c8",  # trainable
    "mix": "#d9f0d3",  # combination of branches
}


class _Diagram:
    def __init__(self, width, height, xlim, ylim):
        self.fig, self.ax = plt.subplots(figsize=(width, height))
        self.ax.set_xlim(*xlim)
        self.ax.set_ylim(*ylim)
        self.ax.axis("off")
        self.boxes = {}

    def box(self, key, x, y, text, kind="fixed", w=1.7, h=0.62, fontsize=8):
        patch = FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=COLORS[kind],
            edgecolor="0.3",
            linewidth=0.8,
        )
        self.ax.add_patch(patch)
        self.ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, wrap=False)
        self.boxes[key] = (x, y, w, h)

    def _anchor(self, key, side):
        x, y, w, h = self.boxes[key]
        return {
            "l": (x - w / 2, y),
            "r": (x + w / 2, y),
            "t": (x, y + h / 2),
            "b": (x, y - h / 2),
        }[side]

    def arrow(self, a, b, sa="r", sb="l", label=None, style="-|>", rad=0.0, color="0.2", label_pos=0.5, dy=0.12):
        start, end = self._anchor(a, sa), self._anchor(b, sb)
        self.ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops=dict(
                arrowstyle=style,
                color=color,
                linewidth=0.9,
                shrinkA=1,
                shrinkB=1,
                connectionstyle=f"arc3,rad={rad}",
            ),
        )
        if label:
            lx = start[0] + (end[0] - start[0]) * label_pos
            ly = start[1] + (end[1] - start[1]) * label_pos + dy
            self.ax.text(lx, ly, label, ha="center", va="bottom", fontsize=7, color="0.25", style="italic")

    def path(self, points, label=None, label_at=None, color="0.2"):
        """A poly-line arrow through grid points (for routes around boxes)."""
        xs, ys = zip(*points)
        self.ax.plot(xs[:-1], ys[:-1], color=color, linewidth=0.9)
        self.ax.annotate(
            "",
            xy=points[-1],
            xytext=points[-2],
            arrowprops=dict(arrowstyle="-|>", color=color, linewidth=0.9, shrinkA=0, shrinkB=1),
        )
        if label:
            self.ax.text(*label_at, label, ha="center", va="bottom", fontsize=7, color="0.25", style="italic")

    def legend(self, x, y):
        items = [("fixed processing", "fixed"), ("trained", "learned"), ("combination", "mix")]
        for i, (text, kind) in enumerate(items):
            self.ax.add_patch(
                FancyBboxPatch((x + i * 1.9, y - 0.1), 0.3, 0.2, boxstyle="round,pad=0.01", facecolor=COLORS[kind])
            )
            self.ax.text(x + i * 1.9 + 0.4, y, text, va="center", fontsize=7)

    def save(self, path):
        self.fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(self.fig)


def draw_dualbranch(path):
    d = _Diagram(12, 4.6, (-0.2, 14.4), (-0.9, 4.3))
    d.box("x", 0.8, 2.0, "low-rate clip x\n(n samples)", "io", w=1.4)
    d.box("interp", 3.0, 2.0, "interpolate ×r\n(input_upsampler,\nspline) and cut into\npatches z of N", h=0.95)
    # time branch
    d.box("tunet", 5.7, 3.5, "time branch\nU-Net", "learned", w=1.5)
    d.box("tres", 8.0, 3.5, "+ z (residual)\n= $z_t$", w=1.5)
    d.box("tfft", 10.4, 3.5, "rfft: $|F(z_t)|$\nand phase", w=1.7)
    # frequency branch
    d.box("ffft", 5.7, 0.5, "rfft: $|F(z)|$\nN/2 + 1 bins", w=1.5)
    d.box("repl", 8.0, 0.5, "spectral replicator:\ntile bins 1..N/(2r)\nr times over 1..N/2", h=0.85, w=1.8)
    d.box("funet", 10.4, 0.5, "frequency branch\nU-Net, + $|F(z)|$\n(residual)", "learned", h=0.85, w=1.8)
    # fusion and output
    d.box(
        "fuse",
        13.1,
        2.0,
        "spectral fusion\n$M = w\\,|F(z_t)| + (1-w)\\,m_f$\n$w = (\\tanh v + 1)/2$\none v per bin",
        "mix",
        h=1.2,
        w=2.3,
    )
    d.box("ifft", 10.0, 2.0, "irfft$(M\\,e^{j \\angle F(z_t)})$\n→ output patch", w=2.0, h=0.7)
    d.box("ola", 6.6, 2.0, "overlap-add of patches\n(Hann, hop N/2)\n→ ŷ (n · r samples)", "io", w=2.1, h=0.85)
    d.arrow("x", "interp")
    d.arrow("interp", "tunet", sa="t", sb="l", rad=-0.25)
    d.arrow("interp", "ffft", sa="b", sb="l", rad=0.25)
    d.arrow("tunet", "tres")
    d.arrow("tres", "tfft")
    d.arrow("ffft", "repl")
    d.arrow("repl", "funet")
    d.arrow("tfft", "fuse", sa="r", sb="t", rad=-0.3, label="$|F(z_t)|$", label_pos=0.45, dy=0.1)
    d.arrow("funet", "fuse", sa="r", sb="b", rad=0.3, label="$m_f$", label_pos=0.3, dy=0.08)
    d.path([(5.7, 0.19), (5.7, -0.45), (13.1, -0.45), (13.1, 1.4)], label="DC bin: passthrough", label_at=(9.4, -0.42))
    d.arrow("fuse", "ifft", sa="l", sb="r", label="M", dy=0.03)
    d.arrow("tfft", "ifft", sa="b", sb="t", label="phase", dy=-0.05)
    d.arrow("ifft", "ola", sa="l", sb="r")
    d.ax.text(
        6.6,
        1.25,
        'branches="time": time branch only (output $z_t$)\nbranches="frequency": frequency branch, phase of z',
        ha="center",
        va="center",
        fontsize=6.5,
        color="0.35",
    )
    d.legend(0.0, 4.15)
    d.save(path)


def draw_audiounet(path):
    d = _Diagram(11, 3.9, (-0.2, 12.4), (-0.6, 3.9))
    d.box("x", 0.8, 1.5, "low-rate clip x\n(n samples)", "io", w=1.4)
    d.box("interp", 2.9, 1.5, "interpolate ×r\n(spline) and cut\ninto patches z of N", h=0.9)
    d.box("down", 5.1, 2.4, "B down blocks\nstride-2 conv,\nLeakyReLU 0.2", "learned", h=0.85)
    d.box("bott", 7.1, 2.4, "bottleneck\nstride-2 conv,\ndropout", "learned", h=0.85)
    d.box("up", 9.1, 2.4, "B up blocks: conv,\ndropout, ReLU,\nsub-pixel ×2", "learned", h=0.85)
    d.box("final", 11.2, 2.4, "final conv,\nsub-pixel ×2\n→ correction", "learned", h=0.85, w=1.6)
    d.box("add", 9.1, 0.6, "z + correction\n(additive residual)", "mix", w=1.8)
    d.box("ola", 5.1, 0.6, "overlap-add of patches\n(Hann, hop N/2)\n→ ŷ (n · r samples)", "io", w=2.0, h=0.85)
    d.arrow("x", "interp")
    d.arrow("interp", "down", sa="r", sb="l")
    d.arrow("down", "bott")
    d.arrow("bott", "up")
    d.arrow("up", "final")
    d.arrow("down", "up", sa="t", sb="t", rad=-0.35, label="skip connections (concatenated)", dy=0.32)
    d.arrow("final", "add", sa="b", sb="r", rad=-0.3)
    d.path([(2.9, 1.05), (2.9, -0.35), (9.1, -0.35), (9.1, 0.29)], label="z (residual)", label_at=(6.9, -0.33))
    d.arrow("add", "ola", sa="l", sb="r")
    d.legend(0.0, 3.75)
    d.save(path)


def draw_spectraldnn(path):
    d = _Diagram(11.5, 4.2, (-0.2, 13.4), (-0.5, 4.1))
    d.box("x", 0.8, 2.0, "low-rate clip x\n(n samples)", "io", w=1.4)
    d.box("sinc", 2.9, 3.0, "sinc interpolation ×r", w=1.9)
    d.box("stft", 5.1, 3.0, "STFT (n_fft, Hann,\nhop n_fft/4)", w=1.8)
    d.box("feat", 7.5, 3.0, "ln power of low band\n(bins $[0, k_c)$) in the\ncontext frames (9)", w=2.1, h=0.85)
    d.box("mlp", 10.0, 3.0, "standardise → MLP\n(ReLU layers)\n→ de-standardise", "learned", h=0.85, w=1.8)
    d.box("mag", 12.4, 2.0, "high-band\nmagnitude\nfrom ln power", w=1.4, h=0.85)
    d.box("zero", 2.9, 1.0, "zero-stuff ×r\n(images of the\nlow band)", w=1.9, h=0.85)
    d.box("phase", 5.1, 1.0, "STFT phase of\nthe high band\n(imaged phase)", w=1.8, h=0.85)
    d.box(
        "join",
        9.6,
        1.0,
        "low band: input's STFT\nhigh band: magnitude $\\cdot\\, e^{j\\,\\mathrm{phase}}$",
        "mix",
        w=3.0,
    )
    d.box("istft", 9.6, -0.05, "inverse STFT → restore input's\nspectrum below its Nyquist → ŷ", "io", w=3.0, h=0.6)
    d.arrow("x", "sinc", sa="t", sb="l", rad=-0.25)
    d.arrow("x", "zero", sa="b", sb="l", rad=0.25)
    d.arrow("sinc", "stft")
    d.arrow("stft", "feat")
    d.arrow("feat", "mlp")
    d.arrow("mlp", "mag", sa="r", sb="t", rad=-0.3)
    d.arrow("zero", "phase")
    d.arrow("phase", "join", sa="r", sb="l")
    d.arrow("mag", "join", sa="b", sb="r", rad=-0.3)
    d.path([(5.1, 2.69), (5.1, 2.0), (8.6, 2.0), (8.6, 1.31)], label="low band (passthrough)", label_at=(6.9, 2.02))
    d.arrow("join", "istft", sa="b", sb="t")
    d.legend(0.0, 3.95)
    d.save(path)


DIAGRAMS = {
    "dualbranch.png": draw_dualbranch,
    "audiounet.png": draw_audiounet,
    "spectraldnn.png": draw_spectraldnn,
}


def draw_all(outdir):
    """Draw every diagram into ``outdir`` unless it is newer than this file."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    source_time = Path(__file__).stat().st_mtime
    for name, draw in DIAGRAMS.items():
        target = outdir / name
        if not target.exists() or target.stat().st_mtime < source_time:
            draw(target)


if __name__ == "__main__":
    import sys

    draw_all(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_diagrams")
