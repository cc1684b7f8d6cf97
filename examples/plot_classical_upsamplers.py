"""
Classical up-samplers on speech
===============================

Decimate the shipped 48 kHz speech clip by 4 (to 12 kHz), bring it back to
48 kHz with the three classical up-samplers, score each result and look at
the spectrograms. None of them can recreate the band above 6 kHz: that is the
job of the learned models.
"""

# %%
# Load the reference and make the low-rate input
# ----------------------------------------------
# :func:`audiosr.decimate` uses an order-8 Chebyshev low-pass with zero phase by
# default, the protocol of the TFNet and AudioUNet papers.

import audiosr
from audiosr.metrics import lsd, lsd_hf, snr
from audiosr.plotting import plot_spectrograms

rate = 4
y, sr = audiosr.datasets.load_sample("speech")
x = audiosr.decimate(y, rate)
print(f"reference: {y.size} samples at {sr} Hz; input: {x.size} samples at {sr // rate} Hz")

# %%
# Up-sample with each method and score
# ------------------------------------
# The estimators follow scikit-learn's API; :func:`audiosr.upsample` applies one
# to a whole signal of any length.

estimates = {}
for name in ("bicubic", "spline", "sinc"):
    y_hat = audiosr.upsample(x, rate, method=name)
    estimates[name] = y_hat
    print(f"{name:8s} SNR {snr(y, y_hat):6.2f} dB   LSD {lsd(y, y_hat):.3f}   LSD-HF {lsd_hf(y, y_hat, rate=rate):.3f}")

# %%
# Spectrograms
# ------------
# The reference has energy up to 24 kHz. Sinc interpolation stops sharply at the
# input's Nyquist frequency, 6 kHz; bicubic and spline interpolation leave faint
# images of the low band above it, which are not the missing content either.

fig = plot_spectrograms({"reference": y, **estimates}, sr, title="Speech, 12 kHz -> 48 kHz")
