"""Saving and loading trained models.

Two formats:

* **Weights files** (:func:`save_model`, any extension, ``.pt`` by convention): a
  PyTorch file holding only tensors, strings and numbers — the network's state dict
  and a JSON text with the estimator's class, parameters, fitted attributes and
  free-form metadata. :func:`load_model` reads it with ``torch.load(...,
  weights_only=True)``, which builds nothing but tensors and plain values and
  refuses any other object, so a weights file is **safe to load from anyone**.
* **joblib / pickle files** (``joblib.dump(model, path)``): the whole Python object.
  Unpickling runs code named by the file, so :func:`load_model` refuses them unless
  the caller passes ``allow_pickle=True`` (``--trust-pickle`` on the command line):
  do that only for files you made yourself. What comes out is then checked to be an
  audiosr model.

A PyTorch file that is not weights-only (``torch.save`` of arbitrary objects) is
refused whatever ``allow_pickle`` says: it is not an audiosr file.

:func:`load_model` also reads **ONNX files** written by :func:`audiosr.export_onnx`
(recognised by their first bytes or the ``.onnx`` extension): they hold no pickles,
and come back as an :class:`audiosr.OnnxUpsampler` run by onnxruntime, without torch.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
from pathlib import Path

from ._version import __version__
from .io import atomic_output

__all__ = ["save_model", "load_model", "FORMAT_VERSION", "WEIGHT_DTYPES"]

FORMAT = "audiosr-weights"
#: Version of the weights-file layout; files of a newer layout are refused.
FORMAT_VERSION = 1


def _estimator_classes():
    from .neural import AudioUNet, DualBranchSR, SpectralDNN

    return {cls.__name__: cls for cls in (DualBranchSR, AudioUNet, SpectralDNN)}


def _jsonable(value):
    """Plain JSON value or None when ``value`` has no faithful JSON form."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None
    return value


def model_config(model, metadata=None, *, what="this saves"):
    """What a model file says about a fitted neural model besides its weights (plain JSON values).

    Returns ``{"params": ..., "fitted": ..., "metadata": ...}``: the estimator's
    parameters, its JSON-able fitted attributes, and ``metadata``. ``what`` starts the
    error message for a model of another kind.
    """
    from sklearn.utils.validation import check_is_fitted

    classes = _estimator_classes()
    if type(model).__name__ not in classes:
        raise TypeError(f"{what} trained neural models ({', '.join(classes)}), got {type(model).__name__}.")
    check_is_fitted(model, "module_")
    if metadata is not None and (not isinstance(metadata, dict) or _jsonable(metadata) is None):
        raise TypeError("metadata must be a dict of JSON-serialisable values.")
    params = {k: _jsonable(v) for k, v in model.get_params(deep=False).items()}
    fitted = {
        k: v
        for k, v in vars(model).items()
        if k.endswith("_") and not k.startswith("__") and k not in ("module_", "metadata_") and _jsonable(v) is not None
    }
    return {"params": params, "fitted": fitted, "metadata": metadata or {}}


#: Storage types of the weights that :func:`save_model` accepts (``dtype``).
WEIGHT_DTYPES = ("float32", "float16")


def _check_dtype(dtype):
    if dtype is None:
        return "float32"
    if dtype not in WEIGHT_DTYPES:
        raise ValueError(
            f"dtype must be one of {list(WEIGHT_DTYPES)} (how the weights are stored in the file), got {dtype!r}."
        )
    return dtype


def save_model(model, path, *, metadata=None, dtype=None):
    """Save a fitted neural model as a weights file that is safe to load from anyone.

    Parameters
    ----------
    model : DualBranchSR, AudioUNet or SpectralDNN
        A fitted model.
    path : str or path-like
        Output file (``.pt`` by convention). Written atomically; an existing file is
        replaced.
    metadata : dict, optional
        JSON-serialisable facts kept with the model, e.g. ``{"input_sr": 16000,
        "trained_on": "...", "license": "..."}``. ``input_sr`` is checked by
        ``audiosr upsample --model``.
    dtype : {"float32", "float16"} or None, default=None
        How the floating-point weights are stored. ``"float16"`` halves the file
        (for shipping models); :func:`load_model` gives them back as float32, so the
        model computes as before on weights rounded to about 3 significant digits:
        check its scores after the round trip. ``None`` means ``"float32"``.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from audiosr import AudioUNet, load_model, save_model
    >>> y = np.random.default_rng(0).standard_normal((4, 256))
    >>> model = AudioUNet(rate=2, filters=(2,), kernel_sizes=(3,), patch_len=64, max_epochs=1).fit(y[:, ::2], y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.pt")
    >>> save_model(model, path, metadata={"input_sr": 8000})
    >>> np.allclose(load_model(path).transform(y[:, ::2]), model.transform(y[:, ::2]))
    True
    >>> save_model(model, path, dtype="float16")  # half the size; loads back as float32
    >>> next(load_model(path).module_.parameters()).dtype
    torch.float32
    """
    import torch

    dtype = _check_dtype(dtype)
    config = model_config(model, metadata, what="save_model saves")
    state = {k: v.detach().cpu() for k, v in model.module_.state_dict().items()}
    if dtype == "float16":
        # Only float32 tensors: integer buffers (counters, indices) must stay exact.
        state = {k: v.half() if v.dtype == torch.float32 else v for k, v in state.items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "audiosr_version": __version__,
        "estimator": type(model).__name__,
        "config": json.dumps(config),
        "weights_dtype": dtype,
        "state_dict": state,
    }
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)


def _as_tuples(value, default):
    """JSON turned tuples into lists; give them back the type of the parameter's default."""
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    return value


def _load_weights(path):
    import inspect

    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's own message advises re-running with weights_only=False, which would
        # run the file's code: never pass that on.
        found = re.search(r"GLOBAL (\S+)", str(exc))
        what = f" (it asks for {found.group(1)})" if found else ""
        raise ValueError(
            f"'{path}' is a PyTorch file but not an audiosr weights file: it holds pickled Python objects{what}, "
            "which would run code when loaded, so audiosr refuses it. Models to share are saved with "
            "audiosr.save_model."
        ) from None
    except Exception as exc:  # torch raises many types for foreign or damaged zip files
        raise ValueError(f"'{path}' is not an audiosr weights file ({type(exc).__name__}: {exc}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"'{path}' is a PyTorch file but not an audiosr weights file (no '{FORMAT}' marker).")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"'{path}' has weights-file format {version!r}, written by audiosr {payload.get('audiosr_version')}; "
            f"this audiosr ({__version__}) reads format {FORMAT_VERSION}. Upgrade audiosr to load it."
        )
    classes = _estimator_classes()
    name = payload.get("estimator")
    if name not in classes:
        raise ValueError(f"'{path}' holds an unknown estimator {name!r}; known: {sorted(classes)}.")
    cls = classes[name]
    config = json.loads(payload["config"])
    defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k != "self"}
    unknown = set(config["params"]) - set(defaults)
    if unknown:
        raise ValueError(
            f"'{path}' was saved with parameters {sorted(unknown)} that this audiosr's {name} does not have (another version?)."
        )
    saved = {**getattr(cls, "_legacy_params", {}), **config["params"]}
    params = {k: _as_tuples(v, defaults[k]) for k, v in saved.items()}
    model = cls(**params)
    for key, value in config["fitted"].items():
        setattr(model, key, value)
    model._module_kwargs_ = {k: tuple(v) if isinstance(v, list) else v for k, v in model._module_kwargs_.items()}
    module = model._make_module(**model._module_kwargs_)
    state = payload["state_dict"]
    if payload.get("weights_dtype", "float32") != "float32" and isinstance(state, dict):
        # Stored in half precision to save space; the network computes in its own float32.
        state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(
            f"the weights in '{path}' do not fit {name}'s network (saved by audiosr {payload.get('audiosr_version')}?): {exc}"
        ) from None
    module.eval()
    model.module_ = module
    model.metadata_ = config.get("metadata", {})
    return model


def _load_pickle(path):
    import joblib

    from .base import BaseUpsampler

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obj = joblib.load(path)
    except (ModuleNotFoundError, ImportError, AttributeError) as exc:
        raise ValueError(
            f"'{path}' was pickled with code this installation does not have (another audiosr version?): {exc}"
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"'{path}' is not a model file ({type(exc).__name__}: {exc}).") from None
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not isinstance(obj, BaseUpsampler):
        raise TypeError(f"'{path}' holds a {type(obj).__module__}.{type(obj).__name__}, not an audiosr model.")
    saved = getattr(obj, "_audiosr_version", None)
    if saved is not None and saved != __version__:
        warnings.warn(
            f"'{path}' was saved by audiosr {saved}; this is {__version__}. Re-save it with this version.",
            UserWarning,
            stacklevel=3,
        )
    return obj


# First bytes of what joblib.dump writes: a pickle of protocol >= 2, or one of the
# compressed containers it supports (zlib, gzip, bz2, xz, lzma, lz4).
_PICKLE_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b"\x04\x22\x4d\x18")


def load_model(path, *, allow_pickle=False):
    """Load a model saved by :func:`save_model` or :func:`audiosr.export_onnx`, or (only when allowed) by joblib.

    Parameters
    ----------
    path : str or path-like
        A weights file from :func:`save_model`, an ONNX file from :func:`audiosr.export_onnx`,
        or a joblib/pickle file of an audiosr estimator.
    allow_pickle : bool, default=False
        Whether joblib/pickle files may be loaded. Unpickling runs code from the file,
        so they are refused by default; pass True only for files you made yourself.
        Weights files never need it, and PyTorch files that are not weights-only are
        refused either way.

    Returns
    -------
    model : estimator
        Ready for ``transform`` (on CPU; ``device="auto"`` moves it to CUDA when used there).
        Models from weights files carry their metadata in ``metadata_``. An ONNX file
        gives an :class:`~audiosr.OnnxUpsampler`, with its metadata in
        ``metadata_`` too.

    Raises
    ------
    ValueError
        When the file is not a model file, or is a pickle and ``allow_pickle`` is False.
    ImportError
        For an ONNX file when onnxruntime is not installed (``pip install 'audiosr-learn[onnx]'``).
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no such model file: '{path}'")
    if path.is_dir():
        raise IsADirectoryError(f"'{path}' is a folder, not a model file.")
    with open(path, "rb") as fh:
        head = fh.read(8)
    # Weights files are zip archives; zipfile.is_zipfile would also accept a pickle
    # that merely ends with an embedded archive, so look at the first bytes.
    if head[:4] == b"PK\x03\x04":
        return _load_weights(path)
    from .export import is_onnx_file, load_onnx

    if is_onnx_file(head) or path.suffix.lower() == ".onnx":
        return load_onnx(path)
    if allow_pickle:
        return _load_pickle(path)
    if not head:
        raise ValueError(f"'{path}' is empty, not a model file.")
    if not head.startswith(_PICKLE_MAGIC):
        raise ValueError(f"'{path}' is not a model file: neither an audiosr weights file nor a pickle.")
    raise ValueError(
        f"'{path}' is a pickle (joblib) file, not an audiosr weights file. Unpickling runs code from the file, "
        "so audiosr refuses it: pass allow_pickle=True (on the command line, --trust-pickle) only for a file "
        "you made yourself, and share models as weights files (audiosr.save_model)."
    )
