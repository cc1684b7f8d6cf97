"""Pretrained models shipped with audiosr.

Each model is a weights-only file (safe to load, see :mod:`audiosr.persistence`) with
its metadata in ``index.json`` beside it: the up-sampling factor, the input and
output sample rates, what it was trained on and under which licences, its figures
on the test split, and the command that trained it (``scripts/train_pretrained.py``).

Examples
--------
>>> from audiosr import pretrained
>>> "speech-x4-16k" in pretrained.list()  # doctest: +SKIP
True
>>> model = pretrained.load("speech-x4-16k")  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import copy
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = ["list", "info", "load", "find", "path"]


def _folder():
    return Path(str(resources.files("audiosr") / "pretrained"))


@lru_cache(maxsize=1)
def _index():
    # Package data does not change while running: read it once (the CLI asks per file).
    index = _folder() / "index.json"
    if not index.is_file():
        return {}
    return {name: meta for name, meta in json.loads(index.read_text()).items() if (_folder() / f"{name}.pt").is_file()}


def list():  # noqa: A001 - the registry's natural verb, as torch.hub.list
    """Names of the shipped pretrained models, sorted.

    Returns
    -------
    names : list of str
    """
    return sorted(_index())


def info(name):
    """Metadata of a pretrained model (rates, training data, licences, test figures).

    Parameters
    ----------
    name : str
        One of :func:`list`.

    Returns
    -------
    metadata : dict
    """
    index = _index()
    if name not in index:
        raise ValueError(f"unknown pretrained model {name!r}; available: {builtins.list(sorted(index)) or 'none'}.")
    return copy.deepcopy(index[name])  # the cached index stays untouched by callers


def path(name):
    """File of a pretrained model."""
    info(name)
    return _folder() / f"{name}.pt"


def load(name):
    """Load a pretrained model by name.

    Parameters
    ----------
    name : str
        One of :func:`list`.

    Returns
    -------
    model : DualBranchSR
        Fitted, with its metadata in ``metadata_``.
    """
    from ..persistence import load_model

    return load_model(path(name), allow_pickle=False)


def find(input_sr, output_sr=None, *, rate=None):
    """Name of the pretrained model for this input rate and target, or None.

    Parameters
    ----------
    input_sr : int
        Sample rate of the low-rate audio.
    output_sr : int, optional
        Wanted output rate.
    rate : int, optional
        Wanted factor (instead of ``output_sr``).

    Returns
    -------
    name : str or None
    """
    for name, meta in sorted(_index().items()):
        if meta.get("input_sr") != input_sr:
            continue
        if output_sr is not None and meta.get("output_sr") != output_sr:
            continue
        if rate is not None and meta.get("rate") != rate:
            continue
        return name
    return None
