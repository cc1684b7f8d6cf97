"""Pretrained models shipped with audiosr.

Each model is a weights-only file (safe to load, see :mod:`audiosr.persistence`) with
its metadata in ``index.json`` beside it: the up-sampling factor, the input and
output sample rates, what it was trained on and under which licences, its figures
on the validation and test splits for every input maker (the tools that make
low-rate files), the ship rule's verdict, and the command that trained it
(``scripts/train_pretrained.py``). :func:`card` shows it all as text.

The index may also list models that failed the ship rule, with the reason; they have
no weights file and are not offered by :func:`list`, :func:`find` or the command line.

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
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = ["list", "info", "card", "load", "find", "path"]


def _folder():
    return Path(str(resources.files("audiosr") / "pretrained"))


def _missing_index(index):
    message = (
        f"audiosr's pretrained index is missing at {index}: is `audiosr` imported from the wrong folder "
        "(a clone's parent folder)? Work inside the clone or install the package."
    )
    package = sys.modules.get("audiosr")
    if package is not None and getattr(package, "__file__", None) is None:
        # A folder named audiosr without __init__.py (a clone) shadows the package.
        places = ", ".join(str(p) for p in getattr(package, "__path__", []))
        message += f" Here `audiosr` is the folder {places}, imported as a namespace package."
    return FileNotFoundError(message)


def _read_index(folder=None):
    """Every entry of ``index.json`` in ``folder`` (the package's by default), shipped or not."""
    folder = _folder() if folder is None else Path(folder)
    index = folder / "index.json"
    if not index.is_file():
        # Never an empty list: that reads as "no models ship" and silently drops them.
        raise _missing_index(index)
    return {name: {"name": name, **meta} for name, meta in json.loads(index.read_text()).items()}


@lru_cache(maxsize=1)
def _index():
    # Package data does not change while running: read it once (the CLI asks per file).
    folder = _folder()
    return {
        name: meta
        for name, meta in _read_index(folder).items()
        if meta.get("shipped", True) and (folder / f"{name}.pt").is_file()
    }


def list():  # noqa: A001 - the registry's natural verb, as torch.hub.list
    """Names of the shipped pretrained models, sorted.

    Returns
    -------
    names : list of str
        Empty when the index lists no model.

    Raises
    ------
    FileNotFoundError
        When the package's index of models is missing (e.g. ``audiosr`` was imported
        from the parent folder of a clone instead of the package); :func:`info` and
        :func:`find` raise it too.
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


def card(name):
    """A model's card as Markdown text: rates, data and licences, training, figures, verdict.

    Parameters
    ----------
    name : str
        One of :func:`list`.

    Returns
    -------
    text : str
        The card: the training data's licences (with a non-commercial warning where
        they require it), the budget, epochs and command, and the figures of the model
        and of sinc on the test and validation splits for every input maker.

    Examples
    --------
    >>> from audiosr import pretrained
    >>> print(pretrained.card("speech-x4-16k"))  # doctest: +SKIP
    # speech-x4-16k: speech, 4 kHz -> 16 kHz
    ...
    """
    from ._cards import card_markdown

    return card_markdown(info(name))


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
