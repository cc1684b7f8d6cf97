"""ONNX export of the trained models, and an up-sampler that runs them without PyTorch.

:func:`export_onnx` writes the *network* of a fitted :class:`~audiosr.DualBranchSR`,
:class:`~audiosr.AudioUNet` or :class:`~audiosr.SpectralDNN` (the torch module on a
batch of patches or frames, with a dynamic batch axis) to an ONNX file, with what the
rest of the model needs in the file's metadata (``metadata_props``): the estimator's
class, parameters and fitted sizes, the inference pipeline, the audiosr version, and
free-form facts such as the sample rates and the licences of the training data.

:class:`OnnxUpsampler` runs such a file with onnxruntime. Everything around the network
(interpolation, overlap-add of patches or the STFT pipeline, the low-band crossover) is
the same NumPy code the PyTorch estimators run (:mod:`audiosr._inference`), so the two
agree to float32 rounding, and the ONNX model needs neither torch nor a GPU:
``pip install 'audiosr-learn[onnx]'`` brings onnx, onnxscript (for exporting) and
onnxruntime (for running). ONNX files hold no pickles: loading one runs no code from it.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from . import _inference
from .threads import check_threads
from ._version import __version__
from .base import BaseUpsampler
from .crossover import check_high_band_gain, check_keep_low_band
from .postfilter import check_high_band_smoothing
from ._validation import check_flag
from .io import atomic_output

__all__ = ["export_onnx", "OnnxUpsampler", "DEFAULT_OPSET", "FORMAT_VERSION", "is_onnx_file"]

FORMAT = "audiosr-onnx"
#: Version of the metadata layout that this audiosr reads; files of a newer layout are refused.
#: 3 added the output settings ``high_band_smoothing`` and ``remove_lines``: a file that uses them
#: is written as 3, so that an older audiosr refuses it instead of ignoring them; others as 2.
FORMAT_VERSION = 3
#: ONNX opset the networks are exported with (DFT, used by DualBranchSR, needs 17 or more).
DEFAULT_OPSET = 18
_METADATA_KEY = "audiosr"
_INSTALL = "pip install 'audiosr-learn[onnx]'"
# A check on export: the ONNX network and the torch module on the same random batch.
_CHECK_TOLERANCE = 1e-4


def _missing(what, exc):
    return ImportError(f"{what} needs the optional packages onnx, onnxscript and onnxruntime ({exc}): {_INSTALL}")


def _flat_facts(metadata):
    """Scalar facts of ``metadata`` as strings, for ONNX tools that show ``metadata_props``."""
    facts = {k: str(v) for k, v in metadata.items() if isinstance(v, (str, int, float, bool)) and k != _METADATA_KEY}
    trained_on = metadata.get("trained_on")
    licences = trained_on.get("licences") if isinstance(trained_on, dict) else None
    if isinstance(licences, list) and licences:
        facts["licences"] = "; ".join(str(x) for x in licences)
    return facts


def export_onnx(estimator, path, *, metadata=None, opset=DEFAULT_OPSET, check=True):
    """Export a fitted neural model to an ONNX file that :class:`OnnxUpsampler` runs without torch.

    Parameters
    ----------
    estimator : DualBranchSR, AudioUNet or SpectralDNN
        A fitted model (e.g. from :func:`audiosr.load_model` or :func:`audiosr.pretrained.load`).
    path : str or path-like
        Output file (``.onnx`` by convention). Written atomically; an existing file is
        replaced.
    metadata : dict, optional
        JSON-serialisable facts kept in the file, on top of the model's own
        ``metadata_`` (these win on a clash), e.g. ``{"input_sr": 16000, "name": "my-model",
        "licence": "CC-BY-4.0"}``. ``input_sr`` and ``output_sr`` are used by
        ``audiosr upsample --model``; scalar facts (and ``trained_on["licences"]``) are
        also written as plain ONNX metadata entries, which tools such as Netron show.
    opset : int, default=18
        ONNX opset version (17 or more: DualBranchSR's FFTs need the DFT operator).
    check : bool, default=True
        Run the exported network with onnxruntime on a random batch and compare it
        with the torch module (largest difference at most 1e-4 of the output's scale);
        skipped when onnxruntime is not installed.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ImportError
        When onnx or onnxscript (the exporter's dependencies) are missing.
    TypeError
        When ``estimator`` is not a fitted neural model or ``metadata`` not a JSON dict.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> import audiosr
    >>> y = np.random.default_rng(0).standard_normal((4, 256))
    >>> model = audiosr.AudioUNet(rate=2, filters=(2,), kernel_sizes=(3,), patch_len=64, max_epochs=1)
    >>> model = model.fit(y[:, ::2], y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    >>> _ = audiosr.export_onnx(model, path, metadata={"input_sr": 8000})  # doctest: +SKIP
    >>> onnx_model = audiosr.load_model(path)  # doctest: +SKIP
    >>> bool(np.abs(onnx_model.transform(y[:, ::2]) - model.transform(y[:, ::2])).max() < 1e-4)  # doctest: +SKIP
    True
    """
    from .persistence import model_config

    config = model_config(estimator, metadata, what="export_onnx exports")
    try:
        import onnx  # noqa: F401 - the exporter's output type
        import onnxscript  # noqa: F401 - torch's exporter needs it
    except ImportError as exc:
        raise _missing("export_onnx", exc) from None
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or opset < 17:
        raise ValueError(f"opset must be an integer >= 17 (the DFT operator), got {opset!r}.")
    rate = estimator._check_fitted_rate()
    pipeline = estimator._inference_config()
    own = getattr(estimator, "metadata_", None)
    facts = {**(own if isinstance(own, dict) else {}), **config["metadata"]}
    facts.setdefault("rate", rate)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION if _uses_format_3(estimator) else 2,
        "audiosr_version": __version__,
        "estimator": type(estimator).__name__,
        "rate": rate,
        "pipeline": pipeline,
        "keep_low_band": check_keep_low_band(estimator.keep_low_band) or False,
        "high_band_gain": check_high_band_gain(estimator.high_band_gain),
        "high_band_smoothing": check_high_band_smoothing(estimator.high_band_smoothing),
        # The U-Net's period is stored whether or not its lines are removed, so that the
        # exported model can turn the removal on (0: the model has no such period).
        "line_period": estimator._line_period(rate) if hasattr(estimator, "_line_period") else 0,
        "remove_lines": bool(getattr(estimator, "remove_lines", False)),
        "params": config["params"],
        "fitted": config["fitted"],
        "metadata": facts,
    }
    proto, module, example = _export_network(estimator, _inference.network_input_size(pipeline, rate), int(opset))
    del proto.metadata_props[:]
    for key, value in {_METADATA_KEY: json.dumps(payload), **_flat_facts(facts)}.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    described = facts.get("description") or facts.get("name") or ""
    proto.doc_string = f"audiosr {type(estimator).__name__} x{rate}" + (f": {described}" if described else "")
    data = proto.SerializeToString()
    if check:
        _check_export(data, module, example)
    path = Path(os.fspath(path))
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return path


def _export_network(estimator, n_in, opset):
    """The estimator's module as an ONNX ModelProto with a dynamic batch axis; also the CPU module and a test batch."""
    import copy

    import torch

    module = copy.deepcopy(estimator.module_).to("cpu").eval()
    if hasattr(module, "prepare_for_onnx"):
        module.prepare_for_onnx()  # a network that would lose precision in ONNX Runtime changes its ops
    # A batch of 2: torch.export specialises an axis whose example size is 1.
    example = torch.randn(2, n_in, generator=torch.Generator().manual_seed(0)) * 0.1
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the exporter logs that torchvision's operators are missing
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecation notes from torch.export's internals
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,
                input_names=["x"],
                output_names=["y"],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                opset_version=opset,
                external_data=False,
                optimize=True,
                verbose=False,
            )
    finally:
        quiet.setLevel(level)
    return program.model_proto, module, example


def _check_export(data, module, example):
    try:
        import onnxruntime
    except ImportError:
        return
    import torch

    batch = torch.cat([example, -example[:1]])  # another batch size than the example's
    with torch.inference_mode():
        expected = module(batch).numpy()
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: batch.numpy()})[0]
    scale = max(1.0, float(np.abs(expected).max()))
    error = float(np.abs(got - expected).max()) if got.shape == expected.shape else np.inf
    if not error <= _CHECK_TOLERANCE * scale:
        raise ValueError(
            f"the exported ONNX network differs from the torch module by {error:.3g} on a test batch "
            f"(allowed {_CHECK_TOLERANCE * scale:.3g}); this export cannot be trusted. Try another opset, "
            "and report it with your torch and onnxscript versions."
        )


# ----------------------------------------------------------------------------- running


def _optional_count(value, name):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}.")
    return value


def is_onnx_file(head):
    """Whether a file's first bytes look like an ONNX model (a protobuf starting with ``ir_version``)."""
    return len(head) >= 2 and head[0] == 0x08 and 0 < head[1] < 0x80


class OnnxUpsampler(BaseUpsampler):
    """An exported model (:func:`export_onnx`) run by onnxruntime, with the API of the torch estimators.

    ``transform`` takes clips of any length (at least one patch or STFT frame, as the
    exported model) and gives what the torch model gives, to float32 rounding: the
    network runs in onnxruntime and everything around it is the estimators' own NumPy
    code. No torch is imported. Obtained from :func:`audiosr.load_model` on an ``.onnx``
    file, or built directly from a path (the file is read on first use).

    It cannot be trained: ``fit`` raises. Train the torch estimator and export it.

    Parameters
    ----------
    path : str or path-like
        The ONNX file written by :func:`export_onnx`.
    keep_low_band : bool, float or None, default=None
        Low-band passthrough (:mod:`audiosr.crossover`), as for the torch estimators;
        ``None`` keeps the exported model's setting.
    high_band_gain : float or None, default=None
        Gain of the band above the input's Nyquist frequency
        (:func:`audiosr.crossover.high_band_gain`); ``None`` keeps the exported model's.
    high_band_smoothing : int or None, default=None
        Width in STFT bins of the high band's smoothing
        (:func:`audiosr.postfilter.smooth_high_band`); ``None`` keeps the exported model's.
    remove_lines : bool or None, default=None
        Subtract the U-Net's lines from the high band
        (:func:`audiosr.postfilter.remove_period_lines`); ``None`` keeps the exported
        model's. Only for models with a U-Net (DualBranchSR, AudioUNet).
    batch_size : int or None, default=None
        Patches or frames per network call; ``None`` keeps the exported model's.
    n_threads : int or None, default=None
        CPU threads of ``transform``, each running its own part of every batch with one
        onnxruntime intra-op thread (the policy of the torch estimators, see
        :class:`~audiosr.neural.NeuralUpsampler`); ``None``: the process setting
        (:func:`audiosr.set_inference_threads`), else every CPU the process may use.
    providers : list of str or None, default=None
        onnxruntime execution providers, e.g. ``["CUDAExecutionProvider",
        "CPUExecutionProvider"]`` with onnxruntime-gpu; ``None`` is the CPU.

    Attributes
    ----------
    rate_ : int
        The factor the network was trained for (``rate`` reads it).
    metadata_ : dict
        The facts stored at export: ``input_sr``, ``output_sr``, ``name``, licences, ...
    estimator_ : str
        Class of the exported model (``"DualBranchSR"``, ``"AudioUNet"``, ``"SpectralDNN"``).
    params_ : dict
        Its parameters at export.
    pipeline_ : dict
        The inference pipeline around the network and its sizes.
    audiosr_version_ : str
        The audiosr version that exported it.

    Examples
    --------
    >>> import audiosr
    >>> model = audiosr.load_model("speech-x4-16k.onnx")  # doctest: +SKIP
    >>> model.rate, model.metadata_["input_sr"]  # doctest: +SKIP
    (4, 4000)
    """

    def __init__(
        self,
        path,
        *,
        keep_low_band=None,
        high_band_gain=None,
        high_band_smoothing=None,
        remove_lines=None,
        batch_size=None,
        n_threads=None,
        providers=None,
    ):
        self.path = path
        self.keep_low_band = keep_low_band
        self.high_band_gain = high_band_gain
        self.high_band_smoothing = high_band_smoothing
        self.remove_lines = remove_lines
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.providers = providers

    @property
    def rate(self):
        """The up-sampling factor, from the file."""
        return self._loaded().rate_

    def fit(self, X=None, y=None):
        """Not available: an exported model is for inference only.

        Parameters
        ----------
        X, y : ignored

        Raises
        ------
        TypeError
            Always. Train the torch estimator (e.g. :class:`~audiosr.DualBranchSR`) and
            export it again with :func:`export_onnx`.
        """
        raise TypeError(
            "OnnxUpsampler cannot be trained: an ONNX file holds a network for inference only. Train the "
            f"torch estimator ({self._loaded().estimator_}) and export it again with audiosr.export_onnx."
        )

    # ------------------------------------------------------------------ loading

    def _loaded(self):
        if not hasattr(self, "session_"):
            self._load()
        return self

    def _session_options(self):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One compute thread per call: transform runs n_threads calls at once (audiosr.threads).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        return options, list(self.providers) if self.providers else ["CPUExecutionProvider"]

    def _load(self):
        path = Path(os.fspath(self.path))
        try:
            import onnxruntime
        except ImportError as exc:
            raise _missing(f"'{path}' is an ONNX model; running it", exc) from None
        if not path.is_file():
            raise FileNotFoundError(f"no such model file: '{path}'")
        # From bytes, not from the path: a model that points to external data files
        # (which could be anywhere) then fails instead of reading them.
        data = path.read_bytes()
        options, providers = self._session_options()
        try:
            session = onnxruntime.InferenceSession(data, options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own types for foreign or damaged files
            raise ValueError(f"'{path}' is not a valid ONNX model ({type(exc).__name__}: {exc}).") from None
        raw = session.get_modelmeta().custom_metadata_map.get(_METADATA_KEY)
        if raw is None:
            raise ValueError(
                f"'{path}' is an ONNX model but not one exported by audiosr (no '{_METADATA_KEY}' metadata); "
                "audiosr runs models written by audiosr.export_onnx (audiosr export)."
            )
        try:
            payload = json.loads(raw)
            if payload.get("format") != FORMAT:
                raise ValueError
            version = payload.get("format_version")
        except (ValueError, AttributeError):
            raise ValueError(f"'{path}' has damaged audiosr metadata; export the model again.") from None
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(
                f"'{path}' has audiosr ONNX format {version!r}, written by audiosr {payload.get('audiosr_version')}; "
                f"this audiosr ({__version__}) reads format {FORMAT_VERSION}. Upgrade audiosr to run it."
            )
        self.rate_ = int(payload["rate"])
        self.metadata_ = dict(payload.get("metadata", {}))
        self.estimator_ = payload["estimator"]
        self.params_ = payload.get("params", {})
        self.pipeline_ = dict(payload["pipeline"])
        self.audiosr_version_ = payload.get("audiosr_version")
        self._exported_keep_low_band = payload.get("keep_low_band", False)
        self._exported_high_band_gain = payload.get("high_band_gain", 1.0)
        self._exported_high_band_smoothing = payload.get("high_band_smoothing", 0)
        self._exported_line_period = int(payload.get("line_period", 0))
        self._exported_remove_lines = bool(payload.get("remove_lines", False))
        self._input_name = session.get_inputs()[0].name
        self._session_key = tuple(providers)
        self.session_ = session

    def _session(self):
        self._loaded()
        options, providers = self._session_options()
        if self._session_key != tuple(providers):
            import onnxruntime

            # The providers changed (set_params): a session is built with them.
            data = Path(os.fspath(self.path)).read_bytes()
            self.session_ = onnxruntime.InferenceSession(data, options, providers=providers)
            self._session_key = tuple(providers)
        return self.session_

    def __getstate__(self):
        # An onnxruntime session does not pickle; it is rebuilt from the file when used.
        state = dict(super().__getstate__())
        state.pop("session_", None)
        return state

    # ------------------------------------------------------------------ inference

    def _settings(self):
        self._loaded()
        keep = self._exported_keep_low_band if self.keep_low_band is None else self.keep_low_band
        gain = self._exported_high_band_gain if self.high_band_gain is None else self.high_band_gain
        smoothing = self._exported_high_band_smoothing if self.high_band_smoothing is None else self.high_band_smoothing
        remove = self._exported_remove_lines
        if self.remove_lines is not None:
            remove = check_flag(self.remove_lines, name="remove_lines")
        if remove and not self._exported_line_period:
            raise ValueError(
                f"remove_lines=True needs a model with a U-Net (DualBranchSR, AudioUNet); this file holds a "
                f"{self.estimator_}, which has no U-Net lines to remove. Leave remove_lines at None or False."
            )
        pipeline = dict(self.pipeline_)
        if _optional_count(self.batch_size, "batch_size") is not None:
            pipeline["batch_size"] = int(self.batch_size)
        lines = self._exported_line_period if remove else 0
        return pipeline, keep, {"high_gain": gain, "smoothing": smoothing, "line_period": lines}

    def _run_network(self, batch, session):
        return session.run(None, {self._input_name: batch})[0]

    def transform(self, X):
        """Up-sample clips with the exported network.

        Parameters
        ----------
        X : array-like of shape (n_clips, n_times)
            Low-rate clips, at least one patch or STFT frame long (as the exported model).

        Returns
        -------
        X_high : ndarray of shape (n_clips, n_times * rate)
            In the dtype of ``X`` (float64 for non-float input).
        """
        pipeline, keep, output = self._settings()
        n_threads = check_threads(self.n_threads)
        session = self._session()
        if self._session_key != ("CPUExecutionProvider",):
            n_threads = 1  # an accelerator parallelises each call itself
        return _inference.upsample_with_network(
            X, self.rate_, lambda batch: self._run_network(batch, session), pipeline, keep, n_threads, **output
        )

    def _stream_geometry(self, rate):
        pipeline, keep, output = self._settings()
        return _inference.stream_geometry(pipeline, rate, keep, **output)

    def _min_input_length(self, rate):
        """The fewest low-rate samples ``transform`` takes (used by :func:`audiosr.planning.plan`)."""
        pipeline, _, _ = self._settings()
        return _inference.min_input_length(pipeline, rate)


def _uses_format_3(estimator):
    smoothing = check_high_band_smoothing(estimator.high_band_smoothing)
    return smoothing > 1 or bool(getattr(estimator, "remove_lines", False))


def load_onnx(path):
    """An :class:`OnnxUpsampler` for ``path``, loaded now so that a bad file fails here (used by ``load_model``)."""
    return OnnxUpsampler(os.fspath(path))._loaded()
