"""Tests for audiosr.Stream: live up-sampling with a fixed latency and the offline result."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audiosr
from audiosr import streaming

RATES = {
    "x4": {"sr": 16000, "rate": 4},
    "16000->44100": {"sr": 16000, "target_sr": 44100},
    "22050->48000": {"sr": 22050, "target_sr": 48000},
    "44100->48000 via 16000": {"sr": 44100, "target_sr": 48000, "method_sr": 16000},
}


def _signal(n, channels=None, seed=0):
    rng = np.random.default_rng(seed)
    return 0.1 * rng.standard_normal(n if channels is None else (channels, n))


def _released(stream):
    """Output samples the stated latency implies after ``stream.n_in`` input samples."""
    ratio = stream.chain.ratio
    return max(0, (stream.n_in - stream.latency) * ratio.numerator // ratio.denominator)


def _run(stream, x, sizes):
    """Push ``x`` in chunks of the given sizes (cycled), checking the latency after each push; then flush."""
    parts, start, i, returned = [], 0, 0, 0
    while start < x.shape[-1]:
        size = sizes[i % len(sizes)]
        parts.append(stream.push(x[..., start : start + size]))
        start, i, returned = start + size, i + 1, returned + parts[-1].shape[-1]
        assert stream.n_in == min(start, x.shape[-1])
        assert stream.n_out == _released(stream) == returned
        assert parts[-1].shape[:-1] == x.shape[:-1]
    parts.append(stream.flush())
    return np.concatenate(parts, axis=-1)


@pytest.fixture(scope="module")
def tiny_model():
    model = audiosr.AudioUNet(rate=2, filters=(2,), kernel_sizes=(3,), patch_len=64, max_epochs=1, random_state=0)
    y_train = np.random.default_rng(0).standard_normal((4, 256))
    return model.fit(y_train[:, ::2], y_train)


@pytest.mark.parametrize("size", [1, 7, 160, 4410])
@pytest.mark.parametrize("rates", list(RATES.values()), ids=list(RATES))
def test_sinc_stream_equals_offline(rates, size):
    x = _signal(9000)
    stream = audiosr.Stream("sinc", **rates)
    y = _run(stream, x, [size])
    offline = audiosr.upsample(x, method="sinc", **rates)
    assert y.shape == offline.shape and y.dtype == offline.dtype
    np.testing.assert_allclose(y, offline, rtol=0, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 3000), min_size=1, max_size=12),
    st.integers(16, 12000),
    st.sampled_from(list(RATES)),
    st.sampled_from([0.001, 0.02, 0.1]),
)
def test_any_chunk_sizes_give_the_offline_result(sizes, n, rates, block_seconds):
    if not any(sizes):
        sizes = [*sizes, 1]
    x = _signal(n, seed=n)
    stream = audiosr.Stream("spline", block_seconds=block_seconds, **RATES[rates])
    y = _run(stream, x, sizes)
    # The same arithmetic in another grouping: unit-scale samples may differ by a few 1e-12.
    np.testing.assert_allclose(y, audiosr.upsample(x, method="spline", **RATES[rates]), rtol=0, atol=1e-10)


@pytest.mark.parametrize("size", [1, 7, 160, 4410])
@pytest.mark.parametrize(
    "rates", [{"sr": 8000}, {"sr": 22050, "target_sr": 48000, "method_sr": 16000}], ids=["x2", "22050->48000 via 16000"]
)
def test_model_stream_equals_offline(tiny_model, rates, size):
    x = _signal(6000 if size > 1 else 2500, seed=size)
    stream = audiosr.Stream(tiny_model, **rates)
    y = _run(stream, x, [size])
    np.testing.assert_allclose(y, audiosr.upsample(x, method=tiny_model, **rates), rtol=0, atol=1e-6)


def test_multichannel(tiny_model):
    x = _signal(5000, channels=3)
    for model in ("sinc", tiny_model):
        stream = audiosr.Stream(model, sr=16000, target_sr=44100, method_sr=None if model == "sinc" else 11025)
        y = _run(stream, x, [441, 1, 100])
        offline = audiosr.upsample(x, sr=16000, target_sr=44100, method=model, method_sr=stream.method_sr)
        assert y.shape == offline.shape and y.shape[0] == 3
        np.testing.assert_allclose(y, offline, rtol=0, atol=1e-6)


def test_latency_is_block_plus_context_and_output_keeps_pace():
    stream = audiosr.Stream("sinc", sr=16000, target_sr=48000, block_seconds=0.01)
    assert stream.context == 64 and stream.block == 160
    assert stream.latency == 160 + 64 - 1 and stream.latency_seconds == pytest.approx(223 / 16000)
    # Once the latency is filled, every chunk brings back its own length at the output rate.
    out = [stream.push(np.zeros(160)).size for _ in range(10)]
    assert out[:1] == [0] and set(out[2:]) == {480}
    assert "latency=223 samples" in repr(stream)


def test_output_is_delayed_by_the_latency():
    # An impulse comes out once latency samples have followed it, not before.
    stream = audiosr.Stream("sinc", sr=16000, rate=2, block_seconds=0.005)
    impulse = np.zeros(2000)
    impulse[500] = 1.0
    out = [stream.push(impulse[i : i + 1]) for i in range(impulse.size)]
    peak_push = next(i for i, y in enumerate(out) if y.size and np.max(np.abs(y)) > 0.9)
    assert peak_push == 500 + stream.latency


def test_long_pushes_are_processed_in_bounded_pieces(monkeypatch):
    calls = []
    monkeypatch.setattr(streaming, "_MAX_SECONDS", 0.05)
    stream = audiosr.Stream("sinc", sr=16000, target_sr=44100, block_seconds=0.01)
    original = stream.chain.transform
    monkeypatch.setattr(stream.chain, "transform", lambda x: calls.append(x.shape[-1]) or original(x))
    x = _signal(16000)
    y = np.concatenate([stream.push(x), stream.flush()])
    np.testing.assert_allclose(y, audiosr.upsample(x, sr=16000, target_sr=44100), rtol=0, atol=1e-12)
    assert len(calls) > 10 and max(calls) <= 800 + 2 * stream.context


def test_input_shorter_than_the_latency_comes_out_at_flush():
    x = _signal(300)
    stream = audiosr.Stream("sinc", sr=16000, target_sr=44100)
    assert stream.push(x).size == 0
    np.testing.assert_allclose(stream.flush(), audiosr.upsample(x, sr=16000, target_sr=44100), rtol=0, atol=1e-12)


def test_flush_ends_the_stream_and_reset_starts_again():
    x = _signal(3000)
    stream = audiosr.Stream("sinc", sr=16000, rate=3)
    first = np.concatenate([stream.push(x), stream.flush()])
    assert stream.flush().shape == (0,) and stream.n_out == 9000
    with pytest.raises(RuntimeError, match="flushed.*reset"):
        stream.push(x)
    stream.reset()
    np.testing.assert_array_equal(np.concatenate([stream.push(x), stream.flush()]), first)


def test_empty_streams_and_chunks():
    assert audiosr.Stream("sinc", sr=16000, rate=2).flush().shape == (0,)
    stream = audiosr.Stream("sinc", sr=16000, rate=2)
    assert stream.push(np.zeros((2, 0))).shape == (2, 0)
    assert stream.flush().shape == (2, 0)


def test_dtype_follows_the_first_chunk():
    x = _signal(4000).astype(np.float32)
    stream = audiosr.Stream("sinc", sr=16000, rate=2)
    y = np.concatenate([stream.push(x[:1000]), stream.push(x[1000:].astype(np.float64)), stream.flush()])
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, audiosr.upsample(x, 2), atol=1e-6)
    pcm = audiosr.Stream("sinc", sr=16000, rate=2)
    y = np.concatenate([pcm.push(np.full(3000, 16384, dtype=np.int16)), pcm.flush()])
    np.testing.assert_allclose(y, audiosr.upsample(np.full(3000, 0.5), 2), rtol=0, atol=1e-12)


def test_a_shipped_model_by_name():
    stream = audiosr.Stream("speech-x4-16k", sr=4000, target_sr=16000)
    # The block grid and context are the model's (its patches, crossover and high-band gain).
    granularity, context = stream.model._stream_geometry(4)
    assert stream.sr_out == 16000 and stream.block % granularity == 0 and stream.context >= context
    assert stream.latency == stream.block + stream.context - 1 and "speech-x4-16k" in repr(stream)
    x = audiosr.decimate(audiosr.datasets.load_sample("speech", sr=16000)[0][:16000], 4)
    y = _run(stream, x, [80])
    np.testing.assert_allclose(y, audiosr.upsample(x, sr=4000, target_sr=16000, method=stream.model), atol=1e-6)


@pytest.mark.parametrize(
    ("chunk", "error", "message"),
    [
        (np.array([0.0, np.nan]), ValueError, "NaN"),
        (np.zeros((1, 2, 3)), ValueError, "1-D or 2-D"),
        (np.zeros((2, 10)), ValueError, "this stream is mono"),
        ("abc", TypeError, "array of audio samples"),
    ],
)
def test_bad_chunks(chunk, error, message):
    stream = audiosr.Stream("sinc", sr=16000, rate=2)
    stream.push(np.zeros(100))
    with pytest.raises(error, match=message):
        stream.push(chunk)
    # A refused chunk leaves the stream as it was.
    assert stream.n_in == 100
    stream.push(np.zeros(10))


@pytest.mark.parametrize("chunk", [np.zeros((3, 10)), np.zeros(10), np.zeros((2, 10, 1))])
def test_channel_count_is_fixed_by_the_first_chunk(chunk):
    stream = audiosr.Stream("sinc", sr=16000, rate=2)
    stream.push(np.zeros((2, 100)))
    with pytest.raises(ValueError, match=r"2 channel\(s\), fixed by its first chunk|1-D or 2-D"):
        stream.push(chunk)


def test_time_first_chunk_is_refused():
    with pytest.raises(ValueError, match=r"\(time, channels\).*\.T"):
        audiosr.Stream("sinc", sr=16000, rate=2).push(np.zeros((480, 2)))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"model": "sinq", "sr": 16000, "rate": 2}, ValueError, "unknown model 'sinq'.*speech-x4-16k"),
        ({"model": object(), "sr": 16000, "rate": 2}, TypeError, "transform method"),
        ({"sr": 16000, "target_sr": 8000}, ValueError, "only up-samples"),
        ({"sr": 16000}, ValueError, "rate is required"),
        ({"sr": 0, "rate": 2}, ValueError, "sr must be a positive integer"),
        ({"sr": 16000, "rate": 2, "block_seconds": 0}, ValueError, "block_seconds must be a positive"),
        ({"sr": 16000, "rate": 2, "block_seconds": "1"}, TypeError, "block_seconds"),
    ],
)
def test_constructor_checks_its_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        audiosr.Stream(**kwargs)


def test_streaming_stays_free_of_torch():
    code = (
        "import sys, numpy as np, audiosr; s = audiosr.Stream('sinc', sr=16000, target_sr=44100); "
        "s.push(np.zeros(5000)); s.flush(); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
