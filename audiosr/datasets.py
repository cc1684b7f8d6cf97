"""Audio collections: the shipped sample clips and MANIFEST.csv-described datasets.

A dataset folder holds audio files and a ``MANIFEST.csv`` with one row per file and
at least the columns ``path`` (relative to the folder), ``sample_rate``, ``kind``
and ``split``; ``speaker_or_piece``, ``license`` and ``duration_s`` are used when
present. The folder is given by the caller or by the environment variable
``AUDIOSR_DATA``; nothing in the library assumes where it lives.
"""

from __future__ import annotations

import csv
import os
from importlib import resources
from pathlib import Path

from sklearn.utils import Bunch

from .io import load

__all__ = ["load_manifest", "read_manifest", "data_root", "sample_path", "load_sample", "SAMPLES"]

#: Sample clips shipped inside the package: name -> (file name, description).
SAMPLES = {
    "speech": ("speech_p257_48k.flac", "4.5 s of read speech (VCTK/VoiceBank p257, CC BY 4.0), 48 kHz"),
    "piano": (
        "piano_sonata30_44k.flac",
        "5 s of Beethoven's sonata no. 30 on a sampled piano (non-commercial), 44.1 kHz",
    ),
}

_REQUIRED_COLUMNS = ("path", "sample_rate", "kind", "split")


def sample_path(name):
    """Path of a sample clip shipped with the package.

    Parameters
    ----------
    name : {"speech", "piano"}
        Which clip; see ``audiosr/data/README.md`` for sources and licences.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> from audiosr.datasets import sample_path
    >>> sample_path("speech").name
    'speech_p257_48k.flac'
    """
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r}; available: {sorted(SAMPLES)}.")
    return Path(str(resources.files("audiosr") / "data" / SAMPLES[name][0]))


def load_sample(name, sr=None):
    """Load a shipped sample clip as float32 mono; see :func:`sample_path`.

    Returns
    -------
    y : ndarray of shape (n_times,)
    sr : int
    """
    return load(sample_path(name), sr=sr)


def data_root(root=None):
    """Resolve a dataset folder: ``root`` if given, else ``$AUDIOSR_DATA``.

    Returns
    -------
    root : pathlib.Path
        A folder that contains ``MANIFEST.csv``.
    """
    if root is None:
        root = os.environ.get("AUDIOSR_DATA")
        if not root:
            raise ValueError(
                "no dataset folder given: pass root=... or set the AUDIOSR_DATA environment variable to the folder holding MANIFEST.csv."
            )
    root = Path(os.fspath(root)).expanduser()
    if not (root / "MANIFEST.csv").is_file():
        raise FileNotFoundError(f"'{root}' has no MANIFEST.csv; root must be the dataset folder that holds it.")
    return root


def _as_set(value, name):
    if value is None:
        return None
    if isinstance(value, str):
        return {value}
    try:
        values = set(value)
    except TypeError:
        raise TypeError(f"{name} must be a string, an iterable of strings or None, got {value!r}.") from None
    if not values or not all(isinstance(v, str) for v in values):
        raise TypeError(f"{name} must be a string or a non-empty iterable of strings, got {value!r}.")
    return values


def read_manifest(root=None):
    """Read every row of a dataset's MANIFEST.csv, with numeric columns converted.

    Returns
    -------
    rows : list of dict
        ``sample_rate`` as int, ``duration_s`` and other numeric columns as float.
    """
    root = data_root(root)
    with open(root / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{root / 'MANIFEST.csv'} lacks the column(s) {missing}; required: {list(_REQUIRED_COLUMNS)}."
            )
        rows = []
        for i, row in enumerate(reader, start=2):
            try:
                row["sample_rate"] = int(row["sample_rate"])
            except ValueError:
                raise ValueError(
                    f"{root / 'MANIFEST.csv'} line {i}: sample_rate {row['sample_rate']!r} is not an integer."
                ) from None
            for key in ("duration_s", "effective_bw_hz", "frac_above_8k", "frac_above_12k", "frac_above_16k"):
                if row.get(key) not in (None, ""):
                    try:
                        row[key] = float(row[key])
                    except ValueError:
                        pass
            rows.append(row)
    return rows


def load_manifest(root=None, *, kind=None, split=None, speaker=None, sr=None, min_sr=None, load_audio=True):
    """Select and load the files of a MANIFEST.csv dataset.

    Parameters
    ----------
    root : str, path-like or None, default=None
        Dataset folder holding ``MANIFEST.csv``; ``None`` reads ``$AUDIOSR_DATA``.
    kind : str or iterable of str, optional
        Keep rows of these kinds (e.g. ``"speech"``, ``"piano"``).
    split : str or iterable of str, optional
        Keep rows of these splits (``"train"``, ``"valid"``, ``"test"``).
    speaker : str or iterable of str, optional
        Keep rows whose ``speaker_or_piece`` is one of these (e.g. ``"p225"``).
    sr : int or None, default=None
        Resample every file to this rate. ``None`` keeps native rates, and then all
        selected files must share one.
    min_sr : int or None, default=None
        Drop files whose native rate is below this (so that resampling never
        *up*-samples a reference, which would leave its top band empty).
    load_audio : bool, default=True
        Read the audio. ``False`` returns the selected rows only (``signals`` is None).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``signals`` (list of float32 1-D arrays, mono), ``sr`` (int, or None when
        ``load_audio=False`` and rates differ), ``paths`` (list of Path), ``rows``
        (list of dict: the manifest rows).

    Examples
    --------
    >>> from audiosr.datasets import load_manifest
    >>> data = load_manifest("../shared/data", kind="speech", split="test", sr=16000)  # doctest: +SKIP
    >>> len(data.signals), data.sr  # doctest: +SKIP
    (56, 16000)
    """
    root = data_root(root)
    rows = read_manifest(root)
    all_rows = rows
    filters = {
        "kind": _as_set(kind, "kind"),
        "split": _as_set(split, "split"),
        "speaker_or_piece": _as_set(speaker, "speaker"),
    }
    for column, wanted in filters.items():
        if wanted is None:
            continue
        # values of the whole manifest, not of the rows left by the previous filters:
        # a value that exists but matches nothing together with them is "no file matches"
        known = {r.get(column) for r in all_rows}
        unknown = wanted - known
        if unknown:
            label = "speaker" if column == "speaker_or_piece" else column
            raise ValueError(
                f"unknown {label} {sorted(unknown)}; the manifest has {sorted(k for k in known if k)[:30]}."
            )
        rows = [r for r in rows if r.get(column) in wanted]
    if min_sr is not None:
        rows = [r for r in rows if r["sample_rate"] >= min_sr]
    if not rows:
        raise ValueError(
            f"no file of {root / 'MANIFEST.csv'} matches kind={kind!r}, split={split!r}, speaker={speaker!r}, min_sr={min_sr!r}."
        )
    paths = [root / r["path"] for r in rows]
    rates = sorted({r["sample_rate"] for r in rows})
    if sr is None and len(rates) > 1 and load_audio:
        raise ValueError(
            f"the selected files have different sample rates {rates}; pass sr=... to resample them to one rate."
        )
    out_sr = sr if sr is not None else (rates[0] if len(rates) == 1 else None)
    signals = [load(p, sr=sr)[0] for p in paths] if load_audio else None
    return Bunch(signals=signals, sr=out_sr, paths=paths, rows=rows)
