"""Reading and writing audio files (through soundfile / libsndfile).

Arrays follow the library's convention, time last: a mono signal is ``(n_times,)``,
a multichannel one ``(n_channels, n_times)`` (soundfile itself is time-first).
Writes are atomic: the data goes to a temporary file beside the target, which is
renamed over it only once complete, so an interrupted write never leaves a
truncated file behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from ._validation import as_float_signal, check_channels_first, check_sample_rate
from .signal import resample

__all__ = ["load", "save", "info", "find_audio_files", "atomic_output", "AUDIO_EXTENSIONS", "ClippingWarning"]

#: File extensions (lower case, with the dot) that libsndfile can read.
AUDIO_EXTENSIONS = frozenset("." + ext.lower() for ext in sf.available_formats()) | {".oga", ".aif"}


class ClippingWarning(UserWarning):
    """Samples beyond full scale were clipped when writing an integer-PCM file."""


def clip_full_scale(y):
    """Clip samples to [-1, 1] for integer PCM; return the samples, how many were clipped and the peak."""
    over = np.abs(y) > 1.0
    if not over.any():
        return y, 0, 0.0
    return np.clip(y, -1.0, 1.0), int(over.sum()), float(np.max(np.abs(y)))


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but is another user's, or we cannot tell: leave its file alone
    return True


def _remove_stale_partials(path):
    """Delete temporary files of ``path`` left by writers that were killed (``kill -9``, power loss).

    A temporary file's name carries its writer's process id; one whose process is gone is
    stale. Names without a process id come from audiosr versions before that, whose
    writers are long gone.
    """
    pattern = re.compile(rf"^\.{re.escape(path.stem)}\.(?:(\d+)\.)?[0-9a-f]{{8}}\.partial{re.escape(path.suffix)}$")
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or (match.group(1) is not None and _pid_alive(int(match.group(1)))):
            continue
        with contextlib.suppress(OSError):
            os.remove(entry.path)


def _create_temp_beside(path):
    """Create an empty temporary file next to ``path``; return its name.

    Unlike ``tempfile.mkstemp`` (always mode 0o600) the file gets the mode a plain
    ``open()`` would give (0o666 less the umask), so saved files are not private.
    """
    _remove_stale_partials(path)
    for _ in range(100):
        tmp = path.parent / f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}.partial{path.suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return str(tmp)
    raise FileExistsError(f"could not create a temporary file beside '{path}'.")


@contextlib.contextmanager
def atomic_output(path):
    """Write a file all-or-nothing: yield a temporary path beside ``path``, rename it over ``path`` on success.

    On any error (or an interrupt) the temporary file is removed and ``path`` is left
    as it was, so no half-written file ever appears under the final name. A replaced
    file keeps its permissions.

    Parameters
    ----------
    path : str or path-like
        Final file name; its folder must exist.

    Yields
    ------
    tmp : str
        Where to write; it keeps ``path``'s extension, so format detection still works.
    """
    path = Path(os.fspath(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder of '{path}' does not exist.")
    tmp = _create_temp_beside(path)
    try:
        if path.is_file():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def audio_format(path):
    """soundfile format name (``"WAV"``, ``"FLAC"``, ...) for a file name, from its extension."""
    ext = Path(os.fspath(path)).suffix.lower()
    if ext not in AUDIO_EXTENSIONS:
        raise ValueError(f"cannot tell the audio format of '{path}' from its extension; use e.g. .wav or .flac.")
    return {".aif": "AIFF", ".oga": "OGG"}.get(ext, ext[1:].upper())


def _check_readable(path):
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no such audio file: '{path}'")
    if path.is_dir():
        raise IsADirectoryError(f"'{path}' is a folder, not an audio file.")
    return path


def info(path):
    """Sample rate, channels, frames, format and subtype of an audio file, without reading it.

    Parameters
    ----------
    path : str or path-like
        Audio file.

    Returns
    -------
    info : soundfile._SoundFileInfo
        With attributes ``samplerate``, ``channels``, ``frames``, ``format``, ``subtype``.
    """
    path = _check_readable(path)
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ValueError(f"'{path}' is not a readable audio file ({exc}).") from None


def load(path, sr=None, *, mono=True, dtype=np.float32):
    """Read an audio file as floats in [-1, 1], optionally resampled.

    Parameters
    ----------
    path : str or path-like
        Any format libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, MP3 with recent
        libsndfile, ...). Integer PCM is scaled to [-1, 1).
    sr : int or None, default=None
        Wanted sample rate; the file is resampled with a polyphase filter
        (:func:`audiosr.signal.resample`) when it differs. ``None`` keeps the file's rate.
    mono : bool, default=True
        Average the channels. With ``False`` a multichannel file gives
        ``(n_channels, n_times)`` and a mono file ``(1, n_times)``.
    dtype : numpy dtype, default=np.float32
        Floating dtype of the result.

    Returns
    -------
    y : ndarray of shape (n_times,) or (n_channels, n_times)
        The samples, time last.
    sr : int
        The sample rate of ``y``.

    Examples
    --------
    >>> import audiosr
    >>> y, sr = audiosr.io.load(audiosr.datasets.sample_path("speech"))
    >>> sr
    48000
    """
    path = _check_readable(path)
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dtype}.")
    try:
        data, file_sr = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise ValueError(
            f"could not read '{path}' as audio ({exc}). Is it an audio file in a format libsndfile supports (WAV, FLAC, OGG, AIFF)?"
        ) from None
    if data.shape[0] == 0:
        raise ValueError(f"'{path}' contains no samples.")
    y = data.T
    if mono:
        y = y.mean(axis=0)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"'{path}' contains NaN or infinite samples (a corrupt float file?).")
    if sr is not None:
        sr = check_sample_rate(sr)
        y = resample(y, orig_sr=file_sr, target_sr=sr)
    else:
        sr = int(file_sr)
    return y.astype(dtype, copy=False), sr


def save(path, y, sr, *, subtype=None):
    """Write audio atomically (temporary file, then rename over ``path``).

    Parameters
    ----------
    path : str or path-like
        Output file; its extension chooses the format (``.wav``, ``.flac``, ...). An
        existing file at ``path`` is replaced: callers that must not overwrite check
        first (as the command line does).
    y : array-like of shape (n_times,) or (n_channels, n_times)
        Samples, time last, floats in [-1, 1]. Values outside are clipped (with a
        warning) when the subtype is integer PCM.
    sr : int
        Sample rate in Hz.
    subtype : str or None, default=None
        soundfile subtype such as ``"PCM_16"``, ``"PCM_24"`` or ``"FLOAT"``; ``None`` takes
        the format's default (``PCM_16`` for WAV and FLAC).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from audiosr.io import save, load
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> save(path, np.zeros(160), 16000)
    >>> load(path)[0].shape
    (160,)
    """
    path = Path(os.fspath(path))
    sr = check_sample_rate(sr)
    y = check_channels_first(as_float_signal(y, name="y", ndims=(1, 2)), name="y")
    fmt = audio_format(path)
    if subtype is not None and not sf.check_format(fmt, subtype):
        raise ValueError(
            f"subtype {subtype!r} is not valid for {fmt} files; valid ones: {sorted(sf.available_subtypes(fmt))}."
        )
    effective = (subtype or sf.default_subtype(fmt) or "").upper()
    if effective.startswith("PCM"):
        y, clipped, peak = clip_full_scale(y)
        if clipped:
            warnings.warn(
                f"{clipped} of {y.size} samples outside [-1, 1] (peak {peak:.3g}) are clipped "
                f"when writing {effective} to '{path}'; use subtype='FLOAT' to keep them.",
                ClippingWarning,
                stacklevel=2,
            )
    with atomic_output(path) as tmp:
        sf.write(tmp, y.T, sr, subtype=subtype, format=fmt)


def find_audio_files(paths, *, exclude=()):
    """Expand files and folders into a sorted list of ``(file, relative_path)`` pairs.

    Folders are searched recursively for files with a known audio extension; a file
    named directly is kept whatever its extension (reading it will say if it is not
    audio). ``relative_path`` is the file's path below the folder it was found in,
    or its name for a file given directly, so outputs can mirror the input layout.

    Parameters
    ----------
    paths : iterable of str or path-like
    exclude : iterable of str or path-like, default=()
        Folders not to search (e.g. an output folder inside an input folder, so a
        second run does not take its own outputs as inputs).

    Returns
    -------
    files : list of (Path, Path)
    """
    found = []
    skip = [Path(os.fspath(e)).resolve() for e in exclude]
    for p in paths:
        p = Path(os.fspath(p))
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if skip and any(s == f.resolve() or s in f.resolve().parents for s in skip):
                    continue
                if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS and ".partial" not in f.name:
                    found.append((f, f.relative_to(p)))
        elif p.exists():
            found.append((p, Path(p.name)))
        else:
            raise FileNotFoundError(f"no such file or folder: '{p}'")
    return found
