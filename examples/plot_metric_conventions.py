"""
One result, three LSD conventions
=================================

The log-spectral distance (LSD) has several incompatible definitions in the
literature. This example scores one up-sampled clip with the three conventions
that :func:`audiosr.metrics.lsd` implements, and with the band-limited
:func:`~audiosr.metrics.lsd_hf` and :func:`~audiosr.metrics.lsd_lf`.
"""

# %%
# One result to score
# -------------------
# The shipped speech clip, decimated by 4 and brought back with sinc
# interpolation.

import audiosr
from audiosr.metrics import lsd, lsd_hf, lsd_lf

rate = 4
y, sr = audiosr.datasets.load_sample("speech")
y_hat = audiosr.upsample(audiosr.decimate(y, rate), rate, method="sinc")

# %%
# Score it in every convention
# ----------------------------

scores = {
    "lsd (default: NU-Wave / AERO / AP-BWE)": lsd(y, y_hat),
    'lsd, convention="kuleshov2017"': lsd(y, y_hat, convention="kuleshov2017"),
    'lsd, convention="tfnet2018"': lsd(y, y_hat, convention="tfnet2018"),
    "lsd_hf (default, high band only)": lsd_hf(y, y_hat, rate=rate),
    "lsd_lf (default, low band only)": lsd_lf(y, y_hat, rate=rate),
}
for name, value in scores.items():
    print(f"{name:42s} {value:7.3f}")

# %%
# The same scores side by side: one estimate, five numbers.

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 3.2))
names, values = list(scores)[::-1], list(scores.values())[::-1]
bars = ax.barh(names, values, color="#3182bd")
ax.bar_label(bars, fmt="%.2f", padding=3)
ax.set_xlabel("LSD of the same sinc estimate (each formula's own unit)")
ax.set_xlim(0, max(values) * 1.15)
ax.set_title("One result, three LSD conventions")
fig.tight_layout()
plt.show()

# %%
# Reading the numbers
# -------------------
# The estimate is the same in every row; only the formula changes.
#
# * The default takes log10 of the STFT power (floored at 1e-8), a root mean
#   square over frequency in each frame, then the mean over frames.
# * ``"kuleshov2017"`` uses the natural logarithm (about 2.3 times larger for
#   the same spectra) and averages over time first, then over frequency.
# * ``"tfnet2018"`` uses a single FFT of the whole clip instead of an STFT and
#   no power floor, so it measures something else again (TFNet's code applied it
#   to 8192-sample patches: pass patches as rows of a batch to do the same).
# * ``lsd_hf`` is large because sinc interpolation leaves the band above the
#   input's Nyquist frequency empty, and the power floor sets the distance there;
#   ``lsd_lf`` is small because the low band was given.
#
# Numbers from two papers can therefore be compared only when their
# conventions match; see the user guide page on metric conventions.
