"""
Live streaming with a fixed latency
===================================

:class:`audiosr.Stream` up-samples audio as it arrives: a microphone, a network
stream, an audio callback. Each :meth:`~audiosr.Stream.push` takes the next chunk
(any size) and returns the output that is final so far; the output lags the
input by a fixed number of samples, :attr:`~audiosr.Stream.latency`, and put end
to end it is the output of :func:`audiosr.upsample` on the whole signal.

This example plays a 4 kHz speech recording into the shipped ``speech-x4-16k``
model in 20-ms chunks, as an audio device would deliver it, checks the result
against the offline one, and looks at what each push costs against the 20 ms a
chunk lasts.
"""

# %%
# A 4 kHz recording
# -----------------
# The shipped speech clip (from the test split of the data collection) is
# brought to 16 kHz, the model's output rate, and decimated by 4 with the filter
# the model was trained with: the kind of audio it expects.

import time

import matplotlib.pyplot as plt
import numpy as np

import audiosr

meta = audiosr.pretrained.info("speech-x4-16k")
reference, sr_out = audiosr.datasets.load_sample("speech", sr=meta["output_sr"])
rate = meta["rate"]
x = audiosr.decimate(reference[: reference.size // rate * rate], rate)
sr = meta["input_sr"]
print(f"{x.size / sr:.2f} s at {sr} Hz")

# %%
# The stream and its latency
# --------------------------
# The model works on a grid of 256 input samples and needs 768 samples of
# context on each side of a block (the reach of its patches). With the default
# block of about 50 ms (rounded up to the grid: 64 ms), the output comes out
# ``block + context - 1`` input samples behind the input.

stream = audiosr.Stream("speech-x4-16k", sr=sr, target_sr=sr_out)
print(stream)
print(f"block {stream.block} samples, context {stream.context} samples, latency {stream.latency} samples")
print(f"chain: {stream.chain.describe()}")

# %%
# Push 20-ms chunks
# -----------------
# The first push loads torch's kernels, so a warm-up push on silence comes
# first (then :meth:`~audiosr.Stream.reset`). Each push is timed. After
# ``n`` input samples, the pushes have returned exactly
# ``max(0, (n - latency) * 4)`` output samples: checked at every push.

stream.push(np.zeros(4096))
stream.reset()

chunk = sr // 50  # 20 ms
parts, seconds, returned = [], [], []
for start in range(0, x.size, chunk):
    t0 = time.perf_counter()
    parts.append(stream.push(x[start : start + chunk]))
    seconds.append(time.perf_counter() - t0)
    returned.append(stream.n_out)
    assert stream.n_out == max(0, (stream.n_in - stream.latency) * rate)
t0 = time.perf_counter()
parts.append(stream.flush())
seconds.append(time.perf_counter() - t0)
streamed = np.concatenate(parts)

# %%
# The same as offline
# -------------------
# The streamed output is the offline output of the whole recording, to float
# rounding, however the input was cut.

offline = audiosr.upsample(x, sr=sr, target_sr=sr_out, method=stream.model)
difference = np.max(np.abs(streamed - offline))
print(f"streamed {streamed.shape}, offline {offline.shape}, largest difference {difference:.1g}")
assert streamed.shape == offline.shape and np.allclose(streamed, offline, atol=1e-6)

# %%
# Real-time factor
# ----------------
# Most pushes only buffer the chunk; the push that completes a block runs it
# through the model with 768 samples of context on both sides, so it takes the
# whole block's compute time. The stream keeps up with live audio when the
# real-time factor (compute time per second of audio) is below 1; a live
# application that cannot wait for the longest push in its audio callback runs
# the stream in a worker thread, with that much more buffering. Timings depend
# on the machine that built this page.

total = sum(seconds)
print(f"real-time factor {total / (x.size / sr):.2f} ({total:.2f} s of compute for {x.size / sr:.2f} s of audio)")
print(f"median push {1000 * np.median(seconds):.2f} ms, longest {1000 * max(seconds):.1f} ms")
print(f"latency {stream.latency} samples = {1000 * stream.latency_seconds:.1f} ms")

# %%
# What each push costs, and how far the output lags
# -------------------------------------------------
# Top: the compute time of every push against the 20 ms a chunk lasts. Bottom:
# how far the output returned lags the input pushed. Until the first
# ``latency`` samples are in, nothing comes out; from then on the lag stays at
# the latency (within one output sample), whatever the block being computed.

pushed = np.minimum(np.arange(1, len(returned) + 1) * chunk, x.size) / sr
lag_ms = 1000 * (pushed - np.array(returned) / sr_out)
fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True, constrained_layout=True)
top.bar(pushed, 1000 * np.array(seconds[:-1]), width=chunk / sr, color="tab:blue", label="push")
top.axhline(1000 * chunk / sr, color="tab:red", linestyle="--", label="20 ms chunk")
top.set(ylabel="compute time (ms)", title="speech-x4-16k, 20-ms chunks")
top.legend(loc="upper right")
bottom.plot(pushed, lag_ms, marker=".", label="input pushed - output returned")
latency_ms = 1000 * stream.latency_seconds
bottom.axhline(latency_ms, color="0.5", linestyle=":", label=f"latency {latency_ms:.1f} ms")
bottom.set(xlabel="input pushed (s)", ylabel="output lag (ms)", ylim=(0, 1.3 * latency_ms))
bottom.legend(loc="lower right")
plt.show()
