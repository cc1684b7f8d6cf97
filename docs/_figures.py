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
    """Boxes and arrows on a grid; ``fontsize`` is the boxes' text, labels and the legend are a point smaller."""

    def __init__(self, width, height, xlim, ylim, fontsize=8):
        self.fontsize = fontsize
        self.fig, self.ax = plt.subplots(figsize=(width, height))
        self.ax.set_xlim(*xlim)
        self.ax.set_ylim(*ylim)
        self.ax.axis("off")
        self.boxes = {}

    def box(self, key, x, y, text, kind="fixed", w=1.7, h=0.62, fontsize=None):
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
        self.ax.text(x, y, text, ha="center", va="center", fontsize=fontsize or self.fontsize, wrap=False)
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
            self.ax.text(
                lx, ly, label, ha="center", va="bottom", fontsize=self.fontsize - 1, color="0.25", style="italic"
            )

    def path(self, points, label=None, label_at=None, color="0.2", rotation=0, ha="center", va="bottom"):
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
            self.ax.text(
                *label_at,
                label,
                ha=ha,
                va=va,
                rotation=rotation,
                fontsize=self.fontsize - 1,
                color="0.25",
                style="italic",
            )

    def legend(self, x, y, step=1.9, size=(0.3, 0.2)):
        items = [("fixed processing", "fixed"), ("trained", "learned"), ("combination", "mix")]
        w, h = size
        for i, (text, kind) in enumerate(items):
            self.ax.add_patch(
                FancyBboxPatch(
                    (x + i * step, y - h / 2), w, h, boxstyle="round,pad=0.01", facecolor=COLORS[kind], edgecolor="0.3"
                )
            )
            self.ax.text(x + i * step + w + 0.1, y, text, va="center", fontsize=self.fontsize - 1)

    def save(self, path, dpi=110):
        self.fig.savefig(path, dpi=dpi, bbox_inches="tight")
        plt.close(self.fig)


def draw_dualbranch(path):
    # Drawn top to bottom, the two branches side by side, so that the figure is narrow
    # enough for the page's text column and its text stays legible at that width.
    d = _Diagram(7.4, 9.8, (-0.5, 10.9), (-1.2, 14.0), fontsize=11)
    d.box("x", 5.15, 12.6, "low-rate clip x (n samples)", "io", w=4.6, h=0.7)
    cut = "interpolate ×r (input_upsampler, spline)\nand cut into patches z of N samples"
    d.box("interp", 5.15, 11.2, cut, w=7.6, h=1.0)
    # time branch (left) and frequency branch (right)
    d.box("tunet", 2.3, 9.6, "time branch\nU-Net", "learned", w=3.6, h=0.95)
    d.box("tres", 2.3, 8.0, "+ z (residual) = $z_t$", w=3.6, h=0.7)
    d.box("tfft", 2.3, 6.4, "rfft: $|F(z_t)|$\nand phase", w=3.6, h=0.95)
    d.box("ffft", 8.0, 9.6, "rfft: $|F(z)|$\nN/2 + 1 bins", w=3.6, h=0.95)
    d.box("repl", 8.0, 8.0, "spectral replicator:\ntile bins 1..N/(2r)\nr times over 1..N/2", w=3.6, h=1.25)
    d.box("funet", 8.0, 6.4, "frequency branch\nU-Net, + $|F(z)|$", "learned", w=3.6, h=0.95)
    # fusion and output
    d.box(
        "fuse",
        5.15,
        4.1,
        "spectral fusion, one v per bin:\n$M = w\\,|F(z_t)| + (1-w)\\,m_f$\n$w = (\\tanh v + 1)/2$",
        "mix",
        w=6.4,
        h=1.55,
    )
    d.box("ifft", 5.15, 2.3, "irfft$(M\\,e^{j \\angle F(z_t)})$ → output patch", w=6.4, h=0.75)
    d.box("ola", 5.15, 0.75, "overlap-add of patches (Hann, hop N/2)\n→ ŷ (n · r samples)", "io", w=7.0, h=1.0)
    d.arrow("x", "interp", sa="b", sb="t")
    d.path([(2.3, 10.7), (2.3, 10.08)])
    d.path([(8.0, 10.7), (8.0, 10.08)])
    d.arrow("tunet", "tres", sa="b", sb="t")
    d.arrow("tres", "tfft", sa="b", sb="t")
    d.arrow("ffft", "repl", sa="b", sb="t")
    d.arrow("repl", "funet", sa="b", sb="t")
    side = dict(ha="left", va="center")
    d.path([(2.3, 5.92), (2.3, 4.88)], label="$|F(z_t)|$", label_at=(2.45, 5.4), **side)
    d.path([(8.0, 5.92), (8.0, 4.88)], label="$m_f$", label_at=(8.15, 5.4), **side)
    d.path([(5.15, 3.32), (5.15, 2.68)], label="M", label_at=(5.3, 3.0), **side)
    along = dict(rotation=90, va="center")
    d.path(
        [(9.8, 9.6), (10.3, 9.6), (10.3, 4.1), (8.35, 4.1)], label="DC bin: passthrough", label_at=(10.55, 6.9), **along
    )
    d.path([(0.5, 6.4), (-0.05, 6.4), (-0.05, 2.3), (1.95, 2.3)], label="phase", label_at=(-0.3, 4.3), **along)
    d.arrow("ifft", "ola", sa="b", sb="t")
    d.ax.text(
        5.15,
        -0.6,
        'branches="time": the time branch only (output $z_t$)\nbranches="frequency": the frequency branch, phase of z',
        ha="center",
        va="center",
        fontsize=9,
        color="0.35",
    )
    d.legend(0.6, 13.6, step=3.4, size=(0.45, 0.3))
    d.save(path, dpi=100)


def draw_audiounet(path):
    # Two columns (the patch's way in and out on the left, the U-Net on the right), so
    # that the figure fits the text column with legible text, as DualBranchSR's.
    d = _Diagram(7.4, 7.0, (-0.4, 11.0), (1.0, 11.6), fontsize=11)
    d.box("x", 2.5, 9.8, "low-rate clip x\n(n samples)", "io", w=4.0, h=0.95)
    d.box("interp", 2.5, 8.1, "interpolate ×r (spline)\nand cut into\npatches z of N", w=4.0, h=1.25)
    d.box("down", 7.8, 8.1, "B down blocks:\nstride-2 conv,\nLeakyReLU 0.2", "learned", w=4.0, h=1.25)
    d.box("bott", 7.8, 6.45, "bottleneck:\nstride-2 conv, dropout", "learned", w=4.0, h=0.95)
    d.box("up", 7.8, 4.8, "B up blocks: conv,\ndropout, ReLU,\nsub-pixel ×2", "learned", w=4.0, h=1.25)
    d.box("final", 7.8, 3.05, "final conv,\nsub-pixel ×2\n→ correction", "learned", w=4.0, h=1.25)
    d.box("add", 2.5, 3.05, "z + correction\n(additive residual)", "mix", w=4.0, h=0.95)
    d.box("ola", 2.5, 1.55, "overlap-add of patches\n(Hann, hop N/2) → ŷ", "io", w=4.0, h=0.95)
    d.arrow("x", "interp", sa="b", sb="t")
    d.arrow("interp", "down")
    d.arrow("down", "bott", sa="b", sb="t")
    d.arrow("bott", "up", sa="b", sb="t")
    d.arrow("up", "final", sa="b", sb="t")
    d.arrow("final", "add", sa="l", sb="r")
    d.arrow("add", "ola", sa="b", sb="t")
    d.path([(2.5, 7.47), (2.5, 3.53)], label="z (residual)", label_at=(2.65, 5.5), ha="left", va="center")
    d.path(
        [(9.8, 8.1), (10.35, 8.1), (10.35, 4.8), (9.8, 4.8)],
        label="skip connections (concatenated)",
        label_at=(10.6, 6.45),
        rotation=90,
        va="center",
    )
    d.legend(0.0, 11.1, step=3.4, size=(0.45, 0.3))
    d.save(path, dpi=100)


def draw_spectraldnn(path):
    # Two columns (magnitude on the left, phase on the right), narrow enough for the
    # text column, as DualBranchSR's.
    d = _Diagram(7.4, 9.0, (-0.4, 10.8), (-0.6, 12.2), fontsize=11)
    d.box("x", 5.15, 10.9, "low-rate clip x (n samples)", "io", w=4.6, h=0.7)
    d.box("sinc", 2.5, 9.5, "sinc interpolation ×r", w=4.0, h=0.7)
    d.box("stft", 2.5, 8.1, "STFT (n_fft, Hann,\nhop n_fft/4)", w=4.0, h=0.95)
    d.box("feat", 2.5, 6.4, "ln power of the low band\n(bins $[0, k_c)$) in the\ncontext frames (9)", w=4.0, h=1.25)
    d.box("mlp", 2.5, 4.6, "standardise → MLP\n(ReLU layers)\n→ de-standardise", "learned", w=4.0, h=1.25)
    d.box("mag", 2.5, 2.95, "high-band magnitude\nfrom ln power", w=4.0, h=0.95)
    d.box("zero", 7.8, 9.3, "zero-stuff ×r\n(images of the\nlow band)", w=4.0, h=1.25)
    d.box("phase", 7.8, 7.5, "STFT phase of\nthe high band\n(imaged phase)", w=4.0, h=1.25)
    joined = "low band: the input's STFT\nhigh band: magnitude $\\cdot\\, e^{j\\,\\mathrm{phase}}$"
    d.box("join", 5.15, 1.45, joined, "mix", w=7.6, h=0.95)
    restored = "inverse STFT → restore the input's\nspectrum below its Nyquist → ŷ"
    d.box("istft", 5.15, -0.05, restored, "io", w=7.6, h=0.95)
    d.path([(3.6, 10.55), (3.6, 9.85)])
    d.path([(6.7, 10.55), (6.7, 9.93)])
    d.arrow("sinc", "stft", sa="b", sb="t")
    d.arrow("stft", "feat", sa="b", sb="t")
    d.arrow("feat", "mlp", sa="b", sb="t")
    d.arrow("mlp", "mag", sa="b", sb="t")
    d.arrow("zero", "phase", sa="b", sb="t")
    d.path([(2.5, 2.47), (2.5, 1.93)])
    d.path([(7.8, 6.87), (7.8, 1.93)])
    d.path(
        [(4.5, 8.1), (5.15, 8.1), (5.15, 1.93)],
        label="low band (passthrough)",
        label_at=(5.4, 5.0),
        rotation=90,
        va="center",
    )
    d.arrow("join", "istft", sa="b", sb="t")
    d.legend(0.0, 11.85, step=3.4, size=(0.45, 0.3))
    d.save(path, dpi=100)


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
