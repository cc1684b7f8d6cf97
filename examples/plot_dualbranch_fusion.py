"""
DualBranchSR and its spectral fusion weight
===========================================

:class:`~audiosr.DualBranchSR` (TFNet, Lim et al. 2018) runs two networks on
every patch: a **time branch** that refines the waveform and a **frequency
branch** that predicts the magnitude spectrum. A *spectral fusion* layer mixes
the two magnitudes with one trainable weight per rfft bin,

.. math::

   M(k) = w(k)\\,|F(z_\\mathrm{time})(k)| + \\big(1 - w(k)\\big)\\,m_\\mathrm{freq}(k),
   \\qquad w(k) = \\frac{\\tanh v(k) + 1}{2} \\in [0, 1],

and returns to the waveform with the phase of the time branch. This example
trains a small model for a few seconds on one shipped speech clip, compares it
with spline interpolation, and plots the learned :math:`w` against frequency
(the fitted attribute ``fusion_weight_``).
"""

# %%
# Training pairs from one recording
# ---------------------------------
# The shipped speech clip (48 kHz) is resampled to 16 kHz, and the task is
# 4 kHz -> 16 kHz. The first 3 seconds give the training pairs; the last 1.5
# seconds are kept for testing, so the scores below are on audio the model has
# not seen. Overlapping segments (``hop`` of an eighth of a segment) make more
# pairs out of a short recording.

import matplotlib.pyplot as plt
import numpy as np

import audiosr
from audiosr import DualBranchSR
from audiosr.metrics import lsd, lsd_hf, snr

rate = 4
y, sr = audiosr.datasets.load_sample("speech", sr=16000)
split = 3 * sr
train, test = y[:split], y[split:]
test = test[: test.size // rate * rate]

X, Y = audiosr.make_pairs([train], rate, segment=2048, hop=256)
print(f"{len(X)} training pairs: X {X.shape} at {sr // rate} Hz, Y {Y.shape} at {sr} Hz")

# %%
# A small model, trained in seconds
# ---------------------------------
# Two U-Net blocks of 8 and 16 filters instead of the defaults' four blocks of
# 16 to 64: a few thousand parameters, enough to show the mechanism on a CPU.
# ``random_state`` makes the run repeatable.

model = DualBranchSR(
    rate=rate,
    filters=(8, 16),
    kernel_sizes=(9, 5),
    learning_rate=3e-3,
    max_epochs=10,
    random_state=0,
)
model.fit(X, Y)
n_params = sum(p.numel() for p in model.module_.parameters())
print(
    f"{n_params:,} parameters, patch length {model.patch_len_}, {model.n_iter_} epochs, loss {model.loss_curve_[-1]:.3g}"
)

# %%
# Compare with spline interpolation on the held-out audio
# -------------------------------------------------------
# DualBranchSR starts from a spline interpolation of its input (``input_upsampler``)
# and learns what to change. The spline cannot put anything above the input's
# Nyquist frequency (2 kHz), so its high-band LSD is large; the trained model
# puts plausible energy there, which shows in LSD and LSD-HF. SNR moves much
# less: it is dominated by the low band, which both methods get nearly right.

x_test = audiosr.decimate(test, rate)
estimates = {
    "spline": audiosr.upsample(x_test, rate, method="spline"),
    "DualBranchSR": audiosr.upsample(x_test, method=model),
}
print(f"{'method':14s} {'SNR dB':>7s} {'LSD':>6s} {'LSD-HF':>7s}")
for name, y_hat in estimates.items():
    print(f"{name:14s} {snr(test, y_hat):7.2f} {lsd(test, y_hat):6.3f} {lsd_hf(test, y_hat, rate=rate):7.3f}")

# %%
# The fusion weight against frequency
# -----------------------------------
# ``fusion_weight_`` holds one :math:`w` per rfft bin of a patch; bin ``k`` lies
# at ``k * sr / patch_len_`` Hz.
#
# * :math:`w` near **1**: the output magnitude in that bin is the time branch's
#   (the spectrum of the refined waveform);
# * :math:`w` near **0**: it is the frequency branch's prediction, made from the
#   spectral replicator's copies of the low band;
# * :math:`w = 0.5`, where training starts (:math:`v = 0`): an even mix.
#
# The phase always comes from the time branch, whatever :math:`w` is.
#
# For comparison the plot also shows the weight of the pretrained
# ``speech-x4-16k`` model (same rate and sample rate, the library's default
# sizes, trained for 9 minutes on hundreds of speech files; see
# :func:`audiosr.pretrained.info`). A moving average over 33 bins (about 260 Hz)
# makes the trend readable over the per-bin scatter.

from audiosr import pretrained  # noqa: E402

weights = {"small model (this example)": model.fusion_weight_}
weights["pretrained speech-x4-16k"] = pretrained.load("speech-x4-16k").fusion_weight_


def smooth(w, width=33):
    return np.convolve(np.pad(w, width // 2, mode="edge"), np.ones(width) / width, mode="valid")


fig, ax = plt.subplots(figsize=(8, 3.5))
for (label, w), color in zip(weights.items(), ("C0", "C1")):
    freqs = np.arange(w.size) * sr / (2 * (w.size - 1))
    ax.plot(freqs, w, color=color, alpha=0.25, linewidth=0.6)
    ax.plot(freqs, smooth(w), color=color, label=label)
ax.axvline(sr / rate / 2, color="k", linestyle="--", linewidth=1)
ax.text(sr / rate / 2, 0.03, "  input Nyquist (2 kHz)", transform=ax.get_xaxis_transform())
ax.axhline(0.5, color="0.5", linewidth=0.8)
ax.set_xlabel("frequency (Hz)")
ax.set_ylabel("fusion weight w")
ax.set_ylim(0.3, 0.7)  # zoomed: w can range over [0, 1]
ax.set_title("Share of the time branch in the fused magnitude")
ax.legend(loc="upper right")
fig.tight_layout()

# %%
# Reading the plot
# ----------------
# The vertical axis is zoomed: the weights stay close to 0.5. After a few
# seconds (and, for the pretrained model, two epochs over its data) training
# has moved each bin only part of the way from its starting point, and both
# branches contribute in every band.
#
# The pretrained model departs from 0.5 most around the edge of the input's
# band, from about 1.5 to 3 kHz: the decimation filter starts cutting at
# 1.6 kHz, so there the input is partly attenuated and the two branches'
# magnitudes differ most. The smoothed weight dips towards the frequency
# branch around 1.3-1.6 kHz and rises towards the time branch from about
# 1.7 to 2.9 kHz. The per-band means:

edges = [0, sr / rate / 2, sr / 4, 3 * sr / 8, sr / 2 + 1]
for label, w in weights.items():
    freqs = np.arange(w.size) * sr / (2 * (w.size - 1))
    means = [w[(freqs >= lo) & (freqs < hi)].mean() for lo, hi in zip(edges[:-1], edges[1:])]
    bands = ", ".join(f"{lo / 1000:.0f}-{hi / 1000:.0f} kHz: {m:.3f}" for lo, hi, m in zip(edges, edges[1:], means))
    print(f"{label:28s} {bands}")

# %%
# Values above 0.5 favour the time branch, values below the frequency branch.
# Here the departures from 0.5 are small: read them as a lean, not as a choice
# of one branch. A longer training (or a larger ``learning_rate``) lets the
# weights move further. The ablations ``branches="time"`` and ``branches="frequency"`` remove
# one branch entirely (and the fusion layer with it); they are the paper's
# ablation rows and a natural grid to search over, see
# :ref:`sphx_glr_auto_examples_plot_grid_search.py`.
