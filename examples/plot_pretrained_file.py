"""
Up-sampling a file with a pretrained model
==========================================

audiosr ships DualBranchSR models trained on the project's data collection
(:mod:`audiosr.pretrained`). This example plays the part of a user with a
4 kHz recording: it writes a decimated copy of the shipped speech clip to a
WAV file, up-samples the file to 16 kHz with the pretrained ``speech-x4-16k``
model through :func:`audiosr.processing.upsample_file` (which streams the file
in blocks, so any length fits in memory), reads the result back, scores it
against the original and looks at the spectrograms. The same is one command
on the command line, shown at the end.

The shipped clip comes from the *test* split of the data collection, so the
model has not seen it in training.
"""

# %%
# The model and what it was trained on
# ------------------------------------
# :func:`audiosr.pretrained.info` gives each model's rates, training data and
# licences. The speech models were trained on data that include RAVDESS, whose
# licence (CC BY-NC-SA 4.0) is non-commercial: check ``non_commercial`` and the
# licences before you use a model's output commercially.

import os
import tempfile

import numpy as np

import audiosr
from audiosr import pretrained
from audiosr.metrics import lsd, lsd_hf, snr
from audiosr.plotting import plot_spectrograms
from audiosr.processing import upsample_file

print("shipped models:", pretrained.list())
meta = pretrained.info("speech-x4-16k")
print(f"{meta['description']}: {meta['input_sr']} Hz -> {meta['output_sr']} Hz, factor {meta['rate']}")
print("trained on:", meta["trained_on"]["files"], "files of", meta["trained_on"]["kinds"])
for licence in meta["trained_on"]["licences"]:
    print("  licence:", licence)
print("non-commercial:", meta["non_commercial"])

# %%
# A low-rate file to work on
# --------------------------
# The 48 kHz clip is resampled to the model's output rate, 16 kHz (the
# reference), and decimated by 4 with the order-8 Chebyshev filter the model
# was trained and tested with. The result is saved as a 16-bit WAV file at
# 4 kHz, the kind of file a user would have.

rate = meta["rate"]
reference, sr = audiosr.datasets.load_sample("speech", sr=meta["output_sr"])
reference = reference[: reference.size // rate * rate]
low = audiosr.decimate(reference, rate)

folder = tempfile.mkdtemp()
src = os.path.join(folder, "speech_4k.wav")
audiosr.io.save(src, low, sr // rate)
print(audiosr.io.info(src))

# %%
# Up-sample the file
# ------------------
# :func:`audiosr.processing.upsample_file` takes a method name or a fitted
# model. It keeps the input's sample format (16-bit PCM here) and writes
# through a temporary file and a rename. For comparison the same file is also
# up-sampled with sinc interpolation.

model = pretrained.load("speech-x4-16k")
outputs = {"sinc": os.path.join(folder, "speech_16k_sinc.wav"), "speech-x4-16k": os.path.join(folder, "speech_16k.wav")}
for name, dst in outputs.items():
    method = model if name == "speech-x4-16k" else "sinc"
    sr_out = upsample_file(src, dst, rate, method=method)
    print(f"{os.path.basename(dst)}: {sr_out} Hz")

# %%
# Read back and score
# -------------------
# Scores against the 16 kHz reference, in the default conventions of
# :mod:`audiosr.metrics` (SNR in dB; LSD and LSD-HF in bels, lower is better).
# One 4.5-second clip is a single data point; the figures over the whole test
# split are in :func:`audiosr.pretrained.info` (``meta["test"]``) and in the
# user guide page on pretrained models.

estimates = {}
for name, path in outputs.items():
    estimates[name], _ = audiosr.io.load(path)
    y_hat = estimates[name]
    print(
        f"{name:14s} SNR {snr(reference, y_hat):6.2f} dB   LSD {lsd(reference, y_hat):.3f}"
        f"   LSD-HF {lsd_hf(reference, y_hat, rate=rate):.3f}"
    )
print("test split (62 files):", meta["test"]["scores"]["DualBranchSR"])

# %%
# Spectrograms
# ------------
# The input has nothing above its Nyquist frequency, 2 kHz, and sinc
# interpolation keeps it that way. The model puts energy above 2 kHz that
# follows the time structure of the low band (voiced frames, onsets), weaker
# and less detailed than the reference's at the bottom: nine minutes of CPU
# training buy a clear gain in LSD, not a perfect high band.

fig = plot_spectrograms({**estimates, "reference": reference}, sr, title="speech, 4 kHz -> 16 kHz", n_fft=512)

# %%
# The same on the command line
# ----------------------------
# ``audiosr upsample`` does the same, file by file or over whole folders:
#
# .. code-block:: sh
#
#    audiosr upsample speech_4k.wav -o speech_16k.wav --model speech-x4-16k
#    audiosr upsample speech_4k.wav -o speech_16k.wav --sr 16000   # picks the matching pretrained model
#    audiosr evaluate reference_16k.wav speech_16k.wav --rate 4    # SNR, LSD, LSD-HF
#
# With ``--sr`` (or ``--rate``) and neither ``--model`` nor ``--method``, the
# command uses the pretrained model that matches the file's rate and the target
# (:func:`audiosr.pretrained.find`) and falls back to sinc interpolation when
# none ships. Here it is run through :func:`audiosr.cli.main`, the function
# behind the command, and its file is identical to the one written above:

from audiosr.cli import main  # noqa: E402

print("pretrained.find(4000, 16000) ->", pretrained.find(4000, 16000))
cli_out = os.path.join(folder, "speech_16k_cli.wav")
status = main(["upsample", src, "-o", cli_out, "--sr", "16000"])
same = np.array_equal(audiosr.io.load(cli_out)[0], estimates["speech-x4-16k"])
print(f"exit status {status}; same samples as upsample_file: {same}")
