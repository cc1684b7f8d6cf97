"""audiosr: audio super-resolution with one scikit-learn API.

Classical up-samplers (:class:`BicubicUpsampler`, :class:`SplineUpsampler`,
:class:`SincUpsampler`) and learned models share ``fit`` / ``transform`` / ``score``
(score = SNR in dB), so they compare with standard scikit-learn tooling.
Metrics live in :mod:`audiosr.metrics`, pair making in :mod:`audiosr.signal`, file
input/output in :mod:`audiosr.io`, datasets in :mod:`audiosr.datasets`, and the
measurement of a recording's real bandwidth in :mod:`audiosr.bandwidth`; :func:`plan`
(:mod:`audiosr.planning`) decides what happens to a file at any pair of rates, and
:class:`Stream` (:mod:`audiosr.streaming`) up-samples live audio chunk by chunk;
:func:`upsample_files` up-samples many files in parallel worker processes and
:func:`shard` splits a collection among machines (:mod:`audiosr.batch`).
:func:`export_onnx` writes a trained model to ONNX, which :class:`OnnxUpsampler` runs
with onnxruntime, without torch (:mod:`audiosr.export`); :mod:`audiosr.threads` holds
the thread policy of inference (:func:`set_inference_threads`).
"""

from . import (
    bandwidth,
    batch,
    crossover,
    datasets,
    evaluation,
    export,
    io,
    metrics,
    planning,
    postfilter,
    pretrained,
    signal,
    streaming,
    threads,
)
from ._version import __version__
from .bandwidth import Bandwidth, effective_bandwidth
from .base import BaseUpsampler
from .batch import shard, upsample_files
from .classical import BicubicUpsampler, SincUpsampler, SplineUpsampler
from .export import OnnxUpsampler, export_onnx
from .persistence import load_model, save_model
from .planning import plan
from .processing import upsample
from .signal import decimate, make_pairs
from .streaming import Stream
from .threads import inference_threads, set_inference_threads

__all__ = [
    "__version__",
    "BaseUpsampler",
    "BicubicUpsampler",
    "SplineUpsampler",
    "SincUpsampler",
    "upsample",
    "upsample_files",
    "shard",
    "Stream",
    "plan",
    "save_model",
    "load_model",
    "export_onnx",
    "OnnxUpsampler",
    "decimate",
    "make_pairs",
    "effective_bandwidth",
    "Bandwidth",
    "set_inference_threads",
    "inference_threads",
    "bandwidth",
    "batch",
    "crossover",
    "datasets",
    "evaluation",
    "export",
    "io",
    "metrics",
    "planning",
    "postfilter",
    "pretrained",
    "signal",
    "streaming",
    "threads",
    "DualBranchSR",
    "AudioUNet",
    "SpectralDNN",
]

# The neural estimators import torch (about a second); they are loaded on first use
# so that the classical methods, the metrics and the command line stay light.
_NEURAL = {"DualBranchSR", "AudioUNet", "SpectralDNN"}


def __getattr__(name):
    if name in _NEURAL:
        from . import neural

        return getattr(neural, name)
    raise AttributeError(f"module 'audiosr' has no attribute {name!r}")
